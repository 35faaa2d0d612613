//! One tracing subscriber for the whole process: log lines to stderr, as text or JSON
//! (`SWITCHBOARD_LOG_FORMAT`, read by `engine::logs`), and, when an OTLP endpoint is set, the
//! same spans exported as OpenTelemetry traces ([`traces`]). Also the span every request to
//! Switchboard runs in, which is where a browser's trace is continued.

pub mod traces;

use std::time::Duration;

use axum::{
    extract::{MatchedPath, Request},
    response::Response,
};
use engine::logs::{LogFormat, LogFormatError};
use tower_http::trace::{DefaultOnResponse, OnResponse};
use tracing::{Level, Span, field::Empty};
use tracing_subscriber::{EnvFilter, Layer, filter::Targets, layer::SubscriberExt, util::SubscriberInitExt};

use crate::{access, support::trace_context};

/// Why the process cannot start with the telemetry its environment asks for.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error(transparent)]
    LogFormat(#[from] LogFormatError),
    #[error(transparent)]
    Traces(#[from] traces::TracesError),
}

/// What must be done with the process's telemetry before it exits: the spans not yet sent.
#[must_use = "the spans not yet exported are lost unless it is shut down"]
pub struct Telemetry {
    traces: Option<traces::Traces>,
}

/// Sets up the subscriber: `RUST_LOG` (default `info`) chooses the log lines, in the format
/// `SWITCHBOARD_LOG_FORMAT` asks for; the `OTEL_*` variables whether spans are exported
/// ([`traces::TraceSettings`]). On an error the logs are set up all the same (as text when the
/// format is what is wrong, without traces when they are), so that the caller can log why it
/// stops.
pub fn init() -> Result<Telemetry, TelemetryError> {
    let format = LogFormat::from_env();
    let traces = match &format {
        Ok(_) => traces::TraceSettings::from_env().and_then(|settings| settings.map(traces::Traces::start).transpose()),
        Err(_) => Ok(None),
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let exported = traces.as_ref().ok().and_then(Option::as_ref).map(|traces| {
        // Switchboard's own spans only, whatever RUST_LOG says: the exporter's HTTP client and
        // the SDK must not trace their own sending.
        tracing_opentelemetry::layer()
            .with_tracer(traces.tracer())
            .with_filter(Targets::new().with_target("server", Level::INFO).with_target("app", Level::INFO))
    });
    let _ = tracing_subscriber::registry()
        .with(format.clone().unwrap_or_default().layer().with_filter(filter))
        .with(exported)
        .try_init();
    format?;
    let traces = traces?;
    if let Some(traces) = &traces {
        tracing::info!("traces: spans are sent to {} (OTLP/HTTP)", traces.endpoint());
    }
    Ok(Telemetry { traces })
}

impl Telemetry {
    /// Sends the spans not yet exported, waiting at most [`traces::FLUSH_WAIT`].
    pub async fn shutdown(self) {
        if let Some(traces) = self.traces {
            traces.shutdown().await;
        }
    }
}

/// The span of a request to Switchboard: a server span named by its method and the route it
/// matched (`GET /share/{token}`, never the token itself; the method alone when no route
/// did), continuing the trace of the caller's `traceparent`. Its path is the one logs may print
/// (`access::path_for_logs`), without its query. The built assets get a debug span, not traced:
/// a page loads about 140 files of the bundle, and a trace each would bury the page's own.
pub fn request_span(request: &Request) -> Span {
    if request.uri().path().starts_with("/pkg/") {
        return tracing::debug_span!("asset", url.path = %request.uri().path());
    }
    let method = request.method();
    let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
    let span = tracing::info_span!(
        "request",
        otel.name = %route.map_or_else(|| method.to_string(), |route| format!("{method} {route}")),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = %method,
        http.route = route,
        url.path = %access::path_for_logs(request.uri().path()),
        http.response.status_code = Empty,
    );
    trace_context::continue_from(&span, request.headers());
    span
}

/// Puts the answer's status on the request's span (a 5xx marks it failed), and logs it at debug
/// level as the default does.
pub fn record_response<B>(response: &Response<B>, latency: Duration, span: &Span) {
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "error");
    }
    DefaultOnResponse::new().on_response(response, latency, span);
}
