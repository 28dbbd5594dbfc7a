//! GeoIP drift (`geoip_drift`, `diff --geoip-new`): which addresses a
//! database update decides differently, held to per-address decisions.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use accessrules::{geoip_drift, GeoDatabase, Matcher, RuleSet};
use proptest::prelude::*;

fn docs_example() -> RuleSet {
    RuleSet::from_json(include_bytes!("../examples/docs-example.json")).unwrap()
}

fn small_db() -> GeoDatabase {
    GeoDatabase::open("tests/data/geoip/geoip2-v6.mmdb").unwrap()
}

#[test]
fn the_same_database_changes_nothing() {
    let rules = docs_example();
    let db = small_db();
    let d = geoip_drift(&rules, &db, &rules, &db).unwrap();
    assert!(d.equivalent && d.changes.is_empty());
}

#[test]
fn witnesses_change_and_sizes_fit_the_lines() {
    let rules = docs_example();
    let (old, new) = (small_db(), GeoDatabase::embedded().unwrap());
    let d = geoip_drift(&rules, &old, &rules, &new).unwrap();
    assert!(!d.equivalent);
    let m = Matcher::new(&rules).unwrap();
    let total_v4: u64 = d.changes.iter().map(|c| c.ipv4_addresses).sum();
    assert!(total_v4 > 0 && total_v4 <= 1 << 32);
    for c in &d.changes {
        assert_ne!(c.from.action, c.to.action);
        let w = c.witness;
        assert_eq!(old.resolve(w.ip), w.old_country);
        assert_eq!(new.resolve(w.ip), w.new_country);
        assert_eq!(m.decide_with(w.ip, &old).unwrap(), c.from, "{w:?}");
        assert_eq!(m.decide_with(w.ip, &new).unwrap(), c.to, "{w:?}");
        assert!(!c.networks.is_empty() && c.networks[0].contains(&w.ip));
        assert!(c.networks.len() <= 16);
    }
}

proptest! {
    #![proptest_config(crate::strategies::config(64))]

    /// Every address decided differently by the two databases has its
    /// transition reported, and no transition is reported that no address has.
    #[test]
    fn every_changed_address_has_its_transition(v4 in proptest::collection::vec(any::<u32>(), 200), v6 in proptest::collection::vec(any::<u128>(), 50)) {
        let rules = docs_example();
        let (old, new) = (small_db(), GeoDatabase::embedded().unwrap());
        let d = geoip_drift(&rules, &old, &rules, &new).unwrap();
        let m = Matcher::new(&rules).unwrap();
        let ips = v4.iter().map(|&a| IpAddr::V4(Ipv4Addr::from(a)))
            .chain(v6.iter().map(|&a| IpAddr::V6(Ipv6Addr::from(a))))
            .chain(d.changes.iter().map(|c| c.witness.ip));
        for ip in ips {
            let (a, b) = (m.decide_with(ip, &old).unwrap(), m.decide_with(ip, &new).unwrap());
            if a.action != b.action {
                prop_assert!(d.changes.iter().any(|c| c.from == a && c.to == b), "{ip}: {a} -> {b}");
            }
        }
    }
}
