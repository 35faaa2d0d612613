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
//! - **Metrics** (`support::meters`): the upstream streams open and the viewers watching (gauges),
//!   the writes to viewers (one counter increment each, on a handle the viewer holds), the
//!   frames a lagging viewer dropped and its catch-ups.
//!
//! To the browser the hub speaks SSE with a fixed set of frame names (`domain::sse`), so that an
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

use bytes::Bytes;
use domain::error::{AppError, ErrorKind};
use futures::Stream;
use serde_json::Value;
use tokio::sync::{Notify, broadcast, watch};

use crate::{streams::sse, support::meters, upstream::UpstreamClient};

mod feed;
mod reader;
mod viewer;

use feed::*;
use viewer::*;

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
        self.open(session_id, thread_id, Some(after)).await
    }

    /// The session's (or its thread's) events from now on, as the API's own stream gives them to
    /// a program (`crate::gateway`): no history, no preview begun before, no `status` of the
    /// hub's; still one upstream stream whoever watches.
    pub async fn watch_live(
        self: &Arc<Self>,
        session_id: &str,
        thread_id: Option<&str>,
    ) -> Result<impl Stream<Item = Bytes> + Send + 'static, AppError> {
        self.open(session_id, thread_id, None).await
    }

    /// A viewer from `after` (`None`: from now on, live only).
    async fn open(
        self: &Arc<Self>,
        session_id: &str,
        thread_id: Option<&str>,
        after: Option<u64>,
    ) -> Result<impl Stream<Item = Bytes> + Send + 'static, AppError> {
        let live_only = after.is_none();
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
            let after = after.unwrap_or(newest);
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
            let mut in_flight = if live_only { Vec::new() } else { preview_frames(&state.previews) };
            if !live_only {
                in_flight.extend(state.status.clone());
            }
            (rx, backlog, in_the_log.then(|| state.next_seq() - 1), after, in_flight)
        };
        let mut heartbeat =
            tokio::time::interval_at(tokio::time::Instant::now() + self.config.heartbeat, self.config.heartbeat);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut viewer = Viewer {
            hub: self.clone(),
            _ticket: ticket,
            _watching: meters::Held::new(meters::HUB_VIEWERS),
            sent: metrics::counter!(meters::HUB_FRAMES_SENT),
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
            viewer.sent.increment(1);
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
        // The calls waiting then, for the cards the page renders before its stream is in; only
        // of a session's own log (a snapshot's cut or a thread's feed has no cards).
        let waiting =
            if until_ms.is_none() && ticket.feed.thread_id.is_none() { state.waiting(newest) } else { Vec::new() };
        Ok(Some(Window { events, started_at, newest, waiting }))
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
}

/// Consecutive events of a session's log ([`Hub::window`]).
pub type Window = domain::live::FirstScreen;

/// The hub as server functions read its logs (a page's first screen).
pub struct Windows(pub Arc<Hub>);

impl domain::live::first_screen::Windows for Windows {
    fn window(
        &self,
        session_id: String,
        around: Option<String>,
    ) -> domain::upstream::client::BoxFuture<'_, Option<Window>> {
        use domain::live::FirstScreen;
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
