//! Writes the inputs of the end-to-end `simulate --input` benchmarks
//! (README, Performance), deterministically:
//!
//! * `large-rules.json`: five rules, four `ip.src` rules holding 10 000
//!   networks of both families picked from the embedded GeoIP database,
//!   then `any`/`block`;
//! * `viewers.txt`: the viewer log (default 2 000 000 lines), half sampled
//!   from the rules' networks and half from all the database's networks;
//!   about one line in ten gives a country, one in fifty is IPv4-mapped.
//!
//! ```text
//! cargo run --release --example gen_bench_inputs -- [--out DIR] [--viewers N]
//! ```
//!
//! `DIR` defaults to `target/bench-inputs`.

use std::path::PathBuf;
use std::process::ExitCode;

#[path = "../benches/support/inputs.rs"]
mod inputs;

fn main() -> ExitCode {
    let mut out = PathBuf::from("target/bench-inputs");
    let mut viewers = 2_000_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--out", Some(v)) => out = PathBuf::from(v),
            ("--viewers", Some(v)) => match v.parse() {
                Ok(n) => viewers = n,
                Err(_) => return usage(),
            },
            _ => return usage(),
        }
    }
    if let Err(e) = generate(&out, viewers) {
        eprintln!("gen_bench_inputs: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!("usage: gen_bench_inputs [--out DIR] [--viewers N]");
    ExitCode::from(2)
}

fn generate(out: &std::path::Path, viewers: usize) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    let db = inputs::nets_only(&inputs::database_networks());
    let (json, picked) = inputs::large_rule_document(&db, inputs::LargeDoc::BENCH);
    let (v4, v6) = inputs::family_counts(&picked);
    let rules_path = out.join("large-rules.json");
    std::fs::write(&rules_path, json)?;
    eprintln!("{}: {} networks ({v4} IPv4, {v6} IPv6)", rules_path.display(), picked.len());

    let ips = inputs::viewers_for(&picked, &db, viewers, inputs::SEED);
    let (v4, v6) = (
        ips.iter().filter(|ip| ip.is_ipv4()).count(),
        ips.iter().filter(|ip| ip.is_ipv6()).count(),
    );
    let log_path = out.join("viewers.txt");
    std::fs::write(&log_path, inputs::viewer_log(&ips, inputs::SEED))?;
    eprintln!(
        "{}: {viewers} viewers ({v4} IPv4, {v6} IPv6), sampled from {} database networks",
        log_path.display(),
        db.len()
    );
    Ok(())
}
