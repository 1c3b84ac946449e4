//! checkov on the synthesized templates (a `cargo xtask ci` step): no failed check, and every skipped
//! one skipped in the template with a written reason.

use std::process::Command;

use anyhow::{Context, Result, bail};
use pipeline_model::{Stack, infra_layout};
use serde_json::Value;

use crate::tools::PythonTools;
use crate::util;

/// One check checkov reported.
#[derive(Debug, PartialEq, Eq)]
pub struct Check {
    pub id: String,
    pub resource: String,
    pub file: String,
    /// The check's title, or for a skipped check the reason the template gives.
    pub text: String,
}

/// What checkov found, from its JSON report.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Results {
    pub passed: u64,
    pub failed: Vec<Check>,
    pub skipped: Vec<Check>,
}

/// Reads checkov's `-o json` report (one object, or a list of them, one per framework).
pub fn parse(report: &str) -> Result<Results> {
    let v: Value = serde_json::from_str(report).context("checkov's JSON report")?;
    let reports = match v {
        Value::Array(a) => a,
        other => vec![other],
    };
    let mut out = Results::default();
    for r in &reports {
        out.passed += r["summary"]["passed"].as_u64().unwrap_or(0);
        let checks = |key: &str, text: &dyn Fn(&Value) -> String| -> Vec<Check> {
            r["results"][key]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| Check {
                    id: c["check_id"].as_str().unwrap_or_default().to_owned(),
                    resource: c["resource"].as_str().unwrap_or_default().to_owned(),
                    file: c["file_path"]
                        .as_str()
                        .unwrap_or_default()
                        .trim_start_matches('/')
                        .to_owned(),
                    text: text(c),
                })
                .collect()
        };
        out.failed.extend(checks("failed_checks", &|c| {
            c["check_name"].as_str().unwrap_or_default().to_owned()
        }));
        out.skipped.extend(checks("skipped_checks", &|c| {
            c["check_result"]["suppress_comment"]
                .as_str()
                .unwrap_or_default()
                .trim()
                .to_owned()
        }));
    }
    Ok(out)
}

/// Runs checkov on both committed templates; fails on any failed check or a skip without a reason.
#[allow(clippy::print_stderr, reason = "progress of an xtask command")]
pub fn run(tools: &PythonTools) -> Result<()> {
    let root = util::project_root();
    let mut cmd = Command::new(tools.bin.join("checkov"));
    cmd.current_dir(&root).args([
        "--framework",
        "cloudformation",
        // Offline: no guideline download from the vendor's API.
        "--skip-download",
        "--output",
        "json",
    ]);
    for stack in Stack::ALL {
        cmd.arg("--file").arg(infra_layout::template_path(stack, "yaml"));
    }
    let out = cmd
        .output()
        .with_context(|| format!("running `{}`", util::show(&cmd)))?;
    let report = String::from_utf8_lossy(&out.stdout);
    let results = parse(&report).with_context(|| {
        format!(
            "`{}` ({}): {}",
            util::show(&cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let unexplained: Vec<&Check> = results.skipped.iter().filter(|c| c.text.is_empty()).collect();
    eprintln!(
        "checkov: {} passed, {} failed, {} skipped in the templates with a reason:",
        results.passed,
        results.failed.len(),
        results.skipped.len()
    );
    for c in &results.skipped {
        eprintln!("  {} {} ({}): {}", c.id, c.resource, c.file, c.text);
    }
    if !results.failed.is_empty() {
        let list: Vec<String> = results
            .failed
            .iter()
            .map(|c| format!("  {} {} ({}): {}", c.id, c.resource, c.file, c.text))
            .collect();
        bail!(
            "checkov: {} failed check(s):\n{}\nhint: fix it in infra/src, or skip it for that resource with a reason (pipeline::checkov_skips)",
            results.failed.len(),
            list.join("\n")
        );
    }
    if !unexplained.is_empty() {
        bail!(
            "checkov: {} check(s) skipped without a reason: {unexplained:?}",
            unexplained.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_is_read_whether_one_object_or_a_list() {
        let one = r#"{"check_type": "cloudformation", "summary": {"passed": 3, "failed": 1},
            "results": {"failed_checks": [{"check_id": "CKV_AWS_18", "check_name": "S3 access logging",
                "resource": "AWS::S3::Bucket.B", "file_path": "/infra/cfn/pipeline.yaml"}],
              "skipped_checks": [{"check_id": "CKV_AWS_158", "resource": "AWS::Logs::LogGroup.L",
                "file_path": "/infra/cfn/service.yaml", "check_result": {"result": "SKIPPED", "suppress_comment": " why "}}]}}"#;
        let r = parse(one).unwrap();
        assert_eq!(r.passed, 3);
        assert_eq!(
            r.failed,
            [Check {
                id: "CKV_AWS_18".into(),
                resource: "AWS::S3::Bucket.B".into(),
                file: "infra/cfn/pipeline.yaml".into(),
                text: "S3 access logging".into()
            }]
        );
        assert_eq!(r.skipped[0].text, "why");
        let list = format!("[{one}, {one}]");
        assert_eq!(parse(&list).unwrap().passed, 6);
        // No checks at all (an empty template set) is an empty report, not an error.
        assert_eq!(
            parse(r#"{"summary": {"passed": 0}}"#).unwrap(),
            Results::default()
        );
        assert!(parse("not json").is_err());
    }
}
