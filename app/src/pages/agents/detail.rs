//! An agent's page: its definition, notices, and its versions with the diff between two.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
};
use protocol::common::Page;

use crate::{
    api::{
        agents::{AgentRow, AgentView, ArchiveAgent, agent_version_diff, get_agent, list_agent_versions},
        diff::DiffLine,
        models::{ModelChoice, find, list_models},
    },
    components::{
        confirm::Confirm,
        diff::Diff,
        feedback::{Failure, InlineError, Loading, MissingPage},
        pager::Pager,
    },
    error::AppError,
    format,
};

/// `/agents/{id}`: the current definition (or `?version=n`), the version history, and a diff of
/// two versions (`?from=a&to=b`, a plain GET form, so it works without JavaScript).
#[component]
pub fn AgentDetail() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let version = move || query.read().get("version").and_then(|v| v.parse::<u64>().ok());
    let diff_pair = move || {
        let q = query.read();
        Some((q.get("from")?.parse::<u64>().ok()?, q.get("to")?.parse::<u64>().ok()?))
    };

    let archive = ServerAction::<ArchiveAgent>::new();
    let archive_done = crate::actions::successes(archive);
    let agent = Resource::new(move || (id(), version(), archive_done.get()), |(id, version, _)| get_agent(id, version));
    // The history pages with the API's cursor (`?page=`), 20 versions a page, newest first.
    let versions_page = move || query.read().get("page");
    let versions = Resource::new(
        move || (id(), versions_page(), archive_done.get()),
        |(id, page, _)| list_agent_versions(id, page),
    );
    let diff = Resource::new(
        move || (id(), diff_pair()),
        |(id, pair)| async move {
            match pair {
                Some((from, to)) => agent_version_diff(id, from, to).await.map(|lines| Some((from, to, lines))),
                None => Ok(None),
            }
        },
    );
    let archive_error = Signal::derive(move || archive.value().get().and_then(Result::err));
    // For a warning when the agent's model is deprecated or retiring; without the list, none.
    let models = Resource::new(|| (), |_| list_models());

    view! {
        <Suspense fallback=|| view! { <Loading what="the agent" /> }>
            {move || Suspend::new(async move {
                let (agent, models) = (agent.await, models.await.unwrap_or_default());
                let agent = match agent {
                    Ok(view) => view,
                    Err(error) => return view! { <MissingPage what="Agent" heading="Agent" error back=("/agents", "Back to the agents") /> }.into_any(),
                };
                let model_warning = find(&models, &agent.row.model).and_then(ModelChoice::warning);
                let is_old = version().is_some();
                view! {
                    {agent_header(&agent, is_old, archive, archive_error)}
                    {agent_notices(&agent.row, model_warning, is_old)}
                    {agent_definition(agent)}
                }.into_any()
            })}
        </Suspense>
        <Suspense fallback=|| view! { <Loading what="the version history" /> }>
            {move || Suspend::new(async move {
                let Ok(page) = versions.await else { return ().into_any() };
                version_history(page, format!("/agents/{}", id()), version(), versions_page().is_none(), diff_pair()).into_any()
            })}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match diff.await {
                    Ok(None) => ().into_any(),
                    Err(error) => view! { <Failure error inline=true /> }.into_any(),
                    Ok(Some((from, to, lines))) => version_diff(from, to, lines).into_any(),
                }
            })}
        </Suspense>
    }
}

/// An agent's title and header: name, version, description, Edit and Archive.
fn agent_header(
    view: &AgentView,
    is_old: bool,
    archive: ServerAction<ArchiveAgent>,
    archive_error: Signal<Option<AppError>>,
) -> impl IntoView + use<> {
    let agent = &view.row;
    let edit = format!("/agents/{}/edit", agent.id);
    let archived = agent.archived;
    let agent_id = agent.id.clone();
    view! {
        <Title text=agent.name.clone() />
        <header class="page-header">
            <p class="crumbs"><A href="/agents">"Agents"</A></p>
            <h1>{agent.name.clone()} " " <span class="badge">{format!("v{}", agent.version)}</span>
                {archived.then(|| view! { " " <span class="badge">"archived"</span> })}</h1>
            {view.description.clone().map(|d| view! { <p class="lede">{d}</p> })}
            <div class="actions">
                {(!archived && !is_old).then(|| view! { <A href=edit attr:class="button primary">"Edit"</A> })}
                {(!archived).then(|| view! {
                    <Confirm
                        label="Archive"
                        consequence="The agent becomes read-only and cannot start new sessions. This cannot be undone."
                        on_confirm=Callback::new(move |_| { archive.dispatch(ArchiveAgent { id: agent_id.clone() }); })
                        pending=archive.pending()
                        danger=true
                    />
                })}
            </div>
            <InlineError error=archive_error />
        </header>
    }
}

/// The notices over an agent's definition: its model going away, and an old version shown.
fn agent_notices(agent: &AgentRow, model_warning: Option<String>, is_old: bool) -> impl IntoView + use<> {
    let archived = agent.archived;
    view! {
        {model_warning.map(|warning| view! {
            <p class="notice warning" role="status" data-testid="model-warning">
                {format!("This agent's model, {}, is {warning}. Its sessions fail once the model retires: ", agent.model)}
                {(!archived && !is_old).then(|| view! { <A href=format!("/agents/{}/edit", agent.id)>"move it to a current model"</A> })}
                "."
            </p>
        })}
        {is_old.then(|| view! {
            <p class="notice">{format!("You are looking at version {}. ", agent.version)}<A href=format!("/agents/{}", agent.id)>"See the current version"</A></p>
        })}
    }
}

/// An agent's Definition panel: its facts, system prompt and raw JSON.
fn agent_definition(view: AgentView) -> impl IntoView {
    let AgentView { row: agent, system, mcp_servers, skills, json, .. } = view;
    view! {
        <section class="panel">
            <h2>"Definition"</h2>
            <dl class="facts">
                <dt>"Id"</dt><dd><code>{agent.id.clone()}</code></dd>
                <dt>"Model"</dt><dd><code>{agent.model.clone()}</code></dd>
                <dt>"Tools"</dt><dd>{agent.tools.clone()}</dd>
                <dt>"MCP servers"</dt><dd>{mcp_servers}</dd>
                <dt>"Skills"</dt><dd>{skills.to_string()}</dd>
                <dt>"Updated"</dt><dd>{format::timestamp(&agent.updated_at)}</dd>
            </dl>
            {system.map(|system| view! { <h3>"System prompt"</h3><pre class="prose">{system}</pre> })}
            <details>
                <summary>"Raw JSON"</summary>
                <pre class="json">{json}</pre>
            </details>
        </section>
    }
}

/// An agent's Versions panel: one page of its versions, and the form that compares two.
fn version_history(
    page: Page<AgentRow>,
    base: String,
    version: Option<u64>,
    on_first: bool,
    diff_pair: Option<(u64, u64)>,
) -> impl IntoView {
    let newest = page.data.first().map(|a| a.version).unwrap_or(1);
    let options = page.data.iter().map(|a| a.version).collect::<Vec<_>>();
    let (from, to) = diff_pair.unwrap_or((newest.saturating_sub(1).max(1), newest));
    view! {
        <section class="panel" aria-labelledby="versions">
            <h2 id="versions">"Versions"</h2>
            <ol class="versions" reversed>
                {page.data.iter().map(|a| view! {
                    <li>
                        <a href=format!("{base}?version={}", a.version)>{format!("Version {}", a.version)}</a>
                        " · " {a.name.clone()} " · " <time datetime=a.updated_at.clone()>{format::timestamp(&a.updated_at)}</time>
                    </li>
                }).collect_view()}
            </ol>
            <Pager base=version.map(|v| format!("version={v}")).unwrap_or_default() next=page.next_page.clone() on_first />
            {(options.len() > 1).then(|| view! {
                <form method="get" action=base.clone() class="inline-form">
                    <label>"Compare version " <select name="from">{options.iter().map(|v| view! { <option value=v.to_string() selected=*v == from>{v.to_string()}</option> }).collect_view()}</select></label>
                    <label>" with version " <select name="to">{options.iter().map(|v| view! { <option value=v.to_string() selected=*v == to>{v.to_string()}</option> }).collect_view()}</select></label>
                    " " <button type="submit" class="button">"Show the differences"</button>
                </form>
            })}
        </section>
    }
}

/// The differences between two versions of an agent's definition.
fn version_diff(from: u64, to: u64, lines: Vec<DiffLine>) -> impl IntoView {
    let changed = lines.iter().any(|l| l.sign != ' ');
    view! {
        <section class="panel" aria-labelledby="diff" data-testid="version-diff">
            <h2 id="diff">{format!("Differences from version {from} to version {to}")}</h2>
            {if changed {
                view! {
                    <Diff lines />
                }.into_any()
            } else {
                view! { <p class="muted">"The two versions have the same definition."</p> }.into_any()
            }}
        </section>
    }
}
