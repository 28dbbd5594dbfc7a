//! Viewer logs, as `simulate --input` reads them: one reader per format,
//! chosen once from the first lines ([`detect`]).
//!
//! | format | module | viewer address | country |
//! |---|---|---|---|
//! | plain: `IP`, `IP,CC` (NDJSON objects too, line by line) | [`plain`] | the line | after the comma |
//! | NDJSON, Cloudflare Logpush `http_requests` | `ndjson` | `ClientIP`, `ip`, … ([`names::IP`]) | `ClientCountry`, `country`, … ([`names::COUNTRY`]) |
//! | CSV/TSV with a header, or with `--fields` | `delimited` | the column so named | the column so named |
//! | accessrules' own `--format tsv` output | `delimited` | column 1 | column 2 |
//! | nginx/Apache access logs | `access_log` | the client field | GeoIP |
//!
//! Every line gives exactly one [`Record`] or an error message naming the
//! bad value: a viewer, a skipped line (blank, `#` comment, header, the
//! brackets of a JSON array) or a request the log marks as not a viewer's
//! (Logpush `ClientRequestSource` other than `eyeball`). A country `XX`
//! (Cloudflare's "no country") is [`LineCountry::Unknown`]: unknown, with
//! no GeoIP fallback. Lines over [`MAX_LINE`] bytes are bad.
//!
//! Decompression is not here: the command-line tool detects gzip and zstd
//! by their first bytes and feeds the decompressed bytes to these readers.

mod access_log;
mod addresses;
mod delimited;
mod detect;
mod lines;
mod ndjson;
pub mod plain;

use std::net::IpAddr;

pub use addresses::{
    cloudflare_ranges, cloudflare_ranges_checked, is_cloudflare, is_pseudo_ipv4, special_purpose,
    CLOUDFLARE_IPS_FILE,
};
pub use delimited::{record_end, Columns};
pub use detect::{detect, DetectError, Hints};
pub use lines::{lines, LineSplitter, LineTooLong, MAX_LINE};
pub use ndjson::{CountryKey, Keys};

use crate::rules::CountryCode;

/// The names of the log fields the readers know (NDJSON keys exactly;
/// CSV header names in any case).
pub mod names {
    /// Keys and columns holding the viewer's address.
    pub const IP: &[&str] = &["ClientIP", "ip", "client_ip", "remote_addr"];
    /// More CSV header names of the address, as exports write them (W3C's
    /// `c-ip`, spreadsheets' `IP Address`, ...).
    pub const IP_HEADERS: &[&str] = &[
        "IP Address",
        "ip_addr",
        "Client IP Address",
        "Client Address",
        "Remote IP",
        "Remote Address",
        "Source IP",
        "src_ip",
        "c-ip",
        "Viewer IP",
        "CF-Connecting-IP",
        "True-Client-IP",
    ];
    /// Keys and columns holding the viewer's country.
    pub const COUNTRY: &[&str] = &["ClientCountry", "country", "country_code", "cf-ipcountry"];

    /// Whether CSV header `name` is one of `known`: compared in any case
    /// and ignoring everything but letters and digits, so `IP Address`,
    /// `ip_address` and `ip-address` are one name, as are `Country Code`
    /// and `country_code`.
    pub fn header_is(name: &str, known: &[&str]) -> bool {
        let fold = |s: &str| -> String {
            s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
        };
        let name = fold(name);
        !name.is_empty() && known.iter().any(|k| fold(k) == name)
    }

    /// Whether CSV header `name` holds the viewer's address.
    pub fn is_ip_header(name: &str) -> bool {
        header_is(name, IP) || header_is(name, IP_HEADERS)
    }
    /// Logpush's field saying who made the request.
    pub const REQUEST_SOURCE: &str = "ClientRequestSource";
    /// The [`REQUEST_SOURCE`] of a viewer's request (others: Worker
    /// subrequests, health checks, purges, …).
    pub const EYEBALL: &str = "eyeball";
}

/// What a line says about the viewer's country.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineCountry {
    /// Nothing: GeoIP decides.
    Absent,
    /// This country (as the edge saw it; preferred over GeoIP).
    Code(CountryCode),
    /// The log says the country is unknown (Cloudflare's `XX`): no country
    /// rule matches and GeoIP is not asked.
    Unknown,
}

/// One line (or CSV record) read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// A viewer.
    Viewer {
        /// The viewer's address, as written (IPv4-mapped addresses are
        /// made IPv4 by [`crate::Viewer`]).
        ip: IpAddr,
        /// The viewer's country, if the line gives one.
        country: LineCountry,
    },
    /// A blank or `#` comment line, a header line, or the brackets of a
    /// JSON array.
    Skipped,
    /// A request the log marks as not a viewer's (Logpush
    /// `ClientRequestSource` other than `eyeball`): counted apart, never
    /// decided.
    NotViewer,
}

/// The format of a viewer log and how to read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// `IP` or `IP,CC` lines, and NDJSON objects with the known keys.
    Plain,
    /// NDJSON objects (plain lines are read too, line by line).
    Ndjson(Keys),
    /// CSV or TSV.
    Delimited(Columns),
    /// nginx/Apache access log.
    AccessLog,
}

/// Reads the lines of one viewer log ([`detect`] chooses it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reader {
    format: Format,
}

impl Reader {
    /// A reader of `format`.
    pub fn new(format: Format) -> Reader {
        Reader { format }
    }

    /// The plain reader (`IP`, `IP,CC`, NDJSON objects).
    pub fn plain() -> Reader {
        Reader::new(Format::Plain)
    }

    /// The format read.
    pub fn format(&self) -> &Format {
        &self.format
    }

    /// A short name: `plain`, `ndjson`, `csv`, `tsv` or `access-log`.
    pub fn name(&self) -> &'static str {
        match &self.format {
            Format::Plain => "plain",
            Format::Ndjson(_) => "ndjson",
            Format::Delimited(c) if c.delimiter == b'\t' => "tsv",
            Format::Delimited(_) => "csv",
            Format::AccessLog => "access-log",
        }
    }

    /// What the reader expects, for messages ("every line was bad; expected …").
    pub fn describe(&self) -> String {
        match &self.format {
            Format::Plain => "plain viewer lines: IP or IP,CC (or NDJSON objects)".into(),
            Format::Ndjson(keys) => {
                let ip = keys.ip.as_ref().map_or_else(|| names::IP.join("/"), |k| k.clone());
                let country = match &keys.country {
                    CountryKey::Known => names::COUNTRY.join("/"),
                    CountryKey::Named(k) => k.clone(),
                    CountryKey::Ignored => "none, GeoIP".into(),
                };
                format!(
                    "NDJSON objects (Cloudflare Logpush); address key {ip}, country key {country}"
                )
            }
            Format::Delimited(c) => {
                let sep = match c.delimiter {
                    b'\t' => "tab".to_owned(),
                    d => format!("{:?}", char::from(d)),
                };
                let name = |i: usize| {
                    c.names
                        .get(i)
                        .map_or_else(|| format!("{}", i + 1), |n| format!("{} {n:?}", i + 1))
                };
                let country = c.country.map_or_else(|| "none, GeoIP".into(), name);
                let kind = if c.header.is_some() {
                    "with a header line"
                } else if c.names.is_empty() {
                    "without a header (accessrules' own --format tsv)"
                } else {
                    "without a header (--fields)"
                };
                format!(
                    "{} {kind}, {sep}-separated; address column {}, country column {country}",
                    if c.delimiter == b'\t' { "TSV" } else { "CSV" },
                    name(c.ip)
                )
            }
            Format::AccessLog => {
                "web-server access log lines (common, combined or vhost_combined)".into()
            }
        }
    }

    /// Whether a record may span lines (quoted CSV fields holding line
    /// breaks): split with [`Reader::record_end`] rather than at every `\n`.
    pub fn multiline(&self) -> bool {
        matches!(self.format, Format::Delimited(_))
    }

    /// Where the record at the start of `rest` ends: `(end, next)`, or
    /// `None` when more bytes are needed and `eof` is false. A line unless
    /// [`Reader::multiline`] (then [`record_end`]).
    pub fn record_end(&self, rest: &[u8], eof: bool) -> Option<(usize, usize)> {
        if self.multiline() {
            return record_end(rest, eof);
        }
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => Some((i, i + 1)),
            None => eof.then_some((rest.len(), rest.len())),
        }
    }

    /// Reads one line or record (without its final `\n`), at most
    /// [`MAX_LINE`] bytes.
    ///
    /// # Errors
    ///
    /// A message naming the bad value (at most 64 bytes of it quoted), or
    /// saying that the line is too long.
    #[inline]
    pub fn read(&self, line: &[u8]) -> Result<Record, String> {
        if line.len() > MAX_LINE {
            return Err(LineTooLong.to_string());
        }
        match &self.format {
            Format::Plain => plain::parse(line),
            format => {
                let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
                let trimmed = line.trim_ascii();
                if trimmed.is_empty() || trimmed[0] == b'#' {
                    return Ok(Record::Skipped);
                }
                match format {
                    Format::Ndjson(keys) if plain::looks_like_json(trimmed) => {
                        ndjson::parse(trimmed, keys)
                    }
                    Format::Ndjson(_) => plain::parse(trimmed),
                    Format::Delimited(c) => c.parse(line),
                    Format::AccessLog => access_log::parse(trimmed),
                    Format::Plain => unreachable!("handled above"),
                }
            }
        }
    }

    /// The records of a whole log, numbered by the line each starts on
    /// (from 1); the same split as `simulate --input`.
    pub fn records<'a>(&'a self, input: &'a [u8]) -> impl Iterator<Item = (u64, &'a [u8])> + 'a {
        let mut rest = input;
        let mut line = 1u64;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let (end, next) = self.record_end(rest, true)?;
            let record = &rest[..end];
            let at = line;
            line += 1 + record.iter().filter(|&&b| b == b'\n').count() as u64;
            rest = &rest[next..];
            Some((at, record))
        })
    }

    /// Counts the records of a whole log.
    pub fn tally(&self, input: &[u8]) -> Tally {
        let mut t = Tally::default();
        for (_, record) in self.records(input) {
            t.add_record(&self.read(record));
        }
        t
    }
}

/// What a viewer file holds, counted line by line: every line (CSV record)
/// is exactly one of a viewer, a skipped line, a request that is not a
/// viewer's, or a bad line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Lines (records) read.
    pub lines: u64,
    /// Lines that gave a viewer.
    pub viewers: u64,
    /// Blank, comment and header lines.
    pub skipped: u64,
    /// Requests the log marks as not a viewer's.
    pub not_viewers: u64,
    /// Bad lines (unparsable or over [`MAX_LINE`]).
    pub bad: u64,
}

impl Tally {
    /// Counts one line's outcome (the plain reader's shape).
    pub fn add(&mut self, outcome: &Result<Option<(IpAddr, Option<CountryCode>)>, String>) {
        self.lines += 1;
        match outcome {
            Ok(Some(_)) => self.viewers += 1,
            Ok(None) => self.skipped += 1,
            Err(_) => self.bad += 1,
        }
    }

    /// Counts one record's outcome.
    pub fn add_record(&mut self, outcome: &Result<Record, String>) {
        self.lines += 1;
        match outcome {
            Ok(Record::Viewer { .. }) => self.viewers += 1,
            Ok(Record::Skipped) => self.skipped += 1,
            Ok(Record::NotViewer) => self.not_viewers += 1,
            Err(_) => self.bad += 1,
        }
    }
}
