//! Environments: where sessions run (Anthropic cloud containers or a self-hosted sandbox), and the
//! `work` queue a self-hosted environment's workers drain.
//!
//! SDK: `BetaEnvironment`, `EnvironmentCreateParams`, `EnvironmentUpdateParams`,
//! `environments/beta_self_hosted_work*.py`.

use serde::{Deserialize, Serialize};

use crate::common::{Deleted, Empty, Metadata, MetadataPatch, Page, Timestamp};

crate::literal_type! {
    /// `"environment"`.
    pub EnvironmentTag = "environment"
}
crate::literal_type! {
    /// `"environment_deleted"`.
    pub EnvironmentDeletedTag = "environment_deleted"
}
crate::literal_type! {
    /// `"packages"`.
    pub PackagesTag = "packages"
}
crate::literal_type! {
    /// `"work"`.
    pub WorkTag = "work"
}
crate::literal_type! {
    /// `"work_queue_stats"`.
    pub WorkQueueStatsTag = "work_queue_stats"
}
/// `"session"` (the only kind of work).
pub type SessionWorkTag = crate::session_parts::SessionTag;

/// A Managed Agents `environment` (cloud or self-hosted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// `env_…`.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<Timestamp>,
    pub config: EnvironmentConfig,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub metadata: Metadata,
    pub name: String,
    pub r#type: EnvironmentTag,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<EnvironmentScope>,
}

/// `GET /v1/environments`.
pub type EnvironmentPage = Page<Environment>;

/// `DELETE /v1/environments/{id}` (a JSON body, although the docs say 204).
pub type EnvironmentDeleted = Deleted<EnvironmentDeletedTag>;

/// Who can see an environment. API organizations only support `organization`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvironmentScope {
    /// Visible to all accounts of the organization.
    Organization,
    /// Visible only to the owning account.
    Account,
    #[serde(untagged)]
    Other(String),
}

crate::open_union! {
    /// Environment configuration (response form). `type` cannot change after creation.
    pub enum EnvironmentConfig {
        Cloud(CloudConfig) = "cloud",
        /// Sessions run in your own sandbox, driven by a worker; built-in tool calls come back
        /// to the client as `user.tool_result` work.
        SelfHosted(Empty) = "self_hosted",
    }
}

/// An Anthropic cloud container configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudConfig {
    pub networking: Networking,
    pub packages: Packages,
}

crate::open_union! {
    /// Container network policy (never governs `web_search` / `web_fetch`).
    pub enum Networking {
        Unrestricted(Empty) = "unrestricted",
        Limited(LimitedNetwork) = "limited",
    }
}

/// Limited network access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitedNetwork {
    /// Also allow the agent's MCP server endpoints.
    pub allow_mcp_servers: bool,
    /// Also allow package registries (required when packages are listed).
    pub allow_package_managers: bool,
    /// Domains the container may reach.
    pub allowed_hosts: Vec<String>,
}

/// Packages installed in the container, in each manager's own version syntax.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Packages {
    pub apt: Vec<String>,
    pub cargo: Vec<String>,
    pub gem: Vec<String>,
    pub go: Vec<String>,
    pub npm: Vec<String>,
    pub pip: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<PackagesTag>,
}

// --- request bodies ----------------------------------------------------------------------------

/// `POST /v1/environments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentCreate {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<EnvironmentConfigParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Default depends on the organization type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<EnvironmentScope>,
}

/// `POST /v1/environments/{id}`. Metadata: `null` or `""` deletes a key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<EnvironmentConfigParams>,
    /// `Some(None)` sends `null` (clears); `""` is stored as empty.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub description: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MetadataPatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<EnvironmentScope>,
}

crate::open_union! {
    /// Environment configuration in requests.
    pub enum EnvironmentConfigParams {
        Cloud(CloudConfigParams) = "cloud",
        SelfHosted(Empty) = "self_hosted",
    }
}

/// Cloud configuration in requests; on update an omitted field keeps its value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CloudConfigParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networking: Option<NetworkingParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<PackagesParams>,
}

crate::open_union! {
    /// Network policy in requests.
    pub enum NetworkingParams {
        Unrestricted(Empty) = "unrestricted",
        Limited(LimitedNetworkParams) = "limited",
    }
}

/// Limited network access in requests (flags default to false).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LimitedNetworkParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_mcp_servers: Option<bool>,
    /// Must be true when `packages` are given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_package_managers: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_hosts: Option<Vec<String>>,
}

/// Packages in requests; unversioned means latest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PackagesParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apt: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cargo: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gem: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub npm: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pip: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<PackagesTag>,
}

// --- self-hosted work ---------------------------------------------------------------------------

/// One unit of work of a self-hosted environment (a session that needs a sandbox).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Work {
    /// `work_…`.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub data: SessionWorkData,
    pub environment_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_heartbeat_at: Option<Timestamp>,
    pub metadata: Metadata,
    /// Credential for the worker; only present on `poll`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    pub state: WorkState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_requested_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<Timestamp>,
    pub r#type: WorkTag,
}

/// `GET /v1/environments/{id}/work`.
pub type WorkPage = Page<Work>;

/// What a work item is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionWorkData {
    /// The session id.
    pub id: String,
    pub r#type: SessionWorkTag,
}

/// Life cycle of a work item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkState {
    Queued,
    Starting,
    Active,
    Stopping,
    Stopped,
    #[serde(untagged)]
    Other(String),
}

/// `GET /v1/environments/{id}/work/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkQueueStats {
    /// Items waiting to be picked up.
    pub depth: u64,
    /// Oldest item in the stream (queued or pending); `None` when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_queued_at: Option<Timestamp>,
    /// Items polled but not yet acknowledged.
    pub pending: u64,
    pub r#type: WorkQueueStatsTag,
    /// Workers that polled in the last 30 seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers_polling: Option<u64>,
}

/// `POST /v1/environments/{id}/work/{work_id}` (metadata patch is required).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkUpdate {
    pub metadata: MetadataPatch,
}

/// `POST /v1/environments/{id}/work/{work_id}/stop`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkStop {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
}
