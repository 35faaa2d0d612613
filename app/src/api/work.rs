//! A self-hosted environment's work queue as the console sees it: its stats, an item found by its
//! id, stopping an item and labelling it. The API lists an environment's items only to its
//! environment key, which the console never holds: the console reads what the API key reaches
//! (stats, one item by id, stop, metadata).

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;
use serde::{Deserialize, Serialize};

pub use domain::work::EnvironmentKeyRow;
#[cfg(feature = "ssr")]
pub use domain::work::keys;

use super::JsonResponse;
#[cfg(feature = "ssr")]
use super::server::{segment, upstream};
use crate::error::AppError;

/// An environment's queue at a glance, and how to start a worker for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkQueue {
    /// Items waiting for a worker.
    pub depth: i64,
    /// Items a worker polled and has not acknowledged yet.
    pub pending: i64,
    pub oldest_queued_at: Option<String>,
    /// Workers that polled in the last 30 seconds (the API counts those that send their id).
    pub workers_polling: Option<i64>,
    /// The command that starts a worker for this environment, filled in.
    pub command: String,
    /// Whether the upstream is the embedded engine (an admin issues its keys here, or with
    /// `switchboard engine environment-key`).
    pub embedded: bool,
    /// The environment's keys, without their values: for an admin, on the embedded engine.
    pub keys: Option<Vec<EnvironmentKeyRow>>,
}

/// One work item: which session, where it stands, its lease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkItem {
    pub id: String,
    pub environment_id: String,
    /// `session`, or `healthcheck`.
    pub kind: String,
    pub session_id: Option<String>,
    /// queued, starting, active, stopping or stopped.
    pub state: String,
    pub created_at: String,
    pub acknowledged_at: Option<String>,
    pub started_at: Option<String>,
    pub latest_heartbeat_at: Option<String>,
    pub stop_requested_at: Option<String>,
    pub stopped_at: Option<String>,
    /// Its metadata, sorted by key.
    pub metadata: Vec<(String, String)>,
}

#[cfg(feature = "ssr")]
impl WorkItem {
    fn of(work: &serde_json::Value) -> Self {
        let text = |key: &str| work[key].as_str().map(str::to_owned);
        let mut metadata: Vec<(String, String)> = work["metadata"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect();
        metadata.sort();
        Self {
            id: text("id").unwrap_or_default(),
            environment_id: text("environment_id").unwrap_or_default(),
            kind: work["data"]["type"].as_str().unwrap_or("session").to_owned(),
            session_id: work["data"]["id"].as_str().map(str::to_owned),
            state: text("state").unwrap_or_default(),
            created_at: text("created_at").unwrap_or_default(),
            acknowledged_at: text("acknowledged_at"),
            started_at: text("started_at"),
            latest_heartbeat_at: text("latest_heartbeat_at"),
            stop_requested_at: text("stop_requested_at"),
            stopped_at: text("stopped_at"),
            metadata,
        }
    }
}

/// A self-hosted environment with sessions waiting for a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitingQueue {
    pub environment_id: String,
    pub name: String,
    /// Sessions waiting for a worker to take them.
    pub depth: i64,
    /// Workers that polled in the last 30 seconds, as the API reports it.
    pub workers_polling: Option<i64>,
}

impl WaitingQueue {
    /// The notice the sessions list shows, e.g. "2 sessions wait for a worker on fleet: no worker
    /// polled it in the last 30 seconds."
    pub fn words(&self) -> String {
        let sessions =
            if self.depth == 1 { "1 session waits".to_owned() } else { format!("{} sessions wait", self.depth) };
        let workers = match self.workers_polling {
            Some(0) => ": no worker polled it in the last 30 seconds; start one".to_owned(),
            Some(n) => format!(" ({n} polling; each takes them as it has room)"),
            None => String::new(),
        };
        format!("{sessions} for a worker on {}{workers}.", self.name)
    }
}

/// The worker's command line for an environment: the key goes in the environment, never on the
/// command line. The base URL is shown to admins only (the embedded engine's is a loopback port);
/// others see a placeholder.
pub fn worker_command(environment_id: &str, base_url: &str) -> String {
    let base = if base_url.is_empty() { "<the API's base URL>" } else { base_url };
    format!(
        "export ANTHROPIC_ENVIRONMENT_KEY=<the environment key>\nswitchboard worker --environment {environment_id} --base-url {base} --concurrency 4"
    )
}

#[access(Viewer)]
#[server(endpoint = "work/queue", input = GetUrl, output = JsonResponse)]
pub async fn get_work_queue(environment_id: String) -> Result<WorkQueue, AppError> {
    let id = segment(&environment_id)?;
    let stats: serde_json::Value = upstream()?
        .get(&format!("/v1/environments/{id}/work/stats"), vec![])
        .await
        .map_err(|e| AppError::upstream("Reading the environment's work queue", e))?;
    // The base URL only for admins (the summary leaves it out for others).
    let summary = super::upstream::get_upstream_summary().await?;
    let base_url = summary.base_url.clone();
    // The keys come with the queue, for an admin: one resource for the panel (a second, made in
    // it, is matched with another's data while the page hydrates).
    let admin = crate::auth::store::principal().is_some_and(|p| p.can(crate::auth::Role::Admin));
    let keys = match leptos::prelude::use_context::<keys::EnvironmentKeysHandle>() {
        Some(keys) if admin => Some(keys.0.list(id.clone()).await?),
        _ => None,
    };
    Ok(WorkQueue {
        depth: stats["depth"].as_i64().unwrap_or(0),
        pending: stats["pending"].as_i64().unwrap_or(0),
        oldest_queued_at: stats["oldest_queued_at"].as_str().map(str::to_owned),
        workers_polling: stats["workers_polling"].as_i64(),
        command: worker_command(&id, &base_url),
        embedded: summary.mode == crate::upstream::UpstreamMode::Embedded,
        keys,
    })
}

/// The self-hosted environments (of the first 100) whose queues hold sessions no worker has taken.
#[access(Viewer)]
#[server(endpoint = "work/waiting", input = GetUrl, output = JsonResponse)]
pub async fn get_waiting_queues() -> Result<Vec<WaitingQueue>, AppError> {
    let api = upstream()?;
    // Read at most every 15 s per upstream: the API limits environment calls (60 a minute by its
    // documentation), and every load of the sessions list asks.
    let upstream_id = std::sync::Arc::as_ptr(&api.0) as *const () as usize;
    if let Some(fresh) = waiting_cache::get(upstream_id) {
        return Ok(fresh);
    }
    let query = vec![("limit".to_owned(), "100".to_owned())];
    let environments: serde_json::Value =
        api.get("/v1/environments", query).await.map_err(|e| AppError::upstream("Listing environments", e))?;
    let mut waiting = Vec::new();
    let hosted = environments["data"].as_array().into_iter().flatten().filter(|e| e["config"]["type"] == "self_hosted");
    for environment in hosted {
        let id = environment["id"].as_str().unwrap_or_default();
        let stats: serde_json::Value = api
            .get(&format!("/v1/environments/{}/work/stats", segment(id)?), vec![])
            .await
            .map_err(|e| AppError::upstream("Reading a work queue", e))?;
        let depth = stats["depth"].as_i64().unwrap_or(0);
        if depth > 0 {
            waiting.push(WaitingQueue {
                environment_id: id.to_owned(),
                name: environment["name"].as_str().unwrap_or(id).to_owned(),
                depth,
                workers_polling: stats["workers_polling"].as_i64(),
            });
        }
    }
    waiting_cache::put(upstream_id, waiting.clone());
    Ok(waiting)
}

/// The last answer of [`get_waiting_queues`] per upstream, for 15 seconds.
#[cfg(feature = "ssr")]
mod waiting_cache {
    use std::{
        collections::HashMap,
        sync::Mutex,
        time::{Duration, Instant},
    };

    use super::WaitingQueue;

    const FRESH: Duration = Duration::from_secs(15);
    /// Per upstream: when it was read, and what it said.
    type Answers = HashMap<usize, (Instant, Vec<WaitingQueue>)>;
    static CACHE: Mutex<Option<Answers>> = Mutex::new(None);

    pub fn get(upstream: usize) -> Option<Vec<WaitingQueue>> {
        let cache = CACHE.lock().ok()?;
        let (at, queues) = cache.as_ref()?.get(&upstream)?;
        (at.elapsed() < FRESH).then(|| queues.clone())
    }

    pub fn put(upstream: usize, queues: Vec<WaitingQueue>) {
        if let Ok(mut cache) = CACHE.lock() {
            let cache = cache.get_or_insert_with(HashMap::new);
            cache.retain(|_, (at, _)| at.elapsed() < FRESH);
            cache.insert(upstream, (Instant::now(), queues));
        }
    }
}

/// Issues a key for a self-hosted environment of the embedded engine and answers it: the one time
/// it is shown (the engine keeps its hash). Against Anthropic's API, keys come from its console.
#[access(Admin)]
#[server(endpoint = "work/key", output = JsonResponse)]
pub async fn issue_environment_key(environment_id: String) -> Result<String, AppError> {
    let id = segment(&environment_id)?;
    let Some(keys) = leptos::prelude::use_context::<keys::EnvironmentKeysHandle>() else {
        return Err(AppError::bad_input(
            "environment_id",
            "This Switchboard's upstream is Anthropic's API: environment keys come from Anthropic's console.",
        ));
    };
    let key = keys.0.issue(id.clone()).await?;
    // The audit entry names the environment, never the key.
    crate::auth::store::note(serde_json::json!({ "environment_id": id }));
    Ok(key)
}

/// The keys of a self-hosted environment of the embedded engine, newest last, revoked ones
/// too; without their values. Against Anthropic's API, keys are Anthropic's console's: `None`.
#[access(Admin)]
#[server(endpoint = "work/keys", input = GetUrl, output = JsonResponse)]
pub async fn list_environment_keys(environment_id: String) -> Result<Option<Vec<EnvironmentKeyRow>>, AppError> {
    let id = segment(&environment_id)?;
    let Some(keys) = leptos::prelude::use_context::<keys::EnvironmentKeysHandle>() else { return Ok(None) };
    keys.0.list(id).await.map(Some)
}

/// Revokes one key of an environment of the embedded engine: the next request that sends it
/// is refused (401), whatever it was doing.
#[access(Admin)]
#[server(endpoint = "work/keys/revoke", output = JsonResponse)]
pub async fn revoke_environment_key(environment_id: String, key_id: String) -> Result<EnvironmentKeyRow, AppError> {
    let (id, key_id) = (segment(&environment_id)?, segment(&key_id)?);
    let Some(keys) = leptos::prelude::use_context::<keys::EnvironmentKeysHandle>() else {
        return Err(AppError::bad_input(
            "key_id",
            "This Switchboard's upstream is Anthropic's API: its environment keys are revoked in Anthropic's console.",
        ));
    };
    let key = keys.0.revoke(id.clone(), key_id.clone()).await?;
    crate::auth::store::note(serde_json::json!({ "environment_id": id, "key_id": key_id }));
    Ok(key)
}

#[access(Viewer)]
#[server(endpoint = "work/get", input = GetUrl, output = JsonResponse)]
pub async fn get_work_item(environment_id: String, work_id: String) -> Result<WorkItem, AppError> {
    item_call(&environment_id, &work_id, "", None, "Finding").await
}

/// Stops an item: gracefully (its worker sees `stopping` at its next heartbeat and lets it go)
/// or at once (`force`).
#[access(Operator)]
#[server(endpoint = "work/stop", output = JsonResponse)]
pub async fn stop_work_item(environment_id: String, work_id: String, force: bool) -> Result<WorkItem, AppError> {
    let body = if force { serde_json::json!({ "force": true }) } else { serde_json::json!({}) };
    item_call(&environment_id, &work_id, "/stop", Some(body), "Stopping").await
}

/// Sets one metadata key of an item, or removes it (an empty value).
#[access(Operator)]
#[server(endpoint = "work/label", output = JsonResponse)]
pub async fn label_work_item(
    environment_id: String,
    work_id: String,
    key: String,
    value: String,
) -> Result<WorkItem, AppError> {
    let key = key.trim();
    if key.is_empty() || key.chars().count() > 64 {
        return Err(AppError::bad_input("key", "A metadata key is 1 to 64 characters; nothing was changed."));
    }
    let value = value.trim();
    let patch = if value.is_empty() { serde_json::Value::Null } else { serde_json::json!(value) };
    let body = serde_json::json!({ "metadata": { key: patch } });
    item_call(&environment_id, &work_id, "", Some(body), "Labelling").await
}

/// A call on one item (`/v1/environments/{env}/work/{work}` and `suffix`): a GET without a body,
/// a POST with one; the item it answers, or what `action` ("Stopping") could not do.
#[cfg(feature = "ssr")]
async fn item_call(
    environment_id: &str,
    work_id: &str,
    suffix: &str,
    body: Option<serde_json::Value>,
    action: &str,
) -> Result<WorkItem, AppError> {
    let (env, work) = (segment(environment_id)?, segment(work_id)?);
    let path = format!("/v1/environments/{env}/work/{work}{suffix}");
    let api = upstream()?;
    let answer = match body {
        None => api.get::<serde_json::Value>(&path, vec![]).await,
        Some(body) => api.post::<serde_json::Value>(&path, &body).await,
    };
    answer.map(|w| WorkItem::of(&w)).map_err(|e| AppError::upstream(&format!("{action} work item {work}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_command_names_the_environment_and_keeps_the_key_off_the_command_line() {
        let command = worker_command("env_1", "http://127.0.0.1:4010");
        assert!(command.contains("--environment env_1 --base-url http://127.0.0.1:4010"));
        assert!(command.starts_with("export ANTHROPIC_ENVIRONMENT_KEY="));
        assert!(!command.contains("--environment-key"));
        assert!(worker_command("env_1", "").contains("<the API's base URL>"));
    }

    #[test]
    fn a_waiting_queue_says_how_many_sessions_wait_and_whether_a_worker_polls() {
        let queue = |depth, polling| WaitingQueue {
            environment_id: "env_1".into(),
            name: "fleet".into(),
            depth,
            workers_polling: polling,
        };
        assert_eq!(
            queue(2, Some(0)).words(),
            "2 sessions wait for a worker on fleet: no worker polled it in the last 30 seconds; start one."
        );
        assert_eq!(
            queue(1, Some(3)).words(),
            "1 session waits for a worker on fleet (3 polling; each takes them as it has room)."
        );
    }
}
