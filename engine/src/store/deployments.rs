//! The deployments' schedule as the scheduler reads it: which are due, and when the next one is.

use super::Store;
use crate::ApiResult;

/// A deployment whose time has come.
#[derive(sqlx::FromRow)]
pub struct Due {
    pub id: String,
    /// When it was to fire, in microseconds since the epoch.
    pub next_fire_us: i64,
    /// The deployment's JSON.
    pub body: String,
}

impl Store {
    /// Up to `limit` deployments due at `now_us`, the earliest first.
    pub async fn deployments_due(&self, now_us: i64, limit: i64) -> ApiResult<Vec<Due>> {
        Ok(sqlx::query_as(
            "SELECT id, next_fire_us, body FROM deployments WHERE next_fire_us <= ? ORDER BY next_fire_us LIMIT ?",
        )
        .bind(now_us)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// When the next deployment fires, in microseconds since the epoch; `None` without any.
    pub async fn next_deployment_fire(&self) -> ApiResult<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT MIN(next_fire_us) FROM deployments").fetch_one(&self.pool).await?)
    }
}
