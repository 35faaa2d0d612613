//! The demo agent and environment a fresh engine starts with, so its main job works at once.

use std::sync::Arc;

use serde_json::json;

use crate::{EngineState, error::ApiResult};

pub const DEMO_AGENT_NAME: &str = "Demo: scripted agent";

/// The demo script: a streamed answer, a `bash` call that needs approval and writes a file to
/// the outputs, and a custom tool the client answers.
pub fn demo_script() -> String {
    json!({
        "stream_delay_ms": 40,
        "turns": [[
            { "thinking": "The user wants a report; I will look at the workspace first." },
            { "text": "Hello! I am the demo agent of Switchboard's embedded engine. I follow a script, so everything I do is predictable. Let me write a small report for you." },
            { "tool": "bash", "input": { "command": "mkdir -p /mnt/session/outputs && date -u +'Report written at %Y-%m-%dT%H:%M:%SZ' > /mnt/session/outputs/report.txt && uname -sm >> /mnt/session/outputs/report.txt && cat /mnt/session/outputs/report.txt" } },
            { "text": "The report is in the session's outputs as report.txt; you can download it. Now I need your order number." },
            { "custom_tool": "lookup_order", "input": { "order": "A-17" } },
            { "text": "Thank you. Your order is on its way. Send another message to run this demo again." }
        ]]
    })
    .to_string()
}

pub async fn demo(engine: &Arc<EngineState>) -> ApiResult<()> {
    if engine.store.meta("demo_seeded").await?.is_some() {
        return Ok(());
    }
    let environment = engine
        .create_environment(serde_json::from_value(json!({
            "name": "Demo environment",
            "description": "A sandbox without network access, for the demo agent.",
            "config": { "type": "cloud", "networking": { "type": "limited", "allowed_hosts": [] } },
        }))?)
        .await?;
    let agent = engine
        .create_agent(serde_json::from_value(json!({
            "name": DEMO_AGENT_NAME,
            "description": "Shows a streamed answer, a bash call that needs your approval, a file written to the outputs, and a custom tool.",
            "model": "scripted",
            "system": demo_script(),
            "tools": [
                { "type": "agent_toolset_20260401", "configs": [{ "name": "bash", "permission_policy": { "type": "always_ask" } }] },
                { "type": "custom", "name": "lookup_order", "description": "Looks up an order by its number.",
                  "input_schema": { "type": "object", "properties": { "order": { "type": "string" } }, "required": ["order"] } }
            ],
            "metadata": { "seeded": "demo" },
        }))?)
        .await?;
    engine.store.set_meta("demo_seeded", &format!("{} {}", agent["id"], environment["id"])).await?;
    Ok(())
}
