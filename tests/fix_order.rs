//! `validate --fix` keeps each rule object's key order as written (issue
//! 10, part 5; docs/semantics.md).

use accessrules::{check, fix, Options, Rule, RuleKind};
use proptest::prelude::*;
use serde_json::Value;

use crate::strategies::{config, network, rule_country, rule_from, rule_set_from};

/// The members of `rule` (as `Rule` serialises them) in `order`: a
/// permutation of its keys.
fn object(rule: &Rule, order: &[usize]) -> String {
    let Value::Object(map) = rule.to_json() else { unreachable!() };
    let members: Vec<(&String, &Value)> = map.iter().collect();
    // `order` has four slots; keep those that index a member.
    let parts: Vec<String> = order
        .iter()
        .filter_map(|&i| members.get(i))
        .map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), v))
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// The order of the rule keys in each rule object of the compact JSON rule
/// array `array` (rule objects hold no nested objects).
fn key_orders(array: &str) -> Vec<Vec<&'static str>> {
    let inner = array.trim_start_matches('[').trim_end_matches(']');
    if inner.is_empty() {
        return vec![];
    }
    inner
        .split("},{")
        .map(|obj| {
            let mut keys: Vec<(usize, &'static str)> = ["type", "ip", "country", "action"]
                .into_iter()
                .filter_map(|k| obj.find(&format!("\"{k}\":")).map(|at| (at, k)))
                .collect();
            keys.sort();
            keys.into_iter().map(|(_, k)| k).collect()
        })
        .collect()
}

/// The written order of the keys of the rule with this type and action.
fn order_of(kind: &RuleKind, allow: bool, perms: &[Vec<usize>; 6]) -> Vec<&'static str> {
    let keys: &[&'static str] = match type_index(kind) {
        0 => &["type", "action"],
        1 => &["type", "ip", "action"],
        _ => &["type", "country", "action"],
    };
    perms[type_index(kind) * 2 + usize::from(allow)]
        .iter()
        .filter_map(|&i| keys.get(i).copied())
        .collect()
}

/// 0 for `any`, 1 for `ip.src`, 2 for `ip.geoip.country`.
fn type_index(kind: &RuleKind) -> usize {
    ["any", "ip.src", "ip.geoip.country"].iter().position(|t| *t == kind.type_name()).unwrap()
}

fn perm() -> impl Strategy<Value = Vec<usize>> {
    Just(vec![0usize, 1, 2, 3]).prop_shuffle()
}

proptest! {
    #![proptest_config(config(128))]

    /// Every rule of the fix keeps the key order its object was written in
    /// (fix never changes a kept rule's type or action, so the order is
    /// drawn per type and action), in a bare array and in a request body.
    #[test]
    fn prop_fix_keeps_rule_key_order(
        rules in rule_set_from(rule_from(network(), rule_country(), 4), 1..=5),
        perms in [perm(), perm(), perm(), perm(), perm(), perm()],
        body in any::<bool>(),
    ) {
        let objects: Vec<String> = rules
            .rules
            .iter()
            .map(|r| {
                let allow = r.action == accessrules::Action::Allow;
                let t = type_index(&r.kind);
                // The permutation over the canonical positions of the keys.
                object(r, &perms[t * 2 + usize::from(allow)])
            })
            .collect();
        let array = format!("[{}]", objects.join(","));
        let doc = if body { format!(r#"{{"downloadable":true,"accessRules":{array}}}"#) } else { array };
        let v = check(doc.as_bytes(), &Options::without_clock());
        prop_assert!(v.is_valid(), "{} {:?}", doc, v.diagnostics());
        let fixed = fix(&v).unwrap();
        let text = fixed.to_json();
        let rules_json = if body {
            let start = text.find("\"accessRules\":").unwrap() + "\"accessRules\":".len();
            prop_assert!(text.starts_with(r#"{"downloadable":true,"accessRules":"#), "{}", text);
            &text[start..text.len() - 1]
        } else {
            &text[..]
        };
        let got = key_orders(rules_json);
        prop_assert_eq!(got.len(), fixed.rule_set.rules.len());
        for (rule, order) in fixed.rule_set.rules.iter().zip(&got) {
            let allow = rule.action == accessrules::Action::Allow;
            prop_assert_eq!(order, &order_of(&rule.kind, allow, &perms), "{}", text);
        }
    }
}
