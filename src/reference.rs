//! The reference evaluator: the plain first-to-last loop of SPEC §2.
//!
//! It is the oracle the compiled [`crate::Matcher`] is held to by property
//! tests and the differential fuzz target; it is kept simple on purpose.

use crate::rule::{Decision, Rule, RuleKind, RuleSet, Viewer};

/// Whether `rule` matches `viewer` (SPEC §2): `any` always; `ip.src` when
/// the viewer's canonical address lies in a listed network of its own
/// family; a country rule when the viewer's country is known and listed.
pub fn rule_matches(rule: &Rule, viewer: &Viewer) -> bool {
    match &rule.kind {
        RuleKind::Any => true,
        // `IpNet::contains` is false across families, as SPEC §2 requires.
        RuleKind::IpSrc(nets) => nets.iter().any(|n| n.contains(&viewer.ip())),
        RuleKind::Country(codes) => viewer.country().is_some_and(|c| codes.contains(&c)),
    }
}

/// The decision for `viewer`: the first matching rule's action and index,
/// or the default allow with no index.
pub fn evaluate(rules: &RuleSet, viewer: &Viewer) -> Decision {
    rules
        .rules
        .iter()
        .position(|r| rule_matches(r, viewer))
        .map_or(Decision::DEFAULT, |i| Decision { action: rules.rules[i].action, rule: Some(i) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::{Action, CountryCode};

    fn v(ip: &str) -> Viewer {
        Viewer::new(ip.parse().unwrap())
    }

    #[test]
    fn issue_cases() {
        let allow_only = RuleSet::new(vec![Rule::ip_src(
            vec!["203.0.113.7/32".parse().unwrap()],
            Action::Allow,
        )]);
        assert_eq!(evaluate(&allow_only, &v("198.51.100.9")), Decision::DEFAULT);

        let v4_then_block = RuleSet::new(vec![
            Rule::ip_src(vec!["93.184.216.0/24".parse().unwrap()], Action::Allow),
            Rule::any(Action::Block),
        ]);
        let d = evaluate(&v4_then_block, &v("2606:2800:220:1::1"));
        assert_eq!(d, Decision { action: Action::Block, rule: Some(1) });

        let mapped = RuleSet::new(vec![Rule::ip_src(
            vec!["93.184.216.0/24".parse().unwrap()],
            Action::Block,
        )]);
        assert_eq!(evaluate(&mapped, &v("::ffff:93.184.216.34")).rule, Some(0));

        let host = RuleSet::new(vec![Rule::ip_src(
            vec!["2001:db8::2/128".parse().unwrap(), "203.0.113.7/32".parse().unwrap()],
            Action::Block,
        )]);
        assert_eq!(evaluate(&host, &v("2001:db8::1")), Decision::DEFAULT);
        assert_eq!(evaluate(&host, &v("2001:db8::2")).rule, Some(0));

        let country =
            RuleSet::new(vec![Rule::country(vec![CountryCode::new("US").unwrap()], Action::Block)]);
        assert_eq!(evaluate(&country, &v("10.0.0.1")), Decision::DEFAULT);
        let us = v("8.8.8.8").with_country(CountryCode::new("US"));
        assert_eq!(evaluate(&country, &us).action, Action::Block);
    }
}
