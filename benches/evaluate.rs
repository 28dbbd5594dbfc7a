//! docs/performance.md benchmarks: the compiled matcher and the range-table GeoIP
//! resolver side by side with the plain evaluator (rules kept as `ipnet`
//! lists checked in order by `accessrules::reference::evaluate`, the country
//! looked up with `maxminddb` per viewer), measured in the same run.
//!
//! Run one group with `cargo bench --features internals --bench evaluate -- GROUP` where GROUP is
//! `docs_example`, `ip_10k`, `country`, `scaling`, `compile`, `check` or `python_inputs`.
//! `compiled` decides one viewer per call (`Matcher::decide`,
//! `GeoDatabase::resolve`); `compiled_batch` / `table_batch` use the batch
//! calls (`Matcher::decide_batch`, `GeoDatabase::resolve_batch`) that
//! `simulate --input` uses.
//! Inputs come from `support/inputs.rs` (deterministic; viewers sampled from
//! the embedded database's networks). Each evaluation benchmark decides a
//! batch of [`BATCH`] pre-generated viewers per iteration and reports the
//! rate per viewer (`Throughput::Elements`).

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Duration;

use accessrules::{check, reference, CountryCode, Decision, GeoDatabase, Matcher, Options, Viewer};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ipnet::IpNet;

#[path = "support/inputs.rs"]
mod inputs;

/// Viewers decided per benchmark iteration.
const BATCH: usize = 4096;

/// The record layout of the embedded database (ip-location-db style), the
/// least a `maxminddb` decode can read to get the country.
#[derive(serde::Deserialize)]
struct CountryRecord<'a> {
    #[serde(borrow)]
    country_code: Option<&'a str>,
}

type MmdbReader = maxminddb::Reader<&'static [u8]>;

fn mmdb_reader() -> MmdbReader {
    maxminddb::Reader::from_source(GeoDatabase::embedded_bytes()).expect("embedded database")
}

/// The plain country lookup: a `maxminddb` tree walk and record decode.
#[inline]
fn mmdb_country(reader: &MmdbReader, ip: IpAddr) -> Option<CountryCode> {
    let rec = reader.lookup(ip).expect("lookup").decode::<CountryRecord<'_>>().expect("decode");
    rec.and_then(|r| r.country_code).and_then(CountryCode::new_case_insensitive)
}

/// The plain evaluator for one viewer: country from `maxminddb`, then the
/// rules in order.
#[inline]
fn plain_decide(rules: &accessrules::RuleSet, reader: &MmdbReader, ip: IpAddr) -> Decision {
    let viewer = Viewer::without_country(ip);
    let country = mmdb_country(reader, viewer.ip());
    reference::evaluate(rules, &viewer.with_country(country))
}

/// The compiled evaluator for one viewer: the GeoIP table consulted only
/// when a country rule can decide.
#[inline]
fn compiled_decide(m: &Matcher, geo: &GeoDatabase, ip: IpAddr) -> Decision {
    match m.decide_resolving(ip, |ip| Ok::<_, std::convert::Infallible>(geo.resolve(ip))) {
        Ok(d) => d,
        Err(never) => match never {},
    }
}

fn rules_of(json: &str) -> accessrules::RuleSet {
    let v = check(json.as_bytes(), &Options::without_clock());
    v.rule_set().cloned().expect("benchmark rules are valid")
}

struct Db {
    nets: Vec<IpNet>,
}

fn db() -> Db {
    Db { nets: inputs::nets_only(&inputs::database_networks()) }
}

/// The batch path of `simulate --input` and the Python binding: countries
/// by `GeoDatabase::resolve_batch`, decisions by `Matcher::decide_batch`,
/// buffers reused.
#[derive(Default)]
struct Batch {
    countries: Vec<Option<CountryCode>>,
    viewers: Vec<Viewer>,
    decisions: Vec<Decision>,
}

impl Batch {
    fn decide(&mut self, matcher: &Matcher, geo: &GeoDatabase, ips: &[IpAddr]) -> &[Decision] {
        self.countries.clear();
        geo.resolve_batch(ips, &mut self.countries);
        self.viewers.clear();
        let resolved = ips.iter().zip(&self.countries);
        self.viewers.extend(resolved.map(|(&ip, &country)| Viewer::new(ip, country)));
        self.decisions.clear();
        matcher.decide_batch(&self.viewers, &mut self.decisions);
        &self.decisions
    }
}

fn docs_example(c: &mut Criterion, db: &Db) {
    let rules = rules_of(inputs::DOCS_EXAMPLE);
    let matcher = Matcher::new(&rules).unwrap();
    let geo = GeoDatabase::embedded().expect("embedded database");
    let reader = mmdb_reader();
    let viewers = inputs::sample_viewers(&db.nets, BATCH, inputs::SEED);
    for &ip in &viewers {
        assert_eq!(compiled_decide(&matcher, &geo, ip), plain_decide(&rules, &reader, ip));
    }
    let mut g = c.benchmark_group("docs_example");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("compiled", |b| {
        b.iter(|| {
            for &ip in &viewers {
                black_box(compiled_decide(&matcher, &geo, black_box(ip)));
            }
        })
    });
    let mut batch = Batch::default();
    g.bench_function("compiled_batch", |b| {
        b.iter(|| {
            black_box(batch.decide(&matcher, &geo, black_box(&viewers)));
        })
    });
    g.bench_function("plain", |b| {
        b.iter(|| {
            for &ip in &viewers {
                black_box(plain_decide(&rules, &reader, black_box(ip)));
            }
        })
    });
    g.finish();
}

fn ip_10k(c: &mut Criterion, db: &Db) {
    let (json, picked) = inputs::large_rule_document(&db.nets, inputs::LargeDoc::BENCH);
    let rules = rules_of(&json);
    let matcher = Matcher::new(&rules).unwrap();
    let viewers: Vec<Viewer> = inputs::viewers_for(&picked, &db.nets, BATCH, inputs::SEED)
        .into_iter()
        .map(Viewer::without_country)
        .collect();
    for v in &viewers {
        assert_eq!(matcher.decide(v), reference::evaluate(&rules, v));
    }
    let mut g = c.benchmark_group("ip_10k");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("compiled", |b| {
        b.iter(|| {
            for v in &viewers {
                black_box(matcher.decide(black_box(v)));
            }
        })
    });
    let mut decisions = Vec::with_capacity(BATCH);
    g.bench_function("compiled_batch", |b| {
        b.iter(|| {
            decisions.clear();
            matcher.decide_batch(black_box(&viewers), &mut decisions);
            black_box(&decisions);
        })
    });
    // About 10 µs per viewer: fewer, longer samples.
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("plain", |b| {
        b.iter(|| {
            for v in &viewers {
                black_box(reference::evaluate(&rules, black_box(v)));
            }
        })
    });
    g.finish();
}

fn country(c: &mut Criterion, db: &Db) {
    let geo = GeoDatabase::embedded().expect("embedded database");
    let reader = mmdb_reader();
    let viewers = inputs::sample_viewers(&db.nets, BATCH, inputs::SEED);
    for &ip in &viewers {
        assert_eq!(geo.resolve(ip), mmdb_country(&reader, ip), "{ip}");
    }
    let mut g = c.benchmark_group("country");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("table", |b| {
        b.iter(|| {
            for &ip in &viewers {
                black_box(geo.resolve(black_box(ip)));
            }
        })
    });
    let mut countries = Vec::with_capacity(BATCH);
    g.bench_function("table_batch", |b| {
        b.iter(|| {
            countries.clear();
            geo.resolve_batch(black_box(&viewers), &mut countries);
            black_box(&countries);
        })
    });
    g.bench_function("maxminddb", |b| {
        b.iter(|| {
            for &ip in &viewers {
                black_box(mmdb_country(&reader, black_box(ip)));
            }
        })
    });
    g.finish();
}

/// Compiled evaluation against the number of networks: O(log n).
fn scaling(c: &mut Criterion, db: &Db) {
    let mut g = c.benchmark_group("scaling");
    g.throughput(Throughput::Elements(BATCH as u64));
    for n in [100, 1_000, 10_000, 100_000] {
        let shape = inputs::LargeDoc { networks: n, ..inputs::LargeDoc::BENCH };
        let (json, picked) = inputs::large_rule_document(&db.nets, shape);
        let doc = accessrules::check(
            json.as_bytes(),
            &Options::without_clock().with_limits(accessrules::Limits {
                max_document_bytes: 64 << 20,
                ..accessrules::Limits::default()
            }),
        );
        let matcher = Matcher::new(doc.rule_set().expect("valid")).expect("5 rules");
        let viewers: Vec<Viewer> = inputs::viewers_for(&picked, &db.nets, BATCH, inputs::SEED)
            .into_iter()
            .map(Viewer::without_country)
            .collect();
        g.bench_with_input(BenchmarkId::new("compiled", n), &viewers, |b, viewers| {
            b.iter(|| {
                for v in viewers {
                    black_box(matcher.decide(black_box(v)));
                }
            })
        });
        let mut decisions = Vec::with_capacity(BATCH);
        g.bench_with_input(BenchmarkId::new("compiled_batch", n), &viewers, |b, viewers| {
            b.iter(|| {
                decisions.clear();
                matcher.decide_batch(black_box(viewers), &mut decisions);
                black_box(&decisions);
            })
        });
    }
    g.finish();
}

/// A typical document: five rules, 45 entries (docs/performance.md: ≤ 50).
fn typical_document(db: &Db) -> String {
    let picked = inputs::pick_networks(&db.nets, 40, inputs::SEED ^ 1);
    let list =
        |nets: &[IpNet]| nets.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
    format!(
        r#"{{"accessRules": [
  {{"type": "ip.src", "action": "allow", "ip": [{}]}},
  {{"type": "ip.geoip.country", "action": "block", "country": ["RU", "KP", "IR", "SY", "CU"]}},
  {{"type": "ip.src", "action": "block", "ip": [{}]}},
  {{"type": "ip.src", "action": "allow", "ip": [{}]}},
  {{"type": "any", "action": "block"}}
]}}"#,
        list(&picked[..20]),
        list(&picked[20..30]),
        list(&picked[30..])
    )
}

fn compile(c: &mut Criterion, db: &Db) {
    let json = typical_document(db);
    let rules = rules_of(&json);
    let mut g = c.benchmark_group("compile");
    g.bench_function("typical_45_entries", |b| b.iter(|| Matcher::new(black_box(&rules)).unwrap()));
    g.finish();
}

fn validate(c: &mut Criterion, db: &Db) {
    let json = typical_document(db);
    let options = Options::at(1_700_000_000);
    let mut g = c.benchmark_group("check");
    g.bench_function("typical_5_rules", |b| b.iter(|| check(black_box(json.as_bytes()), &options)));
    let docs = inputs::DOCS_EXAMPLE;
    g.bench_function("docs_example", |b| b.iter(|| check(black_box(docs.as_bytes()), &options)));
    g.finish();
}

/// The input of `python/benches/bench_decide_batch.py`: 1 M addresses (half
/// IPv4 at random, half IPv6 `2000..2c00:x:x::x`), decided [`BATCH`] at a
/// time by the Rust batch calls, from parsed addresses and from the same
/// text, so that the Python binding's figure has a yardstick doing the same
/// job on the same input (a million distinct addresses: the GeoIP table is
/// not warm as it is when one batch is decided over and over).
fn python_inputs(c: &mut Criterion) {
    const ROWS: usize = 1_000_000;
    let rules = rules_of(inputs::DOCS_EXAMPLE);
    let matcher = Matcher::new(&rules).unwrap();
    let geo = GeoDatabase::embedded().expect("embedded database");
    let mut rng = inputs::SplitMix64::new(inputs::SEED);
    let texts: Vec<String> = (0..ROWS)
        .map(|_| {
            let r = rng.next_u64();
            if r & 1 == 0 {
                std::net::Ipv4Addr::from((r >> 32) as u32).to_string()
            } else {
                let g = |k: u32| (r >> (16 * k)) & 0xffff;
                format!("{:x}:{:x}:{:x}::{:x}", 0x2000 + rng.below(0xc00), g(1), g(2), g(3))
            }
        })
        .collect();
    let ips: Vec<IpAddr> = texts.iter().map(|t| t.parse().unwrap()).collect();
    let mut g = c.benchmark_group("python_inputs");
    g.throughput(Throughput::Elements(ROWS as u64)).sample_size(10);
    let mut batch = Batch::default();
    let mut decide = |ips: &[IpAddr]| {
        black_box(batch.decide(&matcher, &geo, ips));
    };
    g.bench_function("docs_example_parsed", |b| {
        b.iter(|| ips.chunks(BATCH).for_each(|chunk| decide(black_box(chunk))))
    });
    let mut parsed = Vec::with_capacity(BATCH);
    g.bench_function("docs_example_text", |b| {
        b.iter(|| {
            for chunk in texts.chunks(BATCH) {
                parsed.clear();
                parsed.extend(
                    chunk
                        .iter()
                        .map(|t| accessrules::input::plain::parse_ip(t.as_bytes()).unwrap()),
                );
                decide(black_box(&parsed));
            }
        })
    });
    g.finish();
}

fn all(c: &mut Criterion) {
    let db = db();
    python_inputs(c);
    docs_example(c, &db);
    ip_10k(c, &db);
    country(c, &db);
    scaling(c, &db);
    compile(c, &db);
    validate(c, &db);
}

criterion_group!(benches, all);
criterion_main!(benches);
