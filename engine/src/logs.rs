//! How the engine and the console write their logs: lines of text for a person at a terminal
//! (the default), or one JSON object a line for a log pipeline (`SWITCHBOARD_LOG_FORMAT=json`).
//! Both binaries read the setting here, so `switchboard`, `switchboard engine` and
//! `switchboard-engine serve` take the same values and refuse the same mistakes.

use tracing::Subscriber;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, registry::LookupSpan, util::SubscriberInitExt};

/// The variable that chooses the format.
pub const LOG_FORMAT_VAR: &str = "SWITCHBOARD_LOG_FORMAT";

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `2026-05-01T10:00:00Z  WARN request{…}: target: message field=value`.
    #[default]
    Text,
    /// `{"timestamp":…,"level":"WARN","message":…,"field":…,"target":…,"span":…,"spans":[…]}`:
    /// an event's fields at the top level, beside its message, so a pipeline can index them.
    Json,
}

/// `SWITCHBOARD_LOG_FORMAT` holds something else than a format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{LOG_FORMAT_VAR} must be `text` (the default) or `json`, not {0:?}.")]
pub struct LogFormatError(pub String);

impl LogFormat {
    /// The format `SWITCHBOARD_LOG_FORMAT` asks for; text when it is unset or empty.
    pub fn from_env() -> Result<Self, LogFormatError> {
        Self::parse(std::env::var(LOG_FORMAT_VAR).ok().as_deref())
    }

    pub fn parse(value: Option<&str>) -> Result<Self, LogFormatError> {
        match value.map(str::trim) {
            None | Some("") => Ok(Self::Text),
            Some(text) if text.eq_ignore_ascii_case("text") => Ok(Self::Text),
            Some(json) if json.eq_ignore_ascii_case("json") => Ok(Self::Json),
            Some(other) => Err(LogFormatError(other.to_owned())),
        }
    }

    /// The layer that writes log lines to stderr in this format.
    pub fn layer<S>(self) -> Box<dyn Layer<S> + Send + Sync>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        // Colours only on a terminal: a file, a pipe or journald gets plain text.
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(terminal);
        match self {
            Self::Text => layer.boxed(),
            Self::Json => layer.json().flatten_event(true).boxed(),
        }
    }
}

/// The standalone engine's logs: `RUST_LOG`, else `default_filter`, in the format
/// `SWITCHBOARD_LOG_FORMAT` asks for. When that is not a format, the logs are text and the error
/// is returned, for the caller to stop with.
pub fn init(default_filter: &str) -> Result<(), LogFormatError> {
    let format = LogFormat::from_env();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _ =
        tracing_subscriber::registry().with(format.clone().unwrap_or_default().layer().with_filter(filter)).try_init();
    format.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_the_default_and_anything_but_text_or_json_is_refused_by_name() {
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some(" ")), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some("JSON")), Ok(LogFormat::Json));
        assert_eq!(LogFormat::parse(Some("text")), Ok(LogFormat::Text));
        let refused = LogFormat::parse(Some("logfmt")).unwrap_err().to_string();
        assert_eq!(refused, "SWITCHBOARD_LOG_FORMAT must be `text` (the default) or `json`, not \"logfmt\".");
    }
}
