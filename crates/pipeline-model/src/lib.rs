//! The contract between Dev (`app`) and Ops (`infra`): every name and format both sides share,
//! defined once. No I/O, no AWS SDK.
//!
//! In the 2017 design Dev and Ops lived in two repositories and met only through a few strings: the
//! source artifacts, `build.json` and its `tag` key, the template parameter that receives it, the
//! secret names. A rename on one side broke production on the other. Here each of those strings is
//! spelled once; both sides import it, and a change one side does not follow breaks a test.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The pipeline's artifacts.
pub mod artifacts {
    /// The application source (Dev's code, its Dockerfile and buildspec).
    pub const APP_SOURCE: &str = "AppSource";
    /// The infrastructure source (Ops's synthesized templates and stage parameter files).
    pub const INFRA_SOURCE: &str = "InfraSource";
    /// What the build stage produces: [`BUILD_OUTPUT_FILE`](crate::build_output::FILE_NAME).
    pub const BUILD: &str = "Build";
}

/// The file the build writes for the deploy stage: `{"tag": "<image tag>"}`.
pub mod build_output {
    use serde::{Deserialize, Serialize};

    /// Its name inside the [`BUILD`](crate::artifacts::BUILD) artifact.
    pub const FILE_NAME: &str = "build.json";
    /// The key holding the image tag (what `Fn::GetParam` reads).
    pub const TAG_KEY: &str = "tag";
    /// The variable the build exports (CodeBuild `exported-variables`) with the same image tag: what
    /// `cargo xtask pipeline status` shows as the image a run built.
    pub const IMAGE_TAG_VARIABLE: &str = "IMAGE_TAG";

    /// The content of `build.json`. Unknown keys are rejected, so a change of shape on one side fails
    /// the other side's test.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct BuildOutput {
        /// The image tag that was pushed: the hash of the app's build inputs and the build host's
        /// architecture (app/src/buildspec.rs).
        pub tag: String,
    }
}

/// Where the buildspec lives inside the application source.
pub const BUILDSPEC_PATH: &str = "app/buildspec.yml";

/// The synthesized templates and parameter files inside the infrastructure source.
pub mod infra_layout {
    /// Directory of the synthesized templates, relative to the repository root.
    pub const CFN_DIR: &str = "infra/cfn";

    /// A stack's template file, e.g. `infra/cfn/service.yaml`.
    pub fn template_path(stack: super::Stack, extension: &str) -> String {
        format!("{CFN_DIR}/{}.{extension}", stack.suffix())
    }

    /// A stage's parameter file for a stack (CodePipeline's template-configuration format), e.g.
    /// `infra/cfn/dev/service.json`.
    pub fn parameters_path(stage: &str, stack: super::Stack) -> String {
        format!("{CFN_DIR}/{stage}/{}.json", stack.suffix())
    }
}

/// The parameters of the service stack (the pipeline's deploy action sets them).
pub mod service_params {
    /// The image tag to run; the deploy action sets it from `build.json`.
    pub const IMAGE_TAG: &str = "ImageTag";
    pub const APP_NAME: &str = "AppName";
    pub const STAGE_NAME: &str = "StageName";
    pub const VPC_ID: &str = "VpcId";
    /// The load balancer's (public) subnets.
    pub const LOAD_BALANCER_SUBNET_IDS: &str = "LoadBalancerSubnetIds";
    /// The container instances' subnets.
    pub const INSTANCE_SUBNET_IDS: &str = "InstanceSubnetIds";
    /// "true": the instances get public IPs (an account without NAT).
    pub const INSTANCE_PUBLIC_IP: &str = "InstancePublicIp";
    pub const CERTIFICATE_ARN: &str = "CertificateArn";
    pub const HTTP_REDIRECT: &str = "HttpRedirect";
    /// The pinned AMI, or empty to follow [`AMI_PARAMETER`].
    pub const IMAGE_ID: &str = "ImageId";
    /// Opt-in: the SSM parameter the AMI follows when [`IMAGE_ID`] is empty.
    pub const AMI_PARAMETER: &str = "AmiParameter";
    pub const INSTANCE_TYPE: &str = "InstanceType";
    pub const ROOT_VOLUME_SIZE: &str = "RootVolumeSize";
    pub const MIN_SIZE: &str = "MinSize";
    pub const MAX_SIZE: &str = "MaxSize";
    /// The fewest and most tasks service auto scaling keeps.
    pub const MIN_COUNT: &str = "MinCount";
    pub const MAX_COUNT: &str = "MaxCount";
    /// The average CPU utilization (percent) service auto scaling aims at.
    pub const TARGET_CPU_PERCENT: &str = "TargetCpuPercent";
    /// The load balancer requests per task (per target, per minute) service auto scaling aims at.
    pub const TARGET_REQUESTS_PER_TARGET: &str = "TargetRequestsPerTarget";
    /// Target 5xx responses per minute that roll a deployment back.
    pub const ROLLBACK_5XX_PER_MINUTE: &str = "Rollback5xxPerMinute";
    /// "true": ECS Exec into the tasks (opt-in).
    pub const ENABLE_EXEC: &str = "EnableExec";
    pub const TASK_CPU: &str = "TaskCpu";
    pub const TASK_MEMORY: &str = "TaskMemory";
    pub const TIME_ZONE: &str = "TimeZone";
    pub const LOG_RETENTION_DAYS: &str = "LogRetentionDays";
    pub const HEALTH_CHECK_GRACE_SECONDS: &str = "HealthCheckGraceSeconds";
}

/// The parameters of the pipeline stack.
pub mod pipeline_params {
    pub const APP_NAME: &str = "AppName";
    pub const STAGE_NAME: &str = "StageName";
    pub const CONNECTION_ARN: &str = "ConnectionArn";
    pub const APP_REPOSITORY: &str = "AppRepository";
    pub const APP_BRANCH: &str = "AppBranch";
    pub const APP_PATHS: &str = "AppPaths";
    pub const INFRA_REPOSITORY: &str = "InfraRepository";
    pub const INFRA_BRANCH: &str = "InfraBranch";
    pub const INFRA_PATHS: &str = "InfraPaths";
    pub const REQUIRE_APPROVAL: &str = "RequireApproval";
    /// `x86_64` or `arm64`: the build runs on the container instances' architecture.
    pub const BUILD_ARCHITECTURE: &str = "BuildArchitecture";
    /// Who is told that an approval waits: one email address each, empty when unused.
    pub const APPROVAL_EMAILS: [&str; 5] = [
        "ApprovalEmail1",
        "ApprovalEmail2",
        "ApprovalEmail3",
        "ApprovalEmail4",
        "ApprovalEmail5",
    ];
    /// Days a run's artifacts stay in the artifact bucket.
    pub const ARTIFACT_RETENTION_DAYS: &str = "ArtifactRetentionDays";
    /// "true" once the stage's secrets are stored: the transition into the Deploy stage opens. Set by
    /// `cargo xtask deploy pipeline`, never in a stage file.
    pub const DEPLOY_STAGE_OPEN: &str = "DeployStageOpen";
}

/// The container the service runs and what it reads from its environment.
pub mod container {
    /// The container's name in the task definition (the load balancer targets it by name).
    pub const NAME: &str = "app";
    /// The port the app listens on inside the container.
    pub const PORT: u16 = 8080;
    /// The path the load balancer's health check requests.
    pub const HEALTH_CHECK_PATH: &str = "/health";
    /// Environment variables the task definition sets and the app reads.
    pub mod env {
        pub const PORT: &str = "PORT";
        pub const APP_NAME: &str = "APP_NAME";
        pub const STAGE: &str = "STAGE";
        pub const IMAGE_TAG: &str = "IMAGE_TAG";
        pub const TZ: &str = "TZ";
    }
}

/// Environment variables the CodeBuild project sets and the buildspec reads.
pub mod build_env {
    /// The region (for the ECR login).
    pub const AWS_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
    /// Where to push the image: `<account>.dkr.ecr.<region>.amazonaws.com/<repository>`.
    pub const REPOSITORY_URI: &str = "REPOSITORY_URI";
    /// All of them, in the order the project declares them.
    pub const ALL: [&str; 2] = [AWS_DEFAULT_REGION, REPOSITORY_URI];
}

/// The secrets the app needs, declared once. Ops stores each in SSM Parameter Store as a
/// `SecureString` under the stage's KMS key (`cargo xtask secrets put`); the service receives the
/// runtime ones in its environment, under the same name.
pub mod secrets {
    /// When a secret is needed.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum UsedAt {
        /// In the running container's environment (ECS injects it from SSM at task start).
        Runtime,
        /// While the image is built (the buildspec reads it from Parameter Store and hands it to docker
        /// with `--secret`: never `--build-arg`, never in an image layer).
        Build,
    }

    /// One secret the app declares.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Secret {
        /// The environment variable, and the last segment of the SSM parameter's name.
        pub name: &'static str,
        pub used_at: UsedAt,
        pub description: &'static str,
    }

    /// Every secret the app declares.
    pub const DECLARED: &[Secret] = &[Secret {
        name: "DB_PASSWORD",
        used_at: UsedAt::Runtime,
        description: "the database password (the seed's rds_pass)",
    }];

    /// The runtime secrets.
    pub fn runtime() -> impl Iterator<Item = &'static Secret> {
        DECLARED.iter().filter(|s| s.used_at == UsedAt::Runtime)
    }

    /// The build-time secrets.
    pub fn build() -> impl Iterator<Item = &'static Secret> {
        DECLARED.iter().filter(|s| s.used_at == UsedAt::Build)
    }
}

/// The two stacks of a stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stack {
    /// Deployed once per stage by Ops: the pipeline, the build, the artifact bucket, the image
    /// repository, the stage's KMS key and the roles.
    Pipeline,
    /// Deployed by the pipeline (or by hand): the load balancer, the cluster, the instances, the service.
    Service,
}

impl Stack {
    pub const ALL: [Stack; 2] = [Stack::Pipeline, Stack::Service];

    /// `pipeline` / `service`: the stack name's suffix and the template's file name.
    pub fn suffix(self) -> &'static str {
        match self {
            Stack::Pipeline => "pipeline",
            Stack::Service => "service",
        }
    }
}

impl fmt::Display for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.suffix())
    }
}

/// The outputs the pipeline stack exports (under [`Names::export`]).
pub mod pipeline_outputs {
    pub const PIPELINE_NAME: &str = "PipelineName";
    pub const ARTIFACT_BUCKET: &str = "ArtifactBucket";
    pub const REPOSITORY_URI: &str = "RepositoryUri";
    pub const KEY_ARN: &str = "KeyArn";
    pub const KEY_ALIAS: &str = "KeyAlias";
    pub const DEPLOY_ROLE_ARN: &str = "DeployRoleArn";
    /// The managed policy of the service's task execution role (image pull, logs, secrets).
    pub const TASK_EXECUTION_POLICY_ARN: &str = "TaskExecutionPolicyArn";
}

/// The names of one app's stage. The functions take plain strings, so that a template can render
/// the same scheme with `${AppName}`/`${StageName}` in place of the values ([`Names::template`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Names<'a> {
    app: &'a str,
    stage: &'a str,
}

impl<'a> Names<'a> {
    pub fn new(app: &'a str, stage: &'a str) -> Self {
        Names { app, stage }
    }

    /// The scheme with CloudFormation `Fn::Sub` variables instead of values: what a stage-independent
    /// template writes.
    pub fn template() -> Names<'static> {
        Names {
            app: "${AppName}",
            stage: "${StageName}",
        }
    }

    pub fn app(&self) -> &str {
        self.app
    }

    pub fn stage(&self) -> &str {
        self.stage
    }

    /// `sample-dev-pipeline`, `sample-dev-service`.
    pub fn stack(&self, stack: Stack) -> String {
        format!("{}-{}-{}", self.app, self.stage, stack.suffix())
    }

    /// The ECR repository: `sample-dev`.
    pub fn repository(&self) -> String {
        format!("{}-{}", self.app, self.stage)
    }

    /// The stage key's alias: `alias/berth/sample/dev`.
    pub fn kms_alias(&self) -> String {
        format!("alias/berth/{}/{}", self.app, self.stage)
    }

    /// The SSM path all secrets of the stage live under: `/berth/sample/dev/`.
    pub fn secrets_path(&self) -> String {
        format!("/berth/{}/{}/", self.app, self.stage)
    }

    /// The SSM parameter holding one secret: `/berth/sample/dev/DB_PASSWORD`.
    pub fn secret_parameter(&self, secret: &str) -> String {
        format!("{}{secret}", self.secrets_path())
    }

    /// The export name of one of the pipeline stack's outputs: `sample-dev-KeyArn`.
    pub fn export(&self, output: &str) -> String {
        format!("{}-{}-{output}", self.app, self.stage)
    }

    /// The prefix of the service stack's IAM role names, which the deploy role may manage:
    /// `sample-dev-svc-`.
    pub fn service_role_prefix(&self) -> String {
        format!("{}-{}-svc-", self.app, self.stage)
    }

    /// The ECS task execution role (pulls the image, reads the secrets): `sample-dev-svc-task-execution`.
    pub fn task_execution_role(&self) -> String {
        format!("{}task-execution", self.service_role_prefix())
    }

    /// The task execution role's managed policy (in the pipeline stack): `sample-dev-task-execution`.
    /// Named, so that the service stack refers to it by ARN without importing an export.
    pub fn task_execution_policy(&self) -> String {
        format!("{}-{}-task-execution", self.app, self.stage)
    }

    /// The tasks' own role (what the app may call; separate from the execution role):
    /// `sample-dev-svc-task`.
    pub fn task_role(&self) -> String {
        format!("{}task", self.service_role_prefix())
    }

    /// The managed policy (in the pipeline stack) that ECS Exec needs of the task role, attached only
    /// when the stage opts in: `sample-dev-exec`.
    pub fn exec_policy(&self) -> String {
        format!("{}-{}-exec", self.app, self.stage)
    }

    /// The SNS topic that tells approvers an approval waits: `sample-dev-approvals`.
    pub fn approvals_topic(&self) -> String {
        format!("{}-{}-approvals", self.app, self.stage)
    }

    /// The CodeBuild project that summarizes the service stack's change set for the approver:
    /// `sample-dev-change-set-summary`.
    pub fn change_set_summary(&self) -> String {
        format!("{}-{}-change-set-summary", self.app, self.stage)
    }

    /// The container instances' managed policy (in the pipeline stack): `sample-dev-instance`. Named,
    /// like [`Names::task_execution_policy`], so the service stack attaches it by ARN.
    pub fn instance_policy(&self) -> String {
        format!("{}-{}-instance", self.app, self.stage)
    }

    /// The container instances' role and instance profile: `sample-dev-svc-instance`.
    pub fn instance_role(&self) -> String {
        format!("{}instance", self.service_role_prefix())
    }

    /// The service's log group: `/berth/sample/dev/service`.
    pub fn log_group(&self) -> String {
        format!("/berth/{}/{}/service", self.app, self.stage)
    }

    /// The stage's log bucket, kept by the pipeline stack: the artifact bucket's S3 access logs and the
    /// load balancer's access logs. `sample-dev-log-123456789012-ap-northeast-1`: the account and the
    /// region make the global name unique; at most 63 characters (app 20, stage 10, region 14).
    pub fn log_bucket(&self, account: &str, region: &str) -> String {
        format!("{}-{}-log-{account}-{region}", self.app, self.stage)
    }

    /// The CodePipeline pipeline and the CodeBuild project: `sample-dev`.
    pub fn pipeline(&self) -> String {
        format!("{}-{}", self.app, self.stage)
    }

    /// The build's log group: `/aws/codebuild/sample-dev`.
    pub fn build_log_group(&self) -> String {
        format!("/aws/codebuild/{}", self.pipeline())
    }

    /// The pipeline's change set name for the service stack.
    pub fn change_set(&self) -> String {
        format!("{}-{}-pipeline-deploy", self.app, self.stage)
    }
}

/// Where each kind of log lands inside [`Names::log_bucket`].
pub mod log_prefixes {
    /// The artifact bucket's S3 server access logs.
    pub const ARTIFACT_BUCKET: &str = "artifact-bucket";
    /// The load balancer's access logs (ELB appends `AWSLogs/<account>/...`).
    pub const LOAD_BALANCER: &str = "load-balancer";
}

/// The SSM parameter of one of `app`'s build-time secrets: `/berth/sample/build/NPM_TOKEN`. The
/// buildspec is shared by every stage, and its `parameter-store:` names take no variables: build-time
/// secrets belong to the app, not to a stage.
pub fn build_secret_parameter(app: &str, secret: &str) -> String {
    format!("/berth/{app}/build/{secret}")
}

/// An app name: 1 to 20 lowercase letters, digits and `-`, starting with a letter, not `aws`/`ssm`.
/// It is part of stack names, the image repository, SSM paths and IAM role names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AppName(String);

/// A stage name: 1 to 10 lowercase letters and digits, starting with a letter.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StageName(String);

fn check_name(value: &str, what: &str, max: usize, dash: bool) -> Result<(), String> {
    let allowed = if dash {
        "lowercase letters, digits and `-`"
    } else {
        "lowercase letters and digits"
    };
    let expected = format!("1 to {max} {allowed}, starting with a letter");
    let ok_chars = value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || (dash && b == b'-'));
    if value.is_empty()
        || value.len() > max
        || !ok_chars
        || !value.starts_with(|c: char| c.is_ascii_lowercase())
        || value.ends_with('-')
    {
        return Err(format!("{what} `{value}` is invalid: expected {expected}"));
    }
    Ok(())
}

impl AppName {
    pub const MAX_LEN: usize = 20;

    pub fn parse(value: &str) -> Result<Self, String> {
        check_name(value, "app name", Self::MAX_LEN, true)?;
        if value.starts_with("aws") || value.starts_with("ssm") {
            return Err(format!(
                "app name `{value}` is invalid: it may not start with `aws` or `ssm` (SSM reserves those prefixes)"
            ));
        }
        Ok(AppName(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl StageName {
    pub const MAX_LEN: usize = 10;

    pub fn parse(value: &str) -> Result<Self, String> {
        check_name(value, "stage name", Self::MAX_LEN, false)?;
        Ok(StageName(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_newtype {
    ($t:ty) => {
        impl TryFrom<String> for $t {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
string_newtype!(AppName);
string_newtype!(StageName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_a_stage() {
        let n = Names::new("sample", "dev");
        assert_eq!(n.stack(Stack::Pipeline), "sample-dev-pipeline");
        assert_eq!(n.stack(Stack::Service), "sample-dev-service");
        assert_eq!(n.repository(), "sample-dev");
        assert_eq!(n.kms_alias(), "alias/berth/sample/dev");
        assert_eq!(n.secret_parameter("DB_PASSWORD"), "/berth/sample/dev/DB_PASSWORD");
        assert_eq!(n.export("KeyArn"), "sample-dev-KeyArn");
        assert_eq!(n.task_execution_role(), "sample-dev-svc-task-execution");
        assert!(n.task_execution_role().starts_with(&n.service_role_prefix()));
        assert!(n.instance_role().starts_with(&n.service_role_prefix()));
        assert_eq!(Names::template().repository(), "${AppName}-${StageName}");
    }

    #[test]
    fn the_longest_names_fit_their_limits() {
        let app = "a".repeat(AppName::MAX_LEN);
        let stage = "s".repeat(StageName::MAX_LEN);
        let n = Names::new(&app, &stage);
        // IAM role names: 64; stack names: 128; ECR repositories: 256; KMS aliases: 256.
        assert!(n.task_execution_role().len() <= 64, "{}", n.task_execution_role());
        assert!(n.instance_role().len() <= 64);
        assert!(n.stack(Stack::Pipeline).len() <= 128);
    }

    #[test]
    fn app_and_stage_names_are_checked() {
        assert!(AppName::parse("sample").is_ok());
        assert!(AppName::parse("my-app2").is_ok());
        for bad in [
            "",
            "Sample",
            "1app",
            "app_",
            "app-",
            "awsome",
            "ssmapp",
            &"a".repeat(21),
        ] {
            let e = AppName::parse(bad).unwrap_err();
            assert!(e.contains(&format!("`{bad}`")), "{e}");
        }
        assert!(StageName::parse("prod").is_ok());
        for bad in ["", "Prod", "pro-d", "2prod", "elevenchars"] {
            let e = StageName::parse(bad).unwrap_err();
            assert!(e.contains("expected"), "{e}");
        }
    }

    #[test]
    fn build_output_uses_the_tag_key_and_rejects_unknown_keys() {
        let text = serde_json::to_string(&build_output::BuildOutput { tag: "abc".into() }).unwrap();
        assert_eq!(text, format!("{{\"{}\":\"abc\"}}", build_output::TAG_KEY));
        let e = serde_json::from_str::<build_output::BuildOutput>(r#"{"tag":"a","image":"b"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `image`"), "{e}");
    }
}

/// The images the build pushes to the stage's repository besides the app's own.
pub mod image {
    /// The tag prefix of the dependency images: `deps-` then the hash of the workspace's manifests,
    /// its lock file and the Dockerfile. The build pushes one when those change and builds the app on
    /// its layers (BuildKit's inline cache); the repository's lifecycle policy keeps the last few of
    /// them apart from the app's images, whose tags are the hash of all the app's build inputs.
    pub const DEPENDENCY_TAG_PREFIX: &str = "deps-";
}
