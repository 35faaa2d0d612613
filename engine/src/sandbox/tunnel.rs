//! The network of programs that ignore the proxy variables (ssh, `git@…`, bash's `/dev/tcp`, a
//! raw socket), under the same rules as the [`egress`](super::egress) proxy.
//!
//! Where the engine may (root, `/dev/net/tun`), a call with egress runs in a network namespace the
//! engine made for it ([`Tunnel::start`]) instead of bubblewrap's own. The namespace has its
//! loopback (where the proxy's relay listens, as before) and a TUN device, `tun0`, at
//! [`ADDRESS`], with the default route, so that every other address routes through it. Its packets
//! come to the engine, where a userspace TCP/IP stack (the `ipstack` crate) turns them back into
//! connections, each checked before the engine makes it:
//!
//! - **TCP and UDP** to an address: never loopback, private, link-local, carrier-grade NAT,
//!   unique-local, multicast or reserved, nor an address of this machine's own
//!   ([`unreachable_because`]). Under `limited`, only an IP address listed in `allowed_hosts`, or
//!   one this tunnel's DNS answered for an allowed name.
//! - **DNS**: a datagram to port 53 of any address is answered here (the sandbox's `resolv.conf`
//!   names [`NAMESERVER`]). An `A` question for a name the environment allows is resolved by the
//!   engine and answered with its public addresses; a name it does not allow is refused. The
//!   sandbox has no IPv6, so `AAAA` (like any other type) gets no answer.
//! - Anything else (ICMP, so `ping`) goes nowhere.
//!
//! A refused TCP connection is refused as a firewall's REJECT would: its SYN is answered with a
//! reset before the stack sees it, so the program fails at once with "connection refused". The
//! reason is in the call's [`Refusals`], told after the command's output.
//!
//! Without root or a TUN device, [`Tunnel::start`] fails and the call keeps bubblewrap's network
//! namespace: the proxy alone, and no network for programs that ignore it.

use std::{
    collections::HashSet,
    fs::File,
    io::{self, Read, Write},
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll, ready},
    time::Duration,
};

use etherparse::{NetSlice, PacketBuilder, SlicedPacket, TransportSlice};
use ipstack::{IpStack, IpStackConfig, IpStackStream, IpStackTcpStream, IpStackUdpStream};
use simple_dns::{CLASS, Packet, PacketFlag, QCLASS, QTYPE, RCODE, ResourceRecord, TYPE, rdata::RData};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf, unix::AsyncFd},
    net::{TcpStream, UdpSocket},
    task::JoinSet,
};

use super::egress::{Egress, Refusal, Refusals, normal, unreachable_because};

/// The sandbox's own address, on `tun0`.
pub const ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 15);
/// The name server the sandbox's `resolv.conf` names (any address's port 53 is answered).
pub const NAMESERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 3);
/// The sandbox's `resolv.conf` when it has a tunnel.
pub const RESOLV_CONF: &str = "nameserver 10.0.2.3\noptions attempts:1 timeout:5\n";
const DEVICE: &str = "tun0";
const MTU: u16 = 1500;
/// How long an answer of the tunnel's DNS may be kept.
const DNS_TTL: u32 = 60;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most connections (TCP, and UDP flows) one call's tunnel relays at once.
const MAX_CONNECTIONS: usize = 128;

/// One call's tunnel: its network namespace, and the task that relays what comes out of it.
/// Dropping it stops the task and every connection it relays.
pub struct Tunnel {
    namespace: OwnedFd,
    task: tokio::task::JoinHandle<()>,
}

impl Tunnel {
    /// Makes a network namespace with a TUN device routed to this engine, and starts relaying
    /// what the sandbox sends through it under `egress`. Fails without root or `/dev/net/tun`.
    pub fn start(egress: Egress, refusals: Refusals) -> io::Result<Self> {
        // The stack's streams block in place when dropped, which a current-thread runtime forbids.
        if tokio::runtime::Handle::current().runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread {
            return Err(io::Error::other("the tunnel needs tokio's multi-threaded runtime"));
        }
        let (namespace, device) = std::thread::spawn(namespace_with_tun)
            .join()
            .map_err(|_| io::Error::other("the thread making the network namespace panicked"))??;
        // SAFETY: the file owns the device's descriptor, and nothing replaces or closes it while
        // the AsyncFd holds it.
        let device = unsafe { AsyncFd::register(device)? };
        let rules = Arc::new(Rules::new(egress));
        let device = Device { device, rules: rules.clone(), refusals: refusals.clone() };
        let mut config = IpStackConfig::default();
        config.mtu(MTU).map_err(io::Error::other)?;
        let stack = IpStack::new(config, device);
        let task = tokio::spawn(serve(stack, rules, refusals));
        Ok(Self { namespace, task })
    }

    /// The namespace's descriptor, for `setns` in the sandbox's `pre_exec` ([`enter`]).
    pub fn namespace(&self) -> RawFd {
        self.namespace.as_raw_fd()
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Joins the tunnel's network namespace. Called between fork and exec: only `setns`.
pub fn enter(namespace: RawFd) -> io::Result<()> {
    // SAFETY: setns is async-signal-safe; the descriptor outlives the spawn (it is the tunnel's).
    if unsafe { libc::setns(namespace, libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The namespace and its device
// ---------------------------------------------------------------------------------------------

/// On a thread of its own (a network namespace is a thread's): a new network namespace with its
/// loopback up and `tun0` at [`ADDRESS`]/24 with the default route, and the descriptors of both.
fn namespace_with_tun() -> io::Result<(OwnedFd, File)> {
    // SAFETY: unshare changes only this thread's network namespace, and the thread ends here.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(os_error("a network namespace"));
    }
    // SAFETY: socket has no memory-safety preconditions; the descriptor is owned at once.
    let control = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if control < 0 {
        return Err(os_error("a socket to configure the namespace"));
    }
    // SAFETY: `control` is a fresh descriptor nothing else owns.
    let control = unsafe { OwnedFd::from_raw_fd(control) };
    set_up(&control, "lo")?;
    let tun = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new().read(true).write(true).custom_flags(libc::O_NONBLOCK).open("/dev/net/tun")?
    };
    let mut request = interface(DEVICE);
    request.ifr_ifru.ifru_flags = (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short;
    // SAFETY: TUNSETIFF reads and writes the `ifreq` it is given, which lives across the call.
    if unsafe { libc::ioctl(tun.as_raw_fd(), libc::TUNSETIFF, &mut request) } != 0 {
        return Err(os_error("the TUN device"));
    }
    set_address(&control, libc::SIOCSIFADDR, ADDRESS)?;
    set_address(&control, libc::SIOCSIFNETMASK, Ipv4Addr::new(255, 255, 255, 0))?;
    let mut request = interface(DEVICE);
    request.ifr_ifru.ifru_mtu = libc::c_int::from(MTU);
    ioctl(&control, libc::SIOCSIFMTU, &mut request, "the TUN device's MTU")?;
    set_up(&control, DEVICE)?;
    add_default_route(&control)?;
    let namespace = File::open("/proc/thread-self/ns/net")?;
    Ok((namespace.into(), tun))
}

fn interface(name: &str) -> libc::ifreq {
    // SAFETY: ifreq is plain data (names, numbers, a union of them): all zeroes is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (to, from) in request.ifr_name.iter_mut().zip(name.bytes()) {
        *to = from as libc::c_char;
    }
    request
}

fn ioctl(control: &OwnedFd, what: libc::c_ulong, request: &mut libc::ifreq, doing: &str) -> io::Result<()> {
    // SAFETY: these SIOC requests read (and SIOCGIFFLAGS writes) the `ifreq` given, which lives
    // across the call.
    if unsafe { libc::ioctl(control.as_raw_fd(), what, request as *mut libc::ifreq) } != 0 {
        return Err(os_error(doing));
    }
    Ok(())
}

fn set_up(control: &OwnedFd, name: &str) -> io::Result<()> {
    let mut request = interface(name);
    ioctl(control, libc::SIOCGIFFLAGS, &mut request, "an interface's flags")?;
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
    let flags = unsafe { request.ifr_ifru.ifru_flags };
    request.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
    ioctl(control, libc::SIOCSIFFLAGS, &mut request, "an interface up")
}

fn set_address(control: &OwnedFd, what: libc::c_ulong, address: Ipv4Addr) -> io::Result<()> {
    let mut request = interface(DEVICE);
    // SAFETY: sockaddr_in and sockaddr have the same size; the union member is written whole.
    unsafe {
        std::ptr::write((&raw mut request.ifr_ifru.ifru_addr).cast::<libc::sockaddr_in>(), inet(address));
    }
    ioctl(control, what, &mut request, "the TUN device's address")
}

/// `struct rtentry` of `<linux/route.h>` (the libc crate has it only for musl and uclibc).
#[repr(C)]
struct RouteEntry {
    pad1: libc::c_ulong,
    destination: libc::sockaddr,
    gateway: libc::sockaddr,
    mask: libc::sockaddr,
    flags: libc::c_ushort,
    pad2: libc::c_short,
    pad3: libc::c_ulong,
    pad4: *mut libc::c_void,
    metric: libc::c_short,
    device: *mut libc::c_char,
    mtu: libc::c_ulong,
    window: libc::c_ulong,
    irtt: libc::c_ushort,
}

/// The route of every address (0.0.0.0/0) through `tun0`.
fn add_default_route(control: &OwnedFd) -> io::Result<()> {
    let mut device = *b"tun0\0";
    let any = inet(Ipv4Addr::UNSPECIFIED);
    // SAFETY: sockaddr_in and sockaddr have the same size and alignment class; read whole.
    let any: libc::sockaddr = unsafe { std::mem::transmute(any) };
    let mut route = RouteEntry {
        pad1: 0,
        destination: any,
        gateway: any,
        mask: any,
        flags: libc::RTF_UP,
        pad2: 0,
        pad3: 0,
        pad4: std::ptr::null_mut(),
        metric: 0,
        device: device.as_mut_ptr().cast(),
        mtu: 0,
        window: 0,
        irtt: 0,
    };
    // SAFETY: SIOCADDRT reads the rtentry given and the device name it points to, both of which
    // live across the call.
    if unsafe { libc::ioctl(control.as_raw_fd(), libc::SIOCADDRT, &raw mut route) } != 0 {
        return Err(os_error("the TUN device's route"));
    }
    Ok(())
}

fn inet(address: Ipv4Addr) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr { s_addr: u32::from(address).to_be() },
        sin_zero: [0; 8],
    }
}

fn os_error(doing: &str) -> io::Error {
    let error = io::Error::last_os_error();
    io::Error::new(error.kind(), format!("{doing}: {error}"))
}

/// The TUN device as the stack wants it: a read is one packet, a write is one packet. A SYN to
/// an address the rules refuse is answered here with a reset, and the stack never sees it.
struct Device {
    device: AsyncFd<File>,
    rules: Arc<Rules>,
    refusals: Refusals,
}

impl Device {
    /// The reset that refuses `packet`, when it opens a TCP connection the rules refuse.
    fn refuse(&self, packet: &[u8]) -> Option<Vec<u8>> {
        let sliced = SlicedPacket::from_ip(packet).ok()?;
        let (Some(NetSlice::Ipv4(ip)), Some(TransportSlice::Tcp(tcp))) = (&sliced.net, &sliced.transport) else {
            return None;
        };
        if !tcp.syn() || tcp.ack() {
            return None;
        }
        let (from, to) = (ip.header().source_addr(), ip.header().destination_addr());
        let why = self.rules.check(IpAddr::V4(to)).err()?;
        self.refusals.push(&format!("{to}:{}", tcp.destination_port()), &why);
        let reset = PacketBuilder::ipv4(to.octets(), from.octets(), 64)
            .tcp(tcp.destination_port(), tcp.source_port(), 0, 0)
            .rst()
            .ack(tcp.sequence_number().wrapping_add(1));
        let mut bytes = Vec::with_capacity(reset.size(0));
        reset.write(&mut bytes, &[]).ok()?;
        Some(bytes)
    }
}

impl AsyncRead for Device {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            let mut ready = ready!(self.device.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match ready.try_io(|device| device.get_ref().read(unfilled)) {
                Ok(Ok(n)) => {
                    if let Some(reset) = self.refuse(&buf.initialize_unfilled()[..n]) {
                        // Best effort: a reset the device cannot take now is a lost packet,
                        // and the program's own retry gets another.
                        let _ = self.device.get_ref().write(&reset);
                        continue;
                    }
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(error)) => return Poll::Ready(Err(error)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for Device {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, packet: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            let mut ready = ready!(self.device.poll_write_ready(cx))?;
            match ready.try_io(|device| device.get_ref().write(packet)) {
                Ok(written) => return Poll::Ready(written),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

// ---------------------------------------------------------------------------------------------
// What comes out of the sandbox
// ---------------------------------------------------------------------------------------------

/// What one tunnel lets through.
struct Rules {
    egress: Egress,
    /// This machine's own addresses, never reachable.
    own: Vec<IpAddr>,
    /// Under `limited`: the addresses this tunnel's DNS answered for allowed names.
    resolved: Mutex<HashSet<IpAddr>>,
}

impl Rules {
    fn new(egress: Egress) -> Self {
        let own = if_addrs::get_if_addrs().map(|list| list.iter().map(|i| i.ip()).collect()).unwrap_or_default();
        Self { egress, own, resolved: Mutex::new(HashSet::new()) }
    }

    /// Whether the sandbox may connect to `ip`, or why not.
    fn check(&self, ip: IpAddr) -> Result<(), Refusal> {
        if let Some(why) = unreachable_because(ip, &self.own) {
            return Err(Refusal::Unreachable { ip, why });
        }
        match &self.egress {
            Egress::Public => Ok(()),
            Egress::Only(_) => {
                let answered = self.resolved.lock().is_ok_and(|resolved| resolved.contains(&ip));
                if answered || self.egress.allows(&ip.to_string()) { Ok(()) } else { Err(Refusal::AddressNotAllowed) }
            }
            Egress::None => Err(Refusal::NoNetwork),
        }
    }
}

async fn serve(mut stack: IpStack, rules: Arc<Rules>, refusals: Refusals) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = stack.accept() => {
                let Ok(stream) = accepted else { return };
                // Past the cap a connection is dropped at once, as the proxy does.
                if connections.len() >= MAX_CONNECTIONS {
                    continue;
                }
                match stream {
                    IpStackStream::Tcp(tcp) => {
                        connections.spawn(relay_tcp(tcp, rules.clone(), refusals.clone()));
                    }
                    IpStackStream::Udp(udp) if udp.peer_addr().port() == 53 => {
                        connections.spawn(answer_dns(udp, rules.clone(), refusals.clone()));
                    }
                    IpStackStream::Udp(udp) => {
                        connections.spawn(relay_udp(udp, rules.clone(), refusals.clone()));
                    }
                    IpStackStream::UnknownTransport(_) | IpStackStream::UnknownNetwork(_) => {}
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn relay_tcp(tcp: IpStackTcpStream, rules: Arc<Rules>, refusals: Refusals) {
    let to = tcp.peer_addr();
    // The device refused it already when it opened; checked again all the same.
    if let Err(why) = rules.check(to.ip()) {
        return refusals.push(&to.to_string(), &why);
    }
    let Ok(Ok(upstream)) = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(to)).await else {
        return;
    };
    let (mut from_sandbox, mut to_sandbox) = tokio::io::split(tcp);
    let (mut from_upstream, mut to_upstream) = upstream.into_split();
    let outward = async {
        let _ = tokio::io::copy(&mut from_sandbox, &mut to_upstream).await;
        let _ = to_upstream.shutdown().await;
    };
    let inward = async {
        let _ = tokio::io::copy(&mut from_upstream, &mut to_sandbox).await;
        // The stack sends its FIN only when a poll finds everything sent acknowledged, and
        // nothing polls it again when that happens (ipstack 1.0.1): ask until it is done, which
        // is when the sandbox has closed its side too.
        let mut wait = Duration::from_millis(5);
        while tokio::time::timeout(wait, to_sandbox.shutdown()).await.is_err() {
            wait = (wait * 2).min(Duration::from_secs(1));
        }
    };
    tokio::join!(outward, inward);
}

async fn relay_udp(mut udp: IpStackUdpStream, rules: Arc<Rules>, refusals: Refusals) {
    let to = udp.peer_addr();
    if let Err(why) = rules.check(to.ip()) {
        return refusals.push(&format!("{to} (UDP)"), &why);
    }
    let unspecified = if to.is_ipv4() { IpAddr::V4(Ipv4Addr::UNSPECIFIED) } else { IpAddr::V6(Ipv6Addr::UNSPECIFIED) };
    let unspecified = SocketAddr::new(unspecified, 0);
    let Ok(socket) = UdpSocket::bind(unspecified).await else { return };
    if socket.connect(to).await.is_err() {
        return;
    }
    let (mut out, mut back) = (vec![0u8; usize::from(MTU)], vec![0u8; 65_536]);
    loop {
        tokio::select! {
            // The stack ends the stream (an error) when the flow has been quiet for its timeout.
            sent = udp.read(&mut out) => match sent {
                Ok(n) if n > 0 => { let _ = socket.send(&out[..n]).await; }
                _ => return,
            },
            received = socket.recv(&mut back) => match received {
                Ok(n) => { if udp.write(&back[..n]).await.is_err() { return } }
                Err(_) => return,
            },
        }
    }
}

/// Answers the DNS questions of one flow to port 53, one datagram each.
async fn answer_dns(mut udp: IpStackUdpStream, rules: Arc<Rules>, refusals: Refusals) {
    let mut query = vec![0u8; 4096];
    loop {
        let n = match udp.read(&mut query).await {
            Ok(n) if n > 0 => n,
            _ => return,
        };
        let Some(reply) = dns_reply(&query[..n], &rules, &refusals, resolve).await else { continue };
        if udp.write(&reply).await.is_err() {
            return;
        }
    }
}

/// The IPv4 addresses of `name`, by this machine's resolver.
async fn resolve(name: String) -> io::Result<Vec<Ipv4Addr>> {
    let addresses = tokio::net::lookup_host((name.as_str(), 0)).await?;
    Ok(addresses
        .filter_map(|address| match address.ip() {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        })
        .collect())
}

/// The reply to one DNS query (`None`: not a query worth answering). Only the first question is
/// answered, as every resolver asks one at a time.
async fn dns_reply<F, R>(query: &[u8], rules: &Rules, refusals: &Refusals, resolve: F) -> Option<Vec<u8>>
where
    F: FnOnce(String) -> R,
    R: Future<Output = io::Result<Vec<Ipv4Addr>>>,
{
    let query = Packet::parse(query).ok()?;
    if query.has_flags(PacketFlag::RESPONSE) {
        return None;
    }
    let mut reply = Packet::new_reply(query.id());
    reply.set_flags(PacketFlag::RECURSION_AVAILABLE);
    if query.has_flags(PacketFlag::RECURSION_DESIRED) {
        reply.set_flags(PacketFlag::RECURSION_DESIRED);
    }
    let Some(question) = query.questions.first() else {
        *reply.rcode_mut() = RCODE::FormatError;
        return reply.build_bytes_vec().ok();
    };
    reply.questions.push(question.clone());
    let name = normal(&question.qname.to_string());
    if !rules.egress.allows(&name) {
        refusals.push(&name, &Refusal::NameNotAllowed);
        *reply.rcode_mut() = RCODE::Refused;
        return reply.build_bytes_vec().ok();
    }
    let asks_for_a =
        question.qtype == QTYPE::TYPE(TYPE::A) && matches!(question.qclass, QCLASS::CLASS(CLASS::IN) | QCLASS::ANY);
    if !asks_for_a {
        // No IPv6 in the sandbox, and nothing else it needs: an empty answer, not an error.
        return reply.build_bytes_vec().ok();
    }
    let addresses = match resolve(name.clone()).await {
        Ok(addresses) => addresses,
        Err(_) => {
            *reply.rcode_mut() = RCODE::NameError;
            return reply.build_bytes_vec().ok();
        }
    };
    let (reachable, unreachable): (Vec<Ipv4Addr>, Vec<Ipv4Addr>) =
        addresses.into_iter().partition(|ip| unreachable_because(IpAddr::V4(*ip), &rules.own).is_none());
    if reachable.is_empty()
        && let Some(first) = unreachable.first()
    {
        let why = unreachable_because(IpAddr::V4(*first), &rules.own).unwrap_or("unreachable");
        refusals.push(&name, &Refusal::ResolvesUnreachable { first: *first, why });
    }
    if let Ok(mut resolved) = rules.resolved.lock() {
        resolved.extend(reachable.iter().map(|ip| IpAddr::V4(*ip)));
    }
    for ip in reachable {
        let record = ResourceRecord::new(question.qname.clone(), CLASS::IN, DNS_TTL, RData::A(ip.into()));
        reply.answers.push(record);
    }
    reply.build_bytes_vec().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use simple_dns::{Name, Question};

    fn query(name: &str, qtype: TYPE) -> Vec<u8> {
        let mut packet = Packet::new_query(7);
        packet.set_flags(PacketFlag::RECURSION_DESIRED);
        packet.questions.push(Question::new(Name::new_unchecked(name), qtype.into(), CLASS::IN.into(), false));
        packet.build_bytes_vec().unwrap()
    }

    fn rules(egress: Egress) -> Rules {
        Rules { egress, own: vec!["198.51.100.7".parse().unwrap()], resolved: Mutex::new(HashSet::new()) }
    }

    /// The reply's code and addresses when `name` resolves to `answer`.
    async fn ask(
        rules: &Rules,
        refusals: &Refusals,
        name: &str,
        qtype: TYPE,
        answer: Vec<Ipv4Addr>,
    ) -> (RCODE, Vec<Ipv4Addr>) {
        let bytes = dns_reply(&query(name, qtype), rules, refusals, |_| async move { Ok(answer) }).await.unwrap();
        let reply = Packet::parse(&bytes).unwrap();
        assert_eq!(reply.id(), 7);
        assert_eq!(reply.questions.len(), 1);
        (reply.rcode(), addresses(&reply))
    }

    fn addresses(reply: &Packet) -> Vec<Ipv4Addr> {
        reply
            .answers
            .iter()
            .filter_map(|record| match &record.rdata {
                RData::A(a) => Some(Ipv4Addr::from(a.address)),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn limited_dns_answers_allowed_names_with_public_addresses_and_opens_only_those() {
        let rules = rules(Egress::Only(vec!["api.example.com".to_owned(), "*.cdn.example".to_owned()]));
        let refusals = Refusals::default();
        let public: Ipv4Addr = "93.184.215.14".parse().unwrap();
        let private: Ipv4Addr = "10.1.2.3".parse().unwrap();

        let reply = ask(&rules, &refusals, "API.example.com.", TYPE::A, vec![public, private]).await;
        assert_eq!(reply, (RCODE::NoError, vec![public]), "the private address is left out");
        assert!(rules.check(IpAddr::V4(public)).is_ok(), "an answered address may be connected to");
        assert!(matches!(rules.check("93.184.215.15".parse().unwrap()), Err(Refusal::AddressNotAllowed)));

        let reply = ask(&rules, &refusals, "evil.example", TYPE::A, vec![public]).await;
        assert_eq!(reply, (RCODE::Refused, vec![]));

        let reply = ask(&rules, &refusals, "img.cdn.example", TYPE::AAAA, vec![public]).await;
        assert_eq!(reply, (RCODE::NoError, vec![]), "no IPv6: an empty answer");

        let reply = ask(&rules, &refusals, "img.cdn.example", TYPE::A, vec![private]).await;
        assert_eq!(reply, (RCODE::NoError, vec![]));
        assert_eq!(
            refusals.lines(),
            vec![
                "evil.example: not in this environment's allowed_hosts (networking is limited); its name was not resolved",
                "img.cdn.example: resolves to 10.1.2.3, private; a sandbox reaches only public addresses",
            ]
        );
    }

    #[tokio::test]
    async fn unrestricted_reaches_public_addresses_only() {
        let rules = rules(Egress::Public);
        assert!(rules.check("93.184.215.14".parse().unwrap()).is_ok());
        for (ip, why) in [
            ("127.0.0.1", "loopback"),
            ("169.254.169.254", "a cloud metadata service"),
            ("168.63.129.16", "a cloud metadata service"),
            ("169.254.1.1", "link-local"),
            ("192.168.1.1", "private"),
            ("198.51.100.7", "an address of this machine"),
            ("::ffff:10.0.0.1", "private"),
        ] {
            let refused = rules.check(ip.parse().unwrap());
            assert!(
                matches!(refused, Err(Refusal::Unreachable { why: found, .. }) if found == why),
                "{ip}: {refused:?}"
            );
        }
        let refusals = Refusals::default();
        let public: Ipv4Addr = "93.184.215.14".parse().unwrap();
        let reply = ask(&rules, &refusals, "anything.example", TYPE::A, vec![public]).await;
        assert_eq!(reply, (RCODE::NoError, vec![public]));
        let unresolvable = dns_reply(&query("nowhere.example", TYPE::A), &rules, &refusals, |_| async {
            Err(io::Error::other("no such name"))
        })
        .await
        .unwrap();
        assert_eq!(Packet::parse(&unresolvable).unwrap().rcode(), RCODE::NameError);
        assert!(refusals.lines().is_empty());
    }
}
