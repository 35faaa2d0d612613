//! `/v1/environments/{id}/work`: a self-hosted environment's queue as workers and consoles use it,
//! and which credential reaches which endpoint ([`authorize`]).

use std::{sync::Arc, time::Duration};

use axum::{
    Extension, Json,
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
    Extension(caller): Extension<Caller>,
    params: Params,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    // Only an environment key polls (`authorize`); the tokens it is handed die with it.
    let Caller::Environment { key_id, .. } = caller else {
        return Err(forbidden("Polling takes the environment's key."));
    };
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
            &key_id,
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
    Extension(caller): Extension<Caller>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let ttl = params.int("desired_ttl_seconds", 1, 3600)?.map(|n| n as u64);
    if matches!(caller, Caller::Superseded { .. }) {
        return Err(engine.lease_lost(&environment_id, &work_id, ttl).await?);
    }
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

/// Whether `caller` may send `method` to `path`: the route × credential table of
/// `docs/engine.md` ("Who reaches what"). The API key reaches everything but a worker's own calls
/// (listing and polling work, acking). A worker's credentials reach what the SDK's
/// `EnvironmentWorker` calls and nothing more: an environment key its environment's queue and
/// reading the sessions that run on it; a sessions token its own item's heartbeat and stop,
/// reading its one session, the skills its agent runs, and the memory stores attached to it as
/// the attachment allows (`read_only`: read; `read_write`: its memories written too). Neither
/// sends an event but a tool's result ([`results_only`]), so a confirmation or a message comes only
/// through the console's approvals; neither changes a store itself or redacts its history.
pub async fn authorize(engine: &EngineState, caller: &Caller, method: &Method, path: &str) -> ApiResult<()> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(2).collect();
    if let Caller::Superseded { work_id, environment_id } = caller {
        // The previous holder's token: its heartbeat is told 412 (the handler answers it),
        // everything else is refused as an unknown credential.
        let own_beat = matches!(segments.as_slice(), ["environments", env, "work", item, "heartbeat"]
            if env == environment_id && item == work_id);
        return match own_beat && *method == Method::POST {
            true => Ok(()),
            false => Err(ApiError::unauthorized(
                "invalid x-api-key: this token's work item went to another worker (its lease ran out, or another poll took it); it reaches nothing.",
            )),
        };
    }
    let allowed = match reach(caller, method, &segments) {
        Reach::Yes => true,
        Reach::No => false,
        Reach::Refused(message) => return Err(forbidden(message)),
        Reach::SessionOnEnvironment(session) => {
            let Caller::Environment { environment_id: env, .. } = caller else { return Ok(()) };
            engine.self_hosted_environment(session).await?.as_deref() == Some(env.as_str())
        }
        Reach::SkillOfSession(skill) => {
            let Caller::Work { session_id, .. } = caller else { return Ok(()) };
            let (_, session) = engine.session(session_id).await?;
            session["agent"]["skills"].as_array().into_iter().flatten().any(|s| s["skill_id"] == *skill)
        }
        Reach::AttachedStore { store, write } => {
            let Caller::Work { session_id, .. } = caller else { return Ok(()) };
            let (_, session) = engine.session(session_id).await?;
            let attached: Vec<&Value> = session["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["type"] == "memory_store" && r["memory_store_id"] == *store)
                .collect();
            if write && !attached.is_empty() && attached.iter().all(|r| r["access"] == "read_only") {
                return Err(forbidden(format!(
                    "Memory store {store} is attached to this session read_only: a worker reads its memories and writes none."
                )));
            }
            !attached.is_empty()
        }
    };
    match (allowed, caller) {
        (true, _) => Ok(()),
        (false, Caller::Environment { .. }) => Err(forbidden(format!(
            "An environment key reaches only its own environment's work queue and reads the sessions that run on it, not {method} {path}; use the API key."
        ))),
        (false, _) => Err(forbidden(format!(
            "A work item's sessions token reaches only that item, its own session and what the session runs, not {method} {path}; use the API key."
        ))),
    }
}

/// What a request may reach, before what only the store can tell.
enum Reach<'a> {
    Yes,
    No,
    /// Refused, with words of its own.
    Refused(&'static str),
    /// Yes if the session runs on the environment key's environment.
    SessionOnEnvironment(&'a str),
    /// Yes if the token's session's agent runs the skill.
    SkillOfSession(&'a str),
    /// Yes if the store is attached to the token's session (read_write when it `write`s).
    AttachedStore {
        store: &'a str,
        write: bool,
    },
}

fn reach<'a>(caller: &Caller, method: &Method, segments: &[&'a str]) -> Reach<'a> {
    let (get, post) = (*method == Method::GET, *method == Method::POST);
    let yes = |allowed: bool| if allowed { Reach::Yes } else { Reach::No };
    match (caller, segments) {
        (Caller::Api, ["environments", _, "work"] | ["environments", _, "work", "poll"]) => Reach::Refused(
            "Listing and polling an environment's work take its environment key (as the API does), not the API key; a console reads the queue with GET …/work/stats and each item by id.",
        ),
        (Caller::Api, ["environments", _, "work", _, "ack"]) => {
            Reach::Refused("Acknowledging work takes the environment key of its environment, not the API key.")
        }
        (Caller::Api, _) => Reach::Yes,
        (Caller::Environment { environment_id: env, .. }, ["environments", id, "work", rest @ ..]) => yes(id == env
            && match rest {
                [] | ["poll" | "stats"] => get,
                [item, "ack" | "heartbeat" | "stop"] => post && !matches!(*item, "poll" | "stats"),
                _ => false,
            }),
        (Caller::Work { work_id, environment_id, .. }, ["environments", id, "work", item, "heartbeat" | "stop"]) => {
            yes(post && id == environment_id && item == work_id)
        }
        (Caller::Environment { .. }, ["sessions", session, rest @ ..]) if session_scope(rest, method) => {
            Reach::SessionOnEnvironment(session)
        }
        (Caller::Work { session_id, .. }, ["sessions", session, rest @ ..]) => {
            yes(session == session_id && session_scope(rest, method))
        }
        (Caller::Work { .. }, ["skills", skill, "versions", _] | ["skills", skill, "versions", _, "content"])
            if get =>
        {
            Reach::SkillOfSession(skill)
        }
        // The memories of a store attached to the session, as the SDK's worker syncs them: list
        // and read them; create, update and delete them where the attachment is read_write.
        // Never the store itself or its history.
        (Caller::Work { .. }, ["memory_stores", store, rest @ ..]) => match rest {
            ["memories"] | ["memories", _] if get => Reach::AttachedStore { store, write: false },
            ["memories"] | ["memories", _] if post || *method == Method::DELETE => {
                Reach::AttachedStore { store, write: true }
            }
            ["memories", ..] | ["memory_versions", ..] | [] if get => Reach::No,
            _ => Reach::Refused(
                "A worker's credential never changes a memory store itself, archives or deletes it, or redacts its history: use the API key.",
            ),
        },
        _ => Reach::No,
    }
}

/// What a worker does with its session: read it, its events, threads and streams, and send
/// events (which [`results_only`] narrows to tools' results).
fn session_scope(rest: &[&str], method: &Method) -> bool {
    match rest {
        [] | ["events", "stream"] | ["threads"] | ["threads", _] | ["threads", _, "events" | "stream"] => {
            *method == Method::GET
        }
        ["events"] => *method == Method::GET || *method == Method::POST,
        _ => false,
    }
}

/// The events a worker's credential may send: the results of the tool calls it ran. A
/// confirmation, a message, an interrupt or an outcome comes from a person, through the console's
/// approval service (and its two-approver rule, deadlines, audit); from a worker it is a 403.
pub fn results_only(caller: &Caller, types: impl IntoIterator<Item = impl AsRef<str>>) -> ApiResult<()> {
    if *caller == Caller::Api {
        return Ok(());
    }
    match types.into_iter().find(|t| !matches!(t.as_ref(), "user.tool_result" | "user.custom_tool_result")) {
        None => Ok(()),
        Some(other) => Err(forbidden(format!(
            "A worker's credential sends only user.tool_result and user.custom_tool_result, not {}: confirmations and messages come from people, through the API key's holder.",
            other.as_ref()
        ))),
    }
}

fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, protocol::error::ErrorType::PermissionError, message)
}
