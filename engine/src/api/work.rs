//! `/v1/environments/{id}/work`: a self-hosted environment's queue as workers and consoles use it,
//! and which credential reaches which endpoint ([`authorize`]).

use std::{sync::Arc, time::Duration};

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use super::{ApiJson, Params};
use crate::{
    EngineState,
    domain::work::Caller,
    error::{ApiError, ApiResult},
    store::Order,
};

/// The longest a poll waits for work (`block_ms` above it is capped, as the API does).
const MAX_BLOCK_MS: i64 = 999;
/// How long a polled item no one acked stays with its poller, unless the poll says otherwise.
const DEFAULT_RECLAIM_MS: i64 = 5000;

pub async fn list(
    State(engine): State<Arc<EngineState>>,
    Path(environment_id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let paging = params.paging(Order::Asc, 20, 100)?;
    Ok(Json(engine.list_work(&environment_id, paging).await?))
}

pub async fn poll(
    State(engine): State<Arc<EngineState>>,
    Path(environment_id): Path<String>,
    params: Params,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    if params.get("block_ms") == Some("0") {
        return Err(ApiError::invalid("block_ms must be from 1 to 999 (omit it not to wait at all)."));
    }
    let block_ms = params.int("block_ms", 1, i64::MAX)?.unwrap_or(0).min(MAX_BLOCK_MS);
    let reclaim_ms = params.int("reclaim_older_than_ms", 0, i64::MAX)?.unwrap_or(DEFAULT_RECLAIM_MS);
    let worker: Option<String> =
        headers.get("anthropic-worker-id").and_then(|v| v.to_str().ok()).map(|w| w.chars().take(200).collect());
    let item = engine
        .poll_work(
            &environment_id,
            worker.as_deref(),
            Duration::from_millis(block_ms as u64),
            Duration::from_millis(reclaim_ms as u64),
        )
        .await?;
    Ok(Json(item))
}

pub async fn stats(
    State(engine): State<Arc<EngineState>>,
    Path(environment_id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.work_stats(&environment_id).await?))
}

pub async fn retrieve(
    State(engine): State<Arc<EngineState>>,
    Path((environment_id, work_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.retrieve_work(&environment_id, &work_id).await?))
}

pub async fn update(
    State(engine): State<Arc<EngineState>>,
    Path((environment_id, work_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let Some(metadata) = body.get("metadata") else {
        return Err(ApiError::invalid("metadata: required; send the keys to set (strings) or delete (null)."));
    };
    Ok(Json(engine.update_work(&environment_id, &work_id, metadata).await?))
}

pub async fn ack(
    State(engine): State<Arc<EngineState>>,
    Path((environment_id, work_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.ack_work(&environment_id, &work_id).await?))
}

pub async fn heartbeat(
    State(engine): State<Arc<EngineState>>,
    Path((environment_id, work_id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let ttl = params.int("desired_ttl_seconds", 1, 3600)?.map(|n| n as u64);
    let expected = params.get("expected_last_heartbeat");
    Ok(Json(engine.heartbeat_work(&environment_id, &work_id, expected, ttl).await?))
}

/// A stopped item is a 409 the SDK should not retry.
pub async fn stop(
    State(engine): State<Arc<EngineState>>,
    Path((environment_id, work_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, Response> {
    let force = match body.get("force") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(force)) => *force,
        Some(_) => return Err(ApiError::invalid("force must be true or false.").into_response()),
    };
    match engine.stop_work(&environment_id, &work_id, force).await {
        Ok(item) => Ok(Json(item)),
        Err(error) => {
            let conflict = error.status == StatusCode::CONFLICT;
            let mut response = error.into_response();
            if conflict {
                response.headers_mut().insert("x-should-retry", HeaderValue::from_static("false"));
            }
            Err(response)
        }
    }
}

/// Whether `caller` may send `method` to `path`. The API key reaches everything but a worker's
/// own calls (listing and polling work, acking); an environment key reaches its environment's
/// queue and the sessions that run on it; a sessions token reaches its item's heartbeat and stop
/// and its one session (events, threads, the memory stores attached to it), and skills.
pub async fn authorize(engine: &EngineState, caller: &Caller, method: &Method, path: &str) -> ApiResult<()> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(2).collect();
    let reading = *method == Method::GET;
    let allowed = match (caller, segments.as_slice()) {
        (Caller::Api, ["environments", _, "work"] | ["environments", _, "work", "poll"]) => {
            return Err(forbidden(
                "Listing and polling an environment's work take its environment key (as the API does), not the API key; a console reads the queue with GET …/work/stats and each item by id.",
            ));
        }
        (Caller::Api, ["environments", _, "work", _, "ack"]) => {
            return Err(forbidden("Acknowledging work takes the environment key of its environment, not the API key."));
        }
        (Caller::Api, _) => true,
        (Caller::Environment(env), ["environments", id, "work", rest @ ..]) => {
            id == env && matches!(rest, [] | ["poll" | "stats"] | [_, "ack" | "heartbeat" | "stop"])
        }
        (Caller::Work { work_id, environment_id, .. }, ["environments", id, "work", item, "heartbeat" | "stop"]) => {
            id == environment_id && item == work_id
        }
        (Caller::Environment(_) | Caller::Work { .. }, ["skills", ..]) => reading,
        (Caller::Environment(env), ["sessions", session, rest @ ..]) => {
            session_scope(rest, method)
                && engine.self_hosted_environment(session).await?.as_deref() == Some(env.as_str())
        }
        (Caller::Work { session_id, .. }, ["sessions", session, rest @ ..]) => {
            session == session_id && session_scope(rest, method)
        }
        (Caller::Work { session_id, .. }, ["memory_stores", store, ..]) => {
            let (_, session) = engine.session(session_id).await?;
            session["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| r["type"] == "memory_store" && r["memory_store_id"] == *store)
        }
        _ => false,
    };
    match (allowed, caller) {
        (true, _) => Ok(()),
        (false, Caller::Environment(_)) => Err(forbidden(format!(
            "An environment key reaches only its own environment's work queue and the sessions that run on it, not {method} {path}; use the API key."
        ))),
        (false, _) => Err(forbidden(format!(
            "A work item's sessions token reaches only that item and its own session, not {method} {path}; use the API key."
        ))),
    }
}

/// What a worker does with its session: read it, its events and threads, and send events.
fn session_scope(rest: &[&str], method: &Method) -> bool {
    match rest {
        [] | ["events", "stream"] | ["threads", ..] => *method == Method::GET,
        ["events"] => *method == Method::GET || *method == Method::POST,
        _ => false,
    }
}

fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, protocol::error::ErrorType::PermissionError, message)
}
