//! Finding a signed token in what people paste: the `/token` API
//! response, a playback URL or path, a token quoted as a JSON string.
//!
//! [`extract_token`] is a plain text function with no diagnostics of its
//! own: validation decodes the token it returns as a JWT, and the signing
//! commands (`verify`, `decode`) can reuse it for their TOKEN input.

/// Where a token was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSource {
    /// `{"result": {"token": "eyJ…"}, "success": true, …}`, the response
    /// of `POST /accounts/{account_id}/stream/{identifier}/token`.
    ApiResponse,
    /// A playback URL or path with the token in place of the video id:
    /// `https://customer-<code>.cloudflarestream.com/<TOKEN>/manifest/video.m3u8`,
    /// `…/<TOKEN>/iframe`, `…/<TOKEN>/thumbnails/thumbnail.jpg`,
    /// `…/<TOKEN>/watch`, or the path alone.
    Url,
    /// The token as a JSON string: `"eyJ…"`.
    QuotedString,
}

/// A token found in pasted text.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExtractedToken {
    /// The token text, `header.payload.signature`, exactly as found (not
    /// decoded or checked beyond its shape).
    pub token: String,
    /// What held it.
    pub source: TokenSource,
}

/// Whether `s` has the shape of a JWT: `eyJ`, then base64url, three
/// segments separated by two dots.
pub(crate) fn is_jwt_shaped(s: &str) -> bool {
    s.starts_with("eyJ")
        && s.bytes().filter(|b| *b == b'.').count() == 2
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_=.".contains(&b))
}

/// The token held by `text` when it is a `/token` API response, a playback
/// URL or path, or a JSON string holding a token or such a URL; `None` for
/// anything else (a bare JWT included: it needs no extraction).
///
/// Linear in the length of `text`; never panics.
pub fn extract_token(text: &str) -> Option<ExtractedToken> {
    let t = text.trim();
    if t.starts_with('"') && t.ends_with('"') && t.len() >= 2 {
        let inner: String = serde_json::from_str(t).ok()?;
        let inner = inner.trim();
        if is_jwt_shaped(inner) {
            return Some(ExtractedToken {
                token: inner.to_owned(),
                source: TokenSource::QuotedString,
            });
        }
        return from_url(inner);
    }
    if t.starts_with('{') {
        return from_response(t);
    }
    from_url(t)
}

/// `{"result": {"token": "…"}}`: the token of an API response.
fn from_response(t: &str) -> Option<ExtractedToken> {
    // A quick test before parsing: most objects are rule documents.
    if !t.contains("\"result\"") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(t).ok()?;
    let token = value.get("result")?.get("token")?.as_str()?;
    Some(ExtractedToken { token: token.trim().to_owned(), source: TokenSource::ApiResponse })
}

/// The first path segment (or query value) of a URL or path that has the
/// shape of a JWT.
fn from_url(t: &str) -> Option<ExtractedToken> {
    if t.is_empty() || !t.contains('/') || t.bytes().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let rest = t
        .strip_prefix("https://")
        .or_else(|| t.strip_prefix("http://"))
        .or_else(|| t.strip_prefix("//"))
        .map_or(t, |r| r.split_once('/').map_or("", |(_, path)| path));
    rest.split(['/', '?', '&', '=', '#', ';'])
        .find(|seg| is_jwt_shaped(seg))
        .map(|seg| ExtractedToken { token: seg.to_owned(), source: TokenSource::Url })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJzdWIiOiJ2In0.c2ln";

    #[test]
    fn every_pasted_form() {
        let host = "https://customer-f33zs165nr7gyfy4.cloudflarestream.com";
        let table: Vec<(String, Option<TokenSource>)> = vec![
            (
                format!(
                    r#"{{"result": {{"token": "{TOKEN}"}}, "success": true, "errors": [], "messages": []}}"#
                ),
                Some(TokenSource::ApiResponse),
            ),
            (format!("{host}/{TOKEN}/manifest/video.m3u8"), Some(TokenSource::Url)),
            (format!("{host}/{TOKEN}/manifest/video.mpd"), Some(TokenSource::Url)),
            (format!("{host}/{TOKEN}/iframe"), Some(TokenSource::Url)),
            (format!("{host}/{TOKEN}/thumbnails/thumbnail.jpg?time=1s"), Some(TokenSource::Url)),
            (format!("{host}/{TOKEN}/watch"), Some(TokenSource::Url)),
            (format!("/{TOKEN}/manifest/video.m3u8"), Some(TokenSource::Url)),
            (format!("{TOKEN}/iframe"), Some(TokenSource::Url)),
            (format!("https://iframe.videodelivery.net/{TOKEN}"), Some(TokenSource::Url)),
            (format!("\"{TOKEN}\"\n"), Some(TokenSource::QuotedString)),
            (format!("\"{host}/{TOKEN}/iframe\""), Some(TokenSource::Url)),
            (TOKEN.to_owned(), None),
            (r#"{"accessRules": []}"#.to_owned(), None),
            (r#"{"result": {"uid": "x"}}"#.to_owned(), None),
            (format!("{host}/ea95132c15732412d22c1476fa83f27a/iframe"), None),
            ("[]".to_owned(), None),
            ("\"".to_owned(), None),
        ];
        for (text, want) in table {
            let got = extract_token(&text);
            assert_eq!(got.as_ref().map(|g| g.source), want, "{text}");
            if let Some(g) = got {
                assert_eq!(g.token, TOKEN, "{text}");
            }
        }
    }
}
