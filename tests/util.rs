//! Helpers shared by the integration test modules.

use std::collections::HashMap;
use std::net::IpAddr;

use maxminddb_writer::metadata::IpVersion;
use maxminddb_writer::paths::IpAddrWithMask;
use serde_json::Value;

/// A MaxMind DB (type `database_type`) with `entries` (network, record),
/// written by maxminddb-writer. In an IPv6 database, IPv4 networks are
/// stored at `::a.b.c.d/(96 + len)` as MaxMind does. Broad networks first.
pub fn write_mmdb(version: IpVersion, database_type: &str, entries: &[(&str, Value)]) -> Vec<u8> {
    let mut db = maxminddb_writer::Database::default();
    db.metadata.ip_version = version;
    db.metadata.binary_format_major_version = 2;
    db.metadata.database_type = database_type.into();
    db.metadata.build_epoch = 1_700_000_000;
    let mut values = HashMap::new();
    for (net, value) in entries {
        let key = value.to_string();
        let data = *values.entry(key).or_insert_with(|| db.insert_value(value.clone()).unwrap());
        let (addr, len) = net.split_once('/').unwrap_or((net, ""));
        let mut path: IpAddrWithMask = net.parse().unwrap();
        if let (IpVersion::V6, Ok(IpAddr::V4(v4))) = (version, addr.parse::<IpAddr>()) {
            let len: u8 = if len.is_empty() { 32 } else { len.parse().unwrap() };
            path = IpAddrWithMask::new(IpAddr::V6(v4.to_ipv6_compatible()), 96 + len);
        }
        db.insert_node(path, data);
    }
    db.write_to(Vec::new()).unwrap()
}
