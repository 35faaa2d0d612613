//! Share links' rows: [`ShareRows`], the seam another database's store goes behind, and
//! [`SqlShareRows`], SQLite's `shares` table. A link is kept by the SHA-256 of its token, never
//! the token. [`suite`] is what every implementation must do.

use domain::upstream::client::BoxFuture;
use sqlx::{AnyPool, Row};

use crate::support::{
    StoreError,
    db::{Dialect, dialect},
};

/// A link as it is first written.
#[derive(Debug, Clone)]
pub struct NewLinkRow {
    pub token_hash: String,
    pub session_id: String,
    pub title: String,
    pub agent: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_unix: i64,
    pub snapshot_ms: Option<i64>,
    pub hide_tools: bool,
    pub mask_secrets: bool,
}

/// A link as it is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRow {
    pub id: i64,
    pub session_id: String,
    pub title: String,
    pub agent: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_unix: i64,
    pub snapshot_ms: Option<i64>,
    pub hide_tools: bool,
    pub mask_secrets: bool,
    pub views: i64,
    pub last_viewed_at: Option<String>,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
}

pub trait ShareRows: Send + Sync + 'static {
    /// Keeps a new link; answers its number.
    fn insert<'a>(&'a self, link: &'a NewLinkRow) -> BoxFuture<'a, Result<i64, StoreError>>;
    /// The link whose token hashes to `token_hash`.
    fn by_token<'a>(&'a self, token_hash: &'a str) -> BoxFuture<'a, Result<Option<LinkRow>, StoreError>>;
    fn get(&self, id: i64) -> BoxFuture<'_, Result<Option<LinkRow>, StoreError>>;
    /// The newest links, at most `limit`.
    fn list(&self, limit: i64) -> BoxFuture<'_, Result<Vec<LinkRow>, StoreError>>;
    /// Revokes link `id` at `at`, by `by`; a link revoked already keeps its first revocation.
    fn revoke<'a>(&'a self, id: i64, at: &'a str, by: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Notes a viewing of link `id` at `at` (`counts`: one more view). Answers whether it is the
    /// first since `window_start` (of many at once, exactly one is) and the link as it is now.
    fn viewed<'a>(
        &'a self,
        id: i64,
        at: &'a str,
        window_start: &'a str,
        counts: bool,
    ) -> BoxFuture<'a, Result<(bool, LinkRow), StoreError>>;
}

pub struct SqlShareRows {
    pool: AnyPool,
}

impl SqlShareRows {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }
}

fn link_of(row: &sqlx::any::AnyRow) -> Result<LinkRow, sqlx::Error> {
    Ok(LinkRow {
        id: row.try_get("id")?,
        session_id: row.try_get("session_id")?,
        title: row.try_get("title")?,
        agent: row.try_get("agent")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        expires_unix: row.try_get("expires_unix")?,
        snapshot_ms: row.try_get("snapshot_ms")?,
        hide_tools: row.try_get::<i64, _>("hide_tools")? != 0,
        mask_secrets: row.try_get::<i64, _>("mask_secrets")? != 0,
        views: row.try_get("views")?,
        last_viewed_at: row.try_get("last_viewed_at")?,
        revoked_at: row.try_get("revoked_at")?,
        revoked_by: row.try_get("revoked_by")?,
    })
}

impl ShareRows for SqlShareRows {
    fn insert<'a>(&'a self, link: &'a NewLinkRow) -> BoxFuture<'a, Result<i64, StoreError>> {
        Box::pin(async move {
            let row = sqlx::query(
                "INSERT INTO shares (token_hash, session_id, title, agent, created_by, created_at, expires_unix, snapshot_ms, hide_tools, mask_secrets)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(&link.token_hash)
            .bind(&link.session_id)
            .bind(&link.title)
            .bind(&link.agent)
            .bind(&link.created_by)
            .bind(&link.created_at)
            .bind(link.expires_unix)
            .bind(link.snapshot_ms)
            .bind(link.hide_tools as i64)
            .bind(link.mask_secrets as i64)
            .fetch_one(&self.pool)
            .await?;
            Ok(row.try_get(0)?)
        })
    }

    fn by_token<'a>(&'a self, token_hash: &'a str) -> BoxFuture<'a, Result<Option<LinkRow>, StoreError>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT * FROM shares WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
            Ok(row.as_ref().map(link_of).transpose()?)
        })
    }

    fn get(&self, id: i64) -> BoxFuture<'_, Result<Option<LinkRow>, StoreError>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT * FROM shares WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
            Ok(row.as_ref().map(link_of).transpose()?)
        })
    }

    fn list(&self, limit: i64) -> BoxFuture<'_, Result<Vec<LinkRow>, StoreError>> {
        Box::pin(async move {
            let rows =
                sqlx::query("SELECT * FROM shares ORDER BY id DESC LIMIT $1").bind(limit).fetch_all(&self.pool).await?;
            Ok(rows.iter().map(link_of).collect::<Result<_, _>>()?)
        })
    }

    fn revoke<'a>(&'a self, id: i64, at: &'a str, by: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query("UPDATE shares SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL")
                .bind(at)
                .bind(by)
                .bind(id)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }

    fn viewed<'a>(
        &'a self,
        id: i64,
        at: &'a str,
        window_start: &'a str,
        counts: bool,
    ) -> BoxFuture<'a, Result<(bool, LinkRow), StoreError>> {
        Box::pin(async move {
            // One statement moves the last view past the window, so of a page and its streams
            // opening at once, one does (SQLite runs writes one by one).
            // Times as times: RFC 3339 text with fractions of a second does not sort as text.
            let sql = match dialect(&self.pool) {
                Dialect::Sqlite => {
                    "UPDATE shares SET last_viewed_at = $1 WHERE id = $2
                       AND COALESCE(julianday(last_viewed_at), 0) < julianday($3) RETURNING id"
                }
                Dialect::Postgres => {
                    "UPDATE shares SET last_viewed_at = $1 WHERE id = $2
                       AND COALESCE(last_viewed_at::timestamptz, '-infinity') < $3::timestamptz RETURNING id"
                }
            };
            let first =
                sqlx::query(sql).bind(at).bind(id).bind(window_start).fetch_optional(&self.pool).await?.is_some();
            let row =
                sqlx::query("UPDATE shares SET views = views + $1, last_viewed_at = $2 WHERE id = $3 RETURNING *")
                    .bind(i64::from(counts))
                    .bind(at)
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await?;
            Ok((first, link_of(&row)?))
        })
    }
}

/// What every [`ShareRows`] must do, whatever keeps it: each check takes a fresh, empty store.
#[cfg(test)]
pub mod suite {
    use super::*;

    fn link(token_hash: &str) -> NewLinkRow {
        NewLinkRow {
            token_hash: token_hash.to_owned(),
            session_id: "sesn_1".to_owned(),
            title: "Fix the build".to_owned(),
            agent: "Coder".to_owned(),
            created_by: "ann".to_owned(),
            created_at: "2026-11-26T10:00:00Z".to_owned(),
            expires_unix: 4_000_000_000,
            snapshot_ms: Some(1_700_000_000_000),
            hide_tools: true,
            mask_secrets: false,
        }
    }

    /// A link is found by its token's hash and its number; the newest lists first; its first
    /// revocation stands.
    pub async fn a_link_is_found_and_revoked_once(rows: &dyn ShareRows) {
        let a = rows.insert(&link("hash_a")).await.unwrap();
        let b = rows.insert(&link("hash_b")).await.unwrap();
        let found = rows.by_token("hash_a").await.unwrap().unwrap();
        assert_eq!(
            (found.id, found.snapshot_ms, found.hide_tools, found.mask_secrets),
            (a, Some(1_700_000_000_000), true, false)
        );
        assert!(rows.by_token("hash_c").await.unwrap().is_none());
        assert_eq!(rows.list(10).await.unwrap().iter().map(|l| l.id).collect::<Vec<_>>(), vec![b, a]);
        rows.revoke(a, "2026-11-26T11:00:00Z", "ann").await.unwrap();
        rows.revoke(a, "2026-11-26T12:00:00Z", "bob").await.unwrap();
        let revoked = rows.get(a).await.unwrap().unwrap();
        assert_eq!(
            (revoked.revoked_at.as_deref(), revoked.revoked_by.as_deref()),
            (Some("2026-11-26T11:00:00Z"), Some("ann"))
        );
        assert!(rows.get(b).await.unwrap().unwrap().revoked_at.is_none());
    }

    /// Views count only when asked; the first viewing in a window says so, later ones do not,
    /// and one past the window does again.
    pub async fn a_window_of_views_has_one_first(rows: &dyn ShareRows) {
        let id = rows.insert(&link("hash_a")).await.unwrap();
        let (first, row) = rows.viewed(id, "2026-11-26T10:00:00Z", "2026-11-26T09:50:00Z", true).await.unwrap();
        assert!(first);
        assert_eq!((row.views, row.last_viewed_at.as_deref()), (1, Some("2026-11-26T10:00:00Z")));
        let (first, row) = rows.viewed(id, "2026-11-26T10:05:00Z", "2026-11-26T09:55:00Z", false).await.unwrap();
        assert!(!first);
        assert_eq!(row.views, 1, "a stream's opening is not a view");
        let (first, row) = rows.viewed(id, "2026-11-26T10:20:00Z", "2026-11-26T10:10:00Z", true).await.unwrap();
        assert!(first);
        assert_eq!(row.views, 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_and_postgres_keep_share_links() {
        for check in 0..2 {
            for db in crate::support::db::testing::databases("shares").await {
                let rows = SqlShareRows::new(db.pool.clone());
                match check {
                    0 => suite::a_link_is_found_and_revoked_once(&rows).await,
                    _ => suite::a_window_of_views_has_one_first(&rows).await,
                }
            }
        }
    }
}
