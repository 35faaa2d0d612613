//! Switchboard's own database: `switchboard.db` (SQLite, WAL) in the data directory, holding
//! decisions, accounts, login sessions and the audit log. Migrations are embedded in the binary;
//! the main database's step of Rust after them (login sessions rehashed, which SQL cannot do) is
//! `access::session_store::open_main_database`'s.

use std::{path::Path, str::FromStr, time::Duration};

use sqlx::{
    SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens (or creates) `switchboard.db` in `dir` and brings its schema up to date.
pub async fn open(dir: &Path) -> Result<SqlitePool, sqlx::Error> {
    // 0600, and so its -wal and -shm: it holds logins, the audit log and sealed keys.
    engine::private::private_database(&dir.join("switchboard.db"))?;
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", dir.join("switchboard.db").display()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// The row number of an id Switchboard gives its own rows (`share_12`, `import_3`: `prefix` and
/// the number), or `None` for anything else.
pub fn row_number(id: &str, prefix: &str) -> Option<i64> {
    id.trim().strip_prefix(prefix)?.strip_prefix('_')?.parse().ok()
}
