//! The scripted model: a deterministic stand-in for a model, for demos and tests (no AI).
//!
//! An agent whose model id is `scripted` carries a JSON script as its system prompt:
//! `{"turns": [[step, …], …], "stream_delay_ms"?: n}`. The n-th `user.message` of a session plays
//! the n-th turn; the last turn repeats. Steps: `{"text": s}`, `{"thinking": s}`,
//! `{"tool": name, "input": {…}}`, `{"custom_tool": name, "input": {…}}`,
//! `{"mcp_tool": name, "server": s, "input": {…}}` (a tool of the agent's MCP server `s`), `{"sleep_ms": n}`,
//! `{"error": type, "retry_status"?: "retrying"|"exhausted"|"terminal"}`; for multiagent sessions
//! `{"subagent": name | {"name", "script"}, "message": s}`, `{"advisor": question, "answer": s}`,
//! `{"workflow": {"name", "description"?, "phases": [{"name", "description"?, "subagent"?, "message"?}]}}`,
//! `{"send_message": s}` (a child thread to its parent) and `{"compact": true}`. `grader` lists
//! what the outcome grader decides at each iteration. `stream_delay_ms` (an engine addition,
//! default 0) spaces out the streamed previews of text so a demo reads live.

use serde::Deserialize;
use serde_json::{Map, Value};

/// The model id that selects the scripted model.
pub const SCRIPTED_MODEL: &str = "scripted";

/// The verdicts a script's grader may give.
pub const GRADES: [&str; 3] = ["satisfied", "needs_revision", "failed"];

pub const BUILTIN_TOOLS: [&str; 8] = ["bash", "read", "write", "edit", "glob", "grep", "web_fetch", "web_search"];

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    pub turns: Vec<Vec<Step>>,
    #[serde(default)]
    pub stream_delay_ms: u64,
    /// What the outcome grader decides at each iteration (0-based; the last repeats). Without
    /// it every iteration is satisfied.
    #[serde(default)]
    pub grader: Vec<Grade>,
}

/// One verdict of the scripted outcome grader.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grade {
    /// `satisfied`, `needs_revision` or `failed`.
    pub result: String,
    pub explanation: String,
}

/// Who a `subagent` step delegates to.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Delegate {
    /// A predefined agent of the session's multiagent configuration, by its name.
    Named(String),
    /// An agent defined on the spot: a name and the script it plays (model `scripted`), kept
    /// as written (it becomes the inline agent's system prompt) and checked when parsed.
    Inline { name: String, script: Value },
}

impl Delegate {
    pub fn name(&self) -> &str {
        match self {
            Delegate::Named(name) | Delegate::Inline { name, .. } => name,
        }
    }
}

/// A workflow run's plan.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub phases: Vec<Phase>,
}

/// One phase of a workflow run: optionally a thread that does its work.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub subagent: Option<Delegate>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawStep")]
pub enum Step {
    Text(String),
    Thinking(String),
    Tool {
        name: String,
        input: Value,
    },
    CustomTool {
        name: String,
        input: Value,
    },
    /// A call of the tool `name` of the agent's MCP server `server`.
    McpTool {
        server: String,
        name: String,
        input: Value,
    },
    SleepMs(u64),
    Error {
        kind: String,
        retry_status: String,
    },
    /// Starts a child thread with `message` as its task, and waits for its answer.
    Subagent {
        agent: Delegate,
        message: String,
    },
    /// Consults the advisor model; its thread answers `answer`.
    Advisor {
        question: String,
        answer: String,
    },
    /// Runs a workflow: its phases in order, each phase's thread (if any) to its end.
    Workflow(Workflow),
    /// In a child thread: a message to the thread that started it.
    SendMessage(String),
    /// The thread's context was compacted.
    Compact,
}

impl Step {
    /// Steps that stand for what a model writes (one model request groups them).
    pub fn is_model_output(&self) -> bool {
        matches!(self, Step::Text(_) | Step::Thinking(_)) || self.is_call()
    }

    pub fn is_call(&self) -> bool {
        matches!(self, Step::Tool { .. } | Step::CustomTool { .. } | Step::McpTool { .. })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    text: Option<String>,
    thinking: Option<String>,
    tool: Option<String>,
    custom_tool: Option<String>,
    mcp_tool: Option<String>,
    server: Option<String>,
    input: Option<Value>,
    sleep_ms: Option<u64>,
    error: Option<String>,
    retry_status: Option<String>,
    subagent: Option<Delegate>,
    message: Option<String>,
    advisor: Option<String>,
    answer: Option<String>,
    workflow: Option<Workflow>,
    send_message: Option<String>,
    compact: Option<bool>,
}

/// Why a step of a script is refused (serde reports it where the step is).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StepError {
    #[error(
        "each step needs exactly one of text, thinking, tool, custom_tool, mcp_tool, sleep_ms, error, subagent, advisor, workflow, send_message or compact"
    )]
    NotOneKind,
    #[error("{field} belongs only to {steps} steps")]
    Misplaced { field: &'static str, steps: &'static str },
    #[error("compact must be true")]
    CompactFalse,
    #[error("input must be a JSON object")]
    InputNotObject,
    #[error("tool {name:?} is not a built-in tool (one of {})", BUILTIN_TOOLS.join(", "))]
    NotBuiltIn { name: String },
    #[error("an mcp_tool step needs the server (a name in the agent's mcp_servers) whose tool it calls")]
    NoServer,
    #[error("a subagent step needs the message that is its thread's task")]
    NoMessage,
    #[error("an advisor step needs the answer its advisor gives")]
    NoAnswer,
    #[error("workflow phase {phase:?}: subagent and message go together")]
    PhaseHalf { phase: String },
    #[error("retry_status must be retrying, exhausted or terminal, not {retry_status:?}")]
    RetryStatus { retry_status: String },
}

impl TryFrom<RawStep> for Step {
    type Error = StepError;

    fn try_from(mut raw: RawStep) -> Result<Step, StepError> {
        let kinds = [
            raw.text.is_some(),
            raw.thinking.is_some(),
            raw.tool.is_some(),
            raw.custom_tool.is_some(),
            raw.mcp_tool.is_some(),
            raw.sleep_ms.is_some(),
            raw.error.is_some(),
            raw.subagent.is_some(),
            raw.advisor.is_some(),
            raw.workflow.is_some(),
            raw.send_message.is_some(),
            raw.compact.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(StepError::NotOneKind);
        }
        if raw.message.is_some() && raw.subagent.is_none() {
            return Err(StepError::Misplaced { field: "message", steps: "subagent" });
        }
        if raw.server.is_some() && raw.mcp_tool.is_none() {
            return Err(StepError::Misplaced { field: "server", steps: "mcp_tool" });
        }
        if raw.answer.is_some() && raw.advisor.is_none() {
            return Err(StepError::Misplaced { field: "answer", steps: "advisor" });
        }
        if raw.compact == Some(false) {
            return Err(StepError::CompactFalse);
        }
        let input = match raw.input.take() {
            None => Value::Object(Map::new()),
            Some(Value::Object(map)) => Value::Object(map),
            Some(_) => return Err(StepError::InputNotObject),
        };
        if raw.input_is_misplaced(&input) {
            return Err(StepError::Misplaced { field: "input", steps: "tool, custom_tool and mcp_tool" });
        }
        if raw.retry_status.is_some() && raw.error.is_none() {
            return Err(StepError::Misplaced { field: "retry_status", steps: "error" });
        }
        Ok(if let Some(text) = raw.text {
            Step::Text(text)
        } else if let Some(thinking) = raw.thinking {
            Step::Thinking(thinking)
        } else if let Some(name) = raw.tool {
            if !BUILTIN_TOOLS.contains(&name.as_str()) {
                return Err(StepError::NotBuiltIn { name });
            }
            Step::Tool { name, input }
        } else if let Some(name) = raw.custom_tool {
            Step::CustomTool { name, input }
        } else if let Some(name) = raw.mcp_tool {
            Step::McpTool { server: raw.server.ok_or(StepError::NoServer)?, name, input }
        } else if let Some(ms) = raw.sleep_ms {
            Step::SleepMs(ms)
        } else if let Some(agent) = raw.subagent {
            let message = raw.message.ok_or(StepError::NoMessage)?;
            Step::Subagent { agent, message }
        } else if let Some(question) = raw.advisor {
            Step::Advisor { question, answer: raw.answer.ok_or(StepError::NoAnswer)? }
        } else if let Some(workflow) = raw.workflow {
            if let Some(phase) = workflow.phases.iter().find(|p| p.subagent.is_some() != p.message.is_some()) {
                return Err(StepError::PhaseHalf { phase: phase.name.clone() });
            }
            Step::Workflow(workflow)
        } else if let Some(text) = raw.send_message {
            Step::SendMessage(text)
        } else if raw.compact.is_some() {
            Step::Compact
        } else {
            let retry_status = raw.retry_status.unwrap_or_else(|| "exhausted".to_owned());
            if !["retrying", "exhausted", "terminal"].contains(&retry_status.as_str()) {
                return Err(StepError::RetryStatus { retry_status });
            }
            Step::Error { kind: raw.error.unwrap_or_default(), retry_status }
        })
    }
}

impl RawStep {
    fn input_is_misplaced(&self, input: &Value) -> bool {
        let has_input = input.as_object().is_some_and(|m| !m.is_empty());
        has_input && self.tool.is_none() && self.custom_tool.is_none() && self.mcp_tool.is_none()
    }
}

/// Why a scripted agent's system prompt is not a script it can play: the API's 400 when the
/// agent is saved.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("system: the script of the scripted model does not parse at line {line}, column {column}: {message}")]
    Unparsed { line: usize, column: usize, message: String },
    #[error("system: the script of the scripted model {0}")]
    Fault(ScriptFault),
}

/// What is wrong with a script that parses (its words follow "the script of the scripted model").
#[derive(Debug, thiserror::Error)]
pub enum ScriptFault {
    #[error("needs at least one turn, and no turn may be empty")]
    EmptyTurn,
    #[error("has a grader result {result:?}; use one of {}", GRADES.join(", "))]
    UnknownGrade { result: String },
    #[error("(inline agent {name:?}) does not parse: {error}")]
    InlineUnparsed { name: String, error: serde_json::Error },
    #[error("(inline agent {name:?}) {fault}")]
    InlineFault { name: String, fault: Box<ScriptFault> },
}

/// Why an agent has no script to play, in words for the person who runs it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NoScript {
    #[error("The agent's script does not parse; fix its system prompt.")]
    Unparsed,
    #[error("{model:?} is not the scripted model: it has no script.")]
    NotScripted { model: String },
}

impl Script {
    /// Parses a script. The error names the line and column of the fault.
    pub fn parse(text: &str) -> Result<Script, ScriptError> {
        let script: Script = serde_json::from_str(text).map_err(|error| {
            let message = error.to_string();
            let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m).to_owned();
            ScriptError::Unparsed { line: error.line(), column: error.column(), message }
        })?;
        script.check().map_err(ScriptError::Fault)?;
        Ok(script)
    }

    /// What parsing alone does not catch, in this script and the inline agents' scripts.
    fn check(&self) -> Result<(), ScriptFault> {
        if self.turns.is_empty() || self.turns.iter().any(Vec::is_empty) {
            return Err(ScriptFault::EmptyTurn);
        }
        if let Some(grade) = self.grader.iter().find(|g| !GRADES.contains(&g.result.as_str())) {
            return Err(ScriptFault::UnknownGrade { result: grade.result.clone() });
        }
        for step in self.turns.iter().flatten() {
            let delegates: Vec<&Delegate> = match step {
                Step::Subagent { agent, .. } => vec![agent],
                Step::Workflow(workflow) => workflow.phases.iter().filter_map(|p| p.subagent.as_ref()).collect(),
                _ => vec![],
            };
            for delegate in delegates {
                if let Delegate::Inline { name, script } = delegate {
                    let script: Script = serde_json::from_value(script.clone())
                        .map_err(|error| ScriptFault::InlineUnparsed { name: name.clone(), error })?;
                    script
                        .check()
                        .map_err(|fault| ScriptFault::InlineFault { name: name.clone(), fault: Box::new(fault) })?;
                }
            }
        }
        Ok(())
    }

    /// What the grader decides at `iteration` (0-based): the last verdict repeats.
    pub fn grade(&self, iteration: usize) -> Grade {
        self.grader.get(iteration.min(self.grader.len().saturating_sub(1))).cloned().unwrap_or_else(|| Grade {
            result: "satisfied".to_owned(),
            explanation: "The scripted grader accepts every iteration.".to_owned(),
        })
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
        assert!(matches!(&error, ScriptError::Unparsed { line: 2, message, .. } if message.contains("txt")), "{error}");
        assert!(matches!(
            Script::parse("You are a helpful assistant."),
            Err(ScriptError::Unparsed { line: 1, column: 1, .. })
        ));
        // A step's fault reaches serde as words; they are the step's error's.
        let step_fault = |text: &str| match Script::parse(text) {
            Err(ScriptError::Unparsed { message, .. }) => message,
            other => panic!("{other:?}"),
        };
        let not_built_in = StepError::NotBuiltIn { name: "rm_rf".into() }.to_string();
        assert_eq!(step_fault(r#"{"turns": [[{"tool": "rm_rf"}]]}"#), not_built_in);
        assert_eq!(step_fault(r#"{"turns": [[{"text": "a", "sleep_ms": 3}]]}"#), StepError::NotOneKind.to_string());
        assert_eq!(step_fault(r#"{"turns": [[{"subagent": "Researcher"}]]}"#), StepError::NoMessage.to_string());
        assert_eq!(step_fault(r#"{"turns": [[{"mcp_tool": "search"}]]}"#), StepError::NoServer.to_string());
        let misplaced = StepError::Misplaced { field: "server", steps: "mcp_tool" }.to_string();
        assert_eq!(step_fault(r#"{"turns": [[{"tool": "bash", "server": "docs"}]]}"#), misplaced);
        let mcp = Script::parse(r#"{"turns": [[{"mcp_tool": "search", "server": "docs", "input": {"q": "x"}}]]}"#);
        let step = mcp.unwrap().turn(0)[0].clone();
        let expected =
            Step::McpTool { server: "docs".into(), name: "search".into(), input: serde_json::json!({"q": "x"}) };
        assert_eq!(step, expected);
        assert!(step.is_call() && step.is_model_output());
        assert!(matches!(Script::parse(r#"{"turns": []}"#), Err(ScriptError::Fault(ScriptFault::EmptyTurn))));
        let grader =
            Script::parse(r#"{"turns": [[{"text": "a"}]], "grader": [{"result": "great", "explanation": ""}]}"#);
        assert!(matches!(grader, Err(ScriptError::Fault(ScriptFault::UnknownGrade { result })) if result == "great"));
        let inline =
            Script::parse(r#"{"turns": [[{"subagent": {"name": "x", "script": {"turns": []}}, "message": "go"}]]}"#);
        let Err(ScriptError::Fault(fault @ ScriptFault::InlineFault { .. })) = inline else { panic!("{inline:?}") };
        // The words of the API's 400, by which a person mends the script.
        assert_eq!(
            ScriptError::Fault(fault).to_string(),
            "system: the script of the scripted model (inline agent \"x\") needs at least one turn, and no turn may be empty"
        );
    }

    #[test]
    fn multiagent_steps_parse_and_the_grader_repeats_its_last_verdict() {
        let script = Script::parse(
            r#"{"turns": [[{"subagent": "Researcher", "message": "Find it"},
                           {"subagent": {"name": "Checker", "script": {"turns": [[{"text": "ok"}]]}}, "message": "Check it"},
                           {"advisor": "Ship?", "answer": "Yes"}, {"compact": true},
                           {"workflow": {"name": "Release", "phases": [{"name": "Build"}, {"name": "Test", "subagent": "Researcher", "message": "test"}]}}]],
                "grader": [{"result": "needs_revision", "explanation": "too short"}, {"result": "satisfied", "explanation": "good"}]}"#,
        )
        .unwrap();
        assert_eq!(script.turn(0).len(), 5);
        assert!(
            matches!(&script.turn(0)[1], Step::Subagent { agent: Delegate::Inline { name, .. }, .. } if name == "Checker")
        );
        assert_eq!(script.grade(0).result, "needs_revision");
        assert_eq!(script.grade(5).result, "satisfied");
        assert_eq!(Script::parse(r#"{"turns": [[{"text": "a"}]]}"#).unwrap().grade(0).result, "satisfied");
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
