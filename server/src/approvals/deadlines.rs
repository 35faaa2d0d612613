//! Deadlines: an approval policy may say how long a call waits for a decision (for every tool,
//! and for some tools their own, `domain::policies::Deadline`); a call still waiting then is denied
//! by the policy, with a message to the agent that says why ("No decision within 30 minutes:
//! denied by the approval policy."). Escalation decides who is told meanwhile; the deadline is
//! the final word, quiet hours or not.
//!
//! The inbox's poller applies them ([`Inbox`](super::inbox::Inbox)): it runs while any policy
//! sets a deadline, wakes at the soonest one, and denies what is due through
//! [`Deadlines::deny`]. A deadline is counted from the call's own time (`processed_at`, the
//! API's), so it holds across a restart: a call that came due while Switchboard was down is
//! denied at the first look. One replica polls a workspace's inbox (its lease), and the decision
//! store's claim lets one decision of a call through whoever makes it: a call is denied, and
//! audited, once.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use domain::{
    decisions::{Outcome, Recorded},
    inbox::PendingCall,
    policies::{Policy, deadline_message, policy_for},
    upstream::client::UpstreamHandle,
};
use protocol::event_params::{EventParams, UserToolConfirmationParams};
use serde_json::json;

use super::{
    decisions::DecisionStore,
    policies::Policies,
    unattended::{Unattended, send_unattended},
};
use crate::audit::{AuditLog, NewEntry};

/// How long after a denial the API refused the next try waits.
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// The name the decision store and the timeline give a deadline's denial.
pub const DECIDED_BY: &str = "the approval policy's deadline";

/// Whether any of `all` sets a deadline.
fn sets_deadline(all: &[Policy]) -> bool {
    all.iter().any(|p| p.deadline.is_set())
}

/// A workspace's deadlines: its policies, and the audit log their denials go to.
pub struct Deadlines {
    policies: Arc<Policies>,
    audit: Arc<AuditLog>,
    upstream: UpstreamHandle,
    /// Calls whose denial failed, and when: tried again after [`RETRY_AFTER`], audited once.
    failed: Mutex<HashMap<String, Instant>>,
}

impl Deadlines {
    pub fn new(policies: Arc<Policies>, audit: Arc<AuditLog>, upstream: UpstreamHandle) -> Arc<Self> {
        Arc::new(Self { policies, audit, upstream, failed: Mutex::default() })
    }

    /// Whether any policy sets a deadline, as last read (the poller runs while one does).
    pub fn any_known(&self) -> bool {
        self.known().is_some()
    }

    /// The policies as last read, when any sets a deadline: what the published calls are
    /// stamped with.
    pub fn known(&self) -> Option<Arc<Vec<Policy>>> {
        self.policies.cached().filter(|all| sets_deadline(all))
    }

    /// The policies now, when any sets a deadline (from memory after the first read). A store
    /// that cannot be read counts as none: nothing is denied on a guess.
    pub async fn current(&self) -> Option<Arc<Vec<Policy>>> {
        self.policies.all().await.ok().filter(|all| sets_deadline(all))
    }

    /// Returns when the policies change.
    pub async fn changed(&self) {
        self.policies.changed().await;
    }

    /// When `call` is denied under the policies as last read.
    pub fn due(&self, policies: &[Policy], call: &PendingCall) -> Option<i64> {
        domain::policies::deadline_ms(policies, call.agent_id.as_deref(), &call.event)
    }

    /// Whether a call whose denial failed is to be tried again now.
    pub fn may_try(&self, event_id: &str) -> bool {
        self.failed.lock().unwrap_or_else(|e| e.into_inner()).get(event_id).is_none_or(|at| at.elapsed() >= RETRY_AFTER)
    }

    /// Denies `call`, due under `policies`; audited when sent, and once when it failed. True when
    /// the call is answered (by this denial, or by somebody first).
    pub async fn deny(&self, decisions: &dyn DecisionStore, policies: &[Policy], call: &PendingCall) -> bool {
        let Some(policy) = policy_for(policies, call.agent_id.as_deref()) else { return false };
        let Some(secs) = policy.deadline.secs_for(call.tool()) else { return false };
        let event_id = call.event_id().to_owned();
        let message = deadline_message(secs);
        let decision = Recorded {
            event_id: event_id.clone(),
            result: Outcome::Deny,
            deny_message: Some(message.clone()),
            decided_by: DECIDED_BY.to_owned(),
            decided_at: domain::format::rfc3339(time::OffsetDateTime::now_utc()),
        };
        let event =
            EventParams::UserToolConfirmation(UserToolConfirmationParams::deny(&event_id, Some(message.clone())));
        let ended = send_unattended(
            &self.upstream,
            decisions,
            &call.session_id,
            &decision,
            event,
            "Denying a call at its deadline",
        )
        .await;
        let error = match ended {
            Unattended::Taken => return true,
            Unattended::NotRecorded => return false,
            Unattended::Sent => None,
            Unattended::Failed(error) => Some(error),
        };
        let first_failure = error.is_some()
            && self.failed.lock().unwrap_or_else(|e| e.into_inner()).insert(event_id.clone(), Instant::now()).is_none();
        if error.is_none() || first_failure {
            let mut entry = NewEntry::of_policy(
                "policies/deadline_denied",
                &call.session_id,
                &event_id,
                json!({
                    "policy": policy.agent_id,
                    "tool": call.tool(),
                    "after_secs": secs,
                    "deny_message": message,
                    "input_sha256": call.event.get("input").map(domain::decisions::input_sha256),
                }),
            );
            if let Some(error) = &error {
                entry.status = 502;
                entry.error = Some(error.clone());
            }
            self.audit.append(entry).await;
        }
        match error {
            None => {
                self.failed.lock().unwrap_or_else(|e| e.into_inner()).remove(&event_id);
                true
            }
            Some(error) => {
                tracing::warn!(event = %event_id, "a call past its deadline could not be denied: {error}");
                false
            }
        }
    }
}
