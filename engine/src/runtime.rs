//! One task per active session: it takes the session's user events in order and plays the
//! agent's turns (model request → events → tools, respecting the permission policy → next model
//! request) until `end_turn`, `requires_action`, an interrupt or an error.
//!
//! Where a turn stands (which turn of the script, which step, which calls wait for an answer) is
//! saved in the session's row after every step, so a restart finds sessions that waited for
//! approvals still waiting, and sessions that were running come back idle with a
//! `session.error` that says so.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use protocol::events::types;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;
use tokio::sync::{mpsc, watch};

use crate::{
    EngineState,
    error::{ApiError, ApiResult},
    ids::{new_id, now},
    sandbox::{Sandbox, ToolOutput},
    script::{SCRIPTED_MODEL, Script, Step, request_end},
};

/// Where the runtime of a session stands; saved as JSON in `sessions.runtime`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RuntimeState {
    /// How many user messages have started a turn (the next one plays turn `messages`).
    pub messages: u64,
    pub turn: Option<Turn>,
    #[serde(default)]
    pub active_seconds: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Turn {
    pub index: usize,
    pub next_step: usize,
    pub pending: Vec<Pending>,
}

/// A tool call that waits for the client: a confirmation or a custom tool result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub event_id: String,
    pub name: String,
    pub input: Value,
    pub custom: bool,
    pub decision: Option<Decision>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Deny { message: Option<String> },
    Answered,
}

pub enum Input {
    Message,
    Decided,
}

/// The way in to a session's runtime. The task ends once every handle is gone (the session was
/// deleted): its channel closes and its interrupt sender with it.
#[derive(Clone)]
pub struct Handle {
    tx: mpsc::UnboundedSender<Input>,
    interrupt: Arc<watch::Sender<u64>>,
    pub state: Arc<Mutex<RuntimeState>>,
}

impl Handle {
    pub fn message(&self) {
        let _ = self.tx.send(Input::Message);
    }

    pub fn decided(&self) {
        let _ = self.tx.send(Input::Decided);
    }

    /// Stops the turn being played (or the wait for answers) at once: it jumps the queue.
    pub fn interrupt(&self) {
        self.interrupt.send_modify(|generation| *generation += 1);
    }

    /// Checks a batch of answers against what is pending and records them, all or nothing.
    pub fn decide(&self, answers: &[(String, Decision)]) -> ApiResult<()> {
        let mut state = self.state.lock().expect("runtime state lock");
        let Some(turn) = state.turn.as_mut() else {
            let (id, _) = &answers[0];
            return Err(ApiError::invalid(format!(
                "Event {id} is not waiting for an answer: nothing is pending in this session."
            )));
        };
        for (i, (id, decision)) in answers.iter().enumerate() {
            let custom_answer = *decision == Decision::Answered;
            let Some(pending) = turn.pending.iter().find(|p| p.event_id == *id) else {
                return Err(ApiError::invalid(format!(
                    "Event {id} is not a tool call waiting for an answer in this session."
                )));
            };
            if pending.custom != custom_answer {
                return Err(ApiError::invalid(if pending.custom {
                    format!("{id} is a custom tool call: answer it with user.custom_tool_result.")
                } else {
                    format!("{id} is a tool call that needs a confirmation: answer it with user.tool_confirmation.")
                }));
            }
            if pending.decision.is_some() || answers[..i].iter().any(|(other, _)| other == id) {
                return Err(ApiError::invalid(format!("{id} has already been answered.")));
            }
        }
        for (id, decision) in answers {
            if let Some(pending) = turn.pending.iter_mut().find(|p| p.event_id == *id) {
                pending.decision = Some(decision.clone());
            }
        }
        Ok(())
    }
}

impl EngineState {
    /// The runtime of a session, started on first use.
    pub async fn runtime(self: &Arc<Self>, session_id: &str) -> ApiResult<Handle> {
        if let Some(handle) = self.runtimes.lock().expect("runtimes lock").get(session_id) {
            return Ok(handle.clone());
        }
        let stored: String = sqlx::query_scalar("SELECT runtime FROM sessions WHERE id = ?")
            .bind(session_id)
            .fetch_optional(&self.store.pool)
            .await?
            .ok_or_else(|| ApiError::not_found("session", session_id))?;
        let state: RuntimeState = serde_json::from_str(&stored).unwrap_or_default();
        let mut runtimes = self.runtimes.lock().expect("runtimes lock");
        if let Some(handle) = runtimes.get(session_id) {
            return Ok(handle.clone());
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let (interrupt, interrupt_rx) = watch::channel(0);
        let handle = Handle { tx, interrupt: Arc::new(interrupt), state: Arc::new(Mutex::new(state)) };
        runtimes.insert(session_id.to_owned(), handle.clone());
        let actor = Actor { engine: self.clone(), session_id: session_id.to_owned(), state: handle.state.clone() };
        tokio::spawn(actor.run(rx, interrupt_rx));
        Ok(handle)
    }

    /// Stops a session's runtime (its session is being deleted): dropping the handle ends the
    /// task, mid-turn too, without writing anything more.
    pub fn stop_runtime(&self, session_id: &str) {
        self.runtimes.lock().expect("runtimes lock").remove(session_id);
    }

    async fn set_status(&self, session_id: &str, status: &str) -> ApiResult<()> {
        sqlx::query(
            "UPDATE sessions SET status = ?, body = json_set(body, '$.status', ?, '$.updated_at', ?) WHERE id = ?",
        )
        .bind(status)
        .bind(status)
        .bind(now().text)
        .bind(session_id)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }
}

/// On start: sessions the last process left running come back idle with a `session.error`.
pub async fn recover(engine: &Arc<EngineState>) -> ApiResult<()> {
    let rows = sqlx::query("SELECT id, runtime FROM sessions WHERE status IN ('running', 'rescheduling')")
        .fetch_all(&engine.store.pool)
        .await?;
    for row in rows {
        let id: String = row.get(0);
        let mut state: RuntimeState = serde_json::from_str(row.get(1)).unwrap_or_default();
        state.turn = None;
        sqlx::query("UPDATE sessions SET runtime = ? WHERE id = ?")
            .bind(serde_json::to_string(&state)?)
            .bind(&id)
            .execute(&engine.store.pool)
            .await?;
        engine
            .append(&id, json!({
                "type": types::SESSION_ERROR,
                "error": {
                    "type": "unknown_error",
                    "message": "The engine stopped while this session was running, so its turn was cut short. Nothing was lost before that point; send a new message to continue.",
                    "retry_status": { "type": "exhausted" },
                },
            }))
            .await?;
        engine.set_status(&id, "idle").await?;
        engine
            .append(&id, json!({ "type": types::SESSION_STATUS_IDLE, "stop_reason": { "type": "retries_exhausted" }, "stop_details": null }))
            .await?;
        tracing::warn!(session = %id, "the session was running when the engine stopped; it is idle again");
    }
    Ok(())
}

struct Actor {
    engine: Arc<EngineState>,
    session_id: String,
    state: Arc<Mutex<RuntimeState>>,
}

/// How a piece of a turn ended.
enum Outcome {
    /// The turn finished or paused; the loop looks at the state again.
    Continue,
    /// The session is gone or broken: the task ends.
    Stop,
}

impl Actor {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Input>, mut interrupts: watch::Receiver<u64>) {
        // User messages received and not yet played.
        let mut queued = 0usize;
        loop {
            let (has_turn, all_decided) = match &self.state.lock().expect("runtime state lock").turn {
                Some(turn) => (true, turn.pending.iter().all(|p| p.decision.is_some())),
                None => (false, false),
            };
            let start = !has_turn && queued > 0;
            if (has_turn && all_decided) || start {
                if start {
                    queued -= 1;
                }
                // An interrupt sent before the turn began is not this turn's.
                interrupts.borrow_and_update();
                let started = Instant::now();
                let outcome = tokio::select! {
                    outcome = self.play(start) => outcome,
                    changed = interrupts.changed() => match changed {
                        Ok(()) => self.interrupted().await,
                        Err(_) => Ok(Outcome::Stop),
                    },
                };
                self.state.lock().expect("runtime state lock").active_seconds += started.elapsed().as_secs_f64();
                let _ = self.save().await;
                match outcome {
                    Ok(Outcome::Continue) => continue,
                    Ok(Outcome::Stop) => return,
                    Err(error) => {
                        tracing::error!(session = %self.session_id, "the session's turn failed: {}", error.message);
                        if self.fail().await.is_err() {
                            return;
                        }
                        continue;
                    }
                }
            }
            tokio::select! {
                input = rx.recv() => match input {
                    None => return,
                    Some(Input::Message) => queued += 1,
                    Some(Input::Decided) => {
                        // Some calls answered, some still open: say again what the session waits for.
                        let remaining = self.remaining();
                        if has_turn && !all_decided && !remaining.is_empty() && self.save().await.is_ok() {
                            let _ = self.idle(json!({ "type": "requires_action", "event_ids": remaining })).await;
                        }
                    }
                },
                changed = interrupts.changed() => {
                    if changed.is_err() || (has_turn && self.interrupted().await.is_err()) {
                        return;
                    }
                }
            }
        }
    }

    fn remaining(&self) -> Vec<String> {
        let state = self.state.lock().expect("runtime state lock");
        state
            .turn
            .iter()
            .flat_map(|t| &t.pending)
            .filter(|p| p.decision.is_none())
            .map(|p| p.event_id.clone())
            .collect()
    }

    async fn emit(&self, event: Value) -> ApiResult<Value> {
        self.engine.append(&self.session_id, event).await
    }

    async fn save(&self) -> ApiResult<()> {
        let (state, active) = {
            let state = self.state.lock().expect("runtime state lock");
            (serde_json::to_string(&*state)?, state.active_seconds)
        };
        sqlx::query(
            "UPDATE sessions SET runtime = ?, body = json_set(body, '$.stats.active_seconds', ?, '$.usage.active_seconds', ?) WHERE id = ?",
        )
        .bind(state)
        .bind(active)
        .bind(active)
        .bind(&self.session_id)
        .execute(&self.engine.store.pool)
        .await?;
        Ok(())
    }

    async fn idle(&self, stop_reason: Value) -> ApiResult<()> {
        self.engine.set_status(&self.session_id, "idle").await?;
        self.emit(json!({ "type": types::SESSION_STATUS_IDLE, "stop_reason": stop_reason, "stop_details": null }))
            .await?;
        Ok(())
    }

    async fn interrupted(&self) -> ApiResult<Outcome> {
        self.state.lock().expect("runtime state lock").turn = None;
        self.save().await?;
        self.idle(json!({ "type": "end_turn" })).await?;
        Ok(Outcome::Continue)
    }

    /// After an unexpected failure: the turn is dropped and the session says so.
    async fn fail(&self) -> ApiResult<()> {
        self.state.lock().expect("runtime state lock").turn = None;
        self.save().await?;
        self.emit(json!({
            "type": types::SESSION_ERROR,
            "error": { "type": "unknown_error", "message": "The engine failed while playing this turn; see its log. Send a new message to try again.", "retry_status": { "type": "exhausted" } },
        }))
        .await?;
        self.idle(json!({ "type": "retries_exhausted" })).await
    }

    async fn session(&self) -> ApiResult<Value> {
        let body: Option<String> = sqlx::query_scalar("SELECT body FROM sessions WHERE id = ?")
            .bind(&self.session_id)
            .fetch_optional(&self.engine.store.pool)
            .await?;
        body.map(|b| serde_json::from_str(&b).map_err(ApiError::internal))
            .transpose()?
            .ok_or_else(|| ApiError::not_found("session", &self.session_id))
    }

    /// Plays the current turn from where it stands: starting it, or resuming it once every
    /// pending call has its answer.
    async fn play(&self, start: bool) -> ApiResult<Outcome> {
        let Ok(session) = self.session().await else { return Ok(Outcome::Stop) };
        if start {
            let mut state = self.state.lock().expect("runtime state lock");
            state.turn = Some(Turn { index: state.messages as usize, next_step: 0, pending: vec![] });
            state.messages += 1;
        }
        self.save().await?;
        self.engine.set_status(&self.session_id, "running").await?;
        self.emit(json!({ "type": types::SESSION_STATUS_RUNNING })).await?;
        self.apply_answers(&session).await?;

        let script = match script_of(&session["agent"]) {
            Ok(script) => script,
            Err(message) => {
                self.emit(json!({ "type": types::SESSION_ERROR, "error": { "type": "model_request_failed_error", "message": message, "retry_status": { "type": "exhausted" } } })).await?;
                return self.end_turn(json!({ "type": "retries_exhausted" })).await;
            }
        };
        let (turn_index, mut step) = {
            let state = self.state.lock().expect("runtime state lock");
            let turn = state.turn.as_ref().expect("a turn is being played");
            (turn.index, turn.next_step)
        };
        let steps = script.turn(turn_index);
        while step < steps.len() {
            match &steps[step] {
                Step::SleepMs(ms) => {
                    tokio::time::sleep(Duration::from_millis(*ms)).await;
                    step += 1;
                    self.advance(step).await?;
                    continue;
                }
                Step::Error { kind, retry_status } => {
                    step += 1;
                    match self.scripted_error(kind, retry_status, step).await? {
                        Some(outcome) => return Ok(outcome),
                        None => continue,
                    }
                }
                _ => {}
            }
            let end = request_end(steps, step);
            let calls = self.model_request(&session, &script, &steps[step..end]).await?;
            step = end;
            self.advance(step).await?;
            let mut pending = Vec::new();
            for (event_id, name, input, permission) in calls {
                match permission {
                    Permission::Allow => self.execute(&session, &event_id, &name, &input).await?,
                    Permission::Deny(reason) => self.tool_result(&event_id, ToolOutput::error(reason)).await?,
                    Permission::Ask => pending.push(Pending { event_id, name, input, custom: false, decision: None }),
                    Permission::Custom => pending.push(Pending { event_id, name, input, custom: true, decision: None }),
                }
            }
            if !pending.is_empty() {
                return self.wait_for(pending).await;
            }
        }
        self.end_turn(json!({ "type": "end_turn" })).await
    }

    /// Runs the calls a person allowed since the turn paused, and reports those they denied.
    async fn apply_answers(&self, session: &Value) -> ApiResult<()> {
        let answered = {
            let mut state = self.state.lock().expect("runtime state lock");
            state.turn.as_mut().map(|t| std::mem::take(&mut t.pending)).unwrap_or_default()
        };
        for call in answered {
            match call.decision {
                Some(Decision::Allow) => self.execute(session, &call.event_id, &call.name, &call.input).await?,
                Some(Decision::Deny { message }) => {
                    let text = match message {
                        Some(message) => format!("The user denied this tool call: {message}"),
                        None => "The user denied this tool call.".to_owned(),
                    };
                    self.tool_result(&call.event_id, ToolOutput::error(text)).await?;
                }
                _ => {}
            }
        }
        self.save().await
    }

    /// A script's `{"error": kind, "retry_status": …}` step, as the API reports a model error:
    /// `retrying` reschedules and goes on (`None`), `terminal` ends the session, anything else
    /// ends the turn.
    async fn scripted_error(&self, kind: &str, retry_status: &str, next: usize) -> ApiResult<Option<Outcome>> {
        let message = format!("The script raised {kind} ({retry_status}).");
        self.emit(json!({ "type": types::SESSION_ERROR, "error": { "type": kind, "message": message, "retry_status": { "type": retry_status } } })).await?;
        match retry_status {
            "retrying" => {
                self.engine.set_status(&self.session_id, "rescheduling").await?;
                self.emit(json!({ "type": types::SESSION_STATUS_RESCHEDULED })).await?;
                self.advance(next).await?;
                self.engine.set_status(&self.session_id, "running").await?;
                self.emit(json!({ "type": types::SESSION_STATUS_RUNNING })).await?;
                Ok(None)
            }
            "terminal" => {
                self.state.lock().expect("runtime state lock").turn = None;
                self.save().await?;
                self.engine.set_status(&self.session_id, "terminated").await?;
                self.emit(json!({ "type": types::SESSION_STATUS_TERMINATED })).await?;
                Ok(Some(Outcome::Stop))
            }
            _ => self.end_turn(json!({ "type": "retries_exhausted" })).await.map(Some),
        }
    }

    /// Pauses the turn on calls that need a person (confirmations, custom tools).
    async fn wait_for(&self, pending: Vec<Pending>) -> ApiResult<Outcome> {
        let ids: Vec<String> = pending.iter().map(|p| p.event_id.clone()).collect();
        if let Some(turn) = self.state.lock().expect("runtime state lock").turn.as_mut() {
            turn.pending = pending;
        }
        self.save().await?;
        self.idle(json!({ "type": "requires_action", "event_ids": ids })).await?;
        Ok(Outcome::Continue)
    }

    /// Ends the turn and goes idle for `stop_reason`.
    async fn end_turn(&self, stop_reason: Value) -> ApiResult<Outcome> {
        self.state.lock().expect("runtime state lock").turn = None;
        self.save().await?;
        self.idle(stop_reason).await?;
        Ok(Outcome::Continue)
    }

    async fn advance(&self, step: usize) -> ApiResult<()> {
        if let Some(turn) = self.state.lock().expect("runtime state lock").turn.as_mut() {
            turn.next_step = step;
        }
        self.save().await
    }

    /// One model request: its span, what the model "writes", and the calls it makes.
    async fn model_request(&self, session: &Value, script: &Script, steps: &[Step]) -> ApiResult<Vec<Call>> {
        let start = self.emit(json!({ "type": types::SPAN_MODEL_REQUEST_START })).await?;
        let mut output_chars = 0usize;
        let mut calls = Vec::new();
        for step in steps {
            match step {
                Step::Text(text) => {
                    output_chars += text.len();
                    let id = new_id("sevt");
                    self.engine.preview(
                        &self.session_id,
                        types::AGENT_MESSAGE,
                        json!({ "type": "event_start", "event": { "type": types::AGENT_MESSAGE, "id": id } }),
                    );
                    for chunk in chunks(text) {
                        if script.stream_delay_ms > 0 {
                            tokio::time::sleep(Duration::from_millis(script.stream_delay_ms)).await;
                        }
                        self.engine.preview(
                            &self.session_id,
                            types::AGENT_MESSAGE,
                            json!({ "type": "event_delta", "event_id": id, "delta": { "type": "content_delta", "index": 0, "content": { "type": "text", "text": chunk } } }),
                        );
                    }
                    self.emit(
                        json!({ "type": types::AGENT_MESSAGE, "id": id, "content": [{ "type": "text", "text": text }] }),
                    )
                    .await?;
                }
                Step::Thinking(text) => {
                    output_chars += text.len();
                    let id = new_id("sevt");
                    self.engine.preview(
                        &self.session_id,
                        types::AGENT_THINKING,
                        json!({ "type": "event_start", "event": { "type": types::AGENT_THINKING, "id": id } }),
                    );
                    if script.stream_delay_ms > 0 {
                        tokio::time::sleep(Duration::from_millis(script.stream_delay_ms * 4)).await;
                    }
                    self.emit(json!({ "type": types::AGENT_THINKING, "id": id })).await?;
                }
                Step::Tool { name, input } => {
                    output_chars += input.to_string().len();
                    let (permission, evaluation) = evaluate(&session["agent"]["tools"], name);
                    let mut event = json!({ "type": types::AGENT_TOOL_USE, "name": name, "input": input, "evaluated_permission": permission.evaluated() });
                    if let Some(evaluation) = evaluation {
                        event["evaluation"] = evaluation;
                    }
                    let event = self.emit(event).await?;
                    calls.push((event_id(&event), name.clone(), input.clone(), permission));
                }
                Step::CustomTool { name, input } => {
                    output_chars += input.to_string().len();
                    let event = self
                        .emit(json!({ "type": types::AGENT_CUSTOM_TOOL_USE, "name": name, "input": input }))
                        .await?;
                    calls.push((event_id(&event), name.clone(), input.clone(), Permission::Custom));
                }
                Step::SleepMs(_) | Step::Error { .. } => {}
            }
        }
        // Usage is estimated from text length (about four characters a token); the list cost of
        // the scripted model is zero.
        let input_tokens = (session["agent"]["system"].as_str().map_or(0, str::len) / 4 + 16) as u64;
        let output_tokens = (output_chars / 4 + 1) as u64;
        self.emit(json!({
            "type": types::SPAN_MODEL_REQUEST_END,
            "model_request_start_id": start["id"],
            "model_usage": { "input_tokens": input_tokens, "output_tokens": output_tokens, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0, "speed": "standard" },
            "is_error": false,
        }))
        .await?;
        sqlx::query(
            "UPDATE sessions SET body = json_set(body, \
               '$.usage.input_tokens', COALESCE(json_extract(body, '$.usage.input_tokens'), 0) + ?, \
               '$.usage.output_tokens', COALESCE(json_extract(body, '$.usage.output_tokens'), 0) + ?, \
               '$.usage.cache_read_input_tokens', COALESCE(json_extract(body, '$.usage.cache_read_input_tokens'), 0), \
               '$.usage.list_cost', json('{\"amount\":\"0\",\"currency\":\"USD\"}')) WHERE id = ?",
        )
        .bind(input_tokens as i64)
        .bind(output_tokens as i64)
        .bind(&self.session_id)
        .execute(&self.engine.store.pool)
        .await?;
        Ok(calls)
    }

    async fn execute(&self, session: &Value, event_id: &str, name: &str, input: &Value) -> ApiResult<()> {
        let sandbox = self.engine.sandbox(session).await?;
        let output = sandbox.run(name, input).await;
        self.engine.collect_outputs(&self.session_id).await?;
        self.tool_result(event_id, output).await
    }

    async fn tool_result(&self, event_id: &str, output: ToolOutput) -> ApiResult<()> {
        self.emit(json!({
            "type": types::AGENT_TOOL_RESULT,
            "tool_use_id": event_id,
            "content": [{ "type": "text", "text": output.text }],
            "is_error": output.is_error,
        }))
        .await?;
        Ok(())
    }
}

type Call = (String, String, Value, Permission);

/// The script an agent plays: its system prompt, parsed, when its model is the scripted one;
/// otherwise what to tell the person.
fn script_of(agent: &Value) -> Result<Script, String> {
    let model = agent["model"]["id"].as_str().unwrap_or_default();
    match agent["system"].as_str().map(Script::parse) {
        Some(Ok(script)) if model == SCRIPTED_MODEL => Ok(script),
        _ if model == SCRIPTED_MODEL => Err("The agent's script does not parse; fix its system prompt.".to_owned()),
        _ => Err(format!(
            "The embedded engine runs only the scripted model (model \"scripted\"); {model:?} needs Anthropic's API. Set ANTHROPIC_API_KEY to use it."
        )),
    }
}

fn event_id(event: &Value) -> String {
    event["id"].as_str().unwrap_or_default().to_owned()
}

#[derive(Debug, Clone, PartialEq)]
enum Permission {
    Allow,
    Ask,
    Deny(String),
    Custom,
}

impl Permission {
    /// The `evaluated_permission` of a built-in tool call.
    fn evaluated(&self) -> &'static str {
        match self {
            Permission::Allow => "allow",
            Permission::Deny(_) => "deny",
            Permission::Ask | Permission::Custom => "ask",
        }
    }
}

/// The permission a built-in tool call gets from the agent's toolset, with the `evaluation` its
/// event carries (none when the call was refused before any policy).
fn evaluate(tools: &Value, name: &str) -> (Permission, Option<Value>) {
    let toolset = tools.as_array().into_iter().flatten().find(|t| t["type"] == "agent_toolset_20260401");
    let Some(toolset) = toolset else {
        let reason = format!("The {name} tool is not available: this agent has no built-in toolset.");
        return (Permission::Deny(reason), None);
    };
    let config = toolset["configs"].as_array().into_iter().flatten().find(|c| c["name"] == name);
    let enabled = config.map_or(toolset["default_config"]["enabled"].as_bool().unwrap_or(true), |c| {
        c["enabled"].as_bool().unwrap_or(true)
    });
    if !enabled {
        return (Permission::Deny(format!("The {name} tool is disabled for this agent.")), None);
    }
    let policy = config.map_or(&toolset["default_config"]["permission_policy"], |c| &c["permission_policy"]);
    match policy["type"].as_str() {
        Some("always_ask") => (Permission::Ask, Some(json!({ "type": "always_ask" }))),
        // The engine cannot judge how risky a call is, so `auto` always asks.
        Some("auto") => (
            Permission::Ask,
            Some(json!({ "type": "auto", "evaluated_permission": { "type": "ask", "reason_code": "indeterminate" } })),
        ),
        _ => (Permission::Allow, Some(json!({ "type": "always_allow" }))),
    }
}

/// Splits text into the pieces its previews stream: a few words each.
fn chunks(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for (i, word) in text.split_inclusive(' ').enumerate() {
        current.push_str(word);
        if i % 3 == 2 {
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() || pieces.is_empty() {
        pieces.push(current);
    }
    pieces
}

impl EngineState {
    /// The sandbox of a session, as its environment and resources say.
    pub async fn sandbox(&self, session: &Value) -> ApiResult<Sandbox> {
        let session_id = session["id"].as_str().unwrap_or_default();
        let dir = self.sandbox_dir(session_id);
        let environment_id = session["environment_id"].as_str().unwrap_or_default();
        let network = match self.environment(environment_id).await {
            Ok((_, environment)) => environment["config"]["networking"]["type"] == "unrestricted",
            Err(_) => false,
        };
        let resources: Vec<String> =
            sqlx::query_scalar("SELECT body FROM session_resources WHERE session_id = ? ORDER BY seq")
                .bind(session_id)
                .fetch_all(&self.store.pool)
                .await?;
        let mut mounts = Vec::new();
        for resource in resources {
            let resource: Value = serde_json::from_str(&resource)?;
            if resource["type"] == "file" {
                let file_id = resource["file_id"].as_str().unwrap_or_default();
                let path = self.file_path(file_id);
                if path.is_file() {
                    mounts.push((path, resource["mount_path"].as_str().unwrap_or_default().to_owned()));
                }
            }
        }
        Ok(Sandbox {
            workspace: dir.join("workspace"),
            outputs: dir.join("outputs"),
            mounts,
            network,
            tool_runner: self.config.tool_runner.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_stream_text_in_pieces_that_add_up() {
        let text = "The quick brown fox jumps over the lazy dog";
        let pieces = chunks(text);
        assert!(pieces.len() > 2);
        assert_eq!(pieces.concat(), text);
        assert_eq!(chunks(""), vec![String::new()]);
    }

    #[test]
    fn policies_decide_how_a_call_runs() {
        let tools = json!([{ "type": "agent_toolset_20260401",
            "default_config": { "enabled": true, "permission_policy": { "type": "always_allow" } },
            "configs": [
                { "type": "bash", "name": "bash", "enabled": true, "permission_policy": { "type": "always_ask" } },
                { "type": "read", "name": "read", "enabled": true, "permission_policy": { "type": "auto" } },
                { "type": "write", "name": "write", "enabled": false, "permission_policy": { "type": "always_allow" } },
            ] }]);
        assert_eq!(evaluate(&tools, "bash").0, Permission::Ask);
        let (auto, evaluation) = evaluate(&tools, "read");
        assert_eq!((auto.evaluated(), auto), ("ask", Permission::Ask));
        assert_eq!(evaluation.unwrap()["evaluated_permission"]["reason_code"], "indeterminate");
        assert!(matches!(evaluate(&tools, "write").0, Permission::Deny(_)));
        assert_eq!(evaluate(&tools, "grep").0, Permission::Allow);
        let (refused, evaluation_of_refused) = evaluate(&json!([]), "bash");
        assert!(matches!((refused.evaluated(), &refused, evaluation_of_refused), ("deny", Permission::Deny(_), None)));
    }
}
