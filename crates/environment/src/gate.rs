//! The gate: what stops a stage file or a template before anything is written or sent.

use std::collections::BTreeSet;
use std::path::PathBuf;

use infra::Stage;
use pipeline_model::Stack;

use crate::{Built, Environment, Inputs, OutputFile, Template};

/// Why the environment did not pass. The message is the same whichever command asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Stage files that cannot be read or do not validate, each `file:line:col: message`.
    #[error("{} problem{} in the stage files:\n  {}", .0.len(), if .0.len() == 1 { "" } else { "s" }, .0.join("\n  "))]
    StageFiles(Vec<String>),
    /// The stages name different apps; one repository holds one app, built by one buildspec. Each
    /// stage file whose app is not the others' (`file:line:col: app: ...`).
    #[error("{} problem{} in the stage files:\n  {}", .0.len(), if .0.len() == 1 { "" } else { "s" }, .0.join("\n  "))]
    Apps(Vec<String>),
    /// A stage's app trigger paths (`source.app.paths`) miss a build input: a push that changes only
    /// it would change the image tag without starting the pipeline. Each such stage file at its
    /// `paths` key (`file:line:col: source.app.paths: ...`).
    #[error("{} problem{} in the stage files:\n  {}", .0.len(), if .0.len() == 1 { "" } else { "s" }, .0.join("\n  "))]
    Triggers(Vec<String>),
    /// A template that does not validate, or a stage value a template's parameter refuses.
    #[error("synth found {} problem(s):\n  {}", .0.len(), .0.join("\n  "))]
    Synth(Vec<String>),
    /// berth's rules found errors: the findings, errors first.
    #[error("{errors} lint error(s) in what synth produced:\n{}", .lines.join("\n"))]
    Lint { errors: usize, lines: Vec<String> },
}

pub(crate) fn build(inputs: &Inputs) -> Result<Built, Error> {
    let loaded = crate::stages::load(&inputs.stages_dir, inputs.only.as_deref()).map_err(|errors| {
        Error::StageFiles(errors.iter().map(|e| inputs.relative(&e.to_string())).collect())
    })?;
    let stages = loaded.stages;
    let format = inputs.format;
    let mut problems = Vec::new();
    let mut warnings: Vec<String> = loaded.warnings.iter().map(|w| inputs.relative(w)).collect();
    let mut templates = Vec::new();
    for stack in Stack::ALL {
        match infra::template(stack, format).synth(format) {
            Ok(s) => {
                // Said once as a warning (by whoever prints it), with where unless it is the whole template.
                warnings.extend(s.warnings.iter().map(|w| match w.path.as_str() {
                    "template" => format!("{stack} template: {}", w.message),
                    path => format!("{stack} template: {path}: {}", w.message),
                }));
                let value = s.to_json_value();
                for stage in &stages {
                    problems.extend(check_parameters(stage, stack, &value));
                }
                templates.push(Template {
                    stack,
                    path: crate::template_path(stack, format),
                    body: s.body,
                    value,
                });
            }
            Err(e) => problems.extend(e.diagnostics.iter().map(|d| format!("{stack} template: {d}"))),
        }
    }
    if !problems.is_empty() {
        return Err(Error::Synth(
            problems.iter().map(|p| inputs.relative(p)).collect(),
        ));
    }
    // The buildspec is the app's: every stage builds with the same one.
    let apps: BTreeSet<&str> = stages.iter().map(|s| s.app.as_str()).collect();
    if apps.len() > 1 {
        return Err(Error::Apps(different_apps(&stages, inputs)));
    }
    let missed = crate::triggers::check(&stages, &inputs.root, |t| inputs.relative(t));
    if !missed.is_empty() {
        return Err(Error::Triggers(missed));
    }
    let mut files: Vec<OutputFile> = templates
        .iter()
        .map(|t| OutputFile {
            path: t.path.clone(),
            contents: t.body.clone(),
        })
        .collect();
    for stage in &stages {
        for stack in Stack::ALL {
            files.push(OutputFile {
                path: PathBuf::from(pipeline_model::infra_layout::parameters_path(
                    stage.name.as_str(),
                    stack,
                )),
                contents: stage.template_configuration(stack),
            });
        }
    }
    if let Some(app) = apps.first() {
        files.push(OutputFile {
            path: PathBuf::from(pipeline_model::BUILDSPEC_PATH),
            contents: app::buildspec::buildspec(app).to_yaml(),
        });
    }
    let lint = lint_reports(&templates, &files);
    Ok(Built {
        stages,
        templates,
        files,
        warnings,
        lint,
    })
}

/// Each stage file whose app is not the one most stage files name (the first such, on a tie), at its
/// `app` line.
fn different_apps(stages: &[Stage], inputs: &Inputs) -> Vec<String> {
    let mut count: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for s in stages {
        *count.entry(s.app.as_str()).or_default() += 1;
    }
    let most = count.values().copied().max().unwrap_or(0);
    let Some(reference) = stages.iter().find(|s| count[s.app.as_str()] == most) else {
        return Vec::new();
    };
    let at = |s: &Stage| {
        let file = inputs.relative(&s.file.display().to_string());
        match s.app_location() {
            Some((line, column)) => format!("{file}:{line}:{column}"),
            None => file,
        }
    };
    stages
        .iter()
        .filter(|s| s.app != reference.app)
        .map(|s| {
            format!(
                "{}: app: app `{}` is not the app of the other stages (`{}`, as in {}): expected the same app in every \
                 stage file, since one repository holds one app, built by one buildspec",
                at(s),
                s.app,
                reference.app,
                at(reference)
            )
        })
        .collect()
}

/// berth's rules on each template (with its text, for lines) and on the buildspec.
fn lint_reports(templates: &[Template], files: &[OutputFile]) -> Vec<lint::FileReport> {
    let mut out: Vec<lint::FileReport> = templates
        .iter()
        .map(|t| lint::FileReport {
            file: t.path.display().to_string(),
            report: lint::lint_template(&t.value, Some(&t.body)),
        })
        .collect();
    out.extend(
        files
            .iter()
            .filter(|f| f.path == std::path::Path::new(pipeline_model::BUILDSPEC_PATH))
            .map(|f| lint::FileReport {
                file: f.path.display().to_string(),
                report: lint::Report {
                    findings: lint::lint_buildspec(&f.contents),
                    suppressed: Vec::new(),
                },
            }),
    );
    out
}

pub(crate) fn rules(built: Built) -> Result<Environment, Error> {
    let lines = lint::render(&built.lint);
    let errors = lint::errors(&built.lint);
    if errors > 0 {
        return Err(Error::Lint { errors, lines });
    }
    let mut warnings = built.warnings;
    warnings.extend(lines);
    Ok(Environment {
        stages: built.stages,
        templates: built.templates,
        files: built.files,
        warnings,
    })
}

/// The stage's parameter file must set exactly the template's parameters (the service stack's image
/// tag excepted: the pipeline sets it), with values the template accepts. The constraints are read
/// from the template: whatever a parameter declares, a stage value is held to it here, before
/// CloudFormation would refuse it.
fn check_parameters(stage: &Stage, stack: Stack, template: &serde_json::Value) -> Vec<String> {
    let file = stage.file.display();
    let mut out = Vec::new();
    let declared = template["Parameters"].as_object().cloned().unwrap_or_default();
    let values = stage.parameters(stack);
    for name in values.keys() {
        if !declared.contains_key(*name) {
            out.push(format!(
                "{file}: the {stack} parameter file sets `{name}`, which the {stack} template does not declare"
            ));
        }
    }
    for (name, decl) in &declared {
        let exempt = stack == Stack::Service && name == pipeline_model::service_params::IMAGE_TAG;
        match values.get(name.as_str()) {
            None if !exempt && decl.get("Default").is_none() => out.push(format!(
                "{file}: the {stack} template's parameter `{name}` has no default and the stage does not set it"
            )),
            Some(v) => {
                if let Some(allowed) = decl["AllowedValues"].as_array() {
                    let ok = allowed.iter().any(|a| {
                        a.as_str() == Some(v) || a.as_i64().map(|i| i.to_string()).as_deref() == Some(v)
                    });
                    if !ok {
                        out.push(format!(
                            "{file}: `{v}` is not an allowed value of the {stack} parameter `{name}` ({allowed:?})"
                        ));
                    }
                }
                if decl["Type"].as_str() == Some("String") {
                    out.extend(string_constraints(v, decl).into_iter().map(|why| {
                        format!("{file}: {stack} parameter `{name}` = `{v}` {why}")
                    }));
                }
                if let (Some(min), Ok(n)) = (decl["MinValue"].as_f64(), v.parse::<f64>())
                    && n < min
                {
                    out.push(format!("{file}: {stack} parameter `{name}` = {v} is below its MinValue {min}"));
                }
                if let (Some(max), Ok(n)) = (decl["MaxValue"].as_f64(), v.parse::<f64>())
                    && n > max
                {
                    out.push(format!("{file}: {stack} parameter `{name}` = {v} is above its MaxValue {max}"));
                }
            }
            None => {}
        }
    }
    out
}

/// What a `String` parameter's `AllowedPattern` (which must match the whole value), `MinLength` and
/// `MaxLength` say of `v`, as CloudFormation would refuse it.
fn string_constraints(v: &str, decl: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(pattern) = decl["AllowedPattern"].as_str() {
        match regex_lite::Regex::new(&format!("^(?:{pattern})$")) {
            Ok(re) if !re.is_match(v) => out.push(format!("does not match its AllowedPattern {pattern}")),
            Ok(_) => {}
            Err(e) => out.push(format!(
                "cannot be checked: its AllowedPattern {pattern} is not a regular expression ({e})"
            )),
        }
    }
    let length = v.chars().count();
    if let Some(min) = decl["MinLength"].as_u64()
        && (length as u64) < min
    {
        out.push(format!("is {length} characters long, below its MinLength {min}"));
    }
    if let Some(max) = decl["MaxLength"].as_u64()
        && (length as u64) > max
    {
        out.push(format!("is {length} characters long, above its MaxLength {max}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built(template: serde_json::Value) -> Built {
        let body = serde_json::to_string_pretty(&template).unwrap();
        let path = PathBuf::from(pipeline_model::infra_layout::template_path(
            Stack::Service,
            "json",
        ));
        Built {
            stages: Vec::new(),
            templates: vec![Template {
                stack: Stack::Service,
                path: path.clone(),
                body: body.clone(),
                value: template.clone(),
            }],
            files: vec![OutputFile {
                path,
                contents: body.clone(),
            }],
            warnings: Vec::new(),
            lint: vec![lint::FileReport {
                file: "infra/cfn/service.json".to_owned(),
                report: lint::lint_template(&template, Some(&body)),
            }],
        }
    }

    #[test]
    fn a_rule_error_stops_the_environment_and_a_warning_is_kept() {
        let bad = serde_json::json!({"Resources": {"Lc": {"Type": "AWS::AutoScaling::LaunchConfiguration",
            "Properties": {"ImageId": "ami-1", "InstanceType": "t3.small", "MetadataOptions": {"HttpTokens": "required"}}}}});
        let e = built(bad).gate().unwrap_err().to_string();
        assert!(e.starts_with("1 lint error(s) in what synth produced:\n"), "{e}");
        assert!(
            e.contains("infra/cfn/service.json:3:5: error[BL306] Lc (Type)"),
            "{e}"
        );

        let warned = serde_json::json!({"Resources": {"Lt": {"Type": "AWS::EC2::LaunchTemplate",
            "Properties": {"LaunchTemplateData": {"MetadataOptions": {"HttpTokens": "required"},
                "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 30}}]}}}}});
        let env = built(warned).gate().unwrap();
        assert_eq!(env.warnings().len(), 1, "{:?}", env.warnings());
        assert!(
            env.warnings()[0].contains("warning[BL305]"),
            "{:?}",
            env.warnings()
        );
    }

    #[test]
    fn a_string_parameter_is_held_to_its_pattern_and_lengths_as_cloudformation_would() {
        let decl = serde_json::json!({"Type": "String", "AllowedPattern": "[a-z]+|x-[0-9]", "MinLength": 2, "MaxLength": 5});
        assert!(string_constraints("abc", &decl).is_empty());
        assert!(string_constraints("x-1", &decl).is_empty());
        // The whole value must match: a match inside it is not enough.
        assert_eq!(
            string_constraints("abc1", &decl),
            ["does not match its AllowedPattern [a-z]+|x-[0-9]"]
        );
        assert_eq!(
            string_constraints("a", &decl),
            ["is 1 characters long, below its MinLength 2"]
        );
        assert_eq!(
            string_constraints("abcdef", &decl),
            ["is 6 characters long, above its MaxLength 5"]
        );
    }

    /// Every shipped stage's values meet every constraint of the parameters they set (what the
    /// gate checks before synth writes and deploy sends).
    #[test]
    fn the_shipped_stages_meet_every_string_constraint() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let env = Environment::load(&Inputs::new(&root)).expect("the shipped stages pass the gate");
        let mut checked = 0;
        for stage in env.stages() {
            for t in env.templates() {
                let declared = t.value["Parameters"].as_object().cloned().unwrap_or_default();
                for (name, v) in stage.parameters(t.stack) {
                    let decl = &declared[name];
                    if decl["Type"].as_str() == Some("String") && decl.get("AllowedPattern").is_some() {
                        checked += 1;
                        assert!(string_constraints(&v, decl).is_empty(), "{name} = {v}");
                    }
                }
            }
        }
        assert!(checked >= 5, "only {checked} patterned values");
    }
}
