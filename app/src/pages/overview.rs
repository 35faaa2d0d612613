use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::{
        deployments::{FAILED_RUNS_HOURS, FAILED_RUNS_SHOWN, failed_runs_recently},
        upstream::get_upstream_summary,
    },
    components::feedback::Failure,
    format,
    upstream::{UpstreamMode, UpstreamSummary},
};

/// The landing page: which upstream this Switchboard is configured for.
#[component]
pub fn Overview() -> impl IntoView {
    let summary = Resource::new(|| (), |_| get_upstream_summary());

    view! {
        <Title text="Overview" />
        <header class="page-header">
            <h1>"Overview"</h1>
            <p class="lede">"A console for Managed Agents: define agents, run sessions, and approve what they do."</p>
        </header>
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
        <FailedRuns />
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
                <dt>"Base URL"</dt>
                <dd><code>{summary.base_url}</code></dd>
                <dt>"API key"</dt>
                <dd>{key}</dd>
                <dt>"Data directory"</dt>
                <dd><code>{summary.data_dir}</code></dd>
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
