//! One case per diagnostic code: the document, and the code and JSON
//! Pointer it must draw. A code without a case fails the suite, and so does a
//! code missing from `docs/diagnostics.md` or a code listed there that does
//! not exist.
//!
//! The cases that are plain documents are data, in `tests/data/codes.json`;
//! [`generated_cases`] holds the few that are built at run time.

use accessrules::{check, Code, Options, Severity};
use base64::Engine;
use serde_json::Value;

/// "Now" for the token time checks: 2026-01-01T00:00:00Z (also the `now` of
/// `tests/data/codes.json`).
const NOW: i64 = 1_767_225_600;

fn b64url(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn code_named(name: &str) -> Code {
    *Code::ALL
        .iter()
        .find(|c| c.as_str() == name)
        .unwrap_or_else(|| panic!("tests/data/codes.json: no code {name:?}"))
}

/// (code, document, path) of `tests/data/codes.json`: a `document` that is a
/// JSON string is the document's text as is (so it can be broken JSON, or
/// hold a duplicate key); any other value is the document itself.
fn data_cases() -> Vec<(Code, Vec<u8>, String)> {
    let text = std::fs::read_to_string("tests/data/codes.json").unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["now"], NOW, "tests/data/codes.json is written for NOW");
    file["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            let code = code_named(case["code"].as_str().unwrap());
            let document = match &case["document"] {
                Value::String(text) => text.clone(),
                value => value.to_string(),
            };
            let path = case["path"].as_str().unwrap().to_owned();
            (code, document.into_bytes(), path)
        })
        .collect()
}

/// (code, document, path) of the cases that are not plain documents, so they
/// are built here rather than written in `tests/data/codes.json`: bytes that
/// are not UTF-8 (a JSON file cannot hold them), documents of megabytes or
/// 100 001 entries, and keys whose `pem` is base64 built at run time.
fn generated_cases() -> Vec<(Code, Vec<u8>, String)> {
    let rsa = b64(&format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
        b64("0\u{1}")
    ));
    let public_key = b64("-----BEGIN PUBLIC KEY-----\nMA==\n-----END PUBLIC KEY-----\n");
    let cases = vec![
        (Code::NotUtf8, b"[\"\xff\"]".to_vec(), ""),
        (Code::DocumentTooLarge, format!("[{}]", " ".repeat(2 << 20)).into_bytes(), ""),
        (
            Code::TooManyEntries,
            format!(
                r#"[{{"type":"ip.src","ip":[{}],"action":"block"}}]"#,
                vec!["\"8.8.8.8\""; 100_001].join(",")
            )
            .into_bytes(),
            "/0/ip",
        ),
        (Code::InvalidPem, format!(r#"{{"id": "k", "pem": "{public_key}"}}"#).into_bytes(), "/pem"),
        (Code::KeyPairing, format!(r#"{{"pem": "{rsa}"}}"#).into_bytes(), "/pem"),
    ];
    cases.into_iter().map(|(code, doc, path)| (code, doc, path.to_owned())).collect()
}

#[test]
fn every_code_is_drawn_at_its_path() {
    let options = Options::at(NOW);
    let mut covered = std::collections::HashSet::new();
    for (code, bytes, path) in data_cases().into_iter().chain(generated_cases()) {
        let path = path.as_str();
        let v = check(&bytes, &options);
        let found = v.diagnostics().iter().find(|d| d.code == code && d.path() == path);
        let d = found.unwrap_or_else(|| {
            let got: Vec<_> = v.diagnostics().iter().map(|d| (d.code.as_str(), d.path())).collect();
            panic!("{code} at {path:?} expected; got {got:?}")
        });
        assert_eq!(d.severity, code.default_severity(), "{code}");
        assert!(!d.message.is_empty());
        if d.severity == Severity::Error {
            assert!(
                !v.is_valid() && v.rule_set().is_none(),
                "{code}: an error makes the document invalid"
            );
        }
        if !path.is_empty() || code == Code::JsonSyntax {
            assert!(
                d.location.line.is_some() && d.location.column.is_some(),
                "{code} has a position"
            );
        }
        covered.insert(code);
    }
    for code in Code::ALL {
        assert!(covered.contains(code), "no case for {code}");
    }
}

/// `docs/diagnostics.md` has one table row per code, with its severity, and
/// no row for a code that does not exist.
#[test]
fn the_diagnostics_doc_lists_every_code_and_only_codes() {
    let doc = std::fs::read_to_string("docs/diagnostics.md").unwrap();
    for code in Code::ALL {
        let row = format!("| `{}` | {} |", code.as_str(), code.default_severity().as_str());
        assert_eq!(
            doc.lines().filter(|line| line.starts_with(&row)).count(),
            1,
            "docs/diagnostics.md must have exactly one row for {code}"
        );
    }
    for line in doc.lines().filter(|line| line.starts_with("| `")) {
        let name = line[3..].split('`').next().unwrap();
        assert!(
            Code::ALL.iter().any(|c| c.as_str() == name),
            "docs/diagnostics.md lists {name:?}, which is not a diagnostic code"
        );
    }
}

#[test]
fn a_valid_key_pair_is_accepted() {
    // A real (test-only) key: with the `signing` feature the key is parsed.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/keys/rsa2048-pkcs1.pem");
    let rsa = b64(&std::fs::read_to_string(path).unwrap());
    let doc = format!(
        r#"{{"id": "8f926b2b01bd3ad7e65ee9ee8de8e0e1", "pem": "{rsa}", "exp": {}}}"#,
        NOW + 3600
    );
    let v = check(doc.as_bytes(), &Options::at(NOW));
    assert!(v.diagnostics().is_empty(), "{:?}", v.diagnostics());

    // The shape of a key without one inside: only the byte scan (no
    // `signing` feature) lets it through.
    let fake = b64(&format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
        b64("0\u{1}")
    ));
    let doc = format!(r#"{{"id": "k", "pem": "{fake}", "exp": {}}}"#, NOW + 3600);
    let v = check(doc.as_bytes(), &Options::at(NOW));
    let codes: Vec<&str> = v.diagnostics().iter().map(|d| d.code.as_str()).collect();
    if cfg!(feature = "signing") {
        assert_eq!(codes, ["invalid-pem"]);
        assert_eq!(v.diagnostics()[0].path(), "/pem");
    } else {
        assert!(codes.is_empty());
    }
}

#[test]
fn jwt_time_findings_are_warnings_and_never_block_inspection() {
    let payload = format!(
        r#"{{"sub":"ea95132c15732412d22c1476fa83f27a","kid":"k","exp":"{}","nbf":{},"accessRules":[{{"type":"any","action":"block"}}]}}"#,
        NOW - 10,
        NOW - 3600
    );
    let jwt = format!("{}.{}.c2ln", b64url(r#"{"alg":"RS256","kid":"k"}"#), b64url(&payload));
    let v = check(jwt.as_bytes(), &Options::at(NOW));
    assert!(v.is_valid(), "{:?}", v.diagnostics());
    for code in [Code::TimeNotInteger, Code::Expired] {
        let d = v.diagnostics().iter().find(|d| d.code == code).unwrap_or_else(|| panic!("{code}"));
        assert_eq!(d.severity, Severity::Warning);
        assert_eq!(d.path(), "/exp");
    }
}

#[test]
fn all_findings_in_one_pass() {
    let doc = r#"[{"type":"ip.src","ip":["87.116.349.35","010.0.0.1"],"action":"Block"},{"type":"ip.geoip.country","country":["UK","us"]}]"#;
    let v = check(doc.as_bytes(), &Options::without_clock());
    let got: Vec<(&str, &str)> =
        v.diagnostics().iter().map(|d| (d.code.as_str(), d.path())).collect();
    assert_eq!(
        got,
        [
            ("invalid-ip", "/0/ip/0"),
            ("ip-leading-zero", "/0/ip/1"),
            ("unknown-action", "/0/action"),
            ("missing-action", "/1"),
            ("country-unassigned", "/1/country/0"),
            ("country-case", "/1/country/1"),
        ]
    );
}
