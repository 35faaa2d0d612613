//! The webhooks the engine sends, as Managed Agents does (wire reference §6.4): a thin, signed
//! notification to one URL when a session changes, so that a client need not poll to learn it.
//!
//! A standalone engine sends them when `SWITCHBOARD_ENGINE_WEBHOOK_URL` and
//! `SWITCHBOARD_ENGINE_WEBHOOK_SECRET` (a `whsec_…` signing secret, [`generate_secret`]) are both
//! set; the console wires its embedded engine to itself. Each is one JSON object,
//! `{"type": "event", "id", "created_at", "data": {"type", "id", "organization_id",
//! "workspace_id"}}` (and `session_thread_id` for a thread's), with the Standard Webhooks headers
//! `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
//! `id.timestamp.body` under the secret): what the official SDK's `client.beta.webhooks.unwrap`
//! verifies.
//!
//! What is sent ([`SENT`]): for a session, from the events its log gets ([`kinds_of`]):
//!
//! | event                                         | webhook `data.type`                                  |
//! |-----------------------------------------------|------------------------------------------------------|
//! | `session.status_running`                      | `session.status_run_started`, `session.running`      |
//! | `session.status_idle`                         | `session.status_idled`, `session.idled`, and by its stop reason `session.requires_action` or `session.budget_reached` |
//! | `session.status_rescheduled`                  | `session.status_rescheduled`                         |
//! | `session.status_terminated`                   | `session.status_terminated`                          |
//! | `session.updated`                             | `session.updated`                                    |
//! | `session.thread_created`                      | `session.thread_created`                             |
//! | `session.thread_status_idle`                  | `session.thread_idled`                               |
//! | `session.thread_status_terminated`            | `session.thread_terminated`                          |
//! | `span.outcome_evaluation_end`                 | `session.outcome_evaluation_ended`                   |
//!
//! and from the changes the engine makes ([`EngineState::announce`]): `session.created`,
//! `session.pending` (a self-hosted session's work is queued for a worker), `session.archived`,
//! `session.deleted`; `agent.created`, `agent.updated` (a new version), `agent.archived`;
//! `environment.created`, `environment.updated` (a field changed), `environment.archived`,
//! `environment.deleted`; `memory_store.created`, `memory_store.archived`,
//! `memory_store.deleted`; `vault.created`, `vault.archived`, `vault.deleted` (each also
//! `vault_credential.archived` or `.deleted` for every credential it takes with it);
//! `vault_credential.created`, `.archived`, `.deleted`, `.refresh_failed` (an `mcp_oauth` access
//! token could not be refreshed; each with `vault_id`); `deployment.created`,
//! `.updated`, `.paused` (by request or by a scheduled run's error), `.unpaused`, `.archived`;
//! `deployment_run.started` then `.succeeded` or `.failed` for a scheduled run (a manual run
//! sends none, as the API). Archiving again, or an update that changes nothing, sends nothing.
//!
//! They leave from a queue of their own, in order. Each is tried [`ATTEMPTS`] times on a network
//! error, a 429 or a 5xx (1 s, then 5 s apart) and dropped with a warning after that or on any
//! other 4xx; past [`QUEUE`] waiting, new ones are dropped with a warning. A receiver cannot rely
//! on webhooks alone (neither can it with Anthropic's): the console keeps polling, slower.

use std::time::Duration;

use base64::Engine as _;
use protocol::events::types;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::{
    config::{ConfigError, WebhookProblem},
    ids,
};

/// How many notifications may wait to be sent.
pub const QUEUE: usize = 4096;
/// How many times one is tried.
pub const ATTEMPTS: usize = 3;
const BACKOFF: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(5)];
const TIMEOUT: Duration = Duration::from_secs(10);
/// The engine has no organizations or workspaces; these stand for its own.
const ORGANIZATION: &str = "org_switchboard_engine";
const WORKSPACE: &str = "wrkspc_switchboard_engine";

/// Where the engine's webhooks go, and the secret they are signed with (never logged: its
/// `Debug` leaves it out).
#[derive(Clone)]
pub struct WebhookTarget {
    url: String,
    secret: String,
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget").field("url", &self.url).field("secret", &"whsec_…").finish()
    }
}

impl WebhookTarget {
    /// A target, or what is wrong with the URL or the secret.
    pub fn new(url: &str, secret: &str) -> Result<Self, WebhookProblem> {
        let parsed = reqwest::Url::parse(url).map_err(|_| WebhookProblem::NotAUrl { url: url.to_owned() })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(WebhookProblem::NotWeb { url: url.to_owned() });
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(WebhookProblem::UserInUrl);
        }
        let key = secret.strip_prefix("whsec_").unwrap_or(secret);
        match base64::engine::general_purpose::STANDARD.decode(key) {
            Ok(bytes) if bytes.len() >= 16 => {}
            _ => return Err(WebhookProblem::WeakSecret),
        }
        Ok(Self { url: url.to_owned(), secret: secret.to_owned() })
    }

    /// From `SWITCHBOARD_ENGINE_WEBHOOK_URL` and `SWITCHBOARD_ENGINE_WEBHOOK_SECRET`: both, or
    /// neither (no webhooks).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        match (var("SWITCHBOARD_ENGINE_WEBHOOK_URL"), var("SWITCHBOARD_ENGINE_WEBHOOK_SECRET")) {
            (None, None) => Ok(None),
            (Some(url), Some(secret)) => Self::new(url.trim(), secret.trim()).map(Some).map_err(ConfigError::Webhook),
            (Some(_), None) => Err(ConfigError::WebhookUrlWithoutSecret),
            (None, Some(_)) => Err(ConfigError::WebhookSecretWithoutUrl),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

/// A new signing secret: `whsec_` and the base64 of 32 random bytes.
pub fn generate_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Every webhook `data.type` the engine sends: 42 of the 49 the API's webhook union knows. Not
/// sent: `user_profile.*` and `external_key.*` (nothing the engine serves), `agent.deleted` and
/// `deployment.deleted` (the API has no method that deletes either).
pub const SENT: [&str; 42] = [
    "session.created",
    "session.pending",
    "session.status_run_started",
    "session.running",
    "session.status_idled",
    "session.idled",
    "session.requires_action",
    "session.budget_reached",
    "session.status_rescheduled",
    "session.status_terminated",
    "session.updated",
    "session.archived",
    "session.deleted",
    "session.thread_created",
    "session.thread_idled",
    "session.thread_terminated",
    "session.outcome_evaluation_ended",
    "agent.created",
    "agent.updated",
    "agent.archived",
    "environment.created",
    "environment.updated",
    "environment.archived",
    "environment.deleted",
    "memory_store.created",
    "memory_store.archived",
    "memory_store.deleted",
    "vault.created",
    "vault.archived",
    "vault.deleted",
    "vault_credential.created",
    "vault_credential.archived",
    "vault_credential.deleted",
    "vault_credential.refresh_failed",
    "deployment.created",
    "deployment.updated",
    "deployment.paused",
    "deployment.unpaused",
    "deployment.archived",
    "deployment_run.started",
    "deployment_run.succeeded",
    "deployment_run.failed",
];

/// The webhook `data.type`s an appended event calls for, in the order they are sent.
pub fn kinds_of(event: &Value) -> Vec<&'static str> {
    let Some(kind) = event["type"].as_str() else { return Vec::new() };
    match kind {
        types::SESSION_STATUS_RUNNING => vec!["session.status_run_started", "session.running"],
        types::SESSION_STATUS_IDLE => {
            let mut kinds = vec!["session.status_idled", "session.idled"];
            match event["stop_reason"]["type"].as_str() {
                Some("requires_action") => kinds.push("session.requires_action"),
                Some("budget_reached") => kinds.push("session.budget_reached"),
                _ => {}
            }
            kinds
        }
        types::SESSION_STATUS_RESCHEDULED => vec!["session.status_rescheduled"],
        types::SESSION_STATUS_TERMINATED => vec!["session.status_terminated"],
        types::SESSION_UPDATED => vec!["session.updated"],
        types::SESSION_THREAD_CREATED => vec!["session.thread_created"],
        types::SESSION_THREAD_STATUS_IDLE => vec!["session.thread_idled"],
        types::SESSION_THREAD_STATUS_TERMINATED => vec!["session.thread_terminated"],
        types::SPAN_OUTCOME_EVALUATION_END => vec!["session.outcome_evaluation_ended"],
        _ => Vec::new(),
    }
}

/// One webhook, ready to sign and send.
#[derive(Debug)]
struct Notification {
    id: String,
    body: String,
}

/// The engine's sender: a queue and the task that empties it.
#[derive(Debug)]
pub struct Webhooks {
    queue: mpsc::Sender<Notification>,
    /// How many were dropped for a full queue (warned at 1, 2, 4, 8…, not at each).
    dropped: std::sync::atomic::AtomicU64,
    /// Sessions told `session.budget_reached` for the budget they have: the API sends it once
    /// per budget value, and a change of budget (`session.updated` with `budget`) arms it again.
    /// Kept in memory: after a restart a session may be told once more.
    budget_told: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Webhooks {
    /// Starts sending to `target`. Needs a tokio runtime.
    pub fn start(target: WebhookTarget) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE);
        tokio::spawn(send_all(target, waiting));
        Self::queued_to(queue)
    }

    fn queued_to(queue: mpsc::Sender<Notification>) -> Self {
        Self { queue, dropped: std::sync::atomic::AtomicU64::new(0), budget_told: Default::default() }
    }

    /// Queues the webhooks `event` (appended to `session_id`'s log) calls for, if any.
    pub fn notify(&self, session_id: &str, event: &Value) {
        if event["type"] == types::SESSION_UPDATED && event.get("budget").is_some() {
            self.budget_told.lock().expect("budget lock").remove(session_id);
        }
        for kind in kinds_of(event) {
            if kind == "session.budget_reached"
                && !self.budget_told.lock().expect("budget lock").insert(session_id.to_owned())
            {
                continue;
            }
            let thread = event["session_thread_id"].as_str().filter(|_| kind.starts_with("session.thread_"));
            self.send(kind, session_id, thread.map(|t| ("session_thread_id", t)));
        }
    }

    /// Queues the webhook `kind` about the resource `id`, with one more field of `data` when the
    /// type has one (`session_thread_id`, `vault_id`).
    pub fn send(&self, kind: &'static str, id: &str, extra: Option<(&'static str, &str)>) {
        debug_assert!(SENT.contains(&kind), "{kind} is not a webhook type the engine sends");
        if kind == "session.deleted" || kind == "session.archived" {
            self.budget_told.lock().expect("budget lock").remove(id);
        }
        let webhook_id = ids::new_id("wevt");
        let mut data = json!({ "type": kind, "id": id, "organization_id": ORGANIZATION, "workspace_id": WORKSPACE });
        if let Some((field, value)) = extra {
            data[field] = json!(value);
        }
        let body =
            json!({ "type": "event", "id": webhook_id, "created_at": ids::now().text, "data": data }).to_string();
        if self.queue.try_send(Notification { id: webhook_id, body }).is_err() {
            let dropped = self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(%kind, "{dropped} webhook(s) dropped so far: {QUEUE} are waiting to be sent");
            }
        }
    }
}

impl crate::EngineState {
    /// Sends the webhook `kind` about the resource `id`, when the engine sends webhooks.
    pub(crate) fn announce(&self, kind: &'static str, id: &str) {
        if let Some(webhooks) = &self.webhooks {
            webhooks.send(kind, id, None);
        }
    }

    /// Sends the webhook `kind` (`vault_credential.…`) about credential `id` of `vault_id`.
    pub(crate) fn announce_credential(&self, kind: &'static str, vault_id: &str, id: &str) {
        if let Some(webhooks) = &self.webhooks {
            webhooks.send(kind, id, Some(("vault_id", vault_id)));
        }
    }
}

async fn send_all(target: WebhookTarget, mut waiting: mpsc::Receiver<Notification>) {
    let client = match crate::http_client::builder().timeout(TIMEOUT).build() {
        Ok(client) => client,
        Err(error) => {
            tracing::error!("the engine's webhooks cannot be sent: {error}");
            return;
        }
    };
    let signer = match standardwebhooks::Webhook::new(&target.secret) {
        Ok(signer) => signer,
        Err(_) => {
            tracing::error!("the engine's webhooks cannot be sent: the signing secret is not valid base64");
            return;
        }
    };
    while let Some(notification) = waiting.recv().await {
        for attempt in 0..ATTEMPTS {
            // Signed at each attempt: a retry carries a fresh timestamp, as receivers refuse stale ones.
            let timestamp = time_now();
            let Ok(signature) = signer.sign(&notification.id, timestamp, notification.body.as_bytes()) else {
                break;
            };
            let sent = client
                .post(&target.url)
                .header("content-type", "application/json")
                .header(standardwebhooks::HEADER_WEBHOOK_ID, &notification.id)
                .header(standardwebhooks::HEADER_WEBHOOK_TIMESTAMP, timestamp.to_string())
                .header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature)
                .body(notification.body.clone())
                .send()
                .await;
            let why = match sent {
                Ok(response) if response.status().is_success() => break,
                Ok(response) => {
                    let status = response.status();
                    if status.is_client_error() && status.as_u16() != 429 {
                        tracing::warn!(url = %target.url, %status, "a webhook was refused; it is not sent again");
                        break;
                    }
                    format!("answered {status}")
                }
                Err(error) => error.without_url().to_string(),
            };
            match BACKOFF.get(attempt) {
                Some(wait) if attempt + 1 < ATTEMPTS => tokio::time::sleep(*wait).await,
                _ => {
                    tracing::warn!(url = %target.url, "a webhook could not be delivered after {ATTEMPTS} attempts: {why}")
                }
            }
        }
    }
}

fn time_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_map_to_the_apis_webhook_types() {
        let idle = |reason: &str| json!({ "type": "session.status_idle", "stop_reason": { "type": reason } });
        let idled = ["session.status_idled", "session.idled"];
        assert_eq!(kinds_of(&idle("requires_action")), [&idled[..], &["session.requires_action"]].concat());
        assert_eq!(kinds_of(&idle("budget_reached")), [&idled[..], &["session.budget_reached"]].concat());
        assert_eq!(kinds_of(&idle("end_turn")), idled);
        assert_eq!(
            kinds_of(&json!({ "type": "session.status_running" })),
            ["session.status_run_started", "session.running"]
        );
        assert_eq!(kinds_of(&json!({ "type": "session.thread_status_idle" })), ["session.thread_idled"]);
        assert_eq!(kinds_of(&json!({ "type": "session.updated", "title": "t" })), ["session.updated"]);
        assert!(kinds_of(&json!({ "type": "agent.message" })).is_empty());
        // No type is listed twice (the SDK test checks each is one the API knows).
        let mut sorted = SENT.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), SENT.len());
    }

    #[test]
    fn budget_reached_is_sent_once_per_budget_value() {
        let (queue, mut sent) = mpsc::channel(64);
        let webhooks = Webhooks::queued_to(queue);
        let stop = json!({ "type": "session.status_idle", "stop_reason": { "type": "budget_reached" } });
        webhooks.notify("sesn_1", &stop);
        webhooks.notify("sesn_1", &stop);
        webhooks.notify("sesn_2", &stop);
        webhooks.notify("sesn_1", &json!({ "type": "session.updated", "budget": { "type": "limit" } }));
        webhooks.notify("sesn_1", &stop);
        let mut told = Vec::new();
        while let Ok(notification) = sent.try_recv() {
            let body: Value = serde_json::from_str(&notification.body).unwrap();
            if body["data"]["type"] == "session.budget_reached" {
                told.push(body["data"]["id"].as_str().unwrap().to_owned());
            }
        }
        assert_eq!(told, ["sesn_1", "sesn_2", "sesn_1"], "again only after the budget changed");
    }

    #[test]
    fn targets_need_a_web_url_and_a_real_secret_and_never_show_it() {
        let secret = generate_secret();
        let target = WebhookTarget::new("http://127.0.0.1:3000/webhooks/anthropic", &secret).unwrap();
        assert!(!format!("{target:?}").contains(&secret[6..]), "{target:?}");
        let refused = |url: &str, secret: &str| WebhookTarget::new(url, secret).unwrap_err();
        assert_eq!(refused("ftp://example.com/", &secret), WebhookProblem::NotWeb { url: "ftp://example.com/".into() });
        assert_eq!(refused("https://u:p@example.com/", &secret), WebhookProblem::UserInUrl);
        assert_eq!(refused("https://example.com/", "whsec_c2hvcnQ="), WebhookProblem::WeakSecret);
        let var = |name: &str| (name == "SWITCHBOARD_ENGINE_WEBHOOK_URL").then(|| "https://example.com/".to_owned());
        assert_eq!(WebhookTarget::from_env(var).unwrap_err(), ConfigError::WebhookUrlWithoutSecret);
        let both = |name: &str| {
            Some(if name == "SWITCHBOARD_ENGINE_WEBHOOK_URL" { "example.com" } else { secret.as_str() }.to_owned())
        };
        // What the operator reads at start: the variables, then what is wrong.
        assert_eq!(
            WebhookTarget::from_env(both).unwrap_err().to_string(),
            "SWITCHBOARD_ENGINE_WEBHOOK_*: \"example.com\" is not a URL"
        );
        assert!(WebhookTarget::from_env(|_| None).unwrap().is_none());
    }
}
