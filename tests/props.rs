//! Property tests: the compiled matcher decides exactly as the reference
//! evaluator (fuzz/README.md), and validation's findings hold against it.
//!
//! `PROPTEST_CASES=20000 cargo test --release --test main props` runs many
//! more cases than the default.

use std::net::{IpAddr, Ipv4Addr};

use accessrules::{reference, CountryCode, Matcher, RuleKind, RuleSet, Viewer};
use ipnet::IpNet;
use proptest::prelude::*;

use crate::strategies::{country_in, network, rule_from, rule_set_from};

const COUNTRIES: &[&str] = &["US", "GB", "DE", "MX", "CN"];

fn rule_set() -> impl Strategy<Value = RuleSet> {
    rule_set_from(rule_from(network(), country_in(COUNTRIES), 6), 0..=5)
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
