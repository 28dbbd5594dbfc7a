//! Writing one decided viewer in each output format, without `core::fmt`
//! (this runs once per viewer of `--input`).

use accessrules::Action;

use super::evaluator::{CountrySource, Outcome1};
use super::ip_text::write_ip;
use super::OutputFormat;

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
