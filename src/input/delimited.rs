//! CSV and TSV viewer logs: with a header line naming the columns
//! (spreadsheet exports, Logpush CSV with a header), without one (Logpush
//! CSV with `--fields`, or accessrules' own `--format tsv` output).
//!
//! Fields follow RFC 4180: a field that starts with `"` is quoted, `""`
//! inside it is a quote, and it may hold the delimiter and line breaks (so
//! a record may span lines: [`record_end`]).

use std::borrow::Cow;

use super::plain::{line_country, parse_ip, shown};
use super::{names, LineCountry, Record, MAX_LINE};

/// The columns of a delimited log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Columns {
    /// The delimiter (`,`, `;`, `\t` or `|`).
    pub delimiter: u8,
    /// Column names (from the header line or `--fields`); empty for
    /// accessrules' own TSV.
    pub names: Vec<String>,
    /// The address column (0-based).
    pub ip: usize,
    /// The country column, if any.
    pub country: Option<usize>,
    /// The `ClientRequestSource` column, if any.
    pub source: Option<usize>,
    /// The header line as written (trimmed), skipped wherever it repeats.
    pub header: Option<Vec<u8>>,
}

/// Where the record starting at `rest[0]` ends: `(end, next)` with the
/// record `rest[..end]` and the next one at `rest[next..]`; `None` when
/// more bytes are needed (`eof` false). A quote left open for more than
/// [`MAX_LINE`] bytes ends the record at its first line break instead (the
/// record is then bad), so a stray quote never swallows the rest of a file
/// and the answer never depends on how the input was chunked.
pub fn record_end(rest: &[u8], eof: bool) -> Option<(usize, usize)> {
    let mut quoted = false;
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => return Some((i, i + 1)),
            _ => {}
        }
        i += 1;
        if quoted && i > MAX_LINE {
            return match rest.iter().position(|&b| b == b'\n') {
                Some(j) => Some((j, j + 1)),
                None if eof => Some((rest.len(), rest.len())),
                None => None,
            };
        }
    }
    eof.then_some((rest.len(), rest.len()))
}

/// The fields of one record, unquoted.
///
/// # Errors
///
/// A message for an unterminated quote or text after a closing quote.
pub(crate) fn fields(record: &[u8], delimiter: u8) -> Result<Vec<Cow<'_, [u8]>>, String> {
    let mut out = Vec::new();
    let mut rest = record;
    loop {
        if rest.first() == Some(&b'"') {
            let mut value = Vec::new();
            let mut i = 1;
            loop {
                match rest.get(i) {
                    None => {
                        return Err(format!("unterminated quote in {:?}", shown(record)));
                    }
                    Some(b'"') if rest.get(i + 1) == Some(&b'"') => {
                        value.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
            let after = &rest[i..];
            let end = after.iter().position(|&c| c == delimiter).unwrap_or(after.len());
            if !after[..end].trim_ascii().is_empty() {
                return Err(format!("text after a closing quote in {:?}", shown(record)));
            }
            out.push(Cow::Owned(value));
            if end == after.len() {
                return Ok(out);
            }
            rest = &after[end + 1..];
        } else {
            match rest.iter().position(|&c| c == delimiter) {
                Some(end) => {
                    out.push(Cow::Borrowed(&rest[..end]));
                    rest = &rest[end + 1..];
                }
                None => {
                    out.push(Cow::Borrowed(rest));
                    return Ok(out);
                }
            }
        }
    }
}

/// Whether a line is Excel's `sep=X` (the delimiter of what follows).
pub(crate) fn is_sep_line(line: &[u8]) -> bool {
    line.len() == 5 && line[..4].eq_ignore_ascii_case(b"sep=")
}

/// The column names of a header or `--fields` list, as written.
pub(crate) fn names_of(record: &[u8], delimiter: u8) -> Option<Vec<String>> {
    let fields = fields(record, delimiter).ok()?;
    Some(fields.iter().map(|f| String::from_utf8_lossy(f.trim_ascii()).into_owned()).collect())
}

impl Columns {
    /// Reads one record (already known not to be blank).
    pub(crate) fn parse(&self, record: &[u8]) -> Result<Record, String> {
        let record = record.strip_suffix(b"\r").unwrap_or(record);
        let trimmed = record.trim_ascii();
        if self.header.as_deref() == Some(trimmed) || is_sep_line(trimmed) {
            return Ok(Record::Skipped);
        }
        let fields = fields(record, self.delimiter)?;
        let field = |i: usize| fields.get(i).map(|f| f.trim_ascii());
        if let Some(source) = self.source.and_then(field) {
            if !source.is_empty() && source != names::EYEBALL.as_bytes() {
                return Ok(Record::NotViewer);
            }
        }
        let Some(ip) = field(self.ip) else {
            return Err(format!(
                "{} field{}, the address is field {}{}",
                fields.len(),
                if fields.len() == 1 { "" } else { "s" },
                self.ip + 1,
                self.names.get(self.ip).map(|n| format!(" ({n:?})")).unwrap_or_default()
            ));
        };
        let ip = parse_ip(ip)?;
        let country = match self.country.and_then(field) {
            None => LineCountry::Absent,
            Some(cc) => line_country(cc)?,
        };
        Ok(Record::Viewer { ip, country })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields() {
        let f = |s: &str| {
            fields(s.as_bytes(), b',').map(|v| v.iter().map(|x| x.to_vec()).collect::<Vec<_>>())
        };
        assert_eq!(
            f("a,\"b,c\",\"d\"\"e\"").unwrap(),
            vec![b"a".to_vec(), b"b,c".to_vec(), b"d\"e".to_vec()]
        );
        assert_eq!(f("\"x\ny\",1").unwrap(), vec![b"x\ny".to_vec(), b"1".to_vec()]);
        assert!(f("\"open,1").is_err());
        assert!(f("\"a\"b,1").is_err());
        assert_eq!(f("").unwrap(), vec![b"".to_vec()]);
    }

    #[test]
    fn record_ends() {
        assert_eq!(record_end(b"a,b\nc", false), Some((3, 4)));
        assert_eq!(record_end(b"\"a\nb\",c\nd", false), Some((7, 8)));
        assert_eq!(record_end(b"\"a\nb", false), None);
        assert_eq!(record_end(b"\"a\nb", true), Some((4, 4)));
        let open = [b"\"x\n".as_slice(), &vec![b'y'; MAX_LINE]].concat();
        assert_eq!(record_end(&open, false), Some((2, 3)));
    }
}
