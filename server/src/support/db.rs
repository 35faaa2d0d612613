//! Switchboard's own database: SQLite by default (`switchboard.db` in the data directory, WAL),
//! or PostgreSQL when `SWITCHBOARD_DATABASE_URL` names one, so that several replicas share it.
//!
//! One pool type serves both: sqlx's [`AnyPool`]. Every store's statements are written once, in
//! the SQL both databases take: `$1` placeholders (SQLite reads `$N` as the N-th argument),
//! `ON CONFLICT`, `RETURNING`, integers for flags (0 or 1), RFC 3339 text for times. Where the two
//! differ, [`dialect`] says which one a pool speaks. Each database has its migrations folder with
//! the same numbered steps (`migrations/sqlite`, `migrations/postgres`); `tests/schema.rs` checks
//! that they make the same tables.
//!
//! A connected workspace's own records are a database of their own: a file under
//! `workspaces/<id>/` on SQLite, a schema `ws_<id>` on PostgreSQL ([`open_postgres`] with a
//! schema), so nothing of one workspace can be read through another's, by construction.

use std::{path::Path, sync::Once, time::Duration};

use sqlx::{AnyPool, Executor, any::AnyPoolOptions};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Which SQL a pool speaks, where the two differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The dialect of `pool`, from the URL it connects to.
pub fn dialect(pool: &AnyPool) -> Dialect {
    match pool.connect_options().database_url.scheme() {
        "sqlite" => Dialect::Sqlite,
        _ => Dialect::Postgres,
    }
}

/// sqlx's `Any` finds its drivers here; every pool is made after this.
pub fn install_drivers() {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(|| {
        sqlx::any::install_drivers(&[sqlx::sqlite::any::DRIVER, sqlx::postgres::any::DRIVER])
            .expect("the database drivers are installed once");
    });
}

/// Opens (or creates) `switchboard.db` in `dir` and brings its schema up to date.
pub async fn open(dir: &Path) -> Result<AnyPool, sqlx::Error> {
    install_drivers();
    // 0600, and so its -wal and -shm: it holds logins, the audit log and sealed keys.
    let file = dir.join("switchboard.db");
    engine::private::private_database(&file)?;
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let pool = AnyPoolOptions::new()
        .max_connections(4)
        .after_connect(|connection, _| {
            Box::pin(async move {
                connection
                    .execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;")
                    .await
                    .map(drop)
            })
        })
        .connect(&url)
        .await?;
    SQLITE.run(&pool).await?;
    Ok(pool)
}

/// Connects to the PostgreSQL database `url` names and brings its schema up to date: the main
/// one (`schema` `None`: the `public` schema), or a connected workspace's schema, made if
/// missing. Several replicas may start at once: migrations take a lock in the database.
pub async fn open_postgres(url: &str, schema: Option<&str>, connections: u32) -> Result<AnyPool, sqlx::Error> {
    install_drivers();
    let search_path = schema.map(|s| format!("SET search_path TO \"{s}\""));
    if let Some(schema) = schema {
        let pool = AnyPoolOptions::new().max_connections(1).connect(url).await?;
        pool.execute(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"").as_str()).await?;
        pool.close().await;
    }
    let pool = AnyPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |connection, _| {
            let search_path = search_path.clone();
            Box::pin(async move {
                if let Some(set) = search_path {
                    connection.execute(set.as_str()).await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await?;
    POSTGRES.run(&pool).await?;
    Ok(pool)
}

/// Rewrites what keeps `table` so that no free page holds what was deleted or overwritten, after
/// secrets were sealed or ids hashed in place. SQLite: the whole file (`VACUUM`), then its
/// write-ahead log emptied ([`empty_wal`]); false when the log could not be emptied yet.
/// PostgreSQL: the table rewritten (`VACUUM FULL`); its write-ahead log is the server's, recycled
/// by PostgreSQL on its own schedule.
pub async fn scrub(pool: &AnyPool, table: &str) -> Result<bool, sqlx::Error> {
    match dialect(pool) {
        Dialect::Sqlite => {
            pool.execute("VACUUM").await?;
            empty_wal(pool).await
        }
        Dialect::Postgres => {
            pool.execute(format!("VACUUM FULL {table}").as_str()).await?;
            Ok(true)
        }
    }
}

/// SQLite's truncating checkpoint: the write-ahead log's pages go into the database and the log
/// is emptied. False when a reader held it (a later checkpoint empties it).
pub async fn empty_wal(pool: &AnyPool) -> Result<bool, sqlx::Error> {
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(pool).await?;
    Ok(busy == 0)
}

/// A workspace's schema on PostgreSQL: `ws_` and its id with dashes as underscores (ids are
/// lower-case letters, digits and dashes, `domain::workspaces::check_id`).
pub fn workspace_schema(id: &str) -> String {
    format!("ws_{}", id.replace('-', "_"))
}

/// The row number of an id Switchboard gives its own rows (`share_12`, `import_3`: `prefix` and
/// the number), or `None` for anything else.
pub fn row_number(id: &str, prefix: &str) -> Option<i64> {
    id.trim().strip_prefix(prefix)?.strip_prefix('_')?.parse().ok()
}

/// Databases for the stores' shared suites: a fresh SQLite file, and a fresh PostgreSQL
/// database in the cluster `SWITCHBOARD_TEST_POSTGRES_URL` names (`scripts/test` starts one;
/// `(source scripts/lib.sh && start_test_postgres)` does for a shell). Without it the test
/// fails, saying so: a store is not tested until it is tested on both.
#[cfg(test)]
pub mod testing {
    use super::*;

    /// A database for one test, and what keeps it (its folder, removed on drop).
    pub struct TestDb {
        pub pool: AnyPool,
        pub dialect: Dialect,
        _dir: Option<crate::support::Scratch>,
    }

    /// `name`'s databases: SQLite, then PostgreSQL.
    pub async fn databases(name: &str) -> Vec<TestDb> {
        let dir = crate::support::Scratch::new(name);
        let sqlite = open(&dir.0).await.expect("a SQLite database for the test");
        let postgres = postgres(name).await;
        vec![
            TestDb { pool: sqlite, dialect: Dialect::Sqlite, _dir: Some(dir) },
            TestDb { pool: postgres, dialect: Dialect::Postgres, _dir: None },
        ]
    }

    /// A fresh PostgreSQL database, migrated.
    pub async fn postgres(name: &str) -> AnyPool {
        let url = fresh_postgres_database(name).await;
        open_postgres(&url, None, 4).await.expect("the test database migrates")
    }

    /// The URL of a new, empty database in the test cluster.
    pub async fn fresh_postgres_database(name: &str) -> String {
        install_drivers();
        let Ok(cluster) = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL") else {
            panic!(
                "SWITCHBOARD_TEST_POSTGRES_URL is not set: the stores are tested on PostgreSQL too. Run scripts/test, \
                 or start a cluster with `source scripts/lib.sh && start_test_postgres` and run cargo test in that shell."
            )
        };
        let database = format!("{}_{}", name.replace('-', "_"), crate::support::random_hex::<6>());
        let admin = AnyPoolOptions::new().max_connections(1).connect(&cluster).await.expect("the test cluster answers");
        admin.execute(format!("CREATE DATABASE \"{database}\"").as_str()).await.expect("a test database");
        admin.close().await;
        let mut url = reqwest::Url::parse(&cluster).expect("SWITCHBOARD_TEST_POSTGRES_URL is a URL");
        url.set_path(&database);
        url.to_string()
    }
}
