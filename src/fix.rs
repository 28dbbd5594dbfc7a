//! `validate --fix`: a corrected document that decides exactly as the
//! original for every viewer, proven by comparing both over the whole
//! (address, country) space ([`crate::analysis::space::equivalent`]).
//!
//! Applied: host bits cleared; duplicate, nested and adjacent entries
//! merged into the minimal CIDR list; repeated country codes removed;
//! rules that never decide or are redundant removed (one at a time, the
//! analysis redone after each); fields that take no part dropped (`ip` on
//! a country rule, unknown fields). Never applied, only suggested in the
//! diagnostics' help: anything that changes a decision (a final block for
//! an allow-only list, `UK` → `GB`).

use serde::ser::{SerializeMap, SerializeSeq};
use serde::Serialize;

use crate::analysis::space::{self, RuleSpace};
use crate::document::InputForm;
use crate::rules::{Rule, RuleKind, RuleSet};
use crate::schema::MAX_RULES;
use crate::schema::{
    FIELD_ACCESS_RULES, FIELD_ACTION, FIELD_COUNTRY, FIELD_IP, FIELD_TYPE, TYPE_COUNTRY,
    TYPE_IP_SRC,
};
use crate::syntax::json::{Node, NodeKind};
use crate::validate::Validation;

/// A proven correction.
///
/// Serialises as the corrected document, in the input's form (a JWT gives
/// its payload, which must be signed again) and with the input's key
/// order, at the top level and in each rule object, whatever `serde_json`
/// features are enabled.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Fix {
    /// The corrected rules.
    pub rule_set: RuleSet,
    /// One line per change made, e.g. `removed rule 2 (never decides)`.
    pub changes: Vec<String>,
    /// The top-level members kept, in input order, `accessRules` standing
    /// for the corrected rules; `None` for a bare rule array.
    kept: Option<Vec<(String, Node)>>,
    /// For each rule of `rule_set`, the fields it keeps in the order its
    /// object was written (fields it lacks are appended in the canonical
    /// order `type`, `ip`/`country`, `action`).
    key_orders: Vec<Vec<&'static str>>,
}

impl Fix {
    /// The corrected document as pretty-printed JSON (two-space indent),
    /// keys in the input's order.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The corrected document as compact JSON, keys in the input's order.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Serialize for Fix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let rules = RulesAsWritten(self);
        let Some(kept) = &self.kept else { return rules.serialize(s) };
        let mut map = s.serialize_map(Some(kept.len()))?;
        for (key, node) in kept {
            if key == FIELD_ACCESS_RULES {
                map.serialize_entry(key, &rules)?;
            } else {
                map.serialize_entry(key, &AsWritten(node))?;
            }
        }
        map.end()
    }
}

/// The corrected rules, each object's fields in the order written.
struct RulesAsWritten<'a>(&'a Fix);

impl Serialize for RulesAsWritten<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let rules = &self.0.rule_set.rules;
        let mut seq = s.serialize_seq(Some(rules.len()))?;
        for (i, rule) in rules.iter().enumerate() {
            let order = self.0.key_orders.get(i).map_or(&[][..], Vec::as_slice);
            seq.serialize_element(&RuleAsWritten(rule, order))?;
        }
        seq.end()
    }
}

/// One rule as [`Rule`]'s own serialisation, its fields in `order` first.
struct RuleAsWritten<'a>(&'a Rule, &'a [&'static str]);

impl Serialize for RuleAsWritten<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let RuleAsWritten(rule, order) = *self;
        let list = match &rule.kind {
            RuleKind::Any => None,
            RuleKind::IpSrc(_) => Some(FIELD_IP),
            RuleKind::Country(_) => Some(FIELD_COUNTRY),
        };
        let canonical = [Some(FIELD_TYPE), list, Some(FIELD_ACTION)];
        let fields: Vec<&str> = canonical.iter().flatten().copied().collect();
        let written = order.iter().copied().filter(|k| fields.contains(k));
        let rest = fields.iter().copied().filter(|k| !order.contains(k));
        let mut map = s.serialize_map(Some(fields.len()))?;
        for key in written.chain(rest) {
            match (key, &rule.kind) {
                (FIELD_TYPE, kind) => map.serialize_entry(key, kind.type_name())?,
                (FIELD_ACTION, _) => map.serialize_entry(key, rule.action.as_str())?,
                (_, RuleKind::IpSrc(nets)) => {
                    let ips: Vec<String> =
                        nets.iter().map(crate::rules::network_to_string).collect();
                    map.serialize_entry(key, &ips)?
                }
                (_, RuleKind::Country(codes)) => {
                    let cs: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
                    map.serialize_entry(key, &cs)?
                }
                (_, RuleKind::Any) => {}
            }
        }
        map.end()
    }
}

/// A JSON value serialised as written: keys in source order, numbers with
/// their exact text.
struct AsWritten<'a>(&'a Node);

impl Serialize for AsWritten<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0.kind {
            NodeKind::Null => s.serialize_unit(),
            NodeKind::Bool(b) => s.serialize_bool(*b),
            NodeKind::Number(raw) => match raw.parse::<serde_json::Number>() {
                Ok(n) => n.serialize(s),
                Err(_) => s.serialize_unit(),
            },
            NodeKind::String(text) => s.serialize_str(text),
            NodeKind::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&AsWritten(item))?;
                }
                seq.end()
            }
            NodeKind::Object(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for m in members {
                    map.serialize_entry(&m.key, &AsWritten(&m.value))?;
                }
                map.end()
            }
        }
    }
}

/// Why no fix is offered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FixError {
    /// The document has errors; errors are never fixed automatically.
    #[error("the document has errors; fix them first")]
    Invalid,
    /// The document has more than [`crate::MAX_RULES`] rules and no
    /// equivalent rewrite of at most that many was found.
    #[error(
        "{rules} rules; the smallest equivalent rewrite found (merging, reordering and removing rules) needs {best}, and the service accepts at most {max}",
        max = crate::MAX_RULES
    )]
    TooManyRules {
        /// Rules in the document.
        rules: usize,
        /// Rules in the smallest equivalent rewrite found.
        best: usize,
    },
    /// The correction failed its proof (a bug): it is not offered.
    #[error("the corrected rules decide differently for viewer {0}; no fix is offered")]
    NotEquivalent(String),
}

/// Corrects a valid document (see the module docs for what is changed).
///
/// # Errors
///
/// [`FixError::Invalid`] for a document with errors;
/// [`FixError::NotEquivalent`] if the correction would change a decision.
pub fn fix(validation: &Validation) -> Result<Fix, FixError> {
    let original =
        validation.rule_set().or_else(|| validation.rules_over_limit()).ok_or(FixError::Invalid)?;
    let document = validation.document().ok_or(FixError::Invalid)?;
    let mut changes = Vec::new();
    let mut rules: Vec<(usize, Rule)> = Vec::new();
    for (i, rule) in original.rules.iter().enumerate() {
        let kind = match &rule.kind {
            RuleKind::IpSrc(nets) => {
                let merged = space::merge_entries(nets);
                if merged != *nets {
                    let show = |l: &[ipnet::IpNet]| {
                        let v: Vec<String> =
                            l.iter().map(crate::rules::network_to_string).collect();
                        if v.len() <= 6 {
                            format!("[{}]", v.join(", "))
                        } else {
                            format!("{} entries", v.len())
                        }
                    };
                    changes.push(format!(
                        "rule {i}: ip entries rewritten as the minimal CIDR list: {} -> {}",
                        show(nets),
                        show(&merged)
                    ));
                }
                RuleKind::IpSrc(merged)
            }
            RuleKind::Country(codes) => {
                let dedup = space::dedup_countries(codes);
                if dedup.len() != codes.len() {
                    changes.push(format!("rule {i}: repeated country codes removed"));
                }
                RuleKind::Country(dedup)
            }
            RuleKind::Any => RuleKind::Any,
        };
        rules.push((i, Rule { kind, action: rule.action }));
    }
    remove_needless(&mut rules, &mut changes);
    // Over the service's limit: merge rules of one type and action, moving
    // one next to the other where the rules between allow it.
    while rules.len() > MAX_RULES {
        let Some(merged) = merge_one(&rules) else { break };
        changes.push(merged.1);
        rules = merged.0;
        remove_needless(&mut rules, &mut changes);
    }
    if rules.len() > MAX_RULES {
        return Err(FixError::TooManyRules { rules: original.rules.len(), best: rules.len() });
    }
    // Each rule keeps the key order its object was written in (a merged
    // rule, that of the first of the two).
    let written = document_rules(validation);
    let key_orders = rules
        .iter()
        .map(|&(i, _)| written.get(i).map(|node| key_order(node)).unwrap_or_default())
        .collect();
    let rule_set = RuleSet::new(rules.into_iter().map(|(_, r)| r).collect());
    if let Err(viewer) = space::equivalent(original, &rule_set) {
        return Err(FixError::NotEquivalent(format!("{viewer:?}")));
    }
    // Every top-level member is kept, known or not, in the order written:
    // fields the tool does not know are not its to drop.
    let kept = match (&document.root.kind, document.form()) {
        (NodeKind::Object(members), form) if form != InputForm::RuleArray => {
            Some(members.iter().map(|m| (m.key.clone(), m.value.clone())).collect::<Vec<_>>())
        }
        _ => None,
    };
    changes.extend(rule_field_changes(written));
    Ok(Fix { rule_set, changes, kept, key_orders })
}

/// Removes never-deciding and redundant rules one at a time, last first,
/// redoing the analysis after each removal.
fn remove_needless(rules: &mut Vec<(usize, Rule)>, changes: &mut Vec<String>) {
    'outer: loop {
        let current = RuleSet::new(rules.iter().map(|(_, r)| r.clone()).collect());
        let Some(space) = RuleSpace::try_new(&current) else { break };
        for k in (0..rules.len()).rev() {
            let why = if space.never_decides(k).is_some() {
                "never decides"
            } else if space.redundant(k).is_some() {
                "redundant"
            } else {
                continue;
            };
            changes.push(format!("removed rule {} ({why})", rules[k].0));
            rules.remove(k);
            continue 'outer;
        }
        break;
    }
}

/// One rule made of two of the same type and action (entries united and
/// minimised); `None` for `any` rules or different types.
fn union(a: &Rule, b: &Rule) -> Option<Rule> {
    if a.action != b.action {
        return None;
    }
    let kind = match (&a.kind, &b.kind) {
        (RuleKind::IpSrc(x), RuleKind::IpSrc(y)) => {
            let all: Vec<_> = x.iter().chain(y).copied().collect();
            RuleKind::IpSrc(space::merge_entries(&all))
        }
        (RuleKind::Country(x), RuleKind::Country(y)) => {
            let all: Vec<_> = x.iter().chain(y).copied().collect();
            RuleKind::Country(space::dedup_countries(&all))
        }
        _ => return None,
    };
    Some(Rule { kind, action: a.action })
}

/// Merges one pair of rules of the same type and action: rules `i < j`
/// where `j` can move up to just after `i` (every rule between has `j`'s
/// action or matches no viewer `j` matches) or `i` down to just before
/// `j` (likewise). Moving a rule past one it never overlaps, or past one
/// of the same action, changes no decision, and adjacent rules of one
/// type and action decide as their union; the result is checked with
/// [`space::equivalent`] anyway. `None` when no pair qualifies.
fn merge_one(rules: &[(usize, Rule)]) -> Option<(Vec<(usize, Rule)>, String)> {
    let current = RuleSet::new(rules.iter().map(|(_, r)| r.clone()).collect());
    let space = RuleSpace::try_new(&current)?;
    let n = rules.len();
    let mut overlap = vec![vec![false; n]; n];
    for atom in space.atoms() {
        let m = atom.matching();
        for a in (0..n).filter(|a| m >> a & 1 == 1) {
            for b in (0..n).filter(|b| m >> b & 1 == 1) {
                overlap[a][b] = true;
            }
        }
    }
    for i in 0..n {
        for j in i + 1..n {
            let Some(merged) = union(&rules[i].1, &rules[j].1) else { continue };
            let between = i + 1..j;
            let action = |k: usize| rules[k].1.action;
            let up = between.clone().all(|k| action(k) == action(j) || !overlap[k][j]);
            let down = between.clone().all(|k| action(k) == action(i) || !overlap[i][k]);
            let mut out: Vec<(usize, Rule)> = Vec::with_capacity(n - 1);
            if up {
                out.extend(rules[..i].iter().cloned());
                out.push((rules[i].0, merged));
                out.extend(rules[i + 1..j].iter().cloned());
                out.extend(rules[j + 1..].iter().cloned());
            } else if down {
                out.extend(rules[..i].iter().cloned());
                out.extend(rules[i + 1..j].iter().cloned());
                out.push((rules[j].0, merged));
                out.extend(rules[j + 1..].iter().cloned());
            } else {
                continue;
            }
            let candidate = RuleSet::new(out.iter().map(|(_, r)| r.clone()).collect());
            if space::equivalent(&current, &candidate).is_ok() {
                let (a, b) = (rules[i].0, rules[j].0);
                return Some((out, format!("merged rules {a} and {b} (same type and action)")));
            }
        }
    }
    None
}

/// The rule objects of the document as written.
fn document_rules(validation: &Validation) -> Vec<&Node> {
    let Some(doc) = validation.document() else { return vec![] };
    let array = match &doc.root.kind {
        NodeKind::Array(_) => Some(&doc.root),
        NodeKind::Object(members) => {
            members.iter().find(|m| m.key == FIELD_ACCESS_RULES).map(|m| &m.value)
        }
        _ => None,
    };
    match array.map(|a| &a.kind) {
        Some(NodeKind::Array(items)) => items.iter().collect(),
        _ => vec![],
    }
}

/// The rule fields of a rule object, in the order written.
fn key_order(rule: &Node) -> Vec<&'static str> {
    let NodeKind::Object(members) = &rule.kind else { return vec![] };
    members
        .iter()
        .filter_map(|m| {
            [FIELD_TYPE, FIELD_IP, FIELD_COUNTRY, FIELD_ACTION].into_iter().find(|&k| k == m.key)
        })
        .collect()
}

/// Reports fields of rule objects that the rewrite leaves out.
fn rule_field_changes(rules: Vec<&Node>) -> Vec<String> {
    let mut out = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let NodeKind::Object(members) = &rule.kind else { continue };
        let ty = members.iter().find(|m| m.key == FIELD_TYPE).and_then(|m| match &m.value.kind {
            NodeKind::String(s) => Some(s.as_str()),
            _ => None,
        });
        for m in members {
            let takes_part = match m.key.as_str() {
                FIELD_TYPE | FIELD_ACTION => true,
                FIELD_IP => ty == Some(TYPE_IP_SRC),
                FIELD_COUNTRY => ty == Some(TYPE_COUNTRY),
                _ => false,
            };
            if !takes_part {
                out.push(format!("rule {i}: dropped the field {:?}, which takes no part", m.key));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{check, Options};

    fn fixed(s: &str) -> Fix {
        fix(&check(s.as_bytes(), &Options::without_clock())).unwrap()
    }

    #[test]
    fn clears_host_bits() {
        let f = fixed(r#"[{"type":"ip.src","ip":["93.184.216.34/24"],"action":"block"}]"#);
        assert_eq!(f.to_json(), r#"[{"type":"ip.src","ip":["93.184.216.0/24"],"action":"block"}]"#);
    }

    #[test]
    fn removes_rules_that_never_decide_or_are_redundant() {
        let f = fixed(
            r#"[{"type":"ip.src","ip":["8.8.8.0/24"],"action":"allow"},{"type":"ip.geoip.country","country":["DE"],"action":"block"},{"type":"any","action":"block"},{"type":"ip.src","ip":["1.1.1.1"],"action":"allow"}]"#,
        );
        assert_eq!(
            f.to_json(),
            r#"[{"type":"ip.src","ip":["8.8.8.0/24"],"action":"allow"},{"type":"any","action":"block"}]"#
        );
        assert_eq!(f.changes, vec!["removed rule 3 (never decides)", "removed rule 1 (redundant)"]);
    }

    #[test]
    fn keeps_every_top_level_field_in_order_and_drops_what_takes_no_part() {
        // Unknown top-level fields (`note`) and `flags` are kept, in the
        // order written; a rule field that takes no part is dropped.
        let f = fixed(
            r#"{"flags": {"original": true}, "exp": 1767229200, "note": "x", "accessRules": [{"type":"any","ip":["1.2.3.4"],"action":"block"}], "downloadable": true}"#,
        );
        assert_eq!(
            f.to_json(),
            r#"{"flags":{"original":true},"exp":1767229200,"note":"x","accessRules":[{"type":"any","action":"block"}],"downloadable":true}"#
        );
        assert!(!f.changes.iter().any(|c| c.contains("\"note\"")));
        assert!(f.changes.iter().any(|c| c.contains("\"ip\"")));
    }

    #[test]
    fn keeps_each_rule_objects_key_order() {
        let f = fixed(
            r#"{"accessRules":[{"action":"allow","ip":["93.184.216.34/24"],"type":"ip.src"},{"country":["DE","DE"],"type":"ip.geoip.country","action":"allow"},{"action":"block","note":"x","type":"any"}],"exp":1767229200}"#,
        );
        assert_eq!(
            f.to_json(),
            r#"{"accessRules":[{"action":"allow","ip":["93.184.216.0/24"],"type":"ip.src"},{"country":["DE"],"type":"ip.geoip.country","action":"allow"},{"action":"block","type":"any"}],"exp":1767229200}"#
        );
        // A bare array too, after a rule is removed.
        let f = fixed(
            r#"[{"action":"allow","type":"ip.src","ip":["8.8.8.0/24"]},{"type":"ip.geoip.country","action":"block","country":["DE"]},{"action":"block","type":"any"}]"#,
        );
        assert_eq!(
            f.to_json(),
            r#"[{"action":"allow","type":"ip.src","ip":["8.8.8.0/24"]},{"action":"block","type":"any"}]"#
        );
    }

    #[test]
    fn never_fixes_errors() {
        let v = check(
            br#"[{"type":"ip.geoip.country","country":["UK"],"action":"block"}]"#,
            &Options::without_clock(),
        );
        assert_eq!(fix(&v), Err(FixError::Invalid));
    }
}
