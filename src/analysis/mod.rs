//! What a valid rule set does: exact set reasoning over the viewer space
//! ([`space`]), the per-rule explanation of one decision ([`explain`]) and
//! the proven rewrite of `validate --fix` ([`fix`]).

pub(crate) mod explain;
pub(crate) mod fix;
// The rule-space API is wider than validation and `--fix` use; the rest
// serves the `internals` hooks (tests) and the coming `diff`/`report`.
#[cfg_attr(not(feature = "internals"), allow(dead_code))]
pub mod space;
