//! The build: a CodeBuild project (docker, privileged) that runs the app's buildspec, pushes the image
//! to the stage's repository and writes `build.json`; its log group, encrypted with the stage key; and
//! its role's permissions.

use cfn::fns::if_;
use cfn::policy::{PolicyDocument, Statement};
use cfn::resources::{codebuild, ecr, iam, kms, logs};
use cfn::{Attributes, Cond, Res, Template, Val, pseudo};
use pipeline_model::build_env;

use crate::blocks::ArtifactStore;
use crate::naming::{StageNames, ecr_token};

/// The CodeBuild image for x86_64 builds: the current standard Amazon Linux image (docker, aws cli, git).
pub const BUILD_IMAGE: &str = "aws/codebuild/amazonlinux-x86_64-standard:5.0";

/// The CodeBuild image for arm64 builds (Graviton container instances run arm64 images).
pub const BUILD_IMAGE_ARM: &str = "aws/codebuild/amazonlinux-aarch64-standard:3.0";

/// Days the build's logs are kept.
pub const BUILD_LOG_RETENTION_DAYS: i64 = 30;

/// Minutes a build may run.
pub const BUILD_TIMEOUT_MINUTES: u32 = 30;

/// What the build needs.
pub struct BuildProjectProps<'a> {
    pub names: StageNames,
    pub role: Res<iam::Role>,
    pub key: Res<kms::Key>,
    pub artifacts: &'a ArtifactStore,
    pub repository: Res<ecr::Repository>,
    /// Build on arm64 (the container instances are Graviton): the image is built natively for them.
    pub on_arm: Cond,
}

#[derive(Clone, Copy)]
pub struct BuildProject {
    pub log_group: Res<logs::LogGroup>,
    pub policy: Res<iam::Policy>,
    pub project: Res<codebuild::Project>,
}

impl BuildProject {
    pub fn add(t: &mut Template, props: BuildProjectProps<'_>) -> BuildProject {
        let n = props.names;
        let names = n.names();
        let log_group = t.add_with(
            "BuildLogGroup",
            logs::LogGroup::new()
                .log_group_name(n.sub(names.build_log_group()))
                .retention_in_days(BUILD_LOG_RETENTION_DAYS)
                .kms_key_id(props.key.arn()),
            Attributes::new().retain(),
        );
        let mut document = PolicyDocument::new()
            .statement(
                Statement::allow()
                    .sid("BuildLogs")
                    .actions(["logs:CreateLogStream", "logs:PutLogEvents"])
                    .resource(log_group.arn()),
            )
            .statement(
                Statement::allow()
                    .sid("Artifacts")
                    .actions(["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"])
                    .resource(props.artifacts.objects()),
            )
            .statement(props.artifacts.key_use())
            .statement(ecr_token())
            .statement(
                Statement::allow()
                    .sid("PushImage")
                    .actions([
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:BatchGetImage",
                        "ecr:CompleteLayerUpload",
                        "ecr:DescribeImages",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:InitiateLayerUpload",
                        "ecr:PutImage",
                        "ecr:UploadLayerPart",
                    ])
                    .resource(props.repository.arn()),
            );
        // Build-time secrets, when the app declares any: read from Parameter Store by the buildspec.
        let build_secret_arns: Vec<Val<String>> = pipeline_model::secrets::build()
            .map(|s| {
                n.arn(
                    "ssm",
                    format!(
                        "parameter{}",
                        pipeline_model::build_secret_parameter("${AppName}", s.name)
                    ),
                )
                .into()
            })
            .collect();
        if !build_secret_arns.is_empty() {
            document = document.statement(
                Statement::allow()
                    .sid("BuildSecrets")
                    .actions(["ssm:GetParameters"])
                    .resources(build_secret_arns),
            );
        }
        let policy = t.add(
            "BuildPolicy",
            iam::Policy::new(document, "build").roles(vec![props.role.to_ref()]),
        );
        let project = t.add_with(
            "BuildProject",
            codebuild::Project::new(
                codebuild::project::Artifacts::new("CODEPIPELINE"),
                codebuild::project::Environment::new(
                    "BUILD_GENERAL1_SMALL",
                    if_(props.on_arm, BUILD_IMAGE_ARM, BUILD_IMAGE),
                    if_(props.on_arm, "ARM_CONTAINER", "LINUX_CONTAINER"),
                )
                // docker builds need the docker daemon
                .privileged_mode(true)
                .environment_variables(vec![
                    codebuild::project::EnvironmentVariable::new(
                        build_env::AWS_DEFAULT_REGION,
                        pseudo::region(),
                    ),
                    codebuild::project::EnvironmentVariable::new(
                        build_env::REPOSITORY_URI,
                        props.repository.repository_uri(),
                    ),
                ]),
                props.role.arn(),
                codebuild::project::Source::new("CODEPIPELINE").build_spec(pipeline_model::BUILDSPEC_PATH),
            )
            .name(n.sub(names.pipeline()))
            .description(n.sub("berth ${AppName}/${StageName}: build and push the app image"))
            .encryption_key(props.key.arn())
            .timeout_in_minutes(BUILD_TIMEOUT_MINUTES)
            .logs_config(codebuild::project::LogsConfig::new().cloud_watch_logs(
                codebuild::project::CloudWatchLogsConfig::new("ENABLED").group_name(log_group.to_ref()),
            )),
            Attributes::new().depends_on(policy),
        );
        BuildProject {
            log_group,
            policy,
            project,
        }
    }
}
