//! The stream hub against a real engine: Switchboard in Anthropic mode, its upstream a standalone
//! engine behind a tap that counts (and can cut) the event streams Switchboard opens.

use crate::support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    body::Body,
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};
use support::{TempDir, TestApp, asking_session, serve, signed_webhook, spawn_app, unix_now};
use tokio::sync::{mpsc, watch};

const KEY: &str = "test-key-live";

/// Counts the upstream event streams opened and open, and cuts every open one on demand.
struct Tap {
    opened: AtomicUsize,
    open: AtomicUsize,
    cut: watch::Sender<u64>,
    /// The next `POST …/events` is carried out, but its answer is replaced by a 502, as when a
    /// connection drops after the API acted.
    lose_next_answer: std::sync::atomic::AtomicBool,
    /// The next `POST …/events` is refused with a 400 and never reaches the engine.
    refuse_next_post: std::sync::atomic::AtomicBool,
    /// Every GET but the event streams: path and query.
    reads: std::sync::Mutex<Vec<String>>,
    /// Thread streams (`…/threads/{id}/stream`) opened.
    thread_opened: AtomicUsize,
    /// Listings of a session's events (`GET …/events`) being answered now, the most at once, and
    /// how long each is held before it is answered.
    listing: AtomicUsize,
    listing_most: AtomicUsize,
    listing_delay_ms: std::sync::atomic::AtomicU64,
}

async fn tap(State(tap): State<Arc<Tap>>, request: Request, next: Next) -> Response {
    if request.method() == axum::http::Method::GET && !request.uri().path().ends_with("/stream") {
        tap.reads.lock().unwrap().push(request.uri().to_string());
    }
    if request.method() == axum::http::Method::GET && request.uri().path().ends_with("/events") {
        let now = tap.listing.fetch_add(1, Ordering::SeqCst) + 1;
        tap.listing_most.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(tap.listing_delay_ms.load(Ordering::SeqCst))).await;
        let response = next.run(request).await;
        tap.listing.fetch_sub(1, Ordering::SeqCst);
        return response;
    }
    if request.method() == axum::http::Method::POST && request.uri().path().ends_with("/events") {
        if tap.refuse_next_post.swap(false, Ordering::SeqCst) {
            let body = json!({ "type": "error", "error": { "type": "invalid_request_error", "message": "refused by the test" } });
            return (axum::http::StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        }
        let response = next.run(request).await;
        if tap.lose_next_answer.swap(false, Ordering::SeqCst) {
            return (axum::http::StatusCode::BAD_GATEWAY, "lost").into_response();
        }
        return response;
    }
    let path = request.uri().path();
    let thread_stream = path.contains("/threads/") && path.ends_with("/stream");
    if !path.ends_with("/events/stream") && !thread_stream {
        return next.run(request).await;
    }
    if thread_stream {
        tap.thread_opened.fetch_add(1, Ordering::SeqCst);
    } else {
        tap.opened.fetch_add(1, Ordering::SeqCst);
    }
    tap.open.fetch_add(1, Ordering::SeqCst);
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let mut cut = tap.cut.subscribe();
    let guard = OpenGuard(tap.clone());
    let body = body
        .into_data_stream()
        .take_until(async move {
            let _ = cut.changed().await;
        })
        .map(move |chunk| {
            let _ = &guard;
            chunk
        });
    Response::from_parts(parts, Body::from_stream(body))
}

struct OpenGuard(Arc<Tap>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A standalone engine behind a [`Tap`].
struct Upstream {
    base_url: String,
    tap: Arc<Tap>,
    http: reqwest::Client,
    _data_dir: TempDir,
}

async fn upstream() -> Upstream {
    let data_dir = TempDir::new();
    let mut config = engine::EngineConfig::new(data_dir.0.join("engine"), KEY.to_owned());
    config.seed_demo = false;
    let engine = engine::Engine::open(config).await.expect("the engine opens");
    let tap = Arc::new(Tap {
        opened: AtomicUsize::new(0),
        open: AtomicUsize::new(0),
        cut: watch::channel(0).0,
        lose_next_answer: Default::default(),
        refuse_next_post: Default::default(),
        reads: Default::default(),
        thread_opened: AtomicUsize::new(0),
        listing: AtomicUsize::new(0),
        listing_most: AtomicUsize::new(0),
        listing_delay_ms: Default::default(),
    });
    let router = engine.router().layer(axum::middleware::from_fn_with_state(tap.clone(), self::tap));
    Upstream { base_url: serve(router).await, tap, http: engine::http_client::client(), _data_dir: data_dir }
}

impl Upstream {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        support::api_call(&self.http, (&self.base_url, KEY), method, path, body).await
    }

    /// A session of a scripted agent that plays `turn` for every message.
    async fn session(&self, turn: Value, stream_delay_ms: u64) -> String {
        let script = json!({ "stream_delay_ms": stream_delay_ms, "turns": [turn] }).to_string();
        self.start(json!({ "name": "hub test", "model": "scripted", "system": script })).await
    }

    /// A session of a scripted agent whose tools need approval.
    async fn session_with_tools(&self, turn: Value) -> String {
        let script = json!({ "turns": [turn] }).to_string();
        self.start(json!({
            "name": "approvals test", "model": "scripted", "system": script,
            "tools": [
                { "type": "agent_toolset_20260401", "default_config": { "permission_policy": { "type": "always_ask" } } },
                { "type": "custom", "name": "lookup_order", "description": "Looks up an order.", "input_schema": { "type": "object" } }
            ],
        }))
        .await
    }

    /// Creates the agent `definition`, an environment without network, and a session of both.
    async fn start(&self, definition: Value) -> String {
        let agent = self.call(reqwest::Method::POST, "/v1/agents", Some(definition)).await;
        let environment = json!({
            "name": format!("live test {}", rand_suffix()),
            "config": { "type": "cloud", "networking": { "type": "limited", "allowed_hosts": [] } },
        });
        let environment = self.call(reqwest::Method::POST, "/v1/environments", Some(environment)).await;
        let session = json!({ "agent": agent["id"], "environment_id": environment["id"] });
        let session = self.call(reqwest::Method::POST, "/v1/sessions", Some(session)).await;
        session["id"].as_str().unwrap().to_owned()
    }

    async fn send(&self, session: &str, text: &str) {
        let event = json!({ "events": [{ "type": "user.message", "content": [{ "type": "text", "text": text }] }] });
        self.call(reqwest::Method::POST, &format!("/v1/sessions/{session}/events"), Some(event)).await;
    }

    /// The session's events, as the API lists them.
    async fn events(&self, session: &str) -> Vec<Value> {
        let page = self.call(reqwest::Method::GET, &format!("/v1/sessions/{session}/events?limit=1000"), None).await;
        page["data"].as_array().unwrap().clone()
    }

    /// The ids of the session's events, as the API lists them.
    async fn ids(&self, session: &str) -> Vec<String> {
        self.events(session).await.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect()
    }
}

fn rand_suffix() -> u64 {
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed) as u64
}

async fn switchboard(upstream: &Upstream, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![("ANTHROPIC_API_KEY", KEY), ("ANTHROPIC_BASE_URL", upstream.base_url.as_str())];
    vars.extend_from_slice(extra);
    spawn_app(&vars).await
}

#[derive(Debug, Clone)]
struct Frame {
    id: Option<u64>,
    name: String,
    data: Value,
}

/// One browser's `EventSource`, read frame by frame.
struct Viewer {
    frames: mpsc::UnboundedReceiver<Frame>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn watch_session(app: &TestApp, session: &str, last_event_id: Option<u64>) -> Viewer {
    watch(app, &format!("/api/sessions/{session}/stream"), last_event_id).await
}

async fn watch(app: &TestApp, path: &str, last_event_id: Option<u64>) -> Viewer {
    let mut request = app.client.get(format!("{}{path}", app.address));
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id.to_string());
    }
    let response = request.send().await.expect("the stream opens");
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let (tx, frames) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut events = response.bytes_stream().eventsource();
        while let Some(Ok(event)) = events.next().await {
            let frame = Frame {
                id: event.id.parse().ok(),
                name: event.event,
                data: serde_json::from_str(&event.data).unwrap_or(Value::Null),
            };
            if tx.send(frame).is_err() {
                return;
            }
        }
    });
    Viewer { frames, task }
}

impl Viewer {
    async fn next(&mut self) -> Frame {
        tokio::time::timeout(Duration::from_secs(20), self.frames.recv())
            .await
            .expect("a frame within 20 s")
            .expect("the stream is open")
    }

    /// The next persisted event.
    async fn event(&mut self) -> Frame {
        loop {
            let frame = self.next().await;
            if frame.name == "event" {
                assert!(frame.id.is_some(), "an event frame carries its sequence number: {frame:?}");
                return frame;
            }
        }
    }

    /// Every event until the session goes idle at the end of a turn.
    async fn until_end_of_turn(&mut self) -> Vec<Frame> {
        let mut events = Vec::new();
        loop {
            let frame = self.event().await;
            let done = frame.data["type"] == "session.status_idle" && frame.data["stop_reason"]["type"] == "end_turn";
            events.push(frame);
            if done {
                return events;
            }
        }
    }
}

fn ids(frames: &[Frame]) -> Vec<String> {
    frames.iter().map(|f| f.data["id"].as_str().unwrap_or_default().to_owned()).collect()
}

fn seqs(frames: &[Frame]) -> Vec<u64> {
    frames.iter().map(|f| f.id.unwrap()).collect()
}

/// A turn long enough to watch: previews, thinking, pauses.
fn long_turn() -> Value {
    json!([
        { "thinking": "planning" },
        { "text": "The first answer has quite a few words in it so that it streams in several pieces." },
        { "sleep_ms": 300 },
        { "text": "A second message, also written in pieces, after a pause." },
        { "sleep_ms": 300 },
        { "text": "Done." }
    ])
}

/// The opening tag around the first occurrence of `needle` in `html`.
fn tag_around<'a>(html: &'a str, needle: &str) -> &'a str {
    let at = html.find(needle).unwrap_or_else(|| panic!("{needle} is not in the page"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    &html[start..=end]
}

#[tokio::test]
async fn a_session_page_comes_with_its_first_screen_around_a_linked_event_or_at_the_live_end() {
    let upstream = upstream().await;
    let turn: Vec<Value> = (1..=120).map(|n| json!({ "text": format!("Message {n} of the long turn.") })).collect();
    let session = upstream.session(json!(turn), 0).await;
    upstream.send(&session, "go").await;
    let app = switchboard(&upstream, &[]).await;
    // Nobody watches yet: the page's render starts the session's feed, and a viewer joins it.
    let events = loop {
        let events = upstream.events(&session).await;
        if events.last().is_some_and(|e| e["type"] == "session.status_idle") {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let text = |e: &Value| e["content"][0]["text"].as_str().unwrap_or_default().to_owned();
    let linked = events.iter().find(|e| text(e) == "Message 60 of the long turn.").unwrap();
    let linked_id = linked["id"].as_str().unwrap();
    let (status, html) = app.get_text(&format!("/sessions/{session}?event={linked_id}")).await;
    assert_eq!(status, 200);
    let row = tag_around(&html, &format!(r#"data-id="{linked_id}""#));
    assert!(row.contains("focused") && row.contains(r#"aria-current="true""#), "the linked row is highlighted: {row}");
    for shown in ["Message 59 of", "Message 60 of", "Message 62 of"] {
        assert!(html.contains(shown), "{shown} is on the first screen, in the page as sent");
    }
    for left in ["Message 1 of", "Message 50 of", "Message 120 of"] {
        assert!(!html.contains(left), "{left} is not: the page brings a screen, not the history");
    }
    let mut viewer = watch_session(&app, &session, None).await;
    let streamed = viewer.until_end_of_turn().await;
    assert_eq!(ids(&streamed).len(), events.len(), "the stream then brings every event");
    let seq = streamed.iter().find(|f| f.data["id"] == linked_id).unwrap().id.unwrap();
    assert!(row.contains(&format!(r#"data-seq="{seq}""#)), "numbered as the stream numbers it: {row}");
    assert_eq!(upstream.tap.opened.load(Ordering::SeqCst), 1, "the page and its viewer share one upstream stream");

    // The plain open is at the live end too, and its heading says what the session is doing and
    // how long it is from the first screen, before the page's stream has brought the history.
    let (status, html) = app.get_text(&format!("/sessions/{session}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Message 120 of") && !html.contains("Message 100 of"), "the newest events");
    assert!(html.contains("Idle: the agent finished its turn"), "the state, as sent");
    let events_in_words = format!("{} events · reading the rest of the history…", events.len());
    assert!(html.contains(&events_in_words), "{events_in_words}");

    // Presenter mode opens at the live end: the newest messages, not the first.
    let (status, html) = app.get_text(&format!("/sessions/{session}/present")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Message 120 of") && html.contains("Message 118 of"), "the newest messages are shown");
    assert!(!html.contains("Message 1 of") && !html.contains("Message 100 of"));
    // A link to an event the session does not have brings no first screen (the stream says so).
    let (status, html) = app.get_text(&format!("/sessions/{session}?event=sevt_not_in_this_session")).await;
    assert_eq!(status, 200);
    assert!(!html.contains("data-seq="), "no rows until the stream brings them");
    assert_eq!(upstream.tap.opened.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn fifty_viewers_get_every_event_once_in_order_over_one_upstream_stream() {
    let upstream = upstream().await;
    // Fifty people's tabs, played by one login: more streams than one person may hold.
    let app = switchboard(&upstream, &[("SWITCHBOARD_STREAMS_PER_PERSON", "100")]).await;
    let session = upstream.session(long_turn(), 5).await;
    let mut viewers = Vec::new();
    for _ in 0..50 {
        viewers.push(watch_session(&app, &session, None).await);
    }
    upstream.send(&session, "go").await;
    let mut seen = Vec::new();
    for viewer in &mut viewers {
        seen.push(viewer.until_end_of_turn().await);
    }
    let expected = upstream.ids(&session).await;
    for frames in &seen {
        assert_eq!(ids(frames), expected, "every event, once, in the API's order");
        assert_eq!(seqs(frames), (1..=expected.len() as u64).collect::<Vec<_>>(), "numbered by position");
    }
    assert_eq!(upstream.tap.opened.load(Ordering::SeqCst), 1, "one upstream stream for 50 viewers");
    assert_eq!(upstream.tap.open.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_viewer_that_reconnects_with_last_event_id_misses_nothing_and_gets_nothing_twice() {
    let upstream = upstream().await;
    let app = switchboard(&upstream, &[]).await;
    let session = upstream.session(long_turn(), 5).await;
    let mut first = watch_session(&app, &session, None).await;
    upstream.send(&session, "go").await;
    let mut before = Vec::new();
    for _ in 0..4 {
        before.push(first.event().await);
    }
    drop(first);
    // The turn goes on while the tab is away.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = watch_session(&app, &session, before.last().unwrap().id).await;
    let after = again.until_end_of_turn().await;
    let mut all = ids(&before);
    all.extend(ids(&after));
    assert_eq!(all, upstream.ids(&session).await);
    let mut numbers = seqs(&before);
    numbers.extend(seqs(&after));
    assert_eq!(numbers, (1..=all.len() as u64).collect::<Vec<_>>());
}

#[tokio::test]
async fn an_upstream_stream_cut_mid_turn_is_recovered_with_nothing_lost_or_doubled() {
    let upstream = upstream().await;
    let app = switchboard(&upstream, &[]).await;
    let session = upstream.session(long_turn(), 5).await;
    let mut viewer = watch_session(&app, &session, None).await;
    upstream.send(&session, "go").await;
    let mut frames = vec![viewer.event().await, viewer.event().await];
    upstream.tap.cut.send_modify(|n| *n += 1);
    let mut saw_reconnecting = false;
    loop {
        let frame = viewer.next().await;
        if frame.name == "status" && frame.data["state"] == "reconnecting" {
            saw_reconnecting = true;
        }
        if frame.name != "event" {
            continue;
        }
        let done = frame.data["type"] == "session.status_idle" && frame.data["stop_reason"]["type"] == "end_turn";
        frames.push(frame);
        if done {
            break;
        }
    }
    assert_eq!(ids(&frames), upstream.ids(&session).await);
    assert_eq!(seqs(&frames), (1..=frames.len() as u64).collect::<Vec<_>>());
    assert!(saw_reconnecting, "the viewer is told the link dropped");
    assert_eq!(upstream.tap.opened.load(Ordering::SeqCst), 2, "reconnected once");
}

#[tokio::test]
async fn browsers_resume_on_a_restarted_switchboard() {
    let upstream = upstream().await;
    let session = upstream.session(long_turn(), 5).await;
    let first_server = switchboard(&upstream, &[]).await;
    let mut viewer = watch_session(&first_server, &session, None).await;
    upstream.send(&session, "go").await;
    let before = vec![viewer.event().await, viewer.event().await, viewer.event().await];
    drop(viewer);
    drop(first_server);
    let second_server = switchboard(&upstream, &[]).await;
    let mut resumed = watch_session(&second_server, &session, before.last().unwrap().id).await;
    let after = resumed.until_end_of_turn().await;
    let mut all = ids(&before);
    all.extend(ids(&after));
    assert_eq!(all, upstream.ids(&session).await, "nothing lost, nothing twice, across the restart");
}

#[tokio::test]
async fn a_late_joiner_sees_the_text_written_so_far() {
    let upstream = upstream().await;
    let app = switchboard(&upstream, &[]).await;
    let text = (1..=60).map(|n| format!("word{n}")).collect::<Vec<_>>().join(" ");
    let session = upstream.session(json!([{ "text": text }]), 60).await;
    let mut early = watch_session(&app, &session, None).await;
    upstream.send(&session, "go").await;
    let mut written = String::new();
    let mut deltas = 0;
    while deltas < 4 {
        let frame = early.next().await;
        if frame.name == "preview" && frame.data["type"] == "event_delta" {
            written.push_str(frame.data["delta"]["content"]["text"].as_str().unwrap());
            deltas += 1;
        }
    }
    let mut late = watch_session(&app, &session, None).await;
    let mut started = false;
    let mut joined_text = String::new();
    loop {
        let frame = late.next().await;
        if frame.name == "preview" && frame.data["type"] == "event_start" {
            started = true;
        }
        if frame.name == "preview" && frame.data["type"] == "event_delta" {
            joined_text.push_str(frame.data["delta"]["content"]["text"].as_str().unwrap());
            break;
        }
    }
    assert!(started, "the preview's start comes first");
    assert!(joined_text.starts_with(&written), "the late joiner has what was written before it came: {joined_text:?}");
    assert!(text.starts_with(&joined_text));
}

#[tokio::test]
async fn the_upstream_stream_closes_after_the_grace_period_once_nobody_watches() {
    let upstream = upstream().await;
    let app = switchboard(&upstream, &[("SWITCHBOARD_STREAM_GRACE_SECS", "0.3")]).await;
    let session = upstream.session(long_turn(), 5).await;
    let viewer = watch_session(&app, &session, None).await;
    // A reload: the old tab goes, a new one comes within the grace period.
    drop(viewer);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let viewer = watch_session(&app, &session, None).await;
    assert_eq!(upstream.tap.opened.load(Ordering::SeqCst), 1, "a reload reuses the open stream");
    drop(viewer);
    for _ in 0..50 {
        if upstream.tap.open.load(Ordering::SeqCst) == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the upstream stream is still open 2.5 s after the last viewer left");
}

#[tokio::test]
async fn a_session_that_does_not_exist_is_a_404_not_a_stream() {
    let upstream = upstream().await;
    let app = switchboard(&upstream, &[]).await;
    let (status, body) = app.get_text("/api/sessions/sesn_nope/stream").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("does not exist"), "{body}");
    let response = app
        .client
        .get(format!("{}/api/sessions/sesn_nope/stream", app.address))
        .header("last-event-id", "seven")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn viewers_get_heartbeats() {
    let upstream = upstream().await;
    let app = switchboard(&upstream, &[("SWITCHBOARD_HEARTBEAT_SECS", "0.2")]).await;
    let session = upstream.session(long_turn(), 5).await;
    let mut viewer = watch_session(&app, &session, None).await;
    let frame = viewer.next().await;
    assert_eq!(frame.name, "ping");
}

/// Parses the frames of a hub stream read to the end of the turn.
async fn read_hub(frames: impl futures::Stream<Item = bytes::Bytes> + Unpin) -> Vec<Frame> {
    let mut events = frames.map(Ok::<_, std::convert::Infallible>).eventsource();
    let mut out = Vec::new();
    while let Some(Ok(event)) = tokio::time::timeout(Duration::from_secs(20), events.next()).await.expect("a frame") {
        if event.event != "event" {
            continue;
        }
        let frame =
            Frame { id: event.id.parse().ok(), name: event.event, data: serde_json::from_str(&event.data).unwrap() };
        let done = frame.data["type"] == "session.status_idle" && frame.data["stop_reason"]["type"] == "end_turn";
        out.push(frame);
        if done {
            return out;
        }
    }
    out
}

#[tokio::test]
async fn memory_stays_bounded_and_viewers_that_fall_behind_the_kept_events_still_get_them_all() {
    use server::streams::hub::HubConfig;
    let upstream = upstream().await;
    let session = upstream.session(long_turn(), 5).await;
    // Three events kept, two frames of channel: almost everything must come from the API again.
    let config = HubConfig { retain: 3, channel: 2, ..HubConfig::default() };
    let hub = hub_with(&upstream.base_url, config);
    let slow = hub.watch(&session, 0).await.expect("watching starts");
    let mut slow = Box::pin(slow);
    upstream.send(&session, "go").await;
    let mut live = Box::pin(hub.watch(&session, 0).await.expect("watching starts"));
    let live_frames = read_hub(&mut live).await;
    let expected = upstream.ids(&session).await;
    assert!(expected.len() > 8, "a turn of {} events", expected.len());
    assert_eq!(ids(&live_frames), expected);
    // The slow viewer reads only now, far behind both the channel and the kept events.
    let slow_frames = read_hub(&mut slow).await;
    assert_eq!(ids(&slow_frames), expected, "nothing lost by a viewer that fell behind");
    assert_eq!(seqs(&slow_frames), (1..=expected.len() as u64).collect::<Vec<_>>());
    // A newcomer after the turn gets the whole session, the evicted part listed again.
    let newcomer = read_hub(Box::pin(hub.watch(&session, 0).await.unwrap())).await;
    assert_eq!(ids(&newcomer), expected);
    let resumed = read_hub(Box::pin(hub.watch(&session, 2).await.unwrap())).await;
    assert_eq!(ids(&resumed), expected[2..]);
    let stats = hub.stats();
    assert_eq!(stats.open_streams, 1);
    assert_eq!(stats.kept_events, 3, "only the last 3 of {} events are kept", expected.len());
}

/// Calls a server function that takes JSON.
async fn call_json(app: &TestApp, endpoint: &str, body: Value) -> (u16, Value) {
    call_json_as(app, &app.client, endpoint, body).await
}

async fn call_json_as(app: &TestApp, client: &reqwest::Client, endpoint: &str, body: Value) -> (u16, Value) {
    let response = client.post(format!("{}/api/{endpoint}", app.address)).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

impl Viewer {
    /// Waits until the session stops for the client; answers the ids it waits on.
    async fn until_requires_action(&mut self) -> Vec<String> {
        loop {
            let frame = self.event().await;
            // The session's own idle, not a thread's (`session.thread_status_idle`).
            if frame.data["type"] == "session.status_idle" && frame.data["stop_reason"]["type"] == "requires_action" {
                return frame.data["stop_reason"]["event_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect();
            }
        }
    }
}

/// A session stopped on one `bash` call that needs approval, watched through Switchboard.
struct PendingBash {
    upstream: Upstream,
    app: TestApp,
    session: String,
    viewer: Viewer,
    /// The id of the `agent.tool_use` waiting for a decision.
    call: String,
}

async fn pending_bash() -> PendingBash {
    let upstream = upstream().await;
    let app = switchboard(&upstream, &[]).await;
    let session = upstream
        .session_with_tools(json!([{ "tool": "bash", "input": { "command": "echo approved" } }, { "text": "Ran it." }]))
        .await;
    let mut viewer = watch_session(&app, &session, None).await;
    upstream.send(&session, "go").await;
    let pending = viewer.until_requires_action().await;
    assert_eq!(pending.len(), 1);
    let call = pending[0].clone();
    PendingBash { upstream, app, session, viewer, call }
}

/// The body of `sessions/decide` for one call.
fn verdict(session: &str, call: &str, allow: bool, deny_message: Option<&str>) -> Value {
    json!({ "session_id": session, "verdicts": [{ "event_id": call, "allow": allow, "deny_message": deny_message }] })
}

/// The `user.tool_confirmation`s the API holds for the session.
async fn confirmations(upstream: &Upstream, session: &str) -> Vec<Value> {
    upstream.events(session).await.into_iter().filter(|e| e["type"] == "user.tool_confirmation").collect()
}

#[tokio::test]
async fn two_people_deciding_one_call_send_one_confirmation_and_the_second_learns_who_won() {
    let PendingBash { upstream, app, session, mut viewer, call } = pending_bash().await;
    let ada = app.client_as("ada", &["approver"]).await;
    let grace = app.client_as("grace", &["approver"]).await;
    let allow = verdict(&session, &call, true, None);
    let deny = verdict(&session, &call, false, Some("not today"));
    let (a, b) = tokio::join!(
        call_json_as(&app, &ada, "sessions/decide", allow),
        call_json_as(&app, &grace, "sessions/decide", deny)
    );
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    let (winner, loser, winner_name) =
        if a.1["sent"].as_array().unwrap().is_empty() { (b.1, a.1, "grace") } else { (a.1, b.1, "ada") };
    assert_eq!(winner["sent"], json!([call]));
    assert_eq!(loser["sent"], json!([]));
    let taken = &loser["taken"][0];
    assert_eq!(taken["event_id"], call.as_str());
    assert_eq!(taken["decided_by"], winner_name, "the second approver learns who was first: {taken}");
    assert!(taken["decided_at"].as_str().unwrap().ends_with('Z'), "{taken}");
    assert!(["allow", "deny"].contains(&taken["result"].as_str().unwrap()));
    viewer.until_end_of_turn().await;
    let confirmations = confirmations(&upstream, &session).await;
    assert_eq!(confirmations.len(), 1, "exactly one decision went upstream: {confirmations:?}");
    assert_eq!(confirmations[0]["result"], taken["result"], "the recorded decision is the one that was sent");
    // The decision stays on record for a reload.
    let (status, recorded) = app.read("sessions/decisions", &[("session_id", &session)]).await;
    assert_eq!(status, 200);
    assert_eq!(recorded.as_array().unwrap().len(), 1);
    // Both decisions are audit entries; the winner's names the tool and a digest of its input.
    let (_, log) = app.read("audit/list", &[("query[action]", "sessions/decide")]).await;
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{log}");
    let won = entries.iter().find(|e| e["who"] == winner_name).expect("the winner's entry");
    let detail: Value = serde_json::from_str(won["detail"].as_str().unwrap()).unwrap();
    let decided = &detail["decisions"][0];
    assert_eq!(
        (decided["event_id"].as_str(), decided["tool"].as_str()),
        (Some(call.as_str()), Some("bash")),
        "{detail}"
    );
    assert_eq!(decided["input_sha256"].as_str().map(str::len), Some(64), "{detail}");
    assert!(won["targets"].as_str().unwrap().contains(&call), "{won}");
}

#[tokio::test]
async fn a_decision_whose_answer_was_lost_is_found_by_listing_not_sent_twice() {
    let PendingBash { upstream, app, session, mut viewer, call } = pending_bash().await;
    upstream.tap.lose_next_answer.store(true, Ordering::SeqCst);
    let verdict = verdict(&session, &call, true, None);
    let (status, outcome) = call_json(&app, "sessions/decide", verdict.clone()).await;
    assert_eq!(status, 200, "the echo was listed, so the decision counts as sent: {outcome}");
    assert_eq!(outcome["sent"], json!([call]));
    viewer.until_end_of_turn().await;
    assert_eq!(confirmations(&upstream, &session).await.len(), 1);
    // Deciding again is answered from the record, not sent.
    let (status, again) = call_json(&app, "sessions/decide", verdict).await;
    assert_eq!(status, 200);
    assert_eq!(again["taken"][0]["result"], "allow");
}

/// A rule's allow goes upstream as a person's decision does (`approvals/delivery.rs`): when the
/// API acts on it but its answer is lost, the session's events show that it arrived, so the
/// rule's decision is kept, counted and audited as sent, and nothing is sent twice.
#[tokio::test]
async fn a_rules_allow_whose_answer_was_lost_is_found_by_listing_not_taken_back() {
    let PendingBash { upstream, app, session, mut viewer, call } = pending_bash().await;
    upstream.tap.lose_next_answer.store(true, Ordering::SeqCst);
    let rule = [
        ("rule[session_id]", session.as_str()),
        ("rule[tool]", "bash"),
        ("rule[pattern]", "echo approved"),
        ("rule[scope]", "session"),
        ("rule[minutes]", "60"),
    ];
    let (status, made) = app.call("rules/create", &rule).await;
    assert_eq!(status, 200, "{made}");
    viewer.until_end_of_turn().await;
    assert_eq!(confirmations(&upstream, &session).await.len(), 1, "the allow reached the API once");
    let (_, decisions) = app.read("sessions/decisions", &[("session_id", &session)]).await;
    let decisions = decisions.as_array().unwrap();
    assert_eq!(decisions.len(), 1, "the rule's decision is kept, not taken back: {decisions:#?}");
    assert_eq!(
        (decisions[0]["event_id"].as_str(), decisions[0]["result"].as_str()),
        (Some(call.as_str()), Some("allow"))
    );
    assert!(decisions[0]["decided_by"].as_str().unwrap().starts_with("rule "), "{decisions:#?}");
    let (_, audit) = app.read("audit/list", &[("query[action]", "rules/allowed")]).await;
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit:#}");
    assert_eq!(entries[0]["status"].as_u64(), Some(200), "audited as sent: {audit:#}");
    let (_, rules) = app.read("rules/list", &[("session_id", &session)]).await;
    assert_eq!(rules[0]["uses"].as_i64(), Some(1), "{rules:#}");
}

/// Posts a card's plain form as a browser does with JavaScript off: url-encoded, from the page
/// itself, asking for HTML.
async fn post_card_form(app: &TestApp, client: &reqwest::Client, fields: &[(&str, &str)]) -> reqwest::Response {
    client
        .post(format!("{}/api/sessions/decide_form", app.address))
        .header("accept", "text/html,application/xhtml+xml")
        .header("origin", app.address.as_str())
        .header("sec-fetch-site", "same-origin")
        .form(fields)
        .send()
        .await
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_cards_plain_form_decides_once_before_hydration_and_says_so_on_its_page() {
    let PendingBash { upstream, app, session, mut viewer, call } = pending_bash().await;
    // The page as the server sends it holds the card, with a form that posts without JavaScript.
    let page = format!("/sessions/{session}");
    let (status, html) = app.get_text(&page).await;
    assert_eq!(status, 200);
    let card = tag_around(&html, &format!(r#"data-event="{call}""#));
    assert!(card.contains("approval"), "{card}");
    assert!(html.contains(r#"action="/api/sessions/decide_form""#), "the card's buttons are a form's");
    assert!(html.contains(&format!(r#"name="event_id" value="{call}""#)));
    assert!(html.contains(&format!(r#"name="back" value="{page}""#)), "and come back to this page");

    let ada = app.client_as("ada", &["approver"]).await;
    // The inbox as the server sends it holds the same card and form, coming back to the inbox.
    let mut inbox = watch(&app, "/api/inbox/stream", None).await;
    inbox.inbox_until(|calls| call_ids(calls).contains(&call.as_str())).await;
    let (_, html) = ada_page(&app, &ada, "/inbox").await;
    assert!(tag_around(&html, r#"data-testid="approval-card""#).contains(&call), "the inbox's card");
    assert!(html.contains(r#"name="back" value="/inbox""#), "the inbox's cards come back to the inbox");

    let back = format!("{page}?event={call}&t=spent-token&decision=denied&decided=old");
    let fields = [("session_id", session.as_str()), ("event_id", &call), ("verdict", "allow"), ("back", &back)];
    // Pressed twice, as an impatient thumb does before the first answer is in.
    let (first, second) = tokio::join!(post_card_form(&app, &ada, &fields), post_card_form(&app, &ada, &fields));
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (302, 302));
    let mut outcomes = [location(&first), location(&second)];
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            format!("{page}?event={call}&decision=allowed&decided={call}"),
            format!("{page}?event={call}&decision=taken&decided={call}"),
        ],
        "back to the page without the link's token or an earlier outcome, each press told what it came to"
    );
    viewer.until_end_of_turn().await;
    let sent = confirmations(&upstream, &session).await;
    assert_eq!(sent.len(), 1, "one confirmation upstream: {sent:?}");
    assert_eq!(sent[0]["result"], "allow");

    // The page it comes back to says so in its own words, and shows the call no more.
    let (status, html) = ada_page(&app, &ada, &format!("{page}?decision=allowed&decided={call}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("You allowed the call. The agent goes on."), "the outcome is on the page");
    assert!(!html.contains(&format!(r#"data-event="{call}""#)), "no card for the decided call");
    // A code the server never sends says nothing.
    let (_, html) = ada_page(&app, &ada, &format!("{page}?decision=Call%20us&decided={call}")).await;
    assert!(!html.contains("Call us") && !html.contains(r#"data-testid="form-outcome""#));

    // The same audit entry as a decision from a hydrated page: who, which call, the input's digest.
    let (_, log) = app.read("audit/list", &[("query[action]", "sessions/decide_form")]).await;
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{log}");
    assert!(entries.iter().all(|e| e["who"] == "ada"), "{log}");
}

#[tokio::test]
async fn a_cards_plain_form_is_refused_from_another_site_to_a_viewer_and_for_a_bad_verdict() {
    let PendingBash { upstream, app, session, call, .. } = pending_bash().await;
    let back = format!("/sessions/{session}");
    let fields = |verdict: &'static str| {
        vec![
            ("session_id", session.clone()),
            ("event_id", call.clone()),
            ("verdict", verdict.to_owned()),
            ("back", back.clone()),
        ]
    };
    let ada = app.client_as("ada", &["approver"]).await;
    // A page elsewhere that posts the form through the person's open console.
    let forged = ada
        .post(format!("{}/api/sessions/decide_form", app.address))
        .header("accept", "text/html")
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&fields("allow"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    // A viewer may look, not decide.
    let viewer = app.client_as("vic", &["viewer"]).await;
    let fields_allow = fields("allow");
    let refs: Vec<(&str, &str)> = fields_allow.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = post_card_form(&app, &viewer, &refs).await;
    assert_eq!(response.status().as_u16(), 403);
    // Neither "allow" nor "deny": back to the page, which says the decision was refused as sent.
    let fields_maybe = fields("maybe");
    let refs: Vec<(&str, &str)> = fields_maybe.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = post_card_form(&app, &ada, &refs).await;
    assert_eq!(response.status().as_u16(), 302);
    assert_eq!(location(&response), format!("{back}?decision=invalid&decided={call}"));
    let (_, html) = ada_page(&app, &ada, &location(&response)).await;
    assert!(html.contains("The decision was refused as sent"), "said on the page");
    assert!(html.contains(&format!(r#"data-event="{call}""#)), "and the call still waits there");
    assert!(confirmations(&upstream, &session).await.is_empty());
    // A back address on another site is not followed: the inbox instead.
    let mut deny = fields("deny");
    deny[3].1 = "//evil.example/".to_owned();
    deny.push(("deny_message", "  Not on a Friday.  ".to_owned()));
    let refs: Vec<(&str, &str)> = deny.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = post_card_form(&app, &ada, &refs).await;
    assert_eq!(response.status().as_u16(), 302);
    assert_eq!(location(&response), format!("/inbox?decision=denied&decided={call}"));
    let sent = confirmations(&upstream, &session).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        (sent[0]["result"].as_str(), sent[0]["deny_message"].as_str()),
        (Some("deny"), Some("Not on a Friday."))
    );
}

async fn ada_page(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let response = client.get(format!("{}{path}", app.address)).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_custom_tool_is_answered_and_steering_sends_messages_and_interrupts() {
    let upstream = upstream().await;
    let app = switchboard(&upstream, &[]).await;
    let session = upstream
        .session_with_tools(json!([{ "custom_tool": "lookup_order", "input": { "order": "A-17" } }, { "sleep_ms": 3000 }, { "text": "late" }]))
        .await;
    let mut viewer = watch_session(&app, &session, None).await;
    let (status, sent) = call_json(
        &app,
        "sessions/steer",
        json!({ "session_id": session, "text": "go", "file_ids": [], "interrupt": false }),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    assert!(sent.as_str().unwrap().starts_with("sevt_"), "the message's event id: {sent}");
    let call = viewer.until_requires_action().await.remove(0);
    let bad = json!({ "session_id": session, "event_id": call, "text": "{not json", "json": true, "is_error": false });
    let (status, error) = call_json(&app, "sessions/answer", bad).await;
    assert_eq!(status, 400);
    assert!(error["message"].as_str().unwrap().contains("not JSON"), "{error}");
    let good = json!({ "session_id": session, "event_id": call, "text": "{\"status\": \"shipped\"}", "json": true, "is_error": false });
    let (status, answered) = call_json(&app, "sessions/answer", good).await;
    assert_eq!((status, &answered["sent"]), (200, &json!([call])), "{answered}");
    // The agent sleeps now; interrupt it and redirect in one request.
    loop {
        let frame = viewer.event().await;
        if frame.data["type"] == "user.custom_tool_result" {
            break;
        }
    }
    let (status, _) = call_json(
        &app,
        "sessions/steer",
        json!({ "session_id": session, "text": "stop and say hi", "file_ids": [], "interrupt": true }),
    )
    .await;
    assert_eq!(status, 200);
    let (status, empty) = call_json(
        &app,
        "sessions/steer",
        json!({ "session_id": session, "text": "  ", "file_ids": [], "interrupt": false }),
    )
    .await;
    assert_eq!(status, 400);
    assert!(empty["message"].as_str().unwrap().contains("Write a message"), "{empty}");
    let events = upstream.events(&session).await;
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let interrupt = kinds.iter().position(|k| *k == "user.interrupt").expect("the interrupt arrived");
    assert_eq!(kinds[interrupt + 1..].iter().find(|k| k.starts_with("user.")), Some(&"user.message"), "{kinds:?}");
    let result = events.iter().find(|e| e["type"] == "user.custom_tool_result").unwrap();
    assert_eq!(result["content"][0]["text"], "{\n  \"status\": \"shipped\"\n}");
}

#[tokio::test]
async fn preview_fragments_are_sent_on_merged_not_one_write_each() {
    let upstream = upstream().await;
    let app = switchboard(&upstream, &[]).await;
    // 90 words stream as 30 fragments, 10 ms apart: about 300 ms of writing.
    let text = (1..=90).map(|n| format!("w{n}")).collect::<Vec<_>>().join(" ");
    let session = upstream.session(json!([{ "text": text }]), 10).await;
    let mut viewer = watch_session(&app, &session, None).await;
    upstream.send(&session, "go").await;
    let (mut deltas, mut folded) = (0, String::new());
    loop {
        let frame = viewer.next().await;
        if frame.name == "preview" && frame.data["type"] == "event_delta" {
            deltas += 1;
            folded.push_str(frame.data["delta"]["content"]["text"].as_str().unwrap());
        }
        if frame.name == "event" && frame.data["type"] == "agent.message" {
            break;
        }
    }
    assert!(deltas >= 1, "the text was previewed");
    assert!(deltas < 20, "30 fragments were sent as {deltas} merged deltas");
    assert!(text.starts_with(&folded) && folded.len() > 20, "the merged deltas fold into the text: {folded:?}");
}

#[tokio::test]
async fn a_decision_the_api_refuses_is_taken_back_and_can_be_made_again() {
    let PendingBash { upstream, app, session, mut viewer, call } = pending_bash().await;
    let verdict = verdict(&session, &call, true, None);
    upstream.tap.refuse_next_post.store(true, Ordering::SeqCst);
    let (status, error) = call_json(&app, "sessions/decide", verdict.clone()).await;
    assert_eq!(status, 400, "{error}");
    assert!(error["message"].as_str().unwrap().contains("refused by the test"), "{error}");
    let (status, outcome) = call_json(&app, "sessions/decide", verdict).await;
    assert_eq!((status, &outcome["sent"]), (200, &json!([call])), "decided again: {outcome}");
    viewer.until_end_of_turn().await;
    // A call named twice in one request is refused before anything is recorded.
    let twice = json!({ "session_id": session, "verdicts": [
        { "event_id": "sevt_a", "allow": true, "deny_message": null },
        { "event_id": "sevt_a", "allow": false, "deny_message": null } ] });
    let (status, error) = call_json(&app, "sessions/decide", twice).await;
    assert_eq!(status, 400, "{error}");
    assert!(error["message"].as_str().unwrap().contains("decided twice"), "{error}");
}

impl Viewer {
    /// The next inbox list the server has looked for, whose calls `until` accepts.
    async fn inbox_until(&mut self, until: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let frame = tokio::time::timeout_at(deadline, self.next()).await.expect("the inbox list within 30 s");
            if frame.name == "inbox" && frame.data["ready"] == true {
                let calls = frame.data["calls"].as_array().unwrap().clone();
                if until(&calls) {
                    return calls;
                }
            }
        }
    }
}

/// The event ids of inbox calls.
fn call_ids(calls: &[Value]) -> Vec<&str> {
    calls.iter().map(|c| c["event"]["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn the_inbox_lists_waiting_calls_across_sessions_and_drops_each_at_once_when_decided() {
    let upstream = upstream().await;
    // Ticks 30 s apart: within the test, only the first look and the decisions change the list.
    let app = switchboard(&upstream, &[("SWITCHBOARD_INBOX_POLL_SECS", "30")]).await;
    let bash = upstream
        .session_with_tools(
            json!([{ "tool": "bash", "input": { "command": "echo from the inbox" } }, { "text": "Ran it." }]),
        )
        .await;
    let custom = upstream
        .session_with_tools(
            json!([{ "custom_tool": "lookup_order", "input": { "order": "A-17" } }, { "text": "Shipped." }]),
        )
        .await;
    for session in [&bash, &custom] {
        let mut viewer = watch_session(&app, session, None).await;
        upstream.send(session, "go").await;
        viewer.until_requires_action().await;
    }
    let mut inbox = watch(&app, "/api/inbox/stream", None).await;
    let calls = inbox.inbox_until(|calls| calls.len() == 2).await;
    let of = |session: &str| calls.iter().find(|c| c["session_id"] == session).expect("a call of each session").clone();
    let (tool, answer) = (of(&bash), of(&custom));
    assert_eq!(
        (tool["event"]["type"].as_str(), tool["event"]["name"].as_str(), tool["agent_name"].as_str()),
        (Some("agent.tool_use"), Some("bash"), Some("approvals test"))
    );
    assert_eq!(tool["event"]["input"]["command"], "echo from the inbox", "the card gets the whole input");
    assert_eq!(
        (answer["event"]["type"].as_str(), answer["event"]["name"].as_str()),
        (Some("agent.custom_tool_use"), Some("lookup_order"))
    );
    // The page renders the same list on the server.
    let (status, listed) = app.read("inbox/list", &[]).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(call_ids(listed["calls"].as_array().unwrap()).len(), 2, "{listed}");

    // Deciding takes the call out at once (no tick comes for 30 s); answering the custom tool
    // takes out the other.
    let call = tool["event"]["id"].as_str().unwrap().to_owned();
    let (status, decided) = call_json(&app, "sessions/decide", verdict(&bash, &call, true, None)).await;
    assert_eq!(status, 200, "{decided}");
    let left = tokio::time::timeout(Duration::from_secs(1), inbox.inbox_until(|calls| calls.len() == 1))
        .await
        .expect("the decided call leaves the inbox at once");
    assert_eq!(left[0]["session_id"], custom.as_str());
    let answer_id = answer["event"]["id"].as_str().unwrap();
    let body =
        json!({ "session_id": custom, "event_id": answer_id, "text": "shipped", "json": false, "is_error": false });
    let (status, answered) = call_json(&app, "sessions/answer", body).await;
    assert_eq!(status, 200, "{answered}");
    tokio::time::timeout(Duration::from_secs(1), inbox.inbox_until(|calls| calls.is_empty()))
        .await
        .expect("the answered call leaves the inbox at once");
}

#[tokio::test]
async fn the_inbox_asks_nothing_while_nobody_looks_and_reads_only_sessions_that_changed() {
    let upstream = upstream().await;
    let app = switchboard(&upstream, &[("SWITCHBOARD_INBOX_POLL_SECS", "0.25")]).await;
    let quiet = upstream.session_with_tools(json!([{ "text": "Nothing to approve." }])).await;
    let busy = upstream.session_with_tools(json!([{ "tool": "bash", "input": { "command": "true" } }])).await;
    let inbox_reads = |tap: &Tap| {
        let reads = tap.reads.lock().unwrap();
        let lists = reads.iter().filter(|r| r.starts_with("/v1/sessions?")).count();
        let of = |s: &str| reads.iter().filter(|r| r.starts_with(&format!("/v1/sessions/{s}/events?"))).count();
        (lists, of(&quiet), of(&busy))
    };
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(inbox_reads(&upstream.tap), (0, 0, 0), "no browser looks: no requests");

    let mut inbox = watch(&app, "/api/inbox/stream", None).await;
    inbox.inbox_until(|_| true).await;
    // The first look reads both sessions (new to the inbox); afterwards, nothing changes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (lists, quiet_reads, busy_reads) = inbox_reads(&upstream.tap);
    assert!(lists >= 1 && quiet_reads == 1 && busy_reads == 1, "{:?}", (lists, quiet_reads, busy_reads));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (later, quiet_again, busy_again) = inbox_reads(&upstream.tap);
    assert!(later > lists, "the newest sessions are listed every tick");
    assert_eq!((quiet_again, busy_again), (1, 1), "unchanged sessions are not read again");

    // One session changes: only it is read, and its call shows.
    upstream.send(&busy, "go").await;
    let calls = inbox.inbox_until(|calls| !calls.is_empty()).await;
    assert_eq!(calls[0]["session_id"], busy.as_str());
    let (_, quiet_reads, busy_reads) = inbox_reads(&upstream.tap);
    assert_eq!(quiet_reads, 1, "the session that did not change is not read");
    assert!(busy_reads >= 2);

    // The last browser leaves: the inbox stops asking.
    drop(inbox);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let stopped = inbox_reads(&upstream.tap);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(inbox_reads(&upstream.tap), stopped, "nobody looks: no more requests");
}

/// An upstream that says exactly what a test tells it to: a session's history (listed in
/// `processed_at` order, as the API lists) and its live stream (frames in the order sent, which
/// the API does not promise to be the same).
#[derive(Default)]
struct Scripted {
    history: std::sync::Mutex<Vec<Value>>,
    /// Frames every stream sends as soon as it opens.
    on_connect: std::sync::Mutex<Vec<Value>>,
    live: std::sync::OnceLock<tokio::sync::broadcast::Sender<Value>>,
}

impl Scripted {
    fn live(&self) -> &tokio::sync::broadcast::Sender<Value> {
        self.live.get_or_init(|| tokio::sync::broadcast::channel(64).0)
    }

    /// Records `event` in the history and sends it on every open stream.
    fn happen(&self, event: Value) {
        self.history.lock().unwrap().push(event.clone());
        let _ = self.live().send(event);
    }

    async fn serve(self: Arc<Self>) -> String {
        use axum::{
            extract::{Query, State},
            routing::get,
        };
        async fn list(
            State(up): State<Arc<Scripted>>,
            Query(query): Query<Vec<(String, String)>>,
        ) -> axum::Json<Value> {
            let since = query.iter().find(|(k, _)| k == "created_at[gte]").map(|(_, v)| v.clone());
            let mut events = up.history.lock().unwrap().clone();
            events.sort_by(|a, b| a["processed_at"].as_str().cmp(&b["processed_at"].as_str()));
            events.retain(|e| since.as_deref().is_none_or(|s| e["processed_at"].as_str().unwrap_or_default() >= s));
            axum::Json(json!({ "data": events, "next_page": null }))
        }
        async fn stream(State(up): State<Arc<Scripted>>) -> Response {
            let first = up.on_connect.lock().unwrap().clone();
            let live = tokio_stream_of(up.live().subscribe());
            let frames = futures::stream::iter(first).chain(live).map(|event| {
                Ok::<_, std::convert::Infallible>(format!(
                    "event: {}\ndata: {event}\n\n",
                    event["type"].as_str().unwrap()
                ))
            });
            ([("content-type", "text/event-stream")], Body::from_stream(frames)).into_response()
        }
        fn tokio_stream_of(rx: tokio::sync::broadcast::Receiver<Value>) -> impl futures::Stream<Item = Value> {
            futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.ok().map(|v| (v, rx)) })
        }
        let router = axum::Router::new()
            .route("/v1/sessions/{id}/events", get(list))
            .route("/v1/sessions/{id}/events/stream", get(stream))
            .with_state(self);
        serve(router).await
    }
}

/// A hub of its own on `upstream`, keeping `retain` events.
fn hub_on(upstream: &str, retain: usize) -> Arc<server::streams::hub::Hub> {
    hub_with(upstream, server::streams::hub::HubConfig { retain, ..server::streams::hub::HubConfig::default() })
}

/// A hub of its own on `upstream`, for tests that look inside it.
fn hub_with(upstream: &str, config: server::streams::hub::HubConfig) -> Arc<server::streams::hub::Hub> {
    use server::{settings::ApiKey, streams::hub::Hub, upstream::UpstreamClient};
    Hub::new(UpstreamClient::new(upstream.to_owned(), ApiKey::new(KEY)), config)
}

/// The next `n` `event` and `reset` frames of a hub stream.
async fn frames_of(frames: &mut (impl futures::Stream<Item = bytes::Bytes> + Unpin), n: usize) -> Vec<Frame> {
    let mut text = String::new();
    let mut out = Vec::new();
    while out.len() < n {
        let chunk = tokio::time::timeout(Duration::from_secs(10), frames.next())
            .await
            .unwrap_or_else(|_| panic!("{n} frames within 10 s; got {out:?}"))
            .expect("the stream is open");
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| block.lines().find_map(|l| l.strip_prefix(name)).map(str::to_owned);
            let name = field("event: ").unwrap_or_default();
            if name == "event" || name == "reset" {
                let data = serde_json::from_str(&field("data: ").unwrap_or_default()).unwrap_or(Value::Null);
                out.push(Frame { id: field("id: ").and_then(|id| id.parse().ok()), name, data });
            }
        }
    }
    out
}

fn scripted_event(kind: &str, id: &str, second: u32) -> Value {
    let mut event = json!({ "type": kind, "processed_at": format!("2026-11-22T10:00:{second:02}Z") });
    if !id.is_empty() {
        event["id"] = json!(id);
    }
    event
}

#[tokio::test]
async fn an_event_without_an_id_is_logged_once_and_numbered_alike_by_every_hub() {
    let upstream = Arc::new(Scripted::default());
    let interrupt = scripted_event("user.interrupt", "", 2);
    upstream.history.lock().unwrap().extend([scripted_event("user.message", "sevt_a", 1), interrupt.clone()]);
    // The stream that opens before the history is listed delivers the interrupt too, its
    // fields in another order: the listing overlaps it.
    let reordered: serde_json::Map<String, Value> =
        interrupt.as_object().unwrap().iter().rev().map(|(k, v)| (k.clone(), v.clone())).collect();
    upstream.on_connect.lock().unwrap().push(Value::Object(reordered));
    let base = upstream.clone().serve().await;
    let first = hub_on(&base, 100);
    let mut viewer = Box::pin(first.watch("sesn_x", 0).await.expect("watching starts"));
    upstream.happen(scripted_event("agent.message", "sevt_b", 3));
    let seen = frames_of(&mut viewer, 3).await;
    let kinds: Vec<&str> = seen.iter().map(|f| f.data["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["user.message", "user.interrupt", "agent.message"], "the interrupt once");
    assert_eq!(seqs(&seen), [1, 2, 3]);
    // A hub built from scratch (a restarted Switchboard) numbers the same events the same way.
    let again = frames_of(&mut Box::pin(hub_on(&base, 100).watch("sesn_x", 0).await.unwrap()), 3).await;
    assert_eq!(ids(&again), ids(&seen));
    assert_eq!(seqs(&again), [1, 2, 3]);
}

#[tokio::test]
async fn events_listed_again_keep_their_numbers_when_the_api_lists_them_in_another_order() {
    let upstream = Arc::new(Scripted::default());
    let base = upstream.clone().serve().await;
    // One event kept: a newcomer's history comes from the API's listing.
    let hub = hub_on(&base, 1);
    let mut first = Box::pin(hub.watch("sesn_x", 0).await.expect("watching starts"));
    // Two threads' events: the stream delivers the later one first.
    for (id, second) in [("sevt_1", 1), ("sevt_3", 3), ("sevt_2", 2)] {
        upstream.happen(scripted_event("agent.message", id, second));
    }
    let live = frames_of(&mut first, 3).await;
    assert_eq!(ids(&live), ["sevt_1", "sevt_3", "sevt_2"]);
    let newcomer = frames_of(&mut Box::pin(hub.watch("sesn_x", 0).await.unwrap()), 3).await;
    assert_eq!(ids(&newcomer), ids(&live), "the numbers are the log's, not the listing's positions");
    assert_eq!(seqs(&newcomer), [1, 2, 3]);
}

#[tokio::test]
async fn a_last_event_id_beyond_the_log_gets_a_reset_and_the_whole_history() {
    let upstream = Arc::new(Scripted::default());
    for (id, second) in [("sevt_1", 1), ("sevt_2", 2)] {
        upstream.history.lock().unwrap().push(scripted_event("agent.message", id, second));
    }
    let base = upstream.serve().await;
    let hub = hub_on(&base, 100);
    // A page numbered by another log (a server whose numbering differed) resumes from 9.
    let resumed = frames_of(&mut Box::pin(hub.watch("sesn_x", 9).await.unwrap()), 3).await;
    assert_eq!(resumed[0].name, "reset", "the page is told to forget what it has");
    assert!(resumed[0].data["message"].as_str().unwrap().contains("read again"));
    assert_eq!(ids(&resumed[1..]), ["sevt_1", "sevt_2"]);
    assert_eq!(seqs(&resumed[1..]), [1, 2]);
}

#[tokio::test]
async fn a_child_threads_call_waits_in_the_inbox_named_by_its_agent_and_the_decision_reaches_that_thread() {
    let upstream = upstream().await;
    let app = switchboard(&upstream, &[("SWITCHBOARD_INBOX_POLL_SECS", "30")]).await;
    let careful = json!({
        "name": "Careful helper", "model": "scripted",
        "system": json!({ "turns": [[{ "tool": "bash", "input": { "command": "echo from the child" } }, { "text": "Ran it." }]] }).to_string(),
        "tools": [{ "type": "agent_toolset_20260401", "default_config": { "permission_policy": { "type": "always_ask" } } }],
    });
    let careful = upstream.call(reqwest::Method::POST, "/v1/agents", Some(careful)).await;
    let lead = json!({
        "name": "Lead", "model": "scripted",
        "system": json!({ "turns": [[{ "subagent": "Careful helper", "message": "Run it." }, { "text": "Thanks." }]] }).to_string(),
        "multiagent": { "type": "multiagent_20261001", "subagents": { "type": "enabled", "predefined_agents": [careful["id"]] } },
    });
    let session = upstream.start(lead).await;
    let mut viewer = watch_session(&app, &session, None).await;
    upstream.send(&session, "go").await;
    let waiting = viewer.until_requires_action().await;
    let mut inbox = watch(&app, "/api/inbox/stream", None).await;
    let calls = inbox.inbox_until(|calls| calls.len() == 1).await;
    assert_eq!(call_ids(&calls), [waiting[0].as_str()]);
    assert_eq!(calls[0]["thread_agent"], "Careful helper", "the card can name the thread's agent");
    let thread = calls[0]["event"]["session_thread_id"].as_str().expect("a child's call").to_owned();
    let (status, decided) = call_json(&app, "sessions/decide", verdict(&session, &waiting[0], true, None)).await;
    assert_eq!(status, 200, "{decided}");
    loop {
        let frame = viewer.event().await;
        if frame.data["type"] == "session.status_idle" {
            assert_eq!(frame.data["stop_reason"]["type"], "end_turn", "the child ran the call and the turn ended");
            break;
        }
    }
    let confirmation = confirmations(&upstream, &session).await;
    assert_eq!(confirmation.len(), 1);
    assert_eq!(confirmation[0]["session_thread_id"], thread.as_str(), "the decision reached the child's thread");
    let path = format!("/v1/sessions/{session}/threads/{thread}/events");
    let child = upstream.call(reqwest::Method::GET, &path, None).await;
    let result = child["data"].as_array().unwrap().iter().find(|e| e["type"] == "agent.tool_result").cloned();
    assert!(result.unwrap()["content"][0]["text"].as_str().unwrap().contains("from the child"));
}

/// A hub stream read event by event (one write may carry several frames).
struct HubReader<S> {
    frames: S,
    read: std::collections::VecDeque<Frame>,
}

impl<S: futures::Stream<Item = bytes::Bytes> + Unpin> HubReader<S> {
    fn new(frames: S) -> Self {
        Self { frames, read: Default::default() }
    }

    /// The events until (and with) the first one `last` accepts.
    async fn until(&mut self, last: impl Fn(&Value) -> bool) -> Vec<Frame> {
        let mut out = Vec::new();
        loop {
            if self.read.is_empty() {
                self.read.extend(frames_of(&mut self.frames, 1).await);
            }
            let frame = self.read.pop_front().expect("a frame was read");
            let done = last(&frame.data);
            out.push(frame);
            if done {
                return out;
            }
        }
    }
}

#[tokio::test]
async fn viewers_of_a_child_thread_share_one_upstream_thread_stream_that_catches_up_by_its_page_cursor() {
    use server::streams::hub::HubConfig;
    let upstream = upstream().await;
    let steps: Vec<Value> = (1..=8)
        .flat_map(|n| [json!({ "text": format!("Part {n} of the work.") }), json!({ "sleep_ms": 150 })])
        .collect();
    let helper = json!({ "name": "Worker", "model": "scripted", "system": json!({ "turns": [steps] }).to_string() });
    let helper = upstream.call(reqwest::Method::POST, "/v1/agents", Some(helper)).await;
    let lead = json!({
        "name": "Lead", "model": "scripted",
        "system": json!({ "turns": [[{ "subagent": "Worker", "message": "Work." }, { "text": "Done." }]] }).to_string(),
        "multiagent": { "type": "multiagent_20261001", "subagents": { "type": "enabled", "predefined_agents": [helper["id"]] } },
    });
    let session = upstream.start(lead).await;
    // Pages of one event: the thread's first listing (it has a few events by then) ends with a
    // cursor that a reconnect starts from.
    let hub = hub_with(&upstream.base_url, HubConfig { page: 1, ..HubConfig::default() });
    let mut primary = HubReader::new(Box::pin(hub.watch(&session, 0).await.expect("watching starts")));
    upstream.send(&session, "go").await;
    let created = primary.until(|e| e["type"] == "session.thread_status_running").await;
    let thread = created.last().unwrap().data["session_thread_id"].as_str().unwrap().to_owned();
    let mut first = HubReader::new(Box::pin(hub.watch_thread(&session, &thread, 0).await.expect("watching starts")));
    let mut second = HubReader::new(Box::pin(hub.watch_thread(&session, &thread, 0).await.expect("watching starts")));
    let is_message = |e: &Value| e["type"] == "agent.message";
    let mut seen = first.until(is_message).await;
    assert_eq!(upstream.tap.thread_opened.load(Ordering::SeqCst), 1, "two viewers, one upstream thread stream");
    let reads_before_cut = upstream.tap.reads.lock().unwrap().len();
    upstream.tap.cut.send_modify(|n| *n += 1);
    let is_end = |e: &Value| e["type"] == "session.thread_status_idle";
    seen.extend(first.until(is_end).await);
    let other = second.until(is_end).await;
    let path = format!("/v1/sessions/{session}/threads/{thread}/events?limit=1000");
    let listed: Vec<String> = upstream.call(reqwest::Method::GET, &path, None).await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids(&seen), listed, "the thread's events, each once, across the cut");
    assert_eq!(ids(&other), listed);
    assert_eq!(seqs(&seen), (1..=listed.len() as u64).collect::<Vec<_>>());
    assert_eq!(upstream.tap.thread_opened.load(Ordering::SeqCst), 2, "reconnected once");
    let relisted: Vec<String> = upstream.tap.reads.lock().unwrap()[reads_before_cut..]
        .iter()
        .filter(|r| r.contains(&format!("/threads/{thread}/events")))
        .cloned()
        .collect();
    assert!(!relisted.is_empty(), "the reconnect listed what it missed");
    assert!(relisted[0].contains("page="), "caught up from its page cursor, not from the start: {relisted:?}");
    // Once nobody watches the thread, its upstream stream closes after the grace period like a
    // session's (the default grace is 30 s; the hub's own tests cover its timing).
    drop((first, second));
    assert_eq!(hub.stats().open_streams, 2, "the session's stream and the thread's, still in their grace period");
}

/// A feed of the page (the session's stream or one thread's) as a browser reads it across
/// reloads: every event seen, and the `Last-Event-ID` a reload sends.
struct Feed {
    path: String,
    viewer: Option<Viewer>,
    seen: Vec<Frame>,
}

impl Feed {
    async fn open(app: &TestApp, path: String) -> Self {
        let viewer = Some(watch(app, &path, None).await);
        Self { path, viewer, seen: Vec::new() }
    }

    /// Reads events until one matches.
    async fn until(&mut self, stop: impl Fn(&Value) -> bool) -> Value {
        let viewer = self.viewer.as_mut().expect("the feed is open");
        loop {
            let frame = viewer.event().await;
            let data = frame.data.clone();
            self.seen.push(frame);
            if stop(&data) {
                return data;
            }
        }
    }

    /// The browser reloads: the stream closes, and opens again from the last event it saw.
    async fn reload(&mut self, app: &TestApp) {
        drop(self.viewer.take());
        self.viewer = Some(watch(app, &self.path, self.seen.last().and_then(|f| f.id)).await);
    }

    fn assert_complete(&self, listed: Vec<String>, what: &str) {
        assert_eq!(ids(&self.seen), listed, "{what}: every event once, in order, across the reloads");
        assert_eq!(seqs(&self.seen), (1..=listed.len() as u64).collect::<Vec<_>>(), "{what}: numbered without gaps");
    }
}

/// A session whose lead hands work to "Worker A", then to "Worker B" (each writes five messages,
/// 120 ms apart), then says "Done.".
async fn two_workers(upstream: &Upstream) -> String {
    let steps: Vec<Value> = (1..=5)
        .flat_map(|n| [json!({ "text": format!("Part {n} of the work.") }), json!({ "sleep_ms": 120 })])
        .collect();
    let mut helpers = Vec::new();
    for name in ["Worker A", "Worker B"] {
        let helper = json!({ "name": name, "model": "scripted", "system": json!({ "turns": [steps] }).to_string() });
        helpers.push(upstream.call(reqwest::Method::POST, "/v1/agents", Some(helper)).await["id"].clone());
    }
    let lead = json!({
        "name": "Lead", "model": "scripted",
        "system": json!({ "turns": [[
            { "subagent": "Worker A", "message": "Work." },
            { "subagent": "Worker B", "message": "Work too." },
            { "text": "Done." }
        ]] }).to_string(),
        "multiagent": { "type": "multiagent_20261001", "subagents": { "type": "enabled", "predefined_agents": helpers } },
    });
    upstream.start(lead).await
}

#[tokio::test]
async fn a_reload_mid_turn_loses_nothing_in_any_lane() {
    let upstream = upstream().await;
    let app = switchboard(&upstream, &[]).await;
    let session = two_workers(&upstream).await;
    let mut primary = Feed::open(&app, format!("/api/sessions/{session}/stream")).await;
    upstream.send(&session, "go").await;

    let mut threads = Vec::new();
    for _ in 0..2 {
        // A lane appears; its timeline is opened and read to its first message; the page reloads
        // with every feed it has open.
        let running = primary.until(|e| e["type"] == "session.thread_status_running").await;
        let thread = running["session_thread_id"].as_str().unwrap().to_owned();
        let mut feed = Feed::open(&app, format!("/api/sessions/{session}/threads/{thread}/stream")).await;
        feed.until(|e| e["type"] == "agent.message").await;
        threads.push((thread, feed));
        primary.reload(&app).await;
        for (_, feed) in &mut threads {
            feed.reload(&app).await;
        }
    }
    primary.until(|e| e["type"] == "session.status_idle" && e["stop_reason"]["type"] == "end_turn").await;
    for (_, feed) in &mut threads {
        feed.until(|e| e["type"] == "session.thread_status_idle").await;
    }

    primary.assert_complete(upstream.ids(&session).await, "the session's stream");
    let lifecycle =
        primary.seen.iter().filter(|f| f.data["type"].as_str().is_some_and(|t| t.starts_with("session.thread_")));
    assert_eq!(lifecycle.count(), 6, "each lane's creation, running and idle, once each");
    for (thread, feed) in &threads {
        let path = format!("/v1/sessions/{session}/threads/{thread}/events?limit=1000");
        let listed = upstream.call(reqwest::Method::GET, &path, None).await["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect();
        feed.assert_complete(listed, thread);
    }
}

#[tokio::test]
async fn each_lane_gets_its_threads_tokens_and_cost_from_the_thread_objects() {
    let upstream = upstream().await;
    let app = switchboard(&upstream, &[]).await;
    let session = two_workers(&upstream).await;
    let mut viewer = watch_session(&app, &session, None).await;
    upstream.send(&session, "go").await;
    viewer.until_end_of_turn().await;
    let (status, figures) = app.read("sessions/threads", &[("session_id", &session)]).await;
    assert_eq!(status, 200, "{figures}");
    let figures = figures.as_array().expect("a list");
    let agents: Vec<(&str, bool)> =
        figures.iter().map(|f| (f["agent"].as_str().unwrap(), f["primary"].as_bool().unwrap())).collect();
    assert_eq!(agents, [("Lead", true), ("Worker A", false), ("Worker B", false)]);
    let listed = upstream.call(reqwest::Method::GET, &format!("/v1/sessions/{session}/threads"), None).await;
    for (figure, thread) in figures.iter().zip(listed["data"].as_array().unwrap()) {
        let usage = &thread["usage"];
        let tokens = usage["input_tokens"].as_u64().unwrap() + usage["output_tokens"].as_u64().unwrap();
        assert!(tokens > 0, "the scripted model counts tokens: {thread}");
        assert_eq!((figure["id"].clone(), figure["tokens"].as_u64().unwrap()), (thread["id"].clone(), tokens));
        assert_eq!(figure["cost"], "$0.00", "the engine's list cost, formatted");
    }
    let (status, error) = app.read("sessions/threads", &[("session_id", "sesn_nothing_here")]).await;
    assert_eq!(status, 404, "a session that does not exist: {error}");

    // A stopped lane's own activity, from one listing of its thread's events: Worker A's five
    // messages (its thread's, not cross-posted to the session's stream).
    let worker_a = figures[1]["id"].as_str().unwrap();
    let (status, activity) =
        app.read("sessions/thread_activity", &[("session_id", &session), ("thread_id", worker_a)]).await;
    assert_eq!(status, 200, "{activity}");
    let kinds: Vec<&str> = activity["marks"].as_array().unwrap().iter().map(|m| m[1].as_str().unwrap()).collect();
    assert_eq!(kinds, ["message"; 5]);
    assert_eq!(activity["partial"], false);
    let (status, error) =
        app.read("sessions/thread_activity", &[("session_id", &session), ("thread_id", "../agents")]).await;
    assert_eq!(status, 400, "not a thread id: {error}");
}

async fn post_webhook(app: &TestApp, webhook: (Vec<(&'static str, String)>, String)) -> u16 {
    support::post_webhook_to(app, "/webhooks/anthropic", webhook).await
}

#[tokio::test]
async fn a_signed_webhook_brings_a_waiting_call_to_the_inbox_at_once_and_bad_ones_read_nothing() {
    let upstream = upstream().await;
    let secret = engine::webhooks::generate_secret();
    // A tick a minute: within the test, only the first look and the webhook can change the list.
    let app =
        switchboard(&upstream, &[("SWITCHBOARD_INBOX_POLL_SECS", "60"), ("SWITCHBOARD_WEBHOOK_SECRET", &secret)]).await;
    let mut inbox = watch(&app, "/api/inbox/stream", None).await;
    inbox.inbox_until(|calls| calls.is_empty()).await;

    let session = upstream
        .session_with_tools(json!([{ "tool": "bash", "input": { "command": "echo webhook" } }, { "text": "Ran it." }]))
        .await;
    let mut viewer = watch_session(&app, &session, None).await;
    upstream.send(&session, "go").await;
    viewer.until_requires_action().await;
    let reads_of = |tap: &Tap| {
        let prefix = format!("/v1/sessions/{session}");
        tap.reads.lock().unwrap().iter().filter(|r| r.starts_with(&prefix)).count()
    };
    let before = reads_of(&upstream.tap);

    // Refused, and nothing read: a wrong secret, a stale timestamp, no signature at all.
    let other = engine::webhooks::generate_secret();
    let now = unix_now();
    let requires_action = "session.requires_action";
    assert_eq!(post_webhook(&app, signed_webhook(&other, "msg_1", now, requires_action, &session)).await, 401);
    assert_eq!(post_webhook(&app, signed_webhook(&secret, "msg_2", now - 600, requires_action, &session)).await, 401);
    let (_, body) = signed_webhook(&secret, "msg_3", now, requires_action, &session);
    assert_eq!(post_webhook(&app, (Vec::new(), body)).await, 401);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(reads_of(&upstream.tap), before, "a refused webhook reads nothing");

    // A good one: the call is in the inbox well before the next tick (a minute away).
    let good = signed_webhook(&secret, "msg_4", now, requires_action, &session);
    let started = std::time::Instant::now();
    assert_eq!(post_webhook(&app, good.clone()).await, 204);
    let calls = tokio::time::timeout(Duration::from_secs(5), inbox.inbox_until(|calls| calls.len() == 1))
        .await
        .expect("the waiting call reaches the inbox after the webhook");
    assert_eq!(calls[0]["session_id"], session.as_str());
    assert_eq!(calls[0]["event"]["input"]["command"], "echo webhook");
    assert!(started.elapsed() < Duration::from_secs(5));
    let after = reads_of(&upstream.tap);
    assert_eq!(after, before + 2, "the session and its events, once each");

    // The same webhook again is a replay: refused, nothing read.
    assert_eq!(post_webhook(&app, good).await, 409);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(reads_of(&upstream.tap), after);

    // The Settings page tells an admin what came, what was refused and why, and that the inbox
    // now polls 15 times less often.
    let (status, seen) = app.read("settings/webhooks", &[]).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["setup"], "secret");
    assert_eq!((seen["accepted"].as_u64(), seen["refused"].as_u64()), (Some(1), Some(4)), "{seen}");
    assert_eq!(seen["last_accepted"]["what"], requires_action);
    assert_eq!(seen["last_refused"]["what"], "This webhook was received already.");
    assert_eq!((seen["poll_ms"].as_u64(), seen["base_poll_ms"].as_u64()), (Some(900_000), Some(60_000)));
}

#[tokio::test]
async fn without_a_webhook_secret_anthropic_mode_has_no_webhook_route() {
    let upstream = upstream().await;
    let app = switchboard(&upstream, &[]).await;
    let secret = engine::webhooks::generate_secret();
    let status =
        post_webhook(&app, signed_webhook(&secret, "msg_1", unix_now(), "session.requires_action", "sesn_x")).await;
    assert_eq!(status, 404);
    let (status, seen) = app.read("settings/webhooks", &[]).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!((seen["setup"].as_str(), seen["accepted"].as_u64()), (Some("off"), Some(0)), "{seen}");
    assert_eq!(seen["poll_ms"], seen["base_poll_ms"], "without webhooks the inbox polls at its own pace");
}

/// The embedded engine sends its webhooks to its own Switchboard, signed with a secret made at
/// start: a call that starts waiting reaches the inbox at once, with ticks a minute apart.
#[tokio::test]
async fn the_embedded_engine_wires_its_webhooks_to_its_own_inbox() {
    let app = spawn_app(&[("SWITCHBOARD_INBOX_POLL_SECS", "60")]).await;
    let mut inbox = watch(&app, "/api/inbox/stream", None).await;
    inbox.inbox_until(|calls| calls.is_empty()).await;

    let turns = json!([[{ "tool": "bash", "input": { "command": "echo wired" } }, { "text": "Ran it." }]]);
    let session = asking_session(&app, "webhook test", turns).await;

    let calls = tokio::time::timeout(Duration::from_secs(10), inbox.inbox_until(|calls| calls.len() == 1))
        .await
        .expect("the engine's webhook brings the call to the inbox before the next tick, a minute away");
    assert_eq!(calls[0]["session_id"], session.as_str());
    assert_eq!(calls[0]["event"]["input"]["command"], "echo wired");
}

/// "Always allow `bash` commands starting with `npm test` in this session": the rule answers the
/// call it was made from and the next two that match, not a fourth that does not; each is the
/// rule's decision in the decision store (the timeline's mark) and in the audit log. Revoked, it
/// answers nothing more. A bash pattern is matched on the command's words, so a command shaped to
/// begin with the pattern and then do something else waits for a person.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scoped_rule_answers_matching_calls_until_it_is_revoked() {
    let app = spawn_app(&[]).await;
    let mut inbox = watch(&app, "/api/inbox/stream", None).await;
    inbox.inbox_until(|calls| calls.is_empty()).await;
    let bash = |command: &str| json!({ "tool": "bash", "input": { "command": command } });
    let turns = json!([
        [bash("npm test"), bash("npm test -- --ci"), bash("npm test --watch=false"), bash("npm test && echo shaped"), { "text": "Done." }],
        [bash("npm test"), { "text": "Again." }],
    ]);
    let session = asking_session(&app, "rule test", turns).await;
    let first = inbox.inbox_until(|calls| calls.iter().any(|c| c["session_id"] == session.as_str())).await;
    assert_eq!(first[0]["event"]["input"]["command"], "npm test");

    let rule = [
        ("rule[session_id]", session.as_str()),
        ("rule[tool]", "bash"),
        ("rule[pattern]", "npm test"),
        ("rule[scope]", "session"),
        ("rule[minutes]", "60"),
    ];
    let (status, made) = app.call("rules/create", &rule).await;
    assert_eq!(status, 200, "{made}");
    let id = made["id"].as_i64().unwrap().to_string();
    let by_the_rule = format!("rule {id} of {}", made["created_by"].as_str().unwrap());

    // The first three are the rule's; the fourth, shaped to start with the pattern, waits.
    let calls = inbox
        .inbox_until(|calls| {
            calls.iter().any(|c| {
                c["session_id"] == session.as_str() && c["event"]["input"]["command"] == "npm test && echo shaped"
            })
        })
        .await;
    assert_eq!(calls.iter().filter(|c| c["session_id"] == session.as_str()).count(), 1, "{calls:#?}");
    let (_, decisions) = app.read("sessions/decisions", &[("session_id", &session)]).await;
    let by_rule: Vec<&Value> =
        decisions.as_array().unwrap().iter().filter(|d| d["decided_by"] == by_the_rule.as_str()).collect();
    assert_eq!(by_rule.len(), 3, "{decisions:#}");
    let (_, rules) = app.read("rules/list", &[("session_id", &session)]).await;
    assert_eq!((rules[0]["uses"].as_i64(), rules[0]["live"].as_bool()), (Some(3), Some(true)), "{rules:#}");
    let (_, audit) = app.read("audit/list", &[("query[action]", "rules/allowed")]).await;
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{audit:#}");
    let rule_named = format!("\"rule\":{id}");
    assert!(
        entries.iter().all(
            |e| e["who"].as_str().unwrap().contains("admin") && e["detail"].as_str().unwrap().contains(&rule_named)
        ),
        "{audit:#}"
    );

    // A person denies the shaped call; the turn ends. The rule is revoked; the next turn's
    // `npm test` waits for a person.
    let shaped =
        calls.iter().find(|c| c["session_id"] == session.as_str()).unwrap()["event"]["id"].as_str().unwrap().to_owned();
    let verdict =
        json!({ "session_id": session, "verdicts": [{ "event_id": shaped, "allow": false, "deny_message": null }] });
    let (status, sent) = call_json(&app, "sessions/decide", verdict).await;
    assert_eq!(status, 200, "{sent}");
    let (status, revoked) = app.call("rules/revoke", &[("id", &id)]).await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["revoked_by"], made["created_by"]);
    inbox.inbox_until(|calls| !calls.iter().any(|c| c["session_id"] == session.as_str())).await;
    let message = json!({ "session_id": session, "text": "again", "file_ids": [], "interrupt": false });
    let (status, sent) = call_json(&app, "sessions/steer", message).await;
    assert_eq!(status, 200, "{sent}");
    let calls = inbox.inbox_until(|calls| calls.iter().any(|c| c["session_id"] == session.as_str())).await;
    assert_eq!(
        calls.iter().find(|c| c["session_id"] == session.as_str()).unwrap()["event"]["input"]["command"],
        "npm test"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, rules) = app.read("rules/list", &[]).await;
    assert_eq!((rules[0]["uses"].as_i64(), rules[0]["live"].as_bool()), (Some(3), Some(false)), "{rules:#}");
    let (_, decisions) = app.read("sessions/decisions", &[("session_id", &session)]).await;
    assert_eq!(decisions.as_array().unwrap().iter().filter(|d| d["decided_by"] == by_the_rule.as_str()).count(), 3);
}

/// Who may make and revoke rules, and what a rule may say.
#[tokio::test]
async fn rules_are_refused_in_words_and_only_their_maker_or_an_admin_revokes_them() {
    let app = spawn_app(&[]).await;
    let session =
        asking_session(&app, "rule refusals", json!([[{ "tool": "bash", "input": { "command": "ls" } }]])).await;
    let rule = |tool: &'static str, pattern: &'static str, scope: &'static str, minutes: &'static str| {
        let session = session.clone();
        move || {
            vec![
                ("rule[session_id]", session.clone()),
                ("rule[tool]", tool.to_owned()),
                ("rule[pattern]", pattern.to_owned()),
                ("rule[scope]", scope.to_owned()),
                ("rule[minutes]", minutes.to_owned()),
            ]
        }
    };
    let form = |pairs: Vec<(&'static str, String)>| pairs;
    for (pairs, says) in [
        (form(rule("bash", "npm test; rm -rf /", "session", "60")()), "plain command"),
        (form(rule("read", "/workspace/../etc", "session", "60")()), "without .. parts"),
        (form(rule("web_fetch", "https://", "session", "60")()), "leave the pattern empty"),
        (form(rule("bash", "ls", "everywhere", "60")()), "this session or this agent"),
        (form(rule("bash", "ls", "session", "100000")()), "15 minutes to 24 hours"),
    ] {
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, error) = app.call("rules/create", &pairs).await;
        assert_eq!(status, 400, "{error}");
        assert!(error.to_string().contains(says), "{says:?}: {error}");
    }
    let (_, rules) = app.read("rules/list", &[]).await;
    assert_eq!(rules.as_array().unwrap().len(), 0, "nothing half-made");

    // An agent-wide rule, made by one approver: another may not revoke it; an admin may.
    let april = app.client_as("april", &["approver"]).await;
    let ada = app.client_as("ada", &["approver"]).await;
    let pairs = rule("bash", "ls", "agent", "15")();
    let response = april.post(format!("{}/api/rules/create", app.address)).form(&pairs).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let made: Value = response.json().await.unwrap();
    assert!(made["scope_id"].as_str().unwrap().starts_with("agent_"), "{made}");
    let id = made["id"].as_i64().unwrap().to_string();
    let response = ada.post(format!("{}/api/rules/revoke", app.address)).form(&[("id", &id)]).send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("only they or an admin may revoke it"));
    let (status, revoked) = app.call("rules/revoke", &[("id", &id)]).await;
    assert_eq!(status, 200, "{revoked}");
}

#[tokio::test]
async fn a_feed_over_its_byte_budgets_keeps_less_and_its_viewers_lose_no_event() {
    // Issue 20: a feed kept 20,000 frames whatever their size; nothing bounded the hub in bytes.
    use server::streams::hub::HubConfig;
    let upstream = upstream().await;
    let first = upstream.session(long_turn(), 5).await;
    let second = upstream.session(long_turn(), 5).await;
    // A few frames per feed, and less than two feeds' worth in all.
    let config = HubConfig {
        retain_bytes: 3000,
        total_bytes: 4000,
        channel: 2,
        grace: Duration::from_millis(200),
        ..HubConfig::default()
    };
    let hub = hub_with(&upstream.base_url, config);
    let mut slow = Box::pin(hub.watch(&first, 0).await.expect("watching starts"));
    let mut other = Box::pin(hub.watch(&second, 0).await.expect("watching starts"));
    upstream.send(&first, "go").await;
    upstream.send(&second, "go").await;
    let first_live = read_hub(Box::pin(hub.watch(&first, 0).await.unwrap())).await;
    let second_live = read_hub(&mut other).await;
    let (first_ids, second_ids) = (upstream.ids(&first).await, upstream.ids(&second).await);
    assert_eq!(ids(&first_live), first_ids);
    assert_eq!(ids(&second_live), second_ids);
    let stats = hub.stats();
    assert!(stats.kept_events < first_ids.len() + second_ids.len(), "{stats:?}");
    // Within the budget but for the one newest event each feed always keeps.
    let largest = first_live.iter().chain(&second_live).map(|f| f.data.to_string().len() + 64).max().unwrap();
    assert!(stats.kept_bytes <= 4000 + 2 * largest, "{stats:?}");
    // The viewer that read nothing meanwhile gets every event, in order, the dropped ones listed again.
    let slow_frames = read_hub(&mut slow).await;
    assert_eq!(ids(&slow_frames), first_ids, "nothing lost behind the budget");
    assert_eq!(seqs(&slow_frames), (1..=first_ids.len() as u64).collect::<Vec<_>>());
    // So does a newcomer.
    assert_eq!(ids(&read_hub(Box::pin(hub.watch(&second, 0).await.unwrap())).await), second_ids);
    // The bytes are given back when the feeds go.
    drop((slow, other));
    let mut released = false;
    for _ in 0..100 {
        if hub.stats().kept_bytes == 0 {
            released = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(released, "every feed's bytes counted out once it closed: {:?}", hub.stats());
}

#[tokio::test]
async fn the_hubs_of_two_workspaces_share_one_byte_budget_and_lose_no_event() {
    // Issue 20: each workspace has a hub of its own; the budget bounds them together.
    use server::{settings::ApiKey, streams::hub::Hub, upstream::UpstreamClient};
    let (home, staging) = (upstream().await, upstream().await);
    let (first, second) = (home.session(long_turn(), 5).await, staging.session(long_turn(), 5).await);
    let config =
        server::streams::hub::HubConfig { total_bytes: 4000, channel: 2, ..server::streams::hub::HubConfig::default() };
    let shared = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let hub_of = |upstream: &Upstream| {
        let client = UpstreamClient::new(upstream.base_url.clone(), ApiKey::new(KEY));
        Hub::sharing_budget(client, config.clone(), shared.clone())
    };
    let (home_hub, staging_hub) = (hub_of(&home), hub_of(&staging));
    let mut one = Box::pin(home_hub.watch(&first, 0).await.expect("watching starts"));
    let mut other = Box::pin(staging_hub.watch(&second, 0).await.expect("watching starts"));
    home.send(&first, "go").await;
    staging.send(&second, "go").await;
    let (first_live, second_live) = (read_hub(&mut one).await, read_hub(&mut other).await);
    assert_eq!(ids(&first_live), home.ids(&first).await, "nothing lost behind the budget");
    assert_eq!(ids(&second_live), staging.ids(&second).await, "nothing lost behind the budget");
    // Each alone is within a budget it could have spent whole; together they are too.
    let largest = first_live.iter().chain(&second_live).map(|f| f.data.to_string().len() + 64).max().unwrap();
    let both = shared.load(Ordering::Relaxed);
    assert_eq!(both, home_hub.stats().kept_bytes);
    assert!(both <= 4000 + 2 * largest, "{both} bytes kept by the two hubs together");
    let full = first_live.iter().chain(&second_live).map(|f| f.data.to_string().len()).sum::<usize>();
    assert!(full > 4000 + 2 * largest, "the sessions are larger than the budget ({full} bytes)");
}

#[tokio::test]
async fn viewers_behind_the_kept_events_list_them_a_few_at_a_time() {
    // Issue 20: every viewer behind the log listed the whole session from the API at once.
    use server::streams::hub::HubConfig;
    let upstream = upstream().await;
    let session = upstream.session(long_turn(), 5).await;
    upstream.send(&session, "go").await;
    let expected = read_hub(Box::pin(hub_on(&upstream.base_url, 20_000).watch(&session, 0).await.unwrap())).await;
    // Each listing is held 300 ms: listings that may overlap, do.
    upstream.tap.listing_delay_ms.store(300, Ordering::SeqCst);
    for (turns, most) in [(1, 1..=1), (3, 2..=3)] {
        let hub = hub_with(&upstream.base_url, HubConfig { retain: 2, catch_ups: turns, ..HubConfig::default() });
        // The feed's own first listing, then six newcomers who all need what the log let go.
        drop(hub.watch(&session, 0).await.unwrap());
        upstream.tap.listing_most.store(0, Ordering::SeqCst);
        let viewers = futures::future::join_all((0..6).map(|_| {
            let hub = hub.clone();
            let session = session.clone();
            async move { read_hub(Box::pin(hub.watch(&session, 0).await.unwrap())).await }
        }))
        .await;
        for frames in &viewers {
            assert_eq!(ids(frames), ids(&expected), "each newcomer gets the whole session");
        }
        let seen = upstream.tap.listing_most.load(Ordering::SeqCst);
        assert!(most.contains(&seen), "{seen} listings at once with {turns} allowed");
    }
}
