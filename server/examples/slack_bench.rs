//! Deciding in Slack, timed (not a test): `scripts/bench slack`, or
//! `cargo run --release -p server --example slack_bench`.
//!
//! Switchboard runs in this process on its embedded engine (whose signed webhooks bring a waiting
//! call to the inbox at once), with a Slack app whose Web API is a stand-in in this process that
//! notes when each `chat.postMessage` arrives. In 40 sessions one after another a scripted agent
//! asks before a bash call; for each, printed as median, spread and p95:
//! 1. from the session's `requires_action` idle (its `processed_at` in the engine) to the
//!    `chat.postMessage` of the call arriving at the stand-in;
//! 2. from a signed Allow press sent to `/webhooks/slack` to the `user.tool_confirmation` in the
//!    engine (its `processed_at`), and to the press's answer (Slack wants one within 3 s).

use std::{
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use axum::{Json, Router, extract::Path, routing::post};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

mod common;

const TRIALS: usize = 40;
const SECRET: &str = "0123456789abcdef0123456789abcdef";
const CHANNEL: &str = "C0123ABCDE";

type Posts = Arc<Mutex<Vec<(SystemTime, String, Value)>>>;

/// The Slack API stand-in: every call noted with when it arrived.
async fn stand_in(posts: Posts) -> String {
    let router = Router::new().route(
        "/{method}",
        post(move |Path(method): Path<String>, Json(body): Json<Value>| {
            let posts = posts.clone();
            async move {
                let mut posts = posts.lock().unwrap();
                posts.push((SystemTime::now(), method, body.clone()));
                Json(json!({ "ok": true, "channel": body["channel"], "ts": format!("1700000000.{:06}", posts.len()) }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

fn signed_body(payload: &Value) -> (String, String, String) {
    let timestamp = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs().to_string();
    let body = form_urlencoded::Serializer::new(String::new()).append_pair("payload", &payload.to_string()).finish();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    let signature = server::support::hex(&mac.finalize().into_bytes());
    (timestamp, format!("v0={signature}"), body)
}

fn allow(value: &str, n: usize) -> Value {
    json!({
        "type": "block_actions", "user": { "id": "U_BENCH", "team_id": "T_BENCH" }, "trigger_id": format!("bench-{n}"),
        "channel": { "id": CHANNEL }, "actions": [{ "action_id": "allow", "value": value }],
    })
}

async fn press(http: &reqwest::Client, base: &str, payload: &Value) -> reqwest::Response {
    let (timestamp, signature, body) = signed_body(payload);
    http.post(format!("{base}/webhooks/slack"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", timestamp)
        .header("x-slack-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn at(rfc3339: &str) -> SystemTime {
    let ms = domain::format::parse_rfc3339_ms(rfc3339).expect("an RFC 3339 time");
    SystemTime::UNIX_EPOCH + Duration::from_secs_f64(ms / 1000.0)
}

async fn events(http: &reqwest::Client, base: &str, session: &str) -> Vec<Value> {
    let page: Value = http
        .get(format!("{base}/api/sessions/events"))
        .query(&[("id", session)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["data"].as_array().cloned().unwrap_or_default()
}

/// Polls `f` every 20 ms for at most 30 s.
async fn until<T, F: std::future::Future<Output = Option<T>>>(what: &str, mut f: impl FnMut() -> F) -> T {
    for _ in 0..1500 {
        if let Some(found) = f().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what} did not happen within 30 s");
}

fn summary(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let q = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    println!(
        "{name} ({} calls): median {:.1} ms   min {:.1}   p95 {:.1}   max {:.1}",
        ms.len(),
        q(0.5),
        q(0.0),
        q(0.95),
        q(1.0)
    );
}

#[tokio::main]
async fn main() {
    let posts = Posts::default();
    let api_url = stand_in(posts.clone()).await;
    let bench = common::start_with("slack-bench", &[("SWITCHBOARD_SLACK_API_URL", &api_url)]).await;
    let base = bench.base.clone();
    let http =
        engine::http_client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    bench.sign_in(&http).await;
    let call = |endpoint: &str, form: Vec<(String, String)>| {
        let request = http.post(format!("{base}/api/{endpoint}")).form(&form);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert!(status.is_success(), "{status} {body}");
            body
        }
    };
    let pairs = |p: &[(&str, &str)]| p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
    let token = ["xoxb", "bench", "0000", "abcdefghijkl"].join("-");
    call(
        "slack/app/save",
        pairs(&[("form[channel]", CHANNEL), ("form[bot_token]", &token), ("form[signing_secret]", SECRET)]),
    )
    .await;
    let turns = json!([[{ "tool": "bash", "input": { "command": "echo from the bench" } }, { "text": "Ran it." }]]);
    let definition = json!({
        "name": "slack bench", "model": "scripted", "system": json!({ "turns": turns }).to_string(),
        "tools": [{ "type": "agent_toolset_20260401", "default_config": { "permission_policy": { "type": "always_ask" } } }],
    });
    let agent = call("agents/create", pairs(&[("definition", &definition.to_string())])).await;
    let environment = call(
        "environments/save",
        pairs(&[("id", ""), ("form[name]", "bench"), ("form[kind]", "cloud"), ("form[networking]", "limited")]),
    )
    .await;
    let (agent, environment) = (agent["id"].as_str().unwrap(), environment["row"]["id"].as_str().unwrap());
    println!("slack bench: Switchboard in this process on its embedded engine (webhooks on), a Slack API stand-in");
    let (mut posted, mut confirmed, mut answered) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..=TRIALS {
        // A session of its own each time: its events fit in one page.
        let session = call(
            "sessions/create",
            pairs(&[("form[agent_id]", agent), ("form[environment_id]", environment), ("form[initial_message]", "go")]),
        )
        .await["row"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (arrived, value) = until("the Slack message", || {
            let found = posts
                .lock()
                .unwrap()
                .iter()
                .find(|(_, m, b)| m == "chat.postMessage" && b.to_string().contains(&session))
                .map(|(t, _, b)| {
                    let buttons =
                        b["blocks"].as_array().unwrap().iter().find(|b| b["type"] == "actions").unwrap().clone();
                    (*t, buttons["elements"][0]["value"].as_str().unwrap().to_owned())
                });
            async move { found }
        })
        .await;
        let all = events(&http, &base, &session).await;
        let idle = all
            .iter()
            .rev()
            .find(|e| e["type"] == "session.status_idle" && e["stop_reason"]["type"] == "requires_action")
            .expect("the requires_action idle");
        if n == 0 {
            // The first press links the bench's Slack user to the admin, through the link Slack shows.
            press(&http, &base, &allow(&value, 1000)).await;
            let text = until("the link", || {
                let found = posts
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|(_, m, _)| m == "chat.postEphemeral")
                    .map(|(_, _, b)| b["text"].as_str().unwrap().to_owned());
                async move { found }
            })
            .await;
            let link = text.split('<').nth(1).unwrap().split('|').next().unwrap();
            let token = link.split("t=").nth(1).unwrap().split('&').next().unwrap();
            call("slack/link/confirm", pairs(&[("token", token)])).await;
        }
        posted.push(arrived.duration_since(at(idle["processed_at"].as_str().unwrap())).unwrap().as_secs_f64() * 1000.0);
        let started = SystemTime::now();
        let answer = press(&http, &base, &allow(&value, n)).await;
        let answered_at = SystemTime::now();
        assert!(answer.status().is_success(), "{}", answer.status());
        let event_id = value.split(' ').nth(2).unwrap().to_owned();
        let confirmation = until("the confirmation", || {
            let (http, base, session, event_id) = (http.clone(), base.clone(), session.clone(), event_id.clone());
            async move {
                events(&http, &base, &session)
                    .await
                    .into_iter()
                    .find(|e| e["type"] == "user.tool_confirmation" && e["tool_use_id"] == event_id.as_str())
            }
        })
        .await;
        let processed = at(confirmation["processed_at"].as_str().unwrap());
        confirmed.push(processed.duration_since(started).unwrap_or_default().as_secs_f64() * 1000.0);
        answered.push(answered_at.duration_since(started).unwrap().as_secs_f64() * 1000.0);
    }
    // The first call waited for the link: it is not counted.
    posted.remove(0);
    confirmed.remove(0);
    answered.remove(0);
    summary("requires_action → Slack message posted", posted);
    summary("Allow pressed → user.tool_confirmation in the engine", confirmed);
    summary("Allow pressed → the press answered", answered);
    bench.finish();
}
