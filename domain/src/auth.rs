//! Who may do what: roles, the person signed in, and the rules for usernames and passwords. The
//! server enforces every rule (`server/src/access/`, built from each server function's
//! `#[access(Role)]`); the pages use the same types to hide what a person's roles cannot do.

use serde::{Deserialize, Serialize};

/// What an endpoint needs: a server function's, a route's, a program's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, signed in or not.
    Public,
    /// A signed-in person with this role (every role can read: `Role::Viewer`).
    Needs(Role),
}

/// A role. A person may hold several; every role can read (sessions, agents, the inbox), and
/// `admin` can do everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything but secrets.
    Viewer,
    /// Creates, edits and runs agents, environments, sessions and files; sends messages; interrupts.
    Operator,
    /// Decides tool calls and answers custom tools.
    Approver,
    /// Users, vaults, settings, archiving and deleting.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Operator, Role::Approver, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text.trim())
    }

    /// What the role allows, in a line.
    pub fn describe(self) -> &'static str {
        match self {
            Role::Viewer => "reads everything but secrets",
            Role::Operator => "creates, edits and runs agents, environments, sessions and files; sends messages",
            Role::Approver => "decides tool calls and answers custom tools",
            Role::Admin => "users, vaults, settings, archiving and deleting",
        }
    }
}

/// Roles as stored and shown: `operator approver`.
pub fn roles_text(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" ")
}

/// Roles from their stored text; unknown words are skipped.
pub fn parse_roles(text: &str) -> Vec<Role> {
    let mut roles: Vec<Role> = text.split([' ', ',']).filter_map(Role::parse).collect();
    roles.sort();
    roles.dedup();
    roles
}

/// The person a request comes from, as the server established it from the login session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// An admin asked this person to choose their own password: until they do, their sign-in
    /// opens only the Account page.
    #[serde(default)]
    pub must_change_password: bool,
    /// Signs in through the identity provider (single sign-on), which keeps their password.
    #[serde(default)]
    pub sso: bool,
}

impl Principal {
    /// Whether the roles allow what `needed` allows.
    pub fn can(&self, needed: Role) -> bool {
        needed == Role::Viewer || self.roles.contains(&Role::Admin) || self.roles.contains(&needed)
    }

    /// "Ada Lovelace (ada)": how audit entries and decisions name the person.
    pub fn label(&self) -> String {
        if self.display_name.is_empty() || self.display_name == self.username {
            self.username.clone()
        } else {
            format!("{} ({})", self.display_name, self.username)
        }
    }
}

impl From<Account> for Principal {
    fn from(account: Account) -> Self {
        Self {
            user_id: account.id,
            username: account.username,
            display_name: account.display_name,
            roles: account.roles,
            must_change_password: account.must_change_password,
            sso: account.sso,
        }
    }
}

/// An account as an admin sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub disabled: bool,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// The person must choose their own password at their next sign-in.
    #[serde(default)]
    pub must_change_password: bool,
    /// Made and signed in by the identity provider (single sign-on): no password here.
    #[serde(default)]
    pub sso: bool,
    /// The address the identity provider vouched for at the last sign-in (single sign-on only).
    #[serde(default)]
    pub email: Option<String>,
}

/// One of a person's open sign-ins, as their Account page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginInfo {
    /// The login's id: what ending it names. Not a credential (the cookie is).
    pub id: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// The address and browser it was signed in from, when recorded (logins since 0011).
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The sign-in of the browser asking.
    pub current: bool,
}

pub const MIN_PASSWORD: usize = 12;
pub const MAX_PASSWORD: usize = 128;

/// The password rules, in words, for forms.
pub const PASSWORD_RULES: &str =
    "At least 12 characters (a few words make a good one), at most 128, not containing the username.";

/// Why a new password breaks the rules; each says what to change. None says how long the
/// password was: they reach the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("The password is too short; use at least {MIN_PASSWORD} characters.")]
    TooShort,
    #[error("The password is too long; use at most {MAX_PASSWORD} characters.")]
    TooLong,
    #[error("The password contains the username; choose one that does not.")]
    ContainsUsername,
    #[error("The password repeats one character; choose a few words instead.")]
    OneCharacter,
}

/// Checks a new password against the rules.
pub fn check_password(username: &str, password: &str) -> Result<(), PasswordProblem> {
    let length = password.chars().count();
    if length < MIN_PASSWORD {
        return Err(PasswordProblem::TooShort);
    }
    if length > MAX_PASSWORD {
        return Err(PasswordProblem::TooLong);
    }
    let username = username.trim().to_lowercase();
    if !username.is_empty() && password.to_lowercase().contains(&username) {
        return Err(PasswordProblem::ContainsUsername);
    }
    let first = password.chars().next();
    if password.chars().all(|c| Some(c) == first) {
        return Err(PasswordProblem::OneCharacter);
    }
    Ok(())
}

/// Why a username is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsernameProblem {
    #[error("Use a username of 1 to 64 characters.")]
    Length,
    #[error("Use lowercase letters, digits, '.', '_' or '-' in a username.")]
    Characters,
}

/// Checks a username: 1 to 64 lowercase letters, digits, `.`, `_` or `-`.
pub fn check_username(username: &str) -> Result<(), UsernameProblem> {
    if username.is_empty() || username.len() > 64 {
        return Err(UsernameProblem::Length);
    }
    if !username.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')) {
        return Err(UsernameProblem::Characters);
    }
    Ok(())
}

/// Server side: the stores behind accounts and the audit log, reached by server functions through
/// context as the upstream client is.
#[cfg(feature = "server")]
pub mod store {
    use std::sync::{Arc, Mutex};

    use serde_json::Value;

    use super::{Account, LoginInfo, Role};
    use crate::upstream::client::BoxFuture;

    /// Why an account change was refused.
    #[derive(Debug, Clone, PartialEq)]
    pub enum AccountError {
        Taken,
        NotFound,
        /// The change would leave no enabled admin.
        LastAdmin,
        /// The account signs in through the identity provider, which keeps its password.
        SingleSignOn,
        Failed(String),
    }

    pub trait AccountStore: Send + Sync + 'static {
        fn list(&self) -> BoxFuture<'_, Result<Vec<Account>, AccountError>>;
        /// One account, by its id.
        fn get(&self, id: i64) -> BoxFuture<'_, Result<Account, AccountError>>;
        /// A new account; with `must_change`, its owner chooses their own password at the first
        /// sign-in.
        fn create<'a>(
            &'a self,
            username: &'a str,
            display_name: &'a str,
            password: &'a str,
            roles: &'a [Role],
            must_change: bool,
        ) -> BoxFuture<'a, Result<Account, AccountError>>;
        /// Sets roles and whether the account is disabled. Disabling ends the account's logins.
        fn update<'a>(
            &'a self,
            id: i64,
            roles: &'a [Role],
            disabled: bool,
        ) -> BoxFuture<'a, Result<Account, AccountError>>;
        /// Sets a new password and ends the account's logins; with `must_change`, its owner must
        /// choose their own at the next sign-in (without, that request is cleared).
        fn set_password<'a>(
            &'a self,
            id: i64,
            password: &'a str,
            must_change: bool,
        ) -> BoxFuture<'a, Result<(), AccountError>>;
        /// The account's open logins, oldest first (`current` false: the caller knows its own).
        fn logins(&self, user_id: i64) -> BoxFuture<'_, Result<Vec<LoginInfo>, AccountError>>;
        /// Ends one login of the account; false when it has none by that id.
        fn end_login_of<'a>(&'a self, user_id: i64, login_id: &'a str) -> BoxFuture<'a, Result<bool, AccountError>>;
        /// Ends every login of the account but `keep`; answers how many.
        fn end_other_logins<'a>(&'a self, user_id: i64, keep: &'a str) -> BoxFuture<'a, Result<u64, AccountError>>;
    }

    /// The id of the login a request came with, put on it by the server's authentication.
    #[derive(Debug, Clone)]
    pub struct CurrentLogin(pub String);

    #[derive(Clone)]
    pub struct AccountsHandle(pub Arc<dyn AccountStore>);

    /// The identity provider's name for the sign-in page's button, when single sign-on is on.
    #[derive(Clone, Debug, Default)]
    pub struct SingleSignOn(pub Option<String>);

    /// What a server function adds to its audit entry (the tool and input digest of a decision):
    /// the server puts an empty note on each mutation and fills the entry in after the response.
    #[derive(Clone, Default)]
    pub struct AuditNote(pub Arc<Mutex<Option<Value>>>);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_can_do_everything_and_everyone_can_read() {
        let p = |roles: Vec<Role>| Principal {
            user_id: 1,
            username: "a".into(),
            display_name: "A".into(),
            roles,
            must_change_password: false,
            sso: false,
        };
        assert!(p(vec![Role::Approver]).can(Role::Viewer));
        assert!(p(vec![Role::Approver]).can(Role::Approver));
        assert!(!p(vec![Role::Approver]).can(Role::Operator));
        assert!(!p(vec![Role::Viewer]).can(Role::Approver));
        assert!(Role::ALL.into_iter().all(|r| p(vec![Role::Admin]).can(r)));
    }

    #[test]
    fn password_rules_say_what_to_change() {
        assert_eq!(check_password("ada", "short"), Err(PasswordProblem::TooShort));
        assert!(PasswordProblem::TooShort.to_string().contains("at least 12"), "the rule in words");
        assert_eq!(check_password("ada", "my name is ada lovelace"), Err(PasswordProblem::ContainsUsername));
        assert_eq!(check_password("ada", &"x".repeat(20)), Err(PasswordProblem::OneCharacter));
        assert_eq!(check_password("ada", &"ab".repeat(70)), Err(PasswordProblem::TooLong));
        assert!(check_password("ada", "correct horse battery").is_ok());
    }

    #[test]
    fn roles_round_trip_through_their_text() {
        assert_eq!(parse_roles("approver operator approver bogus"), vec![Role::Operator, Role::Approver]);
        assert_eq!(roles_text(&[Role::Operator, Role::Approver]), "operator approver");
    }
}
