//! Integration tests: one module per area, mounted here so they share one
//! test binary, which compiles faster than one binary per file.

mod cli;
mod cli_reports;
mod codes;
mod diff;
mod drift;
mod entry_repairs;
mod fix_order;
mod fuzz_regressions;
mod geo;
mod geo_faults;
mod geo_imperfect;
mod limits;
mod perf_tables;
mod props;
mod real_tokens;
mod robustness;
mod space;
mod strategies;
#[cfg(feature = "signing")]
mod token;
#[cfg(feature = "cli")]
mod transcripts;
mod util;
mod viewer_logs;
