//! The Overview: the dashboard, the waiting and running sessions, and the upstream's card.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::table_scroll::TableScroll;
use crate::{
    api::{
        deployments::{FAILED_RUNS_HOURS, FAILED_RUNS_SHOWN, failed_runs_recently},
        overview::{
            Dashboard, FAILURE_DAYS, FAILURES_SHOWN, FailedSession, RUNNING_SHOWN, SESSIONS_COUNTED, Spend, Spending,
            Waiting, get_dashboard,
        },
        sessions::SessionRow,
        upstream::get_upstream_summary,
    },
    components::{feedback::Failure, inbox::InboxFeed},
    format,
    upstream::{UpstreamMode, UpstreamSummary},
};

/// The landing page: what runs now, who is waited on and for how long, what was spent, the
/// agents used most and what failed, each linking to where to act; then which upstream this
/// Switchboard talks to. The dashboard is read again every minute while the page is open (each
/// reading costs the upstream 1 + ⌈sessions this month / 100⌉ requests, at most 11); the waiting
/// sessions follow the inbox's stream.
#[component]
pub fn Overview() -> impl IntoView {
    let summary = Resource::new(|| (), |_| get_upstream_summary());
    let dashboard = Resource::new(|| (), |_| get_dashboard());
    #[cfg(feature = "hydrate")]
    if let Ok(handle) = set_interval_with_handle(move || dashboard.refetch(), std::time::Duration::from_secs(60)) {
        on_cleanup(move || handle.clear());
    }

    view! {
        <Title text="Overview" />
        <header class="page-header">
            <h1>"Overview"</h1>
            <p class="lede">"A console for Managed Agents: define agents, run sessions, and approve what they do."</p>
        </header>
        <Transition fallback=|| view! { <section class="panel" aria-busy="true"><p class="muted">"Loading what runs now and what it cost…"</p></section> }>
            {move || Suspend::new(async move {
                match dashboard.await {
                    Ok(board) => view! { <Board board /> }.into_any(),
                    Err(error) => view! {
                        <section class="panel error" role="alert" data-testid="dashboard-error">
                            <h2>"The dashboard could not be loaded"</h2>
                            <p>{error.to_string()}</p>
                            <p>"It is read again every minute; the Sessions and Inbox pages may still work."</p>
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
        <FailedRuns />
        <Suspense fallback=|| view! { <section class="panel" aria-busy="true"><p class="muted">"Loading the upstream settings…"</p></section> }>
            {move || Suspend::new(async move {
                match summary.await {
                    Ok(summary) => view! { <UpstreamPanel summary /> }.into_any(),
                    Err(error) => view! {
                        <section class="panel error" role="alert">
                            <h2>"The upstream settings could not be loaded"</h2>
                            <p>{error.to_string()}</p>
                            <p>"Reload the page; if it keeps failing, check the server's log."</p>
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The dashboard's panels.
#[component]
fn Board(board: Dashboard) -> impl IntoView {
    let now = crate::components::clock::ticking();
    let Dashboard {
        running,
        running_more,
        running_problem,
        waiting,
        inbox_problem,
        spending,
        failures,
        failures_more,
        sessions_problem,
    } = board;
    view! {
        <div class="dashboard" data-testid="dashboard">
            <WaitingPanel waiting inbox_problem now />
            <RunningPanel running running_more problem=running_problem now />
            <SpendPanel spending=spending.clone() problem=sessions_problem.clone() />
            <AgentsPanel spending problem=sessions_problem.clone() />
            <FailuresPanel failures more=failures_more problem=sessions_problem />
        </div>
    }
}

/// What a panel says instead of its figures when what they are made of could not be read.
fn unread(what: &'static str, problem: String) -> impl IntoView {
    view! {
        <p class="inline-error" role="status" data-testid="board-panel-error">
            {format!("{what} could not be read: {problem}")}
        </p>
        <p class="muted">"The dashboard is read again every minute."</p>
    }
}

/// A link to a session's page, named by its title (or its id).
fn session_link(id: &str, name: Option<String>) -> impl IntoView + use<> {
    view! { <a href=format!("/sessions/{id}")>{name.unwrap_or_else(|| id.to_owned())}</a> }
}

/// How long ago `at` was, as `live` words it ("waiting 3 min 02 s") once the page is live and ticks;
/// as the server renders it, the moment itself, as `fixed` words it ("waiting since …").
fn since_words(
    now: RwSignal<Option<f64>>,
    at: Option<String>,
    live: fn(String) -> String,
    fixed: fn(String) -> String,
) -> impl IntoView {
    let ms = at.as_deref().and_then(format::parse_rfc3339_ms);
    move || match (now.get(), ms) {
        (Some(now), Some(ms)) => live(crate::live::model::duration((now - ms).max(0.0))),
        _ => at.as_deref().map(|t| fixed(format::timestamp(t))).unwrap_or_default(),
    }
}

/// Sessions whose calls wait for a person, longest first, live from the inbox's stream once the
/// page has it.
#[component]
fn WaitingPanel(waiting: Vec<Waiting>, inbox_problem: Option<String>, now: RwSignal<Option<f64>>) -> impl IntoView {
    let feed = use_context::<InboxFeed>();
    let list = Memo::new(move |_| {
        feed.and_then(|f| f.list.with(|l| l.as_ref().map(|l| (Waiting::of(l), l.problem.clone()))))
            .unwrap_or_else(|| (waiting.clone(), inbox_problem.clone()))
    });
    view! {
        <section class="panel board-panel" aria-labelledby="board-waiting" data-testid="board-waiting">
            <h2 id="board-waiting">"Waiting for someone"</h2>
            {move || {
                let (waiting, problem) = list.get();
                let problem = problem.map(|p| view! { <p class="inline-error" role="status">{format!("The inbox may be out of date: {p}")}</p> });
                let body = if waiting.is_empty() {
                    view! { <p class="muted" data-testid="board-nobody-waits">"No session waits for a person: no tool call asks for approval or a result."</p> }.into_any()
                } else {
                    let calls: usize = waiting.iter().map(|w| w.calls).sum();
                    view! {
                        <p class="board-figure"><strong>{waiting.len()}</strong>{if waiting.len() == 1 { " session" } else { " sessions" }}
                            {format!(", {calls} {}", if calls == 1 { "call" } else { "calls" })}
                            " · " <a href="/inbox">"Open the Inbox"</a></p>
                        <ul class="board-list">
                            {waiting.into_iter().map(|w| view! {
                                <li data-testid="board-waiting-session" data-session=w.session_id.clone()>
                                    {session_link(&w.session_id, Some(w.label))}
                                    {w.agent_name.map(|a| view! { <span class="muted">{format!(" · {a}")}</span> })}
                                    <span class="muted">{format!(" · {} {}", w.calls, if w.calls == 1 { "call" } else { "calls" })}</span>
                                    " · " <span class="waiting" data-testid="board-waited">{since_words(now, w.since, |d| format!("waiting {d}"), |t| format!("waiting since {t}"))}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                };
                view! { {problem} {body} }
            }}
        </section>
    }
}

/// Running and retrying sessions, newest first.
#[component]
fn RunningPanel(
    running: Vec<SessionRow>,
    running_more: bool,
    problem: Option<String>,
    now: RwSignal<Option<f64>>,
) -> impl IntoView {
    let count = if running_more { format!("{}+", RUNNING_SHOWN) } else { running.len().to_string() };
    view! {
        <section class="panel board-panel" aria-labelledby="board-running" data-testid="board-running">
            <h2 id="board-running">"Running now"</h2>
            {if let Some(problem) = problem {
                unread("The running sessions", problem).into_any()
            } else if running.is_empty() {
                view! { <p class="muted">"No session is running. " <a href="/sessions/new">"Start one"</a></p> }.into_any()
            } else {
                view! {
                    <p class="board-figure"><strong>{count}</strong>{if running.len() == 1 { " session" } else { " sessions" }}
                        " · " <a href="/sessions?status=running">"All running sessions"</a></p>
                    <ul class="board-list">
                        {running.into_iter().map(|s| {
                            let retrying = s.status == "rescheduling";
                            view! {
                                <li data-testid="board-running-session" data-session=s.id.clone()>
                                    {session_link(&s.id, s.title.clone())}
                                    <span class="muted">{format!(" · {}", s.agent_name)}</span>
                                    {retrying.then(|| view! { " " <span class="status status-rescheduling">"retrying"</span> })}
                                    " · " <span class="muted">{since_words(now, Some(s.created_at.clone()), |d| format!("started {d} ago"), |t| format!("started {t}"))}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

/// What the sessions started today and this month cost at list price.
#[component]
fn SpendPanel(spending: Spending, problem: Option<String>) -> impl IntoView {
    let Spending { today, month, complete, day_start, month_start, .. } = spending;
    let line = |label: &'static str, testid: &'static str, s: Spend| {
        view! {
            <dt>{label}</dt>
            <dd data-testid=testid>
                <strong>{s.cost.clone()}</strong>
                <span class="muted">{format!(" · {} {} · {} tokens", format::count(s.sessions), if s.sessions == 1 { "session" } else { "sessions" }, format::count(s.tokens))}</span>
                {(s.unpriced > 0).then(|| view! { <br /><span class="muted">{format!("{} without a list price (their model has none), not in the figure", format::count(s.unpriced))}</span> })}
            </dd>
        }
    };
    view! {
        <section class="panel board-panel" aria-labelledby="board-spend" data-testid="board-spend">
            <h2 id="board-spend">"Spend"</h2>
            {match problem {
                Some(problem) => unread("This month's sessions", problem).into_any(),
                None => view! {
                    <dl class="facts">
                        {line("Today", "board-spend-today", today)}
                        {line("This month", "board-spend-month", month)}
                    </dl>
                    <p class="muted">
                        "At list price, for the sessions started since " {format::timestamp(&day_start)} " and since "
                        {format::timestamp(&month_start)} ". A session's cost counts on the day it started."
                    </p>
                    {(!complete).then(|| view! {
                        <p class="notice warning" role="status">{format!("This month has more than {} sessions: the figures count the newest {}.", format::count(SESSIONS_COUNTED as u64), format::count(SESSIONS_COUNTED as u64))}</p>
                    })}
                }.into_any(),
            }}
        </section>
    }
}

/// The agents with the most sessions this month.
#[component]
fn AgentsPanel(spending: Spending, problem: Option<String>) -> impl IntoView {
    view! {
        <section class="panel board-panel" aria-labelledby="board-agents" data-testid="board-agents">
            <h2 id="board-agents">"Agents used most this month"</h2>
            {if let Some(problem) = problem {
                unread("This month's sessions", problem).into_any()
            } else if spending.top_agents.is_empty() {
                view! { <p class="muted">"No session was started this month. " <a href="/agents">"Agents"</a></p> }.into_any()
            } else {
                // The count links to the sessions it counts: the agent's, from the month's first day,
                // archived ones included.
                let month = spending.month_start.get(..10).unwrap_or_default().to_owned();
                view! {
                    <TableScroll label="Agents used most this month">
                        <table class="list compact">
                            <thead><tr><th scope="col">"Agent"</th><th scope="col">"Sessions"</th><th scope="col">"Cost"</th></tr></thead>
                            <tbody>
                                {spending.top_agents.into_iter().map(|a| view! {
                                    <tr data-testid="board-agent" data-agent=a.agent_id.clone()>
                                        <td><a href=format!("/agents/{}", a.agent_id)>{a.name}</a></td>
                                        <td><a href=format!("/sessions?agent_id={}&since={month}&include_archived=true", format::query_value(&a.agent_id))>{format::count(a.sessions)}</a></td>
                                        <td>{a.cost}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </TableScroll>
                }.into_any()
            }}
        </section>
    }
}

/// Sessions of the last week that ended or whose outcome failed. A session's object does not say
/// why it ended (an error or done), nor that a turn failed after retries (that is in its events):
/// the heading says what is listed.
#[component]
fn FailuresPanel(failures: Vec<FailedSession>, more: bool, problem: Option<String>) -> impl IntoView {
    view! {
        <section class="panel board-panel" aria-labelledby="board-failures" data-testid="board-failures">
            <h2 id="board-failures">{format!("Sessions that ended or failed, last {FAILURE_DAYS} days")}</h2>
            {if let Some(problem) = problem {
                unread("The week's sessions", problem).into_any()
            } else if failures.is_empty() {
                view! { <p class="muted">{format!("No session started in the last {FAILURE_DAYS} days ended or failed its outcome.")}</p> }.into_any()
            } else {
                view! {
                    <ul class="board-list">
                        {failures.into_iter().map(|f| view! {
                            <li data-testid="board-failure" data-session=f.row.id.clone()>
                                {session_link(&f.row.id, f.row.title.clone())}
                                <span class="muted">{format!(" · {} · started {}", f.row.agent_name, format::timestamp(&f.row.created_at))}</span>
                                ": " {f.why}
                            </li>
                        }).collect_view()}
                    </ul>
                    {more.then(|| view! { <p class="muted"><a href="/sessions?status=terminated">{format!("The newest {FAILURES_SHOWN} shown; the Sessions page lists every ended session.")}</a></p> })}
                }.into_any()
            }}
        </section>
    }
}

/// The deployment runs that failed in the last day, each linking to its deployment.
#[component]
fn FailedRuns() -> impl IntoView {
    let runs = Resource::new(|| (), |_| failed_runs_recently());
    view! {
        <section class="panel" aria-labelledby="failed-runs" data-testid="failed-runs">
            <h2 id="failed-runs">{format!("Failed deployment runs, last {FAILED_RUNS_HOURS} hours")}</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading the failed runs…"</p> }>
                {move || Suspend::new(async move {
                    match runs.await {
                        Err(error) => view! { <Failure error inline=true /> }.into_any(),
                        Ok(runs) if runs.is_empty() => view! { <p class="muted">"No deployment run failed in the last day."</p> }.into_any(),
                        Ok(runs) => {
                            let more = (runs.len() >= FAILED_RUNS_SHOWN)
                                .then(|| view! { <p class="muted"><a href="/deployments">"The newest shown; each deployment's page lists all its runs."</a></p> });
                            view! {
                                <ul class="failed-runs">
                                    {runs.into_iter().map(|f| {
                                        let (_, words, message) = f.run.error.clone().unwrap_or_default();
                                        view! {
                                            <li data-testid="failed-run">
                                                <a href=format!("/deployments/{}", f.deployment_id)>{f.deployment_name}</a>
                                                " failed " {format::timestamp(&f.run.created_at)} " (" {f.run.trigger} "): " {words}
                                                <br /><span class="muted">{message}</span>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                                {more}
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn UpstreamPanel(summary: UpstreamSummary) -> impl IntoView {
    let (mode, explanation) = match summary.mode {
        UpstreamMode::Anthropic => (
            "Anthropic API",
            "Requests go to Anthropic's Managed Agents API with the key from ANTHROPIC_API_KEY. The key stays on this server.",
        ),
        UpstreamMode::Embedded => (
            "Embedded engine",
            "No ANTHROPIC_API_KEY is set, so Switchboard uses its embedded engine: a local implementation of the same API. Set ANTHROPIC_API_KEY and restart to use Anthropic's API.",
        ),
    };
    let key = if summary.key_configured { "set (kept on the server)" } else { "not set" };

    view! {
        <section class="panel" aria-labelledby="upstream-heading">
            <h2 id="upstream-heading">"Upstream"</h2>
            <p>{explanation}</p>
            <dl class="facts" data-testid="upstream">
                <dt>"Mode"</dt>
                <dd data-testid="upstream-mode">{mode}</dd>
                {(!summary.base_url.is_empty()).then(|| view! {
                    <dt>"Base URL"</dt>
                    <dd><code>{summary.base_url}</code></dd>
                })}
                <dt>"API key"</dt>
                <dd>{key}</dd>
                {(!summary.data_dir.is_empty()).then(|| view! {
                    <dt>"Data directory"</dt>
                    <dd><code>{summary.data_dir}</code></dd>
                })}
            </dl>
            {(summary.mode == UpstreamMode::Embedded).then(|| view! {
                <p class="muted">
                    "The engine listens on loopback only, with a key that never leaves the server. It starts with a demo agent and environment: "
                    "a scripted agent that streams an answer, asks before it runs a shell command, writes a file to its outputs and calls a custom tool."
                </p>
            })}
        </section>
    }
}
