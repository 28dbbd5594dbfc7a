//! GeoIP drift: which addresses a change of GeoIP database (and, if given,
//! of rules) decides differently, because their country changed.
//!
//! Every address is given the country each database gives it (its GeoIP
//! country, the only one a viewer without a given country has); the old
//! rules decide with the old database's country, the new rules with the
//! new one's. The address lines are cut at every range boundary of both
//! databases and at every network boundary of both rule sets, so within a
//! piece the two countries and every `ip.src` match are constant: one
//! decision per piece and side is exact. Cost: linear in the ranges of the
//! two databases, one matcher lookup per piece and side.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use serde::Serialize;

use super::diff::decimal;
use crate::geo::GeoDatabase;
use crate::matcher::{Matcher, TooManyRules};
use crate::rules::{CountryCode, Decision, RuleKind, RuleSet, Viewer};

/// The IPv4-mapped block of the IPv6 line: those viewers are IPv4.
const MAPPED: (u128, u128) = (0xffff_0000_0000, 0xffff_ffff_ffff);

/// Addresses kept per change as example networks.
const RANGES_KEPT: usize = 16;

/// What a GeoIP update does to the decisions of a rule set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Drift {
    /// Whether no address is decided differently (the two sides are
    /// equivalent for every address, as `diff`'s `equivalent`).
    pub equivalent: bool,
    /// One entry per transition (old decision → new decision), in order of
    /// first address.
    pub changes: Vec<DriftChange>,
}

/// All addresses with one transition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DriftChange {
    /// The decision before (old rules, old database's country).
    pub from: Decision,
    /// The decision after (new rules, new database's country).
    pub to: Decision,
    /// IPv4 addresses with this transition.
    pub ipv4_addresses: u64,
    /// IPv6 viewer addresses with this transition (a decimal string in JSON).
    #[serde(serialize_with = "decimal")]
    pub ipv6_addresses: u128,
    /// The first address ranges, as networks (at most 16); strings in JSON.
    #[serde(serialize_with = "as_strings")]
    pub networks: Vec<IpNet>,
    /// Whether more addresses have this transition than [`DriftChange::networks`] shows.
    pub more_networks: bool,
    /// The first address, with its country in each database.
    pub witness: DriftWitness,
}

fn as_strings<S: serde::Serializer>(nets: &[IpNet], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(nets.iter().map(ToString::to_string))
}

/// An address whose decision changes, and why: its two countries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DriftWitness {
    /// The address.
    pub ip: IpAddr,
    /// Its country in the old database.
    pub old_country: Option<CountryCode>,
    /// Its country in the new database.
    pub new_country: Option<CountryCode>,
}

/// The addresses decided differently by `old_rules` with `old_geoip` and
/// `new_rules` with `new_geoip` (pass the same rules twice for a pure
/// database update).
///
/// # Errors
///
/// [`TooManyRules`] for a rule set the matcher cannot compile.
pub fn geoip_drift(
    old_rules: &RuleSet,
    old_geoip: &GeoDatabase,
    new_rules: &RuleSet,
    new_geoip: &GeoDatabase,
) -> Result<Drift, TooManyRules> {
    let (a, b) = (Matcher::new(old_rules)?, Matcher::new(new_rules)?);
    // With the same rules, a piece whose country did not change cannot
    // change its decision.
    let same_rules = old_rules == new_rules;
    let mut changes: Vec<DriftChange> = Vec::new();
    let old_v4 = old_geoip.country_ranges_v4();
    let new_v4 = new_geoip.country_ranges_v4();
    let v4_cuts = rule_cuts(old_rules, new_rules, true);
    sweep(&old_v4, &new_v4, &v4_cuts, |lo, hi, c_old, c_new| {
        if same_rules && c_old == c_new {
            return;
        }
        let ip = IpAddr::V4(Ipv4Addr::from(lo));
        record(&mut changes, &a, &b, ip, c_old, c_new, |c| {
            c.ipv4_addresses += u64::from(hi - lo) + 1;
            c.networks_push(u128::from(lo), u128::from(hi), true);
        });
    });
    let old_v6 = old_geoip.country_ranges_v6(&old_v4);
    let new_v6 = new_geoip.country_ranges_v6(&new_v4);
    let v6_cuts = rule_cuts(old_rules, new_rules, false);
    sweep(&old_v6, &new_v6, &v6_cuts, |lo, hi, c_old, c_new| {
        if same_rules && c_old == c_new {
            return;
        }
        // IPv4-mapped viewers are IPv4 viewers, counted above.
        for (lo, hi) in without_mapped(lo, hi) {
            let ip = IpAddr::V6(Ipv6Addr::from(lo));
            record(&mut changes, &a, &b, ip, c_old, c_new, |c| {
                c.ipv6_addresses = c.ipv6_addresses.saturating_add(hi - lo).saturating_add(1);
                c.networks_push(lo, hi, false);
            });
        }
    });
    Ok(Drift { equivalent: changes.is_empty(), changes })
}

impl DriftChange {
    fn networks_push(&mut self, lo: u128, hi: u128, v4: bool) {
        if self.networks.len() >= RANGES_KEPT {
            self.more_networks = true;
            return;
        }
        let room = RANGES_KEPT - self.networks.len();
        let nets: Vec<IpNet> = if v4 {
            crate::interval::IntervalSet::from_range(lo as u32, hi as u32).to_networks()
        } else {
            crate::interval::IntervalSet::from_range(lo, hi).to_networks()
        };
        self.more_networks |= nets.len() > room;
        self.networks.extend(nets.into_iter().take(room));
    }
}

/// Decides one piece both ways and, when the actions differ, adds it.
fn record(
    changes: &mut Vec<DriftChange>,
    a: &Matcher,
    b: &Matcher,
    ip: IpAddr,
    c_old: Option<CountryCode>,
    c_new: Option<CountryCode>,
    add: impl FnOnce(&mut DriftChange),
) {
    let from = a.decide(&Viewer::new(ip, c_old));
    let to = b.decide(&Viewer::new(ip, c_new));
    if from.action == to.action {
        return;
    }
    let i = match changes.iter().position(|c| c.from == from && c.to == to) {
        Some(i) => i,
        None => {
            changes.push(DriftChange {
                from,
                to,
                ipv4_addresses: 0,
                ipv6_addresses: 0,
                networks: Vec::new(),
                more_networks: false,
                witness: DriftWitness { ip, old_country: c_old, new_country: c_new },
            });
            changes.len() - 1
        }
    };
    add(&mut changes[i]);
}

/// The pieces of `lo..=hi` outside the IPv4-mapped block.
fn without_mapped(lo: u128, hi: u128) -> impl Iterator<Item = (u128, u128)> {
    let before = (lo < MAPPED.0).then(|| (lo, hi.min(MAPPED.0 - 1)));
    let after = (hi > MAPPED.1).then(|| (lo.max(MAPPED.1 + 1), hi));
    before.into_iter().chain(after)
}

/// The starts of every `ip.src` network of either rule set and the address
/// after its end, on one family's line, sorted.
fn rule_cuts(a: &RuleSet, b: &RuleSet, v4: bool) -> Vec<u128> {
    let mut cuts = Vec::new();
    for rule in a.rules.iter().chain(&b.rules) {
        let RuleKind::IpSrc(nets) = &rule.kind else { continue };
        for net in nets {
            let (lo, hi) = match (net, v4) {
                (IpNet::V4(n), true) => {
                    (u128::from(u32::from(n.network())), u128::from(u32::from(n.broadcast())))
                }
                (IpNet::V6(n), false) => (u128::from(n.network()), u128::from(n.broadcast())),
                _ => continue,
            };
            cuts.push(lo);
            if let Some(next) = hi.checked_add(1) {
                cuts.push(next);
            }
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// Walks two covering, sorted range lists and the extra cuts together,
/// calling `piece(lo, hi, old_country, new_country)` for every piece on
/// which all three are constant.
fn sweep<T>(
    old: &[(T, T, Option<CountryCode>)],
    new: &[(T, T, Option<CountryCode>)],
    cuts: &[u128],
    mut piece: impl FnMut(T, T, Option<CountryCode>, Option<CountryCode>),
) where
    T: Copy + Ord + Into<u128> + TryFrom<u128>,
{
    let (mut i, mut j, mut k) = (0, 0, 0);
    let Some(&(mut lo, _, _)) = old.first() else { return };
    while i < old.len() && j < new.len() {
        let (_, hi_old, c_old) = old[i];
        let (_, hi_new, c_new) = new[j];
        let mut hi = hi_old.min(hi_new);
        while k < cuts.len() && cuts[k] <= lo.into() {
            k += 1;
        }
        if let Some(&cut) = cuts.get(k) {
            if cut <= hi.into() {
                // `cut > lo >= 0`, so `cut - 1` fits the line.
                if let Ok(before) = T::try_from(cut - 1) {
                    hi = before;
                }
            }
        }
        piece(lo, hi, c_old, c_new);
        if hi == hi_old {
            i += 1;
        }
        if hi == hi_new {
            j += 1;
        }
        let Some(next) = hi.into().checked_add(1) else { break };
        match T::try_from(next) {
            Ok(next) => lo = next,
            Err(_) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cc(s: &str) -> Option<CountryCode> {
        CountryCode::new(s)
    }

    #[test]
    fn sweep_cuts_at_both_lists_and_the_rules() {
        let old = [(0u32, 99, cc("US")), (100, u32::MAX, cc("DE"))];
        let new = [(0u32, 49, cc("US")), (50, u32::MAX, cc("DE"))];
        let mut pieces = Vec::new();
        sweep(&old, &new, &[10], |lo, hi, a, b| pieces.push((lo, hi, a, b)));
        assert_eq!(
            pieces,
            vec![
                (0, 9, cc("US"), cc("US")),
                (10, 49, cc("US"), cc("US")),
                (50, 99, cc("US"), cc("DE")),
                (100, u32::MAX, cc("DE"), cc("DE")),
            ]
        );
    }

    #[test]
    fn mapped_block_is_left_out() {
        let v: Vec<_> = without_mapped(0, u128::MAX).collect();
        assert_eq!(v, vec![(0, MAPPED.0 - 1), (MAPPED.1 + 1, u128::MAX)]);
        assert_eq!(without_mapped(MAPPED.0, MAPPED.1).count(), 0);
    }
}

/// The sweep relies on each database's ranges covering the line in order
/// (a table layout change once broke that for the IPv4 reading).
#[cfg(test)]
mod range_tables {
    use crate::geo::GeoDatabase;

    #[test]
    fn country_ranges_cover_each_line_in_order() {
        for path in ["tests/data/geoip/geoip2-v6.mmdb", "tests/data/geoip/location-v4.mmdb"] {
            let db = GeoDatabase::open(path).unwrap();
            let v4 = db.country_ranges_v4();
            let mut next = 0u64;
            for &(lo, hi, _) in &v4 {
                assert_eq!(u64::from(lo), next, "{path}: {v4:?}");
                next = u64::from(hi) + 1;
            }
            assert_eq!(next, 1 << 32, "{path}");
            let v6 = db.country_ranges_v6(&v4);
            let mut next = Some(0u128);
            for &(lo, hi, _) in &v6 {
                assert_eq!(Some(lo), next, "{path}");
                next = hi.checked_add(1);
            }
            assert_eq!(next, None, "{path}");
        }
    }
}
