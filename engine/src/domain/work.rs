//! Self-hosted environments: the work queue workers poll, the leases they hold, and the
//! credentials they use (environment keys, and the sessions tokens poll hands out).
//!
//! A session on a self-hosted environment queues a work item when it is created and when it gets
//! input while no item of its own is live (queued, starting or active). A worker polls the
//! environment's queue with its environment key, acks the item, and heartbeats a lease; the model
//! turns run here, and the session's built-in tool calls wait for the worker's `user.tool_result`.
//! A lease that is not renewed in time is lost: the item goes back to the queue (its heartbeat
//! cleared, so the old worker's next beat gets a 412) and the next poll hands it to another
//! worker, who finds the calls left unanswered when it reads the session's history. Wire shapes:
//! the reference's `self-hosted-work.md`.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use super::{Paging, body_of};
use crate::{
    EngineState,
    error::{ApiError, ApiResult},
    ids::{new_id, now, secret},
    store::{
        Filter, Store, json as json_text,
        work::{self as rows, KeyRow, LiveKey, LiveToken, NewToken, WorkRow},
    },
};
use axum::http::StatusCode;
use base64::Engine as _;
use protocol::{
    common::{Metadata, MetadataPatch},
    error::ErrorType,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// What a worker sends as `expected_last_heartbeat` before its first beat.
pub const NO_HEARTBEAT: &str = "NO_HEARTBEAT";
/// How long a poller counts in `workers_polling` after its last poll.
const POLLING_WINDOW: Duration = Duration::from_secs(30);
/// The longest lease a heartbeat may ask for (`desired_ttl_seconds`).
const MAX_LEASE_SECONDS: u64 = 3600;

/// Who a request comes from, by the credential it sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The engine's API key: every endpoint but the worker's own (list and poll of work).
    Api,
    /// An environment key (`key_id`): that environment's queue, and the sessions it runs.
    Environment { environment_id: String, key_id: String },
    /// A work item's sessions token: that item's heartbeat and stop, and its session.
    Work { work_id: String, session_id: String, environment_id: String },
    /// The token an item's previous holder had, before its lease ran out or another poll took
    /// the item: it reaches nothing, but its heartbeat is answered with the 412 that tells the old
    /// worker to walk away (as the API answers it).
    Superseded { work_id: String, environment_id: String },
}

/// The queue's live part: what wakes blocked polls, who polled lately, and the last superseded
/// token of each item.
#[derive(Default)]
pub struct Queue {
    queued: tokio::sync::Notify,
    pollers: Mutex<HashMap<(String, String), Instant>>,
    /// Token hash → (item, environment, when it was superseded): one per item, for a while.
    superseded: Mutex<HashMap<String, (String, String, Instant)>>,
}

/// How long a superseded token's heartbeat is still told 412 (after that, 401).
const SUPERSEDED_FOR: Duration = Duration::from_secs(600);

impl Queue {
    /// Remembers `hash`, the token `work_id`'s last holder had, in place of an older one.
    fn supersede(&self, hash: String, work_id: &str, environment_id: &str) {
        let mut superseded = self.superseded.lock().expect("superseded lock");
        superseded.retain(|_, (work, _, at)| work != work_id && at.elapsed() < SUPERSEDED_FOR);
        superseded.insert(hash, (work_id.to_owned(), environment_id.to_owned(), Instant::now()));
    }

    fn superseded(&self, hash: &str) -> Option<(String, String)> {
        let superseded = self.superseded.lock().expect("superseded lock");
        let (work, env, at) = superseded.get(hash)?;
        (at.elapsed() < SUPERSEDED_FOR).then(|| (work.clone(), env.clone()))
    }

    fn saw_poller(&self, environment_id: &str, worker_id: &str) {
        let mut pollers = self.pollers.lock().expect("pollers lock");
        pollers.retain(|_, at| at.elapsed() < POLLING_WINDOW);
        pollers.insert((environment_id.to_owned(), worker_id.to_owned()), Instant::now());
    }

    fn polling(&self, environment_id: &str) -> usize {
        let pollers = self.pollers.lock().expect("pollers lock");
        pollers.iter().filter(|((env, _), at)| env == environment_id && at.elapsed() < POLLING_WINDOW).count()
    }
}

/// The SHA-256 of a credential, as the store keeps it.
fn hash(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

/// A work item's `secret` as poll hands it out: unpadded base64url of `{"sessions_token": …}`.
pub fn secret_of(sessions_token: &str) -> String {
    let text = json!({ "sessions_token": sessions_token }).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// A heartbeat that does not match the item's lease: 412, as the API answers it (its details as
/// the SDK's `BetaHeartbeatPreconditionFailedErrorDetails` declares them).
fn precondition_failed(message: String, state: &str, last_heartbeat: Option<&str>, lease: u64) -> ApiError {
    ApiError::new(StatusCode::PRECONDITION_FAILED, ErrorType::InvalidRequestError, message)
        .with_code("heartbeat_precondition_failed")
        .with_detail(
            "current_state",
            json!({
                "state": state,
                "last_heartbeat": last_heartbeat,
                "lease_extended": false,
                "ttl_seconds": lease,
            }),
        )
}

/// A new key for a self-hosted environment; only its hash is kept, so this is the one time it
/// is seen. Written straight to the store, so that `switchboard engine environment-key` can make
/// one beside a running engine.
pub async fn issue_environment_key(store: &Store, environment_id: &str) -> ApiResult<String> {
    let (archived, body) = store.archivable("environments", "environment", environment_id).await?;
    if body["config"]["type"] != "self_hosted" {
        return Err(ApiError::invalid(format!(
            "Environment {environment_id} is a cloud environment: only self-hosted environments have keys and workers."
        )));
    }
    if archived {
        return Err(ApiError::invalid(format!("Environment {environment_id} is archived; it takes no new keys.")));
    }
    let key = format!("envk_{}", secret(40));
    let hint: String = key.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    let id = new_id("envkey");
    store.insert_environment_key(&id, environment_id, &hash(&key), &now().text, &hint).await?;
    tracing::info!(environment = %environment_id, key = %id, "an environment key was issued");
    Ok(key)
}

/// An environment key as it is listed: never its value, only its last four characters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EnvironmentKey {
    pub id: String,
    pub environment_id: String,
    /// The key's last four characters, to tell keys apart (none for keys issued before hints).
    pub hint: Option<String>,
    pub created_at: String,
    /// When a request last came with it (written at most once a minute).
    pub last_used_at: Option<String>,
    /// When it was revoked, or its environment archived; it reaches nothing since.
    pub revoked_at: Option<String>,
}

fn key_of(row: KeyRow) -> EnvironmentKey {
    EnvironmentKey {
        id: row.id,
        environment_id: row.environment_id,
        hint: row.hint,
        created_at: row.created_at,
        last_used_at: row.last_used_us.map(crate::ids::format_micros),
        revoked_at: row.revoked_at,
    }
}

/// The keys of a self-hosted environment (revoked ones too), oldest first.
pub async fn list_environment_keys(store: &Store, environment_id: &str) -> ApiResult<Vec<EnvironmentKey>> {
    if !store.exists("environments", environment_id).await? {
        return Err(ApiError::not_found("environment", environment_id));
    }
    Ok(store.environment_keys(environment_id).await?.into_iter().map(key_of).collect())
}

/// Revokes key `key_id` (of `environment_id`, when one is named) at once: the next request that
/// sends it is a 401. Revoking a revoked key changes nothing and answers it as it is. The sessions
/// tokens it was handed go with it: the items they held go back to the queue when their lease
/// runs out, for a worker with a live key.
pub async fn revoke_environment_key(
    store: &Store,
    environment_id: Option<&str>,
    key_id: &str,
) -> ApiResult<EnvironmentKey> {
    if store.environment_key(key_id, environment_id).await?.is_none() {
        return Err(ApiError::not_found("environment key", key_id));
    }
    store.revoke_environment_key(key_id, &now().text).await?;
    let row =
        store.environment_key(key_id, None).await?.ok_or_else(|| ApiError::not_found("environment key", key_id))?;
    let key = key_of(row);
    tracing::info!(environment = %key.environment_id, key = %key.id, "an environment key was revoked");
    Ok(key)
}

/// How often a key's `last_used_us` is written, at most.
const LAST_USED_EVERY_US: i64 = 60_000_000;

impl EngineState {
    /// A new key for a self-hosted environment (see [`issue_environment_key`]).
    pub async fn issue_environment_key(&self, environment_id: &str) -> ApiResult<String> {
        issue_environment_key(&self.store, environment_id).await
    }

    /// Who sends `given`: the API key, a live environment key (not revoked, its environment
    /// neither archived nor deleted), or the sessions token of a work item's current lease.
    pub async fn caller(&self, given: &str) -> ApiResult<Option<Caller>> {
        if bool::from(subtle::ConstantTimeEq::ct_eq(given.as_bytes(), self.config.api_key.as_bytes())) {
            return Ok(Some(Caller::Api));
        }
        let hashed = hash(given);
        if let Some(LiveKey { id: key_id, environment_id, last_used_us }) =
            self.store.live_environment_key(&hashed).await?
        {
            let at = now().micros;
            if last_used_us.is_none_or(|last| at - last >= LAST_USED_EVERY_US) {
                // Best effort: a busy store does not refuse the request it came with.
                if let Err(error) = self.store.key_used(&key_id, at).await {
                    tracing::debug!(key = %key_id, "a key's last use was not written: {}", error.message);
                }
            }
            return Ok(Some(Caller::Environment { environment_id, key_id }));
        }
        // A token is live while its item is held: polled (and not yet reclaimed by another
        // poll, which replaced it), acked, active or stopping; and while the key that polled it
        // is live (not revoked, its environment neither archived nor deleted). A stopped or
        // requeued item's token was deleted; the state is checked as well.
        if let Some(LiveToken { work_id, session_id, environment_id }) = self.store.live_token(&hashed).await? {
            return Ok(Some(Caller::Work { work_id, session_id, environment_id }));
        }
        Ok(self
            .work
            .superseded(&hashed)
            .map(|(work_id, environment_id)| Caller::Superseded { work_id, environment_id }))
    }

    /// Revokes every key of `environment_id` (archived), and the tokens they were handed: its
    /// workers reach nothing from now on.
    pub(crate) async fn revoke_environment_keys(&self, environment_id: &str) -> ApiResult<()> {
        self.store.revoke_environment_keys(environment_id, &now().text).await
    }

    /// Forgets every key of `environment_id` (deleted), and the tokens they were handed.
    pub(crate) async fn delete_environment_keys(&self, environment_id: &str) -> ApiResult<()> {
        self.store.delete_environment_keys(environment_id).await
    }

    /// The self-hosted environment a session runs on, if it runs on one.
    pub async fn self_hosted_environment(&self, session_id: &str) -> ApiResult<Option<String>> {
        self.store.self_hosted_environment(session_id).await
    }

    /// Queues a work item for a session on a self-hosted environment, unless one of its own is
    /// live already (one statement: two requests at once queue one item).
    pub async fn queue_work(&self, session_id: &str, environment_id: &str) -> ApiResult<()> {
        let at = now();
        let id = new_id("work");
        let body = json!({
            "type": "work",
            "id": id,
            "environment_id": environment_id,
            "state": "queued",
            "data": { "type": "session", "id": session_id },
            "metadata": {},
            "secret": null,
            "created_at": at.text,
            "acknowledged_at": null,
            "started_at": null,
            "latest_heartbeat_at": null,
            "stop_requested_at": null,
            "stopped_at": null,
        });
        let queued = self.store.queue_work(&id, environment_id, session_id, &body.to_string(), at.micros).await?;
        if queued {
            tracing::info!(session = %session_id, work = %id, environment = %environment_id, "a session waits for a worker");
            crate::meters::work_item("queued");
            self.announce("session.pending", session_id);
            self.work.queued.notify_waiters();
            self.count_work().await?;
        }
        Ok(())
    }

    /// Stops every item of a session that ended (archived, deleted, terminated): no worker
    /// should take it up again.
    pub async fn stop_session_work(&self, session_id: &str) -> ApiResult<()> {
        let at = now().text;
        self.store.stop_session_work(session_id, &at).await?;
        self.forget_tokens("session_id", session_id).await?;
        self.count_work().await
    }

    /// An environment that exists and is self-hosted (the queue's endpoints are for no other).
    async fn work_environment(&self, environment_id: &str) -> ApiResult<()> {
        let (_, environment) = self.environment(environment_id).await?;
        if environment["config"]["type"] != "self_hosted" {
            return Err(ApiError::invalid(format!(
                "Environment {environment_id} is a cloud environment: it has no work queue (only self-hosted environments do)."
            )));
        }
        Ok(())
    }

    /// Takes back the leases of an environment that ran out: starting or active items go back to
    /// the queue with their heartbeat cleared; stopping ones stop.
    async fn expire_leases(&self, environment_id: &str) -> ApiResult<()> {
        let at = now();
        let requeued = self.store.requeue_expired(environment_id, at.micros).await?;
        for (work, session) in &requeued {
            tracing::warn!(%work, %session, "a worker's lease ran out: the item is queued again for another worker");
            crate::meters::work_item("reclaimed");
        }
        let stopped = self.store.stop_expired(environment_id, &at.text, at.micros).await?;
        if !requeued.is_empty() {
            // The lost lease's token goes with it: the old worker reaches nothing of the item's
            // session (its heartbeat is told 412), and the next poll hands out a new one.
            let dropped = self.store.drop_requeued_tokens(environment_id).await?;
            for (hash, work_id) in dropped {
                self.work.supersede(hash, &work_id, environment_id);
            }
            self.work.queued.notify_waiters();
        }
        if stopped > 0 {
            self.forget_tokens("environment_id", environment_id).await?;
        }
        if stopped > 0 || !requeued.is_empty() {
            self.count_work().await?;
        }
        Ok(())
    }

    /// Drops the sessions tokens of the stopped items whose `column` (`work_id`, `session_id` or
    /// `environment_id`) is `value`: they reach nothing any more ([`EngineState::caller`] checks
    /// the item's state too), and the table holds one token per held item at most.
    async fn forget_tokens(&self, column: &'static str, value: &str) -> ApiResult<()> {
        self.store.forget_stopped_tokens(column, value).await
    }

    /// One item for a worker, or JSON `null` once `block` has passed with none. Claimable: a
    /// queued item no one polled, or one polled and not acked for `reclaim_older_than`.
    pub async fn poll_work(
        &self,
        environment_id: &str,
        key_id: &str,
        worker_id: Option<&str>,
        block: Duration,
        reclaim_older_than: Duration,
    ) -> ApiResult<Value> {
        self.work_environment(environment_id).await?;
        if let Some(worker_id) = worker_id {
            self.work.saw_poller(environment_id, worker_id);
        }
        let deadline = Instant::now() + block;
        loop {
            // Registered before the queue is read, so an item queued in between still wakes it.
            let queued = self.work.queued.notified();
            tokio::pin!(queued);
            queued.as_mut().enable();
            self.expire_leases(environment_id).await?;
            if let Some(item) = self.claim(environment_id, key_id, worker_id, reclaim_older_than).await? {
                return Ok(item);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Value::Null);
            }
            let _ = tokio::time::timeout(left, queued).await;
        }
    }

    async fn claim(
        &self,
        environment_id: &str,
        key_id: &str,
        worker_id: Option<&str>,
        reclaim_older_than: Duration,
    ) -> ApiResult<Option<Value>> {
        let at = now().micros;
        let older_than = at - reclaim_older_than.as_micros() as i64;
        let mut tx = self.store.begin().await?;
        let Some(claimed) = rows::claim_work(&mut tx, environment_id, worker_id, at, older_than).await? else {
            return Ok(None);
        };
        let (work_id, session_id) = (claimed.id, claimed.session_id);
        let mut item = json_text(&claimed.body)?;
        // One token per item: this claim's replaces the one an earlier poll handed out, in the
        // claim's transaction, so that of two polls at once the later one's token is the live one.
        let token = format!("wst_{}", secret(40));
        let token_hash = hash(&token);
        let new = NewToken { hash: &token_hash, work_id: &work_id, session_id: &session_id, environment_id, key_id };
        let previous = rows::replace_token(&mut tx, new).await?;
        // Remembered before the commit, so that there is no moment when the old token's heartbeat
        // is an unknown credential's 401 rather than the 412 that tells its worker to walk away.
        if let Some(previous) = previous {
            self.work.supersede(previous, &work_id, environment_id);
        }
        tx.commit().await?;
        item["secret"] = json!(secret_of(&token));
        crate::meters::work_item("polled");
        tracing::info!(work = %work_id, session = %session_id, worker = worker_id.unwrap_or("-"), "a worker polled an item");
        Ok(Some(item))
    }

    /// The row of an item of `environment_id`: (state, last heartbeat, body).
    async fn work_row(&self, environment_id: &str, work_id: &str) -> ApiResult<(String, Option<String>, Value)> {
        let WorkRow { state, last_heartbeat, body } = self
            .store
            .work_row(environment_id, work_id)
            .await?
            .ok_or_else(|| ApiError::not_found("work item", work_id))?;
        Ok((state, last_heartbeat, json_text(&body)?))
    }

    /// Acks a polled item: it leaves the queue (`starting`) under a lease the first heartbeat
    /// must renew.
    pub async fn ack_work(&self, environment_id: &str, work_id: &str) -> ApiResult<Value> {
        self.work_environment(environment_id).await?;
        let at = now();
        let lease = at.micros + self.lease_micros(None);
        let acked = self.store.ack_work(environment_id, work_id, &at.text, lease).await?;
        match acked {
            Some(body) => {
                crate::meters::work_item("acked");
                self.count_work().await?;
                json_text(&body)
            }
            None => {
                let (state, _, _) = self.work_row(environment_id, work_id).await?;
                Err(ApiError::conflict(format!(
                    "Work {work_id} cannot be acknowledged: it is {state}, no longer queued (another worker took it, or it stopped). Poll for another item."
                )))
            }
        }
    }

    fn lease_micros(&self, desired_seconds: Option<u64>) -> i64 {
        let seconds = desired_seconds.unwrap_or(self.config.work_lease_seconds).clamp(1, MAX_LEASE_SECONDS);
        seconds as i64 * 1_000_000
    }

    /// Renews an item's lease when `expected` is the last heartbeat it had (`NO_HEARTBEAT`:
    /// none); a 412 otherwise. An item stopping or stopped answers its state and is not compared.
    pub async fn heartbeat_work(
        &self,
        environment_id: &str,
        work_id: &str,
        expected: Option<&str>,
        desired_ttl_seconds: Option<u64>,
    ) -> ApiResult<Value> {
        self.expire_leases(environment_id).await?;
        let (state, last, _) = self.work_row(environment_id, work_id).await?;
        let ttl = desired_ttl_seconds.unwrap_or(self.config.work_lease_seconds).clamp(1, MAX_LEASE_SECONDS);
        let beat = |last: Option<&str>, extended: bool, state: &str, ttl: u64| {
            json!({
                "type": "work_heartbeat",
                "last_heartbeat": last.unwrap_or(""),
                "lease_extended": extended,
                "state": state,
                "ttl_seconds": ttl,
            })
        };
        match state.as_str() {
            "stopped" => return Ok(beat(last.as_deref(), false, "stopped", 0)),
            "stopping" => {
                // The worker is told to stop; its lease lasts while it tears down.
                self.store.extend_lease(work_id, now().micros + self.lease_micros(Some(ttl))).await?;
                return Ok(beat(last.as_deref(), true, "stopping", ttl));
            }
            "queued" => {
                return Err(precondition_failed(
                    format!(
                        "Heartbeat precondition failed: work {work_id} is queued, with no lease (it was never acknowledged, or its lease ran out and it went back to the queue)."
                    ),
                    "queued",
                    last.as_deref(),
                    ttl,
                ));
            }
            _ => {}
        }
        let expected = expected.unwrap_or(NO_HEARTBEAT);
        let wanted = (expected != NO_HEARTBEAT).then_some(expected);
        let at = now();
        let renewed =
            self.store.renew_lease(work_id, wanted, &at.text, at.micros + self.lease_micros(Some(ttl))).await?;
        if !renewed {
            let (state, last, _) = self.work_row(environment_id, work_id).await?;
            return Err(precondition_failed(
                format!(
                    "Heartbeat precondition failed: expected_last_heartbeat {expected:?} is not the item's last heartbeat (another worker holds its lease, or it was lost)."
                ),
                &state,
                last.as_deref(),
                ttl,
            ));
        }
        Ok(beat(Some(&at.text), true, "active", ttl))
    }

    /// The 412 a superseded holder's heartbeat gets: the item is another's now (or queued
    /// again), whatever heartbeat it expects.
    pub async fn lease_lost(&self, environment_id: &str, work_id: &str, ttl: Option<u64>) -> ApiResult<ApiError> {
        let (state, last, _) = self.work_row(environment_id, work_id).await?;
        let ttl = ttl.unwrap_or(self.config.work_lease_seconds).clamp(1, MAX_LEASE_SECONDS);
        Ok(precondition_failed(
            format!(
                "Heartbeat precondition failed: work {work_id} went to another worker (its lease ran out, or another poll took it); let it go without stopping it."
            ),
            &state,
            last.as_deref(),
            ttl,
        ))
    }

    /// Stops an item: at once with `force` (and any item no worker holds), else it is `stopping`
    /// until its worker sees that on a heartbeat and force-stops it. A stopped item is a 409.
    pub async fn stop_work(&self, environment_id: &str, work_id: &str, force: bool) -> ApiResult<Value> {
        self.work_environment(environment_id).await?;
        let (state, _, _) = self.work_row(environment_id, work_id).await?;
        let at = now().text;
        let at_once = match state.as_str() {
            "stopped" => {
                return Err(ApiError::conflict(format!("Work {work_id} has already stopped.")));
            }
            "starting" | "active" | "stopping" if !force => false,
            _ => true,
        };
        let body = self.store.stop_work(work_id, &at, at_once).await?;
        self.forget_tokens("work_id", work_id).await?;
        crate::meters::work_item("stopped");
        self.count_work().await?;
        tracing::info!(work = %work_id, force, "a work item was stopped");
        json_text(&body)
    }

    pub async fn retrieve_work(&self, environment_id: &str, work_id: &str) -> ApiResult<Value> {
        self.expire_leases(environment_id).await?;
        Ok(self.work_row(environment_id, work_id).await?.2)
    }

    /// Patches an item's metadata (`null` deletes a key).
    pub async fn update_work(&self, environment_id: &str, work_id: &str, patch: &Value) -> ApiResult<Value> {
        let Some(patch) = patch.as_object() else {
            return Err(ApiError::invalid("metadata: send an object of keys to set (a string) or delete (null)."));
        };
        let (_, _, mut body) = self.work_row(environment_id, work_id).await?;
        let mut metadata: Metadata = serde_json::from_value(body["metadata"].clone()).unwrap_or_default();
        let mut patched = MetadataPatch::new();
        for (key, value) in patch {
            patched.insert(
                key.clone(),
                match value {
                    Value::Null => None,
                    Value::String(text) => Some(text.clone()),
                    _ => {
                        return Err(ApiError::invalid(format!(
                            "metadata.{key}: a value is a string, or null to delete it."
                        )));
                    }
                },
            );
        }
        crate::resolve::patch_metadata(&mut metadata, &patched, true)?;
        body["metadata"] = json!(metadata);
        self.store.set_work_metadata(work_id, &body["metadata"].to_string()).await?;
        Ok(body)
    }

    /// A page of an environment's items, oldest first.
    pub async fn list_work(&self, environment_id: &str, paging: Paging) -> ApiResult<Value> {
        self.work_environment(environment_id).await?;
        self.expire_leases(environment_id).await?;
        let filters = vec![Filter::Eq("environment_id", environment_id.to_owned())];
        self.page(paging.query("seq, body", "work", "seq", filters), false, body_of).await
    }

    /// The queue at a glance: waiting, polled and not acked, the oldest of those, and who polls.
    pub async fn work_stats(&self, environment_id: &str) -> ApiResult<Value> {
        self.work_environment(environment_id).await?;
        self.expire_leases(environment_id).await?;
        let (depth, pending, oldest) = self.store.queue_stats(environment_id).await?;
        Ok(json!({
            "type": "work_queue_stats",
            "depth": depth,
            "pending": pending,
            "oldest_queued_at": oldest,
            "workers_polling": self.work.polling(environment_id),
        }))
    }

    /// Sets `/metrics`' gauges of the queues (items waiting, items under a lease) after a change:
    /// two counts over `work_by_state`, which reads the live items only, not every stopped one.
    async fn count_work(&self) -> ApiResult<()> {
        let (queued, leased) = self.store.work_counts().await?;
        crate::meters::work_gauges(queued, leased);
        Ok(())
    }
}
