//! The signing-key pair `id` and `pem` of a request body.

use base64::Engine;

use crate::diagnostic::Code;

use super::Cx;
use crate::syntax::json::Node;
use crate::syntax::json::NodeKind;

/// Checks that `pem` is base64 of a PEM RSA private key (PKCS#1
/// `RSA PRIVATE KEY`, or PKCS#8 `PRIVATE KEY` holding the rsaEncryption
/// algorithm), as the Stream signing-key API returns it.
///
/// With the `signing` feature the key is parsed by the signing-key reader
/// (`crate::token`, with `ring`), so validation accepts exactly the keys
/// `sign` can use (2048 bits or more, not encrypted). Without it, a byte
/// scan checks the shape only (base64, PEM label, the RSA algorithm
/// identifier), not the key itself.
pub(super) fn check_pem(pem: &str) -> Result<(), (String, Option<String>)> {
    if pem.trim_start().starts_with("-----BEGIN") {
        return Err((
            "`pem` is a PEM text; the service wants it base64-encoded".into(),
            Some("write the output of `base64 -w0 key.pem`".into()),
        ));
    }
    #[cfg(feature = "signing")]
    {
        use crate::token::KeyError;
        crate::token::check_pem_field(pem).map_err(|e| {
            let help = match e {
                KeyError::Base64 { .. } => Some("write the output of `base64 -w0 key.pem`".into()),
                _ => None,
            };
            (format!("`pem`: {e}"), help)
        })
    }
    #[cfg(not(feature = "signing"))]
    scan_pem(pem)
}

/// The byte scan of [`check_pem`] without the `signing` feature.
#[cfg_attr(feature = "signing", allow(dead_code))]
fn scan_pem(pem: &str) -> Result<(), (String, Option<String>)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let compact: String = pem.chars().filter(|c| !c.is_whitespace()).collect();
    let decoded = b64.decode(compact.as_bytes()).map_err(|e| {
        (
            format!("`pem` is not base64 ({e})"),
            Some("write the output of `base64 -w0 key.pem`".into()),
        )
    })?;
    let text = String::from_utf8(decoded)
        .map_err(|_| ("`pem` decodes to binary data, not a PEM text".to_owned(), None))?;
    let label = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("-----BEGIN ").and_then(|r| r.strip_suffix("-----")))
        .ok_or_else(|| {
            ("`pem` decodes to text without a -----BEGIN ...----- line".to_owned(), None)
        })?
        .to_owned();
    if label != "RSA PRIVATE KEY" && label != "PRIVATE KEY" {
        return Err((
            format!("`pem` holds \"-----BEGIN {label}-----\", not an RSA private key"),
            None,
        ));
    }
    let body: String = text
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    if !text.contains(&format!("-----END {label}-----")) {
        return Err((format!("`pem` has no -----END {label}----- line"), None));
    }
    let der = b64
        .decode(body.as_bytes())
        .map_err(|e| (format!("the PEM body in `pem` is not base64 ({e})"), None))?;
    const RSA_ENCRYPTION_OID: &[u8] =
        &[0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
    let is_rsa = match label.as_str() {
        "RSA PRIVATE KEY" => der.first() == Some(&0x30),
        _ => der.windows(RSA_ENCRYPTION_OID.len()).any(|w| w == RSA_ENCRYPTION_OID),
    };
    if !is_rsa {
        return Err(("the key in `pem` is not an RSA private key".into(), None));
    }
    Ok(())
}

impl<'a> Cx<'a> {
    pub(super) fn key_pair(&mut self, id: Option<&Node>, pem: Option<&Node>) {
        // Drawn at the member that is given (its value), not at the brace.
        match (id, pem) {
            (Some(id), None) => {
                self.push(
                    Code::KeyPairing,
                    "/id",
                    id.span,
                    "`id` is given without `pem`: a signing key needs both".into(),
                    Some("add the key's `pem`, or remove `id`".into()),
                );
            }
            (None, Some(pem)) => {
                self.push(
                    Code::KeyPairing,
                    "/pem",
                    pem.span,
                    "`pem` is given without `id`: a signing key needs both".into(),
                    Some("add the key's `id`, or remove `pem`".into()),
                );
            }
            _ => {}
        }
        if let Some(node @ Node { kind: NodeKind::String(pem), .. }) = pem {
            if let Err((message, help)) = check_pem(pem) {
                self.push(Code::InvalidPem, "/pem", node.span, message, help);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_shapes() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        // PKCS#1 body: a SEQUENCE.
        let pkcs1 = format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
            b64("0\u{1}")
        );
        assert!(scan_pem(&b64(&pkcs1)).is_ok());
        let public = "-----BEGIN PUBLIC KEY-----\nMA==\n-----END PUBLIC KEY-----\n";
        assert!(check_pem(&b64(public)).unwrap_err().0.contains("PUBLIC KEY"));
        assert!(check_pem(&pkcs1).unwrap_err().1.unwrap().contains("base64"));
        let ec8 = "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n";
        assert!(check_pem(&b64(ec8)).is_err());
        assert!(scan_pem(&b64(ec8)).is_err());
        assert!(scan_pem(&b64(public)).is_err());
    }

    #[cfg(feature = "signing")]
    #[test]
    fn pem_is_parsed_by_the_signing_key_reader() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let key = |name: &str| {
            std::fs::read_to_string(format!(
                "{}/tests/data/keys/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        assert!(check_pem(&b64(&key("rsa2048-pkcs1.pem"))).is_ok());
        assert!(check_pem(&b64(&key("rsa2048.pem"))).is_ok());
        for (name, says) in [
            ("rsa1024.pem", "1024 bits"),
            ("rsa2048-encrypted.pem", "encrypted"),
            ("rsa2048.pub.pem", "public key"),
            ("ec256.pem", "EC key"),
        ] {
            let (message, _) = check_pem(&b64(&key(name))).unwrap_err();
            assert!(message.contains(says), "{name}: {message}");
        }
        // A PKCS#1 shape with a body that is not a key: the scan passes it,
        // the parser does not.
        let fake = "-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n";
        assert!(scan_pem(&b64(fake)).is_ok());
        assert!(check_pem(&b64(fake)).is_err());
    }
}
