//! `/v1/sessions/{id}/threads`: a session's threads, each thread's events and its live stream.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
    response::Response,
};
use serde_json::Value;
use sqlx::Row;

use super::{Params, events::stream_of, page};
use crate::{
    EngineState, Scope,
    error::{ApiError, ApiResult},
    store::{Filter, ListQuery, Order, json},
};

/// The statuses `statuses[]` may name.
const STATUSES: [&str; 4] = ["running", "idle", "rescheduling", "terminated"];

pub async fn list(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    engine.session(&id).await?;
    let order = Order::Asc;
    let mut filters = vec![Filter::Eq("session_id", id)];
    let statuses = params.all("statuses");
    if let Some(bad) = statuses.iter().find(|s| !STATUSES.contains(&s.as_str())) {
        return Err(ApiError::invalid(format!(
            "statuses[]: {bad:?} is not a thread status; use running, idle, rescheduling or terminated."
        )));
    }
    if !statuses.is_empty() {
        filters.push(Filter::In("status", statuses));
    }
    let rows = engine
        .store
        .list(ListQuery {
            select: "seq, body",
            from: "threads",
            seq_column: "seq",
            filters,
            order,
            limit: params.limit(1000, 1000)?,
            cursor: params.cursor(order)?,
        })
        .await?;
    let threads = page(rows, false, |row| json(row.get(1)))?;
    Ok(Json(with_durations(threads)))
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
    let scope = scope_of(&engine, &id, &thread_id).await?;
    let order = Order::Asc;
    let rows = engine
        .store
        .list(ListQuery {
            select: "seq, body",
            from: "events",
            seq_column: "seq",
            filters: vec![Filter::Eq("session_id", id), scope.filter()],
            order,
            limit: params.limit(1000, 1000)?,
            cursor: params.cursor(order)?,
        })
        .await?;
    Ok(Json(page(rows, false, |row| json(row.get(1)))?))
}

pub async fn stream(
    State(engine): State<Arc<EngineState>>,
    Path((id, thread_id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    let scope = scope_of(&engine, &id, &thread_id).await?;
    stream_of(engine, id, scope, &params).await
}

/// The events of `thread_id`: the primary thread's are stored without a thread.
async fn scope_of(engine: &EngineState, session_id: &str, thread_id: &str) -> ApiResult<Scope> {
    let thread = engine.thread(session_id, thread_id).await?;
    Ok(Scope::Thread(if thread["parent_thread_id"].is_null() { None } else { Some(thread_id.to_owned()) }))
}

/// Threads' durations are worked out when read.
fn with_durations(mut page: Value) -> Value {
    if let Some(threads) = page["data"].as_array_mut() {
        for thread in threads {
            *thread = crate::domain::threads::with_duration(std::mem::take(thread));
        }
    }
    page
}
