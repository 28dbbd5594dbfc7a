//! Strict parsing of `ip` entries (docs/diagnostics.md): what `ipnet` and `std`
//! would let through or reject without a reason.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::diagnostic::Code;
use crate::interval::IntervalSet;

/// Why an `ip` entry is invalid: a code, a message naming the value, an
/// optional help, and the byte range inside the entry string to underline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EntryError {
    pub code: Code,
    pub message: String,
    pub help: Option<String>,
    /// Byte range within the entry string, when narrower than the whole.
    pub part: Option<(usize, usize)>,
}

impl EntryError {
    fn new(code: Code, message: String) -> EntryError {
        EntryError { code, message, help: None, part: None }
    }

    fn help(mut self, help: impl Into<String>) -> EntryError {
        self.help = Some(help.into());
        self
    }

    fn part(mut self, start: usize, end: usize) -> EntryError {
        self.part = Some((start, end));
        self
    }
}

/// Parses one `ip` entry: an IPv4/IPv6 address (a /32 or /128) or a CIDR.
/// Host bits are kept as written (a warning, not an error).
pub(crate) fn parse_entry(s: &str) -> Result<IpNet, EntryError> {
    // The longest address or CIDR is 49 bytes (IPv6 with embedded IPv4 and
    // a /128); anything much longer is refused without being echoed whole.
    if s.len() > 100 {
        let head: String = s.chars().take(32).collect();
        return Err(EntryError::new(
            Code::InvalidIp,
            format!("the {}-byte entry starting {head:?}… is not an address or CIDR", s.len()),
        ));
    }
    if s.is_empty() {
        return Err(EntryError::new(Code::IpEmpty, "empty string in `ip`".into())
            .help("remove the empty entry"));
    }
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return Err(EntryError::new(Code::IpEmpty, format!("{s:?} is blank"))
            .help("remove the blank entry"));
    }
    if let Some(e) = repair(trimmed) {
        return Err(e);
    }
    let parts: Vec<&str> = trimmed
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() > 1 {
        let all_valid = parts.iter().all(|p| parse_entry(p).is_ok());
        let mut e = EntryError::new(
            Code::IpMissingComma,
            format!("{s:?} holds {} values in one string: missing comma?", parts.len()),
        );
        if all_valid {
            let list: Vec<String> = parts.iter().map(|p| format!("{p:?}")).collect();
            e = e.help(format!("write one entry per string: {}", list.join(", ")));
        }
        return Err(e);
    }
    if trimmed != s {
        let mut e =
            EntryError::new(Code::IpWhitespace, format!("{s:?} has white space around the value"));
        if parse_entry(trimmed).is_ok() {
            e = e.help(format!("write {trimmed:?}"));
        }
        return Err(e);
    }
    if let Some(pct) = s.find('%') {
        let without = strip_zone(s, pct);
        // The zone id runs to the first `/` after the `%` (a `/` before it,
        // as in "/%", belongs to something else).
        let end = s[pct..].find('/').map_or(s.len(), |i| pct + i);
        let mut e = EntryError::new(
            Code::IpZoneId,
            format!("{s:?} has a zone id ({}), which means nothing at the edge", &s[pct..end]),
        )
        .part(pct, end);
        if parse_entry(&without).is_ok() {
            e = e.help(format!("write {without:?}"));
        }
        return Err(e);
    }
    let (addr_text, prefix_text) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    if addr_text.is_empty() {
        return Err(EntryError::new(
            Code::InvalidIp,
            format!("{s:?} has no address before the '/'"),
        ));
    }
    let addr = parse_addr(addr_text, s)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix_text {
        None => max,
        Some(p) => parse_prefix(p, addr_text.len() + 1, max, s, addr)?,
    };
    IpNet::new(addr, prefix).map_err(|_| {
        EntryError::new(
            Code::IpPrefixTooLong,
            format!("prefix length /{prefix} in {s:?} is over {max}"),
        )
    })
}

/// What an entry that is not one network meant, when that is clear: a
/// range `a-b` (help: its minimal CIDR cover), an address with a netmask or
/// a Cisco wildcard mask (help: the prefix form; none for a non-contiguous
/// or ambiguous mask), or one network with white space inside (help: the
/// value joined). Two complete values are left to `ip-missing-comma`.
fn repair(t: &str) -> Option<EntryError> {
    let host = |x: &str| -> Option<IpAddr> {
        let x = x.trim();
        (!x.contains('/')).then(|| parse_entry(x).ok()).flatten().map(|n| n.addr())
    };
    if let Some((a, b)) = t.split_once('-') {
        let (lo, hi) = (host(a)?, host(b)?);
        let mut e = EntryError::new(
            Code::IpRange,
            format!("{t:?} is a range; `ip` entries are addresses and CIDR networks"),
        );
        let cover = match (lo, hi) {
            (IpAddr::V4(lo), IpAddr::V4(hi)) if lo <= hi => {
                IntervalSet::from_range(u32::from(lo), u32::from(hi)).to_networks()
            }
            (IpAddr::V6(lo), IpAddr::V6(hi)) if lo <= hi => {
                IntervalSet::from_range(u128::from(lo), u128::from(hi)).to_networks()
            }
            _ => {
                e.message = format!("{t:?} is a range from a higher to a lower address, or across families; `ip` entries are addresses and CIDR networks");
                return Some(e);
            }
        };
        let list: Vec<String> =
            cover.iter().map(|n| format!("{:?}", crate::rules::network_to_string(n))).collect();
        return Some(e.help(format!(
            "write the range as {} entr{}: {}",
            list.len(),
            if list.len() == 1 { "y" } else { "ies" },
            list.join(", ")
        )));
    }
    let two: Vec<&str> =
        t.split(|c: char| c.is_whitespace() || c == '/').filter(|p| !p.is_empty()).collect();
    if let [addr, mask] = two[..] {
        if let (Some(IpAddr::V4(addr)), Some(IpAddr::V4(mask))) = (host(addr), host(mask)) {
            let m = u32::from(mask);
            let netmask = m.leading_ones() + m.trailing_zeros() == 32;
            let wildcard = m.leading_zeros() + m.trailing_ones() == 32;
            let octets = mask.octets();
            let mask_like = netmask
                || wildcard
                || ((octets[0] == 255 || octets[0] == 0)
                    && octets.iter().all(|o| {
                        o.leading_ones() + o.trailing_zeros() == 8
                            || o.leading_zeros() + o.trailing_ones() == 8
                    }));
            if mask_like {
                let mut e = EntryError::new(
                    Code::IpNetmask,
                    format!("{t:?} gives a mask; `ip` entries take a prefix length"),
                );
                let prefix = match (netmask, wildcard) {
                    (true, true) => {
                        e.message = format!("{t:?} gives the mask {mask}, which reads as a netmask and as a wildcard mask with opposite meanings; `ip` entries take a prefix length");
                        return Some(e);
                    }
                    (true, false) => m.leading_ones(),
                    (false, true) => m.leading_zeros(),
                    (false, false) => {
                        e.message = format!("{t:?} gives the mask {mask}, which is not contiguous: no prefix length means it");
                        return Some(e);
                    }
                };
                let net = ipnet::Ipv4Net::new(addr, prefix as u8).ok()?.trunc();
                let kind = if netmask { "netmask" } else { "wildcard mask" };
                e.message = format!(
                    "{t:?} gives the {kind} {mask}; `ip` entries take a prefix length (/{prefix})"
                );
                return Some(e.help(format!(
                    "write {:?}",
                    crate::rules::network_to_string(&IpNet::V4(net))
                )));
            }
        }
    }
    if t.contains(char::is_whitespace) {
        let joined: String = t.chars().filter(|c| !c.is_whitespace()).collect();
        let pieces: Vec<&str> = t.split_whitespace().collect();
        let all_values = pieces.iter().all(|p| parse_entry(p).is_ok());
        if !all_values && parse_entry(&joined).is_ok() {
            return Some(
                EntryError::new(
                    Code::IpWhitespace,
                    format!("{t:?} has white space inside one network"),
                )
                .help(format!("write {joined:?}")),
            );
        }
    }
    None
}

fn strip_zone(s: &str, pct: usize) -> String {
    match s[pct..].find('/') {
        Some(slash) => format!("{}{}", &s[..pct], &s[pct + slash..]),
        None => s[..pct].to_owned(),
    }
}

fn parse_prefix(p: &str, offset: usize, max: u8, s: &str, addr: IpAddr) -> Result<u8, EntryError> {
    let whole = (offset, offset + p.len());
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EntryError::new(
            Code::InvalidIp,
            format!("prefix length {p:?} in {s:?} is not a number"),
        )
        .part(whole.0, whole.1));
    }
    if p.len() > 1 && p.starts_with('0') {
        let plain = p.trim_start_matches('0');
        let plain = if plain.is_empty() { "0" } else { plain };
        return Err(EntryError::new(
            Code::IpLeadingZero,
            format!("prefix length /{p} in {s:?} has a leading zero"),
        )
        .help(format!("write {:?}", format!("{addr}/{plain}")))
        .part(whole.0, whole.1));
    }
    match p.parse::<u16>() {
        Ok(n) if n <= u16::from(max) => Ok(n as u8),
        _ => Err(EntryError::new(
            Code::IpPrefixTooLong,
            format!("prefix length /{p} in {s:?} is over {max}, the longest for {}", family(addr)),
        )
        .part(whole.0, whole.1)),
    }
}

fn family(addr: IpAddr) -> &'static str {
    if addr.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

fn parse_addr(a: &str, s: &str) -> Result<IpAddr, EntryError> {
    let whole = (0, a.len());
    if a.contains(':') {
        return a.parse::<Ipv6Addr>().map(IpAddr::V6).map_err(|_| {
            let mut e = EntryError::new(
                Code::InvalidIp,
                format!("{a:?} in {s:?} is not a valid IPv6 address"),
            )
            .part(whole.0, whole.1);
            // `::ffff:010.0.0.1` and the like: the embedded IPv4 is strict too.
            if let Some(dot) = a.rfind(':').filter(|_| a.contains('.')) {
                if let Err(inner) = parse_v4(&a[dot + 1..], s, dot + 1) {
                    e = inner;
                }
            }
            e
        });
    }
    parse_v4(a, s, 0).map(IpAddr::V4)
}

/// IPv4 dotted quad, decimal octets without leading zeros.
fn parse_v4(a: &str, s: &str, base: usize) -> Result<Ipv4Addr, EntryError> {
    let bad = || {
        EntryError::new(Code::InvalidIp, format!("{a:?} in {s:?} is not a valid IPv4 address"))
            .part(base, base + a.len())
    };
    if !a.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(bad());
    }
    let octets: Vec<&str> = a.split('.').collect();
    if octets.len() != 4 {
        return Err(EntryError::new(
            Code::InvalidIp,
            format!("{a:?} in {s:?} has {} parts; an IPv4 address has 4", octets.len()),
        )
        .part(base, base + a.len()));
    }
    let mut out = [0u8; 4];
    let mut pos = base;
    let mut leading_zero = None;
    for (i, o) in octets.iter().enumerate() {
        let part = (pos, pos + o.len());
        if o.is_empty() {
            return Err(bad());
        }
        let value: u32 = o.parse().map_err(|_| bad())?;
        if value > 255 || o.len() > 3 {
            return Err(EntryError::new(
                Code::InvalidIp,
                format!("octet {o} in {s:?} is over 255"),
            )
            .part(part.0, part.1));
        }
        if o.len() > 1 && o.starts_with('0') && leading_zero.is_none() {
            leading_zero = Some((o.to_string(), part));
        }
        out[i] = value as u8;
        pos += o.len() + 1;
    }
    if let Some((o, part)) = leading_zero {
        let decimal = Ipv4Addr::from(out);
        let rest = &s[base + a.len()..];
        return Err(EntryError::new(
            Code::IpLeadingZero,
            format!("octet {o} in {s:?} has a leading zero, which some parsers read as octal"),
        )
        .help(format!("write {:?} if decimal was meant", format!("{}{decimal}{rest}", &s[..base])))
        .part(part.0, part.1));
    }
    Ok(Ipv4Addr::from(out))
}

/// The IPv6 blocks that carry IPv4 addresses (translation and tunnels):
/// an entry inside one is written "as the IPv6 variant" of IPv4 networks,
/// and no native IPv6 viewer is in it.
pub(crate) const IPV4_EMBEDDING_BLOCKS: &[(&str, &str)] = &[
    ("64:ff9b::/96", "the NAT64 well-known prefix (RFC 6052)"),
    ("2002::/16", "the 6to4 block (RFC 3056)"),
    ("2001::/32", "the Teredo block (RFC 4380)"),
];

/// Which IPv4-carrying block of [`IPV4_EMBEDDING_BLOCKS`] `net` lies in.
pub(crate) fn ipv4_embedding(net: &IpNet) -> Option<&'static str> {
    let IpNet::V6(_) = net else { return None };
    IPV4_EMBEDDING_BLOCKS.iter().find_map(|(block, what)| {
        let block: IpNet = block.parse().ok()?;
        (block.contains(&net.network()) && block.contains(&net.broadcast())).then_some(*what)
    })
}
/// The special-purpose blocks (IANA registries, RFC 6890 and successors):
/// no viewer at the edge has an address in them. Parsed once.
pub(crate) static NON_ROUTABLE_BLOCKS: std::sync::LazyLock<Vec<(IpNet, &'static str)>> =
    std::sync::LazyLock::new(|| {
        const BLOCKS: &[(&str, &str)] = &[
            ("0.0.0.0/8", "the \"this network\" block (RFC 1122)"),
            ("10.0.0.0/8", "a private range (RFC 1918)"),
            ("100.64.0.0/10", "carrier-grade NAT shared space (RFC 6598)"),
            ("127.0.0.0/8", "a loopback range"),
            ("169.254.0.0/16", "a link-local range"),
            ("172.16.0.0/12", "a private range (RFC 1918)"),
            ("192.0.0.0/24", "the IETF protocol assignments block"),
            ("192.0.2.0/24", "a documentation range (TEST-NET-1, RFC 5737)"),
            ("192.168.0.0/16", "a private range (RFC 1918)"),
            ("198.18.0.0/15", "the benchmarking range (RFC 2544)"),
            ("198.51.100.0/24", "a documentation range (TEST-NET-2, RFC 5737)"),
            ("203.0.113.0/24", "a documentation range (TEST-NET-3, RFC 5737)"),
            ("224.0.0.0/4", "a multicast range"),
            ("240.0.0.0/4", "the reserved class E range"),
            ("::/128", "the unspecified address"),
            ("::1/128", "the loopback address"),
            ("::/96", "the deprecated IPv4-compatible block (RFC 4291)"),
            ("64:ff9b:1::/48", "a local-use NAT64 range (RFC 8215)"),
            ("100::/64", "the discard-only range (RFC 6666)"),
            ("2001:db8::/32", "a documentation range (RFC 3849)"),
            ("3fff::/20", "a documentation range (RFC 9637)"),
            ("fc00::/7", "a unique-local range (RFC 4193)"),
            ("fe80::/10", "a link-local range"),
            ("ff00::/8", "a multicast range"),
        ];
        BLOCKS.iter().map(|(block, what)| (block.parse().expect("a valid block"), *what)).collect()
    });

/// Why an address is not one a viewer at the edge can have, or `None` for a
/// globally routable one. Judged on the whole network: a range counts when
/// it lies entirely inside a special-purpose block ([`NON_ROUTABLE_BLOCKS`]).
pub(crate) fn non_routable(net: &IpNet) -> Option<&'static str> {
    NON_ROUTABLE_BLOCKS.iter().find_map(|(block, what)| {
        (block.contains(&net.network()) && block.contains(&net.broadcast())).then_some(*what)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> Code {
        parse_entry(s).unwrap_err().code
    }

    #[test]
    fn accepts_addresses_and_cidrs() {
        let n = |s: &str| parse_entry(s).unwrap().to_string();
        assert_eq!(n("203.0.113.7"), "203.0.113.7/32");
        assert_eq!(n("2001:db8::2"), "2001:db8::2/128");
        assert_eq!(n("93.184.216.34/24"), "93.184.216.34/24");
        assert_eq!(n("0.0.0.0/0"), "0.0.0.0/0");
        assert_eq!(n("::/0"), "::/0");
        assert_eq!(n("::ffff:192.0.2.1"), "::ffff:192.0.2.1/128");
        assert_eq!(n("10.0.0.0/0"), "10.0.0.0/0");
    }

    #[test]
    fn rejects_what_ipnet_accepts() {
        assert!("010.0.0.0/8".parse::<IpNet>().is_ok(), "ipnet accepts leading zeros");
        assert_eq!(code("010.0.0.0/8"), Code::IpLeadingZero);
        assert_eq!(code("010.0.0.1"), Code::IpLeadingZero);
        assert_eq!(code("10.0.0.0/08"), Code::IpLeadingZero);
        assert_eq!(code("10.0.0.0/00"), Code::IpLeadingZero);
    }

    #[test]
    fn names_each_mistake() {
        assert_eq!(code("87.116.349.35"), Code::InvalidIp);
        assert_eq!(code("10.0.0.0/33"), Code::IpPrefixTooLong);
        assert_eq!(code("2001:db8::/129"), Code::IpPrefixTooLong);
        assert_eq!(code("10.0.0.0/999999999999"), Code::IpPrefixTooLong);
        assert_eq!(code(" 10.0.0.0/8"), Code::IpWhitespace);
        assert_eq!(code("10.0.0.0/8\n"), Code::IpWhitespace);
        assert_eq!(code("192.168.0.0/16 203.0.113.35/32"), Code::IpMissingComma);
        assert_eq!(code("1.2.3.4,5.6.7.8"), Code::IpMissingComma);
        assert_eq!(code("fe80::1%eth0"), Code::IpZoneId);
        assert_eq!(code("fe80::%eth0/64"), Code::IpZoneId);
        assert_eq!(code(""), Code::IpEmpty);
        assert_eq!(code("  "), Code::IpEmpty);
        assert_eq!(code("1.2.3"), Code::InvalidIp);
        assert_eq!(code("1.2.3.4.5"), Code::InvalidIp);
        assert_eq!(code("1.2.3.4/"), Code::InvalidIp);
        assert_eq!(code("1.2.3.4/a"), Code::InvalidIp);
        assert_eq!(code("1.2.3.4/8/8"), Code::InvalidIp);
        assert_eq!(code("/8"), Code::InvalidIp);
        assert_eq!(code(&"1".repeat(1 << 20)), Code::InvalidIp);
        assert!(parse_entry(&"1".repeat(1 << 20)).unwrap_err().message.len() < 120);
        assert_eq!(code("gggg::1"), Code::InvalidIp);
        assert_eq!(code("::ffff:010.0.0.1"), Code::IpLeadingZero);
        assert_eq!(code("localhost"), Code::InvalidIp);
        assert_eq!(code("+1.2.3.4"), Code::InvalidIp);
    }

    #[test]
    fn points_at_the_bad_part() {
        let e = parse_entry("87.116.349.35").unwrap_err();
        assert_eq!(e.part, Some((7, 10)));
        let e = parse_entry("10.0.0.0/33").unwrap_err();
        assert_eq!(e.part, Some((9, 11)));
        let e = parse_entry("010.0.0.0/8").unwrap_err();
        assert_eq!(e.help.as_deref(), Some("write \"10.0.0.0/8\" if decimal was meant"));
    }

    #[test]
    fn helps_with_fixable_values() {
        assert_eq!(parse_entry(" 1.2.3.4").unwrap_err().help.as_deref(), Some("write \"1.2.3.4\""));
        assert_eq!(
            parse_entry("fe80::1%eth0").unwrap_err().help.as_deref(),
            Some("write \"fe80::1\"")
        );
        assert_eq!(
            parse_entry("192.168.0.0/16 203.0.113.35/32").unwrap_err().help.as_deref(),
            Some("write one entry per string: \"192.168.0.0/16\", \"203.0.113.35/32\"")
        );
    }

    #[test]
    fn non_routable_ranges() {
        let nr = |s: &str| non_routable(&parse_entry(s).unwrap()).is_some();
        assert!(nr("127.0.0.1"));
        assert!(nr("10.1.0.0/16"));
        assert!(nr("2001:db8::1"));
        assert!(nr("fe80::/64"));
        assert!(nr("::5db8:d822"));
        assert!(!nr("8.8.8.8"));
        assert!(!nr("0.0.0.0/0"), "a /0 is not inside a special block");
        assert!(!nr("2606:4700::/32"));
    }
}
