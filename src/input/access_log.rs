//! Web-server access logs: nginx and Apache `common` and `combined`
//! (`%h %l %u [%t] "%r" …`, the client address first) and Apache's
//! `vhost_combined` (`%v:%p %h %l %u [%t] …`, the server and port first).
//!
//! The fields before the `[time]` field decide which is which: three
//! (`client ident user`) or four (`vhost:port client ident user`). The
//! client field may be an `X-Forwarded-For` chain (`a, b, c`, as a
//! `log_format` with `$http_x_forwarded_for` first writes it): the viewer
//! is its last address outside Cloudflare's ranges and the special-purpose
//! ranges (the address that reached the first proxy the operator runs).
//! When the client field is one of Cloudflare's addresses or a
//! special-purpose one (a proxy in front of the server) and the line ends
//! with a quoted address chain (nginx's default `main` format ends with
//! `"$http_x_forwarded_for"`), the viewer is read from that chain the same
//! way. A host name (`HostnameLookups On`) is a bad line: names are never
//! resolved. A Cloudflare Pseudo IPv4 address (`240.0.0.0/4`) is a bad
//! line: it stands for an IPv6 viewer whose address the log does not hold.

use std::net::IpAddr;

use super::addresses::{is_cloudflare, is_pseudo_ipv4, special_purpose};
use super::plain::{fast_ip, shown};
use super::{LineCountry, Record};

/// Whether `b` starts like an access log's time field, `[10/Oct/2000:`.
fn is_time_field(b: &[u8]) -> bool {
    b.len() >= 13
        && b[0] == b'['
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && b[3] == b'/'
        && b[4..7].iter().all(u8::is_ascii_alphabetic)
        && b[7] == b'/'
        && b[8..12].iter().all(u8::is_ascii_digit)
        && b[12] == b':'
}

/// The space-separated fields before the time field, the client field
/// joined back when it is an `X-Forwarded-For` chain (`a, b`); `None` when
/// the line has no time field.
fn head(line: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out: Vec<&[u8]> = Vec::with_capacity(4);
    let mut start = 0;
    let mut i = 0;
    while i <= line.len() {
        if i == line.len() || line[i] == b' ' {
            if i > start {
                let field = &line[start..i];
                if is_time_field(&line[start..]) {
                    return Some(out);
                }
                // Join `a,` `b` into one client field `a, b`.
                let chained = out.len() == 1 && out[0].ends_with(b",");
                if chained {
                    let from = out[0].as_ptr() as usize - line.as_ptr() as usize;
                    out[0] = &line[from..i];
                } else {
                    out.push(field);
                }
                if out.len() > 6 {
                    return None;
                }
            }
            start = i + 1;
        }
        i += 1;
    }
    None
}

/// Whether `b` looks like a host name (letters, digits, `-`, `.`, with a
/// letter somewhere).
fn is_host_name(b: &[u8]) -> bool {
    !b.is_empty()
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
        && b.iter().any(u8::is_ascii_alphabetic)
}

/// An address as logs write it: bare, or with a port as proxies add one
/// (`[2001:db8::1]`, `[2001:db8::1]:443`, `192.0.2.1:443`).
fn address(b: &[u8]) -> Option<IpAddr> {
    let bare = |b: &[u8]| fast_ip(b).or_else(|| std::str::from_utf8(b).ok()?.parse().ok());
    if let Some(ip) = bare(b) {
        return Some(ip);
    }
    let is_port = |p: &[u8]| {
        let digits = !p.is_empty() && p.iter().all(u8::is_ascii_digit);
        digits
            && std::str::from_utf8(p)
                .ok()
                .and_then(|p| p.parse::<u16>().ok())
                .is_some_and(|p| p > 0)
    };
    if let Some(rest) = b.strip_prefix(b"[") {
        let end = rest.iter().position(|&c| c == b']')?;
        let after = &rest[end + 1..];
        let port_ok = after.is_empty() || after.strip_prefix(b":").is_some_and(is_port);
        return bare(&rest[..end]).filter(|ip| port_ok && ip.is_ipv6());
    }
    let colon = b.iter().rposition(|&c| c == b':')?;
    bare(&b[..colon]).filter(|ip| ip.is_ipv4() && is_port(&b[colon + 1..]))
}

/// Whether a line looks like an access log line (for detection).
pub(crate) fn looks_like(line: &[u8]) -> bool {
    matches!(head(line), Some(h) if h.len() == 3 || h.len() == 4) && line.contains(&b'"')
}

/// The viewer of an `X-Forwarded-For` chain: the last address that is
/// neither Cloudflare's nor special-purpose, else the first address.
fn from_chain(chain: &[u8]) -> Result<IpAddr, String> {
    let mut addrs = Vec::new();
    for part in chain.split(|&c| c == b',') {
        let part = part.trim_ascii();
        match address(part) {
            Some(ip) => addrs.push(ip),
            None => {
                return Err(format!(
                    "X-Forwarded-For chain {:?}: {:?} is not an address",
                    shown(chain),
                    shown(part)
                ))
            }
        }
    }
    let viewer = addrs
        .iter()
        .rev()
        .find(|&&ip| !is_cloudflare(ip) && special_purpose(ip).is_none())
        .or(addrs.first());
    viewer.copied().ok_or_else(|| format!("empty X-Forwarded-For chain {:?}", shown(chain)))
}

/// The viewer of a trailing quoted `X-Forwarded-For` field, if the line
/// ends with one holding only addresses.
fn trailing_chain(line: &[u8]) -> Option<IpAddr> {
    let body = line.strip_suffix(b"\"")?;
    let open = body.iter().rposition(|&c| c == b'"')?;
    let field = &body[open + 1..];
    if field.is_empty() || field == b"-" {
        return None;
    }
    from_chain(field).ok()
}

/// Reads one access log line (already trimmed and not blank).
///
/// # Errors
///
/// A message naming what stands where the client address should.
pub(crate) fn parse(line: &[u8]) -> Result<Record, String> {
    let Some(fields) = head(line) else {
        return Err(format!(
            "not an access log line (no [day/Mon/year:time] field): {:?}",
            shown(line)
        ));
    };
    let client = match fields.len() {
        3 => fields[0],
        4 => {
            let vhost = fields[0];
            if !vhost.contains(&b':') {
                return Err(format!(
                    "4 fields before the time, but {:?} is not a vhost_combined host:port",
                    shown(vhost)
                ));
            }
            fields[1]
        }
        n => {
            return Err(format!(
            "{n} fields before the time field; expected 3 (common, combined) or 4 (vhost_combined)"
        ))
        }
    };
    let ip = if client.contains(&b',') {
        from_chain(client)?
    } else {
        match address(client) {
            Some(ip) => ip,
            None if is_host_name(client) => {
                return Err(format!(
                    "host name {:?} in place of the client address (HostnameLookups on?): \
                     accessrules never resolves names",
                    shown(client)
                ))
            }
            None => return Err(format!("invalid client address {:?}", shown(client))),
        }
    };
    let ip = if is_cloudflare(ip) || special_purpose(ip).is_some() {
        trailing_chain(line).unwrap_or(ip)
    } else {
        ip
    };
    if is_pseudo_ipv4(ip) {
        return Err(format!(
            "{ip} is a Cloudflare Pseudo IPv4 address (240.0.0.0/4): it stands for an IPv6 viewer \
             whose address this log does not hold"
        ));
    }
    Ok(Record::Viewer { ip, country: LineCountry::Absent })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(line: &str) -> Result<String, String> {
        parse(line.as_bytes()).map(|r| match r {
            Record::Viewer { ip, .. } => ip.to_string(),
            other => format!("{other:?}"),
        })
    }

    #[test]
    fn reads_the_client_address() {
        let t = r#"[10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 2326 "-" "curl/8""#;
        assert_eq!(ip(&format!("81.2.69.142 - frank {t}")).unwrap(), "81.2.69.142");
        assert_eq!(ip(&format!("2001:db8::1 - - {t}")).unwrap(), "2001:db8::1");
        assert_eq!(ip(&format!("example.com:443 81.2.69.142 - - {t}")).unwrap(), "81.2.69.142");
        assert_eq!(ip(&format!("1.1.1.1:80 81.2.69.142 - - {t}")).unwrap(), "81.2.69.142");
        assert_eq!(ip(&format!("81.2.69.142, 162.158.1.1 - - {t}")).unwrap(), "81.2.69.142");
        assert_eq!(
            ip(&format!("203.0.113.9, 81.2.69.142, 10.0.0.1 - - {t}")).unwrap(),
            "81.2.69.142"
        );
        assert!(ip(&format!("crawl-66-249-66-1.googlebot.com - - {t}"))
            .unwrap_err()
            .contains("host name"));
        assert!(ip(&format!("240.0.0.7 - - {t}")).unwrap_err().contains("Pseudo IPv4"));
        assert!(ip("8.8.8.8").unwrap_err().contains("not an access log line"));
        assert!(looks_like(format!("1.2.3.4 - - {t}").as_bytes()));
        // nginx `main`: a trailing "$http_x_forwarded_for" behind Cloudflare
        // or a local proxy; ignored for a client that is neither.
        assert_eq!(ip(&format!("162.158.1.1 - - {t} \"81.2.69.142\"")).unwrap(), "81.2.69.142");
        assert_eq!(
            ip(&format!("10.0.0.2 - - {t} \"203.0.113.9, 81.2.69.142\"")).unwrap(),
            "81.2.69.142"
        );
        assert_eq!(ip(&format!("162.158.1.1 - - {t} \"-\"")).unwrap(), "162.158.1.1");
        // Addresses with brackets or a port, as some servers and proxies write them.
        assert_eq!(ip(&format!("[2001:db8::1] - - {t}")).unwrap(), "2001:db8::1");
        assert_eq!(ip(&format!("[2001:db8::1]:443 - - {t}")).unwrap(), "2001:db8::1");
        assert_eq!(
            ip(&format!("10.0.0.2 - - {t} \"[2606:2800:220:1::1]:5000, 81.2.69.142:80\"")).unwrap(),
            "81.2.69.142"
        );
        for bad in [
            "[81.2.69.142]",
            "[2001:db8::1]x",
            "[2001:db8::1]:",
            "81.2.69.142:x",
            "2001:db8::1]",
            "81.2.69.142:0",
            "81.2.69.142:65536",
            "[2001:db8::1]:+80",
        ] {
            assert!(ip(&format!("{bad} - - {t}")).is_err(), "{bad}");
        }
        assert_eq!(ip(&format!("8.8.8.8 - - {t} \"81.2.69.142\"")).unwrap(), "8.8.8.8");
    }
}
