//! Inbox: every tool call, across all sessions, that waits for a person; oldest first, grouped
//! by session, with the same cards as the live session view. The server renders the list it
//! knows; the tab's inbox stream keeps it current.

use std::sync::Arc;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    api::inbox::{InboxList, PendingCall, Urgency, list_inbox},
    auth::Role,
    components::{
        feedback::{Empty, Failure, Loading},
        inbox::{FeedLink, InboxFeed, notifications::Choice},
    },
    live::{PendingCalls, model::duration},
};

#[component]
pub fn Inbox() -> impl IntoView {
    let feed = use_context::<InboxFeed>().expect("App provides the inbox feed");
    let first = Resource::new(|| (), |_| list_inbox());
    let may_decide = crate::me::can(Role::Approver);

    view! {
        <Title text="Inbox" />
        <header class="page-header">
            <h1>"Inbox"</h1>
            <p class="lede">"Every tool call waiting for a person, across all sessions, longest waiting first."</p>
            <crate::live::FormOutcomeNotice />
        </header>
        <Show when=move || may_decide.get()>
            <NotificationChoice />
            <EmailChoiceForm />
        </Show>
        <Transition fallback=|| view! { <Loading what="the calls that wait" /> }>
            {move || Suspend::new(async move {
                // Known before the cards are drawn, so that the server's HTML has them (and their
                // forms, which decide before the page is hydrated).
                let approver = match use_context::<crate::me::Me>() {
                    Some(me) => me.0.await.ok().flatten().is_some_and(|p| p.can(Role::Approver)),
                    None => false,
                };
                let may_decide = Signal::derive(move || approver || may_decide.get());
                match first.await {
                    // The stream may still bring the list; until it does, say why there is none.
                    Err(error) if feed.list.read_untracked().is_none() => view! { <Failure error /> }.into_any(),
                    first => {
                        let seed = first.ok();
                        let list = Memo::new(move |_| feed.list.get().or_else(|| seed.clone()));
                        view! { <Calls list=list.into() may_decide feed /> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// The list, kept by session so that a card being filled in survives other calls coming and going.
#[component]
fn Calls(list: Signal<Option<InboxList>>, may_decide: Signal<bool>, feed: InboxFeed) -> impl IntoView {
    let now = crate::components::clock::ticking();
    let sessions = Memo::new(move |_| {
        list.with(|l| l.as_ref().map(|l| l.by_session().into_iter().map(|(id, _)| id).collect::<Vec<_>>()))
            .unwrap_or_default()
    });
    let state = Memo::new(move |_| {
        list.with(|l| match l {
            None => (false, 0, 2000, None, false),
            Some(l) => (l.ready, l.calls.len(), l.poll_ms, l.problem.clone(), l.webhooks),
        })
    });
    view! {
        <p class="muted" data-testid="inbox-state" aria-live="polite">
            {move || {
                let (ready, count, poll_ms, _, webhooks) = state.get();
                let every = duration(poll_ms as f64);
                let link = match feed.link.get() {
                    FeedLink::Lost => " The connection to Switchboard dropped; reconnecting…",
                    FeedLink::Closed => " This page no longer gets updates (your sign-in may have ended); reload it.",
                    FeedLink::Open => "",
                };
                if !ready {
                    format!("Looking for calls that wait…{link}")
                } else {
                    let calls = if count == 1 { "1 call waits".to_owned() } else { format!("{count} calls wait") };
                    if webhooks {
                        format!("{calls}. Webhooks bring new calls at once; sessions are also checked every {every}.{link}")
                    } else {
                        format!("{calls}. Sessions are checked every {every}.{link}")
                    }
                }
            }}
        </p>
        {move || state.get().3.map(|problem| view! { <p class="inline-error" role="alert" data-testid="inbox-problem">{problem}" What was known before is still listed."</p> })}
        <Show when=move || state.with(|(ready, count, _, _, _)| *ready && *count == 0)>
            <Empty title="Nothing waits for a decision" attr:data-testid="inbox-empty">
                <p>"When an agent asks to run a tool that needs approval, or calls one of your custom tools, the call shows up here within seconds."</p>
                <p><A href="/sessions">"See the sessions"</A></p>
            </Empty>
        </Show>
        <For each=move || sessions.get() key=|id| id.clone() let:session_id>
            <SessionCalls session_id list may_decide now />
        </For>
    }
}

/// One session's calls: what they are, how long they have waited, and (for approvers) the cards.
#[component]
fn SessionCalls(
    session_id: String,
    list: Signal<Option<InboxList>>,
    may_decide: Signal<bool>,
    now: RwSignal<Option<f64>>,
) -> impl IntoView {
    let sid = session_id.clone();
    let calls = Memo::new(move |_| {
        list.with(|l| l.as_ref().map(|l| l.calls.iter().filter(|c| c.session_id == sid).cloned().collect::<Vec<_>>()))
            .unwrap_or_default()
    });
    let events = Memo::new(move |_| calls.with(|c| c.iter().map(|c| Arc::new(c.event.clone())).collect::<Vec<_>>()));
    // The agents of the child threads whose calls wait, for their cards.
    let threads = Memo::new(move |_| {
        calls.with(|c| {
            c.iter()
                .filter_map(|call| {
                    let thread = call.event.get("session_thread_id")?.as_str()?;
                    Some((thread.to_owned(), call.thread_agent.clone()?))
                })
                .collect::<Vec<_>>()
        })
    });
    let head = move || calls.with(|c| c.first().map(|c| (c.session_label().to_owned(), c.agent_name.clone())));
    let href = format!("/sessions/{session_id}");
    let for_cards = session_id.clone();
    view! {
        <section class="panel inbox-session" data-testid="inbox-session" data-session=session_id.clone()>
            <header class="inbox-head">
                <h2><A href=href>{move || head().map(|(label, _)| label).unwrap_or_default()}</A></h2>
                <span class="muted">{move || head().and_then(|(_, agent)| agent).map(|a| format!("Agent: {a}"))}</span>
            </header>
            <ul class="inbox-calls">
                <For each=move || calls.get() key=|c| c.event_id().to_owned() let:call>
                    <CallLine call list now />
                </For>
            </ul>
            <Show when=move || may_decide.get()>
                <PendingCalls session_id=for_cards.clone() calls=events heading="Decide" threads />
            </Show>
        </section>
    }
}

/// A call in one line: its tool, its input, and how long it has waited (amber, then red, past the
/// thresholds).
#[component]
fn CallLine(call: PendingCall, list: Signal<Option<InboxList>>, now: RwSignal<Option<f64>>) -> impl IntoView {
    let asked = call.asked_at_ms();
    let asked_text = call.event.get("processed_at").and_then(|v| v.as_str()).map(crate::format::timestamp);
    let waiting = move || match (now.get(), asked) {
        (Some(now), Some(at)) => {
            let ms = (now - at).max(0.0);
            let urgency = list.with(|l| l.as_ref().map_or(Urgency::Fresh, |l| l.urgency(ms)));
            let warning = if urgency == Urgency::Fresh { "" } else { "⚠ " };
            view! { <span class=urgency.class() data-testid="waiting">{format!("{warning}waiting {}", duration(ms))}</span> }
                .into_any()
        }
        _ => view! { <span class="waiting">{asked_text.clone().map(|t| format!("asked {t}"))}</span> }.into_any(),
    };
    // Read from the list as it is now: a deadline set after the call was first listed comes with
    // a later list, and this line is not drawn again for it.
    let id = call.event_id().to_owned();
    let deadline_ms =
        move || list.with(|l| l.as_ref().and_then(|l| l.calls.iter().find(|c| c.event_id() == id)?.deadline_ms));
    let deadline = move || {
        deadline_ms().map(|at| {
            view! { " " <span class="deadline" data-testid="deadline">{crate::api::policies::deadline_words(at, now.get())}</span> }
        })
    };
    let kind = if call.is_custom() { "custom tool" } else { "approval" };
    // An MCP server's tool is named with its server.
    let server = call.event.get("mcp_server_name").and_then(|v| v.as_str()).map(|s| format!(" on MCP server {s}"));
    view! {
        <li class="inbox-call" data-testid="inbox-call" data-event=call.event_id().to_owned() data-tool=call.tool().to_owned()>
            <strong>{call.tool().to_owned()}</strong>{server}
            " " <span class="badge">{kind}</span>
            " " <code class="summary">{call.summary()}</code>
            " " {waiting}
            {deadline}
        </li>
    }
}

/// Turns browser notifications of new calls on or off (approvers).
#[component]
fn NotificationChoice() -> impl IntoView {
    // Unknown on the server: only the browser knows its permission.
    let choice = RwSignal::new(None::<Choice>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| choice.set(Some(crate::components::inbox::notifications::choice())));
    let turn_on = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            choice.set(Some(crate::components::inbox::notifications::turn_on().await));
        });
    };
    let turn_off = move |_| {
        #[cfg(feature = "hydrate")]
        choice.set(Some(crate::components::inbox::notifications::turn_off()));
    };
    view! {
        <p class="notify" data-testid="notify">
            {move || match choice.get() {
                None => ().into_any(),
                Some(Choice::Unsupported) => view! { <span class="muted">"This browser cannot show notifications of new calls."</span> }.into_any(),
                Some(Choice::Blocked) => view! { <span class="muted">"Notifications are blocked for this site; allow them in the browser's site settings to be told of new calls."</span> }.into_any(),
                Some(Choice::On) => view! {
                    <span>"You get a browser notification for each new call while Switchboard is open. "</span>
                    <button type="button" class="button" on:click=turn_off>"Turn notifications off"</button>
                }.into_any(),
                Some(Choice::Off) => view! {
                    <button type="button" class="button" data-testid="notify-on" on:click=turn_on>"Notify me of new calls"</button>
                }.into_any(),
            }}
        </p>
    }
}

/// Email of waiting calls (approvers): one message per batch of calls, each with a link to its
/// card; off unless this person gives an address.
#[component]
fn EmailChoiceForm() -> impl IntoView {
    use crate::api::notify::{SetEmailChoice, get_email_choice};
    let set = ServerAction::<SetEmailChoice>::new();
    let choice = Resource::new(move || set.version().get(), |_| get_email_choice());
    let draft = RwSignal::new(String::new());
    let submit = move |stop: bool| {
        let address = if stop { String::new() } else { draft.get_untracked() };
        set.dispatch(SetEmailChoice { address });
    };
    let error = move || set.value().get().and_then(Result::err).map(|e| e.to_string());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match choice.await {
                    Err(error) => view! { <p class="inline-error" data-testid="email-choice">{error.to_string()}</p> }.into_any(),
                    Ok(choice) if !choice.available => view! {
                        <p class="muted" data-testid="email-choice" data-state="unavailable">
                            "Email of waiting calls is off on this Switchboard: its administrator sets a mail server (SWITCHBOARD_SMTP_URL)."
                        </p>
                    }.into_any(),
                    Ok(choice) => match choice.address {
                        Some(address) => view! {
                            <p class="notify" data-testid="email-choice" data-state="on">
                                <span>{format!("Waiting calls are emailed to {address}, a message per batch. ")}</span>
                                <button type="button" class="button" data-testid="email-stop" disabled=move || set.pending().get()
                                    on:click=move |_| submit(true)>"Stop the emails"</button>
                            </p>
                        }.into_any(),
                        None => view! {
                            <form class="inline-form notify" data-testid="email-choice" data-state="off"
                                on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); submit(false); }>
                                <label>"Email me when calls wait "
                                    <input type="email" name="address" data-testid="email-address" autocomplete="email" placeholder="name@example.com"
                                        prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev)) />
                                </label>
                                <button type="submit" class="button" data-testid="email-save" disabled=move || set.pending().get()>"Email me"</button>
                            </form>
                        }.into_any(),
                    },
                }
            })}
        </Transition>
        {move || error().map(|text| view! { <p class="inline-error" role="alert" data-testid="email-error">{text}</p> })}
    }
}
