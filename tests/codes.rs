//! One case per diagnostic code of docs/diagnostics.md: the document, and the code and
//! JSON Pointer it must draw. A code without a case fails the suite.

use accessrules::{check, Code, Options, Severity};
use base64::Engine;

/// "Now" for the token time checks: 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600;

fn b64url(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// (code, document, path)
fn cases() -> Vec<(Code, String, &'static str)> {
    let s = |x: &str| x.to_owned();
    let rsa = b64(&format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
        b64("0\u{1}")
    ));
    vec![
        (Code::NotUtf8, String::new(), ""), // the test gives bytes that are not UTF-8
        (Code::DocumentTooLarge, format!("[{}]", " ".repeat(2 << 20)), ""),
        (Code::JsonSyntax, s(r#"[{"type":"any","action":"block"},]"#), ""),
        (Code::NestingTooDeep, "[".repeat(100), ""),
        (Code::InvalidJwt, s("eyJhbGciOiJSUzI1NiJ9.@@@.sig"), ""),
        (Code::TopLevelShape, s(r#""any""#), ""),
        (Code::WrongType, s(r#"[{"type":"ip.src","ip":"1.2.3.4","action":"block"}]"#), "/0/ip"),
        (
            Code::DuplicateKey,
            s(r#"[{"type":"any","action":"allow","action":"block"}]"#),
            "/0/action",
        ),
        (
            Code::TooManyEntries,
            format!(
                r#"[{{"type":"ip.src","ip":[{}],"action":"block"}}]"#,
                vec!["\"8.8.8.8\""; 100_001].join(",")
            ),
            "/0/ip",
        ),
        (
            Code::TooManyRules,
            format!("[{}]", [r#"{"type":"any","action":"block"}"#; 6].join(",")),
            "",
        ),
        (Code::MissingType, s(r#"[{"action":"block"}]"#), "/0"),
        (
            Code::UnknownType,
            s(r#"[{"type":"ip.geoip.Country","country":["US"],"action":"block"}]"#),
            "/0/type",
        ),
        (Code::MissingAction, s(r#"[{"type":"any"}]"#), "/0"),
        (Code::UnknownAction, s(r#"[{"type":"any","action":"Allow"}]"#), "/0/action"),
        (Code::MissingIp, s(r#"[{"type":"ip.src","ip":[],"action":"block"}]"#), "/0/ip"),
        (Code::MissingCountry, s(r#"[{"type":"ip.geoip.country","action":"block"}]"#), "/0"),
        (
            Code::InvalidIp,
            s(r#"[{"type":"ip.src","ip":["198.51.100.0/24","87.116.349.35"],"action":"block"}]"#),
            "/0/ip/1",
        ),
        (
            Code::IpLeadingZero,
            s(r#"[{"type":"ip.src","ip":["10.0.0.0/08"],"action":"block"}]"#),
            "/0/ip/0",
        ),
        (
            Code::IpPrefixTooLong,
            s(r#"[{"type":"ip.src","ip":["10.0.0.0/33"],"action":"block"}]"#),
            "/0/ip/0",
        ),
        (
            Code::IpWhitespace,
            s(r#"[{"type":"ip.src","ip":[" 8.8.8.8"],"action":"block"}]"#),
            "/0/ip/0",
        ),
        (
            Code::IpMissingComma,
            s(r#"[{"type":"ip.src","ip":["192.168.0.0/16 203.0.113.35/32"],"action":"block"}]"#),
            "/0/ip/0",
        ),
        (
            Code::IpZoneId,
            s(r#"[{"type":"ip.src","ip":["fe80::1%eth0"],"action":"block"}]"#),
            "/0/ip/0",
        ),
        (Code::IpEmpty, s(r#"[{"type":"ip.src","ip":[""],"action":"block"}]"#), "/0/ip/0"),
        (
            Code::CountryCase,
            s(r#"[{"type":"ip.geoip.country","country":["us"],"action":"block"}]"#),
            "/0/country/0",
        ),
        (
            Code::CountryUnassigned,
            s(r#"[{"type":"ip.geoip.country","country":["UK"],"action":"block"}]"#),
            "/0/country/0",
        ),
        (
            Code::InvalidCountry,
            s(r#"[{"type":"ip.geoip.country","country":["DEU"],"action":"block"}]"#),
            "/0/country/0",
        ),
        (
            Code::MisspeltField,
            s(r#"[{"type":"ip.geoip.country","countries":["US"],"action":"block"}]"#),
            "/0/countries",
        ),
        (Code::TimeNotInteger, s(r#"{"exp": "1767229200"}"#), "/exp"),
        (Code::TimeMilliseconds, s(r#"{"exp": 1767229200000, "accessRules": []}"#), "/exp"),
        (Code::ExpTooFar, format!(r#"{{"exp": {}}}"#, NOW + 86_401), "/exp"),
        (Code::ExpNotAfterNbf, format!(r#"{{"exp": {}, "nbf": {}}}"#, NOW + 60, NOW + 120), "/exp"),
        (Code::Expired, format!(r#"{{"exp": {}}}"#, NOW - 1), "/exp"),
        (Code::KeyPairing, s(r#"{"id": "8f926b2b01bd3ad7e65ee9ee8de8e0e1"}"#), ""),
        (
            Code::InvalidPem,
            format!(
                r#"{{"id": "k", "pem": "{}"}}"#,
                b64("-----BEGIN PUBLIC KEY-----\nMA==\n-----END PUBLIC KEY-----\n")
            ),
            "/pem",
        ),
        (
            Code::NeverDecides,
            s(
                r#"[{"type":"any","action":"block"},{"type":"ip.geoip.country","country":["DE"],"action":"allow"}]"#,
            ),
            "/1",
        ),
        (
            Code::RedundantRule,
            s(
                r#"[{"type":"ip.src","ip":["8.8.8.8"],"action":"allow"},{"type":"ip.geoip.country","country":["DE"],"action":"block"},{"type":"any","action":"block"}]"#,
            ),
            "/1",
        ),
        (
            Code::NeverBlocks,
            s(r#"[{"type":"ip.geoip.country","country":["US"],"action":"allow"}]"#),
            "/0",
        ),
        (Code::BlocksEveryone, s(r#"[{"type":"any","action":"block"}]"#), "/0"),
        (
            Code::TrailingAllowAny,
            s(
                r#"[{"type":"ip.src","ip":["8.8.8.0/24"],"action":"block"},{"type":"any","action":"allow"}]"#,
            ),
            "/1",
        ),
        (
            Code::SingleFamilyAllowList,
            s(
                r#"[{"type":"ip.src","ip":["93.184.216.0/24"],"action":"allow"},{"type":"any","action":"block"}]"#,
            ),
            "/0",
        ),
        (
            Code::HostBitsSet,
            s(r#"[{"type":"ip.src","ip":["93.184.216.34/24"],"action":"block"}]"#),
            "/0/ip/0",
        ),
        (
            Code::DuplicateEntry,
            s(r#"[{"type":"ip.src","ip":["8.8.8.8","8.8.8.8/32"],"action":"block"}]"#),
            "/0/ip/1",
        ),
        (
            Code::NestedEntry,
            s(r#"[{"type":"ip.src","ip":["8.0.0.0/8","8.8.0.0/16"],"action":"block"}]"#),
            "/0/ip/1",
        ),
        (
            Code::Ipv4MappedEntry,
            s(r#"[{"type":"ip.src","ip":["::ffff:93.184.216.34"],"action":"block"}]"#),
            "/0/ip/0",
        ),
        (
            Code::NonRoutableEntry,
            s(r#"[{"type":"ip.src","ip":["127.0.0.1"],"action":"allow"}]"#),
            "/0/ip/0",
        ),
        (Code::ZeroPrefix, s(r#"[{"type":"ip.src","ip":["::/0"],"action":"block"}]"#), "/0/ip/0"),
        (
            Code::PseudoCountry,
            s(r#"[{"type":"ip.geoip.country","country":["EU"],"action":"block"}]"#),
            "/0/country/0",
        ),
        (
            Code::IgnoredField,
            s(r#"[{"type":"any","ip":["10.0.0.0/8"],"action":"block"}]"#),
            "/0/ip",
        ),
        (
            Code::SingleHostAllow,
            s(
                r#"[{"type":"ip.src","ip":["8.8.4.4"],"action":"allow"},{"type":"any","action":"block"}]"#,
            ),
            "/0/ip/0",
        ),
        (Code::UnknownField, s(r#"[{"type":"any","action":"block","note":"x"}]"#), "/0/note"),
        (Code::KeyPairing, format!(r#"{{"pem": "{rsa}"}}"#), ""),
    ]
}

#[test]
fn every_code_is_drawn_at_its_path() {
    let options = Options::at(NOW);
    let mut covered = std::collections::HashSet::new();
    for (code, doc, path) in cases() {
        let bytes: Vec<u8> =
            if code == Code::NotUtf8 { b"[\"\xff\"]".to_vec() } else { doc.into_bytes() };
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

#[test]
fn a_valid_key_pair_is_accepted() {
    let rsa = b64(&format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
        b64("0\u{1}")
    ));
    let doc = format!(
        r#"{{"id": "8f926b2b01bd3ad7e65ee9ee8de8e0e1", "pem": "{rsa}", "exp": {}}}"#,
        NOW + 3600
    );
    let v = check(doc.as_bytes(), &Options::at(NOW));
    assert!(v.diagnostics().is_empty(), "{:?}", v.diagnostics());
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
