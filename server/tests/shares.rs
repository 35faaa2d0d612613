//! Read-only share links (`server/src/records/shares.rs`) over HTTP, against the embedded engine: what a
//! signed-out browser holding a link can reach, what a redacting link never sends, and how a
//! revoked or expired link ends.

use crate::support;

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use support::*;

/// What the session says that a masking link must never send.
/// Shaped like an Anthropic API key (so the built-in pattern masks it), built at run time so the
/// repository holds nothing a secret scanner would take for a real key.
fn key() -> String {
    ["sk", "ant", "api03", "SHAREDSECRET0000"].join("-")
}
const WORKER_TOKEN: &str = "ghp_WORKERSECRET0123456789abcdef";
/// What the tool call's input and output hold, which a link that hides tools must never send.
const TOOL_VALUE: &str = "TOOLVALUE4242";

/// A finished session whose title, messages, tool call and child thread hold the values above.
/// Answers its id.
async fn session_with_secrets(app: &TestApp) -> String {
    let steps = json!([
        { "text": format!("The deploy key is {}.", key()) },
        { "tool": "bash", "input": { "command": format!("echo {TOOL_VALUE}") } },
        { "subagent": "Worker", "message": "Check it." },
        { "text": "All done." },
    ]);
    lead_and_worker_session(app, steps, &format!("Worker saw {WORKER_TOKEN}."), &format!("Rotate {}", key())).await
}

/// Makes a link as the admin; answers (its id, its token).
async fn share(app: &TestApp, session_id: &str, extra: &[(&str, &str)]) -> (String, String) {
    let mut form = vec![("form[session_id]", session_id), ("form[hours]", "1"), ("form[mode]", "live")];
    form.retain(|(name, _)| extra.iter().all(|(given, _)| given != name));
    form.extend_from_slice(extra);
    let (status, made) = app.call("shares/create", &form).await;
    assert_eq!(status, 200, "{made}");
    let path = made["path"].as_str().unwrap();
    let token = path.strip_prefix("/share/").unwrap().to_owned();
    assert_eq!(token.len(), 64, "32 random bytes in hex: {path}");
    (made["id"].as_str().unwrap().to_owned(), token)
}

/// The body of a stream read until `done` holds for what came so far, or `secs` pass; and whether
/// the server ended it.
async fn read_stream(response: reqwest::Response, secs: u64, done: impl Fn(&str) -> bool) -> (String, bool) {
    let mut body = response.bytes_stream();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, body.next()).await {
            Err(_) => return (text, false),
            Ok(None) => return (text, true),
            Ok(Some(chunk)) => {
                text.push_str(&String::from_utf8_lossy(&chunk.expect("the stream reads")));
                if done(&text) {
                    return (text, false);
                }
            }
        }
    }
}

#[tokio::test]
async fn a_share_link_opens_its_session_for_a_signed_out_browser_and_nothing_else() {
    let app = spawn_app(&[]).await;
    let id = session_with_secrets(&app).await;
    let (share_id, token) = share(&app, &id, &[]).await;
    let anonymous = browser();
    let get = |path: String| anonymous.get(format!("{}{path}", app.address)).send();

    // The presenter page, its data and its stream.
    let page = get(format!("/share/{token}")).await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("data-testid=\"presenter\"") && page.contains("Rotate"), "{page}");
    assert!(!page.contains("Leave (Esc)"), "the audience has no way into the console");
    let (status, opened) = app.read_as(&anonymous, "shares/open", &[("token", &token)]).await;
    assert_eq!(status, 200, "{opened}");
    assert_eq!((opened["agent"].as_str(), opened["hide_tools"].as_bool()), (Some("Lead"), Some(false)));
    let stream = get(format!("/api/shares/{token}/stream")).await.unwrap();
    assert_eq!(stream.status(), 200);
    let (events, _) = read_stream(stream, 20, |t| t.contains("All done.")).await;
    assert!(events.contains("All done.") && events.contains(TOOL_VALUE), "a link that hides nothing shows it all");

    // Nothing else: not the session's own page, stream, export or data, nor any other page or
    // server function, with the token or without.
    for path in [
        format!("/sessions/{id}"),
        format!("/sessions/{id}/present"),
        "/sessions".to_owned(),
        "/shares".to_owned(),
        format!("/share/{token}/anything"),
    ] {
        let response = get(path.clone()).await.unwrap();
        assert_eq!(response.status(), 303, "{path} sends a signed-out browser to sign in");
    }
    for path in [
        format!("/api/sessions/{id}/stream"),
        format!("/api/sessions/{id}/export?format=json"),
        format!("/api/sessions/get?id={id}"),
        format!("/api/sessions/events?id={id}"),
        format!("/api/sessions/threads?session_id={id}"),
        "/api/shares/list".to_owned(),
        "/api/agents/list".to_owned(),
        "/api/files/list".to_owned(),
    ] {
        let response = anonymous
            .get(format!("{}{path}", app.address))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
    }
    let response = anonymous
        .post(format!("{}/api/shares/revoke", app.address))
        .form(&[("id", share_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "the audience cannot revoke or make links");
    // A thread of another session is not reachable through this link.
    let other = session_with_secrets(&app).await;
    let (_, threads) = app.read("sessions/threads", &[("session_id", &other)]).await;
    let foreign =
        threads.as_array().unwrap().iter().find(|t| t["primary"] == false).unwrap()["id"].as_str().unwrap().to_owned();
    let response = get(format!("/api/shares/{token}/threads/{foreign}/stream")).await.unwrap();
    assert_ne!(response.status(), 200, "another session's thread");

    // Making and viewing are on record, and the token is nowhere in the console's answers.
    let made = audit_entries(&app, "shares/create").await;
    assert_eq!(made[0]["who"], "admin", "{made:?}");
    // The page and its data were opened: two views, one entry (at most one per link in ten
    // minutes, since anyone holding the link can open it as often as they like).
    let views = audit_entries(&app, "shares/view").await;
    assert_eq!(views.len(), 1, "{views:?}");
    assert!(views[0]["targets"].to_string().contains(&id), "{views:?}");
    let (_, listed) = app.read("shares/list", &[]).await;
    assert_eq!(listed[0]["views"].as_u64(), Some(2), "{listed}");
    let (_, log) = app.read("audit/list", &[]).await;
    assert!(!listed.to_string().contains(&token) && !log.to_string().contains(&token), "only the hash is kept");
}

#[tokio::test]
async fn a_stream_read_without_its_page_is_a_viewing_on_record() {
    let app = spawn_app(&[]).await;
    let id = asking_session(&app, "Watched", json!([[{ "text": "Seen by someone." }]])).await;
    let (share_id, token) = share(&app, &id, &[]).await;
    // Someone holding the link reads its stream with a tool, never opening the page.
    let tool = engine::http_client::builder().user_agent("curl/8.5.0").build().unwrap();
    let stream = tool.get(format!("{}/api/shares/{token}/stream", app.address)).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let (events, _) = read_stream(stream, 20, |t| t.contains("Seen by someone.")).await;
    assert!(events.contains("Seen by someone."), "{events}");

    let views = audit_entries(&app, "shares/view").await;
    assert_eq!(views.len(), 1, "the reading is on record: {views:?}");
    let view = &views[0];
    assert!(view["targets"].to_string().contains(&share_id), "{view}");
    assert_eq!(view["detail"]["opened"], "stream", "{view}");
    assert_eq!(view["user_agent"], "curl/8.5.0", "{view}");
    assert_eq!(view["from"], "127.0.0.1", "{view}");
    // The Shared links page says when it was last seen; its views count the page's openings.
    let (_, listed) = app.read("shares/list", &[]).await;
    assert!(listed[0]["last_viewed_at"].is_string(), "{listed}");
    assert_eq!(listed[0]["views"].as_u64(), Some(0), "{listed}");

    // Reading it again at once (a reconnection) adds no entry.
    let again = tool.get(format!("{}/api/shares/{token}/stream", app.address)).send().await.unwrap();
    read_stream(again, 20, |t| t.contains("Seen by someone.")).await;
    assert_eq!(audit_entries(&app, "shares/view").await.len(), 1);
}

#[tokio::test]
async fn a_redacting_link_never_sends_a_redacted_value() {
    let app = spawn_app(&[]).await;
    let id = session_with_secrets(&app).await;
    let (_, token) = share(&app, &id, &[("form[hide_tools]", "on"), ("form[mask_secrets]", "on")]).await;
    let anonymous = browser();
    let mut seen = String::new();
    let page = anonymous.get(format!("{}/share/{token}", app.address)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("All done."), "the page comes with its first screen, the newest events");
    seen.push_str(&page);
    for query in [vec![("token", token.as_str())], vec![("token", token.as_str()), ("event", "sevt_not_there")]] {
        let (status, screen) = app.read_as(&anonymous, "shares/first_screen", &query).await;
        assert_eq!(status, 200, "{screen}");
        seen.push_str(&screen.to_string());
    }
    let opened =
        anonymous.get(format!("{}/api/shares/open", app.address)).query(&[("token", &token)]).send().await.unwrap();
    seen.push_str(&opened.text().await.unwrap());
    let stream = anonymous.get(format!("{}/api/shares/{token}/stream", app.address)).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let (events, _) = read_stream(stream, 20, |t| t.contains("All done.")).await;
    assert!(events.contains("All done."), "the stream reached the session's last message: {events}");
    seen.push_str(&events);
    // Each thread's stream too.
    let (_, threads) = app.read("sessions/threads", &[("session_id", &id)]).await;
    for thread in threads.as_array().unwrap() {
        let thread_id = thread["id"].as_str().unwrap();
        let stream = anonymous
            .get(format!("{}/api/shares/{token}/threads/{thread_id}/stream", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), 200, "thread {thread_id}");
        let (events, _) = read_stream(stream, 5, |t| t.contains("Worker saw") || t.contains("All done.")).await;
        seen.push_str(&events);
    }
    assert!(seen.contains("Worker saw"), "the Worker's thread was read");
    for (value, what) in [
        (key().as_str(), "the key"),
        ("SHAREDSECRET", "part of the key"),
        (WORKER_TOKEN, "the Worker's token"),
        (TOOL_VALUE, "the tool's input and output"),
    ] {
        assert!(!seen.contains(value), "{what} ({value}) was sent");
    }
    assert!(seen.contains("••••••"), "masked values are marked");
    assert!(seen.contains("hidden by this share link"), "hidden tool input and output are marked");
    assert!(!seen.contains("event: preview"), "no text in flight is sent by a redacting link");
    // What the signed-in console shows is unchanged.
    let (_, own) = app.read("sessions/get", &[("id", &id)]).await;
    assert!(own.to_string().contains(&key()));
}

#[tokio::test]
async fn revoking_a_link_ends_its_open_stream_and_its_page_says_so() {
    let app = spawn_app(&[]).await;
    let id = session_with_secrets(&app).await;
    let (share_id, token) = share(&app, &id, &[]).await;
    let anonymous = browser();
    let stream = anonymous.get(format!("{}/api/shares/{token}/stream", app.address)).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let watching = tokio::spawn(read_stream(stream, 30, |_| false));
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Only its maker or an admin revokes it.
    let olga = app.client_as("olga", &["operator"]).await;
    let (status, refused) = app.call_as(&olga, "shares/revoke", &[("id", &share_id)]).await;
    assert_eq!(status, 403, "{refused}");
    let (status, revoked) = app.call("shares/revoke", &[("id", &share_id)]).await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!((revoked["state"].as_str(), revoked["revoked_by"].as_str()), (Some("revoked"), Some("admin")));

    let (text, ended) = watching.await.unwrap();
    assert!(ended, "the open stream ended at once, not after 30 s");
    assert!(text.contains("All done.") && text.ends_with("\n\n"), "{text}");
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    assert!(last.contains("event: status") && last.contains("\"failed\"") && last.contains("revoked"), "{last}");

    let (status, page) = {
        let response = anonymous.get(format!("{}/share/{token}", app.address)).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    assert_eq!(status, 404);
    assert!(page.contains("was revoked on") && !page.contains("data-testid=\"presenter\""), "{page}");
    let again = anonymous.get(format!("{}/api/shares/{token}/stream", app.address)).send().await.unwrap();
    assert_eq!(again.status(), 404);
    let entries = audit_entries(&app, "shares/revoke").await;
    assert!(entries.iter().any(|e| e["who"] == "admin" && e["outcome"] == "ok"), "{entries:?}");
    assert!(entries.iter().any(|e| e["who"] == "olga" && e["outcome"] == "refused"), "{entries:?}");
}

#[tokio::test]
async fn an_expired_link_opens_nothing_and_says_when_it_expired() {
    let app = spawn_app(&[]).await;
    let id = session_with_secrets(&app).await;
    let (_, token) = share(&app, &id, &[]).await;
    // An hour is the shortest life a link can be given: the test moves its end into the past.
    let db = app.database().await;
    sqlx::query("UPDATE shares SET expires_unix = expires_unix - 7200").execute(&db).await.unwrap();
    let anonymous = browser();
    let response = anonymous.get(format!("{}/share/{token}", app.address)).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let page = response.text().await.unwrap();
    assert!(page.contains("expired on") && page.contains("Ask the person who sent it"), "{page}");
    let stream = anonymous.get(format!("{}/api/shares/{token}/stream", app.address)).send().await.unwrap();
    assert_eq!(stream.status(), 404);
    let (_, listed) = app.read("shares/list", &[]).await;
    assert_eq!(listed[0]["state"], "expired", "{listed}");
    // A token that was never made, or is cut short, says so the same way.
    let wrong = anonymous.get(format!("{}/share/{}", app.address, "ab".repeat(32))).send().await.unwrap();
    assert_eq!(wrong.status(), 404);
    assert!(wrong.text().await.unwrap().contains("mistyped or cut short"));
}

#[tokio::test]
async fn an_address_without_a_sign_in_holds_a_bounded_number_of_streams() {
    // Issue 20: the per-person caps count people; a share link's audience has no sign-in, so its
    // streams are counted by address.
    let app = spawn_app(&[("SWITCHBOARD_STREAMS_PER_ADDRESS", "3"), ("SWITCHBOARD_HEARTBEAT_SECS", "0.3")]).await;
    let id = session_with_secrets(&app).await;
    let (_, token) = share(&app, &id, &[]).await;
    let url = format!("{}/api/shares/{token}/stream", app.address);
    let mut open = Vec::new();
    for _ in 0..3 {
        let stream = browser().get(&url).send().await.unwrap();
        assert_eq!(stream.status(), 200);
        open.push(stream);
    }
    let refused = browser().get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 429, "a fourth from the same address");
    assert_eq!(refused.headers()["retry-after"], "10");
    let error: serde_json::Value = refused.json().await.unwrap();
    assert!(error["message"].as_str().unwrap().contains("from your network"), "{error}");
    // The signed-in are counted as people, not by address.
    assert_eq!(app.get(&format!("/api/shares/{token}/stream")).await.status(), 200);
    // A closed one gives its slot back.
    drop(open.pop());
    let mut again = false;
    for _ in 0..50 {
        if browser().get(&url).send().await.unwrap().status() == 200 {
            again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again, "a slot came back when a stream closed");
}

/// Waits until the session's events hold `text`.
async fn until_said(app: &TestApp, id: &str, text: &str) {
    for _ in 0..300 {
        let (_, events) = app.read("sessions/events", &[("id", id)]).await;
        if events.to_string().contains(text)
            && app.read("sessions/get", &[("id", id)]).await.1["row"]["status"] == "idle"
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the session never said {text:?}");
}

#[tokio::test]
async fn a_links_first_screen_ends_at_its_snapshot_and_is_redacted_as_its_stream_is() {
    let app = spawn_app(&[]).await;
    let turns = json!([[{ "text": format!("First answer, key {}.", key()) }], [{ "text": "Second answer." }]]);
    let id = asking_session(&app, "Two turns", turns).await;
    until_said(&app, &id, "First answer").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (_, snapshot) = share(&app, &id, &[("form[mode]", "snapshot")]).await;
    let (masked_id, masked) = share(&app, &id, &[("form[mask_secrets]", "on")]).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let steer = json!({ "session_id": id, "text": "again", "file_ids": [], "interrupt": false });
    let sent = app.client.post(format!("{}/api/sessions/steer", app.address)).json(&steer).send().await.unwrap();
    assert_eq!(sent.status(), 200);
    until_said(&app, &id, "Second answer.").await;

    let anonymous = browser();
    let screen_of = |token: String, event: Option<String>| {
        let anonymous = anonymous.clone();
        let app = &app;
        async move {
            let mut query = vec![("token", token.as_str())];
            if let Some(event) = &event {
                query.push(("event", event.as_str()));
            }
            let (status, screen) = app.read_as(&anonymous, "shares/first_screen", &query).await;
            assert_eq!(status, 200, "{screen}");
            screen
        }
    };
    // The snapshot: its newest events are the first turn's, as its stream shows them.
    let screen = screen_of(snapshot.clone(), None).await;
    let text = screen.to_string();
    assert!(text.contains("First answer") && !text.contains("Second answer"), "cut at the snapshot: {text}");
    let (seq, event) =
        screen["events"].as_array().unwrap().last().map(|e| (e[0].as_u64(), e[1].as_str().unwrap())).unwrap();
    let stream = anonymous.get(format!("{}/api/shares/{snapshot}/stream", app.address)).send().await.unwrap();
    let (streamed, _) = read_stream(stream, 10, |t| t.contains(event)).await;
    let numbered = streamed.split("\n\n").map(sse_frame).find(|frame| frame.data.as_deref() == Some(event));
    assert_eq!(numbered.map(|frame| frame.id), Some(seq), "numbered as the link's stream numbers it");
    assert!(!streamed.contains("Second answer"));
    // A deep link past the snapshot opens no first screen there.
    let (_, events) = app.read("sessions/events", &[("id", &id)]).await;
    let later = events["data"].as_array().unwrap().iter().find(|e| e.to_string().contains("Second answer")).unwrap();
    let screen = screen_of(snapshot.clone(), Some(later["id"].as_str().unwrap().to_owned())).await;
    assert_eq!(screen, json!(null), "after the snapshot: {screen}");

    // The live, masking link: the newest events, the key masked.
    let text = screen_of(masked.clone(), None).await.to_string();
    assert!(text.contains("Second answer") && text.contains("••••••"), "{text}");
    assert!(!text.contains(&key()) && !text.contains("SHAREDSECRET"), "the key was sent: {text}");

    // A link that does not open says so, as its page does, whatever else was asked.
    let (status, error) = app.read_as(&anonymous, "shares/first_screen", &[("token", &"0".repeat(64))]).await;
    assert_eq!(status, 404, "{error}");
    let (status, _) = app.call("shares/revoke", &[("id", &masked_id)]).await;
    assert_eq!(status, 200);
    for event in ["", "not an id!"] {
        let query = [("token", masked.as_str()), ("event", event)];
        let (status, error) = app.read_as(&anonymous, "shares/first_screen", &query).await;
        assert_eq!(status, 404, "{error}");
        assert!(error["message"].as_str().unwrap().contains("revoked"), "{error}");
        assert!(!error.to_string().contains("answer"), "nothing of the session: {error}");
    }
}

/// The test MCP server of the official Python SDK (`engine/sdk-tests/mcp_test_server.py`, in the
/// repository's venv, which `scripts/test` makes), demanding `token`: its process and URL.
fn mcp_test_server(token: &str) -> (std::process::Child, String) {
    use std::io::BufRead;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let python = root.join(".venv/bin/python");
    assert!(python.exists(), "{} is missing: scripts/test makes it (or run scripts/setup)", python.display());
    let mut child = std::process::Command::new(python)
        .arg(root.join("engine/sdk-tests/mcp_test_server.py"))
        .arg(token)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the test MCP server starts");
    let mut url = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut url).unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "the test MCP server printed {url:?}");
    (child, url.trim().to_owned())
}

/// A session whose agent called an MCP server with a vault's token: the call and its result are in
/// the export and the share link's stream, the token in neither, nor in anything the console
/// answers about the session, nor in the console's data directory (its secret key seals it).
#[tokio::test]
async fn an_mcp_servers_token_is_in_no_export_share_or_file() {
    let token = "mcp-console-token-5f1c2e9a7b";
    let (mut server, url) = mcp_test_server(token);
    let secret_key = "uA1Ekq1CKz4xvVuGvw3xwr0dI6V8vLVMlQyJYR8m6Xk=";
    let app =
        spawn_app(&[("SWITCHBOARD_ENGINE_MCP_PRIVATE_HOSTS", "127.0.0.1"), ("SWITCHBOARD_SECRET_KEY", secret_key)])
            .await;
    let (status, vault) = app.call("vaults/create", &[("display_name", "MCP")]).await;
    assert_eq!(status, 200, "{vault}");
    let vault_id = vault["id"].as_str().unwrap();
    let form = [
        ("vault_id", vault_id),
        ("form[kind]", "static_bearer"),
        ("form[mcp_server_url]", url.as_str()),
        ("form[secret]", token),
    ];
    let (status, credential) = app.call("vaults/credentials/create", &form).await;
    assert_eq!(status, 200, "{credential}");
    let agent = json!({
        "name": "Caller", "model": "scripted",
        "system": json!({ "turns": [[{ "mcp_tool": "echo", "server": "tools", "input": { "text": "MCPVALUE77" } }, { "text": "Called." }]] }).to_string(),
        "mcp_servers": [{ "type": "url", "name": "tools", "url": url }],
        "tools": [{ "type": "mcp_toolset", "mcp_server_name": "tools", "default_config": { "permission_policy": { "type": "always_allow" } } }],
    });
    let (status, agent) = app.call("agents/create", &[("definition", &agent.to_string())]).await;
    assert_eq!(status, 200, "{agent}");
    let (status, environment) = app
        .call(
            "environments/save",
            &[("id", ""), ("form[name]", "mcp"), ("form[kind]", "cloud"), ("form[networking]", "unrestricted")],
        )
        .await;
    assert_eq!(status, 200, "{environment}");
    let (status, session) = app
        .call(
            "sessions/create",
            &[
                ("form[agent_id]", agent["id"].as_str().unwrap()),
                ("form[environment_id]", environment["row"]["id"].as_str().unwrap()),
                ("form[vault_ids][]", vault_id),
                ("form[initial_message]", "go"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{session}");
    let id = session["row"]["id"].as_str().unwrap().to_owned();
    let mut events = String::new();
    for _ in 0..300 {
        events = app.read("sessions/events", &[("id", &id)]).await.1.to_string();
        if events.contains("Called.") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(events.contains("echo: MCPVALUE77"), "the server answered the call: {events}");

    let (status, export) = app.get_text(&format!("/api/sessions/{id}/export?format=json")).await;
    assert_eq!(status, 200);
    assert!(export.contains("agent.mcp_tool_result") && export.contains("echo: MCPVALUE77"), "{export}");
    let (_, token_of_link) = share(&app, &id, &[]).await;
    let stream = browser().get(format!("{}/api/shares/{token_of_link}/stream", app.address)).send().await.unwrap();
    let (shared, _) = read_stream(stream, 20, |t| t.contains("Called.")).await;
    assert!(shared.contains("echo: MCPVALUE77"), "{shared}");
    for (what, text) in [("events", &events), ("export", &export), ("share", &shared)] {
        assert!(!text.contains(token), "the token is in the {what}");
    }
    assert_eq!(files_holding(&app.data_dir.0, token.as_bytes()), Vec::<String>::new(), "files holding the token");
    drop(server.stdin.take());
    let _ = server.wait();
}
