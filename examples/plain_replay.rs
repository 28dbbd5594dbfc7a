//! The plain evaluator end to end (README, Performance; docs/performance.md): the
//! baseline that `simulate --input` is measured against. A straightforward
//! log replay, the way one would write it without this crate's compiled
//! matcher and streaming: `BufRead::lines` (a `String` per line), the
//! library's line parser (`viewer_line::parse_line`), the rules kept as
//! `ipnet` lists and checked first to last (`reference::evaluate`), each
//! viewer's country looked up and decoded with the `maxminddb` reader
//! (`reference::maxminddb_country`), one `writeln!` per viewer into a
//! `BufWriter`, one thread.
//!
//! Writes exactly what `accessrules simulate RULES --input LOG --format tsv`
//! writes on standard output (`benches/e2e.sh` compares them); bad lines are
//! counted and skipped, but a line that is not UTF-8 stops it (`lines()`).
//!
//!     cargo run --release --example plain_replay -- RULES LOG > out.tsv

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::ExitCode;

use accessrules::{check, reference, viewer_line, CountryCode, GeoDatabase, Options, Viewer};

fn run(rules_path: &str, log_path: &str) -> Result<u64, String> {
    let text = std::fs::read(rules_path).map_err(|e| format!("{rules_path}: {e}"))?;
    let validation = check(&text, &Options::without_clock());
    let rules = validation.rule_set().ok_or_else(|| format!("{rules_path}: invalid rules"))?;
    let reader = maxminddb::Reader::from_source(GeoDatabase::embedded_bytes())
        .map_err(|e| format!("embedded database: {e}"))?;
    let log = std::fs::File::open(log_path).map_err(|e| format!("{log_path}: {e}"))?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut bad = 0;
    for (n, line) in BufReader::new(log).lines().enumerate() {
        let line = line.map_err(|e| format!("{log_path}: {e}"))?;
        // A byte-order mark, as simulate accepts.
        let line = if n == 0 { line.trim_start_matches('\u{feff}') } else { &line };
        let Ok(parsed) = viewer_line::parse_line(line.as_bytes()) else {
            bad += 1;
            continue;
        };
        let Some((ip, given)) = parsed else { continue };
        let viewer = Viewer::without_country(ip);
        let country = match given {
            Some(c) => Some(c),
            None => reference::maxminddb_country(&reader, viewer.ip())
                .map_err(|e| format!("GeoIP lookup of {ip} failed: {e}"))?,
        };
        let d = reference::evaluate(rules, &viewer.with_country(country));
        let shown_country = country.as_ref().map_or("-", CountryCode::as_str);
        let rule = d.rule.map_or("-".to_owned(), |r| r.to_string());
        writeln!(out, "{}\t{shown_country}\t{}\t{rule}", viewer.ip(), d.action.as_str())
            .map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(bad)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [rules, log] = &args[..] else {
        eprintln!("usage: plain_replay RULES LOG");
        return ExitCode::from(2);
    };
    match run(rules, log) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(bad) => {
            eprintln!("plain_replay: {bad} bad lines skipped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("plain_replay: {e}");
            ExitCode::FAILURE
        }
    }
}
