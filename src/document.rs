//! Reading a rule document in any of the four input forms of docs/semantics.md.

use base64::Engine;

use crate::diagnostic::{Code, Diagnostic, Location, Severity};
use crate::syntax::json::{self, LineIndex, Node, NodeKind, Span, SyntaxErrorKind};
use crate::syntax::token::{self, TokenSource};

/// Bounds on what is read, so no input allocates or recurses without bound
/// (docs/semantics.md, fuzz/README.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest document accepted, in bytes (default 1 MiB, docs/semantics.md). For a
    /// JWT this bounds the token text.
    pub max_document_bytes: usize,
    /// Deepest nesting of arrays and objects (default 32; a valid document
    /// needs 3).
    pub max_depth: usize,
    /// Most entries in one rule's `ip` or `country` list (default 100 000).
    pub max_entries_per_rule: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_document_bytes: 1 << 20, max_depth: 32, max_entries_per_rule: 100_000 }
    }
}

/// Which of the four input forms a document is (docs/semantics.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputForm {
    /// A bare JSON array of rules.
    RuleArray,
    /// A token request body: `{id?, pem?, exp?, nbf?, downloadable?, accessRules?}`.
    TokenRequest,
    /// A signed-token payload: the body fields plus `sub` and `kid`.
    TokenPayload,
    /// A JWT (`header.payload.signature`, base64url), bare, after
    /// `Bearer ` or quoted as a JSON string; its payload is a
    /// [`InputForm::TokenPayload`]. The signature is not checked.
    Jwt,
    /// The response of the token API,
    /// `{"result": {"token": "eyJ…"}, "success": true, …}`: the JWT in
    /// `result.token` is read as for [`InputForm::Jwt`].
    TokenResponse,
    /// A playback URL or path holding a signed token in place of the video
    /// id (`https://customer-<code>.cloudflarestream.com/<TOKEN>/manifest/video.m3u8`,
    /// `…/iframe`, `…/thumbnails/thumbnail.jpg`, `…/watch`): the JWT is read
    /// as for [`InputForm::Jwt`].
    PlaybackUrl,
}

impl InputForm {
    /// A short name: `rule array`, `token request body`, `token payload`, `JWT`.
    pub fn describe(self) -> &'static str {
        match self {
            InputForm::RuleArray => "rule array",
            InputForm::TokenRequest => "token request body",
            InputForm::TokenPayload => "token payload",
            InputForm::Jwt => "JWT",
            InputForm::TokenResponse => "token API response",
            InputForm::PlaybackUrl => "playback URL",
        }
    }

    /// Whether the document is an already signed token (a JWT, however it
    /// was pasted): its time findings are warnings and its positions refer
    /// to the decoded payload.
    pub fn is_signed_token(self) -> bool {
        matches!(self, InputForm::Jwt | InputForm::TokenResponse | InputForm::PlaybackUrl)
    }
}

/// A parsed rule document: its form, the JSON text positions refer to (for
/// a JWT, the decoded payload), and the value tree with spans.
#[derive(Clone, Debug)]
pub struct Document {
    form: InputForm,
    source: String,
    pub(crate) root: Node,
    lines: LineIndex,
}

impl Document {
    /// Reads `input` (UTF-8, an optional byte-order mark) as a rule document.
    ///
    /// # Errors
    ///
    /// One diagnostic: `document-too-large`, `not-utf8`, `invalid-jwt`,
    /// `json-syntax` (naming trailing commas, comments, single quotes, with
    /// line and column) or `nesting-too-deep`.
    pub fn parse(input: &[u8], limits: &Limits) -> Result<Document, Box<Diagnostic>> {
        if input.len() > limits.max_document_bytes {
            return Err(Box::new(root_error(
                Code::DocumentTooLarge,
                format!(
                    "the document is larger than the limit of {} bytes; it was not read",
                    limits.max_document_bytes
                ),
                Some("raise the limit (`--max-bytes`, `Limits::max_document_bytes`) if it is meant to be this large".into()),
            )));
        }
        let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
        let text = match std::str::from_utf8(input) {
            Ok(t) => t,
            Err(e) => {
                let valid = &input[..e.valid_up_to()];
                let text = std::str::from_utf8(valid).unwrap_or_default();
                let (line, column) = LineIndex::new(text).line_column(text, text.len());
                let mut d = root_error(
                    Code::NotUtf8,
                    format!(
                        "the input is not UTF-8 (invalid byte 0x{:02x})",
                        input[e.valid_up_to()]
                    ),
                    Some("save the file as UTF-8".into()),
                );
                d.location.line = Some(line);
                d.location.column = Some(column);
                return Err(Box::new(d));
            }
        };
        if let Some((payload, form)) = token_payload(text)? {
            return Document::from_json(payload, form, limits);
        }
        Document::from_json(text.to_owned(), InputForm::RuleArray, limits)
    }

    pub(crate) fn from_json(
        source: String,
        form: InputForm,
        limits: &Limits,
    ) -> Result<Document, Box<Diagnostic>> {
        let lines = LineIndex::new(&source);
        let root = match json::parse(&source, limits.max_depth) {
            Ok(root) => root,
            Err(e) => {
                let (line, column) = lines.line_column(&source, e.offset);
                let (code, help) = match &e.kind {
                    SyntaxErrorKind::TooDeep(_) => (Code::NestingTooDeep, None),
                    SyntaxErrorKind::TrailingComma => (
                        Code::JsonSyntax,
                        Some("remove the comma after the last element".to_owned()),
                    ),
                    SyntaxErrorKind::Comment => {
                        (Code::JsonSyntax, Some("remove the comment".to_owned()))
                    }
                    SyntaxErrorKind::SingleQuote | SyntaxErrorKind::UnquotedKey => (
                        Code::JsonSyntax,
                        Some("JSON strings and keys use double quotes".to_owned()),
                    ),
                    _ => (Code::JsonSyntax, None),
                };
                let what = if form.is_signed_token() { "JWT payload" } else { "JSON" };
                // The character at the error (whole, never part of one).
                let end = source
                    .get(e.offset..)
                    .and_then(|rest| rest.chars().next())
                    .map_or(source.len(), |c| e.offset + c.len_utf8());
                return Err(Box::new(Diagnostic {
                    severity: Severity::Error,
                    code,
                    location: Location {
                        path: String::new(),
                        span: Some(Span::new(e.offset, end.max(e.offset))),
                        line: Some(line),
                        column: Some(column),
                    },
                    message: format!(
                        "{what} syntax error at line {line}, column {column}: {}",
                        e.kind
                    ),
                    help,
                    related: vec![],
                }));
            }
        };
        let form = match (&root.kind, form) {
            (NodeKind::Object(members), InputForm::RuleArray) => {
                if members.iter().any(|m| m.key == "sub" || m.key == "kid") {
                    InputForm::TokenPayload
                } else {
                    InputForm::TokenRequest
                }
            }
            (_, form) => form,
        };
        Ok(Document { form, source, root, lines })
    }

    /// The input form.
    pub fn form(&self) -> InputForm {
        self.form
    }

    /// The JSON text that spans, lines and columns refer to: the input
    /// itself, or the decoded payload of a JWT.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The location of a value: pointer plus span, line and column.
    pub(crate) fn location(&self, path: String, span: Span) -> Location {
        let (line, column) = self.lines.line_column(&self.source, span.start);
        Location { path, span: Some(span), line: Some(line), column: Some(column) }
    }
}

/// The text that the positions of a parse error refer to: the input (after
/// a byte-order mark) or a JWT's decoded payload; `None` when not UTF-8.
pub(crate) fn source_text(input: &[u8]) -> Option<String> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let text = std::str::from_utf8(input).ok()?;
    match token_payload(text) {
        Ok(Some((payload, _))) => Some(payload),
        Ok(None) => Some(text.to_owned()),
        Err(_) => None,
    }
}

fn root_error(code: Code, message: String, help: Option<String>) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        code,
        location: Location { path: String::new(), span: None, line: None, column: None },
        message,
        help,
        related: vec![],
    }
}

/// The decoded payload and the form when `text` is a JWT or holds one (an
/// API response, a playback URL, a quoted token: [`token::extract_token`]).
fn token_payload(text: &str) -> Result<Option<(String, InputForm)>, Box<Diagnostic>> {
    let Some(found) = token::extract_token(text) else {
        return Ok(jwt_payload(text)?.map(|p| (p, InputForm::Jwt)));
    };
    let form = match found.source {
        TokenSource::ApiResponse => InputForm::TokenResponse,
        TokenSource::Url => InputForm::PlaybackUrl,
        TokenSource::QuotedString => InputForm::Jwt,
    };
    match jwt_payload(&found.token)? {
        Some(payload) => Ok(Some((payload, form))),
        None => Err(Box::new(root_error(
            Code::InvalidJwt,
            format!(
                "the {} holds a token that is not a JWT ({} bytes, not header.payload.signature)",
                form.describe(),
                found.token.len()
            ),
            Some("paste the whole token, header.payload.signature, unchanged".into()),
        ))),
    }
}

/// The decoded payload when `text` is a JWT (three base64url segments
/// joined by `.`), `None` when it does not look like one.
fn jwt_payload(text: &str) -> Result<Option<String>, Box<Diagnostic>> {
    let mut t = text.trim();
    // An `Authorization` header value pasted whole.
    if let Some(rest) = t.get(..7).filter(|p| p.eq_ignore_ascii_case("bearer ")).and(t.get(7..)) {
        t = rest.trim_start();
    }
    let is_b64url = |s: &str| {
        s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
    };
    // A JWT header is a JSON object, so its base64url starts with `eyJ`.
    if !t.starts_with("eyJ") || !t.contains('.') {
        return Ok(None);
    }
    let segments: Vec<&str> = t.split('.').collect();
    if segments.len() != 3 {
        let all_b64 = segments.iter().all(|s| is_b64url(s));
        if !all_b64 {
            return Ok(None);
        }
        return Err(Box::new(root_error(
            Code::InvalidJwt,
            format!(
                "this looks like a JWT but has {} dot-separated segments; a JWT has 3",
                segments.len()
            ),
            Some("paste the whole token, header.payload.signature, unchanged".into()),
        )));
    }
    if segments[0].is_empty() || !is_b64url(segments[0]) {
        return Ok(None);
    }
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let decode = |i: usize, name: &str| -> Result<String, Box<Diagnostic>> {
        let seg = segments[i].trim_end_matches('=');
        let bytes = engine.decode(seg).map_err(|e| {
            Box::new(root_error(
                Code::InvalidJwt,
                format!("the JWT {name} is not base64url: {e}"),
                Some("paste the whole token, header.payload.signature, unchanged".into()),
            ))
        })?;
        String::from_utf8(bytes).map_err(|_| {
            Box::new(root_error(
                Code::InvalidJwt,
                format!("the JWT {name} does not decode to UTF-8 text"),
                None,
            ))
        })
    };
    let header = decode(0, "header")?;
    if !header.trim_start().starts_with('{') {
        return Err(Box::new(root_error(
            Code::InvalidJwt,
            "the JWT header is not a JSON object".into(),
            None,
        )));
    }
    decode(1, "payload").map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Document, Box<Diagnostic>> {
        Document::parse(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn detects_forms() {
        assert_eq!(parse("[]").unwrap().form(), InputForm::RuleArray);
        assert_eq!(parse(r#"{"exp": 1}"#).unwrap().form(), InputForm::TokenRequest);
        assert_eq!(parse(r#"{"sub": "abc", "kid": "k"}"#).unwrap().form(), InputForm::TokenPayload);
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"RS256","kid":"k"}"#),
            b64(r#"{"sub":"v","accessRules":[]}"#)
        );
        let doc = parse(&format!("{jwt}\n")).unwrap();
        assert_eq!(doc.form(), InputForm::Jwt);
        assert_eq!(parse(&format!("Bearer {jwt}")).unwrap().form(), InputForm::Jwt);
        assert!(parse("[\"bearé\"]").is_ok(), "multi-byte text near the prefix");
        assert!(parse("béarer x").is_err());
        assert_eq!(doc.source(), r#"{"sub":"v","accessRules":[]}"#);
    }

    #[test]
    fn accepts_a_byte_order_mark() {
        assert!(Document::parse(b"\xEF\xBB\xBF[]", &Limits::default()).is_ok());
    }

    #[test]
    fn refuses_oversized_and_non_utf8() {
        let limits = Limits { max_document_bytes: 10, ..Limits::default() };
        let e = Document::parse(b"[          ]", &limits).unwrap_err();
        assert_eq!(e.code, Code::DocumentTooLarge);
        let e = Document::parse(b"[\n\"\xff\"]", &Limits::default()).unwrap_err();
        assert_eq!(e.code, Code::NotUtf8);
        assert_eq!((e.location.line, e.location.column), (Some(2), Some(2)));
    }

    #[test]
    fn syntax_errors_say_json_with_line_and_column() {
        let e = parse("[\n  {\"type\": \"any\", \"action\": \"block\"},\n]").unwrap_err();
        assert_eq!(e.code, Code::JsonSyntax);
        assert_eq!((e.location.line, e.location.column), (Some(2), Some(37)));
        assert!(
            e.message.contains("JSON syntax error") && e.message.contains("trailing comma"),
            "{}",
            e.message
        );
        let e = parse(&"[".repeat(1000)).unwrap_err();
        assert_eq!(e.code, Code::NestingTooDeep);
    }

    #[test]
    fn bad_jwt_segments() {
        let e = parse("eyJhbGciOiJSUzI1NiJ9.@@@.sig").unwrap_err();
        assert_eq!(e.code, Code::InvalidJwt);
        let e = parse("eyJhbGciOiJSUzI1NiJ9.eyJhIjox.sig").unwrap_err();
        assert_eq!(e.code, Code::JsonSyntax, "payload {{\"a\":1 is cut short");
        let e = parse("eyJhbGciOiJSUzI1NiJ9.e.sig").unwrap_err();
        assert_eq!(e.code, Code::InvalidJwt);
        let e = parse("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJhIjoxfQ").unwrap_err();
        assert_eq!(e.code, Code::InvalidJwt, "two segments");
        let e = parse("eyJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ.c2ln.eHg").unwrap_err();
        assert_eq!(e.code, Code::InvalidJwt, "four segments");
    }
}
