//! The `accessrules` command-line tool (SPEC §4).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
