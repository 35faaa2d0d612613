//! Memory stores' rows: the stores, their memories and every memory's versions; the memories a
//! session's sandbox mounts (which stores it attached, each store's memories as they are written
//! out into its folder). A change and its version are written in the caller's transaction (`tx`),
//! and a change applies only while the memory is still the version it was worked out from.

use sqlx::{Sqlite, Transaction, sqlite::SqliteRow};

use super::Store;
use crate::ApiResult;

/// A memory's columns, its content left out (`NULL`).
const MEMORY_BASIC: &str =
    "id, store_id, path, NULL AS content, content_sha256, size_bytes, version_id, created_at, updated_at";
/// A memory's columns with its content.
const MEMORY_FULL: &str = "id, store_id, path, content, content_sha256, size_bytes, version_id, created_at, updated_at";
/// A version's columns (with `seq`, which its lists page by), its content left out (`NULL`).
pub const VERSION_BASIC: &str = "seq, id, store_id, memory_id, operation, path, NULL AS content, content_sha256, \
     size_bytes, created_by, redacted_at, redacted_by, created_at";
/// A version's columns with its content.
pub const VERSION_FULL: &str = "seq, id, store_id, memory_id, operation, path, content, content_sha256, size_bytes, \
     created_by, redacted_at, redacted_by, created_at";

/// A memory's row; `content` is `None` when it was not asked for.
#[derive(sqlx::FromRow)]
pub struct MemoryRow {
    pub id: String,
    pub store_id: String,
    pub path: String,
    pub content: Option<String>,
    pub content_sha256: String,
    pub size_bytes: i64,
    pub version_id: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A memory as a change finds it.
#[derive(sqlx::FromRow)]
pub struct CurrentMemory {
    pub path: String,
    pub content_sha256: String,
    pub version_id: String,
    pub content: String,
}

/// A version's row; `content` is `None` when it was not asked for or was redacted, and the path,
/// hash and size are `None` once redacted (and for a deletion's content).
#[derive(sqlx::FromRow)]
pub struct VersionRow {
    pub id: String,
    pub store_id: String,
    pub memory_id: String,
    pub operation: String,
    pub path: Option<String>,
    pub content: Option<String>,
    pub content_sha256: Option<String>,
    pub size_bytes: Option<i64>,
    /// Who wrote it (JSON).
    pub created_by: Option<String>,
    pub redacted_at: Option<String>,
    /// Who redacted it (JSON).
    pub redacted_by: Option<String>,
    pub created_at: String,
}

impl VersionRow {
    /// The row from a list's page (selected as [`VERSION_BASIC`] or [`VERSION_FULL`]).
    pub fn read(row: &SqliteRow) -> ApiResult<VersionRow> {
        Ok(<VersionRow as sqlx::FromRow<SqliteRow>>::from_row(row)?)
    }
}

/// A memory to create, with the hash and size of its content.
pub struct NewMemory<'a> {
    pub id: &'a str,
    pub store_id: &'a str,
    pub path: &'a str,
    pub content: &'a str,
    pub content_sha256: &'a str,
    pub version_id: &'a str,
    /// When it is created (RFC 3339).
    pub at: &'a str,
}

/// A memory's new path and content, the version they make, and the version they replace.
pub struct MemoryWrite<'a> {
    pub id: &'a str,
    pub path: &'a str,
    pub content: &'a str,
    pub content_sha256: &'a str,
    pub version_id: &'a str,
    /// The version the change was worked out from: it applies only if the memory is still that.
    pub replaces: &'a str,
    /// When it is written (RFC 3339).
    pub at: &'a str,
}

/// What became of a change of a memory.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    Done,
    /// The memory is no longer the version the change was worked out from (or is gone).
    Stale,
    /// Another memory of the store is at the new path.
    PathTaken,
}

/// A version's row to write: who wrote it as JSON and which of a session or the API's key it was.
pub struct NewVersionRow<'a> {
    pub id: &'a str,
    pub store_id: &'a str,
    pub memory_id: &'a str,
    pub operation: &'a str,
    pub path: Option<&'a str>,
    /// `None` for a deletion.
    pub content: Option<&'a str>,
    pub content_sha256: Option<&'a str>,
    pub created_by: &'a str,
    pub session_id: Option<&'a str>,
    pub api_key_id: Option<&'a str>,
    /// When it is written: RFC 3339 and microseconds since the epoch.
    pub at: &'a str,
    pub at_us: i64,
}

/// A memory as its store's mounted folder holds it.
#[derive(sqlx::FromRow)]
pub struct MountedMemory {
    pub id: String,
    pub path: String,
    pub content: String,
    pub content_sha256: String,
}

impl Store {
    /// The JSON of each memory store the session attached, in the order it attached them.
    pub async fn memory_store_resources(&self, session_id: &str) -> ApiResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT body FROM session_resources WHERE session_id = ? AND json_extract(body, '$.type') = 'memory_store' ORDER BY seq",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every memory of store `store_id`, by path.
    pub async fn memories_of(&self, store_id: &str) -> ApiResult<Vec<MountedMemory>> {
        Ok(sqlx::query_as("SELECT id, path, content, content_sha256 FROM memories WHERE store_id = ? ORDER BY path")
            .bind(store_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The id of the memory at `path` in store `store_id` (it must be there).
    pub async fn memory_at(&self, store_id: &str, path: &str) -> ApiResult<String> {
        Ok(sqlx::query_scalar("SELECT id FROM memories WHERE store_id = ? AND path = ?")
            .bind(store_id)
            .bind(path)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Writes a store's JSON; with `archive`, only if it is not archived yet, which it then is.
    /// Says whether a row changed.
    pub async fn update_memory_store(&self, id: &str, body: &str, archive: bool) -> ApiResult<bool> {
        let sql = if archive {
            "UPDATE memory_stores SET body = ?, archived = 1 WHERE id = ? AND archived = 0"
        } else {
            "UPDATE memory_stores SET body = ? WHERE id = ?"
        };
        let done = sqlx::query(sql).bind(body).bind(id).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes a store with its memories and versions; false when there was none.
    pub async fn delete_memory_store(&self, id: &str) -> ApiResult<bool> {
        let done = sqlx::query("DELETE FROM memory_stores WHERE id = ?").bind(id).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    /// A memory of the store, with its content when `full`; `None` when there is no such memory.
    pub async fn memory_row(&self, store_id: &str, id: &str, full: bool) -> ApiResult<Option<MemoryRow>> {
        let columns = if full { MEMORY_FULL } else { MEMORY_BASIC };
        Ok(sqlx::query_as(&format!("SELECT {columns} FROM memories WHERE id = ? AND store_id = ?"))
            .bind(id)
            .bind(store_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// A memory as a change finds it; `None` when there is no such memory.
    pub async fn current_memory(&self, store_id: &str, id: &str) -> ApiResult<Option<CurrentMemory>> {
        Ok(sqlx::query_as(
            "SELECT path, content_sha256, version_id, content FROM memories WHERE id = ? AND store_id = ?",
        )
        .bind(id)
        .bind(store_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Up to `limit` memories of the store by path, from `from` (itself too when `inclusive`) to
    /// before `end`; with their content when `full`. Each seeks the (store, path) index.
    pub async fn memories_from(
        &self,
        store_id: &str,
        (from, inclusive): (&str, bool),
        end: &str,
        limit: i64,
        full: bool,
    ) -> ApiResult<Vec<MemoryRow>> {
        let columns = if full { MEMORY_FULL } else { MEMORY_BASIC };
        let op = if inclusive { ">=" } else { ">" };
        Ok(sqlx::query_as(&format!(
            "SELECT {columns} FROM memories WHERE store_id = ? AND path {op} ? AND path < ? ORDER BY path LIMIT ?"
        ))
        .bind(store_id)
        .bind(from)
        .bind(end)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Whether the store has a memory from `from` (itself too when `inclusive`) to before `end`.
    pub async fn any_memory_from(&self, store_id: &str, (from, inclusive): (&str, bool), end: &str) -> ApiResult<bool> {
        let op = if inclusive { ">=" } else { ">" };
        let found: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT 1 FROM memories WHERE store_id = ? AND path {op} ? AND path < ? LIMIT 1"
        ))
        .bind(store_id)
        .bind(from)
        .bind(end)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// A version of the store, with its content when `full`; `None` when there is no such version.
    pub async fn version_row(&self, store_id: &str, id: &str, full: bool) -> ApiResult<Option<VersionRow>> {
        let columns = if full { VERSION_FULL } else { VERSION_BASIC };
        Ok(sqlx::query_as(&format!("SELECT {columns} FROM memory_versions WHERE id = ? AND store_id = ?"))
            .bind(id)
            .bind(store_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The memory whose current content version `version_id` holds, if any.
    pub async fn memory_holding(&self, version_id: &str) -> ApiResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT id FROM memories WHERE version_id = ?")
            .bind(version_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Redacts a version at `at` by `by` (JSON): its path, content, hash and size are gone for
    /// good. A version redacted already keeps its first redaction.
    pub async fn redact_version(&self, id: &str, at: &str, by: &str) -> ApiResult<()> {
        sqlx::query(
            "UPDATE memory_versions SET path = NULL, content = NULL, content_sha256 = NULL, size_bytes = NULL, \
             redacted_at = ?, redacted_by = ? WHERE id = ? AND redacted_at IS NULL",
        )
        .bind(at)
        .bind(by)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Creates a memory in `tx`; false when another memory of the store is at its path.
pub async fn insert_memory(tx: &mut Transaction<'_, Sqlite>, memory: NewMemory<'_>) -> ApiResult<bool> {
    let done = sqlx::query(
        "INSERT INTO memories (id, store_id, path, content, content_sha256, size_bytes, version_id, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (store_id, path) DO NOTHING",
    )
    .bind(memory.id)
    .bind(memory.store_id)
    .bind(memory.path)
    .bind(memory.content)
    .bind(memory.content_sha256)
    .bind(memory.content.len() as i64)
    .bind(memory.version_id)
    .bind(memory.at)
    .bind(memory.at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Writes a memory's new path and content in `tx`, if it is still the version the change replaces.
pub async fn write_memory(tx: &mut Transaction<'_, Sqlite>, write: MemoryWrite<'_>) -> ApiResult<Written> {
    let done = sqlx::query(
        "UPDATE memories SET path = ?, content = ?, content_sha256 = ?, size_bytes = ?, version_id = ?, \
         updated_at = ? WHERE id = ? AND version_id = ?",
    )
    .bind(write.path)
    .bind(write.content)
    .bind(write.content_sha256)
    .bind(write.content.len() as i64)
    .bind(write.version_id)
    .bind(write.at)
    .bind(write.id)
    .bind(write.replaces)
    .execute(&mut **tx)
    .await;
    match done {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(Written::PathTaken),
        Err(e) => Err(e.into()),
        Ok(done) if done.rows_affected() == 0 => Ok(Written::Stale),
        Ok(_) => Ok(Written::Done),
    }
}

/// Deletes a memory in `tx`, if it is still version `replaces`; says whether it did.
pub async fn delete_memory(tx: &mut Transaction<'_, Sqlite>, id: &str, replaces: &str) -> ApiResult<bool> {
    let done = sqlx::query("DELETE FROM memories WHERE id = ? AND version_id = ?")
        .bind(id)
        .bind(replaces)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Writes a version in `tx`.
pub async fn insert_version(tx: &mut Transaction<'_, Sqlite>, version: NewVersionRow<'_>) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO memory_versions (id, store_id, memory_id, operation, path, content, content_sha256, size_bytes, \
         created_by, session_id, api_key_id, created_at, created_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(version.id)
    .bind(version.store_id)
    .bind(version.memory_id)
    .bind(version.operation)
    .bind(version.path)
    .bind(version.content)
    .bind(version.content_sha256)
    .bind(version.content.map(|c| c.len() as i64))
    .bind(version.created_by)
    .bind(version.session_id)
    .bind(version.api_key_id)
    .bind(version.at)
    .bind(version.at_us)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
