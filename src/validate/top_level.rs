//! The top level of a document: which input form it is and where its rule
//! list is.

use crate::diagnostic::Code;
use crate::document::Document;
use crate::schema::{
    FIELD_ACCESS_RULES, FIELD_DOWNLOADABLE, FIELD_EXP, FIELD_IAT, FIELD_ID, FIELD_KID, FIELD_NBF,
    FIELD_PEM, FIELD_SUB, TOP_FIELDS,
};

use super::Cx;
use crate::syntax::json::Node;
use crate::syntax::json::NodeKind;

impl<'a> Cx<'a> {
    /// Checks the top level; returns the rule array and its pointer.
    pub(super) fn top_level(&mut self) -> Option<(&'a Node, String)> {
        let doc: &'a Document = self.doc;
        let root = &doc.root;
        match &root.kind {
            NodeKind::Array(_) => Some((root, String::new())),
            NodeKind::Object(members) => {
                let (fields, _) = self.members(members, "", TOP_FIELDS, "the token object");
                let get = |k: &str| fields.iter().find(|(n, _)| *n == k).map(|(_, m)| &m.value);
                for key in [FIELD_ID, FIELD_PEM, FIELD_SUB, FIELD_KID] {
                    if let Some(v) = get(key) {
                        if !matches!(v.kind, NodeKind::String(_)) {
                            self.wrong_type(&format!("/{key}"), v, &format!("`{key}`"), "a string");
                        }
                    }
                }
                if let Some(v) = get(FIELD_DOWNLOADABLE) {
                    if !matches!(v.kind, NodeKind::Bool(_)) {
                        self.wrong_type("/downloadable", v, "`downloadable`", "true or false");
                    }
                }
                self.times(get(FIELD_EXP), get(FIELD_NBF), get(FIELD_IAT));
                self.key_pair(get(FIELD_ID), get(FIELD_PEM));
                match get(FIELD_ACCESS_RULES) {
                    Some(v @ Node { kind: NodeKind::Array(_), .. }) => {
                        Some((v, "/accessRules".to_owned()))
                    }
                    Some(v) => {
                        self.wrong_type("/accessRules", v, "`accessRules`", "an array of rules");
                        None
                    }
                    None => None,
                }
            }
            _ => {
                self.push(
                    Code::TopLevelShape,
                    "",
                    root.span,
                    format!(
                        "the document is {}; it must be an array of rules, a token object or a JWT",
                        root.kind.type_name()
                    ),
                    Some(
                        r#"write [{"type": "any", "action": "block"}] or {"accessRules": [...]}"#
                            .into(),
                    ),
                );
                None
            }
        }
    }
}
