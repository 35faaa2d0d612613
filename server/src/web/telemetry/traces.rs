//! OpenTelemetry traces over OTLP/HTTP (protobuf), off unless an endpoint is set. The variables
//! are the standard ones (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`, …), read here once
//! so that a mistake stops the start with a sentence instead of traces silently going nowhere.
//!
//! Spans are sent through the server's own reqwest (no second HTTP client in the build), on the
//! tokio runtime: the SDK's batch processor exports from a thread of its own, which has none.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::{
    Resource,
    trace::{SdkTracer, SdkTracerProvider},
};

/// The longest a shutdown waits for the last spans to be sent.
pub const FLUSH_WAIT: Duration = Duration::from_secs(5);
/// The longest one export may take (the OTLP default).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// More than a collector ever answers to an export.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// What the `OTEL_*` variables ask for, when they ask for traces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceSettings {
    /// The full URL spans are posted to (`…/v1/traces`).
    pub endpoint: String,
    /// `OTEL_SERVICE_NAME`, `switchboard` without one.
    pub service_name: String,
}

/// A `OTEL_*` variable Switchboard cannot honour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TracesError {
    #[error(
        "{name} is {value:?}, but Switchboard sends traces over OTLP/HTTP with protobuf only: set it to \
         http/protobuf or leave it unset, and point OTEL_EXPORTER_OTLP_ENDPOINT at the collector's \
         OTLP/HTTP port (usually 4318)."
    )]
    Protocol { name: &'static str, value: String },
    #[error("OTEL_TRACES_EXPORTER must be otlp (the default) or none, not {0:?}.")]
    ExporterName(String),
    #[error("{name} must be an http:// or https:// URL such as http://localhost:4318, not {value:?}.")]
    NotWeb { name: &'static str, value: String },
    /// The endpoint is logged at start.
    #[error("{name} must not carry a user or password (it is logged); put credentials in OTEL_EXPORTER_OTLP_HEADERS.")]
    UserInUrl { name: &'static str },
    #[error("the OTLP exporter could not be set up: {0}")]
    Setup(String),
}

impl TraceSettings {
    pub fn from_env() -> Result<Option<Self>, TracesError> {
        Self::from_lookup(|name| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
    }

    /// Traces are on when an endpoint is set, unless `OTEL_SDK_DISABLED=true` or
    /// `OTEL_TRACES_EXPORTER=none`; `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is the URL itself,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` the base it is under.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, TracesError> {
        if var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Ok(None);
        }
        match var("OTEL_TRACES_EXPORTER") {
            None => {}
            Some(exporter) if exporter.eq_ignore_ascii_case("otlp") => {}
            Some(exporter) if exporter.eq_ignore_ascii_case("none") => return Ok(None),
            Some(other) => return Err(TracesError::ExporterName(other)),
        }
        let (name, endpoint) = match (var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), var("OTEL_EXPORTER_OTLP_ENDPOINT")) {
            (Some(url), _) => ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url),
            (None, Some(base)) => ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("{}/v1/traces", base.trim_end_matches('/'))),
            (None, None) => return Ok(None),
        };
        for name in ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] {
            if let Some(value) = var(name) {
                if value != "http/protobuf" {
                    return Err(TracesError::Protocol { name, value });
                }
                break;
            }
        }
        let url = reqwest::Url::parse(&endpoint)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
            .ok_or_else(|| TracesError::NotWeb { name, value: var(name).unwrap_or_default() })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(TracesError::UserInUrl { name });
        }
        let service_name = var("OTEL_SERVICE_NAME").unwrap_or_else(|| "switchboard".to_owned());
        Ok(Some(Self { endpoint, service_name }))
    }
}

/// Spans being exported.
pub struct Traces {
    provider: SdkTracerProvider,
    endpoint: String,
}

impl Traces {
    /// Starts exporting: a batch of spans is sent every few seconds (`OTEL_BSP_*`), and on
    /// [`Traces::shutdown`]. Needs the tokio runtime the exports run on.
    pub fn start(settings: TraceSettings) -> Result<Self, TracesError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|error| TracesError::Setup(error.to_string()))?;
        let http = engine::http_client::builder()
            .timeout(EXPORT_TIMEOUT)
            // Credentials in OTEL_EXPORTER_OTLP_HEADERS go to the endpoint named, nowhere else.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| TracesError::Setup(error.to_string()))?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(ExportClient { http, runtime })
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(settings.endpoint.clone())
            .build()
            .map_err(|error| TracesError::Setup(error.to_string()))?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name(settings.service_name).build())
            .build();
        Ok(Self { provider, endpoint: settings.endpoint })
    }

    pub fn tracer(&self) -> SdkTracer {
        self.provider.tracer("switchboard")
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Sends what is left, waiting at most [`FLUSH_WAIT`]; off the runtime's threads, which the
    /// sending needs.
    pub async fn shutdown(self) {
        let provider = self.provider;
        match tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(FLUSH_WAIT)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!("traces: the last spans may not have been sent: {error}"),
            Err(error) => tracing::warn!("traces: the last spans were not sent: {error}"),
        }
    }
}

/// The exporter's HTTP client: the server's reqwest, each export run as a task of the runtime
/// (awaited from the exporter's own thread).
#[derive(Debug)]
struct ExportClient {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for ExportClient {
    async fn send_bytes(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, HttpError> {
        let http = self.http.clone();
        let sent = self.runtime.spawn(async move {
            let mut response = http.execute(reqwest::Request::try_from(request)?).await?;
            let mut answer = http::Response::builder().status(response.status());
            if let Some(headers) = answer.headers_mut() {
                *headers = std::mem::take(response.headers_mut());
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(HttpError::from("the collector's answer is over 1 MiB"));
                }
                body.extend_from_slice(&chunk);
            }
            Ok::<_, HttpError>(answer.body(Bytes::from(body))?)
        });
        sent.await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Option<TraceSettings>, TracesError> {
        TraceSettings::from_lookup(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn traces_are_off_without_an_endpoint_and_when_switched_off() {
        assert_eq!(settings(&[]), Ok(None));
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/");
        assert_eq!(settings(&[endpoint, ("OTEL_SDK_DISABLED", "TRUE")]), Ok(None));
        assert_eq!(settings(&[endpoint, ("OTEL_TRACES_EXPORTER", "none")]), Ok(None));
        let on = settings(&[endpoint, ("OTEL_SDK_DISABLED", "false")]).unwrap().unwrap();
        assert_eq!(on.endpoint, "http://collector:4318/v1/traces");
        assert_eq!(on.service_name, "switchboard");
        let own = settings(&[
            endpoint,
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://traces.example/otlp"),
            ("OTEL_SERVICE_NAME", "console-eu"),
        ]);
        assert_eq!(
            own,
            Ok(Some(TraceSettings {
                endpoint: "https://traces.example/otlp".to_owned(),
                service_name: "console-eu".to_owned()
            }))
        );
    }

    #[test]
    fn a_protocol_other_than_http_protobuf_is_refused_with_what_to_do() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");
        let grpc = settings(&[endpoint, ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap_err().to_string();
        assert!(grpc.starts_with("OTEL_EXPORTER_OTLP_PROTOCOL is \"grpc\", but Switchboard sends"), "{grpc}");
        assert!(grpc.contains("set it to http/protobuf"), "{grpc}");
        let json = settings(&[endpoint, ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")]);
        assert!(matches!(json, Err(TracesError::Protocol { name: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", .. })));
        assert!(settings(&[endpoint, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]).unwrap().is_some());
        // Traces off: the protocol is nobody's business.
        assert_eq!(settings(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]), Ok(None));
    }

    #[test]
    fn an_endpoint_must_be_a_web_url_without_credentials() {
        let not_web = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")]);
        assert!(matches!(not_web, Err(TracesError::NotWeb { name: "OTEL_EXPORTER_OTLP_ENDPOINT", .. })));
        let user = settings(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://me:secret@traces.example")]);
        assert_eq!(user, Err(TracesError::UserInUrl { name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" }));
        let exporter =
            settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), ("OTEL_TRACES_EXPORTER", "zipkin")]);
        assert_eq!(exporter, Err(TracesError::ExporterName("zipkin".to_owned())));
    }
}
