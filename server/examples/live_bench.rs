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
    collections::HashMap,
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use axum::{extract::Request, middleware::Next, response::Response};
use futures::StreamExt;
use serde_json::{Value, json};

mod common;

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
    let http = child.client(reqwest::Client::builder().pool_max_idle_per_host(0));
    let api = common::Api::new(&upstream);
    println!(
        "live bench: {viewer_count} viewers, a turn of {MESSAGES} messages {GAP_MS} ms apart (about {} events)",
        MESSAGES * 2 + 6
    );

    // 1. Through Switchboard.
    let session = long_session(&api).await;
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
    let session = long_session(&api).await;
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

/// Sends the message that starts the turn, with a probe on the engine's own stream, and waits
/// for every viewer to see the turn's end. Answers each viewer's per-event delay behind the
/// probe.
async fn run_turn(api: &common::Api, http: &reqwest::Client, session: &str, viewers: Vec<Viewer>) -> Turn {
    let probe = Viewer::open(http, &format!("{}/v1/sessions/{session}/events/stream", api.base), false).await;
    let start = Instant::now();
    api.send(session).await;
    let probe = probe.finish(start).await;
    let mut delays = Vec::new();
    let mut delivered = 0usize;
    let mut last = Duration::ZERO;
    // Per event, the first and the last viewer's arrival.
    let mut window: HashMap<&str, (Duration, Duration)> = HashMap::new();
    let results = futures::future::join_all(viewers.into_iter().map(|v| v.finish(start))).await;
    for arrivals in &results {
        for (id, at) in arrivals {
            if let Some(probe_at) = probe.get(id) {
                delays.push((at.as_secs_f64() - probe_at.as_secs_f64()) * 1000.0);
                let seen = window.entry(id.as_str()).or_insert((*at, *at));
                *seen = (seen.0.min(*at), seen.1.max(*at));
            }
            last = last.max(*at);
        }
        delivered += arrivals.len();
    }
    delays.sort_by(f64::total_cmp);
    let mut spread: Vec<f64> = window.values().map(|(a, b)| (*b - *a).as_secs_f64() * 1000.0).collect();
    spread.sort_by(f64::total_cmp);
    let first = probe.values().min().copied().unwrap_or_default();
    Turn { delays, spread, rate: delivered as f64 / (last - first).as_secs_f64().max(1e-9) }
}

/// What one turn measured: each viewer's delay per event behind the probe (ms, sorted), each
/// event's spread from its first to its last viewer (ms, sorted), events delivered per second.
struct Turn {
    delays: Vec<f64>,
    spread: Vec<f64>,
    rate: f64,
}

/// A session whose turn writes `MESSAGES` messages, `GAP_MS` apart.
async fn long_session(api: &common::Api) -> String {
    let mut turn: Vec<Value> = Vec::new();
    for n in 0..MESSAGES {
        turn.push(json!({ "text": format!("Message {n} of the long turn, a few words long.") }));
        turn.push(json!({ "sleep_ms": GAP_MS }));
    }
    let agent = api.agent("live bench", json!([turn]), false).await;
    let environment = api.environment(&format!("live bench {}", rand::random::<u32>())).await;
    api.session(&agent, &environment).await
}

/// One SSE viewer; it records when each persisted event arrived.
struct Viewer {
    arrivals: tokio::sync::mpsc::UnboundedReceiver<(String, Instant, bool)>,
}

impl Viewer {
    /// A viewer of Switchboard's hub (`hub`) or of the engine's own stream. Both ask for the
    /// previews of messages, as the console does.
    async fn open(http: &reqwest::Client, url: &str, hub: bool) -> Self {
        let mut request = http.get(url);
        if !hub {
            request = request
                .query(&[("event_deltas[]", "agent.message")])
                .header("x-api-key", common::ENGINE_KEY)
                .header("anthropic-version", protocol::ANTHROPIC_VERSION)
                .header("anthropic-beta", protocol::MANAGED_AGENTS_BETA);
        }
        let response = request.send().await.unwrap();
        assert!(response.status().is_success(), "{url}: {}", response.status());
        let (tx, arrivals) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            // Frames are cut out of the byte stream by hand rather than through an SSE parser: the
            // client side of this bench should cost as little as it can, since it shares the two
            // cores with the server it measures. Both kinds of viewer read the same way.
            let mut body = response.bytes_stream();
            let mut buffer = Vec::<u8>::with_capacity(16 * 1024);
            while let Some(Ok(chunk)) = body.next().await {
                let now = Instant::now();
                buffer.extend_from_slice(&chunk);
                let mut consumed = 0;
                while let Some(end) = find(&buffer[consumed..], b"\n\n") {
                    let frame = &buffer[consumed..consumed + end];
                    consumed += end + 2;
                    let Some((name, data)) = name_and_data(frame) else { continue };
                    let persisted =
                        if hub { name == b"event" } else { name != b"ping" && !name.starts_with(b"event_") };
                    if !persisted {
                        continue;
                    }
                    let Some(id) = id_of(data) else { continue };
                    let end = contains(data, b"\"session.status_idle\"") && contains(data, b"\"end_turn\"");
                    if tx.send((id, now, end)).is_err() || end {
                        return;
                    }
                }
                buffer.drain(..consumed);
            }
        });
        Self { arrivals }
    }

    /// Arrival times (since `start`) of the events after `start`, until the turn's end.
    async fn finish(mut self, start: Instant) -> HashMap<String, Duration> {
        let mut seen = HashMap::new();
        while let Ok(Some((id, at, end))) = tokio::time::timeout(Duration::from_secs(60), self.arrivals.recv()).await {
            if at >= start {
                seen.insert(id, at - start);
            }
            if end {
                break;
            }
        }
        seen
    }
}

/// The `event:` name and `data:` line of one SSE frame (the API writes data on one line).
fn name_and_data(frame: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut name: &[u8] = b"message";
    let mut data = None;
    for line in frame.split(|b| *b == b'\n') {
        if let Some(rest) = line.strip_prefix(b"event:") {
            name = rest.strip_prefix(b" ").unwrap_or(rest);
        } else if let Some(rest) = line.strip_prefix(b"data:") {
            data = Some(rest.strip_prefix(b" ").unwrap_or(rest));
        }
    }
    Some((name, data?))
}

/// The top-level `"id"` of an event as the API writes it (`type` first, then `id`).
fn id_of(data: &[u8]) -> Option<String> {
    let start = find(data, b"\"id\":\"")? + 6;
    let end = start + data[start..].iter().position(|b| *b == b'"')?;
    String::from_utf8(data[start..end].to_vec()).ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(value: f64) -> String {
    format!("{value:.2} ms")
}

/// Resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
