//! Logs and traces of the real `switchboard` binary, as an operator configures them through its
//! environment: traces exported over OTLP/HTTP to a receiver of the test's own (protobuf decoded
//! as a collector would), the trace a browser's `traceparent` starts continued through the
//! server's span to the call upstream, and the upstream (an engine that notes what it receives)
//! handed that trace; nothing exported or sent on when traces are off; JSON log lines; and a
//! setting Switchboard cannot honour stopping the start with a sentence.

use crate::support;

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{extract::Request, middleware::Next, routing::post};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::any_value::Value as AnyValue,
    trace::v1::{Span, span::SpanKind},
};
use prost::Message;
use serde_json::Value;
use support::{ADMIN_PASSWORD, TempDir, browser, serve};
use tokio::io::AsyncBufReadExt;

const KEY: &str = "switchboard-test-TRACED-KEY-3c9e1";
const REFUSED: &str = "switchboard-test-REFUSED-KEY-6d0f4";
/// The browser's trace, and the span in it the request comes from.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const BROWSER_SPAN: &str = "00f067aa0ba902b7";

/// A request the upstream received: its path, the `traceparent` it came with, the `request-id`
/// it answered with.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    traceparent: Option<String>,
    request_id: Option<String>,
}

/// An engine standing in for Anthropic's API that notes every request it receives.
struct Upstream {
    base_url: String,
    received: Arc<Mutex<Vec<Received>>>,
    _data_dir: TempDir,
}

async fn upstream(key: &str) -> Upstream {
    let data_dir = TempDir::new();
    let engine = engine::Engine::open(engine::EngineConfig::new(data_dir.0.join("engine"), key.to_owned()))
        .await
        .expect("the engine opens");
    let received = Arc::new(Mutex::new(Vec::new()));
    let noted = received.clone();
    let router = engine.router().layer(axum::middleware::from_fn(move |request: Request, next: Next| {
        let noted = noted.clone();
        async move {
            let path = request.uri().path().to_owned();
            let header = |headers: &http::HeaderMap, name| {
                headers.get(name).and_then(|v: &http::HeaderValue| v.to_str().ok()).map(str::to_owned)
            };
            let traceparent = header(request.headers(), "traceparent");
            let response = next.run(request).await;
            let request_id = header(response.headers(), "request-id");
            noted.lock().unwrap().push(Received { path, traceparent, request_id });
            response
        }
    }));
    Upstream { base_url: serve(router).await, received, _data_dir: data_dir }
}

/// An OTLP/HTTP receiver: what was posted to its `/v1/traces`, decoded.
struct Collector {
    base_url: String,
    exports: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

async fn collector() -> Collector {
    let exports = Arc::new(Mutex::new(Vec::new()));
    let kept = exports.clone();
    let router = axum::Router::new().route(
        "/v1/traces",
        post(move |body: bytes::Bytes| {
            let kept = kept.clone();
            async move {
                let export = ExportTraceServiceRequest::decode(body).expect("an OTLP/HTTP protobuf export");
                kept.lock().unwrap().push(export);
                // An empty ExportTraceServiceResponse: everything accepted.
                ([(http::header::CONTENT_TYPE, "application/x-protobuf")], Vec::<u8>::new())
            }
        }),
    );
    Collector { base_url: serve(router).await, exports }
}

impl Collector {
    fn spans(&self) -> Vec<Span> {
        let exports = self.exports.lock().unwrap();
        exports
            .iter()
            .flat_map(|e| &e.resource_spans)
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| s.spans.clone())
            .collect()
    }

    fn service_names(&self) -> Vec<String> {
        let exports = self.exports.lock().unwrap();
        exports
            .iter()
            .flat_map(|e| &e.resource_spans)
            .flat_map(|r| r.resource.iter().flat_map(|r| &r.attributes))
            .filter(|a| a.key == "service.name")
            .filter_map(|a| match a.value.as_ref()?.value.as_ref()? {
                AnyValue::StringValue(name) => Some(name.clone()),
                _ => None,
            })
            .collect()
    }
}

/// The `switchboard` binary in Anthropic mode in front of `upstream`, with `vars` on top; its
/// stderr kept line by line.
struct Switchboard {
    process: tokio::process::Child,
    base_url: String,
    stderr: Arc<Mutex<Vec<String>>>,
    _data_dir: TempDir,
}

fn command(vars: &[(&str, &str)], data_dir: &TempDir) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SWITCHBOARD_LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_DATA_DIR", &data_dir.0)
        .env("SWITCHBOARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .envs(vars.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

async fn start(upstream: &Upstream, key: &str, vars: &[(&str, &str)]) -> Switchboard {
    let data_dir = TempDir::new();
    let mut process = command(vars, &data_dir)
        .env("ANTHROPIC_API_KEY", key)
        .env("ANTHROPIC_BASE_URL", &upstream.base_url)
        .spawn()
        .expect("switchboard starts");
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let mut lines = tokio::io::BufReader::new(process.stderr.take().unwrap()).lines();
    let kept = stderr.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            kept.lock().unwrap().push(line);
        }
    });
    for _ in 0..600 {
        let serving = stderr.lock().unwrap().iter().find_map(|line| {
            let at = line.find("Switchboard is serving http://")? + "Switchboard is serving ".len();
            Some(line[at..].split(['"', ' ']).next().unwrap().to_owned())
        });
        if let Some(base_url) = serving {
            return Switchboard { process, base_url, stderr, _data_dir: data_dir };
        }
        if let Ok(Some(status)) = process.try_wait() {
            panic!("switchboard exited ({status}): {:#?}", stderr.lock().unwrap());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("switchboard did not start: {:#?}", stderr.lock().unwrap());
}

impl Switchboard {
    /// A browser signed in as the admin, and the value of its login cookie.
    async fn signed_in(&self) -> (reqwest::Client, String) {
        let client = browser();
        let response = client
            .post(format!("{}/auth/login", self.base_url))
            .form(&[("username", "admin"), ("password", ADMIN_PASSWORD), ("next", "/")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "signed in");
        let cookie = response
            .headers()
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()?.strip_prefix("switchboard_login="))
            .map(|v| v.split(';').next().unwrap().to_owned())
            .next()
            .expect("a login cookie");
        (client, cookie)
    }

    /// Stops it as a service manager does (SIGTERM) and waits for it to exit.
    async fn stop(mut self) -> Vec<String> {
        let pid = self.process.id().unwrap().to_string();
        let signalled = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(signalled.success());
        let status = tokio::time::timeout(Duration::from_secs(20), self.process.wait()).await.unwrap().unwrap();
        assert!(status.success(), "switchboard stopped cleanly: {status}");
        // The last lines are read after the exit.
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.stderr.lock().unwrap().clone()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| match a.value.as_ref()?.value.as_ref()? {
        AnyValue::StringValue(text) => Some(text.clone()),
        AnyValue::IntValue(n) => Some(n.to_string()),
        _ => None,
    })
}

fn named<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.name == name).collect()
}

#[tokio::test]
async fn a_browsers_trace_runs_through_the_server_to_the_upstream_and_no_span_holds_a_secret() {
    let upstream = upstream(KEY).await;
    let collector = collector().await;
    let switchboard = start(&upstream, KEY, &[("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.base_url)]).await;
    let (browser, cookie) = switchboard.signed_in().await;
    let url = |path: &str| format!("{}{path}", switchboard.base_url);

    let listed = browser
        .get(url("/api/agents/list?include_archived=false"))
        .header("traceparent", format!("00-{TRACE_ID}-{BROWSER_SPAN}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200, "{}", listed.text().await.unwrap());
    let missing = browser.get(url("/api/agents/get?id=agent_0000000000000000MISSING")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let token = "7ab1".repeat(16);
    browser.get(url(&format!("/share/{token}?note=QUERY-MARKER-9f2"))).send().await.unwrap();
    browser.get(url("/pkg/switchboard.js")).send().await.unwrap();
    let lines = switchboard.stop().await;

    let spans = collector.spans();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(collector.service_names().first().map(String::as_str), Some("switchboard"));
    // The browser's request: a server span of its trace, child of the browser's span.
    let [request] = named(&spans, "GET /api/agents/list")[..] else { panic!("one request span: {names:?}") };
    assert_eq!(request.kind, SpanKind::Server as i32);
    assert_eq!(hex(&request.trace_id), TRACE_ID);
    assert_eq!(hex(&request.parent_span_id), BROWSER_SPAN);
    assert_eq!(attribute(request, "http.route").as_deref(), Some("/api/agents/list"));
    assert_eq!(attribute(request, "http.response.status_code").as_deref(), Some("200"));
    // Its call upstream: a client span under it, named by the path's template.
    let calls: Vec<&Span> =
        named(&spans, "GET /v1/agents").into_iter().filter(|s| s.parent_span_id == request.span_id).collect();
    let [call] = calls[..] else { panic!("one upstream span under the request: {names:?}") };
    assert_eq!(call.kind, SpanKind::Client as i32);
    assert_eq!(call.trace_id, request.trace_id);
    // The upstream was handed that span as the caller.
    let received = upstream.received.lock().unwrap().clone();
    let traceparents: Vec<&str> =
        received.iter().filter(|r| r.path == "/v1/agents").filter_map(|r| r.traceparent.as_deref()).collect();
    assert_eq!(traceparents, [format!("00-{TRACE_ID}-{}-01", hex(&call.span_id))], "{received:#?}");

    // A call the upstream refused carries the upstream's request id.
    let [fetch] = named(&spans, "GET /v1/agents/{id}")[..] else { panic!("one fetch of an agent: {names:?}") };
    let answered = received.iter().find(|r| r.path.starts_with("/v1/agents/agent_")).unwrap();
    assert!(answered.request_id.as_deref().is_some_and(|id| id.starts_with("req_")), "{answered:?}");
    assert_eq!(attribute(fetch, "request_id"), answered.request_id);
    assert_eq!(attribute(fetch, "http.response.status_code").as_deref(), Some("404"));

    // The bundle's files are not traced: a page loads a hundred of them.
    assert!(spans.iter().all(|s| !attribute(s, "url.path").unwrap_or_default().starts_with("/pkg/")), "{names:?}");
    // The share link's page is named by its route; its token, the query, the key and the login
    // cookie are nowhere in what was exported.
    assert_eq!(named(&spans, "GET /share/{token}").len(), 1, "{names:?}");
    let exported = format!("{:?}", collector.exports.lock().unwrap());
    for secret in [token.as_str(), "QUERY-MARKER-9f2", KEY, cookie.as_str()] {
        assert!(!exported.contains(secret), "an exported span holds {secret}");
    }
    assert!(lines.iter().any(|l| l.contains("traces: spans are sent to")), "{lines:#?}");
}

#[tokio::test]
async fn with_traces_off_nothing_is_exported_and_no_trace_is_sent_upstream() {
    let upstream = upstream(KEY).await;
    let collector = collector().await;
    let endpoint = collector.base_url.clone();
    let off: [&[(&str, &str)]; 2] = [
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint), ("OTEL_SDK_DISABLED", "true")],
        &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &endpoint), ("OTEL_TRACES_EXPORTER", "none")],
    ];
    for vars in off {
        let switchboard = start(&upstream, KEY, vars).await;
        let (browser, _) = switchboard.signed_in().await;
        let listed = browser
            .get(format!("{}/api/agents/list?include_archived=false", switchboard.base_url))
            .header("traceparent", format!("00-{TRACE_ID}-{BROWSER_SPAN}-01"))
            .send()
            .await
            .unwrap();
        assert_eq!(listed.status(), 200);
        switchboard.stop().await;
    }
    assert!(collector.exports.lock().unwrap().is_empty(), "nothing was exported");
    let received = upstream.received.lock().unwrap().clone();
    assert!(received.iter().any(|r| r.path == "/v1/agents"), "{received:#?}");
    assert!(received.iter().all(|r| r.traceparent.is_none()), "no trace went upstream: {received:#?}");
}

#[tokio::test]
async fn json_logs_are_one_object_a_line_and_a_failed_call_names_the_upstreams_request_id() {
    let upstream = upstream(KEY).await;
    let switchboard = start(&upstream, REFUSED, &[("SWITCHBOARD_LOG_FORMAT", "json")]).await;
    let (browser, _) = switchboard.signed_in().await;
    let listed =
        browser.get(format!("{}/api/agents/list?include_archived=false", switchboard.base_url)).send().await.unwrap();
    assert_eq!(listed.status(), 502);
    let lines = switchboard.stop().await;

    let logged: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON object: {line}")))
        .collect();
    assert!(logged.iter().all(|l| l["timestamp"].is_string() && l["level"].is_string()), "{logged:#?}");
    let refused = upstream.received.lock().unwrap().iter().find(|r| r.path == "/v1/agents").cloned().unwrap();
    let request_id = refused.request_id.expect("the engine names its error answers");
    let failure = logged
        .iter()
        .find(|l| l["message"].as_str().is_some_and(|m| m.contains("rejected Switchboard's API key (401)")))
        .unwrap_or_else(|| panic!("the failure was logged: {logged:#?}"));
    assert_eq!(failure["level"], "WARN");
    assert_eq!(failure["request_id"], request_id.as_str(), "{failure}");
    let spans = failure["spans"].as_array().unwrap();
    assert!(spans.iter().any(|s| s["otel.name"] == "GET /api/agents/list"), "in the request's span: {failure}");
    assert!(!lines.iter().any(|l| l.contains(REFUSED)), "no line holds the key");
}

/// Runs `switchboard` with `args` and `vars` until it exits by itself; its exit status and stderr.
async fn run_to_exit(args: &[&str], vars: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    let data_dir = TempDir::new();
    let run = command(vars, &data_dir).args(args).output();
    let output = tokio::time::timeout(Duration::from_secs(30), run).await.expect("it stops by itself").unwrap();
    (output.status, String::from_utf8_lossy(&output.stderr).into_owned())
}

#[tokio::test]
async fn a_setting_switchboard_cannot_honour_stops_the_start_with_words() {
    let format = [("SWITCHBOARD_LOG_FORMAT", "yaml")];
    for args in [&[][..], &["engine", "--listen", "127.0.0.1:0"][..]] {
        let (status, stderr) = run_to_exit(args, &format).await;
        assert!(!status.success(), "{args:?}");
        assert!(
            stderr.contains("SWITCHBOARD_LOG_FORMAT must be `text` (the default) or `json`, not \"yaml\"."),
            "{args:?}: {stderr}"
        );
    }
    let grpc = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")];
    let (status, stderr) = run_to_exit(&[], &grpc).await;
    assert!(!status.success());
    assert!(
        stderr.contains("OTEL_EXPORTER_OTLP_PROTOCOL is \"grpc\", but Switchboard sends traces over OTLP/HTTP"),
        "{stderr}"
    );
}
