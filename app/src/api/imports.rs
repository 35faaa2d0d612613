//! The server functions of the imported sessions. What they take and answer, and the store they reach, are
//! [`domain::imports`]'s.

pub use domain::imports::*;

use leptos::{prelude::*, server_fn::codec::GetUrl};
use macros::access;

use super::JsonResponse;
use crate::error::AppError;

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
    pub use domain::imports::server::*;

    use crate::error::AppError;

    pub fn imports() -> Result<ImportsHandle, AppError> {
        leptos::prelude::use_context::<ImportsHandle>()
            .ok_or_else(|| AppError::internal("The server did not provide its imported sessions."))
    }
}
