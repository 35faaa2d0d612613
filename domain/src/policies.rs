//! Approval policies and what they make of a session's waiting calls: the types the approval
//! service (`server/src/approvals/`), the Rules page and the cards share. An agent's own policy
//! replaces the one for every agent (`*`); there is no merging. The form and the server functions
//! are `app::api::policies`.

use serde::{Deserialize, Serialize};

/// The policy key that holds for every agent without a policy of its own.
pub const EVERY_AGENT: &str = "*";

/// The longest wait before the next group is told: a day.
pub const MAX_ESCALATION_SECS: u32 = 24 * 60 * 60;

/// The longest deadline: a week.
pub const MAX_DEADLINE_SECS: u32 = 7 * 24 * 60 * 60;

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
    /// How long a call may wait for a decision before the policy denies it: the final word,
    /// whoever was told. Not set: calls wait until somebody decides.
    #[serde(default)]
    pub deadline: Deadline,
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

/// How long a call may wait before it is denied: for every tool, and for some tools their own.
/// Custom tools' calls are answered, not allowed or denied: no deadline applies to them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// Seconds, for every tool without its own.
    pub after_secs: Option<u32>,
    /// A tool's own deadline (by the name the call gives), whether or not one is set for every tool.
    #[serde(default)]
    pub tools: Vec<ToolDeadline>,
}

/// One tool's own deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolDeadline {
    pub tool: String,
    pub after_secs: u32,
}

impl Deadline {
    pub fn is_set(&self) -> bool {
        self.after_secs.is_some() || !self.tools.is_empty()
    }

    /// The seconds a call of `tool` may wait, if any deadline holds for it.
    pub fn secs_for(&self, tool: &str) -> Option<u32> {
        self.tools.iter().find(|t| t.tool == tool).map(|t| t.after_secs).or(self.after_secs)
    }
}

/// What the policy tells the agent, and the audit log, when it denies a call at its deadline.
pub fn deadline_message(secs: u32) -> String {
    format!("No decision within {}: denied by the approval policy.", duration_words(secs))
}

/// When a waiting call is denied under `policies` (milliseconds since the epoch): when it was
/// asked (its `processed_at`) plus its tool's deadline. `None` without a deadline, for a custom
/// tool's call, or when the event has no time.
pub fn deadline_ms(policies: &[Policy], agent_id: Option<&str>, event: &serde_json::Value) -> Option<i64> {
    if event.get("type").and_then(serde_json::Value::as_str) == Some("agent.custom_tool_use") {
        return None;
    }
    let tool = event.get("name").and_then(serde_json::Value::as_str).unwrap_or_default();
    let secs = policy_for(policies, agent_id)?.deadline.secs_for(tool)?;
    let asked =
        event.get("processed_at").and_then(serde_json::Value::as_str).and_then(crate::format::parse_rfc3339_ms)?;
    Some(asked as i64 + i64::from(secs) * 1000)
}

/// A call's deadline in words, for its card and its Inbox line: the time left by the browser's
/// clock (`now_ms`; `None` before the page is live, and on the server).
pub fn deadline_words(deadline_ms: i64, now_ms: Option<f64>) -> String {
    match now_ms {
        Some(now) if now >= deadline_ms as f64 => "Past its deadline: the approval policy denies it now.".to_owned(),
        Some(now) => format!(
            "Denied by the approval policy in {} unless somebody decides first.",
            duration_words(((deadline_ms as f64 - now) / 1000.0).ceil() as u32)
        ),
        None => "The approval policy denies it at its deadline unless somebody decides first.".to_owned(),
    }
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
        if let Some(secs) = self.deadline.after_secs {
            words.push(format!("A call nobody decides within {} is denied.", duration_words(secs)));
        }
        for tool in &self.deadline.tools {
            words.push(format!(
                "A {} call nobody decides within {} is denied.",
                tool.tool,
                duration_words(tool.after_secs)
            ));
        }
        words
    }

    /// Whether deciding a call asks more than one person's say.
    pub fn gates_approvals(&self) -> bool {
        self.required_approvals > 1 || self.no_self_approval
    }

    /// Whether a card has something to say of it: who may decide, or when the call is denied.
    pub fn shows_on_cards(&self) -> bool {
        self.gates_approvals() || self.deadline.is_set()
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
