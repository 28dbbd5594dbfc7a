//! Imperfect GeoIP data (issue 10, part 4): "no country" values, the older
//! IPinfo layout, codes that are not assigned ISO codes (docs/semantics.md,
//! GeoIP).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use accessrules::country::is_assigned;
use accessrules::geo::{
    GeoDatabase, GeoErrorKind, FIELD_COUNTRY, FIELD_COUNTRY_CODE, FIELD_COUNTRY_STRING,
    FIELD_REGISTERED_COUNTRY, NO_COUNTRY_VALUES,
};
use accessrules::{Action, CountryCode, Rule, RuleSet};
use maxminddb_writer::metadata::IpVersion;
use proptest::prelude::*;
use serde_json::{json, Value};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn cc(s: &str) -> CountryCode {
    CountryCode::new(s).unwrap()
}

fn v6db(entries: &[(&str, Value)]) -> Vec<u8> {
    crate::util::write_mmdb(IpVersion::V6, "accessrules-test", entries)
}

/// A record holding `value` in `field` (one of the four country fields).
fn record(field: &str, value: &str) -> Value {
    match field {
        FIELD_COUNTRY => json!({"country": {"iso_code": value}}),
        FIELD_REGISTERED_COUNTRY => json!({"registered_country": {"iso_code": value}}),
        FIELD_COUNTRY_CODE => json!({"country_code": value}),
        FIELD_COUNTRY_STRING => json!({"country": value, "country_name": "x"}),
        _ => unreachable!(),
    }
}

const FIELDS: [&str; 4] =
    [FIELD_COUNTRY, FIELD_REGISTERED_COUNTRY, FIELD_COUNTRY_CODE, FIELD_COUNTRY_STRING];

#[test]
fn no_country_values_are_unknown_networks_counted_never_a_refusal() {
    assert_eq!(NO_COUNTRY_VALUES, ["", "-", "--"]);
    for field in FIELDS {
        for value in NO_COUNTRY_VALUES {
            let db = GeoDatabase::from_bytes(v6db(&[
                ("2a02:2770::/32", json!({"country_code": "NL"})),
                ("81.2.69.0/24", record(field, value)),
                ("81.2.70.0/24", record(field, value)),
                ("8.8.8.0/24", json!({"asn": 15169})),
            ]))
            .unwrap_or_else(|e| panic!("{field} = {value:?}: {e}"));
            assert_eq!(db.resolve(ip("81.2.69.1")), None, "{field} = {value:?}");
            assert_eq!(db.resolve(ip("2a02:2770::1")), Some(cc("NL")));
            // Two placeholder networks and one record without any field.
            assert_eq!(db.networks_without_country(), 3, "{field} = {value:?}");
            assert_eq!(db.network_count(), 4);
            let d = db.lookup_detail(ip("81.2.69.1")).unwrap();
            assert_eq!((d.country, d.has_record), (None, true));
            assert_eq!(d.no_country, Some((field, value)), "{field} = {value:?}");
            let d = db.lookup_detail(ip("8.8.8.8")).unwrap();
            assert_eq!((d.country, d.no_country, d.has_record), (None, None, true));
        }
    }
}

#[test]
fn a_no_country_value_counts_as_an_absent_field() {
    // The next field decides, as when the field is missing.
    let db = GeoDatabase::from_bytes(v6db(&[
        (
            "81.2.69.0/24",
            json!({"country": {"iso_code": "-"}, "registered_country": {"iso_code": "GB"}}),
        ),
        ("81.2.70.0/24", json!({"country_code": "--", "country": "nl"})),
    ]))
    .unwrap();
    assert_eq!(db.resolve(ip("81.2.69.1")), Some(cc("GB")));
    assert_eq!(db.resolve(ip("81.2.70.1")), Some(cc("NL")));
    assert_eq!(db.networks_without_country(), 0);
    let d = db.lookup_detail(ip("81.2.69.1")).unwrap();
    assert_eq!(d.source_field, Some(FIELD_REGISTERED_COUNTRY));
    assert_eq!(d.no_country, Some((FIELD_COUNTRY, "-")));
}

#[test]
fn other_malformed_values_are_still_refused() {
    for value in ["---", " ", " -", "N/A", "USA", "Netherlands", "1U"] {
        for field in FIELDS {
            let err = GeoDatabase::from_bytes(v6db(&[
                ("2a02:2770::/32", json!({"country_code": "NL"})),
                ("81.2.69.0/24", record(field, value)),
            ]))
            .unwrap_err();
            assert_eq!(err.kind(), GeoErrorKind::InvalidCountry, "{field} = {value:?}");
            let msg = err.to_string();
            assert!(msg.contains(&format!("{value:?}")) && msg.contains(field), "{msg}");
        }
    }
}

#[test]
fn structural_damage_is_still_refused() {
    let good = v6db(&[
        ("2a02:2770::/32", json!({"country_code": "NL"})),
        ("81.2.69.0/24", json!({"country_code": "-"})),
    ]);
    GeoDatabase::from_bytes(good.clone()).unwrap();
    // Truncated inside the search tree or data: corrupt, never "unknown".
    for cut in [good.len() / 3, good.len() / 2] {
        let err = GeoDatabase::from_bytes(good[..cut].to_vec()).unwrap_err();
        assert_eq!(err.kind(), GeoErrorKind::Corrupt);
    }
}

#[test]
fn older_ipinfo_layout_reads_the_top_level_country_string() {
    let db = GeoDatabase::from_bytes(v6db(&[
        (
            "81.2.69.0/24",
            json!({"country": "GB", "country_name": "United Kingdom", "continent": "EU", "continent_name": "Europe"}),
        ),
        ("2a02:2770::/32", json!({"country": "nl", "country_name": "Netherlands"})),
        // A `country` map keeps the GeoIP2 meaning.
        ("8.8.8.0/24", json!({"country": {"iso_code": "US", "names": {"en": "United States"}}})),
        // The newer IPinfo layout: the name in `country`, the code in `country_code`.
        ("9.9.9.0/24", json!({"country": "Switzerland", "country_code": "CH"})),
    ]))
    .unwrap();
    let expect = [
        ("81.2.69.1", "GB", FIELD_COUNTRY_STRING),
        ("2a02:2770::1", "NL", FIELD_COUNTRY_STRING),
        ("8.8.8.8", "US", FIELD_COUNTRY),
        ("9.9.9.9", "CH", FIELD_COUNTRY_CODE),
    ];
    for (addr, code, field) in expect {
        assert_eq!(db.resolve(ip(addr)), Some(cc(code)), "{addr}");
        let d = db.lookup_detail(ip(addr)).unwrap();
        assert_eq!((d.country, d.source_field), (Some(cc(code)), Some(field)), "{addr}");
    }
}

#[test]
fn unassigned_codes_are_matched_as_written_and_listed() {
    let db = GeoDatabase::from_bytes(v6db(&[
        ("81.2.69.0/24", json!({"country_code": "UK"})),
        ("81.2.71.0/24", json!({"country_code": "uk"})),
        ("10.0.0.0/8", json!({"country": {"iso_code": "ZZ"}})),
        ("2a02:2770::/32", json!({"country_code": "XK"})),
        ("9.9.9.0/24", json!({"country_code": "GB"})),
    ]))
    .unwrap();
    assert_eq!(db.resolve(ip("81.2.69.1")), Some(cc("UK")));
    assert_eq!(db.resolve(ip("81.2.71.1")), Some(cc("UK")));
    assert_eq!(db.resolve(ip("10.1.2.3")), Some(cc("ZZ")));
    // XK (Kosovo) counts as assigned; GB is assigned.
    assert_eq!(db.unassigned_codes(), &[(cc("UK"), 2), (cc("ZZ"), 1)]);
    // A rule listing GB does not match them (the validator refuses UK in
    // rules; a rule set built in code that lists UK matches them).
    let rules = |code: &str| {
        let set = RuleSet::new(vec![Rule::country(vec![cc(code)], Action::Block)]);
        accessrules::Matcher::new(&set).unwrap()
    };
    let viewer = accessrules::Viewer::new(ip("81.2.69.1"), db.resolve(ip("81.2.69.1")));
    assert_eq!(rules("UK").decide(&viewer).action, Action::Block);
    assert_eq!(rules("GB").decide(&viewer).action, Action::Allow);
}

/// What a record of the property test holds.
#[derive(Clone, Debug)]
enum Rec {
    Code(&'static str, &'static str),
    NoCountry(&'static str, &'static str),
    NoField,
}

fn rec() -> impl Strategy<Value = Rec> {
    let codes: &'static [&'static str] = &["US", "GB", "UK", "ZZ", "EU", "A1", "XK", "AN", "de"];
    prop_oneof![
        3 => (prop::sample::select(&FIELDS[..]), prop::sample::select(codes))
            .prop_map(|(f, c)| Rec::Code(f, c)),
        2 => (prop::sample::select(&FIELDS[..]), prop::sample::select(&NO_COUNTRY_VALUES[..]))
            .prop_map(|(f, v)| Rec::NoCountry(f, v)),
        1 => Just(Rec::NoField),
    ]
}

proptest! {
    #![proptest_config(crate::strategies::config(48))]

    /// The counts and lookups agree with a plain count of the records.
    #[test]
    fn prop_counts_agree_with_the_records(
        recs in prop::collection::btree_map((1u8..=254, 0u8..=255), rec(), 1..40),
    ) {
        let nets: Vec<(String, Value)> = recs
            .iter()
            .map(|(&(a, b), r)| {
                let value = match r {
                    Rec::Code(f, c) => record(f, c),
                    Rec::NoCountry(f, v) => record(f, v),
                    Rec::NoField => json!({"asn": 1}),
                };
                (format!("{a}.{b}.0.0/16"), value)
            })
            .collect();
        let entries: Vec<(&str, Value)> = nets.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
        let any_code = recs.values().any(|r| matches!(r, Rec::Code(..)));
        let opened = GeoDatabase::from_bytes(v6db(&entries));
        let db = match opened {
            Ok(db) => db,
            Err(e) => {
                prop_assert!(!any_code, "{e}");
                prop_assert_eq!(e.kind(), GeoErrorKind::NoCountryField);
                return Ok(());
            }
        };
        let mut without = 0u64;
        let mut unassigned: BTreeMap<String, u64> = BTreeMap::new();
        for (&(a, b), r) in &recs {
            let addr = IpAddr::V4(Ipv4Addr::new(a, b, 1, 2));
            let want = match r {
                Rec::Code(_, c) => Some(cc(&c.to_ascii_uppercase())),
                _ => None,
            };
            prop_assert_eq!(db.resolve(addr), want, "{}", addr);
            match want {
                None => without += 1,
                Some(c) if !is_assigned(c) => *unassigned.entry(c.to_string()).or_default() += 1,
                Some(_) => {}
            }
        }
        prop_assert_eq!(db.network_count(), recs.len() as u64);
        prop_assert_eq!(db.networks_without_country(), without);
        let got: BTreeMap<String, u64> =
            db.unassigned_codes().iter().map(|(c, n)| (c.to_string(), *n)).collect();
        prop_assert_eq!(got, unassigned);
    }
}
