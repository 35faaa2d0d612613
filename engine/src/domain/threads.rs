//! Session threads: the primary thread every session has, and the child threads its agent starts
//! (subagents, workflow runs' threads, advisor consultations). A thread is stored as the object
//! the API returns, with its status beside it for filtering.

use serde_json::{Value, json};
use sqlx::Row;

use crate::{
    EngineState,
    error::{ApiError, ApiResult},
    ids::{new_id, now},
    store::json,
};

/// A thread's status as its lifecycle events say it.
pub const RUNNING: &str = "running";
pub const IDLE: &str = "idle";

/// The (id, body) of a new session's primary thread, written with the session
/// ([`super::sessions::write_sessions`]). `agent` is the session's agent snapshot; the thread runs
/// it without its multiagent roster.
pub(crate) fn primary_thread(session_id: &str, agent: &Value, at: &str) -> (String, String) {
    let mut agent = agent.clone();
    if let Some(agent) = agent.as_object_mut() {
        agent.remove("multiagent");
    }
    let id = new_id("sthr");
    let body = thread_body(&id, session_id, None, agent, None, at);
    (id, body.to_string())
}

impl EngineState {
    /// Starts a child thread of `parent` running `agent` (a thread agent object: `agent`,
    /// `inline` or `advisor`).
    pub(crate) async fn create_child_thread(
        &self,
        session_id: &str,
        parent: &str,
        agent: Value,
        workflow_run_id: Option<&str>,
    ) -> ApiResult<String> {
        let id = new_id("sthr");
        let body = thread_body(&id, session_id, Some(parent), agent, workflow_run_id, &now().text);
        sqlx::query("INSERT INTO threads (id, session_id, parent_thread_id, status, body) VALUES (?, ?, ?, ?, ?)")
            .bind(&id)
            .bind(session_id)
            .bind(parent)
            .bind(IDLE)
            .bind(body.to_string())
            .execute(&self.store.pool)
            .await?;
        Ok(id)
    }

    /// A thread of a session; 404 when the session has no such thread.
    pub async fn thread(&self, session_id: &str, thread_id: &str) -> ApiResult<Value> {
        let body: Option<String> = sqlx::query_scalar("SELECT body FROM threads WHERE id = ? AND session_id = ?")
            .bind(thread_id)
            .bind(session_id)
            .fetch_optional(&self.store.pool)
            .await?;
        match body {
            Some(body) => Ok(with_duration(json(&body)?)),
            None => {
                self.session(session_id).await?;
                Err(ApiError::not_found("thread", thread_id))
            }
        }
    }

    /// The id of a session's primary thread.
    pub async fn primary_thread(&self, session_id: &str) -> ApiResult<String> {
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM threads WHERE session_id = ? AND parent_thread_id IS NULL")
                .bind(session_id)
                .fetch_optional(&self.store.pool)
                .await?;
        id.ok_or_else(|| ApiError::not_found("session", session_id))
    }

    /// Sets a thread's status; `None` for the thread means the session's primary thread.
    pub(crate) async fn set_thread_status(
        &self,
        session_id: &str,
        thread: Option<&str>,
        status: &str,
    ) -> ApiResult<()> {
        let condition = if thread.is_some() { "id = ?" } else { "session_id = ? AND parent_thread_id IS NULL" };
        let sql = format!(
            "UPDATE threads SET status = ?, body = json_set(body, '$.status', ?, '$.updated_at', ?) WHERE {condition}"
        );
        sqlx::query(&sql)
            .bind(status)
            .bind(status)
            .bind(now().text)
            .bind(thread.unwrap_or(session_id))
            .execute(&self.store.pool)
            .await?;
        Ok(())
    }

    /// Adds a model request's tokens and a stretch of running time to a child thread's figures.
    pub(crate) async fn add_thread_usage(
        &self,
        thread_id: &str,
        input_tokens: u64,
        output_tokens: u64,
        active_seconds: f64,
    ) -> ApiResult<()> {
        sqlx::query(
            "UPDATE threads SET body = json_set(body, \
               '$.usage.input_tokens', COALESCE(json_extract(body, '$.usage.input_tokens'), 0) + ?, \
               '$.usage.output_tokens', COALESCE(json_extract(body, '$.usage.output_tokens'), 0) + ?, \
               '$.usage.cache_read_input_tokens', COALESCE(json_extract(body, '$.usage.cache_read_input_tokens'), 0), \
               '$.usage.list_cost', json('{\"amount\":\"0\",\"currency\":\"USD\"}'), \
               '$.stats.active_seconds', COALESCE(json_extract(body, '$.stats.active_seconds'), 0) + ?) WHERE id = ?",
        )
        .bind(input_tokens as i64)
        .bind(output_tokens as i64)
        .bind(active_seconds)
        .bind(thread_id)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    /// Archives a child thread that is not running; the primary thread goes with its session.
    pub async fn archive_thread(&self, session_id: &str, thread_id: &str) -> ApiResult<Value> {
        let thread = self.thread(session_id, thread_id).await?;
        if thread["parent_thread_id"].is_null() {
            return Err(ApiError::invalid(format!(
                "Thread {thread_id} is the session's primary thread; archive the session instead."
            )));
        }
        if thread["status"] == RUNNING {
            return Err(ApiError::invalid(format!(
                "Thread {thread_id} is running; interrupt it (user.interrupt with its session_thread_id) and archive it once idle."
            )));
        }
        if thread["archived_at"].is_null() {
            let at = now().text;
            sqlx::query("UPDATE threads SET body = json_set(body, '$.archived_at', ?, '$.updated_at', ?) WHERE id = ?")
                .bind(&at)
                .bind(&at)
                .bind(thread_id)
                .execute(&self.store.pool)
                .await?;
        }
        self.thread(session_id, thread_id).await
    }

    /// A session's threads: (id, whether it is archived).
    pub(crate) async fn thread_ids(&self, session_id: &str) -> ApiResult<Vec<(String, bool)>> {
        let rows =
            sqlx::query("SELECT id, json_extract(body, '$.archived_at') IS NOT NULL FROM threads WHERE session_id = ?")
                .bind(session_id)
                .fetch_all(&self.store.pool)
                .await?;
        Ok(rows.into_iter().map(|row| (row.get(0), row.get(1))).collect())
    }
}

/// A thread object as the API returns it.
fn thread_body(
    id: &str,
    session_id: &str,
    parent: Option<&str>,
    agent: Value,
    workflow_run_id: Option<&str>,
    at: &str,
) -> Value {
    json!({
        "type": "session_thread",
        "id": id,
        "session_id": session_id,
        "parent_thread_id": parent,
        "status": IDLE,
        "agent": agent,
        "workflow_run_id": workflow_run_id,
        "stats": { "active_seconds": 0.0, "duration_seconds": 0.0, "startup_seconds": 0.0 },
        "usage": {},
        "created_at": at,
        "updated_at": at,
        "archived_at": null,
    })
}

/// A thread's duration is worked out when read: time since it was created.
pub(crate) fn with_duration(mut thread: Value) -> Value {
    if let Some(seconds) = thread["created_at"].as_str().and_then(crate::ids::seconds_since) {
        thread["stats"]["duration_seconds"] = json!(seconds);
    }
    thread
}
