//! `cargo xtask synth`: the environment's templates and each stage's parameter files, into `infra/cfn/`.
//!
//! Everything is validated first and every problem reported together; when anything is wrong, nothing
//! is written. Files are written atomically. `--check` writes nothing and fails when a committed file is
//! stale, with the command that fixes it.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use cfn::Format;
use pipeline_model::infra_layout;

use crate::util::{self, Mode};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    Yaml,
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Yaml => Format::Yaml,
            FormatArg::Json => Format::Json,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this stage (a file infra/stages/<STAGE>.yaml); default: every stage
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    /// Template format
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: FormatArg,
    /// Write here instead of infra/cfn/ (same layout)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Read the stage files from here instead of infra/stages/
    #[arg(long, value_name = "DIR")]
    pub stages: Option<PathBuf>,
    /// Write nothing; fail if a committed file is stale
    #[arg(long)]
    pub check: bool,
}

/// Everything synth produces, validated and passed through berth's rules (errors fail, warnings are
/// in `warnings`), relative to the repository root; nothing written.
pub fn generate(
    root: &Path,
    stages_dir: &Path,
    stage: Option<&str>,
    format: Format,
) -> Result<infra::Synthesized> {
    Ok(generate_with_stages(root, stages_dir, stage, format)?.0)
}

/// As [`generate`], and the stages it read (synth draws the README's graph from them).
fn generate_with_stages(
    root: &Path,
    stages_dir: &Path,
    stage: Option<&str>,
    format: Format,
) -> Result<(infra::Synthesized, Vec<infra::Stage>)> {
    let (mut synthesized, stages) = build(root, stages_dir, stage, format)?;
    apply_rules(&mut synthesized)?;
    Ok((synthesized, stages))
}

/// Runs berth's rules on what synth produced: errors fail, warnings join `warnings`.
fn apply_rules(synthesized: &mut infra::Synthesized) -> Result<()> {
    let reports = crate::lint_command::lint_synthesized(synthesized);
    let lines = crate::lint_command::render(&reports);
    let errors: usize = reports.iter().map(|r| r.report.errors()).sum();
    if errors > 0 {
        bail!(
            "{errors} lint error(s) in what synth produced; nothing written:\n{}",
            lines.join("\n")
        );
    }
    synthesized.warnings.extend(lines);
    Ok(())
}

/// As [`generate`], without berth's rules (for `cargo xtask lint`, which shows every finding).
pub fn generate_unchecked(
    root: &Path,
    stages_dir: &Path,
    stage: Option<&str>,
    format: Format,
) -> Result<infra::Synthesized> {
    Ok(build(root, stages_dir, stage, format)?.0)
}

fn build(
    root: &Path,
    stages_dir: &Path,
    stage: Option<&str>,
    format: Format,
) -> Result<(infra::Synthesized, Vec<infra::Stage>)> {
    let stages = match infra::load_stages(stages_dir, stage) {
        Ok(s) => s,
        Err(errors) => {
            let n = errors.len();
            let list: Vec<String> = errors.iter().map(|e| relative(root, &e.to_string())).collect();
            bail!(
                "{n} problem{} in the stage files:\n  {}",
                if n == 1 { "" } else { "s" },
                list.join("\n  ")
            );
        }
    };
    let mut synthesized =
        infra::synth(&stages, format).map_err(|e| anyhow::anyhow!(relative(root, &e.to_string())))?;
    // The buildspec is the app's: every stage builds with the same one.
    let apps: std::collections::BTreeSet<&str> = stages.iter().map(|s| s.app.as_str()).collect();
    if apps.len() > 1 {
        let list: Vec<String> = stages
            .iter()
            .map(|s| {
                format!(
                    "{}: app `{}`",
                    relative(root, &s.file.display().to_string()),
                    s.app
                )
            })
            .collect();
        bail!(
            "the stages name different apps ({}); one repository holds one app, built by one buildspec",
            list.join(", ")
        );
    }
    if let Some(app) = apps.first() {
        synthesized.files.push(infra::OutputFile {
            path: PathBuf::from(pipeline_model::BUILDSPEC_PATH),
            contents: app::buildspec::buildspec(app).to_yaml(),
        });
    }
    Ok((synthesized, stages))
}

fn relative(root: &Path, text: &str) -> String {
    text.replace(&format!("{}/", root.display()), "")
}

#[allow(clippy::print_stderr, reason = "progress of an xtask command")]
pub fn run(args: &Args) -> Result<()> {
    let root = util::project_root();
    let mode = Mode::from_check(args.check);
    if args.check && args.out.is_some() {
        bail!(
            "--check compares the committed files in {}; it does not take --out",
            infra_layout::CFN_DIR
        );
    }
    let stages_dir = args
        .stages
        .clone()
        .unwrap_or_else(|| root.join(infra::STAGES_DIR));
    let (synthesized, stages) =
        generate_with_stages(&root, &stages_dir, args.stage.as_deref(), args.format.into())?;
    for w in &synthesized.warnings {
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
    let mut changed = Vec::new();
    for f in &synthesized.files {
        let path = dest(&f.path);
        if util::sync_file(&path, &f.contents, mode)? {
            changed.push(path);
        }
    }
    // Parameter files of stages that no longer exist.
    if args.stage.is_none() && args.out.is_none() && args.stages.is_none() {
        let wanted: Vec<PathBuf> = synthesized.files.iter().map(|f| root.join(&f.path)).collect();
        for stale in stale_parameter_files(&root.join(infra_layout::CFN_DIR), &wanted) {
            if mode == Mode::Write {
                std::fs::remove_file(&stale)?;
                if let Some(dir) = stale.parent() {
                    let _ = std::fs::remove_dir(dir); // only when empty
                }
            }
            changed.push(stale);
        }
    }
    // The README's picture of the example stage, from the templates and stage just synthesized.
    let readme_stage = stages
        .iter()
        .find(|s| s.name.as_str() == crate::graph::README_STAGE);
    if let (None, None, Some(stage)) = (&args.out, &args.stages, readme_stage) {
        changed.extend(crate::graph::sync_readme(
            &root,
            &synthesized.templates,
            stage,
            mode,
        )?);
    }
    let fix = match &args.stage {
        Some(s) => format!("cargo xtask synth --stage {s}"),
        None => "cargo xtask synth".to_owned(),
    };
    util::report_sync(mode, &changed, &fix)?;
    if mode == Mode::Write {
        eprintln!(
            "synth: {} files ({} changed){}",
            synthesized.files.len(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn synthesized(template: serde_json::Value) -> infra::Synthesized {
        let body = serde_json::to_string_pretty(&template).unwrap();
        infra::Synthesized {
            files: vec![infra::OutputFile {
                path: PathBuf::from(infra_layout::template_path(
                    pipeline_model::Stack::Service,
                    "json",
                )),
                contents: body,
            }],
            warnings: Vec::new(),
            templates: vec![(pipeline_model::Stack::Service, template)],
        }
    }

    #[test]
    fn a_rule_error_fails_synth_and_a_warning_is_shown() {
        let bad = serde_json::json!({"Resources": {"Lc": {"Type": "AWS::AutoScaling::LaunchConfiguration",
            "Properties": {"ImageId": "ami-1", "InstanceType": "t3.small", "MetadataOptions": {"HttpTokens": "required"}}}}});
        let e = apply_rules(&mut synthesized(bad)).unwrap_err().to_string();
        assert!(
            e.contains("1 lint error(s) in what synth produced; nothing written"),
            "{e}"
        );
        assert!(
            e.contains("infra/cfn/service.json:3:5: error[BL306] Lc (Type)"),
            "{e}"
        );

        let warned = serde_json::json!({"Resources": {"Lt": {"Type": "AWS::EC2::LaunchTemplate",
            "Properties": {"LaunchTemplateData": {"MetadataOptions": {"HttpTokens": "required"},
                "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 30}}]}}}}});
        let mut s = synthesized(warned);
        apply_rules(&mut s).unwrap();
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert!(s.warnings[0].contains("warning[BL305]"), "{:?}", s.warnings);
    }
}
