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
//! the API (the page shows its message), a short page for a page. Nobody signed in is not counted
//! here: such requests can reach only the sign-in forms (throttled on their own) and share links.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use app::{
    auth::Principal,
    error::{AppError, ErrorKind},
};
use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use futures::StreamExt;

/// The limits' settings.
#[derive(Debug, Clone, Copy)]
pub struct LimitSettings {
    /// Event streams one person may hold open at once.
    pub streams_per_person: usize,
    /// Requests one person may send per minute (and at once, as a burst).
    pub requests_per_minute: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self { streams_per_person: 40, requests_per_minute: 1200 }
    }
}

/// What a person over a stream limit is told to wait before trying again.
const STREAM_RETRY: Duration = Duration::from_secs(10);
/// People remembered before those at rest (no stream open, a full bucket) are forgotten.
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
    people: Mutex<HashMap<i64, Person>>,
}

/// Why a request was refused, with how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    Streams(Duration),
    Requests(Duration),
}

/// An open stream's slot: given back when dropped (with the response's body).
pub struct StreamSlot {
    limits: Arc<PersonLimits>,
    user_id: i64,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut people = self.limits.people.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(person) = people.get_mut(&self.user_id) {
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

    /// Takes one request of `user_id`'s, and a stream slot when `stream`; or says which limit it
    /// is over and for how long.
    pub fn take(self: &Arc<Self>, user_id: i64, stream: bool) -> Result<Option<StreamSlot>, Over> {
        let now = Instant::now();
        let capacity = self.capacity();
        let per_second = capacity / 60.0;
        let mut people = self.people.lock().unwrap_or_else(|e| e.into_inner());
        if people.len() > PRUNE_ABOVE {
            people.retain(|_, p| {
                p.streams > 0 || p.tokens + now.duration_since(p.refilled).as_secs_f64() * per_second < capacity
            });
        }
        let person = people.entry(user_id).or_insert(Person { streams: 0, tokens: capacity, refilled: now });
        person.tokens = (person.tokens + now.duration_since(person.refilled).as_secs_f64() * per_second).min(capacity);
        person.refilled = now;
        if person.tokens < 1.0 {
            return Err(Over::Requests(Duration::from_secs_f64((1.0 - person.tokens) / per_second)));
        }
        if stream && person.streams >= self.settings.streams_per_person {
            return Err(Over::Streams(STREAM_RETRY));
        }
        person.tokens -= 1.0;
        if !stream {
            return Ok(None);
        }
        person.streams += 1;
        Ok(Some(StreamSlot { limits: self.clone(), user_id }))
    }

    /// Streams `user_id` holds open now.
    pub fn open_streams(&self, user_id: i64) -> usize {
        self.people.lock().unwrap_or_else(|e| e.into_inner()).get(&user_id).map_or(0, |p| p.streams)
    }
}

/// An event stream of Switchboard's own: the session, thread, inbox and import streams.
fn is_stream(method: &Method, path: &str) -> bool {
    *method == Method::GET && path.starts_with("/api/") && path.ends_with("/stream")
}

/// Applies the limits to a signed-in person's request (inside `authenticate`, which names them).
pub async fn per_person(State(limits): State<Arc<PersonLimits>>, request: Request, next: Next) -> Response {
    let Some(user_id) = request.extensions().get::<Principal>().map(|p| p.user_id) else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    let stream = is_stream(request.method(), path);
    match limits.take(user_id, stream) {
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
        let page = format!(
            "<!DOCTYPE html><html lang=\"en\"><meta charset=\"utf-8\"><title>Too many requests · Switchboard</title>\
             <h1>Too many requests</h1><p>{}</p><p><a href=\"\">Try again</a></p></html>",
            html_escape::encode_text(&message)
        );
        (StatusCode::TOO_MANY_REQUESTS, Html(page)).into_response()
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
        let limits = PersonLimits::new(LimitSettings { streams_per_person: 2, requests_per_minute: 600 });
        let first = limits.take(1, true).unwrap();
        let second = limits.take(1, true).unwrap();
        assert_eq!(limits.take(1, true).err(), Some(Over::Streams(STREAM_RETRY)));
        assert!(limits.take(1, false).is_ok(), "other requests go on");
        assert!(limits.take(2, true).is_ok(), "another person has their own");
        drop(first);
        assert_eq!(limits.open_streams(1), 1);
        assert!(limits.take(1, true).is_ok(), "a closed stream gives its slot back");
        drop(second);
    }

    #[test]
    fn a_burst_of_a_minutes_requests_then_the_minutes_pace() {
        let limits = PersonLimits::new(LimitSettings { streams_per_person: 2, requests_per_minute: 60 });
        for _ in 0..60 {
            assert!(limits.take(7, false).is_ok());
        }
        let Err(Over::Requests(wait)) = limits.take(7, false) else { panic!("the 61st is refused") };
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(900), "one a second: {wait:?}");
        assert!(limits.take(8, false).is_ok(), "another person is not held up");
        std::thread::sleep(wait);
        assert!(limits.take(7, false).is_ok(), "after the wait, one more");
    }
}
