//! The pipeline stack: deployed once per stage by Ops.
//!
//! ```text
//!   AppSource ──┐                                     ┌─▶ CreateChangeSet ─▶ (Approve) ─▶ ExecuteChangeSet
//!               ├─▶ BuildProject ─▶ ImageRepository   │      on the service stack, image tag from build.json
//!   InfraSource ┘        └─▶ build.json ──────────────┘
//!   StageKey: encrypts the ArtifactStore, the images, the build logs and the stage's secrets
//! ```
//!
//! The stage's KMS key, the artifact bucket and its log bucket, the image repository, the CodeBuild
//! project and the CodePipeline (type V2): two sources (`AppSource`, `InfraSource`) → a build that
//! pushes the image and writes `build.json` → a CloudFormation change set on the service stack with the
//! image tag read from `build.json` → an optional manual approval → execute. Every role is separate and
//! least-privilege.

use cfn::fns::{and, equals, not};
use cfn::params::{CommaDelimitedList, Integer, Str};
use cfn::resources::iam;
use cfn::{Output, Param, Parameter, Res, Template, Val, fns};
use pipeline_model::{pipeline_outputs, pipeline_params as pp};

use crate::blocks::{
    Approval, ArtifactStore, BuildProject, BuildProjectProps, ChangeSetSummary, ChangeSetSummaryProps,
    DeliveryPipeline, DeliveryPipelineProps, ExecPolicy, GitSource, ImageRepository, InstancePolicy,
    LogBucket, ServiceDeployPolicy, ServiceDeployPolicyProps, Sources, StageKey, StageKeyProps,
    TaskExecutionPolicy,
};
use crate::bounds;
use crate::naming::{StageNames, trusting};

pub use crate::blocks::{
    BUILD_IMAGE, BUILD_IMAGE_ARM, BUILD_LOG_RETENTION_DAYS, ELB_LOG_ACCOUNTS, IMAGES_KEPT,
};
pub use crate::naming::checkov_skips;

/// The pipeline stack's parameters and the conditions drawn from them.
struct Parameters {
    names: StageNames,
    sources: Sources,
    approval: Approval,
    build_on_arm: cfn::Cond,
    artifact_days: Param<Integer>,
    deploy_closed: cfn::Cond,
}

fn parameters(t: &mut Template) -> Parameters {
    let names = StageNames::add(t, pp::APP_NAME, pp::STAGE_NAME);
    let connection = t.add_parameter(
        pp::CONNECTION_ARN,
        Parameter::<Str>::new()
            .description("The CodeConnections connection of both sources")
            .allowed_pattern("^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:connection/[0-9a-f-]+$"),
    );
    let repo = |t: &mut Template, id: &str, what: &str| {
        t.add_parameter(
            id,
            Parameter::<Str>::new()
                .description(&format!("The {what} repository, owner/name"))
                .allowed_pattern("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"),
        )
    };
    let app_repo = repo(t, pp::APP_REPOSITORY, "application");
    let infra_repo = repo(t, pp::INFRA_REPOSITORY, "infrastructure");
    let branch = |t: &mut Template, id: &str, what: &str| {
        t.add_parameter(
            id,
            Parameter::<Str>::new()
                .description(&format!("The {what} branch"))
                .min_length(1),
        )
    };
    let app_branch = branch(t, pp::APP_BRANCH, "application source's");
    let infra_branch = branch(t, pp::INFRA_BRANCH, "infrastructure source's");
    let paths = |t: &mut Template, id: &str, what: &str| {
        t.add_parameter(
            id,
            Parameter::<CommaDelimitedList>::new()
                .description(&format!(
                    "Only pushes that change these paths ({what}) start the pipeline; empty: every push"
                ))
                .default_value(Vec::<String>::new()),
        )
    };
    let app_paths = paths(t, pp::APP_PATHS, "application");
    let infra_paths = paths(t, pp::INFRA_PATHS, "infrastructure");
    let approval = t.add_parameter(
        pp::REQUIRE_APPROVAL,
        Parameter::<Str>::new()
            .description("Wait for a manual approval, after the change set is created and summarized, before executing it")
            .allowed_values(["true", "false"])
            .default_value("false"),
    );
    let emails: Vec<Param<Str>> = pp::APPROVAL_EMAILS
        .into_iter()
        .map(|id| {
            t.add_parameter(
                id,
                Parameter::<Str>::new()
                    .description("An email address told that an approval waits; empty: none")
                    .allowed_pattern("^$|^[^@,\\s]+@[^@,\\s]+\\.[^@,\\s]+$")
                    .default_value(""),
            )
        })
        .collect();
    let build_architecture = t.add_parameter(
        pp::BUILD_ARCHITECTURE,
        Parameter::<Str>::new()
            .description("The container instances' architecture: the build makes the image for it, natively")
            .allowed_values(["x86_64", "arm64"])
            .default_value("x86_64"),
    );
    let artifact_days = t.add_parameter(
        pp::ARTIFACT_RETENTION_DAYS,
        bounds::ARTIFACT_RETENTION_DAYS
            .parameter("Days a pipeline run's artifacts stay in the artifact bucket")
            .default_value(30),
    );
    let deploy_open = t.add_parameter(
        pp::DEPLOY_STAGE_OPEN,
        Parameter::<Str>::new()
            .description(
                "Set by cargo xtask deploy pipeline: true once the stage's secrets are stored, which opens the transition into the Deploy stage",
            )
            .allowed_values(["true", "false"])
            .default_value("false"),
    );

    let require_approval = t.add_condition("RequireApproval", equals(approval, "true"));
    let emails = emails
        .into_iter()
        .enumerate()
        .map(|(i, email)| {
            let set = t.add_condition(
                &format!("NotifyApprover{}", i + 1),
                and([require_approval.into(), not(equals(email, ""))]),
            );
            (email, set)
        })
        .collect();
    let build_on_arm = t.add_condition("BuildOnArm", equals(build_architecture, "arm64"));
    let deploy_closed = t.add_condition("DeployStageClosed", not(equals(deploy_open, "true")));
    let filtered =
        |t: &mut Template, id: &str, paths| t.add_condition(id, not(equals(fns::join("", paths), "")));
    let app_filtered = filtered(t, "FilterAppPaths", app_paths);
    let infra_filtered = filtered(t, "FilterInfraPaths", infra_paths);
    Parameters {
        names,
        sources: Sources {
            app: GitSource {
                repository: app_repo,
                branch: app_branch,
                paths: app_paths,
                filtered: app_filtered,
            },
            infra: GitSource {
                repository: infra_repo,
                branch: infra_branch,
                paths: infra_paths,
                filtered: infra_filtered,
            },
            connection,
        },
        approval: Approval {
            required: require_approval,
            emails,
        },
        build_on_arm,
        artifact_days,
        deploy_closed,
    }
}

/// A role a service assumes, with its trust policy only: its permissions come in the blocks that name
/// what it may use.
fn service_role(t: &mut Template, id: &str, service: &str, description: &str) -> Res<iam::Role> {
    t.add(id, iam::Role::new(trusting(service)).description(description))
}

/// The pipeline stack's template, the same for every stage. `template_extension` is the format the
/// service stack's template is committed in (`yaml` or `json`), which the deploy action reads.
pub fn template(template_extension: &str) -> Template {
    let mut t = Template::new();
    t.set_description(
        "berth pipeline stack: KMS key, artifact bucket, ECR repository, CodeBuild, CodePipeline (V2) deploying the service stack through change sets",
    );
    let p = parameters(&mut t);
    let n = p.names;

    let pipeline_role = service_role(
        &mut t,
        "PipelineRole",
        "codepipeline.amazonaws.com",
        "CodePipeline: run the stage's pipeline",
    );
    let build_role = service_role(
        &mut t,
        "BuildRole",
        "codebuild.amazonaws.com",
        "CodeBuild: build and push the app image",
    );
    let deploy_role = service_role(
        &mut t,
        "DeployRole",
        "cloudformation.amazonaws.com",
        "CloudFormation: create and update the service stack",
    );

    let key = StageKey::add(&mut t, StageKeyProps { names: n, build_role });
    let log_bucket = LogBucket::add(&mut t, n);
    let artifacts = ArtifactStore::add(&mut t, key.key, &log_bucket, p.artifact_days);
    log_bucket.allow_deliveries(&mut t, &artifacts);
    let repository = ImageRepository::add(&mut t, n, key.key);
    let task_execution = TaskExecutionPolicy::add(&mut t, n, key.key, repository.repository);
    let instance_policy = InstancePolicy::add(&mut t, n);
    let exec_policy = ExecPolicy::add(&mut t, n);
    let build = BuildProject::add(
        &mut t,
        BuildProjectProps {
            names: n,
            role: build_role,
            key: key.key,
            artifacts: &artifacts,
            repository: repository.repository,
            on_arm: p.build_on_arm,
        },
    );
    let summary = ChangeSetSummary::add(
        &mut t,
        ChangeSetSummaryProps {
            names: n,
            artifacts: &artifacts,
            log_group: build.log_group,
        },
    );
    ServiceDeployPolicy::add(
        &mut t,
        ServiceDeployPolicyProps {
            names: n,
            role: deploy_role,
            task_execution_policy: task_execution.policy,
            instance_policy: instance_policy.policy,
            exec_policy: exec_policy.policy,
        },
    );
    DeliveryPipeline::add(
        &mut t,
        DeliveryPipelineProps {
            names: n,
            role: pipeline_role,
            deploy_role,
            key: key.key,
            artifacts: &artifacts,
            build: build.project,
            summary,
            sources: p.sources,
            approval: p.approval,
            deploy_closed: p.deploy_closed,
            template_extension,
        },
    );

    let names = n.names();
    let export = |t: &mut Template, id: &str, value: Val<String>, description: &str| {
        t.add_output(
            id,
            Output::new(value)
                .description(description)
                .export(n.sub(names.export(id))),
        );
    };
    export(
        &mut t,
        pipeline_outputs::PIPELINE_NAME,
        // The contract's name (`Ref` yields the same); it does not need the pipeline resource resolved.
        n.sub(names.pipeline()).into(),
        "The stage's pipeline",
    );
    export(
        &mut t,
        pipeline_outputs::ARTIFACT_BUCKET,
        artifacts.bucket.to_ref(),
        "The pipeline's artifact bucket",
    );
    export(
        &mut t,
        pipeline_outputs::REPOSITORY_URI,
        repository.repository.repository_uri(),
        "Where the build pushes the app image",
    );
    export(
        &mut t,
        pipeline_outputs::KEY_ARN,
        key.key.arn(),
        "The stage's KMS key (secrets, artifacts, images)",
    );
    export(
        &mut t,
        pipeline_outputs::KEY_ALIAS,
        key.alias.to_ref(),
        "The stage's KMS key alias",
    );
    export(
        &mut t,
        pipeline_outputs::DEPLOY_ROLE_ARN,
        deploy_role.arn(),
        "The role CloudFormation uses for the service stack",
    );
    export(
        &mut t,
        pipeline_outputs::TASK_EXECUTION_POLICY_ARN,
        task_execution.policy.to_ref(),
        "The managed policy of the service's task execution role",
    );
    t
}
