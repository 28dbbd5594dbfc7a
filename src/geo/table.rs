//! The compact country range table and the code that builds it from a
//! MaxMind DB search tree.
//!
//! This file is shared: the library mounts it as `geo::table`, and `build.rs`
//! includes it with `#[path]` to convert the embedded database at build time.
//! It may therefore use only `std` and `maxminddb`, never `crate::`.
//!
//! Records are read by [`DataSection`], a small reader of the MaxMind DB
//! data section that extracts only the country fields, with caches and a
//! work budget, so that no file can make opening a database slow (serde
//! decoding of every record through `maxminddb` can be made quadratic by a
//! crafted file). `maxminddb` checks the metadata and answers per-address
//! lookups for `GeoDatabase::lookup_detail`.
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
//! country); `1..=676` is a country, `CountryCode::index() + 1`; in the IPv6
//! table `ALIAS | d` (`d <= 96`) means "this range is an alias of the IPv4
//! subtree reached after `d` bits": the answer is the IPv4 table's answer for
//! address bits `d .. d + 32`. That is how the MaxMind reader treats the IPv4
//! subtree at `::/96` and its aliases (`::ffff:0:0/96`, `2002::/16`,
//! `2001::/32` in MaxMind's own databases): all of them point at one node.
//!
//! # Serialized form (little-endian)
//!
//! ```text
//! 0   magic "ARGEOTB2"
//! 8   u32 flags (bit 0: the database has an IPv6 tree)
//! 12  u32 IPv4 range count n
//! 16  u32 IPv6 range count m (0 without an IPv6 tree)
//! 20  u32 node count of the source database (a consistency check)
//! 24  u64 number of networks with a record
//! 32  n × u32 IPv4 starts, n × u16 IPv4 codes, (2^b4 + 1) × u64 IPv4
//!     directory, then, with an IPv6 tree: m × u128 IPv6 starts,
//!     m × u16 IPv6 codes, (2^b6 + 1) × u64 IPv6 directory
//! ```
//!
//! `b4 = min(16, bit length of n)`, `b6` likewise with `m`. Directory entry
//! `k` holds, in its low 32 bits, the index of the range holding the first
//! address whose top `b` bits are `k`, and in the next 16 bits that range's
//! code (so a block inside one range is answered by the directory alone);
//! the last entry holds the last index.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use maxminddb::Reader;

/// The code of "no country".
pub(crate) const UNKNOWN: u16 = 0;
/// The flag of an IPv6 range that aliases the IPv4 table (low 7 bits: depth).
pub(crate) const ALIAS: u16 = 0x8000;

const MAGIC: [u8; 8] = *b"ARGEOTB2";
const HEADER_LEN: usize = 32;
const FLAG_V6: u32 = 1;
/// Bytes per directory entry (see [`dir_entry`]).
const DIR_ENTRY: usize = 8;
/// Most address bits a directory indexes (65,537 entries, 512 KiB).
const MAX_DIR_BITS: u32 = 16;

/// Bits indexed by the directory of a family with `ranges` ranges: about
/// one directory entry per range, at most 16 bits.
fn dir_bits(ranges: usize) -> u32 {
    (usize::BITS - ranges.leading_zeros()).min(MAX_DIR_BITS)
}

/// Entries of a directory on `bits` bits.
fn dir_len(bits: u32) -> usize {
    (1usize << bits) + 1
}

/// The record field a country came from: GeoIP2 / GeoLite2 / DB-IP layout.
pub(crate) const FIELD_COUNTRY: &str = "country.iso_code";
/// The fallback of the GeoIP2 layout.
pub(crate) const FIELD_REGISTERED: &str = "registered_country.iso_code";
/// The ip-location-db / IPinfo layout.
pub(crate) const FIELD_COUNTRY_CODE: &str = "country_code";

// ---------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------

/// A value found where a country code was expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldValue<'a> {
    /// A string (not yet checked).
    Str(&'a str),
    /// Anything else, described ("a number", "a map", ...).
    Other(&'static str),
}

impl FieldValue<'_> {
    /// The value for messages: the string, or its description.
    pub(crate) fn describe(&self) -> String {
        match self {
            FieldValue::Str(s) => (*s).to_owned(),
            FieldValue::Other(what) => format!("<{what}>"),
        }
    }
}

/// The country-related fields of one record, whatever its layout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RecordFields<'a> {
    /// Whether the record is a map (any other record has no fields).
    pub(crate) is_map: bool,
    /// `country.iso_code` (only when `country` is a map).
    pub(crate) country: Option<FieldValue<'a>>,
    /// `registered_country.iso_code`.
    pub(crate) registered_country: Option<FieldValue<'a>>,
    /// `represented_country.iso_code`.
    pub(crate) represented_country: Option<FieldValue<'a>>,
    /// Top-level `country_code`.
    pub(crate) country_code: Option<FieldValue<'a>>,
}

/// A country value that is not two ASCII letters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BadValue {
    pub(crate) field: &'static str,
    pub(crate) value: String,
}

/// A letter and a letter or digit, either case, as the table code
/// (`CountryCode::index() + 1`; this file is also compiled by build.rs, so
/// it repeats that formula: letter × 36 + second, digits before letters).
pub(crate) fn code_of(value: &str) -> Option<u16> {
    match value.as_bytes() {
        &[a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphanumeric() => {
            let (a, b) = (a.to_ascii_uppercase(), b.to_ascii_uppercase());
            let second = if b.is_ascii_digit() { b - b'0' } else { b - b'A' + 10 };
            Some(u16::from(a - b'A') * 36 + u16::from(second) + 1)
        }
        _ => None,
    }
}

impl RecordFields<'_> {
    /// The matched country (docs/semantics.md): `country.iso_code`, else
    /// `registered_country.iso_code`, else `country_code`; the first field
    /// present decides. A present value that is not two ASCII letters is an
    /// error (lower case is accepted and upper-cased).
    pub(crate) fn country(&self) -> Result<Option<(u16, &'static str)>, BadValue> {
        let fields = [
            (FIELD_COUNTRY, self.country),
            (FIELD_REGISTERED, self.registered_country),
            (FIELD_COUNTRY_CODE, self.country_code),
        ];
        for (field, value) in fields {
            let Some(value) = value else { continue };
            let code = match value {
                FieldValue::Str(s) => code_of(s),
                FieldValue::Other(_) => None,
            };
            return match code {
                Some(code) => Ok(Some((code, field))),
                None => Err(BadValue { field, value: value.describe() }),
            };
        }
        Ok(None)
    }

    /// `represented_country.iso_code` when it is two ASCII letters (reported
    /// only, never matched, so a malformed value is simply dropped).
    pub(crate) fn represented(&self) -> Option<u16> {
        match self.represented_country {
            Some(FieldValue::Str(s)) => code_of(s),
            _ => None,
        }
    }
}

// MaxMind DB data-section types (MaxMind DB format spec, "Output Data Section").
const T_POINTER: u8 = 1;
const T_STRING: u8 = 2;
const T_MAP: u8 = 7;
const T_ARRAY: u8 = 11;
const T_BOOL: u8 = 14;

/// The bytes that mark the start of the metadata (the data section ends
/// just before them).
const METADATA_MARKER: &[u8] = b"\xab\xcd\xefMaxMind.com";

/// The most bytes from the metadata marker to the end of a file (MaxMind
/// DB format specification: the metadata is at most 128 KiB).
pub(crate) const METADATA_MAX_BYTES: u64 = 128 * 1024;

/// Whether `bytes` hold the metadata marker.
pub(crate) fn has_metadata_marker(bytes: &[u8]) -> bool {
    bytes.windows(METADATA_MARKER.len()).any(|w| w == METADATA_MARKER)
}

/// The byte range of the data section of the MaxMind DB file `raw` whose
/// search tree has `node_count` nodes of `record_size` bits: after the tree
/// and its 16-byte separator, up to the metadata marker.
pub(crate) fn data_section(
    raw: &[u8],
    node_count: usize,
    record_size: u16,
) -> Result<std::ops::Range<usize>, String> {
    let start = node_count
        .checked_mul(usize::from(record_size) / 4)
        .and_then(|t| t.checked_add(16))
        .ok_or("the search tree is impossibly large")?;
    let end = raw
        .windows(METADATA_MARKER.len())
        .rposition(|w| w == METADATA_MARKER)
        .ok_or("no metadata marker")?;
    if start > end {
        return Err("the data section lies outside the file".into());
    }
    Ok(start..end)
}

/// A field's control: its type, its size (for a pointer: the target offset)
/// and where its payload starts.
#[derive(Clone, Copy)]
struct Ctrl {
    ty: u8,
    size: usize,
    payload: usize,
}

/// A reader of the record fields in a MaxMind DB data section, written for
/// bounded work on hostile files: every value read or skipped costs a step
/// from a budget proportional to the section's size, a pointer is never
/// followed while skipping, and records and country objects reached through
/// pointers are decoded once (cached by offset). All reads are checked.
pub(crate) struct DataSection<'a> {
    data: &'a [u8],
    steps: usize,
    records: HashMap<usize, RecordFields<'a>>,
    objects: HashMap<usize, Option<FieldValue<'a>>>,
}

type DecodeResult<T> = Result<T, String>;

impl<'a> DataSection<'a> {
    /// A reader of `data`, the data section (see [`data_section`]).
    pub(crate) fn new(data: &'a [u8]) -> Self {
        let steps = data.len().saturating_mul(16).saturating_add(1 << 20);
        DataSection { data, steps, records: HashMap::new(), objects: HashMap::new() }
    }

    /// Length of the data section in bytes.
    pub(crate) fn len(&self) -> usize {
        self.data.len()
    }

    fn step(&mut self) -> DecodeResult<()> {
        self.steps = self.steps.checked_sub(1).ok_or(
            "the data section is too complex to read (decoding work exceeds 16 steps per byte)",
        )?;
        Ok(())
    }

    fn byte(&self, at: usize) -> DecodeResult<u8> {
        self.data.get(at).copied().ok_or_else(|| "a value runs past the data section".into())
    }

    /// Big-endian unsigned integer of `n` bytes at `at`.
    fn uint(&self, at: usize, n: usize) -> DecodeResult<usize> {
        let bytes = self.data.get(at..at + n).ok_or("a value runs past the data section")?;
        Ok(bytes.iter().fold(0usize, |acc, &b| acc << 8 | usize::from(b)))
    }

    /// The control of the field at `at`.
    fn ctrl(&mut self, at: usize) -> DecodeResult<Ctrl> {
        self.step()?;
        let c = self.byte(at)?;
        let mut ty = c >> 5;
        let mut pos = at + 1;
        if ty == T_POINTER {
            let ss = usize::from((c >> 3) & 3);
            let vvv = usize::from(c & 7);
            let (target, len) = match ss {
                0 => ((vvv << 8 | self.uint(pos, 1)?), 1),
                1 => ((vvv << 16 | self.uint(pos, 2)?) + 2048, 2),
                2 => ((vvv << 24 | self.uint(pos, 3)?) + 526_336, 3),
                _ => (self.uint(pos, 4)?, 4),
            };
            return Ok(Ctrl { ty, size: target, payload: pos + len });
        }
        if ty == 0 {
            ty = self.byte(pos)?.saturating_add(7);
            pos += 1;
        }
        // Extended types 8 to 15, but not the cache container (12) nor the
        // end marker (13), which never appear in records.
        if matches!(ty, 12 | 13) || ty > 15 {
            return Err(format!("invalid data type {ty}"));
        }
        let size = match usize::from(c & 0x1f) {
            29 => 29 + self.uint(pos, 1)?,
            30 => 285 + self.uint(pos, 2)?,
            31 => 65_821 + self.uint(pos, 3)?,
            small => small,
        };
        pos += match c & 0x1f {
            29 => 1,
            30 => 2,
            31 => 3,
            _ => 0,
        };
        Ok(Ctrl { ty, size, payload: pos })
    }

    /// The value at `at`, through at most one pointer: its control, the
    /// offset it was read from (for caches) if a pointer led there, and the
    /// offset just after the field at `at`, when the value is not a
    /// container (containers are walked by the caller).
    fn deref(&mut self, at: usize) -> DecodeResult<(Ctrl, Option<usize>, usize)> {
        let c = self.ctrl(at)?;
        if c.ty != T_POINTER {
            return Ok((c, None, c.payload));
        }
        let target = c.size;
        let v = self.ctrl(target)?;
        if v.ty == T_POINTER {
            return Err("a pointer points to a pointer".into());
        }
        Ok((v, Some(target), c.payload))
    }

    /// The offset just after the field at `at`, without following pointers.
    fn skip(&mut self, at: usize) -> DecodeResult<usize> {
        let (mut pos, mut pending) = (at, 1usize);
        while pending > 0 {
            pending -= 1;
            let c = self.ctrl(pos)?;
            pos = match c.ty {
                T_POINTER | T_BOOL => c.payload,
                T_MAP => {
                    pending = pending.saturating_add(c.size.saturating_mul(2));
                    c.payload
                }
                T_ARRAY => {
                    pending = pending.saturating_add(c.size);
                    c.payload
                }
                _ => c.payload.checked_add(c.size).ok_or("a value runs past the data section")?,
            };
            if pos > self.data.len() {
                return Err("a value runs past the data section".into());
            }
        }
        Ok(pos)
    }

    /// A string value (through a pointer if need be), or a description of
    /// what is there instead; and the offset after the field.
    fn string(&mut self, at: usize) -> DecodeResult<(FieldValue<'a>, usize)> {
        let (c, via, after) = self.deref(at)?;
        let value = match c.ty {
            T_STRING => {
                let end = c.payload.checked_add(c.size).ok_or("a string runs past the data")?;
                let bytes = self.data.get(c.payload..end).ok_or("a string runs past the data")?;
                FieldValue::Str(std::str::from_utf8(bytes).map_err(|_| "a string is not UTF-8")?)
            }
            T_MAP => FieldValue::Other("a map"),
            T_ARRAY => FieldValue::Other("an array"),
            T_BOOL => FieldValue::Other("a boolean"),
            4 => FieldValue::Other("bytes"),
            _ => FieldValue::Other("a number"),
        };
        let next = match (via, c.ty) {
            (Some(_), _) => after,
            (None, T_STRING) => c.payload + c.size,
            (None, _) => self.skip(at)?,
        };
        Ok((value, next))
    }

    /// Walks the entries of the map whose control is `c`, calling
    /// `entry(self, key, value offset)`, which returns the offset after the
    /// value. Returns the offset after the map.
    fn entries(
        &mut self,
        c: Ctrl,
        mut entry: impl FnMut(&mut Self, &'a str, usize) -> DecodeResult<usize>,
    ) -> DecodeResult<usize> {
        let mut pos = c.payload;
        for _ in 0..c.size {
            let (key, after_key) = self.string(pos)?;
            let FieldValue::Str(key) = key else {
                return Err("a map key is not a string".into());
            };
            pos = entry(self, key, after_key)?;
        }
        Ok(pos)
    }

    /// `iso_code` of a country-like object at `at` (`None` when the value is
    /// not a map, as IPinfo's `"country": "Netherlands"`, or has no
    /// `iso_code`); and the offset after the field.
    fn country_object(&mut self, at: usize) -> DecodeResult<(Option<FieldValue<'a>>, usize)> {
        let (c, via, after) = self.deref(at)?;
        if let Some(&cached) = via.and_then(|t| self.objects.get(&t)) {
            return Ok((cached, after));
        }
        let mut iso = None;
        let end = if c.ty == T_MAP {
            self.entries(c, |this, key, value| {
                if key == "iso_code" {
                    let (v, next) = this.string(value)?;
                    iso = Some(v);
                    Ok(next)
                } else {
                    this.skip(value)
                }
            })?
        } else if via.is_none() {
            self.skip(at)?
        } else {
            after
        };
        match via {
            Some(target) => {
                self.objects.insert(target, iso);
                Ok((iso, after))
            }
            None => Ok((iso, end)),
        }
    }

    /// The country fields of the record at data-section offset `offset`.
    pub(crate) fn record(&mut self, offset: usize) -> DecodeResult<RecordFields<'a>> {
        let (c, via, _) = self.deref(offset)?;
        if let Some(&cached) = via.and_then(|t| self.records.get(&t)) {
            return Ok(cached);
        }
        let mut rec = RecordFields::default();
        if c.ty == T_MAP {
            rec.is_map = true;
            self.entries(c, |this, key, value| {
                let (slot, (v, next)) = match key {
                    "country" => (&mut rec.country, this.country_object(value)?),
                    "registered_country" => {
                        (&mut rec.registered_country, this.country_object(value)?)
                    }
                    "represented_country" => {
                        (&mut rec.represented_country, this.country_object(value)?)
                    }
                    "country_code" => {
                        let (v, next) = this.string(value)?;
                        (&mut rec.country_code, (Some(v), next))
                    }
                    _ => return this.skip(value),
                };
                *slot = v;
                Ok(next)
            })?;
        }
        if let Some(target) = via {
            self.records.insert(target, rec);
        }
        Ok(rec)
    }
}

// ---------------------------------------------------------------------------
// Building the table from the search tree
// ---------------------------------------------------------------------------

/// Why a database cannot be turned into a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BuildError {
    /// The search tree or a record is damaged (the message says how).
    Corrupt(String),
    /// A country value that is not two ASCII letters.
    InvalidCountry { network: (IpAddr, u8), field: &'static str, value: String },
    /// No record has any of the country fields.
    NoCountryField,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Corrupt(m) => f.write_str(m),
            BuildError::InvalidCountry { network: (ip, len), field, value } => {
                write!(f, "invalid country code {value:?} in {field} for {ip}/{len}")
            }
            BuildError::NoCountryField => f.write_str(
                "no country field: expected country.iso_code, registered_country.iso_code or \
                 country_code",
            ),
        }
    }
}

fn corrupt(message: impl Into<String>) -> BuildError {
    BuildError::Corrupt(message.into())
}

/// Read access to the search tree of a MaxMind DB file (bounds-checked).
struct Tree<'a> {
    buf: &'a [u8],
    node_count: usize,
    node_bytes: usize,
    record_size: u16,
}

impl<'a> Tree<'a> {
    fn new(buf: &'a [u8], node_count: usize, record_size: u16) -> Result<Tree<'a>, BuildError> {
        let node_bytes = match record_size {
            24 => 6,
            28 => 7,
            32 => 8,
            other => return Err(corrupt(format!("unsupported record size {other}"))),
        };
        if node_count.checked_mul(node_bytes).is_none_or(|size| size > buf.len()) {
            return Err(corrupt("the search tree extends beyond the file"));
        }
        Ok(Tree { buf, node_count, node_bytes, record_size })
    }

    /// The left (`right == false`) or right record of `node`.
    fn child(&self, node: usize, right: bool) -> Result<usize, BuildError> {
        let start = node * self.node_bytes;
        let b = self
            .buf
            .get(start..start + self.node_bytes)
            .ok_or_else(|| corrupt("a search-tree node lies beyond the file"))?;
        let be = |bytes: &[u8]| bytes.iter().fold(0usize, |acc, &x| acc << 8 | usize::from(x));
        Ok(match (self.record_size, right) {
            (24, false) => be(&b[0..3]),
            (24, true) => be(&b[3..6]),
            (28, false) => usize::from(b[3] >> 4) << 24 | be(&b[0..3]),
            (28, true) => usize::from(b[3] & 0x0f) << 24 | be(&b[4..7]),
            (_, false) => be(&b[0..4]),
            (_, true) => be(&b[4..8]),
        })
    }

    /// The node reached from the root by 96 zero bits (where the reader
    /// starts IPv4 lookups in an IPv6 tree), or the record met on the way.
    fn ipv4_start(&self) -> Result<usize, BuildError> {
        let mut node = 0;
        for _ in 0..96 {
            if node >= self.node_count {
                break;
            }
            node = self.child(node, false)?;
        }
        Ok(node)
    }
}

/// What a walk meets at the end of a path.
#[derive(Clone, Copy)]
enum Leaf {
    Empty,
    Data(usize),
    Alias(u32),
}

/// Depth-first, left-to-right walk of the subtree at `start` over `bits`-bit
/// addresses, calling `visit(first address, prefix length, leaf)` for every
/// terminal in address order. A reference to `alias` at depth `1..=96` is
/// reported as [`Leaf::Alias`] and not entered. `budget` bounds the internal
/// nodes visited (a cyclic or shared tree cannot make the walk explode).
fn walk(
    tree: &Tree<'_>,
    start: usize,
    bits: u32,
    alias: Option<usize>,
    budget: &mut usize,
    mut visit: impl FnMut(u128, u32, Leaf) -> Result<(), BuildError>,
) -> Result<(), BuildError> {
    let mut stack = vec![(start, 0u128, 0u32)];
    while let Some((node, prefix, depth)) = stack.pop() {
        if node >= tree.node_count {
            let leaf = if node == tree.node_count { Leaf::Empty } else { Leaf::Data(node) };
            visit(prefix, depth, leaf)?;
        } else if depth > 0 && depth <= 96 && alias == Some(node) {
            visit(prefix, depth, Leaf::Alias(depth))?;
        } else if depth >= bits {
            return Err(corrupt("the search tree is deeper than the address length"));
        } else {
            *budget = budget.checked_sub(1).ok_or_else(|| {
                corrupt("the search tree has cycles or shared subtrees (walk exceeds its bound)")
            })?;
            let bit = 1u128 << (bits - 1 - depth);
            stack.push((tree.child(node, true)?, prefix | bit, depth + 1));
            stack.push((tree.child(node, false)?, prefix, depth + 1));
        }
    }
    Ok(())
}

/// Ranges being built: starts and codes, adjacent equal codes merged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ranges {
    pub(crate) starts: Vec<u128>,
    pub(crate) codes: Vec<u16>,
}

impl Ranges {
    fn push(&mut self, start: u128, code: u16) {
        if self.codes.last() != Some(&code) {
            self.starts.push(start);
            self.codes.push(code);
        }
    }
}

/// The tables of one database, before serialization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Built {
    pub(crate) v4: Ranges,
    /// `None` for an IPv4-only database.
    pub(crate) v6: Option<Ranges>,
    pub(crate) network_count: u64,
    pub(crate) node_count: u32,
}

/// Converts the database in `raw` (already opened as `reader`, which
/// checked its metadata) into range tables, decoding every distinct record
/// once. Fails on a damaged tree or
/// record, a malformed country value, or a database with no country field.
pub(crate) fn build<S: AsRef<[u8]>>(reader: &Reader<S>, raw: &[u8]) -> Result<Built, BuildError> {
    let md = reader.metadata();
    let node_count = md.node_count as usize;
    let tree = Tree::new(raw, node_count, md.record_size)?;
    let is_v6 = md.ip_version == 6;
    // A valid tree is walked with at most `node_count` internal visits; allow
    // some sharing, but bound the work by the file's own size.
    let mut budget = node_count.saturating_mul(3).saturating_add(1024);
    let mut cache: HashMap<usize, u16> = HashMap::new();
    let mut any_country = false;
    let mut network_count = 0u64;

    let data = data_section(raw, node_count, md.record_size).map_err(BuildError::Corrupt)?;
    let mut section = DataSection::new(&raw[data]);

    // The table code of the record at tree pointer `ptr`, first met at
    // `prefix`/`depth` of a `bits`-bit walk.
    let mut code_at = |ptr: usize, prefix: u128, depth: u32, bits: u32| {
        if let Some(&code) = cache.get(&ptr) {
            return Ok(code);
        }
        let ip = if bits == 32 {
            IpAddr::V4(Ipv4Addr::from(prefix as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(prefix))
        };
        let network = (ip, depth as u8);
        let at = |m: &dyn fmt::Display| corrupt(format!("record for {ip}/{depth}: {m}"));
        let offset = ptr
            .checked_sub(node_count + 16)
            .filter(|&o| o < section.len())
            .ok_or_else(|| at(&"data pointer outside the data section"))?;
        let fields = section.record(offset).map_err(|e| at(&e))?;
        let code = match fields.country() {
            Ok(Some((code, _))) => {
                any_country = true;
                code
            }
            Ok(None) => UNKNOWN,
            Err(BadValue { field, value }) => {
                return Err(BuildError::InvalidCountry { network, field, value });
            }
        };
        cache.insert(ptr, code);
        Ok(code)
    };

    let ipv4_start = if is_v6 { tree.ipv4_start()? } else { 0 };
    let mut v4 = Ranges::default();
    if ipv4_start < node_count {
        walk(&tree, ipv4_start, 32, None, &mut budget, |prefix, depth, leaf| {
            let code = match leaf {
                Leaf::Empty => UNKNOWN,
                Leaf::Data(ptr) => {
                    network_count += 1;
                    code_at(ptr, prefix, depth, 32)?
                }
                Leaf::Alias(_) => unreachable_alias()?,
            };
            v4.push(prefix, code);
            Ok(())
        })?;
    }

    let v6 = if is_v6 {
        let mut v6 = Ranges::default();
        let alias = (ipv4_start < node_count).then_some(ipv4_start);
        walk(&tree, 0, 128, alias, &mut budget, |prefix, depth, leaf| {
            let code = match leaf {
                Leaf::Empty => UNKNOWN,
                Leaf::Data(ptr) => {
                    network_count += 1;
                    code_at(ptr, prefix, depth, 128)?
                }
                Leaf::Alias(d) => ALIAS | d as u16,
            };
            // The IPv4 lookups of a tree whose all-zero path ends early (no
            // IPv4 subtree) get the record that ends it, as the reader does.
            if prefix == 0 && ipv4_start >= node_count {
                v4.push(0, code);
            }
            v6.push(prefix, code);
            Ok(())
        })?;
        Some(v6)
    } else {
        None
    };

    if !any_country {
        return Err(BuildError::NoCountryField);
    }
    Ok(Built { v4, v6, network_count, node_count: md.node_count })
}

fn unreachable_alias() -> Result<u16, BuildError> {
    Err(corrupt("internal error: alias in the IPv4 walk"))
}

impl Ranges {
    /// The directory of a family whose addresses are `bits` wide: for each
    /// value `k` of the top `dir_bits(len)` bits, the index of the range
    /// holding the address `k << (bits - dir_bits)`; one more entry,
    /// `len - 1`, closes it.
    fn directory(&self, bits: u32) -> Vec<u64> {
        let dbits = dir_bits(self.starts.len());
        let shift = bits - dbits;
        let mut dir = Vec::with_capacity(dir_len(dbits));
        let mut i = 0usize;
        for k in 0..(1u128 << dbits) {
            let at = k << shift;
            while i + 1 < self.starts.len() && self.starts[i + 1] <= at {
                i += 1;
            }
            dir.push(dir_entry(i, self.codes[i]));
        }
        let last = self.starts.len().saturating_sub(1);
        dir.push(dir_entry(last, self.codes.get(last).copied().unwrap_or(UNKNOWN)));
        dir
    }
}

impl Built {
    /// The serialized table (see the module documentation).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let n = self.v4.starts.len();
        let m = self.v6.as_ref().map_or(0, |r| r.starts.len());
        let mut out = Vec::with_capacity(HEADER_LEN + 6 * n + 18 * m + 16 * dir_len(16));
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&(if self.v6.is_some() { FLAG_V6 } else { 0 }).to_le_bytes());
        out.extend_from_slice(&(n as u32).to_le_bytes());
        out.extend_from_slice(&(m as u32).to_le_bytes());
        out.extend_from_slice(&self.node_count.to_le_bytes());
        out.extend_from_slice(&self.network_count.to_le_bytes());
        for &s in &self.v4.starts {
            out.extend_from_slice(&(s as u32).to_le_bytes());
        }
        for &c in &self.v4.codes {
            out.extend_from_slice(&c.to_le_bytes());
        }
        for d in self.v4.directory(32) {
            out.extend_from_slice(&d.to_le_bytes());
        }
        if let Some(v6) = &self.v6 {
            for &s in &v6.starts {
                out.extend_from_slice(&s.to_le_bytes());
            }
            for &c in &v6.codes {
                out.extend_from_slice(&c.to_le_bytes());
            }
            for d in v6.directory(128) {
                out.extend_from_slice(&d.to_le_bytes());
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Reading the serialized table
// ---------------------------------------------------------------------------

/// A serialized table, owned or `'static` (the embedded one), checked and
/// rearranged for lookups when it is read.
///
/// Lookups never panic and never read out of bounds, whatever the bytes
/// (every read is checked and every index clamped); the bytes come from
/// [`Built::to_bytes`] only, at build time or when a database is opened.
#[derive(Clone, Debug)]
pub(crate) struct TableView {
    bytes: Cow<'static, [u8]>,
    v4_len: usize,
    v6_len: usize,
    has_v6: bool,
    node_count: u32,
    network_count: u64,
    // Shifts from an address to its directory entry (32 or 128 - dir bits).
    shift4: u32,
    shift6: u32,
    // Byte offsets of the sections.
    s6: usize,
    d4: usize,
    d6: usize,
    /// The ranges in blocks of [`BLOCK`]: range `i` is entry `i % BLOCK` of
    /// block `i / BLOCK`, its start and code in the same block, so that the
    /// one read that misses the cache brings both.
    blocks4: Vec<Block<u32>>,
    /// The IPv6 blocks, starts cut to their top 64 bits (the full start is
    /// read from `bytes` only when the address shares that /64).
    blocks6: Vec<Block<u64>>,
    /// The first key of every block: a directory block can hold tens of
    /// thousands of ranges (IPv6 networks crowd into a few /16s), and these
    /// narrow its window to one block with a branch-free search over a
    /// small, cache-resident array.
    samples4: Vec<u32>,
    samples6: Vec<u64>,
    /// Every [`BLOCK`]-th sample, which narrows a window of thousands of
    /// samples to [`BLOCK`] first.
    coarse4: Vec<u32>,
    coarse6: Vec<u64>,
}

/// Ranges per block, and samples per coarse sample.
const BLOCK: usize = 16;

/// [`BLOCK`] consecutive ranges: their starts (search keys) and codes. The
/// last block is padded with keys `MAX` and [`UNKNOWN`] (never read: see
/// [`last_in`]).
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Block<K> {
    keys: [K; BLOCK],
    codes: [u16; BLOCK],
    /// IPv6: bit `k` is set when start `k` has more than its key (bits
    /// below its /64), so that a key equal to an address's top 64 bits does
    /// not prove the start is `<=` the address.
    partial: u16,
}

/// Where a lookup's range is: its block, and the code when the directory
/// alone answered.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Window {
    block: usize,
    code: Option<u16>,
}

/// The index `j` of the last sample `<= x` among `samples[j_lo ..= j_hi]`,
/// given `samples[j_lo] <= x`: branch-free halving, each step a conditional
/// move.
#[inline(always)]
fn sample_block<T: Ord + Copy>(samples: &[T], x: T, j_lo: usize, j_hi: usize) -> Option<usize> {
    let window = samples.get(j_lo..=j_hi)?;
    let (mut base, mut len) = (0, window.len());
    while len > 1 {
        let half = len / 2;
        base = std::hint::select_unpredictable(window[base + half] <= x, base + half, base);
        len -= half;
    }
    Some(j_lo + base)
}

/// Narrows the samples `j_lo ..= j_hi` (the first `<= x`) that hold the
/// last sample `<= x` to [`BLOCK`] of them by the coarse samples (every
/// [`BLOCK`]-th sample), when there are more.
#[inline(always)]
fn narrow_samples<T: Ord + Copy>(coarse: &[T], x: T, j_lo: usize, j_hi: usize) -> (usize, usize) {
    if j_hi - j_lo < BLOCK {
        return (j_lo, j_hi);
    }
    match sample_block(coarse, x, j_lo / BLOCK, j_hi / BLOCK) {
        Some(c) => (j_lo.max(c * BLOCK), j_hi.min(c * BLOCK + BLOCK - 1)),
        None => (j_lo, j_hi),
    }
}

/// The number of keys `<= x` in a block: independent compares (LLVM
/// vectorizes them for `u32`), no search.
#[inline(always)]
fn count_le<K: Ord + Copy>(keys: &[K; BLOCK], x: K) -> usize {
    keys.iter().fold(0, |n, &k| n + usize::from(k <= x))
}

/// The entry of the last key `<= x` in block `j` of a family of `len`
/// ranges (whose first key is `<= x`), never one of the padding.
#[inline(always)]
fn last_in<K: Ord + Copy>(block: &Block<K>, x: K, len: usize, j: usize) -> usize {
    let real = len.saturating_sub(j * BLOCK).clamp(1, BLOCK);
    count_le(&block.keys, x).clamp(1, real) - 1
}

#[inline(always)]
fn u128_at(b: &[u8], at: usize) -> u128 {
    b.get(at..).and_then(|s| s.first_chunk::<16>()).map_or(0, |c| u128::from_le_bytes(*c))
}

#[inline(always)]
fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..).and_then(|s| s.first_chunk::<4>()).map_or(0, |c| u32::from_le_bytes(*c))
}

#[inline(always)]
fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..).and_then(|s| s.first_chunk::<2>()).map_or(0, |c| u16::from_le_bytes(*c))
}

#[inline(always)]
fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..).and_then(|s| s.first_chunk::<8>()).map_or(0, |c| u64::from_le_bytes(*c))
}

/// The window of ranges `lo ..= hi` that can hold an address whose
/// directory entry is at byte `at`: from the range holding the first address
/// of its block to the range holding the first address of the next block;
/// and the code of range `lo` (the answer when `lo == hi`). Clamped to
/// `0 .. len`, whatever the bytes.
#[inline(always)]
fn window(b: &[u8], at: usize, len: usize) -> (usize, usize, u16) {
    let last = len.saturating_sub(1);
    let this = u64_at(b, at);
    let lo = (this as u32 as usize).min(last);
    let hi = (u64_at(b, at + DIR_ENTRY) as u32 as usize).clamp(lo, last);
    (lo, hi, (this >> 32) as u16)
}

/// A directory entry: the range index (low 32 bits) and its code (next 16).
fn dir_entry(index: usize, code: u16) -> u64 {
    index as u64 | u64::from(code) << 32
}

/// The blocks of `len` ranges whose keys and codes are `key(i)` and
/// `code(i)`.
fn blocks<K: Copy>(
    len: usize,
    pad: K,
    key: impl Fn(usize) -> K,
    code: impl Fn(usize) -> u16,
    partial: impl Fn(usize) -> bool,
) -> Vec<Block<K>> {
    (0..len.div_ceil(BLOCK))
        .map(|j| {
            let i = |k: usize| j * BLOCK + k;
            Block {
                keys: std::array::from_fn(|k| if i(k) < len { key(i(k)) } else { pad }),
                codes: std::array::from_fn(|k| if i(k) < len { code(i(k)) } else { UNKNOWN }),
                partial: (0..BLOCK)
                    .filter(|&k| i(k) < len && partial(i(k)))
                    .fold(0, |bits, k| bits | 1 << k),
            }
        })
        .collect()
}

impl TableView {
    /// Checks the header and section lengths of a serialized table and
    /// builds its blocks and samples (O(n): a few milliseconds for the
    /// embedded database).
    pub(crate) fn parse(bytes: Cow<'static, [u8]>) -> Result<TableView, String> {
        let b = &bytes[..];
        if b.len() < HEADER_LEN || b[..8] != MAGIC {
            return Err("not a country table (bad header)".into());
        }
        let has_v6 = u32_at(b, 8) & FLAG_V6 != 0;
        let v4_len = u32_at(b, 12) as usize;
        let v6_len = u32_at(b, 16) as usize;
        if v4_len == 0 || has_v6 != (v6_len > 0) {
            return Err("country table has an empty family".into());
        }
        // No section can be longer than the bytes: this also keeps the
        // offset arithmetic below from overflowing.
        if v4_len > b.len() / 6 || v6_len > b.len() / 18 {
            return Err("country table is truncated".into());
        }
        let s4 = HEADER_LEN;
        let c4 = s4 + 4 * v4_len;
        let d4 = c4 + 2 * v4_len;
        let (bits4, bits6) = (dir_bits(v4_len), dir_bits(v6_len));
        let s6 = d4 + DIR_ENTRY * dir_len(bits4);
        let c6 = s6 + 16 * v6_len;
        let d6 = c6 + 2 * v6_len;
        let end = if has_v6 { d6 + DIR_ENTRY * dir_len(bits6) } else { s6 };
        if b.len() != end {
            return Err(format!("country table is {} bytes, expected {end}", b.len()));
        }
        let no = |_| false;
        let blocks4 =
            blocks(v4_len, u32::MAX, |i| u32_at(b, s4 + 4 * i), |i| u16_at(b, c4 + 2 * i), no);
        let blocks6 = blocks(
            v6_len,
            u64::MAX,
            |i| (u128_at(b, s6 + 16 * i) >> 64) as u64,
            |i| u16_at(b, c6 + 2 * i),
            |i| u128_at(b, s6 + 16 * i) as u64 != 0,
        );
        let samples4: Vec<u32> = blocks4.iter().map(|bl| bl.keys[0]).collect();
        let samples6: Vec<u64> = blocks6.iter().map(|bl| bl.keys[0]).collect();
        Ok(TableView {
            coarse4: samples4.iter().step_by(BLOCK).copied().collect(),
            coarse6: samples6.iter().step_by(BLOCK).copied().collect(),
            samples4,
            samples6,
            blocks4,
            blocks6,
            v4_len,
            v6_len,
            has_v6,
            node_count: u32_at(b, 20),
            network_count: u64_at(b, 24),
            shift4: 32 - bits4,
            shift6: 128 - bits6,
            s6,
            d4,
            d6,
            bytes,
        })
    }

    /// The block holding the last of the ranges `lo ..= hi` whose key is
    /// `<= x` (range `lo`'s key is): the last block among theirs whose first
    /// key is `<= x`, by the coarse samples and the samples.
    #[inline(always)]
    fn block_of<K: Ord + Copy>(samples: &[K], coarse: &[K], x: K, lo: usize, hi: usize) -> usize {
        let (j_lo, j_hi) = narrow_samples(coarse, x, lo / BLOCK, hi / BLOCK);
        sample_block(samples, x, j_lo, j_hi).unwrap_or(lo / BLOCK)
    }

    /// The code of an IPv4 address (never an alias).
    #[inline]
    pub(crate) fn v4(&self, ip: u32) -> u16 {
        self.finish_v4(ip, self.locate_v4(ip))
    }

    /// The first part of [`TableView::v4`]: the directory entry and the
    /// samples, which are small and mostly cached.
    #[inline(always)]
    pub(crate) fn locate_v4(&self, ip: u32) -> Window {
        let k = ip.checked_shr(self.shift4).unwrap_or(0) as usize;
        let (lo, hi, code) = window(&self.bytes, self.d4 + DIR_ENTRY * k, self.v4_len);
        if lo == hi {
            return Window { block: 0, code: Some(code) };
        }
        Window { block: Self::block_of(&self.samples4, &self.coarse4, ip, lo, hi), code: None }
    }

    /// The rest of [`TableView::v4`]: the block, the read that misses the
    /// cache, and the count of its keys `<= ip`.
    #[inline(always)]
    pub(crate) fn finish_v4(&self, ip: u32, w: Window) -> u16 {
        if let Some(code) = w.code {
            return code;
        }
        let Some(block) = self.blocks4.get(w.block) else { return UNKNOWN };
        block.codes[last_in(block, ip, self.v4_len, w.block)]
    }

    /// Reads, without branching on their values, the cache lines that
    /// [`TableView::finish_v4`] reads for `w`, returning bits of them so
    /// that the reads stay. [`GeoDatabase::resolve_batch`] touches the
    /// blocks of a wave of addresses this way so that their cache misses
    /// overlap.
    ///
    /// [`GeoDatabase::resolve_batch`]: super::GeoDatabase::resolve_batch
    #[inline(always)]
    pub(crate) fn touch_v4(&self, w: Window) -> u64 {
        self.blocks4.get(w.block).map_or(0, |b| u64::from(b.keys[0]) ^ u64::from(b.codes[0]))
    }

    /// The code of an IPv6 address, aliases resolved; `None` when the
    /// database has no IPv6 tree.
    #[inline]
    pub(crate) fn v6(&self, ip: u128) -> Option<u16> {
        Some(self.finish_v6(ip, self.locate_v6(ip)?))
    }

    /// [`TableView::locate_v4`] for IPv6 (comparing top 64 bits); `None`
    /// without an IPv6 tree.
    #[inline(always)]
    pub(crate) fn locate_v6(&self, ip: u128) -> Option<Window> {
        if !self.has_v6 {
            return None;
        }
        let k = ip.checked_shr(self.shift6).unwrap_or(0) as usize;
        let (lo, hi, code) = window(&self.bytes, self.d6 + DIR_ENTRY * k, self.v6_len);
        if lo == hi {
            return Some(Window { block: 0, code: Some(code) });
        }
        let top = (ip >> 64) as u64;
        let block = Self::block_of(&self.samples6, &self.coarse6, top, lo, hi);
        Some(Window { block, code: None })
    }

    /// [`TableView::finish_v4`] for IPv6, aliases of the IPv4 tree resolved.
    /// The range found by the top 64 bits is the right one unless it starts
    /// inside the address's /64, above the address (a network smaller than
    /// a /64: rare); then a search of the full starts decides.
    #[inline(always)]
    pub(crate) fn finish_v6(&self, ip: u128, w: Window) -> u16 {
        let code = match w.code {
            Some(code) => code,
            None => {
                let Some(block) = self.blocks6.get(w.block) else { return UNKNOWN };
                let top = (ip >> 64) as u64;
                let k = last_in(block, top, self.v6_len, w.block);
                let i = w.block * BLOCK + k;
                if block.partial >> k & 1 != 0
                    && block.keys[k] == top
                    && u128_at(&self.bytes, self.s6 + 16 * i) > ip
                {
                    self.v6_slow(ip, i)
                } else {
                    block.codes[k]
                }
            }
        };
        if code & ALIAS != 0 {
            let depth = u32::from(code & !ALIAS).min(96);
            self.v4((ip << depth >> 96) as u32)
        } else {
            code
        }
    }

    /// The code of the range of an IPv6 address whose range, by the top 64
    /// bits, was found to be `i` but starts above it: the last full 128-bit
    /// start `<= ip` before `i`, searched backwards from `i` in doubling
    /// steps, then by halving (the starts sharing a /64 are neighbours).
    #[cold]
    fn v6_slow(&self, ip: u128, i: usize) -> u16 {
        let start = |i: usize| u128_at(&self.bytes, self.s6 + 16 * i);
        // start(hi) > ip; find lo < hi with start(lo) <= ip (start(0) = 0).
        let (mut lo, mut hi, mut step) = (i.saturating_sub(1), i, 1);
        while lo > 0 && start(lo) > ip {
            hi = lo;
            step *= 2;
            lo = lo.saturating_sub(step);
        }
        // start(lo) <= ip < start(hi): the answer is in lo .. hi.
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if start(mid) <= ip {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        self.blocks6.get(lo / BLOCK).map_or(UNKNOWN, |b| b.codes[lo % BLOCK])
    }

    /// [`TableView::touch_v4`] for IPv6.
    #[inline(always)]
    pub(crate) fn touch_v6(&self, w: Window) -> u64 {
        self.blocks6
            .get(w.block)
            .map_or(0, |b| b.keys[0] ^ b.keys[BLOCK - 1] ^ u64::from(b.codes[0]))
    }

    /// Ranges in the IPv4 and IPv6 tables.
    pub(crate) fn range_counts(&self) -> (usize, usize) {
        (self.v4_len, self.v6_len)
    }

    /// Networks with a record in the source database.
    pub(crate) fn network_count(&self) -> u64 {
        self.network_count
    }

    /// Node count of the source database.
    pub(crate) fn node_count(&self) -> u32 {
        self.node_count
    }

    /// Size of the serialized table in bytes.
    #[cfg(any(test, feature = "internals"))]
    pub(crate) fn byte_len(&self) -> usize {
        self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    /// Random ranges over a `bits`-wide family: `n` distinct sorted starts
    /// (the first is 0), clustered so that some directory blocks are dense,
    /// and codes with adjacent repeats merged.
    fn random_ranges(rng: &mut Rng, n: usize, bits: u32) -> Ranges {
        let mask = if bits == 128 { u128::MAX } else { (1u128 << bits) - 1 };
        let mut starts: Vec<u128> = (0..n)
            .map(|_| {
                let r = (rng.next() as u128) << 64 | rng.next() as u128;
                // Half of the starts crowd into one small region.
                if rng.next().is_multiple_of(2) {
                    (r & mask & !(0xffff_u128 << (bits - 32))) | (0x2a01 << (bits - 16))
                } else {
                    r & mask
                }
            })
            .collect();
        starts.push(0);
        starts.sort_unstable();
        starts.dedup();
        let mut ranges = Ranges::default();
        for s in starts {
            ranges.push(s, (rng.next() % 5) as u16 * 100);
        }
        ranges
    }

    /// The code of `ip` by a plain search of the ranges.
    fn naive(r: &Ranges, ip: u128) -> u16 {
        r.codes[r.starts.partition_point(|&s| s <= ip) - 1]
    }

    #[test]
    fn lookups_agree_with_a_plain_search_at_every_size() {
        let mut rng = Rng(0x1234_5678);
        for n in [1, 2, 3, 15, 16, 17, 33, 100, 1000, 70_000] {
            let v4 = random_ranges(&mut rng, n, 32);
            let v6 = random_ranges(&mut rng, n, 128);
            let built = Built { v4, v6: Some(v6), network_count: 7, node_count: 9 };
            let view = TableView::parse(Cow::Owned(built.to_bytes())).unwrap();
            assert_eq!(
                view.range_counts(),
                (built.v4.starts.len(), built.v6.as_ref().unwrap().starts.len())
            );
            assert_eq!((view.network_count(), view.node_count()), (7, 9));
            let v6 = built.v6.as_ref().unwrap();
            let mut probes4: Vec<u32> = vec![0, u32::MAX, 0x2a01_0000, 0x2a01_ffff];
            for &s in built.v4.starts.iter().take(5000) {
                probes4.extend([s as u32, (s as u32).wrapping_sub(1), (s as u32).wrapping_add(1)]);
            }
            probes4.extend((0..5000).map(|_| rng.next() as u32));
            for ip in probes4 {
                assert_eq!(view.v4(ip), naive(&built.v4, u128::from(ip)), "n={n} {ip:#x}");
            }
            let mut probes6: Vec<u128> = vec![0, u128::MAX];
            for &s in v6.starts.iter().take(5000) {
                probes6.extend([s, s.wrapping_sub(1), s.wrapping_add(1)]);
            }
            probes6.extend((0..5000).map(|_| (rng.next() as u128) << 64 | rng.next() as u128));
            for ip in probes6 {
                assert_eq!(view.v6(ip), Some(naive(v6, ip)), "n={n} {ip:#x}");
            }
        }
    }

    /// Wide directory windows whose sample blocks share a /64 with the
    /// address (the samples compare top 64 bits only).
    #[test]
    fn ipv6_starts_crowded_into_one_slash_64() {
        let mut rng = Rng(0x9e37_79b9);
        let p = 0x2a01_0db8_0000_0001u128 << 64;
        let mut starts: Vec<u128> = (0..3000).map(|_| p | u128::from(rng.next())).collect();
        starts.extend((0..3000).map(|i| p + (u128::from(i as u32) << 64)));
        starts.push(0);
        starts.sort_unstable();
        starts.dedup();
        let mut v6 = Ranges::default();
        for (i, &s) in starts.iter().enumerate() {
            v6.push(s, (i % 7) as u16 * 10);
        }
        let mut v4 = Ranges::default();
        v4.push(0, 0);
        let built = Built { v4, v6: Some(v6), network_count: 1, node_count: 1 };
        let view = TableView::parse(Cow::Owned(built.to_bytes())).unwrap();
        let v6 = built.v6.as_ref().unwrap();
        for &s in &v6.starts {
            for ip in [s, s.wrapping_sub(1), s.wrapping_add(1)] {
                assert_eq!(view.v6(ip), Some(naive(v6, ip)), "{ip:#x}");
            }
        }
    }

    #[test]
    fn ipv4_only_table_has_no_ipv6_answers() {
        let mut v4 = Ranges::default();
        v4.push(0, 0);
        v4.push(0x0808_0800, 222);
        v4.push(0x0808_0900, 0);
        let built = Built { v4, v6: None, network_count: 1, node_count: 1 };
        let view = TableView::parse(Cow::Owned(built.to_bytes())).unwrap();
        assert_eq!(view.v4(0x0808_0808), 222);
        assert_eq!(view.v4(0x0808_0908), 0);
        assert_eq!(view.v6(1), None);
    }

    #[test]
    fn aliases_read_the_ipv4_table() {
        let mut v4 = Ranges::default();
        v4.push(0, 0);
        v4.push(0x0808_0800, 222);
        v4.push(0x0808_0900, 0);
        let mut v6 = Ranges::default();
        v6.push(0, ALIAS | 96);
        v6.push(1 << 32, 0);
        v6.push(0x2002 << 112, ALIAS | 16);
        v6.push(0x2003 << 112, 7);
        let built = Built { v4, v6: Some(v6), network_count: 1, node_count: 1 };
        let view = TableView::parse(Cow::Owned(built.to_bytes())).unwrap();
        assert_eq!(view.v6(0x0808_0808), Some(222));
        assert_eq!(view.v6(0x2002_0808_0808 << 80), Some(222));
        assert_eq!(view.v6(0x2002_0808_0908 << 80 | 5), Some(0));
        assert_eq!(view.v6(0x2003 << 112), Some(7));
    }

    #[test]
    fn damaged_table_bytes_never_panic() {
        let mut rng = Rng(77);
        let v4 = random_ranges(&mut rng, 200, 32);
        let v6 = random_ranges(&mut rng, 200, 128);
        let good = Built { v4, v6: Some(v6), network_count: 1, node_count: 1 }.to_bytes();
        for _ in 0..300 {
            let mut bytes = good.clone();
            for _ in 0..50 {
                let at = (rng.next() as usize) % bytes.len();
                bytes[at] = rng.next() as u8;
            }
            let Ok(view) = TableView::parse(Cow::Owned(bytes)) else { continue };
            for _ in 0..200 {
                view.v4(rng.next() as u32);
                view.v6((rng.next() as u128) << 64 | rng.next() as u128);
            }
        }
        assert!(TableView::parse(Cow::Owned(good[..good.len() - 1].to_vec())).is_err());
        assert!(TableView::parse(Cow::Borrowed(&[])).is_err());
    }

    #[test]
    fn country_values() {
        assert_eq!(code_of("A0"), Some(1));
        assert_eq!(code_of("AA"), Some(11));
        assert_eq!(code_of("zz"), Some(936));
        assert_eq!(code_of("T1"), Some(19 * 36 + 1 + 1));
        assert_eq!(code_of("Gb"), code_of("GB"));
        for bad in ["", "A", "USA", "1U", "É", "  "] {
            assert_eq!(code_of(bad), None, "{bad:?}");
        }
    }
}
