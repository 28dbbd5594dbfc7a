//! The proptest strategies every property suite draws from: addresses near
//! the interesting edges, networks of both families, country codes, actions,
//! rules and rule sets. A suite picks its pools (say, a few related networks
//! so that rules overlap) and composes them with [`rule_from`] and
//! [`rule_set_from`].

use std::net::{Ipv4Addr, Ipv6Addr};

use accessrules::country::{is_assigned, pseudo_code};
use accessrules::{Action, CountryCode, Rule, RuleSet};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;

/// `cases` unless `PROPTEST_CASES` asks for another number.
pub fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(cases);
    ProptestConfig { cases, ..ProptestConfig::default() }
}

pub fn action() -> impl Strategy<Value = Action> {
    prop_oneof![Just(Action::Allow), Just(Action::Block)]
}

/// IPv4 addresses: the edges of the line, a few related anchors (so
/// networks nest and touch), or anywhere.
pub fn v4() -> impl Strategy<Value = u32> {
    prop_oneof![
        any::<u32>(),
        Just(0u32),
        Just(u32::MAX),
        Just(0x7fff_ffff),
        Just(0x8000_0000),
        Just(0xC000_0200), // 192.0.2.0
        Just(0x5DB8_D800), // 93.184.216.0
        Just(0x0808_0808), // 8.8.8.8
        (0u32..4).prop_map(|x| 0x0a00_0000 | x),
    ]
}

/// IPv6 addresses: the edges, `::1`, documentation space, the IPv4-mapped
/// and IPv4-compatible blocks and their neighbours, or anywhere.
pub fn v6() -> impl Strategy<Value = u128> {
    prop_oneof![
        any::<u128>(),
        Just(0u128),
        Just(1u128), // ::1
        Just(u128::MAX),
        Just(1u128 << 127),
        Just(0x2001_0db8u128 << 96),
        any::<u32>().prop_map(|a| 0xffff_0000_0000 | u128::from(a)), // ::ffff:a.b.c.d
        any::<u32>().prop_map(u128::from),                           // ::a.b.c.d
        any::<u32>().prop_map(|a| 0x1_0000_0000_0000 | u128::from(a)),
        any::<u32>().prop_map(|a| 0xfffe_0000_0000 | u128::from(a)),
    ]
}

/// Networks as written in rules: either family, any prefix (hosts and /0
/// included, host bits cleared), and IPv4-mapped IPv6 networks.
pub fn network() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (v4(), 0u8..=32).prop_map(|(a, l)| v4_net(a, l)),
        (v4(), Just(32u8)).prop_map(|(a, l)| v4_net(a, l)),
        (v6(), 0u8..=128).prop_map(|(a, l)| v6_net(a, l)),
        (v6(), prop_oneof![Just(32u8), Just(96u8), Just(128u8)]).prop_map(|(a, l)| v6_net(a, l)),
        (v4(), 96u8..=128)
            .prop_map(|(a, l)| v6_net(u128::from(Ipv4Addr::from(a).to_ipv6_mapped()), l)),
        Just("0.0.0.0/0".parse().unwrap()),
        Just("::/0".parse().unwrap()),
    ]
}

fn v4_net(a: u32, len: u8) -> IpNet {
    IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), len).unwrap().trunc())
}

fn v6_net(a: u128, len: u8) -> IpNet {
    IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), len).unwrap().trunc())
}

/// One of `codes` (upper-case two-letter codes).
pub fn country_in(codes: &'static [&'static str]) -> impl Strategy<Value = CountryCode> {
    prop::sample::select(codes).prop_map(|c| CountryCode::new(c).unwrap())
}

/// A code a valid rule may list: assigned, or a pseudo-code.
pub fn rule_country() -> impl Strategy<Value = CountryCode> {
    (0usize..676).prop_map(|i| {
        (0..676)
            .map(|k| CountryCode::from_index((i + k) % 676).unwrap())
            .find(|c| is_assigned(*c) || pseudo_code(c.as_str()).is_some())
            .unwrap()
    })
}

/// Rules of every type (weights any 1, ip.src 3, country 2), with 1 to
/// `max_entries - 1` entries drawn from `networks` and `countries`.
pub fn rule_from<N, C>(networks: N, countries: C, max_entries: usize) -> impl Strategy<Value = Rule>
where
    N: Strategy<Value = IpNet>,
    C: Strategy<Value = CountryCode>,
{
    prop_oneof![
        1 => action().prop_map(Rule::any),
        3 => (prop::collection::vec(networks, 1..max_entries), action())
            .prop_map(|(n, a)| Rule::ip_src(n, a)),
        2 => (prop::collection::vec(countries, 1..max_entries), action())
            .prop_map(|(c, a)| Rule::country(c, a)),
    ]
}

/// Rule sets of `count` rules drawn from `rule` (a valid document has at
/// most 5).
pub fn rule_set_from(
    rule: impl Strategy<Value = Rule>,
    count: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = RuleSet> {
    prop::collection::vec(rule, count).prop_map(RuleSet::new)
}
