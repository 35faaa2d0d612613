//! The console's domain: what Switchboard knows about approvals, streams and the way things read,
//! owned by neither the UI (`app`) nor the HTTP layer (`server`), which both depend on it. No
//! Leptos here; it builds for the browser and the server, and what only the server may use sits
//! behind the `server` feature.
//!
//! - [`error`]: the console's one error type, a sentence a person can act on.
//! - [`auth`]: roles, endpoints' rules, the person signed in, accounts and their checks (and, on
//!   the server, the account store's trait).
//! - [`decisions`]: verdicts on tool calls, what a decision came to, why a link refused.
//! - [`approvals`]: the approval service's trait, which every caller decides through (server).
//! - [`policies`]: approval policies (who must approve, how many, quiet hours, deadlines).
//! - [`rules`]: "always allow" rules and the patterns they match a call's input with.
//! - [`upstream`]: which API Switchboard talks to, ids safe in a path (and, on the server, the
//!   client's trait and its paging).
//! - Each feature's types that a store or service takes or answers, with, on the server, that
//!   store's trait and handle: [`agents`], [`audit`], [`imports`], [`inbox`], [`live`],
//!   [`notify`], [`settings`], [`shares`], [`skills`], [`slack`], [`work`], [`workspaces`].
//! - [`tokens`]: personal access tokens; [`gateway`]: the access table of Switchboard's own
//!   Managed Agents API (`/v1/…`), shared with the console's; [`creators`]: who made what through
//!   Switchboard.
//! - [`sse`]: the names and payloads of Switchboard's own event-stream frames.
//! - [`format`]: how numbers, sizes, durations, times, content blocks and query values are written.
//! - [`diff`]: line diffs of two texts.

pub mod agents;
pub mod approvals;
pub mod audit;
pub mod auth;
pub mod creators;
pub mod decisions;
pub mod diff;
pub mod error;
pub mod format;
pub mod gateway;
pub mod imports;
pub mod inbox;
pub mod live;
pub mod notify;
pub mod policies;
pub mod rules;
pub mod settings;
pub mod shares;
pub mod skills;
pub mod slack;
pub mod sse;
pub mod tokens;
pub mod upstream;
pub mod work;
pub mod workspaces;

/// What is wrong with a person's input, and in which field: the domain's checks say it, and the
/// console's error ([`error::AppError`], a 400 that names the field) carries it to the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput {
    pub field: &'static str,
    pub message: String,
}

impl BadInput {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        BadInput { field, message: message.into() }
    }
}

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for BadInput {}
