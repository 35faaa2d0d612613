//! `/v1/sessions/{id}/threads`: a session's threads, each thread's events and its live stream.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
    response::Response,
};
use serde_json::Value;

use super::{Params, events::stream_of};
use crate::{
    EngineState,
    error::{ApiError, ApiResult},
    store::Order,
};

/// The statuses `statuses[]` may name.
const STATUSES: [&str; 4] = ["running", "idle", "rescheduling", "terminated"];

pub async fn list(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    engine.session(&id).await?;
    let statuses = params.all("statuses");
    if let Some(bad) = statuses.iter().find(|s| !STATUSES.contains(&s.as_str())) {
        return Err(ApiError::invalid(format!(
            "statuses[]: {bad:?} is not a thread status; use running, idle, rescheduling or terminated."
        )));
    }
    let paging = params.paging(Order::Asc, 1000, 1000)?;
    Ok(Json(engine.list_threads(&id, statuses, paging).await?))
}

pub async fn retrieve(
    State(engine): State<Arc<EngineState>>,
    Path((id, thread_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.thread(&id, &thread_id).await?))
}

pub async fn archive(
    State(engine): State<Arc<EngineState>>,
    Path((id, thread_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.archive_thread(&id, &thread_id).await?))
}

/// A thread's events in the order they happened; only `limit` and `page`, as the API.
pub async fn events(
    State(engine): State<Arc<EngineState>>,
    Path((id, thread_id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let scope = engine.thread_scope(&id, &thread_id).await?;
    let paging = params.paging(Order::Asc, 1000, 1000)?;
    Ok(Json(engine.scope_events(&id, &scope, paging).await?))
}

pub async fn stream(
    State(engine): State<Arc<EngineState>>,
    Path((id, thread_id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    let scope = engine.thread_scope(&id, &thread_id).await?;
    stream_of(engine, id, scope, &params).await
}
