//! Who made what, over HTTP against a real Switchboard: each agent, environment, session,
//! deployment, vault and memory store made through the console or through Switchboard's API is
//! recorded under the person (and the token) who made it; the lists say so and filter "Mine"; a
//! change is not a creation; the API's own answers stay as the API gives them.

use crate::support;

use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, make_token, scripted_agent, spawn_app, v1};

/// Makes one of each kind through the console as whoever `client` is; answers their ids by kind
/// (the list endpoint's prefix).
async fn one_of_each(app: &TestApp, client: &reqwest::Client, name: &str) -> Vec<(&'static str, String)> {
    let id_of =
        |answer: &Value| answer["id"].as_str().or_else(|| answer["row"]["id"].as_str()).expect("an id").to_owned();
    let definition = scripted_agent(name, json!([[{ "text": "hi" }]])).to_string();
    let (status, agent) = app.call_as(client, "agents/create", &[("definition", &definition)]).await;
    assert_eq!(status, 200, "{agent}");
    let form = [("id", ""), ("form[name]", name), ("form[kind]", "cloud"), ("form[networking]", "unrestricted")];
    let (status, environment) = app.call_as(client, "environments/save", &form).await;
    assert_eq!(status, 200, "{environment}");
    let (agent, environment) = (id_of(&agent), id_of(&environment));
    let form = [("form[agent_id]", agent.as_str()), ("form[environment_id]", environment.as_str())];
    let (status, session) = app.call_as(client, "sessions/create", &form).await;
    assert_eq!(status, 200, "{session}");
    let form = [
        ("id", ""),
        ("form[name]", name),
        ("form[agent_id]", agent.as_str()),
        ("form[environment_id]", environment.as_str()),
        ("form[initial_message]", "Summarise yesterday."),
    ];
    let (status, deployment) = app.call_as(client, "deployments/save", &form).await;
    assert_eq!(status, 200, "{deployment}");
    let (status, vault) = app.call_as(client, "vaults/create", &[("display_name", name)]).await;
    assert_eq!(status, 200, "{vault}");
    let (status, store) = app.call_as(client, "memory/save", &[("id", ""), ("name", name), ("description", "")]).await;
    assert_eq!(status, 200, "{store}");
    vec![
        ("agents", agent),
        ("environments", environment),
        ("sessions", id_of(&session)),
        ("deployments", id_of(&deployment)),
        ("vaults", id_of(&vault)),
        ("memory", id_of(&store)),
    ]
}

/// The rows of `kind`'s list as `client` reads it, mine only or all.
async fn rows(app: &TestApp, client: &reqwest::Client, kind: &str, mine: bool) -> Vec<Value> {
    let mine = mine.to_string();
    let query = [("include_archived", "false"), ("mine", mine.as_str())];
    let (status, page) = app.read_as(client, &format!("{kind}/list"), &query).await;
    assert_eq!(status, 200, "{kind}: {page}");
    page["data"].as_array().unwrap().clone()
}

fn row<'a>(rows: &'a [Value], id: &str) -> Option<&'a Value> {
    rows.iter().find(|row| row["id"] == id)
}

#[tokio::test]
async fn each_kind_made_in_the_console_is_listed_under_its_maker_and_under_mine() {
    let app = spawn_app(&[]).await;
    let bea = app.client_as("bea", &["viewer", "operator", "admin"]).await;
    let admins = one_of_each(&app, &app.client, "Admin's").await;
    let beas = one_of_each(&app, &bea, "Bea's").await;

    for ((kind, admins), (_, beas)) in admins.iter().zip(&beas) {
        // Everyone's list says who made each, made in the browser (no credential named).
        let all = rows(&app, &app.client, kind, false).await;
        let made = row(&all, admins).unwrap_or_else(|| panic!("{kind}: {admins} listed"));
        assert_eq!(made["created_by"]["username"], "admin", "{kind}: {made}");
        assert_eq!(made["created_by"]["via"], Value::Null, "{kind}: made in the browser");
        assert_eq!(row(&all, beas).unwrap()["created_by"]["username"], "bea", "{kind}");
        // Mine holds one's own only.
        let mine = rows(&app, &bea, kind, true).await;
        let ids: Vec<&str> = mine.iter().map(|row| row["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [beas.as_str()], "{kind}: Bea's own");
        let mine = rows(&app, &app.client, kind, true).await;
        assert!(row(&mine, admins).is_some() && row(&mine, beas).is_none(), "{kind}: the admin's own");
    }

    // The session's page says who started it.
    let session = &beas[2].1;
    let (status, view) = app.read("sessions/get", &[("id", session)]).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["row"]["created_by"]["username"], "bea", "{view}");

    // A change by someone else is not a creation: the maker stays.
    let (agent, environment) = (&admins[0].1, &admins[1].1);
    let definition = scripted_agent("Changed by Bea", json!([[{ "text": "hello" }]])).to_string();
    let (status, changed) =
        app.call_as(&bea, "agents/update", &[("id", agent), ("version", "1"), ("definition", &definition)]).await;
    assert_eq!(status, 200, "{changed}");
    let form = [
        ("id", environment.as_str()),
        ("form[name]", "renamed"),
        ("form[kind]", "cloud"),
        ("form[networking]", "unrestricted"),
    ];
    let (status, renamed) = app.call_as(&bea, "environments/save", &form).await;
    assert_eq!(status, 200, "{renamed}");
    for kind in ["agents", "environments"] {
        let all = rows(&app, &app.client, kind, false).await;
        let id = if kind == "agents" { agent } else { environment };
        assert_eq!(row(&all, id).unwrap()["created_by"]["username"], "admin", "{kind}: still the admin's");
        assert!(row(&rows(&app, &bea, kind, true).await, id).is_none(), "{kind}: not Bea's for changing it");
    }
}

#[tokio::test]
async fn what_a_token_makes_is_its_owners_through_the_token_and_the_apis_answer_stays_its_own() {
    let app = spawn_app(&[]).await;
    let carl = app.client_as("carl", &["viewer", "operator"]).await;
    let token = make_token(&app, &carl, "CI deploys", &["viewer", "operator"]).await;

    let (status, _, agent) =
        v1(&app, &token, Method::POST, "/v1/agents", Some(scripted_agent("From CI", json!([[{ "text": "hi" }]]))))
            .await;
    assert_eq!(status, 200, "{agent}");
    let id = agent["id"].as_str().unwrap();
    // The API's answers carry nothing of Switchboard's record.
    assert!(agent.get("created_by").is_none(), "{agent}");
    let (status, _, read) = v1(&app, &token, Method::GET, &format!("/v1/agents/{id}"), None).await;
    assert_eq!(status, 200, "{read}");
    assert!(read.get("created_by").is_none(), "{read}");
    let (_, _, listed) = v1(&app, &token, Method::GET, "/v1/agents", None).await;
    assert!(listed["data"].as_array().unwrap().iter().all(|a| a.get("created_by").is_none()), "{listed}");

    // The console says Carl made it, through the token.
    let all = rows(&app, &app.client, "agents", false).await;
    let made = &row(&all, id).expect("listed")["created_by"];
    assert_eq!(made["username"], "carl", "{made}");
    assert!(made["via"].as_str().unwrap().contains("CI deploys"), "the token is named: {made}");
    assert!(!made["via"].as_str().unwrap().contains(&token[..12]), "the token itself is not: {made}");
    assert!(row(&rows(&app, &carl, "agents", true).await, id).is_some(), "Carl's own");
    assert!(row(&rows(&app, &app.client, "agents", true).await, id).is_none(), "not the admin's");

    // An update through the API is no creation.
    let body = json!({ "version": 1, "description": "changed" });
    let (status, _, changed) = v1(&app, &token, Method::POST, &format!("/v1/agents/{id}"), Some(body)).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(rows(&app, &carl, "agents", true).await.len(), 1, "still one of Carl's");

    // A creation the API refused records nothing.
    let (status, _, refused) = v1(&app, &token, Method::POST, "/v1/agents", Some(json!({ "name": "" }))).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(rows(&app, &carl, "agents", true).await.len(), 1);
}

#[tokio::test]
async fn mine_pages_newest_first_and_skips_what_was_archived_or_deleted() {
    let app = spawn_app(&[]).await;
    let mut made = Vec::new();
    for n in 0..23 {
        let definition = scripted_agent(&format!("Agent {n}"), json!([[{ "text": "hi" }]])).to_string();
        let (status, agent) = app.call("agents/create", &[("definition", &definition)]).await;
        assert_eq!(status, 200, "{agent}");
        made.push(agent["id"].as_str().unwrap().to_owned());
    }
    let (status, archived) = app.call("agents/archive", &[("id", &made[22])]).await;
    assert_eq!(status, 200, "{archived}");

    let page = |cursor: Option<String>| {
        let app = &app;
        async move {
            let mut query = vec![("include_archived", "false".to_owned()), ("mine", "true".to_owned())];
            if let Some(cursor) = cursor {
                query.push(("page", cursor));
            }
            let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, page) = app.read("agents/list", &query).await;
            assert_eq!(status, 200, "{page}");
            page
        }
    };
    let ids = |page: &Value| -> Vec<String> {
        page["data"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect()
    };
    // Newest first, twenty to a page: the archived newest is left out of the first.
    let first = page(None).await;
    let newest: Vec<String> = made.iter().rev().skip(1).take(19).cloned().collect();
    assert_eq!(ids(&first), newest);
    let cursor = first["next_page"].as_str().expect("a second page").to_owned();
    let second = page(Some(cursor)).await;
    assert_eq!(ids(&second), [made[2].clone(), made[1].clone(), made[0].clone()]);
    assert_eq!(second["next_page"], Value::Null, "the last page");

    // With archived shown, it is there again.
    let (_, shown) = app.read("agents/list", &[("include_archived", "true"), ("mine", "true")]).await;
    assert_eq!(ids(&shown)[0], made[22]);
}
