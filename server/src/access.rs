//! Who may reach what.
//!
//! - [`authenticate`] turns the login cookie into a [`Principal`] on the request (or none).
//! - [`authorize`] looks the request up in [`rule`], the one table of every endpoint and the role
//!   it needs, and refuses before any handler runs: 401 (nobody signed in; pages redirect to the
//!   login page), 403 (the roles do not allow it). An endpoint missing from the table is refused
//!   for everyone, and `server/tests/access.rs` fails until it has a rule.
//! - `/auth/login`, `/auth/logout`, `/auth/setup`: the forms of the login and first-run pages.
//! - [`secure_headers`]: Content-Security-Policy and friends on every response.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use app::{
    auth::{Principal, Role},
    error::{AppError, ErrorKind},
};
use axum::{
    Form,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::{
    accounts::{SignInError, SqliteAccounts},
    audit::{Actor, NewEntry, SqliteAudit},
};

/// What the access layers share.
pub struct Access {
    pub accounts: Arc<SqliteAccounts>,
    pub audit: Arc<SqliteAudit>,
    /// No account exists yet: every page leads to the setup page.
    pub needs_setup: AtomicBool,
    /// The secret of the one-time setup link (printed at start while no account exists).
    pub setup_token: String,
    /// A login ends this long after it began.
    pub session_max: Duration,
    pub max_body_bytes: usize,
}

/// What the login cookie's session holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredLogin {
    /// The row in `logins` (gone once signed out).
    login: String,
    user_id: i64,
    generation: i64,
    /// Unix seconds.
    started: i64,
}

const LOGIN: &str = "login";

/// The request's login, for a long-lived stream: when it ends at the latest, and a check now and
/// then that nobody ended it, disabled the account or changed its password meanwhile.
#[derive(Clone)]
pub struct LoginCheck {
    /// The absolute expiry: an event stream opened now ends then. (An open stream counts as
    /// activity: idle expiry does not end it.)
    pub ends: Instant,
    stored: StoredLogin,
    accounts: Arc<SqliteAccounts>,
}

impl LoginCheck {
    /// False once the person signed out, the account was disabled or its password changed. A
    /// database that cannot be read does not end the stream.
    pub async fn still_valid(&self) -> bool {
        let StoredLogin { login, user_id, generation, .. } = &self.stored;
        !matches!(self.accounts.current(login, *user_id, *generation).await, Ok(None))
    }
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Puts the signed-in [`Principal`] on the request, when the login cookie names a login that
/// still stands. A login past its absolute expiry, or of an account since disabled or given a new
/// password, is ended here.
pub async fn authenticate(
    State(access): State<Arc<Access>>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    if is_asset(request.uri().path()) {
        return next.run(request).await;
    }
    match session.get::<StoredLogin>(LOGIN).await {
        Ok(Some(login)) => {
            let age = Duration::from_secs((unix_now() - login.started).max(0) as u64);
            let current = if age < access.session_max {
                access.accounts.current(&login.login, login.user_id, login.generation).await
            } else {
                Ok(None)
            };
            match current {
                Ok(Some(principal)) => {
                    request.extensions_mut().insert(LoginCheck {
                        ends: Instant::now() + (access.session_max - age),
                        stored: login,
                        accounts: access.accounts.clone(),
                    });
                    request.extensions_mut().insert(principal);
                }
                Ok(None) => {
                    let _ = access.accounts.end_login(&login.login).await;
                    let _ = session.flush().await;
                }
                // Not the login's fault: it stays, and this request goes on signed out.
                Err(error) => tracing::warn!("a login could not be checked: {error}"),
            }
        }
        Ok(None) => {}
        Err(error) => tracing::warn!("a login session could not be read: {error}"),
    }
    next.run(request).await
}

fn is_asset(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.svg" || path == "/healthz"
}

/// What an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, signed in or not.
    Public,
    /// A signed-in person with this role (every role can read: `Role::Viewer`).
    Needs(Role),
}

/// The rule for `method path`; `None` for an endpoint nobody gave a rule, which is refused.
pub fn rule(method: &Method, path: &str) -> Option<Rule> {
    use Role::*;
    let read = matches!(*method, Method::GET | Method::HEAD);
    if is_asset(path) {
        return Some(Rule::Public);
    }
    match path {
        "/login" | "/setup" if read => return Some(Rule::Public),
        "/auth/login" | "/auth/setup" | "/auth/logout" if *method == Method::POST => return Some(Rule::Public),
        _ => {}
    }
    let Some(endpoint) = path.strip_prefix("/api/") else {
        // Every page can be read by every role but the admins' own; what a page does goes through
        // the endpoints below. (A page's data is loaded while it renders on the server, without
        // passing this table: the server functions behind admin pages check the role themselves.)
        return read.then_some(Rule::Needs(if path == "/users" || path.starts_with("/users/") {
            Admin
        } else {
            Viewer
        }));
    };
    let segments: Vec<&str> = endpoint.split('/').collect();
    let role = match (read, segments.as_slice()) {
        (_, ["auth", "me"]) => return Some(Rule::Public),
        // Reads (server functions that read are GET).
        (
            true,
            ["upstream"]
            | ["agents", "list" | "get" | "choices" | "definition" | "diff" | "versions"]
            | ["environments", "list" | "get"]
            | ["sessions", "list" | "get" | "choices" | "events" | "decisions"]
            | ["files", "list" | "get"]
            | ["vaults", "list" | "get"]
            | ["audit", "list" | "export"]
            | ["inbox", "list" | "stream"],
        ) => Viewer,
        (true, ["files", _, "content"] | ["sessions", _, "stream"]) => Viewer,
        // Creating and running.
        (
            false,
            ["agents", "create" | "update"]
            | ["environments", "save"]
            | ["sessions", "create" | "mount" | "unmount" | "steer"]
            | ["files"],
        ) => Operator,
        (false, ["sessions", "decide" | "answer"]) => Approver,
        // Destructive actions, secrets, people and settings.
        (
            false,
            ["agents", "archive"]
            | ["environments", "archive" | "delete"]
            | ["files", "delete"]
            | ["sessions", "archive" | "delete"]
            | ["vaults", "create" | "archive" | "delete"]
            | ["vaults", "credentials", "create" | "rotate" | "archive" | "delete"]
            | ["users", "create" | "update" | "password"]
            | ["settings", "check"],
        ) => Admin,
        (true, ["users", "list"]) => Admin,
        _ => return None,
    };
    Some(Rule::Needs(role))
}

/// Refuses a request its [`rule`] does not allow. Pages redirect to the login (or setup) page so
/// that a link still works after signing in; endpoints answer 401 or 403 with an [`AppError`].
pub async fn authorize(State(access): State<Arc<Access>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let is_page = !path.starts_with("/api/") && !path.starts_with("/auth/");
    let Some(rule) = rule(request.method(), path) else {
        if path.starts_with("/api/") {
            tracing::error!("no access rule for {} {path}: refused; add one to server/src/access.rs", request.method());
        }
        return refuse(ErrorKind::Forbidden, format!("{} {path} is not open to anyone.", request.method()));
    };
    let Rule::Needs(role) = rule else {
        return next.run(request).await;
    };
    if access.needs_setup.load(Ordering::Relaxed) {
        if is_page {
            return Redirect::to("/setup").into_response();
        }
        return refuse(
            ErrorKind::SignedOut,
            "Switchboard has no accounts yet: open the setup link it printed at start to create the first admin.",
        );
    }
    let Some(principal) = request.extensions().get::<Principal>() else {
        if is_page {
            let next_page = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            return Redirect::to(&format!("/login?next={}", app::format::query_value(next_page))).into_response();
        }
        return refuse(
            ErrorKind::SignedOut,
            "You are not signed in, or your sign-in has ended. Sign in and try again.",
        );
    };
    if !principal.can(role) {
        if is_page {
            let page = format!(
                "<!DOCTYPE html><html lang=\"en\"><meta charset=\"utf-8\"><title>Not allowed · Switchboard</title>\
                 <h1>Not allowed for your roles</h1><p>This page needs the {} role. Ask an admin if you need it.</p>\
                 <p><a href=\"/\">Go to the overview</a></p></html>",
                role.as_str()
            );
            return (StatusCode::FORBIDDEN, axum::response::Html(page)).into_response();
        }
        let endpoint = path.trim_start_matches("/api/");
        return refuse(
            ErrorKind::Forbidden,
            format!(
                "Your roles ({}) do not allow {endpoint}: it needs the {} role. Ask an admin if you need it.",
                app::auth::roles_text(&principal.roles),
                role.as_str()
            ),
        );
    }
    next.run(request).await
}

fn refuse(kind: ErrorKind, message: impl Into<String>) -> Response {
    AppError::new(kind, message).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    username: String,
    password: String,
    next: String,
}

/// `POST /auth/login`: checks the password (throttled per account and per address), starts a
/// login under a new session id, and goes on to `next`. A failure goes back to the login page,
/// which says why.
pub async fn login(
    State(access): State<Arc<Access>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let ip = peer.ip().to_string();
    let next_page = safe_next(&form.next);
    let username = form.username.trim().to_lowercase();
    let back = |error: &str, extra: String| {
        Redirect::to(&format!(
            "/login?error={error}&username={}&next={}{extra}",
            app::format::query_value(&username),
            app::format::query_value(&next_page)
        ))
        .into_response()
    };
    let mut actor = Actor::of(None, &headers, Some(peer));
    // Only what could be a username goes on record (not a password typed in the wrong field).
    actor.username = Some(username.clone()).filter(|u| app::auth::check_username(u).is_ok());
    let audit = |status: u16, error: Option<&str>, actor: Actor| {
        access.audit.append(NewEntry::auth(actor, "auth/login", status, error))
    };
    if let Err(wait) = access.accounts.throttle.attempt(&username, &ip) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        audit(429, Some("too many failed sign-ins"), actor).await;
        return back("throttled", format!("&wait={minutes}"));
    }
    match access.accounts.sign_in(&username, &form.password).await {
        Ok(login) => {
            access.accounts.throttle.succeeded(&username, Some(&ip));
            // A login this browser had before ends here.
            if let Ok(Some(before)) = session.get::<StoredLogin>(LOGIN).await {
                let _ = access.accounts.end_login(&before.login).await;
            }
            let started = start_login(&access, &session, login.principal.user_id, login.generation).await;
            if let Err(error) = started {
                tracing::error!("a login could not be started: {error}");
                return back("failed", String::new());
            }
            audit(200, None, Actor::of(Some(&login.principal), &headers, Some(peer))).await;
            Redirect::to(&next_page).into_response()
        }
        Err(SignInError::Credentials) => {
            audit(401, Some("wrong username or password"), actor).await;
            back("credentials", String::new())
        }
        Err(SignInError::Disabled) => {
            audit(403, Some("the account is disabled"), actor).await;
            back("disabled", String::new())
        }
        Err(SignInError::Failed(error)) => {
            tracing::error!("a sign-in could not be checked: {error}");
            audit(500, Some("the accounts could not be read"), actor).await;
            back("failed", String::new())
        }
    }
}

/// Records a login and puts it in the session, under a new session id: an id planted before
/// (session fixation) is worth nothing.
async fn start_login(access: &Access, session: &Session, user_id: i64, generation: i64) -> Result<(), String> {
    let login = access.accounts.start_login(user_id).await.map_err(|e| e.to_string())?;
    session.cycle_id().await.map_err(|e| e.to_string())?;
    let stored = StoredLogin { login, user_id, generation, started: unix_now() };
    session.insert(LOGIN, stored).await.map_err(|e| e.to_string())
}

/// `POST /auth/logout`: ends the login on the server (the stored session is deleted, so the old
/// cookie is worth nothing) and goes to the login page.
pub async fn logout(
    State(access): State<Arc<Access>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    headers: HeaderMap,
    principal: Option<axum::Extension<Principal>>,
) -> Response {
    if let Ok(Some(login)) = session.get::<StoredLogin>(LOGIN).await
        && let Err(error) = access.accounts.end_login(&login.login).await
    {
        tracing::error!("a login could not be ended: {error}");
    }
    if let Err(error) = session.flush().await {
        tracing::error!("a login session could not be ended: {error}");
    }
    if let Some(axum::Extension(principal)) = principal {
        let actor = Actor::of(Some(&principal), &headers, Some(peer));
        access.audit.append(NewEntry::auth(actor, "auth/logout", 200, None)).await;
    }
    Redirect::to("/login?error=signed_out").into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SetupForm {
    token: String,
    username: String,
    display_name: String,
    password: String,
    confirm: String,
}

/// `POST /auth/setup`: with the setup link's token, creates the first admin and signs them in.
pub async fn setup(
    State(access): State<Arc<Access>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Response {
    let username = form.username.trim().to_lowercase();
    let back = |message: &str| {
        Redirect::to(&format!(
            "/setup?token={}&username={}&error={}",
            app::format::query_value(&form.token),
            app::format::query_value(&username),
            app::format::query_value(message)
        ))
        .into_response()
    };
    if !access.needs_setup.load(Ordering::Relaxed) {
        return Redirect::to("/login?error=set_up").into_response();
    }
    if !bool::from(subtle::ConstantTimeEq::ct_eq(form.token.trim().as_bytes(), access.setup_token.as_bytes())) {
        return back(
            "This setup link is not the one Switchboard printed at its last start; copy the link from its log.",
        );
    }
    if let Err(message) = app::auth::check_username(&username) {
        return back(&message);
    }
    if let Err(message) = app::auth::check_password(&username, &form.password) {
        return back(&message);
    }
    if form.password != form.confirm {
        return back("The two passwords differ; type the same password twice.");
    }
    let display_name = Some(form.display_name.trim()).filter(|d| !d.is_empty()).unwrap_or(&username).to_owned();
    let account = match access.accounts.create_first_admin(&username, &display_name, &form.password).await {
        Ok(account) => account,
        Err(app::auth::store::AccountError::Taken) => {
            access.needs_setup.store(false, Ordering::Relaxed);
            return Redirect::to("/login?error=set_up").into_response();
        }
        Err(error) => {
            tracing::error!("the first admin could not be created: {error:?}");
            return back("The account could not be saved; see the server's log.");
        }
    };
    access.needs_setup.store(false, Ordering::Relaxed);
    let principal = Principal::from(account);
    if let Err(error) = start_login(&access, &session, principal.user_id, 0).await {
        tracing::error!("a login session could not be saved: {error}");
        return Redirect::to("/login").into_response();
    }
    let mut entry = NewEntry::auth(Actor::of(Some(&principal), &headers, Some(peer)), "auth/setup", 200, None);
    entry.targets.push(format!("user:{}", principal.user_id));
    access.audit.append(entry).await;
    Redirect::to("/").into_response()
}

/// Where to go after signing in: a path on this server, never another site (`//evil.example`).
fn safe_next(next: &str) -> String {
    let next = next.trim();
    // A path on this server only: no `//host`, no backslashes or control characters, which
    // browsers drop or turn into slashes (`/\t/evil.example` becomes `//evil.example`).
    let plain = next.chars().all(|c| c.is_ascii_graphic() && c != '\\');
    if plain && next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/auth/") {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

/// The policy every response gets. Pages replace it with one that also names their nonce: the
/// only inline scripts allowed are Leptos' hydration scripts, which carry it.
pub fn content_security_policy(nonce: Option<&str>) -> String {
    let scripts = match nonce {
        Some(nonce) => format!("'self' 'nonce-{nonce}' 'wasm-unsafe-eval'"),
        None => "'self' 'wasm-unsafe-eval'".to_owned(),
    };
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
         connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Security headers on every response.
pub async fn secure_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(value) = HeaderValue::from_str(&content_security_policy(None))
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// A random token for the one-time setup link.
pub fn setup_token() -> String {
    crate::accounts::random_hex::<24>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_pages_stay_on_this_server() {
        assert_eq!(safe_next("/sessions/sesn_1?x=1"), "/sessions/sesn_1?x=1");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("/\t/evil.example"), "/");
        assert_eq!(safe_next("/%09/evil.example"), "/%09/evil.example", "still a path here, and encoded");
        assert_eq!(safe_next(""), "/");
    }
}
