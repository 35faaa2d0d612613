//! Imported sessions: a JSON export (`export.rs`) read back into Switchboard's own store as a
//! read-only session that replays (`migrations/0009_imports.sql`; what the console shows of them
//! is `domain::imports`). The API has no import, and the engine's `/v1` gets none: an imported
//! session lives here only.
//!
//! - `POST /api/imports` (a form with one `file`): checks the export's format and version (1,
//!   each digest before its events, or 2, after them: the same fields, read in any order), and
//!   computes every digest again (the session's and each thread's). A file whose events do not
//!   match its digests is refused: it was damaged, cut short or edited (a digest has no key, so
//!   one edited and computed again passes: it proves the file whole, not who made it). The
//!   document is kept as compact JSON. The upload is read off the async workers, and streamed:
//!   each event is built alone for its digest and dropped, and whatever is not checked is skipped
//!   unbuilt, so an upload costs about three times its size (the file, the compact copy, the
//!   store's), plus one event of at most [`MAX_EVENT_VALUES`] JSON values (parsed, each value is
//!   a 72-byte `Value` however short its text: a 64 MiB file built whole could take 600 MB). A
//!   file of more than [`MAX_IMPORT_EVENTS`] events is refused: every view holds each one.
//! - The session's events are kept in pages of at most [`PAGE_BYTES`] or [`PAGE_EVENTS`]
//!   ([`EventPage`], `migrations/0023_import_pages.sql`); the document keeps the rest. A viewer's
//!   stream reads one page at a time, as its connection takes the frames, and its first screen
//!   the pages it shows: a reader holds a page, not the import, whatever its size (each stream
//!   held every event before: 40 idle ones of a 59 MB import took the server to 3.1 GB). An
//!   import of before pages is moved to pages at its first read.
//! - `GET /api/imports/{id}/stream`: the session's events as the hub would send them, `event`
//!   frames numbered from 1 (`Last-Event-ID` resumes), then heartbeats. The live view and
//!   presenter mode read it like a session's stream, so an import replays as the session did.

use std::{sync::Arc, time::Duration};

use axum::{
    Extension, Json,
    extract::{Multipart, Path, Query},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use domain::{
    auth::Principal,
    error::{AppError, ErrorKind},
    imports::{ImportRow, server::ImportStore},
    live::FirstScreen,
    upstream::client::BoxFuture,
};
use serde::Deserialize;
use serde_json::{Value, value::RawValue};

use super::import_rows::{Checked, EventPage, ImportRows};
use crate::{access::LoginCheck, records::export, streams::live::StreamQuery, streams::sse};

/// The largest export Switchboard imports.
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

/// The most JSON values (objects, arrays, strings, numbers, `true`, `false`, `null`, an object's
/// keys) one event of an upload may hold: each event is built whole to compute its digest. A real
/// event holds hundreds (a tool call's input, a message's blocks; a model writes far fewer than
/// a million tokens in a turn); built, a million take about 100 MB.
pub const MAX_EVENT_VALUES: usize = 1_000_000;

/// The most events an upload may hold, its threads' included. A real export holds about one per
/// 500 bytes or more (ids, types, times, text), so a whole 64 MiB one stays well under it; every
/// view of an import holds each event's text and a pointer to it.
pub const MAX_IMPORT_EVENTS: usize = 1_000_000;

/// The longest title and agent name an import keeps (longer ones are cut).
const MAX_NAME_CHARS: usize = 500;

/// The most event text one page of an import holds (an event longer than this is a page of its
/// own), and the most events: what one reader of the import holds at a time.
pub const PAGE_BYTES: usize = 256 * 1024;
pub const PAGE_EVENTS: usize = 1000;

pub struct Imports {
    rows: Arc<dyn ImportRows>,
}

/// `import_12` → 12.
fn number_of(id: &str) -> Result<i64, AppError> {
    crate::support::db::row_number(id, "import")
        .ok_or_else(|| AppError::not_found(format!("{id:?} is not an imported session's id.")))
}

/// What an upload says of itself, read first (anything else skipped): a later version may shape
/// the rest differently, and is then refused for its version, not its shape.
#[derive(Deserialize)]
struct Header {
    format: Option<Box<RawValue>>,
    version: Option<Box<RawValue>>,
}

/// An upload as it is checked: each list of events is digested as it is read ([`Digested`]), and
/// every field not named here is skipped unbuilt.
#[derive(Deserialize)]
struct Upload {
    digest: Option<String>,
    events: Option<Digested>,
    #[serde(default)]
    threads: Option<Threads>,
    session: Option<SessionFields>,
    agent: Option<Named>,
}

#[derive(Deserialize)]
struct SessionFields {
    title: Option<String>,
    id: Option<String>,
    agent: Option<Named>,
}

#[derive(Deserialize)]
struct Named {
    name: Option<String>,
}

/// Why a list of events was not digested to its end (the rest of it was skipped).
#[derive(Debug, Clone, PartialEq)]
enum Stopped {
    /// An event held more than [`MAX_EVENT_VALUES`] JSON values.
    LargeEvent,
    /// The upload held more than [`MAX_IMPORT_EVENTS`] events, its lists together.
    TooManyEvents,
    /// An event that `Value` does not read (a lone surrogate, a number out of range, nesting
    /// past 128), which skipping it had not checked: its number in its list, and why.
    Unreadable(usize, String),
}

thread_local! {
    /// The events an upload may still hold, its lists together: set by [`read_export`], which
    /// reads one upload on one thread, and spent by [`Digested`] as it reads each list.
    static EVENTS_LEFT: std::cell::Cell<usize> = const { std::cell::Cell::new(MAX_IMPORT_EVENTS) };
}

/// A list of events as an upload holds it: its digest, worked out one event at a time (each
/// built alone and dropped), and how many there were.
struct Digested {
    digest: String,
    events: usize,
    stopped: Option<Stopped>,
}

impl Default for Digested {
    /// No list: the digest of no events.
    fn default() -> Self {
        Self { digest: export::EventDigest::default().finish(), events: 0, stopped: None }
    }
}

impl<'de> Deserialize<'de> for Digested {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Events;
        impl<'de> serde::de::Visitor<'de> for Events {
            type Value = Digested;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of events")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Digested, A::Error> {
                let (mut digest, mut events) = (export::EventDigest::default(), 0);
                let stopped = loop {
                    let Some(event) = seq.next_element::<Box<RawValue>>()? else { break None };
                    if EVENTS_LEFT.get() == 0 {
                        break Some(Stopped::TooManyEvents);
                    }
                    EVENTS_LEFT.set(EVENTS_LEFT.get() - 1);
                    if json_values(event.get().as_bytes(), MAX_EVENT_VALUES) > MAX_EVENT_VALUES {
                        break Some(Stopped::LargeEvent);
                    }
                    match serde_json::from_str::<Value>(event.get()) {
                        Ok(event) => digest.add(&event),
                        Err(error) => break Some(Stopped::Unreadable(events + 1, error.to_string())),
                    }
                    events += 1;
                };
                if stopped.is_some() {
                    while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                }
                Ok(Digested { digest: digest.finish(), events, stopped })
            }
        }
        deserializer.deserialize_seq(Events)
    }
}

/// An upload's child threads, each checked against its own digest as it is read.
#[derive(Default)]
struct Threads {
    count: usize,
    /// The first thread (from 0) whose events do not match its digest.
    mismatch: Option<usize>,
    /// The first thread (from 0) not read to its end, and why.
    stopped: Option<(usize, Stopped)>,
}

impl<'de> Deserialize<'de> for Threads {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Thread {
            #[serde(default)]
            events: Option<Digested>,
            digest: Option<String>,
        }
        struct List;
        impl<'de> serde::de::Visitor<'de> for List {
            type Value = Threads;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of threads")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Threads, A::Error> {
                let mut threads = Threads::default();
                while let Some(thread) = seq.next_element::<Thread>()? {
                    let events = thread.events.unwrap_or_default();
                    if let (None, Some(stopped)) = (&threads.stopped, events.stopped) {
                        threads.stopped = Some((threads.count, stopped));
                    }
                    if threads.mismatch.is_none() && Some(events.digest) != thread.digest {
                        threads.mismatch = Some(threads.count);
                    }
                    threads.count += 1;
                }
                Ok(threads)
            }
        }
        deserializer.deserialize_seq(List)
    }
}

/// `text`, JSON the parser accepted, without the whitespace between its tokens: never longer,
/// and every string and number exactly as written. (`serde-transcode` would write numbers again,
/// `1e15` as `1000000000000000.0`, making some files larger; and a raw CR kept inside an event
/// would break the stream's SSE framing.)
fn compact(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for &byte in text {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else if byte == b'"' {
            in_string = true;
        } else if matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
            continue;
        }
        out.push(byte);
    }
    out
}

/// How many JSON values `bytes` holds (an object's keys too: each is a string to build), counted
/// without building any, up to `limit` (past it, the count stops). Whatever is not well-formed JSON is left to the parser to refuse.
fn json_values(bytes: &[u8], limit: usize) -> usize {
    let (mut count, mut in_string, mut escaped, mut after) = (0, false, false, b'[');
    for &byte in bytes {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => {
                in_string = true;
                count += 1;
            }
            b'{' | b'[' => count += 1,
            // A number, true, false or null starts after `[`, `,` or `:` (or at the start).
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' if matches!(after, b'[' | b',' | b':') => count += 1,
            _ => {}
        }
        if !byte.is_ascii_whitespace() {
            after = byte;
        }
        if count > limit {
            break;
        }
    }
    count
}

/// An uploaded export, read and checked (CPU-bound: run off the async workers): the document as
/// the store keeps it (compact JSON), and what it says of itself. Checks its format and version,
/// and every digest against the events it holds.
fn read_export(bytes: &[u8]) -> Result<(String, Checked), AppError> {
    let version = export_version(bytes)?;
    EVENTS_LEFT.set(MAX_IMPORT_EVENTS);
    let upload: Upload =
        serde_json::from_slice(bytes).map_err(|error| wrong_shape(&format!(" of version {version}"), error))?;
    let events = upload.events.ok_or_else(|| refuse("The export has no list of events.".to_owned()))?;
    let threads = upload.threads.unwrap_or_default();
    let stopped = match (events.stopped, threads.stopped) {
        (Some(stopped), _) => Some(("session's".to_owned(), stopped)),
        (None, Some((n, stopped))) => Some((format!("thread {}'s", n + 1), stopped)),
        (None, None) => None,
    };
    if let Some((list, stopped)) = stopped {
        return Err(stopped_reading(&list, stopped));
    }
    let digest = upload.digest.unwrap_or_default();
    if events.digest != digest {
        return Err(refuse(
            "The events do not match the export's digest: the file was changed after it was exported, or is not a whole export."
                .to_owned(),
        ));
    }
    if let Some(n) = threads.mismatch {
        return Err(refuse(format!(
            "The events of thread {} do not match its digest: the file was changed after it was exported.",
            n + 1
        )));
    }
    let session = upload.session;
    let cut = |s: String| s.chars().take(MAX_NAME_CHARS).collect::<String>();
    let session_agent = session.as_ref().and_then(|s| s.agent.as_ref()).and_then(|a| a.name.clone());
    let checked = Checked {
        title: cut(session
            .as_ref()
            .and_then(|s| s.title.clone())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "An imported session".to_owned())),
        agent: cut(upload.agent.and_then(|a| a.name).or(session_agent).unwrap_or_default()),
        source_session_id: session.and_then(|s| s.id).unwrap_or_default(),
        digest,
        events: events.events,
        threads: threads.count,
    };
    // Kept compact; the file's own text otherwise, so the store holds no more than the file.
    let kept = String::from_utf8(compact(bytes)).map_err(|_| refuse("The file is not UTF-8 text.".to_owned()))?;
    Ok((kept, checked))
}

/// A refusal of the uploaded file, in words.
fn refuse(message: String) -> AppError {
    AppError::bad_input("file", message)
}

fn not_an_export() -> AppError {
    refuse(format!(
        "This file is not a Switchboard session export (its \"format\" is not {:?}). Export a session as JSON from its page and import that file.",
        export::FORMAT
    ))
}

/// JSON whose fields are not an export's (`of_version`: " of version 2", once that is known).
fn wrong_shape(of_version: &str, error: serde_json::Error) -> AppError {
    match error.classify() {
        serde_json::error::Category::Data => refuse(format!(
            "This file is not a Switchboard session export{of_version}: {error}. Export a session as JSON from its page and import that file."
        )),
        _ => not_json(error),
    }
}

/// The first pass: the file is a JSON object of Switchboard's export format, in a version this
/// Switchboard reads. Only `format` and `version` are read.
fn export_version(bytes: &[u8]) -> Result<u64, AppError> {
    // A JSON list or a lone value is not an export (and serde would read a list as a struct's
    // fields in order).
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => not_an_export(),
            Err(error) => not_json(error),
        });
    }
    let header: Header = serde_json::from_slice(bytes).map_err(|error| wrong_shape("", error))?;
    if header.format.and_then(|f| serde_json::from_str::<String>(f.get()).ok()).as_deref() != Some(export::FORMAT) {
        return Err(not_an_export());
    }
    let version = header.version;
    version
        .as_ref()
        .and_then(|v| serde_json::from_str::<u64>(v.get()).ok())
        .filter(|v| export::READABLE_VERSIONS.contains(v))
        .ok_or_else(|| {
            let said = version.map(|v| v.get().chars().take(20).collect::<String>());
            let [first, last] = export::READABLE_VERSIONS;
            refuse(format!(
                "This export is of version {}, and this Switchboard reads versions {first} and {last}.",
                said.unwrap_or_else(|| "unknown".to_owned()),
            ))
        })
}

/// Why reading a list of events stopped, in words (`list`: "session's", "thread 2's").
fn stopped_reading(list: &str, stopped: Stopped) -> AppError {
    match stopped {
        Stopped::LargeEvent => AppError::new(
            ErrorKind::TooLarge,
            format!(
                "An event in the {list} list holds more than {MAX_EVENT_VALUES} JSON values, the most Switchboard imports in one event. A session's own events hold far fewer: was the file made by a Switchboard export?"
            ),
        ),
        Stopped::TooManyEvents => AppError::new(
            ErrorKind::TooLarge,
            format!(
                "The file holds more than {MAX_IMPORT_EVENTS} events, its threads' included: the most Switchboard imports."
            ),
        ),
        Stopped::Unreadable(n, error) => AppError::bad_input(
            "file",
            format!("Event {n} of the {list} list is not JSON ({error}). Import a session's JSON export."),
        ),
    }
}

fn not_json(error: serde_json::Error) -> AppError {
    AppError::bad_input("file", format!("The file is not JSON ({error}). Import a session's JSON export."))
}

impl Imports {
    pub fn new(rows: Arc<dyn ImportRows>) -> Arc<Self> {
        Arc::new(Self { rows })
    }

    /// Keeps `document` (compact JSON, `checked` by [`read_export`]) imported by `username`,
    /// its session's events in pages; answers its id.
    async fn add(&self, document: String, checked: Checked, username: &str) -> Result<String, AppError> {
        let (document, pages) = tokio::task::spawn_blocking(move || paginate(&document))
            .await
            .map_err(|error| {
                tracing::error!("paging an uploaded export stopped: {error}");
                AppError::internal("Switchboard could not read the file; try again.")
            })?
            .map_err(not_json)?;
        let at = domain::format::rfc3339(time::OffsetDateTime::now_utc());
        let id = self.rows.add(document, pages, &checked, username, &at).await?;
        Ok(format!("import_{id}"))
    }

    /// Import `id`'s number, its events in pages (one of before pages is moved to them now).
    async fn paged(&self, id: &str) -> Result<i64, AppError> {
        let number = number_of(id)?;
        match self.rows.paged(number).await? {
            None => return Err(AppError::not_found(format!("There is no imported session {id}."))),
            Some(true) => return Ok(number),
            Some(false) => {}
        }
        let document = self.rows.document(number).await?;
        let document = document.ok_or_else(|| AppError::not_found(format!("There is no imported session {id}.")))?;
        // Once per import of before pages: the one time its whole document is read.
        let paged = tokio::task::spawn_blocking(move || paginate(&document)).await;
        let (document, pages) = match paged {
            Ok(Ok(paged)) => paged,
            Ok(Err(error)) => {
                tracing::error!("imported session {id} does not parse: {error}");
                return Err(AppError::internal("The imported session could not be read; import it again."));
            }
            Err(error) => {
                tracing::error!("reading imported session {id} stopped: {error}");
                return Err(AppError::internal("The imported session could not be read; import it again."));
            }
        };
        self.rows.repage(number, document, pages).await?;
        Ok(number)
    }

    /// The page of import `number` holding event `from` (from 1), and the events from it on in
    /// that page, numbered; empty past the last.
    async fn page_from(&self, number: i64, from: u64) -> Result<Vec<(u64, Box<RawValue>)>, AppError> {
        let Some(page) = self.rows.pages(number, from, 1).await?.pop() else {
            return Ok(Vec::new());
        };
        let events: Vec<Box<RawValue>> = serde_json::from_str(&page.events).map_err(|error| {
            tracing::error!("a page of an imported session does not parse: {error}");
            AppError::internal("The imported session could not be read; import it again.")
        })?;
        let skip = from.saturating_sub(page.first) as usize;
        Ok(events.into_iter().enumerate().skip(skip).map(|(n, e)| (page.first + n as u64, e)).collect())
    }

    /// How many session events import `number` holds.
    async fn count(&self, number: i64) -> Result<u64, AppError> {
        let last = self.rows.last_pages(number, 1).await?;
        Ok(last.first().map_or(0, |page| page.first + page.count - 1))
    }

    /// Events `from..=to` of import `number` (numbered from 1), read a page at a time.
    async fn events_between(&self, number: i64, from: u64, to: u64) -> Result<Vec<(u64, Box<RawValue>)>, AppError> {
        let mut found = Vec::new();
        let mut next = from.max(1);
        while next <= to {
            let page = self.page_from(number, next).await?;
            let Some((last, _)) = page.last() else { break };
            next = last + 1;
            found.extend(page.into_iter().take_while(|(n, _)| *n <= to));
        }
        Ok(found)
    }

    /// The number of the event whose id is `id` in import `number`, read a page at a time.
    async fn find(&self, number: i64, id: &str) -> Result<Option<u64>, AppError> {
        let mut next = 1;
        loop {
            let page = self.page_from(number, next).await?;
            let Some((last, _)) = page.last() else { return Ok(None) };
            next = last + 1;
            if let Some((n, _)) = page.iter().find(|(_, e)| fields(e).and_then(|f| f.id).as_deref() == Some(id)) {
                return Ok(Some(*n));
            }
        }
    }

    /// The first screen of import `id`: around the event `around` names, or the newest; numbered
    /// from 1, as [`stream`] numbers them. `None` when no event has that id.
    async fn window(&self, id: &str, around: Option<&str>) -> Result<Option<FirstScreen>, AppError> {
        let number = self.paged(id).await?;
        let newest = self.count(number).await?;
        let span = FirstScreen::span(around.is_some());
        let (from, to) = match around {
            Some(event) => {
                let Some(at) = self.find(number, event).await? else { return Ok(None) };
                (at.saturating_sub(span.0 as u64).max(1), (at + span.1 as u64 - 1).min(newest))
            }
            None => (newest.saturating_sub(span.0 as u64) + 1, newest),
        };
        let first = self.page_from(number, 1).await?;
        let started_at = first.first().and_then(|(_, e)| fields(e)).and_then(|f| f.processed_at);
        drop(first);
        let events = self.events_between(number, from, to).await?;
        let events = events.into_iter().map(|(n, e)| (n, e.get().to_owned())).collect();
        Ok(Some(FirstScreen { events, started_at, newest, waiting: Vec::new() }))
    }
}

/// The two fields an event is read for here.
#[derive(Deserialize)]
struct Fields {
    id: Option<String>,
    processed_at: Option<String>,
}

fn fields(event: &RawValue) -> Option<Fields> {
    serde_json::from_str::<Fields>(event.get()).ok()
}

/// A JSON object's members in their order, each value as its text: read without building any.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Members<'a>, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, &'a RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// An export kept as the store keeps it: its document with its session's events taken out (an
/// empty list in their place), and those events in pages of at most [`PAGE_BYTES`] of text
/// (or one event) and [`PAGE_EVENTS`] events, numbered from 1. `kept` is compact JSON.
fn paginate(kept: &str) -> Result<(String, Vec<EventPage>), serde_json::Error> {
    let members: Members = serde_json::from_str(kept)?;
    let mut document = String::from("{");
    let mut pages = Vec::new();
    for (n, (name, value)) in members.0.iter().enumerate() {
        if n > 0 {
            document.push(',');
        }
        document.push_str(&serde_json::to_string(name)?);
        document.push(':');
        if name == "events" {
            document.push_str("[]");
            let events: Vec<&RawValue> = serde_json::from_str(value.get())?;
            pages = pages_of(&events);
        } else {
            document.push_str(value.get());
        }
    }
    document.push('}');
    Ok((document, pages))
}

fn pages_of(events: &[&RawValue]) -> Vec<EventPage> {
    let mut pages = Vec::new();
    let (mut text, mut first, mut count) = (String::new(), 1u64, 0u64);
    for (n, event) in events.iter().enumerate() {
        let full = text.len() + event.get().len() > PAGE_BYTES || count as usize == PAGE_EVENTS;
        if count > 0 && full {
            text.push(']');
            pages.push(EventPage { first, count, events: std::mem::take(&mut text) });
            (first, count) = (n as u64 + 1, 0);
        }
        text.push(if count == 0 { '[' } else { ',' });
        text.push_str(event.get());
        count += 1;
    }
    if count > 0 {
        text.push(']');
        pages.push(EventPage { first, count, events: text });
    }
    pages
}

impl ImportStore for Imports {
    fn list(&self) -> BoxFuture<'_, Result<Vec<ImportRow>, AppError>> {
        Box::pin(async move { self.rows.list(1000).await.map_err(AppError::from) })
    }

    fn get(&self, id: String) -> BoxFuture<'_, Result<ImportRow, AppError>> {
        Box::pin(async move {
            self.rows
                .get(number_of(&id)?)
                .await?
                .ok_or_else(|| AppError::not_found(format!("There is no imported session {id}.")))
        })
    }

    fn first_screen(&self, id: String, event: Option<String>) -> BoxFuture<'_, Result<Option<FirstScreen>, AppError>> {
        Box::pin(async move { self.window(&id, event.as_deref()).await })
    }

    fn delete(&self, id: String) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(async move {
            if !self.rows.delete(number_of(&id)?).await? {
                return Err(AppError::not_found(format!("There is no imported session {id}.")));
            }
            Ok(())
        })
    }
}

/// `POST /api/imports`: a form with one `file`, a JSON export. JSON for a script (`201` and
/// `{"id"}`); for a plain form post, the imported session's page, or the imports page with the
/// error.
pub async fn upload(
    axum::Extension(imports): axum::Extension<Arc<Imports>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let outcome = async {
        let bytes = read_file(multipart).await?;
        let (document, checked) =
            tokio::task::spawn_blocking(move || read_export(&bytes)).await.map_err(|error| {
                tracing::error!("reading an uploaded export stopped: {error}");
                AppError::internal("Switchboard could not read the file; try again.")
            })??;
        imports.add(document, checked, &principal.username).await
    }
    .await;
    let wants_json =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"));
    match (outcome, wants_json) {
        (Ok(id), true) => (StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response(),
        (Ok(id), false) => Redirect::to(&format!("/imports/{id}")).into_response(),
        (Err(error), true) => error.into_response(),
        (Err(error), false) => {
            Redirect::to(&format!("/imports?error={}", domain::format::query_value(&error.message))).into_response()
        }
    }
}

/// The bytes of the form's `file` field, at most [`MAX_IMPORT_BYTES`].
async fn read_file(mut multipart: Multipart) -> Result<Vec<u8>, AppError> {
    let too_large = || {
        AppError::new(
            ErrorKind::TooLarge,
            format!("The file is over {} MiB, the most Switchboard imports.", MAX_IMPORT_BYTES / (1024 * 1024)),
        )
    };
    let unreadable = |error: axum::extract::multipart::MultipartError| {
        AppError::bad_input("file", format!("The upload could not be read ({error}); try again."))
    };
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        if field.name() != Some("file") {
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
            if bytes.len() + chunk.len() > MAX_IMPORT_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        if bytes.is_empty() {
            break;
        }
        return Ok(bytes);
    }
    Err(AppError::bad_input("file", "Choose a session's JSON export to import."))
}

/// `GET /api/imports/{id}/stream`: the imported session's events as `event` frames numbered from
/// 1, from where the viewer resumes, then a heartbeat every `SWITCHBOARD_HEARTBEAT_SECS`.
pub async fn stream(
    axum::Extension(imports): axum::Extension<Arc<Imports>>,
    axum::Extension(hub): axum::Extension<Arc<crate::streams::hub::Hub>>,
    Path(id): Path<String>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
    login: Option<Extension<LoginCheck>>,
) -> Response {
    let mut after = match crate::streams::live::resume(&headers, query) {
        Ok(after) => after,
        Err(error) => return error.into_response(),
    };
    let (number, newest) = match imports.paged(&id).await {
        Ok(number) => match imports.count(number).await {
            Ok(newest) => (number, newest),
            Err(error) => return error.into_response(),
        },
        Err(error) => return error.into_response(),
    };
    let mut frames = vec![sse::status(domain::sse::LinkState::Live, None)];
    // Numbered by another log (an import removed and made again): start over, as the hub says.
    if after > newest {
        frames.push(sse::reset("The imported session was read again; its events follow from the first."));
        after = 0;
    }
    // A page at a time, each frame written as the viewer's connection takes it: a reader that
    // does not read holds one page.
    let events = futures::stream::unfold(
        (imports, after + 1, Vec::<(u64, Box<RawValue>)>::new().into_iter()),
        move |(imports, next, mut page)| async move {
            loop {
                if let Some((n, event)) = page.next() {
                    let frame = sse::render(Some(n), domain::sse::EVENT, event.get());
                    return Some((frame, (imports, n + 1, page)));
                }
                match imports.page_from(number, next).await {
                    Ok(events) if !events.is_empty() => page = events.into_iter(),
                    Ok(_) => return None,
                    Err(error) => {
                        tracing::warn!("an imported session's stream stopped: {}", error.message);
                        return None;
                    }
                }
            }
        },
    );
    let frames = futures::StreamExt::chain(futures::stream::iter(frames), events);
    let heartbeat = hub.heartbeat();
    let pings = futures::stream::unfold((), move |()| async move {
        tokio::time::sleep(heartbeat.max(Duration::from_millis(100))).await;
        Some((sse::PING.clone(), ()))
    });
    // Like a session's stream, it ends when the person's sign-in does.
    sse::signed_in_stream(futures::StreamExt::chain(frames, pings), login, heartbeat)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn export_of(events: Vec<Value>) -> Value {
        json!({
            "format": export::FORMAT, "version": export::VERSION, "digest": export::digest(&events),
            "session": { "id": "sesn_1", "title": "Demo", "agent": { "name": "Lead" } },
            "agent": { "name": "Lead" },
            "events": events, "threads": [],
        })
    }

    /// Imports on a fresh store of each database, and a way to put an export in it.
    async fn stores(name: &str) -> Vec<(Arc<Imports>, crate::support::db::testing::TestDb)> {
        let mut stores = Vec::new();
        for db in crate::support::db::testing::databases(name).await {
            let rows = Arc::new(super::super::import_rows::SqlImportRows::new(db.pool.clone()));
            stores.push((Imports::new(rows), db));
        }
        stores
    }

    fn numbered(count: usize) -> Vec<Value> {
        (1..=count)
            .map(|n| json!({ "id": format!("sevt_{n}"), "type": "agent.message", "processed_at": format!("2026-11-25T10:00:{:02}Z", n % 60) }))
            .collect()
    }

    /// 2,500 events: three pages, so that a first screen spans two.
    #[tokio::test]
    async fn an_imports_first_screen_is_numbered_as_its_stream_numbers_its_events() {
        for (imports, _db) in stores("import_window").await {
            let export = export_of(numbered(2500));
            let (kept, checked) = read_export(export.to_string().as_bytes()).unwrap();
            let id = imports.add(kept, checked, "ann").await.unwrap();
            let newest = imports.window(&id, None).await.unwrap().unwrap();
            let seqs: Vec<u64> = newest.events.iter().map(|(seq, _)| *seq).collect();
            assert_eq!(
                seqs,
                (2481..=2500).collect::<Vec<_>>(),
                "the newest 20, numbered from 1 as the stream numbers them"
            );
            assert!(newest.events[0].1.contains("\"sevt_2481\""));
            assert_eq!((newest.newest, newest.started_at.as_deref()), (2500, Some("2026-11-25T10:00:01Z")));

            let linked = imports.window(&id, Some("sevt_1000")).await.unwrap().unwrap();
            assert_eq!(linked.events.first().map(|(seq, _)| *seq), Some(997), "3 events above the linked one");
            assert_eq!(linked.events.len(), 3 + 40, "across a page's end");
            assert!(linked.events[3].1.contains("\"sevt_1000\"") && linked.events[42].1.contains("\"sevt_1039\""));
            let near_the_end = imports.window(&id, Some("sevt_2499")).await.unwrap().unwrap();
            let seqs: Vec<u64> = near_the_end.events.iter().map(|(seq, _)| *seq).collect();
            assert_eq!(seqs, (2496..=2500).collect::<Vec<_>>());
            assert_eq!(imports.window(&id, Some("sevt_nope")).await.unwrap(), None, "an id it does not hold");

            let empty = export_of(Vec::new());
            let (kept, checked) = read_export(empty.to_string().as_bytes()).unwrap();
            let id = imports.add(kept, checked, "ann").await.unwrap();
            assert_eq!(imports.window(&id, None).await.unwrap().map(|w| w.events.len()), Some(0));
        }
    }

    /// An import kept before pages (its events in its document) is read as one kept in pages,
    /// and moved to them: its document keeps the rest.
    #[tokio::test]
    async fn an_import_of_before_pages_is_read_and_moved_to_pages() {
        for (imports, db) in stores("import_before_pages").await {
            let rows = super::super::import_rows::SqlImportRows::new(db.pool.clone());
            let export = export_of(numbered(30));
            let (kept, checked) = read_export(export.to_string().as_bytes()).unwrap();
            let number = rows.add(kept, Vec::new(), &checked, "ann", "2026-11-26T10:00:00Z").await.unwrap();
            let id = format!("import_{number}");
            let screen = imports.window(&id, Some("sevt_5")).await.unwrap().unwrap();
            assert_eq!(screen.events.first().map(|(seq, _)| *seq), Some(2));
            assert_eq!(rows.paged(number).await.unwrap(), Some(true));
            let document: Value = serde_json::from_str(&rows.document(number).await.unwrap().unwrap()).unwrap();
            assert_eq!((document["events"].clone(), document["session"]["title"].clone()), (json!([]), json!("Demo")));
            assert_eq!(imports.count(number).await.unwrap(), 30);
        }
    }

    #[test]
    fn an_export_is_paged_by_size_and_count_and_its_document_keeps_the_rest_in_order() {
        let big = "x".repeat(PAGE_BYTES);
        let mut events: Vec<Value> = (0..1500).map(|n| json!(n)).collect();
        events.insert(10, json!(big));
        let text = json!({ "format": "f", "events": events, "threads": [{ "events": [1] }] }).to_string();
        let (document, pages) = paginate(&text).unwrap();
        assert_eq!(document, r#"{"format":"f","events":[],"threads":[{"events":[1]}]}"#);
        let counts: Vec<(u64, u64)> = pages.iter().map(|p| (p.first, p.count)).collect();
        assert_eq!(counts, [(1, 10), (11, 1), (12, 1000), (1012, 490)], "a large event alone; at most 1,000 a page");
        let all: Vec<Value> =
            pages.iter().flat_map(|p| serde_json::from_str::<Vec<Value>>(&p.events).unwrap()).collect();
        assert_eq!(all, events, "every event, in order, as it was");
        assert!(pages.iter().all(|p| p.events.len() <= PAGE_BYTES + 2 || p.count == 1));
    }

    #[test]
    fn json_values_are_counted_without_being_built() {
        // The object, its two keys, the list and its five values, the empty object.
        assert_eq!(json_values(br#"{"a":[1,-2.5e3,true,null,"x,[{"],"b":{}}"#, 100), 10);
        assert_eq!(json_values(br#"[ 0 , 0 ,0]"#, 100), 4);
        assert_eq!(json_values(br#""a \" [ { 1""#, 100), 1, "inside a string, nothing counts");
        assert_eq!(json_values(b"[0,0,0,0,0,0]", 3), 4, "the count stops past the limit");
    }

    /// What [`read_export`] says of an export made here.
    fn check(export: &Value) -> Result<Checked, AppError> {
        read_export(export.to_string().as_bytes()).map(|(_, checked)| checked)
    }

    /// An export's text with `events` (JSON text) as its events, and `digest` as their digest.
    fn export_text(events: &str, digest: &str) -> String {
        format!(
            r#"{{"format":"{}","version":{},"events":{events},"digest":"{digest}"}}"#,
            export::FORMAT,
            export::VERSION
        )
    }

    #[test]
    fn an_event_of_too_many_values_is_refused_unbuilt() {
        let mut events = String::from(r#"[{"id":"sevt_1"},["#);
        events.push_str(&"0,".repeat(MAX_EVENT_VALUES));
        events.push_str("0]]");
        let refused = read_export(export_text(&events, "").as_bytes()).unwrap_err();
        assert_eq!(refused.kind, ErrorKind::TooLarge);
        assert!(refused.message.contains("session's list holds more than 1000000 JSON values"), "{}", refused.message);
        // In a thread too, said of that thread.
        let mut in_thread = export_of(vec![]);
        in_thread["threads"] = json!([{ "events": [], "digest": export::digest(&[]) }, { "events": [vec![0; MAX_EVENT_VALUES + 1]], "digest": "" }]);
        let refused = check(&in_thread).unwrap_err();
        assert_eq!(refused.kind, ErrorKind::TooLarge);
        assert!(refused.message.contains("thread 2's list"), "{}", refused.message);
    }

    #[test]
    fn an_upload_of_too_many_events_is_refused() {
        // A million and one one-digit events, with their true digest: every view would hold a
        // pointer and a copy of each.
        let n = MAX_IMPORT_EVENTS + 1;
        let digest = export::digest(&vec![json!(0); n]);
        let events = format!("[{}0]", "0,".repeat(n - 1));
        let refused = read_export(export_text(&events, &digest).as_bytes()).unwrap_err();
        assert_eq!(refused.kind, ErrorKind::TooLarge);
        assert!(refused.message.contains("more than 1000000 events"), "{}", refused.message);
        // Counted across the lists: half in the session's, half in a thread's.
        let half = vec![json!(0); n / 2 + 1];
        let mut split = export_of(half.clone());
        split["threads"] = json!([{ "events": half, "digest": export::digest(&half) }]);
        assert!(check(&split).unwrap_err().message.contains("more than 1000000 events"));
        // And counted afresh for the next upload on the same thread.
        assert_eq!(check(&export_of(vec![json!(0); 10])).unwrap().events, 10);
    }

    #[test]
    fn an_export_is_kept_compact_in_its_order_and_its_names_cut() {
        let events: Vec<Value> = (1..=3_000)
            .map(|n| json!({ "type": "user.message", "id": format!("sevt_{n}"), "content": [{ "type": "text", "text": "x" }] }))
            .collect();
        let mut export = export_of(events);
        export["session"]["title"] = json!("t".repeat(10_000));
        let pretty = serde_json::to_string_pretty(&export).unwrap();
        let (kept, checked) = read_export(pretty.as_bytes()).unwrap();
        assert_eq!(kept, export.to_string(), "compact, every key where it was");
        assert_eq!((checked.events, checked.title.chars().count()), (3_000, MAX_NAME_CHARS));
        // Numbers are kept as written (`1e15` is not made `1000000000000000.0`): the store holds
        // no more than the file.
        let numbers: Vec<Value> = serde_json::from_str(&format!("[{}1e15]", "1e15,".repeat(999))).unwrap();
        let text = export_text(&format!("[ {}1e15 ]", "1e15 ,".repeat(999)), &export::digest(&numbers));
        let (kept, checked) = read_export(text.as_bytes()).unwrap();
        assert_eq!(kept, text.replace(' ', ""));
        assert_eq!(checked.events, 1_000);
        // Whitespace of any kind goes (a CR left in an event would end an SSE line); inside a
        // string, nothing is touched.
        let text = pretty.replace('\n', "\r").replace(r#""Lead""#, r#""a \" \\ b\tc""#);
        let (kept, _) = read_export(text.as_bytes()).unwrap();
        assert!(!kept.contains('\r') && kept.contains(r#""a \" \\ b\tc""#), "{}", &kept[..200]);
    }

    #[test]
    fn what_is_not_an_export_is_refused_in_words() {
        let message = |text: &str| read_export(text.as_bytes()).unwrap_err().message;
        assert!(message("not json").contains("not JSON"));
        assert!(message(r#"{"events": [}"#).contains("not JSON"));
        assert!(message("[]").contains("not a Switchboard session export (its \"format\""));
        assert!(message(r#"{"format": 7}"#).contains("not a Switchboard session export (its \"format\""));
        // The right format and version, the wrong shape: serde's words say where.
        let shape = message(&export_text(r#"[], "threads": {}"#, ""));
        assert!(shape.contains("not a Switchboard session export of version 2: invalid type: map"), "{shape}");
        // A later version is refused for its version, whatever its shape.
        let later = export_text("{}", "").replace(r#""version":2"#, r#""version":"3""#);
        assert!(
            message(&later).contains("version \"3\", and this Switchboard reads versions 1 and 2"),
            "{}",
            message(&later)
        );
        // An event that skipping the list let through: a lone surrogate, a number out of range.
        let unreadable = message(&export_text(r#"[{"id": "sevt_1"}, {"text": "\ud800"}]"#, ""));
        assert!(unreadable.contains("Event 2 of the session's list is not JSON"), "{unreadable}");
        assert!(message(&export_text("[1e400]", "")).contains("Event 1 of the session's list is not JSON"));
        let mut no_events = export_of(vec![]);
        no_events.as_object_mut().unwrap().remove("events");
        assert!(check(&no_events).unwrap_err().message.contains("no list of events"));
    }

    #[test]
    fn versions_1_and_2_are_read_each_digest_before_or_after_its_events() {
        let events =
            vec![json!({ "id": "sevt_1", "type": "user.message" }), json!({ "id": "sevt_2", "type": "agent.message" })];
        let thread = vec![json!({ "id": "sevt_3", "type": "agent.message" })];
        let (digest, of_thread) = (export::digest(&events), export::digest(&thread));
        let document = |version: u64, events: &[Value]| {
            let (events, thread) = (Value::from(events.to_vec()), Value::from(thread.clone()));
            let session = r#"{"id":"sesn_1","title":"Demo","agent":{"name":"Lead"}}"#;
            // Version 1 wrote each digest before its events; version 2 writes it after them.
            if version == 1 {
                format!(
                    r#"{{"format":"{}","version":1,"digest":"{digest}","session":{session},"agent":null,"events":{events},"threads":[{{"thread":{{}},"digest":"{of_thread}","events":{thread}}}]}}"#,
                    export::FORMAT
                )
            } else {
                format!(
                    r#"{{"format":"{}","version":2,"session":{session},"agent":null,"events":{events},"digest":"{digest}","threads":[{{"thread":{{}},"events":{thread},"digest":"{of_thread}"}}]}}"#,
                    export::FORMAT
                )
            }
        };
        for version in [1, 2] {
            let (_, checked) = read_export(document(version, &events).as_bytes()).unwrap();
            assert_eq!(
                (checked.digest.as_str(), checked.events, checked.threads, checked.agent.as_str()),
                (digest.as_str(), 2, 1, "Lead"),
                "version {version}"
            );
            // Checked either way: an event changed after export is refused.
            let changed = [events[0].clone(), json!({ "id": "sevt_2", "type": "agent.thinking" })];
            let refused = read_export(document(version, &changed).as_bytes()).unwrap_err();
            assert!(
                refused.message.contains("do not match the export's digest"),
                "version {version}: {}",
                refused.message
            );
        }
    }

    #[test]
    fn an_export_is_checked_against_its_own_digests() {
        let events =
            vec![json!({ "id": "sevt_1", "type": "user.message" }), json!({ "id": "sevt_2", "type": "agent.message" })];
        let checked = check(&export_of(events.clone())).unwrap();
        assert_eq!(
            (checked.title.as_str(), checked.agent.as_str(), checked.source_session_id.as_str(), checked.events),
            ("Demo", "Lead", "sesn_1", 2)
        );
        let mut no_agent = export_of(events.clone());
        no_agent["agent"] = Value::Null;
        no_agent["session"]["title"] = Value::Null;
        let checked = check(&no_agent).unwrap();
        assert_eq!(
            (checked.title.as_str(), checked.agent.as_str()),
            ("An imported session", "Lead"),
            "the session's agent"
        );

        let mut changed = export_of(events.clone());
        changed["events"][1]["type"] = json!("agent.thinking");
        assert!(check(&changed).unwrap_err().message.contains("do not match the export's digest"));
        let mut other = export_of(events.clone());
        other["format"] = json!("something.else");
        assert!(check(&other).unwrap_err().message.contains("not a Switchboard session export"));
        let mut newer = export_of(events.clone());
        newer["version"] = json!(3);
        assert!(check(&newer).unwrap_err().message.contains("version 3"));
        let mut thread = export_of(vec![]);
        thread["threads"] = json!([
            { "thread": {}, "events": events, "digest": export::digest(&events) },
            { "thread": {}, "events": [{ "id": "sevt_9" }], "digest": "sha256:00" },
        ]);
        assert!(check(&thread).unwrap_err().message.contains("thread 2"));
        thread["threads"][1]["digest"] = json!(export::digest(&[json!({ "id": "sevt_9" })]));
        assert_eq!(check(&thread).unwrap().threads, 2);
    }
}
