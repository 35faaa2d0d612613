//! Sessions: one run of an agent in an environment, with its mounted resources, threads, usage
//! and budget; plus the create / update bodies and the resource sub-resource.
//!
//! SDK: `BetaManagedAgentsSession`, `SessionCreateParams`, `SessionUpdateParams`,
//! `sessions/beta_managed_agents_session_thread.py`, `sessions/resource_*_params.py`.

use serde::{Deserialize, Serialize};

use crate::agents::{
    Advisor, AgentRefParam, ExecutionIdentity, McpServer, ModelConfig, ModelParam, Skill, SkillParams, Tool, ToolParams,
};
use crate::common::{Deleted, Metadata, MetadataPatch, Page, Timestamp};
use crate::event_params::InitialEvent;
pub use crate::session_parts::{
    Budget, LimitTag, SessionAgent, SessionCoordinator, SessionDelegation, SessionDelegationEnabled, SessionMultiagent,
    SessionMultiagent20261001, SessionRosterMember, SessionTag, SessionThreadAgent,
};
use crate::usage::{SessionThreadUsage, SessionUsage};

crate::literal_type! {
    /// `"session_deleted"`.
    pub SessionDeletedTag = "session_deleted"
}
crate::literal_type! {
    /// `"session_resource_deleted"`.
    pub SessionResourceDeletedTag = "session_resource_deleted"
}
crate::literal_type! {
    /// `"session_thread"`.
    pub SessionThreadTag = "session_thread"
}
crate::literal_type! {
    /// `"outcome_evaluation"`.
    pub OutcomeEvaluationTag = "outcome_evaluation"
}
/// `"file"` (the only resource kind that can be added after creation).
pub type FileResourceTag = crate::files::FileTag;

// ---------------------------------------------------------------------------------------------
// Session object
// ---------------------------------------------------------------------------------------------

/// A Managed Agents `session`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    /// The agent as it was when the session was created.
    pub agent: SessionAgent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<Timestamp>,
    /// Enforced spend ceiling; `None` when no budget is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    pub created_at: Timestamp,
    pub environment_id: String,
    pub metadata: Metadata,
    /// One entry per `user.define_outcome` sent to the session.
    pub outcome_evaluations: Vec<OutcomeEvaluation>,
    pub resources: Vec<SessionResource>,
    pub stats: SessionStats,
    pub status: SessionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub r#type: SessionTag,
    pub updated_at: Timestamp,
    /// Cumulative usage across all turns.
    pub usage: SessionUsage,
    /// Vaults attached at creation (empty when none).
    pub vault_ids: Vec<String>,
    /// Set when the session was created from a deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
}

/// `GET /v1/sessions` (the only list that also sends `prev_page`).
pub type SessionPage = Page<Session>;

/// `DELETE /v1/sessions/{id}`.
pub type SessionDeleted = Deleted<SessionDeletedTag>;

/// Where a session is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// A transient error occurred; retrying automatically.
    Rescheduling,
    Running,
    /// Waiting for input (a user message or a tool confirmation). New sessions start idle.
    Idle,
    /// Ended, by error or completion; irreversible.
    Terminated,
    /// A status this version does not know.
    #[serde(untagged)]
    Other(String),
}

impl SessionStatus {
    /// Every status this version knows, in the order of a session's life.
    pub const KNOWN: [SessionStatus; 4] =
        [SessionStatus::Idle, SessionStatus::Running, SessionStatus::Rescheduling, SessionStatus::Terminated];

    /// The status as the API writes it.
    pub fn as_str(&self) -> &str {
        match self {
            SessionStatus::Rescheduling => "rescheduling",
            SessionStatus::Running => "running",
            SessionStatus::Idle => "idle",
            SessionStatus::Terminated => "terminated",
            SessionStatus::Other(other) => other,
        }
    }

    /// A status by its name (`Other` for one this version does not know).
    pub fn named(name: &str) -> Self {
        Self::KNOWN.into_iter().find(|s| s.as_str() == name).unwrap_or_else(|| SessionStatus::Other(name.to_owned()))
    }
}

/// Status of a session thread (same values as [`SessionStatus`]).
pub type SessionThreadStatus = SessionStatus;

/// Timing statistics of a session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionStats {
    /// Sum of each thread's own running time (unlike `usage.active_seconds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_seconds: Option<f64>,
    /// Since creation; frozen once terminated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
}

/// Evaluation state of one outcome defined with `user.define_outcome`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeEvaluation {
    /// Set once `result` is terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    pub description: String,
    /// The grader's latest verdict text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// 0-based revision cycle.
    pub iteration: u64,
    /// `outc_…`.
    pub outcome_id: String,
    /// `pending`, `running`, `evaluating`, `needs_revision`, or terminal `satisfied`,
    /// `max_iterations_reached`, `failed`, `interrupted` (the SDK types it as a plain string).
    pub result: String,
    pub r#type: OutcomeEvaluationTag,
}

/// An agent with no saved Agent resource (no id / version), defined in a workflow run's plan or
/// when a thread is spawned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InlineAgent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub execution_identity: ExecutionIdentity,
    pub mcp_servers: Vec<McpServer>,
    pub model: ModelConfig,
    /// Given by the definition or assigned by the server.
    pub name: String,
    pub skills: Vec<Skill>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub tools: Vec<Tool>,
}

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

crate::open_union! {
    /// Something mounted into the session's container.
    pub enum SessionResource {
        GithubRepository(GithubRepositoryResource) = "github_repository",
        File(FileResource) = "file",
        MemoryStore(MemoryStoreResource) = "memory_store",
    }
}

/// A file from the Files API mounted into the container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileResource {
    pub id: String,
    pub created_at: Timestamp,
    pub file_id: String,
    pub mount_path: String,
    pub updated_at: Timestamp,
}

/// A GitHub repository cloned into the container (its token is never returned).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GithubRepositoryResource {
    pub id: String,
    pub created_at: Timestamp,
    pub mount_path: String,
    pub updated_at: Timestamp,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout: Option<Checkout>,
}

crate::open_union! {
    /// What to check out of a repository (request and response form).
    pub enum Checkout {
        Branch(BranchCheckout) = "branch",
        Commit(CommitCheckout) = "commit",
    }
}

/// A branch to check out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchCheckout {
    pub name: String,
}

/// A commit to check out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitCheckout {
    /// The full SHA.
    pub sha: String,
}

/// A memory store attached to the session. Unlike the other resources it has no `id` or
/// timestamps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryStoreResource {
    /// `memstore_…`.
    pub memory_store_id: String,
    /// Defaults to `read_write`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<MemoryAccess>,
    /// Snapshotted at attach time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Per-attachment guidance rendered into the prompt (≤ 4096 chars).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// e.g. `/mnt/memory/user-preferences`, derived from the store's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    /// Snapshotted at attach time; later renames do not propagate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// How a memory store is mounted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryAccess {
    ReadWrite,
    ReadOnly,
    #[serde(untagged)]
    Other(String),
}

/// `GET /v1/sessions/{id}/resources`.
pub type SessionResourcePage = Page<SessionResource>;

/// `DELETE /v1/sessions/{id}/resources/{resource_id}`.
pub type SessionResourceDeleted = Deleted<SessionResourceDeletedTag>;

// ---------------------------------------------------------------------------------------------
// Threads
// ---------------------------------------------------------------------------------------------

/// An execution thread of a session: one primary thread plus children (subagents, workflow
/// runs, advisor consultations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionThread {
    /// `sthr_…`.
    pub id: String,
    pub agent: ThreadAgent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// `None` for the primary thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_thread_id: Option<String>,
    pub session_id: String,
    /// `None` until the thread's first status transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<SessionThreadStats>,
    pub status: SessionThreadStatus,
    pub r#type: SessionThreadTag,
    pub updated_at: Timestamp,
    /// `None` until the thread first goes idle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<SessionThreadUsage>,
    /// The workflow run that created the thread, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_run_id: Option<String>,
}

/// `GET /v1/sessions/{id}/threads`.
pub type SessionThreadPage = Page<SessionThread>;

crate::open_union! {
    /// What runs on a thread.
    pub enum ThreadAgent {
        /// A saved agent.
        Agent(SessionThreadAgent) = "agent",
        /// An advisor consultation.
        Advisor(Advisor) = "advisor",
        /// An unsaved agent defined inline.
        Inline(InlineAgent) = "inline",
    }
}

/// Timing statistics of a thread.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionThreadStats {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// Time to begin running; 0 for child threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_seconds: Option<f64>,
}

// ---------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------

/// `POST /v1/sessions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionCreate {
    pub agent: SessionAgentParam,
    pub environment_id: String,
    /// Every model the session can run must have a public list price (`model_not_budgetable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// ≤ 50, processed in order; they start the agent loop at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_events: Option<Vec<InitialEvent>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<ResourceParams>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Create-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_ids: Option<Vec<String>>,
}

/// `agent` of a session create body: a bare id (latest version, pinned at creation) or an object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SessionAgentParam {
    Id(String),
    Object(SessionAgentObject),
}

crate::open_union! {
    /// The object forms of `agent` in a session create body.
    pub enum SessionAgentObject {
        Agent(AgentRefParam) = "agent",
        AgentWithOverrides(Box<AgentWithOverrides>) = "agent_with_overrides",
    }
}

/// An agent plus overrides that apply to this session only (lists replace the agent's; `[]`
/// clears).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentWithOverrides {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_servers: Option<Vec<McpServer>>,
    /// `effort` inside is ignored; `inference_geo` applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelParam>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skills: Option<Vec<SkillParams>>,
    /// `Some(None)` sends `null`, which clears the system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub system: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ToolParams>>,
}

crate::open_union! {
    /// A resource to mount at session creation.
    pub enum ResourceParams {
        File(FileResourceParams) = "file",
        GithubRepository(GithubRepositoryResourceParams) = "github_repository",
        MemoryStore(MemoryStoreResourceParams) = "memory_store",
    }
}

/// Mount an uploaded file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileResourceParams {
    pub file_id: String,
    /// Defaults to `/mnt/session/uploads/<file_id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
}

/// Clone a GitHub repository into the container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GithubRepositoryResourceParams {
    pub url: String,
    /// Write-only; needed for private repositories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_token: Option<String>,
    /// Defaults to the default branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout: Option<Checkout>,
    /// Defaults to `/workspace/<repo-name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
}

/// Attach a memory store (create-time only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryStoreResourceParams {
    pub memory_store_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<MemoryAccess>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

/// `POST /v1/sessions/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionUpdate {
    /// Only for sessions created from an agent / deployment reference, and not while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<SessionAgentUpdate>,
    /// `Some(None)` removes the budget (one-way); a new cap must exceed the consumed cost.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub budget: Option<Option<Budget>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MetadataPatch>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub title: Option<Option<String>>,
    /// Reserved: currently rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_ids: Option<Vec<String>>,
}

/// Mid-session agent change (full replacement of each list sent; applies from the next turn).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionAgentUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_servers: Option<Vec<McpServer>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ToolParams>>,
}

/// `POST /v1/sessions/{id}/resources`: only files can be added after creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionResourceAdd {
    pub r#type: FileResourceTag,
    pub file_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
}

/// `POST /v1/sessions/{id}/resources/{resource_id}`: rotate a GitHub repository's token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionResourceUpdate {
    /// Write-only.
    pub authorization_token: String,
}
