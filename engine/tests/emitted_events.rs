//! The events the engine emits keep their wire shape: a scripted session that plays text,
//! thinking, tools (allowed, refused, asked and denied, custom), errors (retried, exhausted, of a
//! kind the API does not name, terminal), a compaction, threads (a subagent, the advisor, a
//! workflow run), an outcome graded twice, updates and an interrupt, and a real model's turns
//! with a retried failure and updates of its agent and budget, each event reduced to its shape (keys, nulls, the `type`s and other
//! enumerated values; ids, texts and numbers left out), compared with
//! `emitted_events.json`, the shapes the engine emitted when its events were still built as
//! JSON by hand.
//!
//! `SWITCHBOARD_RECORD_SHAPES=1` writes the file anew from this run (then review its diff).

use crate::support;

use std::time::Duration;

use engine::{
    ModelEndpoint,
    model::test_server::{Script, Scripted, TestServer},
};
use serde_json::{Map, Value, json};
use support::{TestEngine, config, spawn_engine, temp_dir};

const SHAPES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/emitted_events.json");

/// Values that name a kind of thing, kept as they are; every other string is only a string.
const ENUMERATED: [&str; 6] = ["type", "evaluated_permission", "result", "reason_code", "speed", "currency"];

/// What an event's JSON looks like, without the values that change from run to run.
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, field)| {
                    let kept = ENUMERATED.contains(&key.as_str()) && field.is_string();
                    (key.clone(), if kept { field.clone() } else { shape(field) })
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => Value::Null,
    }
}

async fn wait_for(engine: &TestEngine, session: &str, kind: &str, count: usize) -> Vec<Value> {
    for _ in 0..1200 {
        let events = engine.events(session).await;
        if events.iter().filter(|e| e["type"] == kind).count() >= count {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let seen: Vec<String> =
        engine.events(session).await.iter().map(|e| format!("{} {}", e["type"], e["stop_reason"]["type"])).collect();
    panic!("session {session} has fewer than {count} {kind}: {seen:#?}");
}

async fn send(engine: &TestEngine, session: &str, events: Value) -> Value {
    engine.post(&format!("/v1/sessions/{session}/events"), json!({ "events": events })).await
}

fn message(text: &str) -> Value {
    json!({ "type": "user.message", "content": [{ "type": "text", "text": text }] })
}

/// The id of the `n`-th event of `kind` in `events`.
fn nth_id(events: &[Value], kind: &str, n: usize) -> String {
    let event = events.iter().filter(|e| e["type"] == kind).nth(n).unwrap_or_else(|| panic!("no {kind} #{n}"));
    event["id"].as_str().unwrap().to_owned()
}

/// The session's events and each of its threads' own, as shapes.
async fn shapes_of(engine: &TestEngine, session: &str) -> Value {
    let mut all = vec![
        json!({ "stream": "session", "events": engine.events(session).await.iter().map(shape).collect::<Vec<_>>() }),
    ];
    let threads = engine.get(&format!("/v1/sessions/{session}/threads?limit=100&order=asc")).await;
    for (i, thread) in threads["data"].as_array().unwrap().iter().enumerate() {
        let id = thread["id"].as_str().unwrap();
        let events = engine.get(&format!("/v1/sessions/{session}/threads/{id}/events?limit=1000")).await;
        let events: Vec<Value> = events["data"].as_array().unwrap().iter().map(shape).collect();
        all.push(json!({ "stream": format!("thread {i}"), "events": events }));
    }
    Value::Array(all)
}

async fn scripted_session(engine: &TestEngine) -> Value {
    let child = json!({ "turns": [[
        { "thinking": "what to do" },
        { "text": "looking" },
        { "tool": "glob", "input": { "pattern": "*" } },
        { "send_message": "half way" },
        { "error": "model_overloaded_error", "retry_status": "retrying" },
        { "text": "found it" },
    ]] });
    let turns = json!([
        [
            { "thinking": "plan" },
            { "text": "Let me look." },
            { "tool": "glob", "input": { "pattern": "*" } },
            { "tool": "write", "input": { "file_path": "a.txt", "content": "x" } },
            { "tool": "edit", "input": { "file_path": "a.txt", "old_string": "x", "new_string": "y" } },
            { "tool": "grep", "input": { "pattern": "x" } },
            { "custom_tool": "lookup", "input": { "word": "x" } },
            { "text": "Done." },
        ],
        [
            { "error": "model_rate_limited_error", "retry_status": "retrying" },
            { "text": "Retried." },
            { "compact": true },
            { "subagent": { "name": "helper", "script": child }, "message": "help me" },
            { "advisor": "what next?", "answer": "stop" },
            { "workflow": { "name": "plan", "phases": [
                { "name": "one", "description": "the first", "subagent": { "name": "worker", "script": { "turns": [[{ "text": "worked" }]] } }, "message": "work" },
                { "name": "two" },
            ] } },
            { "workflow": { "name": "broken", "description": "fails", "phases": [
                { "name": "one", "subagent": "nobody", "message": "work" },
            ] } },
        ],
        [{ "error": "engine_specific_error", "retry_status": "exhausted" }],
        [{ "text": "draft" }],
        [{ "text": "revised" }],
        [{ "sleep_ms": 60_000 }],
        [{ "error": "unknown_error", "retry_status": "terminal" }],
    ]);
    let script = json!({ "turns": turns, "grader": [
        { "result": "needs_revision", "explanation": "not yet" },
        { "result": "satisfied", "explanation": "good" },
    ] });
    let agent = engine
        .post(
            "/v1/agents",
            json!({
                "name": "primary",
                "model": "scripted",
                "system": script.to_string(),
                "tools": [
                    { "type": "agent_toolset_20260401",
                      "default_config": { "enabled": true, "permission_policy": { "type": "always_allow" } },
                      "configs": [
                          { "name": "write", "enabled": false },
                          { "name": "edit", "permission_policy": { "type": "always_ask" } },
                          { "name": "grep", "permission_policy": { "type": "auto" } },
                      ] },
                    { "type": "custom", "name": "lookup", "description": "Looks a word up.",
                      "input_schema": { "type": "object" } },
                ],
                "multiagent": {
                    "type": "multiagent_20261001",
                    "subagents": { "type": "enabled", "inline_agents": { "type": "enabled" } },
                    "workflows": { "type": "enabled", "inline_agents": { "type": "enabled" } },
                    "advisor": { "type": "enabled", "model": "claude-advisor" },
                },
            }),
        )
        .await;
    let environment = engine
        .post(
            "/v1/environments",
            json!({ "name": "shapes", "config": { "type": "cloud", "networking": { "type": "limited" } } }),
        )
        .await;
    let session =
        engine.post("/v1/sessions", json!({ "agent": agent["id"], "environment_id": environment["id"] })).await;
    let session = session["id"].as_str().unwrap().to_owned();

    // Turn 0: the calls that ask wait; one is denied, one allowed, the custom one answered.
    send(engine, &session, json!([message("go")])).await;
    let events = wait_for(engine, &session, "session.status_idle", 1).await;
    let edit = events.iter().find(|e| e["type"] == "agent.tool_use" && e["name"] == "edit").unwrap();
    let grep = events.iter().find(|e| e["type"] == "agent.tool_use" && e["name"] == "grep").unwrap();
    let lookup = nth_id(&events, "agent.custom_tool_use", 0);
    send(
        engine,
        &session,
        json!([{ "type": "user.tool_confirmation", "tool_use_id": edit["id"], "result": "deny", "deny_message": "not now" }]),
    )
    .await;
    wait_for(engine, &session, "session.status_idle", 2).await;
    send(
        engine,
        &session,
        json!([
            { "type": "user.tool_confirmation", "tool_use_id": grep["id"], "result": "allow" },
            { "type": "user.custom_tool_result", "custom_tool_use_id": lookup, "content": [{ "type": "text", "text": "a letter" }] },
        ]),
    )
    .await;
    wait_for(engine, &session, "session.status_idle", 3).await;
    // Turn 1: errors, a compaction and every kind of thread; turn 2: an error the API does not name.
    send(engine, &session, json!([message("threads")])).await;
    wait_for(engine, &session, "session.status_idle", 4).await;
    send(engine, &session, json!([message("fail")])).await;
    wait_for(engine, &session, "session.status_idle", 5).await;
    // Turns 3 and 4: an outcome, revised once, then graded satisfied.
    send(
        engine,
        &session,
        json!([{ "type": "user.define_outcome", "description": "a draft", "rubric": { "type": "text", "content": "is a draft" }, "max_iterations": 3 }]),
    )
    .await;
    wait_for(engine, &session, "span.outcome_evaluation_end", 2).await;
    wait_for(engine, &session, "session.status_idle", 6).await;
    engine.post(&format!("/v1/sessions/{session}"), json!({ "title": "shapes", "metadata": { "k": "v" } })).await;
    engine.post(&format!("/v1/sessions/{session}"), json!({ "title": null, "metadata": { "k": null } })).await;
    // Turn 5 sleeps until interrupted; turn 6 ends the session.
    let running = engine.events(&session).await.iter().filter(|e| e["type"] == "session.status_running").count();
    send(engine, &session, json!([message("wait")])).await;
    wait_for(engine, &session, "session.status_running", running + 1).await;
    send(engine, &session, json!([{ "type": "user.interrupt" }])).await;
    wait_for(engine, &session, "session.status_idle", 7).await;
    send(engine, &session, json!([message("end")])).await;
    wait_for(engine, &session, "session.status_terminated", 1).await;
    shapes_of(engine, &session).await
}

async fn real_model_session() -> Value {
    let server = TestServer::start(Script::default()).await.unwrap();
    server.push([
        Scripted::status(529, None),
        Scripted::reply(
            vec![
                json!({ "type": "thinking", "thinking": "hm", "signature": "sig" }),
                json!({ "type": "text", "text": "Running it." }),
                json!({ "type": "tool_use", "id": "toolu_1", "name": "bash", "input": { "command": "echo hi" } }),
                json!({ "type": "tool_use", "id": "toolu_2", "name": "lookup", "input": { "word": "x" } }),
                json!({ "type": "tool_use", "id": "toolu_3", "name": "teleport", "input": {} }),
            ],
            "tool_use",
        ),
        Scripted::text("It said hi."),
        Scripted::status(400, None),
    ]);
    let mut config = config(temp_dir());
    let mut model = ModelEndpoint::new(&server.url, None);
    model.backoff = Duration::from_millis(10);
    model.max_retries = 2;
    config.model = model;
    let engine = spawn_engine(config).await;
    let budget = |cents: &str| json!({ "type": "limit", "max_list_cost": { "amount": cents, "currency": "USD" } });
    let agent = engine
        .post(
            "/v1/agents",
            json!({ "name": "real", "model": "claude-sonnet-4-6", "system": "Be terse.", "tools": [
                { "type": "agent_toolset_20260401" },
                { "type": "custom", "name": "lookup", "description": "Looks a word up.", "input_schema": { "type": "object" } },
            ] }),
        )
        .await;
    let environment = engine
        .post(
            "/v1/environments",
            json!({ "name": "env", "config": { "type": "cloud", "networking": { "type": "limited" } } }),
        )
        .await;
    let session = engine
        .post(
            "/v1/sessions",
            json!({ "agent": agent["id"], "environment_id": environment["id"], "budget": budget("100000") }),
        )
        .await;
    let session = session["id"].as_str().unwrap().to_owned();
    send(&engine, &session, json!([message("say hi")])).await;
    let events = wait_for(&engine, &session, "session.status_idle", 1).await;
    let lookup = nth_id(&events, "agent.custom_tool_use", 0);
    send(
        &engine,
        &session,
        json!([{ "type": "user.custom_tool_result", "custom_tool_use_id": lookup, "content": [{ "type": "text", "text": "a letter" }], "is_error": false }]),
    )
    .await;
    wait_for(&engine, &session, "session.status_idle", 2).await;
    send(&engine, &session, json!([message("again")])).await;
    wait_for(&engine, &session, "session.status_idle", 3).await;
    // Updates: the agent's tools, the budget raised, then removed.
    let path = format!("/v1/sessions/{session}");
    engine.post(&path, json!({ "agent": { "tools": [{ "type": "agent_toolset_20260401" }] } })).await;
    engine.post(&path, json!({ "budget": budget("200000") })).await;
    engine.post(&path, json!({ "budget": null })).await;
    shapes_of(&engine, &session).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_emitted_event_keeps_its_wire_shape() {
    let engine = spawn_engine(config(temp_dir())).await;
    let shapes = json!({ "scripted": scripted_session(&engine).await, "real_model": real_model_session().await });
    if std::env::var_os("SWITCHBOARD_RECORD_SHAPES").is_some() {
        std::fs::write(SHAPES, serde_json::to_string_pretty(&shapes).unwrap() + "\n").unwrap();
    }
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(SHAPES).unwrap()).unwrap();
    for part in ["scripted", "real_model"] {
        let (got, want) = (shapes[part].as_array().unwrap(), expected[part].as_array().unwrap());
        assert_eq!(got.len(), want.len(), "{part}: the streams differ: {got:#?}");
        for (got, want) in got.iter().zip(want) {
            let stream = &want["stream"];
            let (got, want) = (got["events"].as_array().unwrap(), want["events"].as_array().unwrap());
            for (i, (got, want)) in got.iter().zip(want).enumerate() {
                assert_eq!(got, want, "{part}, stream {stream}, event {i}");
            }
            assert_eq!(got.len(), want.len(), "{part}, stream {stream}: {got:#?}");
        }
    }
}
