//! The interval tables of the compiled matcher: a total map from one
//! family's address line to the first matching rule, searched through a
//! directory on the top address bits and a branch-free binary search.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::interval::AddressInt;

/// A rule index in a compiled table; [`NO_RULE`] for "no rule".
pub(crate) type RuleIndex = u16;
/// "No rule matches".
pub(crate) const NO_RULE: RuleIndex = RuleIndex::MAX;

/// A search key: `u32` (an IPv4 address) or `u64` (the top half of an
/// IPv6 address).
trait SearchKey: Copy + Ord + std::fmt::Debug {
    const MAX: Self;
    /// The top `bits` bits (`1..=16`) as a number.
    fn top(self, bits: u32) -> usize;
    /// The first key whose top `bits` bits are `slot`.
    fn slot_start(slot: usize, bits: u32) -> Self;
}

impl SearchKey for u32 {
    const MAX: Self = u32::MAX;
    #[inline(always)]
    fn top(self, bits: u32) -> usize {
        (self >> (32 - bits)) as usize
    }
    fn slot_start(slot: usize, bits: u32) -> Self {
        (slot as u32) << (32 - bits)
    }
}

impl SearchKey for u64 {
    const MAX: Self = u64::MAX;
    #[inline(always)]
    fn top(self, bits: u32) -> usize {
        (self >> (64 - bits)) as usize
    }
    fn slot_start(slot: usize, bits: u32) -> Self {
        (slot as u64) << (64 - bits)
    }
}

/// An address line the matcher searches: an [`AddressInt`] of the interval
/// core with its search key (the address for IPv4, its top 64 bits for
/// IPv6, so that the search compares machine words).
#[allow(private_bounds)] // SearchKey is an implementation detail
pub(crate) trait Keyed: AddressInt + Default {
    /// The search key ([`Keyed::key`]).
    type Key: SearchKey;
    /// Whether keys order addresses exactly (no two addresses share a key).
    const EXACT_KEY: bool;
    /// The search key: monotonic in the address.
    fn key(self) -> Self::Key;
}

impl Keyed for u32 {
    type Key = u32;
    const EXACT_KEY: bool = true;
    #[inline(always)]
    fn key(self) -> u32 {
        self
    }
}

impl Keyed for u128 {
    type Key = u64;
    const EXACT_KEY: bool = false;
    #[inline(always)]
    fn key(self) -> u64 {
        (self >> 64) as u64
    }
}

/// A total map from one family's address space to the first matching rule.
///
/// Invariant (canonical form, kept private so it cannot be broken):
/// `starts[0] == 0`, `starts` is strictly increasing, `rules.len() ==
/// starts.len()`, and no two neighbours carry the same rule. Entry `k`
/// covers `starts[k] ..= starts[k + 1] - 1` (the last entry runs to the
/// family's maximum address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IntervalTable<T: Keyed> {
    starts: Vec<T>,
    rules: Vec<RuleIndex>,
    /// Finds the entry of an address by its key.
    finder: Finder<T::Key>,
}

/// Addresses searched side by side by [`Matcher::decide_batch`].
pub(crate) const LANES: usize = 8;

/// Most directory bits: 2^16 + 1 slots, 256 KiB.
const MAX_SLOT_BITS: u32 = 16;

/// Finds the last of a sorted list of keys that is `<=` a key: a directory
/// on the keys' top bits, then a fixed-size branch-free binary search.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Finder<K> {
    /// The keys (non-decreasing, the first one 0), then `window` copies of
    /// `K::MAX` so that every window is in bounds.
    keys: Vec<K>,
    /// Number of keys before the padding.
    len: usize,
    /// `slots[s]` is the last key `<=` the first key of slot `s` (the slot
    /// is the top `bits` bits of a key); `slots[2^bits]` is the last key.
    /// A key of slot `s` is found in `slots[s] ..= slots[s + 1]`.
    slots: Vec<u32>,
    bits: u32,
    /// The largest `slots[s + 1] - slots[s] + 1`, rounded up to a power of
    /// two: how many keys each lookup searches.
    window: usize,
}

impl<K: SearchKey> Finder<K> {
    /// `keys` must be non-decreasing and start with a key `<=` every key
    /// looked up (0).
    fn new(mut keys: Vec<K>) -> Finder<K> {
        let len = keys.len();
        let bits = (usize::BITS - len.leading_zeros() + 1).clamp(1, MAX_SLOT_BITS);
        let slots: Vec<u32> = (0..=1usize << bits)
            .map(|slot| {
                let at = if slot == 1 << bits {
                    len - 1
                } else {
                    let first = K::slot_start(slot, bits);
                    keys.partition_point(|&k| k <= first).max(1) - 1
                };
                u32::try_from(at).expect("a table has fewer than 2^32 entries")
            })
            .collect();
        let widest = slots.windows(2).map(|w| (w[1] - w[0]) as usize + 1).max().unwrap_or(1);
        let window = widest.next_power_of_two();
        keys.resize(len + window, K::MAX);
        Finder { keys, len, slots, bits, window }
    }

    /// [`Finder::find`] for [`LANES`] keys at once, the search steps of
    /// all lanes interleaved so that their loads overlap.
    #[inline(always)]
    fn find_lanes(&self, xs: [K; LANES]) -> [usize; LANES] {
        let mut lo = xs.map(|x| self.slots[x.top(self.bits)] as usize);
        let mut size = self.window;
        while size > 1 {
            let half = size / 2;
            for (lo, &x) in lo.iter_mut().zip(&xs) {
                let mid = *lo + half;
                // A conditional move: LLVM turns a plain `if` (or
                // arithmetic on the comparison) into a jump here.
                *lo = std::hint::select_unpredictable(self.keys[mid] <= x, mid, *lo);
            }
            size -= half;
        }
        lo.map(|k| k.min(self.len - 1))
    }

    /// The index of the last key `<= x`.
    #[inline(always)]
    fn find(&self, x: K) -> usize {
        let lo = self.slots[x.top(self.bits)] as usize;
        // keys[lo] <= x, so the partition point is at least 1. The standard
        // library's binary search runs log2(window) steps, choosing each
        // half with a conditional move.
        let k = lo + self.keys[lo..lo + self.window].partition_point(|&k| k <= x) - 1;
        // Only x == K::MAX can reach the padding.
        k.min(self.len - 1)
    }
}

impl<T: Keyed> IntervalTable<T> {
    /// Builds the table from inclusive ranges `(lo, hi, rule)`: each range
    /// of the address space gets the lowest rule among those covering it.
    pub(crate) fn build(mut ranges: Vec<(T, T, RuleIndex)>) -> Self {
        ranges.sort_unstable();
        let mut bounds: Vec<T> = Vec::with_capacity(ranges.len() * 2 + 1);
        bounds.push(T::default());
        for &(lo, hi, _) in &ranges {
            bounds.push(lo);
            if let Some(next) = hi.checked_succ() {
                bounds.push(next);
            }
        }
        bounds.sort_unstable();
        bounds.dedup();

        let mut starts = Vec::new();
        let mut rules = Vec::new();
        // Min-heap of (rule, hi) for ranges that have started.
        let mut active: BinaryHeap<Reverse<(RuleIndex, T)>> = BinaryHeap::new();
        let mut next_range = 0;
        for &b in &bounds {
            while next_range < ranges.len() && ranges[next_range].0 <= b {
                let (_, hi, rule) = ranges[next_range];
                active.push(Reverse((rule, hi)));
                next_range += 1;
            }
            while active.peek().is_some_and(|Reverse((_, hi))| *hi < b) {
                active.pop();
            }
            let rule = active.peek().map_or(NO_RULE, |Reverse((r, _))| *r);
            if rules.last() != Some(&rule) {
                starts.push(b);
                rules.push(rule);
            }
        }
        IntervalTable::from_canonical(starts, rules)
    }

    pub(crate) fn from_canonical(starts: Vec<T>, rules: Vec<RuleIndex>) -> Self {
        let finder = Finder::new(starts.iter().map(|s| s.key()).collect());
        IntervalTable { starts, rules, finder }
    }

    #[inline(always)]
    pub(crate) fn get(&self, addr: T) -> RuleIndex {
        self.rule_of(self.finder.find(addr.key()), addr)
    }

    /// [`IntervalTable::get`] for [`LANES`] addresses at once.
    #[inline(always)]
    pub(crate) fn get_lanes(&self, addrs: [T; LANES]) -> [RuleIndex; LANES] {
        let found = self.finder.find_lanes(addrs.map(T::key));
        std::array::from_fn(|i| self.rule_of(found[i], addrs[i]))
    }

    /// The rule of `addr`, given `k`: the last entry whose start's key is
    /// `<=` the address's key.
    #[inline(always)]
    fn rule_of(&self, mut k: usize, addr: T) -> RuleIndex {
        // IPv6: the start found has the address's top 64 bits or fewer, and
        // is above the address only if it shares them (a network ending
        // inside the address's /64): rare, searched in full.
        if !T::EXACT_KEY && self.starts[k] > addr {
            k = self.starts.partition_point(|&s| s <= addr) - 1;
        }
        self.rules[k]
    }

    /// The table as inclusive ranges with their rule (no-rule gaps left out).
    #[cfg(any(test, feature = "internals"))]
    pub(crate) fn ranges(&self) -> impl Iterator<Item = (T, T, usize)> + '_ {
        (0..self.starts.len()).filter(|&k| self.rules[k] != NO_RULE).map(move |k| {
            let hi = self
                .starts
                .get(k + 1)
                .map_or(T::MAX, |&next| next.checked_pred().unwrap_or(T::MIN));
            (self.starts[k], hi, self.rules[k] as usize)
        })
    }

    #[cfg(any(test, feature = "internals"))]
    pub(crate) fn is_canonical(&self) -> bool {
        self.starts.first() == Some(&T::default())
            && self.starts.len() == self.rules.len()
            && self.starts.windows(2).all(|w| w[0] < w[1])
            && self.rules.windows(2).all(|w| w[0] != w[1])
            && self.finder == Finder::new(self.starts.iter().map(|s| s.key()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_takes_first_rule_and_merges() {
        let t =
            IntervalTable::<u32>::build(vec![(10, 20, 1), (15, 30, 0), (31, 40, 0), (50, 60, 2)]);
        assert!(t.is_canonical());
        assert_eq!(t.ranges().collect::<Vec<_>>(), vec![(10, 14, 1), (15, 40, 0), (50, 60, 2)]);
        assert_eq!(t.get(0), NO_RULE);
        assert_eq!(t.get(14), 1);
        assert_eq!(t.get(15), 0);
        assert_eq!(t.get(45), NO_RULE);
        assert_eq!(t.get(u32::MAX), NO_RULE);
        let full = IntervalTable::<u32>::build(vec![(0, u32::MAX, 3)]);
        assert_eq!(full.ranges().collect::<Vec<_>>(), vec![(0, u32::MAX, 3)]);
        assert_eq!(full.get(u32::MAX), 3);
    }

    #[test]
    fn lookup_is_partition_point() {
        // Table sizes around directory sizes, keys spread and clustered.
        for n in [1u32, 2, 3, 7, 8, 9, 100, 1000, 5000] {
            for spread in [1u32, 7, 1 << 12, 1 << 20] {
                if (n - 1).checked_mul(spread).is_none() {
                    continue;
                }
                let starts: Vec<u32> = (0..n).map(|i| i * spread).collect();
                let rules: Vec<RuleIndex> = (0..n).map(|i| (i % 2) as RuleIndex).collect();
                let t = IntervalTable::from_canonical(starts, rules);
                let last = n.saturating_sub(1).saturating_mul(spread);
                let probes = (0..64u32)
                    .flat_map(|k| {
                        let base = (last / 64).saturating_mul(k);
                        [base, base.saturating_add(1), base.saturating_sub(1)]
                    })
                    .chain([0, 1, last, last.saturating_add(1), u32::MAX - 1, u32::MAX]);
                for x in probes {
                    let k = t.starts.partition_point(|&s| s <= x);
                    assert_eq!(t.get(x), t.rules[k - 1], "n={n} spread={spread} x={x}");
                }
                let wide: Vec<u128> = t.starts.iter().map(|&s| u128::from(s) << 96).collect();
                let w = IntervalTable::from_canonical(wide, t.rules.clone());
                for x in [0u128, 1 << 96, (u128::from(last) << 96) + 5, u128::MAX] {
                    let k = w.starts.partition_point(|&s| s <= x);
                    assert_eq!(w.get(x), w.rules[k - 1], "n={n} spread={spread} x={x}");
                }
            }
        }
    }

    #[test]
    fn ipv6_starts_inside_one_slash_64() {
        // Several starts share a /64, so their search keys are equal.
        let p = 0x2001_0db8_0000_0001u128 << 64;
        let starts = vec![0, p, p + 5, p + 10, p + (1 << 64), u128::MAX - 3];
        let rules = vec![NO_RULE, 0, 1, 2, NO_RULE, 3];
        let t = IntervalTable::from_canonical(starts, rules);
        assert!(t.is_canonical());
        let probes = [0, p - 1, p, p + 4, p + 5, p + 9, p + 10, p + 11, p + (1 << 64), u128::MAX];
        for x in probes {
            let k = t.starts.partition_point(|&s| s <= x);
            assert_eq!(t.get(x), t.rules[k - 1], "{x:x}");
            let lanes = t.get_lanes([x; LANES]);
            assert!(lanes.iter().all(|&r| r == t.rules[k - 1]), "{x:x}");
        }
    }
}
