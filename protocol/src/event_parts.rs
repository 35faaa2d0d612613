//! The values a client's event params ([`crate::event_params`]) and the events that echo them
//! ([`crate::events`]) share: a tool confirmation's answer and an outcome's rubric. Here, below
//! both, so events need nothing of the params; [`crate::event_params`] re-exports each of them.

use serde::{Deserialize, Serialize};

use crate::open_union;

/// The answer of a tool confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmationResult {
    Allow,
    Deny,
}

open_union! {
    /// How an outcome is graded. Used by `user.define_outcome` params and events.
    pub enum Rubric {
        /// Inline rubric (plain text or markdown, at most 262,144 characters when sent).
        Text(TextRubric) = "text",
        /// A rubric file uploaded through the Files API.
        File(FileRubric) = "file",
    }
}

/// `{"type":"text","content":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextRubric {
    pub content: String,
}

/// `{"type":"file","file_id":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRubric {
    pub file_id: String,
}
