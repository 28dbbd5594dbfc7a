//! The token time claims `exp`, `nbf` and `iat`.

use crate::diagnostic::{Code, Severity};
use crate::schema::{FIELD_EXP, FIELD_IAT, FIELD_NBF, MAX_TOKEN_LIFETIME_SECS};

use super::quoted;
use super::Cx;
use crate::syntax::json::Node;
use crate::syntax::json::NodeKind;

/// An `exp`/`nbf` at or above this (year 5138 in seconds, 1973 in
/// milliseconds) is read as milliseconds.
const MILLISECONDS_THRESHOLD: i64 = 100_000_000_000;

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

impl<'a> Cx<'a> {
    pub(super) fn time_severity_fix(&mut self) {
        if self.is_jwt() {
            if let Some(d) = self.diags.last_mut() {
                d.severity = Severity::Warning;
            }
        }
    }

    /// Reads `exp`/`nbf`/`iat`: an integer number of seconds.
    pub(super) fn time_value(&mut self, name: &str, node: &Node) -> Option<i64> {
        let path = format!("/{name}");
        let value = match &node.kind {
            NodeKind::Number(raw) => match raw.parse::<i64>() {
                Ok(v) => v,
                Err(_) => {
                    let whole =
                        raw.parse::<f64>().ok().filter(|f| f.fract() == 0.0 && f.abs() < 9e15);
                    self.push(
                        Code::TimeNotInteger,
                        &path,
                        node.span,
                        format!("`{name}` is {raw}, not an integer number of seconds"),
                        whole.map(|w| format!("write {}", w as i64)),
                    );
                    self.time_severity_fix();
                    return whole.map(|w| w as i64);
                }
            },
            NodeKind::String(s) => {
                let parsed = s.trim().parse::<i64>().ok();
                self.push(
                    Code::TimeNotInteger,
                    &path,
                    node.span,
                    format!("`{name}` is the string {}; the service wants an integer", quoted(s)),
                    parsed.map(|v| format!("write {v} without quotes")),
                );
                self.time_severity_fix();
                parsed?
            }
            _ => {
                self.wrong_type(&path, node, &format!("`{name}`"), "an integer (Unix seconds)");
                return None;
            }
        };
        if value >= MILLISECONDS_THRESHOLD {
            self.push(
                Code::TimeMilliseconds,
                &path,
                node.span,
                format!("`{name}` {value} looks like milliseconds; it must be Unix seconds"),
                // Only suggest the division when it gives a plausible time
                // (after 2001-09-09).
                (value / 1000 >= 1_000_000_000).then(|| format!("write {}", value / 1000)),
            );
            self.time_severity_fix();
            return None;
        }
        Some(value)
    }

    pub(super) fn times(&mut self, exp: Option<&Node>, nbf: Option<&Node>, iat: Option<&Node>) {
        let exp_v = exp.and_then(|n| self.time_value(FIELD_EXP, n));
        let nbf_v = nbf.and_then(|n| self.time_value(FIELD_NBF, n));
        let iat_v = iat.and_then(|n| self.time_value(FIELD_IAT, n));
        let (Some(exp_node), Some(exp_v)) = (exp, exp_v) else { return };
        if let Some(nbf_v) = nbf_v {
            if exp_v <= nbf_v {
                self.push(
                    Code::ExpNotAfterNbf,
                    "/exp",
                    exp_node.span,
                    format!("`exp` {exp_v} is not after `nbf` {nbf_v}: the token is never valid"),
                    None,
                );
                self.time_severity_fix();
            }
        }
        let Some(now) = self.options.clock() else { return };
        // An existing token (JWT) was issued at `iat` or `nbf`; a request
        // is issued now.
        let issued = if self.is_jwt() { iat_v.or(nbf_v).unwrap_or(now) } else { now };
        if exp_v <= now {
            self.push(
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
                now.checked_add(3600)
                    .filter(|_| !self.is_jwt())
                    .map(|later| format!("write a time after now, e.g. {later}")),
            );
            self.time_severity_fix();
        } else if exp_v.saturating_sub(issued) > MAX_TOKEN_LIFETIME_SECS {
            self.push(
                Code::ExpTooFar,
                "/exp",
                exp_node.span,
                format!(
                    "`exp` {exp_v} is {} after the issue time {issued}; tokens live at most 24 hours",
                    duration(exp_v.saturating_sub(issued))
                ),
                issued
                    .checked_add(MAX_TOKEN_LIFETIME_SECS)
                    .filter(|_| !self.is_jwt())
                    .map(|latest| format!("write at most {latest}")),
            );
            self.time_severity_fix();
        }
    }
}
