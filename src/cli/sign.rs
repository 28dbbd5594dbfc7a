//! `accessrules sign`: validate the rules, then sign a Stream token.

use std::io::{self, IsTerminal, Read, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use accessrules::token::{sign, Claims, KeyNote, SigningKey, VerifyingKey};
use accessrules::{check, Options};
use anyhow::{anyhow, Context};
use clap::Args;

use super::{options, read_rules, render, use_colour, Failure, Outcome, RulesArgs};

/// Arguments of `sign`.
#[derive(Args, Debug)]
pub struct SignArgs {
    #[command(flatten)]
    rules: RulesArgs,
    #[command(flatten)]
    key: KeyArgs,
    /// The video uid (`sub`).
    #[arg(long, value_name = "UID")]
    video: String,
    /// Expiry: Unix seconds or RFC 3339 (default: the document's `exp`, else 1 h after now).
    #[arg(long, value_name = "TIME", conflicts_with = "ttl")]
    exp: Option<String>,
    /// Lifetime from now: `90s`, `30m`, `2h`, or seconds (at most 24 h).
    #[arg(long, value_name = "DURATION")]
    ttl: Option<String>,
    /// Not before: Unix seconds or RFC 3339 (default: the document's `nbf`).
    #[arg(long, value_name = "TIME")]
    nbf: Option<String>,
    /// Allow downloads (`downloadable: true`).
    #[arg(long)]
    downloadable: bool,
    /// Refuse to sign (exit 1) when the rules have warnings.
    #[arg(long)]
    deny_warnings: bool,
    /// Also print the HLS, DASH and iframe URLs for this customer code
    /// (customer-CODE.cloudflarestream.com).
    #[arg(long, value_name = "CUSTOMER_CODE")]
    url: Option<String>,
}

/// `--key` and `--key-id`, shared by `sign` and `verify`.
#[derive(Args, Debug)]
pub struct KeyArgs {
    /// Signing key: the signing-key API's object (bare or in its envelope),
    /// a PEM file, the base64 `pem` string, or a JWK.
    #[arg(long, value_name = "FILE")]
    pub key: String,
    /// The key id, when the key file does not carry it (a PEM file).
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,
}

/// Largest key file read.
const MAX_KEY_BYTES: u64 = 1 << 20;

impl KeyArgs {
    fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        let file = std::fs::File::open(&self.key)
            .with_context(|| format!("cannot open key file {}", self.key))?;
        file.take(MAX_KEY_BYTES + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read key file {}", self.key))?;
        if bytes.len() as u64 > MAX_KEY_BYTES {
            return Err(anyhow!(
                "key file {}: larger than {MAX_KEY_BYTES} bytes; not a key",
                self.key
            ));
        }
        Ok(bytes)
    }

    fn notes(&self, notes: &[KeyNote]) {
        for n in notes {
            eprintln!("accessrules: key {}: note: {n}", self.key);
        }
    }

    pub fn signing(&self) -> anyhow::Result<SigningKey> {
        let (key, notes) = SigningKey::read(&self.bytes()?, self.key_id.as_deref())
            .map_err(|e| anyhow!("key {}: {e}", self.key))?;
        self.notes(&notes);
        Ok(key)
    }

    pub fn verifying(&self) -> anyhow::Result<VerifyingKey> {
        let (key, notes) = VerifyingKey::read(&self.bytes()?, self.key_id.as_deref())
            .map_err(|e| anyhow!("key {}: {e}", self.key))?;
        self.notes(&notes);
        Ok(key)
    }
}

/// "Now": `--now`, else the clock.
pub fn now(given: Option<i64>) -> i64 {
    given.unwrap_or_else(|| Options::now().clock().unwrap_or(0))
}

/// A time given on the command line: Unix seconds or RFC 3339.
pub fn parse_time(flag: &str, text: &str) -> anyhow::Result<i64> {
    if let Ok(secs) = text.trim().parse::<i64>() {
        return Ok(secs);
    }
    let t = humantime::parse_rfc3339_weak(text.trim()).map_err(|e| {
        anyhow!("--{flag} {text:?}: expected Unix seconds or an RFC 3339 time (2026-01-01T00:00:00Z): {e}")
    })?;
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    Ok(secs)
}

fn parse_ttl(text: &str) -> anyhow::Result<i64> {
    let secs = match text.trim().parse::<u64>() {
        Ok(secs) => secs,
        Err(_) => humantime::parse_duration(text.trim())
            .map_err(|e| anyhow!("--ttl {text:?}: expected a duration such as 90s, 30m, 2h: {e}"))?
            .as_secs(),
    };
    i64::try_from(secs).map_err(|_| anyhow!("--ttl {text:?} is too long"))
}

/// The RFC 3339 form of Unix seconds, when it has one (years 1970-9999).
pub fn rfc3339(secs: i64) -> Option<String> {
    let secs = u64::try_from(secs).ok().filter(|s| *s < 253_402_300_800)?;
    Some(
        humantime::format_rfc3339_seconds(
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs),
        )
        .to_string(),
    )
}

pub fn run(args: SignArgs) -> Outcome {
    let now = now(args.rules.check.now);
    let key = args.key.signing()?;
    let customer = args.url.as_deref().map(customer_code).transpose()?;
    let (name, bytes) = read_rules(&args.rules.rules, &args.rules.check)?;
    let validation =
        check(&bytes, &Options::at(now).with_limits(*options(&args.rules.check).limits()));
    let colour = use_colour(io::stderr().is_terminal());
    let refuse_warnings = args.deny_warnings && validation.warning_count() > 0;
    if !validation.is_valid() || validation.warning_count() > 0 {
        render::write_human(&mut io::stderr().lock(), &validation, &name, colour)?;
    }
    let Some(rules) = validation.rule_set() else {
        eprintln!("accessrules: {name}: no token signed: the rules have errors");
        return Err(Failure::Invalid);
    };
    if refuse_warnings {
        eprintln!(
            "accessrules: {name}: no token signed: the rules have warnings (--deny-warnings)"
        );
        return Err(Failure::Invalid);
    }
    let mut claims = Claims::new(args.video.clone(), now);
    if let Some(doc) = validation.document() {
        claims = claims.with_document(doc);
    }
    if let Some(exp) = &args.exp {
        claims.expires = parse_time("exp", exp)?;
    }
    if let Some(ttl) = &args.ttl {
        claims.expires = now.saturating_add(parse_ttl(ttl)?);
    }
    if let Some(nbf) = &args.nbf {
        claims.not_before = Some(parse_time("nbf", nbf)?);
    }
    if args.downloadable {
        claims.downloadable = Some(true);
    }
    let token = sign(rules, &claims, &key).map_err(|e| anyhow!("no token signed: {e}"))?;
    let mut out = io::stdout().lock();
    writeln!(out, "{token}")?;
    if let Some(code) = customer {
        let base = format!("https://customer-{code}.cloudflarestream.com/{token}");
        writeln!(out, "hls:    {base}/manifest/video.m3u8")?;
        writeln!(out, "dash:   {base}/manifest/video.mpd")?;
        writeln!(out, "iframe: {base}/iframe")?;
    }
    out.flush()?;
    Ok(())
}

/// The customer code of `customer-CODE.cloudflarestream.com`, given bare,
/// as `customer-CODE`, or as the host name.
fn customer_code(text: &str) -> anyhow::Result<String> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.strip_prefix("https://").unwrap_or(&t);
    let t = t.trim_end_matches('/');
    let t = t.strip_suffix(".cloudflarestream.com").unwrap_or(t);
    let t = t.strip_prefix("customer-").unwrap_or(t);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(anyhow!(
            "--url {text:?}: expected the customer code of customer-CODE.cloudflarestream.com (letters and digits)"
        ));
    }
    Ok(t.to_owned())
}
