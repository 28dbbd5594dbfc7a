//! Arbitrary bytes as a MaxMind DB file, then lookups.
//!
//! Checks: `GeoDatabase::from_bytes` never panics or hangs whatever the
//! bytes (damage is an error with a message, never a silent "unknown");
//! a database that opens answers every lookup, and `lookup_detail` (the
//! MaxMind reader) agrees with the range table (`resolve`) on every
//! address tried: fixed corner addresses and addresses taken from the
//! input itself.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use accessrules::geo::GeoDatabase;
use accessrules::CountryResolver;
use libfuzzer_sys::fuzz_target;

const FIXED: &[&str] = &[
    "0.0.0.0",
    "1.2.3.4",
    "8.8.8.8",
    "128.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::1.2.3.4",
    "::ffff:1.2.3.4",
    "2001::1.2.3.4",
    "2002:102:304::",
    "2001:db8::1",
    "8000::",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
];

fuzz_target!(|data: &[u8]| {
    let db = match GeoDatabase::from_bytes(data.to_vec()) {
        Ok(db) => db,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    // The counts of imperfect data stay within the networks.
    let unassigned: u64 = db.unassigned_codes().iter().map(|&(_, n)| n).sum();
    assert!(db.networks_without_country() + unassigned <= db.network_count());
    let mut addresses: Vec<IpAddr> = FIXED.iter().map(|s| s.parse().unwrap()).collect();
    for chunk in data.chunks_exact(16).take(8) {
        let bytes: [u8; 16] = chunk.try_into().unwrap();
        addresses.push(IpAddr::V6(Ipv6Addr::from(bytes)));
        addresses.push(IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])));
    }
    for ip in addresses {
        let country = db.resolve(ip);
        assert_eq!(db.country(ip).unwrap(), country);
        let detail = match db.lookup_detail(ip) {
            Ok(d) => d,
            Err(e) => panic!("lookup of {ip} failed after a successful open: {e}"),
        };
        assert_eq!(detail.country, country, "table and reader disagree on {ip}");
        if country.is_some() {
            assert!(detail.has_record && detail.source_field.is_some());
        }
        if detail.no_country.is_some() {
            assert!(detail.has_record);
        }
    }
    let _ = format!("{db:?}");
    let _ = (db.build_date(), db.description(), db.range_counts(), db.table_bytes());
});
