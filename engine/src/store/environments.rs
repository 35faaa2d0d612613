//! Environments' rows: each one's object as the API returns it, and whether it is archived.

use serde_json::Value;

use super::Store;
use crate::ApiResult;

impl Store {
    pub async fn insert_environment(&self, id: &str, body: &Value, created_us: i64) -> ApiResult<()> {
        sqlx::query("INSERT INTO environments (id, body, created_us) VALUES (?, ?, ?)")
            .bind(id)
            .bind(body.to_string())
            .bind(created_us)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// (archived, JSON) of an environment, if there is one by that id.
    pub async fn environment_row(&self, id: &str) -> ApiResult<Option<(bool, String)>> {
        let row: Option<(i64, String)> = sqlx::query_as("SELECT archived, body FROM environments WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(archived, body)| (archived != 0, body)))
    }

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
