//! The throttle on failed sign-ins: guessing is slow, and nobody can lock an account's owner
//! out. [`SignInThrottle`] is the seam; [`MemoryThrottle`] keeps its windows in this process's
//! memory (one process, on SQLite), [`SqlThrottle`] in the database every replica shares (on
//! PostgreSQL). [`suite`] is what every implementation must do.
//!
//! The rules, whatever keeps the counts:
//! - A browser that signed in to the account before holds a device cookie for it
//!   ([`crate::access::DeviceKey`]): its attempts are counted on their own ([`Client::Device`]),
//!   [`PER_ACCOUNT`] failures a window each, and nothing anyone else does holds it back.
//! - Every other attempt ([`Client::Address`]) counts against its address ([`PER_ADDRESS`]
//!   failures a window, then refused until the oldest leaves it) and against the account, which
//!   is never closed but slowed: past [`PER_ACCOUNT`] failures in the window, each next attempt
//!   waits twice as long as the one before after the last failure ([`slowdown`]: 1 s, 2 s, 4 s…
//!   at most [`MOST_SLOWDOWN`]).
//! - Each attempt takes its slot before its password is checked (so a burst of parallel guesses
//!   cannot slip past the limit), and a successful one gives it back.
//!
//! Behind a reverse proxy every person shares the proxy's address, and its limit with it, unless
//! the proxy is trusted to name the client (`SWITCHBOARD_TRUSTED_PROXIES`).

use std::{
    collections::VecDeque,
    sync::{
        Mutex,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, Instant},
};

use domain::upstream::client::BoxFuture;
use hashlink::LinkedHashMap;
use sqlx::AnyPool;

use crate::support::{
    cluster::now_ms,
    db::{Dialect, dialect},
    key_locks::{Work, locked},
    proxies::address_key,
};

/// Who is signing in, as the throttle tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client<'a> {
    /// A browser with a valid device cookie for the account: the cookie's id.
    Device(&'a str),
    /// Any other client: its address.
    Address(&'a str),
}

/// The throttle's sliding window: failures older than this no longer count. The audit groups
/// refused sign-ins by the same window.
pub const THROTTLE_WINDOW: Duration = crate::audit::SIGN_IN_WINDOW;
/// Failed sign-ins an account (or one trusted device) may have within the window at full speed.
pub const PER_ACCOUNT: usize = 5;
/// Failed sign-ins one address may have within the window (several people behind one proxy); the
/// audit gives as many usernames an entry each.
pub const PER_ADDRESS: usize = crate::audit::NAMES_PER_ADDRESS;
/// The longest an account's untrusted attempts are slowed to: one every 5 minutes.
pub const MOST_SLOWDOWN: Duration = Duration::from_secs(300);

/// The gap an account's next untrusted attempt waits after its last failure, with `failures`
/// in the window.
pub fn slowdown(failures: usize) -> Duration {
    let doublings = failures.saturating_sub(PER_ACCOUNT).min(16) as u32;
    Duration::from_secs(1u64 << doublings).min(MOST_SLOWDOWN)
}

/// An attempt held back: how long it must wait, and which count held it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldBack {
    pub wait: Duration,
    pub by: Counted,
}

/// The counts the throttle keeps: a trusted device's, an account's, an address's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    Device,
    Account,
    Address,
}

impl Counted {
    /// Which count `key` (of [`keys`]) is.
    fn of(key: &str) -> Self {
        match key.split_once(':').map(|(kind, _)| kind) {
            Some("device") => Counted::Device,
            Some("account") => Counted::Account,
            _ => Counted::Address,
        }
    }

    /// As the metrics name it (`limit` of `switchboard_sign_ins_throttled_total`).
    pub fn as_str(self) -> &'static str {
        match self {
            Counted::Device => "device",
            Counted::Account => "account",
            Counted::Address => "address",
        }
    }
}

/// How a key's failures hold back its next attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Refused once this many failures are in the window, until the oldest leaves it.
    Refuse(usize),
    /// Past this many failures in the window, each attempt waits a doubling gap after the last.
    SlowAfter(usize),
}

/// The key an account's untrusted failures are counted under.
pub fn account_key(username: &str) -> String {
    format!("account:{}", username.trim().to_lowercase())
}

/// The keys one attempt is counted under, each with its limit.
pub fn keys(username: &str, client: Client<'_>) -> Vec<(String, Limit)> {
    match client {
        Client::Device(id) => vec![(format!("device:{id}"), Limit::Refuse(PER_ACCOUNT))],
        Client::Address(ip) => {
            vec![(account_key(username), Limit::SlowAfter(PER_ACCOUNT)), (address_key(ip), Limit::Refuse(PER_ADDRESS))]
        }
    }
}

/// How long a key with `ages` (the age of each failure in the window, oldest first) holds its
/// next attempt back under `limit`; `None`: not at all.
pub fn hold_back(limit: Limit, window: Duration, ages: &[Duration]) -> Option<Duration> {
    match limit {
        Limit::Refuse(most) if ages.len() >= most => Some(window.saturating_sub(ages[ages.len() - most])),
        Limit::SlowAfter(free) if ages.len() >= free => {
            let since = ages.last().copied().unwrap_or(Duration::MAX);
            slowdown(ages.len()).checked_sub(since).filter(|left| !left.is_zero())
        }
        _ => None,
    }
}

/// Failed sign-ins, counted per account, address and trusted device over a sliding window.
pub trait SignInThrottle: Send + Sync + 'static {
    /// Takes a slot for a sign-in of `username` by `client`, or answers how long to wait and
    /// which count says so (the longest wait, when several do).
    fn attempt<'a>(&'a self, username: &'a str, client: Client<'a>) -> BoxFuture<'a, Result<(), HeldBack>>;
    /// A sign-in by `client` succeeded: its slots are given back. A trusted device's success
    /// leaves the account's count alone (it says nothing about the guesses made elsewhere); an
    /// untrusted one clears it.
    fn succeeded<'a>(&'a self, username: &'a str, client: Client<'a>) -> BoxFuture<'a, ()>;
    /// An admin set the account a new password: its count starts again.
    fn reset<'a>(&'a self, username: &'a str) -> BoxFuture<'a, ()>;
}

/// Keys kept at most. Past it, the key that failed longest ago gives way: a flood of new
/// addresses pushes out old entries, never stops new ones being counted.
const MAX_KEYS: usize = 100_000;

/// The throttle in this process's memory: a restart forgets it.
pub struct MemoryThrottle {
    /// Each key's failures within the window, oldest first; the keys in the order they last
    /// failed, so the front holds the one that failed longest ago.
    failures: Mutex<LinkedHashMap<String, VecDeque<Instant>>>,
    window: Duration,
    max_keys: usize,
}

impl MemoryThrottle {
    pub fn new(window: Duration) -> Self {
        Self::with_capacity(window, MAX_KEYS)
    }

    fn with_capacity(window: Duration, max_keys: usize) -> Self {
        Self { failures: Mutex::new(LinkedHashMap::new()), window, max_keys }
    }

    fn attempt_now(&self, username: &str, client: Client<'_>) -> Result<(), HeldBack> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        // Keys whose last failure left the window, from the front (the oldest) on.
        while failures
            .front()
            .is_some_and(|(_, times)| times.back().is_none_or(|t| now.duration_since(*t) >= self.window))
        {
            failures.pop_front();
        }
        let keys = keys(username, client);
        let mut held: Option<HeldBack> = None;
        for (key, limit) in &keys {
            let Some(times) = failures.get_mut(key) else { continue };
            while times.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
                times.pop_front();
            }
            let ages: Vec<Duration> = times.iter().map(|t| now.duration_since(*t)).collect();
            if let Some(until) = hold_back(*limit, self.window, &ages)
                && held.is_none_or(|h| until > h.wait)
            {
                held = Some(HeldBack { wait: until, by: Counted::of(key) });
            }
        }
        if let Some(held) = held {
            return Err(held);
        }
        for (key, _) in keys {
            match failures.to_back(&key) {
                Some(times) => times.push_back(now),
                None => {
                    if failures.len() >= self.max_keys {
                        failures.pop_front();
                    }
                    failures.insert(key, VecDeque::from([now]));
                }
            }
        }
        Ok(())
    }

    fn succeeded_now(&self, username: &str, client: Client<'_>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for (key, limit) in keys(username, client) {
            match limit {
                Limit::SlowAfter(_) => {
                    failures.remove(&key);
                }
                Limit::Refuse(_) => {
                    if let Some(times) = failures.get_mut(&key) {
                        times.pop_back();
                    }
                }
            }
        }
    }
}

impl SignInThrottle for MemoryThrottle {
    fn attempt<'a>(&'a self, username: &'a str, client: Client<'a>) -> BoxFuture<'a, Result<(), HeldBack>> {
        let taken = self.attempt_now(username, client);
        Box::pin(async move { taken })
    }

    fn succeeded<'a>(&'a self, username: &'a str, client: Client<'a>) -> BoxFuture<'a, ()> {
        self.succeeded_now(username, client);
        Box::pin(async {})
    }

    fn reset<'a>(&'a self, username: &'a str) -> BoxFuture<'a, ()> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(&account_key(username));
        Box::pin(async {})
    }
}

/// How often a replica removes the failures of every key that left the window (each attempt
/// removes its own keys'): the keys nobody tries again.
const SWEEP_EVERY_MS: i64 = 60_000;

/// The throttle in the database's `sign_in_failures`, shared by every replica: a row per failure
/// and key while it is in the window, times by the database's clock.
///
/// An attempt's check and the failures it records are one transaction holding its keys' locks
/// (`support::key_locks`), so parallel attempts on any replicas are counted one after another,
/// as [`MemoryThrottle`]'s lock counts them in one process.
///
/// When the database fails, this replica's memory counts the attempt instead (`fallback`):
/// refusing it would let whoever can make the database fail lock everyone out, and letting it
/// through would make an outage a window for unlimited guesses. In memory it is held to the same
/// limits, per replica, until the database answers again.
pub struct SqlThrottle {
    pool: AnyPool,
    window: Duration,
    fallback: MemoryThrottle,
    /// When this replica last removed every key's old failures (the database's clock, ms).
    swept_ms: AtomicI64,
}

impl SqlThrottle {
    pub fn new(pool: AnyPool, window: Duration) -> Self {
        Self { pool, window, fallback: MemoryThrottle::new(window), swept_ms: AtomicI64::new(0) }
    }

    async fn attempt_now(&self, username: &str, client: Client<'_>) -> Result<Result<(), HeldBack>, sqlx::Error> {
        let keys = keys(username, client);
        let names: Vec<&str> = keys.iter().map(|(key, _)| key.as_str()).collect();
        let mut tx = locked(&self.pool, Work::SignInFailures, &names).await?;
        let now: i64 =
            sqlx::query_scalar(&format!("SELECT {}", now_ms(dialect(&self.pool)))).fetch_one(&mut *tx).await?;
        let left_window = now - self.window.as_millis() as i64;
        let mut held: Option<HeldBack> = None;
        for (key, limit) in &keys {
            sqlx::query("DELETE FROM sign_in_failures WHERE key = $1 AND at_ms <= $2")
                .bind(key)
                .bind(left_window)
                .execute(&mut *tx)
                .await?;
            let times: Vec<i64> =
                sqlx::query_scalar("SELECT at_ms FROM sign_in_failures WHERE key = $1 ORDER BY at_ms")
                    .bind(key)
                    .fetch_all(&mut *tx)
                    .await?;
            let ages: Vec<Duration> = times.iter().map(|at| Duration::from_millis((now - at).max(0) as u64)).collect();
            if let Some(until) = hold_back(*limit, self.window, &ages)
                && held.is_none_or(|h| until > h.wait)
            {
                held = Some(HeldBack { wait: until, by: Counted::of(key) });
            }
        }
        if held.is_none() {
            for key in &names {
                sqlx::query("INSERT INTO sign_in_failures (key, at_ms) VALUES ($1, $2)")
                    .bind(key)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        self.sweep(now, left_window).await;
        Ok(held.map_or(Ok(()), Err))
    }

    /// Removes every key's failures that left the window, at most once a [`SWEEP_EVERY_MS`].
    async fn sweep(&self, now: i64, left_window: i64) {
        let last = self.swept_ms.load(Ordering::Relaxed);
        if now - last < SWEEP_EVERY_MS
            || self.swept_ms.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err()
        {
            return;
        }
        let swept =
            sqlx::query("DELETE FROM sign_in_failures WHERE at_ms <= $1").bind(left_window).execute(&self.pool).await;
        if let Err(error) = swept {
            tracing::warn!("old failed sign-ins could not be removed: {error}");
        }
    }

    async fn succeeded_now(&self, username: &str, client: Client<'_>) -> Result<(), sqlx::Error> {
        // The newest failure of a key: its row's own id, which PostgreSQL calls `ctid`.
        let row = match dialect(&self.pool) {
            Dialect::Sqlite => "rowid",
            Dialect::Postgres => "ctid",
        };
        for (key, limit) in keys(username, client) {
            let sql = match limit {
                Limit::SlowAfter(_) => "DELETE FROM sign_in_failures WHERE key = $1".to_owned(),
                Limit::Refuse(_) => format!(
                    "DELETE FROM sign_in_failures WHERE {row} = \
                     (SELECT {row} FROM sign_in_failures WHERE key = $1 ORDER BY at_ms DESC LIMIT 1)"
                ),
            };
            sqlx::query(&sql).bind(key).execute(&self.pool).await?;
        }
        Ok(())
    }
}

impl SignInThrottle for SqlThrottle {
    fn attempt<'a>(&'a self, username: &'a str, client: Client<'a>) -> BoxFuture<'a, Result<(), HeldBack>> {
        Box::pin(async move {
            match self.attempt_now(username, client).await {
                Ok(taken) => taken,
                Err(error) => {
                    tracing::warn!("the sign-in throttle's database failed; this replica counts the attempt: {error}");
                    self.fallback.attempt_now(username, client)
                }
            }
        })
    }

    fn succeeded<'a>(&'a self, username: &'a str, client: Client<'a>) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.fallback.succeeded_now(username, client);
            if let Err(error) = self.succeeded_now(username, client).await {
                tracing::warn!("a sign-in's slot could not be given back: {error}");
            }
        })
    }

    fn reset<'a>(&'a self, username: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.fallback.reset(username).await;
            let reset = sqlx::query("DELETE FROM sign_in_failures WHERE key = $1")
                .bind(account_key(username))
                .execute(&self.pool)
                .await;
            if let Err(error) = reset {
                tracing::error!("the failed sign-ins of an account given a new password could not be cleared: {error}");
            }
        })
    }
}

/// What every [`SignInThrottle`] must do, whatever keeps it: each check takes a fresh throttle
/// made by `new` with the window it names.
#[cfg(test)]
pub mod suite {
    use super::*;

    pub async fn counts_per_account_and_per_address(throttle: &dyn SignInThrottle) {
        for _ in 0..PER_ACCOUNT {
            assert_eq!(throttle.attempt("ada", Client::Address("10.0.0.1")).await, Ok(()));
        }
        let held = throttle
            .attempt("Ada", Client::Address("10.0.0.2"))
            .await
            .expect_err("the account is slowed from any address");
        assert!(held.wait <= Duration::from_secs(1), "slowed, not closed: {held:?}");
        assert_eq!(held.by, Counted::Account);
        assert_eq!(
            throttle.attempt("grace", Client::Address("10.0.0.1")).await,
            Ok(()),
            "another account from the same address is not"
        );
        for n in 0..PER_ADDRESS {
            let _ = throttle.attempt(&format!("user{n}"), Client::Address("10.0.0.9")).await;
        }
        assert_eq!(
            throttle.attempt("someone-new", Client::Address("10.0.0.9")).await.map_err(|held| held.by),
            Err(Counted::Address),
            "the address is throttled for every account"
        );
        throttle.reset("ada").await;
        assert_eq!(throttle.attempt("ada", Client::Address("10.0.0.2")).await, Ok(()));
        // A success gives its slot back: signing in often is not throttled.
        for _ in 0..3 * PER_ACCOUNT {
            assert_eq!(throttle.attempt("grace", Client::Address("10.0.0.3")).await, Ok(()));
            throttle.succeeded("grace", Client::Address("10.0.0.3")).await;
        }
    }

    /// On the clock: the 6th try waits a second after the 5th failure, the 7th two.
    pub async fn slows_an_account_twice_as_much_each_time(throttle: &dyn SignInThrottle) {
        for n in 0..PER_ACCOUNT {
            assert_eq!(throttle.attempt("ada", Client::Address(&format!("10.0.0.{n}"))).await, Ok(()));
        }
        let wait = throttle.attempt("ada", Client::Address("10.0.1.1")).await.expect_err("slowed").wait;
        assert!(wait > Duration::from_millis(500) && wait <= Duration::from_secs(1), "{wait:?}");
        tokio::time::sleep(wait).await;
        assert_eq!(throttle.attempt("ada", Client::Address("10.0.1.1")).await, Ok(()), "let through after the wait");
        let wait = throttle.attempt("ada", Client::Address("10.0.1.2")).await.expect_err("slowed again").wait;
        assert!(wait > Duration::from_millis(1500) && wait <= Duration::from_secs(2), "{wait:?}");
    }

    /// Issue 20: 5 failures from anywhere locked the account for 15 minutes, so anyone could
    /// keep its owner out for good.
    pub async fn lets_a_trusted_device_through_anyone_elses_guesses(throttle: &dyn SignInThrottle) {
        for n in 0..PER_ACCOUNT {
            assert_eq!(throttle.attempt("admin", Client::Address(&format!("10.0.0.{n}"))).await, Ok(()));
        }
        for n in 0..PER_ADDRESS {
            let _ = throttle.attempt(&format!("user{n}"), Client::Address("192.0.2.50")).await;
        }
        assert!(throttle.attempt("admin", Client::Address("192.0.2.9")).await.is_err(), "guessing is slowed");
        // The owner's browser, even behind the guesser's own address, is let through.
        assert_eq!(throttle.attempt("admin", Client::Device("d1")).await, Ok(()));
        throttle.succeeded("admin", Client::Device("d1")).await;
        // Its own mistakes count against it alone.
        for _ in 0..PER_ACCOUNT {
            assert_eq!(throttle.attempt("admin", Client::Device("d1")).await, Ok(()));
        }
        assert_eq!(
            throttle.attempt("admin", Client::Device("d1")).await.map_err(|held| held.by),
            Err(Counted::Device),
            "a device has 5 tries a window"
        );
        assert_eq!(throttle.attempt("admin", Client::Device("d2")).await, Ok(()), "another device has its own");
        // The guesser's count is not cleared by the owner's sign-in.
        assert!(throttle.attempt("admin", Client::Address("192.0.2.10")).await.is_err());
    }

    /// Issue 20: a machine with a /64 has 2^64 addresses; each counted apart, its guesses were
    /// never limited by address.
    pub async fn counts_an_ipv6_block_of_64_as_one_address(throttle: &dyn SignInThrottle) {
        for n in 0..PER_ADDRESS {
            assert_eq!(
                throttle.attempt(&format!("user{n}"), Client::Address(&format!("2001:db8:1:2::{:x}", n + 1))).await,
                Ok(())
            );
        }
        assert!(
            throttle.attempt("someone-new", Client::Address("2001:db8:1:2:ffff::1")).await.is_err(),
            "the same /64"
        );
        assert_eq!(
            throttle.attempt("someone-new", Client::Address("2001:db8:1:3::1")).await,
            Ok(()),
            "the next /64 is another address"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_memory_throttle_does_what_every_throttle_does() {
        suite::counts_per_account_and_per_address(&MemoryThrottle::new(Duration::from_secs(60))).await;
        suite::slows_an_account_twice_as_much_each_time(&MemoryThrottle::new(Duration::from_secs(600))).await;
        suite::lets_a_trusted_device_through_anyone_elses_guesses(&MemoryThrottle::new(Duration::from_secs(900))).await;
        suite::counts_an_ipv6_block_of_64_as_one_address(&MemoryThrottle::new(Duration::from_secs(60))).await;
    }

    #[tokio::test]
    async fn the_sql_throttle_does_what_every_throttle_does_on_sqlite_and_postgres() {
        for check in 0..4 {
            for db in crate::support::db::testing::databases("throttle").await {
                let throttle = |seconds| SqlThrottle::new(db.pool.clone(), Duration::from_secs(seconds));
                match check {
                    0 => suite::counts_per_account_and_per_address(&throttle(60)).await,
                    1 => suite::slows_an_account_twice_as_much_each_time(&throttle(600)).await,
                    2 => suite::lets_a_trusted_device_through_anyone_elses_guesses(&throttle(900)).await,
                    _ => suite::counts_an_ipv6_block_of_64_as_one_address(&throttle(60)).await,
                }
            }
        }
    }

    /// Issue 46: each replica counted in its own memory, so two replicas let twice as many
    /// guesses through, and a burst spread over them more still.
    #[tokio::test]
    async fn a_burst_of_guesses_spread_over_two_replicas_is_counted_once() {
        use crate::support::db::{open_postgres, testing::fresh_postgres_database};
        let url = fresh_postgres_database("throttle-replicas").await;
        let mut replicas = Vec::new();
        for _ in 0..2 {
            replicas.push(SqlThrottle::new(open_postgres(&url, None, 4).await.unwrap(), THROTTLE_WINDOW));
        }
        let attempts =
            futures::future::join_all((0..20).map(|n| replicas[n % 2].attempt("ada", Client::Address("192.0.2.1"))))
                .await;
        let let_through = attempts.iter().filter(|attempt| attempt.is_ok()).count();
        assert_eq!(let_through, PER_ACCOUNT, "{attempts:?}");
        assert!(
            attempts.iter().all(|attempt| attempt.is_ok() || attempt.is_err_and(|held| held.by == Counted::Account))
        );
        // Either replica goes on counting the same failures.
        assert!(replicas[0].attempt("ada", Client::Address("192.0.2.2")).await.is_err());
        replicas[1].reset("ada").await;
        assert_eq!(replicas[0].attempt("ada", Client::Address("192.0.2.2")).await, Ok(()));
    }

    #[tokio::test]
    async fn with_its_database_down_a_replica_counts_sign_ins_itself() {
        let dir = crate::support::Scratch::new("throttle-down");
        let pool = crate::support::db::open(&dir.0).await.unwrap();
        let throttle = SqlThrottle::new(pool.clone(), THROTTLE_WINDOW);
        pool.close().await;
        for _ in 0..PER_ACCOUNT {
            assert_eq!(throttle.attempt("ada", Client::Address("192.0.2.1")).await, Ok(()), "nobody is locked out");
        }
        assert_eq!(
            throttle.attempt("ada", Client::Address("192.0.2.1")).await.map_err(|held| held.by),
            Err(Counted::Account),
            "nor are guesses let through"
        );
    }

    #[test]
    fn an_accounts_guesses_are_slowed_twice_as_much_each_time_up_to_five_minutes() {
        let gaps: Vec<u64> = (PER_ACCOUNT..PER_ACCOUNT + 12).map(|n| slowdown(n).as_secs()).collect();
        assert_eq!(gaps, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
    }

    #[test]
    fn a_flood_of_new_addresses_pushes_out_old_entries_and_new_ones_are_still_counted() {
        // Issue 20: full of keys, the throttle stopped counting new ones, so one address past
        // 100,000 others could guess an account's password without limit.
        let throttle = MemoryThrottle::new(Duration::from_secs(600));
        // 50,001 attempts of as many accounts from as many addresses: 100,002 keys.
        for n in 0..=MAX_KEYS / 2 {
            let address = format!("10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255);
            assert_eq!(throttle.attempt_now(&format!("user{n}"), Client::Address(&address)), Ok(()));
        }
        assert_eq!(throttle.failures.lock().unwrap().len(), MAX_KEYS, "the map stays at its bound");
        for _ in 0..PER_ACCOUNT {
            assert_eq!(throttle.attempt_now("admin", Client::Address("192.0.2.7")), Ok(()));
        }
        assert!(
            throttle.attempt_now("admin", Client::Address("192.0.2.8")).is_err(),
            "the account is counted although the map was full"
        );
        // The oldest keys gave way: the first account is no longer remembered.
        assert!(!throttle.failures.lock().unwrap().contains_key("account:user0"));
    }

    #[test]
    fn the_keys_that_failed_longest_ago_give_way_first() {
        let throttle = MemoryThrottle::with_capacity(Duration::from_secs(600), 4);
        assert_eq!(throttle.attempt_now("ada", Client::Address("10.0.0.1")), Ok(()));
        assert_eq!(throttle.attempt_now("grace", Client::Address("10.0.0.2")), Ok(()));
        // Ada fails again: her keys move behind Grace's, and Grace's are the ones pushed out.
        assert_eq!(throttle.attempt_now("ada", Client::Address("10.0.0.1")), Ok(()));
        assert_eq!(throttle.attempt_now("linus", Client::Address("10.0.0.3")), Ok(()));
        let failures = throttle.failures.lock().unwrap();
        let keys: Vec<&str> = failures.keys().map(String::as_str).collect();
        assert_eq!(keys, ["account:ada", "address:10.0.0.1", "account:linus", "address:10.0.0.3"]);
        assert_eq!(failures["account:ada"].len(), 2);
    }

    #[test]
    fn an_ipv4_address_over_ipv6_counts_as_itself_and_ipv6_by_its_64() {
        assert_eq!(address_key("::ffff:192.0.2.1"), "address:192.0.2.1");
        assert_eq!(address_key("2001:db8:1:2:3:4:5:6"), "address:2001:db8:1:2::/64");
        assert_eq!(address_key("192.0.2.1"), "address:192.0.2.1");
    }
}
