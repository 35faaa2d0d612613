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

/// A tool call that waits for the client: a confirmation or a custom tool result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub event_id: String,
    pub name: String,
    pub input: Value,
    pub custom: bool,
    pub decision: Option<Decision>,
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
