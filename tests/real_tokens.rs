//! Tokens and rule documents as issuers really have them (issue 10):
//! every numeric form of the time claims, service-shaped and self-signed
//! tokens, what people paste (API responses, playback URLs, quoted
//! tokens), and the top-level fields of a request body.

use accessrules::{check, fix, Code, InputForm, Options, Severity, Validation};
use base64::Engine;
use proptest::prelude::*;

use crate::strategies::config;

/// 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600;

fn run(doc: &str) -> Validation {
    check(doc.as_bytes(), &Options::at(NOW))
}

fn found(v: &Validation) -> Vec<(&'static str, String, Severity)> {
    v.diagnostics().iter().map(|d| (d.code.as_str(), d.path().to_owned(), d.severity)).collect()
}

fn has(v: &Validation, code: Code, path: &str) -> bool {
    v.diagnostics().iter().any(|d| d.code == code && d.path() == path)
}

fn help_of(v: &Validation, code: Code) -> Option<String> {
    v.diagnostics().iter().find(|d| d.code == code).and_then(|d| d.help.clone())
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

fn jwt(payload: &str) -> String {
    format!("{}.{}.c2ln", b64(r#"{"alg":"RS256","kid":"k"}"#), b64(payload))
}

const TIME_CODES: &[Code] = &[
    Code::TimeNotInteger,
    Code::TimeMilliseconds,
    Code::TimeOutOfRange,
    Code::Expired,
    Code::ExpTooFar,
    Code::ExpNotAfterNbf,
    Code::MissingExp,
];

// ---- 1. Time claims -------------------------------------------------------

#[test]
fn a_fractional_exp_in_a_jwt_still_draws_every_time_check() {
    // Expired (ten days ago) and fractional: both findings, as warnings.
    let ten_days_ago = NOW - 10 * 86_400;
    let v =
        run(&jwt(&format!(r#"{{"sub":"v","kid":"k","exp":{ten_days_ago}.25,"accessRules":[]}}"#)));
    let f = found(&v);
    assert!(f.contains(&("time-not-integer", "/exp".into(), Severity::Warning)), "{f:?}");
    assert!(f.contains(&("expired", "/exp".into(), Severity::Warning)), "{f:?}");
    // Ten days ahead, fractional, issued now (iat): too far.
    let v = run(&jwt(&format!(
        r#"{{"sub":"v","kid":"k","iat":{NOW},"exp":{}.5,"accessRules":[]}}"#,
        NOW + 10 * 86_400
    )));
    assert!(has(&v, Code::ExpTooFar, "/exp"), "{:?}", found(&v));
    // The issue's value: 1767139200.25 is before NOW: expired.
    let v = run(r#"{"exp": 1767139200.25}"#);
    assert!(has(&v, Code::TimeNotInteger, "/exp") && has(&v, Code::Expired, "/exp"));
}

#[test]
fn microseconds_get_a_help_that_validates_clean() {
    let v = run(r#"{"exp": 1767229200000000}"#);
    assert_eq!(help_of(&v, Code::TimeMilliseconds).as_deref(), Some("write 1767229200"));
    assert!(v.diagnostics().iter().any(|d| d.message.contains("microseconds")));
    assert!(run(r#"{"exp": 1767229200}"#).is_valid());
    let v = run(r#"{"exp": 1767229200000000000}"#);
    assert_eq!(help_of(&v, Code::TimeMilliseconds).as_deref(), Some("write 1767229200"));
    let v = run(r#"{"exp": "1767229200000"}"#);
    assert_eq!(
        help_of(&v, Code::TimeNotInteger).as_deref(),
        Some("write 1767229200 without quotes")
    );
    let v = run(r#"{"exp": 1e30}"#);
    assert!(has(&v, Code::TimeOutOfRange, "/exp"));
}

/// A service-minted token: no `iat`, `nbf` = issue - 1 h, `exp` = issue + 24 h.
#[test]
fn a_service_shaped_token_with_24_hours_is_not_too_far() {
    let issue = NOW - 600;
    let v = run(&jwt(&format!(
        r#"{{"sub":"v","kid":"k","nbf":{},"exp":{},"accessRules":[]}}"#,
        issue - 3600,
        issue + 86_400
    )));
    assert!(!has(&v, Code::ExpTooFar, "/exp"), "{:?}", found(&v));
    // One second more than the service allows is reported.
    let v = run(&jwt(&format!(
        r#"{{"sub":"v","kid":"k","nbf":{},"exp":{},"accessRules":[]}}"#,
        issue - 3600,
        issue + 86_401
    )));
    assert!(has(&v, Code::ExpTooFar, "/exp"), "{:?}", found(&v));
}

/// A self-signed token: `nbf` = issue. Without `iat` its issue time is read
/// as `nbf` + 1 h too (docs/semantics.md): a 24 h token is clean, and so is
/// one up to 25 h (the documented blind spot); past that it is too far.
#[test]
fn a_self_signed_token_is_judged_by_the_same_inference() {
    let issue = NOW - 600;
    for (life, too_far) in [(86_400, false), (90_000, false), (90_001, true), (2 * 86_400, true)] {
        let v = run(&jwt(&format!(
            r#"{{"sub":"v","kid":"k","nbf":{issue},"exp":{},"accessRules":[]}}"#,
            issue + life
        )));
        assert_eq!(has(&v, Code::ExpTooFar, "/exp"), too_far, "life {life}: {:?}", found(&v));
    }
    // With `iat`, `iat` is the issue time.
    let v = run(&jwt(&format!(
        r#"{{"sub":"v","kid":"k","iat":{issue},"nbf":{issue},"exp":{},"accessRules":[]}}"#,
        issue + 90_000
    )));
    assert!(has(&v, Code::ExpTooFar, "/exp"));
}

#[test]
fn a_request_with_nbf_after_the_default_exp_is_never_valid() {
    let v = run(&format!(
        r#"{{"nbf": {}, "accessRules": [{{"type":"any","action":"block"}}]}}"#,
        NOW + 7200
    ));
    let d = v.diagnostics().iter().find(|d| d.code == Code::ExpNotAfterNbf).expect("an error");
    assert_eq!((d.path(), d.severity), ("/nbf", Severity::Error));
    assert!(d.message.contains(&(NOW + 3600).to_string()), "names the default exp: {}", d.message);
    assert!(!v.is_valid());
    // Its help validates clean.
    let exp = d.help.as_deref().unwrap().rsplit(' ').next().unwrap().parse::<i64>().unwrap();
    let again = run(&format!(r#"{{"nbf": {}, "exp": {exp}, "accessRules": []}}"#, NOW + 7200));
    assert!(again.is_valid(), "{:?}", found(&again));
    // An nbf within the hour is fine.
    assert!(run(&format!(r#"{{"nbf": {}, "accessRules": []}}"#, NOW + 1800)).is_valid());
}

#[test]
fn a_signed_token_without_exp_says_so() {
    let v = run(r#"{"sub":"v","kid":"k","accessRules":[]}"#);
    assert!(has(&v, Code::MissingExp, ""), "{:?}", found(&v));
    let v = run(&jwt(r#"{"sub":"v","kid":"k","accessRules":[]}"#));
    assert!(has(&v, Code::MissingExp, ""));
    assert!(v.is_valid(), "a warning");
    // A request body gets the service's default: no finding.
    assert!(!has(&run(r#"{"accessRules":[]}"#), Code::MissingExp, ""));
}

/// The forms a time can be written in, as (text, seconds it means).
fn written_time() -> impl Strategy<Value = String> {
    let secs = prop_oneof![
        NOW - 200_000..NOW + 200_000,
        Just(NOW),
        Just(NOW + 86_400),
        Just(NOW + 86_401),
        0i64..2_000_000_000
    ];
    (secs, 0u8..8, 0u32..1000).prop_map(|(s, form, frac)| match form {
        0 => s.to_string(),
        1 => format!("{s}.{frac:03}"),
        2 => format!("\"{s}\""),
        3 => format!("{s}{frac:03}"),
        4 => format!("{s}{frac:03}000"),
        5 => format!("{s}{frac:03}000000"),
        6 => format!("\"{s}.{frac}\""),
        _ => format!("{}e30", s % 10),
    })
}

fn token_shape() -> impl Strategy<Value = u8> {
    0u8..3
}

fn document(shape: u8, exp: &str, nbf: Option<&str>) -> String {
    let nbf = nbf.map_or(String::new(), |n| format!(r#""nbf": {n}, "#));
    match shape {
        0 => format!(r#"{{{nbf}"exp": {exp}, "accessRules": []}}"#),
        1 => format!(r#"{{"sub": "v", "kid": "k", {nbf}"exp": {exp}, "accessRules": []}}"#),
        _ => format!(r#"{{"sub": "v", "kid": "k", "iat": {NOW}, {nbf}"exp": {exp}}}"#),
    }
}

/// `write N` or `write N without quotes` or `e.g. N` or `at most N`: the
/// proposed number.
fn proposed(help: &str) -> Option<i64> {
    help.split([' ', ','])
        .filter_map(|w| w.trim_matches('"').parse::<i64>().ok())
        .next_back()
        .or_else(|| help.split(' ').find_map(|w| w.parse().ok()))
}

proptest! {
    #![proptest_config(config(256))]

    /// Applying any time help that proposes a value yields no time finding
    /// of that kind.
    #[test]
    fn applying_a_time_help_clears_that_finding(
        shape in token_shape(), exp in written_time(), nbf in proptest::option::of(written_time()),
    ) {
        let doc = document(shape, &exp, nbf.as_deref());
        let v = run(&doc);
        for d in v.diagnostics().iter().filter(|d| TIME_CODES.contains(&d.code)) {
            let Some(value) = d.help.as_deref().and_then(proposed) else { continue };
            let (new_exp, new_nbf) = if d.path() == "/nbf" && d.code != Code::ExpNotAfterNbf {
                (exp.clone(), Some(value.to_string()))
            } else {
                (value.to_string(), nbf.clone())
            };
            let again = run(&document(shape, &new_exp, new_nbf.as_deref()));
            let same_kind = again.diagnostics().iter().find(|a| a.code == d.code && a.path() == d.path());
            prop_assert!(
                same_kind.is_none(),
                "{doc}: help {:?} of {} leads to {:?}", d.help, d.code, same_kind
            );
        }
    }

    /// Every numeric form of the same instant gets the same verdict on
    /// `expired` and `exp-too-far` as the plain integer.
    #[test]
    fn every_form_runs_every_check(secs in NOW - 200_000..NOW + 200_000, form in 0u8..5) {
        let written = match form {
            0 => format!("{secs}.5"),
            1 => format!("\"{secs}\""),
            2 => format!("{secs}000"),
            3 => format!("{secs}000000"),
            _ => format!("{secs}000000000"),
        };
        let plain = run(&format!(r#"{{"exp": {secs}}}"#));
        let other = run(&format!(r#"{{"exp": {written}}}"#));
        for code in [Code::Expired, Code::ExpTooFar] {
            prop_assert_eq!(has(&plain, code, "/exp"), has(&other, code, "/exp"), "{} {}", code, written);
        }
    }
}

// ---- 3. What people paste -------------------------------------------------

const RULES: &str = r#"[{"type":"ip.geoip.country","country":["UK"],"action":"block"}]"#;

fn token() -> String {
    jwt(&format!(r#"{{"sub":"v","kid":"k","exp":{},"accessRules":{RULES}}}"#, NOW + 3600))
}

#[test]
fn the_token_api_response_is_read() {
    let response = format!(
        r#"{{"result": {{"token": "{}"}}, "success": true, "errors": [], "messages": []}}"#,
        token()
    );
    let v = run(&response);
    assert_eq!(v.document().unwrap().form(), InputForm::TokenResponse);
    assert!(has(&v, Code::CountryUnassigned, "/accessRules/0/country/0"), "{:?}", found(&v));
    assert!(!v.is_valid());
}

#[test]
fn playback_urls_and_paths_and_quoted_tokens_are_read() {
    let t = token();
    let host = "https://customer-f33zs165nr7gyfy4.cloudflarestream.com";
    let forms = [
        (format!("{host}/{t}/manifest/video.m3u8"), InputForm::PlaybackUrl),
        (format!("{host}/{t}/iframe"), InputForm::PlaybackUrl),
        (format!("{host}/{t}/thumbnails/thumbnail.jpg"), InputForm::PlaybackUrl),
        (format!("{host}/{t}/watch"), InputForm::PlaybackUrl),
        (format!("/{t}/manifest/video.m3u8"), InputForm::PlaybackUrl),
        (format!("\"{t}\""), InputForm::Jwt),
        (format!("{t}\n"), InputForm::Jwt),
    ];
    for (text, form) in forms {
        let v = run(&text);
        assert_eq!(v.document().map(|d| d.form()), Some(form), "{text}");
        assert!(has(&v, Code::CountryUnassigned, "/accessRules/0/country/0"), "{text}");
    }
    // A URL with a token that is not a JWT.
    let v = run(&format!("{host}/eyJhbGciOiJSUzI1NiJ9.@@.x/iframe"));
    assert!(!v.is_valid());
}

#[test]
fn flags_is_a_known_field_and_fix_keeps_it() {
    let doc = r#"{"flags": {"original": true}, "downloadable": false, "accessRules": [{"type":"ip.src","ip":["93.184.216.34/24"],"action":"block"}]}"#;
    let v = run(doc);
    assert!(!v.diagnostics().iter().any(|d| d.code == Code::UnknownField), "{:?}", found(&v));
    let fixed = fix(&v).unwrap();
    assert_eq!(
        fixed.to_json(),
        r#"{"flags":{"original":true},"downloadable":false,"accessRules":[{"type":"ip.src","ip":["93.184.216.0/24"],"action":"block"}]}"#
    );
    assert!(has(&run(r#"{"flags": true}"#), Code::WrongType, "/flags"));
    // Every field of the request body of `POST .../stream/{identifier}/token`.
    let body = r#"{"id": "k", "pem": "x", "exp": 1767229200, "nbf": 1767225600, "downloadable": true, "accessRules": [], "flags": {}}"#;
    assert!(!run(body).diagnostics().iter().any(|d| d.code == Code::UnknownField));
}

// ---- 5. Smaller things ----------------------------------------------------

#[test]
fn errors_do_not_hide_warnings() {
    let v = run(r#"{"exp": "soon", "accessRules": [{"type":"any","action":"block"}]}"#);
    assert!(has(&v, Code::TimeNotInteger, "/exp"));
    assert!(has(&v, Code::BlocksEveryone, "/accessRules/0"), "{:?}", found(&v));
    assert!(!v.is_valid() && v.rule_set().is_none());
    let v =
        run(r#"{"exp": 1767220000, "id": "k", "accessRules": [{"type":"any","action":"block"}]}"#);
    assert!(has(&v, Code::Expired, "/exp") && has(&v, Code::KeyPairing, "/id"));
    assert!(has(&v, Code::BlocksEveryone, "/accessRules/0"));
    // An error in the rules themselves leaves nothing to reason about.
    let v = run(
        r#"[{"type":"any","action":"block"},{"type":"ip.src","ip":["1.2.3.999"],"action":"allow"}]"#,
    );
    assert!(!has(&v, Code::BlocksEveryone, "/0"));
}

#[test]
fn an_object_of_unknown_fields_is_an_error() {
    let v = run(r#"{"uid": "ea95", "thumbnail": "x"}"#);
    assert!(has(&v, Code::TopLevelShape, ""), "{:?}", found(&v));
    assert!(!v.is_valid());
    let v = run(
        r#"{"result": null, "success": false, "errors": [{"code": 10000, "message": "Authentication error"}]}"#,
    );
    assert!(has(&v, Code::TopLevelShape, ""));
    // An empty object is still an empty body.
    assert!(run("{}").is_valid());
    // A known field beside unknown ones: a body with warnings.
    assert!(run(r#"{"exp": 1767229200, "note": "x"}"#).is_valid());
}

#[test]
fn key_pairing_points_at_the_member() {
    let v = run(r#"{"id": "8f926b2b", "accessRules": []}"#);
    let d = v.diagnostics().iter().find(|d| d.code == Code::KeyPairing).unwrap();
    assert_eq!(d.path(), "/id");
    assert_eq!((d.location.line, d.location.column), (Some(1), Some(8)));
}
