//! accessrules: parse, validate, compile and simulate Cloudflare Stream
//! signed-URL `accessRules`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod geo;
pub mod reference;
mod rule;

pub use geo::{CountryResolver, GeoDatabase, GeoError, GeoRecord, StaticCountries};
pub use rule::{
    canonical_ip, network_to_string, Action, CountryCode, Decision, InvalidCountryCode, Rule,
    RuleKind, RuleSet, Viewer, DEFAULT_ACTION, MAX_RULES,
};
