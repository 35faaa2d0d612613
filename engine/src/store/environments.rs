//! Environments' rows: each one's object as the API returns it, and whether it is archived.

use serde_json::Value;

use super::Store;
use crate::ApiResult;

impl Store {
    /// Replaces an environment's object; with `archive`, marks it archived too.
    pub async fn write_environment(&self, id: &str, body: &Value, archive: bool) -> ApiResult<()> {
        sqlx::query("UPDATE environments SET body = ?, archived = archived OR ? WHERE id = ?")
            .bind(body.to_string())
            .bind(archive)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// How many sessions that are not archived run in the environment.
    pub async fn sessions_using_environment(&self, id: &str) -> ApiResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE environment_id = ? AND archived = 0")
            .bind(id)
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn delete_environment(&self, id: &str) -> ApiResult<()> {
        sqlx::query("DELETE FROM environments WHERE id = ?").bind(id).execute(&self.pool).await?;
        Ok(())
    }
}
