//! A strict JSON (RFC 8259) parser that keeps the byte span of every value.
//!
//! `serde_json` drops positions once a value is built, and the diagnostics
//! of docs/diagnostics.md need the line and column of any value, so rule documents are
//! read with this small parser instead. It is iterative in nothing but is
//! depth-limited ([`Limits::max_depth`]), so no input recurses without
//! bound, and it names the usual mistakes of hand-written JSON (trailing
//! commas, comments, single quotes, unquoted keys) in its errors.

use std::fmt;

/// A byte range `start..end` in the source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// The span `start..end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
}

/// A JSON value with its span.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub span: Span,
    pub kind: NodeKind,
}

/// The value of a [`Node`]. Numbers keep their source text so that
/// `1767229200000` and `1.5` can be told apart exactly.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum NodeKind {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Node>),
    Object(Vec<Member>),
}

/// One `"key": value` pair of an object, in source order (duplicates kept).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Member {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

impl NodeKind {
    /// The JSON type name, as used in messages: `a string`, `an array`, ….
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Number(_) => "a number",
            NodeKind::String(_) => "a string",
            NodeKind::Array(_) => "an array",
            NodeKind::Object(_) => "an object",
        }
    }
}

/// A JSON syntax error: what is wrong and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub kind: SyntaxErrorKind,
    pub offset: usize,
}

/// The kinds of syntax error, named so users recognise their mistake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SyntaxErrorKind {
    Empty,
    TrailingComma,
    Comment,
    SingleQuote,
    UnquotedKey,
    Unexpected(char),
    UnexpectedEnd,
    TrailingCharacters,
    BadNumber,
    BadEscape,
    ControlCharacter,
    BadSurrogate,
    TooDeep(usize),
    NonStandardLiteral(String),
}

impl fmt::Display for SyntaxErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyntaxErrorKind::Empty => write!(f, "the document is empty"),
            SyntaxErrorKind::TrailingComma => {
                write!(f, "trailing comma: JSON allows no comma after the last element")
            }
            SyntaxErrorKind::Comment => write!(f, "comment: JSON has no comments"),
            SyntaxErrorKind::SingleQuote => {
                write!(f, "single quote: JSON strings use double quotes")
            }
            SyntaxErrorKind::UnquotedKey => {
                write!(f, "unquoted key: JSON object keys are double-quoted strings")
            }
            SyntaxErrorKind::Unexpected(c) => write!(f, "unexpected character {c:?}"),
            SyntaxErrorKind::UnexpectedEnd => write!(f, "unexpected end of input"),
            SyntaxErrorKind::TrailingCharacters => {
                write!(f, "unexpected text after the JSON value")
            }
            SyntaxErrorKind::BadNumber => write!(f, "malformed number"),
            SyntaxErrorKind::BadEscape => write!(f, "invalid escape sequence in a string"),
            SyntaxErrorKind::ControlCharacter => {
                write!(f, "control character in a string (escape it, e.g. \\n)")
            }
            SyntaxErrorKind::BadSurrogate => write!(f, "invalid \\u surrogate pair in a string"),
            SyntaxErrorKind::TooDeep(max) => write!(f, "nesting deeper than {max} levels"),
            SyntaxErrorKind::NonStandardLiteral(w) => {
                write!(f, "{w:?} is not JSON (values are true, false, null, numbers, strings, arrays, objects)")
            }
        }
    }
}

/// Parses `text` as one JSON value, nesting at most `max_depth` arrays and
/// objects deep.
pub(crate) fn parse(text: &str, max_depth: usize) -> Result<Node, SyntaxError> {
    let mut p = Parser { src: text.as_bytes(), pos: 0, max_depth };
    p.skip_ws()?;
    if p.pos == p.src.len() {
        return Err(p.err(SyntaxErrorKind::Empty));
    }
    let node = p.value(0)?;
    p.skip_ws()?;
    if p.pos != p.src.len() {
        return Err(p.err(SyntaxErrorKind::TrailingCharacters));
    }
    Ok(node)
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl Parser<'_> {
    fn err(&self, kind: SyntaxErrorKind) -> SyntaxError {
        SyntaxError { kind, offset: self.pos }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    /// Skips white space; a `/` here starts a comment, which JSON lacks.
    fn skip_ws(&mut self) -> Result<(), SyntaxError> {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                b'/' if matches!(self.src.get(self.pos + 1), Some(b'/' | b'*')) => {
                    return Err(self.err(SyntaxErrorKind::Comment))
                }
                _ => break,
            }
        }
        Ok(())
    }

    fn unexpected(&self) -> SyntaxError {
        match self.peek() {
            None => self.err(SyntaxErrorKind::UnexpectedEnd),
            Some(b'\'') => self.err(SyntaxErrorKind::SingleQuote),
            Some(b'/') => self.err(SyntaxErrorKind::Comment),
            Some(_) => {
                let rest = std::str::from_utf8(&self.src[self.pos..]).unwrap_or("");
                let c = rest.chars().next().unwrap_or('\u{fffd}');
                self.err(SyntaxErrorKind::Unexpected(c))
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        let start = self.pos;
        let kind = match self.peek() {
            Some(b'{') => self.object(depth + 1)?,
            Some(b'[') => self.array(depth + 1)?,
            Some(b'"') => NodeKind::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(b't') => self.literal("true", NodeKind::Bool(true))?,
            Some(b'f') => self.literal("false", NodeKind::Bool(false))?,
            Some(b'n') => self.literal("null", NodeKind::Null)?,
            Some(b) if b.is_ascii_alphabetic() => {
                let word = self.word();
                return Err(SyntaxError {
                    kind: SyntaxErrorKind::NonStandardLiteral(word),
                    offset: start,
                });
            }
            _ => return Err(self.unexpected()),
        };
        Ok(Node { span: Span::new(start, self.pos), kind })
    }

    fn word(&self) -> String {
        let end = self.src[self.pos..]
            .iter()
            .position(|b| !b.is_ascii_alphanumeric() && *b != b'_')
            .map_or(self.src.len(), |n| self.pos + n);
        String::from_utf8_lossy(&self.src[self.pos..end.min(self.pos + 40)]).into_owned()
    }

    fn literal(&mut self, word: &str, kind: NodeKind) -> Result<NodeKind, SyntaxError> {
        if self.src[self.pos..].starts_with(word.as_bytes())
            && !self.src.get(self.pos + word.len()).is_some_and(|b| b.is_ascii_alphanumeric())
        {
            self.pos += word.len();
            Ok(kind)
        } else {
            Err(self.err(SyntaxErrorKind::NonStandardLiteral(self.word())))
        }
    }

    fn enter(&self, depth: usize) -> Result<(), SyntaxError> {
        if depth > self.max_depth {
            Err(self.err(SyntaxErrorKind::TooDeep(self.max_depth)))
        } else {
            Ok(())
        }
    }

    fn array(&mut self, depth: usize) -> Result<NodeKind, SyntaxError> {
        self.enter(depth)?;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws()?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(NodeKind::Array(items));
        }
        loop {
            self.skip_ws()?;
            items.push(self.value(depth)?);
            if self.element_end(b']')? {
                return Ok(NodeKind::Array(items));
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<NodeKind, SyntaxError> {
        self.enter(depth)?;
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_ws()?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(NodeKind::Object(members));
        }
        loop {
            self.skip_ws()?;
            let key_start = self.pos;
            let key = match self.peek() {
                Some(b'"') => self.string()?,
                Some(b) if b.is_ascii_alphabetic() || b == b'_' => {
                    return Err(self.err(SyntaxErrorKind::UnquotedKey))
                }
                _ => return Err(self.unexpected()),
            };
            let key_span = Span::new(key_start, self.pos);
            self.skip_ws()?;
            if self.peek() != Some(b':') {
                return Err(self.unexpected());
            }
            self.pos += 1;
            self.skip_ws()?;
            let value = self.value(depth)?;
            members.push(Member { key, key_span, value });
            if self.element_end(b'}')? {
                return Ok(NodeKind::Object(members));
            }
        }
    }

    /// After an element: consumes `,` (refusing a trailing comma before
    /// `close`) and returns `false`, or consumes `close` and returns `true`.
    fn element_end(&mut self, close: u8) -> Result<bool, SyntaxError> {
        self.skip_ws()?;
        match self.peek() {
            Some(b',') => {
                let comma = self.pos;
                self.pos += 1;
                self.skip_ws()?;
                if self.peek() == Some(close) {
                    return Err(SyntaxError {
                        kind: SyntaxErrorKind::TrailingComma,
                        offset: comma,
                    });
                }
                Ok(false)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(true)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn number(&mut self) -> Result<NodeKind, SyntaxError> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let s = p.pos;
            while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                p.pos += 1;
            }
            p.pos - s
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    return Err(self.err(SyntaxErrorKind::BadNumber));
                }
            }
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.err(SyntaxErrorKind::BadNumber)),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.err(SyntaxErrorKind::BadNumber));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.err(SyntaxErrorKind::BadNumber));
            }
        }
        let text = std::str::from_utf8(&self.src[start..self.pos]).unwrap_or_default();
        Ok(NodeKind::Number(text.to_owned()))
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let digits = self
            .src
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err(SyntaxErrorKind::BadEscape))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.err(SyntaxErrorKind::BadEscape))?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.err(SyntaxErrorKind::BadEscape));
        }
        let v = u32::from_str_radix(text, 16).map_err(|_| self.err(SyntaxErrorKind::BadEscape))?;
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // The source is a &str and the run stops only at ASCII bytes,
            // so the run is valid UTF-8.
            out.push_str(std::str::from_utf8(&self.src[run_start..self.pos]).unwrap_or_default());
            match self.peek() {
                None => return Err(self.err(SyntaxErrorKind::UnexpectedEnd)),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let esc =
                        self.peek().ok_or_else(|| self.err(SyntaxErrorKind::UnexpectedEnd))?;
                    self.pos += 1;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&hi) {
                                if self.src.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                    return Err(self.err(SyntaxErrorKind::BadSurrogate));
                                }
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err(SyntaxErrorKind::BadSurrogate));
                                }
                                char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                            } else {
                                char::from_u32(hi)
                            };
                            out.push(c.ok_or_else(|| self.err(SyntaxErrorKind::BadSurrogate))?);
                        }
                        _ => {
                            self.pos -= 1;
                            return Err(self.err(SyntaxErrorKind::BadEscape));
                        }
                    }
                }
                Some(_) => return Err(self.err(SyntaxErrorKind::ControlCharacter)),
            }
        }
    }
}

/// Maps byte offsets to 1-based line and column (columns count characters).
///
/// A lookup costs O(log lines) plus at most [`LineIndex::BLOCK`] bytes of
/// counting, however long the line: a minified 1 MiB document with 100 000
/// diagnostics on its one line must not cost 100 000 × 1 MiB.
#[derive(Clone, Debug)]
pub(crate) struct LineIndex {
    line_starts: Vec<usize>,
    /// `block_chars[i]`: characters in the first `i * BLOCK` bytes.
    block_chars: Vec<usize>,
}

/// Characters that start in `bytes` (UTF-8 bytes that are not
/// continuation bytes), also for a slice that cuts a character.
fn char_starts(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count()
}

impl LineIndex {
    const BLOCK: usize = 256;

    pub fn new(text: &str) -> LineIndex {
        let mut line_starts = vec![0];
        line_starts
            .extend(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1));
        let mut block_chars = Vec::with_capacity(text.len() / Self::BLOCK + 1);
        let mut total = 0;
        block_chars.push(0);
        for block in text.as_bytes().chunks_exact(Self::BLOCK) {
            total += char_starts(block);
            block_chars.push(total);
        }
        LineIndex { line_starts, block_chars }
    }

    /// Characters in `text[..offset]` (`text` is the indexed text).
    fn chars_before(&self, text: &str, offset: usize) -> usize {
        let block = (offset / Self::BLOCK).min(self.block_chars.len() - 1);
        let from = block * Self::BLOCK;
        self.block_chars[block] + text.as_bytes().get(from..offset).map_or(0, char_starts)
    }

    /// The 1-based `(line, column)` of byte `offset` in `text`, the text
    /// the index was built from.
    pub fn line_column(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let column = self.chars_before(text, offset) - self.chars_before(text, start) + 1;
        (line + 1, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> SyntaxErrorKind {
        parse(text, 64).unwrap_err().kind
    }

    #[test]
    fn parses_with_spans() {
        let text = r#" [ {"a": "x\u00e9", "b": [1, -2.5e3, true, null]} ] "#;
        let node = parse(text, 64).unwrap();
        let NodeKind::Array(items) = &node.kind else { panic!("not an array") };
        let NodeKind::Object(members) = &items[0].kind else { panic!("not an object") };
        assert_eq!(members[0].key, "a");
        assert_eq!(members[0].value.kind, NodeKind::String("xé".into()));
        assert_eq!(&text[members[0].value.span.start..members[0].value.span.end], r#""x\u00e9""#);
        let NodeKind::Array(b) = &members[1].value.kind else { panic!() };
        assert_eq!(b[1].kind, NodeKind::Number("-2.5e3".into()));
    }

    #[test]
    fn names_common_mistakes() {
        assert_eq!(err("[1, 2,]"), SyntaxErrorKind::TrailingComma);
        assert_eq!(err("{\"a\": 1,\n}"), SyntaxErrorKind::TrailingComma);
        assert_eq!(err("[1] // x"), SyntaxErrorKind::Comment);
        assert_eq!(err("/* x */ [1]"), SyntaxErrorKind::Comment);
        assert_eq!(err("['a']"), SyntaxErrorKind::SingleQuote);
        assert_eq!(err("{type: 1}"), SyntaxErrorKind::UnquotedKey);
        assert_eq!(err(""), SyntaxErrorKind::Empty);
        assert_eq!(err("[1] [2]"), SyntaxErrorKind::TrailingCharacters);
        assert_eq!(err("[01]"), SyntaxErrorKind::BadNumber);
        assert_eq!(err("[NaN]"), SyntaxErrorKind::NonStandardLiteral("NaN".into()));
        assert_eq!(err("[\"a\u{1}\"]"), SyntaxErrorKind::ControlCharacter);
        assert_eq!(err("[\"\\ud800\"]"), SyntaxErrorKind::BadSurrogate);
        assert_eq!(err("[\"\\x\"]"), SyntaxErrorKind::BadEscape);
        assert_eq!(err("[1"), SyntaxErrorKind::UnexpectedEnd);
    }

    #[test]
    fn trailing_comma_offset_points_at_the_comma() {
        let e = parse("[1,\n]", 64).unwrap_err();
        assert_eq!(e.offset, 2);
    }

    #[test]
    fn depth_is_limited() {
        let deep = "[".repeat(100_000);
        assert_eq!(err_depth(&deep, 64), SyntaxErrorKind::TooDeep(64));
        let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert!(parse(&ok, 64).is_ok());
        let over = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert_eq!(err_depth(&over, 64), SyntaxErrorKind::TooDeep(64));
    }

    fn err_depth(text: &str, depth: usize) -> SyntaxErrorKind {
        parse(text, depth).unwrap_err().kind
    }

    #[test]
    fn line_columns_count_characters() {
        let text = "ab\né\"x\"";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_column(text, 0), (1, 1));
        assert_eq!(idx.line_column(text, 3), (2, 1));
        assert_eq!(idx.line_column(text, 5), (2, 2));
    }

    #[test]
    fn line_columns_across_blocks() {
        // Columns agree with counting characters from the line start, on
        // long lines of multi-byte characters crossing many blocks.
        let text = format!("x\n{}\n{}", "é€a".repeat(500), "💡".repeat(300));
        let idx = LineIndex::new(&text);
        for (offset, _) in text.char_indices().chain([(text.len(), ' ')]) {
            let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
            let line = text[..offset].matches('\n').count() + 1;
            let column = text[line_start..offset].chars().count() + 1;
            assert_eq!(idx.line_column(&text, offset), (line, column), "offset {offset}");
        }
    }
}
