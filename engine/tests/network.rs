//! A sandbox's network reaches only what its environment allows, through the engine's egress
//! proxy, or its tunnel for programs that ignore the proxy. The engine runs in a network namespace this test makes, beside a second one for the
//! "outside": test hosts at a public documentation address (203.0.113.10), a private one
//! (10.77.0.10) and a link-local one (169.254.77.10), all one HTTP server that counts what
//! reaches it. The engine's machine has a name server of its own at the address this machine's
//! `resolv.conf` names, which knows `outside.test` (203.0.113.10) and `private.test`
//! (10.77.0.10). No traffic leaves the machine, and nothing of the host's own network is touched.
//!
//! Before stop 29 every one of these would have been reached by an `unrestricted` sandbox, which
//! shared the host's network namespace (`--share-net`): the engine's and the console's loopback
//! ports, the private and link-local hosts and this machine's own address; and `limited` had no
//! network at all, so its `allowed_hosts` were ignored. Until the tunnel (stop 30), programs that
//! ignore the proxy variables had no network at all, whatever the environment allowed.

use crate::support;

use std::{
    io::{Read, Write},
    net::TcpListener,
    os::fd::AsRawFd,
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use serde_json::json;
use support::{config, spawn_engine, temp_dir, tool_results};

/// A named network namespace (`ip netns add`), deleted when dropped.
struct Netns(String);

impl Netns {
    fn new(name: String) -> Self {
        ip(&["netns", "add", &name]);
        Self(name)
    }

    /// Moves the calling thread (and what it starts) into this namespace.
    fn enter(name: &str) {
        let file = std::fs::File::open(format!("/run/netns/{name}")).expect("the namespace exists");
        // SAFETY: setns on a valid namespace descriptor affects only the calling thread.
        let done = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(done, 0, "setns into {name}: {}", std::io::Error::last_os_error());
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("iproute2's ip runs");
    assert!(status.success(), "ip {}", args.join(" "));
}

/// A server that answers every request with `answer` and counts the connections it took.
fn count_connections(listener: TcpListener, answer: &'static str) -> Arc<AtomicUsize> {
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            let mut stream = stream;
            let mut head = [0u8; 4096];
            let _ = stream.read(&mut head);
            let _ = write!(stream, "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{answer}", answer.len());
        }
    });
    count
}

/// The engine's machine (`h`) and the outside (`o`), joined by a veth pair: 203.0.113.1,
/// 10.77.0.1 and 169.254.77.1 on the machine's side, .10 of each on the outside's.
fn two_hosts(name: &str) -> (Netns, Netns) {
    // SAFETY: geteuid only reads the process's user id.
    if unsafe { libc::geteuid() } != 0 {
        panic!("this test makes network namespaces and needs root, as CI has");
    }
    let tag = format!("sbt{}{name}", std::process::id());
    let (host, outside) = (Netns::new(format!("{tag}h")), Netns::new(format!("{tag}o")));
    let (h, o) = (host.0.clone(), outside.0.clone());
    ip(&["-n", &h, "link", "set", "lo", "up"]);
    ip(&["-n", &o, "link", "set", "lo", "up"]);
    ip(&["-n", &h, "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", &o]);
    for (ns, dev, last) in [(&h, "v0", "1"), (&o, "v1", "10")] {
        for net in ["203.0.113", "10.77.0"] {
            ip(&["-n", ns, "addr", "add", &format!("{net}.{last}/24"), "dev", dev]);
        }
        ip(&["-n", ns, "addr", "add", &format!("169.254.77.{last}/16"), "dev", dev]);
        ip(&["-n", ns, "link", "set", dev, "up"]);
    }
    (host, outside)
}

/// A name server in the namespace `h`, at the address this machine's `resolv.conf` names (so the
/// engine's resolver, in `h`, asks it): `outside.test` is 203.0.113.10, `private.test`
/// 10.77.0.10, and no other name is known.
fn name_server_in(h: &str) {
    let resolv = std::fs::read_to_string("/etc/resolv.conf").expect("this machine has a resolv.conf");
    let server: std::net::IpAddr = resolv
        .lines()
        .find_map(|line| line.strip_prefix("nameserver"))
        .and_then(|address| address.trim().parse().ok())
        .expect("resolv.conf names a server");
    if !server.is_loopback() {
        let prefix = if server.is_ipv4() { 32 } else { 128 };
        ip(&["-n", h, "addr", "add", &format!("{server}/{prefix}"), "dev", "lo"]);
    }
    let (ready, bound) = std::sync::mpsc::channel();
    let h = h.to_owned();
    std::thread::spawn(move || {
        use simple_dns::{CLASS, Packet, RCODE, ResourceRecord, rdata::RData};
        Netns::enter(&h);
        let socket = std::net::UdpSocket::bind((server, 53)).unwrap();
        ready.send(()).unwrap();
        let mut buffer = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buffer) {
            let Ok(query) = Packet::parse(&buffer[..n]) else { continue };
            let mut reply = Packet::new_reply(query.id());
            for question in &query.questions {
                reply.questions.push(question.clone());
                let address: Option<std::net::Ipv4Addr> = match question.qname.to_string().as_str() {
                    "outside.test" => Some("203.0.113.10".parse().unwrap()),
                    "private.test" => Some("10.77.0.10".parse().unwrap()),
                    _ => None,
                };
                match address {
                    Some(address) if question.qtype == simple_dns::TYPE::A.into() => reply
                        .answers
                        .push(ResourceRecord::new(question.qname.clone(), CLASS::IN, 60, RData::A(address.into()))),
                    Some(_) => {}
                    None => *reply.rcode_mut() = RCODE::NameError,
                }
            }
            let _ = socket.send_to(&reply.build_bytes_vec().unwrap(), from);
        }
    });
    bound.recv().unwrap();
}

/// A runtime whose threads (and what they start) are in the network namespace `h`, as is the
/// calling thread after this.
fn runtime_in(h: &str) -> tokio::runtime::Runtime {
    Netns::enter(h);
    let h = h.to_owned();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || Netns::enter(&h))
        .build()
        .unwrap()
}

#[test]
fn a_sandbox_reaches_only_public_hosts_its_networking_allows_through_the_proxy() {
    let (host, outside) = two_hosts("n");
    let (h, o) = (host.0.clone(), outside.0.clone());

    // The outside: one server on all three of its addresses.
    let (ready, listening) = std::sync::mpsc::channel();
    let outside_name = o.clone();
    std::thread::spawn(move || {
        Netns::enter(&outside_name);
        ready.send(TcpListener::bind("0.0.0.0:8080").unwrap()).unwrap();
    });
    let outside_hits = count_connections(listening.recv().unwrap(), "hello from outside\n");

    // The engine's machine: the engine, a "console" on loopback, a service on its own address,
    // its name server.
    name_server_in(&h);
    let runtime = runtime_in(&h);
    let console = TcpListener::bind("127.0.0.1:0").unwrap();
    let console_port = console.local_addr().unwrap().port();
    let console_hits = count_connections(console, "console");
    let own = TcpListener::bind("0.0.0.0:0").unwrap();
    let own_port = own.local_addr().unwrap().port();
    let own_hits = count_connections(own, "own service");
    runtime.block_on(async {
        let engine = spawn_engine(config(temp_dir())).await;
        let engine_port = engine.url.rsplit(':').next().unwrap().to_owned();
        let bash = |command: String| json!({ "tool": "bash", "input": { "command": command, "timeout_ms": 30_000 } });
        let curl = |options: &str, url: &str| bash(format!("curl -fsS -m 5 {options} {url}"));

        let unrestricted = json!([
            curl("", "http://203.0.113.10:8080/"),
            curl("-p", "http://203.0.113.10:8080/"),
            curl("", "http://10.77.0.10:8080/"),
            curl("-p", "http://169.254.77.10:8080/"),
            curl("", &format!("http://127.0.0.1:{engine_port}/v1/agents")),
            curl("--noproxy ''", &format!("http://127.0.0.1:{engine_port}/v1/agents")),
            curl("--noproxy ''", &format!("http://localhost:{console_port}/")),
            curl("--noproxy ''", &format!("http://203.0.113.1:{own_port}/")),
            curl("--noproxy '*'", "http://203.0.113.10:8080/"),
            bash("getent hosts outside.test; echo \"lookup exit $?\"".into()),
            bash("echo still here".into()),
            // Past the proxy, through the tunnel.
            curl("--noproxy '*'", "http://10.77.0.10:8080/"),
            curl("--noproxy '*'", &format!("http://203.0.113.1:{own_port}/")),
            bash("exec 3<>/dev/tcp/169.254.77.10/8080 && echo connected".into()),
            bash("getent hosts private.test; echo \"lookup exit $?\"".into()),
            bash(r"exec 3<>/dev/tcp/outside.test/8080 && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && tail -n 1 <&3".into()),
            curl("--noproxy '*'", &format!("http://127.0.0.1:{engine_port}/v1/agents")),
        ]);
        let session = engine.scripted_session(json!([unrestricted]), "unrestricted").await;
        engine.say(&session, "reach out").await;
        let results = tool_results(&engine.wait_idle(&session, 1).await);
        assert_eq!(results.len(), 17, "{results:#?}");
        let refused = |i: usize, words: &str| {
            assert!(results[i].0, "call {i} should fail: {:?}", results[i]);
            assert!(results[i].1.contains(words), "call {i} should say {words:?}: {:?}", results[i]);
            assert!(!results[i].1.contains("hello from outside"), "call {i} got through: {:?}", results[i]);
        };
        assert_eq!(results[0], (false, "hello from outside\n".to_owned()), "a public host, through the proxy");
        assert_eq!(results[1], (false, "hello from outside\n".to_owned()), "the same through CONNECT");
        refused(2, "the sandbox's network refused: 10.77.0.10:8080: 10.77.0.10 is private");
        refused(3, "169.254.77.10:8080: 169.254.77.10 is link-local");
        // Straight to loopback: the sandbox's own, where nothing listens.
        refused(4, "Couldn't connect to server");
        refused(5, &format!("127.0.0.1:{engine_port}: 127.0.0.1 is loopback"));
        refused(6, &format!("localhost:{console_port}: 127.0.0.1 is loopback"));
        refused(7, &format!("203.0.113.1:{own_port}: 203.0.113.1 is an address of this machine"));
        // Past the proxy: the tunnel, under the same rules, and its DNS.
        assert_eq!(results[8], (false, "hello from outside\n".to_owned()), "a public host, not through the proxy");
        assert_eq!(results[9], (false, "203.0.113.10    outside.test\nlookup exit 0\n".to_owned()));
        assert_eq!(results[10], (false, "still here\n".to_owned()));
        refused(11, "10.77.0.10:8080: 10.77.0.10 is private");
        // A reset (curl's words for "connection refused"), not a connection that hangs or closes.
        assert!(results[11].1.starts_with("curl: (7) Failed to connect"), "refused at once: {:?}", results[11]);
        refused(12, &format!("203.0.113.1:{own_port}: 203.0.113.1 is an address of this machine"));
        refused(13, "169.254.77.10:8080: 169.254.77.10 is link-local");
        assert!(!results[13].1.contains("connected"), "{:?}", results[13]);
        let told = "[the sandbox's network refused: private.test: resolves to 10.77.0.10, private";
        assert!(results[14].1.starts_with(&format!("lookup exit 2\n{told}")), "{:?}", results[14]);
        assert_eq!(results[15], (false, "hello from outside\n".to_owned()), "a name, through the tunnel's DNS");
        // The sandbox's loopback is its own: nothing listens there.
        refused(16, "Couldn't connect to server");

        let limited = json!([
            curl("", "http://outside.test:8080/"),
            curl("", "http://example.com/"),
            curl("-p", "http://203.0.113.11:8080/"),
            curl("", "http://10.77.0.10:8080/"),
            curl("--noproxy ''", &format!("http://localhost:{engine_port}/v1/agents")),
            bash("getent hosts example.com; echo \"lookup exit $?\"".into()),
            bash("exec 3<>/dev/tcp/203.0.113.10/8080 && echo connected".into()),
            bash("getent hosts outside.test >/dev/null && exec 3<>/dev/tcp/203.0.113.10/8080 && echo connected".into()),
            bash("exec 3<>/dev/tcp/10.77.0.10/8080 && echo connected".into()),
        ]);
        let networking = json!({ "type": "limited", "allowed_hosts": ["outside.test", "10.77.0.10", "localhost"] });
        let session = engine.scripted_session_with(json!([limited]), networking).await;
        engine.say(&session, "reach out").await;
        let results = tool_results(&engine.wait_idle(&session, 1).await);
        assert_eq!(results.len(), 9, "{results:#?}");
        let refused = |i: usize, words: &str| {
            assert!(results[i].0, "call {i} should fail: {:?}", results[i]);
            assert!(results[i].1.contains(words), "call {i} should say {words:?}: {:?}", results[i]);
        };
        assert_eq!(results[0], (false, "hello from outside\n".to_owned()), "a listed host");
        refused(1, "example.com:80: not in this environment's allowed_hosts");
        refused(2, "203.0.113.11:8080: not in this environment's allowed_hosts");
        refused(3, "10.77.0.10 is private");
        refused(4, "127.0.0.1 is loopback");
        let told = "[the sandbox's network refused: example.com: not in this environment's allowed_hosts";
        assert!(results[5].1.starts_with(&format!("lookup exit 2\n{told}")), "{:?}", results[5]);
        // An address is open once the tunnel's DNS has given it for an allowed name, in that call.
        refused(6, "203.0.113.10:8080: not an address of this environment's allowed_hosts");
        assert_eq!(results[7], (false, "connected\n".to_owned()));
        // Listed, but private: never.
        refused(8, "10.77.0.10:8080: 10.77.0.10 is private");

        // Exactly the allowed connections reached the outside (curl's four, bash's two); nothing
        // reached the rest. The tunnel's stack answers the sandbox's handshake before it dials
        // out, so bash's "connected" can come before the outside accepts: wait for it, bounded.
        let waited = std::time::Instant::now();
        while outside_hits.load(Ordering::SeqCst) < 6 && waited.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(outside_hits.load(Ordering::SeqCst), 6);
        assert_eq!(console_hits.load(Ordering::SeqCst), 0);
        assert_eq!(own_hits.load(Ordering::SeqCst), 0);
        let status = engine.get(&format!("/v1/sessions/{session}")).await;
        assert_eq!(status["status"], "idle", "the engine still serves: {status}");
    });
    drop(runtime);
    drop((host, outside));
}

/// A process that is killed when dropped.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A PyPI "simple" index in `site` with one pure-Python wheel, `hellopkg` 1.0.
fn package_index(site: &std::path::Path) {
    let files = [
        ("hellopkg/__init__.py", "GREETING = 'hello from a package'\n"),
        ("hellopkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: hellopkg\nVersion: 1.0\n"),
        (
            "hellopkg-1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: switchboard-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        ),
        (
            "hellopkg-1.0.dist-info/RECORD",
            "hellopkg/__init__.py,,\nhellopkg-1.0.dist-info/METADATA,,\nhellopkg-1.0.dist-info/WHEEL,,\nhellopkg-1.0.dist-info/RECORD,,\n",
        ),
    ];
    std::fs::create_dir_all(site.join("simple/hellopkg")).unwrap();
    let wheel = std::fs::File::create(site.join("hellopkg-1.0-py3-none-any.whl")).unwrap();
    let mut zip = zip::ZipWriter::new(wheel);
    for (name, text) in files {
        zip.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    std::fs::write(
        site.join("simple/hellopkg/index.html"),
        "<html><body><a href=\"../../hellopkg-1.0-py3-none-any.whl\">hellopkg-1.0-py3-none-any.whl</a></body></html>\n",
    )
    .unwrap();
}

/// An environment's `packages` install, inside the sandbox and through its egress proxy, from the
/// engine's package mirror (here at a private address, which the operator named), into the
/// session's own prefix; `apt` is refused in words; a second call does not install again. Before
/// stop 29 `packages` were stored and never installed.
#[test]
fn packages_install_from_the_engines_mirror_into_the_sessions_own_prefix() {
    let (host, outside) = two_hosts("p");
    let site = temp_dir();
    package_index(&site);
    let _mirror = Running(
        Command::new("ip")
            .args(["netns", "exec", &outside.0, "python3", "-m", "http.server", "8081", "--bind", "10.77.0.10"])
            .arg("--directory")
            .arg(&site)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let runtime = runtime_in(&host.0);
    for _ in 0..200 {
        if std::net::TcpStream::connect("10.77.0.10:8081").is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    runtime.block_on(async {
        let mut config = config(temp_dir());
        config.package_mirrors.pip = Some("http://10.77.0.10:8081/simple".to_owned());
        let engine = spawn_engine(config).await;
        let bash = |command: &str| json!({ "tool": "bash", "input": { "command": command, "timeout_ms": 120_000 } });
        let turn = json!([
            bash("python3 -c 'import hellopkg; print(hellopkg.GREETING)'"),
            bash("curl -fsS -m 5 http://10.77.0.10:8080/"),
            bash("ls /opt/packages/python"),
        ]);
        let environment = json!({
            "type": "cloud",
            "networking": { "type": "limited", "allowed_hosts": [], "allow_package_managers": true },
            "packages": { "pip": ["hellopkg==1.0"], "apt": ["cowsay"] },
        });
        let session = engine.scripted_session_in(json!([turn]), environment).await;
        engine.say(&session, "use the package").await;
        let results = tool_results(&engine.wait_idle(&session, 1).await);
        assert_eq!(results.len(), 3, "{results:#?}");
        let (failed, text) = &results[0];
        assert!(!failed, "{text}");
        assert!(
            text.starts_with("[the environment's packages, installed in /opt/packages before this call: pip: installed hellopkg==1.0; apt: cowsay not installed: apt installs into /usr"),
            "{text}"
        );
        assert!(text.ends_with("]\nhello from a package\n"), "{text}");
        // The mirror is reached on its own port only.
        assert!(results[1].0 && results[1].1.contains("10.77.0.10 is private"), "{:?}", results[1]);
        assert!(!results[2].1.contains("[the environment's packages"), "installed once: {:?}", results[2]);
        assert!(results[2].1.contains("hellopkg"), "{:?}", results[2]);
    });
    drop(runtime);
    drop((host, outside));
}
