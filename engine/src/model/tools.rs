//! The tools a model is offered: the built-in toolset's (those the engine's sandbox runs and the
//! agent has enabled), with the inputs the API's `agent.tool_use` events carry, and the agent's
//! custom tools as it defined them.

use serde_json::{Value, json};

/// The built-in tools the sandbox runs, with their descriptions and input schemas. `web_fetch`
/// and `web_search` are not offered: the engine has no web tools.
fn builtin(name: &str) -> Option<Value> {
    let (description, schema) = match name {
        "bash" => (
            "Run a command in a persistent bash shell in the session's sandbox (working directory /workspace; files written to /mnt/session/outputs are kept as the session's outputs). State such as the current directory persists between calls; restart: true starts a new shell.",
            json!({ "type": "object", "properties": {
                "command": { "type": "string", "description": "The command to run." },
                "restart": { "type": "boolean", "description": "Start a new shell instead of running a command." },
                "timeout_ms": { "type": "integer", "description": "Longest the command may run, in milliseconds." },
            } }),
        ),
        "read" => (
            "Read a text file, with line numbers. Relative paths are under /workspace.",
            json!({ "type": "object", "required": ["file_path"], "properties": {
                "file_path": { "type": "string" },
                "view_range": { "type": "array", "items": { "type": "integer" }, "minItems": 2, "maxItems": 2,
                    "description": "First and last line, 1-based and inclusive; a last line of 0 or less reads to the end." },
            } }),
        ),
        "write" => (
            "Write a file, replacing what it held. Relative paths are under /workspace.",
            json!({ "type": "object", "required": ["file_path", "content"], "properties": {
                "file_path": { "type": "string" }, "content": { "type": "string" },
            } }),
        ),
        "edit" => (
            "Replace old_string with new_string in a file. old_string must occur exactly once unless replace_all is true.",
            json!({ "type": "object", "required": ["file_path", "old_string", "new_string"], "properties": {
                "file_path": { "type": "string" }, "old_string": { "type": "string" }, "new_string": { "type": "string" },
                "replace_all": { "type": "boolean" },
            } }),
        ),
        "glob" => (
            "Find files whose paths match a glob pattern (** for any depth), newest first.",
            json!({ "type": "object", "required": ["pattern"], "properties": {
                "pattern": { "type": "string" }, "path": { "type": "string", "description": "Where to look (default /workspace)." },
            } }),
        ),
        "grep" => (
            "Search file contents for a regular expression; prints path:line: text for each match.",
            json!({ "type": "object", "required": ["pattern"], "properties": {
                "pattern": { "type": "string" }, "path": { "type": "string", "description": "A file or folder (default /workspace)." },
            } }),
        ),
        _ => return None,
    };
    Some(json!({ "name": name, "description": description, "input_schema": schema }))
}

/// The Messages API `tools` of an agent (its `tools` as the session holds them): the enabled
/// built-in tools, then its custom tools. The last one carries a cache breakpoint, so that the
/// tools and the system prompt before them are read from the prompt cache after the first
/// request.
pub fn definitions(agent_tools: &Value) -> Vec<Value> {
    let mut tools = Vec::new();
    for tool in agent_tools.as_array().into_iter().flatten() {
        match tool["type"].as_str() {
            Some("agent_toolset_20260401") => {
                let default_enabled = tool["default_config"]["enabled"].as_bool().unwrap_or(true);
                for name in crate::script::BUILTIN_TOOLS {
                    let config = tool["configs"].as_array().into_iter().flatten().find(|c| c["name"] == *name);
                    let enabled = config.and_then(|c| c["enabled"].as_bool()).unwrap_or(default_enabled);
                    if let (true, Some(definition)) = (enabled, builtin(name)) {
                        tools.push(definition);
                    }
                }
            }
            Some("custom") => tools.push(json!({
                "name": tool["name"],
                "description": tool["description"],
                "input_schema": tool["input_schema"],
            })),
            _ => {}
        }
    }
    if let Some(last) = tools.last_mut() {
        last["cache_control"] = json!({ "type": "ephemeral" });
    }
    tools
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_is_offered_what_the_agent_enabled_and_the_sandbox_runs() {
        let tools = json!([
            { "type": "agent_toolset_20260401", "default_config": { "enabled": true },
              "configs": [{ "name": "write", "enabled": false }] },
            { "type": "custom", "name": "lookup", "description": "Look it up", "input_schema": { "type": "object" } },
        ]);
        let offered = definitions(&tools);
        let names: Vec<&str> = offered.iter().filter_map(|t| t["name"].as_str()).collect();
        assert_eq!(names, ["bash", "read", "edit", "glob", "grep", "lookup"]);
        assert_eq!(offered[5]["cache_control"]["type"], "ephemeral");
        assert!(offered[0].get("cache_control").is_none());
        assert!(definitions(&json!([])).is_empty());
    }
}
