//! Threads' rows: each thread's object as the API returns it, its status beside it for filtering,
//! and the session's and thread's running cost.

use serde_json::Value;
use sqlx::Row;

use super::Store;
use crate::{ApiResult, model::stream::Usage};

impl Store {
    /// Writes a new thread (`parent` `None`: a session's primary thread).
    pub async fn insert_thread(
        &self,
        id: &str,
        session_id: &str,
        parent: Option<&str>,
        status: &str,
        body: &Value,
    ) -> ApiResult<()> {
        sqlx::query("INSERT INTO threads (id, session_id, parent_thread_id, status, body) VALUES (?, ?, ?, ?, ?)")
            .bind(id)
            .bind(session_id)
            .bind(parent)
            .bind(status)
            .bind(body.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Thread `thread_id`'s JSON, if the session has it.
    pub async fn thread_body(&self, session_id: &str, thread_id: &str) -> ApiResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT body FROM threads WHERE id = ? AND session_id = ?")
            .bind(thread_id)
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The id of the session's primary thread, if the session exists.
    pub async fn primary_thread_id(&self, session_id: &str) -> ApiResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT id FROM threads WHERE session_id = ? AND parent_thread_id IS NULL")
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Sets a thread's status (column and JSON), updated at `at`; `thread` `None`: the session's
    /// primary thread.
    pub async fn set_thread_status(
        &self,
        session_id: &str,
        thread: Option<&str>,
        status: &str,
        at: &str,
    ) -> ApiResult<()> {
        let condition = if thread.is_some() { "id = ?" } else { "session_id = ? AND parent_thread_id IS NULL" };
        let sql = format!(
            "UPDATE threads SET status = ?, body = json_set(body, '$.status', ?, '$.updated_at', ?) WHERE {condition}"
        );
        sqlx::query(&sql)
            .bind(status)
            .bind(status)
            .bind(at)
            .bind(thread.unwrap_or(session_id))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Adds a model request's tokens and `cost_micro_cents` to the session and to its thread in
    /// one transaction (the thread also its active seconds); each one's `list_cost` is what
    /// `list_cost` makes of its new total.
    pub async fn add_usage(
        &self,
        session_id: &str,
        thread_id: &str,
        usage: &Usage,
        cost_micro_cents: i64,
        active_seconds: f64,
        list_cost: impl Fn(i64) -> Value,
    ) -> ApiResult<()> {
        let mut tx = self.pool.begin().await?;
        for (table, id, extra) in [
            ("sessions", session_id, ""),
            (
                "threads",
                thread_id,
                ", '$.stats.active_seconds', COALESCE(json_extract(body, '$.stats.active_seconds'), 0) + ?7",
            ),
        ] {
            let total_micro_cents: i64 = sqlx::query_scalar(&format!(
                "UPDATE {table} SET cost_micro_cents = cost_micro_cents + ?1 WHERE id = ?2 RETURNING cost_micro_cents"
            ))
            .bind(cost_micro_cents)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or(0);
            let list_cost = list_cost(total_micro_cents);
            sqlx::query(&format!(
                "UPDATE {table} SET body = json_set(body, \
                   '$.usage.input_tokens', COALESCE(json_extract(body, '$.usage.input_tokens'), 0) + ?1, \
                   '$.usage.output_tokens', COALESCE(json_extract(body, '$.usage.output_tokens'), 0) + ?2, \
                   '$.usage.cache_read_input_tokens', COALESCE(json_extract(body, '$.usage.cache_read_input_tokens'), 0) + ?3, \
                   '$.usage.cache_creation.ephemeral_5m_input_tokens', COALESCE(json_extract(body, '$.usage.cache_creation.ephemeral_5m_input_tokens'), 0) + ?4, \
                   '$.usage.list_cost', COALESCE(json(?8), json_extract(body, '$.usage.list_cost')){extra}) WHERE id = ?6"
            ))
            .bind(usage.input_tokens as i64)
            .bind(usage.output_tokens as i64)
            .bind(usage.cache_read_input_tokens as i64)
            .bind(usage.cache_creation_input_tokens as i64)
            .bind(cost_micro_cents)
            .bind(id)
            .bind(active_seconds)
            .bind(if list_cost.is_null() { None } else { Some(list_cost.to_string()) })
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks a thread archived at `at`.
    pub async fn archive_thread(&self, thread_id: &str, at: &str) -> ApiResult<()> {
        sqlx::query("UPDATE threads SET body = json_set(body, '$.archived_at', ?, '$.updated_at', ?) WHERE id = ?")
            .bind(at)
            .bind(at)
            .bind(thread_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A session's threads: (id, whether it is archived).
    pub async fn thread_ids(&self, session_id: &str) -> ApiResult<Vec<(String, bool)>> {
        let rows =
            sqlx::query("SELECT id, json_extract(body, '$.archived_at') IS NOT NULL FROM threads WHERE session_id = ?")
                .bind(session_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|row| (row.get(0), row.get(1))).collect())
    }
}
