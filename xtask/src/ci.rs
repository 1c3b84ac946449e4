//! `cargo xtask ci`: the one test entry point. If it passes here, CI passes.

use std::time::Instant;

use anyhow::Result;

use crate::{checkov, codegen, lint_templates, parliament, tools, util};

#[allow(clippy::print_stderr, reason = "progress of an xtask command")]
pub fn run() -> Result<()> {
    let started = Instant::now();
    let mut steps: Vec<(&str, f64)> = Vec::new();
    let mut step = |name: &'static str, f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        eprintln!("\n==> {name}");
        let t = Instant::now();
        f()?;
        steps.push((name, t.elapsed().as_secs_f64()));
        Ok(())
    };
    // Two workspaces: the main one, and the AWS half (crates/berth-aws, its own lock file).
    let aws = ["--manifest-path", util::AWS_MANIFEST];
    step("cargo fmt --check", &mut || {
        util::run(util::cargo().args(["fmt", "--all", "--check"]))?;
        util::run(util::cargo().args(["fmt", "--all", "--check"]).args(aws))
    })?;
    step("cargo clippy", &mut || {
        let lint = ["--all-targets", "--", "-D", "warnings"];
        util::run(util::cargo().args(["clippy", "--workspace"]).args(lint))?;
        util::run(util::cargo().arg("clippy").args(aws).args(lint))
    })?;
    let mut py = None;
    step("provision Python tools", &mut || {
        py = Some(tools::python_tools()?);
        Ok(())
    })?;
    let py = py.expect("provisioned above");
    let mut ls = None;
    step("provision LocalStack", &mut || {
        ls = Some(tools::localstack_tools()?);
        Ok(())
    })?;
    let ls = ls.expect("provisioned above");
    let mut ck = None;
    step("provision checkov", &mut || {
        ck = Some(tools::checkov_tools()?);
        Ok(())
    })?;
    let ck = ck.expect("provisioned above");
    step("generated resource types are fresh", &mut || {
        codegen::run(util::Mode::Check)
    })?;
    step("synth --check", &mut || {
        crate::synth::run(&cli::SynthArgs {
            stage: None,
            format: cli::TemplateFormat::Yaml,
            out: None,
            stages: None,
            check: true,
        })
    })?;
    step(
        "cfn-lint on the synthesized templates, for every stage",
        &mut || lint_templates::run(&py, "yaml"),
    )?;
    step("checkov on the synthesized templates", &mut || checkov::run(&ck))?;
    step("parliament on every policy document", &mut || {
        parliament::run(&py)
    })?;
    step("cargo test", &mut || {
        for args in [&["--workspace"][..], &aws[..]] {
            util::run(
                util::cargo()
                    .arg("test")
                    .args(args)
                    .env("BERTH_TOOLS_BIN", &py.bin)
                    .env("BERTH_LOCALSTACK_BIN", &ls.bin),
            )?;
        }
        Ok(())
    })?;
    eprintln!("\nci passed in {:.1}s", started.elapsed().as_secs_f64());
    for (name, secs) in steps {
        eprintln!("  {secs:>6.1}s  {name}");
    }
    Ok(())
}
