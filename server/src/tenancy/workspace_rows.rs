//! Connected workspaces' rows and the roles people hold in them: [`WorkspaceRows`], the seam
//! another database's store goes behind, and [`SqlWorkspaceRows`], SQLite's `workspaces` and
//! `workspace_grants` tables in the main database. A workspace's key is kept sealed
//! (`settings::SecretKey`), never in the clear. [`suite`] is what every implementation must do.

use domain::upstream::client::BoxFuture;
use sqlx::{AnyPool, Row};

use crate::support::StoreError;

/// A connected workspace as it is kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkspaceRecord {
    pub id: String,
    pub name: String,
    pub base_url: String,
    /// Its API key, sealed for its id and address.
    pub sealed_key: Vec<u8>,
    /// The signing secret of its incoming webhooks, sealed for its id with `/webhook` and its
    /// address; `None`: none set.
    pub sealed_webhook_secret: Option<Vec<u8>>,
    pub created_by: String,
    pub created_at: String,
}

/// Whether a new workspace was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    Yes,
    /// Another workspace has its id or name.
    Taken,
}

/// A grant as kept: (workspace, account id, roles as text).
pub type GrantRow = (String, i64, String);
/// A grant with its account's username: (workspace, username, roles as text).
pub type NamedGrantRow = (String, String, String);

pub trait WorkspaceRows: Send + Sync + 'static {
    /// Every connected workspace, oldest first.
    fn all(&self) -> BoxFuture<'_, Result<Vec<WorkspaceRecord>, StoreError>>;
    fn insert<'a>(&'a self, workspace: &'a WorkspaceRecord) -> BoxFuture<'a, Result<Kept, StoreError>>;
    /// Removes workspace `id` and its grants; false when there was none.
    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Sets (or, with `None`, removes) a workspace's sealed webhook secret; false when there is no
    /// such workspace.
    fn set_webhook_secret<'a>(
        &'a self,
        id: &'a str,
        sealed: Option<Vec<u8>>,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Every grant: (workspace, account id, roles as text).
    fn grants(&self) -> BoxFuture<'_, Result<Vec<GrantRow>, StoreError>>;
    /// Every grant with its account's username, by username.
    fn named_grants(&self) -> BoxFuture<'_, Result<Vec<NamedGrantRow>, StoreError>>;
    /// The account id of `username`.
    fn account<'a>(&'a self, username: &'a str) -> BoxFuture<'a, Result<Option<i64>, StoreError>>;
    /// Sets the roles `user` holds in `workspace` (`None`: none, the grant is removed).
    fn set_grant<'a>(
        &'a self,
        workspace: &'a str,
        user: i64,
        roles: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

pub struct SqlWorkspaceRows {
    pool: AnyPool,
}

impl SqlWorkspaceRows {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }
}

impl WorkspaceRows for SqlWorkspaceRows {
    fn all(&self) -> BoxFuture<'_, Result<Vec<WorkspaceRecord>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT id, name, base_url, sealed_key, sealed_webhook_secret, created_by, created_at FROM workspaces
                 ORDER BY created_at, id",
            )
            .fetch_all(&self.pool)
            .await?;
            Ok(rows
                .iter()
                .map(|row| WorkspaceRecord {
                    id: row.get("id"),
                    name: row.get("name"),
                    base_url: row.get("base_url"),
                    sealed_key: row.get("sealed_key"),
                    sealed_webhook_secret: row.get("sealed_webhook_secret"),
                    created_by: row.get("created_by"),
                    created_at: row.get("created_at"),
                })
                .collect())
        })
    }

    fn insert<'a>(&'a self, workspace: &'a WorkspaceRecord) -> BoxFuture<'a, Result<Kept, StoreError>> {
        Box::pin(async move {
            let inserted = sqlx::query(
                "INSERT INTO workspaces (id, name, base_url, sealed_key, sealed_webhook_secret, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&workspace.id)
            .bind(&workspace.name)
            .bind(&workspace.base_url)
            .bind(&workspace.sealed_key)
            .bind(&workspace.sealed_webhook_secret)
            .bind(&workspace.created_by)
            .bind(&workspace.created_at)
            .execute(&self.pool)
            .await;
            match inserted {
                Ok(_) => Ok(Kept::Yes),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(Kept::Taken),
                Err(error) => Err(error.into()),
            }
        })
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let gone = sqlx::query("DELETE FROM workspaces WHERE id = $1").bind(id).execute(&self.pool).await?;
            Ok(gone.rows_affected() > 0)
        })
    }

    fn set_webhook_secret<'a>(
        &'a self,
        id: &'a str,
        sealed: Option<Vec<u8>>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let set = sqlx::query("UPDATE workspaces SET sealed_webhook_secret = $1 WHERE id = $2")
                .bind(sealed)
                .bind(id)
                .execute(&self.pool)
                .await?;
            Ok(set.rows_affected() > 0)
        })
    }

    fn grants(&self) -> BoxFuture<'_, Result<Vec<GrantRow>, StoreError>> {
        Box::pin(async move {
            let rows =
                sqlx::query("SELECT workspace_id, user_id, roles FROM workspace_grants").fetch_all(&self.pool).await?;
            Ok(rows.iter().map(|row| (row.get("workspace_id"), row.get("user_id"), row.get("roles"))).collect())
        })
    }

    fn named_grants(&self) -> BoxFuture<'_, Result<Vec<NamedGrantRow>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT g.workspace_id, u.username, g.roles FROM workspace_grants g JOIN users u ON u.id = g.user_id ORDER BY u.username",
            )
            .fetch_all(&self.pool)
            .await?;
            Ok(rows.iter().map(|row| (row.get("workspace_id"), row.get("username"), row.get("roles"))).collect())
        })
    }

    fn account<'a>(&'a self, username: &'a str) -> BoxFuture<'a, Result<Option<i64>, StoreError>> {
        Box::pin(async move {
            Ok(sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?)
        })
    }

    fn set_grant<'a>(
        &'a self,
        workspace: &'a str,
        user: i64,
        roles: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            match roles {
                None => {
                    sqlx::query("DELETE FROM workspace_grants WHERE workspace_id = $1 AND user_id = $2")
                        .bind(workspace)
                        .bind(user)
                        .execute(&self.pool)
                        .await?
                }
                Some(roles) => {
                    sqlx::query(
                        "INSERT INTO workspace_grants (workspace_id, user_id, roles) VALUES ($1, $2, $3)
                         ON CONFLICT (workspace_id, user_id) DO UPDATE SET roles = excluded.roles",
                    )
                    .bind(workspace)
                    .bind(user)
                    .bind(roles)
                    .execute(&self.pool)
                    .await?
                }
            };
            Ok(())
        })
    }
}

/// What every [`WorkspaceRows`] must do, whatever keeps it: each check takes a fresh store whose
/// accounts are `ann` (id 1) and `bob` (id 2).
#[cfg(test)]
pub mod suite {
    use super::*;

    fn record(id: &str, name: &str, at: &str) -> WorkspaceRecord {
        WorkspaceRecord {
            id: id.to_owned(),
            name: name.to_owned(),
            base_url: "https://api.anthropic.com".to_owned(),
            sealed_key: vec![1, 2, 3],
            sealed_webhook_secret: None,
            created_by: "ann".to_owned(),
            created_at: at.to_owned(),
        }
    }

    /// Workspaces list oldest first; an id or a name taken is refused as taken; a removed one is
    /// gone with its grants.
    pub async fn a_workspace_is_kept_once(rows: &dyn WorkspaceRows) {
        assert_eq!(rows.insert(&record("staging", "Staging", "2026-11-26T10:00:00Z")).await.unwrap(), Kept::Yes);
        assert_eq!(rows.insert(&record("prod", "Production", "2026-11-26T11:00:00Z")).await.unwrap(), Kept::Yes);
        assert_eq!(rows.insert(&record("staging", "Other", "2026-11-26T12:00:00Z")).await.unwrap(), Kept::Taken);
        assert_eq!(rows.insert(&record("other", "Staging", "2026-11-26T12:00:00Z")).await.unwrap(), Kept::Taken);
        let all = rows.all().await.unwrap();
        assert_eq!(all.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(), ["staging", "prod"]);
        assert_eq!(all[0].sealed_key, vec![1, 2, 3]);
        assert_eq!(all[0].sealed_webhook_secret, None);
        // A webhook secret is set, then removed; none can be set on a workspace that is not there.
        assert!(rows.set_webhook_secret("staging", Some(vec![4, 5])).await.unwrap());
        assert_eq!(rows.all().await.unwrap()[0].sealed_webhook_secret, Some(vec![4, 5]));
        assert!(rows.set_webhook_secret("staging", None).await.unwrap());
        assert_eq!(rows.all().await.unwrap()[0].sealed_webhook_secret, None);
        assert!(!rows.set_webhook_secret("nowhere", Some(vec![6])).await.unwrap());
        rows.set_grant("staging", 1, Some("viewer approver")).await.unwrap();
        assert!(rows.delete("staging").await.unwrap());
        assert!(!rows.delete("staging").await.unwrap());
        assert!(rows.grants().await.unwrap().is_empty(), "a removed workspace's grants go with it");
    }

    /// A grant is set, replaced and removed; grants are named by their account's username.
    pub async fn grants_are_set_replaced_and_removed(rows: &dyn WorkspaceRows) {
        rows.insert(&record("staging", "Staging", "2026-11-26T10:00:00Z")).await.unwrap();
        let ann = rows.account("ann").await.unwrap().expect("ann's account");
        let bob = rows.account("bob").await.unwrap().expect("bob's account");
        assert!(rows.account("carol").await.unwrap().is_none());
        rows.set_grant("staging", ann, Some("viewer")).await.unwrap();
        rows.set_grant("staging", ann, Some("operator")).await.unwrap();
        rows.set_grant("staging", bob, Some("approver")).await.unwrap();
        assert_eq!(
            rows.named_grants().await.unwrap(),
            vec![
                ("staging".to_owned(), "ann".to_owned(), "operator".to_owned()),
                ("staging".to_owned(), "bob".to_owned(), "approver".to_owned())
            ]
        );
        rows.set_grant("staging", ann, None).await.unwrap();
        assert_eq!(rows.grants().await.unwrap(), vec![("staging".to_owned(), bob, "approver".to_owned())]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_and_postgres_keep_workspaces_and_grants() {
        for check in 0..2 {
            for db in crate::support::db::testing::databases("workspaces").await {
                let pool = db.pool.clone();
                let accounts = crate::access::accounts::Accounts::new(pool.clone());
                accounts.create_first_admin("ann", "Ann", "a long password for ann 1").await.unwrap();
                sqlx::query("INSERT INTO users (username, display_name, password_hash, roles, created_at, updated_at) VALUES ('bob', 'Bob', '', 'viewer', '2026-11-26T10:00:00Z', '2026-11-26T10:00:00Z')")
                    .execute(&pool)
                    .await
                    .unwrap();
                let rows = SqlWorkspaceRows::new(pool);
                match check {
                    0 => suite::a_workspace_is_kept_once(&rows).await,
                    _ => suite::grants_are_set_replaced_and_removed(&rows).await,
                }
            }
        }
    }
}
