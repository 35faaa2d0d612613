//! Server render times of console pages (not a test): `scripts/bench console`, or
//! `cargo run --release -p server --example render_bench`.
//!
//! Starts Switchboard in this process on the embedded engine, creates 150 sessions and an agent
//! with 5 versions through the console's own server functions, then times full server renders
//! (request sent → last byte of HTML received, over loopback) of:
//! 1. the Sessions list (its first page holds 100 sessions);
//! 2. an Agent detail page (definition, version history);
//! 3. a memory store's page with 10,000 memories: the first level of its tree (100 folders of
//!    100 memories and 10 memories at the top; the page lists the first 100 entries).
//!
//! Each figure is the median over its runs, with min, p99 and max.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
mod common;

const RUNS: usize = 300;
const WARMUP: usize = 20;
const MEMORIES: usize = 10_000;

#[tokio::main]
async fn main() {
    let bench = common::start("render-bench").await;
    let base = bench.base.clone();
    let http =
        engine::http_client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    assert_eq!(bench.sign_in(&http).await.status().as_u16(), 303, "signing in");

    let call = |endpoint: &'static str, form: Vec<(&'static str, String)>| {
        let request = http.post(format!("{base}/api/{endpoint}")).form(&form);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            assert!(status.is_success(), "{endpoint}: {body}");
            body
        }
    };

    let script = json!({ "turns": [[{ "text": "A short answer." }]] }).to_string();
    let definition = |description: &str| {
        json!({
            "name": "Render bench", "model": "scripted", "system": script, "description": description,
            "tools": [
                { "type": "agent_toolset_20260401", "default_config": { "enabled": true, "permission_policy": { "type": "always_ask" } } },
                { "type": "custom", "name": "lookup_order", "description": "Look up an order", "input_schema": { "type": "object", "properties": { "id": { "type": "string" } } } }
            ],
            "metadata": { "team": "bench" }
        })
        .to_string()
    };
    let agent = call("agents/create", vec![("definition", definition("v1"))]).await;
    let agent_id = agent["id"].as_str().unwrap().to_owned();
    for version in 1..5u64 {
        call(
            "agents/update",
            vec![
                ("id", agent_id.clone()),
                ("version", version.to_string()),
                ("definition", definition(&format!("v{}", version + 1))),
            ],
        )
        .await;
    }
    let env = call(
        "environments/save",
        vec![
            ("id", String::new()),
            ("form[name]", "bench".into()),
            ("form[kind]", "cloud".into()),
            ("form[networking]", "unrestricted".into()),
        ],
    )
    .await;
    let env_id = env["row"]["id"].as_str().unwrap().to_owned();
    for i in 0..150 {
        call(
            "sessions/create",
            vec![
                ("form[agent_id]", agent_id.clone()),
                ("form[environment_id]", env_id.clone()),
                ("form[title]", format!("Session {i}")),
            ],
        )
        .await;
    }

    let store = call(
        "memory/save",
        vec![("id", String::new()), ("name", "Bench memories".into()), ("description", String::new())],
    )
    .await;
    let store_id = store["id"].as_str().unwrap().to_owned();
    let paths: Vec<String> = (0..MEMORIES)
        .map(|i| {
            if i < 10 {
                format!("/readme-{i}.md")
            } else {
                format!("/team-{:03}/note-{:03}.md", (i - 10) / 100, (i - 10) % 100)
            }
        })
        .collect();
    for chunk in paths.chunks(16) {
        futures::future::join_all(chunk.iter().map(|path| {
            call(
                "memory/write",
                vec![
                    ("store_id", store_id.clone()),
                    ("id", String::new()),
                    ("path", path.clone()),
                    ("content", format!("What the team decided about {path}.")),
                    ("based_on", String::new()),
                ],
            )
        }))
        .await;
    }

    let sessions = time_page(&http, &format!("{base}/sessions"), "Session 149").await;
    report("render /sessions (first page of 100 sessions)", &sessions);
    let detail = time_page(&http, &format!("{base}/agents/{agent_id}"), "Version 5").await;
    report("render /agents/{id} (5 versions)", &detail);
    let memory = time_page(&http, &format!("{base}/memory/{store_id}"), "team-089/").await;
    report("render /memory/{id} (10,000 memories, first level)", &memory);
    bench.finish();
}

async fn time_page(http: &reqwest::Client, url: &str, must_contain: &str) -> Vec<Duration> {
    let mut times = Vec::with_capacity(RUNS);
    for run in 0..WARMUP + RUNS {
        let started = Instant::now();
        let response = http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let html = response.text().await.unwrap();
        let elapsed = started.elapsed();
        assert!(html.contains(must_contain), "{url} lacks {must_contain:?}");
        if run >= WARMUP {
            times.push(elapsed);
        }
    }
    times
}

fn report(what: &str, times: &[Duration]) {
    let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    println!(
        "{what:<52} median {:>8.2} ms   min {:>7.2}   p99 {:>7.2}   max {:>7.2}   (n={})",
        at(0.5),
        ms[0],
        at(0.99),
        ms[ms.len() - 1],
        ms.len()
    );
}
