//! Files' rows: each file's metadata as the API returns it, and for a session's outputs, which
//! path under its outputs folder the file is and when it was last changed there.

use serde_json::Value;

use super::Store;
use crate::ApiResult;

/// An output of a session the engine has registered as a file.
#[derive(sqlx::FromRow)]
pub struct Output {
    /// Its path under the session's outputs folder.
    pub output_path: String,
    pub id: String,
    /// When the file there was last changed (microseconds), when known.
    pub output_mtime: Option<i64>,
}

/// Where a new output file comes from.
pub struct NewOutput<'a> {
    pub session_id: &'a str,
    /// Its path under the session's outputs folder.
    pub path: &'a str,
    pub mtime: i64,
}

impl Store {
    pub async fn delete_file(&self, id: &str) -> ApiResult<()> {
        sqlx::query("DELETE FROM files WHERE id = ?").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// A file's metadata (JSON), if there is one by that id.
    pub async fn file_body(&self, id: &str) -> ApiResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT body FROM files WHERE id = ?").bind(id).fetch_optional(&self.pool).await?)
    }

    /// The session's outputs registered so far.
    pub async fn session_outputs(&self, session_id: &str) -> ApiResult<Vec<Output>> {
        Ok(sqlx::query_as(
            "SELECT output_path, id, output_mtime FROM files WHERE scope_id = ? AND output_path IS NOT NULL",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// An output that changed: its new size and time.
    pub async fn output_changed(&self, id: &str, size_bytes: i64, mtime: i64) -> ApiResult<()> {
        sqlx::query("UPDATE files SET body = json_set(body, '$.size_bytes', ?), output_mtime = ? WHERE id = ?")
            .bind(size_bytes)
            .bind(mtime)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Registers a new output of a session as file `id`.
    pub async fn insert_output(
        &self,
        id: &str,
        metadata: &Value,
        created_us: i64,
        output: NewOutput<'_>,
    ) -> ApiResult<()> {
        sqlx::query(
            "INSERT INTO files (id, body, created_us, scope_id, output_path, output_mtime) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(metadata.to_string())
        .bind(created_us)
        .bind(output.session_id)
        .bind(output.path)
        .bind(output.mtime)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
