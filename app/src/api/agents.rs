//! Agents: list, read, versions, diff, create, update (optimistic concurrency), archive.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use protocol::agents::{Agent, AgentPage};
use serde::{Deserialize, Serialize};

use super::JsonResponse;
#[cfg(feature = "ssr")]
use super::server::{paging, parse_json, respond, segment, upstream};
use crate::error::AppError;

/// An agent as the editor needs it: the definition as the API returned it (the draft reads it as
/// JSON, like the Raw JSON tab), and the id, name and version the page shows. The editor never
/// decodes the typed `Agent`, which keeps that decoder out of the editor's part of the bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentDefinition {
    pub id: String,
    pub name: String,
    pub version: u64,
    pub definition: serde_json::Value,
}

impl AgentDefinition {
    pub fn of(agent: &Agent) -> Self {
        Self {
            id: agent.id.clone(),
            name: agent.name.clone(),
            version: agent.version,
            definition: serde_json::to_value(agent).unwrap_or_default(),
        }
    }
}

/// One line of a diff between two versions' definitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    /// `' '`, `'-'` (only in the older version), `'+'` (only in the newer), or `'…'` (unchanged
    /// lines left out).
    pub sign: char,
    pub text: String,
}

#[server(endpoint = "agents/list", input = GetUrl, output = JsonResponse)]
pub async fn list_agents(include_archived: bool, page: Option<String>) -> Result<AgentPage, AppError> {
    respond(async {
        let mut query = paging(20, page);
        query.push(("include_archived".into(), include_archived.to_string()));
        upstream()?.get("/v1/agents", query).await.map_err(|e| AppError::upstream("Listing agents", e))
    })
    .await
}

#[server(endpoint = "agents/get", input = GetUrl, output = JsonResponse)]
pub async fn get_agent(id: String, version: Option<u64>) -> Result<Agent, AppError> {
    respond(async {
        let id = segment(&id)?;
        let query = version.map(|v| vec![("version".to_owned(), v.to_string())]).unwrap_or_default();
        upstream()?
            .get(&format!("/v1/agents/{id}"), query)
            .await
            .map_err(|e| AppError::upstream(&format!("Loading agent {id}"), e))
    })
    .await
}

/// The current version of agent `id`, for the editor.
#[server(endpoint = "agents/definition", input = GetUrl, output = JsonResponse)]
pub async fn get_agent_definition(id: String) -> Result<AgentDefinition, AppError> {
    get_agent(id, None).await.map(|agent| AgentDefinition::of(&agent))
}

#[server(endpoint = "agents/versions", input = GetUrl, output = JsonResponse)]
pub async fn list_agent_versions(id: String, page: Option<String>) -> Result<AgentPage, AppError> {
    respond(async {
        let id = segment(&id)?;
        upstream()?
            .get(&format!("/v1/agents/{id}/versions"), paging(20, page))
            .await
            .map_err(|e| AppError::upstream(&format!("Listing the versions of agent {id}"), e))
    })
    .await
}

/// A line diff of two versions' definitions (pretty JSON without the fields every version has).
#[server(endpoint = "agents/diff", input = GetUrl, output = JsonResponse)]
pub async fn agent_version_diff(id: String, from: u64, to: u64) -> Result<Vec<DiffLine>, AppError> {
    respond(async move {
        let (older, newer) = futures::try_join!(agent_version_json(&id, from), agent_version_json(&id, to))?;
        Ok(diff_definitions(&older, &newer))
    })
    .await
}

#[server(endpoint = "agents/create", output = JsonResponse)]
pub async fn create_agent(definition: String) -> Result<AgentDefinition, AppError> {
    respond(async move {
        let body = checked_definition(&definition)?;
        upstream()?
            .post("/v1/agents", &body)
            .await
            .map(|agent| AgentDefinition::of(&agent))
            .map_err(|e| AppError::upstream("Creating the agent", e))
    })
    .await
}

/// Saves `definition` as a new version of agent `id`, based on `version`. When someone saved a
/// newer version in between, fails with a conflict that names it; nothing is overwritten.
#[server(endpoint = "agents/update", output = JsonResponse)]
pub async fn update_agent(id: String, version: u64, definition: String) -> Result<AgentDefinition, AppError> {
    respond(async move {
        let id = segment(&id)?;
        let mut body = checked_definition(&definition)?;
        let api = upstream()?;
        // An update keeps what it leaves out and patches metadata: what the form cleared must be
        // sent as `null` to be cleared upstream.
        let based_on = agent_version_json(&id, version).await?;
        clear_what_was_removed(&mut body, &based_on);
        body["version"] = serde_json::json!(version);
        match api.post::<Agent>(&format!("/v1/agents/{id}"), &body).await {
            Ok(agent) => Ok(AgentDefinition::of(&agent)),
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
    })
    .await
}

#[server(endpoint = "agents/archive", output = JsonResponse)]
pub async fn archive_agent(id: String) -> Result<Agent, AppError> {
    respond(async move {
        let id = segment(&id)?;
        upstream()?
            .post(&format!("/v1/agents/{id}/archive"), &serde_json::json!({}))
            .await
            .map_err(|e| AppError::upstream("Archiving the agent", e))
    })
    .await
}

/// One version of an agent as raw JSON, so a diff or a clearing patch also sees fields this
/// version of the protocol types does not know.
#[cfg(feature = "ssr")]
async fn agent_version_json(id: &str, version: u64) -> Result<serde_json::Value, AppError> {
    let id = segment(id)?;
    upstream()?
        .get(&format!("/v1/agents/{id}"), vec![("version".into(), version.to_string())])
        .await
        .map_err(|e| AppError::upstream(&format!("Loading version {version} of agent {id}"), e))
}

/// Adds `null` for the optional fields and metadata keys `based_on` has and `body` no longer does.
#[cfg(feature = "ssr")]
pub fn clear_what_was_removed(body: &mut serde_json::Value, based_on: &serde_json::Value) {
    use serde_json::Value;
    let Some(object) = body.as_object_mut() else { return };
    for key in ["description", "system", "multiagent"] {
        if !object.contains_key(key) && based_on.get(key).is_some_and(|v| !v.is_null()) {
            object.insert(key.to_owned(), Value::Null);
        }
    }
    let old = based_on.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default();
    let metadata = object.entry("metadata").or_insert_with(|| Value::Object(Default::default()));
    if let Some(metadata) = metadata.as_object_mut() {
        for key in old.keys() {
            metadata.entry(key.clone()).or_insert(Value::Null);
        }
    }
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
    let (a, b) = (strip(older), strip(newer));
    let diff = similar::TextDiff::from_lines(&a, &b);
    // Changed lines with three lines of context; a `…` line stands for unchanged lines left out.
    let mut lines = Vec::new();
    for (i, group) in diff.grouped_ops(3).iter().enumerate() {
        if i > 0 {
            lines.push(DiffLine { sign: '…', text: String::new() });
        }
        for op in group {
            for change in diff.iter_changes(op) {
                lines.push(DiffLine {
                    sign: match change.tag() {
                        similar::ChangeTag::Equal => ' ',
                        similar::ChangeTag::Delete => '-',
                        similar::ChangeTag::Insert => '+',
                    },
                    text: change.value().trim_end_matches('\n').to_owned(),
                });
            }
        }
    }
    lines
}
