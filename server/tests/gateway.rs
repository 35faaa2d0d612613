//! Switchboard's own Managed Agents API (`/v1/…`) with personal access tokens, over HTTP against
//! a real Switchboard: a token acts as its owner with the roles it was given and never more than
//! they hold, in the API's own words when refused; its calls are audited under the person and the
//! token; a confirmation goes through the approval service; a revoked, expired or disabled
//! person's token is refused at its next call. (The official SDKs' own run of the same is
//! `server/sdk-tests/`.)

use crate::support;

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, asking_session, audit_entries, error_type, make_token, scripted_agent, spawn_app, v1};

#[tokio::test]
async fn a_token_acts_as_its_owner_with_the_roles_it_was_given_and_is_audited_so() {
    let app = spawn_app(&[]).await;
    let token = make_token(&app, &app.client, "CI deploys", &["viewer", "operator"]).await;

    let (status, request_id, agent) = v1(
        &app,
        &token,
        Method::POST,
        "/v1/agents",
        Some(scripted_agent("Through the API", json!([[{ "text": "Hello from the API." }]]))),
    )
    .await;
    assert_eq!(status, 200, "{agent}");
    assert!(request_id.is_some(), "the upstream's request-id comes back");
    let agent_id = agent["id"].as_str().unwrap().to_owned();
    let (status, _, listed) = v1(&app, &token, Method::GET, "/v1/agents?limit=1", None).await;
    assert_eq!((status, listed["data"][0]["id"].as_str()), (200, Some(agent_id.as_str())), "{listed}");

    // Archiving is an admin's act, in the console as here; the token was not given admin.
    let (status, _, refused) = v1(&app, &token, Method::POST, &format!("/v1/agents/{agent_id}/archive"), None).await;
    assert_eq!((status, error_type(&refused)), (403, "permission_error"), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("admin"), "{refused}");

    // The audit log names the person and the token, and what it made.
    let entries = audit_entries(&app, "v1/agents.create").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["who"], "admin");
    assert!(entries[0]["credential"].as_str().unwrap().starts_with("token CI deploys (tok_"), "{entries:?}");
    assert!(entries[0]["targets"].as_str().unwrap().contains(&agent_id), "{entries:?}");
    let refusals = audit_entries(&app, "v1/agents.archive").await;
    assert_eq!((refusals[0]["outcome"].as_str(), refusals[0]["status"].as_u64()), (Some("refused"), Some(403)));

    // A session through the API, streamed from the hub in the API's own frames.
    let session_id = session_of(&app, &token, &agent_id).await;
    let mut stream = support::browser()
        .get(format!("{}/v1/sessions/{session_id}/events/stream?event_deltas[]=agent.message", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let message = json!({ "events": [{ "type": "user.message", "content": [{ "type": "text", "text": "hi" }] }] });
    let (status, _, sent) =
        v1(&app, &token, Method::POST, &format!("/v1/sessions/{session_id}/events"), Some(message)).await;
    assert_eq!(status, 200, "{sent}");
    let mut text = String::new();
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        while !text.contains("event: session.status_idle") {
            let Some(chunk) = stream.chunk().await.unwrap() else { break };
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    });
    read.await.expect("the turn ends within 30 s");
    assert!(text.contains("event: agent.message\ndata: {"), "{text}");
    assert!(text.contains("Hello from the API."), "{text}");
    assert!(!text.contains("\nid: ") && !text.starts_with("id: "), "the hub's numbering stays out: {text}");
    assert!(
        !text.contains("event: event\n") && !text.contains("event: status\n"),
        "the hub's own frames stay out: {text}"
    );
}

#[tokio::test]
async fn a_file_goes_up_through_the_api_streamed_and_the_upstreams_refusals_come_back_as_they_were() {
    let app = spawn_app(&[]).await;
    let token = make_token(&app, &app.client, "files", &["viewer", "operator"]).await;
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.clone())
            .file_name("data.bin")
            .mime_str("application/octet-stream")
            .unwrap(),
    );
    let response = support::browser()
        .post(format!("{}/v1/files", app.address))
        .bearer_auth(&token)
        .header("anthropic-beta", "files-api-2025-04-14")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let file: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{file}");
    assert_eq!((file["size_bytes"].as_u64(), file["filename"].as_str()), (Some(300_000), Some("data.bin")), "{file}");
    let id = file["id"].as_str().unwrap();
    let (status, _, again) = v1(&app, &token, Method::GET, &format!("/v1/files/{id}"), None).await;
    assert_eq!((status, again["size_bytes"].as_u64()), (200, Some(300_000)), "{again}");
    // An upload is not downloadable (the API's rule): its refusal comes back as the upstream said it.
    let download = support::browser()
        .get(format!("{}/v1/files/{id}/content", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 400);
    let upstream_id = download.headers()["request-id"].to_str().unwrap().to_owned();
    let refusal: Value = download.json().await.unwrap();
    assert_eq!(
        (error_type(&refusal), refusal["request_id"].as_str()),
        ("invalid_request_error", Some(upstream_id.as_str()))
    );
}

#[tokio::test]
async fn a_viewers_token_is_refused_every_write_in_the_apis_words() {
    let app = spawn_app(&[]).await;
    let vic = app.client_as("vic", &["viewer"]).await;
    // A token gets only roles its owner holds.
    let mut form = vec![("form[name]", "more"), ("form[workspace]", "default"), ("form[operator]", "on")];
    let (status, refused) = app.call_as(&vic, "me/tokens/create", &form).await;
    assert_eq!((status, refused["field"].as_str()), (400, Some("roles")), "{refused}");
    form[2] = ("form[viewer]", "on");
    let (status, made) = app.call_as(&vic, "me/tokens/create", &form).await;
    assert_eq!(status, 200, "{made}");
    let token = made["secret"].as_str().unwrap();

    let mut wrong = Vec::new();
    for route in domain::gateway::ROUTES {
        let path = route.path.replace("{}", "nonexistent_1");
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        let body = (route.path == domain::gateway::SEND_EVENTS && route.method == "POST")
            .then(|| json!({ "events": [{ "type": "user.message", "content": [{ "type": "text", "text": "hi" }] }] }));
        let (status, _, answer) = v1(&app, token, method, &path, body).await;
        let refused = status == 403 && error_type(&answer) == "permission_error";
        if (route.method == "GET") == refused || (status == 401) {
            wrong.push(format!("{} {}: {status} {answer}", route.method, route.path));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Without a token, with another key, or with a browser's login: the API's authentication error.
    let anonymous = support::browser().get(format!("{}/v1/agents", app.address)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(error_type(&anonymous.json().await.unwrap()), "authentication_error");
    let (status, _, key) = v1(&app, "key-of-another-service", Method::GET, "/v1/agents", None).await;
    assert_eq!((status, error_type(&key)), (401, "authentication_error"));
    assert!(key["error"]["message"].as_str().unwrap().contains("Account page"), "{key}");
    let cookie = app.client.get(format!("{}/v1/agents", app.address)).send().await.unwrap();
    assert_eq!(cookie.status(), 401, "a browser's login opens nothing under /v1");
    // A worker's routes are the upstream's, never passed on.
    let (status, _, work) = v1(&app, token, Method::GET, "/v1/environments/env_1/work/poll", None).await;
    assert_eq!((status, error_type(&work)), (404, "not_found_error"), "{work}");
}

#[tokio::test]
async fn a_revoked_expired_or_outgrown_token_is_refused_at_its_next_call() {
    let app = spawn_app(&[]).await;
    let olga = app.client_as("olga", &["operator"]).await;
    let token = make_token(&app, &olga, "laptop", &["viewer", "operator"]).await;
    let agent = || Some(scripted_agent("A", json!([[{ "text": "a" }]])));
    assert_eq!(v1(&app, &token, Method::POST, "/v1/agents", agent()).await.0, 200);

    // Olga's roles shrink: her token keeps only what she still holds.
    let (_, accounts) = app.read("users/list", &[]).await;
    let olga_id = accounts.as_array().unwrap().iter().find(|a| a["username"] == "olga").unwrap()["id"].to_string();
    let (status, _) = app.call("users/update", &[("id", &olga_id), ("roles[viewer]", "true")]).await;
    assert_eq!(status, 200);
    let (status, _, refused) = v1(&app, &token, Method::POST, "/v1/agents", agent()).await;
    assert_eq!((status, error_type(&refused)), (403, "permission_error"), "{refused}");
    assert_eq!(v1(&app, &token, Method::GET, "/v1/agents", None).await.0, 200, "reading still works");

    // Revoked by an admin: refused at the next call. Another person cannot revoke it.
    let (_, listed) = app.read("tokens/all", &[]).await;
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(listed[0]["owner"], "olga");
    assert!(listed[0]["last_used_at"].is_string(), "its last use is shown: {listed}");
    let vic = app.client_as("vic", &["viewer"]).await;
    let (status, _) = app.call_as(&vic, "me/tokens/revoke", &[("id", &id)]).await;
    assert_eq!(status, 404, "another person's token is not theirs to revoke");
    let (status, revoked) = app.call("me/tokens/revoke", &[("id", &id)]).await;
    assert_eq!((status, revoked["revoked_by"].as_str()), (200, Some("admin")), "{revoked}");
    let (status, _, refused) = v1(&app, &token, Method::GET, "/v1/agents", None).await;
    assert_eq!((status, error_type(&refused)), (401, "authentication_error"));
    assert!(refused["error"]["message"].as_str().unwrap().contains("revoked"), "{refused}");

    // Expired, and a disabled person's.
    let expiring = make_token(&app, &olga, "expiring", &["viewer"]).await;
    sqlx::query("UPDATE api_tokens SET expires_unix = 1 WHERE name = 'expiring'")
        .execute(&app.database().await)
        .await
        .unwrap();
    let (status, _, refused) = v1(&app, &expiring, Method::GET, "/v1/agents", None).await;
    assert!(status == 401 && refused["error"]["message"].as_str().unwrap().contains("expired"), "{refused}");
    let other = make_token(&app, &olga, "other", &["viewer"]).await;
    assert_eq!(v1(&app, &other, Method::GET, "/v1/agents", None).await.0, 200);
    let (status, _) =
        app.call("users/update", &[("id", &olga_id), ("roles[viewer]", "true"), ("disabled", "true")]).await;
    assert_eq!(status, 200);
    let (status, _, refused) = v1(&app, &other, Method::GET, "/v1/agents", None).await;
    assert!(status == 401 && refused["error"]["message"].as_str().unwrap().contains("disabled"), "{refused}");
}

#[tokio::test]
async fn a_confirmation_through_the_api_waits_for_a_second_approver_and_goes_upstream_once() {
    let app = spawn_app(&[]).await;
    let form = [("form[agent_id]", "*"), ("form[required_approvals]", "2"), ("form[no_self_approval]", "false")];
    let (status, saved) = app.call("policies/save", &form).await;
    assert_eq!(status, 200, "{saved}");
    let ada = app.client_as("ada", &["approver"]).await;
    let grace = app.client_as("grace", &["approver"]).await;
    let token = make_token(&app, &ada, "ada's script", &["viewer", "approver"]).await;
    let reader = make_token(&app, &app.client, "reader", &["viewer"]).await;
    let session = asking_session(
        &app,
        "two approvers",
        json!([[{ "tool": "bash", "input": { "command": "echo hi" } }, { "text": "Done." }]]),
    )
    .await;
    let events = format!("/v1/sessions/{session}/events");
    let mut call = None;
    for _ in 0..300 {
        let (_, _, listed) = v1(&app, &reader, Method::GET, &format!("{events}?types[]=agent.tool_use"), None).await;
        call = listed["data"][0]["id"].as_str().map(str::to_owned);
        if call.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let call = call.expect("the call waits");

    // An approver's token may not send a message (an operator's act), only decide.
    let message = json!({ "events": [{ "type": "user.message", "content": [{ "type": "text", "text": "hi" }] }] });
    let (status, _, refused) = v1(&app, &token, Method::POST, &events, Some(message)).await;
    assert_eq!((status, error_type(&refused)), (403, "permission_error"), "{refused}");

    let allow = json!({ "events": [{ "type": "user.tool_confirmation", "tool_use_id": call, "result": "allow" }] });
    let response = support::browser()
        .post(format!("{}{events}", app.address))
        .bearer_auth(&token)
        .json(&allow)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "one approval of two: held");
    assert_eq!(response.headers()["switchboard-approval-waiting"], call.as_str());
    let confirmations = async || {
        let (_, _, listed) =
            v1(&app, &reader, Method::GET, &format!("{events}?types[]=user.tool_confirmation"), None).await;
        listed["data"].as_array().unwrap().len()
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(confirmations().await, 0, "nothing went upstream yet");

    let body =
        json!({ "session_id": session, "verdicts": [{ "event_id": call, "allow": true, "deny_message": null }] });
    let second = grace.post(format!("{}/api/sessions/decide", app.address)).json(&body).send().await.unwrap();
    assert_eq!(second.status(), 200);
    let mut sent = 0;
    for _ in 0..100 {
        sent = confirmations().await;
        if sent > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sent, 1, "the decision went upstream once");
    let entries = audit_entries(&app, "v1/sessions.events.send").await;
    assert!(entries.iter().any(|e| e["who"] == "ada" && e["detail"]["policy"].is_object()), "{entries:?}");
}

/// Each API route that is an act of the console needs the role the console's endpoint needs: one
/// access model for browser and API.
#[test]
fn the_apis_table_asks_the_roles_the_consoles_acts_ask() {
    let routes = server::web::routes::routes();
    let mut wrong = Vec::new();
    for route in domain::gateway::ROUTES {
        let Some(console) = route.console else { continue };
        let (method, path) = console.split_once(' ').unwrap();
        let rule = match app::api::access::endpoint(path) {
            Some(endpoint) => Some(endpoint.rule),
            None => routes
                .iter()
                .find(|r| {
                    r.method.as_str() == method
                        && r.path.replace("{id}", "{}").replace("{thread_id}", "{}").replace("{version}", "{}") == path
                })
                .map(|r| r.rule),
        };
        if rule != Some(domain::auth::Rule::Needs(route.role)) {
            wrong.push(format!("{} {} needs {:?}, {console} {rule:?}", route.method, route.path, route.role));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Counts the event streams opened at the upstream.
async fn count_streams(
    axum::extract::State(opened): axum::extract::State<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if request.uri().path().ends_with("/events/stream") {
        opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    next.run(request).await
}

/// Reads `response` until the turn's end is in it; answers whether it came within 60 s.
async fn reaches_the_end(mut response: reqwest::Response) -> bool {
    let mut text = String::new();
    let read = async {
        while !text.contains("session.status_idle") {
            match response.chunk().await {
                Ok(Some(chunk)) => text.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return false,
            }
        }
        true
    };
    tokio::time::timeout(Duration::from_secs(60), read).await.unwrap_or(false)
}

#[tokio::test]
async fn a_hundred_sdk_streams_and_a_hundred_browsers_hold_one_upstream_stream() {
    const KEY: &str = "test-key-gateway-streams";
    let data_dir = support::TempDir::new();
    let mut config = engine::EngineConfig::new(data_dir.0.join("engine"), KEY.to_owned());
    config.seed_demo = false;
    let engine = engine::Engine::open(config).await.expect("the engine opens");
    let opened = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let layer = axum::middleware::from_fn_with_state(opened.clone(), count_streams);
    let upstream = support::serve(engine.router().layer(layer)).await;
    let app = support::anthropic_app(&upstream, KEY).await;

    let owner = make_token(&app, &app.client, "runner", &["viewer", "operator"]).await;
    let id = session_through_api(&app, &owner, json!([[{ "text": "Everyone sees this." }]])).await;

    // Five people, each with 20 programs' streams and 20 browsers' (the cap of 40 is per person,
    // browser and API together).
    let mut streams = Vec::new();
    for n in 0..5 {
        let browser =
            if n == 0 { app.client.clone() } else { app.client_as(&format!("watcher{n}"), &["viewer"]).await };
        let token = make_token(&app, &browser, "watching", &["viewer"]).await;
        for _ in 0..20 {
            let program = support::browser()
                .get(format!("{}/v1/sessions/{id}/events/stream", app.address))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(program.status(), 200);
            streams.push(program);
            let page = browser.get(format!("{}/api/sessions/{id}/stream", app.address)).send().await.unwrap();
            assert_eq!(page.status(), 200);
            streams.push(page);
        }
        if n == 0 {
            let over = support::browser()
                .get(format!("{}/v1/sessions/{id}/events/stream", app.address))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(over.status(), 429, "a 41st stream of one person's, API or browser, is over the cap");
            assert_eq!(error_type(&over.json().await.unwrap()), "rate_limit_error");
        }
    }
    assert_eq!(streams.len(), 200);
    let message = json!({ "events": [{ "type": "user.message", "content": [{ "type": "text", "text": "go" }] }] });
    let (status, _, sent) = v1(&app, &owner, Method::POST, &format!("/v1/sessions/{id}/events"), Some(message)).await;
    assert_eq!(status, 200, "{sent}");
    let ended = futures::future::join_all(streams.into_iter().map(reaches_the_end)).await;
    assert_eq!(ended.iter().filter(|e| **e).count(), 200, "every viewer saw the turn end");
    assert_eq!(opened.load(std::sync::atomic::Ordering::SeqCst), 1, "one upstream stream for 200 viewers");
}

/// What a child process wrote to one of its pipes, read in the background: the text so far, and
/// the reader, which ends once the pipe has been read to its end.
type Output = (std::sync::Arc<std::sync::Mutex<String>>, tokio::task::JoinHandle<()>);

fn collect(pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static) -> Output {
    use tokio::io::AsyncBufReadExt;
    let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let into = text.clone();
    let reader = tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut text = into.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
    (text, reader)
}

/// `switchboard <args>` with its configuration in `config`: the process and its stdout and stderr.
fn cli(args: &[&str], config: &std::path::Path) -> (tokio::process::Child, Output, Output) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env("SWITCHBOARD_CONFIG_DIR", config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = collect(child.stdout.take().unwrap());
    let stderr = collect(child.stderr.take().unwrap());
    (child, stdout, stderr)
}

/// Waits for `child` to end and its output to be read whole: whether it succeeded, and its
/// stdout and stderr.
async fn finished(mut child: tokio::process::Child, stdout: Output, stderr: Output) -> (bool, String, String) {
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("it ends").unwrap();
    for reader in [stdout.1, stderr.1] {
        tokio::time::timeout(Duration::from_secs(10), reader).await.expect("its output is read").unwrap();
    }
    let text = |output: std::sync::Arc<std::sync::Mutex<String>>| output.lock().unwrap().clone();
    (status.success(), text(stdout.0), text(stderr.0))
}

#[tokio::test]
async fn switchboard_login_gets_a_token_approved_on_the_console_and_logout_ends_it() {
    let app = spawn_app(&[]).await;
    let config = support::TempDir::new();
    let folder = config.0.join("switchboard");
    let (login, stdout, stderr) = cli(&["login", "--url", &app.address, "--name", "ada-laptop"], &folder);
    let mut code = None;
    for _ in 0..100 {
        code = stderr.0.lock().unwrap().split("the code ").nth(1).map(|rest| rest[..9].to_owned());
        if code.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let code = code.unwrap_or_else(|| panic!("no code shown: {}", stderr.0.lock().unwrap()));
    let shown = stderr.0.lock().unwrap().clone();
    assert!(shown.contains(&format!("{}/device?code={code}", app.address)), "{shown}");

    // The /device page's request: who asks. A viewer may approve only with roles they hold.
    let (status, waiting) = app.read("device/request", &[("code", &code.to_lowercase())]).await;
    assert_eq!((status, waiting["client_name"].as_str()), (200, Some("ada-laptop")), "{waiting}");
    assert_eq!(waiting["token_hours"], 12, "the page says how long the token will work");
    let vic = app.client_as("vic", &["viewer"]).await;
    let approve = |roles: &'static [&'static str]| {
        let mut form =
            vec![("form[code]".to_owned(), code.clone()), ("form[decision]".to_owned(), "approve".to_owned())];
        form.push(("form[workspace]".to_owned(), "default".to_owned()));
        form.extend(roles.iter().map(|r| (format!("form[{r}]"), "on".to_owned())));
        form
    };
    let refused: Value = vic
        .post(format!("{}/api/device/decide", app.address))
        .form(&approve(&["viewer", "admin"]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refused["field"], "roles", "{refused}");
    let approved = app
        .client
        .post(format!("{}/api/device/decide", app.address))
        .form(&approve(&["viewer", "operator"]))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 200);

    let (succeeded, printed, said) = finished(login, stdout, stderr).await;
    assert!(succeeded, "{said}");
    assert!(printed.contains(&format!("export ANTHROPIC_BASE_URL={}\n", app.address)), "{printed}");
    assert!(
        printed.contains(&format!("export ANTHROPIC_API_KEY=\"$(cat {})\"", folder.join("token").display())),
        "{printed}"
    );
    use std::os::unix::fs::PermissionsExt;
    let token = std::fs::read_to_string(folder.join("token")).unwrap();
    assert!(!printed.contains(&token), "the token is read from its file, never printed");
    assert_eq!(std::fs::metadata(folder.join("token")).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777, 0o700);
    let agent = Some(scripted_agent("From a terminal", json!([[{ "text": "hi" }]])));
    assert_eq!(
        v1(&app, &token, Method::POST, "/v1/agents", agent).await.0,
        200,
        "the token acts with the roles approved"
    );
    let (_, mine) = app.read("me/tokens", &[]).await;
    assert_eq!(mine[0][0]["name"], "switchboard login on ada-laptop", "{mine}");
    let (status, _) = app.read("device/request", &[("code", &code)]).await;
    assert_eq!(status, 404, "a code is used once");

    let (logout, stdout, stderr) = cli(&["logout"], &folder);
    let (succeeded, _, said) = finished(logout, stdout, stderr).await;
    assert!(succeeded, "{said}");
    assert!(!folder.join("token").exists());
    assert_eq!(v1(&app, &token, Method::GET, "/v1/agents", None).await.0, 401, "logout revoked it");
}

#[tokio::test]
async fn a_device_code_denied_unknown_or_polled_too_fast_gets_the_grants_own_errors() {
    let app = spawn_app(&[]).await;
    let http = support::browser();
    let poll = async |device_code: &str| -> Value {
        let form = [("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", device_code)];
        http.post(format!("{}/auth/device/token", app.address)).form(&form).send().await.unwrap().json().await.unwrap()
    };
    let started: Value = http
        .post(format!("{}/auth/device/code", app.address))
        .form(&[("name", "ci")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (device_code, user_code) = (started["device_code"].as_str().unwrap(), started["user_code"].as_str().unwrap());
    assert_eq!((started["interval"].as_i64(), started["expires_in"].as_i64()), (Some(5), Some(600)), "{started}");
    assert_eq!(poll(device_code).await["error"], "authorization_pending");
    assert_eq!(poll(device_code).await["error"], "slow_down", "a poll within the interval");
    assert_eq!(poll("0".repeat(64).as_str()).await["error"], "invalid_grant");
    let form = [("form[code]", user_code), ("form[decision]", "deny")];
    let (status, denied) = app.call("device/decide", &form).await;
    assert_eq!((status, denied.as_bool()), (200, Some(false)));
    assert_eq!(poll(device_code).await["error"], "access_denied");
    let wrong: Value = http
        .post(format!("{}/auth/device/token", app.address))
        .form(&[("grant_type", "password"), ("device_code", device_code)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(wrong["error"], "unsupported_grant_type");
}

/// A session of a scripted agent playing `turns`, made through the API with `token`.
async fn session_through_api(app: &TestApp, token: &str, turns: Value) -> String {
    let (status, _, agent) =
        v1(app, token, Method::POST, "/v1/agents", Some(scripted_agent("Via the API", turns))).await;
    assert_eq!(status, 200, "{agent}");
    session_of(app, token, agent["id"].as_str().unwrap()).await
}

/// A session of `agent` in a new environment, made through the API with `token`.
async fn session_of(app: &TestApp, token: &str, agent: &str) -> String {
    let environment = json!({ "name": "api", "config": { "type": "cloud", "networking": { "type": "limited" } } });
    let (status, _, environment) = v1(app, token, Method::POST, "/v1/environments", Some(environment)).await;
    assert_eq!(status, 200, "{environment}");
    let body = json!({ "agent": agent, "environment_id": environment["id"] });
    let (status, _, session) = v1(app, token, Method::POST, "/v1/sessions", Some(body)).await;
    assert_eq!(status, 200, "{session}");
    session["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_open_stream_ends_when_its_token_is_revoked() {
    let app = spawn_app(&[]).await;
    let token = make_token(&app, &app.client, "watcher", &["viewer", "operator"]).await;
    let session = session_through_api(&app, &token, json!([[{ "text": "hi" }]])).await;
    let mut stream = support::browser()
        .get(format!("{}/v1/sessions/{session}/events/stream", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let (_, mine) = app.read("me/tokens", &[]).await;
    let (status, _) = app.call("me/tokens/revoke", &[("id", mine[0][0]["id"].as_str().unwrap())]).await;
    assert_eq!(status, 200);
    let ended =
        tokio::time::timeout(Duration::from_secs(15), async { while let Ok(Some(_)) = stream.chunk().await {} }).await;
    assert!(ended.is_ok(), "the stream outlived its token by more than 15 s");
}
