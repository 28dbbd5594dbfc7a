//! `accessrules verify`: signature, key id, time window, video and rules.

use std::io::{self, IsTerminal, Write};

use accessrules::token::{verify, VerifyError, VerifyOptions};
use accessrules::Limits;
use anyhow::anyhow;
use clap::Args;

use super::sign::{now, rfc3339, KeyArgs};
use super::{render, token_input, use_colour, Failure, Outcome};

/// Arguments of `verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The token: a file, - for standard input, the token itself, a
    /// playback URL holding it, or the API response {"result":{"token":...}}.
    #[arg(value_name = "TOKEN")]
    token: String,
    #[command(flatten)]
    key: KeyArgs,
    /// "Now" for the time window, in Unix seconds (default: the clock).
    #[arg(long, value_name = "UNIX_SECONDS", allow_negative_numbers = true)]
    now: Option<i64>,
    /// Seconds of clock difference tolerated at `exp` and `nbf`.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    leeway: u64,
    /// The video uid the token must be for (`sub`).
    #[arg(long, value_name = "UID")]
    video: Option<String>,
    /// Largest token input accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_document_bytes)]
    max_bytes: usize,
}

pub fn run(args: VerifyArgs) -> Outcome {
    let (name, bytes) = token_input::load(&args.token, args.max_bytes)?;
    let token = token_input::read(&bytes).map_err(|e| anyhow!("{name}: {e}"))?;
    let key = args.key.verifying()?;
    let now = now(args.now);
    let mut options = VerifyOptions::at(now)
        .with_leeway(args.leeway)
        .with_limits(Limits { max_document_bytes: args.max_bytes, ..Limits::default() });
    if let Some(video) = &args.video {
        options = options.for_video(video.clone());
    }
    let colour = use_colour(io::stdout().is_terminal());
    let mut out = io::stdout().lock();
    match verify(&token, &key, &options) {
        Ok(ok) => {
            let exp = ok.expires();
            let when = rfc3339(exp).map(|t| format!(" ({t})")).unwrap_or_default();
            writeln!(
                out,
                "{name}: valid: RS256 signature by key {:?}, video {:?}, expires {exp}{when}, {} rule{}",
                key.id(),
                ok.video().unwrap_or(""),
                ok.rules().len(),
                if ok.rules().len() == 1 { "" } else { "s" },
            )?;
            if ok.validation().warning_count() > 0 {
                render::write_human(&mut out, ok.validation(), &name, colour)?;
            }
            Ok(())
        }
        Err(VerifyError::Failed { failed, validation }) => {
            writeln!(
                out,
                "{name}: invalid token: {} failed check{}",
                failed.len(),
                if failed.len() == 1 { "" } else { "s" }
            )?;
            for f in &failed {
                writeln!(out, "  {f}")?;
            }
            if !validation.diagnostics().is_empty() {
                writeln!(out)?;
                render::write_human(&mut out, &validation, &name, colour)?;
            }
            Err(Failure::Invalid)
        }
        Err(e) => {
            writeln!(out, "{name}: invalid token: {e}")?;
            Err(Failure::Invalid)
        }
    }
}
