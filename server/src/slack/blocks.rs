//! The Slack messages of waiting calls, in Block Kit: what the call would do (the command, or a
//! short diff of an edit), where (the session, the agent), Allow and Deny buttons and a link to
//! the call in Switchboard; once decided, the same without buttons and with who decided. And the
//! modal Deny opens for the message to the agent. Pure: the service sends what these make.

use domain::{diff::diff_text, inbox::PendingCall};
use serde::{Deserialize, Serialize};

use crate::support::slack_escape as escape;
use serde_json::{Value, json};

/// A call as its message shows it: the call, and who asked for it (the person whose message led
/// to it, or that it came from outside Switchboard), kept with the message to write it again.
#[derive(Serialize, Deserialize)]
pub struct Posted {
    #[serde(flatten)]
    pub call: PendingCall,
    #[serde(default)]
    pub asked_by: Option<String>,
}

/// The `action_id`s of the buttons, and the modal's `callback_id`.
pub const ALLOW: &str = "allow";
pub const DENY: &str = "deny";
pub const DENY_MODAL: &str = "deny_reason";
/// The modal's text field.
pub const REASON_BLOCK: &str = "reason";
pub const REASON_INPUT: &str = "reason_input";

/// A section's text is at most 3,000 characters; the detail is cut below that.
const MAX_DETAIL: usize = 2_500;
/// The lines of an edit's diff shown, at most.
const MAX_DIFF_LINES: usize = 20;

/// `text` in a code block: escaped, with no backticks that would end it, cut below a section's limit.
fn code(text: &str) -> String {
    let mut text = escape(text).replace("```", "'''");
    if let Some((cut, _)) = text.char_indices().nth(MAX_DETAIL) {
        text.truncate(cut);
        text.push_str("\n… (cut; the whole input is in Switchboard)");
    }
    format!("```{text}```")
}

/// What the call would do, in a code block: a command whole, an edit as a short diff, a new
/// file's first lines, or the input as JSON.
pub fn detail(call: &PendingCall) -> String {
    let input = call.event.get("input").unwrap_or(&Value::Null);
    let field = |k: &str| input.get(k).and_then(Value::as_str);
    if let Some(command) = field("command") {
        return code(&format!("$ {command}"));
    }
    if let (Some(old), Some(new)) = (field("old_string"), field("new_string")) {
        let lines: Vec<String> = diff_text(old, new)
            .into_iter()
            .take(MAX_DIFF_LINES)
            .map(|line| format!("{} {}", line.sign, line.text))
            .collect();
        let path = field("file_path").unwrap_or("the file");
        return format!("{}\n{}", escape(path), code(&lines.join("\n")));
    }
    if let (Some(path), Some(content)) = (field("file_path"), field("content")) {
        let lines: Vec<String> = content.lines().take(MAX_DIFF_LINES).map(|l| format!("+ {l}")).collect();
        return format!("{} (new content)\n{}", escape(path), code(&lines.join("\n")));
    }
    code(&serde_json::to_string_pretty(input).unwrap_or_default())
}

/// "An agent wants to run bash in Fix the build": the message's first line and its notification.
pub fn headline(call: &PendingCall) -> String {
    let agent = call.thread_agent.as_deref().or(call.agent_name.as_deref()).unwrap_or("An agent");
    format!("{agent} wants to run {} in {}", call.tool(), call.session_label())
}

fn context(posted: &Posted, link: &str) -> Value {
    let call = &posted.call;
    let mut parts = vec![format!("Session <{link}|{}>", escape(call.session_label()))];
    if let Some(agent) = &call.agent_name {
        parts.push(format!("agent {}", escape(agent)));
    }
    if let Some(thread) = call.thread_agent.as_deref().filter(|t| Some(*t) != call.agent_name.as_deref()) {
        parts.push(format!("asked by its subagent {}", escape(thread)));
    }
    if let Some(person) = &posted.asked_by {
        parts.push(format!("after a message from {}", escape(person)));
    }
    json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": parts.join(" · ") }] })
}

/// The value the buttons carry: the workspace, the session and the call.
pub fn button_value(workspace: &str, call: &PendingCall) -> String {
    format!("{workspace} {} {}", call.session_id, call.event_id())
}

/// A waiting call's message: `(text, blocks)`. `note` is said above the buttons (a first
/// approval that waits for a second person).
pub fn waiting(workspace: &str, posted: &Posted, link: &str, note: Option<&str>) -> (String, Value) {
    let call = &posted.call;
    let headline = headline(call);
    let mut blocks = vec![
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("*{}*", escape(&headline)) } }),
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": detail(call) } }),
        context(posted, link),
    ];
    if let Some(note) = note {
        blocks.push(json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": escape(note) }] }));
    }
    let value = button_value(workspace, call);
    blocks.push(json!({
        "type": "actions",
        "block_id": "decide",
        "elements": [
            { "type": "button", "action_id": ALLOW, "style": "primary", "value": value,
              "text": { "type": "plain_text", "text": "Allow" } },
            { "type": "button", "action_id": DENY, "style": "danger", "value": value,
              "text": { "type": "plain_text", "text": "Deny…" } },
            { "type": "button", "action_id": "open", "url": link,
              "text": { "type": "plain_text", "text": "Open in Switchboard" } },
        ],
    }));
    (headline, Value::Array(blocks))
}

/// A decided call's message: no buttons, and `outcome` ("Allowed by ann (10:02 UTC)").
pub fn settled(posted: &Posted, link: &str, outcome: &str) -> (String, Value) {
    let call = &posted.call;
    let blocks = json!([
        { "type": "section", "text": { "type": "mrkdwn", "text": format!("*{}*", escape(&headline(call))) } },
        { "type": "section", "text": { "type": "mrkdwn", "text": detail(call) } },
        context(posted, link),
        { "type": "context", "elements": [{ "type": "mrkdwn", "text": format!("*{}*", escape(outcome)) }] },
    ]);
    (format!("{}: {outcome}", headline(call)), blocks)
}

/// The modal Deny opens: the message to the agent, required. `metadata` comes back with it.
pub fn deny_modal(call_line: &str, metadata: &str) -> Value {
    json!({
        "type": "modal",
        "callback_id": DENY_MODAL,
        "private_metadata": metadata,
        "title": { "type": "plain_text", "text": "Deny this call" },
        "submit": { "type": "plain_text", "text": "Deny" },
        "close": { "type": "plain_text", "text": "Cancel" },
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": escape(call_line) } },
            { "type": "input", "block_id": REASON_BLOCK,
              "label": { "type": "plain_text", "text": "Why? The agent is told this." },
              "element": { "type": "plain_text_input", "action_id": REASON_INPUT, "multiline": true,
                           "max_length": 2000 } },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(input: Value) -> Posted {
        Posted { call: call(input), asked_by: Some("Ann (ann)".into()) }
    }

    fn call(input: Value) -> PendingCall {
        PendingCall {
            session_id: "sesn_1".into(),
            session_title: Some("Fix <the> build".into()),
            agent_id: Some("agent_1".into()),
            agent_name: Some("Builder".into()),
            event: json!({ "id": "sevt_1", "type": "agent.tool_use", "name": "bash", "input": input }),
            thread_agent: None,
            deadline_ms: None,
        }
    }

    #[test]
    fn a_waiting_call_shows_its_command_session_and_buttons_escaped() {
        let (text, blocks) =
            waiting("default", &posted(json!({ "command": "echo `a` && ls <x>" })), "https://sb/s", None);
        assert_eq!(text, "Builder wants to run bash in Fix <the> build");
        let all = blocks.to_string();
        assert!(all.contains("$ echo `a` &amp;&amp; ls &lt;x&gt;"), "{all}");
        assert!(all.contains("Fix &lt;the&gt; build"), "{all}");
        assert!(all.contains("after a message from Ann (ann)"), "who asked: {all}");
        let actions = &blocks[3]["elements"];
        assert_eq!(actions[0]["action_id"], ALLOW);
        assert_eq!(actions[0]["value"], "default sesn_1 sevt_1");
        assert_eq!(actions[1]["action_id"], DENY);
        let (_, decided) = settled(&posted(json!({ "command": "ls" })), "https://sb/s", "Allowed by ann (10:02 UTC)");
        assert!(!decided.to_string().contains("\"actions\""), "no buttons once decided");
        assert!(decided.to_string().contains("Allowed by ann (10:02 UTC)"));
    }

    #[test]
    fn an_edit_is_a_short_diff_and_a_long_input_is_cut() {
        let edit =
            detail(&call(json!({ "file_path": "src/a.rs", "old_string": "let a = 1;", "new_string": "let a = 2;" })));
        assert!(edit.starts_with("src/a.rs\n```"), "{edit}");
        assert!(edit.contains("- let a = 1;") && edit.contains("+ let a = 2;"), "{edit}");
        let long = detail(&call(json!({ "command": "x".repeat(10_000) })));
        assert!(long.len() < 3_000 && long.contains("cut; the whole input is in Switchboard"));
    }
}
