//! Agents' rows: an agent's head (its latest version, when it was archived) and every version's
//! object. What runs in a caller's transaction (an update reads the head and writes the next
//! version in one) takes it as `tx`.

use sqlx::{Sqlite, Transaction};

use super::Store;
use crate::ApiResult;

impl Store {
    /// A new agent at version 1, whose object is `body`.
    pub async fn insert_agent(&self, id: &str, body: &str, created_us: i64) -> ApiResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO agents (id, latest_version, created_us) VALUES (?, 1, ?)")
            .bind(id)
            .bind(created_us)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO agent_versions (agent_id, version, body) VALUES (?, 1, ?)")
            .bind(id)
            .bind(body)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The agent's object at `version` (the latest when `None`) and when it was archived; `None`
    /// when there is no such agent or version.
    pub async fn agent_version(&self, id: &str, version: Option<i64>) -> ApiResult<Option<(String, Option<String>)>> {
        Ok(sqlx::query_as(
            "SELECT v.body, a.archived_at FROM agents a JOIN agent_versions v ON v.agent_id = a.id \
             AND v.version = COALESCE(?, a.latest_version) WHERE a.id = ?",
        )
        .bind(version)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// When the agent was archived (inner `None`: it is not); `None` when there is no such agent.
    pub async fn agent_archived_at(&self, id: &str) -> ApiResult<Option<Option<String>>> {
        Ok(sqlx::query_scalar("SELECT archived_at FROM agents WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Archives the agent at `at`; false when it was archived already (or is not there).
    pub async fn archive_agent(&self, id: &str, at: &str) -> ApiResult<bool> {
        let done = sqlx::query("UPDATE agents SET archived_at = ? WHERE id = ? AND archived_at IS NULL")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// The agent's latest version and when it was archived, in `tx`; `None` when there is no such
/// agent.
pub async fn head(tx: &mut Transaction<'_, Sqlite>, id: &str) -> ApiResult<Option<(i64, Option<String>)>> {
    Ok(sqlx::query_as("SELECT latest_version, archived_at FROM agents WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?)
}

/// The object of the agent's `version` (it must be there), in `tx`.
pub async fn version_body(tx: &mut Transaction<'_, Sqlite>, id: &str, version: i64) -> ApiResult<String> {
    Ok(sqlx::query_scalar("SELECT body FROM agent_versions WHERE agent_id = ? AND version = ?")
        .bind(id)
        .bind(version)
        .fetch_one(&mut **tx)
        .await?)
}

/// Writes `body` as the agent's `version` and makes it the latest, in `tx`.
pub async fn write_version(tx: &mut Transaction<'_, Sqlite>, id: &str, version: i64, body: &str) -> ApiResult<()> {
    sqlx::query("INSERT INTO agent_versions (agent_id, version, body) VALUES (?, ?, ?)")
        .bind(id)
        .bind(version)
        .bind(body)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE agents SET latest_version = ? WHERE id = ?").bind(version).bind(id).execute(&mut **tx).await?;
    Ok(())
}
