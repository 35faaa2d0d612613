//! What the benches share: Switchboard on a free port with a first admin, either in this process
//! on the embedded engine ([`start`]) or as a child process of its release binary in front of an
//! upstream the bench runs ([`spawn`]). Each bench uses a part of it.
#![allow(dead_code)]

use std::{path::PathBuf, process::Stdio, time::Duration};

use serde_json::{Value, json};

pub mod viewers;

use server::{settings::Settings, web::startup::Application};

/// The first admin's password in the benches.
pub const PASSWORD: &str = "bench password, long enough to pass";

/// A running Switchboard: its base URL, and its data directory (removed by [`Bench::finish`]).
pub struct Bench {
    pub base: String,
    data_dir: PathBuf,
}

/// Starts Switchboard in this process, in a fresh data directory named after `name`.
pub async fn start(name: &str) -> Bench {
    start_with(name, &[]).await
}

/// [`start`] with `extra` settings too.
pub async fn start_with(name: &str, extra: &[(&str, &str)]) -> Bench {
    let data_dir = std::env::temp_dir().join(format!("switchboard-{name}-{}", std::process::id()));
    let vars = [
        ("SWITCHBOARD_LISTEN", "127.0.0.1:0".to_owned()),
        ("SWITCHBOARD_DATA_DIR", data_dir.display().to_string()),
        ("ANTHROPIC_API_KEY", String::new()),
        ("SWITCHBOARD_ADMIN_PASSWORD", PASSWORD.to_owned()),
        // One login plays many people here: the benches measure the console, not the limits
        // one person is held to (`server/src/access/limits.rs`).
        ("SWITCHBOARD_STREAMS_PER_PERSON", "10000".to_owned()),
        ("SWITCHBOARD_REQUESTS_PER_MINUTE", "1000000".to_owned()),
        // …nor the limit of an address signed out: the login bench sends thousands of sign-ins.
        ("SWITCHBOARD_SIGNED_OUT_REQUESTS_PER_MINUTE", "1000000".to_owned()),
    ];
    let settings = Settings::from_lookup(|name| {
        let extra = extra.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned());
        extra.or_else(|| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
    })
    .unwrap();
    let app = Application::build(settings).await.expect("Switchboard starts");
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    Bench { base, data_dir }
}

impl Bench {
    /// Signs `http` in as the first admin; answers the response (a redirect when it worked).
    pub async fn sign_in(&self, http: &reqwest::Client) -> reqwest::Response {
        http.post(format!("{}/auth/login", self.base))
            .form(&[("username", "admin"), ("password", PASSWORD), ("next", "/")])
            .send()
            .await
            .unwrap()
    }

    pub fn finish(self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Switchboard's binary as a child process in Anthropic mode, its upstream at `upstream` with
/// `key`, its data under `data_dir`, signed in as the first admin.
pub struct Child {
    pub process: tokio::process::Child,
    pub base: String,
    /// The first admin's login cookie (`switchboard_login=…`).
    pub cookie: String,
}

pub async fn spawn(binary: &str, upstream: &str, key: &str, data_dir: &std::path::Path) -> Child {
    spawn_with(binary, upstream, key, data_dir, free_port(), &[]).await
}

/// A free loopback port (free when asked; nothing holds it after).
pub fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// [`spawn`] on `port`, with `vars` set too.
pub async fn spawn_with(
    binary: &str,
    upstream: &str,
    key: &str,
    data_dir: &std::path::Path,
    port: u16,
    vars: &[(&str, &str)],
) -> Child {
    let process = tokio::process::Command::new(binary)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ANTHROPIC_API_KEY", key)
        .env("ANTHROPIC_BASE_URL", upstream)
        .env("SWITCHBOARD_LISTEN", format!("127.0.0.1:{port}"))
        .env("SWITCHBOARD_DATA_DIR", data_dir)
        .env("SWITCHBOARD_ADMIN_PASSWORD", PASSWORD)
        // One login plays many people here (500 viewers share it): the benches measure the hub,
        // not the limits one person is held to (`server/src/access/limits.rs`).
        .env("SWITCHBOARD_STREAMS_PER_PERSON", "10000")
        .env("SWITCHBOARD_REQUESTS_PER_MINUTE", "1000000")
        .env("SWITCHBOARD_SIGNED_OUT_REQUESTS_PER_MINUTE", "1000000")
        .env("RUST_LOG", "warn")
        .envs(vars.iter().copied())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
    let base = format!("http://127.0.0.1:{port}");
    let http = engine::http_client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let login = http
        .post(format!("{base}/auth/login"))
        .form(&[("username", "admin"), ("password", PASSWORD), ("next", "/")])
        .send()
        .await
        .unwrap();
    let cookie = login
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next())
        .find(|c| c.starts_with("switchboard_login="))
        .expect("signing in sets the login cookie")
        .to_owned();
    Child { process, base, cookie }
}

impl Child {
    /// A client that carries the admin's login cookie, from `builder`.
    pub fn client(&self, builder: reqwest::ClientBuilder) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::COOKIE, self.cookie.parse().unwrap());
        builder.default_headers(headers).build().unwrap()
    }
}

/// The key of the engine the child-process benches run.
pub const ENGINE_KEY: &str = "bench-key";

/// An engine in this process without its demo data, under `dir`, on a free loopback port; `wrap`
/// adds the bench's own layers (counters). Served as Switchboard serves its embedded engine: small
/// frames are not held back (TCP_NODELAY). Answers its base URL.
pub async fn engine(dir: &std::path::Path, wrap: impl FnOnce(axum::Router) -> axum::Router) -> String {
    engine_with(dir, None, wrap).await
}

/// [`engine`], sending its webhooks to `webhook` if given.
pub async fn engine_with(
    dir: &std::path::Path,
    webhook: Option<engine::webhooks::WebhookTarget>,
    wrap: impl FnOnce(axum::Router) -> axum::Router,
) -> String {
    let mut config = engine::EngineConfig::new(dir.to_owned(), ENGINE_KEY.to_owned());
    config.seed_demo = false;
    config.webhook = webhook;
    let engine = engine::Engine::open(config).await.expect("the engine opens");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = wrap(engine.router());
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// The engine's API, as an SDK would call it.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub fn new(base: &str) -> Self {
        Self { http: engine::http_client::client(), base: base.to_owned() }
    }

    /// One request; panics unless it succeeds. Answers the JSON body.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-api-key", ENGINE_KEY)
            .header("anthropic-version", protocol::ANTHROPIC_VERSION)
            .header("anthropic-beta", protocol::MANAGED_AGENTS_BETA);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// A scripted agent playing `turns`; with `always_ask`, its built-in tools need approval.
    pub async fn agent(&self, name: &str, turns: Value, always_ask: bool) -> String {
        let mut definition =
            json!({ "name": name, "model": "scripted", "system": json!({ "turns": turns }).to_string() });
        if always_ask {
            definition["tools"] = json!([{ "type": "agent_toolset_20260401", "default_config": { "permission_policy": { "type": "always_ask" } } }]);
        }
        self.call(reqwest::Method::POST, "/v1/agents", Some(definition)).await["id"].as_str().unwrap().to_owned()
    }

    /// An environment without network.
    pub async fn environment(&self, name: &str) -> String {
        let body = json!({ "name": name, "config": { "type": "cloud", "networking": { "type": "limited", "allowed_hosts": [] } } });
        self.call(reqwest::Method::POST, "/v1/environments", Some(body)).await["id"].as_str().unwrap().to_owned()
    }

    pub async fn session(&self, agent: &str, environment: &str) -> String {
        let body = json!({ "agent": agent, "environment_id": environment });
        self.call(reqwest::Method::POST, "/v1/sessions", Some(body)).await["id"].as_str().unwrap().to_owned()
    }

    /// Sends the message "go", which starts the agent's next turn.
    pub async fn send(&self, session: &str) {
        let event = json!({ "events": [{ "type": "user.message", "content": [{ "type": "text", "text": "go" }] }] });
        self.call(reqwest::Method::POST, &format!("/v1/sessions/{session}/events"), Some(event)).await;
    }
}
