//! The person signed in, and accounts (admins only; the server's access rules say so).

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;

use super::JsonResponse;
use crate::{
    auth::{Account, LoginInfo, Principal, Role},
    error::AppError,
};

/// Who is signed in; `None` on the login and setup pages.
#[access(Public)]
#[server(endpoint = "auth/me", input = GetUrl, output = JsonResponse)]
pub async fn me() -> Result<Option<Principal>, AppError> {
    Ok(crate::auth::store::principal())
}

/// The identity provider's name when people may sign in with it (single sign-on), for the
/// sign-in page's button; `None` when only passwords work.
#[access(Public)]
#[server(endpoint = "auth/sso", input = GetUrl, output = JsonResponse)]
pub async fn single_sign_on() -> Result<Option<String>, AppError> {
    Ok(leptos::prelude::use_context::<crate::auth::store::SingleSignOn>().and_then(|s| s.0))
}

/// Every account, in username order.
#[access(Admin)]
#[server(endpoint = "users/list", input = GetUrl, output = JsonResponse)]
pub async fn list_accounts() -> Result<Vec<Account>, AppError> {
    server::accounts()?.list().await.map_err(server::refused)
}

/// Creates an account with a first password the admin passes on; with `require_change`, its
/// owner chooses their own at the first sign-in.
#[access(Admin)]
#[server(endpoint = "users/create", output = JsonResponse)]
pub async fn create_account(
    username: String,
    display_name: String,
    password: String,
    #[server(default)] roles: RoleChoice,
    #[server(default)] require_change: bool,
) -> Result<Account, AppError> {
    let username = username.trim().to_lowercase();
    crate::auth::check_username(&username).map_err(|m| AppError::bad_input("username", m.to_string()))?;
    crate::auth::check_password(&username, &password).map_err(|m| AppError::bad_input("password", m.to_string()))?;
    let roles = server::roles(&roles)?;
    let display_name = display_name.trim();
    let display_name = if display_name.is_empty() { username.as_str() } else { display_name };
    let account = server::accounts()?
        .create(&username, display_name, &password, &roles, require_change)
        .await
        .map_err(server::refused)?;
    crate::auth::store::note(
        serde_json::json!({ "username": account.username, "roles": account.roles, "require_change": require_change }),
    );
    Ok(account)
}

/// Sets an account's roles and whether it is disabled.
#[access(Admin)]
#[server(endpoint = "users/update", output = JsonResponse)]
pub async fn update_account(
    id: i64,
    #[server(default)] roles: RoleChoice,
    #[server(default)] disabled: bool,
) -> Result<Account, AppError> {
    let roles = server::roles(&roles)?;
    let account = server::accounts()?.update(id, &roles, disabled).await.map_err(server::refused)?;
    crate::auth::store::note(
        serde_json::json!({ "username": account.username, "roles": account.roles, "disabled": account.disabled }),
    );
    Ok(account)
}

/// Gives an account a new password (its open logins end); with `require_change`, its owner must
/// choose their own at the next sign-in, so the admin does not keep knowing it. The password is
/// checked against the account's own username: `username` is the form's copy, kept for the form,
/// and not trusted.
#[access(Admin)]
#[server(endpoint = "users/password", output = JsonResponse)]
pub async fn reset_password(
    id: i64,
    username: String,
    password: String,
    #[server(default)] require_change: bool,
) -> Result<(), AppError> {
    let _ = username;
    let accounts = server::accounts()?;
    let account = accounts.get(id).await.map_err(server::refused)?;
    crate::auth::check_password(&account.username, &password)
        .map_err(|m| AppError::bad_input("password", m.to_string()))?;
    accounts.set_password(id, &password, require_change).await.map_err(server::refused)?;
    crate::auth::store::note(serde_json::json!({ "username": account.username, "require_change": require_change }));
    Ok(())
}

/// The sign-ins open in the name of the person asking, the current one marked.
#[access(Viewer)]
#[server(endpoint = "me/logins", input = GetUrl, output = JsonResponse)]
pub async fn my_logins() -> Result<Vec<LoginInfo>, AppError> {
    let principal = crate::auth::store::require(Role::Viewer)?;
    let current = crate::auth::store::current_login();
    let mut logins = server::accounts()?.logins(principal.user_id).await.map_err(server::refused)?;
    for login in &mut logins {
        login.current = current.as_deref() == Some(login.id.as_str());
    }
    Ok(logins)
}

/// Ends one of the asking person's own sign-ins (another browser's: the current one signs out).
#[access(Viewer)]
#[server(endpoint = "me/logins/end", output = JsonResponse)]
pub async fn end_my_login(id: String) -> Result<(), AppError> {
    let principal = crate::auth::store::require(Role::Viewer)?;
    if crate::auth::store::current_login().as_deref() == Some(id.as_str()) {
        return Err(AppError::bad_input("id", "That is this browser's sign-in: use Sign out to end it."));
    }
    let ended = server::accounts()?.end_login_of(principal.user_id, &id).await.map_err(server::refused)?;
    if !ended {
        return Err(AppError::not_found("You have no open sign-in by that id; it may have ended already."));
    }
    Ok(())
}

/// Ends every sign-in of the asking person but this browser's.
#[access(Viewer)]
#[server(endpoint = "me/logins/end_others", output = JsonResponse)]
pub async fn end_my_other_logins() -> Result<u64, AppError> {
    let principal = crate::auth::store::require(Role::Viewer)?;
    let current = crate::auth::store::current_login()
        .ok_or_else(|| AppError::internal("The server did not say which sign-in this is."))?;
    let ended = server::accounts()?.end_other_logins(principal.user_id, &current).await.map_err(server::refused)?;
    crate::auth::store::note(serde_json::json!({ "ended": ended }));
    Ok(ended)
}

/// The role checkboxes of a form (`roles[operator]=true`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RoleChoice {
    #[serde(default)]
    pub viewer: bool,
    #[serde(default)]
    pub operator: bool,
    #[serde(default)]
    pub approver: bool,
    #[serde(default)]
    pub admin: bool,
}

impl RoleChoice {
    /// The roles ticked; at least one.
    pub fn roles(&self) -> Result<Vec<Role>, NoRole> {
        let ticked = [self.viewer, self.operator, self.approver, self.admin];
        let roles: Vec<Role> = Role::ALL.into_iter().zip(ticked).filter(|(_, t)| *t).map(|(r, _)| r).collect();
        if roles.is_empty() {
            return Err(NoRole);
        }
        Ok(roles)
    }
}

/// No role was ticked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Choose at least one role.")]
pub struct NoRole;

#[cfg(feature = "ssr")]
mod server {
    use crate::{
        auth::{
            Role,
            store::{AccountError, AccountsHandle},
        },
        error::AppError,
    };

    pub fn accounts() -> Result<std::sync::Arc<dyn crate::auth::store::AccountStore>, AppError> {
        leptos::prelude::use_context::<AccountsHandle>()
            .map(|h| h.0)
            .ok_or_else(|| AppError::internal("The server did not provide its accounts."))
    }

    pub fn roles(roles: &super::RoleChoice) -> Result<Vec<Role>, AppError> {
        roles.roles().map_err(|m| AppError::bad_input("roles", m.to_string()))
    }

    pub fn refused(error: AccountError) -> AppError {
        match error {
            AccountError::Taken => AppError::bad_input("username", "That username is taken; choose another."),
            AccountError::NotFound => AppError::not_found("There is no such account; reload the list."),
            AccountError::LastAdmin => AppError::bad_input(
                "roles",
                "This would leave no enabled admin. Give another account the admin role first.",
            ),
            AccountError::SingleSignOn => AppError::bad_input(
                "password",
                "This person signs in with single sign-on: their password is kept by the identity provider, not here.",
            ),
            // The store's own words (the database's) stay in the server's log.
            AccountError::Failed(message) => AppError::internal_logged(
                message,
                "The accounts could not be read or saved. Try again; if it keeps failing, see the server's log.",
            ),
        }
    }
}
