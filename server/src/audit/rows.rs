//! The audit log's rows: [`AuditRows`], the seam another database's store goes behind, and
//! [`SqlAuditRows`], the `audit` table. The log is append-only: an entry is written once, and
//! only a `pending` entry (a mutation about to run) is filled in later, once; an entry of a
//! refused sign-in counts its attempts ([`RefusedSignIn`]). [`suite`] is what every
//! implementation must do.

use domain::{
    audit::{AuditQuery, server::AuditEntry},
    upstream::client::BoxFuture,
};
use sqlx::{Any, AnyPool, Row, Transaction};

use super::{Actor, NewEntry, outcome_of};
use crate::support::{
    StoreError,
    db::{Dialect, dialect},
    key_locks::{Work, locked},
};

/// A refused sign-in to count ([`AuditRows::count_refused`]): `entry`, from `address` (as the
/// sign-in throttle counts it), at `at`. It adds an attempt to the newest entry of its action,
/// address and username written after `since`, or starts one (in `workspace`); past `names`
/// usernames with entries from the address since then, it goes into the entry naming none,
/// `unnamed`.
#[derive(Debug, Clone, Copy)]
pub struct RefusedSignIn<'a> {
    pub entry: &'a NewEntry,
    /// `entry` naming no username, as the entry of an address's refusals past `names` reads.
    pub unnamed: &'a NewEntry,
    pub address: &'a str,
    /// RFC 3339, as entries' `at`.
    pub at: &'a str,
    pub since: &'a str,
    pub names: usize,
    pub workspace: Option<&'a str>,
}

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
    /// Counts a refused sign-in in its entry, or starts one; two at once (on any replicas) do not
    /// both start one.
    fn count_refused<'a>(&'a self, refused: RefusedSignIn<'a>) -> BoxFuture<'a, Result<(), StoreError>>;
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
        let at = domain::format::rfc3339(time::OffsetDateTime::now_utc());
        insert(&self.pool, entry, workspace, None, &at).await
    }

    /// [`AuditRows::count_refused`]: one transaction holding the lock of the refusal's action and
    /// address, so that two replicas refusing it at once do not both start an entry. Its lookups
    /// read the address's entries of the last window alone (`audit_refused_sign_ins`): at most a
    /// few more than `names`.
    async fn count_refused_now(&self, refused: &RefusedSignIn<'_>) -> Result<(), sqlx::Error> {
        let RefusedSignIn { entry, unnamed, address, at, since, names, workspace } = *refused;
        let action = entry.action.as_str();
        let mut tx = locked(&self.pool, Work::RefusedSignIns, &[&format!("{action} {address}")]).await?;
        let mut written = entry;
        if let Some(username) = entry.actor.username.as_deref() {
            if let Some(id) = newest_entry(&mut tx, address, action, since, Some(username)).await? {
                return add_attempt(tx, id).await;
            }
            let named: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM (SELECT 1 FROM audit WHERE address = $1 AND action = $2 AND at > $3
                 AND username IS NOT NULL LIMIT $4) AS named",
            )
            .bind(address)
            .bind(action)
            .bind(since)
            .bind(names as i64)
            .fetch_one(&mut *tx)
            .await?;
            if named >= names as i64 {
                written = unnamed;
            }
        }
        if written.actor.username.is_none()
            && let Some(id) = newest_entry(&mut tx, address, action, since, None).await?
        {
            return add_attempt(tx, id).await;
        }
        insert(&mut *tx, written, workspace, Some(address), at).await?;
        tx.commit().await
    }

    async fn begin_now(&self, actor: &Actor, action: &str, workspace: Option<&str>) -> Result<i64, sqlx::Error> {
        let at = domain::format::rfc3339(time::OffsetDateTime::now_utc());
        sqlx::query(
            "INSERT INTO audit (at, user_id, username, roles, ip, user_agent, action, outcome, status, workspace, credential)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $9) RETURNING id",
        )
        .bind(at)
        .bind(actor.user_id)
        .bind(&actor.username)
        .bind(&actor.roles)
        .bind(&actor.ip)
        .bind(&actor.user_agent)
        .bind(action)
        .bind(workspace)
        .bind(&actor.credential)
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
            "SELECT id, at, username, roles, ip, user_agent, credential, action, targets, detail, outcome, status, error, attempts FROM audit WHERE workspace IS NOT DISTINCT FROM ",
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

/// Writes `entry` in `workspace` (`address`: the one a refused sign-in's entry counts) at `at`;
/// answers its id.
async fn insert<'e, E>(
    executor: E,
    entry: &NewEntry,
    workspace: Option<&str>,
    address: Option<&str>,
    at: &str,
) -> Result<i64, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO audit (at, user_id, username, roles, ip, user_agent, action, targets, detail, outcome, status, error, workspace, address, credential)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
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
    .bind(address)
    .bind(&entry.actor.credential)
    .fetch_one(executor)
    .await
    .map(|row| row.get("id"))
}

/// The newest entry of `action`'s refusals from `address` at `username` (`None`: the one naming
/// nobody) written after `since`.
async fn newest_entry(
    tx: &mut Transaction<'static, Any>,
    address: &str,
    action: &str,
    since: &str,
    username: Option<&str>,
) -> Result<Option<i64>, sqlx::Error> {
    let named = if username.is_some() { "username = $4" } else { "username IS NULL" };
    let sql = format!(
        "SELECT id FROM audit WHERE address = $1 AND action = $2 AND at > $3 AND {named} ORDER BY id DESC LIMIT 1"
    );
    let mut query = sqlx::query_scalar(&sql).bind(address).bind(action).bind(since);
    if let Some(username) = username {
        query = query.bind(username);
    }
    query.fetch_optional(&mut **tx).await
}

/// One more attempt on the refused sign-in's entry `id`, and the end of `tx`.
async fn add_attempt(mut tx: Transaction<'static, Any>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE audit SET attempts = attempts + 1 WHERE id = $1").bind(id).execute(&mut *tx).await?;
    tx.commit().await
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
        credential: row.get("credential"),
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

    fn count_refused<'a>(&'a self, refused: RefusedSignIn<'a>) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { Ok(self.count_refused_now(&refused).await?) })
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
    use domain::format::rfc3339;
    use time::OffsetDateTime;

    use super::*;
    use crate::{audit::SIGN_IN_WINDOW, support::proxies::address_key};

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

    /// Counts a refused sign-in of `username` from `ip` at `at`, as the log does, with a window of
    /// [`SIGN_IN_WINDOW`] and 3 usernames an address.
    pub async fn refuse(rows: &dyn AuditRows, username: Option<&str>, ip: &str, at: OffsetDateTime) {
        let actor = Actor { ip: Some(ip.to_owned()), username: username.map(str::to_owned), ..Actor::default() };
        let entry = NewEntry::auth(actor, "auth/login", 401, Some("wrong username or password"));
        let unnamed = NewEntry { error: Some("at a username past the first 3".into()), ..entry.clone() };
        let unnamed = NewEntry { actor: Actor { username: None, ..unnamed.actor.clone() }, ..unnamed };
        let (address, since, at) = (address_key(ip), rfc3339(at - SIGN_IN_WINDOW), rfc3339(at));
        let refused = RefusedSignIn {
            entry: &entry,
            unnamed: &unnamed,
            address: &address,
            at: &at,
            since: &since,
            names: 3,
            workspace: None,
        };
        rows.count_refused(refused).await.unwrap();
    }

    /// The entries' username, address and attempts, oldest first.
    async fn counted(rows: &dyn AuditRows) -> Vec<(Option<String>, Option<String>, i64)> {
        let mut entries = rows.select(&all(), None).await.unwrap();
        entries.reverse();
        entries.into_iter().map(|e| (e.username, e.ip, e.attempts)).collect()
    }

    /// A refused sign-in adds an attempt to the entry of its address (an IPv6 one by its /64) and
    /// username of the last window, or starts one, once however many come at once; past the
    /// address's first usernames they share an entry naming none.
    pub async fn refused_sign_ins_are_counted_per_address_and_username(rows: &dyn AuditRows) {
        let now = OffsetDateTime::now_utc();
        for ip in ["2001:db8:1:2::1", "2001:db8:1:2::2"] {
            refuse(rows, Some("ada"), ip, now).await;
        }
        refuse(rows, Some("ada"), "2001:db8:1:3::1", now).await;
        // Its window ended: the next is a new entry.
        refuse(rows, Some("ada"), "2001:db8:1:2::1", now + SIGN_IN_WINDOW).await;
        let entry = |name: &str, ip: &str, attempts| (Some(name.to_owned()), Some(ip.to_owned()), attempts);
        assert_eq!(
            counted(rows).await,
            [
                entry("ada", "2001:db8:1:2::1", 2),
                entry("ada", "2001:db8:1:3::1", 1),
                entry("ada", "2001:db8:1:2::1", 1)
            ]
        );
        // At once: one entry counts them all.
        futures::future::join_all((0..10).map(|_| refuse(rows, Some("grace"), "192.0.2.7", now))).await;
        assert_eq!(counted(rows).await[3], entry("grace", "192.0.2.7", 10));
        // Name after name: an entry for each of the first 3, then one naming none.
        for n in 0..6 {
            refuse(rows, Some(&format!("user{n}")), "198.51.100.9", now).await;
        }
        refuse(rows, None, "198.51.100.9", now).await;
        let names: Vec<_> =
            counted(rows).await.into_iter().skip(4).map(|(name, _, attempts)| (name, attempts)).collect();
        let user = |n: usize| (Some(format!("user{n}")), 1);
        assert_eq!(names, [user(0), user(1), user(2), (None, 4)]);
        let past = rows.select(&all(), None).await.unwrap().remove(0);
        assert_eq!(past.error.as_deref(), Some("at a username past the first 3"));
    }

    /// Attempts add up on one entry; purging removes only what is older than the cutoff.
    pub async fn attempts_count_and_purge_keeps_the_recent(rows: &dyn AuditRows) {
        for _ in 0..3 {
            refuse(rows, Some("ann"), "192.0.2.1", OffsetDateTime::now_utc()).await;
        }
        assert_eq!(rows.select(&all(), None).await.unwrap()[0].attempts, 3);
        let long_ago = domain::format::rfc3339(time::OffsetDateTime::now_utc() - time::Duration::days(1));
        assert_eq!(rows.purge(&long_ago).await.unwrap(), 0);
        let later = domain::format::rfc3339(time::OffsetDateTime::now_utc() + time::Duration::days(1));
        assert_eq!(rows.purge(&later).await.unwrap(), 1);
        assert!(rows.select(&all(), None).await.unwrap().is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_and_postgres_keep_an_append_only_log() {
        for check in 0..4 {
            for db in crate::support::db::testing::databases("audit-rows").await {
                let rows = SqlAuditRows::new(db.pool.clone());
                match check {
                    0 => suite::an_entry_is_written_once(&rows).await,
                    1 => suite::entries_are_found_by_what_they_say(&rows).await,
                    2 => suite::refused_sign_ins_are_counted_per_address_and_username(&rows).await,
                    _ => suite::attempts_count_and_purge_keeps_the_recent(&rows).await,
                }
            }
        }
    }

    /// Issue 46: each replica kept its own map of the entries counting refusals, so each started
    /// its own entry per address and username per window.
    #[tokio::test]
    async fn two_replicas_refusing_at_once_count_in_one_entry() {
        use crate::support::db::{open_postgres, testing::fresh_postgres_database};
        let url = fresh_postgres_database("audit-replicas").await;
        let mut replicas = Vec::new();
        for _ in 0..2 {
            replicas.push(SqlAuditRows::new(open_postgres(&url, None, 4).await.unwrap()));
        }
        let now = time::OffsetDateTime::now_utc();
        futures::future::join_all((0..20).map(|n| suite::refuse(&replicas[n % 2], Some("ada"), "192.0.2.1", now)))
            .await;
        let entries = replicas[0].select(&AuditQuery::default(), None).await.unwrap();
        assert_eq!(entries.iter().map(|e| e.attempts).collect::<Vec<_>>(), [20]);
    }
}
