//! Writing addresses as text without `core::fmt`: the same characters as
//! `Display` for `Ipv4Addr` and `Ipv6Addr` (dotted decimal; RFC 5952 for
//! IPv6: lower-case hex, the first longest run of two or more zero groups
//! written `::`, IPv4-mapped addresses as `::ffff:a.b.c.d`), a few times
//! faster, for `simulate --input`, which writes one address per viewer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Appends `ip` as `Display` writes it.
#[inline]
pub fn write_ip(out: &mut Vec<u8>, ip: IpAddr) {
    let mut buf = Buf { bytes: [0; 48], len: 0 };
    match ip {
        IpAddr::V4(a) => buf.v4(a),
        IpAddr::V6(a) => buf.v6(a),
    }
    // A fixed-size copy, then the length: no `memcpy` call per address.
    let at = out.len();
    out.extend_from_slice(&buf.bytes);
    out.truncate(at + buf.len);
}

/// A stack buffer long enough for any address (`::ffff:255.255.255.255`
/// and eight four-digit groups are 39 bytes).
struct Buf {
    bytes: [u8; 48],
    len: usize,
}

impl Buf {
    #[inline(always)]
    fn push(&mut self, b: u8) {
        // len < 48: at most 39 bytes are written.
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn v4(&mut self, a: Ipv4Addr) {
        for (i, n) in a.octets().into_iter().enumerate() {
            if i > 0 {
                self.push(b'.');
            }
            if n >= 100 {
                self.push(b'0' + n / 100);
            }
            if n >= 10 {
                self.push(b'0' + n / 10 % 10);
            }
            self.push(b'0' + n % 10);
        }
    }

    fn v6(&mut self, a: Ipv6Addr) {
        if let Some(v4) = a.to_ipv4_mapped() {
            for &b in b"::ffff:" {
                self.push(b);
            }
            self.v4(v4);
            return;
        }
        let groups = a.segments();
        // The first longest run of zero groups.
        let (mut best_start, mut best_len) = (0, 0);
        let mut run_start = 0;
        for (i, &g) in groups.iter().enumerate() {
            if g != 0 {
                run_start = i + 1;
            } else if i + 1 - run_start > best_len {
                (best_start, best_len) = (run_start, i + 1 - run_start);
            }
        }
        if best_len > 1 {
            self.groups(&groups[..best_start]);
            self.push(b':');
            self.push(b':');
            self.groups(&groups[best_start + best_len..]);
        } else {
            self.groups(&groups);
        }
    }

    fn groups(&mut self, groups: &[u16]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (i, &g) in groups.iter().enumerate() {
            if i > 0 {
                self.push(b':');
            }
            // The four hex digits shifted so that the last `digits` of them
            // (no leading zeros, at least one digit) come first; all four
            // bytes are written (a fixed-size store), `digits` are kept.
            let all = [12, 8, 4, 0].map(|shift| HEX[usize::from(g >> shift & 0xf)]);
            let digits = (16 - g.leading_zeros()).div_ceil(4).max(1) as usize;
            let word = u32::from_le_bytes(all) >> (8 * (4 - digits));
            if let Some(dst) = self.bytes.get_mut(self.len..self.len + 4) {
                dst.copy_from_slice(&word.to_le_bytes());
                self.len += digits;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(ip: IpAddr) -> String {
        let mut out = Vec::new();
        write_ip(&mut out, ip);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn same_text_as_display() {
        let fixed = [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.100.9",
            "::",
            "::1",
            "1::",
            "::ffff:1.2.3.4",
            "::ffff:0:0",
            "::5db8:d822",
            "2001:db8::1",
            "2001:db8:0:0:1:0:0:1",
            "2001:0:0:1:0:0:0:1",
            "1:0:1:0:1:0:1:0",
            "0:1:0:1:0:1:0:1",
            "fe80::1:0:0:0",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "64:ff9b::c000:221",
        ];
        for s in fixed {
            let ip: IpAddr = s.parse().unwrap();
            assert_eq!(text(ip), ip.to_string(), "{s}");
        }
        // Pseudo-random addresses, many with zero groups and zero runs in
        // every position.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut groups = [0u16; 8];
            for (i, g) in groups.iter_mut().enumerate() {
                let r = (x >> (i * 8)) as u16;
                *g = match r % 4 {
                    0 | 1 => 0,
                    2 => r >> 12,
                    _ => r.rotate_left(i as u32) ^ (x >> 40) as u16,
                };
            }
            let v6 = Ipv6Addr::from(groups);
            assert_eq!(text(v6.into()), v6.to_string());
            let v4 = Ipv4Addr::from(
                (x >> 16) as u32 & if x.is_multiple_of(3) { 0xff00_ff0f } else { !0 },
            );
            assert_eq!(text(v4.into()), v4.to_string());
        }
    }
}
