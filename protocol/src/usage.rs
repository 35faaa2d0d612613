//! Usage and cost: what a session (or one of its threads) has consumed so far.

use serde::{Deserialize, Serialize};

/// A monetary amount (`BetaMonetaryAmount`), e.g. a session's list cost or a budget ceiling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListCost {
    /// Minor units (cents) as an integer decimal string, so no float rounding ever applies:
    /// `"2500"` is $25.00.
    pub amount: String,
    /// Uppercase ISO-4217 code; `USD` is the only one priced today.
    pub currency: String,
}

/// The SDK's name for [`ListCost`].
pub type MonetaryAmount = ListCost;

/// Prompt-cache creation tokens by cache lifetime.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheCreationUsage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_1h_input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_5m_input_tokens: Option<u64>,
}

/// Server-executed tool invocations by tool.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerToolUsage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_fetch_requests: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_search_requests: Option<u64>,
}

/// Cumulative usage of a session across all turns (`BetaManagedAgentsSessionUsage`).
///
/// The same shape serves the `session.usage` snapshot carried by events
/// (`BetaManagedAgentsSessionUsageSnapshot`, see [`SessionUsageSnapshot`]) and a thread's usage
/// (`BetaManagedAgentsSessionThreadUsage`, see [`SessionThreadUsage`]): the SDK declares the
/// three with identical fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionUsage {
    /// Seconds during which at least one thread was running; concurrent threads count once
    /// (unlike `stats.active_seconds`). Runtime cost is priced on this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation: Option<CacheCreationUsage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Cost at public list prices; absent until cost tracking is available. This is what a
    /// budget is enforced against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_cost: Option<ListCost>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_tool_use: Option<ServerToolUsage>,
}

/// Point-in-time copy of a session's cumulative usage (same fields as [`SessionUsage`]).
pub type SessionUsageSnapshot = SessionUsage;

/// Cumulative usage of one session thread (same fields as [`SessionUsage`]; per-thread list
/// costs are rounded independently and exclude session runtime, so they do not sum to the
/// session's figure).
pub type SessionThreadUsage = SessionUsage;
