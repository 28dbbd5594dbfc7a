//! Diagnostics for people (annotated snippets) and for scripts (`--format json`).

use std::io::{self, Write};

use accessrules::geo::GeoDatabase;
use accessrules::{Code, Diagnostic, Severity, Validation};
use annotate_snippets::{AnnotationKind, Element, Group, Level, Origin, Renderer, Snippet};

/// `{"file": "...", "valid": bool, "errors": N, "warnings": N,
/// "diagnostics": [...]}` on one line; `file` is the argument as given
/// (`-` for standard input).
pub fn write_json(out: &mut impl Write, v: &Validation, file: &str) -> io::Result<()> {
    // Streamed diagnostic by diagnostic: no copy of the report in memory.
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    out.write_all(b"{\"file\":")?;
    serde_json::to_writer(&mut out, file)?;
    write!(
        out,
        ",\"valid\":{},\"errors\":{},\"warnings\":{},\"diagnostics\":[",
        v.is_valid(),
        v.error_count(),
        v.warning_count()
    )?;
    for (i, d) in v.diagnostics().iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut out, d)?;
    }
    out.write_all(b"]}\n")?;
    out.flush()
}

/// `{"file": "...", "error": "..."}` on one line: a document that could not
/// be read (it has no verdict).
pub fn write_json_error(out: &mut impl Write, file: &str, error: &str) -> io::Result<()> {
    let line = serde_json::json!({"file": file, "error": error});
    writeln!(out, "{line}")
}

/// Each diagnostic as `severity[code]: message`, ` --> file:line:column`,
/// the source lines with the value underlined, related places and help;
/// then a summary line.
pub fn write_human(
    out: &mut impl Write,
    v: &Validation,
    file: &str,
    colour: bool,
) -> io::Result<()> {
    let renderer = if colour { Renderer::styled() } else { Renderer::plain() };
    let source = v.source();
    // A token's findings point into its decoded payload, not the file's text.
    let decoded = v.document().is_some_and(|d| d.form().is_signed_token());
    let origin_label;
    let origin = if decoded {
        origin_label = format!("{file} (decoded token payload)");
        origin_label.as_str()
    } else {
        file
    };
    // Repeated findings are grouped: the first few of a code per rule are
    // shown, the rest counted (the JSON output lists every one).
    let mut seen: std::collections::HashMap<(Code, &str), usize> = Default::default();
    let mut hidden: Vec<((Code, &str), usize)> = Vec::new();
    for d in v.diagnostics() {
        let key = (d.code, rule_of(d.path()));
        let n = seen.entry(key).or_insert(0);
        *n += 1;
        if *n > SHOWN_PER_CODE_AND_RULE {
            match hidden.iter_mut().find(|(k, _)| *k == key) {
                Some((_, count)) => *count += 1,
                None => hidden.push((key, 1)),
            }
            continue;
        }
        writeln!(out, "{}", render_one(&renderer, d, source, origin))?;
        writeln!(out)?;
    }
    for ((code, rule), count) in hidden {
        let whom = if rule.is_empty() {
            "the document".to_owned()
        } else {
            format!("rule {}", rule_index(rule))
        };
        writeln!(
            out,
            "{file}: {count} more {code} finding{} in {whom} not shown (--format json lists every one)",
            if count == 1 { "" } else { "s" }
        )?;
    }
    let (e, w) = (v.error_count(), v.warning_count());
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if e > 0 {
        writeln!(out, "{file}: invalid: {}, {}", plural(e, "error"), plural(w, "warning"))
    } else {
        let form = v.document().map_or("document", |d| d.form().describe());
        let rules = v.rule_set().map_or(0, |r| r.rules.len());
        writeln!(
            out,
            "{file}: valid {form} with {}: {}",
            plural(rules, "rule"),
            plural(w, "warning")
        )
    }
}

/// Furthest a snippet looks for the ends of the lines it shows: a line
/// longer than this is cut around the value, so rendering one finding costs
/// at most this much, never the length of the line or of the document.
const MAX_SCAN: usize = MAX_WINDOW_BYTES * 4;

/// How many findings of one code in one rule the human output shows.
const SHOWN_PER_CODE_AND_RULE: usize = 3;

/// The pointer of the rule a finding is in (`/0`, `/accessRules/2`), or
/// `""` for the document.
fn rule_of(path: &str) -> &str {
    let mut end = 0;
    for (n, (i, _)) in path.match_indices('/').chain([(path.len(), "")]).enumerate().skip(1) {
        end = i;
        let first = &path[1..path[1..].find('/').map_or(path.len(), |j| j + 1)];
        if n == 1 && first != "accessRules" {
            return &path[..end];
        }
        if n == 2 {
            return &path[..end];
        }
    }
    &path[..end]
}

/// `2` of `/accessRules/2`.
fn rule_index(rule: &str) -> &str {
    rule.rsplit('/').next().unwrap_or(rule)
}

/// The lines around `start..end` of `source`, `(line start, line end)`, or
/// `None` when they reach further than [`MAX_SCAN`] bytes.
fn window(source: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let start = floor_char(source, start.min(source.len()));
    let end = floor_char(source, end.min(source.len())).max(start);
    if end - start > MAX_SCAN {
        return None;
    }
    let back = floor_char(source, start.saturating_sub(MAX_SCAN));
    let line_start = match source[back..start].rfind('\n') {
        Some(i) => back + i + 1,
        None if back == 0 => 0,
        None => return None,
    };
    let ahead = floor_char(source, (end + MAX_SCAN).min(source.len()));
    let line_end = match source[end..ahead].find('\n') {
        Some(i) => end + i,
        None if ahead == source.len() => source.len(),
        None => return None,
    };
    Some((line_start, line_end))
}

fn ceil_char(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Most source lines one snippet shows (related places further away become
/// notes).
const MAX_WINDOW_LINES: usize = 8;
/// Longest source text one snippet shows; longer lines are cut around the
/// value so that output stays proportional to the findings, not to the
/// document (a minified document is one long line).
const MAX_WINDOW_BYTES: usize = 240;
/// Context kept on each side of the value in a cut line.
const CUT_CONTEXT: usize = 60;
/// Longest part of a value underlined in a cut line.
const MAX_UNDERLINE: usize = 100;

fn render_one(renderer: &Renderer, d: &Diagnostic, source: Option<&str>, file: &str) -> String {
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let mut title = d.message.clone();
    if !d.location.path.is_empty() {
        title.push_str(&format!(" [at {}]", d.location.path));
    }
    let title = level.clone().primary_title(title).id(d.code.as_str());
    let mut elements: Vec<Element<'_>> = Vec::new();
    // The snippet's header gives file:line:column; when a long line is cut
    // (or there is no source) an explicit origin gives the value's position.
    let mut origin = Origin::path(file.to_owned());
    if let (Some(l), Some(c)) = (d.location.line, d.location.column) {
        origin = origin.line(l).char_column(c);
    }
    let mut cut = source.is_none() || d.location.span.is_none();
    let mut notes = Vec::new();
    let mut text_buf = String::new();
    if let (Some(src), Some(span)) = (source, d.location.span) {
        let mut lo = span.start;
        let mut hi = span.end.max(span.start + 1);
        let mut shown = Vec::new();
        for r in &d.related {
            match r.location.span {
                Some(rs) => {
                    let fits = window(src, lo.min(rs.start), hi.max(rs.end))
                        .is_some_and(|(a, b)| src[a..b].lines().count() <= MAX_WINDOW_LINES);
                    if fits {
                        lo = lo.min(rs.start);
                        hi = hi.max(rs.end);
                        shown.push(r);
                    } else {
                        notes.push(format!(
                            "{}: {} (line {})",
                            r.label,
                            r.location.path,
                            r.location.line.unwrap_or(0)
                        ));
                    }
                }
                None => notes.push(format!("{}: {}", r.label, r.location.path)),
            }
        }
        // The line of the value is known (`location.line`); a window's first
        // line is counted back from it over at most MAX_SCAN bytes.
        let value_line = d.location.line.unwrap_or(1);
        let mut primary = (span.start, span.end.max(span.start + 1));
        let (mut line_no, mut text, mut offset) = match window(src, lo, hi) {
            Some((a, b)) if b - a <= MAX_WINDOW_BYTES || src[a..b].contains('\n') => {
                let above = src[a..span.start.min(src.len()).max(a)].matches('\n').count();
                (value_line.saturating_sub(above).max(1), &src[a..b], a)
            }
            _ => (value_line, "", usize::MAX),
        };
        if offset == usize::MAX {
            // One long line (or a huge window): cut around the value only.
            for r in shown.drain(..) {
                notes.push(format!(
                    "{}: {} (line {})",
                    r.label,
                    r.location.path,
                    r.location.line.unwrap_or(0)
                ));
            }
            let end = primary.1.min(primary.0 + MAX_UNDERLINE);
            let from = floor_char(src, primary.0.saturating_sub(CUT_CONTEXT));
            let to = floor_char(src, (end + CUT_CONTEXT).min(src.len()));
            let p0 = floor_char(src, primary.0.min(src.len())).max(from);
            let line_from = src[from..p0].rfind('\n').map_or(from, |i| from + i + 1);
            let line_to = src[p0..to].find('\n').map_or(to, |i| p0 + i).max(line_from);
            line_no = value_line;
            cut = true;
            text = &src[line_from..line_to];
            offset = line_from;
            primary = (primary.0, end.min(line_to).max(primary.0));
        }
        // CR of CRLF files shown as a space (same byte length, so spans hold).
        text_buf.push_str(&text.replace('\r', " "));
        let len = text_buf.len();
        // Spans inside the shown text, on character boundaries (a span may
        // end inside a multi-byte character: widen it to the whole one).
        let shown_text = text_buf.as_str();
        let local = |a: usize, b: usize| {
            let a = floor_char(shown_text, a.saturating_sub(offset).min(len));
            let b = ceil_char(shown_text, b.saturating_sub(offset).min(len)).max(a);
            a..b
        };
        // When the underline is narrower than the value (a bad octet), the
        // value is the primary annotation, so the header's column is the
        // value's (as in the JSON output), and the bad part is marked in it.
        // The value's start: `column` characters into its line, found
        // within the shown text only (a cut line shows the bad part alone).
        let value_start = match (d.location.line, d.location.column) {
            (Some(l), Some(c)) if !cut && l >= line_no => {
                let lines_down = l - line_no;
                let line_off = if lines_down == 0 {
                    Some(0)
                } else {
                    text.match_indices('\n').nth(lines_down - 1).map(|(i, _)| i + 1)
                };
                line_off.and_then(|lo| {
                    let rest = &text[lo..];
                    let col =
                        rest.char_indices().nth(c.checked_sub(1)?).map_or(rest.len(), |(i, _)| i);
                    Some(offset + lo + col)
                })
            }
            _ => None,
        }
        .filter(|&o| o < primary.0 && o >= offset);
        let mut snippet = Snippet::source(text_buf.as_str()).line_start(line_no);
        match value_start {
            Some(v) => {
                let value_end = src[primary.1..].find('"').map_or(primary.1, |i| primary.1 + i + 1);
                snippet = snippet
                    .annotation(AnnotationKind::Primary.span(local(v, value_end)))
                    .annotation(
                        AnnotationKind::Context.span(local(primary.0, primary.1)).label("here"),
                    );
            }
            None => {
                snippet =
                    snippet.annotation(AnnotationKind::Primary.span(local(primary.0, primary.1)))
            }
        }
        if !cut {
            snippet = snippet.path(file.to_owned());
        }
        for r in shown {
            if let Some(rs) = r.location.span {
                snippet = snippet.annotation(
                    AnnotationKind::Context.span(local(rs.start, rs.end)).label(r.label.clone()),
                );
            }
        }
        elements.push(snippet.into());
    } else {
        for r in &d.related {
            notes.push(format!("{}: {}", r.label, r.location.path));
        }
    }
    for n in notes {
        elements.push(Level::NOTE.message(n).into());
    }
    if let Some(help) = &d.help {
        elements.push(Level::HELP.message(help.clone()).into());
    }
    if cut {
        // A cut snippet carries no path (its columns are the cut text's):
        // the title's group holds the origin with the value's true
        // position, the snippet follows in a group of its own (in one
        // group it would be drawn as a second, empty ` ::: ` origin).
        let report =
            [Group::with_title(title).element(origin), Group::with_level(level).elements(elements)];
        return renderer.render(&report);
    }
    let report: &[Group<'_>] = &[Group::with_title(title).elements(elements)];
    renderer.render(report)
}

/// `country ipvAll (MaxMind DB, IPv6, built 2026-06-17, 1010885 networks)`,
/// with `, N networks without a country` when there are such networks.
pub fn describe_database(db: &GeoDatabase) -> String {
    let without = match db.networks_without_country() {
        0 => String::new(),
        1 => ", 1 network without a country".to_owned(),
        n => format!(", {n} networks without a country"),
    };
    format!(
        "{} (MaxMind DB, IPv{}, built {}, {} networks{without})",
        db.database_type(),
        db.ip_version(),
        db.build_date(),
        db.network_count()
    )
}

/// `codes that are not assigned ISO 3166-1 codes, matched as written: UK
/// (2 networks), ZZ (1 network)`, or `None` when every code is assigned.
pub fn unassigned_note(db: &GeoDatabase) -> Option<String> {
    let codes = db.unassigned_codes();
    if codes.is_empty() {
        return None;
    }
    let list: Vec<String> = codes
        .iter()
        .map(|(c, n)| format!("{c} ({n} network{})", if *n == 1 { "" } else { "s" }))
        .collect();
    Some(format!(
        "codes that are not assigned ISO 3166-1 codes, matched as written: {}",
        list.join(", ")
    ))
}
