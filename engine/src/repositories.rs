//! GitHub repositories mounted into sessions (`github_repository` resources), cloned by the host
//! and never with the agent's help.
//!
//! A repository is fetched into a bare cache of the engine's own, one per URL
//! (`<data>/git-cache/<sha256 of the URL>.git`), with the session's token, then copied into a
//! fresh checkout the host makes on the session's disk (`<sandbox>/repositories/<resource id>`,
//! a folder no sandbox sees but through its mount at the resource's `mount_path`). The token goes
//! to git in its environment only (an `Authorization` header in `GIT_CONFIG_*`), never into an
//! argument, the cache's or the checkout's `.git/config`, or the sandbox.
//!
//! Each checkout first asks the host for the repository's references with the session's own
//! token (`git ls-remote`): a wrong or missing token on a warm cache fails there and gets nothing
//! from the cache. A warm cache then fetches what changed, not the whole repository.
//!
//! Host-side git runs in the cache and in a checkout it has just made, before any agent ran in
//! it: never in a folder the agent could have written (its hooks and `core.fsmonitor` would be the
//! agent's). Names are resolved by the engine and judged as MCP connections are
//! ([`crate::net::reachable`]): a public address, or any for a host the operator lists in
//! `SWITCHBOARD_ENGINE_GIT_HOSTS`; git is then pinned to that address and follows no redirect.

use std::{
    collections::HashMap,
    net::IpAddr,
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// How long one git command may take before the checkout is given up.
const GIT_TIMEOUT: Duration = Duration::from_secs(600);

/// The hosts repositories may come from besides `github.com`.
#[derive(Debug, Clone, Default)]
pub struct GitHosts {
    /// `host` or `host:port`, lower case.
    hosts: Vec<String>,
}

impl GitHosts {
    /// From `SWITCHBOARD_ENGINE_GIT_HOSTS`: host names or addresses, each with an optional port,
    /// comma-separated (GitHub Enterprise, a test's server).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Self {
        let hosts = var("SWITCHBOARD_ENGINE_GIT_HOSTS").unwrap_or_default();
        Self::with_hosts(&hosts.split(',').collect::<Vec<_>>())
    }

    pub fn with_hosts(hosts: &[&str]) -> Self {
        let hosts = hosts
            .iter()
            .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        Self { hosts }
    }

    /// Whether the operator listed `host` (as a URL names it), alone or with `port`.
    fn lists(&self, host: &str, port: u16) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase();
        let forms = [host.clone(), format!("{host}:{port}"), format!("[{host}]"), format!("[{host}]:{port}")];
        self.hosts.iter().any(|listed| forms.contains(listed))
    }
}

/// A repository's URL, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RepositoryUrl {
    /// As given, without a trailing `/`.
    pub url: String,
    host: String,
    port: u16,
    /// The last part of its path without `.git`: the default mount path's folder.
    pub name: String,
    /// Names its cache: the same repository, however written, has one.
    key: String,
    /// Listed by the operator: its addresses may be internal.
    listed: bool,
}

impl RepositoryUrl {
    /// `text` as a repository the engine may clone, or why not, in words.
    pub fn parse(text: &str, hosts: &GitHosts) -> Result<Self, String> {
        let url = reqwest::Url::parse(text.trim()).map_err(|_| format!("{text:?} is not a URL"))?;
        let host = url.host_str().ok_or_else(|| format!("{text:?} names no host"))?.to_ascii_lowercase();
        let port = url.port_or_known_default().unwrap_or(443);
        let listed = hosts.lists(&host, port);
        if host != "github.com" && !listed {
            return Err(format!(
                "{host} is not a git host of this engine: repositories come from github.com, or from hosts the operator lists in SWITCHBOARD_ENGINE_GIT_HOSTS"
            ));
        }
        match url.scheme() {
            "https" => {}
            "http" if listed && is_loopback(&host) => {}
            "http" => {
                return Err(format!("{text:?} is plain http; use https (plain http only for a listed loopback host)"));
            }
            other => return Err(format!("{other}: is not a scheme repositories are cloned with; use https")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("the URL must not hold a user or a token; give the token as authorization_token".to_owned());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("{text:?} has a query or a fragment; give the repository's address alone"));
        }
        let path = url.path().trim_end_matches('/');
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let name = parts.last().map(|p| p.strip_suffix(".git").unwrap_or(p)).unwrap_or_default();
        if name.is_empty() || name == "." || name == ".." || (host == "github.com" && parts.len() != 2) {
            return Err(format!("{text:?} does not name a repository (https://github.com/<owner>/<repository>)"));
        }
        let bare_path = path.strip_suffix(".git").unwrap_or(path);
        let canonical = format!("{}://{host}:{port}{}", url.scheme(), bare_path.to_ascii_lowercase());
        let key = hex(&Sha256::digest(canonical.as_bytes()));
        let authority = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let url = format!("{}://{authority}{path}", url.scheme());
        Ok(Self { url, host, port, name: name.to_owned(), key, listed })
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What to check out: a branch, a commit, or the repository's default branch.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    DefaultBranch,
    Branch(String),
    Commit(String),
}

impl Target {
    /// A resource's `checkout` (as stored), checked: a branch name git takes, or a commit's hex
    /// name (7 to 64 digits).
    pub fn of(checkout: &serde_json::Value) -> Result<Self, String> {
        match checkout["type"].as_str() {
            None if checkout.is_null() => Ok(Self::DefaultBranch),
            Some("branch") => {
                let name = checkout["name"].as_str().unwrap_or_default();
                let bad = name.is_empty()
                    || name.len() > 255
                    || name.starts_with(['-', '/', '.'])
                    || name.ends_with(['/', '.'])
                    || name.ends_with(".lock")
                    || name.contains("..")
                    || name.contains("@{")
                    || name.contains("//")
                    || name.chars().any(|c| c.is_control() || " ~^:?*[\\".contains(c));
                if bad {
                    return Err(format!("checkout.name {name:?} is not a branch name git takes"));
                }
                Ok(Self::Branch(name.to_owned()))
            }
            Some("commit") => {
                let sha = checkout["sha"].as_str().unwrap_or_default();
                if !(7..=64).contains(&sha.len()) || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(format!("checkout.sha {sha:?} is not a commit's name (7 to 64 hexadecimal digits)"));
                }
                Ok(Self::Commit(sha.to_ascii_lowercase()))
            }
            _ => {
                Err("checkout: use {\"type\": \"branch\", \"name\": …} or {\"type\": \"commit\", \"sha\": …}"
                    .to_owned())
            }
        }
    }
}

/// Why a repository was not checked out: the API's error type and a message in words (never
/// the token).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub kind: &'static str,
    pub message: String,
}

impl Failure {
    fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

/// The engine's repository caches, and a lock per repository: one fetch into a cache at a time.
#[derive(Debug)]
pub struct Repositories {
    root: PathBuf,
    hosts: GitHosts,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Repositories {
    /// The caches under `<data_dir>/git-cache`.
    pub fn new(data_dir: &Path, hosts: GitHosts) -> Self {
        Self { root: data_dir.join("git-cache"), hosts, locks: Mutex::default() }
    }

    pub fn hosts(&self) -> &GitHosts {
        &self.hosts
    }

    /// Checks `url` out at `target` into `dest` (a path in `ns`, whose parent exists; nothing
    /// may be at it), with `token` if any. Says what was checked out (`main at 3f2a9c1`).
    pub async fn check_out(
        &self,
        ns: Namespace,
        url: &RepositoryUrl,
        token: Option<&str>,
        target: &Target,
        dest: &Path,
    ) -> Result<String, Failure> {
        let address = resolve(url).await?;
        let remote = Remote { url, token, address };
        let cache = self.root.join(format!("{}.git", url.key));
        let lock = self.locks.lock().expect("repository locks").entry(url.key.clone()).or_default().clone();
        let _one_at_a_time = lock.lock().await;
        if !cache.join("HEAD").is_file() {
            let fresh = self.root.join(format!("{}.git.new", url.key));
            let _ = std::fs::remove_dir_all(&fresh);
            std::fs::create_dir_all(&self.root).map_err(|e| Failure::new("repository_clone_error", e.to_string()))?;
            git(ns, &self.root, None, &["init", "--quiet", "--bare", path_text(&fresh)?]).await?;
            std::fs::rename(&fresh, &cache).map_err(|e| Failure::new("repository_clone_error", e.to_string()))?;
        }
        // The host hears the session's own token before anything of the cache is used.
        let default_branch = remote.default_branch(ns, &cache).await?;
        git(
            ns,
            &cache,
            Some(&remote),
            &[
                "fetch",
                "--quiet",
                "--prune",
                "--no-tags",
                &url.url,
                "+refs/heads/*:refs/heads/*",
                "+refs/tags/*:refs/tags/*",
            ],
        )
        .await?;
        let (branch, commit) = match target {
            Target::DefaultBranch => {
                let branch = default_branch.clone().ok_or_else(|| {
                    Failure::new("repository_checkout_error", "the repository has no default branch (is it empty?)")
                })?;
                let commit = commit_of(ns, &cache, &format!("refs/heads/{branch}")).await;
                (Some(branch), commit)
            }
            Target::Branch(branch) => {
                (Some(branch.clone()), commit_of(ns, &cache, &format!("refs/heads/{branch}")).await)
            }
            Target::Commit(sha) => {
                let mut commit = commit_of(ns, &cache, sha).await;
                if commit.is_none() && sha.len() >= 40 {
                    // Not on a branch or tag: asked for by name, as GitHub allows.
                    let _ = git(ns, &cache, Some(&remote), &["fetch", "--quiet", "--no-tags", &url.url, sha]).await;
                    commit = commit_of(ns, &cache, sha).await;
                }
                (None, commit)
            }
        };
        let Some(commit) = commit else {
            return Err(Failure::new(
                "repository_checkout_error",
                match target {
                    Target::Commit(sha) => format!("{} has no commit {sha}", url.url),
                    _ => format!("{} has no branch {}", url.url, branch.as_deref().unwrap_or_default()),
                },
            ));
        };
        if let Some(default_branch) = &default_branch {
            // The cache's HEAD names the default branch, so the checkout's origin/HEAD does.
            let _ = git(ns, &cache, None, &["symbolic-ref", "HEAD", &format!("refs/heads/{default_branch}")]).await;
        }
        // Still under the lock: a fetch into the cache does not prune a branch while it is copied.
        copy_out(ns, &cache, url, branch.as_deref(), &commit, dest).await?;
        let short = &commit[..commit.len().min(7)];
        Ok(match branch {
            Some(branch) => format!("{branch} at {short}"),
            None => format!("commit {short}"),
        })
    }
}

/// A remote as git reaches it: its URL, the session's token, and the address it was resolved to.
struct Remote<'a> {
    url: &'a RepositoryUrl,
    token: Option<&'a str>,
    address: IpAddr,
}

impl Remote<'_> {
    /// Asks the host for the repository's default branch with the session's token: the check
    /// that the host accepts it. `None`: the repository has none (empty).
    async fn default_branch(&self, ns: Namespace, cache: &Path) -> Result<Option<String>, Failure> {
        let out = git(ns, cache, Some(self), &["ls-remote", "--symref", &self.url.url, "HEAD"]).await?;
        Ok(out.lines().find_map(|line| {
            let rest = line.strip_prefix("ref: refs/heads/")?;
            rest.split('\t').next().map(str::to_owned)
        }))
    }

    /// The configuration git gets in its environment for this remote: only https (and http for
    /// a listed loopback host), no redirect, no credential helper or prompt, the engine's
    /// address, and the token as a header.
    fn config(&self) -> Vec<(String, String)> {
        let mut config = vec![
            ("protocol.allow".to_owned(), "never".to_owned()),
            (
                format!("protocol.{}.allow", if self.url.url.starts_with("http:") { "http" } else { "https" }),
                "always".to_owned(),
            ),
            ("http.followRedirects".to_owned(), "false".to_owned()),
            ("credential.helper".to_owned(), String::new()),
        ];
        let address = match self.address {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        let host = self.url.host.trim_start_matches('[').trim_end_matches(']');
        config.push(("http.curloptResolve".to_owned(), format!("{host}:{}:{address}", self.url.port)));
        if let Some(token) = self.token {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
            config.push(("http.extraHeader".to_owned(), format!("Authorization: Basic {basic}")));
        }
        config
    }
}

/// The address git goes to for `url`: resolved here, judged as MCP connections are.
async fn resolve(url: &RepositoryUrl) -> Result<IpAddr, Failure> {
    let unreachable =
        |why: String| Failure::new("repository_clone_error", format!("{} cannot be reached: {why}", url.url));
    let host = url.host.trim_start_matches('[').trim_end_matches(']');
    let found: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host, url.port))
        .await
        .map_err(|e| unreachable(format!("{host} could not be resolved ({e})")))?
        .collect();
    let (allowed, refused) = crate::net::reachable(found, url.listed, &crate::net::own_addresses());
    match (allowed.first(), refused.first()) {
        (Some(address), _) => Ok(address.ip()),
        (None, Some((ip, why))) => {
            Err(unreachable(format!("{ip} is {why}; an operator can allow the host with SWITCHBOARD_ENGINE_GIT_HOSTS")))
        }
        (None, None) => Err(unreachable(format!("{host} has no address"))),
    }
}

/// The commit `name` names in `repo`, if any.
async fn commit_of(ns: Namespace, repo: &Path, name: &str) -> Option<String> {
    let out = git(ns, repo, None, &["rev-parse", "--verify", "--quiet", &format!("{name}^{{commit}}")]).await.ok()?;
    Some(out.trim().to_owned()).filter(|c| !c.is_empty())
}

/// A checkout of `commit` in `dest`, copied from the cache (no link to it: the agent writes its
/// copy), with `origin` the repository's URL and no credential anywhere.
async fn copy_out(
    ns: Namespace,
    cache: &Path,
    url: &RepositoryUrl,
    branch: Option<&str>,
    commit: &str,
    dest: &Path,
) -> Result<(), Failure> {
    let parent = dest.parent().unwrap_or(dest);
    let clone =
        ["clone", "--quiet", "--no-hardlinks", "--no-checkout", "--template=", path_text(cache)?, path_text(dest)?];
    git(ns, parent, None, &clone).await?;
    git(ns, dest, None, &["remote", "set-url", "origin", &url.url]).await?;
    match branch {
        Some(branch) => {
            git(ns, dest, None, &["checkout", "--quiet", "-B", branch, commit]).await?;
            git(ns, dest, None, &["branch", "--quiet", "--set-upstream-to", &format!("origin/{branch}"), branch])
                .await?;
        }
        None => {
            git(ns, dest, None, &["checkout", "--quiet", "--detach", commit]).await?;
        }
    }
    Ok(())
}

fn path_text(path: &Path) -> Result<&str, Failure> {
    path.to_str().ok_or_else(|| Failure::new("repository_clone_error", "the engine's data folder is not UTF-8"))
}

/// The mount namespace of the sessions' disks, which host-side git enters to reach a checkout
/// (`None`: sessions' folders are the host's).
pub type Namespace = Option<std::os::fd::RawFd>;

/// Runs git in `dir` (in `ns`, where the disks are mounted) with nothing of the host's configuration, no prompt and no hooks; with
/// `remote`, its configuration ([`Remote::config`]) in the environment. Answers its output, or
/// its failure in the API's terms.
async fn git(ns: Namespace, dir: &Path, remote: Option<&Remote<'_>>, args: &[&str]) -> Result<String, Failure> {
    let mut command = tokio::process::Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin:/usr/local/bin")
        .env("HOME", "/nonexistent")
        .env("LANG", "C")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "/bin/false")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut config =
        vec![("core.hooksPath".to_owned(), "/dev/null".to_owned()), ("core.fsmonitor".to_owned(), "false".to_owned())];
    if let Some(remote) = remote {
        config.extend(remote.config());
    }
    command.env("GIT_CONFIG_COUNT", config.len().to_string());
    for (i, (key, value)) in config.iter().enumerate() {
        command.env(format!("GIT_CONFIG_KEY_{i}"), key).env(format!("GIT_CONFIG_VALUE_{i}"), value);
    }
    if let Some(namespace) = ns {
        // SAFETY: runs in the child between fork and exec; setns is async-signal-safe and the
        // descriptor lives in the engine's `Disks`, which outlive the call.
        unsafe {
            command.pre_exec(move || crate::sandbox::disks::enter(namespace));
        }
    }
    let output = match tokio::time::timeout(GIT_TIMEOUT, command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(error)) => {
            return Err(Failure::new(
                "repository_clone_error",
                format!("git could not run on the engine's host: {error}"),
            ));
        }
        Err(_) => {
            return Err(Failure::new(
                "repository_clone_error",
                "git took more than 10 minutes; the repository was not checked out",
            ));
        }
    };
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let mut said = String::from_utf8_lossy(&output.stderr).into_owned();
    if let Some(token) = remote.and_then(|r| r.token).filter(|t| !t.is_empty()) {
        said = said.replace(token, "[token]");
    }
    Err(failure_of(remote.map(|r| r.url.url.as_str()), &said))
}

/// git's complaint (`said`, its standard error) as the API's error type and words.
fn failure_of(url: Option<&str>, said: &str) -> Failure {
    let lower = said.to_ascii_lowercase();
    let last = said.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("git failed").trim();
    let what = url.unwrap_or("the repository");
    if lower.contains("could not read username") || lower.contains("authentication failed") || lower.contains(" 401") {
        Failure::new(
            "repository_authentication_error",
            format!(
                "{what} refused the session's token (or needs one): set a token that can read it with the resource's rotation (POST /v1/sessions/{{id}}/resources/{{resource_id}})"
            ),
        )
    } else if lower.contains(" 403") {
        Failure::new(
            "repository_forbidden_error",
            format!("{what} refused access to the session's token (403): give it a token that may read the repository"),
        )
    } else if lower.contains("not found")
        || lower.contains(" 404")
        || lower.contains("does not appear to be a git repository")
    {
        Failure::new(
            "repository_not_found_error",
            format!("{what} was not found: check its address, and that the token can see it"),
        )
    } else if lower.contains("could not resolve")
        || lower.contains("failed to connect")
        || lower.contains("couldn't connect")
        || lower.contains("timed out")
    {
        Failure::new("repository_clone_error", format!("{what} could not be reached: {last}"))
    } else {
        Failure::new("repository_clone_error", format!("{what} could not be checked out: {last}"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn urls_come_from_github_or_a_listed_host_and_carry_no_token() {
        let none = GitHosts::default();
        let url = RepositoryUrl::parse("https://github.com/acme/widgets.git", &none).unwrap();
        assert_eq!((url.name.as_str(), url.url.as_str()), ("widgets", "https://github.com/acme/widgets.git"));
        let same = RepositoryUrl::parse("https://github.com/Acme/widgets/", &none).unwrap();
        assert_eq!(url.key, same.key, "one cache per repository, however it is written");
        for (bad, why) in [
            ("https://gitlab.com/acme/widgets", "SWITCHBOARD_ENGINE_GIT_HOSTS"),
            ("http://github.com/acme/widgets", "plain http"),
            ("ssh://github.com/acme/widgets", "scheme"),
            ("https://x-access-token:ghp_secret@github.com/acme/widgets", "authorization_token"),
            ("https://github.com/acme", "does not name a repository"),
            ("https://github.com/acme/widgets?x=1", "query"),
            ("file:///etc", "names no host"),
        ] {
            let error = RepositoryUrl::parse(bad, &none).unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
            assert!(!error.contains("ghp_secret"), "{error}");
        }
        let listed = GitHosts::from_env(|_| Some(" 127.0.0.1:8417 , git.example.com ".to_owned()));
        assert!(RepositoryUrl::parse("http://127.0.0.1:8417/team/app.git", &listed).is_ok());
        assert!(RepositoryUrl::parse("http://127.0.0.1:9999/team/app.git", &listed).is_err(), "another port");
        assert!(RepositoryUrl::parse("https://git.example.com/a/b/c", &listed).is_ok());
        let error = RepositoryUrl::parse("http://git.example.com/a/b", &listed).unwrap_err();
        assert!(error.contains("plain http"), "{error}");
        let ipv6 = GitHosts::with_hosts(&["::1"]);
        assert!(RepositoryUrl::parse("http://[::1]:8417/team/app.git", &ipv6).is_ok());
    }

    #[test]
    fn checkouts_name_a_branch_or_a_commit() {
        assert_eq!(Target::of(&json!(null)), Ok(Target::DefaultBranch));
        assert_eq!(
            Target::of(&json!({ "type": "branch", "name": "feature/x" })),
            Ok(Target::Branch("feature/x".into()))
        );
        assert_eq!(Target::of(&json!({ "type": "commit", "sha": "ABCDEF1" })), Ok(Target::Commit("abcdef1".into())));
        for bad in [
            json!({ "type": "branch", "name": "--upload-pack=x" }),
            json!({ "type": "branch", "name": "a..b" }),
            json!({ "type": "branch", "name": "" }),
            json!({ "type": "commit", "sha": "main" }),
            json!({ "type": "tag", "name": "v1" }),
        ] {
            assert!(Target::of(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn git_complaints_become_the_apis_errors_without_the_token() {
        let url = Some("https://github.com/a/b");
        let kind = |said: &str| failure_of(url, said).kind;
        assert_eq!(
            kind("fatal: could not read Username for 'https://github.com': terminal prompts disabled"),
            "repository_authentication_error"
        );
        assert_eq!(
            kind("fatal: unable to access 'x': The requested URL returned error: 403"),
            "repository_forbidden_error"
        );
        assert_eq!(
            kind("remote: Repository not found.\nfatal: repository 'x' not found"),
            "repository_not_found_error"
        );
        assert_eq!(
            kind("fatal: unable to access 'x': Failed to connect to 127.0.0.1 port 1"),
            "repository_clone_error"
        );
    }
}
