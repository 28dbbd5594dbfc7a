//! The compiled matcher: per-family interval tables, a country table and
//! the first `any` rule, answered with one binary search per family.
//!
//! Evaluation is O(log n) in the number of networks and independent of rule
//! order: each table already holds, for every address range, the first rule
//! that matches it, so the decision is the minimum of three rule indexes
//! (address table, country table, first `any`). The country is needed only
//! when a country rule comes before that minimum, which
//! [`Matcher::decide_resolving`] uses to skip the GeoIP lookup.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::rule::{Action, CountryCode, Decision, RuleKind, RuleSet, Viewer, DEFAULT_ACTION};

/// A rule index in a compiled table; [`NO_RULE`] for "no rule".
type RuleIndex = u16;
const NO_RULE: RuleIndex = RuleIndex::MAX;

/// Most rules a [`Matcher`] compiles (far above the service's 5).
pub const MAX_COMPILED_RULES: usize = NO_RULE as usize;

/// An address integer: `u32` for IPv4, `u128` for IPv6.
pub(crate) trait AddrInt: Copy + Ord + std::fmt::Debug {
    const MAX: Self;
    fn succ(self) -> Option<Self>;
    /// `self - 1`, saturating at 0.
    fn pred(self) -> Self;
}

impl AddrInt for u32 {
    const MAX: Self = u32::MAX;
    fn succ(self) -> Option<Self> {
        self.checked_add(1)
    }
    fn pred(self) -> Self {
        self.saturating_sub(1)
    }
}

impl AddrInt for u128 {
    const MAX: Self = u128::MAX;
    fn succ(self) -> Option<Self> {
        self.checked_add(1)
    }
    fn pred(self) -> Self {
        self.saturating_sub(1)
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
pub(crate) struct IntervalTable<T> {
    starts: Vec<T>,
    rules: Vec<RuleIndex>,
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
        IntervalTable { starts, rules }
    }

    #[inline]
    fn get(&self, addr: T) -> RuleIndex {
        // starts[0] == 0, so the partition point is at least 1.
        let k = self.starts.partition_point(|&s| s <= addr);
        self.rules[k - 1]
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
    countries: Box<[RuleIndex; 676]>,
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
        let mut countries = Box::new([NO_RULE; 676]);
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

    #[inline]
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
        let mut rule = self.ip_rule(viewer.ip());
        if self.first_country_rule < rule {
            if let Some(c) = viewer.country() {
                rule = rule.min(self.countries[c.index()]);
            }
        }
        self.decision(rule)
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
