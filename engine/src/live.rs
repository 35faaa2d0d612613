//! The live side of the session event log ([`crate::store::events`]): appending an event
//! stores it and sends it, in the same order, to the session's open streams, with the previews
//! (never stored) of messages under way and the end of a deleted session's streams.
//!
//! Two ways in: the events users post are stored as posted, JSON with whatever fields they
//! carry ([`EngineState::append`]); the events the engine emits arrive typed and become JSON
//! here, and only here ([`EngineState::append_event`]).

use std::sync::Arc;

use protocol::events::{SessionEvent, StreamEvent};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::{
    EngineState, emitted,
    error::ApiResult,
    ids::{self, new_id},
    store::events::{NewEvent, Scope},
};

/// What a session's live streams carry: the session's own stream and each thread's.
#[derive(Debug, Clone)]
pub enum Live {
    /// A persisted event, with its place in the session's log, its thread (`None`: the primary)
    /// and whether the session's own stream carries it.
    Event { seq: i64, kind: Arc<str>, json: Arc<str>, thread: Option<Arc<str>>, on_session: bool },
    /// An `event_start` / `event_delta` preview of `agent.message` or `agent.thinking`, of one
    /// thread (`None`: the primary, the only one the session's stream previews).
    Preview { of: &'static str, kind: &'static str, json: Arc<str>, thread: Option<Arc<str>> },
    /// The session was deleted: streams send `session.deleted` and end.
    Deleted { json: Arc<str> },
}

/// The live side of one session: a broadcast of its events, and the lock that keeps the order
/// of the log and of the broadcast the same.
pub struct SessionHub {
    tx: broadcast::Sender<Live>,
    append: tokio::sync::Mutex<()>,
}

impl EngineState {
    fn hub(&self, session_id: &str) -> Arc<SessionHub> {
        let mut hubs = self.hubs.lock().expect("hub map lock");
        hubs.entry(session_id.to_owned())
            .or_insert_with(|| {
                Arc::new(SessionHub { tx: broadcast::channel(1024).0, append: tokio::sync::Mutex::new(()) })
            })
            .clone()
    }

    /// Appends an event as a user posted it (its unknown fields kept as they are) to a
    /// session's log, giving it an id and `processed_at`, and sends it to the session's live
    /// streams. Returns the stored event. What the engine emits goes through
    /// [`EngineState::append_event`].
    pub async fn append(&self, session_id: &str, event: Value) -> ApiResult<Value> {
        self.append_in(session_id, None, true, event).await
    }

    /// Appends one posted event of `thread` (`None`: the primary thread); `on_session` puts it
    /// on the session's own stream and list too.
    pub async fn append_in(
        &self,
        session_id: &str,
        thread: Option<&str>,
        on_session: bool,
        mut event: Value,
    ) -> ApiResult<Value> {
        let at = ids::now();
        if event.get("id").and_then(Value::as_str).is_none_or(str::is_empty) {
            event["id"] = json!(new_id("sevt"));
        }
        event["processed_at"] = json!(at.text);
        self.record(session_id, thread, on_session, at.micros, event, Posted::ByClient).await
    }

    /// Appends an event the engine emits (built in `emitted`) to `thread` (`None`: the
    /// primary thread; `on_session`: on the session's own stream and list too). The one place
    /// where an emitted event becomes JSON: it gets its id (unless it came with one) and
    /// `processed_at` here. Returns the event as stored.
    pub async fn append_event(
        &self,
        session_id: &str,
        thread: Option<&str>,
        on_session: bool,
        mut event: SessionEvent,
    ) -> ApiResult<SessionEvent> {
        let at = ids::now();
        let json = stamped(&mut event, at.text)?;
        self.record(session_id, thread, on_session, at.micros, json, Posted::ByEngine).await?;
        Ok(event)
    }

    /// Writes an event with its id and `processed_at` to the log and sends it to the live
    /// streams and the webhooks, in the log's order. A client's event to a session archived
    /// meanwhile is refused (its checks ran before the archive); the engine's own (a turn cut
    /// short by the archive) are written.
    async fn record(
        &self,
        session_id: &str,
        thread: Option<&str>,
        on_session: bool,
        processed_us: i64,
        event: Value,
        posted: Posted,
    ) -> ApiResult<Value> {
        let kind = event["type"].as_str().unwrap_or_default().to_owned();
        let text = event.to_string();
        let hub = self.hub(session_id);
        let order = hub.append.lock().await;
        if posted == Posted::ByClient {
            let archived = self.store.session_archived(session_id).await?;
            if archived == Some(true) {
                drop(order);
                drop(hub);
                self.release_hub(session_id);
                return Err(crate::error::ApiError::conflict(format!(
                    "Session {session_id} is archived; it takes no more events."
                )));
            }
        }
        let seq = self
            .store
            .insert_event(NewEvent {
                session_id,
                id: event["id"].as_str(),
                kind: &kind,
                processed_us,
                body: &text,
                thread,
                on_session,
            })
            .await?;
        let thread = thread.map(Arc::from);
        let _ = hub.tx.send(Live::Event { seq, kind: kind.into(), json: text.into(), thread, on_session });
        if let Some(webhooks) = &self.webhooks {
            webhooks.notify(session_id, &event);
        }
        Ok(event)
    }

    /// Sends a preview (never stored; built in `emitted`) of `thread` (`None`: the
    /// primary) to the live streams.
    pub fn preview(&self, session_id: &str, thread: Option<&str>, of: &'static str, preview: StreamEvent) {
        let kind = match preview {
            StreamEvent::Start(_) => "event_start",
            _ => "event_delta",
        };
        let Ok(json) = serde_json::to_string(&preview) else { return };
        let thread = thread.map(Arc::from);
        let _ = self.hub(session_id).tx.send(Live::Preview { of, kind, json: json.into(), thread });
    }

    /// Subscribes to a session's stream and tells the seq of the last event before it. An
    /// archived session takes no more events: its streams get none, from a channel of no
    /// session's, and it has no hub (its 1,024 slots) of its own again.
    pub async fn subscribe(&self, session_id: &str) -> ApiResult<(broadcast::Receiver<Live>, i64)> {
        let hub = self.hub(session_id);
        let order = hub.append.lock().await;
        let rx = hub.tx.subscribe();
        let last = self.store.last_event_seq(session_id).await?;
        // Read after the hub was made: an archive that came first is seen here (and its hub let
        // go again); one that comes later lets this one go itself.
        let archived = self.store.session_archived(session_id).await?;
        drop(order);
        if archived == Some(true) {
            drop((rx, hub));
            self.release_hub(session_id);
            return Ok((self.silent.subscribe(), last));
        }
        Ok((rx, last))
    }

    /// Events of a session in `scope` after `seq`, for a stream that fell behind the broadcast.
    pub async fn events_after(
        &self,
        session_id: &str,
        scope: &Scope,
        seq: i64,
        limit: i64,
    ) -> ApiResult<Vec<(i64, String, String)>> {
        self.store.events_after(session_id, scope, seq, limit).await
    }

    /// Forgets an archived session's live state: its open streams end (a client that
    /// reconnects gets a stream that stays quiet, as the session does).
    pub(crate) fn release_hub(&self, session_id: &str) {
        self.hubs.lock().expect("hub map lock").remove(session_id);
    }

    /// Ends every open stream of a deleted session and forgets its live state.
    pub(crate) fn close_hub(&self, session_id: &str) {
        let hub = self.hubs.lock().expect("hub map lock").remove(session_id);
        if let Some(hub) = hub
            && let Ok(deleted) = stamped(&mut emitted::session_deleted(), ids::now().text)
        {
            let _ = hub.tx.send(Live::Deleted { json: deleted.to_string().into() });
        }
    }
}

/// Who an event comes from: a client (through the API), or the engine itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Posted {
    ByClient,
    ByEngine,
}

/// An emitted event given its id (unless it came with one) and `processed_at`, as JSON.
fn stamped(event: &mut SessionEvent, processed_at: String) -> ApiResult<Value> {
    event.stamp(|| new_id("sevt"), processed_at);
    Ok(serde_json::to_value(&*event)?)
}
