//! Passing a call on to the workspace's upstream with the server's key: the program's own
//! `anthropic-version` and `anthropic-beta`, its body streamed (an upload is never held whole),
//! and the answer streamed back with the upstream's `request-id`. A JSON answer of up to 1 MiB is
//! read whole first, so that the audit log can name what it created.

use axum::{
    body::Body,
    extract::Request,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use futures::TryStreamExt;

use crate::upstream::UpstreamClient;

use super::errors::api_error;

/// The program's headers the upstream gets; the rest (its credential above all) stay here.
const ASKED: &[&str] = &["content-type", "accept", "anthropic-version", "anthropic-beta"];

/// The upstream's headers the program gets.
const ANSWERED: &[&str] = &[
    "content-type",
    "content-disposition",
    "request-id",
    "retry-after",
    "retry-after-ms",
    "x-should-retry",
    "anthropic-workspace-id",
];

/// A JSON answer up to this size is read whole (the audit log reads created ids from it).
const WHOLE_ANSWER: u64 = 1024 * 1024;

/// The program's headers that go upstream.
pub fn asked_headers(headers: &HeaderMap) -> reqwest::header::HeaderMap {
    let mut forwarded = reqwest::header::HeaderMap::new();
    for name in ASKED {
        if let Some(value) = headers.get(*name) {
            forwarded.insert(*name, value.clone());
        }
    }
    forwarded
}

/// The query of `uri` as pairs, as the upstream gets it.
pub fn query_pairs(uri: &axum::http::Uri) -> Vec<(String, String)> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect()
}

/// Sends `request` to the same path of `client`'s upstream, and its answer back.
pub async fn pass(client: &UpstreamClient, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let mut upstream = client
        .raw(parts.method.clone(), parts.uri.path())
        .query(&query_pairs(&parts.uri))
        .replacing_headers(asked_headers(&parts.headers));
    if !matches!(parts.method, axum::http::Method::GET | axum::http::Method::HEAD) {
        upstream = upstream.body(reqwest::Body::wrap_stream(body.into_data_stream()));
    }
    match upstream.send().await {
        Ok(answer) => relay(answer).await,
        Err(error) => {
            tracing::warn!(
                "a call through the gateway did not reach the upstream: {}",
                crate::support::describe(error)
            );
            api_error(
                StatusCode::BAD_GATEWAY,
                "Switchboard could not reach the Managed Agents API of this token's workspace. Try again shortly.",
            )
        }
    }
}

/// The upstream's answer as the program gets it.
pub async fn relay(answer: reqwest::Response) -> Response {
    let mut response = Response::builder().status(answer.status().as_u16());
    for name in ANSWERED {
        if let Some(value) = answer.headers().get(*name) {
            response = response.header(*name, value.clone());
        }
    }
    let is_json = answer
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let body = if is_json && answer.content_length().is_some_and(|n| n <= WHOLE_ANSWER) {
        match answer.bytes().await {
            Ok(bytes) => Body::from(bytes),
            Err(error) => {
                tracing::warn!("an answer through the gateway could not be read: {error}");
                return api_error(StatusCode::BAD_GATEWAY, "The upstream's answer broke off; try again.");
            }
        }
    } else {
        Body::from_stream(answer.bytes_stream().map_err(std::io::Error::other))
    };
    response.body(body).unwrap_or_else(|_| api_error(StatusCode::BAD_GATEWAY, "The upstream's answer was not HTTP."))
}
