//! Addresses that are not a viewer's: special-purpose ranges, Cloudflare's
//! own ranges (`data/cloudflare-ips.txt`), Cloudflare's Pseudo IPv4.

use std::net::IpAddr;
use std::sync::LazyLock;

use ipnet::IpNet;

use crate::rules::network::NON_ROUTABLE_BLOCKS;

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

/// A list of networks, with a bit per 16-bit address prefix (per family)
/// saying whether some network may hold it: most addresses are decided by
/// one bit, the rest by comparing masked integers.
struct Ranges {
    nets: Vec<IpNet>,
    /// (network, mask, index in `nets`), in `nets` order.
    v4: Vec<(u32, u32, usize)>,
    v6: Vec<(u128, u128, usize)>,
    gate: [Box<[u64; 1024]>; 2],
}

impl Ranges {
    fn new(nets: Vec<IpNet>) -> Ranges {
        let mut gate = [Box::new([0u64; 1024]), Box::new([0u64; 1024])];
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for (i, net) in nets.iter().enumerate() {
            let (family, top, len) = match net {
                IpNet::V4(n) => {
                    let addr = u32::from(n.network());
                    v4.push((addr, u32::from(n.netmask()), i));
                    (0, (addr >> 16) as usize, n.prefix_len())
                }
                IpNet::V6(n) => {
                    let addr = u128::from(n.network());
                    v6.push((addr, u128::from(n.netmask()), i));
                    (1, (addr >> 112) as usize, n.prefix_len())
                }
            };
            let span = if len >= 16 { 1 } else { 1usize << (16 - len) };
            for p in top..top + span {
                gate[family][p / 64] |= 1 << (p % 64);
            }
        }
        Ranges { nets, v4, v6, gate }
    }

    /// The index in `nets` of the first network holding `ip` (canonical).
    #[inline]
    fn find(&self, ip: IpAddr) -> Option<usize> {
        match ip {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                let p = (a >> 16) as usize;
                if self.gate[0][p / 64] & (1 << (p % 64)) == 0 {
                    return None;
                }
                self.v4.iter().find(|&&(n, m, _)| a & m == n).map(|&(_, _, i)| i)
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                let p = (a >> 112) as usize;
                if self.gate[1][p / 64] & (1 << (p % 64)) == 0 {
                    return None;
                }
                self.v6.iter().find(|&&(n, m, _)| a & m == n).map(|&(_, _, i)| i)
            }
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

static NON_ROUTABLE: LazyLock<Ranges> =
    LazyLock::new(|| Ranges::new(NON_ROUTABLE_BLOCKS.iter().map(|(n, _)| *n).collect()));

/// Cloudflare's published ranges ([`CLOUDFLARE_IPS_FILE`]).
pub fn cloudflare_ranges() -> &'static [IpNet] {
    &CLOUDFLARE.nets
}

/// Whether `ip` is one of Cloudflare's own addresses: a log showing it as
/// the client records Cloudflare's edge, not the viewer. IPv4-mapped
/// addresses are judged as IPv4.
#[inline]
pub fn is_cloudflare(ip: IpAddr) -> bool {
    CLOUDFLARE.find(ip.to_canonical()).is_some()
}

/// Why no viewer at the edge has `ip` (private, loopback, CGNAT,
/// documentation, … ranges), or `None` for a globally routable address.
/// IPv4-mapped addresses are judged as IPv4.
#[inline]
pub fn special_purpose(ip: IpAddr) -> Option<&'static str> {
    NON_ROUTABLE.find(ip.to_canonical()).map(|i| NON_ROUTABLE_BLOCKS[i].1)
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
        // The gate never hides a member; the first match is the table's.
        let inside = |n: &IpNet, r: u64| match n {
            IpNet::V4(n) => IpAddr::from(
                (u32::from(n.network()) | (r as u32 & !u32::from(n.netmask()))).to_be_bytes(),
            ),
            IpNet::V6(n) => IpAddr::from(
                (u128::from(n.network()) | (u128::from(r) << 17 & !u128::from(n.netmask())))
                    .to_be_bytes(),
            ),
        };
        for n in CLOUDFLARE.nets.iter().chain(NON_ROUTABLE.nets.iter()) {
            for r in [0, 1, u64::MAX, 0x1234_5678_9abc_def0] {
                let a = inside(n, r);
                assert_eq!(is_cloudflare(a), CLOUDFLARE.nets.iter().any(|n| n.contains(&a)), "{a}");
                let plain =
                    NON_ROUTABLE_BLOCKS.iter().find_map(|(n, w)| n.contains(&a).then_some(*w));
                assert_eq!(special_purpose(a), plain, "{a}");
            }
        }
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
                let plain =
                    NON_ROUTABLE_BLOCKS.iter().find_map(|(n, w)| n.contains(&a).then_some(*w));
                assert_eq!(special_purpose(a), plain, "{a}");
            }
        }
    }
}
