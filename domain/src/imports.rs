//! Imported sessions: a session's JSON export read back into Switchboard's own store, read-only,
//! to replay in the live view and in presenter mode. The upload, the store and the stream are the
//! server's (`server/src/records/imports.rs`); the API itself has no import.

use serde::{Deserialize, Serialize};

/// An imported session, without its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRow {
    /// `import_3`.
    pub id: String,
    pub title: String,
    pub agent: String,
    /// The session it was exported from (in another Switchboard, perhaps).
    pub source_session_id: String,
    /// The export's digest over the session's events, which they matched at import (it shows
    /// the file whole, not who made it: anyone can compute one).
    pub digest: String,
    pub events: u64,
    pub threads: u64,
    pub imported_by: String,
    pub imported_at: String,
}

#[cfg(feature = "server")]
pub mod server {
    use std::sync::Arc;

    use super::ImportRow;

    use crate::{error::AppError, upstream::client::BoxFuture};

    /// The server's imported sessions.
    pub trait ImportStore: Send + Sync + 'static {
        fn list(&self) -> BoxFuture<'_, Result<Vec<ImportRow>, AppError>>;
        fn get(&self, id: String) -> BoxFuture<'_, Result<ImportRow, AppError>>;
        fn delete(&self, id: String) -> BoxFuture<'_, Result<(), AppError>>;
        /// `app::api::imports::get_import_first_screen`.
        fn first_screen(
            &self,
            id: String,
            event: Option<String>,
        ) -> BoxFuture<'_, Result<Option<crate::live::FirstScreen>, AppError>>;
    }

    #[derive(Clone)]
    pub struct ImportsHandle(pub Arc<dyn ImportStore>);
}
