//! The decision store: [`DecisionStore`], the seam another database's store goes behind, and
//! [`SqlDecisions`], its SQLite implementation. The primary key (session, event id) is the
//! lock that lets exactly one decision per tool call go upstream, whichever replica or rule asks.
//! [`suite`] is the behaviour every implementation must show, run here against SQLite.

use domain::{
    decisions::{Outcome, Recorded},
    upstream::client::BoxFuture,
};
use sqlx::{AnyPool, Row};

use crate::support::StoreError;

/// What recording a decision came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// This decision is the call's; send it upstream.
    Won,
    /// Somebody decided first: this is their decision.
    Lost(Recorded),
}

pub trait DecisionStore: Send + Sync + 'static {
    /// Records `decision` for `(session_id, decision.event_id)` unless a decision is recorded for
    /// that call already. A decision still "sending" after two minutes no longer holds the call.
    fn claim<'a>(&'a self, session_id: &'a str, decision: &'a Recorded) -> BoxFuture<'a, Result<Claim, StoreError>>;
    /// The decision reached the upstream (`sent`), or it did not and is taken back so that the
    /// call can be decided again.
    fn settle<'a>(
        &'a self,
        session_id: &'a str,
        event_id: &'a str,
        sent: bool,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Every decision recorded for the session, oldest first.
    fn recorded<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Vec<Recorded>, StoreError>>;
}

/// A decision store that failed, logged, as the person is told: nothing was sent.
pub fn store_failed(error: StoreError) -> domain::error::AppError {
    tracing::error!("the decision store failed: {error}");
    domain::error::AppError::internal("Switchboard could not record the decision; nothing was sent. Try again.")
}

/// A decision and the event that carries it upstream.
pub type Pending = (Recorded, protocol::event_params::EventParams);

pub struct SqlDecisions {
    pool: AnyPool,
}

impl SqlDecisions {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    async fn claim_now(&self, session_id: &str, d: &Recorded) -> Result<Claim, sqlx::Error> {
        // A decision still "sending" after two minutes never got an answer either way (the
        // server stopped, or the API could not be asked): it no longer holds the call.
        let stale = domain::format::rfc3339(time::OffsetDateTime::now_utc() - time::Duration::minutes(2));
        sqlx::query(
            "DELETE FROM decisions WHERE session_id = $1 AND event_id = $2 AND state = 'sending' AND decided_at < $3",
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
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id, event_id) DO NOTHING",
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
            "SELECT event_id, result, deny_message, decided_by, decided_at FROM decisions WHERE session_id = $1 AND event_id = $2",
        )
        .bind(session_id)
        .bind(&d.event_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| recorded(&row).map(Claim::Lost)).transpose()
    }
}

fn recorded(row: &sqlx::any::AnyRow) -> Result<Recorded, sqlx::Error> {
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

impl DecisionStore for SqlDecisions {
    fn claim<'a>(&'a self, session_id: &'a str, decision: &'a Recorded) -> BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(async move { Ok(self.claim_now(session_id, decision).await?) })
    }

    fn settle<'a>(
        &'a self,
        session_id: &'a str,
        event_id: &'a str,
        sent: bool,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let sql = if sent {
                "UPDATE decisions SET state = 'sent' WHERE session_id = $1 AND event_id = $2"
            } else {
                "DELETE FROM decisions WHERE session_id = $1 AND event_id = $2 AND state = 'sending'"
            };
            sqlx::query(sql).bind(session_id).bind(event_id).execute(&self.pool).await?;
            Ok(())
        })
    }

    fn recorded<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Vec<Recorded>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT event_id, result, deny_message, decided_by, decided_at FROM decisions
                 WHERE session_id = $1 ORDER BY decided_at, event_id",
            )
            .bind(session_id)
            .fetch_all(&self.pool)
            .await?;
            Ok(rows.iter().map(recorded).collect::<Result<_, _>>()?)
        })
    }
}

/// What every [`DecisionStore`] must do, whatever keeps it: each check takes a fresh, empty store.
/// SQLite runs them below; another database's store runs the same.
#[cfg(test)]
pub mod suite {
    use super::*;

    fn decision(event_id: &str, by: &str, at: &str) -> Recorded {
        Recorded {
            event_id: event_id.to_owned(),
            result: Outcome::Allow,
            deny_message: None,
            decided_by: by.to_owned(),
            decided_at: at.to_owned(),
        }
    }

    /// The first claim of a call wins; a second, by anyone, gets the first's decision.
    pub async fn one_decision_per_call(store: &dyn DecisionStore) {
        let now = domain::format::rfc3339(time::OffsetDateTime::now_utc());
        let ann = decision("sevt_1", "Ann", &now);
        assert_eq!(store.claim("sesn_1", &ann).await.unwrap(), Claim::Won);
        let bob = Recorded { result: Outcome::Deny, ..decision("sevt_1", "Bob", &now) };
        assert_eq!(store.claim("sesn_1", &bob).await.unwrap(), Claim::Lost(ann.clone()));
        // The same event id in another session is another call.
        assert_eq!(store.claim("sesn_2", &bob).await.unwrap(), Claim::Won);
        assert_eq!(store.recorded("sesn_1").await.unwrap(), vec![ann]);
    }

    /// A send the upstream refused is taken back, and the call can be decided again; a sent one
    /// stays.
    pub async fn a_refused_send_frees_the_call(store: &dyn DecisionStore) {
        let now = domain::format::rfc3339(time::OffsetDateTime::now_utc());
        let ann = decision("sevt_1", "Ann", &now);
        assert_eq!(store.claim("sesn_1", &ann).await.unwrap(), Claim::Won);
        store.settle("sesn_1", "sevt_1", false).await.unwrap();
        assert_eq!(store.recorded("sesn_1").await.unwrap(), vec![]);
        let bob = decision("sevt_1", "Bob", &now);
        assert_eq!(store.claim("sesn_1", &bob).await.unwrap(), Claim::Won);
        store.settle("sesn_1", "sevt_1", true).await.unwrap();
        // Taking back a sent decision does nothing.
        store.settle("sesn_1", "sevt_1", false).await.unwrap();
        assert_eq!(store.recorded("sesn_1").await.unwrap(), vec![bob]);
    }

    /// A decision left "sending" for over two minutes (its sender stopped) no longer holds the
    /// call; a sent one holds it for good.
    pub async fn a_stale_send_gives_way(store: &dyn DecisionStore) {
        let long_ago = domain::format::rfc3339(time::OffsetDateTime::now_utc() - time::Duration::minutes(3));
        let now = domain::format::rfc3339(time::OffsetDateTime::now_utc());
        assert_eq!(store.claim("sesn_1", &decision("sevt_1", "Ann", &long_ago)).await.unwrap(), Claim::Won);
        let bob = decision("sevt_1", "Bob", &now);
        assert_eq!(store.claim("sesn_1", &bob).await.unwrap(), Claim::Won);
        store.settle("sesn_1", "sevt_1", true).await.unwrap();
        let sent_long_ago = decision("sevt_2", "Ann", &long_ago);
        assert_eq!(store.claim("sesn_1", &sent_long_ago).await.unwrap(), Claim::Won);
        store.settle("sesn_1", "sevt_2", true).await.unwrap();
        let late = decision("sevt_2", "Bob", &now);
        assert_eq!(store.claim("sesn_1", &late).await.unwrap(), Claim::Lost(sent_long_ago));
    }

    /// Many claims of one call at once: exactly one wins.
    pub async fn concurrent_claims_have_one_winner(store: std::sync::Arc<dyn DecisionStore>) {
        let now = domain::format::rfc3339(time::OffsetDateTime::now_utc());
        let claims = (0..16).map(|n| {
            let store = store.clone();
            let d = decision("sevt_1", &format!("person {n}"), &now);
            tokio::spawn(async move { store.claim("sesn_1", &d).await.unwrap() })
        });
        let results = futures::future::join_all(claims).await;
        let won = results.iter().filter(|r| matches!(r.as_ref().unwrap(), Claim::Won)).count();
        assert_eq!(won, 1, "exactly one claim wins");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn sqlite_and_postgres_keep_one_decision_per_call() {
        for check in 0..4 {
            for db in crate::support::db::testing::databases("decisions").await {
                let store = SqlDecisions::new(db.pool.clone());
                match check {
                    0 => suite::one_decision_per_call(&store).await,
                    1 => suite::a_refused_send_frees_the_call(&store).await,
                    2 => suite::a_stale_send_gives_way(&store).await,
                    _ => suite::concurrent_claims_have_one_winner(Arc::new(store)).await,
                }
            }
        }
    }
}
