//! What the routes outside the Leptos app share, each part extracted on its own (`FromRef`).

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use crate::{access::Access, audit::SqliteAudit, hub::Hub, inbox::Inbox, upstream::UpstreamClient};

/// The router's state.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub client: UpstreamClient,
    pub max_upload_bytes: u64,
    pub hub: Arc<Hub>,
    pub inbox: Arc<Inbox>,
    pub access: Arc<Access>,
    pub audit: Arc<SqliteAudit>,
    /// `/webhooks/anthropic`'s receiver; `None` without a signing secret.
    pub webhooks: Option<Arc<crate::webhooks::WebhookReceiver>>,
    pub shares: Arc<crate::shares::Shares>,
    pub imports: Arc<crate::imports::Imports>,
}
