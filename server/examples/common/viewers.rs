//! Viewers of an event stream for the live benches: each records when every persisted event
//! arrived; a turn's figures are each viewer's delay behind a probe on the engine's own stream,
//! each event's spread from its first to its last viewer, and events delivered per second.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use futures::StreamExt;
use serde_json::{Value, json};

use super::Api;

/// Sends the message that starts the turn, with a probe on the engine's own stream, and waits
/// for every viewer to see the turn's end. Answers each viewer's per-event delay behind the
/// probe.
pub async fn run_turn(api: &Api, http: &reqwest::Client, session: &str, viewers: Vec<Viewer>) -> Turn {
    let probe = Viewer::open(http, &format!("{}/v1/sessions/{session}/events/stream", api.base), false).await;
    let start = Instant::now();
    api.send(session).await;
    let probe_arrivals = probe.finish(start).await;
    let probe_order: Vec<&str> = probe_arrivals.iter().map(|(id, _)| id.as_str()).collect();
    let probe: HashMap<&str, Duration> = probe_arrivals.iter().map(|(id, at)| (id.as_str(), *at)).collect();
    let mut delays = Vec::new();
    let mut delivered = 0usize;
    let mut last = Duration::ZERO;
    // Per event, the first and the last viewer's arrival.
    let mut window: HashMap<&str, (Duration, Duration)> = HashMap::new();
    let results = futures::future::join_all(viewers.into_iter().map(|v| v.finish(start))).await;
    let mut complete = 0;
    for arrivals in &results {
        // Every event the probe saw, once, in the probe's order.
        let order: Vec<&str> = arrivals.iter().map(|(id, _)| id.as_str()).filter(|id| probe.contains_key(id)).collect();
        complete += usize::from(order == probe_order);
        for (id, at) in arrivals {
            if let Some(probe_at) = probe.get(id.as_str()) {
                delays.push((at.as_secs_f64() - probe_at.as_secs_f64()) * 1000.0);
                let seen = window.entry(id.as_str()).or_insert((*at, *at));
                *seen = (seen.0.min(*at), seen.1.max(*at));
            }
            last = last.max(*at);
        }
        delivered += arrivals.len();
    }
    delays.sort_by(f64::total_cmp);
    let mut spread: Vec<f64> = window.values().map(|(a, b)| (*b - *a).as_secs_f64() * 1000.0).collect();
    spread.sort_by(f64::total_cmp);
    let first = probe.values().min().copied().unwrap_or_default();
    let rate = delivered as f64 / (last - first).as_secs_f64().max(1e-9);
    Turn { delays, spread, rate, delivered, complete, viewers: results.len() }
}

/// What one turn measured: each viewer's delay per event behind the probe (ms, sorted), each
/// event's spread from its first to its last viewer (ms, sorted), events delivered per second.
pub struct Turn {
    pub delays: Vec<f64>,
    pub spread: Vec<f64>,
    pub rate: f64,
    /// Events delivered, every viewer's together.
    pub delivered: usize,
    /// Viewers that got every event the probe saw, once each, in the probe's order.
    pub complete: usize,
    pub viewers: usize,
}

/// A session whose turn writes `messages` messages, `gap_ms` apart.
pub async fn long_session(api: &Api, messages: usize, gap_ms: u64) -> String {
    let mut turn: Vec<Value> = Vec::new();
    for n in 0..messages {
        turn.push(json!({ "text": format!("Message {n} of the long turn, a few words long.") }));
        turn.push(json!({ "sleep_ms": gap_ms }));
    }
    let agent = api.agent("live bench", json!([turn]), false).await;
    let environment = api.environment(&format!("live bench {}", rand::random::<u32>())).await;
    api.session(&agent, &environment).await
}

/// One SSE viewer; it records when each persisted event arrived.
pub struct Viewer {
    arrivals: tokio::sync::mpsc::UnboundedReceiver<(String, Instant, bool)>,
}

impl Viewer {
    /// A viewer of Switchboard's hub (`hub`) or of the engine's own stream. Both ask for the
    /// previews of messages, as the console does.
    pub async fn open(http: &reqwest::Client, url: &str, hub: bool) -> Self {
        Self::open_with(http, url, hub, super::ENGINE_KEY).await
    }

    /// A viewer of an API stream (`hub` false) with `key`: the engine's with its key, or
    /// Switchboard's own API (`/v1/…`) with a personal access token.
    pub async fn open_with(http: &reqwest::Client, url: &str, hub: bool, key: &str) -> Self {
        let mut request = http.get(url);
        if !hub {
            request = request
                .query(&[("event_deltas[]", "agent.message")])
                .header("x-api-key", key)
                .header("anthropic-version", protocol::ANTHROPIC_VERSION)
                .header("anthropic-beta", protocol::MANAGED_AGENTS_BETA);
        }
        let response = request.send().await.unwrap();
        assert!(response.status().is_success(), "{url}: {}", response.status());
        let (tx, arrivals) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            // Frames are cut out of the byte stream by hand rather than through an SSE parser: the
            // client side of this bench should cost as little as it can, since it shares the two
            // cores with the server it measures. Both kinds of viewer read the same way.
            let mut body = response.bytes_stream();
            let mut buffer = Vec::<u8>::with_capacity(16 * 1024);
            while let Some(Ok(chunk)) = body.next().await {
                let now = Instant::now();
                buffer.extend_from_slice(&chunk);
                let mut consumed = 0;
                while let Some(end) = find(&buffer[consumed..], b"\n\n") {
                    let frame = &buffer[consumed..consumed + end];
                    consumed += end + 2;
                    let Some((name, data)) = name_and_data(frame) else { continue };
                    let persisted =
                        if hub { name == b"event" } else { name != b"ping" && !name.starts_with(b"event_") };
                    if !persisted {
                        continue;
                    }
                    let Some(id) = id_of(data) else { continue };
                    let end = contains(data, b"\"session.status_idle\"") && contains(data, b"\"end_turn\"");
                    if tx.send((id, now, end)).is_err() || end {
                        return;
                    }
                }
                buffer.drain(..consumed);
            }
        });
        Self { arrivals }
    }

    /// Arrival times (since `start`) of the events after `start`, in the order they came, until
    /// the turn's end.
    pub async fn finish(mut self, start: Instant) -> Vec<(String, Duration)> {
        let mut seen = Vec::new();
        while let Ok(Some((id, at, end))) = tokio::time::timeout(Duration::from_secs(60), self.arrivals.recv()).await {
            if at >= start {
                seen.push((id, at - start));
            }
            if end {
                break;
            }
        }
        seen
    }
}

/// The `event:` name and `data:` line of one SSE frame (the API writes data on one line).
pub fn name_and_data(frame: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut name: &[u8] = b"message";
    let mut data = None;
    for line in frame.split(|b| *b == b'\n') {
        if let Some(rest) = line.strip_prefix(b"event:") {
            name = rest.strip_prefix(b" ").unwrap_or(rest);
        } else if let Some(rest) = line.strip_prefix(b"data:") {
            data = Some(rest.strip_prefix(b" ").unwrap_or(rest));
        }
    }
    Some((name, data?))
}

/// The top-level `"id"` of an event as the API writes it (`type` first, then `id`).
pub fn id_of(data: &[u8]) -> Option<String> {
    let start = find(data, b"\"id\":\"")? + 6;
    let end = start + data[start..].iter().position(|b| *b == b'"')?;
    String::from_utf8(data[start..end].to_vec()).ok()
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub fn ms(value: f64) -> String {
    format!("{value:.2} ms")
}

/// Resident memory of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
