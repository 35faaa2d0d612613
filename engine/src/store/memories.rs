//! The memories a session's sandbox mounts: which stores it attached, and each store's memories
//! as they are written out into its folder.

use super::Store;
use crate::ApiResult;

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
}
