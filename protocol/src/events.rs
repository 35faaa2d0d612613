//! Session events as received: the history union [`SessionEvent`] (what
//! `GET /v1/sessions/{id}/events` pages through, 42 types) and the stream union [`StreamEvent`]
//! (the same plus the `event_start` / `event_delta` previews of the SSE stream). A thread's own
//! history and stream (`/threads/{id}/events`, `/threads/{id}/stream`) carry the same unions.
//!
//! Several event types carry the same fields; they share one struct, with a type alias per event
//! so each can still be named (e.g. [`AgentThinkingEvent`] = [`BareEvent`]).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::common::{Empty, Metadata, Timestamp, serialize_tagged};
use crate::content::{AgentMessageBlock, TextContent, ToolResultContentBlock, UserContentBlock};
use crate::event_parts::{ConfirmationResult, Rubric};
use crate::open_union;
use crate::session_parts::{Budget, SessionAgent};
use crate::usage::SessionUsage;

// ---------------------------------------------------------------------------------------------
// The unions
// ---------------------------------------------------------------------------------------------

/// Declares [`SessionEvent`] with `open_union!` and the helpers that need every variant.
macro_rules! session_events {
    ( $( $(#[$vmeta:meta])* $variant:ident($ty:ty) = $tag:literal ),+ $(,)? ) => {
        open_union! {
            /// A persisted session event, as listed by the history endpoint and sent on the stream.
            /// A type this version does not know lands in `Unknown` and is kept whole.
            pub enum SessionEvent {
                $( $(#[$vmeta])* $variant($ty) = $tag, )+
            }
        }

        impl SessionEvent {
            /// The event id (`sevt_…`). `None` only for an `Unknown` event without a string `id`.
            pub fn id(&self) -> Option<&str> {
                match self {
                    $( Self::$variant(e) => Some(e.id.as_str()), )+
                    Self::Unknown(value) => value.get("id").and_then(Value::as_str),
                }
            }

            /// When the server processed the event. `None` for a user/system echo still queued,
            /// or an `Unknown` event without a string `processed_at`.
            pub fn processed_at(&self) -> Option<&str> {
                match self {
                    $( Self::$variant(e) => ProcessedAt::get(&e.processed_at), )+
                    Self::Unknown(value) => value.get("processed_at").and_then(Value::as_str),
                }
            }

            /// What a server does as it records an event it emits: gives it an id (`new_id`'s,
            /// unless it has a non-empty one) and `processed_at`.
            pub fn stamp(&mut self, new_id: impl FnOnce() -> String, processed_at: Timestamp) {
                match self {
                    $( Self::$variant(e) => {
                        if e.id.is_empty() {
                            e.id = new_id();
                        }
                        ProcessedAt::set(&mut e.processed_at, processed_at);
                    } )+
                    Self::Unknown(Value::Object(fields)) => {
                        if fields.get("id").and_then(Value::as_str).is_none_or(str::is_empty) {
                            fields.insert("id".to_owned(), Value::String(new_id()));
                        }
                        fields.insert("processed_at".to_owned(), Value::String(processed_at));
                    }
                    Self::Unknown(_) => {}
                }
            }
        }
    };
}

session_events! {
    UserMessage(UserMessageEvent) = "user.message",
    UserInterrupt(UserInterruptEvent) = "user.interrupt",
    UserToolConfirmation(UserToolConfirmationEvent) = "user.tool_confirmation",
    UserCustomToolResult(UserCustomToolResultEvent) = "user.custom_tool_result",
    AgentCustomToolUse(AgentCustomToolUseEvent) = "agent.custom_tool_use",
    AgentMessage(AgentMessageEvent) = "agent.message",
    /// A progress signal only: no thinking text is ever exposed.
    AgentThinking(AgentThinkingEvent) = "agent.thinking",
    AgentMcpToolUse(AgentMcpToolUseEvent) = "agent.mcp_tool_use",
    AgentMcpToolResult(AgentMcpToolResultEvent) = "agent.mcp_tool_result",
    AgentToolUse(AgentToolUseEvent) = "agent.tool_use",
    AgentToolResult(AgentToolResultEvent) = "agent.tool_result",
    AgentThreadMessageReceived(AgentThreadMessageReceivedEvent) = "agent.thread_message_received",
    AgentThreadMessageSent(AgentThreadMessageSentEvent) = "agent.thread_message_sent",
    AgentThreadContextCompacted(AgentThreadContextCompactedEvent) = "agent.thread_context_compacted",
    SessionError(SessionErrorEvent) = "session.error",
    /// The session is recovering from a transient error.
    SessionStatusRescheduled(SessionStatusRescheduledEvent) = "session.status_rescheduled",
    SessionStatusRunning(SessionStatusRunningEvent) = "session.status_running",
    SessionStatusIdle(SessionStatusIdleEvent) = "session.status_idle",
    SessionStatusTerminated(SessionStatusTerminatedEvent) = "session.status_terminated",
    SessionThreadCreated(SessionThreadCreatedEvent) = "session.thread_created",
    SpanOutcomeEvaluationStart(SpanOutcomeEvaluationStartEvent) = "span.outcome_evaluation_start",
    SpanOutcomeEvaluationEnd(SpanOutcomeEvaluationEndEvent) = "span.outcome_evaluation_end",
    SpanModelRequestStart(SpanModelRequestStartEvent) = "span.model_request_start",
    SpanModelRequestEnd(SpanModelRequestEndEvent) = "span.model_request_end",
    /// A heartbeat while an outcome is being graded.
    SpanOutcomeEvaluationOngoing(SpanOutcomeEvaluationOngoingEvent) = "span.outcome_evaluation_ongoing",
    UserDefineOutcome(UserDefineOutcomeEvent) = "user.define_outcome",
    /// Ends the stream. Not accepted by the history endpoint's `types[]` filter.
    SessionDeleted(SessionDeletedEvent) = "session.deleted",
    SessionThreadStatusRunning(SessionThreadStatusRunningEvent) = "session.thread_status_running",
    SessionThreadStatusIdle(SessionThreadStatusIdleEvent) = "session.thread_status_idle",
    SessionThreadStatusTerminated(SessionThreadStatusTerminatedEvent) = "session.thread_status_terminated",
    /// Only on `self_hosted` environments, where the client runs sandbox tools itself.
    UserToolResult(UserToolResultEvent) = "user.tool_result",
    SessionThreadStatusRescheduled(SessionThreadStatusRescheduledEvent) = "session.thread_status_rescheduled",
    SessionUpdated(SessionUpdatedEvent) = "session.updated",
    SystemMessage(SystemMessageEvent) = "system.message",
    SessionUsage(SessionUsageEvent) = "session.usage",
    WorkflowRunCreated(WorkflowRunCreatedEvent) = "workflow_run.created",
    /// The last event of a run.
    WorkflowRunStatusEnded(WorkflowRunStatusEndedEvent) = "workflow_run.status_ended",
    WorkflowRunPhaseStarted(WorkflowRunPhaseStartedEvent) = "workflow_run.phase_started",
    WorkflowRunPhaseEnded(WorkflowRunPhaseEndedEvent) = "workflow_run.phase_ended",
    WorkflowRunStatusRunning(WorkflowRunStatusRunningEvent) = "workflow_run.status_running",
    WorkflowRunStatusIdle(WorkflowRunStatusIdleEvent) = "workflow_run.status_idle",
    WorkflowRunError(WorkflowRunErrorEvent) = "workflow_run.error",
}

/// The `type` of every event [`SessionEvent`] knows, for code that matches on the JSON (the
/// browser, which keeps events as JSON to stay small) or builds it.
pub mod types {
    pub const USER_MESSAGE: &str = "user.message";
    pub const USER_INTERRUPT: &str = "user.interrupt";
    pub const USER_TOOL_CONFIRMATION: &str = "user.tool_confirmation";
    pub const USER_CUSTOM_TOOL_RESULT: &str = "user.custom_tool_result";
    pub const AGENT_CUSTOM_TOOL_USE: &str = "agent.custom_tool_use";
    pub const AGENT_MESSAGE: &str = "agent.message";
    pub const AGENT_THINKING: &str = "agent.thinking";
    pub const AGENT_MCP_TOOL_USE: &str = "agent.mcp_tool_use";
    pub const AGENT_MCP_TOOL_RESULT: &str = "agent.mcp_tool_result";
    pub const AGENT_TOOL_USE: &str = "agent.tool_use";
    pub const AGENT_TOOL_RESULT: &str = "agent.tool_result";
    pub const AGENT_THREAD_MESSAGE_RECEIVED: &str = "agent.thread_message_received";
    pub const AGENT_THREAD_MESSAGE_SENT: &str = "agent.thread_message_sent";
    pub const AGENT_THREAD_CONTEXT_COMPACTED: &str = "agent.thread_context_compacted";
    pub const SESSION_ERROR: &str = "session.error";
    pub const SESSION_STATUS_RESCHEDULED: &str = "session.status_rescheduled";
    pub const SESSION_STATUS_RUNNING: &str = "session.status_running";
    pub const SESSION_STATUS_IDLE: &str = "session.status_idle";
    pub const SESSION_STATUS_TERMINATED: &str = "session.status_terminated";
    pub const SESSION_THREAD_CREATED: &str = "session.thread_created";
    pub const SPAN_OUTCOME_EVALUATION_START: &str = "span.outcome_evaluation_start";
    pub const SPAN_OUTCOME_EVALUATION_END: &str = "span.outcome_evaluation_end";
    pub const SPAN_MODEL_REQUEST_START: &str = "span.model_request_start";
    pub const SPAN_MODEL_REQUEST_END: &str = "span.model_request_end";
    pub const SPAN_OUTCOME_EVALUATION_ONGOING: &str = "span.outcome_evaluation_ongoing";
    pub const USER_DEFINE_OUTCOME: &str = "user.define_outcome";
    pub const SESSION_DELETED: &str = "session.deleted";
    pub const SESSION_THREAD_STATUS_RUNNING: &str = "session.thread_status_running";
    pub const SESSION_THREAD_STATUS_IDLE: &str = "session.thread_status_idle";
    pub const SESSION_THREAD_STATUS_TERMINATED: &str = "session.thread_status_terminated";
    pub const USER_TOOL_RESULT: &str = "user.tool_result";
    pub const SESSION_THREAD_STATUS_RESCHEDULED: &str = "session.thread_status_rescheduled";
    pub const SESSION_UPDATED: &str = "session.updated";
    pub const SYSTEM_MESSAGE: &str = "system.message";
    pub const SESSION_USAGE: &str = "session.usage";
    pub const WORKFLOW_RUN_CREATED: &str = "workflow_run.created";
    pub const WORKFLOW_RUN_STATUS_ENDED: &str = "workflow_run.status_ended";
    pub const WORKFLOW_RUN_PHASE_STARTED: &str = "workflow_run.phase_started";
    pub const WORKFLOW_RUN_PHASE_ENDED: &str = "workflow_run.phase_ended";
    pub const WORKFLOW_RUN_STATUS_RUNNING: &str = "workflow_run.status_running";
    pub const WORKFLOW_RUN_STATUS_IDLE: &str = "workflow_run.status_idle";
    pub const WORKFLOW_RUN_ERROR: &str = "workflow_run.error";

    /// Every constant above: a test keeps it equal to [`super::SessionEvent::KNOWN_TYPES`].
    pub const ALL: &[&str] = &[
        USER_MESSAGE,
        USER_INTERRUPT,
        USER_TOOL_CONFIRMATION,
        USER_CUSTOM_TOOL_RESULT,
        AGENT_CUSTOM_TOOL_USE,
        AGENT_MESSAGE,
        AGENT_THINKING,
        AGENT_MCP_TOOL_USE,
        AGENT_MCP_TOOL_RESULT,
        AGENT_TOOL_USE,
        AGENT_TOOL_RESULT,
        AGENT_THREAD_MESSAGE_RECEIVED,
        AGENT_THREAD_MESSAGE_SENT,
        AGENT_THREAD_CONTEXT_COMPACTED,
        SESSION_ERROR,
        SESSION_STATUS_RESCHEDULED,
        SESSION_STATUS_RUNNING,
        SESSION_STATUS_IDLE,
        SESSION_STATUS_TERMINATED,
        SESSION_THREAD_CREATED,
        SPAN_OUTCOME_EVALUATION_START,
        SPAN_OUTCOME_EVALUATION_END,
        SPAN_MODEL_REQUEST_START,
        SPAN_MODEL_REQUEST_END,
        SPAN_OUTCOME_EVALUATION_ONGOING,
        USER_DEFINE_OUTCOME,
        SESSION_DELETED,
        SESSION_THREAD_STATUS_RUNNING,
        SESSION_THREAD_STATUS_IDLE,
        SESSION_THREAD_STATUS_TERMINATED,
        USER_TOOL_RESULT,
        SESSION_THREAD_STATUS_RESCHEDULED,
        SESSION_UPDATED,
        SYSTEM_MESSAGE,
        SESSION_USAGE,
        WORKFLOW_RUN_CREATED,
        WORKFLOW_RUN_STATUS_ENDED,
        WORKFLOW_RUN_PHASE_STARTED,
        WORKFLOW_RUN_PHASE_ENDED,
        WORKFLOW_RUN_STATUS_RUNNING,
        WORKFLOW_RUN_STATUS_IDLE,
        WORKFLOW_RUN_ERROR,
    ];
}

impl SessionEvent {
    /// The thread a child thread's event was cross-posted from, or the thread a confirmation /
    /// result / interrupt was routed to, when the event says so.
    pub fn session_thread_id(&self) -> Option<&str> {
        match self {
            Self::UserInterrupt(e) => e.session_thread_id.as_deref(),
            Self::UserToolConfirmation(e) => e.session_thread_id.as_deref(),
            Self::UserCustomToolResult(e) => e.session_thread_id.as_deref(),
            Self::UserToolResult(e) => e.session_thread_id.as_deref(),
            Self::AgentCustomToolUse(e) => e.session_thread_id.as_deref(),
            Self::AgentToolUse(e) => e.session_thread_id.as_deref(),
            Self::AgentMcpToolUse(e) => e.session_thread_id.as_deref(),
            Self::SessionThreadCreated(e) => Some(&e.session_thread_id),
            Self::SessionThreadStatusRunning(e)
            | Self::SessionThreadStatusRescheduled(e)
            | Self::SessionThreadStatusTerminated(e) => Some(&e.session_thread_id),
            Self::SessionThreadStatusIdle(e) => Some(&e.session_thread_id),
            _ => None,
        }
    }
}

/// What the SSE stream carries: a persisted [`SessionEvent`] or a preview of one still being
/// produced (only on connections that asked for `event_deltas`; never in history).
///
/// Previews are dispatched on `type` like every other event; any `type` other than the two
/// preview types goes to [`SessionEvent`], whose `Unknown` arm keeps new types.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// `event_start`: opens the preview of an `agent.message` / `agent.thinking`.
    Start(EventStart),
    /// `event_delta`: one fragment of a previewed `agent.message`.
    Delta(EventDelta),
    Event(SessionEvent),
}

impl StreamEvent {
    /// The two preview types; every other known type is in [`SessionEvent::KNOWN_TYPES`].
    pub const PREVIEW_TYPES: &'static [&'static str] = &["event_start", "event_delta"];

    /// The JSON `type` of this value.
    pub fn type_name(&self) -> &str {
        match self {
            Self::Start(_) => "event_start",
            Self::Delta(_) => "event_delta",
            Self::Event(e) => e.type_name(),
        }
    }

    /// The event id; `None` for previews (they have no id of their own; see
    /// [`StreamEvent::previewed_event_id`]).
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::Event(e) => e.id(),
            Self::Start(_) | Self::Delta(_) => None,
        }
    }

    /// `None` for previews, which carry no timestamp.
    pub fn processed_at(&self) -> Option<&str> {
        match self {
            Self::Event(e) => e.processed_at(),
            Self::Start(_) | Self::Delta(_) => None,
        }
    }

    /// For a preview, the id of the event it previews (the final `agent.message` /
    /// `agent.thinking` carries the same id and replaces the preview).
    pub fn previewed_event_id(&self) -> Option<&str> {
        match self {
            Self::Start(s) => s.event.id(),
            Self::Delta(d) => Some(&d.event_id),
            Self::Event(_) => None,
        }
    }

    /// The persisted event, if this is not a preview.
    pub fn into_event(self) -> Option<SessionEvent> {
        match self {
            Self::Event(e) => Some(e),
            Self::Start(_) | Self::Delta(_) => None,
        }
    }
}

impl From<SessionEvent> for StreamEvent {
    fn from(event: SessionEvent) -> Self {
        Self::Event(event)
    }
}

impl Serialize for StreamEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Start(inner) => serialize_tagged(inner, "event_start", serializer),
            Self::Delta(inner) => serialize_tagged(inner, "event_delta", serializer),
            Self::Event(event) => event.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for StreamEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = Value::deserialize(deserializer)?;
        match value.get("type").and_then(Value::as_str) {
            Some("event_start") => serde_json::from_value(value)
                .map(Self::Start)
                .map_err(|e| D::Error::custom(format_args!("event_start: {e}"))),
            Some("event_delta") => serde_json::from_value(value)
                .map(Self::Delta)
                .map_err(|e| D::Error::custom(format_args!("event_delta: {e}"))),
            _ => serde_json::from_value(value).map(Self::Event).map_err(D::Error::custom),
        }
    }
}

/// `processed_at` is required on most events and optional on user/system echoes.
trait ProcessedAt {
    fn get(&self) -> Option<&str>;
    fn set(&mut self, at: Timestamp);
}

impl ProcessedAt for Timestamp {
    fn get(&self) -> Option<&str> {
        Some(self)
    }

    fn set(&mut self, at: Timestamp) {
        *self = at;
    }
}

impl ProcessedAt for Option<Timestamp> {
    fn get(&self) -> Option<&str> {
        self.as_deref()
    }

    fn set(&mut self, at: Timestamp) {
        *self = Some(at);
    }
}

// ---------------------------------------------------------------------------------------------
// Stream previews
// ---------------------------------------------------------------------------------------------

/// `event_start`: carries only the previewed event's type and id. No `id` / `processed_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventStart {
    pub event: PreviewedEvent,
}

open_union! {
    /// The event an `event_start` opens a preview of. `agent.thinking` previews are start-only:
    /// no deltas follow, the buffered `agent.thinking` closes them.
    pub enum PreviewedEvent {
        AgentMessage(PreviewRef) = "agent.message",
        AgentThinking(PreviewRef) = "agent.thinking",
    }
}

impl PreviewedEvent {
    /// The id the final buffered event will carry.
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::AgentMessage(p) | Self::AgentThinking(p) => Some(&p.id),
            Self::Unknown(value) => value.get("id").and_then(Value::as_str),
        }
    }
}

/// `{"type":…,"id":…}` inside an `event_start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewRef {
    pub id: String,
}

/// `event_delta`: a fragment of a previewed event. Best effort: deltas may stop early; the
/// buffered event with `id == event_id` always carries the full content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventDelta {
    pub delta: Delta,
    /// The id of the previewed event (same as `event_start.event.id`).
    pub event_id: String,
}

open_union! {
    /// A delta, named after the field of the previewed event it streams into.
    pub enum Delta {
        Content(ContentDelta) = "content_delta",
    }
}

/// `content_delta`: a partial element of an `agent.message`'s `content`.
///
/// Folding (as the SDK does): `index` absent/null means 0; `index == len` pushes `content` as a
/// new block, `index < len` appends its text to that block, `index > len` is an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentDelta {
    pub content: TextContent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
}

// ---------------------------------------------------------------------------------------------
// Shared shapes
// ---------------------------------------------------------------------------------------------

/// An event with no fields beyond `id` and `processed_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BareEvent {
    pub id: String,
    pub processed_at: Timestamp,
}

pub type AgentThinkingEvent = BareEvent;
/// The thread's context was compacted (older turns summarised) to stay within the window.
pub type AgentThreadContextCompactedEvent = BareEvent;
pub type SessionStatusRescheduledEvent = BareEvent;
pub type SessionStatusRunningEvent = BareEvent;
pub type SessionStatusTerminatedEvent = BareEvent;
pub type SessionDeletedEvent = BareEvent;
pub type SpanModelRequestStartEvent = BareEvent;

// ---------------------------------------------------------------------------------------------
// User and system echoes
// ---------------------------------------------------------------------------------------------

/// `user.message`. `processed_at` is absent/null while the message is still queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserMessageEvent {
    pub id: String,
    pub content: Vec<UserContentBlock>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processed_at: Option<Timestamp>,
}

/// `user.interrupt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInterruptEvent {
    /// May be empty.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processed_at: Option<Timestamp>,
    /// The interrupted thread, when the interrupt named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_thread_id: Option<String>,
}

/// `user.tool_confirmation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserToolConfirmationEvent {
    pub id: String,
    pub result: ConfirmationResult,
    /// The id (`sevt_…`) of the `agent.tool_use` / `agent.mcp_tool_use` event answered.
    pub tool_use_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processed_at: Option<Timestamp>,
    /// The thread the confirmation was routed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_thread_id: Option<String>,
}

/// `user.custom_tool_result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserCustomToolResultEvent {
    pub id: String,
    /// The id (`sevt_…`) of the `agent.custom_tool_use` event answered.
    pub custom_tool_use_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<ToolResultContentBlock>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processed_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_thread_id: Option<String>,
}

/// `user.tool_result` (self-hosted environments only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserToolResultEvent {
    pub id: String,
    /// The id (`sevt_…`) of the `agent.tool_use` event answered.
    pub tool_use_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<ToolResultContentBlock>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processed_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_thread_id: Option<String>,
}

/// `user.define_outcome`. A file rubric currently comes back resolved to text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDefineOutcomeEvent {
    pub id: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_iterations: Option<u32>,
    /// `outc_…`; referenced by the `span.outcome_evaluation_*` events.
    pub outcome_id: String,
    pub processed_at: Timestamp,
    pub rubric: Rubric,
}

/// `system.message`: text appended to the system context as a `role: "system"` turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemMessageEvent {
    pub id: String,
    pub content: Vec<TextContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processed_at: Option<Timestamp>,
}

// ---------------------------------------------------------------------------------------------
// Agent events
// ---------------------------------------------------------------------------------------------

/// `agent.message`: the final, authoritative text of a model turn (replaces any preview).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentMessageEvent {
    pub id: String,
    pub content: Vec<AgentMessageBlock>,
    pub processed_at: Timestamp,
}

/// `agent.tool_use`: a call of a built-in (agent toolset) tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentToolUseEvent {
    pub id: String,
    pub input: Map<String, Value>,
    pub name: String,
    pub processed_at: Timestamp,
    /// `ask`: held until a `user.tool_confirmation` answers it; `deny`: never runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluated_permission: Option<EvaluatedPermission>,
    /// The policy that produced `evaluated_permission`; absent when the server refused before
    /// any policy applied (e.g. the tool is not enabled), and on events older than the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<ToolEvaluation>,
    /// Set when a child thread's event is cross-posted to the primary stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_thread_id: Option<String>,
}

/// `agent.mcp_tool_use`: a call of a tool of an MCP server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentMcpToolUseEvent {
    pub id: String,
    pub input: Map<String, Value>,
    pub mcp_server_name: String,
    pub name: String,
    pub processed_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluated_permission: Option<EvaluatedPermission>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<ToolEvaluation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_thread_id: Option<String>,
}

/// `agent.custom_tool_use`: the client must answer with `user.custom_tool_result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentCustomToolUseEvent {
    pub id: String,
    pub input: Map<String, Value>,
    pub name: String,
    pub processed_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_thread_id: Option<String>,
}

/// `agent.tool_result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentToolResultEvent {
    pub id: String,
    pub processed_at: Timestamp,
    /// The id (`sevt_…`) of the `agent.tool_use` event.
    pub tool_use_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<ToolResultContentBlock>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
}

/// `agent.mcp_tool_result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentMcpToolResultEvent {
    pub id: String,
    /// The id (`sevt_…`) of the `agent.mcp_tool_use` event.
    pub mcp_tool_use_id: String,
    pub processed_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<ToolResultContentBlock>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
}

/// `agent.thread_message_received`: a message from another thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentThreadMessageReceivedEvent {
    pub id: String,
    pub content: Vec<UserContentBlock>,
    pub from_session_thread_id: String,
    pub processed_at: Timestamp,
    /// Absent when the sender is the primary thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_agent_name: Option<String>,
}

/// `agent.thread_message_sent`: a message to another thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentThreadMessageSentEvent {
    pub id: String,
    pub content: Vec<UserContentBlock>,
    pub processed_at: Timestamp,
    pub to_session_thread_id: String,
    /// Absent when the recipient is the primary thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_agent_name: Option<String>,
}

/// The permission the server gave a tool call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvaluatedPermission {
    Allow,
    /// Held for a `user.tool_confirmation`.
    Ask,
    /// Not run; a synthetic error result is appended.
    Deny,
}

open_union! {
    /// Which permission policy produced `evaluated_permission`. For old events without it,
    /// treat `allow` as `always_allow` and `ask` as `always_ask`.
    pub enum ToolEvaluation {
        /// Accompanies `evaluated_permission: allow`.
        AlwaysAllow(Empty) = "always_allow",
        /// Accompanies `evaluated_permission: ask`.
        AlwaysAsk(Empty) = "always_ask",
        /// The server judged this call individually.
        Auto(AutoEvaluation) = "auto",
    }
}

/// `{"type":"auto","evaluated_permission":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoEvaluation {
    pub evaluated_permission: AutoEvaluatedPermission,
}

open_union! {
    /// The server's judgement of one call under the `auto` policy.
    pub enum AutoEvaluatedPermission {
        /// Judged safe to run without approval.
        Allow(Empty) = "allow",
        /// No judgement reached; held for approval.
        Ask(AutoReason) = "ask",
        /// Judged high-risk, or no judgement and not held (e.g. out of credits): not run.
        Deny(AutoReason) = "deny",
    }
}

/// The grounds of an `auto` judgement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoReason {
    pub reason_code: ReasonCode,
}

/// An open registry: clients must tolerate values outside the known set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// No judgement was reached.
    Indeterminate,
    /// Judged high-risk (deny only).
    HighRisk,
    #[serde(untagged)]
    Other(String),
}

// ---------------------------------------------------------------------------------------------
// Session status and lifecycle
// ---------------------------------------------------------------------------------------------

/// `session.status_idle`: the agent paused and awaits input. The only place stop reasons arrive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionStatusIdleEvent {
    pub id: String,
    pub processed_at: Timestamp,
    /// `null` when there is nothing more to report. Absent and `null` are kept apart
    /// (`None` / `Some(None)`) so an event re-sent is the event received: the API sends `null`.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub stop_details: Option<Option<StopDetails>>,
    pub stop_reason: StopReason,
}

/// `session.thread_status_idle`: a thread paused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionThreadStatusIdleEvent {
    pub id: String,
    pub agent_name: String,
    pub processed_at: Timestamp,
    pub session_thread_id: String,
    /// As [`SessionStatusIdleEvent::stop_details`].
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub stop_details: Option<Option<StopDetails>>,
    pub stop_reason: StopReason,
}

open_union! {
    /// Why a session or thread went idle.
    pub enum StopReason {
        /// The turn finished (also after an interrupt); send the next `user.message`.
        EndTurn(Empty) = "end_turn",
        /// Blocked on confirmations / tool results for the listed events.
        RequiresAction(RequiresAction) = "requires_action",
        /// Repeated errors exhausted retries, or an error came with `retry_status: exhausted`.
        RetriesExhausted(Empty) = "retries_exhausted",
        /// The budget was reached; only settle events are accepted until it is raised/removed.
        BudgetReached(Empty) = "budget_reached",
        /// The model refused; see `stop_details`.
        Refusal(Empty) = "refusal",
    }
}

impl StopReason {
    /// The events waiting for the client (empty unless `requires_action`).
    pub fn event_ids(&self) -> &[String] {
        match self {
            Self::RequiresAction(r) => &r.event_ids,
            _ => &[],
        }
    }
}

/// `requires_action`: the events (`sevt_…`) waiting for a `user.tool_confirmation`,
/// `user.custom_tool_result` or `user.tool_result`. Resolving only some re-emits idle with the
/// remainder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequiresAction {
    pub event_ids: Vec<String>,
}

open_union! {
    /// Structured information about why a session stopped.
    pub enum StopDetails {
        Refusal(RefusalStopDetails) = "refusal",
    }
}

/// `{"type":"refusal",…}` stop details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefusalStopDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<RefusalCategory>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

/// The policy area of a refusal (the SDK lists five; kept open for new ones).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCategory {
    Cyber,
    Bio,
    FrontierLlm,
    ReasoningExtraction,
    GeneralHarms,
    #[serde(untagged)]
    Other(String),
}

/// `session.error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionErrorEvent {
    pub id: String,
    pub error: SessionError,
    pub processed_at: Timestamp,
}

/// `session.updated`: only the fields an update changed; the change applies from the next turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionUpdatedEvent {
    pub id: String,
    pub processed_at: Timestamp,
    /// The full effective agent after the update, when it changed (not a diff). Boxed: it is
    /// by far the largest event field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Box<SessionAgent>>,
    /// Absent: the budget did not change; `Some(None)` (JSON `null`): the update removed it.
    /// Unlike other optional fields, absent and `null` mean different things here.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub budget: Option<Option<Budget>>,
    /// The full metadata map after the update; absent when unchanged or cleared to empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Absent: the title did not change; `Some(None)` (JSON `null`): the update cleared it.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub title: Option<Option<String>>,
}

/// `session.usage`: a periodic snapshot of cumulative usage and tracked list cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionUsageEvent {
    pub id: String,
    pub processed_at: Timestamp,
    pub usage: SessionUsage,
    /// The configured budget at snapshot time; absent/null when the session has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
}

/// `session.thread_created`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionThreadCreatedEvent {
    pub id: String,
    pub agent_name: String,
    pub processed_at: Timestamp,
    pub session_thread_id: String,
    /// Set when the thread belongs to a workflow run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_run_id: Option<String>,
}

/// A thread status change without further details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadStatusEvent {
    pub id: String,
    pub agent_name: String,
    pub processed_at: Timestamp,
    pub session_thread_id: String,
}

pub type SessionThreadStatusRunningEvent = ThreadStatusEvent;
pub type SessionThreadStatusRescheduledEvent = ThreadStatusEvent;
pub type SessionThreadStatusTerminatedEvent = ThreadStatusEvent;

// ---------------------------------------------------------------------------------------------
// Session errors
// ---------------------------------------------------------------------------------------------

open_union! {
    /// The `error` of a `session.error` event.
    pub enum SessionError {
        /// Fallback: match on `retry_status` and `message`.
        UnknownError(ErrorInfo) = "unknown_error",
        ModelOverloadedError(ErrorInfo) = "model_overloaded_error",
        ModelRateLimitedError(ErrorInfo) = "model_rate_limited_error",
        ModelRequestFailedError(ErrorInfo) = "model_request_failed_error",
        McpConnectionFailedError(McpErrorInfo) = "mcp_connection_failed_error",
        McpAuthenticationFailedError(McpErrorInfo) = "mcp_authentication_failed_error",
        /// Out of credits or at a spend limit; retrying with the same credentials won't help.
        BillingError(ErrorInfo) = "billing_error",
        /// An `environment_variable` credential's allowed host is not permitted by the
        /// environment's network policy.
        CredentialHostUnreachableError(CredentialErrorInfo) = "credential_host_unreachable_error",
        /// The agent loop hit its tool-round limit; the thread idles with `retries_exhausted`.
        ToolUseLimitReachedError(ErrorInfo) = "tool_use_limit_reached_error",
        /// Too many compactions in a row without progress; idles with `retries_exhausted`.
        CompactionLimitReachedError(ErrorInfo) = "compaction_limit_reached_error",
        RepositoryAuthenticationError(RepositoryErrorInfo) = "repository_authentication_error",
        RepositoryForbiddenError(RepositoryErrorInfo) = "repository_forbidden_error",
        RepositoryNotFoundError(RepositoryErrorInfo) = "repository_not_found_error",
        RepositoryCheckoutError(RepositoryErrorInfo) = "repository_checkout_error",
        RepositoryCloneError(RepositoryErrorInfo) = "repository_clone_error",
    }
}

impl SessionError {
    /// The human-readable description (for `Unknown`, its `message` if a string).
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::UnknownError(e)
            | Self::ModelOverloadedError(e)
            | Self::ModelRateLimitedError(e)
            | Self::ModelRequestFailedError(e)
            | Self::BillingError(e)
            | Self::ToolUseLimitReachedError(e)
            | Self::CompactionLimitReachedError(e) => Some(&e.message),
            Self::McpConnectionFailedError(e) | Self::McpAuthenticationFailedError(e) => Some(&e.message),
            Self::CredentialHostUnreachableError(e) => Some(&e.message),
            Self::RepositoryAuthenticationError(e)
            | Self::RepositoryForbiddenError(e)
            | Self::RepositoryNotFoundError(e)
            | Self::RepositoryCheckoutError(e)
            | Self::RepositoryCloneError(e) => Some(&e.message),
            Self::Unknown(value) => value.get("message").and_then(Value::as_str),
        }
    }

    /// What the client should do next. For `Unknown`, parsed from its `retry_status` if possible.
    pub fn retry_status(&self) -> Option<RetryStatus> {
        match self {
            Self::UnknownError(e)
            | Self::ModelOverloadedError(e)
            | Self::ModelRateLimitedError(e)
            | Self::ModelRequestFailedError(e)
            | Self::BillingError(e)
            | Self::ToolUseLimitReachedError(e)
            | Self::CompactionLimitReachedError(e) => Some(e.retry_status.clone()),
            Self::McpConnectionFailedError(e) | Self::McpAuthenticationFailedError(e) => Some(e.retry_status.clone()),
            Self::CredentialHostUnreachableError(e) => Some(e.retry_status.clone()),
            Self::RepositoryAuthenticationError(e)
            | Self::RepositoryForbiddenError(e)
            | Self::RepositoryNotFoundError(e)
            | Self::RepositoryCheckoutError(e)
            | Self::RepositoryCloneError(e) => Some(e.retry_status.clone()),
            Self::Unknown(value) => {
                value.get("retry_status").and_then(|status| serde_json::from_value(status.clone()).ok())
            }
        }
    }
}

/// Fields every session error has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorInfo {
    pub message: String,
    pub retry_status: RetryStatus,
}

/// An MCP server error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpErrorInfo {
    pub mcp_server_name: String,
    pub message: String,
    pub retry_status: RetryStatus,
}

/// `credential_host_unreachable_error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialErrorInfo {
    pub credential_id: String,
    pub message: String,
    pub retry_status: RetryStatus,
    pub vault_id: String,
}

/// A repository mount error. The session continues without the repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepositoryErrorInfo {
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_url: Option<String>,
    pub retry_status: RetryStatus,
}

open_union! {
    /// What the client should do after a session error.
    pub enum RetryStatus {
        /// The server is retrying: wait. May repeat, then end as `exhausted`.
        Retrying(Empty) = "retrying",
        /// This turn is over (queued inputs flushed, session idle); a new prompt may be sent.
        Exhausted(Empty) = "exhausted",
        /// The session will become `terminated`.
        Terminal(Empty) = "terminal",
    }
}

// ---------------------------------------------------------------------------------------------
// Spans
// ---------------------------------------------------------------------------------------------

/// `span.model_request_end`. Also closes an open preview when no final event follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanModelRequestEndEvent {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// The id of the matching `span.model_request_start`.
    pub model_request_start_id: String,
    pub model_usage: SpanModelUsage,
    pub processed_at: Timestamp,
}

/// Token usage of one model request (or, on `span.outcome_evaluation_end`, of a grading cycle).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanModelUsage {
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Only present when the fast-mode beta is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<UsageSpeed>,
}

/// The inference speed tier a request ran at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageSpeed {
    Standard,
    Fast,
}

/// `span.outcome_evaluation_start` / `span.outcome_evaluation_ongoing` (a heartbeat).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeEvaluationEvent {
    pub id: String,
    /// 0-based revision cycle.
    pub iteration: u32,
    pub outcome_id: String,
    pub processed_at: Timestamp,
}

pub type SpanOutcomeEvaluationStartEvent = OutcomeEvaluationEvent;
pub type SpanOutcomeEvaluationOngoingEvent = OutcomeEvaluationEvent;

/// `span.outcome_evaluation_end`: the verdict of one grading cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanOutcomeEvaluationEndEvent {
    pub id: String,
    /// For `needs_revision`, which criteria failed and why.
    pub explanation: String,
    pub iteration: u32,
    /// The id of the matching `span.outcome_evaluation_start`.
    pub outcome_evaluation_start_id: String,
    pub outcome_id: String,
    pub processed_at: Timestamp,
    pub result: OutcomeResult,
    /// Summed over the grader's model requests in this cycle.
    pub usage: SpanModelUsage,
}

/// An evaluation verdict (a plain string in the SDK).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeResult {
    Satisfied,
    /// The only non-terminal verdict: another revision cycle follows.
    NeedsRevision,
    /// One final acknowledgement turn follows, but no further evaluation.
    MaxIterationsReached,
    /// The grader found the rubric does not apply to the deliverables.
    Failed,
    /// The user interrupted during evaluation.
    Interrupted,
    #[serde(untagged)]
    Other(String),
}

impl OutcomeResult {
    /// Whether no further evaluation cycle follows (an unknown verdict counts as terminal).
    pub fn is_terminal(&self) -> bool {
        !matches!(self, Self::NeedsRevision)
    }
}

// ---------------------------------------------------------------------------------------------
// Workflow runs
// ---------------------------------------------------------------------------------------------

/// `workflow_run.created`: emitted once per run, before its other `workflow_run.*` events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRunCreatedEvent {
    pub id: String,
    /// What the agent said the run is for; `null` when it said nothing (absent and `null` are
    /// kept apart, as for [`SessionStatusIdleEvent::stop_details`]).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub description: Option<Option<String>>,
    pub name: String,
    /// In the plan's order; can be empty.
    pub phases: Vec<WorkflowRunPhase>,
    pub processed_at: Timestamp,
    pub workflow_run_id: String,
}

/// A phase a workflow run's plan declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRunPhase {
    pub id: String,
    /// `null` when the plan gave the phase none (see [`WorkflowRunCreatedEvent::description`]).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub description: Option<Option<String>>,
    pub name: String,
}

/// `workflow_run.status_running` / `workflow_run.status_idle`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRunStatusEvent {
    pub id: String,
    pub processed_at: Timestamp,
    pub workflow_run_id: String,
}

pub type WorkflowRunStatusRunningEvent = WorkflowRunStatusEvent;
pub type WorkflowRunStatusIdleEvent = WorkflowRunStatusEvent;

/// `workflow_run.phase_started`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRunPhaseStartedEvent {
    pub id: String,
    pub processed_at: Timestamp,
    pub workflow_run_id: String,
    pub workflow_run_phase_id: String,
}

/// `workflow_run.phase_ended`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRunPhaseEndedEvent {
    pub id: String,
    /// The id of the matching `workflow_run.phase_started` event.
    pub phase_started_id: String,
    pub processed_at: Timestamp,
    pub workflow_run_id: String,
    pub workflow_run_phase_id: String,
}

/// `workflow_run.error`. A run ending with `result.type: error` emits this first, same `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRunErrorEvent {
    pub id: String,
    pub error: WorkflowRunError,
    pub processed_at: Timestamp,
    /// Absent/null when the error kept the run from being created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_run_id: Option<String>,
}

/// `workflow_run.status_ended`: the last event of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRunStatusEndedEvent {
    pub id: String,
    pub processed_at: Timestamp,
    pub result: WorkflowRunResult,
    pub workflow_run_id: String,
}

open_union! {
    /// How a workflow run ended.
    pub enum WorkflowRunResult {
        /// The plan (a program the agent wrote) finished; says nothing about whether the work
        /// succeeded.
        Completed(Empty) = "completed",
        Error(WorkflowRunResultError) = "error",
        /// The agent stopped the run.
        Stopped(Empty) = "stopped",
    }
}

/// `{"type":"error","error":…}` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRunResultError {
    pub error: WorkflowRunError,
}

open_union! {
    /// Why a workflow run did not finish, or was not created. The server-written `message`
    /// never contains content from the run or its agents.
    pub enum WorkflowRunError {
        /// The run reached its time limit.
        TimeoutError(WorkflowRunErrorInfo) = "timeout_error",
        ProgramError(WorkflowRunErrorInfo) = "program_error",
        UnknownError(WorkflowRunErrorInfo) = "unknown_error",
        ThreadLimitError(WorkflowRunErrorInfo) = "thread_limit_error",
        /// No run was created: the session is at its limit of open runs (`workflow_run.error`
        /// only).
        MaxWorkflowRunsError(WorkflowRunErrorInfo) = "max_workflow_runs_error",
    }
}

impl WorkflowRunError {
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::TimeoutError(e)
            | Self::ProgramError(e)
            | Self::UnknownError(e)
            | Self::ThreadLimitError(e)
            | Self::MaxWorkflowRunsError(e) => Some(&e.message),
            Self::Unknown(value) => value.get("message").and_then(Value::as_str),
        }
    }
}

/// The fields of a workflow-run error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRunErrorInfo {
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamping_gives_an_id_only_to_an_event_without_one_and_always_the_time() {
        let mut fresh = SessionEvent::AgentThinking(BareEvent { id: String::new(), processed_at: String::new() });
        fresh.stamp(|| "sevt_new".to_owned(), "2026-05-14T09:13:42Z".to_owned());
        assert_eq!((fresh.id(), fresh.processed_at()), (Some("sevt_new"), Some("2026-05-14T09:13:42Z")));

        let mut named =
            SessionEvent::AgentThinking(BareEvent { id: "sevt_preview".to_owned(), processed_at: String::new() });
        named.stamp(|| "sevt_new".to_owned(), "2026-05-14T09:13:43Z".to_owned());
        assert_eq!(named.id(), Some("sevt_preview"));

        let mut unknown: SessionEvent = serde_json::from_str(r#"{"type":"agent.dreaming","depth":3}"#).unwrap();
        unknown.stamp(|| "sevt_new".to_owned(), "2026-05-14T09:13:44Z".to_owned());
        assert_eq!(
            serde_json::to_string(&unknown).unwrap(),
            r#"{"type":"agent.dreaming","depth":3,"id":"sevt_new","processed_at":"2026-05-14T09:13:44Z"}"#
        );
    }
}
