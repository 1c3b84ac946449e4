//! The findings of several files, rendered for people (`file:line:col: error[BL101] ...`) and as JSON.

use crate::Report;

/// The findings of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReport {
    /// The file as shown: relative to the repository root when inside it.
    pub file: String,
    pub report: Report,
}

/// Errors across the reports.
pub fn errors(reports: &[FileReport]) -> usize {
    reports.iter().map(|r| r.report.errors()).sum()
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

/// The findings and the suppressions, as `{"findings": [...], "suppressed": [...]}`.
pub fn json(reports: &[FileReport]) -> serde_json::Value {
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
