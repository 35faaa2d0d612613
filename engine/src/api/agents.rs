//! `/v1/agents`: create, retrieve (any version), update (a new immutable version), list,
//! versions, archive.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
};
use protocol::agents::{AgentCreate, AgentUpdate};
use serde_json::Value;

use super::{ApiJson, Params};
use crate::{EngineState, error::ApiResult, store::Order};

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
    Ok(Json(engine.update_agent(&id, body).await?))
}

pub async fn list(State(engine): State<Arc<EngineState>>, params: Params) -> ApiResult<Json<Value>> {
    let include_archived = params.bool("include_archived")?;
    let created = params.ranges("created_at")?;
    let paging = params.paging(Order::Desc, 20, 100)?;
    Ok(Json(engine.list_agents(include_archived, created, paging).await?))
}

pub async fn versions(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let archived_at = engine.agent_archived_at(&id).await?;
    let paging = params.paging(Order::Desc, 20, 100)?;
    Ok(Json(engine.agent_versions(&id, archived_at, paging).await?))
}

pub async fn archive(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(engine.archive_agent(&id).await?))
}
