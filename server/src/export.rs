//! A session's transcript to take away: `GET /api/sessions/{id}/export?format=json|markdown|html`.
//!
//! - **JSON**: the session object, the agent at the session's version, every event of the
//!   session and of each child thread, each exactly as the API listed it (ids kept).
//! - **Markdown** and **HTML**: the conversation and the tool calls to read, each message under
//!   the name of the agent that wrote it. The HTML page holds its own style and no script, so it
//!   reads offline in any browser.
//!
//! Every format carries a SHA-256 digest over the events, which anyone can compute again: the
//! events in the order the API lists them (`order=asc`), each in RFC 8785 canonical JSON
//! (`serde_json_canonicalizer`), each followed by `\n` (JSON Lines). The session's digest covers
//! the session's own events; each thread's covers that thread's.

use std::{collections::HashMap, fmt::Write as _, net::SocketAddr};

use app::{
    auth::Principal,
    error::AppError,
    live::model::text_of,
    upstream::client::{Call, Method, Upstream, UpstreamError},
};
use axum::{
    extract::{ConnectInfo, Path, Query},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use protocol::events::types;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::audit::{Actor, NewEntry};

/// The name of the JSON export's format, and its version.
pub const FORMAT: &str = "switchboard.session_export";
pub const VERSION: u64 = 1;
/// How the digests are made, in the export itself.
pub const DIGEST_RULE: &str = "sha256 over JSON Lines: each event exactly as the API listed it (a session's events with order=asc, a thread's in the order its list gives them), in RFC 8785 canonical JSON, followed by \"\\n\". `digest` covers `events`; each thread's `digest` covers that thread's `events`.";

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: Option<String>,
}

/// Everything an export holds, read from the API.
pub struct Transcript {
    pub session: Value,
    /// The agent at the session's version; `None` when the API no longer has it.
    pub agent: Option<Value>,
    pub events: Vec<Value>,
    /// Each child thread, with its events.
    pub threads: Vec<(Value, Vec<Value>)>,
}

/// `sha256:<hex>` of `events` as JSON Lines of RFC 8785 canonical JSON.
pub fn digest(events: &[Value]) -> String {
    let mut digest = EventDigest::default();
    events.iter().for_each(|event| digest.add(event));
    digest.finish()
}

/// [`digest`] worked out one event at a time, for a list too large to hold whole (an upload).
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

/// `GET /api/sessions/{id}/export`: the transcript as a download, its export an audit entry.
pub async fn export(
    axum::Extension(workspace): crate::workspaces::Here,
    axum::Extension(principal): axum::Extension<Principal>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Response {
    let format = query.format.unwrap_or_else(|| "json".to_owned());
    if !matches!(format.as_str(), "json" | "markdown" | "html") {
        return crate::files::error_page(AppError::bad_input(
            "format",
            format!("{format:?} is not an export format: choose json, markdown or html."),
        ));
    }
    // An id, never a path: `..` must not reach another upstream endpoint with the key.
    if !app::api::is_id(&id) {
        return crate::files::error_page(AppError::not_found(format!("{id:?} is not a session id.")));
    }
    let transcript = match read(&workspace.client, &id).await {
        Ok(transcript) => transcript,
        Err(error) => return crate::files::error_page(AppError::upstream("Exporting the session", error)),
    };
    let exported_at =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let (body, content_type, extension) = match format.as_str() {
        "markdown" => (markdown(&transcript, &exported_at).into_bytes(), "text/markdown; charset=utf-8", "md"),
        "html" => (html(&transcript, &exported_at).into_bytes(), "text/html; charset=utf-8", "html"),
        _ => (
            serde_json::to_vec_pretty(&as_json(&transcript, &exported_at, &principal.username)).unwrap_or_default(),
            "application/json",
            "json",
        ),
    };
    workspace
        .audit
        .append(NewEntry {
            actor: Actor::of(Some(&principal), &headers, peer.map(|p| p.0.0)),
            action: "sessions/export".to_owned(),
            targets: vec![id.clone()],
            detail: Some(
                json!({ "format": format, "events": transcript.events.len(), "threads": transcript.threads.len() }),
            ),
            status: 200,
            error: None,
        })
        .await;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{id}.{extension}\"")) {
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

/// Reads the session, its agent, its events and its child threads' events from the API.
pub async fn read(client: &dyn Upstream, id: &str) -> Result<Transcript, UpstreamError> {
    let session = client.call(get(format!("/v1/sessions/{id}"), &[])).await?;
    let agent = match (session.pointer("/agent/id").and_then(Value::as_str), session.pointer("/agent/version")) {
        (Some(agent), Some(version)) if app::api::is_id(agent) => {
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
    let events = list_all(client, &format!("/v1/sessions/{id}/events"), true).await?;
    let mut threads = Vec::new();
    for thread in list_all(client, &format!("/v1/sessions/{id}/threads"), false).await? {
        // The primary thread's events are the session's own.
        if thread.get("parent_thread_id").is_none_or(Value::is_null) {
            continue;
        }
        let Some(thread_id) =
            thread.get("id").and_then(Value::as_str).filter(|t| app::api::is_id(t)).map(str::to_owned)
        else {
            continue;
        };
        let events = list_all(client, &format!("/v1/sessions/{id}/threads/{thread_id}/events"), false).await?;
        threads.push((thread, events));
    }
    Ok(Transcript { session, agent, events, threads })
}

/// Every page of the list at `path`, oldest first (`asc`: the events list takes an order).
pub(crate) async fn list_all(client: &dyn Upstream, path: &str, ordered: bool) -> Result<Vec<Value>, UpstreamError> {
    let mut all = Vec::new();
    let mut page: Option<String> = None;
    loop {
        let mut query = vec![("limit", "1000")];
        if ordered {
            query.push(("order", "asc"));
        }
        if let Some(cursor) = &page {
            query.push(("page", cursor));
        }
        let listed = client.call(get(path.to_owned(), &query)).await?;
        all.extend(listed.get("data").and_then(Value::as_array).cloned().unwrap_or_default());
        match listed.get("next_page").and_then(Value::as_str) {
            Some(next) if !next.is_empty() => page = Some(next.to_owned()),
            _ => return Ok(all),
        }
    }
}

fn get(path: String, query: &[(&str, &str)]) -> Call {
    let query = query.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Call { method: Method::Get, path, query, body: None }
}

/// The JSON export.
pub fn as_json(t: &Transcript, exported_at: &str, exported_by: &str) -> Value {
    json!({
        "format": FORMAT,
        "version": VERSION,
        "exported_at": exported_at,
        "exported_by": exported_by,
        "digest_rule": DIGEST_RULE,
        "digest": digest(&t.events),
        "session": t.session,
        "agent": t.agent,
        "events": t.events,
        "threads": t.threads.iter().map(|(thread, events)| json!({
            "thread": thread,
            "digest": digest(events),
            "events": events,
        })).collect::<Vec<_>>(),
    })
}

/// One thing a reader of the transcript sees.
enum Entry {
    Message {
        who: String,
        text: String,
    },
    Call {
        who: String,
        name: String,
        input: String,
        result: Option<(String, bool)>,
    },
    Marker(String),
    /// A type this version does not know, shown as it came.
    Other {
        kind: String,
        json: String,
    },
}

/// The transcript's entries for `events` of a session whose agents (by thread id) are `names`,
/// `lead` the primary thread's agent. Results are shown with their calls; model request spans
/// are counted in the heading, not shown.
fn entries(events: &[Value], names: &HashMap<String, String>, lead: &str) -> Vec<(Option<String>, Entry)> {
    let first = events.iter().find_map(at_ms);
    let mut results: HashMap<&str, (String, bool)> = HashMap::new();
    for e in events {
        let key = ["tool_use_id", "mcp_tool_use_id", "custom_tool_use_id"]
            .into_iter()
            .find_map(|k| e.get(k).and_then(Value::as_str));
        if let (Some(key), Some(kind)) = (key, kind_of(e))
            && kind.ends_with("_result")
        {
            let error = e.get("is_error").and_then(Value::as_bool).unwrap_or(false);
            results.insert(key, (text_of(e.get("content")), error));
        }
    }
    let mut out = Vec::new();
    for e in events {
        let Some(kind) = kind_of(e) else { continue };
        let who = e
            .get("session_thread_id")
            .and_then(Value::as_str)
            .and_then(|t| names.get(t))
            .cloned()
            .unwrap_or_else(|| lead.to_owned());
        let str_of = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let entry = match kind {
            types::USER_MESSAGE => Entry::Message { who: "User".to_owned(), text: text_of(e.get("content")) },
            types::AGENT_MESSAGE => Entry::Message { who, text: text_of(e.get("content")) },
            types::SYSTEM_MESSAGE => Entry::Message { who: "System".to_owned(), text: text_of(e.get("content")) },
            types::AGENT_THINKING => Entry::Marker(format!("{who} thought (the API does not send its thinking).")),
            types::AGENT_TOOL_USE | types::AGENT_MCP_TOOL_USE | types::AGENT_CUSTOM_TOOL_USE => Entry::Call {
                who,
                name: str_of("name"),
                input: serde_json::to_string_pretty(e.get("input").unwrap_or(&Value::Null)).unwrap_or_default(),
                result: results.get(str_of("id").as_str()).cloned(),
            },
            types::AGENT_TOOL_RESULT
            | types::AGENT_MCP_TOOL_RESULT
            | types::USER_CUSTOM_TOOL_RESULT
            | types::USER_TOOL_RESULT
            | types::SPAN_MODEL_REQUEST_START
            | types::SPAN_MODEL_REQUEST_END => continue,
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
        };
        let offset = match (first, at_ms(e)) {
            (Some(first), Some(at)) => Some(format!("+{}", app::live::model::duration(at - first))),
            _ => None,
        };
        out.push((offset, entry));
    }
    out
}

fn kind_of(e: &Value) -> Option<&str> {
    e.get("type").and_then(Value::as_str)
}

fn at_ms(e: &Value) -> Option<f64> {
    e.get("processed_at").and_then(Value::as_str).and_then(app::format::parse_rfc3339_ms)
}

/// The session's facts, as (term, value), for the top of Markdown and HTML.
fn facts(t: &Transcript, exported_at: &str) -> (String, Vec<(&'static str, String)>) {
    let s = &t.session;
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
        ("Events", t.events.len().to_string()),
    ];
    if let Some(cost) = s.pointer("/usage/list_cost").and_then(app::live::model::format_cost) {
        facts.push(("Cost", cost));
    }
    facts.push(("Exported", exported_at.to_owned()));
    facts.push(("Digest", digest(&t.events)));
    (title, facts)
}

/// The agents' names by thread id, and the lead agent's.
fn names(t: &Transcript) -> (HashMap<String, String>, String) {
    let names = t
        .threads
        .iter()
        .filter_map(|(thread, _)| {
            let id = thread.get("id")?.as_str()?;
            let name = thread.pointer("/agent/name").and_then(Value::as_str).unwrap_or("Subagent");
            Some((id.to_owned(), name.to_owned()))
        })
        .collect();
    let lead = t.session.pointer("/agent/name").and_then(Value::as_str).unwrap_or("Agent").to_owned();
    (names, lead)
}

/// The Markdown export.
pub fn markdown(t: &Transcript, exported_at: &str) -> String {
    let (title, facts) = facts(t, exported_at);
    let (names, lead) = names(t);
    let mut out = format!("# {}\n\n", one_line(&title));
    for (term, value) in &facts {
        let _ = writeln!(out, "- **{term}:** {}", one_line(value));
    }
    let _ = writeln!(out, "\nThe digest is {DIGEST_RULE}\n\n## Transcript\n");
    write_markdown(&mut out, &entries(&t.events, &names, &lead));
    for (thread, events) in &t.threads {
        let name = thread.pointer("/agent/name").and_then(Value::as_str).unwrap_or("Subagent");
        let _ = writeln!(out, "\n## {}'s thread\n\nDigest: {}\n", one_line(name), digest(events));
        write_markdown(&mut out, &entries(events, &names, name));
    }
    out
}

fn write_markdown(out: &mut String, entries: &[(Option<String>, Entry)]) {
    for (offset, entry) in entries {
        let at = offset.as_deref().map(|o| format!(" `{o}`")).unwrap_or_default();
        let _ = match entry {
            Entry::Message { who, text } => writeln!(out, "**{}**{at}\n\n{}\n", one_line(who), quote(text)),
            Entry::Call { who, name, input, result } => {
                let _ = writeln!(out, "**{}** called {}{at}\n\n{}", one_line(who), code(name), fence("json", input));
                match result {
                    Some((text, error)) => {
                        writeln!(out, "{}\n\n{}", if *error { "Result (error):" } else { "Result:" }, fence("", text))
                    }
                    None => writeln!(out, "No result.\n"),
                }
            }
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

/// The HTML export: one document, its style inside, no script.
pub fn html(t: &Transcript, exported_at: &str) -> String {
    use html_escape::encode_text as esc;
    let (title, facts) = facts(t, exported_at);
    let (names, lead) = names(t);
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style></head>\n<body><main>\n<h1>{}</h1>\n<dl>",
        esc(&title),
        esc(&title)
    );
    for (term, value) in &facts {
        let _ = write!(out, "<dt>{term}</dt><dd>{}</dd>", esc(value));
    }
    let _ = write!(out, "</dl>\n<p class=\"muted\">The digest is {}</p>\n<h2>Transcript</h2>\n", esc(DIGEST_RULE));
    write_html(&mut out, &entries(&t.events, &names, &lead));
    for (thread, events) in &t.threads {
        let name = thread.pointer("/agent/name").and_then(Value::as_str).unwrap_or("Subagent");
        let _ =
            write!(out, "<h2>{}'s thread</h2>\n<p class=\"muted\">Digest: {}</p>\n", esc(name), esc(&digest(events)));
        write_html(&mut out, &entries(events, &names, name));
    }
    out.push_str("</main></body></html>\n");
    out
}

fn write_html(out: &mut String, entries: &[(Option<String>, Entry)]) {
    use html_escape::encode_text as esc;
    for (offset, entry) in entries {
        let at = offset.as_deref().map(|o| format!(" <span class=\"at\">{}</span>", esc(o))).unwrap_or_default();
        let _ = match entry {
            Entry::Message { who, text } => {
                writeln!(out, "<section class=\"message\"><h3>{}{at}</h3><p>{}</p></section>", esc(who), esc(text))
            }
            Entry::Call { who, name, input, result } => {
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
        fn call(&self, call: Call) -> app::upstream::client::BoxFuture<'_, Result<Value, UpstreamError>> {
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
        let read_with = |agent_status| async move { read(&Api { agent_status }, "sesn_1").await };
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

    #[test]
    fn markdown_keeps_the_transcript_s_own_markup_apart_from_what_agents_wrote() {
        assert_eq!(fence("", "a ``` b"), "````\na ``` b\n````\n");
        assert_eq!(quote("# not a heading\nline"), "> \\# not a heading\n> line");
        assert_eq!(quote("<img src=x> **b** [l](u)"), "> \\<img src=x\\> \\*\\*b\\*\\* \\[l\\](u)");
        // A lone carriage return ends a line in CommonMark: each line stays in the quote.
        assert_eq!(quote("a\r    code\r\nb\rc"), "> a\n>     code\n> b\n> c");
    }
}
