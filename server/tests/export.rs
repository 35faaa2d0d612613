//! A session's transcript as JSON, Markdown and HTML (`GET /api/sessions/{id}/export`), against
//! the embedded engine.

mod support;

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

/// The digest as the export's own rule says, computed here without the server's code: keys
/// sorted at every level, no spaces (these events hold no fractional numbers, the one place
/// RFC 8785 prints differently from serde_json), one line per event.
fn recomputed(events: &[Value]) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
                Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&map[k]))).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let lines: String = events.iter().map(|e| format!("{}\n", sorted(e))).collect();
    format!("sha256:{:x}", Sha256::digest(lines.as_bytes()))
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
    assert_eq!(export["format"], "switchboard.session_export");
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
    let upload = |bytes: Vec<u8>| {
        app.client
            .post(format!("{}/api/imports", app.address))
            .header("accept", "application/json")
            .multipart(file_form("session.json", bytes))
            .send()
    };

    // A changed file is refused, and nothing is kept.
    // (In an event: the agent's definition, which also holds the text, is not under the digest.)
    let mut tampered = original.clone();
    let said = tampered["events"].as_array_mut().unwrap().iter_mut().find(|e| e["type"] == "agent.message").unwrap();
    said["content"][0]["text"] = json!("Let me lie.");
    let tampered = tampered.to_string();
    let refused = upload(tampered.into_bytes()).await.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("do not match the export's digest"));
    let refused = upload(b"{\"not\": \"an export\"}".to_vec()).await.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("not a Switchboard session export"));
    let (_, listed_imports) = app.read("imports/list", &[]).await;
    assert_eq!(listed_imports, json!([]));

    let imported = upload(export).await.unwrap();
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
