//! The upstream API as the console's code calls it (server only).
//!
//! The HTTP client itself lives in the `server` crate (it holds the key); server functions and
//! services see it through the [`Upstream`] trait, provided as context, so tests can swap it and
//! nothing else touches the key.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use protocol::error::ApiError;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::error::{AppError, ErrorKind};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Delete,
}

/// One JSON request to the upstream API.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    /// From `/v1/…`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
}

/// Why an upstream call failed. Never carries the key.
#[derive(Debug, Clone)]
pub enum UpstreamError {
    /// The API answered with an error status.
    Api {
        status: u16,
        /// The error body, when it was the API's JSON error shape.
        error: Option<Box<ApiError>>,
        request_id: Option<String>,
        /// How long the API asked us to wait (`retry-after-ms` / `retry-after`).
        retry_after: Option<Duration>,
    },
    /// No answer: connection refused, DNS, TLS, timeout.
    Unreachable(String),
    /// The API answered 2xx with a body that is not what the API documents.
    Decode(String),
}

/// The upstream Managed Agents API: Anthropic's or the embedded engine.
pub trait Upstream: Send + Sync + 'static {
    /// Sends one JSON request; `Ok` holds the 2xx response body.
    fn call(&self, call: Call) -> BoxFuture<'_, Result<Value, UpstreamError>>;
}

/// The upstream as server functions receive it from context.
#[derive(Clone)]
pub struct UpstreamHandle(pub Arc<dyn Upstream>);

impl UpstreamHandle {
    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: Vec<(String, String)>) -> Result<T, UpstreamError> {
        decode(self.0.call(Call { method: Method::Get, path: path.to_owned(), query, body: None }).await?)
    }

    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, UpstreamError> {
        let body = serde_json::to_value(body).map_err(|e| UpstreamError::Decode(e.to_string()))?;
        decode(
            self.0.call(Call { method: Method::Post, path: path.to_owned(), query: vec![], body: Some(body) }).await?,
        )
    }

    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, UpstreamError> {
        self.delete_with(path, vec![]).await
    }

    /// A `DELETE` with a query (a memory's `expected_content_sha256`).
    pub async fn delete_with<T: DeserializeOwned>(
        &self,
        path: &str,
        query: Vec<(String, String)>,
    ) -> Result<T, UpstreamError> {
        decode(self.0.call(Call { method: Method::Delete, path: path.to_owned(), query, body: None }).await?)
    }
}

fn decode<T: DeserializeOwned>(value: Value) -> Result<T, UpstreamError> {
    serde_json::from_value(value).map_err(|e| UpstreamError::Decode(e.to_string()))
}

impl AppError {
    /// Turns an upstream failure into a sentence that starts with what the user tried to do
    /// (`action`, e.g. "Creating the agent").
    pub fn upstream(action: &str, error: UpstreamError) -> Self {
        match error {
            UpstreamError::Unreachable(detail) => Self::new(
                ErrorKind::Unavailable,
                format!(
                    "{action} failed: the upstream API could not be reached ({detail}). Check that it is up and try again."
                ),
            ),
            UpstreamError::Decode(detail) => Self::new(
                ErrorKind::Unavailable,
                format!(
                    "{action} failed: the upstream API answered with something Switchboard does not understand ({detail})."
                ),
            ),
            UpstreamError::Api { status, error, request_id, retry_after } => {
                let api_message = error.as_ref().map(|e| e.message.trim_end_matches('.').to_owned());
                let error_code = error.as_ref().and_then(|e| e.error_code().map(str::to_owned));
                let said = api_message.as_deref().map(|m| format!(": {m}.")).unwrap_or_else(|| ".".to_owned());
                let (kind, message) = match status {
                    401 => (
                        ErrorKind::KeyRejected,
                        format!(
                            "{action} failed: the upstream API rejected Switchboard's API key (401). Check ANTHROPIC_API_KEY on the server."
                        ),
                    ),
                    403 => (
                        ErrorKind::KeyRejected,
                        format!(
                            "{action} failed: the API key is not allowed to do this (403){said} Check the key's workspace and the beta access of the organization."
                        ),
                    ),
                    404 => (ErrorKind::NotFound, format!("{action} failed: it does not exist (404){said}")),
                    409 => {
                        (ErrorKind::Conflict, format!("{action} failed: the API refused it as a conflict (409){said}"))
                    }
                    413 => (ErrorKind::BadInput, format!("{action} failed: the request is too large (413){said}")),
                    429 => {
                        let wait = retry_after
                            .map(|d| format!("Try again in {} s.", d.as_secs().max(1)))
                            .unwrap_or_else(|| "Try again in a minute.".to_owned());
                        (
                            ErrorKind::RateLimited,
                            format!("{action} failed: the upstream API is rate limiting requests (429). {wait}"),
                        )
                    }
                    529 => (
                        ErrorKind::Unavailable,
                        format!("{action} failed: the upstream API is overloaded (529). Try again in a minute."),
                    ),
                    400..=499 => (ErrorKind::BadInput, format!("{action} failed ({status}){said}")),
                    _ => (
                        ErrorKind::Unavailable,
                        format!(
                            "{action} failed: the upstream API had an error ({status}){said} Try again; if it persists, quote the request id."
                        ),
                    ),
                };
                Self { kind, message, field: None, request_id, error_code }
            }
        }
    }
}

/// `limit` and `page` query pairs.
pub fn paging(limit: u32, page: Option<String>) -> Vec<(String, String)> {
    let mut query = vec![("limit".to_owned(), limit.to_string())];
    if let Some(page) = page.filter(|p| !p.is_empty()) {
        query.push(("page".to_owned(), page));
    }
    query
}

/// Walks a list endpoint's pages of `page_size` through `client` until `limit` items were
/// listed, keeping what `keep` makes of each. `query` is sent with every page. Answers what was
/// kept and whether the list ended within `limit`.
pub async fn walk_pages_of<T: serde::de::DeserializeOwned, R>(
    client: &UpstreamHandle,
    path: &str,
    action: &str,
    query: Vec<(String, String)>,
    page_size: u32,
    limit: usize,
    mut keep: impl FnMut(T) -> Option<R>,
) -> Result<(Vec<R>, bool), AppError> {
    let (mut kept, mut listed) = (Vec::new(), 0);
    let mut cursor = None;
    while listed < limit {
        let mut page_query = paging(page_size, cursor.take());
        page_query.extend(query.iter().cloned());
        let page: protocol::common::Page<T> =
            client.get(path, page_query).await.map_err(|e| AppError::upstream(action, e))?;
        let room = limit - listed;
        listed += page.data.len().min(room);
        kept.extend(page.data.into_iter().take(room).filter_map(&mut keep));
        match page.next_page {
            Some(next) => cursor = Some(next),
            None => return Ok((kept, true)),
        }
    }
    Ok((kept, false))
}
