//! `GET /v1/models` and `GET /v1/models/{id}`: the models the engine can run (`scripted`, and
//! those its Messages endpoint lists), paged as Anthropic's models API pages: newest first,
//! `after_id` / `before_id` cursors, `limit` 1–1000 (default 20), no beta header.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
};
use serde_json::{Value, json};

use super::Params;
use crate::{
    EngineState,
    error::{ApiError, ApiResult},
};

pub async fn list(State(engine): State<Arc<EngineState>>, params: Params) -> ApiResult<Json<Value>> {
    let limit = params.int("limit", 1, 1000)?.unwrap_or(20) as usize;
    let models = engine.catalog.models(&engine.config.model).await;
    let position = |name: &str, id: &str| {
        models
            .iter()
            .position(|m| m["id"] == id)
            .ok_or_else(|| ApiError::invalid(format!("{name}: {id:?} is not a model in this list.")))
    };
    let page: Vec<Value> = match (params.get("after_id"), params.get("before_id")) {
        (Some(_), Some(_)) => return Err(ApiError::invalid("Send after_id or before_id, not both.")),
        (Some(after), None) => models.iter().skip(position("after_id", after)? + 1).take(limit).cloned().collect(),
        (None, Some(before)) => {
            let end = position("before_id", before)?;
            models[end.saturating_sub(limit)..end].to_vec()
        }
        (None, None) => models.iter().take(limit).cloned().collect(),
    };
    let has_more = match (page.first(), page.last(), params.get("before_id")) {
        (Some(first), _, Some(_)) => models.first().is_some_and(|m| m["id"] != first["id"]),
        (_, Some(last), None) => models.last().is_some_and(|m| m["id"] != last["id"]),
        _ => false,
    };
    Ok(Json(json!({
        "data": page,
        "has_more": has_more,
        "first_id": page.first().map(|m| m["id"].clone()),
        "last_id": page.last().map(|m| m["id"].clone()),
    })))
}

pub async fn retrieve(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    match engine.catalog.models(&engine.config.model).await.into_iter().find(|m| m["id"] == id) {
        Some(model) => Ok(Json(model)),
        None => Err(ApiError::not_found("model", &id)),
    }
}
