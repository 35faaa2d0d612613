//! The repositories bench (not a test): `scripts/bench repositories`, or
//! `cargo run --release -p engine --example repository_bench`.
//!
//! A repository of 2,000 files (16 MB, 43 commits) on the tests' git smart-HTTP server
//! (`engine/tests/support/git_server.rs`: git http-backend behind a token check, on loopback),
//! and three kinds of session, one of each per round so that all see the same machine at the
//! same moment:
//! 1. cold: the engine's cache of the repository removed first, so the checkout clones;
//! 2. cached: the cache as the round before left it, so the checkout asks the host with the
//!    session's token, fetches nothing new and copies the cache;
//! 3. without a repository, for the floor.
//!
//! Each is timed from the session's `user.message` to its first `agent.tool_result`
//! (`processed_at`, to the microsecond): the turn's start, the checkout, the scripted model and a
//! `git log -1` in the sandbox. Each figure is the median with its spread (min, p99, max).

use std::{path::PathBuf, time::Duration};

use serde_json::json;

mod common;
#[path = "../tests/support/git_server.rs"]
mod git_server;

const ROUNDS: usize = 15;
const TOKEN: &str = "repository-bench-token";
const FILES: usize = 2_000;

fn main() {
    tokio::runtime::Runtime::new().expect("a runtime").block_on(run());
}

/// A work tree grown to [`FILES`] files of 8 KB of pseudo-random hexadecimal text (which packs to
/// about half) over 40 commits, pushed to the server.
fn grow(work: &std::path::Path) {
    let per_commit = FILES / 40;
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for c in 0..40 {
        let dir = work.join(format!("src/part{c}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..per_commit {
            let mut text = String::with_capacity(8192);
            while text.len() < 8192 {
                // xorshift64: text no two files share.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(&format!("{state:016x}{}", if text.len() % 64 == 48 { "\n" } else { " " }));
            }
            std::fs::write(dir.join(format!("file{f}.txt")), text).unwrap();
        }
        git_server::run(work, &["add", "."]);
        git_server::run(work, &["commit", "-q", "-m", &format!("part {c}")]);
    }
    git_server::run(work, &["push", "-q", "origin", "HEAD:refs/heads/main"]);
}

async fn run() {
    let base = std::env::temp_dir().join(format!("switchboard-repository-bench-server-{}", std::process::id()));
    let (root, work) = (base.join("server"), base.join("work"));
    std::fs::create_dir_all(&work).unwrap();
    let (server, address, work, _) = git_server::git_server_in(root, work, &[TOKEN]).await;
    grow(&work);
    let hosts = engine::repositories::GitHosts::with_hosts(&[&address]);
    let (client, dir) = common::start_with("repository-bench", |config| config.git_hosts = hosts).await;
    let script = json!({ "turns": [[{ "tool": "bash", "input": { "command": "git -C /workspace/app log -1 --format=%s 2>&1 || true" } }, { "text": "done" }]] });
    let agent = client
        .post(
            "/v1/agents",
            json!({ "name": "bench", "model": "scripted", "system": script.to_string(),
                    "tools": [{ "type": "agent_toolset_20260401", "default_config": { "permission_policy": { "type": "always_allow" } } }] }),
        )
        .await;
    let environment = client
        .post(
            "/v1/environments",
            json!({ "name": "bench", "config": { "type": "cloud", "networking": { "type": "limited" } } }),
        )
        .await;
    let repository = json!([{ "type": "github_repository", "url": format!("http://{address}/team/app.git"), "authorization_token": TOKEN }]);
    let cache: PathBuf = dir.join("git-cache");
    let (mut cold, mut cached, mut bare) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..=ROUNDS {
        for kind in ["cold", "cached", "none"] {
            if kind == "cold" {
                let _ = std::fs::remove_dir_all(&cache);
            }
            let resources = if kind == "none" { json!([]) } else { repository.clone() };
            let session = client
                .post(
                    "/v1/sessions",
                    json!({ "agent": agent["id"], "environment_id": environment["id"], "resources": resources }),
                )
                .await;
            let session = session["id"].as_str().unwrap().to_owned();
            common::say_and_wait(&client, &session, "go", &mut String::new()).await;
            let events = client.get(&format!("/v1/sessions/{session}/events?limit=100")).await;
            let events = events["data"].as_array().cloned().unwrap_or_default();
            let start = events.iter().find(|e| e["type"] == "user.message").map(common::micros).expect("the message");
            let result = events.iter().find(|e| e["type"] == "agent.tool_result").expect("a tool result");
            let text = result["content"][0]["text"].as_str().unwrap_or_default();
            assert!(kind == "none" || text.starts_with("part 39"), "{kind}: {text}");
            let took = Duration::from_micros((common::micros(result) - start) as u64);
            // Round 0 warms the engine and the page cache.
            if round > 0 {
                match kind {
                    "cold" => cold.push(took),
                    "cached" => cached.push(took),
                    _ => bare.push(took),
                }
            }
            client.post(&format!("/v1/sessions/{session}/archive"), json!({})).await;
        }
    }
    let size: u64 = walk_size(&dir.join("git-cache"));
    println!("repository: {FILES} files, 43 commits, its cache {:.1} MB; {ROUNDS} rounds", size as f64 / 1e6);
    common::summary("message to first tool result, repository cold (clone)", cold);
    common::summary("message to first tool result, repository cached (fetch)", cached);
    common::summary("message to first tool result, no repository", bare);
    println!("the server sent {} clones and {} fetches with objects", server.clones(), server.fetches());
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&base);
}

fn walk_size(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => walk_size(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}
