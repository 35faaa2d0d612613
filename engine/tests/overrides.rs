//! `agent_with_overrides` and session agent updates keep the agent definition consistent.

use crate::support;

use reqwest::Method;
use serde_json::json;
use support::{config, spawn_engine, temp_dir};

#[tokio::test]
async fn overrides_keep_the_agents_effort_and_mcp_references() {
    let engine = spawn_engine(config(temp_dir())).await;
    let system = json!({ "turns": [[{ "text": "hi" }]] }).to_string();
    let agent = engine
        .post("/v1/agents", json!({ "name": "a", "model": { "id": "scripted", "effort": "low" }, "system": system }))
        .await;
    let environment = engine.post("/v1/environments", json!({ "name": "e" })).await;
    let create = |overrides: serde_json::Value| {
        let mut agent_param = json!({ "type": "agent_with_overrides", "id": agent["id"] });
        agent_param.as_object_mut().unwrap().extend(overrides.as_object().unwrap().clone());
        json!({ "agent": agent_param, "environment_id": environment["id"] })
    };

    // The model override's effort is ignored, whichever form the model takes.
    let session = engine.post("/v1/sessions", create(json!({ "model": "scripted" }))).await;
    assert_eq!(session["agent"]["model"]["effort"], json!({ "type": "low" }));

    // An MCP server that no toolset uses is refused, whether it comes with tools or alone.
    let server = json!([{ "type": "url", "name": "docs", "url": "https://mcp.example.com" }]);
    let (status, error) =
        engine.call(Method::POST, "/v1/sessions", Some(create(json!({ "mcp_servers": server })))).await;
    assert_eq!(status, 400, "{error}");
    assert!(error["error"]["message"].as_str().unwrap().contains("not used by any mcp_toolset"), "{error}");
    let session_id = session["id"].as_str().unwrap();
    let (status, error) = engine
        .call(Method::POST, &format!("/v1/sessions/{session_id}"), Some(json!({ "agent": { "mcp_servers": server } })))
        .await;
    assert_eq!(status, 400, "{error}");
    // With a toolset for it, both are accepted.
    let tools = json!([{ "type": "mcp_toolset", "mcp_server_name": "docs" }]);
    engine.post("/v1/sessions", create(json!({ "mcp_servers": server, "tools": tools }))).await;
    engine
        .post(&format!("/v1/sessions/{session_id}"), json!({ "agent": { "mcp_servers": server, "tools": tools } }))
        .await;
}
