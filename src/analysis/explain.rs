//! Explanations: every rule in order, whether it matches a viewer and why
//! (`accessrules explain`).

use ipnet::IpNet;

use crate::rules::{network_to_string, Decision, RuleId, RuleKind, RuleSet, Viewer};

/// Why one rule matched a viewer or not.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// `any` matches every viewer.
    Any,
    /// The address lies in this entry (index in the rule's `ip` list).
    InNetwork {
        /// Index of the entry in the rule's `ip` list.
        entry: usize,
        /// The entry.
        network: IpNet,
    },
    /// The address lies in none of the entries; `same_family` counts the
    /// entries of the viewer's family (the others can never match it).
    NotInNetworks {
        /// Entries of the viewer's address family.
        same_family: usize,
        /// Entries of the other family.
        other_family: usize,
    },
    /// The viewer's country is listed (index in the rule's `country` list).
    CountryListed {
        /// Index of the code in the rule's `country` list.
        entry: usize,
    },
    /// The viewer's country is known but not listed.
    CountryNotListed,
    /// The viewer's country is unknown, which matches no country rule.
    CountryUnknown,
}

/// One rule's line in an explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Step {
    /// The rule.
    pub rule: RuleId,
    /// Whether the rule matches the viewer.
    pub matched: bool,
    /// Whether evaluation reaches the rule (no earlier rule matched).
    pub reached: bool,
    /// Why it matched or not.
    pub reason: Reason,
}

/// An explanation of one decision.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Explanation {
    /// The viewer explained (canonical address).
    pub viewer: Viewer,
    /// One step per rule, in rule order.
    pub steps: Vec<Step>,
    /// The decision: the first matching rule, or the default allow.
    pub decision: Decision,
}

/// Explains the decision for `viewer` under `rules` (the same semantics as
/// [`crate::reference::evaluate`], docs/semantics.md).
pub fn explain(rules: &RuleSet, viewer: &Viewer) -> Explanation {
    let ip = viewer.ip();
    let mut steps = Vec::with_capacity(rules.rules.len());
    let mut decision = Decision::DEFAULT;
    for (i, rule) in rules.rules.iter().enumerate() {
        let reason = match &rule.kind {
            RuleKind::Any => Reason::Any,
            RuleKind::IpSrc(nets) => match nets.iter().position(|n| n.contains(&ip)) {
                Some(entry) => Reason::InNetwork { entry, network: nets[entry] },
                None => {
                    let same_family =
                        nets.iter().filter(|n| n.addr().is_ipv4() == ip.is_ipv4()).count();
                    Reason::NotInNetworks { same_family, other_family: nets.len() - same_family }
                }
            },
            RuleKind::Country(codes) => match viewer.country() {
                None => Reason::CountryUnknown,
                Some(c) => match codes.iter().position(|x| *x == c) {
                    Some(entry) => Reason::CountryListed { entry },
                    None => Reason::CountryNotListed,
                },
            },
        };
        let matched =
            matches!(reason, Reason::Any | Reason::InNetwork { .. } | Reason::CountryListed { .. });
        let reached = decision.rule.is_none();
        if matched && reached {
            decision = Decision::new(rule.action, Some(RuleId::new(i)));
        }
        steps.push(Step { rule: RuleId::new(i), matched, reached, reason });
    }
    Explanation { viewer: *viewer, steps, decision }
}

impl Reason {
    /// A short human sentence for this reason.
    pub fn describe(&self, viewer: &Viewer) -> String {
        match self {
            Reason::Any => "`any` matches every viewer".into(),
            Reason::InNetwork { entry, network } => {
                format!("{} is in {} (ip entry {entry})", viewer.ip(), network_to_string(network))
            }
            Reason::NotInNetworks { same_family, other_family } => {
                let fam = if viewer.ip().is_ipv4() { "IPv4" } else { "IPv6" };
                let other = if viewer.ip().is_ipv4() { "IPv6" } else { "IPv4" };
                let plural = |n: usize| if n == 1 { "network" } else { "networks" };
                let mut s = if *same_family == 0 {
                    format!("the rule lists no {fam} network")
                } else {
                    format!(
                        "{} is in none of the rule's {same_family} {fam} {}",
                        viewer.ip(),
                        plural(*same_family)
                    )
                };
                if *other_family > 0 {
                    s.push_str(&format!(
                        "; its {other_family} {other} {} never {} an {fam} viewer",
                        plural(*other_family),
                        if *other_family == 1 { "matches" } else { "match" }
                    ));
                }
                s
            }
            Reason::CountryListed { entry } => match viewer.country() {
                Some(c) => format!("country {c} is listed (country entry {entry})"),
                None => "country listed".into(),
            },
            Reason::CountryNotListed => match viewer.country() {
                Some(c) => format!("country {c} is not listed"),
                None => "country not listed".into(),
            },
            Reason::CountryUnknown => {
                "the viewer's country is unknown, which matches no country rule".into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference;
    use crate::rules::{Action, CountryCode, Rule};

    #[test]
    fn explains_each_rule() {
        let rules = RuleSet::new(vec![
            Rule::ip_src(vec!["93.184.216.0/24".parse().unwrap()], Action::Allow),
            Rule::country(vec![CountryCode::new("US").unwrap()], Action::Block),
            Rule::any(Action::Block),
        ]);
        let v = Viewer::new("2606:2800:220:1::1".parse().unwrap(), CountryCode::new("US"));
        let e = explain(&rules, &v);
        assert_eq!(e.decision, reference::evaluate(&rules, &v));
        assert_eq!(e.decision.rule, Some(RuleId::new(1)));
        assert_eq!(e.steps[0].reason, Reason::NotInNetworks { same_family: 0, other_family: 1 });
        assert!(e.steps[2].matched && !e.steps[2].reached);
        assert!(e.steps[0].reason.describe(&v).contains("never matches an IPv6 viewer"));
    }
}
