//! A Slack Web API stand-in (tests/slack.rs, tests/notify.rs): it answers `chat.postMessage`
//! with a channel and a `ts`, everything else with `ok`, and keeps every call.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Json, Router, extract::Path, routing::post};
use serde_json::{Value, json};

use super::serve;

/// What the stand-in was asked: the method, the body, the bearer token. `refuse_posts`: how many
/// of the next `chat.postMessage` it refuses, as Slack does when rate limited.
#[derive(Clone, Default)]
pub struct StandIn {
    pub calls: Arc<Mutex<Vec<(String, Value, String)>>>,
    pub refuse_posts: Arc<std::sync::atomic::AtomicUsize>,
}

impl StandIn {
    pub async fn start() -> (Self, String) {
        let standin = Self::default();
        let (calls, refuse) = (standin.calls.clone(), standin.refuse_posts.clone());
        let router = Router::new().route(
            "/{method}",
            post(move |Path(method): Path<String>, headers: axum::http::HeaderMap, Json(body): Json<Value>| {
                let (calls, refuse) = (calls.clone(), refuse.clone());
                async move {
                    use std::sync::atomic::Ordering::SeqCst;
                    let token = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    let mut calls = calls.lock().unwrap();
                    calls.push((method.clone(), body.clone(), token));
                    let ts = format!("1700000000.{:06}", calls.len());
                    let refused = method == "chat.postMessage"
                        && refuse.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_ok();
                    Json(match method.as_str() {
                        _ if refused => json!({ "ok": false, "error": "ratelimited" }),
                        "chat.postMessage" => json!({ "ok": true, "channel": body["channel"], "ts": ts }),
                        _ => json!({ "ok": true }),
                    })
                }
            }),
        );
        let base = serve(router).await;
        (standin, base)
    }

    pub fn of(&self, method: &str) -> Vec<Value> {
        self.calls.lock().unwrap().iter().filter(|(m, ..)| m == method).map(|(_, body, _)| body.clone()).collect()
    }

    /// The `method` calls whose body holds `text`, once there are `n`.
    pub async fn holding(&self, method: &str, text: &str, n: usize) -> Vec<Value> {
        for _ in 0..200 {
            let found: Vec<Value> = self.of(method).into_iter().filter(|b| b.to_string().contains(text)).collect();
            if found.len() >= n {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no {method} said {text:?}: {:?}", self.of(method));
    }
}
