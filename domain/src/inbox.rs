//! The approval inbox: every tool call, across all sessions, that waits for a person. The server
//! keeps the list (`server/src/approvals/inbox.rs` polls the API) and sends it to browsers on
//! `/api/inbox/stream`; this module holds what both sides share.

use std::collections::HashSet;

use protocol::events::types;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The pending calls, and how to read them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InboxList {
    /// Longest waiting first.
    pub calls: Vec<PendingCall>,
    /// A call that has waited this long (seconds) shows amber.
    pub amber_secs: u64,
    /// …and this long, red.
    pub red_secs: u64,
    /// How often the server looks for new calls (milliseconds): slower while webhooks arrive.
    pub poll_ms: u64,
    /// Webhooks arrive (one in the last ten minutes): a call is read the moment its session says so.
    #[serde(default)]
    pub webhooks: bool,
    /// Why the list may be out of date: the API could not be asked. What was known stays listed.
    pub problem: Option<String>,
    /// False until the server has looked once.
    pub ready: bool,
}

/// One call a session waits on: a tool confirmation or a custom tool's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingCall {
    pub session_id: String,
    pub session_title: Option<String>,
    /// The session's agent (its approval policy follows it).
    #[serde(default)]
    pub agent_id: Option<String>,
    pub agent_name: Option<String>,
    /// The call as the API holds it: `agent.tool_use`, `agent.mcp_tool_use` or
    /// `agent.custom_tool_use`.
    pub event: Value,
    /// For a call of a child thread (its `session_thread_id`): that thread's agent, when its
    /// `session.thread_created` was among the events read.
    #[serde(default)]
    pub thread_agent: Option<String>,
    /// When the agent's approval policy denies it, if nobody decides first (milliseconds since
    /// the epoch; `domain::policies::deadline_ms`).
    #[serde(default)]
    pub deadline_ms: Option<i64>,
}

/// A tool-use event's id.
pub fn call_id(event: &Value) -> &str {
    event.get("id").and_then(Value::as_str).unwrap_or_default()
}

/// The tool a tool-use event calls.
pub fn tool_name(event: &Value) -> &str {
    event.get("name").and_then(Value::as_str).unwrap_or("tool")
}

/// A custom tool's call, answered with a result rather than allowed or denied.
pub fn is_custom_call(event: &Value) -> bool {
    event.get("type").and_then(Value::as_str) == Some(types::AGENT_CUSTOM_TOOL_USE)
}

impl PendingCall {
    pub fn event_id(&self) -> &str {
        call_id(&self.event)
    }

    pub fn tool(&self) -> &str {
        tool_name(&self.event)
    }

    pub fn is_custom(&self) -> bool {
        is_custom_call(&self.event)
    }

    /// When the agent asked (milliseconds since the epoch).
    pub fn asked_at_ms(&self) -> Option<f64> {
        self.event.get("processed_at").and_then(Value::as_str).and_then(crate::format::parse_rfc3339_ms)
    }

    /// The session as a heading names it: its title, or its id.
    pub fn session_label(&self) -> &str {
        self.session_title.as_deref().filter(|t| !t.trim().is_empty()).unwrap_or(&self.session_id)
    }

    /// The input in one line: a command, a file, or the fields as JSON, cut at 120 characters.
    pub fn summary(&self) -> String {
        let input = self.event.get("input").unwrap_or(&Value::Null);
        let field = |k: &str| input.get(k).and_then(Value::as_str);
        let text = match (field("command"), field("file_path"), field("pattern")) {
            (Some(command), _, _) => format!("$ {command}"),
            (_, Some(path), _) => path.to_owned(),
            (_, _, Some(pattern)) => pattern.to_owned(),
            _ if input.as_object().is_some_and(|o| o.is_empty()) || input.is_null() => "(no input)".to_owned(),
            _ => input.to_string(),
        };
        let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        match line.char_indices().nth(120) {
            Some((cut, _)) => format!("{}…", &line[..cut]),
            None => line,
        }
    }
}

/// How long a call has waited, against the thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    Fresh,
    Amber,
    Red,
}

impl Urgency {
    pub fn class(self) -> &'static str {
        match self {
            Urgency::Fresh => "waiting",
            Urgency::Amber => "waiting amber",
            Urgency::Red => "waiting red",
        }
    }
}

impl InboxList {
    pub fn urgency(&self, waited_ms: f64) -> Urgency {
        let secs = waited_ms / 1000.0;
        if secs >= self.red_secs as f64 {
            Urgency::Red
        } else if secs >= self.amber_secs as f64 {
            Urgency::Amber
        } else {
            Urgency::Fresh
        }
    }

    /// The calls grouped by session, in the order of each session's longest-waiting call.
    pub fn by_session(&self) -> Vec<(String, Vec<PendingCall>)> {
        let mut groups: Vec<(String, Vec<PendingCall>)> = Vec::new();
        for call in &self.calls {
            match groups.iter_mut().find(|(id, _)| *id == call.session_id) {
                Some((_, calls)) => calls.push(call.clone()),
                None => groups.push((call.session_id.clone(), vec![call.clone()])),
            }
        }
        groups
    }

    /// The calls in this list that `known` does not hold (event ids): what a notification is for.
    pub fn arrived<'a>(&'a self, known: &HashSet<String>) -> Vec<&'a PendingCall> {
        self.calls.iter().filter(|c| !known.contains(c.event_id())).collect()
    }
}

#[cfg(feature = "server")]
pub mod server {
    use std::sync::Arc;

    use super::InboxList;

    use crate::upstream::client::BoxFuture;

    /// The server's inbox, as server functions reach it.
    pub trait InboxSource: Send + Sync + 'static {
        fn current(&self) -> BoxFuture<'_, InboxList>;
    }

    #[derive(Clone)]
    pub struct InboxHandle(pub Arc<dyn InboxSource>);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn call(id: &str, session: &str, input: Value) -> PendingCall {
        PendingCall {
            agent_id: None,
            session_id: session.to_owned(),
            session_title: None,
            agent_name: None,
            event: json!({ "id": id, "type": types::AGENT_TOOL_USE, "name": "bash", "input": input }),
            thread_agent: None,
            deadline_ms: None,
        }
    }

    #[test]
    fn a_summary_is_one_short_line_of_what_the_tool_would_do() {
        assert_eq!(call("a", "s", json!({ "command": "ls\n  -la /workspace" })).summary(), "$ ls -la /workspace");
        assert_eq!(
            call("a", "s", json!({ "file_path": "/workspace/a.txt", "content": "x" })).summary(),
            "/workspace/a.txt"
        );
        assert_eq!(call("a", "s", json!({})).summary(), "(no input)");
        assert_eq!(call("a", "s", json!({ "order": "A-17" })).summary(), r#"{"order":"A-17"}"#);
        let long = call("a", "s", json!({ "command": "é".repeat(300) })).summary();
        assert_eq!(long.chars().count(), 121, "{long}");
        assert!(long.ends_with('…'));
    }

    #[test]
    fn waiting_turns_amber_then_red_at_the_thresholds() {
        let list = InboxList { amber_secs: 60, red_secs: 300, ..Default::default() };
        assert_eq!(list.urgency(59_000.0), Urgency::Fresh);
        assert_eq!(list.urgency(60_000.0), Urgency::Amber);
        assert_eq!(list.urgency(299_999.0), Urgency::Amber);
        assert_eq!(list.urgency(300_000.0), Urgency::Red);
    }

    #[test]
    fn calls_group_by_session_in_order_of_their_longest_wait_and_new_ones_are_found() {
        let list = InboxList {
            calls: vec![call("a", "s1", json!({})), call("b", "s2", json!({})), call("c", "s1", json!({}))],
            ..Default::default()
        };
        let groups = list.by_session();
        assert_eq!(
            groups.iter().map(|(s, calls)| (s.as_str(), calls.len())).collect::<Vec<_>>(),
            [("s1", 2), ("s2", 1)]
        );
        let known: HashSet<String> = ["a".to_owned(), "c".to_owned()].into();
        assert_eq!(list.arrived(&known).iter().map(|c| c.event_id()).collect::<Vec<_>>(), ["b"]);
    }
}
