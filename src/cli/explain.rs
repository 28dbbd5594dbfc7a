//! `accessrules explain`: every rule, whether it matched and why, for
//! people or (`--format json`) as one object (docs/semantics.md).

use std::io::{self, Write};

use accessrules::geo::{GeoDatabase, GeoRecord};
use accessrules::{
    explain, network_to_string, CountryCode, Explanation, Matcher, Reason, RuleKind, RuleSet,
    Viewer,
};
use serde_json::{json, Value};

use super::render::describe_database;
use super::{
    open_geo, parse_viewer_country, parse_viewer_ip, valid_rules, DiagnosticFormat, ExplainArgs,
    Outcome,
};

pub fn run(args: ExplainArgs) -> Outcome {
    let validation = valid_rules(&args.rules)?;
    let rules = validation.rule_set().expect("valid rules have a rule set");
    let ip = parse_viewer_ip(&args.ip)?;
    let given = args.country.as_deref().map(parse_viewer_country).transpose()?;
    let geo = open_geo(&args.geo)?;
    let viewer = Viewer::without_country(ip);
    let record = geo.lookup_detail(viewer.ip()).map_err(|e| anyhow::anyhow!(e))?;
    let country = given.or(record.country);
    let e = explain(rules, &viewer.with_country(country));
    let matcher = Matcher::new(rules).unwrap();
    debug_assert_eq!(matcher.decide(&e.viewer), e.decision);
    let out = match args.format {
        DiagnosticFormat::Json => {
            let mut line = explanation_json(rules, &e, ip, given, &record, &geo).to_string();
            line.push('\n');
            line.into_bytes()
        }
        DiagnosticFormat::Human => human(rules, &e, ip, given, &record, &geo, &matcher)?,
    };
    let mut stdout = io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(())
}

/// The explanation for people.
fn human(
    rules: &RuleSet,
    e: &Explanation,
    ip: std::net::IpAddr,
    given: Option<CountryCode>,
    record: &GeoRecord,
    geo: &GeoDatabase,
    matcher: &Matcher,
) -> io::Result<Vec<u8>> {
    let viewer = e.viewer;
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
    writeln!(w, "  GeoIP database: {}", describe_database(geo))?;
    match given {
        Some(c) => {
            writeln!(
                w,
                "  country {c} (given; GeoIP would say {})",
                record.country.map_or("unknown".into(), |c| c.to_string())
            )?;
        }
        None => match (record.country, record.network) {
            (Some(c), Some(net)) => writeln!(
                w,
                "  country {c} (GeoIP {} of network {net})",
                record.source_field.unwrap_or("record")
            )?,
            (Some(c), None) => writeln!(w, "  country {c} (GeoIP)")?,
            (None, Some(net)) if record.has_record => match record.no_country {
                Some((field, value)) => writeln!(
                    w,
                    "  country unknown (the record of {net} has no country: {field} is \
                         {value:?}): no country rule can match"
                )?,
                None => writeln!(w, "  country unknown (the record of {net} has no country)")?,
            },
            (None, _) => {
                writeln!(w, "  country unknown (no GeoIP record): no country rule can match")?
            }
        },
    }
    if let Some(rep) = record.represented_country {
        writeln!(w, "  represented country {rep} (shown only; rules match the country above)")?;
    }
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
    Ok(out)
}

/// The kebab-case name of a reason (`reason` of `explain --format json`).
fn reason_name(reason: &Reason) -> (&'static str, Option<usize>) {
    match reason {
        Reason::Any => ("any", None),
        Reason::InNetwork { entry, .. } => ("in-network", Some(*entry)),
        Reason::NotInNetworks { .. } => ("not-in-networks", None),
        Reason::CountryListed { entry } => ("country-listed", Some(*entry)),
        Reason::CountryNotListed => ("country-not-listed", None),
        Reason::CountryUnknown => ("country-unknown", None),
        _ => ("other", None),
    }
}

/// `explain --format json` (docs/semantics.md): the viewer, its country and
/// where it came from, what the database says, each rule and the decision.
fn explanation_json(
    rules: &RuleSet,
    e: &Explanation,
    ip: std::net::IpAddr,
    given: Option<CountryCode>,
    record: &GeoRecord,
    geo: &GeoDatabase,
) -> Value {
    let code = |c: Option<CountryCode>| c.map(|c| c.to_string());
    let source = match (given, record.country) {
        (Some(_), _) => "given",
        (None, Some(_)) => "geoip",
        (None, None) => "unknown",
    };
    let steps: Vec<Value> = e
        .steps
        .iter()
        .map(|step| {
            let rule = &rules.rules[step.rule.index()];
            let (reason, entry) = reason_name(&step.reason);
            json!({
                "rule": step.rule.index(),
                "type": rule.kind.type_name(),
                "action": rule.action.as_str(),
                "matched": step.matched,
                "reached": step.reached,
                "decides": e.decision.rule == Some(step.rule),
                "reason": reason,
                "entry": entry,
                "message": step.reason.describe(&e.viewer),
            })
        })
        .collect();
    json!({
        "ip": e.viewer.ip().to_string(),
        "ip_as_written": ip.to_string(),
        // Why no real viewer has this address (`null`: a public address).
        "special_purpose": accessrules::input::special_purpose(e.viewer.ip()),
        "country": code(e.viewer.country()),
        "country_source": source,
        "geoip": {
            "database": describe_database(geo),
            "country": code(record.country),
            "field": record.source_field,
            "network": record.network.map(|n| n.to_string()),
            "has_record": record.has_record,
            "no_country": record.no_country.map(|(field, value)| json!({"field": field, "value": value})),
            "represented_country": code(record.represented_country),
        },
        "rules": steps,
        "decision": e.decision.action.as_str(),
        "rule": e.decision.rule.map(|r| r.index()),
    })
}
