//! The self-hosted workers' benchmark (not a test): `scripts/bench workers`, or
//! `cargo run --release -p engine --example worker_bench -- target/release/switchboard-engine`.
//!
//! An engine in this process serves a self-hosted environment; `switchboard-engine worker`
//! processes (the binary named by the first argument, a release build) serve it on loopback.
//! Prints, side by side in one run:
//! 1. tool calls per second through 1, 2 and 4 workers (8 sessions at once each): 32 sessions,
//!    each a turn of 8 sandboxed `bash` calls of `true`, one after another (a text between
//!    them), from the first message sent to the last session's `end_turn`;
//! 2. the time from a `user.tool_confirmation` posted to the worker starting the call it allows
//!    (the worker's own log line, in JSON, to the microsecond; same clock), over 40 calls.
//!
//! Each figure is the median with its spread over the rounds, or over the calls.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use engine::{Engine, EngineConfig};
use serde_json::{Value, json};

mod common;
use common::{Client, KEY, summary};

const SESSIONS: usize = 32;
const CALLS_PER_SESSION: usize = 8;
const ROUNDS: usize = 3;
const CONFIRMATIONS: usize = 40;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(binary) = args.first().map(PathBuf::from).filter(|b| b.exists()) else {
        eprintln!("usage: worker_bench <switchboard-engine binary> (a release build)");
        return std::process::ExitCode::from(2);
    };
    tokio::runtime::Runtime::new().expect("a runtime").block_on(run(&binary));
    std::process::ExitCode::SUCCESS
}

async fn run(binary: &Path) {
    let dir = std::env::temp_dir().join(format!("switchboard-worker-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = EngineConfig::new(dir.join("engine"), KEY.to_owned());
    config.seed_demo = false;
    let engine = Engine::open(config).await.expect("an engine");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = engine.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client =
        Client { url: url.clone(), http: engine::http_client::builder().pool_max_idle_per_host(256).build().unwrap() };
    println!(
        "Switchboard workers benchmark ({} cores; release build; engine in-process, workers as processes)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let environment =
        client.post("/v1/environments", json!({ "name": "bench", "config": { "type": "self_hosted" } })).await;
    let env_id = environment["id"].as_str().unwrap().to_owned();
    let key = engine.issue_environment_key(&env_id).await.expect("a key");
    let fleet = Fleet { binary: binary.to_owned(), url, env_id, key, dir: dir.clone() };
    throughput(&client, &fleet).await;
    confirmation_latency(&client, &fleet).await;
    let _ = std::fs::remove_dir_all(&dir);
}

struct Fleet {
    binary: PathBuf,
    url: String,
    env_id: String,
    key: String,
    dir: PathBuf,
}

impl Fleet {
    fn start(&self, name: &str, concurrency: usize) -> Child {
        let log = std::fs::File::create(self.dir.join(format!("{name}.log"))).unwrap();
        Command::new(&self.binary)
            .args(["worker", "--environment", &self.env_id, "--base-url", &self.url, "--max-idle", "1"])
            .args(["--concurrency", &concurrency.to_string(), "--worker-id", name])
            .arg("--workdir")
            .arg(self.dir.join(name))
            .env("ANTHROPIC_ENVIRONMENT_KEY", &self.key)
            .env("SWITCHBOARD_LOG_FORMAT", "json")
            .env("RUST_LOG", "warn,engine=info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("a worker")
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default()
    }
}

fn stop(mut workers: Vec<Child>) {
    for worker in &workers {
        // SAFETY: kill(2) on a child of ours that has not been reaped.
        unsafe { libc::kill(worker.id() as i32, libc::SIGTERM) };
    }
    for worker in &mut workers {
        let _ = worker.wait();
    }
}

/// A turn of `calls` `bash` calls of `true`, one after another (a text between them, so that each
/// is a model request of its own).
fn calls_one_by_one(calls: usize) -> Vec<Value> {
    (0..calls)
        .flat_map(|_| [json!({ "tool": "bash", "input": { "command": "true" } }), json!({ "text": "next" })])
        .collect()
}

async fn agent(client: &Client, turn: Vec<Value>, policy: &str) -> String {
    let system = json!({ "turns": [turn] }).to_string();
    let tools =
        json!([{ "type": "agent_toolset_20260401", "default_config": { "permission_policy": { "type": policy } } }]);
    let agent = client
        .post("/v1/agents", json!({ "name": "bench", "model": "scripted", "system": system, "tools": tools }))
        .await;
    agent["id"].as_str().unwrap().to_owned()
}

async fn session(client: &Client, agent: &str, env_id: &str) -> String {
    let session = client.post("/v1/sessions", json!({ "agent": agent, "environment_id": env_id })).await;
    session["id"].as_str().unwrap().to_owned()
}

async fn message(client: &Client, session: &str) {
    let body = json!({ "events": [{ "type": "user.message", "content": [{ "type": "text", "text": "go" }] }] });
    client.post(&format!("/v1/sessions/{session}/events"), body).await;
}

async fn events(client: &Client, session: &str) -> Vec<Value> {
    let page = client.get(&format!("/v1/sessions/{session}/events?limit=1000")).await;
    page["data"].as_array().cloned().unwrap_or_default()
}

async fn ended(client: &Client, session: &str) -> bool {
    events(client, session)
        .await
        .iter()
        .any(|e| e["type"] == "session.status_idle" && e["stop_reason"]["type"] == "end_turn")
}

/// Tool calls per second through 1, 2 and 4 workers, each round a fresh set of sessions.
async fn throughput(client: &Client, fleet: &Fleet) {
    let agent = agent(client, calls_one_by_one(CALLS_PER_SESSION), "always_allow").await;
    for workers in [1usize, 2, 4] {
        let mut rates = Vec::new();
        for round in 0..ROUNDS {
            let names: Vec<String> = (0..workers).map(|i| format!("w{workers}-{round}-{i}")).collect();
            let mut sessions = Vec::new();
            for _ in 0..SESSIONS {
                sessions.push(session(client, &agent, &fleet.env_id).await);
            }
            let started = Instant::now();
            let children: Vec<Child> = names.iter().map(|name| fleet.start(name, 8)).collect();
            for session in &sessions {
                message(client, session).await;
            }
            for session in &sessions {
                while !ended(client, session).await {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            let took = started.elapsed();
            stop(children);
            rates.push((SESSIONS * CALLS_PER_SESSION) as f64 / took.as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "tool calls per second through {workers} worker(s), 8 sessions each   median {:>7.1}   min {:>7.1}   max {:>7.1}   ({} calls a round, {ROUNDS} rounds)",
            rates[rates.len() / 2],
            rates[0],
            rates[rates.len() - 1],
            SESSIONS * CALLS_PER_SESSION
        );
    }
}

/// From a confirmation posted to the worker starting the call it allows.
async fn confirmation_latency(client: &Client, fleet: &Fleet) {
    let agent = agent(client, calls_one_by_one(CONFIRMATIONS), "always_ask").await;
    let session = session(client, &agent, &fleet.env_id).await;
    let worker = fleet.start("confirm", 1);
    message(client, &session).await;
    let mut confirmed: Vec<(String, time::OffsetDateTime)> = Vec::new();
    while confirmed.len() < CONFIRMATIONS {
        let all = events(client, &session).await;
        let waiting = all.iter().rev().find(|e| e["type"] == "agent.tool_use").and_then(|e| e["id"].as_str());
        let answered = |id: &str| all.iter().any(|e| e["tool_use_id"] == id);
        match waiting {
            Some(id) if !answered(id) && !confirmed.iter().any(|(c, _)| c == id) => {
                let body =
                    json!({ "events": [{ "type": "user.tool_confirmation", "tool_use_id": id, "result": "allow" }] });
                let at = time::OffsetDateTime::now_utc();
                client.post(&format!("/v1/sessions/{session}/events"), body).await;
                confirmed.push((id.to_owned(), at));
            }
            _ => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    while !ended(client, &session).await {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop(vec![worker]);
    let log = fleet.log("confirm");
    let mut samples = Vec::new();
    for (id, at) in &confirmed {
        let started = log
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|line| line["message"] == "running a tool call" && line["call"] == id.as_str());
        let Some(started) = started else { continue };
        let stamp = started["timestamp"].as_str().unwrap_or_default();
        let Ok(when) = time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339) else {
            continue;
        };
        samples.push(Duration::from_micros(((when - *at).whole_microseconds()).max(0) as u64));
    }
    assert!(!samples.is_empty(), "no call start was found in the worker's log");
    summary("from a tool confirmation to the worker starting the call", samples);
}
