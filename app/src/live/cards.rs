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
    let session_id = StoredValue::new(session_id);
    let decide = ServerAction::<Decide>::new();
    let answer = ServerAction::<AnswerCustomTool>::new();
    let rule = ServerAction::<CreateRule>::new();
    // A rule made here shows in the lists of rules on the page.
    let changed = crate::rules::RulesChanged::get();
    Effect::new(move |_| {
        if let (Some(Ok(_)), Some(changed)) = (rule.value().get(), changed) {
            changed.bump();
        }
    });
    let pending = Memo::new(move |_| {
        calls
            .read()
            .iter()
            .map(|event| (call_id(event).to_owned(), is_custom_call(event), event.clone()))
            .collect::<Vec<_>>()
    });
    let thread_of = move |event: &Value| {
        let thread = event.get("session_thread_id").and_then(Value::as_str)?;
        let name = threads.and_then(|t| t.read().iter().find(|(id, _)| id == thread).map(|(_, name)| name.clone()));
        Some(name.map_or_else(|| "in a subagent's thread".to_owned(), |name| format!("in {name}'s thread")))
    };
    let approvals =
        move || pending.read().iter().filter(|(_, custom, _)| !custom).map(|(id, _, _)| id.clone()).collect::<Vec<_>>();
    // The calls ticked on their cards ("Allow 3 selected"): a tap each, no swiping. A call that
    // was decided meanwhile drops out of the count.
    let selected = RwSignal::new(HashSet::<String>::new());
    let chosen = move || selected.with(|s| approvals().into_iter().filter(|id| s.contains(id)).collect::<Vec<_>>());
    let send_all = move |event_ids: Vec<String>, allow: bool| {
        let verdicts = event_ids.into_iter().map(|event_id| Verdict { event_id, allow, deny_message: None }).collect();
        decide.dispatch(Decide { session_id: session_id.get_value(), verdicts });
        selected.set(HashSet::new());
    };
    let all = move |allow: bool| send_all(approvals(), allow);
    let some = move |allow: bool| send_all(chosen(), allow);
    // What the session's approval policy says of each call (read in the browser, again after
    // each decision made here; another person's approval shows on the next read).
    let policy = RwSignal::new(crate::api::policies::ApprovalState::default());
    Effect::new(move |_| {
        let waiting = approvals();
        decide.version().track();
        if waiting.is_empty() {
            return;
        }
        let session = session_id.get_value();
        leptos::task::spawn_local(async move {
            if let Ok(state) = crate::api::policies::session_approvals(session).await {
                policy.set(state);
            }
        });
    });
    let me = use_context::<crate::me::Me>();
    let policy_lines = move |event_id: &str| {
        // Who "you" are is read only once a policy applies (after hydration, never on the server).
        if policy.with(|p| p.policy.is_none()) {
            return Vec::new();
        }
        let me = me.and_then(|m| m.principal()).map(|p| p.username);
        policy.with(|p| p.lines(event_id, me.as_deref()))
    };
    let heading_id = StoredValue::new(format!("waiting-{}", session_id.get_value()));
    let heading = StoredValue::new(heading.unwrap_or_else(|| "Waiting for you".to_owned()));
    let outcome = move || {
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
        taken(decide.value().get()).or_else(|| taken(answer.value().get()))
    };

    view! {
        <Show when=move || !pending.read().is_empty()>
            <section class="cards" aria-labelledby=heading_id.get_value() data-testid="pending">
                <h3 id=heading_id.get_value()>{move || {
                    let n = pending.read().len();
                    format!("{}: {n} call{}", heading.read_value(), if n == 1 { "" } else { "s" })
                }}</h3>
                <Show when=move || !chosen().is_empty()>
                    <div class="actions selection" data-testid="selection">
                        <button type="button" class="button primary" data-testid="allow-selected" disabled=move || decide.pending().get()
                            on:click=move |_| some(true)>{move || format!("Allow {} selected", chosen().len())}</button>
                        <button type="button" class="button danger" data-testid="deny-selected" disabled=move || decide.pending().get()
                            on:click=move |_| some(false)>{move || format!("Deny {} selected", chosen().len())}</button>
                        <button type="button" class="button" on:click=move |_| selected.set(HashSet::new())>"Clear the selection"</button>
                    </div>
                </Show>
                <Show when=move || { approvals().len() > 1 && chosen().is_empty() }>
                    <div class="actions">
                        <button type="button" class="button primary" data-testid="allow-all" disabled=move || decide.pending().get()
                            on:click=move |_| all(true)>{move || format!("Allow all {}", approvals().len())}</button>
                        <button type="button" class="button danger" data-testid="deny-all" disabled=move || decide.pending().get()
                            on:click=move |_| all(false)>{move || format!("Deny all {}", approvals().len())}</button>
                    </div>
                </Show>
                <For each=move || pending.get() key=|(id, _, _)| id.clone() let:((id, custom, event))>
                    {
                        let thread = thread_of(&event);
                        let lines = Signal::derive({
                            let id = id.clone();
                            move || policy_lines(&id)
                        });
                        if custom { view! { <CustomToolCard session_id id event answer thread /> }.into_any() } else { view! { <ApprovalCard session_id id event decide rule thread selected lines /> }.into_any() }
                    }
                </For>
            </section>
        </Show>
        {move || outcome().map(|text| view! { <p class="inline-error" role="alert" data-testid="decision-outcome">{text}</p> })}
        {move || decide.value().get().and_then(Result::ok).filter(|d| !d.waiting.is_empty()).map(|d| view! {
            <p class="notice" role="status" data-testid="approval-recorded">
                {d.waiting.iter().map(|w| w.in_words()).collect::<Vec<_>>().join(" ")}
            </p>
        })}
        {move || rule.value().get().map(|made| match made {
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
        })}
    }
}

#[component]
fn ApprovalCard(
    session_id: StoredValue<String>,
    id: String,
    event: Arc<Value>,
    decide: ServerAction<Decide>,
    rule: ServerAction<CreateRule>,
    /// The child thread the call was made in, in words.
    thread: Option<String>,
    /// The calls ticked for "Allow N selected".
    selected: RwSignal<HashSet<String>>,
    /// What the session's approval policy says of this call.
    lines: Signal<Vec<String>>,
) -> impl IntoView {
    let name = tool_name(&event).to_owned();
    let ticked = {
        let id = id.clone();
        move || selected.with(|s| s.contains(&id))
    };
    let tick = {
        let id = id.clone();
        move |on: bool| {
            selected.update(|s| {
                if on {
                    s.insert(id.clone());
                } else {
                    s.remove(&id);
                }
            })
        }
    };
    let rule_form = RwSignal::new(false);
    let server = event.get("mcp_server_name").and_then(Value::as_str).map(|s| format!(" (MCP server {s})"));
    let input = event.get("input").cloned().unwrap_or(Value::Null);
    let rule_call = StoredValue::new((name.clone(), input.clone()));
    let reason = event
        .pointer("/evaluation/evaluated_permission/reason_code")
        .and_then(Value::as_str)
        .map(|r| r.replace('_', " "));
    let raw = serde_json::to_string_pretty(&input).unwrap_or_default();
    let with_message = RwSignal::new(false);
    let message = RwSignal::new(String::new());
    let send = {
        let id = id.clone();
        move |allow: bool, deny_message: Option<String>| {
            decide.dispatch(Decide {
                session_id: session_id.get_value(),
                verdicts: vec![Verdict { event_id: id.clone(), allow, deny_message }],
            });
        }
    };
    let (send_allow, send_deny, send_message) = (send.clone(), send.clone(), send);
    view! {
        <article class="card approval" data-testid="approval-card" data-tool=name.clone() data-event=id.clone()>
            <header>
                <label class="check select" title="Select this call, to decide several at once">
                    <input type="checkbox" data-testid="select" aria-label=format!("Select this {name} call")
                        prop:checked=ticked on:change=move |ev| tick(event_target_checked(&ev)) />
                </label>
                <strong>{format!("Allow {name}?")}</strong>{server}
                {thread.map(|t| view! { " " <span class="badge thread" data-testid="card-thread">{t}</span> })}
                {reason.map(|r| view! { " " <span class="badge risk" title="Why the auto policy asks">{r}</span> })}
            </header>
            {tool_view(&name, &input)}
            <details><summary>"Raw input"</summary><pre class="json">{raw}</pre></details>
            <Show when=move || !lines.read().is_empty()>
                <ul class="policy-lines" data-testid="card-policy">
                    {move || lines.get().into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}
                </ul>
            </Show>
            <div class="actions">
                <button type="button" class="button primary" data-testid="allow" disabled=move || decide.pending().get()
                    on:click=move |_| send_allow(true, None)>"Allow"</button>
                <button type="button" class="button danger" data-testid="deny" disabled=move || decide.pending().get()
                    on:click=move |_| send_deny(false, None)>"Deny"</button>
                <button type="button" class="button" data-testid="deny-with-message" aria-expanded=move || with_message.get().to_string()
                    on:click=move |_| with_message.update(|w| *w = !*w)>"Deny and tell the agent why…"</button>
                <button type="button" class="button" data-testid="always-allow" aria-expanded=move || rule_form.get().to_string()
                    on:click=move |_| rule_form.update(|w| *w = !*w)>"Always allow…"</button>
            </div>
            <Show when=move || rule_form.get()>
                <RuleForm session_id tool=rule_call.with_value(|c| c.0.clone()) input=rule_call.with_value(|c| c.1.clone()) rule />
            </Show>
            <Show when=move || with_message.get()>
                <form class="deny-message" on:submit={
                    let send_message = send_message.clone();
                    move |ev: leptos::ev::SubmitEvent| {
                        ev.prevent_default();
                        let text = message.get_untracked();
                        send_message(false, Some(text));
                    }
                }>
                    <label>"Message to the agent"
                        <textarea rows="2" data-testid="deny-message" prop:value=move || message.get()
                            on:input=move |ev| message.set(event_target_value(&ev))></textarea>
                    </label>
                    <button type="submit" class="button danger" data-testid="deny-send" disabled=move || decide.pending().get() || message.read().trim().is_empty()>"Deny with this message"</button>
                </form>
            </Show>
        </article>
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
                Err(problem) => problem,
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
    thread: Option<String>,
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
                {thread.map(|t| view! { " " <span class="badge thread" data-testid="card-thread">{t}</span> })}</header>
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
