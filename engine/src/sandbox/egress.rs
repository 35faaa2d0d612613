//! The network of a sandbox: every sandbox has its own network namespace (bubblewrap's
//! `--unshare-net`), with only a loopback of its own, so nothing in it can reach the host's
//! loopback services (the console, the engine), the host's link-local or private neighbours, or
//! the internet directly. What an environment's networking allows goes through the engine's
//! **egress proxy**:
//!
//! - On the host, one [`Proxy`] per tool call listens on a Unix socket of its own, bound into the
//!   sandbox at [`SOCKET_IN_SANDBOX`]. Unix sockets on a file system are reachable across network
//!   namespaces; nothing else of the host is.
//! - Inside the sandbox, the tool runner's `sandbox-tool net` ([`inside`]) listens on
//!   `127.0.0.1:3128` of the sandbox's own loopback, relays every connection to that socket, and
//!   runs the call's command, which finds the proxy in `HTTP_PROXY` and `HTTPS_PROXY`.
//! - The proxy speaks HTTP `CONNECT` (for TLS and any TCP) and absolute-form HTTP requests. It
//!   checks the name against the environment's [`Egress`], resolves it itself and connects only
//!   to public addresses: never loopback, link-local, private, carrier-grade NAT, unique-local,
//!   multicast or reserved ranges, nor an address of this machine's own interfaces, whatever a
//!   name resolves to (so DNS rebinding gains nothing: the checked address is the one connected).
//!   `limited` allows only its `allowed_hosts` (and the package registries with
//!   `allow_package_managers`); an IP address is allowed there only when listed.
//!
//! Programs that ignore the proxy variables (ssh, `git@`, bash's `/dev/tcp`, raw sockets) reach
//! the network through the [`tunnel`](super::tunnel) instead, where the engine may make one, under
//! the same rules. What either refused is told to the agent after the command's output
//! ([`Refusals`]).

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpStream, UnixListener, UnixStream},
    task::JoinSet,
};

/// The judgement of an address, shared with the console's outbound URLs.
pub use crate::net::unreachable_because;

/// Where the proxy's socket is inside a sandbox.
pub const SOCKET_IN_SANDBOX: &str = "/run/switchboard/egress.sock";
/// The port the relay listens on, on the sandbox's own loopback.
pub const PORT_IN_SANDBOX: u16 = 3128;
/// The hosts `allow_package_managers` opens: the registries of the six package managers the
/// API's `packages` names (apt, cargo, gem, go, npm, pip).
pub const PACKAGE_REGISTRIES: &[&str] = &[
    "deb.debian.org",
    "security.debian.org",
    "crates.io",
    "index.crates.io",
    "static.crates.io",
    "rubygems.org",
    "index.rubygems.org",
    "proxy.golang.org",
    "sum.golang.org",
    "registry.npmjs.org",
    "registry.yarnpkg.com",
    "pypi.org",
    "files.pythonhosted.org",
];
const MAX_HEAD_BYTES: usize = 16 * 1024;
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most connections one call's proxy relays at once.
const MAX_CONNECTIONS: usize = 128;
/// The most refusals one call keeps to tell (a loop of refused requests is told once each, up
/// to this many distinct ones).
const MAX_REFUSALS: usize = 20;

/// What a sandbox may reach, from its environment's `networking`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Egress {
    /// No network at all: `limited` with no hosts and no package managers. No proxy is started.
    None,
    /// `unrestricted`: any public address.
    Public,
    /// `limited`: only these hosts (exact names, `*.` wildcards for subdomains, or IP addresses).
    Only(Vec<String>),
}

impl Egress {
    /// From an environment's `config.networking` as the API returns it; `mirrors` are the hosts
    /// of the engine's package mirrors, opened with `allow_package_managers`.
    pub fn of(networking: &serde_json::Value, mirrors: &[String]) -> Self {
        match networking["type"].as_str() {
            Some("unrestricted") => Self::Public,
            Some("limited") => {
                let mut hosts: Vec<String> = networking["allowed_hosts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|h| h.as_str())
                    .map(normal)
                    .collect();
                if networking["allow_package_managers"].as_bool() == Some(true) {
                    hosts.extend(PACKAGE_REGISTRIES.iter().map(|h| (*h).to_owned()));
                    hosts.extend(mirrors.iter().cloned());
                }
                if hosts.is_empty() { Self::None } else { Self::Only(hosts) }
            }
            _ => Self::None,
        }
    }

    /// Whether package managers may reach their registries (and the engine's mirrors).
    pub fn package_managers(networking: &serde_json::Value) -> bool {
        networking["type"] == "unrestricted" || networking["allow_package_managers"] == true
    }

    /// Whether a host name (already [`normal`]) may be asked for at all.
    pub fn allows(&self, host: &str) -> bool {
        match self {
            Self::None => false,
            Self::Public => true,
            Self::Only(hosts) => hosts.iter().any(|rule| match rule.strip_prefix("*.") {
                Some(domain) => host.strip_suffix(domain).is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
                None => rule == host,
            }),
        }
    }
}

/// A host as compared: lower case, without a final dot or IPv6 brackets.
pub(super) fn normal(host: &str) -> String {
    host.trim().trim_end_matches('.').trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase()
}

/// Why the proxy or the tunnel refused a connection (or a name), in the words the agent reads
/// after its command's output and a program gets in the proxy's 403.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("this environment has no network")]
    NoNetwork,
    #[error("not in this environment's allowed_hosts (networking is limited)")]
    HostNotAllowed,
    /// The tunnel's DNS, asked for a name `limited` does not allow.
    #[error("not in this environment's allowed_hosts (networking is limited); its name was not resolved")]
    NameNotAllowed,
    /// The tunnel, asked for an address no allowed name resolved to.
    #[error("not an address of this environment's allowed_hosts (networking is limited)")]
    AddressNotAllowed,
    #[error("port 0")]
    PortZero,
    #[error("not a host name")]
    NotAHostName,
    #[error("the name could not be resolved ({0})")]
    Unresolved(std::io::Error),
    #[error("{ip} is {why}; a sandbox reaches only public addresses")]
    Unreachable { ip: IpAddr, why: &'static str },
    /// Every address a name resolved to, each with why it is unreachable.
    #[error("{}; a sandbox reaches only public addresses", each_unreachable(.0))]
    AllUnreachable(Vec<(IpAddr, &'static str)>),
    /// The tunnel's DNS: every address of the name is unreachable; the first is named.
    #[error("resolves to {first}, {why}; a sandbox reaches only public addresses")]
    ResolvesUnreachable { first: Ipv4Addr, why: &'static str },
}

/// `10.0.0.1 is private, ::1 is loopback`.
fn each_unreachable(addresses: &[(IpAddr, &'static str)]) -> String {
    addresses.iter().map(|(ip, why)| format!("{ip} is {why}")).collect::<Vec<_>>().join(", ")
}

/// What one call's proxy and tunnel refused, to tell the agent after the command's output: each
/// distinct refusal once, at most [`MAX_REFUSALS`].
#[derive(Debug, Clone, Default)]
pub struct Refusals(Arc<Mutex<Vec<String>>>);

impl Refusals {
    /// Notes that `place` (`host:port`, or a name) was refused, and why.
    pub fn push(&self, place: &str, why: &Refusal) {
        tracing::debug!(%place, %why, "the sandbox's network refused a connection");
        let line = format!("{place}: {why}");
        if let Ok(mut told) = self.0.lock()
            && told.len() < MAX_REFUSALS
            && !told.contains(&line)
        {
            told.push(line);
        }
    }

    /// Every refusal so far, one line each (`place: why`).
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().map(|told| told.clone()).unwrap_or_default()
    }
}

/// One tool call's egress proxy on the host. Dropping it stops it: its listener, every
/// connection it relays, and its socket file.
pub struct Proxy {
    socket: PathBuf,
    refusals: Refusals,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on a fresh socket in `dir` for one call with this egress. `trusted` (host, port)
    /// pairs are reached at any address they resolve to: the package mirrors the operator named.
    pub fn start(egress: Egress, trusted: Vec<(String, u16)>, dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            // Only the engine's user reaches the sockets from the host, and the folder must be its
            // own: whoever owns it could put a socket of theirs in place of the proxy's.
            // SAFETY: geteuid only reads the process's user id.
            if std::fs::metadata(dir)?.uid() != unsafe { libc::geteuid() } {
                return Err(std::io::Error::other(format!("{} belongs to another user", dir.display())));
            }
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        let socket = dir.join(format!("{:016x}.sock", rand::random::<u64>()));
        let listener = UnixListener::bind(&socket)?;
        let refusals = Refusals::default();
        let told = refusals.clone();
        let egress = Arc::new((egress, trusted));
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { continue };
                        // Past the cap a connection is closed at once (the relay's threads are
                        // held by the call's process limit; a direct connection is not).
                        if connections.len() < MAX_CONNECTIONS {
                            connections.spawn(serve(client, egress.clone(), told.clone()));
                        }
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(Self { socket, refusals, task })
    }

    /// The socket to bind into the sandbox at [`SOCKET_IN_SANDBOX`].
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// What the proxy refused: the call's log of refusals, which its tunnel shares.
    pub fn refusals(&self) -> &Refusals {
        &self.refusals
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Aborting the task drops its JoinSet, which aborts every connection it relays.
        self.task.abort();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Why the proxy cannot read what a sandbox asks for: its 400 says so.
#[derive(Debug, thiserror::Error)]
enum BadAsk {
    #[error("the proxy could not read the request: {0}")]
    Unreadable(httparse::Error),
    #[error("CONNECT needs host:port, not {target:?}")]
    ConnectTarget { target: String },
    #[error("CONNECT needs a port: {target:?}")]
    ConnectPort { target: String },
    #[error("the proxy could not read the address {target:?}")]
    Address { target: String },
    #[error("the proxy takes http:// addresses and CONNECT (for https and other protocols), not {target:?}")]
    NotHttp { target: String },
    #[error("no host in {target:?}")]
    NoHost { target: String },
}

/// What a sandbox asked the proxy for.
#[derive(Debug, PartialEq)]
struct Ask {
    host: String,
    port: u16,
    /// `None` for `CONNECT` (answer "established", then relay bytes); otherwise the request head
    /// to send to the host, in origin form and with `Connection: close`, followed by what the
    /// client sent after its head.
    forward: Option<Vec<u8>>,
}

/// Reads a request head and says what it asks for; `Err` is the 400 to give instead.
fn parse(buffer: &[u8]) -> Result<Option<Ask>, BadAsk> {
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(buffer) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(BadAsk::Unreadable(error)),
    };
    let (method, target) = (request.method.unwrap_or_default(), request.path.unwrap_or_default());
    if method.eq_ignore_ascii_case("CONNECT") {
        let authority: axum::http::uri::Authority =
            target.parse().map_err(|_| BadAsk::ConnectTarget { target: target.to_owned() })?;
        let port = authority.port_u16().ok_or_else(|| BadAsk::ConnectPort { target: target.to_owned() })?;
        return Ok(Some(Ask { host: normal(authority.host()), port, forward: None }));
    }
    let uri: axum::http::Uri = target.parse().map_err(|_| BadAsk::Address { target: target.to_owned() })?;
    if uri.scheme_str() != Some("http") {
        return Err(BadAsk::NotHttp { target: target.to_owned() });
    }
    let host = uri.host().ok_or_else(|| BadAsk::NoHost { target: target.to_owned() })?;
    let mut forward = format!("{method} {} HTTP/1.1\r\n", uri.path_and_query().map_or("/", |p| p.as_str()));
    for header in request.headers.iter() {
        let name = header.name.to_ascii_lowercase();
        if matches!(name.as_str(), "connection" | "proxy-connection" | "proxy-authorization" | "keep-alive") {
            continue;
        }
        forward.push_str(header.name);
        forward.push_str(": ");
        forward.push_str(&String::from_utf8_lossy(header.value));
        forward.push_str("\r\n");
    }
    forward.push_str("Connection: close\r\n\r\n");
    let mut forward = forward.into_bytes();
    forward.extend_from_slice(&buffer[head_len..]);
    Ok(Some(Ask { host: normal(host), port: uri.port_u16().unwrap_or(80), forward: Some(forward) }))
}

/// One connection from a sandbox: read what it asks for, check it, relay it.
async fn serve(mut client: UnixStream, egress: Arc<(Egress, Vec<(String, u16)>)>, refusals: Refusals) {
    let mut buffer = Vec::with_capacity(2048);
    let ask = loop {
        match parse(&buffer) {
            Ok(Some(ask)) => break ask,
            Ok(None) if buffer.len() >= MAX_HEAD_BYTES => {
                return answer(&mut client, 431, "the request head is too large").await;
            }
            Ok(None) => {}
            Err(bad) => return answer(&mut client, 400, &bad.to_string()).await,
        }
        match tokio::time::timeout(HEAD_TIMEOUT, client.read_buf(&mut buffer)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return,
        }
    };
    let place = format!("{}:{}", ask.host, ask.port);
    let trusted = egress.1.iter().any(|(host, port)| *host == ask.host && *port == ask.port);
    let addresses = match destinations(&egress.0, trusted, &ask.host, ask.port).await {
        Ok(addresses) => addresses,
        Err(why) => {
            refusals.push(&place, &why);
            return answer(&mut client, 403, &format!("Switchboard's sandbox refused {place}: {why}.")).await;
        }
    };
    let mut upstream = None;
    let mut last_error = String::from("no address");
    for address in addresses {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => {
                upstream = Some(stream);
                break;
            }
            Ok(Err(error)) => last_error = error.to_string(),
            Err(_) => last_error = format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        }
    }
    let Some(mut upstream) = upstream else {
        return answer(&mut client, 502, &format!("{place} could not be reached: {last_error}.")).await;
    };
    let sent = match &ask.forward {
        None => client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await,
        Some(head) => upstream.write_all(head).await,
    };
    if sent.is_ok() {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
}

/// The addresses `host:port` may be reached at, or why none.
async fn destinations(egress: &Egress, trusted: bool, host: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
    if !egress.allows(host) {
        return Err(match egress {
            Egress::Only(_) => Refusal::HostNotAllowed,
            _ => Refusal::NoNetwork,
        });
    }
    if port == 0 {
        return Err(Refusal::PortZero);
    }
    let candidates: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => {
            if !host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') || host.len() > 253 {
                return Err(Refusal::NotAHostName);
            }
            tokio::net::lookup_host((host, port)).await.map_err(Refusal::Unresolved)?.collect()
        }
    };
    // A package mirror may be on the private network; a metadata service never.
    let (allowed, mut refused) = crate::net::reachable(candidates, trusted, &crate::net::own_addresses());
    if allowed.is_empty() {
        refused.dedup();
        return Err(Refusal::AllUnreachable(refused));
    }
    Ok(allowed)
}

async fn answer(client: &mut UnixStream, status: u16, text: &str) {
    let reason = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        431 => "Request Header Fields Too Large",
        _ => "Bad Gateway",
    };
    let body = format!("{text}\n");
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nX-Proxy-Error: switchboard-sandbox\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = client.write_all(response.as_bytes()).await;
    let _ = client.shutdown().await;
}

/// The environment a command inside a sandbox with egress gets, so that it finds the proxy.
pub fn proxy_variables() -> Vec<(&'static str, String)> {
    let proxy = format!("http://127.0.0.1:{PORT_IN_SANDBOX}");
    let local = "localhost,127.0.0.1,::1".to_owned();
    vec![
        ("HTTP_PROXY", proxy.clone()),
        ("HTTPS_PROXY", proxy.clone()),
        ("http_proxy", proxy.clone()),
        ("https_proxy", proxy),
        ("NO_PROXY", local.clone()),
        ("no_proxy", local),
        // Node.js 24 reads the variables above only when asked to.
        ("NODE_USE_ENV_PROXY", "1".to_owned()),
        // Node.js trusts its own list of authorities, not the host's (which curl, pip and git
        // use): a host whose store has its own authority needs this for npm.
        ("NODE_EXTRA_CA_CERTS", "/etc/ssl/certs/ca-certificates.crt".to_owned()),
    ]
}

// ---------------------------------------------------------------------------------------------
// Inside the sandbox
// ---------------------------------------------------------------------------------------------

/// `sandbox-tool net <program> [args…]`, inside a sandbox: relays `127.0.0.1:3128` of the
/// sandbox's loopback to the proxy's socket while `program` runs, and exits as it does (128 +
/// the signal when a signal ended it, as a shell would say).
pub fn inside(command: &[String]) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    let Some((program, args)) = command.split_first() else {
        eprintln!("usage: sandbox-tool net <program> [args…]");
        return 2;
    };
    match std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, PORT_IN_SANDBOX)) {
        Ok(listener) => {
            std::thread::spawn(move || {
                for connection in listener.incoming().flatten() {
                    std::thread::spawn(move || relay(connection));
                }
            });
        }
        // The command still runs; it will find no proxy and say so.
        Err(error) => eprintln!("the sandbox's network relay could not start: {error}"),
    }
    match std::process::Command::new(program).args(args).status() {
        Ok(status) => status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        Err(error) => {
            eprintln!("{program}: {error}");
            127
        }
    }
}

fn relay(client: std::net::TcpStream) {
    use std::net::Shutdown;
    let Ok(proxy) = std::os::unix::net::UnixStream::connect(SOCKET_IN_SANDBOX) else { return };
    let (Ok(mut client_in), Ok(mut proxy_out)) = (client.try_clone(), proxy.try_clone()) else { return };
    let upward = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_in, &mut proxy_out);
        let _ = proxy_out.shutdown(Shutdown::Write);
    });
    let (mut client_out, mut proxy_in) = (client, proxy);
    let _ = std::io::copy(&mut proxy_in, &mut client_out);
    let _ = client_out.shutdown(Shutdown::Write);
    let _ = upward.join();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limited_allows_its_hosts_wildcards_for_subdomains_only_and_registries_when_asked() {
        let egress = Egress::of(
            &json!({ "type": "limited", "allowed_hosts": ["API.example.com.", "*.cdn.test", "203.0.113.7"] }),
            &[],
        );
        assert!(egress.allows("api.example.com"));
        assert!(!egress.allows("example.com") && !egress.allows("evil-api.example.com"));
        assert!(egress.allows("a.cdn.test") && egress.allows("a.b.cdn.test"));
        assert!(!egress.allows("cdn.test") && !egress.allows("xcdn.test"));
        assert!(egress.allows("203.0.113.7") && !egress.allows("203.0.113.8"));
        assert!(!egress.allows("pypi.org"));
        let registries = Egress::of(
            &json!({ "type": "limited", "allowed_hosts": [], "allow_package_managers": true }),
            &["mirror.internal".to_owned()],
        );
        assert!(registries.allows("pypi.org") && registries.allows("registry.npmjs.org"));
        assert!(registries.allows("mirror.internal"), "the engine's mirrors, with the registries");
        assert!(!egress.allows("mirror.internal"));
        assert_eq!(Egress::of(&json!({ "type": "limited", "allowed_hosts": [] }), &["m".into()]), Egress::None);
        assert_eq!(Egress::of(&json!({ "type": "unrestricted" }), &[]), Egress::Public);
        assert!(Egress::Public.allows("anything.example"));
    }

    #[test]
    fn requests_are_read_as_connect_or_absolute_http_and_anything_else_is_refused() {
        let connect = parse(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n").unwrap().unwrap();
        assert_eq!(connect, Ask { host: "example.com".into(), port: 443, forward: None });
        let v6 = parse(b"CONNECT [::1]:22 HTTP/1.1\r\n\r\n").unwrap().unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 22));
        assert_eq!(parse(b"CONNECT example.com:44").unwrap(), None, "a partial head waits for more");
        let get = parse(b"GET http://Example.com:8080/a?b=1 HTTP/1.1\r\nHost: example.com\r\nProxy-Connection: keep-alive\r\n\r\nbody")
            .unwrap()
            .unwrap();
        assert_eq!((get.host.as_str(), get.port), ("example.com", 8080));
        assert_eq!(
            String::from_utf8(get.forward.unwrap()).unwrap(),
            "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\nbody"
        );
        assert!(matches!(parse(b"GET /relative HTTP/1.1\r\n\r\n"), Err(BadAsk::NotHttp { .. })));
        assert!(matches!(parse(b"GET ftp://example.com/ HTTP/1.1\r\n\r\n"), Err(BadAsk::NotHttp { .. })));
        assert!(matches!(parse(b"CONNECT example.com HTTP/1.1\r\n\r\n"), Err(BadAsk::ConnectPort { .. })));
        assert!(matches!(parse(b"\x16\x03\x01garbage\r\n\r\n"), Err(BadAsk::Unreadable(_))));
    }
}
