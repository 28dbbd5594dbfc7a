//! The compiled tables against the reference evaluator on the generated
//! benchmark inputs (benches/support/inputs.rs), at a smaller size: rule
//! documents of 2 000 networks picked from the embedded GeoIP database,
//! 20 000 viewers sampled from its networks, and every range boundary of the
//! compiled tables (SPEC §6, §7).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use accessrules::{check, reference, CountryCode, Matcher, Options, RuleSet, Viewer};

#[path = "../benches/support/inputs.rs"]
mod inputs;

const NETWORKS: usize = 2_000;
const VIEWERS: usize = 20_000;

fn rules_of(json: &str) -> RuleSet {
    check(json.as_bytes(), &Options::default()).rule_set().cloned().expect("generated rules valid")
}

/// Every third viewer has a given country (so that country rules decide
/// for some).
fn with_countries(ips: &[IpAddr]) -> Vec<Viewer> {
    ips.iter()
        .enumerate()
        .map(|(i, &ip)| {
            let c = (i % 3 == 0).then(|| inputs::SOME_COUNTRIES[i / 3 % 8]);
            Viewer::new(ip).with_country(c.and_then(CountryCode::new))
        })
        .collect()
}

/// The addresses around the edges of every compiled range.
fn boundaries(m: &Matcher) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for (lo, hi, _) in m.ipv4_ranges() {
        for a in [lo.checked_sub(1), Some(lo), Some(hi), hi.checked_add(1)].into_iter().flatten() {
            out.push(IpAddr::V4(Ipv4Addr::from(a)));
        }
    }
    for (lo, hi, _) in m.ipv6_ranges() {
        for a in [lo.checked_sub(1), Some(lo), Some(hi), hi.checked_add(1)].into_iter().flatten() {
            out.push(IpAddr::V6(Ipv6Addr::from(a)));
        }
    }
    out
}

fn check_document(db: &[ipnet::IpNet], shape: inputs::LargeDoc) {
    let (json, picked) = inputs::large_rule_document(db, shape);
    let rules = rules_of(&json);
    let m = Matcher::new(&rules);
    assert!(m.tables_are_canonical());
    let (v4, v6) = inputs::family_counts(&picked);
    assert!(v4 > 0 && v6 > 0, "both families: {v4} IPv4, {v6} IPv6");

    let ips = inputs::viewers_for(&picked, db, VIEWERS, shape.seed);
    let mut viewers = with_countries(&ips);
    let edges = boundaries(&m);
    assert!(edges.len() > 2 * NETWORKS, "{} boundary addresses", edges.len());
    viewers.extend(with_countries(&edges));

    let expected: Vec<_> = viewers.iter().map(|v| reference::evaluate(&rules, v)).collect();
    let one_by_one: Vec<_> = viewers.iter().map(|v| m.decide(v)).collect();
    let mut batch = Vec::new();
    m.decide_batch(&viewers, &mut batch);
    for (i, v) in viewers.iter().enumerate() {
        assert_eq!(one_by_one[i], expected[i], "decide: {:?} {:?}", v.ip(), v.country());
        assert_eq!(batch[i], expected[i], "decide_batch: {:?} {:?}", v.ip(), v.country());
    }
    // Every rule decides for some viewer.
    for r in 0..rules.rules.len() {
        assert!(expected.iter().any(|d| d.rule == Some(r)), "rule {r} never decides");
    }
}

#[test]
fn compiled_tables_agree_with_reference_on_generated_inputs() {
    let db = inputs::nets_only(&inputs::database_networks());
    for (country_rule, seed) in [(false, inputs::SEED), (true, inputs::SEED + 1)] {
        check_document(&db, inputs::LargeDoc { networks: NETWORKS, country_rule, seed });
    }
}
