//! Client addresses (pure): the key one client is counted under (an IPv4 address or an IPv6 /64),
//! the proxies `TRUST_PROXY` names, the client address behind them from `X-Forwarded-For`, and
//! address lists like `METRICS_ALLOW`.

use std::net::{IpAddr, Ipv6Addr};

/// A client as limits and connection caps count it: an IPv4 address, or the /64 network of an
/// IPv6 address (one host usually owns a whole /64, so counting single v6 addresses would be no
/// limit at all). IPv4-mapped IPv6 addresses count as their IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(u128);

impl ClientKey {
    pub fn of(ip: IpAddr) -> ClientKey {
        match canonical(ip) {
            IpAddr::V4(v4) => ClientKey(u128::from(u32::from(v4))),
            // Tagged in the low bit so no v6 prefix equals a v4 address.
            IpAddr::V6(v6) => ClientKey((u128::from(v6) & !((1u128 << 64) - 1)) | 1),
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is (a dual-stack socket reports those).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One address or network, as `TRUST_PROXY` lists them: `10.0.0.1`, `10.0.0.0/8`, `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `addr` or `addr/prefix`; the bits past the prefix are ignored.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr = canonical(addr.trim().parse::<IpAddr>().ok()?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().ok().filter(|&p| p <= max)?,
            None => max,
        };
        Some(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // Both families widened so the prefix counts from the top bit: IPv4 in the top 32.
        let bits = |ip: IpAddr| match ip {
            IpAddr::V4(v4) => u128::from(u32::from(v4)) << 96,
            IpAddr::V6(v6) => u128::from(v6),
        };
        let ip = canonical(ip);
        if ip.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
        bits(ip) & mask == bits(self.addr) & mask
    }
}

/// Most entries `TRUST_PROXY` or `METRICS_ALLOW` may list (a proxy chain is a handful of hops,
/// a monitoring set-up a handful of hosts).
pub const MAX_TRUSTED: usize = 32;

/// A comma or space separated list of 1 to [`MAX_TRUSTED`] addresses and CIDRs; `None` if an
/// entry is unreadable or the count is out of range.
pub fn cidr_list(text: &str) -> Option<Vec<Cidr>> {
    let list: Option<Vec<Cidr>> = text.split([',', ' ']).filter(|s| !s.is_empty()).map(Cidr::parse).collect();
    list.filter(|l| !l.is_empty() && l.len() <= MAX_TRUSTED)
}

/// The peers whose `X-Forwarded-For` is believed. Empty: nobody's (`TRUST_PROXY=0`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// `0` (or unset): trust nobody; `1`: loopback only (a proxy on the same host); otherwise a
    /// comma or space separated list of addresses and CIDRs. `None` for anything else.
    pub fn parse(text: &str) -> Option<TrustedProxies> {
        match text.trim() {
            "" | "0" | "false" | "no" => return Some(TrustedProxies::default()),
            "1" | "true" | "yes" => {
                let loopback =
                    [Cidr::parse("127.0.0.0/8")?, Cidr { addr: IpAddr::V6(Ipv6Addr::LOCALHOST), prefix: 128 }];
                return Some(TrustedProxies(loopback.to_vec()));
            }
            _ => {}
        }
        cidr_list(text).map(TrustedProxies)
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The client's address. A peer we do not trust is the client, whatever it claims. Behind a
    /// trusted peer, `X-Forwarded-For` is read from the right (each proxy appends the address it
    /// saw): the first entry that is not itself a trusted proxy is the client. Earlier entries
    /// come from the client and prove nothing. An unreadable entry stops the walk at the last
    /// address we could trust.
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        for entry in forwarded_for.unwrap_or("").rsplit(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some(ip) = parse_entry(entry) else { break };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, or `v4:port` / `[v6]:port` as some proxies write it.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_clients_share_a_key_per_64_bit_network_and_mapped_v4_is_v4() {
        assert_eq!(ClientKey::of(ip("2001:db8:1:2::1")), ClientKey::of(ip("2001:db8:1:2:ffff::9")));
        assert_ne!(ClientKey::of(ip("2001:db8:1:2::1")), ClientKey::of(ip("2001:db8:1:3::1")));
        assert_eq!(ClientKey::of(ip("::ffff:192.0.2.1")), ClientKey::of(ip("192.0.2.1")));
        assert_ne!(ClientKey::of(ip("192.0.2.1")), ClientKey::of(ip("192.0.2.2")));
    }

    #[test]
    fn cidrs_match_their_networks_only() {
        let table = [
            ("10.0.0.0/8", "10.200.3.4", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("192.0.2.7", "192.0.2.7", true),
            ("192.0.2.7", "192.0.2.8", false),
            ("192.0.2.0/31", "192.0.2.1", true),
            ("0.0.0.0/0", "203.0.113.1", true),
            ("0.0.0.0/0", "2001:db8::1", false),
            ("fd00::/8", "fd12::1", true),
            ("fd00::/8", "fe80::1", false),
            ("127.0.0.0/8", "::ffff:127.0.0.1", true),
        ];
        for (cidr, addr, want) in table {
            assert_eq!(Cidr::parse(cidr).unwrap().contains(ip(addr)), want, "{cidr} {addr}");
        }
        for bad in ["10.0.0.0/33", "fd00::/129", "10.0.0", "x", "10.0.0.0/"] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn trust_proxy_values_parse_and_bad_ones_do_not() {
        assert!(TrustedProxies::parse("0").unwrap().is_empty());
        let one = TrustedProxies::parse("1").unwrap();
        assert!(one.trusts(ip("127.0.0.1")) && one.trusts(ip("::1")) && !one.trusts(ip("10.0.0.1")));
        let list = TrustedProxies::parse("10.0.0.0/8, 192.0.2.1").unwrap();
        assert!(list.trusts(ip("10.1.1.1")) && list.trusts(ip("192.0.2.1")) && !list.trusts(ip("192.0.2.2")));
        assert_eq!(TrustedProxies::parse("maybe"), None);
        assert_eq!(TrustedProxies::parse("10.0.0.1, nope"), None);
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_peer() {
        let proxies = TrustedProxies::parse("1").unwrap();
        assert_eq!(proxies.client_ip(ip("203.0.113.5"), Some("198.51.100.1")), ip("203.0.113.5"), "direct client");
        assert_eq!(proxies.client_ip(ip("127.0.0.1"), Some("198.51.100.1")), ip("198.51.100.1"));
        assert_eq!(TrustedProxies::default().client_ip(ip("127.0.0.1"), Some("198.51.100.1")), ip("127.0.0.1"));
    }

    #[test]
    fn the_walk_from_the_right_stops_at_the_first_untrusted_entry() {
        let proxies = TrustedProxies::parse("127.0.0.1 10.0.0.0/8").unwrap();
        let peer = ip("127.0.0.1");
        // The client forged the first entry; the edge proxy (10.0.0.3) added the real one.
        assert_eq!(proxies.client_ip(peer, Some("1.2.3.4, 198.51.100.7, 10.0.0.3")), ip("198.51.100.7"));
        assert_eq!(proxies.client_ip(peer, Some("[2001:db8::1]:443")), ip("2001:db8::1"));
        assert_eq!(proxies.client_ip(peer, Some("198.51.100.7:5000")), ip("198.51.100.7"));
        assert_eq!(proxies.client_ip(peer, Some("garbage")), peer);
        assert_eq!(proxies.client_ip(peer, Some("1.2.3.4, garbage, 10.0.0.3")), ip("10.0.0.3"));
        assert_eq!(proxies.client_ip(peer, None), peer);
    }
}
