//! Integration tests: one module per area, mounted here so they share one
//! test binary (STYLE.md).

mod fuzz_regressions;
mod geo;
mod geo_faults;
mod limits;
mod robustness;
mod space;
