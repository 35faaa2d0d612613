//! Waiting tool calls and what decides them: the inbox, recorded decisions, approval policies
//! and standing rules.

pub mod decisions;
pub mod inbox;
pub mod policies;
pub mod rules;
