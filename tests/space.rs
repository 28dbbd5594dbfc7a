//! Property tests for `accessrules::internals::space`: the exact analyses against the
//! reference evaluator (docs/semantics.md, docs/diagnostics.md), and `IntervalSet` against a naive model.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use accessrules::internals::space::{
    decides_for, dedup_countries, differences, equivalent, merge_entries, never_decides, redundant,
    AddressInt, IntervalSet, IpSet, RuleSpace,
};
use accessrules::reference::{evaluate, rule_matches};
use accessrules::{CountryCode, Rule, RuleId, RuleKind, RuleSet, Viewer};
use ipnet::IpNet;
use proptest::prelude::*;

use crate::strategies::{country_in, rule_from, rule_set_from};

/// Related networks: nested, adjacent, host bits set, both families, /0,
/// single hosts, the IPv4-mapped block and a mapped entry.
const NETS: &[&str] = &[
    "0.0.0.0/0",
    "0.0.0.0/1",
    "128.0.0.0/1",
    "10.0.0.0/8",
    "11.0.0.0/8",
    "10.0.0.0/9",
    "10.128.0.0/9",
    "10.1.0.0/16",
    "10.1.2.0/24",
    "10.1.2.3/32",
    "10.1.2.4/30",
    "10.1.2.77/24",
    "192.0.2.0/24",
    "192.0.2.0/25",
    "192.0.2.128/25",
    "0.0.0.0/32",
    "255.255.255.255/32",
    "::/0",
    "::/1",
    "8000::/1",
    "2001:db8::/32",
    "2001:db8::/33",
    "2001:db8:8000::/33",
    "2001:db8::1/128",
    "2001:db8::77/64",
    "::1/128",
    "::/128",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
    "::ffff:0:0/96",
    "::ffff:0:0/95",
    "::ffff:10.1.2.3/128",
    "::a01:203/128",
];

const CODES: &[&str] = &["US", "DE", "GB", "FR", "AA", "ZZ"];

fn nets() -> Vec<IpNet> {
    NETS.iter().map(|s| s.parse().unwrap()).collect()
}

fn code(s: &str) -> CountryCode {
    CountryCode::new(s).unwrap()
}

pub fn rule_set() -> impl Strategy<Value = RuleSet> {
    let ip = proptest::sample::select(nets());
    rule_set_from(rule_from(ip, country_in(CODES), 4), 1..=5)
}

/// Addresses near the pool's boundaries: first/last address of each network
/// and one step outside, plus the mapped forms of the IPv4 ones.
fn boundary_ips() -> Vec<IpAddr> {
    let mut out = Vec::new();
    for n in nets() {
        match n {
            IpNet::V4(n) => {
                let (lo, hi) = (u32::from(n.network()), u32::from(n.broadcast()));
                for a in [lo, hi, lo.wrapping_sub(1), hi.wrapping_add(1)] {
                    out.push(IpAddr::V4(Ipv4Addr::from(a)));
                    out.push(IpAddr::V6(Ipv4Addr::from(a).to_ipv6_mapped()));
                }
            }
            IpNet::V6(n) => {
                let (lo, hi) = (u128::from(n.network()), u128::from(n.broadcast()));
                for a in [lo, hi, lo.wrapping_sub(1), hi.wrapping_add(1)] {
                    out.push(IpAddr::V6(Ipv6Addr::from(a)));
                }
            }
        }
    }
    out
}

pub fn viewer() -> impl Strategy<Value = Viewer> {
    let ip = prop_oneof![
        4 => proptest::sample::select(boundary_ips()),
        1 => any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        1 => any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        1 => any::<u32>().prop_map(|a| IpAddr::V6(Ipv4Addr::from(a).to_ipv6_mapped())),
    ];
    let country = prop_oneof![
        2 => Just(None),
        4 => proptest::sample::select(CODES).prop_map(|c| Some(code(c))),
        1 => (0usize..676).prop_map(CountryCode::from_index),
    ];
    (ip, country).prop_map(|(ip, c)| Viewer::new(ip, c))
}

pub fn viewers() -> impl Strategy<Value = Vec<Viewer>> {
    proptest::collection::vec(viewer(), 48)
}

fn without(rules: &RuleSet, i: usize) -> RuleSet {
    let mut r = rules.clone();
    r.rules.remove(i);
    r
}

/// Random viewers plus every atom witness of the rule set's partition.
fn probes(rules: &RuleSet, random: &[Viewer]) -> Vec<Viewer> {
    let space = RuleSpace::new(rules);
    random.iter().copied().chain(space.atoms().map(|a| a.witness())).collect()
}

fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    /// The partition agrees with the reference: matching masks and decisions.
    #[test]
    fn partition_matches_reference(rules in rule_set(), vs in viewers()) {
        let space = RuleSpace::new(&rules);
        for v in probes(&rules, &vs) {
            let m = space.matching(&v);
            for (i, r) in rules.rules.iter().enumerate() {
                prop_assert_eq!(m >> i & 1 == 1, rule_matches(r, &v), "rule {} viewer {:?}", i, v);
            }
            prop_assert_eq!(space.decide(m), evaluate(&rules, &v));
        }
        for atom in space.atoms() {
            prop_assert_eq!(space.matching(&atom.witness()), atom.matching());
        }
    }

    /// (a) never-deciding rules never decide, and the responsible rules
    /// decide instead; (b) otherwise a witness is decided by the rule.
    #[test]
    fn never_decides_is_exact(rules in rule_set(), vs in viewers()) {
        for i in 0..rules.rules.len() {
            match never_decides(&rules, i) {
                Some(responsible) => {
                    prop_assert!(responsible.iter().all(|&j| j < i));
                    prop_assert_eq!(decides_for(&rules, i), None);
                    for v in probes(&rules, &vs) {
                        let d = evaluate(&rules, &v);
                        prop_assert_ne!(d.rule, Some(RuleId::new(i)), "viewer {:?}", v);
                        if rule_matches(&rules.rules[i], &v) {
                            prop_assert!(responsible.contains(&d.rule.unwrap().index()));
                        }
                    }
                }
                None => {
                    let w = decides_for(&rules, i);
                    prop_assert!(w.is_some());
                    prop_assert_eq!(evaluate(&rules, &w.unwrap()).rule, Some(RuleId::new(i)));
                }
            }
        }
    }

    /// (c) redundant rules can be removed without changing any action;
    /// non-redundant deciding rules cannot.
    #[test]
    fn redundant_is_exact(rules in rule_set(), vs in viewers()) {
        for i in 0..rules.rules.len() {
            let smaller = without(&rules, i);
            let never = never_decides(&rules, i).is_some();
            match redundant(&rules, i) {
                Some(takeover) => {
                    prop_assert!(!never, "never-deciding rules are not also redundant");
                    prop_assert!(takeover.iter().all(|&j| j > i));
                    for v in probes(&rules, &vs).into_iter().chain(probes(&smaller, &vs)) {
                        let before = evaluate(&rules, &v);
                        let after = evaluate(&smaller, &v);
                        prop_assert_eq!(before.action, after.action, "viewer {:?}", v);
                        if before.rule == Some(RuleId::new(i)) {
                            // Index in the full list of the rule deciding now.
                            if let Some(j) = after.rule {
                                prop_assert!(takeover.contains(&(j.index() + 1)));
                            }
                        }
                    }
                    prop_assert_eq!(equivalent(&rules, &smaller), Ok(()));
                }
                None if !never => {
                    let w = equivalent(&rules, &smaller);
                    prop_assert!(w.is_err(), "rule {} removable but not reported", i);
                    let w = w.unwrap_err();
                    prop_assert_ne!(evaluate(&rules, &w).action, evaluate(&smaller, &w).action);
                }
                None => prop_assert_eq!(equivalent(&rules, &smaller), Ok(())),
            }
        }
    }

    /// (d) merging entries is exact; a reported difference is real; `Ok`
    /// agrees with random viewers.
    #[test]
    fn equivalence_is_exact(a in rule_set(), b in rule_set(), vs in viewers()) {
        let merged = RuleSet::new(a.rules.iter().map(|r| {
            let kind = match &r.kind {
                RuleKind::IpSrc(n) => RuleKind::IpSrc(merge_entries(n)),
                RuleKind::Country(c) => RuleKind::Country(dedup_countries(c)),
                other => other.clone(),
            };
            Rule { kind, action: r.action }
        }).collect());
        prop_assert_eq!(equivalent(&a, &merged), Ok(()));
        prop_assert!(differences(&a, &merged).is_empty());

        let diffs = differences(&a, &b);
        match equivalent(&a, &b) {
            Ok(()) => {
                prop_assert!(diffs.is_empty());
                for v in probes(&a, &vs).into_iter().chain(probes(&b, &vs)) {
                    prop_assert_eq!(evaluate(&a, &v).action, evaluate(&b, &v).action);
                }
            }
            Err(w) => {
                prop_assert_ne!(evaluate(&a, &w).action, evaluate(&b, &w).action);
                prop_assert!(!diffs.is_empty());
                for d in diffs {
                    prop_assert_eq!(evaluate(&a, &d.viewer), d.a);
                    prop_assert_eq!(evaluate(&b, &d.viewer), d.b);
                }
            }
        }
    }

    /// `merge_entries` matches exactly the same addresses and is minimal.
    #[test]
    fn merge_entries_is_exact(entries in proptest::collection::vec(proptest::sample::select(nets()), 0..6)) {
        let merged = merge_entries(&entries);
        prop_assert_eq!(IpSet::from_networks(&merged), IpSet::from_networks(&entries));
        prop_assert_eq!(merge_entries(&merged), merged.clone());
        for n in &merged {
            prop_assert_eq!(n.trunc(), *n);
        }
        for ip in boundary_ips() {
            let ip = accessrules::canonical_ip(ip);
            prop_assert_eq!(
                merged.iter().any(|n| n.contains(&ip)),
                entries.iter().any(|n| n.contains(&ip))
            );
        }
    }
}

// --- IntervalSet against a BTreeSet<u8> model -------------------------------

fn model(s: &IntervalSet<u8>) -> BTreeSet<u8> {
    s.ranges().iter().flat_map(|&(lo, hi)| lo..=hi).collect()
}

fn canonical<T: AddressInt>(s: &IntervalSet<T>) -> bool {
    s.ranges().iter().all(|(lo, hi)| lo <= hi)
        && s.ranges().windows(2).all(|w| w[0].1.checked_succ().is_some_and(|n| n < w[1].0))
}

fn ranges_u8() -> impl Strategy<Value = Vec<(u8, u8)>> {
    // Small clustered ranges hit adjacency and overlap; wide ones hit edges.
    let point = prop_oneof![3 => 0u8..24, 1 => any::<u8>(), 1 => 250u8..=255];
    proptest::collection::vec((point.clone(), point), 0..6)
}

fn from_model(v: &[(u8, u8)]) -> BTreeSet<u8> {
    v.iter().flat_map(|&(lo, hi)| lo..=hi).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn interval_set_matches_model(a in ranges_u8(), b in ranges_u8(), x in any::<u8>(), ins in (any::<u8>(), any::<u8>())) {
        let (sa, sb) = (IntervalSet::from_ranges(a.clone()), IntervalSet::from_ranges(b.clone()));
        let (ma, mb) = (from_model(&a), from_model(&b));
        let all: BTreeSet<u8> = (0..=255).collect();
        prop_assert!(canonical(&sa) && canonical(&sb));
        prop_assert_eq!(model(&sa), ma.clone());

        let u = sa.union(&sb);
        let i = sa.intersection(&sb);
        let d = sa.difference(&sb);
        let c = sa.complement();
        for s in [&u, &i, &d, &c] {
            prop_assert!(canonical(s));
        }
        prop_assert_eq!(model(&u), ma.union(&mb).copied().collect::<BTreeSet<_>>());
        prop_assert_eq!(model(&i), ma.intersection(&mb).copied().collect::<BTreeSet<_>>());
        prop_assert_eq!(model(&d), ma.difference(&mb).copied().collect::<BTreeSet<_>>());
        prop_assert_eq!(model(&c), all.difference(&ma).copied().collect::<BTreeSet<_>>());
        prop_assert_eq!(sa.contains(x), ma.contains(&x));
        prop_assert_eq!(sa.is_subset(&sb), ma.is_subset(&mb));
        prop_assert_eq!(sa.intersects(&sb), !ma.is_disjoint(&mb));
        prop_assert_eq!(sa.is_empty(), ma.is_empty());
        prop_assert_eq!(sa.is_full(), ma.len() == 256);
        prop_assert_eq!(sa.min(), ma.first().copied());
        prop_assert_eq!(sa.max(), ma.last().copied());

        let mut si = sa.clone();
        si.insert(ins.0, ins.1);
        prop_assert!(canonical(&si));
        let mut mi = ma.clone();
        if ins.0 <= ins.1 {
            mi.extend(ins.0..=ins.1);
        }
        prop_assert_eq!(model(&si), mi);

        // Prefix cover: exact, disjoint, ascending, each block maximal.
        let prefixes = sa.to_prefixes();
        let mut covered = BTreeSet::new();
        let mut last_end: Option<u32> = None;
        for &(start, len) in &prefixes {
            prop_assert!(len <= 8);
            let size = 1u32 << (8 - len);
            prop_assert_eq!(start as u32 % size, 0, "aligned");
            let end = start as u32 + size - 1;
            prop_assert!(last_end.is_none_or(|e| e < start as u32));
            last_end = Some(end);
            covered.extend((start as u32..=end).map(|p| p as u8));
            if len > 0 {
                let psize = size * 2;
                let pstart = start as u32 / psize * psize;
                let parent_inside = (pstart..pstart + psize).all(|p| ma.contains(&(p as u8)));
                prop_assert!(!parent_inside, "block {}/{} not maximal", start, len);
            }
        }
        prop_assert_eq!(covered, ma);
    }

    /// The same ops on `u32` inside a small window near the top and bottom
    /// of the line, and on `u128`, keep their canonical form.
    #[test]
    fn interval_set_wide_types(a in ranges_u8(), b in ranges_u8(), top in any::<bool>()) {
        let lift32 = |v: &[(u8, u8)]| -> IntervalSet<u32> {
            IntervalSet::from_ranges(v.iter().map(|&(l, h)| {
                if top { (u32::MAX - 255 + l as u32, u32::MAX - 255 + h as u32) } else { (l as u32, h as u32) }
            }))
        };
        let lift128 = |v: &[(u8, u8)]| -> IntervalSet<u128> {
            IntervalSet::from_ranges(v.iter().map(|&(l, h)| {
                if top { (u128::MAX - 255 + l as u128, u128::MAX - 255 + h as u128) } else { (l as u128, h as u128) }
            }))
        };
        let (a8, b8) = (IntervalSet::<u8>::from_ranges(a.clone()), IntervalSet::<u8>::from_ranges(b.clone()));
        let (a32, b32) = (lift32(&a), lift32(&b));
        let (a128, b128) = (lift128(&a), lift128(&b));
        let back32 = |s: &IntervalSet<u32>| -> Vec<(u32, u32)> {
            let off = if top { u32::MAX - 255 } else { 0 };
            s.ranges().iter().map(|&(l, h)| (l - off, h - off)).collect()
        };
        let back128 = |s: &IntervalSet<u128>| -> Vec<(u128, u128)> {
            let off = if top { u128::MAX - 255 } else { 0 };
            s.ranges().iter().map(|&(l, h)| (l - off, h - off)).collect()
        };
        let as32 = |s: &IntervalSet<u8>| -> Vec<(u32, u32)> {
            s.ranges().iter().map(|&(l, h)| (l as u32, h as u32)).collect()
        };
        let as128 = |s: &IntervalSet<u8>| -> Vec<(u128, u128)> {
            s.ranges().iter().map(|&(l, h)| (l as u128, h as u128)).collect()
        };
        prop_assert_eq!(back32(&a32.union(&b32)), as32(&a8.union(&b8)));
        prop_assert_eq!(back32(&a32.intersection(&b32)), as32(&a8.intersection(&b8)));
        prop_assert_eq!(back32(&a32.difference(&b32)), as32(&a8.difference(&b8)));
        prop_assert_eq!(back128(&a128.union(&b128)), as128(&a8.union(&b8)));
        prop_assert_eq!(back128(&a128.intersection(&b128)), as128(&a8.intersection(&b8)));
        prop_assert_eq!(back128(&a128.difference(&b128)), as128(&a8.difference(&b8)));
        for s in [a32.complement(), a32.union(&b32)] {
            prop_assert!(canonical(&s));
        }
        for s in [a128.complement(), a128.union(&b128)] {
            prop_assert!(canonical(&s));
        }
        prop_assert_eq!(a32.complement().complement(), a32.clone());
        prop_assert_eq!(a128.complement().complement(), a128.clone());
        prop_assert_eq!(a32.is_subset(&b32), a8.is_subset(&b8));
        prop_assert_eq!(a128.is_subset(&b128), a8.is_subset(&b8));
        // Prefix covers re-read as networks give back the same set.
        let nets: Vec<IpNet> = a32.to_networks().into_iter().chain(a128.to_networks()).collect();
        let back = IpSet::from_networks(&nets);
        prop_assert_eq!(back.v4, a32);
        prop_assert_eq!(back.v6, a128);
    }
}

proptest! {
    #![proptest_config(crate::strategies::config(256))]

    /// `merge_entries` (ipnet's `IpNet::aggregate`, sorted) is exactly the
    /// minimal CIDR cover the interval core computes for the same networks
    /// (`IpSet::to_networks`), IPv4 first, ascending.
    #[test]
    fn merge_entries_is_the_interval_cover(nets in proptest::collection::vec(crate::strategies::network(), 0..12)) {
        prop_assert_eq!(merge_entries(&nets), IpSet::from_networks(&nets).to_networks());
    }
}
