//! The four methods of Slack's Web API that deciding in Slack uses: `chat.postMessage`,
//! `chat.update`, `chat.postEphemeral` and `views.open`, as JSON with the bot token as a bearer
//! token, at `SWITCHBOARD_SLACK_API_URL` (Slack's own by default). Slack answers 200 with
//! `{"ok": false, "error": "channel_not_found"}` for what it refuses; that code is what errors
//! say. The token is never in an error or a log line.

use std::time::Duration;

use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("Slack could not be reached: {0}")]
    Unreachable(String),
    #[error("Slack answered HTTP {0}")]
    Status(u16),
    #[error("Slack refused it: {0}")]
    Refused(String),
}

pub struct SlackApi {
    http: reqwest::Client,
    base: String,
}

impl SlackApi {
    /// `base` is `https://slack.com/api`, or a stand-in's address.
    pub fn new(base: &str) -> std::io::Result<Self> {
        let http = engine::http_client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Self { http, base: base.trim_end_matches('/').to_owned() })
    }

    async fn call(&self, token: &str, method: &str, body: Value) -> Result<Value, SlackError> {
        let response = self
            .http
            .post(format!("{}/{method}", self.base))
            .bearer_auth(token)
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| SlackError::Unreachable(crate::support::error_chain(&e.without_url())))?;
        if !response.status().is_success() {
            return Err(SlackError::Status(response.status().as_u16()));
        }
        let answer: Value = response.json().await.map_err(|e| SlackError::Unreachable(e.without_url().to_string()))?;
        if answer.get("ok").and_then(Value::as_bool) == Some(true) {
            Ok(answer)
        } else {
            let code = answer.get("error").and_then(Value::as_str).unwrap_or("an answer without ok");
            Err(SlackError::Refused(code.chars().take(100).collect()))
        }
    }

    /// Posts a message; answers its channel and `ts`.
    pub async fn post_message(
        &self,
        token: &str,
        channel: &str,
        text: &str,
        blocks: &Value,
    ) -> Result<(String, String), SlackError> {
        let answer =
            self.call(token, "chat.postMessage", json!({ "channel": channel, "text": text, "blocks": blocks })).await?;
        let field = |k: &str| answer.get(k).and_then(Value::as_str).map(str::to_owned);
        match (field("channel"), field("ts")) {
            (Some(channel), Some(ts)) => Ok((channel, ts)),
            _ => Err(SlackError::Refused("an answer without channel and ts".into())),
        }
    }

    /// Replaces the message `ts` of `channel`.
    pub async fn update(
        &self,
        token: &str,
        channel: &str,
        ts: &str,
        text: &str,
        blocks: &Value,
    ) -> Result<(), SlackError> {
        self.call(token, "chat.update", json!({ "channel": channel, "ts": ts, "text": text, "blocks": blocks }))
            .await
            .map(drop)
    }

    /// A message only `user` sees, in `channel`.
    pub async fn ephemeral(&self, token: &str, channel: &str, user: &str, text: &str) -> Result<(), SlackError> {
        self.call(token, "chat.postEphemeral", json!({ "channel": channel, "user": user, "text": text }))
            .await
            .map(drop)
    }

    /// Opens a modal for the press `trigger_id` (valid three seconds after it).
    pub async fn open_view(&self, token: &str, trigger_id: &str, view: &Value) -> Result<(), SlackError> {
        self.call(token, "views.open", json!({ "trigger_id": trigger_id, "view": view })).await.map(drop)
    }
}
