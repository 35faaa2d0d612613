//! The live view's frame: the event source, the status line, the filter, the virtualized list
//! and the composer.

use std::collections::HashSet;

use leptos::prelude::*;

use super::{
    cards::PendingCalls,
    lanes::Lanes,
    model::{Category, Link, duration},
    state::Live,
    timeline::Timeline,
};
use crate::api::live::Steer;

/// `focus`: the event a link names (`?event=`): the timeline opens at its row, highlighted, as
/// soon as the history reaches it.
#[component]
pub fn LiveSession(
    #[prop(into)] session_id: String,
    #[prop(into, default = Signal::stored(None))] focus: Signal<Option<String>>,
    /// The page's read of the timeline's first screen ([`read_first_screen`]).
    #[prop(optional_no_strip)]
    first_screen: Option<FirstScreenRead>,
) -> impl IntoView {
    let live = Live::open(session_id, None);

    let hidden = RwSignal::new(HashSet::<Category>::new());
    // The moment chosen on the thread lanes' minimap: the timelines scroll to it.
    let cursor = RwSignal::new(None::<f64>);
    let may_steer = crate::me::can(crate::auth::Role::Operator);
    view! {
        <section class="panel live" aria-labelledby="timeline" data-testid="live">
            <OpeningHead live screen=first_screen />
            // Above the timeline: what waits for a person is what they came for, on a phone too.
            <WaitingCards live screen=first_screen />
            <Outcomes live />
            <Lanes live cursor />
            <Filter hidden />
            <noscript><p class="muted">"The live timeline needs JavaScript."</p></noscript>
            <OpeningTimeline live hidden cursor focus screen=first_screen />
            <super::inspector::Inspector live link_base=format!("/sessions/{}", live.session_id.get_value()) />
            <Show when=move || may_steer.get()>
                <Composer live />
                <DefineOutcome live />
            </Show>
        </section>
    }
}

/// The cards of the calls the session waits on, for approvers. Until the page's own stream has
/// brought the history as far as the server knew it when it drew the page, the cards are those
/// of the calls the server saw waiting then (the first screen's): so they are in the server's
/// HTML, and their plain forms decide before the page is hydrated, or with JavaScript off.
#[component]
fn WaitingCards(live: Live, screen: Option<FirstScreenRead>) -> impl IntoView {
    // The events of the calls the session waits on, as the page's stream tells them.
    let waiting_on = live.memo(move |m| m.pending().iter().map(|i| i.event.clone()).collect::<Vec<_>>());
    // The agent names of the threads the waiting calls were made in, for their cards.
    let threads = live.memo(move |m| {
        m.pending()
            .iter()
            .filter_map(|call| call.event.get("session_thread_id").and_then(serde_json::Value::as_str))
            .filter_map(|thread| Some((thread.to_owned(), m.thread_name(thread)?.to_owned())))
            .collect::<Vec<_>>()
    });
    let folded = live.memo(|m| m.last_seq);
    let me = use_context::<crate::me::Me>();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let may_decide = match me {
                    Some(me) => me.0.await.ok().flatten().is_some_and(|p| p.can(crate::auth::Role::Approver)),
                    None => false,
                };
                if !may_decide {
                    return ().into_any();
                }
                let (known_through, seen) = match screen {
                    Some(screen) => screen.await.ok().flatten().map(|s| (s.newest, s.waiting)).unwrap_or_default(),
                    None => (0, Vec::new()),
                };
                let seen: Vec<std::sync::Arc<serde_json::Value>> =
                    seen.iter().filter_map(|e| serde_json::from_str(e).ok()).map(std::sync::Arc::new).collect();
                let calls = Signal::derive(move || {
                    if folded.get() >= known_through { waiting_on.get() } else { seen.clone() }
                });
                view! { <PendingCalls session_id=live.session_id.get_value() calls threads /> }.into_any()
            })}
        </Suspense>
    }
}

/// The live view of events that are not a session of the API (an imported session, read from
/// `source`, the base of its stream): its state, totals, outcomes and timeline, read-only.
#[component]
pub fn ReadOnlySession(
    #[prop(into)] source: String,
    #[prop(into, default = Signal::stored(None))] focus: Signal<Option<String>>,
    /// The page's read of the timeline's first screen ([`read_first_screen`]).
    #[prop(optional_no_strip)]
    first_screen: Option<FirstScreenRead>,
) -> impl IntoView {
    let live = Live::open_from(source, false);
    let hidden = RwSignal::new(HashSet::<Category>::new());
    let cursor = RwSignal::new(None::<f64>);
    view! {
        <section class="panel live" aria-labelledby="timeline" data-testid="live">
            <Head live />
            <Outcomes live />
            <Filter hidden />
            <noscript><p class="muted">"The timeline needs JavaScript."</p></noscript>
            <OpeningTimeline live hidden cursor focus screen=first_screen />
        </section>
    }
}

/// The heading as the first screen tells it (the session's state from its newest events, its
/// count of events) until the page's stream has brought the history as far: a long session says
/// what it is doing as soon as the page is drawn, not once thousands of events have arrived.
#[component]
fn OpeningHead(live: Live, screen: Option<FirstScreenRead>) -> impl IntoView {
    let Some(screen) = screen else { return view! { <Head live /> }.into_any() };
    view! {
        <Suspense fallback=move || view! { <Head live /> }>
            {move || Suspend::new(async move {
                let screen = screen.await.ok().flatten().filter(|s| !s.events.is_empty());
                if live.version.try_get_untracked().is_none() {
                    return ().into_any();
                }
                let Some(screen) = screen else { return view! { <Head live /> }.into_any() };
                let known_through = screen.newest;
                let first = Live::first_screen(live, &screen, None);
                let caught_up = live.memo(move |m| m.last_seq >= known_through);
                view! {
                    <Show when=move || caught_up.get() fallback=move || view! { <Head live=first of_total=known_through /> }>
                        <Head live />
                    </Show>
                }.into_any()
            })}
        </Suspense>
    }
    .into_any()
}

/// The heading: the session's state and for how long, its totals, and the link to its events.
/// `of_total`: the view is a first screen's, of a session of this many events, whose requests and
/// tokens are not counted yet.
#[component]
fn Head(live: Live, #[prop(optional)] of_total: Option<u64>) -> impl IntoView {
    let now = crate::components::clock::ticking();
    let elapsed = move || {
        live.version.track();
        let since = live.model.with_value(|m| m.status_since_ms)?;
        Some(format!(" · for {}", duration((now.get()? - since).max(0.0))))
    };
    // Worked out once per batch of frames for the status line and the totals, which are drawn
    // again only when they change.
    let link = live.memo(move |m| m.link.clone());
    let summary = live.memo(move |m| {
        let t = &m.totals;
        (m.state_in_words(), m.status.clone().unwrap_or_else(|| "unknown".to_owned()), t.clone(), m.items.len())
    });
    view! {
        <div class="live-head">
            <h2 id="timeline">"Timeline"</h2>
            <p class="live-state" data-testid="live-state" aria-live="polite">
                {move || {
                    let (words, status, _, _) = summary.get();
                    view! { <span class=format!("status status-{status}")>{status.clone()}</span> " " {words} }
                }}
                {elapsed}
            </p>
            <p class="muted live-totals" data-testid="live-totals">
                {move || {
                    let (_, _, t, count) = summary.get();
                    if let Some(total) = of_total {
                        return format!("{} events · reading the rest of the history…", crate::format::count(total));
                    }
                    format!(
                        "{} events · {} model requests · {} in / {} out tokens{}",
                        crate::format::count(count as u64), t.requests, crate::format::count(t.input + t.cache_read), crate::format::count(t.output),
                        t.cost.map(|c| format!(" · {c}")).unwrap_or_default(),
                    )
                }}
            </p>
            <p class="live-link" data-testid="live-link" role="status">
                {move || match link.get() {
                    Link::Connecting => view! { <span class="muted">"Connecting to the session's events…"</span> }.into_any(),
                    Link::Live => view! { <span class="link-live">"● Live"</span> }.into_any(),
                    Link::Reconnecting(why) => view! { <span class="link-down">{format!("Reconnecting to the API ({why})…")}</span> }.into_any(),
                    Link::Lost => view! { <span class="link-down">"Connection to Switchboard lost; reconnecting…"</span> }.into_any(),
                    Link::Failed(why) => view! { <span class="inline-error">{why}</span> }.into_any(),
                    Link::Ended => view! { <span class="muted">"The session was deleted."</span> }.into_any(),
                    Link::SignedOut => view! {
                        <span class="inline-error" data-testid="signed-out">"Your sign-in has ended. "
                            <a href=format!("/login?next=/sessions/{}", live.session_id.get_value())>"Sign in again"</a>
                            " — what you typed in the message box is kept."</span>
                    }.into_any(),
                }}
            </p>
            {move || {
                live.version.track();
                live.model.with_value(|m| m.notice.clone()).map(|notice| view! {
                    <p class="muted live-notice" data-testid="live-notice" role="status">{notice}</p>
                })
            }}
        </div>
    }
}

/// The outcomes the session works toward: each iteration's verdict, why, and what grading cost.
#[component]
fn Outcomes(live: Live) -> impl IntoView {
    let outcomes = live.memo(move |m| m.outcomes.clone());
    move || {
        let outcomes = outcomes.get();
        (!outcomes.is_empty()).then(|| view! {
            <section class="outcomes" aria-label="Outcomes" data-testid="outcomes">
                {outcomes.into_iter().map(|o| view! {
                    <article class="outcome" data-testid="outcome" data-outcome=o.id.clone()>
                        <h3>"Outcome: " {o.description.clone()}</h3>
                        <p class="outcome-state" data-testid="outcome-state" aria-live="polite">{o.state_in_words()}</p>
                        <ol class="iterations">
                            {o.graded.iter().map(|g| view! {
                                <li class=format!("iteration result-{}", g.result) data-testid="outcome-iteration">
                                    <strong>{format!("Iteration {}: {}", g.iteration + 1, g.result.replace('_', " "))}</strong>
                                    " " {g.explanation.clone()}
                                    <span class="muted">{format!(" · grading {} tokens", crate::format::count(g.tokens))}</span>
                                </li>
                            }).collect_view()}
                        </ol>
                    </article>
                }).collect_view()}
            </section>
        })
    }
}

/// A form that gives the session an outcome to work toward; the outcome panel follows it.
#[component]
fn DefineOutcome(live: Live) -> impl IntoView {
    let define = ServerAction::<crate::api::live::DefineOutcome>::new();
    let error = Signal::derive(move || define.value().get().and_then(Result::err));
    let done = move || matches!(define.value().get(), Some(Ok(())));
    view! {
        <details class="define-outcome" data-testid="define-outcome">
            <summary>"Define an outcome"</summary>
            <p class="muted">"The agent starts working toward it; a grader checks each attempt against the rubric."</p>
            <ActionForm action=define attr:class="fields">
                <input type="hidden" name="session_id" value=live.session_id.get_value() />
                <label>"What the agent should produce" <input name="form[description]" data-testid="live-outcome-description" /></label>
                <label>"Rubric" <textarea name="form[rubric]" rows="3" data-testid="live-outcome-rubric"></textarea></label>
                <label>"…or the id of an uploaded file that holds it" <input name="form[rubric_file_id]" placeholder="file_…" /></label>
                <label>"Iterations at most (1 to 20; the API's default is 3)" <input name="form[max_iterations]" inputmode="numeric" /></label>
                <crate::components::feedback::InlineError error />
                <div class="actions">
                    <button type="submit" class="button" data-testid="live-outcome-send" disabled=move || define.pending().get()>
                        {move || if define.pending().get() { "Sending…" } else { "Start working on it" }}
                    </button>
                    <Show when=done><span class="muted" role="status">"Sent: the outcome panel follows it."</span></Show>
                </div>
            </ActionForm>
        </details>
    }
}

/// Which kinds of events the timeline shows.
#[component]
fn Filter(hidden: RwSignal<HashSet<Category>>) -> impl IntoView {
    view! {
        <fieldset class="filters live-filter">
            <legend>"Show"</legend>
            {Category::ALL.into_iter().map(|c| view! {
                <label class="check">
                    <input type="checkbox" checked=move || !hidden.read().contains(&c)
                        on:change=move |_| hidden.update(|h| if !h.remove(&c) { h.insert(c); }) />
                    {format!(" {} ", c.label())}
                </label>
            }).collect_view()}
        </fieldset>
    }
}

/// The session's timeline as a page opens it: the events the server sent with the page (its
/// first screen: around the linked event, or the newest) are shown at once, in a view of their
/// own, until the page's stream has brought the history up to the last of them; then the whole
/// timeline takes their place, opened at the same event. A long session so shows its first
/// screen as soon as the page is drawn, not once thousands of events have arrived. Views of
/// events that are not a session of the API (a share link's, an import's) open as they are.
#[component]
pub(super) fn OpeningTimeline(
    live: Live,
    hidden: RwSignal<HashSet<Category>>,
    cursor: RwSignal<Option<f64>>,
    focus: Signal<Option<String>>,
    /// The page's read of the first screen, started beside its read of the session
    /// ([`read_first_screen`]); read here when the page did not.
    #[prop(optional_no_strip)]
    screen: Option<FirstScreenRead>,
) -> impl IntoView {
    let opened_at = focus.get_untracked();
    let screen = match screen {
        Some(screen) => screen,
        // Events read from elsewhere come with the first screen their page read, or none.
        None if live.source.with_value(Option::is_some) => {
            return view! { <Timeline live hidden cursor focus /> }.into_any();
        }
        None => {
            let (session_id, at) = (live.session_id.get_value(), opened_at.clone());
            read_first_screen(move || session_id.clone(), move || at.clone(), crate::api::live::get_first_screen)
        }
    };
    view! {
        <Suspense fallback=move || view! { <Timeline live hidden cursor focus /> }>
            {move || {
                let opened_at = opened_at.clone();
                Suspend::new(async move {
                    let screen = screen.await.ok().flatten().filter(|s| !s.events.is_empty());
                    // The page may have gone while the screen was read (its session was deleted and
                    // the person taken to the list): its values are disposed, and nothing is drawn.
                    if focus.try_get_untracked().is_none() || live.version.try_get_untracked().is_none() {
                        return ().into_any();
                    }
                    let Some(screen) = screen else {
                        return view! { <Timeline live hidden cursor focus /> }.into_any();
                    };
                    let last = screen.events.last().map_or(0, |(seq, _)| *seq);
                    let first = Live::first_screen(live, &screen, opened_at.as_deref());
                    let caught_up = live.memo(move |m| m.last_seq >= last);
                    view! {
                        <Show when=move || caught_up.get()
                            fallback=move || view! { <Timeline live=first hidden cursor focus /> }>
                            <Timeline live hidden cursor focus />
                        </Show>
                    }.into_any()
                })
            }}
        </Suspense>
    }
    .into_any()
}

/// A page's read of its timeline's first screen.
pub type FirstScreenRead = Resource<Result<Option<crate::api::live::FirstScreen>, crate::error::AppError>>;

/// Starts reading, with `read`, the first screen of what `of` names (a session's id, a share
/// link's token, an import's id) around the event `event` names (a link's). A page starts it
/// beside its read of the session, so that a deep link waits for the slower of the two reads, not
/// for one and then the other. It is read again when `of` changes, with the event the page is
/// opened at then.
pub fn read_first_screen<F, Fut>(
    of: impl Fn() -> String + Send + Sync + 'static,
    event: impl Fn() -> Option<String> + Send + Sync + 'static,
    read: F,
) -> FirstScreenRead
where
    F: Fn(String, Option<String>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Option<crate::api::live::FirstScreen>, crate::error::AppError>>
        + Send
        + 'static,
{
    Resource::new(of, move |of| read(of, untrack(&event)))
}

/// The message box: send, interrupt, interrupt and send. What was typed stays until it is sent.
#[component]
fn Composer(live: Live) -> impl IntoView {
    let d = Draft::new(live);
    let (steer, text, files) = (d.steer, d.text, d.files);
    let error = Signal::derive(move || steer.value().get().and_then(Result::err));
    view! {
        <div class="optimistic-list">{move || d.optimistic()}</div>
        <form class="composer" on:submit=move |ev| { ev.prevent_default(); d.send(false); } aria-label="Message the agent">
            <label class="grow">"Message"
                <textarea rows="3" name="text" data-testid="composer-text" prop:value=move || text.get()
                    placeholder="Write to the agent. Ctrl+Enter sends."
                    on:input=move |ev| text.set(event_target_value(&ev))
                    on:keydown=move |ev| if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) { ev.prevent_default(); d.send(false); }></textarea>
            </label>
            <label>"Attach uploaded files (ids)"
                <input name="file_ids" placeholder="file_…, file_…" prop:value=move || files.get()
                    on:input=move |ev| files.set(event_target_value(&ev)) />
            </label>
            <ComposerActions d />
            <crate::components::feedback::InlineError error />
        </form>
    }
}

/// The composer's buttons: send, and while the session runs, what to interrupt, interrupt, and
/// interrupt and send.
#[component]
fn ComposerActions(d: Draft) -> impl IntoView {
    let (steer, text, target, threads) = (d.steer, d.text, d.target, d.threads);
    view! {
        <div class="actions">
            <button type="submit" class="button primary" disabled=move || steer.pending().get() data-testid="send">
                {move || if steer.pending().get() { "Sending…" } else { "Send" }}
            </button>
            <Show when=move || d.running()>
                <Show when=move || !threads.read().is_empty()>
                    <label class="inline">"Interrupt "
                        <select data-testid="interrupt-target" prop:value=move || target.get()
                            on:change=move |ev| target.set(event_target_value(&ev))>
                            <option value="">"every thread"</option>
                            <For each=move || threads.get() key=|(id, _)| id.clone() let:((id, name))>
                                <option value=id>{format!("only {name}'s thread")}</option>
                            </For>
                        </select>
                    </label>
                </Show>
                <button type="button" class="button danger" data-testid="interrupt" disabled=move || steer.pending().get()
                    on:click=move |_| d.interrupt()>"Interrupt"</button>
                <button type="button" class="button" data-testid="interrupt-send" disabled=move || steer.pending().get() || text.read().trim().is_empty()
                    on:click=move |_| d.send(true)>"Interrupt and send"</button>
            </Show>
        </div>
    }
}

/// What the composer's parts share: the message and files typed, what was sent and not yet
/// seen, the thread an interrupt stops, and the action that steers the session.
#[derive(Clone, Copy)]
struct Draft {
    live: Live,
    steer: ServerAction<Steer>,
    text: RwSignal<String>,
    files: RwSignal<String>,
    /// What was sent and not yet seen in the timeline: shown at once, marked as sending.
    sent: RwSignal<Vec<(Option<String>, String)>>,
    /// Whether the request on its way carries the box's message (an interrupt alone does not).
    carried_message: RwSignal<bool>,
    /// What an interrupt stops: every thread (empty), or one child thread running now.
    target: RwSignal<String>,
    threads: Memo<Vec<(String, String)>>,
}

impl Draft {
    fn new(live: Live) -> Self {
        let steer = ServerAction::<Steer>::new();
        let text = RwSignal::new(String::new());
        // The draft lives in the browser's storage too, so a reload or a sign-in that ended loses nothing.
        #[cfg(feature = "hydrate")]
        {
            let key = format!("switchboard.draft.{}", live.session_id.get_value());
            Effect::new(move |first: Option<()>| {
                if first.is_none() {
                    if let Some(saved) = stored_draft(&key, None) {
                        text.set(saved);
                    }
                } else {
                    stored_draft(&key, Some(&text.get()));
                }
                text.track();
            });
        }
        let d = Draft {
            live,
            steer,
            text,
            files: RwSignal::new(String::new()),
            sent: RwSignal::new(Vec::new()),
            carried_message: RwSignal::new(false),
            target: RwSignal::new(String::new()),
            threads: live.memo(move |m| m.running_threads()),
        };
        d.forget_stopped_target();
        d.clear_once_taken();
        d
    }

    /// The session runs (or is rescheduled): it can be interrupted.
    fn running(self) -> bool {
        self.live.version.track();
        self.live
            .model
            .with_value(|m| m.status.as_deref() == Some("running") || m.status.as_deref() == Some("rescheduling"))
    }

    /// An interrupt of a thread that stopped meanwhile stops every thread.
    fn forget_stopped_target(self) {
        Effect::new(move |_| {
            let chosen = self.target.get_untracked();
            if !chosen.is_empty() && !self.threads.read().iter().any(|(id, _)| *id == chosen) {
                self.target.set(String::new());
            }
        });
    }

    /// Sends what is in the box (and the files), interrupting the session first or not.
    fn send(self, interrupt: bool) {
        // One at a time: a second press while the first is on its way would send it twice.
        if self.steer.pending().get_untracked() {
            return;
        }
        let body = self.text.get_untracked();
        let file_ids: Vec<String> =
            self.files.get_untracked().split([',', ' ', '\n']).filter(|f| !f.is_empty()).map(str::to_owned).collect();
        if body.trim().is_empty() && file_ids.is_empty() && !interrupt {
            return;
        }
        if !body.trim().is_empty() {
            self.sent.update(|s| s.push((None, body.clone())));
        }
        self.carried_message.set(!body.trim().is_empty() || !file_ids.is_empty());
        // Interrupt-then-send redirects the whole session: every thread stops.
        self.steer.dispatch(Steer {
            session_id: self.live.session_id.get_value(),
            text: body,
            file_ids,
            interrupt,
            thread_id: None,
        });
    }

    /// Only the interrupt, of the thread chosen: what is typed stays in the box.
    fn interrupt(self) {
        if !self.steer.pending().get_untracked() {
            self.carried_message.set(false);
            let thread_id = Some(self.target.get_untracked()).filter(|t| !t.is_empty());
            self.steer.dispatch(Steer {
                session_id: self.live.session_id.get_value(),
                text: String::new(),
                file_ids: Vec::new(),
                interrupt: true,
                thread_id,
            });
        }
    }

    /// Clear the box only once the API took the message.
    fn clear_once_taken(self) {
        let Draft { steer, text, files, sent, carried_message, .. } = self;
        Effect::new(move |_| match steer.value().get() {
            Some(Ok(id)) => {
                if carried_message.get_untracked() {
                    text.set(String::new());
                    files.set(String::new());
                }
                sent.update(|s| {
                    if let Some(last) = s.iter_mut().rev().find(|(id, _)| id.is_none()) {
                        last.0 = id.or_else(|| Some(String::new()));
                    }
                });
            }
            Some(Err(_)) => sent.update(|s| s.retain(|(id, _)| id.is_some())),
            None => {}
        });
    }

    /// The messages sent and not yet in the timeline, marked as sending.
    fn optimistic(self) -> impl IntoView {
        self.live.version.track();
        let s = self.sent.get();
        self.live.model.with_value(|m| {
            s.into_iter()
                .filter(|(id, _)| id.as_deref().is_none_or(|id| !id.is_empty() && m.item(id).is_none()))
                .map(|(_, text)| view! { <div class="row user optimistic" data-testid="optimistic"><span class="who">"You"</span><div class="text">{text}</div><span class="muted">" sending…"</span></div> })
                .collect_view()
        })
    }
}

/// Reads the saved draft of `key` (`value` None), or saves `value` (an empty one is removed).
#[cfg(feature = "hydrate")]
fn stored_draft(key: &str, value: Option<&str>) -> Option<String> {
    let storage = web_sys::window()?.local_storage().ok()??;
    match value {
        None => storage.get_item(key).ok()?.filter(|v| !v.is_empty()),
        Some("") => storage.remove_item(key).ok().map(|_| String::new()),
        Some(v) => storage.set_item(key, v).ok().map(|_| v.to_owned()),
    }
}
