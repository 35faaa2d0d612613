//! The calls a worker makes, as the SDK's worker makes them: every credential as
//! `Authorization: Bearer`, the managed-agents beta on each, and the SDK's retries (408, 409, 429,
//! 5xx and connection errors are tried again twice, after a short wait) before a caller sees an
//! error.

use std::time::Duration;

use futures::{Stream, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const BETA: &str = protocol::MANAGED_AGENTS_BETA;
const VERSION: &str = protocol::ANTHROPIC_VERSION;
/// A request's tries after the first, on a transient failure.
const RETRIES: u32 = 2;

/// Why a call failed.
#[derive(Debug)]
pub enum CallError {
    /// The server answered with this status (after any retries), and this body.
    Status(StatusCode, String),
    /// No answer: the connection failed or timed out (after any retries).
    Transport(String),
}

impl CallError {
    /// A 4xx other than 408, 409 and 429: trying again would not help.
    pub fn fatal(&self) -> bool {
        matches!(self, CallError::Status(status, _) if status.is_client_error() && !transient(*status))
    }

    pub fn status(&self) -> Option<StatusCode> {
        match self {
            CallError::Status(status, _) => Some(*status),
            CallError::Transport(_) => None,
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The body is the API's error (a message, never a credential).
            CallError::Status(status, body) => {
                let message = serde_json::from_str::<Value>(body)
                    .ok()
                    .and_then(|b| b["error"]["message"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| body.chars().take(300).collect());
                write!(f, "HTTP {status}: {message}")
            }
            CallError::Transport(error) => write!(f, "no answer: {error}"),
        }
    }
}

fn transient(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 409 | 429) || status.is_server_error()
}

/// One request, as [`Api::send`] makes it.
struct Call<'a> {
    method: Method,
    path: &'a str,
    credential: &'a str,
    query: &'a [(&'a str, String)],
    body: Option<&'a Value>,
    timeout: Duration,
    worker: Option<&'a str>,
}

/// The API a worker talks to: its base URL and an HTTP client.
#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(base_url: &str) -> Result<Api, String> {
        let http = crate::http_client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("switchboard-worker/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| format!("cannot make an HTTP client: {error}"))?;
        Ok(Api { base: base_url.trim_end_matches('/').to_owned(), http })
    }

    fn request(&self, method: Method, path: &str, credential: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(credential)
            .header("anthropic-beta", BETA)
            .header("anthropic-version", VERSION)
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// One call answered as JSON, retried as the SDK retries.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        credential: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Value, CallError> {
        self.send(Call { method, path, credential, query, body, timeout, worker: None }).await
    }

    /// A poll: the call with the worker's id in `Anthropic-Worker-ID`.
    pub async fn call_with_worker(
        &self,
        method: Method,
        path: &str,
        credential: &str,
        query: &[(&str, String)],
        worker: &str,
        timeout: Duration,
    ) -> Result<Value, CallError> {
        self.send(Call { method, path, credential, query, body: None, timeout, worker: Some(worker) }).await
    }

    async fn send(&self, call: Call<'_>) -> Result<Value, CallError> {
        let Call { method, path, credential, query, body, timeout, worker } = call;
        let mut attempt = 0;
        loop {
            let mut request = self.request(method.clone(), path, credential).query(query).timeout(timeout);
            if let Some(body) = body {
                request = request.json(body);
            }
            if let Some(worker) = worker {
                request = request.header("anthropic-worker-id", worker);
            }
            let error = match request.send().await {
                Ok(response) if response.status().is_success() => {
                    let text = response.text().await.map_err(|e| CallError::Transport(e.to_string()))?;
                    return serde_json::from_str(&text)
                        .map_err(|e| CallError::Transport(format!("the answer is not JSON: {e}")));
                }
                Ok(response) => {
                    let status = response.status();
                    CallError::Status(status, response.text().await.unwrap_or_default())
                }
                Err(error) => CallError::Transport(error.to_string()),
            };
            let retry = match error.status() {
                None => true,
                Some(StatusCode::CONFLICT) => retry_conflict(path),
                Some(status) => transient(status),
            };
            if !retry || attempt >= RETRIES {
                return Err(error);
            }
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempt - 1))).await;
        }
    }

    /// A session's stream of events (JSON objects, as they come); ends when the connection does.
    pub async fn stream(
        &self,
        session_id: &str,
        credential: &str,
    ) -> Result<impl Stream<Item = Result<Value, String>> + use<>, CallError> {
        let response = self
            .request(Method::GET, &format!("/v1/sessions/{session_id}/events/stream"), credential)
            .header("accept", "text/event-stream")
            .send()
            .await
            .map_err(|e| CallError::Transport(e.to_string()))?;
        if !response.status().is_success() {
            let status = response.status();
            return Err(CallError::Status(status, response.text().await.unwrap_or_default()));
        }
        let events = eventsource_stream::EventStream::new(response.bytes_stream());
        Ok(events.filter_map(|event| async move {
            match event {
                Ok(event) if event.data.trim().is_empty() => None,
                Ok(event) => Some(serde_json::from_str::<Value>(&event.data).map_err(|e| e.to_string())),
                Err(error) => Some(Err(error.to_string())),
            }
        }))
    }

    /// Every event of a session so far, in order.
    pub async fn history(&self, session_id: &str, credential: &str) -> Result<Vec<Value>, CallError> {
        let mut events = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut query = vec![("limit", "1000".to_owned())];
            if let Some(page) = &page {
                query.push(("page", page.clone()));
            }
            let path = format!("/v1/sessions/{session_id}/events");
            let answer = self.call(Method::GET, &path, credential, &query, None, Duration::from_secs(60)).await?;
            events.extend(answer["data"].as_array().into_iter().flatten().cloned());
            match answer["next_page"].as_str() {
                Some(next) if !next.is_empty() => page = Some(next.to_owned()),
                _ => return Ok(events),
            }
        }
    }

    /// Posts one tool result to a session.
    pub async fn send_result(&self, session_id: &str, credential: &str, result: &Value) -> Result<(), CallError> {
        let path = format!("/v1/sessions/{session_id}/events");
        let body = json!({ "events": [result] });
        self.call(Method::POST, &path, credential, &[], Some(&body), Duration::from_secs(60)).await.map(drop)
    }
}

/// A 409 is the SDK's to retry, but not a stopped item's (`x-should-retry: false`; its stop).
fn retry_conflict(path: &str) -> bool {
    !path.ends_with("/stop") && !path.ends_with("/ack")
}
