//! Single sign-on against a provider played by the test (discovery, keys, the token endpoint;
//! ID tokens signed with the client secret, HS256), over HTTP against a real Switchboard. The
//! browser side, against a real provider, is `end2end/tests/sso.spec.ts`.

use crate::support;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{
    Form, Json, Router,
    extract::State,
    routing::{get, post},
};
use base64::Engine as _;
use hmac::Mac as _;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use support::{TestApp, spawn_app};

const CLIENT_SECRET: &str = "a client secret only this test knows";

/// The provider: it signs in whoever the test says, as Ada.
struct Provider {
    issuer: String,
    /// The nonce each code was given for (the test plays the provider's sign-in page).
    codes: Mutex<HashMap<String, String>>,
    /// Codes exchanged for tokens. A real provider takes a code once; this one takes it again, so
    /// that only Switchboard can refuse a replayed return.
    exchanges: AtomicUsize,
}

/// Starts the provider on a free loopback port.
async fn provider() -> Arc<Provider> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let provider = Arc::new(Provider { issuer, codes: Mutex::new(HashMap::new()), exchanges: AtomicUsize::new(0) });
    let router = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(|| async { Json(json!({ "keys": [] })) }))
        .route("/token", post(token))
        .with_state(provider.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    provider
}

async fn discovery(State(provider): State<Arc<Provider>>) -> Json<Value> {
    Json(support::discovery_document(&provider.issuer, &["HS256"]))
}

async fn token(State(provider): State<Arc<Provider>>, Form(form): Form<HashMap<String, String>>) -> Json<Value> {
    provider.exchanges.fetch_add(1, Ordering::SeqCst);
    let code = form.get("code").cloned().unwrap_or_default();
    let nonce = provider.codes.lock().unwrap().get(&code).cloned().unwrap_or_default();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({
        "iss": provider.issuer, "aud": "switchboard", "sub": "ada-at-the-provider",
        "iat": now, "exp": now + 300, "nonce": nonce,
        "email": "ada@example.com", "email_verified": true, "name": "Ada Lovelace",
    });
    Json(json!({
        "access_token": "an access token", "token_type": "Bearer", "expires_in": 300,
        "id_token": signed(&json!({ "alg": "HS256", "typ": "JWT" }), &claims),
    }))
}

/// A JWT of `header` and `claims`, signed with the client secret (HS256).
fn signed(header: &Value, claims: &Value) -> String {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(CLIENT_SECRET.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

/// Switchboard with single sign-on at `provider`; its own client is the admin, signed in.
async fn app_with(provider: &Provider) -> TestApp {
    spawn_app(&[
        ("SWITCHBOARD_OIDC_ISSUER", &provider.issuer),
        ("SWITCHBOARD_OIDC_CLIENT_ID", "switchboard"),
        ("SWITCHBOARD_OIDC_CLIENT_SECRET", CLIENT_SECRET),
        ("SWITCHBOARD_PUBLIC_URL", "http://127.0.0.1:1"),
        ("SWITCHBOARD_OIDC_ALLOWED_DOMAINS", "example.com"),
        ("SWITCHBOARD_OIDC_DEFAULT_ROLES", "viewer"),
    ])
    .await
}

/// A sign-in started at Switchboard: its state, and the cookie it gave the browser.
struct Started {
    state: String,
    cookie: String,
}

/// Starts a sign-in, and plays the provider's page: the person signs in, and `code` stands for it.
async fn start(app: &TestApp, provider: &Provider, code: &str) -> Started {
    let response = plain().get(format!("{}/auth/oidc/start?next=/inbox", app.address)).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let to = reqwest::Url::parse(response.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert!(to.as_str().starts_with(&format!("{}/authorize?", provider.issuer)), "{to}");
    let param = |name: &str| to.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap();
    provider.codes.lock().unwrap().insert(code.to_owned(), param("nonce"));
    let cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next())
        .find(|pair| pair.starts_with("switchboard_sso="))
        .expect("the sign-in's cookie")
        .to_owned();
    Started { state: param("state"), cookie }
}

/// A browser that keeps no cookies (each request names its own) and follows no redirects.
fn plain() -> reqwest::Client {
    engine::http_client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The provider's return to Switchboard with `query`, carrying the sign-in's cookie as the
/// browser that started it would (or an attacker who copied both); answers where it leads and
/// whether it set a login cookie.
async fn come_back(app: &TestApp, started: &Started, query: &str) -> (String, bool) {
    let response = plain()
        .get(format!("{}/auth/oidc/callback?{query}&state={}", app.address, started.state))
        .header(COOKIE, &started.cookie)
        .send()
        .await
        .unwrap();
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    let login = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.starts_with("switchboard_login=") && !v.contains("Max-Age=0")));
    (location, login)
}

/// The `auth/sso` entries: (status, username, attempts), oldest first; and how many logins exist.
async fn record(app: &TestApp) -> (Vec<(i64, Option<String>, i64)>, i64) {
    let pool = app.database().await;
    let entries = sqlx::query_as("SELECT status, username, attempts FROM audit WHERE action = 'auth/sso' ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let logins = sqlx::query_scalar("SELECT COUNT(*) FROM logins").fetch_one(&pool).await.unwrap();
    (entries, logins)
}

#[tokio::test]
async fn a_replayed_return_from_the_provider_writes_nothing_and_signs_nobody_in() {
    let provider = provider().await;
    let app = app_with(&provider).await;
    let (_, logins_before) = record(&app).await;

    let started = start(&app, &provider, "code-1").await;
    let (to, login) = come_back(&app, &started, "code=code-1").await;
    assert_eq!((to.as_str(), login), ("/inbox", true), "signed in, and on to the page asked for");
    let (entries, logins) = record(&app).await;
    assert_eq!(entries, [(200, Some("ada".to_owned()), 1)]);
    assert_eq!((logins, provider.exchanges.load(Ordering::SeqCst)), (logins_before + 1, 1));

    // The same return again, cookie and all (the back button, a copied URL, an attacker who
    // caught both): refused as expired, before any code is exchanged or anything written.
    for _ in 0..3 {
        assert_eq!(come_back(&app, &started, "code=code-1").await, ("/login?error=sso_expired".to_owned(), false));
    }
    assert_eq!(record(&app).await, (entries, logins));
    assert_eq!(provider.exchanges.load(Ordering::SeqCst), 1, "the code was not sent again");

    // A refusal's return is taken once too: replaying it adds no entry, nor an attempt.
    let refused = start(&app, &provider, "code-2").await;
    let (to, login) = come_back(&app, &refused, "error=access_denied").await;
    assert_eq!((to.as_str(), login), ("/login?error=sso_denied", false));
    for _ in 0..3 {
        assert_eq!(come_back(&app, &refused, "error=access_denied").await.0, "/login?error=sso_expired");
    }
    let (entries, _) = record(&app).await;
    assert_eq!(entries, [(200, Some("ada".to_owned()), 1), (401, None, 1)]);

    // A new sign-in still works, and the admin's view of the log shows each entry.
    let again = start(&app, &provider, "code-3").await;
    assert_eq!(come_back(&app, &again, "code=code-3").await, ("/inbox".to_owned(), true));
    assert_eq!(support::audit_entries(&app, "auth/sso").await.len(), 3);
}
