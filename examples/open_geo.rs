//! Time of converting the embedded GeoIP database at run time
//! (`GeoDatabase::from_bytes`: tree walk, record reading, counts), best of
//! five: `cargo run --release --example open_geo` (docs/performance.md).

fn main() {
    let bytes = accessrules::GeoDatabase::embedded_bytes();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let db = accessrules::GeoDatabase::from_bytes(bytes).expect("the embedded database opens");
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(db.networks_without_country());
    }
    println!("GeoDatabase::from_bytes(embedded): best of 5 {:.1} ms", best * 1e3);
}
