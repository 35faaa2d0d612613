//! Deciding in Slack, on a real Switchboard with its embedded engine, against a Slack API
//! stand-in of the test's own (it records `chat.postMessage`, `chat.update`, `views.open` and
//! `chat.postEphemeral`, and the test sends interactivity payloads signed as Slack signs them).

use crate::support;

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use support::{TestApp, asking_session, audit_entries, slack_standin::StandIn, spawn_app, unix_now};

const SIGNING_SECRET: &str = "0123456789abcdef0123456789abcdef";
const CHANNEL: &str = "C0123ABCDE";

/// An interactivity request's headers and body, signed with `secret` at `timestamp`.
fn signed(secret: &str, timestamp: i64, payload: &Value) -> (String, String, String) {
    let body = form_urlencoded::Serializer::new(String::new()).append_pair("payload", &payload.to_string()).finish();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    let signature = server::support::hex(&mac.finalize().into_bytes());
    (timestamp.to_string(), format!("v0={signature}"), body)
}

async fn send(app: &TestApp, (timestamp, signature, body): &(String, String, String)) -> (u16, String) {
    let response = engine::http_client::client()
        .post(format!("{}/webhooks/slack", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", timestamp)
        .header("x-slack-signature", signature)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

static PRESSES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A button press of Slack user `user` on `message`'s button `action`.
fn press(message: &Value, user: &str, action: &str) -> Value {
    let buttons = message["blocks"].as_array().unwrap().iter().find(|b| b["type"] == "actions").unwrap();
    let value =
        buttons["elements"].as_array().unwrap().iter().find(|e| e["action_id"] == action).unwrap()["value"].clone();
    json!({
        "type": "block_actions",
        "user": { "id": user, "team_id": "T0001" },
        "team": { "id": "T0001" },
        // Unique per press, as Slack's are.
        "trigger_id": format!("trigger-{user}-{}", PRESSES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
        "channel": { "id": CHANNEL },
        "message": { "ts": "1700000000.000001", "text": message["text"] },
        "actions": [{ "action_id": action, "value": value }],
    })
}

/// The Deny modal submitted by `user` with `reason`.
fn deny_submission(opened: &Value, user: &str, reason: &str) -> Value {
    json!({
        "type": "view_submission",
        "user": { "id": user, "team_id": "T0001" },
        "view": {
            "callback_id": opened["view"]["callback_id"],
            "private_metadata": opened["view"]["private_metadata"],
            "state": { "values": { "reason": { "reason_input": { "type": "plain_text_input", "value": reason } } } },
        },
    })
}

async fn with_slack_app(standin_url: &str) -> TestApp {
    spawn_app(&[("SWITCHBOARD_SLACK_API_URL", standin_url)]).await
}

fn bot_token() -> String {
    ["xoxb", "1111", "2222", "abcdefghijkl"].join("-")
}

async fn set_up_app(app: &TestApp) {
    let form = |token: &str, secret: &str| {
        vec![
            ("form[channel]".to_owned(), CHANNEL.to_owned()),
            ("form[bot_token]".to_owned(), token.to_owned()),
            ("form[signing_secret]".to_owned(), secret.to_owned()),
        ]
    };
    let call = |form: Vec<(String, String)>| async move {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        app.call("slack/app/save", &pairs).await
    };
    let (status, refused) = call(form("xoxp-not-a-bot-token", SIGNING_SECRET)).await;
    assert_eq!((status, refused["field"].as_str()), (400, Some("bot_token")), "{refused}");
    let (status, saved) = call(form(&bot_token(), SIGNING_SECRET)).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["app"]["channel"], CHANNEL);
    assert!(!saved.to_string().contains(&bot_token()) && !saved.to_string().contains(SIGNING_SECRET), "write-only");
    assert!(saved["request_url"].as_str().unwrap().ends_with("/webhooks/slack"));
}

/// Links Slack user `user` to the account `client` is signed in as, through the link Slack shows
/// them on their first press; answers the press's message.
async fn link(app: &TestApp, standin: &StandIn, client: &reqwest::Client, message: &Value, user: &str) {
    let before = standin.of("chat.postEphemeral").len();
    let (status, _) = send(app, &signed(SIGNING_SECRET, unix_now(), &press(message, user, "allow"))).await;
    assert_eq!(status, 200);
    let told = standin.holding("chat.postEphemeral", user, 1).await.pop().unwrap();
    assert!(standin.of("chat.postEphemeral").len() > before);
    let text = told["text"].as_str().unwrap();
    assert!(text.contains("nothing was decided") && text.contains("Link your Slack account"), "{text}");
    let url = text.split('<').nth(1).unwrap().split('|').next().unwrap();
    let token = url.split("t=").nth(1).unwrap().split('&').next().unwrap();
    let (status, check) = app.read_as(client, "slack/link", &[("token", token)]).await;
    assert_eq!((status, check["Ready"]["slack_user"].as_str()), (200, Some(user)), "{check}");
    let (status, linked) = app.call_as(client, "slack/link/confirm", &[("token", token)]).await;
    assert_eq!((status, linked["Ready"]["slack_user"].as_str()), (200, Some(user)), "{linked}");
    let (status, again) = app.call_as(client, "slack/link/confirm", &[("token", token)]).await;
    assert_eq!(status, 200);
    assert!(again["Refused"]["why"].as_str().unwrap().contains("works once"), "{again}");
}

/// The session's `user.tool_confirmation` events.
async fn confirmations(app: &TestApp, session: &str) -> Vec<Value> {
    let (status, page) = app.read("sessions/events", &[("id", session)]).await;
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().unwrap().iter().filter(|e| e["type"] == "user.tool_confirmation").cloned().collect()
}

async fn until_confirmations(app: &TestApp, session: &str, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        let found = confirmations(app, session).await;
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{session} never had {n} confirmations");
}

fn event_of(session_events: &[Value]) -> &str {
    session_events[0]["tool_use_id"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_press_in_slack_decides_once_as_the_linked_person_and_a_bad_press_sends_nothing() {
    let (standin, base) = StandIn::start().await;
    let app = with_slack_app(&base).await;
    let ann = app.client_as("ann", &["approver"]).await;
    let vic = app.client_as("vic", &["viewer"]).await;
    let (status, _) = app.call_as(&ann, "slack/app/save", &[("form[channel]", CHANNEL)]).await;
    assert_eq!(status, 403, "only an admin sets the Slack app");
    set_up_app(&app).await;

    let turns = json!([[{ "tool": "bash", "input": { "command": "echo from slack" } }, { "text": "Done." }]]);
    let session = asking_session(&app, "slack", turns).await;
    let message = loop {
        let posts = standin.of("chat.postMessage");
        if let Some(post) = posts.into_iter().find(|p| p.to_string().contains(&session)) {
            break post;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(message["channel"], CHANNEL);
    assert!(message.to_string().contains("$ echo from slack"), "{message}");
    assert!(message.to_string().contains("after a message from Admin (admin)"), "who asked: {message}");
    assert_eq!(standin.calls.lock().unwrap()[0].2, format!("Bearer {}", bot_token()), "the bot token is the bearer");

    // Unknown to Switchboard: told how to link, nothing decided. A viewer, linked, may not decide.
    link(&app, &standin, &ann, &message, "U_ANN").await;
    link(&app, &standin, &vic, &message, "U_VIC").await;
    let (status, _) = send(&app, &signed(SIGNING_SECRET, unix_now(), &press(&message, "U_VIC", "allow"))).await;
    assert_eq!(status, 200);
    standin.holding("chat.postEphemeral", "may not decide calls", 1).await;

    // Unsigned, signed with another secret, stale: refused, nothing sent.
    let allow = press(&message, "U_ANN", "allow");
    let (ts, _, body) = signed(SIGNING_SECRET, unix_now(), &allow);
    assert_eq!(send(&app, &(ts.clone(), "v0=00".into(), body.clone())).await.0, 401);
    assert_eq!(send(&app, &(ts, String::new(), body)).await.0, 401);
    assert_eq!(send(&app, &signed("fedcba9876543210fedcba9876543210", unix_now(), &allow)).await.0, 401);
    assert_eq!(send(&app, &signed(SIGNING_SECRET, unix_now() - 6 * 60, &allow)).await.0, 401);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(confirmations(&app, &session).await.is_empty(), "no bad press decided anything");

    // Ann's press: one confirmation, the message updated in place; its replay refused.
    let good = signed(SIGNING_SECRET, unix_now(), &allow);
    assert_eq!(send(&app, &good).await.0, 200);
    let sent = until_confirmations(&app, &session, 1).await;
    assert_eq!(sent[0]["result"], "allow");
    let updated = standin.holding("chat.update", "Allowed by ann (", 1).await;
    assert_eq!(updated[0]["ts"], "1700000000.000001");
    assert!(!updated[0]["blocks"].to_string().contains("\"actions\""), "no buttons once decided");
    assert_eq!(send(&app, &good).await.0, 409, "a replay");
    let again = signed(SIGNING_SECRET, unix_now(), &press(&message, "U_ANN", "allow"));
    assert_eq!(send(&app, &again).await.0, 200);
    standin.holding("chat.postEphemeral", "Already decided by ann", 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(confirmations(&app, &session).await.len(), 1, "exactly one confirmation");
    assert!(message["blocks"].to_string().contains(event_of(&sent)), "the press decided the posted call");

    // The pages: the Settings section says where Slack sends presses; a bad link says so.
    let (status, settings) = app.get_text("/settings").await;
    assert_eq!(status, 200);
    assert!(settings.contains("Decide in Slack") && settings.contains("/webhooks/slack"), "the Settings section");
    assert!(settings.contains(CHANNEL) && !settings.contains(&bot_token()), "its channel, never its token");
    let page = ann.get(format!("{}/slack/link?t=forged.link", app.address)).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("This is not a link Switchboard made"));

    // An admin sees who is linked, and unlinks: the Slack user's presses then decide nothing.
    let (status, settings) = app.read("slack/app", &[]).await;
    assert_eq!(status, 200, "{settings}");
    let linked: Vec<(&str, &str)> = settings["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["slack_user"].as_str().unwrap(), p["username"].as_str().unwrap()))
        .collect();
    assert_eq!(linked, [("U_ANN", "ann"), ("U_VIC", "vic")]);
    let unlink = [("team", "T0001"), ("slack_user", "U_VIC")];
    assert_eq!(app.call_as(&ann, "slack/people/remove", &unlink).await.0, 403, "only an admin unlinks");
    assert_eq!(app.call("slack/people/remove", &unlink).await.0, 200);
    assert_eq!(app.call("slack/people/remove", &unlink).await.0, 404, "unlinked already");
    let before = standin.of("chat.postEphemeral").len();
    assert_eq!(send(&app, &signed(SIGNING_SECRET, unix_now(), &press(&message, "U_VIC", "allow"))).await.0, 200);
    let told = standin.holding("chat.postEphemeral", "U_VIC", 1).await;
    assert!(standin.of("chat.postEphemeral").len() > before);
    assert!(told.last().unwrap()["text"].as_str().unwrap().contains("Link your Slack account"), "{told:?}");

    let entries = audit_entries(&app, "slack/decide").await;
    let by_ann: Vec<&Value> = entries.iter().filter(|e| e["who"] == "ann").collect();
    assert!(!by_ann.is_empty(), "{entries:?}");
    assert_eq!(
        by_ann.iter().filter(|e| e["status"] == 200).count(),
        2,
        "the decision and the press that found it decided"
    );
    assert!(by_ann[0]["targets"].as_str().unwrap().contains(&session));
    assert!(audit_entries(&app, "slack/app/save").await.iter().all(|e| !e.to_string().contains(&bot_token())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_approvers_may_mix_slack_and_the_browser_and_deny_asks_why_in_a_modal() {
    let (standin, base) = StandIn::start().await;
    let app = with_slack_app(&base).await;
    let ann = app.client_as("ann", &["approver"]).await;
    let bob = app.client_as("bob", &["approver"]).await;
    set_up_app(&app).await;
    let policy = [("form[agent_id]", "*"), ("form[required_approvals]", "2")];
    let (status, saved) = app.call("policies/save", &policy).await;
    assert_eq!(status, 200, "{saved}");

    let turns = json!([
        [{ "tool": "bash", "input": { "command": "echo one" } }, { "text": "First done." }],
        [{ "tool": "bash", "input": { "command": "echo two" } }, { "text": "Second done." }]
    ]);
    let session = asking_session(&app, "two", turns).await;
    let first = loop {
        if let Some(post) = standin.of("chat.postMessage").into_iter().find(|p| p.to_string().contains("echo one")) {
            break post;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    link(&app, &standin, &ann, &first, "U_ANN").await;

    // Ann in Slack: recorded, not sent; Ann again: still not; Bob in the browser: sent, once.
    assert_eq!(send(&app, &signed(SIGNING_SECRET, unix_now(), &press(&first, "U_ANN", "allow"))).await.0, 200);
    standin.holding("chat.update", "waits for another approver", 1).await;
    standin.holding("chat.postEphemeral", "Your approval is recorded", 1).await;
    assert_eq!(send(&app, &signed(SIGNING_SECRET, unix_now(), &press(&first, "U_ANN", "allow"))).await.0, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(confirmations(&app, &session).await.is_empty(), "one person twice is not two approvers");
    let event = first["blocks"].to_string();
    let call = event.split("default ").nth(1).unwrap().split('"').next().unwrap().split(' ').nth(1).unwrap().to_owned();
    let body =
        json!({ "session_id": session, "verdicts": [{ "event_id": call, "allow": true, "deny_message": null }] });
    let response = bob.post(format!("{}/api/sessions/decide", app.address)).json(&body).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let sent = until_confirmations(&app, &session, 1).await;
    assert_eq!(sent[0]["result"], "allow");
    // Decided in the browser: the Slack message says who, in place.
    standin.holding("chat.update", "Allowed by ann and bob", 1).await;

    // The next call: Deny opens a modal; an empty reason is refused in it; a reason denies.
    let steer = json!({ "session_id": session, "text": "again", "file_ids": [], "interrupt": false });
    let response = app.client.post(format!("{}/api/sessions/steer", app.address)).json(&steer).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let second = loop {
        if let Some(post) = standin.of("chat.postMessage").into_iter().find(|p| p.to_string().contains("echo two")) {
            break post;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(send(&app, &signed(SIGNING_SECRET, unix_now(), &press(&second, "U_ANN", "deny"))).await.0, 200);
    let opened = standin.holding("views.open", "trigger-U_ANN", 1).await.remove(0);
    assert_eq!(opened["view"]["type"], "modal");
    let (status, answer) =
        send(&app, &signed(SIGNING_SECRET, unix_now(), &deny_submission(&opened, "U_ANN", " "))).await;
    assert_eq!(status, 200);
    assert!(answer.contains("\"response_action\":\"errors\""), "{answer}");
    assert_eq!(confirmations(&app, &session).await.len(), 1, "an empty reason denies nothing");
    let submitted = deny_submission(&opened, "U_ANN", "Not on a Friday.");
    let (status, answer) = send(&app, &signed(SIGNING_SECRET, unix_now() + 1, &submitted)).await;
    assert_eq!((status, answer.as_str()), (200, r#"{"response_action":"clear"}"#));
    let sent = until_confirmations(&app, &session, 2).await;
    let denial = sent.iter().find(|e| e["result"] == "deny").expect("a denial");
    assert_eq!(denial["deny_message"], "Not on a Friday.");
    standin.holding("chat.update", "Denied by ann (", 1).await;
}

/// A Slack app saved before `SWITCHBOARD_SECRET_KEY` was set is sealed at the next start: its
/// token and signing secret are then in no file of the data directory, and its presses are
/// still checked with the secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slack_apps_secrets_saved_before_the_key_are_sealed_at_the_next_start() {
    let (standin, base) = StandIn::start().await;
    // The data directory's files: SQLite's, in either run.
    let data = std::sync::Arc::new(support::TempDir::new());
    let vars = [("SWITCHBOARD_SLACK_API_URL", base.as_str()), ("SWITCHBOARD_DATABASE_URL", "")];
    let app = support::start(data.clone(), &vars, true).await;
    app.sign_in(&app.client, "admin", support::ADMIN_PASSWORD).await;
    set_up_app(&app).await;
    let data = app.stop().await;
    assert!(!support::files_holding(&data.0, bot_token().as_bytes()).is_empty(), "without a key it is kept as given");

    let with_key = [vars[0], vars[1], ("SWITCHBOARD_SECRET_KEY", "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=")];
    let app = support::start(data.clone(), &with_key, true).await;
    app.sign_in(&app.client, "admin", support::ADMIN_PASSWORD).await;
    let (status, settings) = app.read("slack/app", &[]).await;
    assert_eq!((status, settings["app"]["channel"].as_str()), (200, Some(CHANNEL)), "{settings}");
    let session =
        asking_session(&app, "sealed", json!([[{ "tool": "bash", "input": { "command": "echo sealed" } }]])).await;
    let message = standin.holding("chat.postMessage", &session, 1).await.remove(0);
    assert_eq!(standin.calls.lock().unwrap().last().unwrap().2, format!("Bearer {}", bot_token()), "the token opens");
    assert_eq!(send(&app, &signed(SIGNING_SECRET, unix_now(), &press(&message, "U_X", "allow"))).await.0, 200);
    let data = app.stop().await;
    for needle in [bot_token(), SIGNING_SECRET.to_owned()] {
        assert_eq!(support::files_holding(&data.0, needle.as_bytes()), Vec::<String>::new(), "found at rest");
    }
}

/// A post Slack refused (rate limited) is tried again while the call waits, and posted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_slack_refused_is_tried_again_while_the_call_waits() {
    let (standin, base) = StandIn::start().await;
    let app = with_slack_app(&base).await;
    set_up_app(&app).await;
    standin.refuse_posts.store(1, std::sync::atomic::Ordering::SeqCst);
    let session =
        asking_session(&app, "refused", json!([[{ "tool": "bash", "input": { "command": "echo again" } }]])).await;
    let tries = standin.holding("chat.postMessage", &session, 2).await;
    assert_eq!(tries.len(), 2, "refused once, posted the second time");
    // Posted, it is neither posted again nor gone through again and again: this process (the
    // server runs in it; nextest gives each test one) stays nearly idle.
    let cpu_before = cpu_seconds();
    tokio::time::sleep(Duration::from_secs(11)).await;
    let busy = cpu_seconds() - cpu_before;
    assert!(busy < 4.0, "{busy:.1} s of CPU in 11 s while nothing happened");
    assert_eq!(standin.holding("chat.postMessage", &session, 2).await.len(), 2, "and not again once posted");
    // The message posted is the one presses update.
    let posted = tries[1].clone();
    link(&app, &standin, &app.client, &posted, "U_ADMIN").await;
    assert_eq!(send(&app, &signed(SIGNING_SECRET, unix_now(), &press(&posted, "U_ADMIN", "allow"))).await.0, 200);
    let updated = standin.holding("chat.update", "Allowed by Admin (admin)", 1).await;
    assert_eq!(updated[0]["ts"], "1700000000.000002", "the second post's ts");
}

/// This process's CPU time so far (user and system), from `/proc/self/stat`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}
