//! The login cookie's sessions (tower-sessions' records behind `switchboard_login`), stored under
//! the SHA-256 of the session id, never the id itself. The id is the cookie's value: a store that
//! kept it would let anyone who reads a copy of the database (a backup) sign in as anyone.
//!
//! [`HashedSessionStore`] implements tower-sessions' traits once; what it asks of a database is
//! [`SessionRows`], five statements by the id's hash. SQLite's are [`SqlSessionRows`]; another
//! database's would sit beside them. [`rehash_unhashed`] moves the sessions an older Switchboard
//! stored under the cookie's value (tower-sessions-sqlx-store) to their hashed form.

use std::fmt::Debug;

use async_trait::async_trait;
use sqlx::AnyPool;
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, ExpiredDeletion, SessionStore},
};

/// What a session is stored under: the SHA-256, in hex, of its id's string form (the cookie's
/// value).
pub fn id_hash(id: &Id) -> String {
    crate::support::sha256_hex(&id.to_string())
}

/// One stored session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub id_hash: String,
    /// The session's data as JSON.
    pub data: String,
    /// Its expiry, in milliseconds since 1970 (UTC).
    pub expires_ms: i64,
}

/// What a session store needs of its database, every row found by its id's hash.
pub trait SessionRows: Debug + Clone + Send + Sync + 'static {
    /// Adds `row`; false (and nothing changed) when its hash is taken.
    fn insert(&self, row: &SessionRow) -> impl Future<Output = Result<bool, sqlx::Error>> + Send;
    /// Adds `row`, or replaces the data and expiry of the row with its hash.
    fn upsert(&self, row: &SessionRow) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// The row with `id_hash`, unless it expired by `now_ms`.
    fn find(&self, id_hash: &str, now_ms: i64) -> impl Future<Output = Result<Option<SessionRow>, sqlx::Error>> + Send;
    fn delete(&self, id_hash: &str) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
    /// Removes the rows expired by `now_ms`; answers how many.
    fn delete_expired(&self, now_ms: i64) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;
}

/// tower-sessions' store over [`SessionRows`]: ids go in hashed, records' data as JSON.
#[derive(Debug, Clone)]
pub struct HashedSessionStore<R> {
    rows: R,
}

/// The login sessions in Switchboard's database.
pub type LoginSessions = HashedSessionStore<SqlSessionRows>;

impl LoginSessions {
    /// The sessions in `login_sessions` of `pool` (migration 0015).
    pub fn sql(pool: AnyPool) -> Self {
        Self::new(SqlSessionRows { pool })
    }
}

impl<R: SessionRows> HashedSessionStore<R> {
    pub fn new(rows: R) -> Self {
        Self { rows }
    }
}

/// `record` as it is stored: everything but its id, which only its hash stands for.
fn row_of(record: &Record) -> Result<SessionRow, session_store::Error> {
    Ok(SessionRow {
        id_hash: id_hash(&record.id),
        data: serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?,
        expires_ms: unix_ms(record.expiry_date),
    })
}

fn unix_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn backend(error: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

#[async_trait]
impl<R: SessionRows> SessionStore for HashedSessionStore<R> {
    /// On a taken id (its hash, really), a new id, as tower-sessions asks of a store.
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        while !self.rows.insert(&row_of(record)?).await.map_err(backend)? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.rows.upsert(&row_of(record)?).await.map_err(backend)
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let now = unix_ms(OffsetDateTime::now_utc());
        let Some(row) = self.rows.find(&id_hash(session_id), now).await.map_err(backend)? else {
            return Ok(None);
        };
        let decode = |e: &dyn std::fmt::Display| session_store::Error::Decode(e.to_string());
        Ok(Some(Record {
            id: *session_id,
            data: serde_json::from_str(&row.data).map_err(|e| decode(&e))?,
            expiry_date: OffsetDateTime::from_unix_timestamp_nanos(i128::from(row.expires_ms) * 1_000_000)
                .map_err(|e| decode(&e))?,
        }))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        self.rows.delete(&id_hash(session_id)).await.map_err(backend)
    }
}

#[async_trait]
impl<R: SessionRows> ExpiredDeletion for HashedSessionStore<R> {
    async fn delete_expired(&self) -> session_store::Result<()> {
        self.rows.delete_expired(unix_ms(OffsetDateTime::now_utc())).await.map(drop).map_err(backend)
    }
}

/// `login_sessions` in SQLite.
#[derive(Debug, Clone)]
pub struct SqlSessionRows {
    pool: AnyPool,
}

const INSERT: &str =
    "INSERT INTO login_sessions (id_hash, data, expires_ms) VALUES ($1, $2, $3) ON CONFLICT (id_hash) DO NOTHING";

impl SessionRows for SqlSessionRows {
    async fn insert(&self, row: &SessionRow) -> Result<bool, sqlx::Error> {
        let done =
            sqlx::query(INSERT).bind(&row.id_hash).bind(&row.data).bind(row.expires_ms).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn upsert(&self, row: &SessionRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO login_sessions (id_hash, data, expires_ms) VALUES ($1, $2, $3)
             ON CONFLICT (id_hash) DO UPDATE SET data = excluded.data, expires_ms = excluded.expires_ms",
        )
        .bind(&row.id_hash)
        .bind(&row.data)
        .bind(row.expires_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find(&self, id_hash: &str, now_ms: i64) -> Result<Option<SessionRow>, sqlx::Error> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT data, expires_ms FROM login_sessions WHERE id_hash = $1 AND expires_ms > $2")
                .bind(id_hash)
                .bind(now_ms)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(data, expires_ms)| SessionRow { id_hash: id_hash.to_owned(), data, expires_ms }))
    }

    async fn delete(&self, id_hash: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM login_sessions WHERE id_hash = $1").bind(id_hash).execute(&self.pool).await?;
        Ok(())
    }

    async fn delete_expired(&self, now_ms: i64) -> Result<u64, sqlx::Error> {
        let done =
            sqlx::query("DELETE FROM login_sessions WHERE expires_ms <= $1").bind(now_ms).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}

/// Opens Switchboard's main database (`support::db::open`) and finishes migration 0015, which
/// needs SHA-256 and so Rust ([`rehash_unhashed`]).
pub async fn open_main_database(dir: &std::path::Path) -> Result<AnyPool, sqlx::Error> {
    let pool = crate::support::db::open(dir).await?;
    // Migration 0015's other half: SQLite has no SHA-256.
    rehash_unhashed(&pool).await?;
    Ok(pool)
}

/// Moves the sessions that tower-sessions-sqlx-store kept under the cookie's value (set aside by
/// migration 0015 as `login_sessions_unhashed`) to `login_sessions` under their hash, in one
/// transaction; expired and unreadable ones are dropped (their browsers sign in again). Then the
/// file is vacuumed, which rewrites every page, so that no freed page keeps an old cookie's
/// value, and the write-ahead log is emptied. A no-op once done; run again if a start stopped
/// halfway.
pub async fn rehash_unhashed(pool: &AnyPool) -> Result<(), sqlx::Error> {
    let pending: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'login_sessions_unhashed'",
    )
    .fetch_one(pool)
    .await?;
    if pending == 0 {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    let old: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT data FROM login_sessions_unhashed").fetch_all(&mut *tx).await?;
    let now = unix_ms(OffsetDateTime::now_utc());
    let mut moved = 0;
    for (data,) in &old {
        // The old store's row: the whole record (its id among it) in MessagePack.
        let Some(row) = rmp_serde::from_slice::<Record>(data).ok().and_then(|record| row_of(&record).ok()) else {
            continue;
        };
        if row.expires_ms > now {
            sqlx::query(INSERT).bind(&row.id_hash).bind(&row.data).bind(row.expires_ms).execute(&mut *tx).await?;
            moved += 1;
        }
    }
    // Emptied in the transaction, dropped after the vacuum: a start that stops before the vacuum
    // finds the table still there, and vacuums then.
    sqlx::query("DELETE FROM login_sessions_unhashed").execute(&mut *tx).await?;
    tx.commit().await?;
    if !old.is_empty() {
        tracing::info!(
            "login sessions are now stored under a hash of their cookie: {moved} moved, {} expired or unreadable ones ended",
            old.len() - moved
        );
    }
    sqlx::query("VACUUM").execute(pool).await?;
    sqlx::query("DROP TABLE login_sessions_unhashed").execute(pool).await?;
    if !crate::support::db::empty_wal(pool).await? {
        tracing::warn!("the write-ahead log could not be emptied after the login sessions moved; it will be later");
    }
    Ok(())
}

/// What every [`SessionRows`] must do, whatever keeps it: each check takes a fresh, empty store.
#[cfg(test)]
pub mod suite {
    use super::*;

    fn row(hash: &str, data: &str, expires_ms: i64) -> SessionRow {
        SessionRow { id_hash: hash.to_owned(), data: data.to_owned(), expires_ms }
    }

    /// A hash is taken once; an upsert replaces its data and expiry; an expired row is not found
    /// and is what `delete_expired` removes.
    pub async fn rows_are_kept_by_hash_until_they_expire(rows: &impl SessionRows) {
        assert!(rows.insert(&row("h1", "{\"a\":1}", 2_000)).await.unwrap());
        assert!(!rows.insert(&row("h1", "{\"a\":2}", 3_000)).await.unwrap(), "a taken hash is refused");
        assert_eq!(rows.find("h1", 1_000).await.unwrap(), Some(row("h1", "{\"a\":1}", 2_000)));
        rows.upsert(&row("h1", "{\"a\":3}", 5_000)).await.unwrap();
        rows.upsert(&row("h2", "{}", 1_500)).await.unwrap();
        assert_eq!(rows.find("h1", 4_000).await.unwrap().map(|r| r.data), Some("{\"a\":3}".to_owned()));
        assert_eq!(rows.find("h2", 1_600).await.unwrap(), None, "expired: not found");
        assert_eq!(rows.delete_expired(1_600).await.unwrap(), 1);
        rows.delete("h1").await.unwrap();
        assert_eq!(rows.find("h1", 0).await.unwrap(), None);
        assert_eq!(rows.delete_expired(i64::MAX).await.unwrap(), 0);
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::HashMap, path::Path, str::FromStr};

    use time::{Duration, format_description::well_known::Rfc3339};

    use super::*;

    fn record(login: &str, expires_in: Duration) -> Record {
        let data = HashMap::from([("login".to_owned(), serde_json::json!({ "login": login, "user_id": 1 }))]);
        Record { id: Id::default(), data, expiry_date: OffsetDateTime::now_utc() + expires_in }
    }

    async fn stored_hashes(pool: &AnyPool) -> Vec<String> {
        sqlx::query_scalar("SELECT id_hash FROM login_sessions ORDER BY id_hash").fetch_all(pool).await.unwrap()
    }

    /// Every file under `dir` that holds `needle`.
    fn files_holding(dir: &Path, needle: &[u8]) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && std::fs::read(p).unwrap().windows(needle.len()).any(|w| w == needle))
            .map(|p| p.display().to_string())
            .collect()
    }

    #[tokio::test]
    async fn sqlite_and_postgres_rows_keep_sessions_by_hash() {
        for db in crate::support::db::testing::databases("session-rows").await {
            super::suite::rows_are_kept_by_hash_until_they_expire(&SqlSessionRows { pool: db.pool.clone() }).await;
        }
    }

    #[tokio::test]
    async fn sessions_are_kept_under_the_hash_of_their_id_and_expire() {
        let dir = crate::support::Scratch::new("login-sessions");
        let pool = open_main_database(&dir.0).await.unwrap();
        let store = LoginSessions::sql(pool.clone());

        let mut ada = record("ada", Duration::hours(1));
        store.create(&mut ada).await.unwrap();
        let loaded = store.load(&ada.id).await.unwrap().expect("the session is found by its id");
        assert_eq!((loaded.id, &loaded.data), (ada.id, &ada.data));
        assert!((loaded.expiry_date - ada.expiry_date).abs() < Duration::milliseconds(1));
        // Stored under the id's SHA-256, and the id is nowhere in the row.
        let cookie = ada.id.to_string();
        assert_eq!(
            stored_hashes(&pool).await,
            [{
                use sha2::{Digest, Sha256};
                format!("{:x}", Sha256::digest(cookie.as_bytes()))
            }]
        );
        let (hash, data): (String, String) =
            sqlx::query_as("SELECT id_hash, data FROM login_sessions").fetch_one(&pool).await.unwrap();
        assert!(hash != cookie && !data.contains(&cookie), "{hash} {data}");
        // Another id finds nothing.
        assert!(store.load(&Id::default()).await.unwrap().is_none());

        ada.data.insert("more".to_owned(), serde_json::json!(2));
        store.save(&ada).await.unwrap();
        assert_eq!(store.load(&ada.id).await.unwrap().unwrap().data, ada.data);

        store.delete(&ada.id).await.unwrap();
        assert!(store.load(&ada.id).await.unwrap().is_none(), "signed out");
        assert!(stored_hashes(&pool).await.is_empty());

        // An expired session is not loaded, and expired deletion removes only those.
        let mut gone = record("gone", Duration::seconds(-1));
        let mut live = record("live", Duration::hours(1));
        store.create(&mut gone).await.unwrap();
        store.create(&mut live).await.unwrap();
        assert!(store.load(&gone.id).await.unwrap().is_none());
        assert_eq!(stored_hashes(&pool).await.len(), 2);
        store.delete_expired().await.unwrap();
        assert_eq!(stored_hashes(&pool).await, [id_hash(&live.id)]);
        assert_eq!(store.load(&live.id).await.unwrap().unwrap().data, live.data);
    }

    #[tokio::test]
    async fn creating_a_session_under_a_taken_id_picks_a_new_id() {
        let dir = crate::support::Scratch::new("login-sessions");
        let store = LoginSessions::sql(open_main_database(&dir.0).await.unwrap());
        let mut first = record("first", Duration::hours(1));
        store.create(&mut first).await.unwrap();
        let mut second = record("second", Duration::hours(1));
        second.id = first.id;
        store.create(&mut second).await.unwrap();
        assert_ne!(second.id, first.id);
        assert_eq!(store.load(&first.id).await.unwrap().unwrap().data, first.data, "the first is untouched");
        assert_eq!(store.load(&second.id).await.unwrap().unwrap().data, second.data);
    }

    #[tokio::test]
    async fn sessions_an_older_switchboard_stored_are_rehashed_and_scrubbed_from_the_file() {
        let dir = crate::support::Scratch::new("login-sessions");
        // The database as an older Switchboard left it: tower-sessions-sqlx-store's table, its
        // rows keyed by the cookie's value, the record in MessagePack; one row already deleted by
        // its expiry clean-up, whose bytes linger in a free part of a page.
        crate::support::db::install_drivers();
        let old = sqlx::AnyPool::connect(&format!("sqlite://{}?mode=rwc", dir.0.join("switchboard.db").display()))
            .await
            .unwrap();
        sqlx::query("PRAGMA journal_mode = WAL").execute(&old).await.unwrap();
        sqlx::query(
            "create table if not exists login_sessions
             (id text primary key not null, data blob not null, expiry_date integer not null)",
        )
        .execute(&old)
        .await
        .unwrap();
        let live = [record("ada", Duration::hours(1)), record("bob", Duration::hours(2))];
        let (expired, deleted) = (record("old", Duration::seconds(-5)), record("deleted", Duration::seconds(-5)));
        for record in live.iter().chain([&expired, &deleted]) {
            sqlx::query("insert or abort into login_sessions (id, data, expiry_date) values (?, ?, ?)")
                .bind(record.id.to_string())
                .bind(rmp_serde::to_vec(record).unwrap())
                .bind(record.expiry_date.format(&Rfc3339).unwrap())
                .execute(&old)
                .await
                .unwrap();
        }
        sqlx::query("delete from login_sessions where id = ?")
            .bind(deleted.id.to_string())
            .execute(&old)
            .await
            .unwrap();
        old.close().await;
        let every = || live.iter().chain([&expired, &deleted]);
        for record in every() {
            assert!(!files_holding(&dir.0, record.id.to_string().as_bytes()).is_empty(), "the old file holds it");
        }

        let pool = open_main_database(&dir.0).await.unwrap();
        let store = LoginSessions::sql(pool.clone());
        for record in &live {
            let loaded = store.load(&record.id).await.unwrap().expect("a live session survives the upgrade");
            assert_eq!(loaded.data, record.data);
        }
        assert!(store.load(&expired.id).await.unwrap().is_none());
        let mut expected: Vec<String> = live.iter().map(|r| id_hash(&r.id)).collect();
        expected.sort();
        assert_eq!(stored_hashes(&pool).await, expected);
        let tables: Vec<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE name LIKE 'login_sessions%' AND type = 'table'")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(tables, ["login_sessions"]);
        // No file holds any of the ids, as text or as the record's 16 bytes.
        for record in every() {
            assert_eq!(files_holding(&dir.0, record.id.to_string().as_bytes()), Vec::<String>::new());
            assert_eq!(files_holding(&dir.0, &record.id.0.to_le_bytes()), Vec::<String>::new());
        }
        assert_eq!(std::fs::metadata(dir.0.join("switchboard.db-wal")).map(|m| m.len()).unwrap_or(0), 0);

        // A second start has nothing to do, and keeps the sessions.
        pool.close().await;
        let pool = open_main_database(&dir.0).await.unwrap();
        assert_eq!(stored_hashes(&pool).await, expected);
        let id = Id::from_str(&live[0].id.to_string()).unwrap();
        assert!(LoginSessions::sql(pool).load(&id).await.unwrap().is_some());
    }
}
