//! Where Switchboard connects on an admin's word. A notification channel's URL may reach only
//! public addresses: never loopback, link-local, private, carrier-grade NAT, unique-local,
//! multicast or reserved ones, nor this machine's own, unless `SWITCHBOARD_ALLOW_PRIVATE_URLS`
//! names them ([`Destinations`]). A connected workspace's address keeps its own rule (https, or
//! loopback for a local engine: `crate::tenancy::workspaces`). Neither ever reaches a cloud metadata
//! service, whatever the list says: it hands out this machine's credentials to whoever asks.
//!
//! The judgement of an address is the sandbox's (`engine::net`). A URL is checked when it is
//! saved, by resolving its host, and again at every connection: the HTTP clients that send to
//! these URLs resolve names through [`Checked`], which answers only addresses that pass, so a
//! name that resolves elsewhere after the check (DNS rebinding) reaches nothing. An address
//! written in the URL itself is never resolved, so [`Destinations::refused_before_sending`]
//! judges it before each send.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use ipnet::IpNet;

use crate::support::proxies::NotABlock;

/// Why Switchboard will not connect where a URL points, in words that say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{subject} is a cloud metadata service, which hands out this machine's credentials: {instead}")]
    Metadata { subject: String, instead: &'static str },
    #[error(
        "{subject} is {why}: a channel's messages go only to public addresses, so that a URL typed here cannot \
         reach services on this machine or its network. If the receiver is meant to be there, add {canonical} \
         (or its network) to SWITCHBOARD_ALLOW_PRIVATE_URLS and restart Switchboard."
    )]
    Private { subject: String, why: &'static str, canonical: IpAddr },
    #[error("The URL must start with https:// (or http://) and name a host.")]
    NotHttp,
    #[error("The URL must name a host.")]
    NoHost,
    #[error("{name} could not be resolved ({error}); check the URL's host.")]
    Unresolved { name: String, error: String },
    #[error("{name} has no address; check the URL's host.")]
    NoAddress { name: String },
}

/// `SWITCHBOARD_ALLOW_PRIVATE_URLS`: the private addresses a channel may reach, and the rule
/// they loosen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Destinations {
    allowed: Arc<[IpNet]>,
}

impl Destinations {
    /// Addresses or CIDR blocks, separated by commas or spaces (as `SWITCHBOARD_TRUSTED_PROXIES`).
    pub fn parse(value: &str) -> Result<Self, NotABlock> {
        crate::support::proxies::parse_blocks(value).map(|allowed| Self { allowed: allowed.into() })
    }

    /// Why a channel may not be sent to `ip` (`subject` names it in the sentence; `own` are this
    /// machine's addresses); `None` when it may.
    fn refusal(&self, subject: &str, ip: IpAddr, own: &[IpAddr]) -> Option<Refused> {
        if engine::net::cloud_metadata(ip) {
            return Some(metadata_refusal(subject, FOR_A_CHANNEL));
        }
        let why = engine::net::unreachable_because(ip, own)?;
        let canonical = ip.to_canonical();
        if self.allowed.iter().any(|net| net.contains(&canonical)) {
            return None;
        }
        Some(Refused::Private { subject: subject.to_owned(), why, canonical })
    }

    /// Checks a channel's URL before it is saved: its host, and every address its name resolves
    /// to now. `Err` says what is wrong and what to do.
    pub async fn check(&self, url: &str) -> Result<(), Refused> {
        let host = host_of(url)?;
        Rule::Channel(self.clone()).addresses(&host).await.map(drop)
    }

    /// What stops a send to `url` before any connection: an address written in the URL (the
    /// client's resolver never sees it), or a metadata service's name. A name is judged by the
    /// client's resolver when it connects ([`Destinations::client`]).
    pub fn refused_before_sending(&self, url: &str) -> Option<Refused> {
        let host = match host_of(url) {
            Ok(host) => host,
            Err(why) => return Some(why),
        };
        match host.parse::<IpAddr>() {
            Ok(ip) => Rule::Channel(self.clone()).judge(&host, &[ip]).err(),
            Err(_) => engine::net::names_cloud_metadata(&host).then(|| metadata_refusal(&host, FOR_A_CHANNEL)),
        }
    }

    /// `builder` made to connect only where this allows: through [`Checked`], and never through a
    /// proxy of the environment (`HTTPS_PROXY`), which would resolve the name itself.
    pub fn client(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        builder.no_proxy().dns_resolver(Checked(Rule::Channel(self.clone())))
    }
}

/// Checks a workspace's address before it is connected: never a cloud metadata service (the
/// rest of its rule is `workspaces::check_base_url`'s). A name that does not resolve passes here:
/// the probe that follows says that it cannot be reached.
pub async fn check_not_metadata(url: &str) -> Result<(), Refused> {
    let host = host_of(url)?;
    let rule = Rule::Upstream;
    let addresses = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) if engine::net::names_cloud_metadata(&host) => return Err(rule.metadata(&host)),
        Err(_) => match resolve(&host).await {
            Ok(addresses) => addresses,
            Err(_) => return Ok(()),
        },
    };
    rule.judge(&host, &addresses)
}

/// `builder` made to refuse, at every connection, a name that resolves to a cloud metadata
/// service: the upstream clients' (a workspace's address may resolve elsewhere once connected).
pub fn refusing_metadata(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder.dns_resolver(Checked(Rule::Upstream))
}

/// Which addresses a connection may reach.
#[derive(Clone)]
enum Rule {
    /// A notification channel's: public ones, or those the list allows; never metadata.
    Channel(Destinations),
    /// An upstream's: anything but a metadata service.
    Upstream,
}

const FOR_A_CHANNEL: &str =
    "Switchboard never sends to it, whatever SWITCHBOARD_ALLOW_PRIVATE_URLS says. Use the receiver's own URL.";
const FOR_A_WORKSPACE: &str =
    "Switchboard never connects to it. Use the workspace's API address, e.g. https://api.anthropic.com.";

/// The refusal of a metadata service that `subject` names, in words, with what to do instead.
fn metadata_refusal(subject: &str, instead: &'static str) -> Refused {
    Refused::Metadata { subject: subject.to_owned(), instead }
}

impl Rule {
    /// The refusal of a metadata service that `subject` names, in words.
    fn metadata(&self, subject: &str) -> Refused {
        match self {
            Self::Channel(_) => metadata_refusal(subject, FOR_A_CHANNEL),
            Self::Upstream => metadata_refusal(subject, FOR_A_WORKSPACE),
        }
    }

    /// `Err` with the first refusal among `addresses` of `host` (all must pass: a name that
    /// resolves to a private address among public ones is refused as a whole).
    fn judge(&self, host: &str, addresses: &[IpAddr]) -> Result<(), Refused> {
        let own = match self {
            Self::Channel(_) => engine::net::own_addresses(),
            Self::Upstream => Vec::new(),
        };
        for ip in addresses {
            let subject = match host.parse::<IpAddr>() {
                Ok(_) => ip.to_string(),
                Err(_) => format!("{host} resolves to {ip}, which"),
            };
            let refused = match self {
                Self::Channel(destinations) => destinations.refusal(&subject, *ip, &own),
                Self::Upstream => engine::net::cloud_metadata(*ip).then(|| self.metadata(&subject)),
            };
            if let Some(why) = refused {
                return Err(why);
            }
        }
        Ok(())
    }

    /// The addresses `host` (an address, or a name resolved now) may be reached at, or why not.
    async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, Refused> {
        let addresses = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) if engine::net::names_cloud_metadata(host) => return Err(self.metadata(host)),
            Err(_) => resolve(host).await?,
        };
        self.judge(host, &addresses)?;
        Ok(addresses)
    }
}

/// The host of an http(s) URL as the HTTP client reads it: lower case, an IPv4 address in its
/// usual form whatever form the URL wrote it in (`http://2852039166/` is 169.254.169.254), an
/// IPv6 address without brackets.
fn host_of(url: &str) -> Result<String, Refused> {
    let parsed = reqwest::Url::parse(url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or(Refused::NotHttp)?;
    let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or(Refused::NoHost)?;
    Ok(host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_owned())
}

/// Every address `name` resolves to now.
async fn resolve(name: &str) -> Result<Vec<IpAddr>, Refused> {
    let found = tokio::net::lookup_host((name, 0))
        .await
        .map_err(|error| Refused::Unresolved { name: name.to_owned(), error: error.to_string() })?;
    let addresses: Vec<IpAddr> = found.map(|address| address.ip()).collect();
    if addresses.is_empty() {
        return Err(Refused::NoAddress { name: name.to_owned() });
    }
    Ok(addresses)
}

/// The HTTP client's resolver: a name's addresses, only when every one passes the rule. What
/// the client connects to is what was checked.
struct Checked(Rule);

impl reqwest::dns::Resolve for Checked {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let rule = self.0.clone();
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = rule.addresses(&name).await?;
            let addresses: reqwest::dns::Addrs =
                Box::new(addresses.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect::<Vec<_>>().into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(destinations: &Destinations, address: &str) -> Option<String> {
        destinations.refused_before_sending(&format!("http://{address}/hook")).map(|r| r.to_string())
    }

    #[test]
    fn a_channel_reaches_public_addresses_only_in_ipv4_and_ipv6() {
        let none = Destinations::default();
        for (address, why) in [
            ("127.0.0.1", "loopback"),
            ("10.0.0.5", "private"),
            ("192.168.1.20:8080", "private"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("169.254.1.1", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("255.255.255.255", "multicast or reserved"),
            ("[::1]", "loopback"),
            ("[fd12::1]", "unique local"),
            ("[fe80::1]", "link-local"),
            ("[::]", "unspecified"),
            // Carried IPv4: mapped, compatible, NAT64.
            ("[::ffff:127.0.0.1]", "loopback"),
            ("[::ffff:10.0.0.5]", "private"),
            ("[64:ff9b::7f00:1]", "loopback"),
            // Other spellings of 127.0.0.1 that URL parsers accept.
            ("2130706433", "loopback"),
            ("0x7f.1", "loopback"),
        ] {
            let words = refused(&none, address).unwrap_or_else(|| panic!("{address} was allowed"));
            assert!(words.contains(why), "{address}: {words}");
            assert!(words.contains("SWITCHBOARD_ALLOW_PRIVATE_URLS"), "what to do: {words}");
        }
        for address in ["203.0.113.9", "1.1.1.1:443", "[2606:4700::1111]", "hooks.slack.com"] {
            assert_eq!(refused(&none, address), None, "{address}");
        }
    }

    #[test]
    fn the_allow_list_opens_its_addresses_and_blocks_but_never_a_metadata_service() {
        let list = Destinations::parse("127.0.0.1, 10.0.0.0/8 fd00::/8,169.254.0.0/16").unwrap();
        for address in ["127.0.0.1", "[::ffff:127.0.0.1]", "10.1.2.3", "[fd12::1]", "169.254.1.1"] {
            assert_eq!(refused(&list, address), None, "{address}");
        }
        assert!(refused(&list, "127.0.0.2").unwrap().contains("add 127.0.0.2"));
        assert!(refused(&list, "[::1]").is_some(), "::1 is not 127.0.0.1");
        assert!(refused(&list, "192.168.1.1").is_some());
        for metadata in [
            "169.254.169.254",
            "[::ffff:169.254.169.254]",
            "0xa9fea9fe",
            "[fd00:ec2::254]",
            "100.100.100.200",
            "168.63.129.16",
            "metadata.google.internal",
            "Metadata.Google.Internal.",
        ] {
            let words = refused(&list, metadata).unwrap_or_else(|| panic!("{metadata} was allowed"));
            assert!(words.contains("cloud metadata service") && words.contains("whatever"), "{metadata}: {words}");
        }
        let everything = Destinations::parse("0.0.0.0/0, ::/0").unwrap();
        assert!(refused(&everything, "169.254.169.254").is_some(), "not even when the list allows every address");
        assert_eq!(refused(&everything, "192.168.1.1"), None);
    }

    #[test]
    fn the_allow_list_is_written_as_the_trusted_proxies_are() {
        assert_eq!(Destinations::parse("").unwrap(), Destinations::default());
        let error = Destinations::parse("10.0.0.5, receiver.internal").unwrap_err();
        assert_eq!(error, NotABlock("receiver.internal".into()));
        assert!(Destinations::parse("10.0.0.0/33").is_err());
    }

    #[tokio::test]
    async fn a_name_is_judged_by_every_address_it_resolves_to() {
        let none = Destinations::default();
        let error = none.check("http://localhost:9/hook").await.unwrap_err();
        assert!(matches!(error, Refused::Private { why: "loopback", .. }), "{error}");
        assert!(error.to_string().starts_with("localhost resolves to"), "{error}");
        let error = none.check("http://metadata.google.internal/computeMetadata/v1/").await.unwrap_err();
        assert!(matches!(error, Refused::Metadata { .. }), "{error}");
        let loopback = Destinations::parse("127.0.0.0/8, ::1").unwrap();
        assert_eq!(loopback.check("http://localhost:9/hook").await, Ok(()));
        assert!(matches!(
            none.check("https://no-such-host.invalid/").await.unwrap_err(),
            Refused::Unresolved { .. } | Refused::NoAddress { .. }
        ));
        assert_eq!(none.check("https://203.0.113.9/hook").await, Ok(()));
    }

    /// At send time the client's own resolver judges: it never connects to a refused address,
    /// whatever the name resolved to when the channel was saved.
    #[tokio::test]
    async fn the_client_connects_only_to_addresses_that_pass() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = accepted.clone();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut stream, _)) = listener.accept().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") && stream.read_buf(&mut head).await.is_ok_and(|n| n > 0) {}
                let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n").await;
            }
        });
        let url = format!("http://localhost:{port}/hook");
        let refusing = Destinations::default().client(engine::http_client::builder()).build().unwrap();
        let error = refusing.post(&url).send().await.unwrap_err();
        let chain = crate::support::error_chain(&error);
        assert!(chain.contains("loopback") && chain.contains("SWITCHBOARD_ALLOW_PRIVATE_URLS"), "{chain}");
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing connected");
        let allowing =
            Destinations::parse("127.0.0.1, ::1").unwrap().client(engine::http_client::builder()).build().unwrap();
        assert_eq!(allowing.post(&url).send().await.unwrap().status(), 204);
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);

        let upstream = refusing_metadata(engine::http_client::builder()).build().unwrap();
        assert_eq!(upstream.post(&url).send().await.unwrap().status(), 204, "an upstream may be on this machine");
        let error = upstream.get("http://metadata.google.internal/").send().await.unwrap_err();
        assert!(crate::support::error_chain(&error).contains("cloud metadata service"), "{error}");
    }

    #[tokio::test]
    async fn a_workspace_may_be_anywhere_but_a_metadata_service() {
        assert_eq!(check_not_metadata("http://127.0.0.1:4010").await, Ok(()));
        assert_eq!(check_not_metadata("https://no-such-host.invalid").await, Ok(()), "the probe says why");
        for url in ["https://169.254.169.254", "https://[fd00:ec2::254]/", "https://metadata.google.internal"] {
            let error = check_not_metadata(url).await.unwrap_err();
            assert!(matches!(error, Refused::Metadata { instead: FOR_A_WORKSPACE, .. }), "{error}");
            assert!(error.to_string().contains("https://api.anthropic.com"), "what to do instead: {error}");
        }
    }
}
