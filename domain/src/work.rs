//! Self-hosted environments' keys as the console lists them (and, on the server, the trait of
//! what issues, lists and revokes them: the embedded engine).

use serde::{Deserialize, Serialize};

/// An environment key as an admin sees it listed: never its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentKeyRow {
    pub id: String,
    /// Its last four characters (none for keys issued before they were kept).
    pub hint: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    /// When it was revoked (or its environment archived): it reaches nothing since.
    pub revoked_at: Option<String>,
}

/// What issues, lists and revokes environment keys: the embedded engine, provided to the default
/// workspace's pages.
#[cfg(feature = "server")]
pub mod keys {
    use std::sync::Arc;

    use super::EnvironmentKeyRow;
    use crate::{error::AppError, upstream::client::BoxFuture};

    pub trait EnvironmentKeys: Send + Sync {
        /// A new key for self-hosted environment `environment_id`.
        fn issue(&self, environment_id: String) -> BoxFuture<'_, Result<String, AppError>>;
        /// The environment's keys, without their values.
        fn list(&self, environment_id: String) -> BoxFuture<'_, Result<Vec<EnvironmentKeyRow>, AppError>>;
        /// Revokes key `key_id` of `environment_id`.
        fn revoke(&self, environment_id: String, key_id: String) -> BoxFuture<'_, Result<EnvironmentKeyRow, AppError>>;
    }

    #[derive(Clone)]
    pub struct EnvironmentKeysHandle(pub Arc<dyn EnvironmentKeys>);
}
