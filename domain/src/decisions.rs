//! Decisions on tool calls: what a person asks ([`Verdict`]), what a recorded decision is
//! ([`Recorded`]) and what became of a batch ([`Decided`]), on both sides. The server records and
//! sends them behind `crate::approvals::Approvals` (`server/src/approvals/`).

use protocol::event_params::ConfirmationResult;
use serde::{Deserialize, Serialize};

/// A decision as the server recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    pub event_id: String,
    pub result: Outcome,
    pub deny_message: Option<String>,
    pub decided_by: String,
    /// RFC 3339, UTC.
    pub decided_at: String,
}

/// What a person decided: a tool confirmation's answer, or a custom tool's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Allow,
    Deny,
    /// A custom tool's result was sent.
    Answered,
}

impl Outcome {
    /// As stored and as the audit log names it: `allow`, `deny`, `answered`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::Answered => "answered",
        }
    }

    /// The stored text back; `None` for a value this version never writes.
    pub fn parse(text: &str) -> Option<Self> {
        [Outcome::Allow, Outcome::Deny, Outcome::Answered].into_iter().find(|o| o.as_str() == text)
    }
}

impl From<ConfirmationResult> for Outcome {
    fn from(result: ConfirmationResult) -> Self {
        match result {
            ConfirmationResult::Allow => Outcome::Allow,
            ConfirmationResult::Deny => Outcome::Deny,
        }
    }
}

impl Recorded {
    /// "allowed by a visitor at 127.0.0.1 at 2026-11-21 15:03 UTC".
    pub fn in_words(&self) -> String {
        let what = match self.result {
            Outcome::Allow => "allowed",
            Outcome::Deny => "denied",
            Outcome::Answered => "answered",
        };
        format!("{what} by {} at {}", self.decided_by, crate::format::timestamp(&self.decided_at))
    }
}

/// A person's decision on one pending `agent.tool_use` / `agent.mcp_tool_use`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The id of the tool-use event (`sevt_…`).
    pub event_id: String,
    pub allow: bool,
    /// Told to the agent with a denial.
    pub deny_message: Option<String>,
    /// Why a person allows it, for the audit log (the API's `allow` carries no message, so the
    /// agent is not told). A denial's reason is its message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The longest reason an Allow keeps, in bytes.
pub const MAX_REASON: usize = 2_000;

/// What became of a batch of decisions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Decided {
    /// Event ids whose decision went upstream now.
    pub sent: Vec<String>,
    /// Calls somebody else had decided first: their decisions.
    pub taken: Vec<Recorded>,
    /// Allows recorded as approvals, not sent: the session's policy asks for more people.
    #[serde(default)]
    pub waiting: Vec<Waiting>,
}

/// A call whose approval was recorded and that waits for another approver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waiting {
    pub event_id: String,
    /// Who allowed it so far (labels), in order.
    pub approved_by: Vec<String>,
    pub required: u8,
}

impl Waiting {
    /// "Your approval is recorded (1 of 2: Ann). The call waits for another approver."
    pub fn in_words(&self) -> String {
        format!(
            "Your approval is recorded ({} of {}: {}). The call waits for another approver.",
            self.approved_by.len(),
            self.required,
            self.approved_by.join(", ")
        )
    }
}

/// What a decision posted by a card's plain form (before the page is hydrated, or with
/// JavaScript off) came to. The server answers such a post by sending the browser back to the
/// card's page with `?decision={code}&decided={event id}`, which the page says in words: fixed
/// words for each code, never text carried in an address, so a crafted link cannot put a sentence
/// of its own on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormOutcome {
    /// Sent upstream now, as an allow.
    Allowed,
    /// Sent upstream now, as a denial.
    Denied,
    /// An approval recorded that waits for another approver's (the session's policy).
    Recorded,
    /// Somebody (or this person, pressing twice) decided it first.
    Taken,
    /// The decision was refused as sent (a denial's message too long, an id that is not one).
    Invalid,
    /// The person's roles or the session's approval policy do not let them make it.
    Forbidden,
    /// The API could not be reached, or whether it took the decision is unknown.
    Unavailable,
    /// Anything else: Switchboard failed.
    Failed,
    /// The notification's link it came through was already spent on a decision.
    LinkUsed,
    /// The notification's link it came through had expired.
    LinkExpired,
    /// The notification's link it came through was another person's, or not one made for it.
    LinkNotYours,
}

/// Why a notification's link may not carry a decision: a link decides once, for the person it
/// was sent to, before it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    Used,
    Expired,
    NotYours,
}

impl LinkRefusal {
    /// A form's outcome for it.
    pub fn outcome(self) -> FormOutcome {
        match self {
            LinkRefusal::Used => FormOutcome::LinkUsed,
            LinkRefusal::Expired => FormOutcome::LinkExpired,
            LinkRefusal::NotYours => FormOutcome::LinkNotYours,
        }
    }

    /// The error a hydrated card's decision gets for it.
    pub fn error(self) -> crate::error::AppError {
        crate::error::AppError::new(crate::error::ErrorKind::Conflict, self.outcome().in_words())
    }
}

impl FormOutcome {
    const ALL: [FormOutcome; 11] = [
        FormOutcome::Allowed,
        FormOutcome::Denied,
        FormOutcome::Recorded,
        FormOutcome::Taken,
        FormOutcome::Invalid,
        FormOutcome::Forbidden,
        FormOutcome::Unavailable,
        FormOutcome::Failed,
        FormOutcome::LinkUsed,
        FormOutcome::LinkExpired,
        FormOutcome::LinkNotYours,
    ];

    /// The code in the address.
    pub fn as_str(self) -> &'static str {
        match self {
            FormOutcome::Allowed => "allowed",
            FormOutcome::Denied => "denied",
            FormOutcome::Recorded => "recorded",
            FormOutcome::Taken => "taken",
            FormOutcome::Invalid => "invalid",
            FormOutcome::Forbidden => "forbidden",
            FormOutcome::Unavailable => "unavailable",
            FormOutcome::Failed => "failed",
            FormOutcome::LinkUsed => "link_used",
            FormOutcome::LinkExpired => "link_expired",
            FormOutcome::LinkNotYours => "link_not_yours",
        }
    }

    /// The code back; `None` for anything else.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == code)
    }

    /// What became of a decision on `event_id` sent as `allow` (or not).
    pub fn of(result: &Result<Decided, crate::error::AppError>, event_id: &str, allow: bool) -> Self {
        use crate::error::ErrorKind;
        match result {
            Ok(d) if d.sent.iter().any(|id| id == event_id) => {
                if allow {
                    FormOutcome::Allowed
                } else {
                    FormOutcome::Denied
                }
            }
            Ok(d) if d.waiting.iter().any(|w| w.event_id == event_id) => FormOutcome::Recorded,
            Ok(d) if d.taken.iter().any(|t| t.event_id == event_id) => FormOutcome::Taken,
            Ok(_) => FormOutcome::Failed,
            Err(e) => match e.kind {
                ErrorKind::BadInput | ErrorKind::TooLarge => FormOutcome::Invalid,
                ErrorKind::Forbidden => FormOutcome::Forbidden,
                ErrorKind::Conflict => FormOutcome::Taken,
                ErrorKind::Unavailable | ErrorKind::RateLimited => FormOutcome::Unavailable,
                _ => FormOutcome::Failed,
            },
        }
    }

    /// The call no longer waits for this person: its card leaves the page.
    pub fn settles(self) -> bool {
        matches!(self, FormOutcome::Allowed | FormOutcome::Denied | FormOutcome::Taken)
    }

    /// Whether the page says it as a notice (`status`) or as an error (`alert`).
    pub fn is_error(self) -> bool {
        !matches!(self, FormOutcome::Allowed | FormOutcome::Denied | FormOutcome::Recorded | FormOutcome::Taken)
    }

    /// What the page says of it.
    pub fn in_words(self) -> &'static str {
        match self {
            FormOutcome::Allowed => "You allowed the call. The agent goes on.",
            FormOutcome::Denied => "You denied the call. The agent was told.",
            FormOutcome::Recorded => {
                "Your approval is recorded. The session's approval policy asks for another approver before the call runs."
            }
            FormOutcome::Taken => {
                "This call was already decided (by somebody else, or by an earlier press): nothing more was sent. The timeline shows what was decided."
            }
            FormOutcome::Invalid => {
                "The decision was refused as sent (a message to the agent must be under 200,000 characters). Nothing was sent; change it and try again."
            }
            FormOutcome::Forbidden => {
                "You may not make this decision: your roles, or this agent's approval policy (a call your own message led to needs somebody else's approval), do not allow it. Nothing was sent."
            }
            FormOutcome::Unavailable => {
                "Switchboard could not reach the API, or could not tell whether the decision arrived. Watch the timeline: a confirmation appears if it did; if none does within two minutes, decide again."
            }
            FormOutcome::Failed => {
                "Switchboard could not record the decision. Try again; if it fails again, tell your administrator."
            }
            FormOutcome::LinkUsed => {
                "Your notification's link was already used to decide; each link decides once. Nothing was sent. The call, if it still waits, is in the Inbox."
            }
            FormOutcome::LinkExpired => {
                "Your notification's link has expired, so it decided nothing. The call, if it still waits, is in the Inbox."
            }
            FormOutcome::LinkNotYours => {
                "This notification's link was not sent to you (or not for this call): a link decides only for the person it was sent to. Nothing was sent; the call, if it still waits, is in the Inbox."
            }
        }
    }
}

#[cfg(feature = "server")]
pub use store::*;

#[cfg(feature = "server")]
mod store {
    /// The SHA-256 of a call's input as the API holds it (hex): what an audit entry of a decision
    /// names, so that what the person or the rule allowed can be checked later.
    pub fn input_sha256(input: &serde_json::Value) -> String {
        use sha2::Digest;
        let bytes = serde_json::to_vec(input).unwrap_or_default();
        sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{AppError, ErrorKind};

    #[test]
    fn a_forms_outcome_is_read_from_what_the_decision_came_to() {
        let sent = Decided { sent: vec!["sevt_a".into()], ..Decided::default() };
        assert_eq!(FormOutcome::of(&Ok(sent.clone()), "sevt_a", true), FormOutcome::Allowed);
        assert_eq!(FormOutcome::of(&Ok(sent.clone()), "sevt_a", false), FormOutcome::Denied);
        assert_eq!(FormOutcome::of(&Ok(sent), "sevt_b", true), FormOutcome::Failed, "another call's sending");
        let waiting = Decided {
            waiting: vec![Waiting { event_id: "sevt_a".into(), approved_by: vec!["Ann".into()], required: 2 }],
            ..Decided::default()
        };
        assert_eq!(FormOutcome::of(&Ok(waiting), "sevt_a", true), FormOutcome::Recorded);
        let taken = Decided {
            taken: vec![Recorded {
                event_id: "sevt_a".into(),
                result: Outcome::Deny,
                deny_message: None,
                decided_by: "bob".into(),
                decided_at: "2026-11-27T10:00:00Z".into(),
            }],
            ..Decided::default()
        };
        assert_eq!(FormOutcome::of(&Ok(taken), "sevt_a", true), FormOutcome::Taken);
        let failed = |kind| FormOutcome::of(&Err(AppError::new(kind, "no")), "sevt_a", true);
        assert_eq!(failed(ErrorKind::Forbidden), FormOutcome::Forbidden);
        assert_eq!(failed(ErrorKind::BadInput), FormOutcome::Invalid);
        assert_eq!(failed(ErrorKind::Unavailable), FormOutcome::Unavailable);
        assert_eq!(failed(ErrorKind::Internal), FormOutcome::Failed);
    }

    #[test]
    fn only_the_codes_the_server_sends_are_read_back() {
        for outcome in FormOutcome::ALL {
            assert_eq!(FormOutcome::parse(outcome.as_str()), Some(outcome));
            assert!(!outcome.in_words().is_empty());
        }
        assert_eq!(FormOutcome::parse("Call us at 555"), None);
        assert!(FormOutcome::Allowed.settles() && FormOutcome::Taken.settles());
        assert!(!FormOutcome::Recorded.settles() && !FormOutcome::Invalid.settles());
        // A refused link leaves the call waiting, said as an error.
        for refusal in [LinkRefusal::Used, LinkRefusal::Expired, LinkRefusal::NotYours] {
            let outcome = refusal.outcome();
            assert!(!outcome.settles() && outcome.is_error(), "{outcome:?}");
            assert_eq!(refusal.error().message, outcome.in_words());
        }
    }
}
