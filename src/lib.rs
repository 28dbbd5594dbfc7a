//! Validate, compile and simulate the `accessRules` of Cloudflare Stream
//! signed-URL tokens before the token is signed.
//!
//! A Stream token carries up to five rules (`any`, `ip.src`,
//! `ip.geoip.country`; action `allow` or `block`). The edge tries them first
//! to last, the first match decides, and a viewer no rule matches is
//! **allowed**. This crate reads a rule document as people write it (a rule
//! array, a token request body, a token payload or a whole JWT), reports
//! every mistake with a JSON Pointer and a line and column, compiles valid
//! rules into a [`Matcher`] that decides in O(log n), and resolves viewer
//! countries through a MaxMind-format GeoIP database ([`GeoDatabase`], with
//! a database embedded by default).
//!
//! The pipeline, one module per step: bytes → JSON with spans → [`Document`]
//! → [`RuleSet`] and [`Diagnostic`]s ([`check`]) → [`Matcher`] → [`Decision`].
//!
//! # Example: compile and decide
//!
//! [`Matcher::from_json`] validates and compiles in one call; its error,
//! [`Invalid`], carries the diagnostics and works with `?`.
//!
//! ```
//! use accessrules::{CountryCode, Matcher, Viewer};
//!
//! let matcher = Matcher::from_json(br#"[
//!     {"type": "ip.geoip.country", "country": ["US", "MX"], "action": "allow"},
//!     {"type": "ip.src", "ip": ["93.184.216.0/24", "2400:cb00::/32"], "action": "allow"},
//!     {"type": "any", "action": "block"}
//! ]"#)?;
//!
//! // The country as the caller knows it (a Worker has `request.cf.country`).
//! let us = CountryCode::new("US");
//! let decision = matcher.decide(&Viewer::new("8.8.8.8".parse()?, us));
//! assert!(decision.is_allow());
//! assert_eq!(decision.to_string(), "allow by rule 0");
//!
//! // No country known: no country rule matches, so the address decides.
//! let decision = matcher.decide_without_country("93.184.216.34".parse()?);
//! assert_eq!(decision.to_string(), "allow by rule 1");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Example: resolve countries with the embedded GeoIP database
//!
//! ```
//! # #[cfg(feature = "embedded-geoip")] {
//! use accessrules::{GeoDatabase, Matcher};
//!
//! let matcher = Matcher::from_json(br#"[
//!     {"type": "ip.geoip.country", "country": ["US", "MX"], "action": "allow"},
//!     {"type": "any", "action": "block"}
//! ]"#)?;
//! let geoip = GeoDatabase::embedded()?;
//! let decision = matcher.decide_with("81.2.69.142".parse()?, &geoip)?; // GB
//! assert!(decision.is_block());
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Example: every finding, warnings included
//!
//! [`check`] never stops at the first problem. The clock is explicit:
//! [`Options::now`] reads the system clock, [`Options::at`] takes Unix
//! seconds (the token time checks, such as `exp` already past, use it).
//!
//! ```
//! use accessrules::{check, Options, Severity};
//!
//! let validation = check(
//!     br#"[{"type": "ip.geoip.country", "country": ["UK"], "action": "block"}]"#,
//!     &Options::at(1_767_225_600),
//! );
//! assert!(!validation.is_valid());
//! let first = &validation.diagnostics()[0];
//! assert_eq!(first.severity, Severity::Error);
//! assert_eq!(first.code.as_str(), "country-unassigned");
//! assert_eq!(first.path(), "/0/country/0");
//! assert_eq!(first.help.as_deref(), Some("write \"GB\""));
//! // Diagnostics serialise to the shape of `validate --format json`.
//! let json = serde_json::to_string(first)?;
//! assert!(json.starts_with(r#"{"severity":"error","code":"country-unassigned","path":"/0/country/0""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Semantics
//!
//! First match wins; no match means allow ([`DEFAULT_ACTION`]). IPv4-mapped
//! viewer addresses (`::ffff:192.0.2.1`) are evaluated as IPv4; rule entries
//! are taken as written. An unknown country matches no country rule. The
//! repository's `docs/semantics.md` records every judgement call and
//! `docs/diagnostics.md` every diagnostic code.
//!
//! # Input safety
//!
//! Documents come from outside (a token is attacker-visible), so every
//! reader is bounded: the document size, the JSON nesting depth and the
//! entries per rule have limits ([`Limits`]); nothing recurses without a
//! bound, and no input panics. GeoIP files are read with a work budget, so a
//! crafted database cannot make opening quadratic.
//!
//! # Crate features
//!
//! * `embedded-geoip` (default): embeds the geo-whois-asn-country database
//!   (CC BY 4.0) for `GeoDatabase::embedded`.
//! * `cli`: the `accessrules` command-line tool and its dependencies (clap,
//!   anyhow, memchr,
//!   indicatif, ctrlc, annotate-snippets). Not needed by library users.
//! * `signing`: `token::sign` and `token::verify` (RS256, with
//!   `ring`) and the signing-key reader; also makes validation's `pem`
//!   check parse the key. [`token::decode`] needs no feature.
//! * `internals`: test and benchmark hooks of this repository; hidden from
//!   these docs and not covered by semantic versioning.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod analysis;
mod diagnostic;
mod document;
mod fix;
pub mod geo;
pub mod input;
#[cfg_attr(not(feature = "internals"), allow(dead_code))]
mod interval;
mod lint;
mod matcher;
pub mod reference;
mod rules;
mod schema;
mod syntax;
pub mod token;
mod validate;
pub mod viewer_line;

pub use analysis::diff::{diff, Change, Countries, Diff, TooManyToAnalyse};
pub use analysis::drift::{geoip_drift, Drift, DriftChange, DriftWitness};
pub use analysis::explain::{explain, Explanation, Reason, Step};
pub use analysis::report::{report, Coverage, Report, RuleCoverage, UnknownCountry};
pub use diagnostic::{Code, Diagnostic, Location, Related, Severity};
pub use document::{Document, InputForm, Limits};
pub use fix::{fix, Fix, FixError};
pub use geo::{CountryResolver, GeoDatabase, GeoError, StaticCountries};
pub use matcher::{CountryNeed, Matcher, TooManyRules, MAX_COMPILED_RULES};
pub use rules::country;
pub use rules::{
    canonical_ip, network_to_string, Action, CountryCode, Decision, InvalidCountryCode, Rule,
    RuleId, RuleKind, RuleSet, Viewer, DEFAULT_ACTION,
};
pub use schema::{MAX_RULES, MAX_TOKEN_LIFETIME_SECS};
pub use syntax::json::Span;
pub use syntax::token::{extract_token, ExtractedToken, TokenSource};
pub use validate::{check, Invalid, Options, Validation};

/// Test and benchmark hooks of this repository (feature `internals`): the
/// exact rule-space analysis and the interval core. Not covered by semantic
/// versioning.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals {
    pub use crate::analysis::space;
    pub use crate::diagnostic::pointer_push;
}
