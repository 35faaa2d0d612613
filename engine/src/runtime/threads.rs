//! Child threads of a multiagent session, as the scripted model plays them: a subagent (a
//! predefined agent by name, or one defined inline) given a task, an advisor consultation, and
//! a workflow run whose phases each may run a thread. A child plays its own turn to its end while
//! the step of the primary thread that started it waits; delegation is one level deep.
//!
//! What each thread's stream and the session's stream carry: the parent's
//! `agent.thread_message_sent` and, at the end, its `agent.thread_message_received` (on the
//! session's stream, being the primary's); the child's lifecycle (`session.thread_created`,
//! `…_status_running`, `…_status_idle`) on both; the child's own events on its stream only, but
//! for its tool calls, which the session's stream gets with `session_thread_id`.

use protocol::{
    common::Empty,
    events::{
        SessionEvent, StopReason, WorkflowRunError, WorkflowRunErrorInfo, WorkflowRunResult, WorkflowRunResultError,
    },
};
use serde_json::{Value, json};

use super::{
    Actor, Played, script_of,
    turn::{Child, Thread, Turn, WorkflowRun},
};
use crate::{
    emitted,
    error::ApiResult,
    ids::new_id,
    script::{Delegate, Step, Workflow},
};

/// The name an advisor's thread goes by.
pub const ADVISOR_NAME: &str = "anthropic.advisor";

/// What a fault of the script in a step that starts threads says, to put in a `session.error`.
type Fault = String;

impl Actor {
    /// A thread's lifecycle event (`session.thread_*`): on its own stream and the session's.
    pub(super) async fn lifecycle(&self, thread: &Thread, event: SessionEvent) -> ApiResult<()> {
        self.engine.append_event(&self.session_id, Some(&thread.id), true, event).await?;
        Ok(())
    }

    /// A `subagent` step: the child thread it starts (or the one under way, on resume) plays
    /// to its end. `Some` when the turn cannot go on now.
    pub(super) async fn subagent(
        &self,
        session: &Value,
        parent: &Thread,
        agent: &Delegate,
        message: &str,
    ) -> ApiResult<Option<Played>> {
        if parent.child {
            let fault = "A subagent thread cannot start threads of its own: delegation is one level deep.";
            return self.script_fault(parent, "model_request_failed_error", fault).await.map(Some);
        }
        let under_way = self.state.lock().expect("runtime state lock").child().cloned();
        let child = match under_way {
            Some(child) => child,
            None => match self.start_child(session, parent, agent, message, None).await? {
                Ok(child) => child,
                Err(fault) => return self.script_fault(parent, "model_request_failed_error", &fault).await.map(Some),
            },
        };
        self.run_child(session, child).await
    }

    /// Starts a child thread of `parent` for `agent` with `message` as its task.
    async fn start_child(
        &self,
        session: &Value,
        parent: &Thread,
        agent: &Delegate,
        message: &str,
        workflow_run_id: Option<&str>,
    ) -> ApiResult<Result<Child, Fault>> {
        let (name, agent) = match thread_agent(session, agent, workflow_run_id.is_some()) {
            Ok(found) => found,
            Err(fault) => return Ok(Err(fault)),
        };
        let thread_id =
            self.engine.create_child_thread(&self.session_id, &parent.id, agent.clone(), workflow_run_id).await?;
        self.emit_in(parent, emitted::thread_message_sent(&thread_id, Some(&name), message)).await?;
        let child = Child { thread_id, name, agent, turn: Turn::new(0), interrupted: false };
        let thread = child.thread();
        self.lifecycle(&thread, emitted::thread_created(&thread.id, &thread.name, workflow_run_id)).await?;
        // From the primary thread: no `from_agent_name`.
        self.emit_in(&thread, emitted::thread_message_received(&parent.id, None, message)).await?;
        if let Some(turn) = self.state.lock().expect("runtime state lock").turn.as_mut() {
            turn.child = Some(Box::new(child.clone()));
        }
        self.save().await?;
        Ok(Ok(child))
    }

    /// Plays the child's turn; once it ends, its answer goes to the primary thread.
    async fn run_child(&self, session: &Value, child: Child) -> ApiResult<Option<Played>> {
        if child.interrupted {
            self.child_done(&child, "The thread was interrupted before it finished.").await?;
            return Ok(None);
        }
        let thread = child.thread();
        self.engine.set_thread_status(&self.session_id, Some(&thread.id), "running").await?;
        self.lifecycle(&thread, emitted::thread_status_running(&thread.id, &thread.name)).await?;
        // The child's turn is played by the same code as the primary's (boxed: it recurses).
        let stop_reason = match Box::pin(self.play_turn(session, &thread)).await? {
            Played::Paused(outcome) => return Ok(Some(Played::Paused(outcome))),
            Played::Ended(stop_reason) => stop_reason,
        };
        let reply = if matches!(stop_reason, StopReason::EndTurn(_)) {
            let reply = last_text(&thread.agent, child.turn.index).unwrap_or_else(|| "Done.".to_owned());
            let primary = self.primary.get().cloned().unwrap_or_default();
            self.emit_in(&thread, emitted::thread_message_sent(&primary, None, &reply)).await?;
            reply
        } else {
            "The thread's turn failed before it finished; see its events.".to_owned()
        };
        self.child_stopped(&child, stop_reason).await?;
        self.child_done(&child, &reply).await?;
        Ok(None)
    }

    /// The child thread goes idle for `stop_reason`.
    pub(super) async fn child_stopped(&self, child: &Child, stop_reason: StopReason) -> ApiResult<()> {
        if child.interrupted {
            return Ok(());
        }
        self.engine.set_thread_status(&self.session_id, Some(&child.thread_id), "idle").await?;
        let idle = emitted::thread_status_idle(&child.thread_id, &child.name, stop_reason);
        self.lifecycle(&child.thread(), idle).await
    }

    /// The primary thread receives the child's answer, and no longer waits on it.
    pub(super) async fn child_done(&self, child: &Child, reply: &str) -> ApiResult<()> {
        self.emit(emitted::thread_message_received(&child.thread_id, Some(&child.name), reply)).await?;
        if let Some(turn) = self.state.lock().expect("runtime state lock").turn.as_mut() {
            turn.child = None;
        }
        self.save().await
    }

    /// An interrupt of the child under way alone: it stops, and its parent goes on (when the
    /// turn resumes, the parent receives word of it).
    pub(super) async fn interrupt_child(&self, child: &Child) -> ApiResult<()> {
        self.child_stopped(child, emitted::end_turn()).await?;
        let mut state = self.state.lock().expect("runtime state lock");
        if let Some(running) = state.turn.as_mut().and_then(|turn| turn.child.as_mut()) {
            running.interrupted = true;
            running.turn.pending.clear();
        }
        Ok(())
    }

    /// A `send_message` step: a child thread tells the primary thread something mid-turn.
    pub(super) async fn send_to_parent(&self, thread: &Thread, text: &str) -> ApiResult<Option<Played>> {
        if !thread.child {
            let fault = "send_message is for child threads: the primary thread has no thread above it.";
            return self.script_fault(thread, "model_request_failed_error", fault).await.map(Some);
        }
        let primary = self.primary.get().cloned().unwrap_or_default();
        self.emit_in(thread, emitted::thread_message_sent(&primary, None, text)).await?;
        self.emit(emitted::thread_message_received(&thread.id, Some(&thread.name), text)).await?;
        Ok(None)
    }

    /// An `advisor` step: the primary thread asks the advisor model, whose thread answers.
    pub(super) async fn consult(
        &self,
        session: &Value,
        parent: &Thread,
        question: &str,
        answer: &str,
    ) -> ApiResult<Option<Played>> {
        let model = match (parent.child, advisor_model(&session["agent"]["multiagent"])) {
            (true, _) => Err("Only the primary thread consults the advisor.".to_owned()),
            (false, model) => model,
        };
        let model = match model {
            Ok(model) => model,
            Err(fault) => return self.script_fault(parent, "model_request_failed_error", &fault).await.map(Some),
        };
        let agent = json!({ "type": "advisor", "model": model });
        let id = self.engine.create_child_thread(&self.session_id, &parent.id, agent.clone(), None).await?;
        let thread = Thread { id, child: true, name: ADVISOR_NAME.to_owned(), agent };
        self.emit_in(parent, emitted::thread_message_sent(&thread.id, Some(ADVISOR_NAME), question)).await?;
        self.lifecycle(&thread, emitted::thread_created(&thread.id, &thread.name, None)).await?;
        self.emit_in(&thread, emitted::thread_message_received(&parent.id, None, question)).await?;
        self.engine.set_thread_status(&self.session_id, Some(&thread.id), "running").await?;
        self.lifecycle(&thread, emitted::thread_status_running(&thread.id, &thread.name)).await?;
        let start = self.emit_in(&thread, emitted::span_model_request_start()).await?;
        self.emit_in(&thread, emitted::agent_message(None, answer)).await?;
        let (input_tokens, output_tokens) = ((question.len() / 4 + 16) as u64, (answer.len() / 4 + 1) as u64);
        let usage = crate::model::stream::Usage { input_tokens, output_tokens, ..Default::default() };
        let model_usage = emitted::model_usage(&usage, Some(emitted::speed(None)));
        self.emit_in(&thread, emitted::span_model_request_end(None, start, model_usage, false)).await?;
        self.add_usage(&thread, &usage, Some(0), 0.0).await?;
        self.emit_in(&thread, emitted::thread_message_sent(&parent.id, None, answer)).await?;
        self.engine.set_thread_status(&self.session_id, Some(&thread.id), "idle").await?;
        self.lifecycle(&thread, emitted::thread_status_idle(&thread.id, &thread.name, emitted::end_turn())).await?;
        self.emit_in(parent, emitted::thread_message_received(&thread.id, Some(ADVISOR_NAME), answer)).await?;
        Ok(None)
    }

    /// A `workflow` step: the run's phases in order, each phase's thread (if any) to its end.
    pub(super) async fn workflow(
        &self,
        session: &Value,
        parent: &Thread,
        plan: &Workflow,
    ) -> ApiResult<Option<Played>> {
        if parent.child {
            let fault = "A subagent thread cannot start a workflow run: delegation is one level deep.";
            return self.script_fault(parent, "model_request_failed_error", fault).await.map(Some);
        }
        let stored = self.with_turn(parent, |turn| turn.workflow.clone()).flatten();
        let mut run = match stored {
            Some(run) => run,
            None => {
                if let Err(fault) = enabled(&session["agent"]["multiagent"], "workflows") {
                    return self.script_fault(parent, "model_request_failed_error", &fault).await.map(Some);
                }
                let run = WorkflowRun {
                    id: new_id("wfrun"),
                    phase_ids: plan.phases.iter().map(|_| new_id("wfphase")).collect(),
                    phase: 0,
                    phase_started_id: None,
                };
                let phases = (plan.phases.iter().zip(&run.phase_ids))
                    .map(|(phase, id)| emitted::workflow_phase(id, &phase.name, phase.description.as_deref()))
                    .collect();
                let description = plan.description.as_deref();
                self.emit(emitted::workflow_run_created(&run.id, &plan.name, description, phases)).await?;
                self.emit(emitted::workflow_run_status_running(&run.id)).await?;
                self.keep_workflow(parent, Some(run.clone())).await?;
                run
            }
        };
        while run.phase < plan.phases.len() {
            let phase = &plan.phases[run.phase];
            let phase_id = run.phase_ids[run.phase].clone();
            let started = match &run.phase_started_id {
                Some(started) => started.clone(),
                None => {
                    let started = self.emit(emitted::workflow_run_phase_started(&run.id, &phase_id)).await?;
                    run.phase_started_id = Some(started.clone());
                    self.keep_workflow(parent, Some(run.clone())).await?;
                    started
                }
            };
            if let (Some(agent), Some(message)) = (&phase.subagent, &phase.message) {
                let under_way = self.state.lock().expect("runtime state lock").child().cloned();
                let child = match under_way {
                    Some(child) => child,
                    None => match self.start_child(session, parent, agent, message, Some(&run.id)).await? {
                        Ok(child) => child,
                        Err(fault) => return self.workflow_failed(parent, &run, &fault).await.map(Some),
                    },
                };
                if let Some(paused) = self.run_child(session, child).await? {
                    return Ok(Some(paused));
                }
            }
            self.emit(emitted::workflow_run_phase_ended(&run.id, &phase_id, &started)).await?;
            run.phase += 1;
            run.phase_started_id = None;
            self.keep_workflow(parent, Some(run.clone())).await?;
        }
        self.emit(emitted::workflow_run_status_idle(&run.id)).await?;
        self.emit(emitted::workflow_run_status_ended(&run.id, WorkflowRunResult::Completed(Empty {}))).await?;
        self.keep_workflow(parent, None).await?;
        Ok(None)
    }

    /// A workflow run that cannot go on: `workflow_run.error`, then its end with the error.
    async fn workflow_failed(&self, parent: &Thread, run: &WorkflowRun, fault: &str) -> ApiResult<Played> {
        let error = WorkflowRunError::ProgramError(WorkflowRunErrorInfo { message: fault.to_owned() });
        self.emit(emitted::workflow_run_error(&run.id, error.clone())).await?;
        let result = WorkflowRunResult::Error(WorkflowRunResultError { error });
        self.emit(emitted::workflow_run_status_ended(&run.id, result)).await?;
        self.keep_workflow(parent, None).await?;
        self.script_fault(parent, "model_request_failed_error", fault).await
    }

    async fn keep_workflow(&self, parent: &Thread, run: Option<WorkflowRun>) -> ApiResult<()> {
        self.with_turn(parent, |turn| turn.workflow = run);
        self.save().await
    }
}

/// The agent a delegation names: (its name, its thread agent object), from the session's
/// multiagent configuration; a workflow's threads come from `workflows`, others from
/// `subagents` (or the coordinator's roster).
fn thread_agent(session: &Value, delegate: &Delegate, in_workflow: bool) -> Result<(String, Value), Fault> {
    let multiagent = &session["agent"]["multiagent"];
    let name = delegate.name();
    let member = if in_workflow { "workflows" } else { "subagents" };
    let predefined = match multiagent["type"].as_str() {
        None => {
            return Err(format!(
                "This agent has no multiagent configuration, so it cannot start the thread {name:?}; give the agent multiagent."
            ));
        }
        Some("coordinator") => {
            if matches!(delegate, Delegate::Inline { .. }) {
                return Err(format!(
                    "A coordinator delegates only to its roster; save {name:?} as an agent and add it to multiagent.agents."
                ));
            }
            &multiagent["agents"]
        }
        Some(_) => {
            enabled(multiagent, member)?;
            if let Delegate::Inline { name, script } = delegate {
                if multiagent[member]["inline_agents"]["type"] != "enabled" {
                    return Err(format!(
                        "Inline agents are disabled for {member}, so {name:?} cannot be defined inline; enable inline_agents or name a predefined agent."
                    ));
                }
                return Ok((name.clone(), inline_agent(&session["agent"], name, script)));
            }
            &multiagent[member]["predefined_agents"]
        }
    };
    predefined
        .as_array()
        .into_iter()
        .flatten()
        .find(|agent| agent["type"] == "agent" && agent["name"] == name)
        .map(|agent| (name.to_owned(), agent.clone()))
        .ok_or_else(|| format!("No agent named {name:?} is among the {member} this agent may start; add it to its multiagent configuration."))
}

/// Whether `member` (`subagents` or `workflows`) of a `multiagent_20261001` is enabled.
fn enabled(multiagent: &Value, member: &str) -> Result<(), Fault> {
    match multiagent["type"].as_str() {
        Some("multiagent_20261001") if multiagent[member]["type"] == "enabled" => Ok(()),
        Some("multiagent_20261001") => {
            Err(format!("{member} are disabled for this agent; enable multiagent.{member}."))
        }
        _ => Err(format!("This agent's multiagent configuration has no {member}; use multiagent_20261001.")),
    }
}

/// The model of the session's advisor, when one is enabled.
fn advisor_model(multiagent: &Value) -> Result<String, Fault> {
    let model = match multiagent["type"].as_str() {
        Some("coordinator") => {
            multiagent["agents"].as_array().into_iter().flatten().find(|a| a["type"] == "advisor").map(|a| &a["model"])
        }
        Some(_) if multiagent["advisor"]["type"] == "enabled" => Some(&multiagent["advisor"]["model"]),
        _ => None,
    };
    model.and_then(Value::as_str).map(str::to_owned).ok_or_else(|| {
        "The advisor is not enabled for this agent; set multiagent.advisor to enabled with a model.".to_owned()
    })
}

/// An inline agent playing `script`, with the session agent's tools.
fn inline_agent(primary: &Value, name: &str, script: &Value) -> Value {
    let mut model = primary["model"].clone();
    model["id"] = json!(crate::script::SCRIPTED_MODEL);
    json!({
        "type": "inline",
        "name": name,
        "description": null,
        "model": model,
        "system": script.to_string(),
        "tools": primary["tools"],
        "mcp_servers": [],
        "skills": [],
        "execution_identity": { "type": "service_account" },
    })
}

/// The last text a thread's turn writes: what it answers its parent.
fn last_text(agent: &Value, turn: usize) -> Option<String> {
    let script = script_of(agent).ok()?;
    script.turn(turn).iter().rev().find_map(|step| match step {
        Step::Text(text) => Some(text.clone()),
        _ => None,
    })
}
