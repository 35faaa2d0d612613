//! The agent form's model: what the form edits, and the exact request body it stands for.
//!
//! The form and the raw JSON tab edit the same [`AgentDraft`]: the form through its fields, the
//! raw tab through [`AgentDraft::from_request`]. Whatever the form does not model (multiagent
//! settings, web tool domain lists, MCP per-tool configs, unknown keys) is kept as it was, so
//! switching tabs never loses a part of the definition.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{DraftError, check_metadata};

pub use domain::agents::BUILTIN_TOOLS;

/// A permission policy as the form offers it.
pub const POLICIES: [(&str, &str); 3] = [
    ("always_allow", "Always allow"),
    ("always_ask", "Ask a person"),
    ("auto", "Decide automatically (ask when unsure)"),
];

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AgentDraft {
    pub name: String,
    pub description: String,
    pub model: String,
    /// Model settings the form does not edit (`effort`, `speed`, …), kept as they were.
    pub model_extra: Map<String, Value>,
    pub system: String,
    /// `None`: the agent has no built-in toolset.
    pub builtin: Option<BuiltinToolset>,
    pub custom_tools: Vec<CustomToolDraft>,
    pub mcp_servers: Vec<McpServerDraft>,
    pub skills: Vec<SkillDraft>,
    pub metadata: Vec<(String, String)>,
    /// Top-level keys the form does not model, kept as they were.
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuiltinToolset {
    pub default_policy: String,
    pub tools: Vec<BuiltinToolDraft>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuiltinToolDraft {
    pub name: String,
    pub enabled: bool,
    /// `None`: the toolset's default policy.
    pub policy: Option<String>,
    /// The rest of the tool's config (domain lists, …), kept as it was.
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CustomToolDraft {
    pub name: String,
    pub description: String,
    /// JSON text, so a half-typed schema is kept while it is being written.
    pub input_schema: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct McpServerDraft {
    pub name: String,
    pub url: String,
    /// The permission policy of this server's tools.
    pub policy: String,
    /// Its tools with a config of their own (`configs`): off, or another policy.
    pub tools: Vec<McpToolDraft>,
    /// The rest of its `mcp_toolset` entry, kept as it was.
    pub extra: Map<String, Value>,
}

/// One tool of an MCP server, with its own settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct McpToolDraft {
    pub name: String,
    pub enabled: bool,
    /// Its own permission policy; `None`: the server's.
    pub policy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SkillDraft {
    /// `anthropic` or `custom`.
    pub kind: String,
    pub skill_id: String,
    /// Empty: latest.
    pub version: String,
}

impl BuiltinToolset {
    /// Every built-in tool on, with the API's default policy.
    pub fn all_enabled() -> Self {
        Self {
            default_policy: "always_allow".to_owned(),
            tools: BUILTIN_TOOLS
                .iter()
                .map(|name| BuiltinToolDraft {
                    name: (*name).to_owned(),
                    enabled: true,
                    policy: None,
                    extra: Map::new(),
                })
                .collect(),
        }
    }
}

impl AgentDraft {
    /// What the "New agent" form starts with; its page sets the model to a current one of the
    /// upstream's ([`crate::api::models::default_model`]), and leaves it empty, to be typed,
    /// when the models cannot be listed.
    pub fn new_agent() -> Self {
        Self { builtin: Some(BuiltinToolset::all_enabled()), ..Self::default() }
    }

    /// The request body: `POST /v1/agents`, or the fields of `POST /v1/agents/{id}`.
    pub fn to_request(&self) -> Result<Value, DraftError> {
        let mut body = self.extra.clone();
        if self.name.trim().is_empty() {
            return Err(DraftError::new("name", "Give the agent a name."));
        }
        if self.model.trim().is_empty() {
            return Err(DraftError::new("model", "Choose a model."));
        }
        body.insert("name".into(), json!(self.name.trim()));
        if !self.description.trim().is_empty() {
            body.insert("description".into(), json!(self.description));
        }
        if self.model_extra.is_empty() {
            body.insert("model".into(), json!(self.model.trim()));
        } else {
            let mut model = self.model_extra.clone();
            model.insert("id".into(), json!(self.model.trim()));
            body.insert("model".into(), Value::Object(model));
        }
        if !self.system.is_empty() {
            body.insert("system".into(), json!(self.system));
        }

        let mut tools: Vec<Value> = self.builtin.iter().map(BuiltinToolset::to_tool).collect();
        let mut names = std::collections::BTreeSet::new();
        for (i, server) in self.mcp_servers.iter().enumerate() {
            if !names.insert(server.name.trim()) {
                return Err(DraftError::new(
                    format!("mcp_servers.{i}"),
                    format!("Two MCP servers are named {:?}; names must be unique.", server.name.trim()),
                ));
            }
            tools.push(server.to_toolset(i)?);
        }
        for (i, tool) in self.custom_tools.iter().enumerate() {
            tools.push(tool.to_tool(i)?);
        }
        body.insert("tools".into(), Value::Array(tools));
        body.insert(
            "mcp_servers".into(),
            Value::Array(
                self.mcp_servers
                    .iter()
                    .map(|s| json!({ "type": "url", "name": s.name.trim(), "url": s.url.trim() }))
                    .collect(),
            ),
        );
        let skills = self.skills.iter().enumerate().map(|(i, skill)| skill.to_entry(i)).collect::<Result<_, _>>()?;
        body.insert("skills".into(), Value::Array(skills));
        let metadata: Map<String, Value> = self.metadata.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        if self.metadata.len() != metadata.len() {
            return Err(DraftError::new("metadata", "Two metadata entries have the same key; keys must be unique."));
        }
        check_metadata(&metadata)?;
        body.insert("metadata".into(), Value::Object(metadata));
        Ok(Value::Object(body))
    }

    /// Reads a request body (or an agent as the API returns it) into the form. Fails with a
    /// sentence when the JSON is not an agent definition the form can show.
    pub fn from_request(value: &Value) -> Result<Self, DraftError> {
        let object =
            value.as_object().ok_or_else(|| DraftError::new("json", "The definition must be a JSON object."))?;
        let mut draft = AgentDraft::default();
        let text = |key: &str| -> Result<String, DraftError> {
            match object.get(key) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(DraftError::new(key, format!("\"{key}\" must be a string."))),
            }
        };
        draft.name = text("name")?;
        draft.description = text("description")?;
        draft.system = text("system")?;
        (draft.model, draft.model_extra) = model_from(object.get("model"))?;
        let mut toolsets = draft.read_tools(object.get("tools"))?;
        for (name, url) in servers_from(object.get("mcp_servers"))? {
            let toolset = toolsets.remove(&name);
            draft.mcp_servers.push(McpServerDraft::from_toolset(name, url, toolset));
        }
        if let Some(orphan) = toolsets.keys().next() {
            return Err(DraftError::new(
                "tools",
                format!("An mcp_toolset uses the server {orphan:?}, which is not in \"mcp_servers\"."),
            ));
        }
        if let Some(skills) = object.get("skills").and_then(Value::as_array) {
            draft.skills = skills.iter().map(SkillDraft::from_entry).collect();
        }
        draft.metadata = metadata_from(object.get("metadata"))?;
        // What an API response carries that a request does not.
        const RESPONSE_ONLY: [&str; 6] = ["id", "type", "version", "created_at", "updated_at", "archived_at"];
        const MODELLED: [&str; 8] =
            ["name", "description", "system", "model", "tools", "mcp_servers", "skills", "metadata"];
        for (key, value) in object {
            if !MODELLED.contains(&key.as_str()) && !RESPONSE_ONLY.contains(&key.as_str()) && !value.is_null() {
                draft.extra.insert(key.clone(), value.clone());
            }
        }
        Ok(draft)
    }
}

impl AgentDraft {
    /// Reads `tools` into the form: the built-in toolset and custom tools directly, MCP toolsets
    /// by their server's name for [`McpServerDraft::from_toolset`].
    fn read_tools(&mut self, tools: Option<&Value>) -> Result<Map<String, Value>, DraftError> {
        let mut toolsets = Map::new();
        let tools = match tools {
            None | Some(Value::Null) => return Ok(toolsets),
            Some(Value::Array(tools)) => tools,
            Some(_) => return Err(DraftError::new("tools", "\"tools\" must be a list.")),
        };
        for tool in tools {
            match tool.get("type").and_then(Value::as_str) {
                Some("agent_toolset_20260401") => self.builtin = Some(builtin_from(tool)?),
                Some("mcp_toolset") => {
                    let name = tool.get("mcp_server_name").and_then(Value::as_str).unwrap_or_default();
                    toolsets.insert(name.to_owned(), tool.clone());
                }
                Some("custom") => self.custom_tools.push(CustomToolDraft {
                    name: tool.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    description: tool.get("description").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    input_schema: tool
                        .get("input_schema")
                        .map(|s| serde_json::to_string_pretty(s).unwrap_or_default())
                        .unwrap_or_default(),
                }),
                // A string's `{:?}` (its quotes) is hand-written Debug, which the bundle keeps;
                // an Option's is derived, which the bundle prints as its type's name only.
                Some(other) => {
                    return Err(DraftError::new(
                        "tools",
                        format!("The form cannot show a tool of type {other:?}; edit it in the raw JSON only."),
                    ));
                }
                None => {
                    return Err(DraftError::new(
                        "tools",
                        "The form cannot show a tool without a \"type\"; edit it in the raw JSON only.",
                    ));
                }
            }
        }
        Ok(toolsets)
    }
}

/// `model` as the form shows it: the id, and the rest of a model object kept as it was.
fn model_from(model: Option<&Value>) -> Result<(String, Map<String, Value>), DraftError> {
    match model {
        Some(Value::String(id)) => Ok((id.clone(), Map::new())),
        Some(Value::Object(model)) => {
            let mut extra = model.clone();
            let id = extra.remove("id").and_then(|id| id.as_str().map(str::to_owned)).unwrap_or_default();
            Ok((id, extra))
        }
        None | Some(Value::Null) => Ok((String::new(), Map::new())),
        Some(_) => Err(DraftError::new("model", "\"model\" must be a model id or an object with an \"id\".")),
    }
}

/// The (name, url) of each of `mcp_servers`.
fn servers_from(servers: Option<&Value>) -> Result<Vec<(String, String)>, DraftError> {
    match servers {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|s| match (s.get("name").and_then(Value::as_str), s.get("url").and_then(Value::as_str)) {
                (Some(name), Some(url)) => Ok((name.to_owned(), url.to_owned())),
                _ => Err(DraftError::new("mcp_servers", "Each MCP server needs a \"name\" and a \"url\".")),
            })
            .collect(),
        Some(_) => Err(DraftError::new("mcp_servers", "\"mcp_servers\" must be a list.")),
    }
}

/// `metadata` as the form's list of pairs; every value must be a string.
fn metadata_from(metadata: Option<&Value>) -> Result<Vec<(String, String)>, DraftError> {
    match metadata {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v.as_str() {
                Some(v) => Ok((k.clone(), v.to_owned())),
                None => Err(DraftError::new("metadata", format!("metadata {k:?}: values must be strings."))),
            })
            .collect(),
        Some(_) => Err(DraftError::new("metadata", "\"metadata\" must be an object of strings.")),
    }
}

impl BuiltinToolset {
    /// The `agent_toolset_20260401` entry of `tools`: only the tools that differ from the
    /// default get a config.
    fn to_tool(&self) -> Value {
        let configs: Vec<Value> = self
            .tools
            .iter()
            .filter(|t| !t.enabled || t.policy.is_some() || !t.extra.is_empty())
            .map(|t| {
                let mut config = t.extra.clone();
                config.insert("name".into(), json!(t.name));
                config.insert("enabled".into(), json!(t.enabled));
                if let Some(policy) = &t.policy {
                    config.insert("permission_policy".into(), json!({ "type": policy }));
                }
                Value::Object(config)
            })
            .collect();
        let mut toolset = json!({
            "type": "agent_toolset_20260401",
            "default_config": { "enabled": true, "permission_policy": { "type": self.default_policy } },
        });
        if !configs.is_empty() {
            toolset["configs"] = Value::Array(configs);
        }
        toolset
    }
}

impl McpServerDraft {
    /// A server of `mcp_servers` with its `mcp_toolset` (if `tools` has one): the policy shown,
    /// the rest of the toolset kept as it was.
    fn from_toolset(name: String, url: String, toolset: Option<Value>) -> Self {
        let mut extra = toolset.and_then(|t| t.as_object().cloned()).unwrap_or_default();
        let policy = extra
            .get("default_config")
            .and_then(|c| c.get("permission_policy"))
            .and_then(|p| p.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("always_ask")
            .to_owned();
        for key in ["type", "mcp_server_name"] {
            extra.remove(key);
        }
        if let Some(default) = extra.get_mut("default_config").and_then(Value::as_object_mut) {
            default.remove("permission_policy");
        }
        let tools = match extra.remove("configs") {
            Some(Value::Array(configs)) => configs.iter().map(McpToolDraft::from_config).collect(),
            _ => Vec::new(),
        };
        Self { name, url, policy, tools, extra }
    }

    /// The `mcp_toolset` entry of `tools` for the `i`-th server, checked.
    fn to_toolset(&self, i: usize) -> Result<Value, DraftError> {
        let field = format!("mcp_servers.{i}");
        if self.name.trim().is_empty() {
            return Err(DraftError::new(field, format!("MCP server {} needs a name.", i + 1)));
        }
        if !(self.url.starts_with("https://") || self.url.starts_with("http://")) {
            return Err(DraftError::new(
                field,
                format!("MCP server {:?} needs a URL starting with https://.", self.name.trim()),
            ));
        }
        let mut toolset = self.extra.clone();
        toolset.insert("type".into(), json!("mcp_toolset"));
        toolset.insert("mcp_server_name".into(), json!(self.name.trim()));
        // The rest of `default_config` (e.g. `enabled`) is kept as it was.
        let mut default = toolset.get("default_config").and_then(Value::as_object).cloned().unwrap_or_default();
        default.insert("permission_policy".into(), json!({ "type": self.policy }));
        toolset.insert("default_config".into(), Value::Object(default));
        let mut configs = Vec::with_capacity(self.tools.len());
        for (j, tool) in self.tools.iter().enumerate() {
            let tool_name = tool.name.trim();
            if tool_name.is_empty() || tool_name.chars().count() > 128 {
                return Err(DraftError::new(
                    format!("{field}.tools.{j}"),
                    format!("Tool {} of MCP server {:?} needs a name of 1–128 characters.", j + 1, self.name.trim()),
                ));
            }
            if self.tools[..j].iter().any(|t| t.name.trim() == tool_name) {
                return Err(DraftError::new(
                    format!("{field}.tools.{j}"),
                    format!("MCP server {:?} lists the tool {tool_name:?} twice.", self.name.trim()),
                ));
            }
            let mut config = json!({ "name": tool_name, "enabled": tool.enabled });
            if let Some(policy) = &tool.policy {
                config["permission_policy"] = json!({ "type": policy });
            }
            configs.push(config);
        }
        if !configs.is_empty() {
            toolset.insert("configs".into(), Value::Array(configs));
        }
        Ok(Value::Object(toolset))
    }
}

impl McpToolDraft {
    /// A tool's settings from its entry of an `mcp_toolset`'s `configs`.
    fn from_config(config: &Value) -> Self {
        Self {
            name: config.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
            enabled: config.get("enabled").and_then(Value::as_bool).unwrap_or(true),
            policy: config
                .get("permission_policy")
                .and_then(|p| p.get("type"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }
}

impl CustomToolDraft {
    /// The `custom` entry of `tools` for the `i`-th custom tool, checked.
    fn to_tool(&self, i: usize) -> Result<Value, DraftError> {
        let field = format!("custom_tools.{i}");
        let label = if self.name.is_empty() {
            format!("Custom tool {}", i + 1)
        } else {
            format!("Custom tool {:?}", self.name)
        };
        if self.name.is_empty()
            || self.name.len() > 128
            || !self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(DraftError::new(field, format!("{label}: the name must be 1–128 letters, digits, _ or -.")));
        }
        if self.description.trim().is_empty() {
            return Err(DraftError::new(field, format!("{label}: describe when the model should call it.")));
        }
        let schema = input_schema(&self.input_schema).map_err(|m| DraftError::new(field, format!("{label}: {m}")))?;
        Ok(json!({ "type": "custom", "name": self.name, "description": self.description, "input_schema": schema }))
    }
}

impl SkillDraft {
    fn from_entry(skill: &Value) -> Self {
        let text = |key: &str| skill.get(key).and_then(Value::as_str);
        Self {
            kind: text("type").unwrap_or("anthropic").to_owned(),
            skill_id: text("skill_id").unwrap_or_default().to_owned(),
            version: text("version").unwrap_or_default().to_owned(),
        }
    }

    /// The `i`-th entry of `skills`, checked.
    fn to_entry(&self, i: usize) -> Result<Value, DraftError> {
        if self.skill_id.trim().is_empty() {
            return Err(DraftError::new(format!("skills.{i}"), format!("Skill {} needs an id.", i + 1)));
        }
        let mut entry = json!({ "type": self.kind, "skill_id": self.skill_id.trim() });
        if !self.version.trim().is_empty() {
            entry["version"] = json!(self.version.trim());
        }
        Ok(entry)
    }
}

fn builtin_from(tool: &Value) -> Result<BuiltinToolset, DraftError> {
    let mut toolset = BuiltinToolset::all_enabled();
    let default = tool.get("default_config");
    if let Some(policy) =
        default.and_then(|c| c.get("permission_policy")).and_then(|p| p.get("type")).and_then(Value::as_str)
    {
        toolset.default_policy = policy.to_owned();
    }
    let default_enabled = default.and_then(|c| c.get("enabled")).and_then(Value::as_bool).unwrap_or(true);
    for row in &mut toolset.tools {
        row.enabled = default_enabled;
    }
    for config in tool.get("configs").and_then(Value::as_array).into_iter().flatten() {
        let Some(mut config) = config.as_object().cloned() else { continue };
        let name = config.remove("name").and_then(|n| n.as_str().map(str::to_owned)).unwrap_or_default();
        let Some(row) = toolset.tools.iter_mut().find(|t| t.name == name) else {
            return Err(DraftError::new("tools", format!("The built-in toolset has no tool named {name:?}.")));
        };
        if let Some(enabled) = config.remove("enabled").and_then(|e| e.as_bool()) {
            row.enabled = enabled;
        }
        let policy = config.remove("permission_policy");
        // A response echoes the resolved policy of every tool; only a differing one is an override.
        row.policy = policy
            .as_ref()
            .and_then(|p| p.get("type"))
            .and_then(Value::as_str)
            .filter(|p| *p != toolset.default_policy)
            .map(str::to_owned);
        config.remove("type");
        row.extra = config;
    }
    Ok(toolset)
}

/// Why a custom tool's input schema is not one the API takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaProblem {
    #[error("the input schema is not valid JSON (line {line}, column {column}).")]
    NotJson { line: usize, column: usize },
    #[error("the input schema must be a JSON object.")]
    NotAnObject,
    #[error("the input schema's \"properties\" must be an object.")]
    PropertiesNotAnObject,
    #[error("the input schema must describe an object (\"type\": \"object\"), not {0:?}.")]
    OtherType(String),
    #[error("the input schema needs \"type\": \"object\".")]
    NoType,
}

/// A custom tool's input schema: a JSON object schema (`"type": "object"`).
pub fn input_schema(text: &str) -> Result<Value, SchemaProblem> {
    if text.trim().is_empty() {
        return Ok(json!({ "type": "object", "properties": {} }));
    }
    let schema: Value =
        serde_json::from_str(text).map_err(|e| SchemaProblem::NotJson { line: e.line(), column: e.column() })?;
    match schema.get("type").and_then(Value::as_str) {
        _ if !schema.is_object() => Err(SchemaProblem::NotAnObject),
        Some("object") => match schema.get("properties") {
            None | Some(Value::Object(_)) => Ok(schema),
            Some(_) => Err(SchemaProblem::PropertiesNotAnObject),
        },
        Some(other) => Err(SchemaProblem::OtherType(other.to_owned())),
        None => Err(SchemaProblem::NoType),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_agent_becomes_the_minimal_request_with_every_tool_on() {
        let mut draft = AgentDraft::new_agent();
        draft.name = "Reviewer".into();
        assert_eq!(draft.to_request().unwrap_err().field, "model", "no model until one is chosen");
        draft.model = "claude-opus-5".into();
        let body = draft.to_request().unwrap();
        assert_eq!(body["name"], "Reviewer");
        assert_eq!(body["model"], "claude-opus-5");
        assert_eq!(body["tools"][0]["type"], "agent_toolset_20260401");
        assert!(
            body["tools"][0].get("configs").is_none(),
            "no overrides when every tool is on with the default policy"
        );
    }

    #[test]
    fn the_form_and_the_raw_json_round_trip_without_losing_unmodelled_parts() {
        let raw = json!({
            "name": "Ops", "model": {"id": "claude-opus-4-1", "effort": "low"}, "system": "Be careful.",
            "tools": [
                {"type": "agent_toolset_20260401", "default_config": {"enabled": true, "permission_policy": {"type": "always_ask"}},
                 "configs": [{"name": "bash", "enabled": false}, {"name": "web_fetch", "enabled": true, "allowed_domains": ["example.com"]}]},
                {"type": "mcp_toolset", "mcp_server_name": "docs", "default_config": {"enabled": false, "permission_policy": {"type": "always_allow"}},
                 "configs": [{"name": "search", "enabled": true, "permission_policy": {"type": "always_ask"}}, {"name": "delete_page", "enabled": false}]},
                {"type": "custom", "name": "lookup", "description": "Look up an order", "input_schema": {"type": "object", "properties": {"id": {"type": "string"}}}}
            ],
            "mcp_servers": [{"type": "url", "name": "docs", "url": "https://mcp.example.com"}],
            "skills": [{"type": "anthropic", "skill_id": "xlsx"}],
            "metadata": {"team": "ops"},
            "multiagent": {"type": "coordinator", "agents": []}
        });
        let draft = AgentDraft::from_request(&raw).unwrap();
        assert_eq!(draft.builtin.as_ref().unwrap().default_policy, "always_ask");
        assert!(!draft.builtin.as_ref().unwrap().tools[0].enabled, "bash is off");
        let again = draft.to_request().unwrap();
        assert_eq!(again["model"], json!({"id": "claude-opus-4-1", "effort": "low"}));
        assert_eq!(again["multiagent"], raw["multiagent"], "a part the form does not model is kept");
        let configs = again["tools"][0]["configs"].as_array().unwrap();
        assert!(configs.iter().any(|c| c["name"] == "web_fetch" && c["allowed_domains"] == json!(["example.com"])));
        assert_eq!(again["tools"][1]["default_config"]["permission_policy"]["type"], "always_allow");
        assert_eq!(again["tools"][1]["default_config"]["enabled"], false, "a disabled MCP toolset stays disabled");
        let mcp = &draft.mcp_servers[0];
        assert_eq!(
            mcp.tools,
            [
                McpToolDraft { name: "search".into(), enabled: true, policy: Some("always_ask".into()) },
                McpToolDraft { name: "delete_page".into(), enabled: false, policy: None },
            ],
            "each tool's own settings are in the form"
        );
        assert_eq!(again["tools"][1]["configs"], raw["tools"][1]["configs"]);
        assert_eq!(again["tools"][2]["input_schema"]["properties"]["id"]["type"], "string");
        assert_eq!(AgentDraft::from_request(&again).unwrap(), draft, "a second round trip changes nothing");
    }

    #[test]
    fn a_tool_the_form_cannot_show_is_named_in_the_message() {
        let raw = json!({"name": "x", "model": "scripted", "tools": [{"type": "web_search_2026"}]});
        let error = AgentDraft::from_request(&raw).unwrap_err();
        assert_eq!(error.field, "tools");
        assert!(error.message.contains("a tool of type \"web_search_2026\";"), "{}", error.message);
        let raw = json!({"name": "x", "model": "scripted", "tools": [{"name": "untyped"}]});
        let error = AgentDraft::from_request(&raw).unwrap_err();
        assert!(error.message.contains("without a \"type\""), "{}", error.message);
    }

    #[test]
    fn an_mcp_tool_needs_a_name_once() {
        let mut draft = AgentDraft::new_agent();
        draft.name = "x".into();
        draft.model = "scripted".into();
        let tool = |name: &str| McpToolDraft { name: name.into(), enabled: true, policy: None };
        draft.mcp_servers.push(McpServerDraft {
            name: "docs".into(),
            url: "https://mcp.example.com".into(),
            policy: "always_ask".into(),
            tools: vec![tool("search"), tool(" ")],
            ..Default::default()
        });
        let error = draft.to_request().unwrap_err();
        assert_eq!(error.field, "mcp_servers.0.tools.1");
        assert!(error.message.contains("needs a name"), "{}", error.message);
        draft.mcp_servers[0].tools[1] = tool("search");
        assert!(draft.to_request().unwrap_err().message.contains("lists the tool \"search\" twice"));
    }

    #[test]
    fn a_custom_tool_schema_must_be_an_object_schema() {
        let mut draft = AgentDraft::new_agent();
        draft.name = "x".into();
        draft.model = "scripted".into();
        draft.custom_tools.push(CustomToolDraft {
            name: "t".into(),
            description: "d".into(),
            input_schema: r#"{"type": "string"}"#.into(),
        });
        let error = draft.to_request().unwrap_err();
        assert_eq!(error.field, "custom_tools.0");
        assert!(error.message.contains("describe an object"), "{}", error.message);
        draft.custom_tools[0].input_schema = "{\"type\": ".into();
        assert!(draft.to_request().unwrap_err().message.contains("not valid JSON"));
        draft.custom_tools[0].input_schema = r#"{"type": "object"}"#.into();
        assert!(draft.to_request().is_ok());
    }

    #[test]
    fn metadata_over_the_api_limits_is_refused_before_sending() {
        let mut draft = AgentDraft::new_agent();
        draft.name = "x".into();
        draft.model = "scripted".into();
        draft.metadata = (0..17).map(|i| (format!("k{i}"), "v".into())).collect();
        assert!(draft.to_request().unwrap_err().message.contains("16"));
        draft.metadata = vec![("k".into(), "v".repeat(513))];
        assert!(draft.to_request().unwrap_err().message.contains("512"));
    }

    #[test]
    fn an_api_response_reads_back_as_the_form_it_came_from() {
        // What the engine returns for the new-agent request: every tool echoed with its policy.
        let response = json!({
            "id": "agent_1", "type": "agent", "version": 2, "name": "A", "model": {"id": "m"},
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "archived_at": null,
            "execution_identity": {"type": "service_account"}, "system": null, "description": null,
            "tools": [{"type": "agent_toolset_20260401", "default_config": {"enabled": true, "permission_policy": {"type": "always_allow"}},
                       "configs": BUILTIN_TOOLS.iter().map(|n| json!({"name": n, "enabled": true, "permission_policy": {"type": "always_allow"}})).collect::<Vec<_>>()}],
            "mcp_servers": [], "skills": [], "metadata": {}
        });
        let draft = AgentDraft::from_request(&response).unwrap();
        let carried: Vec<&String> = draft.extra.keys().collect();
        assert_eq!(
            carried,
            ["execution_identity"],
            "response-only fields are not carried into a request; request fields are"
        );
        assert_eq!(draft.builtin, Some(BuiltinToolset::all_enabled()));
        assert_eq!(draft.model, "m");
    }
}
