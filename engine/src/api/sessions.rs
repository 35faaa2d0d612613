//! `/v1/sessions` and their resources.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
};
use protocol::events::types;
use protocol::{
    agents::Tool,
    sessions::{SessionCreate, SessionResourceAdd, SessionResourceUpdate, SessionUpdate},
};
use serde_json::{Value, json};
use sqlx::Row;

use super::{ApiJson, Params, page};
use crate::domain::sessions::with_duration;
use crate::store::{from_json, to_json};
use crate::{
    EngineState,
    error::{ApiError, ApiResult},
    ids::now,
    resolve,
    store::{Filter, ListQuery, Order, json},
};

pub async fn create(
    State(engine): State<Arc<EngineState>>,
    ApiJson(body): ApiJson<SessionCreate>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.create_session(body).await?))
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
                let Ok(amount) = budget.max_list_cost.amount.parse::<u64>() else {
                    return Err(ApiError::invalid(
                        "budget.max_list_cost.amount must be a whole number of cents, e.g. \"2500\".",
                    ));
                };
                let spent: i64 = sqlx::query_scalar("SELECT cost_micro_cents FROM sessions WHERE id = ?")
                    .bind(&id)
                    .fetch_one(&engine.store.pool)
                    .await?;
                if amount.saturating_mul(1_000_000) <= spent.max(0) as u64 {
                    return Err(ApiError::invalid(format!(
                        "budget: the session has already spent {} cents of list cost; a budget must be more than that.",
                        crate::model::prices::cents(spent.max(0) as u64)
                    ))
                    .with_code("budget_not_raised"));
                }
                crate::domain::sessions::budgetable(&session["agent"])?;
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
        "DELETE FROM model_context WHERE session_id = ?",
        "DELETE FROM session_resources WHERE session_id = ?",
        "DELETE FROM threads WHERE session_id = ?",
        "DELETE FROM sessions WHERE id = ?",
    ] {
        sqlx::query(table).bind(&id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    engine.close_hub(&id);
    engine.delete_sandbox(&id).await;
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
