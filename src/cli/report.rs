//! `accessrules report RULES`: what a rule document does, as a short table
//! or JSON ([`accessrules::report`]); this file only formats it.

use std::collections::BTreeSet;
use std::io::{self, Write};

use accessrules::{Countries, CountryCode, Report};
use anyhow::anyhow;
use clap::Args;

use super::diff::{percent, viewer_text, V4_TOTAL, V6_TOTAL};
use super::{open_geo, render, valid_rules, DiagnosticFormat, GeoArgs, Outcome, RulesArgs};
use accessrules::Coverage;

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    rules: RulesArgs,
    #[command(flatten)]
    geo: GeoArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Human)]
    format: DiagnosticFormat,
}

pub fn run(args: ReportArgs) -> Outcome {
    let validation = valid_rules(&args.rules)?;
    let rules = validation.rule_set().expect("valid rules have a rule set");
    let geo = open_geo(&args.geo)?;
    let r = accessrules::report(rules, Some(&geo)).map_err(|e| anyhow!(e))?;
    let mut out = io::stdout().lock();
    match args.format {
        DiagnosticFormat::Json => {
            serde_json::to_writer(&mut out, &r).map_err(io::Error::from)?;
            writeln!(out)?;
        }
        DiagnosticFormat::Human => {
            let name = if args.rules.rules == "-" { "<stdin>" } else { args.rules.rules.as_str() };
            let n = r.rules.len();
            writeln!(
                out,
                "{name}: {n} rule{}; countries from GeoIP {}",
                if n == 1 { "" } else { "s" },
                render::describe_database(&geo)
            )?;
            write_table(&mut out, &r)?;
        }
    }
    out.flush()?;
    Ok(())
}

fn p4(c: &Coverage) -> String {
    percent(u128::from(c.ipv4_addresses), V4_TOTAL)
}

fn p6(c: &Coverage) -> String {
    percent(c.ipv6_addresses, V6_TOTAL)
}

fn codes(c: &Countries) -> Vec<CountryCode> {
    match c {
        Countries::Any => (0..936).filter_map(CountryCode::from_index).collect(),
        Countries::Listed(l) => l.clone(),
    }
}

fn write_table(out: &mut impl Write, r: &Report) -> io::Result<()> {
    // The countries the database gives at all: a rule's list is shown as
    // "every country but ..." relative to them.
    let present: BTreeSet<CountryCode> =
        r.rules.iter().flat_map(|rc| codes(&rc.countries)).collect();
    let rows: Vec<[String; 6]> = r
        .rules
        .iter()
        .map(|rc| {
            let mine = codes(&rc.countries);
            let set: BTreeSet<CountryCode> = mine.iter().copied().collect();
            let excluded: Vec<CountryCode> = present.difference(&set).copied().collect();
            let countries = if !rc.decides {
                "decides nothing".to_owned()
            } else if mine.len() > 8 && excluded.len() <= 8 {
                let but = excluded.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ");
                let known = if excluded.is_empty() {
                    "every country".to_owned()
                } else {
                    format!("every country but {but}")
                };
                if rc.unknown_country {
                    format!("{known}, and unknown country")
                } else {
                    known
                }
            } else {
                let known = if mine.len() <= 8 {
                    mine.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
                } else {
                    format!("{} countries", mine.len())
                };
                match (known.is_empty(), rc.unknown_country) {
                    (true, true) => "unknown country".to_owned(),
                    (true, false) => "-".to_owned(),
                    (false, true) => format!("{known}, and unknown country"),
                    (false, false) => known,
                }
            };
            [
                rc.rule.to_string(),
                format!("{} {}", rc.action, rc.kind),
                p4(&rc.coverage),
                p6(&rc.coverage),
                countries,
                rc.witness.as_ref().map_or("-".into(), viewer_text),
            ]
        })
        .chain(std::iter::once([
            "-".into(),
            format!("{} (default)", accessrules::DEFAULT_ACTION),
            p4(&r.default),
            p6(&r.default),
            "-".into(),
            "-".into(),
        ]))
        .collect();
    let head = ["rule", "decision", "IPv4", "IPv6", "countries", "witness"];
    let mut width = head.map(str::len);
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: [&str; 6]| {
        let mut s = String::new();
        for (k, (cell, w)) in cells.iter().zip(width).enumerate() {
            if k == 5 {
                s.push_str(cell);
            } else if k == 2 || k == 3 {
                s.push_str(&format!("{cell:>w$}  "));
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        s.trim_end().to_owned()
    };
    writeln!(out, "{}", line(head))?;
    for row in &rows {
        writeln!(out, "{}", line(row.each_ref().map(String::as_str)))?;
    }
    writeln!(
        out,
        "allowed: {} of IPv4, {} of IPv6; blocked: {} of IPv4, {} of IPv6",
        p4(&r.allowed),
        p6(&r.allowed),
        p4(&r.blocked),
        p6(&r.blocked)
    )?;
    let u = &r.unknown_country;
    writeln!(
        out,
        "unknown country: {} of IPv4 ({} allowed), {} of IPv6 ({} allowed)",
        p4(&u.coverage),
        p4(&u.allowed),
        p6(&u.coverage),
        p6(&u.allowed)
    )?;
    if !r.never_decide.is_empty() {
        let list = r.never_decide.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
        writeln!(out, "never decide (remove them): rule {list}")?;
    }
    Ok(())
}
