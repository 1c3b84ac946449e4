//! `cargo xtask ci`: the one test entry point. If it passes here, CI passes.

use std::time::Instant;

use anyhow::Result;

use crate::{checkov, codegen, lint_templates, parliament, tools, util};

#[allow(clippy::print_stderr, reason = "progress of an xtask command")]
pub fn run() -> Result<()> {
    let started = Instant::now();
    let mut steps: Vec<(&str, f64)> = Vec::new();
    // The Python tools download while cargo compiles: pip waits on the network, clippy on the CPU.
    let provisioning = std::thread::spawn(provision_all);
    // Two workspaces: the main one, and the AWS half (crates/berth-aws, its own lock file).
    let aws = ["--manifest-path", util::AWS_MANIFEST];
    step(&mut steps, "cargo fmt --check", || {
        util::run(util::cargo().args(["fmt", "--all", "--check"]))?;
        util::run(util::cargo().args(["fmt", "--all", "--check"]).args(aws))
    })?;
    step(&mut steps, "cargo clippy", || {
        let lint = ["--all-targets", "--", "-D", "warnings"];
        util::run(util::cargo().args(["clippy", "--workspace"]).args(lint))?;
        util::run(util::cargo().arg("clippy").args(aws).args(lint))
    })?;
    let (py, ls, ck) = step_join(&mut steps, provisioning)?;
    step(&mut steps, "generated resource types are fresh", || {
        codegen::run(util::Mode::Check)
    })?;
    step(&mut steps, "synth --check", || {
        crate::synth::run(&cli::SynthArgs {
            stage: None,
            format: cli::TemplateFormat::Yaml,
            out: None,
            stages: None,
            check: true,
        })
    })?;
    step(
        &mut steps,
        "cfn-lint on the synthesized templates, for every stage",
        || lint_templates::run(&py, "yaml"),
    )?;
    step(&mut steps, "checkov on the synthesized templates", || {
        checkov::run(&ck)
    })?;
    step(&mut steps, "parliament on every policy document", || {
        parliament::run(&py)
    })?;
    step(&mut steps, "cargo test", || {
        let tools = |cmd: &mut std::process::Command| {
            cmd.env("BERTH_TOOLS_BIN", &py.bin)
                .env("BERTH_LOCALSTACK_BIN", &ls.bin);
        };
        // berth-aws first: its test build leaves target/debug/berth-aws, which the main workspace's
        // tests then run through xtask instead of compiling the SDK a second time without `test-util`.
        let mut aws_tests = util::cargo();
        aws_tests.arg("test").args(aws);
        tools(&mut aws_tests);
        util::run(&mut aws_tests)?;
        let mut main_tests = util::cargo();
        main_tests.args(["test", "--workspace"]).env(
            crate::aws_commands::BINARY_VAR,
            util::target_dir().join("debug/berth-aws"),
        );
        tools(&mut main_tests);
        util::run(&mut main_tests)
    })?;
    eprintln!("\nci passed in {:.1}s", started.elapsed().as_secs_f64());
    for (name, secs) in steps {
        eprintln!("  {secs:>6.1}s  {name}");
    }
    Ok(())
}

/// Runs one named step of CI, prints its heading and records its time.
#[allow(clippy::print_stderr, reason = "progress of an xtask command")]
fn step(
    steps: &mut Vec<(&'static str, f64)>,
    name: &'static str,
    f: impl FnOnce() -> Result<()>,
) -> Result<()> {
    eprintln!("\n==> {name}");
    let t = Instant::now();
    f()?;
    steps.push((name, t.elapsed().as_secs_f64()));
    Ok(())
}

type Provisioned = (tools::PythonTools, tools::PythonTools, tools::PythonTools);

/// The three pinned Python environments, one after the other (pip's cache is shared), with their times.
fn provision_all() -> Result<(Provisioned, [f64; 3])> {
    let timed = |f: fn() -> Result<tools::PythonTools>| -> Result<(tools::PythonTools, f64)> {
        let t = Instant::now();
        Ok((f()?, t.elapsed().as_secs_f64()))
    };
    let (py, a) = timed(tools::python_tools)?;
    let (ls, b) = timed(tools::localstack_tools)?;
    let (ck, c) = timed(tools::checkov_tools)?;
    Ok(((py, ls, ck), [a, b, c]))
}

/// Waits for the provisioning thread; records how long each environment took and how long CI waited.
#[allow(clippy::print_stderr, reason = "progress of an xtask command")]
fn step_join(
    steps: &mut Vec<(&'static str, f64)>,
    provisioning: std::thread::JoinHandle<Result<(Provisioned, [f64; 3])>>,
) -> Result<Provisioned> {
    eprintln!("\n==> provision Python tools (started beside fmt and clippy)");
    let t = Instant::now();
    let (tools, [a, b, c]) = provisioning
        .join()
        .map_err(|_| anyhow::anyhow!("the provisioning thread panicked"))??;
    steps.push(("waited for the Python tools", t.elapsed().as_secs_f64()));
    steps.push(("  of which cfn-lint, moto, AWS CLI (concurrent)", a));
    steps.push(("  of which LocalStack (concurrent)", b));
    steps.push(("  of which checkov (concurrent)", c));
    Ok(tools)
}
