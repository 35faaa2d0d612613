//! Switchboard's own API under load (not a test): `scripts/bench gateway`, or build the
//! `switchboard` binary in release and run
//! `cargo run --release -p server --example gateway_bench -- target/release/switchboard`.
//!
//! An engine runs in this process (the upstream); Switchboard runs as a child process in
//! Anthropic mode against it. A personal access token is made on its Account page's endpoint.
//! 1. Added latency: `GATEWAY_BENCH_CALLS` (default 400) rounds of `GET /v1/sessions/{id}`, each
//!    round one call straight to the engine and one through Switchboard (`/v1/…` with the token),
//!    in alternating order; printed: p50, p99 and max of each, and the difference at p50 and p99.
//! 2. Streams: 100 programs stream one scripted session's long turn through Switchboard
//!    (`/v1/sessions/{id}/events/stream` with the token, served by the hub: one upstream stream),
//!    then 100 stream another session straight from the engine (100 upstream streams); printed:
//!    upstream streams opened, events delivered per second, and each streamer's delay behind a
//!    probe on the engine's own stream (p50, p99).

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Instant,
};

use axum::{extract::Request, middleware::Next, response::Response};

mod common;

use common::viewers::{Viewer, long_session, ms, percentile, run_turn};

const STREAMERS: usize = 100;
const MESSAGES: usize = 150;
const GAP_MS: u64 = 20;

static STREAMS_OPENED: AtomicUsize = AtomicUsize::new(0);

async fn count_streams(request: Request, next: Next) -> Response {
    if request.uri().path().ends_with("/events/stream") {
        STREAMS_OPENED.fetch_add(1, Ordering::SeqCst);
    }
    next.run(request).await
}

#[tokio::main]
async fn main() {
    let calls: usize = std::env::var("GATEWAY_BENCH_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(400);
    let binary = std::env::args().nth(1).unwrap_or_else(|| "target/release/switchboard".to_owned());
    let dir = std::env::temp_dir().join(format!("switchboard-gateway-bench-{}", std::process::id()));
    let upstream =
        common::engine(&dir.join("engine"), |router| router.layer(axum::middleware::from_fn(count_streams))).await;
    let child = common::spawn(&binary, &upstream, common::ENGINE_KEY, &dir.join("switchboard")).await;
    let switchboard = child.base.clone();
    let browser = child.client(engine::http_client::builder());
    let made: serde_json::Value = browser
        .post(format!("{switchboard}/api/me/tokens/create"))
        .form(&[("form[name]", "bench"), ("form[workspace]", "default"), ("form[viewer]", "on")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = made["secret"].as_str().expect("a token").to_owned();
    let api = common::Api::new(&upstream);
    println!(
        "gateway bench: {calls} calls each way; {STREAMERS} streamers each way of a turn of {MESSAGES} messages {GAP_MS} ms apart"
    );

    // 1. Added latency of one call.
    let session = long_session(&api, 1, 0).await;
    let http = engine::http_client::client();
    let call = |base: String, key: String| {
        let http = http.clone();
        let path = format!("{base}/v1/sessions/{session}");
        async move {
            let started = Instant::now();
            let response = http
                .get(&path)
                .header("x-api-key", key)
                .header("anthropic-version", protocol::ANTHROPIC_VERSION)
                .header("anthropic-beta", protocol::MANAGED_AGENTS_BETA)
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success(), "{path}: {}", response.status());
            response.bytes().await.unwrap();
            started.elapsed().as_secs_f64() * 1000.0
        }
    };
    // Warm both paths' connections first.
    for _ in 0..20 {
        call(upstream.clone(), common::ENGINE_KEY.to_owned()).await;
        call(switchboard.clone(), token.clone()).await;
    }
    let (mut direct, mut through) = (Vec::new(), Vec::new());
    for round in 0..calls {
        if round % 2 == 0 {
            direct.push(call(upstream.clone(), common::ENGINE_KEY.to_owned()).await);
            through.push(call(switchboard.clone(), token.clone()).await);
        } else {
            through.push(call(switchboard.clone(), token.clone()).await);
            direct.push(call(upstream.clone(), common::ENGINE_KEY.to_owned()).await);
        }
    }
    direct.sort_by(f64::total_cmp);
    through.sort_by(f64::total_cmp);

    // 2. 100 programs streaming, through the hub and straight from the engine.
    let streams = engine::http_client::builder().pool_max_idle_per_host(0).build().unwrap();
    let session = long_session(&api, MESSAGES, GAP_MS).await;
    let url = format!("{switchboard}/v1/sessions/{session}/events/stream");
    let opened_before = STREAMS_OPENED.load(Ordering::SeqCst);
    let mut viewers = Vec::new();
    for _ in 0..STREAMERS {
        viewers.push(Viewer::open_with(&streams, &url, false, &token).await);
    }
    let hub = run_turn(&api, &streams, &session, viewers).await;
    let hub_streams = STREAMS_OPENED.load(Ordering::SeqCst) - opened_before - 1;
    let session = long_session(&api, MESSAGES, GAP_MS).await;
    let url = format!("{upstream}/v1/sessions/{session}/events/stream");
    let opened_before = STREAMS_OPENED.load(Ordering::SeqCst);
    let mut viewers = Vec::new();
    for _ in 0..STREAMERS {
        viewers.push(Viewer::open(&streams, &url, false).await);
    }
    let own = run_turn(&api, &streams, &session, viewers).await;
    let own_streams = STREAMS_OPENED.load(Ordering::SeqCst) - opened_before - 1;

    println!();
    println!("one call (GET /v1/sessions/{{id}})      straight to the engine   through Switchboard   added");
    for (label, p) in [("p50", 0.5), ("p99", 0.99), ("max", 1.0)] {
        let (a, b) = (percentile(&direct, p), percentile(&through, p));
        println!("{label:<38} {:>22}   {:>19}   {:>5}", ms(a), ms(b), ms(b - a));
    }
    println!();
    println!("{STREAMERS} streamers of one turn              through Switchboard   straight from the engine");
    println!("upstream streams opened                 {hub_streams:>19}   {own_streams:>24}");
    println!("events delivered per second             {:>19.0}   {:>24.0}", hub.rate, own.rate);
    println!(
        "delay behind a probe p50 / p99   {:>12} / {:>8}   {:>15} / {:>6}",
        ms(percentile(&hub.delays, 0.5)),
        ms(percentile(&hub.delays, 0.99)),
        ms(percentile(&own.delays, 0.5)),
        ms(percentile(&own.delays, 0.99))
    );
    println!(
        "streamers with every event, in order    {:>15}/{:<3}   {:>20}/{:<3}",
        hub.complete, hub.viewers, own.complete, own.viewers
    );
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
}
