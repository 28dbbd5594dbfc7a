//! The evaluators behind `simulate`: the compiled matcher with the GeoIP
//! range table, or the plain reference loop (hidden `--engine reference`).

use std::borrow::Cow;
use std::net::IpAddr;

use accessrules::geo::GeoDatabase;
use accessrules::input::LineCountry;
use accessrules::{reference, CountryCode, Decision, Matcher, RuleSet, Viewer};
use anyhow::anyhow;
use clap::ValueEnum;

use super::GeoArgs;

/// Where a viewer's country came from (`country_source` of `simulate --format json`).
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
    /// The plain evaluator of docs/performance.md, the baseline of the benchmarks in
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

    /// Decides `viewers` (address, what the log says of the country),
    /// appending to `out` in order: GeoIP is asked only for
    /// [`LineCountry::Absent`].
    ///
    /// Errors: a failed `maxminddb` lookup (reference engine only).
    pub fn evaluate_batch(
        &self,
        viewers: &[(IpAddr, LineCountry)],
        scratch: &mut Scratch,
        out: &mut Vec<Outcome1>,
    ) -> anyhow::Result<()> {
        match self {
            Evaluator::Compiled { matcher, geo } => {
                let Scratch { viewers: vs, sources, decisions, ips, resolved } = scratch;
                // Every viewer's country is shown, so every viewer without
                // a given country is looked up, in one batch.
                ips.clear();
                ips.extend(
                    viewers
                        .iter()
                        .filter(|(_, given)| *given == LineCountry::Absent)
                        .map(|&(ip, _)| ip),
                );
                resolved.clear();
                geo.resolve_batch(ips, resolved);
                let mut resolved = resolved.iter();
                vs.clear();
                sources.clear();
                for &(ip, given) in viewers {
                    let (country, source) = match given {
                        LineCountry::Code(c) => (Some(c), CountrySource::Given),
                        LineCountry::Unknown => (None, CountrySource::Unknown),
                        LineCountry::Absent => match resolved.next().copied().flatten() {
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
                        LineCountry::Code(c) => (Some(c), CountrySource::Given),
                        LineCountry::Unknown => (None, CountrySource::Unknown),
                        LineCountry::Absent => match plain_country(reader, v.ip())? {
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

impl Evaluator<'_> {
    /// GeoIP's countries of `ips`, appended to `out` in order (to compare
    /// with the countries a log gives).
    ///
    /// Errors: a failed `maxminddb` lookup (reference engine only).
    pub fn geoip_countries(
        &self,
        ips: &[IpAddr],
        out: &mut Vec<Option<CountryCode>>,
    ) -> anyhow::Result<()> {
        match self {
            Evaluator::Compiled { geo, .. } => geo.resolve_batch(ips, out),
            Evaluator::Reference { reader, .. } => {
                for &ip in ips {
                    out.push(plain_country(reader, Viewer::without_country(ip).ip())?);
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
