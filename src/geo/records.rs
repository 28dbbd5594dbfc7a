//! The country fields of MaxMind DB records, read by a small reader of the
//! data section ([`DataSection`]) that extracts only those fields, with
//! caches and a work budget, so that no file can make opening a database
//! slow.
//!
//! This file is shared: the library mounts it in `geo`, and `build.rs`
//! includes it with `#[path]` (as a top-level module of the same name) to
//! convert the embedded database at build time. It may therefore use only
//! `std`, `maxminddb` and its siblings through `super::`, never `crate::`.
//!
//! # Why not maxminddb's `networks()`
//!
//! Tried on 2026-11-30: a builder on `maxminddb` 0.32's `Reader::within`
//! (with `include_networks_without_data`), caching records by
//! `LookupResult::offset()` and decoding the country fields once per offset
//! through its serde decoder and its resource limits. It gave byte-identical
//! tables for the embedded database and `tests/data/geoip/*`, but it cannot
//! keep opening a crafted file linear, so this reader stays:
//!
//! * Shared records. The library's limits are per decode (65,536 values,
//!   2 MiB), and `offset()` is the record's own offset, not that of the
//!   value a pointer leads to, so N records that each point at one K-entry
//!   map cost N × K, and no cache outside the library can see the sharing.
//!   N = K = 4,000 / 8,000 / 16,000 / 32,000 (107–449 KB files): 0.23 /
//!   0.83 / 3.3 / 14.1 s with the library (×4 per doubling), 1.1 / 2.3 /
//!   3.1 / 11.6 ms here. A map of more than 32,767 entries is refused by
//!   the library outright.
//! * Shared subtrees. `Within` skips aliases of the IPv4 subtree inside
//!   `next()` without yielding, so a 1.6 KB file whose 95 nodes under
//!   `8000::/1` have both children equal (2^95 paths to the IPv4 subtree)
//!   never returns from one `next()`: killed after 60 s (and
//!   `networks(..).count()` after 30 s); no budget of the caller can stop
//!   it. This reader's walk bound refuses it in under 1 ms.
//! * Deep nesting is refused by both, in under 1 ms.
//! * The embedded database: 89 ms with the library, 42 ms here (release,
//!   best of 5 on the 2-core machine), 29 MB peak RSS for both.
//!
//! With the library builder every `geo` and `geo_faults` test passed except
//! for a message text, and `records_sharing_one_big_map_are_read_once` took
//! about 80 s (debug build) instead of milliseconds.

use std::collections::HashMap;

use super::format::{FIELD_COUNTRY, FIELD_COUNTRY_CODE, FIELD_COUNTRY_STRING, FIELD_REGISTERED};

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
    /// A top-level `country` that is a string (the older IPinfo layout;
    /// a map is the GeoIP2 `country` above).
    pub(crate) country_string: Option<FieldValue<'a>>,
}

/// The values community databases write for "no country" (docs/semantics.md):
/// such a value is an unknown country for its network, never an error.
pub(crate) const NO_COUNTRY: [&str; 3] = ["", "-", "--"];

/// The [`NO_COUNTRY`] entry equal to `value`, if any.
pub(crate) fn no_country(value: &str) -> Option<&'static str> {
    NO_COUNTRY.iter().copied().find(|&p| p == value)
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
    /// The country fields in the order they are consulted.
    fn fields(&self) -> [(&'static str, Option<FieldValue<'_>>); 4] {
        [
            (FIELD_COUNTRY, self.country),
            (FIELD_REGISTERED, self.registered_country),
            (FIELD_COUNTRY_CODE, self.country_code),
            (FIELD_COUNTRY_STRING, self.country_string),
        ]
    }

    /// The matched country (docs/semantics.md): `country.iso_code`, else
    /// `registered_country.iso_code`, else `country_code`, else a top-level
    /// `country` string (the older IPinfo layout); the first field present
    /// decides. A field holding a "no country" value ([`NO_COUNTRY`]) counts
    /// as absent. A present value that is not a letter and a letter or digit
    /// is an error (lower case is accepted and upper-cased).
    pub(crate) fn country(&self) -> Result<Option<(u16, &'static str)>, BadValue> {
        for (field, value) in self.fields() {
            let Some(value) = value else { continue };
            let code = match value {
                FieldValue::Str(s) if no_country(s).is_some() => continue,
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

    /// The first field holding a "no country" value, and that value.
    pub(crate) fn no_country(&self) -> Option<(&'static str, &'static str)> {
        self.fields().into_iter().find_map(|(field, value)| match value {
            Some(FieldValue::Str(s)) => no_country(s).map(|v| (field, v)),
            _ => None,
        })
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
    /// not a map or has no `iso_code`); and the offset after the field.
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
                    "country" if this.deref(value)?.0.ty == T_STRING => {
                        let (v, next) = this.string(value)?;
                        (&mut rec.country_string, (Some(v), next))
                    }
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn no_country_values_count_as_absent() {
        let s = FieldValue::Str;
        // (country, registered, country_code, country string) -> result
        type Case<'a> =
            ([Option<FieldValue<'a>>; 4], Result<Option<&'a str>, &'a str>, Option<&'a str>);
        let table: [Case<'_>; 8] = [
            ([None, None, Some(s("-")), None], Ok(None), Some("-")),
            ([None, None, Some(s("")), None], Ok(None), Some("")),
            ([None, None, None, Some(s("--"))], Ok(None), Some("--")),
            ([Some(s("-")), Some(s("US")), None, None], Ok(Some("US")), Some("-")),
            ([None, None, Some(s("--")), Some(s("nl"))], Ok(Some("NL")), Some("--")),
            ([None, None, None, Some(s("GB"))], Ok(Some("GB")), None),
            ([None, None, Some(s("---")), None], Err("---"), None),
            ([None, None, None, Some(s("Netherlands"))], Err("Netherlands"), None),
        ];
        for (fields, want, placeholder) in table {
            let [country, registered_country, country_code, country_string] = fields;
            let rec = RecordFields {
                is_map: true,
                country,
                registered_country,
                represented_country: None,
                country_code,
                country_string,
            };
            let got = rec.country().map(|c| c.map(|(code, _)| code)).map_err(|b| b.value);
            let want = want.map(|c| c.map(|c| code_of(c).unwrap())).map_err(str::to_owned);
            assert_eq!(got, want, "{fields:?}");
            assert_eq!(rec.no_country().map(|(_, v)| v), placeholder, "{fields:?}");
        }
    }
}
