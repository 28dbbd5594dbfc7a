//! Plain viewer lines: `IP` or `IP,CC` (and, line by line, the NDJSON
//! objects of the NDJSON reader). This is the fast path of
//! `simulate --input`: an address is read straight from bytes, no line
//! allocates unless it is NDJSON or bad.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{LineCountry, Record};
use crate::rules::CountryCode;

/// A viewer country as a log writes it, any case: an assigned code or a
/// pseudo-code (`XX`, `T1`, `EU`, …).
pub(crate) fn country_from_bytes(b: &[u8]) -> Option<CountryCode> {
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

/// At most 64 bytes of `b`, for a message.
pub(crate) fn shown(b: &[u8]) -> String {
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
#[inline(always)]
pub(crate) fn fast_ip(b: &[u8]) -> Option<IpAddr> {
    match fast_v4(b) {
        Some(v4) => Some(IpAddr::V4(v4)),
        None => fast_v6(b).map(IpAddr::V6),
    }
}

/// The first `,` in `b`, eight bytes at a time (the classic zero-byte test
/// on `word ^ ",,,,,,,,"`: its lowest flagged byte is always a real match).
fn find_comma(b: &[u8]) -> Option<usize> {
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

const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of each byte of `x` whose value is below `n` (1 ≤ n ≤ 128):
/// `(byte & 0x7f) + 128 - n` never carries into the next byte.
#[inline(always)]
const fn bytes_below(x: u64, n: u8) -> u64 {
    const LOW7: u64 = ONES * 0x7f;
    !(((x & LOW7) + ONES * (128 - n as u64)) | x) & (ONES << 7)
}

/// A dotted quad without a branch per byte (mixed logs mispredict those):
/// the text (7 to 15 bytes) as one little-endian `u128`, its dots and
/// digits flagged by SWAR arithmetic (eight bytes per operation), and each
/// octet read from a four-byte window by one multiplication.
#[inline(always)]
fn fast_v4(b: &[u8]) -> Option<Ipv4Addr> {
    let n = b.len();
    let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default());
    let (lo, hi) = match n {
        7 => {
            let half = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default());
            (u64::from(half(0)) | u64::from(half(3)) << 24, 0)
        }
        // The last eight bytes, shifted so that byte 8 comes first.
        8..=15 => (word(0), word(n - 8).checked_shr(8 * (16 - n) as u32).unwrap_or(0)),
        _ => return None,
    };
    let flags = |below: u8, of: u8| {
        let f = |w: u64| bytes_below(w ^ (ONES * u64::from(of)), below);
        u128::from(f(lo)) | u128::from(f(hi)) << 64
    };
    let dots = flags(1, b'.');
    let digits = flags(10, b'0');
    // Only digits and dots, three dots (the zeros after the text are neither).
    let in_text = (u128::from(ONES << 7) * (1 << 64 | 1)) & ((1 << (8 * n)) - 1);
    let mut ok = ((dots | digits) == in_text) & (dots.count_ones() == 3);
    let text = u128::from(lo) | u128::from(hi) << 64;
    let d1 = (dots.trailing_zeros() / 8) as usize;
    let rest = dots & dots.wrapping_sub(1);
    let d2 = (rest.trailing_zeros() / 8) as usize;
    let d3 = ((rest & rest.wrapping_sub(1)).trailing_zeros() / 8) as usize;
    let mut octets = [0u8; 4];
    for (octet, (start, end)) in
        octets.iter_mut().zip([(0, d1), (d1 + 1, d2), (d2 + 1, d3), (d3 + 1, n)])
    {
        let len = end.wrapping_sub(start);
        ok &= len.wrapping_sub(1) < 3;
        let len = len.clamp(1, 3);
        // The digits' values right-aligned in the top bytes: for `d0 d1 d2`,
        // bytes 1, 2, 3 (a shorter octet has zeros in front).
        let four = text.wrapping_shr(8 * start as u32) as u32 ^ 0x3030_3030;
        let digits = four << (8 * (4 - len));
        // 100·d0 + 10·d1 + d2 in the top byte (the terms below it stay
        // below 2^24); exact when the octet is at most 255, checked on the
        // digits read as a big-endian number: leading digit not zero
        // (unless alone) and at most 2 5 5.
        let value = digits.wrapping_mul(0x0064_0A01) >> 24;
        let big_endian = digits.swap_bytes();
        const LEAST: [u32; 4] = [0, 0, 0x01_00, 0x01_00_00];
        const MOST: [u32; 4] = [0, 0x09, 0x09_09, 0x02_05_05];
        ok &= (big_endian >= LEAST[len]) & (big_endian <= MOST[len]);
        *octet = value as u8;
    }
    ok.then_some(Ipv4Addr::from(octets))
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

#[inline(always)]
fn fast_v6(b: &[u8]) -> Option<Ipv6Addr> {
    // The groups before the `::` (all of them without one) and after it,
    // each accumulated as read: the last group lowest.
    let (mut head, mut tail) = (0u128, 0u128);
    let (mut n_head, mut n_tail) = (0u32, 0u32);
    let mut gap = false;
    let n = b.len();
    let mut i = 0;
    if b.starts_with(b"::") {
        gap = true;
        i = 2;
    }
    while i < n {
        let start = i;
        let mut group = 0u32;
        while let Some(&c) = b.get(i) {
            let digit = HEX_VALUE[usize::from(c)];
            if digit >= 16 {
                break;
            }
            group = group << 4 | u32::from(digit);
            i += 1;
        }
        if !(1..=4).contains(&(i - start)) || n_head + n_tail == 8 {
            return None;
        }
        if gap {
            tail = tail << 16 | u128::from(group);
            n_tail += 1;
        } else {
            head = head << 16 | u128::from(group);
            n_head += 1;
        }
        if i == n {
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
        } else if i == n {
            return None;
        }
    }
    let address = if gap {
        // `::` stands for at least one zero group.
        if n_head + n_tail > 7 {
            return None;
        }
        head.checked_shl(16 * (8 - n_head)).unwrap_or(0) | tail
    } else if n_head == 8 {
        head
    } else {
        return None;
    };
    Some(Ipv6Addr::from(address))
}

/// What a country field says: empty or `-` is no country (GeoIP decides),
/// `XX` is Cloudflare's "no country" (unknown, no GeoIP fallback), anything
/// else must be a country code.
///
/// # Errors
///
/// A message naming the bad value.
pub(crate) fn line_country(cc: &[u8]) -> Result<LineCountry, String> {
    match cc {
        [] | [b'-'] => Ok(LineCountry::Absent),
        [x, y] if x.eq_ignore_ascii_case(&b'x') && y.eq_ignore_ascii_case(&b'x') => {
            Ok(LineCountry::Unknown)
        }
        _ => country_from_bytes(cc).map(LineCountry::Code).ok_or_else(|| {
            // The message of `--country`, with its suggestion (`UK`: GB).
            match std::str::from_utf8(cc) {
                Ok(text) => crate::rules::country::viewer_country(text)
                    .err()
                    .unwrap_or_else(|| format!("invalid country {:?}", shown(cc))),
                Err(_) => {
                    let hex: Vec<String> = cc.iter().take(16).map(|b| format!("{b:02x}")).collect();
                    format!(
                        "invalid country: not UTF-8 (bytes {}); expected an ISO 3166-1 alpha-2 \
                         code such as US",
                        hex.join(" ")
                    )
                }
            }
        }),
    }
}

/// Whether a line starts like NDJSON (an object, or a record of a JSON
/// array as Logpush's `record_prefix`/`record_delimiter` write it).
#[inline]
pub(crate) fn looks_like_json(line: &[u8]) -> bool {
    matches!(line.first(), Some(b'{' | b'[' | b']')) || line.starts_with(b",{")
}

/// Reads one plain line (`IP`, `IP,CC`, or an NDJSON object with the known
/// keys); blank lines and `#` comments are [`Record::Skipped`]. No length
/// check (see [`super::Reader::read`]).
///
/// # Errors
///
/// A message naming the bad value.
#[inline]
pub fn parse(line: &[u8]) -> Result<Record, String> {
    let line = line.trim_ascii();
    if line.is_empty() || line[0] == b'#' {
        return Ok(Record::Skipped);
    }
    if looks_like_json(line) {
        return super::ndjson::parse(line, &super::ndjson::Keys::default());
    }
    let (ip_part, cc_part) = match find_comma(line) {
        Some(i) => (line[..i].trim_ascii(), Some(line[i + 1..].trim_ascii())),
        None => (line, None),
    };
    let ip = parse_ip(ip_part)?;
    let country = match cc_part {
        None | Some([]) => LineCountry::Absent,
        Some(cc) => line_country(cc)?,
    };
    Ok(Record::Viewer { ip, country })
}

/// An address read from bytes (fast path first, then `str::parse`).
///
/// # Errors
///
/// "invalid viewer address" naming the value.
#[inline(always)]
pub fn parse_ip(b: &[u8]) -> Result<IpAddr, String> {
    fast_ip(b)
        .or_else(|| std::str::from_utf8(b).ok().and_then(|s| s.parse().ok()))
        .ok_or_else(|| format!("invalid viewer address {:?}", shown(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_viewer_lines() {
        let p = |s: &str| parse(s.as_bytes());
        let v = |ip: &str, country| Record::Viewer { ip: ip.parse().unwrap(), country };
        assert_eq!(p("").unwrap(), Record::Skipped);
        assert_eq!(p("  # comment").unwrap(), Record::Skipped);
        assert_eq!(p("8.8.8.8\r").unwrap(), v("8.8.8.8", LineCountry::Absent));
        let us = LineCountry::Code(CountryCode::new("US").unwrap());
        assert_eq!(p("8.8.8.8, us").unwrap(), v("8.8.8.8", us));
        assert_eq!(p("8.8.8.8,xx").unwrap(), v("8.8.8.8", LineCountry::Unknown));
        assert_eq!(p("8.8.8.8,-").unwrap(), v("8.8.8.8", LineCountry::Absent));
        let de = LineCountry::Code(CountryCode::new("DE").unwrap());
        assert_eq!(p(r#"{"ip":"::1","country":"de"}"#).unwrap(), v("::1", de));
        assert!(p("8.8.8").is_err());
        assert!(p("8.8.8.8,USA").is_err());
        assert!(p("fe80::1%eth0").is_err());
        assert!(p("{\"ip\": 5}").is_err());
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

    /// The dotted-quad reader on bytes near its edges: digits and dots
    /// with octets of 0 to 4 digits, leading zeros, values around 255, and
    /// bytes one off a digit or dot (`/`, `:`, `-`), NUL and non-ASCII
    /// bytes whose low seven bits are a digit or dot. It agrees with
    /// `str::parse` both ways.
    #[test]
    fn fast_v4_agrees_with_std_on_any_bytes() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let odd: &[u8] = b"/:-\x00\xb0\xb9\xae ";
        for _ in 0..400_000 {
            let mut b = Vec::new();
            for k in 0..4 {
                if k > 0 {
                    b.push(b'.');
                }
                let digits = (next() % 5) as usize;
                let value = next() % 300;
                let text = format!("{value:0digits$}");
                b.extend_from_slice(&text.as_bytes()[text.len().saturating_sub(digits.max(1))..]);
            }
            if next() % 3 == 0 {
                let at = (next() % (b.len() as u64 + 1)) as usize;
                match next() % 3 {
                    0 => b.insert(at, odd[(next() % odd.len() as u64) as usize]),
                    1 if at < b.len() => {
                        b.remove(at);
                    }
                    _ if at < b.len() => b[at] = odd[(next() % odd.len() as u64) as usize],
                    _ => b.push(b'.'),
                }
            }
            let by_std = std::str::from_utf8(&b).ok().and_then(|s| s.parse::<Ipv4Addr>().ok());
            assert_eq!(fast_ip(&b), by_std.map(IpAddr::V4), "{:?}", String::from_utf8_lossy(&b));
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
