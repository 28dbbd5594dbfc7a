//! GeoIP: database layouts, errors on bad files, and agreement of the range
//! table with `maxminddb` lookups (docs/semantics.md, docs/performance.md, fuzz/README.md).

use std::collections::HashMap;
#[cfg(feature = "embedded-geoip")]
use std::net::Ipv4Addr;
use std::net::{IpAddr, Ipv6Addr};

use accessrules::geo::{
    CountryResolver, GeoDatabase, GeoErrorKind, StaticCountries, FIELD_COUNTRY, FIELD_COUNTRY_CODE,
    FIELD_REGISTERED_COUNTRY,
};
use accessrules::CountryCode;
use maxminddb::Reader;
use maxminddb_writer::metadata::IpVersion;
use maxminddb_writer::paths::IpAddrWithMask;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn cc(s: &str) -> Option<CountryCode> {
    Some(CountryCode::new(s).unwrap())
}

fn write_db(version: IpVersion, entries: &[(&str, Value)]) -> Vec<u8> {
    crate::util::write_mmdb(version, "accessrules-test", entries)
}

fn v6db(entries: &[(&str, Value)]) -> Vec<u8> {
    write_db(IpVersion::V6, entries)
}

/// The country `maxminddb` itself gives for `ip`, decoded independently of
/// the library (`country.iso_code`, `registered_country.iso_code`,
/// `country_code`).
fn reader_country<S: AsRef<[u8]>>(reader: &Reader<S>, ip: IpAddr) -> Option<CountryCode> {
    #[derive(serde::Deserialize)]
    struct Iso {
        iso_code: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Rec {
        country: Option<Iso>,
        registered_country: Option<Iso>,
        country_code: Option<String>,
    }
    if reader.metadata().ip_version == 4 && ip.is_ipv6() {
        return None;
    }
    let rec: Rec = reader.lookup(ip).unwrap().decode().unwrap()?;
    let code = rec
        .country
        .and_then(|c| c.iso_code)
        .or(rec.registered_country.and_then(|c| c.iso_code))
        .or(rec.country_code)?;
    Some(CountryCode::new(&code.to_ascii_uppercase()).unwrap())
}

/// Tiny deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Points the search-tree record reached by the first `depth` bits of
/// `prefix` at the IPv4 subtree (the node after 96 zero bits), the way
/// MaxMind's writer makes `::ffff:0:0/96`, `2001::/32` and `2002::/16`
/// aliases. The path to depth `depth - 1` must exist (24-bit records).
fn alias(mut bytes: Vec<u8>, prefix: u128, depth: u32) -> Vec<u8> {
    let reader = Reader::from_source(&bytes[..]).unwrap();
    assert_eq!(reader.metadata().record_size, 24);
    let node_count = reader.metadata().node_count as usize;
    drop(reader);
    let read = |b: &[u8], node: usize, bit: usize| {
        let o = node * 6 + bit * 3;
        (b[o] as usize) << 16 | (b[o + 1] as usize) << 8 | b[o + 2] as usize
    };
    let mut v4 = 0;
    for _ in 0..96 {
        v4 = read(&bytes, v4, 0);
        assert!(v4 < node_count);
    }
    let mut node = 0;
    for i in 0..depth - 1 {
        node = read(&bytes, node, ((prefix >> (127 - i)) & 1) as usize);
        assert!(node < node_count, "path to the alias does not exist");
    }
    let bit = ((prefix >> (127 - (depth - 1))) & 1) as usize;
    let o = node * 6 + bit * 3;
    bytes[o..o + 3].copy_from_slice(&(v4 as u32).to_be_bytes()[1..]);
    bytes
}

/// The same database with `record_size` 28 or 32 instead of 24.
fn reencode(bytes: &[u8], record_size: u16) -> Vec<u8> {
    let reader = Reader::from_source(bytes).unwrap();
    assert_eq!(reader.metadata().record_size, 24);
    let nodes = reader.metadata().node_count as usize;
    let mut out = Vec::new();
    for n in 0..nodes {
        let b = &bytes[n * 6..n * 6 + 6];
        let l = u32::from_be_bytes([0, b[0], b[1], b[2]]);
        let r = u32::from_be_bytes([0, b[3], b[4], b[5]]);
        if record_size == 28 {
            let (l, r) = (l.to_be_bytes(), r.to_be_bytes());
            out.extend_from_slice(&[l[1], l[2], l[3], (l[0] << 4) | r[0], r[1], r[2], r[3]]);
        } else {
            out.extend_from_slice(&l.to_be_bytes());
            out.extend_from_slice(&r.to_be_bytes());
        }
    }
    let mut rest = bytes[nodes * 6..].to_vec();
    let key = b"\x4brecord_size\xa1\x18";
    let at = rest.windows(key.len()).rposition(|w| w == key).expect("record_size in metadata");
    rest[at + key.len() - 1] = record_size as u8;
    out.extend_from_slice(&rest);
    out
}

fn geoip2_entries() -> Vec<(&'static str, Value)> {
    vec![
        ("10.0.0.0/8", json!({"continent": {"code": "EU"}})),
        (
            "81.2.69.0/24",
            json!({"continent": {"code": "EU"},
                   "country": {"geoname_id": 2635167, "iso_code": "GB",
                               "names": {"en": "United Kingdom", "de": "Vereinigtes Königreich"}},
                   "registered_country": {"iso_code": "US"}}),
        ),
        (
            "1.0.0.0/24",
            json!({"registered_country": {"iso_code": "AU", "names": {"en": "Australia"}}}),
        ),
        (
            "214.0.0.0/16",
            json!({"country": {"iso_code": "DE"},
                   "represented_country": {"iso_code": "US", "type": "military"},
                   "registered_country": {"iso_code": "US"}}),
        ),
        (
            "2a02:2770::/32",
            json!({"country": {"iso_code": "NL"}, "registered_country": {"iso_code": "NL"}}),
        ),
        ("2001:db8::/32", json!({"traits": {"is_anycast": true}})),
    ]
}

// ---------------------------------------------------------------------------
// Layouts (docs/semantics.md)
// ---------------------------------------------------------------------------

#[test]
fn geoip2_layout_country_then_registered_country() {
    let db = GeoDatabase::from_bytes(v6db(&geoip2_entries())).unwrap();
    assert_eq!(db.resolve(ip("81.2.69.142")), cc("GB"));
    assert_eq!(db.resolve(ip("1.0.0.1")), cc("AU"));
    assert_eq!(db.resolve(ip("214.0.1.2")), cc("DE"));
    assert_eq!(db.resolve(ip("2a02:2770::1")), cc("NL"));
    // A record without a country, and no record: unknown.
    assert_eq!(db.resolve(ip("10.1.2.3")), None);
    assert_eq!(db.resolve(ip("2001:db8::1")), None);
    assert_eq!(db.resolve(ip("192.0.2.1")), None);
    assert_eq!(db.country(ip("81.2.69.142")).unwrap(), cc("GB"));

    let gb = db.lookup_detail(ip("81.2.69.142")).unwrap();
    assert_eq!(gb.country, cc("GB"));
    assert_eq!(gb.source_field, Some(FIELD_COUNTRY));
    assert_eq!(gb.source_field, Some("country.iso_code"));
    assert_eq!(gb.represented_country, None);
    assert_eq!(gb.network, Some("81.2.69.0/24".parse().unwrap()));
    assert!(gb.has_record);

    let au = db.lookup_detail(ip("1.0.0.1")).unwrap();
    assert_eq!(au.country, cc("AU"));
    assert_eq!(au.source_field, Some(FIELD_REGISTERED_COUNTRY));

    let none = db.lookup_detail(ip("10.1.2.3")).unwrap();
    assert!(none.has_record);
    assert_eq!((none.country, none.source_field), (None, None));
    let no_record = db.lookup_detail(ip("192.0.2.1")).unwrap();
    assert!(!no_record.has_record);
    assert_eq!(no_record.country, None);
    assert!(no_record.network.unwrap().contains(&ip("192.0.2.1")));
}

/// The plain evaluator's lookup (`reference::maxminddb_country`, the
/// benchmarks' baseline) reads the same countries as the range table.
#[test]
fn plain_lookup_agrees_with_the_table() {
    let bytes = v6db(&geoip2_entries());
    let db = GeoDatabase::from_bytes(bytes.clone()).unwrap();
    let reader = Reader::from_source(bytes).unwrap();
    for a in ["81.2.69.142", "1.0.0.1", "214.0.1.2", "2a02:2770::1", "10.1.2.3", "2001:db8::1"] {
        let plain = accessrules::reference::maxminddb_country(&reader, ip(a)).unwrap();
        assert_eq!(plain, db.resolve(ip(a)), "{a}");
    }
    assert_eq!(
        accessrules::reference::maxminddb_country(&reader, ip("81.2.69.1")).unwrap(),
        cc("GB")
    );
    // An IPv6 address in an IPv4-only database is unknown, not an error.
    let v4 = write_db(IpVersion::V4, &[("1.0.0.0/24", json!({"country_code": "au"}))]);
    let reader = Reader::from_source(v4).unwrap();
    assert_eq!(
        accessrules::reference::maxminddb_country(&reader, ip("1.0.0.9")).unwrap(),
        cc("AU")
    );
    assert_eq!(
        accessrules::reference::maxminddb_country(&reader, ip("2a02:2770::1")).unwrap(),
        None
    );
}

#[test]
fn registered_country_only_database() {
    let db = GeoDatabase::from_bytes(v6db(&[
        ("1.0.0.0/24", json!({"registered_country": {"iso_code": "AU"}})),
        ("2400:cb00::/32", json!({"registered_country": {"iso_code": "US"}})),
    ]))
    .unwrap();
    assert_eq!(db.resolve(ip("1.0.0.1")), cc("AU"));
    assert_eq!(db.resolve(ip("2400:cb00:1::1")), cc("US"));
    let d = db.lookup_detail(ip("2400:cb00:1::1")).unwrap();
    assert_eq!(d.source_field, Some(FIELD_REGISTERED_COUNTRY));
    assert_eq!(d.network, Some("2400:cb00::/32".parse().unwrap()));
}

#[test]
fn represented_country_is_reported_never_matched() {
    let db = GeoDatabase::from_bytes(v6db(&[
        (
            "214.0.0.0/16",
            json!({"country": {"iso_code": "DE"}, "represented_country": {"iso_code": "US"}}),
        ),
        ("214.1.0.0/16", json!({"represented_country": {"iso_code": "US", "type": "military"}})),
    ]))
    .unwrap();
    let d = db.lookup_detail(ip("214.0.0.1")).unwrap();
    assert_eq!((d.country, d.represented_country), (cc("DE"), cc("US")));
    assert_eq!(db.resolve(ip("214.0.0.1")), cc("DE"));
    // Only represented_country: unknown for matching, still reported.
    let d = db.lookup_detail(ip("214.1.0.1")).unwrap();
    assert_eq!((d.country, d.source_field, d.represented_country), (None, None, cc("US")));
    assert_eq!(db.resolve(ip("214.1.0.1")), None);
}

#[test]
fn ip_location_db_layout() {
    let db = GeoDatabase::from_bytes(v6db(&[
        ("81.2.69.0/24", json!({"country_code": "GB"})),
        ("2a02:2770::/32", json!({"country_code": "NL"})),
    ]))
    .unwrap();
    assert_eq!(db.resolve(ip("81.2.69.142")), cc("GB"));
    assert_eq!(db.resolve(ip("2a02:2770::1")), cc("NL"));
    assert_eq!(db.resolve(ip("81.2.70.1")), None);
    let d = db.lookup_detail(ip("2a02:2770::1")).unwrap();
    assert_eq!(d.source_field, Some(FIELD_COUNTRY_CODE));
    assert_eq!(db.network_count(), 2);
}

#[test]
fn ipinfo_layout_with_country_name_string() {
    let db = GeoDatabase::from_bytes(v6db(&[(
        "2a02:2770::/32",
        json!({"country": "Netherlands", "country_code": "NL", "continent": "Europe", "asn": "AS196752"}),
    )]))
    .unwrap();
    assert_eq!(db.resolve(ip("2a02:2770::1")), cc("NL"));
    assert_eq!(
        db.lookup_detail(ip("2a02:2770::1")).unwrap().source_field,
        Some(FIELD_COUNTRY_CODE)
    );
}

#[test]
fn lower_case_codes_are_upper_cased() {
    let db = GeoDatabase::from_bytes(v6db(&[
        ("81.2.69.0/24", json!({"country_code": "gb"})),
        ("2a02:2770::/32", json!({"country": {"iso_code": "nl"}})),
    ]))
    .unwrap();
    assert_eq!(db.resolve(ip("81.2.69.1")), cc("GB"));
    assert_eq!(db.resolve(ip("2a02:2770::1")), cc("NL"));
}

#[test]
fn malformed_country_values_are_errors_naming_value_and_network() {
    for (value, shown) in [
        (json!({"country_code": "USA"}), "\"USA\""),
        (json!({"country_code": "---"}), "\"---\""),
        (json!({"country": "Netherlands"}), "\"Netherlands\""),
        (json!({"country": {"iso_code": "1U"}}), "\"1U\""),
        (json!({"country_code": 840}), "<a number>"),
        (json!({"registered_country": {"iso_code": ["US"]}}), "<an array>"),
    ] {
        let bytes = v6db(&[
            ("2a02:2770::/32", json!({"country_code": "NL"})),
            ("81.2.69.0/24", value.clone()),
        ]);
        let err = GeoDatabase::from_bytes(bytes).unwrap_err();
        assert_eq!(err.kind(), GeoErrorKind::InvalidCountry, "{value}");
        let msg = err.to_string();
        assert!(msg.contains(shown) && msg.contains("81.2.69.0/24"), "{msg}");
    }
}

#[test]
fn ipv4_only_database() {
    let db = GeoDatabase::from_bytes(write_db(
        IpVersion::V4,
        &[
            ("81.2.69.0/24", json!({"country_code": "GB"})),
            ("8.8.8.0/24", json!({"country_code": "US"})),
        ],
    ))
    .unwrap();
    assert_eq!(db.ip_version(), 4);
    assert_eq!(db.resolve(ip("81.2.69.142")), cc("GB"));
    assert_eq!(db.resolve(ip("8.8.8.8")), cc("US"));
    assert_eq!(db.resolve(ip("::ffff:8.8.8.8")), cc("US"));
    assert_eq!(db.resolve(ip("9.9.9.9")), None);
    // IPv6 viewers are unknown, not an error.
    assert_eq!(db.country(ip("2a02:2770::1")).unwrap(), None);
    assert_eq!(db.country(ip("::8.8.8.8")).unwrap(), None);
    let d = db.lookup_detail(ip("2a02:2770::1")).unwrap();
    assert_eq!((d.country, d.network, d.has_record), (None, None, false));
    let d = db.lookup_detail(ip("8.8.8.8")).unwrap();
    assert_eq!(d.network, Some("8.8.8.0/24".parse().unwrap()));
}

#[test]
fn default_route_records() {
    // A record at the root of each family (the writer's empty path).
    let db = GeoDatabase::from_bytes(v6db(&[("::/0", json!({"country_code": "ZZ"}))])).unwrap();
    assert_eq!(db.resolve(ip("1.2.3.4")), cc("ZZ"));
    assert_eq!(db.resolve(ip("2a02::1")), cc("ZZ"));
    let db = GeoDatabase::from_bytes(write_db(
        IpVersion::V4,
        &[("0.0.0.0/0", json!({"country_code": "ZZ"}))],
    ))
    .unwrap();
    assert_eq!(db.resolve(ip("255.255.255.255")), cc("ZZ"));
    // An IPv6 database whose ::/96 path ends early: IPv4 gets that record.
    let db = GeoDatabase::from_bytes(v6db(&[("::/8", json!({"country_code": "AQ"}))])).unwrap();
    assert_eq!(db.resolve(ip("8.8.8.8")), cc("AQ"));
    assert_eq!(db.resolve(ip("::1")), cc("AQ"));
    assert_eq!(db.resolve(ip("100::1")), None);
}

#[test]
fn non_map_records_have_no_country() {
    let db = GeoDatabase::from_bytes(v6db(&[
        ("81.2.69.0/24", json!({"country_code": "GB"})),
        ("8.8.8.0/24", json!("just a string")),
        ("9.9.9.0/24", json!([1, 2, 3])),
    ]))
    .unwrap();
    assert_eq!(db.resolve(ip("8.8.8.8")), None);
    assert_eq!(db.resolve(ip("9.9.9.9")), None);
    assert!(db.lookup_detail(ip("8.8.8.8")).unwrap().has_record);
}

#[test]
fn record_sizes_28_and_32() {
    let bytes = v6db(&geoip2_entries());
    for rs in [28, 32] {
        let other = reencode(&bytes, rs);
        let reader = Reader::from_source(&other[..]).unwrap();
        assert_eq!(reader.metadata().record_size, rs);
        let db = GeoDatabase::from_bytes(other.clone()).unwrap();
        for a in ["81.2.69.142", "1.0.0.1", "214.0.1.2", "2a02:2770::1", "10.0.0.1", "9.9.9.9"] {
            assert_eq!(db.resolve(ip(a)), reader_country(&reader, ip(a)), "{a} ({rs}-bit)");
        }
        assert_eq!(db.resolve(ip("81.2.69.142")), cc("GB"));
    }
}

// ---------------------------------------------------------------------------
// Errors (docs/semantics.md, fuzz/README.md)
// ---------------------------------------------------------------------------

#[test]
fn database_with_neither_layout_is_an_error() {
    let asn = v6db(&[
        (
            "8.8.8.0/24",
            json!({"autonomous_system_number": 15169, "autonomous_system_organization": "GOOGLE"}),
        ),
        ("2a02:2770::/32", json!({"autonomous_system_number": 196752})),
    ]);
    let err = GeoDatabase::from_bytes(asn).unwrap_err();
    assert_eq!(err.kind(), GeoErrorKind::NoCountryField);
    assert!(
        err.to_string().contains(
            "no country field: expected country.iso_code, registered_country.iso_code or country_code"
        ),
        "{err}"
    );
    // Only represented_country, or only "no country" values: no country
    // anywhere.
    let err = GeoDatabase::from_bytes(v6db(&[
        ("8.8.8.0/24", json!({"represented_country": {"iso_code": "US"}})),
        ("9.9.9.0/24", json!({"country_code": "-"})),
        ("10.9.9.0/24", json!({"country": ""})),
    ]))
    .unwrap_err();
    assert_eq!(err.kind(), GeoErrorKind::NoCountryField, "{err}");
    // No records at all (an unreferenced value, so the writer counts the
    // root node; without it the reader refuses node_count 0 as corrupt).
    let mut empty = maxminddb_writer::Database::default();
    empty.metadata.ip_version = IpVersion::V6;
    empty.metadata.binary_format_major_version = 2;
    empty.insert_value(json!({"country_code": "US"})).unwrap();
    let err = GeoDatabase::from_bytes(empty.write_to(Vec::new()).unwrap()).unwrap_err();
    assert_eq!(err.kind(), GeoErrorKind::NoCountryField, "{err}");
}

#[test]
fn missing_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.mmdb");
    let err = GeoDatabase::open(&path).unwrap_err();
    assert_eq!(err.kind(), GeoErrorKind::NotFound);
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    // A directory is an I/O error.
    let err = GeoDatabase::open(dir.path()).unwrap_err();
    assert_eq!(err.kind(), GeoErrorKind::Io);
    // So is a device: never read without bound.
    if std::path::Path::new("/dev/zero").exists() {
        let err = GeoDatabase::open("/dev/zero").unwrap_err();
        assert_eq!(err.kind(), GeoErrorKind::Io);
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
}

/// A FIFO is refused without being opened (opening one waits for a writer).
#[test]
#[cfg(unix)]
fn fifo_is_refused_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pipe.mmdb");
    let made = std::process::Command::new("mkfifo").arg(&path).status();
    if !made.is_ok_and(|s| s.success()) {
        return; // no mkfifo here
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let opening = path.clone();
    std::thread::spawn(move || tx.send(GeoDatabase::open(&opening).map(|_| ()).unwrap_err()));
    let err = rx.recv_timeout(std::time::Duration::from_secs(20)).expect("open waited on a FIFO");
    assert_eq!(err.kind(), GeoErrorKind::Io);
    assert!(err.to_string().contains("not a regular file"), "{err}");
}

/// A large file without MaxMind DB metadata in its last 128 KiB is refused
/// before it is read whole.
#[test]
fn file_without_metadata_is_refused_from_its_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.mmdb");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(256 << 20).unwrap(); // sparse: 256 MiB of zeros
    let err = GeoDatabase::open(&path).unwrap_err();
    assert_eq!(err.kind(), GeoErrorKind::Corrupt, "{err}");
    assert!(err.to_string().contains("no MaxMind DB metadata in the last 128 KiB"), "{err}");
    // A real database whose metadata is at its end still opens.
    std::fs::write(&path, v6db(&[("81.2.69.0/24", json!({"country_code": "GB"}))])).unwrap();
    assert_eq!(GeoDatabase::open(&path).unwrap().resolve(ip("81.2.69.1")), cc("GB"));
}

#[test]
fn open_reads_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gb.mmdb");
    std::fs::write(&path, v6db(&[("81.2.69.0/24", json!({"country_code": "GB"}))])).unwrap();
    let db = GeoDatabase::open(&path).unwrap();
    assert_eq!(db.resolve(ip("81.2.69.1")), cc("GB"));
    assert_eq!(db.database_type(), "accessrules-test");
    assert_eq!(db.build_epoch(), 1_700_000_000);
    assert_eq!(db.build_date(), "2023-11-14");
    // Errors name the file.
    std::fs::write(&path, b"not a database").unwrap();
    let err = GeoDatabase::open(&path).unwrap_err();
    assert_eq!(err.kind(), GeoErrorKind::Corrupt);
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
}

#[test]
fn truncated_files_are_corrupt() {
    let small = v6db(&geoip2_entries());
    for len in 0..small.len() {
        let err = GeoDatabase::from_bytes(small[..len].to_vec()).unwrap_err();
        assert_eq!(err.kind(), GeoErrorKind::Corrupt, "truncated at {len}: {err}");
    }
    #[cfg(feature = "embedded-geoip")]
    {
        let shipped = GeoDatabase::embedded_bytes();
        for len in [0, 1, 1000, shipped.len() / 2, shipped.len() - 200, shipped.len() - 1] {
            let err = GeoDatabase::from_bytes(shipped[..len].to_vec()).unwrap_err();
            assert_eq!(err.kind(), GeoErrorKind::Corrupt, "truncated at {len}: {err}");
        }
    }
}

#[test]
fn zero_filled_and_garbage_files_are_errors() {
    for len in [0, 1, 16, 4096, 1 << 20] {
        let err = GeoDatabase::from_bytes(vec![0u8; len]).unwrap_err();
        assert_eq!(err.kind(), GeoErrorKind::Corrupt);
    }
    // Random bytes, with and without a metadata marker.
    let marker = b"\xab\xcd\xefMaxMind.com";
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for i in 0..400 {
        let len = (rng.next() % 4096) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if i % 2 == 1 {
            let at = (rng.next() as usize) % (bytes.len() + 1);
            bytes.splice(at..at, marker.iter().copied());
        }
        assert!(GeoDatabase::from_bytes(bytes).is_err());
    }
}

#[test]
fn every_single_byte_damage_is_an_error_or_consistent() {
    // Flip each byte of a small valid database: opening may fail (with an
    // error, never a panic) or succeed; when it succeeds, the table agrees
    // with the detail lookup for every test address.
    let good = v6db(&geoip2_entries());
    let probes: Vec<IpAddr> =
        ["81.2.69.142", "1.0.0.1", "214.0.1.2", "2a02:2770::1", "10.0.0.1", "2001:db8::1", "::1"]
            .iter()
            .map(|s| ip(s))
            .collect();
    for at in 0..good.len() {
        for flip in [0xffu8, 0x01, 0x80] {
            let mut bytes = good.clone();
            bytes[at] ^= flip;
            let Ok(db) = GeoDatabase::from_bytes(bytes) else { continue };
            for &p in &probes {
                let fast = db.resolve(p);
                if let Ok(detail) = db.lookup_detail(p) {
                    assert_eq!(fast, detail.country, "byte {at} ^ {flip:#x}, {p}");
                }
            }
        }
    }
}

#[test]
fn dangling_data_pointer_is_an_error_not_unknown() {
    let mut bytes = v6db(&[("81.2.69.0/24", json!({"country_code": "GB"}))]);
    // The root's right record (addresses 8000::/1) now points far past the
    // data section.
    bytes[3..6].copy_from_slice(&[0xff, 0xff, 0xf0]);
    let err = GeoDatabase::from_bytes(bytes).unwrap_err();
    assert_eq!(err.kind(), GeoErrorKind::Corrupt, "{err}");
}

#[test]
fn cyclic_tree_is_an_error() {
    let mut bytes = v6db(&[("81.2.69.0/24", json!({"country_code": "GB"}))]);
    // The root's right record points back at the root.
    bytes[3..6].copy_from_slice(&[0, 0, 0]);
    let err = GeoDatabase::from_bytes(bytes).unwrap_err();
    assert_eq!(err.kind(), GeoErrorKind::Corrupt, "{err}");
}

/// A database of `n` networks (`10.x.y.0/24`), the `i`-th record a 4-byte
/// string at data offset `4 * i`, then a `filler`-byte string whose payload
/// starts at data offset `4 * n + 4`. Returns the bytes and the file offset
/// of the data section, for tests that write their own records there.
fn db_with_raw_records(n: usize, filler: usize) -> (Vec<u8>, usize) {
    assert!(filler >= 65_821 && n <= 65_536);
    let mut db = maxminddb_writer::Database::default();
    db.metadata.ip_version = IpVersion::V6;
    db.metadata.binary_format_major_version = 2;
    let refs: Vec<_> = (0..n).map(|_| db.insert_value("abc").unwrap()).collect();
    db.insert_value("x".repeat(filler)).unwrap();
    for (i, r) in refs.into_iter().enumerate() {
        let net = format!("::10.{}.{}.0/120", i >> 8, i & 255);
        db.insert_node(net.parse::<IpAddrWithMask>().unwrap(), r);
    }
    let bytes = db.write_to(Vec::new()).unwrap();
    let reader = Reader::from_source(&bytes[..]).unwrap();
    assert_eq!(reader.metadata().record_size, 24);
    let start = reader.metadata().node_count as usize * 6 + 16;
    (bytes, start)
}

/// A 19-bit data-section pointer to `target`.
fn pointer(target: usize) -> [u8; 3] {
    let v = target - 2048;
    [0x28 | (v >> 16) as u8, (v >> 8) as u8, v as u8]
}

#[test]
fn records_sharing_one_big_map_are_read_once() {
    // 4096 records, each a pointer to one map of 30,000 entries: reading
    // every record in full would take 4096 × 30,000 steps.
    const N: usize = 4096;
    const K: usize = 30_000;
    let (mut bytes, data) = db_with_raw_records(N, 4 * K + 64);
    let map = 4 * N + 4;
    for i in 0..N {
        bytes[data + 4 * i..data + 4 * i + 3].copy_from_slice(&pointer(map));
    }
    let mut m = vec![0xfe, ((K - 285) >> 8) as u8, (K - 285) as u8];
    m.extend_from_slice(b"\x4ccountry_code\x42US");
    for _ in 1..K {
        m.extend_from_slice(b"\x41k\x01\x07"); // "k": true
    }
    bytes[data + map..data + map + m.len()].copy_from_slice(&m);
    let reader = Reader::from_source(&bytes[..]).unwrap();
    assert_eq!(reader_country(&reader, ip("10.0.0.1")), cc("US"));
    let db = GeoDatabase::from_bytes(bytes).unwrap();
    assert_eq!(db.resolve(ip("10.0.0.1")), cc("US"));
    assert_eq!(db.resolve(ip("10.15.255.1")), cc("US"));
    assert_eq!(db.resolve(ip("10.16.0.1")), None);
    assert_eq!(db.lookup_detail(ip("10.3.4.5")).unwrap().country, cc("US"));
}

#[test]
fn quadratic_record_layouts_hit_the_work_bound() {
    // 4000 nested one-entry maps {"x": {"x": ... {"country_code": "US"}}},
    // record i pointing at level i: each record skips all deeper levels,
    // 8 million steps for a 12 kB data section. Refused, not ground through.
    const D: usize = 4000;
    let (mut bytes, data) = db_with_raw_records(D, 65_821 + 64);
    let base = 4 * D + 4;
    let mut nested = Vec::new();
    for _ in 0..D {
        nested.extend_from_slice(b"\xe1\x41x");
    }
    nested.extend_from_slice(b"\xe1\x4ccountry_code\x42US");
    bytes[data + base..data + base + nested.len()].copy_from_slice(&nested);
    for i in 0..D {
        bytes[data + 4 * i..data + 4 * i + 3].copy_from_slice(&pointer(base + 3 * i));
    }
    let err = GeoDatabase::from_bytes(bytes).unwrap_err();
    assert_eq!(err.kind(), GeoErrorKind::Corrupt);
    assert!(err.to_string().contains("too complex"), "{err}");
}

// ---------------------------------------------------------------------------
// IPv4 subtree aliases
// ---------------------------------------------------------------------------

#[test]
fn aliases_of_the_ipv4_subtree_agree_with_the_reader() {
    let mut entries = vec![
        ("8.8.8.0/24", json!({"country_code": "US"})),
        ("81.2.69.0/24", json!({"country_code": "GB"})),
        ("1.2.3.0/24", json!({"country_code": "AU"})),
        ("2a02:2770::/32", json!({"country_code": "NL"})),
    ];
    // Create the paths the aliases hang from (their own records are
    // replaced by the alias).
    entries.push(("2002::/16", json!({"country_code": "AQ"})));
    entries.push(("2001::/32", json!({"country_code": "AQ"})));
    entries.push(("::ffff:0:0/96", json!({"country_code": "AQ"})));
    let mut bytes = v6db(&entries);
    bytes = alias(bytes, 0x2002 << 112, 16);
    bytes = alias(bytes, 0x2001 << 112, 32);
    bytes = alias(bytes, 0xffff << 32, 96);
    let reader = Reader::from_source(&bytes[..]).unwrap();
    let db = GeoDatabase::from_bytes(bytes.clone()).unwrap();

    let checks = [
        ("2002:808:808::1", cc("US")),
        ("2002:5102:458e:1::", cc("GB")),
        ("2002:102:304::", cc("AU")),
        ("2002:909:909::1", None),
        ("2001:0:808:808::1", cc("US")),
        ("2001:0:5102:4500::", cc("GB")),
        ("::ffff:8.8.8.8", cc("US")),
        ("::8.8.8.8", cc("US")),
        ("2a02:2770::1", cc("NL")),
    ];
    for (a, want) in checks {
        assert_eq!(reader_country(&reader, ip(a)), want, "reader, {a}");
        // `resolve` canonicalises ::ffff:a.b.c.d to IPv4 first; the table
        // itself is checked through the IPv4-compatible form below.
        assert_eq!(db.resolve(ip(a)), want, "table, {a}");
    }
    // Every address of a sample in the aliased prefixes.
    let mut rng = Rng(7);
    for _ in 0..20_000 {
        let v4 = match rng.next() % 3 {
            0 => 0x0808_0800 | (rng.next() as u32 & 0x1ff),
            1 => 0x5102_4500 | (rng.next() as u32 & 0x1ff),
            _ => rng.next() as u32,
        };
        let tail = rng.next() as u128;
        for (prefix, depth) in [(0x2002u128 << 112, 16), (0x2001u128 << 112, 32), (0, 96)] {
            let addr =
                prefix | (u128::from(v4) << (96 - depth)) | (tail & ((1u128 << (96 - depth)) - 1));
            let a = IpAddr::V6(Ipv6Addr::from(addr));
            assert_eq!(db.resolve(a), reader_country(&reader, a), "{a}");
        }
    }
    // Aliases are not counted as networks.
    assert_eq!(db.network_count() as usize, reader.networks(Default::default()).unwrap().count());
}

// ---------------------------------------------------------------------------
// The shipped database
// ---------------------------------------------------------------------------

#[test]
#[cfg(feature = "embedded-geoip")]
fn shipped_database_metadata() {
    let db = GeoDatabase::embedded().unwrap();
    assert_eq!(db.database_type(), "country ipvAll");
    assert_eq!(db.build_epoch(), 1_781_725_900);
    assert_eq!(db.build_date(), "2026-06-17");
    assert_eq!(db.ip_version(), 6);
    assert_eq!(db.network_count(), 1_010_885);
    let (v4, v6) = db.range_counts();
    assert!(v4 > 100_000 && v6 > 100_000, "{v4} {v6}");
    // Every network of the shipped data has a country, all assigned but
    // one: AN, the withdrawn code of the Netherlands Antilles (docs/semantics.md).
    assert_eq!(db.networks_without_country(), 0);
    assert_eq!(db.unassigned_codes(), &[(CountryCode::new("AN").unwrap(), 1)]);
    // Header, the networks of each of its 251 codes, ranges, and a
    // 65,537-entry directory per family (16 bits).
    assert_eq!(db.table_bytes(), 48 + 10 * 251 + 6 * v4 + 18 * v6 + 2 * 8 * 65_537);
}

#[test]
#[cfg(feature = "embedded-geoip")]
fn shipped_database_real_addresses() {
    let db = GeoDatabase::embedded().unwrap();
    let reader = Reader::from_source(GeoDatabase::embedded_bytes()).unwrap();
    for (a, want) in [
        ("8.8.8.8", cc("US")),
        ("1.1.1.1", cc("AU")),
        ("81.2.69.142", cc("GB")),
        ("200.160.2.3", cc("BR")),
        ("223.5.5.5", cc("CN")),
        ("2a02:2770::1", cc("NL")),
        ("2400:cb00:1::1", cc("US")),
        ("10.0.0.1", None),
        ("192.0.2.1", None),
        ("127.0.0.1", None),
        // Data quirks kept as they are: documentation ranges carry a country
        // (geoip/README.md), and so, in this snapshot, do 192.168.0.0/16 and
        // 172.16.0.0/12 (AU), unlike what the README says.
        ("192.168.1.1", reader_country(&reader, ip("192.168.1.1"))),
        ("172.16.0.1", reader_country(&reader, ip("172.16.0.1"))),
        ("203.0.113.1", reader_country(&reader, ip("203.0.113.1"))),
        ("2001:db8::1", reader_country(&reader, ip("2001:db8::1"))),
    ] {
        assert_eq!(db.resolve(ip(a)), want, "{a}");
        assert_eq!(db.country(ip(a)).unwrap(), want, "{a}");
        assert_eq!(reader_country(&reader, ip(a)), want, "reader, {a}");
        assert_eq!(db.lookup_detail(ip(a)).unwrap().country, want, "detail, {a}");
    }
    // IPv4-mapped viewers are looked up as IPv4 (docs/semantics.md), though the
    // database has no record at ::ffff:0:0/96.
    assert_eq!(db.resolve(ip("::ffff:8.8.8.8")), cc("US"));
    assert_eq!(db.lookup_detail(ip("::ffff:8.8.8.8")).unwrap().country, cc("US"));
    assert_eq!(reader_country(&reader, ip("::ffff:8.8.8.8")), None);
    // IPv4-compatible addresses stay IPv6, and the reader finds them in the
    // ::/96 subtree: the table agrees.
    assert_eq!(db.resolve(ip("::8.8.8.8")), reader_country(&reader, ip("::8.8.8.8")));
    let d = db.lookup_detail(ip("8.8.8.8")).unwrap();
    assert_eq!(d.source_field, Some(FIELD_COUNTRY_CODE));
    assert!(d.network.unwrap().contains(&ip("8.8.8.8")));
}

#[test]
#[cfg(feature = "embedded-geoip")]
fn shipped_database_6to4_and_teredo_agree_with_the_reader() {
    let db = GeoDatabase::embedded().unwrap();
    let reader = Reader::from_source(GeoDatabase::embedded_bytes()).unwrap();
    for a in [
        "2002::1",
        "2002:808:808::1",
        "2002:c000:201::1",
        "2002:ffff:ffff::1",
        "2001::1",
        "2001:0:808:808::1",
        "::",
        "::1",
        "::ffff:0:1",
        "ffff::1",
    ] {
        assert_eq!(db.resolve(ip(a)), reader_country(&reader, ip(a)), "{a}");
    }
    let mut rng = Rng(2002);
    for _ in 0..50_000 {
        // 6to4: 2002:V4ADDR::/48; Teredo: 2001:0:SERVER:...
        let six_to_four = 0x2002u128 << 112 | (rng.next() as u128) << 48 | rng.next() as u128 >> 16;
        let teredo = 0x2001u128 << 112 | (rng.next() as u128) << 32 | rng.next() as u128 >> 32;
        for a in [six_to_four, teredo] {
            let a = IpAddr::V6(Ipv6Addr::from(a));
            assert_eq!(db.resolve(a), reader_country(&reader, a), "{a}");
        }
    }
}

/// First and last address of `addr/prefix`.
#[cfg(feature = "embedded-geoip")]
fn bounds(addr: IpAddr, prefix: u8) -> (IpAddr, IpAddr) {
    match addr {
        IpAddr::V4(a) => {
            let host = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            let first = u32::from(a) & !host;
            (Ipv4Addr::from(first).into(), Ipv4Addr::from(first | host).into())
        }
        IpAddr::V6(a) => {
            let host = u128::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            let first = u128::from(a) & !host;
            (Ipv6Addr::from(first).into(), Ipv6Addr::from(first | host).into())
        }
    }
}

#[test]
#[cfg(feature = "embedded-geoip")]
fn shipped_database_table_agrees_with_reader_on_every_network() {
    let db = GeoDatabase::embedded().unwrap();
    let reader = Reader::from_source(GeoDatabase::embedded_bytes()).unwrap();
    #[derive(serde::Deserialize)]
    struct Rec {
        country_code: String,
    }
    let mut by_offset: HashMap<usize, Option<CountryCode>> = HashMap::new();
    let mut decode = |r: &maxminddb::LookupResult<'_, &[u8]>| -> Option<CountryCode> {
        let off = r.offset()?;
        *by_offset.entry(off).or_insert_with(|| {
            let rec: Rec = r.decode().unwrap().unwrap();
            Some(CountryCode::new(&rec.country_code).unwrap())
        })
    };
    let mut networks = 0usize;
    let mut outside = 0usize;
    for (i, item) in reader.networks(Default::default()).unwrap().enumerate() {
        let item = item.unwrap();
        let want = decode(&item);
        let net = item.network().unwrap();
        let (first, last) = bounds(net.network(), net.prefix());
        assert_eq!(db.resolve(first), want, "first of {net}");
        assert_eq!(db.resolve(last), want, "last of {net}");
        networks += 1;
        // Just outside the network, for a sample: compare with a lookup.
        if i % 8 == 0 {
            let around: [Option<IpAddr>; 2] = match (first, last) {
                (IpAddr::V4(f), IpAddr::V4(l)) => [
                    u32::from(f).checked_sub(1).map(|x| Ipv4Addr::from(x).into()),
                    u32::from(l).checked_add(1).map(|x| Ipv4Addr::from(x).into()),
                ],
                (IpAddr::V6(f), IpAddr::V6(l)) => [
                    u128::from(f).checked_sub(1).map(|x| Ipv6Addr::from(x).into()),
                    u128::from(l).checked_add(1).map(|x| Ipv6Addr::from(x).into()),
                ],
                _ => unreachable!(),
            };
            for a in around.into_iter().flatten() {
                let r = reader.lookup(a).unwrap();
                assert_eq!(db.resolve(a), decode(&r), "{a} next to {net}");
                outside += 1;
            }
        }
    }
    assert_eq!(networks as u64, db.network_count());
    assert!(outside > 200_000, "{outside}");
    // Random addresses over both families.
    let mut rng = Rng(42);
    for _ in 0..100_000 {
        let v4 = IpAddr::V4(Ipv4Addr::from(rng.next() as u32));
        assert_eq!(db.resolve(v4), decode(&reader.lookup(v4).unwrap()), "{v4}");
        let hi = (0x2000u128 + (rng.next() as u128 % 0x1000)) << 112;
        let v6 = IpAddr::V6(Ipv6Addr::from(hi | (rng.next() as u128) << 48 | rng.next() as u128));
        assert_eq!(db.resolve(v6), decode(&reader.lookup(v6).unwrap()), "{v6}");
    }
}

#[test]
#[cfg(feature = "embedded-geoip")]
fn runtime_conversion_equals_build_time_table() {
    let embedded = GeoDatabase::embedded().unwrap();
    let runtime = GeoDatabase::from_bytes(GeoDatabase::embedded_bytes()).unwrap();
    assert_eq!(runtime.range_counts(), embedded.range_counts());
    assert_eq!(runtime.network_count(), embedded.network_count());
    assert_eq!(runtime.table_bytes(), embedded.table_bytes());
    let mut rng = Rng(99);
    for _ in 0..20_000 {
        let a = IpAddr::V4(Ipv4Addr::from(rng.next() as u32));
        assert_eq!(runtime.resolve(a), embedded.resolve(a));
        let b = IpAddr::V6(Ipv6Addr::from((rng.next() as u128) << 64 | rng.next() as u128));
        assert_eq!(runtime.resolve(b), embedded.resolve(b));
    }
}

// ---------------------------------------------------------------------------
// Resolvers
// ---------------------------------------------------------------------------

#[test]
fn static_countries_most_specific_wins() {
    let table: StaticCountries = [
        ("0.0.0.0/0".parse().unwrap(), CountryCode::new("ZZ").unwrap()),
        ("81.2.69.0/24".parse().unwrap(), CountryCode::new("GB").unwrap()),
        ("81.2.0.0/16".parse().unwrap(), CountryCode::new("DE").unwrap()),
        ("2a02:2770::/32".parse().unwrap(), CountryCode::new("NL").unwrap()),
    ]
    .into_iter()
    .collect();
    assert_eq!(table.len(), 4);
    assert_eq!(table.resolve(ip("81.2.69.1")), cc("GB"));
    assert_eq!(table.resolve(ip("81.2.1.1")), cc("DE"));
    assert_eq!(table.resolve(ip("8.8.8.8")), cc("ZZ"));
    assert_eq!(table.resolve(ip("::ffff:81.2.69.1")), cc("GB"));
    assert_eq!(table.resolve(ip("2a02:2770::1")), cc("NL"));
    assert_eq!(table.resolve(ip("2a03::1")), None);
    assert_eq!(StaticCountries::new().country(ip("8.8.8.8")).unwrap(), None);
    // Through the trait object and smart pointers.
    fn via<R: CountryResolver>(r: R, a: &str) -> Option<CountryCode> {
        r.country(ip(a)).unwrap()
    }
    let boxed: Box<dyn CountryResolver> = Box::new(table.clone());
    assert_eq!(via(&boxed, "81.2.69.1"), cc("GB"));
    let shared = std::sync::Arc::new(table);
    assert_eq!(via(&shared, "81.2.1.1"), cc("DE"));
    assert_eq!(via(shared, "81.2.69.1"), cc("GB"));
    assert_eq!(via(boxed, "8.8.8.8"), cc("ZZ"));
}

#[test]
fn resolvers_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<GeoDatabase>();
    check::<StaticCountries>();
    check::<Box<dyn CountryResolver>>();
}

#[test]
fn pseudo_codes_with_digits_are_countries_of_the_database() {
    // Legacy GeoIP data carries A1/A2/O1 and Cloudflare T1: they load and
    // match a rule that lists them (docs/diagnostics.md makes such rules warnings).
    let bytes = v6db(&[("81.2.69.0/24", json!({"country_code": "A1"}))]);
    let db = GeoDatabase::from_bytes(bytes).unwrap();
    assert_eq!(db.resolve(ip("81.2.69.1")), cc("A1"));
}
