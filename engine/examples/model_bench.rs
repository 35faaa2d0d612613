//! The real-model bench (not a test): `scripts/bench model`, or
//! `cargo run --release -p engine --example model_bench`.
//!
//! An engine in this process runs turns of a real model against the project's Messages test
//! server on loopback. Each turn is two model requests (a `bash` call of `true`, then a text
//! reply) and one sandboxed `bash` call. Prints:
//! 1. the engine's overhead per model request: from its `span.model_request_start` to its
//!    `span.model_request_end` (building the request from the thread's events, streaming and
//!    parsing the reply, writing its events and usage), minus the test server's own time for the
//!    request (arrival to last frame written);
//! 2. a sandboxed `bash` call with the default limits, from its `agent.tool_use` to its
//!    `agent.tool_result` (the call's permission, a fresh bubblewrap sandbox, the shell, the
//!    result written);
//! 3. a whole turn, from the first span's start to the last span's end.
//!
//! Each figure is the median with its spread (min, p99, max); timestamps are the events'
//! `processed_at`, to the microsecond.

use std::time::Duration;

use engine::{
    ModelEndpoint,
    model::test_server::{Script, Scripted, TestServer},
};
use serde_json::{Value, json};

mod common;
use common::summary;

/// Turns to play (each: two model requests and one bash call).
const TURNS: usize = 100;

fn between(from: &Value, to: &Value) -> Duration {
    Duration::from_micros((common::micros(to) - common::micros(from)).max(0) as u64)
}

fn main() -> std::process::ExitCode {
    // This bench is its engine's tool runner too (`sandbox-tool net` runs each networked call),
    // as the engine's own binary is.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("sandbox-tool") {
        return engine::cli::sandbox_tool(&args[1..]);
    }
    tokio::runtime::Runtime::new().expect("a runtime").block_on(run());
    std::process::ExitCode::SUCCESS
}

async fn run() {
    // Side by side in one run: each tool call in a control group of its own (the default), with
    // and without a network (`unrestricted` runs each call with the egress proxy, the relay and the tunnel
    // inside the sandbox; `limited` without hosts has no network at all), and with the rlimits
    // alone.
    // The last: the host's checks of paths the sandbox writes (engine/src/sandbox/beneath.rs) on
    // every call, with a skill and a file mounted under /workspace and the packages record read.
    for (cgroups, networking, mounts, label) in [
        (
            true,
            "unrestricted",
            false,
            "each call in a control group, networking unrestricted (egress proxy and tunnel)",
        ),
        (true, "limited", false, "each call in a control group, no network"),
        (false, "limited", false, "rlimits only, no control group, no network"),
        (
            true,
            "limited",
            true,
            "each call in a control group, no network, a skill and a file mounted under /workspace, packages recorded",
        ),
    ] {
        println!("Real models against the Messages test server on loopback ({TURNS} turns), {label}:");
        bench(cgroups, networking, mounts).await;
    }
    path_checks();
}

/// The host's path checks of one call of the last run alone, as `Sandbox::run` makes them
/// (engine/src/sandbox/beneath.rs): the mount points of a skill and of a file under /workspace
/// made (or found) without following links, and the packages record read beneath its folder.
/// Too small to see in a bash call's spread, so timed apart, 2,000 times.
fn path_checks() {
    use engine::sandbox::beneath::Beneath;
    let dir = std::env::temp_dir().join(format!("model-bench-paths-{}", std::process::id()));
    let (workspace, packages) = (dir.join("workspace"), dir.join("packages"));
    std::fs::create_dir_all(&workspace).expect("a folder");
    std::fs::create_dir_all(&packages).expect("a folder");
    std::fs::write(packages.join(".installed.json"), r#"{"apt":["cowsay"],"type":"packages"}"#).expect("a record");
    let mut samples = Vec::with_capacity(2_000);
    for _ in 0..2_000 {
        let started = std::time::Instant::now();
        let folder = Beneath::open(&workspace).expect("the workspace");
        folder.make_folders(std::path::Path::new("skills/bench")).expect("a mount point");
        folder.make_file(std::path::Path::new("data/data.txt")).expect("a mount point");
        let record = Beneath::open(&packages).expect("the packages");
        record.read(std::path::Path::new(".installed.json"), 4096).expect("the record");
        samples.push(started.elapsed());
    }
    println!("The host's path checks of one call alone (two mount points and the packages record, 2,000 times):");
    summary("openat2 beneath the session's folders, no link followed", samples);
    let _ = std::fs::remove_dir_all(dir);
}

/// A multipart upload (a file, or a skill's one file) through the engine's API.
async fn upload(client: &common::Client, path: &str, field: &str, name: &str, content: &str) -> Value {
    let part = reqwest::multipart::Part::text(content.to_owned()).file_name(name.to_owned());
    let form = reqwest::multipart::Form::new().part(field.to_owned(), part);
    let response = client.request(reqwest::Method::POST, path).multipart(form).send().await.expect("uploaded");
    assert!(response.status().is_success(), "POST {path}: {}", response.status());
    response.json().await.expect("JSON")
}

async fn bench(cgroups: bool, networking: &str, mounts: bool) {
    let server = TestServer::start(Script::default()).await.expect("the test server starts");
    let url = server.url.clone();
    let name = format!(
        "model-bench-{networking}{}{}",
        if cgroups { "" } else { "-no-cgroups" },
        if mounts { "-mounts" } else { "" }
    );
    let (client, dir) = common::start_with(&name, |config| {
        config.model = ModelEndpoint::new(&url, None);
        config.sandbox_cgroups = cgroups;
    })
    .await;
    let (mut agent, mut environment, mut session) = (
        json!({ "name": "bench", "model": "claude-bench", "system": "You are a bench.",
                "tools": [{ "type": "agent_toolset_20260401" }] }),
        json!({ "name": "bench", "config": { "type": "cloud", "networking": { "type": networking } } }),
        json!({}),
    );
    if mounts {
        let skill = upload(
            &client,
            "/v1/skills",
            "files[]",
            "bench/SKILL.md",
            "---\nname: bench\ndescription: A bench.\n---\n",
        )
        .await;
        let file = upload(&client, "/v1/files", "file", "data.txt", "data").await;
        agent["skills"] = json!([{ "type": "custom", "skill_id": skill["id"], "version": "latest" }]);
        environment["config"]["networking"]["allow_package_managers"] = json!(true);
        environment["config"]["packages"] = json!({ "apt": ["cowsay"] });
        session["resources"] =
            json!([{ "type": "file", "file_id": file["id"], "mount_path": "/workspace/data/data.txt" }]);
    }
    let agent = client.post("/v1/agents", agent).await;
    let environment = client.post("/v1/environments", environment).await;
    session["agent"] = agent["id"].clone();
    session["environment_id"] = environment["id"].clone();
    let session = client.post("/v1/sessions", session).await;
    let session = session["id"].as_str().unwrap().to_owned();

    let call = json!({ "type": "tool_use", "id": "toolu_bench", "name": "bash", "input": { "command": "true" } });
    let (mut overhead, mut bash, mut turns) = (Vec::new(), Vec::new(), Vec::new());
    let mut after_reply = Vec::new();
    let mut seen = 0usize;
    let mut last_idle = String::new();
    for turn in 0..TURNS {
        server.push([
            Scripted::reply(vec![call.clone()], "tool_use"),
            Scripted::text("The command ran; nothing to say."),
        ]);
        // Then the turn's events, read once.
        common::say_and_wait(&client, &session, &format!("turn {turn}"), &mut last_idle).await;
        let page = client.get(&format!("/v1/sessions/{session}/events?limit=50&order=desc")).await;
        let mut events: Vec<Value> = page["data"].as_array().cloned().unwrap_or_default();
        events.reverse();
        let start = events.iter().rposition(|e| e["type"] == "user.message").unwrap();
        let events = events[start..].to_vec();
        let served = server.received();
        let starts: Vec<&Value> = events.iter().filter(|e| e["type"] == "span.model_request_start").collect();
        let ends: Vec<&Value> = events.iter().filter(|e| e["type"] == "span.model_request_end").collect();
        assert_eq!((starts.len(), ends.len()), (2, 2), "two model requests a turn: {events:#?}");
        assert!(ends.iter().all(|e| e["is_error"] == false));
        for (i, (start, end)) in starts.iter().zip(&ends).enumerate() {
            overhead.push(between(start, end).saturating_sub(served[seen + i].served_in));
        }
        seen += 2;
        let tool_use = events.iter().find(|e| e["type"] == "agent.tool_use").unwrap();
        let result = events.iter().find(|e| e["type"] == "agent.tool_result").unwrap();
        assert_eq!(result["is_error"], false, "bash `true` succeeds: {result}");
        bash.push(between(tool_use, result));
        after_reply.push(between(ends[0], result));
        turns.push(between(starts[0], ends[1]));
    }
    summary("engine overhead per model request (its time - server's)", overhead);
    // The session's first call also makes and mounts its disk (once per session and engine
    // start); it is shown apart and left out of the figures below.
    println!("{:<58} {:>8.2} ms", "the session's first bash call (makes its disk)", bash[0].as_secs_f64() * 1000.0);
    let bash = bash[1..].to_vec();
    let after_reply = after_reply[1..].to_vec();
    summary("sandboxed bash call, tool_use to tool_result", bash);
    summary("  of which: the reply's span end to tool_result", after_reply);
    summary("whole turn (2 model requests + 1 bash call)", turns);
    let _ = std::fs::remove_dir_all(dir);
}
