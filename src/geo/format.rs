//! The compact country range table: its layout and the constants that
//! the builder ([`super::build`]) and the reader ([`super::table`]) share.
//!
//! This file is shared: the library mounts it in `geo`, and `build.rs`
//! includes it with `#[path]` (as a top-level module of the same name) to
//! convert the embedded database at build time. It may therefore use only
//! `std`, `maxminddb` and its siblings through `super::`, never `crate::`.
//!
//! # Table
//!
//! Per address family, a sorted list of range starts and a parallel list of
//! 16-bit codes: the range `i` covers `starts[i] ..= starts[i + 1] - 1` (the
//! last one runs to the end of the family). `starts[0]` is always 0, so every
//! address falls in exactly one range. Adjacent ranges with the same code are
//! merged. A directory on the top address bits (up to 16: about one entry
//! per range) narrows each lookup to the ranges of one block (a /16 for the
//! embedded database) before a branch-free search of those ranges.
//!
//! Codes: [`UNKNOWN`] (0) is "no country" (no record, or a record without a
//! country); `1..=936` is a code, `CountryCode::index() + 1`; in the IPv6
//! table `ALIAS | d` (`d <= 96`) means "this range is an alias of the IPv4
//! subtree reached after `d` bits": the answer is the IPv4 table's answer for
//! address bits `d .. d + 32`. That is how the MaxMind reader treats the IPv4
//! subtree at `::/96` and its aliases (`::ffff:0:0/96`, `2002::/16`,
//! `2001::/32` in MaxMind's own databases): all of them point at one node.
//!
//! # Serialized form (little-endian)
//!
//! ```text
//! 0   magic "ARGEOTB3"
//! 8   u32 flags (bit 0: the database has an IPv6 tree)
//! 12  u32 IPv4 range count n
//! 16  u32 IPv6 range count m (0 without an IPv6 tree)
//! 20  u32 node count of the source database (a consistency check)
//! 24  u64 number of networks with a record
//! 32  u64 number of networks whose record has no country
//! 40  u32 number k of distinct country codes in the records
//! 44  u32 0 (reserved)
//! 48  k × u16 codes (increasing), k × u64 networks with each code, then
//!     n × u32 IPv4 starts, n × u16 IPv4 codes, (2^b4 + 1) × u64 IPv4
//!     directory, then, with an IPv6 tree: m × u128 IPv6 starts,
//!     m × u16 IPv6 codes, (2^b6 + 1) × u64 IPv6 directory
//! ```
//!
//! Networks are counted as `maxminddb`'s `networks()` counts them (aliases
//! of the IPv4 subtree once): a network with a record adds one to the
//! networks of its code, or to those without a country.
//!
//! `b4 = min(16, bit length of n)`, `b6` likewise with `m`. Directory entry
//! `k` holds, in its low 32 bits, the index of the range holding the first
//! address whose top `b` bits are `k`, and in the next 16 bits that range's
//! code (so a block inside one range is answered by the directory alone);
//! the last entry holds the last index.

/// The code of "no country".
pub(crate) const UNKNOWN: u16 = 0;
/// The flag of an IPv6 range that aliases the IPv4 table (low 7 bits: depth).
pub(crate) const ALIAS: u16 = 0x8000;

pub(crate) const MAGIC: [u8; 8] = *b"ARGEOTB3";
pub(crate) const HEADER_LEN: usize = 48;
/// Most distinct codes a table can list (a letter, then a letter or digit).
pub(crate) const MAX_CODES: usize = 26 * 36;
pub(crate) const FLAG_V6: u32 = 1;
/// Bytes per directory entry (see [`dir_entry`]).
pub(crate) const DIR_ENTRY: usize = 8;
/// Most address bits a directory indexes (65,537 entries, 512 KiB).
pub(crate) const MAX_DIR_BITS: u32 = 16;

/// Bits indexed by the directory of a family with `ranges` ranges: about
/// one directory entry per range, at most 16 bits.
pub(crate) fn dir_bits(ranges: usize) -> u32 {
    (usize::BITS - ranges.leading_zeros()).min(MAX_DIR_BITS)
}

/// Entries of a directory on `bits` bits.
pub(crate) fn dir_len(bits: u32) -> usize {
    (1usize << bits) + 1
}

/// The record field a country came from: GeoIP2 / GeoLite2 / DB-IP layout.
pub(crate) const FIELD_COUNTRY: &str = "country.iso_code";
/// The fallback of the GeoIP2 layout.
pub(crate) const FIELD_REGISTERED: &str = "registered_country.iso_code";
/// The ip-location-db / IPinfo layout.
pub(crate) const FIELD_COUNTRY_CODE: &str = "country_code";
/// The older IPinfo layout: the code as a top-level `country` string.
pub(crate) const FIELD_COUNTRY_STRING: &str = "country";

/// A directory entry: the range index (low 32 bits) and its code (next 16).
pub(crate) fn dir_entry(index: usize, code: u16) -> u64 {
    index as u64 | u64::from(code) << 32
}
