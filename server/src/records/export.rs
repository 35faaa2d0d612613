//! A session's transcript to take away: `GET /api/sessions/{id}/export?format=json|markdown|html`.
//!
//! - **JSON**: the session object, the agent at the session's version, every event of the
//!   session and of each child thread, each exactly as the API listed it (ids kept), one event a
//!   line.
//! - **Markdown** and **HTML**: the conversation and the tool calls to read, each message under
//!   the name of the agent that wrote it. The HTML page holds its own style and no script, so it
//!   reads offline in any browser.
//!
//! Every format streams: the events are read from the API a page of [`PAGE_EVENTS`] at a time and
//! written to the response as they come, so an export holds one page whatever the session's
//! length (a transcript also holds the entries after a call until its result comes, at most
//! [`MAX_HELD`]). What is read before the first byte (the session, its agent, its threads, the
//! first page) fails the request with a status and a sentence; a failure later cuts the download
//! short, and a file cut short is not JSON an import takes. The audit entry is written before the
//! first byte and completed with what was sent.
//!
//! One person runs at most [`EXPORTS_PER_PERSON`] exports at once ([`Running`]): each holds
//! little, but reads the API for as long as the session is long. A third is refused (429, with
//! `retry-after`) until one ends: its slot is given back as its last chunk is written, or when
//! its body is dropped (the client left).
//!
//! Every format carries a SHA-256 digest over the events, which anyone can compute again: the
//! events in the order the API lists them (`order=asc`), each in RFC 8785 canonical JSON
//! (`serde_json_canonicalizer`), each followed by `\n` (JSON Lines). The session's digest covers
//! the session's own events; each thread's covers that thread's. Each digest is worked out as its
//! events stream, so it is written after them: the JSON export's version 2. Version 1 wrote each
//! before its events, which took holding the whole session; its fields are the same, and imports
//! read both (`imports.rs`).

use std::{
    collections::{HashMap, HashSet, VecDeque},
    fmt::Write as _,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Body,
    extract::{ConnectInfo, Path, Query},
    http::{HeaderValue, header},
    response::Response,
};
use bytes::Bytes;
use domain::{
    auth::Principal,
    error::{AppError, ErrorKind},
    format::text_of,
    upstream::client::{Call, Method, Upstream, UpstreamError},
};
use protocol::events::types;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    audit::{Actor, AuditLog, NewEntry},
    upstream::UpstreamClient,
};

/// The name of the JSON export's format, and its version.
pub const FORMAT: &str = "switchboard.session_export";
pub const VERSION: u64 = 2;
/// The versions an import reads: 1 holds the same fields as 2, each digest before its events.
pub const READABLE_VERSIONS: [u64; 2] = [1, 2];
/// How the digests are made, in the export itself.
pub const DIGEST_RULE: &str = "sha256 over JSON Lines: each event exactly as the API listed it (a session's events with order=asc, a thread's in the order its list gives them), in RFC 8785 canonical JSON, followed by \"\\n\". `digest` covers `events`; each thread's `digest` covers that thread's `events`.";
/// The events an export asks the API for at once, and so holds at once.
pub const PAGE_EVENTS: usize = 200;
/// Exports one person may run at once.
pub const EXPORTS_PER_PERSON: usize = 2;
/// What a person over [`EXPORTS_PER_PERSON`] is told to wait: a 10,000-event session exports in
/// seconds.
const RETRY_AFTER: Duration = Duration::from_secs(10);
/// The most transcript entries held after a call that waits for its result; past them, the call
/// is written without it, and its result on its own when it comes.
const MAX_HELD: usize = 1_000;

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: Option<String>,
}

/// What an export reads before its first byte.
pub struct Head {
    pub session: Value,
    /// The agent at the session's version; `None` when the API no longer has it.
    pub agent: Option<Value>,
    /// The child threads (the primary thread's events are the session's own).
    pub threads: Vec<Value>,
}

/// `sha256:<hex>` of `events` as JSON Lines of RFC 8785 canonical JSON.
pub fn digest(events: &[Value]) -> String {
    let mut digest = EventDigest::default();
    events.iter().for_each(|event| digest.add(event));
    digest.finish()
}

/// [`digest`] worked out one event at a time, for a list too large to hold whole (an export, an
/// upload).
#[derive(Default)]
pub struct EventDigest(Sha256);

impl EventDigest {
    pub fn add(&mut self, event: &Value) {
        // Canonicalizing a `Value` cannot fail: its keys are strings and its numbers finite.
        self.0.update(serde_json_canonicalizer::to_vec(event).unwrap_or_default());
        self.0.update(b"\n");
    }

    pub fn finish(self) -> String {
        format!("sha256:{:x}", self.0.finalize())
    }
}

/// The exports running, by person: one router's (`web::routes` gives its route one).
#[derive(Clone, Default)]
pub struct Running(Arc<Mutex<HashMap<i64, usize>>>);

/// A running export's place among its person's: given back when dropped.
struct Slot {
    running: Running,
    person: i64,
}

impl Running {
    /// A place for an export of `person`'s, unless they run [`EXPORTS_PER_PERSON`] already.
    fn take(&self, person: i64) -> Option<Slot> {
        let mut running = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = running.entry(person).or_default();
        if *count >= EXPORTS_PER_PERSON {
            return None;
        }
        *count += 1;
        Some(Slot { running: self.clone(), person })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self.running.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = running.get_mut(&self.person) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                running.remove(&self.person);
            }
        }
    }
}

/// The 429 of a person who runs [`EXPORTS_PER_PERSON`] exports already: plain text, as the
/// export's other errors (a link opens it), with `retry-after`.
fn too_many() -> Response {
    let mut response = crate::support::error_page(AppError::new(
        ErrorKind::RateLimited,
        format!(
            "You are already exporting {EXPORTS_PER_PERSON} sessions, the most one person may at once. Wait for \
             one of those downloads to finish (or cancel it), then export again."
        ),
    ));
    if let Ok(seconds) = HeaderValue::from_str(&RETRY_AFTER.as_secs().to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, seconds);
    }
    response
}

/// `GET /api/sessions/{id}/export`: the transcript as a download, streamed, its export an audit
/// entry.
pub async fn export(
    axum::Extension(client): axum::Extension<crate::upstream::UpstreamClient>,
    axum::Extension(audit): axum::Extension<Arc<crate::audit::AuditLog>>,
    axum::Extension(principal): axum::Extension<Principal>,
    axum::Extension(running): axum::Extension<Running>,
    request: http::request::Parts,
    Path(id): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Response {
    let format = query.format.unwrap_or_else(|| "json".to_owned());
    if !matches!(format.as_str(), "json" | "markdown" | "html") {
        return crate::support::error_page(AppError::bad_input(
            "format",
            format!("{format:?} is not an export format: choose json, markdown or html."),
        ));
    }
    // An id, never a path: `..` must not reach another upstream endpoint with the key.
    if !domain::upstream::is_id(&id) {
        return crate::support::error_page(AppError::not_found(format!("{id:?} is not a session id.")));
    }
    let Some(slot) = running.take(principal.user_id) else { return too_many() };
    let read = async {
        let head = read_head(&client, &id).await?;
        let first = list_page(&client, &events_path(&id, None), true, PAGE_EVENTS, None).await?;
        Ok::<_, UpstreamError>((head, first))
    };
    let (head, first) = match read.await {
        Ok(read) => read,
        Err(error) => return crate::support::error_page(AppError::upstream("Exporting the session", error)),
    };
    let peer = request.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let actor = Actor::of(Some(&principal), &request.headers, peer);
    let record = match Record::begin(audit, actor, &id, &format, head.threads.len()).await {
        Ok(record) => record,
        Err(error) => {
            tracing::error!("the audit entry of an export could not be written: {error}");
            return crate::support::error_page(AppError::internal(
                "Switchboard could not write the export's audit entry, so it did not start it; try again.",
            ));
        }
    };
    let (preamble, writer, content_type, extension) = chosen_format(&format, &head, &principal.username);
    let export = Export {
        client,
        session_id: id.clone(),
        threads: head.threads,
        writer,
        preamble,
        list: 0,
        next: Next::Read(first.0, first.1),
        digest: EventDigest::default(),
        listed: 0,
        record,
        slot: Some(slot),
        ended: false,
    };
    download(export, content_type, &format!("{id}.{extension}"))
}

/// The export's head and writer in `format` (json, markdown or html), its content type and its
/// file's extension.
fn chosen_format(format: &str, head: &Head, username: &str) -> (Vec<u8>, Box<dyn Format>, &'static str, &'static str) {
    let exported_at =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    match format {
        "markdown" => (
            transcript_head(Markup::Markdown, head, &exported_at),
            Box::new(Transcript::new(Markup::Markdown, head)),
            "text/markdown; charset=utf-8",
            "md",
        ),
        "html" => (
            transcript_head(Markup::Html, head, &exported_at),
            Box::new(Transcript::new(Markup::Html, head)),
            "text/html; charset=utf-8",
            "html",
        ),
        _ => (json_head(head, &exported_at, username), Box::new(Json::default()), "application/json", "json"),
    }
}

/// The export streamed as a file to save, `filename`, never a page of this origin.
fn download(export: Export, content_type: &'static str, filename: &str) -> Response {
    // Fused: the response's layers (gzip among them) may poll a body again after its end, which
    // an `unfold` that has ended answers with a panic.
    let body = futures::StreamExt::fuse(futures::stream::unfold(export, |mut export| async move {
        let chunk = export.next_chunk().await?;
        Some((chunk, export))
    }));
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // The HTML export is a document to save, never a page of this origin that runs anything.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    response
}

/// Reads the session, its agent and its child threads from the API.
pub async fn read_head(client: &dyn Upstream, id: &str) -> Result<Head, UpstreamError> {
    let session = client.call(get(format!("/v1/sessions/{id}"), &[])).await?;
    let agent = match (session.pointer("/agent/id").and_then(Value::as_str), session.pointer("/agent/version")) {
        (Some(agent), Some(version)) if domain::upstream::is_id(agent) => {
            // Only an agent that is gone makes an export without its definition; anything else
            // (a refusal, a timeout) fails the export rather than leave it out unsaid.
            match client.call(get(format!("/v1/agents/{agent}"), &[("version", &version.to_string())])).await {
                Ok(agent) => Some(agent),
                Err(UpstreamError::Api { status: 404, .. }) => None,
                Err(error) => return Err(error),
            }
        }
        _ => None,
    };
    let threads = list_all(client, &format!("/v1/sessions/{id}/threads"), false)
        .await?
        .into_iter()
        // The primary thread's events are the session's own; a thread's id goes into a path.
        .filter(|thread| {
            thread.get("parent_thread_id").is_some_and(|parent| !parent.is_null())
                && thread.get("id").and_then(Value::as_str).is_some_and(domain::upstream::is_id)
        })
        .collect();
    Ok(Head { session, agent, threads })
}

/// The events list of session `id`, or of its thread `thread`.
fn events_path(id: &str, thread: Option<&Value>) -> String {
    match thread.and_then(|t| t.get("id")).and_then(Value::as_str) {
        Some(thread) => format!("/v1/sessions/{id}/threads/{thread}/events"),
        None => format!("/v1/sessions/{id}/events"),
    }
}

/// One page of at most `limit` items of the list at `path`, from `cursor` (`None`: the first),
/// oldest first when `ordered` (`asc`: the events list takes an order); and the next page's cursor.
async fn list_page(
    client: &dyn Upstream,
    path: &str,
    ordered: bool,
    limit: usize,
    cursor: Option<&str>,
) -> Result<(Vec<Value>, Option<String>), UpstreamError> {
    let limit = limit.to_string();
    let mut query = vec![("limit", limit.as_str())];
    if ordered {
        query.push(("order", "asc"));
    }
    if let Some(cursor) = cursor {
        query.push(("page", cursor));
    }
    let mut listed = client.call(get(path.to_owned(), &query)).await?;
    let items = match listed.get_mut("data").map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let next = listed.get("next_page").and_then(Value::as_str).filter(|next| !next.is_empty()).map(str::to_owned);
    Ok((items, next))
}

/// Every page of the list at `path`, oldest first when `ordered`.
pub(crate) async fn list_all(client: &dyn Upstream, path: &str, ordered: bool) -> Result<Vec<Value>, UpstreamError> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (items, next) = list_page(client, path, ordered, 1000, cursor.as_deref()).await?;
        all.extend(items);
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
}

fn get(path: String, query: &[(&str, &str)]) -> Call {
    let query = query.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Call { method: Method::Get, path, query, body: None }
}

/// The page an export writes next.
enum Next {
    /// Read already (the session's first, before the response's headers), with the next's cursor.
    Read(Vec<Value>, Option<String>),
    /// To read from this cursor (`None`: the list's first page).
    At(Option<String>),
}

/// A streaming export: its lists of events (the session's own, then each child thread's), read a
/// page at a time, each page written as one chunk of the response.
struct Export {
    client: UpstreamClient,
    session_id: String,
    threads: Vec<Value>,
    writer: Box<dyn Format>,
    /// What comes before the first page: the document's head.
    preamble: Vec<u8>,
    /// The list being written: 0 the session's own, n the n-th thread's.
    list: usize,
    next: Next,
    /// The digest of the list being written, so far, and its events so far.
    digest: EventDigest,
    listed: usize,
    record: Record,
    /// Given back as the last chunk is written (before the client has it, so that its next
    /// export finds it free), or dropped with the body.
    slot: Option<Slot>,
    ended: bool,
}

impl Export {
    fn thread(&self, list: usize) -> Option<&Value> {
        list.checked_sub(1).and_then(|n| self.threads.get(n))
    }

    /// The next chunk of the document: one page of events, with whatever opens or closes a list
    /// around it. `None` once the document is whole, or after an error.
    async fn next_chunk(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        if self.ended {
            return None;
        }
        let mut out = std::mem::take(&mut self.preamble);
        if matches!(self.next, Next::Read(..)) {
            self.writer.begin(None, &mut out);
        }
        let (events, cursor) = match std::mem::replace(&mut self.next, Next::At(None)) {
            Next::Read(events, cursor) => (events, cursor),
            Next::At(cursor) => {
                let path = events_path(&self.session_id, self.thread(self.list));
                match list_page(&self.client, &path, self.list == 0, PAGE_EVENTS, cursor.as_deref()).await {
                    Ok(page) => page,
                    Err(error) => return Some(Err(self.failed(error).await)),
                }
            }
        };
        events.iter().for_each(|event| self.digest.add(event));
        self.listed += events.len();
        self.writer.events(&events, &mut out);
        drop(events);
        if let Some(cursor) = cursor {
            self.next = Next::At(Some(cursor));
            return Some(Ok(Bytes::from(out)));
        }
        let digest = std::mem::take(&mut self.digest).finish();
        let thread = self.thread(self.list).cloned();
        self.writer.end(thread.as_ref(), self.listed, &digest, &mut out);
        if self.list == 0 {
            self.record.events = self.listed;
        }
        self.list += 1;
        self.listed = 0;
        match self.thread(self.list).cloned() {
            Some(thread) => self.writer.begin(Some(&thread), &mut out),
            None => {
                self.writer.finish(&mut out);
                self.ended = true;
                self.slot = None;
                // Written before the last chunk, so that the entry is whole when the download is.
                self.record.finish(200, None).await;
            }
        }
        Some(Ok(Bytes::from(out)))
    }

    /// Ends the download cut short after `error` (the client sees a failed download, not a file
    /// that seems whole), and says so in the log and the audit entry.
    async fn failed(&mut self, error: UpstreamError) -> std::io::Error {
        self.ended = true;
        self.slot = None;
        let said = AppError::upstream("Exporting the session", error).message;
        tracing::warn!(session = %self.session_id, "an export stopped: {said}");
        self.record.finish(502, Some(said.clone())).await;
        std::io::Error::other(said)
    }
}

/// An export's audit entry: written before its first byte, completed with how many events it
/// sent when its last is written, when it fails, or when the client leaves.
struct Record {
    audit: Arc<AuditLog>,
    id: i64,
    actor: Actor,
    session_id: String,
    format: String,
    threads: usize,
    /// The session's own events sent.
    events: usize,
    finished: bool,
}

impl Record {
    async fn begin(
        audit: Arc<AuditLog>,
        actor: Actor,
        session_id: &str,
        format: &str,
        threads: usize,
    ) -> Result<Self, crate::support::StoreError> {
        let id = audit.begin(&actor, "sessions/export").await?;
        Ok(Self {
            audit,
            id,
            actor,
            session_id: session_id.to_owned(),
            format: format.to_owned(),
            threads,
            events: 0,
            finished: false,
        })
    }

    fn entry(&self, status: u16, error: Option<String>) -> NewEntry {
        NewEntry {
            actor: self.actor.clone(),
            action: "sessions/export".to_owned(),
            targets: vec![self.session_id.clone()],
            detail: Some(json!({
                "format": self.format,
                "events": self.events,
                "threads": self.threads,
                "complete": status == 200 && error.is_none(),
            })),
            status,
            error,
        }
    }

    async fn finish(&mut self, status: u16, error: Option<String>) {
        self.finished = true;
        self.audit.finish(self.id, self.entry(status, error)).await;
    }
}

impl Drop for Record {
    /// The client left before the end: the entry says the download was cut short.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let entry =
            self.entry(200, Some("The download was cut short: the connection closed before its end.".to_owned()));
        let (audit, id) = (self.audit.clone(), self.id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { audit.finish(id, entry).await });
        }
    }
}

/// How an export writes the lists it reads, one page at a time.
trait Format: Send {
    /// The start of the list of `thread` (`None`: the session's own).
    fn begin(&mut self, thread: Option<&Value>, out: &mut Vec<u8>);
    fn events(&mut self, events: &[Value], out: &mut Vec<u8>);
    /// The end of the list of `thread`: `events` events, their digest `digest`.
    fn end(&mut self, thread: Option<&Value>, events: usize, digest: &str, out: &mut Vec<u8>);
    /// The end of the document, after the last list.
    fn finish(&mut self, out: &mut Vec<u8>);
}

/// The JSON export's fields before its events.
fn json_head(head: &Head, exported_at: &str, exported_by: &str) -> Vec<u8> {
    let fields = [
        ("format", json!(FORMAT)),
        ("version", json!(VERSION)),
        ("exported_at", json!(exported_at)),
        ("exported_by", json!(exported_by)),
        ("digest_rule", json!(DIGEST_RULE)),
        ("session", head.session.clone()),
        ("agent", head.agent.clone().unwrap_or(Value::Null)),
    ];
    let fields: Vec<String> = fields.iter().map(|(name, value)| format!("  \"{name}\": {value}")).collect();
    format!("{{\n{}", fields.join(",\n")).into_bytes()
}

/// The JSON export, version 2: the head's fields, `events`, then `digest`, then `threads`, each
/// with `thread`, `events`, then `digest`. One event a line.
#[derive(Default)]
struct Json {
    /// Whether the list being written has an event yet, and how many threads were begun.
    wrote_event: bool,
    threads: usize,
}

impl Json {
    /// The indent of a list's events (`in_thread`: a thread's).
    fn indent(in_thread: bool) -> &'static str {
        if in_thread { "        " } else { "    " }
    }

    /// Closes a list of events: on its own line after events, right after `[` without.
    fn close(&mut self, in_thread: bool, out: &mut Vec<u8>) {
        if self.wrote_event {
            out.push(b'\n');
            out.extend_from_slice(&Self::indent(in_thread).as_bytes()[2..]);
        }
        out.push(b']');
        self.wrote_event = false;
    }
}

impl Format for Json {
    fn begin(&mut self, thread: Option<&Value>, out: &mut Vec<u8>) {
        match thread {
            None => out.extend_from_slice(b",\n  \"events\": ["),
            Some(thread) => {
                if self.threads > 0 {
                    out.push(b',');
                }
                self.threads += 1;
                out.extend_from_slice(format!("\n    {{\n      \"thread\": {thread},\n      \"events\": [").as_bytes());
            }
        }
    }

    fn events(&mut self, events: &[Value], out: &mut Vec<u8>) {
        let indent = Self::indent(self.threads > 0);
        for event in events {
            out.extend_from_slice(if self.wrote_event { b",\n" } else { b"\n" });
            out.extend_from_slice(indent.as_bytes());
            // Writing a `Value` to a `Vec` cannot fail.
            let _ = serde_json::to_writer(&mut *out, event);
            self.wrote_event = true;
        }
    }

    fn end(&mut self, thread: Option<&Value>, _events: usize, digest: &str, out: &mut Vec<u8>) {
        self.close(thread.is_some(), out);
        let digest = json!(digest);
        match thread {
            None => out.extend_from_slice(format!(",\n  \"digest\": {digest},\n  \"threads\": [").as_bytes()),
            Some(_) => out.extend_from_slice(format!(",\n      \"digest\": {digest}\n    }}").as_bytes()),
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.threads > 0 {
            out.extend_from_slice(b"\n  ");
        }
        out.extend_from_slice(b"]\n}\n");
    }
}

/// The language of a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Markup {
    Markdown,
    Html,
}

/// The Markdown or HTML export: each list's entries as they become ready, each list's digest
/// after it.
struct Transcript {
    markup: Markup,
    /// The agents' names by thread id, and the lead agent's.
    names: HashMap<String, String>,
    lead: String,
    /// The agent of the list being written, and the time of its first event.
    agent: String,
    first: Option<f64>,
    held: Held,
}

impl Transcript {
    fn new(markup: Markup, head: &Head) -> Self {
        let names = head
            .threads
            .iter()
            .filter_map(|thread| {
                let id = thread.get("id")?.as_str()?;
                Some((id.to_owned(), agent_name(thread).to_owned()))
            })
            .collect();
        let lead = head.session.pointer("/agent/name").and_then(Value::as_str).unwrap_or("Agent").to_owned();
        Self { markup, names, agent: lead.clone(), lead, first: None, held: Held::default() }
    }

    /// Writes `entries` in the transcript's markup.
    fn write(&self, entries: &[(Option<String>, Entry)], out: &mut Vec<u8>) {
        let mut text = String::new();
        match self.markup {
            Markup::Markdown => write_markdown(&mut text, entries),
            Markup::Html => write_html(&mut text, entries),
        }
        out.extend_from_slice(text.as_bytes());
    }
}

/// A thread's agent's name.
fn agent_name(thread: &Value) -> &str {
    thread.pointer("/agent/name").and_then(Value::as_str).unwrap_or("Subagent")
}

impl Format for Transcript {
    fn begin(&mut self, thread: Option<&Value>, out: &mut Vec<u8>) {
        use html_escape::encode_text as esc;
        self.agent = thread.map_or_else(|| self.lead.clone(), |t| agent_name(t).to_owned());
        self.first = None;
        self.held = Held::default();
        let heading = match (self.markup, thread) {
            (Markup::Markdown, None) => "\n## Transcript\n\n".to_owned(),
            (Markup::Markdown, Some(_)) => format!("\n## {}'s thread\n\n", one_line(&self.agent)),
            (Markup::Html, None) => "<h2>Transcript</h2>\n".to_owned(),
            (Markup::Html, Some(_)) => format!("<h2>{}'s thread</h2>\n", esc(&self.agent)),
        };
        out.extend_from_slice(heading.as_bytes());
    }

    fn events(&mut self, events: &[Value], out: &mut Vec<u8>) {
        for event in events {
            if self.first.is_none() {
                self.first = at_ms(event);
            }
            let offset = match (self.first, at_ms(event)) {
                (Some(first), Some(at)) => Some(format!("+{}", domain::format::duration(at - first))),
                _ => None,
            };
            if let Some(kind) = kind_of(event)
                && kind.ends_with("_result")
                && let Some(call) = call_id_of(event)
            {
                let error = event.get("is_error").and_then(Value::as_bool).unwrap_or(false);
                self.held.result(call, offset.clone(), text_of(event.get("content")), error);
            }
            if let Some(entry) = entry(event, &self.names, &self.agent) {
                self.held.push(offset, entry);
            }
        }
        let ready = self.held.ready(false);
        self.write(&ready, out);
    }

    fn end(&mut self, thread: Option<&Value>, events: usize, digest: &str, out: &mut Vec<u8>) {
        use html_escape::encode_text as esc;
        let rest = self.held.ready(true);
        self.write(&rest, out);
        let totals = match (self.markup, thread) {
            (Markup::Markdown, None) => format!("- **Events:** {events}\n- **Digest:** {digest}\n"),
            (Markup::Markdown, Some(_)) => format!("Digest: {digest}\n"),
            (Markup::Html, None) => {
                format!("<dl><dt>Events</dt><dd>{events}</dd><dt>Digest</dt><dd>{}</dd></dl>\n", esc(digest))
            }
            (Markup::Html, Some(_)) => format!("<p class=\"muted\">Digest: {}</p>\n", esc(digest)),
        };
        out.extend_from_slice(totals.as_bytes());
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.markup == Markup::Html {
            out.extend_from_slice(b"</main></body></html>\n");
        }
    }
}

/// Entries waiting to be written: a call is written with its result, which comes later in its
/// list, so the entries after a call wait with it.
#[derive(Default)]
struct Held {
    entries: VecDeque<(Option<String>, Entry)>,
    /// The ids of the held calls whose result has not come.
    waiting: HashSet<String>,
    /// Calls written before their result came (held too long): who made each and its tool, by id.
    written_early: HashMap<String, (String, String)>,
}

impl Held {
    fn push(&mut self, offset: Option<String>, entry: Entry) {
        if let Entry::Call { id, result: None, .. } = &entry
            && !id.is_empty()
        {
            self.waiting.insert(id.clone());
        }
        self.entries.push_back((offset, entry));
    }

    /// The result of call `id`: with the call when it is held, on its own when the call was
    /// written without it; a result of no call seen is left out.
    fn result(&mut self, id: &str, offset: Option<String>, text: String, error: bool) {
        if self.waiting.remove(id) {
            let call = self.entries.iter_mut().rev().find_map(|(_, entry)| match entry {
                Entry::Call { id: of, result, .. } if of == id => Some(result),
                _ => None,
            });
            if let Some(result) = call {
                *result = Some((text, error));
            }
        } else if let Some((who, name)) = self.written_early.remove(id) {
            self.push(offset, Entry::Result { who, name, text, error });
        }
    }

    /// The entries ready to write, in order: those before the first call still waiting for its
    /// result, unless more than [`MAX_HELD`] are held; every one with `all` (the list ended).
    fn ready(&mut self, all: bool) -> Vec<(Option<String>, Entry)> {
        let mut ready = Vec::new();
        while let Some((_, front)) = self.entries.front() {
            let waiting = match front {
                Entry::Call { id, .. } => self.waiting.contains(id),
                _ => false,
            };
            if waiting && !all && self.entries.len() <= MAX_HELD {
                break;
            }
            let Some((offset, entry)) = self.entries.pop_front() else { break };
            if let (true, Entry::Call { id, who, name, .. }) = (waiting, &entry) {
                self.waiting.remove(id);
                self.written_early.insert(id.clone(), (who.clone(), name.clone()));
            }
            ready.push((offset, entry));
        }
        if all {
            self.written_early.clear();
        }
        ready
    }
}

/// One thing a reader of the transcript sees.
enum Entry {
    Message {
        who: String,
        text: String,
    },
    Call {
        id: String,
        who: String,
        name: String,
        input: String,
        result: Option<(String, bool)>,
    },
    /// The result of a call written before it came.
    Result {
        who: String,
        name: String,
        text: String,
        error: bool,
    },
    Marker(String),
    /// A type this version does not know, shown as it came.
    Other {
        kind: String,
        json: String,
    },
}

/// The id of the call a result answers.
fn call_id_of(e: &Value) -> Option<&str> {
    ["tool_use_id", "mcp_tool_use_id", "custom_tool_use_id"].into_iter().find_map(|k| e.get(k).and_then(Value::as_str))
}

/// The entry of event `e` of a session whose agents (by thread id) are `names`, `lead` the list's
/// agent; `None` for what is not shown on its own (results are shown with their calls; model
/// request spans are not shown).
fn entry(e: &Value, names: &HashMap<String, String>, lead: &str) -> Option<Entry> {
    let kind = kind_of(e)?;
    let who = e
        .get("session_thread_id")
        .and_then(Value::as_str)
        .and_then(|t| names.get(t))
        .cloned()
        .unwrap_or_else(|| lead.to_owned());
    let str_of = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    Some(match kind {
        types::USER_MESSAGE => Entry::Message { who: "User".to_owned(), text: text_of(e.get("content")) },
        types::AGENT_MESSAGE => Entry::Message { who, text: text_of(e.get("content")) },
        types::SYSTEM_MESSAGE => Entry::Message { who: "System".to_owned(), text: text_of(e.get("content")) },
        types::AGENT_THINKING => Entry::Marker(format!("{who} thought (the API does not send its thinking).")),
        types::AGENT_TOOL_USE | types::AGENT_MCP_TOOL_USE | types::AGENT_CUSTOM_TOOL_USE => Entry::Call {
            id: str_of("id"),
            who,
            name: str_of("name"),
            input: serde_json::to_string_pretty(e.get("input").unwrap_or(&Value::Null)).unwrap_or_default(),
            result: None,
        },
        types::AGENT_TOOL_RESULT
        | types::AGENT_MCP_TOOL_RESULT
        | types::USER_CUSTOM_TOOL_RESULT
        | types::USER_TOOL_RESULT
        | types::SPAN_MODEL_REQUEST_START
        | types::SPAN_MODEL_REQUEST_END => return None,
        types::USER_TOOL_CONFIRMATION => Entry::Marker(format!(
            "A person answered the call: {}{}.",
            str_of("result"),
            e.get("deny_message").and_then(Value::as_str).map(|m| format!(" ({m})")).unwrap_or_default()
        )),
        types::USER_INTERRUPT => Entry::Marker("The user interrupted the agent.".to_owned()),
        types::SESSION_STATUS_RUNNING => Entry::Marker("The session started running.".to_owned()),
        types::SESSION_STATUS_IDLE => Entry::Marker(format!(
            "The session went idle ({}).",
            e.pointer("/stop_reason/type").and_then(Value::as_str).unwrap_or("no reason given").replace('_', " ")
        )),
        types::SESSION_STATUS_TERMINATED => Entry::Marker("The session ended.".to_owned()),
        types::SESSION_ERROR => Entry::Marker(format!(
            "Error: {}",
            e.pointer("/error/message").and_then(Value::as_str).unwrap_or("(no message)")
        )),
        types::SESSION_THREAD_CREATED => {
            Entry::Marker(format!("{lead} started a thread for {}.", str_of("agent_name")))
        }
        types::AGENT_THREAD_MESSAGE_SENT | types::AGENT_THREAD_MESSAGE_RECEIVED => {
            Entry::Message { who, text: text_of(e.get("content")) }
        }
        _ if types::ALL.contains(&kind) => Entry::Marker(kind.to_owned()),
        _ => Entry::Other { kind: kind.to_owned(), json: serde_json::to_string_pretty(e).unwrap_or_default() },
    })
}

fn kind_of(e: &Value) -> Option<&str> {
    e.get("type").and_then(Value::as_str)
}

fn at_ms(e: &Value) -> Option<f64> {
    e.get("processed_at").and_then(Value::as_str).and_then(domain::format::parse_rfc3339_ms)
}

/// The session's title and facts, as (term, value), for the top of Markdown and HTML (the number
/// of events and their digest come after them).
fn facts(head: &Head, exported_at: &str) -> (String, Vec<(&'static str, String)>) {
    let s = &head.session;
    let get = |p: &str| s.pointer(p).map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()));
    let id = get("/id").unwrap_or_default();
    let title = get("/title").filter(|t| t != "null").unwrap_or_else(|| id.clone());
    let mut facts = vec![
        ("Session", id),
        (
            "Agent",
            format!(
                "{} v{} ({})",
                get("/agent/name").unwrap_or_default(),
                get("/agent/version").unwrap_or_default(),
                get("/agent/model").map(|m| m.trim_matches('"').to_owned()).unwrap_or_default()
            ),
        ),
        ("Status", get("/status").unwrap_or_default()),
        ("Created", get("/created_at").unwrap_or_default()),
    ];
    if let Some(cost) = s.pointer("/usage/list_cost").and_then(domain::format::json_cost) {
        facts.push(("Cost", cost));
    }
    facts.push(("Exported", exported_at.to_owned()));
    (title, facts)
}

/// The top of a Markdown or HTML export: the title, the facts, the digest's rule.
fn transcript_head(markup: Markup, head: &Head, exported_at: &str) -> Vec<u8> {
    use html_escape::encode_text as esc;
    let (title, facts) = facts(head, exported_at);
    let mut out = String::new();
    match markup {
        Markup::Markdown => {
            let _ = writeln!(out, "# {}\n", one_line(&title));
            for (term, value) in &facts {
                let _ = writeln!(out, "- **{term}:** {}", one_line(value));
            }
            let _ = writeln!(out, "\nThe digest is {DIGEST_RULE} Each digest follows the transcript it covers.");
        }
        Markup::Html => {
            let _ = write!(
                out,
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style></head>\n<body><main>\n<h1>{}</h1>\n<dl>",
                esc(&title),
                esc(&title)
            );
            for (term, value) in &facts {
                let _ = write!(out, "<dt>{term}</dt><dd>{}</dd>", esc(value));
            }
            let _ = write!(
                out,
                "</dl>\n<p class=\"muted\">The digest is {} Each digest follows the transcript it covers.</p>\n",
                esc(DIGEST_RULE)
            );
        }
    }
    out.into_bytes()
}

fn write_markdown(out: &mut String, entries: &[(Option<String>, Entry)]) {
    for (offset, entry) in entries {
        let at = offset.as_deref().map(|o| format!(" `{o}`")).unwrap_or_default();
        let _ = match entry {
            Entry::Message { who, text } => writeln!(out, "**{}**{at}\n\n{}\n", one_line(who), quote(text)),
            Entry::Call { who, name, input, result, .. } => {
                let _ = writeln!(out, "**{}** called {}{at}\n\n{}", one_line(who), code(name), fence("json", input));
                match result {
                    Some((text, error)) => {
                        writeln!(out, "{}\n\n{}", if *error { "Result (error):" } else { "Result:" }, fence("", text))
                    }
                    None => writeln!(out, "No result.\n"),
                }
            }
            Entry::Result { who, name, text, error } => writeln!(
                out,
                "The result of **{}**'s call of {}{at}{}\n\n{}",
                one_line(who),
                code(name),
                if *error { " (an error)" } else { "" },
                fence("", text)
            ),
            Entry::Marker(text) => writeln!(out, "_{}_{at}\n", one_line(text)),
            Entry::Other { kind, json } => writeln!(out, "{}{at}\n\n{}", code(kind), fence("json", json)),
        };
    }
}

/// `text` as a Markdown block quote of plain text: what an agent or a person wrote is never read
/// as markup (no HTML, links, images or emphasis of its own).
fn quote(text: &str) -> String {
    // A lone carriage return ends a line for CommonMark, not for `str::lines`: the text after one
    // would leave the quote.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    text.lines().map(|l| format!("> {}", plain(l))).collect::<Vec<_>>().join("\n")
}

/// `text` with the characters Markdown reads as markup escaped (CommonMark lets a backslash
/// escape any ASCII punctuation).
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '!' | '&' | '|' | '~' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A fenced code block longer than any run of backticks inside it.
fn fence(lang: &str, text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest.max(2) + 1);
    format!("{ticks}{lang}\n{text}\n{ticks}\n")
}

/// A code span of `text` (a tool's or a type's name): escapes are not read inside one, so a
/// backtick, which would end it, becomes a quote.
fn code(text: &str) -> String {
    format!("`{}`", text.replace(['\n', '\r'], " ").replace('`', "'"))
}

/// A name or a sentence on one line of the transcript's own markup, as plain text.
fn one_line(text: &str) -> String {
    plain(&text.replace(['\n', '\r'], " "))
}

fn write_html(out: &mut String, entries: &[(Option<String>, Entry)]) {
    use html_escape::encode_text as esc;
    for (offset, entry) in entries {
        let at = offset.as_deref().map(|o| format!(" <span class=\"at\">{}</span>", esc(o))).unwrap_or_default();
        let _ = match entry {
            Entry::Message { who, text } => {
                writeln!(out, "<section class=\"message\"><h3>{}{at}</h3><p>{}</p></section>", esc(who), esc(text))
            }
            Entry::Call { who, name, input, result, .. } => {
                let result = match result {
                    Some((text, error)) => format!(
                        "<p class=\"label\">{}</p><pre>{}</pre>",
                        if *error { "Result (error)" } else { "Result" },
                        esc(text)
                    ),
                    None => "<p class=\"label\">No result.</p>".to_owned(),
                };
                writeln!(
                    out,
                    "<section class=\"call\"><h3>{} called <code>{}</code>{at}</h3><p class=\"label\">Input</p><pre>{}</pre>{result}</section>",
                    esc(who),
                    esc(name),
                    esc(input)
                )
            }
            Entry::Result { who, name, text, error } => writeln!(
                out,
                "<section class=\"call\"><h3>The result of {}'s call of <code>{}</code>{at}</h3><p class=\"label\">{}</p><pre>{}</pre></section>",
                esc(who),
                esc(name),
                if *error { "Result (error)" } else { "Result" },
                esc(text)
            ),
            Entry::Marker(text) => writeln!(out, "<p class=\"marker\">{}{at}</p>", esc(text)),
            Entry::Other { kind, json } => {
                writeln!(
                    out,
                    "<section class=\"other\"><h3><code>{}</code>{at}</h3><pre>{}</pre></section>",
                    esc(kind),
                    esc(json)
                )
            }
        };
    }
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d2230;background:#fff}main{max-width:50rem;margin:0 auto;padding:1.5rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}h3{font-size:1rem;margin:0 0 .3rem}section{border:1px solid #d8dce6;border-radius:8px;padding:.75rem 1rem;margin:.75rem 0}section.message p{white-space:pre-wrap;margin:0}pre{background:#f4f5f8;padding:.5rem;overflow-x:auto;white-space:pre-wrap;overflow-wrap:anywhere}.marker,.muted,.at,.label{color:#5d6475;font-size:.9rem}.marker{font-style:italic}.at{font-weight:400;margin-left:.5rem}@media (prefers-color-scheme:dark){body{background:#14161c;color:#e4e7ee}section{border-color:#343a48}pre{background:#1e222b}}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_over_canonical_json_lines() {
        // Keys sorted, no spaces, numbers as ECMAScript prints them: the same digest whatever
        // order or spacing the API used.
        let a: Value = serde_json::from_str(
            r#"{"type":"agent.message","id":"sevt_1","n":1.0E2,"content":[{"text":"é","type":"text"}]}"#,
        )
        .unwrap();
        let b: Value = serde_json::from_str(
            r#"{"content":[{"type":"text","text":"\u00e9"}],"n":100,"id":"sevt_1","type":"agent.message"}"#,
        )
        .unwrap();
        assert_eq!(digest(std::slice::from_ref(&a)), digest(std::slice::from_ref(&b)));
        let line = r#"{"content":[{"text":"é","type":"text"}],"id":"sevt_1","n":100,"type":"agent.message"}"#;
        let expected = format!("sha256:{:x}", Sha256::digest(format!("{line}\n").as_bytes()));
        assert_eq!(digest(&[a]), expected);
        assert_ne!(digest(&[]), expected);
    }

    /// An API whose agent read answers `agent_status` (200: the agent), with no events or threads.
    struct Api {
        agent_status: u16,
    }

    impl Upstream for Api {
        fn call(&self, call: Call) -> domain::upstream::client::BoxFuture<'_, Result<Value, UpstreamError>> {
            let answer = if call.path == "/v1/sessions/sesn_1" {
                Ok(serde_json::json!({ "id": "sesn_1", "agent": { "id": "agent_1", "version": 2 } }))
            } else if call.path == "/v1/agents/agent_1" && self.agent_status != 200 {
                Err(UpstreamError::Api { status: self.agent_status, error: None, request_id: None, retry_after: None })
            } else if call.path == "/v1/agents/agent_1" {
                Ok(serde_json::json!({ "id": "agent_1", "version": 2, "name": "Lead" }))
            } else {
                Ok(serde_json::json!({ "data": [], "next_page": null }))
            };
            Box::pin(async move { answer })
        }
    }

    #[tokio::test]
    async fn an_export_leaves_out_only_an_agent_that_is_gone() {
        let read_with = |agent_status| async move { read_head(&Api { agent_status }, "sesn_1").await };
        assert_eq!(read_with(200).await.unwrap().agent.unwrap()["name"], "Lead");
        assert!(read_with(404).await.unwrap().agent.is_none(), "a deleted agent: the export says it has none");
        // Refused, overloaded: no export, rather than one without the definition it should hold.
        for status in [429, 500, 503] {
            assert!(
                matches!(read_with(status).await, Err(UpstreamError::Api { status: s, .. }) if s == status),
                "{status}"
            );
        }
    }

    /// What `format` writes of `lists` (`None`: the session's own; each list in pages), as the
    /// export writes them, after `preamble`.
    fn written(format: &mut dyn Format, preamble: &[u8], lists: &[(Option<Value>, Vec<Vec<Value>>)]) -> String {
        let mut out = preamble.to_vec();
        for (thread, pages) in lists {
            format.begin(thread.as_ref(), &mut out);
            for page in pages {
                format.events(page, &mut out);
            }
            let events: Vec<Value> = pages.concat();
            format.end(thread.as_ref(), events.len(), &digest(&events), &mut out);
        }
        format.finish(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn head_of(threads: Vec<Value>) -> Head {
        Head { session: json!({ "id": "sesn_1", "agent": { "name": "Lead" } }), agent: None, threads }
    }

    #[test]
    fn the_json_export_writes_each_digest_after_its_events_one_event_a_line() {
        let event = |n: u32| json!({ "id": format!("sevt_{n}"), "type": "user.message" });
        let worker = json!({ "id": "sthr_1", "parent_thread_id": "sthr_0", "agent": { "name": "Worker" } });
        let empty = json!({ "id": "sthr_2", "parent_thread_id": "sthr_0" });
        let head = head_of(vec![worker.clone(), empty.clone()]);
        let text = written(
            &mut Json::default(),
            &json_head(&head, "2026-11-26T10:00:00Z", "ada"),
            &[
                (None, vec![vec![event(1), event(2)], vec![event(3)]]),
                (Some(worker), vec![vec![event(4)]]),
                (Some(empty), vec![vec![]]),
            ],
        );
        let export: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(export["version"], 2);
        assert_eq!(export["events"], json!([event(1), event(2), event(3)]));
        assert_eq!(export["digest"], digest(&[event(1), event(2), event(3)]).as_str());
        assert_eq!(export["threads"][0]["events"], json!([event(4)]));
        assert_eq!(export["threads"][0]["digest"], digest(&[event(4)]).as_str());
        assert_eq!(export["threads"][1]["events"], json!([]));
        assert_eq!(export["threads"][1]["digest"], digest(&[]).as_str());
        let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle} in {text}"));
        assert!(at("\"sevt_3\"") < at("\"digest\""), "the session's digest follows its events: {text}");
        assert!(text.contains("\n    {\"id\":\"sevt_2\",\"type\":\"user.message\"},\n"), "one event a line: {text}");
        // No thread, no event: still one document.
        let bare = written(&mut Json::default(), &json_head(&head_of(vec![]), "", "ada"), &[(None, vec![vec![]])]);
        let bare: Value = serde_json::from_str(&bare).unwrap_or_else(|e| panic!("{e}: {bare}"));
        assert_eq!((&bare["events"], &bare["threads"], &bare["agent"]), (&json!([]), &json!([]), &Value::Null));
    }

    #[test]
    fn a_transcript_writes_a_call_with_its_later_result_and_holds_no_more_than_it_must() {
        let call = |id: &str| json!({ "type": "agent.tool_use", "id": id, "name": "bash", "input": {} });
        let result = |id: &str, text: &str| json!({ "type": "agent.tool_result", "tool_use_id": id, "content": [{ "type": "text", "text": text }] });
        let said = |text: &str| json!({ "type": "agent.message", "content": [{ "type": "text", "text": text }] });
        let mut transcript = Transcript::new(Markup::Markdown, &head_of(vec![]));
        let mut out = Vec::new();
        transcript.begin(None, &mut out);
        transcript.events(&[said("before"), call("c1"), said("while it runs")], &mut out);
        let so_far = String::from_utf8(out.clone()).unwrap();
        assert!(so_far.contains("before") && !so_far.contains("bash"), "the call waits for its result: {so_far}");
        transcript.events(&[result("c1", "its output"), said("after")], &mut out);
        let text = String::from_utf8(out.clone()).unwrap();
        let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle} in {text}"));
        assert!(at("called `bash`") < at("its output") && at("its output") < at("while it runs"), "{text}");
        assert!(text.contains("after"), "nothing waits once the result came: {text}");

        // A call whose result does not come within MAX_HELD entries is written without it, and
        // its result on its own when it comes.
        let mut out = Vec::new();
        transcript.begin(None, &mut out);
        transcript.events(&[call("c2")], &mut out);
        let many: Vec<Value> = (0..MAX_HELD).map(|n| said(&format!("line {n}"))).collect();
        transcript.events(&many, &mut out);
        assert!(transcript.held.entries.len() <= MAX_HELD, "{}", transcript.held.entries.len());
        transcript.events(&[result("c2", "late output")], &mut out);
        transcript.end(None, MAX_HELD + 2, "sha256:0", &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("No result."), "{}", &text[..300]);
        assert!(text.contains("The result of **Lead**'s call of `bash`"), "{}", &text[text.len() - 300..]);
        assert!(text.find("line 999").unwrap() < text.find("late output").unwrap());
        assert!(text.ends_with("- **Events:** 1002\n- **Digest:** sha256:0\n"), "{}", &text[text.len() - 100..]);
    }

    #[test]
    fn markdown_keeps_the_transcript_s_own_markup_apart_from_what_agents_wrote() {
        assert_eq!(fence("", "a ``` b"), "````\na ``` b\n````\n");
        assert_eq!(quote("# not a heading\nline"), "> \\# not a heading\n> line");
        assert_eq!(quote("<img src=x> **b** [l](u)"), "> \\<img src=x\\> \\*\\*b\\*\\* \\[l\\](u)");
        // A lone carriage return ends a line in CommonMark: each line stays in the quote.
        assert_eq!(quote("a\r    code\r\nb\rc"), "> a\n>     code\n> b\n> c");
    }
}
