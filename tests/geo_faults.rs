//! GeoIP faults through the binary (docs/semantics.md, issue 5): a truncated,
//! zero-filled or damaged database, one with no country layout and a
//! missing file are errors with exit status 2 and a clear message, never a
//! silent "unknown" (which would fall through to the default allow); an
//! IPv4-only database leaves IPv6 viewers unknown. Also the seed databases
//! of the fuzz corpus (`tests/data/geoip`), which these helpers write.
//!
//! The library-level behaviour of each fault is in `tests/geo.rs`.

use std::path::{Path, PathBuf};

use accessrules::geo::{GeoDatabase, GeoErrorKind};
use assert_cmd::Command;
use maxminddb::Reader;
use maxminddb_writer::metadata::IpVersion;
use serde_json::{json, Value};

fn write_db(version: IpVersion, entries: &[(&str, Value)]) -> Vec<u8> {
    crate::util::write_mmdb(version, "accessrules-fault-test", entries)
}

/// GeoIP2 layout, IPv6 tree with IPv4 networks.
fn geoip2_v6() -> Vec<u8> {
    write_db(
        IpVersion::V6,
        &[
            (
                "81.2.69.0/24",
                json!({"country": {"iso_code": "GB"}, "registered_country": {"iso_code": "GB"}}),
            ),
            ("1.0.0.0/24", json!({"registered_country": {"iso_code": "AU"}})),
            (
                "214.0.0.0/16",
                json!({"country": {"iso_code": "DE"}, "represented_country": {"iso_code": "US"}}),
            ),
            ("2a02:2770::/32", json!({"country": {"iso_code": "NL"}})),
            ("10.0.0.0/8", json!({"continent": {"code": "EU"}})),
        ],
    )
}

/// ip-location-db layout, IPv4 only.
fn location_v4() -> Vec<u8> {
    write_db(
        IpVersion::V4,
        &[
            ("81.2.69.0/24", json!({"country_code": "GB"})),
            ("8.8.8.0/24", json!({"country_code": "US"})),
            ("0.0.0.0/8", json!({"country_code": "ZZ"})),
        ],
    )
}

/// An ASN database: neither country layout.
fn asn_v6() -> Vec<u8> {
    write_db(
        IpVersion::V6,
        &[
            ("8.8.8.0/24", json!({"autonomous_system_number": 15169})),
            ("2a02:2770::/32", json!({"autonomous_system_number": 196752})),
        ],
    )
}

/// The database with the first byte of every record (the control byte)
/// replaced by an extended type that does not exist: every lookup that
/// reaches a record fails to decode.
fn damaged_records(good: &[u8]) -> Vec<u8> {
    let reader = Reader::from_source(good).unwrap();
    let md = reader.metadata();
    let node_bytes = usize::from(md.record_size) * 2 / 8;
    let data_start = md.node_count as usize * node_bytes + 16;
    let mut bytes = good.to_vec();
    for net in reader.networks(Default::default()).unwrap() {
        let offset = net.unwrap().offset().expect("a network with a record");
        bytes[data_start + offset] = 0x00; // extended type...
        bytes[data_start + offset + 1] = 0xff; // ... 7 + 255: no such type
    }
    bytes
}

fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/geoip")
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("rules.json"),
            r#"[{"type":"ip.geoip.country","country":["GB","NL"],"action":"block"}]"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("viewers.txt"), "81.2.69.1\n2a02:2770::1\n8.8.8.8\n")
            .unwrap();
        Files { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn db(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

fn bin() -> Command {
    let mut c = Command::cargo_bin("accessrules").unwrap();
    c.env_remove("ACCESSRULES_GEOIP").env("NO_COLOR", "1");
    c
}

/// Runs `simulate --ip`, `simulate --input` and `explain` with `--geoip
/// db`: each must exit 2 with nothing on standard output and an error
/// containing every one of `needles`.
fn assert_geo_error(files: &Files, db: &Path, needles: &[&str]) {
    let rules = files.path("rules.json");
    let viewers = files.path("viewers.txt");
    let runs: [Vec<&std::ffi::OsStr>; 3] = [
        vec!["simulate".as_ref(), rules.as_ref(), "--ip".as_ref(), "81.2.69.1".as_ref()],
        vec!["simulate".as_ref(), rules.as_ref(), "--input".as_ref(), viewers.as_ref()],
        vec!["explain".as_ref(), rules.as_ref(), "--ip".as_ref(), "81.2.69.1".as_ref()],
    ];
    for args in runs {
        let out = bin().args(&args).arg("--geoip").arg(db).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(stderr.starts_with("accessrules: error: "), "{stderr}");
        for n in needles {
            assert!(stderr.contains(n), "{args:?}: {stderr:?} lacks {n:?}");
        }
    }
}

#[test]
fn seed_databases_are_what_the_fuzz_corpus_says() {
    // Regenerate with: cargo test -- --ignored write_seed_databases
    let read = |name: &str| std::fs::read(seed_dir().join(name)).unwrap();
    let db = GeoDatabase::from_bytes(read("geoip2-v6.mmdb")).unwrap();
    assert_eq!(db.resolve("81.2.69.1".parse().unwrap()).unwrap().as_str(), "GB");
    assert_eq!(db.resolve("2a02:2770::1".parse().unwrap()).unwrap().as_str(), "NL");
    let db = GeoDatabase::from_bytes(read("location-v4.mmdb")).unwrap();
    assert_eq!(db.ip_version(), 4);
    assert_eq!(db.resolve("8.8.8.8".parse().unwrap()).unwrap().as_str(), "US");
    let err = GeoDatabase::from_bytes(read("asn-no-country.mmdb")).unwrap_err();
    assert_eq!(err.kind(), GeoErrorKind::NoCountryField);
    let err = GeoDatabase::from_bytes(read("damaged-records.mmdb")).unwrap_err();
    assert_eq!(err.kind(), GeoErrorKind::Corrupt);
}

#[test]
#[ignore = "writes tests/data/geoip; run by hand to regenerate the fuzz seeds"]
fn write_seed_databases() {
    let dir = seed_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("geoip2-v6.mmdb"), geoip2_v6()).unwrap();
    std::fs::write(dir.join("location-v4.mmdb"), location_v4()).unwrap();
    std::fs::write(dir.join("asn-no-country.mmdb"), asn_v6()).unwrap();
    std::fs::write(dir.join("damaged-records.mmdb"), damaged_records(&location_v4())).unwrap();
}

#[test]
fn a_good_database_works_through_the_binary() {
    let files = Files::new();
    let db = files.db("good.mmdb", &geoip2_v6());
    let out = bin()
        .args(["simulate"])
        .arg(files.path("rules.json"))
        .args(["--ip", "2a02:2770::1", "--format", "json", "--geoip"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["country"], "NL");
    assert_eq!(v["country_source"], "geoip");
    assert_eq!(v["decision"], "block");
}

#[test]
fn truncated_database_is_exit_2() {
    let files = Files::new();
    let good = geoip2_v6();
    for len in [0, 10, good.len() / 2, good.len() - 1] {
        let db = files.db(&format!("truncated-{len}.mmdb"), &good[..len]);
        assert_geo_error(&files, &db, &["corrupt or not a MaxMind DB", &db.display().to_string()]);
    }
}

#[test]
fn zero_filled_database_is_exit_2() {
    let files = Files::new();
    let db = files.db("zeros.mmdb", &vec![0u8; geoip2_v6().len()]);
    assert_geo_error(&files, &db, &["corrupt or not a MaxMind DB", &db.display().to_string()]);
}

#[test]
fn damaged_data_section_is_an_error_never_unknown() {
    let good = location_v4();
    let bad = damaged_records(&good);
    // The damage is real: the MaxMind reader fails to decode the record of
    // an address the good database knows.
    let reader = Reader::from_source(&bad[..]).unwrap();
    let lookup = reader.lookup("8.8.8.8".parse().unwrap()).unwrap();
    assert!(lookup.decode::<Value>().is_err(), "the record still decodes");
    // The library reads every record when it opens a database, so the
    // failed lookup surfaces at open, as an error.
    let err = GeoDatabase::from_bytes(bad.clone()).unwrap_err();
    assert_eq!(err.kind(), GeoErrorKind::Corrupt, "{err}");
    assert!(err.to_string().contains("record for"), "{err}");
    // And through the binary: exit 2, never a decision made with an
    // "unknown" country.
    let files = Files::new();
    let db = files.db("damaged.mmdb", &bad);
    assert_geo_error(&files, &db, &["corrupt or not a MaxMind DB", "record for"]);
}

#[test]
fn database_without_a_country_layout_is_exit_2() {
    let files = Files::new();
    let db = files.db("asn.mmdb", &asn_v6());
    assert_geo_error(
        &files,
        &db,
        &["has no country field", "country.iso_code", "country_code", &db.display().to_string()],
    );
}

#[test]
fn missing_database_is_exit_2_naming_the_path() {
    let files = Files::new();
    let db = files.path("does-not-exist.mmdb");
    assert_geo_error(&files, &db, &["not found", &db.display().to_string()]);
    // The same through ACCESSRULES_GEOIP.
    let out = bin()
        .arg("simulate")
        .arg(files.path("rules.json"))
        .args(["--ip", "81.2.69.1"])
        .env("ACCESSRULES_GEOIP", &db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
}

#[test]
fn unreadable_database_is_exit_2() {
    // A directory where a file is expected.
    let files = Files::new();
    let dir = files.path("a-directory");
    std::fs::create_dir(&dir).unwrap();
    assert_geo_error(&files, &dir, &["cannot read GeoIP database"]);
}

#[test]
fn ipv4_only_database_leaves_ipv6_viewers_unknown() {
    let files = Files::new();
    let db = files.db("v4.mmdb", &location_v4());
    let run = |ip: &str| {
        let out = bin()
            .arg("simulate")
            .arg(files.path("rules.json"))
            .args(["--ip", ip, "--format", "json", "--geoip"])
            .arg(&db)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        // The note on its unassigned code ZZ (docs/semantics.md), and for
        // the loopback viewer only, the special-purpose note.
        let stderr = String::from_utf8_lossy(&out.stderr);
        let special = ip == "::1";
        assert_eq!(stderr.lines().count(), 1 + usize::from(special), "{stderr}");
        assert!(stderr.contains("matched as written: ZZ (1 network)\n"), "{stderr}");
        assert_eq!(stderr.contains("no viewer at the edge"), special, "{stderr}");
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    // IPv4 (and IPv4-mapped) viewers are resolved.
    let v = run("81.2.69.1");
    assert_eq!((v["country"].as_str(), v["decision"].as_str()), (Some("GB"), Some("block")));
    let v = run("::ffff:81.2.69.1");
    assert_eq!((v["ip"].as_str(), v["country"].as_str()), (Some("81.2.69.1"), Some("GB")));
    // IPv6 viewers are unknown: no country rule matches, default allow.
    let v = run("2a02:2770::1");
    assert_eq!(v["country"], Value::Null);
    assert_eq!(v["country_source"], "unknown");
    assert_eq!((v["decision"].as_str(), &v["rule"]), (Some("allow"), &Value::Null));
    // `::1` is IPv6, never 0.0.0.1 (which the database would know as ZZ).
    let v = run("::1");
    assert_eq!((v["ip"].as_str(), &v["country"]), (Some("::1"), &Value::Null));
    // explain says so too.
    let out = bin()
        .arg("explain")
        .arg(files.path("rules.json"))
        .args(["--ip", "2a02:2770::1", "--geoip"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("allow"), "{text}");
    // A stream of viewers: the IPv6 one is unknown, the others resolved.
    let out = bin()
        .arg("simulate")
        .arg(files.path("rules.json"))
        .arg("--input")
        .arg(files.path("viewers.txt"))
        .args(["--format", "tsv", "--geoip"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "81.2.69.1\tGB\tblock\t0\n2a02:2770::1\t-\tallow\t-\n8.8.8.8\tUS\tallow\t-\n"
    );
}

#[test]
fn endless_geoip_file_is_refused_not_read_whole() {
    // `--geoip /dev/zero` (or a FIFO, or a mistaken multi-GB file) is read
    // until memory runs out: unbounded allocation on input (fuzz/README.md). Run
    // here under `ulimit -v` (1 GiB) so the failure is an "out of memory"
    // error instead of the OOM killer. Fix: refuse files that are not
    // regular, and read at most a bound (real country databases are
    // 5–150 MB) with `take`, reporting a clear error above it.
    if !Path::new("/dev/zero").exists() {
        return;
    }
    let files = Files::new();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 1048576; exec '{}' simulate '{}' --ip 81.2.69.1 --geoip /dev/zero",
            assert_cmd::cargo::cargo_bin("accessrules").display(),
            files.path("rules.json").display()
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("out of memory"), "{stderr}");
    assert!(stderr.contains("/dev/zero"), "{stderr}");
}
