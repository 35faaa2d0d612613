//! Accounts: local users with argon2id password hashes, and the identity provider's. Their rows
//! are kept behind [`AccountRows`], failed sign-ins behind a [`SignInThrottle`] (this process's
//! memory by default; the database's on PostgreSQL, `access::open_counters`).

use std::{sync::Arc, time::Duration};

use tokio::sync::watch;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};
use domain::{
    auth::{
        Account, LoginInfo, Principal, Role, roles_text,
        store::{AccountError, AccountStore},
    },
    upstream::client::BoxFuture,
};
use sqlx::AnyPool;

use super::account_rows::{AccountRows, NewAccount, NewSsoAccount, SqlAccountRows, SsoUpdated, Updated};
use super::throttle::{MemoryThrottle, SignInThrottle, THROTTLE_WINDOW};
use crate::support::{StoreError, random_hex};

/// argon2id with 19 MiB of memory, 2 passes, 1 lane: OWASP's first recommended setting. About
/// 30 ms per hash on this project's 2-core machines (`scripts/bench login` prints the figure),
/// slow enough to make guessing from a stolen database costly, fast enough for a sign-in.
pub fn hasher() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters"),
    )
}

/// A PHC-format argon2id hash of `password` with a fresh salt.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    hasher().hash_password(password.as_bytes(), &salt).expect("argon2 hashes any password").to_string()
}

fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| hasher().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash of a password nobody has, checked when the username is unknown so that the answer
/// takes as long as for a known one.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("no account has this password, it only spends time"))
}

/// A person as the identity provider names them after a single sign-on.
#[derive(Debug, Clone, PartialEq)]
pub struct SsoPerson {
    pub issuer: String,
    /// `sub`: who they are at the issuer, for good (an email can change hands).
    pub subject: String,
    pub email: Option<String>,
    pub preferred_username: Option<String>,
    pub display_name: String,
}

impl SsoPerson {
    /// A username made of the preferred username or the address's local part, kept to what
    /// usernames allow (`Ada.Lovelace@example.com` → `ada.lovelace`).
    fn username_base(&self) -> String {
        let source = self
            .preferred_username
            .as_deref()
            .or(self.email.as_deref())
            .map(|s| s.split('@').next().unwrap_or(s))
            .unwrap_or_default();
        let mut name: String = source
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') { c } else { '-' })
            .take(56)
            .collect();
        name = name.trim_matches('-').to_owned();
        if name.is_empty() { "sso-user".to_owned() } else { name }
    }
}

/// The roles of a person signed in by the identity provider.
#[derive(Debug, Clone, PartialEq)]
pub enum SsoRoles {
    /// Mapped from the provider's claim (`SWITCHBOARD_OIDC_ROLE_MAP`): set at every sign-in.
    FromProvider(Vec<Role>),
    /// Granted here: these at the first sign-in (`None`: the account waits, disabled, for an
    /// admin), and whatever an admin set since at later ones.
    FirstSignIn(Option<Vec<Role>>),
}

/// Why a sign-in through the identity provider failed here.
#[derive(Debug, Clone, PartialEq)]
pub enum SsoSignInError {
    /// Disabled, or waiting for an admin to enable it.
    Disabled,
    /// The provider's groups would take admin from the last enabled admin.
    LastAdmin,
    Failed(String),
}

/// Why a sign-in failed.
#[derive(Debug, Clone, PartialEq)]
pub enum SignInError {
    /// Unknown username or wrong password (the two are not told apart).
    Credentials,
    Disabled,
    Failed(String),
}

impl SignInError {
    /// The sign-in's `result` label in the metrics.
    pub fn label(&self) -> &'static str {
        match self {
            SignInError::Credentials => "credentials",
            SignInError::Disabled => "disabled",
            SignInError::Failed(_) => "failed",
        }
    }
}

/// A signed-in account, with the generation its login is bound to.
#[derive(Debug, Clone)]
pub struct Login {
    pub principal: Principal,
    pub generation: i64,
}

/// Local accounts and the identity provider's, over [`AccountRows`]: passwords hashed here, the
/// sign-in throttle, the single sign-on accounts' usernames and roles.
pub struct Accounts {
    rows: Arc<dyn AccountRows>,
    /// Failed sign-ins; a new password clears the account's.
    pub throttle: Arc<dyn SignInThrottle>,
    /// Bumped when a login ends here (signed out, ended by its owner, its account disabled or
    /// given a new password): the other replicas are told (`web::startup`).
    ended: watch::Sender<u64>,
    /// Bumped when a login ended anywhere: open event streams check theirs again now.
    recheck: watch::Sender<u64>,
}

fn now() -> String {
    domain::format::rfc3339(time::OffsetDateTime::now_utc())
}

/// The database's own error, as these accounts' callers have always seen it.
fn db(error: StoreError) -> sqlx::Error {
    error.0
}

fn failed(error: StoreError) -> AccountError {
    AccountError::Failed(error.0.to_string())
}

fn sso_failed(error: StoreError) -> SsoSignInError {
    SsoSignInError::Failed(error.0.to_string())
}

impl Accounts {
    /// Accounts kept in SQLite's main database.
    pub fn new(pool: AnyPool) -> Self {
        Self::with_rows(Arc::new(SqlAccountRows::new(pool)))
    }

    /// Accounts kept in the main database, failed sign-ins by `throttle`.
    pub fn with_throttle(pool: AnyPool, throttle: Arc<dyn SignInThrottle>) -> Self {
        Self::with_stores(Arc::new(SqlAccountRows::new(pool)), throttle)
    }

    /// Accounts kept by another store, failed sign-ins in this process's memory.
    pub fn with_rows(rows: Arc<dyn AccountRows>) -> Self {
        Self::with_stores(rows, Arc::new(MemoryThrottle::new(THROTTLE_WINDOW)))
    }

    /// Accounts kept by another store, failed sign-ins by another throttle.
    pub fn with_stores(rows: Arc<dyn AccountRows>, throttle: Arc<dyn SignInThrottle>) -> Self {
        Self { rows, throttle, ended: watch::Sender::new(0), recheck: watch::Sender::new(0) }
    }

    /// Changes each time a login ends on this replica.
    pub fn ended_here(&self) -> watch::Receiver<u64> {
        self.ended.subscribe()
    }

    /// A login ended somewhere: every open stream checks its own now.
    pub fn recheck_logins(&self) {
        self.recheck.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Changes each time open streams should check their login again.
    pub fn rechecks(&self) -> watch::Receiver<u64> {
        self.recheck.subscribe()
    }

    fn login_ended(&self) {
        self.ended.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Records a new login of `user_id` from `ip` with `user_agent`; answers its id (what the
    /// login cookie's session holds).
    pub async fn start_login(
        &self,
        user_id: i64,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<String, sqlx::Error> {
        let id = random_hex::<16>();
        self.rows.insert_login(&id, user_id, &now(), ip, user_agent).await.map_err(db)?;
        Ok(id)
    }

    /// Ends a login: its session no longer counts, wherever a copy of it is.
    pub async fn end_login(&self, login_id: &str) -> Result<(), sqlx::Error> {
        self.rows.delete_login(login_id).await.map_err(db)?;
        self.login_ended();
        Ok(())
    }

    /// Removes logins older than `max` (their sessions have expired).
    pub async fn prune_logins(&self, max: Duration) -> Result<u64, sqlx::Error> {
        let cutoff = domain::format::rfc3339(time::OffsetDateTime::now_utc() - max);
        self.rows.prune_logins(&cutoff).await.map_err(db)
    }

    /// The account's generation now (bumped by a new password or disabling); `None` without one.
    pub async fn generation(&self, user_id: i64) -> Result<Option<i64>, sqlx::Error> {
        self.rows.generation(user_id).await.map_err(db)
    }

    pub async fn count(&self) -> Result<i64, sqlx::Error> {
        self.rows.count().await.map_err(db)
    }

    /// Checks a username and password. The hash is computed on a blocking thread: it takes tens
    /// of milliseconds of CPU.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<Login, SignInError> {
        let row = self
            .rows
            .by_username(&username.trim().to_lowercase())
            .await
            .map_err(|e| SignInError::Failed(e.0.to_string()))?;
        // An account of the identity provider's has no password here (its hash is empty): the
        // decoy spends the same time, and nothing matches.
        let hash = row.as_ref().map(|(_, hash)| hash.clone()).filter(|h| !h.is_empty());
        let has_password = hash.is_some();
        let hash = hash.unwrap_or_else(|| decoy_hash().to_owned());
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || verify(&password, &hash))
            .await
            .map_err(|e| SignInError::Failed(e.to_string()))?
            && has_password;
        let row = match row {
            Some((row, _)) if matches => row,
            _ => return Err(SignInError::Credentials),
        };
        if row.account.disabled {
            return Err(SignInError::Disabled);
        }
        Ok(Login { principal: row.account.into(), generation: row.generation })
    }

    /// The account behind a login, if it still stands: the login was not ended, the account
    /// exists, is enabled, and its password has not changed since (`generation`).
    pub async fn current(
        &self,
        login_id: &str,
        user_id: i64,
        generation: i64,
    ) -> Result<Option<Principal>, sqlx::Error> {
        let account = self.rows.current(login_id, user_id, generation).await.map_err(db)?;
        Ok(account.map(Principal::from))
    }

    /// Inserts an account; with `first`, only while no account exists (one statement, so two
    /// setups at once cannot both create an admin).
    async fn insert(
        &self,
        username: &str,
        display_name: &str,
        password: &str,
        roles: &[Role],
        first: bool,
        must_change: bool,
    ) -> Result<Account, AccountError> {
        let password = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| AccountError::Failed(e.to_string()))?;
        let new = NewAccount {
            username: username.to_owned(),
            display_name: display_name.to_owned(),
            password_hash: hash,
            roles: roles_text(roles),
            must_change_password: must_change,
            created_at: now(),
        };
        match self.rows.insert(&new, first).await.map_err(failed)? {
            Some(id) => self.get(id).await,
            None => Err(AccountError::Taken),
        }
    }

    /// Creates the first admin, unless an account exists already (`Taken`).
    pub async fn create_first_admin(
        &self,
        username: &str,
        display_name: &str,
        password: &str,
    ) -> Result<Account, AccountError> {
        self.insert(username, display_name, password, &[Role::Admin], true, false).await
    }

    /// Signs in the identity provider's person `sso.subject` (single sign-on): their account,
    /// made at their first sign-in, its email and display name brought up to date, its roles as
    /// [`SsoRoles`] says. Answers the account and its generation; a disabled one (or one that
    /// waits for an admin) answers [`SignInError::Disabled`].
    pub async fn sign_in_sso(&self, sso: &SsoPerson, roles: &SsoRoles) -> Result<Login, SsoSignInError> {
        let id = match self.sso_account(sso).await? {
            Some(id) => id,
            None => match self.insert_sso(sso, roles).await {
                Ok(id) => id,
                // The same person's first sign-in in another tab won the race: theirs it is.
                Err(SsoSignInError::Failed(_)) if let Ok(Some(id)) = self.sso_account(sso).await => id,
                Err(error) => return Err(error),
            },
        };
        let provider_roles = match roles {
            SsoRoles::FromProvider(roles) => Some(roles_text(roles)),
            SsoRoles::FirstSignIn(_) => None,
        };
        // The provider's groups may take admin away, but not from the last enabled admin: that
        // would leave nobody to manage the accounts (the rule an admin's own change meets).
        let updated = self
            .rows
            .sso_update(id, sso.email.as_deref(), &sso.display_name, provider_roles.as_deref(), &now())
            .await
            .map_err(sso_failed)?;
        let row = match updated {
            SsoUpdated::Yes(row) => row,
            SsoUpdated::LastAdmin => return Err(SsoSignInError::LastAdmin),
        };
        if row.account.disabled {
            return Err(SsoSignInError::Disabled);
        }
        Ok(Login { principal: row.account.into(), generation: row.generation })
    }

    /// The account of the provider's person `sso`, if they signed in before.
    async fn sso_account(&self, sso: &SsoPerson) -> Result<Option<i64>, SsoSignInError> {
        self.rows.sso_account(&sso.issuer, &sso.subject).await.map_err(sso_failed)
    }

    /// The account of the provider's `subject`, if one was made (enabled or not).
    pub async fn sso_account_id(&self, issuer: &str, subject: &str) -> Result<Option<i64>, sqlx::Error> {
        self.rows.sso_account(issuer, subject).await.map_err(db)
    }

    /// Ends every login of the provider's person `subject` (the provider no longer lets them in
    /// here); answers how many.
    pub async fn end_sso_logins(&self, issuer: &str, subject: &str) -> Result<u64, sqlx::Error> {
        self.rows.end_sso_logins(issuer, subject).await.map_err(db)
    }

    /// A new account for `sso`, under the first free username made from their address or
    /// preferred username (`ada`, then `ada-2` … `ada-5`, then `ada-` and random hex: names a
    /// person controls at the provider cannot use up a name): a local account of the same name
    /// is never theirs.
    async fn insert_sso(&self, sso: &SsoPerson, roles: &SsoRoles) -> Result<i64, SsoSignInError> {
        let base = sso.username_base();
        // With no roles to start with, the account waits (disabled, a viewer) for an admin.
        let (roles, waits) = match roles {
            SsoRoles::FromProvider(roles) | SsoRoles::FirstSignIn(Some(roles)) => (roles.as_slice(), false),
            SsoRoles::FirstSignIn(None) => (&[Role::Viewer][..], true),
        };
        let mut new = NewSsoAccount {
            username: String::new(),
            display_name: sso.display_name.clone(),
            roles: roles_text(roles),
            disabled: waits,
            issuer: sso.issuer.clone(),
            subject: sso.subject.clone(),
            email: sso.email.clone(),
            created_at: now(),
        };
        for n in 1..=10 {
            new.username = match n {
                1 => base.clone(),
                2..=5 => format!("{base}-{n}"),
                _ => format!("{base}-{}", random_hex::<3>()),
            };
            if let Some(id) = self.rows.insert_sso(&new).await.map_err(sso_failed)? {
                return Ok(id);
            }
        }
        Err(SsoSignInError::Failed(format!("no free username for {base}")))
    }

    pub(crate) async fn get(&self, id: i64) -> Result<Account, AccountError> {
        self.rows.get(id).await.map_err(failed)?.ok_or(AccountError::NotFound)
    }
}

impl AccountStore for Accounts {
    fn get(&self, id: i64) -> BoxFuture<'_, Result<Account, AccountError>> {
        Box::pin(Accounts::get(self, id))
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<Account>, AccountError>> {
        Box::pin(async move { self.rows.list().await.map_err(failed) })
    }

    fn create<'a>(
        &'a self,
        username: &'a str,
        display_name: &'a str,
        password: &'a str,
        roles: &'a [Role],
        must_change: bool,
    ) -> BoxFuture<'a, Result<Account, AccountError>> {
        Box::pin(self.insert(username, display_name, password, roles, false, must_change))
    }

    fn update<'a>(
        &'a self,
        id: i64,
        roles: &'a [Role],
        disabled: bool,
    ) -> BoxFuture<'a, Result<Account, AccountError>> {
        Box::pin(async move {
            // Disabling ends every login of the account; no change may leave no enabled admin.
            match self.rows.update(id, &roles_text(roles), disabled, &now()).await.map_err(failed)? {
                Updated::Yes => {
                    // A role taken away or the account disabled: open streams judge again.
                    self.login_ended();
                    self.get(id).await
                }
                Updated::NotFound => Err(AccountError::NotFound),
                Updated::LastAdmin => Err(AccountError::LastAdmin),
            }
        })
    }

    fn set_password<'a>(
        &'a self,
        id: i64,
        password: &'a str,
        must_change: bool,
    ) -> BoxFuture<'a, Result<(), AccountError>> {
        Box::pin(async move {
            let password = password.to_owned();
            let hash = tokio::task::spawn_blocking(move || hash_password(&password))
                .await
                .map_err(|e| AccountError::Failed(e.to_string()))?;
            if !self.rows.set_password(id, &hash, must_change, &now()).await.map_err(failed)? {
                // A password here would be a second way into an account the provider vouches for.
                return Err(if self.get(id).await?.sso { AccountError::SingleSignOn } else { AccountError::NotFound });
            }
            self.rows.end_logins_of(id).await.map_err(failed)?;
            self.login_ended();
            // A person slowed by failed sign-ins is let in with the new password at once.
            let account = self.get(id).await?;
            self.throttle.reset(&account.username).await;
            Ok(())
        })
    }

    fn logins(&self, user_id: i64) -> BoxFuture<'_, Result<Vec<LoginInfo>, AccountError>> {
        Box::pin(async move { self.rows.logins(user_id).await.map_err(failed) })
    }

    fn end_login_of<'a>(&'a self, user_id: i64, login_id: &'a str) -> BoxFuture<'a, Result<bool, AccountError>> {
        Box::pin(async move {
            let ended = self.rows.end_login_of(user_id, login_id).await.map_err(failed)?;
            self.login_ended();
            Ok(ended)
        })
    }

    fn end_other_logins<'a>(&'a self, user_id: i64, keep: &'a str) -> BoxFuture<'a, Result<u64, AccountError>> {
        Box::pin(async move {
            let ended = self.rows.end_other_logins(user_id, keep).await.map_err(failed)?;
            self.login_ended();
            Ok(ended)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash_password("correct horse battery");
        let b = hash_password("correct horse battery");
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse battery!", &a));
    }
}

#[cfg(test)]
mod single_sign_on {
    use super::*;

    fn person(subject: &str, email: &str) -> SsoPerson {
        SsoPerson {
            issuer: "https://id.example.com".into(),
            subject: subject.into(),
            email: Some(email.into()),
            preferred_username: None,
            display_name: "Ada Lovelace".into(),
        }
    }

    /// A data directory of its own, removed after the test.
    async fn accounts() -> (crate::support::Scratch, Accounts) {
        let dir = crate::support::Scratch::new("accounts");
        let pool = crate::support::db::open(&dir.0).await.unwrap();
        (dir, Accounts::new(pool))
    }

    #[tokio::test]
    async fn the_provider_s_subject_owns_the_account_never_a_local_namesake() {
        let (_dir, accounts) = accounts().await;
        let local = accounts.create_first_admin("ada", "Ada (local)", "a long local password 1").await.unwrap();
        let viewer = SsoRoles::FirstSignIn(Some(vec![Role::Viewer]));
        let first = accounts.sign_in_sso(&person("sub-1", "ada@example.com"), &viewer).await.unwrap();
        assert_ne!(first.principal.user_id, local.id, "a provider's ada is not the local admin ada");
        assert_eq!((first.principal.username.as_str(), first.principal.sso), ("ada-2", true));
        assert_eq!(first.principal.roles, [Role::Viewer]);
        // The same subject again (its address changed meanwhile): the same account.
        let again = accounts.sign_in_sso(&person("sub-1", "ada.l@example.com"), &viewer).await.unwrap();
        assert_eq!(again.principal.user_id, first.principal.user_id);
        assert_eq!(accounts.get(first.principal.user_id).await.unwrap().email.as_deref(), Some("ada.l@example.com"));
        // No password signs in to it, not even an empty one.
        assert_eq!(accounts.sign_in("ada-2", "").await.err(), Some(SignInError::Credentials));
        // …and an admin cannot give it one.
        assert_eq!(
            accounts.set_password(first.principal.user_id, "a long new password 12", false).await,
            Err(AccountError::SingleSignOn)
        );
    }

    #[tokio::test]
    async fn roles_follow_the_provider_or_stay_as_an_admin_set_them() {
        let (_dir, accounts) = accounts().await;
        let mapped = |roles: Vec<Role>| SsoRoles::FromProvider(roles);
        let ada =
            accounts.sign_in_sso(&person("sub-1", "ada@example.com"), &mapped(vec![Role::Approver])).await.unwrap();
        assert_eq!(ada.principal.roles, [Role::Approver]);
        let ada = accounts.sign_in_sso(&person("sub-1", "ada@example.com"), &mapped(vec![Role::Admin])).await.unwrap();
        assert_eq!(ada.principal.roles, [Role::Admin], "the provider's groups changed: so do the roles");

        // Without a map: an admin's grant stands at later sign-ins.
        let grace = person("sub-2", "grace@example.com");
        let first = SsoRoles::FirstSignIn(Some(vec![Role::Viewer]));
        let id = accounts.sign_in_sso(&grace, &first).await.unwrap().principal.user_id;
        accounts.update(id, &[Role::Operator], false).await.unwrap();
        assert_eq!(accounts.sign_in_sso(&grace, &first).await.unwrap().principal.roles, [Role::Operator]);

        // With no roles to start with, the account waits for an admin to enable it.
        let bob = person("sub-3", "bob@example.com");
        let waits = SsoRoles::FirstSignIn(None);
        assert_eq!(accounts.sign_in_sso(&bob, &waits).await.err(), Some(SsoSignInError::Disabled));
        let bob_id = accounts.list().await.unwrap().into_iter().find(|a| a.username == "bob").unwrap().id;
        accounts.update(bob_id, &[Role::Approver], false).await.unwrap();
        let bob = accounts.sign_in_sso(&bob, &waits).await.unwrap();
        assert_eq!(bob.principal.roles, [Role::Approver]);
    }

    #[tokio::test]
    async fn the_provider_cannot_take_admin_from_the_last_admin_and_refusals_end_logins() {
        let (_dir, accounts) = accounts().await;
        let grace = person("sub-g", "grace@example.com");
        let admin = accounts.sign_in_sso(&grace, &SsoRoles::FromProvider(vec![Role::Admin])).await.unwrap();
        accounts
            .sign_in_sso(&person("sub-a", "ada@example.com"), &SsoRoles::FromProvider(vec![Role::Viewer]))
            .await
            .unwrap();
        let demoted = accounts.sign_in_sso(&grace, &SsoRoles::FromProvider(vec![Role::Viewer])).await;
        assert_eq!(demoted.err(), Some(SsoSignInError::LastAdmin));
        assert_eq!(accounts.get(admin.principal.user_id).await.unwrap().roles, [Role::Admin], "rolled back");
        // With another admin, the provider's word stands.
        let local = accounts.create("root", "Root", "a long local password 1", &[Role::Admin], false).await.unwrap();
        assert_eq!(
            accounts.sign_in_sso(&grace, &SsoRoles::FromProvider(vec![Role::Viewer])).await.unwrap().principal.roles,
            [Role::Viewer]
        );
        assert_ne!(local.id, admin.principal.user_id);
        // The provider refusing someone later ends the logins they still have.
        let login = accounts.start_login(admin.principal.user_id, None, None).await.unwrap();
        assert_eq!(accounts.end_sso_logins(&grace.issuer, &grace.subject).await.unwrap(), 1);
        assert!(accounts.current(&login, admin.principal.user_id, 0).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn names_taken_at_the_provider_cannot_use_up_a_username() {
        let (_dir, accounts) = accounts().await;
        let viewer = SsoRoles::FirstSignIn(Some(vec![Role::Viewer]));
        let mut names = Vec::new();
        for n in 0..8 {
            let login = accounts.sign_in_sso(&person(&format!("sub-{n}"), "ada@example.com"), &viewer).await.unwrap();
            names.push(login.principal.username);
        }
        assert_eq!(names[..5], ["ada", "ada-2", "ada-3", "ada-4", "ada-5"]);
        assert!(names[5..].iter().all(|n| n.starts_with("ada-") && n.len() == "ada-".len() + 6), "{names:?}");
    }

    #[test]
    fn usernames_are_made_from_what_the_provider_gives() {
        let mut p = person("s", "Ada.Lovelace+sb@Example.com");
        assert_eq!(p.username_base(), "ada.lovelace-sb");
        p.preferred_username = Some("ALovelace".into());
        assert_eq!(p.username_base(), "alovelace");
        p.preferred_username = None;
        p.email = None;
        assert_eq!(p.username_base(), "sso-user");
    }
}
