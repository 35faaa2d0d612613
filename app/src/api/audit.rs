//! The audit log: every change and decision, who made it, from where, and how it ended. Entries
//! are written by the server for every mutation (`server/src/audit/`); nothing here edits or
//! deletes them.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;
use serde::{Deserialize, Serialize};

use super::JsonResponse;
use crate::error::AppError;

/// Filters of the audit page (its query string) and of the export.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// A username; people who are not admins only ever see their own.
    #[serde(default)]
    pub user: String,
    /// An action, or the start of one (`sessions/` for every session action).
    #[serde(default)]
    pub action: String,
    /// An id the entry names (a session, an agent, an event).
    #[serde(default)]
    pub target: String,
    /// From this day (`YYYY-MM-DD`, UTC), inclusive.
    #[serde(default)]
    pub from: String,
    /// Up to this day (`YYYY-MM-DD`, UTC), inclusive.
    #[serde(default)]
    pub to: String,
    /// Entries older than this id (the next page).
    #[serde(default)]
    pub before: Option<i64>,
    #[serde(default)]
    pub limit: Option<u32>,
}

impl AuditQuery {
    /// The filters as they go back into a link.
    pub fn to_query_string(&self) -> String {
        let mut pairs = Vec::new();
        for (key, value) in [
            ("user", &self.user),
            ("action", &self.action),
            ("target", &self.target),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !value.is_empty() {
                pairs.push(format!("{key}={}", crate::format::query_value(value)));
            }
        }
        pairs.join("&")
    }

    /// Checks the dates; the message names the field.
    pub fn check(&self) -> Result<(), AppError> {
        for (field, value) in [("from", &self.from), ("to", &self.to)] {
            let ok = value.is_empty()
                || (value.len() == 10
                    && value
                        .chars()
                        .enumerate()
                        .all(|(i, c)| if i == 4 || i == 7 { c == '-' } else { c.is_ascii_digit() }));
            if !ok {
                return Err(AppError::bad_input(field, format!("{value:?} is not a date; use YYYY-MM-DD.")));
            }
        }
        Ok(())
    }
}

/// One page of entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<Entry>,
    /// Whether there are older entries (ask with `before` = the last entry's id).
    pub more: bool,
    /// Whether the person sees everyone's entries (admins) or only their own.
    pub everyone: bool,
}

/// An entry as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: i64,
    pub at: String,
    pub who: String,
    pub roles: String,
    pub from: String,
    pub user_agent: String,
    pub action: String,
    pub targets: String,
    pub detail: String,
    pub outcome: String,
    pub status: u16,
    pub error: String,
}

pub const AUDIT_PAGE: u32 = 50;

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

/// The query as the person may ask it, and whether they see everyone's entries: people who are
/// not admins see their own only. The list and the export both go through it.
pub fn scoped(mut query: AuditQuery, principal: &crate::auth::Principal) -> Result<(AuditQuery, bool), AppError> {
    query.check()?;
    let everyone = principal.can(crate::auth::Role::Admin);
    if !everyone {
        query.user = principal.username.clone();
    }
    Ok((query, everyone))
}

/// Where the server keeps the audit log (server only): the store lives in the `server` crate
/// (SQLite); [`list_audit`] reaches it through [`AuditHandle`], provided as context.
#[cfg(feature = "ssr")]
pub mod server {
    use std::sync::Arc;

    use serde_json::Value;

    use super::AuditQuery;
    use crate::{error::AppError, upstream::client::BoxFuture};

    /// One entry of the audit log.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct AuditEntry {
        pub id: i64,
        pub at: String,
        pub username: Option<String>,
        pub roles: String,
        pub ip: Option<String>,
        pub user_agent: Option<String>,
        pub action: String,
        pub targets: String,
        pub detail: Option<Value>,
        pub outcome: String,
        pub status: u16,
        pub error: Option<String>,
        /// The attempts the entry stands for: more than one for a refused sign-in repeated
        /// from its address within 15 minutes, one for any other entry.
        pub attempts: i64,
    }

    pub trait AuditStore: Send + Sync + 'static {
        /// Entries matching `query`, newest first; a failure is logged and worded by the server.
        fn query<'a>(&'a self, query: &'a AuditQuery) -> BoxFuture<'a, Result<Vec<AuditEntry>, AppError>>;
    }

    #[derive(Clone)]
    pub struct AuditHandle(pub Arc<dyn AuditStore>);
}
