//! `GET /api/sessions/{id}/stream`: a session's events for one browser, through the stream hub.

use std::sync::Arc;

use app::error::{AppError, ErrorKind};
use axum::{
    Extension,
    extract::{Path, Query, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::{access::LoginCheck, hub::Hub, sse::signed_in_stream};

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
    login: Option<Extension<LoginCheck>>,
) -> Response {
    if !app::api::is_id(&id) {
        return AppError::new(ErrorKind::BadInput, format!("{id:?} is not a session id.")).into_response();
    }
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_owned).or(query.after);
    let after = match resume.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => 0,
        Some(value) => match value.parse::<u64>() {
            Ok(n) => n,
            Err(_) => {
                return AppError::new(
                    ErrorKind::BadInput,
                    format!("Last-Event-ID {value:?} is not a sequence number this server sent; reload the page."),
                )
                .into_response();
            }
        },
    };
    match hub.watch(&id, after).await {
        Ok(frames) => signed_in_stream(frames, login, hub.heartbeat()),
        Err(error) => error.into_response(),
    }
}
