//! One rule object: its `type`, `action` and the fields that go with them.

use crate::diagnostic::{pointer_push, Code};
use crate::lint::RuleSource;
use crate::rules::{Action, Rule, RuleKind};
use crate::schema::{
    suggest_action, suggest_type, ACTIONS, FIELD_ACTION, FIELD_COUNTRY, FIELD_IP, FIELD_TYPE,
    MAX_RULES, RULE_FIELDS, RULE_TYPES,
};

use super::quoted;
use super::Cx;
use crate::syntax::json::Node;
use crate::syntax::json::NodeKind;
use crate::syntax::json::Span;

/// What [`Cx::enum_field`] checks one field against.
pub(super) struct EnumField {
    name: &'static str,
    allowed: &'static [&'static str],
    suggest: fn(&str) -> Option<&'static str>,
    missing: Code,
    unknown: Code,
    what: &'static str,
}

impl<'a> Cx<'a> {
    pub(super) fn rule_array(
        &mut self,
        node: &Node,
        path: &str,
        rules: &mut Vec<Option<Rule>>,
        sources: &mut Vec<RuleSource>,
    ) {
        let NodeKind::Array(items) = &node.kind else { return };
        if items.len() > MAX_RULES {
            self.push(
                Code::TooManyRules,
                path,
                node.span,
                format!("{} rules; the service accepts at most {MAX_RULES}", items.len()),
                Some("merge rules of the same type and action; `accessrules validate --fix` finds an equivalent document of at most 5 rules when one exists".into()),
            );
        }
        for (i, item) in items.iter().enumerate() {
            let rule_path = pointer_push(path, &i.to_string());
            let (rule, source) = self.rule(item, &rule_path, i);
            rules.push(rule);
            sources.push(source);
        }
    }

    pub(super) fn rule(
        &mut self,
        node: &Node,
        path: &str,
        index: usize,
    ) -> (Option<Rule>, RuleSource) {
        let mut source =
            RuleSource { location: self.doc.location(path.to_owned(), node.span), entries: vec![] };
        let NodeKind::Object(members) = &node.kind else {
            self.wrong_type(
                path,
                node,
                &format!("rule {index}"),
                "an object {\"type\": ..., \"action\": ...}",
            );
            return (None, source);
        };
        let owner = format!("rule {index}");
        let (fields, misspelt) = self.members(members, path, RULE_FIELDS, &owner);
        let get = |k: &str| fields.iter().find(|(n, _)| *n == k).map(|(_, m)| &m.value);

        let kind_name = self.enum_field(
            get(FIELD_TYPE),
            misspelt.contains(&FIELD_TYPE),
            EnumField {
                name: FIELD_TYPE,
                allowed: RULE_TYPES,
                suggest: suggest_type,
                missing: Code::MissingType,
                unknown: Code::UnknownType,
                what: "rule type",
            },
            path,
            node.span,
            index,
        );
        let action = self
            .enum_field(
                get(FIELD_ACTION),
                misspelt.contains(&FIELD_ACTION),
                EnumField {
                    name: FIELD_ACTION,
                    allowed: ACTIONS,
                    suggest: suggest_action,
                    missing: Code::MissingAction,
                    unknown: Code::UnknownAction,
                    what: "action",
                },
                path,
                node.span,
                index,
            )
            .map(|a| if a == "allow" { Action::Allow } else { Action::Block });

        // Lists are checked when they can take part: for their own type,
        // or when the type is unknown (so every error shows in one pass).
        let ip_node = get(FIELD_IP);
        let country_node = get(FIELD_COUNTRY);
        let mut networks = None;
        let mut countries = None;
        let ip_counts = matches!(kind_name, None | Some("ip.src"));
        let country_counts = matches!(kind_name, None | Some("ip.geoip.country"));
        if let Some(n) = ip_node {
            if ip_counts {
                networks = self.ip_list(n, &pointer_push(path, FIELD_IP), &mut source);
            } else {
                self.ignored(n, path, FIELD_IP, kind_name.unwrap_or_default());
            }
        }
        if let Some(n) = country_node {
            if country_counts {
                countries = self.country_list(n, &pointer_push(path, FIELD_COUNTRY), &mut source);
            } else {
                self.ignored(n, path, FIELD_COUNTRY, kind_name.unwrap_or_default());
            }
        }
        let kind = match kind_name {
            Some("any") => Some(RuleKind::Any),
            Some("ip.src") => {
                if ip_node.is_none() && !misspelt.contains(&FIELD_IP) {
                    self.push(
                        Code::MissingIp,
                        path,
                        node.span,
                        format!("rule {index} is `ip.src` but has no `ip` list"),
                        Some(r#"add "ip": ["203.0.113.0/24", ...]"#.into()),
                    );
                }
                networks.map(RuleKind::IpSrc)
            }
            Some("ip.geoip.country") => {
                if country_node.is_none() && !misspelt.contains(&FIELD_COUNTRY) {
                    self.push(
                        Code::MissingCountry,
                        path,
                        node.span,
                        format!("rule {index} is `ip.geoip.country` but has no `country` list"),
                        Some(r#"add "country": ["US", ...]"#.into()),
                    );
                }
                countries.map(RuleKind::Country)
            }
            _ => None,
        };
        match (kind, action) {
            (Some(kind), Some(action)) => (Some(Rule { kind, action }), source),
            _ => (None, source),
        }
    }

    /// A required string field with a fixed set of case-sensitive values
    /// (`type`, `action`): the value, or `None` after reporting it missing
    /// (unless a misspelt stand-in was already reported), unknown (with the
    /// likely spelling) or of the wrong JSON type.
    pub(super) fn enum_field(
        &mut self,
        value: Option<&Node>,
        misspelt: bool,
        field: EnumField,
        rule_path: &str,
        rule_span: Span,
        index: usize,
    ) -> Option<&'static str> {
        let path = pointer_push(rule_path, field.name);
        let choices: Vec<String> = field.allowed.iter().map(|v| format!("{v:?}")).collect();
        let choices = match choices.as_slice() {
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
            [] => String::new(),
        };
        match value {
            None if misspelt => None,
            None => {
                self.push(
                    field.missing,
                    rule_path,
                    rule_span,
                    format!("rule {index} has no `{}`", field.name),
                    Some(format!("add \"{}\": {choices}", field.name)),
                );
                None
            }
            Some(Node { kind: NodeKind::String(v), span }) => {
                if let Some(ok) = field.allowed.iter().find(|a| **a == v.as_str()) {
                    return Some(ok);
                }
                let help = match (field.suggest)(v) {
                    Some(s) => format!("did you mean {s:?}? Values are case-sensitive"),
                    None => format!("use {choices}"),
                };
                self.push(
                    field.unknown,
                    &path,
                    *span,
                    format!("unknown {} {}", field.what, quoted(v)),
                    Some(help),
                );
                None
            }
            Some(v) => {
                self.wrong_type(&path, v, &format!("`{}`", field.name), "a string");
                None
            }
        }
    }

    pub(super) fn ignored(&mut self, node: &Node, rule_path: &str, field: &str, type_name: &str) {
        // It takes no part, but a value of the wrong JSON type is still an
        // error (docs/diagnostics.md); its entries are not read.
        let well_typed = match &node.kind {
            NodeKind::Array(items) => items.iter().all(|i| matches!(i.kind, NodeKind::String(_))),
            _ => false,
        };
        if !well_typed {
            self.push(
                Code::WrongType,
                &pointer_push(rule_path, field),
                node.span,
                format!("`{field}` is {}; it must be an array of strings", node.kind.type_name()),
                None,
            );
        }
        self.push(
            Code::IgnoredField,
            &pointer_push(rule_path, field),
            node.span,
            format!("`{field}` takes no part in a rule of type {type_name:?}"),
            Some(format!("remove `{field}`, or change the type")),
        );
    }
}
