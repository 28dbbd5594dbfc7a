//! Viewer lines of `simulate --input` (the README): `IP`, `IP,CC` or an
//! ndjson object `{"ip": ..., "country": ...}`; blank lines and `#`
//! comments are skipped.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::rules::CountryCode;

/// A viewer line read: `None` for blank and comment lines.
pub type ParsedLine = Option<(IpAddr, Option<CountryCode>)>;

#[derive(serde::Deserialize)]
struct NdjsonViewer {
    ip: String,
    #[serde(default)]
    country: Option<String>,
}

fn country_from_bytes(b: &[u8]) -> Option<CountryCode> {
    match b {
        [x, y] if x.is_ascii_alphabetic() && y.is_ascii_alphanumeric() => {
            let up = [x.to_ascii_uppercase(), y.to_ascii_uppercase()];
            let code = CountryCode::new(std::str::from_utf8(&up).ok()?)?;
            // Assigned codes and the pseudo-codes logs carry (`XX`, `EU`).
            (crate::rules::country::is_assigned(code)
                || crate::rules::country::pseudo_code(code.as_str()).is_some())
            .then_some(code)
        }
        _ => None,
    }
}

fn shown(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(64)]).into_owned();
    if b.len() > 64 {
        format!("{s}…")
    } else {
        s
    }
}

/// The common forms of an address, read straight from bytes: dotted-quad
/// IPv4 (one to three digits per octet, no leading zero, at most 255) and
/// IPv6 as hex groups with at most one `::` and no embedded IPv4. `None`
/// for anything else, which the caller hands to `str::parse`: whatever this
/// accepts, `str::parse` accepts too and reads as the same address, so the
/// result never depends on which of the two read it (a test checks it).
fn fast_ip(b: &[u8]) -> Option<IpAddr> {
    // An IPv6 address fails the IPv4 reading within its first five bytes.
    match fast_v4(b) {
        Some(v4) => Some(IpAddr::V4(v4)),
        None => fast_v6(b).map(IpAddr::V6),
    }
}

/// An address as written in a log or a column: the common forms read
/// straight from bytes (see `fast_ip`), anything else by `str::parse`;
/// `None` when it is not an address. Surrounding spaces are not trimmed.
#[inline]
pub fn parse_ip(b: &[u8]) -> Option<IpAddr> {
    fast_ip(b).or_else(|| std::str::from_utf8(b).ok()?.parse().ok())
}

/// The first `,` in `b`, eight bytes at a time (the classic zero-byte test
/// on `word ^ ",,,,,,,,"`: its lowest flagged byte is always a real match).
fn find_comma(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let mut chunks = b.chunks_exact(8);
    for (k, chunk) in chunks.by_ref().enumerate() {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let x = word ^ (ONES * u64::from(b','));
        let flagged = x.wrapping_sub(ONES) & !x & (ONES << 7);
        if flagged != 0 {
            return Some(8 * k + (flagged.trailing_zeros() / 8) as usize);
        }
    }
    let rest = chunks.remainder();
    rest.iter().position(|&c| c == b',').map(|p| b.len() - rest.len() + p)
}

/// Hex digit values; 0xff for other bytes.
static HEX_VALUE: [u8; 256] = {
    let mut t = [0xff; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

fn fast_v4(b: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (k, octet) in octets.iter_mut().enumerate() {
        if k > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v = 0u32;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if i - start == 3 {
                return None;
            }
            v = v * 10 + u32::from(c - b'0');
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || (digits > 1 && b[start] == b'0') {
            return None;
        }
        *octet = u8::try_from(v).ok()?;
    }
    (i == b.len()).then_some(Ipv4Addr::from(octets))
}

fn fast_v6(b: &[u8]) -> Option<Ipv6Addr> {
    // Groups before and after the `::`, if any.
    let (mut head, mut tail) = ([0u16; 8], [0u16; 8]);
    let (mut n_head, mut n_tail) = (0, 0);
    let mut gap = false;
    let mut i = 0;
    if b.starts_with(b"::") {
        gap = true;
        i = 2;
    }
    while i < b.len() {
        let start = i;
        let mut v = 0u16;
        while let Some(&d) = b.get(i).map(|&c| &HEX_VALUE[usize::from(c)]).filter(|&&d| d < 16) {
            if i - start == 4 {
                return None;
            }
            v = v << 4 | u16::from(d);
            i += 1;
        }
        if i == start {
            return None;
        }
        if gap {
            *tail.get_mut(n_tail)? = v;
            n_tail += 1;
        } else {
            *head.get_mut(n_head)? = v;
            n_head += 1;
        }
        if i == b.len() {
            break;
        }
        if b[i] != b':' {
            return None;
        }
        i += 1;
        if b.get(i) == Some(&b':') {
            if gap {
                return None;
            }
            gap = true;
            i += 1;
        } else if i == b.len() {
            return None;
        }
    }
    let groups = if gap {
        // `::` stands for at least one zero group.
        if n_head + n_tail > 7 {
            return None;
        }
        let mut groups = head;
        groups[8 - n_tail..].copy_from_slice(&tail[..n_tail]);
        groups
    } else if n_head == 8 {
        head
    } else {
        return None;
    };
    Some(Ipv6Addr::from(groups))
}

/// Reads one viewer line: `IP`, `IP,CC` or `{"ip": ..., "country": ...}`;
/// blank lines and `#` comments give `Ok(None)`.
///
/// # Errors
///
/// A message naming the bad value.
pub fn parse_line(line: &[u8]) -> Result<ParsedLine, String> {
    let line = line.trim_ascii();
    if line.is_empty() || line[0] == b'#' {
        return Ok(None);
    }
    if line[0] == b'{' {
        let v: NdjsonViewer = serde_json::from_slice(line)
            .map_err(|e| format!("invalid ndjson viewer {:?}: {e}", shown(line)))?;
        let ip =
            v.ip.trim()
                .parse()
                .map_err(|_| format!("invalid viewer address {:?}", shown(v.ip.as_bytes())))?;
        let country = match v.country.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => Some(
                country_from_bytes(c.as_bytes())
                    .ok_or_else(|| format!("invalid country {:?}", shown(c.as_bytes())))?,
            ),
        };
        return Ok(Some((ip, country)));
    }
    let (ip_part, cc_part) = match find_comma(line) {
        Some(i) => (line[..i].trim_ascii(), Some(line[i + 1..].trim_ascii())),
        None => (line, None),
    };
    let ip = fast_ip(ip_part)
        .or_else(|| std::str::from_utf8(ip_part).ok().and_then(|s| s.parse().ok()))
        .ok_or_else(|| format!("invalid viewer address {:?}", shown(ip_part)))?;
    let country = match cc_part {
        None | Some([]) => None,
        Some(cc) => {
            Some(country_from_bytes(cc).ok_or_else(|| format!("invalid country {:?}", shown(cc)))?)
        }
    };
    Ok(Some((ip, country)))
}

/// Longest viewer line accepted, in bytes, not counting the `\n` (an
/// address, a country and an ndjson wrapper fit in far less). A longer
/// line is reported as bad and skipped, never buffered whole.
pub const MAX_LINE: usize = 4096;

/// A line over [`MAX_LINE`] bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineTooLong;

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line longer than {MAX_LINE} bytes")
    }
}

/// Reads one line (without its `\n`) under the length limit: a line over
/// [`MAX_LINE`] bytes is an error whatever it holds, then [`parse_line`].
///
/// # Errors
///
/// A message naming the bad value, or saying that the line is too long.
pub fn read_line(line: &[u8]) -> Result<ParsedLine, String> {
    if line.len() > MAX_LINE {
        return Err(LineTooLong.to_string());
    }
    parse_line(line)
}

/// The lines of a whole viewer file, numbered from 1, split at `\n` (the
/// `\n` is not part of the line; a `\r` before it is, and [`parse_line`]
/// trims it). A final `\n` does not start another line.
pub fn lines(input: &[u8]) -> impl Iterator<Item = (u64, &[u8])> + '_ {
    let body = input.strip_suffix(b"\n").unwrap_or(input);
    let mut parts = body.split(|&b| b == b'\n');
    if input.is_empty() {
        // `split` yields one empty piece for an empty slice: no lines.
        parts.next();
    }
    (1u64..).zip(parts)
}

/// What a viewer file holds, counted line by line: every line is exactly
/// one of a viewer, a skipped (blank or `#` comment) line or a bad line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Lines read.
    pub lines: u64,
    /// Lines that gave a viewer.
    pub viewers: u64,
    /// Blank and comment lines.
    pub skipped: u64,
    /// Bad lines (unparsable or over [`MAX_LINE`]).
    pub bad: u64,
}

impl Tally {
    /// Counts one line's outcome.
    pub fn add(&mut self, outcome: &Result<ParsedLine, String>) {
        self.lines += 1;
        match outcome {
            Ok(Some(_)) => self.viewers += 1,
            Ok(None) => self.skipped += 1,
            Err(_) => self.bad += 1,
        }
    }
}

/// Counts the lines of a whole viewer file ([`lines`], [`read_line`]).
pub fn tally(input: &[u8]) -> Tally {
    let mut t = Tally::default();
    for (_, line) in lines(input) {
        t.add(&read_line(line));
    }
    t
}

/// Splits a viewer stream given in chunks of any size into the same lines
/// as [`lines`], keeping at most [`MAX_LINE`] bytes of a line that spans
/// chunks: an overlong line is reported as [`LineTooLong`] (once, with its
/// number) and its bytes are dropped as they arrive.
#[derive(Clone, Debug, Default)]
pub struct LineSplitter {
    /// The start of a line begun in an earlier chunk (at most `MAX_LINE`).
    carry: Vec<u8>,
    /// Inside a line already known to be too long.
    overlong: bool,
    /// Lines completed so far.
    done: u64,
}

impl LineSplitter {
    /// A splitter at the start of a stream.
    pub fn new() -> LineSplitter {
        LineSplitter::default()
    }

    /// Bytes held for a line spanning chunks (never over [`MAX_LINE`]).
    pub fn buffered(&self) -> usize {
        self.carry.len()
    }

    fn emit<'a>(
        &mut self,
        line: &'a [u8],
        on_line: &mut impl FnMut(u64, Result<&'a [u8], LineTooLong>),
    ) {
        self.done += 1;
        if self.overlong || line.len() > MAX_LINE {
            on_line(self.done, Err(LineTooLong));
        } else {
            on_line(self.done, Ok(line));
        }
    }

    /// Feeds the next chunk; calls `on_line(number, line)` for every line
    /// it completes, in order.
    pub fn push(&mut self, chunk: &[u8], mut on_line: impl FnMut(u64, Result<&[u8], LineTooLong>)) {
        let mut rest = chunk;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let (line, next) = (&rest[..i], &rest[i + 1..]);
            rest = next;
            if self.carry.is_empty() && !self.overlong {
                self.emit(line, &mut on_line);
            } else {
                let mut carry = std::mem::take(&mut self.carry);
                if !self.overlong && carry.len() + line.len() <= MAX_LINE {
                    carry.extend_from_slice(line);
                } else {
                    self.overlong = true;
                }
                self.emit(&carry, &mut on_line);
                self.overlong = false;
                carry.clear();
                self.carry = carry;
            }
        }
        if self.overlong || self.carry.len() + rest.len() > MAX_LINE {
            self.overlong = true;
            self.carry.clear();
        } else {
            self.carry.extend_from_slice(rest);
        }
    }

    /// Ends the stream: a last line without `\n` is completed.
    pub fn finish(mut self, mut on_line: impl FnMut(u64, Result<&[u8], LineTooLong>)) {
        if self.overlong || !self.carry.is_empty() {
            let carry = std::mem::take(&mut self.carry);
            self.emit(&carry, &mut on_line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_viewer_lines() {
        let p = |s: &str| parse_line(s.as_bytes());
        assert_eq!(p("").unwrap(), None);
        assert_eq!(p("  # comment").unwrap(), None);
        assert_eq!(p("8.8.8.8\r").unwrap(), Some(("8.8.8.8".parse().unwrap(), None)));
        assert_eq!(
            p("8.8.8.8, us").unwrap(),
            Some(("8.8.8.8".parse().unwrap(), CountryCode::new("US")))
        );
        assert_eq!(
            p(r#"{"ip":"::1","country":"de"}"#).unwrap(),
            Some(("::1".parse().unwrap(), CountryCode::new("DE")))
        );
        assert!(p("8.8.8").is_err());
        assert!(p("8.8.8.8,USA").is_err());
        assert!(p("fe80::1%eth0").is_err());
        assert!(p("{\"ip\": 5}").is_err());
    }

    #[test]
    fn line_length_limit() {
        let at_limit = [b"8.8.8.8".as_slice(), &[b' '; MAX_LINE - 7]].concat();
        assert_eq!(at_limit.len(), MAX_LINE);
        assert!(read_line(&at_limit).unwrap().is_some());
        let over = [at_limit.as_slice(), b" "].concat();
        assert_eq!(read_line(&over).unwrap_err(), "line longer than 4096 bytes");
    }

    #[test]
    fn lines_and_tally() {
        let split = |s: &[u8]| lines(s).map(|(n, l)| (n, l.to_vec())).collect::<Vec<_>>();
        assert!(split(b"").is_empty());
        assert_eq!(split(b"\n"), vec![(1, vec![])]);
        assert_eq!(split(b"a\nb"), vec![(1, b"a".to_vec()), (2, b"b".to_vec())]);
        assert_eq!(split(b"a\n\n"), vec![(1, b"a".to_vec()), (2, vec![])]);
        let t = tally(b"8.8.8.8\n# c\n\nbad\n::1,de");
        assert_eq!(t, Tally { lines: 5, viewers: 2, skipped: 2, bad: 1 });
    }

    /// Splits `input` in chunks of `size` bytes through [`LineSplitter`].
    fn chunked(input: &[u8], size: usize) -> Vec<(u64, Result<Vec<u8>, LineTooLong>)> {
        let mut out = Vec::new();
        let mut s = LineSplitter::new();
        for chunk in input.chunks(size) {
            s.push(chunk, |n, l| out.push((n, l.map(<[u8]>::to_vec))));
            assert!(s.buffered() <= MAX_LINE);
        }
        s.finish(|n, l| out.push((n, l.map(<[u8]>::to_vec))));
        out
    }

    #[test]
    fn splitter_agrees_with_lines_for_any_chunking() {
        let long = vec![b'x'; MAX_LINE + 1];
        let exact = vec![b'y'; MAX_LINE];
        let input =
            [b"1.1.1.1\n".as_slice(), &long, b"\n", &exact, b"\n\n::1", b"\n", &long].concat();
        let expected: Vec<_> = lines(&input)
            .map(|(n, l)| (n, if l.len() > MAX_LINE { Err(LineTooLong) } else { Ok(l.to_vec()) }))
            .collect();
        assert_eq!(expected.len(), 6);
        for size in [1, 2, 3, 7, 100, MAX_LINE - 1, MAX_LINE, MAX_LINE + 1, 10_000, input.len()] {
            assert_eq!(chunked(&input, size), expected, "chunks of {size}");
        }
    }

    #[test]
    fn find_comma_finds_the_first() {
        let text = b"2001:db8::1,US,x,,";
        for start in 0..text.len() {
            for end in start..=text.len() {
                let b = &text[start..end];
                assert_eq!(find_comma(b), b.iter().position(|&c| c == b','), "{start}..{end}");
            }
        }
        for n in 0..40 {
            let mut b = vec![b'1'; n];
            assert_eq!(find_comma(&b), None);
            for at in 0..n {
                b[at] = b',';
                assert_eq!(find_comma(&b), Some(at));
                b[at] = b'-'; // 0x2d: one above `,`
            }
            assert_eq!(find_comma(&b), None);
        }
    }

    /// Whatever `fast_ip` reads, `str::parse` reads as the same address;
    /// and it reads the usual forms (so that the fast path is used).
    #[test]
    fn fast_ip_agrees_with_std() {
        let check = |s: &str| {
            if let Some(ip) = fast_ip(s.as_bytes()) {
                assert_eq!(s.parse::<IpAddr>().ok(), Some(ip), "{s:?}");
            }
        };
        for s in [
            "0.0.0.0",
            "255.255.255.255",
            "256.0.0.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.4 ",
            "::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::8",
            "1::2::3",
            ":1",
            "1:",
            ":::",
            "12345::",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6:7:8:9",
            "0:0::",
            "fe80::1%eth0",
            "ABCD::Ef01",
            "",
            ".",
            ":",
        ] {
            check(s);
        }
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"0123456789abcdefABCDEF:.:.0:";
        for _ in 0..300_000 {
            let r = next();
            let len = (r % 24) as usize;
            let s: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize] as char)
                .collect();
            check(&s);
            // Real addresses, as `Display` writes them.
            let v6 = Ipv6Addr::from(u128::from(r) << (r % 64) | u128::from(next() >> (r % 61)));
            let v4 = Ipv4Addr::from(r as u32 >> (r % 24));
            for ip in [IpAddr::V6(v6), IpAddr::V4(v4)] {
                let text = ip.to_string();
                // (IPv4-mapped addresses are written with a dotted quad.)
                if v6.to_ipv4_mapped().is_none() || ip.is_ipv4() {
                    assert_eq!(fast_ip(text.as_bytes()), Some(ip), "{text}");
                }
            }
        }
    }
}
