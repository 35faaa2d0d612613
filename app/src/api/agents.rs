//! Agents: list, read, versions, diff, create, update (optimistic concurrency), archive.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;
use protocol::{agents::Agent, common::Page};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use domain::agents::McpToolChoice;
#[cfg(feature = "ssr")]
pub use domain::agents::mcp_tools;

#[cfg(feature = "ssr")]
use super::server::{
    Kind, archive, clear_what_was_removed, list_archivable, paging, parse_json, segment, upstream, walk,
};
use super::{Choice, JsonResponse, diff::DiffLine};
use crate::error::AppError;

/// One agent (or one version of it) as the lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRow {
    pub id: String,
    pub name: String,
    pub model: String,
    /// "8 built-in, 1 MCP server, 2 custom".
    pub tools: String,
    pub version: u64,
    pub updated_at: String,
    pub archived: bool,
    /// Who made it through Switchboard (none: made elsewhere, or before it kept the record).
    #[serde(default)]
    pub created_by: Option<domain::creators::Creator>,
}

/// The agent page's view: the row plus what the page's facts show, and the whole definition as
/// pretty-printed JSON. The typed `Agent` stays on the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentView {
    pub row: AgentRow,
    pub description: Option<String>,
    pub system: Option<String>,
    /// "name (url), …", or "none".
    pub mcp_servers: String,
    pub skills: usize,
    pub json: String,
}

impl AgentRow {
    pub fn of(agent: &Agent) -> Self {
        Self {
            id: agent.id.clone(),
            name: agent.name.clone(),
            model: agent.model.id.clone(),
            tools: tools_summary(agent),
            version: agent.version,
            updated_at: agent.updated_at.clone(),
            archived: agent.archived_at.is_some(),
            created_by: None,
        }
    }
}

impl AgentView {
    pub fn of(agent: &Agent) -> Self {
        Self {
            row: AgentRow::of(agent),
            description: agent.description.clone(),
            system: agent.system.clone(),
            mcp_servers: if agent.mcp_servers.is_empty() {
                "none".to_owned()
            } else {
                agent.mcp_servers.iter().map(|s| format!("{} ({})", s.name, s.url)).collect::<Vec<_>>().join(", ")
            },
            skills: agent.skills.len(),
            json: serde_json::to_string_pretty(agent).unwrap_or_default(),
        }
    }
}

/// "8 built-in, 1 MCP server, 2 custom": what an agent can do, in a few words.
fn tools_summary(agent: &Agent) -> String {
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

/// An agent as the editor needs it: the definition as the API returned it (the draft reads it as
/// JSON, like the Raw JSON tab), and the id, name and version the page shows. The editor never
/// decodes the typed `Agent`, which keeps that decoder out of the editor's part of the bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentDefinition {
    pub id: String,
    pub name: String,
    pub version: u64,
    pub definition: Value,
}

impl AgentDefinition {
    /// An agent as the API returned it.
    pub fn of(definition: Value) -> Self {
        let text = |key: &str| definition.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        Self { id: text("id"), name: text("name"), version: definition["version"].as_u64().unwrap_or(0), definition }
    }
}

#[access(Viewer)]
#[server(endpoint = "agents/list", input = GetUrl, output = JsonResponse)]
pub async fn list_agents(
    include_archived: bool,
    page: Option<String>,
    #[server(default)] mine: bool,
) -> Result<Page<AgentRow>, AppError> {
    list_archivable(("/v1/agents", "Listing agents", Kind::Agent), (include_archived, mine), page, AgentRow::of).await
}

made_by!(AgentRow);

/// Every agent, archived ones too (up to [`MAX_CHOICES`](super::MAX_CHOICES)), as picker options:
/// the sessions list filters by agent, and sessions of archived agents are still listed.
#[access(Viewer)]
#[server(endpoint = "agents/choices", input = GetUrl, output = JsonResponse)]
pub async fn list_agent_choices() -> Result<Vec<Choice>, AppError> {
    let query = vec![("include_archived".to_owned(), "true".to_owned())];
    let agents: Vec<super::server::Listed> = walk("/v1/agents", "Listing agents", query, super::MAX_CHOICES).await?;
    Ok(agents
        .into_iter()
        .map(|a| Choice {
            label: if a.archived_at.is_some() { format!("{} (archived)", a.name) } else { a.name },
            id: a.id,
        })
        .collect())
}

#[access(Viewer)]
#[server(endpoint = "agents/get", input = GetUrl, output = JsonResponse)]
pub async fn get_agent(id: String, version: Option<u64>) -> Result<AgentView, AppError> {
    fetch_agent(&id, version).await.map(|agent: Agent| AgentView::of(&agent))
}

/// The current version of agent `id`, for the editor.
#[access(Viewer)]
#[server(endpoint = "agents/definition", input = GetUrl, output = JsonResponse)]
pub async fn get_agent_definition(id: String) -> Result<AgentDefinition, AppError> {
    fetch_agent(&id, None).await.map(AgentDefinition::of)
}

/// Agent `id`, at `version` or its latest: typed, or as raw JSON (`Value`) so that a diff, a
/// clearing patch or the editor also sees fields this version of the protocol types does not know.
#[cfg(feature = "ssr")]
async fn fetch_agent<T: serde::de::DeserializeOwned>(id: &str, version: Option<u64>) -> Result<T, AppError> {
    let id = segment(id)?;
    let query = version.map(|v| vec![("version".to_owned(), v.to_string())]).unwrap_or_default();
    upstream()?.get(&format!("/v1/agents/{id}"), query).await.map_err(|e| {
        let action = match version {
            Some(v) => format!("Loading version {v} of agent {id}"),
            None => format!("Loading agent {id}"),
        };
        AppError::upstream(&action, e)
    })
}

#[access(Viewer)]
#[server(endpoint = "agents/versions", input = GetUrl, output = JsonResponse)]
pub async fn list_agent_versions(id: String, page: Option<String>) -> Result<Page<AgentRow>, AppError> {
    let id = segment(&id)?;
    upstream()?
        .get(&format!("/v1/agents/{id}/versions"), paging(20, page))
        .await
        .map(|page: Page<Agent>| page.map(|a| AgentRow::of(&a)))
        .map_err(|e| AppError::upstream(&format!("Listing the versions of agent {id}"), e))
}

/// A line diff of two versions' definitions (pretty JSON without the fields every version has).
#[access(Viewer)]
#[server(endpoint = "agents/diff", input = GetUrl, output = JsonResponse)]
pub async fn agent_version_diff(id: String, from: u64, to: u64) -> Result<Vec<DiffLine>, AppError> {
    let (older, newer) =
        futures::try_join!(fetch_agent::<Value>(&id, Some(from)), fetch_agent::<Value>(&id, Some(to)))?;
    Ok(diff_definitions(&older, &newer))
}

#[access(Operator)]
#[server(endpoint = "agents/create", output = JsonResponse)]
pub async fn create_agent(definition: String) -> Result<AgentDefinition, AppError> {
    let body = checked_definition(&definition)?;
    upstream()?
        .post("/v1/agents", &body)
        .await
        .map(AgentDefinition::of)
        .map_err(|e| AppError::upstream("Creating the agent", e))
}

/// Saves `definition` as a new version of agent `id`, based on `version`. When someone saved a
/// newer version in between, fails with a conflict that names it; nothing is overwritten.
#[access(Operator)]
#[server(endpoint = "agents/update", output = JsonResponse)]
pub async fn update_agent(id: String, version: u64, definition: String) -> Result<AgentDefinition, AppError> {
    let id = segment(&id)?;
    let mut body = checked_definition(&definition)?;
    let api = upstream()?;
    // An update keeps what it leaves out and patches metadata: what the form cleared must be
    // sent as `null` to be cleared upstream.
    let based_on: Value = fetch_agent(&id, Some(version)).await?;
    clear_what_was_removed(&mut body, &based_on, &["description", "system", "multiagent"]);
    body["version"] = serde_json::json!(version);
    match api.post(&format!("/v1/agents/{id}"), &body).await {
        Ok(agent) => Ok(AgentDefinition::of(agent)),
        Err(e) => {
            let mut error = AppError::upstream("Saving the agent", e);
            if error.kind == crate::error::ErrorKind::Conflict
                && let Ok(current) = api.get::<Agent>(&format!("/v1/agents/{id}"), vec![]).await
            {
                error.message = format!(
                    "Someone saved version {} of this agent after you opened version {version}. Your changes are still in the form: compare them with version {} and save again.",
                    current.version, current.version
                );
                error.field = Some(format!("version:{}", current.version));
            }
            Err(error)
        }
    }
}

#[access(Admin)]
#[server(endpoint = "agents/archive", output = JsonResponse)]
pub async fn archive_agent(id: String) -> Result<AgentRow, AppError> {
    let id = segment(&id)?;
    archive(&format!("/v1/agents/{id}"), "Archiving the agent", AgentRow::of).await
}

/// The definition from the form or raw editor, checked the way the form checks it.
#[cfg(feature = "ssr")]
fn checked_definition(text: &str) -> Result<serde_json::Value, AppError> {
    let value = parse_json("definition", text)?;
    let draft = crate::drafts::agent::AgentDraft::from_request(&value)?;
    draft.to_request()?;
    Ok(value)
}

/// The parts of two versions that can differ, as pretty JSON lines.
#[cfg(feature = "ssr")]
pub fn diff_definitions(older: &serde_json::Value, newer: &serde_json::Value) -> Vec<DiffLine> {
    let strip = |v: &serde_json::Value| {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            for key in ["id", "type", "version", "created_at", "updated_at", "archived_at"] {
                o.remove(key);
            }
        }
        serde_json::to_string_pretty(&v).unwrap_or_default()
    };
    super::diff::diff_text(&strip(older), &strip(newer))
}

/// The tools the MCP server at `url` lists, asked from Switchboard's host without a credential
/// (a server that demands one does not answer: its tools are typed instead). Where Switchboard
/// may connect is the engine's rule (`SWITCHBOARD_ENGINE_MCP_PRIVATE_HOSTS`): never a cloud
/// metadata service, an internal address only when the operator allows its host.
#[access(Operator)]
#[server(endpoint = "agents/mcp_tools", output = JsonResponse)]
pub async fn list_mcp_tools(url: String) -> Result<Vec<McpToolChoice>, AppError> {
    let url = url.trim().to_owned();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(AppError::bad_input("url", "Give the MCP server's URL, starting with https://."));
    }
    let Some(lister) = use_context::<mcp_tools::McpToolsHandle>() else {
        return Err(AppError::internal("This server cannot read MCP servers' tools."));
    };
    lister.0.list(url).await
}
