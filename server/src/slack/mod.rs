//! Deciding in Slack. An admin gives a workspace a Slack app (Settings: the channel, the bot token
//! and the signing secret; the two secrets write-only, sealed with the channels' key). Each call
//! that waits in that workspace's inbox is then posted to the channel with Allow and Deny buttons
//! (`blocks.rs`), by one replica (the lease `slack:<workspace>`; the message claimed in the
//! database before it is posted). Slack sends each press to `POST /webhooks/slack`
//! (`interact.rs`): checked by its v0 signature within five minutes and refused when seen before,
//! then decided as the Switchboard account the Slack user linked to (a one-time link shown only to
//! them), through the same path, policy and audit as a press in the browser. The message is
//! updated in place with who decided, whether that was in Slack or anywhere else.

mod blocks;
mod interact;
mod service;
pub mod slack_rows;
mod web_api;

pub use service::{Desk, Desks, Slack, SlackNotify, SlackParts};

use std::sync::Arc;

use axum::{
    extract::{DefaultBodyLimit, FromRef},
    http::Method,
    routing::post,
};
use domain::auth::Rule::Public;

use crate::support::route::Route;

/// Slack's interactivity requests: the signature is the credential (`interact.rs`).
pub fn routes<S>() -> Vec<Route<S>>
where
    S: Clone + Send + Sync + 'static,
    Arc<Slack>: FromRef<S>,
{
    vec![Route::new(
        Method::POST,
        "/webhooks/slack",
        Public,
        post(interact::receive).layer(DefaultBodyLimit::max(interact::MAX_BODY_BYTES)),
    )]
}
