//! What the live session view sends: messages, interrupts, decisions on tool calls and custom
//! tool results. Its events come from the stream hub (`/api/sessions/{id}/stream`), not from here.
//!
//! None of these calls is retried: the API has no idempotency keys, so a second `POST …/events`
//! could do the thing twice. A decision whose send failed is reconciled by listing the session's
//! events and looking for its echo.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use macros::access;
use serde::{Deserialize, Serialize};

use super::JsonResponse;
use crate::{decisions::Recorded, error::AppError};

pub use crate::decisions::{Decided, Verdict, Waiting};
#[cfg(feature = "ssr")]
pub use domain::live::first_screen;
pub use domain::live::{FirstScreen, MAX_TEXT};

/// Decides one or more pending tool calls in one request upstream (the approval service:
/// `crate::approvals`).
///
/// `link`: the token of the notification's link the page was opened by, sent with the decision
/// on the call it names, which spends it ([`decide_through_link`]).
#[access(Approver)]
#[server(endpoint = "sessions/decide", input = Json, output = JsonResponse)]
pub async fn decide(
    session_id: String,
    verdicts: Vec<Verdict>,
    #[server(default)] link: Option<String>,
) -> Result<Decided, AppError> {
    let session_id = super::server::segment(&session_id)?;
    decide_through_link(crate::approvals::caller()?, session_id, verdicts, link)
        .await
        .unwrap_or_else(|refused| Err(refused.error()))
}

/// Decides `verdicts`, through a notification's link when there is one
/// (`server/src/approvals/links.rs`). `Err`: the link may not carry the decision, and nothing was
/// decided.
#[cfg(feature = "ssr")]
async fn decide_through_link(
    caller: crate::approvals::Caller,
    session_id: String,
    verdicts: Vec<Verdict>,
    link: Option<String>,
) -> Result<Result<Decided, AppError>, crate::decisions::LinkRefusal> {
    match leptos::prelude::use_context::<crate::approvals::LinkDecisionsHandle>() {
        Some(links) => links.0.decide(caller, session_id, verdicts, link).await,
        None => Ok(Err(AppError::internal("The server did not provide its approval service."))),
    }
}

/// A card's plain form (`<form method="post">`): decides one call as [`decide`] does (the same
/// approval service, policy and exactly-once record), for a page not hydrated yet or with
/// JavaScript off. `verdict` is `allow` or `deny` (with `deny_message`, or `reason` for an
/// Allow); `back` is the card's page, where the browser is
/// sent with what became of it ([`crate::decisions::FormOutcome`]); `t`, a notification link's
/// token, as [`decide`]'s `link`.
#[access(Approver)]
#[server(endpoint = "sessions/decide_form")]
pub async fn decide_form(
    session_id: String,
    event_id: String,
    verdict: String,
    #[server(default)] deny_message: Option<String>,
    #[server(default)] reason: Option<String>,
    #[server(default)] back: String,
    #[server(default)] t: Option<String>,
) -> Result<(), AppError> {
    use crate::decisions::FormOutcome;
    let allow = match verdict.as_str() {
        "allow" => Some(true),
        "deny" => Some(false),
        _ => None,
    };
    let outcome = match (allow, super::server::segment(&session_id)) {
        (Some(allow), Ok(session_id)) => {
            let deny_message = deny_message.map(|m| m.trim().to_owned()).filter(|m| !allow && !m.is_empty());
            let reason = reason.map(|m| m.trim().to_owned()).filter(|m| allow && !m.is_empty());
            let verdicts = vec![Verdict { event_id: event_id.clone(), allow, deny_message, reason }];
            match decide_through_link(crate::approvals::caller()?, session_id, verdicts, t).await {
                Ok(decided) => FormOutcome::of(&decided, &event_id, allow),
                Err(refused) => refused.outcome(),
            }
        }
        // Not a form of the console's: said on the page, nothing sent.
        _ => FormOutcome::Invalid,
    };
    leptos_axum::redirect(&form_outcome_address(&back, outcome, &event_id));
    Ok(())
}

/// `back` (a path on this server, else the inbox) with what became of a form's decision on
/// `event_id` in its query, in place of an earlier one's, and without a notification link's
/// single-use token (`t`).
#[cfg(feature = "ssr")]
fn form_outcome_address(back: &str, outcome: crate::decisions::FormOutcome, event_id: &str) -> String {
    let back = crate::format::safe_next(back);
    let back = if back == "/" { "/inbox".to_owned() } else { back };
    let (path, query) = back.split_once('?').unwrap_or((&back, ""));
    let mut pairs: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !["decision=", "decided=", "t="].iter().any(|k| p.starts_with(k)))
        .collect();
    let ours = format!("decision={}&decided={}", outcome.as_str(), crate::format::query_value(event_id));
    pairs.push(&ours);
    format!("{path}?{}", pairs.join("&"))
}

/// Answers a pending `agent.custom_tool_use` with text (or JSON, sent as its text) and whether it
/// is an error.
#[access(Approver)]
#[server(endpoint = "sessions/answer", input = Json, output = JsonResponse)]
pub async fn answer_custom_tool(
    session_id: String,
    event_id: String,
    text: String,
    json: bool,
    is_error: bool,
) -> Result<Decided, AppError> {
    use crate::approvals::{CustomAnswer, approvals};
    let session_id = super::server::segment(&session_id)?;
    let event_id = super::server::segment(&event_id)?;
    let answer = CustomAnswer { text, json, is_error };
    approvals()?.0.answer(crate::approvals::caller()?, session_id, event_id, answer).await
}

/// Sends a `user.message` (text, and uploaded files as image or document blocks); with
/// `interrupt`, interrupts the running turn first, in the same request. With no text and no
/// files, only interrupts. Answers the message's event id.
#[access(Operator)]
#[server(endpoint = "sessions/steer", input = Json, output = JsonResponse)]
pub async fn steer(
    session_id: String,
    text: String,
    file_ids: Vec<String>,
    interrupt: bool,
    /// With `interrupt`: only this thread (a child thread's id); absent: every thread.
    #[server(default)]
    thread_id: Option<String>,
) -> Result<Option<String>, AppError> {
    use protocol::{
        content::UserContentBlock,
        event_params::{EventParams, SendEventsBody, UserInterruptParams, UserMessageParams},
    };
    use serde_json::Value;
    let session_id = super::server::segment(&session_id)?;
    let text = text.trim().to_owned();
    if text.len() > MAX_TEXT {
        return Err(AppError::bad_input("text", "The message is too long; keep it under 200,000 characters."));
    }
    let client = super::server::upstream()?;
    let mut blocks = Vec::new();
    if !text.is_empty() {
        blocks.push(UserContentBlock::text(text));
    }
    for file_id in file_ids.iter().map(|f| f.trim()).filter(|f| !f.is_empty()) {
        blocks.push(attachment(&client, file_id).await?);
    }
    let thread_id = match thread_id.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(thread) => Some(
            super::server::segment(thread)
                .map_err(|_| AppError::bad_input("thread_id", format!("{thread:?} is not a thread id.")))?,
        ),
        None => None,
    };
    let mut events = Vec::new();
    if interrupt {
        events.push(EventParams::UserInterrupt(UserInterruptParams { session_thread_id: thread_id }));
    }
    let has_message = !blocks.is_empty();
    if has_message {
        events.push(EventParams::UserMessage(UserMessageParams { content: blocks }));
    }
    if events.is_empty() {
        return Err(AppError::bad_input("text", "Write a message (or attach a file) first."));
    }
    let action = if interrupt && has_message {
        "Interrupting and sending the message"
    } else if interrupt {
        "Interrupting the agent"
    } else {
        "Sending the message"
    };
    let echo: Value = client
        .post(&format!("/v1/sessions/{session_id}/events"), &SendEventsBody { events })
        .await
        .map_err(|e| AppError::upstream(action, e))?;
    let message_id = echo
        .get("data")
        .and_then(Value::as_array)
        .and_then(|data| data.iter().find(|e| e["type"] == protocol::events::types::USER_MESSAGE))
        .and_then(|e| e.get("id").and_then(Value::as_str))
        .map(str::to_owned);
    if let (Some(id), Ok(by)) = (&message_id, crate::auth::store::signed_in()) {
        crate::approvals::approvals()?.0.sent(by, session_id, Some(id.clone())).await;
    }
    Ok(message_id)
}

/// An uploaded file as the content block a message attaches it with: an image, or a document.
#[cfg(feature = "ssr")]
async fn attachment(
    client: &crate::upstream::client::UpstreamHandle,
    file_id: &str,
) -> Result<protocol::content::UserContentBlock, AppError> {
    use protocol::content::{DocumentBlock, DocumentSource, FileSource, ImageBlock, ImageSource, UserContentBlock};
    use serde_json::Value;
    let file_id = super::server::segment(file_id)
        .map_err(|_| AppError::bad_input("file_ids", format!("{file_id:?} is not a file id.")))?;
    let meta: Value = client
        .get(&format!("/v1/files/{file_id}"), vec![])
        .await
        .map_err(|e| AppError::upstream(&format!("Attaching {file_id}"), e))?;
    let mime = meta.get("mime_type").and_then(Value::as_str).unwrap_or_default();
    let source = FileSource { file_id };
    Ok(if mime.starts_with("image/") {
        UserContentBlock::Image(ImageBlock { source: ImageSource::File(source) })
    } else {
        UserContentBlock::Document(DocumentBlock { source: DocumentSource::File(source), context: None, title: None })
    })
}

/// Gives a session an outcome to work toward (`user.define_outcome`); the agent starts on it.
#[access(Operator)]
#[server(endpoint = "sessions/define_outcome", output = JsonResponse)]
pub async fn define_outcome(session_id: String, form: super::sessions::OutcomeForm) -> Result<(), AppError> {
    let session_id = super::server::segment(&session_id)?;
    let Some(event) = form.event()? else {
        return Err(AppError::bad_input("outcome_description", "Say what the agent should produce."));
    };
    super::server::upstream()?
        .post::<serde_json::Value>(
            &format!("/v1/sessions/{session_id}/events"),
            &serde_json::json!({ "events": [event] }),
        )
        .await
        .map(|_| ())
        .map_err(|e| AppError::upstream("Defining the outcome", e))
}

/// A thread's figures as the API's thread object gives them, for its lane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadFigures {
    pub id: String,
    /// The session's primary thread (it has no parent).
    pub primary: bool,
    /// Its agent's name (an inline agent's, or "Advisor" for an advisor consultation).
    pub agent: String,
    /// Input (cache reads and writes included) and output tokens.
    pub tokens: u64,
    /// Its list cost, formatted; absent when the API gives none.
    pub cost: Option<String>,
}

/// The threads most sessions have are one page; a session that started more is cut here and
/// its later lanes show no figures.
#[cfg(feature = "ssr")]
const MAX_THREADS: usize = 5_000;

/// The usage and cost of each of the session's threads, for the live view's lanes. Read when
/// the page opens and again as threads stop, not per event: the stream carries no usage per
/// thread.
#[access(Viewer)]
#[server(endpoint = "sessions/threads", input = GetUrl, output = JsonResponse)]
pub async fn list_thread_figures(session_id: String) -> Result<Vec<ThreadFigures>, AppError> {
    use serde_json::Value;
    let session_id = super::server::segment(&session_id)?;
    let path = format!("/v1/sessions/{session_id}/threads");
    let figures = |thread: Value| {
        let usage = |k: &str| thread.pointer(&format!("/usage/{k}")).and_then(Value::as_u64).unwrap_or(0);
        let agent = thread.get("agent");
        let agent = match agent.and_then(|a| a.get("type")).and_then(Value::as_str) {
            Some("advisor") => "Advisor".to_owned(),
            _ => agent.and_then(|a| a.get("name")).and_then(Value::as_str).unwrap_or_default().to_owned(),
        };
        Some(ThreadFigures {
            id: thread.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
            primary: thread.get("parent_thread_id").is_none_or(Value::is_null),
            agent,
            tokens: usage("input_tokens")
                + usage("cache_read_input_tokens")
                + thread
                    .pointer("/usage/cache_creation")
                    .map_or(0, |c| c.as_object().map_or(0, |c| c.values().filter_map(Value::as_u64).sum()))
                + usage("output_tokens"),
            cost: thread.pointer("/usage/list_cost").and_then(crate::format::json_cost),
        })
    };
    super::server::walk_pages(&path, "Reading the session's threads", Vec::new(), 1000, MAX_THREADS, figures)
        .await
        .map(|(figures, _)| figures)
}

/// What a child thread did, as marks on its lane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadActivity {
    /// When it called a tool (`"tool"`), wrote a message (`"message"`) or failed (`"error"`), in
    /// milliseconds since the epoch; one mark per kind and per 1/[`MAX_MARKS`] of its running time.
    pub marks: Vec<(f64, String)>,
    /// It had more than [`MAX_ACTIVITY_EVENTS`] events: later ones are not marked.
    pub partial: bool,
}

/// Marks per lane at most: more than a minimap's width in pixels would not show.
pub const MAX_MARKS: usize = 600;
/// Events read for one thread's activity at most (10 pages).
pub const MAX_ACTIVITY_EVENTS: usize = 10_000;

/// A child thread's activity, from one listing of its events (the thread events list takes only
/// `limit` and `page`): for the lane of a thread nobody watches, read once when the page finds
/// it stopped, not followed live.
#[access(Viewer)]
#[server(endpoint = "sessions/thread_activity", input = GetUrl, output = JsonResponse)]
pub async fn list_thread_activity(session_id: String, thread_id: String) -> Result<ThreadActivity, AppError> {
    use serde_json::Value;
    let session_id = super::server::segment(&session_id)?;
    let thread_id = super::server::segment(&thread_id)
        .map_err(|_| AppError::bad_input("thread_id", format!("{thread_id:?} is not a thread id.")))?;
    let mark = |event: Value| {
        use protocol::events::types;
        let kind = match event.get("type").and_then(Value::as_str)? {
            types::AGENT_TOOL_USE | types::AGENT_MCP_TOOL_USE | types::AGENT_CUSTOM_TOOL_USE => "tool",
            types::AGENT_MESSAGE => "message",
            types::SESSION_ERROR => "error",
            _ => return None,
        };
        let at = event.get("processed_at").and_then(Value::as_str).and_then(crate::format::parse_rfc3339_ms)?;
        Some((at, kind))
    };
    let path = format!("/v1/sessions/{session_id}/threads/{thread_id}/events");
    let (events, complete) =
        super::server::walk_pages(&path, "Reading the thread's events", Vec::new(), 1000, MAX_ACTIVITY_EVENTS, mark)
            .await?;
    Ok(ThreadActivity { marks: thin_marks(events), partial: !complete })
}

/// One mark per kind and per 1/[`MAX_MARKS`] of the time the marks span, in order.
pub fn thin_marks(marks: Vec<(f64, &str)>) -> Vec<(f64, String)> {
    let (Some(first), Some(last)) =
        (marks.iter().map(|m| m.0).reduce(f64::min), marks.iter().map(|m| m.0).reduce(f64::max))
    else {
        return Vec::new();
    };
    let bucket = ((last - first) / MAX_MARKS as f64).max(1.0);
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<(f64, String)> = marks
        .into_iter()
        .filter(|(at, kind)| seen.insert((((at - first) / bucket) as u64, *kind)))
        .map(|(at, kind)| (at, kind.to_owned()))
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// Every decision recorded for the session, for the cards of calls decided in this console.
#[access(Viewer)]
#[server(endpoint = "sessions/decisions", input = GetUrl, output = JsonResponse)]
pub async fn list_decisions(session_id: String) -> Result<Vec<Recorded>, AppError> {
    let session_id = super::server::segment(&session_id)?;
    crate::approvals::approvals()?.0.decisions(session_id).await
}

/// The events of the first screen of `session_id`'s timeline: around `event` (a link's), or the
/// newest. `None` when the hub cannot say in time (the page's stream brings them).
#[access(Viewer)]
#[server(endpoint = "sessions/first_screen", input = GetUrl, output = JsonResponse)]
pub async fn get_first_screen(session_id: String, event: Option<String>) -> Result<Option<FirstScreen>, AppError> {
    let session_id = super::server::segment(&session_id)?;
    let event = event.filter(|e| !e.is_empty());
    if event.as_deref().is_some_and(|e| !super::is_id(e)) {
        return Ok(None);
    }
    let Some(windows) = use_context::<first_screen::WindowsHandle>() else { return Ok(None) };
    Ok(windows.0.window(session_id, event).await)
}
