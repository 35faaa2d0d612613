//! Decisions no person makes: a rule's allow (`rules.rs`) and a deadline's denial
//! (`deadlines.rs`), each recorded, sent and settled as a person's are (`deciding.rs`), without
//! a request, a policy's gate or a person to tell.

use domain::{decisions::Recorded, error::AppError, upstream::client::UpstreamHandle};
use protocol::event_params::{EventParams, SendEventsBody};
use serde_json::Value;

use super::decisions::{Claim, DecisionStore};

/// How a decision Switchboard makes itself (a rule's allow, a deadline's denial) ended.
pub enum Unattended {
    /// Recorded, sent and settled.
    Sent,
    /// Somebody decided the call first: nothing was sent.
    Taken,
    /// The decision store failed: nothing was recorded or sent.
    NotRecorded,
    /// The API refused it or did not answer (in words); the record was taken back, so a person,
    /// or the next try, may decide the call.
    Failed(String),
}

/// Sends a decision no person made: recorded first (so that a person and Switchboard cannot both
/// answer the call), then sent alone, then settled. `doing` names it in an error ("Allowing a call
/// by rule").
pub async fn send_unattended(
    upstream: &UpstreamHandle,
    decisions: &dyn DecisionStore,
    session_id: &str,
    decision: &Recorded,
    event: EventParams,
    doing: &str,
) -> Unattended {
    match decisions.claim(session_id, decision).await {
        Ok(Claim::Won) => {}
        Ok(Claim::Lost(_)) => return Unattended::Taken,
        Err(error) => {
            tracing::error!("{doing}: the decision could not be recorded: {error}");
            return Unattended::NotRecorded;
        }
    }
    let sent: Result<Value, _> =
        upstream.post(&format!("/v1/sessions/{session_id}/events"), &SendEventsBody { events: vec![event] }).await;
    let error = sent.err().map(|e| AppError::upstream(doing, e).to_string());
    if let Err(e) = decisions.settle(session_id, &decision.event_id, error.is_none()).await {
        tracing::error!("{doing}: the decision could not be settled: {e}");
    }
    match error {
        None => Unattended::Sent,
        Some(error) => Unattended::Failed(error),
    }
}
