//! The compiled matcher: per-family interval tables, a country table and
//! the first `any` rule, answered with one binary search per family.
//!
//! Evaluation is O(log n) in the number of networks and independent of rule
//! order: each table already holds, for every address range, the first rule
//! that matches it, so the decision is the minimum of three rule indexes
//! (address table, country table, first `any`). The country is needed only
//! when a country rule comes before that minimum, which
//! [`Matcher::decide_resolving`] uses to skip the GeoIP lookup.
//!
//! # Search (SPEC §7)
//!
//! A table lookup finds the last range start `<=` the address, comparing
//! search keys: the address for IPv4, its top 64 bits for IPv6 (rule
//! networks rarely end inside a /64; when the start found shares the
//! address's /64 but lies above it, a full 128-bit search settles it). A
//! directory on the key's top bits (about two slots per range, at most
//! 2^16) gives the first candidate; a branch-free binary search over a
//! window of fixed size (the largest slot, rounded to a power of two)
//! finishes: the same number of steps for every address, each picking its
//! half with a conditional move, so there are no mispredicted branches and
//! the lookups of successive viewers overlap in the CPU.
//! [`Matcher::decide_batch`] goes further: it runs the searches of eight
//! viewers of a family step by step side by side.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::rule::{
    Action, CountryCode, Decision, RuleKind, RuleSet, Viewer, COUNTRY_CODE_COUNT, DEFAULT_ACTION,
};

/// A rule index in a compiled table; [`NO_RULE`] for "no rule".
type RuleIndex = u16;
const NO_RULE: RuleIndex = RuleIndex::MAX;

/// Most rules a [`Matcher`] compiles (far above the service's 5).
pub const MAX_COMPILED_RULES: usize = NO_RULE as usize;

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

/// An address integer: `u32` for IPv4, `u128` for IPv6.
#[allow(private_bounds)] // SearchKey is an implementation detail
pub(crate) trait AddrInt: Copy + Ord + std::fmt::Debug {
    const MAX: Self;
    /// The search key ([`AddrInt::key`]).
    type Key: SearchKey;
    /// Whether keys order addresses exactly (no two addresses share a key).
    const EXACT_KEY: bool;
    fn succ(self) -> Option<Self>;
    /// `self - 1`, saturating at 0.
    fn pred(self) -> Self;
    /// The search key: monotonic in the address.
    fn key(self) -> Self::Key;
}

impl AddrInt for u32 {
    const MAX: Self = u32::MAX;
    type Key = u32;
    const EXACT_KEY: bool = true;
    fn succ(self) -> Option<Self> {
        self.checked_add(1)
    }
    fn pred(self) -> Self {
        self.saturating_sub(1)
    }
    #[inline(always)]
    fn key(self) -> u32 {
        self
    }
}

impl AddrInt for u128 {
    const MAX: Self = u128::MAX;
    type Key = u64;
    const EXACT_KEY: bool = false;
    fn succ(self) -> Option<Self> {
        self.checked_add(1)
    }
    fn pred(self) -> Self {
        self.saturating_sub(1)
    }
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
pub(crate) struct IntervalTable<T: AddrInt> {
    starts: Vec<T>,
    rules: Vec<RuleIndex>,
    /// Finds the entry of an address by its key.
    finder: Finder<T::Key>,
}

/// Addresses searched side by side by [`Matcher::decide_batch`].
const LANES: usize = 8;

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

impl<T: AddrInt + Default> IntervalTable<T> {
    /// Builds the table from inclusive ranges `(lo, hi, rule)`: each range
    /// of the address space gets the lowest rule among those covering it.
    fn build(mut ranges: Vec<(T, T, RuleIndex)>) -> Self {
        ranges.sort_unstable();
        let mut bounds: Vec<T> = Vec::with_capacity(ranges.len() * 2 + 1);
        bounds.push(T::default());
        for &(lo, hi, _) in &ranges {
            bounds.push(lo);
            if let Some(next) = hi.succ() {
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

    fn from_canonical(starts: Vec<T>, rules: Vec<RuleIndex>) -> Self {
        let finder = Finder::new(starts.iter().map(|s| s.key()).collect());
        IntervalTable { starts, rules, finder }
    }

    #[inline(always)]
    fn get(&self, addr: T) -> RuleIndex {
        self.rule_of(self.finder.find(addr.key()), addr)
    }

    /// [`IntervalTable::get`] for [`LANES`] addresses at once.
    #[inline(always)]
    fn get_lanes(&self, addrs: [T; LANES]) -> [RuleIndex; LANES] {
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
    pub(crate) fn ranges(&self) -> impl Iterator<Item = (T, T, usize)> + '_ {
        (0..self.starts.len()).filter(|&k| self.rules[k] != NO_RULE).map(move |k| {
            let hi = self.starts.get(k + 1).map_or(T::MAX, |&next| next.pred());
            (self.starts[k], hi, self.rules[k] as usize)
        })
    }

    fn is_canonical(&self) -> bool {
        self.starts.first() == Some(&T::default())
            && self.starts.len() == self.rules.len()
            && self.starts.windows(2).all(|w| w[0] < w[1])
            && self.rules.windows(2).all(|w| w[0] != w[1])
            && self.finder == Finder::new(self.starts.iter().map(|s| s.key()).collect())
    }
}

/// A compiled rule set (SPEC §6): immutable, `Send + Sync`, cheap to share
/// behind an `Arc`. Decides exactly as [`crate::reference::evaluate`].
///
/// # Example
///
/// ```
/// use accessrules::{check, Matcher, Options, Viewer, Action};
/// let v = check(br#"[{"type":"ip.src","ip":["93.184.216.0/24"],"action":"allow"},
///                    {"type":"any","action":"block"}]"#, &Options::default());
/// let m = Matcher::new(v.rule_set().unwrap());
/// let d = m.decide(&Viewer::new("2606:2800:220:1::1".parse()?));
/// assert_eq!((d.action, d.rule), (Action::Block, Some(1)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Matcher {
    v4: IntervalTable<u32>,
    v6: IntervalTable<u128>,
    countries: Box<[RuleIndex; COUNTRY_CODE_COUNT]>,
    first_any: RuleIndex,
    first_country_rule: RuleIndex,
    actions: Vec<Action>,
}

impl Matcher {
    /// Compiles `rules` (a validated set has at most 5). A set of more than
    /// [`MAX_COMPILED_RULES`] rules is cut to that many; use
    /// [`Matcher::try_new`] to be refused instead.
    pub fn new(rules: &RuleSet) -> Matcher {
        let n = rules.rules.len().min(MAX_COMPILED_RULES);
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        let mut countries = Box::new([NO_RULE; COUNTRY_CODE_COUNT]);
        let mut first_any = NO_RULE;
        let mut first_country_rule = NO_RULE;
        for (i, rule) in rules.rules[..n].iter().enumerate() {
            let i = i as RuleIndex;
            match &rule.kind {
                RuleKind::Any => first_any = first_any.min(i),
                RuleKind::IpSrc(nets) => {
                    for net in nets {
                        match net {
                            IpNet::V4(n) => {
                                v4.push((u32::from(n.network()), u32::from(n.broadcast()), i))
                            }
                            IpNet::V6(n) => {
                                v6.push((u128::from(n.network()), u128::from(n.broadcast()), i))
                            }
                        }
                    }
                }
                RuleKind::Country(codes) => {
                    first_country_rule = first_country_rule.min(i);
                    for c in codes {
                        let slot = &mut countries[c.index()];
                        *slot = (*slot).min(i);
                    }
                }
            }
        }
        Matcher {
            v4: IntervalTable::build(v4),
            v6: IntervalTable::build(v6),
            countries,
            first_any,
            first_country_rule,
            actions: rules.rules[..n].iter().map(|r| r.action).collect(),
        }
    }

    /// Like [`Matcher::new`], but refuses rule sets over
    /// [`MAX_COMPILED_RULES`] rules.
    ///
    /// # Errors
    ///
    /// The number of rules, when over the cap.
    pub fn try_new(rules: &RuleSet) -> Result<Matcher, TooManyRules> {
        if rules.rules.len() > MAX_COMPILED_RULES {
            return Err(TooManyRules(rules.rules.len()));
        }
        Ok(Matcher::new(rules))
    }

    /// The number of rules compiled.
    pub fn rule_count(&self) -> usize {
        self.actions.len()
    }

    #[inline(always)]
    fn ip_rule(&self, ip: IpAddr) -> RuleIndex {
        let table_rule = match ip {
            IpAddr::V4(a) => self.v4.get(u32::from(a)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => self.v4.get(u32::from(v4)),
                None => self.v6.get(u128::from(a)),
            },
        };
        table_rule.min(self.first_any)
    }

    #[inline]
    fn decision(&self, rule: RuleIndex) -> Decision {
        if rule == NO_RULE {
            Decision { action: DEFAULT_ACTION, rule: None }
        } else {
            Decision { action: self.actions[rule as usize], rule: Some(rule as usize) }
        }
    }

    /// The decision for a viewer whose country is known or unknown
    /// (`viewer.country()`); no lookup is made.
    #[inline]
    pub fn decide(&self, viewer: &Viewer) -> Decision {
        self.decision(self.with_country(self.ip_rule(viewer.ip()), viewer))
    }

    /// `rule` (the first address or `any` rule that matches), or the
    /// viewer's country rule when that comes first.
    #[inline(always)]
    fn with_country(&self, rule: RuleIndex, viewer: &Viewer) -> RuleIndex {
        match viewer.country() {
            Some(c) if self.first_country_rule < rule => rule.min(self.countries[c.index()]),
            _ => rule,
        }
    }

    /// The decisions for many viewers, appended to `out` in order:
    /// the same as [`Matcher::decide`] on each, about twice as fast on large
    /// tables. Viewers are queued per family, and the table searches of
    /// eight viewers of a family run step by step side by side, so that
    /// their memory loads overlap instead of waiting for one another.
    pub fn decide_batch(&self, viewers: &[Viewer], out: &mut Vec<Decision>) {
        let base = out.len();
        out.resize(base + viewers.len(), Decision::DEFAULT);
        let out = &mut out[base..];
        // Queues of (address, viewer index) per family. Both get every
        // viewer written and only its family's count advances: no branch
        // on the family.
        let mut q4 = Queue::<u32>::default();
        let mut q6 = Queue::<u128>::default();
        for (i, v) in viewers.iter().enumerate() {
            let (a4, a6, is_v4) = match v.ip() {
                IpAddr::V4(a) => (u32::from(a), 0, true),
                IpAddr::V6(a) => (0, u128::from(a), false),
            };
            q4.push(a4, i, is_v4);
            q6.push(a6, i, !is_v4);
            if q4.len == LANES {
                self.flush(&self.v4, &mut q4, viewers, out);
            }
            if q6.len == LANES {
                self.flush(&self.v6, &mut q6, viewers, out);
            }
        }
        self.flush(&self.v4, &mut q4, viewers, out);
        self.flush(&self.v6, &mut q6, viewers, out);
    }

    /// Decides the queued viewers (unused lanes search address 0).
    #[inline(always)]
    fn flush<T: AddrInt + Default>(
        &self,
        table: &IntervalTable<T>,
        q: &mut Queue<T>,
        viewers: &[Viewer],
        out: &mut [Decision],
    ) {
        let rules = table.get_lanes(q.addrs);
        for (&i, &table_rule) in q.index.iter().zip(&rules).take(q.len) {
            out[i] = self.decision(self.with_country(table_rule.min(self.first_any), &viewers[i]));
        }
        *q = Queue::default();
    }

    /// Whether the decision for `ip` depends on its country: a country rule
    /// comes before the first address or `any` rule that matches it.
    #[inline]
    pub fn needs_country(&self, ip: IpAddr) -> bool {
        self.first_country_rule < self.ip_rule(ip)
    }

    /// The decision for `ip`, calling `resolve` for its country only when
    /// the country can change the decision ([`Matcher::needs_country`]).
    ///
    /// # Errors
    ///
    /// Whatever `resolve` returns (a failed GeoIP lookup is an error, never
    /// an unknown country: SPEC §5).
    #[inline]
    pub fn decide_resolving<E>(
        &self,
        ip: IpAddr,
        resolve: impl FnOnce(IpAddr) -> Result<Option<CountryCode>, E>,
    ) -> Result<Decision, E> {
        let mut rule = self.ip_rule(ip);
        if self.first_country_rule < rule {
            if let Some(c) = resolve(crate::rule::canonical_ip(ip))? {
                rule = rule.min(self.countries[c.index()]);
            }
        }
        Ok(self.decision(rule))
    }

    /// The IPv4 table as `(first, last, rule)` ranges (for tests and tools).
    pub fn ipv4_ranges(&self) -> Vec<(u32, u32, usize)> {
        self.v4.ranges().collect()
    }

    /// The IPv6 table as `(first, last, rule)` ranges.
    pub fn ipv6_ranges(&self) -> Vec<(u128, u128, usize)> {
        self.v6.ranges().collect()
    }

    /// Whether both interval tables are in canonical form (sorted,
    /// disjoint, merged); always true, exposed for property tests.
    pub fn tables_are_canonical(&self) -> bool {
        self.v4.is_canonical() && self.v6.is_canonical()
    }
}

/// Viewers of one family waiting for [`Matcher::decide_batch`]. Slot
/// `len` is always written; only a push that counts moves past it.
#[derive(Clone, Copy)]
struct Queue<T> {
    addrs: [T; LANES],
    index: [usize; LANES],
    len: usize,
}

impl<T: Default + Copy> Default for Queue<T> {
    fn default() -> Self {
        Queue { addrs: [T::default(); LANES], index: [0; LANES], len: 0 }
    }
}

impl<T: Copy> Queue<T> {
    #[inline(always)]
    fn push(&mut self, addr: T, index: usize, counts: bool) {
        // len < LANES here: a full queue is flushed before the next push.
        self.addrs[self.len] = addr;
        self.index[self.len] = index;
        self.len += usize::from(counts);
    }
}

/// A rule set with more rules than a [`Matcher`] compiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0} rules; a matcher compiles at most {MAX_COMPILED_RULES}")]
pub struct TooManyRules(pub usize);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference;
    use crate::rule::Rule;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

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

    #[test]
    fn batch_decides_as_one_by_one() {
        let rules = RuleSet::new(vec![
            Rule::ip_src(vec![net("192.0.2.0/25"), net("2001:db8::/33")], Action::Block),
            Rule::country(vec![CountryCode::new("DE").unwrap()], Action::Allow),
            Rule::ip_src(vec![net("192.0.2.0/24"), net("2001:db8::5/128")], Action::Allow),
        ]);
        let m = Matcher::new(&rules);
        let ips = ["192.0.2.1", "2001:db8::5", "192.0.2.200", "::1", "2001:db8:8000::", "8.8.8.8"];
        // Lengths around multiples of LANES, families mixed in every order.
        for n in [0, 1, 7, 8, 9, 17, 40] {
            let viewers: Vec<Viewer> = (0..n)
                .map(|i| {
                    let v = Viewer::new(ips[(i * 7 + i / 3) % ips.len()].parse().unwrap());
                    v.with_country(if i % 4 == 0 { CountryCode::new("DE") } else { None })
                })
                .collect();
            let mut out = vec![Decision::DEFAULT; 3];
            m.decide_batch(&viewers, &mut out);
            let expected: Vec<Decision> = viewers.iter().map(|v| m.decide(v)).collect();
            assert_eq!(out[3..], expected[..], "n={n}");
            let reference: Vec<Decision> =
                viewers.iter().map(|v| reference::evaluate(&rules, v)).collect();
            assert_eq!(expected, reference);
        }
    }

    #[test]
    fn agrees_with_reference_on_boundaries() {
        let rules = RuleSet::new(vec![
            Rule::ip_src(vec![net("192.0.2.0/25"), net("2001:db8::/33")], Action::Block),
            Rule::country(vec![CountryCode::new("DE").unwrap()], Action::Allow),
            Rule::ip_src(vec![net("192.0.2.0/24"), net("0.0.0.0/0")], Action::Allow),
            Rule::any(Action::Block),
        ]);
        let m = Matcher::new(&rules);
        for ip in [
            "192.0.2.0",
            "192.0.2.127",
            "192.0.2.128",
            "192.0.1.255",
            "::ffff:192.0.2.1",
            "2001:db8::",
            "2001:db8:8000::",
            "::1",
        ] {
            for c in [None, CountryCode::new("DE"), CountryCode::new("US")] {
                let v = Viewer::new(ip.parse().unwrap()).with_country(c);
                assert_eq!(m.decide(&v), reference::evaluate(&rules, &v), "{ip} {c:?}");
            }
        }
    }

    #[test]
    fn skips_country_lookup_when_ip_decides_first() {
        let rules = RuleSet::new(vec![
            Rule::ip_src(vec![net("10.0.0.0/8")], Action::Allow),
            Rule::country(vec![CountryCode::new("DE").unwrap()], Action::Block),
        ]);
        let m = Matcher::new(&rules);
        let mut calls = 0;
        let d = m
            .decide_resolving("10.1.2.3".parse().unwrap(), |_| {
                calls += 1;
                Ok::<_, ()>(None)
            })
            .unwrap();
        assert_eq!((d.rule, calls), (Some(0), 0));
        assert!(m.needs_country("8.8.8.8".parse().unwrap()));
        let d = m
            .decide_resolving("8.8.8.8".parse().unwrap(), |_| Ok::<_, ()>(CountryCode::new("DE")))
            .unwrap();
        assert_eq!(d, Decision { action: Action::Block, rule: Some(1) });
    }

    #[test]
    fn matcher_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Matcher>();
    }
}
