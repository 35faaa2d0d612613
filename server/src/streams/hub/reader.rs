//! A feed's upstream side: the stream followed, history listed and merged, reconnects with
//! backoff, and the feed retired once nobody watches.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use domain::{
    error::{AppError, ErrorKind},
    sse::{END, LinkState},
    upstream::client::{Call, Method, Upstream, UpstreamError},
};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use protocol::common::Page;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::{streams::sse, support::describe, upstream::api_error};

use super::*;

impl Hub {
    /// The feed's upstream side, until nobody watches or the session is deleted.
    pub(super) async fn run(self: Arc<Self>, feed: Arc<Feed>) {
        let mut backoff = self.config.backoff_start;
        let mut loaded = false;
        loop {
            let outcome = self.follow(&feed, &mut loaded).await;
            match outcome {
                Outcome::Gone => return,
                Outcome::Deleted => return self.retire(&feed, AppError::not_found("The session was deleted.")),
                Outcome::Failed(error, _) if loaded && error.kind == ErrorKind::NotFound => {
                    // Deleted while the link was down: the stream's own `session.deleted` was missed.
                    let end = sse::render(None, END, r#"{"type":types::SESSION_DELETED}"#);
                    let _ = feed.live.send(Frame::End(end));
                    return self.retire(&feed, error);
                }
                // Nothing was ever shown: the viewers waiting get the error, the next one starts over.
                Outcome::Failed(error, _) if !loaded => return self.retire(&feed, error),
                Outcome::Failed(error, connected) => {
                    if connected {
                        backoff = self.config.backoff_start;
                    }
                    tracing::warn!(
                        session = %feed.session_id,
                        thread = ?feed.thread_id,
                        request_id = error.request_id.as_deref(),
                        "the upstream stream dropped: {}",
                        error.message
                    );
                    let status = sse::status(LinkState::Reconnecting, Some(&error.message));
                    {
                        let mut state = feed.state.lock().expect("feed lock");
                        // The previews of this connection are lost; the final events will come.
                        state.previews.clear();
                        state.pending.clear();
                        state.status = Some(status.clone());
                        let _ = feed.live.send(Frame::Transient(status));
                    }
                    // Nobody to reconnect for: a new viewer starts over.
                    if feed.viewers.load(Ordering::SeqCst) == 0 && self.remove(&feed, false) {
                        return;
                    }
                    let wait = backoff;
                    backoff = (backoff * 2).min(self.config.backoff_max);
                    if self.nobody_watches(&feed, Some(wait)).await {
                        return;
                    }
                    continue;
                }
            }
        }
    }

    /// One upstream connection: open the stream, list what is not in the log yet, then follow
    /// the stream until it drops, the session is deleted, or nobody watches.
    pub(super) async fn follow(&self, feed: &Arc<Feed>, loaded: &mut bool) -> Outcome {
        let response = match self.open_stream(feed).await {
            Ok(response) => response,
            Err(error) => return Outcome::Failed(error, false),
        };
        self.open_streams.fetch_add(1, Ordering::Relaxed);
        let _open = CountGuard(&self.open_streams);
        let _counted = crate::support::meters::Held::new(crate::support::meters::HUB_UPSTREAM_STREAMS);
        // Read the stream into a queue while history is listed, so nothing said meanwhile is lost.
        let (frames, _reader) = read_into_queue(response);
        if let Some(outcome) = self.list_missed(feed).await {
            return outcome;
        }
        if *loaded {
            let mut state = feed.state.lock().expect("feed lock");
            if state.status.take().is_some() {
                let _ = feed.live.send(Frame::Transient(sse::status(LinkState::Live, None)));
            }
        } else {
            *loaded = true;
            feed.phase.send_replace(Phase::Ready);
        }
        self.relay(feed, frames).await
    }

    /// Opens the feed's event stream upstream (the session's or its thread's), with previews.
    pub(super) async fn open_stream(&self, feed: &Feed) -> Result<reqwest::Response, AppError> {
        let path = match &feed.thread_id {
            None => format!("/v1/sessions/{}/events/stream", feed.session_id),
            Some(thread) => format!("/v1/sessions/{}/threads/{thread}/stream", feed.session_id),
        };
        let response = self
            .client
            .raw(reqwest::Method::GET, &path)
            .query(&PREVIEWS)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => Ok(r),
            Ok(r) => Err(AppError::upstream("Watching the session", api_error(r).await)),
            Err(e) => Err(AppError::upstream("Watching the session", UpstreamError::Unreachable(describe(e)))),
        }
    }

    /// Lists what the log does not have yet (everything after its newest event) into it; an
    /// outcome when that ends the feed.
    pub(super) async fn list_missed(&self, feed: &Arc<Feed>) -> Option<Outcome> {
        let (since, from_page) = {
            let state = feed.state.lock().expect("feed lock");
            (state.last_processed_at.clone(), state.last_page.clone())
        };
        let listed = match &feed.thread_id {
            None => self.list(&feed.session_id, since.as_deref()).await,
            Some(thread) => self.list_thread(&feed.session_id, thread, from_page).await.map(|(events, last_page)| {
                feed.state.lock().expect("feed lock").last_page = last_page;
                events
            }),
        };
        let events = match listed {
            Ok(events) => events,
            Err(error) => {
                return Some(Outcome::Failed(AppError::upstream("Reading the session's events", error), false));
            }
        };
        let mut batch = Vec::new();
        let deleted = events.iter().any(|event| ingest(feed, event, None, &mut batch));
        send_batch(feed, batch);
        deleted.then_some(Outcome::Deleted)
    }

    /// Passes the stream's frames to the viewers until it ends, fails, or nobody has watched
    /// for the grace period; text previews go out every [`PREVIEW_EVERY`] at most.
    pub(super) async fn relay(&self, feed: &Arc<Feed>, mut frames: mpsc::Receiver<QueuedFrame>) -> Outcome {
        // Once nobody watches, the grace period runs from then on, whatever the stream brings.
        let unwatched = self.nobody_watches(feed, None);
        tokio::pin!(unwatched);
        let mut previews = tokio::time::interval(PREVIEW_EVERY);
        previews.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let pending = !feed.state.lock().expect("feed lock").pending.is_empty();
            tokio::select! {
                _ = previews.tick(), if pending => flush_previews(feed),
                frame = frames.recv() => {
                    // Everything the stream has already delivered goes to the viewers as one
                    // batch: one write per viewer for an event and the ones right behind it.
                    let mut batch = Vec::new();
                    let mut outcome = None;
                    let mut next = frame;
                    for _ in 0..MAX_BATCH {
                        outcome = read_frame(feed, next, &mut batch);
                        if outcome.is_some() {
                            break;
                        }
                        match frames.try_recv() {
                            Ok(item) => next = Some(item),
                            Err(_) => break,
                        }
                    }
                    send_batch(feed, batch);
                    if let Some(outcome) = outcome {
                        return outcome;
                    }
                }
                gone = &mut unwatched => if gone {
                    return Outcome::Gone;
                },
            }
        }
    }

    /// Waits until nobody has watched `feed` for the grace period, then removes it and says
    /// `true`. With `within`, gives up after that long and says `false` (the caller reconnects).
    pub(super) async fn nobody_watches(&self, feed: &Arc<Feed>, within: Option<Duration>) -> bool {
        let deadline = within.map(|w| tokio::time::Instant::now() + w);
        loop {
            let changed = feed.viewers_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if feed.viewers.load(Ordering::SeqCst) == 0 {
                let grace_end = tokio::time::Instant::now() + self.config.grace;
                let wake = deadline.map_or(grace_end, |d| d.min(grace_end));
                tokio::select! {
                    _ = &mut changed => continue,
                    _ = tokio::time::sleep_until(wake) => {
                        if wake == grace_end && self.remove(feed, false) {
                            return true;
                        }
                        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                            return false;
                        }
                    }
                }
            } else {
                match deadline {
                    Some(deadline) => tokio::select! {
                        _ = &mut changed => {}
                        _ = tokio::time::sleep_until(deadline) => return false,
                    },
                    None => changed.await,
                }
            }
        }
    }

    /// Takes `feed` out of the hub for good; whoever still waits for it to load gets `error`.
    pub(super) fn retire(&self, feed: &Arc<Feed>, error: AppError) {
        self.remove(feed, true);
        feed.phase.send_replace(Phase::Failed(error));
    }

    /// Takes `feed` out of the hub, if nobody watches it (or `always`). Says whether it did.
    pub(super) fn remove(&self, feed: &Arc<Feed>, always: bool) -> bool {
        let mut feeds = self.feeds.lock().expect("hub lock");
        if !always && feed.viewers.load(Ordering::SeqCst) > 0 {
            return false;
        }
        let key = (feed.session_id.clone(), feed.thread_id.clone());
        if feeds.get(&key).is_some_and(|f| Arc::ptr_eq(f, feed)) {
            feeds.remove(&key);
        }
        true
    }

    /// A thread's events in the API's order from the page `from` (the start when `None`), every
    /// page; with the cursor of the last page read, where the next listing starts.
    pub(super) async fn list_thread(
        &self,
        session_id: &str,
        thread_id: &str,
        from: Option<String>,
    ) -> Result<(Vec<Value>, Option<String>), UpstreamError> {
        self.list_pages(format!("/v1/sessions/{session_id}/threads/{thread_id}/events"), Vec::new(), from).await
    }

    /// The feed's whole history: the session's events, or its thread's.
    pub(super) async fn list_all(&self, feed: &Feed) -> Result<Vec<Value>, UpstreamError> {
        match &feed.thread_id {
            None => self.list(&feed.session_id, None).await,
            Some(thread) => self.list_thread(&feed.session_id, thread, None).await.map(|(events, _)| events),
        }
    }

    /// The session's events in the API's order, from `since` (`processed_at`, inclusive) or from
    /// the start, every page.
    pub(super) async fn list(&self, session_id: &str, since: Option<&str>) -> Result<Vec<Value>, UpstreamError> {
        let filter = since.map(|since| ("created_at[gte]".to_owned(), since.to_owned())).into_iter().collect();
        self.list_pages(format!("/v1/sessions/{session_id}/events"), filter, None).await.map(|(events, _)| events)
    }

    /// Every page of the events list at `path` from the page `from` (the start when `None`),
    /// `filter` sent with each; with the cursor of the last page read.
    pub(super) async fn list_pages(
        &self,
        path: String,
        filter: Vec<(String, String)>,
        from: Option<String>,
    ) -> Result<(Vec<Value>, Option<String>), UpstreamError> {
        let mut events = Vec::new();
        let mut page = from;
        loop {
            let mut query = vec![("limit".to_owned(), self.config.page.to_string())];
            query.extend(filter.iter().cloned());
            query.extend(page.iter().map(|cursor| ("page".to_owned(), cursor.clone())));
            let call = Call { method: Method::Get, path: path.clone(), query, body: None };
            let listed: Page<Value> = serde_json::from_value(self.client.call(call).await?)
                .map_err(|e| UpstreamError::Decode(e.to_string()))?;
            events.extend(listed.data);
            match listed.next_page {
                Some(next) if !next.is_empty() => page = Some(next),
                _ => return Ok((events, page)),
            }
        }
    }
}

pub(super) enum Outcome {
    /// Could not connect, or the stream broke; `connected` says whether it had been followed.
    Failed(AppError, bool),
    Deleted,
    /// Nobody watched for the grace period; the feed is out of the hub.
    Gone,
}

/// Frames taken from the upstream stream in one go, at most.
pub(super) const MAX_BATCH: usize = 256;

/// An SSE frame of the upstream stream as read: (event name, data), or why reading failed.
pub(super) type QueuedFrame = Result<(String, String), StreamBroke>;

/// The SSE reader's own error: the connection broke, or a frame was not UTF-8.
pub(super) type StreamBroke = eventsource_stream::EventStreamError<reqwest::Error>;

/// Reads `response`'s SSE frames into a queue on a task of their own, which ends when the
/// returned guard is dropped.
pub(super) fn read_into_queue(response: reqwest::Response) -> (mpsc::Receiver<QueuedFrame>, AbortOnDrop) {
    let (tx, frames) = mpsc::channel::<QueuedFrame>(4096);
    let reader = tokio::spawn(async move {
        let mut stream = response.bytes_stream().eventsource();
        while let Some(item) = stream.next().await {
            let item = item.map(|e| (e.event, e.data));
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                return;
            }
        }
    });
    (frames, AbortOnDrop(reader))
}

/// Handles one item of the upstream stream; says how the connection ends, if it does.
pub(super) fn read_frame(feed: &Feed, item: Option<QueuedFrame>, batch: &mut Vec<Frame>) -> Option<Outcome> {
    match item {
        Some(Ok((name, data))) => {
            if name == "ping" || data.is_empty() {
                return None;
            }
            if name == "error" {
                let message = serde_json::from_str::<Value>(&data)
                    .ok()
                    .and_then(|v| v.pointer("/error/message").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_else(|| "the API reported an error on the stream".to_owned());
                return Some(Outcome::Failed(AppError::new(ErrorKind::Unavailable, message), true));
            }
            let Ok(event) = serde_json::from_str::<Value>(&data) else {
                tracing::warn!(session = %feed.session_id, "a stream frame that is not JSON was skipped");
                return None;
            };
            ingest(feed, &event, Some(&data), batch).then_some(Outcome::Deleted)
        }
        Some(Err(error)) => {
            Some(Outcome::Failed(AppError::new(ErrorKind::Unavailable, format!("the stream broke: {error}")), true))
        }
        None => Some(Outcome::Failed(AppError::new(ErrorKind::Unavailable, "the API closed the stream"), true)),
    }
}

/// Sends what `ingest` collected: one frame as it is, several as one batch.
pub(super) fn send_batch(feed: &Feed, mut batch: Vec<Frame>) {
    match batch.len() {
        0 => {}
        1 => {
            let _ = feed.live.send(batch.remove(0));
        }
        _ => {
            let _ = feed.live.send(Frame::Batch(Arc::new(batch)));
        }
    }
}

pub(super) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
