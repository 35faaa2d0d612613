//! The HTTP surface of the engine: the Managed Agents endpoints, authentication, and the
//! request/response plumbing every endpoint shares. Handlers parse the request (its query as
//! [`Params`], a page as [`Paging`]) and answer; the checks and the store are `domain/`'s.

mod agents;
mod deployments;
mod environments;
mod events;
mod files;
mod memory_stores;
mod models;
mod sessions;
mod skills;
mod threads;
mod vaults;
mod work;

use std::sync::Arc;

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request, State},
    http::{HeaderMap, Method, Uri, request::Parts},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::de::DeserializeOwned;

use crate::{
    EngineConfig, EngineState,
    domain::Paging,
    error::{ApiError, ApiResult},
    store::{Cursor, Order},
};

/// The engine's endpoints, behind the key check, each family with its body limit.
pub fn router(state: Arc<EngineState>) -> Router {
    let json_limit = DefaultBodyLimit::max(state.config.max_json_bytes);
    Router::new()
        .merge(agent_routes())
        .merge(session_routes())
        .merge(vault_routes())
        .merge(deployment_routes())
        .merge(memory_store_routes())
        .route("/v1/models", get(models::list))
        .route("/v1/models/{id}", get(models::retrieve))
        .layer(json_limit)
        .merge(upload_routes(&state.config))
        .fallback(no_such_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::map_response(with_request_id))
        .with_state(state)
}

/// Agents and environments.
fn agent_routes() -> Router<Arc<EngineState>> {
    Router::new()
        .route("/v1/agents", get(agents::list).post(agents::create))
        .route("/v1/agents/{id}", get(agents::retrieve).post(agents::update))
        .route("/v1/agents/{id}/archive", post(agents::archive))
        .route("/v1/agents/{id}/versions", get(agents::versions))
        .route("/v1/environments", get(environments::list).post(environments::create))
        .route(
            "/v1/environments/{id}",
            get(environments::retrieve).post(environments::update).delete(environments::delete),
        )
        .route("/v1/environments/{id}/archive", post(environments::archive))
        .route("/v1/environments/{id}/work", get(work::list))
        .route("/v1/environments/{id}/work/poll", get(work::poll))
        .route("/v1/environments/{id}/work/stats", get(work::stats))
        .route("/v1/environments/{id}/work/{work_id}", get(work::retrieve).post(work::update))
        .route("/v1/environments/{id}/work/{work_id}/ack", post(work::ack))
        .route("/v1/environments/{id}/work/{work_id}/heartbeat", post(work::heartbeat))
        .route("/v1/environments/{id}/work/{work_id}/stop", post(work::stop))
}

/// Sessions, their events, threads and resources.
fn session_routes() -> Router<Arc<EngineState>> {
    Router::new()
        .route("/v1/sessions", get(sessions::list).post(sessions::create))
        .route("/v1/sessions/{id}", get(sessions::retrieve).post(sessions::update).delete(sessions::delete))
        .route("/v1/sessions/{id}/archive", post(sessions::archive))
        .route("/v1/sessions/{id}/events", get(events::list).post(events::send))
        .route("/v1/sessions/{id}/events/stream", get(events::stream))
        .route("/v1/sessions/{id}/threads", get(threads::list))
        .route("/v1/sessions/{id}/threads/{thread_id}", get(threads::retrieve))
        .route("/v1/sessions/{id}/threads/{thread_id}/archive", post(threads::archive))
        .route("/v1/sessions/{id}/threads/{thread_id}/events", get(threads::events))
        .route("/v1/sessions/{id}/threads/{thread_id}/stream", get(threads::stream))
        .route("/v1/sessions/{id}/resources", get(sessions::list_resources).post(sessions::add_resource))
        .route(
            "/v1/sessions/{id}/resources/{resource_id}",
            get(sessions::retrieve_resource).post(sessions::update_resource).delete(sessions::delete_resource),
        )
}

/// Vaults and their credentials.
fn vault_routes() -> Router<Arc<EngineState>> {
    Router::new()
        .route("/v1/vaults", get(vaults::list).post(vaults::create))
        .route("/v1/vaults/{id}", get(vaults::retrieve).post(vaults::update).delete(vaults::delete))
        .route("/v1/vaults/{id}/archive", post(vaults::archive))
        .route("/v1/vaults/{id}/credentials", get(vaults::list_credentials).post(vaults::create_credential))
        .route(
            "/v1/vaults/{id}/credentials/{credential_id}",
            get(vaults::retrieve_credential).post(vaults::update_credential).delete(vaults::delete_credential),
        )
        .route("/v1/vaults/{id}/credentials/{credential_id}/archive", post(vaults::archive_credential))
        .route("/v1/vaults/{id}/credentials/{credential_id}/mcp_oauth_validate", post(vaults::validate_credential))
}

/// Deployments and their runs.
fn deployment_routes() -> Router<Arc<EngineState>> {
    Router::new()
        .route("/v1/deployments", get(deployments::list).post(deployments::create))
        .route("/v1/deployments/{id}", get(deployments::retrieve).post(deployments::update))
        .route("/v1/deployments/{id}/archive", post(deployments::archive))
        .route("/v1/deployments/{id}/pause", post(deployments::pause))
        .route("/v1/deployments/{id}/unpause", post(deployments::unpause))
        .route("/v1/deployments/{id}/run", post(deployments::run))
        .route("/v1/deployment_runs", get(deployments::list_runs))
        .route("/v1/deployment_runs/{id}", get(deployments::retrieve_run))
}

/// Memory stores, their memories and the versions of those.
fn memory_store_routes() -> Router<Arc<EngineState>> {
    Router::new()
        .route("/v1/memory_stores", get(memory_stores::list).post(memory_stores::create))
        .route(
            "/v1/memory_stores/{id}",
            get(memory_stores::retrieve).post(memory_stores::update).delete(memory_stores::delete),
        )
        .route("/v1/memory_stores/{id}/archive", post(memory_stores::archive))
        .route("/v1/memory_stores/{id}/memories", get(memory_stores::list_memories).post(memory_stores::create_memory))
        .route(
            "/v1/memory_stores/{id}/memories/{memory_id}",
            get(memory_stores::retrieve_memory).post(memory_stores::update_memory).delete(memory_stores::delete_memory),
        )
        .route("/v1/memory_stores/{id}/memory_versions", get(memory_stores::list_versions))
        .route("/v1/memory_stores/{id}/memory_versions/{version_id}", get(memory_stores::retrieve_version))
        .route("/v1/memory_stores/{id}/memory_versions/{version_id}/redact", post(memory_stores::redact_version))
}

/// Files and skills, whose uploads have limits of their own (the rest take JSON bodies up to
/// `max_json_bytes`).
fn upload_routes(config: &EngineConfig) -> Router<Arc<EngineState>> {
    let upload_limit = DefaultBodyLimit::max(config.max_upload_bytes as usize + 64 * 1024);
    // The handlers count a skill's bytes themselves (413 past the limit); the envelope of many
    // small parts is bigger than one file's.
    let skill_limit = DefaultBodyLimit::max(config.max_skill_bytes as usize + 1024 * 1024);
    Router::new()
        .route("/v1/files", get(files::list).post(files::upload).layer(upload_limit))
        .route("/v1/files/{id}", get(files::retrieve).delete(files::delete))
        .route("/v1/files/{id}/content", get(files::content))
        .route("/v1/skills", get(skills::list).post(skills::create).layer(skill_limit))
        .route("/v1/skills/{id}", get(skills::retrieve).delete(skills::delete))
        .route("/v1/skills/{id}/versions", get(skills::list_versions).post(skills::create_version).layer(skill_limit))
        .route("/v1/skills/{id}/versions/{version}", get(skills::retrieve_version).delete(skills::delete_version))
        .route("/v1/skills/{id}/versions/{version}/content", get(skills::content))
}

/// Every answer carries a `request-id`, as the API's do (an error has its own already, the one
/// its body names): the SDKs print it beside an error, and Switchboard's gateway passes it on.
async fn with_request_id(mut response: Response) -> Response {
    if !response.headers().contains_key("request-id")
        && let Ok(value) = axum::http::HeaderValue::from_str(&crate::ids::new_id("req"))
    {
        response.headers_mut().insert("request-id", value);
    }
    response
}

async fn no_such_endpoint(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found("endpoint", &format!("{method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        protocol::error::ErrorType::InvalidRequestError,
        format!("{method} is not allowed on {}.", uri.path()),
    )
}

/// Checks the credential (`x-api-key` or `Authorization: Bearer`: the API key, an environment
/// key, or a work item's sessions token; [`work::authorize`] says what each reaches) and the beta
/// header of the path's resource family ([`protocol::beta::FAMILIES`]: none for files and skills).
async fn authenticate(State(state): State<Arc<EngineState>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let given = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")));
    let Some(given) = given else {
        return ApiError::unauthorized(
            "No API key: send it as the x-api-key header or as Authorization: Bearer <key>.",
        )
        .into_response();
    };
    let caller = match state.caller(given.trim()).await {
        Ok(Some(caller)) => caller,
        Ok(None) => {
            return ApiError::unauthorized(
                "invalid x-api-key: this key is not the engine's key, an environment key, or the token of a work item that is still live.",
            )
            .into_response();
        }
        Err(error) => return error.into_response(),
    };
    let path = request.uri().path();
    if let Err(error) = work::authorize(&state, &caller, request.method(), path).await {
        return error.into_response();
    }
    let beta_missing = protocol::beta::beta_for(path).filter(|_| !has_beta(headers, path));
    if let Some(beta) = beta_missing {
        return ApiError::invalid(format!(
            "{path} is a beta endpoint: send the header anthropic-beta: {beta} (the SDK's client.beta methods do)."
        ))
        .into_response();
    }
    // Handlers that narrow what a credential may do (a worker's sends only results) read it.
    let mut request = request;
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Whether the request sends a beta that `path`'s family accepts.
fn has_beta(headers: &HeaderMap, path: &str) -> bool {
    headers
        .get_all("anthropic-beta")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|b| protocol::beta::accepts(path, b.trim()))
}

/// A JSON body; a body that does not parse is a 400 that says where and why.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large("The request body is larger than the engine accepts.")
            } else {
                ApiError::invalid(format!("The request body could not be read: {}", rejection.body_text()))
            }
        })?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &bytes };
        serde_json::from_slice(text)
            .map(ApiJson)
            .map_err(|error| ApiError::invalid(format!("The request body is not valid: {error}.")))
    }
}

/// The query string, with the API's `name[]=…` arrays and `name[op]=…` ranges.
pub struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        Ok(Params(form_urlencoded::parse(query.as_bytes()).into_owned().collect()))
    }
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of `name[]` (and of a bare repeated `name`).
    pub fn all(&self, name: &str) -> Vec<String> {
        let bracketed = format!("{name}[]");
        self.0.iter().filter(|(k, _)| *k == bracketed || k == name).map(|(_, v)| v.clone()).collect()
    }

    pub fn int(&self, name: &str, min: i64, max: i64) -> ApiResult<Option<i64>> {
        let Some(text) = self.get(name) else { return Ok(None) };
        match text.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(ApiError::invalid(format!("{name} must be a whole number from {min} to {max}, not {text:?}."))),
        }
    }

    pub fn limit(&self, default: i64, max: i64) -> ApiResult<i64> {
        Ok(self.int("limit", 1, max)?.unwrap_or(default))
    }

    /// The same query with `limit` lowered to `cap` where it asks for more (a page of full
    /// memory versions holds at most 20, whatever the limit).
    pub fn cap_limit(mut self, cap: i64) -> Params {
        for (key, value) in &mut self.0 {
            if key == "limit" && value.parse::<i64>().is_ok_and(|n| n > cap) {
                *value = cap.to_string();
            }
        }
        self
    }

    pub fn bool(&self, name: &str) -> ApiResult<bool> {
        match self.get(name) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(ApiError::invalid(format!("{name} must be true or false, not {other:?}."))),
        }
    }

    pub fn order(&self, default: Order) -> ApiResult<Order> {
        Order::parse(self.get("order"), default)
    }

    pub fn cursor(&self, order: Order) -> ApiResult<Option<Cursor>> {
        self.get("page").filter(|p| !p.is_empty()).map(|p| Cursor::decode(p, order)).transpose()
    }

    /// The page asked for, in `order`: `limit` (`default` unless given, at most `max`), then
    /// `page`, a cursor of that order.
    pub fn paging(&self, order: Order, default: i64, max: i64) -> ApiResult<Paging> {
        let limit = self.limit(default, max)?;
        Ok(Paging { order, limit, cursor: self.cursor(order)? })
    }

    /// `name[gt|gte|lt|lte]` (or `name_gt` and so on, as the SDK writes the deployment filters)
    /// as (operator, microseconds).
    pub fn ranges(&self, name: &str) -> ApiResult<Vec<(&'static str, i64)>> {
        let mut ranges = Vec::new();
        for (op, cmp) in [("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<=")] {
            let text = self.get(&format!("{name}[{op}]")).or_else(|| self.get(&format!("{name}_{op}")));
            if let Some(text) = text {
                let micros = crate::ids::parse_datetime(text).ok_or_else(|| {
                    ApiError::invalid(format!("{name}[{op}] must be an RFC 3339 datetime, not {text:?}."))
                })?;
                ranges.push((cmp, micros));
            }
        }
        Ok(ranges)
    }
}
