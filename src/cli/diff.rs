//! `accessrules diff OLD NEW`: the exact difference of two rule documents
//! ([`accessrules::diff`]), or with `--input` an A/B replay of a viewer log.
//! This file only reads the inputs and formats the library's results.

use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::net::IpAddr;

use accessrules::input::{LineCountry, Record, MAX_LINE};
use accessrules::{
    check, Change, CountryCode, Decision, Diff, GeoDatabase, Matcher, RuleSet, Viewer,
};
use anyhow::{anyhow, Context};
use clap::Args;

use super::{
    options, read_rules, render, use_colour, CheckArgs, DiagnosticFormat, Failure, GeoArgs, Outcome,
};

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The rule document in force: a file path, or - for standard input.
    #[arg(value_name = "OLD")]
    old: String,
    /// The rule document to compare with it.
    #[arg(value_name = "NEW")]
    new: String,
    /// "Now" for the token time checks, in Unix seconds (default: the clock).
    #[arg(long, value_name = "UNIX_SECONDS", allow_negative_numbers = true)]
    now: Option<i64>,
    /// Largest rule document accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = accessrules::Limits::default().max_document_bytes)]
    max_bytes: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Human)]
    format: DiagnosticFormat,
    /// Replay a viewer log (as `simulate --input`) under both documents:
    /// counts per transition and the first lines of each.
    #[arg(long, value_name = "FILE")]
    input: Option<String>,
    /// Example lines shown per transition with --input.
    #[arg(long, value_name = "N", default_value_t = 3)]
    examples: usize,
    #[command(flatten)]
    geo: GeoArgs,
    /// A newer GeoIP database: compare OLD with --geoip (or the embedded
    /// database) against NEW with this one, viewers without a given country
    /// taking each database's country (pass the same rules twice for a pure
    /// database update).
    #[arg(long, value_name = "MMDB")]
    geoip_new: Option<std::path::PathBuf>,
}

/// Most networks printed per change in the human output.
const NETWORKS_SHOWN: usize = 4;

pub fn run(args: DiffArgs) -> Outcome {
    if args.old == "-" && args.new == "-" {
        return Err(anyhow!("OLD and NEW cannot both be standard input (-)").into());
    }
    let (old_name, old) = valid(&args, &args.old)?;
    let (new_name, new) = valid(&args, &args.new)?;
    let (Some(old), Some(new)) = (old, new) else {
        // Diagnostics printed; nothing compared.
        return Err(Failure::Status(2));
    };
    let geo_new = match &args.geoip_new {
        Some(path) => Some(GeoDatabase::open(path).map_err(|e| anyhow!(e.to_string()))?),
        None => None,
    };
    if let Some(input) = &args.input {
        if input == "-" && (args.old == "-" || args.new == "-") {
            return Err(anyhow!("the rules and --input cannot both be standard input (-)").into());
        }
        return replay(&args, &old, &new, input, geo_new.as_ref());
    }
    if let Some(geo_new) = &geo_new {
        return drift(&args, &old, &new, geo_new, &old_name, &new_name);
    }
    let d = accessrules::diff(&old, &new).map_err(|e| anyhow!(e))?;
    let mut out = io::stdout().lock();
    match args.format {
        DiagnosticFormat::Json => {
            serde_json::to_writer(&mut out, &d).map_err(io::Error::from)?;
            writeln!(out)?;
        }
        DiagnosticFormat::Human => write_human(&mut out, &d, &old_name, &new_name)?,
    }
    out.flush()?;
    if d.equivalent {
        Ok(())
    } else {
        Err(Failure::Status(1))
    }
}

/// Reads and validates one document; an invalid one gets its diagnostics
/// on standard error and `None`.
fn valid(args: &DiffArgs, path: &str) -> Result<(String, Option<RuleSet>), Failure> {
    let rules = CheckArgs { now: args.now, max_bytes: args.max_bytes };
    let (name, bytes) = read_rules(path, &rules)?;
    let validation = check(&bytes, &options(&rules));
    match validation.rule_set() {
        Some(r) => Ok((name, Some(r.clone()))),
        None => {
            let colour = use_colour(io::stderr().is_terminal());
            render::write_human(&mut io::stderr().lock(), &validation, &name, colour)?;
            Ok((name, None))
        }
    }
}

/// `block by rule 2`, `allow (default)`.
pub fn short(d: &Decision) -> String {
    match d.rule {
        Some(r) => format!("{} by rule {r}", d.action),
        None => format!("{} (default)", d.action),
    }
}

/// `198.51.100.7 (US)`, `2001:db8:: (unknown country)`.
pub fn viewer_text(v: &Viewer) -> String {
    match v.country() {
        Some(c) => format!("{} ({c})", v.ip()),
        None => format!("{} (unknown country)", v.ip()),
    }
}

/// A count of IPv6 addresses for people: exact below 2^64, else in /64s,
/// with the share of the IPv6 viewer space.
pub fn ipv6_amount(n: u128) -> String {
    if n < 1 << 64 {
        format!("{n} IPv6 addresses")
    } else {
        let about = if n.is_multiple_of(1 << 64) { "" } else { "about " };
        format!("{about}{} IPv6 /64s ({} of IPv6)", n >> 64, percent(n, V6_TOTAL))
    }
}

/// IPv4 addresses.
pub const V4_TOTAL: u128 = 1 << 32;
/// IPv6 viewer addresses: all but the IPv4-mapped block.
pub const V6_TOTAL: u128 = u128::MAX - (1 << 32) + 1;

/// `n` of `total` for people: `0%` and `100%` only when exact, else
/// `<0.01%`, `37.12%`, `>99.99%`.
pub fn percent(n: u128, total: u128) -> String {
    if n == 0 {
        return "0%".into();
    }
    if n >= total {
        return "100%".into();
    }
    let share = n as f64 / total as f64;
    if share < 0.0001 {
        "<0.01%".into()
    } else if share > 0.9999 {
        ">99.99%".into()
    } else {
        format!("{:.2}%", share * 100.0)
    }
}

/// Countries for people: a short list, "any country but ...", or a count.
pub fn countries_text(codes: &[CountryCode], excluded: &[CountryCode], unknown: bool) -> String {
    let join = |l: &[CountryCode]| l.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ");
    let known = if excluded.is_empty() {
        "any country".to_owned()
    } else if codes.is_empty() {
        "no known country".to_owned()
    } else if codes.len() <= 8 {
        join(codes)
    } else if excluded.len() <= 8 {
        format!("any country but {}", join(excluded))
    } else {
        format!("{} countries", codes.len())
    };
    if unknown {
        format!("{known}, and unknown country")
    } else {
        known
    }
}

fn write_human(out: &mut impl Write, d: &Diff, old: &str, new: &str) -> io::Result<()> {
    if d.equivalent {
        return writeln!(
            out,
            "{old} and {new} are equivalent: every viewer gets the same decision"
        );
    }
    for (k, c) in d.changes.iter().enumerate() {
        write_change(out, k, c)?;
    }
    let n = d.changes.len();
    writeln!(
        out,
        "{old} -> {new}: {n} change{} (regions of viewers decided differently)",
        if n == 1 { "" } else { "s" }
    )
}

fn write_change(out: &mut impl Write, k: usize, c: &Change) -> io::Result<()> {
    writeln!(out, "change {k}: {} -> {}", short(&c.from), short(&c.to))?;
    let (nets, cut) = c.networks(NETWORKS_SHOWN);
    let mut nets: Vec<String> = nets.iter().map(accessrules::network_to_string).collect();
    if cut {
        nets.push("...".into());
    }
    writeln!(
        out,
        "  addresses: {} IPv4 ({}), {}: {}",
        c.ipv4_addresses,
        percent(u128::from(c.ipv4_addresses), V4_TOTAL),
        ipv6_amount(c.ipv6_addresses),
        nets.join(", ")
    )?;
    let codes = match &c.countries {
        accessrules::Countries::Any => vec![],
        accessrules::Countries::Listed(l) => l.clone(),
    };
    let excluded = c.countries_excluded();
    writeln!(out, "  countries: {}", countries_text(&codes, &excluded, c.unknown_country))?;
    writeln!(out, "  witness:   {}", viewer_text(&c.witness))
}

/// Viewers decided per batch.
const BATCH: usize = 1024;
/// Bad lines reported one by one.
const MAX_REPORTED_BAD_LINES: u64 = 1000;

/// One transition of the replay: its count and first example lines.
struct Tally {
    from: Decision,
    to: Decision,
    count: u64,
    examples: Vec<(u64, Viewer)>,
}

/// `diff --input`: both documents on every viewer of the log, in one pass;
/// exit 1 when some viewer's action changes, 0 when none does, 2 when no
/// viewer was read.
fn replay(
    args: &DiffArgs,
    old: &RuleSet,
    new: &RuleSet,
    input: &str,
    geo_new: Option<&GeoDatabase>,
) -> Outcome {
    let geo = super::open_geo(&args.geo)?;
    let (a, b) =
        (Matcher::new(old).map_err(|e| anyhow!(e))?, Matcher::new(new).map_err(|e| anyhow!(e))?);
    // The same opening (gzip, zstd) and format detection as `simulate
    // --input`, from the first buffered bytes; records are read line by
    // line (a CSV field holding a line break is not supported here).
    let (reader, _, _) = super::stream::open_input(input)?;
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let sample = reader.fill_buf().with_context(|| format!("cannot read viewer input {input}"))?;
    let sample = sample.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(sample);
    let line_reader = accessrules::input::detect(sample, &accessrules::input::Hints::default())
        .map_err(|e| anyhow!("viewer input {input}: {e}"))?;
    let mut not_viewers = 0u64;
    super::interrupt::install();
    let mut err = io::stderr().lock();
    let (mut viewers, mut unchanged, mut bad) = (0u64, 0u64, 0u64);
    let mut tallies: Vec<Tally> = Vec::new();
    let mut batch: Vec<(u64, IpAddr, LineCountry)> = Vec::with_capacity(BATCH);
    let (mut ips, mut resolved, mut vs, mut da, mut db) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut resolved_new, mut vs_new) = (Vec::new(), Vec::new());
    let mut line = Vec::new();
    let mut line_no = 0u64;
    let mut flush = |batch: &mut Vec<(u64, IpAddr, LineCountry)>,
                     tallies: &mut Vec<Tally>,
                     unchanged: &mut u64| {
        ips.clear();
        // Only viewers whose log gives no country are looked up (a
        // log's "unknown", Logpush's `xx`, is never).
        ips.extend(batch.iter().filter(|v| v.2 == LineCountry::Absent).map(|v| v.1));
        resolved.clear();
        geo.resolve_batch(&ips, &mut resolved);
        let mut r = resolved.iter();
        vs.clear();
        vs.extend(batch.iter().map(|&(_, ip, given)| Viewer::new(ip, country(given, &mut r))));
        da.clear();
        db.clear();
        a.decide_batch(&vs, &mut da);
        match geo_new {
            // The new rules see the new database's countries.
            Some(geo_new) => {
                resolved_new.clear();
                geo_new.resolve_batch(&ips, &mut resolved_new);
                let mut r = resolved_new.iter();
                vs_new.clear();
                vs_new.extend(
                    batch.iter().map(|&(_, ip, given)| Viewer::new(ip, country(given, &mut r))),
                );
                b.decide_batch(&vs_new, &mut db);
            }
            None => b.decide_batch(&vs, &mut db),
        }
        for (k, (x, y)) in da.iter().zip(db.iter()).enumerate() {
            if x.action == y.action {
                *unchanged += 1;
                continue;
            }
            let t = match tallies.iter_mut().position(|t| t.from == *x && t.to == *y) {
                Some(i) => &mut tallies[i],
                None => {
                    tallies.push(Tally { from: *x, to: *y, count: 0, examples: vec![] });
                    tallies.last_mut().expect("just pushed")
                }
            };
            t.count += 1;
            if t.examples.len() < args.examples {
                t.examples.push((batch[k].0, vs[k]));
            }
        }
        batch.clear();
    };
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read viewer input {input}"))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if line.last() != Some(&b'\n') && line.len() > MAX_LINE {
            // Skip the rest of an overlong line without buffering it.
            loop {
                let buf = reader.fill_buf()?;
                if buf.is_empty() {
                    break;
                }
                match buf.iter().position(|&c| c == b'\n') {
                    Some(i) => {
                        reader.consume(i + 1);
                        break;
                    }
                    None => {
                        let len = buf.len();
                        reader.consume(len);
                    }
                }
            }
            bad += 1;
            if bad <= MAX_REPORTED_BAD_LINES {
                let _ = writeln!(
                    err,
                    "accessrules: line {line_no}: line longer than {MAX_LINE} bytes; skipped"
                );
            }
            continue;
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text =
            if line_no == 1 { text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text) } else { text };
        match line_reader.read(text) {
            Ok(Record::Skipped) => {}
            Ok(Record::NotViewer) => not_viewers += 1,
            Ok(Record::Viewer { ip, country }) => {
                viewers += 1;
                batch.push((line_no, ip, country));
                if batch.len() == BATCH {
                    flush(&mut batch, &mut tallies, &mut unchanged);
                    if super::interrupt::requested() {
                        break;
                    }
                }
            }
            Err(message) => {
                bad += 1;
                if bad <= MAX_REPORTED_BAD_LINES {
                    let _ = writeln!(err, "accessrules: line {line_no}: {message}; skipped");
                }
            }
        }
    }
    flush(&mut batch, &mut tallies, &mut unchanged);
    drop(err);
    tallies.sort_by_key(|t| std::cmp::Reverse(t.count));
    let changed: u64 = tallies.iter().map(|t| t.count).sum();
    let mut out = io::stdout().lock();
    match args.format {
        DiagnosticFormat::Json => {
            let value = serde_json::json!({
                "viewers": viewers,
                "unchanged": unchanged,
                "changed": changed,
                "bad_lines": bad,
                "not_viewers": not_viewers,
                "transitions": tallies.iter().map(|t| serde_json::json!({
                    "from": t.from,
                    "to": t.to,
                    "viewers": t.count,
                    "examples": t.examples.iter().map(|(l, v)| serde_json::json!({
                        "line": l, "ip": v.ip(), "country": v.country(),
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            });
            serde_json::to_writer(&mut out, &value).map_err(io::Error::from)?;
            writeln!(out)?;
        }
        DiagnosticFormat::Human => {
            for t in &tallies {
                writeln!(
                    out,
                    "{} -> {}: {}",
                    short(&t.from),
                    short(&t.to),
                    count(t.count, "viewer")
                )?;
                for (l, v) in &t.examples {
                    writeln!(out, "  line {l}: {}", viewer_text(v))?;
                }
            }
            writeln!(
                out,
                "{}: {changed} decided differently, {unchanged} unchanged; {}",
                count(viewers, "viewer"),
                count(bad, "bad line")
            )?;
            if not_viewers > 0 {
                let s = if not_viewers == 1 { "" } else { "s" };
                writeln!(out, "{not_viewers} request{s} that are not viewers' skipped")?;
            }
        }
    }
    out.flush()?;
    if super::interrupt::requested() {
        let _ = writeln!(io::stderr(), "accessrules: interrupted after line {line_no}");
        std::process::exit(super::interrupt::EXIT_INTERRUPTED);
    }
    if viewers == 0 {
        return Err(
            anyhow!("no viewer read from {input}; expected {}", line_reader.describe()).into()
        );
    }
    if changed > 0 {
        Err(Failure::Status(1))
    } else {
        Ok(())
    }
}

/// `1 viewer`, `2 viewers`: `n` and the noun, plural unless one.
fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A viewer's country: the log's, none when the log says unknown, else the
/// next GeoIP answer.
fn country<'a>(
    given: LineCountry,
    resolved: &mut impl Iterator<Item = &'a Option<CountryCode>>,
) -> Option<CountryCode> {
    match given {
        LineCountry::Code(c) => Some(c),
        LineCountry::Unknown => None,
        LineCountry::Absent => resolved.next().copied().flatten(),
    }
}

/// `diff OLD NEW --geoip-new MMDB`: every address decided differently by
/// OLD with the first database and NEW with the second; exit 1 when some
/// address is, 0 when none is.
fn drift(
    args: &DiffArgs,
    old: &RuleSet,
    new: &RuleSet,
    geo_new: &GeoDatabase,
    old_name: &str,
    new_name: &str,
) -> Outcome {
    let geo_old = super::open_geo(&args.geo)?;
    let d = accessrules::geoip_drift(old, &geo_old, new, geo_new).map_err(|e| anyhow!(e))?;
    let mut out = io::stdout().lock();
    match args.format {
        DiagnosticFormat::Json => {
            serde_json::to_writer(&mut out, &d).map_err(io::Error::from)?;
            writeln!(out)?;
        }
        DiagnosticFormat::Human => {
            for (k, c) in d.changes.iter().enumerate() {
                writeln!(out, "change {k}: {} -> {}", short(&c.from), short(&c.to))?;
                let nets: Vec<String> = c.networks.iter().map(ToString::to_string).collect();
                writeln!(
                    out,
                    "  addresses: {} IPv4 ({}), {}: {}{}",
                    c.ipv4_addresses,
                    percent(u128::from(c.ipv4_addresses), V4_TOTAL),
                    ipv6_amount(c.ipv6_addresses),
                    nets.join(", "),
                    if c.more_networks { ", ..." } else { "" }
                )?;
                let country = |c: Option<CountryCode>| {
                    c.map_or_else(|| "unknown country".to_owned(), |c| c.to_string())
                };
                writeln!(
                    out,
                    "  witness:   {} ({} -> {})",
                    c.witness.ip,
                    country(c.witness.old_country),
                    country(c.witness.new_country)
                )?;
            }
            let what = match d.changes.len() {
                0 => "no address is decided differently".to_owned(),
                1 => "1 transition between the two GeoIP databases".to_owned(),
                n => format!("{n} transitions between the two GeoIP databases"),
            };
            writeln!(out, "{old_name} -> {new_name}: {what}")?;
        }
    }
    out.flush()?;
    if d.equivalent {
        Ok(())
    } else {
        Err(Failure::Status(1))
    }
}
