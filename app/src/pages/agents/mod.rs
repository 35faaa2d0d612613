mod detail;
mod form;
mod list;

pub use detail::AgentDetail;
pub use form::{AgentEdit, AgentNew};
pub use list::AgentList;

use protocol::agents::Agent;
use serde_json::Value;

/// "8 built-in, 1 MCP server, 2 custom": what an agent can do, in a few words.
pub fn tools_summary(agent: &Agent) -> String {
    let tools = serde_json::to_value(&agent.tools).unwrap_or_default();
    let (mut builtin, mut mcp, mut custom) = (0, 0, 0);
    for tool in tools.as_array().into_iter().flatten() {
        match tool.get("type").and_then(Value::as_str) {
            Some("agent_toolset_20260401") => {
                let default_on = tool.pointer("/default_config/enabled").and_then(Value::as_bool).unwrap_or(true);
                let configs = tool.get("configs").and_then(Value::as_array).cloned().unwrap_or_default();
                let overridden = configs.len();
                let on =
                    configs.iter().filter(|c| c.get("enabled").and_then(Value::as_bool).unwrap_or(default_on)).count();
                let all = crate::drafts::agent::BUILTIN_TOOLS.len();
                builtin += on + if default_on { all.saturating_sub(overridden) } else { 0 };
            }
            Some("mcp_toolset") => mcp += 1,
            Some("custom") => custom += 1,
            _ => {}
        }
    }
    let mut parts = Vec::new();
    if builtin > 0 {
        parts.push(format!("{builtin} built-in"));
    }
    if mcp > 0 {
        parts.push(format!("{mcp} MCP {}", if mcp == 1 { "server" } else { "servers" }));
    }
    if custom > 0 {
        parts.push(format!("{custom} custom"));
    }
    if parts.is_empty() { "no tools".to_owned() } else { parts.join(", ") }
}
