//! Every event the engine emits, built here as `protocol`'s typed [`SessionEvent`]s, so a
//! reader finds in one place what the engine sends and with which fields: the runtime's (its
//! status, what the model writes and calls, threads, workflow runs, outcome evaluations), the
//! domain's (`session.updated`, the echo of a `user.define_outcome`) and the stream's previews.
//! Outside `runtime/` and `domain/`, so both use it without one depending on the other. None of them is JSON
//! yet: [`crate::EngineState::append_event`] gives each its id (unless it was given one here,
//! because a preview or kept model context already names it) and its `processed_at`, and turns
//! it into the JSON that is stored and streamed.
//!
//! The API sends some fields as `null` rather than leaving them out (`stop_details` of an idle
//! event, the `description` of a workflow run and of its phases); so do these events.

use protocol::{
    common::Empty,
    content::{AgentMessageBlock, TextContent, ToolResultContentBlock, UserContentBlock},
    event_params::{Rubric, TextRubric},
    events::{
        AgentCustomToolUseEvent, AgentMcpToolResultEvent, AgentMcpToolUseEvent, AgentMessageEvent,
        AgentThreadMessageReceivedEvent, AgentThreadMessageSentEvent, AgentToolResultEvent, AgentToolUseEvent,
        BareEvent, ContentDelta, Delta, ErrorInfo, EvaluatedPermission, EventDelta, EventStart, McpErrorInfo,
        OutcomeEvaluationEvent, OutcomeResult, PreviewRef, PreviewedEvent, RepositoryErrorInfo, RequiresAction,
        RetryStatus, SessionError, SessionErrorEvent, SessionEvent, SessionStatusIdleEvent, SessionThreadCreatedEvent,
        SessionThreadStatusIdleEvent, SessionUpdatedEvent, SessionUsageEvent, SpanModelRequestEndEvent, SpanModelUsage,
        SpanOutcomeEvaluationEndEvent, StopReason, StreamEvent, ThreadStatusEvent, ToolEvaluation, UsageSpeed,
        UserDefineOutcomeEvent, WorkflowRunCreatedEvent, WorkflowRunError, WorkflowRunErrorEvent, WorkflowRunPhase,
        WorkflowRunPhaseEndedEvent, WorkflowRunPhaseStartedEvent, WorkflowRunResult, WorkflowRunStatusEndedEvent,
        WorkflowRunStatusEvent,
    },
    sessions::{Budget, SessionAgent},
    usage::SessionUsage,
};
use serde_json::{Map, Value};

use crate::model::stream::Usage;

/// The id of an event whose id [`crate::EngineState::append_event`] gives; also its
/// `processed_at` until then.
fn unstamped() -> String {
    String::new()
}

fn bare() -> BareEvent {
    BareEvent { id: unstamped(), processed_at: unstamped() }
}

// ---------------------------------------------------------------------------------------------
// The session's status
// ---------------------------------------------------------------------------------------------

pub fn status_running() -> SessionEvent {
    SessionEvent::SessionStatusRunning(bare())
}

pub fn status_rescheduled() -> SessionEvent {
    SessionEvent::SessionStatusRescheduled(bare())
}

pub fn status_terminated() -> SessionEvent {
    SessionEvent::SessionStatusTerminated(bare())
}

/// Why a turn ended: it finished (also after an interrupt).
pub fn end_turn() -> StopReason {
    StopReason::EndTurn(Empty {})
}

/// Why a turn ended: an error it could not get past.
pub fn retries_exhausted() -> StopReason {
    StopReason::RetriesExhausted(Empty {})
}

/// Why a turn ended: the session spent its budget.
pub fn budget_reached() -> StopReason {
    StopReason::BudgetReached(Empty {})
}

/// Why a turn ended: the model refused.
pub fn refusal() -> StopReason {
    StopReason::Refusal(Empty {})
}

/// Why a turn paused: the calls `event_ids` wait for the client.
pub fn requires_action(event_ids: Vec<String>) -> StopReason {
    StopReason::RequiresAction(RequiresAction { event_ids })
}

/// `session.status_idle` for `stop_reason`, with `stop_details: null` as the API sends it.
pub fn status_idle(stop_reason: StopReason) -> SessionEvent {
    SessionEvent::SessionStatusIdle(SessionStatusIdleEvent {
        id: unstamped(),
        processed_at: unstamped(),
        stop_details: Some(None),
        stop_reason,
    })
}

/// The `session.deleted` that ends a deleted session's streams (never stored).
pub fn session_deleted() -> SessionEvent {
    SessionEvent::SessionDeleted(bare())
}

/// `session.updated` with the fields an update changed (`Some(None)`: cleared to `null`).
pub fn session_updated(
    title: Option<Option<String>>,
    metadata: Option<protocol::common::Metadata>,
    agent: Option<SessionAgent>,
    budget: Option<Option<Budget>>,
) -> SessionEvent {
    SessionEvent::SessionUpdated(SessionUpdatedEvent {
        id: unstamped(),
        processed_at: unstamped(),
        agent: agent.map(Box::new),
        budget,
        metadata,
        title,
    })
}

/// `session.usage`: the session's cumulative `usage` (every thread's together) and its budget,
/// as the API sends after the usage changed.
pub fn session_usage(usage: SessionUsage, budget: Option<Budget>) -> SessionEvent {
    SessionEvent::SessionUsage(SessionUsageEvent { id: unstamped(), processed_at: unstamped(), usage, budget })
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// `session.error` of `error` (see [`error`]).
pub fn session_error(error: SessionError) -> SessionEvent {
    SessionEvent::SessionError(SessionErrorEvent { id: unstamped(), error, processed_at: unstamped() })
}

/// A session error of `kind` with `message`. The kinds whose only fields are the message and
/// the retry status are typed; any other kind (a script may name one the API does not, or one
/// whose further fields the engine cannot fill) goes out as it is, with the same two fields.
pub fn error(kind: &str, message: impl Into<String>, retry_status: RetryStatus) -> SessionError {
    let info = ErrorInfo { message: message.into(), retry_status };
    match kind {
        "unknown_error" => SessionError::UnknownError(info),
        "model_overloaded_error" => SessionError::ModelOverloadedError(info),
        "model_rate_limited_error" => SessionError::ModelRateLimitedError(info),
        "model_request_failed_error" => SessionError::ModelRequestFailedError(info),
        "billing_error" => SessionError::BillingError(info),
        "tool_use_limit_reached_error" => SessionError::ToolUseLimitReachedError(info),
        "compaction_limit_reached_error" => SessionError::CompactionLimitReachedError(info),
        _ => {
            let mut fields = Map::new();
            fields.insert("type".to_owned(), Value::String(kind.to_owned()));
            fields.insert("message".to_owned(), Value::String(info.message));
            fields.insert("retry_status".to_owned(), retry_status_json(&info.retry_status));
            SessionError::Unknown(Value::Object(fields))
        }
    }
}

/// A repository that was not checked out (`kind`: `repository_authentication_error`, …): the
/// API's `retrying`, since the session goes on without it.
pub fn repository_error(kind: &str, message: impl Into<String>, url: &str) -> SessionError {
    let info = RepositoryErrorInfo {
        message: message.into(),
        repository_url: Some(url.to_owned()),
        retry_status: retry_status("retrying"),
    };
    match kind {
        "repository_authentication_error" => SessionError::RepositoryAuthenticationError(info),
        "repository_forbidden_error" => SessionError::RepositoryForbiddenError(info),
        "repository_not_found_error" => SessionError::RepositoryNotFoundError(info),
        "repository_checkout_error" => SessionError::RepositoryCheckoutError(info),
        _ => SessionError::RepositoryCloneError(info),
    }
}

fn retry_status_json(status: &RetryStatus) -> Value {
    serde_json::to_value(status).unwrap_or(Value::Null)
}

/// A retry status by its `type` (a script's `retry_status`).
pub fn retry_status(kind: &str) -> RetryStatus {
    match kind {
        "retrying" => RetryStatus::Retrying(Default::default()),
        "exhausted" => RetryStatus::Exhausted(Default::default()),
        "terminal" => RetryStatus::Terminal(Default::default()),
        other => {
            let mut fields = Map::new();
            fields.insert("type".to_owned(), Value::String(other.to_owned()));
            RetryStatus::Unknown(Value::Object(fields))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What the model writes and calls
// ---------------------------------------------------------------------------------------------

pub fn span_model_request_start() -> SessionEvent {
    SessionEvent::SpanModelRequestStart(bare())
}

/// The `event_start` that opens the preview of the `agent.message` `id`.
pub fn message_preview_start(id: &str) -> StreamEvent {
    StreamEvent::Start(EventStart { event: PreviewedEvent::AgentMessage(PreviewRef { id: id.to_owned() }) })
}

/// The `event_start` of the `agent.thinking` `id` (no deltas follow it).
pub fn thinking_preview_start(id: &str) -> StreamEvent {
    StreamEvent::Start(EventStart { event: PreviewedEvent::AgentThinking(PreviewRef { id: id.to_owned() }) })
}

/// An `event_delta`: `text` more of the first block of the `agent.message` `id`.
pub fn message_preview_delta(id: &str, text: impl Into<String>) -> StreamEvent {
    StreamEvent::Delta(EventDelta {
        delta: Delta::Content(ContentDelta { content: TextContent::new(text), index: Some(0) }),
        event_id: id.to_owned(),
    })
}

/// A model request's usage, as its span reports it.
pub fn model_usage(usage: &Usage, speed: Option<UsageSpeed>) -> SpanModelUsage {
    SpanModelUsage {
        cache_creation_input_tokens: usage.cache_creation_input_tokens,
        cache_read_input_tokens: usage.cache_read_input_tokens,
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        speed,
    }
}

/// The speed tier an agent's model `speed` names (`standard` unless it says `fast`).
pub fn speed(name: Option<&str>) -> UsageSpeed {
    match name {
        Some("fast") => UsageSpeed::Fast,
        _ => UsageSpeed::Standard,
    }
}

/// `span.model_request_end` of the request `start_id` opened; `id` is given when the reply's
/// blocks are kept under it already.
pub fn span_model_request_end(
    id: Option<String>,
    start_id: String,
    model_usage: SpanModelUsage,
    is_error: bool,
) -> SessionEvent {
    SessionEvent::SpanModelRequestEnd(SpanModelRequestEndEvent {
        id: id.unwrap_or_else(unstamped),
        is_error: Some(is_error),
        model_request_start_id: start_id,
        model_usage,
        processed_at: unstamped(),
    })
}

/// `agent.message` of one text block; `id` is the one its previews carried, if any.
pub fn agent_message(id: Option<String>, text: impl Into<String>) -> SessionEvent {
    SessionEvent::AgentMessage(AgentMessageEvent {
        id: id.unwrap_or_else(unstamped),
        content: vec![AgentMessageBlock::text(text)],
        processed_at: unstamped(),
    })
}

/// `agent.thinking` (it carries no thinking text); `id` is the one its preview carried.
pub fn agent_thinking(id: String) -> SessionEvent {
    SessionEvent::AgentThinking(BareEvent { id, processed_at: unstamped() })
}

/// `agent.tool_use` of a built-in tool; `evaluation` is `None` when the call was refused before
/// any policy applied.
pub fn tool_use(
    id: Option<String>,
    name: &str,
    input: Map<String, Value>,
    evaluated_permission: EvaluatedPermission,
    evaluation: Option<ToolEvaluation>,
) -> SessionEvent {
    SessionEvent::AgentToolUse(AgentToolUseEvent {
        id: id.unwrap_or_else(unstamped),
        input,
        name: name.to_owned(),
        processed_at: unstamped(),
        evaluated_permission: Some(evaluated_permission),
        evaluation,
        session_thread_id: None,
    })
}

/// `agent.custom_tool_use`: the client answers it.
pub fn custom_tool_use(id: Option<String>, name: &str, input: Map<String, Value>) -> SessionEvent {
    SessionEvent::AgentCustomToolUse(AgentCustomToolUseEvent {
        id: id.unwrap_or_else(unstamped),
        input,
        name: name.to_owned(),
        processed_at: unstamped(),
        session_thread_id: None,
    })
}

/// `agent.tool_result` of the call `tool_use_id`: one text block.
pub fn tool_result(tool_use_id: &str, text: impl Into<String>, is_error: bool) -> SessionEvent {
    SessionEvent::AgentToolResult(AgentToolResultEvent {
        id: unstamped(),
        processed_at: unstamped(),
        tool_use_id: tool_use_id.to_owned(),
        content: Some(vec![ToolResultContentBlock::text(text)]),
        is_error: Some(is_error),
    })
}

/// `agent.mcp_tool_use`: a call of the tool `name` of the MCP server `server`.
pub fn mcp_tool_use(
    id: Option<String>,
    server: &str,
    name: &str,
    input: Map<String, Value>,
    evaluated_permission: EvaluatedPermission,
    evaluation: Option<ToolEvaluation>,
) -> SessionEvent {
    SessionEvent::AgentMcpToolUse(AgentMcpToolUseEvent {
        id: id.unwrap_or_else(unstamped),
        input,
        mcp_server_name: server.to_owned(),
        name: name.to_owned(),
        processed_at: unstamped(),
        evaluated_permission: Some(evaluated_permission),
        evaluation,
        session_thread_id: None,
    })
}

/// `agent.mcp_tool_result` of the call `mcp_tool_use_id`: one text block.
pub fn mcp_tool_result(mcp_tool_use_id: &str, text: impl Into<String>, is_error: bool) -> SessionEvent {
    SessionEvent::AgentMcpToolResult(AgentMcpToolResultEvent {
        id: unstamped(),
        mcp_tool_use_id: mcp_tool_use_id.to_owned(),
        processed_at: unstamped(),
        content: Some(vec![ToolResultContentBlock::text(text)]),
        is_error: Some(is_error),
    })
}

/// The session error of an MCP server that could not be used: `kind` is
/// `mcp_connection_failed_error` or `mcp_authentication_failed_error`.
pub fn mcp_error(kind: &str, server: &str, message: impl Into<String>) -> SessionError {
    let info = McpErrorInfo {
        mcp_server_name: server.to_owned(),
        message: message.into(),
        retry_status: retry_status("exhausted"),
    };
    match kind {
        "mcp_authentication_failed_error" => SessionError::McpAuthenticationFailedError(info),
        _ => SessionError::McpConnectionFailedError(info),
    }
}

/// `agent.thread_context_compacted`; `id` names the kept summary.
pub fn context_compacted(id: Option<String>) -> SessionEvent {
    SessionEvent::AgentThreadContextCompacted(BareEvent { id: id.unwrap_or_else(unstamped), processed_at: unstamped() })
}

// ---------------------------------------------------------------------------------------------
// Threads
// ---------------------------------------------------------------------------------------------

/// `agent.thread_message_sent` of `text` to the thread `to`; `to_agent_name` is `None` when
/// that is the primary thread.
pub fn thread_message_sent(to: &str, to_agent_name: Option<&str>, text: impl Into<String>) -> SessionEvent {
    SessionEvent::AgentThreadMessageSent(AgentThreadMessageSentEvent {
        id: unstamped(),
        content: vec![UserContentBlock::text(text)],
        processed_at: unstamped(),
        to_session_thread_id: to.to_owned(),
        to_agent_name: to_agent_name.map(str::to_owned),
    })
}

/// `agent.thread_message_received` of `text` from the thread `from`; `from_agent_name` is
/// `None` when that is the primary thread.
pub fn thread_message_received(from: &str, from_agent_name: Option<&str>, text: impl Into<String>) -> SessionEvent {
    SessionEvent::AgentThreadMessageReceived(AgentThreadMessageReceivedEvent {
        id: unstamped(),
        content: vec![UserContentBlock::text(text)],
        from_session_thread_id: from.to_owned(),
        processed_at: unstamped(),
        from_agent_name: from_agent_name.map(str::to_owned),
    })
}

pub fn thread_created(thread_id: &str, agent_name: &str, workflow_run_id: Option<&str>) -> SessionEvent {
    SessionEvent::SessionThreadCreated(SessionThreadCreatedEvent {
        id: unstamped(),
        agent_name: agent_name.to_owned(),
        processed_at: unstamped(),
        session_thread_id: thread_id.to_owned(),
        workflow_run_id: workflow_run_id.map(str::to_owned),
    })
}

fn thread_status(thread_id: &str, agent_name: &str) -> ThreadStatusEvent {
    ThreadStatusEvent {
        id: unstamped(),
        agent_name: agent_name.to_owned(),
        processed_at: unstamped(),
        session_thread_id: thread_id.to_owned(),
    }
}

pub fn thread_status_running(thread_id: &str, agent_name: &str) -> SessionEvent {
    SessionEvent::SessionThreadStatusRunning(thread_status(thread_id, agent_name))
}

pub fn thread_status_rescheduled(thread_id: &str, agent_name: &str) -> SessionEvent {
    SessionEvent::SessionThreadStatusRescheduled(thread_status(thread_id, agent_name))
}

/// `session.thread_status_idle` for `stop_reason`, with `stop_details: null`.
pub fn thread_status_idle(thread_id: &str, agent_name: &str, stop_reason: StopReason) -> SessionEvent {
    SessionEvent::SessionThreadStatusIdle(SessionThreadStatusIdleEvent {
        id: unstamped(),
        agent_name: agent_name.to_owned(),
        processed_at: unstamped(),
        session_thread_id: thread_id.to_owned(),
        stop_details: Some(None),
        stop_reason,
    })
}

// ---------------------------------------------------------------------------------------------
// Workflow runs
// ---------------------------------------------------------------------------------------------

/// A phase of a run's plan; its `description` goes out as `null` when the plan gives none.
pub fn workflow_phase(id: &str, name: &str, description: Option<&str>) -> WorkflowRunPhase {
    WorkflowRunPhase { id: id.to_owned(), description: Some(description.map(str::to_owned)), name: name.to_owned() }
}

/// `workflow_run.created`; its `description` goes out as `null` when the plan gives none.
pub fn workflow_run_created(
    run_id: &str,
    name: &str,
    description: Option<&str>,
    phases: Vec<WorkflowRunPhase>,
) -> SessionEvent {
    SessionEvent::WorkflowRunCreated(WorkflowRunCreatedEvent {
        id: unstamped(),
        description: Some(description.map(str::to_owned)),
        name: name.to_owned(),
        phases,
        processed_at: unstamped(),
        workflow_run_id: run_id.to_owned(),
    })
}

fn workflow_status(run_id: &str) -> WorkflowRunStatusEvent {
    WorkflowRunStatusEvent { id: unstamped(), processed_at: unstamped(), workflow_run_id: run_id.to_owned() }
}

pub fn workflow_run_status_running(run_id: &str) -> SessionEvent {
    SessionEvent::WorkflowRunStatusRunning(workflow_status(run_id))
}

pub fn workflow_run_status_idle(run_id: &str) -> SessionEvent {
    SessionEvent::WorkflowRunStatusIdle(workflow_status(run_id))
}

pub fn workflow_run_phase_started(run_id: &str, phase_id: &str) -> SessionEvent {
    SessionEvent::WorkflowRunPhaseStarted(WorkflowRunPhaseStartedEvent {
        id: unstamped(),
        processed_at: unstamped(),
        workflow_run_id: run_id.to_owned(),
        workflow_run_phase_id: phase_id.to_owned(),
    })
}

pub fn workflow_run_phase_ended(run_id: &str, phase_id: &str, phase_started_id: &str) -> SessionEvent {
    SessionEvent::WorkflowRunPhaseEnded(WorkflowRunPhaseEndedEvent {
        id: unstamped(),
        phase_started_id: phase_started_id.to_owned(),
        processed_at: unstamped(),
        workflow_run_id: run_id.to_owned(),
        workflow_run_phase_id: phase_id.to_owned(),
    })
}

pub fn workflow_run_error(run_id: &str, error: WorkflowRunError) -> SessionEvent {
    SessionEvent::WorkflowRunError(WorkflowRunErrorEvent {
        id: unstamped(),
        error,
        processed_at: unstamped(),
        workflow_run_id: Some(run_id.to_owned()),
    })
}

pub fn workflow_run_status_ended(run_id: &str, result: WorkflowRunResult) -> SessionEvent {
    SessionEvent::WorkflowRunStatusEnded(WorkflowRunStatusEndedEvent {
        id: unstamped(),
        processed_at: unstamped(),
        result,
        workflow_run_id: run_id.to_owned(),
    })
}

// ---------------------------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------------------------

/// The echo of a `user.define_outcome`, with its new `outcome_id` and the rubric as text.
pub fn define_outcome(outcome_id: &str, description: &str, rubric: &str, max_iterations: u32) -> SessionEvent {
    SessionEvent::UserDefineOutcome(UserDefineOutcomeEvent {
        id: unstamped(),
        description: description.to_owned(),
        max_iterations: Some(max_iterations),
        outcome_id: outcome_id.to_owned(),
        processed_at: unstamped(),
        rubric: Rubric::Text(TextRubric { content: rubric.to_owned() }),
    })
}

/// A grader's verdict by its name.
pub fn outcome_result(name: &str) -> OutcomeResult {
    match name {
        "satisfied" => OutcomeResult::Satisfied,
        "needs_revision" => OutcomeResult::NeedsRevision,
        "max_iterations_reached" => OutcomeResult::MaxIterationsReached,
        "failed" => OutcomeResult::Failed,
        "interrupted" => OutcomeResult::Interrupted,
        other => OutcomeResult::Other(other.to_owned()),
    }
}

fn outcome_evaluation(outcome_id: &str, iteration: u32) -> OutcomeEvaluationEvent {
    OutcomeEvaluationEvent { id: unstamped(), iteration, outcome_id: outcome_id.to_owned(), processed_at: unstamped() }
}

pub fn outcome_evaluation_start(outcome_id: &str, iteration: u32) -> SessionEvent {
    SessionEvent::SpanOutcomeEvaluationStart(outcome_evaluation(outcome_id, iteration))
}

pub fn outcome_evaluation_ongoing(outcome_id: &str, iteration: u32) -> SessionEvent {
    SessionEvent::SpanOutcomeEvaluationOngoing(outcome_evaluation(outcome_id, iteration))
}

/// `span.outcome_evaluation_end`: the grader's verdict on the evaluation `start_id` opened.
pub fn outcome_evaluation_end(
    start_id: &str,
    outcome_id: &str,
    iteration: u32,
    result: OutcomeResult,
    explanation: &str,
    usage: SpanModelUsage,
) -> SessionEvent {
    SessionEvent::SpanOutcomeEvaluationEnd(SpanOutcomeEvaluationEndEvent {
        id: unstamped(),
        explanation: explanation.to_owned(),
        iteration,
        outcome_evaluation_start_id: start_id.to_owned(),
        outcome_id: outcome_id.to_owned(),
        processed_at: unstamped(),
        result,
        usage,
    })
}
