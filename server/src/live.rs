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
    Extension,
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::Deserialize;

use crate::{access::LoginCheck, hub::Hub};

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

/// An SSE response of `frames` for as long as the request's login stands, with a check every
/// `every` (see [`until_signed_out`]).
pub fn signed_in_stream(
    frames: impl Stream<Item = Bytes> + Send + 'static,
    login: Option<Extension<LoginCheck>>,
    every: Duration,
) -> Response {
    let frames = until_signed_out(frames, login.map(|l| l.0), every);
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
fn until_signed_out(
    frames: impl Stream<Item = Bytes> + Send + 'static,
    check: Option<LoginCheck>,
    every: Duration,
) -> impl Stream<Item = Bytes> + Send + 'static {
    let signed_out = Arc::new(AtomicBool::new(false));
    let ended = {
        let signed_out = signed_out.clone();
        async move {
            loop {
                let next_check = Instant::now() + every;
                match &check {
                    Some(check) if check.ends <= next_check => {
                        tokio::time::sleep_until(check.ends.into()).await;
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
