//! Presenter mode (`/sessions/{id}/present`): the session for an audience. Large type, the
//! conversation and the tool calls only (no ids, raw JSON, status changes or model requests),
//! following the live end; keys to walk the tool calls and to pause following; and a replay of
//! a finished session at 1×, 2×, 5× or step by step, timed by its events' own `processed_at`.

use std::collections::HashSet;

use leptos::prelude::*;
use protocol::events::types;

use super::{
    model::{Category, Link, Model},
    state::Live,
    view::OpeningTimeline,
};

/// The longest pause a replay keeps, in milliseconds of the session's own time: a tool that ran
/// for ten minutes is not waited out in front of a room.
#[cfg(feature = "hydrate")]
const LONGEST_PAUSE_MS: f64 = 5_000.0;

/// How a replay goes on.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pace {
    /// Timed by the events, this many times faster.
    Speed(f64),
    /// One row per press.
    Step,
}

/// A session for an audience: its title, agent and state, the presenter's controls and keys,
/// and the timeline without ids, raw JSON or debugging rows.
#[component]
pub fn PresentSession(
    #[prop(into)] session_id: String,
    #[prop(into)] title: String,
    #[prop(into)] agent: String,
    /// The event to open at (`?event=`).
    #[prop(into)]
    event: Option<String>,
    /// The base of the stream to read instead of the session's (`/api/shares/{token}` for a
    /// share link's audience, `/api/imports/{id}` for an imported session).
    #[prop(optional, into)]
    source: Option<String>,
    /// Where `Esc` and "Leave" go: the session's page when not given; `exit=None`: nowhere (a
    /// share link's audience has no way into the console).
    #[prop(optional)]
    exit: Option<Option<String>>,
    /// What the audience is told about the link (read-only, snapshot, what is hidden).
    #[prop(optional, into)]
    note: Option<String>,
    /// The page's read of the timeline's first screen ([`super::read_first_screen`]).
    #[prop(optional_no_strip)]
    first_screen: Option<super::FirstScreenRead>,
) -> impl IntoView {
    let exit = exit.unwrap_or_else(|| Some(format!("/sessions/{session_id}")));
    let live = match source {
        Some(source) => Live::open_from(source, true),
        None => Live::open_as(session_id.clone(), None, true),
    };
    // Status changes and model requests are for the people who run the session.
    let hidden = RwSignal::new(HashSet::from([Category::Status, Category::Spans]));
    let cursor = RwSignal::new(None::<f64>);
    // The event the timeline opens at, and then each tool call the keys walk to.
    let jump = RwSignal::new(event);
    let state = live.memo(|m| (m.state_in_words(), m.status.clone().unwrap_or_default(), m.link.clone()));
    let pace = RwSignal::new(None::<Pace>);
    let playing = RwSignal::new(false);
    let replay = Replay { live, hidden, pace, playing };
    replay.run();
    #[cfg(feature = "hydrate")]
    listen_for_keys(replay, jump, exit.clone());
    view! {
        <div class="presenter" data-testid="presenter">
            <header class="presenter-head">
                <div>
                    <h1>{title}</h1>
                    <p class="presenter-agent">{agent}</p>
                </div>
                <p class="presenter-state" data-testid="presenter-state" aria-live="polite">
                    {move || {
                        let (words, status, link) = state.get();
                        let live_mark = (link == Link::Live && status == "running").then_some(view! { <span class="link-live">"● Live "</span> });
                        view! { {live_mark} {words} }
                    }}
                </p>
                <PresenterControls replay jump state exit=exit.clone() />
                <p class="muted presenter-keys">
                    "j / k: next / previous tool call · f: stop or start following the live end · space: pause a replay or show its next step"
                    {exit.is_some().then_some(" · Esc: leave")}
                </p>
                {note.map(|note| view! { <p class="presenter-note" data-testid="share-note">{note}</p> })}
                {move || match state.read().2.clone() {
                    Link::Failed(why) => Some(view! { <p class="notice warning presenter-ended" role="alert" data-testid="presenter-ended">{why}</p> }),
                    _ => None,
                }}
            </header>
            <OpeningTimeline live hidden cursor focus=Signal::from(jump) screen=first_screen />
        </div>
    }
}

/// The presenter's buttons: follow, the previous and next tool call, a finished session's
/// replay, and the way out.
#[component]
fn PresenterControls(
    replay: Replay,
    jump: RwSignal<Option<String>>,
    /// The session's state in words, its status and its link.
    state: Memo<(String, String, Link)>,
    exit: Option<String>,
) -> impl IntoView {
    let live = replay.live;
    let finished = move || matches!(state.read().1.as_str(), "idle" | "terminated");
    view! {
        <nav class="presenter-controls" aria-label="Presenter controls">
            <button type="button" class="button" data-testid="follow" aria-pressed=move || live.following.get().to_string()
                on:click=move |_| toggle_follow(live)>
                {move || if live.following.get() { "Following (f)" } else { "Follow (f)" }}
            </button>
            <button type="button" class="button" on:click=move |_| walk(replay, jump, false) title="Previous tool call (k)">"‹ Call"</button>
            <button type="button" class="button" on:click=move |_| walk(replay, jump, true) title="Next tool call (j)">"Call ›"</button>
            <Show when=finished>
                <ReplayControls replay />
            </Show>
            {exit.map(|href| view! { <a class="button secondary" href=href>"Leave (Esc)"</a> })}
        </nav>
    }
}

/// A finished session's replay: at 1×, 2× or 5×, or step by step; then pause, next, show all.
#[component]
fn ReplayControls(replay: Replay) -> impl IntoView {
    let (pace, playing) = (replay.pace, replay.playing);
    view! {
        <span class="replay" role="group" aria-label="Replay" data-testid="replay">
            {move || match pace.get() {
                None => view! {
                    <span class="muted">"Replay "</span>
                    <button type="button" class="button" on:click=move |_| replay.start(Pace::Speed(1.0))>"1×"</button>
                    <button type="button" class="button" on:click=move |_| replay.start(Pace::Speed(2.0))>"2×"</button>
                    <button type="button" class="button" on:click=move |_| replay.start(Pace::Speed(5.0))>"5×"</button>
                    <button type="button" class="button" on:click=move |_| replay.start(Pace::Step)>"Step by step"</button>
                }.into_any(),
                Some(Pace::Step) => view! {
                    <button type="button" class="button primary" data-testid="replay-next" on:click=move |_| replay.press()>"Next (space)"</button>
                    <button type="button" class="button" on:click=move |_| replay.stop()>"Show all"</button>
                }.into_any(),
                Some(Pace::Speed(speed)) => view! {
                    <span class="muted">{format!("Replaying at {speed}× ")}</span>
                    <button type="button" class="button primary" data-testid="replay-pause" on:click=move |_| replay.press()>
                        {move || if playing.get() { "Pause (space)" } else { "Resume (space)" }}
                    </button>
                    <button type="button" class="button" on:click=move |_| replay.stop()>"Show all"</button>
                }.into_any(),
            }}
        </span>
    }
}

/// To the next (or previous) tool call among the rows shown.
fn walk(replay: Replay, jump: RwSignal<Option<String>>, forward: bool) {
    let live = replay.live;
    let to = live.model.with_value(|m| {
        next_call(
            m,
            &replay.hidden.read_untracked(),
            live.reveal.get_untracked(),
            live.focused.get_untracked(),
            forward,
        )
    });
    if let Some(id) = to {
        jump.set(Some(id));
    }
}

/// Stops or starts following the live end.
fn toggle_follow(live: Live) {
    live.following.update(|f| *f = !*f);
    live.remeasure.update(|n| *n += 1);
}

/// The presenter's keys, while the view is there: j/n and k/p walk the tool calls, f follows,
/// space drives a replay, Escape leaves for `exit`. Not while the person types.
#[cfg(feature = "hydrate")]
fn listen_for_keys(replay: Replay, jump: RwSignal<Option<String>>, exit: Option<String>) {
    let handle = window_event_listener(leptos::ev::keydown, move |ev| {
        let typing = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if typing || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        match ev.key().as_str() {
            "j" | "n" => walk(replay, jump, true),
            "k" | "p" => walk(replay, jump, false),
            "f" => toggle_follow(replay.live),
            " " if replay.pace.get_untracked().is_some() => {
                ev.prevent_default();
                replay.press();
            }
            "Escape" => {
                if let Some(exit) = &exit {
                    let _ = window().location().set_href(exit);
                }
            }
            _ => {}
        }
    });
    on_cleanup(move || handle.remove());
}

/// The tool call after (or before) the highlighted row among the rows shown; from the first
/// (or last) when none is highlighted.
fn next_call(
    m: &Model,
    hidden: &HashSet<Category>,
    reveal: Option<usize>,
    from: Option<u64>,
    forward: bool,
) -> Option<String> {
    let calls =
        m.visible(hidden).into_iter().filter(|&i| reveal.is_none_or(|r| i < r)).map(|i| &m.items[i]).filter(|item| {
            matches!(
                item.kind.as_str(),
                types::AGENT_TOOL_USE | types::AGENT_MCP_TOOL_USE | types::AGENT_CUSTOM_TOOL_USE
            )
        });
    let found = match (forward, from) {
        (true, Some(seq)) => calls.clone().find(|item| item.seq > seq),
        (true, None) => calls.clone().next(),
        (false, Some(seq)) => calls.clone().rfind(|item| item.seq < seq),
        (false, None) => calls.clone().next_back(),
    };
    found.map(|item| item.id.clone())
}

/// A replay's state and its clock.
#[derive(Clone, Copy)]
struct Replay {
    live: Live,
    hidden: RwSignal<HashSet<Category>>,
    pace: RwSignal<Option<Pace>>,
    playing: RwSignal<bool>,
}

impl Replay {
    /// From the first event, at `pace`.
    fn start(self, pace: Pace) {
        self.live.reveal.set(Some(0));
        self.live.focused.set(None);
        self.live.following.set(true);
        self.pace.set(Some(pace));
        match pace {
            Pace::Step => {
                self.playing.set(false);
                self.step();
            }
            Pace::Speed(_) => self.playing.set(true),
        }
    }

    /// Every event again; the replay is over.
    fn stop(self) {
        self.playing.set(false);
        self.pace.set(None);
        self.live.reveal.set(None);
        self.live.remeasure.update(|n| *n += 1);
    }

    /// Space or the main button: the next step, or pause and resume.
    fn press(self) {
        match self.pace.get_untracked() {
            Some(Pace::Step) => self.step(),
            Some(Pace::Speed(_)) => self.playing.update(|p| *p = !*p),
            None => {}
        }
    }

    /// Shows up to the next row the timeline draws (what it does not draw shows with it); past
    /// the last row, the replay is over.
    fn step(self) {
        let shown = self.live.reveal.get_untracked().unwrap_or(0);
        let next = self.live.model.with_value(|m| {
            let rows = m.visible(&self.hidden.read_untracked());
            rows.into_iter().find(|&i| i >= shown).map(|i| i + 1)
        });
        match next {
            Some(next) => {
                self.live.reveal.set(Some(next));
                self.live.remeasure.update(|n| *n += 1);
            }
            None => self.stop(),
        }
    }

    /// The clock: while playing, the next event shows after the time the session took between
    /// the two (at most [`LONGEST_PAUSE_MS`]), divided by the speed.
    fn run(self) {
        #[cfg(feature = "hydrate")]
        {
            let timer = StoredValue::new(None::<TimeoutHandle>);
            Effect::new(move |_| {
                let (playing, pace, shown) = (self.playing.get(), self.pace.get(), self.live.reveal.get());
                if let Some(handle) = timer.get_value() {
                    handle.clear();
                }
                let (true, Some(Pace::Speed(speed)), Some(shown)) = (playing, pace, shown) else { return };
                // The next event waits its gap; those due within a frame after it come with it.
                let plan = self.live.model.with_value(|m| {
                    let len = m.items.len();
                    if shown >= len {
                        return None;
                    }
                    let gap = |i: usize| match (i.checked_sub(1).and_then(|b| m.items[b].at_ms), m.items[i].at_ms) {
                        (Some(before), Some(at)) => (at - before).clamp(0.0, LONGEST_PAUSE_MS) / speed,
                        _ => 0.0,
                    };
                    let mut next = shown + 1;
                    while next < len && gap(next) < 16.0 {
                        next += 1;
                    }
                    Some((next, gap(shown)))
                });
                // All shown: the replay is over, and the view follows the session again.
                let Some((next, wait)) = plan else {
                    self.stop();
                    return;
                };
                let handle = set_timeout_with_handle(
                    move || {
                        let _ = self.live.reveal.try_set(Some(next));
                    },
                    std::time::Duration::from_millis(wait as u64),
                );
                timer.set_value(handle.ok());
            });
        }
    }
}
