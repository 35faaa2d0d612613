//! The virtualized timeline of a live view: the rows in or near the viewport, spacers for the
//! others, following the live end, opened at a linked event or a moment chosen on the minimap;
//! and a child thread's own timeline.

use std::collections::{HashMap, HashSet};

use leptos::prelude::*;
use protocol::events::types;

use super::{
    model::{Category, Link, Model},
    rows::{Row, estimate},
    state::Live,
};

/// Rows drawn above and below the viewport, in pixels.
const OVERSCAN_PX: f64 = 600.0;
/// How close to the bottom counts as "at the bottom" for following.
const FOLLOW_SLACK_PX: f64 = 48.0;
/// How much of the rows above a linked event's row stays in view.
const PIN_MARGIN_PX: f64 = 48.0;
/// How long the history must have stopped arriving before a linked event is said to be missing.
#[cfg(feature = "hydrate")]
const NOT_FOUND_AFTER: std::time::Duration = std::time::Duration::from_secs(3);

/// One thread's own timeline, from the hub's stream of that thread.
#[component]
pub(super) fn ThreadTimeline(
    session_id: String,
    thread_id: String,
    name: String,
    cursor: RwSignal<Option<f64>>,
) -> impl IntoView {
    let live = Live::open(session_id, Some(thread_id));
    let hidden = RwSignal::new(HashSet::<Category>::new());
    view! {
        <section class="thread-view" data-testid="thread-view" aria-label=format!("{name}'s thread")>
            <h4>{format!("{name}'s thread")}</h4>
            <Timeline live hidden cursor focus=Signal::stored(None) />
        </section>
    }
}

/// The virtualized list of events: only the rows in or near the viewport are drawn, spacers stand
/// for the others (measured heights where known, estimates elsewhere). It follows the live end
/// until the person scrolls up, and offers a way back. A moment chosen on the lanes' minimap
/// (`cursor`) scrolls it to the first event at or after that moment; a link to an event (`focus`)
/// scrolls it to that event's row and highlights it, once the event has arrived.
#[component]
pub(super) fn Timeline(
    live: Live,
    hidden: RwSignal<HashSet<Category>>,
    cursor: RwSignal<Option<f64>>,
    focus: Signal<Option<String>>,
) -> impl IntoView {
    let s = Scroll::new(live, hidden);
    s.measure_and_follow_each_render();
    s.scroll_to_chosen_moment(cursor);
    s.open_each_link(focus);
    s.look_for_the_link_in_each_batch();
    view! {
        {move || s.note.get().map(|(state, words)| view! {
            <p class="muted deep-link-note" role="status" data-testid="deep-link" data-state=state>{words}</p>
        })}
        <div class="timeline" node_ref=s.scroller on:scroll=move |_| s.on_scroll() on:wheel=move |ev| s.on_wheel(ev)
            on:keydown=move |ev| s.on_keydown(ev) on:mousedown=move |ev| s.on_mousedown(ev)
            on:touchmove=move |_| { s.pinned.set_value(false); s.moved_up.set_value(true); }
            tabindex="0" aria-label="Session events" data-testid="timeline">
            <div style=move || format!("height:{}px", s.window.read().1) aria-hidden="true"></div>
            <div class="rows" node_ref=s.list role="list">
                <For each=move || s.window.get().0 key=|(_, seq, rev)| (*seq, *rev) let:((index, _, _))>
                    <Row live index />
                </For>
            </div>
            <div style=move || format!("height:{}px", s.window.read().2) aria-hidden="true"></div>
            <Previews live />
            {move || {
                live.version.track();
                live.model.with_value(|m| m.items.is_empty() && m.link == Link::Live).then(|| view! {
                    <p class="muted empty-timeline">"No events yet. Send the agent a message to start."</p>
                })
            }}
        </div>
        <Show when=move || !live.following.get()>
            <button type="button" class="button jump-live" data-testid="jump-live"
                on:click=move |_| { s.pinned.set_value(false); s.moved_up.set_value(false); live.following.set(true); s.to_bottom(); }>"↓ Jump to live"</button>
        </Show>
    }
}

/// The rows drawn, as (index, sequence number, revision), with the space above and below them.
type Window = (Vec<(usize, u64, u32)>, f64, f64);

/// What a timeline's parts share: its rows and their heights, the scroll, and the linked event.
#[derive(Clone, Copy)]
struct Scroll {
    live: Live,
    hidden: RwSignal<HashSet<Category>>,
    scroll_top: RwSignal<f64>,
    viewport: RwSignal<f64>,
    heights: StoredValue<HashMap<u64, f64>>,
    /// Bumped when a row was measured at another height.
    layout: RwSignal<u64>,
    list: NodeRef<leptos::html::Div>,
    scroller: NodeRef<leptos::html::Div>,
    /// The rows the filter shows (indexes into the model's items).
    rows: Memo<Vec<usize>>,
    /// Which of them are in or near the viewport, and the space the others take.
    window: Memo<Window>,
    /// A link's event (`focus`): looked for in each batch of frames until it arrives (a long
    /// history takes a moment to reach it).
    wanted: StoredValue<Option<String>>,
    /// Found, the linked event's row is pinned near the top of the viewport while the rows
    /// around it are measured, until the person scrolls.
    pinned: StoredValue<bool>,
    /// The person moved up (by wheel, keys, touch or the scrollbar): following stops.
    moved_up: StoredValue<bool>,
    /// What the page says of the linked event: looked for, or missing.
    note: RwSignal<Option<(&'static str, String)>>,
}

impl Scroll {
    fn new(live: Live, hidden: RwSignal<HashSet<Category>>) -> Self {
        let scroll_top = RwSignal::new(0.0f64);
        let viewport = RwSignal::new(600.0f64);
        let heights = StoredValue::new(HashMap::<u64, f64>::new());
        let layout = RwSignal::new(0u64);
        let rows = Memo::new(move |_| {
            live.version.track();
            let hidden = hidden.read();
            let mut rows = live.model.with_value(|m| m.visible(&hidden));
            if let Some(shown) = live.reveal.get() {
                rows.retain(|&i| i < shown);
            }
            rows
        });
        let window = Memo::new(move |_| {
            layout.track();
            let rows = rows.read();
            let (top, bottom) = (scroll_top.get() - OVERSCAN_PX, scroll_top.get() + viewport.get() + OVERSCAN_PX);
            live.model.with_value(|m| heights.with_value(|h| window_of(m, &rows, h, top, bottom)))
        });
        Scroll {
            live,
            hidden,
            scroll_top,
            viewport,
            heights,
            layout,
            list: NodeRef::new(),
            scroller: NodeRef::new(),
            rows,
            window,
            wanted: StoredValue::new(None),
            pinned: StoredValue::new(false),
            moved_up: StoredValue::new(false),
            note: RwSignal::new(None),
        }
    }

    /// Measures the rows drawn. Rows are measured in the browser only; the server draws them at
    /// their estimated heights.
    fn measure(self) {
        #[cfg(feature = "hydrate")]
        {
            let Some(Some(list)) = self.list.try_get_untracked() else { return };
            let children = list.children();
            let mut changed = false;
            self.heights.try_update_value(|h| {
                for n in 0..children.length() {
                    let Some(row) = children.item(n) else { continue };
                    let Some(seq) = row.get_attribute("data-seq").and_then(|s| s.parse::<u64>().ok()) else {
                        continue;
                    };
                    let height = row.get_bounding_client_rect().height();
                    if height > 0.0 && h.get(&seq).is_none_or(|old| (old - height).abs() > 0.5) {
                        h.insert(seq, height);
                        changed = true;
                    }
                }
            });
            if changed {
                self.layout.update(|n| *n += 1);
            }
        }
    }

    fn to_bottom(self) {
        if let Some(Some(el)) = self.scroller.try_get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
    }

    /// How far down the rows shown lies the row of `seq`.
    fn row_top(self, seq: u64) -> Option<f64> {
        let rows = self.rows.try_read_untracked()?;
        self.live
            .model
            .try_with_value(|m| {
                self.heights.try_with_value(|h| {
                    let at = rows.iter().position(|&i| m.items[i].seq == seq)?;
                    Some(rows[..at].iter().map(|&i| height_of(m, h, i)).sum::<f64>())
                })
            })
            .flatten()
            .flatten()
    }

    /// Keeps a pinned linked row near the top. Also called a frame later, when the timeline may
    /// be gone (its page drew a new one).
    fn keep_pinned(self) {
        let (Some(true), Some(Some(seq))) = (self.pinned.try_get_value(), self.live.focused.try_get_untracked()) else {
            return;
        };
        if let (Some(y), Some(Some(el))) = (self.row_top(seq), self.scroller.try_get_untracked()) {
            let y = (y - PIN_MARGIN_PX).max(0.0).round() as i32;
            if (el.scroll_top() - y).abs() > 1 {
                el.set_scroll_top(y);
            }
        }
    }

    /// After each render of the window: measure what was drawn, and follow the live end.
    fn measure_and_follow_each_render(self) {
        Effect::new(move |_| {
            self.window.track();
            self.live.remeasure.track();
            request_animation_frame(move || {
                // The timeline may be gone by the next frame: its page read the session again and
                // drew a new one, or its first screen gave way to the whole timeline. Its own values
                // are disposed then, and there is nothing to measure. `following` is the session
                // view's and can outlive it (a first screen shares it), so the timeline's own
                // `layout` says whether it is still there.
                let (Some(following), Some(_)) =
                    (self.live.following.try_get_untracked(), self.layout.try_get_untracked())
                else {
                    return;
                };
                self.measure();
                if following {
                    self.pinned.set_value(false);
                    self.to_bottom();
                } else {
                    self.keep_pinned();
                }
            });
        });
    }

    // Following stops only when the person moves up: by wheel, keys, touch or the scrollbar.
    // Rows measured at other heights than estimated change the scroll height under a scroll
    // that is under way, so a scroll event alone can find the view short of the bottom although
    // nobody scrolled (it once stopped a 10,000-event session ~230 events short of its end).
    fn on_scroll(self) {
        let Some(el) = self.scroller.get_untracked() else { return };
        let top = el.scroll_top() as f64;
        let height = el.client_height() as f64;
        self.scroll_top.set(top);
        self.viewport.set(height);
        // At the bottom, following starts again, unless a linked row is pinned (a short
        // session's list is at its bottom wherever it is scrolled).
        if top + height >= el.scroll_height() as f64 - FOLLOW_SLACK_PX {
            if !self.pinned.get_value() {
                self.moved_up.set_value(false);
                self.live.following.set(true);
            }
        } else if self.moved_up.get_value() {
            self.live.following.set(false);
        }
    }

    // Scrolling by the person (wheel, keys, touch, the scrollbar, the minimap) lets go of a
    // pinned row.
    fn on_wheel(self, ev: leptos::ev::WheelEvent) {
        self.pinned.set_value(false);
        if ev.delta_y() < 0.0 {
            self.moved_up.set_value(true);
        }
    }

    fn on_keydown(self, ev: leptos::ev::KeyboardEvent) {
        let key = ev.key();
        if matches!(key.as_str(), "ArrowUp" | "ArrowDown" | "PageUp" | "PageDown" | "Home" | "End" | " ") {
            self.pinned.set_value(false);
        }
        if matches!(key.as_str(), "ArrowUp" | "PageUp" | "Home") || (key == " " && ev.shift_key()) {
            self.moved_up.set_value(true);
        }
    }

    /// A press on the scrollbar, which lies right of the content box.
    fn on_mousedown(self, ev: leptos::ev::MouseEvent) {
        if let Some(el) = self.scroller.get_untracked()
            && ev.offset_x() >= el.client_width()
        {
            self.pinned.set_value(false);
            self.moved_up.set_value(true);
        }
    }

    /// To the moment chosen on the minimap: the person looks back, so following stops. Only when
    /// it is chosen, not when the timeline opens with one chosen before (a thread's timeline
    /// opened later has no events yet, and starts following its live end).
    fn scroll_to_chosen_moment(self, cursor: RwSignal<Option<f64>>) {
        Effect::new(move |mounted: Option<()>| {
            let chosen = cursor.get();
            let (Some(()), Some(at)) = (mounted, chosen) else { return };
            let y = self
                .live
                .model
                .with_value(|m| self.heights.with_value(|h| offset_at(m, &self.rows.read_untracked(), h, at)));
            self.pinned.set_value(false);
            self.moved_up.set_value(true);
            self.live.following.set(false);
            if let Some(el) = self.scroller.get_untracked() {
                el.set_scroll_top(y as i32);
            }
        });
    }

    /// Looks for the linked event in what has arrived; when it is there, opens the timeline at it.
    fn find(self) -> bool {
        let (live, hidden) = (self.live, self.hidden);
        let Some(id) = self.wanted.get_value() else { return false };
        let Some(row) = live.model.with_value(|m| m.row_of(&id)) else { return false };
        self.wanted.set_value(None);
        let category = live.model.with_value(|m| Category::of(&m.items[row].kind));
        let seq = if !hidden.with_untracked(|h| h.contains(&category)) {
            live.model.with_value(|m| m.items[row].seq)
        } else if live.presenter {
            // Presenter mode keeps its debugging rows hidden: the nearest row it shows instead.
            let shown = live.model.with_value(|m| {
                let visible = m.visible(&hidden.read_untracked());
                let near = visible.iter().find(|&&i| i >= row).or(visible.last()).copied();
                near.map(|i| m.items[i].seq)
            });
            let Some(seq) = shown else { return true };
            seq
        } else {
            hidden.update(|h| {
                h.remove(&category);
            });
            live.model.with_value(|m| m.items[row].seq)
        };
        self.moved_up.set_value(true);
        live.following.set(false);
        live.focused.set(Some(seq));
        self.pinned.set_value(true);
        self.note.set(None);
        request_animation_frame(move || self.keep_pinned());
        true
    }

    /// A new link (the page opened with one, or a row's link was followed).
    fn open_each_link(self, focus: Signal<Option<String>>) {
        Effect::new(move |_| {
            let id = focus.get();
            self.pinned.set_value(false);
            self.note.set(
                id.as_ref()
                    .map(|id| ("looking", format!("Opening event {id} as soon as the session's history reaches it…"))),
            );
            self.wanted.set_value(id);
            self.find();
        });
    }

    /// Each batch of frames: is it there now? A link to an event the session does not have is
    /// said so once the history has stopped arriving for a while.
    fn look_for_the_link_in_each_batch(self) {
        #[cfg(feature = "hydrate")]
        let quiet = StoredValue::new(None::<TimeoutHandle>);
        Effect::new(move |_| {
            self.live.version.track();
            let waiting = !self.find() && self.wanted.with_value(Option::is_some);
            #[cfg(not(feature = "hydrate"))]
            let _ = waiting;
            #[cfg(feature = "hydrate")]
            if waiting {
                if let Some(handle) = quiet.get_value() {
                    handle.clear();
                }
                let handle = set_timeout_with_handle(move || self.say_it_is_missing(), NOT_FOUND_AFTER);
                quiet.set_value(handle.ok());
            }
        });
    }

    /// Says the linked event is not in the session, when the stream is live and it still is not.
    #[cfg(feature = "hydrate")]
    fn say_it_is_missing(self) {
        let Some(Some(id)) = self.wanted.try_get_value() else { return };
        let live = self.live;
        if live.model.with_value(|m| m.link == Link::Live) {
            let count = live.model.with_value(|m| m.items.len());
            self.note.set(Some((
                "missing",
                format!(
                    "Event {id} is not among this session's {} events: the link may be for another session.",
                    crate::format::count(count as u64)
                ),
            )));
        }
    }
}

/// The height of item `i`'s row: measured, or else estimated.
fn height_of(m: &Model, heights: &HashMap<u64, f64>, i: usize) -> f64 {
    heights.get(&m.items[i].seq).copied().unwrap_or_else(|| estimate(&m.items[i]))
}

/// How far down `rows` lies the first row of an event at or after `at` (ms since the epoch).
fn offset_at(m: &Model, rows: &[usize], heights: &HashMap<u64, f64>, at: f64) -> f64 {
    rows.iter().take_while(|&&i| m.items[i].at_ms.is_none_or(|t| t < at)).map(|&i| height_of(m, heights, i)).sum()
}

/// The rows of `rows` (indexes into the model's items) that lie between `top` and `bottom`
/// pixels, as (index, sequence number, revision), with the space above and below them.
fn window_of(m: &Model, rows: &[usize], heights: &HashMap<u64, f64>, top: f64, bottom: f64) -> Window {
    let height_of = |i: usize| height_of(m, heights, i);
    let (mut y, mut start, mut end, mut pad_top) = (0.0, rows.len(), rows.len(), 0.0);
    for (n, &i) in rows.iter().enumerate() {
        let height = height_of(i);
        if start == rows.len() && y + height >= top {
            start = n;
            pad_top = y;
        }
        if start != rows.len() && y > bottom {
            end = n;
            break;
        }
        y += height;
    }
    let below: f64 = rows[end..].iter().map(|&i| height_of(i)).sum();
    let shown = rows[start..end].iter().map(|&i| (i, m.items[i].seq, m.items[i].rev)).collect();
    (shown, pad_top, below)
}

/// Messages and thinking being written now, below the last row.
#[component]
fn Previews(live: Live) -> impl IntoView {
    move || {
        live.version.track();
        // A replay shows what was written, not what is being written now.
        if live.reveal.get().is_some() {
            return Vec::new();
        }
        live.model.with_value(|m| {
            m.previews
                .iter()
                .map(|p| {
                    if p.kind == types::AGENT_THINKING {
                        view! { <div class="row preview thinking" data-testid="preview"><span class="who">"Agent"</span> <span class="spinner" aria-hidden="true"></span> " Thinking…"</div> }.into_any()
                    } else {
                        let text = p.blocks.join("\n\n");
                        view! { <div class="row preview" data-testid="preview"><span class="who">"Agent"</span><div class="text">{text}<span class="caret" aria-hidden="true">"▍"</span></div></div> }.into_any()
                    }
                })
                .collect::<Vec<_>>()
        })
    }
}
