//! Viewer lines of `simulate --input` (SPEC §4): `IP`, `IP,CC` or an
//! ndjson object `{"ip": ..., "country": ...}`; blank lines and `#`
//! comments are skipped.

use std::net::IpAddr;

use crate::rule::CountryCode;

/// A viewer line read: `None` for blank and comment lines.
pub type ParsedLine = Option<(IpAddr, Option<CountryCode>)>;

#[derive(serde::Deserialize)]
struct NdjsonViewer {
    ip: String,
    #[serde(default)]
    country: Option<String>,
}

fn country_from_bytes(b: &[u8]) -> Option<CountryCode> {
    match b {
        [x, y] if x.is_ascii_alphabetic() && y.is_ascii_alphabetic() => {
            let up = [x.to_ascii_uppercase(), y.to_ascii_uppercase()];
            let code = CountryCode::new(std::str::from_utf8(&up).ok()?)?;
            // Assigned codes and the pseudo-codes logs carry (`XX`, `EU`).
            (crate::country::is_assigned(code)
                || crate::country::pseudo_code(code.as_str()).is_some())
            .then_some(code)
        }
        _ => None,
    }
}

fn shown(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(64)]).into_owned();
    if b.len() > 64 {
        format!("{s}…")
    } else {
        s
    }
}

/// Reads one viewer line: `IP`, `IP,CC` or `{"ip": ..., "country": ...}`;
/// blank lines and `#` comments give `Ok(None)`.
///
/// # Errors
///
/// A message naming the bad value.
pub fn parse_line(line: &[u8]) -> Result<ParsedLine, String> {
    let line = line.trim_ascii();
    if line.is_empty() || line[0] == b'#' {
        return Ok(None);
    }
    if line[0] == b'{' {
        let v: NdjsonViewer = serde_json::from_slice(line)
            .map_err(|e| format!("invalid ndjson viewer {:?}: {e}", shown(line)))?;
        let ip =
            v.ip.trim()
                .parse()
                .map_err(|_| format!("invalid viewer address {:?}", shown(v.ip.as_bytes())))?;
        let country = match v.country.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) => Some(
                country_from_bytes(c.as_bytes()).ok_or_else(|| format!("invalid country {c:?}"))?,
            ),
        };
        return Ok(Some((ip, country)));
    }
    let (ip_part, cc_part) = match line.iter().position(|&b| b == b',') {
        Some(i) => (line[..i].trim_ascii(), Some(line[i + 1..].trim_ascii())),
        None => (line, None),
    };
    let ip = std::str::from_utf8(ip_part)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("invalid viewer address {:?}", shown(ip_part)))?;
    let country = match cc_part {
        None | Some([]) => None,
        Some(cc) => {
            Some(country_from_bytes(cc).ok_or_else(|| format!("invalid country {:?}", shown(cc)))?)
        }
    };
    Ok(Some((ip, country)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_viewer_lines() {
        let p = |s: &str| parse_line(s.as_bytes());
        assert_eq!(p("").unwrap(), None);
        assert_eq!(p("  # comment").unwrap(), None);
        assert_eq!(p("8.8.8.8\r").unwrap(), Some(("8.8.8.8".parse().unwrap(), None)));
        assert_eq!(
            p("8.8.8.8, us").unwrap(),
            Some(("8.8.8.8".parse().unwrap(), CountryCode::new("US")))
        );
        assert_eq!(
            p(r#"{"ip":"::1","country":"de"}"#).unwrap(),
            Some(("::1".parse().unwrap(), CountryCode::new("DE")))
        );
        assert!(p("8.8.8").is_err());
        assert!(p("8.8.8.8,USA").is_err());
        assert!(p("fe80::1%eth0").is_err());
        assert!(p("{\"ip\": 5}").is_err());
    }
}
