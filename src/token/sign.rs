//! Signing a Stream token (RS256) from rules and claims.

use base64::Engine;
use serde::Serialize;

use super::key::SigningKey;
use super::{Claims, ALGORITHM};
use crate::rules::RuleSet;
use crate::schema::{MAX_RULES, MAX_TOKEN_LIFETIME_SECS};

/// Why [`sign`] refused to sign.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// No video uid.
    #[error("the video uid (`sub`) is empty")]
    EmptyVideo,
    /// A video uid with a character that cannot stand in a URL path.
    #[error("the video uid {video:?} has {character:?} at position {position}; a uid is letters, digits, - and _")]
    VideoCharacter {
        /// The uid.
        video: String,
        /// The character.
        character: char,
        /// 1-based position.
        position: usize,
    },
    /// `exp` not after the issue time.
    #[error(
        "`exp` {expires} is not after the issue time {issued_at}: the token would be born expired"
    )]
    AlreadyExpired {
        /// `exp`.
        expires: i64,
        /// The issue time.
        issued_at: i64,
    },
    /// `exp` more than 24 hours after the issue time.
    #[error("`exp` {expires} is {over} s past the limit {latest} (24 h after the issue time): the service refuses longer-lived tokens")]
    TooLongLived {
        /// `exp`.
        expires: i64,
        /// The latest `exp` allowed.
        latest: i64,
        /// Seconds over.
        over: i64,
    },
    /// `nbf` at or after `exp`.
    #[error("`nbf` {not_before} is not before `exp` {expires}: the token would never be valid")]
    NeverValid {
        /// `nbf`.
        not_before: i64,
        /// `exp`.
        expires: i64,
    },
    /// More rules than the service accepts.
    #[error("{count} rules; a token carries at most {MAX_RULES}")]
    TooManyRules {
        /// How many.
        count: usize,
    },
    /// The cryptography library failed.
    #[error("signing failed in the cryptography library")]
    Crypto,
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    kid: &'a str,
}

#[derive(Serialize)]
struct Payload<'a> {
    sub: &'a str,
    kid: &'a str,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(rename = "accessRules", skip_serializing_if = "Option::is_none")]
    access_rules: Option<&'a RuleSet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    downloadable: Option<bool>,
}

/// Signs a Stream token: header `{"alg":"RS256","kid":ID}`, payload
/// `{"sub","kid","exp","nbf"?,"accessRules"?,"downloadable"?}` with
/// integer times, `accessRules` left out when `rules` is empty (no rule:
/// every viewer allowed, as with `[]`).
///
/// The rules are a [`RuleSet`], which only a valid document yields
/// ([`crate::Validation::rule_set`]).
///
/// # Errors
///
/// [`SignError`]: an empty or unusable video uid, `exp` not after
/// `issued_at` or more than 24 hours after it, `nbf` not before `exp`,
/// more than [`MAX_RULES`] rules.
pub fn sign(rules: &RuleSet, claims: &Claims, key: &SigningKey) -> Result<String, SignError> {
    check_video(&claims.video)?;
    if rules.len() > MAX_RULES {
        return Err(SignError::TooManyRules { count: rules.len() });
    }
    if claims.expires <= claims.issued_at {
        return Err(SignError::AlreadyExpired {
            expires: claims.expires,
            issued_at: claims.issued_at,
        });
    }
    let latest = claims.latest_expiry();
    if claims.expires > latest {
        return Err(SignError::TooLongLived {
            expires: claims.expires,
            latest,
            over: claims.expires.saturating_sub(latest),
        });
    }
    debug_assert!(latest.saturating_sub(claims.issued_at) <= MAX_TOKEN_LIFETIME_SECS);
    if let Some(nbf) = claims.not_before {
        if nbf >= claims.expires {
            return Err(SignError::NeverValid { not_before: nbf, expires: claims.expires });
        }
    }
    let header = Header { alg: ALGORITHM, kid: key.id() };
    let payload = Payload {
        sub: &claims.video,
        kid: key.id(),
        exp: claims.expires,
        nbf: claims.not_before,
        access_rules: (!rules.is_empty()).then_some(rules),
        downloadable: claims.downloadable,
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    // Serialising these two structs cannot fail (string keys, no maps of
    // other keys); the error is mapped rather than unwrapped all the same.
    let header = serde_json::to_vec(&header).map_err(|_| SignError::Crypto)?;
    let payload = serde_json::to_vec(&payload).map_err(|_| SignError::Crypto)?;
    let mut token = b64.encode(header);
    token.push('.');
    token.push_str(&b64.encode(payload));
    let pair = key.pair();
    let mut signature = vec![0; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        token.as_bytes(),
        &mut signature,
    )
    .map_err(|_| SignError::Crypto)?;
    token.push('.');
    token.push_str(&b64.encode(&signature));
    Ok(token)
}

/// A video uid goes into URL paths (`/{token}/manifest/video.m3u8` signs
/// it) and the service's uids are 32 hex digits; letters, digits, `-` and
/// `_` are accepted.
fn check_video(video: &str) -> Result<(), SignError> {
    if video.is_empty() {
        return Err(SignError::EmptyVideo);
    }
    match video
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        Some((i, character)) => {
            Err(SignError::VideoCharacter { video: video.to_owned(), character, position: i + 1 })
        }
        None => Ok(()),
    }
}
