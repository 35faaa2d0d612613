//! The soak (`scripts/bench soak`, or `cargo run --release -p engine --example bench -- soak`):
//! sessions created, run and archived, a few at a time, while the engine's memory, its sessions'
//! mounts and loop devices, its runtimes and hubs, its disk images and its open files are read
//! every 40 sessions. What archiving releases keeps every figure flat; before (issue 62), the
//! engine grew by 17 MB and 56 loop devices per 100 archived sessions. Then 60 sessions are left
//! idle: after the quiet period their disks are unmounted, with their runtimes kept.
//!
//! Needs root (each session's disk is a loop-mounted image) and bubblewrap. A module of
//! `bench.rs` alone (not of `common`, which every engine example compiles).

use std::{path::Path, time::Duration};

use engine::{Engine, EngineConfig};
use serde_json::json;

use crate::common::{Client, KEY, say_and_wait};

/// Sessions run at once.
const AT_ONCE: usize = 8;
/// How often the figures are read, in sessions.
const EVERY: usize = 40;

struct Figures {
    sessions: usize,
    resident_kb: u64,
    held: engine::Held,
    mounts: usize,
    loops: usize,
    images: usize,
    files: usize,
}

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

async fn figures(engine: &Engine, dir: &Path, sessions: usize) -> Figures {
    let data = dir.display().to_string();
    let keeper = engine.disks_keeper().expect("disks are mounted here (root, loop devices)");
    let table = std::fs::read_to_string(format!("/proc/{keeper}/mountinfo")).unwrap_or_default();
    let loops = std::fs::read_dir("/sys/block")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| std::fs::read_to_string(e.path().join("loop/backing_file")).ok())
                .filter(|backing| backing.contains(&data))
                .count()
        })
        .unwrap_or(0);
    Figures {
        sessions,
        resident_kb: status_kb("VmRSS:"),
        held: engine.held().await,
        mounts: table.lines().filter(|line| line.contains(&data)).count(),
        loops,
        images: std::fs::read_dir(dir.join("disks")).map(|d| d.count()).unwrap_or(0),
        files: std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0),
    }
}

fn print(f: &Figures) {
    println!(
        "{:>5} sessions  resident {:>7.1} MB  runtimes {:>3}  hubs {:>3}  disks mounted {:>3}  mounts {:>3}  loop devices {:>3}  images {:>3}  open files {:>4}",
        f.sessions,
        f.resident_kb as f64 / 1024.0,
        f.held.runtimes,
        f.held.hubs,
        f.held.disks_mounted,
        f.mounts,
        f.loops,
        f.images,
        f.files
    );
}

/// Creates a session, plays one turn (a bash call that writes to the workspace and the outputs)
/// and archives it; answers whether its output file was listed.
async fn one(client: &Client, agent: &str, environment: &str) -> bool {
    let session = client.post("/v1/sessions", json!({ "agent": agent, "environment_id": environment })).await;
    let id = session["id"].as_str().unwrap().to_owned();
    let mut last_idle = String::new();
    say_and_wait(client, &id, "go", &mut last_idle).await;
    let files = client.get(&format!("/v1/files?scope_id={id}")).await;
    let listed = files["data"].as_array().is_some_and(|d| d.len() == 1);
    client.post(&format!("/v1/sessions/{id}/archive"), json!({})).await;
    listed
}

pub async fn run(total: usize) {
    let dir = std::env::temp_dir().join(format!("switchboard-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = EngineConfig::new(dir.clone(), KEY.to_owned());
    config.seed_demo = false;
    config.sandbox_limits.disk_bytes = 64 * 1024 * 1024;
    config.sandbox_limits.disk_idle_seconds = 3;
    let engine = Engine::open(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = engine.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = Client { url, http: engine::http_client::builder().pool_max_idle_per_host(64).build().unwrap() };
    println!(
        "Soak: {total} sessions created, run and archived, {AT_ONCE} at a time (release build; engine in-process)"
    );

    let command = "head -c 1M /dev/urandom > data.bin && echo done > /mnt/session/outputs/done.txt && echo ok";
    let system =
        json!({ "turns": [[{ "tool": "bash", "input": { "command": command } }, { "text": "done" }]] }).to_string();
    let agent = client
        .post(
            "/v1/agents",
            json!({ "name": "soak", "model": "scripted", "system": system, "tools": [{ "type": "agent_toolset_20260401" }] }),
        )
        .await;
    let environment = client
        .post(
            "/v1/environments",
            json!({ "name": "soak", "config": { "type": "cloud", "networking": { "type": "limited" } } }),
        )
        .await;
    let (agent, environment) =
        (agent["id"].as_str().unwrap().to_owned(), environment["id"].as_str().unwrap().to_owned());
    print(&figures(&engine, &dir, 0).await);
    let (mut done, mut listed) = (0, 0);
    let mut samples: Vec<Figures> = Vec::new();
    while done < total {
        let wave: Vec<_> = (0..AT_ONCE.min(total - done)).map(|_| one(&client, &agent, &environment)).collect();
        for ok in futures::future::join_all(wave).await {
            listed += usize::from(ok);
            done += 1;
        }
        if done % EVERY == 0 || done == total {
            let f = figures(&engine, &dir, done).await;
            print(&f);
            samples.push(f);
        }
    }
    println!("{listed} of {done} sessions' outputs listed after they were archived");
    if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
        let per_100 = (last.resident_kb as f64 - first.resident_kb as f64)
            / 1024.0
            / (last.sessions - first.sessions).max(1) as f64
            * 100.0;
        println!(
            "resident memory from session {} to {}: {:+.1} MB ({:+.2} MB per 100 sessions)",
            first.sessions,
            last.sessions,
            (last.resident_kb as f64 - first.resident_kb as f64) / 1024.0,
            per_100
        );
    }

    // Idle: 60 sessions run and left as they are; their disks go after the quiet period.
    let mut idle = Vec::new();
    for _ in 0..60 / AT_ONCE + 1 {
        let wave: Vec<_> = (0..AT_ONCE)
            .map(|_| async {
                let session =
                    client.post("/v1/sessions", json!({ "agent": agent, "environment_id": environment })).await;
                let id = session["id"].as_str().unwrap().to_owned();
                say_and_wait(&client, &id, "go", &mut String::new()).await;
                id
            })
            .collect();
        idle.extend(futures::future::join_all(wave).await);
    }
    println!("{} sessions idle, just after their turns:", idle.len());
    print(&figures(&engine, &dir, idle.len()).await);
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!("the same, 5 s later (quiet period 3 s):");
    print(&figures(&engine, &dir, idle.len()).await);
    for id in &idle {
        client.post(&format!("/v1/sessions/{id}/archive"), json!({})).await;
    }
    println!("after archiving them:");
    print(&figures(&engine, &dir, idle.len()).await);
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
}
