//! berth's own checks: the traps of an ECS-on-EC2 pipeline that cfn-lint does not know (the seed fell
//! into most of them), over any CloudFormation template (YAML with short-form tags, or JSON) and any
//! CodeBuild buildspec; and the reference graph of an environment ([`graph`]).
//!
//! Every finding has a stable code (`BL101`), a severity, the logical ID and property path it is
//! about, a message and a hint. A resource can silence one rule for itself only, with a reason, in its
//! `Metadata`:
//!
//! ```yaml
//! Metadata:
//!   berth-lint:
//!     - rule: BL204
//!       reason: one task by design (a singleton consumer)
//! ```
//!
//! This crate never talks to AWS and knows nothing of a particular stage.

mod buildspec;
pub mod graph;
mod report;
mod rules;
mod template;

use std::fmt;

pub use buildspec::lint_buildspec;
pub use report::{FileReport, errors, json, render};

/// How bad a finding is. Errors fail `cargo xtask synth` and `cargo xtask lint`; warnings are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One rule: its code, severity, what it catches and how to fix it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub code: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub hint: &'static str,
}

/// Where in a file a finding is (1-based), when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static Rule,
    /// The resource's logical ID (templates), or the buildspec phase.
    pub resource: Option<String>,
    /// The property path inside it: `Properties.SecurityGroupIngress[0].FromPort`.
    pub path: String,
    pub message: String,
    pub location: Option<Location>,
}

impl Finding {
    pub fn code(&self) -> &'static str {
        self.rule.code
    }

    pub fn severity(&self) -> Severity {
        self.rule.severity
    }
}

impl fmt::Display for Finding {
    /// `error[BL101] InstanceSecurityGroup (Properties.SecurityGroupIngress[0]): message` and the hint
    /// on the next line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.rule.severity, self.rule.code)?;
        match (&self.resource, self.path.is_empty()) {
            (Some(r), false) => write!(f, " {r} ({})", self.path)?,
            (Some(r), true) => write!(f, " {r}")?,
            (None, false) => write!(f, " {}", self.path)?,
            (None, true) => {}
        }
        write!(f, ": {}\n  hint: {}", self.message, self.rule.hint)
    }
}

/// Every rule, by code.
pub fn rules() -> &'static [Rule] {
    rules::ALL
}

/// The rule with `code`.
pub fn rule(code: &str) -> Option<&'static Rule> {
    rules::ALL.iter().find(|r| r.code == code)
}

/// What linting one template found, suppressions applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// The findings a resource suppressed, with the reason it gave: (finding, reason).
    pub suppressed: Vec<(Finding, String)>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity() == Severity::Error)
            .count()
    }
}

/// The key in a resource's `Metadata` that holds its suppressions.
pub const SUPPRESS_KEY: &str = "berth-lint";

/// Lints a template (the long-form JSON value, as [`cfn::raw::parse_template`] or a synth gives it).
/// `text`, when given, is the template's source, used to give each finding a line.
pub fn lint_template(template: &serde_json::Value, text: Option<&str>) -> Report {
    let t = template::Template::new(template);
    let mut found = Vec::new();
    rules::run(&t, &mut found);
    let mut report = Report::default();
    for f in found {
        match f
            .resource
            .as_deref()
            .and_then(|r| suppression(&t, r, f.rule.code))
        {
            Some(reason) => report.suppressed.push((f, reason)),
            None => report.findings.push(f),
        }
    }
    // The suppressions themselves: each must have a reason and name a rule that exists.
    for (id, _) in t.resources() {
        for (i, entry) in t.suppressions(id).iter().enumerate() {
            let path = format!("Metadata.{SUPPRESS_KEY}[{i}]");
            let code = entry["rule"].as_str().unwrap_or_default();
            if rule(code).is_none() {
                report.findings.push(finding(
                    &rules::UNKNOWN_SUPPRESSION,
                    Some(id),
                    path.clone(),
                    format!("suppresses `{code}`, which is no rule (`cargo xtask lint --rules` lists them)"),
                ));
            }
            if entry["reason"].as_str().is_none_or(|r| r.trim().is_empty()) {
                report.findings.push(finding(
                    &rules::SUPPRESSION_WITHOUT_REASON,
                    Some(id),
                    path,
                    format!("suppresses `{code}` without a reason"),
                ));
            }
        }
    }
    report.findings.dedup();
    if let Some(text) = text {
        for f in report
            .findings
            .iter_mut()
            .chain(report.suppressed.iter_mut().map(|(f, _)| f))
        {
            f.location = f.resource.as_deref().and_then(|r| locate_resource(text, r));
        }
    }
    report.findings.sort_by(|a, b| {
        (
            a.location.as_ref().map(|l| l.line),
            a.rule.code,
            &a.resource,
            &a.path,
        )
            .cmp(&(
                b.location.as_ref().map(|l| l.line),
                b.rule.code,
                &b.resource,
                &b.path,
            ))
    });
    report
}

/// The reason `resource` gives for suppressing `code`, if it does (with a non-empty reason).
fn suppression(t: &template::Template<'_>, resource: &str, code: &str) -> Option<String> {
    t.suppressions(resource).iter().find_map(|e| {
        let reason = e["reason"].as_str()?.trim();
        (e["rule"].as_str() == Some(code) && !reason.is_empty()).then(|| reason.to_owned())
    })
}

pub(crate) fn finding(
    rule: &'static Rule,
    resource: Option<&str>,
    path: impl Into<String>,
    message: String,
) -> Finding {
    Finding {
        rule,
        resource: resource.map(str::to_owned),
        path: path.into(),
        message,
        location: None,
    }
}

/// What a file turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Template,
    Buildspec,
    /// YAML or JSON that is neither: no `Resources` (which every template has), no `version` and
    /// `phases` (which every buildspec has). Linted as a template, which finds nothing to judge.
    Other,
}

/// Lints a file's bytes: as [`lint_text`], after checking that they are UTF-8 text (a file that is
/// not gives one `BL001` finding at the first byte that is not).
pub fn lint_bytes(bytes: &[u8]) -> (FileKind, Report) {
    match std::str::from_utf8(bytes) {
        Ok(text) => lint_text(text),
        Err(_) => {
            let e = cfn::raw::parse_template_bytes(bytes).err();
            match e {
                Some(e) => (FileKind::Template, parse_error_report(&e)),
                // Not reached: bytes that are not UTF-8 do not parse.
                None => lint_text(&String::from_utf8_lossy(bytes)),
            }
        }
    }
}

/// The one `BL001` finding of a file that does not parse, at its line and column.
fn parse_error_report(e: &cfn::raw::ParseError) -> Report {
    let mut f = finding(&rules::PARSE_ERROR, None, "", e.message.clone());
    f.location = Some(Location {
        line: e.line,
        column: e.column,
    });
    Report {
        findings: vec![f],
        suppressed: Vec::new(),
    }
}

/// Lints the text of a file: a template, or a buildspec (`version` and `phases` at the top). A file
/// that does not parse gives one `BL001` finding with its line and column.
pub fn lint_text(text: &str) -> (FileKind, Report) {
    let parsed = cfn::raw::parse_template(text);
    let value = match parsed {
        Ok(v) => v,
        Err(e) => {
            let kind = if looks_like_buildspec(text) {
                FileKind::Buildspec
            } else {
                FileKind::Template
            };
            return (kind, parse_error_report(&e));
        }
    };
    if value.get("phases").is_some() && value.get("version").is_some() {
        (
            FileKind::Buildspec,
            Report {
                findings: lint_buildspec(text),
                suppressed: Vec::new(),
            },
        )
    } else if value.get("Resources").is_some() {
        (FileKind::Template, lint_template(&value, Some(text)))
    } else {
        (FileKind::Other, lint_template(&value, Some(text)))
    }
}

fn looks_like_buildspec(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("phases:"))
}

/// The line of a resource's key in a template's text (block YAML `  Id:` or JSON `"Id":`).
pub fn locate_resource(text: &str, id: &str) -> Option<Location> {
    let mut in_resources = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.starts_with("Resources:") || trimmed.starts_with("\"Resources\"") {
            in_resources = true;
            continue;
        }
        if !in_resources {
            continue;
        }
        let key = trimmed
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches(|c| c == '"' || c == '\'');
        if key == id && trimmed.contains(':') {
            return Some(Location {
                line: i + 1,
                column: indent + 1,
            });
        }
    }
    None
}
