//! Addresses that are not a viewer's: special-purpose ranges, Cloudflare's
//! own ranges (`data/cloudflare-ips.txt`), Cloudflare's Pseudo IPv4.

use std::net::IpAddr;
use std::sync::LazyLock;

use ipnet::IpNet;

use crate::rules::network::SPECIAL_PURPOSE;

/// `data/cloudflare-ips.txt`: Cloudflare's published ranges, one per line,
/// `#` comments (source <https://www.cloudflare.com/ips-v4> and
/// <https://www.cloudflare.com/ips-v6>).
pub const CLOUDFLARE_IPS_FILE: &str = include_str!("../../data/cloudflare-ips.txt");

/// When `data/cloudflare-ips.txt` was last checked against Cloudflare's
/// published lists (its `Last checked:` line).
pub fn cloudflare_ranges_checked() -> &'static str {
    CLOUDFLARE_IPS_FILE
        .lines()
        .find_map(|l| l.strip_prefix("# Last checked: "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("unknown")
}

/// The ranges, and for each first byte (IPv4: `[0]`; IPv6: `[1]`) whether
/// some range may hold it: most addresses are decided by one table read.
struct Ranges {
    nets: Vec<IpNet>,
    first: [[bool; 256]; 2],
}

impl Ranges {
    fn new(nets: Vec<IpNet>) -> Ranges {
        let mut first = [[false; 256]; 2];
        for net in &nets {
            let (family, byte, len) = match net {
                IpNet::V4(n) => (0, n.network().octets()[0], n.prefix_len()),
                IpNet::V6(n) => (1, n.network().octets()[0], n.prefix_len()),
            };
            if len >= 8 {
                first[family][usize::from(byte)] = true;
            } else {
                let span = 1usize << (8 - len);
                for b in usize::from(byte)..(usize::from(byte) + span).min(256) {
                    first[family][b] = true;
                }
            }
        }
        Ranges { nets, first }
    }

    #[inline]
    fn may_hold(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.first[0][usize::from(a.octets()[0])],
            IpAddr::V6(a) => self.first[1][usize::from(a.octets()[0])],
        }
    }
}

static CLOUDFLARE: LazyLock<Ranges> = LazyLock::new(|| {
    Ranges::new(
        CLOUDFLARE_IPS_FILE
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| l.parse().expect("data/cloudflare-ips.txt holds networks"))
            .collect(),
    )
});

static SPECIAL: LazyLock<Ranges> =
    LazyLock::new(|| Ranges::new(SPECIAL_PURPOSE.iter().map(|(n, _)| *n).collect()));

/// Cloudflare's published ranges ([`CLOUDFLARE_IPS_FILE`]).
pub fn cloudflare_ranges() -> &'static [IpNet] {
    &CLOUDFLARE.nets
}

/// Whether `ip` is one of Cloudflare's own addresses: a log showing it as
/// the client records Cloudflare's edge, not the viewer. IPv4-mapped
/// addresses are judged as IPv4.
#[inline]
pub fn is_cloudflare(ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    CLOUDFLARE.may_hold(ip) && CLOUDFLARE.nets.iter().any(|n| n.contains(&ip))
}

/// Why no viewer at the edge has `ip` (private, loopback, CGNAT,
/// documentation, … ranges), or `None` for a globally routable address.
/// IPv4-mapped addresses are judged as IPv4.
#[inline]
pub fn special_purpose(ip: IpAddr) -> Option<&'static str> {
    let ip = ip.to_canonical();
    if !SPECIAL.may_hold(ip) {
        return None;
    }
    SPECIAL_PURPOSE.iter().find_map(|(n, what)| n.contains(&ip).then_some(*what))
}

/// Whether `ip` is in `240.0.0.0/4`, where Cloudflare's Pseudo IPv4 puts
/// the stand-in addresses of IPv6 viewers (Cloudflare's documentation:
/// "Pseudo IPv4").
#[inline]
pub fn is_pseudo_ipv4(ip: IpAddr) -> bool {
    matches!(ip.to_canonical(), IpAddr::V4(a) if a.octets()[0] >= 240)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_agree_with_a_plain_scan() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(is_cloudflare(ip("162.158.1.1")));
        assert!(is_cloudflare(ip("::ffff:104.16.0.1")));
        assert!(is_cloudflare(ip("2606:4700::1")));
        assert!(is_cloudflare(ip("2a06:98c7::1")));
        assert!(!is_cloudflare(ip("8.8.8.8")));
        assert_eq!(special_purpose(ip("192.168.1.1")), Some("a private range (RFC 1918)"));
        assert!(special_purpose(ip("100.64.0.1")).unwrap().contains("carrier-grade NAT"));
        assert!(special_purpose(ip("::1")).is_some());
        assert!(special_purpose(ip("2001:db8::1")).is_some());
        assert!(special_purpose(ip("8.8.8.8")).is_none());
        assert!(is_pseudo_ipv4(ip("240.0.0.1")) && !is_pseudo_ipv4(ip("239.0.0.1")));
        assert_eq!(cloudflare_ranges().len(), 22);
        assert_ne!(cloudflare_ranges_checked(), "unknown");
        // The first-byte gate never hides a member.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for a in [
                IpAddr::from((x as u32).to_be_bytes()),
                IpAddr::from((u128::from(x) << 64 | u128::from(x.rotate_left(17))).to_be_bytes()),
            ] {
                let plain = CLOUDFLARE.nets.iter().any(|n| n.contains(&a));
                assert_eq!(is_cloudflare(a), plain, "{a}");
                let plain = SPECIAL_PURPOSE.iter().find_map(|(n, w)| n.contains(&a).then_some(*w));
                assert_eq!(special_purpose(a), plain, "{a}");
            }
        }
    }
}
