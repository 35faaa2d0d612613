//! The server functions of the audit log. What they take and answer, and the store they reach, are
//! [`domain::audit`]'s.

pub use domain::audit::*;

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;

use super::JsonResponse;
use crate::error::AppError;

/// A page of the audit log, newest first.
#[access(Viewer)]
#[server(endpoint = "audit/list", input = GetUrl, output = JsonResponse)]
pub async fn list_audit(query: AuditQuery) -> Result<AuditPage, AppError> {
    let principal = crate::auth::store::require(crate::auth::Role::Viewer)?;
    let (query, everyone) = scoped(query, &principal)?;
    let store = leptos::prelude::use_context::<server::AuditHandle>()
        .ok_or_else(|| AppError::internal("The server did not provide its audit log."))?;
    let limit = query.limit.unwrap_or(AUDIT_PAGE).clamp(1, 500);
    let mut asked = query.clone();
    asked.limit = Some(limit + 1);
    let mut found = store.0.query(&asked).await?;
    let more = found.len() > limit as usize;
    found.truncate(limit as usize);
    let entries = found
        .into_iter()
        .map(|e| Entry {
            id: e.id,
            at: e.at,
            who: e.username.unwrap_or_else(|| "nobody signed in".to_owned()),
            roles: e.roles,
            from: e.ip.unwrap_or_default(),
            user_agent: e.user_agent.unwrap_or_default(),
            credential: e.credential.unwrap_or_default(),
            action: e.action,
            targets: e.targets,
            detail: e.detail.map(|d| d.to_string()).unwrap_or_default(),
            outcome: e.outcome,
            status: e.status,
            error: with_attempts(e.error.unwrap_or_default(), e.attempts),
        })
        .collect();
    Ok(AuditPage { entries, more, everyone })
}

/// An entry's error with how many attempts it stands for: a refused sign-in's entry counts the
/// refusals of its address at its username for 15 minutes (`server/src/audit/`).
#[cfg(feature = "ssr")]
fn with_attempts(error: String, attempts: i64) -> String {
    if attempts > 1 { format!("{error} ({attempts} attempts)") } else { error }
}

#[cfg(feature = "ssr")]
pub mod server {
    pub use domain::audit::server::*;
}
