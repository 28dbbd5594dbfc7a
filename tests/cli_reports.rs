//! The binary's reports of issue 10: `validate` of several documents (one
//! verdict each, the worst exit status), `explain --format json`, and what
//! the CLI says about imperfect GeoIP data (docs/semantics.md).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use maxminddb_writer::metadata::IpVersion;
use proptest::prelude::*;
use serde_json::{json, Value};

fn bin() -> Command {
    let mut c = Command::cargo_bin("accessrules").expect("binary builds");
    c.env_remove("ACCESSRULES_GEOIP").env("NO_COLOR", "1");
    c
}

/// Runs `args`; returns (exit code, stdout, stderr).
fn run<I, S>(args: I) -> (i32, String, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = bin().args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const VALID: &str = r#"[{"type":"ip.geoip.country","country":["FR"],"action":"block"}]"#;
const WARNING: &str = r#"[{"type":"any","action":"block"}]"#;
const INVALID: &str = r#"[{"type":"ip.src","ip":["198.51.100.0/33"],"action":"allow"}]"#;

/// What one document of a `validate` run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Valid,
    Warning,
    Invalid,
    Missing,
}

fn write(dir: &Path, i: usize, kind: Kind) -> PathBuf {
    let path = dir.join(format!("doc{i}.json"));
    let text = match kind {
        Kind::Valid => VALID,
        Kind::Warning => WARNING,
        Kind::Invalid => INVALID,
        Kind::Missing => return path,
    };
    std::fs::write(&path, text).unwrap();
    path
}

/// The exit status the documents call for: the worst of theirs.
fn expected_status(kinds: &[Kind], deny_warnings: bool) -> i32 {
    kinds
        .iter()
        .map(|k| match k {
            Kind::Valid => 0,
            Kind::Warning => i32::from(deny_warnings),
            Kind::Invalid => 1,
            Kind::Missing => 2,
        })
        .max()
        .unwrap()
}

#[test]
fn validate_several_files_one_verdict_each_and_the_worst_status() {
    let dir = tempfile::tempdir().unwrap();
    let kinds = [Kind::Valid, Kind::Invalid, Kind::Warning];
    let paths: Vec<PathBuf> =
        kinds.iter().enumerate().map(|(i, &k)| write(dir.path(), i, k)).collect();
    let (code, out, _) =
        run(std::iter::once("validate".as_ref()).chain(paths.iter().map(|p| p.as_os_str())));
    assert_eq!(code, 1);
    let verdicts: Vec<&str> = out.lines().filter(|l| l.contains(".json: ")).collect();
    assert_eq!(verdicts.len(), 3, "{out}");
    assert!(verdicts[0].ends_with("doc0.json: valid rule array with 1 rule: 0 warnings"), "{out}");
    assert!(verdicts[1].ends_with("doc1.json: invalid: 1 error, 0 warnings"), "{out}");
    assert!(verdicts[2].ends_with("doc2.json: valid rule array with 1 rule: 1 warning"), "{out}");
    assert!(out.ends_with("3 documents: 2 passed, 1 failed\n"), "{out}");
}

#[test]
fn validate_json_is_one_object_per_file_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let kinds = [Kind::Warning, Kind::Missing, Kind::Valid];
    let paths: Vec<PathBuf> =
        kinds.iter().enumerate().map(|(i, &k)| write(dir.path(), i, k)).collect();
    let mut args = vec!["validate".as_ref(), "--format".as_ref(), "json".as_ref()];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    let (code, out, err) = run(args);
    assert_eq!(code, 2, "an unreadable document is the worst: {err}");
    assert!(err.contains("cannot open rules file") && err.contains("doc1.json"), "{err}");
    let objects: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(objects.len(), 3);
    for (o, p) in objects.iter().zip(&paths) {
        assert_eq!(o["file"], p.to_str().unwrap());
    }
    assert_eq!(objects[0]["valid"], true);
    assert_eq!(objects[0]["warnings"], 1);
    assert_eq!(objects[0]["diagnostics"][0]["code"], "blocks-everyone");
    assert!(objects[1]["error"].as_str().unwrap().contains("cannot open rules file"));
    assert_eq!(objects[1].get("valid"), None);
    assert_eq!(objects[2]["valid"], true);
    // One file: still one object (one line) with its `file`; stdin is `-`.
    let out =
        bin().args(["validate", "-", "--format", "json"]).write_stdin(VALID).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["file"].as_str(), v["valid"].as_bool()), (Some("-"), Some(true)));
}

#[test]
fn validate_usage_errors_with_several_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), 0, Kind::Valid);
    let b = write(dir.path(), 1, Kind::Valid);
    let (code, out, err) =
        run(["validate".as_ref(), "--fix".as_ref(), a.as_os_str(), b.as_os_str()]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.contains("--fix corrects one document at a time (2 given)"), "{err}");
    let (code, _, err) = run(["validate", "-", "-"]);
    assert_eq!(code, 2);
    assert!(err.contains("standard input (-) can be read only once"), "{err}");
    let (code, _, _) = run(["validate"]);
    assert_eq!(code, 2, "no document is a usage error");
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Valid), Just(Kind::Warning), Just(Kind::Invalid), Just(Kind::Missing)]
}

proptest! {
    #![proptest_config(crate::strategies::config(12))]

    /// Any mix of documents: one verdict per document in order, in both
    /// formats, and the worst status.
    #[test]
    fn prop_validate_many(kinds in prop::collection::vec(kind(), 1..5), deny in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> =
            kinds.iter().enumerate().map(|(i, &k)| write(dir.path(), i, k)).collect();
        let want = expected_status(&kinds, deny);
        for format in ["human", "json"] {
            let mut args = vec!["validate".to_owned(), "--format".into(), format.into()];
            if deny {
                args.push("--deny-warnings".into());
            }
            args.extend(paths.iter().map(|p| p.to_str().unwrap().to_owned()));
            let (code, out, _) = run(&args);
            prop_assert_eq!(code, want, "{} {:?}", format, kinds);
            if format == "json" {
                let objects: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
                prop_assert_eq!(objects.len(), kinds.len());
                for ((o, p), k) in objects.iter().zip(&paths).zip(&kinds) {
                    prop_assert_eq!(o["file"].as_str(), p.to_str());
                    let valid = o["valid"].as_bool();
                    let expect = match k {
                        Kind::Missing => None,
                        Kind::Invalid => Some(false),
                        _ => Some(true),
                    };
                    prop_assert_eq!(valid, expect);
                }
            } else {
                let verdicts = out.lines().filter(|l| l.contains("doc") && l.contains(".json: ")).count();
                let readable = kinds.iter().filter(|k| **k != Kind::Missing).count();
                prop_assert_eq!(verdicts, readable, "{}", out);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// explain --format json
// ---------------------------------------------------------------------------

fn explain_json(rules: &str, args: &[&str]) -> Value {
    let out = bin()
        .args(["explain", "-", "--format", "json"])
        .args(args)
        .write_stdin(rules.to_owned())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one object on one line");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn explain_json_has_viewer_country_rules_and_decision() {
    let rules = r#"[{"type":"ip.geoip.country","country":["FR"],"action":"allow"},{"type":"ip.src","ip":["81.2.69.0/24"],"action":"block"},{"type":"any","action":"block"}]"#;
    let v = explain_json(rules, &["--ip", "::ffff:81.2.69.142"]);
    assert_eq!(v["ip"], "81.2.69.142");
    assert_eq!(v["ip_as_written"], "::ffff:81.2.69.142");
    assert_eq!(v["special_purpose"], Value::Null);
    let private = explain_json(rules, &["--ip", "10.1.2.3"]);
    assert_eq!(private["special_purpose"], "a private range (RFC 1918)");
    assert_eq!((v["country"].as_str(), v["country_source"].as_str()), (Some("GB"), Some("geoip")));
    assert_eq!(v["geoip"]["field"], "country_code");
    assert_eq!(v["geoip"]["has_record"], true);
    assert!(v["geoip"]["database"].as_str().unwrap().contains("built 2026-06-17"));
    let steps = v["rules"].as_array().unwrap();
    let summary: Vec<(bool, bool, bool, &str, Value)> = steps
        .iter()
        .map(|s| {
            (
                s["matched"].as_bool().unwrap(),
                s["reached"].as_bool().unwrap(),
                s["decides"].as_bool().unwrap(),
                s["reason"].as_str().unwrap(),
                s["entry"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (false, true, false, "country-not-listed", Value::Null),
            (true, true, true, "in-network", json!(0)),
            (true, false, false, "any", Value::Null),
        ]
    );
    assert_eq!((v["decision"].as_str(), v["rule"].as_u64()), (Some("block"), Some(1)));
    // A given country; GeoIP's answer is still shown.
    let v = explain_json(rules, &["--ip", "81.2.69.142", "--country", "fr"]);
    assert_eq!((v["country"].as_str(), v["country_source"].as_str()), (Some("FR"), Some("given")));
    assert_eq!(v["geoip"]["country"], "GB");
    assert_eq!(v["rules"][0]["reason"], "country-listed");
    assert_eq!((v["decision"].as_str(), v["rule"].as_u64()), (Some("allow"), Some(0)));
    // No rule matches: the default allow, `rule` null.
    let v = explain_json(
        r#"[{"type":"ip.src","ip":["192.0.2.0/24"],"action":"block"}]"#,
        &["--ip", "2001:db8::1"],
    );
    assert_eq!(v["rules"][0]["reason"], "not-in-networks");
    assert_eq!((v["decision"].as_str(), v["rule"].clone()), (Some("allow"), Value::Null));
}

// ---------------------------------------------------------------------------
// Imperfect GeoIP data through the binary
// ---------------------------------------------------------------------------

fn imperfect_db(dir: &Path) -> PathBuf {
    let bytes = crate::util::write_mmdb(
        IpVersion::V6,
        "community-country",
        &[
            ("81.2.69.0/24", json!({"country_code": "UK"})),
            ("81.2.70.0/24", json!({"country_code": "UK"})),
            ("10.0.0.0/8", json!({"country_code": "ZZ"})),
            ("9.9.9.0/24", json!({"country_code": "-"})),
            ("9.9.10.0/24", json!({"country_code": ""})),
            ("9.9.11.0/24", json!({"country": "--"})),
            ("2a02:2770::/32", json!({"country": "NL", "country_name": "Netherlands"})),
        ],
    );
    let path = dir.join("community.mmdb");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn imperfect_database_is_used_with_counts_and_one_note() {
    let dir = tempfile::tempdir().unwrap();
    let db = imperfect_db(dir.path());
    let rules = dir.path().join("rules.json");
    std::fs::write(
        &rules,
        r#"[{"type":"ip.geoip.country","country":["GB","NL"],"action":"block"}]"#,
    )
    .unwrap();
    let note = "accessrules: note: GeoIP database ";
    let codes = "codes that are not assigned ISO 3166-1 codes, matched as written: UK (2 networks), ZZ (1 network)";
    // explain: counted, and the reason of an unknown country.
    let (code, out, err) = run([
        "explain".as_ref(),
        rules.as_os_str(),
        "--ip".as_ref(),
        "9.9.9.9".as_ref(),
        "--geoip".as_ref(),
        db.as_os_str(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("7 networks, 3 networks without a country)"), "{out}");
    assert!(
        out.contains(
            "country unknown (the record of 9.9.9.0/24 has no country: country_code is \"-\")"
        ),
        "{out}"
    );
    assert_eq!(err.matches(note).count(), 1, "{err}");
    assert!(err.contains(codes), "{err}");
    // UK is matched as written: a rule for GB does not match it.
    let (code, out, _) = run([
        "simulate".as_ref(),
        rules.as_os_str(),
        "--ip".as_ref(),
        "81.2.69.1".as_ref(),
        "--geoip".as_ref(),
        db.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((v["country"].as_str(), v["decision"].as_str()), (Some("UK"), Some("allow")));
    // The older IPinfo layout is read.
    let (_, out, _) = run([
        "simulate".as_ref(),
        rules.as_os_str(),
        "--ip".as_ref(),
        "2a02:2770::1".as_ref(),
        "--geoip".as_ref(),
        db.as_os_str(),
    ]);
    assert!(out.contains("country NL from GeoIP): block by rule 0"), "{out}");
    // explain --format json names the "no country" value.
    let out = bin()
        .args(["explain", "-", "--ip", "9.9.11.1", "--format", "json", "--geoip"])
        .arg(&db)
        .write_stdin(WARNING)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["geoip"]["no_country"], json!({"field": "country", "value": "--"}));
    assert_eq!(
        (v["country"].clone(), v["country_source"].as_str()),
        (Value::Null, Some("unknown"))
    );
    // --version describes the database ACCESSRULES_GEOIP selects.
    let out = bin().arg("--version").env("ACCESSRULES_GEOIP", &db).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(text.contains("community-country (MaxMind DB, IPv6, built 2023-11-14, 7 networks, 3 networks without a country)"), "{text}");
    assert!(text.contains(codes), "{text}");
    // The embedded database alone: no note (its one AN network is documented).
    let (_, _, err) =
        run(["explain".as_ref(), rules.as_os_str(), "--ip".as_ref(), "81.2.69.1".as_ref()]);
    assert!(!err.contains("note:"), "{err}");
}
