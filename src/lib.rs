#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod country;
mod diagnostic;
mod document;
mod explain;
mod fix;
pub mod geo;
mod ip;
mod json;
mod matcher;
pub mod reference;
mod rule;
pub mod space;
mod validate;
pub mod viewer_line;
mod warnings;

pub use diagnostic::{pointer_push, Code, Diagnostic, Location, Related, Severity};
pub use document::{Document, InputForm, Limits};
pub use explain::{explain, Explanation, Reason, Step};
pub use fix::{fix, Fix, FixError};
pub use geo::{CountryResolver, GeoDatabase, GeoError, GeoRecord, StaticCountries};
pub use json::Span;
pub use matcher::{Matcher, TooManyRules, MAX_COMPILED_RULES};
pub use rule::{
    canonical_ip, network_to_string, Action, CountryCode, Decision, InvalidCountryCode, Rule,
    RuleKind, RuleSet, Viewer, DEFAULT_ACTION, MAX_RULES,
};
pub use validate::{check, validate, Options, Validation, MAX_TOKEN_LIFETIME_SECS};
