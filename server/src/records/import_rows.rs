//! Imported sessions' rows: [`ImportRows`], the seam another database's store goes behind, and
//! [`SqlImportRows`], SQLite's `imports` table. A row holds the export's checked summary and
//! its document (compact JSON). [`suite`] is what every implementation must do.

use app::{api::imports::ImportRow, upstream::client::BoxFuture};
use sqlx::{AnyPool, Row};

use crate::support::StoreError;

/// An export, checked: what the store keeps of it besides the document.
#[derive(Debug, PartialEq)]
pub struct Checked {
    pub title: String,
    pub agent: String,
    pub source_session_id: String,
    pub digest: String,
    pub events: usize,
    pub threads: usize,
}

pub trait ImportRows: Send + Sync + 'static {
    /// Keeps `document`, `checked` at import, imported by `username` at `at`; answers its number.
    fn add<'a>(
        &'a self,
        document: String,
        checked: &'a Checked,
        username: &'a str,
        at: &'a str,
    ) -> BoxFuture<'a, Result<i64, StoreError>>;
    /// The document of import `number`.
    fn document(&self, number: i64) -> BoxFuture<'_, Result<Option<String>, StoreError>>;
    /// The newest imports, at most `limit`.
    fn list(&self, limit: i64) -> BoxFuture<'_, Result<Vec<ImportRow>, StoreError>>;
    fn get(&self, number: i64) -> BoxFuture<'_, Result<Option<ImportRow>, StoreError>>;
    /// Removes import `number`; false when there was none.
    fn delete(&self, number: i64) -> BoxFuture<'_, Result<bool, StoreError>>;
}

pub struct SqlImportRows {
    pool: AnyPool,
}

impl SqlImportRows {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }
}

const COLUMNS: &str = "id, title, agent, source_session_id, digest, events, threads, imported_by, imported_at";

fn row_of(row: &sqlx::any::AnyRow) -> Result<ImportRow, sqlx::Error> {
    Ok(ImportRow {
        id: format!("import_{}", row.try_get::<i64, _>("id")?),
        title: row.try_get("title")?,
        agent: row.try_get("agent")?,
        source_session_id: row.try_get("source_session_id")?,
        digest: row.try_get("digest")?,
        events: row.try_get::<i64, _>("events")?.max(0) as u64,
        threads: row.try_get::<i64, _>("threads")?.max(0) as u64,
        imported_by: row.try_get("imported_by")?,
        imported_at: row.try_get("imported_at")?,
    })
}

impl ImportRows for SqlImportRows {
    fn add<'a>(
        &'a self,
        document: String,
        checked: &'a Checked,
        username: &'a str,
        at: &'a str,
    ) -> BoxFuture<'a, Result<i64, StoreError>> {
        Box::pin(async move {
            let row = sqlx::query(
                "INSERT INTO imports (title, agent, source_session_id, digest, events, threads, imported_by, imported_at, document)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(&checked.title)
            .bind(&checked.agent)
            .bind(&checked.source_session_id)
            .bind(&checked.digest)
            .bind(checked.events as i64)
            .bind(checked.threads as i64)
            .bind(username)
            .bind(at)
            .bind(document)
            .fetch_one(&self.pool)
            .await?;
            Ok(row.try_get(0)?)
        })
    }

    fn document(&self, number: i64) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        Box::pin(async move {
            Ok(sqlx::query_scalar("SELECT document FROM imports WHERE id = $1")
                .bind(number)
                .fetch_optional(&self.pool)
                .await?)
        })
    }

    fn list(&self, limit: i64) -> BoxFuture<'_, Result<Vec<ImportRow>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM imports ORDER BY id DESC LIMIT $1"))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
            Ok(rows.iter().map(row_of).collect::<Result<_, _>>()?)
        })
    }

    fn get(&self, number: i64) -> BoxFuture<'_, Result<Option<ImportRow>, StoreError>> {
        Box::pin(async move {
            let row = sqlx::query(&format!("SELECT {COLUMNS} FROM imports WHERE id = $1"))
                .bind(number)
                .fetch_optional(&self.pool)
                .await?;
            Ok(row.as_ref().map(row_of).transpose()?)
        })
    }

    fn delete(&self, number: i64) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let done = sqlx::query("DELETE FROM imports WHERE id = $1").bind(number).execute(&self.pool).await?;
            Ok(done.rows_affected() > 0)
        })
    }
}

/// What every [`ImportRows`] must do, whatever keeps it: each check takes a fresh, empty store.
#[cfg(test)]
pub mod suite {
    use super::*;

    fn checked(title: &str) -> Checked {
        Checked {
            title: title.to_owned(),
            agent: "Researcher".to_owned(),
            source_session_id: "sesn_1".to_owned(),
            digest: "sha256:00".to_owned(),
            events: 12,
            threads: 1,
        }
    }

    /// An import keeps its document whole and its summary; the newest lists first; a deleted one
    /// is gone, and deleting it again finds nothing.
    pub async fn an_import_keeps_its_document_and_summary(rows: &dyn ImportRows) {
        let first =
            rows.add("{\"events\":[1]}".to_owned(), &checked("First"), "ann", "2026-11-26T10:00:00Z").await.unwrap();
        let second =
            rows.add("{\"events\":[2]}".to_owned(), &checked("Second"), "bob", "2026-11-26T11:00:00Z").await.unwrap();
        assert_ne!(first, second);
        assert_eq!(rows.document(first).await.unwrap().as_deref(), Some("{\"events\":[1]}"));
        let got = rows.get(second).await.unwrap().unwrap();
        assert_eq!(
            (got.id, got.title.as_str(), got.events, got.threads, got.imported_by.as_str()),
            (format!("import_{second}"), "Second", 12, 1, "bob")
        );
        let titles: Vec<String> = rows.list(10).await.unwrap().into_iter().map(|r| r.title).collect();
        assert_eq!(titles, ["Second", "First"]);
        assert_eq!(rows.list(1).await.unwrap().len(), 1);
        assert!(rows.delete(first).await.unwrap());
        assert!(!rows.delete(first).await.unwrap());
        assert!(rows.get(first).await.unwrap().is_none());
        assert!(rows.document(first).await.unwrap().is_none());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_and_postgres_keep_imports() {
        for db in crate::support::db::testing::databases("imports").await {
            let rows = SqlImportRows::new(db.pool.clone());
            suite::an_import_keeps_its_document_and_summary(&rows).await;
        }
    }
}
