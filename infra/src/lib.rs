//! Ops's side of berth: the environment as typed CloudFormation.
//!
//! Two stacks per stage, both from stage-independent templates: the pipeline stack ([`pipeline`]),
//! deployed once per stage by Ops, and the service stack ([`service`]), deployed by the pipeline. What
//! differs per stage comes from the stage files ([`stage`]) as parameter values. This crate never talks
//! to AWS: it builds templates and files in memory.

pub mod pipeline;
pub mod service;
pub mod stage;

use cfn::fns::Sub;
use cfn::params::Str;
use cfn::{Format, Param, Parameter, Template};
use pipeline_model::{AppName, Stack, StageName};

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
