//! The `accessrules` binary end to end: output shapes and exit statuses of
//! the README, the cases users have hit (issue 2), real addresses against the
//! shipped database.

use std::io::Write;

use assert_cmd::Command;
use serde_json::Value;

fn bin() -> Command {
    let mut c = Command::cargo_bin("accessrules").expect("binary builds");
    c.env_remove("ACCESSRULES_GEOIP").env_remove("NO_COLOR");
    c
}

/// Runs `args` with `stdin`; returns (exit code, stdout, stderr).
fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    let out = bin().args(args).write_stdin(stdin.to_owned()).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn simulate_json(rules: &str, ip: &str) -> Value {
    let (code, out, err) = run(&["simulate", "-", "--ip", ip, "--format", "json"], rules);
    assert_eq!(code, 0, "stderr: {err}");
    serde_json::from_str(&out).expect("one JSON object")
}

fn decision(rules: &str, ip: &str) -> (String, Value) {
    let v = simulate_json(rules, ip);
    (v["decision"].as_str().unwrap().to_owned(), v["rule"].clone())
}

fn validate_json(doc: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["validate", "-", "--format", "json", "--now", "1767225600"];
    args.extend_from_slice(extra);
    let (code, out, err) = run(&args, doc);
    (code, serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}")))
}

fn codes_at(v: &Value) -> Vec<(String, String)> {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["code"].as_str().unwrap().to_owned(), d["path"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn allow_only_list_restricts_nobody() {
    let rules = r#"[{"type":"ip.src","ip":["203.0.113.7"],"action":"allow"}]"#;
    assert_eq!(decision(rules, "198.51.100.9"), ("allow".into(), Value::Null));
}

#[test]
fn ipv4_entries_never_match_ipv6_viewers() {
    let rules = r#"[{"type":"ip.src","ip":["93.184.216.0/24"],"action":"allow"},{"type":"any","action":"block"}]"#;
    assert_eq!(decision(rules, "2606:2800:220:1::1"), ("block".into(), Value::from(1)));
}

#[test]
fn mapped_viewer_is_its_ipv4_address() {
    let rules = r#"[{"type":"ip.src","ip":["93.184.216.0/24"],"action":"block"}]"#;
    let v = simulate_json(rules, "::ffff:93.184.216.34");
    assert_eq!(v["ip"], "93.184.216.34");
    assert_eq!((v["decision"].as_str(), v["rule"].as_u64()), (Some("block"), Some(0)));
}

#[test]
fn bare_ipv6_address_is_a_128() {
    let rules = r#"[{"type":"ip.src","ip":["2001:db8::2","203.0.113.7"],"action":"block"}]"#;
    assert_eq!(decision(rules, "2001:db8::1"), ("allow".into(), Value::Null));
    assert_eq!(decision(rules, "2001:db8::2"), ("block".into(), Value::from(0)));
}

#[test]
fn invalid_entry_refuses_the_document() {
    let rules = r#"[{"type":"ip.src","ip":["198.51.100.0/24","87.116.349.35"],"action":"block"}]"#;
    let (code, out, err) = run(&["simulate", "-", "--ip", "87.116.34.35"], rules);
    assert_eq!(code, 1);
    assert!(out.is_empty(), "nothing simulated: {out}");
    assert!(err.contains("/0/ip/1") && err.contains("invalid-ip"), "{err}");
    let (code, v) = validate_json(rules, &[]);
    assert_eq!(code, 1);
    assert_eq!(v["valid"], false);
    assert!(codes_at(&v).contains(&("invalid-ip".into(), "/0/ip/1".into())));
}

#[test]
fn pasted_docs_example_is_a_json_syntax_error_with_position() {
    let doc = std::fs::read_to_string("examples/docs-example-pasted.json").unwrap();
    let (code, v) = validate_json(&doc, &[]);
    assert_eq!(code, 1);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "json-syntax");
    assert_eq!((d["line"].as_u64(), d["column"].as_u64()), (Some(6), Some(30)));
    assert!(d["message"].as_str().unwrap().contains("JSON syntax error"));
    assert!(d["message"].as_str().unwrap().contains("trailing comma"));
}

#[test]
fn keys_are_case_sensitive() {
    let doc = r#"{"AccessRules":[{"Type":"ip.src","Action":"block","Ip":["203.0.113.0/24"]}]}"#;
    let (code, v) = validate_json(doc, &[]);
    assert_eq!(code, 1);
    let d = &v["diagnostics"][0];
    assert_eq!(
        (d["code"].as_str(), d["path"].as_str()),
        (Some("misspelt-field"), Some("/AccessRules"))
    );
    assert!(d["help"].as_str().unwrap().contains("\"accessRules\""));
}

#[test]
fn unknown_country_matches_no_country_rule() {
    let rules = r#"[{"type":"ip.geoip.country","country":["US"],"action":"block"}]"#;
    let v = simulate_json(rules, "10.0.0.1");
    assert_eq!(v["country"], Value::Null);
    assert_eq!(v["country_source"], "unknown");
    assert_eq!(v["decision"], "allow");
}

#[test]
fn leading_zeros_are_errors_although_ipnet_accepts_them() {
    for entry in ["010.0.0.0/8", "010.0.0.1", "10.0.0.0/08"] {
        let doc = format!(r#"[{{"type":"ip.src","ip":["{entry}"],"action":"block"}}]"#);
        let (code, v) = validate_json(&doc, &[]);
        assert_eq!(code, 1, "{entry}");
        assert_eq!(
            codes_at(&v),
            vec![("ip-leading-zero".to_owned(), "/0/ip/0".to_owned())],
            "{entry}"
        );
    }
}

#[test]
fn real_addresses_against_the_shipped_database() {
    let rules = std::fs::read_to_string("examples/docs-example.json").unwrap();
    let v = simulate_json(&rules, "8.8.8.8");
    assert_eq!((v["country"].as_str(), v["country_source"].as_str()), (Some("US"), Some("geoip")));
    assert_eq!((v["decision"].as_str(), v["rule"].as_u64()), (Some("allow"), Some(0)));
    let v = simulate_json(&rules, "81.2.69.142");
    assert_eq!(v["country"], "GB");
    assert_eq!((v["decision"].as_str(), v["rule"].as_u64()), (Some("block"), Some(2)));
    let v = simulate_json(&rules, "10.0.0.1");
    assert_eq!(v["country"], Value::Null);
    let v = simulate_json(&rules, "2400:cb00:1::1");
    assert_eq!(
        (v["decision"].as_str(), v["rule"].as_u64()),
        (Some("allow"), Some(0)),
        "US by GeoIP first"
    );
}

#[test]
fn given_country_is_case_insensitive_and_skips_geoip() {
    let rules = r#"[{"type":"ip.geoip.country","country":["MX"],"action":"block"}]"#;
    let (code, out, _) =
        run(&["simulate", "-", "--ip", "8.8.8.8", "--country", "mx", "--format", "json"], rules);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"ip":"8.8.8.8","country":"MX","country_source":"given","decision":"block","rule":0})
    );
}

#[test]
fn bad_viewer_address_is_exit_2() {
    let rules = r#"[{"type":"any","action":"block"}]"#;
    for bad in ["8.8.8", "fe80::1%eth0", "", "010.0.0.1"] {
        let (code, out, err) = run(&["simulate", "-", "--ip", bad], rules);
        assert_eq!(code, 2, "{bad:?}");
        assert!(out.is_empty());
        assert!(err.contains("invalid viewer address"), "{err}");
    }
    let (code, _, err) = run(&["simulate", "-", "--ip", "8.8.8.8", "--country", "USA"], rules);
    assert_eq!(code, 2);
    assert!(err.contains("invalid country"), "{err}");
}

#[test]
fn usage_and_io_errors_are_exit_2() {
    assert_eq!(run(&["simulate", "-"], "[]").0, 2, "--ip or --input is required");
    assert_eq!(run(&["validate", "/no/such/file.json"], "").0, 2);
    assert_eq!(run(&["frobnicate"], "").0, 2);
    let (code, _, err) =
        run(&["simulate", "-", "--ip", "8.8.8.8", "--geoip", "/no/such.mmdb"], "[]");
    assert_eq!(code, 2);
    assert!(err.contains("/no/such.mmdb"), "{err}");
}

#[test]
fn validate_json_shape_and_exit_statuses() {
    let doc = r#"[{"type":"ip.src","ip":["93.184.216.34/24"],"action":"block"}]"#;
    let (code, v) = validate_json(doc, &[]);
    assert_eq!(code, 0, "warnings alone pass");
    assert_eq!(v["valid"], true);
    assert_eq!(v["errors"], 0);
    assert_eq!(v["warnings"], 1);
    let d = v["diagnostics"][0].as_object().unwrap();
    let keys: Vec<&str> = d.keys().map(String::as_str).collect();
    assert_eq!(keys, ["severity", "code", "path", "message", "help", "line", "column"]);
    assert_eq!(d["help"], "write \"93.184.216.0/24\"");
    let (code, _) = validate_json(doc, &["--deny-warnings"]);
    assert_eq!(code, 1);
}

#[test]
fn human_output_has_position_snippet_and_help() {
    let doc =
        "[\n  {\"type\": \"ip.src\", \"ip\": [\"87.116.349.35\"], \"action\": \"block\"}\n]\n";
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(doc.as_bytes()).unwrap();
    let path = file.path().to_str().unwrap().to_owned();
    let (code, out, _) = run(&["validate", &path], "");
    assert_eq!(code, 1);
    assert!(out.contains(&format!("{path}:2:29")), "{out}");
    assert!(out.contains("error[invalid-ip]"), "{out}");
    assert!(out.contains("^^^"), "{out}");
    assert!(!out.contains('\u{1b}'), "no colour when not on a terminal");
}

#[test]
fn fix_keeps_decisions_and_clears_host_bits() {
    let doc = r#"[{"type":"ip.src","ip":["93.184.216.34/24"],"action":"block"}]"#;
    let (code, out, err) = run(&["validate", "-", "--fix"], doc);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v, serde_json::json!([{"type":"ip.src","ip":["93.184.216.0/24"],"action":"block"}]));
    let doc = r#"[{"type":"ip.geoip.country","country":["UK"],"action":"block"}]"#;
    let (code, out, _) = run(&["validate", "-", "--fix"], doc);
    assert_eq!((code, out.as_str()), (1, ""), "errors are never fixed");
}

#[test]
fn explain_names_the_matching_network_and_decision() {
    let rules = r#"[{"type":"ip.src","ip":["93.184.216.0/24"],"action":"allow"},{"type":"any","action":"block"}]"#;
    let (code, out, _) = run(&["explain", "-", "--ip", "93.184.216.34"], rules);
    assert_eq!(code, 0);
    assert!(out.contains("93.184.216.34 is in 93.184.216.0/24"), "{out}");
    assert!(out.contains("decision: allow by rule 0"), "{out}");
    let (_, out, _) = run(&["explain", "-", "--ip", "2606:2800:220:1::1"], rules);
    assert!(out.contains("never matches an IPv6 viewer"), "{out}");
    assert!(out.contains("decision: block by rule 1"), "{out}");
}

#[test]
fn version_names_the_database() {
    let (code, out, _) = run(&["--version"], "");
    assert_eq!(code, 0);
    assert!(out.contains("built 2026-06-17"), "{out}");
}

#[test]
fn simulate_input_streams_and_summarises() {
    let rules = std::fs::read_to_string("examples/docs-example.json").unwrap();
    let mut rules_file = tempfile::NamedTempFile::new().unwrap();
    rules_file.write_all(rules.as_bytes()).unwrap();
    let viewers = "8.8.8.8\n# comment\n\n81.2.69.142\nnot-an-ip\n::ffff:93.184.216.34,de\n{\"ip\":\"10.0.0.1\"}\n";
    let out = bin()
        .args(["simulate", rules_file.path().to_str().unwrap(), "--input", "-", "--format", "tsv"])
        .write_stdin(viewers)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        "8.8.8.8\tUS\tallow\t0\n81.2.69.142\tGB\tblock\t2\n93.184.216.34\tDE\tallow\t1\n10.0.0.1\t-\tblock\t2\n"
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("line 5: invalid viewer address \"not-an-ip\""), "{stderr}");
    assert!(stderr.contains("4 viewers: 2 allowed, 2 blocked; 1 bad line\n"), "{stderr}");
    let ndjson = bin()
        .args([
            "simulate",
            rules_file.path().to_str().unwrap(),
            "--input",
            "-",
            "--format",
            "ndjson",
        ])
        .write_stdin("8.8.8.8\n")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&ndjson.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"ip":"8.8.8.8","country":"US","country_source":"geoip","decision":"allow","rule":0})
    );
}

#[test]
fn all_four_input_forms() {
    use base64::Engine;
    let rules = r#"[{"type":"any","action":"block"}]"#;
    let body = format!(r#"{{"exp": 1767229200, "accessRules": {rules}}}"#);
    let payload = format!(
        r#"{{"sub": "ea95132c15732412d22c1476fa83f27a", "kid": "k", "accessRules": {rules}}}"#
    );
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let jwt = format!("{}.{}.c2ln", b64(r#"{"alg":"RS256","kid":"k"}"#), b64(&payload));
    for doc in [rules.to_owned(), body, payload.clone(), jwt] {
        let (code, out, err) = run(
            &["simulate", "-", "--ip", "8.8.8.8", "--format", "json", "--now", "1767225600"],
            &doc,
        );
        assert_eq!(code, 0, "{doc}: {err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["decision"], "block", "{doc}");
    }
}

#[test]
fn viewer_input_with_a_byte_order_mark() {
    let mut rules = tempfile::NamedTempFile::new().unwrap();
    rules.write_all(br#"[{"type":"any","action":"block"}]"#).unwrap();
    let out = bin()
        .args(["simulate", rules.path().to_str().unwrap(), "--input", "-", "--format", "tsv"])
        .write_stdin("\u{feff}8.8.8.8\n")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "8.8.8.8\tUS\tblock\t0\n");
}

#[test]
fn cli_usage_mistakes_are_exit_2() {
    let rules = r#"[{"type":"any","action":"block"}]"#;
    let (code, _, err) = run(&["simulate", "-", "--input", "-"], rules);
    assert_eq!(code, 2);
    assert!(err.contains("cannot both be standard input"), "{err}");
    let (code, _, err) = run(
        &["simulate", "examples/docs-example.json", "--input", "-", "--country", "US"],
        "8.8.8.8\n",
    );
    assert_eq!(code, 2);
    assert!(err.contains("--country goes with --ip"), "{err}");
    let (code, _, err) = run(&["simulate", "-", "--ip", "8.8.8.8", "--country", "uk"], rules);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean GB"), "{err}");
}

/// Repeated findings are grouped in the human output: the first three of a
/// code per rule, then a count; the JSON lists every one. A one-line
/// document renders without the line: each snippet is cut around its value.
#[test]
fn repeated_findings_are_grouped_and_long_lines_cut() {
    let entries = ["\"::1\""; 10].join(",");
    let doc = format!(r#"[{{"type":"ip.src","ip":[{entries}],"action":"block"}}]"#);
    let (code, out, _) = run(&["validate", "-"], &doc);
    assert_eq!(code, 0);
    assert_eq!(out.matches("warning[duplicate-entry]").count(), 3, "{out}");
    assert!(out.contains("<stdin>: 6 more duplicate-entry findings in rule 0 not shown"), "{out}");
    assert!(
        out.contains("<stdin>: 7 more non-routable-entry findings in rule 0 not shown"),
        "{out}"
    );
    assert!(out.contains("valid rule array with 1 rule: 19 warnings"), "{out}");
    let (_, json, _) = run(&["validate", "-", "--format", "json"], &doc);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["diagnostics"].as_array().unwrap().len(), 19);
    // A long line is cut: no output line holds the whole document.
    let long = format!(
        r#"[{{"type":"ip.src","ip":[{}"10.0.0.0/8"],"action":"block"}}]"#,
        "\"8.8.8.8\",".repeat(2000)
    );
    let (_, out, _) = run(&["validate", "-"], &long);
    assert!(out.lines().all(|l| l.len() < 400), "{out}");
    assert!(out.contains("non-routable-entry"));
    // The value's true position is given once, and no origin line is empty.
    let at = long.find("\"10.0.0.0/8\"").unwrap() + 1;
    assert_eq!(out.matches(&format!("<stdin>:1:{at}")).count(), 1, "{out}");
    assert!(out.lines().all(|l| !l.trim_end().ends_with(":::")), "{out}");
}

/// Options that only mean something for a log (`--input`) are refused
/// with `--ip`, not silently ignored.
#[test]
fn log_only_options_are_refused_with_ip() {
    for option in [
        &["--summary", "json"][..],
        &["--ip-field", "ClientIP"],
        &["--country-field", "ClientCountry"],
        &["--fields", "ClientIP,ClientCountry"],
    ] {
        let mut args = vec!["simulate", "examples/docs-example.json", "--ip", "8.8.8.8"];
        args.extend_from_slice(option);
        let (code, out, err) = run(&args, "");
        assert_eq!(code, 2, "{option:?}: {out}{err}");
        assert!(err.contains("cannot be used with"), "{option:?}: {err}");
    }
}

/// A token's findings point into its decoded payload: the snippet header
/// says so, and the summary names the file as given.
#[test]
fn token_findings_are_labelled_as_the_decoded_payload() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let payload = r#"{"sub":"v","kid":"k","exp":4000000000,"accessRules":[{"type":"ip.geoip.country","country":["UK"],"action":"allow"}]}"#;
    let token = format!("{}.{}.c2ln", b64(r#"{"alg":"RS256","kid":"k"}"#), b64(payload));
    let (code, out, _) = run(&["validate", "-"], &token);
    assert_eq!(code, 1, "{out}");
    let at = payload.find("\"UK\"").unwrap() + 1;
    assert!(out.contains(&format!("--> <stdin> (decoded token payload):1:{at}")), "{out}");
    assert!(out.contains("\n<stdin>: invalid: "), "{out}");
}
