//! Arbitrary bytes as a rule document (any of the four input forms).
//!
//! Checks: `check` never panics; the diagnostics are consistent with the
//! verdict and each renders in every format (serde JSON in the `--format json`
//! shape, `Display`, and the CLI's annotated-snippet renderer, compiled in
//! from `src/cli/render.rs`, with and without colour); a valid document
//! compiles to canonical tables, survives serialize → parse unchanged, and
//! its `fix` (when offered) decides the same for every viewer and
//! validates again.

#![no_main]

use accessrules::internals::space;
use accessrules::{check, fix, FixError, InputForm, Limits, Matcher, Options, Severity};
use libfuzzer_sys::fuzz_target;

// The CLI's renderer lives in the binary; compile the same file here so the
// fuzzer exercises the annotate-snippets path on every diagnostic.
#[allow(dead_code)]
#[path = "../../src/cli/render.rs"]
mod render;

/// A fixed "now" so that the token time checks run and are reproducible.
const NOW: i64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let options = Options::at(NOW).with_limits(Limits::default());
    let v = check(data, &options);

    let errors = v.diagnostics().iter().filter(|d| d.severity == Severity::Error).count();
    assert_eq!(errors, v.error_count());
    assert_eq!(v.is_valid(), errors == 0, "a rule set exactly when there is no error");
    if !v.is_valid() {
        assert!(v.rule_set().is_none());
    }

    let source = v.source();
    for d in v.diagnostics() {
        assert!(!d.message.is_empty(), "empty message: {d:?}");
        let path = d.path();
        assert!(path.is_empty() || path.starts_with('/'), "not a JSON Pointer: {path:?}");
        if let Some(span) = d.location.span {
            assert!(span.start <= span.end, "reversed span in {d:?}");
            if let Some(src) = source {
                assert!(span.end <= src.len(), "span past the source in {d:?}");
            }
        }
        assert!(d.location.line.is_none_or(|l| l >= 1));
        assert!(d.location.column.is_none_or(|c| c >= 1));
        let shown = d.to_string();
        assert!(shown.contains(d.code.as_str()));
        let json = serde_json::to_value(d).expect("a diagnostic serialises");
        assert_eq!(json["severity"], d.severity.as_str());
        assert_eq!(json["code"], d.code.as_str());
        assert_eq!(json["path"], path);
        assert_eq!(json["message"], d.message.as_str());
    }

    // The CLI's two formats.
    let mut out = Vec::new();
    render::write_json(&mut out, &v, "fuzz.json").expect("writing to a Vec");
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1, "one line per document");
    let report: serde_json::Value = serde_json::from_slice(&out).expect("the JSON report parses");
    assert_eq!(report["file"], "fuzz.json");
    assert_eq!(report["valid"], v.is_valid());
    assert_eq!(report["errors"], v.error_count());
    assert_eq!(report["warnings"], v.warning_count());
    let colour = data.first().is_some_and(|b| b & 1 == 1);
    out.clear();
    render::write_human(&mut out, &v, "fuzz.json", colour).expect("writing to a Vec");
    assert!(std::str::from_utf8(&out).is_ok());

    let Some(rules) = v.rule_set() else { return };
    let matcher = Matcher::new(rules).unwrap();
    assert!(matcher.tables_are_canonical());

    // parse ∘ serialize is the identity on valid rule sets.
    let text = rules.to_json().to_string();
    let again = check(text.as_bytes(), &options);
    assert_eq!(again.rule_set(), Some(rules), "round trip of {text}: {:?}", again.diagnostics());

    // A fix, when offered, is equivalent and valid.
    match fix(&v) {
        Ok(fixed) => {
            if let Err(viewer) = space::equivalent(rules, &fixed.rule_set) {
                panic!("fix changed the decision for {viewer:?}");
            }
            let form = v.document().map(|d| d.form());
            if !form.is_some_and(InputForm::is_signed_token) {
                let text = fixed.to_json();
                let again = check(text.as_bytes(), &options);
                assert_eq!(
                    again.rule_set(),
                    Some(&fixed.rule_set),
                    "fixed document {text}: {:?}",
                    again.diagnostics()
                );
            }
        }
        Err(FixError::NotEquivalent(viewer)) => panic!("fix failed its proof for {viewer}"),
        Err(e) => panic!("no fix for a valid document: {e}"),
    }
});
