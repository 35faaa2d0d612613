//! A session's or thread's event stream for a program, from the workspace's stream hub: one
//! upstream stream per session whatever mix of browsers and programs watch it. The hub's frames
//! are Switchboard's own (`domain::sse`); a program gets the API's: each event named by its type
//! with its JSON as the upstream sent it, no sequence numbers, previews only of the kinds it asked
//! for (`event_deltas[]`), live only, as the API's stream is. The stream ends when the token is
//! revoked or expires, or its owner is disabled (checked every [`CHECK_EVERY`]).

use std::{collections::HashSet, sync::Arc, time::Duration};

use axum::{http::StatusCode, response::Response};
use bytes::Bytes;
use domain::sse as frames;
use futures::{Stream, StreamExt};
use serde_json::{Value, json};

use super::errors::{api_error, of_app_error};
use crate::{
    access::api_tokens::{ApiTokens, TokenCaller},
    streams::{hub::Hub, sse},
};

/// How often an open stream checks that its token still stands.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);

/// The previews a program may ask for.
const PREVIEWABLE: [&str; 2] = ["agent.message", "agent.thinking"];

/// The API's heartbeat: the SDKs skip frames named `ping`.
static PING: Bytes = Bytes::from_static(b"event: ping\ndata: {\"type\":\"ping\"}\n\n");

/// `GET …/events/stream` or `…/threads/{id}/stream` for a program.
pub async fn serve(
    hub: &Arc<Hub>,
    (session_id, thread_id): (&str, Option<&str>),
    query: &[(String, String)],
    tokens: Arc<ApiTokens>,
    caller: TokenCaller,
) -> Response {
    let mut deltas = HashSet::new();
    for (name, value) in query {
        if name != "event_deltas[]" && name != "event_deltas" {
            continue;
        }
        if !PREVIEWABLE.contains(&value.as_str()) {
            return api_error(
                StatusCode::BAD_REQUEST,
                &format!("event_deltas[] takes agent.message and agent.thinking, not {value:?}."),
            );
        }
        deltas.insert(value.clone());
    }
    let frames = match hub.watch_live(session_id, thread_id).await {
        Ok(frames) => frames,
        Err(error) => return of_app_error(&error),
    };
    let mut translate = Translate { deltas, started: HashSet::new() };
    let frames = frames.filter_map(move |chunk| std::future::ready(translate.chunk(&chunk)));
    sse::response(while_token_stands(frames, tokens, caller))
}

/// An event's `type`, the rest of it skipped unread into a value.
#[derive(serde::Deserialize)]
struct Typed {
    #[serde(rename = "type")]
    kind: String,
}

/// The hub's frames in the API's words, for one program.
struct Translate {
    /// The kinds of previews asked for.
    deltas: HashSet<String>,
    /// The previews begun on this stream: their deltas follow.
    started: HashSet<String>,
}

impl Translate {
    /// A chunk of the hub's stream: one frame, or several the hub wrote at once (a batch of
    /// previews, a catch-up), each translated; `None` when none is for the program.
    fn chunk(&mut self, chunk: &Bytes) -> Option<Bytes> {
        let mut out = Vec::new();
        for frame in frames_of(chunk) {
            if let Some(translated) = self.frame(frame) {
                out.extend_from_slice(&translated);
            }
        }
        (!out.is_empty()).then(|| Bytes::from(out))
    }

    fn frame(&mut self, frame: &[u8]) -> Option<Bytes> {
        if frame == &sse::PING[..] {
            return Some(PING.clone());
        }
        let (_, name, data) = sse::parse(frame)?;
        match name.as_str() {
            frames::EVENT | frames::END => {
                // Each program's stream reads every event: only its type, not a tree of the whole.
                let Typed { kind } = serde_json::from_str(&data).ok()?;
                Some(sse::render(None, &kind, &data))
            }
            frames::PREVIEW => {
                let preview: Value = serde_json::from_str(&data).ok()?;
                let kind = preview.get("type")?.as_str()?;
                let wanted = match kind {
                    "event_start" => {
                        let event = preview.get("event")?;
                        let asked = self.deltas.contains(event.get("type")?.as_str()?);
                        if asked {
                            self.started.insert(event.get("id")?.as_str()?.to_owned());
                        }
                        asked
                    }
                    "event_delta" => self.started.contains(preview.get("event_id")?.as_str()?),
                    _ => false,
                };
                wanted.then(|| sse::render(None, kind, &data))
            }
            frames::STATUS => {
                let status: Value = serde_json::from_str(&data).ok()?;
                (frames::LinkState::of_frame(&status) == Some(frames::LinkState::Failed)).then(|| {
                    let message =
                        status.get("message").and_then(Value::as_str).unwrap_or("The session's stream failed.");
                    let error = json!({ "type": "error", "error": { "type": "api_error", "message": message } });
                    sse::render(None, "error", &error.to_string())
                })
            }
            _ => None,
        }
    }
}

/// The frames of a chunk, each with its blank line (the hub writes whole frames only).
fn frames_of(chunk: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = chunk;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.windows(2).position(|w| w == b"\n\n").map_or(rest.len(), |at| at + 2);
        let (frame, after) = rest.split_at(end);
        rest = after;
        Some(frame)
    })
}

/// `frames` while the token stands: its expiry, or a check every [`CHECK_EVERY`] that finds it
/// revoked, ends the stream.
fn while_token_stands(
    frames: impl Stream<Item = Bytes> + Send + 'static,
    tokens: Arc<ApiTokens>,
    caller: TokenCaller,
) -> impl Stream<Item = Bytes> + Send + 'static {
    let ended = async move {
        let expires = std::time::UNIX_EPOCH + Duration::from_secs(caller.expires_unix.max(0) as u64);
        loop {
            let left = expires.duration_since(std::time::SystemTime::now()).unwrap_or_default();
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left.min(CHECK_EVERY)).await;
            if !tokens.still_valid(&caller).await {
                return;
            }
        }
    };
    frames.take_until(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_gets_the_apis_frames_and_only_the_previews_it_asked_for() {
        let mut translate = Translate { deltas: ["agent.message".to_owned()].into(), started: HashSet::new() };
        let event = r#"{"type":"agent.message","id":"sevt_1","content":[]}"#;
        assert_eq!(
            translate.chunk(&sse::render(Some(7), frames::EVENT, event)).unwrap(),
            format!("event: agent.message\ndata: {event}\n\n")
        );
        let start = r#"{"type":"event_start","event":{"type":"agent.message","id":"sevt_2"}}"#;
        let delta = r#"{"type":"event_delta","event_id":"sevt_2","delta":{"type":"content_delta"}}"#;
        assert!(translate.frame(&sse::render(None, frames::PREVIEW, start)).is_some());
        assert!(translate.frame(&sse::render(None, frames::PREVIEW, delta)).is_some());
        let thinking = r#"{"type":"event_start","event":{"type":"agent.thinking","id":"sevt_3"}}"#;
        assert!(translate.frame(&sse::render(None, frames::PREVIEW, thinking)).is_none(), "not asked for");
        let other = r#"{"type":"event_delta","event_id":"sevt_9","delta":{"type":"content_delta"}}"#;
        assert!(translate.frame(&sse::render(None, frames::PREVIEW, other)).is_none(), "begun before it joined");
        assert!(translate.frame(&sse::status(frames::LinkState::Reconnecting, None)).is_none());
        let failed = translate.frame(&sse::status(frames::LinkState::Failed, Some("gone"))).unwrap();
        assert!(failed.starts_with(b"event: error\n"), "{failed:?}");
        assert_eq!(translate.frame(&sse::PING).unwrap(), PING);
        assert!(translate.frame(&sse::reset("x")).is_none());
        // The hub writes a batch of frames as one chunk: each is translated.
        let second = r#"{"type":"agent.message","id":"sevt_4","content":[]}"#;
        let batch = [
            sse::render(Some(8), frames::EVENT, event),
            sse::status(frames::LinkState::Live, None),
            sse::render(Some(9), frames::EVENT, second),
        ]
        .concat();
        assert_eq!(
            translate.chunk(&Bytes::from(batch)).unwrap(),
            format!("event: agent.message\ndata: {event}\n\nevent: agent.message\ndata: {second}\n\n")
        );
    }
}
