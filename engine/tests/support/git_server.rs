//! A git smart-HTTP server for tests and benches: `git http-backend` behind a token check
//! (`Authorization: Basic` of `x-access-token:<token>`, as GitHub takes it), with a packet trace
//! of each request that tells a clone (objects wanted, nothing had) from a fetch.

#![allow(dead_code)] // the bench uses a part of it

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, Mutex},
};

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::Response,
};
use base64::Engine as _;

/// What the server saw of one pack request: whether it sent objects the client asked for
/// (`want`), and whether the client said what it had (`have`: a fetch, not a clone).
#[derive(Debug, Clone, Copy)]
pub struct Pack {
    pub wants: bool,
    pub haves: bool,
}

#[derive(Clone)]
pub struct Server {
    root: PathBuf,
    pub tokens: Arc<Mutex<HashSet<String>>>,
    pub packs: Arc<Mutex<Vec<Pack>>>,
    pub refused: Arc<Mutex<usize>>,
    traces: Arc<std::sync::atomic::AtomicUsize>,
}

impl Server {
    pub fn clones(&self) -> usize {
        self.packs.lock().unwrap().iter().filter(|p| p.wants && !p.haves).count()
    }

    pub fn fetches(&self) -> usize {
        self.packs.lock().unwrap().iter().filter(|p| p.wants && p.haves).count()
    }
}

pub fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Adds a commit with `file` holding `text` to the work tree `work` and pushes `branch`.
pub fn commit(work: &Path, branch: &str, file: &str, text: &str, subject: &str) -> String {
    std::fs::write(work.join(file), text).unwrap();
    run(work, &["add", file]);
    run(work, &["commit", "-q", "-m", subject]);
    run(work, &["push", "-q", "origin", &format!("HEAD:refs/heads/{branch}")]);
    run(work, &["rev-parse", "HEAD"])
}

/// A server of `team/app.git` under `root` that takes the tokens in `tokens`, with a work tree
/// at `work` to push to it from: `main` has two commits ("first", "second"), `feature` one more
/// ("on feature"). Answers the server, its address, the work tree and the first commit.
pub async fn git_server_in(root: PathBuf, work: PathBuf, tokens: &[&str]) -> (Server, String, PathBuf, String) {
    let bare = root.join("team/app.git");
    std::fs::create_dir_all(&bare).unwrap();
    run(&bare, &["init", "-q", "--bare", "--initial-branch=main"]);
    run(&bare, &["config", "http.receivepack", "true"]);
    run(&work, &["init", "-q", "--initial-branch=main"]);
    run(&work, &["remote", "add", "origin", bare.to_str().unwrap()]);
    let first = commit(&work, "main", "README", "hello from main\n", "first");
    commit(&work, "main", "README", "hello again from main\n", "second");
    run(&work, &["checkout", "-q", "-b", "feature"]);
    commit(&work, "feature", "feature.txt", "on feature\n", "on feature");
    run(&work, &["checkout", "-q", "main"]);
    let server = Server {
        root,
        tokens: Arc::new(Mutex::new(tokens.iter().map(|t| t.to_string()).collect())),
        packs: Arc::default(),
        refused: Arc::default(),
        traces: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let app = axum::Router::new().fallback(serve).with_state(server.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (server, address, work, first)
}

/// One request: the token checked, then git http-backend as a CGI program, with a packet trace
/// that says what the client wanted and had.
async fn serve(State(server): State<Server>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let basic = header("authorization");
    let token = basic
        .strip_prefix("Basic ")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| t.strip_prefix("x-access-token:").map(str::to_owned));
    if !token.is_some_and(|t| server.tokens.lock().unwrap().contains(&t)) {
        *server.refused.lock().unwrap() += 1;
        return Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header("www-authenticate", "Basic realm=\"test\"")
            .body(Body::empty())
            .unwrap();
    }
    let n = server.traces.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let trace = server.root.join(format!("trace-{n}"));
    let mut child = tokio::process::Command::new("git")
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", &server.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("PATH_INFO", uri.path())
        .env("QUERY_STRING", uri.query().unwrap_or_default())
        .env("REQUEST_METHOD", method.as_str())
        .env("CONTENT_TYPE", header("content-type"))
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("GIT_PROTOCOL", header("git-protocol"))
        .env("REMOTE_USER", "x-access-token")
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("GIT_TRACE_PACKET", &trace)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, &body).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    let traced = std::fs::read_to_string(&trace).unwrap_or_default();
    if uri.path().ends_with("git-upload-pack") && traced.contains("< want ") {
        server.packs.lock().unwrap().push(Pack { wants: true, haves: traced.contains("< have ") });
    }
    let split = out.stdout.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, 4));
    let split = split.or_else(|| out.stdout.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let (at, gap) = split.expect("http-backend wrote headers");
    let mut response = Response::builder();
    for line in String::from_utf8_lossy(&out.stdout[..at]).lines() {
        let Some((name, value)) = line.split_once(':') else { continue };
        if name.eq_ignore_ascii_case("status") {
            let code = value.trim().split(' ').next().unwrap().parse::<u16>().unwrap();
            response = response.status(code);
        } else {
            response = response.header(name.trim(), value.trim());
        }
    }
    response.body(Body::from(out.stdout[at + gap..].to_vec())).unwrap()
}
