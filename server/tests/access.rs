//! Who may reach what, login sessions, cross-site requests, headers, throttling and the audit
//! log, over HTTP against a real Switchboard.

use crate::support;

use std::time::Duration;

use reqwest::header::{CONTENT_SECURITY_POLICY, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use serde_json::Value;
use support::{ADMIN_PASSWORD, TempDir, TestApp, browser, spawn_app, start};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Needs {
    Anyone,
    Viewer,
    Operator,
    Approver,
    Admin,
}

/// The designed matrix: what each endpoint needs. Written out here, apart from the server's own
/// table, so that a change to who may do what is a change to this test too. An endpoint missing
/// here fails the test.
fn designed(method: &str, path: &str) -> Option<Needs> {
    use Needs::*;
    let needs = match (method, path) {
        (_, "/healthz") => Anyone,
        // Load balancers call it without credentials (tests/metrics.rs).
        (_, "/readyz") => Anyone,
        // Its token is its credential, checked by the handler; a login is not one (below, and
        // tests/metrics.rs).
        ("GET", "/metrics") => Anyone,
        ("POST", "/auth/login" | "/auth/logout" | "/auth/setup") => Anyone,
        // No login: its signature is its credential (tests/live.rs checks it; a connected
        // workspace's, with its own secret, tests/workspaces.rs).
        ("POST", "/webhooks/anthropic" | "/webhooks/anthropic/{workspace}") => Anyone,
        // Slack's interactivity: signed with a workspace's Slack app's secret (tests/slack.rs).
        ("POST", "/webhooks/slack") => Anyone,
        // A workspace's Slack app: its admins. The link a Slack user is shown: anyone signed in
        // links their own account (tests/slack.rs).
        ("GET", "/api/slack/app") => Admin,
        ("POST", "/api/slack/app/save" | "/api/slack/app/remove" | "/api/slack/people/remove") => Admin,
        ("GET", "/api/slack/link") => Viewer,
        ("POST", "/api/slack/link/confirm") => Viewer,
        (_, "/api/auth/me") => Anyone,
        // Single sign-on: the sign-in page's button, and the flow itself, whose return is checked
        // against the sign-in the browser's own session started (tests/sso.spec.ts).
        ("GET", "/api/auth/sso" | "/auth/oidc/start" | "/auth/oidc/callback") => Anyone,
        // A signed-in person's own password and sign-ins: every role (the person's own only).
        ("POST", "/auth/password" | "/api/me/logins/end" | "/api/me/logins/end_others") => Viewer,
        ("GET", "/api/me/logins") => Viewer,
        // A person's own API tokens (revoking another's is refused by the store: tests/gateway.rs);
        // everyone's, for the admins.
        ("GET", "/api/me/tokens") => Viewer,
        ("POST", "/api/me/tokens/create" | "/api/me/tokens/revoke") => Viewer,
        ("GET", "/api/tokens/all") => Admin,
        // `switchboard login`: the terminal's endpoints take its codes and its token as their
        // credentials; the /device page's, anyone signed in (for their own token; tests/gateway.rs).
        ("POST", "/auth/device/code" | "/auth/device/token" | "/auth/token/revoke") => Anyone,
        ("GET", "/api/device/request") => Viewer,
        ("POST", "/api/device/decide") => Viewer,
        // The navigation's workspace switch, and where the person is: every role (the switch
        // checks the person's roles in the workspace chosen; tests/workspaces.rs).
        ("POST", "/auth/workspace") => Viewer,
        ("GET", "/api/workspaces/here") => Viewer,
        ("GET", "/api/workspaces/list") => Admin,
        (
            "POST",
            "/api/workspaces/connect"
            | "/api/workspaces/disconnect"
            | "/api/workspaces/grant"
            | "/api/workspaces/webhook",
        ) => Admin,
        // A share link's token is its credential; each opens its own session only (tests/shares.rs).
        (
            "GET",
            "/api/shares/open"
            | "/api/shares/first_screen"
            | "/api/shares/{token}/stream"
            | "/api/shares/{token}/threads/{thread_id}/stream",
        ) => Anyone,
        (
            "GET",
            "/api/upstream"
            | "/api/agents/list"
            | "/api/agents/get"
            | "/api/agents/choices"
            | "/api/agents/definition"
            | "/api/agents/diff"
            | "/api/agents/versions"
            | "/api/environments/list"
            | "/api/environments/get"
            | "/api/deployments/list"
            | "/api/deployments/get"
            | "/api/deployments/runs"
            | "/api/deployments/preview_schedule"
            | "/api/deployments/failed_recently"
            | "/api/overview/dashboard"
            | "/api/sessions/first_screen"
            | "/api/sessions/list"
            | "/api/sessions/get"
            | "/api/sessions/choices"
            | "/api/sessions/events"
            | "/api/sessions/decisions"
            | "/api/sessions/threads"
            | "/api/sessions/thread_activity"
            | "/api/files/list"
            | "/api/files/get"
            | "/api/skills/list"
            | "/api/skills/get"
            | "/api/skills/versions"
            | "/api/skills/choices"
            | "/api/models/list"
            | "/api/skills/{id}/versions/{version}/content"
            | "/api/vaults/list"
            | "/api/vaults/get"
            | "/api/memory/list"
            | "/api/memory/get"
            | "/api/memory/tree"
            | "/api/memory/open"
            | "/api/memory/versions"
            | "/api/memory/diff"
            | "/api/audit/list"
            | "/api/audit/export"
            | "/api/inbox/list"
            | "/api/rules/list"
            | "/api/policies/list"
            | "/api/sessions/approvals"
            | "/api/shares/list"
            | "/api/imports/list"
            | "/api/imports/get"
            | "/api/imports/first_screen"
            | "/api/imports/{id}/stream"
            | "/api/inbox/stream"
            | "/api/files/{id}/content"
            | "/api/sessions/{id}/stream"
            | "/api/sessions/{id}/export"
            | "/api/sessions/{id}/threads/{thread_id}/stream"
            | "/api/work/queue"
            | "/api/work/waiting"
            | "/api/work/get",
        ) => Viewer,
        (
            "POST",
            "/api/agents/create"
            | "/api/agents/update"
            | "/api/agents/mcp_tools"
            | "/api/environments/save"
            | "/api/deployments/save"
            | "/api/deployments/run"
            | "/api/deployments/pause"
            | "/api/memory/save"
            | "/api/memory/write"
            | "/api/sessions/create"
            | "/api/sessions/mount"
            | "/api/sessions/budget"
            | "/api/sessions/unmount"
            | "/api/sessions/steer"
            | "/api/sessions/define_outcome"
            | "/api/shares/create"
            | "/api/imports"
            | "/api/imports/delete"
            | "/api/shares/revoke"
            | "/api/files"
            | "/api/skills"
            | "/api/skills/{id}/versions"
            | "/api/work/stop"
            | "/api/work/label",
        ) => Operator,
        (
            "POST",
            "/api/sessions/decide"
            | "/api/sessions/decide_form"
            | "/api/sessions/answer"
            | "/api/rules/create"
            | "/api/rules/revoke"
            | "/api/notify/email/set",
        ) => Approver,
        ("GET", "/api/notify/email") => Approver,
        // Any signed-in person; the link itself must name them.
        ("POST", "/api/notify/link") => Viewer,
        (
            "POST",
            "/api/agents/archive"
            | "/api/deployments/archive"
            | "/api/environments/archive"
            | "/api/environments/delete"
            | "/api/files/delete"
            | "/api/skills/delete"
            | "/api/skills/delete_version"
            | "/api/memory/archive"
            | "/api/memory/delete"
            | "/api/memory/forget"
            | "/api/memory/redact"
            | "/api/sessions/archive"
            | "/api/sessions/delete"
            | "/api/vaults/create"
            | "/api/vaults/archive"
            | "/api/vaults/delete"
            | "/api/vaults/credentials/create"
            | "/api/vaults/credentials/rotate"
            | "/api/vaults/credentials/archive"
            | "/api/vaults/credentials/delete"
            | "/api/users/create"
            | "/api/users/update"
            | "/api/users/password"
            | "/api/settings/check"
            | "/api/notify/channels/create"
            | "/api/notify/channels/delete"
            | "/api/policies/save"
            | "/api/policies/delete"
            | "/api/work/key"
            | "/api/work/keys/revoke",
        ) => Admin,
        ("GET", "/api/work/keys") => Admin,
        ("GET", "/api/users/list" | "/api/settings/webhooks" | "/api/notify/channels") => Admin,
        _ => return None,
    };
    Some(needs)
}

/// Every endpoint the router serves besides pages: the server functions the app registers and
/// the routes `web::routes` collects.
fn endpoints() -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, method)| (method.to_string(), path.to_owned()))
        .collect();
    all.extend(
        server::web::routes::routes().into_iter().map(|route| (route.method.to_string(), route.path.to_owned())),
    );
    all.sort();
    all.dedup();
    all
}

/// Every server function declares who may call it (`#[access(Role)]`), with the method it is
/// served on: without a declaration the server refuses it to everyone.
#[test]
fn every_server_function_declares_its_access() {
    let mut missing = Vec::new();
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        match app::api::access::endpoint(path) {
            Some(endpoint) if endpoint.read == (method == reqwest::Method::GET) => {}
            Some(_) => missing.push(format!("{method} {path}: declared for the other method")),
            None => missing.push(format!("{method} {path}: no #[access(…)]")),
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
    assert_eq!(app::api::access::endpoints().count(), leptos::server_fn::axum::server_fn_paths().count());
}

/// A server function checks its rule itself too: a page's data is loaded while the page renders
/// on the server, where the call does not pass the access layers. Called as a page calls it,
/// with the person's request in context, `users/list` refuses a viewer and lets an admin through.
#[tokio::test]
async fn a_server_function_called_while_a_page_renders_checks_its_rule() {
    use app::{
        auth::{Principal, Role},
        error::ErrorKind,
    };
    use leptos::prelude::{Owner, provide_context};

    async fn list_as(roles: Vec<Role>) -> Result<Vec<app::auth::Account>, app::error::AppError> {
        let owner = Owner::new();
        owner.set();
        let (mut parts, _) = axum::http::Request::new(()).into_parts();
        parts.extensions.insert(Principal {
            user_id: 7,
            username: "vic".into(),
            display_name: "Vic".into(),
            roles,
            must_change_password: false,
            sso: false,
        });
        provide_context(parts);
        app::api::auth::list_accounts().await
    }

    let refused = list_as(vec![Role::Viewer]).await.unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Forbidden, "{refused:?}");
    // The admin passes the check; this bare context has no account store, which is the next
    // thing the function asks for.
    let passed = list_as(vec![Role::Admin]).await.unwrap_err();
    assert!(passed.message.contains("did not provide"), "{passed:?}");
}

#[tokio::test]
async fn every_endpoint_answers_each_role_as_designed_and_refusals_are_audited() {
    let app = spawn_app(&[]).await;
    let people = [
        ("anonymous", browser(), None),
        ("viewer", app.client_as("vic", &["viewer"]).await, Some(vec![Needs::Viewer])),
        ("operator", app.client_as("olga", &["operator"]).await, Some(vec![Needs::Viewer, Needs::Operator])),
        ("approver", app.client_as("april", &["approver"]).await, Some(vec![Needs::Viewer, Needs::Approver])),
        ("admin", app.client.clone(), Some(vec![Needs::Viewer, Needs::Operator, Needs::Approver, Needs::Admin])),
    ];
    let endpoints = endpoints();
    assert!(endpoints.len() > 45, "the router's endpoints were not all found: {endpoints:?}");
    let mut wrong = Vec::new();
    for (method, path) in &endpoints {
        let Some(needs) = designed(method, path) else {
            wrong.push(format!("{method} {path}: no rule in this test's matrix (and maybe none on the server)"));
            continue;
        };
        // The forms of the login pages change who is signed in; they have tests of their own below.
        // A webhook answers 401 to anyone without a signature, signed in or not (tests/live.rs).
        if path.starts_with("/auth/") || path.starts_with("/webhooks/") {
            continue;
        }
        let url = format!(
            "{}{}",
            app.address,
            path.replace("{id}", "nonexistent_1").replace("{thread_id}", "nonexistent_2").replace("{token}", "0f")
        );
        for (who, client, allows) in &people {
            let request = if method == "GET" { client.get(&url) } else { client.post(&url).form(&[("x", "")]) };
            let status = request.send().await.expect("request sent").status().as_u16();
            let expected_refusal = match (needs, allows) {
                (Needs::Anyone, _) => None,
                (_, None) => Some(401),
                (needs, Some(allows)) if allows.contains(&needs) => None,
                _ => Some(403),
            };
            let ok = match expected_refusal {
                Some(refusal) => status == refusal,
                None => status != 401 && status != 403,
            };
            if !ok {
                wrong.push(format!(
                    "{method} {path} as {who}: {status}, expected {expected_refusal:?} (None = allowed)"
                ));
            }
        }
    }
    // Pages: every role reads them, but the admins' own; nobody signed out gets one.
    for (page, needs) in [("/sessions", Needs::Viewer), ("/audit", Needs::Viewer), ("/users", Needs::Admin)] {
        for (who, client, allows) in &people {
            let status = client.get(format!("{}{page}", app.address)).send().await.unwrap().status().as_u16();
            let expected = match allows {
                None => 303,
                Some(allows) if allows.contains(&needs) => 200,
                Some(_) => 403,
            };
            if status != expected {
                wrong.push(format!("GET {page} as {who}: {status}, expected {expected}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // A viewer calling an operator endpoint directly is refused, and the refusal is on record.
    let (status, log) = app.read("audit/list", &[("query[user]", "vic"), ("query[action]", "agents/create")]).await;
    assert_eq!(status, 200, "{log}");
    let entry = &log["entries"][0];
    assert_eq!(
        (entry["who"].as_str(), entry["outcome"].as_str(), entry["status"].as_u64()),
        (Some("vic"), Some("refused"), Some(403)),
        "{log}"
    );
    assert_eq!(entry["roles"], "viewer");
    assert_eq!(entry["from"], "127.0.0.1");
}

/// The login cookie a response sets.
fn login_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("switchboard_login="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

/// A request with only `cookie` (no cookie store): whether it counts as signed in.
async fn signed_in_with(app: &TestApp, cookie: &str) -> bool {
    let response = engine::http_client::client()
        .get(format!("{}/api/upstream", app.address))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    response.status().as_u16() == 200
}

#[tokio::test]
async fn signing_in_changes_the_session_id_and_signing_out_ends_it_on_the_server() {
    let app = spawn_app(&[]).await;
    let client = browser();
    let first = app.try_sign_in(&client, "admin", ADMIN_PASSWORD).await;
    let first = login_cookie(&first).expect("signing in sets the login cookie");
    assert!(signed_in_with(&app, &first).await);
    // Signing in again (as happens after a fixation attempt planted an id) issues a new id, and
    // the old one is worth nothing.
    let second = app.try_sign_in(&client, "admin", ADMIN_PASSWORD).await;
    let second = login_cookie(&second).expect("a new cookie");
    assert_ne!(first, second);
    assert!(!signed_in_with(&app, &first).await, "the id from before signing in no longer works");
    assert!(signed_in_with(&app, &second).await);

    let response = client.post(format!("{}/auth/logout", app.address)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert!(!signed_in_with(&app, &second).await, "a copy of the cookie is worth nothing after signing out");

    // Cookie flags: HttpOnly, SameSite=Lax; Secure only when configured. The device cookie
    // (a browser that signed in: the sign-in throttle) is HttpOnly and SameSite=Strict, and goes
    // to the sign-in form only.
    let set_cookie = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|v| v.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} cookie"))
    };
    let response = app.try_sign_in(&browser(), "admin", ADMIN_PASSWORD).await;
    let set = set_cookie(&response, "switchboard_login");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && !set.contains("Secure"), "{set}");
    let device = set_cookie(&response, "switchboard_device");
    assert!(
        device.contains("HttpOnly") && device.contains("SameSite=Strict") && device.contains("Path=/auth/login"),
        "{device}"
    );
    assert!(!device.contains("Secure"), "{device}");
    let secure = spawn_app(&[("SWITCHBOARD_COOKIE_SECURE", "true")]).await;
    let response = secure.try_sign_in(&browser(), "admin", ADMIN_PASSWORD).await;
    assert!(set_cookie(&response, "switchboard_login").contains("Secure"));
    assert!(set_cookie(&response, "switchboard_device").contains("Secure"));
}

#[tokio::test]
async fn logins_expire_when_idle_and_at_their_absolute_limit() {
    let idle = spawn_app(&[("SWITCHBOARD_SESSION_IDLE_SECS", "1")]).await;
    assert_eq!(idle.read("upstream", &[]).await.0, 200);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let (status, error) = idle.read("upstream", &[]).await;
    assert_eq!(status, 401, "{error}");
    assert!(error["message"].as_str().unwrap().contains("Sign in"), "{error}");

    let absolute = spawn_app(&[("SWITCHBOARD_SESSION_MAX_SECS", "2")]).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(absolute.read("upstream", &[]).await.0);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert_eq!(statuses.first(), Some(&200));
    assert_eq!(statuses.last(), Some(&401), "busy or not, the login ends after 2 s: {statuses:?}");
}

#[tokio::test]
async fn the_longest_logins_and_audit_retention_the_settings_allow_work() {
    use server::settings::{MOST_LOGIN_SECS, MOST_RETENTION_DAYS};
    // The largest values the settings accept (larger ones they refuse: their unit test). The
    // clock arithmetic they feed once panicked: the audit's retention and old logins' pruning
    // run in the housekeeping task, where a panic is silent, so they are called here directly.
    let dir = TempDir::new();
    let pool = server::support::db::open(&dir.0).await.unwrap();
    server::audit::AuditLog::new(pool.clone()).purge(MOST_RETENTION_DAYS as u32).await.unwrap();
    server::access::accounts::Accounts::new(pool).prune_logins(Duration::from_secs(MOST_LOGIN_SECS)).await.unwrap();
    // And a server signed in with them answers.
    let (most_secs, most_days) = (MOST_LOGIN_SECS.to_string(), MOST_RETENTION_DAYS.to_string());
    let app = spawn_app(&[
        ("SWITCHBOARD_SESSION_MAX_SECS", &most_secs),
        ("SWITCHBOARD_SESSION_IDLE_SECS", &most_secs),
        ("SWITCHBOARD_AUDIT_RETENTION_DAYS", &most_days),
    ])
    .await;
    for _ in 0..2 {
        assert_eq!(app.read("upstream", &[]).await.0, 200);
    }
}

#[tokio::test]
async fn an_event_stream_ends_with_signed_out_when_the_login_expires() {
    let app = spawn_app(&[("SWITCHBOARD_SESSION_MAX_SECS", "3")]).await;
    let session = new_session(&app).await;
    // A login made now, so that its three seconds are not spent making the session (on a loaded
    // machine that took longer than a login lived).
    let viewer = app.client_as("vera", &["viewer"]).await;
    let response = viewer.get(format!("{}/api/sessions/{session}/stream", app.address)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body = tokio::time::timeout(Duration::from_secs(10), response.text()).await.expect("the stream ends").unwrap();
    assert!(body.trim_end().ends_with("event: signed_out\ndata: {}"), "{}", &body[body.len().saturating_sub(300)..]);
}

#[tokio::test]
async fn signing_out_elsewhere_ends_an_open_event_stream() {
    let app = spawn_app(&[("SWITCHBOARD_HEARTBEAT_SECS", "0.3")]).await;
    let session = new_session(&app).await;
    let response = app.get(&format!("/api/sessions/{session}/stream")).await;
    assert_eq!(response.status().as_u16(), 200);
    let reading = tokio::spawn(async move { response.text().await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!reading.is_finished(), "the stream stays open while signed in");
    // The same login signs out (another tab of the same browser).
    let out = app.client.post(format!("{}/auth/logout", app.address)).send().await.unwrap();
    assert_eq!(out.status().as_u16(), 303);
    let body = tokio::time::timeout(Duration::from_secs(5), reading).await.expect("the stream ends").unwrap().unwrap();
    assert!(body.trim_end().ends_with("event: signed_out\ndata: {}"));
}

/// A new session of a new scripted agent in a new environment.
async fn new_session(app: &TestApp) -> String {
    let definition =
        serde_json::json!({ "name": "streamed", "model": "scripted", "system": "{\"turns\": [[{\"text\": \"hi\"}]]}" });
    let (status, agent) = app.call("agents/create", &[("definition", &definition.to_string())]).await;
    assert_eq!(status, 200, "{agent}");
    let form = [("id", ""), ("form[name]", "streamed"), ("form[kind]", "cloud"), ("form[networking]", "unrestricted")];
    let (status, environment) = app.call("environments/save", &form).await;
    assert_eq!(status, 200, "{environment}");
    let (agent, environment) = (agent["id"].as_str().unwrap(), environment["row"]["id"].as_str().unwrap());
    let (status, session) =
        app.call("sessions/create", &[("form[agent_id]", agent), ("form[environment_id]", environment)]).await;
    assert_eq!(status, 200, "{session}");
    session["row"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn logins_survive_a_restart_and_disabling_an_account_ends_them() {
    let app = start(TempDir::new().into(), &[], true).await;
    let response = app.try_sign_in(&browser(), "admin", ADMIN_PASSWORD).await;
    let cookie = login_cookie(&response).unwrap();
    app.sign_in(&app.client, "admin", ADMIN_PASSWORD).await;
    let viewer = app.client_as("vera", &["viewer"]).await;
    let dir = app.stop().await;

    let again = start(dir, &[], true).await;
    assert!(signed_in_with(&again, &cookie).await, "the login outlived the restart");
    assert_eq!(again.read_as(&viewer, "upstream", &[]).await.0, 200);

    let admin = browser();
    again.sign_in(&admin, "admin", ADMIN_PASSWORD).await;
    let (_, accounts) = again.read_as(&admin, "users/list", &[]).await;
    let vera = accounts.as_array().unwrap().iter().find(|a| a["username"] == "vera").unwrap()["id"].to_string();
    let response = admin
        .post(format!("{}/api/users/update", again.address))
        .form(&[("id", vera.as_str()), ("roles[viewer]", "true"), ("disabled", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(again.read_as(&viewer, "upstream", &[]).await.0, 401, "a disabled account's open login ends");
    let response = again.try_sign_in(&browser(), "vera", ADMIN_PASSWORD).await;
    assert_eq!(response.headers()[LOCATION].to_str().unwrap().split('&').next(), Some("/login?error=disabled"));

    // The last admin cannot take away their own admin role.
    let me = accounts.as_array().unwrap().iter().find(|a| a["username"] == "admin").unwrap()["id"].to_string();
    let response = admin
        .post(format!("{}/api/users/update", again.address))
        .form(&[("id", me.as_str()), ("roles[viewer]", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert!(response.text().await.unwrap().contains("no enabled admin"));
}

#[tokio::test]
async fn an_anonymous_flood_of_refused_requests_writes_no_audit_entry() {
    // Issue 20: each of these wrote an entry, with the raw path, for anyone who sent it.
    let app = spawn_app(&[("SWITCHBOARD_MAX_BODY_BYTES", "1024")]).await;
    let pool = app.database().await;
    let count = || async { sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit").fetch_one(&pool).await.unwrap() };
    let before = count().await;
    let anonymous = browser();
    let long = "x".repeat(4000);
    let mut statuses = std::collections::BTreeSet::new();
    for n in 0..30 {
        // Unknown paths under /api/, long ones too.
        let unknown = anonymous.post(format!("{}/api/nowhere{n}/{long}", app.address)).form(&[("x", "")]);
        // Cross-site posts to a real endpoint.
        let forged = anonymous
            .post(format!("{}/api/environments/save", app.address))
            .header(ORIGIN, "http://evil.example")
            .form(&[("id", ""), ("form[name]", "forged")]);
        // A body over the limit.
        let big = anonymous.post(format!("{}/api/agents/create", app.address)).body("y".repeat(4096));
        for request in [unknown, forged, big] {
            statuses.insert(request.send().await.unwrap().status().as_u16());
        }
    }
    assert!(statuses.iter().all(|s| *s >= 400), "every one was refused: {statuses:?}");
    assert_eq!(count().await, before, "no entry for any of them ({statuses:?})");
    // A signed-in person's refused call is still on record, with at most 200 bytes of its path.
    let response =
        app.client.post(format!("{}/api/nowhere/{long}", app.address)).form(&[("x", "")]).send().await.unwrap();
    assert!(response.status().as_u16() >= 400);
    assert_eq!(count().await, before + 1);
    let action: String =
        sqlx::query_scalar("SELECT action FROM audit ORDER BY id DESC LIMIT 1").fetch_one(&pool).await.unwrap();
    assert!(action.starts_with("nowhere/xxx") && action.ends_with('…') && action.len() <= 204, "{action}");
}

#[tokio::test]
async fn a_database_error_is_told_in_words_not_in_the_databases() {
    // Issue 20: the audit page showed SQLite's own message (`no such table: audit`).
    let app = spawn_app(&[]).await;
    let pool = app.database().await;
    sqlx::query("ALTER TABLE audit RENAME TO audit_elsewhere").execute(&pool).await.unwrap();
    let (status, error) = app.read("audit/list", &[("query[user]", "")]).await;
    assert_eq!(status, 500, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("The audit log could not be read"), "{error}");
    for leak in ["no such table", "audit_elsewhere", "sqlite", "SQL"] {
        assert!(!message.contains(leak), "{leak} in {error}");
    }
}

#[tokio::test]
async fn an_admins_new_password_for_an_account_is_checked_against_its_own_username() {
    // Issue 20: the reset checked "must not contain the username" against the form's field.
    let app = spawn_app(&[]).await;
    let _ = app.client_as("ada", &["viewer"]).await;
    let (_, accounts) = app.read("users/list", &[]).await;
    let id = accounts.as_array().unwrap().iter().find(|a| a["username"] == "ada").unwrap()["id"].to_string();
    let (status, error) = app
        .call("users/password", &[("id", &id), ("username", "someone"), ("password", "ada lovelace's password")])
        .await;
    assert_eq!(status, 400, "{error}");
    assert!(error["message"].as_str().unwrap().contains("username"), "{error}");
    let (status, error) = app
        .call("users/password", &[("id", &id), ("username", "someone"), ("password", "correct horse battery")])
        .await;
    assert_eq!(status, 200, "{error}");
    let (status, error) = app
        .call("users/password", &[("id", "999999"), ("username", "ada"), ("password", "correct horse battery")])
        .await;
    assert_eq!(status, 404, "{error}");
}

#[tokio::test]
async fn cross_site_posts_are_refused_and_pages_carry_security_headers() {
    let app = spawn_app(&[]).await;
    for (header, value) in [(ORIGIN.as_str(), "http://evil.example"), ("sec-fetch-site", "cross-site")] {
        let response = app
            .client
            .post(format!("{}/api/environments/save", app.address))
            .header(header, value)
            .form(&[
                ("id", ""),
                ("form[name]", "forged"),
                ("form[kind]", "cloud"),
                ("form[networking]", "unrestricted"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403, "{header}: {value}");
        let response = browser()
            .post(format!("{}/auth/login", app.address))
            .header(header, value)
            .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403, "a forged sign-in: {header}: {value}");
    }
    let (_, environments) = app.read("environments/list", &[]).await;
    assert!(!environments.to_string().contains("forged"));

    // Behind a proxy that passes requests on to another host name, the browser's `Origin` is the
    // public address: accepted when it is `SWITCHBOARD_PUBLIC_URL`'s, refused otherwise.
    let proxied = spawn_app(&[("SWITCHBOARD_PUBLIC_URL", "https://Console.Example.com/")]).await;
    for (origin, status) in [("https://console.example.com", 200), ("https://evil.example.com", 403)] {
        let response = proxied
            .client
            .post(format!("{}/api/environments/save", proxied.address))
            .header(ORIGIN, origin)
            .header("sec-fetch-site", "same-origin")
            .form(&[
                ("id", ""),
                ("form[name]", "behind a proxy"),
                ("form[kind]", "cloud"),
                ("form[networking]", "limited"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{origin}");
    }

    let response = app.get("/sessions").await;
    let headers = response.headers().clone();
    let html = response.text().await.unwrap();
    let csp = headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"), "{csp}");
    let nonce =
        csp.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).expect("the page's policy names a nonce");
    let scripts_policy = csp.split(';').find(|d| d.trim().starts_with("script-src")).expect("a script-src");
    assert!(!scripts_policy.contains("unsafe-inline"), "{csp}");
    // Every script element of the page carries the nonce.
    let script_tags: Vec<&str> =
        html.split("<script").skip(1).map(|rest| rest.split('>').next().unwrap_or("")).collect();
    assert!(!script_tags.is_empty());
    for tag in &script_tags {
        assert!(tag.contains(&format!("nonce=\"{nonce}\"")), "a script without the nonce: <script{tag}>");
    }
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    let response = app.get("/api/agents/list").await;
    assert!(response.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().contains("default-src 'self'"));
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413_naming_the_limit() {
    let app = spawn_app(&[("SWITCHBOARD_MAX_BODY_BYTES", "2000")]).await;
    let response = app
        .client
        .post(format!("{}/api/agents/create", app.address))
        .form(&[("definition", "x".repeat(5000))])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let error: Value = response.json().await.unwrap();
    assert!(error["message"].as_str().unwrap().contains("2000 bytes"), "{error}");
}

#[tokio::test]
async fn failed_sign_ins_are_slowed_with_a_clear_message_and_never_keep_the_owner_out() {
    let app = spawn_app(&[]).await;
    for _ in 0..5 {
        let response = app.try_sign_in(&browser(), "admin", "not the password at all").await;
        assert!(response.headers()[LOCATION].to_str().unwrap().starts_with("/login?error=credentials"));
    }
    // A burst of parallel guesses at another account gets no extra tries.
    let burst = futures::future::join_all((0..10).map(|_| {
        let client = browser();
        let url = format!("{}/auth/login", app.address);
        async move {
            client
                .post(url)
                .form(&[("username", "nobody-yet"), ("password", "guess guess guess")])
                .send()
                .await
                .unwrap()
        }
    }))
    .await;
    let checked = burst
        .iter()
        .filter(|r| r.headers()[LOCATION].to_str().unwrap().starts_with("/login?error=credentials"))
        .count();
    assert_eq!(checked, 5, "5 guesses per account are checked, the rest are held back");
    // Past 5, each guess waits twice as long after the last failure: 1 s, then 2 s, then 4 s.
    for gap in [1, 2] {
        tokio::time::sleep(Duration::from_millis(gap * 1000 + 100)).await;
        let response = app.try_sign_in(&browser(), "admin", "not the password at all").await;
        assert!(response.headers()[LOCATION].to_str().unwrap().starts_with("/login?error=credentials"));
    }
    // A new browser waits, even with the right password: seconds, not a lockout.
    let response = app.try_sign_in(&browser(), "admin", ADMIN_PASSWORD).await;
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with("/login?error=throttled"), "{location}");
    let wait: u64 = location.split("&wait_secs=").nth(1).and_then(|w| w.parse().ok()).expect("a wait");
    assert!((1..=4).contains(&wait), "{location}");
    let page = app.get(&location).await.text().await.unwrap();
    let words = if wait == 1 { "a second".to_owned() } else { format!("{wait} seconds") };
    assert!(
        page.contains("Too many failed sign-ins") && page.contains(&format!("Try again in {words}")),
        "the login page says why and for how long"
    );
    // Issue 20: those 5 guesses locked the account for 15 minutes, its owner too. The admin's
    // own browser, which signed in before, is let in at once, however many guesses go on.
    let mut checked = 0;
    for _ in 0..20 {
        let response = app.try_sign_in(&browser(), "admin", "not the password either").await;
        checked += response.headers()[LOCATION].to_str().unwrap().starts_with("/login?error=credentials") as usize;
    }
    assert!(checked <= 2, "guesses are slowed, a second and then two between them: {checked} of 20 checked");
    app.sign_in(&app.client, "admin", ADMIN_PASSWORD).await;
    // The owner's sign-in did not clear the guessers' count: a browser without the cookie waits.
    let response = app.try_sign_in(&browser(), "admin", ADMIN_PASSWORD).await;
    assert!(response.headers()[LOCATION].to_str().unwrap().starts_with("/login?error=throttled"));
    // Another account from the same address is not held up.
    let other = app.client_as("otto", &["viewer"]).await;
    assert_eq!(app.read_as(&other, "upstream", &[]).await.0, 200);
    // Every refusal at admin from this address, checked or held back, is one entry that counts
    // them: 5 + 2 + 1 + 20 + 1 (the sign-ins that worked are entries of their own).
    let entries = support::audit_entries(&app, "auth/login").await;
    let refused: Vec<&Value> = entries.iter().filter(|e| e["who"] == "admin" && e["status"] != 200).collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!((refused[0]["status"].as_u64(), refused[0]["outcome"].as_str()), (Some(401), Some("refused")));
    assert!(refused[0]["error"].as_str().unwrap().ends_with("(29 attempts)"), "{refused:?}");
    assert_eq!(entries.iter().filter(|e| e["who"] == "admin" && e["status"] == 200).count(), 2);
}

#[tokio::test]
async fn the_first_admin_is_created_through_the_one_time_setup_link() {
    let app = start(TempDir::new().into(), &[], false).await;
    let link = app.setup_link.clone().expect("no accounts: a setup link");
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let client = browser();
    // Nothing is reachable before the first admin exists.
    let response = client.get(format!("{}/sessions", app.address)).send().await.unwrap();
    assert_eq!((response.status().as_u16(), response.headers()[LOCATION].to_str().unwrap()), (303, "/setup"));
    assert_eq!(app.read_as(&client, "upstream", &[]).await.0, 401);

    let setup = |token: String, password: &'static str| {
        let client = client.clone();
        let url = format!("{}/auth/setup", app.address);
        async move {
            client
                .post(url)
                .form(&[
                    ("token", token.as_str()),
                    ("username", "root"),
                    ("display_name", "Rae"),
                    ("password", password),
                    ("confirm", password),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let wrong = setup("0".repeat(48), "a long enough password").await;
    assert!(wrong.headers()[LOCATION].to_str().unwrap().contains("error=This%20setup%20link"));
    let short = setup(token.clone(), "short").await;
    assert!(short.headers()[LOCATION].to_str().unwrap().contains("at%20least%2012"));
    let done = setup(token.clone(), "a long enough password").await;
    assert_eq!(done.headers()[LOCATION], "/");
    let (_, me) = app.read_as(&client, "auth/me", &[]).await;
    assert_eq!((me["username"].as_str(), me["roles"].clone()), (Some("root"), serde_json::json!(["admin"])));
    // The link works once.
    let again = setup(token, "another long password").await;
    assert_eq!(again.headers()[LOCATION], "/login?error=set_up");
}

#[tokio::test]
async fn the_audit_log_names_who_did_what_and_exports_it() {
    let app = spawn_app(&[]).await;
    let operator = app.client_as("otis", &["operator"]).await;
    let response = operator
        .post(format!("{}/api/environments/save", app.address))
        .form(&[
            ("id", ""),
            ("form[name]", "audited env"),
            ("form[kind]", "cloud"),
            ("form[networking]", "unrestricted"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let created: Value = response.json().await.unwrap();
    let environment = created["row"]["id"].as_str().unwrap().to_owned();

    let (_, log) = app.read("audit/list", &[("query[target]", &environment)]).await;
    let entry = &log["entries"][0];
    assert_eq!(entry["who"], "otis");
    assert_eq!(entry["action"], "environments/save");
    assert_eq!(entry["outcome"], "ok");
    // An operator sees only their own entries, whatever they ask for.
    let (_, own) = app.read_as(&operator, "audit/list", &[("query[user]", "admin")]).await;
    assert!(own["entries"].as_array().unwrap().iter().all(|e| e["who"] == "otis"), "{own}");
    assert_eq!(own["everyone"], false);

    let csv = app.get(&format!("/api/audit/export?format=csv&target={environment}")).await.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("id,at,username,roles,ip,user_agent,action,targets"));
    assert!(lines.next().unwrap().contains(",otis,operator,127.0.0.1,"), "{csv}");
    let json: Value = app.get("/api/audit/export?format=json&action=environments/").await.json().await.unwrap();
    assert!(json.as_array().unwrap().iter().any(|e| e["action"] == "environments/save" && e["username"] == "otis"));
    let bogus = app.get("/api/audit/export?format=xml").await;
    assert_eq!(bogus.status().as_u16(), 400);

    // The database itself refuses to change an entry.
    let pool = app.database().await;
    let changed = sqlx::query("UPDATE audit SET username = 'somebody else'").execute(&pool).await;
    assert!(changed.unwrap_err().to_string().contains("audit entries cannot be changed"));
}

#[tokio::test]
async fn a_change_whose_audit_entry_cannot_be_written_is_not_made() {
    // Issue 20: the entry was written after the change, and a failure to write it was only logged.
    let app = spawn_app(&[]).await;
    let pool = app.database().await;
    let definition = serde_json::json!({
        "name": "unrecorded", "model": "scripted", "system": "{\"turns\": [[{\"text\": \"hi\"}]]}"
    })
    .to_string();
    sqlx::query("ALTER TABLE audit RENAME TO audit_elsewhere").execute(&pool).await.unwrap();
    let (status, error) = app.call("agents/create", &[("definition", &definition)]).await;
    assert_eq!(status, 500, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("This change was not made") && message.contains("audit log"), "{error}");
    assert!(!message.contains("no such table"), "{error}");
    sqlx::query("ALTER TABLE audit_elsewhere RENAME TO audit").execute(&pool).await.unwrap();
    let (status, agents) = app.read("agents/list", &[("include_archived", "true")]).await;
    assert_eq!(status, 200, "{agents}");
    assert!(!agents.to_string().contains("unrecorded"), "the agent was never created: {agents}");

    // With the log back, the same change is made, and its one entry is complete.
    let (status, agent) = app.call("agents/create", &[("definition", &definition)]).await;
    assert_eq!(status, 200, "{agent}");
    let rows: Vec<(String, String, i64, String)> =
        sqlx::query_as("SELECT action, outcome, status, targets FROM audit WHERE action = 'agents/create'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows, [("agents/create".to_owned(), "ok".to_owned(), 200, agent["id"].as_str().unwrap().to_owned())]);
    // An entry's outcome is filled in once; after that, nothing about it can change.
    let changed =
        sqlx::query("UPDATE audit SET outcome = 'refused' WHERE action = 'agents/create'").execute(&pool).await;
    assert!(changed.is_err(), "a finished entry is not changed");
    let changed =
        sqlx::query("UPDATE audit SET username = 'someone' WHERE action = 'agents/create'").execute(&pool).await;
    assert!(changed.is_err());
}

#[tokio::test]
async fn a_persons_streams_past_the_limit_get_429_and_closing_one_frees_a_slot() {
    // Issue 20: anyone signed in could open any number of streams, each holding a history.
    let app = spawn_app(&[("SWITCHBOARD_HEARTBEAT_SECS", "0.3")]).await;
    let viewer = app.client_as("vic", &["viewer"]).await;
    let session = new_session(&app).await;
    let url = format!("{}/api/sessions/{session}/stream", app.address);
    let mut open = Vec::new();
    for n in 0..40 {
        let response = viewer.get(&url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "stream {}", n + 1);
        open.push(response);
    }
    let refused = viewer.get(format!("{}/api/inbox/stream", app.address)).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 429, "the 41st stream, of any kind");
    assert_eq!(refused.headers()["retry-after"], "10");
    let error: Value = refused.json().await.unwrap();
    assert!(error["message"].as_str().unwrap().contains("40 live views open"), "{error}");
    // Another person is not held up, nor the same person's other requests.
    assert_eq!(app.get(&format!("/api/sessions/{session}/stream")).await.status().as_u16(), 200);
    assert_eq!(app.read_as(&viewer, "upstream", &[]).await.0, 200);
    // A closed stream gives its slot back.
    drop(open.pop());
    let mut again = None;
    for _ in 0..50 {
        let response = viewer.get(&url).send().await.unwrap();
        if response.status().as_u16() == 200 {
            again = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "a slot came back when a stream closed");
}

#[tokio::test]
async fn a_person_sending_too_fast_gets_429_with_retry_after_in_words() {
    let app = spawn_app(&[("SWITCHBOARD_REQUESTS_PER_MINUTE", "30")]).await;
    let viewer = app.client_as("vic", &["viewer"]).await;
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(app.read_as(&viewer, "upstream", &[]).await.0);
    }
    // A burst of 30 (a little more if the machine is slow: the bucket refills as they go).
    let first_refused = statuses.iter().position(|s| *s == 429).expect("refused past the limit");
    assert!(first_refused >= 30 && statuses[..first_refused].iter().all(|s| *s == 200), "{statuses:?}");
    let response = viewer.get(format!("{}/api/upstream", app.address)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let wait: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "one request every 2 s: {wait}");
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["kind"], "rate_limited");
    assert!(error["message"].as_str().unwrap().contains("more than 30 requests in a minute"), "{error}");
    // A page says it in words too.
    let page = viewer.get(format!("{}/sessions", app.address)).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 429);
    assert!(page.text().await.unwrap().contains("Too many requests"));
    // Others are not held up; and after the wait, the person goes on.
    assert_eq!(app.read("upstream", &[]).await.0, 200);
    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(app.read_as(&viewer, "upstream", &[]).await.0, 200);
}

/// A sign-in through a proxy that says it forwards `client`.
async fn sign_in_forwarded(app: &TestApp, client: &str, username: &str, password: &str) -> String {
    let response = browser()
        .post(format!("{}/auth/login", app.address))
        .header("x-forwarded-for", client)
        .form(&[("username", username), ("password", password), ("next", "/")])
        .send()
        .await
        .unwrap();
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_throttled_and_audited() {
    // Issue 20: behind a proxy every person had the proxy's address, and its 20 failures.
    let app = spawn_app(&[("SWITCHBOARD_TRUSTED_PROXIES", "127.0.0.0/8")]).await;
    for n in 0..20 {
        let location = sign_in_forwarded(&app, "203.0.113.7", &format!("user{n}"), "guess guess guess").await;
        assert!(location.starts_with("/login?error=credentials"), "{location}");
    }
    let location = sign_in_forwarded(&app, "198.51.100.1, 203.0.113.7", "someone", "guess guess guess").await;
    assert!(
        location.starts_with("/login?error=throttled"),
        "that address is held back, whatever it claims before: {location}"
    );
    let location = sign_in_forwarded(&app, "198.51.100.2", "someone", "guess guess guess").await;
    assert!(
        location.starts_with("/login?error=credentials"),
        "another client behind the same proxy is not: {location}"
    );
    let entries = support::audit_entries(&app, "auth/login").await;
    let from: std::collections::BTreeSet<&str> = entries.iter().filter_map(|e| e["from"].as_str()).collect();
    assert!(from.contains("203.0.113.7") && from.contains("198.51.100.2"), "{from:?}");

    // Without the setting, the header is anyone's to write and is not read.
    let plain = spawn_app(&[]).await;
    sign_in_forwarded(&plain, "203.0.113.9", "someone", "guess guess guess").await;
    let entries = support::audit_entries(&plain, "auth/login").await;
    assert!(entries.iter().all(|e| e["from"] != "203.0.113.9"), "{entries:?}");
    assert!(entries.iter().any(|e| e["from"] == "127.0.0.1"), "{entries:?}");
}

/// A failed sign-in as `username` from `client` (through the trusted proxy on loopback); answers
/// where the login page sends the browser.
async fn fail_sign_in(app: &TestApp, browser: &reqwest::Client, client: &str, username: &str) -> String {
    let response = browser
        .post(format!("{}/auth/login", app.address))
        .header("x-forwarded-for", client)
        .form(&[("username", username), ("password", "guess guess guess"), ("next", "/")])
        .send()
        .await
        .unwrap();
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// The refused sign-ins on record: (address, username, status, attempts), oldest first.
async fn refused_sign_ins(app: &TestApp) -> Vec<(String, Option<String>, i64, i64)> {
    sqlx::query_as(
        "SELECT ip, username, status, attempts FROM audit WHERE action = 'auth/login' AND status <> 200 ORDER BY id",
    )
    .fetch_all(&app.database().await)
    .await
    .unwrap()
}

#[tokio::test]
async fn ten_thousand_failed_sign_ins_from_one_address_are_one_entry_that_counts_them() {
    // Every failed or throttled sign-in was an entry of its own: anyone, without an account,
    // could grow the database without bound.
    let app = spawn_app(&[
        ("SWITCHBOARD_TRUSTED_PROXIES", "127.0.0.0/8"),
        ("SWITCHBOARD_SIGNED_OUT_REQUESTS_PER_MINUTE", "1000000"),
    ])
    .await;
    let pool = app.database().await;
    let rows = || async { sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit").fetch_one(&pool).await.unwrap() };
    let before = rows().await;
    // Four at a time, 2,500 each: the first few are checked (401), the rest held back (429).
    let guessers = futures::future::join_all((0..4).map(|_| {
        let (app, guesser) = (&app, browser());
        async move {
            let mut checked = 0;
            for _ in 0..2_500 {
                let location = fail_sign_in(app, &guesser, "203.0.113.7", "admin").await;
                checked += location.starts_with("/login?error=credentials") as usize;
                assert!(location.starts_with("/login?error="), "{location}");
            }
            checked
        }
    }))
    .await;
    assert!(guessers.iter().sum::<usize>() <= 20, "the throttle held most back: {guessers:?}");
    assert_eq!(rows().await, before + 1, "10,000 refusals, one entry");
    assert_eq!(refused_sign_ins(&app).await, [("203.0.113.7".to_owned(), Some("admin".to_owned()), 401, 10_000)]);

    // The Audit page and both exports show it with its count.
    let entries = support::audit_entries(&app, "auth/login").await;
    let entry = entries.iter().find(|e| e["from"] == "203.0.113.7").expect("the entry is listed");
    assert_eq!(entry["error"], "wrong username or password (10000 attempts)", "{entry}");
    let json: Value = app.get("/api/audit/export?format=json&action=auth/login").await.json().await.unwrap();
    let exported = json.as_array().unwrap().iter().find(|e| e["ip"] == "203.0.113.7").expect("exported");
    assert_eq!(exported["attempts"], 10_000, "{exported}");
    let csv = app.get("/api/audit/export?format=csv&action=auth/login").await.text().await.unwrap();
    // The credential (a personal access token's name, for an API call) is the last column.
    assert!(csv.lines().next().unwrap().ends_with(",error,attempts,credential"), "{csv}");
    assert!(csv.lines().any(|l| l.contains(",203.0.113.7,") && l.ends_with(",10000,")), "{csv}");

    // Refusals at the same moment do not start two entries.
    futures::future::join_all((0..30).map(|_| async { fail_sign_in(&app, &browser(), "198.51.100.9", "grace").await }))
        .await;
    // An address trying name after name: an entry for each of its first 20, one for the rest.
    let guesser = browser();
    for n in 0..30 {
        fail_sign_in(&app, &guesser, "192.0.2.44", &format!("user{n}")).await;
    }
    let all = refused_sign_ins(&app).await;
    assert_eq!(rows().await, before + 1 + 1 + 21, "{all:?}");
    assert_eq!((all[1].0.as_str(), all[1].1.as_deref(), all[1].3), ("198.51.100.9", Some("grace"), 30), "{all:?}");
    assert!(all[2..22].iter().all(|(_, name, _, attempts)| name.is_some() && *attempts == 1), "{all:?}");
    assert_eq!((all[22].1.as_deref(), all[22].2, all[22].3), (None, 429, 10), "{all:?}");
    // The entries cannot be changed otherwise: only a refused sign-in's count grows.
    let changed = sqlx::query("UPDATE audit SET attempts = 1 WHERE action = 'auth/login'").execute(&pool).await;
    assert!(changed.unwrap_err().to_string().contains("audit entries cannot be changed"));
    let changed = sqlx::query("UPDATE audit SET attempts = attempts + 1 WHERE status = 200").execute(&pool).await;
    assert!(changed.unwrap_err().to_string().contains("audit entries cannot be changed"), "a sign-in that worked");
}

#[tokio::test]
async fn signed_out_requests_past_the_limit_get_429_but_signed_webhooks_do_not() {
    let app = spawn_app(&[
        ("SWITCHBOARD_SIGNED_OUT_REQUESTS_PER_MINUTE", "20"),
        ("SWITCHBOARD_TRUSTED_PROXIES", "127.0.0.0/8"),
    ])
    .await;
    let visitor = browser();
    let from = |client: &str, path: &str| {
        visitor.get(format!("{}{path}", app.address)).header("x-forwarded-for", client.to_owned())
    };
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(from("203.0.113.5", "/login").send().await.unwrap().status().as_u16());
    }
    // A burst of 20 (a little more if the machine is slow: the bucket refills as they go).
    let first_refused = statuses.iter().position(|s| *s == 429).expect("refused past the limit");
    assert!(first_refused >= 20 && statuses[..first_refused].iter().all(|s| *s == 200), "{statuses:?}");
    let page = from("203.0.113.5", "/login").send().await.unwrap();
    assert_eq!(page.status(), 429);
    let wait: u64 = page.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3).contains(&wait), "one request every 3 s: {wait}");
    assert!(page.text().await.unwrap().contains("More than 20 requests a minute came from your network"));
    // The API answers in JSON; the sign-in form is held back too, with a way back to it.
    let api = from("203.0.113.5", "/api/shares/open?token=00").send().await.unwrap();
    assert_eq!(api.status(), 429);
    assert!(api.headers().contains_key("retry-after"));
    assert_eq!(api.json::<Value>().await.unwrap()["kind"], "rate_limited");
    let form = visitor
        .post(format!("{}/auth/login", app.address))
        .header("x-forwarded-for", "203.0.113.5")
        .form(&[("username", "admin"), ("password", "guess guess guess"), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 429, "the form never ran");
    assert!(form.text().await.unwrap().contains("<a href=\"/login\">Back to signing in</a>"));
    // Not counted: Anthropic's webhooks (checked for their signature), built assets, the health check.
    for _ in 0..30 {
        let webhook = visitor
            .post(format!("{}/webhooks/anthropic", app.address))
            .header("x-forwarded-for", "203.0.113.5")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(webhook.status(), 401, "refused for its missing signature, not for its address");
        assert_eq!(from("203.0.113.5", "/healthz").send().await.unwrap().status(), 200);
        assert_eq!(from("203.0.113.5", "/pkg/switchboard.js").send().await.unwrap().status(), 404);
    }
    // Another client behind the same proxy is not held back, nor anyone signed in at that address.
    assert_eq!(from("203.0.113.6", "/login").send().await.unwrap().status(), 200);
    let signed_in = app.client.get(format!("{}/api/upstream", app.address)).header("x-forwarded-for", "203.0.113.5");
    assert_eq!(signed_in.send().await.unwrap().status(), 200);
    // Held back requests are not on the audit log; after the wait, the address goes on.
    assert!(refused_sign_ins(&app).await.is_empty());
    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(from("203.0.113.5", "/login").send().await.unwrap().status(), 200);
}

/// Which signed-out requests no address's limit counts, beside the access table: Anthropic's
/// signed webhooks, Slack's signed presses (all from Slack's few addresses) and the health and readiness checks, of the endpoints (and built assets, which
/// are not endpoints). Everything else anyone can reach signed out is counted, `/metrics` too.
#[test]
fn only_signed_webhooks_and_the_health_checks_escape_the_signed_out_limit() {
    let designed = |path: &str| {
        matches!(
            path,
            "/webhooks/anthropic" | "/webhooks/anthropic/{workspace}" | "/webhooks/slack" | "/healthz" | "/readyz"
        )
    };
    let wrong: Vec<String> = endpoints()
        .into_iter()
        .filter(|(_, path)| server::access::limits::unlimited_signed_out(path) != designed(path))
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    assert!(wrong.is_empty(), "{wrong:?}");
    for page in ["/login", "/setup", "/share/0f", "/auth/oidc/start", "/auth/oidc/callback"] {
        assert!(!server::access::limits::unlimited_signed_out(page), "{page} is counted");
    }
    assert!(server::access::limits::unlimited_signed_out("/pkg/switchboard.wasm"));
    assert!(server::access::limits::unlimited_signed_out("/webhooks/anthropic/staging"));
}

/// `/metrics` behind `SWITCHBOARD_METRICS_TOKEN` is public in the table: the token is its
/// credential. A login does not open it, guesses at the token are counted by the signed-out
/// limit, and `/readyz` answers a load balancer however many requests its address sent.
#[tokio::test]
async fn a_login_never_opens_metrics_token_guesses_are_limited_and_readiness_never_is() {
    let token = "a-metrics-token-of-forty-characters-0000";
    let app = spawn_app(&[
        ("SWITCHBOARD_METRICS_TOKEN", token),
        ("SWITCHBOARD_SIGNED_OUT_REQUESTS_PER_MINUTE", "10"),
        ("SWITCHBOARD_TRUSTED_PROXIES", "127.0.0.0/8"),
    ])
    .await;
    let metrics = format!("{}/metrics", app.address);
    let admin = app.client.get(&metrics).send().await.unwrap();
    assert_eq!(admin.status(), 401, "the admin's login is not the metrics token");
    let visitor = browser();
    let guess = |client: &str, n: usize| {
        visitor.get(&metrics).header("x-forwarded-for", client.to_owned()).bearer_auth(format!("guess-{n:035}"))
    };
    let mut statuses = Vec::new();
    for n in 0..20 {
        statuses.push(guess("203.0.113.7", n).send().await.unwrap().status().as_u16());
    }
    let first_refused = statuses.iter().position(|s| *s == 429).expect("guesses are refused past the limit");
    assert!(first_refused >= 10 && statuses[..first_refused].iter().all(|s| *s == 401), "{statuses:?}");
    // Held back, even the right token waits with the guesser's address; another address goes on.
    let right = |client: &str| visitor.get(&metrics).header("x-forwarded-for", client.to_owned()).bearer_auth(token);
    assert_eq!(right("203.0.113.7").send().await.unwrap().status(), 429);
    assert_eq!(right("203.0.113.8").send().await.unwrap().status(), 200);
    // The readiness check is never held back by the limit.
    for _ in 0..30 {
        let ready = visitor.get(format!("{}/readyz", app.address)).header("x-forwarded-for", "203.0.113.7");
        assert_eq!(ready.send().await.unwrap().status(), 200);
    }
}

#[tokio::test]
async fn only_admins_see_where_the_server_keeps_its_data_and_its_upstream() {
    // Issue 20: every viewer saw the data directory and the upstream's base URL.
    let app = spawn_app(&[]).await;
    let (_, admin) = app.read("upstream", &[]).await;
    let data_dir = app.data_dir.0.display().to_string();
    assert_eq!(admin["data_dir"], data_dir.as_str(), "{admin}");
    assert!(admin["base_url"].as_str().unwrap().starts_with("http://127.0.0.1:"), "{admin}");
    let viewer = app.client_as("vic", &["viewer"]).await;
    let (status, seen) = app.read_as(&viewer, "upstream", &[]).await;
    assert_eq!(status, 200);
    assert_eq!((seen["data_dir"].as_str(), seen["base_url"].as_str()), (Some(""), Some("")), "{seen}");
    assert_eq!(seen["mode"], if support::on_postgres() { "anthropic" } else { "embedded" });
    for page in ["/", "/settings"] {
        let html = viewer.get(format!("{}{page}", app.address)).send().await.unwrap().text().await.unwrap();
        assert!(!html.contains(&data_dir), "{page} shows the data directory to a viewer");
        assert!(!html.contains(admin["base_url"].as_str().unwrap()), "{page} shows the base URL to a viewer");
    }
}

#[tokio::test]
async fn a_body_from_nobody_signed_in_is_refused_unread() {
    // Issue 20: an anonymous mutation's body was read up to the limit (4 MiB) before the role
    // check refused it. Here the body never ends: the answer must come without it.
    use futures::StreamExt as _;
    let app = spawn_app(&[]).await;
    let endless =
        futures::stream::once(async { Ok::<_, std::io::Error>(vec![b'x'; 1024]) }).chain(futures::stream::pending());
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        browser()
            .post(format!("{}/api/agents/create", app.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(reqwest::Body::wrap_stream(endless))
            .send(),
    )
    .await
    .expect("answered without waiting for the body")
    .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}

/// Changes the password of `client`'s account through the Account page's form; answers where it
/// led.
async fn change_own_password(app: &TestApp, client: &reqwest::Client, current: &str, new: &str) -> String {
    let response = client
        .post(format!("{}/auth/password", app.address))
        .form(&[("current", current), ("password", new), ("confirm", new)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn people_change_their_own_password_with_the_current_one_and_stay_signed_in() {
    // Issue 20: only an admin could set a password, so an admin knew every one.
    let app = spawn_app(&[]).await;
    let vic = app.client_as("vic", &["viewer"]).await;
    let elsewhere = browser();
    app.sign_in(&elsewhere, "vic", ADMIN_PASSWORD).await;
    const NEW: &str = "a password only its owner knows";
    assert_eq!(change_own_password(&app, &vic, "not the current one", NEW).await, "/account?error=current");
    assert_eq!(change_own_password(&app, &vic, ADMIN_PASSWORD, "short").await, "/account?error=rules");
    assert_eq!(change_own_password(&app, &vic, ADMIN_PASSWORD, "vic's own password").await, "/account?error=rules");
    assert_eq!(app.read_as(&vic, "upstream", &[]).await.0, 200, "a refused change changes nothing");
    assert_eq!(change_own_password(&app, &vic, ADMIN_PASSWORD, NEW).await, "/account?done=password");
    // This browser stays signed in; the other sign-in ended with the old password.
    assert_eq!(app.read_as(&vic, "upstream", &[]).await.0, 200);
    assert_eq!(app.read_as(&elsewhere, "upstream", &[]).await.0, 401);
    let old = app.try_sign_in(&browser(), "vic", ADMIN_PASSWORD).await;
    assert!(old.headers()[LOCATION].to_str().unwrap().starts_with("/login?error=credentials"));
    app.sign_in(&browser(), "vic", NEW).await;
    // On record, as vic's own change, with the wrong guess too.
    let entries = support::audit_entries(&app, "auth/password").await;
    let outcomes: Vec<(&str, u64)> =
        entries.iter().map(|e| (e["who"].as_str().unwrap(), e["status"].as_u64().unwrap())).collect();
    assert_eq!(outcomes, [("vic", 200), ("vic", 401)], "newest first: {entries:?}");
    // Nobody signed in cannot use the form.
    let response = browser()
        .post(format!("{}/auth/password", app.address))
        .form(&[("current", NEW), ("password", "another long password"), ("confirm", "another long password")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test]
async fn people_see_and_end_their_own_sign_ins_and_nobody_elses() {
    let app = spawn_app(&[]).await;
    let vic = app.client_as("vic", &["viewer"]).await;
    let phone = browser();
    app.sign_in(&phone, "vic", ADMIN_PASSWORD).await;
    let (status, logins) = app.read_as(&vic, "me/logins", &[]).await;
    assert_eq!(status, 200, "{logins}");
    let logins = logins.as_array().unwrap().clone();
    assert_eq!(logins.len(), 2, "{logins:?}");
    assert_eq!(logins.iter().filter(|l| l["current"] == true).count(), 1);
    assert!(logins.iter().all(|l| l["ip"] == "127.0.0.1"), "{logins:?}");
    let other = logins.iter().find(|l| l["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();
    let own = logins.iter().find(|l| l["current"] == true).unwrap()["id"].as_str().unwrap().to_owned();
    // The admin's list holds only the admin's; the admin cannot end vic's through it.
    let (_, admins) = app.read("me/logins", &[]).await;
    assert!(admins.as_array().unwrap().iter().all(|l| l["id"] != other.as_str()), "{admins}");
    let (status, _) = app.call("me/logins/end", &[("id", &other)]).await;
    assert_eq!(status, 404);
    assert_eq!(app.read_as(&phone, "upstream", &[]).await.0, 200, "still signed in");
    // Vic cannot end the sign-in in use here (Sign out does that), but can end the phone's.
    let end = |id: &str| vic.post(format!("{}/api/me/logins/end", app.address)).form(&[("id", id.to_owned())]).send();
    assert_eq!(end(&own).await.unwrap().status().as_u16(), 400);
    assert_eq!(end(&other).await.unwrap().status().as_u16(), 200);
    assert_eq!(app.read_as(&phone, "upstream", &[]).await.0, 401, "the phone is signed out");
    assert_eq!(app.read_as(&vic, "upstream", &[]).await.0, 200);
    // Every other at once.
    let (a, b) = (browser(), browser());
    app.sign_in(&a, "vic", ADMIN_PASSWORD).await;
    app.sign_in(&b, "vic", ADMIN_PASSWORD).await;
    let ended = vic.post(format!("{}/api/me/logins/end_others", app.address)).send().await.unwrap();
    assert_eq!(ended.text().await.unwrap(), "2");
    assert_eq!((app.read_as(&a, "upstream", &[]).await.0, app.read_as(&b, "upstream", &[]).await.0), (401, 401));
    assert_eq!(app.read_as(&vic, "upstream", &[]).await.0, 200);
}

#[tokio::test]
async fn an_admin_can_require_a_new_password_and_until_then_only_the_account_page_opens() {
    let app = spawn_app(&[]).await;
    let (status, account) = app
        .call(
            "users/create",
            &[
                ("username", "nina"),
                ("display_name", ""),
                ("password", ADMIN_PASSWORD),
                ("roles[operator]", "true"),
                ("require_change", "true"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{account}");
    assert_eq!(account["must_change_password"], true);
    let nina = browser();
    let response = app.try_sign_in(&nina, "nina", ADMIN_PASSWORD).await;
    assert_eq!(response.headers()[LOCATION], "/account?required=1", "sent to choose a password first");
    // Until then: pages lead to the Account page, the API refuses in words.
    let page = nina.get(format!("{}/sessions", app.address)).send().await.unwrap();
    assert_eq!((page.status().as_u16(), page.headers()[LOCATION].to_str().unwrap()), (303, "/account?required=1"));
    let (status, error) = app.read_as(&nina, "agents/list", &[("include_archived", "false")]).await;
    assert_eq!(status, 403, "{error}");
    assert!(error["message"].as_str().unwrap().contains("choose your own password"), "{error}");
    let account_page = nina.get(format!("{}/account?required=1", app.address)).send().await.unwrap();
    assert_eq!(account_page.status().as_u16(), 200);
    assert!(account_page.text().await.unwrap().contains("asked you to choose your own"));
    assert_eq!(
        change_own_password(&app, &nina, ADMIN_PASSWORD, "chosen by her alone, long").await,
        "/account?done=password"
    );
    assert_eq!(
        app.read_as(&nina, "agents/list", &[("include_archived", "false")]).await.0,
        200,
        "everything her roles allow opens again"
    );

    // An admin's new password can ask for it again; her sign-ins end.
    let id = account["id"].as_i64().unwrap().to_string();
    let (status, _) = app
        .call(
            "users/password",
            &[("id", &id), ("username", "nina"), ("password", ADMIN_PASSWORD), ("require_change", "true")],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.read_as(&nina, "agents/list", &[("include_archived", "false")]).await.0, 401);
    let response = app.try_sign_in(&nina, "nina", ADMIN_PASSWORD).await;
    assert_eq!(response.headers()[LOCATION], "/account?required=1");
    // Without asking, the person goes straight on.
    let (status, _) =
        app.call("users/password", &[("id", &id), ("username", "nina"), ("password", ADMIN_PASSWORD)]).await;
    assert_eq!(status, 200);
    let response = app.try_sign_in(&browser(), "nina", ADMIN_PASSWORD).await;
    assert_eq!(response.headers()[LOCATION], "/");
}
