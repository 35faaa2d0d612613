//! The session inspector, folded under the timeline: the cost over time (against the budget when
//! the session has one), each tool's calls, failures and median time with a link to every call,
//! and each thread's tokens and cost. Worked out from the model the stream feeds, so it follows
//! the session live; the threads' figures are read when the inspector is opened, and again when
//! a thread starts or stops while it is open.

use leptos::prelude::*;
use leptos_router::components::A;

use super::{model::duration, state::Live};
use crate::api::live::ThreadFigures;
use crate::components::table_scroll::TableScroll;

/// The calls of one tool that get a link of their own (the first ones, then any that failed);
/// the rest are counted.
const LINKED_CALLS: usize = 30;
/// The chart's drawing box, in SVG units.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 120.0;

/// `link_base`: the page a call's link opens (`/sessions/{id}`), with `?event=` added.
#[component]
pub(super) fn Inspector(live: Live, #[prop(into)] link_base: String) -> impl IntoView {
    let stats = live.memo(|m| m.tool_stats());
    let cost = live.memo(|m| (m.cost_series.clone(), m.cost_currency.clone(), m.budget_minor));
    let has_threads = live.memo(|m| !m.lanes.is_empty());
    let figures = RwSignal::new(None::<Result<Vec<ThreadFigures>, FiguresUnread>>);
    let open = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    read_figures_while_open(live, open, has_threads, figures);
    view! {
        <details class="inspector" data-testid="inspector"
            on:toggle=move |_ev| {
                #[cfg(feature = "hydrate")]
                open.set(event_target::<web_sys::HtmlDetailsElement>(&_ev).open());
            }>
            <summary>"Inspector: cost, tools and threads"</summary>
            <Show when=move || open.get()>
                <div class="inspector-body">
                    <section aria-labelledby="inspector-cost">
                        <h3 id="inspector-cost">"Cost over time"</h3>
                        {move || {
                            let (series, currency, budget) = cost.get();
                            cost_chart(&series, currency.as_deref().unwrap_or("USD"), budget)
                        }}
                    </section>
                    <section aria-labelledby="inspector-tools">
                        <h3 id="inspector-tools">"Tools"</h3>
                        {
                            let link_base = link_base.clone();
                            move || tools_table(stats.get(), &link_base)
                        }
                    </section>
                    <Show when=move || has_threads.get()>
                        <section aria-labelledby="inspector-threads">
                            <h3 id="inspector-threads">"Threads"</h3>
                            {move || threads_table(figures.get())}
                        </section>
                    </Show>
                </div>
            </Show>
        </details>
    }
}

/// Reads the threads' figures while the inspector is open and the session has threads (they
/// may start after it was opened), once per state of its threads.
#[cfg(feature = "hydrate")]
fn read_figures_while_open(
    live: Live,
    open: RwSignal<bool>,
    has_threads: Memo<bool>,
    figures: RwSignal<Option<Result<Vec<ThreadFigures>, FiguresUnread>>>,
) {
    // Each thread and its status: the figures are read again when this changes (a thread starts,
    // or stops with its tokens counted), as the lanes are.
    let threads_key = live.memo(|m| m.lanes.iter().map(|l| (l.id.clone(), l.status.clone())).collect::<Vec<_>>());
    let read_for = StoredValue::new(None::<Vec<(String, String)>>);
    // Reads are numbered: an answer to an older one that comes after a newer one is dropped.
    let reads = StoredValue::new(0_u64);
    Effect::new(move |_| {
        let key = threads_key.get();
        if !open.get() || !has_threads.get() || read_for.with_value(|k| k.as_ref() == Some(&key)) {
            return;
        }
        read_for.set_value(Some(key));
        reads.update_value(|n| *n += 1);
        let this_read = reads.get_value();
        let session_id = live.session_id.get_value();
        leptos::task::spawn_local(async move {
            let read = crate::api::live::list_thread_figures(session_id).await.map_err(FiguresUnread);
            if reads.try_get_value() == Some(this_read) {
                figures.try_set(Some(read));
            }
        });
    });
}

/// The threads' figures could not be read, and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("The threads' tokens and cost could not be read: {0}")]
// Made only where the figures are read: in the browser.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub(super) struct FiguresUnread(crate::error::AppError);

/// Each thread's tokens and cost, once read (or why they could not be).
fn threads_table(figures: Option<Result<Vec<ThreadFigures>, FiguresUnread>>) -> AnyView {
    match figures {
        None => view! { <p class="muted">"Reading the threads' figures…"</p> }.into_any(),
        Some(Err(why)) => view! { <p class="inline-error" role="alert">{why.to_string()}</p> }.into_any(),
        Some(Ok(threads)) => view! {
            <TableScroll label="Threads">
                <table class="list" data-testid="inspector-threads">
                    <thead><tr><th scope="col">"Thread"</th><th scope="col">"Tokens"</th><th scope="col">"Cost"</th></tr></thead>
                    <tbody>
                        {threads.into_iter().map(|t| view! {
                            <tr>
                                <td>{if t.primary { format!("{} (primary)", t.agent) } else { t.agent }}</td>
                                <td>{crate::format::count(t.tokens)}</td>
                                <td>{t.cost.unwrap_or_else(|| "—".to_owned())}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </TableScroll>
        }.into_any(),
    }
}

/// The cost so far as a line over the session's time, with the budget as a dashed line.
fn cost_chart(series: &[(f64, f64)], currency: &str, budget: Option<f64>) -> AnyView {
    let Some(&(_, last)) = series.last() else {
        return view! { <p class="muted" data-testid="inspector-cost">"No cost reported yet. The API reports it after each model request (the scripted model costs nothing)."</p> }.into_any();
    };
    let words = match budget {
        Some(budget) if budget > 0.0 => format!(
            "{} so far, {:.0}% of the budget of {}.",
            crate::format::cost(last, currency),
            last / budget * 100.0,
            crate::format::cost(budget, currency)
        ),
        _ => format!("{} so far; no budget.", crate::format::cost(last, currency)),
    };
    let (start, end) = (series[0].0, series[series.len() - 1].0);
    let span = (end - start).max(1.0);
    let top = series.iter().map(|p| p.1).fold(budget.unwrap_or(0.0), f64::max).max(1.0);
    let x = |at: f64| (at - start) / span * WIDTH;
    let y = |minor: f64| HEIGHT - minor / top * (HEIGHT - 8.0);
    // Cumulative cost holds its value until the next report: a step line.
    let (mut points, mut held) = (String::new(), HEIGHT);
    for &(at, minor) in series {
        points.push_str(&format!("{:.1},{held:.1} {:.1},{:.1} ", x(at), x(at), y(minor)));
        held = y(minor);
    }
    points.push_str(&format!("{WIDTH:.1},{held:.1}"));
    let budget_line = budget.filter(|b| *b > 0.0).map(|b| {
        let at = format!("{:.1}", y(b));
        view! { <line class="budget" x1="0" x2=WIDTH.to_string() y1=at.clone() y2=at /> }
    });
    view! {
        <figure class="cost-chart" data-testid="inspector-cost">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none" role="img" aria-label=words.clone()>
                {budget_line}
                <polyline class="spend" points=points />
            </svg>
            <figcaption>{words} " " <span class="muted">{format!("Over {} of the session's time, from its first cost report.", duration(end - start))}</span></figcaption>
        </figure>
    }
    .into_any()
}

fn tools_table(stats: Vec<super::model::ToolStats>, link_base: &str) -> AnyView {
    if stats.is_empty() {
        return view! { <p class="muted">"No tool was called yet."</p> }.into_any();
    }
    view! {
        <div class="table-scroll" role="region" aria-label="Tools" tabindex="0">
            <table class="list" data-testid="inspector-tools">
                <thead><tr><th scope="col">"Tool"</th><th scope="col">"Calls"</th><th scope="col">"Failed"</th><th scope="col">"Median time"</th><th scope="col">"Jump to a call"</th></tr></thead>
                <tbody>
                    {stats.into_iter().map(|s| {
                        let linked = linked_calls(&s.calls);
                        let more = s.calls.len() - linked.len();
                        view! {
                            <tr data-testid="inspector-tool" data-tool=s.name.clone()>
                                <th scope="row"><code>{s.name.clone()}</code></th>
                                <td>{s.calls.len()}</td>
                                <td class:inline-error={s.failures > 0}>{s.failures}</td>
                                <td>{s.median_ms.map(duration).unwrap_or_else(|| "—".to_owned())}</td>
                                <td class="call-links">
                                    {linked.into_iter().map(|n| {
                                        let (id, failed) = &s.calls[n];
                                        let label = match failed {
                                            Some(true) => format!("{} (failed)", n + 1),
                                            None => format!("{} (no result yet)", n + 1),
                                            Some(false) => (n + 1).to_string(),
                                        };
                                        view! { <A href=format!("{link_base}?event={id}") attr:class="call-link">{label}</A> " " }
                                    }).collect_view()}
                                    {(more > 0).then(|| view! { <span class="muted">{format!("and {more} more")}</span> })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <p class="muted">"A call's time runs to its result from the call, or, when a person had to allow it, from when the session went on after the answers. Denied calls never ran and are left out."</p>
    }
    .into_any()
}

/// Which calls of a tool get a link, by their index: the first [`LINKED_CALLS`], then up to as
/// many failed ones after them, since a failure is what someone opens the inspector to find.
fn linked_calls(calls: &[(String, Option<bool>)]) -> Vec<usize> {
    let first = 0..calls.len().min(LINKED_CALLS);
    let failed_later = (LINKED_CALLS..calls.len()).filter(|&n| calls[n].1 == Some(true)).take(LINKED_CALLS);
    first.chain(failed_later).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_calls_past_the_first_ones_keep_their_links() {
        let calls: Vec<(String, Option<bool>)> =
            (0..100).map(|n| (format!("c{n}"), Some(n == 5 || n == 40 || n == 99))).collect();
        let linked = linked_calls(&calls);
        assert_eq!(linked.len(), LINKED_CALLS + 2, "the first 30, then calls 41 and 100, which failed");
        assert_eq!(&linked[LINKED_CALLS..], &[40, 99]);
        let all_failed: Vec<(String, Option<bool>)> = (0..100).map(|n| (format!("c{n}"), Some(true))).collect();
        assert_eq!(linked_calls(&all_failed).len(), 2 * LINKED_CALLS, "at most 30 more links");
        assert_eq!(linked_calls(&calls[..3]), vec![0, 1, 2]);
    }
}
