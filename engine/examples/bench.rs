//! The engine's benchmark (not a test): `scripts/bench`, or
//! `cargo run --release -p engine --example bench`.
//!
//! Prints, for an engine in this process on loopback:
//! 1. time from `POST events` (user.message) to `session.status_idle` on the stream, for a
//!    5-step scripted turn without sleeps;
//! 2. listing a 10,000-event session: the first page of 1,000, and a full walk;
//! 3. 200 SSE clients on one session receiving a 1,000-event turn: all receive all, in order, and
//!    the time from the POST to the last delivery.
//!
//! Each figure is the median over its runs with the spread (min, p99 or max).
//!
//! With `soak [N]` it runs the soak of [`soak`] instead: N sessions (320 unless given)
//! created, run and archived, and what the engine holds read as they go.

use std::time::Instant;

use futures::StreamExt;
use serde_json::{Value, json};

mod common;
#[path = "common/soak.rs"]
mod soak;
use common::{Client, summary};

impl Client {
    async fn session(&self, turn: Value) -> String {
        let system = json!({ "turns": [turn] }).to_string();
        let agent = self.post("/v1/agents", json!({ "name": "bench", "model": "scripted", "system": system })).await;
        let environment = self.post("/v1/environments", json!({ "name": "bench" })).await;
        let session =
            self.post("/v1/sessions", json!({ "agent": agent["id"], "environment_id": environment["id"] })).await;
        session["id"].as_str().unwrap().to_owned()
    }

    async fn say(&self, session: &str) {
        self.post(
            &format!("/v1/sessions/{session}/events"),
            json!({ "events": [{ "type": "user.message", "content": [{ "type": "text", "text": "go" }] }] }),
        )
        .await;
    }

    /// An open stream, as a channel of event `type`s and ids.
    async fn stream(&self, session: &str) -> tokio::sync::mpsc::UnboundedReceiver<(String, String)> {
        let response =
            self.request(reqwest::Method::GET, &format!("/v1/sessions/{session}/events/stream")).send().await.unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut bytes = response.bytes_stream();
            let mut buffer = String::new();
            while let Some(Ok(chunk)) = bytes.next().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let frame: String = buffer.drain(..end + 2).collect();
                    if let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data: ")) {
                        let event: Value = serde_json::from_str(data).unwrap_or(Value::Null);
                        let kind = event["type"].as_str().unwrap_or_default().to_owned();
                        if kind != "ping"
                            && tx.send((kind, event["id"].as_str().unwrap_or_default().to_owned())).is_err()
                        {
                            return;
                        }
                    }
                }
            }
        });
        rx
    }
}

async fn until_idle(rx: &mut tokio::sync::mpsc::UnboundedReceiver<(String, String)>) -> Vec<String> {
    let mut ids = Vec::new();
    while let Some((kind, id)) = rx.recv().await {
        ids.push(id);
        if kind == "session.status_idle" {
            break;
        }
    }
    ids
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    match args.first().map(String::as_str) {
        Some("soak") => {
            let total = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(320);
            runtime.block_on(soak::run(total));
        }
        _ => runtime.block_on(bench()),
    }
}

async fn bench() {
    let (client, dir) = common::start("bench").await;
    println!(
        "Switchboard engine benchmark ({} cores; release build; engine in-process on loopback)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // 1. A 5-step turn.
    let session = client.session(json!([{ "thinking": "hmm" }, { "text": "one" }, { "text": "two" }, { "text": "three" }, { "text": "four" }])).await;
    let mut rx = client.stream(&session).await;
    let mut samples = Vec::new();
    for run in 0..220 {
        let start = Instant::now();
        client.say(&session).await;
        until_idle(&mut rx).await;
        if run >= 20 {
            samples.push(start.elapsed());
        }
    }
    summary("5-step turn: POST user.message -> session.status_idle", samples);

    // 2. A 10,000-event session.
    let steps: Vec<Value> = (0..9994).map(|i| json!({ "text": format!("message {i}") })).collect();
    let session = client.session(Value::Array(steps)).await;
    let mut rx = client.stream(&session).await;
    let start = Instant::now();
    client.say(&session).await;
    until_idle(&mut rx).await;
    let total = client.get(&format!("/v1/sessions/{session}/events?limit=1000")).await;
    let mut count = 0;
    let mut page = total.clone();
    loop {
        count += page["data"].as_array().unwrap().len();
        let Some(next) = page["next_page"].as_str() else { break };
        page = client.get(&format!("/v1/sessions/{session}/events?limit=1000&page={next}")).await;
    }
    println!("(the session has {count} events; writing them took {:.0} ms)", start.elapsed().as_secs_f64() * 1000.0);
    let mut first = Vec::new();
    for _ in 0..50 {
        let start = Instant::now();
        let page = client.get(&format!("/v1/sessions/{session}/events?limit=1000")).await;
        first.push(start.elapsed());
        assert_eq!(page["data"].as_array().unwrap().len(), 1000);
    }
    summary("list a 10,000-event session: first page of 1,000", first);
    let mut walks = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        let mut path = format!("/v1/sessions/{session}/events?limit=1000");
        let mut seen = 0;
        loop {
            let page = client.get(&path).await;
            seen += page["data"].as_array().unwrap().len();
            match page["next_page"].as_str() {
                Some(next) => path = format!("/v1/sessions/{session}/events?limit=1000&page={next}"),
                None => break,
            }
        }
        assert_eq!(seen, count);
        walks.push(start.elapsed());
    }
    summary("list a 10,000-event session: full walk (pages of 1,000)", walks);

    // 3. 200 viewers of a 1,000-event turn.
    let steps: Vec<Value> = (0..995).map(|i| json!({ "text": format!("line {i}") })).collect();
    let session = client.session(Value::Array(steps)).await;
    let mut runs = Vec::new();
    for _ in 0..5 {
        let mut viewers = Vec::new();
        for _ in 0..200 {
            viewers.push(client.stream(&session).await);
        }
        let start = Instant::now();
        client.say(&session).await;
        let received = futures::future::join_all(viewers.iter_mut().map(until_idle)).await;
        let elapsed = start.elapsed();
        let listed = client.get(&format!("/v1/sessions/{session}/events?limit=1000&order=desc")).await;
        let mut expected: Vec<String> = listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .take(received[0].len())
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect();
        expected.reverse();
        assert!(received[0].len() >= 1000, "a turn of {} events", received[0].len());
        for ids in &received {
            if ids != &expected {
                let first = ids.iter().zip(&expected).position(|(a, b)| a != b);
                panic!(
                    "a viewer got {} events, the log has {}; first difference at {first:?}: {:?} vs {:?}",
                    ids.len(),
                    expected.len(),
                    first.map(|i| &ids[i]),
                    first.map(|i| &expected[i])
                );
            }
        }
        runs.push(elapsed);
        drop(viewers);
    }
    summary("200 SSE viewers, 1,000-event turn: POST -> last delivery", runs);
    let _ = std::fs::remove_dir_all(dir);
}
