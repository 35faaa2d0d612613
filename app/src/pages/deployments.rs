//! Deployments: list, detail with its runs, create and edit (with a preview of the schedule's
//! next fires), pause and unpause, Run now, archive.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map, use_query_map},
};
use protocol::common::Page;

use crate::components::table_scroll::TableScroll;
use crate::{
    api::{
        deployments::{
            ArchiveDeployment, DeploymentForm, DeploymentRow, DeploymentView, PauseDeployment, RunDeployment, RunRow,
            SaveDeployment, SchedulePreview, get_deployment, list_deployment_runs, list_deployments, preview_schedule,
        },
        sessions::{SessionChoices, list_session_choices},
    },
    components::{
        clock::LocalTime,
        confirm::Confirm,
        feedback::{Failure, InlineError, Loading, MissingPage},
        list_page::{Column, ListPage, created_by_cell},
        pager::{ArchivedToggle, MineToggle, Pager, list_query},
        pickers::IdChecks,
    },
    error::AppError,
};

fn status_badge(row: &DeploymentRow) -> impl IntoView + use<> {
    let class = match row.status.as_str() {
        "active" => "status status-ok",
        "paused" => "status status-rescheduling",
        _ => "status",
    };
    view! { <span class=class data-testid="deployment-status">{row.status.clone()}</span> }
}

const COLUMNS: &[Column] = &[
    Column::text("Name"),
    Column::text("Status"),
    Column::text("Schedule"),
    Column::text("Next run"),
    Column::text("Last scheduled run"),
    Column::text("Created by"),
];

#[component]
pub fn DeploymentList() -> impl IntoView {
    let query = use_query_map();
    let archived = move || query.read().get("include_archived").is_some_and(|v| v == "true");
    let mine = move || query.read().get("mine").is_some_and(|v| v == "true");
    let page_param = move || query.read().get("page");
    let list = Resource::new(move || (archived(), mine(), page_param()), |(a, mine, p)| list_deployments(a, p, mine));
    view! {
        <ListPage
            title="Deployments"
            lede="Agents that run on a schedule or on demand: each run starts a session with the same agent, environment, vaults and first message."
            actions=|| view! {
                <A href="/deployments/new" attr:class="button primary">"New deployment"</A>
                <MineToggle path="/deployments" /> <ArchivedToggle path="/deployments" />
            }
            list
            testid="deployment-list"
            columns=COLUMNS
            row=deployment_row
            empty_title=Signal::derive(move || if mine() { "You have made no deployments here yet" } else { "No deployments yet" }.to_owned())
            empty=|| view! {
                <p>"A deployment runs an agent for you: every weekday at nine, say, or whenever you press Run now."</p>
                <p><A href="/deployments/new">"Create a deployment"</A></p>
            }
            pager_base=move || list_query(archived(), mine())
            first_page=move || page_param().is_none()
        />
    }
}

/// A deployment's row: its name, status (and why it is paused), schedule, next and last run.
fn deployment_row(d: DeploymentRow) -> impl IntoView {
    view! {
        <tr>
            <td><a href=format!("/deployments/{}", d.id)>{d.name.clone()}</a></td>
            <td>{status_badge(&d)} {d.paused_why.clone().map(|w| view! { <small>" " {w}</small> })}</td>
            <td>{d.schedule.clone().unwrap_or_else(|| "manual only".into())}</td>
            <td>{match (d.status.as_str(), d.next_fires.first()) {
                ("active", Some(next)) => view! { <LocalTime at=next.clone() /> }.into_any(),
                _ => "—".into_any(),
            }}</td>
            <td>{match &d.last_run_at {
                Some(at) => view! { <LocalTime at=at.clone() /> }.into_any(),
                None => "—".into_any(),
            }}</td>
            {created_by_cell(d.created_by.clone())}
        </tr>
    }
}

#[component]
pub fn DeploymentDetail() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let errors_only = move || query.read().get("errors").is_some_and(|v| v == "1");
    let runs_page = move || query.read().get("page");
    let archive = ServerAction::<ArchiveDeployment>::new();
    let pause = ServerAction::<PauseDeployment>::new();
    let run = ServerAction::<RunDeployment>::new();
    let save = ServerAction::<SaveDeployment>::new();
    let (archive_done, pause_done, run_done, save_done) = (
        crate::actions::successes(archive),
        crate::actions::successes(pause),
        crate::actions::successes(run),
        crate::actions::successes(save),
    );
    let deployment = Resource::new(
        move || (id(), archive_done.get(), pause_done.get(), save_done.get(), run_done.get()),
        |(id, ..)| get_deployment(id),
    );
    let runs = Resource::new(
        move || (id(), errors_only(), runs_page(), run_done.get()),
        |(id, errors, page, _)| list_deployment_runs(id, errors, page),
    );
    let error = Signal::derive(move || {
        archive
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| pause.value().get().and_then(Result::err))
            .or_else(|| run.value().get().and_then(Result::err))
    });
    let editing = move || query.read().get("edit").is_some();

    view! {
        <Suspense fallback=|| view! { <Loading what="the deployment" /> }>
            {move || Suspend::new(async move {
                let DeploymentView { row, description, budget, form, json } = match deployment.await {
                    Ok(view) => view,
                    Err(error) => return view! { <MissingPage what="Deployment" heading="Deployment" error back=("/deployments", "Back to the deployments") /> }.into_any(),
                };
                let archived = row.status == "archived";
                view! {
                    {deployment_header(&row, description, archive, pause, run, error)}
                    {if editing() && !archived {
                        view! { <DeploymentEditor form id=Some(row.id.clone()) save /> }.into_any()
                    } else {
                        deployment_facts(&row, budget, form, json).into_any()
                    }}
                }.into_any()
            })}
        </Suspense>
        {deployment_runs(id, errors_only, runs_page, runs)}
    }
}

/// A deployment's title and header: status, why it is paused, Run now, Pause, Edit, Archive, and
/// what Run now just did.
fn deployment_header(
    row: &DeploymentRow,
    description: Option<String>,
    archive: ServerAction<ArchiveDeployment>,
    pause: ServerAction<PauseDeployment>,
    run: ServerAction<RunDeployment>,
    error: Signal<Option<AppError>>,
) -> impl IntoView + use<> {
    let archived = row.status == "archived";
    let paused = row.status == "paused";
    let (a_id, p_id, r_id) = (row.id.clone(), row.id.clone(), row.id.clone());
    view! {
        <Title text=row.name.clone() />
        <header class="page-header">
            <p class="crumbs"><A href="/deployments">"Deployments"</A></p>
            <h1>{row.name.clone()} " " {status_badge(row)}</h1>
            {description.map(|d| view! { <p class="lede">{d}</p> })}
            {row.paused_why.clone().map(|w| view! { <p class="notice" data-testid="paused-why">{format!("This deployment is {w}. Scheduled runs wait until it is unpaused.")}</p> })}
            <div class="actions">
                {(!archived).then(|| view! {
                    <button class="button primary" data-testid="run-now" disabled=move || run.pending().get()
                        on:click=move |_| { run.dispatch(RunDeployment { id: r_id.clone() }); }>
                        {move || if run.pending().get() { "Starting…" } else { "Run now" }}
                    </button>
                    <button class="button secondary" disabled=move || pause.pending().get()
                        on:click=move |_| { pause.dispatch(PauseDeployment { id: p_id.clone(), pause: !paused }); }>
                        {if paused { "Unpause" } else { "Pause" }}
                    </button>
                    <A href=format!("/deployments/{}?edit=1", row.id) attr:class="button secondary">"Edit"</A>
                    <Confirm label="Archive" consequence="Archiving is final: the deployment never runs again. Its runs and sessions stay."
                        on_confirm=Callback::new(move |_| { archive.dispatch(ArchiveDeployment { id: a_id.clone() }); }) pending=archive.pending() />
                })}
            </div>
            <InlineError error />
            {move || run.value().get().and_then(Result::ok).map(|r| view! { <LastRun run=r /> })}
        </header>
    }
}

/// A deployment's facts: agent, environment, schedule and its next runs, first message, mounts,
/// budget, and the raw JSON.
fn deployment_facts(row: &DeploymentRow, budget: Option<String>, form: DeploymentForm, json: String) -> impl IntoView {
    view! {
        <section class="panel">
            <dl class="facts">
                <dt>"Id"</dt><dd><code>{row.id.clone()}</code></dd>
                <dt>"Agent"</dt><dd><a href=format!("/agents/{}", form.agent_id)>{row.agent.clone()}</a></dd>
                <dt>"Environment"</dt><dd><a href=format!("/environments/{}", form.environment_id)>{form.environment_id.clone()}</a></dd>
                <dt>"Schedule"</dt><dd>{row.schedule.clone().unwrap_or_else(|| "manual only".into())}</dd>
                {(!row.next_fires.is_empty()).then(|| view! {
                    <dt>"Next runs"</dt>
                    <dd><ol data-testid="next-fires">{row.next_fires.iter().map(|f| view! { <li><LocalTime at=f.clone() /></li> }).collect_view()}</ol></dd>
                })}
                <dt>"First message"</dt><dd class="prose">{form.initial_message.clone()}</dd>
                <dt>"Vaults"</dt><dd>{if form.vault_ids.is_empty() { "none".to_owned() } else { form.vault_ids.join(", ") }}</dd>
                <dt>"Files"</dt><dd>{if form.file_ids.is_empty() { "none".to_owned() } else { form.file_ids.join(", ") }}</dd>
                <dt>"Budget per session"</dt><dd>{budget.unwrap_or_else(|| "none".into())}</dd>
                <dt>"Created"</dt><dd><LocalTime at=row.created_at.clone() /></dd>
            </dl>
            <details><summary>"Raw JSON"</summary><pre class="json">{json}</pre></details>
        </section>
    }
}

/// A deployment's Runs panel: all runs or the failed ones only, a page at a time.
fn deployment_runs(
    id: impl Fn() -> String + Copy + Send + Sync + 'static,
    errors_only: impl Fn() -> bool + Copy + Send + Sync + 'static,
    runs_page: impl Fn() -> Option<String> + Copy + Send + Sync + 'static,
    runs: Resource<Result<Page<RunRow>, AppError>>,
) -> impl IntoView {
    view! {
        <section class="panel">
            <h2>"Runs"</h2>
            <p class="filters">
                {move || if errors_only() {
                    view! { <A href=format!("/deployments/{}", id())>"Show all runs"</A> }.into_any()
                } else {
                    view! { <A href=format!("/deployments/{}?errors=1", id())>"Show failed runs only"</A> }.into_any()
                }}
            </p>
            <Transition fallback=|| view! { <Loading what="runs" /> }>
                {move || Suspend::new(async move {
                    match runs.await {
                        Err(error) => view! { <Failure error /> }.into_any(),
                        Ok(page) if page.data.is_empty() => view! {
                            <p class="muted">{if errors_only() { "No failed runs." } else { "No runs yet: press Run now, or wait for the schedule." }}</p>
                        }.into_any(),
                        Ok(page) => view! {
                            <TableScroll label="Runs">
                                <table class="list" data-testid="run-list">
                                    <thead><tr><th scope="col">"When"</th><th scope="col">"Trigger"</th><th scope="col">"Result"</th></tr></thead>
                                    <tbody>{page.data.into_iter().map(|r| view! { <RunLine run=r /> }).collect_view()}</tbody>
                                </table>
                            </TableScroll>
                            <Pager base=if errors_only() { "errors=1" } else { "" } next=page.next_page on_first=runs_page().is_none() />
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn RunLine(run: RunRow) -> impl IntoView {
    let trigger = match &run.scheduled_at {
        Some(at) => view! { "schedule, for " <LocalTime at=at.clone() /> }.into_any(),
        None => run.trigger.clone().into_any(),
    };
    view! {
        <tr data-testid="run">
            <td><LocalTime at=run.created_at.clone() /></td>
            <td>{trigger}</td>
            <td>{match (&run.session_id, &run.error) {
                (Some(session), _) => view! { <a href=format!("/sessions/{session}")>"session " <code>{session.clone()}</code></a> }.into_any(),
                (None, Some((kind, words, message))) => view! {
                    <span class="status status-failed" title=kind.clone()>{format!("Failed: {words}.")}</span> " " <small>{message.clone()}</small>
                }.into_any(),
                (None, None) => "—".into_any(),
            }}</td>
        </tr>
    }
}

/// What Run now just did.
#[component]
fn LastRun(run: RunRow) -> impl IntoView {
    match (run.session_id, run.error) {
        (Some(session), _) => view! {
            <p class="notice" data-testid="run-result">"Started " <a href=format!("/sessions/{session}")>"session " {session.clone()}</a> "."</p>
        }.into_any(),
        (None, Some((_, words, message))) => view! {
            <p class="inline-error" data-testid="run-result">{format!("The run failed: {words}. {message}")}</p>
        }.into_any(),
        (None, None) => ().into_any(),
    }
}

#[component]
pub fn DeploymentNew() -> impl IntoView {
    let form = DeploymentForm::default();
    view! {
        <Title text="New deployment" />
        <header class="page-header">
            <p class="crumbs"><A href="/deployments">"Deployments"</A></p>
            <h1>"New deployment"</h1>
        </header>
        <DeploymentEditor form id=None save={ServerAction::<SaveDeployment>::new()} />
    }
}

/// One form for create and edit; an `ActionForm`, so it posts before the page's script runs.
#[component]
fn DeploymentEditor(form: DeploymentForm, id: Option<String>, save: ServerAction<SaveDeployment>) -> impl IntoView {
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let navigate = use_navigate();
    Effect::watch(
        move || save.version().get(),
        move |_, _, _| {
            if let Some(Ok(d)) = save.value().get_untracked() {
                navigate(&format!("/deployments/{}", d.row.id), Default::default());
            }
        },
        false,
    );
    let choices = Resource::new(|| (), |_| list_session_choices());
    let editing = id.is_some();
    let expression = RwSignal::new(form.schedule_expression.clone());
    let timezone = RwSignal::new(form.schedule_timezone.clone());
    // The viewer's own zone, as the default for a new schedule.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if timezone.get_untracked().is_empty() {
            let options =
                js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new()).resolved_options();
            if let Some(zone) = js_sys::Reflect::get(&options, &"timeZone".into()).ok().and_then(|z| z.as_string()) {
                timezone.set(zone);
            }
        }
    });
    let preview = Resource::new(
        move || (expression.get(), timezone.get()),
        |(e, t)| async move {
            if e.trim().is_empty() || t.trim().is_empty() { None } else { Some(preview_schedule(e, t).await) }
        },
    );
    view! {
        <ActionForm action=save attr:class="panel editor">
            <input type="hidden" name="id" value=id.unwrap_or_default() />
            <div class="fields">
                <label>"Name" <input name="form[name]" required maxlength="256" value=form.name.clone() /></label>
                <label>"Description" <input name="form[description]" value=form.description.clone() /></label>
                {deployment_choices(choices, &form)}
                <label>"First message to each session" <textarea name="form[initial_message]" rows="4" required>{form.initial_message.clone()}</textarea></label>
                {editing.then(|| view! { <p class="muted">"Saving changes this first message only: the deployment's other initial events (an outcome, further messages) stay as they are."</p> })}
                {schedule_fields(expression, timezone, preview)}
                <label>"Budget per session in US dollars (empty: none)" <input name="form[budget_usd]" inputmode="decimal" value=form.budget_usd.clone() /></label>
            </div>
            <InlineError error />
            <div class="actions">
                <button type="submit" class="button primary" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { "Saving…" } else if editing { "Save changes" } else { "Create deployment" }}
                </button>
            </div>
        </ActionForm>
    }
}

/// The editor's agent, version, environment and mounts, once the choices are in.
fn deployment_choices(
    choices: Resource<Result<SessionChoices, AppError>>,
    form: &DeploymentForm,
) -> impl IntoView + use<> {
    let chosen = (form.vault_ids.clone(), form.file_ids.clone(), form.memory_store_ids.clone());
    let (agent_id, environment_id) = (form.agent_id.clone(), form.environment_id.clone());
    let agent_version = form.agent_version.clone();
    view! {
        <Transition fallback=|| view! { <Loading what="agents and environments" /> }>
            {
                move || {
                    let (agent_id, environment_id) = (agent_id.clone(), environment_id.clone());
                    let agent_version = agent_version.clone();
                    let (chosen_vaults, chosen_files, chosen_stores) = chosen.clone();
                    Suspend::new(async move {
                        match choices.await {
                            Err(error) => view! { <Failure error /> }.into_any(),
                            Ok(c) => view! {
                                <label>"Agent"
                                    <select name="form[agent_id]" required>
                                        <option value="">"Choose an agent…"</option>
                                        {c.agents.into_iter().map(|a| view! { <option value=a.id.clone() selected=a.id == agent_id>{a.label}</option> }).collect_view()}
                                    </select>
                                </label>
                                <label>"Agent version (empty: its latest, pinned when saved)"
                                    <input name="form[agent_version]" inputmode="numeric" value=agent_version />
                                </label>
                                <label>"Environment"
                                    <select name="form[environment_id]" required>
                                        <option value="">"Choose an environment…"</option>
                                        {c.environments.into_iter().map(|e| view! { <option value=e.id.clone() selected=e.id == environment_id>{e.label}</option> }).collect_view()}
                                    </select>
                                </label>
                                <IdChecks name="form[vault_ids][]" legend="Vaults" choices=c.vaults chosen=chosen_vaults empty="No vaults yet." />
                                <IdChecks name="form[file_ids][]" legend="Files to mount (the newest hundred, and those already mounted)" choices=c.files chosen=chosen_files empty="No files uploaded." />
                                <IdChecks name="form[memory_store_ids][]" legend="Memory stores (mounted read-write under /mnt/memory/)" choices=c.memory_stores chosen=chosen_stores empty="No memory stores yet." />
                            }.into_any(),
                        }
                    })
                }
            }
        </Transition>
    }
}

/// The editor's schedule: cron expression and time zone, with the next runs they make.
fn schedule_fields(
    expression: RwSignal<String>,
    timezone: RwSignal<String>,
    preview: Resource<Option<Result<SchedulePreview, AppError>>>,
) -> impl IntoView {
    view! {
        <fieldset>
            <legend>"Schedule (leave the expression empty to run only on demand)"</legend>
            <label>"Cron expression (minute hour day month weekday)"
                <input name="form[schedule_expression]" placeholder="0 9 * * 1-5" prop:value=move || expression.get()
                    on:input=move |ev| expression.set(event_target_value(&ev)) />
            </label>
            <label>"Time zone (IANA name)"
                <input name="form[schedule_timezone]" placeholder="Europe/Paris" prop:value=move || timezone.get()
                    on:input=move |ev| timezone.set(event_target_value(&ev)) />
            </label>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match preview.await {
                        None => view! { <p class="muted">"Runs only when someone presses Run now."</p> }.into_any(),
                        Some(Err(error)) => view! { <Failure error /> }.into_any(),
                        Some(Ok(SchedulePreview::Invalid(problem))) => view! { <p class="inline-error" data-testid="schedule-preview">{problem}</p> }.into_any(),
                        Some(Ok(SchedulePreview::Valid { words, fires })) => view! {
                            <div data-testid="schedule-preview">
                                <p>{words}</p>
                                <p class="muted">"Next five runs, in your time zone:"</p>
                                <ol>{fires.into_iter().map(|f| view! { <li><LocalTime at=f /></li> }).collect_view()}</ol>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </fieldset>
    }
}
