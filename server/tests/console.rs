//! Every server function of the console, called over HTTP as the browser calls them, against the
//! embedded engine.

use crate::support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{TestApp, asking_session, file_form, spawn_app};

fn scripted_agent(name: &str, turns: Value) -> String {
    json!({
        "name": name,
        "model": "scripted",
        "system": json!({ "turns": turns }).to_string(),
        "tools": [{ "type": "agent_toolset_20260401", "default_config": { "enabled": true, "permission_policy": { "type": "always_allow" } } }],
    })
    .to_string()
}

async fn create_agent(app: &TestApp, definition: &str) -> Value {
    let (status, agent) = app.call("agents/create", &[("definition", definition)]).await;
    assert_eq!(status, 200, "{agent}");
    agent
}

async fn create_environment(app: &TestApp, name: &str) -> Value {
    let (status, env) = app
        .call(
            "environments/save",
            &[("id", ""), ("form[name]", name), ("form[kind]", "cloud"), ("form[networking]", "unrestricted")],
        )
        .await;
    assert_eq!(status, 200, "{env}");
    env["row"].clone()
}

async fn wait_until_idle_with(app: &TestApp, session: &str, event_type: &str) -> Vec<Value> {
    for _ in 0..200 {
        let (_, page) = app.read("sessions/events", &[("id", session)]).await;
        let events = page["data"].as_array().cloned().unwrap_or_default();
        let seen = events.iter().any(|e| e["type"] == event_type);
        let idle = events.last().is_some_and(|e| e["type"] == "session.status_idle");
        if seen && idle {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("session {session} never went idle after {event_type}");
}

#[tokio::test]
async fn agents_are_created_edited_into_versions_compared_and_archived() {
    let app = spawn_app(&[]).await;
    let agent = create_agent(&app, &scripted_agent("Reviewer", json!([[{"text": "hi"}]]))).await;
    let id = agent["id"].as_str().unwrap();
    assert_eq!(agent["version"], 1);

    // Edit into version 2.
    let mut definition: Value =
        serde_json::from_str(&scripted_agent("Reviewer", json!([[{"text": "hello"}]]))).unwrap();
    definition["description"] = json!("Reads pull requests");
    definition["metadata"] = json!({"team": "review"});
    let (status, v2) =
        app.call("agents/update", &[("id", id), ("version", "1"), ("definition", &definition.to_string())]).await;
    assert_eq!(status, 200, "{v2}");
    assert_eq!(v2["version"], 2);
    // The editor loads the current version as raw JSON, with what its header shows.
    let (status, current) = app.read("agents/definition", &[("id", id)]).await;
    assert_eq!(status, 200, "{current}");
    assert_eq!((&current["version"], &current["definition"]["metadata"]), (&json!(2), &json!({"team": "review"})));

    let (_, versions) = app.read("agents/versions", &[("id", id)]).await;
    assert_eq!(versions["data"].as_array().unwrap().len(), 2);
    let (_, old) = app.read("agents/get", &[("id", id), ("version", "1")]).await;
    assert!(old.get("description").is_none_or(Value::is_null), "version 1 is unchanged: {old}");

    // The diff shows exactly what changed.
    let (status, diff) = app.read("agents/diff", &[("id", id), ("from", "1"), ("to", "2")]).await;
    assert_eq!(status, 200, "{diff}");
    let lines = diff.as_array().unwrap();
    assert!(
        lines.iter().any(|l| l["sign"] == "+" && l["text"].as_str().unwrap().contains("Reads pull requests")),
        "{diff}"
    );
    assert!(lines.iter().any(|l| l["sign"] == "-" && l["text"].as_str().unwrap().contains("hi")), "{diff}");
    assert!(
        !lines.iter().any(|l| l["sign"] != " " && l["text"].as_str().unwrap().contains("created_at")),
        "bookkeeping fields are left out"
    );

    // Saving from the stale version 1 is a conflict that names version 2; nothing is overwritten.
    let (status, conflict) =
        app.call("agents/update", &[("id", id), ("version", "1"), ("definition", &definition.to_string())]).await;
    assert_eq!(status, 409, "{conflict}");
    assert_eq!(conflict["kind"], "conflict");
    assert!(conflict["message"].as_str().unwrap().contains("version 2"), "{conflict}");
    assert_eq!(conflict["field"], "version:2");

    // Clearing the description and removing the metadata key in the form clears them upstream
    // (an update keeps what it leaves out, so the console sends nulls).
    let cleared = scripted_agent("Reviewer", json!([[{"text": "hello"}]]));
    let (status, v3) = app.call("agents/update", &[("id", id), ("version", "2"), ("definition", &cleared)]).await;
    assert_eq!(status, 200, "{v3}");
    assert_eq!(v3["version"], 3);
    assert!(v3.get("description").is_none_or(Value::is_null), "{v3}");
    assert_eq!(v3["definition"]["metadata"], json!({}), "{v3}");

    // Archive; the default list hides it, the archived filter shows it.
    let (status, archived) = app.call("agents/archive", &[("id", id)]).await;
    assert_eq!(status, 200, "{archived}");
    assert_eq!(archived["archived"], true, "{archived}");
    let (_, list) = app.read("agents/list", &[("include_archived", "false")]).await;
    assert!(!list["data"].as_array().unwrap().iter().any(|a| a["id"] == id));
    let (_, list) = app.read("agents/list", &[("include_archived", "true")]).await;
    assert!(list["data"].as_array().unwrap().iter().any(|a| a["id"] == id));
}

#[tokio::test]
async fn agent_lists_paginate_with_the_api_cursor() {
    let app = spawn_app(&[]).await;
    for i in 0..22 {
        create_agent(&app, &scripted_agent(&format!("Agent {i:02}"), json!([[{"text": "x"}]]))).await;
    }
    let (_, first) = app.read("agents/list", &[("include_archived", "false")]).await;
    assert_eq!(first["data"].as_array().unwrap().len(), 20);
    let cursor = first["next_page"].as_str().expect("a second page");
    let (_, second) = app.read("agents/list", &[("include_archived", "false"), ("page", cursor)]).await;
    // 22 created plus the seeded demo agent.
    assert_eq!(second["data"].as_array().unwrap().len(), 3, "{second}");
    let (_, page) = app.get_text(&format!("/agents?page={cursor}")).await;
    assert!(page.contains("First page"), "the second page links back to the first");
}

#[tokio::test]
async fn the_new_session_form_offers_every_live_agent_beyond_the_first_page() {
    let app = spawn_app(&[]).await;
    for i in 0..101 {
        create_agent(&app, &scripted_agent(&format!("Agent {i:03}"), json!([[{"text": "x"}]]))).await;
    }
    let archived = create_agent(&app, &scripted_agent("Retired", json!([[{"text": "x"}]]))).await;
    let (status, _) = app.call("agents/archive", &[("id", archived["id"].as_str().unwrap())]).await;
    assert_eq!(status, 200);

    let (status, choices) = app.read("sessions/choices", &[]).await;
    assert_eq!(status, 200, "{choices}");
    let agents = choices["agents"].as_array().unwrap();
    // 101 created plus the seeded demo agent: more than one page of 100, and not the archived one.
    assert_eq!(agents.len(), 102, "{choices}");
    assert!(agents.iter().any(|a| a["label"] == "Agent 100 (latest: v1)"), "{choices}");
    assert!(!agents.iter().any(|a| a["label"].as_str().unwrap().starts_with("Retired")));
    assert!(!choices["environments"].as_array().unwrap().is_empty(), "the demo environment is offered");
}

#[tokio::test]
async fn an_agents_version_history_pages_past_twenty_versions() {
    let app = spawn_app(&[]).await;
    let agent = create_agent(&app, &scripted_agent("Busy", json!([[{"text": "x"}]]))).await;
    let id = agent["id"].as_str().unwrap();
    for version in 1..=21 {
        let definition = scripted_agent("Busy", json!([[{"text": format!("edit {version}")}]]));
        let (status, saved) = app
            .call("agents/update", &[("id", id), ("version", &version.to_string()), ("definition", &definition)])
            .await;
        assert_eq!(status, 200, "{saved}");
    }
    let (_, first) = app.read("agents/versions", &[("id", id)]).await;
    assert_eq!(first["data"].as_array().unwrap().len(), 20);
    assert_eq!(first["data"][0]["version"], 22, "newest first");
    let cursor = first["next_page"].as_str().expect("a second page of versions");
    let (_, html) = app.get_text(&format!("/agents/{id}")).await;
    assert!(html.contains("Next page"), "the history links to its next page");
    let (_, html) = app.get_text(&format!("/agents/{id}?page={cursor}")).await;
    assert!(html.contains("Version 2<") && html.contains("Version 1<"), "the oldest versions are on page 2");
    assert!(!html.contains("Version 22<"));
}

#[tokio::test]
async fn bad_agent_input_is_refused_with_a_sentence_and_nothing_is_created() {
    let app = spawn_app(&[]).await;
    let (_, before) = app.read("agents/list", &[("include_archived", "true")]).await;

    let (status, error) = app.call("agents/create", &[("definition", "{\"name\": \"x\",")]).await;
    assert_eq!(status, 400);
    assert!(error["message"].as_str().unwrap().contains("line 1"), "{error}");

    let bad_schema = json!({"name": "x", "model": "scripted", "tools": [
        {"type": "custom", "name": "lookup", "description": "d", "input_schema": {"type": "string"}}
    ]});
    let (status, error) = app.call("agents/create", &[("definition", &bad_schema.to_string())]).await;
    assert_eq!(status, 400);
    assert_eq!(error["field"], "custom_tools.0");
    assert!(error["message"].as_str().unwrap().contains("object"), "{error}");

    let metadata: serde_json::Map<String, Value> = (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
    let too_much = json!({"name": "x", "model": "scripted", "metadata": metadata});
    let (status, error) = app.call("agents/create", &[("definition", &too_much.to_string())]).await;
    assert_eq!(status, 400);
    assert!(error["message"].as_str().unwrap().contains("16"), "{error}");

    // A script the engine cannot parse: refused upstream, the API's message passed on.
    let bad_script = json!({"name": "x", "model": "scripted", "system": "{\"turns\": [[{\"nope\": 1}]]}"});
    let (status, error) = app.call("agents/create", &[("definition", &bad_script.to_string())]).await;
    assert_eq!(status, 400, "{error}");
    assert!(error["message"].as_str().unwrap().starts_with("Creating the agent failed"), "{error}");
    assert!(error["request_id"].is_string(), "the API's request id is kept: {error}");

    let (_, after) = app.read("agents/list", &[("include_archived", "true")]).await;
    assert_eq!(before["data"], after["data"], "nothing was created");

    let (status, error) = app.read("agents/get", &[("id", "agent_doesnotexist")]).await;
    assert_eq!(status, 404, "{error}");
    let (status, error) = app.read("agents/get", &[("id", "../sessions")]).await;
    assert_eq!(status, 404, "a path is not an id: {error}");
    let (status, html) = app.get_text("/agents/agent_doesnotexist").await;
    assert_eq!(status, 404);
    assert!(html.contains("Not found") && html.contains("Back to the agents"), "{html}");
}

#[tokio::test]
async fn environments_are_created_edited_archived_and_deleted_with_refusals_shown() {
    let app = spawn_app(&[]).await;
    let (status, env) = app
        .call(
            "environments/save",
            &[
                ("id", ""),
                ("form[name]", "build"),
                ("form[kind]", "cloud"),
                ("form[networking]", "limited"),
                ("form[allowed_hosts]", "api.example.com\npypi.org"),
                ("form[allow_package_managers]", "on"),
                ("form[pip]", "requests"),
                ("form[metadata]", "team=ops"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{env}");
    let id = env["row"]["id"].as_str().unwrap();
    assert_eq!(env["row"]["networking"], "limited (2 hosts)");
    // What the API stored, as the page's raw JSON shows it.
    let stored: Value = serde_json::from_str(env["json"].as_str().unwrap()).unwrap();
    assert_eq!(stored["config"]["networking"]["allowed_hosts"], json!(["api.example.com", "pypi.org"]));
    assert_eq!(stored["config"]["packages"]["pip"], json!(["requests"]));

    // Edit: unrestricted networking, the metadata key removed.
    let (status, edited) = app
        .call(
            "environments/save",
            &[("id", id), ("form[name]", "build 2"), ("form[kind]", "cloud"), ("form[networking]", "unrestricted")],
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["row"]["name"], "build 2");
    assert_eq!(edited["row"]["networking"], "unrestricted");
    let stored: Value = serde_json::from_str(edited["json"].as_str().unwrap()).unwrap();
    assert_eq!(stored["metadata"], json!({}), "a key removed in the form is removed upstream");

    // Bad input never reaches the upstream.
    let (status, error) = app
        .call(
            "environments/save",
            &[("id", ""), ("form[name]", " "), ("form[kind]", "cloud"), ("form[networking]", "unrestricted")],
        )
        .await;
    assert_eq!((status, error["field"].as_str()), (400, Some("name")));

    // In use by a session: the API's refusal is shown.
    let agent = create_agent(&app, &scripted_agent("A", json!([[{"text": "x"}]]))).await;
    let (status, session) = app
        .call("sessions/create", &[("form[agent_id]", agent["id"].as_str().unwrap()), ("form[environment_id]", id)])
        .await;
    assert_eq!(status, 200, "{session}");
    let (status, refusal) = app.call("environments/delete", &[("id", id)]).await;
    assert_eq!(status, 409, "{refusal}");
    assert!(refusal["message"].as_str().unwrap().starts_with("Deleting the environment failed"), "{refusal}");

    let (status, archived) = app.call("environments/archive", &[("id", id)]).await;
    assert_eq!(status, 200, "{archived}");
    assert_eq!(archived["archived"], true, "{archived}");

    let spare = create_environment(&app, "spare").await;
    let (status, _) = app.call("environments/delete", &[("id", spare["id"].as_str().unwrap())]).await;
    assert_eq!(status, 200);
    let (status, _) = app.read("environments/get", &[("id", spare["id"].as_str().unwrap())]).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn sessions_start_with_files_and_a_message_filter_mount_archive_and_delete() {
    let app = spawn_app(&[]).await;
    let agent = create_agent(&app, &scripted_agent("Greeter", json!([[{"text": "Hello from the script"}]]))).await;
    let agent_id = agent["id"].as_str().unwrap();
    let env = create_environment(&app, "env").await;
    let file = upload(&app, "notes.txt", b"remember the milk".to_vec()).await;
    let file_id = file["id"].as_str().unwrap();

    let (status, session) = app
        .call(
            "sessions/create",
            &[
                ("form[agent_id]", agent_id),
                ("form[agent_version]", "1"),
                ("form[environment_id]", env["id"].as_str().unwrap()),
                ("form[title]", "First run"),
                ("form[file_ids][]", file_id),
                ("form[initial_message]", "Say hello"),
                ("form[budget_usd]", "5"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{session}");
    let id = session["row"]["id"].as_str().unwrap();
    assert_eq!(session["row"]["title"], "First run");
    assert_eq!(session["resources"][0]["file_id"], file_id);
    assert_eq!(session["budget"], "$5.00 (list price)");

    let events = wait_until_idle_with(&app, id, "agent.message").await;
    assert!(events.iter().any(|e| e["type"] == "user.message"), "the first message was sent");

    let (_, mine) = app.read("sessions/list", &[("agent_id", agent_id)]).await;
    assert_eq!(mine["data"].as_array().unwrap().len(), 1);
    let (_, idle) = app.read("sessions/list", &[("agent_id", agent_id), ("status", "idle")]).await;
    assert_eq!(idle["data"].as_array().unwrap().len(), 1);
    let (_, running) = app.read("sessions/list", &[("agent_id", agent_id), ("status", "running")]).await;
    assert_eq!(running["data"].as_array().unwrap().len(), 0);
    let (status, error) = app.read("sessions/list", &[("status", "sleeping")]).await;
    assert_eq!(status, 400, "{error}");
    // Started on or after a day (UTC): its own day lists it, the next does not.
    let created = session["row"]["created_at"].as_str().unwrap()[..10].to_owned();
    let day = time::Date::parse(&created, &time::format_description::parse("[year]-[month]-[day]").unwrap()).unwrap();
    let (_, since) = app.read("sessions/list", &[("agent_id", agent_id), ("since", &created)]).await;
    assert_eq!(since["data"].as_array().unwrap().len(), 1, "{since}");
    let next_day = day.next_day().unwrap().to_string();
    let (_, later) = app.read("sessions/list", &[("agent_id", agent_id), ("since", &next_day)]).await;
    assert_eq!(later["data"].as_array().unwrap().len(), 0, "{later}");
    let (status, error) = app.read("sessions/list", &[("since", "last week")]).await;
    assert_eq!((status, error["field"].as_str()), (400, Some("since")), "{error}");

    // The session page shows the metadata and the live view, whose events come from the hub's
    // stream (server/tests/live.rs).
    let (status, html) = app.get_text(&format!("/sessions/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("First run") && html.contains(r#"data-testid="live""#), "{html}");
    // Its presenter page, which a missing session answers with a 404.
    let (status, html) = app.get_text(&format!("/sessions/{id}/present")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="presenter""#) && html.contains("First run"), "{html}");
    assert!(html.contains(&format!(r#"href="/sessions/{id}""#)), "a way back to the session's page");
    let (status, _) = app.get_text("/sessions/sesn_missing/present").await;
    assert_eq!(status, 404);
    let (_, events) = app.read("sessions/events", &[("id", id)]).await;
    let texts = events["data"].to_string();
    assert!(texts.contains("agent.message") && texts.contains("Hello from the script"), "{texts}");

    // Mount a second file, then remove it.
    let other = upload(&app, "more.txt", b"more".to_vec()).await;
    let (status, _) = app
        .call("sessions/mount", &[("session_id", id), ("file_id", other["id"].as_str().unwrap()), ("mount_path", "")])
        .await;
    assert_eq!(status, 200);
    let (_, session) = app.read("sessions/get", &[("id", id)]).await;
    let resources = session["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 2);
    let added = resources.iter().find(|r| r["file_id"] == other["id"]).unwrap()["id"].as_str().unwrap().to_owned();
    let (status, _) = app.call("sessions/unmount", &[("session_id", id), ("resource_id", &added)]).await;
    assert_eq!(status, 200);
    let (_, session) = app.read("sessions/get", &[("id", id)]).await;
    assert_eq!(session["resources"].as_array().unwrap().len(), 1);

    let (status, _) = app.call("sessions/archive", &[("id", id)]).await;
    assert_eq!(status, 200);
    let (_, listed) = app.read("sessions/list", &[("agent_id", agent_id)]).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 0, "archived sessions are hidden by default");
    let (_, listed) = app.read("sessions/list", &[("agent_id", agent_id), ("include_archived", "true")]).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);

    let (status, _) = app.call("sessions/delete", &[("id", id)]).await;
    assert_eq!(status, 200);
    let (status, _) = app.read("sessions/get", &[("id", id)]).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn session_form_mistakes_are_named() {
    let app = spawn_app(&[]).await;
    let (status, error) =
        app.call("sessions/create", &[("form[agent_id]", ""), ("form[environment_id]", "env_x")]).await;
    assert_eq!((status, error["field"].as_str()), (400, Some("agent_id")));
    let (status, error) = app
        .call(
            "sessions/create",
            &[("form[agent_id]", "agent_x"), ("form[environment_id]", "env_x"), ("form[budget_usd]", "lots")],
        )
        .await;
    assert_eq!((status, error["field"].as_str()), (400, Some("budget_usd")));
    let (status, error) =
        app.call("sessions/create", &[("form[agent_id]", "agent_x"), ("form[environment_id]", "env_x")]).await;
    assert_eq!(status, 400, "an agent that does not exist: {error}");
    assert!(error["message"].as_str().unwrap().contains("not found"), "the API's reason is passed on: {error}");
}

/// Posts `bytes` as the file `name` to the upload route, as the page's script does.
async fn post_file(app: &TestApp, name: &str, bytes: Vec<u8>) -> (u16, Value) {
    post_form(app, "/api/files", file_form(name, bytes)).await
}

/// Posts a multipart form to an upload route (`path`), asking for JSON as the pages' script does.
async fn post_form(app: &TestApp, path: &str, form: reqwest::multipart::Form) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}{path}", app.address))
        .header("accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn upload(app: &TestApp, name: &str, bytes: Vec<u8>) -> Value {
    let (status, body) = post_file(app, name, bytes).await;
    assert_eq!(status, 201, "{body}");
    body
}

#[tokio::test]
async fn files_upload_list_download_and_delete() {
    let app = spawn_app(&[]).await;
    let file = upload(&app, "data.csv", b"a,b\n1,2\n".to_vec()).await;
    let id = file["id"].as_str().unwrap();
    assert_eq!(file["filename"], "data.csv");
    assert_eq!(file["size_bytes"], 8);

    let (_, list) = app.read("files/list", &[]).await;
    assert!(list["data"].as_array().unwrap().iter().any(|f| f["id"] == id));

    // Uploads cannot be downloaded (the API's rule), and the reason is given.
    let response = app.get(&format!("/api/files/{id}/content")).await;
    assert_eq!(response.status().as_u16(), 400);
    let text = response.text().await.unwrap();
    assert!(text.starts_with("Downloading the file failed"), "{text}");

    // A file an agent wrote to its outputs can be downloaded, with its name.
    let script = json!([[{"tool": "bash", "input": {"command": "printf 'report body' > /mnt/session/outputs/report.txt"}}, {"text": "done"}]]);
    let agent = create_agent(&app, &scripted_agent("Writer", script)).await;
    let env = create_environment(&app, "env").await;
    let (_, session) = app
        .call(
            "sessions/create",
            &[
                ("form[agent_id]", agent["id"].as_str().unwrap()),
                ("form[environment_id]", env["id"].as_str().unwrap()),
                ("form[initial_message]", "go"),
            ],
        )
        .await;
    wait_until_idle_with(&app, session["row"]["id"].as_str().unwrap(), "agent.message").await;
    let (_, list) = app.read("files/list", &[]).await;
    let report = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["filename"] == "report.txt")
        .cloned()
        .expect("the output is listed");
    assert_eq!(report["downloadable"], true);
    let response = app.get(&format!("/api/files/{}/content", report["id"].as_str().unwrap())).await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains("report.txt"));
    assert_eq!(response.text().await.unwrap(), "report body");

    let (status, _) = app.call("files/delete", &[("id", id)]).await;
    assert_eq!(status, 200);
    let (status, _) = app.read("files/get", &[("id", id)]).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_upload_over_the_limit_is_refused_and_leaves_nothing_behind() {
    let app = spawn_app(&[("SWITCHBOARD_MAX_UPLOAD_BYTES", "1000")]).await;
    let (_, before) = app.read("files/list", &[]).await;
    let (status, error) = post_file(&app, "big.bin", vec![b'x'; 5000]).await;
    assert_eq!(status, 400);
    assert!(error["message"].as_str().unwrap().contains("upload limit of 1000 bytes"), "{error}");
    let (_, after) = app.read("files/list", &[]).await;
    assert_eq!(before, after, "no partial file upstream");

    // The page states the limit before anything is sent.
    let (_, html) = app.get_text("/files").await;
    assert!(html.contains("Up to 1000 bytes per file"), "{html}");

    // Without JavaScript the form posts itself and comes back with the outcome.
    let form = file_form("small.txt", b"ok".to_vec());
    // (The app's client does not follow redirects.)
    let response = app.client.post(format!("{}/api/files", app.address)).multipart(form).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert!(response.headers()["location"].to_str().unwrap().starts_with("/files?uploaded=file_"));
}

#[tokio::test]
async fn vault_credentials_are_created_and_rotated_and_the_secret_never_comes_back() {
    let app = spawn_app(&[]).await;
    let (status, vault) = app.call("vaults/create", &[("display_name", "Team secrets")]).await;
    assert_eq!(status, 200, "{vault}");
    let vault_id = vault["id"].as_str().unwrap();

    let secret = "sk-live-SECRET-do-not-echo-1234";
    let (status, credential) = app
        .call(
            "vaults/credentials/create",
            &[
                ("vault_id", vault_id),
                ("form[kind]", "static_bearer"),
                ("form[mcp_server_url]", "https://mcp.example.com/mcp"),
                ("form[secret]", secret),
            ],
        )
        .await;
    assert_eq!(status, 200, "{credential}");
    assert!(!credential.to_string().contains(secret));
    let cred_id = credential["id"].as_str().unwrap();

    let (status, env_var) = app
        .call(
            "vaults/credentials/create",
            &[
                ("vault_id", vault_id),
                ("form[kind]", "environment_variable"),
                ("form[secret_name]", "GITHUB_TOKEN"),
                ("form[secret]", secret),
                ("form[networking]", "limited"),
                ("form[allowed_hosts]", "api.github.com"),
                ("form[inject_header]", "on"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{env_var}");
    assert_eq!(env_var["auth"]["networking"]["allowed_hosts"], json!(["api.github.com"]));

    let (status, rotated) = app
        .call(
            "vaults/credentials/rotate",
            &[
                ("vault_id", vault_id),
                ("credential_id", cred_id),
                ("form[kind]", "static_bearer"),
                ("form[secret]", "new-secret-5678"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{rotated}");

    let (_, detail) = app.read("vaults/get", &[("id", vault_id)]).await;
    assert_eq!(detail[1].as_array().unwrap().len(), 2);
    let (_, html) = app.get_text(&format!("/vaults/{vault_id}")).await;
    for page in [detail.to_string(), html] {
        assert!(!page.contains(secret) && !page.contains("new-secret-5678"), "a secret came back to the browser");
    }

    // Missing secret: refused before anything is sent.
    let (status, error) = app
        .call(
            "vaults/credentials/create",
            &[
                ("vault_id", vault_id),
                ("form[kind]", "static_bearer"),
                ("form[mcp_server_url]", "https://x"),
                ("form[secret]", ""),
            ],
        )
        .await;
    assert_eq!((status, error["field"].as_str()), (400, Some("secret")));

    let (status, _) =
        app.call("vaults/credentials/archive", &[("vault_id", vault_id), ("credential_id", cred_id)]).await;
    assert_eq!(status, 200);
    let (status, _) =
        app.call("vaults/credentials/delete", &[("vault_id", vault_id), ("credential_id", cred_id)]).await;
    assert_eq!(status, 200);
    let (status, _) = app.call("vaults/archive", &[("id", vault_id)]).await;
    assert_eq!(status, 200);
    let (status, _) = app.call("vaults/delete", &[("id", vault_id)]).await;
    assert_eq!(status, 200);
    let (status, _) = app.read("vaults/get", &[("id", vault_id)]).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_connection_check_passes_against_the_embedded_engine() {
    let app = spawn_app(&[]).await;
    let (status, checks) = app.call("settings/check", &[]).await;
    assert_eq!(status, 200, "{checks}");
    let checks = checks.as_array().unwrap();
    assert_eq!(checks.len(), 7, "key, beta, and five lists: {checks:?}");
    for check in checks {
        assert_eq!(check["ok"], true, "{check}");
    }
    let agents = checks.iter().find(|c| c["name"] == "List agents").unwrap();
    assert!(agents["detail"].as_str().unwrap().starts_with("/v1/agents answered"), "{agents}");
}

#[tokio::test]
async fn every_list_page_renders_its_data_on_the_server() {
    let app = spawn_app(&[]).await;
    for (path, marker) in [
        ("/agents", "Demo: scripted agent"),
        ("/environments", "Demo environment"),
        ("/sessions", "No sessions yet"),
        ("/files", "No files yet"),
        ("/vaults", "No vaults yet"),
        ("/settings", "Run the connection check"),
        ("/agents/new", "Create agent"),
        ("/environments/new", "Create environment"),
        ("/sessions/new", "Start session"),
    ] {
        let (status, html) = app.get_text(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(html.contains(marker), "{path} lacks {marker:?}");
        assert!(!html.contains("<template"), "{path} leaves content for a script to place");
    }
}

#[tokio::test]
async fn a_mutation_sent_from_another_site_is_refused() {
    let app = spawn_app(&[]).await;
    let definition = scripted_agent("Forged", json!([[{"text": "x"}]]));
    let url = format!("{}/api/agents/create", app.address);
    for (header, value) in [("origin", "http://evil.example"), ("sec-fetch-site", "cross-site")] {
        let response =
            app.client.post(&url).header(header, value).form(&[("definition", &definition)]).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 403, "{header}: {value}");
    }
    let (_, list) = app.read("agents/list", &[("include_archived", "true")]).await;
    assert!(!list["data"].as_array().unwrap().iter().any(|a| a["name"] == "Forged"), "nothing was created");

    // The console's own pages send their own origin, and reads are never refused.
    let own = app.address.clone();
    let response = app
        .client
        .post(&url)
        .header("origin", own)
        .header("sec-fetch-site", "same-origin")
        .form(&[("definition", &definition)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let response = app
        .client
        .get(format!("{}/api/agents/list?include_archived=false", app.address))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

async fn create_deployment(app: &TestApp, name: &str, agent_id: &str, environment_id: &str) -> String {
    let (status, deployment) = app
        .call(
            "deployments/save",
            &[
                ("id", ""),
                ("form[name]", name),
                ("form[agent_id]", agent_id),
                ("form[environment_id]", environment_id),
                ("form[initial_message]", "Summarise yesterday."),
            ],
        )
        .await;
    assert_eq!(status, 200, "{deployment}");
    deployment["row"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_overview_lists_the_last_days_failed_runs_with_their_deployment() {
    let app = spawn_app(&[]).await;
    let (_, none) = app.read("deployments/failed_recently", &[]).await;
    assert_eq!(none, json!([]), "no run has failed yet");
    let page = app.get("/").await.text().await.unwrap();
    assert!(page.contains("No deployment run failed in the last day."), "the empty state is said");

    let agent = create_agent(&app, &scripted_agent("Nightly", json!([[{ "text": "Done." }]]))).await;
    let agent_id = agent["id"].as_str().unwrap();
    let doomed = create_environment(&app, "doomed").await;
    let live = create_environment(&app, "live").await;
    let failing = create_deployment(&app, "Nightly summary", agent_id, doomed["id"].as_str().unwrap()).await;
    let fine = create_deployment(&app, "Morning summary", agent_id, live["id"].as_str().unwrap()).await;
    let (status, _) = app.call("environments/archive", &[("id", doomed["id"].as_str().unwrap())]).await;
    assert_eq!(status, 200);
    for id in [&failing, &fine] {
        let (status, run) = app.call("deployments/run", &[("id", id)]).await;
        assert_eq!(status, 200, "{run}");
    }

    let (status, failed) = app.read("deployments/failed_recently", &[]).await;
    assert_eq!(status, 200, "{failed}");
    let failed = failed.as_array().unwrap();
    assert_eq!(failed.len(), 1, "only the run that failed: {failed:?}");
    assert_eq!(failed[0]["deployment_id"], failing.as_str());
    assert_eq!(failed[0]["deployment_name"], "Nightly summary");
    assert_eq!(failed[0]["run"]["error"][0], "environment_archived_error");
    let page = app.get("/").await.text().await.unwrap();
    assert!(page.contains(&format!("href=\"/deployments/{failing}\"")), "the Overview links the deployment");
    assert!(page.contains("its environment is archived"), "and says why its run failed");
    assert!(!page.contains("Morning summary"), "a run that started its session is not a failure");
}

async fn start_session(app: &TestApp, agent_id: &str, environment_id: &str, title: &str) -> String {
    let (status, session) = app
        .call(
            "sessions/create",
            &[
                ("form[agent_id]", agent_id),
                ("form[environment_id]", environment_id),
                ("form[title]", title),
                ("form[initial_message]", "go"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{session}");
    session["row"]["id"].as_str().unwrap().to_owned()
}

/// Reads the dashboard until `ready` holds of it (sessions take a moment to run, ask or end).
async fn dashboard_when(app: &TestApp, ready: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        let (status, board) = app.read("overview/dashboard", &[]).await;
        assert_eq!(status, 200, "{board}");
        if ready(&board) {
            return board;
        }
        last = board;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the dashboard never showed what was expected: {last:#}");
}

fn ids(list: &Value, at: &str) -> Vec<String> {
    list.as_array().unwrap().iter().map(|item| item.pointer(at).unwrap().as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_overview_shows_what_runs_who_waits_what_it_cost_and_what_failed() {
    let app = spawn_app(&[]).await;
    let page = app.get("/").await.text().await.unwrap();
    assert!(page.contains("No session is running."), "the empty states are said");
    assert!(page.contains("No session waits for a person"));
    assert!(page.contains("No session was started this month."));

    let environment = create_environment(&app, "board").await;
    let environment = environment["id"].as_str().unwrap();
    let slow =
        create_agent(&app, &scripted_agent("Slow", json!([[{ "sleep_ms": 60_000 }, { "text": "Done." }]]))).await;
    let failing = create_agent(
        &app,
        &scripted_agent("Fragile", json!([[{ "error": "overloaded_error", "retry_status": "terminal" }]])),
    )
    .await;
    let (slow, failing) = (slow["id"].as_str().unwrap(), failing["id"].as_str().unwrap());
    let running = start_session(&app, slow, environment, "Long report").await;
    let second = start_session(&app, slow, environment, "").await;
    let ended = start_session(&app, failing, environment, "Doomed").await;
    let asking = asking_session(&app, "Careful", json!([[{ "tool": "bash", "input": { "command": "ls" } }]])).await;

    let board = dashboard_when(&app, |b| {
        b["running"].as_array().unwrap().len() == 2
            && b["failures"].as_array().unwrap().len() == 1
            && b["waiting"].as_array().unwrap().len() == 1
    })
    .await;
    let mut running_ids = ids(&board["running"], "/id");
    running_ids.sort();
    let mut expected = vec![running.clone(), second.clone()];
    expected.sort();
    assert_eq!(running_ids, expected, "the running sessions, and only those");
    assert_eq!(ids(&board["waiting"], "/session_id"), [asking.as_str()]);
    assert_eq!(board["waiting"][0]["calls"], 1);
    assert!(board["waiting"][0]["since"].as_str().is_some_and(|t| t.ends_with('Z')), "{board:#}");
    assert_eq!(ids(&board["failures"], "/row/id"), [ended.as_str()]);
    assert_eq!(board["failures"][0]["why"], "it ended (terminated)");
    // Scripted models cost nothing at list price: four sessions, all started today.
    assert_eq!(board["spending"]["today"]["sessions"], 4);
    assert_eq!(board["spending"]["month"]["sessions"], 4);
    assert_eq!(board["spending"]["today"]["cost"], "$0.00");
    assert_eq!(board["spending"]["complete"], true);
    assert_eq!(ids(&board["spending"]["top_agents"], "/agent_id")[0], slow, "the agent with two sessions leads");
    assert_eq!(board["spending"]["top_agents"][0]["sessions"], 2);

    // The page links each to where to act.
    let page = app.get("/").await.text().await.unwrap();
    for link in [
        format!("href=\"/sessions/{running}\""),
        format!("href=\"/sessions/{asking}\""),
        format!("href=\"/sessions/{ended}\""),
        format!("href=\"/agents/{slow}\""),
        "href=\"/inbox\"".to_owned(),
    ] {
        assert!(page.contains(&link), "the Overview links {link}");
    }
    assert!(page.contains("Long report") && page.contains("Doomed"), "sessions are named by their titles");
    assert!(page.contains("it ended (terminated)"), "and say how they failed");

    // Viewers see it too; signed out, nobody does.
    let viewer = app.client_as("watcher", &["viewer"]).await;
    let (status, _) = app.read_as(&viewer, "overview/dashboard", &[]).await;
    assert_eq!(status, 200);
    let (status, _) = app.read_as(&support::browser(), "overview/dashboard", &[]).await;
    assert_eq!(status, 401);
}

/// A multipart form of a skill: each (part name, path, bytes).
fn skill_form(parts: &[(&str, &str, &[u8])]) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new();
    for (name, path, bytes) in parts {
        form = form.part(name.to_string(), reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(path.to_string()));
    }
    form
}

#[tokio::test]
async fn skills_upload_as_a_folder_or_a_zip_get_versions_and_download() {
    use std::io::{Read, Write};
    let app = spawn_app(&[]).await;
    let skill_md = b"---\nname: weekly-report\ndescription: Writes the weekly report.\n---\nSteps.\n";
    // A folder, as the page sends it: each file named by its path in the folder.
    let folder = skill_form(&[
        ("files[]", "weekly-report/SKILL.md", skill_md),
        ("files[]", "weekly-report/scripts/run.sh", b"echo v1\n"),
        // Over the 4 MiB body limit of other mutations, within a skill's 8 MiB.
        ("files[]", "weekly-report/data/table.csv", &vec![b'x'; 5 * 1024 * 1024]),
    ]);
    let (status, uploaded) = post_form(&app, "/api/skills", folder).await;
    assert_eq!(status, 201, "{uploaded}");
    let skill_id = uploaded["skill_id"].as_str().unwrap().to_owned();
    let (_, listed) = app.read("skills/list", &[("shelf", "Custom")]).await;
    let row = listed["data"].as_array().unwrap().iter().find(|s| s["id"] == skill_id.as_str()).cloned().unwrap();
    assert_eq!(row["display_name"], "weekly-report");
    assert_eq!(row["latest_version_id"], uploaded["version_id"]);

    // A zip of the folder's contents becomes a new version; the zip's name is its folder.
    let mut zipped = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in [("SKILL.md", &skill_md[..]), ("scripts/run.sh", b"echo v2\n")] {
        zipped.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        zipped.write_all(bytes).unwrap();
    }
    let zip_bytes = zipped.finish().unwrap().into_inner();
    let form = skill_form(&[("zip", "weekly-report.zip", &zip_bytes)]);
    let (status, second) = post_form(&app, &format!("/api/skills/{skill_id}/versions"), form).await;
    assert_eq!(status, 201, "{second}");
    let (_, versions) = app.read("skills/versions", &[("id", &skill_id)]).await;
    let ids: Vec<_> = versions["data"].as_array().unwrap().iter().map(|v| v["id"].clone()).collect();
    assert_eq!(ids, [second["version_id"].clone(), uploaded["version_id"].clone()]);

    // The latest version downloads as a zip under the skill's name.
    let response = app.get(&format!("/api/skills/{skill_id}/versions/latest/content")).await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains("weekly-report.zip"));
    let bytes = response.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut script = String::new();
    archive.by_name("weekly-report/scripts/run.sh").unwrap().read_to_string(&mut script).unwrap();
    assert_eq!(script, "echo v2\n");

    // The agent form's picker lists it.
    let (_, choices) = app.read("skills/choices", &[]).await;
    assert!(choices.as_array().unwrap().iter().any(|c| c["id"] == skill_id.as_str() && c["kind"] == "custom"));

    // What the API refuses comes back in words, and nothing is stored.
    let (status, error) = post_form(&app, "/api/skills", skill_form(&[("files[]", "loose/README.md", b"hi")])).await;
    assert_eq!(status, 400, "{error}");
    assert!(error["message"].as_str().unwrap().contains("No SKILL.md"), "{error}");
    let (status, error) = post_form(&app, "/api/skills", skill_form(&[("files[]", "again/SKILL.md", skill_md)])).await;
    assert_eq!(status, 409, "{error}");
    assert!(error["message"].as_str().unwrap().contains("exists already"), "{error}");
    let (status, error) = post_form(&app, "/api/skills", skill_form(&[("zip", "x.zip", b"not a zip")])).await;
    assert_eq!(status, 400, "{error}");
    assert!(error["message"].as_str().unwrap().contains("not a zip"), "{error}");
    let (_, listed) = app.read("skills/list", &[("shelf", "Custom")]).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);

    // Deleting the latest version is the skill's to do; an older one goes.
    let (status, _) = app
        .call("skills/delete_version", &[("id", &skill_id), ("version", uploaded["version_id"].as_str().unwrap())])
        .await;
    assert_eq!(status, 200);
    let (status, _) = app.call("skills/delete", &[("id", &skill_id)]).await;
    assert_eq!(status, 200);
    let (status, _) = app.read("skills/get", &[("id", &skill_id)]).await;
    assert_eq!(status, 404);
}

/// An agent that abuses its sandbox through the console: a fork bomb, a CPU hog, `/dev/zero`
/// read, a full `/tmp`, and connections to the console's and the engine's own loopback ports.
/// Each ends as a tool error, and all the while the console answers its pages and server
/// functions at once. Before stop 28 the fork bomb had no limit as root (reasoned: `RLIMIT_NPROC`
/// does not hold for root) and would have filled the host's pid table, console included; before
/// stop 29 the sandbox shared the host's network, so `/dev/tcp/127.0.0.1/<console>` connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_abusing_its_sandbox_leaves_the_console_serving() {
    if let Err(why) = engine::sandbox::cgroups::Cgroups::detect() {
        panic!("this machine gives the engine no control groups, so a fork bomb could not be held: {why}");
    }
    let app = spawn_app(&[("SWITCHBOARD_SANDBOX_CPU_SECONDS", "2"), ("SWITCHBOARD_SANDBOX_PROCESSES", "64")]).await;
    let console_port = app.address.rsplit(':').next().unwrap().to_owned();
    let (_, upstream) = app.read("upstream", &[]).await;
    let engine_port = upstream["base_url"].as_str().unwrap().rsplit(':').next().unwrap().to_owned();
    let bash = |command: String| json!({ "tool": "bash", "input": { "command": command, "timeout_ms": 60_000 } });
    let connect = |port: &str| bash(format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected"));
    let turn = json!([
        bash(":(){ :|:& };:; sleep 3".into()),
        bash("while :; do :; done".into()),
        { "tool": "read", "input": { "file_path": "/dev/zero" } },
        bash("head -c 400M /dev/zero > /tmp/fill".into()),
        connect(&console_port),
        connect(&engine_port),
        bash("echo still here".into()),
    ]);
    let agent = create_agent(&app, &scripted_agent("Vandal", json!([turn]))).await;
    let env = create_environment(&app, "unrestricted").await;
    let (status, session) = app
        .call(
            "sessions/create",
            &[
                ("form[agent_id]", agent["id"].as_str().unwrap()),
                ("form[environment_id]", env["id"].as_str().unwrap()),
                ("form[initial_message]", "misbehave"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{session}");
    let id = session["row"]["id"].as_str().unwrap().to_owned();

    // While the turn runs, the console's health, a page and a server function answer promptly.
    let mut slowest = Duration::ZERO;
    let events = loop {
        for path in ["/healthz", "/sessions", "/api/sessions/list"] {
            let started = std::time::Instant::now();
            let (status, _) = app.get_text(path).await;
            assert_eq!(status, 200, "{path} during the abuse");
            slowest = slowest.max(started.elapsed());
        }
        let (_, page) = app.read("sessions/events", &[("id", &id)]).await;
        let events = page["data"].as_array().cloned().unwrap_or_default();
        if events.iter().filter(|e| e["type"] == "agent.tool_result").count() == 7
            && events.last().is_some_and(|e| e["type"] == "session.status_idle")
        {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(slowest < Duration::from_secs(2), "the console answered within 2 s during the abuse: {slowest:?}");
    let results: Vec<(bool, String)> = events
        .iter()
        .filter(|e| e["type"] == "agent.tool_result")
        .map(|e| {
            let text = e["content"].as_array().into_iter().flatten().filter_map(|c| c["text"].as_str()).collect();
            (e["is_error"].as_bool().unwrap_or(false), text)
        })
        .collect();
    let failed = |i: usize, words: &str| {
        assert!(results[i].0, "call {i} should fail: {:?}", results[i]);
        assert!(results[i].1.contains(words), "call {i} should say {words:?}: {:?}", results[i]);
    };
    failed(0, "the sandbox runs at most 64 processes at once");
    failed(1, "CPU time limit of 2 s");
    failed(2, "is not a regular file");
    failed(3, "No space left on device");
    for port in [4, 5] {
        assert!(results[port].0 && !results[port].1.contains("connected"), "{:?}", results[port]);
    }
    assert_eq!(results[6], (false, "still here\n".to_owned()));
}

/// On the embedded engine an admin issues a self-hosted environment's key from its page: shown
/// once, working at once against the engine, and never in the audit log, which names the
/// environment. An operator may not. On PostgreSQL the servers are replicas, which never embed an
/// engine: their upstream is an API of its own, whose keys come from its console, and they say so.
#[tokio::test]
async fn an_admin_issues_an_environment_key_shown_once_and_never_audited() {
    let app = spawn_app(&[]).await;
    let (status, env) =
        app.call("environments/save", &[("id", ""), ("form[name]", "fleet"), ("form[kind]", "self_hosted")]).await;
    assert_eq!(status, 200, "{env}");
    let env_id = env["row"]["id"].as_str().unwrap().to_owned();
    let (status, key) = app.call("work/key", &[("environment_id", &env_id)]).await;
    if support::on_postgres() {
        assert_eq!(status, 400, "{key}");
        assert!(key["message"].as_str().unwrap().contains("keys come from Anthropic's console"), "{key}");
        let (status, keys) = app.read("work/keys", &[("environment_id", &env_id)]).await;
        assert_eq!((status, keys), (200, Value::Null), "no keys of its own to list");
        let (status, refused) =
            app.call("work/keys/revoke", &[("environment_id", &env_id), ("key_id", "envkey_1")]).await;
        assert_eq!(status, 400, "{refused}");
        assert!(refused["message"].as_str().unwrap().contains("Anthropic's console"), "{refused}");
        return;
    }
    assert_eq!(status, 200, "{key}");
    let key = key.as_str().expect("the key").to_owned();
    assert!(key.starts_with("envk_"), "{key}");
    // The key works against the engine at once, as a worker uses it.
    let (_, queue) = app.read("work/queue", &[("environment_id", &env_id)]).await;
    let base = queue["command"].as_str().unwrap().split("--base-url ").nth(1).unwrap().split(' ').next().unwrap();
    let (status, stats) = support::engine_get(base, &format!("/v1/environments/{env_id}/work/stats"), &key).await;
    assert_eq!(status, 200, "{stats}");
    let entries = support::audit_entries(&app, "work/key").await;
    let text = serde_json::to_string(&entries).unwrap();
    assert!(text.contains(&env_id) && !text.contains(&key), "{text}");
    // A cloud environment has no key, said in a sentence.
    let cloud = create_environment(&app, "cloud").await;
    let (status, refused) = app.call("work/key", &[("environment_id", cloud["id"].as_str().unwrap())]).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("cloud environment"), "{refused}");
    let operator = app.client_as("olive", &["operator"]).await;
    let (status, refused) = app.call_as(&operator, "work/key", &[("environment_id", &env_id)]).await;
    assert_eq!(status, 403, "{refused}");

    // The admin lists the keys, never their values, and revokes one: refused at once.
    let (status, keys) = app.read("work/keys", &[("environment_id", &env_id)]).await;
    assert_eq!(status, 200, "{keys}");
    let listed = keys.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{keys}");
    assert_eq!(listed[0]["hint"].as_str(), Some(&key[key.len() - 4..]));
    assert!(listed[0]["revoked_at"].is_null() && listed[0]["last_used_at"].is_string(), "{keys}");
    assert!(!keys.to_string().contains(&key), "a listed key shows its value");
    let key_id = listed[0]["id"].as_str().unwrap().to_owned();
    let (status, refused) = app.read_as(&operator, "work/keys", &[("environment_id", &env_id)]).await;
    assert_eq!(status, 403, "{refused}");
    let revoking = [("environment_id", env_id.as_str()), ("key_id", key_id.as_str())];
    let (status, refused) = app.call_as(&operator, "work/keys/revoke", &revoking).await;
    assert_eq!(status, 403, "{refused}");
    let other = [("environment_id", cloud["id"].as_str().unwrap()), ("key_id", key_id.as_str())];
    let (status, refused) = app.call("work/keys/revoke", &other).await;
    assert_eq!(status, 404, "a key is revoked through its own environment: {refused}");
    let (status, revoked) = app.call("work/keys/revoke", &revoking).await;
    assert_eq!(status, 200, "{revoked}");
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    let (status, stats) = support::engine_get(base, &format!("/v1/environments/{env_id}/work/stats"), &key).await;
    assert_eq!(status, 401, "a revoked key works no more: {stats}");
    let entries = support::audit_entries(&app, "work/keys/revoke").await;
    let text = serde_json::to_string(&entries).unwrap();
    assert!(text.contains(&key_id) && !text.contains(&key), "{text}");
}

/// The agent form reads an MCP server's tools from Switchboard's host: a server that is not there
/// and one at an internal address each get an answer in words, on the URL field; the cloud
/// metadata service is refused even when internal addresses are allowed.
#[tokio::test]
async fn reading_an_mcp_servers_tools_says_why_it_could_not() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let closed = format!("http://127.0.0.1:{port}/mcp");
    let app = spawn_app(&[("SWITCHBOARD_ENGINE_MCP_PRIVATE_HOSTS", "127.0.0.1")]).await;
    let (status, error) = app.call("agents/mcp_tools", &[("url", &closed)]).await;
    assert_eq!((status, error["field"].as_str()), (400, Some("url")), "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("could not be reached") && message.contains("type its tools' names"), "{message}");
    let (status, error) = app.call("agents/mcp_tools", &[("url", "http://169.254.169.254/mcp")]).await;
    assert_eq!(status, 400);
    assert!(error["message"].as_str().unwrap().contains("cloud metadata service"), "{error}");
    let (status, error) = app.call("agents/mcp_tools", &[("url", "ftp://example.com")]).await;
    assert_eq!((status, error["field"].as_str()), (400, Some("url")), "{error}");

    // Without the operator's word, an internal address is not reached at all.
    let app = spawn_app(&[]).await;
    let (status, error) = app.call("agents/mcp_tools", &[("url", &closed)]).await;
    assert_eq!(status, 400);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("will not connect") && message.contains("SWITCHBOARD_ENGINE_MCP_PRIVATE_HOSTS"),
        "{message}"
    );
}

/// The new-session form attaches a GitHub repository at a branch with its token: the session's
/// page shows the repository and its checkout, and neither its answers nor the audit log ever
/// hold the token (the API keeps it write-only).
#[tokio::test]
async fn a_repository_is_attached_from_the_form_and_its_token_is_never_shown_or_audited() {
    let app = spawn_app(&[]).await;
    let agent = create_agent(&app, &scripted_agent("Coder", json!([[{"text": "x"}]]))).await;
    let env = create_environment(&app, "code").await;
    let token = "ghp_console_form_0a1b2c";
    let (status, session) = app
        .call(
            "sessions/create",
            &[
                ("form[agent_id]", agent["id"].as_str().unwrap()),
                ("form[environment_id]", env["id"].as_str().unwrap()),
                ("form[repository_url]", "https://github.com/acme/billing"),
                ("form[repository_ref]", "release/2.x"),
                ("form[repository_token]", token),
            ],
        )
        .await;
    assert_eq!(status, 200, "{session}");
    let resources = &session["resources"];
    assert_eq!(resources[0]["type"], "github_repository", "{session}");
    assert_eq!(resources[0]["source"], "https://github.com/acme/billing");
    assert_eq!(resources[0]["mount_path"], "/workspace/billing");
    assert_eq!(resources[0]["checkout"], "branch release/2.x");
    let id = session["row"]["id"].as_str().unwrap();
    let (status, page) = app.read("sessions/get", &[("id", id)]).await;
    assert_eq!(status, 200, "{page}");
    for shown in [&session, &page] {
        assert!(!shown.to_string().contains(token), "{shown}");
    }
    let entries = support::audit_entries(&app, "sessions/create").await;
    let text = serde_json::to_string(&entries).unwrap();
    assert!(text.contains(id) && !text.contains(token), "{text}");

    // A token without a repository is refused in place, the token not repeated.
    let (status, refused) = app
        .call(
            "sessions/create",
            &[
                ("form[agent_id]", agent["id"].as_str().unwrap()),
                ("form[environment_id]", env["id"].as_str().unwrap()),
                ("form[repository_token]", token),
            ],
        )
        .await;
    assert_eq!((status, refused["field"].as_str()), (400, Some("repository_url")), "{refused}");
    assert!(!refused.to_string().contains(token));
}
