//! Integration tests: one module per area, mounted here so they share one
//! test binary (STYLE.md).

mod cli;
mod codes;
mod geo;
mod perf_tables;
mod props;
mod space;
