//! Approval policies on a real Switchboard with its embedded engine: two approvers before
//! `allow` goes, no self-approval, one denial final, and the audit entries they leave.

use crate::support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{TestApp, asking_session, audit_entries, audit_entries_at_least, spawn_app};

async fn decide_as(app: &TestApp, client: &reqwest::Client, session: &str, call: &str, allow: bool) -> (u16, Value) {
    let body =
        json!({ "session_id": session, "verdicts": [{ "event_id": call, "allow": allow, "deny_message": null }] });
    let response = client.post(format!("{}/api/sessions/decide", app.address)).json(&body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// The ids of `session`'s calls the inbox lists, once it lists `n`.
async fn waiting_calls(app: &TestApp, session: &str, n: usize) -> Vec<String> {
    for _ in 0..300 {
        let (_, inbox) = app.read("inbox/list", &[]).await;
        let calls: Vec<String> = inbox["calls"]
            .as_array()
            .map(|calls| {
                calls
                    .iter()
                    .filter(|c| c["session_id"] == session)
                    .map(|c| c["event"]["id"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        if calls.len() >= n {
            return calls;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{session} never had {n} waiting calls");
}

/// Every event of the session the API holds, as Switchboard lists them.
async fn events(app: &TestApp, session: &str) -> Vec<Value> {
    let (status, page) = app.read("sessions/events", &[("id", session)]).await;
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().unwrap().clone()
}

async fn until_said(app: &TestApp, session: &str, text: &str) -> Vec<Value> {
    for _ in 0..300 {
        let events = events(app, session).await;
        if events.iter().any(|e| e["type"] == "agent.message" && e.to_string().contains(text)) {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the agent never said {text:?}");
}

async fn save_policy(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    app.call("policies/save", form).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_approvers_send_allow_once_and_nobody_allows_a_call_their_own_message_led_to() {
    let app = spawn_app(&[]).await;
    let ann = app.client_as("ann", &["approver"]).await;
    let bob = app.client_as("bob", &["approver"]).await;
    let carol = app.client_as("carol", &["approver"]).await;
    let vic = app.client_as("vic", &["viewer"]).await;

    // Only an admin sets a policy; a bad one is refused with its field named.
    let every = [("form[agent_id]", "*"), ("form[required_approvals]", "2"), ("form[no_self_approval]", "true")];
    let response = ann.post(format!("{}/api/policies/save", app.address)).form(&every).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let (status, refused) =
        save_policy(&app, &[("form[agent_id]", "*"), ("form[required_approvals]", "2"), ("form[first]", "nobody")])
            .await;
    assert_eq!((status, refused["field"].as_str()), (400, Some("first")), "{refused}");
    let (status, policy) = save_policy(&app, &every).await;
    assert_eq!(status, 200, "{policy}");
    assert_eq!((policy["required_approvals"].as_u64(), policy["no_self_approval"].as_bool()), (Some(2), Some(true)));

    // The admin starts the session: its first message, and so its calls, are the admin's.
    let turns = json!([[{ "tool": "bash", "input": { "command": "echo twice approved" } }, { "text": "Done." }]]);
    let session = asking_session(&app, "policy test", turns).await;
    let call = waiting_calls(&app, &session, 1).await.remove(0);

    // The card's state: who led to the call, and no approvals yet.
    let (status, state) = app.read_as(&vic, "sessions/approvals", &[("session_id", &session)]).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["policy"]["required_approvals"], 2);
    let card = state["calls"].as_array().unwrap().iter().find(|c| c["event_id"] == call.as_str()).unwrap().clone();
    assert_eq!(card["sender"], json!({ "kind": "person", "username": "admin", "label": "Admin (admin)" }), "{state}");
    assert_eq!(card["approved_by"], json!([]));

    // Self-approval: refused, whole, with the reason; nothing recorded.
    let (status, refused) = decide_as(&app, &app.client, &session, &call, true).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("You sent the message that led to call"), "{refused}");

    // One approval does not send allow; the same person again does not count twice.
    let (status, first) = decide_as(&app, &ann, &session, &call, true).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["sent"], json!([]));
    assert_eq!(first["waiting"], json!([{ "event_id": call, "approved_by": ["ann"], "required": 2 }]));
    let (_, again) = decide_as(&app, &ann, &session, &call, true).await;
    assert_eq!(again["waiting"][0]["approved_by"], json!(["ann"]), "{again}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !events(&app, &session).await.iter().any(|e| e["type"] == "user.tool_confirmation"),
        "nothing went upstream after one approval"
    );
    assert_eq!(waiting_calls(&app, &session, 1).await, vec![call.clone()], "the call still waits");
    let (_, state) = app.read_as(&vic, "sessions/approvals", &[("session_id", &session)]).await;
    let card = state["calls"].as_array().unwrap().iter().find(|c| c["event_id"] == call.as_str()).unwrap().clone();
    assert_eq!(card["approved_by"], json!(["ann"]));

    // The second person's approval sends allow, once, as both people's decision.
    let (status, second) = decide_as(&app, &bob, &session, &call, true).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["sent"], json!([call]));
    let (_, third) = decide_as(&app, &carol, &session, &call, true).await;
    assert_eq!(third["sent"], json!([]));
    assert_eq!(third["taken"][0]["decided_by"], "ann and bob", "{third}");
    let events = until_said(&app, &session, "Done.").await;
    let confirmations: Vec<&Value> = events.iter().filter(|e| e["type"] == "user.tool_confirmation").collect();
    assert_eq!(confirmations.len(), 1, "{confirmations:?}");
    assert_eq!(confirmations[0]["result"], "allow");

    // Each step is an audit entry: the refusal with its reason, the approval that waited.
    let decided = audit_entries(&app, "sessions/decide").await;
    let admins = decided.iter().find(|e| e["who"] == "admin").expect("the refused self-approval");
    assert_eq!(admins["detail"]["policy"]["refused_self_approval"], call.as_str(), "{admins}");
    assert!(admins["error"].as_str().unwrap_or_default().contains("You sent the message"), "{admins}");
    let anns = decided.iter().rfind(|e| e["who"] == "ann").expect("ann's first approval");
    assert_eq!(anns["detail"]["policy"]["waiting_for_approvals"][0]["approvals"], 1, "{anns}");
    let saved = audit_entries(&app, "policies/save").await;
    let outcomes: Vec<(&str, u64)> =
        saved.iter().map(|e| (e["who"].as_str().unwrap(), e["status"].as_u64().unwrap())).collect();
    assert_eq!(outcomes, [("admin", 200), ("admin", 400), ("ann", 403)], "newest first: {saved:?}");
    assert_eq!(saved[0]["detail"]["policy"]["required_approvals"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_two_approvers_one_denial_is_final_and_an_agents_own_policy_replaces_every_agents() {
    let app = spawn_app(&[]).await;
    let ann = app.client_as("ann", &["approver"]).await;
    let bob = app.client_as("bob", &["approver"]).await;
    let (status, _) = save_policy(&app, &[("form[agent_id]", "*"), ("form[required_approvals]", "2")]).await;
    assert_eq!(status, 200);
    let turns = json!([[{ "tool": "bash", "input": { "command": "echo a" } }, { "tool": "bash", "input": { "command": "echo b" } }, { "text": "Done." }]]);
    let session = asking_session(&app, "deny test", turns).await;
    let calls = waiting_calls(&app, &session, 2).await;
    assert_eq!(decide_as(&app, &ann, &session, &calls[0], true).await.1["waiting"].as_array().unwrap().len(), 1);
    let (status, denied) = decide_as(&app, &bob, &session, &calls[0], false).await;
    assert_eq!((status, &denied["sent"]), (200, &json!([calls[0]])), "{denied}");

    // The agent's own policy (one approver) replaces the one for every agent.
    let (_, session_view) = app.read("sessions/get", &[("id", &session)]).await;
    let agent = session_view["row"]["agent_id"].as_str().unwrap().to_owned();
    let (status, _) = save_policy(&app, &[("form[agent_id]", &agent), ("form[required_approvals]", "1")]).await;
    assert_eq!(status, 200);
    let (_, state) = app.read("sessions/approvals", &[("session_id", &session)]).await;
    assert_eq!(state["policy"], Value::Null, "a one-approver policy gates nothing: {state}");
    let (status, allowed) = decide_as(&app, &ann, &session, &calls[1], true).await;
    assert_eq!((status, &allowed["sent"]), (200, &json!([calls[1]])), "{allowed}");
    let events = until_said(&app, &session, "Done.").await;
    let results: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "user.tool_confirmation")
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["deny", "allow"]);
    // Removing the agent's policy brings back every agent's; removing it twice says so.
    assert_eq!(app.call("policies/delete", &[("agent_id", &agent)]).await.0, 200);
    assert_eq!(app.call("policies/delete", &[("agent_id", &agent)]).await.0, 404);
    let (_, listed) = app.read("policies/list", &[]).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["agent_id"], "*");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_holds_back_a_rule_made_before_it_and_refuses_new_ones() {
    let app = spawn_app(&[]).await;
    let turns = json!([
        [{ "tool": "bash", "input": { "command": "echo one" } }, { "text": "First done." }],
        [{ "tool": "bash", "input": { "command": "echo two" } }, { "text": "Second done." }]
    ]);
    let session = asking_session(&app, "rule and policy", turns).await;
    waiting_calls(&app, &session, 1).await;
    let rule = [
        ("rule[session_id]", session.as_str()),
        ("rule[tool]", "bash"),
        ("rule[pattern]", "echo"),
        ("rule[scope]", "session"),
        ("rule[minutes]", "60"),
    ];
    let (status, made) = app.call("rules/create", &rule).await;
    assert_eq!(status, 200, "{made}");
    until_said(&app, &session, "First done.").await;

    let (status, _) = save_policy(&app, &[("form[agent_id]", "*"), ("form[required_approvals]", "2")]).await;
    assert_eq!(status, 200);
    let (status, refused) = app.call("rules/create", &rule).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("a rule cannot stand in"), "{refused}");

    let steer = json!({ "session_id": session, "text": "again", "file_ids": [], "interrupt": false });
    let response = app.client.post(format!("{}/api/sessions/steer", app.address)).json(&steer).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let held = audit_entries_at_least(&app, "policies/held_rule", 1).await;
    assert_eq!(held[0]["detail"]["rule"], made["id"], "{held:?}");
    let call = waiting_calls(&app, &session, 1).await.remove(0);
    assert!(held[0]["targets"].as_str().unwrap().contains(&call));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(waiting_calls(&app, &session, 1).await, [call], "the rule did not answer it");
    assert_eq!(audit_entries(&app, "policies/held_rule").await.len(), 1, "audited once, not on every read");
    assert_eq!(audit_entries(&app, "rules/allowed").await.len(), 1, "only the call before the policy");
}

/// The bash entry of the built-in toolset's `configs` in the newest `session.updated` event.
async fn bash_config(app: &TestApp, session: &str) -> Option<Value> {
    let events = events(app, session).await;
    let updated = events.iter().rev().find(|e| e["type"] == "session.updated").expect("a session.updated event");
    let tools = updated["agent"]["tools"].as_array().unwrap();
    let toolset = tools.iter().find(|t| t["type"] == "agent_toolset_20260401").unwrap();
    toolset["configs"].as_array().and_then(|c| c.iter().find(|c| c["name"] == "bash").cloned())
}

/// A session rule for a whole built-in tool is written into the session's own tool policy: the
/// agent stops asking from its next turn. Revoking the rule puts the policy back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_tool_rule_is_written_into_the_sessions_tool_policy_and_taken_back_on_revoke() {
    let app = spawn_app(&[]).await;
    let turns = json!([
        [{ "tool": "bash", "input": { "command": "echo one" } }, { "text": "First done." }],
        [{ "tool": "bash", "input": { "command": "echo two" } }, { "text": "Second done." }],
        [{ "tool": "bash", "input": { "command": "echo three" } }, { "text": "Third done." }]
    ]);
    let session = asking_session(&app, "whole tool", turns).await;
    waiting_calls(&app, &session, 1).await;
    let rule = [
        ("rule[session_id]", session.as_str()),
        ("rule[tool]", "bash"),
        ("rule[pattern]", ""),
        ("rule[scope]", "session"),
        ("rule[minutes]", "60"),
    ];
    let (status, made) = app.call("rules/create", &rule).await;
    assert_eq!(status, 200, "{made}");
    assert_eq!((made["written"].as_bool(), &made["write_note"]), (Some(true), &Value::Null), "{made}");
    assert_eq!(bash_config(&app, &session).await.unwrap()["permission_policy"]["type"], "always_allow");
    until_said(&app, &session, "First done.").await;

    // The next turn's call is not asked at all: the rule answers nothing more.
    let steer = |text: &str| json!({ "session_id": session, "text": text, "file_ids": [], "interrupt": false });
    let sent =
        app.client.post(format!("{}/api/sessions/steer", app.address)).json(&steer("again")).send().await.unwrap();
    assert_eq!(sent.status().as_u16(), 200);
    until_said(&app, &session, "Second done.").await;
    assert_eq!(audit_entries(&app, "rules/allowed").await.len(), 1, "only the call asked before the policy changed");

    // Revoked: the session's policy is put back as it was (always_ask, the agent's), and it asks.
    let id = made["id"].as_i64().unwrap().to_string();
    let (status, _) = app.call("rules/revoke", &[("id", &id)]).await;
    assert_eq!(status, 200);
    assert_eq!(bash_config(&app, &session).await.unwrap()["permission_policy"]["type"], "always_ask");
    let sent =
        app.client.post(format!("{}/api/sessions/steer", app.address)).json(&steer("once more")).send().await.unwrap();
    assert_eq!(sent.status().as_u16(), 200);
    let call = waiting_calls(&app, &session, 1).await.remove(0);
    let events = events(&app, &session).await;
    let asked = events.iter().find(|e| e["id"] == call.as_str()).unwrap();
    assert_eq!(asked["input"]["command"], "echo three");
}

/// The engine beside Switchboard, asked directly (as another API client would), for what happens
/// while Switchboard is down.
struct Api<'a> {
    base_url: &'a str,
    http: reqwest::Client,
}

impl Api<'_> {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        support::api_call(&self.http, (self.base_url, DEADLINE_KEY), method, path, body).await
    }

    async fn events(&self, session: &str) -> Vec<Value> {
        let page = self.call(reqwest::Method::GET, &format!("/v1/sessions/{session}/events?limit=1000"), None).await;
        page["data"].as_array().unwrap().clone()
    }

    /// The session's confirmations, once it has `n`.
    async fn confirmations(&self, session: &str, n: usize) -> Vec<Value> {
        for _ in 0..300 {
            let confirmations: Vec<Value> =
                self.events(session).await.into_iter().filter(|e| e["type"] == "user.tool_confirmation").collect();
            if confirmations.len() >= n {
                return confirmations;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{session} never had {n} confirmations");
    }

    /// The session's call of `tool`, once the agent has made it.
    async fn call_of(&self, session: &str, tool: &str) -> Value {
        for _ in 0..300 {
            let events = self.events(session).await;
            if let Some(call) = events.into_iter().find(|e| e["type"] == "agent.tool_use" && e["name"] == tool) {
                return call;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{session} never called {tool}");
    }
}

const DEADLINE_KEY: &str = "deadline-test-key";

/// The deadline entries of the audit log, by the call each names.
async fn deadline_entries(app: &TestApp) -> Vec<(String, Value)> {
    audit_entries(app, "policies/deadline_denied").await.into_iter().map(|e| (e["targets"].to_string(), e)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_past_its_deadline_is_denied_once_with_its_message_also_across_a_restart() {
    let engine = support::spawn_engine(DEADLINE_KEY).await;
    let api = Api { base_url: &engine.base_url, http: engine::http_client::client() };
    let vars = [("ANTHROPIC_API_KEY", DEADLINE_KEY), ("ANTHROPIC_BASE_URL", engine.base_url.as_str())];
    let app = support::start(support::TempDir::new().into(), &vars, true).await;
    app.sign_in(&app.client, "admin", support::ADMIN_PASSWORD).await;

    // A bad deadline is refused with its field named; then: an hour for every tool, bash 2 s.
    let (status, refused) =
        save_policy(&app, &[("form[agent_id]", "*"), ("form[required_approvals]", "1"), ("form[deadline]", "soon")])
            .await;
    assert_eq!((status, refused["field"].as_str()), (400, Some("deadline")), "{refused}");
    let form = [
        ("form[agent_id]", "*"),
        ("form[required_approvals]", "1"),
        ("form[deadline]", "1h"),
        ("form[tool_deadlines]", "bash 2s"),
    ];
    let (status, policy) = save_policy(&app, &form).await;
    assert_eq!(status, 200, "{policy}");
    assert_eq!(policy["deadline"], json!({ "after_secs": 3600, "tools": [{ "tool": "bash", "after_secs": 2 }] }));

    // A bash call waits 2 s, then is denied with the message, once.
    let turns = json!([[{ "tool": "bash", "input": { "command": "echo too late" } }, { "text": "Done." }]]);
    let first = asking_session(&app, "deadline test", turns).await;
    let message = "No decision within 2 seconds: denied by the approval policy.";
    let asked = api.call_of(&first, "bash").await;
    let confirmation = &api.confirmations(&first, 1).await[0];
    assert_eq!((confirmation["result"].as_str(), confirmation["deny_message"].as_str()), (Some("deny"), Some(message)));
    assert_eq!(confirmation["tool_use_id"], asked["id"]);
    let waited = domain::format::parse_rfc3339_ms(confirmation["processed_at"].as_str().unwrap()).unwrap()
        - domain::format::parse_rfc3339_ms(asked["processed_at"].as_str().unwrap()).unwrap();
    assert!(waited >= 2000.0, "denied after {waited} ms, before its deadline");
    let entries = audit_entries_at_least(&app, "policies/deadline_denied", 1).await;
    assert_eq!(entries[0]["detail"]["deny_message"], message);
    assert_eq!(entries[0]["detail"]["tool"], "bash");
    assert_eq!(entries[0]["roles"], "policy", "{}", entries[0]);

    // A call under the hour's deadline is listed with it, and left waiting.
    let turns = json!([[{ "tool": "read", "input": { "file_path": "/etc/hostname" } }, { "text": "Done." }]]);
    let reading = asking_session(&app, "deadline of an hour", turns).await;
    let read_call = api.call_of(&reading, "read").await;
    let asked_ms = domain::format::parse_rfc3339_ms(read_call["processed_at"].as_str().unwrap()).unwrap() as i64;
    let mut listed = Value::Null;
    for _ in 0..100 {
        let (_, inbox) = app.read("inbox/list", &[]).await;
        if let Some(call) = inbox["calls"].as_array().unwrap().iter().find(|c| c["event"]["id"] == read_call["id"]) {
            listed = call.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listed["deadline_ms"].as_i64(), Some(asked_ms + 3_600_000), "{listed}");

    // Switchboard stops; a bash call comes and passes its deadline meanwhile.
    let session = api.call(reqwest::Method::GET, &format!("/v1/sessions/{first}"), None).await;
    let dir = app.stop().await;
    let body = json!({ "agent": session["agent"]["id"], "environment_id": session["environment_id"] });
    let second = api.call(reqwest::Method::POST, "/v1/sessions", Some(body)).await["id"].as_str().unwrap().to_owned();
    let go = json!({ "events": [{ "type": "user.message", "content": [{ "type": "text", "text": "go" }] }] });
    api.call(reqwest::Method::POST, &format!("/v1/sessions/{second}/events"), Some(go)).await;
    api.call_of(&second, "bash").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(api.confirmations(&second, 0).await.is_empty(), "nobody decided it while Switchboard was down");

    // Started again: the overdue call is denied at once; the first is not denied again.
    let app = support::start(dir, &vars, true).await;
    app.sign_in(&app.client, "admin", support::ADMIN_PASSWORD).await;
    let confirmation = &api.confirmations(&second, 1).await[0];
    assert_eq!((confirmation["result"].as_str(), confirmation["deny_message"].as_str()), (Some("deny"), Some(message)));
    audit_entries_at_least(&app, "policies/deadline_denied", 2).await;
    // A few ticks later: still one denial and one entry per call.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let entries = deadline_entries(&app).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(entries.iter().any(|(targets, _)| targets.contains(&first)));
    assert!(entries.iter().any(|(targets, _)| targets.contains(&second)));
    assert_eq!(api.confirmations(&first, 1).await.len(), 1);
    assert_eq!(api.confirmations(&second, 1).await.len(), 1);
    assert!(api.confirmations(&reading, 0).await.is_empty(), "the hour's call still waits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allow_keeps_its_reason_and_the_input_as_shown_masked_and_sealed_at_rest() {
    let app = spawn_app(&[("SWITCHBOARD_SECRET_KEY", "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=")]).await;
    // Shaped like an Anthropic key, so that the built-in masking pattern takes it; put together
    // here so that no key-like text is in the repository.
    let secret = ["sk", "ant", "api03", "abcdefghijklmnop"].join("-");
    let secret = secret.as_str();
    let command = format!("curl -H 'x-api-key: {secret}' https://example.test/first");
    let turns = json!([[
        { "tool": "bash", "input": { "command": command } },
        { "tool": "bash", "input": { "command": "echo second" } },
        { "text": "Done." }
    ]]);
    let session = asking_session(&app, "reasons", turns).await;
    let first = waiting_calls(&app, &session, 1).await[0].clone();

    // A reason goes with an Allow only; an empty one is no reason.
    let verdict = |allow: bool, reason: &str| json!({ "session_id": session, "verdicts": [{ "event_id": first, "allow": allow, "deny_message": null, "reason": reason }] });
    let response = app
        .client
        .post(format!("{}/api/sessions/decide", app.address))
        .json(&verdict(false, "no"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let refused: Value = response.json().await.unwrap();
    assert_eq!(refused["field"], "reason", "{refused}");
    let response = app
        .client
        .post(format!("{}/api/sessions/decide", app.address))
        .json(&verdict(true, "  read the command; the key is the staging one  "))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    // The second through the card's plain form, with its reason.
    let second = {
        let mut found = None;
        for _ in 0..300 {
            let calls = waiting_calls(&app, &session, 0).await;
            if let Some(call) = calls.into_iter().find(|c| *c != first) {
                found = Some(call);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        found.expect("the second call waits")
    };
    let form = [
        ("session_id", session.as_str()),
        ("event_id", second.as_str()),
        ("verdict", "allow"),
        ("reason", "harmless"),
        ("back", "/inbox"),
    ];
    let response = app
        .client
        .post(format!("{}/api/sessions/decide_form", app.address))
        .header("accept", "text/html")
        .header("origin", app.address.as_str())
        .form(&form)
        .send()
        .await
        .unwrap();
    // Sent back to the Inbox, saying so.
    let to = response.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(response.status().as_u16(), 302);
    assert!(to.starts_with("/inbox?") && to.contains("decision=allowed"), "{to}");
    until_said(&app, &session, "Done.").await;

    // The trail: each Allow's reason, the input as shown with the secret masked, its digest.
    let entries: Vec<Value> = audit_entries(&app, "sessions/decide")
        .await
        .into_iter()
        .chain(audit_entries(&app, "sessions/decide_form").await)
        .filter(|e| e["status"] == 200 || e["status"] == 302)
        .collect();
    let noted = |call: &str| {
        entries
            .iter()
            .flat_map(|e| e["detail"]["decisions"].as_array().cloned().unwrap_or_default())
            .find(|d| d["event_id"] == call)
            .unwrap_or_else(|| panic!("no entry notes {call}: {entries:?}"))
    };
    let (one, two) = (noted(&first), noted(&second));
    assert_eq!(one["reason"], "read the command; the key is the staging one");
    assert_eq!(two["reason"], "harmless");
    let shown = one["input_shown"].as_str().unwrap();
    assert!(shown.contains("https://example.test/first") && shown.contains("••••••"), "{shown}");
    assert!(!shown.contains(secret), "the secret is masked: {shown}");
    assert_eq!(two["input_shown"], r#"{"command":"echo second"}"#);
    assert_eq!(one["input_sha256"].as_str().map(str::len), Some(64));

    // At rest, the input as shown is sealed (the reason is not: it is the person's own words).
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT detail FROM audit WHERE action IN ('sessions/decide', 'sessions/decide_form') AND detail IS NOT NULL",
    )
    .fetch_all(&app.database().await)
    .await
    .unwrap();
    let stored = rows.join("\n");
    assert!(stored.contains("sealed:v1:"), "{stored}");
    assert!(!stored.contains("example.test") && !stored.contains("echo second"), "{stored}");
    assert!(stored.contains("harmless"));
}
