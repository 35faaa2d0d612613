//! Accounts' rows and their logins: [`AccountRows`], the seam another database's store goes
//! behind, and [`SqlAccountRows`], SQLite's `users` and `logins` tables in the main database.
//! Rows hold what the accounts' logic made: password hashes (argon2id, PHC strings; empty for a
//! single sign-on account), roles as text, times as RFC 3339. An account's generation counts the
//! changes that end its logins (a new password, disabling). [`suite`] is what every
//! implementation must do.

use domain::{
    auth::{Account, LoginInfo, parse_roles},
    upstream::client::BoxFuture,
};
use sqlx::{AnyPool, Row};

use crate::support::StoreError;

/// An account as it is kept, with its generation.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRow {
    pub account: Account,
    pub generation: i64,
}

/// A local account as it is first written.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    /// Space-separated (`roles_text`).
    pub roles: String,
    pub must_change_password: bool,
    pub created_at: String,
}

/// An account of the identity provider's person as it is first written: no password.
#[derive(Debug, Clone)]
pub struct NewSsoAccount {
    pub username: String,
    pub display_name: String,
    pub roles: String,
    pub disabled: bool,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub created_at: String,
}

/// How a change of an account's roles and disabled flag went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Updated {
    Yes,
    NotFound,
    /// It would leave no enabled admin: nothing changed.
    LastAdmin,
}

/// How bringing a single sign-on account up to date went.
#[derive(Debug, Clone, PartialEq)]
pub enum SsoUpdated {
    /// The account as it is now.
    Yes(AccountRow),
    /// The provider's roles would take admin from the last enabled admin: nothing changed.
    LastAdmin,
}

pub trait AccountRows: Send + Sync + 'static {
    /// How many accounts there are.
    fn count(&self) -> BoxFuture<'_, Result<i64, StoreError>>;
    /// Every account, by username.
    fn list(&self) -> BoxFuture<'_, Result<Vec<Account>, StoreError>>;
    fn get(&self, id: i64) -> BoxFuture<'_, Result<Option<Account>, StoreError>>;
    /// The account `username` (as given: the caller folds case) with its generation and its
    /// password hash: what a sign-in checks.
    fn by_username<'a>(&'a self, username: &'a str) -> BoxFuture<'a, Result<Option<(AccountRow, String)>, StoreError>>;
    /// The account's generation; `None` without one.
    fn generation(&self, id: i64) -> BoxFuture<'_, Result<Option<i64>, StoreError>>;
    /// Keeps a new local account; answers its id, or `None` when its username is taken. With
    /// `first`, only while no account exists, in one statement, so that two setups at once
    /// cannot both make an admin (`None` when one exists).
    fn insert<'a>(&'a self, account: &'a NewAccount, first: bool) -> BoxFuture<'a, Result<Option<i64>, StoreError>>;
    /// Sets the roles and the disabled flag of account `id` at `at`, in one transaction: disabling
    /// an enabled account bumps its generation and disabling ends its logins; a change leaving
    /// no enabled admin is rolled back ([`Updated::LastAdmin`]).
    fn update<'a>(
        &'a self,
        id: i64,
        roles: &'a str,
        disabled: bool,
        at: &'a str,
    ) -> BoxFuture<'a, Result<Updated, StoreError>>;
    /// Sets a local account's password hash and must-change flag at `at` and bumps its
    /// generation; false when there is no local account `id` (none, or a single sign-on one).
    /// Its logins stay: [`AccountRows::end_logins_of`] ends them.
    fn set_password<'a>(
        &'a self,
        id: i64,
        hash: &'a str,
        must_change: bool,
        at: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Keeps a new login `id` of account `user_id`.
    fn insert_login<'a>(
        &'a self,
        id: &'a str,
        user_id: i64,
        started_at: &'a str,
        ip: Option<&'a str>,
        user_agent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn delete_login<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Removes the logins started before `cutoff`; answers how many.
    fn prune_logins<'a>(&'a self, cutoff: &'a str) -> BoxFuture<'a, Result<u64, StoreError>>;
    /// The account of login `login_id` if the login stands, the account is `user_id`, enabled and
    /// still at `generation`.
    fn current<'a>(
        &'a self,
        login_id: &'a str,
        user_id: i64,
        generation: i64,
    ) -> BoxFuture<'a, Result<Option<Account>, StoreError>>;
    /// The account's logins, oldest first (`current` false).
    fn logins(&self, user_id: i64) -> BoxFuture<'_, Result<Vec<LoginInfo>, StoreError>>;
    /// Removes the account's login `login_id`; false when it has none by that id.
    fn end_login_of<'a>(&'a self, user_id: i64, login_id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Removes every login of the account but `keep`; answers how many.
    fn end_other_logins<'a>(&'a self, user_id: i64, keep: &'a str) -> BoxFuture<'a, Result<u64, StoreError>>;
    /// Removes every login of the account; answers how many.
    fn end_logins_of(&self, user_id: i64) -> BoxFuture<'_, Result<u64, StoreError>>;

    /// The account of the provider `issuer`'s person `subject`.
    fn sso_account<'a>(&'a self, issuer: &'a str, subject: &'a str) -> BoxFuture<'a, Result<Option<i64>, StoreError>>;
    /// Keeps a new single sign-on account; answers its id, or `None` when its username is taken.
    /// The same issuer's subject never gets a second account: that insert fails.
    fn insert_sso<'a>(&'a self, account: &'a NewSsoAccount) -> BoxFuture<'a, Result<Option<i64>, StoreError>>;
    /// Brings single sign-on account `id` up to date at `at`: its email and display name, and its
    /// roles unless `roles` is `None`; in one transaction that is rolled back if enabled admins
    /// there were and none is left ([`SsoUpdated::LastAdmin`]).
    fn sso_update<'a>(
        &'a self,
        id: i64,
        email: Option<&'a str>,
        display_name: &'a str,
        roles: Option<&'a str>,
        at: &'a str,
    ) -> BoxFuture<'a, Result<SsoUpdated, StoreError>>;
    /// Removes every login of the provider `issuer`'s person `subject`; answers how many.
    fn end_sso_logins<'a>(&'a self, issuer: &'a str, subject: &'a str) -> BoxFuture<'a, Result<u64, StoreError>>;
}

pub struct SqlAccountRows {
    pool: AnyPool,
}

impl SqlAccountRows {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }
}

fn account(row: &sqlx::any::AnyRow) -> Account {
    Account {
        id: row.get("id"),
        username: row.get("username"),
        display_name: row.get("display_name"),
        roles: parse_roles(&row.get::<String, _>("roles")),
        disabled: row.get::<i64, _>("disabled") != 0,
        created_at: row.get("created_at"),
        must_change_password: row.get::<i64, _>("must_change_password") != 0,
        sso: row.get::<Option<String>, _>("sso_subject").is_some(),
        email: row.get("email"),
    }
}

fn account_row(row: &sqlx::any::AnyRow) -> AccountRow {
    AccountRow { account: account(row), generation: row.get("generation") }
}

/// An account's columns, without its password hash: only signing in reads that.
const COLUMNS: &str =
    "id, username, display_name, roles, disabled, created_at, generation, must_change_password, sso_subject, email";

/// Counts the enabled admins.
const ENABLED_ADMINS: &str = "SELECT COUNT(*) FROM users WHERE disabled = 0 AND (' ' || roles || ' ') LIKE '% admin %'";

impl AccountRows for SqlAccountRows {
    fn count(&self) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async move { Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?) })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<Account>, StoreError>> {
        Box::pin(async move {
            let rows =
                sqlx::query(&format!("SELECT {COLUMNS} FROM users ORDER BY username")).fetch_all(&self.pool).await?;
            Ok(rows.iter().map(account).collect())
        })
    }

    fn get(&self, id: i64) -> BoxFuture<'_, Result<Option<Account>, StoreError>> {
        Box::pin(async move {
            let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            Ok(row.map(|r| account(&r)))
        })
    }

    fn by_username<'a>(&'a self, username: &'a str) -> BoxFuture<'a, Result<Option<(AccountRow, String)>, StoreError>> {
        Box::pin(async move {
            let row = sqlx::query(&format!("SELECT {COLUMNS}, password_hash FROM users WHERE username = $1"))
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
            Ok(row.map(|r| (account_row(&r), r.get("password_hash"))))
        })
    }

    fn generation(&self, id: i64) -> BoxFuture<'_, Result<Option<i64>, StoreError>> {
        Box::pin(async move {
            Ok(sqlx::query_scalar("SELECT generation FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
        })
    }

    fn insert<'a>(&'a self, new: &'a NewAccount, first: bool) -> BoxFuture<'a, Result<Option<i64>, StoreError>> {
        Box::pin(async move {
            let sql = if first {
                "INSERT INTO users (username, display_name, password_hash, roles, created_at, updated_at, must_change_password)
                 SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS (SELECT 1 FROM users) RETURNING id"
            } else {
                "INSERT INTO users (username, display_name, password_hash, roles, created_at, updated_at, must_change_password)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (username) DO NOTHING RETURNING id"
            };
            let inserted = sqlx::query(sql)
                .bind(&new.username)
                .bind(&new.display_name)
                .bind(&new.password_hash)
                .bind(&new.roles)
                .bind(&new.created_at)
                .bind(&new.created_at)
                .bind(new.must_change_password as i64)
                .fetch_optional(&self.pool)
                .await?;
            Ok(inserted.map(|row| row.get(0)))
        })
    }

    fn update<'a>(
        &'a self,
        id: i64,
        roles: &'a str,
        disabled: bool,
        at: &'a str,
    ) -> BoxFuture<'a, Result<Updated, StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            let Some(before) =
                sqlx::query("SELECT disabled FROM users WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?
            else {
                return Ok(Updated::NotFound);
            };
            let was_disabled = before.get::<i64, _>(0) != 0;
            sqlx::query(
                "UPDATE users SET roles = $1, disabled = $2, updated_at = $3, generation = generation + $4 WHERE id = $5",
            )
            .bind(roles)
            .bind(disabled as i64)
            .bind(at)
            // Disabling ends every login of the account.
            .bind((disabled && !was_disabled) as i64)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            let admins: i64 = sqlx::query_scalar(ENABLED_ADMINS).fetch_one(&mut *tx).await?;
            if admins == 0 {
                // Rolled back before answering, not on drop (which sqlx finishes later): the next
                // write, on another connection, must not find this one still holding the lock.
                tx.rollback().await?;
                return Ok(Updated::LastAdmin);
            }
            if disabled {
                sqlx::query("DELETE FROM logins WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(Updated::Yes)
        })
    }

    fn set_password<'a>(
        &'a self,
        id: i64,
        hash: &'a str,
        must_change: bool,
        at: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let updated = sqlx::query(
                "UPDATE users SET password_hash = $1, must_change_password = $2, generation = generation + 1, updated_at = $3
                 WHERE id = $4 AND sso_subject IS NULL",
            )
            .bind(hash)
            .bind(must_change as i64)
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await?;
            Ok(updated.rows_affected() > 0)
        })
    }

    fn insert_login<'a>(
        &'a self,
        id: &'a str,
        user_id: i64,
        started_at: &'a str,
        ip: Option<&'a str>,
        user_agent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query("INSERT INTO logins (id, user_id, started_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(user_id)
                .bind(started_at)
                .bind(ip)
                .bind(user_agent)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }

    fn delete_login<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query("DELETE FROM logins WHERE id = $1").bind(id).execute(&self.pool).await?;
            Ok(())
        })
    }

    fn prune_logins<'a>(&'a self, cutoff: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            Ok(sqlx::query("DELETE FROM logins WHERE started_at < $1")
                .bind(cutoff)
                .execute(&self.pool)
                .await?
                .rows_affected())
        })
    }

    fn current<'a>(
        &'a self,
        login_id: &'a str,
        user_id: i64,
        generation: i64,
    ) -> BoxFuture<'a, Result<Option<Account>, StoreError>> {
        Box::pin(async move {
            let row = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM users WHERE id = $1 AND generation = $2 AND disabled = 0
                 AND EXISTS (SELECT 1 FROM logins WHERE logins.id = $3 AND logins.user_id = users.id)"
            ))
            .bind(user_id)
            .bind(generation)
            .bind(login_id)
            .fetch_optional(&self.pool)
            .await?;
            Ok(row.map(|r| account(&r)))
        })
    }

    fn logins(&self, user_id: i64) -> BoxFuture<'_, Result<Vec<LoginInfo>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT id, started_at, ip, user_agent FROM logins WHERE user_id = $1 ORDER BY started_at, id",
            )
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?;
            Ok(rows
                .iter()
                .map(|row| LoginInfo {
                    id: row.get("id"),
                    started_at: row.get("started_at"),
                    ip: row.get("ip"),
                    user_agent: row.get("user_agent"),
                    current: false,
                })
                .collect())
        })
    }

    fn end_login_of<'a>(&'a self, user_id: i64, login_id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let ended = sqlx::query("DELETE FROM logins WHERE id = $1 AND user_id = $2")
                .bind(login_id)
                .bind(user_id)
                .execute(&self.pool)
                .await?;
            Ok(ended.rows_affected() > 0)
        })
    }

    fn end_other_logins<'a>(&'a self, user_id: i64, keep: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let ended = sqlx::query("DELETE FROM logins WHERE user_id = $1 AND id <> $2")
                .bind(user_id)
                .bind(keep)
                .execute(&self.pool)
                .await?;
            Ok(ended.rows_affected())
        })
    }

    fn end_logins_of(&self, user_id: i64) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let ended = sqlx::query("DELETE FROM logins WHERE user_id = $1").bind(user_id).execute(&self.pool).await?;
            Ok(ended.rows_affected())
        })
    }

    fn sso_account<'a>(&'a self, issuer: &'a str, subject: &'a str) -> BoxFuture<'a, Result<Option<i64>, StoreError>> {
        Box::pin(async move {
            Ok(sqlx::query_scalar("SELECT id FROM users WHERE sso_issuer = $1 AND sso_subject = $2")
                .bind(issuer)
                .bind(subject)
                .fetch_optional(&self.pool)
                .await?)
        })
    }

    fn insert_sso<'a>(&'a self, new: &'a NewSsoAccount) -> BoxFuture<'a, Result<Option<i64>, StoreError>> {
        Box::pin(async move {
            let inserted = sqlx::query(
                "INSERT INTO users (username, display_name, password_hash, roles, disabled, created_at, updated_at,
                                    sso_issuer, sso_subject, email)
                 VALUES ($1, $2, '', $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (username) DO NOTHING RETURNING id",
            )
            .bind(&new.username)
            .bind(&new.display_name)
            .bind(&new.roles)
            .bind(new.disabled as i64)
            .bind(&new.created_at)
            .bind(&new.created_at)
            .bind(&new.issuer)
            .bind(&new.subject)
            .bind(&new.email)
            .fetch_optional(&self.pool)
            .await?;
            Ok(inserted.map(|row| row.get(0)))
        })
    }

    fn sso_update<'a>(
        &'a self,
        id: i64,
        email: Option<&'a str>,
        display_name: &'a str,
        roles: Option<&'a str>,
        at: &'a str,
    ) -> BoxFuture<'a, Result<SsoUpdated, StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            let admins_before: i64 = sqlx::query_scalar(ENABLED_ADMINS).fetch_one(&mut *tx).await?;
            sqlx::query(
                "UPDATE users SET email = $1, display_name = $2, roles = COALESCE($3, roles), updated_at = $4 WHERE id = $5",
            )
            .bind(email)
            .bind(display_name)
            .bind(roles)
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            // Rolled back at once (not on drop), the stored roles stay as they were.
            let admins_after: i64 = sqlx::query_scalar(ENABLED_ADMINS).fetch_one(&mut *tx).await?;
            if admins_before > 0 && admins_after == 0 {
                tx.rollback().await?;
                return Ok(SsoUpdated::LastAdmin);
            }
            let row =
                sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1")).bind(id).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(SsoUpdated::Yes(account_row(&row)))
        })
    }

    fn end_sso_logins<'a>(&'a self, issuer: &'a str, subject: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            Ok(sqlx::query(
                "DELETE FROM logins WHERE user_id IN (SELECT id FROM users WHERE sso_issuer = $1 AND sso_subject = $2)",
            )
            .bind(issuer)
            .bind(subject)
            .execute(&self.pool)
            .await?
            .rows_affected())
        })
    }
}

/// What every [`AccountRows`] must do, whatever keeps it: each check takes a fresh, empty store.
#[cfg(test)]
pub mod suite {
    use domain::auth::Role;

    use super::*;

    const AT: &str = "2026-11-26T10:00:00Z";
    const ISSUER: &str = "https://id.example.com";

    fn local(username: &str, roles: &str) -> NewAccount {
        NewAccount {
            username: username.to_owned(),
            display_name: username.to_uppercase(),
            password_hash: format!("hash of {username}"),
            roles: roles.to_owned(),
            must_change_password: false,
            created_at: AT.to_owned(),
        }
    }

    fn sso(username: &str, subject: &str, roles: &str, disabled: bool) -> NewSsoAccount {
        NewSsoAccount {
            username: username.to_owned(),
            display_name: "Ada Lovelace".to_owned(),
            roles: roles.to_owned(),
            disabled,
            issuer: ISSUER.to_owned(),
            subject: subject.to_owned(),
            email: Some("ada@example.com".to_owned()),
            created_at: AT.to_owned(),
        }
    }

    async fn add(rows: &dyn AccountRows, username: &str, roles: &str) -> i64 {
        rows.insert(&local(username, roles), false).await.unwrap().expect("a new username")
    }

    /// The first account is made only while there is none; a username is taken once; accounts
    /// read back as written and list by username.
    pub async fn an_account_is_created_once_per_username(rows: &dyn AccountRows) {
        assert_eq!(rows.count().await.unwrap(), 0);
        let root = rows.insert(&local("root", "admin"), true).await.unwrap().expect("the first account");
        assert_eq!(rows.insert(&local("ann", "admin"), true).await.unwrap(), None, "a first account exists");
        assert_eq!(rows.insert(&local("root", "viewer"), false).await.unwrap(), None, "root is taken");
        let mut new = local("ann", "viewer approver");
        new.must_change_password = true;
        let ann = rows.insert(&new, false).await.unwrap().expect("ann is free");
        assert_ne!(ann, root);
        assert_eq!(rows.count().await.unwrap(), 2);
        let got = rows.get(ann).await.unwrap().expect("ann's account");
        assert_eq!(
            got,
            Account {
                id: ann,
                username: "ann".to_owned(),
                display_name: "ANN".to_owned(),
                roles: vec![Role::Viewer, Role::Approver],
                disabled: false,
                created_at: AT.to_owned(),
                must_change_password: true,
                sso: false,
                email: None,
            }
        );
        assert!(rows.get(ann + root + 1).await.unwrap().is_none());
        let names: Vec<String> = rows.list().await.unwrap().into_iter().map(|a| a.username).collect();
        assert_eq!(names, ["ann", "root"]);
    }

    /// A sign-in finds the account by its username, with its generation and password hash.
    pub async fn sign_in_data_is_found_by_username(rows: &dyn AccountRows) {
        let ann = add(rows, "ann", "viewer").await;
        let (row, hash) = rows.by_username("ann").await.unwrap().expect("ann's sign-in data");
        assert_eq!((row.account.id, row.account.username.as_str(), row.generation), (ann, "ann", 0));
        assert_eq!(hash, "hash of ann");
        assert!(rows.by_username("bob").await.unwrap().is_none());
        assert_eq!(rows.generation(ann).await.unwrap(), Some(0));
        assert_eq!(rows.generation(ann + 1).await.unwrap(), None);
    }

    /// Roles and the disabled flag are set and read back; disabling an enabled account bumps its
    /// generation once and ends its logins; an unknown account is not found.
    pub async fn roles_and_disabled_are_changed_and_read_back(rows: &dyn AccountRows) {
        add(rows, "root", "admin").await;
        let ann = add(rows, "ann", "viewer").await;
        assert_eq!(rows.update(ann, "operator approver", false, AT).await.unwrap(), Updated::Yes);
        assert_eq!(rows.get(ann).await.unwrap().unwrap().roles, [Role::Operator, Role::Approver]);
        assert_eq!(rows.generation(ann).await.unwrap(), Some(0), "a change of roles keeps the logins");
        rows.insert_login("l1", ann, AT, None, None).await.unwrap();
        assert_eq!(rows.update(ann, "viewer", true, AT).await.unwrap(), Updated::Yes);
        let got = rows.get(ann).await.unwrap().unwrap();
        assert_eq!((got.roles.as_slice(), got.disabled), (&[Role::Viewer][..], true));
        assert_eq!(rows.generation(ann).await.unwrap(), Some(1));
        assert!(rows.logins(ann).await.unwrap().is_empty(), "disabling ends the logins");
        assert_eq!(rows.update(ann, "viewer", true, AT).await.unwrap(), Updated::Yes);
        assert_eq!(rows.generation(ann).await.unwrap(), Some(1), "disabled already: no bump");
        assert_eq!(rows.update(ann, "viewer", false, AT).await.unwrap(), Updated::Yes);
        assert!(!rows.get(ann).await.unwrap().unwrap().disabled);
        assert_eq!(rows.update(ann + 100, "viewer", false, AT).await.unwrap(), Updated::NotFound);
    }

    /// A login stands while it is kept and its account is enabled and at its generation; a new
    /// password bumps the generation, so the login no longer counts; logins are listed and ended.
    pub async fn a_login_ends_when_its_generation_bumps(rows: &dyn AccountRows) {
        let ann = add(rows, "ann", "viewer").await;
        rows.insert_login("l1", ann, "2026-11-26T10:00:00Z", Some("192.0.2.1"), Some("Firefox")).await.unwrap();
        rows.insert_login("l2", ann, "2026-11-26T12:00:00Z", None, None).await.unwrap();
        assert_eq!(rows.current("l1", ann, 0).await.unwrap().map(|a| a.id), Some(ann));
        assert!(rows.current("l1", ann, 1).await.unwrap().is_none(), "another generation");
        assert!(rows.current("l1", ann + 1, 0).await.unwrap().is_none(), "another account");
        assert!(rows.current("l9", ann, 0).await.unwrap().is_none(), "no such login");
        let logins = rows.logins(ann).await.unwrap();
        assert_eq!(logins.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(), ["l1", "l2"]);
        assert_eq!((logins[0].ip.as_deref(), logins[0].user_agent.as_deref()), (Some("192.0.2.1"), Some("Firefox")));
        assert!(logins.iter().all(|l| !l.current));
        assert!(rows.set_password(ann, "new hash", true, AT).await.unwrap());
        assert!(!rows.set_password(ann + 1, "new hash", true, AT).await.unwrap(), "no such account");
        assert_eq!(rows.generation(ann).await.unwrap(), Some(1));
        assert!(rows.current("l1", ann, 0).await.unwrap().is_none(), "the bump ends it");
        let now = rows.current("l1", ann, 1).await.unwrap().expect("at the new generation");
        assert!(now.must_change_password);
        assert_eq!(rows.by_username("ann").await.unwrap().unwrap().1, "new hash");
        assert_eq!(rows.prune_logins("2026-11-26T11:00:00Z").await.unwrap(), 1, "l1 began before");
        rows.insert_login("l3", ann, AT, None, None).await.unwrap();
        rows.insert_login("l4", ann, AT, None, None).await.unwrap();
        assert!(rows.end_login_of(ann, "l3").await.unwrap());
        assert!(!rows.end_login_of(ann + 1, "l4").await.unwrap(), "not that account's");
        assert_eq!(rows.end_other_logins(ann, "l4").await.unwrap(), 1, "l2");
        rows.delete_login("l4").await.unwrap();
        assert!(rows.logins(ann).await.unwrap().is_empty());
        rows.insert_login("l5", ann, AT, None, None).await.unwrap();
        assert_eq!(rows.end_logins_of(ann).await.unwrap(), 1);
    }

    /// Neither an admin's change nor the provider's roles leave no enabled admin: such a change
    /// is refused and nothing of it stays. A disabled admin does not count.
    pub async fn the_last_enabled_admin_cannot_be_demoted_or_disabled(rows: &dyn AccountRows) {
        let root = add(rows, "root", "viewer admin").await;
        let carol = add(rows, "carol", "admin").await;
        assert_eq!(rows.update(carol, "admin", true, AT).await.unwrap(), Updated::Yes, "root is left");
        rows.insert_login("l1", root, AT, None, None).await.unwrap();
        assert_eq!(rows.update(root, "viewer", false, AT).await.unwrap(), Updated::LastAdmin);
        assert_eq!(rows.update(root, "admin", true, AT).await.unwrap(), Updated::LastAdmin);
        let got = rows.get(root).await.unwrap().unwrap();
        assert_eq!((got.roles.as_slice(), got.disabled), (&[Role::Viewer, Role::Admin][..], false), "rolled back");
        assert_eq!(rows.generation(root).await.unwrap(), Some(0));
        assert_eq!(rows.logins(root).await.unwrap().len(), 1, "its logins stay");
        assert_eq!(rows.update(carol, "admin", false, AT).await.unwrap(), Updated::Yes);
        assert_eq!(rows.update(root, "viewer", false, AT).await.unwrap(), Updated::Yes, "carol is left");

        // The provider's groups cannot take admin from the last enabled admin either.
        let grace = rows.insert_sso(&sso("grace", "sub-g", "viewer", false)).await.unwrap().unwrap();
        assert!(matches!(rows.sso_update(grace, None, "Grace", Some("admin"), AT).await.unwrap(), SsoUpdated::Yes(_)));
        assert_eq!(rows.update(carol, "viewer", false, AT).await.unwrap(), Updated::Yes, "grace is left");
        let demoted = rows.sso_update(grace, Some("g@example.com"), "Grace H", Some("viewer"), AT).await.unwrap();
        assert_eq!(demoted, SsoUpdated::LastAdmin);
        let got = rows.get(grace).await.unwrap().unwrap();
        assert_eq!((got.roles.as_slice(), got.display_name.as_str()), (&[Role::Admin][..], "Grace"), "rolled back");
    }

    /// A single sign-on account is found by its issuer and subject, never by a namesake; it has
    /// no password to set; it is brought up to date; its logins end by issuer and subject.
    pub async fn sso_accounts_are_found_by_issuer_and_subject(rows: &dyn AccountRows) {
        add(rows, "ada", "admin").await;
        assert_eq!(rows.insert_sso(&sso("ada", "sub-1", "viewer", false)).await.unwrap(), None, "ada is taken");
        let id = rows.insert_sso(&sso("ada-2", "sub-1", "viewer", false)).await.unwrap().expect("ada-2 is free");
        assert!(
            !matches!(rows.insert_sso(&sso("ada-3", "sub-1", "viewer", false)).await, Ok(Some(_))),
            "the same person never gets a second account"
        );
        assert_eq!(rows.sso_account(ISSUER, "sub-1").await.unwrap(), Some(id));
        assert_eq!(rows.sso_account("https://other.example.com", "sub-1").await.unwrap(), None);
        assert_eq!(rows.sso_account(ISSUER, "sub-2").await.unwrap(), None);
        let got = rows.get(id).await.unwrap().unwrap();
        assert_eq!((got.sso, got.email.as_deref(), got.disabled), (true, Some("ada@example.com"), false));
        assert_eq!(rows.by_username("ada-2").await.unwrap().unwrap().1, "", "no password here");
        assert!(!rows.set_password(id, "a hash", false, AT).await.unwrap(), "nor can one be set");

        let SsoUpdated::Yes(row) = rows.sso_update(id, Some("ada.l@example.com"), "Ada L", None, AT).await.unwrap()
        else {
            panic!("an update")
        };
        assert_eq!(
            (row.account.email.as_deref(), row.account.display_name.as_str(), row.account.roles.as_slice()),
            (Some("ada.l@example.com"), "Ada L", &[Role::Viewer][..]),
            "no roles given: they stay"
        );
        assert_eq!(row.generation, 0);
        let SsoUpdated::Yes(row) = rows.sso_update(id, None, "Ada L", Some("approver"), AT).await.unwrap() else {
            panic!("an update")
        };
        assert_eq!((row.account.roles.as_slice(), row.account.email), (&[Role::Approver][..], None));

        let waits = rows.insert_sso(&sso("bob", "sub-3", "viewer", true)).await.unwrap().unwrap();
        assert!(rows.get(waits).await.unwrap().unwrap().disabled, "it waits for an admin");

        rows.insert_login("l1", id, AT, None, None).await.unwrap();
        rows.insert_login("l2", id, AT, None, None).await.unwrap();
        rows.insert_login("l3", waits, AT, None, None).await.unwrap();
        assert_eq!(rows.end_sso_logins("https://other.example.com", "sub-1").await.unwrap(), 0);
        assert_eq!(rows.end_sso_logins(ISSUER, "sub-1").await.unwrap(), 2);
        assert_eq!(rows.logins(waits).await.unwrap().len(), 1, "another person's stay");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_and_postgres_keep_accounts_and_logins() {
        for check in 0..6 {
            for db in crate::support::db::testing::databases("account-rows").await {
                let rows = SqlAccountRows::new(db.pool.clone());
                match check {
                    0 => suite::an_account_is_created_once_per_username(&rows).await,
                    1 => suite::sign_in_data_is_found_by_username(&rows).await,
                    2 => suite::roles_and_disabled_are_changed_and_read_back(&rows).await,
                    3 => suite::a_login_ends_when_its_generation_bumps(&rows).await,
                    4 => suite::the_last_enabled_admin_cannot_be_demoted_or_disabled(&rows).await,
                    _ => suite::sso_accounts_are_found_by_issuer_and_subject(&rows).await,
                }
            }
        }
    }
}
