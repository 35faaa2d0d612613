//! One task per active session: it takes the session's user events in order and plays the
//! agent's turns (model request → events → tools, respecting the permission policy → next model
//! request) until `end_turn`, `requires_action`, an interrupt or an error.
//!
//! Where a turn stands (which turn of the script, which step, which calls wait for an answer) is
//! saved in the session's row after every step, so a restart finds sessions that waited for
//! approvals still waiting, and sessions that were running come back idle with a
//! `session.error` that says so.
//!
//! Multiagent sessions: a turn of the primary thread may start a child thread (`threads`), which
//! plays its own turn to its end while the primary's step waits; a child's call that needs a
//! person makes the whole session wait, and the answer is routed to the child. An outcome
//! (`outcomes`) has the turn graded when it ends, and revised until the grader is satisfied.

pub(crate) mod mcp;
mod memory_mounts;
mod model_turn;
mod outcomes;
mod repository_mounts;
pub mod scheduler;
mod threads;
mod turn;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use protocol::{
    common::Empty,
    events::{
        AutoEvaluatedPermission, AutoEvaluation, AutoReason, EvaluatedPermission, ReasonCode, SessionEvent, StopReason,
        ToolEvaluation, types,
    },
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, watch};

pub use self::turn::{Child, Decision, Pending, Thread, Turn};
pub use crate::domain::outcomes::OutcomeRun;
use crate::{
    EngineState, emitted,
    error::{ApiError, ApiResult},
    ids::{new_id, now},
    model::stream::Usage,
    sandbox::{Sandbox, ToolOutput, egress::Egress},
    script::{NoScript, SCRIPTED_MODEL, Script, Step, request_end},
};

/// Where the runtime of a session stands; saved as JSON in `sessions.runtime`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RuntimeState {
    /// How many user messages have started a turn (the next one plays turn `messages`).
    pub messages: u64,
    pub turn: Option<Turn>,
    #[serde(default)]
    pub active_seconds: f64,
    /// The outcome the session works toward, while it is worked on.
    #[serde(default)]
    pub outcome: Option<OutcomeRun>,
}

impl RuntimeState {
    /// The turn that waits for answers, if any: a child thread's when one is under way.
    pub fn waiting_turn(&mut self) -> Option<&mut Turn> {
        let turn = self.turn.as_mut()?;
        match turn.child.is_some() {
            true => turn.child.as_mut().map(|child| &mut child.turn),
            false => Some(turn),
        }
    }

    /// The child thread under way, if any.
    pub fn child(&self) -> Option<&Child> {
        self.turn.as_ref()?.child.as_deref()
    }
}

pub enum Input {
    Message,
    /// A `user.define_outcome`: a turn toward it, graded when it ends.
    Outcome(OutcomeRun),
    Decided,
}

/// What starts a turn, queued in order.
enum Start {
    Message,
    Outcome(OutcomeRun),
}

/// An interrupt: how many so far, and the thread it is for (`None`: every thread).
type Interrupt = (u64, Option<String>);

/// The way in to a session's runtime. The task ends once every handle is gone: its channel
/// closes and its interrupt sender with it. Archiving or deleting the session ends it at once
/// ([`EngineState::stop_runtime`], through `task`).
#[derive(Clone)]
pub struct Handle {
    tx: mpsc::UnboundedSender<Input>,
    interrupt: Arc<watch::Sender<Interrupt>>,
    pub state: Arc<Mutex<RuntimeState>>,
    task: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl Handle {
    pub fn message(&self) {
        let _ = self.tx.send(Input::Message);
    }

    pub fn outcome(&self, outcome: OutcomeRun) {
        let _ = self.tx.send(Input::Outcome(outcome));
    }

    pub fn decided(&self) {
        let _ = self.tx.send(Input::Decided);
    }

    /// Stops the turn being played (or the wait for answers) at once: it jumps the queue. With a
    /// thread, only that thread's work stops (the primary thread's is everything).
    pub fn interrupt(&self, thread: Option<String>) {
        self.interrupt.send_modify(|(generation, target)| {
            *generation += 1;
            *target = thread;
        });
    }

    /// Checks a batch of answers against what is pending and records them, all or nothing.
    /// Says, for each, the child thread it was routed to (`None`: the primary thread).
    pub fn decide(&self, answers: &[(String, Decision)]) -> ApiResult<Vec<Option<String>>> {
        let mut state = self.state.lock().expect("runtime state lock");
        let routed_to = state.child().map(|child| child.thread_id.clone());
        let Some(turn) = state.waiting_turn() else {
            let (id, _) = &answers[0];
            return Err(ApiError::invalid(format!(
                "Event {id} is not waiting for an answer: nothing is pending in this session."
            )));
        };
        // Applied to a copy, in order (a confirmation and a worker's result of one call may come
        // in one batch), and kept only when every answer fits.
        let mut pending = turn.pending.clone();
        for (id, decision) in answers {
            let Some(call) = pending.iter_mut().find(|p| p.event_id == *id) else {
                return Err(ApiError::invalid(format!(
                    "Event {id} is not a tool call waiting for an answer in this session."
                )));
            };
            call.answer(decision).map_err(ApiError::invalid)?;
        }
        turn.pending = pending;
        Ok(vec![routed_to; answers.len()])
    }
}

impl EngineState {
    /// The runtime of a session, started on first use. An archived session has none: it takes
    /// no more input.
    pub async fn runtime(self: &Arc<Self>, session_id: &str) -> ApiResult<Handle> {
        if let Some(handle) = self.runtimes.lock().expect("runtimes lock").get(session_id) {
            return Ok(handle.clone());
        }
        // Where its runtime stands, and whether its tools run on a self-hosted worker (its
        // environment's type cannot change).
        let (stored, self_hosted, archived) =
            self.store.runtime_of(session_id).await?.ok_or_else(|| ApiError::not_found("session", session_id))?;
        if archived {
            return Err(ApiError::conflict(format!("Session {session_id} is archived; it takes no more input.")));
        }
        let state: RuntimeState = serde_json::from_str(&stored).unwrap_or_default();
        let handle = {
            let mut runtimes = self.runtimes.lock().expect("runtimes lock");
            if let Some(handle) = runtimes.get(session_id) {
                return Ok(handle.clone());
            }
            let (tx, rx) = mpsc::unbounded_channel();
            let (interrupt, interrupt_rx) = watch::channel((0, None));
            let handle =
                Handle { tx, interrupt: Arc::new(interrupt), state: Arc::new(Mutex::new(state)), task: Arc::default() };
            runtimes.insert(session_id.to_owned(), handle.clone());
            let actor = Actor {
                engine: self.clone(),
                session_id: session_id.to_owned(),
                state: handle.state.clone(),
                primary: std::sync::OnceLock::new(),
                self_hosted,
            };
            *handle.task.lock().expect("runtime task lock") = Some(tokio::spawn(actor.run(rx, interrupt_rx)));
            handle
        };
        // An archive between the read above and the insert found no runtime to stop: archiving
        // marks the session before it stops the runtime, so this read sees it, and stops it.
        let archived_since = self.store.session_archived(session_id).await?.unwrap_or(true);
        if archived_since {
            self.stop_runtime(session_id).await;
            return Err(ApiError::conflict(format!("Session {session_id} is archived; it takes no more input.")));
        }
        Ok(handle)
    }

    /// Stops a session's runtime (its session is archived or deleted) and waits until its task
    /// has ended, mid-turn too: a tool call under way is killed with its sandbox. Answers
    /// whether a runtime was running. Its MCP connections close.
    pub async fn stop_runtime(&self, session_id: &str) -> bool {
        let handle = self.runtimes.lock().expect("runtimes lock").remove(session_id);
        self.close_mcp(session_id);
        let Some(handle) = handle else { return false };
        let task = handle.task.lock().expect("runtime task lock").take();
        drop(handle);
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
        true
    }

    /// Settles a session whose turn was cut short (the engine stopped, or the session was
    /// archived while it ran): its child thread idle, no turn pending, a `session.error` saying
    /// `why`, and the session idle.
    pub(crate) async fn settle_cut_turn(&self, id: &str, why: &str) -> ApiResult<()> {
        let stored = self.store.runtime_state(id).await?;
        let mut state: RuntimeState = serde_json::from_str(&stored).unwrap_or_default();
        if let Some(child) = state.child() {
            self.set_thread_status(id, Some(&child.thread_id), crate::domain::threads::IDLE).await?;
        }
        state.turn = None;
        state.outcome = None;
        self.store.set_runtime_state(id, &serde_json::to_string(&state)?).await?;
        let error = emitted::error("unknown_error", why, emitted::retry_status("exhausted"));
        self.append_event(id, None, true, emitted::session_error(error)).await?;
        self.set_status(id, "idle").await?;
        self.append_event(id, None, true, emitted::status_idle(emitted::retries_exhausted())).await?;
        Ok(())
    }

    /// The session's status, and its primary thread's with it.
    async fn set_status(&self, session_id: &str, status: &str) -> ApiResult<()> {
        self.set_thread_status(session_id, None, status).await?;
        self.store.set_session_status(session_id, status, &now().text).await?;
        Ok(())
    }
}

/// On start: sessions the last process left running come back idle with a `session.error`.
pub async fn recover(engine: &Arc<EngineState>) -> ApiResult<()> {
    for id in engine.store.running_sessions().await? {
        let message = "The engine stopped while this session was running, so its turn was cut short. Nothing was lost before that point; send a new message to continue.";
        engine.settle_cut_turn(&id, message).await?;
        tracing::warn!(session = %id, "the session was running when the engine stopped; it is idle again");
    }
    Ok(())
}

struct Actor {
    engine: Arc<EngineState>,
    session_id: String,
    state: Arc<Mutex<RuntimeState>>,
    /// The id of the session's primary thread, read once.
    primary: std::sync::OnceLock<String>,
    /// Its tools run on a self-hosted worker: the calls the engine would run wait for results.
    self_hosted: bool,
}

/// How a piece of a turn ended.
enum Outcome {
    /// The turn finished or paused; the loop looks at the state again.
    Continue,
    /// The session is gone or broken: the task ends.
    Stop,
}

/// How a thread's turn ended.
enum Played {
    /// It played to its end, for this reason.
    Ended(StopReason),
    /// It paused (on calls that need a person) or stopped the session.
    Paused(Outcome),
}

impl Actor {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Input>, mut interrupts: watch::Receiver<Interrupt>) {
        // Inputs that start turns, received and not yet played.
        let mut queued = std::collections::VecDeque::new();
        // Whether the session's disk was unmounted after a quiet period (its next tool call
        // mounts it again); any input starts the quiet period over.
        let quiet = Duration::from_secs(self.engine.config.sandbox_limits.disk_idle_seconds);
        let mut parked = false;
        loop {
            let (has_turn, all_decided) = {
                let mut state = self.state.lock().expect("runtime state lock");
                match state.waiting_turn() {
                    Some(turn) => (true, turn.pending.iter().all(|p| p.decision.is_some())),
                    None => (false, false),
                }
            };
            let start = if has_turn { None } else { queued.pop_front() };
            if (has_turn && all_decided) || start.is_some() {
                // An interrupt sent before the turn began is not this turn's.
                interrupts.borrow_and_update();
                let started = Instant::now();
                let outcome = tokio::select! {
                    outcome = self.play(start) => outcome,
                    target = self.interrupt_of_this_turn(&mut interrupts) => match target {
                        Some(target) => self.interrupted(target).await,
                        None => Ok(Outcome::Stop),
                    },
                };
                self.state.lock().expect("runtime state lock").active_seconds += started.elapsed().as_secs_f64();
                let _ = self.save().await;
                parked = false;
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
                () = tokio::time::sleep(quiet), if !parked => {
                    // One that could not be unmounted (still busy) is tried after the next quiet period.
                    parked = self.engine.park_disk(&self.session_id).await;
                    continue;
                }
                input = rx.recv() => match input {
                    None => return,
                    Some(Input::Message) => queued.push_back(Start::Message),
                    Some(Input::Outcome(outcome)) => queued.push_back(Start::Outcome(outcome)),
                    Some(Input::Decided) => {
                        // Some calls answered, some still open: say again what the session waits for.
                        let remaining = self.remaining();
                        if has_turn && !all_decided && !remaining.is_empty() && self.save().await.is_ok() {
                            let _ = self.idle(emitted::requires_action(remaining)).await;
                        }
                    }
                },
                target = self.interrupt_of_this_turn(&mut interrupts) => match target {
                    None => return,
                    Some(target) => if has_turn && self.interrupted(target).await.is_err() {
                        return;
                    },
                },
            }
            parked = false;
        }
    }

    /// Waits for an interrupt of the work under way: of every thread, of the primary thread, or
    /// of the child thread running now (an interrupt of another thread has nothing to stop).
    /// `None` when the session's runtime is gone.
    async fn interrupt_of_this_turn(&self, interrupts: &mut watch::Receiver<Interrupt>) -> Option<Option<String>> {
        loop {
            interrupts.changed().await.ok()?;
            let target = interrupts.borrow_and_update().1.clone();
            let Some(thread) = &target else { return Some(None) };
            let ours = self.primary.get().is_some_and(|primary| primary == thread)
                || self.state.lock().expect("runtime state lock").child().is_some_and(|c| c.thread_id == *thread);
            if ours {
                return Some(target);
            }
        }
    }

    fn remaining(&self) -> Vec<String> {
        let mut state = self.state.lock().expect("runtime state lock");
        state
            .waiting_turn()
            .iter()
            .flat_map(|t| &t.pending)
            .filter(|p| p.decision.is_none())
            .map(|p| p.event_id.clone())
            .collect()
    }

    /// Appends an event of `thread`; says its id. A child thread's tool calls are cross-posted
    /// to the session's stream with `session_thread_id`, as the API does; its other events are
    /// its own.
    async fn emit_in(&self, thread: &Thread, mut event: SessionEvent) -> ApiResult<String> {
        if !thread.child {
            return self.emit(event).await;
        }
        let from_thread = match &mut event {
            SessionEvent::AgentToolUse(call) => Some(&mut call.session_thread_id),
            SessionEvent::AgentMcpToolUse(call) => Some(&mut call.session_thread_id),
            SessionEvent::AgentCustomToolUse(call) => Some(&mut call.session_thread_id),
            _ => None,
        };
        let cross_posted = from_thread.is_some();
        if let Some(from_thread) = from_thread {
            *from_thread = Some(thread.id.clone());
        }
        let event = self.engine.append_event(&self.session_id, Some(&thread.id), cross_posted, event).await?;
        Ok(id_of(&event))
    }

    /// Appends an event of the primary thread (or of the session); says its id.
    /// Adds a model request's usage (and its list cost in micro-cents, when the model has a
    /// price) to the session and to `thread`, then sends the session's cumulative usage and its
    /// budget on its stream (`session.usage`), as the API does: what the console's cost over time
    /// and budget line read.
    async fn add_usage(&self, thread: &Thread, usage: &Usage, cost: Option<u64>, seconds: f64) -> ApiResult<()> {
        self.engine.add_usage(&self.session_id, &thread.id, usage, cost, seconds).await?;
        let (_, session) = self.engine.session(&self.session_id).await?;
        let total = serde_json::from_value(session["usage"].clone()).unwrap_or_default();
        let budget = serde_json::from_value(session["budget"].clone()).unwrap_or_default();
        self.emit(emitted::session_usage(total, budget)).await?;
        Ok(())
    }

    async fn emit(&self, event: SessionEvent) -> ApiResult<String> {
        let event = self.engine.append_event(&self.session_id, None, true, event).await?;
        Ok(id_of(&event))
    }

    async fn save(&self) -> ApiResult<()> {
        let (state, active) = {
            let state = self.state.lock().expect("runtime state lock");
            (serde_json::to_string(&*state)?, state.active_seconds)
        };
        self.engine.store.save_runtime(&self.session_id, &state, active).await?;
        Ok(())
    }

    async fn idle(&self, stop_reason: StopReason) -> ApiResult<()> {
        // What the agent wrote to its memory stores is kept before anyone sees the session idle.
        self.engine.write_back_memory(&self.session_id).await?;
        self.engine.set_status(&self.session_id, "idle").await?;
        self.emit(emitted::status_idle(stop_reason)).await?;
        Ok(())
    }

    /// An interrupt of `target` (`None` or the primary thread: everything; otherwise the child
    /// thread under way, whose parent then goes on with its turn).
    async fn interrupted(&self, target: Option<String>) -> ApiResult<Outcome> {
        let child = self.state.lock().expect("runtime state lock").child().cloned();
        if let Some(child) = child {
            if target.as_deref() == Some(child.thread_id.as_str()) {
                self.interrupt_child(&child).await?;
                self.save().await?;
                return Ok(Outcome::Continue);
            }
            self.child_stopped(&child, emitted::end_turn()).await?;
        }
        self.state.lock().expect("runtime state lock").turn = None;
        self.save().await?;
        self.outcome_interrupted().await?;
        self.idle(emitted::end_turn()).await?;
        Ok(Outcome::Continue)
    }

    /// Drops the turn, and the outcome it worked toward, after a failure: a child thread under
    /// way goes idle with `retries_exhausted` first.
    async fn abandon_turn(&self) -> ApiResult<()> {
        let child = self.state.lock().expect("runtime state lock").child().cloned();
        if let Some(child) = child {
            self.child_stopped(&child, emitted::retries_exhausted()).await?;
        }
        {
            let mut state = self.state.lock().expect("runtime state lock");
            state.turn = None;
            state.outcome = None;
        }
        self.save().await
    }

    /// After an unexpected failure: the turn is dropped and the session says so.
    async fn fail(&self) -> ApiResult<()> {
        self.abandon_turn().await?;
        let message = "The engine failed while playing this turn; see its log. Send a new message to try again.";
        self.emit(emitted::session_error(emitted::error("unknown_error", message, emitted::retry_status("exhausted"))))
            .await?;
        self.idle(emitted::retries_exhausted()).await
    }

    async fn session(&self) -> ApiResult<Value> {
        let body = self.engine.store.session_body(&self.session_id).await?;
        body.map(|b| serde_json::from_str(&b).map_err(ApiError::internal))
            .transpose()?
            .ok_or_else(|| ApiError::not_found("session", &self.session_id))
    }

    /// The session's primary thread.
    async fn primary(&self, session: &Value) -> ApiResult<Thread> {
        let id = match self.primary.get() {
            Some(id) => id.clone(),
            None => {
                let id = self.engine.primary_thread(&self.session_id).await?;
                self.primary.get_or_init(|| id).clone()
            }
        };
        let agent = session["agent"].clone();
        Ok(Thread { id, child: false, name: agent["name"].as_str().unwrap_or_default().to_owned(), agent })
    }

    /// Plays the current turn from where it stands: starting it, or resuming it once every
    /// pending call has its answer. A turn toward an outcome is graded when it ends, and the
    /// next revision plays at once.
    async fn play(&self, start: Option<Start>) -> ApiResult<Outcome> {
        let Ok(session) = self.session().await else { return Ok(Outcome::Stop) };
        let start_of_turn = start.is_some();
        if let Some(start) = start {
            let mut state = self.state.lock().expect("runtime state lock");
            state.turn = Some(Turn::new(state.messages as usize));
            state.messages += 1;
            if let Start::Outcome(outcome) = start {
                state.outcome = Some(outcome);
            }
        }
        if start_of_turn {
            self.engine.mount_memory(&self.session_id).await?;
            crate::meters::turn_started(&self.engine.model_label(&session["agent"]["model"]["id"]).await);
        }
        self.save().await?;
        self.outcome_running().await?;
        let primary = self.primary(&session).await?;
        self.engine.set_status(&self.session_id, "running").await?;
        self.emit(emitted::status_running()).await?;
        if start_of_turn {
            self.engine.check_out_repositories(&self.session_id).await?;
        }
        loop {
            let stop_reason = match self.play_turn(&session, &primary).await? {
                Played::Ended(stop_reason) => stop_reason,
                Played::Paused(outcome) => return Ok(outcome),
            };
            if matches!(stop_reason, StopReason::EndTurn(_)) && self.graded_for_another_turn(&primary).await? {
                continue;
            }
            return self.end_turn(stop_reason).await;
        }
    }

    /// Plays `thread`'s turn from where it stands, to its end or to a pause.
    async fn play_turn(&self, session: &Value, thread: &Thread) -> ApiResult<Played> {
        self.apply_answers(session, thread).await?;
        if thread.agent["model"]["id"] != SCRIPTED_MODEL {
            return self.play_model_turn(session, thread).await;
        }
        let script = match script_of(&thread.agent) {
            Ok(script) => script,
            Err(message) => return self.script_fault(thread, "model_request_failed_error", &message.to_string()).await,
        };
        let Some((turn_index, mut step)) = self.with_turn(thread, |turn| (turn.index, turn.next_step)) else {
            return Ok(Played::Ended(emitted::end_turn()));
        };
        let steps = script.turn(turn_index);
        while step < steps.len() {
            let next = match &steps[step] {
                Step::SleepMs(ms) => {
                    tokio::time::sleep(Duration::from_millis(*ms)).await;
                    None
                }
                Step::Error { kind, retry_status } => {
                    if let Some(played) = self.scripted_error(thread, kind, retry_status, step + 1).await? {
                        return Ok(played);
                    }
                    None
                }
                Step::Compact => {
                    self.emit_in(thread, emitted::context_compacted(None)).await?;
                    None
                }
                Step::SendMessage(text) => self.send_to_parent(thread, text).await?,
                Step::Subagent { agent, message } => self.subagent(session, thread, agent, message).await?,
                Step::Advisor { question, answer } => self.consult(session, thread, question, answer).await?,
                Step::Workflow(plan) => self.workflow(session, thread, plan).await?,
                _ => {
                    let end = request_end(steps, step);
                    let calls = self.model_request(thread, &script, &steps[step..end]).await?;
                    step = end;
                    self.advance(thread, step).await?;
                    if let Some(paused) = self.run_calls(session, thread, calls).await? {
                        return Ok(Played::Paused(paused));
                    }
                    continue;
                }
            };
            if let Some(played) = next {
                return Ok(played);
            }
            step += 1;
            self.advance(thread, step).await?;
        }
        Ok(Played::Ended(emitted::end_turn()))
    }

    /// Runs or refuses the calls of one model request; pauses on those that wait for a client
    /// (registered as they went out, [`Actor::expect`]). In a self-hosted environment the calls
    /// the engine would run wait for the worker's results instead.
    async fn run_calls(&self, session: &Value, thread: &Thread, calls: Vec<Call>) -> ApiResult<Option<Outcome>> {
        let mut pauses = false;
        for Call { id, name, input, permission, server } in calls {
            let metered = if server.is_some() { "mcp" } else { name.as_str() };
            crate::meters::tool_call(metered, permission == Permission::Custom, permission.label());
            let server = server.as_deref();
            match permission {
                _ if waits(&permission, self.self_hosted && server.is_none()) => pauses = true,
                Permission::Allow => self.execute(session, thread, &id, &name, &input, server).await?,
                Permission::Deny(reason) => self.tool_result(thread, &id, ToolOutput::error(reason), server).await?,
                Permission::Ask | Permission::Custom => {}
            }
        }
        if !pauses {
            return Ok(None);
        }
        self.wait_for(thread).await.map(Some)
    }

    /// Records, before its event goes out, a call that will wait for a client: an answer sent as
    /// soon as the event arrives (a worker's result can come that fast) finds it waiting.
    fn expect(&self, thread: &Thread, call: &Call) {
        if let Some(waits) = waiting(call, self.self_hosted) {
            self.with_turn(thread, |turn| turn.pending.push(waits));
        }
    }

    /// The turn `thread` plays (the primary's, or the child's under way), for `f`.
    fn with_turn<R>(&self, thread: &Thread, f: impl FnOnce(&mut Turn) -> R) -> Option<R> {
        let mut state = self.state.lock().expect("runtime state lock");
        let turn = state.turn.as_mut()?;
        let turn = if thread.child { &mut turn.child.as_mut()?.turn } else { turn };
        Some(f(turn))
    }

    /// A script that cannot go on in `thread`: a `session.error` of `kind` there, and its turn
    /// ends with `retries_exhausted`.
    async fn script_fault(&self, thread: &Thread, kind: &str, message: &str) -> ApiResult<Played> {
        let error = emitted::error(kind, message, emitted::retry_status("exhausted"));
        self.emit_in(thread, emitted::session_error(error)).await?;
        Ok(Played::Ended(emitted::retries_exhausted()))
    }

    /// Runs the calls a person allowed since the turn paused, and reports those they denied.
    async fn apply_answers(&self, session: &Value, thread: &Thread) -> ApiResult<()> {
        let answered = self.with_turn(thread, |turn| std::mem::take(&mut turn.pending)).unwrap_or_default();
        for call in answered {
            let server = call.mcp_server.as_deref();
            match call.decision {
                Some(Decision::Allow) => {
                    self.execute(session, thread, &call.event_id, &call.name, &call.input, server).await?
                }
                Some(Decision::Deny { message }) => {
                    let text = match message {
                        Some(message) => format!("The user denied this tool call: {message}"),
                        None => "The user denied this tool call.".to_owned(),
                    };
                    self.tool_result(thread, &call.event_id, ToolOutput::error(text), server).await?;
                }
                _ => {}
            }
        }
        self.save().await
    }

    /// A script's `{"error": kind, "retry_status": …}` step, as the API reports a model error:
    /// `retrying` reschedules and goes on (`None`), `terminal` ends the session, anything else
    /// ends the turn.
    async fn scripted_error(
        &self,
        thread: &Thread,
        kind: &str,
        retry_status: &str,
        next: usize,
    ) -> ApiResult<Option<Played>> {
        let message = format!("The script raised {kind} ({retry_status}).");
        let error = emitted::error(kind, message, emitted::retry_status(retry_status));
        self.emit_in(thread, emitted::session_error(error)).await?;
        match retry_status {
            "retrying" => {
                self.rescheduled(thread, Duration::ZERO).await?;
                self.advance(thread, next).await?;
                Ok(None)
            }
            "terminal" => {
                self.abandon_turn().await?;
                self.engine.set_status(&self.session_id, "terminated").await?;
                self.emit(emitted::status_terminated()).await?;
                Ok(Some(Played::Paused(Outcome::Stop)))
            }
            _ => Ok(Some(Played::Ended(emitted::retries_exhausted()))),
        }
    }

    /// A transient error in `thread`: the session (or the child thread) is `rescheduling` for
    /// `wait`, then runs again.
    async fn rescheduled(&self, thread: &Thread, wait: Duration) -> ApiResult<()> {
        if thread.child {
            self.engine.set_thread_status(&self.session_id, Some(&thread.id), "rescheduling").await?;
            self.lifecycle(thread, emitted::thread_status_rescheduled(&thread.id, &thread.name)).await?;
            tokio::time::sleep(wait).await;
            self.engine.set_thread_status(&self.session_id, Some(&thread.id), "running").await?;
            self.lifecycle(thread, emitted::thread_status_running(&thread.id, &thread.name)).await?;
            return Ok(());
        }
        self.engine.set_status(&self.session_id, "rescheduling").await?;
        self.emit(emitted::status_rescheduled()).await?;
        tokio::time::sleep(wait).await;
        self.engine.set_status(&self.session_id, "running").await?;
        self.emit(emitted::status_running()).await?;
        Ok(())
    }

    /// Pauses the turn on the calls it registered ([`Actor::expect`]) that still wait for a client
    /// (confirmations, custom tools, a self-hosted worker's results); none left (they were all
    /// answered as they went out), it goes on. A child's calls pause its thread and the whole
    /// session.
    async fn wait_for(&self, thread: &Thread) -> ApiResult<Outcome> {
        let remaining = self
            .with_turn(thread, |turn| {
                turn.pending.iter().filter(|p| p.decision.is_none()).map(|p| p.event_id.clone()).collect::<Vec<_>>()
            })
            .unwrap_or_default();
        self.save().await?;
        if remaining.is_empty() {
            return Ok(Outcome::Continue);
        }
        let stop_reason = emitted::requires_action(remaining);
        if thread.child {
            self.engine.set_thread_status(&self.session_id, Some(&thread.id), "idle").await?;
            self.lifecycle(thread, emitted::thread_status_idle(&thread.id, &thread.name, stop_reason.clone())).await?;
        }
        self.idle(stop_reason).await?;
        Ok(Outcome::Continue)
    }

    /// Ends the turn and goes idle for `stop_reason`.
    async fn end_turn(&self, stop_reason: StopReason) -> ApiResult<Outcome> {
        self.state.lock().expect("runtime state lock").turn = None;
        self.save().await?;
        self.idle(stop_reason).await?;
        Ok(Outcome::Continue)
    }

    async fn advance(&self, thread: &Thread, step: usize) -> ApiResult<()> {
        self.with_turn(thread, |turn| turn.next_step = step);
        self.save().await
    }

    /// One model request of `thread`: its span, what the model "writes", and the calls it makes.
    async fn model_request(&self, thread: &Thread, script: &Script, steps: &[Step]) -> ApiResult<Vec<Call>> {
        let started = Instant::now();
        let start = self.emit_in(thread, emitted::span_model_request_start()).await?;
        let previews = thread.child.then_some(thread.id.as_str());
        let mut output_chars = 0usize;
        let mut calls = Vec::new();
        for step in steps {
            match step {
                Step::Text(text) => {
                    output_chars += text.len();
                    self.write_text(thread, script, previews, text).await?;
                }
                Step::Thinking(text) => {
                    output_chars += text.len();
                    self.write_thinking(thread, script, previews).await?;
                }
                Step::Tool { name, input } => {
                    output_chars += input.to_string().len();
                    let (permission, evaluation) = evaluate(&thread.agent["tools"], name);
                    let call = Call::new(name, input, permission, None);
                    self.expect(thread, &call);
                    let event = emitted::tool_use(
                        Some(call.id.clone()),
                        name,
                        object(input),
                        call.permission.evaluated(),
                        evaluation,
                    );
                    self.emit_in(thread, event).await?;
                    calls.push(call);
                }
                Step::CustomTool { name, input } => {
                    output_chars += input.to_string().len();
                    let call = Call::new(name, input, Permission::Custom, None);
                    self.expect(thread, &call);
                    self.emit_in(thread, emitted::custom_tool_use(Some(call.id.clone()), name, object(input))).await?;
                    calls.push(call);
                }
                Step::McpTool { server, name, input } => {
                    output_chars += input.to_string().len();
                    let (permission, evaluation) = mcp::evaluate_mcp(&thread.agent["tools"], server, name);
                    let evaluated = permission.evaluated();
                    let call = Call::new(name, input, permission, Some(server));
                    self.expect(thread, &call);
                    let event = emitted::mcp_tool_use(
                        Some(call.id.clone()),
                        server,
                        name,
                        object(input),
                        evaluated,
                        evaluation,
                    );
                    self.emit_in(thread, event).await?;
                    calls.push(call);
                }
                _ => {}
            }
        }
        // Usage is estimated from text length (about four characters a token); the list cost of
        // the scripted model is zero.
        let usage = Usage {
            input_tokens: (thread.agent["system"].as_str().map_or(0, str::len) / 4 + 16) as u64,
            output_tokens: (output_chars / 4 + 1) as u64,
            ..Usage::default()
        };
        let model_usage = emitted::model_usage(&usage, Some(emitted::speed(None)));
        self.emit_in(thread, emitted::span_model_request_end(None, start, model_usage, false)).await?;
        self.add_usage(thread, &usage, Some(0), started.elapsed().as_secs_f64()).await?;
        Ok(calls)
    }

    /// An `agent.message` of `text`, previewed in pieces first (`previews`: the thread whose
    /// streams show them; `None`: the primary).
    async fn write_text(&self, thread: &Thread, script: &Script, previews: Option<&str>, text: &str) -> ApiResult<()> {
        let id = new_id("sevt");
        self.engine.preview(&self.session_id, previews, types::AGENT_MESSAGE, emitted::message_preview_start(&id));
        for chunk in chunks(text) {
            if script.stream_delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(script.stream_delay_ms)).await;
            }
            let delta = emitted::message_preview_delta(&id, chunk);
            self.engine.preview(&self.session_id, previews, types::AGENT_MESSAGE, delta);
        }
        self.emit_in(thread, emitted::agent_message(Some(id), text)).await?;
        Ok(())
    }

    /// An `agent.thinking`, its start previewed first (see [`Actor::write_text`]).
    async fn write_thinking(&self, thread: &Thread, script: &Script, previews: Option<&str>) -> ApiResult<()> {
        let id = new_id("sevt");
        self.engine.preview(&self.session_id, previews, types::AGENT_THINKING, emitted::thinking_preview_start(&id));
        if script.stream_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(script.stream_delay_ms * 4)).await;
        }
        self.emit_in(thread, emitted::agent_thinking(id)).await?;
        Ok(())
    }

    /// Runs an allowed call: a built-in tool in the sandbox, or (`server`) a tool of that MCP
    /// server, from the engine.
    async fn execute(
        &self,
        session: &Value,
        thread: &Thread,
        event_id: &str,
        name: &str,
        input: &Value,
        server: Option<&str>,
    ) -> ApiResult<()> {
        if let Some(server) = server {
            return self.run_mcp(session, thread, event_id, server, name, input).await;
        }
        let sandbox = self.engine.sandbox(session).await?;
        let output = sandbox.run(name, input).await;
        self.engine.collect_outputs(&self.session_id).await?;
        self.tool_result(thread, event_id, output, None).await
    }

    /// The result of a call: `agent.tool_result`, or `agent.mcp_tool_result` for an MCP
    /// server's tool (`server`).
    async fn tool_result(
        &self,
        thread: &Thread,
        event_id: &str,
        output: ToolOutput,
        server: Option<&str>,
    ) -> ApiResult<()> {
        let event = match server {
            Some(_) => emitted::mcp_tool_result(event_id, output.text, output.is_error),
            None => emitted::tool_result(event_id, output.text, output.is_error),
        };
        self.emit_in(thread, event).await?;
        Ok(())
    }
}

/// A call a model made: its event's id, the tool's name (an MCP server's own name for it), its
/// input and permission, and the MCP server whose tool it is.
struct Call {
    id: String,
    name: String,
    input: Value,
    permission: Permission,
    server: Option<String>,
}

impl Call {
    fn new(name: &str, input: &Value, permission: Permission, server: Option<&str>) -> Self {
        Self::with_id(new_id("sevt"), name, input, permission, server)
    }

    fn with_id(id: String, name: &str, input: &Value, permission: Permission, server: Option<&str>) -> Self {
        Call { id, name: name.to_owned(), input: input.clone(), permission, server: server.map(str::to_owned) }
    }
}

/// The wait a call makes, if it waits for a client: a person's confirmation, a custom tool's
/// result, or (`self_hosted`) the worker's result of a built-in tool. An MCP server's tool is
/// run by the engine, self-hosted or not.
fn waiting(call: &Call, self_hosted: bool) -> Option<Pending> {
    let self_hosted = self_hosted && call.server.is_none();
    if !waits(&call.permission, self_hosted) {
        return None;
    }
    let (id, name, input) = (call.id.clone(), call.name.clone(), call.input.clone());
    let pending = match call.permission {
        Permission::Allow if self_hosted => Pending::remote(id, name, input, true),
        Permission::Ask if self_hosted => Pending::remote(id, name, input, false),
        Permission::Ask => Pending::new(id, name, input, false),
        Permission::Custom => Pending::new(id, name, input, true),
        Permission::Allow | Permission::Deny(_) => return None,
    };
    Some(Pending { mcp_server: call.server.clone(), ..pending })
}

/// Whether a call of `permission` waits for a client (`self_hosted`: an allowed call, for the
/// worker's result).
fn waits(permission: &Permission, self_hosted: bool) -> bool {
    match permission {
        Permission::Ask | Permission::Custom => true,
        Permission::Allow => self_hosted,
        Permission::Deny(_) => false,
    }
}

/// The script an agent plays: its system prompt, parsed, when its model is the scripted one;
/// otherwise what to tell the person.
fn script_of(agent: &Value) -> Result<Script, NoScript> {
    let model = agent["model"]["id"].as_str().unwrap_or_default();
    match agent["system"].as_str().map(Script::parse) {
        Some(Ok(script)) if model == SCRIPTED_MODEL => Ok(script),
        _ if model == SCRIPTED_MODEL => Err(NoScript::Unparsed),
        _ => Err(NoScript::NotScripted { model: model.to_owned() }),
    }
}

/// The id of an event as it was stored.
fn id_of(event: &SessionEvent) -> String {
    event.id().unwrap_or_default().to_owned()
}

/// A tool call's input as an event carries it: an object (the scripted model's and the
/// Messages API's always are).
fn object(input: &Value) -> serde_json::Map<String, Value> {
    input.as_object().cloned().unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq)]
enum Permission {
    Allow,
    Ask,
    Deny(String),
    Custom,
}

impl Permission {
    /// The call's `permission` label in the engine's metrics.
    fn label(&self) -> &'static str {
        match self {
            Permission::Allow => "allow",
            Permission::Ask => "ask",
            Permission::Deny(_) => "deny",
            Permission::Custom => "custom",
        }
    }

    /// The `evaluated_permission` of a built-in tool call.
    fn evaluated(&self) -> EvaluatedPermission {
        match self {
            Permission::Allow => EvaluatedPermission::Allow,
            Permission::Deny(_) => EvaluatedPermission::Deny,
            Permission::Ask | Permission::Custom => EvaluatedPermission::Ask,
        }
    }
}

/// The permission a built-in tool call gets from the agent's toolset, with the `evaluation` its
/// event carries (none when the call was refused before any policy).
fn evaluate(tools: &Value, name: &str) -> (Permission, Option<ToolEvaluation>) {
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
    evaluated_by(policy["type"].as_str().unwrap_or("always_allow"))
}

/// The permission a permission policy (`always_allow`, `always_ask`, `auto`) gives, with its
/// `evaluation`.
fn evaluated_by(policy: &str) -> (Permission, Option<ToolEvaluation>) {
    match policy {
        "always_ask" => (Permission::Ask, Some(ToolEvaluation::AlwaysAsk(Empty {}))),
        // The engine cannot judge how risky a call is, so `auto` always asks.
        "auto" => {
            let ask = AutoEvaluatedPermission::Ask(AutoReason { reason_code: ReasonCode::Indeterminate });
            (Permission::Ask, Some(ToolEvaluation::Auto(AutoEvaluation { evaluated_permission: ask })))
        }
        _ => (Permission::Allow, Some(ToolEvaluation::AlwaysAllow(Empty {}))),
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
    /// The `model` label of a turn of an agent with model `id`: `scripted`, the id when the
    /// endpoint's model list holds it, else `real` (an id that is not listed is any text an
    /// agent's creator typed).
    async fn model_label(&self, id: &Value) -> String {
        let id = id.as_str().unwrap_or_default();
        if id == SCRIPTED_MODEL {
            return id.to_owned();
        }
        match self.catalog.lookup(&self.config.model, id).await {
            Some(Some(_)) => id.to_owned(),
            _ => "real".to_owned(),
        }
    }

    /// The sandbox of a session, as its environment and resources say.
    pub async fn sandbox(&self, session: &Value) -> ApiResult<Sandbox> {
        let session_id = session["id"].as_str().unwrap_or_default();
        self.prepare_disk(session_id).await?;
        // As the sandbox sees it: bubblewrap starts in the disks' namespace.
        let dir = self.sandbox_mount_dir(session_id);
        let environment_id = session["environment_id"].as_str().unwrap_or_default();
        let mirrors = &self.config.package_mirrors;
        let endpoints = mirrors.endpoints();
        let hosts: Vec<String> = endpoints.iter().map(|(host, _)| host.clone()).collect();
        let (egress, trusted, packages) = match self.environment(environment_id).await {
            Ok((_, environment)) => {
                let networking = &environment["config"]["networking"];
                let trusted = if Egress::package_managers(networking) { endpoints } else { Vec::new() };
                (Egress::of(networking, &hosts), trusted, environment["config"]["packages"].clone())
            }
            Err(_) => (Egress::None, Vec::new(), Value::Null),
        };
        let resources = self.store.session_resources(session_id).await?;
        let resources = resources.iter().map(|r| serde_json::from_str(r)).collect::<Result<Vec<Value>, _>>()?;
        let repositories = self.repository_mounts(session_id, &resources);
        let (mut mounts, mut memory) = (Vec::new(), Vec::new());
        for resource in resources {
            if resource["type"] == "file" {
                let file_id = resource["file_id"].as_str().unwrap_or_default();
                let path = self.file_path(file_id);
                if path.is_file() {
                    mounts.push((path, resource["mount_path"].as_str().unwrap_or_default().to_owned()));
                }
            }
            if let Some(mount) = memory_mounts::MemoryMount::of(&resource, &dir) {
                memory.push((mount.dir, mount.mount_path, mount.writable));
            }
        }
        mounts.extend(self.skill_mounts(session).await);
        Ok(Sandbox {
            session: session_id.to_owned(),
            workspace: dir.join("workspace"),
            outputs: dir.join("outputs"),
            mounts,
            memory,
            repositories,
            egress,
            tool_runner: self.config.tool_runner.clone(),
            limits: self.config.sandbox_limits,
            cgroups: self.cgroups.clone(),
            disk: self.disks.clone(),
            packages,
            mirrors: mirrors.clone(),
            trusted,
            install_lock: self.install_lock.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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
        assert_eq!((auto.evaluated(), auto), (EvaluatedPermission::Ask, Permission::Ask));
        let Some(ToolEvaluation::Auto(AutoEvaluation { evaluated_permission: AutoEvaluatedPermission::Ask(reason) })) =
            evaluation
        else {
            panic!("auto asks: {evaluation:?}");
        };
        assert_eq!(reason.reason_code, ReasonCode::Indeterminate);
        assert!(matches!(evaluate(&tools, "write").0, Permission::Deny(_)));
        assert_eq!(evaluate(&tools, "grep").0, Permission::Allow);
        let (refused, evaluation_of_refused) = evaluate(&json!([]), "bash");
        assert!(matches!(
            (refused.evaluated(), &refused, evaluation_of_refused),
            (EvaluatedPermission::Deny, Permission::Deny(_), None)
        ));
    }
}
