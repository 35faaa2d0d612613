//! Every metric the server records: its name, its HELP line, its buckets, and the few helpers
//! the features record through. The features below `web` call the `metrics` facade with these
//! names; `web::observe` installs the recorder (only when `/metrics` is asked for: without it
//! every call here does nothing) and serves the text. The engine's own are in `engine::meters`.
//!
//! Every label value comes from a fixed list: never an id, a username, an address or a URL, so
//! that the series stay few whatever people and agents do.

use std::sync::atomic::{AtomicU64, Ordering};

use metrics::{Gauge, Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};

pub const UPSTREAM_REQUESTS: &str = "switchboard_upstream_requests_total";
pub const UPSTREAM_REQUEST_DURATION: &str = "switchboard_upstream_request_duration_seconds";
pub const HUB_UPSTREAM_STREAMS: &str = "switchboard_hub_upstream_streams";
pub const HUB_VIEWERS: &str = "switchboard_hub_viewers";
pub const HUB_FRAMES_SENT: &str = "switchboard_hub_frames_sent_total";
pub const HUB_FRAMES_DROPPED: &str = "switchboard_hub_frames_dropped_total";
pub const HUB_CATCH_UPS: &str = "switchboard_hub_catch_ups_total";
pub const INBOX_POLLS: &str = "switchboard_inbox_polls_total";
pub const INBOX_WAITING_CALLS: &str = "switchboard_inbox_waiting_calls";
pub const DECISIONS: &str = "switchboard_decisions_total";
pub const SIGN_INS: &str = "switchboard_sign_ins_total";
pub const SIGN_INS_THROTTLED: &str = "switchboard_sign_ins_throttled_total";

/// The buckets of [`UPSTREAM_REQUEST_DURATION`], in seconds: from a local engine's milliseconds
/// to the client's 60 s timeout.
pub const UPSTREAM_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// The HELP line of each metric; the series without labels are made at 0, so that a scrape
/// shows them before anything happened.
pub fn describe() {
    describe_counter!(
        UPSTREAM_REQUESTS,
        "Requests to the upstream API (each try), by resource (the path's words: sessions.events), method and status (the HTTP status, or unreachable)."
    );
    describe_histogram!(
        UPSTREAM_REQUEST_DURATION,
        Unit::Seconds,
        "How long an upstream request took: to its whole answer for JSON, to the answer's head for streams and files."
    );
    describe_gauge!(
        HUB_UPSTREAM_STREAMS,
        "Upstream event streams the stream hub holds open (one per watched session or thread)."
    );
    describe_gauge!(HUB_VIEWERS, "Browsers watching a session or thread through the stream hub.");
    describe_counter!(
        HUB_FRAMES_SENT,
        "Writes of SSE frames to viewers (frames that came together go out in one write; heartbeats count)."
    );
    describe_counter!(
        HUB_FRAMES_DROPPED,
        "Frames a viewer fell too far behind to take from the live channel; it caught up from the log instead."
    );
    describe_counter!(
        HUB_CATCH_UPS,
        "Catch-ups of a viewer that missed events, by where they came from: log (the hub's memory) or api (listed again)."
    );
    describe_counter!(
        INBOX_POLLS,
        "Ticks of the approval inbox's poller, by result: ok, or failed (the sessions could not be listed)."
    );
    describe_gauge!(INBOX_WAITING_CALLS, "Tool calls waiting for a person, in every workspace's inbox.");
    describe_counter!(
        DECISIONS,
        "Decisions people sent, by decision (allow, deny, answered) and result: sent, failed, unknown (no answer, not listed either), taken (someone decided first)."
    );
    describe_counter!(
        SIGN_INS,
        "Sign-in attempts, by method (password, sso) and result (ok, or why not: credentials, disabled, throttled, failed, or single sign-on's reason)."
    );
    describe_counter!(
        SIGN_INS_THROTTLED,
        "Sign-ins held back by the throttle, by the count that did: device, account or address."
    );
    for name in [HUB_FRAMES_SENT, HUB_FRAMES_DROPPED] {
        counter!(name).increment(0);
    }
    for name in [HUB_UPSTREAM_STREAMS, HUB_VIEWERS, INBOX_WAITING_CALLS] {
        gauge!(name).increment(0.0);
    }
}

/// One of what the gauge `name` counts, held for as long as this lives (an open stream, a
/// viewer).
pub struct Held(Gauge);

impl Held {
    pub fn new(name: &'static str) -> Self {
        let gauge = gauge!(name);
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// One owner's part of a gauge that several add up (each workspace's inbox its waiting calls):
/// setting it moves the gauge by the difference, dropping it takes the part away.
pub struct GaugeShare {
    gauge: Gauge,
    part: AtomicU64,
}

impl GaugeShare {
    pub fn new(name: &'static str) -> Self {
        Self { gauge: gauge!(name), part: AtomicU64::new(0) }
    }

    pub fn set(&self, part: usize) {
        let before = self.part.swap(part as u64, Ordering::Relaxed);
        self.gauge.increment(part as f64 - before as f64);
    }
}

impl Drop for GaugeShare {
    fn drop(&mut self) {
        self.gauge.decrement(*self.part.get_mut() as f64);
    }
}

/// The words of the upstream API's paths, each a resource or an action on one. Anything else in
/// a path (an id, a version, a name) is left out of its `resource` label.
const PATH_WORDS: &[&str] = &[
    "agents",
    "environments",
    "sessions",
    "vaults",
    "deployments",
    "deployment_runs",
    "memory_stores",
    "files",
    "skills",
    "models",
    "messages",
    "archive",
    "versions",
    "events",
    "stream",
    "threads",
    "resources",
    "credentials",
    "mcp_oauth_validate",
    "pause",
    "unpause",
    "run",
    "memories",
    "memory_versions",
    "redact",
    "content",
];

/// The `resource` label of an upstream path: its words joined by dots, the ids left out
/// (`/v1/sessions/sesn_1/events/stream` is `sessions.events.stream`); `other` for a path outside
/// `/v1/` or of a family this list does not know.
pub fn resource_of(path: &str) -> String {
    let Some(rest) = path.split(['?', '#']).next().and_then(|p| p.strip_prefix("/v1/")) else {
        return "other".to_owned();
    };
    let words: Vec<&str> = rest.split('/').filter(|segment| PATH_WORDS.contains(segment)).collect();
    match rest.split('/').next() {
        Some(family) if words.first() == Some(&family) => words.join("."),
        _ => "other".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upstream_path_is_named_by_its_words_never_its_ids() {
        assert_eq!(resource_of("/v1/agents"), "agents");
        assert_eq!(resource_of("/v1/sessions/sesn_01abc/events"), "sessions.events");
        assert_eq!(resource_of("/v1/sessions/sesn_1/threads/sthr_2/stream"), "sessions.threads.stream");
        assert_eq!(resource_of("/v1/skills/skill_1/versions/1759178010641129/content"), "skills.versions.content");
        assert_eq!(resource_of("/v1/deployments/depl_1/run?x=1"), "deployments.run");
        // A family nobody listed, or an id where the family should be: never its text.
        assert_eq!(resource_of("/v1/sesn_01abc/events"), "other");
        assert_eq!(resource_of("/v1/brand_new_things/x"), "other");
        assert_eq!(resource_of("/healthz"), "other");
        // An id that happens to be a word of the API is still one of the fixed list.
        assert_eq!(resource_of("/v1/agents/archive/versions"), "agents.archive.versions");
    }
}
