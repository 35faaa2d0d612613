//! The one HTTP client to the upstream Managed Agents API (Anthropic's or the embedded engine).
//!
//! It alone holds the key. It sends the headers each resource family needs, retries idempotent
//! reads the way the official SDK does, and never retries a mutation: the API has no idempotency
//! keys, so a blind retry of a `POST` can do the thing twice.
//!
//! Every request it sends is an [`UpstreamRequest`]: one `upstream` span (a client span named by
//! method and path template, with the upstream's `request_id`) whose trace the request carries
//! in `traceparent` when traces are on, and which is counted in the metrics (`support::meters`):
//! each try of a read, and every raw one.

use std::time::{Duration, Instant, SystemTime};

use domain::upstream::client::{BoxFuture, Call, Method, Upstream, UpstreamError};
use protocol::{ANTHROPIC_VERSION, beta::beta_for, error::ErrorResponse};
use rand::Rng;
use reqwest::{RequestBuilder, Response, StatusCode, header::HeaderMap};
use serde_json::Value;
use tracing::{Instrument, field::Empty};

use crate::{
    settings::ApiKey,
    support::{describe, meters, trace_context},
};

/// Retries after the first attempt, as in the SDK.
const MAX_RETRIES: u32 = 2;
/// A `retry-after` longer than this is not waited for: the person gets the 429 and the wait.
const MAX_HONOURED_WAIT: Duration = Duration::from_secs(10);

/// How reads are retried.
#[derive(Debug, Clone)]
struct RetryPolicy {
    max_retries: u32,
    /// First backoff step; doubles per retry, capped at `max_delay`.
    base_delay: Duration,
    max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_retries: MAX_RETRIES, base_delay: Duration::from_millis(500), max_delay: Duration::from_secs(8) }
    }
}

#[derive(Clone)]
pub struct UpstreamClient {
    http: reqwest::Client,
    /// For streams and downloads: no total timeout.
    streaming: reqwest::Client,
    base_url: String,
    key: ApiKey,
    retry: RetryPolicy,
}

impl UpstreamClient {
    pub fn new(base_url: impl Into<String>, key: ApiKey) -> Self {
        let builder = || {
            // A workspace's address is an admin's word: never a cloud metadata service, whatever
            // its name resolves to when a connection is made.
            crate::support::destinations::refusing_metadata(engine::http_client::builder())
                .connect_timeout(Duration::from_secs(5))
                // A redirect would carry `x-api-key` to wherever it points (reqwest drops only
                // the standard credential headers when a redirect changes host): the API
                // answers without one, and an answer that is one is an error.
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        };
        Self {
            http: builder().timeout(Duration::from_secs(60)).build().expect("a client with static settings builds"),
            streaming: builder()
                .read_timeout(Duration::from_secs(120))
                .build()
                .expect("a client with static settings builds"),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            key,
            retry: RetryPolicy::default(),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A request with the key, version and beta headers for `path`, for callers that need the raw
    /// response (uploads, downloads, streams). Not retried.
    pub fn raw(&self, method: reqwest::Method, path: &str) -> UpstreamRequest {
        self.authorised(&self.streaming, method, path)
    }

    fn authorised(&self, client: &reqwest::Client, method: reqwest::Method, path: &str) -> UpstreamRequest {
        let span = upstream_span(&method, path);
        let mut key = reqwest::header::HeaderValue::from_str(self.key.expose())
            .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static(""));
        // Kept out of any debug output of the request.
        key.set_sensitive(true);
        let mut request = client
            .request(method.clone(), format!("{}{path}", self.base_url))
            .header("x-api-key", key)
            .header("anthropic-version", ANTHROPIC_VERSION);
        if let Some(beta) = beta_for(path) {
            request = request.header("anthropic-beta", beta);
        }
        UpstreamRequest { request, span, method, path: path.to_owned() }
    }

    async fn send(&self, call: Call) -> Result<Value, UpstreamError> {
        let method = match call.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Delete => reqwest::Method::DELETE,
        };
        let retries = if call.method == Method::Get { self.retry.max_retries } else { 0 };
        let mut attempt = 0;
        loop {
            let mut request = self.authorised(&self.http, method.clone(), &call.path).query(&call.query);
            if let Some(body) = &call.body {
                request = request.json(body);
            }
            let started = Instant::now();
            let outcome = request.dispatch().await;
            let status = status_label(&outcome);
            let retryable = match &outcome {
                Ok(response) => should_retry(response.status(), response.headers()),
                Err(error) => error.is_connect() || error.is_timeout(),
            };
            if retryable && attempt < retries {
                let asked = outcome.as_ref().ok().and_then(|r| retry_after(r.headers()));
                if asked.is_none_or(|wait| wait <= MAX_HONOURED_WAIT) {
                    count(&method, &call.path, status, started);
                    let wait = asked.filter(|w| !w.is_zero()).unwrap_or_else(|| self.backoff(attempt));
                    tracing::debug!(path = %call.path, attempt, ?wait, "retrying an upstream read");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
            }
            let answer = match outcome {
                Ok(response) => read(response).await,
                Err(error) => Err(UpstreamError::Unreachable(describe(error))),
            };
            // A JSON call is timed to its whole answer.
            count(&method, &call.path, status, started);
            return answer;
        }
    }

    /// `min(base × 2^n, max)` with 25 % jitter downwards, as in the SDK.
    fn backoff(&self, retries_done: u32) -> Duration {
        let full = self.retry.base_delay.saturating_mul(1 << retries_done.min(16)).min(self.retry.max_delay);
        full.mul_f64(rand::rng().random_range(0.75..=1.0))
    }
}

impl Upstream for UpstreamClient {
    fn call(&self, call: Call) -> BoxFuture<'_, Result<Value, UpstreamError>> {
        Box::pin(self.send(call))
    }
}

/// A request about to be sent upstream, in its own span. The builder's few methods the callers
/// use, and [`UpstreamRequest::send`], which sends it in the span.
pub struct UpstreamRequest {
    request: RequestBuilder,
    span: tracing::Span,
    method: reqwest::Method,
    path: String,
}

impl UpstreamRequest {
    pub fn query<T: serde::Serialize + ?Sized>(self, query: &T) -> Self {
        Self { request: self.request.query(query), ..self }
    }

    pub fn header<K, V>(self, key: K, value: V) -> Self
    where
        reqwest::header::HeaderName: TryFrom<K>,
        <reqwest::header::HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        reqwest::header::HeaderValue: TryFrom<V>,
        <reqwest::header::HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        Self { request: self.request.header(key, value), ..self }
    }

    pub fn json<T: serde::Serialize + ?Sized>(self, body: &T) -> Self {
        Self { request: self.request.json(body), ..self }
    }

    pub fn multipart(self, form: reqwest::multipart::Form) -> Self {
        Self { request: self.request.multipart(form), ..self }
    }

    /// The body as it comes (a program's request through the gateway, streamed).
    pub fn body(self, body: impl Into<reqwest::Body>) -> Self {
        Self { request: self.request.body(body), ..self }
    }

    /// Sets these headers, replacing what the request had under their names (a program's own
    /// `anthropic-version` and `anthropic-beta` over the client's).
    pub fn replacing_headers(self, headers: reqwest::header::HeaderMap) -> Self {
        Self { request: self.request.headers(headers), ..self }
    }

    /// Sends it and counts its answer's head (a stream's or a download's body is the caller's).
    pub async fn send(self) -> reqwest::Result<Response> {
        let (method, path, started) = (self.method.clone(), self.path.clone(), Instant::now());
        let outcome = self.dispatch().await;
        count(&method, &path, status_label(&outcome), started);
        outcome
    }

    /// Sends it with the `traceparent` of its span, and records in the span how it was answered.
    /// For a stream or a download the span ends with the answer's head, not its body.
    async fn dispatch(self) -> reqwest::Result<Response> {
        let Self { request, span, .. } = self;
        let request = request.headers(trace_context::headers_naming(&span));
        let outcome = request.send().instrument(span.clone()).await;
        match &outcome {
            Ok(response) => {
                let status = response.status();
                span.record("http.response.status_code", status.as_u16());
                if let Some(id) = response.headers().get("request-id").and_then(|v| v.to_str().ok()) {
                    span.record("request_id", id);
                }
                if status.is_client_error() || status.is_server_error() {
                    span.record("otel.status_code", "error");
                }
            }
            Err(error) => {
                span.record("otel.status_code", "error");
                span.record("error.type", if error.is_timeout() { "timeout" } else { "transport" });
            }
        }
        outcome
    }
}

/// The `status` label of an upstream request: the answer's HTTP status (three digits), or
/// `unreachable` when none came.
fn status_label(outcome: &reqwest::Result<Response>) -> String {
    match outcome {
        Ok(response) => response.status().as_u16().to_string(),
        Err(_) => "unreachable".to_owned(),
    }
}

/// Counts one upstream request in the metrics: its resource, method and status, and how long it
/// took since `started`.
fn count(method: &reqwest::Method, path: &str, status: String, started: Instant) {
    let resource = meters::resource_of(path);
    let method = method.as_str().to_owned();
    metrics::counter!(meters::UPSTREAM_REQUESTS, "resource" => resource.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(meters::UPSTREAM_REQUEST_DURATION, "resource" => resource, "method" => method)
        .record(started.elapsed().as_secs_f64());
}

/// The span of one request upstream. Its name and attributes hold the method and the path's
/// template, never the ids in the path, the query or a header: the key is a header.
fn upstream_span(method: &reqwest::Method, path: &str) -> tracing::Span {
    let template = path_template(path);
    tracing::info_span!(
        "upstream",
        otel.name = %format_args!("{method} {template}"),
        otel.kind = "client",
        otel.status_code = Empty,
        http.request.method = %method,
        url.template = %template,
        http.response.status_code = Empty,
        error.type = Empty,
        request_id = Empty,
    )
}

/// `/v1/sessions/sesn_01…/events` as `/v1/sessions/{id}/events`. The API's paths alternate a
/// collection and an id (`/v1/vaults/{id}/credentials/{id}/archive`), except in a session's
/// event stream, `/events/stream`, where a name follows a collection.
fn path_template(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let Some(rest) = path.strip_prefix("/v1/") else {
        return "/{path}".to_owned();
    };
    let mut template = String::from("/v1");
    let mut previous = "";
    for (at, segment) in rest.split('/').enumerate() {
        let is_id = at % 2 == 1 && !(previous == "events" && segment == "stream");
        template.push('/');
        template.push_str(if is_id { "{id}" } else { segment });
        previous = segment;
    }
    template
}

/// The SDK's rule: `x-should-retry` decides when present; otherwise 408, 409, 429 and 5xx.
fn should_retry(status: StatusCode, headers: &HeaderMap) -> bool {
    match headers.get("x-should-retry").and_then(|v| v.to_str().ok()) {
        Some("true") => return true,
        Some("false") => return false,
        _ => {}
    }
    matches!(status.as_u16(), 408 | 409 | 429) || status.is_server_error()
}

/// `retry-after-ms` (milliseconds), else `retry-after` (seconds or an HTTP date).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    // `try_from`: a huge value from the upstream must not panic the request.
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return Duration::try_from_secs_f64(ms / 1000.0).ok();
    }
    let value = header("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let date = httpdate(value)?;
    Some(date.duration_since(SystemTime::now()).unwrap_or_default())
}

fn httpdate(value: &str) -> Option<SystemTime> {
    let parsed = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(parsed.unix_timestamp()).ok()?))
}

async fn read(response: Response) -> Result<Value, UpstreamError> {
    if !response.status().is_success() {
        return Err(api_error(response).await);
    }
    let bytes = response.bytes().await.map_err(|e| UpstreamError::Unreachable(describe(e)))?;
    // An empty success (a 204) is a success, not an undecodable body.
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|e| UpstreamError::Decode(e.to_string()))
}

/// The upstream's error answer: status, the API's error body when it is one, request id, and how
/// long it asked us to wait.
pub async fn api_error(response: Response) -> UpstreamError {
    let status = response.status().as_u16();
    let request_id = response.headers().get("request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let wait = retry_after(response.headers());
    let body: Option<ErrorResponse> = response.json().await.ok();
    UpstreamError::Api {
        status,
        request_id: request_id.or_else(|| body.as_ref().and_then(|b| b.request_id.clone())),
        error: body.map(|b| Box::new(b.error)),
        retry_after: wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_milliseconds_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(150)), "retry-after-ms wins");
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "Tue, 01 Jan 2030 00:00:00 GMT".parse().unwrap());
        assert!(retry_after(&headers).unwrap() > Duration::from_secs(3600));
        headers.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", "1e300".parse().unwrap());
        assert_eq!(retry_after(&headers), None, "an absurd wait is ignored, not a panic");
    }

    #[test]
    fn a_path_is_named_by_its_template_without_its_ids() {
        let cases = [
            ("/v1/agents", "/v1/agents"),
            ("/v1/agents/agent_011CZ/versions", "/v1/agents/{id}/versions"),
            ("/v1/sessions/sesn_01/events", "/v1/sessions/{id}/events"),
            ("/v1/sessions/sesn_01/events/stream", "/v1/sessions/{id}/events/stream"),
            ("/v1/sessions/sesn_01/threads/sthr_02/stream", "/v1/sessions/{id}/threads/{id}/stream"),
            ("/v1/vaults/vlt_1/credentials/vcrd_2/archive", "/v1/vaults/{id}/credentials/{id}/archive"),
            ("/v1/models/claude-opus-4-7?limit=2", "/v1/models/{id}"),
        ];
        for (path, template) in cases {
            assert_eq!(path_template(path), template, "{path}");
        }
    }

    #[test]
    fn x_should_retry_overrides_the_status() {
        let mut headers = HeaderMap::new();
        assert!(should_retry(StatusCode::TOO_MANY_REQUESTS, &headers));
        assert!(!should_retry(StatusCode::BAD_REQUEST, &headers));
        headers.insert("x-should-retry", "false".parse().unwrap());
        assert!(!should_retry(StatusCode::SERVICE_UNAVAILABLE, &headers));
        headers.insert("x-should-retry", "true".parse().unwrap());
        assert!(should_retry(StatusCode::BAD_REQUEST, &headers));
    }
}
