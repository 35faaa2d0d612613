//! `GET /api/sessions/{id}/stream`: a session's events for one browser, through the stream hub.

use std::sync::Arc;

use app::error::{AppError, ErrorKind};
use axum::{
    Json,
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::StreamExt;
use serde::Deserialize;

use crate::hub::Hub;

#[derive(Debug, Deserialize)]
pub struct StreamQuery {
    /// The last sequence number the page already has, for its first connection; a reconnecting
    /// `EventSource` sends `Last-Event-ID` instead, which wins.
    after: Option<String>,
}

pub async fn stream(
    State(hub): State<Arc<Hub>>,
    Path(id): Path<String>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
) -> Response {
    if !app::api::is_id(&id) {
        return refuse(AppError::new(ErrorKind::BadInput, format!("{id:?} is not a session id.")));
    }
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_owned).or(query.after);
    let after = match resume.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => 0,
        Some(value) => match value.parse::<u64>() {
            Ok(n) => n,
            Err(_) => {
                return refuse(AppError::new(
                    ErrorKind::BadInput,
                    format!("Last-Event-ID {value:?} is not a sequence number this server sent; reload the page."),
                ));
            }
        },
    };
    match hub.watch(&id, after).await {
        Ok(frames) => Response::builder()
            .header(header::CONTENT_TYPE, "text/event-stream")
            .header(header::CACHE_CONTROL, "no-cache")
            // Proxies in front of Switchboard must pass frames on at once.
            .header("x-accel-buffering", "no")
            .body(Body::from_stream(frames.map(Ok::<_, std::convert::Infallible>)))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        Err(error) => refuse(error),
    }
}

fn refuse(error: AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_GATEWAY);
    (status, Json(error)).into_response()
}
