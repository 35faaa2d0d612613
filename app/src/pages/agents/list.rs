use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    api::agents::list_agents,
    components::{
        feedback::{Empty, Failure, Loading},
        pager::{ArchivedToggle, Pager},
    },
    format,
};

/// `/agents`: every agent, newest first, 20 a page; `?include_archived=true` shows archived ones.
#[component]
pub fn AgentList() -> impl IntoView {
    let query = use_query_map();
    let archived = move || query.read().get("include_archived").is_some_and(|v| v == "true");
    let page_param = move || query.read().get("page");
    let agents = Resource::new(move || (archived(), page_param()), |(archived, page)| list_agents(archived, page));

    view! {
        <Title text="Agents" />
        <header class="page-header">
            <h1>"Agents"</h1>
            <p class="lede">"Model, system prompt, tools, MCP servers and skills. Every save is a new version; old versions stay readable."</p>
            <div class="actions">
                <A href="/agents/new" attr:class="button primary">"New agent"</A>
                <ArchivedToggle path="/agents" />
            </div>
        </header>
        <Transition fallback=|| view! { <Loading what="agents" /> }>
            {move || Suspend::new(async move {
                match agents.await {
                    Err(error) => view! { <Failure error /> }.into_any(),
                    Ok(page) if page.data.is_empty() => view! {
                        <Empty title="No agents yet">
                            <p>"An agent is a model with instructions and tools. Create one, then start a session with it."</p>
                            <p><A href="/agents/new">"Create the first agent"</A></p>
                        </Empty>
                    }.into_any(),
                    Ok(page) => {
                        let base = if archived() { "include_archived=true" } else { "" };
                        view! {
                            <section class="panel">
                                <table class="list" data-testid="agent-list">
                                    <thead><tr><th scope="col">"Name"</th><th scope="col">"Model"</th><th scope="col">"Tools"</th><th scope="col">"Version"</th><th scope="col">"Updated"</th></tr></thead>
                                    <tbody>
                                        {page.data.into_iter().map(|agent| {
                                            let href = format!("/agents/{}", agent.id);
                                            view! {
                                                <tr>
                                                    <td>
                                                        <a href=href>{agent.name.clone()}</a>
                                                        {agent.archived.then(|| view! { " " <span class="badge">"archived"</span> })}
                                                    </td>
                                                    <td><code>{agent.model.clone()}</code></td>
                                                    <td>{agent.tools.clone()}</td>
                                                    <td>{format!("v{}", agent.version)}</td>
                                                    <td><time datetime=agent.updated_at.clone()>{format::timestamp(&agent.updated_at)}</time></td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                <Pager base next=page.next_page on_first=page_param().is_none() />
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
