//! docs/performance.md benchmarks of the exact analyses: `diff` of two
//! 5-rule documents of 10 000 networks each (different picks, so that they
//! differ almost everywhere they name), `diff` of a document with itself
//! (equivalent), and `report` of one with and without the embedded GeoIP
//! database. Target: under 100 ms each.
//!
//! `cargo bench --features internals --bench analysis`

use std::hint::black_box;
use std::time::Duration;

use accessrules::{check, diff, report, GeoDatabase, Options, RuleSet};
use criterion::{criterion_group, criterion_main, Criterion};

#[path = "support/inputs.rs"]
mod inputs;

fn rules_of(json: &str) -> RuleSet {
    let v = check(json.as_bytes(), &Options::without_clock());
    v.rule_set().cloned().expect("benchmark rules are valid")
}

fn all(c: &mut Criterion) {
    let nets = inputs::nets_only(&inputs::database_networks());
    let (a, _) = inputs::large_rule_document(&nets, inputs::LargeDoc::BENCH);
    let other = inputs::LargeDoc { seed: inputs::SEED ^ 0x5eed, ..inputs::LargeDoc::BENCH };
    let (b, _) = inputs::large_rule_document(&nets, other);
    let (a, b) = (rules_of(&a), rules_of(&b));
    let geo = GeoDatabase::embedded().expect("embedded database");
    let mut g = c.benchmark_group("analysis_10k");
    g.measurement_time(Duration::from_secs(5)).sample_size(20);
    g.bench_function("diff_different", |x| x.iter(|| black_box(diff(&a, &b).unwrap())));
    g.bench_function("diff_equivalent", |x| x.iter(|| black_box(diff(&a, &a).unwrap())));
    g.bench_function("report_geoip", |x| x.iter(|| black_box(report(&a, Some(&geo)).unwrap())));
    g.bench_function("report_no_geoip", |x| x.iter(|| black_box(report(&a, None).unwrap())));
    g.finish();
}

criterion_group!(benches, all);
criterion_main!(benches);
