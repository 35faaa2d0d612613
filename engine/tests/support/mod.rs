//! An engine for a test: in this process on a free port, or as a child process (for restarts).

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use engine::{Engine, EngineConfig};

pub mod git_server;
use serde_json::{Value, json};

pub const KEY: &str = "test-engine-key";

pub struct TestEngine {
    pub url: String,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    /// The engine itself, when it runs in this process.
    pub engine: Option<Engine>,
}

impl Drop for TestEngine {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

pub fn temp_dir() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("switchboard-engine-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn config(data_dir: PathBuf) -> EngineConfig {
    let mut config = EngineConfig::new(data_dir, KEY.to_owned());
    config.tool_runner = PathBuf::from(env!("CARGO_BIN_EXE_switchboard-engine"));
    config.seed_demo = false;
    config
}

/// The engine's process; dropping it kills it, so a failed test leaves nothing running.
pub struct Process(Child);

impl Process {
    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }

    /// SIGINT: a graceful stop.
    pub fn interrupt(&mut self) {
        Command::new("kill").args(["-INT", &self.0.id().to_string()]).status().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The engine as its own process, so it can be killed.
pub fn start(data_dir: &Path) -> (Process, TestEngine) {
    start_with(data_dir, &[])
}

/// The same, with these environment variables set too.
pub fn start_with(data_dir: &Path, variables: &[(&str, &str)]) -> (Process, TestEngine) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard-engine"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("SWITCHBOARD_ENGINE_KEY", KEY)
        .env("SWITCHBOARD_DATA_DIR", data_dir)
        .envs(variables.iter().copied())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the engine binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://"), "{line}");
    (
        Process(child),
        TestEngine { url, client: engine::http_client::client(), data_dir: data_dir.to_owned(), engine: None },
    )
}

pub async fn spawn_engine(config: EngineConfig) -> TestEngine {
    let data_dir = config.data_dir.clone();
    let engine = Engine::open(config).await.expect("the engine starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = engine.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    TestEngine { url, client: engine::http_client::client(), data_dir, engine: Some(engine) }
}

impl TestEngine {
    /// A request with the engine's key and the beta header of the path's family, as the SDK
    /// sends them.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.url)).header("x-api-key", KEY);
        match protocol::beta::beta_for(path) {
            Some(beta) => request.header("anthropic-beta", beta),
            None => request,
        }
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.call(reqwest::Method::POST, path, Some(body)).await;
        assert_eq!(status, 200, "POST {path}: {answer}");
        answer
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, answer) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {answer}");
        answer
    }

    /// A session of a scripted agent with every built-in tool allowed, playing `turns`.
    pub async fn scripted_session(&self, turns: Value, networking: &str) -> String {
        self.scripted_session_with(turns, json!({ "type": networking })).await
    }

    /// The same, in an environment with this `networking`.
    pub async fn scripted_session_with(&self, turns: Value, networking: Value) -> String {
        self.scripted_session_in(turns, json!({ "type": "cloud", "networking": networking })).await
    }

    /// The same, in an environment with this `config`.
    pub async fn scripted_session_in(&self, turns: Value, environment: Value) -> String {
        let agent = self
            .post(
                "/v1/agents",
                json!({ "name": "test", "model": "scripted", "system": json!({ "turns": turns }).to_string(),
                        "tools": [{ "type": "agent_toolset_20260401" }] }),
            )
            .await;
        let environment = self.post("/v1/environments", json!({ "name": "test", "config": environment })).await;
        let session =
            self.post("/v1/sessions", json!({ "agent": agent["id"], "environment_id": environment["id"] })).await;
        session["id"].as_str().unwrap().to_owned()
    }

    pub async fn say(&self, session: &str, text: &str) {
        self.post(
            &format!("/v1/sessions/{session}/events"),
            json!({ "events": [{ "type": "user.message", "content": [{ "type": "text", "text": text }] }] }),
        )
        .await;
    }

    pub async fn events(&self, session: &str) -> Vec<Value> {
        self.get(&format!("/v1/sessions/{session}/events?limit=1000")).await["data"].as_array().unwrap().clone()
    }

    /// Waits until the session's log has `count` idle events with a stop reason of `reason`
    /// (up to 30 s: a turn of a dozen sandboxed tools took over 10 s on a loaded CI machine).
    pub async fn wait_idle(&self, session: &str, count: usize) -> Vec<Value> {
        for _ in 0..1200 {
            let events = self.events(session).await;
            if events.iter().filter(|e| e["type"] == "session.status_idle").count() >= count {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("session {session} did not go idle {count} time(s): {:#?}", self.events(session).await);
    }
}

/// The text of every tool result in a log.
pub fn tool_results(events: &[Value]) -> Vec<(bool, String)> {
    events
        .iter()
        .filter(|e| e["type"] == "agent.tool_result")
        .map(|e| {
            (e["is_error"].as_bool().unwrap_or(false), e["content"][0]["text"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

/// Every file under `dir` (the databases' -wal and -shm too) that holds `needle`, byte for byte.
/// Sessions' disk images (`*.img`, 10 GiB each, sparse) are not read.
pub fn files_holding(dir: &std::path::Path, needle: &str) -> Vec<std::path::PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .filter(|entry| entry.path().extension().is_none_or(|e| e != "img"))
        .filter(|entry| {
            let bytes = std::fs::read(entry.path()).unwrap_or_default();
            bytes.windows(needle.len()).any(|window| window == needle.as_bytes())
        })
        .map(|entry| entry.into_path())
        .collect()
}
