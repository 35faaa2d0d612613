//! The approval path's adapters to the app's traits: what server functions reach through the
//! Leptos context. A decision that reaches the API takes its call out of the inbox; a new rule has
//! the inbox read the waiting sessions at once.

use std::sync::Arc;

use app::{
    api::rules::{NewRule, server::RuleSource},
    decisions::{Claim, DecisionStore, Recorded},
    error::AppError,
    rules::Rule,
    upstream::client::BoxFuture,
};

use super::{inbox::Inbox, rules::RuleBook};

/// The decision store as server functions get it: a decision that reached the API also takes its
/// call out of the inbox.
pub struct AnnouncingDecisions {
    pub store: Arc<dyn DecisionStore>,
    pub inbox: Arc<Inbox>,
}

impl DecisionStore for AnnouncingDecisions {
    fn claim<'a>(&'a self, session_id: &'a str, decision: &'a Recorded) -> BoxFuture<'a, Result<Claim, String>> {
        self.store.claim(session_id, decision)
    }

    fn settle<'a>(&'a self, session_id: &'a str, event_id: &'a str, sent: bool) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.store.settle(session_id, event_id, sent).await?;
            if sent {
                self.inbox.decided(session_id, event_id).await;
            }
            Ok(())
        })
    }

    fn recorded<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Vec<Recorded>, String>> {
        self.store.recorded(session_id)
    }
}

/// The rule book as server functions reach it; a new rule has the inbox read the waiting
/// sessions at once, so that the call on the card it came from is answered now.
pub struct Rules {
    pub book: Arc<RuleBook>,
    pub inbox: Arc<Inbox>,
}

impl RuleSource for Rules {
    fn create(&self, rule: NewRule, by: String, owner: String) -> BoxFuture<'_, Result<Rule, AppError>> {
        Box::pin(async move {
            let session_id = rule.session_id.clone();
            let made = self.book.create_now(rule, by, owner).await?;
            self.inbox.reread_waiting(&session_id);
            Ok(made)
        })
    }

    fn revoke(&self, id: i64, by: String, owner: String, admin: bool) -> BoxFuture<'_, Result<Rule, AppError>> {
        Box::pin(self.book.revoke_now(id, by, owner, admin))
    }

    fn list(&self, session_id: Option<String>) -> BoxFuture<'_, Result<Vec<Rule>, AppError>> {
        Box::pin(self.book.list_now(session_id))
    }
}
