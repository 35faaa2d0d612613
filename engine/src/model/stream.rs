//! One streamed Messages request: the reply read block by block as the endpoint sends it, and
//! what went wrong said the way the Managed Agents API reports model errors.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};

use super::ModelEndpoint;

/// What the caller is told while a reply streams in (for the live previews).
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// A text block begins at `index`.
    TextStart(usize),
    /// More text of the block at `index`.
    Text(usize, String),
    /// A thinking block begins at `index` (its text is never shown).
    ThinkingStart(usize),
}

/// Tokens a request used, as the endpoint counted them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_creation_input_tokens: u64,
}

impl Usage {
    fn read(&mut self, usage: &Value) {
        let take = |key: &str, into: &mut u64| {
            if let Some(n) = usage[key].as_u64() {
                *into = n;
            }
        };
        take("input_tokens", &mut self.input_tokens);
        take("output_tokens", &mut self.output_tokens);
        take("cache_read_input_tokens", &mut self.cache_read_input_tokens);
        take("cache_creation_input_tokens", &mut self.cache_creation_input_tokens);
    }
}

/// A whole reply: its content blocks as the Messages API returns them (`text`, `thinking` with
/// its signature, `redacted_thinking`, `tool_use` with its parsed input), why it stopped, and
/// its usage.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub content: Vec<Value>,
    pub stop_reason: String,
    pub usage: Usage,
}

/// Why a request got no whole reply, as the API names it.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// 429: `model_rate_limited_error`; tried again after `retry_after` when the endpoint says.
    RateLimited { message: String, retry_after: Option<Duration> },
    /// 529 or an `overloaded_error` in the stream: `model_overloaded_error`, tried again.
    Overloaded { message: String, retry_after: Option<Duration> },
    /// The connection failed or the stream was cut before `message_stop`: tried again.
    Cut { message: String },
    /// The request is larger than the model's context window.
    TooLong { message: String },
    /// Anything else: `model_request_failed_error`, not tried again.
    Failed { message: String },
}

impl Failure {
    /// The `session.error` type this failure is reported as.
    pub fn error_type(&self) -> &'static str {
        match self {
            Failure::RateLimited { .. } => "model_rate_limited_error",
            Failure::Overloaded { .. } => "model_overloaded_error",
            Failure::Cut { .. } | Failure::TooLong { .. } | Failure::Failed { .. } => "model_request_failed_error",
        }
    }

    /// The request's `status` label in the engine's metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Failure::RateLimited { .. } => "rate_limited",
            Failure::Overloaded { .. } => "overloaded",
            Failure::Cut { .. } => "cut",
            Failure::TooLong { .. } => "too_long",
            Failure::Failed { .. } => "failed",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Failure::RateLimited { message, .. }
            | Failure::Overloaded { message, .. }
            | Failure::Cut { message }
            | Failure::TooLong { message }
            | Failure::Failed { message } => message,
        }
    }

    /// Whether trying the same request again may succeed.
    pub fn retryable(&self) -> bool {
        matches!(self, Failure::RateLimited { .. } | Failure::Overloaded { .. } | Failure::Cut { .. })
    }

    /// How long the endpoint asked the client to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Failure::RateLimited { retry_after, .. } | Failure::Overloaded { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl ModelEndpoint {
    /// Sends one Messages request (`body` without `stream`, which is set here) and reads its
    /// streamed reply to the end, telling `on` of text and thinking as they begin.
    pub async fn stream(&self, body: &Value, mut on: impl FnMut(Progress)) -> Result<Reply, Failure> {
        let response = self.open_stream(body).await?;
        let mut events = response.bytes_stream().eventsource();
        let mut reading = Reading::default();
        let mut stopped = false;
        while let Some(event) = events.next().await {
            let event = event.map_err(|error| Failure::Cut {
                message: format!("The model's reply was cut off mid-stream: {error}"),
            })?;
            let data: Value = match serde_json::from_str(&event.data) {
                Ok(data) => data,
                Err(_) => continue,
            };
            match data["type"].as_str().unwrap_or(&event.event) {
                "message_start" => reading.reply.usage.read(&data["message"]["usage"]),
                "content_block_start" => reading.start_block(&data, &mut on),
                "content_block_delta" => reading.add_delta(&data, &mut on),
                "content_block_stop" => reading.stop_block(&data)?,
                "message_delta" => {
                    if let Some(reason) = data["delta"]["stop_reason"].as_str() {
                        reading.reply.stop_reason = reason.to_owned();
                    }
                    reading.reply.usage.read(&data["usage"]);
                }
                "message_stop" => {
                    stopped = true;
                    break;
                }
                "error" => return Err(failure_of_body(&data, None, 0)),
                _ => {}
            }
        }
        if !stopped {
            return Err(Failure::Cut { message: "The model's reply was cut off before it ended.".to_owned() });
        }
        let mut reply = reading.reply;
        reply.content.retain(|block| !block.is_null());
        Ok(reply)
    }

    /// Sends the request with `stream` set; answers the response once its status says it
    /// streams, the failure it says otherwise.
    async fn open_stream(&self, body: &Value) -> Result<reqwest::Response, Failure> {
        if !self.has_key() && self.needs_key() {
            return Err(Failure::Failed {
                message: "No key for Anthropic's Messages API: set SWITCHBOARD_ENGINE_MODEL_KEY (or SWITCHBOARD_ENGINE_MODEL_URL to a Messages-compatible server) and send the message again.".to_owned(),
            });
        }
        let mut body = body.clone();
        body["stream"] = json!(true);
        let response =
            self.request(reqwest::Method::POST, "/v1/messages").json(&body).send().await.map_err(|error| {
                Failure::Cut { message: format!("The model endpoint could not be reached: {}", plain(error)) }
            })?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = retry_after(response.headers());
            let text = response.text().await.unwrap_or_default();
            return Err(failure_of_status(status.as_u16(), &text, retry_after));
        }
        Ok(response)
    }
}

/// A streamed reply as read so far, and per block the partial JSON of a tool call's input.
#[derive(Default)]
struct Reading {
    reply: Reply,
    partial_json: Vec<String>,
}

impl Reading {
    /// `content_block_start`: a new block (a text or thinking block told to `on`).
    fn start_block(&mut self, data: &Value, on: &mut impl FnMut(Progress)) {
        let index = data["index"].as_u64().unwrap_or(self.reply.content.len() as u64) as usize;
        let mut block = data["content_block"].clone();
        match block["type"].as_str() {
            Some("text") => on(Progress::TextStart(index)),
            Some("thinking") => on(Progress::ThinkingStart(index)),
            Some("tool_use") => block["input"] = json!({}),
            _ => {}
        }
        if self.reply.content.len() <= index {
            self.reply.content.resize(index + 1, Value::Null);
            self.partial_json.resize(index + 1, String::new());
        }
        self.reply.content[index] = block;
    }

    /// `content_block_delta`: more of a block (text told to `on`).
    fn add_delta(&mut self, data: &Value, on: &mut impl FnMut(Progress)) {
        let index = data["index"].as_u64().unwrap_or_default() as usize;
        let Some(block) = self.reply.content.get_mut(index) else { return };
        let delta = &data["delta"];
        match delta["type"].as_str() {
            Some("text_delta") => {
                let text = delta["text"].as_str().unwrap_or_default();
                append(block, "text", text);
                on(Progress::Text(index, text.to_owned()));
            }
            Some("thinking_delta") => append(block, "thinking", delta["thinking"].as_str().unwrap_or_default()),
            Some("signature_delta") => append(block, "signature", delta["signature"].as_str().unwrap_or_default()),
            Some("input_json_delta") => {
                self.partial_json[index].push_str(delta["partial_json"].as_str().unwrap_or_default())
            }
            _ => {}
        }
    }

    /// `content_block_stop`: a tool call's input, now whole, parsed.
    fn stop_block(&mut self, data: &Value) -> Result<(), Failure> {
        let index = data["index"].as_u64().unwrap_or_default() as usize;
        if let Some(block) = self.reply.content.get_mut(index)
            && block["type"] == "tool_use"
            && !self.partial_json[index].is_empty()
        {
            block["input"] = serde_json::from_str(&self.partial_json[index]).map_err(|error| Failure::Failed {
                message: format!("The model sent a tool call whose input is not JSON ({error})."),
            })?;
        }
        Ok(())
    }
}

fn append(block: &mut Value, key: &str, more: &str) {
    let mut text = block[key].as_str().unwrap_or_default().to_owned();
    text.push_str(more);
    block[key] = json!(text);
}

/// A reqwest error in words, without its URL (which could carry a secret in a query string).
fn plain(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// `retry-after` in whole seconds, as Anthropic sends it.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?;
    value.trim().parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64)
}

fn failure_of_status(status: u16, body: &str, retry_after: Option<Duration>) -> Failure {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    failure_of_body(&parsed, retry_after, status)
}

/// A failure from an error body (`{"type":"error","error":{"type","message"}}`), its HTTP status
/// (0 inside a stream) and `retry-after`.
fn failure_of_body(body: &Value, retry_after: Option<Duration>, status: u16) -> Failure {
    let kind = body["error"]["type"].as_str().unwrap_or_default();
    let said = body["error"]["message"].as_str().unwrap_or_default();
    let said = if said.is_empty() { String::new() } else { format!(": {said}") };
    match (status, kind) {
        (429, _) | (_, "rate_limit_error") => {
            Failure::RateLimited { message: format!("The model endpoint is rate-limiting requests{said}"), retry_after }
        }
        (529, _) | (_, "overloaded_error") => {
            Failure::Overloaded { message: format!("The model is overloaded{said}"), retry_after }
        }
        (400, _) if said.contains("prompt is too long") || said.contains("context window") => {
            Failure::TooLong { message: format!("The conversation is longer than the model's context window{said}") }
        }
        (400, _) if names_the_version(said.as_str()) => Failure::Failed {
            message: format!(
                "The model endpoint refused the API version the engine sends (anthropic-version {}, the official SDK's){said}. \
                 Use an endpoint that accepts it in SWITCHBOARD_ENGINE_MODEL_URL, or update the one there.",
                protocol::ANTHROPIC_VERSION
            ),
        },
        (401, _) => Failure::Failed {
            message: "The model endpoint refused the key (401): check SWITCHBOARD_ENGINE_MODEL_KEY.".to_owned(),
        },
        (403, _) => Failure::Failed { message: format!("The model endpoint refused the request (403){said}") },
        (404, _) | (_, "not_found_error") => {
            Failure::Failed { message: format!("The model endpoint does not know this model (404){said}") }
        }
        (500..=599, _) | (_, "api_error") => {
            Failure::Cut { message: format!("The model endpoint failed ({status}){said}") }
        }
        (0, _) => Failure::Failed { message: format!("The model's reply ended with an error ({kind}){said}") },
        _ => Failure::Failed { message: format!("The model endpoint refused the request ({status}){said}") },
    }
}

/// Whether an error message is about the `anthropic-version` header.
fn names_the_version(said: &str) -> bool {
    let said = said.to_ascii_lowercase();
    said.contains("anthropic-version") || said.contains("api version") || said.contains("api-version")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_become_the_apis_model_errors() {
        let body = r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#;
        let limited = failure_of_status(429, body, Some(Duration::from_secs(3)));
        assert_eq!(limited.error_type(), "model_rate_limited_error");
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(3)));
        assert!(limited.message().contains("slow down"));
        assert_eq!(failure_of_status(529, "", None).error_type(), "model_overloaded_error");
        let too_long = failure_of_status(
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
            None,
        );
        assert!(matches!(too_long, Failure::TooLong { .. }));
        let refused = failure_of_status(401, r#"{"error":{"message":"invalid x-api-key"}}"#, None);
        assert!(!refused.retryable() && refused.message().contains("SWITCHBOARD_ENGINE_MODEL_KEY"));
        assert!(failure_of_status(503, "", None).retryable());
        assert!(!failure_of_status(400, "{}", None).retryable());
        // A compatible endpoint older than the SDK: the person is told what to change.
        let version = failure_of_status(
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"anthropic-version: unsupported value"}}"#,
            None,
        );
        assert!(!version.retryable());
        assert!(version.message().contains(protocol::ANTHROPIC_VERSION), "{}", version.message());
        assert!(
            version.message().contains("unsupported value")
                && version.message().contains("SWITCHBOARD_ENGINE_MODEL_URL")
        );
    }
}
