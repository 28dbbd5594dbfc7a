//! The token time claims `exp`, `nbf` and `iat`.
//!
//! Every numeric form (integer, fractional, numeric string, milliseconds,
//! microseconds, nanoseconds, out of range) is read once by
//! [`normalise`] into whole Unix seconds, and every time check runs on
//! that value. A help that proposes a value proposes the normalised one,
//! so applying it validates clean of that finding (tested).

use crate::diagnostic::{Code, Severity};
use crate::document::InputForm;
use crate::schema::{
    FIELD_EXP, FIELD_IAT, FIELD_NBF, MAX_TOKEN_LIFETIME_SECS, SERVICE_DEFAULT_EXP_SECS,
    SERVICE_NBF_BEFORE_ISSUE_SECS,
};

use super::quoted;
use super::Cx;
use crate::syntax::json::Node;
use crate::syntax::json::NodeKind;
use crate::syntax::json::Span;

/// Unix seconds at or above this (year 5138) are out of range: such a
/// value is a time in a smaller unit (see [`Unit`]) or a mistake.
const SECONDS_LIMIT: i128 = 100_000_000_000;

/// The unit a time was written in, guessed from its size: seconds below
/// 10^11, milliseconds below 10^14, microseconds below 10^17,
/// nanoseconds above.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    Seconds,
    Milliseconds,
    Microseconds,
    Nanoseconds,
}

impl Unit {
    fn per_second(self) -> i128 {
        match self {
            Unit::Seconds => 1,
            Unit::Milliseconds => 1_000,
            Unit::Microseconds => 1_000_000,
            Unit::Nanoseconds => 1_000_000_000,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::Seconds => "seconds",
            Unit::Milliseconds => "milliseconds",
            Unit::Microseconds => "microseconds",
            Unit::Nanoseconds => "nanoseconds",
        }
    }
}

/// One time claim read into whole Unix seconds.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TimeValue {
    /// Whole Unix seconds, rounded towards the safe side: `exp` down,
    /// `nbf`/`iat` up (a token never lives longer than written).
    pub seconds: i64,
    /// Written as a JSON string.
    pub quoted: bool,
    /// Written with a fraction or an exponent.
    pub not_integer: bool,
    /// The unit it was written in.
    pub unit: Unit,
}

/// Why a time claim has no value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TimeError {
    /// Not a number or a numeric string (the JSON type name, or the text).
    NotNumeric,
    /// A number beyond every unit (over 10^20, negative below -10^11,
    /// not finite).
    OutOfRange,
}

/// Reads the text of a number (from a JSON number or string) into whole
/// seconds. `round_up` rounds a fraction up (for `nbf`, `iat`).
pub(crate) fn normalise(text: &str, quoted: bool, round_up: bool) -> Result<TimeValue, TimeError> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) {
        return Err(TimeError::NotNumeric);
    }
    let not_integer = t.bytes().any(|b| b"+.eE".contains(&b));
    // Exact for integers up to 10^38; fractions and exponents through f64.
    let (whole, frac): (i128, f64) = match t.parse::<i128>() {
        Ok(v) => (v, 0.0),
        Err(_) => {
            let f: f64 = t.parse().map_err(|_| TimeError::NotNumeric)?;
            if !f.is_finite() || f.abs() >= 1e30 {
                return Err(TimeError::OutOfRange);
            }
            let w = f.trunc();
            (w as i128, f - w)
        }
    };
    let unit = match whole {
        v if v < 100_000_000_000 => Unit::Seconds,
        v if v < 100_000_000_000_000 => Unit::Milliseconds,
        v if v < 100_000_000_000_000_000 => Unit::Microseconds,
        _ => Unit::Nanoseconds,
    };
    let per = unit.per_second();
    // Floor or ceiling of (whole + frac) / per, exactly for the integer part.
    let mut secs = whole.div_euclid(per);
    let rem_nonzero = whole.rem_euclid(per) != 0 || frac != 0.0;
    let negative_frac = frac < 0.0 && whole.rem_euclid(per) == 0;
    if negative_frac && !round_up {
        secs -= 1;
    } else if round_up && rem_nonzero && !negative_frac {
        secs += 1;
    }
    if secs.abs() >= SECONDS_LIMIT {
        return Err(TimeError::OutOfRange);
    }
    let seconds = i64::try_from(secs).map_err(|_| TimeError::OutOfRange)?;
    Ok(TimeValue { seconds, quoted, not_integer: not_integer || frac != 0.0, unit })
}

/// `45 s`, `12 min 5 s`, `24 h 0 min 1 s`, `3 days 2 h`: exact below
/// two days, so "24 h" never hides a second over the limit.
pub(super) fn duration(secs: i64) -> String {
    let secs = secs.unsigned_abs();
    let (d, h, m, s) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    if d >= 2 {
        format!("{d} days {h} h")
    } else if secs >= 3600 {
        format!("{} h {m} min {s} s", secs / 3600)
    } else if secs >= 60 {
        format!("{m} min {s} s")
    } else {
        format!("{s} s")
    }
}

/// A proposed time is shown only when it is a plausible one (after
/// 2001-09-09), so following it is never a step into another mistake.
fn plausible(seconds: i64) -> bool {
    (1_000_000_000..SECONDS_LIMIT as i64).contains(&seconds)
}

impl<'a> Cx<'a> {
    /// Time findings of a JWT given for inspection are warnings: the token
    /// is already signed.
    fn push_time(
        &mut self,
        code: Code,
        path: &str,
        span: Span,
        message: String,
        help: Option<String>,
    ) {
        let jwt = self.is_jwt();
        let d = self.push(code, path, span, message, help);
        if jwt {
            d.severity = Severity::Warning;
        }
    }

    /// Reads `exp`/`nbf`/`iat` once, reports how it is written, and returns
    /// the normalised seconds that every other check uses.
    pub(super) fn time_value(&mut self, name: &str, node: &Node) -> Option<i64> {
        let path = format!("/{name}");
        let round_up = name != FIELD_EXP;
        let read = match &node.kind {
            NodeKind::Number(raw) => normalise(raw, false, round_up),
            NodeKind::String(s) => normalise(s, true, round_up),
            _ => {
                self.wrong_type(&path, node, &format!("`{name}`"), "an integer (Unix seconds)");
                return None;
            }
        };
        let written = match &node.kind {
            NodeKind::String(s) => format!("the string {}", quoted(s)),
            NodeKind::Number(raw) => quoted(raw).trim_matches('"').to_owned(),
            _ => String::new(),
        };
        let value = match read {
            Ok(v) => v,
            Err(TimeError::NotNumeric) => {
                self.push_time(
                    Code::TimeNotInteger,
                    &path,
                    node.span,
                    format!("`{name}` is {written}; the service wants an integer number of Unix seconds"),
                    None,
                );
                return None;
            }
            Err(TimeError::OutOfRange) => {
                self.push_time(
                    Code::TimeOutOfRange,
                    &path,
                    node.span,
                    format!(
                        "`{name}` is {written}, which is no time in seconds, milliseconds, microseconds or nanoseconds"
                    ),
                    Some("write Unix seconds, e.g. `date +%s` plus the lifetime".into()),
                );
                return None;
            }
        };
        let fixed = plausible(value.seconds).then_some(value.seconds);
        if value.quoted || value.not_integer {
            let help = fixed.map(|v| {
                if value.quoted {
                    format!("write {v} without quotes")
                } else {
                    format!("write {v}")
                }
            });
            self.push_time(
                Code::TimeNotInteger,
                &path,
                node.span,
                format!(
                    "`{name}` is {written}; the service wants an integer number of Unix seconds"
                ),
                help,
            );
        }
        if value.unit != Unit::Seconds {
            self.push_time(
                Code::TimeMilliseconds,
                &path,
                node.span,
                format!(
                    "`{name}` {written} looks like {}; it must be Unix seconds ({} read as {})",
                    value.unit.name(),
                    name,
                    value.seconds
                ),
                fixed.map(|v| format!("write {v}")),
            );
        }
        Some(value.seconds)
    }

    pub(super) fn times(&mut self, exp: Option<&Node>, nbf: Option<&Node>, iat: Option<&Node>) {
        let exp_v = exp.and_then(|n| self.time_value(FIELD_EXP, n));
        let nbf_v = nbf.and_then(|n| self.time_value(FIELD_NBF, n));
        let iat_v = iat.and_then(|n| self.time_value(FIELD_IAT, n));
        let now = self.options.clock();
        let form = self.doc.form();
        let signed = form.is_signed_token() || form == InputForm::TokenPayload;
        // The issue time (docs/semantics.md, "Token times"): a request is
        // issued now; a token at `iat`, else one hour after `nbf` (the
        // service writes `nbf` = issue - 1 h and no `iat`), else now.
        let (issued, inferred) = if signed {
            match (iat_v, nbf_v) {
                (Some(i), _) => (Some(i), false),
                (None, Some(n)) => (n.checked_add(SERVICE_NBF_BEFORE_ISSUE_SECS), true),
                (None, None) => (now, false),
            }
        } else {
            (now, false)
        };
        let root = self.doc.root.span;
        let root_span = Span::new(root.start, root.start + 1);

        let Some(exp_v) = exp_v else {
            if exp.is_some() {
                return;
            }
            if signed {
                let example = issued.and_then(|i| i.checked_add(SERVICE_DEFAULT_EXP_SECS));
                self.push_time(
                    Code::MissingExp,
                    "",
                    root_span,
                    format!(
                        "the {} has no `exp`: nothing gives a signed token a default expiry, so it never expires",
                        form.describe()
                    ),
                    example
                        .filter(|_| !self.is_jwt())
                        .map(|e| format!("add \"exp\": {e} (one hour after the issue time)")),
                );
            } else if let (Some(now), Some(nbf_v), Some(nbf_node)) = (now, nbf_v, nbf) {
                // The service gives a request without `exp` the expiry
                // issue + 1 h; it must be after `nbf`.
                let default_exp = now.saturating_add(SERVICE_DEFAULT_EXP_SECS);
                if nbf_v >= default_exp {
                    let latest = now.saturating_add(MAX_TOKEN_LIFETIME_SECS);
                    let help = if nbf_v < latest {
                        Some(format!(
                            "add an `exp` after `nbf`, at most 24 h after now: e.g. \"exp\": {}",
                            nbf_v.saturating_add(SERVICE_DEFAULT_EXP_SECS).min(latest)
                        ))
                    } else {
                        Some(format!("write an `nbf` before {default_exp}"))
                    };
                    self.push_time(
                        Code::ExpNotAfterNbf,
                        "/nbf",
                        nbf_node.span,
                        format!(
                            "`nbf` {nbf_v} is not before the default `exp` {default_exp} (now + 1 h) that the service gives a request without `exp`: the token is never valid"
                        ),
                        help,
                    );
                }
            }
            return;
        };
        let Some(exp_node) = exp else { return };
        if let Some(nbf_v) = nbf_v {
            if exp_v <= nbf_v {
                self.push_time(
                    Code::ExpNotAfterNbf,
                    "/exp",
                    exp_node.span,
                    format!("`exp` {exp_v} is not after `nbf` {nbf_v}: the token is never valid"),
                    None,
                );
            }
        }
        let jwt = self.is_jwt();
        if let Some(now) = now.filter(|now| exp_v <= *now) {
            // A proposed expiry: an hour after now (and after `nbf`), within
            // the 24 hours after the issue time.
            let proposal = now
                .checked_add(SERVICE_DEFAULT_EXP_SECS)
                .map(|p| nbf_v.map_or(p, |n| p.max(n.saturating_add(SERVICE_DEFAULT_EXP_SECS))))
                .filter(|p| issued.is_none_or(|i| p.saturating_sub(i) <= MAX_TOKEN_LIFETIME_SECS))
                .filter(|p| plausible(*p));
            self.push_time(
                Code::Expired,
                "/exp",
                exp_node.span,
                if exp_v == now {
                    format!("`exp` {exp_v} is now: the token expires as it is issued")
                } else {
                    format!(
                        "`exp` {exp_v} is {} before now ({now}): the token has expired",
                        duration(now.saturating_sub(exp_v))
                    )
                },
                proposal
                    .filter(|_| !jwt)
                    .map(|later| format!("write a time after now, e.g. {later}")),
            );
        } else if let Some(issued) = issued {
            if exp_v.saturating_sub(issued) > MAX_TOKEN_LIFETIME_SECS {
                let basis = if inferred {
                    format!(
                        "the issue time {issued} (no `iat`: `nbf` + 1 h, as the service writes `nbf` one hour before issuing)"
                    )
                } else {
                    format!("the issue time {issued}")
                };
                let latest = issued
                    .checked_add(MAX_TOKEN_LIFETIME_SECS)
                    .filter(|l| now.is_none_or(|n| *l > n))
                    .filter(|l| nbf_v.is_none_or(|n| *l > n));
                self.push_time(
                    Code::ExpTooFar,
                    "/exp",
                    exp_node.span,
                    format!(
                        "`exp` {exp_v} is {} after {basis}; tokens live at most 24 hours",
                        duration(exp_v.saturating_sub(issued))
                    ),
                    latest.filter(|_| !jwt).map(|latest| format!("write at most {latest}")),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(t: &str) -> Result<i64, TimeError> {
        normalise(t, false, false).map(|v| v.seconds)
    }

    #[test]
    fn every_numeric_form_reads_into_seconds() {
        // (text, exp rounding, nbf rounding, unit)
        let table: &[(&str, i64, i64, Unit)] = &[
            ("1767229200", 1767229200, 1767229200, Unit::Seconds),
            ("1767139200.25", 1767139200, 1767139201, Unit::Seconds),
            ("1767139200.0", 1767139200, 1767139200, Unit::Seconds),
            ("1.7672292e9", 1767229200, 1767229200, Unit::Seconds),
            ("1767229200000", 1767229200, 1767229200, Unit::Milliseconds),
            ("1767229200500", 1767229200, 1767229201, Unit::Milliseconds),
            ("1767229200000000", 1767229200, 1767229200, Unit::Microseconds),
            ("1767229200000000000", 1767229200, 1767229200, Unit::Nanoseconds),
            ("-5", -5, -5, Unit::Seconds),
            ("-5.5", -6, -5, Unit::Seconds),
            ("0", 0, 0, Unit::Seconds),
        ];
        for (text, down, up, unit) in table {
            let v = normalise(text, false, false).unwrap();
            assert_eq!((v.seconds, v.unit), (*down, *unit), "{text}");
            assert_eq!(normalise(text, false, true).unwrap().seconds, *up, "{text} rounded up");
        }
        assert!(normalise("1767139200.25", false, false).unwrap().not_integer);
        assert!(!normalise("1767229200000", false, false).unwrap().not_integer);
        for bad in ["1e30", "100000000000000000000000", "-100000000000", "1e400"] {
            assert_eq!(secs(bad), Err(TimeError::OutOfRange), "{bad}");
        }
        for bad in ["", "soon", "2026-01-01", "0x10"] {
            assert_eq!(secs(bad), Err(TimeError::NotNumeric), "{bad}");
        }
    }
}
