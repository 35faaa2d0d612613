//! Starts a real Switchboard on port 0 for a test, with settings the test chooses.

// Shared by several test binaries; each uses only part of it.
#![allow(dead_code)]

use std::collections::HashMap;

use serde_json::Value;
use server::{settings::Settings, startup::Application};

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body read");
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, value)
}

/// A standalone engine on a loopback port, standing in for Anthropic's API: Switchboard talks to
/// it in Anthropic mode exactly as it would to api.anthropic.com.
pub struct StandaloneEngine {
    pub base_url: String,
    _data_dir: TempDir,
}

pub async fn spawn_engine(key: &str) -> StandaloneEngine {
    let data_dir = TempDir::new();
    let config = engine::EngineConfig::new(data_dir.0.join("engine"), key.to_owned());
    let engine = engine::Engine::open(config).await.expect("the engine opens");
    StandaloneEngine { base_url: serve(engine.router()).await, _data_dir: data_dir }
}

/// A multipart form holding `bytes` as the file `name`, as the upload form posts it.
pub fn file_form(name: &str, bytes: Vec<u8>) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()))
}

/// Switchboard in Anthropic mode against `base_url`, with `key`.
pub async fn anthropic_app(base_url: &str, key: &str) -> TestApp {
    spawn_app(&[("ANTHROPIC_API_KEY", key), ("ANTHROPIC_BASE_URL", base_url)]).await
}

/// Serves `router` on a free loopback port for the rest of the test; returns its base URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base_url
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    _data_dir: TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// Starts Switchboard with `vars` as its environment (on top of a free port and its own data dir).
pub async fn spawn_app(vars: &[(&str, &str)]) -> TestApp {
    let data_dir = TempDir::new();
    let mut env: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    env.insert("SWITCHBOARD_LISTEN".into(), "127.0.0.1:0".into());
    env.insert("SWITCHBOARD_DATA_DIR".into(), data_dir.0.display().to_string());
    let settings = Settings::from_lookup(|name| env.get(name).cloned()).expect("test settings are valid");

    let app = Application::build(settings).await.expect("Switchboard starts");
    let address = format!("http://{}", app.local_addr());
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp { address, client: reqwest::Client::new(), _data_dir: data_dir, _shutdown: shutdown }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.address)).send().await.expect("request sent")
    }

    /// Calls a server function that reads (GET, arguments in the query string).
    pub async fn read(&self, endpoint: &str, query: &[(&str, &str)]) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}/api/{endpoint}", self.address))
            .query(query)
            .send()
            .await
            .expect("request sent");
        json_of(response).await
    }

    /// Calls a server function that changes something (POST, form-encoded, as `ActionForm` sends).
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let response =
            self.client.post(format!("{}/api/{endpoint}", self.address)).form(form).send().await.expect("request sent");
        json_of(response).await
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.text().await.expect("body read"))
    }
}

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("switchboard-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).expect("temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
