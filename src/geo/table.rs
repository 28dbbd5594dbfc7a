//! Reading the serialized range table ([`TableView`]): the lookups of
//! [`super::GeoDatabase::resolve`] and `resolve_batch`.

use std::borrow::Cow;

use super::format::*;

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
    /// Networks whose record has no country.
    no_country: u64,
    /// Networks of each code met, by increasing code.
    code_counts: Vec<(u16, u64)>,
    // Shifts from an address to its directory entry (32 or 128 - dir bits).
    shift4: u32,
    shift6: u32,
    // Byte offsets of the sections.
    s4: usize,
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
        let k = u32_at(b, 40) as usize;
        if k > MAX_CODES {
            return Err("country table lists too many codes".into());
        }
        let counts_at = HEADER_LEN + 2 * k;
        let code_counts: Vec<(u16, u64)> =
            (0..k).map(|i| (u16_at(b, HEADER_LEN + 2 * i), u64_at(b, counts_at + 8 * i))).collect();
        if code_counts.iter().any(|&(c, _)| c == UNKNOWN || usize::from(c) > MAX_CODES)
            || code_counts.windows(2).any(|w| w[0].0 >= w[1].0)
        {
            return Err("country table has a bad code list".into());
        }
        let s4 = counts_at + 8 * k;
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
            s4,
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
            no_country: u64_at(b, 32),
            code_counts,
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

    /// Every IPv4 range as (start, code), ascending; the first starts at 0.
    pub(crate) fn v4_entries(&self) -> impl Iterator<Item = (u32, u16)> + '_ {
        let c4 = self.s4 + 4 * self.v4_len;
        (0..self.v4_len)
            .map(move |i| (u32_at(&self.bytes, self.s4 + 4 * i), u16_at(&self.bytes, c4 + 2 * i)))
    }

    /// Every IPv6 range as (start, code), ascending (codes may be aliases
    /// of the IPv4 table); none without an IPv6 tree.
    pub(crate) fn v6_entries(&self) -> impl Iterator<Item = (u128, u16)> + '_ {
        let len = if self.has_v6 { self.v6_len } else { 0 };
        let c6 = self.s6 + 16 * self.v6_len;
        (0..len)
            .map(move |i| (u128_at(&self.bytes, self.s6 + 16 * i), u16_at(&self.bytes, c6 + 2 * i)))
    }

    /// Ranges in the IPv4 and IPv6 tables.
    pub(crate) fn range_counts(&self) -> (usize, usize) {
        (self.v4_len, self.v6_len)
    }

    /// Networks with a record in the source database.
    pub(crate) fn network_count(&self) -> u64 {
        self.network_count
    }

    /// Networks whose record has no country.
    pub(crate) fn no_country(&self) -> u64 {
        self.no_country
    }

    /// Networks of each code met, by increasing table code.
    pub(crate) fn code_counts(&self) -> &[(u16, u64)] {
        &self.code_counts
    }

    /// Node count of the source database.
    pub(crate) fn node_count(&self) -> u32 {
        self.node_count
    }

    /// Size of the serialized table in bytes.
    #[cfg(feature = "internals")]
    pub(crate) fn byte_len(&self) -> usize {
        self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::build::{Built, Ranges};

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
            let code_counts = [(1, 1), (5, 2), (222, 4), (MAX_CODES as u16, 9)];
            let code_counts = code_counts[..n.min(4)].to_vec();
            let built = Built {
                v4,
                v6: Some(v6),
                network_count: 7,
                node_count: 9,
                no_country: 3,
                code_counts,
            };
            let view = TableView::parse(Cow::Owned(built.to_bytes())).unwrap();
            assert_eq!(
                view.range_counts(),
                (built.v4.starts.len(), built.v6.as_ref().unwrap().starts.len())
            );
            assert_eq!((view.network_count(), view.node_count(), view.no_country()), (7, 9, 3));
            assert_eq!(view.code_counts(), &built.code_counts[..]);
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
        let built = Built {
            v4,
            v6: Some(v6),
            network_count: 1,
            node_count: 1,
            no_country: 0,
            code_counts: vec![],
        };
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
        let built = Built {
            v4,
            v6: None,
            network_count: 1,
            node_count: 1,
            no_country: 0,
            code_counts: vec![],
        };
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
        let built = Built {
            v4,
            v6: Some(v6),
            network_count: 1,
            node_count: 1,
            no_country: 0,
            code_counts: vec![],
        };
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
        let good = Built {
            v4,
            v6: Some(v6),
            network_count: 1,
            node_count: 1,
            no_country: 0,
            code_counts: vec![],
        }
        .to_bytes();
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
}
