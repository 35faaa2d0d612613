//! Waiting tool calls and what decides them: the inbox, recorded decisions, approval policies
//! and standing rules.

pub mod deadlines;
pub mod deciding;
pub mod decisions;
pub mod delivery;
pub mod gate;
pub mod inbox;
pub mod links;
pub mod policies;
pub mod rule_rows;
pub mod rules;
pub mod service;
pub mod unattended;

use axum::{http::Method, routing::get};
use domain::auth::{Role::Viewer, Rule::Needs};

use crate::support::route::Route;

/// The inbox's stream of waiting calls.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Vec<Route<S>> {
    vec![Route::new(Method::GET, "/api/inbox/stream", Needs(Viewer), get(inbox::stream))]
}
