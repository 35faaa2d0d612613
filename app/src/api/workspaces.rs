//! The server functions of the workspaces. What they take and answer, and the store they reach, are
//! [`domain::workspaces`]'s.

pub use domain::workspaces::*;

use leptos::{prelude::*, server_fn::codec::GetUrl};
use macros::access;

use super::JsonResponse;
use crate::error::AppError;

/// The workspace of this page and the ones the person may switch to.
#[access(Viewer)]
#[server(endpoint = "workspaces/here", input = GetUrl, output = JsonResponse)]
pub async fn workspace_here() -> Result<Place, AppError> {
    let principal = crate::auth::store::signed_in()?;
    let handle = server::workspaces()?;
    Ok(handle.0.place(&principal, &server::current()?.id))
}

/// Every workspace, with who may open it.
#[access(Admin)]
#[server(endpoint = "workspaces/list", input = GetUrl, output = JsonResponse)]
pub async fn list_workspaces() -> Result<Vec<WorkspaceRow>, AppError> {
    server::workspaces()?.0.list().await
}

/// Connects a workspace: checks that the key opens the upstream, seals it, and starts serving it.
#[access(Admin)]
#[server(endpoint = "workspaces/connect", output = JsonResponse)]
pub async fn connect_workspace(form: ConnectForm) -> Result<WorkspaceRow, AppError> {
    let principal = crate::auth::store::signed_in()?;
    crate::auth::store::note(serde_json::json!({ "workspace": form.id.trim(), "base_url": form.base_url.trim() }));
    server::workspaces()?.0.connect(form, principal.username).await
}

/// Disconnects a workspace: its key is deleted and nobody can open it; its records stay in the
/// data directory.
#[access(Admin)]
#[server(endpoint = "workspaces/disconnect", output = JsonResponse)]
pub async fn disconnect_workspace(id: String) -> Result<(), AppError> {
    crate::auth::store::note(serde_json::json!({ "workspace": id.trim() }));
    server::workspaces()?.0.disconnect(id).await
}

/// Grants a person roles in a workspace, or (with none) takes their access away.
#[access(Admin)]
#[server(endpoint = "workspaces/grant", output = JsonResponse)]
pub async fn grant_workspace(form: GrantForm) -> Result<WorkspaceRow, AppError> {
    crate::auth::store::note(
        serde_json::json!({ "workspace": form.workspace_id.trim(), "user": form.username.trim(), "roles": form.roles.trim() }),
    );
    server::workspaces()?.0.grant(form).await
}

/// Sets the signing secret of a connected workspace's incoming webhooks (write-only: never shown
/// again), or removes it when empty: its upstream then sends them to `/webhooks/anthropic/<id>`.
#[access(Admin)]
#[server(endpoint = "workspaces/webhook", output = JsonResponse)]
pub async fn set_workspace_webhook(id: String, secret: String) -> Result<WorkspaceRow, AppError> {
    let principal = crate::auth::store::signed_in()?;
    let what = if secret.trim().is_empty() { "removed" } else { "set" };
    crate::auth::store::note(serde_json::json!({ "workspace": id.trim(), "webhook_secret": what }));
    server::workspaces()?.0.set_webhook(id, secret, principal.username).await
}

#[cfg(feature = "ssr")]
pub mod server {
    pub use domain::workspaces::server::*;

    use super::Choice;

    use crate::error::AppError;

    pub fn workspaces() -> Result<WorkspacesHandle, AppError> {
        leptos::prelude::use_context::<WorkspacesHandle>()
            .ok_or_else(|| AppError::internal("The server did not provide its workspaces."))
    }

    /// The workspace of the current request, put on it by the server.
    pub fn current() -> Result<Choice, AppError> {
        leptos::prelude::use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Choice>().cloned())
            .ok_or_else(|| AppError::internal("The server did not say which workspace this request is for."))
    }
}
