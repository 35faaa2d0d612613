//! A Messages-compatible server of the project's own, for tests and benches without the
//! internet: each `POST /v1/messages` answers with the next reply of its script, streamed frame
//! by frame as Anthropic's API streams (`message_start`, `content_block_*` with `text_delta`,
//! `thinking_delta`, `signature_delta` and `input_json_delta`, `message_delta`, `message_stop`,
//! `ping`), or fails as the API fails (a status with its error body and `retry-after`, an
//! `error` event, a stream cut mid-message). `GET /v1/models` lists the script's models.
//!
//! The SDK suite checks its stream with the official SDK's Messages stream parser
//! (`engine/sdk-tests`), so it cannot drift from what the real API sends. `switchboard-engine
//! messages-test-server --script FILE` serves one from a JSON script.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    body::Body,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};

/// A test server's script: the replies it gives, in order, and the models it lists.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Script {
    #[serde(default)]
    pub replies: Vec<Scripted>,
    /// `GET /v1/models` answers 404 when this is absent, as an endpoint without a model list.
    #[serde(default)]
    pub models: Option<Vec<Value>>,
    /// The answer to every request once `replies` have run out.
    #[serde(default)]
    pub repeat: Option<Scripted>,
}

/// One answer to a `POST /v1/messages`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scripted {
    /// A failure with this HTTP status, its error body and `retry-after` (seconds).
    Status {
        status: u16,
        #[serde(default)]
        retry_after: Option<u64>,
        #[serde(default)]
        message: Option<String>,
    },
    /// A streamed reply: these content blocks (as the Messages API returns them), then its stop
    /// reason. `cut_after` ends the stream after that many frames, mid-message; `error` sends an
    /// `error` event of that type after the blocks instead of the end of the message.
    Reply {
        content: Vec<Value>,
        #[serde(default = "end_turn")]
        stop_reason: String,
        #[serde(default)]
        usage: Option<Value>,
        #[serde(default)]
        cut_after: Option<usize>,
        #[serde(default)]
        error: Option<String>,
        /// A pause before each frame, for previews a person can watch.
        #[serde(default)]
        delay_ms: u64,
    },
}

fn end_turn() -> String {
    "end_turn".to_owned()
}

impl Scripted {
    /// A reply of one text block.
    pub fn text(text: &str) -> Self {
        Self::reply(vec![json!({ "type": "text", "text": text })], "end_turn")
    }

    /// A reply of these blocks that stops for `stop_reason`.
    pub fn reply(content: Vec<Value>, stop_reason: &str) -> Self {
        Scripted::Reply {
            content,
            stop_reason: stop_reason.to_owned(),
            usage: None,
            cut_after: None,
            error: None,
            delay_ms: 0,
        }
    }

    /// A failure with `status`.
    pub fn status(status: u16, retry_after: Option<u64>) -> Self {
        Scripted::Status { status, retry_after, message: None }
    }
}

/// A request the server received, and how long it took to answer it.
#[derive(Debug, Clone)]
pub struct Received {
    pub body: Value,
    pub headers: axum::http::HeaderMap,
    /// From the request's arrival to the last frame written.
    pub served_in: Duration,
}

#[derive(Default)]
struct Inner {
    replies: VecDeque<Scripted>,
    received: Vec<Received>,
    models: Option<Vec<Value>>,
    /// When set, every request gets this reply once the script runs out (for benches).
    repeat: Option<Scripted>,
}

/// A running test server; it stops when dropped.
pub struct TestServer {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl TestServer {
    /// Starts a server on a free loopback port.
    pub async fn start(script: Script) -> std::io::Result<Self> {
        Self::serve(script, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a server on `address`.
    pub async fn serve(script: Script, address: SocketAddr) -> std::io::Result<Self> {
        let inner = Arc::new(Mutex::new(Inner {
            replies: script.replies.into(),
            models: script.models,
            repeat: script.repeat,
            ..Inner::default()
        }));
        let listener = tokio::net::TcpListener::bind(address).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let router = Router::new()
            .route("/v1/messages", post(messages))
            .route("/v1/models", get(models))
            .with_state(inner.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self { url, inner, _stop: stop })
    }

    /// Adds replies at the end of the script.
    pub fn push(&self, replies: impl IntoIterator<Item = Scripted>) {
        self.inner.lock().expect("test server lock").replies.extend(replies);
    }

    /// Answers every request past the script with `reply`.
    pub fn repeat(&self, reply: Scripted) {
        self.inner.lock().expect("test server lock").repeat = Some(reply);
    }

    /// The requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().expect("test server lock").received.clone()
    }

    /// How many replies of the script are left.
    pub fn remaining(&self) -> usize {
        self.inner.lock().expect("test server lock").replies.len()
    }
}

async fn models(State(inner): State<Arc<Mutex<Inner>>>) -> Response {
    let models = inner.lock().expect("test server lock").models.clone();
    match models {
        Some(models) => Json(json!({
            "data": models,
            "has_more": false,
            "first_id": models.first().map(|m| m["id"].clone()),
            "last_id": models.last().map(|m| m["id"].clone()),
        }))
        .into_response(),
        None => error_response(404, "not_found_error", "This server has no model list.", None),
    }
}

async fn messages(State(inner): State<Arc<Mutex<Inner>>>, headers: axum::http::HeaderMap, body: String) -> Response {
    let arrived = Instant::now();
    let request: Value = match serde_json::from_str(&body) {
        Ok(request) => request,
        Err(error) => {
            return error_response(400, "invalid_request_error", &format!("The body is not JSON: {error}"), None);
        }
    };
    let next = {
        let mut inner = inner.lock().expect("test server lock");
        let next = inner.replies.pop_front().or_else(|| inner.repeat.clone());
        let index = inner.received.len();
        inner.received.push(Received { body: request.clone(), headers, served_in: Duration::ZERO });
        next.map(|next| (next, index))
    };
    let Some((next, index)) = next else {
        return error_response(500, "api_error", "The test server's script has no more replies.", None);
    };
    let (content, stop_reason, usage, cut_after, error, delay_ms) = match next {
        Scripted::Status { status, retry_after, message } => {
            let (kind, default) = match status {
                429 => ("rate_limit_error", "Number of request tokens has exceeded your rate limit."),
                529 => ("overloaded_error", "Overloaded"),
                400 => ("invalid_request_error", "Invalid request."),
                401 => ("authentication_error", "invalid x-api-key"),
                404 => ("not_found_error", "model not found"),
                _ => ("api_error", "Internal server error"),
            };
            inner.lock().expect("test server lock").received[index].served_in = arrived.elapsed();
            return error_response(status, kind, message.as_deref().unwrap_or(default), retry_after);
        }
        Scripted::Reply { content, stop_reason, usage, cut_after, error, delay_ms } => {
            (content, stop_reason, usage, cut_after, error, delay_ms)
        }
    };
    let model = request["model"].as_str().unwrap_or_default().to_owned();
    let mut frames = frames(&model, &request, &content, &stop_reason, usage.as_ref());
    if let Some(kind) = error {
        // The blocks, then an error where the message's end would be.
        frames.truncate(frames.len() - 2);
        frames.push(frame("error", &json!({ "type": "error", "error": { "type": kind, "message": "Overloaded" } })));
    }
    if let Some(cut) = cut_after {
        frames.truncate(cut);
    }
    let stream = futures::stream::unfold(
        (frames.into_iter(), inner, index, arrived),
        move |(mut frames, inner, index, arrived)| async move {
            match frames.next() {
                Some(frame) => {
                    if delay_ms > 0 {
                        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                    }
                    Some((Ok::<_, std::convert::Infallible>(frame), (frames, inner, index, arrived)))
                }
                None => {
                    inner.lock().expect("test server lock").received[index].served_in = arrived.elapsed();
                    None
                }
            }
        },
    );
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream; charset=utf-8"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response.headers_mut().insert("request-id", HeaderValue::from_static("req_test"));
    response
}

fn error_response(status: u16, kind: &str, message: &str, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        Json(json!({ "type": "error", "error": { "type": kind, "message": message }, "request_id": "req_test" })),
    )
        .into_response();
    if let Some(seconds) = retry_after {
        response.headers_mut().insert("retry-after", HeaderValue::from(seconds));
    }
    response
}

fn frame(event: &str, data: &Value) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

/// The frames of a streamed reply, as Anthropic's API sends them.
fn frames(model: &str, request: &Value, content: &[Value], stop_reason: &str, usage: Option<&Value>) -> Vec<String> {
    // Usage: what the script says, or about four characters a token.
    let input_tokens = usage
        .and_then(|u| u["input_tokens"].as_u64())
        .unwrap_or((request["system"].to_string().len() + request["messages"].to_string().len()) as u64 / 4 + 1);
    let output_tokens = usage
        .and_then(|u| u["output_tokens"].as_u64())
        .unwrap_or(content.iter().map(|b| b.to_string().len() as u64).sum::<u64>() / 4 + 1);
    let cache_read = usage.and_then(|u| u["cache_read_input_tokens"].as_u64()).unwrap_or(0);
    let cache_creation = usage.and_then(|u| u["cache_creation_input_tokens"].as_u64()).unwrap_or(0);
    let id = format!("msg_test{:016x}", rand::random::<u64>());
    let mut frames = vec![frame(
        "message_start",
        &json!({ "type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": { "input_tokens": input_tokens, "output_tokens": 1,
                "cache_creation_input_tokens": cache_creation, "cache_read_input_tokens": cache_read },
        } }),
    )];
    for (index, block) in content.iter().enumerate() {
        let start = match block["type"].as_str() {
            Some("text") => json!({ "type": "text", "text": "" }),
            Some("thinking") => json!({ "type": "thinking", "thinking": "", "signature": "" }),
            Some("tool_use") => json!({ "type": "tool_use", "id": block["id"], "name": block["name"], "input": {} }),
            _ => block.clone(),
        };
        frames.push(frame(
            "content_block_start",
            &json!({ "type": "content_block_start", "index": index, "content_block": start }),
        ));
        if index == 0 {
            frames.push(frame("ping", &json!({ "type": "ping" })));
        }
        let delta = |delta: Value| {
            frame("content_block_delta", &json!({ "type": "content_block_delta", "index": index, "delta": delta }))
        };
        match block["type"].as_str() {
            Some("text") => {
                for piece in pieces(block["text"].as_str().unwrap_or_default(), 12) {
                    frames.push(delta(json!({ "type": "text_delta", "text": piece })));
                }
            }
            Some("thinking") => {
                for piece in pieces(block["thinking"].as_str().unwrap_or_default(), 24) {
                    frames.push(delta(json!({ "type": "thinking_delta", "thinking": piece })));
                }
                frames.push(delta(json!({ "type": "signature_delta", "signature": block["signature"] })));
            }
            Some("tool_use") => {
                frames.push(delta(json!({ "type": "input_json_delta", "partial_json": "" })));
                for piece in pieces(&block["input"].to_string(), 10) {
                    frames.push(delta(json!({ "type": "input_json_delta", "partial_json": piece })));
                }
            }
            _ => {}
        }
        frames.push(frame("content_block_stop", &json!({ "type": "content_block_stop", "index": index })));
    }
    frames.push(frame(
        "message_delta",
        &json!({ "type": "message_delta", "delta": { "stop_reason": stop_reason, "stop_sequence": null },
            "usage": { "input_tokens": input_tokens, "output_tokens": output_tokens,
                "cache_creation_input_tokens": cache_creation, "cache_read_input_tokens": cache_read } }),
    ));
    frames.push(frame("message_stop", &json!({ "type": "message_stop" })));
    frames
}

/// `text` in pieces of about `size` characters (on character boundaries).
fn pieces(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

/// `messages-test-server --listen ADDR --script FILE`: serves a test server until stopped.
pub async fn main(args: &[String]) -> std::process::ExitCode {
    let mut listen: SocketAddr = ([127, 0, 0, 1], 0).into();
    let mut script_path = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--listen" => match rest.next().map(|a| a.parse()) {
                Some(Ok(address)) => listen = address,
                _ => return usage(),
            },
            "--script" => script_path = rest.next().cloned(),
            _ => return usage(),
        }
    }
    let script = match script_path.map(std::fs::read_to_string) {
        None => Script::default(),
        Some(Ok(text)) => match serde_json::from_str(&text) {
            Ok(script) => script,
            Err(error) => {
                eprintln!("The script is not a test server script: {error}");
                return std::process::ExitCode::from(2);
            }
        },
        Some(Err(error)) => {
            eprintln!("The script cannot be read: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    let server = match TestServer::serve(script, listen).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("The test server cannot listen on {listen}: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("{}", server.url);
    let _ = tokio::signal::ctrl_c().await;
    std::process::ExitCode::SUCCESS
}

fn usage() -> std::process::ExitCode {
    eprintln!("usage: messages-test-server [--listen 127.0.0.1:PORT] [--script FILE.json]");
    std::process::ExitCode::from(2)
}
