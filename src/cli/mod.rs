//! Command-line front end: arguments, reading inputs, exit statuses.
//!
//! Exit statuses (the README): 0 success; 1 the rules are invalid (or, with
//! `--deny-warnings`, have warnings); 2 usage, I/O or GeoIP errors. A
//! broken pipe on output is a quiet success.

mod decode;
mod decompress;
mod diff;
mod evaluator;
mod explain;
mod interrupt;
mod ip_text;
mod output;
mod render;
mod report;
mod sign;
mod simulate;
mod stream;
mod token_input;
mod verify;

use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use accessrules::geo::GeoDatabase;
use accessrules::{check, Limits, Options, Validation};
use anyhow::{anyhow, Context};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "accessrules",
    version,
    about = "Validate, explain and simulate the accessRules of Cloudflare Stream signed-URL tokens",
    after_help = "RULES is a file or - for standard input: a rule array, a token request body, a token payload or a JWT.\nTOKEN (verify, decode) is a file, -, the token itself, a URL holding it, or the API response.\nExit status: 0 ok, 1 invalid rules or token, 2 usage, I/O, key or GeoIP error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Report every error and warning in rule documents (one verdict each).
    Validate(ValidateArgs),
    /// Decide for one viewer (--ip) or for every viewer of a log (--input).
    Simulate(SimulateArgs),
    /// Show every rule, whether it matches a viewer and why, and the decision.
    Explain(ExplainArgs),
    /// Validate the rules, then sign a token with a signing key (RS256).
    Sign(sign::SignArgs),
    /// Check a token: signature, key id, time window, video and rules.
    Verify(verify::VerifyArgs),
    /// Show a token's header and payload (the signature is not checked).
    Decode(decode::DecodeArgs),
    /// Compare two rule documents: every region of viewers they decide
    /// differently (exit 0 equivalent, 1 different, 2 invalid or error).
    Diff(diff::DiffArgs),
    /// What a rule document does: per rule, the addresses and countries it decides.
    Report(report::ReportArgs),
}

#[derive(Args, Debug)]
struct RulesArgs {
    /// Rule document: a file path, or - for standard input.
    #[arg(value_name = "RULES")]
    rules: String,
    #[command(flatten)]
    check: CheckArgs,
}

/// How documents are checked.
#[derive(Args, Debug)]
struct CheckArgs {
    /// "Now" for the token time checks, in Unix seconds (default: the clock).
    #[arg(long, value_name = "UNIX_SECONDS", allow_negative_numbers = true)]
    now: Option<i64>,
    /// Largest rule document accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_document_bytes)]
    max_bytes: usize,
}

#[derive(Args, Debug)]
struct ValidateArgs {
    /// Rule documents: file paths, or - (once) for standard input.
    #[arg(value_name = "RULES", required = true, num_args = 1..)]
    files: Vec<String>,
    #[command(flatten)]
    check: CheckArgs,
    /// Output format (`json`: one object per document, one per line).
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Human)]
    format: DiagnosticFormat,
    /// Fail (exit 1) when there are warnings.
    #[arg(long)]
    deny_warnings: bool,
    /// Print a corrected document that decides the same for every viewer
    /// (the changes go to standard error); one document only.
    #[arg(long, conflicts_with_all = ["format", "deny_warnings"])]
    fix: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum DiagnosticFormat {
    Human,
    Json,
}

#[derive(Args, Debug)]
struct GeoArgs {
    /// MaxMind-format country database (default: the embedded geo-whois-asn-country).
    #[arg(long, value_name = "MMDB", env = "ACCESSRULES_GEOIP")]
    geoip: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("viewer").required(true).args(["ip", "input"]))]
struct SimulateArgs {
    #[command(flatten)]
    rules: RulesArgs,
    /// The viewer's address (IPv4, IPv6, or IPv4-mapped IPv6).
    #[arg(long, value_name = "IP")]
    ip: Option<String>,
    /// The viewer's country (ISO 3166-1 alpha-2, any case); skips GeoIP.
    #[arg(long, value_name = "CC", requires = "ip")]
    country: Option<String>,
    /// Viewer log; - for standard input. Plain `IP`/`IP,CC` lines, NDJSON
    /// (Cloudflare Logpush), CSV/TSV, or a web-server access log, found
    /// from the first lines; gzip or zstd found from the first bytes.
    #[arg(long, value_name = "FILE", conflicts_with = "ip")]
    input: Option<String>,
    /// The CSV column or NDJSON key holding the viewer's address.
    #[arg(long, value_name = "NAME", conflicts_with = "ip")]
    ip_field: Option<String>,
    /// The CSV column or NDJSON key holding the viewer's country (- for
    /// none: GeoIP decides).
    #[arg(long, value_name = "NAME", conflicts_with = "ip")]
    country_field: Option<String>,
    /// The column names of a CSV/TSV without a header line (Logpush's
    /// field list), comma-separated.
    #[arg(long, value_name = "NAMES", value_delimiter = ',', conflicts_with = "ip")]
    fields: Option<Vec<String>>,
    /// The end summary on standard error: `human`, or `json` (one object).
    #[arg(long, value_enum, default_value_t = SummaryFormat::Human, conflicts_with = "ip")]
    summary: SummaryFormat,
    #[command(flatten)]
    geo: GeoArgs,
    /// Output format (`json` with --input writes ndjson).
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    format: OutputFormat,
    /// Evaluator: `compiled`, or `reference` (the plain evaluator the
    /// benchmarks compare with; same output, much slower).
    #[arg(long, value_enum, default_value_t = evaluator::Engine::Compiled, hide = true)]
    engine: evaluator::Engine,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Human,
    Json,
    Ndjson,
    Tsv,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum SummaryFormat {
    Human,
    Json,
}

#[derive(Args, Debug)]
struct ExplainArgs {
    #[command(flatten)]
    rules: RulesArgs,
    /// The viewer's address.
    #[arg(long, value_name = "IP")]
    ip: String,
    /// The viewer's country (ISO 3166-1 alpha-2, any case); skips GeoIP.
    #[arg(long, value_name = "CC")]
    country: Option<String>,
    #[command(flatten)]
    geo: GeoArgs,
    /// Output format (`json`: one object, docs/semantics.md).
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Human)]
    format: DiagnosticFormat,
}

/// How a command ended, beyond success.
enum Failure {
    /// Exit 1: the rules are invalid (diagnostics already printed).
    Invalid,
    /// Exit 2: usage, I/O or GeoIP error, with the message to print.
    Error(anyhow::Error),
    /// Another exit status, everything already printed (`diff`: 1 when the
    /// documents differ, 2 when one is invalid).
    Status(u8),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure::Error(e)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure::Error(e.into())
    }
}

type Outcome = Result<(), Failure>;

pub fn main() -> ExitCode {
    // An empty ACCESSRULES_GEOIP means "not set", as for most variables.
    if std::env::var_os("ACCESSRULES_GEOIP").is_some_and(|v| v.is_empty()) {
        std::env::remove_var("ACCESSRULES_GEOIP");
    }
    // The version names the GeoIP databases: opened only when asked for.
    let asks_version = std::env::args_os().skip(1).any(|a| a == "--version" || a == "-V");
    let version = if asks_version { long_version() } else { env!("CARGO_PKG_VERSION").to_owned() };
    let command = Cli::command().version(version.clone()).long_version(version);
    let cli = match command.try_get_matches().and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    let outcome = match cli.command {
        Command::Validate(args) => validate(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Sign(args) => sign::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Decode(args) => decode::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Report(args) => report::run(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid) => ExitCode::from(1),
        Err(Failure::Status(code)) => ExitCode::from(code),
        Err(Failure::Error(e)) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(Failure::Error(e)) => {
            eprintln!("accessrules: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// `--version` with the embedded database's type and build date, and the
/// database `ACCESSRULES_GEOIP` selects, if any (docs/semantics.md).
fn long_version() -> String {
    let mut text = env!("CARGO_PKG_VERSION").to_owned();
    text.push_str(&match GeoDatabase::embedded() {
        Ok(db) => format!("\nembedded GeoIP database: {}", render::describe_database(&db)),
        Err(e) => format!("\nembedded GeoIP database: unusable: {e}"),
    });
    if let Some(path) = std::env::var_os("ACCESSRULES_GEOIP").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(path);
        text.push_str(&match GeoDatabase::open(&path) {
            Ok(db) => {
                let mut line = format!(
                    "\nACCESSRULES_GEOIP database {}: {}",
                    path.display(),
                    render::describe_database(&db)
                );
                if let Some(note) = render::unassigned_note(&db) {
                    line.push_str(&format!("\n  {note}"));
                }
                line
            }
            Err(e) => format!("\nACCESSRULES_GEOIP database: unusable: {e}"),
        });
    }
    text
}

/// Reads the rule document: a path or `-`, at most `max` bytes (one more
/// is read so that an oversized document is refused, never read whole).
fn read_rules(path: &str, args: &CheckArgs) -> anyhow::Result<(String, Vec<u8>)> {
    let limit = (args.max_bytes as u64).saturating_add(1);
    let mut bytes = Vec::new();
    if path == "-" {
        io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut bytes)
            .context("cannot read the rules from standard input")?;
        Ok(("<stdin>".into(), bytes))
    } else {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot open rules file {path}"))?;
        file.take(limit)
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read rules file {path}"))?;
        Ok((path.to_owned(), bytes))
    }
}

fn options(args: &CheckArgs) -> Options {
    let clock = match args.now {
        Some(now) => Options::at(now),
        None => Options::now(),
    };
    clock.with_limits(Limits { max_document_bytes: args.max_bytes, ..Limits::default() })
}

/// Colour on a terminal only, and never with `NO_COLOR` set (the README).
fn use_colour(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `validate FILE...`: one verdict per document, in the order given, and
/// the worst exit status (docs/semantics.md): 2 if a document could not be
/// read, else 1 if one is invalid (or has warnings with
/// `--deny-warnings`), else 0. A document that cannot be read is reported
/// and the others are still checked.
fn validate(args: ValidateArgs) -> Outcome {
    if args.files.iter().filter(|f| *f == "-").count() > 1 {
        return Err(anyhow!("standard input (-) can be read only once").into());
    }
    if args.fix {
        let [file] = &args.files[..] else {
            return Err(anyhow!(
                "--fix corrects one document at a time ({} given)",
                args.files.len()
            )
            .into());
        };
        let (name, bytes) = read_rules(file, &args.check)?;
        return fix(&check(&bytes, &options(&args.check)), &name);
    }
    let several = args.files.len() > 1;
    let colour = use_colour(io::stdout().is_terminal());
    let mut out = io::stdout().lock();
    // Once the reader is gone (`| head`), verdicts are still computed.
    let mut closed = false;
    let mut tally = [0usize; 3];
    for (i, file) in args.files.iter().enumerate() {
        let (status, written) = match read_rules(file, &args.check) {
            Err(e) => {
                let _ = out.flush();
                eprintln!("accessrules: error: {e:#}");
                let written = match args.format {
                    DiagnosticFormat::Json if !closed => {
                        render::write_json_error(&mut out, file, &format!("{e:#}"))
                    }
                    _ => Ok(()),
                };
                (2, written)
            }
            Ok((name, bytes)) => {
                let validation = check(&bytes, &options(&args.check));
                let written = match args.format {
                    _ if closed => Ok(()),
                    DiagnosticFormat::Json => render::write_json(&mut out, &validation, file),
                    DiagnosticFormat::Human => {
                        let gap = if several && i > 0 { writeln!(out) } else { Ok(()) };
                        gap.and_then(|()| render::write_human(&mut out, &validation, &name, colour))
                    }
                };
                let fails = !validation.is_valid()
                    || (args.deny_warnings && validation.warning_count() > 0);
                (usize::from(fails), written)
            }
        };
        tally[status] += 1;
        match written {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => closed = true,
            Err(e) => return Err(e.into()),
            Ok(()) => {}
        }
    }
    if several && args.format == DiagnosticFormat::Human && !closed {
        let [ok, failed, unreadable] = tally;
        let mut line = format!("{} documents: {ok} passed, {failed} failed", args.files.len());
        if unreadable > 0 {
            line.push_str(&format!(", {unreadable} unreadable"));
        }
        if let Err(e) = writeln!(out, "{line}") {
            if e.kind() != io::ErrorKind::BrokenPipe {
                return Err(e.into());
            }
        }
    }
    let _ = out.flush();
    match tally {
        [_, _, unreadable] if unreadable > 0 => Err(Failure::Status(2)),
        [_, failed, _] if failed > 0 => Err(Failure::Invalid),
        _ => Ok(()),
    }
}

/// `validate --fix`: the proven correction on standard output, the list of
/// changes on standard error; an invalid document gets its diagnostics
/// and exit 1.
fn fix(validation: &Validation, name: &str) -> Outcome {
    match accessrules::fix(validation) {
        Ok(fixed) => {
            let mut text = fixed.to_json_pretty();
            text.push('\n');
            let mut out = io::stdout().lock();
            io::Write::write_all(&mut out, text.as_bytes())?;
            io::Write::flush(&mut out)?;
            let mut err = io::stderr().lock();
            if fixed.changes.is_empty() {
                let _ = writeln!(err, "{name}: nothing to fix");
            }
            for c in &fixed.changes {
                let _ = writeln!(err, "{name}: {c}");
            }
            if validation.document().is_some_and(|d| d.form().is_signed_token()) {
                let _ = writeln!(err, "{name}: this is the corrected JWT payload; sign it again");
            }
            Ok(())
        }
        Err(e @ accessrules::FixError::TooManyRules { .. }) => {
            let colour = use_colour(io::stderr().is_terminal());
            render::write_human(&mut io::stderr().lock(), validation, name, colour)?;
            eprintln!("{name}: no fix: {e}");
            Err(Failure::Invalid)
        }
        Err(accessrules::FixError::Invalid) => {
            let colour = use_colour(io::stderr().is_terminal());
            render::write_human(&mut io::stderr().lock(), validation, name, colour)?;
            Err(Failure::Invalid)
        }
        Err(e) => Err(Failure::Error(anyhow!(e))),
    }
}

/// Validates the rules for `simulate`/`explain`: diagnostics of an invalid
/// document go to standard error and the command exits 1.
fn valid_rules(args: &RulesArgs) -> Result<Validation, Failure> {
    let (name, bytes) = read_rules(&args.rules, &args.check)?;
    let validation = check(&bytes, &options(&args.check));
    if !validation.is_valid() {
        let colour = use_colour(io::stderr().is_terminal());
        render::write_human(&mut io::stderr().lock(), &validation, &name, colour)?;
        return Err(Failure::Invalid);
    }
    let warnings = validation.warning_count();
    if warnings > 0 {
        let s = if warnings == 1 { "" } else { "s" };
        let arg = if args.rules == "-" { "-" } else { name.as_str() };
        eprintln!(
            "accessrules: {name}: {warnings} warning{s} (`accessrules validate {arg}` shows them)"
        );
    }
    Ok(validation)
}

/// The database of `--geoip` (or `ACCESSRULES_GEOIP`), else the embedded
/// one. A database given by the user that holds codes which are not
/// assigned gets one note on standard error naming them (docs/semantics.md).
fn open_geo(args: &GeoArgs) -> anyhow::Result<GeoDatabase> {
    // GeoError's message already includes its cause; keep it one line.
    match &args.geoip {
        Some(path) => {
            let db = GeoDatabase::open(path).map_err(|e| anyhow!(e.to_string()))?;
            if let Some(note) = render::unassigned_note(&db) {
                eprintln!("accessrules: note: GeoIP database {}: {note}", path.display());
            }
            Ok(db)
        }
        None => GeoDatabase::embedded().map_err(|e| anyhow!(e.to_string())),
    }
}

/// A viewer's address as given on the command line.
fn parse_viewer_ip(text: &str) -> anyhow::Result<std::net::IpAddr> {
    text.trim()
        .parse()
        .map_err(|_| anyhow!("invalid viewer address {text:?}: expected an IPv4 or IPv6 address"))
}

/// The note for a viewer no one at the edge can be (`simulate --ip`, `explain`).
fn special_note(ip: std::net::IpAddr) -> Option<String> {
    accessrules::input::special_purpose(ip).map(|what| {
        format!(
            "{} is in {what}: no viewer at the edge has such an address (the decision is what the rules would do with it)",
            ip.to_canonical()
        )
    })
}

/// A viewer's country as given on the command line (any case, the README).
fn parse_viewer_country(text: &str) -> anyhow::Result<accessrules::CountryCode> {
    accessrules::country::viewer_country(text).map_err(|e| anyhow!(e))
}
