//! Imported sessions: a session's JSON export read back into Switchboard's own store, read-only,
//! to replay in the live view and in presenter mode. The upload, the store and the stream are the
//! server's (`server/src/records/imports.rs`); the API itself has no import.

use leptos::{prelude::*, server_fn::codec::GetUrl};
use macros::access;
use serde::{Deserialize, Serialize};

use super::JsonResponse;
use crate::error::AppError;

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

/// Every imported session, newest first.
#[access(Viewer)]
#[server(endpoint = "imports/list", input = GetUrl, output = JsonResponse)]
pub async fn list_imports() -> Result<Vec<ImportRow>, AppError> {
    server::imports()?.0.list().await
}

#[access(Viewer)]
#[server(endpoint = "imports/get", input = GetUrl, output = JsonResponse)]
pub async fn get_import(id: String) -> Result<ImportRow, AppError> {
    server::imports()?.0.get(id).await
}

/// The first screen of an imported session's timeline, around `event` or the newest, numbered
/// as its stream numbers them.
#[access(Viewer)]
#[server(endpoint = "imports/first_screen", input = GetUrl, output = JsonResponse)]
pub async fn get_import_first_screen(
    id: String,
    event: Option<String>,
) -> Result<Option<crate::api::live::FirstScreen>, AppError> {
    let event = event.filter(|e| !e.is_empty());
    server::imports()?.0.first_screen(id, event).await
}

/// Removes an imported session (the session it came from is not touched).
#[access(Operator)]
#[server(endpoint = "imports/delete", output = JsonResponse)]
pub async fn delete_import(id: String) -> Result<(), AppError> {
    server::imports()?.0.delete(id).await
}

#[cfg(feature = "ssr")]
pub mod server {
    use std::sync::Arc;

    use super::ImportRow;
    use crate::{error::AppError, upstream::client::BoxFuture};

    /// The server's imported sessions.
    pub trait ImportStore: Send + Sync + 'static {
        fn list(&self) -> BoxFuture<'_, Result<Vec<ImportRow>, AppError>>;
        fn get(&self, id: String) -> BoxFuture<'_, Result<ImportRow, AppError>>;
        fn delete(&self, id: String) -> BoxFuture<'_, Result<(), AppError>>;
        /// [`super::get_import_first_screen`].
        fn first_screen(
            &self,
            id: String,
            event: Option<String>,
        ) -> BoxFuture<'_, Result<Option<crate::api::live::FirstScreen>, AppError>>;
    }

    #[derive(Clone)]
    pub struct ImportsHandle(pub Arc<dyn ImportStore>);

    pub fn imports() -> Result<ImportsHandle, AppError> {
        leptos::prelude::use_context::<ImportsHandle>()
            .ok_or_else(|| AppError::internal("The server did not provide its imported sessions."))
    }
}
