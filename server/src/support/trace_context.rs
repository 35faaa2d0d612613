//! W3C trace context (`traceparent`, `tracestate`) at Switchboard's two edges: a browser's
//! request continues the trace its headers name, and a request to the upstream carries the trace
//! of the span it is sent in. With traces off (no OpenTelemetry layer, `web::telemetry`) neither
//! does anything: no span has a trace, so nothing is sent.

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Makes `span`, not yet entered, a child of the span the caller's `headers` name, if they
/// name one.
pub fn continue_from(span: &tracing::Span, headers: &http::HeaderMap) {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    // Refused only when traces are off or the span is disabled: then there is no trace to join.
    let _ = span.set_parent(parent);
}

/// The headers that name `span` to the server a request goes to; none when traces are off.
pub fn headers_naming(span: &tracing::Span) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    TraceContextPropagator::new().inject_context(&span.context(), &mut HeaderInjector(&mut headers));
    headers
}
