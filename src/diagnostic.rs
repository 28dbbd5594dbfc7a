//! Diagnostics: the findings of validation (docs/diagnostics.md).

use std::fmt;

use serde::Serialize;

use crate::syntax::json::Span;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The service would reject the document, or it cannot mean what was
    /// written: the document is invalid and is never compiled.
    Error,
    /// Valid, but probably not what the author meant.
    Warning,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $id:literal, $sev:ident, $example:literal; )*) => {
        /// A stable diagnostic code. The kebab-case id ([`Code::as_str`]) is
        /// part of the JSON output and never changes meaning; the README
        /// lists every code with an example.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, errors first, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable kebab-case id, e.g. `invalid-ip`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $id,)* }
            }

            /// The severity this code always has (time findings of a JWT
            /// given for inspection are the one exception: docs/diagnostics.md makes
            /// them warnings, see [`Diagnostic::severity`]).
            pub fn default_severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }

            /// A one-line example of input that draws this code.
            pub fn example(self) -> &'static str {
                match self { $(Code::$variant => $example,)* }
            }

            /// The code with this id, `None` for an unknown id.
            pub fn from_id(id: &str) -> Option<Code> {
                match id { $($id => Some(Code::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    /// The input is not UTF-8.
    NotUtf8 = "not-utf8", Error, "bytes 0xff 0xfe that are not UTF-8";
    /// The document is larger than the size limit (default 1 MiB).
    DocumentTooLarge = "document-too-large", Error, "a 2 MiB file";
    /// JSON syntax error: trailing comma, comment, single quote, ….
    JsonSyntax = "json-syntax", Error, r#"[{"type":"any","action":"block"},]"#;
    /// Arrays and objects nested deeper than the limit.
    NestingTooDeep = "nesting-too-deep", Error, "[[[[… 100 levels …]]]]";
    /// Three dot-separated segments that do not decode to a JWT payload.
    InvalidJwt = "invalid-jwt", Error, "eyJhbGciOiJSUzI1NiJ9.@@@.sig";
    /// The top level is neither a rule array nor a token object.
    TopLevelShape = "top-level-shape", Error, r#""any""#;
    /// A field has the wrong JSON type.
    WrongType = "wrong-type", Error, r#"{"type":"ip.src","ip":"1.2.3.4","action":"block"}"#;
    /// An object key appears twice; JSON parsers keep one silently.
    DuplicateKey = "duplicate-key", Error, r#"{"type":"any","action":"allow","action":"block"}"#;
    /// An `ip` or `country` list longer than the entry limit.
    TooManyEntries = "too-many-entries", Error, "an ip list of 200 000 entries";
    /// More than 5 rules: the service rejects the token request.
    TooManyRules = "too-many-rules", Error, "an accessRules array of 6 rules";
    /// A rule without `type`.
    MissingType = "missing-type", Error, r#"{"action":"block"}"#;
    /// A `type` that is not `any`, `ip.src` or `ip.geoip.country`.
    UnknownType = "unknown-type", Error, r#"{"type":"ip.geoip.Country",…}"#;
    /// A rule without `action`.
    MissingAction = "missing-action", Error, r#"{"type":"any"}"#;
    /// An `action` that is not `allow` or `block`.
    UnknownAction = "unknown-action", Error, r#"{"type":"any","action":"Allow"}"#;
    /// `ip.src` without a non-empty `ip` list.
    MissingIp = "missing-ip", Error, r#"{"type":"ip.src","ip":[],"action":"block"}"#;
    /// `ip.geoip.country` without a non-empty `country` list.
    MissingCountry = "missing-country", Error, r#"{"type":"ip.geoip.country","action":"block"}"#;
    /// An `ip` entry that is not an address or CIDR.
    InvalidIp = "invalid-ip", Error, r#""87.116.349.35""#;
    /// Leading zeros in an octet or prefix length: ambiguous octal.
    IpLeadingZero = "ip-leading-zero", Error, r#""010.0.0.0/8""#;
    /// A prefix length over 32 (IPv4) or 128 (IPv6).
    IpPrefixTooLong = "ip-prefix-too-long", Error, r#""10.0.0.0/33""#;
    /// White space around or inside an `ip` entry.
    IpWhitespace = "ip-whitespace", Error, r#"" 10.0.0.0/8""#;
    /// An address with a netmask or Cisco wildcard mask instead of a prefix length.
    IpNetmask = "ip-netmask", Error, r#""198.51.100.0 255.255.255.0" (help: "198.51.100.0/24")"#;
    /// An address range `a-b` instead of CIDR networks.
    IpRange = "ip-range", Error, r#""198.51.100.10-198.51.100.20""#;
    /// Two values in one `ip` string: a missing comma.
    IpMissingComma = "ip-missing-comma", Error, r#""192.168.0.0/16 203.0.113.35/32""#;
    /// An IPv6 zone id, which has no meaning at the edge.
    IpZoneId = "ip-zone-id", Error, r#""fe80::1%eth0""#;
    /// An empty `ip` entry.
    IpEmpty = "ip-empty", Error, r#""""#;
    /// A country entry in lower or mixed case.
    CountryCase = "country-case", Error, r#""us" (help: "US")"#;
    /// A two-letter code that is not an assigned ISO 3166-1 alpha-2 code.
    CountryUnassigned = "country-unassigned", Error, r#""UK" (help: "GB")"#;
    /// A country entry that is not a two-letter code at all.
    InvalidCountry = "invalid-country", Error, r#""USA" (help: "US")"#;
    /// An unknown field that looks like a misspelt or wrongly cased known one.
    MisspeltField = "misspelt-field", Error, r#"{"AccessRules":[…]}"#;
    /// `exp` or `nbf` is not an integer number of seconds.
    TimeNotInteger = "time-not-integer", Error, r#"{"exp":"1767229200"}"#;
    /// `exp`/`nbf`/`iat` in milliseconds, microseconds or nanoseconds rather than seconds.
    TimeMilliseconds = "time-milliseconds", Error, r#"{"exp":1767229200000}"#;
    /// `exp`/`nbf`/`iat` that is no time in any unit (over 10^20, not finite).
    TimeOutOfRange = "time-out-of-range", Error, r#"{"exp":1e30}"#;
    /// `exp` more than 24 hours after the issue time.
    ExpTooFar = "exp-too-far", Error, "exp two days from now";
    /// `exp` is not after `nbf`.
    ExpNotAfterNbf = "exp-not-after-nbf", Error, r#"{"nbf":1767229200,"exp":1767225600}"#;
    /// `exp` is already in the past.
    Expired = "expired", Error, "exp an hour ago";
    /// `id` without `pem`, or `pem` without `id`.
    KeyPairing = "key-pairing", Error, r#"{"id":"ab12…"} without "pem""#;
    /// `pem` that is not base64 of a PEM RSA private key.
    InvalidPem = "invalid-pem", Error, r#"{"pem":"not base64"}"#;

    /// A token payload or JWT without `exp`: nothing gives it a default.
    MissingExp = "missing-exp", Warning, r#"{"sub":"ea95…","kid":"8f92…","accessRules":[]}"#;
    /// A rule that can never decide: earlier rules match everything it does.
    NeverDecides = "never-decides", Warning, r#"[{"type":"any","action":"block"},{"type":"ip.geoip.country","country":["DE"],"action":"allow"}]"#;
    /// A rule whose removal changes no decision.
    RedundantRule = "redundant-rule", Warning, r#"[{"type":"ip.geoip.country","country":["DE"],"action":"block"},{"type":"any","action":"block"}]"#;
    /// Only allow rules and no final block: nobody is ever blocked.
    NeverBlocks = "never-blocks", Warning, r#"[{"type":"ip.geoip.country","country":["US"],"action":"allow"}]"#;
    /// Every viewer is blocked.
    BlocksEveryone = "blocks-everyone", Warning, r#"[{"type":"any","action":"block"}]"#;
    /// A trailing `any`/`allow`: the default already allows.
    TrailingAllowAny = "trailing-allow-any", Warning, r#"[…,{"type":"any","action":"allow"}]"#;
    /// An allow-list of one address family followed by a block: the other
    /// family is blocked entirely.
    SingleFamilyAllowList = "single-family-allow-list", Warning, r#"[{"type":"ip.src","ip":["93.184.216.0/24"],"action":"allow"},{"type":"any","action":"block"}]"#;
    /// A CIDR with host bits set.
    HostBitsSet = "host-bits-set", Warning, r#""198.51.100.77/24" (help: "198.51.100.0/24")"#;
    /// The same entry twice in one rule.
    DuplicateEntry = "duplicate-entry", Warning, r#"["10.1.0.0/16","10.1.0.0/16"]"#;
    /// An entry inside another entry of the same rule.
    NestedEntry = "nested-entry", Warning, r#"["10.0.0.0/8","10.1.0.0/16"]"#;
    /// An IPv4-mapped IPv6 entry, which never matches (viewers are IPv4).
    Ipv4MappedEntry = "ipv4-mapped-entry", Warning, r#""::ffff:192.0.2.1""#;
    /// A NAT64, 6to4 or Teredo entry: IPv4 written as IPv6, no native IPv6 viewer.
    Ipv4EmbeddingEntry = "ipv4-embedding-entry", Warning, r#""64:ff9b::c633:6400/120""#;
    /// A private, loopback, link-local, documentation or other non-routable
    /// range that no viewer at the edge has.
    NonRoutableEntry = "non-routable-entry", Warning, r#""127.0.0.1""#;
    /// A `/0` prefix.
    ZeroPrefix = "zero-prefix", Warning, r#""0.0.0.0/0""#;
    /// A pseudo-code (`EU`, `AP`, `XX`, `T1`, `A1`, `A2`, `O1`).
    PseudoCountry = "pseudo-country", Warning, r#""EU""#;
    /// A field that takes no part for the rule's type.
    IgnoredField = "ignored-field", Warning, r#"{"type":"any","ip":["10.0.0.0/8"],"action":"block"}"#;
    /// Single hosts in an allow rule followed by a block.
    SingleHostAllow = "single-host-allow", Warning, r#"[{"type":"ip.src","ip":["8.8.4.4"],"action":"allow"},{"type":"any","action":"block"}]"#;
    /// A field the service does not define (and that resembles none).
    UnknownField = "unknown-field", Warning, r#"{"type":"any","action":"block","note":"x"}"#;
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A place in the document: a JSON Pointer (RFC 6901) and, where known, the
/// byte span and 1-based line and column of the value in the source text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The JSON Pointer: `""` for the root, `/accessRules/2/ip/0`, `/0/type`.
    pub path: String,
    /// The byte span in [`crate::Document::source`]; `None` when unknown.
    #[serde(skip)]
    pub span: Option<Span>,
    /// 1-based line of the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column (in characters) of the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

/// Another place a diagnostic refers to (the earlier rule that shadows a
/// rule, the first copy of a duplicate), with a short label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    /// Where.
    pub location: Location,
    /// Why it is named, e.g. `matches everything rule 1 matches`.
    pub label: String,
}

/// One finding of validation (docs/diagnostics.md).
///
/// Serialises to the `validate --format json` shape
/// `{severity, code, path, message, help?, line?, column?}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The stable code.
    pub code: Code,
    /// Where the finding is; a missing field is reported at the object that
    /// lacks it.
    pub location: Location,
    /// One sentence that names the bad value.
    pub message: String,
    /// How to fix it, with the corrected value when there is one.
    pub help: Option<String>,
    /// Other places involved.
    pub related: Vec<Related>,
}

impl Diagnostic {
    /// The JSON Pointer of the finding.
    pub fn path(&self) -> &str {
        &self.location.path
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl Serialize for Diagnostic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("severity", &self.severity)?;
        m.serialize_entry("code", &self.code)?;
        m.serialize_entry("path", &self.location.path)?;
        m.serialize_entry("message", &self.message)?;
        if let Some(help) = &self.help {
            m.serialize_entry("help", help)?;
        }
        if let Some(line) = self.location.line {
            m.serialize_entry("line", &line)?;
        }
        if let Some(column) = self.location.column {
            m.serialize_entry("column", &column)?;
        }
        m.end()
    }
}

impl fmt::Display for Diagnostic {
    /// `line:column: severity[code]: message (help: …)`; a plain one-line
    /// form for logs. The CLI renders snippets itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(l), Some(c)) = (self.location.line, self.location.column) {
            write!(f, "{l}:{c}: ")?;
        }
        write!(f, "{}[{}]: {}", self.severity.as_str(), self.code, self.message)?;
        if !self.location.path.is_empty() {
            write!(f, " (at {})", self.location.path)?;
        }
        if let Some(help) = &self.help {
            write!(f, "; help: {help}")?;
        }
        Ok(())
    }
}

/// Appends one reference token to a JSON Pointer, escaping `~` and `/`
/// (RFC 6901 §3).
pub fn pointer_push(pointer: &str, token: &str) -> String {
    let escaped = token.replace('~', "~0").replace('/', "~1");
    format!("{pointer}/{escaped}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let id = code.as_str();
            assert!(seen.insert(id), "duplicate {id}");
            assert!(
                id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit()),
                "{id}"
            );
            assert_eq!(Code::from_id(id), Some(*code));
        }
    }

    #[test]
    fn pointer_escapes_tokens() {
        assert_eq!(pointer_push("", "a/b~c"), "/a~1b~0c");
        assert_eq!(pointer_push("/0", "ip"), "/0/ip");
    }

    #[test]
    fn serialises_to_spec_shape() {
        let d = Diagnostic {
            severity: Severity::Error,
            code: Code::InvalidIp,
            location: Location {
                path: "/0/ip/1".into(),
                span: None,
                line: Some(3),
                column: Some(7),
            },
            message: "m".into(),
            help: None,
            related: vec![],
        };
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"severity":"error","code":"invalid-ip","path":"/0/ip/1","message":"m","line":3,"column":7}"#
        );
    }
}
