//! `simulate --input` on the logs people keep (issue 11): Cloudflare
//! Logpush NDJSON and CSV, CSV/TSV with headers as spreadsheets write them,
//! web-server access logs, gzip and zstd; the run that reads nothing; the
//! summaries. Library readers are held to plain references by property
//! tests (serde_json values, the `csv` crate).

use std::io::Write;
use std::path::{Path, PathBuf};

use accessrules::input::{detect, Hints, LineCountry, Reader, Record};
use accessrules::CountryCode;
use assert_cmd::Command;
use proptest::prelude::*;
use serde_json::Value;

const RULES: &str = "examples/docs-example.json";

fn bin() -> Command {
    let mut c = Command::cargo_bin("accessrules").expect("binary builds");
    c.env_remove("ACCESSRULES_GEOIP").env_remove("NO_COLOR");
    c
}

struct Run {
    code: i32,
    out: String,
    err: String,
}

impl Run {
    /// The `--summary json` object (the last line of standard error).
    fn summary(&self) -> Value {
        let last = self.err.lines().last().expect("a summary");
        serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {}", self.err))
    }

    /// The (ip, country) columns of the tsv output.
    fn viewers(&self) -> Vec<(String, String)> {
        self.out
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f[0].to_owned(), f[1].to_owned())
            })
            .collect()
    }
}

/// `simulate RULES --input FILE --format tsv --summary json ARGS…` on `bytes`.
fn simulate(bytes: &[u8], args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("viewers.log");
    std::fs::write(&path, bytes).unwrap();
    simulate_path(&path, args)
}

fn simulate_path(path: &Path, args: &[&str]) -> Run {
    let out = bin()
        .args(["simulate", RULES, "--input"])
        .arg(path)
        .args(["--format", "tsv", "--summary", "json"])
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8(out.stdout).unwrap(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

const LOGPUSH: &str = concat!(
    r#"{"ClientRequestSource":"eyeball","EdgeServerIP":"172.70.1.1","ClientCountry":"gb","ClientIP":"81.2.69.142","OriginIP":"203.0.113.9","ClientRegionCode":"ENG","RequestHeaders":{"cf-ipcountry":"us","x":[1,{"ip":"9.9.9.9"}]}}"#,
    "\n",
    r#"{"ClientIP":"2606:2800:220:1::1","ClientCountry":"us","ClientRequestSource":"eyeball"}"#,
    "\n",
    r#"{"ClientIP":"93.184.216.34","ClientCountry":"xx"}"#,
    "\n",
    r#"{"ClientIP":"185.220.101.1","ClientCountry":"t1"}"#,
    "\n",
    r#"{"ClientIP":"104.16.1.1","ClientCountry":"us","ClientRequestSource":"edgeWorkerFetch"}"#,
    "\n",
    r#"{"ClientIP":"8.8.8.8","ClientCountry":"us","ClientRequestSource":"edgeHealthCheck"}"#,
    "\n",
    r#"{"ClientIP":"8.8.4.4","cc":"US"}"#,
    "\n",
    r#"{"ClientIP":"8.8.4.4","Country":"US"}"#,
    "\n",
    r#"{"ClientIP":"8.8.4.4","country_iso_code":"US"}"#,
    "\n",
    r#"{"ClientIP":"not an address","ClientCountry":"us"}"#,
    "\n",
);

#[test]
fn logpush_ndjson_as_delivered() {
    let r = simulate(LOGPUSH.as_bytes(), &[]);
    assert_eq!(r.code, 0, "{}", r.err);
    // The edge's country is preferred over GeoIP; xx is unknown (no
    // GeoIP: 93.184.216.34 would be US); t1 is Tor.
    assert_eq!(
        r.viewers(),
        pairs(&[
            ("81.2.69.142", "GB"),
            ("2606:2800:220:1::1", "US"),
            ("93.184.216.34", "-"),
            ("185.220.101.1", "T1")
        ])
    );
    let s = r.summary();
    assert_eq!((s["format"].as_str(), s["viewers"].as_u64()), (Some("ndjson"), Some(4)));
    assert_eq!((s["not_viewers"].as_u64(), s["bad_lines"].as_u64()), (Some(2), Some(4)));
    for (line, key) in [(7, "cc"), (8, "Country"), (9, "country_iso_code")] {
        assert!(
            r.err.contains(&format!("line {line}: key \"{key}\" looks like a country")),
            "{}",
            r.err
        );
    }
    assert!(r.err.contains("line 10: invalid viewer address \"not an address\""), "{}", r.err);
    // Not-viewer requests are never decided: 4 viewers, 1 blocked by rule 2.
    assert_eq!(s["blocked"], 2);
    assert_eq!(s["country_disagreements"], Value::Null);
}

#[test]
fn logpush_json_array_wrapping() {
    // batch_prefix "[", record_delimiter ",", batch_suffix "]".
    let wrapped = "[{\"ClientIP\":\"81.2.69.142\"}\n,{\"ClientIP\":\"8.8.8.8\"}\n]\n";
    let r = simulate(wrapped.as_bytes(), &[]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.viewers(), pairs(&[("81.2.69.142", "GB"), ("8.8.8.8", "US")]));
    let inline = "[\n{\"ClientIP\":\"81.2.69.142\"},\n{\"ClientIP\":\"8.8.8.8\"}\n]\n";
    let r = simulate(inline.as_bytes(), &[]);
    assert_eq!(r.summary()["viewers"], 2, "{}", r.err);
}

#[test]
fn log_country_against_geoip_is_counted_with_geoip() {
    let log = "{\"ClientIP\":\"81.2.69.142\",\"ClientCountry\":\"us\"}\n{\"ClientIP\":\"8.8.8.8\",\"ClientCountry\":\"us\"}\n{\"ClientIP\":\"8.8.4.4\",\"ClientCountry\":\"t1\"}\n";
    let db = concat!(env!("CARGO_MANIFEST_DIR"), "/data/geo-whois-asn-country.mmdb");
    let r = simulate(log.as_bytes(), &["--geoip", db]);
    assert_eq!(r.code, 0, "{}", r.err);
    // 81.2.69.142 is GB to GeoIP; T1 (Tor) is not compared.
    assert_eq!(r.summary()["country_disagreements"], 1);
    assert_eq!(r.viewers()[0], ("81.2.69.142".to_owned(), "US".to_owned()));
}

#[test]
fn ip_field_and_country_field_name_other_keys_and_columns() {
    let ndjson = "{\"addr\":\"81.2.69.142\",\"land\":\"de\",\"ip\":\"8.8.8.8\",\"cc\":\"us\"}\n";
    let r = simulate(ndjson.as_bytes(), &["--ip-field", "addr", "--country-field", "land"]);
    assert_eq!(r.viewers(), pairs(&[("81.2.69.142", "DE")]), "{}", r.err);
    let r = simulate(ndjson.as_bytes(), &["--ip-field", "addr", "--country-field", "-"]);
    assert_eq!(r.viewers(), pairs(&[("81.2.69.142", "GB")]), "{}", r.err);
    let csv = "when,addr,land\n2026-01-01,81.2.69.142,de\n";
    let r = simulate(csv.as_bytes(), &["--ip-field", "addr", "--country-field", "land"]);
    assert_eq!(r.viewers(), pairs(&[("81.2.69.142", "DE")]), "{}", r.err);
    // A header with a country-like column accessrules does not read.
    let r = simulate(b"ip,cc\n8.8.8.8,US\n", &[]);
    assert_eq!(r.code, 2);
    assert!(r.err.contains("column \"cc\" looks like a country"), "{}", r.err);
    let r = simulate(b"ip,cc\n8.8.8.8,US\n", &["--country-field", "cc"]);
    assert_eq!(r.viewers(), pairs(&[("8.8.8.8", "US")]), "{}", r.err);
    // A header without an address column is named, not read as bad lines.
    let r = simulate(b"time,ip_address_v4,country\n2024,8.8.8.8,US\n", &[]);
    assert_eq!(r.code, 2, "{}", r.err);
    assert!(r.err.contains("the header names no address column (the columns are time, ip_address_v4, country); name it with --ip-field"), "{}", r.err);
    // --ip-field and --country-field name columns as detection does.
    let r = simulate(
        b"Remote Address;Country Code\n81.2.69.142;de\n8.8.8.8;\n",
        &["--ip-field", "remote_address", "--country-field", "country-code"],
    );
    assert_eq!(r.viewers(), pairs(&[("81.2.69.142", "DE"), ("8.8.8.8", "US")]), "{}", r.err);
    // A run that read no viewer: exit 2, and the JSON summary (simulate()
    // asks for it) still on the last line, naming the error.
    let r = simulate(b"8.8.8.8,UK\n", &[]);
    assert_eq!(r.code, 2, "{}", r.err);
    assert!(r.summary()["error"].as_str().unwrap().contains("every line was bad"), "{}", r.err);
    // A bad country in a log line gets the suggestion `--country` gives.
    let r = simulate(b"8.8.8.8,UK\n81.2.69.142\n", &[]);
    assert!(
        r.err.contains("line 1: invalid country \"UK\"") && r.err.contains("did you mean GB?"),
        "{}",
        r.err
    );
    let r = simulate(b"8.8.8.8\n", &["--ip-field", "addr"]);
    assert_eq!(r.code, 2);
    assert!(r.err.contains("--ip-field \"addr\""), "{}", r.err);
}

#[test]
fn csv_with_a_header_as_spreadsheets_write_it() {
    let cases: &[(&str, &[u8])] = &[
        ("plain header", b"ip,country\n81.2.69.142,de\n8.8.8.8,\n"),
        ("semicolons", b"client_ip;country_code\n81.2.69.142;de\n8.8.8.8;\n"),
        ("BOM and sep=", b"\xEF\xBB\xBFsep=;\r\nClientIP;ClientCountry\r\n81.2.69.142;DE\r\n8.8.8.8;\r\n"),
        (
            "quoted fields with commas, quotes, line breaks",
            b"\"note\",\"remote_addr\",\"cf-ipcountry\"\n\"a, \"\"b\"\"\nc\",\"81.2.69.142\",\"de\"\n\"\",\"8.8.8.8\",\"\"\n",
        ),
        ("repeated header", b"ip\tcountry\n81.2.69.142\tde\nip\tcountry\n8.8.8.8\t-\n"),
        // Headers as exports write them: any case, spaces or punctuation.
        ("export names", b"Date,IP Address,Country Code\n1,81.2.69.142,de\n2,8.8.8.8,\n"),
        ("W3C names", b"date,c-ip,Client Country\n1,81.2.69.142,de\n2,8.8.8.8,\n"),
        ("snake and kebab", b"Source-IP;CF_IPCountry\n81.2.69.142;de\n8.8.8.8;\n"),
        ("Cloudflare header", b"CF-Connecting-IP,CF-IPCountry\n81.2.69.142,de\n8.8.8.8,\n"),
    ];
    for (what, bytes) in cases {
        let r = simulate(bytes, &[]);
        assert_eq!(r.code, 0, "{what}: {}", r.err);
        assert_eq!(
            r.viewers(),
            pairs(&[("81.2.69.142", "DE"), ("8.8.8.8", "US")]),
            "{what}: {}",
            r.err
        );
        assert_eq!(r.summary()["bad_lines"], 0, "{what}");
    }
    // Line numbers count physical lines: the bad record is on line 5.
    let r =
        simulate(b"note,ip\n\"x\ny\",81.2.69.142\n\"z\",8.8.8.8\n\"unterminated,1.2.3.4\n", &[]);
    assert!(r.err.contains("line 5: unterminated quote"), "{}", r.err);
    assert_eq!(r.summary()["viewers"], 2);
}

#[test]
fn own_tsv_output_reads_back() {
    let first = simulate(b"81.2.69.142\n2606:2800:220:1::1,us\n10.0.0.1\n", &[]);
    assert_eq!(first.code, 0, "{}", first.err);
    let again = simulate(first.out.as_bytes(), &[]);
    assert_eq!(again.code, 0, "{}", again.err);
    assert_eq!(again.summary()["format"], "tsv");
    assert_eq!(again.out, first.out);
}

#[test]
fn logpush_csv_without_a_header() {
    let csv =
        "81.2.69.142,gb,eyeball\n8.8.8.8,us,edgeWorkerFetch\n\"2606:2800:220:1::1\",us,eyeball\n";
    let fields = "ClientIP,ClientCountry,ClientRequestSource";
    let r = simulate(csv.as_bytes(), &["--fields", fields]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.viewers(), pairs(&[("81.2.69.142", "GB"), ("2606:2800:220:1::1", "US")]));
    assert_eq!(r.summary()["not_viewers"], 1);
    let tsv = csv.replace(',', "\t");
    let r = simulate(tsv.as_bytes(), &["--fields", fields]);
    assert_eq!(r.summary()["format"], "tsv");
    assert_eq!(r.summary()["viewers"], 2);
}

const TIME: &str =
    r#"[30/Nov/2026:10:00:00 +0000] "GET /video.m3u8 HTTP/1.1" 200 512 "-" "Mozilla/5.0""#;

#[test]
fn access_logs() {
    let log = [
        format!("81.2.69.142 - - {TIME}"),
        format!("2606:2800:220:1::1 - alice {TIME}"),
        format!("www.example.com:443 8.8.8.8 - - {TIME}"),
        format!("93.184.216.34:80 81.2.69.142 - - {TIME}"),
        format!("203.0.113.7, 8.8.4.4, 162.158.1.1 - - {TIME}"),
        format!("crawl-66-249-66-1.googlebot.com - - {TIME}"),
        format!("240.0.0.9 - - {TIME}"),
        format!("192.168.1.10 - - {TIME}"),
        // nginx `main` behind Cloudflare: the trailing X-Forwarded-For.
        format!("172.70.1.2 - - {TIME} \"200.160.2.3\""),
    ]
    .join("\n");
    let r = simulate(log.as_bytes(), &[]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.summary()["format"], "access-log");
    let ips: Vec<String> = r.viewers().into_iter().map(|(ip, _)| ip).collect();
    // vhost_combined: never the server or the port; the X-Forwarded-For
    // chain: the last address before Cloudflare's.
    assert_eq!(
        ips,
        [
            "81.2.69.142",
            "2606:2800:220:1::1",
            "8.8.8.8",
            "81.2.69.142",
            "8.8.4.4",
            "192.168.1.10",
            "200.160.2.3"
        ]
    );
    assert!(r.err.contains("line 6: host name \"crawl-66-249-66-1.googlebot.com\""), "{}", r.err);
    assert!(r.err.contains("line 7: 240.0.0.9 is a Cloudflare Pseudo IPv4 address"), "{}", r.err);
    assert_eq!(r.summary()["special_purpose_viewers"], 1);
    assert_eq!(r.summary()["mostly_cloudflare"], false);
}

#[test]
fn access_log_of_cloudflare_addresses_is_flagged_loudly() {
    let log: String = ["162.158.1.1", "172.70.2.2", "2606:4700::6810:1", "81.2.69.142"]
        .iter()
        .map(|ip| format!("{ip} - - {TIME}\n"))
        .collect();
    let r = simulate(log.as_bytes(), &[]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.err.contains("WARNING: 3 of 4 viewers have Cloudflare's own addresses"), "{}", r.err);
    assert_eq!(r.summary()["mostly_cloudflare"], true);
    assert_eq!(r.summary()["cloudflare_viewers"], 3);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut child = std::process::Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    child.wait_with_output().unwrap().stdout
}

/// A zstd frame of `bytes`, stored raw (a frame header, one raw block).
fn zstd_raw_frame(bytes: &[u8]) -> Vec<u8> {
    assert!(bytes.len() < 1 << 20);
    let mut f = vec![0x28, 0xb5, 0x2f, 0xfd];
    // Frame header: single segment, 4-byte content size.
    f.push(0b1010_0000);
    f.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    // Last block, raw, its size.
    let header = 1 | ((bytes.len() as u32) << 3);
    f.extend_from_slice(&header.to_le_bytes()[..3]);
    f.extend_from_slice(bytes);
    f
}

#[test]
fn compressed_input_whatever_its_name() {
    let a = LOGPUSH.as_bytes();
    let plain = simulate(a, &[]);
    // Two gzip members (as Logpush writes): both are read.
    let two = [gzip(a), gzip(a)].concat();
    let r = simulate(&two, &[]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.out, plain.out.repeat(2));
    assert_eq!(r.summary()["compression"], "gzip");
    // zstd: a skippable frame, then two frames.
    let skippable = [&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3][..]].concat();
    let z = [skippable, zstd_raw_frame(a), zstd_raw_frame(a)].concat();
    let r = simulate(&z, &[]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.out, plain.out.repeat(2));
    assert_eq!(r.summary()["compression"], "zstd");
    // Truncated: exit non-zero.
    for (what, bytes) in
        [("gzip", two[..two.len() - 20].to_vec()), ("zstd", z[..z.len() - 5].to_vec())]
    {
        let r = simulate(&bytes, &[]);
        assert_eq!(r.code, 2, "{what}: {}", r.err);
        assert!(r.err.contains(&format!("({what} data)")), "{what}: {}", r.err);
    }
}

#[test]
fn decompression_bomb_stays_within_the_line_limit() {
    // 16 MiB of one line of zeros in 16 KiB of gzip: one overlong bad line,
    // read in bounded chunks; nothing else in it, so the run fails.
    let bomb = gzip(&vec![b'0'; 16 << 20]);
    assert!(bomb.len() < 1 << 20);
    let with_viewer = [bomb.clone(), gzip(b"\n8.8.8.8\n")].concat();
    let r = simulate(&with_viewer, &[]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.err.contains("line 1: line longer than 4096 bytes"), "{}", r.err);
    assert_eq!(r.viewers(), pairs(&[("8.8.8.8", "US")]));
    assert_eq!(simulate(&bomb, &[]).code, 2);
}

#[test]
fn a_run_that_reads_no_viewer_fails_naming_the_format() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "the input is empty"),
        (b"not-an-ip\nstill not\n", "expected plain viewer lines"),
        (b"ip,country\nx,US\ny,DE\n", "expected CSV with a header line"),
        (b"{\"ClientIP\":\"x\"}\n", "expected NDJSON objects"),
        (
            b"{\"ClientIP\":\"8.8.8.8\",\"ClientRequestSource\":\"edgePurge\"}\n",
            "1 not from viewers",
        ),
    ];
    for (bytes, message) in cases {
        let r = simulate(bytes, &[]);
        assert_eq!(r.code, 2, "{message}: {}", r.err);
        assert!(r.err.contains("no viewer read from"), "{}", r.err);
        assert!(r.err.contains(message), "{message}: {}", r.err);
    }
    let log = format!("host.example.com - - {TIME}\n");
    let r = simulate(log.as_bytes(), &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.err.contains("every line was bad (1 line); expected web-server access log"),
        "{}",
        r.err
    );
}

#[test]
fn summaries_are_grammatical() {
    let out = bin()
        .args(["simulate", RULES, "--input", "-", "--format", "tsv"])
        .write_stdin("81.2.69.142\nbad\n")
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("accessrules: 1 viewer: 0 allowed, 1 blocked; 1 bad line\n"), "{err}");
    assert!(err.contains("rule 0 (ip.geoip.country, 2 entries, allow): 0 viewers"), "{err}");
    assert!(err.contains("rule 2 (any, block): 1 viewer\n"), "{err}");
}

#[test]
fn special_purpose_viewers_get_a_note() {
    let out = bin().args(["simulate", RULES, "--ip", "192.168.1.1"]).output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("note: 192.168.1.1 is in a private range (RFC 1918): no viewer at the edge"),
        "{err}"
    );
    for ip in ["127.0.0.1", "100.64.0.1", "203.0.113.5", "2001:db8::1", "::ffff:10.0.0.1"] {
        let out = bin().args(["explain", RULES, "--ip", ip]).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("  note: ") && text.contains("no viewer at the edge"),
            "{ip}: {text}"
        );
    }
    let out = bin().args(["explain", RULES, "--ip", "8.8.8.8"]).output().unwrap();
    assert!(!String::from_utf8(out.stdout).unwrap().contains("note:"));
    let r = simulate(b"10.1.2.3\n8.8.8.8\n", &[]);
    assert_eq!(r.summary()["special_purpose_viewers"], 1);
}

#[test]
fn output_order_is_input_order() {
    // Enough lines for several parallel parts and chunks, in each format.
    let ips: Vec<String> =
        (0..60_000u32).map(|i| std::net::Ipv4Addr::from(0x0808_0000 + i * 7).to_string()).collect();
    let plain = ips.join("\n");
    let csv = format!(
        "\"note\",ip\n{}",
        ips.iter().map(|ip| format!("\"a\nb\",{ip}")).collect::<Vec<_>>().join("\n")
    );
    let ndjson: String = ips.iter().map(|ip| format!("{{\"ClientIP\":\"{ip}\"}}\n")).collect();
    for input in [plain, csv, ndjson] {
        let r = simulate(input.as_bytes(), &[]);
        let got: Vec<String> = r.viewers().into_iter().map(|(ip, _)| ip).collect();
        assert_eq!(got, ips, "{}", r.err);
    }
}

// ---------------------------------------------------------------------------
// Library readers against plain references
// ---------------------------------------------------------------------------

/// What a line means, by a plain reading: serde_json's `Value`, then the
/// documented rules.
fn reference_ndjson(line: &str) -> Result<Record, ()> {
    let v: Value = serde_json::from_str(line).map_err(|_| ())?;
    let obj = v.as_object().ok_or(())?;
    if let Some(src) = obj.get("ClientRequestSource").and_then(Value::as_str) {
        if src != "eyeball" {
            return Ok(Record::NotViewer);
        }
    }
    let known_ip = ["ClientIP", "ip", "client_ip", "remote_addr"];
    let known_cc = ["ClientCountry", "country", "country_code", "cf-ipcountry"];
    let ips: Vec<&Value> =
        obj.iter().filter(|(k, _)| known_ip.contains(&k.as_str())).map(|(_, v)| v).collect();
    let ccs: Vec<&Value> =
        obj.iter().filter(|(k, _)| known_cc.contains(&k.as_str())).map(|(_, v)| v).collect();
    let odd = obj.keys().any(|k| {
        !known_cc.contains(&k.as_str())
            && (k.eq_ignore_ascii_case("cc") || k.to_lowercase().contains("country"))
    });
    if ips.len() != 1 || ccs.len() > 1 || odd {
        return Err(());
    }
    let ip = ips[0].as_str().ok_or(())?.trim().parse().map_err(|_| ())?;
    let country = match ccs.first() {
        None | Some(Value::Null) => LineCountry::Absent,
        Some(Value::String(s)) if s.trim().is_empty() || s.trim() == "-" => LineCountry::Absent,
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("xx") => LineCountry::Unknown,
        Some(Value::String(s)) => {
            let c = accessrules::country::viewer_country(s.trim()).map_err(|_| ())?;
            LineCountry::Code(c)
        }
        Some(_) => return Err(()),
    };
    Ok(Record::Viewer { ip, country })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("ClientIP".to_owned()),
        Just("ip".to_owned()),
        Just("ClientCountry".to_owned()),
        Just("country".to_owned()),
        Just("cc".to_owned()),
        Just("Country".to_owned()),
        Just("ClientRequestSource".to_owned()),
        Just("EdgeServerIP".to_owned()),
        Just("OriginIP".to_owned()),
        Just("ClientRegionCode".to_owned()),
        "[A-Za-z]{1,10}",
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        prop_oneof![
            Just("81.2.69.142"),
            Just(" 2001:db8::1 "),
            Just("::ffff:8.8.8.8"),
            Just("1.2.3"),
            Just("gb"),
            Just("xx"),
            Just("T1"),
            Just("UK"),
            Just(""),
            Just("eyeball"),
            Just("edgeWorkerFetch"),
            Just("é\"\\"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec(("[a-z]{1,3}", inner), 0..3)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The NDJSON reader agrees with a serde_json `Value` reading, whatever
    /// the key order, nesting and decoys.
    #[test]
    fn ndjson_reader_agrees_with_a_value_reading(
        entries in prop::collection::vec((key(), value()), 0..8)
    ) {
        let mut text = String::from("{");
        let mut seen = std::collections::BTreeSet::new();
        for (k, v) in &entries {
            if !seen.insert(k.clone()) {
                continue; // serde_json's Value keeps the last of a repeated key
            }
            if text.len() > 1 {
                text.push(',');
            }
            text.push_str(&format!("{}:{}", Value::String(k.clone()), v));
        }
        text.push('}');
        let ours = Reader::plain().read(text.as_bytes());
        let reference = reference_ndjson(&text);
        match (&ours, &reference) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{}", text),
            (Err(_), Err(())) => {}
            _ => prop_assert!(false, "{}: ours {:?}, reference {:?}", text, ours, reference),
        }
    }

    /// CSV records written by the `csv` crate (quoting as needed) read back
    /// to the same address and country, split into records whatever the
    /// line breaks inside quotes.
    #[test]
    fn csv_reader_agrees_with_the_csv_crate(
        rows in prop::collection::vec(
            ("[a-z,\"\n ;]{0,6}", prop_oneof![Just("81.2.69.142"), Just("2001:db8::7"), Just("8.8.8.8")],
             prop_oneof![Just(""), Just("de"), Just("XX"), Just("-")]),
            1..20),
        delimiter in prop_oneof![Just(b','), Just(b';'), Just(b'\t')],
    ) {
        let mut w = csv::WriterBuilder::new().delimiter(delimiter).from_writer(Vec::new());
        w.write_record(["note", "ip", "country"]).unwrap();
        for (note, ip, cc) in &rows {
            w.write_record([note.as_str(), ip, cc]).unwrap();
        }
        let bytes = w.into_inner().unwrap();
        let reader = detect(&bytes, &Hints::default()).unwrap();
        prop_assert!(reader.multiline());
        let records: Vec<Record> =
            reader.records(&bytes).map(|(_, r)| reader.read(r).unwrap()).collect();
        prop_assert_eq!(records[0], Record::Skipped);
        for ((_, ip, cc), got) in rows.iter().zip(&records[1..]) {
            let country = match *cc {
                "" | "-" => LineCountry::Absent,
                "XX" => LineCountry::Unknown,
                c => LineCountry::Code(CountryCode::new(&c.to_uppercase()).unwrap()),
            };
            prop_assert_eq!(*got, Record::Viewer { ip: ip.parse().unwrap(), country });
        }
        prop_assert_eq!(records.len(), rows.len() + 1);
    }
}

#[test]
fn seed_logs_in_tests_data() {
    // The real-looking seed logs of tests/data/logs: the binary's counts
    // agree with the library's tally.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/logs");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let reader = detect(&bytes, &Hints::default()).unwrap();
        let t = reader.tally(&bytes);
        let r = simulate_path(&path, &[]);
        let s = r.summary();
        assert_eq!(s["viewers"], t.viewers, "{}: {}", path.display(), r.err);
        assert_eq!(s["bad_lines"], t.bad, "{}", path.display());
        assert_eq!(s["not_viewers"], t.not_viewers, "{}", path.display());
        assert_eq!(s["format"], reader.name(), "{}", path.display());
    }
}
