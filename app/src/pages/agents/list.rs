//! The Agents list: every agent, a page at a time, each linking to its page.

use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    api::agents::{AgentRow, list_agents},
    components::{
        list_page::{Column, ListPage, created_by_cell},
        pager::{ArchivedToggle, MineToggle, list_query},
    },
    format,
};

const COLUMNS: &[Column] = &[
    Column::text("Name"),
    Column::text("Model"),
    Column::text("Tools"),
    Column::text("Version"),
    Column::text("Updated"),
    Column::text("Created by"),
];

/// `/agents`: every agent, newest first, 20 a page; `?include_archived=true` shows archived ones.
#[component]
pub fn AgentList() -> impl IntoView {
    let query = use_query_map();
    let archived = move || query.read().get("include_archived").is_some_and(|v| v == "true");
    let mine = move || query.read().get("mine").is_some_and(|v| v == "true");
    let page_param = move || query.read().get("page");
    let agents = Resource::new(
        move || (archived(), mine(), page_param()),
        |(archived, mine, page)| list_agents(archived, page, mine),
    );

    view! {
        <ListPage
            title="Agents"
            lede="Model, system prompt, tools, MCP servers and skills. Every save is a new version; old versions stay readable."
            actions=|| view! {
                <A href="/agents/new" attr:class="button primary">"New agent"</A>
                <MineToggle path="/agents" /> <ArchivedToggle path="/agents" />
            }
            list=agents
            testid="agent-list"
            columns=COLUMNS
            row=agent_row
            empty_title=Signal::derive(move || if mine() { "You have made no agents here yet" } else { "No agents yet" }.to_owned())
            empty=|| view! {
                <p>"An agent is a model with instructions and tools. Create one, then start a session with it."</p>
                <p><A href="/agents/new">"Create the first agent"</A></p>
            }
            pager_base=move || list_query(archived(), mine())
            first_page=move || page_param().is_none()
        />
    }
}

/// An agent's row: its name (and whether it is archived), model, tools, version and last change.
fn agent_row(agent: AgentRow) -> impl IntoView {
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
            {created_by_cell(agent.created_by.clone())}
        </tr>
    }
}
