//! The client's address behind a reverse proxy. Switchboard sees the proxy's address as the
//! peer of every request; with `SWITCHBOARD_TRUSTED_PROXIES` naming the proxies (addresses or
//! CIDR blocks), a request from one of them is taken to come from the address it names in
//! `X-Forwarded-For`: read from the right, the first address that is not itself a trusted proxy.
//! Anyone can send that header, so it is read only from the proxies named, and the addresses
//! before the first untrusted one (which the client itself may have written) are never used.
//!
//! [`client_address`] puts that address on the request as its `ConnectInfo`, so the sign-in
//! throttle, the audit log and everything else that asks for the peer see the client.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::HeaderMap,
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Addresses (`10.0.0.5`, `::1`) or CIDR blocks (`10.0.0.0/8`), separated by commas or spaces.
    pub fn parse(value: &str) -> Result<Self, NotABlock> {
        parse_blocks(value).map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address, for a request that reached Switchboard from `peer`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in forwarded.into_iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// An item of a list of addresses that is neither an address nor a CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an address or a CIDR block")]
pub struct NotABlock(pub String);

/// Addresses (`10.0.0.5`, `::1`) or CIDR blocks (`10.0.0.0/8`), separated by commas or spaces:
/// how every setting that lists addresses is written (`SWITCHBOARD_TRUSTED_PROXIES`,
/// `SWITCHBOARD_ALLOW_PRIVATE_URLS`).
pub fn parse_blocks(value: &str) -> Result<Vec<IpNet>, NotABlock> {
    value
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| NotABlock(item.to_owned()))
        })
        .collect()
}

/// Puts the client's address on the request in place of a trusted proxy's.
pub async fn client_address(State(proxies): State<Arc<TrustedProxies>>, mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let client = proxies.client(peer.ip(), request.headers());
        if client != peer.ip() {
            request.extensions_mut().insert(ConnectInfo(SocketAddr::new(client, peer.port())));
        }
    }
    next.run(request).await
}

/// An address as the throttle and the stream limits count it: an IPv6 address by its /64, the
/// block one machine or home usually gets whole (counting each address would give it 2^64 tries);
/// anything else as it is.
pub fn address_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("address:{}/64", std::net::Ipv6Addr::from(prefix))
        }
        Ok(std::net::IpAddr::V6(v6)) => format!("address:{}", v6.to_canonical()),
        _ => format!("address:{ip}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_client_is_the_first_untrusted_address_from_the_right() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.0.2.1 ::1").unwrap();
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let client = |values: &[&str]| proxies.client(proxy, &forwarded(values)).to_string();
        assert_eq!(client(&["203.0.113.7"]), "203.0.113.7");
        // A client's own made-up entries come before its real address, and are not read.
        assert_eq!(client(&["198.51.100.1, 203.0.113.7"]), "203.0.113.7");
        // Through two proxies of ours.
        assert_eq!(client(&["203.0.113.7, 10.9.9.9"]), "203.0.113.7");
        assert_eq!(client(&["203.0.113.7", "10.9.9.9"]), "203.0.113.7", "over two headers");
        // Nothing forwarded, or nonsense: the last trusted hop.
        assert_eq!(client(&[]), "10.1.2.3");
        assert_eq!(client(&["not an address, 10.9.9.9"]), "10.9.9.9");
        // A request from anywhere else is taken as it comes, whatever it says.
        let stranger: IpAddr = "198.51.100.9".parse().unwrap();
        assert_eq!(proxies.client(stranger, &forwarded(&["203.0.113.7"])), stranger);
        // An IPv4 proxy reached over IPv6.
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(proxies.client(mapped, &forwarded(&["203.0.113.7"])).to_string(), "203.0.113.7");
    }

    #[test]
    fn a_list_that_is_not_addresses_is_refused_by_name() {
        assert_eq!(TrustedProxies::parse("").unwrap(), TrustedProxies::default());
        let error = TrustedProxies::parse("10.0.0.0/8, proxy.example").unwrap_err();
        assert_eq!(error, NotABlock("proxy.example".into()));
        assert_eq!(error.to_string(), "\"proxy.example\" is not an address or a CIDR block");
    }
}
