//! Per-person and per-address limits: how many event streams one signed-in person may hold
//! open, and how fast they may send requests; and how fast anyone signed out may. Every stream
//! and most requests spend the organisation's key upstream or its server's memory, so one
//! account (or one stolen login) must not be able to take them all, nor anyone without one.
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
//! Nobody signed in can reach only the sign-in pages and forms, and share links. Their requests
//! are counted per client address (as `crate::support::proxies` resolves it, an IPv6 address by its
//! /64): a bucket of `SWITCHBOARD_SIGNED_OUT_REQUESTS_PER_MINUTE` (default 300, a burst of a
//! minute's worth: a room of people opening one share link, or signing in at once, behind one
//! address), and a share link's streams at most `SWITCHBOARD_STREAMS_PER_ADDRESS` open (default
//! 200, for an audience behind one address). Not counted: `POST /webhooks/anthropic` (each is
//! checked for its signature first, and Anthropic's senders share addresses), built assets and
//! the health and readiness checks (files and a word: a page's chunks would spend a visitor's
//! budget, and a load balancer's checks must not be told 429). `/metrics` is counted: guesses
//! at its token are requests like any other.
//!
//! The counts themselves are kept behind [`LimitCounters`] (`limit_counters.rs`): in this
//! process's memory on SQLite, in the database every replica shares on PostgreSQL
//! (`access::open_counters`).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use domain::{
    auth::Principal,
    error::{AppError, ErrorKind},
};
use futures::StreamExt;

use super::limit_counters::{LimitCounters, MemoryCounters, Spent};
pub use super::limit_counters::{MOST_KEYS, Who};
use crate::settings::LimitSettings;

/// What a person over a stream limit is told to wait before trying again.
const STREAM_RETRY: Duration = Duration::from_secs(10);

/// The limits, shared by every request.
pub struct PersonLimits {
    settings: LimitSettings,
    counters: Arc<dyn LimitCounters>,
}

/// Why a request was refused, with how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    Streams(Duration),
    /// An address's streams, without a sign-in.
    AddressStreams(Duration),
    Requests(Duration),
    /// An address's requests, without a sign-in.
    AddressRequests(Duration),
}

/// An open stream's slot: given back when dropped (with the response's body).
pub struct StreamSlot {
    counters: Arc<dyn LimitCounters>,
    who: Who,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.counters.give_back(&self.who);
    }
}

impl PersonLimits {
    /// The limits, counted in this process's memory.
    pub fn new(settings: LimitSettings) -> Arc<Self> {
        Self::with_counters(settings, Arc::new(MemoryCounters::default()))
    }

    /// The limits, counted by `counters`.
    pub fn with_counters(settings: LimitSettings, counters: Arc<dyn LimitCounters>) -> Arc<Self> {
        Arc::new(Self { settings, counters })
    }

    /// Takes one request of `who`'s, and a stream slot when `stream`; or says which limit it is
    /// over and for how long.
    pub async fn take(self: &Arc<Self>, who: Who, stream: bool) -> Result<Option<StreamSlot>, Over> {
        let (per_minute, most_streams, over_streams, over_requests): (_, _, _, fn(Duration) -> Over) = match who {
            Who::Person(_) => (
                self.settings.requests_per_minute,
                self.settings.streams_per_person,
                Over::Streams(STREAM_RETRY),
                Over::Requests,
            ),
            Who::Address(_) => (
                self.settings.signed_out_requests_per_minute,
                self.settings.streams_per_address,
                Over::AddressStreams(STREAM_RETRY),
                Over::AddressRequests,
            ),
        };
        match self.counters.take(&who, per_minute as f64, stream.then_some(most_streams)).await {
            Ok(()) => Ok(stream.then(|| StreamSlot { counters: self.counters.clone(), who })),
            Err(Spent::Requests(wait)) => Err(over_requests(wait)),
            Err(Spent::Streams) => Err(over_streams),
            Err(Spent::NoRoom) => Err(over_requests(STREAM_RETRY)),
        }
    }

    /// Streams `who` holds open now.
    pub async fn open_streams(&self, who: &Who) -> usize {
        self.counters.open_streams(who).await
    }
}

/// An event stream of Switchboard's own: the session, thread, inbox and import streams.
/// And a program's session and thread streams through the API (`crate::gateway`): a person's
/// streams count together, browser and API.
fn is_stream(method: &Method, path: &str) -> bool {
    *method == Method::GET && (path.starts_with("/api/") || crate::access::is_api(path)) && path.ends_with("/stream")
}

/// Signed-out requests no address's limit counts: Anthropic's webhooks and Slack's presses (checked for their
/// signature before anything else), built assets and the health and readiness checks.
pub fn unlimited_signed_out(path: &str) -> bool {
    path == "/webhooks/anthropic"
        || path.starts_with("/webhooks/anthropic/")
        || path == "/webhooks/slack"
        || crate::access::is_asset(path)
}

/// Applies the limits to a signed-in person's request (inside `authenticate`, which names them),
/// and to a request of nobody signed in by its client address (inside `proxies::client_address`,
/// which names the client behind a trusted proxy).
pub async fn per_person(State(limits): State<Arc<PersonLimits>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let stream = is_stream(request.method(), path);
    let who = match request.extensions().get::<Principal>() {
        Some(principal) => Who::Person(principal.user_id),
        None if unlimited_signed_out(path) => return next.run(request).await,
        None => match request.extensions().get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(peer)) => Who::Address(crate::support::proxies::address_key(&peer.ip().to_string())),
            None => return next.run(request).await,
        },
    };
    match limits.take(who, stream).await {
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
        Err(over) => refuse(over, limits.settings, path),
    }
}

/// The 429: `retry-after` in whole seconds, and what to do in words: JSON under `/api/` (and for
/// a signed-in person's forms, as before), else a short page.
fn refuse(over: Over, settings: LimitSettings, path: &str) -> Response {
    let signed_out = matches!(over, Over::AddressRequests(_));
    let is_page =
        !path.starts_with("/api/") && !crate::access::is_api(path) && (signed_out || !path.starts_with("/auth/"));
    // A form of the sign-in page was refused: back to it, not to the form's address.
    let onwards = if path.starts_with("/auth/") { ("/login", "Back to signing in") } else { ("", "Try again") };
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
        Over::AddressRequests(wait) => (
            wait,
            format!(
                "More than {} requests a minute came from your network without a sign-in, the most Switchboard \
                 allows. Wait {} and try again.",
                settings.signed_out_requests_per_minute,
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
            onwards,
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

    #[tokio::test]
    async fn a_persons_streams_are_counted_until_their_bodies_go() {
        let limits = PersonLimits::new(LimitSettings {
            streams_per_person: 2,
            requests_per_minute: 600,
            streams_per_address: 3,
            signed_out_requests_per_minute: 600,
        });
        let (ada, grace) = (Who::Person(1), Who::Person(2));
        let first = limits.take(ada.clone(), true).await.unwrap();
        let second = limits.take(ada.clone(), true).await.unwrap();
        assert_eq!(limits.take(ada.clone(), true).await.err(), Some(Over::Streams(STREAM_RETRY)));
        assert!(limits.take(ada.clone(), false).await.is_ok(), "other requests go on");
        assert!(limits.take(grace, true).await.is_ok(), "another person has their own");
        drop(first);
        assert_eq!(limits.open_streams(&ada).await, 1);
        assert!(limits.take(ada, true).await.is_ok(), "a closed stream gives its slot back");
        drop(second);
        // An address without a sign-in: its own number of streams.
        let office = Who::Address("address:192.0.2.1".to_owned());
        let mut audience = Vec::new();
        for _ in 0..3 {
            audience.push(limits.take(office.clone(), true).await.unwrap());
        }
        assert_eq!(limits.take(office.clone(), true).await.err(), Some(Over::AddressStreams(STREAM_RETRY)));
        drop(audience);
        assert_eq!(limits.open_streams(&office).await, 0);
    }

    #[tokio::test]
    async fn a_burst_of_a_minutes_requests_then_the_minutes_pace() {
        let limits = PersonLimits::new(LimitSettings { requests_per_minute: 60, ..LimitSettings::default() });
        for _ in 0..60 {
            assert!(limits.take(Who::Person(7), false).await.is_ok());
        }
        let Err(Over::Requests(wait)) = limits.take(Who::Person(7), false).await else { panic!("the 61st is refused") };
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(500), "one a second: {wait:?}");
        assert!(limits.take(Who::Person(8), false).await.is_ok(), "another person is not held up");
        tokio::time::sleep(wait).await;
        assert!(limits.take(Who::Person(7), false).await.is_ok(), "after the wait, one more");
    }

    #[tokio::test]
    async fn an_address_signed_out_has_its_own_bucket_apart_from_the_people_behind_it() {
        let limits = PersonLimits::new(LimitSettings {
            requests_per_minute: 5,
            signed_out_requests_per_minute: 30,
            ..LimitSettings::default()
        });
        let office = Who::Address("address:192.0.2.1".to_owned());
        for _ in 0..30 {
            assert!(limits.take(office.clone(), false).await.is_ok());
        }
        let Err(Over::AddressRequests(wait)) = limits.take(office.clone(), false).await else {
            panic!("the 31st is refused")
        };
        assert!(wait <= Duration::from_secs(2) && wait > Duration::from_secs(1), "one every 2 s: {wait:?}");
        assert!(matches!(limits.take(office, true).await, Err(Over::AddressRequests(_))), "a stream is a request too");
        assert!(limits.take(Who::Address("address:192.0.2.2".to_owned()), false).await.is_ok(), "another address");
        // Someone signed in from that address spends their own bucket, not the address's.
        for _ in 0..5 {
            assert!(limits.take(Who::Person(1), false).await.is_ok());
        }
        assert!(matches!(limits.take(Who::Person(1), false).await, Err(Over::Requests(_))));
    }
}
