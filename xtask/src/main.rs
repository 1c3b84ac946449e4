//! berth's command line: `cargo xtask <command>`.
//!
//! This file only parses flags and dispatches; each command is its own module. The whole command
//! line is parsed here, with the grammar of `crates/cli`, before anything runs: `--help` and usage
//! errors of every command answer without building the AWS half. The commands that talk to AWS are
//! then handed, argv unchanged, to `crates/berth-aws`'s binary ([`aws_commands`]). Every command runs
//! from the repository root, wherever cargo was called from.

mod aws_commands;
mod bench;
mod bench_deploy;
mod checkov;
mod ci;
mod codegen;
mod docs;
mod graph;
mod lint_command;
mod lint_templates;
mod parliament;
mod permissions_data;
mod plan;
mod resource_types;
mod synth;
mod tools;
mod util;

use std::process::ExitCode;

use cli::{Cli, Code, Command};

fn main() -> ExitCode {
    let cli = match Cli::parse_args(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors; a usage error exits 64 (EX_USAGE), so that 2 can
            // mean "there are changes" (`diff --exit-code`).
            cli::print_error(&e);
            return ExitCode::from(cli::clap_exit_code(&e).number());
        }
    };
    let Some(command) = cli.command else {
        // No command: list them, as `--help` does.
        #[allow(clippy::print_stdout, reason = "the command's output")]
        {
            print!("{}", cli::help());
        }
        return ExitCode::SUCCESS;
    };
    let result = match command {
        Command::Bench(args) => bench::run(&args),
        Command::Ci => ci::run(),
        Command::Codegen(args) => {
            let mode = util::Mode::from_check(args.check);
            // The reference first: the lint rule's list is generated from it.
            match &args.permissions_from {
                Some(git_dir) => permissions_data::refresh(git_dir, mode),
                None => Ok(()),
            }
            .and_then(|()| codegen::run(mode))
        }
        Command::Synth(args) => synth::run(&args),
        Command::Lint(args) => lint_command::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Tools => tools::run(),
        // Parsed (so that their usage errors and help came from here), then handed on unchanged.
        Command::Deploy(_)
        | Command::Diff(_)
        | Command::Destroy(_)
        | Command::Status(_)
        | Command::Rollback(_)
        | Command::Secrets(_)
        | Command::Ami(_)
        | Command::Pipeline(_)
        | Command::Service(_)
        | Command::Logs(_)
        | Command::Drift(_) => aws_commands::run(std::env::args_os().skip(1).collect()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::from(Code::Error.number())
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
