//! What the agent form asks the server besides the API: the tools an MCP server lists (and, on
//! the server, the trait of what reads them).

use serde::{Deserialize, Serialize};

/// The built-in tools of `agent_toolset_20260401`, in the order the form lists them.
pub const BUILTIN_TOOLS: [&str; 8] = ["bash", "read", "write", "edit", "glob", "grep", "web_fetch", "web_search"];

/// A tool an MCP server lists, for the agent form's per-tool policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpToolChoice {
    pub name: String,
    pub description: String,
}

/// What reads an MCP server's tools for `app::api::agents::list_mcp_tools`: the server's, with the engine's
/// MCP client.
#[cfg(feature = "server")]
pub mod mcp_tools {
    use std::sync::Arc;

    use super::McpToolChoice;
    use crate::{error::AppError, upstream::client::BoxFuture};

    pub trait McpTools: Send + Sync {
        /// The tools of the MCP server at `url`, or what kept it from answering, in words.
        fn list(&self, url: String) -> BoxFuture<'_, Result<Vec<McpToolChoice>, AppError>>;
    }

    #[derive(Clone)]
    pub struct McpToolsHandle(pub Arc<dyn McpTools>);
}
