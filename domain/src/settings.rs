//! The Settings page's connection check (is the key accepted, is the beta enabled, how fast is
//! the upstream, and does a list call of each resource work) and whether signed webhooks arrive.

use serde::{Deserialize, Serialize};

/// One line of the connection check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    /// What was found, or what failed and what to do.
    pub detail: String,
    pub millis: u64,
}

/// Where the webhooks `/webhooks/anthropic` accepts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WebhookSetup {
    /// No signing secret: the route answers 404 and the inbox polls alone.
    #[default]
    Off,
    /// `SWITCHBOARD_WEBHOOK_SECRET` is set: Anthropic (or a standalone engine) signs with it.
    Secret,
    /// The embedded engine, wired to this Switchboard at start with a secret made then.
    Embedded,
}

/// A moment and what happened then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookMoment {
    /// RFC 3339.
    pub at: String,
    /// The webhook's `data.type` when accepted; why it was refused otherwise.
    pub what: String,
}

/// Whether signed webhooks reach this Switchboard, since it started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct WebhookStatus {
    pub setup: WebhookSetup,
    /// The path to give the sender, on the origin people reach Switchboard at.
    pub path: String,
    pub accepted: u64,
    /// Refused: a bad signature or timestamp, or a replayed id.
    pub refused: u64,
    pub last_accepted: Option<WebhookMoment>,
    pub last_refused: Option<WebhookMoment>,
    /// How often the inbox lists sessions now (milliseconds): slower while webhooks arrive.
    pub poll_ms: u64,
    /// …and how often without webhooks.
    pub base_poll_ms: u64,
}

#[cfg(feature = "server")]
pub mod server {
    use std::sync::Arc;

    use super::WebhookStatus;

    /// The server's webhook receiver, as server functions reach it.
    pub trait WebhookSource: Send + Sync + 'static {
        fn status(&self) -> WebhookStatus;
    }

    #[derive(Clone)]
    pub struct WebhooksHandle(pub Arc<dyn WebhookSource>);
}
