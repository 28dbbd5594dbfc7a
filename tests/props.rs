//! Property tests: the compiled matcher decides exactly as the reference
//! evaluator (fuzz/README.md), and validation's findings hold against it.
//!
//! `PROPTEST_CASES=20000 cargo test --release --test main props` runs many
//! more cases than the default.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use accessrules::{reference, Action, CountryCode, Matcher, Rule, RuleKind, RuleSet, Viewer};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;

const COUNTRIES: &[&str] = &["US", "GB", "DE", "MX", "CN"];

/// Addresses near a few related anchors, so networks nest and touch.
fn v4_anchor() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(u32::MAX),
        Just(0xC000_0200), // 192.0.2.0
        Just(0x5DB8_D800), // 93.184.216.0
        Just(0x0808_0808), // 8.8.8.8
        any::<u32>(),
    ]
}

fn v6_anchor() -> impl Strategy<Value = u128> {
    prop_oneof![
        Just(0u128),
        Just(1u128), // ::1
        Just(u128::MAX),
        Just(0x2001_0db8u128 << 96),
        Just(0xffff_5db8_d822u128), // ::ffff:93.184.216.34
        Just(0x5db8_d822u128),      // ::93.184.216.34 (IPv4-compatible)
        any::<u128>(),
    ]
}

fn network() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (v4_anchor(), 0u8..=32)
            .prop_map(|(a, p)| IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), p).unwrap())),
        (v6_anchor(), prop_oneof![0u8..=128, Just(96u8), Just(128u8), Just(32u8)])
            .prop_map(|(a, p)| IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), p).unwrap())),
    ]
}

fn country() -> impl Strategy<Value = CountryCode> {
    prop::sample::select(COUNTRIES).prop_map(|c| CountryCode::new(c).unwrap())
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![Just(Action::Allow), Just(Action::Block)]
}

fn rule() -> impl Strategy<Value = Rule> {
    prop_oneof![
        1 => action().prop_map(Rule::any),
        4 => (prop::collection::vec(network(), 1..6), action()).prop_map(|(n, a)| Rule::ip_src(n, a)),
        2 => (prop::collection::vec(country(), 1..4), action()).prop_map(|(c, a)| Rule::country(c, a)),
    ]
}

fn rule_set() -> impl Strategy<Value = RuleSet> {
    prop::collection::vec(rule(), 0..=5).prop_map(RuleSet::new)
}

/// Viewers at and around the rules' network boundaries, mapped forms of
/// IPv4 viewers, and random addresses; given or unknown countries.
fn viewers_for(rules: &RuleSet) -> Vec<IpAddr> {
    let mut out = vec![
        IpAddr::from([0, 0, 0, 0]),
        IpAddr::from([255, 255, 255, 255]),
        "::1".parse().unwrap(),
        "::".parse().unwrap(),
    ];
    for r in &rules.rules {
        if let RuleKind::IpSrc(nets) = &r.kind {
            for n in nets {
                match n {
                    IpNet::V4(n) => {
                        let lo = u32::from(n.network());
                        let hi = u32::from(n.broadcast());
                        for a in [
                            lo.wrapping_sub(1),
                            lo,
                            lo.wrapping_add(1),
                            hi.wrapping_sub(1),
                            hi,
                            hi.wrapping_add(1),
                        ] {
                            out.push(IpAddr::V4(a.into()));
                            out.push(IpAddr::V6(Ipv4Addr::from(a).to_ipv6_mapped()));
                        }
                    }
                    IpNet::V6(n) => {
                        let lo = u128::from(n.network());
                        let hi = u128::from(n.broadcast());
                        for a in [
                            lo.wrapping_sub(1),
                            lo,
                            lo.wrapping_add(1),
                            hi.wrapping_sub(1),
                            hi,
                            hi.wrapping_add(1),
                        ] {
                            out.push(IpAddr::V6(a.into()));
                        }
                    }
                }
            }
        }
    }
    out
}

fn check_agree(rules: &RuleSet, extra: &[IpAddr]) -> Result<(), TestCaseError> {
    let m = Matcher::new(rules).unwrap();
    prop_assert!(m.tables_are_canonical());
    let countries: Vec<Option<CountryCode>> = std::iter::once(None)
        .chain(COUNTRIES.iter().map(|c| CountryCode::new(c)))
        .chain([CountryCode::new("FR")])
        .collect();
    for ip in viewers_for(rules).iter().chain(extra) {
        for c in &countries {
            let v = Viewer::new(*ip, *c);
            let compiled = m.decide(&v);
            prop_assert_eq!(compiled, reference::evaluate(rules, &v), "viewer {:?}", v);
            let resolved = m.decide_resolving(*ip, |_| Ok::<_, ()>(*c)).unwrap();
            prop_assert_eq!(resolved, compiled);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn prop_compiled_matches_reference(
        rules in rule_set(),
        v4 in prop::collection::vec(any::<u32>(), 0..8),
        v6 in prop::collection::vec(any::<u128>(), 0..8),
    ) {
        let extra: Vec<IpAddr> = v4.into_iter().map(|a| IpAddr::V4(a.into()))
            .chain(v6.into_iter().map(|a| IpAddr::V6(a.into()))).collect();
        check_agree(&rules, &extra)?;
    }

    #[test]
    fn prop_valid_documents_round_trip_and_compile_the_same(rules in rule_set()) {
        let json = rules.to_json().to_string();
        let v = accessrules::check(json.as_bytes(), &accessrules::Options::without_clock());
        // Generated documents are valid by construction: no error ever.
        prop_assert!(v.is_valid(), "{} -> {:?}", json, v.diagnostics());
        let parsed = v.rule_set().unwrap();
        prop_assert_eq!(parsed, &rules);
    }

    #[test]
    fn prop_fix_decides_the_same(rules in rule_set(), probes in prop::collection::vec(any::<u32>(), 0..16)) {
        let json = rules.to_json().to_string();
        let v = accessrules::check(json.as_bytes(), &accessrules::Options::without_clock());
        let fixed = accessrules::fix(&v).expect("valid documents always get a fix");
        let m = Matcher::new(&fixed.rule_set).unwrap();
        let extra: Vec<IpAddr> = probes.into_iter().map(|a| IpAddr::V4(a.into())).collect();
        for ip in viewers_for(&rules).iter().chain(&extra) {
            for c in [None, CountryCode::new("US"), CountryCode::new("FR")] {
                let viewer = Viewer::new(*ip, c);
                prop_assert_eq!(m.decide(&viewer).action, reference::evaluate(&rules, &viewer).action);
            }
        }
        // The fix is a fixed point: fixing it again changes nothing.
        let again = accessrules::check(fixed.to_json().as_bytes(), &accessrules::Options::without_clock());
        prop_assert_eq!(&accessrules::fix(&again).unwrap().rule_set, &fixed.rule_set);
    }
}
