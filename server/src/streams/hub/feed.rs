//! One feed: the log of a watched session (or thread) and its previews, and how an event is
//! folded into it.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use domain::{
    error::AppError,
    sse::{END, EVENT, PREVIEW},
};
use protocol::events::types;
use serde_json::{Value, json};
use tokio::sync::{Notify, broadcast, watch};

use crate::streams::sse;

/// The previews the hub asks the API for.
pub(super) const PREVIEWS: [(&str, &str); 2] =
    [("event_deltas[]", types::AGENT_MESSAGE), ("event_deltas[]", types::AGENT_THINKING)];
/// How often the previews of messages being written are sent on (at most one write per viewer
/// per period, whatever the number of fragments).
pub(super) const PREVIEW_EVERY: Duration = Duration::from_millis(40);

/// What a feed follows: a session's own stream (`thread_id` none) or one of its threads'.
pub(super) type FeedKey = (String, Option<String>);

/// One watched session, or one watched thread of a session.
pub(super) struct Feed {
    pub(super) session_id: String,
    pub(super) thread_id: Option<String>,
    pub(super) state: Mutex<State>,
    /// Live frames, in order. Events are logged under the `state` lock and sent after it: a viewer
    /// that subscribed in between has them in its snapshot too, and skips them by sequence number.
    pub(super) live: broadcast::Sender<Frame>,
    pub(super) phase: watch::Sender<Phase>,
    pub(super) viewers: AtomicUsize,
    pub(super) viewers_changed: Notify,
    /// [`HubConfig::retain`].
    pub(super) retain: usize,
    /// [`HubConfig::retain_bytes`].
    pub(super) retain_bytes: usize,
    /// [`HubConfig::total_bytes`], and the hub's count of what every feed keeps.
    pub(super) total_bytes: usize,
    pub(super) kept_bytes: Arc<AtomicUsize>,
}

impl Drop for Feed {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        self.kept_bytes.fetch_sub(state.log_bytes, Ordering::Relaxed);
    }
}

#[derive(Default)]
pub(super) struct State {
    /// Sequence number of `log[0]`.
    pub(super) first_seq: u64,
    /// Rendered `event` frames, oldest first.
    pub(super) log: VecDeque<Bytes>,
    /// When each of them was processed (milliseconds since the epoch; `NaN` without a
    /// `processed_at`): a snapshot's window is found without parsing the log.
    pub(super) log_at: VecDeque<f64>,
    /// Their bytes.
    pub(super) log_bytes: usize,
    /// The sequence number of every event in the session's log so far, kept or not, by its key
    /// ([`event_key`]).
    pub(super) seqs: HashMap<String, u64>,
    /// `processed_at` of the newest event: where a reconnect starts listing (a session's feed).
    pub(super) last_processed_at: Option<String>,
    /// The page cursor of the last page of events read: where a reconnect starts listing (a
    /// thread's feed; `None`: from the start).
    pub(super) last_page: Option<String>,
    /// Messages and thinking being written now, as far as the viewers were sent them.
    pub(super) previews: Vec<Preview>,
    /// Preview fragments (`event_start`, `event_delta`) not sent yet, with their event's id.
    pub(super) pending: Vec<(String, Value)>,
    /// The last `status` frame, for viewers that join while the link is down.
    pub(super) status: Option<Bytes>,
}

impl State {
    pub(super) fn next_seq(&self) -> u64 {
        self.first_seq + self.log.len() as u64
    }

    /// The tool-use events (their JSON, oldest first) of the calls the session waited on as of
    /// `newest`: those its last idle status names and nothing since answered, as the page's own
    /// model works them out. Read back from the end to the last status event, which is near it
    /// (a turn's events follow its `running`). A call whose event the log no longer holds is left
    /// out: its card comes with the page's stream.
    pub(super) fn waiting(&self, newest: u64) -> Vec<String> {
        let mut answered = std::collections::HashSet::new();
        for seq in (self.first_seq..=newest).rev() {
            let Some(frame) = self.log.get((seq - self.first_seq) as usize) else { continue };
            let data = frame_data(frame);
            let Ok(event) = serde_json::from_str::<Value>(&data) else { continue };
            match event.get("type").and_then(Value::as_str).unwrap_or_default() {
                types::USER_TOOL_CONFIRMATION | types::USER_CUSTOM_TOOL_RESULT => {
                    let call = event.get("tool_use_id").or_else(|| event.get("custom_tool_use_id"));
                    answered.extend(call.and_then(Value::as_str).map(str::to_owned));
                }
                types::SESSION_STATUS_IDLE => {
                    let ids = event.pointer("/stop_reason/event_ids").and_then(Value::as_array);
                    return ids
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .filter(|id| !answered.contains(*id))
                        .filter_map(|id| self.seqs.get(id).copied())
                        .filter(|&at| at >= self.first_seq && at <= newest)
                        .filter_map(|at| self.log.get((at - self.first_seq) as usize).map(frame_data))
                        .collect();
                }
                kind if kind.starts_with("session.status_") => return Vec::new(),
                _ => {}
            }
        }
        Vec::new()
    }
}

pub(super) struct Preview {
    pub(super) id: String,
    /// The `event_start` as the API sent it.
    pub(super) start: String,
    /// Text so far, per content block.
    pub(super) blocks: Vec<String>,
}

#[derive(Clone, Debug)]
pub(super) enum Phase {
    Loading,
    Ready,
    Failed(AppError),
}

#[derive(Clone)]
pub(super) enum Frame {
    Event {
        seq: u64,
        bytes: Bytes,
    },
    Transient(Bytes),
    End(Bytes),
    /// Frames that arrived together, sent to each viewer in one write.
    Batch(Arc<Vec<Frame>>),
}

/// Adds one event to the log (unless its id is there already) and sends it to the viewers, or
/// folds a preview. `raw` is the event as the API sent it, when it came from the stream. Says
/// whether the session was deleted.
pub(super) fn ingest(feed: &Feed, event: &Value, raw: Option<&str>, out: &mut Vec<Frame>) -> bool {
    let kind = event.get("type").and_then(Value::as_str).unwrap_or_default();
    let mut state = feed.state.lock().expect("feed lock");
    match kind {
        "event_start" | "event_delta" => {
            // Sent with the next flush (`flush_previews`), folded together: a preview is worth
            // one write per viewer every PREVIEW_EVERY, not one per fragment.
            let id = event.pointer("/event/id").or_else(|| event.get("event_id")).and_then(Value::as_str);
            let Some(id) = id else { return false };
            if state.seqs.contains_key(id) {
                return false;
            }
            let id = id.to_owned();
            state.pending.push((id, event.clone()));
        }
        types::SESSION_DELETED => {
            let frame = sse::render(None, END, &raw.map_or_else(|| event.to_string(), str::to_owned));
            out.push(Frame::End(frame));
            return true;
        }
        _ => {
            let key = event_key(event);
            if state.seqs.contains_key(&key) {
                return false;
            }
            let id = event.get("id").and_then(Value::as_str).unwrap_or_default();
            if !id.is_empty() {
                // The final event replaces its preview, also the part not sent yet.
                state.previews.retain(|p| p.id != id);
                state.pending.retain(|(p, _)| p != id);
            }
            if kind == types::SPAN_MODEL_REQUEST_END {
                // A request that ended without its final message (error, interrupt) closes its previews.
                state.previews.clear();
                state.pending.clear();
            }
            if let Some(at) = event.get("processed_at").and_then(Value::as_str) {
                state.last_processed_at = Some(at.to_owned());
            }
            let seq = state.next_seq();
            state.seqs.insert(key, seq);
            let frame = sse::render(Some(seq), EVENT, &raw.map_or_else(|| event.to_string(), str::to_owned));
            state.log.push_back(frame.clone());
            let at = event.get("processed_at").and_then(Value::as_str).and_then(domain::format::parse_rfc3339_ms);
            state.log_at.push_back(at.unwrap_or(f64::NAN));
            state.log_bytes += frame.len();
            feed.kept_bytes.fetch_add(frame.len(), Ordering::Relaxed);
            // Over a budget, the oldest events go (the newest always stays): a viewer that needs
            // them lists them from the API again (`Viewer::catch_up`).
            while state.log.len() > 1
                && (state.log.len() > feed.retain
                    || state.log_bytes > feed.retain_bytes
                    || feed.kept_bytes.load(Ordering::Relaxed) > feed.total_bytes)
            {
                let Some(old) = state.log.pop_front() else { break };
                state.log_at.pop_front();
                state.log_bytes -= old.len();
                feed.kept_bytes.fetch_sub(old.len(), Ordering::Relaxed);
                state.first_seq += 1;
            }
            out.push(Frame::Event { seq, bytes: frame });
        }
    }
    false
}

/// Folds the preview fragments received since the last flush into the previews and sends them
/// to the viewers in one frame batch. Consecutive fragments of one block become one `event_delta`.
pub(super) fn flush_previews(feed: &Feed) {
    let mut state = feed.state.lock().expect("feed lock");
    if state.pending.is_empty() {
        return;
    }
    let pending = std::mem::take(&mut state.pending);
    let mut out = Vec::new();
    // (preview id, block index, text) of the delta being merged.
    let mut merging: Option<(String, usize, String)> = None;
    let emit = |out: &mut Vec<u8>, merged: Option<(String, usize, String)>| {
        if let Some((id, index, text)) = merged {
            out.extend_from_slice(&delta_frame(&id, index, &text));
        }
    };
    for (id, event) in pending {
        if event.get("type").and_then(Value::as_str) == Some("event_start") {
            if state.previews.iter().any(|p| p.id == id) {
                continue;
            }
            emit(&mut out, merging.take());
            let start = event.to_string();
            out.extend_from_slice(&sse::render(None, PREVIEW, &start));
            state.previews.push(Preview { id, start, blocks: Vec::new() });
            continue;
        }
        let index = event.pointer("/delta/index").and_then(Value::as_u64).unwrap_or(0) as usize;
        let text = event.pointer("/delta/content/text").and_then(Value::as_str).unwrap_or_default();
        let Some(preview) = state.previews.iter_mut().find(|p| p.id == id) else { continue };
        // The SDK's folding rule: a new block at the end, or more text for an existing one.
        match index.cmp(&preview.blocks.len()) {
            std::cmp::Ordering::Equal => preview.blocks.push(text.to_owned()),
            std::cmp::Ordering::Less => preview.blocks[index].push_str(text),
            std::cmp::Ordering::Greater => continue,
        }
        match &mut merging {
            Some((m_id, m_index, m_text)) if *m_id == id && *m_index == index => m_text.push_str(text),
            _ => {
                emit(&mut out, merging.take());
                merging = Some((id, index, text.to_owned()));
            }
        }
    }
    emit(&mut out, merging.take());
    if !out.is_empty() {
        let _ = feed.live.send(Frame::Transient(Bytes::from(out)));
    }
}

/// The frames that show a late joiner the previews in flight: each `event_start`, then one
/// `event_delta` per block with its text so far.
pub(super) fn preview_frames(previews: &[Preview]) -> Vec<Bytes> {
    let mut frames = Vec::new();
    for preview in previews {
        frames.push(sse::render(None, PREVIEW, &preview.start));
        for (index, text) in preview.blocks.iter().enumerate() {
            frames.push(delta_frame(&preview.id, index, text));
        }
    }
    frames
}

/// A `preview` frame holding `text` for block `index` of the message `id`, as the API's
/// `event_delta` says it.
pub(super) fn delta_frame(id: &str, index: usize, text: &str) -> Bytes {
    let delta = json!({
        "type": "event_delta",
        "event_id": id,
        "delta": { "type": "content_delta", "index": index, "content": { "type": "text", "text": text } },
    });
    sse::render(None, PREVIEW, &delta.to_string())
}

/// The data of one of the log's frames.
pub(super) fn frame_data(frame: &Bytes) -> String {
    sse::parse(frame).map(|(_, _, data)| data).unwrap_or_default()
}

/// What tells an event apart from every other of its session: its id, or, for an event that
/// has none (the API may send `user.interrupt` echoes without one), its RFC 8785 canonical JSON,
/// which is the same however the API ordered its fields. Ids never start with `{`.
pub(super) fn event_key(event: &Value) -> String {
    match event.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => serde_jcs::to_string(event).unwrap_or_else(|_| event.to_string()),
    }
}
