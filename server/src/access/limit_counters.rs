//! The counters the limits keep (`access::limits`): each person's or address's request bucket and
//! open streams. [`LimitCounters`] is the seam counters several replicas share go behind;
//! [`MemoryCounters`] keeps them in this process's memory. [`suite`] is what every implementation
//! must do.
//!
//! In memory, the people and addresses are kept in the order they last sent: those at rest (no
//! stream open, a full bucket) are forgotten from the front, and past [`MOST_KEYS`] the front
//! gives way (forgetting its open streams' count), so a flood of new addresses cannot grow it.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use app::upstream::client::BoxFuture;
use hashlink::LinkedHashMap;

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
