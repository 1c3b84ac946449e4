//! `cargo xtask lint`: berth's own rules (crates/lint) on the environment, or on any template or
//! buildspec files given. On the environment it shows every finding `synth` would stop at.

use anyhow::{Context, Result, bail};
use cli::{LintArgs, OutputFormat};
use environment::Inputs;

use crate::util;

#[allow(clippy::print_stdout, clippy::print_stderr, reason = "the command's output")]
pub fn run(args: &LintArgs) -> Result<()> {
    if args.rules {
        for r in lint::rules() {
            util::stdout(&format!(
                "{}  {:<7}  {}\n",
                r.code,
                r.severity.to_string(),
                r.summary
            ))?;
        }
        return Ok(());
    }
    let root = util::project_root();
    let reports = if args.files.is_empty() {
        // Built, not gated: the point is to show the findings the gate would stop at.
        environment::build(&Inputs::new(&root))?.lint
    } else {
        let mut reports = Vec::new();
        let mut neither = Vec::new();
        for path in &args.files {
            let bytes = std::fs::read(path).with_context(|| {
                format!(
                    "reading {}: expected a template (YAML or JSON) or a buildspec",
                    path.display()
                )
            })?;
            // Bytes, not text: a file that is not UTF-8 is a finding with its line and column.
            let (kind, report) = lint::lint_bytes(&bytes);
            let shown = path.strip_prefix(&root).unwrap_or(path).display().to_string();
            if kind == lint::FileKind::Other {
                neither.push(shown);
                continue;
            }
            reports.push(lint::FileReport { file: shown, report });
        }
        if !neither.is_empty() {
            // Nothing in such a file is judged: "0 errors" would read as a pass.
            bail!(
                "not a template nor a buildspec, so nothing to lint: {}\nexpected a CloudFormation template \
                 (with `Resources`) or a CodeBuild buildspec (with `version` and `phases`); stage files are \
                 checked by `cargo xtask synth`",
                neither.join(", ")
            );
        }
        reports
    };
    let errors = lint::errors(&reports);
    let warnings: usize = reports.iter().map(|r| r.report.findings.len()).sum::<usize>() - errors;
    let suppressed: usize = reports.iter().map(|r| r.report.suppressed.len()).sum();
    match args.format {
        OutputFormat::Json => util::stdout(&format!("{}\n", lint::json(&reports)))?,
        OutputFormat::Text => {
            for line in lint::render(&reports) {
                util::stdout(&format!("{line}\n"))?;
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
