//! Property suites for hostile and odd input (issue 5, fuzz/README.md): the
//! compiled interval tables stay canonical; parse ∘ serialize is the
//! identity on valid documents; validation never panics on arbitrary JSON
//! values and points every finding at a value of the document; viewer
//! canonicalisation converts exactly `::ffff:0:0/96` to IPv4 (`::1` is
//! never `0.0.0.1`).
//!
//! Case counts are modest so `cargo test` stays quick on a 2-core CI
//! machine. For a long run:
//!
//! ```text
//! PROPTEST_CASES=100000 cargo test --release robustness
//! ```
//!
//! (Compiled ≡ reference is in `tests/props.rs`; the fuzz targets in
//! `fuzz/` cover the same ground with coverage guidance.)

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use accessrules::viewer_line::parse_line;
use accessrules::{
    canonical_ip, check, reference, Action, Matcher, Options, Rule, RuleId, RuleKind, RuleSet,
    Viewer,
};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::strategies::{config, network, rule_country, rule_from, rule_set_from, v4, v6};

fn options() -> Options {
    Options::at(1_700_000_000)
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// Valid rule sets: at most 5 rules, every list non-empty.
fn rule_set() -> impl Strategy<Value = RuleSet> {
    rule_set_from(rule_from(network(), rule_country(), 8), 0..=5)
}

/// Strings a rule document might hold, well- or ill-formed.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("any".to_owned()),
        Just("ip.src".to_owned()),
        Just("ip.geoip.country".to_owned()),
        Just("ip.geoip.Country".to_owned()),
        Just("allow".to_owned()),
        Just("block".to_owned()),
        Just("Allow".to_owned()),
        Just("US".to_owned()),
        Just("us".to_owned()),
        Just("UK".to_owned()),
        Just("EU".to_owned()),
        Just("USA".to_owned()),
        Just("".to_owned()),
        Just("010.0.0.1".to_owned()),
        Just("10.0.0.0/08".to_owned()),
        Just("192.168.0.0/16 203.0.113.35/32".to_owned()),
        Just("fe80::1%eth0".to_owned()),
        Just("::ffff:1.2.3.4".to_owned()),
        Just("1700000000".to_owned()),
        network().prop_map(|n| n.to_string()),
        "[ -~]{0,12}",
        any::<String>(),
    ]
}

/// Keys of the document and rule levels, misspellings, and anything.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "type", "action", "ip", "country", "accessRules", "exp", "nbf", "iat", "id", "pem",
            "sub", "kid", "downloadable", "Type", "ips", "countries", "access_rules",
            "AccessRules", "cidr",
        ])
        .prop_map(str::to_owned),
        1 => "[a-zA-Z_]{1,8}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (1_600_000_000i64..1_800_000_000).prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ]
}

/// Arbitrary JSON values biased toward rule documents: nested objects with
/// known keys, arrays of rule-like objects, arrays of strings.
fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..7)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A rule object with some of the expected fields, each of any type.
fn rule_like() -> impl Strategy<Value = Value> {
    (
        prop::option::of(prop_oneof![text().prop_map(Value::String), leaf()]),
        prop::option::of(prop_oneof![text().prop_map(Value::String), leaf()]),
        prop::option::of(prop_oneof![
            prop::collection::vec(text().prop_map(Value::String), 0..5).prop_map(Value::Array),
            value()
        ]),
        prop::option::of(prop_oneof![
            prop::collection::vec(text().prop_map(Value::String), 0..5).prop_map(Value::Array),
            value()
        ]),
        prop::option::of((key(), value())),
    )
        .prop_map(|(t, a, ip, country, extra)| {
            let mut m = Map::new();
            for (k, v) in [("type", t), ("action", a), ("ip", ip), ("country", country)] {
                if let Some(v) = v {
                    m.insert(k.to_owned(), v);
                }
            }
            if let Some((k, v)) = extra {
                m.insert(k, v);
            }
            Value::Object(m)
        })
}

fn rule_list() -> impl Strategy<Value = Value> {
    prop::collection::vec(rule_like(), 0..7).prop_map(Value::Array)
}

fn document() -> impl Strategy<Value = Value> {
    prop_oneof![
        rule_list(),
        (rule_list(), prop::collection::vec((key(), leaf()), 0..5)).prop_map(|(r, fields)| {
            let mut m: Map<String, Value> = fields.into_iter().collect();
            m.insert("accessRules".into(), r);
            Value::Object(m)
        }),
        value(),
    ]
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

/// Sorted, disjoint, non-empty ranges; neighbours that touch go to
/// different rules (else they would have been merged).
fn assert_canonical<T: Copy + Ord + std::fmt::Debug>(ranges: &[(T, T, usize)], next: fn(T) -> T) {
    for &(lo, hi, _) in ranges {
        assert!(lo <= hi, "empty range in {ranges:?}");
    }
    for w in ranges.windows(2) {
        let ((_, hi, r1), (lo, _, r2)) = (w[0], w[1]);
        assert!(hi < lo, "overlapping or unsorted: {w:?}");
        if next(hi) == lo {
            assert_ne!(r1, r2, "adjacent ranges of one rule not merged: {w:?}");
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn interval_tables_stay_canonical(rules in rule_set()) {
        let m = Matcher::new(&rules).unwrap();
        prop_assert!(m.tables_are_canonical());
        let v4 = m.ipv4_ranges();
        let v6 = m.ipv6_ranges();
        assert_canonical(&v4, |x: u32| x.wrapping_add(1));
        assert_canonical(&v6, |x: u128| x.wrapping_add(1));
        // Every range's ends are decided by its rule, as the reference says
        // (for a viewer of unknown country, when no `any` comes first).
        for &(lo, hi, r) in &v4 {
            for a in [lo, hi] {
                let viewer = Viewer::without_country(IpAddr::V4(Ipv4Addr::from(a)));
                let d = reference::evaluate(&rules, &viewer);
                prop_assert!(d.rule.is_some_and(|i| i.index() <= r), "{a} in rule {r}'s range: {d:?}");
            }
        }
        for &(lo, hi, r) in &v6 {
            for a in [lo, hi] {
                let viewer = Viewer::without_country(IpAddr::V6(Ipv6Addr::from(a)));
                // Mapped addresses are viewers of the IPv4 table.
                if viewer.ip().is_ipv6() {
                    let d = reference::evaluate(&rules, &viewer);
                    prop_assert!(d.rule.is_some_and(|i| i.index() <= r), "{a:x} in rule {r}'s range: {d:?}");
                }
            }
        }
    }

    #[test]
    fn parse_of_serialize_is_identity(rules in rule_set(), pretty in any::<bool>(), body in any::<bool>()) {
        let array = rules.to_json();
        let doc = if body { json!({"accessRules": array}) } else { array };
        let text = if pretty {
            serde_json::to_string_pretty(&doc).unwrap()
        } else {
            doc.to_string()
        };
        let v = check(text.as_bytes(), &options());
        let errors: Vec<String> = v.diagnostics().iter().filter(|d| d.is_error()).map(|d| d.to_string()).collect();
        prop_assert!(errors.is_empty(), "{text}: {errors:?}");
        prop_assert_eq!(v.rule_set(), Some(&rules));
        // And once more: serialize what was parsed.
        let again = check(v.rule_set().unwrap().to_json().to_string().as_bytes(), &options());
        prop_assert_eq!(again.rule_set(), Some(&rules));
    }

    #[test]
    fn validate_never_panics_on_arbitrary_json(doc in document(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&doc).unwrap()
        } else {
            doc.to_string()
        };
        let v = check(text.as_bytes(), &options());
        prop_assert_eq!(v.is_valid(), v.error_count() == 0);
        for d in v.diagnostics() {
            // Every finding points at a value of the document (a missing
            // field at the object lacking it), with its line and column.
            prop_assert!(doc.pointer(d.path()).is_some(), "{d} points nowhere in {text}");
            prop_assert!(d.location.line.is_some() && d.location.column.is_some(), "{d}");
            let _ = (d.to_string(), serde_json::to_string(d).unwrap());
        }
        if let Some(rules) = v.rule_set() {
            // Nothing is dropped: as many rules as the document lists.
            let listed = match &doc {
                Value::Array(a) => a.len(),
                Value::Object(m) => m.get("accessRules").and_then(Value::as_array).map_or(0, Vec::len),
                _ => 0,
            };
            prop_assert_eq!(rules.rules.len(), listed);
            for (rule, written) in rules.rules.iter().zip(doc.pointer("/accessRules").or(Some(&doc)).and_then(Value::as_array).into_iter().flatten()) {
                let entries = match (&rule.kind, written) {
                    (RuleKind::IpSrc(n), w) => (n.len(), w["ip"].as_array().map(Vec::len)),
                    (RuleKind::Country(c), w) => (c.len(), w["country"].as_array().map(Vec::len)),
                    (RuleKind::Any, _) => (0, Some(0)),
                    (other, _) => panic!("a rule kind this test does not know: {other:?}"),
                };
                prop_assert_eq!(Some(entries.0), entries.1, "entries dropped from {}", written);
            }
            prop_assert!(Matcher::new(rules).unwrap().tables_are_canonical());
        }
    }

    /// Any clock and any `exp`: no overflow (a panic in debug builds, a
    /// wrong verdict in release ones), and the verdict is the right one:
    /// expired at or before now, too far more than 24 hours after it.
    #[test]
    fn time_checks_hold_for_any_clock(now in any::<i64>(), exp in -99_999_999_999i64..100_000_000_000, nbf in proptest::option::of(any::<i64>())) {
        let body = match nbf {
            Some(nbf) => json!({"exp": exp, "nbf": nbf, "accessRules": [{"type": "any", "action": "block"}]}),
            None => json!({"exp": exp, "accessRules": [{"type": "any", "action": "block"}]}),
        };
        let v = check(body.to_string().as_bytes(), &Options::at(now));
        let has = |code: &str| v.diagnostics().iter().any(|d| d.code.as_str() == code);
        if exp <= now {
            prop_assert!(has("expired"), "exp {exp} now {now}: {:?}", v.diagnostics());
        } else if exp.saturating_sub(now) > 24 * 3600 {
            prop_assert!(has("exp-too-far"), "exp {exp} now {now}: {:?}", v.diagnostics());
        } else {
            prop_assert!(!has("expired") && !has("exp-too-far"));
        }
        for d in v.diagnostics() {
            if let Some(help) = &d.help {
                prop_assert!(!help.contains("e.g. -") || now < 0, "help proposes a wrapped time: {help}");
            }
        }
    }

    #[test]
    fn only_the_mapped_block_becomes_ipv4(a in v6()) {
        // std's `to_canonical`, which `canonical_ip` is, against the rule
        // written out: only `::ffff:0:0/96` becomes IPv4.
        let written = Ipv6Addr::from(a);
        let by_rule = match written.segments() {
            [0, 0, 0, 0, 0, 0xffff, hi, lo] => {
                IpAddr::V4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)))
            }
            _ => IpAddr::V6(written),
        };
        prop_assert_eq!(canonical_ip(IpAddr::V6(written)), by_rule);
        let ip6 = Ipv6Addr::from(a);
        let canonical = canonical_ip(IpAddr::V6(ip6));
        let mapped = a >> 32 == 0xffff;
        match canonical {
            IpAddr::V4(v4) => {
                prop_assert!(mapped, "{ip6} became {v4}");
                prop_assert_eq!(u32::from(v4), a as u32);
            }
            IpAddr::V6(v6) => {
                prop_assert!(!mapped, "{ip6} stayed IPv6");
                prop_assert_eq!(v6, ip6);
            }
        }
        prop_assert_eq!(Viewer::without_country(IpAddr::V6(ip6)).ip(), canonical);
        // The viewer-line reader agrees, in every written form.
        for written in [ip6.to_string(), format!("{ip6},DE"), format!(r#"{{"ip":"{ip6}"}}"#)] {
            let (ip, _) = parse_line(written.as_bytes()).unwrap().unwrap();
            prop_assert_eq!(Viewer::without_country(ip).ip(), canonical, "{}", written);
        }
        // IPv4 addresses are left alone.
        let v4 = IpAddr::V4(Ipv4Addr::from(a as u32));
        prop_assert_eq!(canonical_ip(v4), v4);
    }

    #[test]
    fn a_mapped_viewer_decides_as_its_ipv4_address(rules in rule_set(), a in v4(), cc in prop::option::of(rule_country())) {
        let v4 = Ipv4Addr::from(a);
        let m = Matcher::new(&rules).unwrap();
        let plain = Viewer::new(IpAddr::V4(v4), cc);
        let mapped = Viewer::new(IpAddr::V6(v4.to_ipv6_mapped()), cc);
        prop_assert_eq!(plain, mapped);
        prop_assert_eq!(m.decide(&mapped), reference::evaluate(&rules, &plain));
    }
}

#[test]
fn loopback_is_never_0_0_0_1() {
    // The known pitfall: Ipv6Addr::to_ipv4 turns ::1 into 0.0.0.1.
    let one: IpAddr = "::1".parse().unwrap();
    assert_eq!(canonical_ip(one), one);
    assert_eq!(Viewer::without_country(one).ip().to_string(), "::1");
    let rules = RuleSet::new(vec![
        Rule::ip_src(vec!["0.0.0.1/32".parse().unwrap()], Action::Block),
        Rule::ip_src(vec!["0.0.0.0/8".parse().unwrap()], Action::Block),
    ]);
    let m = Matcher::new(&rules).unwrap();
    for s in ["::1", "::", "::0.0.0.1", "::5db8:d822"] {
        let v = Viewer::without_country(s.parse().unwrap());
        assert!(v.ip().is_ipv6(), "{s}");
        assert_eq!(m.decide(&v).rule, None, "{s} matched an IPv4 rule");
        assert_eq!(reference::evaluate(&rules, &v).rule, None, "{s}");
    }
    // The mapped form of 0.0.0.1 is 0.0.0.1.
    let v = Viewer::without_country("::ffff:0.0.0.1".parse().unwrap());
    assert_eq!(v.ip().to_string(), "0.0.0.1");
    assert_eq!(m.decide(&v).rule, Some(RuleId::new(0)));
    // And through the viewer-line reader.
    let (ip, _) = parse_line(b"::1").unwrap().unwrap();
    assert_eq!(Viewer::without_country(ip).ip().to_string(), "::1");
}

/// The extreme clocks a property test rarely draws: `exp` far after an
/// `i64::MIN` clock is too far, an `i64::MAX` clock has expired it, and no
/// help proposes a time that does not fit.
#[test]
fn extreme_clocks_do_not_overflow() {
    let body = br#"{"exp": 1767225600, "nbf": -9223372036854775808, "accessRules": [{"type": "any", "action": "block"}]}"#;
    for (now, code) in [
        (i64::MIN, "exp-too-far"),
        (i64::MIN + 1, "exp-too-far"),
        (i64::MAX - 1, "expired"),
        (i64::MAX, "expired"),
    ] {
        let v = check(body, &Options::at(now));
        assert!(
            v.diagnostics().iter().any(|d| d.code.as_str() == code),
            "{now}: {:?}",
            v.diagnostics()
        );
        for d in v.diagnostics() {
            if let Some(help) = &d.help {
                assert!(!help.contains("e.g. -"), "{now}: {help}");
            }
        }
    }
}
