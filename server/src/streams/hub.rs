//! The stream hub: one upstream event stream per watched session, shared by every browser that
//! watches it.
//!
//! - **Start:** the stream is opened first (with `event_deltas` previews), then history is listed
//!   and merged, deduplicated by event id, into one ordered log. The API's stream has no replay,
//!   so the order matters: an event that happens while history is being read arrives on the
//!   already open stream.
//! - **Sequence numbers:** an event's number is its position in the session's log (1-based), the
//!   order in which the API lists events. It is the SSE `id:` a browser resumes from with
//!   `Last-Event-ID`, and since a new hub rebuilds the same log from the API, the numbers survive
//!   a restart of Switchboard. Every event is known by its key ([`event_key`]: its id, or its
//!   canonical JSON when it has none), so nothing is logged twice, and events listed again from
//!   the API get the numbers the log gave them, whatever their position in the listing. A
//!   `Last-Event-ID` beyond the log cannot be honoured: that viewer gets a `reset` frame and the
//!   whole history again.
//! - **Previews:** the text of a message being written (`event_start`/`event_delta`) is kept per
//!   session until its final event arrives, so a late joiner or a reloaded tab sees what was
//!   written so far.
//! - **Upstream drop:** reconnect with backoff (0.5 s doubling to 10 s, as the SDK's runner),
//!   stream first again, list what was missed, deduplicate.
//! - **Memory:** the last events are kept per session, pre-rendered once as SSE frames that every
//!   viewer shares: at most [`HubConfig::retain`] of them and [`HubConfig::retain_bytes`] of
//!   frames per feed, and [`HubConfig::total_bytes`] over every feed (past it, the feed that grows
//!   lets its oldest go). A viewer that needs older ones (or fell too far behind the live channel)
//!   gets them listed from the API again, at most [`HubConfig::catch_ups`] such listings at once.
//!   A viewer holds a channel receiver and a cursor, nothing per event.
//! - **End:** once nobody watches, the upstream stream closes after [`HubConfig::grace`].
//! - **Threads:** a child thread of a multiagent session is a feed of its own, keyed by (session,
//!   thread): its upstream stream (`…/threads/{id}/stream`) is open only while someone watches
//!   that thread, shared by its viewers and closed after the grace period like a session's. Its
//!   events list takes only `limit` and `page`, so a thread feed catches up from the cursor of the
//!   last page it read (that page is read again, deduplicated), never by listing it whole.
//!
//! To the browser the hub speaks SSE with a fixed set of frame names (`app::sse`), so that an
//! event type this version does not know still reaches the page: `event` (a persisted event,
//! with `id:`), `preview` (`event_start`/`event_delta`), `status` (the hub's link to the API),
//! `ping` (heartbeat) and `end` (the session was deleted); the stream's response adds
//! `signed_out` (`crate::streams::sse`).

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use app::{
    error::{AppError, ErrorKind},
    sse::{END, EVENT, LinkState, PREVIEW},
    upstream::client::{Call, Method, Upstream, UpstreamError},
};
use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use protocol::common::Page;
use protocol::events::types;
use serde_json::{Value, json};
use tokio::sync::{Notify, broadcast, mpsc, watch};

use crate::{
    streams::sse,
    support::describe,
    upstream::{UpstreamClient, api_error},
};

/// How the hub behaves; [`Default`] is what the server runs with.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// How long a session's upstream stream stays open once nobody watches it.
    pub grace: Duration,
    /// How often a viewer gets a heartbeat.
    pub heartbeat: Duration,
    /// Events kept in memory per session.
    pub retain: usize,
    /// Bytes of rendered frames kept per session (one event at least, however large).
    pub retain_bytes: usize,
    /// Bytes of rendered frames kept by every feed together.
    pub total_bytes: usize,
    /// Listings of a session's earlier events for viewers behind the log, at once; the others
    /// wait their turn (each reads a whole history from the API).
    pub catch_ups: usize,
    /// Frames the live channel of a session buffers for a slow viewer before that viewer has to
    /// catch up from the log.
    pub channel: usize,
    pub backoff_start: Duration,
    pub backoff_max: Duration,
    /// Events asked for per page of a listing (the API's largest page is 1,000).
    pub page: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(30),
            heartbeat: Duration::from_secs(15),
            retain: 20_000,
            retain_bytes: 32 * 1024 * 1024,
            total_bytes: 256 * 1024 * 1024,
            catch_ups: 4,
            channel: 1024,
            backoff_start: Duration::from_millis(500),
            backoff_max: Duration::from_secs(10),
            page: 1000,
        }
    }
}

/// The previews the hub asks the API for.
const PREVIEWS: [(&str, &str); 2] =
    [("event_deltas[]", types::AGENT_MESSAGE), ("event_deltas[]", types::AGENT_THINKING)];
/// How often the previews of messages being written are sent on (at most one write per viewer
/// per period, whatever the number of fragments).
const PREVIEW_EVERY: Duration = Duration::from_millis(40);

/// Every session being watched.
pub struct Hub {
    client: UpstreamClient,
    config: HubConfig,
    feeds: Mutex<HashMap<FeedKey, Arc<Feed>>>,
    /// Upstream streams open right now.
    open_streams: AtomicUsize,
    /// Bytes of frames every feed's log holds.
    kept_bytes: Arc<AtomicUsize>,
    /// Turns for catch-up listings ([`HubConfig::catch_ups`]).
    catch_ups: tokio::sync::Semaphore,
    /// Set when the server shuts down: every viewer's stream ends, so a graceful shutdown does
    /// not wait for browsers that would watch forever.
    closing: watch::Sender<bool>,
}

/// A snapshot of the hub's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubStats {
    /// Upstream streams open right now.
    pub open_streams: usize,
    /// Events held in memory, all sessions together.
    pub kept_events: usize,
    /// The bytes of their frames.
    pub kept_bytes: usize,
}

/// What a feed follows: a session's own stream (`thread_id` none) or one of its threads'.
type FeedKey = (String, Option<String>);

/// One watched session, or one watched thread of a session.
struct Feed {
    session_id: String,
    thread_id: Option<String>,
    state: Mutex<State>,
    /// Live frames, in order. Events are logged under the `state` lock and sent after it: a viewer
    /// that subscribed in between has them in its snapshot too, and skips them by sequence number.
    live: broadcast::Sender<Frame>,
    phase: watch::Sender<Phase>,
    viewers: AtomicUsize,
    viewers_changed: Notify,
    /// [`HubConfig::retain`].
    retain: usize,
    /// [`HubConfig::retain_bytes`].
    retain_bytes: usize,
    /// [`HubConfig::total_bytes`], and the hub's count of what every feed keeps.
    total_bytes: usize,
    kept_bytes: Arc<AtomicUsize>,
}

impl Drop for Feed {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        self.kept_bytes.fetch_sub(state.log_bytes, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct State {
    /// Sequence number of `log[0]`.
    first_seq: u64,
    /// Rendered `event` frames, oldest first.
    log: VecDeque<Bytes>,
    /// When each of them was processed (milliseconds since the epoch; `NaN` without a
    /// `processed_at`): a snapshot's window is found without parsing the log.
    log_at: VecDeque<f64>,
    /// Their bytes.
    log_bytes: usize,
    /// The sequence number of every event in the session's log so far, kept or not, by its key
    /// ([`event_key`]).
    seqs: HashMap<String, u64>,
    /// `processed_at` of the newest event: where a reconnect starts listing (a session's feed).
    last_processed_at: Option<String>,
    /// The page cursor of the last page of events read: where a reconnect starts listing (a
    /// thread's feed; `None`: from the start).
    last_page: Option<String>,
    /// Messages and thinking being written now, as far as the viewers were sent them.
    previews: Vec<Preview>,
    /// Preview fragments (`event_start`, `event_delta`) not sent yet, with their event's id.
    pending: Vec<(String, Value)>,
    /// The last `status` frame, for viewers that join while the link is down.
    status: Option<Bytes>,
}

impl State {
    fn next_seq(&self) -> u64 {
        self.first_seq + self.log.len() as u64
    }
}

struct Preview {
    id: String,
    /// The `event_start` as the API sent it.
    start: String,
    /// Text so far, per content block.
    blocks: Vec<String>,
}

#[derive(Clone, Debug)]
enum Phase {
    Loading,
    Ready,
    Failed(AppError),
}

#[derive(Clone)]
enum Frame {
    Event {
        seq: u64,
        bytes: Bytes,
    },
    Transient(Bytes),
    End(Bytes),
    /// Frames that arrived together, sent to each viewer in one write.
    Batch(Arc<Vec<Frame>>),
}

impl Hub {
    pub fn new(client: UpstreamClient, config: HubConfig) -> Arc<Self> {
        Self::sharing_budget(client, config, Arc::default())
    }

    /// A hub whose [`HubConfig::total_bytes`] counts `kept_bytes` too: the hubs of every
    /// workspace (`crate::tenancy::workspaces`) share one, so that the budget bounds the server's memory
    /// however many workspaces there are.
    pub fn sharing_budget(client: UpstreamClient, config: HubConfig, kept_bytes: Arc<AtomicUsize>) -> Arc<Self> {
        Arc::new(Self {
            client,
            catch_ups: tokio::sync::Semaphore::new(config.catch_ups.max(1)),
            config,
            feeds: Mutex::default(),
            open_streams: AtomicUsize::new(0),
            kept_bytes,
            closing: watch::channel(false).0,
        })
    }

    /// How often a viewer gets a heartbeat.
    pub fn heartbeat(&self) -> Duration {
        self.config.heartbeat
    }

    /// Ends every viewer's stream (their browsers reconnect to the next server with
    /// `Last-Event-ID`).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    pub fn stats(&self) -> HubStats {
        let feeds = self.feeds.lock().expect("hub lock");
        HubStats {
            open_streams: self.open_streams.load(Ordering::Relaxed),
            kept_events: feeds.values().map(|f| f.state.lock().expect("feed lock").log.len()).sum(),
            kept_bytes: self.kept_bytes.load(Ordering::Relaxed),
        }
    }

    /// Starts watching `session_id` for one viewer that has seen every event up to `after`
    /// (0: none). The stream replays what the viewer has not seen, the previews in flight, then
    /// follows the session live. Fails when the session cannot be read (it does not exist, the
    /// key is refused, the API cannot be reached).
    pub async fn watch(
        self: &Arc<Self>,
        session_id: &str,
        after: u64,
    ) -> Result<impl Stream<Item = Bytes> + Send + 'static, AppError> {
        self.watch_feed(session_id, None, after).await
    }

    /// Starts watching one thread of `session_id` for one viewer, as [`Hub::watch`] does a
    /// session: its own events, previews and upstream stream.
    pub async fn watch_thread(
        self: &Arc<Self>,
        session_id: &str,
        thread_id: &str,
        after: u64,
    ) -> Result<impl Stream<Item = Bytes> + Send + 'static, AppError> {
        self.watch_feed(session_id, Some(thread_id), after).await
    }

    /// [`Hub::watch`] of the session's own stream (`thread_id` none) or [`Hub::watch_thread`].
    pub async fn watch_feed(
        self: &Arc<Self>,
        session_id: &str,
        thread_id: Option<&str>,
        after: u64,
    ) -> Result<impl Stream<Item = Bytes> + Send + 'static, AppError> {
        let ticket = self.join((session_id.to_owned(), thread_id.map(str::to_owned)));
        let feed = ticket.feed.clone();
        let phase = feed.phase.subscribe().wait_for(|p| !matches!(p, Phase::Loading)).await.map(|p| p.clone());
        match phase {
            Ok(Phase::Ready) => {}
            Ok(Phase::Failed(error)) => return Err(error),
            Ok(Phase::Loading) | Err(_) => {
                return Err(AppError::new(
                    ErrorKind::Unavailable,
                    "The session's event stream closed; reload the page.",
                ));
            }
        }
        let (rx, backlog, last, after, in_flight) = {
            let state = feed.state.lock().expect("feed lock");
            let rx = feed.live.subscribe();
            let mut backlog = VecDeque::new();
            // The viewer was numbered by a log this one does not match (another server's, or
            // the API's history changed): it must start over, and is told so.
            let newest = state.next_seq() - 1;
            let after = if after > newest {
                tracing::info!(session = %feed.session_id, after, newest, "a viewer resumed beyond the log; it gets the history again");
                backlog.push_back(sse::reset(&format!(
                    "This page counted {after} events, the server's log has {newest}: the history was read again."
                )));
                0
            } else {
                after
            };
            let in_the_log = after + 1 >= state.first_seq;
            if in_the_log {
                backlog.extend(state.log.iter().skip((after + 1 - state.first_seq) as usize).cloned());
            }
            let mut in_flight = preview_frames(&state.previews);
            in_flight.extend(state.status.clone());
            (rx, backlog, in_the_log.then(|| state.next_seq() - 1), after, in_flight)
        };
        let mut heartbeat =
            tokio::time::interval_at(tokio::time::Instant::now() + self.config.heartbeat, self.config.heartbeat);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut viewer = Viewer {
            hub: self.clone(),
            _ticket: ticket,
            feed,
            rx,
            backlog,
            last: last.unwrap_or(after),
            heartbeat,
            done: false,
            closing: self.closing.subscribe(),
        };
        if last.is_none() {
            // Events older than the log are read again from the API; the log follows.
            viewer.catch_up().await;
        }
        viewer.backlog.extend(in_flight);
        Ok(futures::stream::unfold(viewer, |mut viewer| async move {
            let frame = viewer.next().await?;
            Some((frame, viewer))
        }))
    }

    /// Up to `before` events before the event `around` and `after` from it on (`around` none:
    /// the newest `before + after` events) of the session's own log, as (sequence number, the
    /// event's JSON), oldest first: what a page shows on its first screen before its stream has
    /// delivered the history. Starts the session's feed if nobody watches it (the page's stream
    /// joins it a moment later: still one upstream stream); answers `None` when the log does not
    /// hold the event, or the feed is not ready within `wait` (the page then waits for its stream).
    /// `until_ms`: a snapshot's moment; the window ends at the newest event processed by then.
    pub async fn window(
        self: &Arc<Self>,
        session_id: &str,
        around: Option<&str>,
        (before, after): (usize, usize),
        until_ms: Option<f64>,
        wait: Duration,
    ) -> Result<Option<Window>, AppError> {
        let ticket = self.join((session_id.to_owned(), None));
        let feed = ticket.feed.clone();
        let mut phase = feed.phase.subscribe();
        let ready = tokio::time::timeout(wait, phase.wait_for(|p| !matches!(p, Phase::Loading))).await;
        match ready.map(|p| p.map(|p| p.clone())) {
            Ok(Ok(Phase::Ready)) => {}
            Ok(Ok(Phase::Failed(error))) => return Err(error),
            Ok(Ok(Phase::Loading) | Err(_)) | Err(_) => return Ok(None),
        }
        let state = feed.state.lock().expect("feed lock");
        let mut newest = state.next_seq() - 1;
        if let Some(cut) = until_ms {
            // Events come in the order the API processed them: the newest at or before the cut is
            // found from the end, past only what came after the snapshot.
            // (`NaN <= cut` is false: an event without the time is not in a snapshot.)
            let Some(kept) = state.log_at.iter().rposition(|&at| at <= cut) else { return Ok(None) };
            newest = state.first_seq + kept as u64;
        }
        let (from, to) = match around {
            Some(id) => {
                let Some(&seq) = state.seqs.get(id).filter(|&&seq| seq <= newest) else { return Ok(None) };
                (seq.saturating_sub(before as u64).max(1), (seq + after as u64 - 1).min(newest))
            }
            None => ((newest + 1).saturating_sub((before + after) as u64).max(1), newest),
        };
        if from < state.first_seq || from > to {
            return Ok(None);
        }
        let frames = state.log.iter().skip((from - state.first_seq) as usize).take((to - from + 1) as usize);
        let events = (from..=to).zip(frames).map(|(seq, frame)| (seq, frame_data(frame))).collect();
        // When the session began, so that a row's "+12.4 s" counts from there, not from the window.
        let started_at = (state.first_seq == 1)
            .then(|| state.log.front())
            .flatten()
            .and_then(|frame| serde_json::from_str::<Value>(&frame_data(frame)).ok())
            .and_then(|first| first.get("processed_at").and_then(Value::as_str).map(str::to_owned));
        Ok(Some(Window { events, started_at }))
    }

    /// The feed of `key`, started if nobody watches it yet, with one more viewer counted.
    fn join(self: &Arc<Self>, key: FeedKey) -> Ticket {
        let mut feeds = self.feeds.lock().expect("hub lock");
        let feed = feeds
            .entry(key.clone())
            .or_insert_with(|| {
                let feed = Arc::new(Feed {
                    session_id: key.0.clone(),
                    thread_id: key.1.clone(),
                    state: Mutex::new(State { first_seq: 1, ..State::default() }),
                    live: broadcast::channel(self.config.channel).0,
                    phase: watch::channel(Phase::Loading).0,
                    viewers: AtomicUsize::new(0),
                    viewers_changed: Notify::new(),
                    retain: self.config.retain.max(1),
                    retain_bytes: self.config.retain_bytes,
                    total_bytes: self.config.total_bytes,
                    kept_bytes: self.kept_bytes.clone(),
                });
                tokio::spawn(self.clone().run(feed.clone()));
                feed
            })
            .clone();
        feed.viewers.fetch_add(1, Ordering::SeqCst);
        Ticket { feed }
    }

    /// The feed's upstream side, until nobody watches or the session is deleted.
    async fn run(self: Arc<Self>, feed: Arc<Feed>) {
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
                    tracing::warn!(session = %feed.session_id, thread = ?feed.thread_id, "the upstream stream dropped: {}", error.message);
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
    async fn follow(&self, feed: &Arc<Feed>, loaded: &mut bool) -> Outcome {
        let response = match self.open_stream(feed).await {
            Ok(response) => response,
            Err(error) => return Outcome::Failed(error, false),
        };
        self.open_streams.fetch_add(1, Ordering::Relaxed);
        let _open = CountGuard(&self.open_streams);
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
    async fn open_stream(&self, feed: &Feed) -> Result<reqwest::Response, AppError> {
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
    async fn list_missed(&self, feed: &Arc<Feed>) -> Option<Outcome> {
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
    async fn relay(&self, feed: &Arc<Feed>, mut frames: mpsc::Receiver<QueuedFrame>) -> Outcome {
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
    async fn nobody_watches(&self, feed: &Arc<Feed>, within: Option<Duration>) -> bool {
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
    fn retire(&self, feed: &Arc<Feed>, error: AppError) {
        self.remove(feed, true);
        feed.phase.send_replace(Phase::Failed(error));
    }

    /// Takes `feed` out of the hub, if nobody watches it (or `always`). Says whether it did.
    fn remove(&self, feed: &Arc<Feed>, always: bool) -> bool {
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
    async fn list_thread(
        &self,
        session_id: &str,
        thread_id: &str,
        from: Option<String>,
    ) -> Result<(Vec<Value>, Option<String>), UpstreamError> {
        self.list_pages(format!("/v1/sessions/{session_id}/threads/{thread_id}/events"), Vec::new(), from).await
    }

    /// The feed's whole history: the session's events, or its thread's.
    async fn list_all(&self, feed: &Feed) -> Result<Vec<Value>, UpstreamError> {
        match &feed.thread_id {
            None => self.list(&feed.session_id, None).await,
            Some(thread) => self.list_thread(&feed.session_id, thread, None).await.map(|(events, _)| events),
        }
    }

    /// The session's events in the API's order, from `since` (`processed_at`, inclusive) or from
    /// the start, every page.
    async fn list(&self, session_id: &str, since: Option<&str>) -> Result<Vec<Value>, UpstreamError> {
        let filter = since.map(|since| ("created_at[gte]".to_owned(), since.to_owned())).into_iter().collect();
        self.list_pages(format!("/v1/sessions/{session_id}/events"), filter, None).await.map(|(events, _)| events)
    }

    /// Every page of the events list at `path` from the page `from` (the start when `None`),
    /// `filter` sent with each; with the cursor of the last page read.
    async fn list_pages(
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

enum Outcome {
    /// Could not connect, or the stream broke; `connected` says whether it had been followed.
    Failed(AppError, bool),
    Deleted,
    /// Nobody watched for the grace period; the feed is out of the hub.
    Gone,
}

/// Frames taken from the upstream stream in one go, at most.
const MAX_BATCH: usize = 256;

/// An SSE frame of the upstream stream as read: (event name, data), or why reading failed.
type QueuedFrame = Result<(String, String), String>;

/// Reads `response`'s SSE frames into a queue on a task of their own, which ends when the
/// returned guard is dropped.
fn read_into_queue(response: reqwest::Response) -> (mpsc::Receiver<QueuedFrame>, AbortOnDrop) {
    let (tx, frames) = mpsc::channel::<QueuedFrame>(4096);
    let reader = tokio::spawn(async move {
        let mut stream = response.bytes_stream().eventsource();
        while let Some(item) = stream.next().await {
            let item = item.map(|e| (e.event, e.data)).map_err(|e| e.to_string());
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                return;
            }
        }
    });
    (frames, AbortOnDrop(reader))
}

/// Handles one item of the upstream stream; says how the connection ends, if it does.
fn read_frame(feed: &Feed, item: Option<QueuedFrame>, batch: &mut Vec<Frame>) -> Option<Outcome> {
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
fn send_batch(feed: &Feed, mut batch: Vec<Frame>) {
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

/// Adds one event to the log (unless its id is there already) and sends it to the viewers, or
/// folds a preview. `raw` is the event as the API sent it, when it came from the stream. Says
/// whether the session was deleted.
fn ingest(feed: &Feed, event: &Value, raw: Option<&str>, out: &mut Vec<Frame>) -> bool {
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
            let at = event.get("processed_at").and_then(Value::as_str).and_then(app::format::parse_rfc3339_ms);
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
fn flush_previews(feed: &Feed) {
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
fn preview_frames(previews: &[Preview]) -> Vec<Bytes> {
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
fn delta_frame(id: &str, index: usize, text: &str) -> Bytes {
    let delta = json!({
        "type": "event_delta",
        "event_id": id,
        "delta": { "type": "content_delta", "index": index, "content": { "type": "text", "text": text } },
    });
    sse::render(None, PREVIEW, &delta.to_string())
}

/// Consecutive events of a session's log ([`Hub::window`]).
pub type Window = app::api::live::FirstScreen;

/// The hub as server functions read its logs (a page's first screen).
pub struct Windows(pub Arc<Hub>);

impl app::api::live::first_screen::Windows for Windows {
    fn window(
        &self,
        session_id: String,
        around: Option<String>,
    ) -> app::upstream::client::BoxFuture<'_, Option<Window>> {
        use app::api::live::FirstScreen;
        Box::pin(async move {
            let wait = Duration::from_millis(FirstScreen::WAIT_MS);
            let span = FirstScreen::span(around.is_some());
            match self.0.window(&session_id, around.as_deref(), span, None, wait).await {
                Ok(window) => window,
                // The page's own stream says what is wrong with the session.
                Err(error) => {
                    tracing::debug!(session = %session_id, "no first screen: {}", error.message);
                    None
                }
            }
        })
    }
}

/// The data of one of the log's frames.
fn frame_data(frame: &Bytes) -> String {
    sse::parse(frame).map(|(_, _, data)| data).unwrap_or_default()
}

/// What tells an event apart from every other of its session: its id, or, for an event that
/// has none (the API may send `user.interrupt` echoes without one), its RFC 8785 canonical JSON,
/// which is the same however the API ordered its fields. Ids never start with `{`.
fn event_key(event: &Value) -> String {
    match event.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => serde_jcs::to_string(event).unwrap_or_else(|_| event.to_string()),
    }
}

/// One viewer's cursor into a feed.
struct Viewer {
    hub: Arc<Hub>,
    _ticket: Ticket,
    feed: Arc<Feed>,
    rx: broadcast::Receiver<Frame>,
    backlog: VecDeque<Bytes>,
    /// The last sequence number this viewer was sent.
    last: u64,
    heartbeat: tokio::time::Interval,
    done: bool,
    closing: watch::Receiver<bool>,
}

impl Viewer {
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(frame) = self.backlog.pop_front() {
                return Some(frame);
            }
            if self.done {
                return None;
            }
            let frame = tokio::select! {
                frame = self.rx.recv() => frame,
                _ = self.heartbeat.tick() => return Some(sse::PING.clone()),
                _ = self.closing.wait_for(|closing| *closing) => return None,
            };
            let frame = match frame {
                Ok(frame) => frame,
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.catch_up().await;
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            let frames = match &frame {
                Frame::Batch(frames) => frames.as_slice(),
                single => std::slice::from_ref(single),
            };
            let mut out = Out::default();
            for frame in frames {
                match self.step(frame) {
                    Step::Send(bytes) => out.push(bytes),
                    Step::Skip => {}
                    // A gap: what is missing (a batch's later events too) comes from the log.
                    Step::Gap => {
                        self.catch_up().await;
                        if self.done {
                            break;
                        }
                    }
                }
            }
            if let Some(bytes) = out.finish() {
                return Some(bytes);
            }
        }
    }

    /// What `frame` is to this viewer, given what it was sent already.
    fn step<'a>(&mut self, frame: &'a Frame) -> Step<'a> {
        match frame {
            Frame::Event { seq, bytes } if *seq == self.last + 1 => {
                self.last = *seq;
                Step::Send(bytes)
            }
            Frame::Event { seq, .. } if *seq <= self.last => Step::Skip,
            Frame::Event { .. } => Step::Gap,
            Frame::Transient(bytes) => Step::Send(bytes),
            Frame::End(bytes) => {
                self.done = true;
                Step::Send(bytes)
            }
            // Batches are not nested.
            Frame::Batch(_) => Step::Skip,
        }
    }

    /// Queues every event after `last` that the viewer missed: from the log, or from the API
    /// for those older than the log. Events listed again keep the numbers the log gave them
    /// (found by their keys), whatever their position in the listing: the API lists by
    /// `processed_at`, which need not be the order the stream delivered them in.
    async fn catch_up(&mut self) {
        let first_seq = self.feed.state.lock().expect("feed lock").first_seq;
        if self.last + 1 < first_seq {
            // A whole history read from the API per viewer: a few at a time.
            let hub = self.hub.clone();
            let Ok(_turn) = hub.catch_ups.acquire().await else {
                return self.fail("The server is shutting down; reload the page.");
            };
            let listed = match self.hub.list_all(&self.feed).await {
                Ok(events) => events.into_iter().map(|event| (event_key(&event), event)).collect::<Vec<_>>(),
                Err(error) => {
                    let error = AppError::upstream("Reading the session's earlier events", error);
                    return self.fail(&error.message);
                }
            };
            // The log may have moved on while the API was read: take what it no longer holds.
            let (first_seq, mut missed) = {
                let state = self.feed.state.lock().expect("feed lock");
                let missed = listed
                    .into_iter()
                    .filter_map(|(key, event)| Some((*state.seqs.get(&key)?, event)))
                    .filter(|(seq, _)| *seq > self.last && *seq < state.first_seq)
                    .collect::<Vec<_>>();
                (state.first_seq, missed)
            };
            missed.sort_by_key(|(seq, _)| *seq);
            for (seq, event) in missed {
                if seq != self.last + 1 {
                    break;
                }
                self.backlog.push_back(sse::render(Some(seq), EVENT, &event.to_string()));
                self.last = seq;
            }
            if self.last + 1 < first_seq {
                return self.fail("The API no longer lists every event this page is missing; reload the page.");
            }
        }
        let state = self.feed.state.lock().expect("feed lock");
        let skip = (self.last + 1).saturating_sub(state.first_seq) as usize;
        self.backlog.extend(state.log.iter().skip(skip).cloned());
        self.last = state.next_seq() - 1;
        // Frames still in the channel are skipped by their sequence numbers.
    }

    /// Ends this viewer's stream with a `failed` status; the page stops reconnecting.
    fn fail(&mut self, message: &str) {
        self.backlog.push_back(sse::status(LinkState::Failed, Some(message)));
        self.done = true;
    }
}

/// What a viewer does with one frame.
enum Step<'a> {
    Send(&'a Bytes),
    /// Sent already.
    Skip,
    /// Events are missing before this one.
    Gap,
}

/// The bytes of one write to a viewer: a single frame as it is (shared, not copied), several
/// joined.
#[derive(Default)]
struct Out {
    first: Option<Bytes>,
    joined: Option<bytes::BytesMut>,
}

impl Out {
    fn push(&mut self, bytes: &Bytes) {
        match (&self.first, &mut self.joined) {
            (None, _) => self.first = Some(bytes.clone()),
            (Some(first), None) => {
                let mut joined = bytes::BytesMut::from(&first[..]);
                joined.extend_from_slice(bytes);
                self.joined = Some(joined);
            }
            (Some(_), Some(joined)) => joined.extend_from_slice(bytes),
        }
    }

    fn finish(self) -> Option<Bytes> {
        self.joined.map(bytes::BytesMut::freeze).or(self.first)
    }
}

/// One counted viewer of a feed; dropping it (the browser went away) counts it out.
struct Ticket {
    feed: Arc<Feed>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.feed.viewers.fetch_sub(1, Ordering::SeqCst);
        self.feed.viewers_changed.notify_waiters();
    }
}

struct CountGuard<'a>(&'a AtomicUsize);

impl Drop for CountGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
