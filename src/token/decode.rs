//! Splitting a token into its three segments and decoding them, strictly:
//! a character base64url does not have is refused with its position and
//! reason, never left for the signature check to reject.

use std::fmt;

use base64::Engine;
use serde_json::{Map, Value};

use crate::document::Limits;
use crate::syntax::json::{self, NodeKind};

/// One of the three dot-separated parts of a JWT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Segment {
    /// The first: the header JSON.
    Header,
    /// The second: the payload JSON.
    Payload,
    /// The third: the signature bytes.
    Signature,
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Segment::Header => "header",
            Segment::Payload => "payload",
            Segment::Signature => "signature",
        })
    }
}

/// Why a text is not a well-formed JWT. Positions are 1-based character
/// columns in the token after surrounding whitespace is trimmed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedToken {
    /// Nothing but whitespace.
    #[error("the token is empty")]
    Empty,
    /// Longer than the document size limit.
    #[error("the token is {len} bytes, more than the limit of {limit}")]
    TooLarge {
        /// Its length in bytes.
        len: usize,
        /// The limit ([`Limits::max_document_bytes`]).
        limit: usize,
    },
    /// Not three segments.
    #[error(
        "the token has {found} dot-separated segments; a JWT has 3 (header.payload.signature)"
    )]
    SegmentCount {
        /// How many there are.
        found: usize,
    },
    /// A segment with no characters.
    #[error("the token's {segment} is empty")]
    EmptySegment {
        /// Which one.
        segment: Segment,
    },
    /// `=` padding, which base64url in a JWT leaves out (RFC 7515 section 2).
    #[error("the token's {segment} has `=` padding at column {position}; JWT segments are base64url without padding")]
    Padding {
        /// Which segment.
        segment: Segment,
        /// Column of the first `=`.
        position: usize,
    },
    /// `+` or `/`: standard base64 instead of base64url.
    #[error("the token's {segment} has {character:?} at column {position}: standard base64, not base64url (which writes - and _)")]
    StandardBase64 {
        /// Which segment.
        segment: Segment,
        /// Column of the character.
        position: usize,
        /// `+` or `/`.
        character: char,
    },
    /// Whitespace inside the token (a line break from a copy, a space).
    #[error(
        "the token's {segment} has whitespace at column {position}; a token is one unbroken line"
    )]
    Whitespace {
        /// Which segment.
        segment: Segment,
        /// Column of the whitespace.
        position: usize,
    },
    /// Any other character outside base64url.
    #[error(
        "the token's {segment} has {character:?} at column {position}, which is not base64url"
    )]
    BadCharacter {
        /// Which segment.
        segment: Segment,
        /// Column of the character.
        position: usize,
        /// The character.
        character: char,
    },
    /// A length base64 cannot have, or non-zero trailing bits.
    #[error("the token's {segment} is not valid base64url ({reason})")]
    Base64 {
        /// Which segment.
        segment: Segment,
        /// What is wrong, without the segment's content.
        reason: &'static str,
    },
    /// The header or payload does not decode to UTF-8 text.
    #[error("the token's {segment} does not decode to UTF-8 text")]
    NotUtf8 {
        /// Which segment.
        segment: Segment,
    },
    /// The header or payload is not a JSON object.
    #[error("the token's {segment} is not a JSON object: {reason}")]
    NotObject {
        /// Which segment.
        segment: Segment,
        /// The JSON error, or what value it is instead.
        reason: String,
    },
    /// A member written twice, which readers resolve differently.
    #[error("the token's {segment} has the member {name:?} more than once")]
    DuplicateMember {
        /// Which segment.
        segment: Segment,
        /// The member.
        name: String,
    },
}

/// A token split and decoded, its signature not checked.
#[derive(Clone, Debug)]
pub struct DecodedToken {
    text: String,
    signing_input_len: usize,
    header: Map<String, Value>,
    payload: Map<String, Value>,
    payload_json: String,
    signature: Vec<u8>,
}

impl DecodedToken {
    /// The token as read (whitespace around it trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `header.payload` exactly as received: the bytes the signature is over.
    pub fn signing_input(&self) -> &[u8] {
        &self.text.as_bytes()[..self.signing_input_len]
    }

    /// The header's members.
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// The payload's members.
    pub fn payload(&self) -> &Map<String, Value> {
        &self.payload
    }

    /// The payload as the JSON text it decodes to.
    pub fn payload_json(&self) -> &str {
        &self.payload_json
    }

    /// The signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The header's `alg`, when it is a string.
    pub fn algorithm(&self) -> Option<&str> {
        self.header.get("alg").and_then(Value::as_str)
    }

    /// The header's `kid`, when it is a string.
    pub fn key_id(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }
}

/// Splits and decodes `token` (surrounding whitespace trimmed) without
/// checking its signature.
///
/// # Errors
///
/// [`MalformedToken`]: not three segments, a character outside base64url
/// (with its column), a header or payload that is not a JSON object or
/// has a member twice, or longer than `limits.max_document_bytes`.
pub fn decode(token: &str, limits: &Limits) -> Result<DecodedToken, MalformedToken> {
    let text = token.trim();
    if text.is_empty() {
        return Err(MalformedToken::Empty);
    }
    if text.len() > limits.max_document_bytes {
        return Err(MalformedToken::TooLarge { len: text.len(), limit: limits.max_document_bytes });
    }
    let parts: Vec<(usize, &str)> = {
        let mut start = 0;
        let mut v = Vec::with_capacity(3);
        for (i, b) in text.bytes().enumerate() {
            if b == b'.' {
                v.push((start, &text[start..i]));
                start = i + 1;
            }
        }
        v.push((start, &text[start..]));
        v
    };
    if parts.len() != 3 {
        return Err(MalformedToken::SegmentCount { found: parts.len() });
    }
    let segments = [Segment::Header, Segment::Payload, Segment::Signature];
    let mut decoded: Vec<Vec<u8>> = Vec::with_capacity(3);
    for (&(offset, part), &segment) in parts.iter().zip(&segments) {
        check_alphabet(text, offset, part, segment)?;
        decoded.push(decode_segment(part, segment)?);
    }
    let signature = decoded.pop().unwrap_or_default();
    let payload_bytes = decoded.pop().unwrap_or_default();
    let header_bytes = decoded.pop().unwrap_or_default();
    let (header, _) = object(header_bytes, Segment::Header, limits)?;
    let (payload, payload_json) = object(payload_bytes, Segment::Payload, limits)?;
    Ok(DecodedToken {
        signing_input_len: parts[2].0 - 1,
        text: text.to_owned(),
        header,
        payload,
        payload_json,
        signature,
    })
}

fn check_alphabet(
    text: &str,
    offset: usize,
    part: &str,
    segment: Segment,
) -> Result<(), MalformedToken> {
    if part.is_empty() {
        return Err(MalformedToken::EmptySegment { segment });
    }
    let bad =
        part.char_indices().find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'));
    let Some((i, character)) = bad else { return Ok(()) };
    let position = text[..offset + i].chars().count() + 1;
    Err(match character {
        '=' => MalformedToken::Padding { segment, position },
        '+' | '/' => MalformedToken::StandardBase64 { segment, position, character },
        c if c.is_whitespace() => MalformedToken::Whitespace { segment, position },
        character => MalformedToken::BadCharacter { segment, position, character },
    })
}

fn decode_segment(part: &str, segment: Segment) -> Result<Vec<u8>, MalformedToken> {
    // Only the alphabet is left to check: a length of 4n+1, or non-zero
    // bits after the last byte.
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).map_err(|e| {
        let reason = match e {
            base64::DecodeError::InvalidLength(_) => "its length is not one base64 can have",
            base64::DecodeError::InvalidLastSymbol(..) => {
                "its last character has bits set past the end"
            }
            _ => "it is not base64url",
        };
        MalformedToken::Base64 { segment, reason }
    })
}

fn object(
    bytes: Vec<u8>,
    segment: Segment,
    limits: &Limits,
) -> Result<(Map<String, Value>, String), MalformedToken> {
    let text = String::from_utf8(bytes).map_err(|_| MalformedToken::NotUtf8 { segment })?;
    // The project's own reader first: bounded depth, and it keeps
    // duplicate members, which serde_json would silently overwrite.
    let node = json::parse(&text, limits.max_depth)
        .map_err(|e| MalformedToken::NotObject { segment, reason: e.kind.to_string() })?;
    let NodeKind::Object(members) = &node.kind else {
        return Err(MalformedToken::NotObject {
            segment,
            reason: format!("it is {}", node.kind.type_name()),
        });
    };
    let mut seen = std::collections::HashSet::new();
    if let Some(m) = members.iter().find(|m| !seen.insert(m.key.as_str())) {
        return Err(MalformedToken::DuplicateMember { segment, name: m.key.clone() });
    }
    let map: Map<String, Value> = serde_json::from_str(&text)
        .map_err(|e| MalformedToken::NotObject { segment, reason: e.to_string() })?;
    Ok((map, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64(payload))
    }

    fn err(t: &str) -> MalformedToken {
        decode(t, &Limits::default()).unwrap_err()
    }

    #[test]
    fn decodes_and_keeps_the_signing_input() {
        let t = token(r#"{"alg":"RS256","kid":"k"}"#, r#"{"sub":"v"}"#);
        let d = decode(&format!("  {t}\n"), &Limits::default()).unwrap();
        assert_eq!(d.algorithm(), Some("RS256"));
        assert_eq!(d.key_id(), Some("k"));
        assert_eq!(d.payload()["sub"], "v");
        assert_eq!(d.signature(), b"sig");
        assert_eq!(d.signing_input(), t.rsplit_once('.').unwrap().0.as_bytes());
    }

    #[test]
    fn refuses_each_malformation_with_its_position() {
        let t = token(r#"{"alg":"RS256"}"#, r#"{"sub":"v"}"#);
        let (h, rest) = t.split_once('.').unwrap();
        let col = h.len() + 2; // first character of the payload
        assert_eq!(err(""), MalformedToken::Empty);
        assert_eq!(err(h), MalformedToken::SegmentCount { found: 1 });
        assert_eq!(err(&format!("{t}.x")), MalformedToken::SegmentCount { found: 4 });
        assert_eq!(
            err(&format!("{h}..c2ln")),
            MalformedToken::EmptySegment { segment: Segment::Payload }
        );
        assert_eq!(
            err(&format!("{h}.={rest}")),
            MalformedToken::Padding { segment: Segment::Payload, position: col }
        );
        assert_eq!(
            err(&format!("{h}.+{rest}")),
            MalformedToken::StandardBase64 {
                segment: Segment::Payload,
                position: col,
                character: '+'
            }
        );
        assert_eq!(
            err(&format!("{t}/")),
            MalformedToken::StandardBase64 {
                segment: Segment::Signature,
                position: t.len() + 1,
                character: '/'
            }
        );
        assert_eq!(
            err(&format!("{h}. {rest}")),
            MalformedToken::Whitespace { segment: Segment::Payload, position: col }
        );
        assert_eq!(
            err(&format!("{h}\n.{rest}")),
            MalformedToken::Whitespace { segment: Segment::Header, position: h.len() + 1 }
        );
        assert_eq!(
            err(&format!("{h}.é{rest}")),
            MalformedToken::BadCharacter {
                segment: Segment::Payload,
                position: col,
                character: 'é'
            }
        );
        assert!(matches!(
            err(&format!("{h}.{rest}x")),
            MalformedToken::Base64 { segment: Segment::Signature, .. }
        ));
        let limits = Limits { max_document_bytes: 8, ..Limits::default() };
        assert!(matches!(decode(&t, &limits), Err(MalformedToken::TooLarge { .. })));
    }

    #[test]
    fn header_and_payload_are_json_objects_without_duplicates() {
        let e = err(&token("[]", "{}"));
        assert!(matches!(e, MalformedToken::NotObject { segment: Segment::Header, .. }));
        let e = err(&token("{}", "{\"a\":"));
        assert!(matches!(e, MalformedToken::NotObject { segment: Segment::Payload, .. }));
        let e = err(&token(r#"{"alg":"none","alg":"RS256"}"#, "{}"));
        assert_eq!(
            e,
            MalformedToken::DuplicateMember { segment: Segment::Header, name: "alg".into() }
        );
        let e = err(&format!(
            "{}.{}.c2ln",
            b64("{}"),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xff, 0xfe])
        ));
        assert_eq!(e, MalformedToken::NotUtf8 { segment: Segment::Payload });
    }
}
