//! Reading TOKEN for `verify` and `decode`: one function, [`read`], from
//! the bytes of a file, standard input or the argument itself.
//!
//! It shares the extractor that rule documents get for pasted inputs
//! ([`accessrules::extract_token`]: the `/token` API response, playback
//! URLs and paths, quoted tokens), and falls back to plainer readings so
//! that a malformed token still reaches `verify`, which names what is wrong
//! with it.

use std::io::Read;

use anyhow::{anyhow, Context};

/// Why no token could be taken from the input.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenInputError {
    /// Not UTF-8.
    #[error("the token input is not UTF-8 text")]
    NotText,
    /// Nothing but whitespace.
    #[error("the token input is empty")]
    Empty,
    /// JSON without a token in it.
    #[error("the token input is JSON but has no string at /result/token or /token (the API response of POST .../stream/{{uid}}/token)")]
    NoTokenInJson,
    /// JSON that does not parse.
    #[error(
        "the token input starts like JSON but is not valid JSON (line {line}, column {column})"
    )]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A URL without a first path segment.
    #[error("the URL has no path segment to hold a token (https://customer-CODE.cloudflarestream.com/TOKEN/...)")]
    NoTokenInUrl,
}

/// The token in `bytes`: surrounding whitespace trimmed; then the
/// `result.token` (or `token`) of a JSON API response, the first path
/// segment of an `http(s)://` URL, the inside of quotes, or the text
/// itself. The token is not checked here (`decode` and `verify` do).
pub fn read(bytes: &[u8]) -> Result<String, TokenInputError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let untrimmed = std::str::from_utf8(bytes).map_err(|_| TokenInputError::NotText)?;
    let text = untrimmed.trim();
    if text.is_empty() {
        return Err(TokenInputError::Empty);
    }
    if let Some(found) = accessrules::extract_token(text) {
        return Ok(found.token);
    }
    if text.starts_with('{') {
        // Untrimmed, so that line and column are the input's.
        let value: serde_json::Value = serde_json::from_str(untrimmed)
            .map_err(|e| TokenInputError::Json { line: e.line(), column: e.column() })?;
        return ["/result/token", "/token"]
            .iter()
            .find_map(|p| value.pointer(p).and_then(|v| v.as_str()))
            .map(|t| t.trim().to_owned())
            .ok_or(TokenInputError::NoTokenInJson);
    }
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    if let Some(rest) =
        ["https://", "http://"].iter().find_map(|s| lower.starts_with(s).then(|| &text[s.len()..]))
    {
        let path = rest.split_once('/').map_or("", |(_, path)| path);
        let first = path.split(['/', '?', '#']).next().unwrap_or("");
        return if first.is_empty() {
            Err(TokenInputError::NoTokenInUrl)
        } else {
            Ok(first.to_owned())
        };
    }
    for q in ['"', '\''] {
        if let Some(inner) = text.strip_prefix(q).and_then(|t| t.strip_suffix(q)) {
            return Ok(inner.trim().to_owned());
        }
    }
    Ok(text.to_owned())
}

/// The bytes TOKEN names: `-` is standard input; an existing file is read;
/// an argument that is itself a token or a URL (starts with `eyJ` or
/// `http`) is taken as it is. At most `max` bytes (one more is read, so an
/// oversized input is refused).
pub fn load(arg: &str, max: usize) -> anyhow::Result<(String, Vec<u8>)> {
    let limit = (max as u64).saturating_add(1);
    let mut bytes = Vec::new();
    if arg == "-" {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut bytes)
            .context("cannot read the token from standard input")?;
        return check_size(("<stdin>".into(), bytes), max);
    }
    let path = std::path::Path::new(arg);
    let is_token_text = arg.starts_with("eyJ") || arg.to_ascii_lowercase().starts_with("http");
    if is_token_text && !path.exists() {
        return check_size(("<argument>".into(), arg.as_bytes().to_vec()), max);
    }
    let file = std::fs::File::open(path).with_context(|| {
        format!(
            "cannot open token file {arg} (read as a path: a token starts with eyJ, a playback \
             URL with http)"
        )
    })?;
    file.take(limit)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read token file {arg}"))?;
    check_size((arg.to_owned(), bytes), max)
}

fn check_size(input: (String, Vec<u8>), max: usize) -> anyhow::Result<(String, Vec<u8>)> {
    if input.1.len() > max {
        return Err(anyhow!(
            "{}: the token input is larger than {max} bytes (--max-bytes)",
            input.0
        ));
    }
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2In0.c2ln";

    #[test]
    fn every_pasted_form() {
        for input in [
            T.to_owned(),
            format!("  {T}\r\n"),
            format!("\u{feff}{T}"),
            format!("\"{T}\""),
            format!("'{T}'\n"),
            format!(
                r#"{{"result": {{"token": "{T}"}}, "success": true, "errors": [], "messages": []}}"#
            ),
            format!(r#"{{"token": "{T}"}}"#),
            format!("https://customer-abc123.cloudflarestream.com/{T}/manifest/video.m3u8"),
            format!("https://customer-abc123.cloudflarestream.com/{T}/iframe"),
            format!("HTTPS://iframe.videodelivery.net/{T}?autoplay=true"),
            format!("https://videodelivery.net/{T}#t=5"),
            format!("https://videodelivery.net/{T}"),
        ] {
            assert_eq!(read(input.as_bytes()).as_deref(), Ok(T), "{input}");
        }
    }

    #[test]
    fn refusals() {
        assert_eq!(read(b" \n"), Err(TokenInputError::Empty));
        assert_eq!(read(b"\xff"), Err(TokenInputError::NotText));
        assert_eq!(read(br#"{"result": {"uid": "x"}}"#), Err(TokenInputError::NoTokenInJson));
        assert_eq!(read(br#"{"result": {"token": 5}}"#), Err(TokenInputError::NoTokenInJson));
        assert_eq!(read(br#"{"result": "#), Err(TokenInputError::Json { line: 1, column: 11 }));
        assert_eq!(read(b"https://videodelivery.net/"), Err(TokenInputError::NoTokenInUrl));
        assert_eq!(read(b"https://videodelivery.net"), Err(TokenInputError::NoTokenInUrl));
    }
}
