//! The approval service: the one implementation of `domain::approvals::Approvals`, which every
//! server function about decisions, policies and rules calls. Deciding is in `deciding.rs`, the
//! policy's gate in `gate.rs`; the stores are `decisions.rs`, `policies.rs` and `rules.rs`.

use std::sync::Arc;

use domain::{
    approvals::{Approvals, Caller, CustomAnswer},
    auth::{Principal, Role},
    decisions::{Decided, Recorded, Verdict},
    error::AppError,
    policies::{ApprovalState, Policy},
    rules::{NewRule, Rule},
    upstream::client::{BoxFuture, UpstreamHandle},
};
use serde_json::json;

use crate::{
    records::shares::Shares,
    support::cluster::{Replicated, Signal},
};

use super::{
    deciding::DecisionPath,
    decisions::DecisionStore,
    gate,
    inbox::Inbox,
    policies::{Policies, PolicyStore},
    rules::RuleBook,
};

/// One workspace's approvals: its upstream, and the stores and inbox they change.
pub struct ApprovalService {
    path: DecisionPath,
    rules: Arc<RuleBook>,
    /// Tells the other replicas when the policies or rules change (they keep copies).
    replicated: Replicated,
}

impl ApprovalService {
    pub fn new(
        upstream: UpstreamHandle,
        decisions: Arc<dyn DecisionStore>,
        inbox: Arc<Inbox>,
        policies: Arc<Policies>,
        rules: Arc<RuleBook>,
        shares: Arc<Shares>,
        replicated: Replicated,
    ) -> Self {
        Self { path: DecisionPath { upstream, decisions, policies, inbox, shares }, rules, replicated }
    }

    async fn create_rule_now(&self, by: Caller, rule: NewRule) -> Result<Rule, AppError> {
        rule.check()?;
        let session_id = rule.session_id.clone();
        let made = self.rules.create_now(rule, by.person.label(), by.person.username.clone()).await?;
        self.replicated.signal(|workspace| Signal::RulesChanged { workspace }).await;
        // The call on the card it came from is answered now, not at the next poll.
        self.path.inbox.reread_waiting(&session_id);
        by.note(json!({
            "rule": made.id, "tool": made.tool, "pattern": made.pattern, "scope": made.scope,
            "scope_id": made.scope_id, "expires_at": made.expires_at,
        }));
        Ok(made)
    }
}

impl Approvals for ApprovalService {
    fn decide(
        &self,
        by: Caller,
        session_id: String,
        verdicts: Vec<Verdict>,
    ) -> BoxFuture<'_, Result<Decided, AppError>> {
        Box::pin(self.path.decide_calls(by, session_id, verdicts))
    }

    fn answer(
        &self,
        by: Caller,
        session_id: String,
        event_id: String,
        answer: CustomAnswer,
    ) -> BoxFuture<'_, Result<Decided, AppError>> {
        Box::pin(self.path.answer_call(by, session_id, event_id, answer))
    }

    fn decisions(&self, session_id: String) -> BoxFuture<'_, Result<Vec<Recorded>, AppError>> {
        Box::pin(async move {
            self.path.decisions.recorded(&session_id).await.map_err(|error| {
                tracing::error!("the decision store failed: {error}");
                AppError::internal("Switchboard could not read the session's decisions; try again.")
            })
        })
    }

    fn state(&self, session_id: String) -> BoxFuture<'_, Result<ApprovalState, AppError>> {
        Box::pin(async move { gate::state(&self.path.upstream, &self.path.policies, &session_id).await })
    }

    fn sent(&self, by: Principal, session_id: String, event_id: Option<String>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let recorded = self.path.policies.sent(session_id.clone(), event_id, by.username.clone(), by.label()).await;
            if let Err(error) = recorded {
                tracing::error!("who sent a message to {session_id} was not recorded: {}", error.message);
            }
        })
    }

    fn policies(&self) -> BoxFuture<'_, Result<Vec<Policy>, AppError>> {
        self.path.policies.list()
    }

    fn save_policy(&self, by: Caller, policy: Policy) -> BoxFuture<'_, Result<Policy, AppError>> {
        Box::pin(async move {
            let saved = self.path.policies.save(policy, by.person.label()).await?;
            self.replicated.signal(|workspace| Signal::PoliciesChanged { workspace }).await;
            by.note(json!({ "policy": saved }));
            Ok(saved)
        })
    }

    fn delete_policy(&self, by: Caller, agent_id: String) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(async move {
            self.path.policies.delete(agent_id.clone()).await?;
            self.replicated.signal(|workspace| Signal::PoliciesChanged { workspace }).await;
            by.note(json!({ "policy_removed": agent_id }));
            Ok(())
        })
    }

    fn create_rule(&self, by: Caller, rule: NewRule) -> BoxFuture<'_, Result<Rule, AppError>> {
        Box::pin(self.create_rule_now(by, rule))
    }

    fn revoke_rule(&self, by: Caller, id: i64) -> BoxFuture<'_, Result<Rule, AppError>> {
        let admin = by.person.can(Role::Admin);
        Box::pin(async move {
            let revoked = self.rules.revoke_now(id, by.person.label(), by.person.username.clone(), admin).await?;
            self.replicated.signal(|workspace| Signal::RulesChanged { workspace }).await;
            Ok(revoked)
        })
    }

    fn rules(&self, session_id: Option<String>) -> BoxFuture<'_, Result<Vec<Rule>, AppError>> {
        Box::pin(self.rules.list_now(session_id))
    }
}
