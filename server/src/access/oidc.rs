//! Single sign-on with an OpenID Connect provider: `GET /auth/oidc/start` and
//! `GET /auth/oidc/callback` (the authorization code flow with PKCE), and the provider's side of
//! signing out (`forms::logout` sends a person signed in this way on to the provider's end-session
//! endpoint).
//!
//! The `openidconnect` crate does the protocol: discovery, the authorization URL, the code
//! exchange, and every check of the ID token (signature against the provider's keys, issuer,
//! audience, expiry, nonce). It speaks HTTP through [`Oidc::http`], a client of the server's own
//! reqwest that follows no redirects (a provider's answer cannot send Switchboard elsewhere).
//!
//! Who may come in, and as what, is decided here: an address at an allowed domain, verified by
//! the provider; roles from a claim through `SWITCHBOARD_OIDC_ROLE_MAP`, or those an admin grants
//! (`SsoRoles`). The account is the provider's subject's own (`accounts::Accounts::
//! sign_in_sso`), never a local account of the same name.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use axum::{
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, header},
    response::{IntoResponse, Redirect, Response},
};
use domain::auth::Role;
use openidconnect::{
    AccessToken, AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IdToken, IdTokenClaims, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope, TokenResponse,
    UserInfoClaims,
    core::{
        CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreIdToken, CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    },
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::{
    Access,
    authn::{LOGIN, StoredLogin, unix_now},
    forms::start_login,
};
use crate::{
    access::accounts::{SsoPerson, SsoRoles, SsoSignInError},
    audit::{Actor, NewEntry},
    settings::OidcSettings,
};

/// How long a discovered provider (its endpoints and signing keys) is used before it is read
/// again: keys the provider rotates in are picked up within this long.
const METADATA_TTL: Duration = Duration::from_secs(5 * 60);
/// How long a sign-in may stay at the provider before its return is refused.
const PENDING_TTL_SECS: i64 = 10 * 60;
/// Returns the server remembers as taken at most; past it the oldest gives way (its state could
/// then be replayed, within its 10 minutes, by someone who has the browser's cookie and the code).
const MOST_TAKEN: usize = 100_000;

/// The claims beyond the standard ones: the roles claim is looked up here by its configured name.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct OtherClaims(HashMap<String, serde_json::Value>);
impl AdditionalClaims for OtherClaims {}

type SsoIdToken = IdToken<OtherClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;
type SsoClient =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// The provider, as configured and as discovered.
pub struct Oidc {
    pub settings: OidcSettings,
    http: reqwest::Client,
    metadata: std::sync::Mutex<Option<(Instant, Arc<ProviderMetadataWithLogout>)>>,
    /// Signs the cookie of a sign-in under way (`<data>/sso.key`).
    key: crate::support::keys::CookieKey,
    /// `SWITCHBOARD_COOKIE_SECURE`.
    secure: bool,
    /// The states of the sign-ins under way: each return is taken once.
    taken: TakenStates,
    /// When the keys were last read again for a service caller's token that names a key not
    /// seen yet ([`Oidc::service_claims`]): at most every [`KEYS_AGAIN_AFTER`], so that made-up
    /// `kid`s cannot make Switchboard call the provider on every request.
    keys_read: std::sync::Mutex<Option<Instant>>,
}

/// How often, at most, a token naming an unknown key makes the provider's keys be read again.
const KEYS_AGAIN_AFTER: Duration = Duration::from_secs(30);

/// The signature algorithms a service caller's token may use: the provider's published keys
/// only. A token signed with a shared secret (HS256) could be made by anyone who holds it, any
/// other client of the provider's included.
const SERVICE_ALGORITHMS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// What a service caller's token says, once its checks passed ([`Oidc::service_claims`]).
#[derive(Debug, Clone)]
pub struct ServiceClaims {
    /// `sub`: the caller, for good.
    pub subject: String,
    /// The client the token was issued to: `client_id` (RFC 9068), else `azp`, else the subject.
    pub client: String,
    /// Unix seconds: `exp`.
    pub expires_unix: i64,
    other: OtherClaims,
}

impl ServiceClaims {
    /// A claim's value when it is text (the workspace claim).
    pub fn text(&self, claim: &str) -> Option<&str> {
        self.other.0.get(claim).and_then(serde_json::Value::as_str)
    }
}

/// The states of the sign-ins whose return was taken, until their time is over. The signed
/// cookie already carries a sign-in's state and start, so starting one writes nothing here
/// (nobody can crowd out a person's sign-in by starting many); the return takes its state
/// ([`TakenStates::take`]), and a return replayed with the same state and cookie is refused before
/// it exchanges a code or writes anything. Bounded in time ([`PENDING_TTL_SECS`]) and size
/// ([`MOST_TAKEN`]); in memory, so a restart forgets it (a replay then still needs the
/// browser's cookie and a code the provider takes once).
struct TakenStates {
    states: std::sync::Mutex<hashlink::LinkedHashMap<String, Instant>>,
    most: usize,
}

impl TakenStates {
    fn new(most: usize) -> Self {
        Self { states: std::sync::Mutex::new(hashlink::LinkedHashMap::new()), most }
    }

    fn over(taken: Instant, now: Instant) -> bool {
        now.saturating_duration_since(taken) >= Duration::from_secs(PENDING_TTL_SECS as u64)
    }

    /// Takes the return of `state`, once: false when it was taken already.
    fn take(&self, state: &str) -> bool {
        self.take_at(state, Instant::now())
    }

    fn take_at(&self, state: &str, now: Instant) -> bool {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        while states.front().is_some_and(|(_, taken)| Self::over(*taken, now)) {
            states.pop_front();
        }
        if states.contains_key(state) {
            return false;
        }
        states.insert(state.to_owned(), now);
        while states.len() > self.most {
            states.pop_front();
        }
        true
    }
}

/// The cookie of a sign-in under way, sent only to the callback.
const PENDING_COOKIE: &str = "switchboard_sso";
/// What its signature is of (before the payload).
const PENDING_LABEL: &str = "switchboard-sso-pending";

/// A sign-in under way: what the provider's return must match. Kept in a signed cookie of the
/// browser that started it (not in a server-side session: starting a sign-in is anonymous, and
/// must not make the server write anything), cleared by the return; the server remembers the
/// states of the returns it took, in memory and bounded ([`TakenStates`]), to take each once.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    next: String,
    /// Unix seconds.
    started: i64,
}

/// Why a single sign-on failed: the sign-in page's `error` code, and what the audit entry says.
struct Refusal {
    code: &'static str,
    status: u16,
    reason: String,
}

fn refusal(code: &'static str, status: u16, reason: impl Into<String>) -> Refusal {
    Refusal { code, status, reason: reason.into() }
}

impl Oidc {
    /// `data_dir` keeps the key of the pending sign-in cookie; `secure`: that cookie goes over
    /// HTTPS only.
    pub fn new(settings: OidcSettings, key: crate::support::keys::CookieKey, secure: bool) -> Result<Self, SsoError> {
        let http = engine::http_client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            // A new connection for each request: a sign-in is a few requests minutes apart, and a
            // kept one may be closed by the provider (Node's servers after 5 s idle) just as the
            // single-use code goes out on it, which then fails the sign-in ("connection closed
            // before message completed"; a browser test saw it under load).
            .pool_max_idle_per_host(0)
            .build()
            .map_err(SsoError::HttpClient)?;
        Ok(Self {
            settings,
            http,
            metadata: std::sync::Mutex::new(None),
            key,
            secure,
            taken: TakenStates::new(MOST_TAKEN),
            keys_read: std::sync::Mutex::new(None),
        })
    }

    /// The `Set-Cookie` value that holds `pending` until the provider sends the browser back.
    /// SameSite=Lax: the return is a top-level navigation from the provider's site.
    fn pending_cookie(&self, pending: &Pending) -> String {
        use base64::Engine as _;
        let json = serde_json::to_string(pending).unwrap_or_default();
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
        let tag = self.key.tag(PENDING_LABEL, &[&payload]);
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{PENDING_COOKIE}={payload}.{tag}; Path=/auth/oidc/callback; Max-Age={PENDING_TTL_SECS}; HttpOnly; SameSite=Lax{secure}"
        )
    }

    /// The sign-in the request's cookie says this browser started here, if its signature holds.
    fn pending_of(&self, headers: &HeaderMap) -> Option<Pending> {
        use base64::Engine as _;
        let (payload, tag) = super::cookie(headers, PENDING_COOKIE)?.split_once('.')?;
        if !self.key.verify(PENDING_LABEL, &[payload], tag) {
            return None;
        }
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
        serde_json::from_slice(&json).ok()
    }

    /// The crate's HTTP client: reqwest, through [`call`]. Its futures own what they use (a
    /// closure borrowing `self` makes futures axum cannot prove `Send`).
    fn http(&self) -> impl Fn(openidconnect::HttpRequest) -> HttpFuture + Send + Sync + 'static {
        let client = self.http.clone();
        move |request| Box::pin(call(client.clone(), request))
    }
    /// The provider's metadata and keys: discovered at the first use, then kept for
    /// [`METADATA_TTL`]. With `fresh`, read again now (a token signed with a key not seen yet).
    /// The lock is held only to read or store it: a slow provider holds up no other sign-in.
    async fn metadata(&self, fresh: bool) -> Result<Arc<ProviderMetadataWithLogout>, SsoError> {
        if !fresh
            && let Some((at, metadata)) = self.metadata.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
            && at.elapsed() < METADATA_TTL
        {
            return Ok(metadata.clone());
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone()).map_err(SsoError::IssuerUrl)?;
        let http = self.http();
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &http).await.map_err(|e| {
            SsoError::Discovery { issuer: self.settings.issuer.clone(), chain: crate::support::error_chain(&e) }
        })?;
        let metadata = Arc::new(metadata);
        *self.metadata.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    fn client(&self, metadata: &ProviderMetadataWithLogout) -> Result<SsoClient, SsoError> {
        let redirect = RedirectUrl::new(self.settings.redirect_url.clone()).map_err(SsoError::RedirectUrl)?;
        Ok(CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.settings.client_id.clone()),
            self.settings.client_secret.as_ref().map(|s| ClientSecret::new(s.expose().to_owned())),
        )
        .set_redirect_uri(redirect))
    }

    /// The roles a person gets from the provider's claims: the mapped ones with a role map
    /// (none of their values mapping refuses them), or else what an admin grants.
    fn roles(&self, claims: &OtherClaims) -> Result<SsoRoles, Refusal> {
        let settings = &self.settings;
        if settings.role_map.is_empty() {
            return Ok(SsoRoles::FirstSignIn(settings.default_roles.clone()));
        }
        let values: Vec<&str> = match claims.0.get(&settings.roles_claim) {
            Some(serde_json::Value::Array(items)) => items.iter().filter_map(|v| v.as_str()).collect(),
            Some(serde_json::Value::String(one)) => one.split_whitespace().collect(),
            _ => Vec::new(),
        };
        let mut roles: Vec<Role> = Vec::new();
        for (value, role) in &settings.role_map {
            if values.contains(&value.as_str()) && !roles.contains(role) {
                roles.push(*role);
            }
        }
        if roles.is_empty() {
            return Err(refusal(
                "sso_no_role",
                403,
                format!("no value of the {} claim maps to a role", settings.roles_claim),
            ));
        }
        roles.sort();
        Ok(SsoRoles::FromProvider(roles))
    }

    /// Whether `email` may come in: any address without allowed domains; else a verified one at
    /// one of them.
    fn admits(&self, email: Option<&str>, verified: Option<bool>) -> Result<(), Refusal> {
        let domains = &self.settings.allowed_domains;
        if domains.is_empty() {
            return Ok(());
        }
        let Some(email) = email else {
            return Err(refusal("sso_domain", 403, "the provider gave no email address"));
        };
        if verified != Some(true) {
            return Err(refusal("sso_domain", 403, "the provider did not verify the email address"));
        }
        let domain = email.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).unwrap_or_default();
        if !domains.contains(&domain) {
            return Err(refusal("sso_domain", 403, format!("{domain} is not an allowed domain")));
        }
        Ok(())
    }

    /// The claims of `raw`, a token the provider gave a program for Switchboard's API (client
    /// credentials; RFC 9068 access tokens included), after the checks an ID token gets: its
    /// signature against the provider's published keys with an asymmetric algorithm
    /// ([`SERVICE_ALGORITHMS`]), the issuer, `audience` among its audiences, its expiry, and a
    /// `typ` of `JWT` or `at+jwt` when it has one. A token naming a key not seen yet makes the
    /// keys be read again, at most every [`KEYS_AGAIN_AFTER`]. `Err` says why not, in words for
    /// the program's log.
    pub async fn service_claims(&self, raw: &str, audience: &str) -> Result<ServiceClaims, String> {
        if let Some(alg) = header_alg(raw)
            && (alg.starts_with("HS") || alg.eq_ignore_ascii_case("none"))
        {
            return Err(format!(
                "This token is signed with {alg}; Switchboard takes only tokens signed with the provider's published keys (RS256, ES256 and the like)."
            ));
        }
        let token: SsoIdToken =
            raw.parse().map_err(|_| "This token is not a JSON web token Switchboard can read.".to_owned())?;
        let metadata = self.metadata(false).await.map_err(|error| {
            tracing::warn!("a service caller's token could not be checked: {error}");
            "Switchboard could not reach the identity provider to check this token; try again.".to_owned()
        })?;
        let first = self.check_service_token(&token, &metadata, audience);
        let claims = match first {
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(
                openidconnect::SignatureVerificationError::NoMatchingKey,
            )) if self.may_read_keys_again() => {
                let metadata = self.metadata(true).await.map_err(|error| {
                    tracing::warn!("the provider's keys could not be read again: {error}");
                    "Switchboard could not reach the identity provider to check this token; try again.".to_owned()
                })?;
                self.check_service_token(&token, &metadata, audience)
            }
            other => other,
        }
        .map_err(|error| service_refusal(&error))?;
        let text =
            |name: &str| claims.additional_claims().0.get(name).and_then(serde_json::Value::as_str).map(str::to_owned);
        let subject = claims.subject().to_string();
        let client = text("client_id")
            .or_else(|| claims.authorized_party().map(|p| p.to_string()))
            .unwrap_or_else(|| subject.clone());
        Ok(ServiceClaims {
            subject,
            client,
            expires_unix: claims.expiration().timestamp(),
            other: claims.additional_claims().clone(),
        })
    }

    fn check_service_token(
        &self,
        token: &SsoIdToken,
        metadata: &ProviderMetadataWithLogout,
        audience: &str,
    ) -> Result<IdTokenClaims<OtherClaims, CoreGenderClaim>, openidconnect::ClaimsVerificationError> {
        let issuer = IssuerUrl::new(self.settings.issuer.clone())
            .map_err(|e| openidconnect::ClaimsVerificationError::Other(e.to_string()))?;
        let types = ["JWT", "at+jwt"].map(|t| openidconnect::JsonWebTokenType::new(t.to_owned()).normalize());
        let verifier = openidconnect::core::CoreIdTokenVerifier::new_public_client(
            ClientId::new(audience.to_owned()),
            issuer,
            metadata.jwks().clone(),
        )
        .set_allowed_algs(SERVICE_ALGORITHMS)
        .set_allowed_jose_types(types.into_iter().flatten())
        // A token may name other audiences beside Switchboard's API: it is Switchboard's to take
        // when its own is among them.
        .set_other_audience_verifier_fn(|_| true);
        // A token of client credentials has no nonce: nothing was asked of a browser.
        token.claims(&verifier, |_: Option<&Nonce>| Ok(())).cloned()
    }

    /// Whether the keys may be read again now (and notes that they are).
    fn may_read_keys_again(&self) -> bool {
        let mut last = self.keys_read.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|at| at.elapsed() < KEYS_AGAIN_AFTER) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    /// The roles of a service caller from its token's claims: mapped through the role map
    /// (`Err` when none of its values maps), or `FirstSignIn(None)` without one: its account
    /// waits, disabled, for an admin to enable it and grant its roles.
    pub fn service_roles(&self, claims: &ServiceClaims) -> Result<SsoRoles, String> {
        if self.settings.role_map.is_empty() {
            return Ok(SsoRoles::FirstSignIn(None));
        }
        self.roles(&claims.other).map_err(|refused| format!("This token's caller is refused: {}.", refused.reason))
    }

    /// Where signing out at the provider begins, for a person signed in with `id_token`: the
    /// provider's end-session endpoint, told who it was and where to send them back. `None` when
    /// the provider has none (or cannot be reached): then only this console's login ends.
    pub async fn end_session_url(&self, id_token: &str) -> Option<String> {
        let metadata = match self.metadata(false).await {
            Ok(metadata) => metadata,
            Err(error) => {
                tracing::warn!("single sign-on: signing out at the provider skipped: {error}");
                return None;
            }
        };
        let endpoint = metadata.additional_metadata().end_session_endpoint.clone()?;
        // The pages' `form-action` allows the issuer's origin only (`headers.rs`): an endpoint
        // elsewhere would be blocked mid-redirect, so signing out stays local then.
        if !same_origin(endpoint.url(), &self.settings.issuer) {
            tracing::warn!(
                "single sign-on: the provider's end-session endpoint is not at its issuer's origin; signing out stays local"
            );
            return None;
        }
        let hint: CoreIdToken = id_token.parse().ok()?;
        let back = PostLogoutRedirectUrl::new(self.settings.post_logout_url.clone()).ok()?;
        Some(
            openidconnect::LogoutRequest::from(endpoint)
                .set_id_token_hint(&hint)
                .set_client_id(ClientId::new(self.settings.client_id.clone()))
                .set_post_logout_redirect_uri(back)
                .http_get_url()
                .to_string(),
        )
    }
}

/// The `alg` of a JSON web token's header, read without checking anything.
fn header_alg(raw: &str) -> Option<String> {
    use base64::Engine as _;
    let header = raw.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header.trim_end_matches('=')).ok()?;
    let header: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    header.get("alg")?.as_str().map(str::to_owned)
}

/// Why a service caller's token failed its checks, in words for the program's log (the details
/// the crate gives go to the server's log at debug).
fn service_refusal(error: &openidconnect::ClaimsVerificationError) -> String {
    use openidconnect::{ClaimsVerificationError as E, SignatureVerificationError as S};
    tracing::debug!("a service caller's token was refused: {}", crate::support::error_chain(error));
    match error {
        E::Expired(_) => "This token has expired: ask the identity provider for a new one.".to_owned(),
        E::InvalidAudience(_) => {
            "This token is not for Switchboard's API: ask the provider for one whose audience is SWITCHBOARD_API_AUDIENCE."
                .to_owned()
        }
        E::InvalidIssuer(_) => "This token is from another issuer than Switchboard's single sign-on provider.".to_owned(),
        E::SignatureVerification(S::DisallowedAlg(_)) => {
            "This token's signature algorithm is not one Switchboard takes (RS256, ES256 and the like).".to_owned()
        }
        E::SignatureVerification(S::NoMatchingKey) => {
            "This token is signed with a key the identity provider does not publish.".to_owned()
        }
        E::SignatureVerification(_) => "This token's signature does not hold.".to_owned(),
        E::Unsupported(_) => {
            "This token's type is not one Switchboard takes: a signed JWT whose typ is JWT or at+jwt.".to_owned()
        }
        _ => "This token did not pass Switchboard's checks.".to_owned(),
    }
}

/// A future of the crate's HTTP client.
type HttpFuture = std::pin::Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, HttpError>> + Send>>;

/// One HTTP exchange for the crate, through reqwest. The answer is read whole, up to 1 MiB:
/// discovery documents, keys, tokens and userinfo are small.
async fn call(
    client: reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let mut response = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| HttpError(crate::support::describe(e)))?;
    let mut answer = http::Response::builder().status(response.status());
    if let Some(headers) = answer.headers_mut() {
        *headers = response.headers().clone();
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| HttpError(crate::support::describe(e)))? {
        if body.len() + chunk.len() > 1024 * 1024 {
            return Err(HttpError("the provider's answer is over 1 MiB".to_owned()));
        }
        body.extend_from_slice(&chunk);
    }
    answer.body(body).map_err(|e| HttpError(e.to_string()))
}

#[derive(Debug)]
struct HttpError(String);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}

/// Whether `url` is at `issuer`'s origin (scheme, host and port).
fn same_origin(url: &openidconnect::url::Url, issuer: &str) -> bool {
    openidconnect::url::Url::parse(issuer).is_ok_and(|issuer| issuer.origin() == url.origin())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StartQuery {
    next: String,
}

/// `GET /auth/oidc/start?next=/page`: sends the browser to the provider to sign in, with a fresh
/// state, nonce and PKCE challenge kept in its signed cookie for the return. A link from another
/// site does not start one (it could swap a signed-in person into another account unasked).
pub async fn start(State(access): State<Arc<Access>>, headers: HeaderMap, Query(query): Query<StartQuery>) -> Response {
    let Some(oidc) = access.oidc.as_ref() else {
        return Redirect::to("/login?error=sso_off").into_response();
    };
    if super::from_another_site(&headers) {
        return Redirect::to(&format!(
            "/login?next={}",
            domain::format::query_value(&super::forms::safe_next(&query.next))
        ))
        .into_response();
    }
    let client = match oidc.metadata(false).await.and_then(|m| oidc.client(&m)) {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!("single sign-on could not start: {error}");
            return Redirect::to("/login?error=sso_unavailable").into_response();
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .set_pkce_challenge(challenge);
    for scope in oidc.settings.scopes.iter().filter(|s| *s != "openid") {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, state, nonce) = request.url();
    let pending = Pending {
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        next: super::forms::safe_next(&query.next),
        started: unix_now(),
    };
    ([(header::SET_COOKIE, oidc.pending_cookie(&pending))], Redirect::to(url.as_str())).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /auth/oidc/callback`: the provider's return. Checks it belongs to the sign-in this
/// browser started, trades the code (with the PKCE verifier) for tokens, checks the ID token,
/// decides who may come in and as what, and signs them in. Each return is taken once (a replay is
/// refused as expired). Every outcome of a sign-in this browser started is on record (`auth/sso`:
/// a refusal counted in its address's entry, `audit::AuditLog::append_refused_sign_in`); a
/// refusal goes back to the sign-in page, which says why.
pub async fn callback(
    State(access): State<Arc<Access>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let Some(oidc) = access.oidc.as_ref() else {
        return Redirect::to("/login?error=sso_off").into_response();
    };
    // Used once, whatever happens next: the answer clears the cookie.
    let clear = format!("{PENDING_COOKIE}=; Path=/auth/oidc/callback; Max-Age=0; HttpOnly; SameSite=Lax");
    let back = |to: &str| ([(header::SET_COOKIE, clear.clone())], Redirect::to(to)).into_response();
    let pending = oidc.pending_of(&headers).filter(|p| (0..=PENDING_TTL_SECS).contains(&(unix_now() - p.started)));
    let Some(pending) = pending else {
        // Nothing this browser started (or long ago): nobody to answer for, no audit entry.
        return back("/login?error=sso_expired");
    };
    let state_matches = query
        .state
        .as_deref()
        .is_some_and(|s| bool::from(subtle::ConstantTimeEq::ct_eq(s.as_bytes(), pending.state.as_bytes())));
    if !state_matches {
        return back("/login?error=sso_expired");
    }
    // Taken once, before anything is exchanged or written: a replayed return (the same state
    // and cookie again) is refused like an expired one, with no second entry and no second login.
    if !oidc.taken.take(&pending.state) {
        return back("/login?error=sso_expired");
    }
    let mut actor = Actor::of(None, &headers, Some(peer));
    let outcome = match (query.error.as_deref(), query.code) {
        (Some(error), _) => {
            // The provider's error code (`access_denied`, …), kept short for the record.
            let code: String = error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect();
            Err(refusal("sso_denied", 401, format!("the provider answered {code}")))
        }
        (None, Some(code)) => sign_in(&access, oidc, &pending, code, &mut actor).await,
        (None, None) => Err(refusal("sso_failed", 400, "the provider's answer has no code")),
    };
    let signed_in = match outcome {
        Ok(signed_in) => signed_in,
        Err(refused) => {
            super::forms::count_sign_in("sso", refused.code.strip_prefix("sso_").unwrap_or(refused.code));
            // Counted per address and person, as refused password sign-ins are.
            let entry = NewEntry::auth(actor, "auth/sso", refused.status, Some(&refused.reason));
            access.audit.append_refused_sign_in(entry).await;
            return back(&format!("/login?error={}", refused.code));
        }
    };
    // A login this browser had before ends here, as at a password sign-in.
    if let Ok(Some(before)) = session.get::<StoredLogin>(LOGIN).await {
        let _ = access.accounts.end_login(&before.login).await;
    }
    let started =
        start_login(&access, &session, &signed_in.actor, signed_in.generation, Some(signed_in.id_token)).await;
    if let Err(error) = started {
        tracing::error!("a login could not be started after single sign-on: {error}");
        super::forms::count_sign_in("sso", "failed");
        return back("/login?error=failed");
    }
    super::forms::count_sign_in("sso", "ok");
    if signed_in.admin {
        // The first admin may come from the provider (`sign_in` lets only an admin in before).
        access.needs_setup.store(false, Ordering::Relaxed);
    }
    access.audit.append(NewEntry::auth(signed_in.actor, "auth/sso", 200, None)).await;
    back(&pending.next)
}

/// A person the provider signed in, as this console now knows them.
struct SignedIn {
    actor: Actor,
    generation: i64,
    id_token: String,
    admin: bool,
}

/// The code exchange and every decision after it. `actor` learns who the person is as soon as
/// that is known, so that a refusal's audit entry names them.
async fn sign_in(
    access: &Access,
    oidc: &Oidc,
    pending: &Pending,
    code: String,
    actor: &mut Actor,
) -> Result<SignedIn, Refusal> {
    let (client, claims, raw, access_token) = exchange_code(oidc, pending, code).await?;
    let (person, verified, other) = the_person(oidc, &client, &claims, access_token).await;
    // Until the account is known, the record names the person by their address (bounded).
    actor.username = person.email.as_deref().map(|e| e.chars().take(120).collect());
    let roles = admitted_roles(access, oidc, &person, verified, &other).await?;
    match access.accounts.sign_in_sso(&person, &roles).await {
        Ok(login) => {
            let signed_in = Actor {
                user_id: Some(login.principal.user_id),
                username: Some(login.principal.username.clone()),
                roles: domain::auth::roles_text(&login.principal.roles),
                ..actor.clone()
            };
            let admin = login.principal.roles.contains(&Role::Admin);
            Ok(SignedIn { actor: signed_in, generation: login.generation, id_token: raw, admin })
        }
        Err(SsoSignInError::Disabled) => {
            Err(refusal("sso_disabled", 403, "the account is disabled or waits for an admin"))
        }
        Err(SsoSignInError::LastAdmin) => Err(refusal(
            "sso_last_admin",
            403,
            "the provider's groups no longer make them an admin, and they are the last one",
        )),
        Err(SsoSignInError::Failed(error)) => {
            tracing::error!("single sign-on: the account could not be saved: {error}");
            Err(refusal("failed", 500, "the accounts could not be saved"))
        }
    }
}

/// The provider's failure, logged, as the refusal the person sees.
/// Why single sign-on cannot go on, for the log: the person is told only that the provider could
/// not be reached or answered wrongly.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("the single sign-on HTTP client could not be made: {0}")]
    HttpClient(reqwest::Error),
    #[error("the issuer URL: {0}")]
    IssuerUrl(openidconnect::url::ParseError),
    #[error("the redirect URL: {0}")]
    RedirectUrl(openidconnect::url::ParseError),
    #[error("discovery at {issuer} failed: {chain}")]
    Discovery { issuer: String, chain: String },
    #[error("the code exchange could not be made: {0}")]
    Exchange(String),
}

fn unavailable(error: SsoError) -> Refusal {
    tracing::warn!("single sign-on failed: {error}");
    refusal("sso_unavailable", 502, "the provider could not be reached or answered wrongly")
}

/// The authorization code exchanged for tokens, and the ID token's claims checked (its signature
/// against the provider's keys, read again once if they rotated, and the nonce this sign-in
/// started with). Answers the client, the claims, the raw ID token and the access token.
async fn exchange_code(
    oidc: &Oidc,
    pending: &Pending,
    code: String,
) -> Result<(SsoClient, IdTokenClaims<OtherClaims, CoreGenderClaim>, String, AccessToken), Refusal> {
    let metadata = oidc.metadata(false).await.map_err(unavailable)?;
    let client = oidc.client(&metadata).map_err(unavailable)?;
    let exchange = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| unavailable(SsoError::Exchange(e.to_string())))?;
    let tokens = exchange
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
        .request_async(&oidc.http())
        .await
        .map_err(|e| {
            tracing::warn!("single sign-on: the code exchange failed: {}", crate::support::error_chain(&e));
            refusal("sso_failed", 401, "the provider did not accept the code")
        })?;
    let raw = tokens.id_token().ok_or_else(|| refusal("sso_failed", 401, "the provider sent no ID token"))?.to_string();
    let id_token: SsoIdToken = raw.parse().map_err(|_| refusal("sso_failed", 401, "the ID token is malformed"))?;
    let nonce = Nonce::new(pending.nonce.clone());
    let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
        Ok(claims) => claims.clone(),
        // Perhaps signed with a key the provider rotated in since discovery: read its keys again.
        Err(first) => {
            let metadata = oidc.metadata(true).await.map_err(unavailable)?;
            let client = oidc.client(&metadata).map_err(unavailable)?;
            id_token.claims(&client.id_token_verifier(), &nonce).cloned().map_err(|_| {
                tracing::warn!("single sign-on: an ID token was refused: {}", crate::support::error_chain(&first));
                refusal("sso_failed", 401, "the ID token did not pass its checks")
            })?
        }
    };
    let access_token = AccessToken::new(tokens.access_token().secret().clone());
    Ok((client, claims, raw, access_token))
}

/// Who the claims say the person is, with whether their address is verified and the other
/// claims (groups among them). What the ID token left out may be at the userinfo endpoint (many
/// providers put groups and the address only there); its subject must be the token's.
async fn the_person(
    oidc: &Oidc,
    client: &SsoClient,
    claims: &IdTokenClaims<OtherClaims, CoreGenderClaim>,
    access_token: AccessToken,
) -> (SsoPerson, Option<bool>, OtherClaims) {
    let mut email = claims.email().map(|e| e.to_string());
    let mut verified = claims.email_verified();
    let mut name = claims.name().and_then(|n| n.get(None)).map(|n| n.to_string());
    let mut preferred = claims.preferred_username().map(|u| u.to_string());
    let mut other = claims.additional_claims().clone();
    let incomplete =
        email.is_none() || (!oidc.settings.role_map.is_empty() && !other.0.contains_key(&oidc.settings.roles_claim));
    if incomplete && let Ok(request) = client.user_info(access_token, Some(claims.subject().clone())) {
        match request.request_async::<OtherClaims, _, CoreGenderClaim>(&oidc.http()).await {
            Ok(info) => fill_from_user_info(&info, &mut email, &mut verified, &mut name, &mut preferred, &mut other),
            Err(error) => {
                tracing::warn!("single sign-on: the userinfo endpoint failed: {}", crate::support::error_chain(&error))
            }
        }
    }
    let person = SsoPerson {
        issuer: claims.issuer().to_string(),
        subject: claims.subject().to_string(),
        email: email.clone(),
        preferred_username: preferred,
        display_name: name.or(email).unwrap_or_else(|| "Single sign-on user".to_owned()),
    };
    (person, verified, other)
}

/// The roles the person comes in with, or why they do not: the allowed addresses and the
/// provider's groups decide. Someone refused loses any login they still have; before the first
/// admin exists, only an admin comes in (anyone else's account would end the setup with nobody
/// able to finish it).
async fn admitted_roles(
    access: &Access,
    oidc: &Oidc,
    person: &SsoPerson,
    verified: Option<bool>,
    other: &OtherClaims,
) -> Result<SsoRoles, Refusal> {
    let roles = match oidc.admits(person.email.as_deref(), verified).and_then(|()| oidc.roles(other)) {
        Ok(roles) => roles,
        Err(refused) => {
            if let Err(error) = access.accounts.end_sso_logins(&person.issuer, &person.subject).await {
                tracing::error!("single sign-on: the logins of a refused person could not be ended: {error}");
            }
            return Err(refused);
        }
    };
    let admin = matches!(&roles, SsoRoles::FromProvider(r) if r.contains(&Role::Admin));
    if !admin && access.still_needs_setup().await {
        return Err(refusal("sso_setup", 403, "Switchboard has no admin yet"));
    }
    Ok(roles)
}

fn fill_from_user_info(
    info: &UserInfoClaims<OtherClaims, CoreGenderClaim>,
    email: &mut Option<String>,
    verified: &mut Option<bool>,
    name: &mut Option<String>,
    preferred: &mut Option<String>,
    other: &mut OtherClaims,
) {
    if email.is_none() {
        *email = info.email().map(|e| e.to_string());
        *verified = info.email_verified();
    }
    if name.is_none() {
        *name = info.name().and_then(|n| n.get(None)).map(|n| n.to_string());
    }
    if preferred.is_none() {
        *preferred = info.preferred_username().map(|u| u.to_string());
    }
    for (key, value) in &info.additional_claims().0 {
        other.0.entry(key.clone()).or_insert_with(|| value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::{super::sending_cookie, *};

    fn oidc(role_map: &[(&str, Role)], domains: &[&str], default_roles: Option<Vec<Role>>) -> Oidc {
        Oidc::new(
            OidcSettings {
                issuer: "https://id.example.com".into(),
                client_id: "switchboard".into(),
                client_secret: None,
                name: "Example ID".into(),
                scopes: vec!["openid".into()],
                allowed_domains: domains.iter().map(|d| d.to_string()).collect(),
                roles_claim: "groups".into(),
                role_map: role_map.iter().map(|(v, r)| (v.to_string(), *r)).collect(),
                default_roles,
                redirect_url: "https://sb.example.com/auth/oidc/callback".into(),
                post_logout_url: "https://sb.example.com/login?error=signed_out".into(),
                api: None,
            },
            crate::support::keys::CookieKey::from_bytes(rand::random::<[u8; 32]>().to_vec()),
            false,
        )
        .unwrap()
    }

    #[test]
    fn a_pending_sign_in_is_read_back_only_from_its_own_signed_cookie() {
        let o = oidc(&[], &["example.com"], None);
        let pending = Pending {
            state: "state-1".into(),
            nonce: "nonce-1".into(),
            verifier: "verifier-1".into(),
            next: "/inbox".into(),
            started: 1_700_000_000,
        };
        let set = o.pending_cookie(&pending);
        assert!(
            set.contains("Path=/auth/oidc/callback") && set.contains("HttpOnly") && set.contains("SameSite=Lax"),
            "{set}"
        );
        let back = o.pending_of(&sending_cookie(&set)).expect("its own cookie");
        assert_eq!((back.state.as_str(), back.next.as_str()), ("state-1", "/inbox"));
        // Its payload changed (another `next`, another state) without the key: refused.
        let (payload, tag) = set.split(';').next().unwrap().split_once('=').unwrap().1.split_once('.').unwrap();
        use base64::Engine as _;
        let forged_json = String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
            .unwrap()
            .replace("/inbox", "/users");
        let forged =
            format!("switchboard_sso={}.{tag}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged_json));
        assert!(o.pending_of(&sending_cookie(&forged)).is_none());
        // Another server's key: refused.
        let other = oidc(&[], &["example.com"], None);
        assert!(other.pending_of(&sending_cookie(&set)).is_none());
        assert!(o.pending_of(&HeaderMap::new()).is_none());
    }

    #[test]
    fn a_return_is_taken_once_within_its_time() {
        let taken = TakenStates::new(3);
        assert!(taken.take("state-1"), "its return is taken");
        assert!(!taken.take("state-1"), "a replay is refused");
        for n in 2..=4 {
            assert!(taken.take(&format!("state-{n}")));
        }
        assert!(!taken.take("state-4") && !taken.take("state-2"), "the newest 3 are remembered");
        // Past its time a state is forgotten (its cookie is refused as too old by then anyway).
        let later = Instant::now() + Duration::from_secs(PENDING_TTL_SECS as u64);
        assert!(taken.take_at("state-3", later));
    }

    fn groups(values: serde_json::Value) -> OtherClaims {
        OtherClaims(HashMap::from([("groups".to_owned(), values)]))
    }

    #[test]
    fn roles_come_from_the_claim_through_the_map() {
        let o = oidc(&[("sb-admins", Role::Admin), ("oncall", Role::Approver), ("eng", Role::Operator)], &[], None);
        let roles = |claims| match o.roles(&claims) {
            Ok(SsoRoles::FromProvider(roles)) => Ok(roles),
            Ok(other) => panic!("{other:?}"),
            Err(refused) => Err(refused.code),
        };
        assert_eq!(
            roles(groups(serde_json::json!(["oncall", "eng", "unrelated"]))),
            Ok(vec![Role::Operator, Role::Approver])
        );
        // Some providers send one space-separated string.
        assert_eq!(roles(groups(serde_json::json!("sb-admins"))), Ok(vec![Role::Admin]));
        // Nothing that maps, or no claim at all: refused, not let in as a viewer.
        assert_eq!(roles(groups(serde_json::json!(["unrelated"]))), Err("sso_no_role"));
        assert_eq!(roles(OtherClaims::default()), Err("sso_no_role"));
        // Values are matched whole: "oncall-old" is not "oncall".
        assert_eq!(roles(groups(serde_json::json!(["oncall-old"]))), Err("sso_no_role"));
    }

    #[test]
    fn without_a_map_an_admin_grants_the_roles() {
        let o = oidc(&[], &[], Some(vec![Role::Viewer]));
        assert!(
            matches!(o.roles(&groups(serde_json::json!(["sb-admins"]))), Ok(SsoRoles::FirstSignIn(Some(r))) if r == [Role::Viewer])
        );
        let o = oidc(&[], &[], None);
        assert!(matches!(o.roles(&OtherClaims::default()), Ok(SsoRoles::FirstSignIn(None))));
    }

    #[test]
    fn only_verified_addresses_at_allowed_domains_come_in() {
        let o = oidc(&[], &["example.com"], None);
        assert!(o.admits(Some("ada@example.com"), Some(true)).is_ok());
        assert!(o.admits(Some("Ada@EXAMPLE.com"), Some(true)).is_ok());
        for (email, verified) in [
            (Some("ada@example.com"), None),
            (Some("ada@example.com"), Some(false)),
            (Some("mallory@example.com.evil.test"), Some(true)),
            (Some("mallory@evil.test"), Some(true)),
            (Some("example.com"), Some(true)),
            (None, Some(true)),
        ] {
            assert_eq!(o.admits(email, verified).err().map(|r| r.code), Some("sso_domain"), "{email:?} {verified:?}");
        }
        // No allowed domains: the provider's say-so is enough.
        assert!(oidc(&[], &[], None).admits(None, None).is_ok());
    }
}
