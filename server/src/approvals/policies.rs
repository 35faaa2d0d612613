//! Approval policies, the messages people sent and the approvals they gave: [`PolicyStore`], the
//! seam another database's store goes behind, [`SqlPolicies`], its SQLite implementation
//! (`migrations/0006_policies.sql`), with [`suite`], what every implementation must do, and
//! [`Policies`], the copy in memory in front of any store (the notifier asks for every policy with
//! each batch). What policies mean is in `domain::policies`; the approval service applies them, the
//! notifier follows their escalation and quiet hours.

use std::sync::{Arc, RwLock};

use domain::{
    error::AppError,
    policies::{EVERY_AGENT, Policy, SentMessage},
    upstream::client::BoxFuture,
};
use sqlx::{AnyPool, Row};

use crate::support::{
    StoreError,
    db::{Dialect, dialect},
};

/// The policies and the records they are applied with.
pub trait PolicyStore: Send + Sync + 'static {
    /// Every policy, `*` first.
    fn list(&self) -> BoxFuture<'_, Result<Vec<Policy>, AppError>>;
    /// Saves `policy` (replacing the agent's), set by `by` (a label).
    fn save(&self, policy: Policy, by: String) -> BoxFuture<'_, Result<Policy, AppError>>;
    /// Removes the agent's policy; not found when it has none.
    fn delete(&self, agent_id: String) -> BoxFuture<'_, Result<(), AppError>>;
    /// Records that `username` (`label`) sent the `user.message` `event_id` to the session;
    /// `None`: the session's initial message, sent when it was created.
    fn sent(
        &self,
        session_id: String,
        event_id: Option<String>,
        username: String,
        label: String,
    ) -> BoxFuture<'_, Result<(), AppError>>;
    /// What [`PolicyStore::sent`] recorded for the session.
    fn messages(&self, session_id: String) -> BoxFuture<'_, Result<Vec<SentMessage>, AppError>>;
    /// Records `username`'s approval of a call (once per person) and answers every approval it
    /// has, as labels in order.
    fn approve(
        &self,
        session_id: String,
        event_id: String,
        username: String,
        label: String,
    ) -> BoxFuture<'_, Result<Vec<String>, AppError>>;
    /// Every approval recorded in the session: (event id, label), in order.
    fn approvals(&self, session_id: String) -> BoxFuture<'_, Result<Vec<(String, String)>, AppError>>;
}

/// The policies' rows in SQLite.
pub struct SqlPolicies {
    pool: AnyPool,
}

/// Any [`PolicyStore`] with every policy kept in memory after the first read, forgotten on every
/// change made through it.
pub struct Policies {
    store: Arc<dyn PolicyStore>,
    /// Every policy, as last read: the notifier asks for each batch.
    cached: RwLock<Option<Arc<Vec<Policy>>>>,
    /// Told when the copy is forgotten (the policies changed here or on another replica).
    changed: tokio::sync::Notify,
}

fn now() -> String {
    domain::format::rfc3339(time::OffsetDateTime::now_utc())
}

fn policy_of(row: &sqlx::any::AnyRow) -> Result<Policy, sqlx::Error> {
    let json = |column: &str, text: Option<String>| -> Result<Option<serde_json::Value>, sqlx::Error> {
        text.map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|e| sqlx::Error::ColumnDecode { index: column.to_owned(), source: e.into() })
    };
    let escalation = json("escalation", row.try_get("escalation")?)?.unwrap_or_default();
    let quiet = json("quiet_hours", row.try_get("quiet_hours")?)?;
    let decode =
        |column: &str, e: serde_json::Error| sqlx::Error::ColumnDecode { index: column.to_owned(), source: e.into() };
    Ok(Policy {
        agent_id: row.try_get("agent_id")?,
        required_approvals: row.try_get::<i64, _>("required_approvals")? as u8,
        no_self_approval: row.try_get::<i64, _>("no_self_approval")? != 0,
        escalation: serde_json::from_value(escalation).map_err(|e| decode("escalation", e))?,
        quiet_hours: quiet.map(serde_json::from_value).transpose().map_err(|e| decode("quiet_hours", e))?,
        deadline: json("deadline", row.try_get("deadline")?)?
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| decode("deadline", e))?
            .unwrap_or_default(),
        updated_by: row.try_get("updated_by")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl SqlPolicies {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Approvals in the order they were given: by time (as a time, since RFC 3339 text with
    /// fractions of a second does not sort as text), then as written (SQLite's row order; on
    /// PostgreSQL, which keeps none, by username).
    fn in_order(&self) -> &'static str {
        match dialect(&self.pool) {
            Dialect::Sqlite => "julianday(approved_at), rowid",
            Dialect::Postgres => "approved_at::timestamptz, username",
        }
    }

    async fn all(&self) -> Result<Vec<Policy>, AppError> {
        let rows = sqlx::query("SELECT * FROM policies ORDER BY agent_id <> $1, agent_id")
            .bind(EVERY_AGENT)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError)?;
        rows.iter().map(policy_of).collect::<Result<Vec<_>, _>>().map_err(|e| AppError::from(StoreError(e)))
    }

    async fn save_now(&self, policy: Policy, by: String) -> Result<Policy, AppError> {
        let escalation = serde_json::to_string(&policy.escalation).unwrap_or_else(|_| "[]".to_owned());
        let quiet = policy.quiet_hours.map(|q| serde_json::to_string(&q).unwrap_or_default());
        let deadline = policy.deadline.is_set().then(|| serde_json::to_string(&policy.deadline).unwrap_or_default());
        let row = sqlx::query(
            "INSERT INTO policies (agent_id, required_approvals, no_self_approval, escalation, quiet_hours, deadline, updated_by, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (agent_id) DO UPDATE SET required_approvals = excluded.required_approvals,
               no_self_approval = excluded.no_self_approval, escalation = excluded.escalation,
               quiet_hours = excluded.quiet_hours, deadline = excluded.deadline,
               updated_by = excluded.updated_by, updated_at = excluded.updated_at
             RETURNING *",
        )
        .bind(&policy.agent_id)
        .bind(i64::from(policy.required_approvals))
        .bind(i64::from(policy.no_self_approval))
        .bind(escalation)
        .bind(quiet)
        .bind(deadline)
        .bind(by)
        .bind(now())
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError)?;
        policy_of(&row).map_err(|e| AppError::from(StoreError(e)))
    }

    async fn delete_now(&self, agent_id: &str) -> Result<(), AppError> {
        let deleted = sqlx::query("DELETE FROM policies WHERE agent_id = $1")
            .bind(agent_id)
            .execute(&self.pool)
            .await
            .map_err(StoreError)?;
        if deleted.rows_affected() == 0 {
            return Err(AppError::not_found("There is no such policy; it may have been removed already."));
        }
        Ok(())
    }
}

impl Policies {
    pub fn new(store: Arc<dyn PolicyStore>) -> Arc<Self> {
        Arc::new(Self { store, cached: RwLock::default(), changed: tokio::sync::Notify::new() })
    }

    /// Every policy, `*` first (from memory after the first read).
    pub async fn all(&self) -> Result<Arc<Vec<Policy>>, AppError> {
        if let Some(cached) = self.cached.read().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(cached);
        }
        let all = Arc::new(self.store.list().await?);
        *self.cached.write().unwrap_or_else(|e| e.into_inner()) = Some(all.clone());
        Ok(all)
    }

    /// The policies as last read, without reading them (`None` before the first read).
    pub fn cached(&self) -> Option<Arc<Vec<Policy>>> {
        self.cached.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets the copy: the next read is the store's (another replica changed the policies).
    pub fn forget(&self) {
        *self.cached.write().unwrap_or_else(|e| e.into_inner()) = None;
        self.changed.notify_one();
    }

    /// Returns once the policies have changed since the last return (one waiter: the inbox's
    /// poller, which runs while a policy sets a deadline).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

/// The copy delegates every method and is forgotten after a change, failed or not (a failed
/// write may still have landed).
impl PolicyStore for Policies {
    fn list(&self) -> BoxFuture<'_, Result<Vec<Policy>, AppError>> {
        Box::pin(async move { Ok(self.all().await?.as_ref().clone()) })
    }

    fn save(&self, policy: Policy, by: String) -> BoxFuture<'_, Result<Policy, AppError>> {
        Box::pin(async move {
            let saved = self.store.save(policy, by).await;
            self.forget();
            saved
        })
    }

    fn delete(&self, agent_id: String) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(async move {
            let deleted = self.store.delete(agent_id).await;
            self.forget();
            deleted
        })
    }

    fn sent(
        &self,
        session_id: String,
        event_id: Option<String>,
        username: String,
        label: String,
    ) -> BoxFuture<'_, Result<(), AppError>> {
        self.store.sent(session_id, event_id, username, label)
    }

    fn messages(&self, session_id: String) -> BoxFuture<'_, Result<Vec<SentMessage>, AppError>> {
        self.store.messages(session_id)
    }

    fn approve(
        &self,
        session_id: String,
        event_id: String,
        username: String,
        label: String,
    ) -> BoxFuture<'_, Result<Vec<String>, AppError>> {
        self.store.approve(session_id, event_id, username, label)
    }

    fn approvals(&self, session_id: String) -> BoxFuture<'_, Result<Vec<(String, String)>, AppError>> {
        self.store.approvals(session_id)
    }
}

impl PolicyStore for SqlPolicies {
    fn list(&self) -> BoxFuture<'_, Result<Vec<Policy>, AppError>> {
        Box::pin(self.all())
    }

    fn save(&self, policy: Policy, by: String) -> BoxFuture<'_, Result<Policy, AppError>> {
        Box::pin(self.save_now(policy, by))
    }

    fn delete(&self, agent_id: String) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(async move { self.delete_now(&agent_id).await })
    }

    fn sent(
        &self,
        session_id: String,
        event_id: Option<String>,
        username: String,
        label: String,
    ) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO sent_messages (session_id, event_id, username, label, sent_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
            )
            .bind(session_id)
            .bind(event_id.unwrap_or_default())
            .bind(username)
            .bind(label)
            .bind(now())
            .execute(&self.pool)
            .await
            .map_err(StoreError)?;
            Ok(())
        })
    }

    fn messages(&self, session_id: String) -> BoxFuture<'_, Result<Vec<SentMessage>, AppError>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT event_id, username, label FROM sent_messages WHERE session_id = $1")
                .bind(session_id)
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError)?;
            rows.iter()
                .map(|row| {
                    let event: String = row.try_get(0)?;
                    Ok(SentMessage {
                        event_id: Some(event).filter(|e| !e.is_empty()),
                        username: row.try_get(1)?,
                        label: row.try_get(2)?,
                    })
                })
                .collect::<Result<_, sqlx::Error>>()
                .map_err(|e| AppError::from(StoreError(e)))
        })
    }

    fn approve(
        &self,
        session_id: String,
        event_id: String,
        username: String,
        label: String,
    ) -> BoxFuture<'_, Result<Vec<String>, AppError>> {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO approvals (session_id, event_id, username, label, approved_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&session_id)
            .bind(&event_id)
            .bind(username)
            .bind(label)
            .bind(now())
            .execute(&self.pool)
            .await
            .map_err(StoreError)?;
            let rows = sqlx::query(&format!(
                "SELECT label FROM approvals WHERE session_id = $1 AND event_id = $2 ORDER BY {}",
                self.in_order()
            ))
            .bind(&session_id)
            .bind(&event_id)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError)?;
            rows.iter().map(|row| row.try_get(0)).collect::<Result<_, _>>().map_err(|e| AppError::from(StoreError(e)))
        })
    }

    fn approvals(&self, session_id: String) -> BoxFuture<'_, Result<Vec<(String, String)>, AppError>> {
        Box::pin(async move {
            let rows = sqlx::query(&format!(
                "SELECT event_id, label FROM approvals WHERE session_id = $1 ORDER BY {}",
                self.in_order()
            ))
            .bind(session_id)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError)?;
            rows.iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()
                .map_err(|e| AppError::from(StoreError(e)))
        })
    }
}

/// What every [`PolicyStore`] must do, whatever keeps it: each check takes a fresh, empty store.
#[cfg(test)]
pub mod suite {
    use super::*;

    fn policy(agent_id: &str, required_approvals: u8) -> Policy {
        Policy {
            agent_id: agent_id.to_owned(),
            required_approvals,
            no_self_approval: true,
            escalation: Vec::new(),
            quiet_hours: None,
            deadline: domain::policies::Deadline::default(),
            updated_by: String::new(),
            updated_at: String::new(),
        }
    }

    /// Saving replaces the agent's policy; the one for every agent is listed first; a removed one
    /// is gone, and removing it again is "not found".
    pub async fn a_policy_replaces_the_agents_own(store: &dyn PolicyStore) {
        store.save(policy("agent_b", 1), "Ann".into()).await.unwrap();
        let mut every = policy(EVERY_AGENT, 2);
        every.deadline = domain::policies::Deadline {
            after_secs: Some(1800),
            tools: vec![domain::policies::ToolDeadline { tool: "bash".into(), after_secs: 60 }],
        };
        store.save(every.clone(), "Ann".into()).await.unwrap();
        let saved = store.save(policy("agent_b", 2), "Bob".into()).await.unwrap();
        assert_eq!((saved.required_approvals, saved.updated_by.as_str()), (2, "Bob"));
        let listed: Vec<(String, u8)> =
            store.list().await.unwrap().into_iter().map(|p| (p.agent_id, p.required_approvals)).collect();
        assert_eq!(listed, vec![(EVERY_AGENT.to_owned(), 2), ("agent_b".to_owned(), 2)]);
        let all = store.list().await.unwrap();
        assert_eq!(all[0].deadline, every.deadline, "a deadline is kept as it was set");
        assert!(!all[1].deadline.is_set(), "a policy without one has none");
        store.delete("agent_b".into()).await.unwrap();
        assert_eq!(store.list().await.unwrap().len(), 1);
        assert_eq!(store.delete("agent_b".into()).await.unwrap_err().status(), 404);
    }

    /// One person's second approval of a call counts once; approvals come back in order.
    pub async fn an_approval_counts_once_per_person(store: &dyn PolicyStore) {
        let approve =
            |who: &str, label: &str| store.approve("sesn_1".into(), "sevt_1".into(), who.into(), label.into());
        assert_eq!(approve("ann", "Ann").await.unwrap(), vec!["Ann"]);
        assert_eq!(approve("ann", "Ann").await.unwrap(), vec!["Ann"]);
        assert_eq!(approve("bob", "Bob").await.unwrap(), vec!["Ann", "Bob"]);
        store.approve("sesn_1".into(), "sevt_2".into(), "bob".into(), "Bob".into()).await.unwrap();
        let all = store.approvals("sesn_1".into()).await.unwrap();
        assert_eq!(all.len(), 3);
        assert!(store.approvals("sesn_2".into()).await.unwrap().is_empty());
    }

    /// Who sent which message; the initial message has no event id.
    pub async fn senders_are_kept_per_session(store: &dyn PolicyStore) {
        store.sent("sesn_1".into(), None, "ann".into(), "Ann".into()).await.unwrap();
        store.sent("sesn_1".into(), Some("sevt_9".into()), "bob".into(), "Bob".into()).await.unwrap();
        let mut sent = store.messages("sesn_1".into()).await.unwrap();
        sent.sort_by(|a, b| a.username.cmp(&b.username));
        assert_eq!(
            sent,
            vec![
                SentMessage { event_id: None, username: "ann".into(), label: "Ann".into() },
                SentMessage { event_id: Some("sevt_9".into()), username: "bob".into(), label: "Bob".into() },
            ]
        );
        assert!(store.messages("sesn_2".into()).await.unwrap().is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_and_postgres_keep_policies_approvals_and_senders() {
        for db in crate::support::db::testing::databases("policies").await {
            suite::a_policy_replaces_the_agents_own(&SqlPolicies::new(db.pool.clone())).await;
            suite::an_approval_counts_once_per_person(&SqlPolicies::new(db.pool.clone())).await;
            suite::senders_are_kept_per_session(&SqlPolicies::new(db.pool.clone())).await;
        }
    }

    #[tokio::test]
    async fn the_copy_in_memory_does_what_every_store_does_and_sees_its_own_changes() {
        let dir = crate::support::Scratch::new("policies-copy");
        let pool = crate::support::db::open(&dir.0).await.unwrap();
        let copy = || Policies::new(Arc::new(SqlPolicies::new(pool.clone())));
        suite::a_policy_replaces_the_agents_own(copy().as_ref()).await;
        suite::an_approval_counts_once_per_person(copy().as_ref()).await;
        suite::senders_are_kept_per_session(copy().as_ref()).await;
        // Read once, then changed through the copy: the next read shows the change.
        let policies = copy();
        let before = policies.all().await.unwrap().len();
        let mut policy = policies.all().await.unwrap()[0].clone();
        policy.agent_id = "agent_new".into();
        policies.save(policy, "Ann".into()).await.unwrap();
        assert_eq!(policies.all().await.unwrap().len(), before + 1);
        policies.delete("agent_new".into()).await.unwrap();
        assert_eq!(policies.all().await.unwrap().len(), before);
    }
}
