//! `POST /webhooks/anthropic`: the signed webhooks of Managed Agents (or of the embedded engine,
//! which Switchboard wires to itself), so that a call that waits reaches the inbox at once instead
//! of at the poller's next tick.
//!
//! - Without a signing secret (`SWITCHBOARD_WEBHOOK_SECRET`; the embedded engine's is made at
//!   start) the route answers 404, as if it were not there.
//! - The Standard Webhooks signature (`webhook-id`, `webhook-timestamp`, `webhook-signature`) is
//!   checked with the `standardwebhooks` crate, which refuses a timestamp more than five minutes
//!   old or ahead: 401, and nothing is read.
//! - A `webhook-id` seen in the last [`REPLAY_WINDOW`] is a replay: 409, nothing read. (Longer
//!   than the timestamps' tolerance, so a replay cannot outlive its id's memory.)
//! - A good one about a session (`data.type` `session.…`, `data.id` the session) has the inbox read
//!   that session now ([`Inbox::session_changed`]); any other is acknowledged and left. 204.
//!
//! What arrived and what was refused is counted for the Settings page ([`WebhookReport`]).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use domain::settings::{WebhookMoment, WebhookSetup, WebhookStatus, server::WebhookSource};
use serde_json::Value;

use crate::approvals::inbox::Inbox;

/// How long a webhook's id is remembered, to refuse it again.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(15 * 60);
/// The largest webhook body: they are thin (an id and a type).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The route's state: the verifier, the ids seen, the inbox to tell, what came.
pub struct WebhookReceiver {
    verifier: standardwebhooks::Webhook,
    inbox: Arc<Inbox>,
    seen: Mutex<HashMap<String, Instant>>,
    tally: Mutex<Tally>,
}

/// What came since start, for the Settings page.
#[derive(Debug, Default)]
struct Tally {
    accepted: u64,
    refused: u64,
    last_accepted: Option<(SystemTime, String)>,
    last_refused: Option<(SystemTime, &'static str)>,
}

impl WebhookReceiver {
    /// A receiver for webhooks signed with `secret` (`whsec_…`); `None` when it is not one.
    pub fn new(secret: &str, inbox: Arc<Inbox>) -> Option<Arc<Self>> {
        let verifier = standardwebhooks::Webhook::new(secret).ok()?;
        Some(Arc::new(Self { verifier, inbox, seen: Mutex::default(), tally: Mutex::default() }))
    }

    fn refuse(&self, status: StatusCode, why: &'static str) -> (StatusCode, &'static str) {
        if let Ok(mut tally) = self.tally.lock() {
            tally.refused += 1;
            tally.last_refused = Some((SystemTime::now(), why));
        }
        (status, why)
    }

    fn receive(&self, headers: &HeaderMap, body: &[u8]) -> (StatusCode, &'static str) {
        if self.verifier.verify(body, headers).is_err() {
            tracing::warn!("a webhook was refused: its signature or timestamp is not valid");
            return self.refuse(StatusCode::UNAUTHORIZED, "The signature or its timestamp is not valid.");
        }
        let Some(id) = headers.get(standardwebhooks::HEADER_WEBHOOK_ID).and_then(|v| v.to_str().ok()) else {
            return self.refuse(StatusCode::UNAUTHORIZED, "The webhook has no id.");
        };
        {
            let Ok(mut seen) = self.seen.lock() else {
                return (StatusCode::INTERNAL_SERVER_ERROR, "Switchboard could not check the webhook's id.");
            };
            seen.retain(|_, at| at.elapsed() < REPLAY_WINDOW);
            if seen.contains_key(id) {
                tracing::warn!(webhook = %id, "a webhook was refused: its id was seen already (a replay)");
                drop(seen);
                return self.refuse(StatusCode::CONFLICT, "This webhook was received already.");
            }
            seen.insert(id.to_owned(), Instant::now());
        }
        let Ok(payload) = serde_json::from_slice::<Value>(body) else {
            return self.refuse(StatusCode::BAD_REQUEST, "The webhook's body is not JSON.");
        };
        let kind = payload.pointer("/data/type").and_then(Value::as_str).unwrap_or_default();
        if let Ok(mut tally) = self.tally.lock() {
            tally.accepted += 1;
            tally.last_accepted = Some((SystemTime::now(), kind.to_owned()));
        }
        let session = payload.pointer("/data/id").and_then(Value::as_str);
        if let (true, Some(session)) = (kind.starts_with("session."), session) {
            tracing::debug!(%kind, %session, "a webhook: the inbox reads the session");
            self.inbox.session_changed(session);
        }
        (StatusCode::NO_CONTENT, "")
    }
}

/// `POST /webhooks/anthropic` (and, with a workspace's receiver, `/webhooks/anthropic/{workspace}`).
pub async fn receive(
    State(receiver): State<Option<Arc<WebhookReceiver>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(receiver) = receiver else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (status, text) = receiver.receive(&headers, &body);
    if text.is_empty() { status.into_response() } else { (status, text).into_response() }
}

/// The Settings page's view of webhooks: how they are set up, what came, and the inbox's pace.
pub struct WebhookReport {
    pub receiver: Option<Arc<WebhookReceiver>>,
    pub setup: WebhookSetup,
    pub inbox: Arc<Inbox>,
}

impl WebhookSource for WebhookReport {
    fn status(&self) -> WebhookStatus {
        let moment = |at: SystemTime, what: &str| WebhookMoment {
            at: domain::format::rfc3339(time::OffsetDateTime::from(at)),
            what: what.to_owned(),
        };
        let (poll, base_poll) = self.inbox.poll_intervals();
        let mut status = WebhookStatus {
            setup: self.setup,
            path: "/webhooks/anthropic".to_owned(),
            poll_ms: poll.as_millis() as u64,
            base_poll_ms: base_poll.as_millis() as u64,
            ..WebhookStatus::default()
        };
        if let Some(tally) = self.receiver.as_ref().and_then(|r| r.tally.lock().ok()) {
            status.accepted = tally.accepted;
            status.refused = tally.refused;
            status.last_accepted = tally.last_accepted.as_ref().map(|(at, kind)| moment(*at, kind));
            status.last_refused = tally.last_refused.as_ref().map(|(at, why)| moment(*at, why));
        }
        status
    }
}
