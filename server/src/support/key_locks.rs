//! Work on a few keys' rows that must not interleave with the same work on another replica: a
//! sign-in's check and the failure it records, a person's request bucket and their streams, an
//! address's refused sign-ins and the entry that counts them. [`locked`] begins a write
//! transaction that holds a lock per key until it ends; [`write`] one whose first statement's
//! row locks are all it needs.
//!
//! On PostgreSQL each key is an advisory lock of the transaction (`pg_advisory_xact_lock`) on a
//! number made of the [`Work`] and a hash of the key. The rows need not exist (`SELECT … FOR
//! UPDATE` locks only rows that do, and a first failure has none); the locks are taken in
//! ascending order, so two transactions never wait on each other's; two keys whose hashes meet
//! only wait for each other. On SQLite one process writes at a time: the transaction begins
//! `IMMEDIATE`, holding the database's write lock from its start, so it needs no key's lock.

use sqlx::{Any, AnyPool, Transaction};

use super::db::{Dialect, dialect};

/// What the locked keys are keys of: the first half of each lock's number, so that the same text
/// in two kinds of work never waits on the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Work {
    /// `access::throttle::SqlThrottle`: an account's, address's or device's failed sign-ins.
    SignInFailures = 1,
    /// `audit`: an address's refused sign-ins and the entries counting them.
    RefusedSignIns = 2,
}

/// A write transaction: on SQLite it holds the write lock from its start (a deferred one that
/// read first could not write after another's commit); on PostgreSQL a plain one.
pub async fn write(pool: &AnyPool) -> Result<Transaction<'static, Any>, sqlx::Error> {
    match dialect(pool) {
        Dialect::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        Dialect::Postgres => pool.begin().await,
    }
}

/// A write transaction holding `keys`' locks of `work` until it commits or is dropped.
pub async fn locked(pool: &AnyPool, work: Work, keys: &[&str]) -> Result<Transaction<'static, Any>, sqlx::Error> {
    match dialect(pool) {
        Dialect::Sqlite => write(pool).await,
        Dialect::Postgres => {
            let mut tx = write(pool).await?;
            let mut numbers: Vec<i32> = keys.iter().map(|key| key_number(key)).collect();
            numbers.sort_unstable();
            numbers.dedup();
            for number in numbers {
                sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
                    .bind(work as i32)
                    .bind(number)
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(tx)
        }
    }
}

/// The second half of a key's lock number: FNV-1a of its text, the same on every replica and
/// every version (std's hasher promises neither).
fn key_number(key: &str) -> i32 {
    let hash = key.bytes().fold(0x811c_9dc5_u32, |hash, byte| (hash ^ byte as u32).wrapping_mul(0x0100_0193));
    hash as i32
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn a_keys_number_is_fixed_and_tells_keys_apart() {
        assert_eq!(key_number(""), 0x811c_9dc5_u32 as i32);
        assert_eq!(key_number("a"), 0xe40c_292c_u32 as i32, "FNV-1a's published value");
        assert_ne!(key_number("account:ada"), key_number("account:grace"));
    }

    #[tokio::test]
    async fn a_key_held_by_one_transaction_waits_for_it_and_others_do_not() {
        for db in crate::support::db::testing::databases("key-locks").await {
            let first = locked(&db.pool, Work::SignInFailures, &["account:ada", "address:192.0.2.1"]).await.unwrap();
            let started = Instant::now();
            let other = locked(&db.pool, Work::SignInFailures, &["account:grace"]);
            let same = locked(&db.pool, Work::SignInFailures, &["address:192.0.2.1"]);
            match db.dialect {
                Dialect::Postgres => {
                    let other = tokio::time::timeout(Duration::from_secs(5), other).await;
                    assert!(other.is_ok_and(|tx| tx.is_ok()), "another key is not held up");
                    let elsewhere = locked(&db.pool, Work::RefusedSignIns, &["address:192.0.2.1"]);
                    assert!(tokio::time::timeout(Duration::from_secs(5), elsewhere).await.is_ok(), "nor other work");
                }
                // One writer at a time: every write transaction waits.
                Dialect::Sqlite => drop(other),
            }
            let (same, ()) = tokio::join!(same, async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                first.commit().await.unwrap();
            });
            same.unwrap();
            assert!(started.elapsed() >= Duration::from_millis(300), "the same key waited for the first to end");
        }
    }
}
