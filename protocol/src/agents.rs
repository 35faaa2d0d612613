//! Agents: the saved, versioned definition of what runs in a session (model, system prompt, tools,
//! MCP servers, skills, multiagent setup), plus the bodies that create and update one.
//!
//! SDK: `BetaManagedAgentsAgent`, `AgentCreateParams`, `AgentUpdateParams` and what they import.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::common::{Empty, Metadata, MetadataPatch, Page, Timestamp};

crate::literal_type! {
    /// `"agent"`.
    pub AgentTag = "agent"
}
crate::literal_type! {
    /// `"url"` (the only MCP server kind).
    pub UrlTag = "url"
}
crate::literal_type! {
    /// `"object"` (the only JSON-schema root a custom tool accepts).
    pub ObjectTag = "object"
}
crate::literal_type! {
    /// `"approximate"` (the only user-location precision).
    pub ApproximateTag = "approximate"
}
crate::literal_type! {
    /// `"tool_reference"`.
    pub ToolReferenceTag = "tool_reference"
}

// ---------------------------------------------------------------------------------------------
// Agent object (response)
// ---------------------------------------------------------------------------------------------

/// A Managed Agents `agent` (one version of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub id: String,
    /// Set once the agent is archived (permanent: read-only, no new sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<Timestamp>,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Principal runs execute as; `service_account` when no customer principal is named.
    pub execution_identity: ExecutionIdentity,
    pub mcp_servers: Vec<McpServer>,
    pub metadata: Metadata,
    /// Always the object form, with `effort` resolved.
    pub model: ModelConfig,
    /// `None` when the agent is single-threaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiagent: Option<Multiagent>,
    pub name: String,
    pub skills: Vec<Skill>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub tools: Vec<Tool>,
    pub r#type: AgentTag,
    pub updated_at: Timestamp,
    /// Starts at 1, +1 per modification; send it back in an update for optimistic concurrency.
    pub version: u64,
}

/// `GET /v1/agents` and `GET /v1/agents/{id}/versions` (one entry per version).
pub type AgentPage = Page<Agent>;

/// Model identifier and configuration as stored on an agent (response form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// A model id such as `claude-opus-5-5`; any string is accepted.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<Effort>,
    /// Unset means the workspace's default inference geo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_geo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<Speed>,
}

crate::open_union! {
    /// How hard Claude works on each inference call (object form, as responses carry it).
    pub enum Effort {
        Low(Empty) = "low",
        Medium(Empty) = "medium",
        High(Empty) = "high",
        Xhigh(Empty) = "xhigh",
        Max(Empty) = "max",
    }
}

/// Inference speed mode; `fast` is premium-priced and not available on every model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speed {
    Standard,
    Fast,
    /// A speed this version does not know.
    #[serde(untagged)]
    Other(String),
}

crate::open_union! {
    /// One entry of an agent's `tools`.
    pub enum Tool {
        /// The built-in tools (bash, read, write, edit, glob, grep, web_fetch, web_search).
        AgentToolset(AgentToolset) = "agent_toolset_20260401",
        /// All tools of one MCP server named in `mcp_servers`.
        McpToolset(McpToolset) = "mcp_toolset",
        /// A client-executed tool: the session idles until the client sends its result.
        Custom(CustomTool) = "custom",
    }
}

/// The built-in toolset, resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentToolset {
    pub configs: Vec<AgentToolConfig>,
    pub default_config: ToolsetDefaultConfig,
}

/// Resolved default configuration of a toolset (built-in or MCP).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolsetDefaultConfig {
    pub enabled: bool,
    pub permission_policy: PermissionPolicy,
}

crate::open_union! {
    /// Whether a tool call runs without asking.
    pub enum PermissionPolicy {
        /// Run without asking.
        AlwaysAllow(Empty) = "always_allow",
        /// Idle with `requires_action` until the client sends `user.tool_confirmation`.
        AlwaysAsk(Empty) = "always_ask",
        /// The server judges each call: safe → allow, high-risk → deny, undecidable → ask.
        Auto(Empty) = "auto",
    }
}

crate::open_union! {
    /// A per-tool override inside the built-in toolset (response form; `type` equals `name`).
    pub enum AgentToolConfig {
        Bash(BuiltinToolConfig) = "bash",
        Edit(BuiltinToolConfig) = "edit",
        Read(BuiltinToolConfig) = "read",
        Write(BuiltinToolConfig) = "write",
        Glob(BuiltinToolConfig) = "glob",
        Grep(BuiltinToolConfig) = "grep",
        WebFetch(WebFetchToolConfig) = "web_fetch",
        WebSearch(WebSearchToolConfig) = "web_search",
    }
}

/// Configuration of a built-in tool that has no extra settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuiltinToolConfig {
    pub enabled: bool,
    /// Same as the `type`.
    pub name: String,
    pub permission_policy: PermissionPolicy,
}

/// Configuration of the `web_fetch` tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebFetchToolConfig {
    pub enabled: bool,
    pub name: String,
    pub permission_policy: PermissionPolicy,
    /// Which sources may contribute URLs; `None` allows every source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_sources: Option<UrlSources>,
    /// Plain hostnames; exclusive with `blocked_domains`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_domains: Option<Vec<String>>,
    /// Cap on fetched text per call (not applied to binary content such as PDFs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_content_tokens: Option<u64>,
}

/// Configuration of the `web_search` tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebSearchToolConfig {
    pub enabled: bool,
    pub name: String,
    pub permission_policy: PermissionPolicy,
    /// Hostnames with an optional path suffix; exclusive with `blocked_domains`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_location: Option<UserLocation>,
}

/// Approximate user location used to localize search results (request and response form).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserLocation {
    pub r#type: ApproximateTag,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2, uppercase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// IANA zone, e.g. `America/Los_Angeles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// Which sources contribute URLs `web_fetch` may fetch (response: always the object form; a
/// `None` key was not set and allows that whole source).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UrlSources {
    /// Results of custom tools of the same agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_tool_results: Option<UrlSourceFilter>,
    /// Results of `web_search` / `web_fetch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_tool_results: Option<UrlSourceFilter>,
    /// Text of user messages (only `all` or `none` are valid here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_input: Option<UrlSourceFilter>,
}

crate::open_union! {
    /// Filter over one URL source.
    pub enum UrlSourceFilter {
        All(Empty) = "all",
        None(Empty) = "none",
        /// Only the named tools' results contribute.
        Only(ToolReferences) = "only",
        /// Every tool's results contribute except the named ones.
        Except(ToolReferences) = "except",
    }
}

/// The tool list of an `only` / `except` filter (1–128 distinct names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolReferences {
    pub tools: Vec<ToolReference>,
}

/// Names one tool (case-sensitive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolReference {
    pub name: String,
    pub r#type: ToolReferenceTag,
}

/// The tools of one MCP server, resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpToolset {
    pub configs: Vec<McpToolConfig>,
    pub default_config: ToolsetDefaultConfig,
    /// A `name` in the agent's `mcp_servers`.
    pub mcp_server_name: String,
}

/// Resolved configuration of one MCP tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpToolConfig {
    pub enabled: bool,
    pub name: String,
    pub permission_policy: PermissionPolicy,
}

/// A client-executed tool (same shape in requests and responses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomTool {
    /// Shown to the model to decide when to call the tool.
    pub description: String,
    pub input_schema: InputSchema,
    /// 1–128 of `[A-Za-z0-9_-]`.
    pub name: String,
}

/// JSON Schema of a custom tool's input: an `object` schema, any further schema keys kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputSchema {
    pub r#type: ObjectTag,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<Vec<String>>,
    /// Other JSON-schema keywords (`additionalProperties`, `$defs`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An MCP server the agent connects to (request and response form). No auth here: credentials
/// come from vaults, matched by URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpServer {
    /// Unique within the agent; referenced by `mcp_toolset.mcp_server_name`.
    pub name: String,
    pub r#type: UrlTag,
    pub url: String,
}

crate::open_union! {
    /// A skill attached to an agent, resolved to a version.
    pub enum Skill {
        Anthropic(SkillRef) = "anthropic",
        Custom(SkillRef) = "custom",
    }
}

/// A resolved skill reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillRef {
    /// e.g. `xlsx` (anthropic) or `skill_…` (custom).
    pub skill_id: String,
    pub version: String,
}

crate::open_union! {
    /// The principal runs execute as (request and response form).
    pub enum ExecutionIdentity {
        AwsRole(AwsRole) = "aws_role",
        /// The Anthropic-managed default.
        ServiceAccount(Empty) = "service_account",
    }
}

/// An AWS IAM role principal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwsRole {
    /// ≤ 2048 chars, e.g. `arn:aws:iam::123456789012:role/my-agent-runner`.
    pub role_arn: String,
}

crate::open_union! {
    /// Multiagent orchestration of an agent (response form).
    pub enum Multiagent {
        /// Legacy roster form ("prefer multiagent_20261001").
        Coordinator(Coordinator) = "coordinator",
        Multiagent20261001(Multiagent20261001) = "multiagent_20261001",
    }
}

/// Resolved coordinator roster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coordinator {
    pub agents: Vec<RosterMember>,
}

crate::open_union! {
    /// One resolved coordinator roster entry.
    pub enum RosterMember {
        Agent(AgentRef) = "agent",
        Advisor(Advisor) = "advisor",
    }
}

/// A saved agent pinned to a version (`{type:"agent", id, version}`; the `type` is kept so the
/// struct also stands alone in `predefined_agents`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRef {
    pub id: String,
    pub r#type: AgentTag,
    pub version: u64,
}

/// A model the primary thread may consult mid-turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisor {
    pub model: String,
}

/// Resolved `multiagent_20261001`: three members, each enabled or disabled on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Multiagent20261001 {
    pub advisor: AdvisorSetting,
    /// Whether the agent can spawn session threads.
    pub subagents: Delegation,
    /// Whether the agent can start workflow runs.
    pub workflows: Delegation,
}

crate::open_union! {
    /// Whether the primary thread can consult an advisor model (request and response form).
    pub enum AdvisorSetting {
        Enabled(Advisor) = "enabled",
        Disabled(Empty) = "disabled",
    }
}

crate::open_union! {
    /// `subagents` / `workflows` of `multiagent_20261001`, resolved.
    pub enum Delegation {
        Enabled(DelegationEnabled) = "enabled",
        Disabled(Empty) = "disabled",
    }
}

/// An enabled `subagents` / `workflows` member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DelegationEnabled {
    /// Whether unsaved agents may be defined inline.
    pub inline_agents: Toggle,
    /// Saved agents that may be used, each pinned to a version.
    pub predefined_agents: Vec<AgentRef>,
}

crate::open_union! {
    /// An on/off switch (`inline_agents`).
    pub enum Toggle {
        Enabled(Empty) = "enabled",
        Disabled(Empty) = "disabled",
    }
}

// ---------------------------------------------------------------------------------------------
// Typed inputs of the built-in tools (what `agent.tool_use.input` carries for each)
// ---------------------------------------------------------------------------------------------

/// Input of `bash`: a command, or `restart: true` (no command) to restart the shell.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BashInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<bool>,
    /// Omitted or 0: the runner-wide tool timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// Input of `read`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReadInput {
    pub file_path: String,
    /// `[start, end]`, 1-based inclusive; `end` ≤ 0 means to end of file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_range: Option<Vec<i64>>,
}

/// Input of `write` (overwrites the whole file).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WriteInput {
    pub content: String,
    pub file_path: String,
}

/// Input of `edit`: `old_string` must occur exactly once unless `replace_all`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EditInput {
    pub file_path: String,
    pub new_string: String,
    pub old_string: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_all: Option<bool>,
}

/// Input of `glob` (doublestar pattern; newest first).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobInput {
    pub pattern: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Input of `grep` (regular expression).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GrepInput {
    pub pattern: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------

/// `POST /v1/agents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentCreate {
    pub model: ModelParam,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Omitted, `null` and `service_account` all store the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_identity: Option<ExecutionIdentity>,
    /// ≤ 20, unique names; each must be used by an `mcp_toolset` in `tools`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_servers: Option<Vec<McpServer>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiagent: Option<MultiagentParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skills: Option<Vec<SkillParams>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// ≤ 256 tools across all toolsets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ToolParams>>,
}

/// `POST /v1/agents/{id}`: creates a new version. Outer `None` keeps a field; `Some(None)` sends
/// `null`, which clears it (lists: full replacement, `null` or `[]` clears).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub description: Option<Option<String>>,
    /// `null` restores the default service account.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub execution_identity: Option<Option<ExecutionIdentity>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub mcp_servers: Option<Option<Vec<McpServer>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MetadataPatch>,
    /// Whole-object replacement (omitting `inference_geo` inside clears it); cannot be cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelParam>,
    /// `null` clears; a `multiagent_20261001` onto a stored one is merged level by level.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub multiagent: Option<Option<MultiagentParams>>,
    /// Cannot be cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub skills: Option<Option<Vec<SkillParams>>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub system: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub tools: Option<Option<Vec<ToolParams>>>,
    /// The version the edit is based on; a mismatch fails the update (409). Omit for
    /// last-write-wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// `model` in requests: a bare model id or a config object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ModelParam {
    Id(String),
    Config(ModelConfigParams),
}

/// The object form of `model` in requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfigParams {
    pub id: String,
    /// Create: omitted → per-model default. Update: omitted → unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<EffortParam>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_geo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<Speed>,
}

/// `effort` in requests: a bare level (`"high"`) or `{"type":"high"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EffortParam {
    Level(String),
    Object(Effort),
}

crate::open_union! {
    /// One entry of `tools` in create/update bodies.
    pub enum ToolParams {
        AgentToolset(AgentToolsetParams) = "agent_toolset_20260401",
        McpToolset(McpToolsetParams) = "mcp_toolset",
        Custom(CustomTool) = "custom",
    }
}

/// The built-in toolset in requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentToolsetParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configs: Option<Vec<AgentToolConfigParams>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_config: Option<ToolsetDefaultConfigParams>,
}

/// Default configuration of a toolset in requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolsetDefaultConfigParams {
    /// Defaults to true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Defaults: `always_allow` for the built-in toolset, `always_ask` for MCP toolsets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_policy: Option<PermissionPolicy>,
}

/// A per-tool override of the built-in toolset in requests. The tool is chosen by `name`
/// (`bash`, `read`, `write`, `edit`, `glob`, `grep`, `web_fetch`, `web_search`); `type` may
/// repeat it. The domain / content / url-source fields apply to `web_fetch`, `user_location` and
/// the domain lists to `web_search`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentToolConfigParams {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_policy: Option<PermissionPolicy>,
    /// 1–64 entries; exclusive with `blocked_domains`; an empty list is rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_content_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_sources: Option<UrlSourcesParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_location: Option<UserLocation>,
}

/// `web_fetch.url_sources` in requests; each key defaults to `all`, all three `none` is rejected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UrlSourcesParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_tool_results: Option<UrlSourceFilterParam>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_tool_results: Option<UrlSourceFilterParam>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_input: Option<UrlSourceFilterParam>,
}

/// A URL-source filter in requests: the shorthand `"all"` / `"none"` or the object form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum UrlSourceFilterParam {
    Shorthand(String),
    Filter(UrlSourceFilter),
}

/// An MCP toolset in requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct McpToolsetParams {
    pub mcp_server_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configs: Option<Vec<McpToolConfigParams>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_config: Option<ToolsetDefaultConfigParams>,
}

/// Override for one MCP tool in requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct McpToolConfigParams {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_policy: Option<PermissionPolicy>,
}

crate::open_union! {
    /// A skill in requests.
    pub enum SkillParams {
        Anthropic(SkillRefParams) = "anthropic",
        Custom(SkillRefParams) = "custom",
    }
}

/// A skill reference in requests; no `version` means latest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SkillRefParams {
    pub skill_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

crate::open_union! {
    /// `multiagent` in requests.
    pub enum MultiagentParams {
        Coordinator(CoordinatorParams) = "coordinator",
        Multiagent20261001(Multiagent20261001Params) = "multiagent_20261001",
    }
}

/// The coordinator roster in requests (1–20 distinct agents, at most one `self`, one advisor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoordinatorParams {
    pub agents: Vec<RosterEntryParam>,
}

/// A roster / predefined-agent entry in requests: a bare agent id or an object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RosterEntryParam {
    Id(String),
    Entry(RosterEntryObject),
}

crate::open_union! {
    /// The object forms of a roster entry (`advisor` only in a coordinator roster).
    pub enum RosterEntryObject {
        Agent(AgentRefParam) = "agent",
        /// The agent that owns this configuration.
        SelfAgent(Empty) = "self",
        Advisor(Advisor) = "advisor",
    }
}

/// A saved agent in requests; no `version` means latest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRefParam {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// `multiagent_20261001` in requests. At create, a member sent as `null` or omitted gets its
/// default (advisor disabled, subagents and workflows enabled). On an update onto a stored
/// `multiagent_20261001` the two differ: omitted keeps the stored member, `null` resets it to its
/// default (hence three states).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Multiagent20261001Params {
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub advisor: Option<Option<AdvisorSetting>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub subagents: Option<Option<DelegationParams>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub workflows: Option<Option<DelegationParams>>,
}

crate::open_union! {
    /// `subagents` / `workflows` in requests.
    pub enum DelegationParams {
        Enabled(DelegationEnabledParams) = "enabled",
        Disabled(Empty) = "disabled",
    }
}

/// An enabled member in requests. With inline agents disabled, `predefined_agents` must be
/// non-empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DelegationEnabledParams {
    /// Omitted: the stored value on update, else enabled; `null`: enabled.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub inline_agents: Option<Option<Toggle>>,
    /// ≤ 20; replaces the stored list on update. Omitted: the stored list on update, else none;
    /// `null`: none.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub predefined_agents: Option<Option<Vec<RosterEntryParam>>>,
}
