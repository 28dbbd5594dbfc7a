//! Diagnostics for people (annotated snippets) and for scripts (SPEC §4 JSON).

use std::io::{self, Write};

use accessrules::geo::GeoDatabase;
use accessrules::{Diagnostic, Severity, Validation};
use annotate_snippets::{AnnotationKind, Element, Group, Level, Renderer, Snippet};

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

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

const MAX_WINDOW_LINES: usize = 8;

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
    let mut notes = Vec::new();
    match (source, d.location.span) {
        (Some(src), Some(span)) => {
            // Related places close enough share the snippet; others are notes.
            let mut lo = span.start;
            let mut hi = span.end;
            let mut shown = Vec::new();
            for r in &d.related {
                match r.location.span {
                    Some(rs) => {
                        let (l1, text, _) = window(src, lo.min(rs.start), hi.max(rs.end));
                        let _ = l1;
                        if text.lines().count() <= MAX_WINDOW_LINES {
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
            let (line_no, text, offset) = window(src, lo, hi);
            let local = |a: usize, b: usize| {
                let a = floor_char(src, a.min(src.len())).saturating_sub(offset).min(text.len());
                let b =
                    floor_char(src, b.min(src.len())).saturating_sub(offset).min(text.len()).max(a);
                a..b
            };
            let mut snippet =
                Snippet::source(text).line_start(line_no).path(file.to_owned()).annotation(
                    AnnotationKind::Primary.span(local(span.start, span.end.max(span.start + 1))),
                );
            for r in shown {
                if let Some(rs) = r.location.span {
                    snippet = snippet.annotation(
                        AnnotationKind::Context
                            .span(local(rs.start, rs.end))
                            .label(r.label.clone()),
                    );
                }
            }
            elements.push(snippet.into());
        }
        _ => {
            let mut place = file.to_owned();
            if let (Some(l), Some(c)) = (d.location.line, d.location.column) {
                place.push_str(&format!(":{l}:{c}"));
            }
            notes.push(format!("in {place}"));
            for r in &d.related {
                notes.push(format!("{}: {}", r.label, r.location.path));
            }
        }
    }
    for n in notes {
        elements.push(Level::NOTE.message(n).into());
    }
    if let Some(help) = &d.help {
        elements.push(Level::HELP.message(help.clone()).into());
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
