//! The store keeps everything across restarts, a killed turn comes back as an explained idle
//! session, and concurrent writers lose nothing.

use crate::support;

use std::collections::HashSet;

use serde_json::{Value, json};
use support::{config, spawn_engine, start, temp_dir};

fn ids(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_engine_comes_back_with_history_intact_and_the_session_recoverable() {
    let data = temp_dir();
    let (mut child, engine) = start(&data);
    let turns =
        json!([[{ "text": "working" }, { "sleep_ms": 60000 }, { "text": "never said" }], [{ "text": "back again" }]]);
    let session = engine.scripted_session(turns, "limited").await;
    engine.say(&session, "start a long turn").await;
    // Wait until the turn is inside its sleep: the request's usage is the last event before it.
    for _ in 0..200 {
        if engine.events(&session).await.iter().any(|e| e["type"] == "session.usage") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let before = engine.events(&session).await;
    assert_eq!(engine.get(&format!("/v1/sessions/{session}")).await["status"], "running");
    child.kill();

    let (_child, engine) = start(&data);
    let after = engine.events(&session).await;
    assert_eq!(ids(&after[..before.len()]), ids(&before), "the history before the kill is unchanged");
    let added: Vec<&str> = after[before.len()..].iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(added, ["session.error", "session.status_idle"], "{after:#?}");
    assert!(after[before.len()]["error"]["message"].as_str().unwrap().contains("engine stopped"));
    assert_eq!(after.last().unwrap()["stop_reason"]["type"], "retries_exhausted");
    assert_eq!(engine.get(&format!("/v1/sessions/{session}")).await["status"], "idle");
    let unique: HashSet<String> = ids(&after).into_iter().collect();
    assert_eq!(unique.len(), after.len(), "no event is duplicated");

    // The session goes on with its next turn.
    engine.say(&session, "again").await;
    let events = engine.wait_idle(&session, 2).await;
    assert!(events.iter().any(|e| e["type"] == "agent.message" && e["content"][0]["text"] == "back again"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_approval_survives_a_restart_and_the_turn_resumes() {
    let data = temp_dir();
    let (mut child, engine) = start(&data);
    let agent = engine
        .post("/v1/agents", json!({ "name": "asks", "model": "scripted",
            "system": json!({ "turns": [[{ "tool": "bash", "input": { "command": "echo approved" } }, { "text": "done" }]] }).to_string(),
            "tools": [{ "type": "agent_toolset_20260401", "default_config": { "permission_policy": { "type": "always_ask" } } }] }))
        .await;
    let environment = engine.post("/v1/environments", json!({ "name": "e" })).await;
    let session =
        engine.post("/v1/sessions", json!({ "agent": agent["id"], "environment_id": environment["id"] })).await;
    let session = session["id"].as_str().unwrap().to_owned();
    engine.say(&session, "run it").await;
    let events = engine.wait_idle(&session, 1).await;
    let tool_use = events.iter().find(|e| e["type"] == "agent.tool_use").unwrap()["id"].clone();
    // A graceful stop while the session waits for its approval.
    child.interrupt();

    let (_child, engine) = start(&data);
    engine
        .post(
            &format!("/v1/sessions/{session}/events"),
            json!({ "events": [{ "type": "user.tool_confirmation", "tool_use_id": tool_use, "result": "allow" }] }),
        )
        .await;
    let events = engine.wait_idle(&session, 2).await;
    let result = events.iter().find(|e| e["type"] == "agent.tool_result").expect("the approved call ran");
    assert_eq!(result["content"][0]["text"], "approved\n");
    assert_eq!(events.last().unwrap()["stop_reason"]["type"], "end_turn");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_senders_lose_no_event_and_the_log_keeps_one_order() {
    let engine = std::sync::Arc::new(spawn_engine(config(temp_dir())).await);
    let session = engine.scripted_session(json!([[{ "text": "ok" }]]), "limited").await;
    let mut tasks = Vec::new();
    for writer in 0..8 {
        let engine = engine.clone();
        let session = session.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..15 {
                engine.say(&session, &format!("writer {writer} message {n}")).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let events = engine.wait_idle(&session, 120).await;
    let messages: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "user.message")
        .map(|e| e["content"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 120);
    for writer in 0..8 {
        let own: Vec<&&str> = messages.iter().filter(|m| m.starts_with(&format!("writer {writer} "))).collect();
        let expected: Vec<String> = (0..15).map(|n| format!("writer {writer} message {n}")).collect();
        assert_eq!(
            own.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
            expected,
            "each writer's messages keep their order"
        );
    }
    let unique: HashSet<String> = ids(&events).into_iter().collect();
    assert_eq!(unique.len(), events.len());
    // Every message got its own turn, one after another.
    assert_eq!(events.iter().filter(|e| e["type"] == "agent.message").count(), 120);
}
