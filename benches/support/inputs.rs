//! Deterministic benchmark inputs: viewers sampled from the shipped GeoIP
//! database's networks, large rule documents, viewer logs.
//!
//! Shared by `benches/evaluate.rs`, `examples/gen_bench_inputs.rs` and
//! `tests/perf_tables.rs` (mounted with `#[path]`), so the benchmarks, the
//! files written for the end-to-end runs and the table test all use the same
//! inputs. Everything is a pure function of the embedded database and a
//! seed: the same call gives the same bytes on every machine.

#![allow(dead_code)] // each user mounts this module for a part of it

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// The seed every generated input uses unless told otherwise.
pub const SEED: u64 = 0x5eed_acce_55e5;

/// The documentation example of the service (`examples/docs-example.json`).
pub const DOCS_EXAMPLE: &str = include_str!("../../examples/docs-example.json");

/// splitmix64 (Steele, Lea, Flood 2014): a tiny, fixed-sequence PRNG.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`; the tiny modulo bias does not matter here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// 128 random bits.
    pub fn next_u128(&mut self) -> u128 {
        (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64())
    }
}

/// Every network with a record in the embedded database, in tree order
/// (IPv4 networks as IPv4), with its country when the record has one.
pub fn database_networks() -> Vec<(IpNet, Option<String>)> {
    #[derive(serde::Deserialize)]
    struct Record<'a> {
        #[serde(borrow)]
        country_code: Option<&'a str>,
    }
    let bytes = accessrules::GeoDatabase::embedded_bytes();
    let reader = maxminddb::Reader::from_source(bytes).expect("embedded database opens");
    let mut out = Vec::new();
    for item in reader.networks(Default::default()).expect("embedded database iterates") {
        let item = item.expect("embedded database record");
        let net = item.network().expect("network");
        let net = IpNet::new(net.network(), net.prefix()).expect("valid network");
        let country =
            item.decode::<Record<'_>>().expect("record decodes").and_then(|r| r.country_code);
        out.push((net, country.map(str::to_owned)));
    }
    out
}

/// A uniformly random address inside `net`.
pub fn address_in(net: IpNet, rng: &mut SplitMix64) -> IpAddr {
    match net {
        IpNet::V4(n) => {
            let host = u32::from(n.hostmask()) & rng.next_u64() as u32;
            IpAddr::V4(Ipv4Addr::from(u32::from(n.network()) | host))
        }
        IpNet::V6(n) => {
            let host = u128::from(n.hostmask()) & rng.next_u128();
            IpAddr::V6(Ipv6Addr::from(u128::from(n.network()) | host))
        }
    }
}

/// `count` viewer addresses: each picks a network of `nets` at random (each
/// network equally likely, whatever its size) and an address inside it.
pub fn sample_viewers(nets: &[IpNet], count: usize, seed: u64) -> Vec<IpAddr> {
    let mut rng = SplitMix64::new(seed);
    (0..count).map(|_| address_in(nets[rng.below(nets.len())], &mut rng)).collect()
}

/// `count` distinct networks of `nets` picked at random (partial
/// Fisher-Yates over the indexes), in pick order.
pub fn pick_networks(nets: &[IpNet], count: usize, seed: u64) -> Vec<IpNet> {
    let mut rng = SplitMix64::new(seed);
    let mut idx: Vec<usize> = (0..nets.len()).collect();
    let count = count.min(nets.len());
    for i in 0..count {
        let j = i + rng.below(nets.len() - i);
        idx.swap(i, j);
    }
    idx[..count].iter().map(|&i| nets[i]).collect()
}

/// The shape of a generated rule document.
#[derive(Clone, Copy, Debug)]
pub struct LargeDoc {
    /// Networks over all `ip.src` rules.
    pub networks: usize,
    /// Whether rule 1 is an `ip.geoip.country` rule (the networks then go
    /// to three `ip.src` rules instead of four).
    pub country_rule: bool,
    /// Seed of the network picks.
    pub seed: u64,
}

impl LargeDoc {
    /// The benchmark document: five rules, four `ip.src` rules holding
    /// 10 000 networks of both families, then `any`/`block`.
    pub const BENCH: LargeDoc = LargeDoc { networks: 10_000, country_rule: false, seed: SEED };
}

/// Countries used for country rules and for viewer lines with a given
/// country.
pub const SOME_COUNTRIES: [&str; 8] = ["US", "DE", "BR", "CN", "IN", "FR", "JP", "NG"];

/// A five-rule document (a bare JSON array) whose `ip.src` rules hold
/// `shape.networks` networks picked from `db_nets`, split 30/30/20/20 %
/// (or 40/30/30 % over three rules when rule 1 is a country rule), ending
/// with `any`/`block`. Returns the JSON text and the picked networks.
pub fn large_rule_document(db_nets: &[IpNet], shape: LargeDoc) -> (String, Vec<IpNet>) {
    let picked = pick_networks(db_nets, shape.networks, shape.seed);
    let n = picked.len();
    let shares: &[(usize, &str)] = if shape.country_rule {
        &[(40, "block"), (0, "allow"), (30, "allow"), (30, "block")]
    } else {
        &[(30, "block"), (30, "allow"), (20, "block"), (20, "allow")]
    };
    let mut json = String::from("[\n");
    let mut at = 0;
    for (k, &(share, action)) in shares.iter().enumerate() {
        if shape.country_rule && k == 1 {
            let codes: Vec<String> =
                SOME_COUNTRIES[..4].iter().map(|c| format!("\"{c}\"")).collect();
            let _ = writeln!(
                json,
                "  {{\"type\": \"ip.geoip.country\", \"action\": \"{action}\", \"country\": [{}]}},",
                codes.join(", ")
            );
            continue;
        }
        let end = if k == shares.len() - 1 { n } else { (at + n * share / 100).min(n) };
        let entries: Vec<String> = picked[at..end].iter().map(|p| format!("\"{p}\"")).collect();
        let _ = writeln!(
            json,
            "  {{\"type\": \"ip.src\", \"action\": \"{action}\", \"ip\": [{}]}},",
            entries.join(", ")
        );
        at = end;
    }
    json.push_str("  {\"type\": \"any\", \"action\": \"block\"}\n]\n");
    (json, picked)
}

/// Viewers for a rule document: half sampled from the networks the rules
/// name (so that every rule decides for some of them), half from all the
/// database's networks (mostly matched by no `ip.src` rule).
pub fn viewers_for(rule_nets: &[IpNet], db_nets: &[IpNet], count: usize, seed: u64) -> Vec<IpAddr> {
    let hits = sample_viewers(rule_nets, count / 2, seed);
    let rest = sample_viewers(db_nets, count - count / 2, seed ^ 0xa5a5);
    // Interleave so that any prefix of the list has the same mix.
    let mut out = Vec::with_capacity(count);
    let mut rest = rest.into_iter();
    for h in hits {
        out.push(h);
        out.extend(rest.next());
    }
    out.extend(rest);
    out
}

/// A viewer log for `simulate --input`: one viewer per line, about one in
/// ten as `IP,CC` with a given country and one in fifty written as
/// IPv4-mapped IPv6 (as dual-stack servers log them).
pub fn viewer_log(viewers: &[IpAddr], seed: u64) -> String {
    let mut rng = SplitMix64::new(seed);
    let mut out = String::with_capacity(viewers.len() * 24);
    for ip in viewers {
        let r = rng.below(100);
        match ip {
            IpAddr::V4(v4) if r < 2 => {
                let _ = write!(out, "{}", v4.to_ipv6_mapped());
            }
            _ => {
                let _ = write!(out, "{ip}");
            }
        }
        if r >= 90 {
            let _ = write!(out, ",{}", SOME_COUNTRIES[rng.below(SOME_COUNTRIES.len())]);
        }
        out.push('\n');
    }
    out
}

/// The networks of `db` as plain `IpNet`s.
pub fn nets_only(db: &[(IpNet, Option<String>)]) -> Vec<IpNet> {
    db.iter().map(|(n, _)| *n).collect()
}

/// Networks in both families: (IPv4, IPv6).
pub fn family_counts(nets: &[IpNet]) -> (usize, usize) {
    let v4 = nets.iter().filter(|n| matches!(n, IpNet::V4(_))).count();
    (v4, nets.len() - v4)
}
