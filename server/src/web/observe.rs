//! What a monitoring system reads: `/metrics` in Prometheus' text format, and `/readyz`, whether
//! the database and the upstream answer (beside `/healthz`, which says only that the process
//! serves).
//!
//! **Metrics** are recorded only when asked for (`SWITCHBOARD_METRICS_LISTEN` or
//! `SWITCHBOARD_METRICS_TOKEN`): then [`install_recorder`] installs the exporter's recorder, once
//! per process, and the features' `metrics` calls (`support::meters`, `engine::meters`) count into
//! it; without a recorder they do nothing. The text is rendered here, by our own routes:
//! - `SWITCHBOARD_METRICS_LISTEN`: a listener of its own that serves `/metrics` alone (an
//!   internal network's address; [`metrics_router`]), to anyone who reaches it, or, when a token
//!   is set too, for the token only;
//! - `SWITCHBOARD_METRICS_TOKEN`: `/metrics` on the console's listener, for
//!   `Authorization: Bearer <token>` only (compared in constant time; a login cookie does not
//!   open it). The route is public in the access table, as `/webhooks/anthropic` is, because the
//!   token is its credential; guesses at it are counted by the signed-out rate limit.
//!
//! Without either, the console's `/metrics` is a 404.
//!
//! **Readiness** (`/readyz`, public like `/healthz`: load balancers call it without credentials,
//! and no rate limit holds it back): 200 when the main database answers `SELECT 1` within 2 s and
//! the default workspace's upstream answers `GET /v1/agents?limit=1` within 3 s, else 503. The
//! body names each part's state in fixed words, never an address or an error's text. One check
//! runs at a time and its answer is reused for 2 s, so calling it in a loop spends at most one
//! upstream request every 2 s.

use std::{
    io,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{FromRef, State},
    http::{HeaderMap, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use domain::auth::Rule;
use futures::future::BoxFuture;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::{
    settings::{MetricsSettings, Secret},
    support::{meters, route::Route},
    upstream::UpstreamClient,
};

/// How often the recorder's histograms are folded and its descriptions committed between
/// scrapes (the exporter's own upkeep period), so that its memory stays bounded when nobody
/// scrapes.
const UPKEEP: Duration = Duration::from_secs(5);
/// How long a readiness check's answer is reused.
const READINESS_KEPT: Duration = Duration::from_secs(2);
const DATABASE_WAIT: Duration = Duration::from_secs(2);
const UPSTREAM_WAIT: Duration = Duration::from_secs(3);
/// The exposition format's media type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What `/metrics` and `/readyz` need, in the router's state.
pub struct Observe {
    /// The recorder's handle, when metrics are recorded.
    handle: Option<PrometheusHandle>,
    /// `SWITCHBOARD_METRICS_TOKEN`: the console's `/metrics` answers only to it.
    token: Option<Secret>,
    readiness: Readiness,
}

impl Observe {
    pub fn new(handle: Option<PrometheusHandle>, settings: &MetricsSettings, readiness: Readiness) -> Self {
        Self { handle, token: settings.token.clone(), readiness }
    }
}

/// The recorder every `metrics` call of this process counts into, installed by the first server
/// that asks for metrics; later ones (the integration tests start many in one process) share it.
pub fn install_recorder() -> io::Result<PrometheusHandle> {
    static INSTALLED: Mutex<Option<PrometheusHandle>> = Mutex::new(None);
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(handle) = &*installed {
        return Ok(handle.clone());
    }
    let failed = |e: metrics_exporter_prometheus::BuildError| io::Error::other(format!("cannot record metrics: {e}"));
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(meters::UPSTREAM_REQUEST_DURATION.to_owned()), meters::UPSTREAM_BUCKETS)
        .map_err(failed)?
        .set_buckets_for_metric(
            Matcher::Full(engine::meters::MODEL_REQUEST_DURATION.to_owned()),
            engine::meters::MODEL_REQUEST_BUCKETS,
        )
        .map_err(failed)?
        .install_recorder()
        .map_err(failed)?;
    meters::describe();
    engine::meters::describe();
    let upkept = handle.clone();
    std::thread::Builder::new().name("metrics-upkeep".to_owned()).spawn(move || {
        loop {
            std::thread::sleep(UPKEEP);
            upkept.run_upkeep();
        }
    })?;
    *installed = Some(handle.clone());
    Ok(handle)
}

/// `/metrics` and `/readyz` on the console's listener.
pub fn routes<S>() -> Vec<Route<S>>
where
    S: Clone + Send + Sync + 'static,
    Arc<Observe>: FromRef<S>,
{
    vec![
        // The token is the credential, checked by the handler (a login is not one).
        Route::new(Method::GET, "/metrics", Rule::Public, get(metrics_behind_token)),
        // For load balancers, which call without credentials.
        Route::new(Method::GET, "/readyz", Rule::Public, get(readyz)),
    ]
}

/// `SWITCHBOARD_METRICS_LISTEN`'s router: `/metrics` alone, to whoever reaches the listener, or
/// with `token` set, for the token only (a scraper that has it presents it on either listener).
pub fn metrics_router(handle: PrometheusHandle, token: Option<Secret>) -> Router {
    Router::new().route(
        "/metrics",
        get(move |headers: HeaderMap| {
            let answer = match &token {
                Some(token) if !bearer_is(&headers, token) => unauthorised(),
                _ => render(&handle),
            };
            std::future::ready(answer)
        }),
    )
}

/// The metrics as Prometheus reads them.
fn render(handle: &PrometheusHandle) -> Response {
    ([(header::CONTENT_TYPE, TEXT_FORMAT)], handle.render()).into_response()
}

/// The console's `GET /metrics`: the text for the token, a 401 saying what to send for anything
/// else, a 404 when no token is set.
async fn metrics_behind_token(State(observe): State<Arc<Observe>>, headers: HeaderMap) -> Response {
    let (Some(handle), Some(token)) = (&observe.handle, &observe.token) else {
        let off = "Metrics are not served on this address. Set SWITCHBOARD_METRICS_TOKEN to serve them here, or SWITCHBOARD_METRICS_LISTEN for an address of their own.\n";
        return (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], off).into_response();
    };
    if bearer_is(&headers, token) {
        return render(handle);
    }
    unauthorised()
}

/// Whether the request's `Authorization: Bearer …` is `token`.
fn bearer_is(headers: &HeaderMap, token: &Secret) -> bool {
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    sent.is_some_and(|sent| same_token(sent, token.expose()))
}

/// The 401 of `/metrics`, saying what to send.
fn unauthorised() -> Response {
    let what_to_send = "Send the metrics token (SWITCHBOARD_METRICS_TOKEN) as `Authorization: Bearer <token>`; a sign-in does not open /metrics.\n";
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::WWW_AUTHENTICATE, "Bearer")],
        what_to_send,
    )
        .into_response()
}

/// Whether `sent` is `token`, in constant time: their SHA-256 digests are compared, so that not
/// even the token's length shows in how long the answer takes.
fn same_token(sent: &str, token: &str) -> bool {
    use sha2::{Digest, Sha256};
    bool::from(Sha256::digest(sent.as_bytes()).ct_eq(&Sha256::digest(token.as_bytes())))
}

/// `GET /readyz`.
async fn readyz(State(observe): State<Arc<Observe>>) -> Response {
    let report = observe.readiness.report().await;
    let status = if report.ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(report)).into_response()
}

/// Whether the main database answers within [`DATABASE_WAIT`] (the caller's `SELECT 1`).
pub type DatabaseCheck = Box<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync>;

/// The readiness check, run one at a time, its answer kept [`READINESS_KEPT`].
pub struct Readiness {
    database: DatabaseCheck,
    upstream: UpstreamClient,
    /// The last answer and when its check began; its lock is what makes one check at a time.
    last: tokio::sync::Mutex<Option<(Instant, Report)>>,
}

/// `/readyz`'s body: each part's state in fixed words.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `ok`, `failed`, or `no answer within 2 s`.
    pub database: &'static str,
    /// `ok`, `unreachable`, `no answer within 3 s`, or `answered` and the HTTP status.
    pub upstream: String,
}

impl Report {
    fn ready(&self) -> bool {
        self.database == "ok" && self.upstream == "ok"
    }
}

impl Readiness {
    pub fn new(database: DatabaseCheck, upstream: UpstreamClient) -> Self {
        Self { database, upstream, last: tokio::sync::Mutex::new(None) }
    }

    /// The last answer while it is fresh; else a new check (callers meanwhile wait for it).
    async fn report(&self) -> Report {
        let mut last = self.last.lock().await;
        if let Some((at, report)) = &*last
            && at.elapsed() < READINESS_KEPT
        {
            return report.clone();
        }
        let began = Instant::now();
        let (database, upstream) = tokio::join!(self.database(), self.upstream());
        let report = Report { database, upstream };
        *last = Some((began, report.clone()));
        report
    }

    async fn database(&self) -> &'static str {
        match tokio::time::timeout(DATABASE_WAIT, (self.database)()).await {
            Ok(true) => "ok",
            Ok(false) => "failed",
            Err(_) => "no answer within 2 s",
        }
    }

    /// One request, never retried (a retry would spend a second one).
    async fn upstream(&self) -> String {
        let request = self.upstream.raw(reqwest::Method::GET, "/v1/agents").query(&[("limit", "1")]).send();
        match tokio::time::timeout(UPSTREAM_WAIT, request).await {
            Ok(Ok(response)) if response.status().is_success() => "ok".to_owned(),
            Ok(Ok(response)) => format!("answered {}", response.status().as_u16()),
            Ok(Err(_)) => "unreachable".to_owned(),
            Err(_) => "no answer within 3 s".to_owned(),
        }
    }
}
