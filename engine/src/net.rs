//! Which addresses may be reached on someone else's word: what an agent asks its sandbox for
//! (the egress proxy and the tunnel, [`crate::sandbox::egress`]), and what an admin types into
//! the console (a notification channel's URL, a workspace's address). One judgement of an
//! address, so that every place refuses the same ones.
//!
//! - [`unreachable_because`]: loopback, private, link-local, carrier-grade NAT, unique-local,
//!   multicast, reserved, and this machine's own addresses. An IPv6 address that carries an IPv4
//!   one (mapped, compatible, 6to4, NAT64) is judged by that one.
//! - [`cloud_metadata`] and [`names_cloud_metadata`]: the metadata services of cloud machines,
//!   which hand out the machine's credentials to whoever asks from it. Most are link-local or
//!   private already; Azure's is a public address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The cloud metadata services' addresses (IPv4).
const METADATA_V4: &[Ipv4Addr] = &[
    // AWS, Google Cloud, Azure, OpenStack, DigitalOcean, Oracle, Hetzner and most others.
    Ipv4Addr::new(169, 254, 169, 254),
    // AWS ECS task metadata and credentials; EKS Pod Identity credentials.
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(169, 254, 170, 23),
    // Tencent Cloud, Scaleway.
    Ipv4Addr::new(169, 254, 0, 23),
    Ipv4Addr::new(169, 254, 42, 42),
    // Alibaba Cloud.
    Ipv4Addr::new(100, 100, 100, 200),
    // Oracle Cloud's older address.
    Ipv4Addr::new(192, 0, 0, 192),
    // Azure's WireServer (the host's agent channel): public, so nothing else refuses it.
    Ipv4Addr::new(168, 63, 129, 16),
];

/// The cloud metadata services' addresses (IPv6).
const METADATA_V6: &[Ipv6Addr] = &[
    // AWS (fd00:ec2::254), EKS Pod Identity (fd00:ec2::23), Google Cloud (fd20:ce::254).
    Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254),
    Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23),
    Ipv6Addr::new(0xfd20, 0xce, 0, 0, 0, 0, 0, 0x254),
];

/// Names of cloud metadata services (and every name under them).
const METADATA_NAMES: &[&str] = &[
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.tencentyun.com",
    "metadata.platformequinix.com",
];

/// The IPv4 address an IPv6 one carries: mapped (`::ffff:a.b.c.d`), compatible (`::a.b.c.d`),
/// 6to4 (`2002:AABB:CCDD::`) or NAT64 (`64:ff9b::a.b.c.d`).
fn carried_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = v6.segments();
    let low = Ipv4Addr::from(((segments[6] as u32) << 16) | segments[7] as u32);
    if let Some(v4) = v6.to_ipv4_mapped() {
        Some(v4)
    } else if segments[0] == 0x2002 {
        Some(Ipv4Addr::from(((segments[1] as u32) << 16) | segments[2] as u32))
    } else if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || (segments[..6] == [0; 6] && segments[6] != 0) {
        Some(low)
    } else {
        None
    }
}

/// Why no sandbox may connect to `ip`, if it may not (`own`: this machine's addresses).
pub fn unreachable_because(ip: IpAddr, own: &[IpAddr]) -> Option<&'static str> {
    // First: a metadata service may sit at a public address (Azure's 168.63.129.16).
    if cloud_metadata(ip) {
        return Some("a cloud metadata service");
    }
    let carried = match ip {
        IpAddr::V6(v6) => carried_v4(v6),
        IpAddr::V4(_) => None,
    };
    let category = match (ip, carried) {
        (_, Some(v4)) | (IpAddr::V4(v4), None) => v4_unreachable_because(v4),
        (IpAddr::V6(v6), None) => {
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if first & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if first & 0xfe00 == 0xfc00 {
                Some("unique local (private)")
            } else if first & 0xffc0 == 0xfec0 {
                Some("site-local (private)")
            } else {
                None
            }
        }
    };
    let mine = own.contains(&ip) || carried.is_some_and(|v4| own.contains(&IpAddr::V4(v4)));
    category.or(mine.then_some("an address of this machine"))
}

fn v4_unreachable_because(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 100 && (64..128).contains(&b) {
        Some("carrier-grade NAT (private)")
    } else if a == 0 {
        Some("unspecified")
    } else if ip.is_multicast() || ip.is_broadcast() || a >= 240 {
        Some("multicast or reserved")
    } else if a == 192 && b == 0 && ip.octets()[2] == 0 {
        Some("reserved for protocols")
    } else {
        None
    }
}

/// Whether `ip` is a cloud metadata service's address, also when an IPv6 address carries it.
pub fn cloud_metadata(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => METADATA_V4.contains(&v4),
        IpAddr::V6(v6) => METADATA_V6.contains(&v6) || carried_v4(v6).is_some_and(|v4| METADATA_V4.contains(&v4)),
    }
}

/// Whether the host name `host` (any case, with or without a final dot) is a cloud metadata
/// service's, or a name under one.
pub fn names_cloud_metadata(host: &str) -> bool {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    METADATA_NAMES
        .iter()
        .any(|name| host == *name || host.strip_suffix(name).is_some_and(|sub| sub.ends_with('.') && sub.len() > 1))
}

/// Which of `candidates` a connection may go to on someone else's word: none [`unreachable_because`]
/// refuses, unless `internal_allowed` (an operator trusts the host: a package mirror, an MCP
/// server on the private network), and a cloud metadata service never. Answers those it may, and
/// each other address with why not. The egress proxy and the engine's MCP client judge by it.
pub fn reachable(
    candidates: impl IntoIterator<Item = SocketAddr>,
    internal_allowed: bool,
    own: &[IpAddr],
) -> (Vec<SocketAddr>, Vec<(IpAddr, &'static str)>) {
    let mut refused = Vec::new();
    let allowed = candidates
        .into_iter()
        .filter(|address| match unreachable_because(address.ip(), own) {
            Some(_) if internal_allowed && !cloud_metadata(address.ip()) => true,
            Some(why) => {
                refused.push((address.ip(), why));
                false
            }
            None => true,
        })
        .collect();
    (allowed, refused)
}

/// This machine's own addresses (none when they cannot be read).
pub fn own_addresses() -> Vec<IpAddr> {
    if_addrs::get_if_addrs().map(|list| list.iter().map(|i| i.ip()).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_reachable() {
        let own: Vec<IpAddr> = vec!["198.51.100.20".parse().unwrap()];
        for (address, why) in [
            ("127.0.0.1", Some("loopback")),
            ("127.8.9.10", Some("loopback")),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("192.168.1.1", Some("private")),
            ("169.254.169.254", Some("a cloud metadata service")),
            ("168.63.129.16", Some("a cloud metadata service")),
            ("169.254.1.1", Some("link-local")),
            ("100.64.0.1", Some("carrier-grade NAT (private)")),
            ("0.0.0.0", Some("unspecified")),
            ("224.0.0.1", Some("multicast or reserved")),
            ("255.255.255.255", Some("multicast or reserved")),
            ("198.51.100.20", Some("an address of this machine")),
            ("::1", Some("loopback")),
            ("::", Some("unspecified")),
            ("fe80::1", Some("link-local")),
            ("fd00::1", Some("unique local (private)")),
            ("::ffff:127.0.0.1", Some("loopback")),
            ("::ffff:169.254.169.254", Some("a cloud metadata service")),
            ("::ffff:169.254.1.1", Some("link-local")),
            ("64:ff9b::a00:1", Some("private")),
            ("2002:a00:1::", Some("private")),
            ("::127.0.0.1", Some("loopback")),
            ("203.0.113.10", None),
            ("1.1.1.1", None),
            ("2606:4700::1111", None),
        ] {
            assert_eq!(unreachable_because(address.parse().unwrap(), &own), why, "{address}");
        }
    }

    #[test]
    fn cloud_metadata_services_are_known_by_address_in_every_form_and_by_name() {
        for address in [
            "169.254.169.254",
            "169.254.170.2",
            "100.100.100.200",
            "168.63.129.16",
            "fd00:ec2::254",
            "FD00:EC2:0::254",
            "fd20:ce::254",
            "::ffff:169.254.169.254",
            "::ffff:100.100.100.200",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
        ] {
            assert!(cloud_metadata(address.parse().unwrap()), "{address}");
        }
        for address in ["169.254.169.253", "127.0.0.1", "10.0.0.1", "8.8.8.8", "fd00:ec2::1", "::1"] {
            assert!(!cloud_metadata(address.parse().unwrap()), "{address}");
        }
        // Public, but a metadata service: refused all the same.
        assert_eq!(unreachable_because("168.63.129.16".parse().unwrap(), &[]), Some("a cloud metadata service"));
        for name in ["metadata.google.internal", "METADATA.google.internal.", "x.metadata.goog", "metadata"] {
            assert!(names_cloud_metadata(name), "{name}");
        }
        for name in ["hooks.slack.com", "metadata.example.com", "notmetadata.goog", "metadata.google.internal.evil"] {
            assert!(!names_cloud_metadata(name), "{name}");
        }
    }
}
