//! The audit log: one entry per mutation (every request that is not a read under `/api/`), per
//! decision, per sign-in and sign-out. A signed-in person's mutation is written by [`record`]
//! before it runs, as `pending` (a mutation whose entry cannot be written is refused), and its
//! outcome (refused by Switchboard, refused or failed upstream) filled in once it is known.
//!
//! Entries cannot be edited otherwise (a trigger refuses every other update) and the app offers
//! no way to delete them; only retention (`SWITCHBOARD_AUDIT_RETENTION_DAYS`) removes old ones.
//!
//! Refused sign-ins are the exception to one entry each: anyone can send them, so they are
//! counted ([`AuditLog::append_refused_sign_in`]): one entry per client address and username
//! per [`SIGN_IN_WINDOW`], whose `attempts` grows (the one other change the trigger allows). The
//! entry counting a refusal is found in the table itself, so replicas sharing it count in one.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::{ConnectInfo, Query, Request, State},
    http::{HeaderMap, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use domain::{
    audit::{
        AuditQuery,
        server::{AuditEntry, AuditStore},
    },
    auth::{Principal, roles_text, store::AuditNote},
    error::AppError,
    upstream::client::BoxFuture,
};
use serde_json::Value;
use sqlx::AnyPool;

pub mod creators;
pub mod rows;

pub use rows::{AuditRows, RefusedSignIn};

use crate::support::StoreError;

/// Who made a request, as the audit log names them.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub roles: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// How the change came, when not from a browser's sign-in: `token CI deploys (tok_…)`.
    pub credential: Option<String>,
}

impl Actor {
    pub fn of(principal: Option<&Principal>, headers: &HeaderMap, peer: Option<SocketAddr>) -> Self {
        Self {
            user_id: principal.map(|p| p.user_id),
            username: principal.map(|p| p.username.clone()),
            roles: principal.map(|p| roles_text(&p.roles)).unwrap_or_default(),
            ip: peer.map(|a| a.ip().to_string()),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(300).collect()),
            credential: None,
        }
    }
}

/// An entry about to be written.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub actor: Actor,
    pub action: String,
    pub targets: Vec<String>,
    pub detail: Option<Value>,
    pub status: u16,
    pub error: Option<String>,
}

impl NewEntry {
    /// An entry of the sign-in pages (`auth/login`, `auth/logout`, `auth/setup`): no body ids, no
    /// detail.
    pub fn auth(actor: Actor, action: &str, status: u16, error: Option<&str>) -> Self {
        Self {
            actor,
            action: action.to_owned(),
            targets: Vec::new(),
            detail: None,
            status,
            error: error.map(str::to_owned),
        }
    }

    /// An entry of an approval policy's own doing on one call (no person acted): holding a
    /// rule back, escalating, holding a message in quiet hours.
    pub fn of_policy(action: &str, session_id: &str, event_id: &str, detail: Value) -> Self {
        Self {
            actor: Actor { roles: "policy".to_owned(), ..Actor::default() },
            action: action.to_owned(),
            targets: vec![session_id.to_owned(), event_id.to_owned()],
            detail: Some(detail),
            status: 200,
            error: None,
        }
    }
}

/// The mutation a request under `/api/` is (`agents/create`), or `None` for a read or anything
/// else: what the audit log records and this limit applies to.
pub fn mutation(method: &Method, path: &str) -> Option<String> {
    let is_mutation = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !is_mutation {
        return None;
    }
    // A call of the API (`crate::gateway`) is named by its act: `v1/agents.create`.
    if domain::gateway::is_api(path) {
        let act = domain::gateway::route_of(method.as_str(), path).map(|(route, _)| route.action);
        return Some(format!("v1/{}", act.unwrap_or("unknown")));
    }
    path.strip_prefix("/api/").map(str::to_owned)
}

/// Who sent `request` (and with which credential), and the ids its path names when it is an API
/// call (`crate::gateway`).
fn actor_of(request: &Request) -> (Actor, Vec<String>) {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let mut actor = Actor::of(request.extensions().get::<Principal>(), request.headers(), peer);
    actor.credential = request.extensions().get::<Credential>().map(|c| c.0.clone());
    let (method, path) = (request.method().as_str(), request.uri().path());
    let ids =
        if domain::gateway::is_api(path) { domain::gateway::route_of(method, path).map(|(_, ids)| ids) } else { None };
    (actor, ids.unwrap_or_default())
}

/// The credential a request came with when it is not a browser's sign-in (a personal access
/// token's label), put on it by the authentication: its entry says so.
#[derive(Debug, Clone)]
pub struct Credential(pub String);

/// Where the body limit (`access::body_limit`) leaves the body it read, for [`record`] outside
/// it: [`record`] puts one in the request's extensions first.
#[derive(Clone, Default)]
pub struct ReadBody(Arc<Mutex<Option<Bytes>>>);

impl ReadBody {
    /// The body, once this layer read it whole.
    pub fn take(&self) -> Option<Bytes> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Leaves the body read whole.
    pub fn put(&self, bytes: Bytes) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(bytes);
    }
}

/// The audit log: entries written through [`AuditRows`] (the database's in [`rows`]).
pub struct AuditLog {
    rows: Arc<dyn AuditRows>,
    /// The workspace its entries belong to (`crate::tenancy::workspaces`); `None`: the default, and
    /// Switchboard's own (sign-ins, accounts).
    workspace: Option<String>,
    /// Seals the values of [`SEALED_KEYS`] in entries' detail at rest (`SWITCHBOARD_SECRET_KEY`'s
    /// audit key); `None`: kept as they are.
    seal: Option<engine::sealing::SealKey>,
    /// Who made what ([`creators`]): written when a creation's entry is completed.
    creators: Arc<dyn creators::CreatorRows>,
}

/// The detail keys whose values are sealed at rest where a secret key is set: the input of a
/// decided call as the person saw it (`approvals::deciding`), which may hold what the agent read.
pub const SEALED_KEYS: &[&str] = &["input_shown"];

/// What a sealed detail value is bound to.
const SEALED_FOR: &str = "switchboard audit detail";

/// Rewrites each string under a [`SEALED_KEYS`] key in `value` with `change` (where it answers).
fn each_sealed_value(value: &mut Value, change: &dyn Fn(&str) -> Option<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match value {
                    Value::String(text) if SEALED_KEYS.contains(&key.as_str()) => {
                        if let Some(changed) = change(text) {
                            *text = changed;
                        }
                    }
                    value => each_sealed_value(value, change),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| each_sealed_value(item, change)),
        _ => {}
    }
}

/// How long the refused sign-ins of one address at one username are one entry; four rows an hour
/// at most, however fast they are sent. It is the sign-in throttle's window too
/// (`access::throttle::THROTTLE_WINDOW`), so that an entry counts what the throttle holds against
/// them at once.
pub const SIGN_IN_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Usernames an address's refused sign-ins get an entry each under, within a window. Refusals at
/// any other username go into one entry of the address that names none: an address cannot add
/// rows by trying new usernames. The throttle lets an address try as many in a window
/// (`access::throttle::PER_ADDRESS`).
pub const NAMES_PER_ADDRESS: usize = 20;

impl AuditLog {
    /// The log in the main database's `audit` table, and its record of who made what in
    /// `creators`.
    pub fn new(pool: AnyPool) -> Self {
        Self::with_rows(Arc::new(rows::SqlAuditRows::new(pool.clone())), Arc::new(creators::SqlCreatorRows::new(pool)))
    }

    /// The log over other stores' rows.
    pub fn with_rows(rows: Arc<dyn AuditRows>, creators: Arc<dyn creators::CreatorRows>) -> Self {
        Self { rows, workspace: None, seal: None, creators }
    }

    /// The same log, sealing [`SEALED_KEYS`]' values with `key` (none: kept as they are).
    pub fn sealed_with(self, key: Option<engine::sealing::SealKey>) -> Self {
        Self { seal: key, ..self }
    }

    /// The same log, writing and reading the entries of workspace `id`.
    pub fn in_workspace(&self, id: &str) -> Self {
        Self {
            rows: self.rows.clone(),
            workspace: Some(id.to_owned()),
            seal: self.seal.clone(),
            creators: self.creators.clone(),
        }
    }

    /// `entry` as it is written: its sealed keys' values sealed, where a key is set.
    fn sealed(&self, mut entry: NewEntry) -> NewEntry {
        if let (Some(key), Some(detail)) = (&self.seal, entry.detail.as_mut()) {
            each_sealed_value(detail, &|text| {
                (!engine::sealing::is_sealed(text)).then(|| key.seal_text(SEALED_FOR, text))
            });
        }
        entry
    }

    /// `entry` as it is read: its sealed values opened (one sealed with another key says so).
    fn opened(&self, mut entry: AuditEntry) -> AuditEntry {
        if let Some(detail) = entry.detail.as_mut() {
            each_sealed_value(detail, &|text| {
                engine::sealing::is_sealed(text).then(|| {
                    self.seal.as_ref().and_then(|key| key.open_text(SEALED_FOR, text)).unwrap_or_else(|| {
                        "(sealed with a SWITCHBOARD_SECRET_KEY this Switchboard does not have)".to_owned()
                    })
                })
            });
        }
        entry
    }

    pub async fn append(&self, entry: NewEntry) {
        let action = entry.action.clone();
        if let Err(error) = self.insert(entry).await {
            tracing::error!(%action, "an audit entry could not be written: {error}");
        }
    }

    /// Records a refused sign-in (`auth/login`, `auth/sso`: wrong password, throttled, disabled,
    /// refused by the identity provider) of nobody signed in. The first of its client address at
    /// its username within [`SIGN_IN_WINDOW`] writes an entry; the later ones add one to that
    /// entry's `attempts`. Past [`NAMES_PER_ADDRESS`] usernames from one address, the rest share
    /// one entry that names none. So an address adds at most `NAMES_PER_ADDRESS + 1` entries a
    /// window per action, however many attempts it sends, on however many replicas.
    pub async fn append_refused_sign_in(&self, entry: NewEntry) {
        self.count_refused_sign_in(entry, time::OffsetDateTime::now_utc()).await
    }

    async fn count_refused_sign_in(&self, entry: NewEntry, now: time::OffsetDateTime) {
        let address = crate::support::proxies::address_key(entry.actor.ip.as_deref().unwrap_or_default());
        let mut unnamed = entry.clone();
        if unnamed.actor.username.take().is_some() {
            unnamed.error = Some(format!(
                "{}, at usernames past the first {NAMES_PER_ADDRESS} this address tried",
                entry.error.as_deref().unwrap_or("refused")
            ));
        }
        let (at, since) = (domain::format::rfc3339(now), domain::format::rfc3339(now - SIGN_IN_WINDOW));
        let refused = RefusedSignIn {
            entry: &entry,
            unnamed: &unnamed,
            address: &address,
            at: &at,
            since: &since,
            names: NAMES_PER_ADDRESS,
            workspace: self.workspace.as_deref(),
        };
        if let Err(error) = self.rows.count_refused(refused).await {
            tracing::error!(action = %entry.action, "a refused sign-in could not be counted in the audit log: {error}");
        }
    }

    /// Writes `entry`; answers its id.
    async fn insert(&self, entry: NewEntry) -> Result<i64, StoreError> {
        self.rows.insert(&self.sealed(entry), self.workspace.as_deref()).await
    }

    /// Writes the entry of a mutation about to run, as `pending`; answers its id, for
    /// [`AuditLog::finish`].
    pub async fn begin(&self, actor: &Actor, action: &str) -> Result<i64, StoreError> {
        self.rows.begin(actor, action, self.workspace.as_deref()).await
    }

    /// Fills in how the mutation of entry `id` ([`AuditLog::begin`]) ended. The entry's actor
    /// and action are the ones written before; if this cannot be written, it stays `pending`.
    pub async fn finish(&self, id: i64, entry: NewEntry) {
        if let Err(error) = self.rows.finish(id, &self.sealed(entry.clone())).await {
            tracing::error!(action = %entry.action, "the outcome of audit entry {id} could not be written: {error}");
        }
    }

    /// This log's workspace's record of who made what, for the console's lists.
    pub fn creators(&self) -> creators::Creators {
        creators::Creators { rows: self.creators.clone(), workspace: self.workspace.clone() }
    }

    /// Records that `actor` made `object_id`, a `kind`, now (the first record of it stands).
    async fn made(&self, kind: domain::creators::Kind, object_id: &str, actor: &Actor) {
        let (Some(user_id), Some(username)) = (actor.user_id, actor.username.as_deref()) else { return };
        // Fixed width, so that the newest-first order of the text is the order in time.
        let now = time::OffsetDateTime::now_utc();
        let at = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second(),
            now.microsecond()
        );
        let row = creators::NewCreator {
            workspace: self.workspace.as_deref(),
            kind,
            object_id,
            user_id,
            username,
            via: actor.credential.as_deref(),
            at: &at,
        };
        if let Err(error) = self.creators.record(&row).await {
            tracing::error!(%object_id, "who made it could not be recorded: {error}");
        }
    }

    /// Removes entries older than `days`; answers how many.
    pub async fn purge(&self, days: u32) -> Result<u64, StoreError> {
        let cutoff = domain::format::rfc3339(time::OffsetDateTime::now_utc() - time::Duration::days(days as i64));
        self.rows.purge(&cutoff).await
    }

    /// The entries of this log's workspace that `query` asks for, newest first.
    pub async fn select(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let entries = self.rows.select(query, self.workspace.as_deref()).await?;
        Ok(entries.into_iter().map(|entry| self.opened(entry)).collect())
    }
}

impl AuditStore for AuditLog {
    fn query<'a>(&'a self, query: &'a AuditQuery) -> BoxFuture<'a, Result<Vec<AuditEntry>, AppError>> {
        Box::pin(async move {
            self.select(query).await.map_err(|error| {
                AppError::internal_logged(
                    error,
                    "The audit log could not be read. Try again; if it keeps failing, see the server's log.",
                )
            })
        })
    }
}

/// An entry's outcome by its status.
pub(crate) fn outcome_of(status: u16) -> &'static str {
    match status {
        200..=399 => "ok",
        400..=499 => "refused",
        _ => "failed",
    }
}

/// Whether `action` changes what belongs to no one workspace: accounts, workspaces and their
/// grants, notifications, a person's own sign-ins.
fn switchboards_own(action: &str) -> bool {
    ["users/", "workspaces/", "notify/", "me/"].iter().any(|prefix| action.starts_with(prefix))
}

/// The most of a request's path an entry keeps as its action.
const MAX_ACTION_BYTES: usize = 200;

/// Records every mutation under `/api/`: who, from where, what (the endpoint and the ids its
/// body names), and how it ended. Runs inside [`crate::access::authenticate`], so it knows the
/// person, and outside the body limit ([`crate::access::body_limit`]) and the role check, so a refused
/// call is recorded too. A signed-in person's entry is written before anything else runs, and
/// when it cannot be, the mutation is refused: nothing changes upstream off the record.
pub async fn record(State(audit): State<Arc<AuditLog>>, mut request: Request, next: Next) -> Response {
    let Some(mut action) = mutation(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    // An endpoint's name is short; a longer path is nobody's endpoint, and is kept only in part.
    if action.len() > MAX_ACTION_BYTES {
        let end = (0..=MAX_ACTION_BYTES).rev().find(|&i| action.is_char_boundary(i)).unwrap_or(0);
        action.truncate(end);
        action.push('…');
    }
    // The entry belongs to the request's workspace (its log is on the request), but for what is
    // Switchboard's own (people, workspaces, notifications), which the default's log holds.
    let audit = match request.extensions().get::<Arc<AuditLog>>() {
        Some(own) if !switchboards_own(&action) => own.clone(),
        _ => audit,
    };
    let (actor, path_ids) = actor_of(&request);
    let is_json =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("json"));
    let note = AuditNote::default();
    let read = ReadBody::default();
    request.extensions_mut().insert(note.clone());
    request.extensions_mut().insert(read.clone());
    let signed_in = actor.username.is_some();
    let pending = if signed_in {
        match audit.begin(&actor, &action).await {
            Ok(id) => Some(id),
            Err(error) => {
                tracing::error!(%action, "an audit entry could not be written, so the change was refused: {error}");
                return AppError::internal(
                    "This change was not made: Switchboard records every change before making it, and its audit \
                     log could not be written. Try again; if it keeps failing, an admin should read the server's log.",
                )
                .into_response();
            }
        }
    } else {
        None
    };
    let response = next.run(request).await;
    let status = response.status().as_u16();
    // Uploads are not read whole (the new file's id is in the answer), nor is a body over the limit.
    let mut targets = Vec::new();
    for id in path_ids {
        push_target(&mut targets, &Value::String(id));
    }
    if let Some(body) = read.take() {
        collect_targets(is_json, &body, &mut targets);
    }
    // Calls from nobody signed in that were refused are not entries: anyone can send them (to
    // any path, cross-site, with any body), so each would let anyone write to a log kept a
    // year. Failed sign-ins have entries of their own.
    if !signed_in && status >= 400 {
        return response;
    }
    let (response, answer) = read_answer(response, &action).await;
    let error = (status >= 400).then(|| {
        answer
            .as_ref()
            .and_then(|a| a.get("message"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("HTTP {status}"))
    });
    if status < 300 {
        note_answered(&audit, &action, answer.as_ref(), &mut targets, &actor).await;
    }
    let detail = note.0.lock().unwrap_or_else(|e| e.into_inner()).take();
    let entry = NewEntry { actor, action, targets, detail, status, error };
    match pending {
        Some(id) => audit.finish(id, entry).await,
        None => audit.append(entry).await,
    }
    response
}

/// Adds what a successful mutation answered (`{"id": …}`, or a view with its `row`) to its
/// targets, and records who made it when the act made it ([`creators`]): the act makes things and
/// the request did not name the id it answered (a save of an existing one names it: a change).
async fn note_answered(
    audit: &AuditLog,
    action: &str,
    answer: Option<&Value>,
    targets: &mut Vec<String>,
    actor: &Actor,
) {
    let Some(id) = answer.and_then(|a| a.get("id").or_else(|| a.get("row").and_then(|r| r.get("id")))) else {
        return;
    };
    if let (Some(kind), Some(made)) = (domain::creators::Kind::made_by(action), id.as_str())
        && domain::upstream::is_id(made)
        && !targets.iter().any(|named| named == made)
    {
        audit.made(kind, made, actor).await;
    }
    push_target(targets, id);
}

/// The answer of a mutation, and its JSON when it is small JSON (the error's message, or the id of
/// what was created). Anything else (a streamed answer, one without a length or over 1 MiB)
/// passes untouched.
async fn read_answer(response: Response, action: &str) -> (Response, Option<Value>) {
    let small = {
        use axum::body::HttpBody;
        response.body().size_hint().exact().is_some_and(|n| n <= 1024 * 1024)
    };
    if !small {
        return (response, None);
    }
    let (parts, body) = response.into_parts();
    let (body, bytes) = match axum::body::to_bytes(body, 1024 * 1024).await {
        Ok(bytes) => (Body::from(bytes.clone()), bytes),
        Err(error) => {
            tracing::warn!("the answer to {action} could not be read: {error}");
            (Body::empty(), Default::default())
        }
    };
    (Response::from_parts(parts, body), serde_json::from_slice(&bytes).ok())
}

/// The ids a request body names: the values of `id` and `…_id` keys, in JSON or a form.
fn collect_targets(is_json: bool, body: &[u8], targets: &mut Vec<String>) {
    if is_json {
        if let Ok(value) = serde_json::from_slice::<Value>(body) {
            walk(&value, None, targets);
        }
        return;
    }
    for (key, value) in form_urlencoded::parse(body) {
        // `verdicts[0][event_id]` names `event_id`.
        let name = key.rsplit('[').next().unwrap_or(&key).trim_end_matches(']');
        if is_target_key(name) {
            push_target(targets, &Value::String(value.into_owned()));
        }
    }
}

fn walk(value: &Value, key: Option<&str>, targets: &mut Vec<String>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| walk(v, Some(k), targets)),
        Value::Array(items) => items.iter().for_each(|v| walk(v, key, targets)),
        other if key.is_some_and(is_target_key) => push_target(targets, other),
        _ => {}
    }
}

fn is_target_key(key: &str) -> bool {
    key == "id" || key.ends_with("_id") || key.ends_with("_ids")
}

fn push_target(targets: &mut Vec<String>, value: &Value) {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => format!("user:{n}"),
        _ => return,
    };
    if targets.len() < 20
        && !text.is_empty()
        && text.len() <= 100
        && domain::upstream::is_id(text.trim_start_matches("user:"))
        && !targets.contains(&text)
    {
        targets.push(text);
    }
}

/// `GET /api/audit/export?format=csv|json&user=…`: every entry the filters match (people who are
/// not admins: their own) in the request's workspace, newest first, at most 100,000.
pub async fn export(
    axum::Extension(audit): axum::Extension<Arc<AuditLog>>,
    axum::Extension(principal): axum::Extension<Principal>,
    Query(query): Query<ExportQuery>,
) -> Response {
    let mut filters = match domain::audit::scoped(query.filters, &principal) {
        Ok((filters, _)) => filters,
        Err(error) => return error.into_response(),
    };
    filters.before = None;
    filters.limit = Some(100_000);
    let entries = match audit.select(&filters).await {
        Ok(entries) => entries,
        Err(error) => {
            tracing::error!("the audit log could not be read: {error}");
            return AppError::internal("The audit log could not be read; see the server's log.").into_response();
        }
    };
    let day = time::OffsetDateTime::now_utc().date();
    match query.format.as_deref().unwrap_or("csv") {
        "json" => (
            [
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"switchboard-audit-{day}.json\"")),
            ],
            serde_json::to_vec_pretty(&entries).unwrap_or_default(),
        )
            .into_response(),
        "csv" => {
            let mut out = csv::Writer::from_writer(Vec::new());
            let _ = out.write_record([
                "id",
                "at",
                "username",
                "roles",
                "ip",
                "user_agent",
                "action",
                "targets",
                "detail",
                "outcome",
                "status",
                "error",
                "attempts",
                "credential",
            ]);
            for e in &entries {
                let _ = out.write_record(
                    [
                        e.id.to_string(),
                        e.at.clone(),
                        e.username.clone().unwrap_or_default(),
                        e.roles.clone(),
                        e.ip.clone().unwrap_or_default(),
                        e.user_agent.clone().unwrap_or_default(),
                        e.action.clone(),
                        e.targets.clone(),
                        e.detail.as_ref().map(Value::to_string).unwrap_or_default(),
                        e.outcome.clone(),
                        e.status.to_string(),
                        e.error.clone().unwrap_or_default(),
                        e.attempts.to_string(),
                        e.credential.clone().unwrap_or_default(),
                    ]
                    .map(spreadsheet_safe),
                );
            }
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (header::CONTENT_DISPOSITION, format!("attachment; filename=\"switchboard-audit-{day}.csv\"")),
                ],
                out.into_inner().unwrap_or_default(),
            )
                .into_response()
        }
        other => AppError::bad_input("format", format!("{other:?} is not an export format; use csv or json."))
            .into_response(),
    }
}

/// A cell a spreadsheet will not run as a formula: user agents, usernames and error messages come
/// from outside, and `=HYPERLINK(…)` in one would run when an admin opens the export.
fn spreadsheet_safe(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell }
}

#[derive(Debug, serde::Deserialize)]
pub struct ExportQuery {
    format: Option<String>,
    #[serde(flatten)]
    filters: AuditQuery,
}

/// The audit log's export; scoped inside: people who are not admins export their own entries.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Vec<crate::support::route::Route<S>> {
    use domain::auth::{Role::Viewer, Rule::Needs};
    vec![crate::support::route::Route::new(
        axum::http::Method::GET,
        "/api/audit/export",
        Needs(Viewer),
        axum::routing::get(export),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An audit log in a data directory of its own, removed after the test, and its pool.
    async fn audit() -> (crate::support::Scratch, AuditLog, AnyPool) {
        let dir = crate::support::Scratch::new("audit");
        let pool = crate::support::db::open(&dir.0).await.unwrap();
        (dir, AuditLog::new(pool.clone()), pool)
    }

    fn refused(ip: &str, username: &str) -> NewEntry {
        let actor = Actor { ip: Some(ip.to_owned()), username: Some(username.to_owned()), ..Actor::default() };
        NewEntry::auth(actor, "auth/login", 401, Some("wrong username or password"))
    }

    async fn counted(pool: &AnyPool) -> Vec<(String, Option<String>, i64)> {
        sqlx::query_as("SELECT ip, username, attempts FROM audit ORDER BY id").fetch_all(pool).await.unwrap()
    }

    #[tokio::test]
    async fn a_refusal_after_its_window_starts_a_new_entry_and_a_restart_keeps_counting() {
        let (dir, audit, pool) = audit().await;
        for ip in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2::3"] {
            audit.append_refused_sign_in(refused(ip, "ada")).await;
        }
        let ada = |attempts| ("2001:db8:1:2::1".to_owned(), Some("ada".to_owned()), attempts);
        assert_eq!(counted(&pool).await, [ada(3)], "an IPv6 /64 is one address, as the throttle counts it");
        // Its window ended: the next refusal is a new entry.
        let later = time::OffsetDateTime::now_utc() + SIGN_IN_WINDOW;
        audit.count_refused_sign_in(refused("2001:db8:1:2::1", "ada"), later).await;
        assert_eq!(counted(&pool).await, [ada(3), ada(1)]);
        // Another log on the same database (a restart, another replica) counts in the same entry.
        let again = AuditLog::new(crate::support::db::open(&dir.0).await.unwrap());
        again.count_refused_sign_in(refused("2001:db8:1:2::9", "ada"), later).await;
        assert_eq!(counted(&pool).await, [ada(3), ada(2)]);
        // An address trying name after name: an entry for each of its first 20, one for the rest.
        for n in 0..NAMES_PER_ADDRESS + 5 {
            audit.append_refused_sign_in(refused("192.0.2.44", &format!("user{n}"))).await;
        }
        let entries = audit.select(&AuditQuery::default()).await.unwrap();
        assert_eq!(entries.len(), 2 + NAMES_PER_ADDRESS + 1);
        assert_eq!((entries[0].username.as_deref(), entries[0].attempts), (None, 5));
        assert_eq!(
            entries[0].error.as_deref(),
            Some("wrong username or password, at usernames past the first 20 this address tried")
        );
    }
}
