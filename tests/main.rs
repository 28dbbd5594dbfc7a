//! Integration tests: one module per area, mounted here so they share one
//! test binary, which compiles faster than one binary per file.

mod cli;
mod codes;
mod fuzz_regressions;
mod geo;
mod geo_faults;
mod limits;
mod perf_tables;
mod props;
mod robustness;
mod space;
mod strategies;
#[cfg(feature = "cli")]
mod transcripts;
mod util;
mod viewer_logs;
