//! The session event log in the store: every event a session has, in the order it was
//! appended (`seq`), never changed once written. [`crate::live`] appends to it and sends what
//! it appends to the session's open streams; lists and streams that fell behind read it here.

use super::{Filter, Store};
use crate::error::ApiResult;

/// Which events a stream or a list shows: the session's own, or one thread's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The session's stream and list: the primary thread's events, thread lifecycle events, and
    /// what the API cross-posts from child threads.
    Session,
    /// One thread's events (`None`: the primary thread).
    Thread(Option<String>),
}

impl Scope {
    /// Whether an event of `thread` (with `on_session`) belongs here.
    pub fn shows(&self, thread: Option<&str>, on_session: bool) -> bool {
        match self {
            Scope::Session => on_session,
            Scope::Thread(wanted) => wanted.as_deref() == thread,
        }
    }

    /// The same condition in SQL, for the events table.
    pub(crate) fn filter(&self) -> Filter {
        match self {
            Scope::Session => Filter::Sql("on_session = 1"),
            Scope::Thread(None) => Filter::Sql("thread_id IS NULL"),
            Scope::Thread(Some(id)) => Filter::Eq("thread_id", id.clone()),
        }
    }
}

/// One event to write to the log, as it is stored.
pub struct NewEvent<'a> {
    pub session_id: &'a str,
    pub id: Option<&'a str>,
    pub kind: &'a str,
    pub processed_us: i64,
    /// The whole event as JSON text.
    pub body: &'a str,
    /// `None`: the primary thread.
    pub thread: Option<&'a str>,
    pub on_session: bool,
}

impl Store {
    /// A thread's events in order (`thread_id` `None`: the session's own), each with its type, its
    /// JSON and, where the model's own words were kept beside it, those (Messages API JSON).
    pub async fn transcript_rows(
        &self,
        session_id: &str,
        thread_id: Option<&str>,
    ) -> ApiResult<Vec<(String, String, Option<String>)>> {
        Ok(sqlx::query_as(
            "SELECT e.type, e.body, m.body FROM events e LEFT JOIN model_context m ON m.event_id = e.id \
             WHERE e.session_id = ? AND e.thread_id IS ? ORDER BY e.seq",
        )
        .bind(session_id)
        .bind(thread_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Keeps beside event `event_id` what the model wrote (or a compaction's summary), as the next
    /// request's transcript sends it.
    pub async fn keep_model_context(
        &self,
        event_id: &str,
        session_id: &str,
        body: &serde_json::Value,
    ) -> ApiResult<()> {
        sqlx::query("INSERT INTO model_context (event_id, session_id, body) VALUES (?, ?, ?)")
            .bind(event_id)
            .bind(session_id)
            .bind(body.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Writes one event at the end of its session's log; returns its `seq`.
    pub async fn insert_event(&self, event: NewEvent<'_>) -> ApiResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO events (session_id, id, type, processed_us, body, thread_id, on_session) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq",
        )
        .bind(event.session_id)
        .bind(event.id)
        .bind(event.kind)
        .bind(event.processed_us)
        .bind(event.body)
        .bind(event.thread)
        .bind(event.on_session)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The `seq` of a session's last event (0 when it has none).
    pub async fn last_event_seq(&self, session_id: &str) -> ApiResult<i64> {
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM events WHERE session_id = ?")
            .bind(session_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(last.unwrap_or(0))
    }

    /// Events of a session in `scope` after `seq` (at most `limit`), as (seq, type, body).
    pub async fn events_after(
        &self,
        session_id: &str,
        scope: &Scope,
        seq: i64,
        limit: i64,
    ) -> ApiResult<Vec<(i64, String, String)>> {
        let (condition, thread) = match scope {
            Scope::Session => ("on_session = 1", None),
            Scope::Thread(None) => ("thread_id IS NULL", None),
            Scope::Thread(Some(id)) => ("thread_id = ?", Some(id)),
        };
        let sql = format!(
            "SELECT seq, type, body FROM events WHERE session_id = ? AND {condition} AND seq > ? ORDER BY seq LIMIT ?"
        );
        let mut query = sqlx::query_as(&sql).bind(session_id);
        if let Some(thread) = thread {
            query = query.bind(thread);
        }
        Ok(query.bind(seq).bind(limit).fetch_all(&self.pool).await?)
    }
}
