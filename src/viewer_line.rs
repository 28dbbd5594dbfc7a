//! The plain viewer lines of `simulate --input` (`IP`, `IP,CC`, NDJSON
//! objects) in the shape of earlier releases; the readers of every format
//! are in [`crate::input`].

use std::net::IpAddr;

pub use crate::input::{lines, LineSplitter, LineTooLong, Tally, MAX_LINE};
use crate::input::{LineCountry, Reader, Record};
use crate::rules::CountryCode;

/// A viewer line read: `None` for blank and comment lines (and requests
/// the log marks as not a viewer's); the country `XX` stands for
/// [`LineCountry::Unknown`].
pub type ParsedLine = Option<(IpAddr, Option<CountryCode>)>;

fn shape(record: Record) -> ParsedLine {
    match record {
        Record::Viewer { ip, country } => Some((
            ip,
            match country {
                LineCountry::Absent => None,
                LineCountry::Code(c) => Some(c),
                LineCountry::Unknown => CountryCode::new("XX"),
            },
        )),
        Record::Skipped | Record::NotViewer => None,
    }
}

/// Reads one viewer line: `IP`, `IP,CC` or an NDJSON object; blank lines
/// and `#` comments give `Ok(None)` ([`crate::input::plain::parse`]).
///
/// # Errors
///
/// A message naming the bad value.
pub fn parse_line(line: &[u8]) -> Result<ParsedLine, String> {
    crate::input::plain::parse(line).map(shape)
}

/// Reads one line (without its `\n`) under the length limit: a line over
/// [`MAX_LINE`] bytes is an error whatever it holds, then [`parse_line`].
///
/// # Errors
///
/// A message naming the bad value, or saying that the line is too long.
pub fn read_line(line: &[u8]) -> Result<ParsedLine, String> {
    Reader::plain().read(line).map(shape)
}

/// Counts the lines of a whole plain viewer file ([`lines`], [`read_line`]).
pub fn tally(input: &[u8]) -> Tally {
    let mut t = Tally::default();
    for (_, line) in lines(input) {
        t.add(&read_line(line));
    }
    t
}
