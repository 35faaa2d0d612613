//! Per-person limits: how many event streams one signed-in person may hold open, and how fast
//! they may send requests. Every stream and most requests spend the organisation's key upstream
//! or its server's memory, so one account (or one stolen login) must not be able to take them all.
//!
//! - Streams (`GET /api/…/stream`): at most `SWITCHBOARD_STREAMS_PER_PERSON` open at once
//!   (default 40; a browser holds about two per open tab). A slot is held for as long as the
//!   response's body lives, so a closed tab gives it back.
//! - Requests: a token bucket of `SWITCHBOARD_REQUESTS_PER_MINUTE` (default 1,200), refilled
//!   evenly over the minute: a burst of a minute's worth, then that pace. Built assets
//!   (`/pkg/…`) are not counted.
//!
//! Over either, the answer is 429 with `retry-after` and a sentence saying what to do: JSON for
//! the API (the page shows its message), a short page for a page.
//!
//! Nobody signed in can reach only the sign-in forms (throttled on their own) and share links.
//! A share link's streams are counted per client address (an IPv6 address by its /64):
//! `SWITCHBOARD_STREAMS_PER_ADDRESS` (default 200, for an audience behind one address).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use app::{
    auth::Principal,
    error::{AppError, ErrorKind},
};
use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures::StreamExt;

/// The limits' settings.
#[derive(Debug, Clone, Copy)]
pub struct LimitSettings {
    /// Event streams one person may hold open at once.
    pub streams_per_person: usize,
    /// Requests one person may send per minute (and at once, as a burst).
    pub requests_per_minute: u32,
    /// Streams one address may hold open without a sign-in (a share link's audience).
    pub streams_per_address: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self { streams_per_person: 40, requests_per_minute: 1200, streams_per_address: 200 }
    }
}

/// Whom a limit counts: a signed-in person, or an address nobody signed in from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Who {
    Person(i64),
    Address(String),
}

/// What a person over a stream limit is told to wait before trying again.
const STREAM_RETRY: Duration = Duration::from_secs(10);
/// People and addresses remembered before those at rest (no stream open, a full bucket) are
/// forgotten.
const PRUNE_ABOVE: usize = 4096;

/// One person's streams and request bucket.
struct Person {
    streams: usize,
    tokens: f64,
    refilled: Instant,
}

/// The limits, shared by every request.
pub struct PersonLimits {
    settings: LimitSettings,
    people: Mutex<HashMap<Who, Person>>,
}

/// Why a request was refused, with how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    Streams(Duration),
    /// An address's streams, without a sign-in.
    AddressStreams(Duration),
    Requests(Duration),
}

/// An open stream's slot: given back when dropped (with the response's body).
pub struct StreamSlot {
    limits: Arc<PersonLimits>,
    who: Who,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut people = self.limits.people.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(person) = people.get_mut(&self.who) {
            person.streams = person.streams.saturating_sub(1);
        }
    }
}

impl PersonLimits {
    pub fn new(settings: LimitSettings) -> Arc<Self> {
        Arc::new(Self { settings, people: Mutex::new(HashMap::new()) })
    }

    fn capacity(&self) -> f64 {
        self.settings.requests_per_minute as f64
    }

    /// Takes one request of `who`'s (an address's requests are not counted), and a stream slot
    /// when `stream`; or says which limit it is over and for how long.
    pub fn take(self: &Arc<Self>, who: Who, stream: bool) -> Result<Option<StreamSlot>, Over> {
        let now = Instant::now();
        let capacity = self.capacity();
        let per_second = capacity / 60.0;
        let mut people = self.people.lock().unwrap_or_else(|e| e.into_inner());
        if people.len() > PRUNE_ABOVE {
            people.retain(|_, p| {
                p.streams > 0 || p.tokens + now.duration_since(p.refilled).as_secs_f64() * per_second < capacity
            });
        }
        let (most_streams, over_streams) = match who {
            Who::Person(_) => (self.settings.streams_per_person, Over::Streams(STREAM_RETRY)),
            Who::Address(_) => (self.settings.streams_per_address, Over::AddressStreams(STREAM_RETRY)),
        };
        let counts_requests = matches!(who, Who::Person(_));
        let person = people.entry(who.clone()).or_insert(Person { streams: 0, tokens: capacity, refilled: now });
        person.tokens = (person.tokens + now.duration_since(person.refilled).as_secs_f64() * per_second).min(capacity);
        person.refilled = now;
        if counts_requests && person.tokens < 1.0 {
            return Err(Over::Requests(Duration::from_secs_f64((1.0 - person.tokens) / per_second)));
        }
        if stream && person.streams >= most_streams {
            return Err(over_streams);
        }
        if counts_requests {
            person.tokens -= 1.0;
        }
        if !stream {
            return Ok(None);
        }
        person.streams += 1;
        Ok(Some(StreamSlot { limits: self.clone(), who }))
    }

    /// Streams `who` holds open now.
    pub fn open_streams(&self, who: &Who) -> usize {
        self.people.lock().unwrap_or_else(|e| e.into_inner()).get(who).map_or(0, |p| p.streams)
    }
}

/// An event stream of Switchboard's own: the session, thread, inbox and import streams.
fn is_stream(method: &Method, path: &str) -> bool {
    *method == Method::GET && path.starts_with("/api/") && path.ends_with("/stream")
}

/// Applies the limits to a signed-in person's request (inside `authenticate`, which names them),
/// and to a stream of nobody signed in by its address.
pub async fn per_person(State(limits): State<Arc<PersonLimits>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let stream = is_stream(request.method(), path);
    let who = match request.extensions().get::<Principal>() {
        Some(principal) => Who::Person(principal.user_id),
        None if stream => match request.extensions().get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(peer)) => Who::Address(crate::accounts::address_key(&peer.ip().to_string())),
            None => return next.run(request).await,
        },
        None => return next.run(request).await,
    };
    match limits.take(who, stream) {
        Ok(None) => next.run(request).await,
        Ok(Some(slot)) => {
            let (parts, body) = next.run(request).await.into_parts();
            // The slot lives as long as the body: until the stream ends or the browser leaves.
            let body = body.into_data_stream().map(move |chunk| {
                let _held = &slot;
                chunk
            });
            Response::from_parts(parts, Body::from_stream(body))
        }
        Err(over) => refuse(over, limits.settings, !path.starts_with("/api/") && !path.starts_with("/auth/")),
    }
}

/// The 429: `retry-after` in whole seconds, and what to do in words.
fn refuse(over: Over, settings: LimitSettings, is_page: bool) -> Response {
    let (wait, message) = match over {
        Over::Streams(wait) => (
            wait,
            format!(
                "You have {} live views open in this Switchboard, the most one person may. Close some tabs \
                 (or their session pages) and try again.",
                settings.streams_per_person
            ),
        ),
        Over::AddressStreams(wait) => (
            wait,
            format!(
                "{} live views are open from your network without a sign-in, the most Switchboard allows. \
                 Close some and try again.",
                settings.streams_per_address
            ),
        ),
        Over::Requests(wait) => (
            wait,
            format!(
                "You sent more than {} requests in a minute, the most one person may. Wait {} and try again.",
                settings.requests_per_minute,
                seconds_words(wait)
            ),
        ),
    };
    let seconds = wait.as_millis().div_ceil(1000).max(1);
    let mut response = if is_page {
        crate::access::refusal_page(
            StatusCode::TOO_MANY_REQUESTS,
            ("Too many requests", "Too many requests"),
            &message,
            ("", "Try again"),
        )
    } else {
        AppError::new(ErrorKind::RateLimited, message).into_response()
    };
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn seconds_words(wait: Duration) -> String {
    match wait.as_millis().div_ceil(1000) {
        0 | 1 => "a second".to_owned(),
        n => format!("{n} seconds"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_persons_streams_are_counted_until_their_bodies_go() {
        let limits = PersonLimits::new(LimitSettings {
            streams_per_person: 2,
            requests_per_minute: 600,
            streams_per_address: 3,
        });
        let (ada, grace) = (Who::Person(1), Who::Person(2));
        let first = limits.take(ada.clone(), true).unwrap();
        let second = limits.take(ada.clone(), true).unwrap();
        assert_eq!(limits.take(ada.clone(), true).err(), Some(Over::Streams(STREAM_RETRY)));
        assert!(limits.take(ada.clone(), false).is_ok(), "other requests go on");
        assert!(limits.take(grace, true).is_ok(), "another person has their own");
        drop(first);
        assert_eq!(limits.open_streams(&ada), 1);
        assert!(limits.take(ada, true).is_ok(), "a closed stream gives its slot back");
        drop(second);
        // An address without a sign-in: its own number of streams, and no request count.
        let office = Who::Address("address:192.0.2.1".to_owned());
        let audience: Vec<_> = (0..3).map(|_| limits.take(office.clone(), true).unwrap()).collect();
        assert_eq!(limits.take(office.clone(), true).err(), Some(Over::AddressStreams(STREAM_RETRY)));
        drop(audience);
        assert_eq!(limits.open_streams(&office), 0);
    }

    #[test]
    fn a_burst_of_a_minutes_requests_then_the_minutes_pace() {
        let limits = PersonLimits::new(LimitSettings { requests_per_minute: 60, ..LimitSettings::default() });
        for _ in 0..60 {
            assert!(limits.take(Who::Person(7), false).is_ok());
        }
        let Err(Over::Requests(wait)) = limits.take(Who::Person(7), false) else { panic!("the 61st is refused") };
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(500), "one a second: {wait:?}");
        assert!(limits.take(Who::Person(8), false).is_ok(), "another person is not held up");
        std::thread::sleep(wait);
        assert!(limits.take(Who::Person(7), false).is_ok(), "after the wait, one more");
    }
}
