//! What a client may send to a session: `POST /v1/sessions/{id}/events` with
//! `{"events": [...]}` ([`SendEventsBody`]), its response ([`SendEventsResponse`]), and the
//! subset allowed as `initial_events` when a session is created ([`InitialEvent`]).
//!
//! Optional params are skipped when unset: the SDK's params are `total=False` TypedDicts, and
//! sending `null` is not the same request as leaving a key out (e.g. `deny_message` is only
//! allowed with `result: "deny"`).

use serde::{Deserialize, Serialize};

use crate::content::{TextContent, ToolResultContentBlock, UserContentBlock};
pub use crate::event_parts::{ConfirmationResult, FileRubric, Rubric, TextRubric};
use crate::events::SessionEvent;
use crate::open_union;

/// Body of `POST /v1/sessions/{id}/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendEventsBody {
    pub events: Vec<EventParams>,
}

/// Response of `POST /v1/sessions/{id}/events`: the accepted events echoed back with their ids.
///
/// The SDK narrows `data` to the seven user/system echo types; the full event union is used here
/// so an echo is handled exactly like the same event arriving on the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendEventsResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<SessionEvent>>,
}

open_union! {
    /// One event a client sends (`BetaManagedAgentsEventParams`).
    pub enum EventParams {
        UserMessage(UserMessageParams) = "user.message",
        UserInterrupt(UserInterruptParams) = "user.interrupt",
        UserToolConfirmation(UserToolConfirmationParams) = "user.tool_confirmation",
        UserCustomToolResult(UserCustomToolResultParams) = "user.custom_tool_result",
        UserDefineOutcome(UserDefineOutcomeParams) = "user.define_outcome",
        /// Only valid on `self_hosted` environments.
        UserToolResult(UserToolResultParams) = "user.tool_result",
        /// At most one per request; it must be the last event and directly follow a
        /// `user.message`, `user.tool_result` or `user.custom_tool_result`.
        SystemMessage(SystemMessageParams) = "system.message",
    }
}

open_union! {
    /// An event allowed in `sessions.create(initial_events=…)` (at most 50, processed in order).
    pub enum InitialEvent {
        UserMessage(UserMessageParams) = "user.message",
        UserDefineOutcome(UserDefineOutcomeParams) = "user.define_outcome",
    }
}

/// `user.message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserMessageParams {
    pub content: Vec<UserContentBlock>,
}

/// `user.interrupt`: jumps the queue and forces the thread(s) idle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserInterruptParams {
    /// Absent: interrupt every non-archived thread (the primary alone in a single-agent session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_thread_id: Option<String>,
}

/// `user.tool_confirmation`: answers an `agent.tool_use` / `agent.mcp_tool_use` held for approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserToolConfirmationParams {
    pub result: ConfirmationResult,
    /// The id (`sevt_…`) of the tool-use *event*, as listed in `requires_action.event_ids`; not
    /// a `toolu_` id.
    pub tool_use_id: String,
    /// Shown to the agent; only allowed when `result` is `deny`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny_message: Option<String>,
}

impl UserToolConfirmationParams {
    pub fn allow(tool_use_id: impl Into<String>) -> Self {
        Self { result: ConfirmationResult::Allow, tool_use_id: tool_use_id.into(), deny_message: None }
    }

    pub fn deny(tool_use_id: impl Into<String>, deny_message: Option<String>) -> Self {
        Self { result: ConfirmationResult::Deny, tool_use_id: tool_use_id.into(), deny_message }
    }
}

/// `user.custom_tool_result`: the result of an `agent.custom_tool_use`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserCustomToolResultParams {
    /// The id (`sevt_…`) of the `agent.custom_tool_use` event.
    pub custom_tool_use_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<ToolResultContentBlock>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
}

/// `user.tool_result`: the result of an `agent.tool_use` the client ran itself (self-hosted
/// environments only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserToolResultParams {
    /// The id (`sevt_…`) of the `agent.tool_use` event.
    pub tool_use_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<ToolResultContentBlock>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
}

/// `user.define_outcome`: an outcome the agent works toward (it starts on receipt).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDefineOutcomeParams {
    /// What the agent should produce.
    pub description: String,
    pub rubric: Rubric,
    /// Evaluation→revision cycles before giving up (server default 3, max 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_iterations: Option<u32>,
}

/// `system.message`: text appended to the system context as a `role: "system"` turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemMessageParams {
    pub content: Vec<TextContent>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn interrupt_without_thread_is_bare() {
        let body = SendEventsBody { events: vec![EventParams::UserInterrupt(UserInterruptParams::default())] };
        assert_eq!(serde_json::to_value(&body).unwrap(), json!({"events": [{"type": "user.interrupt"}]}));
    }
}
