//! Build script: converts the embedded GeoIP database into the compact
//! country range table (`$OUT_DIR/geo-country-table.bin`) that
//! `GeoDatabase::embedded()` includes, so the library never walks the
//! embedded search tree at run time. Only with the `embedded-geoip` feature.

use std::path::PathBuf;
use std::{env, fs};

// The table builder is shared with the library: these files depend on std,
// maxminddb and each other (through `super::`) only.
#[allow(dead_code)]
#[path = "src/geo/build.rs"]
mod build;
#[allow(dead_code)]
#[path = "src/geo/format.rs"]
mod format;
#[allow(dead_code)]
#[path = "src/geo/records.rs"]
mod records;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for file in ["build.rs", "format.rs", "records.rs"] {
        println!("cargo::rerun-if-changed=src/geo/{file}");
    }
    if env::var_os("CARGO_FEATURE_EMBEDDED_GEOIP").is_none() {
        return;
    }
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let mmdb = manifest.join("data/geo-whois-asn-country.mmdb");
    println!("cargo::rerun-if-changed={}", mmdb.display());
    let bytes = fs::read(&mmdb).unwrap_or_else(|e| panic!("cannot read {}: {e}", mmdb.display()));
    let reader = maxminddb::Reader::from_source(&bytes[..])
        .unwrap_or_else(|e| panic!("{} is not a MaxMind DB: {e}", mmdb.display()));
    let built = build::build(&reader, &bytes)
        .unwrap_or_else(|e| panic!("{} cannot be converted: {e}", mmdb.display()));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("geo-country-table.bin");
    fs::write(&out, built.to_bytes())
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}
