//! The audit log's rows: [`AuditRows`], the seam another database's store goes behind, and
//! [`SqlAuditRows`], SQLite's `audit` table. The log is append-only: an entry is written once,
//! and only a `pending` entry (a mutation about to run) is filled in later, once; an entry of a
//! refused sign-in counts its attempts. [`suite`] is what every implementation must do.

use app::{
    api::audit::{AuditQuery, server::AuditEntry},
    upstream::client::BoxFuture,
};
use sqlx::{AnyPool, Row};

use super::{Actor, NewEntry, outcome_of};
use crate::support::{
    StoreError,
    db::{Dialect, dialect},
};

pub trait AuditRows: Send + Sync + 'static {
    /// Writes `entry` in `workspace` (`None`: the default's, and Switchboard's own); answers its id.
    fn insert<'a>(&'a self, entry: &'a NewEntry, workspace: Option<&'a str>) -> BoxFuture<'a, Result<i64, StoreError>>;
    /// Writes the entry of a mutation about to run, as `pending`; answers its id.
    fn begin<'a>(
        &'a self,
        actor: &'a Actor,
        action: &'a str,
        workspace: Option<&'a str>,
    ) -> BoxFuture<'a, Result<i64, StoreError>>;
    /// Fills in how the mutation of the `pending` entry `id` ended; an entry already filled in
    /// stays as it is.
    fn finish<'a>(&'a self, id: i64, entry: &'a NewEntry) -> BoxFuture<'a, Result<(), StoreError>>;
    /// One more attempt on a refused sign-in's entry.
    fn add_attempt(&self, id: i64) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Removes the entries written before `cutoff` (RFC 3339); answers how many.
    fn purge<'a>(&'a self, cutoff: &'a str) -> BoxFuture<'a, Result<u64, StoreError>>;
    /// The entries of `workspace` that `query` asks for, newest first.
    fn select<'a>(
        &'a self,
        query: &'a AuditQuery,
        workspace: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<AuditEntry>, StoreError>>;
}

pub struct SqlAuditRows {
    pool: AnyPool,
}

impl SqlAuditRows {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    async fn insert_now(&self, entry: &NewEntry, workspace: Option<&str>) -> Result<i64, sqlx::Error> {
        let at = app::format::rfc3339(time::OffsetDateTime::now_utc());
        sqlx::query(
            "INSERT INTO audit (at, user_id, username, roles, ip, user_agent, action, targets, detail, outcome, status, error, workspace)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(at)
        .bind(entry.actor.user_id)
        .bind(&entry.actor.username)
        .bind(&entry.actor.roles)
        .bind(&entry.actor.ip)
        .bind(&entry.actor.user_agent)
        .bind(&entry.action)
        .bind(entry.targets.join(" "))
        .bind(entry.detail.as_ref().map(|d| d.to_string()))
        .bind(outcome_of(entry.status))
        .bind(entry.status as i64)
        .bind(&entry.error)
        .bind(workspace)
        .fetch_one(&self.pool)
        .await
        .map(|row| row.get("id"))
    }

    async fn begin_now(&self, actor: &Actor, action: &str, workspace: Option<&str>) -> Result<i64, sqlx::Error> {
        let at = app::format::rfc3339(time::OffsetDateTime::now_utc());
        sqlx::query(
            "INSERT INTO audit (at, user_id, username, roles, ip, user_agent, action, outcome, status, workspace)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8) RETURNING id",
        )
        .bind(at)
        .bind(actor.user_id)
        .bind(&actor.username)
        .bind(&actor.roles)
        .bind(&actor.ip)
        .bind(&actor.user_agent)
        .bind(action)
        .bind(workspace)
        .fetch_one(&self.pool)
        .await
        .map(|row| row.get("id"))
    }

    async fn finish_now(&self, id: i64, entry: &NewEntry) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE audit SET targets = $1, detail = $2, outcome = $3, status = $4, error = $5 WHERE id = $6 AND outcome = 'pending'",
        )
        .bind(entry.targets.join(" "))
        .bind(entry.detail.as_ref().map(|d| d.to_string()))
        .bind(outcome_of(entry.status))
        .bind(entry.status as i64)
        .bind(&entry.error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn select_now(&self, query: &AuditQuery, workspace: Option<&str>) -> Result<Vec<AuditEntry>, sqlx::Error> {
        let mut sql = Filtered::new(
            "SELECT id, at, username, roles, ip, user_agent, action, targets, detail, outcome, status, error, attempts FROM audit WHERE workspace IS NOT DISTINCT FROM ",
        );
        sql.bind(Bound::Text(workspace.map(str::to_owned)));
        if !query.user.is_empty() {
            sql.push(" AND username = ").bind(Bound::Text(Some(query.user.trim().to_lowercase())));
        }
        if !query.action.is_empty() {
            let action = query.action.trim();
            if action.ends_with('/') {
                // A prefix: `length` of the argument, an integer both databases' `substr` takes.
                sql.push(" AND substr(action, 1, length(");
                let n = sql.bind(Bound::Text(Some(action.to_owned())));
                sql.push(&format!(")) = ${n}"));
            } else {
                sql.push(" AND action = ").bind(Bound::Text(Some(action.to_owned())));
            }
        }
        if !query.target.is_empty() {
            let position = match dialect(&self.pool) {
                Dialect::Sqlite => "instr(' ' || targets || ' ', ",
                Dialect::Postgres => "strpos(' ' || targets || ' ', ",
            };
            sql.push(" AND ").push(position).bind(Bound::Text(Some(format!(" {} ", query.target.trim()))));
            sql.push(") > 0");
        }
        if !query.from.is_empty() {
            sql.push(" AND substr(at, 1, 10) >= ").bind(Bound::Text(Some(query.from.clone())));
        }
        if !query.to.is_empty() {
            sql.push(" AND substr(at, 1, 10) <= ").bind(Bound::Text(Some(query.to.clone())));
        }
        if let Some(before) = query.before {
            sql.push(" AND id < ").bind(Bound::Int(before));
        }
        sql.push(" ORDER BY id DESC LIMIT ").bind(Bound::Int(query.limit.unwrap_or(100) as i64));
        let rows = sql.query().fetch_all(&self.pool).await?;
        Ok(rows.iter().map(entry_of).collect())
    }
}

/// A value a filter binds.
enum Bound {
    Text(Option<String>),
    Int(i64),
}

/// A statement of filters joined by AND, each value bound as `$N` (sqlx's builder writes `?`
/// for the `Any` driver, which PostgreSQL does not take).
struct Filtered {
    sql: String,
    values: Vec<Bound>,
}

impl Filtered {
    fn new(sql: &str) -> Self {
        Self { sql: sql.to_owned(), values: Vec::new() }
    }

    fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Writes the next placeholder and keeps `value` for it; answers its number.
    fn bind(&mut self, value: Bound) -> usize {
        self.values.push(value);
        let n = self.values.len();
        self.sql.push_str(&format!("${n}"));
        n
    }

    fn query(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
        self.values.iter().fold(sqlx::query(&self.sql), |query, value| match value {
            Bound::Text(text) => query.bind(text.as_deref()),
            Bound::Int(n) => query.bind(*n),
        })
    }
}

fn entry_of(row: &sqlx::any::AnyRow) -> AuditEntry {
    AuditEntry {
        id: row.get("id"),
        at: row.get("at"),
        username: row.get("username"),
        roles: row.get("roles"),
        ip: row.get("ip"),
        user_agent: row.get("user_agent"),
        action: row.get("action"),
        targets: row.get("targets"),
        detail: row.get::<Option<String>, _>("detail").and_then(|d| serde_json::from_str(&d).ok()),
        outcome: row.get("outcome"),
        status: row.get::<i64, _>("status") as u16,
        error: row.get("error"),
        attempts: row.get("attempts"),
    }
}

impl AuditRows for SqlAuditRows {
    fn insert<'a>(&'a self, entry: &'a NewEntry, workspace: Option<&'a str>) -> BoxFuture<'a, Result<i64, StoreError>> {
        Box::pin(async move { Ok(self.insert_now(entry, workspace).await?) })
    }

    fn begin<'a>(
        &'a self,
        actor: &'a Actor,
        action: &'a str,
        workspace: Option<&'a str>,
    ) -> BoxFuture<'a, Result<i64, StoreError>> {
        Box::pin(async move { Ok(self.begin_now(actor, action, workspace).await?) })
    }

    fn finish<'a>(&'a self, id: i64, entry: &'a NewEntry) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { Ok(self.finish_now(id, entry).await?) })
    }

    fn add_attempt(&self, id: i64) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query("UPDATE audit SET attempts = attempts + 1 WHERE id = $1").bind(id).execute(&self.pool).await?;
            Ok(())
        })
    }

    fn purge<'a>(&'a self, cutoff: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            Ok(sqlx::query("DELETE FROM audit WHERE at < $1").bind(cutoff).execute(&self.pool).await?.rows_affected())
        })
    }

    fn select<'a>(
        &'a self,
        query: &'a AuditQuery,
        workspace: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<AuditEntry>, StoreError>> {
        Box::pin(async move { Ok(self.select_now(query, workspace).await?) })
    }
}

/// What every [`AuditRows`] must do, whatever keeps it: each check takes a fresh, empty store.
#[cfg(test)]
pub mod suite {
    use super::*;

    fn entry(action: &str, username: &str, status: u16, targets: &[&str]) -> NewEntry {
        NewEntry {
            actor: Actor { username: Some(username.to_owned()), roles: "operator".to_owned(), ..Actor::default() },
            action: action.to_owned(),
            targets: targets.iter().map(|t| (*t).to_owned()).collect(),
            detail: Some(serde_json::json!({ "n": 1 })),
            status,
            error: None,
        }
    }

    fn all() -> AuditQuery {
        AuditQuery::default()
    }

    /// A pending entry is filled in once; a second outcome does not overwrite the first, nor
    /// does an outcome change an entry that was never pending.
    pub async fn an_entry_is_written_once(rows: &dyn AuditRows) {
        let ann = Actor { username: Some("ann".into()), roles: "operator".into(), ..Actor::default() };
        let id = rows.begin(&ann, "agents/create", None).await.unwrap();
        let pending = rows.select(&all(), None).await.unwrap();
        assert_eq!((pending[0].id, pending[0].outcome.as_str()), (id, "pending"));
        rows.finish(id, &entry("agents/create", "ann", 200, &["agent_1"])).await.unwrap();
        rows.finish(id, &entry("agents/create", "ann", 500, &["agent_2"])).await.unwrap();
        let done = rows.select(&all(), None).await.unwrap();
        assert_eq!((done[0].outcome.as_str(), done[0].status, done[0].targets.as_str()), ("ok", 200, "agent_1"));
        let plain = rows.insert(&entry("vaults/delete", "bob", 403, &[]), None).await.unwrap();
        rows.finish(plain, &entry("vaults/delete", "bob", 200, &[])).await.unwrap();
        let listed = rows.select(&all(), None).await.unwrap();
        assert_eq!((listed[0].id, listed[0].outcome.as_str()), (plain, "refused"), "newest first");
    }

    /// Each workspace reads its own entries; filters by person, action (a prefix ending in `/`),
    /// target and page.
    pub async fn entries_are_found_by_what_they_say(rows: &dyn AuditRows) {
        rows.insert(&entry("agents/create", "ann", 200, &["agent_1"]), None).await.unwrap();
        rows.insert(&entry("agents/archive", "bob", 200, &["agent_1", "agent_2"]), None).await.unwrap();
        rows.insert(&entry("vaults/create", "ann", 200, &["vlt_1"]), Some("staging")).await.unwrap();
        let find = |query: AuditQuery, workspace| async move {
            rows.select(&query, workspace).await.unwrap().into_iter().map(|e| e.action).collect::<Vec<_>>()
        };
        assert_eq!(find(all(), None).await, ["agents/archive", "agents/create"]);
        assert_eq!(find(all(), Some("staging")).await, ["vaults/create"]);
        assert_eq!(find(AuditQuery { user: "ANN".into(), ..all() }, None).await, ["agents/create"]);
        assert_eq!(find(AuditQuery { action: "agents/".into(), ..all() }, None).await.len(), 2);
        assert_eq!(find(AuditQuery { action: "agents".into(), ..all() }, None).await.len(), 0);
        assert_eq!(find(AuditQuery { target: "agent_2".into(), ..all() }, None).await, ["agents/archive"]);
        let newest = rows.select(&all(), None).await.unwrap()[0].id;
        assert_eq!(find(AuditQuery { before: Some(newest), limit: Some(1), ..all() }, None).await, ["agents/create"]);
    }

    /// Attempts add up on one entry; purging removes only what is older than the cutoff.
    pub async fn attempts_count_and_purge_keeps_the_recent(rows: &dyn AuditRows) {
        let id = rows.insert(&entry("auth/login", "ann", 401, &[]), None).await.unwrap();
        rows.add_attempt(id).await.unwrap();
        rows.add_attempt(id).await.unwrap();
        assert_eq!(rows.select(&all(), None).await.unwrap()[0].attempts, 3);
        let long_ago = app::format::rfc3339(time::OffsetDateTime::now_utc() - time::Duration::days(1));
        assert_eq!(rows.purge(&long_ago).await.unwrap(), 0);
        let later = app::format::rfc3339(time::OffsetDateTime::now_utc() + time::Duration::days(1));
        assert_eq!(rows.purge(&later).await.unwrap(), 1);
        assert!(rows.select(&all(), None).await.unwrap().is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_and_postgres_keep_an_append_only_log() {
        for check in 0..3 {
            for db in crate::support::db::testing::databases("audit-rows").await {
                let rows = SqlAuditRows::new(db.pool.clone());
                match check {
                    0 => suite::an_entry_is_written_once(&rows).await,
                    1 => suite::entries_are_found_by_what_they_say(&rows).await,
                    _ => suite::attempts_count_and_purge_keeps_the_recent(&rows).await,
                }
            }
        }
    }
}
