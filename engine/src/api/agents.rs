//! `/v1/agents`: create, retrieve (any version), update (a new immutable version), list,
//! versions, archive.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
};
use protocol::{
    agents::{Agent, AgentCreate, AgentUpdate, ExecutionIdentity, McpServer},
    common::Empty,
};
use serde_json::Value;
use sqlx::Row;

use super::{ApiJson, Params, page};
use crate::domain::{
    agents::with_archived,
    multiagent::{Owner, with_own_version},
};
use crate::store::to_json;
use crate::{
    EngineState,
    error::{ApiError, ApiResult},
    ids::now,
    resolve,
    store::{Filter, ListQuery, Order, json},
};

pub async fn create(
    State(engine): State<Arc<EngineState>>,
    ApiJson(body): ApiJson<AgentCreate>,
) -> ApiResult<Json<Value>> {
    let agent = engine.create_agent(body).await?;
    Ok(Json(agent))
}

pub async fn retrieve(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let version = params.int("version", 1, i64::MAX)?;
    Ok(Json(engine.agent(&id, version).await?))
}

pub async fn update(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AgentUpdate>,
) -> ApiResult<Json<Value>> {
    let mut tx = engine.store.pool.begin().await?;
    let head = sqlx::query("SELECT latest_version, archived_at FROM agents WHERE id = ?")
        .bind(&id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| ApiError::not_found("agent", &id))?;
    let latest: i64 = head.get(0);
    if head.get::<Option<String>, _>(1).is_some() {
        return Err(ApiError::invalid(format!("Agent {id} is archived and read-only; create a new agent instead.")));
    }
    if let Some(expected) = body.version
        && expected as i64 != latest
    {
        return Err(ApiError::conflict(format!(
            "Agent {id} is at version {latest}, not {expected}: someone changed it since you loaded it. Load version {latest}, reapply your edit and send it with version {latest}."
        )));
    }
    let stored: String = sqlx::query_scalar("SELECT body FROM agent_versions WHERE agent_id = ? AND version = ?")
        .bind(&id)
        .bind(latest)
        .fetch_one(&mut *tx)
        .await?;
    let current: Agent = serde_json::from_str(&stored)?;
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
        engine.check_model(&next.model.id).await?;
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
        engine.check_skills(&next.skills).await?;
    }
    if let Some(identity) = &body.execution_identity {
        next.execution_identity = identity.clone().unwrap_or(ExecutionIdentity::ServiceAccount(Empty {}));
    }
    let writing = latest as u64 + 1;
    match &body.multiagent {
        Some(Some(params)) => {
            let owner = Owner { id: &id, version: writing };
            next.multiagent = Some(engine.resolve_multiagent(params, owner, current.multiagent.as_ref()).await?);
        }
        Some(None) => next.multiagent = None,
        None => {}
    }
    if let Some(patch) = &body.metadata {
        resolve::patch_metadata(&mut next.metadata, patch, false)?;
    }
    resolve::check_script(&next.model, next.system.as_deref())?;

    // A no-op update keeps the version.
    let unchanged = {
        let mut a = next.clone();
        a.updated_at.clone_from(&current.updated_at);
        a.multiagent = a.multiagent.map(|m| with_own_version(&m, &id, writing, latest as u64));
        a == current
    };
    if unchanged {
        tx.rollback().await?;
        return Ok(Json(to_json(&current)?));
    }
    let at = now();
    next.version = writing;
    next.updated_at = at.text;
    sqlx::query("INSERT INTO agent_versions (agent_id, version, body) VALUES (?, ?, ?)")
        .bind(&id)
        .bind(next.version as i64)
        .bind(serde_json::to_string(&next)?)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE agents SET latest_version = ? WHERE id = ?")
        .bind(next.version as i64)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Json(to_json(&next)?))
}

pub async fn list(State(engine): State<Arc<EngineState>>, params: Params) -> ApiResult<Json<Value>> {
    let order = Order::Desc;
    let mut filters = Vec::new();
    if !params.bool("include_archived")? {
        filters.push(Filter::Sql("a.archived_at IS NULL"));
    }
    for (op, micros) in params.ranges("created_at")? {
        filters.push(Filter::Cmp("a.created_us", op, micros));
    }
    let rows = engine
        .store
        .list(ListQuery {
            select: "a.seq, v.body, a.archived_at",
            from: "agents a JOIN agent_versions v ON v.agent_id = a.id AND v.version = a.latest_version",
            seq_column: "a.seq",
            filters,
            order,
            limit: params.limit(20, 100)?,
            cursor: params.cursor(order)?,
        })
        .await?;
    Ok(Json(page(rows, false, |row| with_archived(json(row.get(1))?, row.get(2)))?))
}

pub async fn versions(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let archived_at: Option<Option<String>> = sqlx::query_scalar("SELECT archived_at FROM agents WHERE id = ?")
        .bind(&id)
        .fetch_optional(&engine.store.pool)
        .await?;
    let archived_at = archived_at.ok_or_else(|| ApiError::not_found("agent", &id))?;
    let order = Order::Desc;
    let rows = engine
        .store
        .list(ListQuery {
            select: "version, body",
            from: "agent_versions",
            seq_column: "version",
            filters: vec![Filter::Eq("agent_id", id)],
            order,
            limit: params.limit(20, 100)?,
            cursor: params.cursor(order)?,
        })
        .await?;
    Ok(Json(page(rows, false, |row| with_archived(json(row.get(1))?, archived_at.clone()))?))
}

pub async fn archive(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let at = now();
    let done = sqlx::query("UPDATE agents SET archived_at = COALESCE(archived_at, ?) WHERE id = ?")
        .bind(&at.text)
        .bind(&id)
        .execute(&engine.store.pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::not_found("agent", &id));
    }
    Ok(Json(engine.agent(&id, None).await?))
}
