//! The stream hub under load (not a test): `scripts/bench live`, or build the `switchboard` binary
//! in release and run `cargo run --release -p server --example live_bench -- target/release/switchboard`.
//!
//! An engine runs in this process (the upstream). Switchboard runs as a child process in
//! Anthropic mode against it, so that its memory is its own. One scripted session emits a long
//! turn; 500 viewers watch it:
//! 1. through Switchboard (`/api/sessions/{id}/stream`, one shared upstream stream);
//! 2. each straight from the engine (`/v1/sessions/{id}/events/stream`, 500 upstream streams).
//!
//! 3. `1`, `10` and `100` viewers on each of the 8 child threads of a multiagent session
//!    (`/api/sessions/{id}/threads/{thread_id}/stream`), each round on a new session.
//!
//! Printed: upstream streams opened; added latency per event (a probe streaming the engine
//! directly stamps each event's arrival; each viewer's arrival minus the probe's); how long one
//! event takes to reach every viewer (its last viewer's arrival minus its first's: the cost of
//! the fan-out itself, which the engine pays too when 500 viewers stream it directly); events
//! delivered per second; Switchboard's memory per idle viewer (RSS before and after 500 idle
//! viewers join); for the threads, the upstream thread streams each round opened and how long
//! until every viewer had all of its thread's events.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use axum::{extract::Request, middleware::Next, response::Response};
use futures::StreamExt;
use serde_json::{Value, json};

mod common;

use common::viewers::{Viewer, find, long_session, ms, name_and_data, percentile, rss_kib, run_turn};

/// Messages in the turn, one every `GAP_MS`.
const MESSAGES: usize = 150;
const GAP_MS: u64 = 20;

/// Child threads in the multiagent session of the thread rounds, and the messages each writes.
const THREADS: usize = 8;
const THREAD_MESSAGES: usize = 5;
/// Viewers per thread in the thread rounds, and rounds of each.
const PER_THREAD: [usize; 3] = [1, 10, 100];
const ROUNDS: usize = 3;

static STREAMS_OPENED: AtomicUsize = AtomicUsize::new(0);
static THREAD_STREAMS_OPENED: AtomicUsize = AtomicUsize::new(0);

async fn count_streams(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.ends_with("/events/stream") {
        STREAMS_OPENED.fetch_add(1, Ordering::SeqCst);
    } else if path.contains("/threads/") && path.ends_with("/stream") {
        THREAD_STREAMS_OPENED.fetch_add(1, Ordering::SeqCst);
    }
    next.run(request).await
}

#[tokio::main]
async fn main() {
    // `LIVE_BENCH_VIEWERS` changes the number of viewers (500 by default), to see how the figures scale.
    let viewer_count: usize = std::env::var("LIVE_BENCH_VIEWERS").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    let binary = std::env::args().nth(1).unwrap_or_else(|| "target/release/switchboard".to_owned());
    let dir = std::env::temp_dir().join(format!("switchboard-live-bench-{}", std::process::id()));
    let upstream =
        common::engine(&dir.join("engine"), |router| router.layer(axum::middleware::from_fn(count_streams))).await;

    let mut child = common::spawn(&binary, &upstream, common::ENGINE_KEY, &dir.join("switchboard")).await;
    let switchboard = child.base.clone();
    // The viewers share the first admin's login cookie.
    let http = child.client(engine::http_client::builder().pool_max_idle_per_host(0));
    let api = common::Api::new(&upstream);
    println!(
        "live bench: {viewer_count} viewers, a turn of {MESSAGES} messages {GAP_MS} ms apart (about {} events)",
        MESSAGES * 2 + 6
    );

    // 1. Through Switchboard.
    let session = long_session(&api, MESSAGES, GAP_MS).await;
    let pid = child.process.id().expect("the child runs");
    let sse_url = format!("{switchboard}/api/sessions/{session}/stream");
    let first = Viewer::open(&http, &sse_url, true).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = rss_kib(pid);
    let mut viewers = vec![first];
    for _ in 1..viewer_count {
        viewers.push(Viewer::open(&http, &sse_url, true).await);
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let rss_after = rss_kib(pid);
    let per_viewer = (rss_after.saturating_sub(rss_before)) as f64 * 1024.0 / (viewer_count - 1) as f64;
    let opened_before = STREAMS_OPENED.load(Ordering::SeqCst);
    let through = run_turn(&api, &http, &session, viewers).await;
    let hub_streams = STREAMS_OPENED.load(Ordering::SeqCst) - opened_before;

    // 2. Each viewer straight from the engine.
    let session = long_session(&api, MESSAGES, GAP_MS).await;
    let direct_url = format!("{upstream}/v1/sessions/{session}/events/stream");
    let mut viewers = Vec::new();
    let opened_before = STREAMS_OPENED.load(Ordering::SeqCst);
    for _ in 0..viewer_count {
        viewers.push(Viewer::open(&http, &direct_url, false).await);
    }
    let direct = run_turn(&api, &http, &session, viewers).await;
    let direct_streams = STREAMS_OPENED.load(Ordering::SeqCst) - opened_before - 1;

    println!();
    println!("                               through Switchboard   straight from the engine");
    println!("upstream streams opened        {hub_streams:>19}   {direct_streams:>24}");
    println!(
        "latency vs probe p50 / p99     {:>10} / {:>6}   {:>15} / {:>6}",
        ms(percentile(&through.delays, 0.5)),
        ms(percentile(&through.delays, 0.99)),
        ms(percentile(&direct.delays, 0.5)),
        ms(percentile(&direct.delays, 0.99))
    );
    println!(
        "latency vs probe max           {:>19}   {:>24}",
        ms(percentile(&through.delays, 1.0)),
        ms(percentile(&direct.delays, 1.0))
    );
    println!(
        "first to last viewer p50 / p99 {:>10} / {:>6}   {:>15} / {:>6}",
        ms(percentile(&through.spread, 0.5)),
        ms(percentile(&through.spread, 0.99)),
        ms(percentile(&direct.spread, 0.5)),
        ms(percentile(&direct.spread, 0.99))
    );
    println!("events delivered per second    {:>19.0}   {:>24.0}", through.rate, direct.rate);
    println!(
        "Switchboard RSS: {:.1} MiB with 1 viewer, {:.1} MiB with {viewer_count}: {:.1} KiB per idle viewer",
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        per_viewer / 1024.0
    );

    // 3. Many viewers on the threads of a multiagent session, through Switchboard.
    println!();
    println!(
        "threads: a session of {THREADS} child threads ({THREAD_MESSAGES} messages each); each round opens every thread's stream"
    );
    println!("that many times at once, on a new session, and waits until every viewer has every event");
    println!("viewers per thread   viewers   upstream thread streams per round   all caught up, median (min–max)");
    for per_thread in PER_THREAD {
        let (mut opened, mut times) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let (streams, took) = thread_round(&api, &http, &switchboard, per_thread).await;
            opened.push(streams.to_string());
            times.push(took);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{per_thread:>18}   {:>7}   {:>33}   {} ({}–{})",
            per_thread * THREADS,
            opened.join(", "),
            ms(percentile(&times, 0.5)),
            ms(times[0]),
            ms(times[times.len() - 1])
        );
    }
    let _ = child.process.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs a multiagent session's turn to its end, then opens `per_thread` viewers on each child
/// thread's hub stream at once. Answers the upstream thread streams the hub opened and how long
/// (ms) until every viewer had every event of its thread.
async fn thread_round(api: &common::Api, http: &reqwest::Client, switchboard: &str, per_thread: usize) -> (usize, f64) {
    let suffix = rand::random::<u32>();
    let parts: Vec<Value> = (0..THREAD_MESSAGES).map(|n| json!({ "text": format!("Part {n} of the work.") })).collect();
    let worker = api.agent(&format!("live bench worker {suffix}"), json!([parts]), false).await;
    let mut steps: Vec<Value> = (0..THREADS)
        .map(|_| json!({ "subagent": format!("live bench worker {suffix}"), "message": "Work." }))
        .collect();
    steps.push(json!({ "text": "Done." }));
    let lead = json!({
        "name": format!("live bench lead {suffix}"), "model": "scripted",
        "system": json!({ "turns": [steps] }).to_string(),
        "multiagent": { "type": "multiagent_20261001", "subagents": { "type": "enabled", "predefined_agents": [worker] } },
    });
    let lead = api.call(reqwest::Method::POST, "/v1/agents", Some(lead)).await["id"].as_str().unwrap().to_owned();
    let environment = api.environment(&format!("live bench threads {suffix}")).await;
    let session = api.session(&lead, &environment).await;
    api.send(&session).await;
    // The turn's end: the session idle with every child thread started and idle.
    let threads = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let status = api.call(reqwest::Method::GET, &format!("/v1/sessions/{session}"), None).await;
        let listed = api.call(reqwest::Method::GET, &format!("/v1/sessions/{session}/threads"), None).await;
        let children: Vec<&Value> =
            listed["data"].as_array().unwrap().iter().filter(|t| !t["parent_thread_id"].is_null()).collect();
        if status["status"] == "idle" && children.len() == THREADS && children.iter().all(|t| t["status"] == "idle") {
            break children.iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        }
    };
    let mut expected = Vec::new();
    for thread in &threads {
        let events = api
            .call(reqwest::Method::GET, &format!("/v1/sessions/{session}/threads/{thread}/events?limit=1000"), None)
            .await;
        expected.push(events["data"].as_array().unwrap().len());
    }
    let opened_before = THREAD_STREAMS_OPENED.load(Ordering::SeqCst);
    let start = Instant::now();
    let viewers = threads.iter().zip(&expected).flat_map(|(thread, &count)| {
        let url = format!("{switchboard}/api/sessions/{session}/threads/{thread}/stream");
        (0..per_thread).map(move |_| read_events(http, url.clone(), count))
    });
    futures::future::join_all(viewers).await;
    let took = start.elapsed().as_secs_f64() * 1000.0;
    (THREAD_STREAMS_OPENED.load(Ordering::SeqCst) - opened_before, took)
}

/// Opens a hub stream and reads it until `count` events arrived.
async fn read_events(http: &reqwest::Client, url: String, count: usize) {
    let response = http.get(&url).send().await.unwrap();
    assert!(response.status().is_success(), "{url}: {}", response.status());
    let mut body = response.bytes_stream();
    let (mut buffer, mut seen) = (Vec::<u8>::new(), 0);
    while let Some(Ok(chunk)) = body.next().await {
        buffer.extend_from_slice(&chunk);
        let mut consumed = 0;
        while let Some(end) = find(&buffer[consumed..], b"\n\n") {
            if name_and_data(&buffer[consumed..consumed + end]).is_some_and(|(name, _)| name == b"event") {
                seen += 1;
            }
            consumed += end + 2;
        }
        buffer.drain(..consumed);
        if seen >= count {
            return;
        }
    }
    panic!("{url} ended after {seen} of {count} events");
}
