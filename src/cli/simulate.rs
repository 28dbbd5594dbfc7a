//! `accessrules simulate`: one viewer (`--ip`) or a stream (`--input`).

use std::io::{self, Write};
use std::net::IpAddr;

use accessrules::geo::GeoDatabase;
use accessrules::{Action, CountryCode, Decision, Matcher, Viewer};

use super::{
    open_geo, parse_viewer_country, parse_viewer_ip, valid_rules, Outcome, OutputFormat,
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

/// Resolves the country (given, else GeoIP) and decides.
#[inline]
pub fn evaluate(
    matcher: &Matcher,
    geo: &GeoDatabase,
    ip: IpAddr,
    given: Option<CountryCode>,
) -> Outcome1 {
    let viewer = Viewer::new(ip);
    let (country, source) = match given {
        Some(c) => (Some(c), CountrySource::Given),
        None => match geo.resolve(viewer.ip()) {
            Some(c) => (Some(c), CountrySource::Geoip),
            None => (None, CountrySource::Unknown),
        },
    };
    let decision = matcher.decide(&viewer.with_country(country));
    Outcome1 { ip: viewer.ip(), country, source, decision }
}

/// Writes one result in `format` (human, json/ndjson object, tsv line).
pub fn write_outcome(out: &mut Vec<u8>, o: &Outcome1, format: OutputFormat) {
    let action = o.decision.action.as_str();
    // Writing into a Vec<u8> cannot fail.
    let _ = match format {
        OutputFormat::Json | OutputFormat::Ndjson => {
            out.extend_from_slice(b"{\"ip\":\"");
            let _ = write!(out, "{}", o.ip);
            out.extend_from_slice(b"\",\"country\":");
            match o.country {
                Some(c) => {
                    out.push(b'"');
                    out.extend_from_slice(c.as_str().as_bytes());
                    out.push(b'"');
                }
                None => out.extend_from_slice(b"null"),
            }
            let _ = write!(
                out,
                ",\"country_source\":\"{}\",\"decision\":\"{action}\",\"rule\":",
                o.source.as_str()
            );
            match o.decision.rule {
                Some(r) => writeln!(out, "{r}}}"),
                None => writeln!(out, "null}}"),
            }
        }
        OutputFormat::Tsv => {
            let _ = write!(
                out,
                "{}\t{}\t{action}\t",
                o.ip,
                o.country.as_ref().map_or("-", |c| c.as_str())
            );
            match o.decision.rule {
                Some(r) => writeln!(out, "{r}"),
                None => writeln!(out, "-"),
            }
        }
        OutputFormat::Human => {
            let country = match (o.country, o.source) {
                (Some(c), CountrySource::Given) => format!("country {c}, given"),
                (Some(c), _) => format!("country {c} from GeoIP"),
                (None, _) => "country unknown".to_owned(),
            };
            let by = match o.decision.rule {
                Some(r) => format!("by rule {r}"),
                None => {
                    format!("(no rule matched; the default is {})", accessrules::DEFAULT_ACTION)
                }
            };
            let verb = if o.decision.action == Action::Allow { "allow" } else { "block" };
            writeln!(out, "{} ({country}): {verb} {by}", o.ip)
        }
    };
}

pub fn run(args: SimulateArgs) -> Outcome {
    let validation = valid_rules(&args.rules)?;
    let rules = validation.rule_set().expect("valid rules have a rule set");
    let matcher = Matcher::new(rules);
    // Check the viewer before the (slower) database.
    let single = match &args.ip {
        Some(ip) => Some((
            parse_viewer_ip(ip)?,
            args.country.as_deref().map(parse_viewer_country).transpose()?,
        )),
        None => None,
    };
    let geo = open_geo(&args.geo)?;
    if let Some((ip, given)) = single {
        let o = evaluate(&matcher, &geo, ip, given);
        let mut buf = Vec::new();
        write_outcome(&mut buf, &o, args.format);
        let mut out = io::stdout().lock();
        out.write_all(&buf)?;
        out.flush()?;
        return Ok(());
    }
    let input = args.input.as_deref().expect("clap requires --ip or --input");
    super::stream::run(&matcher, rules, &geo, input, args.format)
}
