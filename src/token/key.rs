//! Signing keys as the service hands them out and as people hold them.
//!
//! One reader for every form (docs/signing.md): the signing-key API's
//! object `{"id", "pem", "jwk", ...}` (bare or in the API envelope), a PEM
//! file (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY`, `PUBLIC KEY`,
//! `RSA PUBLIC KEY`), the base64 `pem` string alone, or a JWK. Key
//! material never appears in a message or a `Debug` output.

use std::fmt;

use base64::Engine;
use ring::signature::RsaKeyPair;
use serde_json::{Map, Value};

use crate::schema::{FIELD_ID, FIELD_PEM};

/// The smallest RSA modulus accepted, in bits (the service's keys are
/// 2048 bits; smaller keys are breakable).
pub const MIN_KEY_BITS: usize = 2048;

/// rsaEncryption (RFC 8017 appendix C), the algorithm of an RSA key.
const RSA_ENCRYPTION: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// The `jwk` member of the signing-key API's object.
const FIELD_JWK: &str = "jwk";

/// A private key that signs Stream tokens, with its key id (`kid`).
pub struct SigningKey {
    id: String,
    pair: RsaKeyPair,
}

/// A public key that verifies Stream tokens, with its key id.
#[derive(Clone)]
pub struct VerifyingKey {
    id: String,
    n: Vec<u8>,
    e: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("id", &self.id).field("bits", &self.bits()).finish()
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey").field("id", &self.id).field("bits", &self.bits()).finish()
    }
}

/// Something the key reader repaired or assumed, to tell the user.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyNote {
    /// `NAME=` of an `.env` line was removed.
    EnvName(String),
    /// Quotes around the key were removed.
    Quotes,
    /// Literal `\n` escapes (from an `.env` file or a JSON string) were
    /// read as line breaks.
    Escapes,
    /// The JWK has no `alg`; RS256 is assumed.
    AlgAssumed,
    /// The input was the base64 `pem` string of the signing-key API.
    Base64Pem,
}

impl fmt::Display for KeyNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyNote::EnvName(name) => write!(f, "read the value of the .env line {name}="),
            KeyNote::Quotes => f.write_str("removed the quotes around the key"),
            KeyNote::Escapes => {
                f.write_str("read the literal \\n escapes in the key as line breaks")
            }
            KeyNote::AlgAssumed => f.write_str("the JWK has no `alg`; RS256 assumed"),
            KeyNote::Base64Pem => f.write_str("read the key as the base64 `pem` of a signing key"),
        }
    }
}

/// Why a key could not be read or used. Messages name the field and the
/// problem, never the key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file is not UTF-8 text.
    #[error(
        "the key is not text (a binary DER key? convert it: openssl pkey -inform DER -in key.der)"
    )]
    NotText,
    /// Nothing in the input.
    #[error("the key file is empty")]
    Empty,
    /// A JSON key file that does not parse.
    #[error("the key file is not valid JSON (line {line}, column {column})")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A JSON object that is neither a JWK nor a signing-key object.
    #[error("the key file is JSON but neither a JWK (no \"kty\") nor a signing key (no \"pem\" or \"jwk\")")]
    UnknownJson,
    /// Text that is neither PEM, JSON nor base64 of a PEM.
    #[error("the key is not a PEM key (no -----BEGIN line), a JSON key or the base64 `pem` of a signing key")]
    Unrecognised,
    /// A member of the signing-key object that is not a string.
    #[error("`{field}` of the signing key is not a string")]
    NotString {
        /// The member.
        field: &'static str,
    },
    /// A base64 member that does not decode.
    #[error(
        "`{field}` is not valid base64 (character {position}); copy it again from the API response"
    )]
    Base64 {
        /// The member (`pem`, `jwk`).
        field: &'static str,
        /// 1-based character position of the fault (0: the length).
        position: usize,
    },
    /// A base64 member whose content is not what it should be.
    #[error("`{field}` decodes to {found}, not {expected}")]
    Content {
        /// The member.
        field: &'static str,
        /// What it decodes to.
        found: &'static str,
        /// What it should hold.
        expected: &'static str,
    },
    /// The PEM framing is broken.
    #[error("the PEM key is malformed: {reason}")]
    Pem {
        /// What is wrong.
        reason: String,
    },
    /// Several keys in one file.
    #[error("the file holds {count} PEM keys; give one")]
    SeveralKeys {
        /// How many.
        count: usize,
    },
    /// A PEM block that is not a key this tool reads.
    #[error("the PEM block is \"{label}\", not an RSA key (PRIVATE KEY, RSA PRIVATE KEY, PUBLIC KEY or RSA PUBLIC KEY)")]
    Unsupported {
        /// The block's label.
        label: String,
    },
    /// An encrypted private key.
    #[error(
        "the private key is encrypted; decrypt it first: openssl pkey -in key.pem -out plain.pem"
    )]
    Encrypted,
    /// A key of another algorithm.
    #[error("the key is {algorithm}, not RSA; Stream tokens are signed with RS256")]
    NotRsa {
        /// The algorithm found (an OID or a JWK `kty`).
        algorithm: String,
    },
    /// An RSA key under [`MIN_KEY_BITS`].
    #[error("the key is {bits} bits; at least 2048 are needed (create a new signing key)")]
    TooSmall {
        /// The modulus size.
        bits: usize,
    },
    /// An RSA key the cryptography library refuses.
    #[error("the RSA key is not usable: {reason}")]
    Rejected {
        /// The library's reason (`InvalidEncoding`, `InconsistentComponents`, ...).
        reason: String,
    },
    /// A public key where a private key is needed.
    #[error("this is a public key; signing needs the private key (the signing key's `pem`, or a JWK with `d`)")]
    PublicKey,
    /// No key id anywhere.
    #[error("the key has no id; give --key-id (the `id` of the signing key)")]
    NoId,
    /// Two ids for one key.
    #[error("the key's ids differ: {first_source} is {first:?}, {second_source} is {second:?}")]
    IdMismatch {
        /// Where the first id comes from (`id`, `--key-id`).
        first_source: &'static str,
        /// The first id.
        first: String,
        /// Where the second comes from (`the JWK's kid`).
        second_source: &'static str,
        /// The second id.
        second: String,
    },
    /// A JWK member missing or not base64url.
    #[error("the JWK member `{member}` is {problem}")]
    JwkMember {
        /// The member (`n`, `e`, `d`, `p`, ...).
        member: &'static str,
        /// `missing`, `not a string`, `not base64url`.
        problem: &'static str,
    },
    /// A JWK for encryption.
    #[error("the JWK has \"use\": {value:?}; a signing key has \"use\": \"sig\"")]
    JwkUse {
        /// The `use` value.
        value: String,
    },
    /// A JWK for another algorithm.
    #[error("the JWK has \"alg\": {alg:?}; Stream tokens are RS256")]
    JwkAlg {
        /// The `alg` value.
        alg: String,
    },
    /// A multi-prime RSA JWK (`oth`).
    #[error("the JWK is a multi-prime RSA key (\"oth\"), which is not supported")]
    JwkMultiPrime,
}

/// A key as read: its id if it carries one, its material, and notes.
struct Parsed {
    id: Option<(&'static str, String)>,
    material: Material,
    notes: Vec<KeyNote>,
}

enum Material {
    Private(Box<RsaKeyPair>),
    Public { n: Vec<u8>, e: Vec<u8> },
}

impl SigningKey {
    /// Reads a private key from any form of the module docs. `key_id` is
    /// the `kid` to sign with when the key does not carry one (a PEM file);
    /// when it does, the two must agree.
    ///
    /// # Errors
    ///
    /// [`KeyError`]: unreadable, not RSA, under 2048 bits, encrypted, a
    /// public key, ids that disagree, no id.
    pub fn read(
        input: &[u8],
        key_id: Option<&str>,
    ) -> Result<(SigningKey, Vec<KeyNote>), KeyError> {
        let parsed = read(input)?;
        let id = resolve_id(parsed.id, key_id)?;
        match parsed.material {
            Material::Private(pair) => Ok((SigningKey { id, pair: *pair }, parsed.notes)),
            Material::Public { .. } => Err(KeyError::PublicKey),
        }
    }

    /// The key id, written as `kid` into header and payload.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.verifying_key().bits()
    }

    /// The public half, with the same id.
    pub fn verifying_key(&self) -> VerifyingKey {
        use ring::signature::KeyPair;
        let public = self.pair.public_key();
        // ring serialises the public key as a PKCS#1 RSAPublicKey.
        let (n, e) = pkcs1::RsaPublicKey::try_from(public.as_ref())
            .map(|k| (k.modulus.as_bytes().to_vec(), k.public_exponent.as_bytes().to_vec()))
            .unwrap_or_default();
        VerifyingKey { id: self.id.clone(), n, e }
    }

    pub(crate) fn pair(&self) -> &RsaKeyPair {
        &self.pair
    }
}

impl VerifyingKey {
    /// Reads a public key (or the public half of a private key) from any
    /// form of the module docs; `key_id` as for [`SigningKey::read`].
    ///
    /// # Errors
    ///
    /// [`KeyError`], as for [`SigningKey::read`] except [`KeyError::PublicKey`].
    pub fn read(
        input: &[u8],
        key_id: Option<&str>,
    ) -> Result<(VerifyingKey, Vec<KeyNote>), KeyError> {
        let parsed = read(input)?;
        let id = resolve_id(parsed.id, key_id)?;
        let key = match parsed.material {
            Material::Private(pair) => SigningKey { id, pair: *pair }.verifying_key(),
            Material::Public { n, e } => VerifyingKey { id, n, e },
        };
        Ok((key, parsed.notes))
    }

    /// The key id that a token's `kid` must equal.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        modulus_bits(&self.n)
    }

    /// The modulus and public exponent, big-endian.
    pub(crate) fn components(&self) -> ring::signature::RsaPublicKeyComponents<&[u8]> {
        ring::signature::RsaPublicKeyComponents { n: &self.n, e: &self.e }
    }
}

fn resolve_id(
    own: Option<(&'static str, String)>,
    given: Option<&str>,
) -> Result<String, KeyError> {
    match (own, given) {
        (Some((source, own)), Some(given)) if own != given => Err(KeyError::IdMismatch {
            first_source: "--key-id",
            first: given.to_owned(),
            second_source: source,
            second: own,
        }),
        (Some((_, own)), _) => Ok(own),
        (None, Some(given)) if !given.trim().is_empty() => Ok(given.to_owned()),
        _ => Err(KeyError::NoId),
    }
}

fn modulus_bits(n: &[u8]) -> usize {
    let n = &n[n.iter().take_while(|b| **b == 0).count()..];
    n.first().map_or(0, |first| n.len() * 8 - first.leading_zeros() as usize)
}

/// Reads a key in any form.
fn read(input: &[u8]) -> Result<Parsed, KeyError> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let text = std::str::from_utf8(input).map_err(|_| KeyError::NotText)?;
    let mut notes = Vec::new();
    if text.trim_start().starts_with('{') {
        // Untrimmed, so that line and column of a JSON error are the file's.
        return read_json(text, notes);
    }
    let mut text = text.trim().to_owned();
    if text.is_empty() {
        return Err(KeyError::Empty);
    }
    // `NAME=value` of an .env file.
    if let Some((name, value)) = text.split_once('=') {
        let is_name = !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.as_bytes()[0].is_ascii_digit();
        let value = value.trim();
        if is_name && (value.starts_with(['"', '\'']) || value.starts_with("-----BEGIN")) {
            notes.push(KeyNote::EnvName(name.to_owned()));
            text = value.to_owned();
        }
    }
    for q in ['"', '\''] {
        if text.len() >= 2 && text.starts_with(q) && text.ends_with(q) {
            text = text[1..text.len() - 1].trim().to_owned();
            notes.push(KeyNote::Quotes);
            break;
        }
    }
    if text.contains("-----BEGIN") {
        if text.contains("\\n") {
            text = text.replace("\\r\\n", "\n").replace("\\n", "\n");
            notes.push(KeyNote::Escapes);
        }
        return read_pem(&text).map(|material| Parsed { id: None, material, notes });
    }
    // The base64 `pem` string alone: the base64 of `-----BEGIN` starts
    // `LS0t`; other base64-looking text counts only when long enough to be
    // a key (a short word is not a damaged key, it is not a key).
    let base64_like = text.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=\r\n \t".contains(&b));
    if base64_like && (text.starts_with("LS0t") || text.len() >= 200) {
        let pem = decode_pem_field(&text, FIELD_PEM)?;
        notes.push(KeyNote::Base64Pem);
        return read_pem(&pem).map(|material| Parsed { id: None, material, notes });
    }
    Err(KeyError::Unrecognised)
}

fn read_json(text: &str, mut notes: Vec<KeyNote>) -> Result<Parsed, KeyError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| KeyError::Json { line: e.line(), column: e.column() })?;
    let Value::Object(mut object) = value else { return Err(KeyError::UnknownJson) };
    // The API envelope `{"result": {...}, "success": true, ...}`.
    if let Some(Value::Object(result)) = object.get("result") {
        object = result.clone();
    }
    if object.contains_key("kty") {
        return read_jwk(&object, &mut notes).map(|(id, material)| Parsed {
            id: id.map(|id| ("the JWK's kid", id)),
            material,
            notes,
        });
    }
    if !object.contains_key(FIELD_PEM) && !object.contains_key(FIELD_JWK) {
        return Err(KeyError::UnknownJson);
    }
    let id = match object.get(FIELD_ID) {
        None => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(_) => return Err(KeyError::NotString { field: FIELD_ID }),
    };
    let string = |field: &'static str| match object.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(KeyError::NotString { field }),
    };
    let (pem, jwk) = (string(FIELD_PEM)?, string(FIELD_JWK)?);
    // Both are read when both are given: a corrupt one is never ignored.
    let from_jwk = match jwk {
        Some(b64) => {
            let bytes = decode_base64(b64, FIELD_JWK)?;
            let value: Value = serde_json::from_slice(&bytes).map_err(|_| KeyError::Content {
                field: FIELD_JWK,
                found: "text that is not JSON",
                expected: "a JWK",
            })?;
            let Value::Object(jwk) = value else {
                return Err(KeyError::Content {
                    field: FIELD_JWK,
                    found: "JSON that is not an object",
                    expected: "a JWK",
                });
            };
            Some(read_jwk(&jwk, &mut notes)?)
        }
        None => None,
    };
    let from_pem = match pem {
        Some(b64) => Some(read_pem(&decode_pem_field(b64, FIELD_PEM)?)?),
        None => None,
    };
    let kid = from_jwk.as_ref().and_then(|(kid, _)| kid.clone());
    if let (Some(id), Some(kid)) = (&id, &kid) {
        if id != kid {
            return Err(KeyError::IdMismatch {
                first_source: "`id`",
                first: id.clone(),
                second_source: "the JWK's kid",
                second: kid.clone(),
            });
        }
    }
    let id = id.map(|id| ("`id`", id)).or(kid.map(|kid| ("the JWK's kid", kid)));
    let material = match (from_pem, from_jwk) {
        (Some(m), _) => m,
        (None, Some((_, m))) => m,
        (None, None) => return Err(KeyError::UnknownJson),
    };
    Ok(Parsed { id, material, notes })
}

fn decode_base64(text: &str, field: &'static str) -> Result<Vec<u8>, KeyError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    // Standard base64 as the API writes it; base64url is accepted too.
    let engine = if compact.contains(['-', '_']) {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
    } else {
        base64::engine::general_purpose::STANDARD_NO_PAD
    };
    engine.decode(compact.trim_end_matches('=')).map_err(|e| KeyError::Base64 {
        field,
        position: match e {
            base64::DecodeError::InvalidByte(i, _)
            | base64::DecodeError::InvalidLastSymbol(i, _) => i + 1,
            _ => 0,
        },
    })
}

fn decode_pem_field(text: &str, field: &'static str) -> Result<String, KeyError> {
    if text.trim_start().starts_with("-----BEGIN") {
        return Ok(text.to_owned());
    }
    let bytes = decode_base64(text, field)?;
    let pem = String::from_utf8(bytes).map_err(|_| KeyError::Content {
        field,
        found: "binary data",
        expected: "a PEM text",
    })?;
    if !pem.contains("-----BEGIN") {
        return Err(KeyError::Content {
            field,
            found: "text without a -----BEGIN line",
            expected: "a PEM key",
        });
    }
    Ok(pem)
}

/// Reads the one key of a PEM text (CRLF, indentation and blank lines
/// allowed).
fn read_pem(text: &str) -> Result<Material, KeyError> {
    let normalised: String =
        text.lines().map(str::trim).filter(|l| !l.is_empty()).flat_map(|l| [l, "\n"]).collect();
    let blocks = pem::parse_many(&normalised).map_err(|e| KeyError::Pem {
        reason: match e {
            pem::PemError::MismatchedTags(b, e) => {
                format!("it begins with {b:?} and ends with {e:?}")
            }
            pem::PemError::MissingEndTag => "the -----END line is missing".into(),
            pem::PemError::MissingBeginTag => "the -----BEGIN line is missing".into(),
            pem::PemError::MissingData => "there is nothing between the BEGIN and END lines".into(),
            pem::PemError::InvalidData(_) => "the text between BEGIN and END is not base64".into(),
            pem::PemError::InvalidHeader(_) => "a header line is malformed".into(),
            _ => "the BEGIN/END framing is broken".into(),
        },
    })?;
    let keys: Vec<&pem::Pem> = blocks.iter().filter(|b| b.tag().ends_with("KEY")).collect();
    let block = match keys.as_slice() {
        [one] => *one,
        [] => match blocks.first() {
            Some(b) => return Err(KeyError::Unsupported { label: b.tag().to_owned() }),
            None => {
                return Err(KeyError::Pem {
                    reason: "there is no -----BEGIN ... KEY----- block".into(),
                })
            }
        },
        many => return Err(KeyError::SeveralKeys { count: many.len() }),
    };
    let der = block.contents();
    match block.tag() {
        "PRIVATE KEY" => private_pkcs8(der),
        "RSA PRIVATE KEY" => {
            if block.headers().get("Proc-Type").is_some_and(|v| v.contains("ENCRYPTED")) {
                return Err(KeyError::Encrypted);
            }
            private_pkcs1(der)
        }
        "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted),
        "PUBLIC KEY" => {
            let spki =
                spki::SubjectPublicKeyInfoRef::try_from(der).map_err(|_| KeyError::Rejected {
                    reason: "the PUBLIC KEY block is not a SubjectPublicKeyInfo".into(),
                })?;
            if spki.algorithm.oid != RSA_ENCRYPTION {
                return Err(KeyError::NotRsa {
                    algorithm: algorithm_name(&spki.algorithm.oid.to_string()),
                });
            }
            let bytes = spki.subject_public_key.as_bytes().ok_or(KeyError::Rejected {
                reason: "the public key's bit string is not whole bytes".into(),
            })?;
            public_pkcs1(bytes)
        }
        "RSA PUBLIC KEY" => public_pkcs1(der),
        other => Err(KeyError::Unsupported { label: other.to_owned() }),
    }
}

fn algorithm_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.2.1" => "an EC key".into(),
        "1.3.101.112" => "an Ed25519 key".into(),
        "1.3.101.113" => "an Ed448 key".into(),
        "1.2.840.10040.4.1" => "a DSA key".into(),
        "1.2.840.113549.1.1.10" => "an RSA-PSS key (RS256 needs rsaEncryption)".into(),
        other => format!("a key of algorithm {other}"),
    }
}

fn private_pkcs8(der: &[u8]) -> Result<Material, KeyError> {
    let info = pkcs8::PrivateKeyInfo::try_from(der)
        .map_err(|_| KeyError::Rejected { reason: "the PRIVATE KEY block is not PKCS#8".into() })?;
    if info.algorithm.oid != RSA_ENCRYPTION {
        return Err(KeyError::NotRsa {
            algorithm: algorithm_name(&info.algorithm.oid.to_string()),
        });
    }
    let pkcs1 = info.private_key;
    size_check(pkcs1::RsaPrivateKey::try_from(pkcs1).ok().map(|k| k.modulus.as_bytes()))?;
    RsaKeyPair::from_pkcs8(der).map(|p| Material::Private(Box::new(p))).map_err(rejected)
}

fn private_pkcs1(der: &[u8]) -> Result<Material, KeyError> {
    size_check(pkcs1::RsaPrivateKey::try_from(der).ok().map(|k| k.modulus.as_bytes()))?;
    RsaKeyPair::from_der(der).map(|p| Material::Private(Box::new(p))).map_err(rejected)
}

fn public_pkcs1(der: &[u8]) -> Result<Material, KeyError> {
    let key = pkcs1::RsaPublicKey::try_from(der).map_err(|_| KeyError::Rejected {
        reason: "the public key is not a PKCS#1 RSAPublicKey".into(),
    })?;
    public(key.modulus.as_bytes().to_vec(), key.public_exponent.as_bytes().to_vec())
}

fn public(n: Vec<u8>, e: Vec<u8>) -> Result<Material, KeyError> {
    size_check(Some(&n))?;
    let bits = modulus_bits(&n);
    if bits > 8192 {
        return Err(KeyError::Rejected {
            reason: format!("the modulus is {bits} bits, more than 8192"),
        });
    }
    Ok(Material::Public { n, e })
}

fn size_check(modulus: Option<&[u8]>) -> Result<(), KeyError> {
    match modulus.map(modulus_bits) {
        Some(bits) if bits < MIN_KEY_BITS => Err(KeyError::TooSmall { bits }),
        _ => Ok(()),
    }
}

fn rejected(e: ring::error::KeyRejected) -> KeyError {
    KeyError::Rejected { reason: e.to_string() }
}

/// Reads an RSA JWK: its `kid` and its material.
fn read_jwk(
    jwk: &Map<String, Value>,
    notes: &mut Vec<KeyNote>,
) -> Result<(Option<String>, Material), KeyError> {
    let text = |member: &'static str| -> Result<Option<&str>, KeyError> {
        match jwk.get(member) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(KeyError::JwkMember { member, problem: "not a string" }),
        }
    };
    match text("kty")? {
        Some("RSA") => {}
        Some(other) => {
            return Err(KeyError::NotRsa { algorithm: format!("a JWK of kty {other:?}") })
        }
        None => return Err(KeyError::JwkMember { member: "kty", problem: "missing" }),
    }
    match text("use")? {
        None | Some("sig") => {}
        Some(value) => return Err(KeyError::JwkUse { value: value.to_owned() }),
    }
    match text("alg")? {
        Some("RS256") => {}
        None => notes.push(KeyNote::AlgAssumed),
        Some(alg) => return Err(KeyError::JwkAlg { alg: alg.to_owned() }),
    }
    if jwk.contains_key("oth") {
        return Err(KeyError::JwkMultiPrime);
    }
    let kid = text("kid")?.map(str::to_owned);
    let number = |member: &'static str| -> Result<Vec<u8>, KeyError> {
        let s = text(member)?.ok_or(KeyError::JwkMember { member, problem: "missing" })?;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .map_err(|_| KeyError::JwkMember { member, problem: "not base64url" })
    };
    let (n, e) = (number("n")?, number("e")?);
    if !jwk.contains_key("d") {
        return public(n, e).map(|m| (kid, m));
    }
    size_check(Some(&n))?;
    let (d, p, q, dp, dq, qi) =
        (number("d")?, number("p")?, number("q")?, number("dp")?, number("dq")?, number("qi")?);
    let components = ring::rsa::KeyPairComponents {
        public_key: ring::rsa::PublicKeyComponents { n: &n, e: &e },
        d: &d,
        p: &p,
        q: &q,
        dP: &dp,
        dQ: &dq,
        qInv: &qi,
    };
    let pair = RsaKeyPair::from_components(&components).map_err(rejected)?;
    Ok((kid, Material::Private(Box::new(pair))))
}

/// The `pem` check of validation: base64 of a PEM RSA private key that
/// this reader accepts (the same parser as signing).
pub(crate) fn check_pem_field(pem: &str) -> Result<(), KeyError> {
    let text = decode_pem_field_strict(pem)?;
    match read_pem(&text)? {
        Material::Private(_) => Ok(()),
        Material::Public { .. } => Err(KeyError::PublicKey),
    }
}

fn decode_pem_field_strict(pem: &str) -> Result<String, KeyError> {
    let bytes = decode_base64(pem, FIELD_PEM)?;
    let text = String::from_utf8(bytes).map_err(|_| KeyError::Content {
        field: FIELD_PEM,
        found: "binary data",
        expected: "a PEM text",
    })?;
    if !text.contains("-----BEGIN") {
        return Err(KeyError::Content {
            field: FIELD_PEM,
            found: "text without a -----BEGIN line",
            expected: "a PEM key",
        });
    }
    Ok(text)
}
