//! Validation: every finding of SPEC §3 in one pass.
//!
//! [`validate`] is a pure function of the document and [`Options`] (the
//! time included): it never reads the clock, never stops at the first
//! problem and never panics. A document with any error has no
//! [`Validation::rule_set`], so it is never compiled or simulated.

use std::fmt;

use base64::Engine;
use ipnet::IpNet;

use crate::diagnostic::{pointer_push, Code, Diagnostic, Related, Severity};
use crate::document::{Document, InputForm, Limits};
use crate::lint::{self, RuleSource};
use crate::rules::country;
use crate::rules::network as ip;
use crate::rules::{network_to_string, Action, CountryCode, Rule, RuleKind, RuleSet};
use crate::schema::{
    misspelt_field, suggest_action, suggest_type, ACTIONS, FIELD_ACCESS_RULES, FIELD_ACTION,
    FIELD_COUNTRY, FIELD_DOWNLOADABLE, FIELD_EXP, FIELD_IAT, FIELD_ID, FIELD_IP, FIELD_KID,
    FIELD_NBF, FIELD_PEM, FIELD_SUB, FIELD_TYPE, MAX_RULES, MAX_TOKEN_LIFETIME_SECS, RULE_FIELDS,
    RULE_TYPES, TOP_FIELDS,
};
use crate::syntax::json::{Member, Node, NodeKind, Span};

/// An `exp`/`nbf` at or above this (year 5138 in seconds, 1973 in
/// milliseconds) is read as milliseconds.
const MILLISECONDS_THRESHOLD: i64 = 100_000_000_000;

/// What validation needs besides the document: the clock and the limits.
///
/// The clock is explicit so that no caller skips the token time checks
/// (`exp` already past, more than 24 hours ahead) by accident:
/// [`Options::now`] reads the system clock, [`Options::at`] fixes "now",
/// and [`Options::without_clock`] says in its name that those checks are
/// skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    now: Option<i64>,
    limits: Limits,
}

impl Options {
    /// "Now" is `unix_seconds` (seconds since 1970-01-01T00:00:00Z), the
    /// issue time that `exp` and `nbf` are checked against.
    pub fn at(unix_seconds: i64) -> Options {
        Options { now: Some(unix_seconds), limits: Limits::default() }
    }

    /// "Now" is the system clock at this call (a clock before 1970 reads
    /// as 0).
    pub fn now() -> Options {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        Options::at(secs)
    }

    /// No clock: the checks that need "now" (expired, too far ahead, not
    /// yet valid) are skipped; every other check runs.
    pub fn without_clock() -> Options {
        Options { now: None, limits: Limits::default() }
    }

    /// The same options with other size, depth and entry limits.
    pub fn with_limits(self, limits: Limits) -> Options {
        Options { limits, ..self }
    }

    /// "Now" in Unix seconds; `None` without a clock.
    pub fn clock(&self) -> Option<i64> {
        self.now
    }

    /// The size, depth and entry limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

/// The result of validating one document: all diagnostics in source order,
/// and the typed rules when there is no error.
#[derive(Clone, Debug)]
pub struct Validation {
    document: Option<Document>,
    /// The text positions refer to when there is no document (a syntax
    /// error).
    unparsed_source: Option<String>,
    diagnostics: Vec<Diagnostic>,
    rule_set: Option<RuleSet>,
}

impl Validation {
    /// Whether there is no error (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.rule_set.is_some()
    }

    /// The typed rules: `Some` exactly when the document has no error.
    pub fn rule_set(&self) -> Option<&RuleSet> {
        self.rule_set.as_ref()
    }

    /// Every finding, errors and warnings, in source order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The number of errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Error).count()
    }

    /// The number of warnings.
    pub fn warning_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Warning).count()
    }

    /// The text that diagnostic spans refer to: the document's JSON (a
    /// JWT's decoded payload), also when it has a syntax error; `None`
    /// when the input is not text or was refused unread.
    pub fn source(&self) -> Option<&str> {
        self.document.as_ref().map(Document::source).or(self.unparsed_source.as_deref())
    }

    /// The parsed document; `None` when the input could not be read as one
    /// (size, encoding, JSON syntax).
    pub fn document(&self) -> Option<&Document> {
        self.document.as_ref()
    }
}

/// Reads and validates `input` (any form of SPEC §1).
///
/// # Example
///
/// ```
/// use accessrules::{check, Options};
/// let v = check(br#"[{"type":"ip.geoip.country","country":["UK"],"action":"block"}]"#, &Options::at(1_767_225_600));
/// assert!(!v.is_valid());
/// assert_eq!(v.diagnostics()[0].code.as_str(), "country-unassigned");
/// assert_eq!(v.diagnostics()[0].path(), "/0/country/0");
/// assert_eq!(v.diagnostics()[0].help.as_deref(), Some("write \"GB\""));
/// ```
pub fn check(input: &[u8], options: &Options) -> Validation {
    match Document::parse(input, &options.limits()) {
        Ok(doc) => validate(doc, options),
        Err(d) => {
            let unparsed_source = d.location.span.and_then(|_| crate::document::source_text(input));
            Validation { document: None, unparsed_source, diagnostics: vec![*d], rule_set: None }
        }
    }
}

impl Validation {
    /// The rule set when the document has no error, else [`Invalid`] with
    /// every diagnostic (warnings included).
    ///
    /// # Errors
    ///
    /// [`Invalid`] when the document has at least one error.
    pub fn into_result(self) -> Result<RuleSet, Invalid> {
        match self.rule_set.clone() {
            Some(rules) => Ok(rules),
            None => Err(Invalid { validation: Box::new(self) }),
        }
    }
}

/// A rule document with at least one error, as returned by
/// [`RuleSet::from_json`] and [`crate::Matcher::from_json`].
///
/// Displays a one-line summary naming the first error (`invalid rule
/// document: 2 errors; first: /0/country/0: ...`); [`Invalid::diagnostics`]
/// gives every finding. Implements [`std::error::Error`] + `Send + Sync`,
/// so `?` converts it into `Box<dyn Error>` or `anyhow::Error`.
#[derive(Clone, Debug)]
pub struct Invalid {
    validation: Box<Validation>,
}

impl Invalid {
    /// Every finding, errors and warnings, in source order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        self.validation.diagnostics()
    }

    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> + '_ {
        self.diagnostics().iter().filter(|d| d.is_error())
    }

    /// The whole validation (source text, document form, counts).
    pub fn validation(&self) -> &Validation {
        &self.validation
    }

    /// The whole validation, by value.
    pub fn into_validation(self) -> Validation {
        *self.validation
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.validation.error_count();
        write!(f, "invalid rule document: {n} error{}", if n == 1 { "" } else { "s" })?;
        if let Some(d) = self.errors().next() {
            let at = if d.path().is_empty() { "(root)" } else { d.path() };
            write!(f, "; first: {at}: {} [{}]", d.message, d.code)?;
        }
        Ok(())
    }
}

impl std::error::Error for Invalid {}

impl RuleSet {
    /// Reads and validates a rule document (any input form: rule array,
    /// request body, token payload, JWT) with the system clock as "now".
    ///
    /// # Errors
    ///
    /// [`Invalid`] when the document has at least one error.
    ///
    /// # Example
    ///
    /// ```
    /// let rules = accessrules::RuleSet::from_json(br#"[{"type":"any","action":"block"}]"#)?;
    /// assert_eq!(rules.len(), 1);
    /// # Ok::<(), accessrules::Invalid>(())
    /// ```
    pub fn from_json(bytes: &[u8]) -> Result<RuleSet, Invalid> {
        RuleSet::from_json_with(bytes, &Options::now())
    }

    /// [`RuleSet::from_json`] with explicit [`Options`] (clock, limits).
    ///
    /// # Errors
    ///
    /// [`Invalid`] when the document has at least one error.
    pub fn from_json_with(bytes: &[u8], options: &Options) -> Result<RuleSet, Invalid> {
        check(bytes, options).into_result()
    }
}

/// Validates a parsed document: errors and warnings, all of them.
pub(crate) fn validate(document: Document, options: &Options) -> Validation {
    let mut cx = Cx { doc: &document, options, diags: Vec::new() };
    let rules_node = cx.top_level();
    let mut rules = Vec::new();
    let mut sources = Vec::new();
    if let Some((node, path)) = rules_node {
        cx.rule_array(node, &path, &mut rules, &mut sources);
    }
    let has_error = cx.diags.iter().any(Diagnostic::is_error);
    let rule_set = (!has_error).then(|| RuleSet::new(rules.into_iter().flatten().collect()));
    let mut diagnostics = cx.diags;
    if let Some(rule_set) = &rule_set {
        diagnostics.extend(lint::rule_warnings(rule_set, &sources));
    }
    diagnostics.sort_by_key(|d| (d.location.span.map_or(usize::MAX, |s| s.start), d.severity));
    Validation { document: Some(document), unparsed_source: None, diagnostics, rule_set }
}

struct Cx<'a> {
    doc: &'a Document,
    options: &'a Options,
    diags: Vec<Diagnostic>,
}

/// What [`Cx::enum_field`] checks one field against.
struct EnumField {
    name: &'static str,
    allowed: &'static [&'static str],
    suggest: fn(&str) -> Option<&'static str>,
    missing: Code,
    unknown: Code,
    what: &'static str,
}

impl<'a> Cx<'a> {
    fn is_jwt(&self) -> bool {
        self.doc.form() == InputForm::Jwt
    }

    fn push(
        &mut self,
        code: Code,
        path: &str,
        span: Span,
        message: String,
        help: Option<String>,
    ) -> &mut Diagnostic {
        let location = self.doc.location(path.to_owned(), span);
        self.diags.push(Diagnostic {
            severity: code.default_severity(),
            code,
            location,
            message,
            help,
            related: vec![],
        });
        self.diags.last_mut().expect("just pushed")
    }

    /// Reports members of `obj` that are duplicates, misspellings or
    /// unknown. Returns the known members by name (first occurrence) and
    /// the known names that have a misspelt stand-in.
    fn members<'n>(
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

    fn wrong_type(&mut self, path: &str, node: &Node, what: &str, expected: &str) {
        self.push(
            Code::WrongType,
            path,
            node.span,
            format!("{what} is {}; it must be {expected}", node.kind.type_name()),
            None,
        );
    }

    /// Checks the top level; returns the rule array and its pointer.
    fn top_level(&mut self) -> Option<(&'a Node, String)> {
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

    fn time_severity_fix(&mut self) {
        if self.is_jwt() {
            if let Some(d) = self.diags.last_mut() {
                d.severity = Severity::Warning;
            }
        }
    }

    /// Reads `exp`/`nbf`/`iat`: an integer number of seconds.
    fn time_value(&mut self, name: &str, node: &Node) -> Option<i64> {
        let path = format!("/{name}");
        let value = match &node.kind {
            NodeKind::Number(raw) => match raw.parse::<i64>() {
                Ok(v) => v,
                Err(_) => {
                    let whole =
                        raw.parse::<f64>().ok().filter(|f| f.fract() == 0.0 && f.abs() < 9e15);
                    self.push(
                        Code::TimeNotInteger,
                        &path,
                        node.span,
                        format!("`{name}` is {raw}, not an integer number of seconds"),
                        whole.map(|w| format!("write {}", w as i64)),
                    );
                    self.time_severity_fix();
                    return whole.map(|w| w as i64);
                }
            },
            NodeKind::String(s) => {
                let parsed = s.trim().parse::<i64>().ok();
                self.push(
                    Code::TimeNotInteger,
                    &path,
                    node.span,
                    format!("`{name}` is the string {}; the service wants an integer", quoted(s)),
                    parsed.map(|v| format!("write {v} without quotes")),
                );
                self.time_severity_fix();
                parsed?
            }
            _ => {
                self.wrong_type(&path, node, &format!("`{name}`"), "an integer (Unix seconds)");
                return None;
            }
        };
        if value >= MILLISECONDS_THRESHOLD {
            self.push(
                Code::TimeMilliseconds,
                &path,
                node.span,
                format!("`{name}` {value} looks like milliseconds; it must be Unix seconds"),
                // Only suggest the division when it gives a plausible time
                // (after 2001-09-09).
                (value / 1000 >= 1_000_000_000).then(|| format!("write {}", value / 1000)),
            );
            self.time_severity_fix();
            return None;
        }
        Some(value)
    }

    fn times(&mut self, exp: Option<&Node>, nbf: Option<&Node>, iat: Option<&Node>) {
        let exp_v = exp.and_then(|n| self.time_value(FIELD_EXP, n));
        let nbf_v = nbf.and_then(|n| self.time_value(FIELD_NBF, n));
        let iat_v = iat.and_then(|n| self.time_value(FIELD_IAT, n));
        let (Some(exp_node), Some(exp_v)) = (exp, exp_v) else { return };
        if let Some(nbf_v) = nbf_v {
            if exp_v <= nbf_v {
                self.push(
                    Code::ExpNotAfterNbf,
                    "/exp",
                    exp_node.span,
                    format!("`exp` {exp_v} is not after `nbf` {nbf_v}: the token is never valid"),
                    None,
                );
                self.time_severity_fix();
            }
        }
        let Some(now) = self.options.clock() else { return };
        // An existing token (JWT) was issued at `iat` or `nbf`; a request
        // is issued now.
        let issued = if self.is_jwt() { iat_v.or(nbf_v).unwrap_or(now) } else { now };
        if exp_v <= now {
            self.push(
                Code::Expired,
                "/exp",
                exp_node.span,
                if exp_v == now {
                    format!("`exp` {exp_v} is now: the token expires as it is issued")
                } else {
                    format!(
                        "`exp` {exp_v} is {} before now ({now}): the token has expired",
                        duration(now - exp_v)
                    )
                },
                (!self.is_jwt()).then(|| format!("write a time after now, e.g. {}", now + 3600)),
            );
            self.time_severity_fix();
        } else if exp_v - issued > MAX_TOKEN_LIFETIME_SECS {
            self.push(
                Code::ExpTooFar,
                "/exp",
                exp_node.span,
                format!(
                    "`exp` {exp_v} is {} after the issue time {issued}; tokens live at most 24 hours",
                    duration(exp_v - issued)
                ),
                (!self.is_jwt()).then(|| format!("write at most {}", issued + MAX_TOKEN_LIFETIME_SECS)),
            );
            self.time_severity_fix();
        }
    }

    fn key_pair(&mut self, id: Option<&Node>, pem: Option<&Node>) {
        let root_span = Span::new(self.doc.root.span.start, self.doc.root.span.start + 1);
        match (id, pem) {
            (Some(_), None) => {
                self.push(
                    Code::KeyPairing,
                    "",
                    root_span,
                    "`id` is given without `pem`: a signing key needs both".into(),
                    Some("add the key's `pem`, or remove `id`".into()),
                );
            }
            (None, Some(_)) => {
                self.push(
                    Code::KeyPairing,
                    "",
                    root_span,
                    "`pem` is given without `id`: a signing key needs both".into(),
                    Some("add the key's `id`, or remove `pem`".into()),
                );
            }
            _ => {}
        }
        if let Some(node @ Node { kind: NodeKind::String(pem), .. }) = pem {
            if let Err((message, help)) = check_pem(pem) {
                self.push(Code::InvalidPem, "/pem", node.span, message, help);
            }
        }
    }

    fn rule_array(
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
                Some("merge rules of the same type and action".into()),
            );
        }
        for (i, item) in items.iter().enumerate() {
            let rule_path = pointer_push(path, &i.to_string());
            let (rule, source) = self.rule(item, &rule_path, i);
            rules.push(rule);
            sources.push(source);
        }
    }

    fn rule(&mut self, node: &Node, path: &str, index: usize) -> (Option<Rule>, RuleSource) {
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
    fn enum_field(
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

    fn ignored(&mut self, node: &Node, rule_path: &str, field: &str, type_name: &str) {
        // It takes no part, but a value of the wrong JSON type is still an
        // error (SPEC §3); its entries are not read.
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

    /// The string entries of a list field, or `None` after reporting why not.
    fn string_list<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        field: &str,
    ) -> Option<Vec<(&'n str, Span)>> {
        let NodeKind::Array(items) = &node.kind else {
            let help = match &node.kind {
                NodeKind::String(s) if s.len() <= 100 => Some(format!("write [{s:?}]")),
                _ => None,
            };
            self.push(
                Code::WrongType,
                path,
                node.span,
                format!("`{field}` is {}; it must be an array of strings", node.kind.type_name()),
                help,
            );
            return None;
        };
        let (code, example) = if field == FIELD_IP {
            (Code::MissingIp, "203.0.113.0/24")
        } else {
            (Code::MissingCountry, "US")
        };
        if items.is_empty() {
            self.push(
                code,
                path,
                node.span,
                format!("`{field}` is empty, so the rule can match nobody"),
                Some(format!("list at least one entry, e.g. [{example:?}]")),
            );
            return None;
        }
        let max = self.options.limits().max_entries_per_rule;
        if items.len() > max {
            self.push(
                Code::TooManyEntries,
                path,
                node.span,
                format!("`{field}` has {} entries, over the limit of {max}", items.len()),
                Some("shorten the list (the library's `Limits::max_entries_per_rule` sets the limit)".into()),
            );
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (j, item) in items.iter().enumerate() {
            match &item.kind {
                NodeKind::String(s) => out.push((s.as_str(), item.span)),
                _ => {
                    ok = false;
                    let p = pointer_push(path, &j.to_string());
                    self.push(
                        Code::WrongType,
                        &p,
                        item.span,
                        format!(
                            "`{field}` entry {j} is {}; it must be a string",
                            item.kind.type_name()
                        ),
                        None,
                    );
                }
            }
        }
        ok.then_some(out)
    }

    /// The span of `part` (a byte range inside the string value) when the
    /// string is written without escapes; the whole value otherwise.
    fn sub_span(&self, value: &str, span: Span, part: Option<(usize, usize)>) -> Span {
        match part {
            Some((a, b)) if span.end - span.start == value.len() + 2 && b > a => {
                Span::new(span.start + 1 + a, span.start + 1 + b)
            }
            _ => span,
        }
    }

    fn ip_list(&mut self, node: &Node, path: &str, source: &mut RuleSource) -> Option<Vec<IpNet>> {
        let entries = self.string_list(node, path, FIELD_IP)?;
        let mut nets = Vec::with_capacity(entries.len());
        let mut ok = true;
        for (j, (s, span)) in entries.iter().enumerate() {
            let p = pointer_push(path, &j.to_string());
            source.entries.push(self.doc.location(p.clone(), *span));
            match ip::parse_entry(s) {
                Ok(net) => {
                    self.entry_warnings(&net, s, &p, *span);
                    nets.push(net);
                }
                Err(e) => {
                    ok = false;
                    // Line and column of the value (SPEC §3); the underline
                    // narrows to the bad part (octet, prefix, zone id).
                    let sub = self.sub_span(s, *span, e.part);
                    self.push(e.code, &p, *span, e.message, e.help).location.span = Some(sub);
                }
            }
        }
        self.duplicate_networks(&nets, source);
        ok.then_some(nets)
    }

    fn entry_warnings(&mut self, net: &IpNet, written: &str, path: &str, span: Span) {
        if net.prefix_len() == 0 {
            let other = if net.addr().is_ipv4() { "::/0" } else { "0.0.0.0/0" };
            self.push(
                Code::ZeroPrefix,
                path,
                span,
                format!("{written:?} matches every {} viewer", family(net)),
                Some(format!(
                    "use a rule of type \"any\" to match everyone; {written:?} does not cover {other}"
                )),
            );
        } else if *net != net.trunc() {
            self.push(
                Code::HostBitsSet,
                path,
                span,
                format!("{written:?} has host bits set; it means the network {}", net.trunc()),
                Some(format!("write {:?}", net.trunc().to_string())),
            );
        }
        if let IpNet::V6(v6) = net {
            if let Some(v4) = v6.addr().to_ipv4_mapped() {
                let v4_text = if v6.prefix_len() >= 96 {
                    network_to_string(&IpNet::new(v4.into(), v6.prefix_len() - 96).unwrap_or(*net))
                } else {
                    v4.to_string()
                };
                self.push(
                    Code::Ipv4MappedEntry,
                    path,
                    span,
                    format!(
                        "{written:?} is an IPv4-mapped IPv6 entry; viewers arrive as IPv4, so it never matches"
                    ),
                    Some(format!("write {v4_text:?}")),
                );
                return;
            }
        }
        if let Some(what) = ip::non_routable(net) {
            self.push(
                Code::NonRoutableEntry,
                path,
                span,
                format!("{written:?} is {what}; no viewer at the edge has such an address"),
                Some("use the public addresses your viewers have".into()),
            );
        }
    }

    /// Duplicate and nested entries within one rule's `ip` list.
    fn duplicate_networks(&mut self, nets: &[IpNet], source: &RuleSource) {
        if nets.len() < 2 {
            return;
        }
        let key = |n: &IpNet| match n {
            IpNet::V4(v4) => {
                (0u8, u128::from(u32::from(v4.network())), u128::from(u32::from(v4.broadcast())))
            }
            IpNet::V6(v6) => (1u8, u128::from(v6.network()), u128::from(v6.broadcast())),
        };
        let mut order: Vec<usize> = (0..nets.len()).collect();
        order.sort_by_key(|&i| {
            let (f, lo, hi) = key(&nets[i]);
            (f, lo, std::cmp::Reverse(hi), i)
        });
        let mut redundant: Vec<(usize, usize)> = Vec::new(); // (entry, covering entry)
        let mut cover: Option<usize> = None;
        for &i in &order {
            let (f, _, hi) = key(&nets[i]);
            match cover {
                Some(c) if key(&nets[c]).0 == f && key(&nets[c]).2 >= hi => redundant.push((i, c)),
                _ => cover = Some(i),
            }
        }
        if redundant.is_empty() {
            return;
        }
        redundant.sort_unstable();
        let dropped: Vec<usize> = redundant.iter().map(|(i, _)| *i).collect();
        let merged: Vec<String> = (0..nets.len())
            .filter(|i| !dropped.contains(i))
            .map(|i| format!("{:?}", network_to_string(&nets[i].trunc())))
            .collect();
        let help = if merged.len() <= 16 {
            format!("write [{}]", merged.join(", "))
        } else {
            "remove the repeated entries".into()
        };
        for (i, c) in redundant {
            let (code, message) = if key(&nets[i]) == key(&nets[c]) {
                (Code::DuplicateEntry, format!("{} repeats entry {c} of the same rule", nets[i]))
            } else {
                (
                    Code::NestedEntry,
                    format!("{} lies inside entry {c} ({}) of the same rule", nets[i], nets[c]),
                )
            };
            let loc = source.entries[i].clone();
            let related =
                Related { location: source.entries[c].clone(), label: "covering entry".into() };
            self.diags.push(Diagnostic {
                severity: code.default_severity(),
                code,
                location: loc,
                message,
                help: Some(help.clone()),
                related: vec![related],
            });
        }
    }

    fn country_list(
        &mut self,
        node: &Node,
        path: &str,
        source: &mut RuleSource,
    ) -> Option<Vec<CountryCode>> {
        let entries = self.string_list(node, path, FIELD_COUNTRY)?;
        let mut codes: Vec<CountryCode> = Vec::with_capacity(entries.len());
        let mut ok = true;
        let mut first_at: std::collections::HashMap<CountryCode, usize> = Default::default();
        for (j, (s, span)) in entries.iter().enumerate() {
            let p = pointer_push(path, &j.to_string());
            source.entries.push(self.doc.location(p.clone(), *span));
            let help = country::suggestion(s).map(|c| format!("write \"{c}\""));
            let qs = quoted(s);
            match CountryCode::new(s) {
                Some(code) if country::is_assigned(code) => {
                    if let Some(&first) = first_at.get(&code) {
                        let rel = Related {
                            location: source.entries[first].clone(),
                            label: "first entry".into(),
                        };
                        let d = self.push(
                            Code::DuplicateEntry,
                            &p,
                            *span,
                            format!("{qs} repeats entry {first} of the same rule"),
                            Some("remove the repeated entry".into()),
                        );
                        d.related.push(rel);
                    } else {
                        first_at.insert(code, j);
                    }
                    codes.push(code);
                }
                Some(code) if country::pseudo_code(s).is_some() => {
                    let what = country::pseudo_code(s).unwrap_or_default();
                    self.push(
                        Code::PseudoCountry,
                        &p,
                        *span,
                        format!("{qs} is {what}; country databases rarely give it, so it matches only viewers whose country is given or looked up as {s}"),
                        Some("list the ISO 3166-1 codes of the countries meant".into()),
                    );
                    codes.push(code);
                }
                Some(_) => {
                    ok = false;
                    self.push(
                        Code::CountryUnassigned,
                        &p,
                        *span,
                        format!("{qs} is not an assigned ISO 3166-1 alpha-2 country code"),
                        help,
                    );
                }
                None if CountryCode::new_case_insensitive(s).is_some() => {
                    ok = false;
                    self.push(
                        Code::CountryCase,
                        &p,
                        *span,
                        format!("{qs} is not upper case; country codes are two upper-case letters"),
                        help,
                    );
                }
                None => {
                    ok = false;
                    self.push(
                        Code::InvalidCountry,
                        &p,
                        *span,
                        format!("{qs} is not a two-letter ISO 3166-1 alpha-2 country code"),
                        help,
                    );
                }
            }
        }
        ok.then_some(codes)
    }
}

/// `value` quoted for a message, cut to 40 characters so that a huge value
/// is never echoed whole.
fn quoted(value: &str) -> String {
    if value.chars().count() <= 40 {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(40).collect();
        format!("{head:?}… ({} bytes)", value.len())
    }
}

fn family(net: &IpNet) -> &'static str {
    if net.addr().is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

/// `45 s`, `12 min 5 s`, `24 h 0 min 1 s`, `3 days 2 h`: exact below
/// two days, so "24 h" never hides a second over the limit.
fn duration(secs: i64) -> String {
    let secs = secs.unsigned_abs();
    let (d, h, m, s) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    if d >= 2 {
        format!("{d} days {h} h")
    } else if secs >= 3600 {
        format!("{} h {m} min {s} s", secs / 3600)
    } else if secs >= 60 {
        format!("{m} min {s} s")
    } else {
        format!("{s} s")
    }
}

/// Checks that `pem` is base64 of a PEM RSA private key (PKCS#1
/// `RSA PRIVATE KEY`, or PKCS#8 `PRIVATE KEY` holding the rsaEncryption
/// algorithm), as the Stream signing-key API returns it.
fn check_pem(pem: &str) -> Result<(), (String, Option<String>)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    if pem.trim_start().starts_with("-----BEGIN") {
        return Err((
            "`pem` is a PEM text; the service wants it base64-encoded".into(),
            Some("write the output of `base64 -w0 key.pem`".into()),
        ));
    }
    let compact: String = pem.chars().filter(|c| !c.is_whitespace()).collect();
    let decoded = b64.decode(compact.as_bytes()).map_err(|e| {
        (
            format!("`pem` is not base64 ({e})"),
            Some("write the output of `base64 -w0 key.pem`".into()),
        )
    })?;
    let text = String::from_utf8(decoded)
        .map_err(|_| ("`pem` decodes to binary data, not a PEM text".to_owned(), None))?;
    let label = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("-----BEGIN ").and_then(|r| r.strip_suffix("-----")))
        .ok_or_else(|| {
            ("`pem` decodes to text without a -----BEGIN ...----- line".to_owned(), None)
        })?
        .to_owned();
    if label != "RSA PRIVATE KEY" && label != "PRIVATE KEY" {
        return Err((
            format!("`pem` holds \"-----BEGIN {label}-----\", not an RSA private key"),
            None,
        ));
    }
    let body: String = text
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    if !text.contains(&format!("-----END {label}-----")) {
        return Err((format!("`pem` has no -----END {label}----- line"), None));
    }
    let der = b64
        .decode(body.as_bytes())
        .map_err(|e| (format!("the PEM body in `pem` is not base64 ({e})"), None))?;
    const RSA_ENCRYPTION_OID: &[u8] =
        &[0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
    let is_rsa = match label.as_str() {
        "RSA PRIVATE KEY" => der.first() == Some(&0x30),
        _ => der.windows(RSA_ENCRYPTION_OID.len()).any(|w| w == RSA_ENCRYPTION_OID),
    };
    if !is_rsa {
        return Err(("the key in `pem` is not an RSA private key".into(), None));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &str) -> Validation {
        check(s.as_bytes(), &Options::at(1_767_225_600))
    }

    fn codes(s: &str) -> Vec<(String, String)> {
        run(s)
            .diagnostics()
            .iter()
            .map(|d| (d.code.as_str().to_owned(), d.path().to_owned()))
            .collect()
    }

    fn has(s: &str, code: &str, path: &str) -> bool {
        let c = codes(s);
        let found = c.iter().any(|(cc, p)| cc == code && p == path);
        assert!(found, "expected {code} at {path:?} in {c:?}");
        found
    }

    #[test]
    fn valid_documents() {
        let v = run(
            r#"[{"type":"ip.src","ip":["93.184.216.0/24"],"action":"allow"},{"type":"any","action":"block"}]"#,
        );
        assert!(v.is_valid(), "{:?}", v.diagnostics());
        assert_eq!(v.rule_set().unwrap().rules.len(), 2);
    }

    #[test]
    fn bad_ip_refuses_whole_document() {
        let v =
            run(r#"[{"type":"ip.src","ip":["198.51.100.0/24","87.116.349.35"],"action":"block"}]"#);
        assert!(!v.is_valid());
        assert!(v.rule_set().is_none());
        has(
            r#"[{"type":"ip.src","ip":["198.51.100.0/24","87.116.349.35"],"action":"block"}]"#,
            "invalid-ip",
            "/0/ip/1",
        );
    }

    #[test]
    fn field_names_are_case_sensitive() {
        let doc = r#"{"AccessRules":[{"Type":"ip.src","Action":"block","Ip":["203.0.113.0/24"]}]}"#;
        has(doc, "misspelt-field", "/AccessRules");
        let v = run(doc);
        assert!(!v.is_valid());
        let body =
            r#"{"accessRules":[{"Type":"ip.src","action":"block","ips":["203.0.113.0/24"]}]}"#;
        has(body, "misspelt-field", "/accessRules/0/Type");
        has(body, "misspelt-field", "/accessRules/0/ips");
        assert!(
            !codes(body).iter().any(|(c, _)| c == "missing-type"),
            "no second error for the same field"
        );
    }

    #[test]
    fn rule_errors() {
        has(r#"[{"action":"block"}]"#, "missing-type", "/0");
        has(r#"[{"type":"any"}]"#, "missing-action", "/0");
        has(
            r#"[{"type":"ip.geoip.Country","country":["US"],"action":"block"}]"#,
            "unknown-type",
            "/0/type",
        );
        has(r#"[{"type":"any","action":"Allow"}]"#, "unknown-action", "/0/action");
        has(r#"[{"type":"ip.src","action":"block"}]"#, "missing-ip", "/0");
        has(r#"[{"type":"ip.src","ip":[],"action":"block"}]"#, "missing-ip", "/0/ip");
        has(r#"[{"type":"ip.geoip.country","action":"block"}]"#, "missing-country", "/0");
        has(
            r#"[{"type":"ip.geoip.country","country":[],"action":"block"}]"#,
            "missing-country",
            "/0/country",
        );
        has(r#"[{"type":"ip.src","ip":"1.2.3.4","action":"block"}]"#, "wrong-type", "/0/ip");
        has(r#"[{"type":"ip.src","ip":[7],"action":"block"}]"#, "wrong-type", "/0/ip/0");
        has(r#"[{"type":1,"action":"block"}]"#, "wrong-type", "/0/type");
        has(r#"["any"]"#, "wrong-type", "/0");
        has(r#""any""#, "top-level-shape", "");
        has(r#"{"accessRules":{}}"#, "wrong-type", "/accessRules");
        has(r#"[{"type":"any","action":"allow","action":"block"}]"#, "duplicate-key", "/0/action");
        let six = format!("[{}]", [r#"{"type":"any","action":"block"}"#; 6].join(","));
        has(&six, "too-many-rules", "");
    }

    #[test]
    fn unknown_type_is_never_any() {
        let v = run(r#"[{"type":"everything","action":"block"}]"#);
        assert!(!v.is_valid());
        let d = &v.diagnostics()[0];
        assert_eq!(d.code, Code::UnknownType);
        assert_eq!(d.help.as_deref(), Some("did you mean \"any\"? Values are case-sensitive"));
    }

    #[test]
    fn country_errors() {
        let doc = r#"[{"type":"ip.geoip.country","country":["UK","gb","USA","DEU","U.S.","XK"],"action":"block"}]"#;
        let v = run(doc);
        let got: Vec<(&str, &str, Option<&str>)> = v
            .diagnostics()
            .iter()
            .map(|d| (d.code.as_str(), d.path(), d.help.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("country-unassigned", "/0/country/0", Some("write \"GB\"")),
                ("country-case", "/0/country/1", Some("write \"GB\"")),
                ("invalid-country", "/0/country/2", Some("write \"US\"")),
                ("invalid-country", "/0/country/3", Some("write \"DE\"")),
                ("invalid-country", "/0/country/4", Some("write \"US\"")),
            ]
        );
    }

    #[test]
    fn token_errors() {
        has(r#"{"exp": 1767229200000, "accessRules": []}"#, "time-milliseconds", "/exp");
        let v = run(r#"{"exp": 1767229200000, "accessRules": []}"#);
        assert_eq!(v.diagnostics()[0].help.as_deref(), Some("write 1767229200"));
        has(r#"{"exp": "1767229200"}"#, "time-not-integer", "/exp");
        assert_eq!(
            run(r#"{"exp": "1767229200"}"#).diagnostics()[0].help.as_deref(),
            Some("write 1767229200 without quotes")
        );
        has(r#"{"exp": 1767229200.5}"#, "time-not-integer", "/exp");
        has(r#"{"exp": true}"#, "wrong-type", "/exp");
        has(r#"{"exp": 1767400000}"#, "exp-too-far", "/exp");
        has(r#"{"exp": 1767220000}"#, "expired", "/exp");
        has(r#"{"exp": 1767229200, "nbf": 1767229200}"#, "exp-not-after-nbf", "/exp");
        has(r#"{"id": "k"}"#, "key-pairing", "");
        has(r#"{"pem": "x"}"#, "key-pairing", "");
        has(r#"{"id": "k", "pem": "not base64!"}"#, "invalid-pem", "/pem");
        has(r#"{"downloadable": "yes"}"#, "wrong-type", "/downloadable");
        assert!(run(r#"{"exp": 1767229200, "nbf": 1767225600, "accessRules": []}"#).is_valid());
    }

    #[test]
    fn pem_shapes() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        // PKCS#1 body: a SEQUENCE.
        let pkcs1 = format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
            b64("0\u{1}")
        );
        assert!(check_pem(&b64(&pkcs1)).is_ok());
        let public = "-----BEGIN PUBLIC KEY-----\nMA==\n-----END PUBLIC KEY-----\n";
        assert!(check_pem(&b64(public)).unwrap_err().0.contains("PUBLIC KEY"));
        assert!(check_pem(&pkcs1).unwrap_err().1.unwrap().contains("base64"));
        let ec8 = "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n";
        assert!(check_pem(&b64(ec8)).is_err());
    }

    #[test]
    fn jwt_time_findings_are_warnings() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!(
            "{}.{}.sig",
            b64(r#"{"alg":"RS256","kid":"k"}"#),
            b64(
                r#"{"sub":"v","kid":"k","exp":"1767000000","accessRules":[{"type":"any","action":"block"}]}"#
            )
        );
        let v = run(&jwt);
        assert!(v.is_valid(), "{:?}", v.diagnostics());
        assert!(v
            .diagnostics()
            .iter()
            .any(|d| d.code == Code::TimeNotInteger && d.severity == Severity::Warning));
        assert!(v
            .diagnostics()
            .iter()
            .any(|d| d.code == Code::Expired && d.severity == Severity::Warning));
    }

    #[test]
    fn positions_point_at_values() {
        let doc = "[\n  {\"type\": \"ip.src\",\n   \"ip\": [\"198.51.100.0/24\", \"87.116.349.35\"],\n   \"action\": \"block\"}\n]";
        let v = run(doc);
        let d = v.diagnostics().iter().find(|d| d.code == Code::InvalidIp).unwrap();
        // Line and column of the value; the underline is the bad octet `349`.
        assert_eq!((d.location.line, d.location.column), (Some(3), Some(30)));
        let span = d.location.span.unwrap();
        assert_eq!(&doc[span.start..span.end], "349");
    }

    #[test]
    fn entry_warnings() {
        has(
            r#"[{"type":"ip.src","ip":["93.184.216.34/24"],"action":"block"}]"#,
            "host-bits-set",
            "/0/ip/0",
        );
        has(
            r#"[{"type":"ip.src","ip":["::ffff:93.184.216.34"],"action":"block"}]"#,
            "ipv4-mapped-entry",
            "/0/ip/0",
        );
        has(
            r#"[{"type":"ip.src","ip":["10.0.0.0/8"],"action":"block"}]"#,
            "non-routable-entry",
            "/0/ip/0",
        );
        has(r#"[{"type":"ip.src","ip":["0.0.0.0/0"],"action":"block"}]"#, "zero-prefix", "/0/ip/0");
        has(
            r#"[{"type":"ip.src","ip":["8.0.0.0/8","8.8.0.0/16"],"action":"block"}]"#,
            "nested-entry",
            "/0/ip/1",
        );
        has(
            r#"[{"type":"ip.src","ip":["8.8.8.8","8.8.8.8/32"],"action":"block"}]"#,
            "duplicate-entry",
            "/0/ip/1",
        );
        has(
            r#"[{"type":"ip.geoip.country","country":["EU"],"action":"block"}]"#,
            "pseudo-country",
            "/0/country/0",
        );
        has(
            r#"[{"type":"ip.geoip.country","country":["US","US"],"action":"block"}]"#,
            "duplicate-entry",
            "/0/country/1",
        );
        has(r#"[{"type":"any","ip":["8.8.8.8"],"action":"block"}]"#, "ignored-field", "/0/ip");
        has(r#"[{"type":"any","action":"block","note":"x"}]"#, "unknown-field", "/0/note");
    }

    #[test]
    fn rule_level_warnings() {
        let d = r#"[{"type":"any","action":"block"},{"type":"ip.geoip.country","country":["DE"],"action":"allow"}]"#;
        has(d, "never-decides", "/1");
        let v = run(d);
        let nd = v.diagnostics().iter().find(|x| x.code == Code::NeverDecides).unwrap();
        assert_eq!(nd.related[0].location.path, "/0");
        has(d, "blocks-everyone", "/0");

        let d = r#"[{"type":"ip.src","ip":["127.0.0.1"],"action":"allow"},{"type":"ip.geoip.country","country":["DE"],"action":"block"},{"type":"any","action":"block"}]"#;
        has(d, "non-routable-entry", "/0/ip/0");
        has(d, "redundant-rule", "/1");
        let v = run(d);
        let r = v.diagnostics().iter().find(|x| x.code == Code::RedundantRule).unwrap();
        assert_eq!(r.related[0].location.path, "/2");

        let d = r#"[{"type":"ip.src","ip":["192.0.2.0/25"],"action":"block"},{"type":"ip.src","ip":["192.0.2.128/25"],"action":"block"},{"type":"ip.src","ip":["192.0.2.0/24"],"action":"allow"}]"#;
        has(d, "never-decides", "/2");
        let v = run(d);
        let nd = v.diagnostics().iter().find(|x| x.code == Code::NeverDecides).unwrap();
        let rel: Vec<&str> = nd.related.iter().map(|r| r.location.path.as_str()).collect();
        assert_eq!(rel, ["/0", "/1"]);

        let d = r#"[{"type":"ip.geoip.country","country":["US"],"action":"allow"}]"#;
        has(d, "never-blocks", "/0");
        let v = run(d);
        assert!(v.is_valid());
        assert!(v.diagnostics()[0]
            .help
            .as_deref()
            .unwrap()
            .contains(r#"{"type": "any", "action": "block"}"#));

        has(
            r#"[{"type":"ip.src","ip":["8.8.8.0/24"],"action":"block"},{"type":"any","action":"allow"}]"#,
            "trailing-allow-any",
            "/1",
        );
        let d = r#"[{"type":"ip.src","ip":["93.184.216.0/24"],"action":"allow"},{"type":"any","action":"block"}]"#;
        has(d, "single-family-allow-list", "/0");
        let d = r#"[{"type":"ip.src","ip":["8.8.4.4"],"action":"allow"},{"type":"any","action":"block"}]"#;
        has(d, "single-host-allow", "/0/ip/0");
    }

    #[test]
    fn no_false_rule_warnings_on_a_plain_allow_list() {
        let d = r#"{"accessRules":[{"type":"ip.geoip.country","country":["US","CA"],"action":"allow"},{"type":"ip.src","ip":["8.8.0.0/16","2001:4860::/32"],"action":"allow"},{"type":"any","action":"block"}]}"#;
        let v = run(d);
        assert!(v.diagnostics().is_empty(), "{:?}", v.diagnostics());
    }
}
