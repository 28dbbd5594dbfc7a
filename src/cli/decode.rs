//! `accessrules decode`: header and payload, the signature not checked.

use std::io::{self, Write};

use accessrules::token::decode;
use accessrules::Limits;
use anyhow::anyhow;
use clap::Args;
use serde_json::Value;

use super::sign::rfc3339;
use super::{token_input, Failure, Outcome};

/// Arguments of `decode`.
#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// The token: a file, - for standard input, the token itself, a
    /// playback URL holding it, or the API response {"result":{"token":...}}.
    #[arg(value_name = "TOKEN")]
    token: String,
    /// Largest token input accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_document_bytes)]
    max_bytes: usize,
}

pub fn run(args: DecodeArgs) -> Outcome {
    let (name, bytes) = token_input::load(&args.token, args.max_bytes)?;
    let token = token_input::read(&bytes).map_err(|e| anyhow!("{name}: {e}"))?;
    let limits = Limits { max_document_bytes: args.max_bytes, ..Limits::default() };
    let decoded = match decode(&token, &limits) {
        Ok(d) => d,
        Err(e) => {
            println!("{name}: malformed token: {e}");
            return Err(Failure::Invalid);
        }
    };
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "signature: NOT checked ({} bytes; `accessrules verify` checks it)",
        decoded.signature().len()
    )?;
    let pretty =
        |m: &serde_json::Map<String, Value>| serde_json::to_string_pretty(m).unwrap_or_default();
    writeln!(out, "header:\n{}", pretty(decoded.header()))?;
    writeln!(out, "payload:\n{}", pretty(decoded.payload()))?;
    let mut times = Vec::new();
    for claim in ["exp", "nbf", "iat"] {
        let value = match decoded.payload().get(claim) {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.parse::<i64>().ok(),
            _ => continue,
        };
        let text = match value.and_then(rfc3339) {
            Some(t) => t,
            None => "not a time in years 1970 to 9999".into(),
        };
        times.push(format!("  {claim}: {text}"));
    }
    if !times.is_empty() {
        writeln!(out, "times:\n{}", times.join("\n"))?;
    }
    out.flush()?;
    Ok(())
}
