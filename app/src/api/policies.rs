//! Approval policies: what an admin sets for an agent's calls (or for every agent's): how many
//! distinct people must allow a call before Switchboard sends `allow` (1 or 2), whether the
//! person who sent the message that led to a call may allow it, who is told first and who next
//! when nobody answers (escalation), and hours in which nobody is told (quiet hours).
//!
//! An agent's own policy replaces the one for every agent (`*`); there is no merging. The server
//! keeps policies, who sent which message and who approved which call in SQLite
//! (`server/src/approvals/policies.rs`); the approval service applies the approval rules, the
//! notifier the escalation and quiet hours. The policy's own types are in `domain::policies`; here
//! are its form and its server functions.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;
use serde::{Deserialize, Serialize};

pub use crate::policies::*;

use super::JsonResponse;
use crate::error::AppError;

/// The policy form as the Rules page sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyForm {
    /// An agent's id, or `*`.
    pub agent_id: String,
    pub required_approvals: u8,
    #[serde(default)]
    pub no_self_approval: bool,
    /// Usernames, separated by commas or spaces; empty: every approver who chose email.
    #[serde(default)]
    pub first: String,
    /// Told next, when nobody answered for `then_after_secs`; empty: no escalation.
    #[serde(default)]
    pub then: String,
    #[serde(default)]
    pub then_after_secs: u32,
    /// "22:00" and "07:00", or both empty.
    #[serde(default)]
    pub quiet_start: String,
    #[serde(default)]
    pub quiet_end: String,
    #[serde(default)]
    pub utc_offset_minutes: i16,
    /// How long a call may wait before it is denied: "30m", "2h", "1h30m", "45s" (a bare number
    /// is minutes); empty: no deadline.
    #[serde(default)]
    pub deadline: String,
    /// Tools' own deadlines: "bash 5m, write 1h"; empty: none.
    #[serde(default)]
    pub tool_deadlines: String,
}

/// "1h30m", "45s", "2d", "30" (minutes) in seconds; `None` when it is not a duration.
pub fn parse_duration(text: &str) -> Option<u32> {
    let text = text.trim().to_ascii_lowercase().replace(' ', "");
    if text.is_empty() {
        return None;
    }
    if let Ok(minutes) = text.parse::<u32>() {
        return minutes.checked_mul(60);
    }
    let mut total: u32 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        let n: u32 = std::mem::take(&mut number).parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    number.is_empty().then_some(total)
}

/// A deadline's text, checked: within a week, at least a second.
fn deadline_secs(field: &str, text: &str) -> Result<u32, AppError> {
    match parse_duration(text) {
        Some(secs) if (1..=MAX_DEADLINE_SECS).contains(&secs) => Ok(secs),
        Some(_) => Err(AppError::bad_input(field, "A deadline is from 1 second to 7 days.")),
        None => Err(AppError::bad_input(
            field,
            format!("{:?} is not a duration; write one such as 30m, 2h or 1h30m.", text.trim()),
        )),
    }
}

/// "07:30" as minutes after midnight.
fn clock(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

fn people(text: &str) -> Vec<String> {
    let mut people: Vec<String> = Vec::new();
    for name in text.split(|c: char| c == ',' || c.is_whitespace()).filter(|n| !n.is_empty()) {
        if !people.iter().any(|p| p == name) {
            people.push(name.to_owned());
        }
    }
    people
}

impl PolicyForm {
    /// The policy it asks for, checked against the accounts that exist (`usernames`), or what is
    /// wrong with it. `updated_by`/`updated_at` are left for the server to fill.
    pub fn check(&self, usernames: &[String]) -> Result<Policy, AppError> {
        let agent_id = self.agent_id.trim();
        if agent_id != EVERY_AGENT && !super::is_id(agent_id) {
            return Err(AppError::bad_input("agent_id", "Choose the agent the policy is for, or every agent."));
        }
        if !(1..=2).contains(&self.required_approvals) {
            return Err(AppError::bad_input("required_approvals", "A call needs one or two approvals."));
        }
        let known = |field: &str, list: Vec<String>| -> Result<Vec<String>, AppError> {
            match list.iter().find(|name| !usernames.contains(name)) {
                Some(name) => Err(AppError::bad_input(
                    field,
                    format!("There is no account {name:?}; write usernames as the Users page lists them."),
                )),
                None => Ok(list),
            }
        };
        let first = known("first", people(&self.first))?;
        let then = known("then", people(&self.then))?;
        let mut escalation = Vec::new();
        if !then.is_empty() {
            // The page sends whole minutes; the wire takes seconds (the tests wait seconds).
            if self.then_after_secs == 0 || self.then_after_secs > MAX_ESCALATION_SECS {
                return Err(AppError::bad_input(
                    "then_after_secs",
                    "Say after how long the next group is told: 1 minute to 24 hours.",
                ));
            }
            escalation.push(Step { people: first, after_secs: 0 });
            escalation.push(Step { people: then, after_secs: self.then_after_secs });
        } else if !first.is_empty() {
            escalation.push(Step { people: first, after_secs: 0 });
        }
        let quiet_hours = match (self.quiet_start.trim(), self.quiet_end.trim()) {
            ("", "") => None,
            (start, end) => {
                let (Some(start), Some(end)) = (clock(start), clock(end)) else {
                    return Err(AppError::bad_input(
                        "quiet_start",
                        "Write quiet hours as two times of day, such as 22:00 and 07:00, or leave both empty.",
                    ));
                };
                if start == end {
                    return Err(AppError::bad_input(
                        "quiet_end",
                        "Quiet hours must end at another time than they start.",
                    ));
                }
                if !(-14 * 60..=14 * 60).contains(&self.utc_offset_minutes) {
                    return Err(AppError::bad_input("utc_offset_minutes", "Choose the time zone the hours are in."));
                }
                Some(QuietHours { start, end, utc_offset_minutes: self.utc_offset_minutes })
            }
        };
        Ok(Policy {
            agent_id: agent_id.to_owned(),
            required_approvals: self.required_approvals,
            no_self_approval: self.no_self_approval,
            escalation,
            quiet_hours,
            deadline: self.deadline()?,
            updated_by: String::new(),
            updated_at: String::new(),
        })
    }
}

impl PolicyForm {
    /// The deadline the form sets, checked.
    fn deadline(&self) -> Result<Deadline, AppError> {
        let after_secs = match self.deadline.trim() {
            "" => None,
            text => Some(deadline_secs("deadline", text)?),
        };
        let mut tools: Vec<ToolDeadline> = Vec::new();
        for item in self.tool_deadlines.split([',', '\n', ';']).map(str::trim).filter(|i| !i.is_empty()) {
            let Some((tool, after)) = item.split_once(char::is_whitespace) else {
                return Err(AppError::bad_input(
                    "tool_deadlines",
                    format!("{item:?} needs a tool and a duration, such as \"bash 5m\"."),
                ));
            };
            if tools.iter().any(|t| t.tool == tool) {
                return Err(AppError::bad_input("tool_deadlines", format!("{tool} has two deadlines; give it one.")));
            }
            tools.push(ToolDeadline { tool: tool.to_owned(), after_secs: deadline_secs("tool_deadlines", after)? });
        }
        Ok(Deadline { after_secs, tools })
    }
}

/// Every policy, the one for every agent first.
#[access(Viewer)]
#[server(endpoint = "policies/list", input = GetUrl, output = JsonResponse)]
pub async fn list_policies() -> Result<Vec<Policy>, AppError> {
    crate::approvals::approvals()?.0.policies().await
}

/// Sets an agent's policy (or every agent's), replacing the one it had.
#[access(Admin)]
#[server(endpoint = "policies/save", output = JsonResponse)]
pub async fn save_policy(form: PolicyForm) -> Result<Policy, AppError> {
    let accounts = use_context::<crate::auth::store::AccountsHandle>()
        .ok_or_else(|| AppError::internal("The server did not provide its accounts."))?;
    let usernames: Vec<String> = accounts
        .0
        .list()
        .await
        .map_err(|_| AppError::internal("Switchboard could not read its accounts; try again."))?
        .into_iter()
        .map(|a| a.username)
        .collect();
    let policy = form.check(&usernames)?;
    crate::approvals::approvals()?.0.save_policy(crate::approvals::caller()?, policy).await
}

/// Removes an agent's policy (its calls then follow the one for every agent, if any).
#[access(Admin)]
#[server(endpoint = "policies/delete", output = JsonResponse)]
pub async fn delete_policy(agent_id: String) -> Result<(), AppError> {
    let agent_id = agent_id.trim().to_owned();
    if agent_id != EVERY_AGENT {
        super::server::segment(&agent_id)?;
    }
    crate::approvals::approvals()?.0.delete_policy(crate::approvals::caller()?, agent_id).await
}

/// The approvals a session's waiting calls have and need, for their cards.
#[access(Viewer)]
#[server(endpoint = "sessions/approvals", input = GetUrl, output = JsonResponse)]
pub async fn session_approvals(session_id: String) -> Result<ApprovalState, AppError> {
    let session_id = super::server::segment(&session_id)?;
    crate::approvals::approvals()?.0.state(session_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> PolicyForm {
        PolicyForm { agent_id: "agent_1".into(), required_approvals: 2, ..PolicyForm::default() }
    }

    #[test]
    fn quiet_hours_over_midnight_in_an_offset() {
        // 22:00 to 07:00 at UTC+01:00.
        let quiet = QuietHours { start: 22 * 60, end: 7 * 60, utc_offset_minutes: 60 };
        let at = |h: i64, m: i64| 1_700_006_400 + (h * 60 + m) * 60; // 2023-11-15 00:00 UTC + h:m
        assert!(quiet.contains(at(21, 0)), "22:00 local is quiet");
        assert!(quiet.contains(at(5, 59)), "06:59 local is quiet");
        assert!(!quiet.contains(at(6, 0)), "07:00 local is not");
        assert!(!quiet.contains(at(12, 0)));
        assert_eq!(quiet.secs_left(at(5, 0)), 3600);
        assert_eq!(quiet.secs_left(at(12, 0)), 0);
        assert_eq!(quiet.in_words(), "22:00 to 07:00 (UTC+01:00)");
    }

    #[test]
    fn the_form_names_what_is_wrong() {
        let users = vec!["ann".to_owned(), "bob".to_owned()];
        assert_eq!(form().check(&users).unwrap().required_approvals, 2);
        let field = |f: PolicyForm| match f.check(&users) {
            Err(AppError { field, .. }) => field,
            Ok(_) => None,
        };
        assert_eq!(field(PolicyForm { required_approvals: 3, ..form() }).as_deref(), Some("required_approvals"));
        assert_eq!(field(PolicyForm { first: "ann, carol".into(), ..form() }).as_deref(), Some("first"));
        assert_eq!(field(PolicyForm { then: "bob".into(), ..form() }).as_deref(), Some("then_after_secs"));
        assert_eq!(
            field(PolicyForm { quiet_start: "25:00".into(), quiet_end: "07:00".into(), ..form() }).as_deref(),
            Some("quiet_start")
        );
        let escalating = PolicyForm { first: "ann".into(), then: "bob ann bob".into(), then_after_secs: 900, ..form() };
        let policy = escalating.check(&users).unwrap();
        assert_eq!(
            policy.escalation,
            vec![
                Step { people: vec!["ann".into()], after_secs: 0 },
                Step { people: vec!["bob".into(), "ann".into()], after_secs: 900 }
            ]
        );
        assert_eq!(policy.in_words()[2], "After 15 minutes: bob, ann.");
    }

    #[test]
    fn deadlines_are_written_as_durations_and_a_tool_may_have_its_own() {
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration(" 45 s "), Some(45));
        assert_eq!(parse_duration("30"), Some(1800), "a bare number is minutes");
        assert_eq!(parse_duration("2x"), None);
        assert_eq!(parse_duration("5m3"), None);
        let users: Vec<String> = Vec::new();
        let with = |deadline: &str, tools: &str| {
            PolicyForm { deadline: deadline.into(), tool_deadlines: tools.into(), ..form() }.check(&users)
        };
        let policy = with("30m", "bash 2s, write 1h").unwrap();
        assert_eq!(policy.deadline.secs_for("bash"), Some(2));
        assert_eq!(policy.deadline.secs_for("write"), Some(3600));
        assert_eq!(policy.deadline.secs_for("read"), Some(1800));
        assert!(policy.in_words().contains(&"A call nobody decides within 30 minutes is denied.".to_owned()));
        assert_eq!(with("", "bash 5m").unwrap().deadline.secs_for("read"), None, "only the tool named");
        let field = |r: Result<Policy, AppError>| r.err().and_then(|e| e.field);
        assert_eq!(field(with("soon", "")).as_deref(), Some("deadline"));
        assert_eq!(field(with("8d", "")).as_deref(), Some("deadline"));
        assert_eq!(field(with("", "bash")).as_deref(), Some("tool_deadlines"));
        assert_eq!(field(with("", "bash 1m, bash 2m")).as_deref(), Some("tool_deadlines"));
        assert_eq!(deadline_message(1800), "No decision within 30 minutes: denied by the approval policy.");
    }

    #[test]
    fn a_calls_deadline_counts_from_when_it_was_asked_and_custom_tools_have_none() {
        let mut policy = form().check(&[]).unwrap();
        policy.agent_id = EVERY_AGENT.into();
        policy.deadline =
            Deadline { after_secs: Some(60), tools: vec![ToolDeadline { tool: "bash".into(), after_secs: 2 }] };
        let all = [policy];
        let event = |kind: &str, name: &str| serde_json::json!({ "type": kind, "name": name, "processed_at": "1970-01-01T00:00:10Z" });
        assert_eq!(deadline_ms(&all, Some("agent_x"), &event("agent.tool_use", "bash")), Some(12_000));
        assert_eq!(deadline_ms(&all, None, &event("agent.mcp_tool_use", "search")), Some(70_000));
        assert_eq!(deadline_ms(&all, None, &event("agent.custom_tool_use", "bash")), None);
        assert_eq!(
            deadline_words(12_000, Some(9_500.0)),
            "Denied by the approval policy in 3 seconds unless somebody decides first."
        );
        assert!(deadline_words(12_000, Some(12_000.0)).starts_with("Past its deadline"));
    }

    #[test]
    fn an_agents_own_policy_replaces_the_one_for_every_agent() {
        let p = |agent: &str, n: u8| Policy {
            agent_id: agent.into(),
            required_approvals: n,
            no_self_approval: false,
            escalation: Vec::new(),
            quiet_hours: None,
            deadline: Deadline::default(),
            updated_by: String::new(),
            updated_at: String::new(),
        };
        let all = [p("*", 2), p("agent_a", 1)];
        assert_eq!(policy_for(&all, Some("agent_a")).unwrap().required_approvals, 1);
        assert_eq!(policy_for(&all, Some("agent_b")).unwrap().required_approvals, 2);
        assert_eq!(policy_for(&all[1..], Some("agent_b")), None);
    }

    #[test]
    fn a_card_says_whether_the_self_approval_rule_applies() {
        let policy = Policy {
            agent_id: "*".into(),
            required_approvals: 2,
            no_self_approval: true,
            escalation: Vec::new(),
            quiet_hours: None,
            deadline: Deadline::default(),
            updated_by: String::new(),
            updated_at: String::new(),
        };
        let state = ApprovalState {
            policy: Some(policy),
            calls: vec![
                CallApprovals {
                    event_id: "c1".into(),
                    approved_by: vec!["Bob".into()],
                    sender: Some(Sender::Person { username: "ann".into(), label: "Ann".into() }),
                },
                CallApprovals { event_id: "c2".into(), approved_by: vec![], sender: Some(Sender::Outside) },
            ],
        };
        assert_eq!(
            state.lines("c1", Some("ann")),
            vec![
                "Needs 2 approvals from different people: 1 of 2 so far (Bob).".to_owned(),
                "You sent the message that led to this call: somebody else must allow it (you may deny it).".to_owned()
            ]
        );
        assert!(state.lines("c1", Some("bob"))[1].starts_with("Ann sent the message"));
        assert!(state.lines("c2", Some("bob"))[1].contains("does not apply"));
    }
}
