//! One timeline row per event: who, what, when (offset and duration), and the raw JSON a click
//! away. Every type is shown; a type this version does not know gets a generic row.

use leptos::prelude::*;
use protocol::events::types;
use serde_json::Value;

use super::{
    model::{Item, duration, text_of},
    state::Live,
};

/// Tool output longer than this many lines is collapsed.
const COLLAPSED_LINES: usize = 12;

/// A first guess at a row's height, until it is drawn and measured.
pub fn estimate(item: &Item) -> f64 {
    let text_len = item.text_len;
    let body = match item.kind.as_str() {
        types::AGENT_TOOL_USE | types::AGENT_MCP_TOOL_USE | types::AGENT_CUSTOM_TOOL_USE => 96.0,
        _ if text_len > 0 => 22.0 * (text_len as f64 / 90.0).ceil(),
        _ => 22.0,
    };
    30.0 + body
}

/// One event's row: its type, when and for how long, the rule that allowed it, a link to it,
/// what it says, and its raw JSON a click away (in presenter mode: when, and what it says).
#[component]
pub fn Row(live: Live, index: usize) -> impl IntoView {
    let (item, offset) = live.model.with_value(|m| (m.items[index].clone(), m.offset(m.items[index].at_ms)));
    let seq = item.seq;
    let expanded = move |part: &'static str| live.expanded.with_value(|e| e.contains(&(seq, part)));
    let raw_open = RwSignal::new(expanded("raw"));
    let toggle = move |part: &'static str, open: RwSignal<bool>| {
        open.update(|o| *o = !*o);
        live.expanded.update_value(|e| {
            if !e.remove(&(seq, part)) {
                e.insert((seq, part));
            }
        });
        live.remeasure.update(|n| *n += 1);
    };
    let out_open = RwSignal::new(expanded("out"));
    let json = serde_json::to_string_pretty(&*item.event).unwrap_or_default();
    let body = body(&item, out_open, move || toggle("out", out_open));
    let took = item.duration_ms().map(duration);
    // A call allowed by a rule says which (the API's echo does not).
    let answered = (item.kind == types::USER_TOOL_CONFIRMATION)
        .then(|| item.event.get("tool_use_id").and_then(Value::as_str).map(str::to_owned))
        .flatten();
    let rule = move || {
        let call = answered.as_ref()?;
        let by = live.by_rule.try_with(|m| m.get(call).cloned()).flatten()?;
        Some(
            view! { <span class="pill rule" data-testid="rule-decision" title="Allowed by Switchboard for a rule">{by}</span> },
        )
    };
    let at = item.event.get("processed_at").and_then(Value::as_str).map(str::to_owned).unwrap_or_default();
    let class =
        format!("row kind-{}{}", item.kind.replace('.', "-"), if item.group.is_some() { " grouped" } else { "" });
    // For an audience: what happened and when, no event types, ids, links or raw JSON.
    if live.presenter {
        return presenter_row(live, &item, class, offset, took, body);
    }
    // A link to this event (the session's own timeline only: a thread's events are read from
    // the thread's stream, which the session's page does not open at an event).
    // A share link's audience cannot open the session's page, and an import has none.
    let link =
        (live.thread_id.with_value(Option::is_none) && live.source.with_value(Option::is_none) && !item.id.is_empty())
            .then(|| format!("/sessions/{}?event={}", live.session_id.get_value(), item.id));
    let copy_link = link.clone().map(copy_link_button);
    view! {
        <div class=class class:focused=move || live.focused.get() == Some(seq) data-seq=seq data-kind=item.kind.clone()
            data-id=item.id.clone() role="listitem" aria-current=move || (live.focused.get() == Some(seq)).then_some("true")>
            <div class="meta">
                <code class="event-type">{item.kind.clone()}</code>
                {offset.map(|o| match link.clone() {
                    Some(href) => view! { <a class="pill" href=href title=format!("{at}: open the session at this event")>{o}</a> }.into_any(),
                    None => view! { <span class="pill" title=at.clone()>{o}</span> }.into_any(),
                })}
                {took.map(|d| view! { <span class="pill" title="duration">{d}</span> })}
                {rule}
                <span class="row-actions">
                {copy_link}
                <button type="button" class="link raw-toggle" aria-expanded=move || raw_open.get().to_string()
                    on:click=move |_| toggle("raw", raw_open)>{move || if raw_open.get() { "hide JSON" } else { "JSON" }}</button>
                </span>
            </div>
            {body}
            <Show when=move || raw_open.get()><pre class="json">{json.clone()}</pre></Show>
        </div>
    }
    .into_any()
}

/// A row for an audience: when and for how long, and what the event says.
fn presenter_row(
    live: Live,
    item: &Item,
    class: String,
    offset: Option<String>,
    took: Option<String>,
    body: AnyView,
) -> AnyView {
    let seq = item.seq;
    view! {
        <div class=class class:focused=move || live.focused.get() == Some(seq) data-seq=seq data-kind=item.kind.clone()
            data-id=item.id.clone() role="listitem" aria-current=move || (live.focused.get() == Some(seq)).then_some("true")>
            <div class="meta">
                {offset.map(|o| view! { <span class="pill">{o}</span> })}
                {took.map(|d| view! { <span class="pill" title="duration">{d}</span> })}
            </div>
            {body}
        </div>
    }
    .into_any()
}

/// The button that copies a link to the event, and says it did.
fn copy_link_button(link: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    view! {
        <button type="button" class="link" data-testid="copy-event-link"
            title="Copy a link that opens the session at this event"
            on:click=move |_| {
                crate::components::copy_link(&link);
                copied.set(true);
            }>{move || if copied.get() { "Link copied" } else { "Copy link" }}</button>
    }
}

/// What a row shows of its event, by the event's kind.
fn body(item: &Item, out_open: RwSignal<bool>, toggle_out: impl Fn() + Copy + Send + Sync + 'static) -> AnyView {
    let e = &*item.event;
    let kind = item.kind.as_str();
    match kind {
        types::USER_MESSAGE => message("You", "user", text_of(e.get("content"))),
        types::AGENT_MESSAGE => message("Agent", "agent", text_of(e.get("content"))),
        types::SYSTEM_MESSAGE => message("System", "system", text_of(e.get("content"))),
        types::AGENT_THINKING => {
            view! { <p class="marker">"Agent thought (its thinking is not shown by the API)."</p> }.into_any()
        }
        types::USER_INTERRUPT => view! { <p class="marker">"You interrupted the agent."</p> }.into_any(),
        types::AGENT_TOOL_USE | types::AGENT_MCP_TOOL_USE | types::AGENT_CUSTOM_TOOL_USE => {
            tool_call(item, out_open, toggle_out)
        }
        types::USER_TOOL_CONFIRMATION => confirmation(e),
        types::USER_CUSTOM_TOOL_RESULT
        | types::USER_TOOL_RESULT
        | types::AGENT_TOOL_RESULT
        | types::AGENT_MCP_TOOL_RESULT => view! { <pre class="output">{text_of(e.get("content"))}</pre> }.into_any(),
        types::SESSION_STATUS_RUNNING
        | types::SESSION_STATUS_IDLE
        | types::SESSION_STATUS_TERMINATED
        | types::SESSION_STATUS_RESCHEDULED => session_status(kind, e),
        types::SESSION_ERROR => session_error(e),
        types::SPAN_MODEL_REQUEST_START => model_request(item),
        types::SESSION_THREAD_CREATED
        | types::SESSION_THREAD_STATUS_RUNNING
        | types::SESSION_THREAD_STATUS_IDLE
        | types::SESSION_THREAD_STATUS_RESCHEDULED
        | types::SESSION_THREAD_STATUS_TERMINATED => marker("thread", thread_status_words(kind, e)),
        types::AGENT_THREAD_MESSAGE_SENT | types::AGENT_THREAD_MESSAGE_RECEIVED => between_threads(item),
        types::AGENT_THREAD_CONTEXT_COMPACTED => marker("thread", "The agent's context was compacted.".to_owned()),
        types::WORKFLOW_RUN_CREATED
        | types::WORKFLOW_RUN_STATUS_RUNNING
        | types::WORKFLOW_RUN_STATUS_IDLE
        | types::WORKFLOW_RUN_PHASE_STARTED
        | types::WORKFLOW_RUN_PHASE_ENDED
        | types::WORKFLOW_RUN_STATUS_ENDED => marker("thread", workflow_words(item)),
        types::USER_DEFINE_OUTCOME
        | types::SPAN_OUTCOME_EVALUATION_START
        | types::SPAN_OUTCOME_EVALUATION_ONGOING
        | types::SPAN_OUTCOME_EVALUATION_END => outcome(kind, e),
        types::SESSION_USAGE => usage(e),
        _ => generic(e),
    }
}

/// The string field `k` of `e`, or empty.
fn str_of(e: &Value, k: &str) -> String {
    e.get(k).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// A tool call: its tool, where it ran and what the policy said; its input the way the tool
/// reads; its result, long output collapsed.
fn tool_call(item: &Item, out_open: RwSignal<bool>, toggle_out: impl Fn() + Copy + Send + Sync + 'static) -> AnyView {
    let e = &*item.event;
    let name = str_of(e, "name");
    let server = e.get("mcp_server_name").and_then(Value::as_str).map(|s| format!(" on {s}"));
    let permission = e.get("evaluated_permission").and_then(Value::as_str).map(str::to_owned);
    let input = super::cards::tool_view(&name, e.get("input").unwrap_or(&Value::Null));
    let result = item.paired.clone();
    let output = result.as_ref().map(|r| text_of(r.get("content"))).unwrap_or_default();
    let is_error = result.as_ref().and_then(|r| r.get("is_error")).and_then(Value::as_bool).unwrap_or(false);
    let lines = output.lines().count();
    let long = lines > COLLAPSED_LINES;
    let short: String = output.lines().take(COLLAPSED_LINES).collect::<Vec<_>>().join("\n");
    let has_result = result.is_some();
    let thread = item.names.clone().map(|agent| view! { " " <span class="badge thread" data-testid="call-thread">{format!("in {agent}'s thread")}</span> });
    view! {
        <p class="tool-head"><strong>{name}</strong>{server}{thread}
            {permission.map(|p| view! { " " <span class=format!("badge permission-{p}")>{p.clone()}</span> })}</p>
        <div class="tool-call">
            <div class="tool-input"><span class="muted">"Input"</span>{input}</div>
            <div class="tool-output" class:error=is_error><span class="muted">{if is_error { "Result (error)" } else { "Result" }}</span>
                {if has_result {
                    view! {
                        <pre class="output">{move || if long && !out_open.get() { short.clone() } else { output.clone() }}</pre>
                        {long.then(|| view! {
                            <button type="button" class="link" on:click=move |_| toggle_out()>
                                {move || if out_open.get() { "Show less".to_owned() } else { format!("Show all {lines} lines") }}
                            </button>
                        })}
                    }.into_any()
                } else {
                    view! { <p class="muted">"No result yet."</p> }.into_any()
                }}
            </div>
        </div>
    }
    .into_any()
}

/// A person's answer to a call: allowed, or denied with what they told the agent.
fn confirmation(e: &Value) -> AnyView {
    let allowed = str_of(e, "result") == "allow";
    let message = e.get("deny_message").and_then(Value::as_str).map(|m| format!(": “{m}”"));
    view! { <p class="marker" class:denied=!allowed>{if allowed { "Allowed the call" } else { "Denied the call" }}{message}</p> }.into_any()
}

/// The session's status: running, idle and why, terminated or rescheduled.
fn session_status(kind: &str, e: &Value) -> AnyView {
    match kind {
        types::SESSION_STATUS_RUNNING => view! { <p class="marker">"Running"</p> }.into_any(),
        types::SESSION_STATUS_IDLE => {
            let reason = e.pointer("/stop_reason/type").and_then(Value::as_str).unwrap_or("unknown");
            let words = match reason {
                "end_turn" => "Idle: the agent finished its turn.".to_owned(),
                "requires_action" => {
                    let n = e.pointer("/stop_reason/event_ids").and_then(Value::as_array).map_or(0, Vec::len);
                    format!("Idle: waiting on {n} call{}.", if n == 1 { "" } else { "s" })
                }
                "retries_exhausted" => "Idle: the turn failed after retries.".to_owned(),
                "budget_reached" => {
                    "Idle: the session spent its budget. Raise or remove the budget to send more.".to_owned()
                }
                other => format!("Idle: {}.", other.replace('_', " ")),
            };
            view! { <p class="marker">{words}</p> }.into_any()
        }
        types::SESSION_STATUS_TERMINATED => view! { <p class="marker">"Terminated."</p> }.into_any(),
        _ => view! { <p class="marker">"Rescheduled after a transient error."</p> }.into_any(),
    }
}

/// An error of the session, and what its retries mean for the person.
fn session_error(e: &Value) -> AnyView {
    let message = e.pointer("/error/message").and_then(Value::as_str).unwrap_or("An error.").to_owned();
    let retry = match e.pointer("/error/retry_status/type").and_then(Value::as_str) {
        Some("retrying") => "The API is retrying; wait.",
        Some("exhausted") => "Retries are used up: this turn is over. Send a new message to go on.",
        Some("terminal") => "The session cannot go on; it will terminate.",
        _ => "",
    };
    view! { <p class="marker error"><strong>{message}</strong> " " {retry}</p> }.into_any()
}

/// A model request, with its tokens once it ended.
fn model_request(item: &Item) -> AnyView {
    let usage = item.paired.as_ref().and_then(|p| p.get("model_usage").cloned());
    let words = match usage {
        Some(u) => format!(
            "Model request: {} in, {} out tokens",
            u["input_tokens"].as_u64().unwrap_or(0) + u["cache_read_input_tokens"].as_u64().unwrap_or(0),
            u["output_tokens"].as_u64().unwrap_or(0)
        ),
        None => "Model request (in progress)".to_owned(),
    };
    view! { <p class="marker span">{words}</p> }.into_any()
}

/// A child thread started, or changed its status.
fn thread_status_words(kind: &str, e: &Value) -> String {
    match kind {
        types::SESSION_THREAD_CREATED => {
            let workflow =
                e.get("workflow_run_id").and_then(Value::as_str).map(|_| " for a workflow run").unwrap_or_default();
            format!("Started a thread for {}{workflow}.", str_of(e, "agent_name"))
        }
        types::SESSION_THREAD_STATUS_RUNNING => format!("{} is running.", str_of(e, "agent_name")),
        types::SESSION_THREAD_STATUS_IDLE => {
            let words = match e.pointer("/stop_reason/type").and_then(Value::as_str).unwrap_or("unknown") {
                "end_turn" => "finished its turn".to_owned(),
                "requires_action" => "waits for a decision".to_owned(),
                "retries_exhausted" => "failed after retries".to_owned(),
                "budget_reached" => "stopped: the session spent its budget".to_owned(),
                other => other.replace('_', " "),
            };
            format!("{} is idle: it {words}.", str_of(e, "agent_name"))
        }
        types::SESSION_THREAD_STATUS_RESCHEDULED => {
            format!("{} was rescheduled after a transient error.", str_of(e, "agent_name"))
        }
        _ => format!("{} terminated.", str_of(e, "agent_name")),
    }
}

/// A message the agent sent to another thread, or received from one.
fn between_threads(item: &Item) -> AnyView {
    let e = &*item.event;
    if item.kind == types::AGENT_THREAD_MESSAGE_SENT {
        let to = e.get("to_agent_name").and_then(Value::as_str).map(str::to_owned).or_else(|| item.names.clone());
        let who = format!("To {}", to.unwrap_or_else(|| "primary".to_owned()));
        thread_message(who, text_of(e.get("content")))
    } else {
        let from = e.get("from_agent_name").and_then(Value::as_str).map(str::to_owned).or_else(|| item.names.clone());
        let who = format!("From {}", from.unwrap_or_else(|| "primary".to_owned()));
        thread_message(who, text_of(e.get("content")))
    }
}

/// A workflow run planned, running, idle, between phases, or ended.
fn workflow_words(item: &Item) -> String {
    let e = &*item.event;
    match item.kind.as_str() {
        types::WORKFLOW_RUN_CREATED => {
            let phases: Vec<&str> = e
                .get("phases")
                .and_then(Value::as_array)
                .map(|p| p.iter().filter_map(|p| p["name"].as_str()).collect())
                .unwrap_or_default();
            format!("Workflow “{}” planned: {}.", str_of(e, "name"), phases.join(" → "))
        }
        types::WORKFLOW_RUN_STATUS_RUNNING => "The workflow is running.".to_owned(),
        types::WORKFLOW_RUN_STATUS_IDLE => "The workflow is idle.".to_owned(),
        types::WORKFLOW_RUN_PHASE_STARTED | types::WORKFLOW_RUN_PHASE_ENDED => {
            let phase = item.names.clone().unwrap_or_else(|| str_of(e, "workflow_run_phase_id"));
            let what = if item.kind == types::WORKFLOW_RUN_PHASE_STARTED { "started" } else { "ended" };
            format!("Phase “{phase}” {what}.")
        }
        _ => {
            let result = e.pointer("/result/type").and_then(Value::as_str).unwrap_or("unknown");
            format!("The workflow ended: {result}.")
        }
    }
}

/// An outcome defined, being graded, or graded.
fn outcome(kind: &str, e: &Value) -> AnyView {
    match kind {
        types::USER_DEFINE_OUTCOME => {
            let iterations = e.get("max_iterations").and_then(Value::as_u64).unwrap_or(3);
            marker("outcome", format!("Outcome defined: {} (up to {iterations} iterations).", str_of(e, "description")))
        }
        types::SPAN_OUTCOME_EVALUATION_START | types::SPAN_OUTCOME_EVALUATION_ONGOING => {
            let iteration = e.get("iteration").and_then(Value::as_u64).unwrap_or(0) + 1;
            marker("outcome", format!("Grading iteration {iteration}…"))
        }
        _ => {
            let iteration = e.get("iteration").and_then(Value::as_u64).unwrap_or(0) + 1;
            let result = str_of(e, "result").replace('_', " ");
            view! {
                <p class=format!("marker outcome result-{}", str_of(e, "result"))>
                    <strong>{format!("Iteration {iteration}: {result}.")}</strong>" "{str_of(e, "explanation")}
                </p>
            }
            .into_any()
        }
    }
}

/// The session's usage so far.
fn usage(e: &Value) -> AnyView {
    let u = e.get("usage").cloned().unwrap_or(Value::Null);
    let words = format!(
        "Usage so far: {} in, {} out tokens",
        u["input_tokens"].as_u64().unwrap_or(0),
        u["output_tokens"].as_u64().unwrap_or(0)
    );
    view! { <p class="marker">{words}</p> }.into_any()
}

/// Any other event, known or not: its fields, shortened.
fn generic(e: &Value) -> AnyView {
    let mut rest = e.clone();
    if let Some(map) = rest.as_object_mut() {
        for k in ["id", "type", "processed_at"] {
            map.remove(k);
        }
    }
    let mut line = rest.to_string();
    if line.len() > 300 {
        let cut = (0..=300).rev().find(|&i| line.is_char_boundary(i)).unwrap_or(0);
        line.truncate(cut);
        line.push('…');
    }
    view! { <p class="generic"><code>{line}</code></p> }.into_any()
}

fn marker(class: &'static str, words: String) -> AnyView {
    view! { <p class=format!("marker {class}")>{words}</p> }.into_any()
}

fn thread_message(who: String, text: String) -> AnyView {
    view! { <div class="message thread"><span class="who">{who}</span><div class="text">{text}</div></div> }.into_any()
}

fn message(who: &'static str, class: &'static str, text: String) -> AnyView {
    view! { <div class=format!("message {class}")><span class="who">{who}</span><div class="text">{text}</div></div> }
        .into_any()
}
