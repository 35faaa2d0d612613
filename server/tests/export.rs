//! A session's transcript as JSON, Markdown and HTML (`GET /api/sessions/{id}/export`), against
//! the embedded engine.

use crate::support;

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::*;

/// A finished session of a lead agent that runs `bash`, hands work to a Worker's thread and
/// answers with text that looks like markup. Answers its id.
async fn finished_session(app: &TestApp) -> String {
    let steps = json!([
        { "text": "Let me look." },
        { "tool": "bash", "input": { "command": "echo exported" } },
        { "subagent": "Worker", "message": "Work." },
        { "text": "Done: <script>alert(1)</script> and ```fences```." },
    ]);
    lead_and_worker_session(app, steps, "Worked on it.", "").await
}

/// Every event of the session, as the console lists them page by page.
async fn listed(app: &TestApp, id: &str) -> Vec<Value> {
    let (mut events, mut page) = (Vec::new(), None::<String>);
    loop {
        let mut query = vec![("id", id.to_owned())];
        query.extend(page.clone().map(|p| ("page", p)));
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, listed) = app.read("sessions/events", &query).await;
        assert_eq!(status, 200, "{listed}");
        events.extend(listed["data"].as_array().unwrap().iter().cloned());
        match listed["next_page"].as_str() {
            Some(next) if !next.is_empty() => page = Some(next.to_owned()),
            _ => return events,
        }
    }
}

/// An export file posted to the Imports page's endpoint, as its form sends it.
async fn post_import(app: &TestApp, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    app.client
        .post(format!("{}/api/imports", app.address))
        .header("accept", "application/json")
        .multipart(file_form(name, bytes))
        .send()
        .await
        .unwrap()
}

/// The digest as the export's own rule says, computed here without the server's code: RFC 8785
/// canonical JSON (keys sorted by their UTF-16 units at every level, no spaces, numbers as
/// ECMAScript prints them), one line per event.
fn recomputed(events: &[Value]) -> String {
    fn canonical(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
                out.push('{');
                for (n, key) in keys.into_iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    canonical(&map[key], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    canonical(item, out);
                }
                out.push(']');
            }
            Value::Number(number) if number.is_f64() => out.push_str(&ecmascript(number.as_f64().unwrap())),
            other => out.push_str(&other.to_string()),
        }
    }
    let lines: String = events
        .iter()
        .map(|e| {
            let mut line = String::new();
            canonical(e, &mut line);
            line + "\n"
        })
        .collect();
    format!("sha256:{:x}", Sha256::digest(lines.as_bytes()))
}

/// A number as ECMAScript's `Number.prototype.toString` prints it (RFC 8785 §3.2.2.3): the
/// shortest digits that read back the same, in plain notation from 1e-6 to below 1e21.
fn ecmascript(number: f64) -> String {
    if number == 0.0 {
        return "0".to_owned();
    }
    let scientific = format!("{:e}", number.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap();
    let digits = mantissa.replace('.', "");
    let (k, n) = (digits.len() as i32, exponent.parse::<i32>().unwrap() + 1);
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat(-n as usize))
    } else {
        let sign = if n >= 1 { "+" } else { "-" };
        let fraction = if k > 1 { format!(".{}", &digits[1..]) } else { String::new() };
        format!("{}{fraction}e{sign}{}", &digits[..1], (n - 1).abs())
    };
    if number < 0.0 { format!("-{body}") } else { body }
}

#[test]
fn numbers_are_printed_as_ecmascript_prints_them() {
    let cases = [
        (1.5, "1.5"),
        (0.000062, "0.000062"),
        (0.0000001, "1e-7"),
        (123456789.25, "123456789.25"),
        (1e21, "1e+21"),
        (-2.5e-8, "-2.5e-8"),
        (100.0, "100"),
    ];
    for (number, printed) in cases {
        assert_eq!(ecmascript(number), printed, "{number}");
    }
}

#[tokio::test]
async fn a_session_exports_as_json_with_every_event_and_a_digest_anyone_can_recompute() {
    let app = spawn_app(&[]).await;
    let id = finished_session(&app).await;
    let viewer = app.client_as("vera", &["viewer"]).await;

    let response = viewer.get(format!("{}/api/sessions/{id}/export?format=json", app.address)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-disposition"].to_str().unwrap(),
        format!("attachment; filename=\"{id}.json\"")
    );
    let export: Value = response.json().await.unwrap();
    assert_eq!((&export["format"], &export["version"]), (&json!("switchboard.session_export"), &json!(2)));
    assert_eq!(export["exported_by"], "vera");
    assert_eq!(export["session"]["id"], id.as_str());
    assert_eq!(export["agent"]["name"], "Lead");
    assert_eq!(export["agent"]["version"], export["session"]["agent"]["version"]);
    let events = export["events"].as_array().unwrap();
    assert_eq!(events, &listed(&app, &id).await, "every event, as the API lists it");
    assert!(events.iter().any(|e| e["type"] == "agent.tool_use"));
    assert_eq!(export["digest"].as_str().unwrap(), recomputed(events));
    assert!(export["digest_rule"].as_str().unwrap().contains("RFC 8785"));
    let threads = export["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 1, "the Worker's thread; the primary thread's events are the session's");
    assert_eq!(threads[0]["thread"]["agent"]["name"], "Worker");
    let thread_events = threads[0]["events"].as_array().unwrap();
    assert!(thread_events.iter().any(|e| e["type"] == "agent.message" && e["content"][0]["text"] == "Worked on it."));
    assert_eq!(threads[0]["digest"].as_str().unwrap(), recomputed(thread_events));

    let entries = audit_entries(&app, "sessions/export").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!((&entries[0]["who"], &entries[0]["targets"]), (&json!("vera"), &json!(id)), "{entries:?}");
    assert_eq!(entries[0]["detail"]["format"], "json");
}

#[tokio::test]
async fn markdown_and_html_read_as_a_transcript_and_the_html_runs_nothing() {
    let app = spawn_app(&[]).await;
    let id = finished_session(&app).await;
    let (_, export) = app.get_text(&format!("/api/sessions/{id}/export?format=json")).await;
    let digest = serde_json::from_str::<Value>(&export).unwrap()["digest"].as_str().unwrap().to_owned();

    let (status, markdown) = app.get_text(&format!("/api/sessions/{id}/export?format=markdown")).await;
    assert_eq!(status, 200, "{markdown}");
    assert!(markdown.contains("**User**"), "{markdown}");
    assert!(markdown.contains("> go"));
    assert!(markdown.contains("**Lead** called `bash`"));
    assert!(markdown.contains("exported"), "the call's output");
    assert!(!markdown.contains("<script>"), "what the agent wrote is plain text, never markup");
    assert!(markdown.contains(r"> Done: \<script\>alert(1)\</script\> and \`\`\`fences\`\`\`."), "{markdown}");
    assert!(markdown.contains("## Worker's thread"));
    assert!(markdown.contains("**Worker**"), "the thread's messages under its agent's name");
    assert!(markdown.contains(&format!("- **Digest:** {digest}")));

    let response = app.get(&format!("/api/sessions/{id}/export?format=html")).await;
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    assert!(response.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
    let html = response.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.to_lowercase().contains("<script"), "the agent's text is escaped and nothing runs");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("Lead called <code>bash</code>"));
    assert!(html.contains(&digest));
    assert!(!html.contains("<link") && !html.contains("src="), "nothing is loaded from elsewhere");

    // As a browser asks for them: gzipped, each format whole (the compression layer polls the
    // body once more after its end).
    for format in ["json", "markdown", "html"] {
        let response = app
            .client
            .get(format!("{}/api/sessions/{id}/export?format={format}", app.address))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{format}");
        assert_eq!(response.headers()["content-encoding"], "gzip", "{format}");
        let body = response.bytes().await.unwrap_or_else(|e| panic!("the {format} export was cut short: {e}"));
        assert_eq!(body[..2], [0x1f, 0x8b], "{format}");
    }

    let (status, error) = app.get_text(&format!("/api/sessions/{id}/export?format=pdf")).await;
    assert_eq!(status, 400);
    assert!(error.contains("choose json, markdown or html"), "{error}");
    let (status, _) = app.get_text("/api/sessions/sesn_nope/export").await;
    assert_eq!(status, 404);
}

/// The events of an imported session's stream, as a browser reads them: `event` frames until
/// `n` have come.
async fn streamed(app: &TestApp, path: &str, n: usize) -> Vec<(u64, Value)> {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    let mut body = response.bytes_stream();
    let (mut text, mut events) = (String::new(), Vec::new());
    while events.len() < n {
        let chunk = tokio::time::timeout(Duration::from_secs(10), futures::StreamExt::next(&mut body))
            .await
            .unwrap_or_else(|_| panic!("{n} events within 10 s; got {}", events.len()))
            .expect("the stream is open")
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let frame = sse_frame(&text.drain(..end + 2).collect::<String>());
            if frame.event.as_deref() == Some("event") {
                events.push((frame.id.unwrap(), serde_json::from_str(&frame.data.unwrap()).unwrap()));
            }
        }
    }
    events
}

#[tokio::test]
async fn an_export_imports_as_a_read_only_session_that_replays_the_same_events() {
    let app = spawn_app(&[]).await;
    let id = finished_session(&app).await;
    let export = app.get(&format!("/api/sessions/{id}/export?format=json")).await.bytes().await.unwrap().to_vec();
    let original: Value = serde_json::from_slice(&export).unwrap();
    let upload = |bytes: Vec<u8>| post_import(&app, "session.json", bytes);

    // A changed file is refused, and nothing is kept.
    // (In an event: the agent's definition, which also holds the text, is not under the digest.)
    let mut tampered = original.clone();
    let said = tampered["events"].as_array_mut().unwrap().iter_mut().find(|e| e["type"] == "agent.message").unwrap();
    said["content"][0]["text"] = json!("Let me lie.");
    let tampered = tampered.to_string();
    let refused = upload(tampered.into_bytes()).await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("do not match the export's digest"));
    let refused = upload(b"{\"not\": \"an export\"}".to_vec()).await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("not a Switchboard session export"));
    let (_, listed_imports) = app.read("imports/list", &[]).await;
    assert_eq!(listed_imports, json!([]));

    let imported = upload(export).await;
    assert_eq!(imported.status(), 201);
    let import_id = imported.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let (status, row) = app.read("imports/get", &[("id", &import_id)]).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!((row["title"].as_str(), row["agent"].as_str()), (Some("An imported session"), Some("Lead")), "{row}");
    assert_eq!(
        (row["source_session_id"].as_str(), row["digest"].as_str()),
        (Some(id.as_str()), original["digest"].as_str())
    );

    // Its stream replays the session's events, numbered as the hub numbers them, unchanged; the
    // digest computed over them is the export's.
    let events = original["events"].as_array().unwrap();
    let replayed = streamed(&app, &format!("/api/imports/{import_id}/stream"), events.len()).await;
    assert_eq!(replayed.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), (1..=events.len() as u64).collect::<Vec<_>>());
    let replayed: Vec<Value> = replayed.into_iter().map(|(_, e)| e).collect();
    assert_eq!(&replayed, events);
    assert_eq!(recomputed(&replayed), original["digest"].as_str().unwrap());
    // From where a viewer resumes.
    let resumed = streamed(&app, &format!("/api/imports/{import_id}/stream?after={}", events.len() - 2), 2).await;
    assert_eq!(resumed[0].0, events.len() as u64 - 1);
    // A viewer numbered by a longer log is told to start over, and gets every event again.
    let response = app.get(&format!("/api/imports/{import_id}/stream?after={}", events.len() + 5)).await;
    let mut body = response.bytes_stream();
    let mut first = String::new();
    while !first.contains("id: 1\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), futures::StreamExt::next(&mut body)).await.unwrap();
        first.push_str(&String::from_utf8_lossy(&chunk.unwrap().unwrap()));
    }
    let (reset, numbered) = (first.find("event: reset").expect("a reset frame"), first.find("id: 1\n").unwrap());
    assert!(reset < numbered, "the reset comes before the history: {first}");

    // Its pages render, the import is on record, and it can be removed.
    let (status, page) = app.get_text(&format!("/imports/{import_id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Imported") && page.contains(original["digest"].as_str().unwrap()), "{page}");
    let (status, present) = app.get_text(&format!("/imports/{import_id}/present")).await;
    assert_eq!(status, 200);
    // Both come with their timeline's first screen (the newest events, numbered as the stream
    // numbers them), so a long import shows its end before its stream has delivered it.
    assert!(page.contains("fences") && present.contains("fences"), "the last message is in the pages as sent");
    let (status, screen) = app.read("imports/first_screen", &[("id", &import_id)]).await;
    assert_eq!(status, 200, "{screen}");
    let shown: Vec<(u64, Value)> = screen["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e[0].as_u64().unwrap(), serde_json::from_str(e[1].as_str().unwrap()).unwrap()))
        .collect();
    let from = events.len().saturating_sub(20);
    let expected: Vec<(u64, Value)> =
        events[from..].iter().enumerate().map(|(n, e)| ((from + n + 1) as u64, e.clone())).collect();
    assert_eq!(shown, expected);
    let first = events[0]["id"].as_str().unwrap();
    let (_, linked) = app.read("imports/first_screen", &[("id", &import_id), ("event", first)]).await;
    assert_eq!(linked["events"][0][0], json!(1), "a link to the first event opens at the top: {linked}");
    let entries = audit_entries(&app, "imports").await;
    assert!(
        entries.iter().any(|e| e["outcome"] == "ok" && e["targets"].to_string().contains(&import_id)),
        "{entries:?}"
    );
    let (status, _) = app.call("imports/delete", &[("id", &import_id)]).await;
    assert_eq!(status, 200);
    assert_eq!(app.get(&format!("/api/imports/{import_id}/stream")).await.status(), 404);
}

#[tokio::test]
async fn a_version_2_export_round_trips_through_import_and_a_version_1_file_still_imports() {
    let app = spawn_app(&[]).await;
    let id = finished_session(&app).await;
    let (status, text) = app.get_text(&format!("/api/sessions/{id}/export?format=json")).await;
    assert_eq!(status, 200, "{text}");
    let export: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(export["version"], 2);
    let events = export["events"].as_array().unwrap();
    let thread = &export["threads"][0];
    // Each digest comes after the events it covers, worked out as they streamed.
    let after = |event: &Value, digest: &Value| {
        text.find(&format!("\"id\":\"{}\"", event["id"].as_str().unwrap())).unwrap()
            < text.find(&format!("\"digest\": \"{}\"", digest.as_str().unwrap())).unwrap()
    };
    assert!(after(events.last().unwrap(), &export["digest"]), "{text}");
    assert!(after(thread["events"].as_array().unwrap().last().unwrap(), &thread["digest"]), "{text}");
    // One event a line.
    assert_eq!(text.lines().filter(|l| l.starts_with("    {\"")).count(), events.len());

    let upload = |bytes: Vec<u8>| async {
        let response = post_import(&app, "session.json", bytes).await;
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "{answer}");
        let (_, row) = app.read("imports/get", &[("id", answer["id"].as_str().unwrap())]).await;
        row
    };
    let imported = upload(text.clone().into_bytes()).await;
    assert_eq!(
        (&imported["digest"], imported["events"].as_u64(), imported["threads"].as_u64()),
        (&export["digest"], Some(events.len() as u64), Some(1)),
        "{imported}"
    );
    let replayed =
        streamed(&app, &format!("/api/imports/{}/stream", imported["id"].as_str().unwrap()), events.len()).await;
    assert_eq!(&replayed.into_iter().map(|(_, e)| e).collect::<Vec<_>>(), events, "the same events, in order");

    // The same session as version 1 wrote it (each digest before its events, pretty) still imports.
    let threads: Vec<Value> = export["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| json!({ "thread": t["thread"], "digest": t["digest"], "events": t["events"] }))
        .collect();
    let version_1 = json!({
        "format": "switchboard.session_export", "version": 1,
        "exported_at": export["exported_at"], "exported_by": export["exported_by"], "digest_rule": export["digest_rule"],
        "digest": export["digest"], "session": export["session"], "agent": export["agent"],
        "events": events, "threads": threads,
    });
    let imported = upload(serde_json::to_vec_pretty(&version_1).unwrap()).await;
    assert_eq!((&imported["digest"], imported["events"].as_u64()), (&export["digest"], Some(events.len() as u64)));
    // A version 1 file changed after export is still refused.
    let mut changed = version_1.clone();
    changed["events"][0]["id"] = json!("sevt_changed");
    let refused = post_import(&app, "changed.json", changed.to_string().into_bytes()).await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("do not match the export's digest"));
}

/// The engine's API, called as an SDK would: sessions made straight in the engine, without the
/// console, for the tests that run Switchboard in front of it in Anthropic mode.
struct EngineApi {
    base: String,
    http: reqwest::Client,
}

const ENGINE_KEY: &str = "export-test-key";

impl EngineApi {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-api-key", ENGINE_KEY)
            .header("anthropic-version", protocol::ANTHROPIC_VERSION)
            .header("anthropic-beta", protocol::MANAGED_AGENTS_BETA);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// A finished session whose one turn writes `messages` messages (with the turn's own events,
    /// its usage among them, `messages + 6` events). Answers its id.
    async fn long_session(&self, messages: usize) -> String {
        let turn: Vec<Value> =
            (1..=messages).map(|n| json!({ "text": format!("Message {n}: a line of the long session.") })).collect();
        let agent = json!({ "name": "Long", "model": "scripted", "system": json!({ "turns": [turn] }).to_string() });
        let agent = self.call(reqwest::Method::POST, "/v1/agents", Some(agent)).await;
        let environment = json!({ "name": "export", "config": { "type": "cloud", "networking": { "type": "limited", "allowed_hosts": [] } } });
        let environment = self.call(reqwest::Method::POST, "/v1/environments", Some(environment)).await;
        let session = json!({ "agent": agent["id"], "environment_id": environment["id"] });
        let id =
            self.call(reqwest::Method::POST, "/v1/sessions", Some(session)).await["id"].as_str().unwrap().to_owned();
        let go = json!({ "events": [{ "type": "user.message", "content": [{ "type": "text", "text": "go" }] }] });
        self.call(reqwest::Method::POST, &format!("/v1/sessions/{id}/events"), Some(go)).await;
        for _ in 0..6000 {
            let session = self.call(reqwest::Method::GET, &format!("/v1/sessions/{id}"), None).await;
            if session["status"] == "idle" && session["stats"]["active_seconds"].as_f64().is_some() {
                let listed = self
                    .call(reqwest::Method::GET, &format!("/v1/sessions/{id}/events?limit=1&order=desc"), None)
                    .await;
                if listed["data"][0]["type"] == "session.status_idle" {
                    return id;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the long session never ended its turn");
    }
}

/// An engine in this process without its demo data; its events lists wait at `gate` for a page
/// after the first while it is closed (`false`), as a slow API would. Answers its API.
async fn gated_engine(dir: &TempDir, gate: tokio::sync::watch::Receiver<bool>) -> EngineApi {
    let mut config = engine::EngineConfig::new(dir.0.join("engine"), ENGINE_KEY.to_owned());
    config.seed_demo = false;
    let engine = engine::Engine::open(config).await.expect("the engine opens");
    let router = engine.router().layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let mut gate = gate.clone();
            async move {
                let later_page = request.uri().path().ends_with("/events")
                    && request.uri().query().is_some_and(|q| q.split('&').any(|p| p.starts_with("page=")));
                if later_page {
                    let _ = gate.wait_for(|open| *open).await;
                }
                next.run(request).await
            }
        },
    ));
    EngineApi { base: serve(router).await, http: engine::http_client::client() }
}

#[tokio::test]
async fn a_third_export_at_once_is_refused_in_words_until_one_of_two_ends() {
    let (open, gate) = tokio::sync::watch::channel(true);
    let dir = TempDir::new();
    let engine = gated_engine(&dir, gate).await;
    // More than one page of events: each export then waits at the gate for its second.
    let id = engine.long_session(249).await;
    let app = anthropic_app(&engine.base, ENGINE_KEY).await;
    let vera = app.client_as("vera", &["viewer"]).await;
    let export = |client: &reqwest::Client| client.get(format!("{}/api/sessions/{id}/export", app.address)).send();

    open.send_replace(false);
    let first = export(&vera).await.unwrap();
    let second = export(&vera).await.unwrap();
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    let third = export(&vera).await.unwrap();
    assert_eq!(third.status(), 429);
    assert_eq!(third.headers()["retry-after"], "10");
    let said = third.text().await.unwrap();
    assert!(
        said.contains("You are already exporting 2 sessions, the most one person may at once")
            && said.contains("Wait for one of those downloads to finish (or cancel it), then export again."),
        "{said}"
    );
    let markdown = vera.get(format!("{}/api/sessions/{id}/export?format=markdown", app.address)).send().await.unwrap();
    assert_eq!(markdown.status(), 429, "every format counts");
    // Another person is not held up by Vera's.
    let admins = export(&app.client).await.unwrap();
    assert_eq!(admins.status(), 200);

    // The two go on to their end, whole, and then Vera exports again.
    open.send_replace(true);
    for response in [first, second, admins] {
        let export: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(export["version"], 2);
        assert_eq!(export["events"].as_array().unwrap().len(), 255);
        assert_eq!(export["digest"].as_str().unwrap(), recomputed(export["events"].as_array().unwrap()));
    }
    let again = export(&vera).await.unwrap();
    assert_eq!(again.status(), 200, "the slots came back as the downloads ended");
    assert!(again.text().await.unwrap().ends_with("}\n"));

    // A download the browser leaves gives its slot back too, and its audit entry says so.
    open.send_replace(false);
    let kept = export(&vera).await.unwrap();
    let left = export(&vera).await.unwrap();
    assert_eq!((kept.status().as_u16(), left.status().as_u16()), (200, 200));
    assert_eq!(export(&vera).await.unwrap().status(), 429);
    drop(left);
    let mut freed = None;
    for _ in 0..50 {
        let response = export(&vera).await.unwrap();
        if response.status() == 200 {
            freed = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let freed = freed.expect("the slot of the download left came back");
    open.send_replace(true);
    for response in [kept, freed] {
        assert!(response.text().await.unwrap().ends_with("}\n"));
    }
    let entries = audit_entries(&app, "sessions/export").await;
    let cut_short: Vec<&Value> = entries.iter().filter(|e| e["detail"]["complete"] == false).collect();
    assert_eq!(cut_short.len(), 1, "{entries:#?}");
    assert!(cut_short[0]["error"].as_str().unwrap().contains("cut short"), "{entries:#?}");
    let whole = entries.iter().filter(|e| e["detail"]["complete"] == true && e["detail"]["events"] == 255);
    assert_eq!(whole.count(), 6, "{entries:#?}");
}

/// The peak resident memory of process `pid` (`VmHWM`), in MiB.
fn peak_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status");
    kib / 1024.0
}

/// Switchboard's binary as its own process on `port`, in Anthropic mode in front of `engine`, its
/// data in `data_dir`; answers once it answers its health check.
async fn switchboard_process(engine: &str, data_dir: &std::path::Path, port: u16) -> tokio::process::Child {
    let server = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ANTHROPIC_API_KEY", ENGINE_KEY)
        .env("ANTHROPIC_BASE_URL", engine)
        .env("SWITCHBOARD_LISTEN", format!("127.0.0.1:{port}"))
        .env("SWITCHBOARD_DATA_DIR", data_dir)
        .env("SWITCHBOARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = engine::http_client::client();
    for _ in 0..300 {
        if http.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_ok() {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("Switchboard did not start on port {port}");
}

#[tokio::test]
async fn ten_people_exporting_a_10_000_event_session_twice_each_at_once_keep_the_server_under_200_mb() {
    let dir = TempDir::new();
    let (_open, gate) = tokio::sync::watch::channel(true);
    let engine = gated_engine(&dir, gate).await;
    let made = std::time::Instant::now();
    let id = engine.long_session(9_994).await;
    eprintln!("the 10,000-event session took {:.1} s to make", made.elapsed().as_secs_f64());

    // Switchboard as its own process, so that its memory is its own, in front of this engine.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (base, data_dir) = (format!("http://127.0.0.1:{port}"), dir.0.join("switchboard"));
    let mut server = switchboard_process(&engine.base, &data_dir, port).await;
    let sign_in = |client: &reqwest::Client, username: &str| {
        client
            .post(format!("{base}/auth/login"))
            .form(&[("username", username), ("password", ADMIN_PASSWORD), ("next", "/")])
            .send()
    };
    let admin = browser();
    assert_eq!(sign_in(&admin, "admin").await.unwrap().status(), 303);
    let mut people = Vec::new();
    for n in 0..10 {
        let username = format!("person{n}");
        let form = [
            ("username", username.as_str()),
            ("display_name", ""),
            ("password", ADMIN_PASSWORD),
            ("roles[viewer]", "true"),
        ];
        let created = admin.post(format!("{base}/api/users/create")).form(&form).send().await.unwrap();
        assert_eq!(created.status(), 200, "{}", created.text().await.unwrap());
        let client = browser();
        assert_eq!(sign_in(&client, &username).await.unwrap().status(), 303);
        people.push(client);
    }
    // Each password hashed (argon2id, 19 MiB) stays in the allocator of the thread that hashed
    // it: measured apart, the exports run in a server started afresh, the people still signed in.
    let signing_in = peak_mib(server.id().unwrap());
    // Its sign-ins are in its database, written as they were made.
    server.kill().await.unwrap();
    let server = switchboard_process(&engine.base, &data_dir, port).await;
    let pid = server.id().unwrap();
    let before = peak_mib(pid);

    let started = std::time::Instant::now();
    let exports = people.iter().flat_map(|client| [client, client]).map(|client| {
        let url = format!("{base}/api/sessions/{id}/export");
        async move {
            let response = client.get(url).send().await.unwrap();
            assert_eq!(response.status(), 200);
            // Kept whole here: only the server's memory is measured.
            response.bytes().await.unwrap()
        }
    });
    let exports = futures::future::join_all(exports).await;
    let took = started.elapsed();
    let peak = peak_mib(pid);
    eprintln!(
        "20 exports of 10,000 events ({:.1} MB each) at once, in {:.1} s: the server's peak RSS {peak:.0} MiB \
         ({before:.0} MiB before them; the server that signed the 10 people in peaked at {signing_in:.0} MiB)",
        exports[0].len() as f64 / 1e6,
        took.as_secs_f64()
    );
    #[derive(serde::Deserialize)]
    struct Whole {
        events: Vec<serde::de::IgnoredAny>,
        digest: String,
    }
    for export in &exports {
        let whole: Whole = serde_json::from_slice(export).expect("a whole export");
        assert_eq!((whole.events.len(), whole.digest.len()), (10_000, "sha256:".len() + 64));
    }
    assert!(peak < 200.0, "the server's peak RSS was {peak:.0} MiB ({before:.0} MiB before the exports)");
}

/// An import longer than a page (2,500 events: the store keeps at most 1,000 a page) streams
/// every event, numbered 1…n in order across pages, and a viewer resuming in a later page gets the
/// rest from there: a reader is served a page at a time, never the whole import at once.
#[tokio::test]
async fn a_long_import_streams_across_its_pages_and_resumes_in_any_of_them() {
    let app = spawn_app(&[]).await;
    let events: Vec<Value> = (1..=2500)
        .map(|n| {
            json!({ "id": format!("sevt_{n:05}"), "type": "agent.message", "processed_at": "2026-11-28T10:00:00Z",
                         "content": [{ "type": "text", "text": format!("line {n}") }] })
        })
        .collect();
    let export = json!({
        "format": server::records::export::FORMAT, "version": server::records::export::VERSION,
        "session": { "id": "sesn_long", "title": "Long" }, "agent": { "name": "Lead" },
        "events": events, "digest": server::records::export::digest(&events), "threads": [],
    });
    let response = post_import(&app, "long.json", export.to_string().into_bytes()).await;
    assert_eq!(response.status(), 201);
    let import_id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let all = streamed(&app, &format!("/api/imports/{import_id}/stream"), events.len()).await;
    assert_eq!(all.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), (1..=2500).collect::<Vec<_>>());
    assert_eq!(all.into_iter().map(|(_, e)| e).collect::<Vec<_>>(), events);
    let resumed = streamed(&app, &format!("/api/imports/{import_id}/stream?after=1700"), 800).await;
    assert_eq!((resumed[0].0, resumed[799].0), (1701, 2500));
    assert_eq!(resumed[0].1, events[1700]);
    let (status, screen) = app.read("imports/first_screen", &[("id", &import_id), ("event", "sevt_01000")]).await;
    assert_eq!(status, 200, "{screen}");
    assert_eq!((screen["events"][0][0].as_u64(), screen["newest"].as_u64()), (Some(997), Some(2500)));
}
