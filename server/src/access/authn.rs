//! Authentication: the login cookie's session becomes a [`Principal`] on the request, and a
//! [`LoginCheck`] for the event streams that outlive a single request.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::Access;
use crate::access::accounts::Accounts;

/// What the login cookie's session holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredLogin {
    /// The row in `logins` (gone once signed out).
    pub login: String,
    pub user_id: i64,
    pub generation: i64,
    /// Unix seconds.
    pub started: i64,
    /// The provider's ID token of a single sign-on: signing out ends the provider's session with
    /// it as the hint (`oidc::Oidc::end_session_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// The key of the login in the cookie's session.
pub(super) const LOGIN: &str = "login";

/// The request's login, for a long-lived stream: when it ends at the latest, and a check now and
/// then that nobody ended it, disabled the account or changed its password meanwhile, nor took
/// away the person's roles in the request's workspace.
#[derive(Clone)]
pub struct LoginCheck {
    /// The absolute expiry: an event stream opened now ends then. (An open stream counts as
    /// activity: idle expiry does not end it.)
    pub ends: Instant,
    stored: StoredLogin,
    accounts: Arc<Accounts>,
    /// Changes when a login ended anywhere: check now rather than at the next heartbeat.
    pub rechecks: tokio::sync::watch::Receiver<u64>,
    /// Whether the person may still open the request's workspace (set by the workspace layer
    /// for a workspace opened by a grant; `None`: the default, which every account opens).
    granted: Option<Arc<dyn Fn() -> bool + Send + Sync>>,
}

impl LoginCheck {
    /// False once the person signed out, the account was disabled, deleted or its password
    /// changed, or their grant in the request's workspace was taken away. A database that cannot
    /// be read does not end the stream.
    pub async fn still_valid(&self) -> bool {
        if self.granted.as_ref().is_some_and(|granted| !granted()) {
            return false;
        }
        let StoredLogin { login, user_id, generation, .. } = &self.stored;
        !matches!(self.accounts.current(login, *user_id, *generation).await, Ok(None))
    }

    /// This check, also false once `granted` is.
    pub fn while_granted(&mut self, granted: impl Fn() -> bool + Send + Sync + 'static) {
        self.granted = Some(Arc::new(granted));
    }
}

pub(super) use crate::support::unix_now;

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
    // Programs call the API with a token; a browser's login cookie opens nothing there (a page
    // on another site could otherwise make a signed-in browser send API calls).
    if domain::gateway::is_api(request.uri().path()) {
        let checked = match super::api_tokens::presented(request.headers()) {
            Some(secret) if super::api_tokens::is_jwt(secret) => service_caller(&access, secret).await,
            Some(secret) => access.tokens.check(secret).await,
            None => Err(super::api_tokens::TokenRefused(
                "Send a personal access token from your Account page in x-api-key or Authorization: Bearer.".to_owned(),
            )),
        };
        match checked {
            Ok((principal, caller)) => {
                request.extensions_mut().insert(crate::audit::Credential(caller.label()));
                request.extensions_mut().insert(principal);
                request.extensions_mut().insert(caller);
            }
            Err(refused) => {
                request.extensions_mut().insert(refused);
            }
        }
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
                    request.extensions_mut().insert(domain::auth::store::CurrentLogin(login.login.clone()));
                    request.extensions_mut().insert(LoginCheck {
                        ends: Instant::now() + (access.session_max - age),
                        stored: login,
                        rechecks: access.accounts.rechecks(),
                        accounts: access.accounts.clone(),
                        granted: None,
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

/// The caller behind a provider's token (`access::service_callers`), where Switchboard takes them.
async fn service_caller(
    access: &Access,
    token: &str,
) -> Result<(domain::auth::Principal, super::api_tokens::TokenCaller), super::api_tokens::TokenRefused> {
    use super::api_tokens::TokenRefused;
    let Some(callers) = &access.service_callers else {
        return Err(TokenRefused(
            "This Switchboard does not take the identity provider's tokens (SWITCHBOARD_API_AUDIENCE is not set): send a personal access token from your Account page.".to_owned(),
        ));
    };
    if access.still_needs_setup().await {
        return Err(TokenRefused("Switchboard has no admin yet: nothing is served until one is made.".to_owned()));
    }
    callers.check(token).await
}

/// Built assets and the health and readiness checks: no login is read for them, and everyone
/// may fetch them (nor does the signed-out rate limit count them: `crate::access::limits`; a
/// readiness check's answer is reused for 2 s, so a flood of them costs little).
pub fn is_asset(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.svg" || path == "/healthz" || path == "/readyz"
}
