//! `diff` and `report` (docs/diff.md) held to the reference evaluator:
//! soundness (every witness is told apart, "equivalent" only when no viewer
//! is), completeness (a viewer is in a change exactly when the two sets
//! decide it differently), and the equivalent rewrites of the issue.

use std::net::{IpAddr, Ipv4Addr};

use accessrules::internals::space::RuleSpace;
use accessrules::reference::evaluate;
use accessrules::{diff, report, Countries, GeoDatabase, Options, RuleSet, Viewer};
use proptest::prelude::*;

use crate::space::{rule_set, viewers};

fn rules(json: &str) -> RuleSet {
    RuleSet::from_json_with(json.as_bytes(), &Options::without_clock()).unwrap()
}

/// Random viewers plus every atom witness of both sets' partitions and of
/// their joint one (the boundaries of every region).
fn probes(a: &RuleSet, b: &RuleSet, random: &[Viewer]) -> Vec<Viewer> {
    let joint = RuleSet::new(a.rules.iter().chain(&b.rules).cloned().collect());
    let mut out = random.to_vec();
    for r in [a, b, &joint] {
        out.extend(RuleSpace::new(r).atoms().map(|x| x.witness()));
    }
    out
}

fn config() -> ProptestConfig {
    crate::strategies::config(256)
}

proptest! {
    #![proptest_config(config())]

    /// Soundness and completeness of `diff` against the reference.
    #[test]
    fn diff_is_sound_and_complete(a in rule_set(), b in rule_set(), vs in viewers()) {
        let d = diff(&a, &b).unwrap();
        prop_assert_eq!(d.equivalent, d.changes.is_empty());
        for c in &d.changes {
            prop_assert_eq!(evaluate(&a, &c.witness), c.from);
            prop_assert_eq!(evaluate(&b, &c.witness), c.to);
            prop_assert_ne!(c.from.action, c.to.action);
            prop_assert!(c.contains(&c.witness));
            prop_assert!(c.ipv4_addresses > 0 || c.ipv6_addresses > 0);
        }
        for v in probes(&a, &b, &vs) {
            let (x, y) = (evaluate(&a, &v), evaluate(&b, &v));
            let inside: Vec<_> = d.changes.iter().filter(|c| c.contains(&v)).collect();
            if x.action == y.action {
                prop_assert!(inside.is_empty(), "viewer {:?} decided alike but in a change", v);
            } else {
                prop_assert!(!d.equivalent, "equivalent, but {:?} is told apart", v);
                prop_assert_eq!(inside.len(), 1, "viewer {:?}", v);
                prop_assert_eq!(inside[0].from, x);
                prop_assert_eq!(inside[0].to, y);
            }
        }
        // Symmetry: the reverse diff has the same regions, transitions swapped.
        let r = diff(&b, &a).unwrap();
        prop_assert_eq!(r.changes.len(), d.changes.len());
    }

    /// `report` without a database partitions each family among the rules
    /// and the default, and every witness is decided by its rule.
    #[test]
    fn report_partitions_the_space(a in rule_set()) {
        let rep = report(&a, None).unwrap();
        let v4: u64 = rep.rules.iter().map(|r| r.coverage.ipv4_addresses).sum::<u64>()
            + rep.default.ipv4_addresses;
        let v6: u128 = rep.rules.iter().map(|r| r.coverage.ipv6_addresses).sum::<u128>()
            + rep.default.ipv6_addresses;
        prop_assert_eq!(v4, 1u64 << 32);
        prop_assert_eq!(v6, u128::MAX - (1u128 << 32) + 1);
        for rc in &rep.rules {
            prop_assert_eq!(rc.decides, rc.witness.is_some());
            prop_assert_eq!(rc.decides, !rep.never_decide.contains(&rc.rule));
            if let Some(w) = rc.witness {
                prop_assert_eq!(evaluate(&a, &w).rule.map(|r| r.index()), Some(rc.rule));
            }
        }
    }
}

const DOCS: &str = r#"[{"type":"ip.geoip.country","country":["US","MX"],"action":"allow"},{"type":"ip.src","ip":["93.184.216.0/24","2400:cb00::/32"],"action":"allow"},{"type":"any","action":"block"}]"#;

#[test]
fn equivalent_rewrites_are_recognised() {
    let docs = rules(DOCS);
    for rewrite in [
        // US,MX vs MX,US
        r#"[{"type":"ip.geoip.country","country":["MX","US"],"action":"allow"},{"type":"ip.src","ip":["93.184.216.0/24","2400:cb00::/32"],"action":"allow"},{"type":"any","action":"block"}]"#,
        // a merged CIDR list written split
        r#"[{"type":"ip.geoip.country","country":["US","MX"],"action":"allow"},{"type":"ip.src","ip":["93.184.216.0/25","93.184.216.128/25","2400:cb00::/33","2400:cb00:8000::/33"],"action":"allow"},{"type":"any","action":"block"}]"#,
        // non-overlapping rules reordered (both allow)
        r#"[{"type":"ip.src","ip":["93.184.216.0/24","2400:cb00::/32"],"action":"allow"},{"type":"ip.geoip.country","country":["US","MX"],"action":"allow"},{"type":"any","action":"block"}]"#,
        // a never-deciding rule added
        r#"[{"type":"ip.geoip.country","country":["US","MX"],"action":"allow"},{"type":"ip.src","ip":["93.184.216.0/24","2400:cb00::/32"],"action":"allow"},{"type":"any","action":"block"},{"type":"ip.src","ip":["10.0.0.0/8"],"action":"allow"}]"#,
    ] {
        let d = diff(&docs, &rules(rewrite)).unwrap();
        assert!(d.equivalent, "{rewrite}: {:?}", d.changes);
    }
}

#[test]
fn realistic_edit_of_the_docs_example() {
    // Canada added, the IPv6 network dropped.
    let edit = rules(
        r#"[{"type":"ip.geoip.country","country":["US","MX","CA"],"action":"allow"},{"type":"ip.src","ip":["93.184.216.0/24"],"action":"allow"},{"type":"any","action":"block"}]"#,
    );
    let d = diff(&rules(DOCS), &edit).unwrap();
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["equivalent"], false);
    let changes = json["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    // 2400:cb00::/32 of every country but US, MX, CA (and unknown): allowed by rule 1, now blocked.
    assert_eq!(changes[0]["from"], serde_json::json!({"decision": "allow", "rule": 1}));
    assert_eq!(changes[0]["to"], serde_json::json!({"decision": "block", "rule": 2}));
    assert_eq!(changes[0]["ipv4_addresses"], 0);
    assert_eq!(changes[0]["ipv6_addresses"], (1u128 << 96).to_string());
    assert_eq!(changes[0]["unknown_country"], true);
    // Canadians everywhere but the listed networks: blocked, now allowed.
    assert_eq!(changes[1]["countries"], serde_json::json!(["CA"]));
    assert_eq!(changes[1]["ipv4_addresses"], (1u64 << 32) - 256);
    assert_eq!(changes[1]["unknown_country"], false);
    assert_eq!(
        d.changes[1].countries,
        Countries::Listed(vec![accessrules::CountryCode::new("CA").unwrap()])
    );
}

#[cfg(feature = "embedded-geoip")]
#[test]
fn report_with_the_embedded_database_partitions_and_witnesses() {
    let db = GeoDatabase::embedded().unwrap();
    let docs = rules(DOCS);
    let rep = report(&docs, Some(&db)).unwrap();
    let v4: u64 = rep.rules.iter().map(|r| r.coverage.ipv4_addresses).sum::<u64>()
        + rep.default.ipv4_addresses;
    let v6: u128 = rep.rules.iter().map(|r| r.coverage.ipv6_addresses).sum::<u128>()
        + rep.default.ipv6_addresses;
    assert_eq!(v4, 1u64 << 32);
    assert_eq!(v6, u128::MAX - (1u128 << 32) + 1);
    // Block everyone else, IPv6 too: the final block decides most of both families.
    assert!(rep.rules[2].coverage.ipv4_share > 0.5);
    assert!(rep.rules[2].coverage.ipv6_share > 0.99);
    assert!(rep.rules[2].unknown_country);
    assert_eq!(rep.allowed.ipv4_addresses + rep.blocked.ipv4_addresses, 1u64 << 32);
    for rc in &rep.rules {
        let w = rc.witness.unwrap();
        // Witnesses carry their address's GeoIP country: `simulate --ip` agrees.
        assert_eq!(w.country(), db.resolve(w.ip()), "rule {}", rc.rule);
        assert_eq!(evaluate(&docs, &w).rule.map(|r| r.index()), Some(rc.rule));
    }
    // Sampled addresses: the rule deciding them has a non-zero count.
    let mut x = 0x9E37_79B9u32;
    for _ in 0..2000 {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let ip = IpAddr::V4(Ipv4Addr::from(x));
        let d = evaluate(&docs, &Viewer::new(ip, db.resolve(ip)));
        let count = match d.rule {
            Some(r) => rep.rules[r.index()].coverage.ipv4_addresses,
            None => rep.default.ipv4_addresses,
        };
        assert!(count > 0, "{ip} decided by {d} which has no addresses");
    }
}

/// `validate --fix` over the 5-rule limit: the fix has at most 5 rules and
/// `diff` finds it equivalent; otherwise the error gives the best count.
fn fix_of(json: &str) -> Result<accessrules::Fix, accessrules::FixError> {
    accessrules::fix(&accessrules::check(json.as_bytes(), &Options::without_clock()))
}

#[test]
fn fix_fits_the_five_rule_limit_when_it_can() {
    let text = std::fs::read_to_string("examples/seven-rules.json").unwrap();
    let original = accessrules::check(text.as_bytes(), &Options::without_clock());
    let codes: Vec<_> =
        original.diagnostics().iter().filter(|d| d.is_error()).map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["too-many-rules"]);
    let fixed = fix_of(&text).unwrap();
    assert_eq!(fixed.rule_set.rules.len(), 5);
    assert_eq!(
        fixed.changes,
        ["removed rule 5 (redundant)", "merged rules 1 and 4 (same type and action)"]
    );
    // The printed document is valid and decides as the original for every viewer.
    let reread = rules(&fixed.to_json());
    let seven = RuleSet::new(
        serde_json::from_str::<Vec<serde_json::Value>>(&text)
            .unwrap()
            .iter()
            .map(|r| rules(&format!("[{r}]")).rules.remove(0))
            .collect(),
    );
    assert!(diff(&seven, &reread).unwrap().equivalent);

    let six = std::fs::read_to_string("tests/data/rules/needs-six-rules.json").unwrap();
    assert_eq!(fix_of(&six), Err(accessrules::FixError::TooManyRules { rules: 7, best: 6 }));
}

proptest! {
    #![proptest_config(crate::strategies::config(96))]

    /// Any over-long document: a fix is within the limit and equivalent.
    #[test]
    fn fix_over_the_limit_is_equivalent_or_says_why(
        a in crate::strategies::rule_set_from(
            crate::strategies::rule_from(
                proptest::sample::select(vec![
                    "10.0.0.0/8".parse::<ipnet::IpNet>().unwrap(),
                    "10.1.0.0/16".parse().unwrap(),
                    "11.0.0.0/8".parse().unwrap(),
                    "2001:db8::/32".parse().unwrap(),
                    "2001:db8::/48".parse().unwrap(),
                ]),
                crate::strategies::country_in(&["US", "DE", "GB", "FR"]),
                3,
            ),
            6..=9,
        )
    ) {
        let json = serde_json::to_string(&a).unwrap();
        match fix_of(&json) {
            Ok(f) => {
                prop_assert!(f.rule_set.rules.len() <= 5);
                prop_assert!(diff(&a, &f.rule_set).unwrap().equivalent);
            }
            Err(accessrules::FixError::TooManyRules { rules, best }) => {
                prop_assert_eq!(rules, a.rules.len());
                prop_assert!(best > 5 && best <= rules);
            }
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }
}

#[cfg(feature = "cli")]
mod cli {
    use assert_cmd::Command;
    use serde_json::Value;

    fn run(args: &[&str]) -> (i32, String, String) {
        let out = Command::cargo_bin("accessrules")
            .unwrap()
            .env_remove("ACCESSRULES_GEOIP")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    #[test]
    fn diff_exit_statuses_and_json() {
        let (code, out, _) =
            run(&["diff", "examples/docs-example.json", "examples/docs-example-reordered.json"]);
        assert_eq!(code, 0);
        assert!(out.contains("equivalent"));
        let (code, out, _) = run(&[
            "diff",
            "examples/docs-example.json",
            "examples/docs-example-edit.json",
            "--format",
            "json",
        ]);
        assert_eq!(code, 1);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["equivalent"], false);
        let c = &v["changes"][0];
        for key in [
            "from",
            "to",
            "ipv4_addresses",
            "ipv6_addresses",
            "countries",
            "unknown_country",
            "witness",
        ] {
            assert!(c.get(key).is_some(), "{key} missing in {c}");
        }
        assert!(c["ipv6_addresses"].is_string());
        assert!(c["witness"]["ip"].is_string());
        // Invalid documents: exit 2, diagnostics, nothing compared.
        let (code, out, err) =
            run(&["diff", "examples/docs-example.json", "examples/mistakes.json"]);
        assert_eq!(code, 2);
        assert!(out.is_empty());
        assert!(err.contains("error[country-unassigned]"));
    }

    #[test]
    fn diff_witnesses_are_decided_differently_by_simulate() {
        let (_, out, _) = run(&[
            "diff",
            "examples/docs-example.json",
            "examples/docs-example-edit.json",
            "--format",
            "json",
        ]);
        let v: Value = serde_json::from_str(&out).unwrap();
        for c in v["changes"].as_array().unwrap() {
            let ip = c["witness"]["ip"].as_str().unwrap();
            let mut args = vec!["simulate", "", "--ip", ip, "--format", "json"];
            let country = c["witness"]["country"].as_str().map(str::to_owned);
            if let Some(cc) = &country {
                args.extend(["--country", cc.as_str()]);
            }
            for (file, side) in
                [("examples/docs-example.json", "from"), ("examples/docs-example-edit.json", "to")]
            {
                args[1] = file;
                let (code, out, _) = run(&args);
                if country.is_none() {
                    continue; // unknown country cannot be forced on the command line
                }
                assert_eq!(code, 0);
                let s: Value = serde_json::from_str(&out).unwrap();
                assert_eq!(s["decision"], c[side]["decision"], "{file} {ip}");
                assert_eq!(s["rule"], c[side]["rule"], "{file} {ip}");
            }
        }
    }

    /// The A/B replay reads the logs `simulate --input` reads: a gzip
    /// Logpush file, its `xx` (unknown, no GeoIP) and non-viewer requests.
    #[test]
    fn replay_reads_compressed_logpush() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("http_requests.log.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(concat!(
            r#"{"ClientCountry":"gb","ClientIP":"2400:cb00::5","ClientRequestSource":"eyeball"}"#, "\n",
            r#"{"ClientIP":"1.2.3.4","ClientCountry":"ca","ClientRequestSource":"eyeball"}"#, "\n",
            r#"{"ClientIP":"8.8.8.8","ClientCountry":"xx","ClientRequestSource":"eyeball"}"#, "\n",
            r#"{"ClientIP":"1.2.3.5","ClientCountry":"ca","ClientRequestSource":"healthcheck"}"#, "\n",
        ).as_bytes()).unwrap();
        std::fs::write(&log, gz.finish().unwrap()).unwrap();
        let (code, out, err) = run(&[
            "diff",
            "examples/docs-example.json",
            "examples/docs-example-edit.json",
            "--input",
            log.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert_eq!(code, 1, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        // 8.8.8.8 with `xx` is unknown (not GeoIP's US): blocked by both.
        assert_eq!((v["viewers"].as_u64(), v["changed"].as_u64()), (Some(3), Some(2)));
        assert_eq!((v["unchanged"].as_u64(), v["not_viewers"].as_u64()), (Some(1), Some(1)));
    }

    #[test]
    fn replay_counts_transitions() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("v.txt");
        std::fs::write(&log, "8.8.8.8,CA\n2400:cb00::1,DE\n1.2.3.4\nnot-an-ip\n8.8.4.4,CA\n")
            .unwrap();
        let (code, out, err) = run(&[
            "diff",
            "examples/docs-example.json",
            "examples/docs-example-edit.json",
            "--input",
            log.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("line 4"));
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["viewers"], 4);
        assert_eq!(v["changed"], 3);
        assert_eq!(v["unchanged"], 1);
        assert_eq!(v["bad_lines"], 1);
        let t = &v["transitions"][0];
        assert_eq!(t["viewers"], 2);
        assert_eq!(t["from"], serde_json::json!({"decision": "block", "rule": 2}));
        assert_eq!(t["examples"][0]["line"], 1);
        // An empty log never reports success.
        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, "").unwrap();
        let (code, _, _) = run(&[
            "diff",
            "examples/docs-example.json",
            "examples/docs-example.json",
            "--input",
            empty.to_str().unwrap(),
        ]);
        assert_eq!(code, 2);
    }

    #[test]
    fn report_json_shape() {
        let (code, out, _) = run(&["report", "examples/docs-example.json", "--format", "json"]);
        assert_eq!(code, 0);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["rules"].as_array().unwrap().len(), 3);
        assert_eq!(v["rules"][2]["type"], "any");
        assert!(v["rules"][2]["ipv6_share"].as_f64().unwrap() > 0.99);
        assert_eq!(v["never_decide"], serde_json::json!([]));
    }
}
