//! berth's command line: `cargo xtask <command>`.
//!
//! This file only parses flags and dispatches; each command is its own module. Every command runs
//! from the repository root, wherever cargo was called from.

mod aws_commands;
mod bench;
mod bench_deploy;
mod checkov;
mod ci;
mod codegen;
mod graph;
mod lint_command;
mod lint_templates;
mod synth;
mod tools;
mod util;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "berth: the ECS-on-EC2 CI/CD environment as typed code",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

/// The arguments of a command that `berth-aws` runs.
#[derive(clap::Args)]
struct Forwarded {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<std::ffi::OsString>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Measure synth (in process, warm, --cold from a fresh clone) or --deploy against the AWS CLI
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
    /// Run berth's own rules on the environment, or on template and buildspec files
    Lint(lint_command::Args),
    /// Draw the environment: both stacks, their references, the pipeline (Mermaid or DOT)
    Graph(graph::Args),
    /// Deploy a stack of a stage through a change set (see `cargo xtask deploy --help`)
    #[command(disable_help_flag = true)]
    Deploy(Forwarded),
    /// Show the change set a deploy would execute, then delete it
    #[command(disable_help_flag = true)]
    Diff(Forwarded),
    /// Delete a stack of a stage (retained resources stay)
    #[command(disable_help_flag = true)]
    Destroy(Forwarded),
    /// A stack's status, recent events and outputs
    #[command(disable_help_flag = true)]
    Status(Forwarded),
    /// Continue the rollback of a stack in UPDATE_ROLLBACK_FAILED
    #[command(disable_help_flag = true)]
    Rollback(Forwarded),
    /// The app's secrets in SSM Parameter Store: put (value from stdin or a prompt), list, rm, check
    #[command(disable_help_flag = true)]
    Secrets(Forwarded),
    /// Provision the pinned Python tools (cfn-lint, ...) under target/tools and print their location
    Tools,
}

/// The exit code of a usage error (sysexits' EX_USAGE).
const USAGE: u8 = 64;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors; a usage error exits 64 (EX_USAGE), as the AWS
            // commands do, so that 2 can mean "there are changes" (`diff --exit-code`).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { USAGE } else { 0 });
        }
    };
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
        Cmd::Lint(args) => lint_command::run(&args),
        Cmd::Graph(args) => graph::run(&args),
        Cmd::Tools => tools::run(),
        Cmd::Deploy(f) => aws_commands::run("deploy", &f.args),
        Cmd::Diff(f) => aws_commands::run("diff", &f.args),
        Cmd::Destroy(f) => aws_commands::run("destroy", &f.args),
        Cmd::Status(f) => aws_commands::run("status", &f.args),
        Cmd::Rollback(f) => aws_commands::run("rollback", &f.args),
        Cmd::Secrets(f) => aws_commands::run("secrets", &f.args),
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
