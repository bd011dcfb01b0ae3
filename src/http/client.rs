//! Which address a request comes from, for the failed sign-in limit.
//!
//! The TCP peer, unless the peer is one of `SCIMD_TRUSTED_PROXIES`: then `X-Forwarded-For`
//! is read from the right (each proxy appends the address it was connected from), trusted
//! hops are skipped, and the first untrusted address is the client. Whatever a client
//! writes into the header itself sits to the left of what the trusted proxies appended,
//! so it is never reached. A request from a trusted proxy with no usable header is
//! counted as the proxy's own.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;

use crate::auth::ClientKey;
use crate::config::TrustedProxy;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's address, as [`ClientKey`] counts it.
pub fn client_key(req: &HttpRequest, trusted: &[TrustedProxy]) -> ClientKey {
    ClientKey::new(
        req.peer_addr()
            .map(|peer| client_addr(peer.ip(), req.headers(), trusted)),
    )
}

fn is_trusted(addr: IpAddr, trusted: &[TrustedProxy]) -> bool {
    let addr = addr.to_canonical();
    trusted.iter().any(|p| p.0.contains(&addr))
}

pub fn client_addr(peer: IpAddr, headers: &HeaderMap, trusted: &[TrustedProxy]) -> IpAddr {
    if !is_trusted(peer, trusted) {
        return peer;
    }
    // Several header lines are one list, in order (RFC 9110 §5.3).
    let hops: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // A trusted proxy appends a plain address; anything else there ends the walk.
        let Some(addr) = parse_hop(hop) else {
            break;
        };
        client = addr;
        if !is_trusted(addr, trusted) {
            break;
        }
    }
    client
}

/// `192.0.2.1`, `2001:db8::1`, and the forms with a port some proxies write
/// (`192.0.2.1:443`, `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn trusted(list: &[&str]) -> Vec<TrustedProxy> {
        list.iter().filter_map(|s| s.parse().ok()).collect()
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(
                HeaderName::from_static(X_FORWARDED_FOR),
                HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn the_header_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let h = headers(&["198.51.100.7"]);
        assert_eq!(client_addr(ip("203.0.113.1"), &h, &[]), ip("203.0.113.1"));
        assert_eq!(
            client_addr(ip("203.0.113.1"), &h, &trusted(&["10.0.0.0/8"])),
            ip("203.0.113.1")
        );
        assert_eq!(
            client_addr(ip("10.0.0.5"), &h, &trusted(&["10.0.0.0/8"])),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client_and_spoofed_entries_are_not_reached() {
        let proxies = trusted(&["10.0.0.0/8", "192.0.2.10"]);
        // The client claimed 1.1.1.1; the edge proxy appended the real address, then an
        // inner proxy (10.1.1.1) appended the edge proxy's.
        let h = headers(&["1.1.1.1, 198.51.100.7, 192.0.2.10", "10.1.1.1"]);
        assert_eq!(
            client_addr(ip("10.0.0.5"), &h, &proxies),
            ip("198.51.100.7")
        );
        // Ports and IPv6 forms.
        let h = headers(&["[2001:db8::7]:5555, 192.0.2.10:443"]);
        assert_eq!(client_addr(ip("10.0.0.5"), &h, &proxies), ip("2001:db8::7"));
        // Garbage where an address should be: the last address a trusted hop gave.
        let h = headers(&["unknown, 192.0.2.10"]);
        assert_eq!(client_addr(ip("10.0.0.5"), &h, &proxies), ip("192.0.2.10"));
        // No header: the proxy itself.
        assert_eq!(
            client_addr(ip("10.0.0.5"), &HeaderMap::new(), &proxies),
            ip("10.0.0.5")
        );
        // Every hop trusted: the left-most one.
        let h = headers(&["10.9.9.9, 10.8.8.8"]);
        assert_eq!(client_addr(ip("10.0.0.5"), &h, &proxies), ip("10.9.9.9"));
    }

    #[test]
    fn an_ipv4_mapped_peer_matches_an_ipv4_proxy() {
        let h = headers(&["198.51.100.7"]);
        assert_eq!(
            client_addr(ip("::ffff:10.0.0.5"), &h, &trusted(&["10.0.0.0/8"])),
            ip("198.51.100.7")
        );
    }
}
