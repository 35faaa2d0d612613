//! The approval inbox: every tool confirmation and custom tool call, across all sessions, that
//! waits for a person, kept by one poller and sent to every browser on `/api/inbox/stream`.
//!
//! The API has no feed of waiting calls across sessions, so the inbox polls, and spends requests
//! only where something changed (docs/benchmarks.md has the figures):
//! - **Every tick** ([`InboxConfig::poll`], 2 s): the newest 100 sessions that have not ended,
//!   one request (`GET /v1/sessions?statuses[]=idle&statuses[]=running&statuses[]=rescheduling`).
//! - **Every sweep** (every [`InboxConfig::sweep_every`] ticks, and first after a pause): every
//!   page of that list, so that older sessions are seen too, and sessions that ended, were
//!   archived or deleted leave the inbox.
//! - **A session is read** (one request: its newest status, tool-use and answer events, newest
//!   first) when it is idle and its status, `updated_at` or usage differ from when it was last
//!   listed, or it is new to the inbox; at a sweep, every session that waits is read again (a call
//!   answered by another client may change none of those). Its newest `session.status_idle` says
//!   whether it waits (`requires_action`) and on which calls. At most [`InboxConfig::max_reads`]
//!   sessions are read per tick; the rest are read at the next, by id. The list says it is
//!   `ready` once every session was read since the poller started.
//! - **Nobody looking, no requests:** the poller runs while a browser holds the stream open
//!   (every signed-in page does, for the badge in the navigation) or a page asked for the list
//!   within the last minute; and, since they act while nobody looks, while a rule is live or a
//!   policy sets a deadline (`super::deadlines`: after each tick the calls due are denied, and the
//!   poller wakes at the next deadline if it comes before the next tick).
//! - **Decisions:** a decision sent through Switchboard takes its call out of the inbox at once
//!   (the approval service settles it: `super::deciding`); a call with a recorded decision is not listed again while the API
//!   catches up.
//! - **Webhooks** (`crate::notify::webhooks`): a signed webhook about a session has it read at once
//!   ([`Inbox::session_changed`]), two requests (the session, its events), while someone looks.
//!   While webhooks arrive (one in the last [`WEBHOOKS_FRESH`]), ticks come
//!   [`WEBHOOK_SLOWDOWN`] times less often: the poll stays only as the fallback for a lost one.
//! - **Several replicas** ([`Replicated`]): one replica polls a workspace's inbox, the holder of
//!   its lease (`inbox:<workspace>`, `support::cluster`). It writes each list it publishes to
//!   `published_inbox` and signals it; the other replicas read it from there and publish it to
//!   their own browsers. A replica that does not poll passes on what it learns: someone looks
//!   ([`Signal::InboxWanted`], again every 20 s while its browsers keep looking), a decision
//!   taken through it, a webhook, a rule made from a card. When the poller's replica stops,
//!   another takes the lease over and polls, starting with a sweep.
//! - **Metrics** (`support::meters`): each tick counted by its result, and the calls that wait
//!   (this inbox's part of a gauge every workspace's inbox adds to).

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Extension, response::Response};
use bytes::Bytes;
use domain::{
    error::AppError,
    inbox::{InboxList, PendingCall, server::InboxSource},
    upstream::client::{BoxFuture, UpstreamError, UpstreamHandle},
};
use futures::{Stream, StreamExt};
use protocol::common::Page;
use protocol::events::types;
use serde_json::Value;
use tokio::sync::{Notify, watch};

use super::{deadlines::Deadlines, decisions::DecisionStore};
use crate::{
    access::LoginCheck,
    support::cluster::{Replicated, Signal, now_ms},
};

/// How often a replica whose browsers look at the inbox tells the poller so.
const WANTED_EVERY: Duration = Duration::from_secs(20);

/// How the inbox polls and what it tells browsers; [`Default`] is what the server runs with.
#[derive(Debug, Clone)]
pub struct InboxConfig {
    /// `SWITCHBOARD_INBOX_POLL_SECS`: how often the newest sessions are listed.
    pub poll: Duration,
    /// A sweep of every page every this many ticks.
    pub sweep_every: u32,
    /// Sessions read per tick, at most.
    pub max_reads: usize,
    /// `SWITCHBOARD_INBOX_AMBER_SECS` / `_RED_SECS`: when a call's waiting time turns amber, then red.
    pub amber: Duration,
    pub red: Duration,
    /// How often a browser gets a heartbeat when the list does not change.
    pub heartbeat: Duration,
}

impl Default for InboxConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(2),
            sweep_every: 15,
            max_reads: 50,
            amber: Duration::from_secs(300),
            red: Duration::from_secs(900),
            heartbeat: Duration::from_secs(15),
        }
    }
}

impl InboxConfig {
    /// A list without calls, with the thresholds and the tick browsers are told.
    fn empty_list(&self) -> InboxList {
        InboxList {
            amber_secs: self.amber.as_secs(),
            red_secs: self.red.as_secs(),
            poll_ms: self.poll.as_millis() as u64,
            ..InboxList::default()
        }
    }
}

/// How long a page's question keeps the poller going without an open stream.
const INTEREST: Duration = Duration::from_secs(60);
/// How much slower the poller ticks while webhooks arrive.
pub const WEBHOOK_SLOWDOWN: u32 = 15;
/// How recent the last webhook must be for the poller to tick slower.
pub const WEBHOOKS_FRESH: Duration = Duration::from_secs(600);
/// Pages of 100 sessions a sweep walks, at most.
const MAX_PAGES: usize = 100;
/// Sessions read at the same time.
const READ_CONCURRENCY: usize = 4;
/// Events listed per read: the session's newest idle and the calls it waits on are among them.
const READ_LIMIT: &str = "100";

pub struct Inbox {
    upstream: UpstreamHandle,
    decisions: Arc<dyn DecisionStore>,
    /// Answers the calls a live rule matches, before anyone sees them.
    rules: Option<Arc<crate::approvals::rules::RuleBook>>,
    /// The policies' deadlines, which the poller applies.
    deadlines: Option<Arc<Deadlines>>,
    config: InboxConfig,
    state: tokio::sync::Mutex<Known>,
    published: watch::Sender<Arc<Published>>,
    /// Wakes a paused poller (a stream opened, a page asked).
    wake: Notify,
    /// Told after every look.
    looked: Notify,
    asked_at: Mutex<Option<Instant>>,
    looked_at: Mutex<Option<Instant>>,
    /// When the last webhook about a session came.
    webhook_at: Mutex<Option<Instant>>,
    /// Sessions a webhook has being read now, each with whether another webhook came meanwhile
    /// (then it is read once more after): a change comes as several webhooks (`status_idled`,
    /// `idled`, `requires_action`), which make one or two reads, not one each.
    reading: Mutex<std::collections::HashMap<String, bool>>,
    closing: watch::Sender<bool>,
    /// This inbox's part of the waiting calls' gauge (every workspace's together).
    waiting_calls: crate::support::meters::GaugeShare,
    replicated: Replicated,
    /// Whether this replica polls (holds the workspace's inbox lease).
    polls: watch::Receiver<bool>,
    /// When another replica last said its browsers look.
    wanted_elsewhere: Mutex<Option<Instant>>,
    /// When a list polled elsewhere last arrived (this replica not polling).
    received_at: Mutex<Option<Instant>>,
    /// The lists to share with the other replicas, the newest (the poller's replica only).
    shared: watch::Sender<Option<Arc<Published>>>,
}

/// The list as browsers get it, with its SSE frame rendered once for all of them.
pub struct Published {
    pub list: InboxList,
    frame: Bytes,
}

impl Published {
    fn of(list: InboxList) -> Self {
        let json = serde_json::to_string(&list).unwrap_or_else(|_| "{}".to_owned());
        Self { frame: crate::streams::sse::render(None, domain::sse::INBOX, &json), list }
    }
}

#[derive(Default)]
struct Known {
    /// Every session not ended, as it was last listed (its fingerprint: status, `updated_at`, usage).
    seen: HashMap<String, Listed>,
    /// What each waiting session waits on.
    waiting: HashMap<String, Vec<PendingCall>>,
    /// Sessions to read at the next tick whatever their fingerprint: those a tick had no room for,
    /// failed reads, sessions just decided. Read by id, listed this tick or not.
    dirty: HashSet<String>,
    /// Calls decided through Switchboard (event id → when), left out of reads that started before
    /// the decision, or that the API has not caught up with.
    decided: HashMap<String, Instant>,
    problem: Option<String>,
    /// Every session was read once since the poller (re)started: until then, a call missing from
    /// the list may merely not have been read yet.
    ready: bool,
}

/// How long a decision made here keeps its call out of the inbox: longer than the API takes to
/// show it.
const DECIDED_KEPT: Duration = Duration::from_secs(600);

/// What a session listing says of one session.
#[derive(Debug, Clone)]
struct Listed {
    id: String,
    status: String,
    title: Option<String>,
    agent_id: Option<String>,
    agent_name: Option<String>,
    fingerprint: String,
}

impl Listed {
    fn of(session: &Value) -> Option<Self> {
        let text = |pointer: &str| session.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
        let id = text("/id")?;
        let status = text("/status").unwrap_or_default();
        let fingerprint = format!(
            "{status} {} {}",
            text("/updated_at").unwrap_or_default(),
            session.get("usage").map(Value::to_string).unwrap_or_default()
        );
        Some(Self {
            id,
            status,
            title: text("/title"),
            agent_id: text("/agent/id"),
            agent_name: text("/agent/name"),
            fingerprint,
        })
    }
}

impl Inbox {
    pub fn new(
        upstream: UpstreamHandle,
        decisions: Arc<dyn DecisionStore>,
        rules: Option<Arc<crate::approvals::rules::RuleBook>>,
        deadlines: Option<Arc<Deadlines>>,
        config: InboxConfig,
        replicated: Replicated,
    ) -> Arc<Self> {
        let empty = config.empty_list();
        let polls = replicated.cluster.lease(&format!("inbox:{}", replicated.workspace));
        let inbox = Arc::new(Self {
            upstream,
            decisions,
            rules,
            deadlines,
            config,
            state: tokio::sync::Mutex::new(Known::default()),
            published: watch::Sender::new(Arc::new(Published::of(empty))),
            wake: Notify::new(),
            looked: Notify::new(),
            asked_at: Mutex::new(None),
            looked_at: Mutex::new(None),
            webhook_at: Mutex::new(None),
            reading: Mutex::default(),
            closing: watch::Sender::new(false),
            waiting_calls: crate::support::meters::GaugeShare::new(crate::support::meters::INBOX_WAITING_CALLS),
            replicated,
            polls,
            wanted_elsewhere: Mutex::new(None),
            received_at: Mutex::new(None),
            shared: watch::Sender::new(None),
        });
        tokio::spawn(inbox.clone().run());
        tokio::spawn(inbox.clone().share());
        tokio::spawn(inbox.clone().hear());
        inbox
    }

    /// Whether this replica polls the inbox (on SQLite, always).
    fn polling(&self) -> bool {
        *self.polls.borrow()
    }

    /// The poller's replica: writes each list it publishes (and, each tick, the same list again,
    /// which tells the others it is fresh) to `published_inbox`, and signals it.
    async fn share(self: Arc<Self>) {
        if !self.replicated.cluster.shared() {
            return;
        }
        let mut lists = self.shared.subscribe();
        let mut closing = self.closing.subscribe();
        let name = format!("inbox:{}", self.replicated.workspace);
        loop {
            tokio::select! {
                changed = lists.changed() => if changed.is_err() { return },
                _ = closing.changed() => return,
            }
            let Some(published) = lists.borrow_and_update().clone() else { continue };
            let cluster = &self.replicated.cluster;
            let json = serde_json::to_string(&published.list).unwrap_or_default();
            let sql = format!(
                "INSERT INTO published_inbox (name, list, published_ms) VALUES ($1, $2, {})
                 ON CONFLICT (name) DO UPDATE SET list = excluded.list, published_ms = excluded.published_ms",
                now_ms(cluster.dialect())
            );
            match sqlx::query(&sql).bind(&name).bind(json).execute(cluster.pool()).await {
                Ok(_) => cluster.signal(Signal::InboxPublished { workspace: self.replicated.workspace.clone() }).await,
                Err(error) => tracing::warn!("the inbox could not be shared with the other replicas: {error}"),
            }
        }
    }

    /// Every replica: what the others signal about this workspace's inbox; and, while its
    /// browsers look and another replica polls, saying so now and then.
    async fn hear(self: Arc<Self>) {
        use tokio::sync::broadcast::error::RecvError;
        let mut signals = self.replicated.cluster.signals();
        let mut closing = self.closing.subscribe();
        let mut told_wanted = None::<Instant>;
        loop {
            let heard = tokio::select! {
                signal = signals.recv() => Some(signal),
                _ = closing.changed() => return,
                () = tokio::time::sleep(WANTED_EVERY) => None,
            };
            if !self.polling() && self.wanted_here() && told_wanted.is_none_or(|at| at.elapsed() >= WANTED_EVERY) {
                told_wanted = Some(Instant::now());
                self.replicated
                    .cluster
                    .signal(Signal::InboxWanted { workspace: self.replicated.workspace.clone() })
                    .await;
            }
            match heard {
                None => {}
                Some(Ok(signal)) => self.heard(signal).await,
                Some(Err(RecvError::Closed)) => return,
                // Missed some: read the list again.
                Some(Err(RecvError::Lagged(_))) => self.heard(Signal::Resync).await,
            }
        }
    }

    async fn heard(self: &Arc<Self>, signal: Signal) {
        let ours = |workspace: &str| workspace == self.replicated.workspace;
        match signal {
            Signal::InboxPublished { workspace } if ours(&workspace) && !self.polling() => self.read_shared().await,
            Signal::Resync if !self.polling() => self.read_shared().await,
            Signal::InboxWanted { workspace } if ours(&workspace) && self.polling() => {
                *self.wanted_elsewhere.lock().expect("inbox lock") = Some(Instant::now());
                self.wake.notify_one();
            }
            Signal::InboxDecided { workspace, session_id, event_id } if ours(&workspace) => {
                self.decided_here(&session_id, &event_id).await;
            }
            Signal::SessionChanged { workspace, session_id, every_waiting } if ours(&workspace) && self.polling() => {
                if every_waiting {
                    self.reread_here(&session_id);
                } else {
                    self.changed_here(&session_id);
                }
            }
            _ => {}
        }
    }

    /// The list the poller's replica shared, published here.
    async fn read_shared(&self) {
        let name = format!("inbox:{}", self.replicated.workspace);
        let read: Result<Option<String>, sqlx::Error> =
            sqlx::query_scalar("SELECT list FROM published_inbox WHERE name = $1")
                .bind(name)
                .fetch_optional(self.replicated.cluster.pool())
                .await;
        let list = match read.map(|json| json.map(|json| serde_json::from_str::<InboxList>(&json))) {
            Ok(Some(Ok(list))) => list,
            Ok(None) => return,
            Ok(Some(Err(error))) => return tracing::warn!("the shared inbox could not be read: {error}"),
            Err(error) => return tracing::warn!("the shared inbox could not be read: {error}"),
        };
        *self.received_at.lock().expect("inbox lock") = Some(Instant::now());
        self.published.send_if_modified(|published| {
            if published.list == list {
                return false;
            }
            *published = Arc::new(Published::of(list));
            true
        });
        self.looked.notify_waiters();
    }

    pub fn heartbeat(&self) -> Duration {
        self.config.heartbeat
    }

    /// Ends the poller and every open stream (the server is shutting down).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// The list now, then every change; a heartbeat when nothing changes for a while.
    pub fn subscribe(&self) -> impl Stream<Item = Bytes> + Send + 'static {
        let rx = self.published.subscribe();
        self.wake.notify_one();
        self.tell_poller_wanted();
        let heartbeat = self.config.heartbeat;
        let mut closing = self.closing.subscribe();
        futures::stream::unfold((rx, true), move |(mut rx, first)| async move {
            if first {
                let frame = rx.borrow_and_update().frame.clone();
                return Some((frame, (rx, false)));
            }
            match tokio::time::timeout(heartbeat, rx.changed()).await {
                Ok(Ok(())) => {
                    let frame = rx.borrow_and_update().frame.clone();
                    Some((frame, (rx, false)))
                }
                Ok(Err(_)) => None,
                Err(_) => Some((crate::streams::sse::PING.clone(), (rx, false))),
            }
        })
        .take_until(async move {
            let _ = closing.wait_for(|closing| *closing).await;
        })
    }

    /// The list, fresh: when nobody has looked for two ticks, after the next look (5 s at most).
    /// The list as it is published, for whoever follows it in the server (the notifier).
    /// While it is held the poller runs, as for an open Inbox page.
    pub fn watch(&self) -> watch::Receiver<Arc<Published>> {
        let rx = self.published.subscribe();
        self.wake.notify_one();
        self.tell_poller_wanted();
        rx
    }

    /// On a replica that does not poll: tells the poller someone looks here.
    fn tell_poller_wanted(&self) {
        if !self.polling() {
            self.signal_soon(Signal::InboxWanted { workspace: self.replicated.workspace.clone() });
        }
    }

    /// Sends `signal` to the other replicas from a task of its own.
    fn signal_soon(&self, signal: Signal) {
        let cluster = self.replicated.cluster.clone();
        tokio::spawn(async move { cluster.signal(signal).await });
    }

    pub async fn current(&self) -> InboxList {
        *self.asked_at.lock().expect("inbox lock") = Some(Instant::now());
        let looked_at = if self.polling() { &self.looked_at } else { &self.received_at };
        let fresh = looked_at.lock().expect("inbox lock").is_some_and(|at| at.elapsed() < self.interval() * 2);
        if !fresh {
            let looked = self.looked.notified();
            self.wake.notify_one();
            self.tell_poller_wanted();
            let _ = tokio::time::timeout(Duration::from_secs(5), looked).await;
        }
        self.published.borrow().list.clone()
    }

    /// A decision on `event_id` reached the API: the call leaves the inbox now, and the session is
    /// read again at the next tick.
    pub async fn decided(&self, session_id: &str, event_id: &str) {
        self.decided_here(session_id, event_id).await;
        if !self.replicated.cluster.shared() {
            return;
        }
        let workspace = self.replicated.workspace.clone();
        let (session_id, event_id) = (session_id.to_owned(), event_id.to_owned());
        self.replicated.cluster.signal(Signal::InboxDecided { workspace, session_id, event_id }).await;
    }

    /// [`Inbox::decided`] on this replica: the poller's state, or the list it shared.
    async fn decided_here(&self, session_id: &str, event_id: &str) {
        if !self.polling() {
            self.published.send_if_modified(|published| {
                let mut list = published.list.clone();
                list.calls.retain(|c| !(c.session_id == session_id && c.event_id() == event_id));
                if list == published.list {
                    return false;
                }
                *published = Arc::new(Published::of(list));
                true
            });
            return;
        }
        let mut state = self.state.lock().await;
        if let Some(calls) = state.waiting.get_mut(session_id) {
            calls.retain(|c| c.event_id() != event_id);
            if calls.is_empty() {
                state.waiting.remove(session_id);
            }
        }
        state.decided.insert(event_id.to_owned(), Instant::now());
        state.dirty.insert(session_id.to_owned());
        self.publish(&state);
    }

    /// A webhook said `session_id` changed: while someone looks, it is read now rather than at
    /// the next tick; and the poller ticks slower while webhooks come.
    pub fn session_changed(self: &Arc<Self>, session_id: &str) {
        if !self.polling() {
            let (workspace, session_id) = (self.replicated.workspace.clone(), session_id.to_owned());
            return self.signal_soon(Signal::SessionChanged { workspace, session_id, every_waiting: false });
        }
        self.changed_here(session_id);
    }

    /// [`Inbox::session_changed`] on the poller's replica.
    fn changed_here(self: &Arc<Self>, session_id: &str) {
        *self.webhook_at.lock().expect("inbox lock") = Some(Instant::now());
        // Nobody looking: nothing is read, and the first look reads every session.
        if !self.wanted() {
            return;
        }
        {
            let mut reading = self.reading.lock().expect("inbox lock");
            if let Some(again) = reading.get_mut(session_id) {
                *again = true;
                return;
            }
            reading.insert(session_id.to_owned(), false);
        }
        let (inbox, session_id) = (self.clone(), session_id.to_owned());
        tokio::spawn(async move {
            loop {
                inbox.read_now(&session_id).await;
                let mut reading = inbox.reading.lock().expect("inbox lock");
                match reading.get_mut(&session_id) {
                    Some(again) if *again => *again = false,
                    _ => {
                        reading.remove(&session_id);
                        return;
                    }
                }
            }
        });
    }

    /// The time between ticks now, and without webhooks.
    pub fn poll_intervals(&self) -> (Duration, Duration) {
        (self.interval(), self.config.poll)
    }

    /// The time between ticks: [`InboxConfig::poll`], slower while webhooks come.
    fn interval(&self) -> Duration {
        let webhooks = self.webhook_at.lock().expect("inbox lock").is_some_and(|at| at.elapsed() < WEBHOOKS_FRESH);
        if webhooks { self.config.poll * WEBHOOK_SLOWDOWN } else { self.config.poll }
    }

    /// Reads one session now (its listing, then its calls) and publishes what it waits on.
    async fn read_now(&self, session_id: &str) {
        let session: Value = match self.upstream.get(&format!("/v1/sessions/{session_id}"), Vec::new()).await {
            Ok(session) => session,
            Err(UpstreamError::Api { status: 404, .. }) => {
                let mut state = self.state.lock().await;
                state.seen.remove(session_id);
                state.waiting.remove(session_id);
                self.publish(&state);
                return;
            }
            Err(_) => {
                // Read at the next tick instead.
                self.state.lock().await.dirty.insert(session_id.to_owned());
                return;
            }
        };
        let Some(listed) = Listed::of(&session) else { return };
        {
            let mut state = self.state.lock().await;
            state.seen.insert(listed.id.clone(), listed.clone());
            if listed.status != "idle" {
                state.waiting.remove(&listed.id);
                self.publish(&state);
                return;
            }
        }
        let calls = self.read(&listed).await;
        let mut state = self.state.lock().await;
        match calls {
            Ok(mut calls) => {
                calls.retain(|c| !state.decided.contains_key(c.event_id()));
                if calls.is_empty() {
                    state.waiting.remove(&listed.id);
                } else {
                    state.waiting.insert(listed.id, calls);
                }
            }
            Err(problem) => {
                state.dirty.insert(listed.id);
                state.problem = Some(problem.to_string());
            }
        }
        self.publish(&state);
    }

    /// Whether the poller should run: someone looks, here or on another replica, a rule is
    /// live, or a policy sets a deadline.
    /// (The policies as last read: the poller reads them before it asks.)
    fn wanted(&self) -> bool {
        self.wanted_here()
            || self.wanted_elsewhere.lock().expect("inbox lock").is_some_and(|at| at.elapsed() < INTEREST)
            || self.rules.as_ref().is_some_and(|rules| rules.any_live())
            || self.deadlines.as_ref().is_some_and(|deadlines| deadlines.any_known())
    }

    /// The policies changed (a deadline may now be set): the poller, if idle, looks again.
    async fn policies_changed(&self) {
        match &self.deadlines {
            Some(deadlines) => deadlines.changed().await,
            None => std::future::pending().await,
        }
    }

    /// Denies the waiting calls whose deadline has come (the poller's replica), and answers when
    /// the next one comes.
    async fn deny_overdue(&self) -> Option<Instant> {
        let deadlines = self.deadlines.as_ref()?;
        let policies = deadlines.current().await?;
        let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        let mut next: Option<i64> = None;
        let mut due = Vec::new();
        for call in self.state.lock().await.waiting.values().flatten() {
            let Some(at) = deadlines.due(&policies, call) else { continue };
            if i128::from(at) <= now_ms {
                if deadlines.may_try(call.event_id()) {
                    due.push(call.clone());
                }
            } else {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        for call in due {
            if deadlines.deny(self.decisions.as_ref(), &policies, &call).await {
                self.decided(&call.session_id, call.event_id()).await;
            }
        }
        let wait = next? as i128 - now_ms;
        Some(Instant::now() + Duration::from_millis(wait.clamp(0, i128::from(u32::MAX)) as u64))
    }

    /// Whether someone looks at this replica's inbox.
    fn wanted_here(&self) -> bool {
        self.published.receiver_count() > 0
            || self.asked_at.lock().expect("inbox lock").is_some_and(|at| at.elapsed() < INTEREST)
    }

    /// A rule was made from a card of `session_id`: it and every session known to wait are read
    /// now (and the poller woken, since it runs while a rule is live), so that the calls the
    /// rule matches are answered at once.
    pub fn reread_waiting(self: &Arc<Self>, session_id: &str) {
        if !self.polling() {
            let (workspace, session_id) = (self.replicated.workspace.clone(), session_id.to_owned());
            return self.signal_soon(Signal::SessionChanged { workspace, session_id, every_waiting: true });
        }
        self.reread_here(session_id);
    }

    /// [`Inbox::reread_waiting`] on the poller's replica.
    fn reread_here(self: &Arc<Self>, session_id: &str) {
        self.wake.notify_one();
        let (inbox, first) = (self.clone(), session_id.to_owned());
        tokio::spawn(async move {
            let mut waiting: Vec<String> = inbox.state.lock().await.waiting.keys().cloned().collect();
            waiting.retain(|s| *s != first);
            waiting.insert(0, first);
            for session_id in waiting {
                inbox.read_now(&session_id).await;
            }
        });
    }

    async fn run(self: Arc<Self>) {
        let mut closing = self.closing.subscribe();
        // Whether what the inbox knows is current: not at first, nor after a pause.
        let mut fresh = false;
        let mut since_sweep = 0;
        let mut polls = self.polls.clone();
        loop {
            if *closing.borrow_and_update() {
                return;
            }
            if !*polls.borrow_and_update() {
                // Another replica polls: what was known here goes stale, and is read anew (a
                // sweep first) if the lease comes back.
                fresh = false;
                *self.state.lock().await = Known::default();
                tokio::select! {
                    changed = polls.changed() => if changed.is_err() { return },
                    _ = closing.changed() => return,
                }
                continue;
            }
            if let Some(deadlines) = &self.deadlines {
                // Read now if they changed, for `wanted`.
                deadlines.current().await;
            }
            if !self.wanted() {
                if fresh {
                    // What is known goes stale from here: a tab that opens now is told so.
                    let mut state = self.state.lock().await;
                    state.ready = false;
                    self.publish(&state);
                }
                fresh = false;
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = closing.changed() => return,
                    _ = polls.changed() => {}
                    () = self.policies_changed() => {}
                }
                continue;
            }
            let sweep = !fresh || since_sweep + 1 >= self.config.sweep_every;
            self.look(sweep).await;
            since_sweep = if sweep { 0 } else { since_sweep + 1 };
            fresh = true;
            *self.looked_at.lock().expect("inbox lock") = Some(Instant::now());
            self.looked.notify_waiters();
            let deadline = self.deny_overdue().await;
            // Each tick's list goes to the other replicas, changed or not: it says it is fresh.
            self.shared.send_replace(Some(self.published.borrow().clone()));
            // The next tick, or the next deadline if sooner (a moment after it, so that the
            // clock agrees it has come).
            let tick = Instant::now() + self.interval();
            let next = deadline.map_or(tick, |at| tick.min(at + Duration::from_millis(50)));
            tokio::select! {
                _ = tokio::time::sleep_until(next.into()) => {}
                _ = closing.changed() => return,
            }
        }
    }

    /// One tick: list sessions, read those that changed (and, at a sweep, those that wait), and
    /// the backlog; publish.
    async fn look(&self, sweep: bool) {
        let listed = self.list_sessions(sweep).await;
        let result = if listed.is_ok() { "ok" } else { "failed" };
        metrics::counter!(crate::support::meters::INBOX_POLLS, "result" => result).increment(1);
        let to_read = {
            let mut state = self.state.lock().await;
            let sessions = match listed {
                Ok(sessions) => sessions,
                Err(problem) => {
                    state.problem = Some(problem.to_string());
                    self.publish(&state);
                    return;
                }
            };
            state.problem = None;
            state.decided.retain(|_, at| at.elapsed() < DECIDED_KEPT);
            let mut to_read = Vec::new();
            for session in &sessions {
                let previous = state.seen.insert(session.id.clone(), session.clone());
                let changed = previous.is_none_or(|p| p.fingerprint != session.fingerprint);
                if session.status != "idle" {
                    state.waiting.remove(&session.id);
                    state.dirty.remove(&session.id);
                } else if changed || (sweep && state.waiting.contains_key(&session.id)) {
                    // A sweep reads the waiting sessions again too: a call answered by another
                    // client may leave status, update time and usage as they were.
                    to_read.push(session.id.clone());
                    state.dirty.remove(&session.id);
                }
            }
            if sweep {
                // Ended, archived and deleted sessions are not listed: they wait on nothing.
                let listed: HashSet<&str> = sessions.iter().map(|s| s.id.as_str()).collect();
                state.waiting.retain(|id, _| listed.contains(id.as_str()));
                state.seen.retain(|id, _| listed.contains(id.as_str()));
                state.dirty.retain(|id| listed.contains(id.as_str()));
            }
            // The backlog, listed this tick or not.
            let backlog: Vec<String> = state.dirty.drain().collect();
            to_read.extend(backlog);
            if to_read.len() > self.config.max_reads {
                let later = to_read.split_off(self.config.max_reads);
                state.dirty.extend(later);
            }
            to_read.into_iter().filter_map(|id| state.seen.get(&id).cloned()).collect::<Vec<_>>()
        };
        // Read without holding the state, so that a decision can take its call out meanwhile.
        let reads: Vec<(Listed, Result<Vec<PendingCall>, AppError>)> = futures::stream::iter(to_read)
            .map(|session| async move {
                let calls = self.read(&session).await;
                (session, calls)
            })
            .buffer_unordered(READ_CONCURRENCY)
            .collect()
            .await;
        let mut state = self.state.lock().await;
        for (session, calls) in reads {
            match calls {
                Ok(mut calls) => {
                    // Decided here while the read was under way, or before the API caught up.
                    calls.retain(|c| !state.decided.contains_key(c.event_id()));
                    if calls.is_empty() {
                        state.waiting.remove(&session.id);
                    } else {
                        state.waiting.insert(session.id, calls);
                    }
                }
                Err(problem) => {
                    state.dirty.insert(session.id);
                    state.problem = Some(problem.to_string());
                }
            }
        }
        if state.dirty.is_empty() {
            state.ready = true;
        }
        self.publish(&state);
    }

    async fn list_sessions(&self, all_pages: bool) -> Result<Vec<Listed>, AppError> {
        let mut found = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..if all_pages { MAX_PAGES } else { 1 } {
            let mut query: Vec<(String, String)> = ["idle", "running", "rescheduling"]
                .into_iter()
                .map(|status| ("statuses[]".to_owned(), status.to_owned()))
                .collect();
            query.push(("limit".to_owned(), "100".to_owned()));
            if let Some(page) = cursor.take() {
                query.push(("page".to_owned(), page));
            }
            let page: Page<Value> = self
                .upstream
                .get("/v1/sessions", query)
                .await
                .map_err(|e| AppError::upstream("Looking for calls that wait (listing the sessions)", e))?;
            found.extend(page.data.iter().filter_map(Listed::of));
            match page.next_page.filter(|p| !p.is_empty()) {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(found)
    }

    /// The calls `session` waits on, without those decided through Switchboard already.
    async fn read(&self, session: &Listed) -> Result<Vec<PendingCall>, AppError> {
        let mut query: Vec<(String, String)> = [
            types::SESSION_STATUS_IDLE,
            types::AGENT_TOOL_USE,
            types::AGENT_MCP_TOOL_USE,
            types::AGENT_CUSTOM_TOOL_USE,
            types::USER_TOOL_CONFIRMATION,
            types::USER_CUSTOM_TOOL_RESULT,
            // Names the agents of child threads whose calls wait.
            types::SESSION_THREAD_CREATED,
        ]
        .into_iter()
        .map(|kind| ("types[]".to_owned(), kind.to_owned()))
        .collect();
        query.push(("order".to_owned(), "desc".to_owned()));
        query.push(("limit".to_owned(), READ_LIMIT.to_owned()));
        let page: Page<Value> = match self.upstream.get(&format!("/v1/sessions/{}/events", session.id), query).await {
            Ok(page) => page,
            // Deleted since it was listed.
            Err(UpstreamError::Api { status: 404, .. }) => return Ok(Vec::new()),
            Err(error) => {
                return Err(AppError::upstream(&format!("Reading the calls session {} waits on", session.id), error));
            }
        };
        let decided: HashSet<String> = self
            .decisions
            .recorded(&session.id)
            .await
            .map_err(|e| {
                AppError::internal_logged(e, &format!("The decisions of session {} could not be read.", session.id))
            })?
            .into_iter()
            .map(|d| d.event_id)
            .collect();
        let thread_agent = |call: &Value| {
            let thread = call.get("session_thread_id").and_then(Value::as_str)?;
            page.data.iter().find_map(|e| {
                (e.get("type").and_then(Value::as_str) == Some(types::SESSION_THREAD_CREATED)
                    && e.get("session_thread_id").and_then(Value::as_str) == Some(thread))
                .then(|| e.get("agent_name").and_then(Value::as_str).map(str::to_owned))
                .flatten()
            })
        };
        let calls: Vec<PendingCall> = waiting_on(&page.data)
            .into_iter()
            .filter(|call| !call.get("id").and_then(Value::as_str).is_some_and(|id| decided.contains(id)))
            .map(|event| PendingCall {
                session_id: session.id.clone(),
                session_title: session.title.clone(),
                agent_id: session.agent_id.clone(),
                agent_name: session.agent_name.clone(),
                thread_agent: thread_agent(&event),
                deadline_ms: None,
                event,
            })
            .collect();
        Ok(match &self.rules {
            Some(rules) if !calls.is_empty() => {
                rules.answer(self.decisions.as_ref(), &session.id, session.agent_id.as_deref(), calls).await
            }
            _ => calls,
        })
    }

    fn publish(&self, state: &Known) {
        let mut calls: Vec<PendingCall> = state.waiting.values().flatten().cloned().collect();
        if let Some((deadlines, policies)) = self.deadlines.as_ref().and_then(|d| Some((d, d.known()?))) {
            for call in &mut calls {
                call.deadline_ms = deadlines.due(&policies, call);
            }
        }
        calls.sort_by(|a, b| {
            let at = |c: &PendingCall| c.asked_at_ms().unwrap_or(f64::MAX);
            at(a).total_cmp(&at(b)).then_with(|| a.event_id().cmp(b.event_id()))
        });
        self.waiting_calls.set(calls.len());
        let interval = self.interval();
        let list = InboxList {
            calls,
            problem: state.problem.clone(),
            ready: state.ready,
            poll_ms: interval.as_millis() as u64,
            webhooks: interval > self.config.poll,
            ..self.config.empty_list()
        };
        self.published.send_if_modified(|published| {
            if published.list == list {
                return false;
            }
            *published = Arc::new(Published::of(list));
            true
        });
    }
}

/// The calls a session waits on for a person, from its status, tool-use and answer events listed
/// newest first: those its newest `session.status_idle` names, when it stopped for
/// `requires_action`, that no answer names yet. A tool call the policy allowed waits for a
/// self-hosted tool's result, not for a person, and is left out.
pub fn waiting_on(newest_first: &[Value]) -> Vec<Value> {
    let kind = |e: &Value| e.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
    let Some(idle) = newest_first.iter().find(|e| kind(e) == types::SESSION_STATUS_IDLE) else {
        return Vec::new();
    };
    if idle.pointer("/stop_reason/type").and_then(Value::as_str) != Some("requires_action") {
        return Vec::new();
    }
    let answered: HashSet<&str> = newest_first
        .iter()
        .filter_map(|e| e.get("tool_use_id").or_else(|| e.get("custom_tool_use_id")).and_then(Value::as_str))
        .collect();
    let ids = idle.pointer("/stop_reason/event_ids").and_then(Value::as_array).cloned().unwrap_or_default();
    ids.iter()
        .filter_map(Value::as_str)
        .filter(|id| !answered.contains(id))
        .filter_map(|id| newest_first.iter().find(|e| e.get("id").and_then(Value::as_str) == Some(id)))
        .filter(|call| match kind(call).as_str() {
            types::AGENT_CUSTOM_TOOL_USE => true,
            types::AGENT_TOOL_USE | types::AGENT_MCP_TOOL_USE => {
                call.get("evaluated_permission").and_then(Value::as_str).is_none_or(|p| p == "ask")
            }
            _ => false,
        })
        .cloned()
        .collect()
}

impl InboxSource for Inbox {
    fn current(&self) -> BoxFuture<'_, InboxList> {
        Box::pin(Inbox::current(self))
    }
}

/// `GET /api/inbox/stream`: the inbox for one browser, until its sign-in ends.
pub async fn stream(
    axum::Extension(inbox): axum::Extension<Arc<Inbox>>,
    login: Option<Extension<LoginCheck>>,
) -> Response {
    crate::streams::sse::signed_in_stream(inbox.subscribe(), login, inbox.heartbeat())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ids(calls: &[Value]) -> Vec<&str> {
        calls.iter().filter_map(|c| c["id"].as_str()).collect()
    }

    #[test]
    fn a_session_waits_on_the_calls_its_newest_idle_names() {
        let listed = [
            json!({ "id": "i2", "type": types::SESSION_STATUS_IDLE, "stop_reason": { "type": "requires_action", "event_ids": ["t3"] } }),
            json!({ "id": "t3", "type": types::AGENT_CUSTOM_TOOL_USE, "name": "lookup" }),
            json!({ "id": "i1", "type": types::SESSION_STATUS_IDLE, "stop_reason": { "type": "requires_action", "event_ids": ["t1", "t2"] } }),
            json!({ "id": "t2", "type": types::AGENT_TOOL_USE, "name": "bash" }),
            json!({ "id": "t1", "type": types::AGENT_MCP_TOOL_USE, "name": "search" }),
        ];
        assert_eq!(ids(&waiting_on(&listed)), ["t3"]);
        assert_eq!(ids(&waiting_on(&listed[2..])), ["t1", "t2"]);
    }

    #[test]
    fn a_session_that_ended_its_turn_or_never_idled_waits_on_nothing() {
        let ended = [
            json!({ "id": "i2", "type": types::SESSION_STATUS_IDLE, "stop_reason": { "type": "end_turn" } }),
            json!({ "id": "t1", "type": types::AGENT_TOOL_USE, "name": "bash" }),
        ];
        assert!(waiting_on(&ended).is_empty());
        assert!(waiting_on(&[json!({ "id": "t1", "type": types::AGENT_TOOL_USE })]).is_empty());
        // A named call that is not listed (more than a page of calls) is left out, not invented.
        let unlisted = [
            json!({ "id": "i", "type": types::SESSION_STATUS_IDLE, "stop_reason": { "type": "requires_action", "event_ids": ["gone"] } }),
        ];
        assert!(waiting_on(&unlisted).is_empty());
    }

    #[test]
    fn answered_calls_and_calls_waiting_for_a_self_hosted_result_are_not_for_a_person() {
        let listed = [
            json!({ "id": "c", "type": types::USER_TOOL_CONFIRMATION, "tool_use_id": "t1", "result": "allow" }),
            json!({ "id": "i", "type": types::SESSION_STATUS_IDLE, "stop_reason": { "type": "requires_action", "event_ids": ["t1", "t2", "t3", "t4"] } }),
            json!({ "id": "t4", "type": types::AGENT_TOOL_USE, "name": "read" }),
            json!({ "id": "t3", "type": types::AGENT_TOOL_USE, "name": "bash", "evaluated_permission": "allow" }),
            json!({ "id": "t2", "type": types::AGENT_TOOL_USE, "name": "bash", "evaluated_permission": "ask" }),
            json!({ "id": "t1", "type": types::AGENT_TOOL_USE, "name": "bash", "evaluated_permission": "ask" }),
        ];
        // t1 was answered by another client; t3 runs on a self-hosted worker; t4 predates
        // evaluated_permission and is shown rather than lost.
        assert_eq!(ids(&waiting_on(&listed)), ["t2", "t4"]);
    }

    #[test]
    fn a_fingerprint_changes_with_status_update_time_and_usage() {
        let session = json!({ "id": "s", "status": "idle", "updated_at": "t1", "usage": { "input_tokens": 1 }, "agent": { "name": "A" } });
        let base = Listed::of(&session).unwrap();
        assert_eq!(base.agent_name.as_deref(), Some("A"));
        for (key, value) in
            [("status", json!("running")), ("updated_at", json!("t2")), ("usage", json!({ "input_tokens": 2 }))]
        {
            let mut changed = session.clone();
            changed[key] = value;
            assert_ne!(Listed::of(&changed).unwrap().fingerprint, base.fingerprint, "{key}");
        }
        assert!(Listed::of(&json!({ "status": "idle" })).is_none());
    }
}
