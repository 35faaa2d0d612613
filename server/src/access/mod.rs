//! Who may reach what.
//!
//! - [`authenticate`] (`authn.rs`) turns the login cookie into a [`Principal`] on the request (or
//!   none).
//! - [`authorize`] (here) looks the request up in [`Access::rule`], the one table of every
//!   endpoint and the role it needs (each server function declares its own with
//!   `#[access(Role)]`, the other routes theirs in `web::routes`), and refuses before any
//!   handler runs: 401 (nobody signed in; pages redirect to the login page), 403 (the roles do
//!   not allow it). An endpoint missing from the table is refused for everyone, and
//!   `server/tests/access.rs` fails until it has a rule.
//! - `forms.rs`: `/auth/login`, `/auth/logout`, `/auth/setup`, `/auth/password`, the forms of
//!   the login, first-run and Account pages; `devices.rs`: the cookie of a browser that signed
//!   in before.
//! - [`throttle`]: failed sign-ins, counted so that guessing is slow; [`limits`]: how fast each
//!   person or address may send, and how many streams they may hold. Both count in this process's
//!   memory on SQLite and in the database on PostgreSQL, where replicas share it
//!   ([`open_counters`]).
//! - [`session_store`]: the login cookie's sessions, stored under a hash of the cookie's value.
//! - `oidc.rs`: single sign-on with an OpenID Connect provider (`/auth/oidc/start`,
//!   `/auth/oidc/callback`).
//! - [`secure_headers`] (`headers.rs`): Content-Security-Policy and friends on every response.

pub mod account_rows;
pub mod accounts;
pub mod api_tokens;
mod authn;
pub mod body_limit;
pub mod device_login;
mod devices;
pub(crate) mod forms;
mod headers;
pub mod limit_counters;
pub mod limits;
pub mod oidc;
pub mod service_callers;
pub mod session_store;
pub mod throttle;

pub use authn::{LoginCheck, authenticate};
pub use devices::DeviceKey;
pub use forms::{change_password, login, logout, setup};
pub use headers::{content_security_policy, secure_headers};

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

pub use authn::is_asset;
use axum::{
    extract::{FromRef, Request, State},
    http::{Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
pub use domain::gateway::is_api;
use domain::{
    auth::{Principal, Role, Rule},
    error::{AppError, ErrorKind},
};
use sqlx::AnyPool;

use crate::{
    access::{
        accounts::Accounts,
        limit_counters::{LimitCounters, MemoryCounters, SqlCounters},
        limits::PersonLimits,
        throttle::{MemoryThrottle, SignInThrottle, SqlThrottle, THROTTLE_WINDOW},
    },
    audit::AuditLog,
    support::{
        db::{Dialect, dialect},
        route::{Route, form_body},
    },
};

/// The sign-in throttle and the limits' counters over the main database `pool`: in it when
/// replicas share it (PostgreSQL; `replica` is this one's id, `support::cluster::Cluster::replica`),
/// in this process's memory on SQLite, where one process runs and a request need not write.
pub async fn open_counters(
    pool: &AnyPool,
    replica: &str,
) -> Result<(Arc<dyn SignInThrottle>, Arc<dyn LimitCounters>), sqlx::Error> {
    Ok(match dialect(pool) {
        Dialect::Sqlite => (Arc::new(MemoryThrottle::new(THROTTLE_WINDOW)), Arc::new(MemoryCounters::default())),
        Dialect::Postgres => (
            Arc::new(SqlThrottle::new(pool.clone(), THROTTLE_WINDOW)),
            Arc::new(SqlCounters::start(pool.clone(), replica).await?),
        ),
    })
}

/// What the access layers share.
pub struct Access {
    pub accounts: Arc<Accounts>,
    /// Personal access tokens, which programs call `/v1/…` with (`crate::gateway`).
    pub tokens: Arc<api_tokens::ApiTokens>,
    /// The life of a token `switchboard login` gets, in hours (`SWITCHBOARD_CLI_TOKEN_HOURS`).
    pub cli_token_hours: u32,
    /// `SWITCHBOARD_PUBLIC_URL`: where the device sign-in's page is, for a terminal.
    pub public_url: Option<String>,
    pub audit: Arc<AuditLog>,
    /// Each person's and address's requests and streams.
    pub limits: Arc<PersonLimits>,
    /// No account exists yet: every page leads to the setup page.
    pub needs_setup: AtomicBool,
    /// The secret of the one-time setup link (printed at start while no account exists).
    pub setup_token: String,
    /// A login ends this long after it began.
    pub session_max: Duration,
    /// Signs the cookies of browsers that signed in before (the sign-in throttle trusts them).
    pub devices: DeviceKey,
    /// Single sign-on, when `SWITCHBOARD_OIDC_ISSUER` is set.
    pub oidc: Option<Arc<oidc::Oidc>>,
    /// Programs with the provider's tokens, when `SWITCHBOARD_API_AUDIENCE` is set too.
    pub service_callers: Option<Arc<service_callers::ServiceCallers>>,
    /// The rules of the routes outside the Leptos app (`web::routes`): method, path, rule.
    pub routes: Vec<(Method, &'static str, Rule)>,
    /// The server function at a path, as its `#[access(Role)]` declared it: whether it answers
    /// GET, and its rule (`web::startup` passes the app's table).
    pub server_functions: fn(&str) -> Option<(bool, Rule)>,
}

impl Access {
    /// Whether no account exists yet. While that was so, the database is asked again: on
    /// several replicas the first admin may have been made through another.
    pub async fn still_needs_setup(&self) -> bool {
        if !self.needs_setup.load(Ordering::Relaxed) {
            return false;
        }
        if self.accounts.count().await.is_ok_and(|n| n > 0) {
            self.needs_setup.store(false, Ordering::Relaxed);
            return false;
        }
        true
    }
}

impl Access {
    /// The rule for `method path`; `None` for an endpoint nobody gave a rule, which is refused.
    /// Server functions declare theirs with `#[access(Role)]`, the other routes in
    /// `web::routes`; pages are here.
    pub fn rule(&self, method: &Method, path: &str) -> Option<Rule> {
        let read = matches!(*method, Method::GET | Method::HEAD);
        if is_asset(path) {
            return Some(Rule::Public);
        }
        if is_api(path) {
            return domain::gateway::route_of(method.as_str(), path).map(|(route, _)| Rule::Needs(route.role));
        }
        if let Some((reads, rule)) = (self.server_functions)(path) {
            return (reads == read).then_some(rule);
        }
        if let Some((_, _, rule)) =
            self.routes.iter().find(|(m, pattern, _)| m == method && matches_route(pattern, path))
        {
            return Some(*rule);
        }
        if path.starts_with("/api/") {
            return None;
        }
        if read && (path == "/login" || path == "/setup" || is_share_page(path)) {
            return Some(Rule::Public);
        }
        // Every page can be read by every role but the admins' own; what a page does goes through
        // the endpoints above (and a page's server functions check their rule again while it
        // renders).
        let admins_only = path == "/users" || path.starts_with("/users/");
        read.then_some(Rule::Needs(if admins_only { Role::Admin } else { Role::Viewer }))
    }
}

/// What a person whose password an admin set, and who must choose their own, may reach until
/// they do: the Account page and what it needs, and signing out.
fn open_before_a_new_password(method: &Method, path: &str) -> bool {
    let read = matches!(*method, Method::GET | Method::HEAD);
    if read {
        matches!(path, "/account" | "/api/auth/me" | "/api/me/logins")
    } else {
        matches!(path, "/auth/password" | "/auth/logout" | "/api/me/logins/end" | "/api/me/logins/end_others")
    }
}

/// `/share/{token}`: a share link's page, whose token is its credential (`crate::records::shares`).
fn is_share_page(path: &str) -> bool {
    path.strip_prefix("/share/").is_some_and(|token| !token.is_empty() && !token.contains('/'))
}

/// Whether `path` is an instance of `pattern`, whose `{name}` segments stand for any one segment.
fn matches_route(pattern: &str, path: &str) -> bool {
    let (mut pattern, mut path) = (pattern.split('/'), path.split('/'));
    loop {
        match (pattern.next(), path.next()) {
            (None, None) => return true,
            (Some(p), Some(s)) if p == s || (p.starts_with('{') && p.ends_with('}') && !s.is_empty()) => {}
            _ => return false,
        }
    }
}

/// Refuses a request its [`Access::rule`] does not allow. Pages redirect to the login (or setup) page so
/// that a link still works after signing in; endpoints answer 401 or 403 with an [`AppError`].
pub async fn authorize(State(access): State<Arc<Access>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let is_page = !path.starts_with("/api/") && !path.starts_with("/auth/") && !is_api(path);
    let Some(rule) = access.rule(request.method(), path) else {
        if is_api(path) {
            return not_passed_on(request.method(), path);
        }
        if path.starts_with("/api/") {
            tracing::error!(
                "no access rule for {} {}: refused; give it #[access(Role)] or a rule in web::routes",
                request.method(),
                path_for_logs(path)
            );
        }
        return refuse(ErrorKind::Forbidden, format!("{} {path} is not open to anyone.", request.method()));
    };
    let Rule::Needs(role) = rule else {
        return next.run(request).await;
    };
    if access.still_needs_setup().await {
        if is_page {
            return Redirect::to("/setup").into_response();
        }
        return refuse(
            ErrorKind::SignedOut,
            "Switchboard has no accounts yet: open the setup link it printed at start to create the first admin.",
        );
    }
    let Some(principal) = request.extensions().get::<Principal>() else {
        if let Some(refused) = request.extensions().get::<api_tokens::TokenRefused>() {
            return refuse(ErrorKind::SignedOut, refused.0.clone());
        }
        if is_page {
            let next_page = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            return Redirect::to(&format!("/login?next={}", domain::format::query_value(next_page))).into_response();
        }
        return refuse(
            ErrorKind::SignedOut,
            "You are not signed in, or your sign-in has ended. Sign in and try again.",
        );
    };
    if principal.must_change_password && !open_before_a_new_password(request.method(), path) {
        if is_page {
            return Redirect::to("/account?required=1").into_response();
        }
        return refuse(
            ErrorKind::Forbidden,
            "An admin asked you to choose your own password: do that on your Account page (/account) first.",
        );
    }
    if !principal.can(role) {
        if is_page {
            return refusal_page(
                StatusCode::FORBIDDEN,
                ("Not allowed", "Not allowed for your roles"),
                &format!("This page needs the {} role. Ask an admin if you need it.", role.as_str()),
                ("/", "Go to the overview"),
            );
        }
        let endpoint = path.trim_start_matches("/api/");
        if request.extensions().get::<api_tokens::TokenCaller>().is_some() {
            return token_refused(principal, role, request.method(), path);
        }
        return refuse(
            ErrorKind::Forbidden,
            format!(
                "Your roles ({}) do not allow {endpoint}: it needs the {} role. Ask an admin if you need it.",
                domain::auth::roles_text(&principal.roles),
                role.as_str()
            ),
        );
    }
    next.run(request).await
}

/// An API call the gateway does not pass on (`domain::gateway`).
fn not_passed_on(method: &Method, path: &str) -> Response {
    refuse(
        ErrorKind::NotFound,
        format!(
            "Switchboard does not pass {method} {path} on: it is not a route of the Managed Agents API it serves \
             (a self-hosted environment's work routes are called at the upstream with the environment's key)."
        ),
    )
}

/// An API call its token's roles do not allow.
fn token_refused(principal: &Principal, role: Role, method: &Method, path: &str) -> Response {
    refuse(
        ErrorKind::Forbidden,
        format!(
            "This token's roles ({}) do not allow {method} {path}: it needs the {} role. Make a token with it on \
             your Account page, if your roles in its workspace allow it.",
            domain::auth::roles_text(&principal.roles),
            role.as_str()
        ),
    )
}

/// The small page a browser is answered when a page or a plain form is refused before the app
/// (the access table, the rate limit, a workspace switch): `(title, heading)`, the message in
/// words, and one link onwards `(href, text)`.
pub fn refusal_page(
    status: StatusCode,
    (title, heading): (&str, &str),
    message: &str,
    (href, text): (&str, &str),
) -> Response {
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><meta charset=\"utf-8\"><title>{title} · Switchboard</title>\
         <h1>{heading}</h1><p>{}</p><p><a href=\"{href}\">{text}</a></p></html>",
        html_escape::encode_text(message)
    );
    (status, axum::response::Html(page)).into_response()
}

fn refuse(kind: ErrorKind, message: impl Into<String>) -> Response {
    AppError::new(kind, message).into_response()
}

/// The value of the request's cookie `name`, if it sent one (the signed cookies of
/// `devices.rs` and `oidc.rs` are read with it).
pub(crate) fn cookie<'h>(headers: &'h axum::http::HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// Whether a browser says the request comes from another site (`Sec-Fetch-Site`); tools like
/// curl send nothing and are not counted as such.
pub(crate) fn from_another_site(headers: &axum::http::HeaderMap) -> bool {
    headers.get("sec-fetch-site").is_some_and(|v| v == "cross-site" || v == "same-site")
}

/// A request carrying the cookie a `Set-Cookie` value sets, after another cookie.
/// Signing in and out, the first admin's setup, single sign-on and a person's own password.
pub fn routes<S>() -> Vec<Route<S>>
where
    S: Clone + Send + Sync + 'static,
    Arc<Access>: FromRef<S>,
{
    use Role::Viewer;
    use Rule::{Needs, Public};
    vec![
        Route::new(Method::POST, "/auth/login", Public, post(login).layer(form_body())),
        Route::new(Method::POST, "/auth/logout", Public, post(logout).layer(form_body())),
        Route::new(Method::POST, "/auth/setup", Public, post(setup).layer(form_body())),
        // Single sign-on (oidc.rs): off the table's checks, like the login form; the return is
        // matched against the sign-in this browser's session started.
        Route::new(Method::GET, "/auth/oidc/start", Public, get(oidc::start)),
        Route::new(Method::GET, "/auth/oidc/callback", Public, get(oidc::callback)),
        // `switchboard login` (device_login.rs): the codes and the token are the credentials.
        Route::new(Method::POST, "/auth/device/code", Public, post(device_login::code).layer(form_body())),
        Route::new(Method::POST, "/auth/device/token", Public, post(device_login::token).layer(form_body())),
        Route::new(Method::POST, "/auth/token/revoke", Public, post(device_login::revoke)),
        // A signed-in person's own password, with the current one (forms.rs).
        Route::new(Method::POST, "/auth/password", Needs(Viewer), post(change_password).layer(form_body())),
    ]
}

#[cfg(test)]
pub(crate) fn sending_cookie(set_cookie: &str) -> axum::http::HeaderMap {
    let mut headers = axum::http::HeaderMap::new();
    let pair = set_cookie.split(';').next().unwrap();
    headers.insert(axum::http::header::COOKIE, format!("other=1; {pair}").parse().unwrap());
    headers
}

/// A request's path as a log line may print it (give it the path only, never the query: that holds
/// the setup link's token, a sign-in's code, a share link's token to `shares/open`): every segment
/// that looks like a token (32 or more hex digits: a share link's) becomes `{token}`. Share links
/// carry their credential in the path, and a log file is read by more people than hold the link.
pub fn path_for_logs(path: &str) -> String {
    path.split('/')
        .map(
            |segment| {
                if segment.len() >= 32 && segment.bytes().all(|b| b.is_ascii_hexdigit()) { "{token}" } else { segment }
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// A random token for the one-time setup link.
pub fn setup_token() -> String {
    crate::support::random_hex::<24>()
}

#[cfg(test)]
mod tests {
    use super::path_for_logs;

    #[test]
    fn a_share_links_token_never_reaches_a_log_line() {
        let token = "0123456789abcdef".repeat(4);
        assert_eq!(path_for_logs(&format!("/api/shares/{token}/stream")), "/api/shares/{token}/stream");
        assert_eq!(path_for_logs(&format!("/share/{}/", token.to_uppercase())), "/share/{token}/");
        assert_eq!(
            path_for_logs(&format!("/api/shares/{token}/threads/sthr_01abc/stream")),
            "/api/shares/{token}/threads/sthr_01abc/stream"
        );
        // Ids and names are kept: they say what was asked for.
        assert_eq!(path_for_logs("/api/sessions/sesn_01abcdef/stream"), "/api/sessions/sesn_01abcdef/stream");
        assert_eq!(path_for_logs("/api/shares/open"), "/api/shares/open");
    }
}
