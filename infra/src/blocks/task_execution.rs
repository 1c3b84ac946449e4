//! The permissions of the service's task execution role, kept in the pipeline stack (the role itself
//! is the service stack's and attaches this policy by its contract name): pull the stage's image,
//! write the service's logs, read exactly the app's runtime secrets and decrypt them with exactly the
//! stage key.

use cfn::Template;
use cfn::policy::{PolicyDocument, Statement};
use cfn::resources::{ecr, iam, kms};
use cfn::{Res, Val};

use crate::naming::{StageNames, ecr_token};

#[derive(Clone, Copy)]
pub struct TaskExecutionPolicy {
    pub policy: Res<iam::ManagedPolicy>,
}

impl TaskExecutionPolicy {
    pub fn add(
        t: &mut Template,
        n: StageNames,
        key: Res<kms::Key>,
        repository: Res<ecr::Repository>,
    ) -> TaskExecutionPolicy {
        let names = n.names();
        // The runtime secrets: exactly their parameters, and decryption with exactly the stage key.
        let runtime_secret_arns: Vec<Val<String>> = pipeline_model::secrets::runtime()
            .map(|s| n.secret_parameter_arn(s.name).into())
            .collect();
        let secret_statements = if runtime_secret_arns.is_empty() {
            Vec::new()
        } else {
            vec![
                Statement::allow()
                    .sid("ReadSecrets")
                    .actions(["ssm:GetParameters"])
                    .resources(runtime_secret_arns),
                Statement::allow()
                    .sid("DecryptSecrets")
                    .actions(["kms:Decrypt"])
                    .resource(key.arn()),
            ]
        };
        let policy = t.add(
            "TaskExecutionPolicy",
            iam::ManagedPolicy::new(
                PolicyDocument::new()
                    .statement(ecr_token())
                    .statement(
                        Statement::allow()
                            .sid("PullImage")
                            .actions([
                                "ecr:BatchCheckLayerAvailability",
                                "ecr:BatchGetImage",
                                "ecr:GetDownloadUrlForLayer",
                            ])
                            .resource(repository.arn()),
                    )
                    .statement(
                        Statement::allow()
                            .sid("WriteLogs")
                            .actions(["logs:CreateLogStream", "logs:PutLogEvents"])
                            .resource(n.arn("logs", format!("log-group:{}:*", names.log_group()))),
                    )
                    .extend_statements(secret_statements),
            )
            .managed_policy_name(n.sub(names.task_execution_policy()))
            .description(n.sub("berth ${AppName}/${StageName}: the service's task execution role")),
        );
        TaskExecutionPolicy { policy }
    }
}
