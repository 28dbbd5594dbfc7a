//! Entry repairs (issue 10, part 2): every help for a malformed `ip` entry
//! proposes what the author meant, and applying it validates clean and
//! keeps the author's intent (the same addresses).

use std::net::Ipv4Addr;

use accessrules::{check, Code, Options, Validation};
use ipnet::{IpNet, Ipv4Net};
use proptest::prelude::*;

use crate::strategies::config;

fn entry(e: &str) -> Validation {
    let doc = serde_json::json!([{"type": "ip.src", "ip": [e], "action": "allow"}, {"type": "any", "action": "block"}]);
    check(doc.to_string().as_bytes(), &Options::without_clock())
}

fn first(e: &str) -> (Code, Option<String>) {
    let v = entry(e);
    let d = v
        .diagnostics()
        .iter()
        .find(|d| d.path() == "/0/ip/0")
        .unwrap_or_else(|| panic!("{e}: {:?}", v.diagnostics()));
    (d.code, d.help.clone())
}

/// The entries a help proposes (`write "a"` or `write …: "a", "b"`).
fn proposed(help: &str) -> Vec<String> {
    help.split('"').skip(1).step_by(2).map(str::to_owned).collect()
}

/// Applies a help: the rule's entry replaced by the proposed entries.
fn applied(help: &str) -> Validation {
    let doc = serde_json::json!([{"type": "ip.src", "ip": proposed(help), "action": "allow"}, {"type": "any", "action": "block"}]);
    check(doc.to_string().as_bytes(), &Options::without_clock())
}

#[test]
fn every_form_of_a_malformed_entry() {
    let table: &[(&str, Code, Option<&[&str]>)] = &[
        ("198.51.100.0 /24", Code::IpWhitespace, Some(&["198.51.100.0/24"])),
        ("2001:db8:: /48", Code::IpWhitespace, Some(&["2001:db8::/48"])),
        ("198.51.100.0/ 24", Code::IpWhitespace, Some(&["198.51.100.0/24"])),
        ("198.51.100.0 / 24", Code::IpWhitespace, Some(&["198.51.100.0/24"])),
        (" 198.51.100.0/24", Code::IpWhitespace, Some(&["198.51.100.0/24"])),
        (
            "198.51.100.0/24 203.0.113.0/24",
            Code::IpMissingComma,
            Some(&["198.51.100.0/24", "203.0.113.0/24"]),
        ),
        ("198.51.100.0 255.255.255.0", Code::IpNetmask, Some(&["198.51.100.0/24"])),
        ("198.51.100.0/255.255.255.0", Code::IpNetmask, Some(&["198.51.100.0/24"])),
        ("198.51.100.0 0.0.0.255", Code::IpNetmask, Some(&["198.51.100.0/24"])),
        ("198.51.100.7 255.255.255.128", Code::IpNetmask, Some(&["198.51.100.0/25"])),
        ("10.0.0.0 255.0.0.0", Code::IpNetmask, Some(&["10.0.0.0/8"])),
        ("198.51.100.0 255.0.255.0", Code::IpNetmask, None),
        ("198.51.100.0 0.255.0.255", Code::IpNetmask, None),
        ("198.51.100.0 255.255.255.255", Code::IpNetmask, None),
        (
            "198.51.100.10-198.51.100.20",
            Code::IpRange,
            Some(&["198.51.100.10/31", "198.51.100.12/30", "198.51.100.16/30", "198.51.100.20"]),
        ),
        ("198.51.100.0 - 198.51.100.255", Code::IpRange, Some(&["198.51.100.0/24"])),
        ("2001:db8::-2001:db8::ffff", Code::IpRange, Some(&["2001:db8::/112"])),
        ("198.51.100.20-198.51.100.10", Code::IpRange, None),
        ("198.51.100.1-2001:db8::1", Code::IpRange, None),
    ];
    for (written, code, help) in table {
        let (got, got_help) = first(written);
        assert_eq!(got, *code, "{written}");
        let got_entries = got_help.as_deref().map(proposed);
        let want = help.map(|h| h.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(got_entries, want, "{written}: {got_help:?}");
        if let Some(h) = got_help {
            let again = applied(&h);
            assert!(again.is_valid(), "{written}: help {h} gives {:?}", again.diagnostics());
        }
    }
}

#[test]
fn ipv4_embedding_entries_warn_and_are_not_ipv6_coverage() {
    for e in
        ["64:ff9b::/96", "64:ff9b::c633:6400/120", "2002::/16", "2002:c633:6400::/40", "2001::/32"]
    {
        let (code, _) = first(e);
        assert_eq!(code, Code::Ipv4EmbeddingEntry, "{e}");
    }
    let doc = r#"[{"type":"ip.src","ip":["198.51.100.0/24","64:ff9b::c633:6400/120","2002:c633:6400::/40"],"action":"allow"},{"type":"any","action":"block"}]"#;
    let v = check(doc.as_bytes(), &Options::without_clock());
    assert!(
        v.diagnostics().iter().any(|d| d.code == Code::SingleFamilyAllowList && d.path() == "/0"),
        "{:?}",
        v.diagnostics()
    );
    // A native IPv6 network is coverage.
    let doc = r#"[{"type":"ip.src","ip":["93.184.216.0/24","2606:2800:220::/48"],"action":"allow"},{"type":"any","action":"block"}]"#;
    let v = check(doc.as_bytes(), &Options::without_clock());
    assert!(!v.diagnostics().iter().any(|d| d.code == Code::SingleFamilyAllowList));
}

fn cover_of(help: &str) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = proposed(help)
        .iter()
        .map(|p| {
            let n: IpNet =
                p.parse().or_else(|_| p.parse::<std::net::IpAddr>().map(IpNet::from)).unwrap();
            let IpNet::V4(n) = n else { panic!() };
            (u32::from(n.network()), u32::from(n.broadcast()))
        })
        .collect();
    out.sort();
    out
}

proptest! {
    #![proptest_config(config(256))]

    /// A range's help is a list of networks that covers exactly the range,
    /// no fewer entries possible (each block maximal), and validates clean.
    #[test]
    fn a_range_help_covers_exactly_the_range(a in any::<u32>(), b in any::<u32>()) {
        let (lo, hi) = (a.min(b), a.max(b));
        let written = format!("{}-{}", Ipv4Addr::from(lo), Ipv4Addr::from(hi));
        let (code, help) = first(&written);
        prop_assert_eq!(code, Code::IpRange);
        let help = help.unwrap();
        let cover = cover_of(&help);
        // Contiguous, from lo to hi, each block maximal (its parent leaves the range).
        prop_assert_eq!(cover.first().unwrap().0, lo);
        prop_assert_eq!(cover.last().unwrap().1, hi);
        for w in cover.windows(2) {
            prop_assert_eq!(w[0].1 + 1, w[1].0);
        }
        for &(s, e) in &cover {
            let size = u64::from(e - s) + 1;
            if size < 1 << 32 {
                let parent = Ipv4Net::new(Ipv4Addr::from(s), 32 - size.trailing_zeros() as u8 - 1).unwrap().trunc();
                let (ps, pe) = (u32::from(parent.network()), u32::from(parent.broadcast()));
                prop_assert!(ps < lo || pe > hi, "block {s}-{e} could be its parent");
            }
        }
        // Applying it: no error (warnings such as non-routable may remain).
        prop_assert_eq!(applied(&help).error_count(), 0);
    }

    /// An address with any contiguous netmask or wildcard mask gets the
    /// network it means.
    #[test]
    fn a_mask_help_is_the_network_meant(addr in any::<u32>(), prefix in 1u8..32, wildcard: bool, slash: bool) {
        let mask = u32::MAX << (32 - prefix);
        let written_mask = if wildcard { !mask } else { mask };
        let sep = if slash { "/" } else { " " };
        let written = format!("{}{sep}{}", Ipv4Addr::from(addr), Ipv4Addr::from(written_mask));
        let (code, help) = first(&written);
        prop_assert_eq!(code, Code::IpNetmask);
        let want = Ipv4Net::new(Ipv4Addr::from(addr), prefix).unwrap().trunc();
        prop_assert_eq!(proposed(&help.unwrap()), vec![want.to_string()]);
    }

    /// White space anywhere inside one network: the joined value.
    #[test]
    fn whitespace_inside_one_network(addr in any::<u32>(), prefix in 0u8..=32, at in 0usize..20) {
        let net = Ipv4Net::new(Ipv4Addr::from(addr), prefix).unwrap().trunc().to_string();
        let at = at.min(net.len());
        let written = format!("{} {}", &net[..at], &net[at..]);
        let (code, help) = first(&written);
        // Whole pieces on both sides (at a dot boundary both are numbers)
        // may read as two values or a mask; inside a number it is white space.
        if code == Code::IpWhitespace {
            prop_assert_eq!(proposed(&help.unwrap()), vec![net.clone()]);
        } else {
            prop_assert!(matches!(code, Code::IpMissingComma | Code::IpNetmask | Code::InvalidIp), "{} {:?}", written, code);
        }
    }
}
