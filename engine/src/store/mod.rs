//! The engine's SQLite store (WAL): objects as JSON beside the columns lists filter on.
//!
//! Every write that must not be half done runs in one transaction. Events are only appended.
//!
//! Here: opening the store, its migrations and engine metadata, and cursor-paged list queries
//! ([`ListQuery`], built by `domain/`), and [`Store::begin`] for the writes that land together.
//! Beside it, one module per resource with every statement the engine runs on its rows: among
//! them [`events`], the session event log (its writes and its reads by `seq`), [`vaults`], vault
//! and credential rows with their sealed secrets, and [`work`], the self-hosted queue and its
//! credentials. Nothing outside this folder runs SQL (`scripts/shape.py` checks it).

use std::{path::Path, str::FromStr, time::Duration};

use serde_json::Value;
use sqlx::{
    QueryBuilder, Row, Sqlite, SqlitePool, Transaction,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use crate::error::{ApiError, ApiResult};

pub mod agents;
pub mod deployments;
pub mod environments;
pub mod events;
pub mod files;
pub mod memories;
pub mod sessions;
pub mod skills;
pub mod threads;
pub mod vaults;
pub mod work;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone)]
pub struct Store {
    pub pool: SqlitePool,
    /// Seals vault credentials' secrets at rest (`SWITCHBOARD_ENGINE_SECRET_KEY`); `None`: they
    /// are stored as plain JSON.
    pub secret_key: Option<crate::sealing::SealKey>,
}

/// Sort order of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Asc,
    Desc,
}

impl Order {
    pub fn parse(value: Option<&str>, default: Order) -> ApiResult<Order> {
        match value {
            None => Ok(default),
            Some("asc") => Ok(Order::Asc),
            Some("desc") => Ok(Order::Desc),
            Some(other) => Err(ApiError::invalid(format!("order must be \"asc\" or \"desc\", not {other:?}."))),
        }
    }
}

/// A page cursor: which way the list runs, whether it goes back, and the row it starts after.
/// Written `page_<a|d><n|p><seq>`; a cursor of one order used with the other is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub order: Order,
    pub back: bool,
    pub seq: i64,
}

impl Cursor {
    pub fn encode(self) -> String {
        let order = if self.order == Order::Asc { 'a' } else { 'd' };
        let way = if self.back { 'p' } else { 'n' };
        format!("page_{order}{way}{}", self.seq)
    }

    pub fn decode(text: &str, order: Order) -> ApiResult<Cursor> {
        let bad =
            || ApiError::invalid(format!("page {text:?} is not a cursor this list returned; start again without it."));
        let rest = text.strip_prefix("page_").ok_or_else(bad)?;
        let mut chars = rest.chars();
        let cursor_order = match chars.next() {
            Some('a') => Order::Asc,
            Some('d') => Order::Desc,
            _ => return Err(bad()),
        };
        let back = match chars.next() {
            Some('n') => false,
            Some('p') => true,
            _ => return Err(bad()),
        };
        let seq = chars.as_str().parse::<i64>().map_err(|_| bad())?;
        if cursor_order != order {
            return Err(ApiError::invalid(
                "This page cursor was made for the other sort order; list again with the same order, or without the cursor.",
            ));
        }
        Ok(Cursor { order, back, seq })
    }
}

/// One condition of a list query.
pub enum Filter {
    Eq(&'static str, String),
    EqInt(&'static str, i64),
    In(&'static str, Vec<String>),
    /// `column op value` with op one of `>`, `>=`, `<`, `<=`.
    Cmp(&'static str, &'static str, i64),
    /// `before ? after`, with the value bound to the `?`: a condition that is not a plain column.
    Around(&'static str, String, &'static str),
    Sql(&'static str),
}

pub struct ListQuery {
    /// `SELECT <select> FROM <from>`; the first column is the row's seq, the second its JSON.
    pub select: &'static str,
    pub from: &'static str,
    pub seq_column: &'static str,
    pub filters: Vec<Filter>,
    pub order: Order,
    pub limit: i64,
    pub cursor: Option<Cursor>,
}

pub struct PageRows {
    pub rows: Vec<sqlx::sqlite::SqliteRow>,
    pub next_page: Option<String>,
    pub prev_page: Option<String>,
}

impl Store {
    /// A transaction for the store functions that take one (`tx`): what they write lands together
    /// when it commits, or not at all.
    pub async fn begin(&self) -> ApiResult<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin().await?)
    }

    /// Opens (or creates) `engine.db` in `dir` and brings its schema up to date.
    pub async fn open(dir: &Path) -> Result<Store, sqlx::Error> {
        crate::private::private_database(&dir.join("engine.db"))?;
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", dir.join("engine.db").display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        MIGRATOR.run(&pool).await?;
        Ok(Store { pool, secret_key: None })
    }

    /// Runs a list query with cursor pagination (a page of `limit`, and whether more exist).
    pub async fn list(&self, query: ListQuery) -> ApiResult<PageRows> {
        let ListQuery { select, from, seq_column, filters, order, limit, cursor } = query;
        // Going back means reading the other way from the cursor, then turning the page round.
        let back = cursor.is_some_and(|c| c.back);
        let read_asc = (order == Order::Asc) != back;
        let mut builder: QueryBuilder<Sqlite> = QueryBuilder::new(format!("SELECT {select} FROM {from} WHERE 1 = 1"));
        for filter in filters {
            match filter {
                Filter::Eq(column, value) => {
                    builder.push(format!(" AND {column} = ")).push_bind(value);
                }
                Filter::EqInt(column, value) => {
                    builder.push(format!(" AND {column} = ")).push_bind(value);
                }
                Filter::In(column, values) => {
                    builder.push(format!(" AND {column} IN ("));
                    let mut separated = builder.separated(", ");
                    for value in values {
                        separated.push_bind(value);
                    }
                    builder.push(")");
                }
                Filter::Cmp(column, op, value) => {
                    builder.push(format!(" AND {column} {op} ")).push_bind(value);
                }
                Filter::Around(before, value, after) => {
                    builder.push(format!(" AND {before}")).push_bind(value).push(after);
                }
                Filter::Sql(sql) => {
                    builder.push(format!(" AND {sql}"));
                }
            }
        }
        if let Some(cursor) = cursor {
            let op = if read_asc { ">" } else { "<" };
            builder.push(format!(" AND {seq_column} {op} ")).push_bind(cursor.seq);
        }
        builder.push(format!(" ORDER BY {seq_column} {} LIMIT ", if read_asc { "ASC" } else { "DESC" }));
        builder.push_bind(limit + 1);
        let mut rows = builder.build().fetch_all(&self.pool).await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        if back {
            rows.reverse();
        }
        let seq_of = |row: &sqlx::sqlite::SqliteRow| row.get::<i64, _>(0);
        let (first, last) = (rows.first().map(seq_of), rows.last().map(seq_of));
        // Forward: more after the last row if this read found more (or if we came back).
        let next_page = match last {
            Some(seq) if more || back => Some(Cursor { order, back: false, seq }.encode()),
            _ => None,
        };
        let prev_page = match first {
            Some(seq) if (back && more) || (!back && cursor.is_some()) => {
                Some(Cursor { order, back: true, seq }.encode())
            }
            _ => None,
        };
        Ok(PageRows { rows, next_page, prev_page })
    }

    /// Whether `table` (agents, environments, files, …: a table of objects by `id`) has `id`.
    pub async fn exists(&self, table: &'static str, id: &str) -> ApiResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(&format!("SELECT 1 FROM {table} WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    /// Writes a new object (its JSON) as `id` into `table`: one of the tables that keep each
    /// object's JSON under its id with its creation time (environments, files, memory stores,
    /// vaults).
    pub async fn insert_object(&self, table: &'static str, id: &str, body: &Value, created_us: i64) -> ApiResult<()> {
        sqlx::query(&format!("INSERT INTO {table} (id, body, created_us) VALUES (?, ?, ?)"))
            .bind(id)
            .bind(body.to_string())
            .bind(created_us)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether object `id` of `table` is archived, and its JSON: one of the tables that keep an
    /// `archived` flag beside each object (environments, memory stores, sessions, vaults). A 404
    /// naming it as a `kind` when there is none.
    pub async fn archivable(&self, table: &'static str, kind: &str, id: &str) -> ApiResult<(bool, Value)> {
        let row: Option<(bool, String)> = sqlx::query_as(&format!("SELECT archived, body FROM {table} WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let (archived, body) = row.ok_or_else(|| ApiError::not_found(kind, id))?;
        Ok((archived, json(&body)?))
    }

    pub async fn meta(&self, key: &str) -> ApiResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM engine_meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> ApiResult<()> {
        sqlx::query(
            "INSERT INTO engine_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Rewrites the database of `pool` so that no free page keeps what was deleted or overwritten
/// (`VACUUM`), then empties its write-ahead log ([`empty_wal`]): after secrets were sealed or ids
/// hashed in place, no copy of the old values stays in the files. False when the log could not
/// be emptied yet.
pub async fn scrub(pool: &sqlx::SqlitePool) -> Result<bool, sqlx::Error> {
    sqlx::query("VACUUM").execute(pool).await?;
    empty_wal(pool).await
}

/// A truncating checkpoint: the write-ahead log's pages go into the database and the log is
/// emptied. False when a reader held it (it is emptied by a later checkpoint).
pub async fn empty_wal(pool: &sqlx::SqlitePool) -> Result<bool, sqlx::Error> {
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(pool).await?;
    Ok(busy == 0)
}

/// Parses a JSON column.
pub fn json(text: &str) -> ApiResult<Value> {
    serde_json::from_str(text).map_err(ApiError::internal)
}

/// Serializes a wire type, for answers.
pub fn to_json<T: serde::Serialize>(value: &T) -> ApiResult<Value> {
    serde_json::to_value(value).map_err(ApiError::internal)
}

/// Reads a stored object back as its wire type.
pub fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> ApiResult<T> {
    serde_json::from_value(value).map_err(ApiError::internal)
}
