//! Which addresses the server may send webhooks to.
//!
//! A webhook URL is chosen by a site manager, so by default only public unicast addresses are
//! reached: loopback, private (RFC 1918, unique-local), link-local (which holds the cloud
//! metadata service), carrier-grade NAT, multicast, documentation and reserved ranges are
//! refused. The check runs on every address a name resolves to, at connect time (the resolver
//! below hands the connector only permitted addresses), so a name that resolves to a private
//! address — or that changes its answer between creation and delivery — cannot reach one.
//! Deployments that deliver to an internal receiver list its range explicitly
//! (`webhook_allow_targets`).
//!
//! Plain `http://` goes only to those listed ranges: a receiver on a public address must use
//! `https://`, so that nothing on the way reads the residents' events or swaps the receiver.
//! (The signature proves the sender, not the secrecy of the body.)

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// An address range, `10.1.0.0/16` or `fd00::/8`; a bare address is a single host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `addr` or `addr/prefix`.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let bad =
            || format!("{s:?} is not an address range: write 10.0.0.0/8, 127.0.0.1 or fd00::/8");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { net: canonical(net), prefix })
    }

    /// Whether `ip` is inside the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (bytes, rest) = (usize::from(bits / 8), bits % 8);
    if a[..bytes] != b[..bytes] {
        return false;
    }
    rest == 0 || (a[bytes] ^ b[bytes]) >> (8 - rest) == 0
}

/// An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is judged as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `ip` is a public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT, 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments, 192.0.0.0/24
        || (a == 198 && (b == 18 || b == 19)) // benchmarking, 198.18.0.0/15
        || a >= 240) // reserved, 240.0.0.0/4
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address: judge that one.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    if s[0] == 0x2002 {
        let [a, b] = s[1].to_be_bytes();
        let [c, d] = s[2].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || s[0] & 0xfe00 == 0xfc00 // unique local, fc00::/7
        || s[0] & 0xffc0 == 0xfe80 // link-local, fe80::/10
        || s[0] & 0xffc0 == 0xfec0 // site-local (deprecated), fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation, 2001:db8::/32
        || s[..5] == [0, 0, 0, 0, 0]) // IPv4-compatible and other ::/80 oddities
}

/// The addresses webhooks may reach: public unicast, plus an explicit allow-list.
#[derive(Clone, Debug, Default)]
pub struct Targets {
    allow: Vec<Cidr>,
}

impl Targets {
    /// Public addresses only (the default).
    pub fn public_only() -> Targets {
        Targets::default()
    }

    /// Public addresses and the listed ranges (`127.0.0.1`, `10.0.0.0/8`, ...).
    pub fn allowing<S: AsRef<str>>(ranges: &[S]) -> Result<Targets, String> {
        let allow = ranges.iter().map(|r| Cidr::parse(r.as_ref())).collect::<Result<_, _>>()?;
        Ok(Targets { allow })
    }

    /// Whether a webhook may connect to `ip` over `https://`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.listed(ip)
    }

    /// Whether a webhook may connect to `ip` over plain `http://`: listed ranges only.
    pub fn permits_plain(&self, ip: IpAddr) -> bool {
        self.listed(ip)
    }

    /// Whether any range is listed, i.e. whether plain `http://` can reach anything at all.
    pub fn allows_plain_http(&self) -> bool {
        !self.allow.is_empty()
    }

    fn listed(&self, ip: IpAddr) -> bool {
        self.allow.iter().any(|c| c.contains(ip))
    }

    /// Whether a connection over `scheme` may go to `ip`.
    pub(crate) fn permits_over(&self, scheme: Scheme, ip: IpAddr) -> bool {
        match scheme {
            Scheme::Https => self.permits(ip),
            Scheme::Http => self.permits_plain(ip),
        }
    }
}

/// How a webhook travels: what decides where it may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `https://`: public addresses and the listed ranges.
    Https,
    /// `http://`: the listed ranges only.
    Http,
}

/// Why a target was refused.
#[derive(Debug)]
pub struct RefusedTarget {
    /// The host name or address of the URL.
    pub host: String,
    /// The refused addresses it resolved to.
    pub addresses: Vec<IpAddr>,
    /// How the webhook was to travel.
    pub scheme: Scheme,
}

impl std::fmt::Display for RefusedTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.scheme {
            Scheme::Https => write!(
                f,
                "refused target: {} resolves only to non-public addresses {:?}; webhooks \
                 reach public addresses unless webhook_allow_targets lists the range",
                self.host, self.addresses
            ),
            Scheme::Http => write!(
                f,
                "refused target: {} resolves to {:?}, outside webhook_allow_targets; plain \
                 http:// goes only to those internal ranges: use https://",
                self.host, self.addresses
            ),
        }
    }
}

impl std::error::Error for RefusedTarget {}

/// A DNS resolver that hands the connector only permitted addresses.
pub(crate) struct GuardedResolver {
    pub(crate) targets: Arc<Targets>,
    /// How the connections it resolves for travel.
    pub(crate) scheme: Scheme,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let (targets, scheme) = (self.targets.clone(), self.scheme);
        Box::pin(async move {
            let host = name.as_str().to_string();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> =
                all.iter().filter(|a| targets.permits_over(scheme, a.ip())).copied().collect();
            if permitted.is_empty() {
                let addresses = all.iter().map(SocketAddr::ip).collect();
                return Err(Box::new(RefusedTarget { host, addresses, scheme }) as _);
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_unicast_is_reached_by_default() {
        let t = Targets::public_only();
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:c0a8:101::1",
            "::127.0.0.1",
        ] {
            assert!(!t.permits(private.parse().unwrap()), "{private} must be refused");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(t.permits(public.parse().unwrap()), "{public} must be reached");
        }
    }

    #[test]
    fn the_allow_list_opens_exactly_its_ranges() {
        let t = Targets::allowing(&["127.0.0.1", "10.8.0.0/13"]).unwrap();
        assert!(t.permits("127.0.0.1".parse().unwrap()));
        assert!(t.permits("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!t.permits("127.0.0.2".parse().unwrap()));
        assert!(t.permits("10.15.255.255".parse().unwrap()));
        assert!(!t.permits("10.16.0.0".parse().unwrap()));
        assert!(!t.permits("10.7.255.255".parse().unwrap()));
        assert!(Targets::allowing(&["10.0.0.0/33"]).is_err());
        assert!(Targets::allowing(&["localhost"]).is_err());
    }

    #[test]
    fn plain_http_reaches_the_listed_ranges_only() {
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        let listed: IpAddr = "10.8.0.1".parse().unwrap();
        let none = Targets::public_only();
        assert!(none.permits(public) && !none.permits_plain(public));
        assert!(!none.allows_plain_http());
        let t = Targets::allowing(&["10.8.0.0/13"]).unwrap();
        assert!(t.allows_plain_http());
        assert!(t.permits_over(Scheme::Http, listed));
        assert!(!t.permits_over(Scheme::Http, public), "a public receiver must use https://");
        assert!(t.permits_over(Scheme::Https, public) && t.permits_over(Scheme::Https, listed));
    }
}
