//! The forms of the sign-in and first-run pages: `POST /auth/login`, `/auth/logout` and
//! `/auth/setup`. Each answers with a redirect; a failure goes back to its page, which says why.

use std::{
    net::SocketAddr,
    sync::{Arc, atomic::Ordering},
};

use axum::{
    Form,
    extract::{ConnectInfo, State},
    http::{HeaderMap, header},
    response::{IntoResponse, Redirect, Response},
};
use domain::auth::Principal;
use serde::Deserialize;
use tower_sessions::Session;

pub(crate) use domain::format::safe_next;

use super::{
    Access,
    authn::{LOGIN, StoredLogin, unix_now},
};
use crate::{
    access::{accounts::SignInError, throttle::Client},
    audit::{Actor, NewEntry},
};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    username: String,
    password: String,
    next: String,
}

/// `POST /auth/login`: checks the password (throttled per account and per address, or per
/// device for a browser that signed in before: `crate::access::throttle`), starts a login under
/// a new session id, marks the browser as one that signed in, and goes on to `next`. A failure
/// goes back to the login page, which says why; it is on record counted with the others of its
/// address and username (`crate::audit::AuditLog::append_refused_sign_in`).
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
            domain::format::query_value(&username),
            domain::format::query_value(&next_page)
        ))
        .into_response()
    };
    let mut actor = Actor::of(None, &headers, Some(peer));
    // Only what could be a username goes on record (not a password typed in the wrong field).
    actor.username = Some(username.clone()).filter(|u| domain::auth::check_username(u).is_ok());
    let audit = |status: u16, error: Option<&str>, actor: Actor| {
        access.audit.append(NewEntry::auth(actor, "auth/login", status, error))
    };
    // Anyone can send a refusal: they are counted per address and username, not written each.
    let refused = |status: u16, error: Option<&str>, actor: Actor| {
        access.audit.append_refused_sign_in(NewEntry::auth(actor, "auth/login", status, error))
    };
    let device = access.devices.device_of(&headers, &username);
    let client = client(&device, &ip);
    if let Err(held) = access.accounts.throttle.attempt(&username, client).await {
        count_throttled(held.by);
        count_sign_in("password", "throttled");
        let seconds = held.wait.as_millis().div_ceil(1000).max(1);
        refused(429, Some("too many failed sign-ins"), actor).await;
        return back("throttled", format!("&wait_secs={seconds}"));
    }
    let signed_in = access.accounts.sign_in(&username, &form.password).await;
    count_sign_in("password", signed_in.as_ref().map_or_else(SignInError::label, |_| "ok"));
    match signed_in {
        Ok(login) => {
            access.accounts.throttle.succeeded(&username, client).await;
            // A login this browser had before ends here.
            if let Ok(Some(before)) = session.get::<StoredLogin>(LOGIN).await {
                let _ = access.accounts.end_login(&before.login).await;
            }
            let signed_in = Actor::of(Some(&login.principal), &headers, Some(peer));
            let started = start_login(&access, &session, &signed_in, login.generation, None).await;
            if let Err(error) = started {
                tracing::error!("a login could not be started: {error}");
                return back("failed", String::new());
            }
            audit(200, None, signed_in).await;
            let trusted = access.devices.cookie(&username, device.as_deref());
            // Asked to choose their own password: the Account page first (nothing else opens).
            let to = if login.principal.must_change_password { "/account?required=1" } else { next_page.as_str() };
            ([(header::SET_COOKIE, trusted)], Redirect::to(to)).into_response()
        }
        Err(SignInError::Credentials) => {
            refused(401, Some("wrong username or password"), actor).await;
            back("credentials", String::new())
        }
        Err(SignInError::Disabled) => {
            refused(403, Some("the account is disabled"), actor).await;
            back("disabled", String::new())
        }
        Err(SignInError::Failed(error)) => {
            tracing::error!("a sign-in could not be checked: {error}");
            refused(500, Some("the accounts could not be read"), actor).await;
            back("failed", String::new())
        }
    }
}

/// A sign-in attempt in the metrics, by `method` (`password`, `sso`) and `result` (`ok`, or a
/// word from a fixed list saying why not).
pub(super) fn count_sign_in(method: &'static str, result: &'static str) {
    metrics::counter!(crate::support::meters::SIGN_INS, "method" => method, "result" => result).increment(1);
}

/// An attempt the throttle held back, by the count that did.
fn count_throttled(by: super::throttle::Counted) {
    metrics::counter!(crate::support::meters::SIGN_INS_THROTTLED, "limit" => by.as_str()).increment(1);
}

/// Who is trying a password, as the throttle counts them: a browser that signed in to this
/// account before (its device cookie's id) on its own, so nobody else's guesses hold it back;
/// anyone else by address.
fn client<'a>(device: &'a Option<String>, ip: &'a str) -> Client<'a> {
    match device {
        Some(id) => Client::Device(id),
        None => Client::Address(ip),
    }
}

/// Records a login of `who` (with where it came from) and puts it in the session, under a new
/// session id: an id planted before (session fixation) is worth nothing. `id_token`: the identity
/// provider's, for a single sign-on (signing out hands it back).
pub(super) async fn start_login(
    access: &Access,
    session: &Session,
    who: &Actor,
    generation: i64,
    id_token: Option<String>,
) -> Result<(), LoginNotStarted> {
    let user_id = who.user_id.ok_or(LoginNotStarted::NoAccount)?;
    let login = access.accounts.start_login(user_id, who.ip.as_deref(), who.user_agent.as_deref()).await?;
    session.cycle_id().await?;
    let stored = StoredLogin { login, user_id, generation, started: unix_now(), id_token };
    Ok(session.insert(LOGIN, stored).await?)
}

/// Why a login could not be started; for the log.
#[derive(Debug, thiserror::Error)]
pub(super) enum LoginNotStarted {
    #[error("a login needs an account")]
    NoAccount,
    #[error("the login could not be recorded: {0}")]
    Recorded(#[from] sqlx::Error),
    #[error("the login session could not be saved: {0}")]
    Session(#[from] tower_sessions::session::Error),
}

/// `POST /auth/logout`: ends the login on the server (the stored session is deleted, so the old
/// cookie is worth nothing) and goes to the login page; a person the identity provider signed in
/// goes through its end-session endpoint first, so that their next sign-in asks again.
pub async fn logout(
    State(access): State<Arc<Access>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    headers: HeaderMap,
    principal: Option<axum::Extension<Principal>>,
) -> Response {
    let stored = session.get::<StoredLogin>(LOGIN).await.ok().flatten();
    if let Some(login) = &stored
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
    // Signed in by the provider: signed out there too, which then sends the browser back.
    if let (Some(oidc), Some(id_token)) = (&access.oidc, stored.and_then(|s| s.id_token))
        && let Some(url) = oidc.end_session_url(&id_token).await
    {
        return Redirect::to(&url).into_response();
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
            domain::format::query_value(&form.token),
            domain::format::query_value(&username),
            domain::format::query_value(message)
        ))
        .into_response()
    };
    if !access.still_needs_setup().await {
        return Redirect::to("/login?error=set_up").into_response();
    }
    if !bool::from(subtle::ConstantTimeEq::ct_eq(form.token.trim().as_bytes(), access.setup_token.as_bytes())) {
        return back(
            "This setup link is not the one Switchboard printed at its last start; copy the link from its log.",
        );
    }
    if let Err(problem) = domain::auth::check_username(&username) {
        return back(&problem.to_string());
    }
    if let Err(problem) = domain::auth::check_password(&username, &form.password) {
        return back(&problem.to_string());
    }
    if form.password != form.confirm {
        return back("The two passwords differ; type the same password twice.");
    }
    let display_name = Some(form.display_name.trim()).filter(|d| !d.is_empty()).unwrap_or(&username).to_owned();
    let account = match access.accounts.create_first_admin(&username, &display_name, &form.password).await {
        Ok(account) => account,
        Err(domain::auth::store::AccountError::Taken) => {
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
    let actor = Actor::of(Some(&principal), &headers, Some(peer));
    if let Err(error) = start_login(&access, &session, &actor, 0, None).await {
        tracing::error!("a login session could not be saved: {error}");
        return Redirect::to("/login").into_response();
    }
    let mut entry = NewEntry::auth(actor, "auth/setup", 200, None);
    entry.targets.push(format!("user:{}", principal.user_id));
    access.audit.append(entry).await;
    Redirect::to("/").into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    current: String,
    password: String,
    confirm: String,
}

/// `POST /auth/password`: a signed-in person sets a new password, with their current one
/// (throttled like a sign-in: a stolen login must not become a way to guess it). Every login of
/// the account ends, as the password changed; this browser gets a new one and stays signed in.
/// An admin's request for a new password is cleared. The entry is written first (the audit
/// layer's rule for changes); the Account page says how it went.
pub async fn change_password(
    State(access): State<Arc<Access>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    headers: HeaderMap,
    axum::Extension(principal): axum::Extension<Principal>,
    Form(form): Form<PasswordForm>,
) -> Response {
    let back = |code: &str| Redirect::to(&format!("/account?error={code}")).into_response();
    let username = principal.username.clone();
    let actor = Actor::of(Some(&principal), &headers, Some(peer));
    if form.password != form.confirm {
        return back("confirm");
    }
    if domain::auth::check_password(&username, &form.password).is_err() {
        return back("rules");
    }
    if form.password == form.current {
        return back("same");
    }
    let entry = match access.audit.begin(&actor, "auth/password").await {
        Ok(id) => id,
        Err(error) => {
            tracing::error!("an audit entry could not be written, so the password was not changed: {error}");
            return back("failed");
        }
    };
    let done = |status: u16, error: Option<&str>| {
        access.audit.finish(entry, NewEntry::auth(actor.clone(), "auth/password", status, error))
    };
    let ip = peer.ip().to_string();
    let device = access.devices.device_of(&headers, &username);
    let client = client(&device, &ip);
    if let Err(held) = access.accounts.throttle.attempt(&username, client).await {
        count_throttled(held.by);
        done(429, Some("too many wrong current passwords")).await;
        return back("throttled");
    }
    match access.accounts.sign_in(&username, &form.current).await {
        Ok(_) => access.accounts.throttle.succeeded(&username, client).await,
        Err(SignInError::Credentials) => {
            done(401, Some("the current password was wrong")).await;
            return back("current");
        }
        Err(SignInError::Disabled) => {
            done(403, Some("the account is disabled")).await;
            return Redirect::to("/login?error=disabled").into_response();
        }
        Err(SignInError::Failed(error)) => {
            tracing::error!("a password change could not be checked: {error}");
            done(500, Some("the accounts could not be read")).await;
            return back("failed");
        }
    }
    use domain::auth::store::AccountStore as _;
    if let Err(error) = access.accounts.set_password(principal.user_id, &form.password, false).await {
        tracing::error!("a password could not be changed: {error:?}");
        done(500, Some("the accounts could not be saved")).await;
        return back("failed");
    }
    // Every login ended with the old password, this one too: this browser gets a new one, bound
    // to the generation the new password started.
    let generation = match access.accounts.generation(principal.user_id).await {
        Ok(Some(generation)) => generation,
        _ => {
            done(200, None).await;
            return Redirect::to("/login?error=signed_out").into_response();
        }
    };
    if let Err(error) = start_login(&access, &session, &actor, generation, None).await {
        tracing::error!("a login could not be started after a password change: {error}");
        done(200, None).await;
        return Redirect::to("/login?error=signed_out").into_response();
    }
    done(200, None).await;
    Redirect::to("/account?done=password").into_response()
}
