//! A decision through a notification's link (an email's or a channel's button opens the card
//! with the link's token): the link is spent before the decision and given back when its call's
//! decision was not made. Over the approval service and the request's workspace's notifier
//! (`web::router` pairs them per request).

use std::future::Future;

use domain::{
    approvals::{ApprovalsHandle, Caller, LinkDecisions},
    decisions::{Decided, LinkRefusal, Verdict},
    error::AppError,
    upstream::client::BoxFuture,
};

/// A notification's link spent on a decision being made; given back if the decision is not.
#[derive(Debug)]
pub struct SpentLink {
    pub nonce: String,
}

/// The links a workspace's notifications carry, as this path spends and gives them back
/// (`notify::Notify` for the request's workspace).
pub trait LinkTokens: Send + Sync + 'static {
    /// Spends `token` for the decision `username` makes through it on `event_id` of
    /// `session_id`: of two at once, exactly one spends it.
    fn spend(
        &self,
        session_id: &str,
        event_id: &str,
        token: &str,
        username: &str,
    ) -> impl Future<Output = Result<Result<SpentLink, LinkRefusal>, AppError>> + Send;
    /// Gives back a link whose decision was not made.
    fn give_back(&self, link: SpentLink) -> impl Future<Output = ()> + Send;
}

/// The link decision path of one request's workspace.
pub struct ThroughLinks<T> {
    pub approvals: ApprovalsHandle,
    pub links: T,
}

impl<T: LinkTokens> LinkDecisions for ThroughLinks<T> {
    fn decide(
        &self,
        by: Caller,
        session_id: String,
        verdicts: Vec<Verdict>,
        link: Option<String>,
    ) -> BoxFuture<'_, Result<Result<Decided, AppError>, LinkRefusal>> {
        Box::pin(async move {
            let Some(token) = link.filter(|t| !t.is_empty()) else {
                return Ok(self.approvals.0.decide(by, session_id, verdicts).await);
            };
            let [verdict] = verdicts.as_slice() else {
                return Ok(Err(AppError::bad_input(
                    "link",
                    "A notification's link decides its one call: send one verdict with it.",
                )));
            };
            let event_id = verdict.event_id.clone();
            let spent = match self.links.spend(&session_id, &event_id, &token, &by.person.username).await {
                Ok(Ok(spent)) => spent,
                Ok(Err(refused)) => return Err(refused),
                Err(error) => return Ok(Err(error)),
            };
            let decided = self.approvals.0.decide(by, session_id, verdicts).await;
            let made = decided
                .as_ref()
                .is_ok_and(|d| d.sent.contains(&event_id) || d.waiting.iter().any(|w| w.event_id == event_id));
            if !made {
                self.links.give_back(spent).await;
            }
            Ok(decided)
        })
    }
}
