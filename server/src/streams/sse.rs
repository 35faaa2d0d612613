//! Server-sent events as Switchboard sends them: the one frame renderer, the frames that are
//! Switchboard's own (`status`, `ping`, `signed_out`), and the response that carries a stream
//! for as long as the person's login stands. Frame names and payloads: `domain::sse`.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Extension,
    body::Body,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use domain::sse::{self, LinkState, Status};
use futures::{Stream, StreamExt};

use crate::access::LoginCheck;

/// One SSE frame named `name`, with `id:` when given; `data` may span lines.
pub fn render(id: Option<u64>, name: &str, data: &str) -> Bytes {
    let mut frame = String::with_capacity(data.len() + name.len() + 32);
    if let Some(id) = id {
        frame.push_str("id: ");
        frame.push_str(&id.to_string());
        frame.push('\n');
    }
    frame.push_str("event: ");
    frame.push_str(name);
    frame.push('\n');
    for line in data.split('\n') {
        frame.push_str("data: ");
        frame.push_str(line.trim_end_matches('\r'));
        frame.push('\n');
    }
    frame.push('\n');
    Bytes::from(frame)
}

/// A frame as [`render`] made it: its id, name and data (its `data:` lines joined again); `None`
/// for a frame without a name.
pub fn parse(frame: &[u8]) -> Option<(Option<u64>, String, String)> {
    let text = std::str::from_utf8(frame).ok()?;
    let (mut id, mut name, mut data) = (None, None, Vec::new());
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("id: ") {
            id = value.parse().ok();
        } else if let Some(value) = line.strip_prefix("event: ") {
            name = Some(value.to_owned());
        } else if let Some(value) = line.strip_prefix("data: ") {
            data.push(value);
        }
    }
    Some((id, name?, data.join("\n")))
}

/// The heartbeat, `event: ping`.
pub static PING: Bytes = Bytes::from_static(b"event: ping\ndata: {}\n\n");

/// The last frame of a stream whose login ended, `event: signed_out`.
pub static SIGNED_OUT: Bytes = Bytes::from_static(b"event: signed_out\ndata: {}\n\n");

/// A `status` frame: the hub's link to the API, and why when it is not live.
pub fn status(state: LinkState, message: Option<&str>) -> Bytes {
    let status = Status { state, message: message.map(str::to_owned) };
    render(None, sse::STATUS, &serde_json::to_string(&status).unwrap_or_default())
}

/// A `reset` frame: the viewer must forget its events; the history follows from number 1.
pub fn reset(message: &str) -> Bytes {
    let reset = sse::Reset { message: message.to_owned() };
    render(None, sse::RESET, &serde_json::to_string(&reset).unwrap_or_default())
}

/// An SSE response of `frames` for as long as the request's login stands, with a check every
/// `every` (see [`until_signed_out`]).
pub fn signed_in_stream(
    frames: impl Stream<Item = Bytes> + Send + 'static,
    login: Option<Extension<LoginCheck>>,
    every: Duration,
) -> Response {
    response(until_signed_out(frames, login.map(|l| l.0), every))
}

/// An SSE response of `frames`.
pub fn response(frames: impl Stream<Item = Bytes> + Send + 'static) -> Response {
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
        let mut rechecks = check.as_ref().map(|check| check.rechecks.clone());
        async move {
            loop {
                let next_check = Instant::now() + every;
                let recheck = async {
                    let changed = match rechecks.as_mut() {
                        Some(rechecks) => rechecks.changed().await.is_ok(),
                        None => false,
                    };
                    if !changed {
                        std::future::pending::<()>().await;
                    }
                };
                match &check {
                    Some(check) if check.ends <= next_check => {
                        tokio::select! {
                            () = tokio::time::sleep_until(check.ends.into()) => break,
                            () = recheck => {}
                        }
                    }
                    _ => tokio::select! {
                        () = tokio::time::sleep_until(next_check.into()) => {}
                        () = recheck => {}
                    },
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
    let farewell = futures::stream::once(async move { signed_out.load(Ordering::Relaxed).then(|| SIGNED_OUT.clone()) })
        .filter_map(std::future::ready);
    frames.take_until(ended).chain(farewell)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_spans_the_lines_of_its_data() {
        assert_eq!(render(Some(7), sse::EVENT, "{\"a\":\r\n1}"), "id: 7\nevent: event\ndata: {\"a\":\ndata: 1}\n\n");
        assert_eq!(status(LinkState::Live, None), "event: status\ndata: {\"state\":\"live\"}\n\n");
        assert_eq!(PING, format!("event: {}\ndata: {{}}\n\n", sse::PING));
        assert_eq!(SIGNED_OUT, format!("event: {}\ndata: {{}}\n\n", sse::SIGNED_OUT));
    }

    #[test]
    fn a_frame_parses_back_to_what_made_it() {
        let frame = render(Some(7), sse::EVENT, "{\"a\":\n1}");
        assert_eq!(parse(&frame), Some((Some(7), sse::EVENT.to_owned(), "{\"a\":\n1}".to_owned())));
        assert_eq!(parse(&PING), Some((None, sse::PING.to_owned(), "{}".to_owned())));
        assert_eq!(parse(b"data: x\n\n"), None);
    }
}
