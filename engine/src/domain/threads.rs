//! Session threads: the primary thread every session has, and the child threads its agent starts
//! (subagents, workflow runs' threads, advisor consultations). A thread is stored as the object
//! the API returns, with its status beside it for filtering.

use serde_json::{Value, json};

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
        self.store.insert_thread(&id, session_id, Some(parent), IDLE, &body).await?;
        Ok(id)
    }

    /// A thread of a session; 404 when the session has no such thread.
    pub async fn thread(&self, session_id: &str, thread_id: &str) -> ApiResult<Value> {
        match self.store.thread_body(session_id, thread_id).await? {
            Some(body) => Ok(with_duration(json(&body)?)),
            None => {
                self.session(session_id).await?;
                Err(ApiError::not_found("thread", thread_id))
            }
        }
    }

    /// The id of a session's primary thread.
    pub async fn primary_thread(&self, session_id: &str) -> ApiResult<String> {
        self.store.primary_thread_id(session_id).await?.ok_or_else(|| ApiError::not_found("session", session_id))
    }

    /// Sets a thread's status; `None` for the thread means the session's primary thread.
    pub(crate) async fn set_thread_status(
        &self,
        session_id: &str,
        thread: Option<&str>,
        status: &str,
    ) -> ApiResult<()> {
        self.store.set_thread_status(session_id, thread, status, &now().text).await
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
        let list_cost = |micro_cents: i64| match cost {
            Some(_) => json!({ "amount": prices::cents(micro_cents.max(0) as u64), "currency": "USD" }),
            None => Value::Null,
        };
        self.store.add_usage(session_id, thread_id, usage, cost.unwrap_or(0) as i64, active_seconds, list_cost).await
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
            self.store.archive_thread(thread_id, &at).await?;
        }
        self.thread(session_id, thread_id).await
    }

    /// A session's threads: (id, whether it is archived).
    pub(crate) async fn thread_ids(&self, session_id: &str) -> ApiResult<Vec<(String, bool)>> {
        self.store.thread_ids(session_id).await
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
