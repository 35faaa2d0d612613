//! Service callers: programs that call `/v1/…` with a token the single sign-on provider gave them
//! (client credentials), against a provider the test plays (discovery and its published keys;
//! RS256 tokens signed with RSA keys made for the run, one of them rotated in) and a real
//! Switchboard. The token's subject is an account of its own, audited, limited and counted in
//! approvals as itself; its groups give its roles through the role map; a token that fails any
//! check is refused in the API's words and makes no account.

use crate::support;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Json, Router, extract::State, routing::get};
use openidconnect::{
    AdditionalClaims, IdToken, IdTokenClaims, JsonWebKeyId, PrivateSigningKey,
    core::{
        CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
        CoreRsaPrivateSigningKey,
    },
};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use support::{TestApp, audit_entries, error_type, scripted_agent, spawn_app, v1};

const AUDIENCE: &str = "https://switchboard.example.com/v1";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Extra(HashMap<String, Value>);
impl AdditionalClaims for Extra {}

type Token = IdToken<Extra, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// A new RSA key of 2,048 bits in PKCS#1 PEM (the form the crate's signing key reads).
fn rsa_pem() -> String {
    let out = std::process::Command::new("openssl")
        .args(["genrsa", "-traditional", "2048"])
        .stderr(std::process::Stdio::null())
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "openssl genrsa failed");
    String::from_utf8(out.stdout).unwrap()
}

/// The provider: its issuer, the keys it signs with, the keys it publishes, and how often its
/// keys were read.
struct Provider {
    issuer: String,
    keys: HashMap<&'static str, CoreRsaPrivateSigningKey>,
    published: Mutex<Vec<&'static str>>,
    keys_read: AtomicUsize,
}

/// The provider on a free loopback port, with keys `a` (published) and `b` (not yet) and `c`
/// (never).
async fn provider() -> Arc<Provider> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let keys = ["a", "b", "c"]
        .into_iter()
        .map(|kid| {
            let key = CoreRsaPrivateSigningKey::from_pem(&rsa_pem(), Some(JsonWebKeyId::new(kid.to_owned()))).unwrap();
            (kid, key)
        })
        .collect();
    let provider =
        Arc::new(Provider { issuer, keys, published: Mutex::new(vec!["a"]), keys_read: AtomicUsize::new(0) });
    let router =
        Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(|State(p): State<Arc<Provider>>| async move {
                    Json(support::discovery_document(&p.issuer, &["RS256"]))
                }),
            )
            .route("/jwks", get(jwks))
            .with_state(provider.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    provider
}

async fn jwks(State(provider): State<Arc<Provider>>) -> Json<Value> {
    provider.keys_read.fetch_add(1, Ordering::SeqCst);
    let published = provider.published.lock().unwrap().clone();
    let keys: Vec<CoreJsonWebKey> = published.iter().map(|kid| provider.keys[kid].as_verification_key()).collect();
    Json(json!({ "keys": keys }))
}

impl Provider {
    /// A token of client `client` (its subject `svc-<client>`) signed with key `kid`, its claims
    /// `changes` laid over the usual ones (`null` removes one).
    fn token(&self, kid: &str, client: &str, changes: Value) -> String {
        let now = support::unix_now();
        let mut claims = json!({
            "iss": self.issuer, "aud": [AUDIENCE], "sub": format!("svc-{client}"), "client_id": client,
            "iat": now, "exp": now + 600, "groups": ["ci-deployers"],
        });
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(key);
            } else {
                claims[key] = value.clone();
            }
        }
        let claims: IdTokenClaims<Extra, CoreGenderClaim> = serde_json::from_value(claims).unwrap();
        let key = &self.keys[kid];
        Token::new(claims, key, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, None, None).unwrap().to_string()
    }
}

/// Switchboard with single sign-on at `provider`, taking its tokens for `/v1/…`, with `extra`
/// settings; its own client is the admin, signed in.
async fn app_with(provider: &Provider, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![
        ("SWITCHBOARD_OIDC_ISSUER", provider.issuer.as_str()),
        ("SWITCHBOARD_OIDC_CLIENT_ID", "switchboard"),
        ("SWITCHBOARD_PUBLIC_URL", "http://127.0.0.1:1"),
        ("SWITCHBOARD_API_AUDIENCE", AUDIENCE),
    ];
    vars.extend_from_slice(extra);
    spawn_app(&vars).await
}

const MAPPED: (&str, &str) = ("SWITCHBOARD_OIDC_ROLE_MAP", "ci-deployers=operator,ci-readers=viewer,oncall=approver");

/// The account named `username`, as the Users page lists it.
async fn account(app: &TestApp, username: &str) -> Option<Value> {
    let (_, accounts) = app.read("users/list", &[]).await;
    accounts.as_array().unwrap().iter().find(|a| a["username"] == username).cloned()
}

#[tokio::test]
async fn a_ci_token_acts_as_its_client_with_its_groups_roles() {
    let provider = provider().await;
    let app = app_with(&provider, &[MAPPED]).await;
    let token = provider.token("a", "ci-deployer", json!({}));

    let agent = scripted_agent("Deployed by CI", json!([[{ "text": "hi" }]]));
    let (status, _, made) = v1(&app, &token, Method::POST, "/v1/agents", Some(agent)).await;
    assert_eq!(status, 200, "{made}");
    let (status, _, listed) = v1(&app, &token, Method::GET, "/v1/agents", None).await;
    assert_eq!(status, 200, "{listed}");

    // Its account is its own, named after its client, with the role its group maps to.
    let own = account(&app, "ci-deployer").await.expect("an account of its own");
    assert_eq!((own["roles"].clone(), own["disabled"].clone()), (json!(["operator"]), json!(false)));
    assert_eq!(own["sso"], true);
    // Audited under it, with the credential named.
    let entries = audit_entries(&app, "v1/agents.create").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["who"], "ci-deployer");
    let credential = entries[0]["credential"].as_str().unwrap();
    assert!(credential.contains("provider token of ci-deployer (svc-ci-deployer)"), "{credential}");
    assert!(!credential.contains(&token[..40]), "the token itself is never written");

    // An operator may not archive (an admin's act): refused in the API's words.
    let path = format!("/v1/agents/{}/archive", made["id"].as_str().unwrap());
    let (status, _, refused) = v1(&app, &token, Method::POST, &path, Some(json!({}))).await;
    assert_eq!((status, error_type(&refused)), (403, "permission_error"), "{refused}");

    // A reader's groups give it viewer only: its writes are refused, its reads pass.
    let reader = provider.token("a", "nightly-report", json!({ "groups": ["ci-readers"] }));
    let (status, _, refused) = v1(&app, &reader, Method::POST, "/v1/agents", Some(json!({ "name": "x" }))).await;
    assert_eq!((status, error_type(&refused)), (403, "permission_error"), "{refused}");
    assert_eq!(v1(&app, &reader, Method::GET, "/v1/agents", None).await.0, 200);

    // Groups none of which maps: refused, and no account is made.
    let stranger = provider.token("a", "stranger", json!({ "groups": ["marketing"] }));
    let (status, _, refused) = v1(&app, &stranger, Method::GET, "/v1/agents", None).await;
    assert_eq!((status, error_type(&refused)), (401, "authentication_error"), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("maps to a role"), "{refused}");
    assert!(account(&app, "stranger").await.is_none());

    // Disabled by an admin: its next call is refused.
    let id = own["id"].to_string();
    let (status, _) =
        app.call("users/update", &[("id", id.as_str()), ("roles[operator]", "true"), ("disabled", "true")]).await;
    assert_eq!(status, 200);
    let (status, _, refused) = v1(&app, &token, Method::GET, "/v1/agents", None).await;
    assert_eq!(status, 401);
    assert!(refused["error"]["message"].as_str().unwrap().contains("disabled"), "{refused}");
}

#[tokio::test]
async fn a_token_that_fails_a_check_is_refused_in_words_and_makes_no_account() {
    let provider = provider().await;
    let app = app_with(&provider, &[MAPPED]).await;
    let now = support::unix_now();
    let cases = [
        ("expired", provider.token("a", "late", json!({ "iat": now - 900, "exp": now - 300 })), "expired"),
        (
            "another audience",
            provider.token("a", "elsewhere", json!({ "aud": ["https://other.example.com"] })),
            "audience",
        ),
        ("another issuer", provider.token("a", "forger", json!({ "iss": "https://id.evil.test" })), "issuer"),
        ("a key not published", provider.token("c", "unpublished", json!({})), "does not publish"),
    ];
    for (what, token, words) in &cases {
        let (status, _, refused) = v1(&app, token, Method::GET, "/v1/agents", None).await;
        assert_eq!((status, error_type(&refused)), (401, "authentication_error"), "{what}: {refused}");
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{what}: {message}");
    }
    // A token signed with a shared secret (HS256) anyone holding it could make: refused for it.
    let b64 = |v: &Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let header = json!({ "alg": "HS256", "typ": "JWT" });
    let claims = json!({ "iss": provider.issuer, "aud": AUDIENCE, "sub": "svc-hmac", "iat": now, "exp": now + 600 });
    let hmac = format!("{}.{}.c2lnbmF0dXJl", b64(&header), b64(&claims));
    let (status, _, refused) = v1(&app, &hmac, Method::GET, "/v1/agents", None).await;
    assert_eq!(status, 401);
    assert!(refused["error"]["message"].as_str().unwrap().contains("HS256"), "{refused}");
    // A good token with its signature changed.
    let good = provider.token("a", "tampered", json!({}));
    let (head, _) = good.rsplit_once('.').unwrap();
    let (status, _, _) = v1(&app, &format!("{head}.{}", "A".repeat(342)), Method::GET, "/v1/agents", None).await;
    assert_eq!(status, 401);

    let (_, accounts) = app.read("users/list", &[]).await;
    assert_eq!(accounts.as_array().unwrap().len(), 1, "only the admin: {accounts}");
}

#[tokio::test]
async fn a_key_rotated_in_is_read_and_made_up_keys_do_not_make_switchboard_call_the_provider() {
    let provider = provider().await;
    let app = app_with(&provider, &[MAPPED]).await;
    assert_eq!(v1(&app, &provider.token("a", "ci", json!({})), Method::GET, "/v1/agents", None).await.0, 200);
    let read_first = provider.keys_read.load(Ordering::SeqCst);
    assert_eq!(read_first, 1, "the keys are read once and kept");

    // The provider rotates key b in: a token signed with it makes Switchboard read the keys again.
    provider.published.lock().unwrap().push("b");
    let (status, _, answer) = v1(&app, &provider.token("b", "ci", json!({})), Method::GET, "/v1/agents", None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(provider.keys_read.load(Ordering::SeqCst), 2);

    // Tokens naming a key nobody publishes: refused, and the keys are not read again for each.
    for _ in 0..20 {
        let (status, _, _) = v1(&app, &provider.token("c", "ci", json!({})), Method::GET, "/v1/agents", None).await;
        assert_eq!(status, 401);
    }
    assert_eq!(provider.keys_read.load(Ordering::SeqCst), 2, "at most every 30 s");
}

#[tokio::test]
async fn without_a_role_map_its_account_waits_for_an_admin_and_its_stream_ends_when_disabled() {
    let provider = provider().await;
    let app = app_with(&provider, &[("SWITCHBOARD_OIDC_ALLOWED_DOMAINS", "example.com")]).await;
    let token = provider.token("a", "ci-deployer", json!({}));
    let (status, _, refused) = v1(&app, &token, Method::GET, "/v1/agents", None).await;
    assert_eq!(status, 401);
    assert!(refused["error"]["message"].as_str().unwrap().contains("an admin enables it"), "{refused}");
    let waiting = account(&app, "ci-deployer").await.expect("its account waits");
    assert_eq!(waiting["disabled"], true);

    // Enabled with operator, by an admin: it acts.
    let id = waiting["id"].to_string();
    let (status, _) = app.call("users/update", &[("id", id.as_str()), ("roles[operator]", "true")]).await;
    assert_eq!(status, 200);
    let agent = scripted_agent("CI", json!([[{ "text": "hi" }]]));
    let (status, _, agent) = v1(&app, &token, Method::POST, "/v1/agents", Some(agent)).await;
    assert_eq!(status, 200, "{agent}");
    let environment = json!({ "name": "ci", "config": { "type": "cloud", "networking": { "type": "limited" } } });
    let (_, _, environment) = v1(&app, &token, Method::POST, "/v1/environments", Some(environment)).await;
    let body = json!({ "agent": agent["id"], "environment_id": environment["id"] });
    let (status, _, session) = v1(&app, &token, Method::POST, "/v1/sessions", Some(body)).await;
    assert_eq!(status, 200, "{session}");

    // Its open stream ends within seconds of an admin disabling it.
    let mut stream = support::browser()
        .get(format!("{}/v1/sessions/{}/events/stream", app.address, session["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let (status, _) =
        app.call("users/update", &[("id", id.as_str()), ("roles[operator]", "true"), ("disabled", "true")]).await;
    assert_eq!(status, 200);
    let ended =
        tokio::time::timeout(Duration::from_secs(15), async { while let Ok(Some(_)) = stream.chunk().await {} }).await;
    assert!(ended.is_ok(), "the stream outlived its caller's account by more than 15 s");
}

#[tokio::test]
async fn a_service_caller_may_not_allow_a_call_its_own_message_led_to() {
    let provider = provider().await;
    let app = app_with(&provider, &[MAPPED]).await;
    let form = [("form[agent_id]", "*"), ("form[required_approvals]", "1"), ("form[no_self_approval]", "true")];
    let (status, saved) = app.call("policies/save", &form).await;
    assert_eq!(status, 200, "{saved}");
    let token = provider.token("a", "ci-oncall", json!({ "groups": ["ci-deployers", "oncall"] }));
    let definition = json!({
        "name": "asks", "model": "scripted",
        "system": json!({ "turns": [[{ "tool": "bash", "input": { "command": "echo hi" } }, { "text": "Done." }]] }).to_string(),
        "tools": [{ "type": "agent_toolset_20260401", "default_config": { "permission_policy": { "type": "always_ask" } } }],
    });
    let (status, _, agent) = v1(&app, &token, Method::POST, "/v1/agents", Some(definition)).await;
    assert_eq!(status, 200, "{agent}");
    let environment = json!({ "name": "ci", "config": { "type": "cloud", "networking": { "type": "limited" } } });
    let (_, _, environment) = v1(&app, &token, Method::POST, "/v1/environments", Some(environment)).await;
    let body = json!({ "agent": agent["id"], "environment_id": environment["id"] });
    let (_, _, session) = v1(&app, &token, Method::POST, "/v1/sessions", Some(body)).await;
    let events = format!("/v1/sessions/{}/events", session["id"].as_str().unwrap());
    let message = json!({ "events": [{ "type": "user.message", "content": [{ "type": "text", "text": "go" }] }] });
    let (status, _, sent) = v1(&app, &token, Method::POST, &events, Some(message)).await;
    assert_eq!(status, 200, "{sent}");
    let mut call = None;
    for _ in 0..300 {
        let (_, _, listed) = v1(&app, &token, Method::GET, &format!("{events}?types[]=agent.tool_use"), None).await;
        call = listed["data"][0]["id"].as_str().map(str::to_owned);
        if call.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let call = call.expect("the call waits");

    let allow = json!({ "events": [{ "type": "user.tool_confirmation", "tool_use_id": call, "result": "allow" }] });
    let (status, _, refused) = v1(&app, &token, Method::POST, &events, Some(allow)).await;
    assert_eq!((status, error_type(&refused)), (403, "permission_error"), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("You sent the message"), "{refused}");
    let (_, _, confirmations) =
        v1(&app, &token, Method::GET, &format!("{events}?types[]=user.tool_confirmation"), None).await;
    assert_eq!(confirmations["data"].as_array().unwrap().len(), 0, "nothing went upstream");
}

#[tokio::test]
async fn its_workspace_is_the_one_its_claim_names_else_its_clients_else_the_default() {
    const STAGING_KEY: &str = "sk-staging-0123456789abcdef";
    let provider = provider().await;
    let staging = support::spawn_engine(STAGING_KEY).await;
    let settings = [
        MAPPED,
        ("SWITCHBOARD_SECRET_KEY", "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="),
        ("SWITCHBOARD_API_WORKSPACE_CLAIM", "switchboard_workspace"),
        ("SWITCHBOARD_API_CLIENT_WORKSPACES", "nightly=staging"),
    ];
    let app = app_with(&provider, &settings).await;
    let form = [
        ("form[id]", "staging"),
        ("form[name]", "Staging"),
        ("form[base_url]", staging.base_url.as_str()),
        ("form[key]", STAGING_KEY),
    ];
    let (status, connected) = app.call("workspaces/connect", &form).await;
    assert_eq!(status, 200, "{connected}");

    // Each caller makes an agent; where it lands says which workspace the caller acts in.
    let in_staging = |id: String| {
        let base = staging.base_url.clone();
        async move { support::engine_get(&base, &format!("/v1/agents/{id}"), STAGING_KEY).await.0 == 200 }
    };
    let make = |token: String| {
        let app = &app;
        async move {
            let agent = scripted_agent("Where am I", json!([[{ "text": "hi" }]]));
            let (status, _, made) = v1(app, &token, Method::POST, "/v1/agents", Some(agent)).await;
            assert_eq!(status, 200, "{made}");
            made["id"].as_str().unwrap().to_owned()
        }
    };
    let claimed = provider.token("a", "deployer", json!({ "switchboard_workspace": "staging" }));
    assert!(in_staging(make(claimed).await).await, "the claim names staging");
    let by_client = provider.token("a", "nightly", json!({}));
    assert!(in_staging(make(by_client).await).await, "the client's setting names staging");
    let neither = provider.token("a", "other", json!({}));
    assert!(!in_staging(make(neither).await).await, "neither: the default workspace");

    // A workspace Switchboard does not serve: refused in words.
    let nowhere = provider.token("a", "lost", json!({ "switchboard_workspace": "production" }));
    let (status, _, refused) = v1(&app, &nowhere, Method::GET, "/v1/agents", None).await;
    assert_eq!((status, error_type(&refused)), (401, "authentication_error"), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("production"), "{refused}");
}
