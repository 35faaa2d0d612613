//! The parts of a session that its events carry too: the agent snapshotted onto it (sent again
//! whole by `session.updated`), its budget (in `session.updated` and `session.usage`), and the
//! `"session"` tag. Here, below both [`crate::sessions`] and [`crate::events`], so neither needs
//! the other; [`crate::sessions`] re-exports each of them.

use serde::{Deserialize, Serialize};

use crate::agents::{
    Advisor, AdvisorSetting, AgentTag, ExecutionIdentity, McpServer, ModelConfig, Skill, Toggle, Tool,
};
use crate::common::Empty;
use crate::usage::ListCost;

crate::literal_type! {
    /// `"session"`.
    pub SessionTag = "session"
}
crate::literal_type! {
    /// `"limit"` (the only budget kind).
    pub LimitTag = "limit"
}

/// A hard spend ceiling: once the tracked list cost reaches `max_list_cost`, the session stops
/// issuing model requests and idles with `budget_reached` (request and response form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// List price regardless of negotiated discounts, so it fires at or before the real charge.
    pub max_list_cost: ListCost,
    pub r#type: LimitTag,
}

/// The agent definition snapshotted onto a session at creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionAgent {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub execution_identity: ExecutionIdentity,
    pub mcp_servers: Vec<McpServer>,
    pub model: ModelConfig,
    /// With full agent definitions of roster / predefined agents; `None` when single-threaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiagent: Option<SessionMultiagent>,
    pub name: String,
    pub skills: Vec<Skill>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub tools: Vec<Tool>,
    pub r#type: AgentTag,
    pub version: u64,
}

/// The agent definition of one thread (like [`SessionAgent`] without the multiagent roster).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionThreadAgent {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub execution_identity: ExecutionIdentity,
    pub mcp_servers: Vec<McpServer>,
    pub model: ModelConfig,
    pub name: String,
    pub skills: Vec<Skill>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub tools: Vec<Tool>,
    /// Always `"agent"`; kept so the struct also stands on its own outside a union.
    pub r#type: AgentTag,
    pub version: u64,
}

crate::open_union! {
    /// Multiagent configuration as copied to the session (full agent definitions).
    pub enum SessionMultiagent {
        Coordinator(SessionCoordinator) = "coordinator",
        Multiagent20261001(SessionMultiagent20261001) = "multiagent_20261001",
    }
}

/// Coordinator roster with full agent definitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionCoordinator {
    pub agents: Vec<SessionRosterMember>,
}

crate::open_union! {
    /// One member of a session's coordinator roster.
    pub enum SessionRosterMember {
        Agent(Box<SessionThreadAgent>) = "agent",
        Advisor(Advisor) = "advisor",
    }
}

/// `multiagent_20261001` as copied to the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionMultiagent20261001 {
    pub advisor: AdvisorSetting,
    pub subagents: SessionDelegation,
    pub workflows: SessionDelegation,
}

crate::open_union! {
    /// `subagents` / `workflows` as copied to the session.
    pub enum SessionDelegation {
        Enabled(SessionDelegationEnabled) = "enabled",
        Disabled(Empty) = "disabled",
    }
}

/// An enabled member with the full definitions of its predefined agents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDelegationEnabled {
    pub inline_agents: Toggle,
    pub predefined_agents: Vec<SessionThreadAgent>,
}
