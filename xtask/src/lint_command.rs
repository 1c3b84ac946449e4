//! `cargo xtask lint`: berth's own rules (crates/lint) on the environment, or on any template or
//! buildspec files given.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use cfn::Format;
use pipeline_model::{Stack, infra_layout};

use crate::util;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Template (YAML or JSON) or buildspec files; none: the environment, synthesized in memory
    pub files: Vec<PathBuf>,
    /// List the rules and exit
    #[arg(long)]
    pub rules: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

/// The findings of one file.
pub struct FileReport {
    /// As shown: relative to the repository root when inside it.
    pub file: String,
    pub report: lint::Report,
}

/// Lints what synth produces: each template with its rendered text (for lines), and the buildspec.
pub fn lint_synthesized(synthesized: &infra::Synthesized) -> Vec<FileReport> {
    let mut out = Vec::new();
    for (stack, value) in &synthesized.templates {
        let rendered = synthesized.files.iter().find(|f| is_template_of(&f.path, *stack));
        out.push(FileReport {
            file: rendered.map_or_else(|| format!("{stack} template"), |f| f.path.display().to_string()),
            report: lint::lint_template(value, rendered.map(|f| f.contents.as_str())),
        });
    }
    for f in &synthesized.files {
        if f.path == Path::new(pipeline_model::BUILDSPEC_PATH) {
            out.push(FileReport {
                file: f.path.display().to_string(),
                report: lint::Report {
                    findings: lint::lint_buildspec(&f.contents),
                    suppressed: Vec::new(),
                },
            });
        }
    }
    out
}

fn is_template_of(path: &Path, stack: Stack) -> bool {
    ["yaml", "json"]
        .iter()
        .any(|ext| path == Path::new(&infra_layout::template_path(stack, ext)))
}

/// `file:line:col: error[BL101] ...` lines for the findings, errors first.
pub fn render(reports: &[FileReport]) -> Vec<String> {
    let mut lines = Vec::new();
    for r in reports {
        for f in &r.report.findings {
            let at = f
                .location
                .as_ref()
                .map(|l| format!("{}:{}:{}", r.file, l.line, l.column))
                .unwrap_or_else(|| r.file.clone());
            lines.push((f.severity(), format!("{at}: {f}")));
        }
    }
    lines.sort_by_key(|(s, _)| *s);
    lines.into_iter().map(|(_, l)| l).collect()
}

fn json(reports: &[FileReport]) -> serde_json::Value {
    let findings: Vec<serde_json::Value> = reports
        .iter()
        .flat_map(|r| {
            r.report.findings.iter().map(move |f| {
                serde_json::json!({
                    "file": r.file,
                    "line": f.location.as_ref().map(|l| l.line),
                    "column": f.location.as_ref().map(|l| l.column),
                    "code": f.code(),
                    "severity": f.severity().to_string(),
                    "resource": f.resource,
                    "path": f.path,
                    "message": f.message,
                    "hint": f.rule.hint,
                })
            })
        })
        .collect();
    let suppressed: Vec<serde_json::Value> = reports
        .iter()
        .flat_map(|r| {
            r.report.suppressed.iter().map(move |(f, reason)| {
                serde_json::json!({"file": r.file, "code": f.code(), "resource": f.resource, "reason": reason})
            })
        })
        .collect();
    serde_json::json!({"findings": findings, "suppressed": suppressed})
}

#[allow(clippy::print_stdout, clippy::print_stderr, reason = "the command's output")]
pub fn run(args: &Args) -> Result<()> {
    if args.rules {
        for r in lint::rules() {
            println!("{}  {:<7}  {}", r.code, r.severity.to_string(), r.summary);
        }
        return Ok(());
    }
    let root = util::project_root();
    let reports = if args.files.is_empty() {
        let synthesized =
            crate::synth::generate_unchecked(&root, &root.join(infra::STAGES_DIR), None, Format::Yaml)?;
        lint_synthesized(&synthesized)
    } else {
        let mut reports = Vec::new();
        for path in &args.files {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!(
                    "reading {}: expected a template (YAML or JSON) or a buildspec",
                    path.display()
                )
            })?;
            let (_, report) = lint::lint_text(&text);
            let shown = path.strip_prefix(&root).unwrap_or(path).display().to_string();
            reports.push(FileReport { file: shown, report });
        }
        reports
    };
    let errors: usize = reports.iter().map(|r| r.report.errors()).sum();
    let warnings: usize = reports.iter().map(|r| r.report.findings.len()).sum::<usize>() - errors;
    let suppressed: usize = reports.iter().map(|r| r.report.suppressed.len()).sum();
    match args.format {
        OutputFormat::Json => println!("{}", json(&reports)),
        OutputFormat::Text => {
            for line in render(&reports) {
                println!("{line}");
            }
        }
    }
    eprintln!(
        "lint: {} file(s), {errors} error(s), {warnings} warning(s), {suppressed} suppressed with a reason",
        reports.len()
    );
    if errors > 0 {
        bail!("{errors} lint error(s)");
    }
    Ok(())
}
