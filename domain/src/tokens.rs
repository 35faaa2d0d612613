//! Personal access tokens: how a person's programs (the SDKs, `ant`, a CI job, a notebook) call
//! Switchboard's own Managed Agents API (`/v1/…`, `server/src/gateway/`) as that person, with the
//! roles the token was given in one workspace and never more than the person holds there now. A
//! token is shown once, kept as a SHA-256 of itself, listed with its last use, and revoked by its
//! owner or an admin. The store is the server's (`server/src/access/api_tokens.rs`).

use serde::{Deserialize, Serialize};

use crate::{
    BadInput,
    auth::{Principal, Role},
};

/// What every personal access token begins with, so that secret scanners can find one that
/// leaked (`sbp_` and 48 lowercase hex digits).
pub const PREFIX: &str = "sbp_";

/// The life a new token gets unless its owner chooses another, in days.
pub const DEFAULT_DAYS: u32 = 30;

/// The longest name a token may have, in characters.
pub const MAX_NAME: usize = 80;

/// The token form of the Account page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenForm {
    pub name: String,
    /// The workspace it acts in (`default`, or one the person was granted).
    pub workspace: String,
    /// Its roles, ticked: some or all of those the person holds there.
    #[serde(default)]
    pub viewer: Option<String>,
    #[serde(default)]
    pub operator: Option<String>,
    #[serde(default)]
    pub approver: Option<String>,
    #[serde(default)]
    pub admin: Option<String>,
    /// Days until it stops working (empty: [`DEFAULT_DAYS`]).
    #[serde(default)]
    pub days: String,
}

/// The roles whose checkboxes are ticked, in `Role::ALL`'s order (viewer, operator, approver,
/// admin): the token form's and the /device page's.
fn ticked(boxes: [&Option<String>; 4]) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .zip(boxes)
        .filter(|(_, t)| t.as_deref().is_some_and(|v| !v.is_empty()))
        .map(|(r, _)| r)
        .collect()
}

/// A form's workspace, `default` when left empty.
fn workspace_or_default(text: &str) -> String {
    let workspace = text.trim();
    if workspace.is_empty() { crate::workspaces::DEFAULT_ID } else { workspace }.to_owned()
}

impl TokenForm {
    /// The roles ticked.
    pub fn roles(&self) -> Vec<Role> {
        ticked([&self.viewer, &self.operator, &self.approver, &self.admin])
    }

    /// The checked request: a name, roles (at least one), a life of 1 to `max_days` days.
    pub fn check(&self, max_days: u32) -> Result<NewToken, BadInput> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(BadInput::new(
                "name",
                "Name the token after what will use it (\"CI deploys\", \"my laptop\").",
            ));
        }
        if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
            return Err(BadInput::new("name", format!("Use a name of at most {MAX_NAME} characters, on one line.")));
        }
        let roles = self.roles();
        if roles.is_empty() {
            return Err(BadInput::new("roles", "Tick at least one role: a token with none could do nothing."));
        }
        let days = match self.days.trim() {
            "" => DEFAULT_DAYS.min(max_days),
            text => text.parse::<u32>().ok().filter(|d| (1..=max_days).contains(d)).ok_or_else(|| {
                BadInput::new(
                    "days",
                    format!("Choose a life of 1 to {max_days} days (SWITCHBOARD_API_TOKEN_MAX_DAYS)."),
                )
            })?,
        };
        Ok(NewToken { name: name.to_owned(), workspace: workspace_or_default(&self.workspace), roles, days })
    }
}

/// A checked token request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    pub workspace: String,
    pub roles: Vec<Role>,
    pub days: u32,
}

/// The roles of `asked` that `holder` (the person as they are in the token's workspace) holds:
/// what a token may be given, and what it may use on each request.
pub fn roles_held(holder: &Principal, asked: &[Role]) -> Vec<Role> {
    asked.iter().copied().filter(|role| holder.can(*role)).collect()
}

/// A token as its owner and the admins see it: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRow {
    /// `tok_…`: what revoking names. Not a credential.
    pub id: String,
    pub name: String,
    /// The owner's username.
    pub owner: String,
    pub workspace: String,
    pub roles: Vec<Role>,
    /// The first characters of the secret (`sbp_3f9a…`), to tell tokens apart.
    pub hint: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub expires_at: String,
    /// When it was last used, to the minute.
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    /// Who revoked it (the owner, or an admin's username).
    pub revoked_by: Option<String>,
}

/// A token just made: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MadeToken {
    pub row: TokenRow,
    pub secret: String,
}

/// A terminal's `switchboard login` waiting on the console's /device page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRequest {
    /// `BDFG-HJKL`.
    pub user_code: String,
    /// What the terminal calls itself (its host name).
    pub client_name: String,
    /// RFC 3339, UTC: the code stops working then.
    pub expires_at: String,
    /// How long the terminal's token will work, in hours (`SWITCHBOARD_CLI_TOKEN_HOURS`).
    pub token_hours: u32,
}

/// The /device page's form: the code, and for an approval the token's workspace and roles.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceForm {
    pub code: String,
    /// `approve` or `deny`: the button pressed.
    pub decision: String,
    #[serde(default)]
    pub workspace: String,
    #[serde(default)]
    pub viewer: Option<String>,
    #[serde(default)]
    pub operator: Option<String>,
    #[serde(default)]
    pub approver: Option<String>,
    #[serde(default)]
    pub admin: Option<String>,
}

impl DeviceForm {
    /// The approval asked for (workspace, roles: at least one), or `None` for a denial.
    pub fn approval(&self) -> Result<Option<(String, Vec<Role>)>, BadInput> {
        if self.decision != "approve" {
            return Ok(None);
        }
        let roles = ticked([&self.viewer, &self.operator, &self.approver, &self.admin]);
        if roles.is_empty() {
            return Err(BadInput::new("roles", "Tick at least one role for the terminal's token."));
        }
        Ok(Some((workspace_or_default(&self.workspace), roles)))
    }
}

/// Server side: the token store's trait, reached by the Account page's server functions.
#[cfg(feature = "server")]
pub mod server {
    use std::sync::Arc;

    use super::{DeviceRequest, MadeToken, NewToken, TokenRow};
    use crate::auth::Role;
    use crate::{auth::Principal, error::AppError, upstream::client::BoxFuture};

    pub trait TokenStore: Send + Sync + 'static {
        /// Makes a token for `owner`, whose roles in its workspace must allow each role asked.
        fn create(&self, owner: Principal, token: NewToken) -> BoxFuture<'_, Result<MadeToken, AppError>>;
        /// The owner's tokens, or everyone's (`None`), newest first.
        fn list(&self, owner: Option<i64>) -> BoxFuture<'_, Result<Vec<TokenRow>, AppError>>;
        /// Revokes a token: its owner may, and admins.
        fn revoke(&self, by: Principal, id: String) -> BoxFuture<'_, Result<TokenRow, AppError>>;
        /// The longest life a token may have, in days (`SWITCHBOARD_API_TOKEN_MAX_DAYS`).
        fn max_days(&self) -> u32;
        /// The terminal's sign-in with user code `code`, while it waits for a decision.
        fn device_request(&self, code: String) -> BoxFuture<'_, Result<DeviceRequest, AppError>>;
        /// Approves the sign-in (`Some`: the token's workspace and roles, which must be `by`'s
        /// there) or denies it.
        fn device_decide(
            &self,
            by: Principal,
            code: String,
            approval: Option<(String, Vec<Role>)>,
        ) -> BoxFuture<'_, Result<(), AppError>>;
    }

    #[derive(Clone)]
    pub struct TokensHandle(pub Arc<dyn TokenStore>);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(name: &str, days: &str, roles: &[&str]) -> TokenForm {
        let on = |r: &str| roles.contains(&r).then(|| "on".to_owned());
        TokenForm {
            name: name.into(),
            workspace: String::new(),
            viewer: on("viewer"),
            operator: on("operator"),
            approver: on("approver"),
            admin: on("admin"),
            days: days.into(),
        }
    }

    #[test]
    fn a_token_request_is_checked_and_says_what_to_fix() {
        let made = form(" CI deploys ", "", &["viewer", "operator"]).check(90).unwrap();
        assert_eq!(
            made,
            NewToken {
                name: "CI deploys".into(),
                workspace: "default".into(),
                roles: vec![Role::Viewer, Role::Operator],
                days: 30
            }
        );
        assert_eq!(form("x", "", &["viewer"]).check(7).unwrap().days, 7, "the default never passes the most");
        assert_eq!(form("", "", &["viewer"]).check(90).unwrap_err().field, "name");
        assert_eq!(form("x", "", &[]).check(90).unwrap_err().field, "roles");
        let too_long = form("x", "91", &["viewer"]).check(90).unwrap_err();
        assert_eq!(too_long.field, "days");
        assert!(too_long.message.contains("1 to 90 days"), "{}", too_long.message);
        assert_eq!(form("x", "0", &["viewer"]).check(90).unwrap_err().field, "days");
        assert_eq!(form("a\nb", "", &["viewer"]).check(90).unwrap_err().field, "name");
    }

    #[test]
    fn a_token_keeps_only_the_roles_its_owner_still_holds() {
        let person = |roles: Vec<Role>| Principal {
            user_id: 1,
            username: "ada".into(),
            display_name: "Ada".into(),
            roles,
            must_change_password: false,
            sso: false,
        };
        let asked = [Role::Viewer, Role::Operator, Role::Approver];
        assert_eq!(roles_held(&person(vec![Role::Approver]), &asked), vec![Role::Viewer, Role::Approver]);
        assert_eq!(roles_held(&person(vec![Role::Admin]), &asked), asked.to_vec());
        assert_eq!(roles_held(&person(vec![Role::Viewer]), &[Role::Operator]), Vec::<Role>::new());
    }
}
