//! Exact set reasoning over the viewer space (docs/semantics.md; the warnings of docs/diagnostics.md).
//!
//! The *viewer space* is every pair (address, country) a viewer can present
//! (docs/semantics.md): the address is any IPv4 address or any IPv6 address **except**
//! the IPv4-mapped block `::ffff:0:0/96` (a viewer written that way *is* the
//! IPv4 address, see [`crate::canonical_ip`]), and the country is one of the
//! 936 codes `A0`..`ZZ` ([`CountryCode`]) or *unknown*.
//!
//! Building blocks:
//!
//! * [`IntervalSet`]: a set of integers as canonical inclusive ranges, for
//!   `u32` (IPv4) and `u128` (IPv6) address lines (and small integer types
//!   for tests). Every operation is a linear merge over the ranges; nothing
//!   ever iterates over individual addresses, so the full IPv6 line is as
//!   cheap as a single host.
//! * [`IpSet`]: one [`IntervalSet`] per address family.
//! * [`CountrySet`]: a 936-bit set of country codes. *Unknown* is never in a
//!   country set: it matches no country rule (docs/semantics.md).
//! * [`RuleSpace`]: the partition of the viewer space into *atoms* for a list
//!   of rules. Each address family's line is cut at every network boundary of
//!   every `ip.src` rule and the pieces are grouped by which rules match them
//!   (an [`IpClass`]); the country axis is grouped the same way by which
//!   country rules list each code (a [`CountryClass`], the unlisted codes and
//!   *unknown* forming one class). An [`Atom`] is an (IP class, country
//!   class) pair: every viewer in an atom is matched by exactly the same
//!   rules, so it gets the same decision under *any* subset or reordering of
//!   the rules. The analyses (docs/diagnostics.md warnings and the `--fix` proof) are
//!   then plain loops over the atoms, each of which carries a concrete
//!   witness [`Viewer`].
//!
//! Rule sets are described to the analyses by *rule masks*: `u128` values in
//! which bit `i` stands for rule `i`. A [`RuleSpace`] therefore handles at
//! most [`MAX_SPACE_RULES`] (128) rules; comparing two rule sets
//! ([`equivalent`], [`differences`]) builds one space over both lists, so
//! their lengths must add up to at most 128. Documents have at most
//! [`crate::MAX_RULES`] (5).
//!
//! Cost: building a [`RuleSpace`] for a 5-rule document of 50 entries takes
//! a few microseconds, and each analysis is a pass over a few dozen atoms.
//! The free functions ([`never_decides`], [`redundant`], ...) build a
//! fresh space on every call. A caller that asks several questions about one
//! rule set (the validator) should build one [`RuleSpace`] and query it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use super::sets::{dedup_countries, merge_entries, CountrySet, IpSet, IPV4_MAPPED};
pub use crate::interval::{AddressInt, IntervalSet};

use crate::rules::{
    Action, CountryCode, Decision, Rule, RuleId, RuleKind, RuleSet, Viewer, DEFAULT_ACTION,
};

// ---------------------------------------------------------------------------
// RuleSpace
// ---------------------------------------------------------------------------

/// Most rules a [`RuleSpace`] handles: rule masks are `u128`.
pub const MAX_SPACE_RULES: usize = 128;

/// Bits `0..n` set.
fn low_bits(n: usize) -> u128 {
    if n >= 128 {
        u128::MAX
    } else {
        (1u128 << n) - 1
    }
}

/// The indices of the set bits, ascending.
fn bit_indices(mut mask: u128) -> Vec<usize> {
    let mut out = Vec::with_capacity(mask.count_ones() as usize);
    while mask != 0 {
        out.push(mask.trailing_zeros() as usize);
        mask &= mask - 1;
    }
    out
}

/// The decision for a viewer matched by exactly the rules in `matching`,
/// where `block` marks the block rules: the lowest matching rule decides,
/// none is the default allow (docs/semantics.md).
fn decide_bits(matching: u128, block: u128) -> Decision {
    if matching == 0 {
        return Decision::DEFAULT;
    }
    let i = matching.trailing_zeros() as usize;
    let action = if block >> i & 1 == 1 { Action::Block } else { Action::Allow };
    Decision::new(action, Some(RuleId::new(i)))
}

/// A class of the address axis: the addresses of one family matched by
/// exactly the same `ip.src` rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpClass {
    mask: u128,
    addresses: IpSet,
    witness: IpAddr,
}

impl IpClass {
    /// The `ip.src` rules matching these addresses (bit `i` = rule `i`).
    pub fn matching(&self) -> u128 {
        self.mask
    }

    /// The addresses: non-empty, one family only, never in the IPv4-mapped
    /// block ([`IPV4_MAPPED`]).
    pub fn addresses(&self) -> &IpSet {
        &self.addresses
    }

    /// A concrete canonical viewer address of the class (its smallest).
    pub fn witness(&self) -> IpAddr {
        self.witness
    }
}

/// A class of the country axis: the countries listed by exactly the same
/// country rules. The class listed by none (mask 0) also holds *unknown*.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountryClass {
    mask: u128,
    codes: CountrySet,
    unknown: bool,
    witness: Option<CountryCode>,
}

impl CountryClass {
    /// The country rules listing these countries (bit `i` = rule `i`).
    pub fn matching(&self) -> u128 {
        self.mask
    }

    /// The known country codes of the class (may be empty for the unlisted
    /// class, when every code is listed by some rule).
    pub fn codes(&self) -> &CountrySet {
        &self.codes
    }

    /// Whether an unknown country belongs to the class (only the class no
    /// country rule lists).
    pub fn includes_unknown(&self) -> bool {
        self.unknown
    }

    /// A concrete country of the class: `None` (unknown) for the unlisted
    /// class, the smallest code otherwise.
    pub fn witness(&self) -> Option<CountryCode> {
        self.witness
    }
}

/// One atom of a [`RuleSpace`]: the viewers whose address is in an
/// [`IpClass`] and whose country is in a [`CountryClass`]. Non-empty; all of
/// its viewers are matched by exactly the rules of [`Atom::matching`].
#[derive(Clone, Copy, Debug)]
pub struct Atom<'a> {
    ip: &'a IpClass,
    country: &'a CountryClass,
    mask: u128,
}

impl<'a> Atom<'a> {
    /// The rules (all kinds) matching every viewer of the atom.
    pub fn matching(&self) -> u128 {
        self.mask
    }

    /// The address class.
    pub fn ip_class(&self) -> &'a IpClass {
        self.ip
    }

    /// The country class.
    pub fn country_class(&self) -> &'a CountryClass {
        self.country
    }

    /// A concrete viewer of the atom: the classes' witnesses combined.
    pub fn witness(&self) -> Viewer {
        Viewer::new(self.ip.witness, self.country.witness)
    }
}

/// Who decides instead of a redundant rule (see [`RuleSpace::redundant`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Takeover {
    /// The later rules that decide, with the same action, for viewers the
    /// rule decided for; ascending.
    pub rules: Vec<usize>,
    /// Whether some of those viewers fall through to the default allow
    /// instead (docs/semantics.md: no rule matches → allowed).
    pub default: bool,
}

/// The partition of the viewer space induced by a list of rules, and the
/// exact analyses built on it (docs/diagnostics.md warnings, `--fix`).
///
/// Shape: the IPv4 line and the IPv6 viewer line (all of IPv6 but
/// [`IPV4_MAPPED`]) are each cut at every boundary of every `ip.src` network
/// (host bits ignored) and the pieces grouped by which `ip.src` rules match
/// them ([`IpClass`]; at least one class per family). The 936 codes are
/// grouped by which country rules list them ([`CountryClass`]); the class
/// listed by no rule also holds *unknown*, and always exists. The atoms are
/// all (IP class, country class) pairs. Sizes: with `k` `ip.src` and `c`
/// country rules there are at most `2 · min(2^k, pieces)` IP classes and
/// `min(2^c, 936) + 1` country classes.
///
/// Building is O(N log N) in the number of networks plus O(C) in the number
/// of listed codes; analyses are linear in the number of atoms.
#[derive(Clone, Debug)]
pub struct RuleSpace {
    len: usize,
    any: u128,
    block: u128,
    ip_classes: Vec<IpClass>,
    country_classes: Vec<CountryClass>,
}

/// Cuts the line at every boundary of the (bit, set) pairs, drops the
/// `excluded` range, and groups the pieces by mask: `(mask, set)` pairs
/// sorted by mask, each set non-empty.
fn partition_line<T: AddressInt>(
    sets: &[(u128, &IntervalSet<T>)],
    excluded: Option<(T, T)>,
) -> Vec<(u128, IntervalSet<T>)> {
    // A rule's set is canonical, so at any point the events of one rule
    // toggle its bit once at most: XOR gives the membership mask.
    let mut events: Vec<(T, u128)> = Vec::new();
    for &(bit, set) in sets {
        for &(lo, hi) in set.ranges() {
            events.push((lo, bit));
            if let Some(next) = hi.checked_succ() {
                events.push((next, bit));
            }
        }
    }
    events.sort_unstable_by_key(|e| e.0);

    let mut pieces: Vec<(u128, T, T)> = Vec::with_capacity(events.len() + 2);
    let mut emit = |mask: u128, lo: T, hi: T| match excluded {
        Some((xl, xh)) if lo <= xh && hi >= xl => {
            if lo < xl {
                if let Some(p) = xl.checked_pred() {
                    pieces.push((mask, lo, p));
                }
            }
            if hi > xh {
                if let Some(n) = xh.checked_succ() {
                    pieces.push((mask, n, hi));
                }
            }
        }
        _ => pieces.push((mask, lo, hi)),
    };
    let (mut mask, mut start, mut k) = (0u128, T::MIN, 0);
    loop {
        while k < events.len() && events[k].0 == start {
            mask ^= events[k].1;
            k += 1;
        }
        // Here events[k].0 > start >= MIN, so it has a predecessor.
        match events.get(k).and_then(|e| e.0.checked_pred()) {
            Some(end) => {
                emit(mask, start, end);
                start = events[k].0;
            }
            None => {
                emit(mask, start, T::MAX);
                break;
            }
        }
    }

    // Stable: pieces of one mask stay in address order.
    pieces.sort_by_key(|p| p.0);
    let mut out: Vec<(u128, IntervalSet<T>)> = Vec::new();
    for (m, lo, hi) in pieces {
        match out.last_mut() {
            Some((lm, set)) if *lm == m => set.push_sorted(lo, hi),
            _ => out.push((m, IntervalSet::from_range(lo, hi))),
        }
    }
    out
}

impl RuleSpace {
    /// The partition for `rules` (see [`RuleSpace`]).
    ///
    /// # Panics
    ///
    /// When `rules` has more than [`MAX_SPACE_RULES`] rules; use
    /// [`RuleSpace::try_new`] for untrusted lengths.
    pub fn new(rules: &RuleSet) -> RuleSpace {
        RuleSpace::try_new(rules).expect("RuleSpace: more than 128 rules")
    }

    /// The partition for `rules`; `None` when there are more than
    /// [`MAX_SPACE_RULES`] rules.
    pub fn try_new(rules: &RuleSet) -> Option<RuleSpace> {
        RuleSpace::from_rules(&rules.rules.iter().collect::<Vec<_>>())
    }

    /// The partition for a list of rules in evaluation order; `None` when
    /// there are more than [`MAX_SPACE_RULES`].
    pub fn from_rules(rules: &[&Rule]) -> Option<RuleSpace> {
        if rules.len() > MAX_SPACE_RULES {
            return None;
        }
        let (mut any, mut block) = (0u128, 0u128);
        let mut ip_sets: Vec<(u128, IpSet)> = Vec::new();
        let mut listed: Vec<(usize, u128)> = Vec::new(); // (code index, rule bit)
        for (i, rule) in rules.iter().enumerate() {
            let bit = 1u128 << i;
            if rule.action == Action::Block {
                block |= bit;
            }
            match &rule.kind {
                RuleKind::Any => any |= bit,
                RuleKind::IpSrc(nets) => ip_sets.push((bit, IpSet::from_networks(nets))),
                RuleKind::Country(codes) => listed.extend(codes.iter().map(|c| (c.index(), bit))),
            }
        }

        // Address axis, one family at a time.
        let v4_sets: Vec<_> = ip_sets.iter().map(|(b, s)| (*b, &s.v4)).collect();
        let v6_sets: Vec<_> = ip_sets.iter().map(|(b, s)| (*b, &s.v6)).collect();
        let mut ip_classes = Vec::new();
        for (mask, v4) in partition_line(&v4_sets, None) {
            let witness = IpAddr::V4(Ipv4Addr::from(v4.min().unwrap_or(0)));
            ip_classes.push(IpClass {
                mask,
                addresses: IpSet { v4, v6: IntervalSet::empty() },
                witness,
            });
        }
        for (mask, v6) in partition_line(&v6_sets, Some(IPV4_MAPPED)) {
            let witness = IpAddr::V6(Ipv6Addr::from(v6.min().unwrap_or(0)));
            ip_classes.push(IpClass {
                mask,
                addresses: IpSet { v4: IntervalSet::empty(), v6 },
                witness,
            });
        }

        // Country axis: the mask of each listed code, grouped by mask.
        listed.sort_unstable();
        let mut per_code: Vec<(usize, u128)> = Vec::with_capacity(listed.len());
        for (code, bit) in listed {
            match per_code.last_mut() {
                Some((c, m)) if *c == code => *m |= bit,
                _ => per_code.push((code, bit)),
            }
        }
        let mut all_listed = CountrySet::empty();
        for &(code, _) in &per_code {
            if let Some(c) = CountryCode::from_index(code) {
                all_listed.insert(c);
            }
        }
        let unlisted = all_listed.complement();
        let mut country_classes =
            vec![CountryClass { mask: 0, codes: unlisted, unknown: true, witness: None }];
        per_code.sort_by_key(|p| p.1); // stable: codes ascending within a mask
        for (code, mask) in per_code {
            let Some(c) = CountryCode::from_index(code) else { continue };
            match country_classes.last_mut() {
                Some(class) if class.mask == mask => {
                    class.codes.insert(c);
                }
                _ => country_classes.push(CountryClass {
                    mask,
                    codes: CountrySet::from_codes(&[c]),
                    unknown: false,
                    witness: Some(c),
                }),
            }
        }

        Some(RuleSpace { len: rules.len(), any, block, ip_classes, country_classes })
    }

    /// The number of rules the space was built from.
    pub fn rule_count(&self) -> usize {
        self.len
    }

    /// The `any` rules (bit `i` = rule `i`): they match every viewer.
    pub fn any_rules(&self) -> u128 {
        self.any
    }

    /// The classes of the address axis, IPv4 ones first.
    pub fn ip_classes(&self) -> &[IpClass] {
        &self.ip_classes
    }

    /// The classes of the country axis, the unlisted/unknown one first.
    pub fn country_classes(&self) -> &[CountryClass] {
        &self.country_classes
    }

    /// Every atom (the product of the classes). Atoms are disjoint and
    /// together cover the viewer space.
    pub fn atoms(&self) -> impl Iterator<Item = Atom<'_>> + '_ {
        self.ip_classes.iter().flat_map(move |ip| {
            self.country_classes.iter().map(move |country| Atom {
                ip,
                country,
                mask: ip.mask | country.mask | self.any,
            })
        })
    }

    /// The rules matching `viewer` (bit `i` = rule `i`), read off the
    /// partition. Equals the set of `i` with
    /// [`crate::reference::rule_matches`] true.
    pub fn matching(&self, viewer: &Viewer) -> u128 {
        let ip = viewer.ip();
        let ip_mask =
            self.ip_classes.iter().find(|c| c.addresses.contains(ip)).map_or(0, |c| c.mask);
        let country_mask = match viewer.country() {
            None => 0,
            Some(code) => {
                self.country_classes.iter().find(|c| c.codes.contains(code)).map_or(0, |c| c.mask)
            }
        };
        ip_mask | country_mask | self.any
    }

    /// The decision (docs/semantics.md) for a viewer matched by exactly the rules in
    /// `matching`: the lowest one decides, none is the default allow.
    pub fn decide(&self, matching: u128) -> Decision {
        decide_bits(matching, self.block)
    }

    /// Whether rule `i` matches some viewer; a witness when it does. `None`
    /// only for rules whose entries no viewer can have (IPv4-mapped IPv6
    /// networks, empty lists).
    ///
    /// # Panics
    ///
    /// When `i >= self.rule_count()`.
    pub fn matches_someone(&self, i: usize) -> Option<Viewer> {
        assert!(i < self.len, "rule {i} out of range");
        self.atoms().find(|a| a.mask >> i & 1 == 1).map(|a| a.witness())
    }

    /// docs/diagnostics.md "a rule that can never decide": everything rule `i` matches is
    /// matched by earlier rules, so no viewer's decision names rule `i`.
    ///
    /// `Some(responsible)` when it never decides: the earlier rules that
    /// decide instead — for each viewer rule `i` matches, the first earlier
    /// rule matching it — ascending. Their union covers rule `i`, and every
    /// one of them does decide for some viewer rule `i` matches (an earlier
    /// rule that is itself shadowed is not named: `[10/8, 10.1/16,
    /// 10.1.2/24]` → rule 2 is answered by `[0]`). `Some(vec![])` when rule
    /// `i` matches no viewer at all (only IPv4-mapped IPv6 entries or empty
    /// lists). `None` when rule `i` decides for some viewer (see
    /// [`RuleSpace::decides_for`]).
    ///
    /// # Panics
    ///
    /// When `i >= self.rule_count()`.
    pub fn never_decides(&self, i: usize) -> Option<Vec<usize>> {
        assert!(i < self.len, "rule {i} out of range");
        let bit = 1u128 << i;
        let earlier = bit - 1;
        let mut responsible = 0u128;
        for atom in self.atoms().filter(|a| a.mask & bit != 0) {
            let before = atom.mask & earlier;
            if before == 0 {
                return None;
            }
            responsible |= before & before.wrapping_neg(); // lowest: the decider
        }
        Some(bit_indices(responsible))
    }

    /// A viewer rule `i` decides for (it matches and no earlier rule does);
    /// `None` exactly when [`RuleSpace::never_decides`] is `Some`.
    ///
    /// # Panics
    ///
    /// When `i >= self.rule_count()`.
    pub fn decides_for(&self, i: usize) -> Option<Viewer> {
        assert!(i < self.len, "rule {i} out of range");
        let bit = 1u128 << i;
        self.atoms().find(|a| a.mask & (bit | (bit - 1)) == bit).map(|a| a.witness())
    }

    /// docs/diagnostics.md "a redundant rule": rule `i` decides for some viewers, but
    /// removing it changes no viewer's action (allow/block; the deciding
    /// rule's index naturally changes).
    ///
    /// `Some(takeover)` when redundant: for the viewers rule `i` decides for,
    /// the later rules that then decide with the same action
    /// ([`Takeover::rules`]) and whether some fall through to the default
    /// allow ([`Takeover::default`]). A trailing `any allow` gives
    /// `Takeover { rules: [], default: true }`: the default decides the same.
    /// `[country DE block, any block]` → rule 0 with `rules: [1]`.
    ///
    /// `None` when removing rule `i` changes some viewer's action, **and**
    /// when rule `i` never decides: such a rule is reported by
    /// [`RuleSpace::never_decides`] only (removing it trivially changes
    /// nothing; one warning per rule).
    ///
    /// # Panics
    ///
    /// When `i >= self.rule_count()`.
    pub fn redundant(&self, i: usize) -> Option<Takeover> {
        assert!(i < self.len, "rule {i} out of range");
        let bit = 1u128 << i;
        let own = self.block & bit != 0;
        let later_bits = !(bit | (bit - 1));
        let (mut decides, mut takeover, mut default) = (false, 0u128, false);
        for atom in self.atoms().filter(|a| a.mask & (bit | (bit - 1)) == bit) {
            decides = true;
            let later = atom.mask & later_bits;
            if later == 0 {
                if own != (DEFAULT_ACTION == Action::Block) {
                    return None;
                }
                default = true;
            } else {
                let next = later & later.wrapping_neg();
                if (self.block & next != 0) != own {
                    return None;
                }
                takeover |= next;
            }
        }
        decides.then(|| Takeover { rules: bit_indices(takeover), default })
    }

    /// A viewer the rules block, if any (none: the document "can never
    /// block", docs/diagnostics.md).
    pub fn blocks_someone(&self) -> Option<Viewer> {
        self.atoms().find(|a| self.decide(a.mask).action == Action::Block).map(|a| a.witness())
    }

    /// A viewer the rules allow, if any (none: the document "blocks every
    /// viewer", docs/diagnostics.md).
    pub fn allows_someone(&self) -> Option<Viewer> {
        self.atoms().find(|a| self.decide(a.mask).action == Action::Allow).map(|a| a.witness())
    }
}

// ---------------------------------------------------------------------------
// Free functions over rule sets
// ---------------------------------------------------------------------------

/// [`RuleSpace::never_decides`] for `rules` (docs/diagnostics.md, "a rule that can never
/// decide"): `Some(earlier rules deciding instead)`, `Some(vec![])` for a
/// rule matching no viewer, `None` when rule `i` decides for someone.
///
/// # Panics
///
/// When `i` is out of range or `rules` has more than [`MAX_SPACE_RULES`].
pub fn never_decides(rules: &RuleSet, i: usize) -> Option<Vec<usize>> {
    RuleSpace::new(rules).never_decides(i)
}

/// [`RuleSpace::redundant`] for `rules` (docs/diagnostics.md, "a redundant rule"):
/// `Some(later rules deciding the same instead)` — `Some(vec![])` when only
/// the default allow takes over (a trailing `any allow`); `None` when
/// removing rule `i` changes some action or rule `i` never decides.
///
/// # Panics
///
/// When `i` is out of range or `rules` has more than [`MAX_SPACE_RULES`].
pub fn redundant(rules: &RuleSet, i: usize) -> Option<Vec<usize>> {
    RuleSpace::new(rules).redundant(i).map(|t| t.rules)
}

/// [`RuleSpace::decides_for`] for `rules`: a viewer whose decision names
/// rule `i`, `None` when it never decides.
///
/// # Panics
///
/// When `i` is out of range or `rules` has more than [`MAX_SPACE_RULES`].
pub fn decides_for(rules: &RuleSet, i: usize) -> Option<Viewer> {
    RuleSpace::new(rules).decides_for(i)
}

/// A viewer `rules` block, `None` when they never block (docs/diagnostics.md).
///
/// # Panics
///
/// When `rules` has more than [`MAX_SPACE_RULES`].
pub fn blocks_someone(rules: &RuleSet) -> Option<Viewer> {
    RuleSpace::new(rules).blocks_someone()
}

/// A viewer `rules` allow, `None` when they block every viewer (docs/diagnostics.md).
///
/// # Panics
///
/// When `rules` has more than [`MAX_SPACE_RULES`].
pub fn allows_someone(rules: &RuleSet) -> Option<Viewer> {
    RuleSpace::new(rules).allows_someone()
}

/// A viewer two rule sets treat differently (see [`differences`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Difference {
    /// A concrete viewer of the differing atom.
    pub viewer: Viewer,
    /// The decision of the first rule set (rule index into it).
    pub a: Decision,
    /// The decision of the second rule set (rule index into it).
    pub b: Decision,
}

/// The joint space of `a`'s rules followed by `b`'s, and `a`'s length.
fn joint(a: &RuleSet, b: &RuleSet) -> (RuleSpace, usize) {
    let all: Vec<&Rule> = a.rules.iter().chain(&b.rules).collect();
    let space = RuleSpace::from_rules(&all).expect("equivalent: more than 128 rules in total");
    (space, a.rules.len())
}

/// The decisions of `a` (bits `0..n_a`) and of `b` (the bits above) for a
/// joint matching mask; rule indices relative to each set.
fn split_decisions(space: &RuleSpace, n_a: usize, mask: u128) -> (Decision, Decision) {
    space.split(n_a, mask)
}

impl RuleSpace {
    /// For a space built over two lists (the first `n_a` rules, then the
    /// others): the decision of each list for a viewer matched by the rules
    /// of `mask`, rule indices relative to each list.
    pub fn split(&self, n_a: usize, mask: u128) -> (Decision, Decision) {
        let a = decide_bits(mask & low_bits(n_a), self.block);
        let shift = |m: u128| m.checked_shr(n_a as u32).unwrap_or(0);
        let b = decide_bits(shift(mask), shift(self.block));
        (a, b)
    }
}

/// Every atom of the joint partition of `a` and `b` (cut at both sets'
/// boundaries) where the two give different *actions*, with a witness and
/// both decisions. Empty exactly when [`equivalent`] is `Ok`. The rule
/// indices may differ anywhere; only actions are compared.
///
/// # Panics
///
/// When `a` and `b` have more than [`MAX_SPACE_RULES`] rules together.
pub fn differences(a: &RuleSet, b: &RuleSet) -> Vec<Difference> {
    let (space, n_a) = joint(a, b);
    space
        .atoms()
        .filter_map(|atom| {
            let (da, db) = split_decisions(&space, n_a, atom.mask);
            (da.action != db.action).then(|| Difference { viewer: atom.witness(), a: da, b: db })
        })
        .collect()
}

/// Whether `a` and `b` give every viewer the same action (exact, over the
/// whole viewer space: the `--fix` proof, docs/diagnostics.md). `Err(viewer)`: a viewer
/// for whom [`crate::reference::evaluate`] gives different actions. Rule
/// indices are not compared (`--fix` removes rules).
///
/// # Panics
///
/// When `a` and `b` have more than [`MAX_SPACE_RULES`] rules together.
pub fn equivalent(a: &RuleSet, b: &RuleSet) -> Result<(), Viewer> {
    let (space, n_a) = joint(a, b);
    for atom in space.atoms() {
        let (da, db) = split_decisions(&space, n_a, atom.mask);
        if da.action != db.action {
            return Err(atom.witness());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::evaluate;
    use crate::rules::COUNTRY_CODE_COUNT;
    use ipnet::IpNet;

    /// A CIDR or a bare address (a /32 or /128), as rule entries are written.
    fn net(s: &str) -> IpNet {
        s.parse().unwrap_or_else(|_| IpNet::from(s.parse::<IpAddr>().unwrap()))
    }

    fn cc(s: &str) -> CountryCode {
        CountryCode::new(s).unwrap()
    }

    fn ip(nets: &[&str], action: Action) -> Rule {
        Rule::ip_src(nets.iter().map(|s| net(s)).collect(), action)
    }

    fn country(codes: &[&str], action: Action) -> Rule {
        Rule::country(codes.iter().map(|s| cc(s)).collect(), action)
    }

    use Action::{Allow, Block};

    fn set(rules: Vec<Rule>) -> RuleSet {
        RuleSet::new(rules)
    }

    fn canonical<T: AddressInt>(s: &IntervalSet<T>) -> bool {
        s.ranges().iter().all(|(l, h)| l <= h)
            && s.ranges().windows(2).all(|w| w[0].1.checked_succ().is_some_and(|n| n < w[1].0))
    }

    #[test]
    fn interval_basics() {
        let a = IntervalSet::<u32>::from_ranges([(10, 20), (21, 30), (40, 50), (5, 12), (60, 55)]);
        assert_eq!(a.ranges(), &[(5, 30), (40, 50)]);
        assert!(a.contains(5) && a.contains(30) && !a.contains(31) && a.contains(45));
        assert_eq!(a.complement().ranges(), &[(0, 4), (31, 39), (51, u32::MAX)]);
        assert_eq!(a.complement().complement(), a);
        let b = IntervalSet::from_ranges([(25, 45)]);
        assert_eq!(a.intersection(&b).ranges(), &[(25, 30), (40, 45)]);
        assert_eq!(a.difference(&b).ranges(), &[(5, 24), (46, 50)]);
        assert_eq!(a.union(&b).ranges(), &[(5, 50)]);
        assert!(IntervalSet::from_range(26, 29).is_subset(&a));
        assert!(!b.is_subset(&a));
        let mut c = a.clone();
        c.insert(31, 39);
        assert_eq!(c.ranges(), &[(5, 50)]);
        c.insert(0, u32::MAX);
        assert!(c.is_full() && canonical(&c));
        assert!(IntervalSet::<u128>::full().complement().is_empty());
        assert!(IntervalSet::<u128>::empty().complement().is_full());
    }

    #[test]
    fn interval_edges_at_max() {
        let mut s = IntervalSet::<u8>::from_range(250, 255);
        s.insert(249, 249);
        assert_eq!(s.ranges(), &[(249, 255)]);
        assert_eq!(s.complement().ranges(), &[(0, 248)]);
        let d =
            IntervalSet::<u8>::full().difference(&IntervalSet::from_ranges([(0, 0), (255, 255)]));
        assert_eq!(d.ranges(), &[(1, 254)]);
        let d = IntervalSet::<u8>::full().difference(&IntervalSet::from_range(3, 255));
        assert_eq!(d.ranges(), &[(0, 2)]);
    }

    #[test]
    fn prefixes_are_minimal() {
        let s = IntervalSet::<u32>::full();
        assert_eq!(s.to_prefixes(), vec![(0, 0)]);
        let s = IntervalSet::<u128>::full();
        assert_eq!(s.to_networks(), vec![net("::/0")]);
        let s = IntervalSet::<u8>::from_range(1, 254);
        assert_eq!(
            s.to_prefixes(),
            vec![
                (1, 8),
                (2, 7),
                (4, 6),
                (8, 5),
                (16, 4),
                (32, 3),
                (64, 2),
                (128, 2),
                (192, 3),
                (224, 4),
                (240, 5),
                (248, 6),
                (252, 7),
                (254, 8)
            ]
        );
    }

    #[test]
    fn merge_entries_examples() {
        let m = merge_entries(&[
            net("2001:db8::1/128"),
            net("10.128.0.0/9"),
            net("10.1.2.3/32"),
            net("10.0.0.0/9"),
            net("198.51.100.77/24"),
            net("2001:db8::/127"),
        ]);
        assert_eq!(m, vec![net("10.0.0.0/8"), net("198.51.100.0/24"), net("2001:db8::/127")]);
        assert_eq!(merge_entries(&[net("0.0.0.0/1"), net("128.0.0.0/1")]), vec![net("0.0.0.0/0")]);
        // Mapped entries stay IPv6.
        assert_eq!(merge_entries(&[net("::ffff:10.0.0.0/104")]), vec![net("::ffff:a00:0/104")]);
        assert_eq!(
            dedup_countries(&[cc("US"), cc("DE"), cc("US"), cc("DE"), cc("FR")]),
            vec![cc("US"), cc("DE"), cc("FR")]
        );
    }

    #[test]
    fn ip_set_families() {
        let s = IpSet::from_networks(&[net("0.0.0.0/0")]);
        assert!(s.contains("1.2.3.4".parse().unwrap()));
        assert!(!s.contains("::1".parse().unwrap()));
        assert!(!s.contains("::ffff:1.2.3.4".parse().unwrap()));
        let both = IpSet::from_networks(&[net("0.0.0.0/0"), net("::/0")]);
        assert!(both.is_full());
        assert!(IpSet::viewers().is_subset(&both));
        assert!(!IpSet::viewers().contains("::ffff:1.2.3.4".parse().unwrap()));
        assert_eq!(both.to_networks(), vec![net("0.0.0.0/0"), net("::/0")]);
    }

    #[test]
    fn country_set_ops() {
        let a = CountrySet::from_codes(&[cc("US"), cc("DE"), cc("ZZ"), cc("AA")]);
        assert_eq!(a.len(), 4);
        assert_eq!(a.min(), Some(cc("AA")));
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![cc("AA"), cc("DE"), cc("US"), cc("ZZ")]);
        assert_eq!(a.complement().len(), COUNTRY_CODE_COUNT - 4);
        assert!(a.union(&a.complement()).is_full());
        assert!(a.intersection(&a.complement()).is_empty());
        assert!(CountrySet::all().complement().is_empty());
        assert!(CountrySet::from_codes(&[cc("US")]).is_subset(&a));
        assert_eq!(a.difference(&CountrySet::from_codes(&[cc("US")])).len(), 3);
    }

    #[test]
    fn never_decides_union_of_two_rules() {
        let r = set(vec![
            ip(&["192.0.2.0/25"], Block),
            ip(&["192.0.2.128/25"], Block),
            ip(&["192.0.2.0/24"], Allow),
        ]);
        assert_eq!(never_decides(&r, 2), Some(vec![0, 1]));
        assert_eq!(never_decides(&r, 0), None);
        assert_eq!(never_decides(&r, 1), None);
        assert_eq!(decides_for(&r, 2), None);
        let w = decides_for(&r, 1).unwrap();
        assert_eq!(evaluate(&r, &w).rule, Some(RuleId::new(1)));
    }

    #[test]
    fn never_decides_after_any() {
        let r = set(vec![Rule::any(Block), country(&["DE"], Allow)]);
        assert_eq!(never_decides(&r, 1), Some(vec![0]));
        assert_eq!(redundant(&r, 1), None, "never-deciding is not also redundant");
        assert_eq!(allows_someone(&r), None);
        assert!(blocks_someone(&r).is_some());
    }

    #[test]
    fn responsible_names_deciders_only() {
        let r = set(vec![
            ip(&["10.0.0.0/8"], Block),
            ip(&["10.1.0.0/16"], Block),
            ip(&["10.1.2.0/24"], Allow),
        ]);
        assert_eq!(never_decides(&r, 1), Some(vec![0]));
        assert_eq!(never_decides(&r, 2), Some(vec![0]));
    }

    #[test]
    fn redundant_block_before_final_block() {
        let r = set(vec![country(&["DE"], Block), Rule::any(Block)]);
        assert_eq!(redundant(&r, 0), Some(vec![1]));
        assert_eq!(redundant(&r, 1), None);
        assert_eq!(never_decides(&r, 0), None);

        let r = set(vec![ip(&["127.0.0.1"], Allow), country(&["DE"], Block), Rule::any(Block)]);
        assert_eq!(redundant(&r, 1), Some(vec![2]));
        assert_eq!(redundant(&r, 0), None);
    }

    #[test]
    fn trailing_any_allow_is_redundant_with_default() {
        let r = set(vec![country(&["DE"], Block), Rule::any(Allow)]);
        let space = RuleSpace::new(&r);
        assert_eq!(space.redundant(1), Some(Takeover { rules: vec![], default: true }));
        assert_eq!(redundant(&r, 1), Some(vec![]));
        assert_eq!(blocks_someone(&r).and_then(|v| v.country()), Some(cc("DE")));
        // Mixed takeover: later rule and default.
        let r = set(vec![ip(&["10.0.0.0/8"], Allow), ip(&["10.1.0.0/16"], Allow)]);
        let t = RuleSpace::new(&r).redundant(0).unwrap();
        assert_eq!(t, Takeover { rules: vec![1], default: true });
    }

    #[test]
    fn ipv4_never_covers_ipv6() {
        let r = set(vec![ip(&["0.0.0.0/0"], Block), Rule::any(Allow)]);
        assert_eq!(never_decides(&r, 1), None);
        let w = decides_for(&r, 1).unwrap();
        assert!(w.ip().is_ipv6());
        let r = set(vec![ip(&["0.0.0.0/0"], Block), ip(&["::/0"], Block), country(&["US"], Allow)]);
        assert_eq!(never_decides(&r, 2), Some(vec![0, 1]));
    }

    #[test]
    fn both_families_cover_everything() {
        let r =
            set(vec![ip(&["0.0.0.0/0", "::/0"], Allow), country(&["US"], Block), Rule::any(Block)]);
        assert_eq!(never_decides(&r, 1), Some(vec![0]));
        assert_eq!(never_decides(&r, 2), Some(vec![0]));
        assert_eq!(blocks_someone(&r), None);
        // The mapped block is not viewer space: ::/0 minus it plus v4 still covers all.
        let r = set(vec![ip(&["0.0.0.0/0", "::/1", "8000::/1"], Allow), Rule::any(Block)]);
        assert_eq!(never_decides(&r, 1), Some(vec![0]));
    }

    #[test]
    fn mapped_entries_match_nobody() {
        let r = set(vec![ip(&["::ffff:0:0/96"], Block), Rule::any(Allow)]);
        let space = RuleSpace::new(&r);
        assert_eq!(space.never_decides(0), Some(vec![]));
        assert_eq!(space.matches_someone(0), None);
        assert_eq!(space.blocks_someone(), None);
        // IPv6 space minus the mapped block, plus IPv4, is everything.
        let r = set(vec![ip(&["::/0"], Block), ip(&["0.0.0.0/0"], Block), Rule::any(Allow)]);
        assert_eq!(never_decides(&r, 2), Some(vec![0, 1]));
        // Witnesses are never mapped addresses.
        let r = set(vec![ip(&["::ffff:0:0/95"], Block)]);
        let w = decides_for(&r, 0).unwrap();
        assert_eq!(evaluate(&r, &w).rule, Some(RuleId::new(0)));
    }

    #[test]
    fn country_list_covered_by_earlier_country_rules() {
        let r = set(vec![
            country(&["US", "DE"], Block),
            country(&["FR"], Allow),
            country(&["DE", "FR"], Allow),
        ]);
        assert_eq!(never_decides(&r, 2), Some(vec![0, 1]));
        // Unknown country is never in a country rule.
        let r = set(vec![country(&["US"], Block), Rule::any(Allow)]);
        let w = decides_for(&r, 1).unwrap();
        assert_eq!(evaluate(&r, &w).rule, Some(RuleId::new(1)));
    }

    #[test]
    fn all_countries_do_not_cover_unknown() {
        let every: Vec<Rule> = (0..COUNTRY_CODE_COUNT)
            .collect::<Vec<usize>>()
            .chunks(COUNTRY_CODE_COUNT / 2)
            .map(|c| {
                Rule::country(c.iter().filter_map(|&i| CountryCode::from_index(i)).collect(), Block)
            })
            .collect();
        let mut rules = every;
        rules.push(Rule::any(Allow));
        let r = set(rules);
        let w = decides_for(&r, 2).unwrap();
        assert_eq!(w.country(), None);
        assert_eq!(evaluate(&r, &w).rule, Some(RuleId::new(2)));
    }

    #[test]
    fn equivalence() {
        let a = set(vec![ip(&["10.0.0.0/9", "10.128.0.0/9", "10.1.2.3"], Block)]);
        let b = set(vec![ip(&["10.0.0.0/8"], Block)]);
        assert_eq!(equivalent(&a, &b), Ok(()));
        let c = set(vec![ip(&["10.0.0.0/8"], Block), Rule::any(Allow)]);
        assert_eq!(equivalent(&a, &c), Ok(()));
        let d = set(vec![ip(&["10.0.0.0/9"], Block)]);
        let w = equivalent(&a, &d).unwrap_err();
        assert_ne!(evaluate(&a, &w).action, evaluate(&d, &w).action);
        let diffs = differences(&a, &d);
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].a, Decision::new(Block, Some(RuleId::new(0))));
        assert_eq!(diffs[0].b, Decision::DEFAULT);
        assert_eq!(equivalent(&RuleSet::default(), &set(vec![Rule::any(Allow)])), Ok(()));
    }

    #[test]
    fn partition_agrees_with_reference_on_witnesses() {
        let r = set(vec![
            ip(&["10.0.0.0/8", "2001:db8::/32", "::ffff:10.0.0.0/104"], Allow),
            country(&["US", "DE"], Block),
            ip(&["10.1.0.0/16", "::/0"], Block),
            country(&["DE", "FR"], Allow),
            Rule::any(Block),
        ]);
        let space = RuleSpace::new(&r);
        for atom in space.atoms() {
            let w = atom.witness();
            assert_eq!(space.matching(&w), atom.matching());
            assert_eq!(space.decide(atom.matching()), evaluate(&r, &w));
        }
    }
}
