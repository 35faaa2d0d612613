//! Deployments (beta `managed-agents-2026-04-01`): an agent bound to an environment, vaults,
//! resources and initial events, run on a cron schedule or on demand; and deployment runs, the
//! append-only record of each fire.
//!
//! SDK: `beta_managed_agents_deployment*.py`, `beta_managed_agents_schedule*.py`,
//! `beta_managed_agents_*_run_error_object.py`, `beta_managed_agents_*_deployment_paused_reason*.py`,
//! `deployment_*_params.py`, `deployment_run_list_params.py`.

use serde::{Deserialize, Serialize};

use crate::{
    agents::AgentRefParam,
    common::{Empty, Metadata, MetadataPatch, Page, Timestamp},
    event_params::{SystemMessageParams, UserDefineOutcomeParams, UserMessageParams},
    sessions::{Budget, Checkout, MemoryAccess, ResourceParams},
};

crate::literal_type! {
    /// `"deployment"`.
    pub DeploymentTag = "deployment"
}
crate::literal_type! {
    /// `"deployment_run"`.
    pub DeploymentRunTag = "deployment_run"
}
crate::literal_type! {
    /// `"cron"`.
    pub CronTag = "cron"
}
crate::literal_type! {
    /// `"agent"`.
    pub AgentRefTag = "agent"
}

/// A deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// `depl_…`.
    pub id: String,
    /// Resolved to a concrete version.
    pub agent: AgentReference,
    /// Archiving is terminal; an archived deployment reports `active`.
    pub archived_at: Option<Timestamp>,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub environment_id: String,
    /// Sent to each session right after it is created (1–50).
    pub initial_events: Vec<DeploymentInitialEvent>,
    pub metadata: Metadata,
    pub name: String,
    /// Non-null exactly when `status` is `paused`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_reason: Option<PausedReason>,
    /// The input minus write-only credentials.
    pub resources: Vec<DeploymentResource>,
    /// `None`: manual runs only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    pub status: DeploymentStatus,
    pub r#type: DeploymentTag,
    pub updated_at: Timestamp,
    pub vault_ids: Vec<String>,
    /// Stamped onto each session the deployment creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
}

/// `GET /v1/deployments`.
pub type DeploymentPage = Page<Deployment>;

/// A resolved agent reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentReference {
    pub id: String,
    pub r#type: AgentRefTag,
    pub version: u64,
}

/// `active` or `paused`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentStatus {
    Active,
    Paused,
}

impl DeploymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentStatus::Active => "active",
            DeploymentStatus::Paused => "paused",
        }
    }
}

/// A cron schedule; in answers with its computed times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Five-field POSIX cron (minute hour day-of-month month day-of-week; 0 and 7 are Sunday).
    /// No seconds or year fields, no `L`, `W`, `#`, `?`, no `@daily`.
    pub expression: String,
    /// IANA time zone, e.g. `Europe/Paris`.
    pub timezone: String,
    pub r#type: CronTag,
    /// When the most recent scheduled run started (manual runs do not change it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_at: Option<Timestamp>,
    /// Up to five coming fires (also while paused); empty once archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upcoming_runs_at: Option<Vec<Timestamp>>,
}

crate::open_union! {
    /// An event sent to each session of a deployment as it starts (request and answer form).
    pub enum DeploymentInitialEvent {
        UserMessage(UserMessageParams) = "user.message",
        UserDefineOutcome(UserDefineOutcomeParams) = "user.define_outcome",
        SystemMessage(SystemMessageParams) = "system.message",
    }
}

crate::open_union! {
    /// A resource mounted into each session, as a deployment echoes it (no write-only token).
    pub enum DeploymentResource {
        File(FileResourceConfig) = "file",
        GithubRepository(GithubRepositoryResourceConfig) = "github_repository",
        MemoryStore(MemoryStoreResourceConfig) = "memory_store",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileResourceConfig {
    pub file_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GithubRepositoryResourceConfig {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout: Option<Checkout>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryStoreResourceConfig {
    pub memory_store_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<MemoryAccess>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

crate::open_union! {
    /// Why a deployment is paused.
    pub enum PausedReason {
        /// Someone called `pause`.
        Manual(Empty) = "manual",
        /// A scheduled fire recorded a run whose error pauses the deployment.
        Error(ErrorPausedReason) = "error",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorPausedReason {
    /// The failed run's error type (no message): `{type}`.
    pub error: PausedError,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PausedError {
    pub r#type: String,
}

/// `POST /v1/deployments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentCreate {
    /// A bare id pins the latest version.
    pub agent: DeploymentAgentParam,
    pub environment_id: String,
    pub initial_events: Vec<DeploymentInitialEvent>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<ResourceParams>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_ids: Option<Vec<String>>,
}

/// `POST /v1/deployments/{id}`: absent keeps, `null` clears where the API allows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<DeploymentAgentParam>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub budget: Option<Option<Budget>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub description: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_events: Option<Vec<DeploymentInitialEvent>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub metadata: Option<Option<MetadataPatch>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub resources: Option<Option<Vec<ResourceParams>>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub schedule: Option<Option<ScheduleParams>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub vault_ids: Option<Option<Vec<String>>>,
}

/// `agent` of a deployment body: a bare id (latest version) or `{type:"agent", id, version}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DeploymentAgentParam {
    Id(String),
    Object(DeploymentAgentObject),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentAgentObject {
    pub r#type: AgentRefTag,
    #[serde(flatten)]
    pub reference: AgentRefParam,
}

/// A schedule in a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleParams {
    pub expression: String,
    pub timezone: String,
    pub r#type: CronTag,
}

/// One fire of a deployment: exactly one of `session_id` and `error` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentRun {
    /// `drun_…`.
    pub id: String,
    /// The agent at fire time.
    pub agent: AgentReference,
    pub created_at: Timestamp,
    pub deployment_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RunError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub trigger_context: TriggerContext,
    pub r#type: DeploymentRunTag,
}

/// `GET /v1/deployment_runs`.
pub type DeploymentRunPage = Page<DeploymentRun>;

/// Why a fire created no session. `type` is one of the SDK's 16 `*_run_error` types (or a newer
/// one), e.g. `environment_archived_error`, `session_rate_limited_error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunError {
    pub message: String,
    pub r#type: String,
}

impl RunError {
    /// The run errors that pause a deployment when a scheduled fire records them: every type of
    /// the SDK's `DeploymentPausedReasonErrorObject` union. A rate limit or a rejected session
    /// does not pause (the next fire may well succeed).
    pub const PAUSING_TYPES: &'static [&'static str] = &[
        "environment_archived_error",
        "agent_archived_error",
        "environment_not_found_error",
        "vault_not_found_error",
        "file_not_found_error",
        "session_resource_not_found_error",
        "workspace_archived_error",
        "organization_disabled_error",
        "memory_store_archived_error",
        "skill_not_found_error",
        "vault_archived_error",
        "unknown_error",
        "self_hosted_resources_unsupported_error",
        "mcp_egress_blocked_error",
    ];

    pub fn new(kind: &str, message: impl Into<String>) -> RunError {
        RunError { message: message.into(), r#type: kind.to_owned() }
    }

    /// Whether this error pauses the deployment of a scheduled fire.
    pub fn pauses(&self) -> bool {
        Self::PAUSING_TYPES.contains(&self.r#type.as_str())
    }
}

crate::open_union! {
    /// What fired a run.
    pub enum TriggerContext {
        Schedule(ScheduleTrigger) = "schedule",
        Manual(Empty) = "manual",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleTrigger {
    /// The cron time this run is for (before any jitter). At most one run per
    /// (`deployment_id`, `scheduled_at`).
    pub scheduled_at: Timestamp,
}
