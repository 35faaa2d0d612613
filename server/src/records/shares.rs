//! Read-only share links (`migrations/0008_shares.sql`; what the console shows of them is
//! `domain::shares`).
//!
//! - **The token** is 32 random bytes in hex, shown once, to the person who made the link. Only
//!   its SHA-256 is kept, and a link is looked up by it.
//! - **What a link opens:** the page `/share/{token}` (the presenter layout, `app::pages::shares`),
//!   `GET /api/shares/{token}/stream` and `GET /api/shares/{token}/threads/{thread_id}/stream`
//!   (the session's events, or one of its threads', through the same hub feed a signed-in viewer
//!   gets: a link's viewers open no stream of their own upstream), and `shares/open`, what the
//!   page says of the session. Nothing else: every other route still asks for a sign-in.
//! - **Redaction** is done here, before a byte leaves: with `hide_tools` a tool call's input and a
//!   tool result's content are replaced, and fields the console does not know are dropped from
//!   those events; with `mask_secrets` every string of every event (and the title and agent name)
//!   has what matches a secret pattern replaced by [`MASK`], and a string under a key named like
//!   a secret (`password`, `api_key`, `GITHUB_TOKEN`: [`SECRET_KEY`]) is masked whole. Previews of
//!   text in flight are not sent by a redacting link (a secret can be split across them), nor by
//!   a snapshot. A redacting link drops a session update's agent definition and metadata.
//!   Whatever the link, a `status` frame tells its audience only the link's state in
//!   the console's own words, not the API's error (see [`Shares::filter`]).
//! - **A snapshot** shows the events processed up to the moment the link was made.
//! - **The end:** a link's streams end at its expiry, or at once when it is revoked, with a
//!   `status` frame (`failed`) that says why; the page then says so too.
//! - **Audit:** making (`shares/create`) and revoking (`shares/revoke`) are the mutations' own
//!   entries. A viewing is a `shares/view` entry with the viewer's address and browser, at most
//!   one per link in ten minutes: the page's opening, or a stream's (a link's holder can read the
//!   stream without the page). A link's `views` counts the openings of its page; its last view
//!   counts the streams too.

use std::{collections::HashSet, sync::Arc, time::Duration};

use axum::{
    extract::{Path, Query},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use domain::{
    auth::{Principal, Role},
    error::{AppError, ErrorKind},
    live::FirstScreen,
    shares::{
        CreatedShare, NewShare, ShareRow, SharedSession,
        server::{ShareStore, Shared},
    },
    sse::LinkState,
    upstream::client::BoxFuture,
};
use futures::{Stream, StreamExt};
use regex::Regex;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::share_rows::{LinkRow, NewLinkRow, ShareRows};
use crate::{
    audit::{Actor, AuditLog, NewEntry},
    streams::hub::Hub,
    streams::live::StreamQuery,
    streams::sse,
    support::cluster::Signal,
    upstream::UpstreamClient,
};

/// How a `status` frame starts its name line (see [`Shares::filter`]).
const STATUS_LINE: &[u8] = b"event: status\n";

/// What a masked value becomes.
pub const MASK: &str = "••••••";
/// What a hidden tool input holds instead.
pub const HIDDEN_INPUT: &str = "Hidden by this share link.";
/// What a hidden tool result says instead.
pub const HIDDEN_OUTPUT: &str = "This tool's output is hidden by this share link.";

/// Values a link that masks secrets always masks: API keys and tokens of the common services,
/// private keys, JSON web tokens, and `password=…`-like assignments.
pub const BUILT_IN_PATTERNS: &[&str] = &[
    r"sk-ant-[A-Za-z0-9_\-]{8,}",
    r"\bsk-[A-Za-z0-9_\-]{20,}",
    r"\bAKIA[0-9A-Z]{16}\b",
    r"\bgh[pousr]_[A-Za-z0-9]{20,}",
    r"\bgithub_pat_[A-Za-z0-9_]{20,}",
    r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
    r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    // `password=…`, `token: …`, and the same inside JSON text (`"password": "…"`): a quoted value
    // to its closing quote, spaces and all, anything else to the next space.
    r#"(?i)\b(password|passwd|secret|token|api[_\-]?key)\b["']?\s*[:=]\s*(?:"(?:[^"\\]|\\.)*"|'[^']*'|\S+)"#,
];

/// A JSON key whose string values a link that masks secrets masks whole: `password`,
/// `client_secret`, `GITHUB_TOKEN`, `api-key`, `accessToken`, `credentials` (not `max_tokens`,
/// `maxTokens`, `tokenizer`: the word must stand alone in the key, between `_`, `-`, `.`, a
/// camelCase capital or its ends).
pub const SECRET_KEY: &str = concat!(
    r"(?i:(^|[_\-.])(password|passwd|passphrase|secret|token|api[_\-]?key|private[_\-]?key|credentials?|authorization)($|[_\-.]))",
    r"|[a-z0-9](Password|Passwd|Passphrase|Secret|Token|ApiKey|PrivateKey|Credentials?)($|[A-Z_\-.])",
);

/// The fields a tool event keeps when its link hides tools (its `input` or `content` replaced).
const TOOL_FIELDS: &[&str] = &[
    "id",
    "type",
    "processed_at",
    "name",
    "mcp_server_name",
    "tool_use_id",
    "mcp_tool_use_id",
    "custom_tool_use_id",
    "is_error",
    "session_thread_id",
    "evaluated_permission",
];

/// Switchboard's share links, and the streams they keep open.
pub struct Shares {
    rows: Arc<dyn ShareRows>,
    audit: Arc<AuditLog>,
    /// Where a link's streams and first screens are read: the same feeds signed-in viewers share.
    hub: Arc<Hub>,
    /// Every secret pattern (built-in and configured) as one expression.
    secrets: Regex,
    /// [`SECRET_KEY`].
    secret_key: Regex,
    /// The ids of the links revoked since start: their open streams end.
    revoked: watch::Sender<HashSet<i64>>,
    /// The ids of the links whose streams were opened since start: after signals may have been
    /// lost ([`Shares::resync`]), their rows are read again for revocations.
    opened: std::sync::Mutex<HashSet<i64>>,
    /// Each shared session's threads as last listed: a link opens only these threads' streams,
    /// and an unknown id lists them again at most every [`THREADS_READ_EVERY`].
    threads: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, HashSet<String>)>>,
    /// Tells the other replicas of a revocation (their viewers' streams end too).
    replicated: std::sync::OnceLock<crate::support::cluster::Replicated>,
}

/// How often a link's unknown thread id may make Switchboard list the session's threads again.
const THREADS_READ_EVERY: Duration = Duration::from_secs(10);

/// A `shares/view` audit entry is written at most this often per link (every view is counted).
const VIEW_ENTRY_EVERY: time::Duration = time::Duration::minutes(10);

/// A link that opens, as its streams need it.
#[derive(Debug, Clone)]
pub struct OpenLink {
    pub id: i64,
    pub session_id: String,
    pub expires_unix: i64,
    pub snapshot_ms: Option<i64>,
    pub hide_tools: bool,
    pub mask_secrets: bool,
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn rfc3339_of_unix(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix).map(domain::format::rfc3339).unwrap_or_default()
}

/// The SHA-256 of a token, in hex: what the store keeps.
fn hash_of(token: &str) -> String {
    crate::support::sha256_hex(token)
}

/// Why a link does not open, in words for its audience.
fn closed(why: &str) -> AppError {
    AppError::not_found(why.to_owned())
}

const UNKNOWN: &str =
    "This share link does not open: it was mistyped or cut short. Ask the person who sent it for the whole link.";

/// The masking patterns do not make one expression together (too large).
#[derive(Debug, thiserror::Error)]
#[error("SWITCHBOARD_SHARE_SECRET_PATTERNS: the patterns together are refused ({0})")]
pub struct PatternsRefused(regex::Error);

impl Shares {
    /// The store, masking what `BUILT_IN_PATTERNS` and `patterns` (each checked by the
    /// settings) match; refused when together they do not make one expression (too large).
    pub fn new(
        rows: Arc<dyn ShareRows>,
        audit: Arc<AuditLog>,
        hub: Arc<Hub>,
        patterns: &[String],
    ) -> Result<Arc<Self>, PatternsRefused> {
        let all: Vec<String> = BUILT_IN_PATTERNS
            .iter()
            .map(|p| p.to_string())
            .chain(patterns.iter().cloned())
            .map(|p| format!("(?:{p})"))
            .collect();
        let secrets = Regex::new(&all.join("|")).map_err(PatternsRefused)?;
        Ok(Arc::new(Self {
            rows,
            audit,
            hub,
            secrets,
            secret_key: Regex::new(SECRET_KEY).expect("SECRET_KEY is a valid expression"),
            revoked: watch::Sender::new(HashSet::new()),
            opened: std::sync::Mutex::default(),
            threads: std::sync::Mutex::default(),
            replicated: std::sync::OnceLock::new(),
        }))
    }

    /// `text` with every secret masked.
    pub fn mask(&self, text: &str) -> String {
        self.secrets.replace_all(text, MASK).into_owned()
    }

    /// Whether `token` is one of this store's links (open or not): which workspace a share
    /// link's request is for (`crate::tenancy::workspaces::select`).
    pub async fn knows(&self, token: &str) -> bool {
        let token = token.trim();
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return false;
        }
        self.rows.by_token(&hash_of(&token.to_ascii_lowercase())).await.is_ok_and(|row| row.is_some())
    }

    /// Revocations are told to the other replicas through `replicated` from now on.
    pub fn replicate(&self, replicated: crate::support::cluster::Replicated) {
        let _ = self.replicated.set(replicated);
    }

    /// Link `id` was revoked (here, or on another replica): its open streams end.
    pub fn revoked_here(&self, id: i64) {
        self.revoked.send_if_modified(|ids| ids.insert(id));
    }

    /// Reads again the rows of the links whose streams were opened here, and ends the streams of
    /// those revoked: after this replica may have missed a revocation's signal (its listening
    /// connection dropped, `support::cluster::Signal::Resync`).
    pub async fn resync(&self) {
        let opened: Vec<i64> = self.opened.lock().unwrap_or_else(|e| e.into_inner()).iter().copied().collect();
        for id in opened {
            match self.rows.get(id).await {
                Ok(Some(row)) if row.revoked_at.is_some() => self.revoked_here(id),
                Ok(_) => {}
                Err(error) => tracing::warn!("share link {id} could not be read again after a resync: {error}"),
            }
        }
    }

    /// The link `token` opens, or why it does not (unknown, revoked, expired).
    pub async fn active(&self, token: &str) -> Result<OpenLink, AppError> {
        let token = token.trim();
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(closed(UNKNOWN));
        }
        let row = self.rows.by_token(&hash_of(&token.to_ascii_lowercase())).await?.ok_or_else(|| closed(UNKNOWN))?;
        if let Some(at) = row.revoked_at {
            return Err(closed(&format!(
                "This share link was revoked on {}. Ask the person who sent it for a new one.",
                at.get(..16).unwrap_or(&at).replace('T', " ")
            )));
        }
        let expires_unix = row.expires_unix;
        if expires_unix <= now_unix() {
            let at = rfc3339_of_unix(expires_unix);
            return Err(closed(&format!(
                "This share link expired on {} (UTC). Ask the person who sent it for a new one.",
                at.get(..16).unwrap_or(&at).replace('T', " ")
            )));
        }
        Ok(OpenLink {
            id: row.id,
            session_id: row.session_id,
            expires_unix,
            snapshot_ms: row.snapshot_ms,
            hide_tools: row.hide_tools,
            mask_secrets: row.mask_secrets,
        })
    }

    /// Resolves when link `id` is revoked or reaches `expires_unix`, with why, in words.
    fn ended(&self, id: i64, expires_unix: i64) -> impl Future<Output = &'static str> + Send + 'static {
        self.opened.lock().unwrap_or_else(|e| e.into_inner()).insert(id);
        let mut revoked = self.revoked.subscribe();
        async move {
            let left = Duration::from_secs(expires_unix.saturating_sub(now_unix()).max(0) as u64);
            tokio::select! {
                _ = revoked.wait_for(|ids| ids.contains(&id)) => "This share link was revoked: the session is no longer shared.",
                _ = tokio::time::sleep(left) => "This share link has expired: the session is no longer shared.",
            }
        }
    }

    /// One write of the hub (a frame, or a batch of frames joined) as the link's audience may
    /// see it; `None` when nothing of it may be sent. Each frame is filtered on its own.
    pub fn filter(&self, link: &OpenLink, write: Bytes) -> Option<Bytes> {
        let shows_all = !link.hide_tools && !link.mask_secrets && link.snapshot_ms.is_none();
        if shows_all && !write.windows(STATUS_LINE.len()).any(|w| w == STATUS_LINE) {
            return Some(write);
        }
        let mut kept = bytes::BytesMut::new();
        let mut rest = &write[..];
        while !rest.is_empty() {
            // Every frame `sse::render` makes ends with a blank line, and none holds one.
            let end = rest.windows(2).position(|w| w == b"\n\n").map_or(rest.len(), |at| at + 2);
            let (frame, after) = rest.split_at(end);
            rest = after;
            if let Some(frame) = self.filter_frame(link, Bytes::copy_from_slice(frame)) {
                kept.extend_from_slice(&frame);
            }
        }
        (!kept.is_empty()).then(|| kept.freeze())
    }

    /// One frame as the link's audience may see it, or `None`.
    fn filter_frame(&self, link: &OpenLink, frame: Bytes) -> Option<Bytes> {
        let redacts = link.hide_tools || link.mask_secrets;
        let Some((id, name, data)) = sse::parse(&frame) else {
            return (!redacts).then_some(frame);
        };
        match name.as_str() {
            domain::sse::EVENT => {
                let mut event: Value = serde_json::from_str(&data).ok()?;
                if !within(link, &event) {
                    return None;
                }
                if !redacts {
                    return Some(frame);
                }
                self.redact(link, &mut event);
                Some(sse::render(id, &name, &event.to_string()))
            }
            domain::sse::PREVIEW => (!redacts && link.snapshot_ms.is_none()).then_some(frame),
            domain::sse::STATUS => Some(for_audience(frame, &data)),
            domain::sse::PING | domain::sse::RESET | domain::sse::END => Some(frame),
            // A frame this code does not know may hold anything.
            _ => (!redacts).then_some(frame),
        }
    }

    /// The first screen of the link's session as its audience may see it: the hub's window (cut
    /// at the snapshot), each event filtered as the link's stream filters it.
    async fn window(&self, link: &OpenLink, around: Option<&str>) -> Option<FirstScreen> {
        let wait = Duration::from_millis(FirstScreen::WAIT_MS);
        let span = FirstScreen::span(around.is_some());
        let until = link.snapshot_ms.map(|ms| ms as f64);
        let window = match self.hub.window(&link.session_id, around, span, until, wait).await {
            Ok(window) => window?,
            Err(error) => {
                tracing::debug!(share = link.id, "no first screen: {}", error.message);
                return None;
            }
        };
        let redacts = link.hide_tools || link.mask_secrets;
        let mut linked_shown = false;
        let events = window
            .events
            .into_iter()
            .filter_map(|(seq, data)| {
                let mut event: Value = serde_json::from_str(&data).ok()?;
                if !within(link, &event) {
                    return None;
                }
                linked_shown |= around.is_some() && event.get("id").and_then(Value::as_str) == around;
                if !redacts {
                    return Some((seq, data));
                }
                self.redact(link, &mut event);
                Some((seq, event.to_string()))
            })
            .collect();
        // A link to an event the link does not show opens nowhere (the page waits for its
        // stream, which never brings it, and says so).
        if around.is_some() && !linked_shown {
            return None;
        }
        let started_at = window.started_at.map(|at| if link.mask_secrets { self.mask(&at) } else { at });
        // A share link's page shows no cards: the calls waiting are not sent.
        Some(FirstScreen { events, started_at, newest: window.newest, waiting: Vec::new() })
    }

    /// `value` with every string and number in it replaced by [`MASK`] (`true`, `false`, `null`
    /// and the shape kept: a tool's input stays readable), its keys masked as any string is.
    fn masked_whole(&self, value: Value) -> Value {
        match value {
            Value::String(s) if s.is_empty() => Value::String(s),
            Value::String(_) | Value::Number(_) => Value::String(MASK.to_owned()),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.masked_whole(v)).collect()),
            Value::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (self.mask(&k), self.masked_whole(v))).collect())
            }
            other => other,
        }
    }

    /// Redacts one event as `link` says.
    fn redact(&self, link: &OpenLink, event: &mut Value) {
        // A session's update may carry its agent's whole definition (system prompt, tools, MCP
        // servers' addresses) and its metadata, which presenter mode never shows: a redacting
        // link keeps them to the console.
        if event.get("type").and_then(Value::as_str) == Some(protocol::events::types::SESSION_UPDATED)
            && let Some(map) = event.as_object_mut()
        {
            map.remove("agent");
            map.remove("metadata");
        }
        if link.hide_tools {
            hide_tool_io(event);
        }
        if link.mask_secrets {
            *event = self.masked(std::mem::take(event));
        }
    }

    /// `value` with every string (keys too) masked, and every string under a key named like a
    /// secret masked whole: a redacting link's events, and the audit's copy of the input a person
    /// decided on (`approvals::deciding`).
    pub fn masked(&self, value: Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.mask(&s)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.masked(v)).collect()),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| {
                        let v = if self.secret_key.is_match(&k) { self.masked_whole(v) } else { self.masked(v) };
                        (self.mask(&k), v)
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    /// `GET /api/shares/{token}/stream` and `…/threads/{thread_id}/stream`: the session's events
    /// (or a thread's) as the link shows them, until it is revoked or expires.
    async fn watch(
        self: &Arc<Self>,
        client: &UpstreamClient,
        token: &str,
        thread_id: Option<&str>,
        request: &http::request::Parts,
        query: StreamQuery,
    ) -> Response {
        let link = match self.active(token).await {
            Ok(link) => link,
            Err(error) => return error.into_response(),
        };
        if let Some(thread) = thread_id {
            match self.has_thread(client, &link.session_id, thread).await {
                Ok(true) => {}
                Ok(false) => {
                    return AppError::not_found(format!("{thread:?} is not a thread of the shared session."))
                        .into_response();
                }
                Err(error) => return error.into_response(),
            }
        }
        let after = match crate::streams::live::resume(&request.headers, query) {
            Ok(after) => after,
            Err(error) => return error.into_response(),
        };
        let frames = match self.hub.watch_feed(&link.session_id, thread_id, after).await {
            Ok(frames) => frames,
            Err(error) => return error.into_response(),
        };
        if let Err(error) = self.seen(&link, audience(request), Opened::Stream).await {
            return error.into_response();
        }
        let shares = self.clone();
        let ended = self.ended(link.id, link.expires_unix);
        sse::response(limited(frames, link, shares, ended))
    }

    /// Whether `thread_id` is one of the session's threads, from the list read last (read again
    /// for an unknown id, at most every [`THREADS_READ_EVERY`]): a link's holder cannot make
    /// Switchboard open streams upstream for ids it makes up.
    async fn has_thread(&self, client: &UpstreamClient, session_id: &str, thread_id: &str) -> Result<bool, AppError> {
        if !domain::upstream::is_id(thread_id) {
            return Ok(false);
        }
        {
            let known = self.threads.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((read_at, ids)) = known.get(session_id)
                && (ids.contains(thread_id) || read_at.elapsed() < THREADS_READ_EVERY)
            {
                return Ok(ids.contains(thread_id));
            }
        }
        let listed = crate::records::export::list_all(client, &format!("/v1/sessions/{session_id}/threads"), false)
            .await
            .map_err(|e| AppError::upstream("Listing the shared session's threads", e))?;
        let ids: HashSet<String> =
            listed.iter().filter_map(|t| t.get("id").and_then(Value::as_str)).map(str::to_owned).collect();
        let known = ids.contains(thread_id);
        self.threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(session_id.to_owned(), (std::time::Instant::now(), ids));
        Ok(known)
    }

    /// Notes a viewing of `link`: its page's opening counts a view; either sets its last view and
    /// writes a `shares/view` entry, at most one per link in ten minutes (anyone holding the link
    /// opens it as often as they like). The session's title and agent name as stored.
    async fn seen(&self, link: &OpenLink, viewer: Actor, opened: Opened) -> Result<(String, String), AppError> {
        let now = time::OffsetDateTime::now_utc();
        let at = domain::format::rfc3339(now);
        // The viewing that moves the last view past the window writes the entry: of a page and
        // its streams opening at once, one does.
        let window_start = domain::format::rfc3339(now - VIEW_ENTRY_EVERY);
        let (first_in_window, row) = self.rows.viewed(link.id, &at, &window_start, opened == Opened::Page).await?;
        let (title, agent, views) = (row.title, row.agent, row.views);
        if first_in_window {
            let opened = match opened {
                Opened::Page => "page",
                Opened::Stream => "stream",
            };
            self.audit
                .append(NewEntry {
                    actor: viewer,
                    action: "shares/view".to_owned(),
                    targets: vec![link.session_id.clone(), format!("share_{}", link.id)],
                    detail: Some(json!({ "views": views, "opened": opened })),
                    status: 200,
                    error: None,
                })
                .await;
        }
        Ok((title, agent))
    }

    fn row(row: LinkRow) -> ShareRow {
        let state = match (&row.revoked_at, row.expires_unix <= now_unix()) {
            (Some(_), _) => "revoked",
            (None, true) => "expired",
            (None, false) => "active",
        };
        ShareRow {
            id: format!("share_{}", row.id),
            session_id: row.session_id,
            title: row.title,
            created_by: row.created_by,
            created_at: row.created_at,
            expires_at: rfc3339_of_unix(row.expires_unix),
            snapshot_at: row.snapshot_ms.map(|ms| rfc3339_of_unix(ms / 1000)),
            hide_tools: row.hide_tools,
            mask_secrets: row.mask_secrets,
            views: row.views.max(0) as u64,
            last_viewed_at: row.last_viewed_at,
            revoked_at: row.revoked_at,
            revoked_by: row.revoked_by,
            state: state.to_owned(),
        }
    }

    async fn get(&self, id: i64) -> Result<Option<ShareRow>, AppError> {
        Ok(self.rows.get(id).await?.map(Self::row))
    }
}

/// `frames` filtered for `link`, until `ended`; then a `status` frame that says why.
fn limited(
    frames: impl Stream<Item = Bytes> + Send + 'static,
    link: OpenLink,
    shares: Arc<Shares>,
    ended: impl Future<Output = &'static str> + Send + 'static,
) -> impl Stream<Item = Bytes> + Send + 'static {
    let why = Arc::new(std::sync::Mutex::new(None::<&'static str>));
    let ended = {
        let why = why.clone();
        async move {
            let reason = ended.await;
            *why.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
        }
    };
    let farewell = futures::stream::once(async move {
        let reason = *why.lock().unwrap_or_else(|e| e.into_inner());
        reason.map(|reason| sse::status(LinkState::Failed, Some(reason)))
    })
    .filter_map(std::future::ready);
    frames.filter_map(move |frame| std::future::ready(shares.filter(&link, frame))).take_until(ended).chain(farewell)
}

/// A `status` frame as a link's audience gets it: the state, and the console's words for it
/// instead of the hub's (which name the API's error, its request id, the key to check).
fn for_audience(frame: Bytes, data: &str) -> Bytes {
    let Ok(status) = serde_json::from_str::<domain::sse::Status>(data) else {
        return sse::status(LinkState::Failed, None);
    };
    let message = match status.state {
        LinkState::Live => None,
        LinkState::Reconnecting => Some("The session's live feed dropped; it reconnects by itself."),
        LinkState::Failed => Some("The session's live feed stopped. Reload the page to try again."),
    };
    if status.message.as_deref() == message {
        return frame;
    }
    sse::status(status.state, message)
}

/// Whether a link with a snapshot shows `event`: processed by the snapshot's moment.
fn within(link: &OpenLink, event: &Value) -> bool {
    let Some(cut) = link.snapshot_ms else { return true };
    let at = event.get("processed_at").and_then(Value::as_str).and_then(domain::format::parse_rfc3339_ms);
    at.is_some_and(|at| at <= cut as f64)
}

/// Replaces a tool call's input and a tool result's content, and drops the fields of either that
/// are not known to hold neither.
fn hide_tool_io(event: &mut Value) {
    let kind = event.get("type").and_then(Value::as_str).unwrap_or_default();
    let (is_call, is_result) = (kind.ends_with("tool_use"), kind.ends_with("tool_result"));
    if !is_call && !is_result {
        return;
    }
    let Some(map) = event.as_object_mut() else { return };
    map.retain(|key, _| TOOL_FIELDS.contains(&key.as_str()));
    if is_call {
        map.insert("input".to_owned(), json!({ "hidden": HIDDEN_INPUT }));
    } else {
        map.insert("content".to_owned(), json!([{ "type": "text", "text": HIDDEN_OUTPUT }]));
    }
}

pub async fn stream(
    axum::Extension(shares): axum::Extension<Arc<Shares>>,
    axum::Extension(client): axum::Extension<crate::upstream::UpstreamClient>,
    Path(token): Path<String>,
    Query(query): Query<StreamQuery>,
    request: http::request::Parts,
) -> Response {
    shares.watch(&client, &token, None, &request, query).await
}

pub async fn thread_stream(
    axum::Extension(shares): axum::Extension<Arc<Shares>>,
    axum::Extension(client): axum::Extension<crate::upstream::UpstreamClient>,
    Path((token, thread_id)): Path<(String, String)>,
    Query(query): Query<StreamQuery>,
    request: http::request::Parts,
) -> Response {
    shares.watch(&client, &token, Some(&thread_id), &request, query).await
}

/// What opened a link, for [`Shares::seen`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opened {
    Page,
    Stream,
}

/// A link's viewer, for the audit log: nobody signed in, the request's address
/// (`crate::support::proxies::client_address` has made it the client's behind a trusted proxy) and browser.
fn audience(request: &http::request::Parts) -> Actor {
    let peer = request.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|info| info.0);
    Actor { roles: "share link".to_owned(), ..Actor::of(None, &request.headers, peer) }
}

impl ShareStore for Shares {
    fn create(&self, new: NewShare, about: Shared, username: String) -> BoxFuture<'_, Result<CreatedShare, AppError>> {
        Box::pin(async move {
            let token = crate::support::random_hex::<32>();
            let now = time::OffsetDateTime::now_utc();
            let expires_unix = now.unix_timestamp() + i64::from(new.hours) * 3600;
            let snapshot_ms = new.snapshot.then(|| (now.unix_timestamp_nanos() / 1_000_000) as i64);
            let row = NewLinkRow {
                token_hash: hash_of(&token),
                session_id: new.session_id,
                title: about.title,
                agent: about.agent,
                created_by: username,
                created_at: domain::format::rfc3339(now),
                expires_unix,
                snapshot_ms,
                hide_tools: new.hide_tools,
                mask_secrets: new.mask_secrets,
            };
            let id = self.rows.insert(&row).await?;
            Ok(CreatedShare {
                id: format!("share_{id}"),
                path: format!("/share/{token}"),
                expires_at: rfc3339_of_unix(expires_unix),
            })
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<ShareRow>, AppError>> {
        Box::pin(async move { Ok(self.rows.list(1000).await?.into_iter().map(Self::row).collect()) })
    }

    fn revoke(&self, id: String, by: Principal) -> BoxFuture<'_, Result<ShareRow, AppError>> {
        Box::pin(async move {
            let missing = || AppError::not_found(format!("There is no share link {id:?}."));
            let number = crate::support::db::row_number(&id, "share").ok_or_else(missing)?;
            let row = self.get(number).await?.ok_or_else(missing)?;
            if row.created_by != by.username && !by.can(Role::Admin) {
                return Err(AppError::new(
                    ErrorKind::Forbidden,
                    format!("Only {} (who made this link) or an admin can revoke it.", row.created_by),
                ));
            }
            if row.revoked_at.is_none() {
                let at = domain::format::rfc3339(time::OffsetDateTime::now_utc());
                self.rows.revoke(number, &at, &by.username).await?;
            }
            self.revoked_here(number);
            if let Some(replicated) = self.replicated.get() {
                replicated.signal(|workspace| Signal::ShareRevoked { workspace, share_id: number }).await;
            }
            self.get(number).await?.ok_or_else(missing)
        })
    }

    fn open(&self, token: String) -> BoxFuture<'_, Result<SharedSession, AppError>> {
        Box::pin(async move {
            let link = self.active(&token).await?;
            // The server function's request: who is looking, for the audit entry.
            let viewer = leptos::prelude::use_context::<http::request::Parts>().map_or_else(
                || Actor { roles: "share link".to_owned(), ..Actor::default() },
                |request| audience(&request),
            );
            let (title, agent) = self.seen(&link, viewer, Opened::Page).await?;
            let shown = |text: String| if link.mask_secrets { self.mask(&text) } else { text };
            Ok(SharedSession {
                title: shown(title),
                agent: shown(agent),
                snapshot_at: link.snapshot_ms.map(|ms| rfc3339_of_unix(ms / 1000)),
                expires_at: rfc3339_of_unix(link.expires_unix),
                hide_tools: link.hide_tools,
                mask_secrets: link.mask_secrets,
            })
        })
    }

    fn first_screen(
        &self,
        token: String,
        event: Option<String>,
    ) -> BoxFuture<'_, Result<Option<FirstScreen>, AppError>> {
        Box::pin(async move {
            // The link first: one that does not open says why, whatever else was asked.
            let link = self.active(&token).await?;
            if event.as_deref().is_some_and(|e| !domain::upstream::is_id(e)) {
                return Ok(None);
            }
            Ok(self.window(&link, event.as_deref()).await)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares() -> Arc<Shares> {
        crate::support::db::install_drivers();
        let pool = sqlx::AnyPool::connect_lazy("sqlite::memory:").unwrap();
        let rows = Arc::new(super::super::share_rows::SqlShareRows::new(pool.clone()));
        // Nothing listens there: these tests do not read the hub.
        let client = UpstreamClient::new("http://127.0.0.1:9", crate::settings::ApiKey::new("unused"));
        let hub = Hub::new(client, crate::streams::hub::HubConfig::default());
        Shares::new(rows, Arc::new(AuditLog::new(pool)), hub, &["ACME-[0-9]{4}".to_owned()]).unwrap()
    }

    fn link(hide_tools: bool, mask_secrets: bool) -> OpenLink {
        OpenLink {
            id: 1,
            session_id: "sesn_1".into(),
            expires_unix: i64::MAX,
            snapshot_ms: None,
            hide_tools,
            mask_secrets,
        }
    }

    #[tokio::test]
    async fn secrets_are_masked_by_the_built_in_and_the_configured_patterns() {
        let shares = shares();
        // Shaped like an Anthropic key, built at run time: no key-like text in the repository.
        let key = ["sk", "ant", "api03", "abcdefghijklmnop"].join("-");
        for secret in [
            key.as_str(),
            "AKIAABCDEFGHIJKLMNOP",
            "ghp_abcdefghijklmnopqrstuvwxyz0123",
            "password=hunter22",
            "ACME-1234",
        ] {
            let masked = shares.mask(&format!("the value is {secret} here"));
            assert!(!masked.contains(secret), "{secret} → {masked}");
            assert!(masked.contains(MASK) && masked.starts_with("the value is "), "{masked}");
        }
        assert_eq!(shares.mask("nothing secret in here"), "nothing secret in here");
        // The same assignment inside JSON text, as a tool's output prints it.
        let masked = shares.mask(r#"{"password": "hunter22", "user": "ann"}"#);
        assert!(
            !masked.contains("hunter22") && masked.contains(MASK) && masked.ends_with(r#", "user": "ann"}"#),
            "{masked}"
        );
        // A quoted value with spaces, to its closing quote; in compact JSON, no further.
        let masked = shares.mask(r#"{"password": "correct horse battery staple", "user": "ann"}"#);
        assert!(!masked.contains("horse") && masked.ends_with(r#", "user": "ann"}"#), "{masked}");
        let masked = shares.mask(r#"{"token":"abc\"d","user":"ann"}"#);
        assert!(!masked.contains("abc") && masked.ends_with(r#","user":"ann"}"#), "{masked}");
    }

    #[tokio::test]
    async fn strings_under_a_key_named_like_a_secret_are_masked_whole() {
        let shares = shares();
        let input = json!({
            "password": "hunter22",
            "env": { "GITHUB_TOKEN": "plainvalue1", "client_secret": ["plainvalue2"], "HOME": "/root" },
            "api-key": { "value": "plainvalue3", "enabled": true },
            "pin_password": 12345678,
            "max_tokens": 1024,
            "accessToken": "plainvalue4",
            "maxTokens": "keepme3",
            "tokenizer": "keepme1",
            "command": "echo keepme2",
        });
        let masked = shares.masked(input).to_string();
        for secret in ["hunter22", "plainvalue1", "plainvalue2", "plainvalue3", "plainvalue4"] {
            assert!(!masked.contains(secret), "{secret} in {masked}");
        }
        assert!(!masked.contains("12345678"), "a number under a secret's key: {masked}");
        for kept in ["keepme1", "keepme2", "keepme3", "/root", "1024", "\"enabled\":true", "GITHUB_TOKEN"] {
            assert!(masked.contains(kept), "{kept} not in {masked}");
        }
    }

    #[tokio::test]
    async fn a_status_frame_tells_the_audience_the_state_not_the_apis_error() {
        let shares = shares();
        let upstream = "Anthropic API: 401 authentication_error (request req_123). Check ANTHROPIC_API_KEY.";
        for link in [link(false, false), link(true, true)] {
            let out = shares.filter(&link, sse::status(LinkState::Reconnecting, Some(upstream))).unwrap();
            let text = String::from_utf8(out.to_vec()).unwrap();
            assert!(text.contains("reconnecting") && text.contains("reconnects by itself"), "{text}");
            assert!(!text.contains("req_123") && !text.contains("ANTHROPIC_API_KEY"), "{text}");
            // Joined with an event, on a link that shows everything: the event passes as it is.
            let event = sse::render(Some(7), domain::sse::EVENT, r#"{"type":"agent.message","content":[]}"#);
            let mut write = event.to_vec();
            write.extend_from_slice(&sse::status(LinkState::Failed, Some(upstream)));
            let text = String::from_utf8(shares.filter(&link, Bytes::from(write)).unwrap().to_vec()).unwrap();
            assert!(
                text.starts_with("id: 7\n") && text.contains("Reload the page") && !text.contains("req_123"),
                "{text}"
            );
        }
        let live = sse::status(LinkState::Live, None);
        assert_eq!(shares.filter(&link(false, false), live.clone()), Some(live));
    }

    #[tokio::test]
    async fn a_redacting_link_hides_tool_io_masks_every_string_and_drops_previews() {
        let shares = shares();
        let call = json!({ "id": "sevt_1", "type": "agent.tool_use", "name": "bash", "input": { "command": "echo TOOLVALUE" }, "extra": "TOOLVALUE" });
        let frame = sse::render(Some(3), domain::sse::EVENT, &call.to_string());
        let out = shares.filter(&link(true, false), frame).unwrap();
        let text = String::from_utf8(out.to_vec()).unwrap();
        assert!(!text.contains("TOOLVALUE") && text.contains(HIDDEN_INPUT) && text.starts_with("id: 3\n"), "{text}");

        let result = json!({ "id": "sevt_2", "type": "agent.tool_result", "tool_use_id": "sevt_1", "content": [{ "type": "text", "text": "TOOLVALUE" }] });
        let out =
            shares.filter(&link(true, false), sse::render(Some(4), domain::sse::EVENT, &result.to_string())).unwrap();
        let text = String::from_utf8(out.to_vec()).unwrap();
        assert!(!text.contains("TOOLVALUE") && text.contains(HIDDEN_OUTPUT) && text.contains("sevt_1"), "{text}");

        let key = ["sk", "ant", "api03", "abcdefghijkl"].join("-");
        let message = json!({ "type": "agent.message", "content": [{ "type": "text", "text": format!("key {key}") }] });
        let out =
            shares.filter(&link(false, true), sse::render(Some(5), domain::sse::EVENT, &message.to_string())).unwrap();
        let text = String::from_utf8(out.to_vec()).unwrap();
        assert!(!text.contains("abcdefghijkl") && text.contains(MASK), "{text}");

        // A session's update: its title stays, its agent's definition and metadata do not.
        let updated = json!({ "id": "sevt_3", "type": "session.updated", "title": "New title",
            "agent": { "id": "agent_1", "name": "Lead", "system": "PROMPTVALUE" }, "metadata": { "team": "METAVALUE" } });
        for redacting in [link(true, false), link(false, true)] {
            let out =
                shares.filter(&redacting, sse::render(Some(6), domain::sse::EVENT, &updated.to_string())).unwrap();
            let text = String::from_utf8(out.to_vec()).unwrap();
            assert!(
                text.contains("New title") && !text.contains("PROMPTVALUE") && !text.contains("METAVALUE"),
                "{text}"
            );
        }

        let preview = sse::render(None, domain::sse::PREVIEW, "{\"delta\":\"sk-ant\"}");
        assert_eq!(shares.filter(&link(false, true), preview.clone()), None);
        assert_eq!(shares.filter(&link(false, false), preview.clone()), Some(preview));
        assert_eq!(shares.filter(&link(false, true), sse::render(None, "something_new", "{}")), None);
        assert!(shares.filter(&link(true, true), sse::PING.clone()).is_some());
    }

    #[tokio::test]
    async fn an_open_stream_ends_when_its_link_expires() {
        let shares = shares();
        let expires_unix = now_unix() + 1;
        let frames = futures::stream::pending::<Bytes>();
        let ended = shares.ended(1, expires_unix);
        let out: Vec<Bytes> = tokio::time::timeout(
            Duration::from_secs(5),
            limited(frames, OpenLink { expires_unix, ..link(false, false) }, shares.clone(), ended).collect(),
        )
        .await
        .expect("the stream ended at the link's expiry");
        let last = String::from_utf8(out.last().unwrap().to_vec()).unwrap();
        assert!(last.contains("event: status") && last.contains("failed") && last.contains("expired"), "{last}");
    }

    #[tokio::test]
    async fn a_revocation_missed_while_signals_were_lost_ends_the_stream_at_the_resync() {
        for db in crate::support::db::testing::databases("shares-resync").await {
            let rows = Arc::new(super::super::share_rows::SqlShareRows::new(db.pool.clone()));
            let client = UpstreamClient::new("http://127.0.0.1:9", crate::settings::ApiKey::new("unused"));
            let hub = Hub::new(client, crate::streams::hub::HubConfig::default());
            let shares = Shares::new(rows.clone(), Arc::new(AuditLog::new(db.pool.clone())), hub, &[]).unwrap();
            let new = super::super::share_rows::NewLinkRow {
                token_hash: "hash".into(),
                session_id: "sesn_1".into(),
                title: "Fix the build".into(),
                agent: "Coder".into(),
                created_by: "ann".into(),
                created_at: "2026-11-27T10:00:00Z".into(),
                expires_unix: 4_000_000_000,
                snapshot_ms: None,
                hide_tools: false,
                mask_secrets: false,
            };
            let id = rows.insert(&new).await.unwrap();
            let mut ended = Box::pin(shares.ended(id, 4_000_000_000));
            shares.resync().await;
            assert!(
                tokio::time::timeout(Duration::from_millis(200), &mut ended).await.is_err(),
                "a link that stands keeps its stream"
            );
            // Revoked on another replica, whose signal this one never heard.
            rows.revoke(id, "2026-11-27T11:00:00Z", "bob").await.unwrap();
            shares.resync().await;
            let why = tokio::time::timeout(Duration::from_secs(5), ended).await.expect("the stream ended");
            assert!(why.contains("revoked"), "{why}");
        }
    }

    #[tokio::test]
    async fn each_frame_of_a_joined_write_is_filtered_on_its_own() {
        let shares = shares();
        let call =
            json!({ "id": "c", "type": "agent.tool_use", "name": "bash", "input": { "command": "echo TOOLVALUE" } });
        let result = json!({ "id": "r", "type": "agent.tool_result", "tool_use_id": "c", "content": [{ "type": "text", "text": "TOOLVALUE" }] });
        let mut write = Vec::new();
        write.extend_from_slice(&sse::render(Some(1), domain::sse::EVENT, &call.to_string()));
        write.extend_from_slice(&sse::render(None, domain::sse::PREVIEW, "{\"text\":\"TOOLVALUE\"}"));
        write.extend_from_slice(&sse::render(Some(2), domain::sse::EVENT, &result.to_string()));
        write.extend_from_slice(&sse::render(None, domain::sse::END, "{}"));
        let write = Bytes::from(write);
        let out = String::from_utf8(shares.filter(&link(true, false), write.clone()).unwrap().to_vec()).unwrap();
        assert!(!out.contains("TOOLVALUE"), "{out}");
        assert_eq!(out.matches("event: event\n").count(), 2, "both events, redacted: {out}");
        assert!(
            out.starts_with("id: 1\n") && out.contains("id: 2\n") && out.ends_with("event: end\ndata: {}\n\n"),
            "{out}"
        );
        assert!(!out.contains("event: preview"));
        // A link that hides nothing passes the write on as it is.
        assert_eq!(shares.filter(&link(false, false), write.clone()), Some(write));
    }

    #[tokio::test]
    async fn a_snapshot_shows_only_what_was_processed_before_it_was_made() {
        let shares = shares();
        let cut = domain::format::parse_rfc3339_ms("2026-11-24T12:00:00Z").unwrap() as i64;
        let snapshot = OpenLink { snapshot_ms: Some(cut), ..link(false, false) };
        let at = |when: Option<&str>| {
            let event = json!({ "type": "agent.message", "processed_at": when, "content": [] });
            shares.filter(&snapshot, sse::render(Some(1), domain::sse::EVENT, &event.to_string())).is_some()
        };
        assert!(at(Some("2026-11-24T11:59:59.999Z")));
        assert!(at(Some("2026-11-24T12:00:00Z")));
        assert!(!at(Some("2026-11-24T12:00:00.001Z")));
        assert!(!at(None), "an event not processed yet is after the snapshot");
        assert_eq!(shares.filter(&snapshot, sse::render(None, domain::sse::PREVIEW, "{}")), None);
    }
}
