//! Workspaces: several upstreams in one Switchboard, each with its own people and records, over
//! HTTP against a real Switchboard whose second workspace is a standalone engine.

use crate::support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{ADMIN_PASSWORD, TestApp, asking_session, audit_entries_as, spawn_app, spawn_engine, start};

const SECRET_KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
const STAGING_KEY: &str = "sk-staging-0123456789abcdef";

/// Connects the engine at `base_url` as workspace `staging`.
async fn connect_staging(app: &TestApp, base_url: &str) -> (u16, Value) {
    app.call(
        "workspaces/connect",
        &[("form[id]", "staging"), ("form[name]", "Staging"), ("form[base_url]", base_url), ("form[key]", STAGING_KEY)],
    )
    .await
}

/// Chooses workspace `id` for `client`, as the navigation's switch does; answers the status.
async fn switch(app: &TestApp, client: &reqwest::Client, id: &str) -> u16 {
    let response = client
        .post(format!("{}/auth/workspace", app.address))
        .form(&[("workspace", id)])
        .send()
        .await
        .expect("request sent");
    response.status().as_u16()
}

/// The ids of the sessions `client` sees in the list.
async fn session_ids(app: &TestApp, client: &reqwest::Client) -> Vec<String> {
    let (status, page) = app.read_as(client, "sessions/list", &[]).await;
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
}

/// The sessions whose calls the inbox shows `client`, once it shows `session`'s.
async fn inbox_sessions_once(app: &TestApp, client: &reqwest::Client, session: &str) -> Vec<String> {
    for _ in 0..300 {
        let (status, inbox) = app.read_as(client, "inbox/list", &[]).await;
        assert_eq!(status, 200, "{inbox}");
        let sessions: Vec<String> =
            inbox["calls"].as_array().unwrap().iter().map(|c| c["session_id"].as_str().unwrap().to_owned()).collect();
        if sessions.iter().any(|s| s == session) {
            return sessions;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the inbox never showed {session}'s call");
}

async fn stream_status(app: &TestApp, client: &reqwest::Client, session: &str) -> u16 {
    client
        .get(format!("{}/api/sessions/{session}/stream", app.address))
        .send()
        .await
        .expect("request sent")
        .status()
        .as_u16()
}

async fn decide(app: &TestApp, client: &reqwest::Client, session: &str, call: &str) -> (u16, Value) {
    let body =
        json!({ "session_id": session, "verdicts": [{ "event_id": call, "allow": true, "deny_message": null }] });
    let response = client.post(format!("{}/api/sessions/decide", app.address)).json(&body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// The waiting call of `session`, as `client`'s inbox lists it.
async fn waiting_call(app: &TestApp, client: &reqwest::Client, session: &str) -> String {
    inbox_sessions_once(app, client, session).await;
    let (_, inbox) = app.read_as(client, "inbox/list", &[]).await;
    inbox["calls"].as_array().unwrap().iter().find(|c| c["session_id"] == session).unwrap()["event"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The decisions in the audit log `client` reads: (who, the session).
async fn audited_decisions(app: &TestApp, client: &reqwest::Client) -> Vec<(String, String)> {
    let entries = audit_entries_as(app, client, "sessions/decide").await;
    entries.iter().map(|e| (e["who"].as_str().unwrap().to_owned(), e["targets"].as_str().unwrap().to_owned())).collect()
}

#[tokio::test]
async fn an_approver_of_one_workspace_cannot_see_another_workspaces_sessions_streams_inbox_or_audit() {
    let engine = spawn_engine(STAGING_KEY).await;
    let app = spawn_app(&[("SWITCHBOARD_SECRET_KEY", SECRET_KEY)]).await;
    let (status, row) = connect_staging(&app, &engine.base_url).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!((row["id"].as_str(), row["name"].as_str()), (Some("staging"), Some("Staging")));

    // One waiting session in each workspace, started by the admin (admins open every workspace).
    let turns = json!([[{ "tool": "bash", "input": { "command": "echo here" } }]]);
    let home = asking_session(&app, "Default agent", turns.clone()).await;
    assert_eq!(switch(&app, &app.client, "staging").await, 303);
    let staging = asking_session(&app, "Staging agent", turns).await;

    // Ana approves in the default workspace; Bob only views there, and approves in staging.
    let ana = app.client_as("ana", &["approver"]).await;
    let bob = app.client_as("bob", &["viewer"]).await;
    let (status, granted) = app
        .call(
            "workspaces/grant",
            &[("form[workspace_id]", "staging"), ("form[username]", "bob"), ("form[roles]", "approver")],
        )
        .await;
    assert_eq!(status, 200, "{granted}");
    assert_eq!(switch(&app, &bob, "staging").await, 303);

    // Sessions: each sees their workspace's only, and the other's are not found.
    assert_eq!(session_ids(&app, &ana).await, vec![home.clone()]);
    assert_eq!(session_ids(&app, &bob).await, vec![staging.clone()]);
    assert_eq!(app.read_as(&ana, "sessions/get", &[("id", &staging)]).await.0, 404);
    assert_eq!(app.read_as(&bob, "sessions/get", &[("id", &home)]).await.0, 404);

    // Streams: the same.
    assert_eq!(stream_status(&app, &ana, &home).await, 200);
    assert_eq!(stream_status(&app, &ana, &staging).await, 404);
    assert_eq!(stream_status(&app, &bob, &staging).await, 200);
    assert_eq!(stream_status(&app, &bob, &home).await, 404);

    // The inbox: each sees their workspace's call only.
    assert_eq!(inbox_sessions_once(&app, &ana, &home).await, vec![home.clone()]);
    assert_eq!(inbox_sessions_once(&app, &bob, &staging).await, vec![staging.clone()]);

    // Ana cannot choose staging, nor reach it with a cookie she wrote herself: her requests stay
    // in the default workspace.
    assert_eq!(switch(&app, &ana, "staging").await, 403);
    let forged = engine::http_client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = forged
        .post(format!("{}/auth/login", app.address))
        .form(&[("username", "ana"), ("password", ADMIN_PASSWORD), ("next", "/")])
        .send()
        .await
        .unwrap();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("switchboard_login="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .expect("a login cookie");
    let with_forged_cookie = forged
        .get(format!("{}/api/sessions/list", app.address))
        .header("cookie", format!("{cookie}; switchboard_workspace=staging"))
        .send()
        .await
        .unwrap();
    assert_eq!(with_forged_cookie.status(), 200);
    let listed: Value = with_forged_cookie.json().await.unwrap();
    let ids: Vec<&str> = listed["data"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![home.as_str()], "a cookie naming a workspace she has no roles in opens the default");

    // A share link opens its own workspace's session, whoever follows it.
    let (status, made) = app
        .call("shares/create", &[("form[session_id]", &staging), ("form[hours]", "1"), ("form[mode]", "live")])
        .await;
    assert_eq!(status, 200, "{made}");
    let token = made["path"].as_str().unwrap().trim_start_matches("/share/").to_owned();
    for client in [&ana, &forged] {
        let (status, opened) = app.read_as(client, "shares/open", &[("token", &token)]).await;
        assert_eq!(status, 200, "{opened}");
        assert_eq!(opened["agent"], "Staging agent", "{opened}");
    }
    let page_of = |path: String| {
        let ana = ana.clone();
        async move {
            let response = ana.get(path).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, overview) = page_of(format!("{}/", app.address)).await;
    assert_eq!(status, 200);
    assert!(overview.contains("data-testid=\"signed-in\""), "the navigation names whoever is signed in");
    let (status, link_page) = page_of(format!("{}/share/{token}", app.address)).await;
    assert_eq!(status, 200);
    assert!(link_page.contains("Staging agent"), "the link's page shows its session");
    assert!(
        !link_page.contains("data-testid=\"signed-in\""),
        "on a link of a workspace she has no roles in, Ana is signed out: nothing else there reads it for her"
    );

    // Roles are per workspace: Bob approves in staging; where he only views, he cannot.
    let staging_call = waiting_call(&app, &bob, &staging).await;
    let (status, decided) = decide(&app, &bob, &staging, &staging_call).await;
    assert_eq!(status, 200, "{decided}");
    let home_call = waiting_call(&app, &ana, &home).await;
    assert_eq!(switch(&app, &bob, "default").await, 303);
    assert_eq!(decide(&app, &bob, &home, &home_call).await.0, 403, "a viewer in the default workspace");
    let (status, decided) = decide(&app, &ana, &home, &home_call).await;
    assert_eq!(status, 200, "{decided}");

    // The audit log: each workspace's entries are its own.
    let in_staging = audited_decisions(&app, &app.client).await;
    assert!(in_staging.iter().all(|(_, targets)| targets.contains(&staging)), "{in_staging:?}");
    assert!(in_staging.iter().any(|(who, _)| who == "bob"), "{in_staging:?}");
    assert_eq!(switch(&app, &app.client, "default").await, 303);
    let in_default = audited_decisions(&app, &app.client).await;
    assert!(in_default.iter().all(|(_, targets)| !targets.contains(&staging)), "{in_default:?}");
    assert!(in_default.iter().any(|(who, _)| who == "ana"), "{in_default:?}");
    assert!(
        in_default.iter().any(|(who, _)| who == "bob"),
        "Bob's refused try in the default workspace: {in_default:?}"
    );
    // What is Switchboard's own is the default's, though the admin granted Bob's roles in staging.
    let grants = audit_entries_as(&app, &app.client, "workspaces/grant").await;
    assert_eq!(grants.len(), 1, "{grants:?}");

    // A page's address can name its workspace, which then holds for the browser: for someone
    // with roles there only.
    let page = |client: &reqwest::Client, path: String| {
        // As a browser sends an address typed or bookmarked.
        let request = client.get(format!("{}{path}", app.address)).header("sec-fetch-site", "none");
        async move { request.send().await.unwrap() }
    };
    let chose = |response: &reqwest::Response, id: &str| {
        let cookie = format!("switchboard_workspace={id};");
        response.headers().get_all("set-cookie").iter().any(|c| c.to_str().unwrap().starts_with(&cookie))
    };
    let opened = page(&bob, format!("/sessions/{staging}?workspace=staging")).await;
    assert_eq!(opened.status(), 200);
    assert!(chose(&opened, "staging"), "{:?}", opened.headers());
    assert_eq!(session_ids(&app, &bob).await, vec![staging.clone()]);
    let stayed = page(&ana, format!("/sessions/{home}?workspace=staging")).await;
    assert_eq!(stayed.status(), 200, "her own workspace's page");
    assert!(!chose(&stayed, "staging"), "{:?}", stayed.headers());
    assert_eq!(session_ids(&app, &ana).await, vec![home.clone()]);
}

#[tokio::test]
async fn an_audit_entrys_workspace_cannot_be_changed_even_while_it_is_pending() {
    let app = spawn_app(&[]).await;
    let pool = app.database().await;
    let insert =
        "INSERT INTO audit (at, action, outcome, status) VALUES ('2026-11-26T00:00:00Z', 'test/pending', 'pending', 0)";
    sqlx::query(insert).execute(&pool).await.unwrap();
    let moved =
        sqlx::query("UPDATE audit SET workspace = 'staging' WHERE action = 'test/pending'").execute(&pool).await;
    assert!(moved.unwrap_err().to_string().contains("audit entries cannot be changed"));
    let finished =
        sqlx::query("UPDATE audit SET outcome = 'ok', status = 200 WHERE action = 'test/pending'").execute(&pool).await;
    assert_eq!(finished.unwrap().rows_affected(), 1, "its outcome is still filled in once");
}

#[tokio::test]
async fn a_second_key_is_refused_without_the_secret_key_and_sealed_with_it() {
    let engine = spawn_engine(STAGING_KEY).await;

    // Without SWITCHBOARD_SECRET_KEY (SQLite's case: PostgreSQL needs the key to start): refused,
    // with what to do, and nothing stored. The data directory's files are SQLite's, in either run.
    let app = spawn_app(&[("SWITCHBOARD_DATABASE_URL", "")]).await;
    let (status, refused) = connect_staging(&app, &engine.base_url).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("SWITCHBOARD_SECRET_KEY"), "{refused}");
    let (_, list) = app.read("workspaces/list", &[]).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "only the default: {list}");
    app.stop().await;

    // A key the upstream refuses is not stored either.
    let app = spawn_app(&[("SWITCHBOARD_SECRET_KEY", SECRET_KEY), ("SWITCHBOARD_DATABASE_URL", "")]).await;
    let (status, refused) = app
        .call(
            "workspaces/connect",
            &[
                ("form[id]", "staging"),
                ("form[name]", "Staging"),
                ("form[base_url]", &engine.base_url),
                ("form[key]", "wrong"),
            ],
        )
        .await;
    assert_eq!((status, refused["field"].as_str()), (400, Some("key")), "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("refused this key"), "{refused}");
    assert!(!refused.to_string().contains("wrong"), "the key is not repeated: {refused}");

    // With it: stored sealed, never in the clear, never shown; served again after a restart.
    let (status, row) = connect_staging(&app, &engine.base_url).await;
    assert_eq!(status, 200, "{row}");
    let (_, list) = app.read("workspaces/list", &[]).await;
    assert!(!list.to_string().contains(STAGING_KEY), "{list}");
    let data_dir = app.stop().await;
    for entry in std::fs::read_dir(&data_dir.0).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(STAGING_KEY.len()).any(|w| w == STAGING_KEY.as_bytes()),
                "{} holds the key",
                path.display()
            );
        }
    }
    let app =
        start(data_dir.clone(), &[("SWITCHBOARD_SECRET_KEY", SECRET_KEY), ("SWITCHBOARD_DATABASE_URL", "")], true)
            .await;
    app.sign_in(&app.client, "admin", ADMIN_PASSWORD).await;
    assert_eq!(switch(&app, &app.client, "staging").await, 303);
    let (status, place) = app.read("workspaces/here", &[]).await;
    assert_eq!(status, 200, "{place}");
    assert_eq!(place["current"]["id"], "staging", "{place}");
    let data_dir = app.stop().await;

    // Started with another secret key: the workspace is not served (the log says why), the rest is.
    let app =
        start(data_dir, &[("SWITCHBOARD_SECRET_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")], true).await;
    app.sign_in(&app.client, "admin", ADMIN_PASSWORD).await;
    assert_eq!(switch(&app, &app.client, "staging").await, 404);
    assert_eq!(app.read("sessions/list", &[]).await.0, 200);
}

#[tokio::test]
async fn connecting_checks_its_fields_and_only_admins_manage_workspaces() {
    let engine = spawn_engine(STAGING_KEY).await;
    let app = spawn_app(&[("SWITCHBOARD_SECRET_KEY", SECRET_KEY)]).await;
    for (field, form) in [
        (
            "id",
            [
                ("form[id]", "Default"),
                ("form[name]", "X"),
                ("form[base_url]", engine.base_url.as_str()),
                ("form[key]", "k"),
            ],
        ),
        (
            "name",
            [("form[id]", "x"), ("form[name]", " "), ("form[base_url]", engine.base_url.as_str()), ("form[key]", "k")],
        ),
        ("base_url", [("form[id]", "x"), ("form[name]", "X"), ("form[base_url]", "ftp://x"), ("form[key]", "k")]),
        (
            "base_url",
            [("form[id]", "x"), ("form[name]", "X"), ("form[base_url]", "http://10.0.0.7:4010"), ("form[key]", "k")],
        ),
        (
            "base_url",
            [("form[id]", "x"), ("form[name]", "X"), ("form[base_url]", "https://169.254.169.254"), ("form[key]", "k")],
        ),
        (
            "key",
            [("form[id]", "x"), ("form[name]", "X"), ("form[base_url]", engine.base_url.as_str()), ("form[key]", "")],
        ),
    ] {
        let (status, refused) = app.call("workspaces/connect", &form).await;
        assert_eq!((status, refused["field"].as_str()), (400, Some(field)), "{refused}");
    }
    assert_eq!(connect_staging(&app, &engine.base_url).await.0, 200);
    assert_eq!(connect_staging(&app, &engine.base_url).await.0, 409, "the same name twice");
    let (status, refused) = app
        .call(
            "workspaces/grant",
            &[("form[workspace_id]", "staging"), ("form[username]", "nobody"), ("form[roles]", "viewer")],
        )
        .await;
    assert_eq!((status, refused["field"].as_str()), (400, Some("username")), "{refused}");

    let operator = app.client_as("ops", &["operator"]).await;
    let (status, _) = app.read_as(&operator, "workspaces/list", &[]).await;
    assert_eq!(status, 403);
    let (status, place) = app.read_as(&operator, "workspaces/here", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(place["choices"].as_array().unwrap().len(), 1, "no roles in staging: {place}");

    // Disconnected: nobody can open it, and a cookie that names it opens the default.
    let (status, _) = app.call("workspaces/disconnect", &[("id", "staging")]).await;
    assert_eq!(status, 200);
    assert_eq!(switch(&app, &app.client, "staging").await, 404);
    let (status, refused) = app.call("workspaces/disconnect", &[("id", "default")]).await;
    assert_eq!(status, 400, "{refused}");
}

/// A link on another site that names a workspace (`?workspace=staging`) shows its page there,
/// so the links notifications send keep working, but does not change the person's workspace:
/// their next request is where they were. From Switchboard's own pages it does.
#[tokio::test]
async fn a_link_from_another_site_asks_before_switching_workspace() {
    let engine = spawn_engine(STAGING_KEY).await;
    let app = spawn_app(&[("SWITCHBOARD_SECRET_KEY", SECRET_KEY)]).await;
    assert_eq!(connect_staging(&app, &engine.base_url).await.0, 200);
    let turns = json!([[{ "tool": "bash", "input": { "command": "echo staged" } }]]);
    assert_eq!(switch(&app, &app.client, "staging").await, 303);
    let staging = asking_session(&app, "Staging agent", turns).await;
    assert_eq!(switch(&app, &app.client, "default").await, 303);
    let here = |client: &reqwest::Client| {
        let client = client.clone();
        let app = &app;
        async move {
            let (status, place) = app.read_as(&client, "workspaces/here", &[]).await;
            assert_eq!(status, 200, "{place}");
            place["current"]["id"].as_str().unwrap().to_owned()
        }
    };
    let chose_a_workspace = |response: &reqwest::Response| {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("switchboard_workspace="))
    };
    let link = format!("{}/sessions/{staging}?workspace=staging&event=sevt_1", app.address);
    let follow = |site: &'static str| app.client.get(&link).header("sec-fetch-site", site).send();

    // From another site: a page that asks, and no switch.
    let asked = follow("cross-site").await.unwrap();
    assert_eq!(asked.status(), 200);
    assert!(!chose_a_workspace(&asked), "{:?}", asked.headers());
    let page = asked.text().await.unwrap();
    assert!(page.contains("Open this page in Staging?"), "{page}");
    assert!(!page.contains("Staging agent"), "nothing of staging is shown before the switch: {page}");
    let next = format!("/sessions/{staging}?event=sevt_1");
    assert!(page.contains(&format!("name=\"next\" value=\"{next}\"")), "{page}");
    assert_eq!(here(&app.client).await, "default", "the next request is where the person was");
    assert_eq!(app.get(&format!("/sessions/{staging}")).await.status(), 404, "staging's session, from default");

    // The page's button: the switch with where to go, a same-site POST.
    let switched = app
        .client
        .post(format!("{}/auth/workspace", app.address))
        .form(&[("workspace", "staging"), ("next", next.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status(), 303);
    assert_eq!(switched.headers()["location"], next.as_str(), "to the page the link named");
    assert!(app.get(&next).await.text().await.unwrap().contains("Staging agent"));
    assert_eq!(here(&app.client).await, "staging");
    // Where to go is a path of this site only.
    for elsewhere in ["//evil.example/x", "https://evil.example/", "/\\evil.example"] {
        let answer = app
            .client
            .post(format!("{}/auth/workspace", app.address))
            .form(&[("workspace", "default"), ("next", elsewhere)])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.headers()["location"], "/", "{elsewhere}");
    }

    // From Switchboard's own pages, or a link to the workspace the browser is in: no question.
    let opened = follow("same-origin").await.unwrap();
    assert_eq!(opened.status(), 200);
    assert!(opened.text().await.unwrap().contains("Staging agent"));
    assert_eq!(switch(&app, &app.client, "default").await, 303);
    let opened = follow("same-origin").await.unwrap();
    assert!(chose_a_workspace(&opened), "{:?}", opened.headers());
    assert_eq!(here(&app.client).await, "staging", "from Switchboard's own page, the choice holds");
    let again = follow("cross-site").await.unwrap();
    assert!(again.text().await.unwrap().contains("Staging agent"), "already in staging: the page itself");
}

/// Reads an event stream until it ends or `within` passes; the text read, and whether it ended.
async fn read_until_end(response: &mut reqwest::Response, within: Duration) -> (String, bool) {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(Ok(None)) => return (text, true),
            Ok(Err(error)) => panic!("the stream failed: {error}"),
            Err(_) => return (text, false),
        }
    }
}

#[tokio::test]
async fn a_removed_grant_ends_that_workspaces_streams_within_a_heartbeat() {
    let engine = spawn_engine(STAGING_KEY).await;
    let app = spawn_app(&[("SWITCHBOARD_SECRET_KEY", SECRET_KEY), ("SWITCHBOARD_HEARTBEAT_SECS", "1")]).await;
    assert_eq!(connect_staging(&app, &engine.base_url).await.0, 200);
    let turns = json!([[{ "tool": "bash", "input": { "command": "echo here" } }]]);
    let home = asking_session(&app, "Default agent", turns.clone()).await;
    assert_eq!(switch(&app, &app.client, "staging").await, 303);
    let staging = asking_session(&app, "Staging agent", turns).await;
    let grant = |roles: &'static str| {
        let app = &app;
        async move {
            app.call(
                "workspaces/grant",
                &[("form[workspace_id]", "staging"), ("form[username]", "bob"), ("form[roles]", roles)],
            )
            .await
        }
    };

    // Bob watches a staging session and the staging inbox, and, in another browser, a session
    // of the default workspace, where he keeps his own role.
    let bob = app.client_as("bob", &["viewer"]).await;
    assert_eq!(grant("approver").await.0, 200);
    assert_eq!(switch(&app, &bob, "staging").await, 303);
    let open = |client: &reqwest::Client, path: String| {
        let request = client.get(format!("{}{path}", app.address));
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            response
        }
    };
    let mut session_stream = open(&bob, format!("/api/sessions/{staging}/stream")).await;
    let mut inbox_stream = open(&bob, "/api/inbox/stream".to_owned()).await;
    let bob_at_home = support::browser();
    app.sign_in(&bob_at_home, "bob", ADMIN_PASSWORD).await;
    let mut home_stream = open(&bob_at_home, format!("/api/sessions/{home}/stream")).await;
    // Each goes on while the grant stands: a heartbeat or two, and no end.
    for stream in [&mut session_stream, &mut inbox_stream] {
        let (text, ended) = read_until_end(stream, Duration::from_millis(1500)).await;
        assert!(!ended, "a stream ended before the grant was removed: {text}");
    }

    assert_eq!(grant("").await.0, 200);
    // Within one heartbeat (1 s) of the removal, with room for a loaded machine.
    for (name, stream) in [("session", &mut session_stream), ("inbox", &mut inbox_stream)] {
        let (text, ended) = read_until_end(stream, Duration::from_secs(4)).await;
        assert!(ended, "bob's staging {name} stream went on after his grant was removed: {text}");
        assert!(text.contains("event: signed_out"), "{name}: {text}");
    }
    let (text, ended) = read_until_end(&mut home_stream, Duration::from_millis(2500)).await;
    assert!(!ended, "the default workspace's stream ended too: {text}");
    assert!(text.contains("event: ping"), "{text}");
}

/// A `session.requires_action` webhook about `session`, signed with `secret` now.
fn signed_webhook(secret: &str, id: &str, session: &str) -> (Vec<(&'static str, String)>, String) {
    support::signed_webhook(secret, id, support::unix_now(), "session.requires_action", session)
}

/// The calls `client`'s inbox lists now, by session.
async fn inbox_sessions_now(app: &TestApp, client: &reqwest::Client) -> Vec<String> {
    let (status, inbox) = app.read_as(client, "inbox/list", &[]).await;
    assert_eq!(status, 200, "{inbox}");
    inbox["calls"].as_array().unwrap().iter().map(|c| c["session_id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_connected_workspaces_webhooks_come_to_its_own_address_checked_with_its_own_secret() {
    let engine = spawn_engine(STAGING_KEY).await;
    // SQLite, whose files are read below; a tick a minute, so that within the test only the first
    // look and a webhook bring a call to the inbox.
    let vars = [
        ("SWITCHBOARD_SECRET_KEY", SECRET_KEY),
        ("SWITCHBOARD_DATABASE_URL", ""),
        ("SWITCHBOARD_INBOX_POLL_SECS", "60"),
    ];
    let app = start(std::sync::Arc::new(support::TempDir::new()), &vars, true).await;
    app.sign_in(&app.client, "admin", ADMIN_PASSWORD).await;
    let (status, row) = connect_staging(&app, &engine.base_url).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(
        (row["webhook_path"].as_str(), row["webhook_secret_set"].as_bool()),
        (Some("/webhooks/anthropic/staging"), Some(false))
    );
    let secret = engine::webhooks::generate_secret();
    let path = "/webhooks/anthropic/staging";
    assert_eq!(
        support::post_webhook_to(&app, path, signed_webhook(&secret, "msg_0", "sesn_x")).await,
        404,
        "no secret set yet"
    );

    // Only an admin sets it; what is not a secret is refused; the default's is the server's own.
    let ana = app.client_as("ana", &["approver"]).await;
    let refused = ana
        .post(format!("{}/api/workspaces/webhook", app.address))
        .form(&[("id", "staging"), ("secret", secret.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let (status, wrong) = app.call("workspaces/webhook", &[("id", "staging"), ("secret", "not-a-secret")]).await;
    assert_eq!((status, wrong["field"].as_str()), (400, Some("secret")), "{wrong}");
    let (status, wrong) = app.call("workspaces/webhook", &[("id", "default"), ("secret", &secret)]).await;
    assert_eq!(status, 400, "{wrong}");
    let (status, row) = app.call("workspaces/webhook", &[("id", "staging"), ("secret", &secret)]).await;
    assert_eq!((status, row["webhook_secret_set"].as_bool()), (200, Some(true)), "{row}");
    assert!(!row.to_string().contains(&secret), "the secret is write-only: {row}");
    let entries = audit_entries_as(&app, &app.client, "workspaces/webhook").await;
    assert!(!entries.iter().any(|e| e.to_string().contains(&secret)), "{entries:?}");

    // A call waits in staging; its inbox looked once before it came.
    assert_eq!(switch(&app, &app.client, "staging").await, 303);
    assert!(inbox_sessions_now(&app, &app.client).await.is_empty());
    let turns = json!([[{ "tool": "bash", "input": { "command": "echo staging" } }, { "text": "Done." }]]);
    let session = asking_session(&app, "Staging agent", turns).await;
    for _ in 0..100 {
        let (_, events) = app.read("sessions/events", &[("id", &session)]).await;
        if events["data"].as_array().is_some_and(|e| e.iter().any(|e| e["type"] == "session.status_idle")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(inbox_sessions_now(&app, &app.client).await.is_empty(), "not read before the next tick");

    // Another secret's signature, or staging's at the default's address: refused.
    let other = engine::webhooks::generate_secret();
    assert_eq!(support::post_webhook_to(&app, path, signed_webhook(&other, "msg_1", &session)).await, 401);
    assert_eq!(
        support::post_webhook_to(&app, "/webhooks/anthropic", signed_webhook(&secret, "msg_2", &session)).await,
        401
    );
    assert_eq!(
        support::post_webhook_to(&app, "/webhooks/anthropic/nowhere", signed_webhook(&secret, "msg_3", &session)).await,
        404
    );
    assert_eq!(
        support::post_webhook_to(&app, "/webhooks/anthropic/default", signed_webhook(&secret, "msg_4", &session)).await,
        404
    );
    // Staging's own: its inbox reads the session at once, a minute before its next tick.
    let good = signed_webhook(&secret, "msg_5", &session);
    assert_eq!(support::post_webhook_to(&app, path, good.clone()).await, 204);
    let mut listed = Vec::new();
    for _ in 0..50 {
        listed = inbox_sessions_now(&app, &app.client).await;
        if !listed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listed, vec![session.clone()]);
    assert_eq!(support::post_webhook_to(&app, path, good).await, 409, "a replay");

    // Kept sealed, never in the clear; received again after a restart.
    let data_dir = app.stop().await;
    let holding = support::files_holding(&data_dir.0, secret.as_bytes());
    assert!(holding.is_empty(), "{holding:?}");
    let app = start(data_dir, &vars, true).await;
    app.sign_in(&app.client, "admin", ADMIN_PASSWORD).await;
    assert_eq!(support::post_webhook_to(&app, path, signed_webhook(&secret, "msg_6", &session)).await, 204);
    // Removed: refused as if the address were not there.
    let (status, row) = app.call("workspaces/webhook", &[("id", "staging"), ("secret", "")]).await;
    assert_eq!((status, row["webhook_secret_set"].as_bool()), (200, Some(false)), "{row}");
    assert_eq!(support::post_webhook_to(&app, path, signed_webhook(&secret, "msg_7", &session)).await, 404);
}
