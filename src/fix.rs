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

use crate::analysis::space::{self, RuleSpace};
use crate::rules::{Rule, RuleKind, RuleSet};
use crate::syntax::json::{Node, NodeKind};
use crate::validate::Validation;
use crate::InputForm;

/// A proven correction.
#[derive(Clone, Debug, PartialEq)]
pub struct Fix {
    /// The corrected rules.
    pub rule_set: RuleSet,
    /// The corrected document, in the input's form (a JWT gives its
    /// payload, which must be signed again).
    pub document: serde_json::Value,
    /// One line per change made, e.g. `removed rule 2 (never decides)`.
    pub changes: Vec<String>,
}

/// Why no fix is offered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FixError {
    /// The document has errors; errors are never fixed automatically.
    #[error("the document has errors; fix them first")]
    Invalid,
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
    let original = validation.rule_set().ok_or(FixError::Invalid)?;
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
    // Remove never-deciding and redundant rules one at a time, last first,
    // redoing the analysis after each removal.
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
    let rule_set = RuleSet::new(rules.into_iter().map(|(_, r)| r).collect());
    if let Err(viewer) = space::equivalent(original, &rule_set) {
        return Err(FixError::NotEquivalent(format!("{viewer:?}")));
    }
    let rules_json = rule_set.to_json();
    let (document, dropped) = match (&document.root.kind, document.form()) {
        (NodeKind::Object(members), form) if form != InputForm::RuleArray => {
            let mut map = serde_json::Map::new();
            let mut dropped = Vec::new();
            for m in members {
                if m.key == "accessRules" {
                    map.insert(m.key.clone(), rules_json.clone());
                } else if KNOWN_TOP.contains(&m.key.as_str()) {
                    map.insert(m.key.clone(), to_value(&m.value));
                } else {
                    dropped.push(m.key.clone());
                }
            }
            (serde_json::Value::Object(map), dropped)
        }
        _ => (rules_json, Vec::new()),
    };
    for key in dropped {
        changes.push(format!("dropped the unknown field {key:?}"));
    }
    changes.extend(rule_field_changes(document_rules(validation)));
    Ok(Fix { rule_set, document, changes })
}

const KNOWN_TOP: &[&str] =
    &["id", "pem", "exp", "nbf", "downloadable", "accessRules", "sub", "kid", "iat"];

/// The rule objects of the document as written.
fn document_rules(validation: &Validation) -> Vec<&Node> {
    let Some(doc) = validation.document() else { return vec![] };
    let array = match &doc.root.kind {
        NodeKind::Array(_) => Some(&doc.root),
        NodeKind::Object(members) => {
            members.iter().find(|m| m.key == "accessRules").map(|m| &m.value)
        }
        _ => None,
    };
    match array.map(|a| &a.kind) {
        Some(NodeKind::Array(items)) => items.iter().collect(),
        _ => vec![],
    }
}

/// Reports fields of rule objects that the rewrite leaves out.
fn rule_field_changes(rules: Vec<&Node>) -> Vec<String> {
    let mut out = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let NodeKind::Object(members) = &rule.kind else { continue };
        let ty = members.iter().find(|m| m.key == "type").and_then(|m| match &m.value.kind {
            NodeKind::String(s) => Some(s.as_str()),
            _ => None,
        });
        for m in members {
            let takes_part = match m.key.as_str() {
                "type" | "action" => true,
                "ip" => ty == Some("ip.src"),
                "country" => ty == Some("ip.geoip.country"),
                _ => false,
            };
            if !takes_part {
                out.push(format!("rule {i}: dropped the field {:?}, which takes no part", m.key));
            }
        }
    }
    out
}

/// The node as a `serde_json::Value` (numbers keep their exact text).
fn to_value(node: &Node) -> serde_json::Value {
    match &node.kind {
        NodeKind::Null => serde_json::Value::Null,
        NodeKind::Bool(b) => serde_json::Value::Bool(*b),
        NodeKind::Number(raw) => serde_json::from_str(raw).unwrap_or(serde_json::Value::Null),
        NodeKind::String(s) => serde_json::Value::String(s.clone()),
        NodeKind::Array(items) => serde_json::Value::Array(items.iter().map(to_value).collect()),
        NodeKind::Object(members) => serde_json::Value::Object(
            members.iter().map(|m| (m.key.clone(), to_value(&m.value))).collect(),
        ),
    }
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
        assert_eq!(
            f.document.to_string(),
            r#"[{"type":"ip.src","ip":["93.184.216.0/24"],"action":"block"}]"#
        );
    }

    #[test]
    fn removes_rules_that_never_decide_or_are_redundant() {
        let f = fixed(
            r#"[{"type":"ip.src","ip":["8.8.8.0/24"],"action":"allow"},{"type":"ip.geoip.country","country":["DE"],"action":"block"},{"type":"any","action":"block"},{"type":"ip.src","ip":["1.1.1.1"],"action":"allow"}]"#,
        );
        assert_eq!(
            f.document.to_string(),
            r#"[{"type":"ip.src","ip":["8.8.8.0/24"],"action":"allow"},{"type":"any","action":"block"}]"#
        );
        assert_eq!(f.changes, vec!["removed rule 3 (never decides)", "removed rule 1 (redundant)"]);
    }

    #[test]
    fn keeps_token_fields_and_drops_what_takes_no_part() {
        let f = fixed(
            r#"{"exp": 1767229200, "note": "x", "accessRules": [{"type":"any","ip":["1.2.3.4"],"action":"block"}]}"#,
        );
        assert_eq!(
            f.document.to_string(),
            r#"{"exp":1767229200,"accessRules":[{"type":"any","action":"block"}]}"#
        );
        assert!(f.changes.iter().any(|c| c.contains("\"note\"")));
        assert!(f.changes.iter().any(|c| c.contains("\"ip\"")));
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
