//! `cargo xtask synth`: the environment's templates, each stage's parameter files and the buildspec,
//! as `environment` builds and gates them, written to `infra/cfn/` (and `app/`), and the README's
//! generated blocks.
//!
//! When anything is wrong, every problem is reported together and nothing is written: the stage files
//! and templates, and where the files go (every write is planned and checked first, then each file is
//! written to a temporary file and renamed into place only when all are written). `--check` writes nothing and fails when a committed file is stale, with the
//! command that fixes it.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use cli::SynthArgs;
use environment::{Environment, Inputs};
use pipeline_model::infra_layout;

use crate::util::{self, Mode};

/// The environment as the command line names it: every stage, or one, from a stage directory.
pub fn inputs(
    root: &Path,
    stages: Option<&Path>,
    stage: Option<&str>,
    format: cli::TemplateFormat,
) -> Inputs {
    Inputs::new(root)
        .stages_dir(stages)
        .only(stage)
        .format(match format {
            cli::TemplateFormat::Yaml => cfn::Format::Yaml,
            cli::TemplateFormat::Json => cfn::Format::Json,
        })
}

#[allow(clippy::print_stderr, reason = "progress of an xtask command")]
pub fn run(args: &SynthArgs) -> Result<()> {
    let root = util::project_root();
    let mode = Mode::from_check(args.check);
    if args.check && args.out.is_some() {
        bail!(
            "--check compares the committed files in {}; it does not take --out",
            infra_layout::CFN_DIR
        );
    }
    let inputs = inputs(&root, args.stages.as_deref(), args.stage.as_deref(), args.format);
    let env = Environment::load(&inputs).map_err(|e| anyhow::anyhow!("{e}\nnothing written"))?;
    for w in env.warnings() {
        eprintln!("warning: {w}");
    }
    let dest = |p: &Path| -> PathBuf {
        match &args.out {
            // With --out everything lands in DIR: infra/cfn/x as DIR/x, app/buildspec.yml as DIR/buildspec.yml.
            Some(out) => out.join(
                p.strip_prefix(infra_layout::CFN_DIR)
                    .unwrap_or_else(|_| Path::new(p.file_name().unwrap_or_default())),
            ),
            None => root.join(p),
        }
    };
    // Every write planned first; none happens unless all can (util::Plan).
    let mut plan = util::Plan::default();
    let mut changed = Vec::new();
    for f in env.files() {
        let path = dest(&f.path);
        if plan.sync(&path, &f.contents) {
            changed.push(path);
        }
    }
    if args.out.is_none() && args.stages.is_none() {
        // Parameter files of stages that no longer exist.
        if args.stage.is_none() {
            let wanted: Vec<PathBuf> = env.files().iter().map(|f| root.join(&f.path)).collect();
            for stale in stale_parameter_files(&root.join(infra_layout::CFN_DIR), &wanted) {
                plan.remove(&stale);
                changed.push(stale);
            }
        }
        // The README's graph and the exit-code tables, from what was just synthesized.
        changed.extend(crate::docs::sync(&root, &env, &mut plan, args.stage.is_none())?);
    }
    if mode == Mode::Write {
        plan.apply()?;
    }
    let fix = match &args.stage {
        Some(s) => format!("cargo xtask synth --stage {s}"),
        None => "cargo xtask synth".to_owned(),
    };
    util::report_sync(mode, &changed, &fix)?;
    if mode == Mode::Write {
        eprintln!(
            "synth: {} files ({} changed){}",
            env.files().len(),
            changed.len(),
            args.out
                .as_deref()
                .map(|o| format!(" in {}", o.display()))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// `infra/cfn/<stage>/*.json` files that synth did not produce.
fn stale_parameter_files(cfn_dir: &Path, wanted: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(cfn_dir) else {
        return out;
    };
    for d in dirs.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
        let Ok(files) = std::fs::read_dir(&d) else {
            continue;
        };
        for f in files.flatten().map(|e| e.path()) {
            if f.extension().is_some_and(|x| x == "json") && !wanted.contains(&f) {
                out.push(f);
            }
        }
    }
    out.sort();
    out
}
