//! Builds the router and binds the listener; `main` and the integration tests both start here.

use std::{io, net::SocketAddr};

use std::sync::{Arc, atomic::AtomicBool};

use app::error::AppError;
use app::{
    App,
    api::{
        access::Rule,
        notify::server::NotifyHandle,
        settings::{WebhookSetup, server::WebhooksHandle},
        workspaces::{DEFAULT_ID, server::WorkspacesHandle},
    },
    auth::{Role, store::AccountsHandle},
    shell,
};
use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    http::{Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{MethodRouter, get, post},
    serve::ListenerExt,
};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::TcpListener;
use tower_http::{
    compression::CompressionLayer,
    services::{ServeDir, ServeFile},
    trace::TraceLayer,
};

use crate::{
    access::accounts::SqliteAccounts,
    access::body_limit,
    access::{self, Access, session_store::LoginSessions},
    approvals::inbox::{self, InboxConfig},
    audit::{self, SqliteAudit},
    notify::webhooks::{self, WebhookReceiver, WebhookReport},
    notify::{Notifier, NotifierStores, Notify},
    records::files,
    records::skills,
    settings::{ApiKey, Settings, UpstreamSettings},
    streams::hub::HubConfig,
    streams::live,
    support::db,
    tenancy::workspaces::{self, Workspace, Workspaces},
    upstream::UpstreamClient,
    web::state::AppState,
};

/// A bound, not yet running, Switchboard server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    workspaces: Arc<Workspaces>,
    /// Where the embedded engine listens, when it is the upstream.
    engine: Option<EmbeddedEngine>,
    access: Arc<Access>,
}

/// The embedded engine, started in this process on a loopback port with a random key. The
/// console talks to it over HTTP like to any upstream.
pub struct EmbeddedEngine {
    pub base_url: String,
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
        let listener = TcpListener::bind(settings.listen).await.map_err(|e| {
            io::Error::new(e.kind(), format!("cannot listen on {} (SWITCHBOARD_LISTEN): {e}", settings.listen))
        })?;
        // The embedded engine's webhooks come back here, signed with a secret made now unless one
        // is set.
        let webhook_secret = match (&settings.webhook_secret, &settings.upstream) {
            (Some(secret), _) => Some(secret.0.clone()),
            (None, UpstreamSettings::Embedded) => Some(engine::webhooks::generate_secret()),
            (None, UpstreamSettings::Anthropic { .. }) => None,
        };
        let (engine, client) = match &settings.upstream {
            UpstreamSettings::Embedded => {
                let key = ApiKey::new(engine::generate_api_key());
                let own = own_webhook_url(listener.local_addr()?);
                let webhook = webhook_secret.as_deref().map(|secret| (own, secret));
                let engine = start_engine(&settings, &key, webhook).await?;
                let client = UpstreamClient::new(engine.base_url.clone(), key);
                (Some(engine), client)
            }
            UpstreamSettings::Anthropic { base_url, api_key } => {
                (None, UpstreamClient::new(base_url.clone(), api_key.clone()))
            }
        };
        let pool = db::open(&settings.data_dir).await.map_err(|e| {
            io::Error::other(format!("cannot open Switchboard's database in {}: {e}", settings.data_dir.display()))
        })?;
        let access = open_access(&settings, pool.clone()).await?;
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
        };
        // The upstream Switchboard starts with is the default workspace; its records are the
        // main database's, its audit entries name no workspace.
        let default = Workspace::open(
            &config,
            DEFAULT_ID,
            "Default",
            settings.upstream.mode(),
            client,
            pool.clone(),
            access.audit.clone(),
        )
        .await?;
        let workspaces = Workspaces::open(default, pool.clone(), settings.secret_key.clone(), config).await?;
        let home = workspaces.default_workspace();
        let inbox = home.inbox.clone();
        let public_url = match &settings.notify.public_url {
            Some(url) => url.clone(),
            None => own_origin(listener.local_addr()?),
        };
        let notifier = Notifier::open(
            pool.clone(),
            public_url,
            &settings.data_dir,
            settings.notify.clone(),
            NotifierStores {
                accounts: access.accounts.clone(),
                decisions: home.decision_store.clone(),
                policies: home.policies.clone(),
                audit: access.audit.clone(),
            },
            settings.secret_key.as_ref().map(crate::tenancy::workspaces::SecretKey::channels_key),
        )?;
        notifier
            .seal_channels()
            .await
            .map_err(|e| io::Error::other(format!("cannot seal the notification channels: {e}")))?;
        // Email and webhooks are the default workspace's (docs/architecture.md, Workspaces).
        notifier.clone().run(inbox.clone());
        let webhooks = webhook_secret.and_then(|secret| WebhookReceiver::new(&secret, inbox.clone()));
        let sessions = LoginSessions::sqlite(pool);
        spawn_housekeeping(access.clone(), sessions.clone(), settings.access.audit_retention_days);
        let router = router(
            &settings,
            listener.local_addr()?,
            Services { workspaces: workspaces.clone(), access: access.clone(), webhooks, notifier },
            sessions,
        );
        Ok(Self { listener, router, workspaces, engine, access })
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
        let workspaces = self.workspaces;
        let shutdown = async move {
            shutdown.await;
            // Open event streams would keep a graceful shutdown waiting forever.
            workspaces.close();
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
    // The engine seals its vaults' credentials with a key of its own, derived from the console's.
    config.secret_key = settings.secret_key.as_ref().map(crate::tenancy::workspaces::SecretKey::engine_key);
    let engine = engine::Engine::open(config).await.map_err(io::Error::other)?;
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    Ok(EmbeddedEngine { base_url, listener, router: engine.router() })
}

/// Accounts, the audit log and the first admin: `SWITCHBOARD_ADMIN_PASSWORD` creates `admin` when
/// no account exists; without it, the setup page (behind a one-time link) does.
async fn open_access(settings: &Settings, pool: sqlx::SqlitePool) -> io::Result<Arc<Access>> {
    let accounts = Arc::new(SqliteAccounts::new(pool.clone()));
    let count = accounts.count().await.map_err(|e| io::Error::other(format!("cannot read the accounts: {e}")))?;
    if count == 0
        && let Some(password) = &settings.access.admin_password
    {
        app::auth::check_password("admin", password.expose()).map_err(|message| {
            io::Error::other(format!("SWITCHBOARD_ADMIN_PASSWORD does not meet the password rules: {message}"))
        })?;
        accounts
            .create_first_admin("admin", "Admin", password.expose())
            .await
            .map_err(|e| io::Error::other(format!("cannot create the first admin: {e:?}")))?;
        tracing::info!("created the first admin account, admin, with the password in SWITCHBOARD_ADMIN_PASSWORD");
    }
    let needs_setup = count == 0 && settings.access.admin_password.is_none();
    Ok(Arc::new(Access {
        accounts,
        audit: Arc::new(SqliteAudit::new(pool)),
        needs_setup: AtomicBool::new(needs_setup),
        setup_token: access::setup_token(),
        session_max: settings.access.session_max,
        devices: access::DeviceKey::open(&settings.data_dir, settings.access.cookie_secure)
            .map_err(|e| io::Error::other(format!("cannot read or make the device key in the data directory: {e}")))?,
        oidc: match &settings.access.oidc {
            Some(oidc) => Some(Arc::new(
                access::oidc::Oidc::new(oidc.clone(), &settings.data_dir, settings.access.cookie_secure)
                    .map_err(io::Error::other)?,
            )),
            None => None,
        },
        routes: routes().into_iter().map(|r| (r.method, r.path, r.rule)).collect(),
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

/// A route outside the Leptos app, with who may use it.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub rule: Rule,
    pub handler: MethodRouter<AppState>,
}

impl Route {
    fn new(method: Method, path: &'static str, rule: Rule, handler: MethodRouter<AppState>) -> Self {
        Self { method, path, rule, handler }
    }
}

/// Every route outside the Leptos app (pages and server functions), with its access rule. The
/// router and the access table are built from this list, and `server/tests/access.rs` walks it,
/// so a route cannot be added without a rule and without the access test seeing it.
pub fn routes() -> Vec<Route> {
    use Role::*;
    use Rule::*;
    // Forms of a few fields: a large body here is abuse.
    let form = || DefaultBodyLimit::max(16 * 1024);
    let skill_body = || DefaultBodyLimit::max((skills::MAX_SKILL_BYTES + 1024 * 1024) as usize);
    vec![
        Route::new(Method::GET, "/healthz", Public, get(|| async { "ok" })),
        // The handler enforces the upload limit itself, while streaming.
        Route::new(Method::POST, "/api/files", Needs(Operator), post(files::upload).layer(DefaultBodyLimit::disable())),
        Route::new(Method::GET, "/api/files/{id}/content", Needs(Viewer), get(files::download)),
        // A skill is read into memory (a zip is opened there), so its limit is the body's.
        Route::new(Method::POST, "/api/skills", Needs(Operator), post(skills::create).layer(skill_body())),
        Route::new(
            Method::POST,
            "/api/skills/{id}/versions",
            Needs(Operator),
            post(skills::add_version).layer(skill_body()),
        ),
        Route::new(Method::GET, "/api/skills/{id}/versions/{version}/content", Needs(Viewer), get(skills::download)),
        Route::new(Method::GET, "/api/sessions/{id}/stream", Needs(Viewer), get(live::stream)),
        Route::new(
            Method::GET,
            "/api/sessions/{id}/threads/{thread_id}/stream",
            Needs(Viewer),
            get(live::thread_stream),
        ),
        Route::new(Method::GET, "/api/inbox/stream", Needs(Viewer), get(inbox::stream)),
        // A share link's token is its credential: the handler opens only its own session's
        // events, redacted as the link says (shares.rs).
        Route::new(Method::GET, "/api/shares/{token}/stream", Public, get(crate::records::shares::stream)),
        Route::new(
            Method::GET,
            "/api/shares/{token}/threads/{thread_id}/stream",
            Public,
            get(crate::records::shares::thread_stream),
        ),
        // An export read back as a read-only session; its own limit (imports.rs), while streaming.
        Route::new(
            Method::POST,
            "/api/imports",
            Needs(Operator),
            post(crate::records::imports::upload)
                .layer(DefaultBodyLimit::max(crate::records::imports::MAX_IMPORT_BYTES + 64 * 1024)),
        ),
        Route::new(Method::GET, "/api/imports/{id}/stream", Needs(Viewer), get(crate::records::imports::stream)),
        // Each export is an audit entry; the exports running are this router's.
        Route::new(
            Method::GET,
            "/api/sessions/{id}/export",
            Needs(Viewer),
            get(crate::records::export::export).layer(axum::Extension(crate::records::export::Running::default())),
        ),
        // Scoped inside: people who are not admins export their own entries.
        Route::new(Method::GET, "/api/audit/export", Needs(Viewer), get(audit::export)),
        Route::new(Method::POST, "/auth/login", Public, post(access::login).layer(form())),
        Route::new(Method::POST, "/auth/logout", Public, post(access::logout).layer(form())),
        Route::new(Method::POST, "/auth/setup", Public, post(access::setup).layer(form())),
        // The navigation's workspace switch: sets the cookie for a workspace the person may open.
        Route::new(
            Method::POST,
            "/auth/workspace",
            Needs(Viewer),
            post(crate::tenancy::workspaces::switch).layer(form()),
        ),
        // Single sign-on (access/oidc.rs): off the table's checks, like the login form; the
        // return is matched against the sign-in this browser's session started.
        Route::new(Method::GET, "/auth/oidc/start", Public, get(access::oidc::start)),
        Route::new(Method::GET, "/auth/oidc/callback", Public, get(access::oidc::callback)),
        // A signed-in person's own password, with the current one (access/forms.rs).
        Route::new(Method::POST, "/auth/password", Needs(Viewer), post(access::change_password).layer(form())),
        // Signed by the sender; 404 without a secret (see webhooks.rs).
        Route::new(
            Method::POST,
            "/webhooks/anthropic",
            Public,
            post(webhooks::receive).layer(DefaultBodyLimit::max(webhooks::MAX_BODY_BYTES)),
        ),
    ]
}

/// What the routes share: the workspaces (each with its upstream and records) and what is
/// Switchboard's own.
pub struct Services {
    pub workspaces: Arc<Workspaces>,
    pub access: Arc<Access>,
    pub webhooks: Option<Arc<WebhookReceiver>>,
    pub notifier: Arc<Notifier>,
}

/// The whole HTTP surface: pages, server functions, file transfers, static assets, health.
pub fn router(settings: &Settings, addr: SocketAddr, services: Services, sessions: LoginSessions) -> Router {
    let Services { workspaces, access, webhooks, notifier } = services;
    let inbox = workspaces.default_workspace().inbox.clone();
    // Where the Sign out form may send the browser on to: the identity provider's origin.
    let sign_out_to = settings.access.oidc.as_ref().and_then(|o| origin_of(&o.issuer));
    let page_sign_out_to = sign_out_to.clone();
    let leptos_options = LeptosOptions::builder()
        .output_name("switchboard")
        .site_root(settings.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .env(if cfg!(debug_assertions) { Env::DEV } else { Env::PROD })
        .build();

    let pages = route_list();
    let state_workspaces = workspaces.clone();
    let state = AppState {
        leptos_options: leptos_options.clone(),
        max_upload_bytes: settings.max_upload_bytes,
        access: access.clone(),
        audit: access.audit.clone(),
        webhooks,
        workspaces: workspaces.clone(),
    };
    let webhook_report = WebhooksHandle(Arc::new(WebhookReport {
        setup: match (&settings.webhook_secret, &settings.upstream) {
            (Some(_), _) => WebhookSetup::Secret,
            (None, UpstreamSettings::Embedded) => WebhookSetup::Embedded,
            (None, UpstreamSettings::Anthropic { .. }) => WebhookSetup::Off,
        },
        receiver: state.webhooks.clone(),
        inbox: inbox.clone(),
    }));
    let notify = NotifyHandle(Arc::new(Notify { notifier, inbox }));
    let accounts = AccountsHandle(access.accounts.clone());
    let single_sign_on = app::auth::store::SingleSignOn(access.oidc.as_ref().map(|o| o.settings.name.clone()));
    let registry = WorkspacesHandle(workspaces.clone());
    let context = move || {
        // The request's workspace (`workspaces::select`) provides its upstream and records;
        // the route list, worked out without a request, gets the default's.
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Arc<Workspace>>().cloned())
            .unwrap_or_else(|| workspaces.default_workspace())
            .provide();
        provide_context(registry.clone());
        provide_context(accounts.clone());
        provide_context(single_sign_on.clone());
        provide_context(webhook_report.clone());
        provide_context(notify.clone());
        // A page's policy names the nonce its hydration scripts carry.
        if let (Some(nonce), Some(response)) =
            (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
            && let Ok(value) =
                http::HeaderValue::from_str(&access::content_security_policy(Some(&nonce), page_sign_out_to.as_deref()))
        {
            response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
        }
    };
    let login_cookie = tower_sessions::SessionManagerLayer::new(sessions)
        .with_name("switchboard_login")
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_secure(settings.access.cookie_secure)
        .with_expiry(tower_sessions::Expiry::OnInactivity(
            time::Duration::try_from(settings.access.session_idle).unwrap_or(time::Duration::hours(8)),
        ))
        // The idle expiry moves with every request, not only with changes to the session.
        .with_always_save(true);

    let mut router = Router::new();
    for route in routes() {
        router = router.route(route.path, route.handler);
    }
    router
        // The built assets are served here rather than by leptos_axum's fallback, which copies a
        // page's response options (a 404 status among them) onto static files when a render's
        // reactive owner is still current on the thread: the WASM bundle was once served as a 404.
        .nest_service("/pkg", ServeDir::new(settings.site_root.join("pkg")))
        .route_service("/favicon.svg", ServeFile::new(settings.site_root.join("favicon.svg")))
        .leptos_routes_with_context(&state, pages, context.clone(), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        // The not-found page gets the same context: its policy must name its nonce too.
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .with_state(state)
        // Outermost last: tracing, compression and security headers see every response; the
        // client's address is taken from a trusted proxy's header (crate::support::proxies); the login
        // cookie is read, the person put on the request, the workspace chosen (and the person's
        // roles made theirs there: crate::tenancy::workspaces), their limits applied (a request over
        // them is not an entry: crate::access::limits), the mutation recorded (refused or not),
        // its body read up to the limit, cross-site posts refused, then the role checked.
        .layer(axum::middleware::from_fn(server_fn_error_status))
        .layer(axum::middleware::from_fn_with_state(access.clone(), access::authorize))
        .layer(axum::middleware::from_fn_with_state(
            settings.notify.public_url.as_deref().and_then(origin_of),
            refuse_cross_site_mutations,
        ))
        .layer(axum::middleware::from_fn_with_state(
            (settings.access.max_body_bytes, access.clone()),
            body_limit::limit,
        ))
        .layer(axum::middleware::from_fn_with_state(access.audit.clone(), audit::record))
        .layer(axum::middleware::from_fn_with_state(
            crate::access::limits::PersonLimits::new(settings.access.limits),
            crate::access::limits::per_person,
        ))
        .layer(axum::middleware::from_fn_with_state(state_workspaces, crate::tenancy::workspaces::select))
        .layer(axum::middleware::from_fn_with_state(access, access::authenticate))
        .layer(login_cookie)
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(settings.trusted_proxies.clone()),
            crate::support::proxies::client_address,
        ))
        .layer(axum::middleware::from_fn_with_state(sign_out_to, access::secure_headers))
        .layer(CompressionLayer::new())
        // The request's span (debug level) names its path as logs may print it: never a share
        // link's token or a query (access::path_for_logs).
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            tracing::debug_span!(
                "request",
                method = %request.method(),
                path = %access::path_for_logs(request.uri().path()),
                version = ?request.version(),
            )
        }))
}

/// The origin (`scheme://host[:port]`, lower case) of a URL such as `SWITCHBOARD_PUBLIC_URL`.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().filter(|a| !a.is_empty())?;
    Some(format!("{scheme}://{authority}").to_ascii_lowercase())
}

/// Refuses a mutation (anything but GET or HEAD under `/api/` and `/auth/`) that a browser sent
/// from another site: a page elsewhere must not be able to delete a vault through a person's open
/// console, nor sign them in or out. Browsers send `Sec-Fetch-Site` and `Origin` on such requests;
/// tools like curl send neither (and hold no login cookie of the person's). An `Origin` is the
/// console's own when it names the `Host` the request came to, or `SWITCHBOARD_PUBLIC_URL`'s origin
/// (`public_origin`): behind a proxy that passes the request on to another host name, that is the
/// address people reach Switchboard at.
async fn refuse_cross_site_mutations(
    axum::extract::State(public_origin): axum::extract::State<Option<String>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let path = request.uri().path();
    let is_mutation = (path.starts_with("/api/") || path.starts_with("/auth/"))
        && !matches!(*request.method(), http::Method::GET | http::Method::HEAD);
    let cross_site = crate::access::from_another_site(headers);
    let host = headers.get(http::header::HOST).and_then(|v| v.to_str().ok());
    let foreign_origin = headers.get(http::header::ORIGIN).and_then(|v| v.to_str().ok()).is_some_and(|origin| {
        origin.split_once("://").map(|(_, rest)| rest) != host
            && public_origin.as_deref() != Some(origin.to_ascii_lowercase().as_str())
    });
    if is_mutation && (cross_site || foreign_origin) {
        let error = AppError::new(
            app::error::ErrorKind::BadInput,
            "This request came from another site and was refused. Use the console itself to make changes.",
        );
        return (StatusCode::FORBIDDEN, axum::Json(error)).into_response();
    }
    next.run(request).await
}

/// A server function whose arguments do not decode never reaches the app's code, and `server_fn`
/// answers it with a 500. Its body is still an [`AppError`], which knows its status (400 for a
/// malformed request): a caller's mistake is not reported as a server failure.
async fn server_fn_error_status(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_api || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 256 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "The error could not be read.").into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// The app's routes, worked out once per process.
///
/// Working them out renders the app with resource loading switched off through a process-wide flag
/// in `leptos_server` (leptos-rs/leptos#4773): a resource first polled by a request that is being
/// served meanwhile waits forever. The real server generates the list before it serves anything,
/// but the integration tests start many servers in one process, and about one test run in five hung
/// that way. Generating it once, before any server of the process can serve, rules that out.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}
