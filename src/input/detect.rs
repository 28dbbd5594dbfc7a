//! Choosing the reader of a viewer log from its first lines, once.
//!
//! The first meaningful line decides (blank lines and `#` comments are
//! passed over; a byte-order mark is dropped; Excel's `sep=X` line sets the
//! delimiter and the header follows it):
//!
//! 1. `--fields` given: CSV/TSV without a header, those columns (tab if the
//!    line holds one, else `,`);
//! 2. an object or a JSON array record (`{`, `[`, `,{`): NDJSON;
//! 3. `IP` or `IP,CC`: plain;
//! 4. `IP<TAB>…`: accessrules' own `--format tsv` output (address, country);
//! 5. a `[day/Mon/year:time]` field after three or four fields: an access log;
//! 6. a line naming an address column (`ip`, `client_ip`, `ClientIP`,
//!    `remote_addr` in any case, or `--ip-field`) split at `,`, `;`, tab or
//!    `|`: CSV/TSV with that header;
//! 7. anything else: plain (its lines will be bad, and the run says which
//!    format it expected).
//!
//! Where it can be fooled: a file whose first line is not like the rest
//! (a stray first line of another format; a CSV whose header names its
//! address column otherwise, without `--ip-field`; a CSV whose first data
//! line comes before its header) is read in the first line's format and its
//! other lines are bad lines, reported one by one.

use super::delimited::{is_sep_line, names_of, Columns};
use super::ndjson::{looks_like_country, CountryKey, Keys};
use super::plain::{self, looks_like_json};
use super::{access_log, names, Format, Reader, Record};

/// What the user said about the columns (`--ip-field`, `--country-field`,
/// `--fields`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hints {
    /// The address key or column name.
    pub ip_field: Option<String>,
    /// The country key or column name; `-`: none (GeoIP decides).
    pub country_field: Option<String>,
    /// The column names of a CSV/TSV without a header line.
    pub fields: Option<Vec<String>>,
}

/// The first lines fit no format the hints allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DetectError(pub String);

fn country_key(hints: &Hints) -> CountryKey {
    match hints.country_field.as_deref() {
        None => CountryKey::Known,
        Some("-") => CountryKey::Ignored,
        Some(name) => CountryKey::Named(name.to_owned()),
    }
}

/// The columns of a header or `--fields` list.
fn columns(
    names_found: Vec<String>,
    delimiter: u8,
    header: Option<Vec<u8>>,
    hints: &Hints,
) -> Result<Option<Columns>, DetectError> {
    let find = |wanted: &dyn Fn(&str) -> bool| -> Vec<usize> {
        names_found.iter().enumerate().filter(|(_, n)| wanted(n)).map(|(i, _)| i).collect()
    };
    let ip = match &hints.ip_field {
        Some(f) => find(&|n| names::header_is(n, &[f.as_str()])),
        None => find(&|n| names::is_ip_header(n)),
    };
    let ip = match ip.as_slice() {
        [] => return Ok(None),
        [i] => *i,
        [a, b, ..] => {
            return Err(DetectError(format!(
                "two address columns, {:?} and {:?}: name one with --ip-field",
                names_found[*a], names_found[*b]
            )))
        }
    };
    let country = match country_key(hints) {
        CountryKey::Ignored => None,
        CountryKey::Named(f) => match find(&|n| names::header_is(n, &[f.as_str()])).first() {
            Some(&i) => Some(i),
            None => {
                return Err(DetectError(format!(
                    "no column named {f:?} (--country-field); the columns are {}",
                    names_found.join(", ")
                )))
            }
        },
        CountryKey::Known => {
            let known = find(&|n| names::header_is(n, names::COUNTRY));
            if known.len() > 1 {
                return Err(DetectError(format!(
                    "two country columns, {:?} and {:?}: name one with --country-field",
                    names_found[known[0]], names_found[known[1]]
                )));
            }
            let odd = find(&|n| looks_like_country(n) && !names::header_is(n, names::COUNTRY));
            if let Some(&i) = odd.first() {
                return Err(DetectError(format!(
                    "column {:?} looks like a country but is not one accessrules reads ({}); \
                     name it with --country-field, or --country-field - to use GeoIP",
                    names_found[i],
                    names::COUNTRY.join(", ")
                )));
            }
            known.first().copied()
        }
    };
    let source = find(&|n| n.eq_ignore_ascii_case(names::REQUEST_SOURCE)).first().copied();
    Ok(Some(Columns { delimiter, names: names_found, ip, country, source, header }))
}

/// The fields of `line` when it reads as a header: two or more fields (by
/// `,`, `;`, tab or `|`), each a name (a letter first; letters, digits,
/// spaces, `_`, `-`, `.`), none of them an address.
fn header_names(line: &[u8]) -> Option<Vec<String>> {
    b",;\t|".iter().find_map(|&delimiter| {
        let found = names_of(line, delimiter)?;
        let is_name = |n: &String| {
            n.starts_with(|c: char| c.is_ascii_alphabetic())
                && n.chars().all(|c| c.is_ascii_alphanumeric() || " _-.".contains(c))
                && plain::parse_ip(n.as_bytes()).is_err()
        };
        (found.len() >= 2 && found.iter().all(is_name)).then_some(found)
    })
}

/// Chooses the reader for a log starting with `sample` (its first bytes:
/// a few lines are enough, a partial last line is ignored unless it is
/// the only one). See the module documentation for the order of the
/// checks and where they can be fooled.
///
/// # Errors
///
/// The hints contradict the first lines (`--fields` on NDJSON, an
/// `--ip-field` no column or key has), or a header is ambiguous (two
/// address columns) or has a country-like column accessrules does not read.
pub fn detect(sample: &[u8], hints: &Hints) -> Result<Reader, DetectError> {
    let sample = sample.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(sample);
    let mut meaningful = sample
        .split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .filter(|l| !l.is_empty() && l[0] != b'#');
    let Some(mut first) = meaningful.next() else {
        return Ok(Reader::plain());
    };
    let mut sep = None;
    if is_sep_line(first) {
        sep = Some(first[4]);
        first = meaningful.next().unwrap_or_default();
    }
    let keys = Keys { ip: hints.ip_field.clone(), country: country_key(hints) };
    if let Some(fields) = &hints.fields {
        if looks_like_json(first) {
            return Err(DetectError(
                "--fields names the columns of a CSV/TSV without a header, but the log is NDJSON"
                    .into(),
            ));
        }
        let delimiter = sep.unwrap_or(if first.contains(&b'\t') { b'\t' } else { b',' });
        return match columns(fields.clone(), delimiter, None, hints)? {
            Some(c) => Ok(Reader::new(Format::Delimited(c))),
            None => Err(DetectError(format!(
                "--fields names no address column ({}, or --ip-field)",
                names::IP.join(", ")
            ))),
        };
    }
    if sep.is_none() {
        if looks_like_json(first) {
            return Ok(Reader::new(Format::Ndjson(keys)));
        }
        let hinted = hints.ip_field.is_some() || hints.country_field.is_some();
        if !hinted && matches!(plain::parse(first), Ok(Record::Viewer { .. })) {
            return Ok(Reader::plain());
        }
        if let Some(tab) = first.iter().position(|&b| b == b'\t') {
            if plain::parse_ip(first[..tab].trim_ascii()).is_ok() && !hinted {
                return Ok(Reader::new(Format::Delimited(Columns {
                    delimiter: b'\t',
                    names: Vec::new(),
                    ip: 0,
                    country: Some(1),
                    source: None,
                    header: None,
                })));
            }
        }
        if access_log::looks_like(first) {
            if hinted {
                return Err(DetectError(
                    "--ip-field and --country-field name CSV columns or NDJSON keys; \
                     this log is an access log (the client address is its first field)"
                        .into(),
                ));
            }
            return Ok(Reader::new(Format::AccessLog));
        }
    }
    let candidates: &[u8] = match &sep {
        Some(s) => std::slice::from_ref(s),
        None => b",;\t|",
    };
    for &delimiter in candidates {
        if sep.is_none() && !first.contains(&delimiter) && candidates.len() > 1 && delimiter != b','
        {
            continue;
        }
        let Some(found) = names_of(first, delimiter) else { continue };
        if let Some(c) = columns(found, delimiter, Some(first.to_vec()), hints)? {
            return Ok(Reader::new(Format::Delimited(c)));
        }
    }
    if let Some(f) = &hints.ip_field {
        return Err(DetectError(format!(
            "--ip-field {f:?}: the first line is neither a header naming that column nor an NDJSON object: {:?}",
            plain::shown(first)
        )));
    }
    // A header of names without an address column: say so, rather than
    // reading every line as a bad plain line.
    if let Some(found) = header_names(first) {
        return Err(DetectError(format!(
            "the header names no address column (the columns are {}); name it with --ip-field \
             (known: {}, {})",
            found.join(", "),
            names::IP.join(", "),
            names::IP_HEADERS.join(", ")
        )));
    }
    if hints.country_field.is_some() {
        return Err(DetectError(format!(
            "--country-field names a CSV column or an NDJSON key, but the first line is neither a header nor an NDJSON object: {:?}",
            plain::shown(first)
        )));
    }
    if sep.is_some() {
        return Err(DetectError(format!(
            "after the sep= line, the header names no address column ({}, or --ip-field): {:?}",
            names::IP.join(", "),
            plain::shown(first)
        )));
    }
    Ok(Reader::plain())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(sample: &str) -> &'static str {
        detect(sample.as_bytes(), &Hints::default()).unwrap().name()
    }

    #[test]
    fn detects_each_format() {
        assert_eq!(name("# c\n8.8.8.8\n"), "plain");
        assert_eq!(name("8.8.8.8,US\n"), "plain");
        assert_eq!(name("{\"ClientIP\":\"1.2.3.4\"}\n"), "ndjson");
        assert_eq!(name("[\n{\"ClientIP\":\"1.2.3.4\"}\n"), "ndjson");
        assert_eq!(name("8.8.8.8\tUS\tallow\t0\n"), "tsv");
        assert_eq!(name("ip,country\n8.8.8.8,US\n"), "csv");
        assert_eq!(name("\u{feff}sep=;\nclient_ip;country_code\n"), "csv");
        assert_eq!(name("Client_IP;Country_Code\n"), "csv");
        assert_eq!(name("ClientIP\tClientCountry\n"), "tsv");
        assert_eq!(
            name("1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1\n"),
            "access-log"
        );
        assert_eq!(name("garbage\n"), "plain");
        assert!(detect(b"ip,cc\n", &Hints::default()).unwrap_err().0.contains("\"cc\""));
        assert!(detect(b"ip,ClientIP\n", &Hints::default()).unwrap_err().0.contains("two address"));
        let country = Hints { country_field: Some("cc".into()), ..Hints::default() };
        assert!(detect(b"8.8.8.8\n", &country).unwrap_err().0.contains("--country-field"));
    }
}
