//! GitHub repositories mounted into sessions, against a git smart-HTTP server of the test's own
//! (git http-backend behind a token check) on a loopback host the operator lists: checkouts at a
//! branch and at a commit, no token in the sandbox, the cache's fetch and its token check, a
//! failed checkout as the API's error, and a rotated token.

use crate::support;

use std::path::PathBuf;

use axum::http::Method;
use base64::Engine as _;
use serde_json::{Value, json};
use support::{
    TestEngine, config, files_holding,
    git_server::{Server, commit, git_server_in},
    spawn_engine, start_with, temp_dir, tool_results,
};

async fn git_server(tokens: &[&str]) -> (Server, String, PathBuf, String) {
    git_server_in(temp_dir(), temp_dir(), tokens).await
}

async fn engine_for(address: &str) -> TestEngine {
    let mut config = config(temp_dir());
    config.git_hosts = engine::repositories::GitHosts::with_hosts(&[address]);
    spawn_engine(config).await
}

/// A session of a scripted agent that runs each command in `commands` (one turn each), with
/// `resources`.
async fn session_with(engine: &TestEngine, commands: &[&str], resources: Value) -> String {
    let turns: Vec<Value> =
        commands.iter().map(|c| json!([{ "tool": "bash", "input": { "command": c } }, { "text": "done" }])).collect();
    let agent = engine
        .post(
            "/v1/agents",
            json!({ "name": "coder", "model": "scripted", "system": json!({ "turns": turns }).to_string(),
                    "tools": [{ "type": "agent_toolset_20260401" }] }),
        )
        .await;
    let environment = engine
        .post(
            "/v1/environments",
            json!({ "name": "e", "config": { "type": "cloud", "networking": { "type": "limited" } } }),
        )
        .await;
    let (status, session) = engine
        .call(
            Method::POST,
            "/v1/sessions",
            Some(json!({ "agent": agent["id"], "environment_id": environment["id"], "resources": resources })),
        )
        .await;
    assert_eq!(status, 200, "{session}");
    session["id"].as_str().unwrap().to_owned()
}

fn repository(address: &str, token: &str, checkout: Value, mount_path: Option<&str>) -> Value {
    let mut resource = json!({ "type": "github_repository", "url": format!("http://{address}/team/app.git"),
        "authorization_token": token, "checkout": checkout });
    if let Some(path) = mount_path {
        resource["mount_path"] = json!(path);
    }
    resource
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_mounts_a_branch_and_a_commit_and_no_token_reaches_the_sandbox() {
    let token = "ghs_repotoken_4c1d";
    let (server, address, _work, first) = git_server(&[token]).await;
    let engine = engine_for(&address).await;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
    // The search names the token in two halves, so that the command (an event) does not hold it.
    let (t1, t2) = token.split_at(6);
    let (b1, b2) = basic.split_at(10);
    let look = format!(
        "cd /workspace/app && git log --format=%s && git status --short --branch && cat feature.txt && git config --list --show-origin; \
         cd /pinned && git log --format=%s && ls; \
         env; tr '\\0' '\\n' < /proc/self/environ; \
         t1={t1}; b1={b1}; echo searching; grep -rl -e \"${{t1}}{t2}\" -e \"${{b1}}{b2}\" /workspace /pinned /mnt /tmp /etc /opt /proc/self/environ 2>/dev/null; echo searched"
    );
    let resources = json!([
        repository(&address, token, json!({ "type": "branch", "name": "feature" }), None),
        repository(&address, token, json!({ "type": "commit", "sha": first }), Some("/pinned")),
    ]);
    let session = session_with(&engine, &[&look], resources).await;
    // The API never answers the token.
    let listed = engine.get(&format!("/v1/sessions/{session}/resources")).await;
    let mounted = listed["data"].as_array().unwrap();
    assert_eq!(mounted[0]["mount_path"], "/workspace/app", "the default mount path: /workspace/<repository>");
    assert_eq!(mounted[1]["checkout"], json!({ "type": "commit", "sha": first }));
    assert!(!listed.to_string().contains(token), "{listed}");

    engine.say(&session, "look at the code").await;
    let events = engine.wait_idle(&session, 1).await;
    let (failed, text) = &tool_results(&events)[0];
    assert!(!failed, "{text}");
    let on_feature = text.find("on feature\nsecond\nfirst\n").expect("the branch's history");
    assert!(text.contains("## feature...origin/feature"), "the branch tracks its remote: {text}");
    assert!(text.contains(&format!("remote.origin.url=http://{address}/team/app.git")), "{text}");
    let pinned = &text[on_feature + 30..];
    assert!(pinned.contains("first\nREADME\n") && !pinned.contains("second\n"), "the commit's tree: {text}");
    assert!(text.ends_with("searching\nsearched\n"), "no file of the sandbox holds the token: {text}");
    assert!(!text.contains(token) && !text.contains(&basic), "the token reached the sandbox: {text}");
    assert!(!serde_json::to_string(&events).unwrap().contains(token));
    // One clone served both checkouts: the second came from the cache.
    assert_eq!(server.clones(), 1, "{:?}", server.packs.lock().unwrap());
    let checkouts = engine.data_dir.join("sandboxes").join(&session).join("repositories");
    for dir in [checkouts, engine.data_dir.join("git-cache")] {
        assert_eq!(files_holding(&dir, token), Vec::<PathBuf>::new(), "these files hold the token");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_cache_fetches_and_serves_only_a_session_whose_token_the_host_accepts() {
    let (server, address, work, _) = git_server(&["tok-a", "tok-b"]).await;
    let engine = engine_for(&address).await;
    let log = "cd /workspace/app && git log -1 --format=%s";
    let default_branch = json!(null);
    let a = session_with(&engine, &[log], json!([repository(&address, "tok-a", default_branch.clone(), None)])).await;
    engine.say(&a, "go").await;
    let events = engine.wait_idle(&a, 1).await;
    assert_eq!(tool_results(&events)[0].1, "second\n", "the default branch: {events:#?}");
    assert_eq!((server.clones(), server.fetches()), (1, 0));

    // The repository moves on; the next session fetches what changed into the cache.
    commit(&work, "main", "NEW", "new\n", "third");
    let b = session_with(&engine, &[log], json!([repository(&address, "tok-b", default_branch.clone(), None)])).await;
    engine.say(&b, "go").await;
    let events = engine.wait_idle(&b, 1).await;
    assert_eq!(tool_results(&events)[0].1, "third\n");
    assert_eq!((server.clones(), server.fetches()), (1, 1), "a fetch, not a clone: {:?}", server.packs.lock().unwrap());

    // A wrong token on the warm cache gets nothing from it, and says so in the API's terms.
    let refused_before = *server.refused.lock().unwrap();
    let c = session_with(
        &engine,
        &["ls /workspace/app 2>&1; echo listed", log],
        json!([repository(&address, "tok-wrong", default_branch, None)]),
    )
    .await;
    engine.say(&c, "go").await;
    let events = engine.wait_idle(&c, 1).await;
    assert!(*server.refused.lock().unwrap() > refused_before, "the host was asked, with the session's token");
    let error = events.iter().find(|e| e["type"] == "session.error").expect("a repository error");
    assert_eq!(error["error"]["type"], "repository_authentication_error", "{error}");
    assert_eq!(error["error"]["retry_status"]["type"], "retrying");
    assert_eq!(error["error"]["repository_url"], format!("http://{address}/team/app.git"));
    assert!(!error.to_string().contains("tok-wrong"), "{error}");
    let (_, text) = &tool_results(&events)[0];
    assert!(text.contains("No such file") && text.ends_with("listed\n"), "no checkout, and the turn went on: {text}");
    assert_eq!(events.last().unwrap()["stop_reason"]["type"], "end_turn");

    // Rotated to a token the host takes, the next turn checks it out.
    let resource = engine.get(&format!("/v1/sessions/{c}/resources")).await["data"][0].clone();
    let rotated = engine
        .post(
            &format!("/v1/sessions/{c}/resources/{}", resource["id"].as_str().unwrap()),
            json!({ "authorization_token": "tok-a" }),
        )
        .await;
    assert_eq!(rotated["id"], resource["id"]);
    assert!(rotated.get("authorization_token").is_none(), "{rotated}");
    assert_ne!(rotated["updated_at"], resource["updated_at"]);
    engine.say(&c, "again").await;
    let events = engine.wait_idle(&c, 2).await;
    assert_eq!(tool_results(&events).last().unwrap().1, "third\n");
    assert_eq!(server.clones(), 1, "{:?}", server.packs.lock().unwrap());

    // An archived session's token is gone, and cannot be rotated back.
    engine.post(&format!("/v1/sessions/{c}/archive"), json!({})).await;
    let rotate = format!("/v1/sessions/{c}/resources/{}", resource["id"].as_str().unwrap());
    let (status, refused) = engine.call(Method::POST, &rotate, Some(json!({ "authorization_token": "tok-a" }))).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("archived"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repositories_are_refused_in_words_from_hosts_not_listed_and_with_bad_checkouts() {
    let engine = engine_for("127.0.0.1:1").await;
    let script = json!({ "turns": [[{ "text": "hi" }]] }).to_string();
    let agent = engine.post("/v1/agents", json!({ "name": "a", "model": "scripted", "system": script })).await;
    let environment = engine.post("/v1/environments", json!({ "name": "e" })).await;
    for (resource, words) in [
        (json!({ "type": "github_repository", "url": "https://gitlab.com/a/b" }), "SWITCHBOARD_ENGINE_GIT_HOSTS"),
        (json!({ "type": "github_repository", "url": "http://github.com/a/b" }), "plain http"),
        (json!({ "type": "github_repository", "url": "https://tok@github.com/a/b" }), "authorization_token"),
        (
            json!({ "type": "github_repository", "url": "https://github.com/a/b", "checkout": { "type": "branch", "name": "--upload-pack=sh" } }),
            "branch name",
        ),
        (json!({ "type": "github_repository", "url": "https://github.com/a/b", "mount_path": "/proc/x" }), "reserved"),
    ] {
        let (status, body) = engine
            .call(
                Method::POST,
                "/v1/sessions",
                Some(json!({ "agent": agent["id"], "environment_id": environment["id"], "resources": [resource] })),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(words), "{body}");
    }
    let self_hosted =
        engine.post("/v1/environments", json!({ "name": "mine", "config": { "type": "self_hosted" } })).await;
    let (status, body) = engine
        .call(
            Method::POST,
            "/v1/sessions",
            Some(json!({ "agent": agent["id"], "environment_id": self_hosted["id"],
                "resources": [{ "type": "github_repository", "url": "https://github.com/a/b" }] })),
        )
        .await;
    assert_eq!(status, 400, "self-hosted environments take memory stores only: {body}");
}

/// Without a key the token sits in the database as given; started with
/// `SWITCHBOARD_ENGINE_SECRET_KEY` the engine seals it, no file of its data directory (the
/// caches and checkouts included) holds it, and the session still checks the repository out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_secret_key_a_repositorys_token_is_sealed_at_rest_and_still_used() {
    let token = "ghs_sealed_7e6f5a";
    let (_server, address, _work, _) = git_server(&[token]).await;
    let data = temp_dir();
    let hosts = ("SWITCHBOARD_ENGINE_GIT_HOSTS", address.as_str());
    let (mut plain_process, plain) = start_with(&data, &[hosts]);
    let log = "cd /workspace/app && git log -1 --format=%s";
    let session = session_with(&plain, &[log], json!([repository(&address, token, json!(null), None)])).await;
    plain_process.interrupt();
    assert!(!files_holding(&data, token).is_empty(), "without a key the token is stored as given");

    let key = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    let (_sealed_process, sealed) = start_with(&data, &[hosts, ("SWITCHBOARD_ENGINE_SECRET_KEY", key)]);
    sealed.say(&session, "go").await;
    let events = sealed.wait_idle(&session, 1).await;
    assert_eq!(tool_results(&events)[0].1, "second\n", "{events:#?}");
    // What the sandbox's disk holds is searched from inside it by the first test.
    assert_eq!(files_holding(&data, token), Vec::<PathBuf>::new(), "the token found at rest");
    drop((plain, sealed));
}
