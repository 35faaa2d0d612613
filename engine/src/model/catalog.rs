//! The models the engine can run: `scripted`, and those its Messages endpoint lists at
//! `GET /v1/models` (read when first needed, kept for five minutes, never waited on for long).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::ModelEndpoint;
use crate::script::SCRIPTED_MODEL;

/// How long a read list is kept.
const FRESH: Duration = Duration::from_secs(300);
/// How long the engine does without a list it could not read before it tries again.
const RETRY: Duration = Duration::from_secs(30);
/// How long a read of the list may take before the engine does without it.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A model list as read: `None` when it could not be.
type Models = Option<Arc<Vec<Value>>>;

/// Why the endpoint's model list could not be read (logged; the engine goes on without it).
#[derive(Debug, thiserror::Error)]
enum ListUnread {
    /// The request failed, or its answer was not a list; the error without the URL, which the
    /// log line names already.
    #[error("{0}")]
    Request(reqwest::Error),
    #[error("it answered {0}")]
    Status(reqwest::StatusCode),
}

/// The endpoint's model list, and when it was last read.
#[derive(Default)]
pub struct Catalog {
    read: Mutex<Option<(Instant, Models)>>,
}

/// The scripted model, as `GET /v1/models` describes it.
pub fn scripted() -> Value {
    json!({
        "type": "model",
        "id": SCRIPTED_MODEL,
        "display_name": "Scripted (the embedded engine's own)",
        "created_at": "2025-01-01T00:00:00Z",
        "lifecycle": "active",
        "deprecated_at": null,
        "retires_at": null,
        "line": null,
        "max_input_tokens": 1_000_000,
        "max_tokens": 64_000,
        "capabilities": null,
        "allowed_fallback_models": [],
    })
}

impl Catalog {
    /// The endpoint's models, or `None` when the engine does not know them (no key for
    /// Anthropic's API, the endpoint unreachable or without a model list).
    pub async fn endpoint_models(&self, endpoint: &ModelEndpoint) -> Models {
        let mut read = self.read.lock().await;
        if let Some((at, models)) = &*read
            && at.elapsed() < if models.is_some() { FRESH } else { RETRY }
        {
            return models.clone();
        }
        let models = if endpoint.needs_key() && !endpoint.has_key() {
            None
        } else {
            match tokio::time::timeout(READ_TIMEOUT, fetch(endpoint)).await {
                Ok(Ok(models)) => Some(Arc::new(models)),
                Ok(Err(error)) => {
                    tracing::warn!(url = %endpoint.url, "the model endpoint's model list could not be read: {error}");
                    None
                }
                Err(_) => {
                    tracing::warn!(url = %endpoint.url, "the model endpoint's model list took longer than 5 s; going on without it");
                    None
                }
            }
        };
        *read = Some((Instant::now(), models.clone()));
        models
    }

    /// Every model the engine can run, newest first after `scripted`.
    pub async fn models(&self, endpoint: &ModelEndpoint) -> Vec<Value> {
        let mut all = vec![scripted()];
        if let Some(models) = self.endpoint_models(endpoint).await {
            all.extend(models.iter().filter(|m| m["id"] != SCRIPTED_MODEL).cloned());
        }
        all
    }

    /// What the engine knows of `id`: `Some(Some(info))` when listed, `Some(None)` when the list
    /// is known and does not hold it, `None` when the list is not known.
    pub async fn lookup(&self, endpoint: &ModelEndpoint, id: &str) -> Option<Option<Value>> {
        if id == SCRIPTED_MODEL {
            return Some(Some(scripted()));
        }
        let models = self.endpoint_models(endpoint).await?;
        Some(models.iter().find(|m| m["id"] == id).cloned())
    }
}

/// Reads every page of the endpoint's `GET /v1/models`.
async fn fetch(endpoint: &ModelEndpoint) -> Result<Vec<Value>, ListUnread> {
    let mut models = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..20 {
        let mut query = vec![("limit", "1000".to_owned())];
        if let Some(after) = &after {
            query.push(("after_id", after.clone()));
        }
        let response = endpoint
            .request(reqwest::Method::GET, "/v1/models")
            .query(&query)
            .send()
            .await
            .map_err(|e| ListUnread::Request(e.without_url()))?;
        if !response.status().is_success() {
            return Err(ListUnread::Status(response.status()));
        }
        let page: Value = response.json().await.map_err(|e| ListUnread::Request(e.without_url()))?;
        let data = page["data"].as_array().cloned().unwrap_or_default();
        models.extend(data.into_iter().filter(|m| m["id"].is_string()));
        match (page["has_more"].as_bool(), page["last_id"].as_str()) {
            (Some(true), Some(last)) => after = Some(last.to_owned()),
            _ => return Ok(models),
        }
    }
    Ok(models)
}
