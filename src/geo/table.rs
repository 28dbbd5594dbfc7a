//! The compact country range table and the code that builds it from a
//! MaxMind DB search tree.
//!
//! This file is shared: the library mounts it as `geo::table`, and `build.rs`
//! includes it with `#[path]` to convert the embedded database at build time.
//! It may therefore use only `std`, `serde` and `maxminddb`, never `crate::`.
//!
//! # Table
//!
//! Per address family, a sorted list of range starts and a parallel list of
//! 16-bit codes: the range `i` covers `starts[i] ..= starts[i + 1] - 1` (the
//! last one runs to the end of the family). `starts[0]` is always 0, so every
//! address falls in exactly one range; a lookup is one binary search.
//! Adjacent ranges with the same code are merged.
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
//! 0   magic "ARGEOTB1"
//! 8   u32 flags (bit 0: the database has an IPv6 tree)
//! 12  u32 IPv4 range count n
//! 16  u32 IPv6 range count m (0 without an IPv6 tree)
//! 20  u32 node count of the source database (a consistency check)
//! 24  u64 number of networks with a record
//! 32  n × u32 IPv4 starts, n × u16 IPv4 codes, m × u128 IPv6 starts, m × u16 IPv6 codes
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use maxminddb::Reader;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The code of "no country".
pub(crate) const UNKNOWN: u16 = 0;
/// The flag of an IPv6 range that aliases the IPv4 table (low 7 bits: depth).
pub(crate) const ALIAS: u16 = 0x8000;
/// Largest country code: `ZZ` (index 675) + 1.
const MAX_COUNTRY: u16 = 676;

const MAGIC: [u8; 8] = *b"ARGEOTB1";
const HEADER_LEN: usize = 32;
const FLAG_V6: u32 = 1;

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FieldValue<'a> {
    /// A string (not yet checked).
    Str(Cow<'a, str>),
    /// Anything else, described ("a number", "a map", ...).
    Other(&'static str),
}

impl FieldValue<'_> {
    /// The value for messages: the string, or its description.
    pub(crate) fn describe(&self) -> String {
        match self {
            FieldValue::Str(s) => s.to_string(),
            FieldValue::Other(what) => format!("<{what}>"),
        }
    }
}

/// The country-related fields of one record, whatever its layout.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RecordFields<'a> {
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

/// Two ASCII letters of either case, as the table code (`index + 1`).
pub(crate) fn code_of(value: &str) -> Option<u16> {
    match value.as_bytes() {
        &[a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            let (a, b) = (a.to_ascii_uppercase(), b.to_ascii_uppercase());
            Some(u16::from(a - b'A') * 26 + u16::from(b - b'A') + 1)
        }
        _ => None,
    }
}

impl RecordFields<'_> {
    /// The matched country (SPEC §5): `country.iso_code`, else
    /// `registered_country.iso_code`, else `country_code`; the first field
    /// present decides. A present value that is not two ASCII letters is an
    /// error (lower case is accepted and upper-cased).
    pub(crate) fn country(&self) -> Result<Option<(u16, &'static str)>, BadValue> {
        let fields = [
            (FIELD_COUNTRY, &self.country),
            (FIELD_REGISTERED, &self.registered_country),
            (FIELD_COUNTRY_CODE, &self.country_code),
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
        match &self.represented_country {
            Some(FieldValue::Str(s)) => code_of(s),
            _ => None,
        }
    }
}

/// Visits and discards any value, returning a description of its type.
struct Describe;

impl<'de> Visitor<'de> for Describe {
    type Value = &'static str;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok("a boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok("a number")
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
        Ok("a number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok("a number")
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
        Ok("a number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok("a number")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok("a string")
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
        Ok("bytes")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok("null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok("null")
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(Describe)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok("an array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok("a map")
    }
}

/// A value that is either a string (kept) or anything else (described).
struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = FieldValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a country code")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(FieldValue::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(FieldValue::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Describe.visit_bool(v).map(FieldValue::Other)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Describe.visit_i64(v).map(FieldValue::Other)
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Self::Value, E> {
        Describe.visit_i128(v).map(FieldValue::Other)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Describe.visit_u64(v).map(FieldValue::Other)
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
        Describe.visit_u128(v).map(FieldValue::Other)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Describe.visit_f64(v).map(FieldValue::Other)
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        Describe.visit_bytes(v).map(FieldValue::Other)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(FieldValue::Other("null"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(FieldValue::Other("null"))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Describe.visit_seq(seq).map(FieldValue::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Describe.visit_map(map).map(FieldValue::Other)
    }
}

impl<'de> Deserialize<'de> for FieldValue<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

/// A map key, borrowed when the decoder allows it.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// `country`-like objects: `{"iso_code": ..}` gives the code; any other
/// shape (IPinfo's `"country": "Netherlands"`, a number, ...) gives nothing.
struct CountryObject<'a>(Option<FieldValue<'a>>);

impl<'de> Deserialize<'de> for CountryObject<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjVisitor;
        impl<'de> Visitor<'de> for ObjVisitor {
            type Value = CountryObject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a country object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut iso = None;
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    if key == "iso_code" {
                        iso = Some(map.next_value::<FieldValue<'de>>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(CountryObject(iso))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(CountryObject(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(CountryObject(None))
            }
            fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
                Ok(CountryObject(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(CountryObject(None))
            }
            fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
                Ok(CountryObject(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(CountryObject(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(CountryObject(None))
            }
            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
                Ok(CountryObject(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(CountryObject(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(CountryObject(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Describe.visit_seq(seq).map(|_| CountryObject(None))
            }
        }
        d.deserialize_any(ObjVisitor)
    }
}

impl<'de> Deserialize<'de> for RecordFields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RecVisitor;
        impl<'de> Visitor<'de> for RecVisitor {
            type Value = RecordFields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a record")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut rec = RecordFields::default();
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    match &*key {
                        "country" => rec.country = map.next_value::<CountryObject<'de>>()?.0,
                        "registered_country" => {
                            rec.registered_country = map.next_value::<CountryObject<'de>>()?.0
                        }
                        "represented_country" => {
                            rec.represented_country = map.next_value::<CountryObject<'de>>()?.0
                        }
                        "country_code" => {
                            rec.country_code = Some(map.next_value::<FieldValue<'de>>()?)
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(rec)
            }
            // A record that is not a map has no country field.
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(RecordFields::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(RecordFields::default())
            }
            fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
                Ok(RecordFields::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(RecordFields::default())
            }
            fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
                Ok(RecordFields::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(RecordFields::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(RecordFields::default())
            }
            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
                Ok(RecordFields::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(RecordFields::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(RecordFields::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Describe.visit_seq(seq).map(|_| RecordFields::default())
            }
        }
        d.deserialize_any(RecVisitor)
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

/// Converts the database in `raw` (already opened as `reader`) into range
/// tables, decoding every distinct record once. Fails on a damaged tree or
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
        let result = reader.lookup(ip).map_err(|e| at(&e))?;
        let expected = ptr.checked_sub(node_count + 16);
        if expected.is_none() || result.offset() != expected {
            return Err(at(&"data pointer outside the data section"));
        }
        let fields = result
            .decode::<RecordFields<'_>>()
            .map_err(|e| at(&e))?
            .ok_or_else(|| at(&"record vanished"))?;
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

impl Built {
    /// The serialized table (see the module documentation).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let n = self.v4.starts.len();
        let m = self.v6.as_ref().map_or(0, |r| r.starts.len());
        let mut out = Vec::with_capacity(HEADER_LEN + 6 * n + 18 * m);
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
        if let Some(v6) = &self.v6 {
            for &s in &v6.starts {
                out.extend_from_slice(&s.to_le_bytes());
            }
            for &c in &v6.codes {
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Reading the serialized table
// ---------------------------------------------------------------------------

/// A serialized table, owned or `'static` (the embedded one), read in place.
#[derive(Clone, Debug)]
pub(crate) struct TableView {
    bytes: Cow<'static, [u8]>,
    v4_len: usize,
    v6_len: usize,
    has_v6: bool,
    node_count: u32,
    network_count: u64,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..).and_then(|s| s.first_chunk::<4>()).map_or(0, |c| u32::from_le_bytes(*c))
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..).and_then(|s| s.first_chunk::<2>()).map_or(0, |c| u16::from_le_bytes(*c))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..).and_then(|s| s.first_chunk::<8>()).map_or(0, |c| u64::from_le_bytes(*c))
}

fn u128_at(b: &[u8], at: usize) -> u128 {
    b.get(at..).and_then(|s| s.first_chunk::<16>()).map_or(0, |c| u128::from_le_bytes(*c))
}

fn valid_code(code: u16, alias_allowed: bool) -> bool {
    code <= MAX_COUNTRY || (alias_allowed && code & ALIAS != 0 && code & !ALIAS <= 96)
}

impl TableView {
    /// Checks and wraps a serialized table: header, lengths, ordering, codes.
    pub(crate) fn parse(bytes: Cow<'static, [u8]>) -> Result<TableView, String> {
        let b = &bytes[..];
        if b.len() < HEADER_LEN || b[..8] != MAGIC {
            return Err("not a country table (bad header)".into());
        }
        let flags = u32_at(b, 8);
        let v4_len = u32_at(b, 12) as usize;
        let v6_len = u32_at(b, 16) as usize;
        let has_v6 = flags & FLAG_V6 != 0;
        let expected = HEADER_LEN + 6 * v4_len + 18 * v6_len;
        if b.len() != expected {
            return Err(format!("country table is {} bytes, expected {expected}", b.len()));
        }
        if v4_len == 0 || (has_v6 != (v6_len > 0)) {
            return Err("country table has an empty family".into());
        }
        let view = TableView {
            v4_len,
            v6_len,
            has_v6,
            node_count: u32_at(b, 20),
            network_count: u64_at(b, 24),
            bytes,
        };
        let b = &view.bytes[..];
        let (s4, c4, s6, c6) = view.offsets();
        let v4_sorted = u32_at(b, s4) == 0
            && (1..v4_len).all(|i| u32_at(b, s4 + 4 * (i - 1)) < u32_at(b, s4 + 4 * i));
        let v6_sorted = v6_len == 0
            || (u128_at(b, s6) == 0
                && (1..v6_len).all(|i| u128_at(b, s6 + 16 * (i - 1)) < u128_at(b, s6 + 16 * i)));
        if !v4_sorted || !v6_sorted {
            return Err("country table ranges are not sorted from 0".into());
        }
        let codes_ok = (0..v4_len).all(|i| valid_code(u16_at(b, c4 + 2 * i), false))
            && (0..v6_len).all(|i| valid_code(u16_at(b, c6 + 2 * i), true));
        if !codes_ok {
            return Err("country table has an invalid code".into());
        }
        Ok(view)
    }

    /// Byte offsets of: IPv4 starts, IPv4 codes, IPv6 starts, IPv6 codes.
    #[inline]
    fn offsets(&self) -> (usize, usize, usize, usize) {
        let s4 = HEADER_LEN;
        let c4 = s4 + 4 * self.v4_len;
        let s6 = c4 + 2 * self.v4_len;
        let c6 = s6 + 16 * self.v6_len;
        (s4, c4, s6, c6)
    }

    /// The code of an IPv4 address (never an alias).
    #[inline]
    pub(crate) fn v4(&self, ip: u32) -> u16 {
        let b = &self.bytes[..];
        let (s4, c4, _, _) = self.offsets();
        // Number of starts <= ip; at least 1 because starts[0] == 0.
        let (mut lo, mut hi) = (0usize, self.v4_len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if u32_at(b, s4 + 4 * mid) <= ip {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        u16_at(b, c4 + 2 * lo.saturating_sub(1))
    }

    /// The code of an IPv6 address, aliases resolved; `None` when the
    /// database has no IPv6 tree.
    #[inline]
    pub(crate) fn v6(&self, ip: u128) -> Option<u16> {
        if !self.has_v6 {
            return None;
        }
        let b = &self.bytes[..];
        let (_, _, s6, c6) = self.offsets();
        let (mut lo, mut hi) = (0usize, self.v6_len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if u128_at(b, s6 + 16 * mid) <= ip {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let code = u16_at(b, c6 + 2 * lo.saturating_sub(1));
        if code & ALIAS != 0 {
            let depth = u32::from(code & !ALIAS).min(96);
            Some(self.v4((ip << depth >> 96) as u32))
        } else {
            Some(code)
        }
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
    pub(crate) fn byte_len(&self) -> usize {
        self.bytes.len()
    }
}
