//! Telling people: email and signed webhooks about waiting calls ([`notifier`]), and the
//! upstream's own webhooks received ([`webhooks`]).

pub mod notifier;
pub mod notify_rows;
pub mod webhooks;

pub use notifier::*;

use std::sync::Arc;

use axum::{
    extract::{DefaultBodyLimit, FromRef},
    http::Method,
    routing::post,
};
use domain::auth::Rule::Public;

use crate::support::route::Route;

/// The upstream's webhooks: signed by the sender; 404 without a secret (webhooks.rs). This is
/// the default workspace's; a connected workspace's is `crate::tenancy`'s.
pub fn routes<S>() -> Vec<Route<S>>
where
    S: Clone + Send + Sync + 'static,
    Option<Arc<webhooks::WebhookReceiver>>: FromRef<S>,
{
    vec![Route::new(
        Method::POST,
        "/webhooks/anthropic",
        Public,
        post(webhooks::receive).layer(DefaultBodyLimit::max(webhooks::MAX_BODY_BYTES)),
    )]
}
