//! Turns the request forms of an agent definition into the resolved forms the API returns, and
//! checks the rules the API enforces on them.

use std::collections::BTreeSet;

use protocol::{
    agents::{
        AgentToolConfig, AgentToolConfigParams, AgentToolset, AgentToolsetParams, BuiltinToolConfig, Effort,
        EffortParam, McpServer, McpToolConfig, McpToolset, McpToolsetParams, ModelConfig, ModelParam, PermissionPolicy,
        Skill, SkillParams, SkillRef, Speed, Tool, ToolParams, ToolsetDefaultConfig, ToolsetDefaultConfigParams,
        UrlSourceFilter, UrlSourceFilterParam, UrlSources, WebFetchToolConfig, WebSearchToolConfig,
    },
    common::{Empty, Metadata, MetadataPatch},
};

use crate::{
    error::{ApiError, ApiResult},
    script::{BUILTIN_TOOLS, SCRIPTED_MODEL, Script},
};

pub fn model(param: &ModelParam) -> ApiResult<ModelConfig> {
    let (id, effort, speed, geo) = match param {
        ModelParam::Id(id) => (id.clone(), None, None, None),
        ModelParam::Config(config) => {
            (config.id.clone(), config.effort.clone(), config.speed.clone(), config.inference_geo.clone())
        }
    };
    if id.trim().is_empty() {
        return Err(ApiError::invalid("model: the model id must not be empty."));
    }
    let effort = match effort {
        None => Effort::High(Empty {}),
        Some(EffortParam::Object(Effort::Unknown(value))) => {
            return Err(ApiError::invalid(format!(
                "model.effort: unknown effort {value}; use low, medium, high, xhigh or max."
            )));
        }
        Some(EffortParam::Object(effort)) => effort,
        Some(EffortParam::Level(level)) => match level.as_str() {
            "low" => Effort::Low(Empty {}),
            "medium" => Effort::Medium(Empty {}),
            "high" => Effort::High(Empty {}),
            "xhigh" => Effort::Xhigh(Empty {}),
            "max" => Effort::Max(Empty {}),
            other => {
                return Err(ApiError::invalid(format!(
                    "model.effort: unknown effort {other:?}; use low, medium, high, xhigh or max."
                )));
            }
        },
    };
    let speed = match speed {
        None | Some(Speed::Standard) => Speed::Standard,
        Some(Speed::Fast) => Speed::Fast,
        Some(Speed::Other(other)) => {
            return Err(ApiError::invalid(format!("model.speed: unknown speed {other:?}; use standard or fast.")));
        }
    };
    Ok(ModelConfig { id, effort: Some(effort), inference_geo: geo, speed: Some(speed) })
}

/// A scripted agent's system prompt must be a script that parses.
pub fn check_script(model: &ModelConfig, system: Option<&str>) -> ApiResult<()> {
    if model.id != SCRIPTED_MODEL {
        return Ok(());
    }
    let Some(system) = system else {
        return Err(ApiError::invalid(
            "system: an agent on the scripted model needs its script as the system prompt, e.g. {\"turns\": [[{\"text\": \"Hello\"}]]}.",
        ));
    };
    Script::parse(system)?;
    Ok(())
}

/// The policy given at `at`, or `fallback` when none is.
fn policy_or(given: &Option<PermissionPolicy>, fallback: &PermissionPolicy, at: &str) -> ApiResult<PermissionPolicy> {
    match given {
        None => Ok(fallback.clone()),
        Some(PermissionPolicy::Unknown(value)) => Err(ApiError::invalid(format!(
            "{at}.permission_policy: unknown policy {value}; use always_allow, always_ask or auto."
        ))),
        Some(known) => Ok(known.clone()),
    }
}

/// A toolset's resolved `default_config`: enabled unless said otherwise, `fallback` policy.
fn default_config(
    given: &Option<ToolsetDefaultConfigParams>,
    fallback: PermissionPolicy,
    at: &str,
) -> ApiResult<ToolsetDefaultConfig> {
    let given = given.clone().unwrap_or_default();
    Ok(ToolsetDefaultConfig {
        enabled: given.enabled.unwrap_or(true),
        permission_policy: policy_or(&given.permission_policy, &fallback, &format!("{at}.default_config"))?,
    })
}

pub fn tools(params: &[ToolParams], mcp_servers: &[McpServer]) -> ApiResult<Vec<Tool>> {
    let mut resolved = Vec::with_capacity(params.len());
    let mut custom_names = BTreeSet::new();
    let mut toolset_seen = false;
    let mut counted = 0usize;
    for (i, param) in params.iter().enumerate() {
        let at = format!("tools[{i}]");
        match param {
            ToolParams::AgentToolset(toolset) => {
                if toolset_seen {
                    return Err(ApiError::invalid(format!("{at}: the built-in toolset may appear only once.")));
                }
                toolset_seen = true;
                counted += BUILTIN_TOOLS.len();
                resolved.push(Tool::AgentToolset(agent_toolset(toolset, &at)?));
            }
            ToolParams::McpToolset(toolset) => {
                counted += toolset.configs.as_ref().map_or(1, Vec::len);
                resolved.push(Tool::McpToolset(mcp_toolset(toolset, &at)?));
            }
            ToolParams::Custom(tool) => {
                let valid = !tool.name.is_empty()
                    && tool.name.len() <= 128
                    && tool.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !valid {
                    return Err(ApiError::invalid(format!(
                        "{at}.name: {:?} must be 1–128 characters of letters, digits, _ and -.",
                        tool.name
                    )));
                }
                if !custom_names.insert(tool.name.clone()) {
                    return Err(ApiError::invalid(format!("{at}.name: two custom tools are named {:?}.", tool.name)));
                }
                counted += 1;
                resolved.push(Tool::Custom(tool.clone()));
            }
            ToolParams::Unknown(value) => {
                return Err(ApiError::invalid(format!(
                    "{at}.type: unknown tool type {}; use agent_toolset_20260401, mcp_toolset or custom.",
                    value.get("type").unwrap_or(&serde_json::Value::Null)
                )));
            }
        }
    }
    if counted > 256 {
        return Err(ApiError::invalid("tools: at most 256 tools across all toolsets."));
    }
    check_mcp_references(&resolved, mcp_servers)?;
    Ok(resolved)
}

/// Every MCP toolset names a server of `mcp_servers`, and every server is used by a toolset.
pub fn check_mcp_references(tools: &[Tool], mcp_servers: &[McpServer]) -> ApiResult<()> {
    for (i, tool) in tools.iter().enumerate() {
        if let Tool::McpToolset(toolset) = tool
            && !mcp_servers.iter().any(|s| s.name == toolset.mcp_server_name)
        {
            return Err(ApiError::invalid(format!(
                "tools[{i}].mcp_server_name: {:?} is not the name of a server in mcp_servers.",
                toolset.mcp_server_name
            )));
        }
    }
    for server in mcp_servers {
        let used = tools.iter().any(|t| matches!(t, Tool::McpToolset(m) if m.mcp_server_name == server.name));
        if !used {
            return Err(ApiError::invalid(format!(
                "mcp_servers: server {:?} is not used by any mcp_toolset in tools; add one or remove the server.",
                server.name
            )));
        }
    }
    Ok(())
}

pub fn mcp_servers(servers: &[McpServer]) -> ApiResult<()> {
    if servers.len() > 20 {
        return Err(ApiError::invalid("mcp_servers: at most 20 servers."));
    }
    let mut names = BTreeSet::new();
    for (i, server) in servers.iter().enumerate() {
        if server.name.is_empty() || server.name.len() > 255 {
            return Err(ApiError::invalid(format!("mcp_servers[{i}].name must be 1–255 characters.")));
        }
        if !names.insert(&server.name) {
            return Err(ApiError::invalid(format!("mcp_servers[{i}].name: {:?} is used twice.", server.name)));
        }
        if !(server.url.starts_with("https://") || server.url.starts_with("http://")) {
            return Err(ApiError::invalid(format!("mcp_servers[{i}].url must be an http(s) URL.")));
        }
    }
    Ok(())
}

fn agent_toolset(params: &AgentToolsetParams, at: &str) -> ApiResult<AgentToolset> {
    let default = default_config(&params.default_config, PermissionPolicy::AlwaysAllow(Empty {}), at)?;
    let overrides = params.configs.clone().unwrap_or_default();
    for (i, config) in overrides.iter().enumerate() {
        if !BUILTIN_TOOLS.contains(&config.name.as_str()) {
            return Err(ApiError::invalid(format!(
                "{at}.configs[{i}].name: {:?} is not a built-in tool ({}).",
                config.name,
                BUILTIN_TOOLS.join(", ")
            )));
        }
        if config.r#type.as_ref().is_some_and(|t| *t != config.name) {
            return Err(ApiError::invalid(format!("{at}.configs[{i}].type must equal its name.")));
        }
        if overrides[..i].iter().any(|o| o.name == config.name) {
            return Err(ApiError::invalid(format!("{at}.configs: {:?} is configured twice.", config.name)));
        }
    }
    let mut configs = Vec::with_capacity(BUILTIN_TOOLS.len());
    for name in BUILTIN_TOOLS {
        let found = overrides
            .iter()
            .find(|c| c.name == name)
            .cloned()
            .unwrap_or(AgentToolConfigParams { name: name.to_owned(), ..Default::default() });
        let enabled = found.enabled.unwrap_or(default.enabled);
        let permission_policy =
            policy_or(&found.permission_policy, &default.permission_policy, &format!("{at}.configs.{name}"))?;
        let domains = |allowed: &Option<Vec<String>>, blocked: &Option<Vec<String>>| -> ApiResult<()> {
            if allowed.is_some() && blocked.is_some() {
                return Err(ApiError::invalid(format!(
                    "{at}.configs.{name}: give allowed_domains or blocked_domains, not both."
                )));
            }
            for list in [allowed, blocked].into_iter().flatten() {
                if list.is_empty() || list.len() > 64 {
                    return Err(ApiError::invalid(format!("{at}.configs.{name}: a domain list needs 1–64 entries.")));
                }
            }
            Ok(())
        };
        let basic = BuiltinToolConfig { enabled, name: name.to_owned(), permission_policy: permission_policy.clone() };
        configs.push(match name {
            "bash" => AgentToolConfig::Bash(basic),
            "read" => AgentToolConfig::Read(basic),
            "write" => AgentToolConfig::Write(basic),
            "edit" => AgentToolConfig::Edit(basic),
            "glob" => AgentToolConfig::Glob(basic),
            "grep" => AgentToolConfig::Grep(basic),
            "web_fetch" => {
                domains(&found.allowed_domains, &found.blocked_domains)?;
                AgentToolConfig::WebFetch(WebFetchToolConfig {
                    enabled,
                    name: name.to_owned(),
                    permission_policy,
                    url_sources: found.url_sources.as_ref().map(|s| url_sources(s, at)).transpose()?,
                    allowed_domains: found.allowed_domains.clone(),
                    blocked_domains: found.blocked_domains.clone(),
                    max_content_tokens: found.max_content_tokens,
                })
            }
            _ => {
                domains(&found.allowed_domains, &found.blocked_domains)?;
                AgentToolConfig::WebSearch(WebSearchToolConfig {
                    enabled,
                    name: name.to_owned(),
                    permission_policy,
                    allowed_domains: found.allowed_domains.clone(),
                    blocked_domains: found.blocked_domains.clone(),
                    user_location: found.user_location.clone(),
                })
            }
        });
    }
    Ok(AgentToolset { configs, default_config: default })
}

fn url_sources(params: &protocol::agents::UrlSourcesParams, at: &str) -> ApiResult<UrlSources> {
    let one = |filter: &Option<UrlSourceFilterParam>| -> ApiResult<Option<UrlSourceFilter>> {
        Ok(match filter {
            None => None,
            Some(UrlSourceFilterParam::Shorthand(s)) if s == "all" => Some(UrlSourceFilter::All(Empty {})),
            Some(UrlSourceFilterParam::Shorthand(s)) if s == "none" => Some(UrlSourceFilter::None(Empty {})),
            Some(UrlSourceFilterParam::Shorthand(s)) => {
                return Err(ApiError::invalid(format!("{at}: url source {s:?} must be \"all\" or \"none\".")));
            }
            Some(UrlSourceFilterParam::Filter(UrlSourceFilter::Unknown(v))) => {
                return Err(ApiError::invalid(format!("{at}: unknown url source filter {v}.")));
            }
            Some(UrlSourceFilterParam::Filter(f)) => Some(f.clone()),
        })
    };
    let sources = UrlSources {
        client_tool_results: one(&params.client_tool_results)?,
        server_tool_results: one(&params.server_tool_results)?,
        user_input: one(&params.user_input)?,
    };
    let none = |f: &Option<UrlSourceFilter>| matches!(f, Some(UrlSourceFilter::None(_)));
    if none(&sources.client_tool_results) && none(&sources.server_tool_results) && none(&sources.user_input) {
        return Err(ApiError::invalid(format!("{at}: url_sources cannot set every source to none.")));
    }
    Ok(sources)
}

fn mcp_toolset(params: &McpToolsetParams, at: &str) -> ApiResult<McpToolset> {
    let default = default_config(&params.default_config, PermissionPolicy::AlwaysAsk(Empty {}), at)?;
    let mut configs = Vec::new();
    for (i, config) in params.configs.clone().unwrap_or_default().into_iter().enumerate() {
        if config.name.is_empty() || config.name.len() > 128 {
            return Err(ApiError::invalid(format!("{at}.configs[{i}].name must be 1–128 characters.")));
        }
        configs.push(McpToolConfig {
            enabled: config.enabled.unwrap_or(default.enabled),
            permission_policy: policy_or(
                &config.permission_policy,
                &default.permission_policy,
                &format!("{at}.configs[{i}]"),
            )?,
            name: config.name,
        });
    }
    Ok(McpToolset { configs, default_config: default, mcp_server_name: params.mcp_server_name.clone() })
}

pub fn skills(params: &[SkillParams]) -> ApiResult<Vec<Skill>> {
    params
        .iter()
        .enumerate()
        .map(|(i, skill)| {
            let reference = |r: &protocol::agents::SkillRefParams| SkillRef {
                skill_id: r.skill_id.clone(),
                version: r.version.clone().unwrap_or_else(|| "latest".to_owned()),
            };
            match skill {
                SkillParams::Anthropic(r) => Ok(Skill::Anthropic(reference(r))),
                SkillParams::Custom(r) => Ok(Skill::Custom(reference(r))),
                SkillParams::Unknown(v) => Err(ApiError::invalid(format!("skills[{i}]: unknown skill type {v}."))),
            }
        })
        .collect()
}

pub fn metadata(metadata: &Metadata) -> ApiResult<()> {
    if metadata.len() > 16 {
        return Err(ApiError::invalid("metadata: at most 16 pairs.").with_code("invalid_metadata"));
    }
    for (key, value) in metadata {
        if key.is_empty() || key.chars().count() > 64 {
            return Err(ApiError::invalid(format!("metadata: key {key:?} must be 1–64 characters."))
                .with_code("invalid_metadata"));
        }
        if value.chars().count() > 512 {
            return Err(ApiError::invalid(format!("metadata: the value of {key:?} is longer than 512 characters."))
                .with_code("invalid_metadata"));
        }
    }
    Ok(())
}

/// Applies a metadata patch: a string upserts, `null` deletes (and, where `empty_deletes`, `""`).
pub fn patch_metadata(current: &mut Metadata, patch: &MetadataPatch, empty_deletes: bool) -> ApiResult<()> {
    for (key, value) in patch {
        match value {
            Some(v) if !(empty_deletes && v.is_empty()) => {
                current.insert(key.clone(), v.clone());
            }
            _ => {
                current.remove(key);
            }
        }
    }
    metadata(current)
}

pub fn name(name: &str, at: &str) -> ApiResult<()> {
    if name.trim().is_empty() || name.chars().count() > 256 {
        return Err(ApiError::invalid(format!("{at}: the name must be 1–256 characters and not blank.")));
    }
    Ok(())
}
