//! Building the range table from a MaxMind DB search tree: a bounded walk
//! of the tree ([`walk`]) that reads each record once ([`DataSection`]).
//!
//! This file is shared: the library mounts it in `geo`, and `build.rs`
//! includes it with `#[path]` (as a top-level module of the same name) to
//! convert the embedded database at build time. It may therefore use only
//! `std`, `maxminddb` and its siblings through `super::`, never `crate::`.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use maxminddb::Reader;

use super::format::*;
use super::records::*;

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
    pub(crate) fn push(&mut self, start: u128, code: u16) {
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
    /// Networks whose record has no country (none of the fields, or only
    /// "no country" values).
    pub(crate) no_country: u64,
    /// The networks of each code met, by increasing code (no zero counts).
    pub(crate) code_counts: Vec<(u16, u64)>,
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
    // Networks by table code (`UNKNOWN`: a record without a country).
    let mut counts = vec![0u64; MAX_CODES + 1];

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
                    let code = code_at(ptr, prefix, depth, 32)?;
                    counts[usize::from(code)] += 1;
                    code
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
                    let code = code_at(ptr, prefix, depth, 128)?;
                    counts[usize::from(code)] += 1;
                    code
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
    let code_counts =
        (1..counts.len()).filter(|&c| counts[c] > 0).map(|c| (c as u16, counts[c])).collect();
    Ok(Built {
        v4,
        v6,
        network_count,
        node_count: md.node_count,
        no_country: counts[usize::from(UNKNOWN)],
        code_counts,
    })
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
        let k = self.code_counts.len();
        let mut out = Vec::with_capacity(HEADER_LEN + 10 * k + 6 * n + 18 * m + 16 * dir_len(16));
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&(if self.v6.is_some() { FLAG_V6 } else { 0 }).to_le_bytes());
        out.extend_from_slice(&(n as u32).to_le_bytes());
        out.extend_from_slice(&(m as u32).to_le_bytes());
        out.extend_from_slice(&self.node_count.to_le_bytes());
        out.extend_from_slice(&self.network_count.to_le_bytes());
        out.extend_from_slice(&self.no_country.to_le_bytes());
        out.extend_from_slice(&(self.code_counts.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        for &(code, _) in &self.code_counts {
            out.extend_from_slice(&code.to_le_bytes());
        }
        for &(_, count) in &self.code_counts {
            out.extend_from_slice(&count.to_le_bytes());
        }
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
