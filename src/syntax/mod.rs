//! Bytes to JSON with spans: a bounded JSON parser that keeps the byte span
//! of every value and key, so diagnostics can point into the source text.

pub(crate) mod json;
pub(crate) mod token;
