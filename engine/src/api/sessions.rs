//! `/v1/sessions` and their resources.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
};
use protocol::events::types;
use protocol::{
    agents::{Agent, AgentTag, Tool},
    event_params::InitialEvent,
    sessions::{
        ResourceParams, SessionAgent, SessionAgentObject, SessionAgentParam, SessionCreate, SessionResourceAdd,
        SessionResourceUpdate, SessionUpdate,
    },
};
use serde_json::{Value, json};
use sqlx::Row;

use super::{ApiJson, Params, from_json, page, to_json};
use crate::{
    EngineState,
    error::{ApiError, ApiResult},
    ids::{self, new_id, now},
    resolve,
    store::{Filter, ListQuery, Order, json},
};

pub async fn create(
    State(engine): State<Arc<EngineState>>,
    ApiJson(body): ApiJson<SessionCreate>,
) -> ApiResult<Json<Value>> {
    // The agent, pinned at creation.
    let (agent_id, version, overrides) = match &body.agent {
        SessionAgentParam::Id(id) => (id.clone(), None, None),
        SessionAgentParam::Object(SessionAgentObject::Agent(reference)) => {
            (reference.id.clone(), reference.version.map(|v| v as i64), None)
        }
        SessionAgentParam::Object(SessionAgentObject::AgentWithOverrides(with)) => {
            (with.id.clone(), with.version.map(|v| v as i64), Some(with.clone()))
        }
        SessionAgentParam::Object(SessionAgentObject::Unknown(v)) => {
            return Err(ApiError::invalid(format!(
                "agent.type: unknown agent reference {v}; use agent or agent_with_overrides."
            )));
        }
    };
    let agent = engine.agent(&agent_id, version).await.map_err(|e| e.in_field("agent"))?;
    if !agent["archived_at"].is_null() {
        return Err(ApiError::invalid(format!("Agent {agent_id} is archived, so new sessions cannot use it.")));
    }
    let mut agent: Agent = from_json(agent)?;
    if let Some(with) = overrides {
        if let Some(servers) = &with.mcp_servers {
            resolve::mcp_servers(servers)?;
            agent.mcp_servers = servers.clone();
        }
        if let Some(model) = &with.model {
            // `effort` of an override is ignored; the agent's stays.
            let mut resolved = resolve::model(model)?;
            resolved.effort = agent.model.effort.clone();
            agent.model = resolved;
        }
        if let Some(system) = &with.system {
            agent.system = system.clone().filter(|s| !s.is_empty());
        }
        match &with.tools {
            Some(tools) => agent.tools = resolve::tools(tools, &agent.mcp_servers)?,
            // The servers may have changed under the agent's tools: they must still match.
            None => resolve::check_mcp_references(&agent.tools, &agent.mcp_servers)?,
        }
        if let Some(skills) = &with.skills {
            agent.skills = resolve::skills(skills)?;
        }
        resolve::check_script(&agent.model, agent.system.as_deref())?;
    }

    let (archived, environment) =
        engine.environment(&body.environment_id).await.map_err(|e| e.in_field("environment_id"))?;
    if archived {
        return Err(ApiError::invalid(format!(
            "Environment {} is archived, so new sessions cannot use it.",
            body.environment_id
        )));
    }
    if environment["config"]["type"] != "cloud" {
        return Err(ApiError::invalid(
            "The embedded engine runs sessions in cloud environments only; self-hosted environments need Anthropic's API and a worker.",
        ));
    }
    let metadata = body.metadata.clone().unwrap_or_default();
    resolve::metadata(&metadata)?;
    if let Some(budget) = &body.budget
        && budget.max_list_cost.amount.parse::<u64>().is_err()
    {
        return Err(ApiError::invalid("budget.max_list_cost.amount must be a whole number of cents, e.g. \"2500\"."));
    }
    let initial = body.initial_events.clone().unwrap_or_default();
    if initial.len() > 50 {
        return Err(ApiError::invalid("initial_events: at most 50 events."));
    }
    for (i, event) in initial.iter().enumerate() {
        if !matches!(event, InitialEvent::UserMessage(_)) {
            return Err(ApiError::invalid(format!(
                "initial_events[{i}]: the embedded engine accepts user.message here ({} is not supported).",
                event.type_name()
            )));
        }
    }

    let session_id = new_id("sesn");
    let at = now();
    let mut resources = Vec::new();
    for (i, resource) in body.resources.iter().flatten().enumerate() {
        match resource {
            ResourceParams::File(file) => {
                resources.push(
                    engine.file_resource(&file.file_id, file.mount_path.as_deref(), &format!("resources[{i}]")).await?,
                );
            }
            other => {
                return Err(ApiError::invalid(format!(
                    "resources[{i}]: the embedded engine mounts files only ({} is not supported).",
                    other.type_name()
                )));
            }
        }
    }
    let snapshot = SessionAgent {
        id: agent.id.clone(),
        description: agent.description,
        execution_identity: agent.execution_identity,
        mcp_servers: agent.mcp_servers,
        model: agent.model,
        multiagent: None,
        name: agent.name,
        skills: agent.skills,
        system: agent.system,
        tools: agent.tools,
        r#type: AgentTag,
        version: agent.version,
    };
    let session = json!({
        "type": "session",
        "id": session_id,
        "status": "idle",
        "agent": to_json(&snapshot)?,
        "environment_id": body.environment_id,
        "title": body.title,
        "resources": resources,
        "vault_ids": body.vault_ids.clone().unwrap_or_default(),
        "metadata": metadata,
        "usage": {},
        "stats": { "active_seconds": 0.0, "duration_seconds": 0.0 },
        "outcome_evaluations": [],
        "budget": body.budget,
        "deployment_id": null,
        "created_at": at.text,
        "updated_at": at.text,
        "archived_at": null,
    });
    let mut tx = engine.store.pool.begin().await?;
    sqlx::query(
        "INSERT INTO sessions (id, body, created_us, status, agent_id, agent_version, environment_id) VALUES (?, ?, ?, 'idle', ?, ?, ?)",
    )
    .bind(&session_id)
    .bind(session.to_string())
    .bind(at.micros)
    .bind(&snapshot.id)
    .bind(snapshot.version as i64)
    .bind(&body.environment_id)
    .execute(&mut *tx)
    .await?;
    for resource in &resources {
        sqlx::query("INSERT INTO session_resources (id, session_id, body) VALUES (?, ?, ?)")
            .bind(resource["id"].as_str())
            .bind(&session_id)
            .bind(resource.to_string())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    if !initial.is_empty() {
        let runtime = engine.runtime(&session_id).await?;
        for event in initial {
            engine.append(&session_id, to_json(&event)?).await?;
            runtime.message();
        }
    }
    Ok(Json(engine.session(&session_id).await?.1))
}

pub async fn retrieve(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(engine.session(&id).await?.1))
}

pub async fn update(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SessionUpdate>,
) -> ApiResult<Json<Value>> {
    let (archived, mut session) = engine.session(&id).await?;
    if archived {
        return Err(ApiError::conflict(format!("Session {id} is archived and cannot be changed.")));
    }
    if body.vault_ids.is_some() {
        return Err(ApiError::invalid("vault_ids can only be set when a session is created."));
    }
    let mut changed = json!({ "type": types::SESSION_UPDATED });
    if let Some(title) = &body.title
        && session["title"] != json!(title)
    {
        session["title"] = json!(title);
        changed["title"] = json!(title);
    }
    if let Some(patch) = &body.metadata {
        let mut metadata = from_json(session["metadata"].clone())?;
        resolve::patch_metadata(&mut metadata, patch, false)?;
        let metadata = to_json(&metadata)?;
        if session["metadata"] != metadata {
            session["metadata"] = metadata.clone();
            changed["metadata"] = metadata;
        }
    }
    if let Some(agent_update) = &body.agent {
        if session["status"] == "running" {
            return Err(ApiError::invalid("The agent of a running session cannot change; wait until it is idle."));
        }
        let mut servers: Vec<protocol::agents::McpServer> = from_json(session["agent"]["mcp_servers"].clone())?;
        if let Some(new) = &agent_update.mcp_servers {
            resolve::mcp_servers(new)?;
            servers = new.clone();
        }
        let tools = match &agent_update.tools {
            Some(tools) => resolve::tools(tools, &servers)?,
            None => {
                let tools: Vec<Tool> = from_json(session["agent"]["tools"].clone())?;
                resolve::check_mcp_references(&tools, &servers)?;
                tools
            }
        };
        session["agent"]["tools"] = to_json(&tools)?;
        session["agent"]["mcp_servers"] = to_json(&servers)?;
        changed["agent"] = session["agent"].clone();
    }
    if let Some(budget) = &body.budget {
        match budget {
            None => {
                if !session["budget"].is_null() {
                    session["budget"] = Value::Null;
                    changed["budget"] = Value::Null;
                }
            }
            Some(budget) => {
                if session["budget"].is_null() {
                    return Err(ApiError::invalid("A budget can only be added when a session is created.")
                        .with_code("budget_create_only"));
                }
                session["budget"] = to_json(budget)?;
                changed["budget"] = session["budget"].clone();
            }
        }
    }
    if changed.as_object().is_some_and(|m| m.len() > 1) {
        session["updated_at"] = json!(now().text);
        sqlx::query("UPDATE sessions SET body = json_set(?, '$.status', status) WHERE id = ?")
            .bind(session.to_string())
            .bind(&id)
            .execute(&engine.store.pool)
            .await?;
        engine.append(&id, changed).await?;
    }
    Ok(Json(engine.session(&id).await?.1))
}

pub async fn list(State(engine): State<Arc<EngineState>>, params: Params) -> ApiResult<Json<Value>> {
    let order = params.order(Order::Desc)?;
    let mut filters = Vec::new();
    if !params.bool("include_archived")? {
        filters.push(Filter::Sql("archived = 0"));
    }
    if let Some(agent_id) = params.get("agent_id") {
        filters.push(Filter::Eq("agent_id", agent_id.to_owned()));
    }
    if let Some(deployment_id) = params.get("deployment_id") {
        filters.push(Filter::Eq("json_extract(body, '$.deployment_id')", deployment_id.to_owned()));
    }
    if let Some(memory_store_id) = params.get("memory_store_id") {
        filters.push(Filter::Around(
            "EXISTS (SELECT 1 FROM json_each(sessions.body, '$.resources') AS r WHERE json_extract(r.value, '$.memory_store_id') = ",
            memory_store_id.to_owned(),
            ")",
        ));
    }
    if let Some(version) = params.int("agent_version", 1, i64::MAX)? {
        if params.get("agent_id").is_none() {
            return Err(ApiError::invalid("agent_version can only be used together with agent_id."));
        }
        filters.push(Filter::EqInt("agent_version", version));
    }
    let statuses = params.all("statuses");
    for status in &statuses {
        if !["rescheduling", "running", "idle", "terminated"].contains(&status.as_str()) {
            return Err(ApiError::invalid(format!(
                "statuses[]: {status:?} is not a status; use rescheduling, running, idle or terminated."
            )));
        }
    }
    if !statuses.is_empty() {
        filters.push(Filter::In("status", statuses));
    }
    for (op, micros) in params.ranges("created_at")? {
        filters.push(Filter::Cmp("created_us", op, micros));
    }
    let rows = engine
        .store
        .list(ListQuery {
            select: "seq, body",
            from: "sessions",
            seq_column: "seq",
            filters,
            order,
            limit: params.limit(20, 100)?,
            cursor: params.cursor(order)?,
        })
        .await?;
    Ok(Json(page(rows, true, |row| Ok(with_duration(json(row.get(1))?)))?))
}

pub async fn archive(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let (archived, _) = engine.session(&id).await?;
    if !archived {
        let at = now().text;
        sqlx::query("UPDATE sessions SET archived = 1, body = json_set(body, '$.archived_at', ?, '$.updated_at', ?) WHERE id = ?")
            .bind(&at)
            .bind(&at)
            .bind(&id)
            .execute(&engine.store.pool)
            .await?;
    }
    Ok(Json(engine.session(&id).await?.1))
}

pub async fn delete(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    engine.session(&id).await?;
    engine.stop_runtime(&id);
    let mut tx = engine.store.pool.begin().await?;
    for table in [
        "DELETE FROM events WHERE session_id = ?",
        "DELETE FROM session_resources WHERE session_id = ?",
        "DELETE FROM sessions WHERE id = ?",
    ] {
        sqlx::query(table).bind(&id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    engine.close_hub(&id);
    let _ = std::fs::remove_dir_all(engine.sandbox_dir(&id));
    Ok(Json(json!({ "id": id, "type": "session_deleted" })))
}

pub async fn list_resources(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    engine.session(&id).await?;
    let order = Order::Asc;
    let rows = engine
        .store
        .list(ListQuery {
            select: "seq, body",
            from: "session_resources",
            seq_column: "seq",
            filters: vec![Filter::Eq("session_id", id)],
            order,
            limit: params.limit(1000, 1000)?,
            cursor: params.cursor(order)?,
        })
        .await?;
    Ok(Json(page(rows, false, |row| json(row.get(1)))?))
}

pub async fn add_resource(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SessionResourceAdd>,
) -> ApiResult<Json<Value>> {
    let (archived, session) = engine.session(&id).await?;
    if archived || session["status"] == "terminated" {
        return Err(ApiError::invalid(format!(
            "Session {id} is archived or terminated; resources can no longer be added."
        )));
    }
    let resource = engine.file_resource(&body.file_id, body.mount_path.as_deref(), "file_id").await?;
    let existing: Vec<String> = sqlx::query_scalar("SELECT body FROM session_resources WHERE session_id = ?")
        .bind(&id)
        .fetch_all(&engine.store.pool)
        .await?;
    if existing
        .iter()
        .filter_map(|b| serde_json::from_str::<Value>(b).ok())
        .any(|r| r["mount_path"] == resource["mount_path"])
    {
        return Err(ApiError::invalid(format!(
            "mount_path {} is already used by another resource of this session; choose another path.",
            resource["mount_path"]
        )));
    }
    sqlx::query("INSERT INTO session_resources (id, session_id, body) VALUES (?, ?, ?)")
        .bind(resource["id"].as_str())
        .bind(&id)
        .bind(resource.to_string())
        .execute(&engine.store.pool)
        .await?;
    engine.sync_resources(&id).await?;
    Ok(Json(resource))
}

pub async fn retrieve_resource(
    State(engine): State<Arc<EngineState>>,
    Path((id, resource_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.resource(&id, &resource_id).await?))
}

pub async fn update_resource(
    State(engine): State<Arc<EngineState>>,
    Path((id, resource_id)): Path<(String, String)>,
    ApiJson(_body): ApiJson<SessionResourceUpdate>,
) -> ApiResult<Json<Value>> {
    engine.resource(&id, &resource_id).await?;
    Err(ApiError::invalid("Only github_repository resources have a token to rotate; this resource is a file."))
}

pub async fn delete_resource(
    State(engine): State<Arc<EngineState>>,
    Path((id, resource_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    engine.resource(&id, &resource_id).await?;
    sqlx::query("DELETE FROM session_resources WHERE id = ? AND session_id = ?")
        .bind(&resource_id)
        .bind(&id)
        .execute(&engine.store.pool)
        .await?;
    engine.sync_resources(&id).await?;
    Ok(Json(json!({ "id": resource_id, "type": "session_resource_deleted" })))
}

/// Session durations are worked out when read: time since creation.
fn with_duration(mut session: Value) -> Value {
    if session["status"] != "terminated"
        && let Some(created) = session["created_at"].as_str().and_then(ids::parse_datetime)
    {
        let seconds = (now().micros - created) as f64 / 1e6;
        session["stats"]["duration_seconds"] = json!(seconds.max(0.0));
    }
    session
}

impl EngineState {
    /// (archived, body) of a session.
    pub async fn session(&self, id: &str) -> ApiResult<(bool, Value)> {
        let row = sqlx::query("SELECT archived, body FROM sessions WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.store.pool)
            .await?
            .ok_or_else(|| ApiError::not_found("session", id))?;
        Ok((row.get::<i64, _>(0) != 0, with_duration(json(row.get(1))?)))
    }

    async fn resource(&self, session_id: &str, resource_id: &str) -> ApiResult<Value> {
        self.session(session_id).await?;
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM session_resources WHERE id = ? AND session_id = ?")
                .bind(resource_id)
                .bind(session_id)
                .fetch_optional(&self.store.pool)
                .await?;
        json(&body.ok_or_else(|| ApiError::not_found("session resource", resource_id))?)
    }

    /// A file resource for `file_id`, mounted at `mount_path` (default
    /// `/mnt/session/uploads/<file_id>`).
    async fn file_resource(&self, file_id: &str, mount_path: Option<&str>, at: &str) -> ApiResult<Value> {
        let exists: Option<i64> = sqlx::query_scalar("SELECT seq FROM files WHERE id = ?")
            .bind(file_id)
            .fetch_optional(&self.store.pool)
            .await?;
        if exists.is_none() {
            return Err(ApiError::invalid(format!("{at}: file {file_id:?} was not found; upload it first.")));
        }
        let mount_path = mount_path.map_or_else(|| format!("/mnt/session/uploads/{file_id}"), str::to_owned);
        let components_ok = mount_path.split('/').all(|c| c != ".." && c != ".");
        if !mount_path.starts_with('/') || !components_ok || mount_path.len() > 1024 || mount_path.ends_with('/') {
            return Err(ApiError::invalid(format!(
                "{at}: mount_path {mount_path:?} must be an absolute file path without . or .. parts."
            )));
        }
        if mount_path.starts_with("/mnt/session/outputs")
            || ["/usr", "/proc", "/dev", "/run/switchboard"].iter().any(|p| mount_path.starts_with(p))
        {
            return Err(ApiError::invalid(format!(
                "{at}: mount_path {mount_path:?} is reserved; mount files elsewhere, e.g. under /mnt/session/uploads."
            )));
        }
        let at = now().text;
        Ok(
            json!({ "type": "file", "id": new_id("sesrsc"), "file_id": file_id, "mount_path": mount_path, "created_at": at, "updated_at": at }),
        )
    }

    /// Keeps the `resources` of the session object in step with its resource rows.
    async fn sync_resources(&self, session_id: &str) -> ApiResult<()> {
        sqlx::query(
            "UPDATE sessions SET body = json_set(body, '$.resources', (SELECT json_group_array(json(body)) FROM \
             (SELECT body FROM session_resources WHERE session_id = ? ORDER BY seq))) WHERE id = ?",
        )
        .bind(session_id)
        .bind(session_id)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }
}
