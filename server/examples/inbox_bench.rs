//! The approval inbox's cost and speed (not a test): `scripts/bench inbox`, or build the
//! `switchboard` binary in release and run
//! `cargo run --release -p server --example inbox_bench -- target/release/switchboard`.
//!
//! An engine runs in this process (the upstream) and counts the requests Switchboard sends it.
//! Switchboard runs as a child process in Anthropic mode against it, with its default settings
//! (a tick every 2 s, a sweep every 30 s) and one browser on its inbox stream, as every signed-in
//! tab holds it. All of it twice, side by side in one run: polling alone, then with the engine
//! sending its signed webhooks to Switchboard's `/webhooks/anthropic`. Printed for each:
//! 1. upstream requests per minute with 0, 10 and 100 sessions that finished a turn and wait for
//!    nothing, once the inbox has caught up, over `INBOX_BENCH_SECS` (default 60) each;
//! 2. the latency from a session's `requires_action` idle (its `processed_at` in the engine) to the
//!    inbox frame that lists the call, for 40 calls started at random moments of the poll cycle.
//!
//! `end2end/bench/inbox-latency.mjs` measures the same latency to the card shown in Chromium.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, SystemTime},
};

use axum::{extract::Request, middleware::Next, response::Response};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};

mod common;

const TRIALS: usize = 40;

/// `GET /v1/sessions`: the inbox's listings.
static LISTS: AtomicUsize = AtomicUsize::new(0);
/// `GET /v1/sessions/{id}/events`: the inbox's reads of one session.
static READS: AtomicUsize = AtomicUsize::new(0);
/// Anything else.
static OTHER: AtomicUsize = AtomicUsize::new(0);

async fn count(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let counter = match (request.method() == axum::http::Method::GET, path) {
        (true, "/v1/sessions") => &LISTS,
        (true, p) if p.ends_with("/events") => &READS,
        _ => &OTHER,
    };
    counter.fetch_add(1, Ordering::SeqCst);
    next.run(request).await
}

fn counts() -> (usize, usize, usize) {
    (LISTS.load(Ordering::SeqCst), READS.load(Ordering::SeqCst), OTHER.load(Ordering::SeqCst))
}

#[tokio::main]
async fn main() {
    let window: u64 = std::env::var("INBOX_BENCH_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
    let binary = std::env::args().nth(1).unwrap_or_else(|| "target/release/switchboard".to_owned());
    bench(&binary, window, false).await;
    println!();
    bench(&binary, window, true).await;
}

async fn bench(binary: &str, window: u64, webhooks: bool) {
    let dir = std::env::temp_dir().join(format!("switchboard-inbox-bench-{}-{webhooks}", std::process::id()));
    let port = common::free_port();
    let secret = engine::webhooks::generate_secret();
    let (target, vars) = if webhooks {
        let url = format!("http://127.0.0.1:{port}/webhooks/anthropic");
        (
            Some(engine::webhooks::WebhookTarget::new(&url, &secret).unwrap()),
            vec![("SWITCHBOARD_WEBHOOK_SECRET", secret.as_str())],
        )
    } else {
        (None, Vec::new())
    };
    let upstream =
        common::engine_with(&dir.join("engine"), target, |router| router.layer(axum::middleware::from_fn(count))).await;
    let mut child =
        common::spawn_with(binary, &upstream, common::ENGINE_KEY, &dir.join("switchboard"), port, &vars).await;
    let switchboard = child.base.clone();
    let http = child.client(engine::http_client::builder());
    let api = common::Api::new(&upstream);

    let how = if webhooks { "with the engine's webhooks" } else { "polling alone" };
    println!("inbox bench, {how}: Switchboard's defaults (tick 2 s, sweep 30 s), one browser on the inbox stream");
    let mut inbox = Inbox::open(&http, &format!("{switchboard}/api/inbox/stream")).await;
    inbox.until(|_| true).await;

    // 1. Requests per minute.
    let environment = api.environment("inbox bench").await;
    let quiet = api.agent("inbox bench", json!([[{ "text": "Done." }]]), false).await;
    let mut sessions = 0;
    println!();
    println!("sessions   listings/min   session reads/min   total/min   (reads while catching up)");
    for target in [0, 10, 100] {
        let before = counts();
        while sessions < target {
            let session = api.session(&quiet, &environment).await;
            api.send(&session).await;
            sessions += 1;
        }
        until_none_running(&api).await;
        // Catching up: the new sessions are read once, at the next tick or two. While webhooks
        // arrive a tick is 30 s away: wait until a whole tick has passed with no read.
        tokio::time::sleep(Duration::from_secs(6)).await;
        if webhooks {
            for _ in 0..6 {
                let reads = counts().1;
                tokio::time::sleep(Duration::from_secs(35)).await;
                if counts().1 == reads {
                    break;
                }
            }
        }
        let caught_up = counts().1 - before.1;
        let start = counts();
        tokio::time::sleep(Duration::from_secs(window)).await;
        let end = counts();
        let per_minute = |n: usize| n as f64 * 60.0 / window as f64;
        let (lists, reads) = (per_minute(end.0 - start.0), per_minute(end.1 - start.1));
        println!(
            "{target:>8}   {lists:>12.1}   {reads:>17.1}   {:>9.1}   ({caught_up})",
            per_minute(end.0 - start.0 + end.1 - start.1 + end.2 - start.2)
        );
    }

    // 2. Latency from the upstream idle to the inbox frame.
    let asking = api
        .agent(
            "inbox bench",
            json!([[{ "tool": "bash", "input": { "command": "true" } }, { "text": "Ran it." }]]),
            true,
        )
        .await;
    let session = api.session(&asking, &environment).await;
    let mut latencies = Vec::new();
    for _ in 0..TRIALS {
        tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % 2000)).await;
        api.send(&session).await;
        let (arrived, calls) = inbox.until(|calls| calls.iter().any(|c| c["session_id"] == session.as_str())).await;
        let call = calls.iter().find(|c| c["session_id"] == session.as_str()).unwrap();
        let idle = last_idle(&api, &session).await;
        assert_eq!(idle["stop_reason"]["type"], "requires_action", "{idle}");
        let idled_at = system_time(idle["processed_at"].as_str().unwrap());
        let latency = arrived.duration_since(idled_at).expect("the frame arrives after the session idled");
        latencies.push(latency.as_secs_f64() * 1000.0);
        let verdict = json!({ "session_id": session, "verdicts": [{ "event_id": call["event"]["id"], "allow": true, "deny_message": null }] });
        let decided = http.post(format!("{switchboard}/api/sessions/decide")).json(&verdict).send().await.unwrap();
        assert!(decided.status().is_success(), "{}", decided.text().await.unwrap_or_default());
        inbox.until(|calls| calls.iter().all(|c| c["session_id"] != session.as_str())).await;
        within_a_minute("the turn's end", async {
            while last_idle(&api, &session).await["stop_reason"]["type"] != "end_turn" {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!();
    println!(
        "upstream idle → inbox frame ({TRIALS} calls): median {:.0} ms   min {:.0}   p90 {:.0}   p95 {:.0}   max {:.0}",
        at(0.5),
        at(0.0),
        at(0.9),
        at(0.95),
        at(1.0)
    );
    let _ = child.process.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn system_time(rfc3339: &str) -> SystemTime {
    let ms = domain::format::parse_rfc3339_ms(rfc3339).expect("an RFC 3339 timestamp");
    SystemTime::UNIX_EPOCH + Duration::from_secs_f64(ms / 1000.0)
}

/// The browser's inbox stream: each list with the moment it arrived.
struct Inbox {
    lists: tokio::sync::mpsc::UnboundedReceiver<(SystemTime, Vec<Value>)>,
}

impl Inbox {
    async fn open(http: &reqwest::Client, url: &str) -> Self {
        let response = http.get(url).send().await.unwrap();
        assert!(response.status().is_success(), "{url}: {}", response.status());
        let (tx, lists) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut frames = response.bytes_stream().eventsource();
            while let Some(Ok(frame)) = frames.next().await {
                let arrived = SystemTime::now();
                let Ok(list) = serde_json::from_str::<Value>(&frame.data) else { continue };
                if frame.event != "inbox" || list["ready"] != true {
                    continue;
                }
                let calls = list["calls"].as_array().cloned().unwrap_or_default();
                if tx.send((arrived, calls)).is_err() {
                    return;
                }
            }
        });
        Self { lists }
    }

    /// The next list `until` accepts, and when it arrived.
    async fn until(&mut self, until: impl Fn(&[Value]) -> bool) -> (SystemTime, Vec<Value>) {
        loop {
            let (arrived, calls) = tokio::time::timeout(Duration::from_secs(60), self.lists.recv())
                .await
                .expect("an inbox list within a minute")
                .expect("the inbox stream is open");
            if until(&calls) {
                return (arrived, calls);
            }
        }
    }
}

/// The session's newest `session.status_idle`.
async fn last_idle(api: &common::Api, session: &str) -> Value {
    let path = format!("/v1/sessions/{session}/events?types[]=session.status_idle&order=desc&limit=1");
    api.call(reqwest::Method::GET, &path, None).await["data"][0].clone()
}

async fn until_none_running(api: &common::Api) {
    within_a_minute("every session's turn to end", async {
        loop {
            let page = api.call(reqwest::Method::GET, "/v1/sessions?statuses[]=running&limit=1", None).await;
            if page["data"].as_array().is_none_or(|d| d.is_empty()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}

async fn within_a_minute(what: &str, wait: impl Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(60), wait).await.unwrap_or_else(|_| panic!("waited a minute for {what}"));
}
