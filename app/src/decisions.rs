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
}

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

#[cfg(feature = "ssr")]
pub use store::*;

#[cfg(feature = "ssr")]
mod store {
    /// The SHA-256 of a call's input as the API holds it (hex): what an audit entry of a decision
    /// names, so that what the person or the rule allowed can be checked later.
    pub fn input_sha256(input: &serde_json::Value) -> String {
        use sha2::Digest;
        let bytes = serde_json::to_vec(input).unwrap_or_default();
        sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
    }
}
