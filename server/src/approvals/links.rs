//! A decision through a notification's link (an email's or a channel's button opens the card
//! with the link's token): the link is spent before the decision and given back when its call's
//! decision was not made. Over the approval service and the request's workspace's notifier, both
//! as the page's context holds them (`web::router` pairs them per request).

use domain::{
    approvals::{ApprovalsHandle, Caller, LinkDecisions},
    decisions::{Decided, LinkRefusal, Verdict},
    error::AppError,
    notify::server::NotifyHandle,
    upstream::client::BoxFuture,
};

/// The link decision path of one request's workspace.
pub struct ThroughLinks {
    pub approvals: ApprovalsHandle,
    pub notify: NotifyHandle,
}

impl LinkDecisions for ThroughLinks {
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
            let username = by.person.username.clone();
            let spent = match self.notify.0.spend_link(session_id.clone(), event_id.clone(), token, username).await {
                Ok(Ok(spent)) => spent,
                Ok(Err(refused)) => return Err(refused),
                Err(error) => return Ok(Err(error)),
            };
            let decided = self.approvals.0.decide(by, session_id, verdicts).await;
            let made = decided
                .as_ref()
                .is_ok_and(|d| d.sent.contains(&event_id) || d.waiting.iter().any(|w| w.event_id == event_id));
            if !made {
                self.notify.0.unspend_link(spent).await;
            }
            Ok(decided)
        })
    }
}
