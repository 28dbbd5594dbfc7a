//! Object members: duplicate keys, misspelt and unknown fields, values of
//! the wrong JSON type.

use crate::diagnostic::{pointer_push, Code, Related};
use crate::schema::misspelt_field;

use super::quoted;
use super::Cx;
use crate::syntax::json::Member;
use crate::syntax::json::Node;

impl<'a> Cx<'a> {
    /// Reports members of `obj` that are duplicates, misspellings or
    /// unknown. Returns the known members by name (first occurrence) and
    /// the known names that have a misspelt stand-in.
    pub(super) fn members<'n>(
        &mut self,
        members: &'n [Member],
        path: &str,
        known: &[&str],
        owner: &str,
    ) -> (Vec<(&'n str, &'n Member)>, Vec<&'static str>) {
        let mut seen: Vec<(&str, &Member)> = Vec::new();
        let mut misspelt = Vec::new();
        for m in members {
            let p = pointer_push(path, &m.key);
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == m.key) {
                let first_loc = self.doc.location(pointer_push(path, &first.key), first.key_span);
                let d = self.push(
                    Code::DuplicateKey,
                    &p,
                    m.key_span,
                    format!(
                        "{owner} has the key {:?} twice; JSON readers keep only one of them",
                        m.key
                    ),
                    Some("keep one".into()),
                );
                d.related.push(Related { location: first_loc, label: "first occurrence".into() });
                continue;
            }
            if known.contains(&m.key.as_str()) {
                seen.push((&m.key, m));
            } else if let Some(right) = misspelt_field(&m.key, known) {
                misspelt.push(right);
                self.push(
                    Code::MisspeltField,
                    &p,
                    m.key_span,
                    format!(
                        "unknown field {} in {owner}; field names are case-sensitive",
                        quoted(&m.key)
                    ),
                    Some(format!("did you mean {right:?}?")),
                );
            } else {
                self.push(
                    Code::UnknownField,
                    &p,
                    m.key_span,
                    format!(
                        "unknown field {} in {owner} takes no part in the rules",
                        quoted(&m.key)
                    ),
                    Some("remove it".into()),
                );
            }
        }
        (seen, misspelt)
    }

    pub(super) fn wrong_type(&mut self, path: &str, node: &Node, what: &str, expected: &str) {
        self.push(
            Code::WrongType,
            path,
            node.span,
            format!("{what} is {}; it must be {expected}", node.kind.type_name()),
            None,
        );
    }
}
