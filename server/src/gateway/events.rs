//! `POST /v1/sessions/{id}/events` through the gateway. Each event needs the role of the
//! console's act for it (`domain::gateway::event_role`). A call's confirmation and a custom tool's
//! result never go straight upstream: they go through the workspace's approval service, exactly as
//! a card's Allow and Answer do (the session's policy, its approvers, no self-approval, deadlines,
//! the inbox and Slack messages brought up to date). Messages, interrupts and outcomes pass on,
//! and who sent a message is recorded, as the console records it.

use axum::{
    body::Body,
    extract::Request,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use domain::{
    approvals::{Caller, CustomAnswer},
    auth::{Principal, store::AuditNote},
    decisions::{Decided, Verdict},
    gateway::{event_role, is_decision},
};
use serde_json::{Value, json};

use super::{errors::api_error, proxy};
use crate::tenancy::workspaces::Workspace;

/// The most a request's body may be here, in bytes (the body limit's layer read it already).
const MAX_BODY: usize = 32 * 1024 * 1024;

/// Sends the events of `request` to session `session_id`, as `principal`.
pub async fn send(workspace: &Workspace, principal: Principal, session_id: &str, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return api_error(StatusCode::PAYLOAD_TOO_LARGE, "The events are larger than this server accepts.");
    };
    let events = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut body)) => match body.remove("events") {
            Some(Value::Array(events)) if !events.is_empty() => events,
            _ => return bad("`events` must be a list of at least one event."),
        },
        _ => return bad("The body must be a JSON object with an `events` list."),
    };
    let kinds: Vec<&str> = events.iter().map(|e| e.get("type").and_then(Value::as_str).unwrap_or_default()).collect();
    for kind in &kinds {
        let needed = event_role(kind);
        if !principal.can(needed) {
            return api_error(
                StatusCode::FORBIDDEN,
                &format!(
                    "This token's roles ({}) do not allow sending {kind}: it needs the {} role, as in the console.",
                    domain::auth::roles_text(&principal.roles),
                    needed.as_str()
                ),
            );
        }
    }
    let decisions = kinds.iter().filter(|k| is_decision(k)).count();
    if decisions == 0 {
        return pass_on(workspace, principal, session_id, parts, bytes).await;
    }
    if decisions != events.len() {
        return bad(
            "Send a call's confirmation or a custom tool's result in a request of its own: Switchboard's approval \
             service decides them, apart from other events.",
        );
    }
    let by = Caller::new(principal, parts.extensions.get::<AuditNote>().cloned());
    decide(workspace, by, session_id, &events).await
}

fn bad(message: &str) -> Response {
    api_error(StatusCode::BAD_REQUEST, message)
}

/// Events that decide nothing go upstream as they came; the messages' senders are recorded.
async fn pass_on(
    workspace: &Workspace,
    principal: Principal,
    session_id: &str,
    parts: axum::http::request::Parts,
    bytes: bytes::Bytes,
) -> Response {
    let request = Request::from_parts(parts, Body::from(bytes));
    let response = proxy::pass(&workspace.client, request).await;
    if !response.status().is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return api_error(StatusCode::BAD_GATEWAY, "The upstream's answer broke off; the events may have been sent.");
    };
    let echoes = serde_json::from_slice::<Value>(&bytes).ok();
    let messages = echoes.as_ref().and_then(|e| e.get("data")).and_then(Value::as_array).into_iter().flatten();
    for echo in messages.filter(|e| e.get("type").and_then(Value::as_str) == Some("user.message")) {
        let id = echo.get("id").and_then(Value::as_str).map(str::to_owned);
        workspace.approvals().0.sent(principal.clone(), session_id.to_owned(), id).await;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Confirmations and custom tools' results, through the approval service; the answer echoes the
/// events that reached the session. A confirmation the session's policy holds for another
/// approver is not sent: the answer is `202` without it, and says so in
/// `switchboard-approval-waiting`.
async fn decide(workspace: &Workspace, by: Caller, session_id: &str, events: &[Value]) -> Response {
    let approvals = workspace.approvals().0;
    let mut verdicts = Vec::new();
    let mut answers = Vec::new();
    for event in events {
        let field = |name: &str| event.get(name).and_then(Value::as_str).map(str::to_owned);
        if event.get("type").and_then(Value::as_str) == Some("user.tool_confirmation") {
            let (Some(event_id), Some(result)) = (field("tool_use_id"), field("result")) else {
                return bad("A user.tool_confirmation needs `tool_use_id` and `result`.");
            };
            if result != "allow" && result != "deny" {
                return bad("A user.tool_confirmation's `result` is \"allow\" or \"deny\".");
            }
            verdicts.push(Verdict {
                event_id,
                allow: result == "allow",
                deny_message: field("deny_message"),
                reason: None,
            });
        } else {
            let Some(event_id) = field("custom_tool_use_id") else {
                return bad("A user.custom_tool_result needs `custom_tool_use_id`.");
            };
            let Some(text) = text_of(event.get("content")) else {
                return bad(
                    "Switchboard passes a custom tool's result with text content only (as the console's Answer \
                     sends it): send `content` as text blocks.",
                );
            };
            let is_error = event.get("is_error").and_then(Value::as_bool).unwrap_or(false);
            answers.push((event_id, CustomAnswer { text, json: false, is_error }));
        }
    }
    let mut decided = Decided::default();
    if !verdicts.is_empty() {
        match approvals.decide(by.clone(), session_id.to_owned(), verdicts).await {
            Ok(d) => decided = d,
            Err(error) => return super::errors::of_app_error(&error),
        }
    }
    for (event_id, answer) in answers {
        match approvals.answer(by.clone(), session_id.to_owned(), event_id, answer).await {
            Ok(d) => {
                decided.sent.extend(d.sent);
                decided.taken.extend(d.taken);
            }
            Err(error) => return super::errors::of_app_error(&error),
        }
    }
    if let Some(first) = decided.taken.first() {
        return api_error(
            StatusCode::CONFLICT,
            &format!("The call {} was decided already, by {}.", first.event_id, first.decided_by),
        );
    }
    let data = echoes(workspace, session_id, &decided.sent).await;
    let waiting: Vec<&str> = decided.waiting.iter().map(|w| w.event_id.as_str()).collect();
    let status = if waiting.is_empty() { StatusCode::OK } else { StatusCode::ACCEPTED };
    let mut response = (status, axum::Json(json!({ "data": data }))).into_response();
    if !waiting.is_empty()
        && let Ok(value) = waiting.join(",").parse()
    {
        response.headers_mut().insert("switchboard-approval-waiting", value);
    }
    response
}

/// The text of a custom tool result's `content` (a string, or text blocks); `None` for other blocks.
fn text_of(content: Option<&Value>) -> Option<String> {
    match content {
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .map(|b| (b.get("type").and_then(Value::as_str) == Some("text")).then(|| b.get("text")?.as_str()).flatten())
            .collect::<Option<Vec<_>>>()
            .map(|texts| texts.join("\n")),
        Some(_) => None,
    }
}

/// The session's echoes of the confirmations and results the approval service sent.
async fn echoes(workspace: &Workspace, session_id: &str, sent: &[String]) -> Vec<Value> {
    if sent.is_empty() {
        return Vec::new();
    }
    let query = vec![
        ("types[]".to_owned(), "user.tool_confirmation".to_owned()),
        ("types[]".to_owned(), "user.custom_tool_result".to_owned()),
        ("order".to_owned(), "desc".to_owned()),
        ("limit".to_owned(), "100".to_owned()),
    ];
    let path = format!("/v1/sessions/{session_id}/events");
    let upstream = domain::upstream::client::UpstreamHandle(std::sync::Arc::new(workspace.client.clone()));
    let listed: Result<protocol::common::Page<Value>, _> = upstream.get(&path, query).await;
    let mut found: Vec<Value> = listed
        .map(|page| page.data)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| {
            let answered = e.get("tool_use_id").or_else(|| e.get("custom_tool_use_id")).and_then(Value::as_str);
            answered.is_some_and(|id| sent.iter().any(|s| s == id))
        })
        .collect();
    found.reverse();
    found
}
