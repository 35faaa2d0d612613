//! Switchboard in Anthropic mode (`ANTHROPIC_API_KEY` + `ANTHROPIC_BASE_URL`): against a
//! standalone engine standing in for Anthropic's API, against one that refuses the key, one that is
//! down, and one that is rate limited or overloaded. Also the key-leak scan.

use crate::support;

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use axum::{
    Router,
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
    routing::get,
};
use serde_json::json;
use support::{anthropic_app, file_form, serve, spawn_engine};

const KEY: &str = "switchboard-test-DISTINCTIVE-KEY-9c41e";

#[tokio::test]
async fn the_console_works_against_anthropics_api_shape() {
    let engine = spawn_engine(KEY).await;
    let app = anthropic_app(&engine.base_url, KEY).await;

    let definition = json!({"name": "Remote", "model": "scripted", "system": "{\"turns\": [[{\"text\": \"hi\"}]]}"});
    let (status, agent) = app.call("agents/create", &[("definition", &definition.to_string())]).await;
    assert_eq!(status, 200, "{agent}");
    let (_, list) = app.read("agents/list", &[("include_archived", "false")]).await;
    assert!(list["data"].as_array().unwrap().iter().any(|a| a["id"] == agent["id"]));
    let (status, html) = app.get_text(&format!("/agents/{}", agent["id"].as_str().unwrap())).await;
    assert_eq!(status, 200);
    assert!(html.contains("Remote"));

    let (status, checks) = app.call("settings/check", &[]).await;
    assert_eq!(status, 200);
    assert!(checks.as_array().unwrap().iter().all(|c| c["ok"] == true), "{checks}");
}

#[tokio::test]
async fn a_rejected_key_is_explained_without_showing_it() {
    let engine = spawn_engine("the-real-key").await;
    let app = anthropic_app(&engine.base_url, KEY).await;

    let (status, error) = app.read("agents/list", &[("include_archived", "false")]).await;
    assert_eq!(status, 502, "not the browser's fault: {error}");
    assert_eq!(error["kind"], "key_rejected");
    assert!(error["message"].as_str().unwrap().contains("Check ANTHROPIC_API_KEY"), "{error}");

    let (_, checks) = app.call("settings/check", &[]).await;
    let key_check = &checks[0];
    assert_eq!(key_check["ok"], false);
    assert!(key_check["detail"].as_str().unwrap().contains("rejected Switchboard's API key (401)"), "{key_check}");

    let (status, html) = app.get_text("/agents").await;
    assert_eq!(status, 502);
    assert!(
        html.contains("The upstream refused Switchboard&#x27;s key")
            || html.contains("The upstream refused Switchboard's key"),
        "{html}"
    );
    assert!(!html.contains("DISTINCTIVE") && !checks.to_string().contains("DISTINCTIVE"));
}

#[tokio::test]
async fn an_upstream_that_is_down_gives_an_error_state_not_a_crash() {
    // Port 9 (discard) is closed on loopback.
    let app = anthropic_app("http://127.0.0.1:9", KEY).await;
    let (status, error) = app.read("sessions/list", &[]).await;
    assert_eq!(status, 502, "{error}");
    assert!(error["message"].as_str().unwrap().contains("could not be reached"), "{error}");
    for path in ["/agents", "/environments", "/sessions", "/files", "/vaults", "/agents/agent_1"] {
        let (status, html) = app.get_text(path).await;
        assert_eq!(status, 502, "{path}");
        assert!(html.contains("The upstream API is not available"), "{path}: {html}");
    }
}

/// The API's error answer: `status` with `headers`, a request id, and an error body of `error_type`.
fn api_error(status: u16, headers: &[(&'static str, &str)], error_type: &str) -> axum::response::Response {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.insert(*k, v.parse().unwrap());
    }
    map.insert("request-id", "req_fake_1".parse().unwrap());
    let body = json!({"type": "error", "error": {"type": error_type, "message": "The fake upstream says no."}, "request_id": "req_fake_1"});
    (StatusCode::from_u16(status).unwrap(), map, axum::Json(body)).into_response()
}

/// A fake upstream: `/v1/agents` answers GET with `status` and POST with 503, counting requests.
async fn fake_upstream(
    status: u16,
    headers: &'static [(&'static str, &'static str)],
    error_type: &'static str,
) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let (get_hits, post_hits) = (hits.clone(), hits.clone());
    let respond = move |status: u16, error_type: &'static str| api_error(status, headers, error_type);
    let router = Router::new().route(
        "/v1/agents",
        get(move || {
            get_hits.fetch_add(1, Ordering::SeqCst);
            async move { respond(status, error_type) }
        })
        .post(move || {
            post_hits.fetch_add(1, Ordering::SeqCst);
            async move { respond(503, "api_error") }
        }),
    );
    (serve(router).await, hits)
}

#[tokio::test]
async fn a_rate_limit_with_a_long_wait_is_reported_with_the_wait_not_waited_out() {
    let (url, hits) = fake_upstream(429, &[("retry-after", "30")], "rate_limit_error").await;
    let app = anthropic_app(&url, KEY).await;
    let (status, error) = app.read("agents/list", &[("include_archived", "false")]).await;
    assert_eq!(status, 429, "{error}");
    assert!(error["message"].as_str().unwrap().contains("Try again in 30 s"), "{error}");
    assert_eq!(error["request_id"], "req_fake_1");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "a 30 s wait is longer than a page should hang");
}

#[tokio::test]
async fn an_overloaded_upstream_is_retried_for_reads_and_never_for_mutations() {
    let (url, hits) = fake_upstream(529, &[("retry-after-ms", "20")], "overloaded_error").await;
    let app = anthropic_app(&url, KEY).await;
    let (status, error) = app.read("agents/list", &[("include_archived", "false")]).await;
    assert_eq!(status, 502, "{error}");
    assert!(error["message"].as_str().unwrap().contains("overloaded (529)"), "{error}");
    assert_eq!(hits.load(Ordering::SeqCst), 3, "a read is tried three times");

    hits.store(0, Ordering::SeqCst);
    let definition = json!({"name": "x", "model": "m"}).to_string();
    let (status, error) = app.call("agents/create", &[("definition", &definition)]).await;
    assert_eq!(status, 502, "{error}");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "a create is sent once: a blind retry could create two agents");
}

/// A fake upstream whose `GET /v1/agents` fails `failures` times with `status` (and `headers`),
/// then answers an empty page; counts the requests.
async fn flaky_upstream(
    failures: usize,
    status: u16,
    headers: &'static [(&'static str, &'static str)],
) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = Router::new().route(
        "/v1/agents",
        get(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < failures {
                    api_error(status, headers, "api_error")
                } else {
                    axum::Json(json!({"data": [], "next_page": null})).into_response()
                }
            }
        }),
    );
    (serve(router).await, hits)
}

#[tokio::test]
async fn a_read_that_fails_twice_then_succeeds_shows_the_data() {
    let (url, hits) = flaky_upstream(2, 503, &[("retry-after-ms", "10")]).await;
    let app = anthropic_app(&url, KEY).await;
    let (status, page) = app.read("agents/list", &[("include_archived", "false")]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"], json!([]));
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn x_should_retry_false_is_obeyed() {
    let (url, hits) = flaky_upstream(1, 503, &[("x-should-retry", "false")]).await;
    let app = anthropic_app(&url, KEY).await;
    let (status, error) = app.read("agents/list", &[("include_archived", "false")]).await;
    assert_eq!(status, 502, "{error}");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the upstream said not to retry");
}

/// The upstream gets the version and beta headers of the official SDK (the values themselves are
/// checked against the SDK's own constants in `protocol/conformance/test_constants.py`).
#[tokio::test]
async fn requests_carry_the_sdks_version_and_beta_headers() {
    let seen: Arc<std::sync::Mutex<Vec<(String, String)>>> = Arc::default();
    let record = seen.clone();
    let router = Router::new().route(
        "/v1/agents",
        get(move |headers: HeaderMap| {
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            record.lock().unwrap().push((header("anthropic-version"), header("anthropic-beta")));
            async { axum::Json(json!({"data": [], "next_page": null})) }
        }),
    );
    let app = anthropic_app(&serve(router).await, KEY).await;
    let (status, page) = app.read("agents/list", &[("include_archived", "false")]).await;
    assert_eq!(status, 200, "{page}");
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.as_slice(),
        [(protocol::ANTHROPIC_VERSION.to_owned(), protocol::MANAGED_AGENTS_BETA.to_owned())],
        "one request, with the SDK's headers"
    );
}

/// Drives every page and every server function with a distinctive key, and looks for the key in
/// every byte the browser receives: status lines, headers and bodies, success and error alike.
#[tokio::test]
async fn the_key_never_reaches_the_browser() {
    let engine = spawn_engine(KEY).await;
    let app = anthropic_app(&engine.base_url, KEY).await;
    let mut seen = Vec::new();

    // Some data, so pages and functions have something to show.
    let definition =
        json!({"name": "Leak check", "model": "scripted", "system": "{\"turns\": [[{\"text\": \"hi\"}]]}"}).to_string();
    let (_, agent) = app.call("agents/create", &[("definition", &definition)]).await;
    let agent_id = agent["id"].as_str().unwrap().to_owned();
    let (_, env) = app
        .call(
            "environments/save",
            &[("id", ""), ("form[name]", "e"), ("form[kind]", "cloud"), ("form[networking]", "unrestricted")],
        )
        .await;
    let env_id = env["row"]["id"].as_str().unwrap().to_owned();
    let (_, session) =
        app.call("sessions/create", &[("form[agent_id]", &agent_id), ("form[environment_id]", &env_id)]).await;
    let session_id = session["row"]["id"].as_str().unwrap().to_owned();
    let (_, vault) = app.call("vaults/create", &[("display_name", "v")]).await;
    let vault_id = vault["id"].as_str().unwrap().to_owned();
    let (status, shared) = app
        .call("shares/create", &[("form[session_id]", &session_id), ("form[hours]", "1"), ("form[mode]", "live")])
        .await;
    assert_eq!(status, 200, "{shared}");
    let share_page = shared["path"].as_str().unwrap().to_owned();
    for (what, answer) in [
        ("agents/create", &agent),
        ("environments/save", &env),
        ("sessions/create", &session),
        ("vaults/create", &vault),
        ("shares/create", &shared),
    ] {
        seen.push((format!("POST /api/{what}"), answer.to_string().into_bytes()));
    }

    let pages = [
        "/".to_owned(),
        "/agents".into(),
        "/agents/new".into(),
        format!("/agents/{agent_id}"),
        format!("/agents/{agent_id}/edit"),
        "/environments".into(),
        "/environments/new".into(),
        format!("/environments/{env_id}"),
        "/sessions".into(),
        "/sessions/new".into(),
        format!("/sessions/{session_id}"),
        format!("/sessions/{session_id}/present"),
        share_page.clone(),
        "/shares".into(),
        format!("/api/sessions/{session_id}/export?format=json"),
        format!("/api/sessions/{session_id}/export?format=markdown"),
        format!("/api/sessions/{session_id}/export?format=html"),
        "/files".into(),
        "/vaults".into(),
        format!("/vaults/{vault_id}"),
        "/settings".into(),
        "/agents/agent_missing".into(),
        "/no/such/page".into(),
        "/api/files/file_missing/content".into(),
    ];
    for path in &pages {
        seen.push((path.clone(), capture(app.get(path).await).await));
    }

    // Every server function the app registers, with the arguments it needs and without them.
    let argument_sets: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("id", agent_id.clone()), ("version", "1".into()), ("from", "1".into()), ("to", "1".into())],
        vec![("id", env_id.clone())],
        vec![("id", vault_id.clone()), ("session_id", session_id.clone()), ("vault_id", vault_id.clone())],
        vec![("id", session_id.clone())],
    ];
    let endpoints =
        leptos::server_fn::axum::server_fn_paths().map(|(path, method)| (path.to_owned(), method)).collect::<Vec<_>>();
    assert!(endpoints.len() >= 30, "the server functions are registered: {endpoints:?}");
    for (path, method) in endpoints {
        for args in &argument_sets {
            let url = format!("{}{path}", app.address);
            let request = if method == axum::http::Method::GET {
                app.client.get(&url).query(args)
            } else {
                app.client.post(&url).form(args)
            };
            seen.push((format!("{method} {path}"), capture(request.send().await.unwrap()).await));
        }
    }
    // An upload, whose answer echoes upstream metadata.
    let form = file_form("x.txt", b"x".to_vec());
    seen.push((
        "POST /api/files".into(),
        capture(app.client.post(format!("{}/api/files", app.address)).multipart(form).send().await.unwrap()).await,
    ));

    for (what, bytes) in &seen {
        assert!(!contains(bytes, KEY.as_bytes()), "{what} sent the API key to the browser");
        assert!(!contains(bytes, b"DISTINCTIVE"), "{what} sent part of the API key to the browser");
    }
    assert!(seen.len() > 60, "the scan covered {} responses", seen.len());

    // The built browser assets are scanned by `scripts/test` after the release build.
}

async fn capture(response: reqwest::Response) -> Vec<u8> {
    let mut bytes = format!("{:?}\n", response.status()).into_bytes();
    for (name, value) in response.headers() {
        bytes.extend_from_slice(name.as_str().as_bytes());
        bytes.extend_from_slice(value.as_bytes());
    }
    bytes.extend_from_slice(&response.bytes().await.unwrap());
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A self-hosted environment's page shows its queue and the command that starts a worker; an
/// item found by its id shows its session and lease, takes a label and stops. The console never
/// holds the environment key: what it reads is what the API key reaches.
#[tokio::test]
async fn a_self_hosted_environments_queue_and_items_are_seen_and_stopped_from_the_console() {
    let upstream = spawn_engine(KEY).await;
    let app = anthropic_app(&upstream.base_url, KEY).await;
    let (status, env) =
        app.call("environments/save", &[("id", ""), ("form[name]", "fleet"), ("form[kind]", "self_hosted")]).await;
    assert_eq!(status, 200, "{env}");
    let env_id = env["row"]["id"].as_str().unwrap().to_owned();
    let definition = json!({"name": "Hosted", "model": "scripted", "system": "{\"turns\": [[{\"text\": \"hi\"}]]}"});
    let (_, agent) = app.call("agents/create", &[("definition", &definition.to_string())]).await;
    let (status, session) = app
        .call(
            "sessions/create",
            &[("form[agent_id]", agent["id"].as_str().unwrap()), ("form[environment_id]", &env_id)],
        )
        .await;
    assert_eq!(status, 200, "{session}");
    let session_id = session["row"]["id"].as_str().unwrap().to_owned();

    let (status, queue) = app.read("work/queue", &[("environment_id", &env_id)]).await;
    assert_eq!(status, 200, "{queue}");
    assert_eq!((queue["depth"].as_i64(), queue["pending"].as_i64()), (Some(1), Some(0)), "{queue}");
    let (status, waiting) = app.read("work/waiting", &[]).await;
    assert_eq!(status, 200, "{waiting}");
    assert_eq!(waiting[0]["depth"], 1, "{waiting}");
    let (_, list) = app.get_text("/sessions").await;
    assert!(list.contains("1 session waits for a worker on fleet"), "the sessions list says so");
    let command = queue["command"].as_str().unwrap();
    assert!(command.contains(&format!("switchboard worker --environment {env_id} --base-url ")), "{command}");
    assert!(!command.contains(KEY), "the API key is never part of the worker's command");

    // A worker takes the item (with its environment key, which the console never sees).
    let key = upstream.engine.issue_environment_key(&env_id).await.unwrap();
    let (_, polled) =
        support::engine_get(&upstream.base_url, &format!("/v1/environments/{env_id}/work/poll"), &key).await;
    let work_id = polled["id"].as_str().expect("an item").to_owned();
    let (_, queue) = app.read("work/queue", &[("environment_id", &env_id)]).await;
    assert_eq!((queue["depth"].as_i64(), queue["pending"].as_i64()), (Some(0), Some(1)), "{queue}");

    let (status, item) = app.read("work/get", &[("environment_id", &env_id), ("work_id", &work_id)]).await;
    assert_eq!(status, 200, "{item}");
    assert_eq!((item["state"].as_str(), item["session_id"].as_str()), (Some("queued"), Some(session_id.as_str())));
    let (status, labelled) = app
        .call("work/label", &[("environment_id", &env_id), ("work_id", &work_id), ("key", "rack"), ("value", "b7")])
        .await;
    assert_eq!(status, 200, "{labelled}");
    assert_eq!(labelled["metadata"], json!([["rack", "b7"]]));
    let (status, refused) = app
        .call("work/label", &[("environment_id", &env_id), ("work_id", &work_id), ("key", " "), ("value", "x")])
        .await;
    assert_eq!(status, 400, "{refused}");
    let (status, stopped) =
        app.call("work/stop", &[("environment_id", &env_id), ("work_id", &work_id), ("force", "true")]).await;
    assert_eq!(status, 200, "{stopped}");
    assert_eq!(stopped["state"], "stopped");
    let (status, again) =
        app.call("work/stop", &[("environment_id", &env_id), ("work_id", &work_id), ("force", "true")]).await;
    assert!(status == 409 || status == 400, "a stopped item cannot stop again: {status} {again}");
    assert!(again["message"].as_str().unwrap().contains("already stopped"), "{again}");
    let (status, missing) = app.read("work/get", &[("environment_id", &env_id), ("work_id", "work_nope")]).await;
    assert_eq!(status, 404, "{missing}");

    let (status, page) = app.get_text(&format!("/environments/{env_id}?work={work_id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Work queue") && page.contains("switchboard worker --environment"), "{page}");
    assert!(page.contains(&work_id) && page.contains("stopped"), "the item found from the link is shown");
}
