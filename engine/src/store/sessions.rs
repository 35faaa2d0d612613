//! The rows of sessions the runtime and the live side read and write outside the resource's own
//! endpoints: whether a session is archived, its runtime's state, its status, its resources, and
//! its outcome evaluations (kept in its JSON body).

use serde_json::Value;

use super::Store;
use crate::ApiResult;

impl Store {
    /// Whether session `session_id` is archived; `None` when there is no such session.
    pub async fn session_archived(&self, session_id: &str) -> ApiResult<Option<bool>> {
        Ok(sqlx::query_scalar("SELECT archived FROM sessions WHERE id = ?")
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Adds an outcome's evaluation at the end of the session's `outcome_evaluations`.
    pub async fn add_outcome_evaluation(&self, session_id: &str, evaluation: &Value) -> ApiResult<()> {
        sqlx::query("UPDATE sessions SET body = json_insert(body, '$.outcome_evaluations[#]', json(?)) WHERE id = ?")
            .bind(evaluation.to_string())
            .bind(session_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Replaces the session's `outcome_evaluations` (an array).
    pub async fn set_outcome_evaluations(&self, session_id: &str, evaluations: &Value) -> ApiResult<()> {
        sqlx::query("UPDATE sessions SET body = json_set(body, '$.outcome_evaluations', json(?)) WHERE id = ?")
            .bind(evaluations.to_string())
            .bind(session_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The session's JSON; `None` when there is no such session.
    pub async fn session_body(&self, session_id: &str) -> ApiResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT body FROM sessions WHERE id = ?")
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Where the session's runtime stands (its state's JSON), whether its tools run on a
    /// self-hosted worker, and whether it is archived; `None` when there is no such session.
    pub async fn runtime_of(&self, session_id: &str) -> ApiResult<Option<(String, bool, bool)>> {
        Ok(sqlx::query_as(
            "SELECT s.runtime, coalesce(json_extract(e.body, '$.config.type') = 'self_hosted', 0), s.archived
             FROM sessions s LEFT JOIN environments e ON e.id = s.environment_id WHERE s.id = ?",
        )
        .bind(session_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The session's runtime state (JSON); the session must exist.
    pub async fn runtime_state(&self, session_id: &str) -> ApiResult<String> {
        Ok(sqlx::query_scalar("SELECT runtime FROM sessions WHERE id = ?")
            .bind(session_id)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Replaces the session's runtime state (JSON).
    pub async fn set_runtime_state(&self, session_id: &str, state: &str) -> ApiResult<()> {
        sqlx::query("UPDATE sessions SET runtime = ? WHERE id = ?")
            .bind(state)
            .bind(session_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Replaces the session's runtime state (JSON) with the seconds it has been active, which its
    /// `stats` and `usage` say.
    pub async fn save_runtime(&self, session_id: &str, state: &str, active_seconds: f64) -> ApiResult<()> {
        sqlx::query(
            "UPDATE sessions SET runtime = ?, body = json_set(body, '$.stats.active_seconds', ?, '$.usage.active_seconds', ?) WHERE id = ?",
        )
        .bind(state)
        .bind(active_seconds)
        .bind(active_seconds)
        .bind(session_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Sets the session's status (its column and its JSON's), updated at `at` (RFC 3339).
    pub async fn set_session_status(&self, session_id: &str, status: &str, at: &str) -> ApiResult<()> {
        sqlx::query(
            "UPDATE sessions SET status = ?, body = json_set(body, '$.status', ?, '$.updated_at', ?) WHERE id = ?",
        )
        .bind(status)
        .bind(status)
        .bind(at)
        .bind(session_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The sessions whose status says they are running (or rescheduling).
    pub async fn running_sessions(&self) -> ApiResult<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT id FROM sessions WHERE status IN ('running', 'rescheduling')")
            .fetch_all(&self.pool)
            .await?)
    }

    /// The JSON of each of the session's resources (files, repositories, memory stores), in the
    /// order they were added.
    pub async fn session_resources(&self, session_id: &str) -> ApiResult<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT body FROM session_resources WHERE session_id = ? ORDER BY seq")
            .bind(session_id)
            .fetch_all(&self.pool)
            .await?)
    }
}
