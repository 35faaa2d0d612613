//! The rows of sessions the runtime and the live side read and write outside the resource's own
//! endpoints: whether a session is archived, its runtime's state, its status, its resources, and
//! its outcome evaluations (kept in its JSON body); and the resource's own: new sessions written
//! in a caller's transaction (`insert_sessions`), reads, updates, archiving and deletion.

use serde_json::Value;
use sqlx::{QueryBuilder, Sqlite, Transaction};

use super::Store;
use crate::{ApiResult, error::ApiError};

/// Rows of one multi-row INSERT at most: SQLite allows 32,766 bound values to a statement.
pub const ROWS_PER_INSERT: usize = 500;

/// A new session's rows: the session, its primary thread and its resources.
pub struct NewSessionRows<'a> {
    pub id: &'a str,
    pub body: &'a str,
    pub created_us: i64,
    /// Its status and its primary thread's.
    pub status: &'a str,
    pub agent_id: &'a str,
    pub agent_version: i64,
    pub environment_id: &'a str,
    /// The primary thread's (id, body).
    pub thread: (&'a str, &'a str),
    /// Each resource's (id, body).
    pub resources: &'a [(String, String)],
    /// Each repository resource's (id, token as stored: [`Store::stored_token`]).
    pub tokens: &'a [(String, String)],
}

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

    /// The session's spent list cost (micro-cents) and its budget's cents as its JSON has them;
    /// `None` when there is no such session.
    pub async fn session_spend(&self, session_id: &str) -> ApiResult<Option<(i64, Option<String>)>> {
        Ok(sqlx::query_as(
            "SELECT cost_micro_cents, json_extract(body, '$.budget.max_list_cost.amount') FROM sessions WHERE id = ?",
        )
        .bind(session_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The session's status column; `None` when there is no such session.
    pub async fn session_status(&self, session_id: &str) -> ApiResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT status FROM sessions WHERE id = ?")
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Replaces the session's JSON with `body`, keeping the status its column holds.
    pub async fn update_session_body(&self, session_id: &str, body: &str) -> ApiResult<()> {
        sqlx::query("UPDATE sessions SET body = json_set(?, '$.status', status) WHERE id = ?")
            .bind(body)
            .bind(session_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Archives the session at `at` (RFC 3339). Its repositories' tokens go with it: an
    /// archived session never runs again.
    pub async fn archive_session(&self, session_id: &str, at: &str) -> ApiResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE sessions SET archived = 1, body = json_set(body, '$.archived_at', ?, '$.updated_at', ?) WHERE id = ?",
        )
        .bind(at)
        .bind(at)
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM repository_tokens WHERE session_id = ?").bind(session_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the session with its events, model context, resources and threads, all or none.
    pub async fn delete_session(&self, session_id: &str) -> ApiResult<()> {
        let mut tx = self.pool.begin().await?;
        for table in [
            "DELETE FROM events WHERE session_id = ?",
            "DELETE FROM model_context WHERE session_id = ?",
            "DELETE FROM session_resources WHERE session_id = ?",
            "DELETE FROM repository_tokens WHERE session_id = ?",
            "DELETE FROM threads WHERE session_id = ?",
            "DELETE FROM sessions WHERE id = ?",
        ] {
            sqlx::query(table).bind(session_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One of the session's resources' JSON; `None` when it has no such resource.
    pub async fn session_resource(&self, session_id: &str, resource_id: &str) -> ApiResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT body FROM session_resources WHERE id = ? AND session_id = ?")
            .bind(resource_id)
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Adds a resource (its JSON) to the session.
    pub async fn insert_session_resource(&self, session_id: &str, resource_id: &str, body: &str) -> ApiResult<()> {
        sqlx::query("INSERT INTO session_resources (id, session_id, body) VALUES (?, ?, ?)")
            .bind(resource_id)
            .bind(session_id)
            .bind(body)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_session_resource(&self, session_id: &str, resource_id: &str) -> ApiResult<()> {
        sqlx::query("DELETE FROM session_resources WHERE id = ? AND session_id = ?")
            .bind(resource_id)
            .bind(session_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A repository resource's token as stored: sealed for the resource when the engine has a
    /// key, as vault credentials' secrets are.
    pub fn stored_token(&self, resource_id: &str, token: &str) -> String {
        match &self.secret_key {
            Some(key) => key.seal_text(resource_id, token),
            None => token.to_owned(),
        }
    }

    /// The token of a session's repository resource, opened; `None` when it has none.
    pub async fn repository_token(&self, session_id: &str, resource_id: &str) -> ApiResult<Option<String>> {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT token FROM repository_tokens WHERE resource_id = ? AND session_id = ?")
                .bind(resource_id)
                .bind(session_id)
                .fetch_optional(&self.pool)
                .await?;
        let Some(stored) = stored else { return Ok(None) };
        if !crate::sealing::is_sealed(&stored) {
            return Ok(Some(stored));
        }
        let opened = self.secret_key.as_ref().and_then(|key| key.open_text(resource_id, &stored));
        opened.map(Some).ok_or_else(|| {
            ApiError::internal(format!(
                "the token of resource {resource_id} is sealed with a key the engine does not have: set SWITCHBOARD_ENGINE_SECRET_KEY (or, embedded, SWITCHBOARD_SECRET_KEY) to the key it was sealed with"
            ))
        })
    }

    /// A repository resource's new token (rotation), with its body's new `updated_at`, in one
    /// transaction.
    pub async fn rotate_repository_token(
        &self,
        session_id: &str,
        resource_id: &str,
        token: &str,
        body: &str,
    ) -> ApiResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT OR REPLACE INTO repository_tokens (resource_id, session_id, token) VALUES (?, ?, ?)")
            .bind(resource_id)
            .bind(session_id)
            .bind(self.stored_token(resource_id, token))
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE session_resources SET body = ? WHERE id = ? AND session_id = ?")
            .bind(body)
            .bind(resource_id)
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes the session's resource rows into its JSON's `resources`, in the order they were added.
    pub async fn sync_session_resources(&self, session_id: &str) -> ApiResult<()> {
        sqlx::query(
            "UPDATE sessions SET body = json_set(body, '$.resources', (SELECT json_group_array(json(body)) FROM \
             (SELECT body FROM session_resources WHERE session_id = ? ORDER BY seq))) WHERE id = ?",
        )
        .bind(session_id)
        .bind(session_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Writes new sessions in the caller's transaction: a few multi-row INSERTs for all of them.
pub async fn insert_sessions(tx: &mut Transaction<'_, Sqlite>, sessions: &[NewSessionRows<'_>]) -> ApiResult<()> {
    for part in sessions.chunks(ROWS_PER_INSERT) {
        QueryBuilder::<Sqlite>::new(
            "INSERT INTO sessions (id, body, created_us, status, agent_id, agent_version, environment_id) ",
        )
        .push_values(part, |mut row, new| {
            row.push_bind(new.id)
                .push_bind(new.body)
                .push_bind(new.created_us)
                .push_bind(new.status)
                .push_bind(new.agent_id)
                .push_bind(new.agent_version)
                .push_bind(new.environment_id);
        })
        .build()
        .execute(&mut **tx)
        .await?;
        QueryBuilder::<Sqlite>::new("INSERT INTO threads (id, session_id, parent_thread_id, status, body) ")
            .push_values(part, |mut row, new| {
                row.push_bind(new.thread.0)
                    .push_bind(new.id)
                    .push_bind(None::<String>)
                    .push_bind(new.status)
                    .push_bind(new.thread.1);
            })
            .build()
            .execute(&mut **tx)
            .await?;
    }
    for new in sessions {
        for (id, body) in new.resources {
            sqlx::query("INSERT INTO session_resources (id, session_id, body) VALUES (?, ?, ?)")
                .bind(id)
                .bind(new.id)
                .bind(body)
                .execute(&mut **tx)
                .await?;
        }
        for (id, token) in new.tokens {
            sqlx::query("INSERT INTO repository_tokens (resource_id, session_id, token) VALUES (?, ?, ?)")
                .bind(id)
                .bind(new.id)
                .bind(token)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}
