//! `diff`: the exact difference of two rule sets over the whole viewer space
//! (docs/diff.md).
//!
//! Both rule lists are cut into one joint [`RuleSpace`] (the atoms of
//! `old`'s rules followed by `new`'s), so every atom gets one decision from
//! each side. The atoms whose *actions* differ are grouped into [`Change`]s:
//! first, per address class, the country classes of each transition
//! (`from` → `to`, rule indices included); then the address classes with the
//! same transition and the same country classes are united. Each change is
//! therefore a product region (an address set × a country set, with or
//! without the unknown country): its sizes are exact, any point of it is a
//! witness, and the changes are disjoint and together are exactly the
//! viewers the two sets tell apart.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use serde::{Serialize, Serializer};

use super::space::{CountrySet, IntervalSet, IpSet, RuleSpace, MAX_SPACE_RULES};
use crate::rules::{canonical_ip, CountryCode, Decision, Rule, RuleSet, Viewer};

/// Rule sets too large for the exact analysis: more than 128 rules in
/// total (a valid document has at most [`crate::MAX_RULES`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0} rules in total; the exact analysis handles at most 128")]
pub struct TooManyToAnalyse(pub usize);

/// The difference of two rule sets ([`diff`]).
///
/// Serialises as `{"equivalent": bool, "changes": [...]}` (the shape of
/// `accessrules diff --format json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Diff {
    /// Whether every viewer (every address, every country, unknown
    /// included) gets the same action from both sets. Rule indices may
    /// differ.
    pub equivalent: bool,
    /// The regions where the actions differ: disjoint, together exactly the
    /// viewers the two sets tell apart; empty exactly when `equivalent`.
    /// Ordered by the old rule, then the new rule (the default last), then
    /// by witness.
    pub changes: Vec<Change>,
}

/// The country axis of a [`Change`]: every code (`"any"` in JSON) or a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Countries {
    /// All 936 codes `A0`..`ZZ` (whether the unknown country is included is
    /// [`Change::unknown_country`]).
    Any,
    /// These codes, ascending (possibly none: only the unknown country).
    Listed(Vec<CountryCode>),
}

impl Serialize for Countries {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Countries::Any => s.serialize_str("any"),
            Countries::Listed(codes) => codes.serialize(s),
        }
    }
}

/// One region where two rule sets decide differently: the viewers whose
/// address is in an address set and whose country is in [`Change::countries`]
/// (or unknown, when [`Change::unknown_country`]).
///
/// Serialises as `{"from": {"decision", "rule"}, "to": {...},
/// "ipv4_addresses": N, "ipv6_addresses": "N", "countries": [..] | "any",
/// "unknown_country": bool, "witness": {"ip", "country"}}`; the IPv6 count
/// is a decimal string (it may exceed 2^64).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Change {
    /// The decision of the old set (its rule index) in this region.
    pub from: Decision,
    /// The decision of the new set (its rule index); its action differs.
    pub to: Decision,
    /// IPv4 addresses in the region (at most 2^32).
    pub ipv4_addresses: u64,
    /// IPv6 viewer addresses in the region (the IPv4-mapped block is never
    /// counted: those viewers are IPv4).
    #[serde(serialize_with = "decimal")]
    pub ipv6_addresses: u128,
    /// The known countries of the region.
    pub countries: Countries,
    /// Whether viewers of unknown country are in the region.
    pub unknown_country: bool,
    /// A viewer of the region: [`crate::reference::evaluate`] gives it
    /// [`Change::from`] under the old set and [`Change::to`] under the new.
    pub witness: Viewer,
    #[serde(skip)]
    addresses: IpSet,
    #[serde(skip)]
    codes: CountrySet,
}

/// A `u128` as a decimal string (JSON numbers lose precision past 2^53).
pub(crate) fn decimal<S: Serializer>(n: &u128, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(n)
}

impl Change {
    /// Whether `viewer` (its canonical address) lies in the region.
    pub fn contains(&self, viewer: &Viewer) -> bool {
        let in_country = match viewer.country() {
            Some(c) => self.codes.contains(c),
            None => self.unknown_country,
        };
        in_country && self.addresses.contains(canonical_ip(viewer.ip()))
    }

    /// The region's addresses as a minimal list of networks, IPv4 first,
    /// cut after `limit` networks (a region can need hundreds of thousands).
    /// The second value is whether the list was cut.
    pub fn networks(&self, limit: usize) -> (Vec<IpNet>, bool) {
        let (v4, v6) = (self.addresses.v4.ranges(), self.addresses.v6.ranges());
        let mut out = IntervalSet::from_ranges(v4.iter().take(limit).copied()).to_networks();
        let room = limit.saturating_sub(out.len());
        out.extend(IntervalSet::from_ranges(v6.iter().take(room).copied()).to_networks());
        let cut = out.len() > limit || v4.len() + v6.len() > limit;
        out.truncate(limit);
        (out, cut)
    }

    /// The known countries as a set count: how many of the 936 codes.
    pub fn country_count(&self) -> usize {
        self.codes.len()
    }

    /// The codes *not* in the region, ascending (handy to print "any
    /// country but US, MX").
    pub fn countries_excluded(&self) -> Vec<CountryCode> {
        self.codes.complement().iter().collect()
    }
}

/// The exact difference of `old` and `new` (docs/diff.md): every region of
/// the viewer space (address × country, unknown country included) where
/// their actions differ, with sizes and a witness.
///
/// Cost: one joint partition of the viewer space (O(N log N) in the networks) and a pass
/// over its atoms.
///
/// # Errors
///
/// [`TooManyToAnalyse`] when the two sets have more than 128 rules together.
///
/// # Example
///
/// ```
/// use accessrules::{diff, RuleSet};
/// let old = RuleSet::from_json(br#"[{"type":"ip.geoip.country","country":["US","MX"],"action":"allow"},{"type":"any","action":"block"}]"#)?;
/// let new = RuleSet::from_json(br#"[{"type":"ip.geoip.country","country":["MX","US"],"action":"allow"},{"type":"any","action":"block"}]"#)?;
/// assert!(diff(&old, &new)?.equivalent);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn diff(old: &RuleSet, new: &RuleSet) -> Result<Diff, TooManyToAnalyse> {
    let total = old.rules.len() + new.rules.len();
    if total > MAX_SPACE_RULES {
        return Err(TooManyToAnalyse(total));
    }
    let all: Vec<&Rule> = old.rules.iter().chain(&new.rules).collect();
    let space = RuleSpace::from_rules(&all).ok_or(TooManyToAnalyse(total))?;
    let n_old = old.rules.len();

    // Per address class: the country classes of each transition.
    type Key = (Decision, Decision, Vec<usize>);
    let mut groups: Vec<(Key, Vec<usize>)> = Vec::new();
    let mut index: HashMap<Key, usize> = HashMap::new();
    let mut per_transition: Vec<((Decision, Decision), Vec<usize>)> = Vec::new();
    for (k, ip) in space.ip_classes().iter().enumerate() {
        per_transition.clear();
        for (j, country) in space.country_classes().iter().enumerate() {
            let (a, b) = space.split(n_old, ip.matching() | country.matching() | space.any_rules());
            if a.action == b.action {
                continue;
            }
            match per_transition.iter_mut().find(|(t, _)| *t == (a, b)) {
                Some((_, classes)) => classes.push(j),
                None => per_transition.push(((a, b), vec![j])),
            }
        }
        for ((a, b), classes) in per_transition.drain(..) {
            let key = (a, b, classes);
            match index.get(&key) {
                Some(&g) => groups[g].1.push(k),
                None => {
                    index.insert(key.clone(), groups.len());
                    groups.push((key, vec![k]));
                }
            }
        }
    }

    let mut changes: Vec<Change> = groups
        .into_iter()
        .map(|((from, to, classes), ips)| {
            let ip_classes = space.ip_classes();
            let v4 = IntervalSet::from_ranges(
                ips.iter().flat_map(|&k| ip_classes[k].addresses().v4.ranges().iter().copied()),
            );
            let v6 = IntervalSet::from_ranges(
                ips.iter().flat_map(|&k| ip_classes[k].addresses().v6.ranges().iter().copied()),
            );
            let mut codes = CountrySet::empty();
            let mut unknown = false;
            for &j in &classes {
                let c = &space.country_classes()[j];
                codes = codes.union(c.codes());
                unknown |= c.includes_unknown();
            }
            let ip = match (v4.min(), v6.min()) {
                (Some(a), _) => IpAddr::V4(Ipv4Addr::from(a)),
                (None, Some(a)) => IpAddr::V6(Ipv6Addr::from(a)),
                // Every class is non-empty.
                (None, None) => IpAddr::V4(Ipv4Addr::new(0, 0, 0, 0)),
            };
            // An assigned code when there is one: `simulate --country` takes any.
            let country = codes.iter().find(|c| crate::country::is_assigned(*c)).or(codes.min());
            let witness = Viewer::new(ip, country);
            Change {
                from,
                to,
                ipv4_addresses: u64::try_from(v4.count()).unwrap_or(u64::MAX),
                ipv6_addresses: v6.count(),
                countries: if codes.is_full() {
                    Countries::Any
                } else {
                    Countries::Listed(codes.iter().collect())
                },
                unknown_country: unknown,
                witness,
                addresses: IpSet { v4, v6 },
                codes,
            }
        })
        .collect();
    let order = |d: &Decision| d.rule.map_or(usize::MAX, |r| r.index());
    changes.sort_by(|x, y| {
        (order(&x.from), order(&x.to), x.witness.ip(), x.witness.country().map(|c| c.index())).cmp(
            &(order(&y.from), order(&y.to), y.witness.ip(), y.witness.country().map(|c| c.index())),
        )
    });
    debug_assert!(changes.iter().all(|c| {
        crate::reference::evaluate(old, &c.witness) == c.from
            && crate::reference::evaluate(new, &c.witness) == c.to
    }));
    Ok(Diff { equivalent: changes.is_empty(), changes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::evaluate;
    use crate::rules::{Action, RuleId};

    fn rules(json: &str) -> RuleSet {
        RuleSet::from_json_with(json.as_bytes(), &crate::Options::without_clock()).unwrap()
    }

    const DOCS: &str = r#"[{"type":"ip.geoip.country","country":["US","MX"],"action":"allow"},{"type":"ip.src","ip":["93.184.216.0/24","2400:cb00::/32"],"action":"allow"},{"type":"any","action":"block"}]"#;

    #[test]
    fn equivalent_rewrites() {
        let a = rules(DOCS);
        let b = rules(
            r#"[{"type":"ip.src","ip":["93.184.216.0/25","93.184.216.128/25","2400:cb00::/32"],"action":"allow"},{"type":"ip.geoip.country","country":["MX","US"],"action":"allow"},{"type":"any","action":"block"},{"type":"any","action":"allow"}]"#,
        );
        let d = diff(&a, &b).unwrap();
        assert!(d.equivalent && d.changes.is_empty());
    }

    #[test]
    fn dropping_the_final_block_opens_everyone_else() {
        let a = rules(DOCS);
        let b = rules(
            r#"[{"type":"ip.geoip.country","country":["US","MX"],"action":"allow"},{"type":"ip.src","ip":["93.184.216.0/24","2400:cb00::/32"],"action":"allow"}]"#,
        );
        let d = diff(&a, &b).unwrap();
        assert!(!d.equivalent);
        assert_eq!(d.changes.len(), 1);
        let c = &d.changes[0];
        assert_eq!(c.from, Decision::new(Action::Block, Some(RuleId::new(2))));
        assert_eq!(c.to, Decision::DEFAULT);
        assert_eq!(c.ipv4_addresses, (1u64 << 32) - 256);
        assert_eq!(c.ipv6_addresses, u128::MAX - (1u128 << 96) + 1 - (1u128 << 32));
        assert!(c.unknown_country);
        assert_eq!(c.country_count(), 934);
        let json = serde_json::to_value(c).unwrap();
        assert_eq!(json["from"], serde_json::json!({"decision": "block", "rule": 2}));
        assert_eq!(json["to"], serde_json::json!({"decision": "allow", "rule": null}));
        assert!(json["ipv6_addresses"].is_string());
        assert_eq!(evaluate(&a, &c.witness), c.from);
        assert_eq!(evaluate(&b, &c.witness), c.to);
    }

    #[test]
    fn networks_are_cut() {
        let a = rules(
            r#"[{"type":"ip.src","ip":["10.0.0.0/8","12.0.0.0/8","2001:db8::/32"],"action":"block"}]"#,
        );
        let d = diff(&a, &RuleSet::default()).unwrap();
        let c = &d.changes[0];
        assert_eq!(c.countries, Countries::Any);
        let (nets, cut) = c.networks(10);
        assert_eq!(nets.len(), 3);
        assert!(!cut);
        let (nets, cut) = c.networks(1);
        assert_eq!(nets, vec!["10.0.0.0/8".parse::<IpNet>().unwrap()]);
        assert!(cut);
    }
}
