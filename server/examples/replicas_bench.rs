//! Several replicas on PostgreSQL under load (not a test): `scripts/bench replicas`, or, with a
//! PostgreSQL cluster's superuser URL in `SWITCHBOARD_TEST_POSTGRES_URL` and the release binary
//! built, `cargo run --release -p server --example replicas_bench -- target/release/switchboard`.
//!
//! An engine runs in this process (the upstream every replica shares). Switchboard runs as child
//! processes of its release binary in Anthropic mode against it:
//! 1. **Fan-out:** two replicas on one PostgreSQL database; 1,000 viewers of one session, half on
//!    each. Printed: the upstream streams opened (one per replica that has viewers), whether every
//!    viewer got every event once and in order, the delay behind a probe on the engine's own
//!    stream (p50, p99, max) and each event's spread from its first to its last viewer.
//! 2. **Decisions per second,** side by side: two replicas on PostgreSQL, and one on SQLite. Each
//!    round starts sessions whose agent asks before a bash call, waits until every call waits,
//!    then allows them all, `IN_FLIGHT` at a time, alternating between the replicas. Printed:
//!    decisions per second (median and spread of the rounds) and that each call was answered
//!    upstream exactly once.

use std::{
    collections::HashMap,
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use axum::{extract::Request, middleware::Next, response::Response};
use futures::StreamExt;
use serde_json::{Value, json};

mod common;

use common::viewers::{Viewer, long_session, ms, percentile, run_turn};

const MESSAGES: usize = 150;
const GAP_MS: u64 = 20;
const VIEWERS: usize = 1000;
/// Calls decided per round, and decisions in flight at once.
const CALLS: usize = 120;
const IN_FLIGHT: usize = 16;
const ROUNDS: usize = 3;
const SECRET_KEY: &str = "K3Y1wqUuQqmt1xQe3G4jZM5Lj2WQAiQGpK4GlxLh3i0=";

static STREAMS_OPENED: AtomicUsize = AtomicUsize::new(0);

async fn count_streams(request: Request, next: Next) -> Response {
    if request.uri().path().ends_with("/events/stream") {
        STREAMS_OPENED.fetch_add(1, Ordering::SeqCst);
    }
    next.run(request).await
}

#[tokio::main]
async fn main() {
    let binary = std::env::args().nth(1).unwrap_or_else(|| "target/release/switchboard".to_owned());
    let cluster = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL").expect(
        "SWITCHBOARD_TEST_POSTGRES_URL: a PostgreSQL cluster's superuser URL (scripts/bench replicas starts one)",
    );
    let dir = std::env::temp_dir().join(format!("switchboard-replicas-bench-{}", std::process::id()));
    let upstream =
        common::engine(&dir.join("engine"), |router| router.layer(axum::middleware::from_fn(count_streams))).await;
    let api = common::Api::new(&upstream);

    let database = fresh_database(&cluster, "fanout").await;
    let replicas = two_replicas(&binary, &upstream, &database, &dir.join("fanout")).await;
    fan_out(&api, &replicas).await;
    drop(replicas);

    println!();
    println!("decisions: {CALLS} waiting calls a round, {IN_FLIGHT} decided at once, {ROUNDS} rounds");
    let database = fresh_database(&cluster, "decisions").await;
    let postgres = two_replicas(&binary, &upstream, &database, &dir.join("decisions-pg")).await;
    let sqlite = vec![common::spawn(&binary, &upstream, common::ENGINE_KEY, &dir.join("decisions-sqlite")).await];
    println!("                               per second, median (min–max)   each answered once");
    for (label, replicas) in [("2 replicas on PostgreSQL", &postgres), ("1 on SQLite", &sqlite)] {
        let mut rates = Vec::new();
        let mut once = true;
        for _ in 0..ROUNDS {
            let (rate, exactly_once) = decision_round(&api, replicas).await;
            rates.push(rate);
            once &= exactly_once;
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "{label:<30} {:>8.1} ({:.1}–{:.1})            {once}",
            percentile(&rates, 0.5),
            rates[0],
            rates[rates.len() - 1]
        );
    }
    drop((postgres, sqlite));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A new database in the cluster; answers its URL.
async fn fresh_database(cluster: &str, name: &str) -> String {
    server::support::db::install_drivers();
    let admin = sqlx::AnyPool::connect(cluster).await.expect("the cluster answers");
    let database = format!("replicas_bench_{name}_{}", std::process::id());
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{database}\"")).execute(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE \"{database}\"")).execute(&admin).await.unwrap();
    let mut url = reqwest::Url::parse(cluster).unwrap();
    url.set_path(&database);
    url.to_string()
}

/// Two replicas on `database`, one after the other (the first makes the admin).
async fn two_replicas(binary: &str, upstream: &str, database: &str, dir: &std::path::Path) -> Vec<common::Child> {
    let vars = [("SWITCHBOARD_DATABASE_URL", database), ("SWITCHBOARD_SECRET_KEY", SECRET_KEY)];
    let mut replicas = Vec::new();
    for name in ["a", "b"] {
        let port = common::free_port();
        replicas.push(common::spawn_with(binary, upstream, common::ENGINE_KEY, &dir.join(name), port, &vars).await);
    }
    replicas
}

/// 1,000 viewers of one long turn, half on each replica.
async fn fan_out(api: &common::Api, replicas: &[common::Child]) {
    let session = long_session(api, MESSAGES, GAP_MS).await;
    let opened_before = STREAMS_OPENED.load(Ordering::SeqCst);
    let mut viewers = Vec::new();
    for n in 0..VIEWERS {
        let replica = &replicas[n % replicas.len()];
        let http = replica.client(engine::http_client::builder().pool_max_idle_per_host(0));
        viewers.push(Viewer::open(&http, &format!("{}/api/sessions/{session}/stream", replica.base), true).await);
    }
    let http = engine::http_client::client();
    let turn = run_turn(api, &http, &session, viewers).await;
    let streams = STREAMS_OPENED.load(Ordering::SeqCst) - opened_before - 1;
    let events = api.call(reqwest::Method::GET, &format!("/v1/sessions/{session}/events?limit=1000"), None).await;
    let expected = events["data"].as_array().unwrap().len();
    println!(
        "fan-out: {VIEWERS} viewers over {} replicas on PostgreSQL, a turn of {MESSAGES} messages {GAP_MS} ms apart",
        replicas.len()
    );
    println!("upstream streams opened        {streams} (one per replica)");
    println!(
        "viewers with every event once, in order: {} of {} ({expected} events in the session, {} delivered)",
        turn.complete, turn.viewers, turn.delivered
    );
    println!(
        "added latency vs probe p50 / p99 / max: {} / {} / {}",
        ms(percentile(&turn.delays, 0.5)),
        ms(percentile(&turn.delays, 0.99)),
        ms(percentile(&turn.delays, 1.0))
    );
    println!(
        "first to last viewer p50 / p99: {} / {}",
        ms(percentile(&turn.spread, 0.5)),
        ms(percentile(&turn.spread, 0.99))
    );
}

/// Starts `CALLS` sessions whose call waits, then allows every call through `replicas` in turn.
/// Answers decisions per second, and whether each call got exactly one confirmation upstream.
async fn decision_round(api: &common::Api, replicas: &[common::Child]) -> (f64, bool) {
    let turns = json!([[{ "tool": "bash", "input": { "command": "true" } }, { "text": "Done." }]]);
    let agent = api.agent(&format!("decision bench {}", rand::random::<u32>()), turns, true).await;
    let environment = api.environment(&format!("decision bench {}", rand::random::<u32>())).await;
    let mut sessions = Vec::new();
    for _ in 0..CALLS {
        let session = api.session(&agent, &environment).await;
        api.send(&session).await;
        sessions.push(session);
    }
    let mut calls = HashMap::new();
    for session in &sessions {
        calls.insert(session.clone(), waiting_call(api, session).await);
    }
    let clients: Vec<reqwest::Client> = replicas.iter().map(|r| r.client(engine::http_client::builder())).collect();
    let start = Instant::now();
    let decided = futures::stream::iter(sessions.iter().enumerate())
        .map(|(n, session)| {
            let (replica, client) = (&replicas[n % replicas.len()], &clients[n % replicas.len()]);
            let body = json!({ "session_id": session, "verdicts": [{ "event_id": calls[session], "allow": true, "deny_message": null }] });
            async move {
                let response =
                    client.post(format!("{}/api/sessions/decide", replica.base)).json(&body).send().await.unwrap();
                response.status().is_success()
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .filter(|sent| std::future::ready(*sent))
        .count()
        .await;
    let rate = decided as f64 / start.elapsed().as_secs_f64();
    let mut once = decided == CALLS;
    for session in &sessions {
        let events = api.call(reqwest::Method::GET, &format!("/v1/sessions/{session}/events?limit=1000"), None).await;
        let confirmations =
            events["data"].as_array().unwrap().iter().filter(|e| e["type"] == "user.tool_confirmation").count();
        once &= confirmations == 1;
    }
    (rate, once)
}

/// The id of the call `session` waits on, once it waits.
async fn waiting_call(api: &common::Api, session: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let events = api.call(reqwest::Method::GET, &format!("/v1/sessions/{session}/events?limit=100"), None).await;
        let data = events["data"].as_array().unwrap();
        let idle = data.iter().rev().find(|e| e["type"] == "session.status_idle");
        if let Some(id) = idle.and_then(|e| e.pointer("/stop_reason/event_ids/0")).and_then(Value::as_str) {
            return id.to_owned();
        }
        assert!(Instant::now() < deadline, "{session} never waited on its call");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
