//! A session's events as clients see them: the checks of a batch a client sends (before any
//! of it is applied), and the lists of the session's and of one thread's events. The log itself
//! is `store::events`; appending to it, `live`.

use protocol::{
    event_params::{ConfirmationResult, EventParams, SendEventsBody},
    events::{SessionEvent, types},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Paging, Ranges, body_of, outcomes::CheckedOutcome, time_filters};
use crate::{
    EngineState,
    error::{ApiError, ApiResult},
    store::{Filter, events::Scope},
};

/// How a client answered a call that waited for it; saved with the call in the runtime's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Deny {
        message: Option<String>,
    },
    /// A custom tool's result.
    Answered,
    /// A self-hosted worker's result of a built-in tool's call.
    ToolResult,
}

/// A batch of events that passed the checks: the answers it gives to waiting calls (call event
/// id, answer) and the outcomes it defines, in the order sent.
pub struct CheckedEvents {
    pub answers: Vec<(String, Decision)>,
    pub outcomes: Vec<CheckedOutcome>,
    /// The self-hosted environment the session runs on, if it does (input then needs a worker).
    pub self_hosted_environment: Option<String>,
}

impl EngineState {
    /// Checks a batch a client sends to session `id`, the whole of it before anything is applied.
    pub async fn check_events(&self, id: &str, body: &SendEventsBody) -> ApiResult<CheckedEvents> {
        self.check_session_takes(id, body).await?;
        let self_hosted_environment = self.self_hosted_environment(id).await?;
        let self_hosted = self_hosted_environment.is_some();
        // The session's threads, read only when an interrupt names one.
        let names_a_thread =
            body.events.iter().any(|e| matches!(e, EventParams::UserInterrupt(i) if i.session_thread_id.is_some()));
        let threads = if names_a_thread { self.thread_ids(id).await? } else { Vec::new() };
        let mut checked = CheckedEvents { answers: Vec::new(), outcomes: Vec::new(), self_hosted_environment };
        for (i, event) in body.events.iter().enumerate() {
            match event {
                EventParams::UserDefineOutcome(outcome) => {
                    checked.outcomes.push(self.check_outcome(outcome, &format!("events[{i}]")).await?);
                }
                event => {
                    if let Some(answer) = check_event(id, i, event, &threads, self_hosted)? {
                        checked.answers.push(answer);
                    }
                }
            }
        }
        Ok(checked)
    }

    /// Refuses a batch the session cannot take at all: archived or terminated, empty, or work
    /// sent to a session that spent its budget.
    async fn check_session_takes(&self, id: &str, body: &SendEventsBody) -> ApiResult<()> {
        let (archived, session) = self.session(id).await?;
        if archived {
            return Err(ApiError::conflict(format!("Session {id} is archived; it takes no more events.")));
        }
        if session["status"] == "terminated" {
            return Err(ApiError::invalid(format!("Session {id} has terminated; start a new session.")));
        }
        if body.events.is_empty() {
            return Err(ApiError::invalid("events: send at least one event."));
        }
        // A session that spent its budget takes only the events that settle what is under way
        // (answers, interrupts) until the budget is raised or removed.
        let starts_work =
            body.events.iter().any(|e| matches!(e, EventParams::UserMessage(_) | EventParams::UserDefineOutcome(_)));
        if starts_work && self.budget_reached(id).await? {
            return Err(ApiError::invalid(format!(
                "Session {id} has spent its budget (budget.max_list_cost); raise or remove the budget (POST /v1/sessions/{id}) before sending more work."
            ))
            .with_code("budget_reached"));
        }
        Ok(())
    }

    /// A page of the session's own events (of `types` when given, processed within `created`).
    pub async fn list_events(
        &self,
        session_id: &str,
        types: Vec<String>,
        created: Ranges,
        paging: Paging,
    ) -> ApiResult<Value> {
        let mut filters = vec![Filter::Eq("session_id", session_id.to_owned()), Scope::Session.filter()];
        if !types.is_empty() {
            filters.push(Filter::In("type", types));
        }
        filters.extend(time_filters(created, "processed_us"));
        self.page(paging.query("seq, body", "events", "seq", filters), false, body_of).await
    }

    /// A page of the events of `scope` in a session, in the order they happened.
    pub async fn scope_events(&self, session_id: &str, scope: &Scope, paging: Paging) -> ApiResult<Value> {
        let filters = vec![Filter::Eq("session_id", session_id.to_owned()), scope.filter()];
        self.page(paging.query("seq, body", "events", "seq", filters), false, body_of).await
    }
}

/// Checks event `i` of a batch sent to session `id` (an outcome aside); answers the call it
/// answers, if any. `threads`: the session's (id, archived), when an interrupt names one;
/// `self_hosted`: the session's tools run on a worker, which answers with `user.tool_result`.
fn check_event(
    id: &str,
    i: usize,
    event: &EventParams,
    threads: &[(String, bool)],
    self_hosted: bool,
) -> ApiResult<Option<(String, Decision)>> {
    match event {
        EventParams::UserMessage(message) => {
            if message.content.is_empty() {
                return Err(ApiError::invalid(format!("events[{i}].content: a message needs at least one block.")));
            }
        }
        EventParams::UserInterrupt(interrupt) => {
            if let Some(thread) = &interrupt.session_thread_id
                && !threads.iter().any(|(id, archived)| id == thread && !archived)
            {
                return Err(ApiError::invalid(format!(
                    "events[{i}].session_thread_id: {thread:?} is not a thread of this session that can be interrupted (list them with GET /v1/sessions/{id}/threads; archived threads cannot)."
                )));
            }
        }
        EventParams::UserToolConfirmation(confirmation) => {
            let decision = match confirmation.result {
                ConfirmationResult::Allow => {
                    if confirmation.deny_message.is_some() {
                        return Err(ApiError::invalid(format!(
                            "events[{i}].deny_message goes only with result \"deny\"."
                        )));
                    }
                    Decision::Allow
                }
                ConfirmationResult::Deny => Decision::Deny { message: confirmation.deny_message.clone() },
            };
            return Ok(Some((confirmation.tool_use_id.clone(), decision)));
        }
        EventParams::UserCustomToolResult(result) => {
            return Ok(Some((result.custom_tool_use_id.clone(), Decision::Answered)));
        }
        EventParams::UserToolResult(result) if self_hosted => {
            return Ok(Some((result.tool_use_id.clone(), Decision::ToolResult)));
        }
        EventParams::UserToolResult(_) => {
            return Err(ApiError::invalid(format!(
                "events[{i}]: user.tool_result is only for sessions in self-hosted environments."
            )));
        }
        EventParams::Unknown(value) => {
            return Err(ApiError::invalid(format!(
                "events[{i}].type: {} is not an event a client can send.",
                value.get("type").unwrap_or(&Value::Null)
            )));
        }
        other => {
            return Err(ApiError::invalid(format!(
                "events[{i}]: the embedded engine does not support {} (its scripted model has no system turns).",
                other.type_name()
            )));
        }
    }
    Ok(None)
}

/// Whether `kind` is a type event lists can filter on: every persisted type but
/// `session.deleted`, which ends a stream and is never listed.
pub fn listable_type(kind: &str) -> bool {
    kind != types::SESSION_DELETED && SessionEvent::KNOWN_TYPES.contains(&kind)
}
