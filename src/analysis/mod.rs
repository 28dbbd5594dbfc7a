//! What a valid rule set does: exact set reasoning over the viewer space
//! ([`space`], on the sets of [`sets`]) and the per-rule explanation of one
//! decision ([`explain`]). The lints and the proof of `validate --fix` are
//! built on [`space`].

pub(crate) mod diff;
pub(crate) mod drift;
pub(crate) mod explain;
pub(crate) mod report;
#[cfg_attr(not(feature = "internals"), allow(dead_code))]
pub(crate) mod sets;
// The rule-space API is wider than validation and `--fix` use; the rest
// serves the `internals` hooks (tests) and the coming `diff`/`report`.
#[cfg_attr(not(feature = "internals"), allow(dead_code))]
pub mod space;
