//! The console's domain: what Switchboard knows about approvals, streams and the way things read,
//! owned by neither the UI (`app`) nor the HTTP layer (`server`), which both depend on it. No
//! Leptos here; it builds for the browser and the server, and what only the server may use sits
//! behind the `server` feature.
//!
//! - [`policies`]: approval policies (who must approve, how many, quiet hours, deadlines).
//! - [`rules`]: "always allow" rules and the patterns they match a call's input with.
//! - [`sse`]: the names and payloads of Switchboard's own event-stream frames.
//! - [`format`]: how numbers, sizes, times and query values are written.

pub mod format;
pub mod policies;
pub mod rules;
pub mod sse;

/// What is wrong with a person's input, and in which field: the domain's checks say it, and the
/// app's error (`app::error::AppError`, a 400 that names the field) carries it to the form.
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
