//! `accessrules simulate`: one viewer (`--ip`) or a stream (`--input`).

use std::borrow::Cow;
use std::io::{self, Write};
use std::net::IpAddr;

use accessrules::geo::GeoDatabase;
use accessrules::{reference, Action, CountryCode, Decision, Matcher, RuleSet, Viewer};
use anyhow::anyhow;
use clap::ValueEnum;

use super::ip_text::write_ip;
use super::{
    open_geo, parse_viewer_country, parse_viewer_ip, valid_rules, GeoArgs, Outcome, OutputFormat,
    SimulateArgs,
};

/// Where a viewer's country came from (SPEC §4 `country_source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountrySource {
    Given,
    Geoip,
    Unknown,
}

impl CountrySource {
    pub fn as_str(self) -> &'static str {
        match self {
            CountrySource::Given => "given",
            CountrySource::Geoip => "geoip",
            CountrySource::Unknown => "unknown",
        }
    }
}

/// One evaluated viewer.
#[derive(Clone, Copy, Debug)]
pub struct Outcome1 {
    pub ip: IpAddr,
    pub country: Option<CountryCode>,
    pub source: CountrySource,
    pub decision: Decision,
}

/// Which evaluator decides (the hidden `--engine` option).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// The compiled matcher, countries from the GeoIP range table.
    #[default]
    Compiled,
    /// The plain evaluator of SPEC §7, the baseline of the benchmarks in
    /// the README's performance section: rules kept as `ipnet` lists checked
    /// in order (`reference::evaluate`), each viewer's country looked up and
    /// decoded with the `maxminddb` reader. Same output as `compiled`.
    Reference,
}

/// Decides viewers with one [`Engine`].
pub enum Evaluator<'a> {
    Compiled { matcher: Matcher, geo: &'a GeoDatabase },
    Reference { rules: &'a RuleSet, reader: maxminddb::Reader<Cow<'static, [u8]>> },
}

/// Buffers reused from one batch to the next.
#[derive(Default)]
pub struct Scratch {
    viewers: Vec<Viewer>,
    sources: Vec<CountrySource>,
    decisions: Vec<Decision>,
    ips: Vec<IpAddr>,
    resolved: Vec<Option<CountryCode>>,
}

impl<'a> Evaluator<'a> {
    pub fn new(
        engine: Engine,
        rules: &'a RuleSet,
        geo: &'a GeoDatabase,
        geo_args: &GeoArgs,
    ) -> anyhow::Result<Evaluator<'a>> {
        Ok(match engine {
            Engine::Compiled => Evaluator::Compiled { matcher: Matcher::new(rules)?, geo },
            Engine::Reference => {
                let bytes: Cow<'static, [u8]> = match &geo_args.geoip {
                    Some(path) => Cow::Owned(std::fs::read(path)?),
                    None => Cow::Borrowed(GeoDatabase::embedded_bytes()),
                };
                let reader = maxminddb::Reader::from_source(bytes).map_err(|e| anyhow!(e))?;
                Evaluator::Reference { rules, reader }
            }
        })
    }

    /// Decides `viewers` (address, given country), appending to `out` in
    /// order.
    ///
    /// Errors: a failed `maxminddb` lookup (reference engine only).
    pub fn evaluate_batch(
        &self,
        viewers: &[(IpAddr, Option<CountryCode>)],
        scratch: &mut Scratch,
        out: &mut Vec<Outcome1>,
    ) -> anyhow::Result<()> {
        match self {
            Evaluator::Compiled { matcher, geo } => {
                let Scratch { viewers: vs, sources, decisions, ips, resolved } = scratch;
                // Every viewer's country is shown, so every viewer without
                // a given country is looked up, in one batch.
                ips.clear();
                ips.extend(viewers.iter().filter(|(_, given)| given.is_none()).map(|&(ip, _)| ip));
                resolved.clear();
                geo.resolve_batch(ips, resolved);
                let mut resolved = resolved.iter();
                vs.clear();
                sources.clear();
                for &(ip, given) in viewers {
                    let (country, source) = match given {
                        Some(c) => (Some(c), CountrySource::Given),
                        None => match resolved.next().copied().flatten() {
                            Some(c) => (Some(c), CountrySource::Geoip),
                            None => (None, CountrySource::Unknown),
                        },
                    };
                    vs.push(Viewer::new(ip, country));
                    sources.push(source);
                }
                decisions.clear();
                matcher.decide_batch(vs, decisions);
                out.extend(vs.iter().zip(sources.iter()).zip(decisions.iter()).map(
                    |((v, &source), &decision)| Outcome1 {
                        ip: v.ip(),
                        country: v.country(),
                        source,
                        decision,
                    },
                ));
            }
            Evaluator::Reference { rules, reader } => {
                for &(ip, given) in viewers {
                    let v = Viewer::without_country(ip);
                    let (country, source) = match given {
                        Some(c) => (Some(c), CountrySource::Given),
                        None => match plain_country(reader, v.ip())? {
                            Some(c) => (Some(c), CountrySource::Geoip),
                            None => (None, CountrySource::Unknown),
                        },
                    };
                    let v = v.with_country(country);
                    let decision = reference::evaluate(rules, &v);
                    out.push(Outcome1 { ip: v.ip(), country, source, decision });
                }
            }
        }
        Ok(())
    }
}

/// A viewer's country by a `maxminddb` lookup and decode.
fn plain_country(
    reader: &maxminddb::Reader<Cow<'static, [u8]>>,
    ip: IpAddr,
) -> anyhow::Result<Option<CountryCode>> {
    reference::maxminddb_country(reader, ip)
        .map_err(|e| anyhow!("GeoIP lookup of {ip} failed: {e}"))
}

/// Appends `n` in decimal.
fn write_decimal(out: &mut Vec<u8>, n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Writes one result in `format` (human, json/ndjson object, tsv line),
/// without `core::fmt`: this runs once per viewer of `--input`.
pub fn write_outcome(out: &mut Vec<u8>, o: &Outcome1, format: OutputFormat) {
    // Fixed-size slices where the length is known, so that the copies are
    // plain stores rather than `memcpy` calls.
    let action: &[u8; 5] = match o.decision.action {
        Action::Allow => b"allow",
        Action::Block => b"block",
    };
    match format {
        OutputFormat::Json | OutputFormat::Ndjson => {
            out.extend_from_slice(b"{\"ip\":\"");
            write_ip(out, o.ip);
            out.extend_from_slice(b"\",\"country\":");
            match o.country {
                Some(c) => {
                    let [a, b] = c.as_bytes();
                    out.extend_from_slice(&[b'"', a, b, b'"']);
                }
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"country_source\":\"");
            out.extend_from_slice(o.source.as_str().as_bytes());
            out.extend_from_slice(b"\",\"decision\":\"");
            out.extend_from_slice(action);
            out.extend_from_slice(b"\",\"rule\":");
            match o.decision.rule {
                Some(r) => write_decimal(out, r.index()),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b"}\n");
        }
        OutputFormat::Tsv => {
            write_ip(out, o.ip);
            out.push(b'\t');
            match o.country {
                Some(c) => out.extend_from_slice(&c.as_bytes()),
                None => out.push(b'-'),
            }
            out.push(b'\t');
            out.extend_from_slice(action);
            out.push(b'\t');
            match o.decision.rule {
                Some(r) => write_decimal(out, r.index()),
                None => out.push(b'-'),
            }
            out.push(b'\n');
        }
        OutputFormat::Human => {
            // `IP (country XX from GeoIP): block by rule 2`
            write_ip(out, o.ip);
            match (o.country, o.source) {
                (Some(c), CountrySource::Given) => {
                    out.extend_from_slice(b" (country ");
                    out.extend_from_slice(c.as_str().as_bytes());
                    out.extend_from_slice(b", given): ");
                }
                (Some(c), _) => {
                    out.extend_from_slice(b" (country ");
                    out.extend_from_slice(c.as_str().as_bytes());
                    out.extend_from_slice(b" from GeoIP): ");
                }
                (None, _) => out.extend_from_slice(b" (country unknown): "),
            }
            let verb: &[u8] = if o.decision.action == Action::Allow { b"allow" } else { b"block" };
            out.extend_from_slice(verb);
            match o.decision.rule {
                Some(r) => {
                    out.extend_from_slice(b" by rule ");
                    write_decimal(out, r.index());
                }
                None => {
                    out.extend_from_slice(b" (no rule matched; the default is ");
                    out.extend_from_slice(accessrules::DEFAULT_ACTION.as_str().as_bytes());
                    out.push(b')');
                }
            }
            out.push(b'\n');
        }
    }
}

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
            args.country.as_deref().map(parse_viewer_country).transpose()?,
        )),
        None => None,
    };
    let geo = open_geo(&args.geo)?;
    let evaluator = Evaluator::new(args.engine, rules, &geo, &args.geo)?;
    if let Some(viewer) = single {
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
    super::stream::run(&evaluator, rules, input, args.format)
}
