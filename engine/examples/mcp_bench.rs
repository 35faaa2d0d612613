//! The MCP bench (not a test): `scripts/bench mcp`, or
//! `cargo run --release -p engine --example mcp_bench -- .venv/bin/python`.
//!
//! The test MCP server of the official Python SDK (`engine/sdk-tests/mcp_test_server.py`, on
//! loopback, demanding a bearer token) is called two ways, one after the other in each round, so
//! both see the same machine at the same moment:
//! 1. directly: `echo` through the engine's MCP client (`engine::mcp::Connection`, the official
//!    Rust SDK) on one open connection, timed around the call;
//! 2. through the engine: a scripted session's turn calls `echo` (`always_allow`, the token from
//!    the session's vault), timed from its `agent.mcp_tool_use` to its `agent.mcp_tool_result`
//!    (`processed_at`, to the microsecond): the permission, the connection looked up, the call,
//!    the result written.
//!
//! The engine's overhead per call is the second less the first, round by round. Each figure is
//! the median with its spread (min, p99, max); the first rounds (the connections opening) are
//! left out.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::json;

mod common;
use common::summary;

const ROUNDS: usize = 300;
const WARM_UP: usize = 10;
const TOKEN: &str = "mcp-bench-token";

fn main() {
    let python = std::env::args().nth(1).unwrap_or_else(|| ".venv/bin/python".to_owned());
    let mut server = Command::new(&python)
        .args(["engine/sdk-tests/mcp_test_server.py", TOKEN])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{python} could not start the test MCP server: {e}"));
    let mut url = String::new();
    BufReader::new(server.stdout.take().expect("its stdout")).read_line(&mut url).expect("its URL");
    let url = url.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "the test MCP server printed {url:?}");
    tokio::runtime::Runtime::new().expect("a runtime").block_on(run(&url));
    drop(server.stdin.take());
    let _ = server.wait();
}

async fn run(url: &str) {
    let reach = engine::mcp::Reach::with_private_hosts(&["127.0.0.1"]);
    let direct = engine::mcp::Connection::open(&reach, "tools", url, Some(TOKEN)).await.expect("connected");
    let (client, dir) = common::start_with("mcp-bench", |config| config.mcp_reach = reach.clone()).await;
    let script = json!({ "turns": [[{ "mcp_tool": "echo", "server": "tools", "input": { "text": "bench" } }]] });
    let agent = client
        .post(
            "/v1/agents",
            json!({ "name": "bench", "model": "scripted", "system": script.to_string(),
                    "mcp_servers": [{ "type": "url", "name": "tools", "url": url }],
                    "tools": [{ "type": "mcp_toolset", "mcp_server_name": "tools",
                                "default_config": { "permission_policy": { "type": "always_allow" } } }] }),
        )
        .await;
    let environment = client
        .post(
            "/v1/environments",
            json!({ "name": "bench", "config": { "type": "cloud", "networking": { "type": "unrestricted" } } }),
        )
        .await;
    let vault = client.post("/v1/vaults", json!({ "display_name": "bench" })).await;
    let vault = vault["id"].as_str().unwrap().to_owned();
    client
        .post(
            &format!("/v1/vaults/{vault}/credentials"),
            json!({ "auth": { "type": "static_bearer", "mcp_server_url": url, "token": TOKEN } }),
        )
        .await;
    let session = client
        .post(
            "/v1/sessions",
            json!({ "agent": agent["id"], "environment_id": environment["id"], "vault_ids": [vault] }),
        )
        .await;
    let session = session["id"].as_str().unwrap().to_owned();

    let (mut straight, mut through, mut overhead) = (Vec::new(), Vec::new(), Vec::new());
    let mut last_idle = String::new();
    for round in 0..ROUNDS {
        let started = Instant::now();
        let answer = direct.call("echo", &json!({ "text": "bench" })).await.expect("a direct call");
        let direct_took = started.elapsed();
        assert_eq!(answer.text, "echo: bench");

        common::say_and_wait(&client, &session, &format!("round {round}"), &mut last_idle).await;
        let page = client.get(&format!("/v1/sessions/{session}/events?limit=10&order=desc")).await;
        let events = page["data"].as_array().cloned().unwrap_or_default();
        let used = events.iter().find(|e| e["type"] == "agent.mcp_tool_use").expect("the call");
        let result = events.iter().find(|e| e["type"] == "agent.mcp_tool_result").expect("its result");
        assert_eq!(result["is_error"], false, "{result}");
        let engine_took = Duration::from_micros((common::micros(result) - common::micros(used)).max(0) as u64);
        if round >= WARM_UP {
            straight.push(direct_took);
            through.push(engine_took);
            overhead.push(engine_took.saturating_sub(direct_took));
        }
    }
    println!(
        "MCP calls of `echo` on the test server (Python SDK, loopback), {} rounds after {WARM_UP}:",
        ROUNDS - WARM_UP
    );
    summary("directly, the engine's MCP client on an open connection", straight);
    summary("through the engine, agent.mcp_tool_use to its result", through);
    summary("the engine's overhead per call (the two, round by round)", overhead);
    direct.close().await;
    let _ = std::fs::remove_dir_all(dir);
}
