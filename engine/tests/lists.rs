//! List filters of the API narrow what comes back; none of them is ignored.

use crate::support;

use serde_json::json;
use support::{config, spawn_engine, temp_dir};

#[tokio::test]
async fn session_filters_match_only_what_they_name() {
    let engine = spawn_engine(config(temp_dir())).await;
    let first = engine.scripted_session(json!([[{ "text": "a" }]]), "limited").await;
    let agent = engine.get(&format!("/v1/sessions/{first}")).await["agent"]["id"].as_str().unwrap().to_owned();
    engine.scripted_session(json!([[{ "text": "b" }]]), "limited").await;
    let ids = |page: serde_json::Value| -> Vec<String> {
        page["data"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(engine.get("/v1/sessions").await).len(), 2);
    assert_eq!(ids(engine.get(&format!("/v1/sessions?agent_id={agent}")).await), [first.as_str()]);
    assert_eq!(ids(engine.get(&format!("/v1/sessions?agent_id={agent}&agent_version=1")).await), [first.as_str()]);
    assert!(ids(engine.get(&format!("/v1/sessions?agent_id={agent}&agent_version=2")).await).is_empty());
    // No session of the engine comes from a deployment or mounts a memory store.
    assert!(ids(engine.get("/v1/sessions?deployment_id=depl_x").await).is_empty());
    assert!(ids(engine.get("/v1/sessions?memory_store_id=memstore_x").await).is_empty());
    assert_eq!(ids(engine.get("/v1/sessions?statuses[]=idle&statuses[]=running").await).len(), 2);
    assert!(ids(engine.get("/v1/sessions?statuses[]=terminated").await).is_empty());
}
