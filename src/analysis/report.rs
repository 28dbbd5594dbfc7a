//! `report`: what a rule set does, at a glance (docs/diff.md).
//!
//! With a GeoIP database every address has one country (the database's, or
//! unknown), so each address is decided by exactly one rule or by the
//! default: the per-rule address counts are exact and add up to the whole
//! family. The database's range table is swept once against the rule
//! space's address pieces. Without a database the address counts are those
//! of viewers of unknown country, and the countries of a rule are those for
//! which it decides for some address.
//!
//! Whether a rule decides for anyone at all is answered over the whole
//! viewer space, whatever the database says ([`RuleCoverage::decides`]).

use serde::Serialize;

use super::diff::{decimal, Countries, TooManyToAnalyse};
use super::space::{CountrySet, RuleSpace, MAX_SPACE_RULES};
use crate::geo::GeoDatabase;
use crate::rules::{Action, CountryCode, Decision, RuleSet, Viewer, COUNTRY_CODE_COUNT};

/// IPv4 addresses: 2^32.
const V4_SPACE: f64 = 4_294_967_296.0;
/// IPv6 viewer addresses: 2^128 minus the IPv4-mapped block (2^32).
const V6_SPACE: f64 = 340_282_366_920_938_463_463_374_607_427_473_244_160.0;

/// What a rule set does ([`report`]). Serialises as the JSON of
/// `accessrules report --format json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// Whether countries come from a GeoIP database (else every address's
    /// country is taken as unknown).
    pub geoip: bool,
    /// One entry per rule, in order.
    pub rules: Vec<RuleCoverage>,
    /// The viewers no rule matches (the default allow).
    pub default: Coverage,
    /// The viewers allowed, by any rule or the default.
    pub allowed: Coverage,
    /// The viewers blocked.
    pub blocked: Coverage,
    /// The addresses whose country is unknown (no GeoIP record, or no
    /// database), and how they are decided.
    pub unknown_country: UnknownCountry,
    /// The rules that decide for no viewer at all (over the whole space).
    pub never_decide: Vec<usize>,
}

/// Address counts and shares of one family each.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Coverage {
    /// IPv4 addresses.
    pub ipv4_addresses: u64,
    /// IPv6 viewer addresses (decimal string in JSON).
    #[serde(serialize_with = "decimal")]
    pub ipv6_addresses: u128,
    /// Share of the IPv4 space, 0 to 1.
    pub ipv4_share: f64,
    /// Share of the IPv6 viewer space (all of IPv6 but the IPv4-mapped
    /// block), 0 to 1.
    pub ipv6_share: f64,
}

impl Coverage {
    fn add(&mut self, v4: u64, v6: u128) {
        self.ipv4_addresses = self.ipv4_addresses.saturating_add(v4);
        self.ipv6_addresses = self.ipv6_addresses.saturating_add(v6);
    }

    fn finish(&mut self) {
        self.ipv4_share = self.ipv4_addresses as f64 / V4_SPACE;
        self.ipv6_share = self.ipv6_addresses as f64 / V6_SPACE;
    }
}

/// What one rule decides.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RuleCoverage {
    /// The rule's index.
    pub rule: usize,
    /// Its `type` as written in the service's JSON.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Its action.
    pub action: Action,
    /// The addresses it decides (see the module docs).
    #[serde(flatten)]
    pub coverage: Coverage,
    /// The countries of the viewers it decides.
    pub countries: Countries,
    /// Whether it decides for viewers of unknown country.
    pub unknown_country: bool,
    /// Whether it decides for any viewer at all (address × country, over
    /// the whole space); `false`: it can be removed.
    pub decides: bool,
    /// A viewer it decides for (with the GeoIP country of its address when
    /// there is one), `None` when it decides for nobody.
    pub witness: Option<Viewer>,
}

/// The addresses of unknown country.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UnknownCountry {
    /// All of them.
    #[serde(flatten)]
    pub coverage: Coverage,
    /// Those allowed.
    pub allowed: Coverage,
}

/// Per-decider accumulator.
#[derive(Clone, Default)]
struct Acc {
    v4: u64,
    v6: u128,
    codes: CountrySet,
    unknown: bool,
    witness: Option<Viewer>,
}

/// What `rules` decide (docs/diff.md): per rule the addresses and countries
/// it decides and a witness, the shares allowed and blocked, the viewers of
/// unknown country, and the rules that decide nothing. With `geoip`, each
/// address has its database country.
///
/// Cost: one partition of the viewer space; with a database, one sweep of its range table
/// (a few milliseconds for the embedded one).
///
/// # Errors
///
/// [`TooManyToAnalyse`] for more than 128 rules.
pub fn report(rules: &RuleSet, geoip: Option<&GeoDatabase>) -> Result<Report, TooManyToAnalyse> {
    let n = rules.rules.len();
    if n > MAX_SPACE_RULES {
        return Err(TooManyToAnalyse(n));
    }
    let space = RuleSpace::try_new(rules).ok_or(TooManyToAnalyse(n))?;
    // One accumulator per rule, then the default.
    let mut acc = vec![Acc::default(); n + 1];
    let mut unknown = UnknownCountry::default();
    let slot = |d: Decision| d.rule.map_or(n, |r| r.index());
    let any = space.any_rules();

    match geoip {
        Some(db) => {
            let mut country_mask = vec![0u128; COUNTRY_CODE_COUNT];
            for class in space.country_classes() {
                for c in class.codes().iter() {
                    country_mask[c.index()] = class.matching();
                }
            }
            // Address pieces of the rule space, in address order.
            let mut p4: Vec<(u32, u32, u128)> = Vec::new();
            let mut p6: Vec<(u128, u128, u128)> = Vec::new();
            for class in space.ip_classes() {
                let m = class.matching();
                p4.extend(class.addresses().v4.ranges().iter().map(|&(l, h)| (l, h, m)));
                p6.extend(class.addresses().v6.ranges().iter().map(|&(l, h)| (l, h, m)));
            }
            p4.sort_unstable_by_key(|p| p.0);
            p6.sort_unstable_by_key(|p| p.0);
            let mut visit =
                |lo: u128, count: u128, v6: bool, ip_mask: u128, c: Option<CountryCode>| {
                    let cmask = c.map_or(0, |c| country_mask[c.index()]);
                    let d = space.decide(ip_mask | cmask | any);
                    let a = &mut acc[slot(d)];
                    let (v4n, v6n) = if v6 { (0, count) } else { (count as u64, 0) };
                    a.v4 += v4n;
                    a.v6 = a.v6.saturating_add(v6n);
                    match c {
                        Some(c) => {
                            a.codes.insert(c);
                        }
                        None => {
                            a.unknown = true;
                            unknown.coverage.add(v4n, v6n);
                            if d.action == Action::Allow {
                                unknown.allowed.add(v4n, v6n);
                            }
                        }
                    }
                    if a.witness.is_none() {
                        let ip = if v6 {
                            std::net::IpAddr::V6(lo.into())
                        } else {
                            std::net::IpAddr::V4((lo as u32).into())
                        };
                        a.witness = Some(Viewer::new(ip, c));
                    }
                };
            let g4 = db.country_ranges_v4();
            sweep(&p4, &g4, |lo, hi, m, c| {
                visit(u128::from(lo), u128::from(hi - lo) + 1, false, m, c)
            });
            let g6 = db.country_ranges_v6(&g4);
            sweep(&p6, &g6, |lo, hi, m, c| visit(lo, (hi - lo).saturating_add(1), true, m, c));
        }
        None => {
            for atom in space.atoms() {
                let d = space.decide(atom.matching());
                let country = atom.country_class();
                let a = &mut acc[slot(d)];
                a.codes = a.codes.union(country.codes());
                if country.includes_unknown() {
                    let set = atom.ip_class().addresses();
                    let (v4n, v6n) = (set.v4.count() as u64, set.v6.count());
                    a.v4 += v4n;
                    a.v6 = a.v6.saturating_add(v6n);
                    a.unknown = true;
                    unknown.coverage.add(v4n, v6n);
                    if d.action == Action::Allow {
                        unknown.allowed.add(v4n, v6n);
                    }
                }
            }
        }
    }

    let mut allowed = Coverage::default();
    let mut blocked = Coverage::default();
    let mut never_decide = Vec::new();
    let mut out = Vec::with_capacity(n);
    for (i, rule) in rules.rules.iter().enumerate() {
        let a = &acc[i];
        let decides = space.never_decides(i).is_none();
        if !decides {
            never_decide.push(i);
        }
        let witness = a.witness.or_else(|| space.decides_for(i));
        let mut coverage =
            Coverage { ipv4_addresses: a.v4, ipv6_addresses: a.v6, ..Coverage::default() };
        coverage.finish();
        match rule.action {
            Action::Allow => allowed.add(a.v4, a.v6),
            Action::Block => blocked.add(a.v4, a.v6),
        }
        out.push(RuleCoverage {
            rule: i,
            kind: rule.kind.type_name(),
            action: rule.action,
            coverage,
            countries: countries(&a.codes),
            unknown_country: a.unknown,
            decides,
            witness,
        });
    }
    let d = &acc[n];
    let mut default =
        Coverage { ipv4_addresses: d.v4, ipv6_addresses: d.v6, ..Coverage::default() };
    default.finish();
    match crate::DEFAULT_ACTION {
        Action::Allow => allowed.add(d.v4, d.v6),
        Action::Block => blocked.add(d.v4, d.v6),
    }
    allowed.finish();
    blocked.finish();
    unknown.coverage.finish();
    unknown.allowed.finish();
    Ok(Report {
        geoip: geoip.is_some(),
        rules: out,
        default,
        allowed,
        blocked,
        unknown_country: unknown,
        never_decide,
    })
}

fn countries(codes: &CountrySet) -> Countries {
    if codes.is_full() {
        Countries::Any
    } else {
        Countries::Listed(codes.iter().collect())
    }
}

/// Calls `f(lo, hi, mask, country)` for every non-empty intersection of a
/// rule-space piece and a GeoIP range; both lists sorted and disjoint.
fn sweep<T: Copy + Ord>(
    pieces: &[(T, T, u128)],
    geo: &[(T, T, Option<CountryCode>)],
    mut f: impl FnMut(T, T, u128, Option<CountryCode>),
) {
    let (mut i, mut j) = (0, 0);
    while i < pieces.len() && j < geo.len() {
        let (pl, ph, m) = pieces[i];
        let (gl, gh, c) = geo[j];
        let (lo, hi) = (pl.max(gl), ph.min(gh));
        if lo <= hi {
            f(lo, hi, m, c);
        }
        if ph <= gh {
            i += 1;
        } else {
            j += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: &str) -> RuleSet {
        RuleSet::from_json_with(json.as_bytes(), &crate::Options::without_clock()).unwrap()
    }

    #[test]
    fn without_geoip_counts_unknown_country_viewers() {
        let r = rules(
            r#"[{"type":"ip.geoip.country","country":["US","MX"],"action":"allow"},{"type":"ip.src","ip":["93.184.216.0/24","2400:cb00::/32"],"action":"allow"},{"type":"any","action":"block"},{"type":"ip.src","ip":["10.0.0.0/8"],"action":"allow"}]"#,
        );
        let rep = report(&r, None).unwrap();
        assert_eq!(rep.rules[0].coverage.ipv4_addresses, 0);
        assert_eq!(
            rep.rules[0].countries,
            Countries::Listed(vec![
                CountryCode::new("MX").unwrap(),
                CountryCode::new("US").unwrap()
            ])
        );
        assert_eq!(rep.rules[1].coverage.ipv4_addresses, 256);
        assert_eq!(rep.rules[1].coverage.ipv6_addresses, 1u128 << 96);
        assert_eq!(rep.rules[2].coverage.ipv4_addresses, (1u64 << 32) - 256);
        assert_eq!(rep.never_decide, vec![3]);
        assert!(rep.rules[3].witness.is_none());
        assert_eq!(rep.default.ipv4_addresses, 0);
        assert_eq!(rep.unknown_country.allowed.ipv4_addresses, 256);
        for rc in &rep.rules[..3] {
            let w = rc.witness.unwrap();
            assert_eq!(crate::reference::evaluate(&r, &w).rule.map(|r| r.index()), Some(rc.rule));
        }
    }
}
