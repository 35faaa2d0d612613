//! Agents: creation and updates (a new immutable version each, with the checks the API
//! makes), reading a version, lists of agents and of an agent's versions, archiving.

use protocol::{
    agents::{Agent, AgentCreate, AgentTag, AgentUpdate, ExecutionIdentity, McpServer},
    common::Empty,
};
use serde_json::Value;
use sqlx::{Row, Sqlite, Transaction};

use super::{
    Paging, Ranges,
    multiagent::{Owner, with_own_version},
    time_filters,
};
use crate::{
    EngineState,
    error::{ApiError, ApiResult},
    ids::{new_id, now},
    resolve,
    store::{Filter, agents, json, to_json},
};

impl EngineState {
    /// Refuses a model the engine cannot run, when it knows: its endpoint's model list is read
    /// and does not hold it. Without the list any id is taken, and a turn it cannot run fails
    /// with `model_request_failed_error` in words.
    pub(crate) async fn check_model(&self, id: &str) -> ApiResult<()> {
        match self.catalog.lookup(&self.config.model, id).await {
            Some(None) => Err(ApiError::invalid(format!(
                "model: {id:?} is not a model the engine can run: it is neither \"scripted\" nor listed by its Messages endpoint. GET /v1/models lists those it can."
            ))),
            _ => Ok(()),
        }
    }

    /// Creates an agent at version 1 (also used to seed the demo agent).
    pub async fn create_agent(&self, body: AgentCreate) -> ApiResult<Value> {
        resolve::name(&body.name, "name")?;
        let model = resolve::model(&body.model)?;
        self.check_model(&model.id).await?;
        let mcp_servers = body.mcp_servers.clone().unwrap_or_default();
        resolve::mcp_servers(&mcp_servers)?;
        let tools = resolve::tools(body.tools.as_deref().unwrap_or_default(), &mcp_servers)?;
        let skills = resolve::skills(body.skills.as_deref().unwrap_or_default())?;
        self.check_skills(&skills).await?;
        let metadata = body.metadata.clone().unwrap_or_default();
        resolve::metadata(&metadata)?;
        if body.description.as_ref().is_some_and(|d| d.chars().count() > 2048) {
            return Err(ApiError::invalid("description: at most 2048 characters."));
        }
        let system = body.system.clone().filter(|s| !s.is_empty());
        resolve::check_script(&model, system.as_deref())?;
        let id = new_id("agent");
        let multiagent = match &body.multiagent {
            Some(params) => Some(self.resolve_multiagent(params, Owner { id: &id, version: 1 }, None).await?),
            None => None,
        };
        let at = now();
        let agent = Agent {
            id,
            archived_at: None,
            created_at: at.text.clone(),
            description: body.description.clone().filter(|d| !d.is_empty()),
            execution_identity: body.execution_identity.clone().unwrap_or(ExecutionIdentity::ServiceAccount(Empty {})),
            mcp_servers,
            metadata,
            model,
            multiagent,
            name: body.name.clone(),
            skills,
            system,
            tools,
            r#type: AgentTag,
            updated_at: at.text,
            version: 1,
        };
        self.store.insert_agent(&agent.id, &serde_json::to_string(&agent)?, at.micros).await?;
        self.announce("agent.created", &agent.id);
        to_json(&agent)
    }

    pub(crate) async fn agent_exists(&self, id: &str) -> ApiResult<bool> {
        self.store.exists("agents", id).await
    }

    /// An agent at `version` (latest when `None`), with its archive state.
    pub async fn agent(&self, id: &str, version: Option<i64>) -> ApiResult<Value> {
        match self.store.agent_version(id, version).await? {
            Some((body, archived_at)) => with_archived(json(&body)?, archived_at),
            None if version.is_some() && self.agent_exists(id).await? => {
                Err(ApiError::not_found("version", &format!("{} of agent {id}", version.unwrap_or_default())))
            }
            None => Err(ApiError::not_found("agent", id)),
        }
    }

    /// Writes `body` as the agent's next version; an update that changes nothing keeps the
    /// version it has and answers it.
    pub async fn update_agent(&self, id: &str, body: AgentUpdate) -> ApiResult<Value> {
        let mut tx = self.store.begin().await?;
        let (latest, current) = agent_for_update(&mut tx, id, body.version).await?;
        let writing = latest as u64 + 1;
        let mut next = self.updated_agent(id, &body, &current, writing).await?;
        // A no-op update keeps the version.
        let unchanged = {
            let mut a = next.clone();
            a.updated_at.clone_from(&current.updated_at);
            a.multiagent = a.multiagent.map(|m| with_own_version(&m, id, writing, latest as u64));
            a == current
        };
        if unchanged {
            tx.rollback().await?;
            return to_json(&current);
        }
        let at = now();
        next.version = writing;
        next.updated_at = at.text;
        write_agent_version(&mut tx, id, &next).await?;
        tx.commit().await?;
        self.announce("agent.updated", id);
        to_json(&next)
    }

    /// `current` with the changes of `body` applied and checked (`writing`: the version it
    /// will be, which its own multiagent references name).
    async fn updated_agent(&self, id: &str, body: &AgentUpdate, current: &Agent, writing: u64) -> ApiResult<Agent> {
        let mut next = current.clone();
        if let Some(name) = &body.name {
            resolve::name(name, "name")?;
            next.name = name.clone();
        }
        if let Some(description) = &body.description {
            next.description = description.clone().filter(|d| !d.is_empty());
        }
        if let Some(system) = &body.system {
            next.system = system.clone().filter(|s| !s.is_empty());
        }
        if let Some(model) = &body.model {
            next.model = resolve::model(model)?;
            self.check_model(&next.model.id).await?;
        }
        if let Some(servers) = &body.mcp_servers {
            next.mcp_servers = servers.clone().unwrap_or_default();
        }
        let servers: Vec<McpServer> = next.mcp_servers.clone();
        resolve::mcp_servers(&servers)?;
        match &body.tools {
            Some(tools) => next.tools = resolve::tools(tools.as_deref().unwrap_or_default(), &servers)?,
            // The servers may have changed under the stored tools: they must still match.
            None => resolve::check_mcp_references(&next.tools, &servers)?,
        }
        if let Some(skills) = &body.skills {
            next.skills = resolve::skills(skills.as_deref().unwrap_or_default())?;
            self.check_skills(&next.skills).await?;
        }
        if let Some(identity) = &body.execution_identity {
            next.execution_identity = identity.clone().unwrap_or(ExecutionIdentity::ServiceAccount(Empty {}));
        }
        match &body.multiagent {
            Some(Some(params)) => {
                let owner = Owner { id, version: writing };
                next.multiagent = Some(self.resolve_multiagent(params, owner, current.multiagent.as_ref()).await?);
            }
            Some(None) => next.multiagent = None,
            None => {}
        }
        if let Some(patch) = &body.metadata {
            resolve::patch_metadata(&mut next.metadata, patch, false)?;
        }
        resolve::check_script(&next.model, next.system.as_deref())?;
        Ok(next)
    }

    /// A page of agents, newest first: archived ones only when `include_archived`.
    pub async fn list_agents(&self, include_archived: bool, created: Ranges, paging: Paging) -> ApiResult<Value> {
        let mut filters = Vec::new();
        if !include_archived {
            filters.push(Filter::Sql("a.archived_at IS NULL"));
        }
        filters.extend(time_filters(created, "a.created_us"));
        let query = paging.query(
            "a.seq, v.body, a.archived_at",
            "agents a JOIN agent_versions v ON v.agent_id = a.id AND v.version = a.latest_version",
            "a.seq",
            filters,
        );
        self.page(query, false, |row| with_archived(json(row.get(1))?, row.get(2))).await
    }

    /// When the agent was archived (`None`: it is not); a missing agent is a 404.
    pub async fn agent_archived_at(&self, id: &str) -> ApiResult<Option<String>> {
        self.store.agent_archived_at(id).await?.ok_or_else(|| ApiError::not_found("agent", id))
    }

    /// A page of an agent's versions, newest first, each with the agent's archive state.
    pub async fn agent_versions(&self, id: &str, archived_at: Option<String>, paging: Paging) -> ApiResult<Value> {
        let query =
            paging.query("version, body", "agent_versions", "version", vec![Filter::Eq("agent_id", id.to_owned())]);
        self.page(query, false, |row| with_archived(json(row.get(1))?, archived_at.clone())).await
    }

    /// Archives an agent (again: no change) and answers it.
    pub async fn archive_agent(&self, id: &str) -> ApiResult<Value> {
        if !self.store.archive_agent(id, &now().text).await? {
            // Archived already, or a 404.
            self.agent_archived_at(id).await?;
        } else {
            self.announce("agent.archived", id);
        }
        self.agent(id, None).await
    }
}

/// The agent's latest version and its number, read in `tx` for an update: refused when the
/// agent is archived, or when `expected` names another version.
async fn agent_for_update(
    tx: &mut Transaction<'_, Sqlite>,
    id: &str,
    expected: Option<u64>,
) -> ApiResult<(i64, Agent)> {
    let (latest, archived_at) = agents::head(tx, id).await?.ok_or_else(|| ApiError::not_found("agent", id))?;
    if archived_at.is_some() {
        return Err(ApiError::invalid(format!("Agent {id} is archived and read-only; create a new agent instead.")));
    }
    if let Some(expected) = expected
        && expected as i64 != latest
    {
        return Err(ApiError::conflict(format!(
            "Agent {id} is at version {latest}, not {expected}: someone changed it since you loaded it. Load version {latest}, reapply your edit and send it with version {latest}."
        )));
    }
    let stored = agents::version_body(tx, id, latest).await?;
    Ok((latest, serde_json::from_str(&stored)?))
}

/// Writes `next` as the agent's latest version, in `tx`.
async fn write_agent_version(tx: &mut Transaction<'_, Sqlite>, id: &str, next: &Agent) -> ApiResult<()> {
    agents::write_version(tx, id, next.version as i64, &serde_json::to_string(next)?).await
}

/// An agent's body with its archive state.
pub fn with_archived(mut body: Value, archived_at: Option<String>) -> ApiResult<Value> {
    body["archived_at"] = archived_at.map_or(Value::Null, Value::String);
    Ok(body)
}
