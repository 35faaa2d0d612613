//! The audit log: every change and decision, who made it, from where, and how it ended. Entries
//! are written by the server for every mutation (`server/src/audit/`); nothing here edits or
//! deletes them.

use serde::{Deserialize, Serialize};

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
    /// How the change came, when not from a browser's sign-in (`token CI deploys (tok_…)`).
    #[serde(default)]
    pub credential: String,
    pub action: String,
    pub targets: String,
    pub detail: String,
    pub outcome: String,
    pub status: u16,
    pub error: String,
}

pub const AUDIT_PAGE: u32 = 50;

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

#[cfg(feature = "server")]
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
        /// How the change came, when not from a browser's sign-in (`token CI deploys (tok_…)`).
        pub credential: Option<String>,
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
