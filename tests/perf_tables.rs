//! The compiled tables against the reference evaluator on the generated
//! benchmark inputs (benches/support/inputs.rs), at a smaller size: rule
//! documents of 2 000 networks picked from the embedded GeoIP database,
//! 20 000 viewers sampled from its networks, and every range boundary of the
//! compiled tables (the crate docs, docs/performance.md).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use accessrules::{check, reference, CountryCode, GeoDatabase, Matcher, Options, RuleSet, Viewer};
use maxminddb_writer::metadata::IpVersion;

#[path = "../benches/support/inputs.rs"]
mod inputs;

const NETWORKS: usize = 2_000;
const VIEWERS: usize = 20_000;

fn rules_of(json: &str) -> RuleSet {
    check(json.as_bytes(), &Options::without_clock())
        .rule_set()
        .cloned()
        .expect("generated rules valid")
}

/// Every third viewer has a given country (so that country rules decide
/// for some).
fn with_countries(ips: &[IpAddr]) -> Vec<Viewer> {
    ips.iter()
        .enumerate()
        .map(|(i, &ip)| {
            let c = (i % 3 == 0).then(|| inputs::SOME_COUNTRIES[i / 3 % 8]);
            Viewer::new(ip, c.and_then(CountryCode::new))
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
    let m = Matcher::new(&rules).unwrap();
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
        assert!(
            expected.iter().any(|d| d.rule == Some(accessrules::RuleId::new(r))),
            "rule {r} never decides"
        );
    }
}

#[test]
fn compiled_tables_agree_with_reference_on_generated_inputs() {
    let db = inputs::nets_only(&inputs::database_networks());
    for (country_rule, seed) in [(false, inputs::SEED), (true, inputs::SEED + 1)] {
        check_document(&db, inputs::LargeDoc { networks: NETWORKS, country_rule, seed });
    }
}

/// Addresses around the edges of the address space and of the IPv4 tree's
/// aliases in an IPv6 database.
fn edge_addresses() -> Vec<IpAddr> {
    [
        "0.0.0.0",
        "255.255.255.255",
        "::",
        "::1",
        "::ffff:8.8.8.8",
        "::8.8.8.8",
        "2002:808:808::1",
        "2001:0:808:808::",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect()
}

#[test]
fn batch_resolution_agrees_with_one_by_one() {
    let db = inputs::nets_only(&inputs::database_networks());
    let geo = GeoDatabase::embedded().unwrap();
    let mut ips = inputs::sample_viewers(&db, VIEWERS, inputs::SEED);
    // Mapped forms and edges, at every position of a wave.
    let mapped: Vec<IpAddr> = ips
        .iter()
        .take(100)
        .filter_map(|ip| match ip {
            IpAddr::V4(v4) => Some(IpAddr::V6(v4.to_ipv6_mapped())),
            IpAddr::V6(_) => None,
        })
        .collect();
    ips.extend(mapped);
    for k in 0..40 {
        ips.extend(edge_addresses().into_iter().skip(k % 9));
    }
    let mut batch = vec![None; 3];
    geo.resolve_batch(&ips, &mut batch);
    let single: Vec<_> = ips.iter().map(|&ip| geo.resolve(ip)).collect();
    assert_eq!(batch[3..], single[..]);
    assert!(single.iter().filter(|c| c.is_some()).count() > VIEWERS / 2);
}

#[test]
fn batch_resolution_in_an_ipv4_only_database() {
    let mut w = maxminddb_writer::Database::default();
    w.metadata.ip_version = IpVersion::V4;
    w.metadata.binary_format_major_version = 2;
    w.metadata.database_type = "accessrules-test".into();
    let de = w.insert_value(serde_json::json!({"country_code": "DE"})).unwrap();
    let net: maxminddb_writer::paths::IpAddrWithMask = "8.8.8.0/24".parse().unwrap();
    w.insert_node(net, de);
    let geo = GeoDatabase::from_bytes(w.write_to(Vec::new()).unwrap()).unwrap();
    let ips: Vec<IpAddr> =
        ["8.8.8.8", "2001:db8::1", "::ffff:8.8.8.9", "9.9.9.9", "8.8.8.255", "::1"]
            .iter()
            .cycle()
            .take(100)
            .map(|s| s.parse().unwrap())
            .collect();
    let mut batch = Vec::new();
    geo.resolve_batch(&ips, &mut batch);
    let single: Vec<_> = ips.iter().map(|&ip| geo.resolve(ip)).collect();
    assert_eq!(batch, single);
    assert_eq!(batch[..3], [CountryCode::new("DE"), None, CountryCode::new("DE")]);
}
