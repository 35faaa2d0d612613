//! The API key never reaches a log line at info level or above: Switchboard is driven through its
//! pages and server functions, once with a key the upstream accepts and once with one it refuses
//! (which makes every call fail and get logged), while a subscriber records every line. Nor does a
//! share link's token, which its requests carry in their path.

use crate::support;

use std::{
    io::Write,
    sync::{Mutex, OnceLock},
};

use serde_json::json;
use support::{anthropic_app, browser, spawn_engine};

const ACCEPTED: &str = "switchboard-test-LOGGED-KEY-5d0a7";
const REFUSED: &str = "switchboard-test-REFUSED-KEY-81b2c";

/// Everything logged at info level or above by this test binary.
fn logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(|| LogWriter)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this binary");
        Mutex::new(Vec::new())
    })
}

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        logs().lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const PAGES: [&str; 9] =
    ["/", "/agents", "/agents/new", "/environments", "/sessions", "/sessions/new", "/files", "/vaults", "/settings"];

#[tokio::test]
async fn no_log_line_at_info_level_or_above_holds_the_key() {
    logs();
    let engine = spawn_engine(ACCEPTED).await;

    // Accepted: data is created and every page shown.
    let app = anthropic_app(&engine.base_url, ACCEPTED).await;
    let definition = json!({"name": "Logged", "model": "scripted", "system": "{\"turns\": [[{\"text\": \"hi\"}]]}"});
    let (status, agent) = app.call("agents/create", &[("definition", &definition.to_string())]).await;
    assert_eq!(status, 200, "{agent}");
    for page in PAGES.iter().copied().chain([format!("/agents/{}", agent["id"].as_str().unwrap()).as_str()]) {
        let (status, _) = app.get_text(page).await;
        assert_eq!(status, 200, "{page}");
    }
    let (status, _) = app.call("settings/check", &[]).await;
    assert_eq!(status, 200);

    // Refused: every page and function fails upstream, and each failure is logged.
    let refused = anthropic_app(&engine.base_url, REFUSED).await;
    for page in PAGES {
        refused.get_text(page).await;
    }
    let (status, _) = refused.call("agents/create", &[("definition", &definition.to_string())]).await;
    assert_eq!(status, 502);

    let logs = String::from_utf8(logs().lock().unwrap().clone()).unwrap();
    assert!(logs.contains("rejected Switchboard's API key (401)"), "the refusals were logged: {logs}");
    for key in [ACCEPTED, REFUSED] {
        assert!(!logs.contains(key), "a log line holds the key {key}: {logs}");
    }
}

#[tokio::test]
async fn no_log_line_holds_a_share_links_token() {
    logs();
    let engine = spawn_engine(ACCEPTED).await;
    let app = anthropic_app(&engine.base_url, ACCEPTED).await;
    let token = "5eed".repeat(16);
    // Requests no route answers are logged with their path, at error level: a monitor's HEAD, a
    // stray slash.
    let anonymous = browser();
    let head = anonymous.head(format!("{}/api/shares/{token}/stream", app.address)).send().await.unwrap();
    assert_eq!(head.status(), 403);
    let slash = anonymous.get(format!("{}/api/shares/{token}/stream/", app.address)).send().await.unwrap();
    assert_eq!(slash.status(), 403);

    let logs = String::from_utf8(logs().lock().unwrap().clone()).unwrap();
    assert!(logs.contains("no access rule for HEAD /api/shares/{token}/stream"), "the request was logged: {logs}");
    assert!(!logs.contains(&token), "a log line holds the share link's token: {logs}");
}

#[tokio::test]
async fn no_log_line_holds_a_personal_access_token() {
    logs();
    let app = support::spawn_app(&[]).await;
    let form = [("form[name]", "logged"), ("form[workspace]", "default"), ("form[viewer]", "on")];
    let (status, made) = app.call("me/tokens/create", &form).await;
    assert_eq!(status, 200, "{made}");
    let token = made["secret"].as_str().unwrap().to_owned();
    let unknown = format!("sbp_{}", "0badc0de".repeat(6));
    let http = browser();
    for (key, path) in [
        (token.as_str(), "/v1/agents"),
        (token.as_str(), "/v1/agents/agent_nope"),
        (token.as_str(), "/v1/environments/env_1/work/poll"),
        (unknown.as_str(), "/v1/agents"),
    ] {
        http.get(format!("{}{path}", app.address)).bearer_auth(key).send().await.unwrap();
    }
    // Refused for its role, and a write: both audited and logged where they fail.
    http.post(format!("{}/v1/agents", app.address)).bearer_auth(&token).json(&json!({})).send().await.unwrap();
    let (status, _) = app.call("me/tokens/revoke", &[("id", made["row"]["id"].as_str().unwrap())]).await;
    assert_eq!(status, 200);
    http.get(format!("{}/v1/agents", app.address)).bearer_auth(&token).send().await.unwrap();

    let logs = String::from_utf8(logs().lock().unwrap().clone()).unwrap();
    for secret in [&token, &unknown] {
        assert!(!logs.contains(secret.as_str()), "a log line holds a token: {logs}");
    }
    assert!(!logs.contains(&token[4..]), "a log line holds a token's secret part: {logs}");
}
