//! The stage's names inside a template: the `AppName` and `StageName` parameters both templates take,
//! and the contract's naming scheme (`crates/pipeline-model`) written with them.

use cfn::fns::Sub;
use cfn::params::Str;
use cfn::policy::{PolicyDocument, Statement};
use cfn::{Param, Parameter, Template};
use pipeline_model::{AppName, Names, StageName};

/// The `AppName` and `StageName` parameters of a template, and the names made from them.
#[derive(Clone, Copy, Debug)]
pub struct StageNames {
    pub app: Param<Str>,
    pub stage: Param<Str>,
}

impl StageNames {
    /// Adds the two parameters (`app_id` and `stage_id` are the template's names for them).
    pub fn add(t: &mut Template, app_id: &str, stage_id: &str) -> StageNames {
        let app = t.add_parameter(
            app_id,
            Parameter::<Str>::new()
                .description("The app's name: part of stack, repository, key and role names")
                .allowed_pattern("^[a-z][a-z0-9-]*[a-z0-9]$|^[a-z]$")
                .min_length(1)
                .max_length(AppName::MAX_LEN as u32),
        );
        let stage = t.add_parameter(
            stage_id,
            Parameter::<Str>::new()
                .description("The stage's name")
                .allowed_pattern("^[a-z][a-z0-9]*$")
                .min_length(1)
                .max_length(StageName::MAX_LEN as u32),
        );
        StageNames { app, stage }
    }

    /// The contract's names, in their template form (`${AppName}`, `${StageName}`).
    pub fn names(&self) -> Names<'static> {
        Names::template()
    }

    /// `Fn::Sub` of a name from the contract's scheme, bound to the parameters it uses.
    pub fn sub(&self, text: impl Into<String>) -> Sub {
        let text = text.into();
        let uses_app = text.contains("${AppName}");
        let uses_stage = text.contains("${StageName}");
        let mut s = Sub::new(text);
        if uses_app {
            s = s.var("AppName", self.app);
        }
        if uses_stage {
            s = s.var("StageName", self.stage);
        }
        s
    }

    /// The ARN of a resource of this account and region: `arn:${AWS::Partition}:SERVICE:...:RESOURCE`.
    pub fn arn(&self, service: &str, resource: impl Into<String>) -> Sub {
        self.sub(format!(
            "arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{}",
            resource.into()
        ))
    }

    /// The ARN of one of the stage's runtime secrets in Parameter Store (the contract's
    /// [`Names::secret_parameter`]): what the task definition reads and the task execution role may
    /// read.
    pub fn secret_parameter_arn(&self, secret: &str) -> Sub {
        self.arn(
            "ssm",
            format!("parameter{}", self.names().secret_parameter(secret)),
        )
    }

    /// The ARN of an IAM resource of this account: `arn:${AWS::Partition}:iam::${AWS::AccountId}:RESOURCE`.
    pub fn iam_arn(&self, resource: impl Into<String>) -> Sub {
        self.sub(format!(
            "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:{}",
            resource.into()
        ))
    }
}

/// A checkov check a resource does not pass, and why that is right for it (its `Metadata`).
pub fn checkov_skips(skips: &[(&str, &str)]) -> serde_json::Value {
    let skip: Vec<serde_json::Value> = skips
        .iter()
        .map(|(id, comment)| serde_json::json!({"id": id, "comment": comment}))
        .collect();
    serde_json::json!({ "skip": skip })
}

/// A resource's `Metadata` entry that silences berth's lint rules for it, each with its reason
/// (`lint::SUPPRESS_KEY`).
pub fn lint_suppressions(rules: &[(&str, &str)]) -> serde_json::Value {
    serde_json::Value::Array(
        rules
            .iter()
            .map(|(rule, reason)| serde_json::json!({"rule": rule, "reason": reason}))
            .collect(),
    )
}

/// The trust policy of a role that `service` (`ec2.amazonaws.com`, ...) assumes.
pub fn trusting(service: &str) -> PolicyDocument {
    PolicyDocument::new().statement(Statement::allow().service(service).actions(["sts:AssumeRole"]))
}

/// ECR's authorization token: account-wide, so AWS accepts no resource but `*` for it.
pub fn ecr_token() -> Statement {
    Statement::allow()
        .sid("EcrToken")
        .actions(["ecr:GetAuthorizationToken"])
        .resource("*")
}
