//! berth's command line: `cargo xtask <command>`.
//!
//! This file only parses flags and dispatches; each command is its own module. Every command runs
//! from the repository root, wherever cargo was called from.

mod bench;
mod ci;
mod codegen;
mod lint_templates;
mod synth;
mod tools;
mod util;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "berth: the ECS-on-EC2 CI/CD environment as typed code",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Measure synth: in process, as a warm command, and (--cold) from a fresh clone
    Bench(bench::Args),
    /// Run every check CI runs: fmt, clippy, tests, generated-file freshness, template checks
    Ci,
    /// Regenerate the CloudFormation resource types from the pinned cfn-lint's schemas
    Codegen {
        /// Fail if the committed files are stale instead of writing them
        #[arg(long)]
        check: bool,
    },
    /// Synthesize the templates and every stage's parameter files into infra/cfn/
    Synth(synth::Args),
    /// Provision the pinned Python tools (cfn-lint, ...) under target/tools and print their location
    Tools,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        // No command: list them, as `--help` does.
        let _ = <Cli as clap::CommandFactory>::command().print_help();
        return ExitCode::SUCCESS;
    };
    let result = match command {
        Cmd::Bench(args) => bench::run(&args),
        Cmd::Ci => ci::run(),
        Cmd::Codegen { check } => codegen::run(util::Mode::from_check(check)),
        Cmd::Synth(args) => synth::run(&args),
        Cmd::Tools => tools::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::FAILURE
        }
    }
}

/// Prints an error and its causes; a `hint:` line inside a message is kept as written.
#[allow(clippy::print_stderr, reason = "the CLI's error output")]
fn report(e: &anyhow::Error) {
    eprintln!("error: {e}");
    for cause in e.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}
