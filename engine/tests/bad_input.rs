//! Bad input gets a 4xx with the API's error shape: never a 5xx, never a half-written record.

use crate::support;

use rand::{Rng, SeedableRng, rngs::StdRng};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use support::{KEY, config, spawn_engine, temp_dir};

/// A random JSON value: deep enough to reach nested fields, with the API's own words mixed in so
/// that some bodies get past the first checks.
fn random_json(rng: &mut StdRng, depth: u32) -> Value {
    const WORDS: &[&str] = &[
        "type",
        "name",
        "model",
        "scripted",
        "agent",
        "events",
        "user.message",
        "user.tool_confirmation",
        "content",
        "text",
        "tools",
        "agent_toolset_20260401",
        "custom",
        "config",
        "cloud",
        "limited",
        "networking",
        "version",
        "metadata",
        "environment_id",
        "resources",
        "file",
        "file_id",
        "mount_path",
        "allow",
        "deny",
        "tool_use_id",
        "system",
        "title",
        "multiagent",
        "multiagent_20261001",
        "coordinator",
        "subagents",
        "predefined_agents",
        "self",
        "user.define_outcome",
        "user.interrupt",
        "rubric",
        "max_iterations",
        "session_thread_id",
        "../../etc/passwd",
        "",
        "🙂",
        "null",
    ];
    let word = |rng: &mut StdRng| WORDS[rng.random_range(0..WORDS.len())].to_owned();
    match if depth == 0 { rng.random_range(0..5) } else { rng.random_range(0..7) } {
        0 => Value::Null,
        1 => json!(rng.random_bool(0.5)),
        2 => json!([i64::MIN, -1, 0, 1, 3, i64::MAX][rng.random_range(0..6)]),
        3 => json!(rng.random::<f64>() * 1e12),
        4 => json!(word(rng)),
        5 => Value::Array((0..rng.random_range(0..4)).map(|_| random_json(rng, depth - 1)).collect()),
        _ => Value::Object((0..rng.random_range(0..6)).map(|_| (word(rng), random_json(rng, depth - 1))).collect()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bodies_on_every_endpoint_never_cause_a_server_error() {
    let engine = spawn_engine(config(temp_dir())).await;
    let session = engine.scripted_session(json!([[{ "text": "hi" }]]), "limited").await;
    let agent = engine.get("/v1/agents").await["data"][0]["id"].as_str().unwrap().to_owned();
    let environment = engine.get("/v1/environments").await["data"][0]["id"].as_str().unwrap().to_owned();
    let threads = engine.get(&format!("/v1/sessions/{session}/threads")).await;
    let thread = threads["data"][0]["id"].as_str().unwrap().to_owned();
    // Bad queries: the GET endpoints take no body, so once each is enough.
    let queries = [
        "/v1/sessions?limit=0&order=sideways&statuses[]=x&created_at[gte]=soon".to_owned(),
        format!("/v1/sessions/{session}/events?page=page_zz&types[]=nope"),
        "/v1/agents?limit=1000000&page=x".to_owned(),
        format!("/v1/agents/{agent}?version=-3"),
        format!("/v1/sessions/{session}/events/stream?event_deltas[]=agent.tool_use"),
        format!("/v1/sessions/{session}/threads?statuses[]=asleep&limit=0"),
        format!("/v1/sessions/{session}/threads/{thread}/events?page=page_q1"),
        format!("/v1/sessions/{session}/threads/{thread}/stream?event_deltas[]=session.error"),
        "/v1/models?limit=0".to_owned(),
        "/v1/models?after_id=claude-nowhere".to_owned(),
        "/v1/models?after_id=scripted&before_id=scripted".to_owned(),
    ];
    for path in &queries {
        let response = tokio::time::timeout(Duration::from_secs(10), engine.request(Method::GET, path).send())
            .await
            .expect("a refused query is answered at once, not streamed")
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "GET {path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["type"], "error", "GET {path}: {error}");
    }
    let endpoints = [
        (Method::POST, "/v1/agents".to_owned()),
        (Method::POST, format!("/v1/agents/{agent}")),
        (Method::POST, "/v1/environments".to_owned()),
        (Method::POST, format!("/v1/environments/{environment}")),
        (Method::POST, "/v1/sessions".to_owned()),
        (Method::POST, format!("/v1/sessions/{session}")),
        (Method::POST, format!("/v1/sessions/{session}/events")),
        (Method::POST, format!("/v1/sessions/{session}/resources")),
        (Method::POST, "/v1/sessions/sesn_missing/events".to_owned()),
        (Method::POST, format!("/v1/sessions/{session}/threads/{thread}/archive")),
    ];
    let mut rng = StdRng::seed_from_u64(20261121);
    let mut statuses = std::collections::BTreeMap::new();
    for round in 0..40 {
        for (method, path) in &endpoints {
            let body = if round % 10 == 0 { json!("not an object") } else { random_json(&mut rng, 4) };
            let text = if round % 13 == 0 { "{\"unterminated\": ".to_owned() } else { body.to_string() };
            let request = engine.request(method.clone(), path).header("content-type", "application/json").body(text);
            let response = request.send().await.expect("the engine answers");
            let status = response.status().as_u16();
            *statuses.entry(status).or_insert(0) += 1;
            let text = response.text().await.unwrap();
            assert!(status < 500, "{method} {path} with {body} → {status}: {text}");
            if status >= 400 {
                let error: Value =
                    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}"));
                assert_eq!(error["type"], "error", "{text}");
                assert!(error["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{text}");
            }
        }
    }
    assert!(statuses.keys().any(|s| *s >= 400), "{statuses:?}");
    assert!(statuses.contains_key(&200), "some random bodies get past validation: {statuses:?}");
    // The engine is still whole: the session still plays its turn.
    engine.say(&session, "still there?").await;
    engine.wait_idle(&session, 1).await;
}

#[tokio::test]
async fn an_oversize_upload_is_refused_with_413_and_leaves_nothing_behind() {
    let mut config = config(temp_dir());
    config.max_upload_bytes = 4096;
    let engine = spawn_engine(config).await;
    let files_before = std::fs::read_dir(engine.data_dir.join("files")).unwrap().count();
    let upload = |size: usize| {
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(vec![b'x'; size]).file_name("big.bin"));
        engine.request(Method::POST, "/v1/files").multipart(form).send()
    };
    // Just over the limit: the engine reads the whole body and answers 413.
    let response = upload(5000).await.expect("the engine answers");
    assert_eq!(response.status().as_u16(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "request_too_large");
    // Far over it, the engine may close the connection before reading all; if it answers, it is 413.
    if let Ok(response) = upload(200_000).await {
        assert_eq!(response.status().as_u16(), 413, "200 kB");
    }
    assert_eq!(std::fs::read_dir(engine.data_dir.join("files")).unwrap().count(), files_before, "no blob was written");
    assert_eq!(engine.get("/v1/files").await["data"].as_array().unwrap().len(), 0, "no file was recorded");
    // Within the limit the same upload works.
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(vec![b'x'; 4000]).file_name("ok.bin"));
    let response = engine.request(Method::POST, "/v1/files").multipart(form).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn wrong_keys_and_missing_betas_are_refused_in_the_api_error_shape() {
    let engine = spawn_engine(config(temp_dir())).await;
    for (header, value, status) in
        [("x-api-key", "wrong", 401), ("authorization", "Bearer wrong", 401), ("x-other", "x", 401)]
    {
        let response =
            engine.client.get(format!("{}/v1/agents", engine.url)).header(header, value).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (body["type"].as_str(), body["error"]["type"].as_str()),
            (Some("error"), Some("authentication_error"))
        );
        assert!(body["request_id"].as_str().unwrap().starts_with("req_"));
    }
    let response = engine
        .client
        .get(format!("{}/v1/agents", engine.url))
        .header("authorization", format!("Bearer {KEY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400, "the beta header is required");
    let response = engine.client.get(format!("{}/v1/files", engine.url)).header("x-api-key", KEY).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200, "files need no beta header");
    // Memory stores take their own beta (the SDK sends it) and, as the SDK documents, the Managed
    // Agents one; without either they say which to send.
    let memory_stores = |beta: Option<&'static str>| {
        let mut request = engine.client.get(format!("{}/v1/memory_stores", engine.url)).header("x-api-key", KEY);
        if let Some(beta) = beta {
            request = request.header("anthropic-beta", beta);
        }
        request.send()
    };
    for beta in [protocol::AGENT_MEMORY_BETA, protocol::MANAGED_AGENTS_BETA] {
        assert_eq!(memory_stores(Some(beta)).await.unwrap().status().as_u16(), 200, "{beta}");
    }
    let response = memory_stores(Some("files-api-2025-04-14")).await.unwrap();
    assert_eq!(response.status().as_u16(), 400, "memory stores need a beta they accept");
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains(protocol::AGENT_MEMORY_BETA), "{body}");
}
