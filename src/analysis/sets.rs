//! Sets over the two axes of the viewer space: addresses of both
//! families ([`IpSet`], built on the interval core) and country codes
//! ([`CountrySet`]). *Unknown* country is never in a country set: it
//! matches no country rule.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::interval::IntervalSet;
use crate::rules::CountryCode;

// ---------------------------------------------------------------------------
// IpSet
// ---------------------------------------------------------------------------

/// The IPv4-mapped IPv6 block `::ffff:0:0/96` as a range of the IPv6 line:
/// no canonical viewer address lies in it (docs/semantics.md).
pub const IPV4_MAPPED: (u128, u128) = (0xffff_0000_0000, 0xffff_ffff_ffff);

/// A set of IP addresses of both families, as written: an IPv4 address and
/// its IPv4-mapped IPv6 form are different points (the mapped one lives in
/// `v6`). Operations are per family, linear in the number of ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct IpSet {
    /// The IPv4 addresses, as `u32`.
    pub v4: IntervalSet<u32>,
    /// The IPv6 addresses, as `u128`.
    pub v6: IntervalSet<u128>,
}

impl IpSet {
    /// No address.
    pub fn empty() -> IpSet {
        IpSet::default()
    }

    /// Every IPv4 and every IPv6 address (the IPv4-mapped block included).
    pub fn all() -> IpSet {
        IpSet { v4: IntervalSet::full(), v6: IntervalSet::full() }
    }

    /// Every address a viewer can have (docs/semantics.md): all of IPv4 and all of
    /// IPv6 except `::ffff:0:0/96` ([`IPV4_MAPPED`]), whose addresses are
    /// evaluated as IPv4.
    pub fn viewers() -> IpSet {
        IpSet {
            v4: IntervalSet::full(),
            v6: IntervalSet::from_range(IPV4_MAPPED.0, IPV4_MAPPED.1).complement(),
        }
    }

    /// The union of the networks' address ranges (`network()` to
    /// `broadcast()`: host bits set in an entry are ignored, so
    /// `198.51.100.77/24` is `198.51.100.0/24`). Each network counts in its
    /// own family only. O(n log n).
    pub fn from_networks(nets: &[IpNet]) -> IpSet {
        let v4 = nets.iter().filter_map(|n| match n {
            IpNet::V4(n) => Some((u32::from(n.network()), u32::from(n.broadcast()))),
            IpNet::V6(_) => None,
        });
        let v6 = nets.iter().filter_map(|n| match n {
            IpNet::V6(n) => Some((u128::from(n.network()), u128::from(n.broadcast()))),
            IpNet::V4(_) => None,
        });
        IpSet { v4: IntervalSet::from_ranges(v4), v6: IntervalSet::from_ranges(v6) }
    }

    /// Adds one network's range (host bits ignored). O(n).
    pub fn insert_network(&mut self, net: &IpNet) {
        match net {
            IpNet::V4(n) => self.v4.insert(u32::from(n.network()), u32::from(n.broadcast())),
            IpNet::V6(n) => self.v6.insert(u128::from(n.network()), u128::from(n.broadcast())),
        }
    }

    /// `self ∪ other`.
    pub fn union(&self, other: &IpSet) -> IpSet {
        IpSet { v4: self.v4.union(&other.v4), v6: self.v6.union(&other.v6) }
    }

    /// `self ∩ other`.
    pub fn intersection(&self, other: &IpSet) -> IpSet {
        IpSet { v4: self.v4.intersection(&other.v4), v6: self.v6.intersection(&other.v6) }
    }

    /// `self ∖ other`.
    pub fn difference(&self, other: &IpSet) -> IpSet {
        IpSet { v4: self.v4.difference(&other.v4), v6: self.v6.difference(&other.v6) }
    }

    /// The addresses of both families not in `self` (relative to
    /// [`IpSet::all`], so the IPv4-mapped block is included).
    pub fn complement(&self) -> IpSet {
        IpSet { v4: self.v4.complement(), v6: self.v6.complement() }
    }

    /// Whether `ip`, taken as written, is in the set: an IPv4-mapped IPv6
    /// address is looked up in `v6`. For a viewer use [`Viewer::ip`], which
    /// is already canonical.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.v4.contains(u32::from(a)),
            IpAddr::V6(a) => self.v6.contains(u128::from(a)),
        }
    }

    /// Whether every address of `self` is in `other`.
    pub fn is_subset(&self, other: &IpSet) -> bool {
        self.v4.is_subset(&other.v4) && self.v6.is_subset(&other.v6)
    }

    /// Whether `self` and `other` share an address.
    pub fn intersects(&self, other: &IpSet) -> bool {
        self.v4.intersects(&other.v4) || self.v6.intersects(&other.v6)
    }

    /// Whether the set has no address.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Whether the set is every address of both families ([`IpSet::all`]).
    pub fn is_full(&self) -> bool {
        self.v4.is_full() && self.v6.is_full()
    }

    /// The smallest address: IPv4 before IPv6; `None` when empty.
    pub fn min(&self) -> Option<IpAddr> {
        self.v4
            .min()
            .map(|a| IpAddr::V4(Ipv4Addr::from(a)))
            .or_else(|| self.v6.min().map(|a| IpAddr::V6(Ipv6Addr::from(a))))
    }

    /// The minimal CIDR list whose union is exactly the set: IPv4 networks
    /// first, each family ascending (see [`IntervalSet::to_prefixes`]).
    pub fn to_networks(&self) -> Vec<IpNet> {
        let mut out = self.v4.to_networks();
        out.extend(self.v6.to_networks());
        out
    }
}

/// The canonical merged form of an `ip.src` entry list, for `--fix` and the
/// "duplicate or nested entries" help (docs/diagnostics.md): the minimal CIDR list of
/// the union of the entries' ranges, host bits cleared, IPv4 first, each
/// family ascending. Entries keep their family as written (an IPv4-mapped
/// entry stays IPv6). The result matches exactly the same addresses.
///
/// `["10.0.0.0/9", "10.128.0.0/9", "10.1.2.3"]` → `["10.0.0.0/8"]`.
pub fn merge_entries(nets: &[IpNet]) -> Vec<IpNet> {
    // ipnet's aggregate is the minimal cover; the tests hold it equal to
    // `IpSet::from_networks(nets).to_networks()` on the same inputs.
    let mut merged = IpNet::aggregate(&nets.to_vec());
    merged.sort_by_key(|n| (n.addr().is_ipv6(), n.network(), n.prefix_len()));
    merged
}

/// A country list without duplicates, keeping the first occurrence of each
/// code in its original order (`["US","DE","US"]` → `["US","DE"]`), for
/// `--fix` (docs/diagnostics.md, duplicate entries).
pub fn dedup_countries(codes: &[CountryCode]) -> Vec<CountryCode> {
    let mut seen = CountrySet::empty();
    codes.iter().copied().filter(|&c| seen.insert(c)).collect()
}

// ---------------------------------------------------------------------------
// CountrySet
// ---------------------------------------------------------------------------

const COUNTRY_CODES: usize = crate::rules::COUNTRY_CODE_COUNT;
const COUNTRY_WORDS: usize = COUNTRY_CODES.div_ceil(64);
const LAST_WORD_MASK: u64 = (1u64 << (COUNTRY_CODES % 64)) - 1; // COUNTRY_CODES % 64 != 0

/// A set of the 936 codes `A0`..`ZZ` ([`CountryCode`]) (bit [`CountryCode::index`]).
///
/// *Unknown* country is not a member of any country set: an unknown country
/// matches no country rule (docs/semantics.md). The complement is taken within the 936
/// codes. Copyable, fixed size, every operation O(1) (11 words).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CountrySet {
    // INVARIANT: bits at positions >= 936 (the high bits of the last word)
    // are always zero, so `==` is set equality.
    bits: [u64; COUNTRY_WORDS],
}

impl fmt::Debug for CountrySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(|c| c.to_string())).finish()
    }
}

impl CountrySet {
    /// No code.
    pub fn empty() -> CountrySet {
        CountrySet::default()
    }

    /// All 936 codes.
    pub fn all() -> CountrySet {
        let mut bits = [u64::MAX; COUNTRY_WORDS];
        bits[COUNTRY_WORDS - 1] = LAST_WORD_MASK;
        CountrySet { bits }
    }

    /// The codes of a list (duplicates are harmless).
    pub fn from_codes(codes: &[CountryCode]) -> CountrySet {
        let mut s = CountrySet::empty();
        for &c in codes {
            s.insert(c);
        }
        s
    }

    /// Adds `code`; returns whether it was newly added.
    pub fn insert(&mut self, code: CountryCode) -> bool {
        let i = code.index();
        let (w, b) = (i / 64, 1u64 << (i % 64));
        let new = self.bits[w] & b == 0;
        self.bits[w] |= b;
        new
    }

    /// Whether `code` is in the set.
    pub fn contains(&self, code: CountryCode) -> bool {
        let i = code.index();
        self.bits[i / 64] >> (i % 64) & 1 == 1
    }

    fn zip(&self, other: &CountrySet, f: impl Fn(u64, u64) -> u64) -> CountrySet {
        let mut bits = [0; COUNTRY_WORDS];
        for (i, b) in bits.iter_mut().enumerate() {
            *b = f(self.bits[i], other.bits[i]);
        }
        CountrySet { bits }
    }

    /// `self ∪ other`.
    pub fn union(&self, other: &CountrySet) -> CountrySet {
        self.zip(other, |a, b| a | b)
    }

    /// `self ∩ other`.
    pub fn intersection(&self, other: &CountrySet) -> CountrySet {
        self.zip(other, |a, b| a & b)
    }

    /// `self ∖ other`.
    pub fn difference(&self, other: &CountrySet) -> CountrySet {
        self.zip(other, |a, b| a & !b)
    }

    /// The codes (of the 936) not in `self`.
    pub fn complement(&self) -> CountrySet {
        CountrySet::all().difference(self)
    }

    /// Whether every code of `self` is in `other`.
    pub fn is_subset(&self, other: &CountrySet) -> bool {
        self.bits.iter().zip(&other.bits).all(|(a, b)| a & !b == 0)
    }

    /// Whether `self` and `other` share a code.
    pub fn intersects(&self, other: &CountrySet) -> bool {
        self.bits.iter().zip(&other.bits).any(|(a, b)| a & b != 0)
    }

    /// Whether the set has no code.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|&w| w == 0)
    }

    /// Whether the set has all 936 codes.
    pub fn is_full(&self) -> bool {
        *self == CountrySet::all()
    }

    /// The number of codes.
    pub fn len(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The smallest code (`AA` first), `None` when empty.
    pub fn min(&self) -> Option<CountryCode> {
        self.bits
            .iter()
            .position(|&w| w != 0)
            .and_then(|i| CountryCode::from_index(i * 64 + self.bits[i].trailing_zeros() as usize))
    }

    /// The codes in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = CountryCode> + '_ {
        self.bits.iter().enumerate().flat_map(|(i, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let b = w.trailing_zeros() as usize;
                w &= w - 1;
                CountryCode::from_index(i * 64 + b)
            })
        })
    }
}
