//! Sessions: the filtered list, the new-session form, and a session's page (metadata,
//! resources, and the live view of its events).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map, use_query_map},
};

use crate::{
    api::{
        Choice,
        agents::list_agent_choices,
        sessions::{
            ArchiveSession, CreateSession, DeleteSession, Mount, MountFile, RemoveResource, SessionChoices, SessionRow,
            SessionView, SetSessionBudget, get_session, list_session_choices, list_sessions,
        },
    },
    components::{
        confirm::Confirm,
        feedback::{Empty, Failure, InlineError, Loading, MissingPage},
        list_page::{Column, ListPage, created_by_cell},
        pickers::IdChecks,
    },
    error::AppError,
    format,
};

/// The list's filters, from the page's query string.
#[derive(Debug, Clone, PartialEq)]
struct SessionFilter {
    status: Option<String>,
    agent_id: Option<String>,
    /// Sessions started on or after this day (UTC), `YYYY-MM-DD`.
    since: Option<String>,
    include_archived: bool,
    /// Only those the person started through Switchboard.
    mine: bool,
    page: Option<String>,
}

impl SessionFilter {
    /// The filters from the page's query string.
    fn of(q: &leptos_router::params::ParamsMap) -> Self {
        SessionFilter {
            status: q.get("status").filter(|s| !s.is_empty()),
            agent_id: q.get("agent_id").filter(|s| !s.is_empty()),
            since: q.get("since").filter(|s| !s.is_empty()),
            include_archived: q.get("include_archived").is_some_and(|v| v == "true"),
            mine: q.get("mine").is_some_and(|v| v == "true"),
            page: q.get("page"),
        }
    }

    /// Whether any filter narrows the list (archived ones aside).
    fn narrows(&self) -> bool {
        self.status.is_some() || self.agent_id.is_some() || self.since.is_some() || self.mine
    }

    /// The list's query without `page`, for the pager.
    fn query(&self) -> String {
        let mut base = Vec::new();
        if let Some(s) = &self.status {
            base.push(format!("status={}", format::query_value(s)));
        }
        if let Some(a) = &self.agent_id {
            base.push(format!("agent_id={}", format::query_value(a)));
        }
        if let Some(d) = &self.since {
            base.push(format!("since={}", format::query_value(d)));
        }
        if self.include_archived {
            base.push("include_archived=true".to_owned());
        }
        if self.mine {
            base.push("mine=true".to_owned());
        }
        base.join("&")
    }
}

const COLUMNS: &[Column] = &[
    Column::text("Session"),
    Column::text("Status"),
    Column::text("Agent"),
    Column::text("Created"),
    Column::num("Tokens"),
    Column::num("Cost"),
    Column::text("Started by"),
];

#[component]
pub fn SessionList() -> impl IntoView {
    let query = use_query_map();
    let filter = move || SessionFilter::of(&query.read());
    let sessions = Resource::new(filter, |f| {
        list_sessions(f.status, f.agent_id, f.since, Some(f.include_archived), f.page, f.mine)
    });
    let agents = Resource::new(|| (), |_| list_agent_choices());
    let filtered = move || filter().narrows();

    view! {
        <ListPage
            title="Sessions"
            lede="Every run of an agent: status, usage and cost."
            actions=|| view! { <A href="/sessions/new" attr:class="button primary">"New session"</A> " " <A href="/imports" attr:class="button">"Imported sessions"</A> }
            list=sessions
            testid="session-list"
            columns=COLUMNS
            row=session_row
            empty_title=Signal::derive(move || if filtered() { "No sessions match these filters" } else { "No sessions yet" }.to_owned())
            empty=move || view! {
                <p>"A session runs an agent in an environment. Start one and send it a message."</p>
                <p><A href="/sessions/new">"Start a session"</A>
                    {filtered().then(|| view! { " · " <A href="/sessions">"Clear the filters"</A> })}</p>
            }
            pager_base=move || filter().query()
            first_page=move || filter().page.is_none()
        >
            <WaitingForWorkers />
            {session_filters(filter, agents)}
        </ListPage>
    }
}

/// Sessions of self-hosted environments that no worker has taken: said, with a link to the
/// environment's page (its queue, and the command that starts a worker), so that they do not look
/// stuck.
#[component]
fn WaitingForWorkers() -> impl IntoView {
    let waiting = Resource::new(|| (), |_| crate::api::work::get_waiting_queues());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match waiting.await {
                    Ok(queues) => queues.into_iter().map(|q| view! {
                        <p class="notice" role="status">{q.words()} " " <A href=format!("/environments/{}", q.environment_id)>"Its work queue"</A></p>
                    }).collect_view().into_any(),
                    Err(error) => view! { <p class="muted">{format!("Work queues not read: {}", error.message)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The list's filters: a GET form, so filtering is a link that works without JavaScript and can
/// be shared.
fn session_filters(
    filter: impl Fn() -> SessionFilter + Copy + Send + Sync + 'static,
    agents: Resource<Result<Vec<Choice>, AppError>>,
) -> impl IntoView {
    view! {
        <form method="get" action="/sessions" class="panel filters" aria-label="Filter sessions">
            <label>"Status "
                <select name="status">
                    {["", "idle", "running", "rescheduling", "terminated"].into_iter().map(|s| {
                        let selected = move || filter().status.as_deref().unwrap_or("") == s;
                        view! { <option value=s selected=selected>{if s.is_empty() { "any" } else { s }}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>"Agent "
                <Suspense fallback=|| view! { <select name="agent_id" disabled=true><option>"Loading…"</option></select> }>
                    {move || Suspend::new(async move {
                        let chosen = filter().agent_id.unwrap_or_default();
                        let list = agents.await.unwrap_or_default();
                        view! {
                            <select name="agent_id">
                                <option value="">"any"</option>
                                {list.into_iter().map(|a| { let selected = a.id == chosen; view! { <option value=a.id selected=selected>{a.label}</option> } }).collect_view()}
                            </select>
                        }
                    })}
                </Suspense>
            </label>
            <label>"Started on or after "
                <input type="date" name="since" value=move || filter().since.unwrap_or_default() />
                <span class="muted">" UTC"</span>
            </label>
            <label class="check"><input type="checkbox" name="include_archived" value="true" checked=move || filter().include_archived />" Include archived"</label>
            <label class="check" title="Only the sessions you started through Switchboard"><input type="checkbox" name="mine" value="true" checked=move || filter().mine />" Started by me"</label>
            " " <button type="submit" class="button">"Filter"</button>
        </form>
    }
}

/// A session's row: its title (archived, and its outcome so far), status, agent, creation,
/// tokens and cost.
fn session_row(s: SessionRow) -> impl IntoView {
    let status = s.status.clone();
    let (tokens, cost) = (s.tokens, s.cost.clone().unwrap_or_else(|| "—".to_owned()));
    let title = s.title.clone().unwrap_or_else(|| s.id.clone());
    view! {
        <tr>
            <td><a href=format!("/sessions/{}", s.id)>{title}</a>
                {s.archived.then(|| view! { " " <span class="badge">"archived"</span> })}
                {s.outcome.clone().map(|(result, iteration)| view! {
                    " " <span class=format!("badge outcome result-{result}") data-testid="outcome-chip"
                        title="The session's outcome, as its grader last judged it">
                        {format!("outcome: {} (iteration {})", result.replace('_', " "), iteration + 1)}</span>
                })}</td>
            <td><span class=format!("status status-{status}")>{status.clone()}</span></td>
            <td>{format!("{} v{}", s.agent_name, s.agent_version)}</td>
            <td><time datetime=s.created_at.clone()>{format::timestamp(&s.created_at)}</time></td>
            <td class="num">{format::count(tokens)}</td>
            <td class="num">{cost}</td>
            {created_by_cell(s.created_by.clone())}
        </tr>
    }
}

#[component]
pub fn SessionNew() -> impl IntoView {
    let query = use_query_map();
    let preset_file = move || query.read().get("file_id").unwrap_or_default();
    let choices = Resource::new(|| (), |_| list_session_choices());
    let create = ServerAction::<CreateSession>::new();
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(session)) = create.value().get() {
            navigate(&format!("/sessions/{}", session.row.id), Default::default());
        }
    });

    view! {
        <Title text="New session" />
        <header class="page-header">
            <p class="crumbs"><A href="/sessions">"Sessions"</A></p>
            <h1>"New session"</h1>
        </header>
        <Suspense fallback=|| view! { <Loading what="agents and environments" /> }>
            {move || Suspend::new(async move {
                let choices = match choices.await {
                    Ok(c) => c,
                    Err(error) => return view! { <Failure error /> }.into_any(),
                };
                if choices.agents.is_empty() || choices.environments.is_empty() {
                    return view! {
                        <Empty title="A session needs an agent and an environment">
                            {choices.agents.is_empty().then(|| view! { <p><A href="/agents/new">"Create an agent"</A></p> })}
                            {choices.environments.is_empty().then(|| view! { <p><A href="/environments/new">"Create an environment"</A></p> })}
                        </Empty>
                    }.into_any();
                }
                let preset: Vec<String> = Some(preset_file()).filter(|f| !f.is_empty()).into_iter().collect();
                new_session_form(choices, preset, create, error).into_any()
            })}
        </Suspense>
    }
}

/// The new-session form: agent, version, environment, title, mounts, first message, budget and
/// outcome. An `ActionForm`: it posts even before the page's script runs.
fn new_session_form(
    choices: SessionChoices,
    preset: Vec<String>,
    create: ServerAction<CreateSession>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let SessionChoices { agents, model_warnings, environments: envs, files, vaults, memory_stores } = choices;
    let rubric_files = files.clone();
    view! {
        <ActionForm action=create attr:class="panel editor">
            {(!model_warnings.is_empty()).then(|| view! {
                <div class="notice warning" role="status" data-testid="model-warnings">
                    <p>"Some agents run on models that are going away; their sessions fail once the model retires. Move them to a current model on their page."</p>
                    <ul>{model_warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
                </div>
            })}
            <div class="fields">
                <label>"Agent "
                    <select name="form[agent_id]" required>
                        {agents.into_iter().map(|a| view! { <option value=a.id>{a.label}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Pin a version (empty: the latest, pinned when the session starts)" <input name="form[agent_version]" inputmode="numeric" /></label>
                <label>"Environment "
                    <select name="form[environment_id]" required>
                        {envs.into_iter().map(|e| view! { <option value=e.id>{e.label}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Title" <input name="form[title]" /></label>
                <IdChecks name="form[file_ids][]" legend="Files to mount" choices=files chosen=preset empty="No files uploaded." />
                <IdChecks name="form[vault_ids][]" legend="Vaults" choices=vaults chosen=vec![] empty="No vaults yet." />
                <IdChecks name="form[memory_store_ids][]" legend="Memory stores (mounted read-write under /mnt/memory/)" choices=memory_stores chosen=vec![] empty="No memory stores yet." />
                <fieldset class="repository-fields">
                    <legend>"GitHub repository (optional)"</legend>
                    <p class="muted">"Checked out before the agent's first turn. The token is sent once: the API keeps it write-only, and Switchboard neither shows nor stores it."</p>
                    <label>"Repository URL" <input name="form[repository_url]" type="url" inputmode="url" placeholder="https://github.com/acme/app" /></label>
                    <label>"Branch, or a commit's full sha (empty: the default branch)" <input name="form[repository_ref]" placeholder="main" /></label>
                    <label>"Mount path (empty: /workspace/<repository>)" <input name="form[repository_mount_path]" placeholder="/workspace/app" /></label>
                    <label>"Access token (for a private repository)" <input name="form[repository_token]" type="password" autocomplete="off" /></label>
                </fieldset>
                <label>"First message (optional; starts the agent at once)" <textarea name="form[initial_message]" rows="4"></textarea></label>
                <label>"Budget in US dollars (optional)" <input name="form[budget_usd]" inputmode="decimal" placeholder="e.g. 5.00" /></label>
                <fieldset class="outcome-fields">
                    <legend>"Outcome (optional)"</legend>
                    <p class="muted">"The agent works toward it at once, and a grader checks each attempt against the rubric until it is satisfied or the iterations run out. A first message, if any, is sent before it."</p>
                    <label>"What the agent should produce" <input name="form[outcome_description]" data-testid="outcome-description" placeholder="e.g. A one-page summary of the bugs" /></label>
                    <label>"Rubric" <textarea name="form[outcome_rubric]" rows="4" data-testid="outcome-rubric" placeholder="- fits on one page
    - names every bug"></textarea></label>
                    <label>"…or a rubric from an uploaded file"
                        <select name="form[outcome_rubric_file_id]" data-testid="outcome-rubric-file">
                            <option value="">"None: the rubric typed above"</option>
                            {rubric_files.into_iter().map(|f| {
                                let text = format!("{} ({})", f.label, f.id);
                                view! { <option value=f.id>{text}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"Iterations at most (1 to 20; the API's default is 3)" <input name="form[outcome_max_iterations]" inputmode="numeric" data-testid="outcome-iterations" /></label>
                </fieldset>
            </div>
            <InlineError error />
            <div class="actions">
                <button type="submit" class="button primary" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { "Starting…" } else { "Start session" }}
                </button>
            </div>
        </ActionForm>
    }
}

#[component]
pub fn SessionDetail() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let archive = ServerAction::<ArchiveSession>::new();
    let delete = ServerAction::<DeleteSession>::new();
    let mount = ServerAction::<MountFile>::new();
    let unmount = ServerAction::<RemoveResource>::new();
    let set_budget = ServerAction::<SetSessionBudget>::new();
    let archive_done = crate::actions::successes(archive);
    let mount_done = crate::actions::successes(mount);
    let unmount_done = crate::actions::successes(unmount);
    let budget_done = crate::actions::successes(set_budget);
    let session = Resource::new(
        move || (id(), archive_done.get(), mount_done.get(), unmount_done.get(), budget_done.get()),
        |(id, ..)| get_session(id),
    );
    // A notification's link (`?event=…&t=…`): checked once, here, not again when the page
    // redraws; checking spends nothing (the call's card posts the token with its decision).
    let query = use_query_map();
    let link = Resource::new(
        move || {
            let q = query.read();
            (id(), q.get("event").unwrap_or_default(), q.get("t").unwrap_or_default())
        },
        |(id, event, token)| async move {
            if token.is_empty() { None } else { Some(crate::api::notify::open_link(id, event, token).await) }
        },
    );
    // A link to one event (`?event=`, a row's link or a notification's): the timeline opens there.
    let focus = Signal::derive(move || query.read().get("event").filter(|e| !e.is_empty()));
    // The timeline's first screen is read beside the session, not once the session is in.
    let first_screen =
        crate::live::read_first_screen(id, move || focus.get_untracked(), crate::api::live::get_first_screen);
    let budget_error = Signal::derive(move || set_budget.value().get().and_then(Result::err));
    let error = Signal::derive(move || {
        archive.value().get().and_then(Result::err).or_else(|| delete.value().get().and_then(Result::err))
    });
    let mount_error = Signal::derive(move || {
        mount.value().get().and_then(Result::err).or_else(|| unmount.value().get().and_then(Result::err))
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/sessions", Default::default());
        }
    });

    view! {
        <Suspense fallback=|| view! { <Loading what="the session" /> }>
            {move || Suspend::new(async move {
                let session = match session.await {
                    Ok(view) => view,
                    Err(error) => return view! { <MissingPage what="Session" heading="Session" error back=("/sessions", "Back to the sessions") /> }.into_any(),
                };
                let row = session.row.clone();
                // Making a share link needs the operator role (the server checks it too).
                let can_share = match use_context::<crate::me::Me>() {
                    Some(me) => me.0.await.ok().flatten().is_some_and(|p| p.can(crate::auth::Role::Operator)),
                    None => false,
                };
                view! {
                    {session_header(&row, archive, delete, error, link)}
                    // Drawn again (and its stream reopened) only when the session itself is
                    // read again: after archiving or changing its mounts. First under the title:
                    // the calls that wait and the timeline are what the page is for, on a phone
                    // above the fold; the session's facts, files and rules follow.
                    <crate::live::FormOutcomeNotice />
                    <crate::live::LiveSession session_id=row.id.clone() focus=focus first_screen=Some(first_screen) />
                    {session_facts(&session, set_budget, budget_error)}
                    {can_share.then(|| view! { <crate::pages::shares::ShareSession session_id=row.id.clone() /> })}
                    {session_resources(&row.id, &session.resources, mount, unmount, mount_error)}
                    <crate::pages::rules::RuleList session_id=Some(row.id.clone()) />
                }.into_any()
            })}
        </Suspense>
    }
}

/// A session's title and header: its status, Present, Archive and Delete, and what a
/// notification's link that led here found.
fn session_header(
    row: &SessionRow,
    archive: ServerAction<ArchiveSession>,
    delete: ServerAction<DeleteSession>,
    error: Signal<Option<AppError>>,
    link: Resource<Option<Result<crate::api::notify::LinkCheck, AppError>>>,
) -> impl IntoView + use<> {
    let status = row.status.clone();
    let title = row.title.clone().unwrap_or_else(|| row.id.clone());
    let archived = row.archived;
    let (a_id, d_id) = (row.id.clone(), row.id.clone());
    view! {
        <Title text=title.clone() />
        <header class="page-header">
            <p class="crumbs"><A href="/sessions">"Sessions"</A></p>
            <h1>{title} " " <span class=format!("status status-{status}")>{status.clone()}</span>
                {archived.then(|| view! { " " <span class="badge">"archived"</span> })}</h1>
            <div class="actions">
                <A href=format!("/sessions/{}/present", row.id) attr:class="button" attr:data-testid="present">"Present"</A>
                {(!archived).then(|| view! {
                    <Confirm label="Archive" consequence="The session is kept read-only; no more messages can be sent."
                        on_confirm=Callback::new(move |_| { archive.dispatch(ArchiveSession { id: a_id.clone() }); }) pending=archive.pending() />
                })}
                <Confirm label="Delete" consequence="The session and its events are deleted for good."
                    on_confirm=Callback::new(move |_| { delete.dispatch(DeleteSession { id: d_id.clone() }); }) pending=delete.pending() danger=true />
            </div>
            <InlineError error />
            <Transition fallback=|| ()>
                {move || Suspend::new(async move { link.await.map(|check| view! { <LinkNotice check /> }) })}
            </Transition>
        </header>
    }
}

/// A session's Details panel: its facts, transcript downloads, and the form that changes its
/// budget.
fn session_facts(
    session: &SessionView,
    set_budget: ServerAction<SetSessionBudget>,
    budget_error: Signal<Option<AppError>>,
) -> impl IntoView + use<> {
    let SessionView { row, environment_id, input_tokens, output_tokens, budget, vault_ids, .. } = session.clone();
    let b_id = row.id.clone();
    let env_href = format!("/environments/{environment_id}");
    let agent_href = format!("/agents/{}?version={}", row.agent_id, row.agent_version);
    let session_cost = row.cost.clone().unwrap_or_else(|| "—".to_owned());
    view! {
        <section class="panel" aria-labelledby="details">
            <h2 id="details">"Details"</h2>
            <dl class="facts">
                <dt>"Id"</dt><dd><code>{row.id.clone()}</code></dd>
                <dt>"Agent"</dt><dd><A href=agent_href>{format!("{} v{}", row.agent_name, row.agent_version)}</A></dd>
                <dt>"Environment"</dt><dd><A href=env_href>{environment_id}</A></dd>
                <dt>"Created"</dt><dd>{format::timestamp(&row.created_at)}</dd>
                <dt>"Started by"</dt><dd data-testid="started-by">{match row.created_by.clone() {
                    Some(creator) => creator.words(),
                    None => "not recorded (started outside Switchboard, by a schedule, or before it kept the record)".to_owned(),
                }}</dd>
                <dt>"Tokens"</dt><dd>{format!("{} in, {} out", format::count(input_tokens), format::count(output_tokens))}</dd>
                <dt>"Cost"</dt><dd>{session_cost}</dd>
                {budget.clone().map(|b| view! { <dt>"Budget"</dt><dd>{b}</dd> })}
                {(!vault_ids.is_empty()).then(|| view! { <dt>"Vaults"</dt><dd>{vault_ids.join(", ")}</dd> })}
                <dt>"Transcript"</dt>
                <dd class="export-links" data-testid="export-links">
                    <a href=format!("/api/sessions/{}/export?format=markdown", row.id) download="">"Markdown"</a> " · "
                    <a href=format!("/api/sessions/{}/export?format=html", row.id) download="">"HTML (reads offline)"</a> " · "
                    <a href=format!("/api/sessions/{}/export?format=json", row.id) download="">"JSON (every event, with a digest)"</a>
                </dd>
            </dl>
            // A budget can be raised or removed (the session then takes new work
            // again once it spent it), not added to a session started without one.
            {budget.is_some().then(|| view! {
                <ActionForm action=set_budget attr:class="inline-form" attr:data-testid="budget-form">
                    <input type="hidden" name="session_id" value=b_id />
                    <label>"New budget in US dollars (empty removes it) " <input name="budget_usd" inputmode="decimal" placeholder="e.g. 10.00" /></label>
                    " " <button type="submit" class="button" disabled=move || set_budget.pending().get()>"Set the budget"</button>
                </ActionForm>
                <InlineError error=budget_error />
            })}
        </section>
    }
}

/// A session's Resources panel: what is mounted (each with Remove), and the form that mounts a
/// file.
fn session_resources(
    session_id: &str,
    resources: &[Mount],
    mount: ServerAction<MountFile>,
    unmount: ServerAction<RemoveResource>,
    mount_error: Signal<Option<AppError>>,
) -> impl IntoView + use<> {
    let m_id = session_id.to_owned();
    view! {
        <section class="panel" aria-labelledby="resources">
            <h2 id="resources">"Resources"</h2>
            {match resources.is_empty() {
                true => view! { <p class="muted">"No files, repositories or memory stores are mounted."</p> }.into_any(),
                false => view! {
                    <ul class="resources">
                        {resources.iter().map(|r| mounted_resource(session_id, r, unmount)).collect_view()}
                    </ul>
                }.into_any(),
            }}
            <ActionForm action=mount attr:class="inline-form">
                <input type="hidden" name="session_id" value=m_id />
                <label>"File id " <input name="file_id" placeholder="file_…" required /></label>
                <label>" Mount path (optional) " <input name="mount_path" placeholder="/mnt/session/uploads/…" /></label>
                " " <button type="submit" class="button">"Mount"</button>
            </ActionForm>
            <InlineError error=mount_error />
        </section>
    }
}

/// One mounted resource: what it is, where, and its Remove button.
fn mounted_resource(session_id: &str, r: &Mount, unmount: ServerAction<RemoveResource>) -> impl IntoView + use<> {
    let rid = r.id.clone();
    let what = match (r.r#type.as_str(), r.file_id.as_deref().or(r.source.as_deref())) {
        ("memory_store", Some(id)) => format!("memory store {id}"),
        ("github_repository", Some(url)) => {
            format!("repository {url} ({})", r.checkout.as_deref().unwrap_or("its default branch"))
        }
        (_, Some(id)) => id.to_owned(),
        (kind, None) => kind.replace('_', " "),
    };
    let label = format!("{what} at {}", r.mount_path.as_deref().unwrap_or("?"));
    let sid = session_id.to_owned();
    // A memory store has no id to remove it by: it stays for the session's life.
    let removable = !rid.is_empty();
    view! {
        <li data-testid="session-resource">{label} " "
            {removable.then(|| view! {
                <button type="button" class="button secondary" on:click=move |_| { unmount.dispatch(RemoveResource { session_id: sid.clone(), resource_id: rid.clone() }); }>"Remove"</button>
            })}
        </li>
    }
}

/// Presenter mode (`/sessions/{id}/present`, `?event=` to open at one event): the session for
/// an audience, over the whole window.
#[component]
pub fn SessionPresent() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let session = Resource::new(id, get_session);
    let event = move || query.read_untracked().get("event").filter(|e| !e.is_empty());
    // The timeline's first screen is read beside the session, not once the session is in.
    let first_screen = crate::live::read_first_screen(id, event, crate::api::live::get_first_screen);
    view! {
        <Suspense fallback=|| view! { <Loading what="the session" /> }>
            {move || Suspend::new(async move {
                let row = match session.await {
                    Ok(view) => view.row,
                    Err(error) => return view! { <MissingPage what="Session" heading="Session" error back=("/sessions", "Back to the sessions") /> }.into_any(),
                };
                let title = row.title.clone().unwrap_or_else(|| "A session".to_owned());
                view! {
                    <Title text=format!("{title} (presenting)") />
                    <crate::live::PresentSession session_id=row.id.clone() title agent=format!("{} · {}", row.agent_name, row.created_at.get(..10).unwrap_or_default()) event=event() first_screen=Some(first_screen) />
                }.into_any()
            })}
        </Suspense>
    }
}

/// What a notification's link found: the call it opens, or why it does not.
#[component]
fn LinkNotice(check: Result<crate::api::notify::LinkCheck, crate::error::AppError>) -> impl IntoView {
    use crate::api::notify::LinkCheck;
    match check {
        Ok(LinkCheck::Open { tool, summary }) => view! {
            <p class="notice" role="status" data-testid="link-check" data-state="open">
                {if tool.is_empty() { "You were sent here to decide a call".to_owned() } else { format!("You were sent here to decide {tool}: {summary}") }}
                ". Its card is below, with the others this session waits on: your Allow or Deny there decides it and uses up the link, which opening it did not."
            </p>
        }.into_any(),
        Ok(LinkCheck::Refused { why }) => view! {
            <p class="notice warning" role="alert" data-testid="link-check" data-state="refused">{why}</p>
        }.into_any(),
        Err(error) => view! { <p class="inline-error" role="alert" data-testid="link-check" data-state="failed">{error.to_string()}</p> }.into_any(),
    }
}
