//! Scoped "always allow" rules (`domain::rules`): made from an approval card, listed on the Rules
//! page and on a session's page, revoked by whoever made them or an admin. The server keeps and
//! applies them (`server/src/approvals/`).

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;

use super::JsonResponse;
use crate::{error::AppError, rules::Rule};

pub use crate::rules::NewRule;

/// Makes a rule; Switchboard answers matching calls from now on, the one on the card too.
#[access(Approver)]
#[server(endpoint = "rules/create", output = JsonResponse)]
pub async fn create_rule(rule: NewRule) -> Result<Rule, AppError> {
    use crate::approvals::approvals;
    let session_id = super::server::segment(&rule.session_id)?;
    approvals()?.0.create_rule(crate::approvals::caller()?, NewRule { session_id, ..rule }).await
}

/// Ends a rule at once. Whoever made it may, and admins.
#[access(Approver)]
#[server(endpoint = "rules/revoke", output = JsonResponse)]
pub async fn revoke_rule(id: i64) -> Result<Rule, AppError> {
    use crate::approvals::approvals;
    approvals()?.0.revoke_rule(crate::approvals::caller()?, id).await
}

/// Rules, newest first: every one (the Rules page), or those that hold for a session (its own,
/// and its agent's).
#[access(Viewer)]
#[server(endpoint = "rules/list", input = GetUrl, output = JsonResponse)]
pub async fn list_rules(#[server(default)] session_id: Option<String>) -> Result<Vec<Rule>, AppError> {
    let session_id = session_id.filter(|s| !s.trim().is_empty()).map(|s| super::server::segment(&s)).transpose()?;
    crate::approvals::approvals()?.0.rules(session_id).await
}
