//! Stream tokens: reading one ([`decode`], any build), and signing and
//! verifying them with an RS256 signing key (feature `signing`).
//!
//! A Stream token is a JWT: header `{"alg": "RS256", "kid": KEY_ID}`,
//! payload `{"sub": VIDEO_UID, "kid": KEY_ID, "exp", "nbf"?,
//! "accessRules"?, "downloadable"?}` (Cloudflare Stream, "Secure your
//! Stream": signing tokens with a signing key). The repository's
//! `docs/signing.md` records the cryptography crate chosen (`ring`) and
//! every check `verify` makes.

mod claims;
mod decode;
#[cfg(feature = "signing")]
mod key;
#[cfg(feature = "signing")]
mod sign;
#[cfg(feature = "signing")]
mod verify;

pub use claims::{time_claim, Claims, TimeClaimError};
pub use decode::{decode, DecodedToken, MalformedToken, Segment};
#[cfg(feature = "signing")]
pub(crate) use key::check_pem_field;
#[cfg(feature = "signing")]
pub use key::{KeyError, KeyNote, SigningKey, VerifyingKey, MIN_KEY_BITS};
#[cfg(feature = "signing")]
pub use sign::{sign, SignError};
#[cfg(feature = "signing")]
pub use verify::{
    verify, AlgorithmRefused, FailedCheck, VerifiedToken, VerifyError, VerifyOptions,
};

/// The one signature algorithm of Stream tokens: RSASSA-PKCS1-v1_5 with
/// SHA-256 (RFC 7518 section 3.3).
pub const ALGORITHM: &str = "RS256";
