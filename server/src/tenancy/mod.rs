//! Workspaces: each an upstream with its own records, and the roles people hold in each.

pub mod desks;
pub mod workspace_rows;
pub mod workspaces;

use std::sync::Arc;

use axum::{extract::FromRef, http::Method, routing::post};
use domain::auth::{
    Role::Viewer,
    Rule::{Needs, Public},
};

use crate::support::route::{Route, form_body};

/// The navigation's workspace switch: sets the cookie for a workspace the person may open; and a
/// connected workspace's webhooks.
pub fn routes<S>() -> Vec<Route<S>>
where
    S: Clone + Send + Sync + 'static,
    Arc<workspaces::Workspaces>: FromRef<S>,
{
    vec![
        Route::new(Method::POST, "/auth/workspace", Needs(Viewer), post(workspaces::switch).layer(form_body())),
        // A connected workspace's upstream webhooks: signed with its own secret, no login.
        Route::new(
            Method::POST,
            "/webhooks/anthropic/{workspace}",
            Public,
            post(workspaces::receive_webhook)
                .layer(axum::extract::DefaultBodyLimit::max(crate::notify::webhooks::MAX_BODY_BYTES)),
        ),
    ]
}
