//! Imported sessions' rows: [`ImportRows`], the seam another database's store goes behind, and
//! [`SqlImportRows`], the `imports` and `import_pages` tables on SQLite or PostgreSQL. A row holds
//! the export's checked summary and its document (compact JSON) without its session's events,
//! which are kept in pages ([`EventPage`]) a stream reads one at a time. [`suite`] is what every
//! implementation must do.

use domain::{imports::ImportRow, upstream::client::BoxFuture};
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

/// A page of an import's session events: the number (from 1) of its first, how many it holds,
/// and their JSON array, compact.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    pub first: u64,
    pub count: u64,
    pub events: String,
}

pub trait ImportRows: Send + Sync + 'static {
    /// Keeps `document` (the export with its session's events taken out) and those events in
    /// `pages`, `checked` at import, imported by `username` at `at`, in one transaction; answers
    /// its number.
    fn add<'a>(
        &'a self,
        document: String,
        pages: Vec<EventPage>,
        checked: &'a Checked,
        username: &'a str,
        at: &'a str,
    ) -> BoxFuture<'a, Result<i64, StoreError>>;
    /// The document of import `number` (`None`: no such import).
    fn document(&self, number: i64) -> BoxFuture<'_, Result<Option<String>, StoreError>>;
    /// Whether import `number` has its events in pages (one imported before pages has not);
    /// `None` when there is no such import.
    fn paged(&self, number: i64) -> BoxFuture<'_, Result<Option<bool>, StoreError>>;
    /// Moves an import of before pages to pages: its `pages`, and its `document` without them.
    /// Two at once write the same, once.
    fn repage(&self, number: i64, document: String, pages: Vec<EventPage>) -> BoxFuture<'_, Result<(), StoreError>>;
    /// At most `limit` pages of import `number` in order, from the one holding event `from` (its
    /// number, from 1) on.
    fn pages(&self, number: i64, from: u64, limit: u64) -> BoxFuture<'_, Result<Vec<EventPage>, StoreError>>;
    /// The last `limit` pages of import `number`, in order.
    fn last_pages(&self, number: i64, limit: u64) -> BoxFuture<'_, Result<Vec<EventPage>, StoreError>>;
    /// The newest imports, at most `limit`.
    fn list(&self, limit: i64) -> BoxFuture<'_, Result<Vec<ImportRow>, StoreError>>;
    fn get(&self, number: i64) -> BoxFuture<'_, Result<Option<ImportRow>, StoreError>>;
    /// Removes import `number` with its pages; false when there was none.
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

const PAGE_COLUMNS: &str = "first_event, event_count, events";

fn page_of(row: &sqlx::any::AnyRow) -> Result<EventPage, sqlx::Error> {
    Ok(EventPage {
        first: row.try_get::<i64, _>("first_event")?.max(0) as u64,
        count: row.try_get::<i64, _>("event_count")?.max(0) as u64,
        events: row.try_get("events")?,
    })
}

async fn insert_pages(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    number: i64,
    pages: &[EventPage],
) -> Result<(), sqlx::Error> {
    for page in pages {
        sqlx::query(
            "INSERT INTO import_pages (import_id, first_event, event_count, events) VALUES ($1, $2, $3, $4)
             ON CONFLICT (import_id, first_event) DO NOTHING",
        )
        .bind(number)
        .bind(page.first as i64)
        .bind(page.count as i64)
        .bind(&page.events)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl ImportRows for SqlImportRows {
    fn add<'a>(
        &'a self,
        document: String,
        pages: Vec<EventPage>,
        checked: &'a Checked,
        username: &'a str,
        at: &'a str,
    ) -> BoxFuture<'a, Result<i64, StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
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
            .fetch_one(&mut *tx)
            .await?;
            let number: i64 = row.try_get(0)?;
            insert_pages(&mut tx, number, &pages).await?;
            tx.commit().await?;
            Ok(number)
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

    fn paged(&self, number: i64) -> BoxFuture<'_, Result<Option<bool>, StoreError>> {
        Box::pin(async move {
            // Paged: it has pages, or it has no session events to page.
            let row = sqlx::query(
                "SELECT events, EXISTS (SELECT 1 FROM import_pages WHERE import_id = $1) AS paged FROM imports WHERE id = $1",
            )
            .bind(number)
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let events: i64 = row.try_get("events")?;
            let paged: bool =
                row.try_get::<bool, _>("paged").or_else(|_| row.try_get::<i64, _>("paged").map(|n| n != 0))?;
            Ok(Some(paged || events == 0))
        })
    }

    fn repage(&self, number: i64, document: String, pages: Vec<EventPage>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            insert_pages(&mut tx, number, &pages).await?;
            sqlx::query("UPDATE imports SET document = $1 WHERE id = $2")
                .bind(document)
                .bind(number)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn pages(&self, number: i64, from: u64, limit: u64) -> BoxFuture<'_, Result<Vec<EventPage>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(&format!(
                "SELECT {PAGE_COLUMNS} FROM import_pages WHERE import_id = $1 AND first_event + event_count > $2
                 ORDER BY first_event LIMIT $3"
            ))
            .bind(number)
            .bind(from as i64)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
            Ok(rows.iter().map(page_of).collect::<Result<_, _>>()?)
        })
    }

    fn last_pages(&self, number: i64, limit: u64) -> BoxFuture<'_, Result<Vec<EventPage>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(&format!(
                "SELECT {PAGE_COLUMNS} FROM import_pages WHERE import_id = $1 ORDER BY first_event DESC LIMIT $2"
            ))
            .bind(number)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
            let mut pages: Vec<EventPage> = rows.iter().map(page_of).collect::<Result<_, _>>()?;
            pages.reverse();
            Ok(pages)
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
            let mut tx = self.pool.begin().await?;
            sqlx::query("DELETE FROM import_pages WHERE import_id = $1").bind(number).execute(&mut *tx).await?;
            let done = sqlx::query("DELETE FROM imports WHERE id = $1").bind(number).execute(&mut *tx).await?;
            tx.commit().await?;
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

    fn page(first: u64, events: &[u64]) -> EventPage {
        let text: Vec<String> = events.iter().map(u64::to_string).collect();
        EventPage { first, count: events.len() as u64, events: format!("[{}]", text.join(",")) }
    }

    /// An import keeps its document, its pages and its summary; pages are read from the one
    /// holding an event on, and the last ones; the newest import lists first; a deleted one is
    /// gone with its pages, and deleting it again finds nothing.
    pub async fn an_import_keeps_its_document_pages_and_summary(rows: &dyn ImportRows) {
        let pages = vec![page(1, &[1, 2, 3]), page(4, &[4, 5]), page(6, &[6])];
        let first = rows
            .add("{\"events\":[]}".to_owned(), pages.clone(), &checked("First"), "ann", "2026-11-26T10:00:00Z")
            .await
            .unwrap();
        let second = rows
            .add("{\"events\":[]}".to_owned(), vec![page(1, &[9])], &checked("Second"), "bob", "2026-11-26T11:00:00Z")
            .await
            .unwrap();
        assert_ne!(first, second);
        assert_eq!(rows.document(first).await.unwrap().as_deref(), Some("{\"events\":[]}"));
        assert_eq!(rows.paged(first).await.unwrap(), Some(true));
        assert_eq!(rows.pages(first, 1, 10).await.unwrap(), pages);
        assert_eq!(rows.pages(first, 5, 1).await.unwrap(), [page(4, &[4, 5])], "the page holding event 5");
        assert_eq!(rows.pages(first, 6, 10).await.unwrap(), [page(6, &[6])]);
        assert!(rows.pages(first, 7, 10).await.unwrap().is_empty());
        assert_eq!(rows.last_pages(first, 2).await.unwrap(), [page(4, &[4, 5]), page(6, &[6])]);
        assert_eq!(rows.pages(second, 1, 10).await.unwrap(), [page(1, &[9])], "each import its own pages");
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
        assert!(rows.pages(first, 1, 10).await.unwrap().is_empty(), "its pages went with it");
        assert_eq!(rows.paged(first).await.unwrap(), None);
    }

    /// An import of before pages (its events in its document) is moved to pages once, however
    /// many readers move it at once.
    pub async fn an_import_of_before_pages_is_moved_to_pages_once(rows: &dyn ImportRows) {
        let number = rows
            .add("{\"events\":[1,2]}".to_owned(), Vec::new(), &checked("Old"), "ann", "2026-11-26T10:00:00Z")
            .await
            .unwrap();
        assert_eq!(rows.paged(number).await.unwrap(), Some(false), "12 events and no page");
        let pages = vec![page(1, &[1, 2])];
        rows.repage(number, "{\"events\":[]}".to_owned(), pages.clone()).await.unwrap();
        rows.repage(number, "{\"events\":[]}".to_owned(), pages.clone()).await.unwrap();
        assert_eq!(rows.paged(number).await.unwrap(), Some(true));
        assert_eq!(rows.pages(number, 1, 10).await.unwrap(), pages);
        assert_eq!(rows.document(number).await.unwrap().as_deref(), Some("{\"events\":[]}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_and_postgres_keep_imports() {
        for db in crate::support::db::testing::databases("imports").await {
            let rows = SqlImportRows::new(db.pool.clone());
            suite::an_import_keeps_its_document_pages_and_summary(&rows).await;
            suite::an_import_of_before_pages_is_moved_to_pages_once(&rows).await;
        }
    }
}
