//! `simulate --input`: viewers streamed from a file or standard input.
//!
//! The input is read in chunks of [`CHUNK`] bytes; each chunk's complete
//! lines are split at line boundaries between the cores, evaluated in
//! parallel into per-part output buffers, and written in input order. No
//! line allocates unless it is ndjson or bad. A line longer than
//! [`MAX_LINE`] bytes is reported and skipped without being buffered.

use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::net::IpAddr;

use anyhow::Context;

use accessrules::viewer_line::{read_line, MAX_LINE};
use accessrules::{Action, CountryCode, RuleId, RuleKind, RuleSet};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::evaluator::{Evaluator, Outcome1, Scratch};
use super::output::write_outcome;
use super::{Failure, Outcome, OutputFormat};

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

/// Decides the lines of `part`, writing results to `out` (an emptied
/// buffer of an earlier chunk, so that its pages are already mapped).
fn process_part(
    part: &[u8],
    mut out: Vec<u8>,
    evaluator: &Evaluator<'_>,
    format: OutputFormat,
    rules: usize,
) -> anyhow::Result<PartResult> {
    out.clear();
    out.reserve(part.len() * 2);
    let mut r = PartResult { out, stats: Stats::new(rules), lines: 0, bad: vec![] };
    let mut batch = Batch::default();
    let mut rest = part;
    while !rest.is_empty() {
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        match read_line(line) {
            Ok(None) => {}
            Ok(Some(viewer)) => {
                batch.viewers.push(viewer);
                if batch.viewers.len() == BATCH {
                    batch.decide(evaluator, &mut r, format, rules)?;
                }
            }
            Err(message) => {
                r.stats.bad_lines += 1;
                r.bad.push((r.lines, message));
            }
        }
        r.lines += 1;
    }
    batch.decide(evaluator, &mut r, format, rules)?;
    Ok(r)
}

/// Viewers read and waiting to be decided, with reused buffers.
#[derive(Default)]
struct Batch {
    viewers: Vec<(IpAddr, Option<CountryCode>)>,
    outcomes: Vec<Outcome1>,
    scratch: Scratch,
}

impl Batch {
    /// Decides the waiting viewers and writes their results.
    fn decide(
        &mut self,
        evaluator: &Evaluator<'_>,
        r: &mut PartResult,
        format: OutputFormat,
        rules: usize,
    ) -> anyhow::Result<()> {
        self.outcomes.clear();
        evaluator.evaluate_batch(&self.viewers, &mut self.scratch, &mut self.outcomes)?;
        self.viewers.clear();
        let s = &mut r.stats;
        for o in &self.outcomes {
            s.viewers += 1;
            match o.decision.action {
                Action::Allow => s.allowed += 1,
                Action::Block => s.blocked += 1,
            }
            s.hits[o.decision.rule.map_or(rules, RuleId::index)] += 1;
            write_outcome(&mut r.out, o, format);
        }
        Ok(())
    }
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
    evaluator: &'a Evaluator<'a>,
    format: OutputFormat,
    rules: usize,
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
        } else {
            split_lines(region, self.threads)
        };
        let (evaluator, format, rules) = (self.evaluator, self.format, self.rules);
        let mut bufs = std::mem::take(&mut self.buffers);
        bufs.resize_with(parts.len().max(bufs.len()), Vec::new);
        let results: Vec<anyhow::Result<PartResult>> = if parts.len() == 1 {
            vec![process_part(parts[0], bufs.swap_remove(0), evaluator, format, rules)]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = parts
                    .iter()
                    .zip(bufs.drain(..parts.len()))
                    .map(|(p, buf)| s.spawn(move || process_part(p, buf, evaluator, format, rules)))
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

/// Runs `simulate --input`.
pub fn run(
    evaluator: &Evaluator<'_>,
    rules: &RuleSet,
    input: &str,
    format: OutputFormat,
) -> Outcome {
    let (mut reader, len): (Box<dyn Read>, Option<u64>) = if input == "-" {
        (Box::new(io::stdin().lock()), None)
    } else {
        let file = std::fs::File::open(input).map_err(|e| {
            Failure::Error(anyhow::anyhow!("cannot open viewer input {input}: {e}"))
        })?;
        let len = file.metadata().ok().map(|m| m.len());
        (Box::new(file), len)
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let mut run = Run {
        evaluator,
        format,
        rules: rules.rules.len(),
        threads,
        stats: Stats::new(rules.rules.len()),
        line_no: 1,
        buffers: Vec::new(),
        err: io::stderr(),
    };
    super::interrupt::install();
    let progress = progress_bar(len);
    let stdout = io::stdout();
    // Results arrive as one buffer per part (hundreds of KiB): a small
    // BufWriter passes them straight to standard output instead of copying
    // them into its own buffer first.
    let mut out = BufWriter::with_capacity(64 << 10, stdout.lock());
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + MAX_LINE);
    // Inside an overlong line that started at this line number.
    let mut skipping: Option<u64> = None;
    let mut first_read = true;
    loop {
        let want = CHUNK.saturating_sub(buf.len()).max(1);
        let before = buf.len();
        let n = (&mut reader).take(want as u64).read_to_end(&mut buf).map_err(|e| {
            Failure::Error(anyhow::anyhow!("cannot read viewer input {input}: {e}"))
        })?;
        let eof = n < want;
        progress.inc((buf.len() - before) as u64);
        if first_read {
            // A byte-order mark, as docs/semantics.md accepts for rule documents.
            first_read = false;
            if buf.starts_with(b"\xEF\xBB\xBF") {
                buf.drain(..3);
            }
        }
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
        let complete =
            if eof { buf.len() } else { memchr::memrchr(b'\n', &buf).map_or(0, |i| i + 1) };
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
    if super::interrupt::requested() {
        let _ = writeln!(
            io::stderr(),
            "accessrules: interrupted after line {}; summary of the lines processed:",
            run.line_no - 1
        );
        print_summary(&run.stats, rules);
        std::process::exit(super::interrupt::EXIT_INTERRUPTED);
    }
    print_summary(&run.stats, rules);
    Ok(())
}

fn print_summary(s: &Stats, rules: &RuleSet) {
    let mut err = io::stderr().lock();
    let _ = writeln!(
        err,
        "accessrules: {} viewers: {} allowed, {} blocked; {} bad lines",
        s.viewers, s.allowed, s.blocked, s.bad_lines
    );
    for (i, rule) in rules.rules.iter().enumerate() {
        let what = match &rule.kind {
            RuleKind::Any => "any".to_owned(),
            RuleKind::IpSrc(n) => format!("ip.src, {} entries", n.len()),
            RuleKind::Country(c) => format!("ip.geoip.country, {} entries", c.len()),
            other => other.type_name().to_owned(),
        };
        let _ = writeln!(err, "  rule {i} ({what}, {}): {} viewers", rule.action, s.hits[i]);
    }
    let _ = writeln!(
        err,
        "  no rule matched (default {}): {} viewers",
        accessrules::DEFAULT_ACTION,
        s.hits[rules.rules.len()]
    );
    if s.bad_lines > MAX_REPORTED_BAD_LINES {
        let _ = writeln!(
            err,
            "  (only the first {MAX_REPORTED_BAD_LINES} bad lines were reported one by one)"
        );
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
