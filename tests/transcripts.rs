//! The command-line transcripts of the documentation, run: every ```console
//! block of README.md and docs/*.md is a list of `$ accessrules ...`
//! commands with their expected output (standard output and standard error
//! together; `? N` gives the exit status when it is not 0; `...` stands for
//! any lines and `[..]` for any text within a line). Blocks that must not run
//! (cargo commands, output that depends on the clock or the machine) use
//! another info string (`text`, `sh`). trycmd turns every `\` of the output
//! into `/` (path normalisation), so a transcript whose output holds a
//! backslash (JSON with escaped quotes) cannot pass: pick another example.
//!
//! `TRYCMD=overwrite cargo test --test main transcripts` rewrites the
//! expected outputs from the current binary.

#[test]
fn transcripts() {
    trycmd::TestCases::new()
        .register_bin("accessrules", std::path::Path::new(env!("CARGO_BIN_EXE_accessrules")))
        .env("NO_COLOR", "1")
        .case("README.md")
        .case("docs/*.md");
}
