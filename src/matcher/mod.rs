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
//! # Search
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

mod table;

use std::net::IpAddr;

use ipnet::IpNet;
use table::{IntervalTable, RuleIndex, LANES, NO_RULE};

use crate::geo::{CountryResolver, GeoError};
use crate::rules::{
    Action, CountryCode, Decision, RuleId, RuleKind, RuleSet, Viewer, COUNTRY_CODE_COUNT,
};
use crate::validate::Invalid;

/// Most rules a [`Matcher`] compiles (far above the service's 5).
pub const MAX_COMPILED_RULES: usize = NO_RULE as usize;

/// A compiled rule set: immutable, `Send + Sync`, cheap to share behind an
/// `Arc`. Decides exactly as [`crate::reference::evaluate`], in O(log n) of
/// the number of networks.
///
/// # Example
///
/// ```
/// use accessrules::{Action, Matcher, RuleId};
/// let m = Matcher::from_json(br#"[{"type":"ip.src","ip":["93.184.216.0/24"],"action":"allow"},
///                                 {"type":"any","action":"block"}]"#)?;
/// let d = m.decide_without_country("2606:2800:220:1::1".parse()?);
/// assert_eq!((d.action, d.rule), (Action::Block, Some(RuleId::new(1))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Matcher {
    v4: IntervalTable<u32>,
    v6: IntervalTable<u128>,
    countries: Box<[RuleIndex; COUNTRY_CODE_COUNT]>,
    first_any: RuleIndex,
    first_country_rule: RuleIndex,
    /// The first `ip.src` or `any` rule: a country rule before it decides
    /// (or not) before any address is looked at.
    first_address_rule: RuleIndex,
    actions: Vec<Action>,
}

impl Matcher {
    /// Validates a rule document (any input form, the system clock as
    /// "now") and compiles it.
    ///
    /// # Errors
    ///
    /// [`Invalid`] with every diagnostic when the document has an error.
    pub fn from_json(bytes: &[u8]) -> Result<Matcher, Invalid> {
        let rules = RuleSet::from_json(bytes)?;
        // A valid document has at most MAX_RULES (5) rules.
        Ok(Matcher::compile(&rules))
    }

    /// Compiles `rules`, taken as given (a validated set has at most 5).
    ///
    /// # Errors
    ///
    /// [`TooManyRules`] for a set of more than [`MAX_COMPILED_RULES`] rules:
    /// a matcher never drops rules.
    pub fn new(rules: &RuleSet) -> Result<Matcher, TooManyRules> {
        if rules.rules.len() > MAX_COMPILED_RULES {
            return Err(TooManyRules(rules.rules.len()));
        }
        Ok(Matcher::compile(rules))
    }

    /// Compiles at most [`MAX_COMPILED_RULES`] rules.
    fn compile(rules: &RuleSet) -> Matcher {
        let n = rules.rules.len().min(MAX_COMPILED_RULES);
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        let mut countries = Box::new([NO_RULE; COUNTRY_CODE_COUNT]);
        let mut first_any = NO_RULE;
        let mut first_country_rule = NO_RULE;
        let mut first_address_rule = NO_RULE;
        for (i, rule) in rules.rules[..n].iter().enumerate() {
            let i = i as RuleIndex;
            match &rule.kind {
                RuleKind::Any => {
                    first_any = first_any.min(i);
                    first_address_rule = first_address_rule.min(i);
                }
                RuleKind::IpSrc(nets) => {
                    first_address_rule = first_address_rule.min(i);
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
            first_address_rule,
            actions: rules.rules[..n].iter().map(|r| r.action).collect(),
        }
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
            Decision::DEFAULT
        } else {
            Decision::new(self.actions[rule as usize], Some(RuleId::new(rule as usize)))
        }
    }

    /// The decision for a viewer whose country the caller gives
    /// ([`Viewer::country`]; `None` is unknown, which no country rule
    /// matches); no lookup is made.
    #[inline]
    pub fn decide(&self, viewer: &Viewer) -> Decision {
        self.decision(self.with_country(self.ip_rule(viewer.ip()), viewer))
    }

    /// The decision for `ip` with no country: no country rule matches, so
    /// only address and `any` rules decide. To look the country up, use
    /// [`Matcher::decide_with`].
    #[inline]
    pub fn decide_without_country(&self, ip: IpAddr) -> Decision {
        self.decision(self.ip_rule(ip))
    }

    /// The decision for `ip`, its country looked up in `resolver` (a
    /// [`crate::GeoDatabase`], [`crate::StaticCountries`], ...) only when
    /// a country rule can change the decision ([`Matcher::needs_country`]).
    ///
    /// # Errors
    ///
    /// The resolver's [`GeoError`] (a failed lookup is an error, never an
    /// unknown country that would fall through to the default allow).
    #[inline]
    pub fn decide_with<R: CountryResolver + ?Sized>(
        &self,
        ip: IpAddr,
        resolver: &R,
    ) -> Result<Decision, GeoError> {
        self.decide_resolving(ip, |ip| resolver.country(ip))
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
    fn flush<T: table::Keyed>(
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
        // Without country rules never; with one before every address rule
        // always; only in between does the address decide (a table search).
        self.first_country_rule != NO_RULE
            && (self.first_country_rule < self.first_address_rule
                || self.first_country_rule < self.ip_rule(ip))
    }

    /// Whether decisions depend on the viewer's country, for every viewer
    /// alike ([`CountryNeed::Never`], [`CountryNeed::Always`]) or address by
    /// address ([`Matcher::needs_country`]): lets a batch caller skip the
    /// per-address question.
    pub fn country_need(&self) -> CountryNeed {
        if self.first_country_rule == NO_RULE {
            CountryNeed::Never
        } else if self.first_country_rule < self.first_address_rule {
            CountryNeed::Always
        } else {
            CountryNeed::ByAddress
        }
    }

    /// The decision for `ip`, calling `resolve` for its country only when
    /// the country can change the decision ([`Matcher::needs_country`]).
    ///
    /// # Errors
    ///
    /// Whatever `resolve` returns (a failed GeoIP lookup is an error, never
    /// an unknown country).
    #[inline]
    pub fn decide_resolving<E>(
        &self,
        ip: IpAddr,
        resolve: impl FnOnce(IpAddr) -> Result<Option<CountryCode>, E>,
    ) -> Result<Decision, E> {
        let mut rule = self.ip_rule(ip);
        if self.first_country_rule < rule {
            if let Some(c) = resolve(crate::rules::canonical_ip(ip))? {
                rule = rule.min(self.countries[c.index()]);
            }
        }
        Ok(self.decision(rule))
    }

    /// The IPv4 table as `(first, last, rule)` ranges (for tests and tools).
    #[cfg(any(test, feature = "internals"))]
    #[doc(hidden)]
    pub fn ipv4_ranges(&self) -> Vec<(u32, u32, usize)> {
        self.v4.ranges().collect()
    }

    /// The IPv6 table as `(first, last, rule)` ranges.
    #[cfg(any(test, feature = "internals"))]
    #[doc(hidden)]
    pub fn ipv6_ranges(&self) -> Vec<(u128, u128, usize)> {
        self.v6.ranges().collect()
    }

    /// Whether both interval tables are in canonical form (sorted,
    /// disjoint, merged); always true, exposed for property tests.
    #[cfg(any(test, feature = "internals"))]
    #[doc(hidden)]
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

/// Whether a [`Matcher`]'s decisions need the viewer's country
/// ([`Matcher::country_need`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CountryNeed {
    /// No `ip.geoip.country` rule: the country never changes a decision.
    Never,
    /// A country rule comes before every `ip.src` and `any` rule: every
    /// decision needs the country.
    Always,
    /// Only addresses whose first matching address rule comes after a
    /// country rule need it ([`Matcher::needs_country`]).
    ByAddress,
}

/// A rule set with more rules than a [`Matcher`] compiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0} rules; a matcher compiles at most {MAX_COMPILED_RULES}")]
pub struct TooManyRules(pub usize);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference;
    use crate::rules::Rule;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn batch_decides_as_one_by_one() {
        let rules = RuleSet::new(vec![
            Rule::ip_src(vec![net("192.0.2.0/25"), net("2001:db8::/33")], Action::Block),
            Rule::country(vec![CountryCode::new("DE").unwrap()], Action::Allow),
            Rule::ip_src(vec![net("192.0.2.0/24"), net("2001:db8::5/128")], Action::Allow),
        ]);
        let m = Matcher::new(&rules).unwrap();
        let ips = ["192.0.2.1", "2001:db8::5", "192.0.2.200", "::1", "2001:db8:8000::", "8.8.8.8"];
        // Lengths around multiples of LANES, families mixed in every order.
        for n in [0, 1, 7, 8, 9, 17, 40] {
            let viewers: Vec<Viewer> = (0..n)
                .map(|i| {
                    let v =
                        Viewer::without_country(ips[(i * 7 + i / 3) % ips.len()].parse().unwrap());
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
        let m = Matcher::new(&rules).unwrap();
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
                let v = Viewer::new(ip.parse().unwrap(), c);
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
        let m = Matcher::new(&rules).unwrap();
        let mut calls = 0;
        let d = m
            .decide_resolving("10.1.2.3".parse().unwrap(), |_| {
                calls += 1;
                Ok::<_, ()>(None)
            })
            .unwrap();
        assert_eq!((d.rule, calls), (Some(RuleId::new(0)), 0));
        assert!(m.needs_country("8.8.8.8".parse().unwrap()));
        let d = m
            .decide_resolving("8.8.8.8".parse().unwrap(), |_| Ok::<_, ()>(CountryCode::new("DE")))
            .unwrap();
        assert_eq!(d, Decision::new(Action::Block, Some(RuleId::new(1))));
    }

    #[test]
    fn country_need_agrees_with_needs_country() {
        let m = |json: &str| Matcher::from_json(json.as_bytes()).unwrap();
        let country = r#"{"type":"ip.geoip.country","country":["US"],"action":"allow"}"#;
        let net = r#"{"type":"ip.src","ip":["10.0.0.0/8"],"action":"allow"}"#;
        let any = r#"{"type":"any","action":"block"}"#;
        let probes: Vec<IpAddr> = ["10.1.2.3", "8.8.8.8", "::1"].map(|s| s.parse().unwrap()).into();
        for (rules, need) in [
            (format!("[{net},{any}]"), CountryNeed::Never),
            (format!("[{country},{net},{any}]"), CountryNeed::Always),
            (format!("[{country}]"), CountryNeed::Always),
            (format!("[{net},{country},{any}]"), CountryNeed::ByAddress),
        ] {
            let m = m(&rules);
            assert_eq!(m.country_need(), need, "{rules}");
            let answers: Vec<bool> = probes.iter().map(|&ip| m.needs_country(ip)).collect();
            match need {
                CountryNeed::Never => assert!(answers.iter().all(|&a| !a)),
                CountryNeed::Always => assert!(answers.iter().all(|&a| a)),
                _ => assert_eq!(answers, [false, true, true], "{rules}"),
            }
        }
    }

    #[test]
    fn matcher_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Matcher>();
    }
}
