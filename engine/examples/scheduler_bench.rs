//! The deployment scheduler's benchmark (not a test): `scripts/bench scheduler`, or
//! `cargo run --release -p engine --example scheduler_bench`.
//!
//! 1,000 active deployments on `* * * * *` are all due at each minute. For each of three minutes
//! it prints how late each fire's run record was written after its cron time (`created_at` −
//! `scheduled_at`, the run being written in the same transaction as the session it created):
//! median, p99 and max, and how many were later than 1 s. Takes about three to four minutes,
//! mostly waiting for the minutes to come.

use std::time::Duration;

use serde_json::{Value, json};

mod common;

const DEPLOYMENTS: usize = 1000;
const MINUTES: usize = 3;

fn micros(text: &str) -> i64 {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap();
    (at.unix_timestamp_nanos() / 1000) as i64
}

#[tokio::main]
async fn main() {
    let (client, dir) = common::start("scheduler-bench").await;
    println!(
        "Switchboard scheduler benchmark ({} cores; release build; engine in-process)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let system = json!({ "turns": [[{ "text": "on it" }]] }).to_string();
    let agent = client.post("/v1/agents", json!({ "name": "bench", "model": "scripted", "system": system })).await;
    let environment = client.post("/v1/environments", json!({ "name": "bench" })).await;
    for i in 0..DEPLOYMENTS {
        client
            .post(
                "/v1/deployments",
                json!({
                    "name": format!("bench {i}"),
                    "agent": agent["id"],
                    "environment_id": environment["id"],
                    "initial_events": [{ "type": "user.message", "content": [{ "type": "text", "text": "go" }] }],
                    "schedule": { "type": "cron", "expression": "* * * * *", "timezone": "UTC" },
                }),
            )
            .await;
    }
    println!("{DEPLOYMENTS} deployments on \"* * * * *\"; waiting for the next minutes");
    let mut seen = std::collections::HashSet::new();
    for _ in 0..MINUTES {
        // Collect the runs of the next cron time, when all are written.
        let mut lags: Vec<i64>;
        let scheduled: String;
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let mut runs = Vec::new();
            let mut page: Option<String> = None;
            loop {
                let path = match &page {
                    Some(page) => format!("/v1/deployment_runs?limit=1000&page={page}"),
                    None => "/v1/deployment_runs?limit=1000".to_owned(),
                };
                let answer = client.get(&path).await;
                runs.extend(answer["data"].as_array().unwrap().iter().cloned());
                match answer["next_page"].as_str() {
                    Some(next) => page = Some(next.to_owned()),
                    None => break,
                }
            }
            let runs: Vec<&Value> = runs.iter().filter(|r| !seen.contains(r["id"].as_str().unwrap())).collect();
            let Some(first) = runs.first() else { continue };
            let time = first["trigger_context"]["scheduled_at"].as_str().unwrap().to_owned();
            let of_time: Vec<&&Value> =
                runs.iter().filter(|r| r["trigger_context"]["scheduled_at"] == time.as_str()).collect();
            if of_time.len() < DEPLOYMENTS {
                continue;
            }
            assert!(of_time.iter().all(|r| r["session_id"].is_string()), "every fire created a session");
            lags = of_time.iter().map(|r| micros(r["created_at"].as_str().unwrap()) - micros(&time)).collect();
            for run in &of_time {
                seen.insert(run["id"].as_str().unwrap().to_owned());
            }
            scheduled = time;
            break;
        }
        lags.sort_unstable();
        let ms = |us: i64| us as f64 / 1000.0;
        let late = lags.iter().filter(|l| **l > 1_000_000).count();
        println!(
            "fires at {}: {} runs written; lag after the cron time median {:.0} ms, p99 {:.0} ms, max {:.0} ms (min {:.0} ms); later than 1 s: {late}",
            scheduled,
            lags.len(),
            ms(lags[lags.len() / 2]),
            ms(lags[lags.len() * 99 / 100]),
            ms(*lags.last().unwrap()),
            ms(lags[0]),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
