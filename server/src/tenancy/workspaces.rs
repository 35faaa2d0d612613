//! Workspaces: the upstreams one Switchboard serves, each by name, each with its own people.
//!
//! - **The default workspace** is the upstream Switchboard starts with (the embedded engine, or
//!   the API `ANTHROPIC_API_KEY` opens). Its records are the main database's, and everyone signed
//!   in may open it with their account's roles.
//! - **A connected workspace** is an upstream an admin added on the Settings page: a base URL and
//!   a key, sealed with `SWITCHBOARD_SECRET_KEY` ([`SecretKey`]) in the `workspaces` table.
//!   Without that setting nothing is stored and the admin is told why. Its own records
//!   (decisions, rules, policies, share links, imports) live in a database of its own, under
//!   `workspaces/<id>/` in the data directory, and it has its own stream hub and inbox
//!   ([`Workspace`]): nothing of one workspace can be read through another's, by construction.
//!   Only admins and the people granted roles in it (`workspace_grants`) may open it.
//! - **Which workspace a request is for** ([`select`]): the one the `switchboard_workspace`
//!   cookie names, chosen in the navigation (`POST /auth/workspace`) or by a page's address
//!   (`?workspace=staging`), when the person may open it; otherwise the default. A page's
//!   address shows that page in its workspace, and holds for the browser only when the person
//!   came from Switchboard's own pages or by hand (`Sec-Fetch-Site`), never from another site's
//!   link. A share link's requests are its own workspace's, found by its token.
//!   The person's roles on the request become their roles there, so the access table, the
//!   server functions' own checks and the pages all judge by them.
//! - **The audit log** is one table; each entry names its workspace (`NULL`: the default, and
//!   what belongs to Switchboard itself: sign-ins, accounts, workspaces).

use std::{
    collections::HashMap,
    io,
    path::PathBuf,
    sync::{Arc, RwLock},
};

use axum::{
    Form,
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use domain::{
    approvals::ApprovalsHandle,
    audit::server::AuditHandle,
    auth::{Principal, Role, parse_roles, roles_text},
    error::{AppError, ErrorKind},
    imports::server::ImportsHandle,
    inbox::server::InboxHandle,
    live::first_screen::WindowsHandle,
    shares::server::SharesHandle,
    upstream::{
        UpstreamMode, UpstreamSummary,
        client::{BoxFuture, UpstreamError, UpstreamHandle},
    },
    workspaces::{
        Choice, ConnectForm, DEFAULT_ID, Grant, GrantForm, Place, WorkspaceRow, check_id, server::WorkspaceAdmin,
    },
};
use serde::Deserialize;
use sqlx::AnyPool;

use super::workspace_rows::{Kept, WorkspaceRecord, WorkspaceRows};

use crate::{
    access::api_tokens::{CallerSource, TokenCaller, TokenRefused},
    approvals::deadlines::Deadlines,
    approvals::decisions::{DecisionStore, SqlDecisions},
    approvals::inbox::{Inbox, InboxConfig},
    approvals::policies::{Policies, PolicyStore, SqlPolicies},
    approvals::rule_rows::{RuleRows, SqlRuleRows},
    approvals::rules::RuleBook,
    approvals::service::ApprovalService,
    audit::AuditLog,
    notify::webhooks::WebhookReceiver,
    records::import_rows::{ImportRows, SqlImportRows},
    records::imports::Imports,
    records::share_rows::{ShareRows, SqlShareRows},
    records::shares::Shares,
    settings::{ApiKey, DatabaseSettings, SecretKey},
    streams::hub::{Hub, HubConfig},
    support::{
        StoreError,
        cluster::{Cluster, Replicated, Signal},
    },
    upstream::UpstreamClient,
};

/// The cookie that names the workspace a person chose.
pub const COOKIE: &str = "switchboard_workspace";

/// What every workspace is built with.
#[derive(Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub hub: HubConfig,
    /// What every workspace's hub keeps, in bytes: one [`HubConfig::total_bytes`] for all.
    pub hub_bytes: Arc<std::sync::atomic::AtomicUsize>,
    pub inbox: InboxConfig,
    pub share_secret_patterns: Vec<String>,
    pub max_upload_bytes: u64,
    /// The workspace cookie is `Secure` (`SWITCHBOARD_COOKIE_SECURE`).
    pub cookie_secure: bool,
    /// Where a connected workspace's records go: a file of its own, or a schema of its own.
    pub database: DatabaseSettings,
    /// This replica's part of the cluster: who polls each inbox, and what replicas tell each other.
    pub cluster: Arc<Cluster>,
}

/// The stores a workspace's records are kept in: the one place that chooses their database.
pub struct WorkspaceStores {
    pub decisions: Arc<dyn DecisionStore>,
    pub policies: Arc<dyn PolicyStore>,
    pub rules: Arc<dyn RuleRows>,
    pub shares: Arc<dyn ShareRows>,
    pub imports: Arc<dyn ImportRows>,
    /// The calls the workspace's notifier told people of.
    pub told: Arc<dyn crate::notify::notify_rows::NotifyRows>,
}

impl WorkspaceStores {
    /// Every store in one database (SQLite's or PostgreSQL's).
    pub fn sql(pool: AnyPool) -> Self {
        Self {
            decisions: Arc::new(SqlDecisions::new(pool.clone())),
            policies: Arc::new(SqlPolicies::new(pool.clone())),
            rules: Arc::new(SqlRuleRows::new(pool.clone())),
            shares: Arc::new(SqlShareRows::new(pool.clone())),
            imports: Arc::new(SqlImportRows::new(pool.clone())),
            told: Arc::new(crate::notify::notify_rows::SqlNotifyRows::new(pool)),
        }
    }
}

/// One workspace: its upstream and the services that hold its records.
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub client: UpstreamClient,
    pub hub: Arc<Hub>,
    pub inbox: Arc<Inbox>,
    /// Writes entries that name this workspace.
    pub audit: Arc<AuditLog>,
    pub shares: Arc<Shares>,
    pub imports: Arc<Imports>,
    pub policies: Arc<Policies>,
    /// The decisions themselves (the notifier reads them), without the inbox's announcements.
    pub decision_store: Arc<dyn DecisionStore>,
    /// The calls its notifier told people of (`notified_calls` in its database).
    pub told: Arc<dyn crate::notify::notify_rows::NotifyRows>,
    /// A connected workspace's incoming webhooks (`POST /webhooks/anthropic/<id>`), once an admin
    /// set their signing secret; the default's are the router's (`SWITCHBOARD_WEBHOOK_SECRET`).
    webhooks: RwLock<Option<Arc<WebhookReceiver>>>,
    /// What [`Workspace::provide`] gives the Leptos app, made once.
    handles: Handles,
}

/// The handles of a workspace's services in the app's Leptos context.
struct Handles {
    summary: UpstreamSummary,
    upstream: UpstreamHandle,
    approvals: ApprovalsHandle,
    audit: AuditHandle,
    creators: domain::creators::server::CreatorsHandle,
    inbox: InboxHandle,
    shares: SharesHandle,
    imports: ImportsHandle,
    windows: WindowsHandle,
    /// Issues environment keys: the embedded engine's, on its workspace only.
    keys: Option<domain::work::keys::EnvironmentKeysHandle>,
}

impl Workspace {
    /// Starts the services of workspace `id` over `stores` (its records) and `client`.
    pub async fn open(
        config: &Config,
        id: &str,
        name: &str,
        mode: UpstreamMode,
        client: UpstreamClient,
        stores: WorkspaceStores,
        audit: Arc<AuditLog>,
    ) -> io::Result<Self> {
        let hub = Hub::sharing_budget(client.clone(), config.hub.clone(), config.hub_bytes.clone());
        let store = stores.decisions;
        let upstream = UpstreamHandle(Arc::new(client.clone()));
        let policies = Policies::new(stores.policies);
        let rules = RuleBook::open(stores.rules, audit.clone(), upstream.clone(), policies.clone())
            .await
            .map_err(|e| io::Error::other(format!("cannot read the approval rules of workspace {id}: {e}")))?;
        let replicated = Replicated { cluster: config.cluster.clone(), workspace: id.to_owned() };
        let deadlines = Deadlines::new(policies.clone(), audit.clone(), upstream.clone());
        let inbox = Inbox::new(
            upstream.clone(),
            store.clone(),
            Some(rules.clone()),
            Some(deadlines),
            config.inbox.clone(),
            replicated.clone(),
        );
        let shares = Shares::new(stores.shares, audit.clone(), hub.clone(), &config.share_secret_patterns)
            .map_err(io::Error::other)?;
        shares.replicate(replicated.clone());
        follow_the_other_replicas(&replicated, &policies, &rules, &shares);
        let imports = Imports::new(stores.imports);
        let handles = Handles {
            summary: UpstreamSummary {
                mode,
                base_url: client.base_url().to_owned(),
                key_configured: mode == UpstreamMode::Anthropic,
                data_dir: config.data_dir.display().to_string(),
                max_upload_bytes: config.max_upload_bytes,
            },
            approvals: ApprovalsHandle(Arc::new(ApprovalService::new(
                upstream.clone(),
                store.clone(),
                inbox.clone(),
                policies.clone(),
                rules,
                shares.clone(),
                replicated,
            ))),
            upstream,
            audit: AuditHandle(audit.clone()),
            creators: domain::creators::server::CreatorsHandle(Arc::new(audit.creators())),
            inbox: InboxHandle(inbox.clone()),
            shares: SharesHandle(shares.clone()),
            imports: ImportsHandle(imports.clone()),
            windows: WindowsHandle(Arc::new(crate::streams::hub::Windows(hub.clone()))),
            keys: None,
        };
        Ok(Self {
            id: id.to_owned(),
            name: name.to_owned(),
            client,
            hub,
            inbox,
            audit,
            shares,
            imports,
            policies,
            decision_store: store,
            told: stores.told,
            webhooks: RwLock::default(),
            handles,
        })
    }

    /// The approval service of this workspace: what a press in Slack decides through.
    pub fn approvals(&self) -> ApprovalsHandle {
        self.handles.approvals.clone()
    }

    /// The receiver of this workspace's webhooks, if their secret is set.
    pub fn webhooks(&self) -> Option<Arc<WebhookReceiver>> {
        self.webhooks.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Receives webhooks signed with `secret` from now on (none: refuses them all).
    fn receive_webhooks(&self, secret: Option<&str>) {
        let receiver = secret.and_then(|secret| WebhookReceiver::new(secret, self.inbox.clone()));
        *self.webhooks.write().unwrap_or_else(|e| e.into_inner()) = receiver;
    }

    pub fn is_default(&self) -> bool {
        self.id == DEFAULT_ID
    }

    pub fn choice(&self) -> Choice {
        Choice { id: self.id.clone(), name: self.name.clone() }
    }

    /// Provides this workspace's services to the Leptos app (pages and server functions).
    pub fn provide(&self) {
        use leptos::prelude::provide_context;
        let handles = &self.handles;
        provide_context(handles.summary.clone());
        provide_context(handles.upstream.clone());
        provide_context(handles.approvals.clone());
        provide_context(handles.audit.clone());
        provide_context(handles.creators.clone());
        provide_context(handles.inbox.clone());
        provide_context(handles.shares.clone());
        provide_context(handles.imports.clone());
        provide_context(handles.windows.clone());
        if let Some(keys) = &handles.keys {
            provide_context(keys.clone());
        }
    }

    /// This workspace's upstream issues environment keys (the embedded engine).
    pub fn with_environment_keys(mut self, keys: domain::work::keys::EnvironmentKeysHandle) -> Self {
        self.handles.keys = Some(keys);
        self
    }

    /// Puts the workspace on a request for the routes outside the Leptos app: itself, and each
    /// part a feature's handler takes on its own (`axum::Extension<Arc<Hub>>`), so that no feature
    /// needs to know what a workspace is.
    pub fn put_on(self: Arc<Self>, extensions: &mut http::Extensions) {
        extensions.insert(self.client.clone());
        extensions.insert(self.hub.clone());
        extensions.insert(self.inbox.clone());
        extensions.insert(self.audit.clone());
        extensions.insert(self.shares.clone());
        extensions.insert(self.imports.clone());
        extensions.insert(self);
    }

    /// Ends its streams and its inbox's poller.
    pub fn close(&self) {
        self.hub.close();
        self.inbox.close();
    }
}

/// What another replica changed that this one keeps a copy of: the policies, the live rules, the
/// revoked share links (their streams end). Ends when the workspace's services are dropped.
fn follow_the_other_replicas(
    replicated: &Replicated,
    policies: &Arc<Policies>,
    rules: &Arc<RuleBook>,
    shares: &Arc<Shares>,
) {
    let mut signals = replicated.cluster.signals();
    let workspace = replicated.workspace.clone();
    let (policies, rules, shares) = (Arc::downgrade(policies), Arc::downgrade(rules), Arc::downgrade(shares));
    tokio::spawn(async move {
        loop {
            let signal = match signals.recv().await {
                Ok(signal) => signal,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => Signal::Resync,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            let (Some(policies), Some(rules), Some(shares)) = (policies.upgrade(), rules.upgrade(), shares.upgrade())
            else {
                return;
            };
            match signal {
                Signal::PoliciesChanged { workspace: w } if w == workspace => policies.forget(),
                Signal::RulesChanged { workspace: w } if w == workspace => {
                    if let Err(error) = rules.reload().await {
                        tracing::warn!("the rules changed elsewhere could not be read again: {error}");
                    }
                }
                Signal::ShareRevoked { workspace: w, share_id } if w == workspace => shares.revoked_here(share_id),
                Signal::Resync => {
                    policies.forget();
                    let _ = rules.reload().await;
                    shares.resync().await;
                }
                _ => {}
            }
        }
    });
}

/// Every workspace, who may open which, and how to connect another.
pub struct Workspaces {
    default: Arc<Workspace>,
    /// The connected ones, in the order they were connected.
    others: RwLock<Vec<Arc<Workspace>>>,
    /// (workspace, account) → roles there.
    grants: RwLock<HashMap<(String, i64), Vec<Role>>>,
    /// The connected workspaces and the grants, as kept.
    rows: Arc<dyn WorkspaceRows>,
    /// The main audit log; a connected workspace writes its entries there, named.
    audit: Arc<AuditLog>,
    secret: Option<SecretKey>,
    config: Config,
    /// Held over a change of the grants and the reload after it, so that two changes at once
    /// cannot leave the older reading in memory.
    writes: tokio::sync::Mutex<()>,
}

impl Workspaces {
    /// The registry with the default workspace and every connected one the database names. A
    /// connected workspace whose key does not open (no or another `SWITCHBOARD_SECRET_KEY`), or
    /// whose records cannot be opened, is skipped with an error in the log: the others start.
    pub async fn open(
        default: Workspace,
        rows: Arc<dyn WorkspaceRows>,
        audit: Arc<AuditLog>,
        secret: Option<SecretKey>,
        config: Config,
    ) -> io::Result<Arc<Self>> {
        let this = Arc::new(Self {
            default: Arc::new(default),
            others: RwLock::default(),
            grants: RwLock::default(),
            rows,
            audit,
            secret,
            config,
            writes: tokio::sync::Mutex::new(()),
        });
        this.sync().await?;
        this.follow_the_other_replicas();
        Ok(this)
    }

    /// Serves the workspaces the database names, and no other: starts those not served yet,
    /// closes those gone; reads the grants again. At start, and when another replica connected,
    /// disconnected or granted one.
    async fn sync(&self) -> io::Result<()> {
        let stored = self.rows.all().await.map_err(|e| io::Error::other(format!("cannot read the workspaces: {e}")))?;
        let gone: Vec<Arc<Workspace>> = {
            let mut others = self.others.write().unwrap_or_else(|e| e.into_inner());
            others.extract_if(.., |w| !stored.iter().any(|r| r.id == w.id)).collect()
        };
        for workspace in gone {
            workspace.close();
        }
        for record in stored {
            if let Some(served) = self.get(&record.id) {
                // Its webhook secret may have been set or removed on another replica.
                served.receive_webhooks(self.webhook_secret(&record).as_deref());
                continue;
            }
            let (id, name, base_url) = (record.id, record.name, record.base_url);
            let sealed = record.sealed_key;
            let Some(key) = self.secret.as_ref().and_then(|secret| secret.open(&id, &base_url, &sealed)) else {
                tracing::error!(
                    "workspace {id} is not served: its key does not open without the SWITCHBOARD_SECRET_KEY it was \
                     stored with, or its row was changed since"
                );
                continue;
            };
            let webhook_secret = self.webhook_secret(&WorkspaceRecord {
                id: id.clone(),
                base_url: base_url.clone(),
                sealed_webhook_secret: record.sealed_webhook_secret,
                ..WorkspaceRecord::default()
            });
            match self.start(&id, &name, &base_url, ApiKey::new(key)).await {
                Ok(workspace) => {
                    workspace.receive_webhooks(webhook_secret.as_deref());
                    self.others.write().unwrap_or_else(|e| e.into_inner()).push(Arc::new(workspace))
                }
                Err(error) => tracing::error!("workspace {id} is not served: {error}"),
            }
        }
        self.reload_grants().await.map_err(|e| io::Error::other(format!("cannot read the workspace grants: {e}")))
    }

    /// Serves what another replica connected, disconnected or granted, at once.
    fn follow_the_other_replicas(self: &Arc<Self>) {
        let mut signals = self.config.cluster.signals();
        let this = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let signal = signals.recv().await;
                if matches!(signal, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                    return;
                }
                let Some(this) = this.upgrade() else { return };
                if matches!(
                    signal,
                    Ok(Signal::WorkspacesChanged | Signal::Resync)
                        | Err(tokio::sync::broadcast::error::RecvError::Lagged(_))
                ) {
                    let _writing = this.writes.lock().await;
                    if let Err(error) = this.sync().await {
                        tracing::warn!("the workspaces changed elsewhere could not be read again: {error}");
                    }
                }
            }
        });
    }

    /// `record`'s webhook secret, opened; `None` when none is set or it does not open (logged).
    fn webhook_secret(&self, record: &WorkspaceRecord) -> Option<String> {
        let sealed = record.sealed_webhook_secret.as_ref()?;
        let opened =
            self.secret.as_ref().and_then(|secret| secret.open(&webhook_seal_id(&record.id), &record.base_url, sealed));
        if opened.is_none() {
            tracing::error!("workspace {}'s webhook secret does not open: its webhooks are refused", record.id);
        }
        opened
    }

    /// Sets (or, empty, removes) a connected workspace's webhook signing secret.
    async fn set_webhook_one(&self, id: String, secret: String, by: String) -> Result<WorkspaceRow, AppError> {
        let id = id.trim().to_owned();
        if id == DEFAULT_ID {
            return Err(AppError::bad_input(
                "id",
                "The default workspace's webhooks are signed with SWITCHBOARD_WEBHOOK_SECRET and come to /webhooks/anthropic.",
            ));
        }
        let Some(workspace) = self.get(&id) else { return Err(not_found(&id)) };
        let secret = secret.trim().to_owned();
        if !secret.is_empty() && WebhookReceiver::new(&secret, workspace.inbox.clone()).is_none() {
            return Err(AppError::bad_input(
                "secret",
                "This is not a webhook signing secret: paste the one the endpoint's settings show, starting whsec_.",
            ));
        }
        let Some(key) = &self.secret else {
            return Err(AppError::internal("Switchboard has no SWITCHBOARD_SECRET_KEY to seal the secret with."));
        };
        let base_url = workspace.client.base_url().to_owned();
        let sealed = (!secret.is_empty()).then(|| key.seal(&webhook_seal_id(&id), &base_url, &secret));
        let writing = self.writes.lock().await;
        let set = self.rows.set_webhook_secret(&id, sealed).await.map_err(|e| {
            tracing::error!("workspace {id}'s webhook secret could not be stored: {e}");
            AppError::internal("The secret could not be stored. Try again; the server's log says why.")
        })?;
        if !set {
            return Err(not_found(&id));
        }
        workspace.receive_webhooks((!secret.is_empty()).then_some(secret.as_str()));
        drop(writing);
        tracing::info!(workspace = %id, by = %by, set = !secret.is_empty(), "set a workspace's webhook secret");
        self.changed().await;
        self.row(&id).await
    }

    /// Tells every replica the workspaces or grants changed.
    async fn changed(&self) {
        self.config.cluster.signal(Signal::WorkspacesChanged).await;
    }

    async fn start(&self, id: &str, name: &str, base_url: &str, key: ApiKey) -> io::Result<Workspace> {
        let cannot = |e: sqlx::Error| io::Error::other(format!("cannot open the database of workspace {id}: {e}"));
        let pool = match &self.config.database {
            DatabaseSettings::Sqlite => {
                let dir = self.config.data_dir.join("workspaces").join(id);
                std::fs::create_dir_all(&dir)?;
                crate::support::db::open(&dir).await.map_err(cannot)?
            }
            DatabaseSettings::Postgres { url, .. } => {
                let schema = crate::support::db::workspace_schema(id);
                crate::support::db::open_postgres(url.expose(), Some(&schema), 4).await.map_err(cannot)?
            }
        };
        let audit = Arc::new(self.audit.in_workspace(id));
        let client = UpstreamClient::new(base_url, key);
        let stores = WorkspaceStores::sql(pool);
        Workspace::open(&self.config, id, name, UpstreamMode::Anthropic, client, stores, audit).await
    }

    async fn reload_grants(&self) -> Result<(), StoreError> {
        let grants = self
            .rows
            .grants()
            .await?
            .into_iter()
            .map(|(workspace, user, roles)| ((workspace, user), parse_roles(&roles)))
            .collect();
        *self.grants.write().unwrap_or_else(|e| e.into_inner()) = grants;
        Ok(())
    }

    pub fn default_workspace(&self) -> Arc<Workspace> {
        self.default.clone()
    }

    /// Every workspace, the default first.
    pub fn all(&self) -> Vec<Arc<Workspace>> {
        let others = self.others.read().unwrap_or_else(|e| e.into_inner());
        std::iter::once(self.default.clone()).chain(others.iter().cloned()).collect()
    }

    /// The workspace `id` names (on every request: no list is made).
    pub fn get(&self, id: &str) -> Option<Arc<Workspace>> {
        if id == self.default.id {
            return Some(self.default.clone());
        }
        self.others.read().unwrap_or_else(|e| e.into_inner()).iter().find(|w| w.id == id).cloned()
    }

    /// The roles `principal` has in `workspace`; `None`: they may not open it.
    pub fn roles_in(&self, principal: &Principal, workspace: &Workspace) -> Option<Vec<Role>> {
        if workspace.is_default() || principal.roles.contains(&Role::Admin) {
            return Some(principal.roles.clone());
        }
        self.grants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(workspace.id.clone(), principal.user_id))
            .filter(|roles| !roles.is_empty())
            .cloned()
    }

    /// The workspace whose share link `token` is (the default when none knows it).
    async fn of_share(&self, token: &str) -> Arc<Workspace> {
        for workspace in self.all().into_iter().skip(1) {
            if workspace.shares.knows(token).await {
                return workspace;
            }
        }
        self.default.clone()
    }

    /// The `Set-Cookie` value that chooses workspace `id` for a year.
    fn cookie(&self, id: &str) -> HeaderValue {
        let secure = if self.config.cookie_secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000{secure}"))
            .expect("a checked workspace id is a cookie value")
    }

    /// Ends every workspace's streams and pollers.
    pub fn close(&self) {
        for workspace in self.all() {
            workspace.close();
        }
    }

    async fn row(&self, id: &str) -> Result<WorkspaceRow, AppError> {
        self.list_rows().await?.into_iter().find(|w| w.id == id).ok_or_else(|| not_found(id))
    }

    async fn list_rows(&self) -> Result<Vec<WorkspaceRow>, AppError> {
        let stored = self.rows.all().await.map_err(unreadable)?;
        let grants = self.rows.named_grants().await.map_err(unreadable)?;
        let default = WorkspaceRow {
            id: DEFAULT_ID.to_owned(),
            name: self.default.name.clone(),
            base_url: self.default.client.base_url().to_owned(),
            is_default: true,
            serving: true,
            created_by: String::new(),
            created_at: String::new(),
            grants: Vec::new(),
            webhook_path: "/webhooks/anthropic".to_owned(),
            webhook_secret_set: None,
        };
        Ok(std::iter::once(default)
            .chain(stored.into_iter().map(|record| {
                WorkspaceRow {
                    serving: self.get(&record.id).is_some(),
                    webhook_path: format!("/webhooks/anthropic/{}", record.id),
                    webhook_secret_set: Some(record.sealed_webhook_secret.is_some()),
                    grants: grants
                        .iter()
                        .filter(|(workspace, _, _)| *workspace == record.id)
                        .map(|(_, username, roles)| Grant { username: username.clone(), roles: roles.clone() })
                        .collect(),
                    name: record.name,
                    base_url: record.base_url,
                    is_default: false,
                    created_by: record.created_by,
                    created_at: record.created_at,
                    id: record.id,
                }
            }))
            .collect())
    }

    async fn connect_one(&self, form: ConnectForm, by: String) -> Result<WorkspaceRow, AppError> {
        let id = form.id.trim().to_owned();
        check_id(&id).map_err(|m| AppError::bad_input("id", m.to_string()))?;
        let name = form.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::bad_input("name", "Give the workspace a name of 1 to 60 characters, e.g. Staging."));
        }
        let base_url = form.base_url.trim().trim_end_matches('/').to_owned();
        check_base_url(&base_url).map_err(|m| AppError::bad_input("base_url", m.to_string()))?;
        crate::support::destinations::check_not_metadata(&base_url)
            .await
            .map_err(|m| AppError::bad_input("base_url", m.to_string()))?;
        let key = form.key.trim().to_owned();
        if key.is_empty() {
            return Err(AppError::bad_input("key", "Paste the workspace's API key."));
        }
        let Some(secret) = &self.secret else {
            return Err(AppError::new(
                ErrorKind::BadInput,
                "Switchboard cannot store a second key without SWITCHBOARD_SECRET_KEY, the key it seals keys with. \
                 Set it to 32 random bytes in base64 (openssl rand -base64 32), restart, and connect again.",
            ));
        };
        if self.get(&id).is_some() || self.all().iter().any(|w| w.name.eq_ignore_ascii_case(&name)) {
            return Err(AppError::new(ErrorKind::Conflict, format!("A workspace is already called {id} or {name}.")));
        }
        // The key must open the upstream before anything is stored.
        probe_key(&base_url, &key).await?;
        let workspace = self.start(&id, &name, &base_url, ApiKey::new(key.clone())).await.map_err(|e| {
            tracing::error!("workspace {id} could not be started: {e}");
            AppError::internal(
                "The workspace's records could not be opened in the data directory; the server's log says why.",
            )
        })?;
        let record = WorkspaceRecord {
            id: id.clone(),
            name: name.clone(),
            base_url: base_url.clone(),
            sealed_key: secret.seal(&id, &base_url, &key),
            sealed_webhook_secret: None,
            created_by: by.clone(),
            created_at: domain::format::rfc3339(time::OffsetDateTime::now_utc()),
        };
        // Held until it is served here, so that a sync for another replica's change cannot start
        // it a second time meanwhile.
        let writing = self.writes.lock().await;
        let kept = self.rows.insert(&record).await;
        if !matches!(kept, Ok(Kept::Yes)) {
            workspace.close();
        }
        match kept {
            Ok(Kept::Yes) => {}
            Ok(Kept::Taken) => {
                return Err(AppError::new(
                    ErrorKind::Conflict,
                    format!("A workspace is already called {id} or {name} (it may not be served: see the list)."),
                ));
            }
            Err(error) => {
                tracing::error!("workspace {id} could not be stored: {error}");
                return Err(AppError::internal(
                    "The workspace could not be stored. Try again; the server's log says why.",
                ));
            }
        }
        self.others.write().unwrap_or_else(|e| e.into_inner()).push(Arc::new(workspace));
        drop(writing);
        tracing::info!(workspace = %id, by = %by, "connected a workspace");
        self.changed().await;
        self.row(&id).await
    }

    async fn disconnect_one(&self, id: String) -> Result<(), AppError> {
        let id = id.trim().to_owned();
        if id == DEFAULT_ID {
            return Err(AppError::new(
                ErrorKind::BadInput,
                "The default workspace is Switchboard's own upstream; it cannot be disconnected.",
            ));
        }
        let _writing = self.writes.lock().await;
        let gone = self.rows.delete(&id).await.map_err(|e| {
            tracing::error!("workspace {id} could not be removed: {e}");
            AppError::internal("The workspace could not be disconnected. Try again; the server's log says why.")
        })?;
        let removed = {
            let mut others = self.others.write().unwrap_or_else(|e| e.into_inner());
            let at = others.iter().position(|w| w.id == id);
            at.map(|at| others.remove(at))
        };
        if !gone && removed.is_none() {
            return Err(not_found(&id));
        }
        if let Some(workspace) = removed {
            workspace.close();
        }
        let _ = self.reload_grants().await;
        drop(_writing);
        tracing::info!(workspace = %id, "disconnected a workspace");
        self.changed().await;
        Ok(())
    }

    async fn grant_one(&self, form: GrantForm) -> Result<WorkspaceRow, AppError> {
        let id = form.workspace_id.trim();
        if id == DEFAULT_ID {
            return Err(AppError::new(
                ErrorKind::BadInput,
                "In the default workspace people have their account's roles: change them on the People page.",
            ));
        }
        if self.get(id).is_none() {
            let stored = self.rows.all().await.map_err(unreadable)?.iter().any(|w| w.id == id);
            return Err(match stored {
                true => AppError::new(
                    ErrorKind::Conflict,
                    format!(
                        "Workspace {id} is not served: its key did not open at start (the server's log says why). \
                         Disconnect it and connect it again."
                    ),
                ),
                false => not_found(id),
            });
        }
        let roles = granted_roles(&form.roles)?;
        let _writing = self.writes.lock().await;
        let username = form.username.trim().to_lowercase();
        let user = self.rows.account(&username).await.map_err(|e| {
            tracing::error!("an account could not be read: {e}");
            AppError::internal("The account could not be read. Try again; the server's log says why.")
        })?;
        let Some(user) = user else {
            return Err(AppError::bad_input("username", format!("Nobody has the username {username}.")));
        };
        let roles_text = roles_text(&roles);
        let written = self.rows.set_grant(id, user, (!roles.is_empty()).then_some(roles_text.as_str())).await;
        written.map_err(|e| {
            tracing::error!("a workspace grant could not be written: {e}");
            AppError::internal("The roles could not be saved. Try again; the server's log says why.")
        })?;
        self.reload_grants().await.map_err(|e| {
            tracing::error!("the workspace grants could not be read: {e}");
            AppError::internal("The roles were saved but could not be read back; restart Switchboard.")
        })?;
        drop(_writing);
        self.changed().await;
        self.row(id).await
    }
}

/// Whether `key` opens the upstream at `base_url`: one list of a single agent.
async fn probe_key(base_url: &str, key: &str) -> Result<(), AppError> {
    let client = UpstreamClient::new(base_url.to_owned(), ApiKey::new(key.to_owned()));
    let probe: Result<serde_json::Value, _> =
        UpstreamHandle(Arc::new(client)).get("/v1/agents", vec![("limit".into(), "1".into())]).await;
    match probe {
        Ok(_) => Ok(()),
        // The generic words name ANTHROPIC_API_KEY, which is not the key at fault here.
        Err(UpstreamError::Api { status: 401 | 403, .. }) => Err(AppError::bad_input(
            "key",
            format!(
                "{base_url} refused this key. Check that it is the workspace's API key, and that it belongs to this address."
            ),
        )),
        Err(error) => Err(AppError::upstream("reach the workspace with this address and key", error)),
    }
}

/// The roles a grant form names, or what is wrong with them: only viewer, operator and
/// approver are granted per workspace.
fn granted_roles(text: &str) -> Result<Vec<Role>, AppError> {
    let unknown: Vec<&str> = text.split_whitespace().filter(|r| Role::parse(r).is_none()).collect();
    if !unknown.is_empty() {
        return Err(AppError::bad_input(
            "roles",
            format!(
                "{} is not a role: use viewer, operator, approver (admins are admins everywhere).",
                unknown.join(", ")
            ),
        ));
    }
    let roles = parse_roles(text);
    if roles.contains(&Role::Admin) {
        return Err(AppError::bad_input(
            "roles",
            "Admin is not granted per workspace: admins are admins in every workspace (People page).",
        ));
    }
    Ok(roles)
}

/// Whether a workspace may be reached at `base_url`: over https, or plain http on this machine
/// only (the key would cross the network in the clear).
fn check_base_url(base_url: &str) -> Result<(), BaseUrlProblem> {
    // The parser would quietly drop or encode whitespace, which is a pasting mistake here.
    if base_url.contains(char::is_whitespace) {
        return Err(BaseUrlProblem::Malformed);
    }
    let url = reqwest::Url::parse(base_url).map_err(|_| BaseUrlProblem::Malformed)?;
    // The host as the parser normalizes it (lower case, IPv4 in full, IPv6 compressed).
    let this_machine = match url.host_str() {
        Some(host) => matches!(host, "localhost" | "127.0.0.1" | "[::1]"),
        None => return Err(BaseUrlProblem::Malformed),
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if this_machine => Ok(()),
        "http" => Err(BaseUrlProblem::PlainHttp(base_url.to_owned())),
        _ => Err(BaseUrlProblem::Malformed),
    }
}

/// Why a workspace's base URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum BaseUrlProblem {
    #[error("The address is an https:// URL, e.g. https://api.anthropic.com.")]
    Malformed,
    #[error("{0} is plain http on another machine: the key would cross the network in the clear. Use https://.")]
    PlainHttp(String),
}

/// The answer when the workspaces' table cannot be read; the log has SQLite's words.
fn unreadable(error: StoreError) -> AppError {
    tracing::error!("the workspaces could not be read: {error}");
    AppError::internal("The workspaces could not be read. Try again; the server's log says why.")
}

fn not_found(id: &str) -> AppError {
    AppError::not_found(format!("There is no workspace {id}. It may have been disconnected; reload the page."))
}

impl WorkspaceAdmin for Workspaces {
    fn place(&self, principal: &Principal, current: &str) -> Place {
        let choices: Vec<Choice> =
            self.all().iter().filter(|w| self.roles_in(principal, w).is_some()).map(|w| w.choice()).collect();
        let current = choices.iter().find(|c| c.id == current).cloned().unwrap_or_else(|| self.default.choice());
        Place { current, choices }
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<WorkspaceRow>, AppError>> {
        Box::pin(self.list_rows())
    }

    fn connect(&self, form: ConnectForm, by: String) -> BoxFuture<'_, Result<WorkspaceRow, AppError>> {
        Box::pin(self.connect_one(form, by))
    }

    fn set_webhook(&self, id: String, secret: String, by: String) -> BoxFuture<'_, Result<WorkspaceRow, AppError>> {
        Box::pin(self.set_webhook_one(id, secret, by))
    }

    fn disconnect(&self, id: String) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(self.disconnect_one(id))
    }

    fn grant(&self, form: GrantForm) -> BoxFuture<'_, Result<WorkspaceRow, AppError>> {
        Box::pin(self.grant_one(form))
    }
}

/// Whether `path` (and query) is a share link's, and its token.
fn share_token<'a>(path: &'a str, query: Option<&'a str>) -> Option<std::borrow::Cow<'a, str>> {
    if let Some(rest) = path.strip_prefix("/share/").or_else(|| path.strip_prefix("/api/shares/"))
        && let Some(token) = rest.split('/').next()
        && token.len() == 64
    {
        return Some(token.into());
    }
    if matches!(path, "/api/shares/open" | "/api/shares/first_screen") {
        return form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == "token").map(|(_, v)| v);
    }
    None
}

/// `POST /webhooks/anthropic/{workspace}`: a connected workspace's, checked with its own secret;
/// 404 for a workspace not served, the default (whose path is `/webhooks/anthropic`), or one
/// without a secret.
pub async fn receive_webhook(
    State(workspaces): State<Arc<Workspaces>>,
    axum::extract::Path(workspace): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    body: bytes::Bytes,
) -> Response {
    let receiver = workspaces.get(&workspace).filter(|w| !w.is_default()).and_then(|w| w.webhooks());
    crate::notify::webhooks::receive(State(receiver), headers, body).await
}

/// What a workspace's webhook secret is sealed for (with its address), apart from its API key.
fn webhook_seal_id(id: &str) -> String {
    format!("{id}/webhook")
}

/// Puts the request's [`Workspace`] (and its [`Choice`]) on it, and makes the person's roles
/// their roles there. Runs after [`crate::access::authenticate`] and before everything that
/// judges roles or writes the audit log.
pub async fn select(State(workspaces): State<Arc<Workspaces>>, mut request: Request, next: Next) -> Response {
    let (path, query) = (request.uri().path(), request.uri().query());
    let mut asked = None;
    let mut remember = false;
    let workspace = if let Some(caller) = request.extensions().get::<TokenCaller>().cloned() {
        token_workspace(&workspaces, &caller, &mut request)
    } else if let Some(token) = share_token(path, query) {
        // The link's token is the credential. A person signed in keeps their roles there only if
        // they have some in the link's workspace; otherwise the page is theirs as it is anyone's,
        // signed out, so that nothing else on it (the navigation) reads that workspace for them.
        let workspace = workspaces.of_share(&token).await;
        match request.extensions().get::<Principal>().map(|p| workspaces.roles_in(p, &workspace)) {
            Some(Some(roles)) => {
                if let Some(principal) = request.extensions_mut().get_mut::<Principal>() {
                    principal.roles = roles;
                }
            }
            Some(None) => {
                request.extensions_mut().remove::<Principal>();
            }
            None => {}
        }
        workspace
    } else {
        // A page's address may name its workspace (`?workspace=staging`: the links in
        // notifications do). The page is shown there; the choice holds for the browser, as if
        // made in the navigation, only when the person went there from Switchboard itself or by
        // hand: a link on another site must not change where their next clicks act.
        asked = linked_workspace(request.method(), path, query);
        remember = asked.is_some() && !from_another_site(request.uri(), request.headers());
        let named = asked.clone().or_else(|| crate::access::cookie(request.headers(), COOKIE).map(str::to_owned));
        let chosen = named.and_then(|id| workspaces.get(&id)).unwrap_or_else(|| workspaces.default_workspace());
        let principal = request.extensions().get::<Principal>().cloned();
        match principal.as_ref().map(|p| workspaces.roles_in(p, &chosen)) {
            // Signed in with roles there: they are the roles of this request.
            Some(Some(roles)) => {
                if let Some(principal) = request.extensions_mut().get_mut::<Principal>() {
                    principal.roles = roles;
                }
                // A stream of this request ends within a heartbeat of the grant's removal.
                if let (Some(principal), Some(check)) =
                    (principal, request.extensions_mut().get_mut::<crate::access::LoginCheck>())
                    && !chosen.is_default()
                {
                    let (workspaces, workspace) = (workspaces.clone(), chosen.clone());
                    check.while_granted(move || workspaces.roles_in(&principal, &workspace).is_some());
                }
                chosen
            }
            // Chosen before a grant was taken away, or a cookie naming someone else's: the default.
            Some(None) => workspaces.default_workspace(),
            // Signed out: nothing of a workspace opens, the login page is the default's.
            None => workspaces.default_workspace(),
        }
    };
    // A link from another site to a page of a workspace other than the browser's: the page's
    // later requests (its stream, its decisions) would act in the browser's workspace, so the
    // person is asked first, and one click (the switch, a same-site POST) opens the page there.
    if asked.as_deref() == Some(workspace.id.as_str())
        && !remember
        && let Some(principal) = request.extensions().get::<Principal>()
    {
        let current = crate::access::cookie(request.headers(), COOKIE)
            .and_then(|id| workspaces.get(id))
            .filter(|current| workspaces.roles_in(principal, current).is_some())
            .unwrap_or_else(|| workspaces.default_workspace());
        if current.id != workspace.id {
            let next = without_workspace(request.uri().path(), request.uri().query());
            return confirm_page(&workspace, &current, &next);
        }
    }
    let cookie = asked.filter(|id| remember && *id == workspace.id).map(|id| workspaces.cookie(&id));
    request.extensions_mut().insert(workspace.choice());
    workspace.put_on(request.extensions_mut());
    let mut response = next.run(request).await;
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The workspace of a program's token (`crate::gateway`), with those of its roles that the person
/// still holds there made the request's; none, and it is refused as if it were revoked.
fn token_workspace(workspaces: &Workspaces, caller: &TokenCaller, request: &mut Request) -> Arc<Workspace> {
    let workspace = workspaces.get(&caller.workspace);
    let held = match (&workspace, request.extensions().get::<Principal>()) {
        // A service caller's roles are its groups' (`access::service_callers`): the operator
        // mapped them and named its workspace, so they hold there without a grant.
        (Some(_), Some(_)) if matches!(caller.source, CallerSource::Provider { mapped: true, .. }) => {
            Some(caller.roles.clone()).filter(|roles| !roles.is_empty())
        }
        (Some(workspace), Some(principal)) => workspaces
            .roles_in(principal, workspace)
            .map(|roles| domain::tokens::roles_held(&Principal { roles, ..principal.clone() }, &caller.roles))
            .filter(|roles| !roles.is_empty()),
        _ => None,
    };
    match held {
        Some(roles) => {
            if let Some(principal) = request.extensions_mut().get_mut::<Principal>() {
                principal.roles = roles;
            }
        }
        None => {
            request.extensions_mut().remove::<Principal>();
            let why = match &workspace {
                None => format!("This token's workspace, {}, is no longer served here.", caller.workspace),
                Some(_) => format!(
                    "This token's owner no longer holds any of its roles in the workspace {}.",
                    caller.workspace
                ),
            };
            request.extensions_mut().insert(TokenRefused(why));
        }
    }
    workspace.unwrap_or_else(|| workspaces.default_workspace())
}

/// The workspace a page's address names (`GET /sessions/…?workspace=staging`); never an
/// endpoint's, whose workspace is the browser's.
fn linked_workspace(method: &axum::http::Method, path: &str, query: Option<&str>) -> Option<String> {
    let page = *method == axum::http::Method::GET && !path.starts_with("/api/") && !path.starts_with("/auth/");
    if !page {
        return None;
    }
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "workspace")
        .map(|(_, v)| v.into_owned())
        .filter(|id| id == DEFAULT_ID || check_id(id).is_ok())
}

/// `path?query` without its `workspace` parameter: where a confirmed switch goes.
fn without_workspace(path: &str, query: Option<&str>) -> String {
    let kept: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k != "workspace")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        return path.to_owned();
    }
    format!("{path}?{}", form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish())
}

/// The page a link from another site gets when it names another workspace than the browser's:
/// what the link opens, where, and a button that switches and opens it.
fn confirm_page(linked: &Workspace, current: &Workspace, next: &str) -> Response {
    let escape = |text: &str| html_escape::encode_double_quoted_attribute(text).into_owned();
    let (linked_name, current_name) = (escape(&linked.name), escape(&current.name));
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Open in {linked_name}? · Switchboard</title>\
         <h1>Open this page in {linked_name}?</h1>\
         <p>A link from another site opens <code>{}</code> in the workspace {linked_name}. You are \
         working in {current_name}; switching changes where your next clicks act.</p>\
         <form method=\"post\" action=\"/auth/workspace\">\
         <input type=\"hidden\" name=\"workspace\" value=\"{}\">\
         <input type=\"hidden\" name=\"next\" value=\"{}\">\
         <button type=\"submit\" autofocus>Switch to {linked_name} and open it</button></form>\
         <p><a href=\"/\">Stay in {current_name}</a></p></html>",
        escape(next),
        escape(&linked.id),
        escape(next),
    );
    axum::response::Html(page).into_response()
}

/// Whether a request may not change the person's workspace: it came from a page of another site,
/// or nothing says where it came from. Browsers say it in `Sec-Fetch-Site`: `same-origin` comes
/// from Switchboard's own pages and `none` from the person (an address typed, a bookmark, another
/// application); anything else, `same-site` included (a sibling subdomain is another site here),
/// may not. Without that header (an older browser), an `Origin` or `Referer` with the request's
/// own host and port (its `Host`) may; anything else, or neither, may not.
fn from_another_site(uri: &axum::http::Uri, headers: &axum::http::HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    let own = uri
        .authority()
        .cloned()
        .or_else(|| headers.get(header::HOST)?.to_str().ok()?.parse::<axum::http::uri::Authority>().ok())
        .map(|authority| authority.as_str().to_ascii_lowercase());
    let sources: Vec<_> = [header::ORIGIN, header::REFERER].into_iter().filter_map(|name| headers.get(name)).collect();
    sources.is_empty()
        || sources.into_iter().any(|value| {
            // `Origin: null` (an opaque origin) is another site's, as is anything unreadable.
            let source = value.to_str().ok().and_then(|v| reqwest::Url::parse(v).ok());
            let source = source.and_then(|url| {
                let host = url.host_str()?.to_ascii_lowercase();
                Some(match url.port() {
                    Some(port) => format!("{host}:{port}"),
                    None => host,
                })
            });
            source.is_none() || source != own
        })
}

#[derive(Deserialize)]
pub struct SwitchForm {
    workspace: String,
    /// Where to go once switched: a path of Switchboard's own (the page a link from another site
    /// named); the overview when absent or anything else.
    #[serde(default)]
    next: Option<String>,
}

/// `POST /auth/workspace`: the navigation's workspace switch. Sets the cookie when the person may
/// open the workspace, and goes to its overview (the ids of the page they were on are the other
/// workspace's), or to `next`, the page a link from another site named ([`select`]).
pub async fn switch(
    State(workspaces): State<Arc<Workspaces>>,
    axum::Extension(principal): axum::Extension<Principal>,
    Form(form): Form<SwitchForm>,
) -> Response {
    let Some(workspace) = workspaces.get(form.workspace.trim()) else {
        return refused_page(
            StatusCode::NOT_FOUND,
            "There is no such workspace. It may have been disconnected: go back and reload the page.",
        );
    };
    // Who may open which does not depend on the roles of the current one (admins are admins
    // in every workspace).
    if workspaces.roles_in(&principal, &workspace).is_none() {
        return refused_page(
            StatusCode::FORBIDDEN,
            &format!("You have no roles in {}. Ask an admin if you need them.", workspace.name),
        );
    }
    // Only a path of this site, by the sign-in form's rule (no `//host`, no `/\\host`, no control
    // characters a browser would drop).
    let next = crate::access::forms::safe_next(form.next.as_deref().unwrap_or("/"));
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().append(header::SET_COOKIE, workspaces.cookie(&workspace.id));
    response
}

/// The small page a refused switch answers (the switch is a plain form: its answer is a page).
fn refused_page(status: StatusCode, message: &str) -> Response {
    crate::access::refusal_page(
        status,
        ("Workspace", "The workspace was not changed"),
        message,
        ("/", "Go to the overview"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workspace_is_reached_over_https_or_on_this_machine() {
        for ok in ["https://api.anthropic.com", "http://127.0.0.1:4010", "http://localhost:4010", "http://[::1]:4010"] {
            assert!(check_base_url(ok).is_ok(), "{ok}");
        }
        for bad in
            ["http://engine.internal:4010", "ftp://x", "https://a b", "https://", "http://127.0.0.1.evil.example"]
        {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_navigation_from_another_site_is_from_another_site() {
        let from = |pairs: &[(&'static str, &str)]| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_static("sb.example.com:3000"));
            for (name, value) in pairs {
                headers.insert(*name, HeaderValue::from_str(value).unwrap());
            }
            from_another_site(&"/sessions/s?workspace=b".parse().unwrap(), &headers)
        };
        assert!(from(&[("sec-fetch-site", "cross-site")]));
        assert!(from(&[("sec-fetch-site", "same-site")]), "a sibling subdomain is another site");
        assert!(from(&[("sec-fetch-site", "something-new")]), "a value this does not know");
        for site in ["same-origin", "none"] {
            assert!(!from(&[("sec-fetch-site", site)]), "{site}");
            assert!(!from(&[("sec-fetch-site", site), ("referer", "https://evil.example/")]), "the header decides");
        }
        // Without Sec-Fetch-Site: Origin and Referer, compared by host and port; neither: not
        // known to be Switchboard's own.
        assert!(from(&[]), "nothing says where it came from");
        assert!(!from(&[("referer", "http://SB.example.com:3000/inbox")]));
        assert!(!from(&[("origin", "https://sb.example.com:3000")]));
        assert!(from(&[("origin", "https://sb.example.com")]), "another port");
        assert!(from(&[("referer", "https://mail.example.net/inbox")]));
        assert!(from(&[("origin", "null")]));
        assert!(from(&[("origin", "https://sb.example.com.evil.example:3000")]));
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("[::1]:3000"));
        headers.insert(header::REFERER, HeaderValue::from_static("http://[::1]:3000/"));
        assert!(!from_another_site(&"/".parse().unwrap(), &headers), "an IPv6 host");
    }

    #[test]
    fn a_share_links_requests_are_found_by_their_token() {
        let token = "a".repeat(64);
        assert_eq!(share_token(&format!("/share/{token}"), None).as_deref(), Some(token.as_str()));
        assert_eq!(share_token(&format!("/api/shares/{token}/stream"), None).as_deref(), Some(token.as_str()));
        let query = format!("token={token}&event=x");
        assert_eq!(share_token("/api/shares/open", Some(&query)).as_deref(), Some(token.as_str()));
        assert_eq!(share_token("/api/shares/list", None), None);
        assert_eq!(share_token("/sessions/sesn_1", None), None);
    }
}
