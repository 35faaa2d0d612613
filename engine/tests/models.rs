//! Real models: the engine's turns against the project's Messages-compatible test server, which
//! streams as Anthropic's API does (its stream is checked against the official SDK's parser in
//! `engine/sdk-tests`).

use crate::support;

use std::time::Duration;

use engine::{
    ModelEndpoint,
    model::test_server::{Script, Scripted, TestServer},
};
use serde_json::{Value, json};
use support::{TestEngine, config, spawn_engine, temp_dir};

/// An engine whose Messages endpoint is `server`, trying again after 10 ms.
async fn engine_with(server: &TestServer, max_retries: u32) -> TestEngine {
    let mut config = config(temp_dir());
    let mut model = ModelEndpoint::new(&server.url, None);
    model.backoff = Duration::from_millis(10);
    model.max_retries = max_retries;
    config.model = model;
    spawn_engine(config).await
}

async fn server(models: Option<Vec<Value>>) -> TestServer {
    TestServer::start(Script { models, ..Script::default() }).await.unwrap()
}

/// A session of an agent on `model` with the built-in toolset (`tools` added to it).
async fn session_on(engine: &TestEngine, model: &str, tools: Value, budget: Option<&str>) -> String {
    let mut all = vec![json!({ "type": "agent_toolset_20260401" })];
    all.extend(tools.as_array().cloned().unwrap_or_default());
    let agent = engine
        .post("/v1/agents", json!({ "name": "real", "model": model, "system": "You are terse.", "tools": all }))
        .await;
    let environment = engine
        .post(
            "/v1/environments",
            json!({ "name": "env", "config": { "type": "cloud", "networking": { "type": "limited" } } }),
        )
        .await;
    let mut body = json!({ "agent": agent["id"], "environment_id": environment["id"] });
    if let Some(cents) = budget {
        body["budget"] = json!({ "type": "limit", "max_list_cost": { "amount": cents, "currency": "USD" } });
    }
    engine.post("/v1/sessions", body).await["id"].as_str().unwrap().to_owned()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["type"].as_str()).filter(|t| !t.starts_with("session.status")).collect()
}

fn text(t: &str) -> Value {
    json!({ "type": "text", "text": t })
}

fn tool_use(id: &str, name: &str, input: Value) -> Value {
    json!({ "type": "tool_use", "id": id, "name": name, "input": input })
}

fn idle_reasons(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["type"] == "session.status_idle")
        .map(|e| e["stop_reason"]["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_turn_streams_thinking_text_and_tool_calls_and_sends_them_back() {
    let server = server(None).await;
    server.push([
        Scripted::reply(
            vec![
                json!({ "type": "thinking", "thinking": "The user wants a greeting from bash.", "signature": "sig-abc" }),
                text("Let me run that."),
                tool_use("toolu_01", "bash", json!({ "command": "echo hello from the sandbox" })),
            ],
            "tool_use",
        ),
        Scripted::text("It printed: hello from the sandbox"),
    ]);
    let engine = engine_with(&server, 2).await;
    let session = session_on(&engine, "claude-test-1", json!([]), None).await;
    engine.say(&session, "Say hello with bash").await;
    let events = engine.wait_idle(&session, 1).await;

    assert_eq!(
        kinds(&events),
        [
            "user.message",
            "span.model_request_start",
            "agent.thinking",
            "agent.message",
            "agent.tool_use",
            "span.model_request_end",
            "session.usage",
            "agent.tool_result",
            "span.model_request_start",
            "agent.message",
            "span.model_request_end",
            "session.usage",
        ]
    );
    assert_eq!(idle_reasons(&events), ["end_turn"]);
    let thinking = events.iter().find(|e| e["type"] == "agent.thinking").unwrap();
    assert!(thinking.get("thinking").is_none() && !thinking.to_string().contains("greeting"), "{thinking}");
    let call = events.iter().find(|e| e["type"] == "agent.tool_use").unwrap();
    assert_eq!(
        (call["name"].as_str(), call["input"]["command"].as_str()),
        (Some("bash"), Some("echo hello from the sandbox"))
    );
    assert_eq!(call["evaluated_permission"], "allow");
    let result = events.iter().find(|e| e["type"] == "agent.tool_result").unwrap();
    assert_eq!(result["tool_use_id"], call["id"]);
    assert!(result["content"][0]["text"].as_str().unwrap().contains("hello from the sandbox"));
    let last = events.iter().rfind(|e| e["type"] == "agent.message").unwrap();
    assert_eq!(last["content"][0]["text"], "It printed: hello from the sandbox");
    let end = events.iter().find(|e| e["type"] == "span.model_request_end").unwrap();
    assert!(end["model_usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(end["is_error"], false);

    let received = server.received();
    assert_eq!(received.len(), 2);
    let first = &received[0].body;
    assert_eq!(first["model"], "claude-test-1");
    assert_eq!(first["stream"], true);
    assert_eq!(first["system"][0]["text"], "You are terse.");
    assert_eq!(first["system"][0]["cache_control"]["type"], "ephemeral");
    let tools: Vec<&str> = first["tools"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(tools, ["bash", "read", "write", "edit", "glob", "grep"]);
    assert_eq!(first["tools"][5]["cache_control"]["type"], "ephemeral");
    assert_eq!(first["messages"], json!([{ "role": "user", "content": [text("Say hello with bash")] }]));
    // The second request carries the signed thinking, the call under its event's id, and its result.
    let second = &received[1].body["messages"];
    assert_eq!(second[1]["role"], "assistant");
    assert_eq!(
        second[1]["content"][0],
        json!({ "type": "thinking", "thinking": "The user wants a greeting from bash.", "signature": "sig-abc" })
    );
    assert_eq!(second[1]["content"][2]["id"], call["id"]);
    assert_eq!(second[2]["content"][0]["type"], "tool_result");
    assert_eq!(second[2]["content"][0]["tool_use_id"], call["id"]);
    assert!(second[2]["content"][0]["content"][0]["text"].as_str().unwrap().contains("hello from the sandbox"));
    assert_eq!(received[0].headers["anthropic-version"], protocol::ANTHROPIC_VERSION, "the version the SDK sends");

    let usage = engine.get(&format!("/v1/sessions/{session}")).await["usage"].clone();
    assert!(usage["input_tokens"].as_u64().unwrap() > 0 && usage["output_tokens"].as_u64().unwrap() > 0, "{usage}");
}

#[tokio::test]
async fn parallel_calls_wait_for_a_person_and_a_custom_tool_then_go_on() {
    let server = server(None).await;
    server.push([
        Scripted::reply(
            vec![
                tool_use("toolu_a", "write", json!({ "file_path": "note.txt", "content": "kept" })),
                tool_use("toolu_b", "lookup", json!({ "q": "weather" })),
                tool_use("toolu_c", "web_search", json!({ "query": "x" })),
            ],
            "tool_use",
        ),
        Scripted::text("All three answered."),
    ]);
    let engine = engine_with(&server, 2).await;
    let agent_tools = json!([
        { "type": "agent_toolset_20260401", "configs": [{ "name": "write", "permission_policy": { "type": "always_ask" } }] },
        { "type": "custom", "name": "lookup", "description": "Look something up", "input_schema": { "type": "object" } },
    ]);
    let agent =
        engine.post("/v1/agents", json!({ "name": "ask", "model": "claude-test-1", "tools": agent_tools })).await;
    let environment = engine.post("/v1/environments", json!({ "name": "e", "config": { "type": "cloud" } })).await;
    let session =
        engine.post("/v1/sessions", json!({ "agent": agent["id"], "environment_id": environment["id"] })).await;
    let session = session["id"].as_str().unwrap();
    engine.say(session, "do three things").await;
    let events = engine.wait_idle(session, 1).await;
    let idle = events.iter().rfind(|e| e["type"] == "session.status_idle").unwrap();
    assert_eq!(idle["stop_reason"]["type"], "requires_action");
    let write = events.iter().find(|e| e["type"] == "agent.tool_use" && e["name"] == "write").unwrap();
    let lookup = events.iter().find(|e| e["type"] == "agent.custom_tool_use").unwrap();
    assert_eq!(idle["stop_reason"]["event_ids"], json!([write["id"], lookup["id"]]));
    // web_search is not offered (the engine has no web tools): the call is refused in words.
    let results = support::tool_results(&events);
    assert_eq!(results.len(), 1);
    assert!(results[0].0 && results[0].1.contains("not one of this agent's tools"), "{results:?}");

    engine
        .post(
            &format!("/v1/sessions/{session}/events"),
            json!({ "events": [
                { "type": "user.tool_confirmation", "tool_use_id": write["id"], "result": "allow" },
                { "type": "user.custom_tool_result", "custom_tool_use_id": lookup["id"], "content": [text("sunny")] },
            ] }),
        )
        .await;
    let events = engine.wait_idle(session, 2).await;
    assert_eq!(idle_reasons(&events), ["requires_action", "end_turn"]);
    let second = &server.received()[1].body["messages"];
    let answered: Vec<&str> =
        second[2]["content"].as_array().unwrap().iter().filter_map(|b| b["tool_use_id"].as_str()).collect();
    assert_eq!(answered.len(), 3, "{second}");
    let custom = second[2]["content"].as_array().unwrap().iter().find(|b| b["tool_use_id"] == lookup["id"]).unwrap();
    assert_eq!(custom["content"][0]["text"], "sunny");
}

#[tokio::test]
async fn rate_limits_and_overloads_are_retried_then_reported_exhausted() {
    let server = server(None).await;
    server.push([Scripted::status(429, Some(0)), Scripted::status(529, None), Scripted::text("Made it.")]);
    let engine = engine_with(&server, 2).await;
    let session = session_on(&engine, "claude-test-1", json!([]), None).await;
    engine.say(&session, "hi").await;
    let events = engine.wait_idle(&session, 1).await;
    let errors: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["type"] == "session.error")
        .map(|e| (e["error"]["type"].as_str().unwrap(), e["error"]["retry_status"]["type"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, [("model_rate_limited_error", "retrying"), ("model_overloaded_error", "retrying")]);
    assert_eq!(events.iter().filter(|e| e["type"] == "session.status_rescheduled").count(), 2);
    assert_eq!(idle_reasons(&events), ["end_turn"]);
    assert_eq!(events.iter().filter(|e| e["type"] == "agent.message").count(), 1);
    let failed_spans = events.iter().filter(|e| e["type"] == "span.model_request_end" && e["is_error"] == true).count();
    assert_eq!(failed_spans, 2);

    // Three overloads with two retries: exhausted, and the session takes the next message.
    server.push([Scripted::status(529, None), Scripted::status(529, None), Scripted::status(529, None)]);
    engine.say(&session, "again").await;
    let events = engine.wait_idle(&session, 2).await;
    let last = events.iter().rfind(|e| e["type"] == "session.error").unwrap();
    assert_eq!(last["error"]["type"], "model_overloaded_error");
    assert_eq!(last["error"]["retry_status"]["type"], "exhausted");
    assert_eq!(idle_reasons(&events), ["end_turn", "retries_exhausted"]);
    server.push([Scripted::text("Back.")]);
    engine.say(&session, "once more").await;
    let events = engine.wait_idle(&session, 3).await;
    assert_eq!(idle_reasons(&events)[2], "end_turn");
}

#[tokio::test]
async fn a_stream_cut_mid_message_is_tried_again_without_a_half_message() {
    let server = server(None).await;
    let mut cut = Scripted::text("This reply is cut off partway through its text.");
    if let Scripted::Reply { cut_after, .. } = &mut cut {
        *cut_after = Some(4);
    }
    let mut overloaded = Scripted::text("never whole");
    if let Scripted::Reply { error, .. } = &mut overloaded {
        *error = Some("overloaded_error".to_owned());
    }
    server.push([cut, overloaded, Scripted::text("The whole reply.")]);
    let engine = engine_with(&server, 3).await;
    let session = session_on(&engine, "claude-test-1", json!([]), None).await;
    engine.say(&session, "hi").await;
    let events = engine.wait_idle(&session, 1).await;
    let messages: Vec<&Value> = events.iter().filter(|e| e["type"] == "agent.message").collect();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["content"][0]["text"], "The whole reply.");
    let errors: Vec<&str> =
        events.iter().filter(|e| e["type"] == "session.error").map(|e| e["error"]["type"].as_str().unwrap()).collect();
    assert_eq!(errors, ["model_request_failed_error", "model_overloaded_error"]);
    // The request sent again is the same conversation: no half reply in it.
    let received = server.received();
    assert_eq!(received[0].body["messages"], received[2].body["messages"]);
}

#[tokio::test]
async fn other_failures_end_the_turn_in_words_and_the_session_goes_on() {
    let server = server(None).await;
    server.push([Scripted::Status { status: 404, retry_after: None, message: Some("model: claude-gone".to_owned()) }]);
    let engine = engine_with(&server, 3).await;
    let session = session_on(&engine, "claude-gone", json!([]), None).await;
    engine.say(&session, "hi").await;
    let events = engine.wait_idle(&session, 1).await;
    let error = events.iter().find(|e| e["type"] == "session.error").unwrap();
    assert_eq!(error["error"]["type"], "model_request_failed_error");
    assert_eq!(error["error"]["retry_status"]["type"], "exhausted");
    assert!(error["error"]["message"].as_str().unwrap().contains("does not know this model"), "{error}");
    assert_eq!(idle_reasons(&events), ["retries_exhausted"]);
    assert_eq!(server.received().len(), 1, "a 404 is not tried again");
}

#[tokio::test]
async fn a_turn_past_its_request_limit_ends_with_tool_use_limit_reached() {
    let server = server(None).await;
    server.repeat(Scripted::reply(vec![tool_use("toolu_x", "bash", json!({ "command": "true" }))], "tool_use"));
    let mut config = config(temp_dir());
    let mut model = ModelEndpoint::new(&server.url, None);
    model.max_requests_per_turn = 3;
    config.model = model;
    let engine = spawn_engine(config).await;
    let session = session_on(&engine, "claude-test-1", json!([]), None).await;
    engine.say(&session, "loop forever").await;
    let events = engine.wait_idle(&session, 1).await;
    let error = events.iter().find(|e| e["type"] == "session.error").unwrap();
    assert_eq!(error["error"]["type"], "tool_use_limit_reached_error");
    assert_eq!(server.received().len(), 3);
    assert_eq!(idle_reasons(&events), ["retries_exhausted"]);
}

#[tokio::test]
async fn a_conversation_too_long_for_the_window_is_compacted_once_then_refused() {
    let server = server(None).await;
    let too_long = || Scripted::Status {
        status: 400,
        retry_after: None,
        message: Some("prompt is too long: 210000 tokens > 200000 maximum".to_owned()),
    };
    server.push([
        Scripted::text("First answer."),
        too_long(),
        Scripted::text("They asked for a first answer and got it."),
        Scripted::text("Second answer."),
    ]);
    let engine = engine_with(&server, 2).await;
    let session = session_on(&engine, "claude-test-1", json!([]), None).await;
    engine.say(&session, "first").await;
    engine.wait_idle(&session, 1).await;
    engine.say(&session, "second").await;
    let events = engine.wait_idle(&session, 2).await;
    assert_eq!(events.iter().filter(|e| e["type"] == "agent.thread_context_compacted").count(), 1);
    assert_eq!(idle_reasons(&events), ["end_turn", "end_turn"]);
    let received = server.received();
    let retried = &received[3].body["messages"];
    assert!(retried[0]["content"][0]["text"].as_str().unwrap().contains("They asked for a first answer"), "{retried}");
    assert_eq!(retried[0]["content"].as_array().unwrap().last().unwrap(), &text("second"));

    server.push([too_long(), Scripted::text("A summary."), too_long()]);
    engine.say(&session, "third").await;
    let events = engine.wait_idle(&session, 3).await;
    let error = events.iter().rfind(|e| e["type"] == "session.error").unwrap();
    assert_eq!(error["error"]["type"], "compaction_limit_reached_error");
}

#[tokio::test]
async fn list_cost_is_counted_and_a_budget_stops_the_session_until_raised() {
    let server = server(None).await;
    let mut expensive = Scripted::reply(vec![tool_use("toolu_1", "bash", json!({ "command": "true" }))], "tool_use");
    if let Scripted::Reply { usage, .. } = &mut expensive {
        *usage = Some(json!({ "input_tokens": 1_000_000, "output_tokens": 100_000 }));
    }
    server.push([expensive]);
    let engine = engine_with(&server, 2).await;

    // A model without a list price cannot be budgeted.
    let agent = engine.post("/v1/agents", json!({ "name": "u", "model": "claude-unpriced-1" })).await;
    let environment = engine.post("/v1/environments", json!({ "name": "e", "config": { "type": "cloud" } })).await;
    let budget = json!({ "type": "limit", "max_list_cost": { "amount": "400", "currency": "USD" } });
    let (status, answer) = engine
        .call(
            reqwest::Method::POST,
            "/v1/sessions",
            Some(json!({ "agent": agent["id"], "environment_id": environment["id"], "budget": budget })),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.to_string().contains("model_not_budgetable"), "{answer}");

    // Sonnet 4.6: $3 + $1.50 for this request, over a $4 budget.
    let session = session_on(&engine, "claude-sonnet-4-6", json!([]), Some("400")).await;
    engine.say(&session, "spend").await;
    let events = engine.wait_idle(&session, 1).await;
    assert_eq!(idle_reasons(&events), ["budget_reached"]);
    assert_eq!(server.received().len(), 1, "no request after the budget is reached");
    let body = engine.get(&format!("/v1/sessions/{session}")).await;
    assert_eq!(body["usage"]["list_cost"], json!({ "amount": "450", "currency": "USD" }));
    // The stream told the same: the session's cumulative usage and cost, with its budget.
    let told = events.iter().rfind(|e| e["type"] == "session.usage").expect("a session.usage event");
    assert_eq!(told["usage"]["list_cost"], json!({ "amount": "450", "currency": "USD" }), "{told}");
    assert_eq!(
        (told["usage"]["input_tokens"].as_u64(), told["usage"]["output_tokens"].as_u64()),
        (Some(1_000_000), Some(100_000))
    );
    assert_eq!(told["budget"]["max_list_cost"]["amount"], "400", "{told}");

    let path = format!("/v1/sessions/{session}/events");
    let message = json!({ "events": [{ "type": "user.message", "content": [text("more")] }] });
    let (status, answer) = engine.call(reqwest::Method::POST, &path, Some(message.clone())).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("spent its budget"), "{answer}");

    let lower = json!({ "budget": { "type": "limit", "max_list_cost": { "amount": "450", "currency": "USD" } } });
    let (status, answer) = engine.call(reqwest::Method::POST, &format!("/v1/sessions/{session}"), Some(lower)).await;
    assert_eq!(status, 400);
    assert!(answer.to_string().contains("budget_not_raised"), "{answer}");

    let raised = json!({ "budget": { "type": "limit", "max_list_cost": { "amount": "1000", "currency": "USD" } } });
    engine.post(&format!("/v1/sessions/{session}"), raised).await;
    server.push([Scripted::text("Within budget again.")]);
    engine.post(&path, message).await;
    let events = engine.wait_idle(&session, 2).await;
    assert_eq!(idle_reasons(&events), ["budget_reached", "end_turn"]);
    // Cumulative: the second request's usage on top of the first's, under the raised budget.
    let told = events.iter().rfind(|e| e["type"] == "session.usage").unwrap();
    assert!(told["usage"]["input_tokens"].as_u64().unwrap() > 1_000_000, "{told}");
    assert_eq!(told["budget"]["max_list_cost"]["amount"], "1000", "{told}");
}

#[tokio::test]
async fn models_are_listed_and_an_unknown_model_is_refused_when_the_list_is_known() {
    let listed = |id: &str, lifecycle: &str| {
        json!({ "type": "model", "id": id, "display_name": id, "created_at": "2026-01-01T00:00:00Z", "lifecycle": lifecycle,
                "deprecated_at": null, "retires_at": null, "max_input_tokens": 200000, "max_tokens": 64000,
                "capabilities": { "thinking": { "supported": true, "types": { "adaptive": { "supported": true } } },
                                  "effort": { "supported": true, "high": { "supported": true } } } })
    };
    let server = server(Some(vec![listed("claude-new-2", "active"), listed("claude-old-1", "deprecated")])).await;
    server.push([Scripted::text("ok")]);
    let engine = engine_with(&server, 2).await;
    let page = engine.get("/v1/models?limit=2").await;
    let ids: Vec<&str> = page["data"].as_array().unwrap().iter().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(ids, ["scripted", "claude-new-2"]);
    assert_eq!(page["has_more"], true);
    let next = engine.get(&format!("/v1/models?limit=2&after_id={}", page["last_id"].as_str().unwrap())).await;
    assert_eq!(next["data"][0]["id"], "claude-old-1");
    assert_eq!(next["data"][0]["lifecycle"], "deprecated");
    assert_eq!(next["has_more"], false);
    let back = engine.get("/v1/models?before_id=claude-old-1&limit=1").await;
    assert_eq!((back["data"][0]["id"].as_str(), back["has_more"].as_bool()), (Some("claude-new-2"), Some(true)));
    assert_eq!(engine.get("/v1/models/scripted").await["lifecycle"], "active");
    let (status, _) = engine.call(reqwest::Method::GET, "/v1/models/claude-nope", None).await;
    assert_eq!(status, 404);

    let (status, answer) =
        engine.call(reqwest::Method::POST, "/v1/agents", Some(json!({ "name": "x", "model": "claude-nope" }))).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("GET /v1/models"), "{answer}");

    // A listed model that takes thinking and effort gets them.
    let session = session_on(&engine, "claude-new-2", json!([]), None).await;
    engine.say(&session, "think").await;
    engine.wait_idle(&session, 1).await;
    let request = &server.received()[0].body;
    assert_eq!(request["thinking"], json!({ "type": "adaptive" }));
    assert_eq!(request["output_config"], json!({ "effort": "high" }));
    assert_eq!(request["max_tokens"], 32000);
}
