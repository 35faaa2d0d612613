//! `GET /api/sessions/{id}/stream`: a session's events for one browser, through the stream hub.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use app::error::{AppError, ErrorKind};
use axum::{
    Extension, Json,
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::Deserialize;

use crate::{
    access::{LoginCheck, LoginEnds},
    hub::Hub,
};

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
    ends: Option<Extension<LoginEnds>>,
    check: Option<Extension<LoginCheck>>,
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
        Ok(frames) => event_stream(until_signed_out(frames, ends.map(|e| e.0), check.map(|c| c.0), hub.heartbeat())),
        Err(error) => refuse(error),
    }
}

/// An SSE response of `frames`.
pub fn event_stream(frames: impl Stream<Item = Bytes> + Send + 'static) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        // Proxies in front of Switchboard must pass frames on at once.
        .header("x-accel-buffering", "no")
        .body(Body::from_stream(frames.map(Ok::<_, std::convert::Infallible>)))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// `frames` until the login ends: at its absolute expiry, or when a check (with every heartbeat)
/// finds it void: the person signed out, the account was disabled or given a new password. The
/// browser then gets `event: signed_out` and asks the person to sign in again (keeping what they
/// typed).
pub fn until_signed_out(
    frames: impl Stream<Item = Bytes> + Send + 'static,
    ends: Option<LoginEnds>,
    check: Option<LoginCheck>,
    every: Duration,
) -> impl Stream<Item = Bytes> + Send + 'static {
    let signed_out = Arc::new(AtomicBool::new(false));
    let ended = {
        let signed_out = signed_out.clone();
        async move {
            loop {
                let next_check = Instant::now() + every;
                match ends {
                    Some(LoginEnds(end)) if end <= next_check => {
                        tokio::time::sleep_until(end.into()).await;
                        break;
                    }
                    _ => tokio::time::sleep_until(next_check.into()).await,
                }
                if let Some(check) = &check
                    && !check.still_valid().await
                {
                    break;
                }
            }
            signed_out.store(true, Ordering::Relaxed);
        }
    };
    let farewell = futures::stream::once(async move {
        signed_out.load(Ordering::Relaxed).then(|| Bytes::from_static(b"event: signed_out\ndata: {}\n\n"))
    })
    .filter_map(std::future::ready);
    frames.take_until(ended).chain(farewell)
}

fn refuse(error: AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_GATEWAY);
    (status, Json(error)).into_response()
}
