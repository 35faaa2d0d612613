//! Claim → send → settle: the one way a decision reaches the API, whoever made it (a person's card,
//! link or Slack press through `deciding.rs`; a rule's allow or a deadline's denial through
//! `unattended.rs`). Each decision is claimed first, so that only one decision of a call goes on;
//! the won ones are sent in one request; then each is settled: kept when the API took it, taken
//! back when it refused, and, when its answer was lost, kept or taken back as the session's events
//! say it arrived or not. When even the events cannot be listed the records stay "sending" (a
//! later decision may take over once they are stale).
//!
//! Nothing here is retried: the API has no idempotency keys, so a second `POST …/events` could do
//! the thing twice.

use domain::{
    decisions::Recorded,
    upstream::client::{UpstreamError, UpstreamHandle},
};
use protocol::{common::Page, event_params::SendEventsBody};
use serde_json::Value;

use super::decisions::{Claim, DecisionStore, Pending};
use crate::support::StoreError;

/// Where decisions go, and what follows each one's end.
pub struct Delivery<'a> {
    pub upstream: &'a UpstreamHandle,
    pub decisions: &'a dyn DecisionStore,
    /// The event type that echoes a decision in the session's events, and its field naming the
    /// call (`user.tool_confirmation`, `tool_use_id`).
    pub echo: (&'a str, &'a str),
    /// Told each decision's end by its call's id: `sent`, `failed`, `unknown` or `taken`.
    pub count: &'a (dyn Fn(&str, &'static str) + Sync),
}

/// What became of the decisions of one delivery.
#[derive(Debug, Default)]
pub struct Delivered {
    /// The calls whose decision reached the API.
    pub sent: Vec<String>,
    /// Calls somebody decided first: their decisions, as recorded.
    pub taken: Vec<Recorded>,
    /// What kept some of the won decisions from arriving; `None` when none was kept.
    pub failed: Option<Failed>,
}

/// Why won decisions did not (or may not) have arrived.
#[derive(Debug)]
pub enum Failed {
    /// The API refused them, or lost its answer and the session's events show they did not
    /// arrive: taken back, so the calls can be decided again.
    NotSent(UpstreamError),
    /// The API did not answer and the session's events could not be listed: whether they arrived
    /// is unknown, so they stay "sending".
    Unknown,
}

impl Delivery<'_> {
    /// Claims each decision, sends the won ones in one request and settles them. `Err` only when
    /// a claim could not be recorded; nothing of that decision or later ones was sent.
    pub async fn deliver(&self, session_id: &str, pending: Vec<Pending>) -> Result<Delivered, StoreError> {
        let mut delivered = Delivered::default();
        let mut events = Vec::new();
        for (decision, event) in pending {
            match self.decisions.claim(session_id, &decision).await? {
                Claim::Won => {
                    delivered.sent.push(decision.event_id);
                    events.push(event);
                }
                Claim::Lost(first) => {
                    (self.count)(&decision.event_id, "taken");
                    delivered.taken.push(first);
                }
            }
        }
        if events.is_empty() {
            return Ok(delivered);
        }
        let answer: Result<Value, _> =
            self.upstream.post(&format!("/v1/sessions/{session_id}/events"), &SendEventsBody { events }).await;
        let error = match answer {
            Ok(_) => {
                for id in &delivered.sent {
                    (self.count)(id, "sent");
                    self.settle(session_id, id, true).await;
                }
                return Ok(delivered);
            }
            Err(error) => error,
        };
        // A refusal (a 4xx other than a timeout or a rate limit) applied nothing; any other failure
        // may have lost an answer to a send that arrived, which the session's events tell.
        let refused = matches!(&error, UpstreamError::Api { status, .. } if (400..500).contains(status) && ![408, 429].contains(status));
        let arrived = if refused { Some(Vec::new()) } else { self.echoes(session_id).await };
        let Some(arrived) = arrived else {
            for id in std::mem::take(&mut delivered.sent) {
                (self.count)(&id, "unknown");
            }
            delivered.failed = Some(Failed::Unknown);
            return Ok(delivered);
        };
        let mut lost = false;
        for id in std::mem::take(&mut delivered.sent) {
            let got_there = arrived.contains(&id);
            (self.count)(&id, if got_there { "sent" } else { "failed" });
            self.settle(session_id, &id, got_there).await;
            if got_there {
                delivered.sent.push(id);
            } else {
                lost = true;
            }
        }
        if lost {
            delivered.failed = Some(Failed::NotSent(error));
        }
        Ok(delivered)
    }

    /// The calls the session's newest 1,000 echoes answer; `None` when they cannot be listed.
    async fn echoes(&self, session_id: &str) -> Option<Vec<String>> {
        let (echo_type, id_field) = self.echo;
        let query = vec![
            ("types[]".to_owned(), echo_type.to_owned()),
            ("order".to_owned(), "desc".to_owned()),
            ("limit".to_owned(), "1000".to_owned()),
        ];
        let listed: Page<Value> = self.upstream.get(&format!("/v1/sessions/{session_id}/events"), query).await.ok()?;
        Some(listed.data.iter().filter_map(|e| e.get(id_field).and_then(Value::as_str)).map(str::to_owned).collect())
    }

    /// Settles a decision's record. One that cannot be settled is only logged: what reached the
    /// API is there whatever the record says, and a record left "sending" is taken over once it
    /// is stale.
    async fn settle(&self, session_id: &str, event_id: &str, sent: bool) {
        if let Err(e) = self.decisions.settle(session_id, event_id, sent).await {
            tracing::error!("a decision could not be settled as {}: {e}", if sent { "sent" } else { "not sent" });
        }
    }
}
