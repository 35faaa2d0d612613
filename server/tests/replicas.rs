//! Several Switchboard replicas on one PostgreSQL database behave as one: each test starts real
//! `switchboard` processes on a database of their own in the cluster
//! `SWITCHBOARD_TEST_POSTGRES_URL` names, with one standalone engine as their upstream, and
//! reaches them as a load balancer would send a person, one request here, the next there (a
//! browser's cookies are per host, not per port, so one client's login goes to both).

use crate::support;

use std::{
    process::Stdio,
    sync::Arc,
    time::{Duration, Instant},
};

use futures::StreamExt;
use serde_json::{Value, json};
use support::{ADMIN_PASSWORD, TempDir, TestApp, asking_session, browser, spawn_engine};

const ENGINE_KEY: &str = "test-key-of-the-replicas-engine";
const SECRET_KEY: &str = "K3Y1wqUuQqmt1xQe3G4jZM5Lj2WQAiQGpK4GlxLh3i0=";

/// One replica: its process, and the helpers of a test server pointed at it.
struct Replica {
    app: TestApp,
    process: tokio::process::Child,
}

/// Replicas sharing one database and one engine.
struct Cluster {
    database_url: String,
    engine: support::StandaloneEngine,
}

impl Cluster {
    async fn new() -> Self {
        let database_url = support::fresh_postgres_database().await;
        Self { database_url, engine: spawn_engine(ENGINE_KEY).await }
    }

    /// Starts a replica and waits until it answers; its admin client signed in.
    async fn replica(&self, vars: &[(&str, &str)]) -> Replica {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let data_dir = Arc::new(TempDir::new());
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SWITCHBOARD_LISTEN", format!("127.0.0.1:{port}"))
            .env("SWITCHBOARD_DATA_DIR", &data_dir.0)
            .env("SWITCHBOARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("SWITCHBOARD_DATABASE_URL", &self.database_url)
            .env("SWITCHBOARD_SECRET_KEY", SECRET_KEY)
            .env("ANTHROPIC_API_KEY", ENGINE_KEY)
            .env("ANTHROPIC_BASE_URL", &self.engine.base_url)
            .env("SWITCHBOARD_INBOX_POLL_SECS", "0.5")
            // Longer than any wait below: what reaches a stream comes from a signal, not a check.
            .env("SWITCHBOARD_HEARTBEAT_SECS", "60")
            .env("RUST_LOG", "warn")
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let process = command.spawn().expect("switchboard starts");
        let app = TestApp::attached(format!("http://127.0.0.1:{port}"), data_dir);
        let deadline = Instant::now() + Duration::from_secs(60);
        while app.client.get(format!("{}/healthz", app.address)).send().await.is_err() {
            assert!(Instant::now() < deadline, "the replica on {port} never answered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        app.sign_in(&app.client, "admin", ADMIN_PASSWORD).await;
        Replica { app, process }
    }

    async fn database(&self) -> sqlx::AnyPool {
        server::support::db::install_drivers();
        sqlx::AnyPool::connect(&self.database_url).await.unwrap()
    }

    /// Who holds lease `name`, if anyone holds it unexpired.
    async fn holder(&self, name: &str) -> Option<String> {
        let now = server::support::cluster::now_ms(server::support::db::Dialect::Postgres);
        sqlx::query_scalar(&format!("SELECT holder FROM leases WHERE name = $1 AND expires_ms > {now}"))
            .bind(name)
            .fetch_optional(&self.database().await)
            .await
            .unwrap()
    }

    /// The engine's events of `session` of type `kind`.
    async fn upstream_events(&self, session: &str, kind: &str) -> Vec<Value> {
        let url = format!("{}/v1/sessions/{session}/events", self.engine.base_url);
        let page: Value = engine::http_client::client()
            .get(url)
            .header("x-api-key", ENGINE_KEY)
            .header("anthropic-version", "2023-06-01")
            .header("anthropic-beta", "managed-agents-2026-04-01")
            .query(&[("limit", "1000")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["data"]
            .as_array()
            .unwrap_or_else(|| panic!("{page}"))
            .iter()
            .filter(|e| e["type"] == kind)
            .cloned()
            .collect()
    }
}

/// Polls `check` until it answers `Some`, for at most `secs`.
async fn within<T>(secs: u64, what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "not within {secs} s: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The calls `client` sees waiting in `app`'s inbox.
async fn waiting(app: &TestApp, client: &reqwest::Client) -> Vec<(String, String)> {
    let (status, inbox) = app.read_as(client, "inbox/list", &[]).await;
    assert_eq!(status, 200, "{inbox}");
    inbox["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["session_id"].as_str().unwrap().to_owned(), c["event"]["id"].as_str().unwrap().to_owned()))
        .collect()
}

/// The waiting call of `session` as `app`'s inbox lists it.
async fn waiting_call(app: &TestApp, client: &reqwest::Client, session: &str) -> String {
    within(30, "the call waits in the inbox", async || {
        waiting(app, client).await.into_iter().find(|(s, _)| s == session).map(|(_, call)| call)
    })
    .await
}

async fn decide(app: &TestApp, client: &reqwest::Client, session: &str, call: &str) -> (u16, Value) {
    let body =
        json!({ "session_id": session, "verdicts": [{ "event_id": call, "allow": true, "deny_message": null }] });
    let response = client.post(format!("{}/api/sessions/decide", app.address)).json(&body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

fn one_bash_call() -> Value {
    json!([[{ "tool": "bash", "input": { "command": "echo replicas" } }, { "text": "Done." }]])
}

#[tokio::test]
async fn a_login_made_on_one_replica_opens_the_other_and_signing_out_ends_its_streams_at_once() {
    let cluster = Cluster::new().await;
    let (a, b) = (cluster.replica(&[]).await, cluster.replica(&[]).await);
    let client = browser();
    a.app.sign_in(&client, "admin", ADMIN_PASSWORD).await;
    let (status, _) = b.app.read_as(&client, "upstream", &[]).await;
    assert_eq!(status, 200, "the login cookie made on A opens B");

    let stream = client.get(format!("{}/api/inbox/stream", b.app.address)).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let mut body = stream.bytes_stream();
    let first = tokio::time::timeout(Duration::from_secs(10), body.next()).await.expect("the inbox's first frame");
    assert!(first.is_some());
    let signed_out = Instant::now();
    let response = client.post(format!("{}/auth/logout", a.app.address)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let mut text = String::new();
    while !text.contains("event: signed_out") {
        match tokio::time::timeout(Duration::from_secs(10), body.next()).await {
            Ok(Some(chunk)) => text.push_str(&String::from_utf8_lossy(&chunk.unwrap())),
            Ok(None) => break,
            Err(_) => panic!("B's stream went on after the sign-out on A: {text}"),
        }
    }
    assert!(text.contains("event: signed_out"), "{text}");
    assert!(signed_out.elapsed() < Duration::from_secs(5), "told at once, not at the next heartbeat");
    let (status, _) = b.app.read_as(&client, "upstream", &[]).await;
    assert_eq!(status, 401, "signed out on A is signed out on B");
}

#[tokio::test]
async fn one_replica_polls_the_inbox_a_decision_goes_upstream_once_and_leaves_every_inbox() {
    let cluster = Cluster::new().await;
    let (a, b) = (cluster.replica(&[]).await, cluster.replica(&[]).await);
    let ada = a.app.client_as("ada", &["approver"]).await;
    let grace = b.app.client_as("grace", &["approver"]).await;
    let session = asking_session(&a.app, "replicas", one_bash_call()).await;
    // Both replicas show the call; one of them polls.
    let call = waiting_call(&b.app, &grace, &session).await;
    assert_eq!(waiting_call(&a.app, &ada, &session).await, call);
    assert!(cluster.holder("inbox:default").await.is_some(), "one replica holds the inbox's lease");

    // Two approvers at once, one on each replica: one decision goes upstream.
    let (one, other) = tokio::join!(decide(&a.app, &ada, &session, &call), decide(&b.app, &grace, &session, &call));
    let sent = [&one, &other].iter().filter(|(status, _)| *status == 200).count();
    assert!(sent >= 1, "{one:?} {other:?}");
    within(20, "the decision reached the engine", async || {
        let confirmations = cluster.upstream_events(&session, "user.tool_confirmation").await;
        (!confirmations.is_empty()).then_some(confirmations)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let confirmations = cluster.upstream_events(&session, "user.tool_confirmation").await;
    assert_eq!(confirmations.len(), 1, "exactly one decision upstream: {confirmations:?}");
    // It leaves both replicas' inboxes.
    for (app, client) in [(&a.app, &ada), (&b.app, &grace)] {
        within(10, "the decided call leaves the inbox", async || {
            (!waiting(app, client).await.iter().any(|(_, c)| *c == call)).then_some(())
        })
        .await;
    }
}

#[tokio::test]
async fn a_two_approver_policy_counts_approvals_made_on_either_replica() {
    let cluster = Cluster::new().await;
    let (a, b) = (cluster.replica(&[]).await, cluster.replica(&[]).await);
    // B reads the policies first, keeping a copy: none asks for two approvers yet.
    let (status, before) = b.app.read("policies/list", &[]).await;
    assert_eq!(status, 200, "{before}");
    let (status, saved) = a
        .app
        .call(
            "policies/save",
            &[("form[agent_id]", "*"), ("form[required_approvals]", "2"), ("form[no_self_approval]", "false")],
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    let ada = a.app.client_as("ada", &["approver"]).await;
    let grace = b.app.client_as("grace", &["approver"]).await;
    let session = asking_session(&a.app, "two approvers", one_bash_call()).await;
    let call = waiting_call(&b.app, &grace, &session).await;
    // B forgot its copy when A signalled the change: the policy holds there too.
    let (status, first) = decide(&b.app, &grace, &session, &call).await;
    assert_eq!(status, 200, "{first}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(cluster.upstream_events(&session, "user.tool_confirmation").await.is_empty(), "one approval of two");
    let (status, second) = decide(&a.app, &ada, &session, &call).await;
    assert_eq!(status, 200, "{second}");
    within(20, "the second approval sends the decision", async || {
        let sent = cluster.upstream_events(&session, "user.tool_confirmation").await;
        (sent.len() == 1).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_deadline_denies_each_call_once_whichever_replicas_run() {
    let cluster = Cluster::new().await;
    let (a, b) = (cluster.replica(&[]).await, cluster.replica(&[]).await);
    let form = [("form[agent_id]", "*"), ("form[required_approvals]", "1"), ("form[deadline]", "2s")];
    let (status, saved) = a.app.call("policies/save", &form).await;
    assert_eq!(status, 200, "{saved}");
    let mut sessions = Vec::new();
    for (i, replica) in [&a, &b, &a].into_iter().enumerate() {
        sessions.push(asking_session(&replica.app, &format!("deadline {i}"), one_bash_call()).await);
    }
    for session in &sessions {
        within(30, "the call is denied at its deadline", async || {
            let sent = cluster.upstream_events(session, "user.tool_confirmation").await;
            (sent.len() == 1 && sent[0]["result"] == "deny").then_some(())
        })
        .await;
    }
    // Some ticks of both replicas later: one denial and one audit entry per call.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for session in &sessions {
        assert_eq!(cluster.upstream_events(session, "user.tool_confirmation").await.len(), 1, "{session}");
    }
    let (status, log) = b.app.read("audit/list", &[("query[action]", "policies/deadline_denied")]).await;
    assert_eq!(status, 200, "{log}");
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), sessions.len(), "{log}");
    for session in &sessions {
        assert_eq!(entries.iter().filter(|e| e["targets"].as_str().unwrap().contains(session.as_str())).count(), 1);
    }
}

#[tokio::test]
async fn when_the_polling_replica_is_killed_another_takes_the_inbox_over_within_seconds() {
    let cluster = Cluster::new().await;
    let mut a = cluster.replica(&[]).await;
    let ada = a.app.client_as("ada", &["approver"]).await;
    // A polls first (nobody else is there), then B joins.
    let _ = waiting(&a.app, &ada).await;
    let first = within(10, "A holds the inbox's lease", async || cluster.holder("inbox:default").await).await;
    let b = cluster.replica(&[]).await;
    let grace = b.app.client_as("grace", &["approver"]).await;
    let _ = waiting(&b.app, &grace).await;
    assert_eq!(cluster.holder("inbox:default").await.as_deref(), Some(first.as_str()), "A still polls");

    a.process.start_kill().unwrap();
    let _ = a.process.wait().await;
    let killed = Instant::now();
    let taken = within(20, "B takes the inbox's lease over", async || {
        cluster.holder("inbox:default").await.filter(|holder| *holder != first)
    })
    .await;
    assert_ne!(taken, first);
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(15), "taken over in {took:?}");
    // B polls now: a call started after the kill waits in its inbox.
    let session = asking_session(&b.app, "after the kill", one_bash_call()).await;
    let call = waiting_call(&b.app, &grace, &session).await;
    let (status, decided) = decide(&b.app, &grace, &session, &call).await;
    assert_eq!(status, 200, "{decided}");
}

#[tokio::test]
async fn a_share_link_revoked_on_one_replica_ends_its_streams_on_the_other() {
    let cluster = Cluster::new().await;
    let (a, b) = (cluster.replica(&[]).await, cluster.replica(&[]).await);
    let session = asking_session(&a.app, "shared", one_bash_call()).await;
    let form = [("form[session_id]", session.as_str()), ("form[hours]", "1"), ("form[mode]", "live")];
    let (status, made) = a.app.call("shares/create", &form).await;
    assert_eq!(status, 200, "{made}");
    let token = made["path"].as_str().unwrap().strip_prefix("/share/").unwrap().to_owned();
    let stream =
        engine::http_client::client().get(format!("{}/api/shares/{token}/stream", b.app.address)).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let mut body = stream.bytes_stream();
    let _ = tokio::time::timeout(Duration::from_secs(10), body.next()).await.expect("the stream's first frame");
    let revoked = Instant::now();
    let (status, _) = a.app.call("shares/revoke", &[("id", made["id"].as_str().unwrap())]).await;
    assert_eq!(status, 200);
    let mut text = String::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), body.next()).await {
            Ok(Some(chunk)) => text.push_str(&String::from_utf8_lossy(&chunk.unwrap())),
            Ok(None) => break,
            Err(_) => panic!("B's stream of the link went on after A revoked it: {text}"),
        }
        if text.contains("revoked") {
            break;
        }
    }
    assert!(text.contains("revoked"), "{text}");
    assert!(revoked.elapsed() < Duration::from_secs(5), "at once, not at the link's expiry");
}

#[tokio::test]
async fn a_replica_refuses_to_start_with_an_embedded_engine_on_postgresql() {
    let database_url = support::fresh_postgres_database().await;
    let data_dir = TempDir::new();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SWITCHBOARD_LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_DATA_DIR", &data_dir.0)
        .env("SWITCHBOARD_DATABASE_URL", &database_url)
        .env("SWITCHBOARD_SECRET_KEY", SECRET_KEY)
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("ANTHROPIC_API_KEY") && said.contains("standalone"), "{said}");
    assert!(!said.contains(&database_url), "the URL (it may hold a password) is not repeated: {said}");
}

#[tokio::test]
async fn a_token_revoked_on_one_replica_is_refused_on_the_other_within_a_second() {
    let cluster = Cluster::new().await;
    let (a, b) = (cluster.replica(&[]).await, cluster.replica(&[]).await);
    let form = [("form[name]", "ci"), ("form[workspace]", "default"), ("form[viewer]", "on")];
    let (status, made) = a.app.call("me/tokens/create", &form).await;
    assert_eq!(status, 200, "{made}");
    let (id, token) = (made["row"]["id"].as_str().unwrap(), made["secret"].as_str().unwrap());
    let list = |app: &TestApp| browser().get(format!("{}/v1/agents", app.address)).bearer_auth(token).send();
    assert_eq!(list(&b.app).await.unwrap().status(), 200, "a token made on A works on B");
    let (status, _) = a.app.call("me/tokens/revoke", &[("id", id)]).await;
    assert_eq!(status, 200);
    let revoked = Instant::now();
    within(1, "B refuses the revoked token", async || (list(&b.app).await.unwrap().status() == 401).then_some(()))
        .await;
    assert!(revoked.elapsed() < Duration::from_secs(1));
}
