//! Agents: creation (with the checks the API makes) and reading a version.

use protocol::{
    agents::{Agent, AgentCreate, AgentTag, ExecutionIdentity},
    common::Empty,
};
use serde_json::Value;
use sqlx::Row;

use super::multiagent::Owner;
use crate::{
    EngineState,
    error::{ApiError, ApiResult},
    ids::{new_id, now},
    resolve,
    store::{json, to_json},
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
        let mut tx = self.store.pool.begin().await?;
        sqlx::query("INSERT INTO agents (id, latest_version, created_us) VALUES (?, 1, ?)")
            .bind(&agent.id)
            .bind(at.micros)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO agent_versions (agent_id, version, body) VALUES (?, 1, ?)")
            .bind(&agent.id)
            .bind(serde_json::to_string(&agent)?)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        to_json(&agent)
    }

    pub(crate) async fn agent_exists(&self, id: &str) -> ApiResult<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM agents WHERE id = ?").bind(id).fetch_optional(&self.store.pool).await?;
        Ok(found.is_some())
    }

    /// An agent at `version` (latest when `None`), with its archive state.
    pub async fn agent(&self, id: &str, version: Option<i64>) -> ApiResult<Value> {
        let row = sqlx::query(
            "SELECT v.body, a.archived_at FROM agents a JOIN agent_versions v ON v.agent_id = a.id \
             AND v.version = COALESCE(?, a.latest_version) WHERE a.id = ?",
        )
        .bind(version)
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await?;
        match row {
            Some(row) => with_archived(json(row.get(0))?, row.get(1)),
            None if version.is_some() && self.agent_exists(id).await? => {
                Err(ApiError::not_found("version", &format!("{} of agent {id}", version.unwrap_or_default())))
            }
            None => Err(ApiError::not_found("agent", id)),
        }
    }
}

/// An agent's body with its archive state.
pub fn with_archived(mut body: Value, archived_at: Option<String>) -> ApiResult<Value> {
    body["archived_at"] = archived_at.map_or(Value::Null, Value::String);
    Ok(body)
}
