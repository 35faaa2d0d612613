//! Workspaces: the upstreams one Switchboard serves, each by name. The one it starts with (the
//! embedded engine, or the API `ANTHROPIC_API_KEY` opens) is `default`; an admin connects more
//! (an Anthropic workspace by its key, another engine by URL and key) on the Settings page and
//! grants people roles in each. Every page, stream, inbox and audit entry belongs to the workspace
//! the person has chosen in the navigation; the server keeps each one's records apart
//! (`server/src/tenancy/workspaces.rs`).

use serde::{Deserialize, Serialize};

/// The workspace every install has.
pub const DEFAULT_ID: &str = "default";

/// A workspace a person may choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub name: String,
}

/// Where the person is: the workspace of this page, and the ones they may switch to (itself
/// among them, in the order they were connected).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub current: Choice,
    pub choices: Vec<Choice>,
}

/// A person's roles in a workspace, as an admin sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub username: String,
    /// Space-separated, as on the People page.
    pub roles: String,
}

/// A workspace on the Settings page (admins only). Its key never leaves the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceRow {
    pub id: String,
    pub name: String,
    /// The upstream's base URL.
    pub base_url: String,
    /// `default`: the one Switchboard starts with; its people are the accounts' own roles.
    pub is_default: bool,
    /// Served now: false when its key did not open at start (another `SWITCHBOARD_SECRET_KEY`).
    pub serving: bool,
    pub created_by: String,
    pub created_at: String,
    /// Who may open it besides the admins (empty for `default`, which everyone may open).
    pub grants: Vec<Grant>,
    /// Where its upstream's webhooks come (`/webhooks/anthropic/staging`; the default's is
    /// `/webhooks/anthropic`).
    #[serde(default)]
    pub webhook_path: String,
    /// Whether their signing secret is set; `None` for the default, whose secret is the server's
    /// (`SWITCHBOARD_WEBHOOK_SECRET`, the Webhooks section says).
    #[serde(default)]
    pub webhook_secret_set: Option<bool>,
}

/// The form that connects a workspace.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConnectForm {
    /// Short, lower case: `staging`.
    pub id: String,
    pub name: String,
    /// `https://api.anthropic.com`, or another engine's address.
    pub base_url: String,
    /// Write-only.
    pub key: String,
}

/// The form that grants (or, with no roles, takes away) a person's roles in a workspace.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GrantForm {
    pub workspace_id: String,
    pub username: String,
    /// Space-separated; empty takes the person's access away.
    pub roles: String,
}

/// Why a text cannot name a workspace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkspaceIdProblem {
    #[error(
        "“{0}” cannot name a workspace: use 1 to 32 lower-case letters, digits and dashes, starting with a letter (e.g. staging)."
    )]
    Malformed(String),
    #[error("“default” is the workspace Switchboard starts with; choose another name.")]
    Default,
}

/// Whether `id` may name a workspace: 1 to 32 lower-case letters, digits and dashes, starting
/// with a letter; `default` is taken.
pub fn check_id(id: &str) -> Result<(), WorkspaceIdProblem> {
    let ok = (1..=32).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(WorkspaceIdProblem::Malformed(id.to_owned()));
    }
    if id == DEFAULT_ID {
        return Err(WorkspaceIdProblem::Default);
    }
    Ok(())
}

#[cfg(feature = "server")]
pub mod server {
    use std::sync::Arc;

    use super::{ConnectForm, GrantForm, Place, WorkspaceRow};

    use crate::{auth::Principal, error::AppError, upstream::client::BoxFuture};

    /// The server's workspaces.
    pub trait WorkspaceAdmin: Send + Sync + 'static {
        /// The workspaces `principal` may open, `current` first among their place.
        fn place(&self, principal: &Principal, current: &str) -> Place;
        fn list(&self) -> BoxFuture<'_, Result<Vec<WorkspaceRow>, AppError>>;
        fn connect(&self, form: ConnectForm, by: String) -> BoxFuture<'_, Result<WorkspaceRow, AppError>>;
        fn disconnect(&self, id: String) -> BoxFuture<'_, Result<(), AppError>>;
        fn grant(&self, form: GrantForm) -> BoxFuture<'_, Result<WorkspaceRow, AppError>>;
        /// Sets (or, empty, removes) a connected workspace's webhook signing secret.
        fn set_webhook(&self, id: String, secret: String, by: String) -> BoxFuture<'_, Result<WorkspaceRow, AppError>>;
    }

    #[derive(Clone)]
    pub struct WorkspacesHandle(pub Arc<dyn WorkspaceAdmin>);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workspace_id_is_short_lower_case_and_not_default() {
        assert!(check_id("staging").is_ok());
        assert!(check_id("eu-prod-2").is_ok());
        for bad in ["", "Staging", "2nd", "a b", "../x", "default", &"x".repeat(33)] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
    }
}
