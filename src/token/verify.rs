//! Verifying a Stream token: algorithm, key id, signature, time window,
//! video, and the rules with every diagnostic of validation.

use std::fmt;

use serde_json::{Map, Value};

use super::claims::{time_claim, TimeClaimError};
use super::decode::{decode, DecodedToken, MalformedToken};
use super::key::VerifyingKey;
use super::ALGORITHM;
use crate::document::{Document, InputForm, Limits};
use crate::rules::RuleSet;
use crate::schema::{FIELD_EXP, FIELD_KID, FIELD_NBF, FIELD_SUB};
use crate::validate::{validate, Options, Validation};

/// What [`verify`] checks against: "now", the clock leeway, the expected
/// video and the size limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyOptions {
    now: i64,
    leeway: u64,
    video: Option<String>,
    limits: Limits,
}

impl VerifyOptions {
    /// "Now" is `unix_seconds`; no leeway, any video.
    pub fn at(unix_seconds: i64) -> VerifyOptions {
        VerifyOptions { now: unix_seconds, leeway: 0, video: None, limits: Limits::default() }
    }

    /// "Now" is the system clock.
    pub fn now() -> VerifyOptions {
        VerifyOptions::at(Options::now().clock().unwrap_or(0))
    }

    /// Seconds of clock difference tolerated on both ends of the window.
    pub fn with_leeway(self, seconds: u64) -> VerifyOptions {
        VerifyOptions { leeway: seconds, ..self }
    }

    /// The token must be for this video (`sub`).
    pub fn for_video(self, video: impl Into<String>) -> VerifyOptions {
        VerifyOptions { video: Some(video.into()), ..self }
    }

    /// Other size and depth limits.
    pub fn with_limits(self, limits: Limits) -> VerifyOptions {
        VerifyOptions { limits, ..self }
    }

    /// "Now", Unix seconds.
    pub fn clock(&self) -> i64 {
        self.now
    }
}

/// A header `alg` other than exactly `RS256`, each kind with its reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AlgorithmRefused {
    /// No `alg`, or not a string.
    #[error("the header has no \"alg\" string; Stream tokens are RS256")]
    Missing,
    /// `none` in any spelling: an unsigned token.
    #[error("the header says \"alg\": {0:?}: an unsigned token, which is never accepted")]
    None(String),
    /// An HMAC algorithm: a shared secret, which would let anyone holding
    /// the public key forge tokens.
    #[error("the header says \"alg\": {0:?}, an HMAC with a shared secret; Stream tokens are RS256 and the public key is never used as a secret")]
    Hmac(String),
    /// `RS256` in another case.
    #[error("the header says \"alg\": {0:?}; the name is case-sensitive: \"RS256\"")]
    Case(String),
    /// RSASSA-PKCS1-v1_5 with another hash.
    #[error(
        "the header says \"alg\": {0:?}, RSA with another hash; Stream tokens are RS256 (SHA-256)"
    )]
    OtherHash(String),
    /// RSASSA-PSS.
    #[error("the header says \"alg\": {0:?}, RSA-PSS; Stream tokens are RS256 (PKCS#1 v1.5)")]
    Pss(String),
    /// Anything else (EC, EdDSA, unknown).
    #[error("the header says \"alg\": {0:?}; Stream tokens are RS256")]
    Other(String),
}

impl AlgorithmRefused {
    fn classify(header: &Map<String, Value>) -> Option<AlgorithmRefused> {
        let Some(Value::String(alg)) = header.get("alg") else {
            return Some(AlgorithmRefused::Missing);
        };
        if alg == ALGORITHM {
            return None;
        }
        let a = alg.clone();
        let upper = alg.trim().to_ascii_uppercase();
        Some(if upper == "NONE" || upper.is_empty() {
            AlgorithmRefused::None(a)
        } else if upper.starts_with("HS") {
            AlgorithmRefused::Hmac(a)
        } else if upper == ALGORITHM {
            AlgorithmRefused::Case(a)
        } else if upper.starts_with("RS") {
            AlgorithmRefused::OtherHash(a)
        } else if upper.starts_with("PS") {
            AlgorithmRefused::Pss(a)
        } else {
            AlgorithmRefused::Other(a)
        })
    }
}

/// One check a well-formed RS256 token failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailedCheck {
    /// The header's `kid` (or the payload's) is not the key's id.
    KeyId {
        /// `header` or `payload`.
        place: &'static str,
        /// The token's `kid`; `None` when absent.
        token: Option<String>,
        /// The key's id.
        key: String,
    },
    /// The signature does not verify with the key.
    Signature,
    /// No `exp`: a token without expiry is never accepted.
    ExpiryMissing,
    /// `exp` or `nbf` unreadable.
    Time(TimeClaimError),
    /// `now` is at or past `exp` (+ leeway).
    Expired {
        /// `exp`.
        expires: i64,
        /// "Now".
        now: i64,
    },
    /// `now` is before `nbf` (- leeway).
    NotYetValid {
        /// `nbf`.
        not_before: i64,
        /// "Now".
        now: i64,
    },
    /// `sub` is not the expected video.
    Video {
        /// The expected uid.
        expected: String,
        /// The token's `sub`; `None` when absent or not a string.
        found: Option<String>,
    },
    /// The rules have errors (the validation holds them).
    Rules {
        /// How many errors.
        errors: usize,
    },
}

impl fmt::Display for FailedCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailedCheck::KeyId { place, token: Some(t), key } => {
                write!(f, "kid: the {place} names key {t:?}, this key is {key:?}")
            }
            FailedCheck::KeyId { place, token: None, key } => {
                write!(f, "kid: the {place} has no \"kid\"; this key is {key:?}")
            }
            FailedCheck::Signature => f.write_str(
                "signature: does not verify with this key (the token was changed, or signed by another key)",
            ),
            FailedCheck::ExpiryMissing => {
                f.write_str("exp: missing; a token without expiry is never accepted")
            }
            FailedCheck::Time(e) => write!(f, "time: {e}"),
            FailedCheck::Expired { expires, now } => {
                write!(f, "exp: expired: exp {expires} is at or before now {now}")
            }
            FailedCheck::NotYetValid { not_before, now } => write!(
                f,
                "nbf: not yet valid: nbf {not_before} is {} s after now {now}",
                not_before.saturating_sub(*now)
            ),
            FailedCheck::Video { expected, found: Some(found) } => {
                write!(f, "sub: the token is for video {found:?}, not {expected:?}")
            }
            FailedCheck::Video { expected, found: None } => {
                write!(f, "sub: the token names no video; expected {expected:?}")
            }
            FailedCheck::Rules { errors } => write!(
                f,
                "accessRules: {errors} error{} (diagnostics follow)",
                if *errors == 1 { "" } else { "s" }
            ),
        }
    }
}

/// Why [`verify`] did not accept a token.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Not a well-formed JWT (nothing else was checked).
    #[error("malformed token: {0}")]
    Malformed(#[from] MalformedToken),
    /// An algorithm other than RS256 (nothing else was checked; keys named
    /// in the header, `jwk` or `jku`, are never used).
    #[error("refused algorithm: {0}")]
    Algorithm(#[from] AlgorithmRefused),
    /// Every check that failed, and the rules' validation.
    #[error("invalid token: {}", .failed.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Failed {
        /// The failed checks, in the order of [`verify`]'s docs.
        failed: Vec<FailedCheck>,
        /// The rules' validation (its diagnostics explain [`FailedCheck::Rules`]).
        validation: Box<Validation>,
    },
}

/// A token that passed every check.
#[derive(Clone, Debug)]
pub struct VerifiedToken {
    decoded: DecodedToken,
    expires: i64,
    not_before: Option<i64>,
    rules: RuleSet,
    validation: Validation,
}

impl VerifiedToken {
    /// The header and payload as decoded.
    pub fn decoded(&self) -> &DecodedToken {
        &self.decoded
    }

    /// The video uid (`sub`).
    pub fn video(&self) -> Option<&str> {
        self.decoded.payload().get(FIELD_SUB).and_then(Value::as_str)
    }

    /// `exp`, Unix seconds.
    pub fn expires(&self) -> i64 {
        self.expires
    }

    /// `nbf`, Unix seconds.
    pub fn not_before(&self) -> Option<i64> {
        self.not_before
    }

    /// The rules (empty when the token has none).
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// The rules' validation: its warnings are worth showing.
    pub fn validation(&self) -> &Validation {
        &self.validation
    }
}

/// Verifies a Stream token.
///
/// In order: the token's shape (three base64url segments, JSON objects);
/// the algorithm, exactly `RS256`; then, all reported together, the key
/// id in header and payload, the RS256 signature over `header.payload`
/// exactly as received, `exp` (required; an integer or a numeric string;
/// `now >= exp + leeway` is expired, so `exp == now` is), `nbf` (`nbf ==
/// now` is valid), `sub` when a video is expected, and the rules, with
/// every diagnostic of [`crate::check`] (the time diagnostics left to the
/// checks above).
///
/// # Errors
///
/// [`VerifyError`]: malformed, refused algorithm, or the failed checks.
pub fn verify(
    token: &str,
    key: &VerifyingKey,
    options: &VerifyOptions,
) -> Result<VerifiedToken, VerifyError> {
    let decoded = decode(token, &options.limits)?;
    if let Some(refused) = AlgorithmRefused::classify(decoded.header()) {
        return Err(refused.into());
    }
    let mut failed = Vec::new();
    for (place, map) in [("header", decoded.header()), ("payload", decoded.payload())] {
        let kid = map.get(FIELD_KID).and_then(Value::as_str);
        // The payload's kid is optional; the header's is required.
        if kid != Some(key.id()) && (place == "header" || map.contains_key(FIELD_KID)) {
            failed.push(FailedCheck::KeyId {
                place,
                token: kid.map(str::to_owned),
                key: key.id().to_owned(),
            });
        }
    }
    if key
        .components()
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            decoded.signing_input(),
            decoded.signature(),
        )
        .is_err()
    {
        failed.push(FailedCheck::Signature);
    }
    let now = i128::from(options.now);
    let leeway = i128::from(options.leeway);
    let expires = match time_claim(decoded.payload(), FIELD_EXP) {
        Ok(Some(exp)) => {
            if now >= i128::from(exp) + leeway {
                failed.push(FailedCheck::Expired { expires: exp, now: options.now });
            }
            exp
        }
        Ok(None) => {
            failed.push(FailedCheck::ExpiryMissing);
            i64::MIN
        }
        Err(e) => {
            failed.push(FailedCheck::Time(e));
            i64::MIN
        }
    };
    let not_before = match time_claim(decoded.payload(), FIELD_NBF) {
        Ok(nbf) => {
            if let Some(nbf) = nbf.filter(|nbf| now + leeway < i128::from(*nbf)) {
                failed.push(FailedCheck::NotYetValid { not_before: nbf, now: options.now });
            }
            nbf
        }
        Err(e) => {
            failed.push(FailedCheck::Time(e));
            None
        }
    };
    if let Some(expected) = &options.video {
        let found = decoded.payload().get(FIELD_SUB).and_then(Value::as_str);
        if found != Some(expected.as_str()) {
            failed.push(FailedCheck::Video {
                expected: expected.clone(),
                found: found.map(str::to_owned),
            });
        }
    }
    let validation = validate_payload(&decoded, options);
    if !validation.is_valid() {
        failed.push(FailedCheck::Rules { errors: validation.error_count() });
    }
    match validation.rule_set().cloned() {
        Some(rules) if failed.is_empty() => {
            Ok(VerifiedToken { decoded, expires, not_before, rules, validation })
        }
        _ => Err(VerifyError::Failed { failed, validation: Box::new(validation) }),
    }
}

/// Validates the payload as the payload of a JWT (the form `validate`
/// reads a token in), without the clock: the time window is checked by
/// [`verify`] itself, with the leeway.
fn validate_payload(decoded: &DecodedToken, options: &VerifyOptions) -> Validation {
    let validation_options = Options::without_clock().with_limits(options.limits);
    match Document::from_json(decoded.payload_json().to_owned(), InputForm::Jwt, &options.limits) {
        Ok(doc) => validate(doc, &validation_options),
        Err(d) => Validation::refused(*d),
    }
}
