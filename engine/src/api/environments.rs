//! `/v1/environments`: create, retrieve, update, list, archive, delete.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
};
use protocol::environments::{EnvironmentCreate, EnvironmentUpdate};
use serde_json::{Value, json};

use super::{ApiJson, Params};
use crate::{EngineState, error::ApiResult, store::Order};

pub async fn create(
    State(engine): State<Arc<EngineState>>,
    ApiJson(body): ApiJson<EnvironmentCreate>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.create_environment(body).await?))
}

pub async fn retrieve(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(engine.environment(&id).await?.1))
}

pub async fn update(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EnvironmentUpdate>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.update_environment(&id, body).await?))
}

pub async fn list(State(engine): State<Arc<EngineState>>, params: Params) -> ApiResult<Json<Value>> {
    let include_archived = params.bool("include_archived")?;
    let paging = params.paging(Order::Desc, 20, 100)?;
    Ok(Json(engine.list_environments(include_archived, paging).await?))
}

pub async fn archive(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(engine.archive_environment(&id).await?))
}

pub async fn delete(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    engine.delete_environment(&id).await?;
    Ok(Json(json!({ "id": id, "type": "environment_deleted" })))
}
