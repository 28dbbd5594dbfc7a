//! The claims of a Stream token besides its rules.

use serde_json::{Map, Value};

use crate::document::Document;
use crate::schema::{FIELD_DOWNLOADABLE, FIELD_EXP, FIELD_NBF, MAX_TOKEN_LIFETIME_SECS};
use crate::syntax::json::NodeKind;

/// What a token says besides its rules: the video, the time window and
/// whether the video may be downloaded. Times are Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    /// The video uid (`sub`).
    pub video: String,
    /// When the token is issued ("now" for `sign`'s
    /// checks); not written into the token.
    pub issued_at: i64,
    /// Expiry (`exp`): the token is refused from this second on. At most
    /// [`MAX_TOKEN_LIFETIME_SECS`] after `issued_at`.
    pub expires: i64,
    /// Not before (`nbf`): the token is refused before this second.
    pub not_before: Option<i64>,
    /// `downloadable`: whether the video may be downloaded.
    pub downloadable: Option<bool>,
}

impl Claims {
    /// The default lifetime of a token: one hour.
    pub const DEFAULT_LIFETIME_SECS: i64 = 3600;

    /// Claims for `video` issued at `now` (Unix seconds), expiring one hour
    /// later, without `nbf` or `downloadable`.
    pub fn new(video: impl Into<String>, now: i64) -> Claims {
        Claims {
            video: video.into(),
            issued_at: now,
            expires: now.saturating_add(Claims::DEFAULT_LIFETIME_SECS),
            not_before: None,
            downloadable: None,
        }
    }

    /// The same claims with the `exp`, `nbf` and `downloadable` a rule
    /// document carries (a token request body, a token payload or a JWT);
    /// a value that is not an integer, a numeric string or a boolean is
    /// left out (validation reports it). A bare rule array changes nothing.
    pub fn with_document(mut self, document: &Document) -> Claims {
        let NodeKind::Object(members) = &document.root.kind else { return self };
        for m in members {
            let time = match &m.value.kind {
                NodeKind::Number(raw) => raw.parse::<i64>().ok(),
                NodeKind::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            match m.key.as_str() {
                FIELD_EXP => self.expires = time.unwrap_or(self.expires),
                FIELD_NBF => self.not_before = time.or(self.not_before),
                FIELD_DOWNLOADABLE => {
                    if let NodeKind::Bool(b) = m.value.kind {
                        self.downloadable = Some(b);
                    }
                }
                _ => {}
            }
        }
        self
    }

    /// The latest `exp` allowed for these claims: `issued_at` plus
    /// [`MAX_TOKEN_LIFETIME_SECS`].
    pub fn latest_expiry(&self) -> i64 {
        self.issued_at.saturating_add(MAX_TOKEN_LIFETIME_SECS)
    }
}

/// Why a time claim (`exp`, `nbf`) could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimeClaimError {
    /// A number that is not an integer in the range of `i64`.
    #[error("`{name}` is {raw}, not an integer number of seconds")]
    NotInteger {
        /// The claim.
        name: &'static str,
        /// The number as written.
        raw: String,
    },
    /// A string that is not a decimal integer.
    #[error("`{name}` is a string that is not a whole number of seconds")]
    NotNumeric {
        /// The claim.
        name: &'static str,
    },
    /// Neither a number nor a string.
    #[error("`{name}` is {kind}, not a number of seconds")]
    WrongType {
        /// The claim.
        name: &'static str,
        /// `null`, `a boolean`, `an array` or `an object`.
        kind: &'static str,
    },
}

/// Reads the time claim `name` of a token payload: an integer, or a string
/// of decimal digits as the service's own tokens carry them
/// (`"exp": "1767229200"`). `Ok(None)` when the claim is absent.
///
/// # Errors
///
/// [`TimeClaimError`] for any other value (a fraction, a word, `null`).
pub fn time_claim(
    payload: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, TimeClaimError> {
    match payload.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| TimeClaimError::NotInteger { name, raw: n.to_string() }),
        Some(Value::String(s)) => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TimeClaimError::NotNumeric { name });
            }
            s.parse::<i64>().map(Some).map_err(|_| TimeClaimError::NotNumeric { name })
        }
        Some(other) => Err(TimeClaimError::WrongType {
            name,
            kind: match other {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Array(_) => "an array",
                _ => "an object",
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_claims_as_numbers_and_numeric_strings() {
        let p: Map<String, Value> = serde_json::from_str(
            r#"{"exp": 1767229200, "nbf": "1767225600", "a": "17x", "b": 1.5, "c": null, "d": "", "e": "-5"}"#,
        )
        .unwrap();
        assert_eq!(time_claim(&p, "exp"), Ok(Some(1_767_229_200)));
        assert_eq!(time_claim(&p, "nbf"), Ok(Some(1_767_225_600)));
        assert_eq!(time_claim(&p, "iat"), Ok(None));
        assert!(matches!(time_claim(&p, "a"), Err(TimeClaimError::NotNumeric { .. })));
        assert!(matches!(time_claim(&p, "b"), Err(TimeClaimError::NotInteger { .. })));
        assert!(matches!(time_claim(&p, "c"), Err(TimeClaimError::WrongType { kind: "null", .. })));
        assert!(matches!(time_claim(&p, "d"), Err(TimeClaimError::NotNumeric { .. })));
        assert_eq!(time_claim(&p, "e"), Ok(Some(-5)));
    }

    #[test]
    fn claims_from_a_request_body() {
        let doc = Document::parse(
            br#"{"exp": 200, "nbf": 150, "downloadable": true, "accessRules": []}"#,
            &crate::Limits::default(),
        )
        .unwrap();
        let c = Claims::new("v", 100).with_document(&doc);
        assert_eq!((c.expires, c.not_before, c.downloadable), (200, Some(150), Some(true)));
        let doc = Document::parse(b"[]", &crate::Limits::default()).unwrap();
        assert_eq!(Claims::new("v", 100).with_document(&doc), Claims::new("v", 100));
    }
}
