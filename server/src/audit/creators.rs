//! Who made what (`domain::creators`): [`CreatorRows`], the seam another database's store goes
//! behind, and [`SqlCreatorRows`], the main database's `creators` table, one row per thing made
//! through Switchboard, in its workspace. The audit layer ([`super::record`]) writes a row when a
//! creation succeeds; the first row of a thing stands. [`Creators`] is a workspace's view of them,
//! which the lists' server functions read. [`suite`] is what every implementation must do.

use std::{collections::HashMap, sync::Arc};

use domain::{
    creators::{
        Creator, Kind,
        server::{CreatorStore, Made},
    },
    error::AppError,
    upstream::client::BoxFuture,
};
use sqlx::{AnyPool, Row};

use crate::support::StoreError;

/// A record as it is first written.
#[derive(Debug, Clone)]
pub struct NewCreator<'a> {
    /// `None`: the default workspace.
    pub workspace: Option<&'a str>,
    pub kind: Kind,
    pub object_id: &'a str,
    pub user_id: i64,
    pub username: &'a str,
    pub via: Option<&'a str>,
    /// RFC 3339, UTC.
    pub at: &'a str,
}

pub trait CreatorRows: Send + Sync + 'static {
    /// Keeps who made `row.object_id`, unless a record of it exists (the first stands).
    fn record<'a>(&'a self, row: &'a NewCreator<'a>) -> BoxFuture<'a, Result<(), StoreError>>;
    /// The makers of those of `ids` made in `workspace`.
    fn of<'a>(
        &'a self,
        workspace: Option<&'a str>,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<HashMap<String, Creator>, StoreError>>;
    /// What `user_id` made of `kind` in `workspace`, newest first: `limit` at most, from after
    /// `after` (a row's time and id).
    fn made_by<'a>(
        &'a self,
        workspace: Option<&'a str>,
        by: (Kind, i64),
        after: Option<(&'a str, &'a str)>,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, StoreError>>;
}

/// The `creators` table. The default workspace is written as `''` (a key column is never NULL).
pub struct SqlCreatorRows {
    pool: AnyPool,
}

impl SqlCreatorRows {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }
}

fn workspace_key(workspace: Option<&str>) -> &str {
    workspace.unwrap_or("")
}

impl CreatorRows for SqlCreatorRows {
    fn record<'a>(&'a self, row: &'a NewCreator<'a>) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO creators (workspace, object_id, kind, user_id, username, via, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (workspace, object_id) DO NOTHING",
            )
            .bind(workspace_key(row.workspace))
            .bind(row.object_id)
            .bind(row.kind.as_str())
            .bind(row.user_id)
            .bind(row.username)
            .bind(row.via)
            .bind(row.at)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    fn of<'a>(
        &'a self,
        workspace: Option<&'a str>,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<HashMap<String, Creator>, StoreError>> {
        Box::pin(async move {
            let mut found = HashMap::new();
            // A page of a list is at most 100 ids: one query with a placeholder each.
            for chunk in ids.chunks(100) {
                let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
                let sql = format!(
                    "SELECT object_id, username, via, created_at FROM creators WHERE workspace = $1 AND object_id IN ({})",
                    marks.join(", ")
                );
                let mut query = sqlx::query(&sql).bind(workspace_key(workspace));
                for id in chunk {
                    query = query.bind(id);
                }
                for row in query.fetch_all(&self.pool).await? {
                    let creator = Creator {
                        username: row.try_get("username")?,
                        via: row.try_get("via")?,
                        at: row.try_get("created_at")?,
                    };
                    found.insert(row.try_get("object_id")?, creator);
                }
            }
            Ok(found)
        })
    }

    fn made_by<'a>(
        &'a self,
        workspace: Option<&'a str>,
        (kind, user_id): (Kind, i64),
        after: Option<(&'a str, &'a str)>,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, StoreError>> {
        Box::pin(async move {
            // Past the cursor: older, or as old with a smaller id (the order is (time, id) downward).
            // No sentinel stands in for "no cursor": under a database's locale collation a
            // character that sorts after digits in bytes may sort before them.
            let past = match after {
                Some(_) => "AND (created_at < $5 OR (created_at = $5 AND object_id < $6))",
                None => "",
            };
            let sql = format!(
                "SELECT object_id, created_at FROM creators
                 WHERE workspace = $1 AND kind = $2 AND user_id = $3 {past}
                 ORDER BY created_at DESC, object_id DESC LIMIT $4"
            );
            let mut query = sqlx::query(&sql)
                .bind(workspace_key(workspace))
                .bind(kind.as_str())
                .bind(user_id)
                .bind(i64::from(limit));
            if let Some((at, id)) = after {
                query = query.bind(at).bind(id);
            }
            let rows = query.fetch_all(&self.pool).await?;
            Ok(rows
                .iter()
                .map(|row| Ok((row.try_get("object_id")?, row.try_get("created_at")?)))
                .collect::<Result<_, sqlx::Error>>()?)
        })
    }
}

/// A cursor of [`CreatorRows::made_by`]'s pages: the last row's time and id.
fn cursor(at: &str, id: &str) -> String {
    format!("{at} {id}")
}

/// The time and id a cursor holds, when it is one.
fn parse_cursor(page: &str) -> Option<(&str, &str)> {
    page.split_once(' ').filter(|(at, id)| !at.is_empty() && domain::upstream::is_id(id))
}

/// A workspace's records, as the console's server functions read them.
pub struct Creators {
    pub(super) rows: Arc<dyn CreatorRows>,
    pub(super) workspace: Option<String>,
}

fn unreadable(error: StoreError) -> AppError {
    AppError::internal_logged(
        error,
        "Who made what could not be read. Try again; if it keeps failing, see the server's log.",
    )
}

impl CreatorStore for Creators {
    fn of(&self, ids: Vec<String>) -> BoxFuture<'_, Result<HashMap<String, Creator>, AppError>> {
        Box::pin(async move { self.rows.of(self.workspace.as_deref(), &ids).await.map_err(unreadable) })
    }

    fn made_by(
        &self,
        kind: Kind,
        user_id: i64,
        page: Option<String>,
        limit: u32,
    ) -> BoxFuture<'_, Result<Made, AppError>> {
        Box::pin(async move {
            let after = match page.as_deref().filter(|p| !p.is_empty()) {
                Some(page) => Some(parse_cursor(page).ok_or_else(|| {
                    AppError::bad_input(
                        "page",
                        "This page's cursor is not one of this list's: start from its first page.",
                    )
                })?),
                None => None,
            };
            let rows = self
                .rows
                .made_by(self.workspace.as_deref(), (kind, user_id), after, limit)
                .await
                .map_err(unreadable)?;
            let next = (rows.len() == limit as usize).then(|| rows.last().map(|(id, at)| cursor(at, id))).flatten();
            Ok(Made { ids: rows.into_iter().map(|(id, _)| id).collect(), next })
        })
    }
}

#[cfg(test)]
pub mod suite {
    use super::*;

    fn made<'a>(
        workspace: Option<&'a str>,
        kind: Kind,
        id: &'a str,
        user: (i64, &'a str),
        at: &'a str,
    ) -> NewCreator<'a> {
        NewCreator { workspace, kind, object_id: id, user_id: user.0, username: user.1, via: None, at }
    }

    /// The first record of a thing stands; records are found by id within their workspace.
    pub async fn the_first_record_stands_in_its_workspace(rows: &dyn CreatorRows) {
        let ada = (1, "ada");
        rows.record(&made(None, Kind::Agent, "agent_1", ada, "2026-11-29T10:00:00Z")).await.unwrap();
        let mut by_token = made(None, Kind::Agent, "agent_1", (2, "grace"), "2026-11-29T11:00:00Z");
        by_token.via = Some("token CI (tok_1)");
        rows.record(&by_token).await.unwrap();
        let mut via = made(Some("staging"), Kind::Session, "sesn_1", (2, "grace"), "2026-11-29T11:00:00Z");
        via.via = Some("token CI (tok_1)");
        rows.record(&via).await.unwrap();

        let ids = ["agent_1".to_owned(), "sesn_1".to_owned(), "agent_9".to_owned()];
        let found = rows.of(None, &ids).await.unwrap();
        assert_eq!(found.len(), 1, "the other is another workspace's");
        assert_eq!(found["agent_1"], Creator { username: "ada".into(), via: None, at: "2026-11-29T10:00:00Z".into() });
        let staging = rows.of(Some("staging"), &ids).await.unwrap();
        assert_eq!(staging["sesn_1"].via.as_deref(), Some("token CI (tok_1)"));
        assert!(rows.of(None, &[]).await.unwrap().is_empty());
    }

    /// A person's records of a kind page newest first, past a cursor, however many share a time.
    pub async fn what_a_person_made_pages_newest_first(rows: &dyn CreatorRows) {
        for (id, at) in [
            ("agent_a", "2026-11-29T10:00:00Z"),
            ("agent_b", "2026-11-29T11:00:00Z"),
            ("agent_c", "2026-11-29T11:00:00Z"),
            ("agent_d", "2026-11-29T12:00:00Z"),
        ] {
            rows.record(&made(None, Kind::Agent, id, (1, "ada"), at)).await.unwrap();
        }
        rows.record(&made(None, Kind::Agent, "agent_x", (2, "grace"), "2026-11-29T13:00:00Z")).await.unwrap();
        rows.record(&made(None, Kind::Session, "sesn_x", (1, "ada"), "2026-11-29T13:00:00Z")).await.unwrap();
        let page = |after| rows.made_by(None, (Kind::Agent, 1), after, 2);
        let first = page(None).await.unwrap();
        assert_eq!(
            first,
            [
                ("agent_d".to_owned(), "2026-11-29T12:00:00Z".to_owned()),
                ("agent_c".into(), "2026-11-29T11:00:00Z".into())
            ]
        );
        let second = page(Some(("2026-11-29T11:00:00Z", "agent_c"))).await.unwrap();
        assert_eq!(second.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["agent_b", "agent_a"]);
        let last = page(Some(("2026-11-29T10:00:00Z", "agent_a"))).await.unwrap();
        assert!(last.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_and_postgres_keep_who_made_what() {
        for check in 0..2 {
            for db in crate::support::db::testing::databases("creators").await {
                let rows = SqlCreatorRows::new(db.pool.clone());
                match check {
                    0 => suite::the_first_record_stands_in_its_workspace(&rows).await,
                    _ => suite::what_a_person_made_pages_newest_first(&rows).await,
                }
            }
        }
    }

    /// A PostgreSQL database whose text sorts by a locale's rules (ICU's en-US, as many clusters
    /// are made), where punctuation does not sort after digits as it does in bytes: a person's
    /// records still page newest first from the start.
    #[tokio::test]
    async fn a_locale_collation_pages_the_same() {
        use sqlx::Executor as _;
        crate::support::db::install_drivers();
        let cluster = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL").expect("the stores are tested on PostgreSQL too");
        let database = format!("creators_icu_{}", crate::support::random_hex::<6>());
        let admin = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&cluster).await.unwrap();
        let create = format!(
            "CREATE DATABASE \"{database}\" TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        );
        admin.execute(create.as_str()).await.expect("a database with ICU's en-US collation");
        admin.close().await;
        let mut url = reqwest::Url::parse(&cluster).unwrap();
        url.set_path(&database);
        let pool = crate::support::db::open_postgres(url.as_str(), None, 2).await.expect("it migrates");
        suite::what_a_person_made_pages_newest_first(&SqlCreatorRows::new(pool)).await;
    }

    #[test]
    fn a_cursor_is_read_back_and_a_made_up_one_is_not() {
        let page = cursor("2026-11-29T10:00:00Z", "agent_1");
        assert_eq!(parse_cursor(&page), Some(("2026-11-29T10:00:00Z", "agent_1")));
        assert_eq!(parse_cursor("2026-11-29T10:00:00Z"), None);
        assert_eq!(parse_cursor("x ../../etc"), None);
    }
}
