//! The engine's metrics: turns played, requests to the Messages endpoint, tool calls and the
//! sandbox limits they hit. Recorded through the `metrics` facade, which does nothing until a
//! process installs a recorder: the console does when asked to serve `/metrics`
//! (`server/src/web/observe.rs`, which also calls [`describe`]); a standalone engine never does.
//!
//! Every label value comes from a fixed list (never an id, a name a person chose, or a URL), so
//! that the number of series stays bounded whatever the agents do.

use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};

pub const TURNS: &str = "switchboard_engine_turns_total";
pub const MODEL_REQUESTS: &str = "switchboard_engine_model_requests_total";
pub const MODEL_REQUEST_DURATION: &str = "switchboard_engine_model_request_duration_seconds";
pub const TOOL_CALLS: &str = "switchboard_engine_tool_calls_total";
pub const MCP_CALLS: &str = "switchboard_engine_mcp_calls_total";
pub const SANDBOX_LIMITS: &str = "switchboard_engine_sandbox_limits_total";
pub const WORK_ITEMS: &str = "switchboard_engine_work_items_total";
pub const WORK_QUEUE_DEPTH: &str = "switchboard_engine_work_queue_depth";
pub const WORK_LEASES: &str = "switchboard_engine_work_leases";

/// The buckets of [`MODEL_REQUEST_DURATION`], in seconds: a streamed reply takes from under a
/// second to minutes.
pub const MODEL_REQUEST_BUCKETS: &[f64] = &[0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0];

/// The built-in tools a call's `tool` label names; any other tool is `other`.
const BUILT_IN_TOOLS: &[&str] = &["bash", "read", "write", "edit", "glob", "grep", "web_fetch", "web_search"];

/// The HELP line of each of the engine's metrics, for the recorder the server installs.
pub fn describe() {
    describe_counter!(
        TURNS,
        "Turns the embedded engine started, by model (scripted, a model its endpoint lists, or real)."
    );
    describe_counter!(
        MODEL_REQUESTS,
        "Requests the embedded engine sent to its Messages endpoint (each try), by outcome: ok, rate_limited, overloaded, cut, too_long, failed."
    );
    describe_histogram!(
        MODEL_REQUEST_DURATION,
        Unit::Seconds,
        "How long a request to the Messages endpoint took, from sending it to the end of its streamed reply or its failure."
    );
    describe_counter!(
        TOOL_CALLS,
        "Tool calls agents made in the embedded engine, by tool (a built-in tool, custom, mcp, other) and permission (allow, ask, deny, custom)."
    );
    describe_counter!(
        MCP_CALLS,
        "Calls of MCP servers' tools the embedded engine made, by result: ok (the server answered, even with an error) or failed (it could not be reached, or refused the credential)."
    );
    describe_counter!(
        SANDBOX_LIMITS,
        "Tool calls a sandbox limit stopped or cut short, by limit: cpu, file_size, processes, memory, disk, timeout."
    );
    describe_counter!(
        WORK_ITEMS,
        "What happened to self-hosted environments' work items, by event: queued, polled, acked, reclaimed (a lease ran out), stopped."
    );
    describe_gauge!(WORK_QUEUE_DEPTH, "Work items of self-hosted environments waiting in their queues for a worker.");
    describe_gauge!(WORK_LEASES, "Work items a worker holds the lease of (starting, active or stopping).");
}

/// A work item of a self-hosted environment was `event` (queued, polled, acked, reclaimed,
/// stopped).
pub fn work_item(event: &'static str) {
    counter!(WORK_ITEMS, "event" => event).increment(1);
}

/// The work queues' size over every environment: items waiting, and items under a lease.
pub fn work_gauges(queued: i64, leased: i64) {
    gauge!(WORK_QUEUE_DEPTH).set(queued as f64);
    gauge!(WORK_LEASES).set(leased as f64);
}

/// A turn started, of an agent whose model is `model` (`scripted`, an id of the endpoint's
/// model list, or `real` for one the list does not hold).
pub fn turn_started(model: &str) {
    counter!(TURNS, "model" => model.to_owned()).increment(1);
}

/// One try of a Messages request ended as `outcome` after `took`.
pub fn model_request(outcome: &'static str, took: Duration) {
    counter!(MODEL_REQUESTS, "status" => outcome).increment(1);
    histogram!(MODEL_REQUEST_DURATION).record(took.as_secs_f64());
}

/// A model called `tool` (`custom`: one of the agent's custom tools), and the call got
/// `permission`.
pub fn tool_call(tool: &str, custom: bool, permission: &'static str) {
    counter!(TOOL_CALLS, "tool" => tool_label(tool, custom), "permission" => permission).increment(1);
}

/// An MCP server's tool was called (`result`: `ok` or `failed`).
pub fn mcp_call(result: &'static str) {
    counter!(MCP_CALLS, "result" => result).increment(1);
}

/// The `tool` label of a call: a built-in tool's name, `custom`, `mcp` (any MCP server's tool),
/// or `other` for any name a model made up.
fn tool_label(tool: &str, custom: bool) -> &'static str {
    match BUILT_IN_TOOLS.iter().find(|t| **t == tool) {
        _ if custom => "custom",
        _ if tool == "mcp" => "mcp",
        Some(built_in) => built_in,
        None => "other",
    }
}

/// What a sandbox limit did to a call: `cpu`, `file_size`, `processes`, `memory`, `disk` or
/// `timeout`.
pub fn sandbox_limit(limit: &'static str) {
    counter!(SANDBOX_LIMITS, "limit" => limit).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_is_named_only_when_it_is_built_in() {
        assert_eq!(tool_label("bash", false), "bash");
        assert_eq!(tool_label("rm -rf /", false), "other", "a name the model made up");
        assert_eq!(tool_label("bash", true), "custom", "a custom tool named like a built-in one");
    }
}
