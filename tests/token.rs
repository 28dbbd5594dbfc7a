//! Signing, verifying and decoding Stream tokens (issue 13): keys in every
//! form people hold them, each refusal with its own error, and the
//! independent check with the `openssl` command line.

use std::path::{Path, PathBuf};
use std::process::Command;

use accessrules::token::{
    decode, sign, verify, AlgorithmRefused, Claims, FailedCheck, KeyError, KeyNote, MalformedToken,
    Segment, SignError, SigningKey, VerifyError, VerifyOptions, VerifyingKey,
};
use accessrules::{check, Limits, Options, RuleSet};
use base64::Engine;
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::strategies::{country_in, network, rule_from, rule_set_from};

pub const KID: &str = "d7a8f0d3c0b2e4f6a1b3c5d7e9f1a2b4";
/// 2026-01-01T00:00:00Z.
pub const NOW: i64 = 1_767_225_600;

pub fn key_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/keys").join(name)
}

pub fn key_bytes(name: &str) -> Vec<u8> {
    std::fs::read(key_path(name)).unwrap()
}

fn signing(name: &str, id: Option<&str>) -> Result<(SigningKey, Vec<KeyNote>), KeyError> {
    SigningKey::read(&key_bytes(name), id)
}

fn key() -> SigningKey {
    signing("rsa2048.pem", Some(KID)).unwrap().0
}

fn b64u(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn docs_rules() -> RuleSet {
    let bytes =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/docs-example.json"))
            .unwrap();
    check(&bytes, &Options::at(NOW)).into_result().unwrap()
}

fn token() -> String {
    sign(&docs_rules(), &Claims::new("ea95132c15732412d22c1476fa83f27a", NOW), &key()).unwrap()
}

fn failed(result: Result<accessrules::token::VerifiedToken, VerifyError>) -> Vec<FailedCheck> {
    match result {
        Err(VerifyError::Failed { failed, .. }) => failed,
        other => panic!("expected failed checks, got {other:?}"),
    }
}

/// A token with `header` and `payload` signed by `signer` (RS256 with
/// ring), whatever the header says.
fn forged(header: &Value, payload: &Value, signer: &str) -> String {
    let input = format!("{}.{}", b64u(header.to_string()), b64u(payload.to_string()));
    format!("{input}.{}", b64u(openssl_sign(&key_path(signer), input.as_bytes())))
}

fn openssl() -> Command {
    let found = Command::new("openssl").arg("version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "the independent check needs the `openssl` command line on PATH \
         (apt-get install -y openssl); .ci/run installs it"
    );
    Command::new("openssl")
}

/// Signs `data` with `openssl dgst -sha256 -sign` (RS256 by a second
/// implementation).
fn openssl_sign(key: &Path, data: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input");
    let sig = dir.path().join("sig.bin");
    std::fs::write(&input, data).unwrap();
    let out = openssl()
        .arg("dgst")
        .arg("-sha256")
        .arg("-sign")
        .arg(key)
        .arg("-out")
        .arg(&sig)
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(sig).unwrap()
}

/// `openssl dgst -sha256 -verify pub.pem -signature sig.bin input`.
fn openssl_verifies(public: &Path, token: &str) -> bool {
    let (input, sig) = token.rsplit_once('.').unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("input"), input).unwrap();
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig).unwrap();
    std::fs::write(dir.path().join("sig.bin"), sig).unwrap();
    let out = openssl()
        .current_dir(dir.path())
        .args(["dgst", "-sha256", "-verify"])
        .arg(public)
        .args(["-signature", "sig.bin", "input"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.success(), stdout.contains("Verified OK"), "{stdout}");
    out.status.success()
}

#[test]
fn openssl_verifies_our_tokens_and_we_verify_its() {
    let t = token();
    assert!(openssl_verifies(&key_path("rsa2048.pub.pem"), &t));
    assert!(!openssl_verifies(&key_path("other2048.pub.pem"), &t));
    let (public, _) = VerifyingKey::read(&key_bytes("rsa2048.pub.pem"), Some(KID)).unwrap();
    assert!(verify(&t, &public, &VerifyOptions::at(NOW)).is_ok());

    // A token signed by openssl, header and payload as the service writes
    // them (string times included).
    let header = json!({"alg": "RS256", "kid": KID});
    let payload = json!({"sub": "ea95132c15732412d22c1476fa83f27a", "kid": KID,
        "exp": (NOW + 60).to_string(), "nbf": NOW.to_string(),
        "accessRules": [{"type": "ip.geoip.country", "country": ["GB"], "action": "block"}]});
    let theirs = forged(&header, &payload, "rsa2048.pem");
    let ok = verify(&theirs, &public, &VerifyOptions::at(NOW)).unwrap();
    assert_eq!((ok.expires(), ok.not_before()), (NOW + 60, Some(NOW)));
    assert_eq!(ok.rules().len(), 1);
}

#[test]
fn every_refusal_has_its_own_error() {
    let public = key().verifying_key();
    let at = VerifyOptions::at(NOW);
    let t = token();
    let (h, rest) = t.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();

    // Tampered payload: the signature no longer verifies.
    let mut payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).unwrap(),
    )
    .unwrap();
    payload["sub"] = json!("another0video0uid0000000000000000");
    let tampered = format!("{h}.{}.{s}", b64u(payload.to_string()));
    assert_eq!(failed(verify(&tampered, &public, &at)), [FailedCheck::Signature]);

    // Another key with the same id.
    let (other, _) = VerifyingKey::read(&key_bytes("other2048.pub.pem"), Some(KID)).unwrap();
    assert_eq!(failed(verify(&t, &other, &at)), [FailedCheck::Signature]);

    // The right key under another id: the kid check names both.
    let (renamed, _) =
        VerifyingKey::read(&key_bytes("rsa2048.pub.pem"), Some("other-kid")).unwrap();
    let f = failed(verify(&t, &renamed, &at));
    assert_eq!(
        f,
        [
            FailedCheck::KeyId {
                place: "header",
                token: Some(KID.into()),
                key: "other-kid".into()
            },
            FailedCheck::KeyId {
                place: "payload",
                token: Some(KID.into()),
                key: "other-kid".into()
            },
        ]
    );
    assert!(f[0].to_string().contains(KID) && f[0].to_string().contains("other-kid"));

    // alg none in any spelling, with and without a signature.
    for alg in ["none", "None", "NONE", "nOnE", ""] {
        let unsigned = format!("{}.{p}.{s}", b64u(json!({"alg": alg, "kid": KID}).to_string()));
        assert!(
            matches!(
                verify(&unsigned, &public, &at),
                Err(VerifyError::Algorithm(AlgorithmRefused::None(_)))
            ),
            "{alg}"
        );
    }
    let empty_sig = format!("{}.{p}.", b64u(json!({"alg": "none"}).to_string()));
    assert!(matches!(
        verify(&empty_sig, &public, &at),
        Err(VerifyError::Malformed(MalformedToken::EmptySegment { segment: Segment::Signature }))
    ));

    // HS256 keyed with the public key's PEM: refused before any crypto.
    let hs_input = format!("{}.{p}", b64u(json!({"alg": "HS256", "kid": KID}).to_string()));
    let secret = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key_bytes("rsa2048.pub.pem"));
    let hs = format!("{hs_input}.{}", b64u(ring::hmac::sign(&secret, hs_input.as_bytes())));
    assert!(
        matches!(verify(&hs, &public, &at), Err(VerifyError::Algorithm(AlgorithmRefused::Hmac(a))) if a == "HS256")
    );

    for (alg, want) in [
        ("rs256", AlgorithmRefused::Case("rs256".into())),
        ("RS512", AlgorithmRefused::OtherHash("RS512".into())),
        ("PS256", AlgorithmRefused::Pss("PS256".into())),
        ("ES256", AlgorithmRefused::Other("ES256".into())),
    ] {
        let other = format!("{}.{p}.{s}", b64u(json!({"alg": alg, "kid": KID}).to_string()));
        match verify(&other, &public, &at) {
            Err(VerifyError::Algorithm(got)) => assert_eq!(got, want),
            got => panic!("{alg}: {got:?}"),
        }
    }
    let no_alg = format!("{}.{p}.{s}", b64u(json!({"kid": KID}).to_string()));
    assert!(matches!(
        verify(&no_alg, &public, &at),
        Err(VerifyError::Algorithm(AlgorithmRefused::Missing))
    ));
    let messages: std::collections::HashSet<String> = ["none", "HS256", "rs256", "RS512", "PS256"]
        .iter()
        .map(|alg| {
            let t = format!("{}.{p}.{s}", b64u(json!({"alg": alg}).to_string()));
            verify(&t, &public, &at).unwrap_err().to_string()
        })
        .collect();
    assert_eq!(messages.len(), 5, "each algorithm has its own message: {messages:?}");

    // Expired: exp == now is expired; a leeway extends it.
    let exp = NOW + 3600;
    assert_eq!(
        failed(verify(&t, &public, &VerifyOptions::at(exp))),
        [FailedCheck::Expired { expires: exp, now: exp }]
    );
    assert!(verify(&t, &public, &VerifyOptions::at(exp - 1)).is_ok());
    assert!(verify(&t, &public, &VerifyOptions::at(exp).with_leeway(1)).is_ok());

    // Before nbf; nbf == now is valid.
    let mut claims = Claims::new("v1", NOW);
    claims.not_before = Some(NOW + 10);
    let later = sign(&docs_rules(), &claims, &key()).unwrap();
    assert_eq!(
        failed(verify(&later, &public, &at)),
        [FailedCheck::NotYetValid { not_before: NOW + 10, now: NOW }]
    );
    assert!(verify(&later, &public, &VerifyOptions::at(NOW + 10)).is_ok());
    assert!(verify(&later, &public, &at.clone().with_leeway(10)).is_ok());

    // The video, when one is expected.
    assert_eq!(
        failed(verify(&later, &public, &at.clone().for_video("v2").with_leeway(10))),
        [FailedCheck::Video { expected: "v2".into(), found: Some("v1".into()) }]
    );
}

#[test]
fn times_as_the_service_writes_them_and_never_no_expiry() {
    let public = key().verifying_key();
    let header = json!({"alg": "RS256", "kid": KID});
    let with = |payload: Value| forged(&header, &payload, "rsa2048.pem");
    // Numeric strings are read; an expired one is expired.
    let t = with(json!({"sub": "v", "kid": KID, "exp": (NOW - 1).to_string()}));
    assert_eq!(
        failed(verify(&t, &public, &VerifyOptions::at(NOW))),
        [FailedCheck::Expired { expires: NOW - 1, now: NOW }]
    );
    // Missing or unreadable exp never passes as "no expiry".
    let t = with(json!({"sub": "v", "kid": KID}));
    assert_eq!(failed(verify(&t, &public, &VerifyOptions::at(NOW))), [FailedCheck::ExpiryMissing]);
    for bad in [json!("soon"), json!(1.5), json!(null), json!(""), json!("1e9")] {
        let t = with(json!({"sub": "v", "kid": KID, "exp": bad}));
        let f = failed(verify(&t, &public, &VerifyOptions::at(NOW)));
        assert!(matches!(f.as_slice(), [FailedCheck::Time(_), ..]), "{bad}: {f:?}");
    }
    // Huge values and leeways do not overflow.
    let t = with(json!({"sub": "v", "kid": KID, "exp": i64::MAX, "nbf": i64::MIN}));
    assert!(verify(&t, &public, &VerifyOptions::at(i64::MAX - 1).with_leeway(u64::MAX)).is_ok());
    assert!(verify(&t, &public, &VerifyOptions::at(i64::MIN)).is_ok());
}

#[test]
fn keys_named_in_the_header_are_ignored_and_rules_are_validated() {
    let public = key().verifying_key();
    // A token signed by another key that names that key in `jwk`/`jku`.
    let other_jwk: Value = serde_json::from_slice(&key_bytes("rsa2048.pub.jwk.json")).unwrap();
    let header = json!({"alg": "RS256", "kid": KID, "jwk": other_jwk, "jku": "https://attacker.example/jwks"});
    let payload = json!({"sub": "v", "kid": KID, "exp": NOW + 60});
    let t = forged(&header, &payload, "other2048.pem");
    assert_eq!(failed(verify(&t, &public, &VerifyOptions::at(NOW))), [FailedCheck::Signature]);

    // Invalid rules: the failed check and every diagnostic of validate.
    let payload = json!({"sub": "v", "kid": KID, "exp": NOW + 60,
        "accessRules": [{"type": "ip.geoip.country", "country": ["UK"], "action": "block"}]});
    let t = forged(&json!({"alg": "RS256", "kid": KID}), &payload, "rsa2048.pem");
    match verify(&t, &public, &VerifyOptions::at(NOW)) {
        Err(VerifyError::Failed { failed, validation }) => {
            assert_eq!(failed, [FailedCheck::Rules { errors: 1 }]);
            let d = &validation.diagnostics()[0];
            assert_eq!(
                (d.code.as_str(), d.path()),
                ("country-unassigned", "/accessRules/0/country/0")
            );
            // The same diagnostics as `check` on the token.
            let direct = check(t.as_bytes(), &Options::without_clock());
            assert_eq!(direct.diagnostics(), validation.diagnostics());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_tokens_name_the_position_not_the_signature() {
    let public = key().verifying_key();
    let t = token();
    let at = VerifyOptions::at(NOW);
    // Surrounding whitespace is trimmed.
    assert!(verify(&format!("\n  {t}\r\n"), &public, &at).is_ok());
    let cut = t.find('.').unwrap() + 1; // the payload's first column - 1
    for (bad, want) in [
        (format!("{}={}", &t[..cut], &t[cut..]), "Padding"),
        (format!("{}+{}", &t[..cut], &t[cut..]), "StandardBase64"),
        (format!("{}/{}", &t[..cut], &t[cut..]), "StandardBase64"),
        (format!("{} {}", &t[..cut], &t[cut..]), "Whitespace"),
        (format!("{t}=="), "Padding"),
    ] {
        match verify(&bad, &public, &at) {
            Err(VerifyError::Malformed(m)) => {
                assert!(format!("{m:?}").starts_with(want), "{m:?}");
                assert!(m.to_string().contains("column"), "{m}");
            }
            other => panic!("{want}: {other:?}"),
        }
    }
}

#[test]
fn keys_in_every_form_people_hold_them() {
    let t = token();
    let reference = key().verifying_key();
    let accepts = |k: &SigningKey| {
        assert_eq!(k.id(), KID);
        assert_eq!(k.bits(), 2048);
        let signed = sign(&RuleSet::default(), &Claims::new("v", NOW), k).unwrap();
        verify(&signed, &reference, &VerifyOptions::at(NOW)).unwrap();
    };
    for (name, id, note) in [
        ("rsa2048.pem", Some(KID), None),
        ("rsa2048-pkcs1.pem", Some(KID), None),
        ("api-key.json", None, None),
        ("api-key-envelope.json", None, None),
        ("api-key.json", Some(KID), None),
        ("rsa2048.pem.b64", Some(KID), Some(KeyNote::Base64Pem)),
        ("rsa2048.jwk.json", None, None),
    ] {
        let (k, notes) = signing(name, id).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(notes, note.into_iter().collect::<Vec<_>>(), "{name}");
        accepts(&k);
    }
    // Verifying keys: public PEM, public JWK, and private keys.
    for name in [
        "rsa2048.pub.pem",
        "rsa2048.pub.jwk.json",
        "rsa2048.jwk.json",
        "api-key.json",
        "rsa2048.pem",
    ] {
        let (k, _) = VerifyingKey::read(&key_bytes(name), Some(KID))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(verify(&t, &k, &VerifyOptions::at(NOW)).is_ok(), "{name}");
    }
    // PEM as people paste it: CRLF, indentation, .env escapes, quotes.
    let pem = String::from_utf8(key_bytes("rsa2048-pkcs1.pem")).unwrap();
    let crlf = pem.replace('\n', "\r\n");
    let indented: String = pem.lines().map(|l| format!("    {l}\n")).collect();
    let escaped = pem.trim_end().replace('\n', "\\n");
    for (text, notes) in [
        (crlf, vec![]),
        (indented, vec![]),
        (
            format!("SIGNING_KEY=\"{escaped}\"\n"),
            vec![KeyNote::EnvName("SIGNING_KEY".into()), KeyNote::Quotes, KeyNote::Escapes],
        ),
        (format!("'{escaped}'"), vec![KeyNote::Quotes, KeyNote::Escapes]),
        (escaped.clone(), vec![KeyNote::Escapes]),
    ] {
        let (k, got) = SigningKey::read(text.as_bytes(), Some(KID)).unwrap();
        assert_eq!(got, notes);
        accepts(&k);
    }
}

#[test]
fn key_refusals_each_with_its_message_and_no_key_material() {
    let api: Value = serde_json::from_slice(&key_bytes("api-key.json")).unwrap();
    let jwk: Value = serde_json::from_slice(&key_bytes("rsa2048.jwk.json")).unwrap();
    let with = |base: &Value, f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut v = base.clone();
        f(v.as_object_mut().unwrap());
        v.to_string().into_bytes()
    };
    let b64 = |v: &Value| base64::engine::general_purpose::STANDARD.encode(v.to_string());
    let cases: Vec<(&str, Vec<u8>, Option<&str>, KeyError)> = vec![
        ("1024 bits", key_bytes("rsa1024.pem"), Some(KID), KeyError::TooSmall { bits: 1024 }),
        ("encrypted PKCS#8", key_bytes("rsa2048-encrypted.pem"), Some(KID), KeyError::Encrypted),
        ("a public key to sign", key_bytes("rsa2048.pub.pem"), Some(KID), KeyError::PublicKey),
        ("a public JWK to sign", key_bytes("rsa2048.pub.jwk.json"), None, KeyError::PublicKey),
        (
            "an EC key",
            key_bytes("ec256.pem"),
            Some(KID),
            KeyError::NotRsa { algorithm: "an EC key".into() },
        ),
        ("no id", key_bytes("rsa2048.pem"), None, KeyError::NoId),
        (
            "id differs from the JWK's kid",
            with(&api, &|o| {
                o.insert("id".into(), json!("another-id"));
            }),
            None,
            KeyError::IdMismatch {
                first_source: "`id`",
                first: "another-id".into(),
                second_source: "the JWK's kid",
                second: KID.into(),
            },
        ),
        (
            "--key-id differs from the key's id",
            key_bytes("api-key.json"),
            Some("mine"),
            KeyError::IdMismatch {
                first_source: "--key-id",
                first: "mine".into(),
                second_source: "`id`",
                second: KID.into(),
            },
        ),
        (
            "corrupt base64 pem",
            with(&api, &|o| {
                let p = o["pem"].as_str().unwrap().replacen('L', "*", 1);
                o.insert("pem".into(), json!(p));
            }),
            None,
            KeyError::Base64 { field: "pem", position: 1 },
        ),
        (
            "corrupt base64 jwk",
            with(&api, &|o| {
                let p = format!("!{}", o["jwk"].as_str().unwrap());
                o.insert("jwk".into(), json!(p));
            }),
            None,
            KeyError::Base64 { field: "jwk", position: 1 },
        ),
        (
            "pem that is not a PEM",
            with(&api, &|o| {
                o.insert("pem".into(), json!("aGVsbG8gd29ybGQ="));
            }),
            None,
            KeyError::Content {
                field: "pem",
                found: "text without a -----BEGIN line",
                expected: "a PEM key",
            },
        ),
        (
            "JWK use enc",
            with(&jwk, &|o| {
                o.insert("use".into(), json!("enc"));
            }),
            None,
            KeyError::JwkUse { value: "enc".into() },
        ),
        (
            "JWK alg RS512",
            with(&jwk, &|o| {
                o.insert("alg".into(), json!("RS512"));
            }),
            None,
            KeyError::JwkAlg { alg: "RS512".into() },
        ),
        // A word in the key file is not a damaged base64 `pem`.
        ("a word", b"hello\n".to_vec(), Some(KID), KeyError::Unrecognised),
        (
            "JWK kty EC",
            with(&jwk, &|o| {
                o.insert("kty".into(), json!("EC"));
            }),
            None,
            KeyError::NotRsa { algorithm: "a JWK of kty \"EC\"".into() },
        ),
        (
            "JWK n not base64url",
            with(&jwk, &|o| {
                o.insert("n".into(), json!("@@"));
            }),
            None,
            KeyError::JwkMember { member: "n", problem: "not base64url" },
        ),
        (
            "JWK without dq",
            with(&jwk, &|o| {
                o.remove("dq");
            }),
            None,
            KeyError::JwkMember { member: "dq", problem: "missing" },
        ),
        (
            "jwk member of the API object corrupt inside",
            with(&api, &|o| {
                o.insert("jwk".into(), json!(b64(&json!({"kty": "RSA", "use": "enc"}))));
            }),
            None,
            KeyError::JwkUse { value: "enc".into() },
        ),
        ("JSON that is no key", b"{\"hello\": 1}".to_vec(), None, KeyError::UnknownJson),
        ("not JSON", b"{\"pem\": ".to_vec(), None, KeyError::Json { line: 1, column: 8 }),
        ("empty", b"  \n".to_vec(), None, KeyError::Empty),
        ("binary", vec![0x30, 0x82, 0xff, 0xfe], None, KeyError::NotText),
        (
            "a certificate",
            b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n".to_vec(),
            Some(KID),
            KeyError::Unsupported { label: "CERTIFICATE".into() },
        ),
    ];
    let mut messages = std::collections::HashSet::new();
    let mut errors = std::collections::HashSet::new();
    let material = String::from_utf8(key_bytes("rsa2048.pem")).unwrap();
    for (what, input, id, want) in cases {
        let e = SigningKey::read(&input, id).map(|_| ()).unwrap_err();
        assert_eq!(e, want, "{what}");
        let message = e.to_string();
        // No key material: no run of 16 base64 characters from the key.
        for line in material.lines().filter(|l| !l.starts_with("-----")) {
            for chunk in line.as_bytes().chunks(16).filter(|c| c.len() == 16) {
                assert!(
                    !message.contains(std::str::from_utf8(chunk).unwrap()),
                    "{what}: {message}"
                );
            }
        }
        assert!(!format!("{e:?}").contains("MII"), "{what}");
        messages.insert(message);
        errors.insert(format!("{e:?}"));
    }
    assert_eq!(messages.len(), errors.len(), "each refusal has its own message");
    // A JWK without alg: RS256 assumed, with a note.
    let (_, notes) = SigningKey::read(
        &with(&jwk, &|o| {
            o.remove("alg");
        }),
        None,
    )
    .unwrap();
    assert_eq!(notes, [KeyNote::AlgAssumed]);
    // Debug output shows id and size only.
    let debug = format!("{:?}", key());
    assert_eq!(debug, format!("SigningKey {{ id: {KID:?}, bits: 2048 }}"));
}

#[test]
fn sign_refuses_claims_the_service_would() {
    let rules = docs_rules();
    let k = key();
    let mut c = Claims::new("v", NOW);
    c.expires = NOW;
    assert_eq!(
        sign(&rules, &c, &k),
        Err(SignError::AlreadyExpired { expires: NOW, issued_at: NOW })
    );
    c.expires = NOW + 86_400;
    assert!(sign(&rules, &c, &k).is_ok(), "exactly 24 h is allowed");
    c.expires = NOW + 86_401;
    assert_eq!(
        sign(&rules, &c, &k),
        Err(SignError::TooLongLived { expires: NOW + 86_401, latest: NOW + 86_400, over: 1 })
    );
    c.expires = NOW + 60;
    c.not_before = Some(NOW + 60);
    assert_eq!(
        sign(&rules, &c, &k),
        Err(SignError::NeverValid { not_before: NOW + 60, expires: NOW + 60 })
    );
    assert_eq!(sign(&rules, &Claims::new("", NOW), &k), Err(SignError::EmptyVideo));
    assert!(matches!(
        sign(&rules, &Claims::new("a/b", NOW), &k),
        Err(SignError::VideoCharacter { character: '/', position: 2, .. })
    ));
    let mut six = rules.clone();
    six.rules.extend(rules.rules.iter().cloned());
    assert_eq!(sign(&six, &Claims::new("v", NOW), &k), Err(SignError::TooManyRules { count: 6 }));
    // Overflowing times are refused, never wrapped.
    let c = Claims { expires: i64::MAX, ..Claims::new("v", i64::MAX - 5) };
    assert!(sign(&rules, &c, &k).is_ok());
}

#[test]
fn the_token_has_the_documented_shape() {
    let t = token();
    let d = decode(&t, &Limits::default()).unwrap();
    assert_eq!(Value::Object(d.header().clone()), json!({"alg": "RS256", "kid": KID}));
    assert_eq!(
        Value::Object(d.payload().clone()),
        json!({"sub": "ea95132c15732412d22c1476fa83f27a", "kid": KID, "exp": NOW + 3600,
               "accessRules": docs_rules().to_json()})
    );
    // No rules: no accessRules member.
    let bare = sign(&RuleSet::default(), &Claims::new("v", NOW), &key()).unwrap();
    assert!(!decode(&bare, &Limits::default()).unwrap().payload().contains_key("accessRules"));
}

fn rule_set() -> impl Strategy<Value = RuleSet> {
    rule_set_from(rule_from(network(), country_in(&["US", "GB", "DE", "MX"]), 4), 0..=5)
}

proptest! {
    #![proptest_config(crate::strategies::config(24))]

    /// decode(sign(x)) gives back the claims and the rules; verify(sign(x))
    /// succeeds for every valid document.
    #[test]
    fn decode_sign_round_trips_and_verify_accepts(
        rules in rule_set(),
        video in "[0-9a-f]{32}",
        lifetime in 1i64..=86_400,
        nbf in proptest::option::of(-3600i64..0),
        downloadable in proptest::option::of(any::<bool>()),
    ) {
        let document = rules.to_json().to_string();
        let validation = check(document.as_bytes(), &Options::at(NOW));
        // Rejected cases are counted by proptest, which fails when too many
        // are; most generated rule sets are valid.
        prop_assume!(validation.is_valid());
        let valid = validation.rule_set().unwrap();
        let claims = Claims {
            video: video.clone(),
            issued_at: NOW,
            expires: NOW + lifetime,
            not_before: nbf.map(|n| NOW + n),
            downloadable,
        };
        let k = key();
        let t = sign(valid, &claims, &k).unwrap();
        let d = decode(&t, &Limits::default()).unwrap();
        let p = d.payload();
        prop_assert_eq!(p["sub"].as_str(), Some(video.as_str()));
        prop_assert_eq!(p["kid"].as_str(), Some(KID));
        prop_assert_eq!(p["exp"].as_i64(), Some(claims.expires));
        prop_assert_eq!(p.get("nbf").and_then(Value::as_i64), claims.not_before);
        prop_assert_eq!(p.get("downloadable").and_then(Value::as_bool), claims.downloadable);
        let decoded_rules = p.get("accessRules").cloned().unwrap_or(json!([]));
        prop_assert_eq!(decoded_rules, valid.to_json());
        let ok = verify(&t, &k.verifying_key(), &VerifyOptions::at(NOW).for_video(video)).unwrap();
        prop_assert_eq!(ok.rules(), valid);
        prop_assert_eq!(ok.expires(), claims.expires);
    }
}

/// The `accessrules` binary: sign, verify, decode (issue 13's "done when").
#[cfg(feature = "cli")]
mod cli {
    use super::*;
    use assert_cmd::Command as Bin;

    fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
        let out = Bin::cargo_bin("accessrules")
            .unwrap()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("NO_COLOR")
            .args(args)
            .write_stdin(stdin.to_owned())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    const NOW_ARG: &str = "1767225600";

    fn sign_cli(rules: &str, extra: &[&str]) -> (i32, String, String) {
        let mut args = vec![
            "sign",
            rules,
            "--key",
            "tests/data/keys/rsa2048.pem",
            "--key-id",
            KID,
            "--video",
            "ea95132c15732412d22c1476fa83f27a",
            "--now",
            NOW_ARG,
        ];
        args.extend_from_slice(extra);
        run(&args, "")
    }

    fn payload(token: &str) -> Value {
        Value::Object(decode(token, &Limits::default()).unwrap().payload().clone())
    }

    #[test]
    fn sign_the_docs_example_openssl_verifies_and_verify_accepts() {
        let (code, out, err) = sign_cli("examples/docs-example.json", &[]);
        assert_eq!(code, 0, "{err}");
        let token = out.trim();
        assert_eq!(out.lines().count(), 1);
        // docs/signing.md's example token is exactly this one.
        let example = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/docs-example.token"),
        )
        .unwrap();
        assert_eq!(example, out);
        assert!(openssl_verifies(&key_path("rsa2048.pub.pem"), token));
        let (code, out, _) = run(
            &[
                "verify",
                token,
                "--key",
                "tests/data/keys/rsa2048.pub.pem",
                "--key-id",
                KID,
                "--now",
                NOW_ARG,
            ],
            "",
        );
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("valid: RS256") && out.contains("2026-01-01T01:00:00Z"), "{out}");
        // Every TOKEN form: stdin, the API response, a playback URL, a file.
        let api = format!(r#"{{"result": {{"token": "{token}"}}, "success": true}}"#);
        let url =
            format!("https://customer-abc123.cloudflarestream.com/{token}/manifest/video.m3u8");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token.txt");
        std::fs::write(&file, format!("{token}\n")).unwrap();
        for (arg, stdin) in [
            ("-", format!("  {token}\n")),
            ("-", api),
            (url.as_str(), String::new()),
            (file.to_str().unwrap(), String::new()),
        ] {
            let (code, out, err) = run(
                &[
                    "verify",
                    arg,
                    "--key",
                    "tests/data/keys/api-key.json",
                    "--now",
                    NOW_ARG,
                    "--video",
                    "ea95132c15732412d22c1476fa83f27a",
                ],
                &stdin,
            );
            assert_eq!(code, 0, "{arg}: {out}{err}");
        }
    }

    #[test]
    fn sign_refuses_invalid_rules_and_with_deny_warnings_warnings() {
        let (code, out, err) = sign_cli("examples/mistakes.json", &[]);
        assert_eq!((code, out.as_str()), (1, ""), "no token");
        assert!(err.contains("error[invalid-ip]") && err.contains("no token signed"), "{err}");
        let (code, out, err) = sign_cli("examples/warnings.json", &[]);
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with("eyJ") && err.contains("warning["), "{err}");
        let (code, out, err) = sign_cli("examples/warnings.json", &["--deny-warnings"]);
        assert_eq!((code, out.as_str()), (1, ""));
        assert!(err.contains("--deny-warnings"), "{err}");
    }

    #[test]
    fn sign_times_from_the_body_and_the_flags() {
        let dir = tempfile::tempdir().unwrap();
        let body = dir.path().join("body.json");
        std::fs::write(
            &body,
            format!(
                r#"{{"exp": {}, "nbf": {}, "downloadable": true, "accessRules": []}}"#,
                NOW + 600,
                NOW - 5
            ),
        )
        .unwrap();
        let body = body.to_str().unwrap();
        let (code, out, err) = sign_cli(body, &[]);
        assert_eq!(code, 0, "{err}");
        let p = payload(out.trim());
        assert_eq!(
            (p["exp"].as_i64(), p["nbf"].as_i64(), p["downloadable"].as_bool()),
            (Some(NOW + 600), Some(NOW - 5), Some(true))
        );
        assert!(p.get("accessRules").is_none());
        let (_, out, _) = sign_cli(body, &["--ttl", "2h", "--nbf", "2026-01-01T00:00:10Z"]);
        let p = payload(out.trim());
        assert_eq!((p["exp"].as_i64(), p["nbf"].as_i64()), (Some(NOW + 7200), Some(NOW + 10)));
        let (_, out, _) = sign_cli(
            "examples/docs-example.json",
            &["--exp", &(NOW + 60).to_string(), "--downloadable"],
        );
        let p = payload(out.trim());
        assert_eq!((p["exp"].as_i64(), p["downloadable"].as_bool()), (Some(NOW + 60), Some(true)));
        // Default: one hour.
        let (_, out, _) = sign_cli("examples/docs-example.json", &[]);
        assert_eq!(payload(out.trim())["exp"].as_i64(), Some(NOW + 3600));
        // Over 24 h, or already expired: exit 2, no token.
        for extra in [
            &["--ttl", "25h"][..],
            &["--exp", NOW_ARG][..],
            &["--ttl", "soon"][..],
            &["--exp", "tomorrow"][..],
        ] {
            let (code, out, err) = sign_cli("examples/docs-example.json", extra);
            assert_eq!((code, out.as_str()), (2, ""), "{extra:?}: {err}");
        }
        let (code, _, err) = sign_cli("examples/docs-example.json", &["--exp", "1", "--ttl", "1h"]);
        assert_eq!(code, 2, "{err}");
    }

    #[test]
    fn sign_url_prints_the_playback_urls() {
        let (code, out, err) =
            sign_cli("examples/docs-example.json", &["--url", "customer-abc123"]);
        assert_eq!(code, 0, "{err}");
        let lines: Vec<&str> = out.lines().collect();
        let t = lines[0];
        assert_eq!(
            &lines[1..],
            [
                format!(
                    "hls:    https://customer-abc123.cloudflarestream.com/{t}/manifest/video.m3u8"
                ),
                format!(
                    "dash:   https://customer-abc123.cloudflarestream.com/{t}/manifest/video.mpd"
                ),
                format!("iframe: https://customer-abc123.cloudflarestream.com/{t}/iframe"),
            ]
        );
        let (code, _, err) = sign_cli("examples/docs-example.json", &["--url", "a/b"]);
        assert_eq!(code, 2, "{err}");
    }

    #[test]
    fn key_errors_exit_2_without_key_material_and_notes_go_to_stderr() {
        let material = String::from_utf8(key_bytes("rsa2048.pem")).unwrap();
        let second_line = material.lines().nth(1).unwrap();
        for (key, want) in [
            ("tests/data/keys/rsa2048.pub.pem", "public key"),
            ("tests/data/keys/rsa1024.pem", "1024 bits"),
            ("tests/data/keys/rsa2048-encrypted.pem", "encrypted"),
            ("tests/data/keys/no-such-key.pem", "cannot open key file"),
        ] {
            let (code, out, err) = run(
                &[
                    "sign",
                    "examples/docs-example.json",
                    "--key",
                    key,
                    "--key-id",
                    "k",
                    "--video",
                    "v",
                ],
                "",
            );
            assert_eq!((code, out.as_str()), (2, ""), "{key}");
            assert!(err.contains(want), "{key}: {err}");
            assert!(!err.contains(&second_line[..20]), "{key}: key material in {err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        std::fs::write(
            &env,
            format!("STREAM_KEY=\"{}\"\n", material.trim_end().replace('\n', "\\n")),
        )
        .unwrap();
        let (code, out, err) = run(
            &[
                "sign",
                "examples/docs-example.json",
                "--key",
                env.to_str().unwrap(),
                "--key-id",
                KID,
                "--video",
                "v",
                "--now",
                NOW_ARG,
            ],
            "",
        );
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with("eyJ"));
        assert!(err.contains("note: read the literal \\n escapes"), "{err}");
    }

    #[test]
    fn verify_exit_statuses_and_each_failed_check() {
        let (_, out, _) = sign_cli("examples/docs-example.json", &[]);
        let token = out.trim().to_owned();
        let key = ["--key", "tests/data/keys/api-key.json"];
        let verify_at = |t: &str, now: &str, extra: &[&str]| {
            let mut args = vec!["verify", "-", "--now", now];
            args.extend_from_slice(&key);
            args.extend_from_slice(extra);
            run(&args, t)
        };
        let exp = (NOW + 3600).to_string();
        let (code, out, _) = verify_at(&token, &exp, &["--video", "other"]);
        assert_eq!(code, 1);
        assert!(
            out.contains("2 failed checks")
                && out.contains("  exp: expired")
                && out.contains("  sub: "),
            "{out}"
        );
        let (code, _, _) = verify_at(&token, &exp, &["--leeway", "1"]);
        assert_eq!(code, 0);
        // Tampered: the signature check, exit 1.
        let (h, rest) = token.split_once('.').unwrap();
        let (_, s) = rest.split_once('.').unwrap();
        let p = b64u(json!({"sub": "x", "kid": KID, "exp": NOW + 60}).to_string());
        let (code, out, _) = verify_at(&format!("{h}.{p}.{s}"), NOW_ARG, &[]);
        assert_eq!(code, 1);
        assert!(out.contains("  signature: does not verify"), "{out}");
        // Malformed and refused algorithms: exit 1 with the reason.
        let (code, out, _) = verify_at(&format!("{h}.={p}.{s}"), NOW_ARG, &[]);
        assert_eq!(code, 1);
        assert!(out.contains("padding at column"), "{out}");
        let none = format!("{}.{p}.{s}", b64u(r#"{"alg":"none"}"#));
        let (code, out, _) = verify_at(&none, NOW_ARG, &[]);
        assert_eq!(code, 1);
        assert!(out.contains("unsigned token"), "{out}");
        // Usage, I/O and key errors: exit 2.
        let (code, _, err) = verify_at("", NOW_ARG, &[]);
        assert_eq!(code, 2, "an empty input is no success: {err}");
        assert!(err.contains("empty"), "{err}");
        let (code, _, err) =
            run(&["verify", "no-such-file", "--key", "tests/data/keys/api-key.json"], "");
        assert_eq!(code, 2);
        assert!(err.contains("cannot open token file"), "{err}");
        let (code, _, err) =
            run(&["verify", "-", "--key", "tests/data/keys/rsa2048.pub.pem"], &token);
        assert_eq!(code, 2);
        assert!(err.contains("--key-id"), "{err}");
    }

    #[test]
    fn decode_shows_header_payload_and_times_and_says_the_signature_is_unchecked() {
        let header = json!({"alg": "RS256", "kid": KID});
        let t =
            forged(&header, &json!({"sub": "v", "exp": "1767229200", "nbf": NOW}), "other2048.pem");
        let (code, out, err) = run(&["decode", "-"], &t);
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with("signature: NOT checked"), "{out}");
        assert!(out.contains("\"kid\": \"d7a8f0d3c0b2e4f6a1b3c5d7e9f1a2b4\""), "{out}");
        assert!(out.contains("  exp: 2026-01-01T01:00:00Z\n  nbf: 2026-01-01T00:00:00Z"), "{out}");
        let (code, out, _) = run(&["decode", "-"], "eyJhbGciOiJub25lIn0.e30");
        assert_eq!(code, 1);
        assert!(out.contains("segments"), "{out}");
    }
}
