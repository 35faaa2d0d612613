//! `/v1/sessions` and their resources.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
};
use protocol::sessions::{SessionCreate, SessionResourceAdd, SessionResourceUpdate, SessionUpdate};
use serde_json::{Value, json};

use super::{ApiJson, Params};
use crate::{
    EngineState,
    domain::sessions::SessionFilters,
    error::{ApiError, ApiResult},
    store::Order,
};

/// The statuses `statuses[]` may name.
const STATUSES: [&str; 4] = ["rescheduling", "running", "idle", "terminated"];

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
    Ok(Json(engine.update_session(&id, body).await?))
}

pub async fn list(State(engine): State<Arc<EngineState>>, params: Params) -> ApiResult<Json<Value>> {
    let order = params.order(Order::Desc)?;
    let include_archived = params.bool("include_archived")?;
    let agent_version = params.int("agent_version", 1, i64::MAX)?;
    if agent_version.is_some() && params.get("agent_id").is_none() {
        return Err(ApiError::invalid("agent_version can only be used together with agent_id."));
    }
    let statuses = params.all("statuses");
    if let Some(status) = statuses.iter().find(|s| !STATUSES.contains(&s.as_str())) {
        return Err(ApiError::invalid(format!(
            "statuses[]: {status:?} is not a status; use rescheduling, running, idle or terminated."
        )));
    }
    let filters = SessionFilters {
        include_archived,
        agent_id: params.get("agent_id").map(str::to_owned),
        deployment_id: params.get("deployment_id").map(str::to_owned),
        memory_store_id: params.get("memory_store_id").map(str::to_owned),
        agent_version,
        statuses,
        created: params.ranges("created_at")?,
    };
    let paging = params.paging(order, 20, 100)?;
    Ok(Json(engine.list_sessions(filters, paging).await?))
}

pub async fn archive(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(engine.archive_session(&id).await?))
}

pub async fn delete(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    engine.delete_session(&id).await?;
    Ok(Json(json!({ "id": id, "type": "session_deleted" })))
}

pub async fn list_resources(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    engine.session(&id).await?;
    let paging = params.paging(Order::Asc, 1000, 1000)?;
    Ok(Json(engine.list_resources(&id, paging).await?))
}

pub async fn add_resource(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SessionResourceAdd>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.add_resource(&id, &body.file_id, body.mount_path.as_deref()).await?))
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
    ApiJson(body): ApiJson<SessionResourceUpdate>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.rotate_resource_token(&id, &resource_id, &body.authorization_token).await?))
}

pub async fn delete_resource(
    State(engine): State<Arc<EngineState>>,
    Path((id, resource_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    engine.delete_resource(&id, &resource_id).await?;
    Ok(Json(json!({ "id": resource_id, "type": "session_resource_deleted" })))
}
