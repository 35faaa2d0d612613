//! The live session view's state, folded from the stream hub's frames. Pure Rust (no DOM), so
//! its rules are unit-tested natively.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

pub use domain::format::{duration, text_of};

use protocol::events::types;
use serde_json::Value;

use crate::sse::{self, LinkState};

/// One persisted event as the timeline shows it.
#[derive(Debug, Clone)]
pub struct Item {
    /// The hub's sequence number (position in the session's log).
    pub seq: u64,
    pub id: String,
    pub kind: String,
    pub event: Arc<Value>,
    /// `processed_at`, in milliseconds since the epoch.
    pub at_ms: Option<f64>,
    /// Milliseconds since the previous event.
    pub gap_ms: Option<f64>,
    /// The `span.model_request_start` this event belongs to.
    pub group: Option<u64>,
    /// For a tool call: its result; for a model request's start: its end.
    pub paired: Option<Arc<Value>>,
    pub paired_at_ms: Option<f64>,
    /// For a tool call a person allowed: when it was let run, that is when the session went on
    /// after the answers (it waits until every call it asked about is answered), or, without
    /// that, the answer's own time.
    pub released_at_ms: Option<f64>,
    /// A tool call a person denied: it never ran.
    pub denied: bool,
    /// A result shown in its call's row, or a request's end shown in its start's row.
    pub folded: bool,
    /// Changes whenever the row must be drawn again.
    pub rev: u32,
    /// Characters of text in the event's content blocks: for a first guess at its row's height,
    /// worked out once rather than on every scroll.
    pub text_len: usize,
    /// What the ids of the event name, in words: the agent of the child thread a call was
    /// cross-posted from, or the phase of a workflow run.
    pub names: Option<String>,
}

impl Item {
    /// How long the row's work took: a paired call or request from start to end, otherwise the
    /// time since the previous event.
    pub fn duration_ms(&self) -> Option<f64> {
        match (self.at_ms, self.paired_at_ms) {
            (Some(start), Some(end)) => Some(end - start),
            _ => self.gap_ms,
        }
    }
}

/// A message or thinking being written now.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub id: String,
    /// `agent.message` or `agent.thinking`.
    pub kind: String,
    pub blocks: Vec<String>,
}

/// What the page's `EventSource` itself reports, queued with the hub's frames: it opened, it
/// lost the connection (and retries), or it gave up.
pub const OPEN: &str = "open";
pub const LOST: &str = "lost";
pub const FAILED: &str = "failed";

/// The hub's link to the API, as the page tells it.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Link {
    #[default]
    Connecting,
    Live,
    /// The API stream dropped; the hub is reconnecting.
    Reconnecting(String),
    /// The browser lost the hub; the `EventSource` retries.
    Lost,
    Failed(String),
    /// The session was deleted.
    Ended,
    /// The person's sign-in ended (expired, signed out elsewhere, account disabled).
    SignedOut,
}

/// An outcome the session works toward, as its events tell it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub id: String,
    pub description: String,
    pub max_iterations: u64,
    /// The grader's verdicts so far, in order.
    pub graded: Vec<Graded>,
    /// The iteration being graded now.
    pub grading: Option<u64>,
}

/// One verdict of an outcome's grader.
#[derive(Debug, Clone, PartialEq)]
pub struct Graded {
    /// 0-based.
    pub iteration: u64,
    pub result: String,
    pub explanation: String,
    /// The grader's input and output tokens.
    pub tokens: u64,
}

impl Outcome {
    /// Where it stands, in words.
    pub fn state_in_words(&self) -> String {
        match (self.grading, self.graded.last()) {
            (Some(iteration), _) => format!("Grading iteration {}…", iteration + 1),
            (None, Some(last)) if last.result == "needs_revision" => {
                format!("Revising: iteration {} of at most {}", last.iteration + 2, self.max_iterations)
            }
            (None, Some(last)) => {
                let words = last.result.replace('_', " ");
                let mut chars = words.chars();
                chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
            }
            (None, None) => format!("Working on iteration 1 of at most {}", self.max_iterations),
        }
    }
}

/// Token and cost totals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    /// The API's list cost, formatted, from the last `session.usage`.
    pub cost: Option<String>,
    pub requests: u64,
}

/// Kinds of events the filter chooses between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Messages,
    Tools,
    Status,
    Spans,
    /// Threads of a multiagent session: their lifecycle, messages between them, workflow runs.
    Threads,
    /// Outcomes and their evaluations.
    Outcomes,
    Errors,
    Other,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Messages,
        Category::Tools,
        Category::Status,
        Category::Spans,
        Category::Threads,
        Category::Outcomes,
        Category::Errors,
        Category::Other,
    ];

    pub fn of(kind: &str) -> Self {
        match kind {
            types::USER_MESSAGE
            | types::AGENT_MESSAGE
            | types::AGENT_THINKING
            | types::SYSTEM_MESSAGE
            | types::USER_INTERRUPT => Category::Messages,
            types::SESSION_ERROR | types::WORKFLOW_RUN_ERROR => Category::Errors,
            types::USER_DEFINE_OUTCOME => Category::Outcomes,
            k if k.starts_with("span.outcome_evaluation") => Category::Outcomes,
            k if k.starts_with("session.thread_")
                || k.starts_with("agent.thread_")
                || k.starts_with("workflow_run.") =>
            {
                Category::Threads
            }
            k if k.contains("tool") => Category::Tools,
            k if k.starts_with("session.") => Category::Status,
            k if k.starts_with("span.") => Category::Spans,
            _ => Category::Other,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Category::Messages => "Messages",
            Category::Tools => "Tools",
            Category::Status => "Status",
            Category::Spans => "Model requests",
            Category::Threads => "Threads",
            Category::Outcomes => "Outcomes",
            Category::Errors => "Errors",
            Category::Other => "Other",
        }
    }
}

#[derive(Debug, Default)]
pub struct Model {
    pub items: Vec<Item>,
    by_id: HashMap<String, usize>,
    pub previews: Vec<Preview>,
    pub last_seq: u64,
    pub link: Link,
    pub totals: Totals,
    /// The session's status from its last status event: `running`, `idle`, `rescheduling`,
    /// `terminated`; `None` before one arrives.
    pub status: Option<String>,
    /// The last `session.status_idle`'s stop reason.
    pub stop_reason: Option<Value>,
    /// When the status last changed (ms since the epoch).
    pub status_since_ms: Option<f64>,
    /// Calls the session waits on (tool confirmations and custom tool results), oldest first.
    waiting_on: Vec<String>,
    /// Calls answered (their echo arrived).
    answered: HashSet<String>,
    /// Calls allowed since the session last went on (indexes into `items`).
    allowed_waiting: Vec<usize>,
    open_request: Option<u64>,
    /// Something the page must tell the person about its history (it was read again).
    pub notice: Option<String>,
    /// Names of the ids events refer to: threads (their agent's name) and workflow phases.
    names: HashMap<String, String>,
    /// The outcomes defined, oldest first.
    pub outcomes: Vec<Outcome>,
    /// The primary thread's lane: the session's own running spans.
    pub primary: Lane,
    /// Every child thread the session started, in order: its lane.
    pub lanes: Vec<Lane>,
    /// Messages to threads whose creation has not been seen yet (the task may come first).
    unplaced_messages: HashMap<String, Vec<(f64, bool)>>,
    /// The list cost over time, from each `session.usage` (cumulative): (ms since the epoch,
    /// minor units).
    pub cost_series: Vec<(f64, f64)>,
    /// The currency of those costs.
    pub cost_currency: Option<String>,
    /// The session's budget, in the same minor units, from the last `session.usage` that named one.
    pub budget_minor: Option<f64>,
    /// When the session began (ms since the epoch), for a model that holds only some of its
    /// events (a page's first screen); `None`: its first event's time.
    pub epoch_ms: Option<f64>,
}

/// One tool's figures in the session, for the inspector.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolStats {
    pub name: String,
    /// Each call: its event id and whether its result was an error (`None`: no result yet).
    pub calls: Vec<(String, Option<bool>)>,
    pub failures: usize,
    /// The median time from call to result, of the calls that have one. A call a person allowed
    /// is timed from when it was let run (without the wait for them); a denied one never ran and
    /// is left out.
    pub median_ms: Option<f64>,
}

/// A thread as its lane shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lane {
    /// The child thread's id; empty for the primary thread (its events carry no thread id).
    pub id: String,
    pub name: String,
    /// `running`, `idle`, `rescheduling` or `terminated`; `created` before its first status.
    pub status: String,
    /// When it ran: from each `…status_running` to the status that followed it (`None`: it runs
    /// now), in milliseconds since the epoch.
    pub spans: Vec<(f64, Option<f64>)>,
    /// It belongs to a workflow run.
    pub workflow: bool,
    /// Messages between it and the primary thread: when, and whether to it (`true`) or from it.
    pub messages: Vec<(f64, bool)>,
    /// Its tool calls cross-posted to the session's stream: when, and `"tool"`.
    pub marks: Vec<(f64, String)>,
}

impl Lane {
    /// Its running time in milliseconds, a span still open counted to `now`.
    pub fn running_ms(&self, now: f64) -> f64 {
        self.spans.iter().map(|(from, to)| (to.unwrap_or(now) - from).max(0.0)).sum()
    }

    /// Follows a status event: a span opens when it starts running and closes at any other status.
    fn status(&mut self, status: &str, at_ms: Option<f64>) {
        self.status = status.to_owned();
        let Some(at) = at_ms else { return };
        match self.spans.last_mut() {
            Some((_, end @ None)) if status != "running" => *end = Some(at),
            Some((_, None)) => {}
            _ if status == "running" => self.spans.push((at, None)),
            _ => {}
        }
    }
}

impl Model {
    /// A model of a session that began at `epoch_ms` (ms since the epoch), for events that do
    /// not start with its first.
    pub fn starting_at(epoch_ms: Option<f64>) -> Self {
        Self { epoch_ms, ..Self::default() }
    }

    /// How many calls were answered (their echo arrived).
    pub fn answered_count(&self) -> usize {
        self.answered.len()
    }

    /// Folds one persisted event in. Events at or below the last sequence number were folded
    /// already (a replay after reconnecting) and are skipped.
    pub fn event(&mut self, seq: u64, event: Value) {
        if seq <= self.last_seq {
            return;
        }
        self.last_seq = seq;
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("(no type)").to_owned();
        let id = event.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
        let at_ms = event.get("processed_at").and_then(Value::as_str).and_then(crate::format::parse_rfc3339_ms);
        let gap_ms = match (at_ms, self.items.iter().rev().find_map(|i| i.at_ms)) {
            (Some(now), Some(before)) => Some((now - before).max(0.0)),
            _ => None,
        };
        let names = self.names_of(&kind, &event);
        let event = Arc::new(event);
        let folded = self.pair(&kind, &event, at_ms);
        self.track(seq, &kind, &id, &event, at_ms);
        let group = match kind.as_str() {
            types::SPAN_MODEL_REQUEST_START => None,
            types::SPAN_MODEL_REQUEST_END => {
                self.open_request.take();
                None
            }
            _ => self.open_request,
        };
        if !id.is_empty() {
            self.by_id.insert(id.clone(), self.items.len());
        }
        let text_len = event
            .get("content")
            .and_then(Value::as_array)
            .map(|blocks| blocks.iter().filter_map(|b| b.get("text").and_then(Value::as_str)).map(str::len).sum())
            .unwrap_or(0);
        self.items.push(Item {
            names,
            text_len,
            seq,
            id,
            kind,
            event,
            at_ms,
            gap_ms,
            group,
            paired: None,
            paired_at_ms: None,
            released_at_ms: None,
            denied: false,
            folded,
            rev: 0,
        });
    }

    /// Learns the names an event gives (a thread's agent, a workflow's phases) and says what
    /// the event's own ids name.
    fn names_of(&mut self, kind: &str, event: &Value) -> Option<String> {
        let field = |k: &str| event.get(k).and_then(Value::as_str);
        match kind {
            types::SESSION_THREAD_CREATED => {
                if let (Some(thread), Some(name)) = (field("session_thread_id"), field("agent_name")) {
                    self.names.insert(thread.to_owned(), name.to_owned());
                }
                None
            }
            types::WORKFLOW_RUN_CREATED => {
                for phase in event.get("phases").and_then(Value::as_array).into_iter().flatten() {
                    if let (Some(id), Some(name)) = (phase["id"].as_str(), phase["name"].as_str()) {
                        self.names.insert(id.to_owned(), name.to_owned());
                    }
                }
                None
            }
            types::WORKFLOW_RUN_PHASE_STARTED | types::WORKFLOW_RUN_PHASE_ENDED => {
                field("workflow_run_phase_id").and_then(|id| self.names.get(id)).cloned()
            }
            types::AGENT_THREAD_MESSAGE_SENT => {
                field("to_session_thread_id").and_then(|id| self.names.get(id)).cloned()
            }
            types::AGENT_THREAD_MESSAGE_RECEIVED => {
                field("from_session_thread_id").and_then(|id| self.names.get(id)).cloned()
            }
            _ => field("session_thread_id").and_then(|id| self.names.get(id)).cloned(),
        }
    }

    /// The lane of the child thread `id`.
    fn lane_mut(&mut self, id: &str) -> Option<&mut Lane> {
        self.lanes.iter_mut().find(|l| l.id == id)
    }

    /// Child threads running now: (thread id, agent name).
    pub fn running_threads(&self) -> Vec<(String, String)> {
        self.lanes.iter().filter(|l| l.status == "running").map(|l| (l.id.clone(), l.name.clone())).collect()
    }

    /// The agent name of a thread the session started, when its creation was seen.
    pub fn thread_name(&self, thread_id: &str) -> Option<&str> {
        self.names.get(thread_id).map(String::as_str)
    }

    /// Folds a result into its call, or a request's end into its start: whether it was.
    fn pair(&mut self, kind: &str, event: &Arc<Value>, at_ms: Option<f64>) -> bool {
        let pair_key = match kind {
            types::AGENT_TOOL_RESULT | types::USER_TOOL_RESULT => event.get("tool_use_id"),
            types::AGENT_MCP_TOOL_RESULT => event.get("mcp_tool_use_id"),
            types::USER_CUSTOM_TOOL_RESULT => event.get("custom_tool_use_id"),
            types::SPAN_MODEL_REQUEST_END => event.get("model_request_start_id"),
            _ => None,
        }
        .and_then(Value::as_str);
        let Some(&index) = pair_key.and_then(|key| self.by_id.get(key)) else { return false };
        let call = &mut self.items[index];
        call.paired = Some(event.clone());
        call.paired_at_ms = at_ms;
        call.rev += 1;
        true
    }

    /// What an event changes beside its row: the session's status and since when, the calls it
    /// waits on, the previews still open, the totals.
    fn track(&mut self, seq: u64, kind: &str, id: &str, event: &Value, at_ms: Option<f64>) {
        match kind {
            types::SPAN_MODEL_REQUEST_START => self.open_request = Some(seq),
            types::AGENT_MESSAGE | types::AGENT_THINKING => self.previews.retain(|p| p.id != id),
            types::SPAN_MODEL_REQUEST_END => self.track_request_end(event),
            types::SESSION_STATUS_RUNNING | types::SESSION_STATUS_RESCHEDULED | types::SESSION_STATUS_TERMINATED => {
                self.track_status(kind, at_ms)
            }
            types::SESSION_STATUS_IDLE => self.track_idle(event, at_ms),
            types::USER_TOOL_CONFIRMATION | types::USER_CUSTOM_TOOL_RESULT | types::USER_TOOL_RESULT => {
                self.track_answer(kind, event, at_ms)
            }
            types::SESSION_USAGE => self.track_usage(event, at_ms),
            types::USER_DEFINE_OUTCOME | types::SPAN_OUTCOME_EVALUATION_START | types::SPAN_OUTCOME_EVALUATION_END => {
                self.track_outcome(kind, event)
            }
            types::SESSION_THREAD_CREATED => self.track_thread_created(event),
            types::AGENT_THREAD_MESSAGE_SENT | types::AGENT_THREAD_MESSAGE_RECEIVED => {
                self.track_thread_message(kind, event, at_ms)
            }
            types::SESSION_THREAD_STATUS_RUNNING
            | types::SESSION_THREAD_STATUS_IDLE
            | types::SESSION_THREAD_STATUS_RESCHEDULED
            | types::SESSION_THREAD_STATUS_TERMINATED => self.track_thread_status(kind, event, at_ms),
            types::AGENT_TOOL_USE | types::AGENT_MCP_TOOL_USE | types::AGENT_CUSTOM_TOOL_USE => {
                self.track_call_mark(event, at_ms)
            }
            _ => {}
        }
    }

    /// A model request ended: its previews are done, its tokens counted.
    fn track_request_end(&mut self, event: &Value) {
        self.previews.clear();
        let usage = event.get("model_usage");
        let get = |k: &str| usage.and_then(|u| u.get(k)).and_then(Value::as_u64).unwrap_or(0);
        self.totals.input += get("input_tokens");
        self.totals.output += get("output_tokens");
        self.totals.cache_read += get("cache_read_input_tokens");
        self.totals.requests += 1;
    }

    /// The session runs, is rescheduled or terminated: it waits on nothing, and the calls
    /// allowed run from now.
    fn track_status(&mut self, kind: &str, at_ms: Option<f64>) {
        let status = match kind {
            types::SESSION_STATUS_RUNNING => "running",
            types::SESSION_STATUS_RESCHEDULED => "rescheduling",
            _ => "terminated",
        };
        self.status = Some(status.to_owned());
        self.status_since_ms = at_ms.or(self.status_since_ms);
        self.primary.status(status, at_ms);
        self.waiting_on.clear();
        for call in std::mem::take(&mut self.allowed_waiting) {
            if kind == types::SESSION_STATUS_RUNNING && at_ms.is_some() {
                self.items[call].released_at_ms = at_ms;
            }
        }
        if kind != types::SESSION_STATUS_RUNNING {
            self.previews.clear();
        }
    }

    /// The session is idle: why, and the calls it waits on that are not answered yet.
    fn track_idle(&mut self, event: &Value, at_ms: Option<f64>) {
        self.status = Some("idle".to_owned());
        self.status_since_ms = at_ms.or(self.status_since_ms);
        self.primary.status("idle", at_ms);
        self.stop_reason = event.get("stop_reason").cloned();
        self.waiting_on = event
            .pointer("/stop_reason/event_ids")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        self.waiting_on.retain(|id| !self.answered.contains(id));
    }

    /// A call answered: no longer waited on; a denied one never runs, an allowed one runs when
    /// the session goes on.
    fn track_answer(&mut self, kind: &str, event: &Value, at_ms: Option<f64>) {
        let answered = event
            .get("tool_use_id")
            .or_else(|| event.get("custom_tool_use_id"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        self.waiting_on.retain(|w| *w != answered);
        if kind == types::USER_TOOL_CONFIRMATION
            && let Some(&call) = self.by_id.get(&answered)
        {
            if event.get("result").and_then(Value::as_str) == Some("deny") {
                self.items[call].denied = true;
            } else {
                self.items[call].released_at_ms = at_ms;
                self.allowed_waiting.push(call);
            }
        }
        self.answered.insert(answered);
    }

    /// The session's cost so far, and its budget.
    fn track_usage(&mut self, event: &Value, at_ms: Option<f64>) {
        if let Some(cost) = event.pointer("/usage/list_cost") {
            self.totals.cost = crate::format::json_cost(cost);
            if let (Some(at), Some(minor)) = (at_ms, crate::format::amount_of(cost)) {
                self.cost_series.push((at, minor));
                self.cost_currency = cost.get("currency").and_then(Value::as_str).map(str::to_owned);
            }
        }
        if let Some(limit) = event.pointer("/budget/max_list_cost") {
            self.budget_minor = crate::format::amount_of(limit);
        }
    }

    /// A child thread started: its lane, with the messages sent to it before.
    fn track_thread_created(&mut self, event: &Value) {
        self.lanes.push(Lane {
            id: event.get("session_thread_id").and_then(Value::as_str).unwrap_or_default().to_owned(),
            name: event.get("agent_name").and_then(Value::as_str).unwrap_or_default().to_owned(),
            status: "created".to_owned(),
            spans: Vec::new(),
            workflow: event.get("workflow_run_id").is_some_and(|w| !w.is_null()),
            marks: Vec::new(),
            messages: event
                .get("session_thread_id")
                .and_then(Value::as_str)
                .and_then(|id| self.unplaced_messages.remove(id))
                .unwrap_or_default(),
        })
    }

    /// A message between the primary thread and a child: on the child's lane, or kept until
    /// the child's creation is seen.
    fn track_thread_message(&mut self, kind: &str, event: &Value, at_ms: Option<f64>) {
        let to = kind == types::AGENT_THREAD_MESSAGE_SENT;
        let other = event.get(if to { "to_session_thread_id" } else { "from_session_thread_id" });
        let other = other.and_then(Value::as_str).unwrap_or_default();
        if let Some(at) = at_ms {
            match self.lane_mut(other) {
                Some(lane) => lane.messages.push((at, to)),
                None => self.unplaced_messages.entry(other.to_owned()).or_default().push((at, to)),
            }
        }
    }

    /// A child thread's status: its lane's, and its running spans.
    fn track_thread_status(&mut self, kind: &str, event: &Value, at_ms: Option<f64>) {
        let thread = event.get("session_thread_id").and_then(Value::as_str).unwrap_or_default();
        if let Some(lane) = self.lane_mut(thread) {
            let status = match kind {
                types::SESSION_THREAD_STATUS_RUNNING => "running",
                types::SESSION_THREAD_STATUS_IDLE => "idle",
                types::SESSION_THREAD_STATUS_RESCHEDULED => "rescheduling",
                _ => "terminated",
            };
            lane.status(status, at_ms);
        }
    }

    /// A child thread's tool call cross-posted to the session's stream: a mark on its lane.
    fn track_call_mark(&mut self, event: &Value, at_ms: Option<f64>) {
        let thread = event.get("session_thread_id").and_then(Value::as_str);
        if let (Some(thread), Some(at)) = (thread, at_ms)
            && let Some(lane) = self.lane_mut(thread)
        {
            lane.marks.push((at, "tool".to_owned()));
        }
    }

    /// An outcome defined, being graded, or graded.
    fn track_outcome(&mut self, kind: &str, event: &Value) {
        let text = |k: &str| event.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let iteration = event.get("iteration").and_then(Value::as_u64).unwrap_or(0);
        if kind == types::USER_DEFINE_OUTCOME {
            self.outcomes.push(Outcome {
                id: text("outcome_id"),
                description: text("description"),
                max_iterations: event.get("max_iterations").and_then(Value::as_u64).unwrap_or(3),
                graded: Vec::new(),
                grading: None,
            });
            return;
        }
        let id = text("outcome_id");
        let Some(outcome) = self.outcomes.iter_mut().find(|o| o.id == id) else { return };
        if kind == types::SPAN_OUTCOME_EVALUATION_START {
            outcome.grading = Some(iteration);
            return;
        }
        outcome.grading = None;
        let usage = event.get("usage");
        let tokens = ["input_tokens", "output_tokens"]
            .iter()
            .map(|k| usage.and_then(|u| u.get(*k)).and_then(Value::as_u64).unwrap_or(0))
            .sum();
        outcome.graded.push(Graded { iteration, result: text("result"), explanation: text("explanation"), tokens });
    }

    /// Folds an `event_start` or `event_delta`, with the SDK's rule for block indexes.
    pub fn preview(&mut self, frame: &Value) {
        match frame.get("type").and_then(Value::as_str) {
            Some("event_start") => {
                let id = frame.pointer("/event/id").and_then(Value::as_str).unwrap_or_default();
                let kind = frame.pointer("/event/type").and_then(Value::as_str).unwrap_or(types::AGENT_MESSAGE);
                // A preview of an event already final (a stale snapshot) is ignored.
                if self.by_id.contains_key(id) {
                    return;
                }
                // A resumed stream starts a preview this page has over, with its whole text so far.
                if let Some(preview) = self.previews.iter_mut().find(|p| p.id == id) {
                    preview.blocks.clear();
                    return;
                }
                self.previews.push(Preview { id: id.to_owned(), kind: kind.to_owned(), blocks: Vec::new() });
            }
            Some("event_delta") => {
                let id = frame.get("event_id").and_then(Value::as_str).unwrap_or_default();
                let index = frame.pointer("/delta/index").and_then(Value::as_u64).unwrap_or(0) as usize;
                let text = frame.pointer("/delta/content/text").and_then(Value::as_str).unwrap_or_default();
                if let Some(preview) = self.previews.iter_mut().find(|p| p.id == id) {
                    if index == preview.blocks.len() {
                        preview.blocks.push(text.to_owned());
                    } else if let Some(block) = preview.blocks.get_mut(index) {
                        block.push_str(text);
                    }
                }
            }
            _ => {}
        }
    }

    pub fn item(&self, id: &str) -> Option<&Item> {
        self.by_id.get(id).map(|&i| &self.items[i])
    }

    /// The index of the row that shows event `id`: its own, or, for a result folded into its
    /// call's row (a request's end into its start's), the call's.
    pub fn row_of(&self, id: &str) -> Option<usize> {
        let &index = self.by_id.get(id)?;
        let item = &self.items[index];
        if !item.folded {
            return Some(index);
        }
        ["tool_use_id", "mcp_tool_use_id", "custom_tool_use_id", "model_request_start_id"]
            .into_iter()
            .find_map(|key| item.event.get(key).and_then(Value::as_str))
            .and_then(|call| self.by_id.get(call).copied())
    }

    /// The calls the session waits on whose events are known, oldest first.
    pub fn pending(&self) -> Vec<&Item> {
        self.waiting_on.iter().filter_map(|id| self.item(id)).collect()
    }

    /// Folds one frame of the hub's stream into the model ([`crate::sse`] names them), or one of
    /// the `EventSource`'s own reports ([`OPEN`], [`LOST`], [`FAILED`] with its sentence).
    pub fn frame(&mut self, name: &str, data: String, last_id: &str) {
        let value: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
        match name {
            sse::EVENT => {
                if let Ok(seq) = last_id.parse::<u64>() {
                    self.event(seq, value);
                }
                self.link = Link::Live;
            }
            sse::PREVIEW => self.preview(&value),
            sse::STATUS => {
                let message = value.get("message").and_then(Value::as_str).unwrap_or_default().to_owned();
                self.link = match LinkState::of_frame(&value) {
                    Some(LinkState::Live) => Link::Live,
                    Some(LinkState::Failed) => Link::Failed(message),
                    _ => Link::Reconnecting(message),
                }
            }
            sse::END => self.link = Link::Ended,
            sse::RESET => {
                // Numbered by a log the server no longer has: start over, the history follows.
                let message = value.get("message").and_then(Value::as_str).unwrap_or_default().to_owned();
                *self = Model { link: std::mem::take(&mut self.link), notice: Some(message), ..Model::default() };
            }
            sse::SIGNED_OUT => self.link = Link::SignedOut,
            OPEN if !matches!(self.link, Link::Reconnecting(_)) => self.link = Link::Live,
            LOST => self.link = Link::Lost,
            FAILED => self.link = Link::Failed(data),
            _ => {}
        }
    }

    /// "+12.4 s" from the first event.
    pub fn offset(&self, at_ms: Option<f64>) -> Option<String> {
        let first = self.epoch_ms.or_else(|| self.items.iter().find_map(|i| i.at_ms))?;
        Some(format!("+{}", duration(at_ms? - first)))
    }

    /// The indexes of the rows the filter shows (results folded into their calls are not rows).
    pub fn visible(&self, hidden: &HashSet<Category>) -> Vec<usize> {
        self.items
            .iter()
            .enumerate()
            .filter(|(_, item)| !item.folded && !hidden.contains(&Category::of(&item.kind)))
            .map(|(i, _)| i)
            .collect()
    }

    /// Each tool the session called, most called first: its calls, failures and median time.
    pub fn tool_stats(&self) -> Vec<ToolStats> {
        let mut stats: Vec<ToolStats> = Vec::new();
        let mut durations: HashMap<String, Vec<f64>> = HashMap::new();
        for item in &self.items {
            if !matches!(
                item.kind.as_str(),
                types::AGENT_TOOL_USE | types::AGENT_MCP_TOOL_USE | types::AGENT_CUSTOM_TOOL_USE
            ) {
                continue;
            }
            let name = item.event.get("name").and_then(Value::as_str).unwrap_or("(unnamed)").to_owned();
            let failed = item.paired.as_ref().map(|r| r.get("is_error").and_then(Value::as_bool).unwrap_or(false));
            if let (false, Some(start), Some(end)) =
                (item.denied, item.released_at_ms.or(item.at_ms), item.paired_at_ms)
            {
                durations.entry(name.clone()).or_default().push((end - start).max(0.0));
            }
            let at = match stats.iter().position(|s| s.name == name) {
                Some(at) => at,
                None => {
                    stats.push(ToolStats { name: name.clone(), calls: Vec::new(), failures: 0, median_ms: None });
                    stats.len() - 1
                }
            };
            stats[at].calls.push((item.id.clone(), failed));
            stats[at].failures += usize::from(failed == Some(true));
        }
        for stat in &mut stats {
            if let Some(times) = durations.get_mut(&stat.name) {
                times.sort_by(f64::total_cmp);
                let n = times.len();
                stat.median_ms = Some(if n % 2 == 1 { times[n / 2] } else { (times[n / 2 - 1] + times[n / 2]) / 2.0 });
            }
        }
        stats.sort_by(|a, b| b.calls.len().cmp(&a.calls.len()).then_with(|| a.name.cmp(&b.name)));
        stats
    }

    /// The calls the session's last idle waits on that a person allowed and that have no result
    /// yet: in a self-hosted environment, a worker runs them.
    fn allowed_and_unrun(&self) -> usize {
        let ids = self.stop_reason.as_ref().and_then(|r| r.get("event_ids")).and_then(Value::as_array);
        ids.into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|id| self.item(id))
            .filter(|i| i.kind == types::AGENT_TOOL_USE && !i.denied && i.paired.is_none())
            .count()
    }

    /// The session's state in words, e.g. "Waiting for your approval of 2 tool calls".
    pub fn state_in_words(&self) -> String {
        let waiting = self.pending();
        match self.status.as_deref() {
            None => "No activity yet".to_owned(),
            Some("running") => "Running".to_owned(),
            Some("rescheduling") => "Recovering from an error; the API retries".to_owned(),
            Some("terminated") => "Terminated: the session takes no more messages".to_owned(),
            Some(_) if !waiting.is_empty() => {
                // A call its policy allowed waits only in a self-hosted environment: for a worker.
                let by_worker = |i: &&&Item| {
                    i.kind == types::AGENT_TOOL_USE
                        && i.event.get("evaluated_permission").and_then(Value::as_str) == Some("allow")
                };
                let custom = waiting.iter().filter(|i| i.kind == types::AGENT_CUSTOM_TOOL_USE).count();
                let worker = waiting.iter().filter(by_worker).count();
                let approvals = waiting.len() - custom - worker;
                let mut parts = Vec::new();
                if approvals > 0 {
                    parts.push(format!("your approval of {approvals} tool call{}", plural(approvals)));
                }
                if custom > 0 {
                    parts.push(format!("the result of {custom} custom tool call{}", plural(custom)));
                }
                if worker > 0 {
                    parts.push(format!("a worker to run {worker} tool call{}", plural(worker)));
                }
                format!("Waiting for {}", parts.join(" and "))
            }
            Some(_) => match self.stop_reason.as_ref().and_then(|r| r.get("type")).and_then(Value::as_str) {
                Some("end_turn") => "Idle: the agent finished its turn".to_owned(),
                Some("requires_action") => match self.allowed_and_unrun() {
                    // Allowed by a person in a self-hosted environment: its worker runs them.
                    0 => "Idle: waiting on calls that are not shown yet".to_owned(),
                    n => format!("Waiting for a worker to run {n} tool call{}", plural(n)),
                },
                Some("retries_exhausted") => "Idle: the turn failed after retries; send a new message".to_owned(),
                Some("budget_reached") => "Idle: the session spent its budget; raise or remove it to go on".to_owned(),
                Some(other) => format!("Idle ({})", other.replace('_', " ")),
                None => "Idle".to_owned(),
            },
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(s: u32) -> String {
        format!("2026-11-21T10:00:{s:02}.500Z")
    }

    #[test]
    fn the_inspector_counts_each_tool_its_failures_and_median_time() {
        let mut m = Model::default();
        let call = |id: &str, name: &str, s: u32| json!({ "type": types::AGENT_TOOL_USE, "id": id, "name": name, "input": {}, "processed_at": at(s) });
        let result = |id: &str, of: &str, error: bool, s: u32| json!({ "type": types::AGENT_TOOL_RESULT, "id": id, "tool_use_id": of, "is_error": error, "content": [], "processed_at": at(s) });
        m.event(1, call("c1", "bash", 0));
        m.event(2, result("r1", "c1", false, 1));
        m.event(3, call("c2", "bash", 2));
        m.event(4, result("r2", "c2", true, 5));
        m.event(5, call("c3", "bash", 6));
        m.event(6, result("r3", "c3", false, 8));
        m.event(7, call("c4", "read", 9));
        let stats = m.tool_stats();
        assert_eq!(stats.len(), 2);
        assert_eq!((stats[0].name.as_str(), stats[0].calls.len(), stats[0].failures), ("bash", 3, 1));
        assert_eq!(stats[0].median_ms, Some(2000.0), "1 s, 3 s and 2 s");
        assert_eq!(stats[0].calls[1], ("c2".to_owned(), Some(true)));
        assert_eq!((stats[1].name.as_str(), stats[1].median_ms), ("read", None));
        assert_eq!(stats[1].calls, vec![("c4".to_owned(), None)], "no result yet");
    }

    #[test]
    fn a_call_a_person_allowed_is_timed_from_their_answer() {
        let mut m = Model::default();
        let call = |id: &str, s: u32| json!({ "type": types::AGENT_TOOL_USE, "id": id, "name": "bash", "input": {}, "evaluated_permission": "ask", "processed_at": at(s) });
        let result = |of: &str, s: u32| json!({ "type": types::AGENT_TOOL_RESULT, "id": format!("r-{of}"), "tool_use_id": of, "is_error": false, "content": [], "processed_at": at(s) });
        let allow = |of: &str, s: u32| json!({ "type": types::USER_TOOL_CONFIRMATION, "id": format!("a-{of}"), "tool_use_id": of, "result": "allow", "processed_at": at(s) });
        // Allowed after 30 s, then 1 s to run; allowed after 15 s, then 3 s; no approval, 2 s.
        m.event(1, call("c1", 0));
        m.event(2, allow("c1", 30));
        m.event(3, result("c1", 31));
        m.event(4, call("c2", 32));
        m.event(5, allow("c2", 47));
        m.event(6, result("c2", 50));
        m.event(
            7,
            json!({ "type": types::AGENT_TOOL_USE, "id": "c3", "name": "bash", "input": {}, "processed_at": at(51) }),
        );
        m.event(8, result("c3", 53));
        assert_eq!(
            m.tool_stats()[0].median_ms,
            Some(2000.0),
            "1 s, 3 s and 2 s: the tool's time, not the wait for a person"
        );
        assert_eq!(m.item("c1").unwrap().duration_ms(), Some(31_000.0), "the row still says how long the call stood");
    }

    #[test]
    fn calls_asked_together_run_once_all_are_answered_and_a_denied_call_is_not_timed() {
        let mut m = Model::default();
        let call = |id: &str, s: u32| json!({ "type": types::AGENT_TOOL_USE, "id": id, "name": "bash", "input": {}, "evaluated_permission": "ask", "processed_at": at(s) });
        let result = |of: &str, error: bool, s: u32| json!({ "type": types::AGENT_TOOL_RESULT, "id": format!("r-{of}"), "tool_use_id": of, "is_error": error, "content": [], "processed_at": at(s) });
        let answer = |of: &str, result: &str, s: u32| json!({ "type": types::USER_TOOL_CONFIRMATION, "id": format!("a-{of}"), "tool_use_id": of, "result": result, "processed_at": at(s) });
        let status = |kind: &str, s: u32| json!({ "type": kind, "id": format!("s-{s}"), "processed_at": at(s) });
        // Two calls asked together: the first allowed at 10 s, the second at 40 s; the session
        // goes on at 40 s and runs them, 2 s and then 3 s.
        m.event(1, call("c1", 0));
        m.event(2, call("c2", 0));
        m.event(3, status(types::SESSION_STATUS_IDLE, 1));
        m.event(4, answer("c1", "allow", 10));
        m.event(5, answer("c2", "allow", 40));
        m.event(6, status(types::SESSION_STATUS_RUNNING, 40));
        m.event(7, result("c1", false, 42));
        m.event(8, result("c2", false, 45));
        // A third, denied: its error result comes at once, and it never ran.
        m.event(9, call("c3", 46));
        m.event(10, status(types::SESSION_STATUS_IDLE, 46));
        m.event(11, answer("c3", "deny", 50));
        m.event(12, status(types::SESSION_STATUS_RUNNING, 50));
        m.event(13, result("c3", true, 50));
        let stats = &m.tool_stats()[0];
        assert_eq!((stats.calls.len(), stats.failures), (3, 1));
        assert_eq!(
            stats.median_ms,
            Some(3500.0),
            "2 s and 5 s from when the session went on; the denied call left out"
        );
    }

    #[test]
    fn cost_over_time_and_the_budget_come_from_each_usage_event() {
        let mut m = Model::default();
        let usage = |cents: &str, s: u32| {
            json!({ "type": types::SESSION_USAGE, "processed_at": at(s),
            "usage": { "list_cost": { "amount": cents, "currency": "USD" } },
            "budget": { "type": "limit", "max_list_cost": { "amount": "500", "currency": "USD" } } })
        };
        m.event(1, usage("12", 1));
        m.event(2, usage("40", 3));
        assert_eq!(m.cost_series.iter().map(|p| p.1).collect::<Vec<_>>(), vec![12.0, 40.0]);
        assert!(m.cost_series[1].0 - m.cost_series[0].0 == 2000.0);
        assert_eq!((m.cost_currency.as_deref(), m.budget_minor), (Some("USD"), Some(500.0)));
    }

    #[test]
    fn results_fold_into_their_calls_and_requests_group_their_events() {
        let mut m = Model::default();
        m.event(1, json!({ "type": types::SPAN_MODEL_REQUEST_START, "id": "e1", "processed_at": at(0) }));
        m.event(
            2,
            json!({ "type": types::AGENT_TOOL_USE, "id": "e2", "name": "bash", "input": {}, "processed_at": at(1) }),
        );
        m.event(3, json!({ "type": types::SPAN_MODEL_REQUEST_END, "id": "e3", "model_request_start_id": "e1", "model_usage": { "input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0 }, "processed_at": at(2) }));
        m.event(4, json!({ "type": types::AGENT_TOOL_RESULT, "id": "e4", "tool_use_id": "e2", "content": [], "processed_at": at(5) }));
        m.event(5, json!({ "type": "a.type.from.the.future", "id": "e5", "processed_at": at(6) }));
        let shown: Vec<&str> = m.visible(&HashSet::new()).iter().map(|&i| m.items[i].id.as_str()).collect();
        assert_eq!(shown, ["e1", "e2", "e5"], "results and ends are folded; unknown types are rows");
        assert_eq!(m.item("e2").unwrap().duration_ms(), Some(4000.0), "a call lasts until its result");
        assert_eq!(m.item("e1").unwrap().duration_ms(), Some(2000.0));
        assert_eq!(m.item("e2").unwrap().group, Some(1));
        assert_eq!(m.item("e5").unwrap().group, None);
        assert_eq!((m.totals.input, m.totals.output, m.totals.requests), (10, 5, 1));
        let hidden = HashSet::from([Category::Tools]);
        assert_eq!(m.visible(&hidden).len(), 2);
        // A link to a folded event opens its call's row.
        let row = |id: &str| m.row_of(id).map(|i| m.items[i].id.as_str());
        assert_eq!((row("e2"), row("e4"), row("e3"), row("e5")), (Some("e2"), Some("e2"), Some("e1"), Some("e5")));
        assert_eq!(row("sevt_unknown"), None);
    }

    #[test]
    fn every_kind_of_call_shows_its_own_result() {
        let mut m = Model::default();
        m.event(1, json!({ "type": types::AGENT_TOOL_USE, "id": "t", "name": "bash", "input": {} }));
        m.event(2, json!({ "type": types::AGENT_MCP_TOOL_USE, "id": "p", "mcp_server_name": "docs", "name": "find", "input": {} }));
        m.event(3, json!({ "type": types::AGENT_CUSTOM_TOOL_USE, "id": "c", "name": "lookup_order", "input": {} }));
        m.event(4, json!({ "type": types::USER_CUSTOM_TOOL_RESULT, "id": "r3", "custom_tool_use_id": "c", "content": [{ "type": "text", "text": "shipped" }] }));
        m.event(5, json!({ "type": types::AGENT_MCP_TOOL_RESULT, "id": "r2", "mcp_tool_use_id": "p", "content": [] }));
        m.event(6, json!({ "type": types::AGENT_TOOL_RESULT, "id": "r1", "tool_use_id": "t", "content": [] }));
        for (call, result) in [("t", "r1"), ("p", "r2"), ("c", "r3")] {
            let paired = m.item(call).unwrap().paired.as_ref().and_then(|r| r.get("id")).and_then(Value::as_str);
            assert_eq!(paired, Some(result), "{call} shows its result");
            assert!(m.item(result).unwrap().folded, "{result} is shown in its call's row, not as a row of its own");
        }
    }

    #[test]
    fn thread_and_outcome_events_have_their_own_filters_and_calls_name_their_thread() {
        assert_eq!(Category::of(types::AGENT_THREAD_MESSAGE_SENT), Category::Threads);
        assert_eq!(Category::of(types::SESSION_THREAD_STATUS_IDLE), Category::Threads);
        assert_eq!(Category::of(types::WORKFLOW_RUN_PHASE_STARTED), Category::Threads);
        assert_eq!(Category::of(types::WORKFLOW_RUN_ERROR), Category::Errors);
        assert_eq!(Category::of(types::SPAN_OUTCOME_EVALUATION_END), Category::Outcomes);
        assert_eq!(Category::of(types::USER_DEFINE_OUTCOME), Category::Outcomes);
        let mut m = Model::default();
        m.event(1, json!({ "type": types::SESSION_THREAD_CREATED, "id": "e1", "session_thread_id": "sthr_r", "agent_name": "Researcher" }));
        m.event(2, json!({ "type": types::AGENT_TOOL_USE, "id": "e2", "name": "bash", "input": {}, "session_thread_id": "sthr_r" }));
        m.event(3, json!({ "type": types::AGENT_TOOL_USE, "id": "e3", "name": "bash", "input": {} }));
        m.event(4, json!({ "type": types::WORKFLOW_RUN_CREATED, "id": "e4", "workflow_run_id": "w", "name": "Release", "phases": [{ "id": "p1", "name": "Build" }] }));
        m.event(5, json!({ "type": types::WORKFLOW_RUN_PHASE_STARTED, "id": "e5", "workflow_run_id": "w", "workflow_run_phase_id": "p1" }));
        assert_eq!(m.item("e2").unwrap().names.as_deref(), Some("Researcher"));
        assert_eq!(m.item("e3").unwrap().names, None, "the primary thread's calls name no thread");
        assert_eq!(m.item("e5").unwrap().names.as_deref(), Some("Build"));
        assert_eq!(m.thread_name("sthr_r"), Some("Researcher"));
    }

    #[test]
    fn an_outcome_is_followed_through_its_iterations() {
        let mut m = Model::default();
        m.event(1, json!({ "type": types::USER_DEFINE_OUTCOME, "id": "d", "outcome_id": "outc_1", "description": "A summary", "rubric": { "type": "text", "content": "r" }, "max_iterations": 2 }));
        assert_eq!(m.outcomes[0].state_in_words(), "Working on iteration 1 of at most 2");
        m.event(
            2,
            json!({ "type": types::SPAN_OUTCOME_EVALUATION_START, "id": "s", "outcome_id": "outc_1", "iteration": 0 }),
        );
        assert_eq!(m.outcomes[0].state_in_words(), "Grading iteration 1…");
        m.event(3, json!({ "type": types::SPAN_OUTCOME_EVALUATION_END, "id": "e", "outcome_id": "outc_1", "iteration": 0, "result": "needs_revision", "explanation": "Too long.", "outcome_evaluation_start_id": "s", "usage": { "input_tokens": 20, "output_tokens": 3 } }));
        assert_eq!(m.outcomes[0].state_in_words(), "Revising: iteration 2 of at most 2");
        m.event(4, json!({ "type": types::SPAN_OUTCOME_EVALUATION_END, "id": "e2", "outcome_id": "outc_1", "iteration": 1, "result": "satisfied", "explanation": "Good.", "outcome_evaluation_start_id": "s2", "usage": { "input_tokens": 20, "output_tokens": 1 } }));
        let graded: Vec<(u64, &str, u64)> =
            m.outcomes[0].graded.iter().map(|g| (g.iteration, g.result.as_str(), g.tokens)).collect();
        assert_eq!(graded, [(0, "needs_revision", 23), (1, "satisfied", 21)]);
        assert_eq!(m.outcomes[0].state_in_words(), "Satisfied");
    }

    #[test]
    fn each_child_thread_gets_a_lane_that_follows_its_status() {
        let mut m = Model::default();
        // The task comes before the thread's creation, as the engine sends them.
        m.event(1, json!({ "type": types::AGENT_THREAD_MESSAGE_SENT, "id": "s", "to_session_thread_id": "sthr_a", "content": [], "processed_at": at(1) }));
        let lifecycle = |kind: &str, second: u32| json!({ "type": kind, "id": format!("{kind}{second}"), "session_thread_id": "sthr_a", "agent_name": "Researcher", "processed_at": at(second) });
        m.event(2, lifecycle(types::SESSION_THREAD_CREATED, 1));
        assert_eq!((m.lanes.len(), m.lanes[0].status.as_str()), (1, "created"));
        m.event(3, lifecycle(types::SESSION_THREAD_STATUS_RUNNING, 2));
        assert_eq!(m.lanes[0].status, "running");
        assert_eq!(m.running_threads(), [("sthr_a".to_owned(), "Researcher".to_owned())]);
        m.event(4, json!({ "type": types::AGENT_THREAD_MESSAGE_RECEIVED, "id": "r", "from_session_thread_id": "sthr_a", "content": [], "processed_at": at(4) }));
        // Its tool call, cross-posted to the session's stream, marks its lane; the primary
        // thread's own call does not.
        m.event(5, json!({ "type": types::AGENT_TOOL_USE, "id": "t1", "name": "bash", "input": {}, "session_thread_id": "sthr_a", "processed_at": at(3) }));
        m.event(
            6,
            json!({ "type": types::AGENT_TOOL_USE, "id": "t2", "name": "bash", "input": {}, "processed_at": at(3) }),
        );
        assert_eq!(m.lanes[0].marks.len(), 1);
        m.event(7, lifecycle(types::SESSION_THREAD_STATUS_IDLE, 5));
        let lane = &m.lanes[0];
        assert_eq!((lane.status.as_str(), lane.running_ms(f64::MAX)), ("idle", 3000.0));
        assert!(m.running_threads().is_empty());
        let directions: Vec<bool> = lane.messages.iter().map(|(_, to)| *to).collect();
        assert_eq!(directions, [true, false], "the task and the reply are drawn on its lane");
        // It runs again (another task): a second span, its running time counted to now.
        m.event(8, lifecycle(types::SESSION_THREAD_STATUS_RUNNING, 8));
        let lane = &m.lanes[0];
        assert_eq!(lane.spans.len(), 2);
        let eight = crate::format::parse_rfc3339_ms(&at(8)).unwrap();
        assert_eq!(lane.running_ms(eight + 1500.0), 4500.0, "3 s, then 1.5 s of the span still open");
    }

    #[test]
    fn the_primary_lane_runs_while_the_session_does() {
        let mut m = Model::default();
        let status = |kind: &str, second: u32| json!({ "type": kind, "id": format!("{kind}{second}"), "processed_at": at(second) });
        m.event(1, status(types::SESSION_STATUS_RUNNING, 0));
        m.event(2, status(types::SESSION_STATUS_IDLE, 4));
        m.event(3, status(types::SESSION_STATUS_RUNNING, 10));
        m.event(4, status(types::SESSION_STATUS_TERMINATED, 11));
        let spans: Vec<f64> = m.primary.spans.iter().map(|(from, to)| to.unwrap() - from).collect();
        assert_eq!(spans, [4000.0, 1000.0]);
        assert_eq!(m.primary.status, "terminated");
    }

    #[test]
    fn replayed_events_are_not_folded_twice() {
        let mut m = Model::default();
        m.event(1, json!({ "type": types::USER_MESSAGE, "id": "e1" }));
        m.event(1, json!({ "type": types::USER_MESSAGE, "id": "e1" }));
        assert_eq!(m.items.len(), 1);
    }

    #[test]
    fn pending_calls_come_from_requires_action_and_leave_when_answered() {
        let mut m = Model::default();
        m.event(
            1,
            json!({ "type": types::AGENT_TOOL_USE, "id": "a", "name": "bash", "input": {}, "evaluated_permission": "ask" }),
        );
        m.event(2, json!({ "type": types::AGENT_CUSTOM_TOOL_USE, "id": "b", "name": "lookup", "input": {} }));
        m.event(3, json!({ "type": types::SESSION_STATUS_IDLE, "id": "i", "stop_reason": { "type": "requires_action", "event_ids": ["a", "b"] } }));
        assert_eq!(m.pending().len(), 2);
        assert_eq!(m.state_in_words(), "Waiting for your approval of 1 tool call and the result of 1 custom tool call");
        m.event(4, json!({ "type": types::USER_TOOL_CONFIRMATION, "id": "c", "tool_use_id": "a", "result": "allow" }));
        assert_eq!(m.pending().iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["b"]);
        m.event(5, json!({ "type": types::SESSION_STATUS_RUNNING, "id": "r" }));
        assert!(m.pending().is_empty());
        assert_eq!(m.state_in_words(), "Running");
    }

    #[test]
    fn a_self_hosted_sessions_calls_wait_for_a_worker_not_for_a_person() {
        let mut m = Model::default();
        let call = |id: &str, permission: &str| json!({ "type": types::AGENT_TOOL_USE, "id": id, "name": "bash", "input": {}, "evaluated_permission": permission });
        let idle = |ids: &[&str]| json!({ "type": types::SESSION_STATUS_IDLE, "id": format!("i{}", ids.len()), "stop_reason": { "type": "requires_action", "event_ids": ids } });
        m.event(1, call("a", "allow"));
        m.event(2, call("b", "ask"));
        m.event(3, idle(&["a", "b"]));
        assert_eq!(m.state_in_words(), "Waiting for your approval of 1 tool call and a worker to run 1 tool call");
        // Allowed by a person, the call still waits: now for the worker.
        m.event(4, json!({ "type": types::USER_TOOL_CONFIRMATION, "id": "c", "tool_use_id": "b", "result": "allow" }));
        m.event(5, json!({ "type": types::USER_TOOL_RESULT, "id": "r", "tool_use_id": "a", "content": [] }));
        m.event(6, idle(&["b"]));
        assert_eq!(m.state_in_words(), "Waiting for a worker to run 1 tool call");
    }

    #[test]
    fn previews_fold_deltas_and_close_on_the_final_event() {
        let mut m = Model::default();
        m.preview(&json!({ "type": "event_start", "event": { "type": types::AGENT_MESSAGE, "id": "m" } }));
        m.preview(&json!({ "type": "event_delta", "event_id": "m", "delta": { "type": "content_delta", "index": 0, "content": { "type": "text", "text": "Hel" } } }));
        m.preview(&json!({ "type": "event_delta", "event_id": "m", "delta": { "type": "content_delta", "content": { "type": "text", "text": "lo" } } }));
        assert_eq!(m.previews[0].blocks, ["Hello"]);
        m.event(
            1,
            json!({ "type": types::AGENT_MESSAGE, "id": "m", "content": [{ "type": "text", "text": "Hello!" }] }),
        );
        assert!(m.previews.is_empty());
        m.preview(&json!({ "type": "event_start", "event": { "type": types::AGENT_MESSAGE, "id": "m" } }));
        assert!(m.previews.is_empty(), "a stale preview of a final message is ignored");
    }

    #[test]
    fn a_resumed_stream_replaces_a_preview_instead_of_doubling_it() {
        let mut m = Model::default();
        let start = json!({ "type": "event_start", "event": { "type": types::AGENT_MESSAGE, "id": "m" } });
        let delta = |text: &str| json!({ "type": "event_delta", "event_id": "m", "delta": { "type": "content_delta", "index": 0, "content": { "type": "text", "text": text } } });
        m.preview(&start);
        m.preview(&delta("Hello"));
        // The hub's snapshot after a reconnect: the start again, then the text so far.
        m.preview(&start);
        m.preview(&delta("Hello, wor"));
        assert_eq!(m.previews[0].blocks, ["Hello, wor"]);
    }

    #[test]
    fn a_reset_forgets_the_events_and_takes_the_history_again_from_one() {
        let mut m = Model::default();
        m.frame(sse::EVENT, json!({ "type": types::USER_MESSAGE, "id": "a" }).to_string(), "7");
        m.frame(sse::EVENT, json!({ "type": types::AGENT_MESSAGE, "id": "b" }).to_string(), "8");
        m.frame(sse::RESET, json!({ "message": "read again" }).to_string(), "");
        assert!(m.items.is_empty() && m.item("a").is_none());
        m.frame(sse::EVENT, json!({ "type": types::USER_MESSAGE, "id": "a" }).to_string(), "1");
        m.frame(sse::EVENT, json!({ "type": types::AGENT_MESSAGE, "id": "b" }).to_string(), "2");
        assert_eq!(m.items.iter().map(|i| i.seq).collect::<Vec<_>>(), [1, 2], "numbers below the old ones are taken");
        assert_eq!(m.notice.as_deref(), Some("read again"));
        assert_eq!(m.link, Link::Live);
    }
}
