//! The decision store: SQLite under the data directory. The primary key (session, event id) is
//! the lock that lets exactly one decision per tool call go upstream.

use app::{
    decisions::{Claim, DecisionStore, Outcome, Recorded},
    upstream::client::BoxFuture,
};
use sqlx::{Row, SqlitePool};

/// A decision and the event that carries it upstream.
pub type Pending = (Recorded, protocol::event_params::EventParams);

pub struct SqliteDecisions {
    pool: SqlitePool,
}

impl SqliteDecisions {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    async fn claim_now(&self, session_id: &str, d: &Recorded) -> Result<Claim, sqlx::Error> {
        // A decision still "sending" after two minutes never got an answer either way (the
        // server stopped, or the API could not be asked): it no longer holds the call.
        let stale = app::format::rfc3339(time::OffsetDateTime::now_utc() - time::Duration::minutes(2));
        sqlx::query(
            "DELETE FROM decisions WHERE session_id = ? AND event_id = ? AND state = 'sending' AND decided_at < ?",
        )
        .bind(session_id)
        .bind(&d.event_id)
        .bind(&stale)
        .execute(&self.pool)
        .await?;
        for _ in 0..3 {
            if let Some(claim) = self.try_claim(session_id, d).await? {
                return Ok(claim);
            }
        }
        Err(sqlx::Error::RowNotFound)
    }

    /// `None` when the row that won was taken back between the insert and the read: try again.
    async fn try_claim(&self, session_id: &str, d: &Recorded) -> Result<Option<Claim>, sqlx::Error> {
        let inserted = sqlx::query(
            "INSERT INTO decisions (session_id, event_id, result, deny_message, decided_by, decided_at)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (session_id, event_id) DO NOTHING",
        )
        .bind(session_id)
        .bind(&d.event_id)
        .bind(d.result.as_str())
        .bind(&d.deny_message)
        .bind(&d.decided_by)
        .bind(&d.decided_at)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(Some(Claim::Won));
        }
        let row = sqlx::query(
            "SELECT event_id, result, deny_message, decided_by, decided_at FROM decisions WHERE session_id = ? AND event_id = ?",
        )
        .bind(session_id)
        .bind(&d.event_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| recorded(&row).map(Claim::Lost)).transpose()
    }
}

fn recorded(row: &sqlx::sqlite::SqliteRow) -> Result<Recorded, sqlx::Error> {
    let result: String = row.try_get(1)?;
    let result = Outcome::parse(&result).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: "result".to_owned(),
        source: format!("{result:?} is not a decision this version writes").into(),
    })?;
    Ok(Recorded {
        event_id: row.try_get(0)?,
        result,
        deny_message: row.try_get(2)?,
        decided_by: row.try_get(3)?,
        decided_at: row.try_get(4)?,
    })
}

impl DecisionStore for SqliteDecisions {
    fn claim<'a>(&'a self, session_id: &'a str, decision: &'a Recorded) -> BoxFuture<'a, Result<Claim, String>> {
        Box::pin(async move { self.claim_now(session_id, decision).await.map_err(|e| e.to_string()) })
    }

    fn settle<'a>(&'a self, session_id: &'a str, event_id: &'a str, sent: bool) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let sql = if sent {
                "UPDATE decisions SET state = 'sent' WHERE session_id = ? AND event_id = ?"
            } else {
                "DELETE FROM decisions WHERE session_id = ? AND event_id = ? AND state = 'sending'"
            };
            sqlx::query(sql).bind(session_id).bind(event_id).execute(&self.pool).await.map_err(|e| e.to_string())?;
            Ok(())
        })
    }

    fn recorded<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Vec<Recorded>, String>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT event_id, result, deny_message, decided_by, decided_at FROM decisions
                 WHERE session_id = ? ORDER BY decided_at, event_id",
            )
            .bind(session_id)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| e.to_string())?;
            rows.iter().map(recorded).collect::<Result<_, _>>().map_err(|e| e.to_string())
        })
    }
}
