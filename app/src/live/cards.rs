//! Cards for the calls a session waits on: approvals of tool calls (tool-aware, one by one or
//! all at once) and result forms for custom tools. The live session view and the inbox both show
//! them; a card leaves once the decision's echo arrives (the session's stream, or the inbox's).

use std::{collections::HashSet, sync::Arc};

use leptos::prelude::*;
use serde_json::Value;

use crate::{
    api::{
        inbox::{call_id, is_custom_call, tool_name},
        live::{AnswerCustomTool, Decide, Decided, Verdict},
        rules::{CreateRule, NewRule},
    },
    decisions::FormOutcome,
    rules::{DURATIONS, Pattern, describe, suggestion, takes_pattern},
};

/// The cards of the calls `session_id` waits on: `calls` are their tool-use events, oldest first.
/// `heading` names the list ("Waiting for you: 2 calls" when `None`). A call of a child thread
/// names its thread's agent from `threads` (thread id → agent name) when known.
#[component]
pub fn PendingCalls(
    #[prop(into)] session_id: String,
    #[prop(into)] calls: Signal<Vec<Arc<Value>>>,
    #[prop(optional, into)] heading: Option<String>,
    #[prop(optional, into)] threads: Option<Signal<Vec<(String, String)>>>,
) -> impl IntoView {
    let p = Pending::new(session_id, calls, threads);
    let heading_id = StoredValue::new(format!("waiting-{}", p.session_id.get_value()));
    let heading = StoredValue::new(heading.unwrap_or_else(|| "Waiting for you".to_owned()));
    view! {
        <Show when=move || !p.pending.read().is_empty()>
            <section class="cards" aria-labelledby=heading_id.get_value() data-testid="pending">
                <h3 id=heading_id.get_value()>{move || {
                    let n = p.pending.read().len();
                    format!("{}: {n} call{}", heading.read_value(), if n == 1 { "" } else { "s" })
                }}</h3>
                <DecideSelected p />
                <DecideAll p />
                <For each=move || p.pending.get() key=|(id, _, _)| id.clone() let:((id, custom, event))>
                    {p.card(id, custom, event)}
                </For>
            </section>
        </Show>
        {move || p.outcome().map(|text| view! { <p class="inline-error" role="alert" data-testid="decision-outcome">{text}</p> })}
        {move || approvals_recorded(p.decide)}
        {move || rule_made(p.rule)}
    }
}

/// What the pending calls' parts share: the session, its calls, the actions that answer them,
/// the calls ticked, and what the session's approval policy says of each.
#[derive(Clone, Copy)]
struct Pending {
    session_id: StoredValue<String>,
    decide: ServerAction<Decide>,
    answer: ServerAction<AnswerCustomTool>,
    rule: ServerAction<CreateRule>,
    /// Each call: its event id, whether it is a custom tool's, and its event.
    pending: Memo<Vec<(String, bool, Arc<Value>)>>,
    threads: Option<Signal<Vec<(String, String)>>>,
    /// The calls ticked on their cards ("Allow 3 selected"): a tap each, no swiping.
    selected: RwSignal<HashSet<String>>,
    /// What the session's approval policy says of each call (read in the browser, again after
    /// each decision made here; another person's approval shows on the next read).
    policy: RwSignal<crate::api::policies::ApprovalState>,
    me: Option<crate::me::Me>,
    /// The browser's clock, for a deadline's time left.
    now: RwSignal<Option<f64>>,
}

impl Pending {
    fn new(session_id: String, calls: Signal<Vec<Arc<Value>>>, threads: Option<Signal<Vec<(String, String)>>>) -> Self {
        let decide = ServerAction::<Decide>::new();
        let answer = ServerAction::<AnswerCustomTool>::new();
        let rule = ServerAction::<CreateRule>::new();
        // A rule made here shows in the lists of rules on the page.
        let changed = crate::actions::RulesChanged::get();
        Effect::new(move |_| {
            if let (Some(Ok(_)), Some(changed)) = (rule.value().get(), changed) {
                changed.bump();
            }
        });
        // A call this page's plain form just settled (`?decision=…&decided=…`) has left, though
        // the list the page was drawn from may be a moment older than the decision.
        let settled = form_outcome();
        let pending = Memo::new(move |_| {
            let settled = settled.get().filter(|(outcome, _)| outcome.settles()).map(|(_, id)| id);
            calls
                .read()
                .iter()
                .filter(|event| settled.as_deref() != Some(call_id(event)))
                .map(|event| (call_id(event).to_owned(), is_custom_call(event), event.clone()))
                .collect::<Vec<_>>()
        });
        let session_id = StoredValue::new(session_id);
        let (selected, policy) = (RwSignal::new(HashSet::new()), RwSignal::new(Default::default()));
        let me = use_context::<crate::me::Me>();
        let now = crate::components::clock::ticking();
        let p = Pending { session_id, decide, answer, rule, pending, threads, selected, policy, me, now };
        p.read_policy();
        p
    }

    /// The child thread a call was made in, in words.
    fn thread_of(self, event: &Value) -> Option<String> {
        let thread = event.get("session_thread_id").and_then(Value::as_str)?;
        let name =
            self.threads.and_then(|t| t.read().iter().find(|(id, _)| id == thread).map(|(_, name)| name.clone()));
        Some(name.map_or_else(|| "in a subagent's thread".to_owned(), |name| format!("in {name}'s thread")))
    }

    /// The calls that ask for an approval (not custom tools'), by event id.
    fn approvals(self) -> Vec<String> {
        self.pending.read().iter().filter(|(_, custom, _)| !custom).map(|(id, _, _)| id.clone()).collect::<Vec<_>>()
    }

    /// The calls ticked. A call that was decided meanwhile drops out of the count.
    fn chosen(self) -> Vec<String> {
        self.selected.with(|s| self.approvals().into_iter().filter(|id| s.contains(id)).collect::<Vec<_>>())
    }

    fn send_all(self, event_ids: Vec<String>, allow: bool) {
        let verdicts = event_ids
            .into_iter()
            .map(|event_id| Verdict { event_id, allow, deny_message: None, reason: None })
            .collect();
        self.decide.dispatch(Decide { session_id: self.session_id.get_value(), verdicts, link: None });
        self.selected.set(HashSet::new());
    }

    /// Reads the session's approval policy while calls wait, and again after each decision.
    fn read_policy(self) {
        Effect::new(move |_| {
            let waiting = self.approvals();
            self.decide.version().track();
            if waiting.is_empty() {
                return;
            }
            let session = self.session_id.get_value();
            leptos::task::spawn_local(async move {
                if let Ok(state) = crate::api::policies::session_approvals(session).await {
                    self.policy.set(state);
                }
            });
        });
    }

    /// What the policy says of the call `event`: who may decide it, and its deadline's time left.
    fn policy_lines(self, event: &Value) -> Vec<String> {
        // Who "you" are is read only once a policy applies (after hydration, never on the server).
        let Some(policy) = self.policy.with(|p| p.policy.clone()) else {
            return Vec::new();
        };
        let me = self.me.and_then(|m| m.principal()).map(|p| p.username);
        let mut lines = self.policy.with(|p| p.lines(call_id(event), me.as_deref()));
        // The session's own policy: found by its key, `*` or the agent's.
        let agent = Some(policy.agent_id.as_str());
        if let Some(at) = crate::api::policies::deadline_ms(std::slice::from_ref(&policy), agent, event) {
            lines.push(crate::api::policies::deadline_words(at, self.now.get()));
        }
        lines
    }

    /// A decision or answer that could not be made: somebody was first, or it failed.
    fn outcome(self) -> Option<String> {
        let taken = |d: Option<Result<Decided, crate::error::AppError>>| match d {
            Some(Ok(d)) if !d.taken.is_empty() => Some(
                d.taken
                    .iter()
                    .map(|t| format!("Somebody was first: this call was already {}.", t.in_words()))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Some(Err(e)) => Some(e.to_string()),
            _ => None,
        };
        taken(self.decide.value().get()).or_else(|| taken(self.answer.value().get()))
    }

    /// The card of one call: a custom tool's result form, or an approval.
    fn card(self, id: String, custom: bool, event: Arc<Value>) -> AnyView {
        let Pending { session_id, decide, answer, rule, selected, .. } = self;
        // Read again as the page's stream brings the thread's name (a card the server drew from
        // its first screen knows only that the call is a subagent's).
        let thread = Signal::derive({
            let event = event.clone();
            move || self.thread_of(&event)
        });
        let lines = Signal::derive({
            let event = event.clone();
            move || self.policy_lines(&event)
        });
        if custom {
            view! { <CustomToolCard session_id id event answer thread /> }.into_any()
        } else {
            view! { <ApprovalCard session_id id event decide rule thread selected lines /> }.into_any()
        }
    }
}

/// "Allow 3 selected", "Deny 3 selected", while calls are ticked.
#[component]
fn DecideSelected(p: Pending) -> impl IntoView {
    let decide = p.decide;
    view! {
        <Show when=move || !p.chosen().is_empty()>
            <div class="actions selection" data-testid="selection">
                <button type="button" class="button primary" data-testid="allow-selected" disabled=move || decide.pending().get()
                    on:click=move |_| p.send_all(p.chosen(), true)>{move || format!("Allow {} selected", p.chosen().len())}</button>
                <button type="button" class="button danger" data-testid="deny-selected" disabled=move || decide.pending().get()
                    on:click=move |_| p.send_all(p.chosen(), false)>{move || format!("Deny {} selected", p.chosen().len())}</button>
                <button type="button" class="button" on:click=move |_| p.selected.set(HashSet::new())>"Clear the selection"</button>
            </div>
        </Show>
    }
}

/// "Allow all 3", "Deny all 3", when several calls wait and none is ticked.
#[component]
fn DecideAll(p: Pending) -> impl IntoView {
    let decide = p.decide;
    view! {
        <Show when=move || { p.approvals().len() > 1 && p.chosen().is_empty() }>
            <div class="actions">
                <button type="button" class="button primary" data-testid="allow-all" disabled=move || decide.pending().get()
                    on:click=move |_| p.send_all(p.approvals(), true)>{move || format!("Allow all {}", p.approvals().len())}</button>
                <button type="button" class="button danger" data-testid="deny-all" disabled=move || decide.pending().get()
                    on:click=move |_| p.send_all(p.approvals(), false)>{move || format!("Deny all {}", p.approvals().len())}</button>
            </div>
        </Show>
    }
}

/// Approvals recorded that wait for more people's, after a decision made here.
fn approvals_recorded(decide: ServerAction<Decide>) -> Option<impl IntoView> {
    decide.value().get().and_then(Result::ok).filter(|d| !d.waiting.is_empty()).map(|d| {
        view! {
            <p class="notice" role="status" data-testid="approval-recorded">
                {d.waiting.iter().map(|w| w.in_words()).collect::<Vec<_>>().join(" ")}
            </p>
        }
    })
}

/// The rule just made on a card, what it allows and until when, or why it was not made.
fn rule_made(rule: ServerAction<CreateRule>) -> Option<AnyView> {
    rule.value().get().map(|made| match made {
        Ok(made) => view! {
            <p class="notice" role="status" data-testid="rule-made">
                {format!("Rule {} allows {} {} until ", made.id, made.in_words(), match made.scope {
                    crate::rules::Scope::Session => "in this session",
                    crate::rules::Scope::Agent => "in every session of this agent",
                })}
                <crate::components::clock::LocalTime at=made.expires_at.clone() />
                ". Switchboard answers matching calls itself; "<a href="/rules">"revoke it on the Rules page"</a>"."
                {made.tool_policy_words().map(|words| view! { " " <span data-testid="rule-tool-policy">{words}</span> })}
            </p>
        }.into_any(),
        Err(error) => view! { <p class="inline-error" role="alert" data-testid="rule-error">{error.to_string()}</p> }.into_any(),
    })
}

/// One tool call waiting for an approval: what it does, what the policy says of it, and the
/// ways to answer it (allow, deny, deny with a message, a rule that allows it from now on).
#[component]
fn ApprovalCard(
    session_id: StoredValue<String>,
    id: String,
    event: Arc<Value>,
    decide: ServerAction<Decide>,
    rule: ServerAction<CreateRule>,
    /// The child thread the call was made in, in words.
    thread: Signal<Option<String>>,
    /// The calls ticked for "Allow N selected".
    selected: RwSignal<HashSet<String>>,
    /// What the session's approval policy says of this call.
    lines: Signal<Vec<String>>,
) -> impl IntoView {
    let name = tool_name(&event).to_owned();
    let rule_form = RwSignal::new(false);
    let input = event.get("input").cloned().unwrap_or(Value::Null);
    let rule_call = StoredValue::new((name.clone(), input.clone()));
    let raw = serde_json::to_string_pretty(&input).unwrap_or_default();
    let message = RwSignal::new(String::new());
    let event_id = StoredValue::new(id.clone());
    let link = StoredValue::new(link_token(&id));
    // A denial's message, or an Allow's reason.
    let send = move |allow: bool, text: Option<String>| {
        let (deny_message, reason) = if allow { (None, text) } else { (text, None) };
        decide.dispatch(Decide {
            session_id: session_id.get_value(),
            verdicts: vec![Verdict { event_id: event_id.get_value(), allow, deny_message, reason }],
            link: link.get_value(),
        });
    };
    // Before the page is hydrated (or with JavaScript off) the buttons post their form; after,
    // a press is taken here and the form is not posted.
    let press = move |ev: leptos::ev::MouseEvent, allow: bool| {
        ev.prevent_default();
        send(allow, None);
    };
    let fields = FormFields {
        session_id: session_id.get_value(),
        event_id: id.clone(),
        back: here_for_forms(),
        link: link.get_value(),
    };
    view! {
        <article class="card approval" data-testid="approval-card" data-tool=name.clone() data-event=id.clone()>
            <ApprovalHead name=name.clone() id=id.clone() event thread selected />
            {tool_view(&name, &input)}
            <details><summary>"Raw input"</summary><pre class="json">{raw}</pre></details>
            <Show when=move || !lines.read().is_empty()>
                <ul class="policy-lines" data-testid="card-policy">
                    {move || lines.get().into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}
                </ul>
            </Show>
            <form class="actions" method="post" action=DECIDE_FORM data-testid="decide-form">
                {fields.hidden()}
                <button type="submit" name="verdict" value="allow" class="button primary" data-testid="allow"
                    disabled=move || decide.pending().get() on:click=move |ev| press(ev, true)>"Allow"</button>
                <button type="submit" name="verdict" value="deny" class="button danger" data-testid="deny"
                    disabled=move || decide.pending().get() on:click=move |ev| press(ev, false)>"Deny"</button>
                <button type="button" class="button" data-testid="always-allow" aria-expanded=move || rule_form.get().to_string()
                    on:click=move |_| rule_form.update(|w| *w = !*w)>"Always allow…"</button>
            </form>
            <details class="deny-reason">
                <summary class="button" data-testid="deny-with-message">"Deny and tell the agent why…"</summary>
                <DenyWithMessage decide message send fields=fields.clone() />
            </details>
            <details class="allow-reason">
                <summary class="button" data-testid="allow-with-reason">"Allow and say why…"</summary>
                <AllowWithReason decide send fields />
            </details>
            <Show when=move || rule_form.get()>
                <RuleForm session_id tool=rule_call.with_value(|c| c.0.clone()) input=rule_call.with_value(|c| c.1.clone()) rule />
            </Show>
        </article>
    }
}

/// An approval card's head: the box that ticks it, the tool, where it runs, its thread, and why
/// the policy asks.
#[component]
fn ApprovalHead(
    name: String,
    id: String,
    event: Arc<Value>,
    thread: Signal<Option<String>>,
    selected: RwSignal<HashSet<String>>,
) -> impl IntoView {
    let ticked = {
        let id = id.clone();
        move || selected.with(|s| s.contains(&id))
    };
    let tick = move |on: bool| {
        selected.update(|s| {
            if on {
                s.insert(id.clone());
            } else {
                s.remove(&id);
            }
        })
    };
    let server = event.get("mcp_server_name").and_then(Value::as_str).map(|s| format!(" (MCP server {s})"));
    let reason = event
        .pointer("/evaluation/evaluated_permission/reason_code")
        .and_then(Value::as_str)
        .map(|r| r.replace('_', " "));
    view! {
        <header>
            <label class="check select" title="Select this call, to decide several at once">
                <input type="checkbox" data-testid="select" aria-label=format!("Select this {name} call")
                    prop:checked=ticked on:change=move |ev| tick(event_target_checked(&ev)) />
            </label>
            <strong>{format!("Allow {name}?")}</strong>{server}
            {move || thread.get().map(|t| view! { " " <span class="badge thread" data-testid="card-thread">{t}</span> })}
            {reason.map(|r| view! { " " <span class="badge risk" title="Why the auto policy asks">{r}</span> })}
        </header>
    }
}

/// "Deny and tell the agent why…": the message, and the button that sends the denial with it.
/// A plain form too (the message is required there, so an empty one is never posted).
#[component]
fn DenyWithMessage(
    decide: ServerAction<Decide>,
    message: RwSignal<String>,
    send: impl Fn(bool, Option<String>) + Copy + Send + Sync + 'static,
    fields: FormFields,
) -> impl IntoView {
    view! {
        <form class="deny-message" method="post" action=DECIDE_FORM on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let text = message.get_untracked();
            if !text.trim().is_empty() {
                send(false, Some(text));
            }
        }>
            {fields.hidden()}
            <input type="hidden" name="verdict" value="deny" />
            <label>"Message to the agent"
                <textarea rows="2" name="deny_message" required maxlength=crate::api::live::MAX_TEXT.to_string()
                    data-testid="deny-message" prop:value=move || message.get()
                    on:input=move |ev| message.set(event_target_value(&ev))></textarea>
            </label>
            <button type="submit" class="button danger" data-testid="deny-send" disabled=move || decide.pending().get()>"Deny with this message"</button>
        </form>
    }
}

/// "Allow and say why…": a reason the audit log keeps beside the decision (the agent is not told:
/// the API's `allow` carries no message). A plain form too.
#[component]
fn AllowWithReason(
    decide: ServerAction<Decide>,
    send: impl Fn(bool, Option<String>) + Copy + Send + Sync + 'static,
    fields: FormFields,
) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    view! {
        <form class="deny-message" method="post" action=DECIDE_FORM on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let text = reason.get_untracked();
            if !text.trim().is_empty() {
                send(true, Some(text));
            }
        }>
            {fields.hidden()}
            <input type="hidden" name="verdict" value="allow" />
            <label>"Why (kept in the audit log; the agent is not told)"
                <textarea rows="2" name="reason" required maxlength=crate::decisions::MAX_REASON.to_string()
                    data-testid="allow-reason" prop:value=move || reason.get()
                    on:input=move |ev| reason.set(event_target_value(&ev))></textarea>
            </label>
            <button type="submit" class="button primary" data-testid="allow-send" disabled=move || decide.pending().get()>"Allow with this reason"</button>
        </form>
    }
}

/// Where a card's plain forms post ([`crate::api::live::decide_form`]).
const DECIDE_FORM: &str = "/api/sessions/decide_form";

/// What a card's plain forms post beside the verdict: the call, the page to come back to, and
/// the token of the notification's link that opened the page for this call.
#[derive(Clone)]
struct FormFields {
    session_id: String,
    event_id: String,
    back: String,
    link: Option<String>,
}

impl FormFields {
    fn hidden(&self) -> impl IntoView + use<> {
        let FormFields { session_id, event_id, back, link } = self.clone();
        view! {
            <input type="hidden" name="session_id" value=session_id />
            <input type="hidden" name="event_id" value=event_id />
            <input type="hidden" name="back" value=back />
            {link.map(|t| view! { <input type="hidden" name="t" value=t /> })}
        }
    }
}

/// The token of the notification's link this page was opened by (`?event={event_id}&t=…`), when
/// it names this call: a decision on the call carries it, and spends it.
fn link_token(event_id: &str) -> Option<String> {
    let query = leptos_router::hooks::use_query_map();
    let q = query.read_untracked();
    q.get("t").filter(|t| !t.is_empty() && q.get("event").as_deref() == Some(event_id))
}

/// This page's address for a form to come back to: without an earlier form's outcome, and
/// without a notification link's single-use token (the call is decided by then).
fn here_for_forms() -> String {
    let here = leptos_router::hooks::use_location();
    let (path, search) = (here.pathname.get_untracked(), here.search.get_untracked());
    let kept: Vec<&str> = search
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty() && !["decision=", "decided=", "t="].iter().any(|k| p.starts_with(k)))
        .collect();
    if kept.is_empty() { path } else { format!("{path}?{}", kept.join("&")) }
}

/// What this page's address says a card's plain form came to (`?decision=…&decided=…`).
fn form_outcome() -> Memo<Option<(FormOutcome, String)>> {
    let query = leptos_router::hooks::use_query_map();
    Memo::new(move |_| {
        let q = query.read();
        Some((FormOutcome::parse(&q.get("decision")?)?, q.get("decided").unwrap_or_default()))
    })
}

/// What a card's plain form came to, said once at the top of the page it came back to.
#[component]
pub fn FormOutcomeNotice() -> impl IntoView {
    let outcome = form_outcome();
    move || {
        outcome.get().map(|(outcome, _)| {
            if outcome.is_error() {
                view! { <p class="inline-error" role="alert" data-testid="form-outcome">{outcome.in_words()}</p> }
                    .into_any()
            } else {
                view! { <p class="notice" role="status" data-testid="form-outcome">{outcome.in_words()}</p> }.into_any()
            }
        })
    }
}

/// "Always allow…" on a card: a rule for this tool, a pattern shown literally (checked against
/// this call as it is typed), this session or this agent, for how long.
#[component]
fn RuleForm(
    session_id: StoredValue<String>,
    tool: String,
    input: Value,
    rule: ServerAction<CreateRule>,
) -> impl IntoView {
    let pattern = RwSignal::new(suggestion(&tool, &input));
    let scope = RwSignal::new("session".to_owned());
    let minutes = RwSignal::new(60u32);
    let tool = StoredValue::new(tool);
    let input = StoredValue::new(input);
    // Whether the pattern parses, what it allows, and whether this call is among it.
    let reading = Memo::new(move |_| {
        let (tool, text) = (tool.get_value(), pattern.get());
        Pattern::parse(&tool, &text).map(|p| (describe(&tool, &text), input.with_value(|i| p.matches(i))))
    });
    let takes_pattern = tool.with_value(|t| takes_pattern(t));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        rule.dispatch(CreateRule {
            rule: NewRule {
                session_id: session_id.get_value(),
                tool: tool.get_value(),
                pattern: pattern.get_untracked(),
                scope: scope.get_untracked(),
                minutes: minutes.get_untracked(),
            },
        });
    };
    let hint = if tool.with_value(|t| t == "bash") {
        "The first words of a plain command: no quotes, operators, redirections or variables. A command with any of those never matches."
    } else if takes_pattern {
        "A folder or file: this path and what is under it (no ..)."
    } else {
        "This tool's calls can only be allowed all together."
    };
    view! {
        <form class="rule-form" data-testid="rule-form" on:submit=submit>
            <p class="muted">"Switchboard then allows matching calls itself and records each as this rule's decision; you can revoke the rule at any time."</p>
            <label>{format!("{} calls matching", tool.get_value())}
                <input type="text" data-testid="rule-pattern" disabled=!takes_pattern prop:value=move || pattern.get()
                    on:input=move |ev| pattern.set(event_target_value(&ev)) />
            </label>
            <p class="hint">{hint}</p>
            <p data-testid="rule-reading" aria-live="polite">{move || match reading.get() {
                Ok((words, true)) => format!("Allows {words}, this call included."),
                Ok((words, false)) => format!("Allows {words}; not this call."),
                Err(problem) => problem.to_string(),
            }}</p>
            <fieldset class="choices">
                <legend>"Where"</legend>
                <label class="check"><input type="radio" name="rule-scope" value="session" prop:checked=move || scope.get() == "session"
                    on:change=move |_| scope.set("session".to_owned()) />" This session"</label>
                <label class="check"><input type="radio" name="rule-scope" value="agent" prop:checked=move || scope.get() == "agent"
                    on:change=move |_| scope.set("agent".to_owned()) />" Every session of this agent"</label>
            </fieldset>
            <label>"For"
                <select data-testid="rule-minutes" on:change=move |ev| minutes.set(event_target_value(&ev).parse().unwrap_or(60))>
                    {DURATIONS.iter().map(|(m, words)| view! { <option value=m.to_string() selected=*m == 60>{*words}</option> }).collect_view()}
                </select>
            </label>
            <button type="submit" class="button primary" data-testid="rule-create"
                disabled=move || rule.pending().get() || reading.read().is_err()>"Allow these calls"</button>
        </form>
    }
}

#[component]
fn CustomToolCard(
    session_id: StoredValue<String>,
    id: String,
    event: Arc<Value>,
    answer: ServerAction<AnswerCustomTool>,
    /// The child thread the call was made in, in words.
    thread: Signal<Option<String>>,
) -> impl IntoView {
    let name = tool_name(&event).to_owned();
    let input = event.get("input").cloned().unwrap_or(Value::Null);
    let text = RwSignal::new(String::new());
    let as_json = RwSignal::new(false);
    let is_error = RwSignal::new(false);
    let event_id = id.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        answer.dispatch(AnswerCustomTool {
            session_id: session_id.get_value(),
            event_id: event_id.clone(),
            text: text.get_untracked(),
            json: as_json.get_untracked(),
            is_error: is_error.get_untracked(),
        });
    };
    view! {
        <article class="card custom-tool" data-testid="custom-tool-card" data-tool=name.clone() data-event=id>
            <header><strong>{format!("The agent called your tool {name}")}</strong>
                {move || thread.get().map(|t| view! { " " <span class="badge thread" data-testid="card-thread">{t}</span> })}</header>
            {tool_view(&name, &input)}
            <form on:submit=submit>
                <label>"Result"
                    <textarea rows="3" data-testid="custom-result" prop:value=move || text.get()
                        on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                </label>
                <label class="check"><input type="checkbox" prop:checked=move || as_json.get() on:change=move |ev| as_json.set(event_target_checked(&ev)) />" It is JSON (checked before sending)"</label>
                <label class="check"><input type="checkbox" prop:checked=move || is_error.get() on:change=move |ev| is_error.set(event_target_checked(&ev)) />" It is an error"</label>
                <div class="actions">
                    <button type="submit" class="button primary" data-testid="custom-send" disabled=move || answer.pending().get()>"Send the result"</button>
                </div>
            </form>
        </article>
    }
}

/// A tool call's input the way its tool reads: the command of `bash`, the file and content of
/// `write`, a diff of `edit`, and a form of fields for any other tool.
pub fn tool_view(name: &str, input: &Value) -> AnyView {
    let field = |k: &str| input.get(k).and_then(Value::as_str).map(str::to_owned);
    match (name, field("command"), field("file_path")) {
        ("bash", Some(command), _) => view! { <pre class="command">{format!("$ {command}")}</pre> }.into_any(),
        ("write", _, Some(path)) => view! {
            <p class="path"><code>{path}</code></p>
            <pre class="content">{field("content").unwrap_or_default()}</pre>
        }
        .into_any(),
        ("edit", _, Some(path)) => {
            let (old, new) = (field("old_string").unwrap_or_default(), field("new_string").unwrap_or_default());
            let diff = similar::TextDiff::from_lines(&old, &new);
            let lines = diff
                .iter_all_changes()
                .map(|change| {
                    let (class, sign) = match change.tag() {
                        similar::ChangeTag::Delete => ("del", "-"),
                        similar::ChangeTag::Insert => ("ins", "+"),
                        similar::ChangeTag::Equal => ("eq", " "),
                    };
                    let text = format!("{sign} {}", change.value().trim_end_matches('\n'));
                    view! { <span class=class>{text}"\n"</span> }
                })
                .collect_view();
            view! { <p class="path"><code>{path}</code></p><pre class="diff" data-testid="diff">{lines}</pre> }
                .into_any()
        }
        _ => match input.as_object() {
            Some(fields) if !fields.is_empty() => {
                let rows = fields
                    .iter()
                    .map(|(k, v)| {
                        let value = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
                        view! { <dt>{k.clone()}</dt><dd><code>{value}</code></dd> }
                    })
                    .collect_view();
                view! { <dl class="facts tool-fields">{rows}</dl> }.into_any()
            }
            _ => view! { <pre class="json">{input.to_string()}</pre> }.into_any(),
        },
    }
}
