//! `simulate --input`: viewers streamed from a file or standard input.
//!
//! The input is decompressed if its first bytes say gzip or zstd
//! ([`super::decompress`]), its format is chosen once from the first chunk
//! ([`accessrules::input::detect`]), and it is read in chunks of [`CHUNK`]
//! bytes; each chunk's complete lines (CSV records) are split at record
//! boundaries between the cores, evaluated in parallel into per-part output
//! buffers, and written in input order: the output lines are in the order
//! of the input lines. No plain line allocates unless it is NDJSON or bad.
//! A line longer than [`MAX_LINE`] bytes is reported and skipped without
//! being buffered.

use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::net::IpAddr;

use anyhow::Context;

use accessrules::input::{self, LineCountry, Reader, Record, MAX_LINE};
use accessrules::{Action, RuleId, RuleKind, RuleSet};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::decompress::{self, Compression, ReadAhead};
use super::evaluator::{CountrySource, Evaluator, Outcome1, Scratch};
use super::output::write_outcome;
use super::{Failure, Outcome, OutputFormat, SummaryFormat};

/// Bytes read per chunk.
const CHUNK: usize = 1 << 20;
/// The context of an error writing results.
const WRITE_FAILED: &str = "cannot write the results to standard output";
/// Bad lines reported one by one; the rest are only counted.
const MAX_REPORTED_BAD_LINES: u64 = 1000;
/// Viewers decided together ([`Evaluator::evaluate_batch`]).
const BATCH: usize = 256;

/// Counts for the end summary.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub viewers: u64,
    pub allowed: u64,
    pub blocked: u64,
    /// Hits per rule; the last slot counts viewers no rule matched.
    pub hits: Vec<u64>,
    pub bad_lines: u64,
    /// Requests the log marks as not a viewer's.
    pub not_viewers: u64,
    /// Viewers with one of Cloudflare's own addresses.
    pub cloudflare: u64,
    /// Viewers in a special-purpose range (private, loopback, …).
    pub special: u64,
    /// Viewers whose country the log gives and GeoIP (`--geoip`) names
    /// another.
    pub disagree: u64,
}

impl Stats {
    fn new(rules: usize) -> Stats {
        Stats { hits: vec![0; rules + 1], ..Stats::default() }
    }

    fn add(&mut self, other: &Stats) {
        self.viewers += other.viewers;
        self.allowed += other.allowed;
        self.blocked += other.blocked;
        self.bad_lines += other.bad_lines;
        self.not_viewers += other.not_viewers;
        self.cloudflare += other.cloudflare;
        self.special += other.special;
        self.disagree += other.disagree;
        for (a, b) in self.hits.iter_mut().zip(&other.hits) {
            *a += b;
        }
    }
}

/// The output and counts of one part of a chunk.
struct PartResult {
    out: Vec<u8>,
    stats: Stats,
    lines: u64,
    /// (line index within the part, message)
    bad: Vec<(u64, String)>,
}

/// What every part needs.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    evaluator: &'a Evaluator<'a>,
    reader: &'a Reader,
    format: OutputFormat,
    rules: usize,
    /// Count viewers whose log country GeoIP contradicts.
    compare_geoip: bool,
}

/// Decides the lines of `part`, writing results to `out` (an emptied
/// buffer of an earlier chunk, so that its pages are already mapped).
fn process_part(part: &[u8], out: Vec<u8>, ctx: Ctx<'_>) -> anyhow::Result<PartResult> {
    if ctx.reader.multiline() {
        process_records(part, out, ctx, |rest| {
            ctx.reader.record_end(rest, true).unwrap_or((rest.len(), rest.len()))
        })
    } else if *ctx.reader.format() == input::Format::Plain {
        // The fast path: monomorphic, no format dispatch per line.
        process_lines(part, out, ctx, |line| {
            if line.len() > MAX_LINE {
                Err(input::LineTooLong.to_string())
            } else {
                input::plain::parse(line)
            }
        })
    } else {
        process_lines(part, out, ctx, |line| ctx.reader.read(line))
    }
}

fn process_lines(
    part: &[u8],
    mut out: Vec<u8>,
    ctx: Ctx<'_>,
    read: impl Fn(&[u8]) -> Result<Record, String>,
) -> anyhow::Result<PartResult> {
    out.clear();
    out.reserve(part.len() * 2);
    let mut r = PartResult { out, stats: Stats::new(ctx.rules), lines: 0, bad: vec![] };
    let mut batch = Batch::default();
    let mut rest = part;
    while !rest.is_empty() {
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        batch.take(read(line), &mut r, ctx)?;
        r.lines += 1;
    }
    batch.decide(&mut r, ctx)?;
    Ok(r)
}

/// [`process_lines`] for records that may span lines (quoted CSV).
fn process_records(
    part: &[u8],
    mut out: Vec<u8>,
    ctx: Ctx<'_>,
    end: impl Fn(&[u8]) -> (usize, usize),
) -> anyhow::Result<PartResult> {
    out.clear();
    out.reserve(part.len() * 2);
    let mut r = PartResult { out, stats: Stats::new(ctx.rules), lines: 0, bad: vec![] };
    let mut batch = Batch::default();
    let mut rest = part;
    while !rest.is_empty() {
        let (stop, next) = end(rest);
        let record = &rest[..stop];
        rest = &rest[next..];
        batch.take(ctx.reader.read(record), &mut r, ctx)?;
        r.lines += 1 + memchr::memchr_iter(b'\n', record).count() as u64;
    }
    batch.decide(&mut r, ctx)?;
    Ok(r)
}

/// Viewers read and waiting to be decided, with reused buffers.
#[derive(Default)]
struct Batch {
    viewers: Vec<(IpAddr, LineCountry)>,
    outcomes: Vec<Outcome1>,
    scratch: Scratch,
    ips: Vec<IpAddr>,
    given: Vec<accessrules::CountryCode>,
    geoip: Vec<Option<accessrules::CountryCode>>,
}

impl Batch {
    /// Takes one line's outcome (index `r.lines` of the part).
    #[inline]
    fn take(
        &mut self,
        outcome: Result<Record, String>,
        r: &mut PartResult,
        ctx: Ctx<'_>,
    ) -> anyhow::Result<()> {
        match outcome {
            Ok(Record::Viewer { ip, country }) => {
                self.viewers.push((ip, country));
                if self.viewers.len() == BATCH {
                    self.decide(r, ctx)?;
                }
            }
            Ok(Record::Skipped) => {}
            Ok(Record::NotViewer) => r.stats.not_viewers += 1,
            Err(message) => {
                r.stats.bad_lines += 1;
                r.bad.push((r.lines, message));
            }
        }
        Ok(())
    }

    /// Decides the waiting viewers and writes their results.
    fn decide(&mut self, r: &mut PartResult, ctx: Ctx<'_>) -> anyhow::Result<()> {
        self.outcomes.clear();
        ctx.evaluator.evaluate_batch(&self.viewers, &mut self.scratch, &mut self.outcomes)?;
        self.viewers.clear();
        let s = &mut r.stats;
        for o in &self.outcomes {
            s.viewers += 1;
            match o.decision.action {
                Action::Allow => s.allowed += 1,
                Action::Block => s.blocked += 1,
            }
            s.hits[o.decision.rule.map_or(ctx.rules, RuleId::index)] += 1;
            s.cloudflare += u64::from(input::is_cloudflare(o.ip));
            s.special += u64::from(input::special_purpose(o.ip).is_some());
            write_outcome(&mut r.out, o, ctx.format);
        }
        if ctx.compare_geoip {
            self.ips.clear();
            self.given.clear();
            for o in &self.outcomes {
                if let (CountrySource::Given, Some(c)) = (o.source, o.country) {
                    if accessrules::country::pseudo_code(c.as_str()).is_none() {
                        self.ips.push(o.ip);
                        self.given.push(c);
                    }
                }
            }
            self.geoip.clear();
            ctx.evaluator.geoip_countries(&self.ips, &mut self.geoip)?;
            s.disagree += self
                .given
                .iter()
                .zip(&self.geoip)
                .filter(|(given, geo)| geo.is_some_and(|g| g != **given))
                .count() as u64;
        }
        Ok(())
    }
}

/// Splits `region` (complete records) into about `n` parts at record
/// boundaries, scanning record by record (quoted CSV).
fn split_records<'a>(region: &'a [u8], n: usize, reader: &Reader) -> Vec<&'a [u8]> {
    let mut parts = Vec::with_capacity(n);
    let (mut start, mut at) = (0, 0);
    while at < region.len() {
        let (_, next) = reader.record_end(&region[at..], true).unwrap_or((0, region.len() - at));
        at += next;
        if at - start >= region.len() / n {
            parts.push(&region[start..at]);
            start = at;
        }
    }
    if start < region.len() {
        parts.push(&region[start..]);
    }
    parts
}

/// Where the complete records of `buf` end (the rest waits for more bytes).
fn complete_records(buf: &[u8], reader: &Reader) -> usize {
    let mut at = 0;
    while let Some((_, next)) = reader.record_end(&buf[at..], false) {
        at += next;
        if at == buf.len() {
            break;
        }
    }
    at
}

/// Splits `region` into about `n` parts at line boundaries.
fn split_lines(region: &[u8], n: usize) -> Vec<&[u8]> {
    let mut parts = Vec::with_capacity(n);
    let mut start = 0;
    for k in 1..n {
        let target = (region.len() * k / n).max(start);
        if target >= region.len() {
            break;
        }
        let cut = match memchr::memchr(b'\n', &region[target..]) {
            Some(i) => target + i + 1,
            None => region.len(),
        };
        if cut > start {
            parts.push(&region[start..cut]);
            start = cut;
        }
    }
    if start < region.len() {
        parts.push(&region[start..]);
    }
    parts
}

struct Run<'a> {
    ctx: Ctx<'a>,
    threads: usize,
    stats: Stats,
    /// Number of the next line to be read (1-based).
    line_no: u64,
    /// Output buffers of the parts, reused from chunk to chunk.
    buffers: Vec<Vec<u8>>,
    err: io::Stderr,
}

impl Run<'_> {
    fn bad_line(&mut self, line: u64, message: &str) {
        if self.stats.bad_lines < MAX_REPORTED_BAD_LINES {
            let _ = writeln!(self.err, "accessrules: line {line}: {message}; skipped");
        }
        self.stats.bad_lines += 1;
    }

    /// Evaluates complete lines and writes their results in order.
    fn region(&mut self, region: &[u8], out: &mut impl Write) -> anyhow::Result<()> {
        let parts = if region.len() < 64 * 1024 || self.threads == 1 {
            vec![region]
        } else if self.ctx.reader.multiline() {
            split_records(region, self.threads, self.ctx.reader)
        } else {
            split_lines(region, self.threads)
        };
        let ctx = self.ctx;
        let mut bufs = std::mem::take(&mut self.buffers);
        bufs.resize_with(parts.len().max(bufs.len()), Vec::new);
        let results: Vec<anyhow::Result<PartResult>> = if parts.len() == 1 {
            vec![process_part(parts[0], bufs.swap_remove(0), ctx)]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = parts
                    .iter()
                    .zip(bufs.drain(..parts.len()))
                    .map(|(p, buf)| s.spawn(move || process_part(p, buf, ctx)))
                    .collect();
                handles.into_iter().map(|h| h.join().expect("viewer worker panicked")).collect()
            })
        };
        for r in results {
            let r = r?;
            out.write_all(&r.out).context(WRITE_FAILED)?;
            let bad_before = r.stats.bad_lines;
            let mut stats = r.stats;
            stats.bad_lines = 0;
            self.stats.add(&stats);
            for (idx, msg) in &r.bad {
                self.bad_line(self.line_no + idx, msg);
            }
            debug_assert_eq!(bad_before, r.bad.len() as u64);
            self.line_no += r.lines;
            self.buffers.push(r.out);
        }
        Ok(())
    }
}

fn progress_bar(len: Option<u64>) -> ProgressBar {
    // Only when standard error is a terminal and results do not go to the
    // same terminal (the bar would be drawn over them).
    if !io::stderr().is_terminal() || io::stdout().is_terminal() {
        return ProgressBar::hidden();
    }
    match len {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {wide_bar} {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} {bytes} read ({bytes_per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
}

/// What `simulate --input` was asked besides the rules and the output format.
pub struct StreamOptions {
    pub hints: input::Hints,
    pub summary: SummaryFormat,
    /// `--geoip` given: count viewers whose log country GeoIP contradicts.
    pub compare_geoip: bool,
}

/// Opens the viewer input, decompressed: the reader, the file size (for
/// the progress bar; none for standard input or compressed input) and the
/// compression.
pub(super) fn open_input(input: &str) -> anyhow::Result<(Box<dyn Read>, Option<u64>, Compression)> {
    let (raw, len): (Box<dyn Read + Send>, Option<u64>) = if input == "-" {
        (Box::new(io::stdin()), None)
    } else {
        let file = std::fs::File::open(input)
            .map_err(|e| anyhow::anyhow!("cannot open viewer input {input}: {e}"))?;
        let len = file.metadata().ok().map(|m| m.len());
        (Box::new(file), len)
    };
    let (reader, kind) = decompress::open(raw)
        .map_err(|e| anyhow::anyhow!("cannot read viewer input {input}: {e}"))?;
    Ok(match kind {
        Compression::None => (reader, len, kind),
        // Decompressed one chunk ahead, on another core.
        _ => (Box::new(ReadAhead::new(reader, CHUNK)), None, kind),
    })
}

/// Runs `simulate --input`.
pub fn run(
    evaluator: &Evaluator<'_>,
    rules: &RuleSet,
    input: &str,
    format: OutputFormat,
    options: &StreamOptions,
) -> Outcome {
    let (mut reader, len, compression) = open_input(input)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    super::interrupt::install();
    let progress = progress_bar(len);
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + MAX_LINE);
    let read_error = |e: io::Error| {
        let what = match compression {
            Compression::None => String::new(),
            c => format!(" ({} data)", c.name()),
        };
        Failure::Error(anyhow::anyhow!("cannot read viewer input {input}{what}: {e}"))
    };
    // The first chunk: the byte-order mark goes, and the format is chosen.
    (&mut reader).take(CHUNK as u64).read_to_end(&mut buf).map_err(read_error)?;
    let mut eof = buf.len() < CHUNK;
    progress.inc(buf.len() as u64);
    if buf.starts_with(b"\xEF\xBB\xBF") {
        // As docs/semantics.md accepts for rule documents.
        buf.drain(..3);
    }
    let line_reader = input::detect(&buf, &options.hints)
        .map_err(|e| Failure::Error(anyhow::anyhow!("viewer input {input}: {e}")))?;
    if line_reader != Reader::plain() || compression != Compression::None {
        let zipped = match compression {
            Compression::None => String::new(),
            c => format!("{}-compressed ", c.name()),
        };
        let _ = writeln!(
            io::stderr(),
            "accessrules: reading {input} as {zipped}{}",
            line_reader.describe()
        );
    }
    let ctx = Ctx {
        evaluator,
        reader: &line_reader,
        format,
        rules: rules.rules.len(),
        compare_geoip: options.compare_geoip,
    };
    let mut run = Run {
        ctx,
        threads,
        stats: Stats::new(rules.rules.len()),
        line_no: 1,
        buffers: Vec::new(),
        err: io::stderr(),
    };
    let stdout = io::stdout();
    // Results arrive as one buffer per part (hundreds of KiB): a small
    // BufWriter passes them straight to standard output instead of copying
    // them into its own buffer first.
    let mut out = BufWriter::with_capacity(64 << 10, stdout.lock());
    // Inside an overlong line that started at this line number.
    let mut skipping: Option<u64> = None;
    let mut first = true;
    loop {
        if !first {
            let want = CHUNK.saturating_sub(buf.len()).max(1);
            let before = buf.len();
            let n = (&mut reader).take(want as u64).read_to_end(&mut buf).map_err(read_error)?;
            eof = n < want;
            progress.inc((buf.len() - before) as u64);
        }
        first = false;
        if let Some(start) = skipping {
            match memchr::memchr(b'\n', &buf) {
                Some(i) => {
                    buf.drain(..=i);
                    skipping = None;
                    run.bad_line(start, &format!("line longer than {MAX_LINE} bytes"));
                    run.line_no = start + 1;
                }
                None => {
                    buf.clear();
                    if eof {
                        run.bad_line(start, &format!("line longer than {MAX_LINE} bytes"));
                        break;
                    }
                    continue;
                }
            }
        }
        let complete = if eof {
            buf.len()
        } else if line_reader.multiline() {
            complete_records(&buf, &line_reader)
        } else {
            memchr::memrchr(b'\n', &buf).map_or(0, |i| i + 1)
        };
        run.region(&buf[..complete], &mut out).map_err(Failure::Error)?;
        buf.drain(..complete);
        if buf.len() > MAX_LINE {
            skipping = Some(run.line_no);
            buf.clear();
        }
        if eof && buf.is_empty() && skipping.is_none() {
            break;
        }
        if super::interrupt::requested() {
            break;
        }
    }
    out.flush().context(WRITE_FAILED).map_err(Failure::Error)?;
    progress.finish_and_clear();
    let lines = run.line_no - 1;
    let summary = Summary {
        stats: &run.stats,
        rules,
        reader: &line_reader,
        lines,
        compression,
        compared: options.compare_geoip,
    };
    if super::interrupt::requested() {
        if options.summary == SummaryFormat::Human {
            let _ = writeln!(
                io::stderr(),
                "accessrules: interrupted after line {lines}; summary of the lines processed:"
            );
        }
        summary.print(options.summary, true);
        std::process::exit(super::interrupt::EXIT_INTERRUPTED);
    }
    if run.stats.viewers > 0 {
        summary.print(options.summary, false);
        return Ok(());
    }
    let why = if lines == 0 {
        "the input is empty".to_owned()
    } else if run.stats.bad_lines == lines {
        format!(
            "every line was bad ({}); expected {}",
            plural(lines, "line", "lines"),
            line_reader.describe()
        )
    } else {
        format!(
            "{} read: {} bad, {} not from viewers, the rest blank, comments or headers; expected {}",
            plural(lines, "line", "lines"),
            run.stats.bad_lines,
            run.stats.not_viewers,
            line_reader.describe()
        )
    };
    let error = anyhow::anyhow!("no viewer read from {input}: {why}");
    if options.summary == SummaryFormat::Json {
        // The JSON summary stays the last line of standard error: the
        // error is printed before it (and named in it).
        eprintln!("accessrules: error: {error}");
        summary.print_json(false, Some(&error.to_string()));
        return Err(Failure::Status(2));
    }
    summary.print(options.summary, false);
    Err(Failure::Error(error))
}

/// `1 viewer`, `2 viewers`.
fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The end summary, on standard error.
struct Summary<'a> {
    stats: &'a Stats,
    rules: &'a RuleSet,
    reader: &'a Reader,
    lines: u64,
    compression: Compression,
    compared: bool,
}

impl Summary<'_> {
    fn rule_kind(kind: &RuleKind) -> String {
        match kind {
            RuleKind::Any => "any".to_owned(),
            RuleKind::IpSrc(n) => format!("ip.src, {}", plural(n.len() as u64, "entry", "entries")),
            RuleKind::Country(c) => {
                format!("ip.geoip.country, {}", plural(c.len() as u64, "entry", "entries"))
            }
            other => other.type_name().to_owned(),
        }
    }

    /// Whether most viewers have Cloudflare's addresses.
    fn mostly_cloudflare(&self) -> bool {
        self.stats.viewers > 0 && self.stats.cloudflare * 2 > self.stats.viewers
    }

    fn print(&self, format: SummaryFormat, interrupted: bool) {
        let mut err = io::stderr().lock();
        let s = self.stats;
        if self.mostly_cloudflare() {
            let _ = writeln!(
                err,
                "accessrules: WARNING: {} of {} have Cloudflare's own addresses \
                 (data/cloudflare-ips.txt, from cloudflare.com/ips, last checked {}): this log \
                 records Cloudflare's edge, not the viewers, and the decisions below are \
                 meaningless; log the visitor's address (CF-Connecting-IP: nginx real_ip_header, \
                 Apache mod_remoteip) or replay Cloudflare Logpush instead",
                s.cloudflare,
                plural(s.viewers, "viewer", "viewers"),
                input::cloudflare_ranges_checked()
            );
        }
        if format == SummaryFormat::Json {
            drop(err);
            self.print_json(interrupted, None);
            return;
        }
        let _ = writeln!(
            err,
            "accessrules: {}: {} allowed, {} blocked; {}",
            plural(s.viewers, "viewer", "viewers"),
            s.allowed,
            s.blocked,
            plural(s.bad_lines, "bad line", "bad lines")
        );
        for (i, rule) in self.rules.rules.iter().enumerate() {
            let _ = writeln!(
                err,
                "  rule {i} ({}, {}): {}",
                Self::rule_kind(&rule.kind),
                rule.action,
                plural(s.hits[i], "viewer", "viewers")
            );
        }
        let _ = writeln!(
            err,
            "  no rule matched (default {}): {}",
            accessrules::DEFAULT_ACTION,
            plural(s.hits[self.rules.rules.len()], "viewer", "viewers")
        );
        if s.not_viewers > 0 {
            let _ = writeln!(
                err,
                "  {} skipped ({} other than {})",
                plural(s.not_viewers, "request not from a viewer", "requests not from viewers"),
                input::names::REQUEST_SOURCE,
                input::names::EYEBALL
            );
        }
        if s.special > 0 {
            let _ = writeln!(
                err,
                "  {} in special-purpose ranges (private, loopback, CGNAT, documentation, …): \
                 no viewer at the edge has such an address",
                plural(s.special, "viewer", "viewers")
            );
        }
        if self.stats.disagree > 0 {
            let _ = writeln!(
                err,
                "  {} whose country in the log differs from the --geoip database's",
                plural(s.disagree, "viewer", "viewers")
            );
        }
        if s.bad_lines > MAX_REPORTED_BAD_LINES {
            let _ = writeln!(
                err,
                "  (only the first {MAX_REPORTED_BAD_LINES} bad lines were reported one by one)"
            );
        }
    }

    /// The `--summary json` object (one line).
    /// The JSON summary, one line on standard error; `error` (when the
    /// run failed) added as `"error"`.
    fn print_json(&self, interrupted: bool, error: Option<&str>) {
        let mut json = self.json(interrupted);
        if let Some(error) = error {
            json["error"] = serde_json::Value::from(error);
        }
        let _ = writeln!(io::stderr().lock(), "{json}");
    }

    fn json(&self, interrupted: bool) -> serde_json::Value {
        let s = self.stats;
        let rules: Vec<serde_json::Value> = self
            .rules
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                serde_json::json!({
                    "rule": i,
                    "type": r.kind.type_name(),
                    "action": r.action.as_str(),
                    "viewers": s.hits[i],
                })
            })
            .collect();
        serde_json::json!({
            "format": self.reader.name(),
            "compression": match self.compression {
                Compression::None => serde_json::Value::Null,
                c => c.name().into(),
            },
            "lines": self.lines,
            "viewers": s.viewers,
            "allowed": s.allowed,
            "blocked": s.blocked,
            "bad_lines": s.bad_lines,
            "not_viewers": s.not_viewers,
            "rules": rules,
            "no_rule_matched": s.hits[self.rules.rules.len()],
            "special_purpose_viewers": s.special,
            "cloudflare_viewers": s.cloudflare,
            "mostly_cloudflare": self.mostly_cloudflare(),
            "country_disagreements": if self.compared { s.disagree.into() } else { serde_json::Value::Null },
            "interrupted": interrupted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_line_boundaries() {
        let text = b"a\nbb\nccc\ndddd\n";
        let parts = split_lines(text, 3);
        assert_eq!(parts.concat(), text.to_vec());
        assert!(parts.iter().all(|p| p.ends_with(b"\n")));
    }
}
