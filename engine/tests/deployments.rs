//! The deployment scheduler across restarts: a cron time that passes while the engine is down
//! fires once when it comes back, never twice; a scheduled run's error pauses its deployment.
//!
//! Schedules have minute resolution, so this test waits for a real minute boundary (up to a
//! minute, usually half).

use crate::support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{TestEngine, start, temp_dir};

/// Microseconds since the epoch of an RFC 3339 time the engine wrote.
fn micros(text: &str) -> i64 {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap();
    (at.unix_timestamp_nanos() / 1000) as i64
}

fn now_micros() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
}

async fn runs(engine: &TestEngine, deployment: &str) -> Vec<Value> {
    engine.get(&format!("/v1/deployment_runs?deployment_id={deployment}&limit=100")).await["data"]
        .as_array()
        .unwrap()
        .clone()
}

async fn every_minute(engine: &TestEngine, agent: &str, environment: &str) -> Value {
    engine
        .post(
            "/v1/deployments",
            json!({
                "name": "every minute",
                "agent": agent,
                "environment_id": environment,
                "initial_events": [{ "type": "user.message", "content": [{ "type": "text", "text": "tick" }] }],
                "schedule": { "type": "cron", "expression": "* * * * *", "timezone": "Asia/Kolkata" },
            }),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_missed_while_down_fires_once_after_the_restart_and_a_run_error_pauses() {
    // Leave at least 8 s before the next minute, so the first engine is down before it comes.
    let into_minute = now_micros().rem_euclid(60_000_000);
    if into_minute > 52_000_000 {
        tokio::time::sleep(Duration::from_micros((60_000_000 - into_minute + 500_000) as u64)).await;
    }
    let data = temp_dir();
    let (mut child, engine) = start(&data);
    let agent = engine
        .post(
            "/v1/agents",
            json!({ "name": "ticker", "model": "scripted", "system": "{\"turns\": [[{\"text\": \"tock\"}]]}" }),
        )
        .await;
    let agent = agent["id"].as_str().unwrap();
    let environment = engine
        .post(
            "/v1/environments",
            json!({ "name": "ticks", "config": { "type": "cloud", "networking": { "type": "unrestricted" } } }),
        )
        .await;
    let environment = environment["id"].as_str().unwrap();
    let doomed = engine
        .post(
            "/v1/environments",
            json!({ "name": "doomed", "config": { "type": "cloud", "networking": { "type": "unrestricted" } } }),
        )
        .await;
    let doomed = doomed["id"].as_str().unwrap();

    let ticking = every_minute(&engine, agent, environment).await;
    let failing = every_minute(&engine, agent, doomed).await;
    engine.post(&format!("/v1/environments/{doomed}/archive"), json!({})).await;
    let (ticking, failing) = (ticking["id"].as_str().unwrap(), failing["id"].as_str().unwrap());
    let due = engine.get(&format!("/v1/deployments/{ticking}")).await["schedule"]["upcoming_runs_at"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let due_us = micros(&due);
    assert_eq!(due_us.rem_euclid(60_000_000), 0, "fires fall on whole minutes: {due}");
    child.kill();
    assert!(now_micros() < due_us, "the engine was down before {due}");

    // Down across the minute boundary.
    let wait = due_us - now_micros() + 1_500_000;
    tokio::time::sleep(Duration::from_micros(wait as u64)).await;
    let (mut child, engine) = start(&data);
    let mut found = Vec::new();
    for _ in 0..100 {
        found = runs(&engine, ticking).await;
        if !found.is_empty() && !runs(&engine, failing).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(found.len(), 1, "one run for the missed time: {found:?}");
    let run = &found[0];
    assert_eq!(
        run["trigger_context"],
        json!({ "type": "schedule", "scheduled_at": run["trigger_context"]["scheduled_at"] })
    );
    assert_eq!(micros(run["trigger_context"]["scheduled_at"].as_str().unwrap()), due_us);
    assert!(run["error"].is_null(), "{run}");
    let session = engine.get(&format!("/v1/sessions/{}", run["session_id"].as_str().unwrap())).await;
    assert_eq!(session["deployment_id"], ticking);
    let deployment = engine.get(&format!("/v1/deployments/{ticking}")).await;
    assert_eq!(micros(deployment["schedule"]["last_run_at"].as_str().unwrap()), due_us);
    assert!(micros(deployment["schedule"]["upcoming_runs_at"][0].as_str().unwrap()) > due_us);

    let failed = runs(&engine, failing).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["error"]["type"], "environment_archived_error");
    assert!(failed[0]["session_id"].is_null());
    let paused = engine.get(&format!("/v1/deployments/{failing}")).await;
    assert_eq!(paused["status"], "paused");
    assert_eq!(paused["paused_reason"], json!({ "type": "error", "error": { "type": "environment_archived_error" } }));

    // A second restart does not fire the missed time again (a later minute may fire its own).
    child.kill();
    let (_child, engine) = start(&data);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let for_due = runs(&engine, ticking)
        .await
        .into_iter()
        .filter(|r| micros(r["trigger_context"]["scheduled_at"].as_str().unwrap()) == due_us)
        .count();
    assert_eq!(for_due, 1, "the time fired once, not at each start");
    assert_eq!(runs(&engine, failing).await.len(), 1, "a paused deployment does not fire");
}
