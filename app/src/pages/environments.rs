//! Environments: list, detail, create and edit, archive, delete.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map, use_query_map},
};

use crate::{
    api::environments::{
        ArchiveEnvironment, DeleteEnvironment, EnvironmentRow, EnvironmentView, SaveEnvironment, get_environment,
        list_environments,
    },
    components::{
        confirm::Confirm,
        feedback::{InlineError, Loading, MissingPage},
        list_page::{Column, ListPage, created_by_cell},
        pager::{ArchivedToggle, MineToggle, list_query},
    },
    drafts::environment::{EnvironmentForm, PACKAGE_MANAGERS},
    format,
    pages::work_queue::{WorkQueueData, WorkQueuePanel},
};

const COLUMNS: &[Column] =
    &[Column::text("Name"), Column::text("Networking"), Column::text("Created"), Column::text("Created by")];

#[component]
pub fn EnvironmentList() -> impl IntoView {
    let query = use_query_map();
    let archived = move || query.read().get("include_archived").is_some_and(|v| v == "true");
    let mine = move || query.read().get("mine").is_some_and(|v| v == "true");
    let page_param = move || query.read().get("page");
    let list = Resource::new(move || (archived(), mine(), page_param()), |(a, mine, p)| list_environments(a, p, mine));
    view! {
        <ListPage
            title="Environments"
            lede="The containers sessions run in: networking and packages."
            actions=|| view! {
                <A href="/environments/new" attr:class="button primary">"New environment"</A>
                <MineToggle path="/environments" /> <ArchivedToggle path="/environments" />
            }
            list
            testid="environment-list"
            columns=COLUMNS
            row=environment_row
            empty_title=Signal::derive(move || if mine() { "You have made no environments here yet" } else { "No environments yet" }.to_owned())
            empty=|| view! {
                <p>"Every session runs in an environment. Create one with the networking and packages your agents need."</p>
                <p><A href="/environments/new">"Create an environment"</A></p>
            }
            pager_base=move || list_query(archived(), mine())
            first_page=move || page_param().is_none()
        />
    }
}

/// An environment's row: its name (and whether it is archived), networking and creation.
fn environment_row(env: EnvironmentRow) -> impl IntoView {
    let (name, net) = (env.name.clone(), env.networking.clone());
    view! {
        <tr>
            <td><a href=format!("/environments/{}", env.id)>{name}</a>
                {env.archived.then(|| view! { " " <span class="badge">"archived"</span> })}</td>
            <td>{net}</td>
            <td><time datetime=env.created_at.clone()>{format::timestamp(&env.created_at)}</time></td>
            {created_by_cell(env.created_by.clone())}
        </tr>
    }
}

#[component]
pub fn EnvironmentDetail() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let archive = ServerAction::<ArchiveEnvironment>::new();
    let delete = ServerAction::<DeleteEnvironment>::new();
    let save = ServerAction::<SaveEnvironment>::new();
    let archive_done = crate::actions::successes(archive);
    let save_done = crate::actions::successes(save);
    let env = Resource::new(move || (id(), archive_done.get(), save_done.get()), |(id, ..)| get_environment(id));
    // A self-hosted environment's work queue, made here rather than in the Suspend below
    // (`WorkQueueData` says why).
    let queue = WorkQueueData::new(id, move || async move { env.await.is_ok_and(|v| v.form.kind == "self_hosted") });
    let error = Signal::derive(move || {
        archive.value().get().and_then(Result::err).or_else(|| delete.value().get().and_then(Result::err))
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/environments", Default::default());
        }
    });
    let editing = move || query.read().get("edit").is_some();

    view! {
        <Suspense fallback=|| view! { <Loading what="the environment" /> }>
            {move || Suspend::new(async move {
                let EnvironmentView { row: env, description, form, json } = match env.await {
                    Ok(view) => view,
                    Err(error) => return view! { <MissingPage what="Environment" heading="Environment" error back=("/environments", "Back to the environments") /> }.into_any(),
                };
                let archived = env.archived;
                let (a_id, d_id) = (env.id.clone(), env.id.clone());
                view! {
                    <Title text=env.name.clone() />
                    <header class="page-header">
                        <p class="crumbs"><A href="/environments">"Environments"</A></p>
                        <h1>{env.name.clone()} {archived.then(|| view! { " " <span class="badge">"archived"</span> })}</h1>
                        {description.map(|d| view! { <p class="lede">{d}</p> })}
                        <div class="actions">
                            {(!archived).then(|| view! { <A href=format!("/environments/{}?edit=1", env.id) attr:class="button primary">"Edit"</A> })}
                            {(!archived).then(|| view! {
                                <Confirm label="Archive" consequence="The environment becomes read-only; sessions that use it keep running."
                                    on_confirm=Callback::new(move |_| { archive.dispatch(ArchiveEnvironment { id: a_id.clone() }); }) pending=archive.pending() />
                            })}
                            <Confirm label="Delete" consequence="The environment is removed for good. The API refuses while sessions still use it."
                                on_confirm=Callback::new(move |_| { delete.dispatch(DeleteEnvironment { id: d_id.clone() }); }) pending=delete.pending() danger=true />
                        </div>
                        <InlineError error />
                    </header>
                    {if editing() && !archived {
                        view! { <EnvironmentEditor form id=Some(env.id.clone()) save /> }.into_any()
                    } else {
                        view! {
                            <section class="panel">
                                <dl class="facts">
                                    <dt>"Id"</dt><dd><code>{env.id.clone()}</code></dd>
                                    <dt>"Type"</dt><dd>{form.kind.replace('_', "-")}</dd>
                                    <dt>"Networking"</dt><dd>{env.networking.clone()}</dd>
                                    {(!form.allowed_hosts.is_empty()).then(|| view! { <dt>"Allowed hosts"</dt><dd>{form.allowed_hosts.replace('\n', ", ")}</dd> })}
                                    {PACKAGE_MANAGERS.iter().filter(|m| !form.packages(m).is_empty()).map(|m| view! {
                                        <dt>{format!("{m} packages")}</dt><dd>{form.packages(m).replace('\n', ", ")}</dd>
                                    }).collect_view()}
                                    <dt>"Created"</dt><dd>{format::timestamp(&env.created_at)}</dd>
                                </dl>
                                <details><summary>"Raw JSON"</summary><pre class="json">{json}</pre></details>
                            </section>
                            {(form.kind == "self_hosted").then(|| view! { <WorkQueuePanel environment_id=env.id.clone() data=queue /> })}
                        }.into_any()
                    }}
                }.into_any()
            })}
        </Suspense>
    }
}

#[component]
pub fn EnvironmentNew() -> impl IntoView {
    let form = EnvironmentForm { kind: "cloud".into(), networking: "unrestricted".into(), ..Default::default() };
    view! {
        <Title text="New environment" />
        <header class="page-header">
            <p class="crumbs"><A href="/environments">"Environments"</A></p>
            <h1>"New environment"</h1>
        </header>
        <EnvironmentEditor form id=None save={ServerAction::<SaveEnvironment>::new()} />
    }
}

/// One form for create and edit. An `ActionForm`: it posts even before the page's script runs.
/// `save` belongs to the page, so the page can reload what was saved.
#[component]
fn EnvironmentEditor(form: EnvironmentForm, id: Option<String>, save: ServerAction<SaveEnvironment>) -> impl IntoView {
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let navigate = use_navigate();
    // Only a save made from this editor leaves it: the page's action may hold an earlier success.
    Effect::watch(
        move || save.version().get(),
        move |_, _, _| {
            if let Some(Ok(env)) = save.value().get_untracked() {
                navigate(&format!("/environments/{}", env.row.id), Default::default());
            }
        },
        false,
    );
    let editing = id.is_some();
    let networking = form.networking.clone();
    let kind = form.kind.clone();
    view! {
        <ActionForm action=save attr:class="panel editor">
            <input type="hidden" name="id" value=id.unwrap_or_default() />
            <div class="fields">
                <label>"Name" <input name="form[name]" required value=form.name.clone() /></label>
                <label>"Description" <input name="form[description]" value=form.description.clone() /></label>
                <fieldset disabled=editing>
                    <legend>"Type" {editing.then_some(" (fixed once created)")}</legend>
                    <label class="check"><input type="radio" name="form[kind]" value="cloud" checked=kind == "cloud" />" Cloud container"</label>
                    <label class="check"><input type="radio" name="form[kind]" value="self_hosted" checked=kind == "self_hosted" />" Self-hosted (your own sandbox and worker)"</label>
                </fieldset>
                {editing.then(|| view! { <input type="hidden" name="form[kind]" value=kind.clone() /> })}
                <fieldset>
                    <legend>"Networking (cloud only)"</legend>
                    <label class="check"><input type="radio" name="form[networking]" value="unrestricted" checked=networking == "unrestricted" />" Unrestricted"</label>
                    <label class="check"><input type="radio" name="form[networking]" value="limited" checked=networking == "limited" />" Limited to the hosts below"</label>
                    <label>"Allowed hosts (one per line)" <textarea name="form[allowed_hosts]" rows="3">{form.allowed_hosts.clone()}</textarea></label>
                    <label class="check"><input type="checkbox" name="form[allow_mcp_servers]" checked=form.allow_mcp_servers.is_some() />" Also allow the agent's MCP servers"</label>
                    <label class="check"><input type="checkbox" name="form[allow_package_managers]" checked=form.allow_package_managers.is_some() />" Also allow package registries"</label>
                </fieldset>
                <fieldset>
                    <legend>"Packages (cloud only; one per line, in the manager's own version syntax)"</legend>
                    {PACKAGE_MANAGERS.iter().map(|m| view! {
                        <label>{*m} <textarea name=format!("form[{m}]") rows="2">{form.packages(m).to_owned()}</textarea></label>
                    }).collect_view()}
                </fieldset>
                <label>"Metadata (key=value, one per line)" <textarea name="form[metadata]" rows="3">{form.metadata.clone()}</textarea></label>
            </div>
            <InlineError error />
            <div class="actions">
                <button type="submit" class="button primary" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { "Saving…" } else if editing { "Save changes" } else { "Create environment" }}
                </button>
            </div>
        </ActionForm>
    }
}
