//! Session threads: the primary thread every session has, and the child threads its agent starts
//! (subagents, workflow runs' threads, advisor consultations). A thread is stored as the object
//! the API returns, with its status beside it for filtering.

use serde_json::{Value, json};
use sqlx::Row;

use super::{Paging, body_of};
use crate::{
    EngineState,
    error::{ApiError, ApiResult},
    ids::{new_id, now},
    model::{prices, stream::Usage},
    store::{Filter, events::Scope, json},
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

    /// Adds a model request's tokens, and its list cost in micro-cents when the model has a
    /// price, to the session (every thread's together) and to its thread.
    pub(crate) async fn add_usage(
        &self,
        session_id: &str,
        thread_id: &str,
        usage: &Usage,
        cost: Option<u64>,
        active_seconds: f64,
    ) -> ApiResult<()> {
        let mut tx = self.store.pool.begin().await?;
        for (table, id, extra) in [
            ("sessions", session_id, ""),
            (
                "threads",
                thread_id,
                ", '$.stats.active_seconds', COALESCE(json_extract(body, '$.stats.active_seconds'), 0) + ?7",
            ),
        ] {
            let cost_micro_cents: i64 = sqlx::query_scalar(&format!(
                "UPDATE {table} SET cost_micro_cents = cost_micro_cents + ?1 WHERE id = ?2 RETURNING cost_micro_cents"
            ))
            .bind(cost.unwrap_or(0) as i64)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or(0);
            let list_cost = match cost {
                Some(_) => json!({ "amount": prices::cents(cost_micro_cents.max(0) as u64), "currency": "USD" }),
                None => Value::Null,
            };
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
            .bind(cost.unwrap_or(0) as i64)
            .bind(id)
            .bind(active_seconds)
            .bind(if list_cost.is_null() { None } else { Some(list_cost.to_string()) })
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
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

impl EngineState {
    /// A page of a session's threads (of `statuses` when given), with their durations.
    pub async fn list_threads(&self, session_id: &str, statuses: Vec<String>, paging: Paging) -> ApiResult<Value> {
        let mut filters = vec![Filter::Eq("session_id", session_id.to_owned())];
        if !statuses.is_empty() {
            filters.push(Filter::In("status", statuses));
        }
        let mut page = self.page(paging.query("seq, body", "threads", "seq", filters), false, body_of).await?;
        if let Some(threads) = page["data"].as_array_mut() {
            for thread in threads {
                *thread = with_duration(std::mem::take(thread));
            }
        }
        Ok(page)
    }

    /// Where the events of a session's thread are: the primary thread's are stored without one.
    pub async fn thread_scope(&self, session_id: &str, thread_id: &str) -> ApiResult<Scope> {
        let thread = self.thread(session_id, thread_id).await?;
        Ok(Scope::Thread(if thread["parent_thread_id"].is_null() { None } else { Some(thread_id.to_owned()) }))
    }
}
