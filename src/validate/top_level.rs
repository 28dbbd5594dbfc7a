//! The top level of a document: which input form it is and where its rule
//! list is.

use crate::diagnostic::Code;
use crate::document::Document;
use crate::schema::{
    FIELD_ACCESS_RULES, FIELD_DOWNLOADABLE, FIELD_EXP, FIELD_FLAGS, FIELD_IAT, FIELD_ID, FIELD_KID,
    FIELD_NBF, FIELD_PEM, FIELD_SUB, TOP_FIELDS,
};

use super::Cx;
use crate::syntax::json::Node;
use crate::syntax::json::NodeKind;
use crate::syntax::json::Span;

impl<'a> Cx<'a> {
    /// Checks the top level; returns the rule array and its pointer.
    pub(super) fn top_level(&mut self) -> Option<(&'a Node, String)> {
        let doc: &'a Document = self.doc;
        let root = &doc.root;
        match &root.kind {
            NodeKind::Array(_) => Some((root, String::new())),
            NodeKind::Object(members) => {
                let (fields, misspelt) = self.members(members, "", TOP_FIELDS, "the token object");
                if fields.is_empty() && misspelt.is_empty() && !members.is_empty() {
                    // Only unknown fields: almost always the wrong thing
                    // pasted, never "a request body with 0 rules".
                    let names: Vec<String> =
                        members.iter().take(5).map(|m| format!("{:?}", m.key)).collect();
                    self.push(
                        Code::TopLevelShape,
                        "",
                        Span::new(root.span.start, root.span.start + 1),
                        format!(
                            "the object has none of the fields of a token request body or payload ({}), only {}{}",
                            TOP_FIELDS.join(", "),
                            names.join(", "),
                            if members.len() > 5 { ", …" } else { "" }
                        ),
                        Some(
                            r#"paste the rule array, the request body {"accessRules": [...]}, or the token"#
                                .into(),
                        ),
                    );
                }
                let get = |k: &str| fields.iter().find(|(n, _)| *n == k).map(|(_, m)| &m.value);
                for key in [FIELD_ID, FIELD_PEM, FIELD_SUB, FIELD_KID] {
                    if let Some(v) = get(key) {
                        if !matches!(v.kind, NodeKind::String(_)) {
                            self.wrong_type(&format!("/{key}"), v, &format!("`{key}`"), "a string");
                        }
                    }
                }
                if let Some(v) = get(FIELD_FLAGS) {
                    if !matches!(v.kind, NodeKind::Object(_)) {
                        self.wrong_type(
                            "/flags",
                            v,
                            "`flags`",
                            "an object, such as {\"original\": true}",
                        );
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
