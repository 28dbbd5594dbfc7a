//! Inputs that once crashed or broke an invariant, found by the fuzz
//! targets (`fuzz/`) or the property suites (`tests/robustness.rs`),
//! replayed byte for byte from `tests/fuzz_regressions/`. Each test says
//! what the bug was.

use accessrules::viewer_line::{lines, read_line, tally, MAX_LINE};
use accessrules::{check, fix, Matcher, Options};

fn options() -> Options {
    Options::at(1_700_000_000)
}

/// What the `parse_validate` target checks, for one input.
fn replay_document(input: &[u8]) -> accessrules::Validation {
    let v = check(input, &options());
    assert_eq!(v.is_valid(), v.error_count() == 0);
    for d in v.diagnostics() {
        let json = serde_json::to_value(d).unwrap();
        assert_eq!(json["code"], d.code.as_str());
        assert!(d.to_string().contains(d.code.as_str()));
        if let (Some(span), Some(src)) = (d.location.span, v.source()) {
            assert!(span.start <= span.end && span.end <= src.len(), "{d:?}");
        }
    }
    if let Some(rules) = v.rule_set() {
        assert!(Matcher::new(rules).unwrap().tables_are_canonical());
        let again = check(rules.to_json().to_string().as_bytes(), &options());
        assert_eq!(again.rule_set(), Some(rules));
        fix(&v).unwrap();
    }
    v
}

/// What the `viewer_lines` target checks, for one input.
fn replay_viewer_lines(input: &[u8]) {
    let t = tally(input);
    assert_eq!(t.lines, t.viewers + t.skipped + t.bad);
    for (_, line) in lines(input) {
        if let Err(message) = read_line(line) {
            assert!(message.len() <= 1024, "{} bytes: {message}", message.len());
        }
        if line.len() > MAX_LINE {
            assert!(read_line(line).is_err());
        }
    }
}

#[test]
fn ip_entry_with_a_slash_before_a_percent_sign() {
    // Found by `robustness::validate_never_panics_on_arbitrary_json`: an
    // `ip` entry holding `%` after a `/` ("/%") panicked in
    // `ip::parse_entry`, which sliced the zone id from the `%` to the first
    // `/` of the whole string (`s[1..0]`). The zone id now runs to the
    // first `/` after the `%`.
    let v = replay_document(include_bytes!("fuzz_regressions/ip-slash-before-percent.json"));
    let d = &v.diagnostics()[0];
    assert_eq!((d.code.as_str(), d.path()), ("ip-zone-id", "/0/ip/0"));
    assert!(d.message.contains("zone id (%)"), "{d}");
    // Neighbouring shapes.
    for entry in ["/%", "1.2.3.4/%", "/%/", "%/", "fe80::1/64%eth0", "fe80::%eth0/64", "%"] {
        let doc = format!(r#"[{{"type":"ip.src","ip":[{entry:?}],"action":"block"}}]"#);
        let v = replay_document(doc.as_bytes());
        assert!(!v.is_valid(), "{entry}");
    }
}

#[test]
fn viewer_line_with_control_characters_is_reported_briefly() {
    // Found by the `viewer_lines` target: no bug in the product, but the
    // first bound on the length of a bad line's message (400 bytes) was
    // too tight. The message quotes at most 64 characters of the line,
    // escaped (a control character becomes `\u{1a}`), so it may take up to
    // ~700 bytes; it never echoes a whole 4 KiB line.
    replay_viewer_lines(include_bytes!("fuzz_regressions/viewer_lines-escaped-control-chars.txt"));
}

/// `parse_validate` (the human renderer): a syntax error at a two-byte
/// character gave a one-byte span, and the renderer sliced the snippet
/// inside the character and panicked. Spans now cover whole characters and
/// the renderer widens any span to character boundaries.
#[test]
fn render_multibyte_syntax_error() {
    let input = include_bytes!("fuzz_regressions/render-multibyte-syntax-error.json");
    let v = replay_document(input);
    let span = v.diagnostics()[0].location.span.unwrap();
    assert!(v.source().unwrap().is_char_boundary(span.end));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.json");
    std::fs::write(&path, input).unwrap();
    let out = assert_cmd::Command::cargo_bin("accessrules")
        .unwrap()
        .arg("validate")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("error[json-syntax]"));
}
