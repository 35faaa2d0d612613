//! Builds the router and binds the listener; `main` and the integration tests both start here.

use std::{io, net::SocketAddr};

use std::sync::{Arc, atomic::AtomicBool};

use axum::{Router, serve::ListenerExt};
use domain::{error::AppError, work::EnvironmentKeyRow as KeyRow, workspaces::DEFAULT_ID};
use tokio::net::TcpListener;

use super::{
    observe::{self, Observe, Readiness},
    router::{Services, router},
};
use crate::{
    access::{self, Access, accounts::Accounts, session_store::LoginSessions},
    approvals::inbox::InboxConfig,
    audit::AuditLog,
    notify::webhooks::WebhookReceiver,
    notify::{Notifier, NotifierStores, Notifiers},
    settings::{ApiKey, DatabaseSettings, Settings, UpstreamSettings},
    streams::hub::HubConfig,
    support::{
        cluster::{Cluster, Signal},
        keys::KeyStore,
    },
    tenancy::workspaces::{self, Workspace, Workspaces},
    upstream::UpstreamClient,
};

/// A bound, not yet running, Switchboard server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    workspaces: Arc<Workspaces>,
    /// Where the embedded engine listens, when it is the upstream.
    engine: Option<EmbeddedEngine>,
    access: Arc<Access>,
    /// This replica's part of the cluster (on SQLite, the one process).
    cluster: Arc<Cluster>,
    /// `SWITCHBOARD_METRICS_LISTEN`'s listener, and its router (`/metrics` alone).
    metrics: Option<(TcpListener, Router)>,
}

/// The embedded engine, started in this process on a loopback port with a random key. The
/// console talks to it over HTTP like to any upstream.
pub struct EmbeddedEngine {
    pub base_url: String,
    engine: engine::Engine,
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Prepares the data directory, binds `settings.listen` (port 0 picks a free port) and builds
    /// the router.
    pub async fn build(settings: Settings) -> io::Result<Self> {
        let open = engine::private::make_private_dir(&settings.data_dir).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot create the data directory {}: {e}", settings.data_dir.display()))
        })?;
        if let Some(warning) = open {
            tracing::warn!("{warning}");
        }
        // Before anything records: a feature's gauges and counters are found once, when it starts.
        let recorder = settings.metrics.wanted().then(observe::install_recorder).transpose()?;
        let listener = TcpListener::bind(settings.listen).await.map_err(|e| {
            io::Error::new(e.kind(), format!("cannot listen on {} (SWITCHBOARD_LISTEN): {e}", settings.listen))
        })?;
        let metrics = metrics_listener(&settings, recorder.as_ref()).await?;
        // The embedded engine's webhooks come back here, signed with a secret made now unless one
        // is set.
        let webhook_secret = match (&settings.webhook_secret, &settings.upstream) {
            (Some(secret), _) => Some(secret.0.clone()),
            (None, UpstreamSettings::Embedded) => Some(engine::webhooks::generate_secret()),
            (None, UpstreamSettings::Anthropic { .. }) => None,
        };
        let (engine, client) = upstream(&settings, listener.local_addr()?, webhook_secret.as_deref()).await?;
        let (pool, cluster, keys) = open_database(&settings).await?;
        let access = open_access(&settings, pool.clone(), &keys, &cluster.replica).await?;
        // `/readyz`'s check of the main database: one `SELECT 1`.
        let main = pool.clone();
        let database: observe::DatabaseCheck = Box::new(move || {
            let main = main.clone();
            Box::pin(async move { sqlx::query("SELECT 1").execute(&main).await.is_ok() })
        });
        let readiness = Readiness::new(database, client.clone());
        let observe = Arc::new(Observe::new(recorder, &settings.metrics, readiness));
        let keys_of_engine = engine.as_ref().map(|embedded| EngineKeys::handle(embedded.engine.clone()));
        let workspaces =
            open_workspaces(&settings, client, pool.clone(), &access, cluster.clone(), keys_of_engine).await?;
        let inbox = workspaces.default_workspace().inbox.clone();
        let link_key =
            keys.key("link").await.map_err(|e| io::Error::other(format!("cannot read the link key: {e}")))?;
        let notifiers = open_notifiers(
            &settings,
            listener.local_addr()?,
            pool.clone(),
            &access,
            &workspaces,
            (link_key.clone(), cluster.clone()),
        )
        .await?;
        let slack = crate::slack::Slack::open(crate::slack::SlackParts {
            rows: Arc::new(crate::slack::slack_rows::SqlSlackRows::new(pool.clone())),
            api_url: settings.notify.slack_api_url.clone(),
            desks: Arc::new(crate::tenancy::desks::WorkspaceDesks {
                workspaces: workspaces.clone(),
                accounts: access.accounts.clone(),
            }),
            seal: settings.secret_key.as_ref().map(crate::settings::SecretKey::channels_key),
            link_key,
            public_url: settings
                .notify
                .public_url
                .clone()
                .unwrap_or_else(|| own_origin(listener.local_addr().expect("bound"))),
            cluster: cluster.clone(),
        })?;
        slack.seal_apps().await.map_err(|e| io::Error::other(format!("cannot seal the Slack apps: {e}")))?;
        slack.start();
        let webhooks = webhook_secret.and_then(|secret| WebhookReceiver::new(&secret, inbox));
        relay_ended_logins(&access, &cluster);
        let sessions = LoginSessions::sql(pool);
        spawn_housekeeping(access.clone(), sessions.clone(), settings.access.audit_retention_days);
        let router = router(
            &settings,
            listener.local_addr()?,
            Services { workspaces: workspaces.clone(), access: access.clone(), webhooks, notifiers, slack, observe },
            sessions,
        );
        Ok(Self { listener, router, workspaces, engine, access, metrics, cluster })
    }

    /// The one-time link that creates the first admin, while no account exists.
    pub fn setup_link(&self) -> Option<String> {
        self.access
            .needs_setup
            .load(std::sync::atomic::Ordering::Relaxed)
            .then(|| format!("http://{}/setup?token={}", self.local_addr(), self.access.setup_token))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Where `/metrics` is served on a listener of its own (`SWITCHBOARD_METRICS_LISTEN`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// Serves until `shutdown` completes, then lets open requests finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> io::Result<()> {
        if let Some(engine) = self.engine {
            tokio::spawn(async move {
                let listener = engine.listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                if let Err(error) = axum::serve(listener, engine.router).await {
                    tracing::error!("the embedded engine stopped: {error}");
                }
            });
        }
        // Ends with the console (the handle aborts it when dropped).
        let _metrics = self.metrics.map(|(listener, router)| {
            AbortOnDrop(tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, router).await {
                    tracing::error!("the metrics listener stopped: {error}");
                }
            }))
        });
        let (workspaces, cluster) = (self.workspaces, self.cluster);
        let shutdown = async move {
            shutdown.await;
            // Open event streams would keep a graceful shutdown waiting forever.
            workspaces.close();
            // Another replica takes over the inbox's poller and the notifier now.
            cluster.leave().await;
        };
        // Event streams write small frames: without TCP_NODELAY, Nagle's algorithm holds one
        // back until the browser acknowledges the last.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!("TCP_NODELAY could not be set: {error}");
            }
        });
        // The peer address goes into audit entries and the sign-in throttle.
        axum::serve(listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await
    }

    /// The embedded engine's base URL, when it is the upstream.
    pub fn engine_url(&self) -> Option<&str> {
        self.engine.as_ref().map(|e| e.base_url.as_str())
    }
}

/// A task that ends when this is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `SWITCHBOARD_METRICS_LISTEN`, bound, with its router; `None` when it is not set.
async fn metrics_listener(
    settings: &Settings,
    recorder: Option<&metrics_exporter_prometheus::PrometheusHandle>,
) -> io::Result<Option<(TcpListener, Router)>> {
    let (Some(addr), Some(recorder)) = (settings.metrics.listen, recorder) else { return Ok(None) };
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr} (SWITCHBOARD_METRICS_LISTEN): {e}")))?;
    tracing::info!("serving /metrics on http://{}/metrics", listener.local_addr()?);
    Ok(Some((listener, observe::metrics_router(recorder.clone(), settings.metrics.token.clone()))))
}

/// A login that ends on this replica is told to every replica; one that ended on any (or a
/// workspace's grants changed) has every open stream here check its own at once.
fn relay_ended_logins(access: &Arc<Access>, cluster: &Arc<Cluster>) {
    let (mut ended, to_tell) = (access.accounts.ended_here(), Arc::downgrade(cluster));
    tokio::spawn(async move {
        while ended.changed().await.is_ok() {
            let Some(cluster) = to_tell.upgrade() else { return };
            cluster.signal(Signal::LoginEnded).await;
        }
    });
    let (mut signals, accounts) = (cluster.signals(), Arc::downgrade(&access.accounts));
    tokio::spawn(async move {
        loop {
            let signal = signals.recv().await;
            let Some(accounts) = accounts.upgrade() else { return };
            match signal {
                Ok(Signal::LoginEnded | Signal::WorkspacesChanged | Signal::Resync)
                | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => accounts.recheck_logins(),
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

/// Switchboard's database, this replica's part of the cluster and where its keys are: SQLite in
/// the data directory (keys in files beside it), or PostgreSQL (keys in it, sealed).
async fn open_database(settings: &Settings) -> io::Result<(sqlx::AnyPool, Arc<Cluster>, KeyStore)> {
    match &settings.database {
        DatabaseSettings::Sqlite => {
            let pool = access::session_store::open_main_database(&settings.data_dir).await.map_err(|e| {
                io::Error::other(format!("cannot open Switchboard's database in {}: {e}", settings.data_dir.display()))
            })?;
            let cluster = Cluster::single(pool.clone()).await.map_err(io::Error::other)?;
            Ok((pool, cluster, KeyStore::Files(settings.data_dir.clone())))
        }
        DatabaseSettings::Postgres { url, connections } => {
            // The URL may hold a password: errors name the setting only, and sqlx's own words.
            let pool = crate::support::db::open_postgres(url.expose(), None, *connections).await.map_err(|e| {
                io::Error::other(format!("cannot open the database SWITCHBOARD_DATABASE_URL names: {e}"))
            })?;
            let cluster = Cluster::start(pool.clone(), Some(url.expose())).await.map_err(|e| {
                io::Error::other(format!("cannot listen to the other replicas on SWITCHBOARD_DATABASE_URL: {e}"))
            })?;
            let secret = settings.secret_key.as_ref().expect("the settings ask PostgreSQL for a secret key");
            let keys = KeyStore::Database { pool: pool.clone(), seal: secret.keys_key() };
            tracing::info!(replica = %cluster.replica, "Switchboard's records are in PostgreSQL, shared with any other replica");
            Ok((pool, cluster, keys))
        }
    }
}

/// Where this Switchboard's own `/webhooks/anthropic` is, from the address it listens on (a
/// wildcard address is reached on loopback).
fn own_webhook_url(listening: SocketAddr) -> String {
    format!("{}/webhooks/anthropic", own_origin(listening))
}

/// `http://` and the address Switchboard listens on (a wildcard address is reached on loopback).
fn own_origin(listening: SocketAddr) -> String {
    let host = match listening.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("http://{host}:{}", listening.port())
}

/// The upstream: the embedded engine, started here with a random key (its webhooks signed with
/// `webhook_secret` and sent to `listening`), or Anthropic's API.
async fn upstream(
    settings: &Settings,
    listening: SocketAddr,
    webhook_secret: Option<&str>,
) -> io::Result<(Option<EmbeddedEngine>, UpstreamClient)> {
    match &settings.upstream {
        UpstreamSettings::Embedded => {
            let key = ApiKey::new(engine::generate_api_key());
            let webhook = webhook_secret.map(|secret| (own_webhook_url(listening), secret));
            let engine = start_engine(settings, &key, webhook).await?;
            let client = UpstreamClient::new(engine.base_url.clone(), key);
            Ok((Some(engine), client))
        }
        UpstreamSettings::Anthropic { base_url, api_key } => {
            Ok((None, UpstreamClient::new(base_url.clone(), api_key.clone())))
        }
    }
}

/// The default workspace over `client` and the main database (its audit entries name no
/// workspace), and every connected one.
async fn open_workspaces(
    settings: &Settings,
    client: UpstreamClient,
    pool: sqlx::AnyPool,
    access: &Access,
    cluster: Arc<Cluster>,
    keys: Option<domain::work::keys::EnvironmentKeysHandle>,
) -> io::Result<Arc<Workspaces>> {
    let config = workspaces::Config {
        data_dir: settings.data_dir.clone(),
        hub: HubConfig { grace: settings.stream_grace, heartbeat: settings.heartbeat, ..HubConfig::default() },
        hub_bytes: Arc::default(),
        inbox: InboxConfig {
            poll: settings.inbox.poll,
            amber: settings.inbox.amber,
            red: settings.inbox.red,
            heartbeat: settings.heartbeat,
            ..InboxConfig::default()
        },
        share_secret_patterns: settings.share_secret_patterns.clone(),
        max_upload_bytes: settings.max_upload_bytes,
        cookie_secure: settings.access.cookie_secure,
        database: settings.database.clone(),
        cluster,
    };
    let mode = settings.upstream.mode();
    let stores = workspaces::WorkspaceStores::sql(pool.clone());
    let mut default =
        Workspace::open(&config, DEFAULT_ID, "Default", mode, client, stores, access.audit.clone()).await?;
    if let Some(keys) = keys {
        default = default.with_environment_keys(keys);
    }
    let rows = Arc::new(crate::tenancy::workspace_rows::SqlWorkspaceRows::new(pool));
    Workspaces::open(default, rows, access.audit.clone(), settings.secret_key.clone(), config).await
}

/// Email and webhooks about waiting calls (the default workspace's), with their channels sealed.
/// Every workspace's notifier, each run by one replica (its lease: `notifier` for the default
/// workspace, `notifier:<id>` for a connected one), and a connected workspace's started once it is
/// found (a look every 2 s, in memory; again when it was connected anew).
async fn open_notifiers(
    settings: &Settings,
    listening: SocketAddr,
    pool: sqlx::AnyPool,
    access: &Access,
    workspaces: &Arc<Workspaces>,
    (link_key, cluster): (Vec<u8>, Arc<crate::support::cluster::Cluster>),
) -> io::Result<Arc<Notifiers>> {
    let public_url = settings.notify.public_url.clone().unwrap_or_else(|| own_origin(listening));
    let rows: Arc<dyn crate::notify::notify_rows::NotifyRows> =
        Arc::new(crate::notify::notify_rows::SqlNotifyRows::new(pool));
    let seal = settings.secret_key.as_ref().map(crate::settings::SecretKey::channels_key);
    let open = {
        let (settings, accounts, workspaces) = (settings.notify.clone(), access.accounts.clone(), workspaces.clone());
        move |workspace: &Workspace| {
            let may_decide: crate::notify::MayDecide = {
                let (workspaces, id) = (workspaces.clone(), workspace.id.clone());
                Arc::new(move |person| {
                    let roles = workspaces.get(&id).and_then(|w| workspaces.roles_in(person, &w)).unwrap_or_default();
                    roles.contains(&domain::auth::Role::Approver) || roles.contains(&domain::auth::Role::Admin)
                })
            };
            Notifier::open(
                rows.clone(),
                public_url.clone(),
                link_key.clone(),
                settings.clone(),
                NotifierStores {
                    accounts: accounts.clone(),
                    workspace: (workspace.id.clone(), workspace.name.clone()),
                    inbox: workspace.inbox.clone(),
                    decisions: workspace.decision_store.clone(),
                    policies: workspace.policies.clone(),
                    audit: workspace.audit.clone(),
                    told: workspace.told.clone(),
                    may_decide,
                },
                seal.clone(),
            )
        }
    };
    let home = workspaces.default_workspace();
    let notifier = open(&home)?;
    notifier
        .seal_channels()
        .await
        .map_err(|e| io::Error::other(format!("cannot seal the notification channels: {e}")))?;
    notifier.clone().run(cluster.lease("notifier"));
    let notifiers = Notifiers::new(notifier);
    let (found, weak) = (workspaces.clone(), Arc::downgrade(&notifiers));
    tokio::spawn(async move {
        loop {
            let Some(notifiers) = weak.upgrade() else { return };
            for workspace in found.all().into_iter().filter(|w| !w.is_default()) {
                if notifiers.follows(&workspace.id, &workspace.inbox) {
                    continue;
                }
                match open(&workspace) {
                    Ok(notifier) => {
                        notifier.clone().run(cluster.lease(&format!("notifier:{}", workspace.id)));
                        notifiers.add(notifier);
                    }
                    Err(error) => tracing::warn!(workspace = workspace.id, "no notifier for a workspace: {error}"),
                }
            }
            drop(notifiers);
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        }
    });
    Ok(notifiers)
}

/// The embedded engine as the issuer of environment keys the console's admins ask for.
struct EngineKeys(engine::Engine);

impl EngineKeys {
    fn handle(engine: engine::Engine) -> domain::work::keys::EnvironmentKeysHandle {
        domain::work::keys::EnvironmentKeysHandle(Arc::new(EngineKeys(engine)))
    }
}

impl domain::work::keys::EnvironmentKeys for EngineKeys {
    fn issue(
        &self,
        environment_id: String,
    ) -> domain::upstream::client::BoxFuture<'_, Result<String, domain::error::AppError>> {
        Box::pin(async move {
            self.0.issue_environment_key(&environment_id).await.map_err(|message| {
                domain::error::AppError::bad_input("environment_id", format!("No key was issued: {message}"))
            })
        })
    }

    fn list(&self, environment_id: String) -> domain::upstream::client::BoxFuture<'_, Result<Vec<KeyRow>, AppError>> {
        Box::pin(async move {
            let keys = self.0.environment_keys(&environment_id).await.map_err(key_error)?;
            Ok(keys.into_iter().map(key_row).collect())
        })
    }

    fn revoke(
        &self,
        environment_id: String,
        key_id: String,
    ) -> domain::upstream::client::BoxFuture<'_, Result<KeyRow, AppError>> {
        Box::pin(async move {
            self.0.revoke_environment_key(&environment_id, &key_id).await.map(key_row).map_err(key_error)
        })
    }
}

fn key_row(key: engine::EnvironmentKey) -> KeyRow {
    KeyRow {
        id: key.id,
        hint: key.hint,
        created_at: key.created_at,
        last_used_at: key.last_used_at,
        revoked_at: key.revoked_at,
    }
}

/// The engine's refusal in the console's words: what is not there is a 404, the rest a 500
/// (the store failed), logged.
fn key_error(error: engine::ApiError) -> AppError {
    if error.status == axum::http::StatusCode::NOT_FOUND {
        return AppError::not_found(error.message);
    }
    tracing::error!("the engine's environment keys could not be read or revoked: {}", error.message);
    AppError::internal("Switchboard could not read or change the environment's keys; try again.")
}

/// Opens the embedded engine's store under the data directory and binds it to a free loopback
/// port. Its key is random and never leaves this process.
async fn start_engine(
    settings: &Settings,
    key: &ApiKey,
    webhook: Option<(String, &str)>,
) -> io::Result<EmbeddedEngine> {
    let mut config = engine::EngineConfig::new(settings.data_dir.join("engine"), key.expose().to_owned());
    if let Some((url, secret)) = webhook {
        config.webhook = Some(engine::webhooks::WebhookTarget::new(&url, secret).map_err(io::Error::other)?);
    }
    // The console's own limit decides what reaches the engine; the engine's must not be lower.
    config.max_upload_bytes = config.max_upload_bytes.max(settings.max_upload_bytes);
    config.sandbox_limits = settings.sandbox;
    config.package_mirrors = settings.package_mirrors.clone();
    if let Some(runner) = &settings.tool_runner {
        config.tool_runner = runner.clone();
    }
    config.model = settings.model.clone();
    config.mcp_reach = settings.mcp_reach.clone();
    config.git_hosts = settings.git_hosts.clone();
    // The engine seals its vaults' credentials with a key of its own, derived from the console's.
    config.secret_key = settings.secret_key.as_ref().map(crate::settings::SecretKey::engine_key);
    let engine = engine::Engine::open(config).await.map_err(io::Error::other)?;
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    Ok(EmbeddedEngine { base_url, listener, router: engine.router(), engine })
}

/// Accounts, the audit log and the first admin: `SWITCHBOARD_ADMIN_PASSWORD` creates `admin` when
/// no account exists; without it, the setup page (behind a one-time link) does.
async fn open_access(
    settings: &Settings,
    pool: sqlx::AnyPool,
    keys: &KeyStore,
    replica: &str,
) -> io::Result<Arc<Access>> {
    let (throttle, counters) = access::open_counters(&pool, replica)
        .await
        .map_err(|e| io::Error::other(format!("cannot start the sign-in throttle and the limits: {e}")))?;
    let accounts = Arc::new(Accounts::with_throttle(pool.clone(), throttle));
    let count = accounts.count().await.map_err(|e| io::Error::other(format!("cannot read the accounts: {e}")))?;
    if count == 0
        && let Some(password) = &settings.access.admin_password
    {
        domain::auth::check_password("admin", password.expose()).map_err(|message| {
            io::Error::other(format!("SWITCHBOARD_ADMIN_PASSWORD does not meet the password rules: {message}"))
        })?;
        match accounts.create_first_admin("admin", "Admin", password.expose()).await {
            Ok(_) => tracing::info!(
                "created the first admin account, admin, with the password in SWITCHBOARD_ADMIN_PASSWORD"
            ),
            // Another replica starting at the same moment made it.
            Err(_) if accounts.count().await.is_ok_and(|n| n > 0) => {}
            Err(e) => return Err(io::Error::other(format!("cannot create the first admin: {e:?}"))),
        }
    }
    let needs_setup = count == 0 && settings.access.admin_password.is_none();
    // The setup link's token: this run's own on SQLite; on PostgreSQL the one every replica
    // reads, so that the link one printed opens on any.
    let setup_token = match settings.database {
        DatabaseSettings::Sqlite => access::setup_token(),
        DatabaseSettings::Postgres { .. } => keys
            .key("setup")
            .await
            .map(|key| crate::support::hex(&key[..24]))
            .map_err(|e| io::Error::other(format!("cannot read the setup token: {e}")))?,
    };
    let oidc = match &settings.access.oidc {
        Some(oidc) => {
            let key = keys
                .cookie_key("sso")
                .await
                .map_err(|e| io::Error::other(format!("cannot read or make the single sign-on key: {e}")))?;
            Some(Arc::new(
                access::oidc::Oidc::new(oidc.clone(), key, settings.access.cookie_secure).map_err(io::Error::other)?,
            ))
        }
        None => None,
    };
    let service_callers = oidc.as_ref().and_then(|oidc| {
        let api = oidc.settings.api.clone()?;
        Some(Arc::new(access::service_callers::ServiceCallers::new(oidc.clone(), api, accounts.clone())))
    });
    Ok(Arc::new(Access {
        tokens: Arc::new(access::api_tokens::ApiTokens::new(pool.clone(), accounts.clone())),
        cli_token_hours: settings.access.cli_token_hours,
        public_url: settings.notify.public_url.clone(),
        accounts,
        audit: Arc::new(
            AuditLog::new(pool).sealed_with(settings.secret_key.as_ref().map(crate::settings::SecretKey::audit_key)),
        ),
        limits: access::limits::PersonLimits::with_counters(settings.access.limits, counters),
        needs_setup: AtomicBool::new(needs_setup),
        setup_token,
        session_max: settings.access.session_max,
        devices: access::DeviceKey::open(keys, settings.access.cookie_secure)
            .await
            .map_err(|e| io::Error::other(format!("cannot read or make the device key: {e}")))?,
        oidc,
        service_callers,
        routes: super::routes::routes().into_iter().map(|r| (r.method, r.path, r.rule)).collect(),
        server_functions: |path| app::api::access::endpoint(path).map(|e| (e.read, e.rule)),
    }))
}

/// Daily: audit entries past retention and expired login sessions are removed.
fn spawn_housekeeping(access: Arc<Access>, sessions: LoginSessions, retention_days: u32) {
    use tower_sessions::session_store::ExpiredDeletion;
    tokio::spawn(async move {
        loop {
            match access.audit.purge(retention_days).await {
                Ok(0) => {}
                Ok(n) => tracing::info!("removed {n} audit entries older than {retention_days} days"),
                Err(error) => tracing::warn!("old audit entries could not be removed: {error}"),
            }
            if let Err(error) = sessions.delete_expired().await {
                tracing::warn!("expired login sessions could not be removed: {error}");
            }
            if let Err(error) = access.accounts.prune_logins(access.session_max).await {
                tracing::warn!("expired logins could not be removed: {error}");
            }
            tokio::time::sleep(std::time::Duration::from_secs(86_400)).await;
        }
    });
}
