//! The server functions of the share links. What they take and answer, and the store they reach, are
//! [`domain::shares`]'s.

pub use domain::shares::*;

use leptos::{prelude::*, server_fn::codec::GetUrl};
use macros::access;

use super::JsonResponse;
use crate::error::AppError;

/// Makes a read-only link to a session. Its address is in the answer and nowhere else: only its
/// hash is kept.
#[access(Operator)]
#[server(endpoint = "shares/create", output = JsonResponse)]
pub async fn create_share(form: ShareForm) -> Result<CreatedShare, AppError> {
    let new = form.check()?;
    let principal = crate::auth::store::signed_in()?;
    let session: serde_json::Value = super::server::upstream()?
        .get(&format!("/v1/sessions/{}", new.session_id), Vec::new())
        .await
        .map_err(|e| AppError::upstream("Reading the session to share", e))?;
    let title = session.get("title").and_then(|t| t.as_str()).filter(|t| !t.is_empty()).unwrap_or("A session");
    let agent = session.pointer("/agent/name").and_then(|a| a.as_str()).unwrap_or_default();
    let about = server::Shared { title: title.to_owned(), agent: agent.to_owned() };
    let created = server::shares()?.0.create(new, about, principal.username).await?;
    crate::auth::store::note(serde_json::json!({ "share": created.id, "expires_at": created.expires_at }));
    Ok(created)
}

/// Every link, newest first.
#[access(Viewer)]
#[server(endpoint = "shares/list", input = GetUrl, output = JsonResponse)]
pub async fn list_shares() -> Result<Vec<ShareRow>, AppError> {
    server::shares()?.0.list().await
}

/// Revokes a link at once: its page says so and its open streams end. Its maker or an admin.
#[access(Operator)]
#[server(endpoint = "shares/revoke", output = JsonResponse)]
pub async fn revoke_share(id: String) -> Result<ShareRow, AppError> {
    let principal = crate::auth::store::signed_in()?;
    let row = server::shares()?.0.revoke(id.trim().to_owned(), principal).await?;
    crate::auth::store::note(serde_json::json!({ "share": row.id, "session": row.session_id }));
    Ok(row)
}

/// What a link's audience sees of its session; counts a view. Open to anyone holding the token.
#[access(Public)]
#[server(endpoint = "shares/open", input = GetUrl, output = JsonResponse)]
pub async fn open_share(token: String) -> Result<SharedSession, AppError> {
    server::shares()?.0.open(token).await
}

/// The first screen of the shared session's timeline as the link shows it (redacted, cut at its
/// snapshot), around `event` or the newest; `None` when it cannot be had in time or the link does
/// not show `event` (the page's stream brings what there is). Open to anyone holding the token;
/// counts no view.
#[access(Public)]
#[server(endpoint = "shares/first_screen", input = GetUrl, output = JsonResponse)]
pub async fn get_share_first_screen(
    token: String,
    event: Option<String>,
) -> Result<Option<crate::api::live::FirstScreen>, AppError> {
    server::shares()?.0.first_screen(token, event.filter(|e| !e.is_empty())).await
}

#[cfg(feature = "ssr")]
pub mod server {
    pub use domain::shares::server::*;

    use crate::error::AppError;

    pub fn shares() -> Result<SharesHandle, AppError> {
        leptos::prelude::use_context::<SharesHandle>()
            .ok_or_else(|| AppError::internal("The server did not provide its share links."))
    }
}
