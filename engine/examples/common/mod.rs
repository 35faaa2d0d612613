//! What the engine's benches share: an engine in the bench's process, and a client for it.

#![allow(dead_code)] // each bench uses a different part of this module

use std::{path::PathBuf, time::Duration};

use engine::{Engine, EngineConfig};
use serde_json::Value;

pub const KEY: &str = "bench-key";

/// A client of the bench's engine: the key and each path's beta on every request.
pub struct Client {
    pub url: String,
    pub http: reqwest::Client,
}

impl Client {
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.url)).header("x-api-key", KEY);
        match protocol::beta::beta_for(path) {
            Some(beta) => request.header("anthropic-beta", beta),
            None => request,
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let response = self.request(reqwest::Method::POST, path).json(&body).send().await.unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> Value {
        self.request(reqwest::Method::GET, path).send().await.unwrap().json().await.unwrap()
    }
}

/// Sends `text` to `session` as a `user.message` and waits for the turn's `session.status_idle`
/// (a new one: not `last_idle`, which it then becomes). It polls the newest event alone, a small
/// answer, so the bench's polling takes little of the machine.
pub async fn say_and_wait(client: &Client, session: &str, text: &str, last_idle: &mut String) {
    client
        .post(
            &format!("/v1/sessions/{session}/events"),
            serde_json::json!({ "events": [{ "type": "user.message", "content": [{ "type": "text", "text": text }] }] }),
        )
        .await;
    loop {
        let newest = client.get(&format!("/v1/sessions/{session}/events?limit=1&order=desc")).await;
        let newest = &newest["data"][0];
        if newest["type"] == "session.status_idle" && newest["id"].as_str() != Some(last_idle.as_str()) {
            newest["id"].as_str().unwrap_or_default().clone_into(last_idle);
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// An event's `processed_at`, in microseconds since the epoch.
pub fn micros(event: &Value) -> i64 {
    let text = event["processed_at"].as_str().expect("processed_at");
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).expect("RFC 3339");
    (at.unix_timestamp_nanos() / 1000) as i64
}

/// Prints the median of `samples` with their spread (min, p99, max).
pub fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<58} median {:>8.2} ms   min {:>8.2}   p99 {:>8.2}   max {:>8.2}   (n={})",
        ms(at(0.5)),
        ms(samples[0]),
        ms(at(0.99)),
        ms(samples[samples.len() - 1]),
        samples.len()
    );
}

/// An engine (no demo seed) in a fresh directory named after `bench`, served on a free loopback
/// port: a client for it, and the directory to remove at the end.
pub async fn start(bench: &str) -> (Client, PathBuf) {
    start_with(bench, |_| {}).await
}

/// As [`start`], with the engine's configuration changed by `configure` first.
pub async fn start_with(bench: &str, configure: impl FnOnce(&mut EngineConfig)) -> (Client, PathBuf) {
    let dir = std::env::temp_dir().join(format!("switchboard-{bench}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = EngineConfig::new(dir.clone(), KEY.to_owned());
    config.seed_demo = false;
    configure(&mut config);
    let engine = Engine::open(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, engine.router()).await });
    let http = engine::http_client::builder().pool_max_idle_per_host(256).build().unwrap();
    (Client { url, http }, dir)
}
