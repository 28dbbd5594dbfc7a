//! The interval core: points of an address line ([`AddressInt`]: `u32` for
//! IPv4, `u128` for IPv6) and sets of them as canonical sorted, disjoint,
//! non-adjacent inclusive ranges ([`IntervalSet`]).
//!
//! Who uses it:
//!
//! * the rule analysis reasons with [`IntervalSet`] (one per family);
//! * the compiled matcher's tables are keyed by the same [`AddressInt`]
//!   points, extended with a search key (`matcher::table::Keyed`);
//! * the minimal CIDR cover is ipnet's `IpNet::aggregate`, held equal to
//!   [`IntervalSet::to_prefixes`] by the property tests; viewer addresses
//!   are canonicalised by std's `IpAddr::to_canonical`.
//!
//! The GeoIP range table (`geo::format`, `geo::table`) does not use this
//! module: its builder is also compiled into `build.rs`, which has only
//! `std` and `maxminddb`, and its lookup reads blocks that interleave
//! range starts with their country codes (one cache miss brings both),
//! a layout the matcher's few-hundred-range tables do not need. The two
//! directory searches differ for the same reason; both are checked against
//! a plain binary search in their unit tests.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

// ---------------------------------------------------------------------------
// Address integers
// ---------------------------------------------------------------------------

mod sealed {
    pub trait Sealed {}
}

/// An unsigned integer type used as the points of an address line:
/// `u32` for IPv4, `u128` for IPv6, and `u8`/`u16`/`u64` (handy for testing
/// [`IntervalSet`] against a naive model over a small universe).
///
/// Sealed: implemented for the unsigned primitive integers only.
pub trait AddressInt:
    sealed::Sealed + Copy + Ord + fmt::Debug + std::hash::Hash + Send + Sync + 'static
{
    /// The smallest point (`0`).
    const MIN: Self;
    /// The largest point (`Self::MAX`).
    const MAX: Self;
    /// Width in bits (32 for IPv4, 128 for IPv6): the longest prefix length.
    const BITS: u32;
    /// `self + 1`, `None` at [`AddressInt::MAX`].
    fn checked_succ(self) -> Option<Self>;
    /// `self - 1`, `None` at [`AddressInt::MIN`].
    fn checked_pred(self) -> Option<Self>;
    /// The value widened to `u128`.
    fn to_u128(self) -> u128;
    /// The low [`AddressInt::BITS`] bits of `value`.
    fn from_u128_truncating(value: u128) -> Self;
}

macro_rules! address_int {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl AddressInt for $t {
            const MIN: Self = <$t>::MIN;
            const MAX: Self = <$t>::MAX;
            const BITS: u32 = <$t>::BITS;
            fn checked_succ(self) -> Option<Self> {
                self.checked_add(1)
            }
            fn checked_pred(self) -> Option<Self> {
                self.checked_sub(1)
            }
            fn to_u128(self) -> u128 {
                self as u128
            }
            fn from_u128_truncating(value: u128) -> Self {
                value as $t
            }
        }
    )*};
}

address_int!(u8, u16, u32, u64, u128);

// ---------------------------------------------------------------------------
// IntervalSet
// ---------------------------------------------------------------------------

/// A set of points of an address line, as inclusive ranges `[lo, hi]`.
///
/// The representation is canonical, so two sets are equal exactly when their
/// [`IntervalSet::ranges`] are equal (`==` is set equality). All operations
/// are linear merges over the ranges (`contains` is a binary search).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IntervalSet<T> {
    // INVARIANT (canonical form), upheld by every constructor and operation
    // and never exposed mutably:
    //   * every range `(lo, hi)` has `lo <= hi`;
    //   * ranges are sorted: for consecutive `(a_lo, a_hi)`, `(b_lo, b_hi)`
    //     we have `a_hi + 1 < b_lo` — disjoint *and* not adjacent (adjacent
    //     or overlapping ranges are always merged into one).
    // Hence the empty set is `[]` and the full line is `[(MIN, MAX)]`.
    ranges: Vec<(T, T)>,
}

impl<T: AddressInt> Default for IntervalSet<T> {
    fn default() -> Self {
        IntervalSet::empty()
    }
}

impl<T: AddressInt> fmt::Debug for IntervalSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.ranges.iter().map(|(lo, hi)| lo..=hi)).finish()
    }
}

impl<T: AddressInt> IntervalSet<T> {
    /// The empty set.
    pub fn empty() -> Self {
        IntervalSet { ranges: Vec::new() }
    }

    /// The whole line `[T::MIN, T::MAX]`.
    pub fn full() -> Self {
        IntervalSet { ranges: vec![(T::MIN, T::MAX)] }
    }

    /// The single range `[lo, hi]`; empty when `lo > hi`.
    pub fn from_range(lo: T, hi: T) -> Self {
        if lo <= hi {
            IntervalSet { ranges: vec![(lo, hi)] }
        } else {
            IntervalSet::empty()
        }
    }

    /// The union of inclusive ranges given in any order, overlapping or not.
    /// A pair with `lo > hi` is an empty range and contributes nothing.
    /// O(n log n) for the sort.
    pub fn from_ranges<I: IntoIterator<Item = (T, T)>>(ranges: I) -> Self {
        let mut v: Vec<(T, T)> = ranges.into_iter().filter(|(lo, hi)| lo <= hi).collect();
        v.sort_unstable();
        let mut out = IntervalSet { ranges: Vec::with_capacity(v.len()) };
        for (lo, hi) in v {
            out.push_sorted(lo, hi);
        }
        out
    }

    /// Appends `[lo, hi]` (`lo <= hi`) where `lo` is not below the start of
    /// the last range, merging with it when they overlap or touch. Keeps the
    /// invariant given that precondition.
    pub(crate) fn push_sorted(&mut self, lo: T, hi: T) {
        debug_assert!(lo <= hi);
        if let Some(last) = self.ranges.last_mut() {
            debug_assert!(lo >= last.0);
            // Overlapping or adjacent: lo <= last.hi + 1 (always when last.hi == MAX).
            if last.1.checked_succ().is_none_or(|next| lo <= next) {
                if hi > last.1 {
                    last.1 = hi;
                }
                return;
            }
        }
        self.ranges.push((lo, hi));
    }

    /// Adds the range `[lo, hi]` in place (nothing when `lo > hi`). O(n).
    pub fn insert(&mut self, lo: T, hi: T) {
        if lo > hi {
            return;
        }
        // First range that overlaps or touches [lo, hi] from the left:
        // ranges before it end strictly before lo - 1.
        let start = self.ranges.partition_point(|&(_, h)| h.checked_succ().is_some_and(|n| n < lo));
        // One past the last range starting at or before hi + 1.
        let end = self.ranges.partition_point(|&(l, _)| hi.checked_succ().is_none_or(|n| l <= n));
        if start < end {
            let new_lo = lo.min(self.ranges[start].0);
            let new_hi = hi.max(self.ranges[end - 1].1);
            self.ranges.splice(start..end, std::iter::once((new_lo, new_hi)));
        } else {
            self.ranges.insert(start, (lo, hi));
        }
    }

    /// `self ∪ other`. O(n + m).
    pub fn union(&self, other: &Self) -> Self {
        let mut out =
            IntervalSet { ranges: Vec::with_capacity(self.ranges.len() + other.ranges.len()) };
        let (mut a, mut b) = (self.ranges.iter().peekable(), other.ranges.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => {
                    if x.0 <= y.0 {
                        a.next()
                    } else {
                        b.next()
                    }
                }
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => break,
            };
            if let Some(&(lo, hi)) = next {
                out.push_sorted(lo, hi);
            }
        }
        out
    }

    /// `self ∩ other`. O(n + m).
    pub fn intersection(&self, other: &Self) -> Self {
        let mut out = IntervalSet::empty();
        let (a, b) = (&self.ranges, &other.ranges);
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            let lo = a[i].0.max(b[j].0);
            let hi = a[i].1.min(b[j].1);
            if lo <= hi {
                out.push_sorted(lo, hi);
            }
            if a[i].1 < b[j].1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        out
    }

    /// The points of the line not in `self`. O(n).
    pub fn complement(&self) -> Self {
        let mut out = IntervalSet { ranges: Vec::with_capacity(self.ranges.len() + 1) };
        let mut start = Some(T::MIN); // first point not yet accounted for
        for &(lo, hi) in &self.ranges {
            if let (Some(s), Some(before)) = (start, lo.checked_pred()) {
                if s <= before {
                    out.ranges.push((s, before));
                }
            }
            start = hi.checked_succ();
        }
        if let Some(s) = start {
            out.ranges.push((s, T::MAX));
        }
        out
    }

    /// `self ∖ other`. O(n + m).
    pub fn difference(&self, other: &Self) -> Self {
        let mut out = IntervalSet::empty();
        let b = &other.ranges;
        let mut j = 0;
        for &(lo, hi) in &self.ranges {
            let mut cur = Some(lo); // start of the part of [lo, hi] still to emit
                                    // Skip ranges of `other` that end before this range starts.
            while j < b.len() && b[j].1 < lo {
                j += 1;
            }
            let mut k = j;
            while let Some(c) = cur {
                if k >= b.len() || b[k].0 > hi {
                    out.push_sorted(c, hi);
                    break;
                }
                if b[k].0 > c {
                    // b[k].0 > c >= MIN, so it has a predecessor.
                    if let Some(p) = b[k].0.checked_pred() {
                        out.push_sorted(c, p);
                    }
                }
                cur = if b[k].1 >= hi { None } else { b[k].1.checked_succ() };
                k += 1;
            }
            // `other`'s last range touched here may extend into the next range.
            j = k.saturating_sub(1).max(j);
        }
        out
    }

    /// Whether `x` is in the set. O(log n).
    pub fn contains(&self, x: T) -> bool {
        let i = self.ranges.partition_point(|&(lo, _)| lo <= x);
        i > 0 && self.ranges[i - 1].1 >= x
    }

    /// Whether every point of `self` is in `other`. O(n + m), no allocation.
    pub fn is_subset(&self, other: &Self) -> bool {
        let b = &other.ranges;
        let mut j = 0;
        for &(lo, hi) in &self.ranges {
            while j < b.len() && b[j].1 < lo {
                j += 1;
            }
            // Canonical form: a range of `self` inside `other` lies inside one
            // range of `other`.
            if j == b.len() || b[j].0 > lo || b[j].1 < hi {
                return false;
            }
        }
        true
    }

    /// Whether `self` and `other` share a point. O(n + m), no allocation.
    pub fn intersects(&self, other: &Self) -> bool {
        let (a, b) = (&self.ranges, &other.ranges);
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            if a[i].0.max(b[j].0) <= a[i].1.min(b[j].1) {
                return true;
            }
            if a[i].1 < b[j].1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        false
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether the set is the whole line.
    pub fn is_full(&self) -> bool {
        self.ranges == [(T::MIN, T::MAX)]
    }

    /// The number of points, widened to `u128`; saturates at `u128::MAX`
    /// (only the full `u128` line, 2^128 points, does not fit).
    pub fn count(&self) -> u128 {
        self.ranges.iter().fold(0u128, |n, &(lo, hi)| {
            let len = (hi.to_u128() - lo.to_u128()).saturating_add(1);
            n.saturating_add(len)
        })
    }

    /// The canonical ranges: sorted, each `lo <= hi`, disjoint and not
    /// adjacent (`hi + 1 < next lo`).
    pub fn ranges(&self) -> &[(T, T)] {
        &self.ranges
    }

    /// The smallest point, `None` when empty.
    pub fn min(&self) -> Option<T> {
        self.ranges.first().map(|r| r.0)
    }

    /// The largest point, `None` when empty.
    pub fn max(&self) -> Option<T> {
        self.ranges.last().map(|r| r.1)
    }

    /// The minimal list of aligned prefix blocks whose union is exactly the
    /// set, as `(first point, prefix length)` pairs in ascending order
    /// (prefix length in `0..=T::BITS`; `(0, 0)` is the whole line).
    ///
    /// Each block is maximal (its parent block is not inside the set), which
    /// makes the decomposition the unique one with fewest blocks.
    pub fn to_prefixes(&self) -> Vec<(T, u32)> {
        fn low_mask(k: u32) -> u128 {
            if k >= 128 {
                u128::MAX
            } else {
                (1u128 << k) - 1
            }
        }
        let mut out = Vec::new();
        for &(lo, hi) in &self.ranges {
            let (mut lo, hi) = (lo.to_u128(), hi.to_u128());
            loop {
                // Largest block aligned at `lo` that stays within `hi`
                // (k = 0, a single point, always fits).
                let mut k = lo.trailing_zeros().min(T::BITS);
                while lo | low_mask(k) > hi {
                    k -= 1;
                }
                let end = lo | low_mask(k);
                out.push((T::from_u128_truncating(lo), T::BITS - k));
                if end >= hi {
                    break;
                }
                lo = end + 1;
            }
        }
        out
    }
}

impl IntervalSet<u32> {
    /// The minimal CIDR cover of the set as IPv4 networks (see
    /// [`IntervalSet::to_prefixes`]), ascending.
    pub fn to_networks(&self) -> Vec<IpNet> {
        self.to_prefixes()
            .into_iter()
            .filter_map(|(a, len)| Ipv4Net::new(Ipv4Addr::from(a), len as u8).ok())
            .map(IpNet::V4)
            .collect()
    }
}

impl IntervalSet<u128> {
    /// The minimal CIDR cover of the set as IPv6 networks (see
    /// [`IntervalSet::to_prefixes`]), ascending.
    pub fn to_networks(&self) -> Vec<IpNet> {
        self.to_prefixes()
            .into_iter()
            .filter_map(|(a, len)| Ipv6Net::new(Ipv6Addr::from(a), len as u8).ok())
            .map(IpNet::V6)
            .collect()
    }
}
