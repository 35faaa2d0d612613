//! Approval policies: what an admin sets for an agent's calls (or for every agent's): how many
//! distinct people must allow a call before Switchboard sends `allow` (1 or 2), whether the
//! person who sent the message that led to a call may allow it, who is told first and who next
//! when nobody answers (escalation), and hours in which nobody is told (quiet hours).
//!
//! An agent's own policy replaces the one for every agent (`*`); there is no merging. The server
//! keeps policies, who sent which message and who approved which call in SQLite
//! (`server/src/policies.rs`); `sessions/decide` applies the approval rules, the notifier the
//! escalation and quiet hours.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;
use serde::{Deserialize, Serialize};

use super::JsonResponse;
use crate::error::AppError;

/// The policy key that holds for every agent without a policy of its own.
pub const EVERY_AGENT: &str = "*";

/// The longest wait before the next group is told: a day.
pub const MAX_ESCALATION_SECS: u32 = 24 * 60 * 60;

/// An admin's policy for one agent's calls, or every agent's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// An agent's id, or [`EVERY_AGENT`].
    pub agent_id: String,
    /// Distinct people who must allow a call before `allow` is sent: 1 or 2. One denial is final.
    pub required_approvals: u8,
    /// The person who sent the message that led to a call may not allow it (they may deny it).
    pub no_self_approval: bool,
    /// Who is told of a waiting call, in turn: the first step at once, each later one when the
    /// call has waited its `after_secs`. Empty: everyone who chose email, at once.
    pub escalation: Vec<Step>,
    /// Hours in which nobody is told; what waits is told when they end.
    pub quiet_hours: Option<QuietHours>,
    /// Who set it (a label), and when (RFC 3339, UTC).
    pub updated_by: String,
    pub updated_at: String,
}

/// One group of an escalation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Usernames. Empty: every approver who chose email.
    pub people: Vec<String>,
    /// How long a call waits before this group is told (0 for the first).
    pub after_secs: u32,
}

/// Quiet hours: from `start` to `end`, minutes after midnight in a fixed offset from UTC; `start`
/// after `end` runs over midnight ("22:00 to 07:00").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    pub start: u16,
    pub end: u16,
    /// The offset the hours are written in (`+60` for UTC+01:00). A fixed offset does not follow
    /// daylight saving time: an admin moves it twice a year.
    pub utc_offset_minutes: i16,
}

impl QuietHours {
    /// The minute of the day `unix_secs` falls on, in the hours' offset.
    fn minute_of_day(&self, unix_secs: i64) -> u16 {
        let local = unix_secs.div_euclid(60) + i64::from(self.utc_offset_minutes);
        local.rem_euclid(24 * 60) as u16
    }

    /// Whether `unix_secs` (seconds since the epoch) is within the quiet hours.
    pub fn contains(&self, unix_secs: i64) -> bool {
        let minute = self.minute_of_day(unix_secs);
        if self.start <= self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        }
    }

    /// Seconds from `unix_secs` until the quiet hours end (0 when they are not on).
    pub fn secs_left(&self, unix_secs: i64) -> i64 {
        if !self.contains(unix_secs) {
            return 0;
        }
        let minute = i64::from(self.minute_of_day(unix_secs));
        let until = (i64::from(self.end) - minute).rem_euclid(24 * 60);
        until * 60 - unix_secs.rem_euclid(60)
    }

    /// "22:00 to 07:00 (UTC+01:00)".
    pub fn in_words(&self) -> String {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        let offset = self.utc_offset_minutes;
        let sign = if offset < 0 { '-' } else { '+' };
        let offset = offset.unsigned_abs();
        format!("{} to {} (UTC{sign}{:02}:{:02})", hm(self.start), hm(self.end), offset / 60, offset % 60)
    }
}

impl Policy {
    /// What it asks, in words, for the Rules page and the cards.
    pub fn in_words(&self) -> Vec<String> {
        let mut words = vec![match self.required_approvals {
            2 => "Two people must allow each call; one denial is final.".to_owned(),
            _ => "One person allows or denies each call.".to_owned(),
        }];
        if self.no_self_approval {
            words.push("Whoever sent the message that led to a call may not allow it.".to_owned());
        }
        for (i, step) in self.escalation.iter().enumerate() {
            let who = if step.people.is_empty() {
                "every approver who chose email".to_owned()
            } else {
                step.people.join(", ")
            };
            words.push(if i == 0 {
                format!("Told first: {who}.")
            } else {
                format!("After {}: {who}.", duration_words(step.after_secs))
            });
        }
        if let Some(quiet) = &self.quiet_hours {
            words.push(format!("Nobody is told from {}; what waits is told when they end.", quiet.in_words()));
        }
        words
    }

    /// Whether deciding a call asks more than one person's say.
    pub fn gates_approvals(&self) -> bool {
        self.required_approvals > 1 || self.no_self_approval
    }
}

/// "15 minutes", "1 hour 30 minutes", "45 seconds".
pub fn duration_words(secs: u32) -> String {
    let plural = |n: u32, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(plural(h, "hour"));
    }
    if m > 0 {
        parts.push(plural(m, "minute"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(plural(s, "second"));
    }
    parts.join(" ")
}

/// The policy that holds for an agent's calls: its own, else the one for every agent.
pub fn policy_for<'a>(policies: &'a [Policy], agent_id: Option<&str>) -> Option<&'a Policy> {
    agent_id
        .and_then(|agent| policies.iter().find(|p| p.agent_id == agent))
        .or_else(|| policies.iter().find(|p| p.agent_id == EVERY_AGENT))
}

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
            updated_by: String::new(),
            updated_at: String::new(),
        })
    }
}

/// A `user.message` a person sent through Switchboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentMessage {
    /// Its event id; `None` for a session's initial message (its first).
    pub event_id: Option<String>,
    pub username: String,
    pub label: String,
}

/// Who sent the message that led to a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Sender {
    /// A person, in Switchboard (their username, and how the console names them).
    Person { username: String, label: String },
    /// No person in Switchboard: a deployment, another API client, or no message at all.
    Outside,
}

/// A waiting call's approvals so far and who led to it, for its card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallApprovals {
    pub event_id: String,
    /// Who allowed it so far (labels), in order.
    pub approved_by: Vec<String>,
    /// With a no-self-approval policy: who sent the message that led to it.
    pub sender: Option<Sender>,
}

/// What a session's policy asks of its waiting calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApprovalState {
    /// The policy that holds for the session's agent, when it gates approvals.
    pub policy: Option<Policy>,
    pub calls: Vec<CallApprovals>,
}

impl ApprovalState {
    /// What a card says of `event_id` for `me` (a username): the approvals it still needs and
    /// whether the no-self-approval rule applies.
    pub fn lines(&self, event_id: &str, me: Option<&str>) -> Vec<String> {
        let Some(policy) = &self.policy else { return Vec::new() };
        let call = self.calls.iter().find(|c| c.event_id == event_id);
        let mut lines = Vec::new();
        if policy.required_approvals > 1 {
            let by = call.map(|c| c.approved_by.clone()).unwrap_or_default();
            lines.push(if by.is_empty() {
                format!("Needs {} approvals from different people; none yet.", policy.required_approvals)
            } else {
                format!(
                    "Needs {} approvals from different people: {} of {} so far ({}).",
                    policy.required_approvals,
                    by.len(),
                    policy.required_approvals,
                    by.join(", ")
                )
            });
        }
        if policy.no_self_approval {
            lines.push(match call.and_then(|c| c.sender.as_ref()) {
                Some(Sender::Person { username, .. }) if Some(username.as_str()) == me => {
                    "You sent the message that led to this call: somebody else must allow it (you may deny it).".to_owned()
                }
                Some(Sender::Person { label, .. }) => {
                    format!("{label} sent the message that led to this call, and may not allow it.")
                }
                Some(Sender::Outside) => "No one in Switchboard sent the message that led to this call (a deployment or another API client): the no-self-approval rule does not apply.".to_owned(),
                None => "Whoever sent the message that led to this call may not allow it.".to_owned(),
            });
        }
        lines
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
    crate::approvals::approvals()?.0.save_policy(crate::approvals::Caller::current()?, policy).await
}

/// Removes an agent's policy (its calls then follow the one for every agent, if any).
#[access(Admin)]
#[server(endpoint = "policies/delete", output = JsonResponse)]
pub async fn delete_policy(agent_id: String) -> Result<(), AppError> {
    let agent_id = agent_id.trim().to_owned();
    if agent_id != EVERY_AGENT {
        super::server::segment(&agent_id)?;
    }
    crate::approvals::approvals()?.0.delete_policy(crate::approvals::Caller::current()?, agent_id).await
}

/// The approvals a session's waiting calls have and need, for their cards.
#[access(Viewer)]
#[server(endpoint = "sessions/approvals", input = GetUrl, output = JsonResponse)]
pub async fn session_approvals(session_id: String) -> Result<ApprovalState, AppError> {
    let session_id = super::server::segment(&session_id)?;
    crate::approvals::approvals()?.0.state(session_id).await
}

#[cfg(feature = "ssr")]
pub mod server {
    use super::{Policy, SentMessage};
    use crate::{error::AppError, upstream::client::BoxFuture};

    /// The server's policies and the records they are applied with.
    pub trait PolicySource: Send + Sync + 'static {
        /// Every policy, `*` first.
        fn list(&self) -> BoxFuture<'_, Result<Vec<Policy>, AppError>>;
        /// Saves `policy` (replacing the agent's), set by `by` (a label).
        fn save(&self, policy: Policy, by: String) -> BoxFuture<'_, Result<Policy, AppError>>;
        fn delete(&self, agent_id: String) -> BoxFuture<'_, Result<(), AppError>>;
        /// Records that `username` (`label`) sent the `user.message` `event_id` to the session;
        /// `None`: the session's initial message, sent when it was created.
        fn sent(
            &self,
            session_id: String,
            event_id: Option<String>,
            username: String,
            label: String,
        ) -> BoxFuture<'_, Result<(), AppError>>;
        /// What [`PolicySource::sent`] recorded for the session.
        fn messages(&self, session_id: String) -> BoxFuture<'_, Result<Vec<SentMessage>, AppError>>;
        /// Records `username`'s approval of a call (once per person) and answers every approval it
        /// has, as labels in order.
        fn approve(
            &self,
            session_id: String,
            event_id: String,
            username: String,
            label: String,
        ) -> BoxFuture<'_, Result<Vec<String>, AppError>>;
        /// Every approval recorded in the session: (event id, label), in order.
        fn approvals(&self, session_id: String) -> BoxFuture<'_, Result<Vec<(String, String)>, AppError>>;
    }
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
    fn an_agents_own_policy_replaces_the_one_for_every_agent() {
        let p = |agent: &str, n: u8| Policy {
            agent_id: agent.into(),
            required_approvals: n,
            no_self_approval: false,
            escalation: Vec::new(),
            quiet_hours: None,
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
