//! The `accessrules` command-line tool (the README).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
