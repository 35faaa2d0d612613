//! `/metrics` and `/readyz` over HTTP against a real Switchboard: what real traffic counts, the
//! text Prometheus reads (checked by `promtool`, from Debian's `prometheus` package), who may read
//! it, its listener of its own, and what readiness says of a database and an upstream.
//!
//! The test binary is one process, and the recorder is the process's: counters are compared
//! before and after, and only ever grow by at least what a test did (other tests add too).

use crate::support;

use std::{
    collections::BTreeMap,
    io::Write,
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{extract::State, routing::get};
use futures::StreamExt;
use serde_json::{Value, json};
use support::{TestApp, anthropic_app, asking_session, browser, serve, spawn_app, spawn_engine};

/// 32 characters at least, as the setting requires.
const TOKEN: &str = "metrics-token-for-tests-0123456789abcdef";

/// The metrics text, read with the token.
async fn scrape(app: &TestApp) -> String {
    let response =
        browser().get(format!("{}/metrics", app.address)).bearer_auth(TOKEN).send().await.expect("request sent");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    response.text().await.unwrap()
}

/// The sum of the samples of `name` whose labels include every one of `labels`.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples(text)
        .into_iter()
        .filter(|(sample, set, _)| {
            sample == name && labels.iter().all(|(k, v)| set.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, value)| value)
        .sum()
}

/// Every sample of the text: name, labels, value.
fn samples(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample is a series and a value");
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, labels.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').expect("a label is key=value");
                    (key.to_owned(), value.trim_matches('"').to_owned())
                })
                .collect();
            (name.to_owned(), labels, value.parse().expect("a number"))
        })
        .collect()
}

/// `promtool check metrics` on `text`: its complaints, or none.
fn promtool_check(text: &str) -> String {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = child.unwrap_or_else(|error| {
        panic!("promtool could not run ({error}): install Debian's prometheus package (scripts/setup --test does)")
    });
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if output.status.success() { String::new() } else { format!("promtool: {said}") }
}

#[tokio::test]
async fn real_traffic_moves_the_counters_and_promtool_accepts_the_text() {
    let app = spawn_app(&[("SWITCHBOARD_METRICS_TOKEN", TOKEN)]).await;
    let before = scrape(&app).await;

    // A wrong password, then a sign-in.
    let guest = browser();
    let refused = app.try_sign_in(&guest, "admin", "not the password at all").await;
    assert!(refused.headers()["location"].to_str().unwrap().contains("error=credentials"));
    app.sign_in(&guest, "admin", support::ADMIN_PASSWORD).await;
    // Agents listed.
    let (status, _) = app.read("agents/list", &[("include_archived", "false")]).await;
    assert_eq!(status, 200);
    // A session watched while its bash call waits for a person.
    let turns = json!([[{ "tool": "bash", "input": { "command": "echo metered" } }, { "text": "Ran it." }]]);
    let session = asking_session(&app, "metered", turns).await;
    let stream = app.client.get(format!("{}/api/sessions/{session}/stream", app.address)).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let mut frames = stream.bytes_stream();
    let call = waiting_call(&app, &session).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), frames.next()).await;
    let waiting = scrape(&app).await;
    assert!(value(&waiting, "switchboard_inbox_waiting_calls", &[]) >= 1.0, "{waiting}");
    assert!(value(&waiting, "switchboard_hub_viewers", &[]) >= 1.0, "{waiting}");
    assert!(value(&waiting, "switchboard_hub_upstream_streams", &[]) >= 1.0, "{waiting}");
    // The call allowed.
    let verdict = json!({ "session_id": session, "verdicts": [{ "event_id": call, "allow": true }] });
    let decided = app.client.post(format!("{}/api/sessions/decide", app.address)).json(&verdict).send().await;
    assert_eq!(decided.unwrap().status(), 200);
    let _ = tokio::time::timeout(Duration::from_secs(5), frames.next()).await;

    let after = scrape(&app).await;
    let moved = |name: &str, labels: &[(&str, &str)]| value(&after, name, labels) - value(&before, name, labels);
    for (name, labels, at_least) in [
        ("switchboard_sign_ins_total", &[("method", "password"), ("result", "credentials")][..], 1.0),
        ("switchboard_sign_ins_total", &[("method", "password"), ("result", "ok")], 1.0),
        ("switchboard_upstream_requests_total", &[("resource", "agents"), ("method", "GET"), ("status", "200")], 1.0),
        ("switchboard_upstream_requests_total", &[("resource", "sessions.events.stream"), ("status", "200")], 1.0),
        ("switchboard_upstream_requests_total", &[("resource", "sessions.events"), ("method", "POST")], 1.0),
        ("switchboard_upstream_request_duration_seconds_count", &[("resource", "agents"), ("method", "GET")], 1.0),
        ("switchboard_hub_frames_sent_total", &[], 1.0),
        ("switchboard_inbox_polls_total", &[("result", "ok")], 1.0),
        ("switchboard_decisions_total", &[("decision", "allow"), ("result", "sent")], 1.0),
        ("switchboard_engine_turns_total", &[("model", "scripted")], 1.0),
        ("switchboard_engine_tool_calls_total", &[("tool", "bash"), ("permission", "ask")], 1.0),
    ] {
        assert!(moved(name, labels) >= at_least, "{name}{labels:?} did not move by {at_least}:\n{after}");
    }
    // Every family says what it is; no label names a session, a call, a person or an address.
    for family in after.lines().filter_map(|l| l.strip_prefix("# TYPE ")).map(|l| l.split(' ').next().unwrap()) {
        assert!(after.contains(&format!("# HELP {family} ")), "{family} has no HELP line");
    }
    for needle in [session.as_str(), call.as_str(), "admin", "127.0.0.1"] {
        assert!(!after.contains(needle), "{needle} is in the metrics:\n{after}");
    }
    assert_eq!(promtool_check(&after), "", "{after}");
}

/// The id of the call `session` waits on, as the inbox lists it.
async fn waiting_call(app: &TestApp, session: &str) -> String {
    for _ in 0..100 {
        let (_, inbox) = app.read("inbox/list", &[]).await;
        let waiting = inbox["calls"].as_array().into_iter().flatten().find(|c| c["session_id"] == session);
        if let Some(call) = waiting {
            return call["event"]["id"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the session's call never showed in the inbox");
}

#[tokio::test]
async fn the_console_serves_metrics_only_for_the_token_and_says_what_to_send() {
    let app = spawn_app(&[("SWITCHBOARD_METRICS_TOKEN", TOKEN)]).await;
    let url = format!("{}/metrics", app.address);
    let wrong = &TOKEN[..TOKEN.len() - 1];
    let refused = [
        ("nothing", browser().get(&url)),
        ("a wrong token", browser().get(&url).bearer_auth(wrong)),
        ("a longer one", browser().get(&url).bearer_auth(format!("{TOKEN}0"))),
        ("the token as a password", browser().get(&url).basic_auth("prometheus", Some(TOKEN))),
        // The admin's login cookie is not the credential.
        ("a sign-in", app.client.get(&url)),
    ];
    for (what, request) in refused {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{what}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{what}");
        let body = response.text().await.unwrap();
        assert!(body.contains("Authorization: Bearer <token>") && body.contains("SWITCHBOARD_METRICS_TOKEN"), "{body}");
        assert!(!body.contains("# HELP"), "{what}");
    }
    assert!(scrape(&app).await.contains("# HELP switchboard_hub_viewers "));
    // The scheme's name is not case-sensitive.
    let lower = browser().get(&url).header("authorization", format!("bearer {TOKEN}")).send().await.unwrap();
    assert_eq!(lower.status(), 200);
}

#[tokio::test]
async fn a_listener_of_its_own_serves_metrics_alone_and_the_console_none() {
    let app = spawn_app(&[("SWITCHBOARD_METRICS_LISTEN", "127.0.0.1:0")]).await;
    let own = app.metrics_address.clone().expect("the metrics listener's address");
    assert_ne!(own, app.address);
    let response = browser().get(format!("{own}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200, "no credential on its own listener");
    let text = response.text().await.unwrap();
    assert!(text.contains("# HELP switchboard_hub_viewers "), "{text}");
    assert_eq!(promtool_check(&text), "", "{text}");
    for path in ["/readyz", "/healthz", "/login", "/api/agents/list"] {
        assert_eq!(browser().get(format!("{own}{path}")).send().await.unwrap().status(), 404, "{path}");
    }
    // No token: the console's own /metrics is not there, whoever asks.
    for client in [browser(), app.client.clone()] {
        let response = client.get(format!("{}/metrics", app.address)).send().await.unwrap();
        assert_eq!(response.status(), 404);
        assert!(response.text().await.unwrap().contains("SWITCHBOARD_METRICS_TOKEN"));
    }
}

#[tokio::test]
async fn with_a_token_set_its_own_listener_asks_for_it_too() {
    let app = spawn_app(&[("SWITCHBOARD_METRICS_LISTEN", "127.0.0.1:0"), ("SWITCHBOARD_METRICS_TOKEN", TOKEN)]).await;
    let own = app.metrics_address.clone().expect("the metrics listener's address");
    let response = browser().get(format!("{own}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 401, "the token is asked for on every listener once it is set");
    assert!(response.text().await.unwrap().contains("Authorization: Bearer"));
    let response = browser().get(format!("{own}/metrics")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("# HELP switchboard_hub_viewers "));
}

#[tokio::test]
async fn without_either_setting_the_console_has_no_metrics() {
    let app = spawn_app(&[]).await;
    assert_eq!(app.metrics_address, None);
    for request in
        [browser().get(format!("{}/metrics", app.address)), app.client.get(format!("{}/metrics", app.address))]
    {
        let response = request.bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(response.status(), 404);
        assert!(!response.text().await.unwrap().contains("# HELP"));
    }
}

#[tokio::test]
async fn readiness_is_ok_when_the_database_and_the_embedded_engine_answer() {
    let app = spawn_app(&[]).await;
    let response = browser().get(format!("{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "database": "ok", "upstream": "ok" }));
}

#[tokio::test]
async fn readiness_names_an_unreachable_upstream_without_its_address() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = anthropic_app(&base_url, "sk-ant-test").await;
    let response = browser().get(format!("{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body = response.text().await.unwrap();
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!({ "database": "ok", "upstream": "unreachable" }));
    assert!(!body.contains("127.0.0.1"), "{body}");
}

#[tokio::test]
async fn readiness_names_a_refused_key() {
    let engine = spawn_engine("the-right-key").await;
    let app = anthropic_app(&engine.base_url, "a-wrong-key").await;
    let response = browser().get(format!("{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "database": "ok", "upstream": "answered 401" }));
}

/// An upstream that answers `GET /v1/agents` after a delay, counting the requests.
struct SlowAgents {
    asked: AtomicUsize,
    delay_ms: AtomicU64,
}

async fn list_agents(State(upstream): State<Arc<SlowAgents>>) -> axum::Json<Value> {
    upstream.asked.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(upstream.delay_ms.load(Ordering::SeqCst))).await;
    axum::Json(json!({ "data": [], "next_page": null }))
}

#[tokio::test]
async fn readiness_checks_one_at_a_time_and_reuses_its_answer_for_two_seconds() {
    let upstream = Arc::new(SlowAgents { asked: AtomicUsize::new(0), delay_ms: AtomicU64::new(300) });
    let base_url = serve(axum::Router::new().route("/v1/agents", get(list_agents)).with_state(upstream.clone())).await;
    let app = anthropic_app(&base_url, "sk-ant-test").await;
    let url = format!("{}/readyz", app.address);
    let asked = || upstream.asked.load(Ordering::SeqCst);
    let before = asked();
    // Twenty at once while the check takes 300 ms: one upstream request, one answer for all.
    let answers = futures::future::join_all((0..20).map(|_| browser().get(&url).send())).await;
    assert!(answers.iter().all(|a| a.as_ref().unwrap().status() == 200));
    assert_eq!(asked() - before, 1, "one check for all of them");
    // Called in a loop for over 2 s: a request every 2 s at most.
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        assert_eq!(browser().get(&url).send().await.unwrap().status(), 200);
    }
    assert!(asked() - before <= 3, "{} upstream requests in 2.5 s", asked() - before);
    // An upstream that takes too long is not waited for.
    upstream.delay_ms.store(5000, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let slow = browser().get(&url).send().await.unwrap();
    assert_eq!(slow.status(), 503);
    assert_eq!(slow.json::<Value>().await.unwrap(), json!({ "database": "ok", "upstream": "no answer within 3 s" }));
}
