//! The thread lanes of a multiagent session: every thread on the session's time axis, as a
//! minimap that zooms and scrubs. Each lane shows its agent, status, running time, tokens and
//! cost; messages between the primary thread and a child are lines between their lanes; the
//! cursor set on the minimap scrolls the timelines below to that moment.
//!
//! Drawn from the session's stream (`session.status_*`, `session.thread_*`, the messages
//! between threads and the children's cross-posted tool calls), so a lane nobody opens costs no
//! stream of its own; a stopped thread's own activity (its tool calls, messages and errors) comes
//! from one listing of its events, once per page. Tokens and cost are on the API's thread
//! objects only: they are listed when the lanes first appear and again a moment after a thread
//! stops, never per event.

use leptos::prelude::*;

use super::{
    model::{Lane, duration},
    state::Live,
    timeline::ThreadTimeline,
};
use crate::api::live::{ThreadActivity, ThreadFigures};

/// The narrowest window the minimap zooms to, in milliseconds.
const MIN_WINDOW_MS: f64 = 200.0;
/// How much one zoom step narrows or widens the window.
const ZOOM_STEP: f64 = 2.0;
/// How far an arrow key moves the cursor, as a share of the window shown.
const CURSOR_STEP: f64 = 1.0 / 40.0;

/// A span of time in milliseconds since the epoch: (from, to).
type Span = (f64, f64);

/// The window `factor` times as wide as `shown`, keeping `around` where it is on the screen, kept
/// inside `axis`; `None` when it would show the whole axis.
pub(super) fn zoom(shown: Span, axis: Span, factor: f64, around: f64) -> Option<Span> {
    let whole = axis.1 - axis.0;
    let width = ((shown.1 - shown.0) * factor).max(MIN_WINDOW_MS.min(whole));
    if width >= whole {
        return None;
    }
    let share = ((around - shown.0) / (shown.1 - shown.0).max(1.0)).clamp(0.0, 1.0);
    let from = (around - width * share).clamp(axis.0, axis.1 - width);
    Some((from, from + width))
}

/// `shown` moved by `by` milliseconds, kept inside `axis`.
pub(super) fn pan(shown: Span, axis: Span, by: f64) -> Span {
    let width = shown.1 - shown.0;
    let from = (shown.0 + by).clamp(axis.0, (axis.1 - width).max(axis.0));
    (from, from + width)
}

/// Where `at` lies in `shown`, in percent of the minimap's width (outside 0–100 when off it).
fn percent(at: f64, shown: Span) -> f64 {
    (at - shown.0) / (shown.1 - shown.0).max(1.0) * 100.0
}

/// The thread lanes: a head per thread beside a minimap of the session's time axis that zooms
/// and scrubs, and the timeline of the thread opened from its head.
#[component]
pub(super) fn Lanes(
    live: Live,
    /// The moment the person chose on the minimap; the timelines scroll to it.
    cursor: RwSignal<Option<f64>>,
) -> impl IntoView {
    let map = Minimap::new(live, cursor);
    let figures_error = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    read_figures(live, map.figures, figures_error);
    #[cfg(feature = "hydrate")]
    read_activity(live, map.lanes, map.activity);
    let open = RwSignal::new(None::<(String, String)>);
    let session_id = live.session_id;
    view! {
        <Show when=move || !map.lanes.read().is_empty()>
            <section class="lanes" aria-label="Threads" data-testid="lanes">
                <LanesTop map />
                <div class="lanes-grid" style=move || format!("--lanes:{}", map.lanes.read().len() + 1)>
                    <LaneHeads map open />
                    <MinimapPlot map />
                    <LanesAxis map />
                </div>
                {move || figures_error.get().map(|why| view! { <p class="muted" role="status">{why}</p> })}
                {move || open.get().map(|(thread_id, name)| view! {
                    <ThreadTimeline session_id=session_id.get_value() thread_id name cursor />
                })}
            </section>
        </Show>
    }
}

/// What the lanes' parts share: the threads, the session's time axis, the window of it the
/// minimap shows, the cursor, and the threads' figures and activity as listed.
#[derive(Clone, Copy)]
struct Minimap {
    lanes: Memo<Vec<Lane>>,
    primary: Memo<Lane>,
    now: RwSignal<Option<f64>>,
    /// The session's whole time axis: its first event to its last (to now while it runs).
    axis: Memo<Option<Span>>,
    /// The window the minimap was zoomed to (`None`: the whole axis).
    zoomed: RwSignal<Option<Span>>,
    /// What the minimap shows: the whole axis, or the window it was zoomed to.
    shown: Memo<Option<Span>>,
    /// The axis' start, where the plot's coordinates begin.
    origin: Memo<Option<f64>>,
    cursor: RwSignal<Option<f64>>,
    figures: RwSignal<Vec<ThreadFigures>>,
    /// Each child thread's activity, listed once when the page finds it stopped.
    activity: RwSignal<std::collections::HashMap<String, ThreadActivity>>,
}

impl Minimap {
    fn new(live: Live, cursor: RwSignal<Option<f64>>) -> Self {
        let now = crate::components::clock::ticking();
        let lanes = live.memo(move |m| m.lanes.clone());
        let primary = live.memo(move |m| m.primary.clone());
        let bounds = live.memo(move |m| {
            let first = m.items.iter().find_map(|i| i.at_ms);
            let last = m.items.iter().rev().find_map(|i| i.at_ms);
            (first, last, m.status.as_deref() == Some("running"))
        });
        let axis = Memo::new(move |_| {
            let (first, last, running) = bounds.get();
            let end = if running { now.get().or(last) } else { last };
            let (first, end) = (first?, end?);
            Some((first, end.max(first + 1.0)))
        });
        let zoomed = RwSignal::new(None::<Span>);
        let shown = Memo::new(move |_| axis.get().map(|axis| zoomed.get().unwrap_or(axis)));
        Minimap {
            lanes,
            primary,
            now,
            axis,
            zoomed,
            shown,
            origin: Memo::new(move |_| axis.get().map(|a| a.0)),
            cursor,
            figures: RwSignal::new(Vec::new()),
            activity: RwSignal::new(std::collections::HashMap::new()),
        }
    }

    fn zoom_by(self, factor: f64) {
        let (Some(axis), Some(shown)) = (self.axis.get_untracked(), self.shown.get_untracked()) else { return };
        let around =
            self.cursor.get_untracked().filter(|c| *c >= shown.0 && *c <= shown.1).unwrap_or((shown.0 + shown.1) / 2.0);
        self.zoomed.set(zoom(shown, axis, factor, around));
    }

    /// The keys of the minimap: arrows move the cursor (with Shift, the window), + and − zoom,
    /// 0 shows the whole session, Escape drops the cursor.
    fn on_keydown(self, ev: leptos::ev::KeyboardEvent) {
        let (cursor, zoomed) = (self.cursor, self.zoomed);
        let (Some(axis), Some(shown)) = (self.axis.get_untracked(), self.shown.get_untracked()) else { return };
        let step = (shown.1 - shown.0) * CURSOR_STEP;
        let at = cursor.get_untracked().unwrap_or(shown.0);
        let moved = |to: f64| {
            let to = to.clamp(axis.0, axis.1);
            // Keep the cursor on the minimap: the window follows it.
            if to < shown.0 || to > shown.1 {
                zoomed.set(Some(pan(shown, axis, if to < shown.0 { to - shown.0 } else { to - shown.1 })));
            }
            cursor.set(Some(to));
        };
        match ev.key().as_str() {
            "ArrowLeft" if ev.shift_key() => {
                zoomed.set(zoomed.get_untracked().map(|_| pan(shown, axis, -(shown.1 - shown.0) / 4.0)))
            }
            "ArrowRight" if ev.shift_key() => {
                zoomed.set(zoomed.get_untracked().map(|_| pan(shown, axis, (shown.1 - shown.0) / 4.0)))
            }
            "ArrowLeft" => moved(at - step),
            "ArrowRight" => moved(at + step),
            "Home" => moved(shown.0),
            "End" => moved(shown.1),
            "+" | "=" => self.zoom_by(1.0 / ZOOM_STEP),
            "-" | "_" => self.zoom_by(ZOOM_STEP),
            "0" => zoomed.set(None),
            "Escape" => cursor.set(None),
            _ => return,
        }
        ev.prevent_default();
    }

    /// The rows of the minimap: the primary thread's, then each child's.
    fn rows(self) -> usize {
        self.lanes.read().len() + 1
    }

    // The minimap draws in two coordinate systems. The plot (an inner SVG) places everything at
    // its time since the session's first event, in milliseconds, and its `viewBox` shows the
    // window: zooming, and the axis growing by the second while the session runs, change one
    // attribute instead of drawing every mark again. What must keep its shape (the tracks, the
    // dots at the ends of messages, the cursor) is drawn over it in percent of the width.
    fn view_box(self) -> Option<String> {
        let (origin, shown) = (self.origin.get()?, self.shown.get()?);
        Some(format!("{:.1} 0 {:.1} {}", shown.0 - origin, (shown.1 - shown.0).max(1.0), self.rows()))
    }

    /// The track behind each row.
    fn tracks(self) -> Vec<impl IntoView> {
        let rows = self.rows();
        (0..rows)
            .map(|row| {
                let y = |at: f64| (row as f64 + at) / rows as f64 * 100.0;
                view! { <rect class="lane-track" x="0" y=format!("{:.3}%", y(0.3)) width="100%" height=format!("{:.3}%", 40.0 / rows as f64) /> }
            })
            .collect::<Vec<_>>()
    }

    /// The running spans: a span still open ends at the axis' end, which moves while it runs.
    fn bars(self) -> Vec<impl IntoView> {
        let (Some(origin), Some(end)) = (self.origin.get(), self.axis.get().map(|a| a.1)) else { return Vec::new() };
        let lanes = self.lanes.get();
        std::iter::once(self.primary.get())
            .chain(lanes)
            .enumerate()
            .flat_map(|(row, lane)| {
                lane.spans
                    .into_iter()
                    .map(move |(from, to)| {
                        let class = if to.is_none() { "lane-bar running" } else { "lane-bar" };
                        let width = (to.unwrap_or(end) - from).max(0.0);
                        view! {
                            <rect class=class x=format!("{:.1}", from - origin) y=format!("{}.3", row)
                                width=format!("{width:.1}") height="0.4" vector-effect="non-scaling-stroke" />
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    }

    /// Each child's activity (as listed, or else its calls cross-posted to the session's stream)
    /// and its messages with the primary thread: drawn again only when they change.
    fn activity_and_messages(self) -> Vec<AnyView> {
        let Some(origin) = self.origin.get() else { return Vec::new() };
        let mut out = Vec::new();
        for (n, lane) in self.lanes.get().into_iter().enumerate() {
            let row = n + 1;
            let listed = self.activity.with(|a| a.get(&lane.id).map(|a| a.marks.clone()));
            for (at, kind) in listed.unwrap_or_else(|| lane.marks.clone()) {
                let x = format!("{:.1}", at - origin);
                out.push(view! {
                    <line class=format!("lane-mark {kind}") data-testid="lane-mark" data-thread=lane.id.clone() data-kind=kind
                        x1=x.clone() x2=x y1=format!("{row}.15") y2=format!("{row}.85") vector-effect="non-scaling-stroke" />
                }.into_any());
            }
            for &(at, to) in &lane.messages {
                let x = format!("{:.1}", at - origin);
                let (direction, title) = if to {
                    ("to", format!("A message to {}", lane.name))
                } else {
                    ("from", format!("A message from {}", lane.name))
                };
                out.push(view! {
                    <g class=format!("lane-message {direction}") data-testid="lane-message" data-thread=lane.id.clone() data-direction=direction data-title=title>
                        <line x1=x.clone() x2=x y1="0.5" y2=format!("{row}.5") vector-effect="non-scaling-stroke" />
                    </g>
                }.into_any());
            }
        }
        out
    }

    /// The dot at each message's receiving end, which must stay round.
    fn message_ends(self) -> Vec<impl IntoView> {
        let Some(shown) = self.shown.get() else { return Vec::new() };
        let lanes = self.lanes.get();
        let rows = lanes.len() + 1;
        lanes
            .iter()
            .enumerate()
            .flat_map(|(n, lane)| {
                lane.messages.iter().filter_map(move |&(at, to)| {
                    let x = percent(at, shown);
                    let row = if to { n + 1 } else { 0 };
                    (0.0..=100.0).contains(&x).then(|| {
                        view! { <circle class=if to { "lane-message-end to" } else { "lane-message-end from" }
                            cx=format!("{x:.3}%") cy=format!("{:.3}%", (row as f64 + 0.5) / rows as f64 * 100.0) r="3.5" /> }
                    })
                })
            })
            .collect::<Vec<_>>()
    }

    /// The cursor's line on the minimap, when it is in the window shown.
    fn cursor_line(self) -> Option<impl IntoView> {
        let (shown, at) = (self.shown.get()?, self.cursor.get()?);
        let x = percent(at, shown);
        (0.0..=100.0).contains(&x).then(|| view! {
            <line class="lane-cursor" data-testid="lane-cursor" x1=format!("{x:.3}%") x2=format!("{x:.3}%") y1="0" y2="100%" />
        })
    }

    /// Where the cursor is on the minimap, in percent of its width.
    fn cursor_x(self) -> Option<f64> {
        Some(percent(self.cursor.get()?, self.shown.get()?).clamp(0.0, 100.0))
    }

    /// "+1.2 s" from the session's first event.
    fn offset(self, at: f64) -> String {
        self.axis.get().map(|axis| format!("+{}", duration(at - axis.0))).unwrap_or_default()
    }

    /// The thread's tokens and cost (`None`: the primary thread's), once listed.
    fn figures_of(self, id: Option<&str>) -> Option<String> {
        self.figures.with(|all| {
            all.iter().find(|f| id.map_or(f.primary, |id| f.id == id)).map(|f| {
                let tokens = format!("{} tokens", crate::format::count(f.tokens));
                f.cost.as_ref().map_or(tokens.clone(), |cost| format!("{tokens} · {cost}"))
            })
        })
    }

    /// How long a lane ran, to now while it runs.
    fn running_time(self, lane: &Lane) -> String {
        let end = self.now.get().or_else(|| self.axis.get().map(|a| a.1)).unwrap_or(0.0);
        duration(lane.running_ms(end))
    }
}

/// Above the lanes: the heading, the zoom buttons and the window shown.
#[component]
fn LanesTop(map: Minimap) -> impl IntoView {
    let zoomed = map.zoomed;
    view! {
        <div class="lanes-top">
            <h3>"Threads"</h3>
            <div class="zoom" role="group" aria-label="Zoom the time axis">
                <button type="button" class="button small" data-testid="zoom-in" title="Zoom in (+)"
                    on:click=move |_| map.zoom_by(1.0 / ZOOM_STEP)>"+"</button>
                <button type="button" class="button small" data-testid="zoom-out" title="Zoom out (−)"
                    disabled=move || zoomed.read().is_none() on:click=move |_| map.zoom_by(ZOOM_STEP)>"−"</button>
                <button type="button" class="button small" data-testid="zoom-whole" title="The whole session (0)"
                    disabled=move || zoomed.read().is_none() on:click=move |_| zoomed.set(None)>"Whole session"</button>
            </div>
            <span class="muted" data-testid="lanes-window">
                {move || map.shown.get().map(|(from, to)| format!("{} to {}", map.offset(from), map.offset(to)))}
            </span>
        </div>
    }
}

/// The heads beside the lanes: the primary thread's, then each child's.
#[component]
fn LaneHeads(map: Minimap, open: RwSignal<Option<(String, String)>>) -> impl IntoView {
    let (figures, primary) = (map.figures, map.primary);
    view! {
        <ol class="lane-heads">
            <li class="lane-head primary" data-testid="primary-lane">
                <span class="lane-name">"Primary thread"
                    {move || figures.with(|f| f.iter().find(|f| f.primary).map(|f| view! { <span class="muted">{format!(" · {}", f.agent)}</span> }))}
                </span>
                <span class="lane-figures muted">
                    {move || { let p = primary.get(); view! { <span class=format!("status status-{}", p.status)>{p.status.clone()}</span> } }}
                    {move || format!(" {}", map.running_time(&primary.get()))}
                    <span data-testid="lane-cost">{move || map.figures_of(None).map(|f| format!(" · {f}"))}</span>
                </span>
            </li>
            <For each=move || map.lanes.get().into_iter().enumerate() key=|(_, lane)| lane.id.clone() let:((n, lane))>
                <LaneHead n id=lane.id.clone() name=lane.name.clone() workflow=lane.workflow map open />
            </For>
        </ol>
    }
}

/// The minimap: every thread's running spans, activity and messages on the time axis, and the
/// cursor the pointer or the keys set.
#[component]
fn MinimapPlot(map: Minimap) -> impl IntoView {
    let (cursor, axis) = (map.cursor, map.axis);
    let minimap: NodeRef<leptos::html::Div> = NodeRef::new();
    // The moment under the pointer.
    let at_pointer = move |client_x: i32| -> Option<f64> {
        #[cfg(feature = "hydrate")]
        {
            let (el, shown) = (minimap.get_untracked()?, map.shown.get_untracked()?);
            let rect = el.get_bounding_client_rect();
            let share = ((f64::from(client_x) - rect.left()) / rect.width().max(1.0)).clamp(0.0, 1.0);
            Some(shown.0 + share * (shown.1 - shown.0))
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (client_x, minimap);
            None
        }
    };
    let scrubbing = StoredValue::new(false);
    let on_pointerdown = move |ev: leptos::ev::PointerEvent| {
        if ev.button() != 0 {
            return;
        }
        scrubbing.set_value(true);
        #[cfg(feature = "hydrate")]
        if let Some(el) = minimap.get_untracked() {
            let _ = el.set_pointer_capture(ev.pointer_id());
        }
        cursor.set(at_pointer(ev.client_x()));
    };
    let on_pointermove = move |ev: leptos::ev::PointerEvent| {
        if scrubbing.get_value() {
            cursor.set(at_pointer(ev.client_x()));
        }
    };
    let value_text = move || match (cursor.get(), axis.get()) {
        (Some(at), Some(axis)) => format!("{} of {}", map.offset(at), duration(axis.1 - axis.0)),
        _ => "No moment chosen".to_owned(),
    };
    view! {
        <div class="minimap" node_ref=minimap data-testid="minimap" tabindex="0" role="slider"
            aria-label="A moment in the session: arrows move, + and − zoom, 0 shows it whole"
            aria-valuemin="0" aria-valuemax="100"
            aria-valuenow=move || match (cursor.get(), axis.get()) { (Some(at), Some(a)) => format!("{:.0}", percent(at, a)), _ => "0".to_owned() }
            aria-valuetext=value_text
            on:pointerdown=on_pointerdown on:pointermove=on_pointermove
            on:pointerup=move |_| scrubbing.set_value(false) on:pointercancel=move |_| scrubbing.set_value(false)
            on:keydown=move |ev| map.on_keydown(ev)>
            <svg width="100%" height="100%" aria-hidden="true">
                {move || map.tracks()}
                <svg class="lanes-plot" width="100%" height="100%" viewBox=move || map.view_box() preserveAspectRatio="none">
                    {move || map.bars()}{move || map.activity_and_messages()}
                </svg>
                {move || map.message_ends()}{move || map.cursor_line()}
            </svg>
        </div>
    }
}

/// Under the minimap: the window's ends, and the cursor's time under it (an end it would cover
/// is left out).
#[component]
fn LanesAxis(map: Minimap) -> impl IntoView {
    let (cursor, shown) = (map.cursor, map.shown);
    view! {
        <p class="lanes-axis muted" aria-hidden="true">
            <span>{move || shown.get().filter(|_| map.cursor_x().is_none_or(|x| x > 12.0)).map(|s| map.offset(s.0))}</span>
            {move || {
                let (x, at) = (map.cursor_x()?, cursor.get()?);
                // Centred under the cursor, or kept inside the axis near its ends.
                let shift = if x < 12.0 { 0.0 } else if x > 88.0 { -100.0 } else { -50.0 };
                let style = format!("left:{x:.3}%;transform:translateX({shift}%)");
                Some(view! { <span class="cursor-time" data-testid="cursor-time" style=style>{format!("▲ {}", map.offset(at))}</span> })
            }}
            <span>{move || shown.get().filter(|_| map.cursor_x().is_none_or(|x| x < 88.0)).map(|s| map.offset(s.1))}</span>
        </p>
    }
}

/// A child thread's head beside its lane: agent, status, running time, tokens and cost, and the
/// button that opens its timeline.
#[component]
fn LaneHead(
    n: usize,
    id: String,
    name: String,
    workflow: bool,
    map: Minimap,
    open: RwSignal<Option<(String, String)>>,
) -> impl IntoView {
    let lanes = map.lanes;
    let lane = Memo::new(move |_| lanes.with(|l| l.get(n).cloned().unwrap_or_default()));
    let id = StoredValue::new(id);
    let is_open = move || open.read().as_ref().is_some_and(|(o, _)| id.with_value(|id| o == id));
    let toggle = {
        let name = name.clone();
        move |_| {
            let id = id.get_value();
            open.update(|o| {
                *o = if o.as_ref().is_some_and(|(x, _)| *x == id) { None } else { Some((id, name.clone())) }
            })
        }
    };
    view! {
        <li class="lane-head" data-testid="thread-lane" data-thread=id.get_value()>
            <span class="lane-name" title=name.clone()>{name.clone()}{workflow.then(|| view! { " " <span class="badge">"workflow"</span> })}</span>
            <span class="lane-figures muted">
                {move || { let status = lane.read().status.clone(); view! { <span class=format!("status status-{status}")>{status.clone()}</span> } }}
                {move || format!(" {}", map.running_time(&lane.get()))}
                <span data-testid="lane-cost">{move || id.with_value(|id| map.figures_of(Some(id))).map(|f| format!(" · {f}"))}</span>
                " "
                <button type="button" class="link" data-testid="open-thread" aria-expanded=move || is_open().to_string() on:click=toggle>
                    {move || if is_open() { "Hide its timeline" } else { "Its timeline" }}
                </button>
            </span>
        </li>
    }
}

/// Lists the threads' figures when the lanes first appear and again a moment after a thread
/// stops (several stopping together cost one listing).
#[cfg(feature = "hydrate")]
fn read_figures(live: Live, figures: RwSignal<Vec<ThreadFigures>>, error: RwSignal<Option<String>>) {
    use std::time::Duration;
    // Changes when a lane appears or any thread (the primary included) stops.
    let stops = live.memo(move |m| {
        let stopped = m.lanes.iter().chain([&m.primary]).flat_map(|l| &l.spans).filter(|s| s.1.is_some()).count();
        (m.lanes.len(), stopped)
    });
    let pending = StoredValue::new_local(None::<TimeoutHandle>);
    Effect::new(move |_| {
        let (lanes, _) = stops.get();
        if lanes == 0 {
            return;
        }
        if let Some(handle) = pending.get_value() {
            handle.clear();
        }
        let session_id = live.session_id.get_value();
        let handle = set_timeout_with_handle(
            move || {
                leptos::task::spawn_local(async move {
                    match crate::api::live::list_thread_figures(session_id).await {
                        Ok(listed) => {
                            figures.set(listed);
                            error.set(None);
                        }
                        Err(e) => error.set(Some(format!("The threads' tokens and cost could not be read: {e}"))),
                    }
                });
            },
            Duration::from_millis(400),
        );
        pending.set_value(handle.ok());
    });
}

/// Lists the activity of each child thread once, when its lane is first seen stopped (a lane
/// still running is marked from the session's stream until then).
#[cfg(feature = "hydrate")]
fn read_activity(
    live: Live,
    lanes: Memo<Vec<Lane>>,
    activity: RwSignal<std::collections::HashMap<String, ThreadActivity>>,
) {
    let asked = StoredValue::new(std::collections::HashSet::<String>::new());
    Effect::new(move |_| {
        for lane in lanes.read().iter().filter(|l| matches!(l.status.as_str(), "idle" | "terminated")) {
            if !asked.try_update_value(|a| a.insert(lane.id.clone())).unwrap_or(false) {
                continue;
            }
            let (session_id, thread_id) = (live.session_id.get_value(), lane.id.clone());
            leptos::task::spawn_local(async move {
                // A lane whose listing failed keeps the marks the session's stream gave it.
                if let Ok(listed) = crate::api::live::list_thread_activity(session_id, thread_id.clone()).await {
                    activity.update(|a| {
                        a.insert(thread_id, listed);
                    });
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zooming_keeps_the_moment_in_place_and_stays_on_the_axis() {
        let axis = (0.0, 10_000.0);
        assert_eq!(zoom(axis, axis, 0.5, 5_000.0), Some((2_500.0, 7_500.0)), "around the middle");
        assert_eq!(zoom(axis, axis, 0.5, 0.0), Some((0.0, 5_000.0)), "around the start");
        assert_eq!(zoom(axis, axis, 0.5, 10_000.0), Some((5_000.0, 10_000.0)), "around the end");
        // The moment a quarter of the way across stays a quarter of the way across.
        assert_eq!(zoom((2_000.0, 6_000.0), axis, 0.5, 3_000.0), Some((2_500.0, 4_500.0)));
        assert_eq!(zoom((2_000.0, 6_000.0), axis, 4.0, 3_000.0), None, "wider than the axis is the whole axis");
        let (from, to) = zoom((0.0, 300.0), axis, 0.5, 150.0).unwrap();
        assert_eq!(
            (from, to),
            (50.0, 50.0 + MIN_WINDOW_MS),
            "no narrower than the least, the moment still in the middle"
        );
    }

    #[test]
    fn a_threads_activity_keeps_one_mark_per_kind_and_sliver_of_time() {
        use crate::api::live::{MAX_MARKS, thin_marks};
        // 6,000 messages over 6 s and one error among them: one message mark per 10 ms.
        let mut marks: Vec<(f64, &str)> = (0..6_000).map(|n| (f64::from(n), "message")).collect();
        marks.push((3_000.5, "error"));
        let thinned = thin_marks(marks);
        assert_eq!(thinned.iter().filter(|m| m.1 == "message").count(), MAX_MARKS + 1);
        assert_eq!(thinned.iter().filter(|m| m.1 == "error").count(), 1, "a rare kind is never thinned away");
        assert!(thinned.windows(2).all(|w| w[0].0 <= w[1].0), "in order");
        assert!(thin_marks(Vec::new()).is_empty());
    }

    #[test]
    fn panning_stops_at_the_ends_of_the_axis() {
        let axis = (0.0, 10_000.0);
        assert_eq!(pan((2_000.0, 4_000.0), axis, 1_000.0), (3_000.0, 5_000.0));
        assert_eq!(pan((2_000.0, 4_000.0), axis, -5_000.0), (0.0, 2_000.0));
        assert_eq!(pan((2_000.0, 4_000.0), axis, 50_000.0), (8_000.0, 10_000.0));
    }
}
