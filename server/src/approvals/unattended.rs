//! Decisions no person makes: a rule's allow (`rules.rs`) and a deadline's denial
//! (`deadlines.rs`), each delivered as a person's are (`delivery.rs`), without a request, a
//! policy's gate or a person to tell.

use domain::{decisions::Recorded, error::AppError, upstream::client::UpstreamHandle};
use protocol::{event_params::EventParams, events::types};

use super::{
    decisions::DecisionStore,
    delivery::{Delivered, Delivery, Failed},
};

/// How a decision Switchboard makes itself (a rule's allow, a deadline's denial) ended.
pub enum Unattended {
    /// Recorded, sent and settled.
    Sent,
    /// Somebody decided the call first: nothing was sent.
    Taken,
    /// The decision store failed: nothing was recorded or sent.
    NotRecorded,
    /// The API refused it, or lost its answer and the events show it did not arrive (the record
    /// was taken back, so a person or the next try may decide the call); or whether it arrived is
    /// unknown (the record stays "sending"). In words.
    Failed(String),
}

/// Sends a decision no person made, as every decision goes (`delivery.rs`): recorded first (so
/// that a person and Switchboard cannot both answer the call), then sent alone, then settled, a
/// lost answer found or not in the session's events. `doing` names it in an error ("Allowing a
/// call by rule").
pub async fn send_unattended(
    upstream: &UpstreamHandle,
    decisions: &dyn DecisionStore,
    session_id: &str,
    decision: &Recorded,
    event: EventParams,
    doing: &str,
) -> Unattended {
    let delivery =
        Delivery { upstream, decisions, echo: (types::USER_TOOL_CONFIRMATION, "tool_use_id"), count: &|_, _| {} };
    match delivery.deliver(session_id, vec![(decision.clone(), event)]).await {
        Err(error) => {
            tracing::error!("{doing}: the decision could not be recorded: {error}");
            Unattended::NotRecorded
        }
        Ok(delivered) if !delivered.taken.is_empty() => Unattended::Taken,
        Ok(Delivered { failed: None, .. }) => Unattended::Sent,
        Ok(Delivered { failed: Some(Failed::NotSent(error)), .. }) => {
            Unattended::Failed(AppError::upstream(doing, error).to_string())
        }
        Ok(Delivered { failed: Some(Failed::Unknown), .. }) => Unattended::Failed(format!(
            "{doing} failed: the API did not answer and its events could not be listed, so whether the decision arrived is unknown; it stays recorded as sending."
        )),
    }
}
