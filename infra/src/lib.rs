//! Ops's side of berth: the environment as typed CloudFormation.
//!
//! Two stacks per stage, both from stage-independent templates: the pipeline stack ([`pipeline`]),
//! deployed once per stage by Ops, and the service stack ([`service`]), deployed by the pipeline. What
//! differs per stage comes from the stage files ([`stage`]) as parameter values. This crate never talks
//! to AWS: it builds templates and files in memory.

pub mod pipeline;
pub mod service;
pub mod stage;

use std::path::{Path, PathBuf};

use cfn::fns::Sub;
use cfn::params::Str;
use cfn::{Format, Param, Parameter, Template};
use pipeline_model::{AppName, Stack, StageName, infra_layout};

pub use stage::{Stage, StageError};

/// The directory of the stage files, relative to the repository root.
pub const STAGES_DIR: &str = "infra/stages";

/// The `AppName` parameter both templates take.
pub fn app_name_parameter() -> Parameter<Str> {
    Parameter::<Str>::new()
        .description("The app's name: part of stack, repository, key and role names")
        .allowed_pattern("^[a-z][a-z0-9-]*[a-z0-9]$|^[a-z]$")
        .min_length(1)
        .max_length(AppName::MAX_LEN as u32)
}

/// The `StageName` parameter both templates take.
pub fn stage_name_parameter() -> Parameter<Str> {
    Parameter::<Str>::new()
        .description("The stage's name")
        .allowed_pattern("^[a-z][a-z0-9]*$")
        .min_length(1)
        .max_length(StageName::MAX_LEN as u32)
}

/// `Fn::Sub` of a name from the contract's template scheme (`${AppName}`, `${StageName}`), bound to
/// the parameters it uses.
pub fn stage_sub(text: String, app: Param<Str>, stage: Param<Str>) -> Sub {
    let uses_app = text.contains("${AppName}");
    let uses_stage = text.contains("${StageName}");
    let mut s = Sub::new(text);
    if uses_app {
        s = s.var("AppName", app);
    }
    if uses_stage {
        s = s.var("StageName", stage);
    }
    s
}

/// The ARN of one of the stage's runtime secrets in Parameter Store (the contract's
/// [`Names::secret_parameter`]), for a template: what the task definition reads and the task
/// execution role may read.
///
/// [`Names::secret_parameter`]: pipeline_model::Names::secret_parameter
pub fn secret_parameter_arn(secret: &str, app: Param<Str>, stage: Param<Str>) -> Sub {
    stage_sub(
        format!(
            "arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{}",
            pipeline_model::Names::template().secret_parameter(secret)
        ),
        app,
        stage,
    )
}

/// A stack's template, built for the format its sibling templates are committed in.
pub fn template(stack: Stack, format: Format) -> Template {
    match stack {
        Stack::Pipeline => pipeline::template(format.extension()),
        Stack::Service => service::template(),
    }
}

/// One file synth produces, relative to the repository root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFile {
    pub path: PathBuf,
    pub contents: String,
}

/// What `synth` found wrong: every problem of every template and stage.
#[derive(Debug, thiserror::Error)]
#[error("synth found {} problem(s):\n  {}", .problems.len(), .problems.join("\n  "))]
pub struct SynthErrors {
    pub problems: Vec<String>,
}

/// The result of a synth: the files, and the warnings worth showing.
#[derive(Debug)]
pub struct Synthesized {
    pub files: Vec<OutputFile>,
    pub warnings: Vec<String>,
    /// The templates as data, for the checks that read templates (lint, graph).
    pub templates: Vec<(Stack, serde_json::Value)>,
}

/// Synthesizes both templates and, for each stage, its parameter files; validates everything and
/// reports all problems together. Writes nothing.
pub fn synth(stages: &[Stage], format: Format) -> Result<Synthesized, SynthErrors> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut files = Vec::new();
    let mut templates = Vec::new();
    for stack in Stack::ALL {
        let t = template(stack, format);
        match t.synth(format) {
            Ok(s) => {
                warnings.extend(s.warnings.iter().map(|w| format!("{stack} template: {w}")));
                let value = s.to_json_value();
                for stage in stages {
                    problems.extend(check_parameters(stage, stack, &value));
                }
                files.push(OutputFile {
                    path: PathBuf::from(infra_layout::template_path(stack, format.extension())),
                    contents: s.body,
                });
                templates.push((stack, value));
            }
            Err(e) => problems.extend(e.diagnostics.iter().map(|d| format!("{stack} template: {d}"))),
        }
    }
    for stage in stages {
        for stack in Stack::ALL {
            files.push(OutputFile {
                path: PathBuf::from(infra_layout::parameters_path(stage.name.as_str(), stack)),
                contents: stage.template_configuration(stack),
            });
        }
    }
    if problems.is_empty() {
        Ok(Synthesized {
            files,
            warnings,
            templates,
        })
    } else {
        Err(SynthErrors { problems })
    }
}

/// The stage's parameter file must set exactly the template's parameters (the service stack's image
/// tag excepted: the pipeline sets it), with values the template accepts.
fn check_parameters(stage: &Stage, stack: Stack, template: &serde_json::Value) -> Vec<String> {
    let file = stage.file.display();
    let mut out = Vec::new();
    let declared = template["Parameters"].as_object().cloned().unwrap_or_default();
    let values = stage.parameters(stack);
    for name in values.keys() {
        if !declared.contains_key(*name) {
            out.push(format!("{file}: the {stack} parameter file sets `{name}`, which the {stack} template does not declare"));
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
                    let ok = allowed.iter().any(|a| a.as_str() == Some(v) || a.as_i64().map(|i| i.to_string()).as_deref() == Some(v));
                    if !ok {
                        out.push(format!("{file}: `{v}` is not an allowed value of the {stack} parameter `{name}` ({allowed:?})"));
                    }
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

/// Loads the stage files of `dir` (normally [`STAGES_DIR`]): all of them, or the one named.
pub fn load_stages(dir: &Path, only: Option<&str>) -> Result<Vec<Stage>, Vec<StageError>> {
    let dir = dir.to_path_buf();
    match only {
        Some(name) => {
            let path = dir.join(format!("{name}.yaml"));
            if !path.exists() {
                let known = stage::load_all(&dir)
                    .map(|s| {
                        s.iter()
                            .map(|s| s.name.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                return Err(vec![StageError {
                    file: path,
                    line: None,
                    column: None,
                    message: format!("no stage `{name}`: expected one of: {known}"),
                }]);
            }
            Stage::load(&path).map(|s| vec![s])
        }
        None => stage::load_all(&dir),
    }
}
