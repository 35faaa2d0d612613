//! What the browser may know about the upstream API (never the key itself), and which ids are safe
//! in its paths. The client's trait, for the server, is `client` (behind the `server` feature).

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Which Managed Agents API Switchboard talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamMode {
    /// Anthropic's API, with the key from `ANTHROPIC_API_KEY`.
    Anthropic,
    /// The embedded engine: a local implementation of the same API, used when no key is set.
    Embedded,
}

/// The upstream as the console shows it. Built by the server from its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamSummary {
    pub mode: UpstreamMode,
    /// Base URL of the API (for the embedded engine, where it listens on loopback); empty for
    /// people who are not admins.
    pub base_url: String,
    /// Whether an API key is configured. The key itself stays on the server.
    pub key_configured: bool,
    /// Where Switchboard keeps its data; empty for people who are not admins.
    pub data_dir: String,
    /// The largest file the console uploads, shown before an upload starts.
    pub max_upload_bytes: u64,
}

/// Whether `id` can be an id of the API (`sesn_…`, `agent_…`): letters, digits, `_` and `-`, so
/// that it is safe in a path.
pub fn is_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A path segment from user input (ids), so `../` cannot reach another endpoint.
pub fn segment(id: &str) -> Result<String, AppError> {
    let id = id.trim();
    if !is_id(id) {
        return Err(AppError::not_found(format!("{id:?} is not an id of this API.")));
    }
    Ok(id.to_owned())
}

#[cfg(feature = "server")]
pub mod client;
