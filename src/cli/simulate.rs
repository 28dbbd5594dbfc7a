//! `accessrules simulate`: one viewer (`--ip`) or a stream (`--input`).

use std::io::{self, Write};

use super::evaluator::{Evaluator, Scratch};
use super::output::write_outcome;
use super::{
    open_geo, parse_viewer_country, parse_viewer_ip, special_note, valid_rules, Outcome,
    SimulateArgs,
};
use accessrules::input::LineCountry;

pub fn run(args: SimulateArgs) -> Outcome {
    if args.rules.rules == "-" && args.input.as_deref() == Some("-") {
        return Err(
            anyhow::anyhow!("the rules and --input cannot both be standard input (-)").into()
        );
    }
    if args.country.is_some() && args.ip.is_none() {
        return Err(anyhow::anyhow!(
            "--country goes with --ip; with --input, give countries per line (IP,CC)"
        )
        .into());
    }
    let validation = valid_rules(&args.rules)?;
    let rules = validation.rule_set().expect("valid rules have a rule set");
    // Check the viewer before the (slower) database.
    let single = match &args.ip {
        Some(ip) => Some((
            parse_viewer_ip(ip)?,
            match args.country.as_deref().map(parse_viewer_country).transpose()? {
                Some(c) => LineCountry::Code(c),
                None => LineCountry::Absent,
            },
        )),
        None => None,
    };
    let geo = open_geo(&args.geo)?;
    let evaluator = Evaluator::new(args.engine, rules, &geo, &args.geo)?;
    if let Some(viewer) = single {
        if let Some(note) = special_note(viewer.0) {
            eprintln!("accessrules: note: {note}");
        }
        let mut outcomes = Vec::with_capacity(1);
        evaluator.evaluate_batch(&[viewer], &mut Scratch::default(), &mut outcomes)?;
        let mut buf = Vec::new();
        for o in &outcomes {
            write_outcome(&mut buf, o, args.format);
        }
        let mut out = io::stdout().lock();
        out.write_all(&buf)?;
        out.flush()?;
        return Ok(());
    }
    let input = args.input.as_deref().expect("clap requires --ip or --input");
    let options = super::stream::StreamOptions {
        hints: accessrules::input::Hints {
            ip_field: args.ip_field,
            country_field: args.country_field,
            fields: args.fields,
        },
        summary: args.summary,
        compare_geoip: args.geo.geoip.is_some(),
    };
    super::stream::run(&evaluator, rules, input, args.format, &options)
}
