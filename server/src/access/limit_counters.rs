//! The counters the limits keep (`access::limits`): each person's or address's request bucket and
//! open streams. [`LimitCounters`] is the seam; [`MemoryCounters`] keeps them in this process's
//! memory (one process, on SQLite), [`SqlCounters`] in the database every replica shares (on
//! PostgreSQL). [`suite`] is what every implementation must do.
//!
//! In memory, the people and addresses are kept in the order they last sent: those at rest (no
//! stream open, a full bucket) are forgotten from the front, and past [`MOST_KEYS`] the front
//! gives way (forgetting its open streams' count), so a flood of new addresses cannot grow it.

use std::{
    collections::VecDeque,
    sync::Mutex,
    time::{Duration, Instant},
};

use domain::upstream::client::BoxFuture;
use hashlink::LinkedHashMap;
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use crate::support::{
    cluster::{LEASE_TTL, now_ms},
    db::dialect,
    key_locks::write,
};

/// Whom a limit counts: a signed-in person, or an address nobody signed in from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Who {
    Person(i64),
    Address(String),
}

/// People and addresses remembered at most: past it, the one that sent longest ago gives way.
pub const MOST_KEYS: usize = 100_000;

/// What is spent, when a take is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    /// The bucket: one more request in this long.
    Requests(Duration),
    /// Every stream slot is held.
    Streams,
    /// No room for one more person or address: every one kept holds a stream.
    NoRoom,
}

pub trait LimitCounters: Send + Sync + 'static {
    /// Spends one of `who`'s requests, from a bucket of `per_minute` refilled evenly over the
    /// minute (a burst of a minute's worth), and, with `most_streams`, one of at most that many
    /// stream slots; or says what is spent. Nothing is spent when it is refused.
    fn take<'a>(
        &'a self,
        who: &'a Who,
        per_minute: f64,
        most_streams: Option<usize>,
    ) -> BoxFuture<'a, Result<(), Spent>>;
    /// Gives back one of `who`'s stream slots (a stream ended). Called from a drop: it must not
    /// wait; a shared store sends it on in the background.
    fn give_back(&self, who: &Who);
    /// The streams `who` holds open.
    fn open_streams<'a>(&'a self, who: &'a Who) -> BoxFuture<'a, usize>;
}

/// One person's or address's streams and request bucket.
struct Counted {
    streams: usize,
    tokens: f64,
    refilled: Instant,
    /// The bucket's size: a minute's requests.
    capacity: f64,
}

impl Counted {
    /// Nothing held back: no stream open, and a full bucket by `now`.
    fn at_rest(&self, now: Instant) -> bool {
        self.streams == 0
            && self.tokens + now.duration_since(self.refilled).as_secs_f64() * self.capacity / 60.0 >= self.capacity
    }
}

/// The counters in this process's memory.
pub struct MemoryCounters {
    /// In the order they last sent, the one that sent longest ago first.
    people: Mutex<LinkedHashMap<Who, Counted>>,
    most: usize,
}

impl Default for MemoryCounters {
    fn default() -> Self {
        Self::with_most_keys(MOST_KEYS)
    }
}

impl MemoryCounters {
    pub fn with_most_keys(most: usize) -> Self {
        Self { people: Mutex::new(LinkedHashMap::new()), most }
    }

    fn take_now(&self, who: &Who, capacity: f64, most_streams: Option<usize>, now: Instant) -> Result<(), Spent> {
        let mut people = self.people.lock().unwrap_or_else(|e| e.into_inner());
        // Those at rest that sent longest ago are forgotten: nothing would hold them back.
        while people.front().is_some_and(|(_, counted)| counted.at_rest(now)) {
            people.pop_front();
        }
        if !people.contains_key(who) && people.len() >= self.most {
            // The one that sent longest ago and holds no stream gives way. One holding streams
            // keeps its count: forgotten, it could open as many again.
            let idle = people.iter().find(|(_, held)| held.streams == 0).map(|(key, _)| key.clone());
            match idle {
                Some(key) => {
                    people.remove(&key);
                }
                None => return Err(Spent::NoRoom),
            }
        }
        let counted = match people.entry(who.clone()) {
            hashlink::linked_hash_map::Entry::Occupied(mut sent) => {
                sent.to_back();
                sent.into_mut()
            }
            hashlink::linked_hash_map::Entry::Vacant(new) => {
                new.insert(Counted { streams: 0, tokens: capacity, refilled: now, capacity })
            }
        };
        let per_second = capacity / 60.0;
        counted.capacity = capacity;
        counted.tokens =
            (counted.tokens + now.duration_since(counted.refilled).as_secs_f64() * per_second).min(capacity);
        counted.refilled = now;
        if counted.tokens < 1.0 {
            return Err(Spent::Requests(Duration::from_secs_f64((1.0 - counted.tokens) / per_second)));
        }
        if most_streams.is_some_and(|most| counted.streams >= most) {
            return Err(Spent::Streams);
        }
        counted.tokens -= 1.0;
        if most_streams.is_some() {
            counted.streams += 1;
        }
        Ok(())
    }
}

impl LimitCounters for MemoryCounters {
    fn take<'a>(
        &'a self,
        who: &'a Who,
        per_minute: f64,
        most_streams: Option<usize>,
    ) -> BoxFuture<'a, Result<(), Spent>> {
        let taken = self.take_now(who, per_minute, most_streams, Instant::now());
        Box::pin(async move { taken })
    }

    fn give_back(&self, who: &Who) {
        let mut people = self.people.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(counted) = people.get_mut(who) {
            counted.streams = counted.streams.saturating_sub(1);
        }
    }

    fn open_streams<'a>(&'a self, who: &'a Who) -> BoxFuture<'a, usize> {
        let open = self.people.lock().unwrap_or_else(|e| e.into_inner()).get(who).map_or(0, |c| c.streams);
        Box::pin(async move { open })
    }
}

/// How often [`SqlCounters`] forgets full buckets and the streams of replicas gone, and tries
/// again the give-backs the database refused.
const TIDY_EVERY: Duration = Duration::from_secs(30);
/// A bucket not refilled for a minute is full, whatever its size: its row can go.
const FULL_AFTER_MS: i64 = 60_000;

/// The counters in the database every replica shares: `limit_buckets`, a row per person or
/// address (its tokens, and when they were refilled by the database's clock), and
/// `limit_streams`, the streams each replica holds open for them.
///
/// A take is atomic per person across replicas: its first statement writes their bucket's row
/// (made if missing), and holds that row's lock (on SQLite the write lock) until the take ends;
/// a take of a request alone is that one statement. A replica's streams count while its row in
/// `replicas` is younger than [`LEASE_TTL`] (this one's always), so a replica killed with streams
/// open holds nobody's slots for good. Give-backs go to a task of this replica's, in order; a take
/// of a stream and [`LimitCounters::open_streams`] wait for those sent before them.
///
/// When the database fails, this replica's memory paces the request (`fallback`), its stream
/// uncounted: refusing would turn an outage into a 429 for everyone, and counting nothing would
/// leave the console without a limit while it lasts.
pub struct SqlCounters {
    pool: AnyPool,
    replica: String,
    queued: mpsc::UnboundedSender<Queued>,
    fallback: MemoryCounters,
}

/// What [`SqlCounters`]' task is sent.
enum Queued {
    /// A stream of this person's (by [`who_key`]) ended.
    GiveBack(String),
    /// Answered once everything sent before it is done.
    Settled(oneshot::Sender<()>),
}

/// `who` as the tables name them.
fn who_key(who: &Who) -> String {
    match who {
        Who::Person(id) => format!("person:{id}"),
        // Already `address:…` (`support::proxies::address_key`).
        Who::Address(address) => address.clone(),
    }
}

/// What a bucket with `tokens`, refilled `per_ms`, is told to wait for its next request.
fn wait(tokens: f64, per_ms: f64) -> Spent {
    Spent::Requests(Duration::from_secs_f64((1.0 - tokens).max(0.0) / (per_ms * 1000.0)))
}

impl SqlCounters {
    /// The counters of replica `replica` (`support::cluster::Cluster::replica`) over `pool`. Its
    /// rows from before are removed, and those of replicas gone from `replicas`.
    pub async fn start(pool: AnyPool, replica: &str) -> Result<Self, sqlx::Error> {
        sqlx::query("DELETE FROM limit_streams WHERE replica = $1").bind(replica).execute(&pool).await?;
        forget_replicas_gone(&pool, replica).await?;
        let (queued, receiver) = mpsc::unbounded_channel();
        tokio::spawn(keep(pool.clone(), replica.to_owned(), receiver));
        Ok(Self { pool, replica: replica.to_owned(), queued, fallback: MemoryCounters::default() })
    }

    /// Once the give-backs sent before now are done.
    async fn settled(&self) {
        let (done, answered) = oneshot::channel();
        if self.queued.send(Queued::Settled(done)).is_ok() {
            let _ = answered.await;
        }
    }

    async fn take_now(
        &self,
        who: &str,
        per_minute: f64,
        most_streams: Option<usize>,
    ) -> Result<Result<(), Spent>, sqlx::Error> {
        let per_ms = per_minute / 60_000.0;
        let now = now_ms(dialect(&self.pool));
        // The bucket refilled until the new row's time, at most full; a clock set back refills nothing.
        let refilled = "CASE WHEN excluded.refilled_ms <= limit_buckets.refilled_ms THEN limit_buckets.tokens \
             WHEN limit_buckets.tokens + (excluded.refilled_ms - limit_buckets.refilled_ms) * $3 >= $2 THEN $2 \
             ELSE limit_buckets.tokens + (excluded.refilled_ms - limit_buckets.refilled_ms) * $3 END";
        let Some(most) = most_streams else {
            let spend = format!(
                "INSERT INTO limit_buckets (who, tokens, refilled_ms) VALUES ($1, $2 - 1, {now})
                 ON CONFLICT (who) DO UPDATE SET tokens = {refilled} - 1, refilled_ms = excluded.refilled_ms
                 WHERE {refilled} >= 1 RETURNING tokens"
            );
            let spent = sqlx::query(&spend).bind(who).bind(per_minute).bind(per_ms).fetch_optional(&self.pool).await?;
            if spent.is_some() {
                return Ok(Ok(()));
            }
            // Refused: the wait is read after the fact, for the answer's words only.
            let read = format!("SELECT tokens, refilled_ms, {now} FROM limit_buckets WHERE who = $1");
            let bucket: Option<(f64, i64, i64)> = sqlx::query_as(&read).bind(who).fetch_optional(&self.pool).await?;
            let tokens =
                bucket.map_or(0.0, |(tokens, at, now)| (tokens + (now - at).max(0) as f64 * per_ms).min(per_minute));
            return Ok(Err(wait(tokens, per_ms)));
        };
        self.settled().await;
        let mut tx = write(&self.pool).await?;
        let refill = format!(
            "INSERT INTO limit_buckets (who, tokens, refilled_ms) VALUES ($1, $2, {now})
             ON CONFLICT (who) DO UPDATE SET tokens = {refilled}, refilled_ms = excluded.refilled_ms
             RETURNING tokens"
        );
        let tokens: f64 =
            sqlx::query_scalar(&refill).bind(who).bind(per_minute).bind(per_ms).fetch_one(&mut *tx).await?;
        if tokens < 1.0 {
            tx.commit().await?;
            return Ok(Err(wait(tokens, per_ms)));
        }
        if open_streams_in(&mut *tx, &self.pool, who, &self.replica).await? >= most as i64 {
            tx.commit().await?;
            return Ok(Err(Spent::Streams));
        }
        sqlx::query("UPDATE limit_buckets SET tokens = tokens - 1 WHERE who = $1").bind(who).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO limit_streams (who, replica, streams) VALUES ($1, $2, 1)
             ON CONFLICT (who, replica) DO UPDATE SET streams = limit_streams.streams + 1",
        )
        .bind(who)
        .bind(&self.replica)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }
}

/// The streams `who` holds open on the replicas still there, this one (`replica`) always.
async fn open_streams_in<'e, E>(executor: E, pool: &AnyPool, who: &str, replica: &str) -> Result<i64, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(streams), 0) AS BIGINT) FROM limit_streams WHERE who = $1
         AND (replica = $2 OR replica IN (SELECT id FROM replicas WHERE seen_ms >= {} - $3))",
        now_ms(dialect(pool))
    );
    sqlx::query_scalar(&sql).bind(who).bind(replica).bind(LEASE_TTL.as_millis() as i64).fetch_one(executor).await
}

/// Forgets the streams of replicas gone from `replicas` (`support::cluster` removes a replica
/// unseen for long; until then its rows only stop counting).
async fn forget_replicas_gone(pool: &AnyPool, replica: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM limit_streams WHERE replica <> $1 AND replica NOT IN (SELECT id FROM replicas)")
        .bind(replica)
        .execute(pool)
        .await
        .map(drop)
}

async fn give_back_now(pool: &AnyPool, replica: &str, who: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE limit_streams SET streams = streams - 1 WHERE who = $1 AND replica = $2 AND streams > 0")
        .bind(who)
        .bind(replica)
        .execute(pool)
        .await?;
    sqlx::query("DELETE FROM limit_streams WHERE who = $1 AND replica = $2 AND streams <= 0")
        .bind(who)
        .bind(replica)
        .execute(pool)
        .await
        .map(drop)
}

/// [`SqlCounters`]' task: gives back streams' slots in the order they ended; every
/// [`TIDY_EVERY`] tries again those the database refused, forgets full buckets and the streams
/// of replicas gone. Ends with the counters.
async fn keep(pool: AnyPool, replica: String, mut queued: mpsc::UnboundedReceiver<Queued>) {
    let mut owed: VecDeque<String> = VecDeque::new();
    let mut tidy = tokio::time::interval(TIDY_EVERY);
    loop {
        tokio::select! {
            next = queued.recv() => match next {
                Some(Queued::GiveBack(who)) => {
                    if let Err(error) = give_back_now(&pool, &replica, &who).await {
                        tracing::warn!("a stream's slot could not be given back yet: {error}");
                        owed.push_back(who);
                    }
                }
                Some(Queued::Settled(done)) => {
                    let _ = done.send(());
                }
                None => return,
            },
            _ = tidy.tick() => {
                while let Some(who) = owed.front() {
                    if give_back_now(&pool, &replica, who).await.is_err() {
                        break;
                    }
                    owed.pop_front();
                }
                let full = format!("DELETE FROM limit_buckets WHERE refilled_ms < {} - $1", now_ms(dialect(&pool)));
                let tidied = match sqlx::query(&full).bind(FULL_AFTER_MS).execute(&pool).await {
                    Ok(_) => forget_replicas_gone(&pool, &replica).await,
                    Err(error) => Err(error),
                };
                if let Err(error) = tidied {
                    tracing::warn!("the limits' old rows could not be removed: {error}");
                }
            }
        }
    }
}

impl LimitCounters for SqlCounters {
    fn take<'a>(
        &'a self,
        who: &'a Who,
        per_minute: f64,
        most_streams: Option<usize>,
    ) -> BoxFuture<'a, Result<(), Spent>> {
        Box::pin(async move {
            match self.take_now(&who_key(who), per_minute, most_streams).await {
                Ok(taken) => taken,
                Err(error) => {
                    tracing::warn!("the limits' database failed; this replica paces the request: {error}");
                    self.fallback.take_now(who, per_minute, None, Instant::now())
                }
            }
        })
    }

    fn give_back(&self, who: &Who) {
        // Closed only once the runtime stops, when no slot matters any more.
        let _ = self.queued.send(Queued::GiveBack(who_key(who)));
    }

    fn open_streams<'a>(&'a self, who: &'a Who) -> BoxFuture<'a, usize> {
        Box::pin(async move {
            self.settled().await;
            match open_streams_in(&self.pool, &self.pool, &who_key(who), &self.replica).await {
                Ok(open) => open.max(0) as usize,
                Err(error) => {
                    tracing::warn!("the open streams could not be counted: {error}");
                    0
                }
            }
        })
    }
}

/// What every [`LimitCounters`] must do, whatever keeps it: each check takes fresh counters.
#[cfg(test)]
pub mod suite {
    use super::*;

    /// A minute's requests at once, then refused with the wait for the next; others unaffected.
    pub async fn a_bucket_gives_a_minutes_burst(counters: &dyn LimitCounters) {
        let ann = Who::Person(1);
        for _ in 0..60 {
            assert_eq!(counters.take(&ann, 60.0, None).await, Ok(()));
        }
        let Err(Spent::Requests(wait)) = counters.take(&ann, 60.0, None).await else { panic!("the 61st is refused") };
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(500), "one a second: {wait:?}");
        assert_eq!(counters.take(&Who::Address("address:192.0.2.1".into()), 60.0, None).await, Ok(()));
    }

    /// Stream slots are counted up to the most, given back one by one, and refusing a stream
    /// spends no request.
    pub async fn stream_slots_are_held_and_given_back(counters: &dyn LimitCounters) {
        let ann = Who::Person(1);
        assert_eq!(counters.take(&ann, 600.0, Some(2)).await, Ok(()));
        assert_eq!(counters.take(&ann, 600.0, Some(2)).await, Ok(()));
        assert_eq!(counters.take(&ann, 600.0, Some(2)).await, Err(Spent::Streams));
        assert_eq!(counters.open_streams(&ann).await, 2);
        assert_eq!(counters.take(&ann, 600.0, None).await, Ok(()), "other requests go on");
        counters.give_back(&ann);
        assert_eq!(counters.open_streams(&ann).await, 1);
        assert_eq!(counters.take(&ann, 600.0, Some(2)).await, Ok(()));
        assert_eq!(counters.open_streams(&Who::Person(2)).await, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_counters_do_what_every_counter_does() {
        suite::a_bucket_gives_a_minutes_burst(&MemoryCounters::default()).await;
        suite::stream_slots_are_held_and_given_back(&MemoryCounters::default()).await;
    }

    #[tokio::test]
    async fn sql_counters_do_what_every_counter_does_on_sqlite_and_postgres() {
        for check in 0..2 {
            for db in crate::support::db::testing::databases("limit-counters").await {
                let counters = SqlCounters::start(db.pool.clone(), "replica-a").await.unwrap();
                match check {
                    0 => suite::a_bucket_gives_a_minutes_burst(&counters).await,
                    _ => suite::stream_slots_are_held_and_given_back(&counters).await,
                }
            }
        }
    }

    /// Issue 46: each replica counted its own, so N replicas gave a person N buckets and N times
    /// their streams.
    #[tokio::test]
    async fn two_replicas_share_one_bucket_and_one_count_of_streams() {
        use crate::support::{
            cluster::Cluster,
            db::{open_postgres, testing::fresh_postgres_database},
        };
        let url = fresh_postgres_database("limits-replicas").await;
        let mut replicas = Vec::new();
        for _ in 0..2 {
            let pool = open_postgres(&url, None, 4).await.unwrap();
            let cluster = Cluster::start(pool.clone(), None).await.unwrap();
            replicas.push((SqlCounters::start(pool, &cluster.replica).await.unwrap(), cluster));
        }
        let (a, b) = (&replicas[0].0, &replicas[1].0);
        let ann = Who::Person(1);
        // Six a minute: three on each, then neither has one.
        for _ in 0..3 {
            assert_eq!(a.take(&ann, 6.0, None).await, Ok(()));
            assert_eq!(b.take(&ann, 6.0, None).await, Ok(()));
        }
        assert!(matches!(a.take(&ann, 6.0, None).await, Err(Spent::Requests(_))));
        assert!(matches!(b.take(&ann, 6.0, None).await, Err(Spent::Requests(_))));
        // Three streams between them.
        let bob = Who::Person(2);
        assert_eq!(a.take(&bob, 600.0, Some(3)).await, Ok(()));
        assert_eq!(a.take(&bob, 600.0, Some(3)).await, Ok(()));
        assert_eq!(b.take(&bob, 600.0, Some(3)).await, Ok(()));
        assert_eq!(b.take(&bob, 600.0, Some(3)).await, Err(Spent::Streams));
        assert_eq!(b.open_streams(&bob).await, 3);
        a.give_back(&bob);
        assert_eq!(a.open_streams(&bob).await, 2);
        assert_eq!(b.take(&bob, 600.0, Some(3)).await, Ok(()), "a stream ended on one frees a slot on the other");
        // At once on both: exactly the most.
        let carol = Who::Person(3);
        let takes = futures::future::join_all((0..20).map(|n| replicas[n % 2].0.take(&carol, 600.0, Some(5)))).await;
        assert_eq!(takes.iter().filter(|taken| taken.is_ok()).count(), 5, "{takes:?}");
        assert_eq!(a.open_streams(&carol).await, 5);
    }

    #[tokio::test]
    async fn a_replica_gone_holds_nobodys_stream_slots() {
        for db in crate::support::db::testing::databases("limits-gone").await {
            let seen = format!("INSERT INTO replicas (id, seen_ms) VALUES ($1, {})", now_ms(db.dialect));
            for id in ["gone", "here"] {
                sqlx::query(&seen).bind(id).execute(&db.pool).await.unwrap();
            }
            let gone = SqlCounters::start(db.pool.clone(), "gone").await.unwrap();
            let here = SqlCounters::start(db.pool.clone(), "here").await.unwrap();
            let ann = Who::Person(1);
            for _ in 0..2 {
                assert_eq!(gone.take(&ann, 600.0, Some(2)).await, Ok(()));
            }
            assert_eq!(here.take(&ann, 600.0, Some(2)).await, Err(Spent::Streams));
            // Killed: its presence is no longer renewed.
            sqlx::query("UPDATE replicas SET seen_ms = seen_ms - $1 WHERE id = 'gone'")
                .bind(LEASE_TTL.as_millis() as i64 + 1_000)
                .execute(&db.pool)
                .await
                .unwrap();
            assert_eq!(here.open_streams(&ann).await, 0);
            assert_eq!(here.take(&ann, 600.0, Some(2)).await, Ok(()));
            // Once the replica is forgotten, so are its rows; a replica starting removes its own.
            sqlx::query("DELETE FROM replicas WHERE id = 'gone'").execute(&db.pool).await.unwrap();
            let _restarted = SqlCounters::start(db.pool.clone(), "here").await.unwrap();
            let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM limit_streams").fetch_one(&db.pool).await.unwrap();
            assert_eq!(rows, 0, "{:?}", db.dialect);
        }
    }

    #[tokio::test]
    async fn with_its_database_down_a_replica_paces_requests_itself() {
        let dir = crate::support::Scratch::new("limits-down");
        let pool = crate::support::db::open(&dir.0).await.unwrap();
        let counters = SqlCounters::start(pool.clone(), "replica-a").await.unwrap();
        pool.close().await;
        for _ in 0..3 {
            assert_eq!(counters.take(&Who::Person(1), 3.0, Some(1)).await, Ok(()), "nobody is refused for it");
        }
        assert!(matches!(counters.take(&Who::Person(1), 3.0, None).await, Err(Spent::Requests(_))), "nor unlimited");
    }

    #[test]
    fn a_flood_of_new_addresses_is_bounded_and_the_one_sending_now_is_still_counted() {
        let counters = MemoryCounters::with_most_keys(100);
        let now = Instant::now();
        let flooder = Who::Address("address:203.0.113.1".to_owned());
        for n in 0..1000 {
            let _ = counters.take_now(&flooder, 3.0, None, now);
            let _ = counters.take_now(&Who::Address(format!("address:198.51.100.{n}")), 3.0, None, now);
            assert!(counters.people.lock().unwrap().len() <= 100, "at most 100 kept");
        }
        assert!(
            matches!(counters.take_now(&flooder, 3.0, None, now), Err(Spent::Requests(_))),
            "the address that keeps sending is kept, and held back"
        );
        // One holding streams is never the one forgotten, however long ago it sent.
        let counters = MemoryCounters::with_most_keys(10);
        let holder = Who::Address("address:203.0.113.7".to_owned());
        for _ in 0..2 {
            counters.take_now(&holder, 300.0, Some(2), now).unwrap();
        }
        for n in 0..100 {
            let _ = counters.take_now(&Who::Address(format!("address:198.51.100.{n}")), 300.0, None, now);
        }
        assert_eq!(counters.people.lock().unwrap().get(&holder).map(|c| c.streams), Some(2), "still counted");
        // At rest, an address is forgotten as soon as someone else sends.
        let counters = MemoryCounters::default();
        let visitor = Who::Address("address:192.0.2.9".to_owned());
        counters.take_now(&visitor, 300.0, None, now).unwrap();
        counters.people.lock().unwrap().get_mut(&visitor).unwrap().tokens = 300.0;
        counters.take_now(&Who::Person(1), 1200.0, None, now).unwrap();
        assert!(!counters.people.lock().unwrap().contains_key(&visitor), "a full bucket is forgotten");
    }
}
