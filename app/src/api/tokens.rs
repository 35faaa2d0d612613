//! The server functions of personal access tokens (the Account page's API tokens panel). What
//! they take and answer, and the store they reach, are [`domain::tokens`]'s; a token's secret is
//! in one answer only, the one that made it, and in no audit entry.

pub use domain::tokens::*;

use leptos::{prelude::*, server_fn::codec::GetUrl};
use macros::access;

use super::JsonResponse;
use crate::error::AppError;

/// The asking person's tokens, newest first, and the longest life a new one may have.
#[access(Viewer)]
#[server(endpoint = "me/tokens", input = GetUrl, output = JsonResponse)]
pub async fn my_tokens() -> Result<(Vec<TokenRow>, u32), AppError> {
    let principal = crate::auth::store::signed_in()?;
    let store = server::tokens()?;
    Ok((store.0.list(Some(principal.user_id)).await?, store.0.max_days()))
}

/// Every person's tokens, newest first (admins only).
#[access(Admin)]
#[server(endpoint = "tokens/all", input = GetUrl, output = JsonResponse)]
pub async fn all_tokens() -> Result<Vec<TokenRow>, AppError> {
    server::tokens()?.0.list(None).await
}

/// Makes a token for the asking person: shown once.
#[access(Viewer)]
#[server(endpoint = "me/tokens/create", output = JsonResponse)]
pub async fn create_token(form: TokenForm) -> Result<MadeToken, AppError> {
    let principal = crate::auth::store::signed_in()?;
    let store = server::tokens()?;
    let token = form.check(store.0.max_days())?;
    let made = store.0.create(principal, token).await?;
    crate::auth::store::note(serde_json::json!({
        "token": made.row.id, "name": made.row.name, "workspace": made.row.workspace,
        "roles": made.row.roles, "expires_at": made.row.expires_at,
    }));
    Ok(made)
}

/// Revokes a token: the asking person's own, or anyone's for an admin.
#[access(Viewer)]
#[server(endpoint = "me/tokens/revoke", output = JsonResponse)]
pub async fn revoke_token(id: String) -> Result<TokenRow, AppError> {
    let principal = crate::auth::store::signed_in()?;
    let revoked = server::tokens()?.0.revoke(principal, id).await?;
    crate::auth::store::note(serde_json::json!({ "token": revoked.id, "name": revoked.name, "owner": revoked.owner }));
    Ok(revoked)
}

/// The terminal's `switchboard login` waiting with user code `code`.
#[access(Viewer)]
#[server(endpoint = "device/request", input = GetUrl, output = JsonResponse)]
pub async fn waiting_device(code: String) -> Result<DeviceRequest, AppError> {
    crate::auth::store::signed_in()?;
    server::tokens()?.0.device_request(code).await
}

/// Approves a terminal's sign-in with a workspace and roles (its token is made when the terminal
/// takes it), or denies it.
#[access(Viewer)]
#[server(endpoint = "device/decide", output = JsonResponse)]
pub async fn decide_device(form: DeviceForm) -> Result<bool, AppError> {
    let principal = crate::auth::store::signed_in()?;
    let approval = form.approval()?;
    let approved = approval.is_some();
    crate::auth::store::note(serde_json::json!({
        "code": form.code, "approved": approved,
        "workspace": approval.as_ref().map(|(w, _)| w.clone()),
        "roles": approval.as_ref().map(|(_, r)| crate::auth::roles_text(r)),
    }));
    server::tokens()?.0.device_decide(principal, form.code, approval).await?;
    Ok(approved)
}

#[cfg(feature = "ssr")]
pub mod server {
    pub use domain::tokens::server::*;

    use crate::error::AppError;

    pub fn tokens() -> Result<TokensHandle, AppError> {
        leptos::prelude::use_context::<TokensHandle>()
            .ok_or_else(|| AppError::internal("The server did not provide its token store."))
    }
}
