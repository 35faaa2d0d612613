//! `GET /api/sessions/{id}/stream` and `GET /api/sessions/{id}/threads/{thread_id}/stream`: a
//! session's events, or one of its threads', for one browser, through the stream hub.

use std::sync::Arc;

use axum::{
    Extension,
    extract::{Path, Query},
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use domain::error::{AppError, ErrorKind};
use serde::Deserialize;

use crate::{access::LoginCheck, streams::hub::Hub, streams::sse::signed_in_stream};

#[derive(Debug, Deserialize)]
pub struct StreamQuery {
    /// The last sequence number the page already has, for its first connection; a reconnecting
    /// `EventSource` sends `Last-Event-ID` instead, which wins.
    after: Option<String>,
}

pub async fn stream(
    axum::Extension(hub): axum::Extension<Arc<Hub>>,
    Path(id): Path<String>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
    login: Option<Extension<LoginCheck>>,
) -> Response {
    watch(&hub, &id, None, &headers, query, login).await
}

/// `GET /api/sessions/{id}/threads/{thread_id}/stream`: one thread's events, through the hub,
/// with the same frames and resumption as a session's.
pub async fn thread_stream(
    axum::Extension(hub): axum::Extension<Arc<Hub>>,
    Path((id, thread_id)): Path<(String, String)>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
    login: Option<Extension<LoginCheck>>,
) -> Response {
    watch(&hub, &id, Some(&thread_id), &headers, query, login).await
}

/// The hub's stream of the session, or of its thread, for this browser from where it resumes.
async fn watch(
    hub: &Arc<Hub>,
    id: &str,
    thread_id: Option<&str>,
    headers: &HeaderMap,
    query: StreamQuery,
    login: Option<Extension<LoginCheck>>,
) -> Response {
    for (value, what) in [(Some(id), "session"), (thread_id, "thread")] {
        if let Some(value) = value
            && !domain::upstream::is_id(value)
        {
            return AppError::new(ErrorKind::BadInput, format!("{value:?} is not a {what} id.")).into_response();
        }
    }
    let after = match resume(headers, query) {
        Ok(after) => after,
        Err(error) => return error.into_response(),
    };
    match hub.watch_feed(id, thread_id, after).await {
        Ok(frames) => signed_in_stream(frames, login, hub.heartbeat()),
        Err(error) => error.into_response(),
    }
}

/// The last sequence number the page has: `Last-Event-ID` when its `EventSource` reconnects,
/// else `?after=`, else 0.
pub fn resume(headers: &HeaderMap, query: StreamQuery) -> Result<u64, AppError> {
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_owned).or(query.after);
    match resume.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(0),
        Some(value) => value.parse::<u64>().map_err(|_| {
            AppError::new(
                ErrorKind::BadInput,
                format!("Last-Event-ID {value:?} is not a sequence number this server sent; reload the page."),
            )
        }),
    }
}
