//! Validation: every finding of docs/diagnostics.md in one pass.
//!
//! [`validate`] is a pure function of the document and [`Options`] (the
//! time included): it never reads the clock, never stops at the first
//! problem and never panics. A document with any error has no
//! [`Validation::rule_set`], so it is never compiled or simulated.

mod entries;
mod keys;
mod members;
mod rules;
mod times;
mod top_level;

use std::fmt;

use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::document::{Document, Limits};
use crate::lint::{self};
use crate::rules::RuleSet;
use crate::syntax::json::Span;

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
    /// The rules of a document whose only errors are `too-many-rules`
    /// (every rule itself valid): what `validate --fix` may compact.
    over_limit: Option<RuleSet>,
}

impl Validation {
    /// The rules of a document whose only error is that it has more than
    /// [`crate::MAX_RULES`] rules, each rule valid; `None` otherwise.
    pub(crate) fn rules_over_limit(&self) -> Option<&RuleSet> {
        self.over_limit.as_ref()
    }

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

/// Reads and validates `input` (any form of docs/semantics.md).
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
    match Document::parse(input, options.limits()) {
        Ok(doc) => validate(doc, options),
        Err(d) => {
            let unparsed_source = d.location.span.and_then(|_| crate::document::source_text(input));
            Validation {
                document: None,
                unparsed_source,
                diagnostics: vec![*d],
                rule_set: None,
                over_limit: None,
            }
        }
    }
}

impl Validation {
    /// A document refused before validation, with its one diagnostic.
    #[cfg_attr(not(feature = "signing"), allow(dead_code))]
    pub(crate) fn refused(diagnostic: Diagnostic) -> Validation {
        Validation {
            document: None,
            unparsed_source: None,
            diagnostics: vec![diagnostic],
            rule_set: None,
            over_limit: None,
        }
    }

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
    let errors_before_rules = cx.diags.iter().filter(|d| d.is_error()).count();
    let rules_read = rules_node.is_some();
    if let Some((node, path)) = rules_node {
        cx.rule_array(node, &path, &mut rules, &mut sources);
    }
    let has_error = cx.diags.iter().any(Diagnostic::is_error);
    // The rule warnings need only the rules: they are computed whenever the
    // rule list itself has no error, even when a token field (`exp`, `pem`,
    // an unknown field) has one, so that one run reports every finding.
    // Errors in the rule list (or a rule list that could not be found)
    // leave no rule set to reason about.
    let rule_errors = cx.diags.iter().filter(|d| d.is_error()).count() - errors_before_rules;
    let rules_usable = rule_errors == 0 && (rules_read || !has_error);
    // More rules than the service takes, and nothing else wrong: `--fix`
    // may find an equivalent document that fits.
    let only_too_many = has_error
        && cx.diags.iter().filter(|d| d.is_error()).all(|d| d.code == Code::TooManyRules)
        && rules.iter().all(Option::is_some);
    let over_limit = only_too_many.then(|| RuleSet::new(rules.iter().flatten().cloned().collect()));
    let usable = rules_usable.then(|| RuleSet::new(rules.into_iter().flatten().collect()));
    let mut diagnostics = cx.diags;
    if let Some(usable) = &usable {
        diagnostics.extend(lint::rule_warnings(usable, &sources));
    }
    let rule_set = if has_error { None } else { usable };
    diagnostics.sort_by_key(|d| (d.location.span.map_or(usize::MAX, |s| s.start), d.severity));
    Validation {
        document: Some(document),
        unparsed_source: None,
        diagnostics,
        rule_set,
        over_limit,
    }
}

struct Cx<'a> {
    doc: &'a Document,
    options: &'a Options,
    diags: Vec<Diagnostic>,
}

impl<'a> Cx<'a> {
    fn is_jwt(&self) -> bool {
        self.doc.form().is_signed_token()
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

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

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
        has(r#"{"id": "k"}"#, "key-pairing", "/id");
        has(r#"{"pem": "x"}"#, "key-pairing", "/pem");
        has(r#"{"id": "k", "pem": "not base64!"}"#, "invalid-pem", "/pem");
        has(r#"{"downloadable": "yes"}"#, "wrong-type", "/downloadable");
        assert!(run(r#"{"exp": 1767229200, "nbf": 1767225600, "accessRules": []}"#).is_valid());
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
