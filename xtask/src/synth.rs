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
    if args.format == cli::TemplateFormat::Json && args.out.is_none() {
        bail!(
            "--format json: {} holds the committed YAML templates (what `synth --check` compares); \
             expected --out DIR with --format json",
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
    let mut removed = Vec::new();
    for f in env.files() {
        let path = dest(&f.path);
        if plan.sync(&path, &f.contents) {
            changed.push(path);
        }
    }
    if args.out.is_none() && args.stages.is_none() {
        // Templates and parameter files synth no longer makes (a stage removed, a stack renamed).
        if args.stage.is_none() {
            let wanted: Vec<PathBuf> = env.files().iter().map(|f| root.join(&f.path)).collect();
            for stale in stale_files(&root.join(infra_layout::CFN_DIR), &wanted) {
                plan.remove(&stale);
                removed.push(stale);
            }
        }
        // The README's graph and the exit-code tables, from what was just synthesized.
        changed.extend(crate::docs::sync(&root, &env, &mut plan, args.stage.is_none())?);
    }
    if mode == Mode::Write {
        plan.apply()?;
    }
    util::report_sync(mode, &changed, &removed, &fix_command(args))?;
    if mode == Mode::Check {
        eprintln!("synth --check: {} files up to date", env.files().len());
    } else {
        eprintln!(
            "synth: {} files ({} changed){}",
            env.files().len(),
            changed.len() + removed.len(),
            args.out
                .as_deref()
                .map(|o| format!(" in {}", o.display()))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// The command that brings the files `args` compare up to date: the same stage selection and stage
/// directory (what `--check` compared is what the fix writes).
fn fix_command(args: &SynthArgs) -> String {
    let mut fix = "cargo xtask synth".to_owned();
    if let Some(s) = &args.stage {
        fix.push_str(&format!(" --stage {}", cli::shell_quote(s)));
    }
    if let Some(dir) = &args.stages {
        fix.push_str(&format!(
            " --stages {}",
            cli::shell_quote(&dir.display().to_string())
        ));
    }
    fix
}

/// Templates of berth's stacks in another format (`infra/cfn/service.json` beside `service.yaml`) and
/// parameter files (`infra/cfn/<stage>/*.json`) that synth did not produce. Any other file there (a
/// hand-written template, a `.cfnlintrc.yaml`) is not synth's, and is left alone.
fn stale_files(cfn_dir: &Path, wanted: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(cfn_dir) else {
        return out;
    };
    let is = |f: &Path, exts: &[&str]| f.extension().is_some_and(|x| exts.iter().any(|e| x == *e));
    for p in entries.flatten().map(|e| e.path()) {
        if p.is_dir() {
            let Ok(files) = std::fs::read_dir(&p) else {
                continue;
            };
            out.extend(
                files
                    .flatten()
                    .map(|e| e.path())
                    .filter(|f| f.is_file() && is(f, &["json"]) && !wanted.contains(f)),
            );
        } else if p.is_file()
            && is(&p, &["yaml", "yml", "json"])
            && p.file_stem()
                .is_some_and(|stem| pipeline_model::Stack::ALL.iter().any(|s| stem == s.suffix()))
            && !wanted.contains(&p)
        {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_synth_no_longer_makes_are_stale_and_nothing_else_is() {
        let dir = tempfile::tempdir().unwrap();
        let cfn = dir.path();
        std::fs::create_dir_all(cfn.join("dev")).unwrap();
        std::fs::create_dir_all(cfn.join("gone")).unwrap();
        for f in [
            "pipeline.yaml",
            "service.yaml",
            "pipeline.json",
            "service.yml",
            "old-stack.yml",
            ".cfnlintrc.yaml",
            "NOTES.md",
            "dev/pipeline.json",
            "dev/notes.txt",
            "gone/service.json",
        ] {
            std::fs::write(cfn.join(f), "x").unwrap();
        }
        let wanted: Vec<PathBuf> = ["pipeline.yaml", "service.yaml", "dev/pipeline.json"]
            .iter()
            .map(|f| cfn.join(f))
            .collect();
        let stale: Vec<String> = stale_files(cfn, &wanted)
            .iter()
            .map(|p| p.strip_prefix(cfn).unwrap().display().to_string())
            .collect();
        assert_eq!(stale, ["gone/service.json", "pipeline.json", "service.yml"]);
    }

    #[test]
    fn the_fix_repeats_the_stage_and_the_stage_files() {
        let args = |stage: Option<&str>, stages: Option<&str>| SynthArgs {
            stage: stage.map(str::to_owned),
            format: cli::TemplateFormat::Yaml,
            out: None,
            stages: stages.map(PathBuf::from),
            check: true,
        };
        assert_eq!(fix_command(&args(None, None)), "cargo xtask synth");
        assert_eq!(
            fix_command(&args(Some("dev"), Some("/tmp/my stages"))),
            "cargo xtask synth --stage dev --stages '/tmp/my stages'"
        );
    }
}
