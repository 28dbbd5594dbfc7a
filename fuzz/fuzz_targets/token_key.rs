//! Arbitrary bytes as a signing key and as a token.
//!
//! Checks: the key reader (`SigningKey::read`, `VerifyingKey::read`) and
//! `token::decode` never panic; an error message never holds a run of 16
//! characters of the input (key material is never echoed, docs/signing.md;
//! the errors that name an id, a label or a JWK member value by design are
//! exempt);
//! `verify` never panics and never accepts an input with a test key the
//! fuzzer does not hold (it cannot forge RS256); a decoded token's signing
//! input is the text before its last dot.

#![no_main]

use std::sync::OnceLock;

use accessrules::token::{decode, verify, KeyError, SigningKey, VerifyOptions, VerifyingKey};
use accessrules::Limits;
use libfuzzer_sys::fuzz_target;

static PUBLIC: &[u8] = include_bytes!("../../tests/data/keys/rsa2048.pub.pem");

fn key() -> &'static VerifyingKey {
    static KEY: OnceLock<VerifyingKey> = OnceLock::new();
    KEY.get_or_init(|| VerifyingKey::read(PUBLIC, Some("k")).expect("the test key reads").0)
}

fn no_echo(e: &KeyError, data: &[u8]) {
    // These show what the user wrote on purpose: ids, labels, `use`/`alg`/`kty`.
    if matches!(
        e,
        KeyError::IdMismatch { .. }
            | KeyError::JwkUse { .. }
            | KeyError::JwkAlg { .. }
            | KeyError::Unsupported { .. }
            | KeyError::NotRsa { .. }
            | KeyError::Pem { .. }
    ) {
        return;
    }
    let message = e.to_string();
    for chunk in data.chunks(16).filter(|c| c.len() == 16) {
        if let Ok(text) = std::str::from_utf8(chunk) {
            // Runs of one repeated character are noise, not material.
            if text.chars().any(|c| c != text.chars().next().unwrap_or(' ')) {
                assert!(!message.contains(text), "an error echoes the input: {message}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match SigningKey::read(data, Some("k")) {
        Ok((k, _)) => assert!(k.bits() >= 2048),
        Err(e) => no_echo(&e, data),
    }
    if let Err(e) = VerifyingKey::read(data, None) {
        no_echo(&e, data);
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(d) = decode(text, &Limits::default()) {
        let trimmed = text.trim();
        assert_eq!(d.signing_input(), trimmed.rsplit_once('.').unwrap().0.as_bytes());
    }
    assert!(verify(text, key(), &VerifyOptions::at(0)).is_err(), "forged token accepted");
});
