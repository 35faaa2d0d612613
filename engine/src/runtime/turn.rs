//! Where a turn stands, as the runtime saves it with the session: the turn of the script and its
//! step, the calls that wait for an answer, and the child thread or workflow run the step waits
//! on; and the thread a turn is played in. Shared by the runtime and its child threads
//! ([`super::threads`]), below both.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::domain::events::Decision;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Turn {
    pub index: usize,
    pub next_step: usize,
    pub pending: Vec<Pending>,
    /// The child thread the step at `next_step` waits on.
    #[serde(default)]
    pub child: Option<Box<Child>>,
    /// The workflow run the step at `next_step` is in.
    #[serde(default)]
    pub workflow: Option<WorkflowRun>,
}

impl Turn {
    pub(super) fn new(index: usize) -> Self {
        Turn { index, next_step: 0, pending: Vec::new(), child: None, workflow: None }
    }
}

/// A tool call that waits for the client: a confirmation, a custom tool result, or (in a
/// self-hosted environment) the worker's `user.tool_result`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub event_id: String,
    pub name: String,
    pub input: Value,
    pub custom: bool,
    pub decision: Option<Decision>,
    /// A built-in tool's call a self-hosted worker runs: it ends with the worker's result.
    #[serde(default)]
    pub remote: bool,
    /// Of a remote call: it may run (its permission allowed it, or a person did).
    #[serde(default)]
    pub confirmed: bool,
    /// A tool of this MCP server (`name` is the server's own name for it); the engine runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_server: Option<String>,
}

impl Pending {
    pub fn new(event_id: String, name: String, input: Value, custom: bool) -> Self {
        Pending { event_id, name, input, custom, decision: None, remote: false, confirmed: false, mcp_server: None }
    }

    /// A call a self-hosted worker runs; `confirmed` when it needs no person's confirmation.
    pub fn remote(event_id: String, name: String, input: Value, confirmed: bool) -> Self {
        Pending { remote: true, confirmed, ..Pending::new(event_id, name, input, false) }
    }

    /// Records `decision` if this call waits for it; says why not otherwise.
    pub fn answer(&mut self, decision: &Decision) -> Result<(), String> {
        let id = &self.event_id;
        if self.decision.is_some() {
            return Err(format!("{id} has already been answered."));
        }
        let wrong = |what: &str| Err(format!("{id} is {what}."));
        match decision {
            Decision::Answered if !self.custom => wrong(if self.remote {
                "a tool call its self-hosted worker answers with user.tool_result"
            } else {
                "a tool call that needs a confirmation: answer it with user.tool_confirmation"
            }),
            Decision::ToolResult if self.custom => wrong("a custom tool call: answer it with user.custom_tool_result"),
            Decision::ToolResult if !self.remote => {
                wrong("a tool call that needs a confirmation: answer it with user.tool_confirmation")
            }
            Decision::ToolResult if !self.confirmed => {
                wrong("a tool call that waits for its confirmation (user.tool_confirmation) before its result")
            }
            Decision::Allow | Decision::Deny { .. } if self.custom => {
                wrong("a custom tool call: answer it with user.custom_tool_result")
            }
            Decision::Allow | Decision::Deny { .. } if self.remote && self.confirmed => {
                wrong("a tool call that does not wait for a confirmation: its self-hosted worker runs it")
            }
            Decision::Allow if self.remote => {
                self.confirmed = true;
                Ok(())
            }
            decision => {
                self.decision = Some(decision.clone());
                Ok(())
            }
        }
    }
}

/// A thread as the runtime plays it.
#[derive(Debug, Clone)]
pub struct Thread {
    pub id: String,
    /// A child thread (not the primary).
    pub child: bool,
    /// Its agent's name, as its events name it.
    pub name: String,
    /// The agent it runs (`tools`, `model`, `system`).
    pub agent: Value,
}

/// The child thread a step of the primary waits on; saved with the turn.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Child {
    pub thread_id: String,
    pub name: String,
    /// The thread's agent object (`agent` or `inline`).
    pub agent: Value,
    pub turn: Turn,
    /// It was interrupted on its own: its parent goes on once it resumes.
    #[serde(default)]
    pub interrupted: bool,
}

impl Child {
    pub(super) fn thread(&self) -> Thread {
        Thread { id: self.thread_id.clone(), child: true, name: self.name.clone(), agent: self.agent.clone() }
    }
}

/// Where a workflow run stands; saved with the turn.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkflowRun {
    pub id: String,
    pub phase_ids: Vec<String>,
    /// The phase under way.
    pub phase: usize,
    /// Its `workflow_run.phase_started` event, once sent.
    pub phase_started_id: Option<String>,
}
