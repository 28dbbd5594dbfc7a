//! Command-line front end: arguments, reading inputs, exit statuses.
//!
//! Exit statuses (the README): 0 success; 1 the rules are invalid (or, with
//! `--deny-warnings`, have warnings); 2 usage, I/O or GeoIP errors. A
//! broken pipe on output is a quiet success.

mod decompress;
mod evaluator;
mod explain;
mod interrupt;
mod ip_text;
mod output;
mod render;
mod simulate;
mod stream;

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
    after_help = "RULES is a file or - for standard input: a rule array, a token request body, a token payload or a JWT.\nExit status: 0 ok, 1 invalid rules, 2 usage, I/O or GeoIP error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Report every error and warning in a rule document.
    Validate(ValidateArgs),
    /// Decide for one viewer (--ip) or for every viewer of a log (--input).
    Simulate(SimulateArgs),
    /// Show every rule, whether it matches a viewer and why, and the decision.
    Explain(ExplainArgs),
}

#[derive(Args, Debug)]
struct RulesArgs {
    /// Rule document: a file path, or - for standard input.
    #[arg(value_name = "RULES")]
    rules: String,
    /// "Now" for the token time checks, in Unix seconds (default: the clock).
    #[arg(long, value_name = "UNIX_SECONDS", allow_negative_numbers = true)]
    now: Option<i64>,
    /// Largest rule document accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_document_bytes)]
    max_bytes: usize,
}

#[derive(Args, Debug)]
struct ValidateArgs {
    #[command(flatten)]
    rules: RulesArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Human)]
    format: DiagnosticFormat,
    /// Fail (exit 1) when there are warnings.
    #[arg(long)]
    deny_warnings: bool,
    /// Print a corrected document that decides the same for every viewer
    /// (the changes go to standard error).
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
    #[arg(long, value_name = "NAME", requires = "input")]
    ip_field: Option<String>,
    /// The CSV column or NDJSON key holding the viewer's country (- for
    /// none: GeoIP decides).
    #[arg(long, value_name = "NAME", requires = "input")]
    country_field: Option<String>,
    /// The column names of a CSV/TSV without a header line (Logpush's
    /// field list), comma-separated.
    #[arg(long, value_name = "NAMES", value_delimiter = ',', requires = "input")]
    fields: Option<Vec<String>>,
    /// The end summary on standard error: `human`, or `json` (one object).
    #[arg(long, value_enum, default_value_t = SummaryFormat::Human, requires = "input")]
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
}

/// How a command ended, beyond success.
enum Failure {
    /// Exit 1: the rules are invalid (diagnostics already printed).
    Invalid,
    /// Exit 2: usage, I/O or GeoIP error, with the message to print.
    Error(anyhow::Error),
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
    let version = long_version();
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
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid) => ExitCode::from(1),
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

/// `--version` with the embedded database's type and build date (docs/semantics.md).
fn long_version() -> String {
    let geo = match GeoDatabase::embedded() {
        Ok(db) => format!("embedded GeoIP database: {}", render::describe_database(&db)),
        Err(e) => format!("embedded GeoIP database: unusable: {e}"),
    };
    format!("{}\n{geo}", env!("CARGO_PKG_VERSION"))
}

/// Reads the rule document: a path or `-`, at most `max` bytes (one more
/// is read so that an oversized document is refused, never read whole).
fn read_rules(args: &RulesArgs) -> anyhow::Result<(String, Vec<u8>)> {
    let limit = (args.max_bytes as u64).saturating_add(1);
    let mut bytes = Vec::new();
    if args.rules == "-" {
        io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut bytes)
            .context("cannot read the rules from standard input")?;
        Ok(("<stdin>".into(), bytes))
    } else {
        let file = std::fs::File::open(&args.rules)
            .with_context(|| format!("cannot open rules file {}", args.rules))?;
        file.take(limit)
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read rules file {}", args.rules))?;
        Ok((args.rules.clone(), bytes))
    }
}

fn options(args: &RulesArgs) -> Options {
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

fn validate(args: ValidateArgs) -> Outcome {
    let (name, bytes) = read_rules(&args.rules)?;
    let validation = check(&bytes, &options(&args.rules));
    let mut out = io::stdout().lock();
    if args.fix {
        return fix(&validation, &name);
    }
    let written = match args.format {
        DiagnosticFormat::Json => render::write_json(&mut out, &validation),
        DiagnosticFormat::Human => {
            let colour = use_colour(io::stdout().is_terminal());
            render::write_human(&mut out, &validation, &name, colour)
        }
    };
    // A reader that went away (`| head`) does not change the verdict.
    match written {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    if !validation.is_valid() || (args.deny_warnings && validation.warning_count() > 0) {
        return Err(Failure::Invalid);
    }
    Ok(())
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
            if validation.document().is_some_and(|d| d.form() == accessrules::InputForm::Jwt) {
                let _ = writeln!(err, "{name}: this is the corrected JWT payload; sign it again");
            }
            Ok(())
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
    let (name, bytes) = read_rules(args)?;
    let validation = check(&bytes, &options(args));
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

fn open_geo(args: &GeoArgs) -> anyhow::Result<GeoDatabase> {
    // GeoError's message already includes its cause; keep it one line.
    match &args.geoip {
        Some(path) => GeoDatabase::open(path).map_err(|e| anyhow!(e.to_string())),
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
