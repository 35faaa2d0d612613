//! Starts a real Switchboard on port 0 for a test, with settings the test chooses.

pub mod slack_standin;

use std::collections::HashMap;

use serde_json::{Value, json};
use server::{settings::Settings, web::startup::Application};

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
    /// The engine itself, for what no API route does (issuing an environment key).
    pub engine: engine::Engine,
    _data_dir: TempDir,
}

pub async fn spawn_engine(key: &str) -> StandaloneEngine {
    let data_dir = TempDir::new();
    let config = engine::EngineConfig::new(data_dir.0.join("engine"), key.to_owned());
    let engine = engine::Engine::open(config).await.expect("the engine opens");
    StandaloneEngine { base_url: serve(engine.router()).await, engine, _data_dir: data_dir }
}

/// A GET of an engine's `path` (under `base_url`) with `credential` as a worker sends it
/// (`Authorization: Bearer`, the managed-agents beta): its status and JSON body.
pub async fn engine_get(base_url: &str, path: &str, credential: &str) -> (u16, Value) {
    let response = engine::http_client::client()
        .get(format!("{base_url}{path}"))
        .bearer_auth(credential)
        .header("anthropic-beta", "managed-agents-2026-04-01")
        .send()
        .await
        .expect("request sent");
    json_of(response).await
}

/// A call of the API at `base_url` as an API client makes it (`x-api-key: key`, the version and
/// beta headers), with a JSON body or none; asserts it succeeded and answers its JSON.
pub async fn api_call(
    http: &reqwest::Client,
    (base_url, key): (&str, &str),
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut request = http
        .request(method, format!("{base_url}{path}"))
        .header("x-api-key", key)
        .header("anthropic-version", protocol::ANTHROPIC_VERSION)
        .header("anthropic-beta", protocol::MANAGED_AGENTS_BETA);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the engine answers");
    let status = response.status();
    let value: Value = response.json().await.expect("JSON");
    assert!(status.is_success(), "{path}: {status} {value}");
    value
}

/// A webhook as Managed Agents sends one of `kind` about `session`, signed with `secret` at
/// `timestamp`: its headers and body.
pub fn signed_webhook(
    secret: &str,
    id: &str,
    timestamp: i64,
    kind: &str,
    session: &str,
) -> (Vec<(&'static str, String)>, String) {
    let body = json!({
        "type": "event",
        "id": id,
        "created_at": "2026-11-24T00:00:00Z",
        "data": { "type": kind, "id": session, "organization_id": "org_test", "workspace_id": "wrkspc_test" },
    })
    .to_string();
    let signature = standardwebhooks::Webhook::new(secret).unwrap().sign(id, timestamp, body.as_bytes()).unwrap();
    let headers = vec![
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
    ];
    (headers, body)
}

/// Posts `webhook` to `path` of `app`, as its sender does; answers the status.
pub async fn post_webhook_to(app: &TestApp, path: &str, (headers, body): (Vec<(&'static str, String)>, String)) -> u16 {
    let mut request = engine::http_client::client()
        .post(format!("{}{path}", app.address))
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.send().await.unwrap().status().as_u16()
}

/// Seconds since the epoch, now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A multipart form holding `bytes` as the file `name`, as the upload form posts it.
pub fn file_form(name: &str, bytes: Vec<u8>) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()))
}

/// Whether the test servers run on PostgreSQL (`SWITCHBOARD_TEST_DATABASE=postgres`, in the cluster
/// `SWITCHBOARD_TEST_POSTGRES_URL` names; `scripts/test` runs the server's tests once so), rather
/// than SQLite in their data directory.
pub fn on_postgres() -> bool {
    std::env::var("SWITCHBOARD_TEST_DATABASE").is_ok_and(|v| v == "postgres")
}

/// Where a data directory notes the PostgreSQL database its servers use, so that a server
/// started again on it (a restart) finds the same records.
const POSTGRES_URL_FILE: &str = "postgres-url";

/// The settings a server on PostgreSQL needs on top of `env`: a database of this data
/// directory's own, a secret key, and an upstream it shares, since a replica never embeds an
/// engine: a standalone engine (its records in the data directory, as the embedded one's are,
/// with the sandbox's settings and the sealing key the embedded one would get), sending its
/// webhooks to the server as the embedded one does. Tests that chose an upstream keep theirs; a
/// test about the data directory's files sets `SWITCHBOARD_DATABASE_URL` to nothing: it runs on
/// SQLite in either run.
async fn on_postgres_env(data_dir: &TempDir, env: &mut HashMap<String, String>) -> Option<StandaloneEngine> {
    if env.contains_key("SWITCHBOARD_DATABASE_URL") {
        return None;
    }
    let noted = data_dir.0.join(POSTGRES_URL_FILE);
    let url = match std::fs::read_to_string(&noted) {
        Ok(url) => url,
        Err(_) => {
            let url = fresh_postgres_database().await;
            std::fs::write(&noted, &url).unwrap();
            url
        }
    };
    env.insert("SWITCHBOARD_DATABASE_URL".into(), url);
    env.entry("SWITCHBOARD_SECRET_KEY".into()).or_insert_with(|| "K3Y1wqUuQqmt1xQe3G4jZM5Lj2WQAiQGpK4GlxLh3i0=".into());
    if env.contains_key("ANTHROPIC_API_KEY") {
        return None;
    }
    // The server's port, chosen now, so that the engine knows where its webhooks go.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    env.insert("SWITCHBOARD_LISTEN".into(), format!("127.0.0.1:{port}"));
    let secret =
        env.entry("SWITCHBOARD_WEBHOOK_SECRET".into()).or_insert_with(engine::webhooks::generate_secret).clone();
    let key = "test-key-standalone-engine-of-a-postgres-test";
    let mut config = engine::EngineConfig::new(data_dir.0.join("engine"), key.to_owned());
    let hook = format!("http://127.0.0.1:{port}/webhooks/anthropic");
    config.webhook = Some(engine::webhooks::WebhookTarget::new(&hook, &secret).unwrap());
    config.tool_runner = env!("CARGO_BIN_EXE_switchboard").into();
    config.sandbox_limits = engine::SandboxLimits::from_env(|name| env.get(name).cloned()).expect("sandbox settings");
    config.mcp_reach = engine::mcp::Reach::from_env(|name| env.get(name).cloned());
    config.secret_key = env
        .get("SWITCHBOARD_SECRET_KEY")
        .and_then(|key| server::settings::SecretKey::parse(key))
        .map(|key| key.engine_key());
    let engine = engine::Engine::open(config).await.expect("the engine opens");
    let base_url = serve(engine.router()).await;
    env.insert("ANTHROPIC_API_KEY".into(), key.into());
    env.insert("ANTHROPIC_BASE_URL".into(), base_url.clone());
    Some(StandaloneEngine { base_url, engine, _data_dir: TempDir::new() })
}

/// A new, empty database in the test cluster.
pub async fn fresh_postgres_database() -> String {
    server::support::db::install_drivers();
    let cluster = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .expect("SWITCHBOARD_TEST_DATABASE=postgres needs SWITCHBOARD_TEST_POSTGRES_URL (scripts/test sets both)");
    let admin = sqlx::AnyPool::connect(&cluster).await.expect("the test cluster answers");
    let name = format!("server_test_{}", uuid_like());
    sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&admin).await.expect("a test database");
    admin.close().await;
    let mut url = reqwest::Url::parse(&cluster).unwrap();
    url.set_path(&name);
    url.to_string()
}

/// A name no other test's is.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), rand::random::<u32>())
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
    /// `http://` and the address of `/metrics`' own listener, when `SWITCHBOARD_METRICS_LISTEN`
    /// was set.
    pub metrics_address: Option<String>,
    /// Signed in as the first admin (`admin`, [`ADMIN_PASSWORD`]).
    pub client: reqwest::Client,
    pub data_dir: std::sync::Arc<TempDir>,
    /// The one-time setup link, when the app started without accounts.
    pub setup_link: Option<String>,
    /// On PostgreSQL ([`on_postgres`]): the standalone engine standing in for the embedded one.
    _engine: Option<StandaloneEngine>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    stopped: Option<tokio::task::JoinHandle<()>>,
}

/// The first admin's password in tests (`SWITCHBOARD_ADMIN_PASSWORD`).
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A client that keeps cookies and does not follow redirects (tests look at where they lead).
pub fn browser() -> reqwest::Client {
    engine::http_client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Starts Switchboard with `vars` as its environment (on top of a free port and its own data dir),
/// with a first admin, and signs its client in as that admin.
pub async fn spawn_app(vars: &[(&str, &str)]) -> TestApp {
    let app = start(TempDir::new().into(), vars, true).await;
    app.sign_in(&app.client, "admin", ADMIN_PASSWORD).await;
    app
}

/// Starts Switchboard in `data_dir` with `vars`; with `admin`, `SWITCHBOARD_ADMIN_PASSWORD` is
/// set. The client is not signed in.
pub async fn start(data_dir: std::sync::Arc<TempDir>, vars: &[(&str, &str)], admin: bool) -> TestApp {
    let mut env: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    env.insert("SWITCHBOARD_LISTEN".into(), "127.0.0.1:0".into());
    env.insert("SWITCHBOARD_DATA_DIR".into(), data_dir.0.display().to_string());
    // The sandbox runs Switchboard's own binary inside (file tools, network relay); this test
    // binary is not it.
    env.insert("SWITCHBOARD_SANDBOX_TOOL_RUNNER".into(), env!("CARGO_BIN_EXE_switchboard").into());
    if admin {
        env.entry("SWITCHBOARD_ADMIN_PASSWORD".into()).or_insert_with(|| ADMIN_PASSWORD.into());
    }
    let engine = if on_postgres() { on_postgres_env(&data_dir, &mut env).await } else { None };
    let settings = Settings::from_lookup(|name| env.get(name).cloned()).expect("test settings are valid");

    let app = Application::build(settings).await.expect("Switchboard starts");
    let address = format!("http://{}", app.local_addr());
    let metrics_address = app.metrics_addr().map(|addr| format!("http://{addr}"));
    let setup_link = app.setup_link();
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let stopped = tokio::spawn(async move {
        let _ = app
            .run_until(async {
                let _ = stopped.await;
            })
            .await;
    });
    TestApp {
        address,
        metrics_address,
        client: browser(),
        data_dir,
        setup_link,
        _engine: engine,
        shutdown: Some(shutdown),
        stopped: Some(stopped),
    }
}

impl TestApp {
    /// A server running elsewhere (another process) at `address`, reached through the same
    /// helpers; its client is not signed in.
    pub fn attached(address: String, data_dir: std::sync::Arc<TempDir>) -> TestApp {
        TestApp {
            address,
            metrics_address: None,
            client: browser(),
            data_dir,
            setup_link: None,
            _engine: None,
            shutdown: None,
            stopped: None,
        }
    }

    /// Its database, opened beside the running server (a test reads or breaks it directly).
    pub async fn database(&self) -> sqlx::AnyPool {
        server::support::db::install_drivers();
        if let Ok(url) = std::fs::read_to_string(self.data_dir.0.join(POSTGRES_URL_FILE)) {
            return sqlx::AnyPool::connect(&url).await.unwrap();
        }
        sqlx::AnyPool::connect(&format!("sqlite://{}", self.data_dir.0.join("switchboard.db").display())).await.unwrap()
    }

    /// Signs `client` in; panics unless the login page sends it on (303 to somewhere but /login).
    pub async fn sign_in(&self, client: &reqwest::Client, username: &str, password: &str) {
        let response = self.try_sign_in(client, username, password).await;
        let location = response.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_owned();
        assert!(
            response.status().as_u16() == 303 && !location.starts_with("/login"),
            "signing in as {username} failed: {} to {location}",
            response.status()
        );
    }

    pub async fn try_sign_in(&self, client: &reqwest::Client, username: &str, password: &str) -> reqwest::Response {
        client
            .post(format!("{}/auth/login", self.address))
            .form(&[("username", username), ("password", password), ("next", "/")])
            .send()
            .await
            .expect("request sent")
    }

    /// A new account with `roles` (created by the admin client) and a client signed in as it.
    pub async fn client_as(&self, username: &str, roles: &[&str]) -> reqwest::Client {
        let mut form = vec![
            ("username".to_owned(), username.to_owned()),
            ("display_name".to_owned(), String::new()),
            ("password".to_owned(), ADMIN_PASSWORD.to_owned()),
        ];
        for role in roles {
            form.push((format!("roles[{role}]"), "true".to_owned()));
        }
        let response = self
            .client
            .post(format!("{}/api/users/create", self.address))
            .form(&form)
            .send()
            .await
            .expect("request sent");
        assert_eq!(
            response.status().as_u16(),
            200,
            "creating {username}: {}",
            response.text().await.unwrap_or_default()
        );
        let client = browser();
        self.sign_in(&client, username, ADMIN_PASSWORD).await;
        client
    }

    /// Stops the server and waits until it has let go of its port and database.
    pub async fn stop(mut self) -> std::sync::Arc<TempDir> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(stopped) = self.stopped.take() {
            let _ = stopped.await;
        }
        self.data_dir.clone()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.address)).send().await.expect("request sent")
    }

    /// Calls a server function that reads (GET, arguments in the query string).
    pub async fn read(&self, endpoint: &str, query: &[(&str, &str)]) -> (u16, Value) {
        self.read_as(&self.client, endpoint, query).await
    }

    /// [`TestApp::read`] as whoever `client` is signed in as.
    pub async fn read_as(&self, client: &reqwest::Client, endpoint: &str, query: &[(&str, &str)]) -> (u16, Value) {
        let response =
            client.get(format!("{}/api/{endpoint}", self.address)).query(query).send().await.expect("request sent");
        json_of(response).await
    }

    /// Calls a server function that changes something (POST, form-encoded, as `ActionForm` sends).
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> (u16, Value) {
        self.call_as(&self.client, endpoint, form).await
    }

    /// [`TestApp::call`] as whoever `client` is signed in as.
    pub async fn call_as(&self, client: &reqwest::Client, endpoint: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let response =
            client.post(format!("{}/api/{endpoint}", self.address)).form(form).send().await.expect("request sent");
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

/// A session whose agent asks before every bash call (`always_ask`), playing `turns`; started
/// through the console, its first message sent. Answers the session's id.
pub async fn asking_session(app: &TestApp, name: &str, turns: Value) -> String {
    let definition = json!({
        "name": name, "model": "scripted", "system": json!({ "turns": turns }).to_string(),
        "tools": [{ "type": "agent_toolset_20260401", "default_config": { "permission_policy": { "type": "always_ask" } } }],
    });
    let (status, agent) = app.call("agents/create", &[("definition", &definition.to_string())]).await;
    assert_eq!(status, 200, "{agent}");
    let form = [("id", ""), ("form[name]", name), ("form[kind]", "cloud"), ("form[networking]", "limited")];
    let (status, environment) = app.call("environments/save", &form).await;
    assert_eq!(status, 200, "{environment}");
    let (agent, environment) = (agent["id"].as_str().unwrap(), environment["row"]["id"].as_str().unwrap());
    let (status, session) = app
        .call(
            "sessions/create",
            &[("form[agent_id]", agent), ("form[environment_id]", environment), ("form[initial_message]", "go")],
        )
        .await;
    assert_eq!(status, 200, "{session}");
    session["row"]["id"].as_str().unwrap().to_owned()
}

/// A finished session titled `title` (empty: none) of a scripted lead agent that plays `steps`
/// (its tools always allowed) and may hand work to a Worker, whose thread says `worker_text`.
/// Waits until the lead is idle with tokens counted and the Worker's thread has written (it may
/// finish after the lead). Answers the session's id.
pub async fn lead_and_worker_session(app: &TestApp, steps: Value, worker_text: &str, title: &str) -> String {
    let worker = json!({ "name": "Worker", "model": "scripted", "system": json!({ "turns": [[{ "text": worker_text }]] }).to_string() });
    let (status, worker) = app.call("agents/create", &[("definition", &worker.to_string())]).await;
    assert_eq!(status, 200, "{worker}");
    let lead = json!({
        "name": "Lead", "model": "scripted",
        "system": json!({ "turns": [steps] }).to_string(),
        "tools": [{ "type": "agent_toolset_20260401", "default_config": { "permission_policy": { "type": "always_allow" } } }],
        "multiagent": { "type": "multiagent_20261001", "subagents": { "type": "enabled", "predefined_agents": [worker["id"]] } },
    });
    let (status, lead) = app.call("agents/create", &[("definition", &lead.to_string())]).await;
    assert_eq!(status, 200, "{lead}");
    let form =
        [("id", ""), ("form[name]", "lead and worker"), ("form[kind]", "cloud"), ("form[networking]", "limited")];
    let (status, environment) = app.call("environments/save", &form).await;
    assert_eq!(status, 200, "{environment}");
    let (status, session) = app
        .call(
            "sessions/create",
            &[
                ("form[agent_id]", lead["id"].as_str().unwrap()),
                ("form[environment_id]", environment["row"]["id"].as_str().unwrap()),
                ("form[title]", title),
                ("form[initial_message]", "go"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{session}");
    let id = session["row"]["id"].as_str().unwrap().to_owned();
    for _ in 0..300 {
        let (_, view) = app.read("sessions/get", &[("id", &id)]).await;
        let (_, threads) = app.read("sessions/threads", &[("session_id", &id)]).await;
        let worker_done = threads
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["agent"] == "Worker" && t["tokens"].as_u64() > Some(0)));
        if view["row"]["status"] == "idle" && view["row"]["tokens"].as_u64() > Some(0) && worker_done {
            return id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the session never ended its turn");
}

/// The audit entries of `action`, newest first, with their detail parsed from its JSON text.
pub async fn audit_entries(app: &TestApp, action: &str) -> Vec<Value> {
    audit_entries_as(app, &app.client, action).await
}

/// [`audit_entries`] as whoever `client` is signed in as, in the workspace they are in.
pub async fn audit_entries_as(app: &TestApp, client: &reqwest::Client, action: &str) -> Vec<Value> {
    let (status, log) = app.read_as(client, "audit/list", &[("query[action]", action)]).await;
    assert_eq!(status, 200, "{log}");
    log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if let Some(detail) = e["detail"].as_str().filter(|d| !d.is_empty()) {
                e["detail"] = serde_json::from_str(detail).unwrap();
            }
            e
        })
        .collect()
}

/// [`audit_entries`], once there are at least `n` (for entries written in the background).
pub async fn audit_entries_at_least(app: &TestApp, action: &str, n: usize) -> Vec<Value> {
    for _ in 0..300 {
        let entries = audit_entries(app, action).await;
        if entries.len() >= n {
            return entries;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("never {n} {action} entries");
}

/// One frame of an event stream's text (the text between two blank lines): its `id:`, `event:`
/// and `data:`, each of one line in the frames Switchboard sends.
pub struct SseFrame {
    pub id: Option<u64>,
    pub event: Option<String>,
    pub data: Option<String>,
}

pub fn sse_frame(block: &str) -> SseFrame {
    let field = |name: &str| block.lines().find_map(|l| l.strip_prefix(name)).map(str::to_owned);
    SseFrame { id: field("id: ").and_then(|id| id.parse().ok()), event: field("event: "), data: field("data: ") }
}

/// Every file under `dir` (databases' `-wal` and `-shm` among them) that holds `needle`, byte for
/// byte.
pub fn files_holding(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_holding(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(needle.len()).any(|w| w == needle)
        {
            found.push(path.display().to_string());
        }
    }
    found
}

/// A call of Switchboard's API with `token` as the SDK makes it (`Authorization: Bearer`): its
/// status, `request-id` and JSON body.
pub async fn v1(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Option<String>, Value) {
    let mut request = browser()
        .request(method, format!("{}{path}", app.address))
        .bearer_auth(token)
        .header("anthropic-version", protocol::ANTHROPIC_VERSION)
        .header("anthropic-beta", protocol::MANAGED_AGENTS_BETA);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let request_id = response.headers().get("request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = response.text().await.unwrap();
    (status, request_id, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// The API's error type of a refusal.
pub fn error_type(body: &Value) -> &str {
    assert_eq!(body["type"], "error", "{body}");
    body["error"]["type"].as_str().unwrap_or_default()
}

/// An agent of the scripted model that plays `turns`.
pub fn scripted_agent(name: &str, turns: Value) -> Value {
    json!({ "name": name, "model": "scripted", "system": json!({ "turns": turns }).to_string() })
}

/// The discovery document of an identity provider a test plays at `issuer`: its endpoints under
/// it, signing with `algorithms`.
pub fn discovery_document(issuer: &str, algorithms: &[&str]) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algorithms,
    })
}

/// A token made by whoever `client` is signed in as, in the default workspace, with `roles`.
pub async fn make_token(app: &TestApp, client: &reqwest::Client, name: &str, roles: &[&str]) -> String {
    let mut form =
        vec![("form[name]".to_owned(), name.to_owned()), ("form[workspace]".to_owned(), "default".to_owned())];
    form.extend(roles.iter().map(|role| (format!("form[{role}]"), "on".to_owned())));
    let response = client.post(format!("{}/api/me/tokens/create", app.address)).form(&form).send().await.unwrap();
    let status = response.status().as_u16();
    let made: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{made}");
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sbp_") && secret.len() == 52, "a scanner finds it by its prefix: {secret}");
    assert!(made["row"]["hint"].as_str().unwrap().starts_with(&secret[..8]));
    secret
}
