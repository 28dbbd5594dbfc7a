//! Diagnostics for people (annotated snippets) and for scripts (`--format json`).

use std::io::{self, Write};

use accessrules::geo::GeoDatabase;
use accessrules::{Diagnostic, Severity, Validation};
use annotate_snippets::{AnnotationKind, Element, Group, Level, Origin, Renderer, Snippet};

/// `{"valid": bool, "errors": N, "warnings": N, "diagnostics": [...]}`.
pub fn write_json(out: &mut impl Write, v: &Validation) -> io::Result<()> {
    let value = serde_json::json!({
        "valid": v.is_valid(),
        "errors": v.error_count(),
        "warnings": v.warning_count(),
        "diagnostics": v.diagnostics(),
    });
    serde_json::to_writer(&mut *out, &value)?;
    writeln!(out)
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
    for d in v.diagnostics() {
        writeln!(out, "{}", render_one(&renderer, d, source, file))?;
        writeln!(out)?;
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

/// The lines around `start..end` of `source`: `(first line number, the
/// text, offset of the text in source)`.
fn window(source: &str, start: usize, end: usize) -> (usize, &str, usize) {
    let start = floor_char(source, start.min(source.len()));
    let end = floor_char(source, end.min(source.len())).max(start);
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[end..].find('\n').map_or(source.len(), |i| end + i);
    let line_no = source[..line_start].bytes().filter(|b| *b == b'\n').count() + 1;
    (line_no, &source[line_start..line_end], line_start)
}

/// The byte offset of 1-based `line` and character `column` in `src`.
fn offset_of(src: &str, line: usize, column: usize) -> Option<usize> {
    let start = if line <= 1 { 0 } else { src.match_indices('\n').nth(line - 2)?.0 + 1 };
    let rest = &src[start..];
    let col = rest.char_indices().nth(column.checked_sub(1)?).map_or(rest.len(), |(i, _)| i);
    Some(start + col)
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
    let title = level.primary_title(title).id(d.code.as_str());
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
                    let (_, text, _) = window(src, lo.min(rs.start), hi.max(rs.end));
                    if text.lines().count() <= MAX_WINDOW_LINES
                        && text.len() <= MAX_WINDOW_BYTES * 4
                    {
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
        let (mut line_no, mut text, mut offset) = window(src, lo, hi);
        let mut primary = (span.start, span.end.max(span.start + 1));
        if text.len() > MAX_WINDOW_BYTES * 4
            || (text.len() > MAX_WINDOW_BYTES && !text.contains('\n'))
        {
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
            let (l, _, _) = window(src, primary.0, primary.0);
            let line_from = src[..primary.0].rfind('\n').map_or(0, |i| i + 1).max(from);
            let line_to =
                src[primary.0..].find('\n').map_or(to, |i| (primary.0 + i).min(to)).max(line_from);
            line_no = l;
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
        let value_start = match (d.location.line, d.location.column) {
            (Some(l), Some(c)) => offset_of(src, l, c).filter(|&o| o < primary.0 && o >= offset),
            _ => None,
        };
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
        elements.insert(0, origin.into());
    }
    let report: &[Group<'_>] = &[Group::with_title(title).elements(elements)];
    renderer.render(report)
}

/// `geo-whois-asn-country (IPv6, built 2026-06-17, 1012345 networks)`.
pub fn describe_database(db: &GeoDatabase) -> String {
    format!(
        "{} (MaxMind DB, IPv{}, built {}, {} networks)",
        db.database_type(),
        db.ip_version(),
        db.build_date(),
        db.network_count()
    )
}
