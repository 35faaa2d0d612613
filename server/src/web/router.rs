//! The router: pages, server functions, the routes of `web::routes`, static assets, and the
//! layers every request passes through, in their order.

use std::{net::SocketAddr, sync::Arc};

use app::{App, shell};
use axum::{
    Router,
    extract::Request,
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use domain::{
    agents::mcp_tools::McpToolsHandle,
    approvals::LinkDecisionsHandle,
    auth::store::AccountsHandle,
    error::AppError,
    notify::server::NotifyHandle,
    settings::{WebhookSetup, server::WebhooksHandle},
    workspaces::server::WorkspacesHandle,
};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::{
    compression::CompressionLayer,
    services::{ServeDir, ServeFile},
    trace::TraceLayer,
};

use super::state::AppState;
use crate::{
    access::{self, Access, body_limit, session_store::LoginSessions},
    approvals::links::ThroughLinks,
    audit,
    notify::webhooks::{WebhookReceiver, WebhookReport},
    notify::{Notifiers, Notify},
    settings::{Settings, UpstreamSettings},
    tenancy::workspaces::{Workspace, Workspaces},
};

/// What the routes share: the workspaces (each with its upstream and records) and what is
/// Switchboard's own.
pub struct Services {
    pub workspaces: Arc<Workspaces>,
    pub access: Arc<Access>,
    pub webhooks: Option<Arc<WebhookReceiver>>,
    pub notifiers: Arc<Notifiers>,
    pub slack: Arc<crate::slack::Slack>,
    pub observe: Arc<super::observe::Observe>,
}

/// The whole HTTP surface: pages, server functions, file transfers, static assets, health.
pub fn router(settings: &Settings, addr: SocketAddr, services: Services, sessions: LoginSessions) -> Router {
    let Services { workspaces, access, webhooks, notifiers, slack, observe } = services;
    // Where the Sign out form may send the browser on to: the identity provider's origin.
    let sign_out_to = settings.access.oidc.as_ref().and_then(|o| origin_of(&o.issuer));
    let site_root = settings.site_root.to_string_lossy().into_owned();
    // A release build's assets carry their content's hash in their names (`app::assets`).
    let hash_file = app::assets::hash_file(&site_root, "pkg");
    let leptos_options = LeptosOptions::builder()
        .output_name("switchboard")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .hash_files(hash_file.is_some())
        .hash_file(Arc::<str>::from(
            hash_file.map_or_else(|| "hash.txt".to_owned(), |p| p.to_string_lossy().into_owned()),
        ))
        .site_addr(addr)
        .env(if cfg!(debug_assertions) { Env::DEV } else { Env::PROD })
        .build();
    let state = AppState {
        leptos_options: leptos_options.clone(),
        max_upload: crate::records::files::MaxUpload(settings.max_upload_bytes),
        access: access.clone(),
        audit: access.audit.clone(),
        webhooks,
        workspaces: workspaces.clone(),
        slack,
        observe,
    };
    let context = page_context(settings, &state, notifiers, sign_out_to.clone());
    let mut router = Router::new();
    for route in super::routes::routes() {
        router = router.route(route.path, route.handler);
    }
    let router = router
        // The built assets are served here rather than by leptos_axum's fallback, which copies a
        // page's response options (a 404 status among them) onto static files when a render's
        // reactive owner is still current on the thread: the WASM bundle was once served as a 404.
        .nest_service(
            "/pkg",
            Router::new()
                .fallback_service(ServeDir::new(settings.site_root.join("pkg")))
                .layer(axum::middleware::map_response(cache_assets)),
        )
        .route_service("/favicon.svg", ServeFile::new(settings.site_root.join("favicon.svg")))
        // Switchboard's Managed Agents API: its access table is `domain::gateway`'s (`access::Access::rule`).
        .route("/v1/{*rest}", axum::routing::any(crate::gateway::handle))
        .leptos_routes_with_context(&state, route_list(), context.clone(), move || shell(leptos_options.clone()))
        // The not-found page gets the same context: its policy must name its nonce too.
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .with_state(state);
    layers(router, settings, access, workspaces, sessions, sign_out_to)
}

/// What every page and server function finds in its Leptos context: the request's workspace
/// (`tenancy::workspaces::select`) with its upstream and records, and Switchboard's own services.
fn page_context(
    settings: &Settings,
    state: &AppState,
    notifiers: Arc<Notifiers>,
    sign_out_to: Option<String>,
) -> impl Fn() + Clone + Send + Sync + 'static {
    let workspaces = state.workspaces.clone();
    let inbox = workspaces.default_workspace().inbox.clone();
    let webhook_report = WebhooksHandle(Arc::new(WebhookReport {
        setup: match (&settings.webhook_secret, &settings.upstream) {
            (Some(_), _) => WebhookSetup::Secret,
            (None, UpstreamSettings::Embedded) => WebhookSetup::Embedded,
            (None, UpstreamSettings::Anthropic { .. }) => WebhookSetup::Off,
        },
        receiver: state.webhooks.clone(),
        inbox: inbox.clone(),
    }));
    let slack = domain::slack::server::SlackHandle(Arc::new(crate::slack::SlackNotify(state.slack.clone())));
    let accounts = AccountsHandle(state.access.accounts.clone());
    let tokens = domain::tokens::server::TokensHandle(Arc::new(crate::gateway::tokens::Tokens {
        tokens: state.access.tokens.clone(),
        workspaces: state.workspaces.clone(),
        max_days: settings.access.api_token_max_days,
        cli_token_hours: settings.access.cli_token_hours,
    }));
    let single_sign_on = domain::auth::store::SingleSignOn(state.access.oidc.as_ref().map(|o| o.settings.name.clone()));
    let registry = WorkspacesHandle(workspaces.clone());
    let mcp_tools = McpToolsHandle(Arc::new(McpTools(settings.mcp_reach.clone())));
    let stylesheet = app::assets::Stylesheet(app::assets::stylesheet(&state.leptos_options));
    move || {
        // The route list, worked out without a request, gets the default workspace's.
        let workspace = use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Arc<Workspace>>().cloned())
            .unwrap_or_else(|| workspaces.default_workspace());
        workspace.provide();
        let notify = Arc::new(Notify { notifiers: notifiers.clone(), workspace: workspace.id.clone() });
        let links = ThroughLinks { approvals: workspace.approvals(), links: notify.clone() };
        provide_context(LinkDecisionsHandle(Arc::new(links)));
        provide_context(NotifyHandle(notify));
        provide_context(registry.clone());
        provide_context(accounts.clone());
        provide_context(tokens.clone());
        provide_context(single_sign_on.clone());
        provide_context(webhook_report.clone());
        provide_context(slack.clone());
        provide_context(mcp_tools.clone());
        provide_context(stylesheet.clone());
        // A page's policy names the nonce its hydration scripts carry.
        if let (Some(nonce), Some(response)) =
            (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
            && let Ok(value) =
                http::HeaderValue::from_str(&access::content_security_policy(Some(&nonce), sign_out_to.as_deref()))
        {
            response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
}

/// The login cookie: HTTP-only, same-site lax, idle expiry moving with every request.
fn login_cookie(settings: &Settings, sessions: LoginSessions) -> tower_sessions::SessionManagerLayer<LoginSessions> {
    tower_sessions::SessionManagerLayer::new(sessions)
        .with_name("switchboard_login")
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_secure(settings.access.cookie_secure)
        .with_expiry(tower_sessions::Expiry::OnInactivity(
            time::Duration::try_from(settings.access.session_idle).unwrap_or(time::Duration::hours(8)),
        ))
        // The idle expiry moves with every request, not only with changes to the session.
        .with_always_save(true)
}

/// The layers every request passes through. Outermost last: tracing, compression and security
/// headers see every response; the client's address is taken from a trusted proxy's header
/// (`support::proxies`); the login cookie is read, the person put on the request, the workspace
/// chosen (and the person's roles made theirs there: `tenancy::workspaces`), their limits applied
/// (a request over them is not an entry: `access::limits`), the mutation recorded (refused or
/// not), its body read up to the limit, cross-site posts refused, then the role checked.
fn layers(
    router: Router,
    settings: &Settings,
    access: Arc<Access>,
    workspaces: Arc<Workspaces>,
    sessions: LoginSessions,
    sign_out_to: Option<String>,
) -> Router {
    router
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
        .layer(axum::middleware::from_fn_with_state(access.limits.clone(), crate::access::limits::per_person))
        .layer(axum::middleware::from_fn_with_state(workspaces, crate::tenancy::workspaces::select))
        .layer(axum::middleware::from_fn_with_state(access, access::authenticate))
        .layer(login_cookie(settings, sessions))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(settings.trusted_proxies.clone()),
            crate::support::proxies::client_address,
        ))
        // A refusal of an API call in the API's error shape, whichever layer refused it.
        .layer(axum::middleware::from_fn(crate::gateway::errors::shape))
        .layer(axum::middleware::from_fn_with_state(sign_out_to, access::secure_headers))
        .layer(CompressionLayer::new())
        // The request's span: its route and its path as logs may print it, never a share link's
        // token or a query; a trace when traces are on (web::telemetry).
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| super::telemetry::request_span(request))
                .on_response(super::telemetry::record_response),
        )
}

/// How long a browser keeps a built asset. A file whose name carries its content's hash
/// (`chunk-merge`'s, a release build's) never changes: kept a year without asking again.
/// Any other (a development build's plain names, `hash.txt`) is asked about each time (`no-cache`
/// revalidates with its `Last-Modified`). Pages and server functions are never cached this way.
async fn cache_assets(uri: http::Uri, mut response: Response) -> Response {
    let name = uri.path().rsplit('/').next().unwrap_or_default();
    let value = if response.status().is_success() && app::assets::is_hashed(name) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static(value));
    response
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
            domain::error::ErrorKind::BadInput,
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

/// Reads an MCP server's tools for the agent form, with the engine's MCP client and its rules of
/// where a connection may go (`SWITCHBOARD_ENGINE_MCP_PRIVATE_HOSTS`), without a credential.
struct McpTools(engine::mcp::Reach);

impl domain::agents::mcp_tools::McpTools for McpTools {
    fn list(
        &self,
        url: String,
    ) -> domain::upstream::client::BoxFuture<'_, Result<Vec<domain::agents::McpToolChoice>, domain::error::AppError>>
    {
        Box::pin(async move {
            let connection = engine::mcp::Connection::open(&self.0, "server", &url, None).await.map_err(|failure| {
                let hint = match failure {
                    engine::mcp::Failure::Authentication(_) | engine::mcp::Failure::RefreshRefused(_) => {
                        "It asks for a credential, which the form does not send; type its tools' names instead."
                    }
                    engine::mcp::Failure::Connection(_) => "Check the URL, or type its tools' names instead.",
                };
                AppError::bad_input("url", format!("{} {hint}", failure.message()))
            })?;
            let tools = connection
                .tools
                .iter()
                .map(|t| domain::agents::McpToolChoice { name: t.name.clone(), description: t.description.clone() })
                .collect();
            connection.close().await;
            Ok(tools)
        })
    }
}
