//! Real models: the engine's client of an Anthropic-compatible Messages endpoint.
//!
//! - [`ModelEndpoint`]: where requests go (`SWITCHBOARD_ENGINE_MODEL_URL`, default Anthropic's)
//!   and the key they carry (`SWITCHBOARD_ENGINE_MODEL_KEY`, write-only: never logged, never in
//!   an error);
//! - `stream`: one streamed Messages request, read block by block, with what went wrong said
//!   as the API's model errors;
//! - `catalog`: the models the engine can run (`scripted` and its endpoint's list);
//! - `prices`: the list price of each model, for `usage.list_cost` and budgets;
//! - [`test_server`]: a Messages-compatible server of the project's own, scripted per test.

pub mod catalog;
pub mod prices;
pub mod stream;
pub mod test_server;
pub mod tools;

use std::time::Duration;

pub use crate::config::ANTHROPIC_URL;
use crate::config::ConfigError;

/// The Messages endpoint the engine runs real models against.
#[derive(Clone)]
pub struct ModelEndpoint {
    /// Base URL: requests go to `<url>/v1/messages`, the model list is `<url>/v1/models`.
    pub url: String,
    /// Sent as `x-api-key`; `None` when no key is set (requests then fail in words).
    key: Option<String>,
    /// How many times a rate-limited or overloaded request is tried again.
    pub max_retries: u32,
    /// The first wait before a retry (doubled each time) when the endpoint does not say how long.
    pub backoff: Duration,
    /// Longest wait before a retry, whatever `retry-after` says.
    pub max_backoff: Duration,
    /// Model requests one turn may make before it ends with `tool_use_limit_reached_error`.
    pub max_requests_per_turn: usize,
    http: reqwest::Client,
}

impl std::fmt::Debug for ModelEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelEndpoint")
            .field("url", &self.url)
            .field("key", &self.key.as_ref().map(|_| "[set]"))
            .field("max_retries", &self.max_retries)
            .field("backoff", &self.backoff)
            .finish()
    }
}

impl Default for ModelEndpoint {
    fn default() -> Self {
        Self::new(ANTHROPIC_URL, None)
    }
}

impl ModelEndpoint {
    pub fn new(url: &str, key: Option<String>) -> Self {
        let http = crate::http_client::builder()
            .connect_timeout(Duration::from_secs(10))
            // A stream that says nothing (not even a ping) for this long is cut.
            .read_timeout(Duration::from_secs(120))
            .build()
            .expect("the model endpoint's HTTP client builds");
        Self {
            url: url.trim_end_matches('/').to_owned(),
            key: key.filter(|k| !k.trim().is_empty()),
            max_retries: 4,
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(60),
            max_requests_per_turn: 200,
            http,
        }
    }

    /// The endpoint from `SWITCHBOARD_ENGINE_MODEL_URL` and `SWITCHBOARD_ENGINE_MODEL_KEY`.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let url = var("SWITCHBOARD_ENGINE_MODEL_URL").unwrap_or_else(|| ANTHROPIC_URL.to_owned());
        let url = url.trim();
        let Some(rest) = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")) else {
            return Err(ConfigError::ModelUrlNotWeb { url: url.to_owned() });
        };
        // The URL is logged; a secret belongs in SWITCHBOARD_ENGINE_MODEL_KEY, never in it.
        if rest.split(['/', '?', '#']).next().is_some_and(|authority| authority.contains('@')) {
            return Err(ConfigError::ModelUrlWithUser);
        }
        Ok(Self::new(url, var("SWITCHBOARD_ENGINE_MODEL_KEY")))
    }

    /// Whether a key is set.
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// Whether this is a key-less endpoint other than Anthropic's (a local server that needs none).
    fn needs_key(&self) -> bool {
        self.url == ANTHROPIC_URL
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        // The version the official SDK sends, as the engine's other clients do.
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("anthropic-version", protocol::ANTHROPIC_VERSION);
        if let Some(key) = &self.key {
            request = request.header("x-api-key", key);
        }
        request
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_comes_from_the_environment_and_keeps_secrets_out_of_its_url() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let default = ModelEndpoint::from_env(vars(&[])).unwrap();
        assert_eq!((default.url.as_str(), default.has_key()), (ANTHROPIC_URL, false));
        let local = ModelEndpoint::from_env(vars(&[
            ("SWITCHBOARD_ENGINE_MODEL_URL", "http://127.0.0.1:8080/"),
            ("SWITCHBOARD_ENGINE_MODEL_KEY", "sk-secret-1"),
        ]))
        .unwrap();
        assert_eq!(local.url, "http://127.0.0.1:8080");
        assert!(local.has_key() && !format!("{local:?}").contains("sk-secret-1"));
        let with_user =
            ModelEndpoint::from_env(vars(&[("SWITCHBOARD_ENGINE_MODEL_URL", "https://me:pw@proxy.example/v1")]));
        assert_eq!(with_user.unwrap_err(), ConfigError::ModelUrlWithUser);
        let ftp = ModelEndpoint::from_env(vars(&[("SWITCHBOARD_ENGINE_MODEL_URL", "ftp://x")]));
        assert_eq!(ftp.unwrap_err(), ConfigError::ModelUrlNotWeb { url: "ftp://x".to_owned() });
    }
}
