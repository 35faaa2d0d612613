//! Who made what: the person (and the token, when it came through Switchboard's API) who created
//! each agent, environment, session, deployment, vault and memory store made through Switchboard.
//! The record is Switchboard's own, kept beside the API's objects (whose answers stay the API's);
//! the audit layer writes it when a creation succeeds (`server/src/audit/creators.rs`), the lists
//! show it and filter by it ("Mine"), and a session's page says who started it.

use serde::{Deserialize, Serialize};

/// What a record is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    Agent,
    Environment,
    Session,
    Deployment,
    Vault,
    MemoryStore,
}

impl Kind {
    pub const ALL: [Kind; 6] =
        [Kind::Agent, Kind::Environment, Kind::Session, Kind::Deployment, Kind::Vault, Kind::MemoryStore];

    /// How the store names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Agent => "agent",
            Kind::Environment => "environment",
            Kind::Session => "session",
            Kind::Deployment => "deployment",
            Kind::Vault => "vault",
            Kind::MemoryStore => "memory_store",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The kind an act makes, by the audit log's name for the act: the console's endpoint
    /// (`agents/create`, `environments/save`) or the API's (`v1/agents.create`). A save makes one
    /// only when its request did not name the id it answered (`Kind::made_by` says what it may
    /// make; the audit layer tells a creation from a change).
    pub fn made_by(action: &str) -> Option<Kind> {
        let kind = match action {
            "agents/create" | "v1/agents.create" => Kind::Agent,
            "environments/save" | "v1/environments.create" => Kind::Environment,
            "sessions/create" | "v1/sessions.create" => Kind::Session,
            "deployments/save" | "v1/deployments.create" => Kind::Deployment,
            "vaults/create" | "v1/vaults.create" => Kind::Vault,
            "memory/save" | "v1/memory_stores.create" => Kind::MemoryStore,
            _ => return None,
        };
        Some(kind)
    }
}

/// Who made one thing, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Creator {
    /// Their username.
    pub username: String,
    /// The credential it came through when not the console (`token CI deploys (tok_…)`,
    /// `provider token of ci-deployer (…)`); `None`: the browser.
    pub via: Option<String>,
    /// RFC 3339, UTC.
    pub at: String,
}

impl Creator {
    /// "ada", or "ada, through token CI deploys (tok_…)".
    pub fn words(&self) -> String {
        match &self.via {
            Some(via) => format!("{}, through {via}", self.username),
            None => self.username.clone(),
        }
    }
}

/// Server side: the creators' store, which the lists' server functions read.
#[cfg(feature = "server")]
pub mod server {
    use std::{collections::HashMap, sync::Arc};

    use super::{Creator, Kind};
    use crate::{error::AppError, upstream::client::BoxFuture};

    /// A page of the ids a person made, newest first, and the cursor of the next page.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct Made {
        pub ids: Vec<String>,
        pub next: Option<String>,
    }

    /// The request's workspace's records.
    pub trait CreatorStore: Send + Sync + 'static {
        /// The makers of those of `ids` that have one.
        fn of(&self, ids: Vec<String>) -> BoxFuture<'_, Result<HashMap<String, Creator>, AppError>>;
        /// What `user_id` made of `kind`, newest first, `limit` at a time from cursor `page`.
        fn made_by(
            &self,
            kind: Kind,
            user_id: i64,
            page: Option<String>,
            limit: u32,
        ) -> BoxFuture<'_, Result<Made, AppError>>;
    }

    #[derive(Clone)]
    pub struct CreatorsHandle(pub Arc<dyn CreatorStore>);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_acts_that_make_each_kind_are_named_for_browser_and_api_alike() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::made_by("agents/create"), Some(Kind::Agent));
        assert_eq!(Kind::made_by("v1/agents.create"), Some(Kind::Agent));
        assert_eq!(Kind::made_by("memory/save"), Some(Kind::MemoryStore));
        assert_eq!(Kind::made_by("v1/memory_stores.create"), Some(Kind::MemoryStore));
        assert_eq!(Kind::made_by("v1/sessions.create"), Some(Kind::Session));
        // Changes and other acts make nothing.
        for act in ["agents/update", "v1/agents.update", "v1/sessions.events.send", "rules/create", "shares/create"] {
            assert_eq!(Kind::made_by(act), None, "{act}");
        }
        let by_token = Creator { username: "ada".into(), via: Some("token CI (tok_1)".into()), at: String::new() };
        assert_eq!(by_token.words(), "ada, through token CI (tok_1)");
    }
}
