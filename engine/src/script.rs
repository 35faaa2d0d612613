//! The scripted model: a deterministic stand-in for a model, for demos and tests (no AI).
//!
//! An agent whose model id is `scripted` carries a JSON script as its system prompt:
//! `{"turns": [[step, …], …], "stream_delay_ms"?: n}`. The n-th `user.message` of a session plays
//! the n-th turn; the last turn repeats. Steps: `{"text": s}`, `{"thinking": s}`,
//! `{"tool": name, "input": {…}}`, `{"custom_tool": name, "input": {…}}`, `{"sleep_ms": n}`,
//! `{"error": type, "retry_status"?: "retrying"|"exhausted"|"terminal"}`. `stream_delay_ms` (an
//! engine addition, default 0) spaces out the streamed previews of text so a demo reads live.

use serde::Deserialize;
use serde_json::{Map, Value};

/// The model id that selects the scripted model.
pub const SCRIPTED_MODEL: &str = "scripted";

pub const BUILTIN_TOOLS: [&str; 8] = ["bash", "read", "write", "edit", "glob", "grep", "web_fetch", "web_search"];

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    pub turns: Vec<Vec<Step>>,
    #[serde(default)]
    pub stream_delay_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawStep")]
pub enum Step {
    Text(String),
    Thinking(String),
    Tool { name: String, input: Value },
    CustomTool { name: String, input: Value },
    SleepMs(u64),
    Error { kind: String, retry_status: String },
}

impl Step {
    /// Steps that stand for what a model writes (one model request groups them).
    pub fn is_model_output(&self) -> bool {
        matches!(self, Step::Text(_) | Step::Thinking(_) | Step::Tool { .. } | Step::CustomTool { .. })
    }

    pub fn is_call(&self) -> bool {
        matches!(self, Step::Tool { .. } | Step::CustomTool { .. })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    text: Option<String>,
    thinking: Option<String>,
    tool: Option<String>,
    custom_tool: Option<String>,
    input: Option<Value>,
    sleep_ms: Option<u64>,
    error: Option<String>,
    retry_status: Option<String>,
}

impl TryFrom<RawStep> for Step {
    type Error = String;

    fn try_from(mut raw: RawStep) -> Result<Step, String> {
        let kinds = [
            raw.text.is_some(),
            raw.thinking.is_some(),
            raw.tool.is_some(),
            raw.custom_tool.is_some(),
            raw.sleep_ms.is_some(),
            raw.error.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(
                "each step needs exactly one of text, thinking, tool, custom_tool, sleep_ms or error".to_owned()
            );
        }
        let input = match raw.input.take() {
            None => Value::Object(Map::new()),
            Some(Value::Object(map)) => Value::Object(map),
            Some(_) => return Err("input must be a JSON object".to_owned()),
        };
        if raw.input_is_misplaced(&input) {
            return Err("input belongs only to tool and custom_tool steps".to_owned());
        }
        if raw.retry_status.is_some() && raw.error.is_none() {
            return Err("retry_status belongs only to error steps".to_owned());
        }
        Ok(if let Some(text) = raw.text {
            Step::Text(text)
        } else if let Some(thinking) = raw.thinking {
            Step::Thinking(thinking)
        } else if let Some(name) = raw.tool {
            if !BUILTIN_TOOLS.contains(&name.as_str()) {
                return Err(format!("tool {name:?} is not a built-in tool (one of {})", BUILTIN_TOOLS.join(", ")));
            }
            Step::Tool { name, input }
        } else if let Some(name) = raw.custom_tool {
            Step::CustomTool { name, input }
        } else if let Some(ms) = raw.sleep_ms {
            Step::SleepMs(ms)
        } else {
            let retry_status = raw.retry_status.unwrap_or_else(|| "exhausted".to_owned());
            if !["retrying", "exhausted", "terminal"].contains(&retry_status.as_str()) {
                return Err(format!("retry_status must be retrying, exhausted or terminal, not {retry_status:?}"));
            }
            Step::Error { kind: raw.error.unwrap_or_default(), retry_status }
        })
    }
}

impl RawStep {
    fn input_is_misplaced(&self, input: &Value) -> bool {
        let has_input = input.as_object().is_some_and(|m| !m.is_empty());
        has_input && self.tool.is_none() && self.custom_tool.is_none()
    }
}

impl Script {
    /// Parses a script. The error names the line and column of the fault.
    pub fn parse(text: &str) -> Result<Script, String> {
        let script: Script = serde_json::from_str(text).map_err(|error| {
            let message = error.to_string();
            let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m).to_owned();
            format!(
                "system: the script of the scripted model does not parse at line {}, column {}: {message}",
                error.line(),
                error.column()
            )
        })?;
        if script.turns.is_empty() || script.turns.iter().any(Vec::is_empty) {
            return Err(
                "system: the script of the scripted model needs at least one turn, and no turn may be empty".into()
            );
        }
        Ok(script)
    }

    /// The steps the n-th user message (0-based) plays: the last turn repeats.
    pub fn turn(&self, n: usize) -> &[Step] {
        &self.turns[n.min(self.turns.len() - 1)]
    }
}

/// Where the model request that starts at `start` ends: text and thinking, then the tool calls
/// that follow them (parallel calls of one response), up to the next text after a call.
pub fn request_end(steps: &[Step], start: usize) -> usize {
    let mut end = start;
    let mut seen_call = false;
    while end < steps.len() && steps[end].is_model_output() {
        if seen_call && !steps[end].is_call() {
            break;
        }
        seen_call |= steps[end].is_call();
        end += 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_parses_into_turns_of_steps() {
        let script = Script::parse(
            r#"{"turns": [[{"text": "Hi"}, {"tool": "bash", "input": {"command": "ls"}}], [{"sleep_ms": 5}, {"error": "model_overloaded_error", "retry_status": "retrying"}]]}"#,
        )
        .unwrap();
        assert_eq!(script.turn(0)[0], Step::Text("Hi".into()));
        assert_eq!(script.turn(7), script.turn(1), "the last turn repeats");
    }

    #[test]
    fn a_fault_is_named_by_line_and_column() {
        let error = Script::parse("{\"turns\": [[\n  {\"txt\": \"Hi\"}\n]]}").unwrap_err();
        assert!(error.contains("line 2"), "{error}");
        assert!(error.contains("txt"), "{error}");
        let error = Script::parse("{\"turns\": [[{\"tool\": \"rm_rf\"}]]}").unwrap_err();
        assert!(error.contains("not a built-in tool"), "{error}");
        assert!(Script::parse("You are a helpful assistant.").unwrap_err().contains("line 1, column 1"));
        assert!(Script::parse(r#"{"turns": [[{"text": "a", "sleep_ms": 3}]]}"#).is_err());
        assert!(Script::parse(r#"{"turns": []}"#).is_err());
    }

    #[test]
    fn text_and_the_calls_after_it_make_one_model_request() {
        let script = Script::parse(
            r#"{"turns": [[{"thinking": "t"}, {"text": "a"}, {"tool": "bash"}, {"custom_tool": "x"}, {"text": "b"}, {"sleep_ms": 1}, {"text": "c"}]]}"#,
        )
        .unwrap();
        let steps = script.turn(0);
        assert_eq!(request_end(steps, 0), 4);
        assert_eq!(request_end(steps, 4), 5);
        assert_eq!(request_end(steps, 5), 5, "a sleep is not a model request");
        assert_eq!(request_end(steps, 6), 7);
    }
}
