//! `accessrules explain`: every rule, whether it matched and why.

use std::io::{self, Write};

use accessrules::{explain, network_to_string, Matcher, RuleKind, Viewer};

use super::render::describe_database;
use super::{open_geo, parse_viewer_country, parse_viewer_ip, valid_rules, ExplainArgs, Outcome};

pub fn run(args: ExplainArgs) -> Outcome {
    let validation = valid_rules(&args.rules)?;
    let rules = validation.rule_set().expect("valid rules have a rule set");
    let ip = parse_viewer_ip(&args.ip)?;
    let given = args.country.as_deref().map(parse_viewer_country).transpose()?;
    let geo = open_geo(&args.geo)?;
    let viewer = Viewer::without_country(ip);
    let mut out = Vec::new();
    let w = &mut out;
    writeln!(w, "viewer {}", viewer.ip())?;
    if viewer.ip() != ip {
        writeln!(
            w,
            "  written as {ip}: an IPv4-mapped IPv6 address is evaluated as its IPv4 address"
        )?;
    }
    if let Some(note) = super::special_note(ip) {
        writeln!(w, "  note: {note}")?;
    }
    writeln!(w, "  GeoIP database: {}", describe_database(&geo))?;
    let record = geo.lookup_detail(viewer.ip()).map_err(|e| anyhow::anyhow!(e))?;
    let country = match given {
        Some(c) => {
            writeln!(
                w,
                "  country {c} (given; GeoIP would say {})",
                record.country.map_or("unknown".into(), |c| c.to_string())
            )?;
            Some(c)
        }
        None => {
            match (record.country, record.network) {
                (Some(c), Some(net)) => writeln!(
                    w,
                    "  country {c} (GeoIP {} of network {net})",
                    record.source_field.unwrap_or("record")
                )?,
                (Some(c), None) => writeln!(w, "  country {c} (GeoIP)")?,
                (None, Some(net)) if record.has_record => {
                    writeln!(w, "  country unknown (the record of {net} has no country)")?
                }
                (None, _) => {
                    writeln!(w, "  country unknown (no GeoIP record): no country rule can match")?
                }
            }
            record.country
        }
    };
    if let Some(rep) = record.represented_country {
        writeln!(w, "  represented country {rep} (shown only; rules match the country above)")?;
    }
    let viewer = viewer.with_country(country);
    let e = explain(rules, &viewer);
    let matcher = Matcher::new(rules).unwrap();
    debug_assert_eq!(matcher.decide(&viewer), e.decision);
    if given.is_none()
        && !matcher.needs_country(viewer.ip())
        && rules.rules.iter().any(|r| matches!(r.kind, RuleKind::Country(_)))
    {
        writeln!(w, "  (the compiled matcher skips the GeoIP lookup for this address: an earlier rule decides first)")?;
    }
    writeln!(w)?;
    for step in &e.steps {
        let rule = &rules.rules[step.rule.index()];
        let what = match &rule.kind {
            RuleKind::Any => "any".to_owned(),
            RuleKind::IpSrc(nets) => {
                let list: Vec<String> = nets.iter().take(4).map(network_to_string).collect();
                let more = if nets.len() > 4 {
                    format!(", … {} more", nets.len() - 4)
                } else {
                    String::new()
                };
                format!("ip.src [{}{more}]", list.join(", "))
            }
            RuleKind::Country(codes) => {
                let list: Vec<&str> = codes.iter().take(8).map(|c| c.as_str()).collect();
                let more = if codes.len() > 8 {
                    format!(", … {} more", codes.len() - 8)
                } else {
                    String::new()
                };
                format!("ip.geoip.country [{}{more}]", list.join(", "))
            }
            other => other.type_name().to_owned(),
        };
        let verdict = match (step.matched, step.reached, e.decision.rule == Some(step.rule)) {
            (true, true, true) => "MATCH -> decides",
            (true, false, _) => "match (not reached)",
            (false, false, _) => "no match (not reached)",
            _ => "no match",
        };
        writeln!(w, "rule {} {} {}: {verdict}", step.rule, what, rule.action)?;
        writeln!(w, "    {}", step.reason.describe(&viewer))?;
    }
    writeln!(w)?;
    match e.decision.rule {
        Some(r) => writeln!(w, "decision: {} by rule {r}", e.decision.action)?,
        None => writeln!(
            w,
            "decision: {} (no rule matched; viewers no rule matches are allowed)",
            e.decision.action
        )?,
    }
    let mut stdout = io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(())
}
