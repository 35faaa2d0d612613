//! What the routes outside the Leptos app share, each part extracted on its own (`FromRef`).

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use crate::{access::Access, audit::AuditLog, tenancy::workspaces::Workspaces};

/// The router's state.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub max_upload: crate::records::files::MaxUpload,
    pub access: Arc<Access>,
    pub audit: Arc<AuditLog>,
    /// `/webhooks/anthropic`'s receiver; `None` without a signing secret.
    pub webhooks: Option<Arc<crate::notify::webhooks::WebhookReceiver>>,
    /// Every workspace; a request's own, and its parts, are on it (`Workspace::put_on`).
    pub workspaces: Arc<Workspaces>,
    /// The workspaces' Slack apps: `/webhooks/slack` and the Settings page's section.
    pub slack: Arc<crate::slack::Slack>,
    /// `/metrics` and `/readyz`.
    pub observe: Arc<super::observe::Observe>,
}
