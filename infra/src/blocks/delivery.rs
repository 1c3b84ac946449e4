//! The delivery pipeline (CodePipeline V2): two sources (`AppSource`, `InfraSource`) → a build that
//! pushes the image and writes `build.json` → a CloudFormation change set on the service stack with
//! the image tag read from `build.json` → an optional manual approval → execute; and what its role may
//! do.

use cfn::actions::{
    ArtifactPath, Capability, CloudFormation, CodeBuild, CodeStarSource, GetParam, GitHubOAuthSource,
    ManualApproval, ParameterOverrides,
};
use cfn::fns::{Sub, if_};
use cfn::params::{CommaDelimitedList, Str};
use cfn::policy::{PolicyDocument, Statement};
use cfn::resources::{codebuild, codepipeline, iam, kms};
use cfn::{Attributes, Cond, Param, Res, Template, Val, dynamic, fns, pseudo};
use pipeline_model::{Stack, artifacts, build_output, infra_layout};

use crate::blocks::ArtifactStore;
use crate::naming::StageNames;

/// One Git source of the pipeline.
#[derive(Clone, Copy)]
pub struct GitSource {
    /// `owner/name`.
    pub repository: Param<Str>,
    pub branch: Param<Str>,
    /// Only pushes that change these paths start the pipeline...
    pub paths: Param<CommaDelimitedList>,
    /// ...when this holds (a connection, and paths given).
    pub filtered: Cond,
}

/// Where the sources come from: a CodeConnections connection, or (legacy) GitHub with an OAuth token.
#[derive(Clone, Copy)]
pub struct Sources {
    pub app: GitSource,
    pub infra: GitSource,
    pub connection: Param<Str>,
    pub use_connection: Cond,
    /// The Secrets Manager secret whose `token` key holds the legacy OAuth token.
    pub legacy_token_secret: Param<Str>,
}

/// What the pipeline needs.
pub struct DeliveryPipelineProps<'a> {
    pub names: StageNames,
    pub role: Res<iam::Role>,
    /// The role CloudFormation uses for the service stack.
    pub deploy_role: Res<iam::Role>,
    pub key: Res<kms::Key>,
    pub artifacts: &'a ArtifactStore,
    pub build: Res<codebuild::Project>,
    pub sources: Sources,
    /// Wait for a manual approval before executing the change set.
    pub require_approval: Cond,
    /// The format the service stack's template is committed in (`yaml` or `json`).
    pub template_extension: &'a str,
}

#[derive(Clone, Copy)]
pub struct DeliveryPipeline {
    pub policy: Res<iam::Policy>,
    pub pipeline: Res<codepipeline::Pipeline>,
}

impl DeliveryPipeline {
    pub fn add(t: &mut Template, props: DeliveryPipelineProps<'_>) -> DeliveryPipeline {
        let n = props.names;
        let names = n.names();
        let src = props.sources;
        let service_stack_arn = n.arn(
            "cloudformation",
            format!("stack/{}/*", names.stack(Stack::Service)),
        );
        let policy = t.add(
            "PipelinePolicy",
            iam::Policy::new(
                PolicyDocument::new()
                    .statement(
                        Statement::allow()
                            .sid("Artifacts")
                            .actions([
                                "s3:GetObject",
                                "s3:GetObjectVersion",
                                "s3:PutObject",
                                "s3:PutObjectAcl",
                            ])
                            .resource(props.artifacts.objects()),
                    )
                    .statement(
                        Statement::allow()
                            .sid("ArtifactBucket")
                            .actions(["s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:ListBucket"])
                            .resource(props.artifacts.bucket.arn()),
                    )
                    .statement(props.artifacts.key_use())
                    .statement_if(
                        src.use_connection,
                        Statement::allow()
                            .sid("Sources")
                            .actions([
                                "codeconnections:UseConnection",
                                "codestar-connections:UseConnection",
                            ])
                            .resource(src.connection),
                    )
                    .statement(
                        Statement::allow()
                            .sid("Build")
                            .actions([
                                "codebuild:BatchGetBuilds",
                                "codebuild:StartBuild",
                                "codebuild:StopBuild",
                            ])
                            // By name, not GetAtt: the name is the contract's, and the policy need not wait
                            // for the project (emulators that skip CodeBuild cannot resolve its attributes).
                            .resource(n.arn("codebuild", format!("project/{}", names.pipeline()))),
                    )
                    .statement(
                        Statement::allow()
                            .sid("ServiceStack")
                            .actions([
                                "cloudformation:CreateChangeSet",
                                "cloudformation:DeleteChangeSet",
                                "cloudformation:DescribeChangeSet",
                                "cloudformation:DescribeStacks",
                                "cloudformation:ExecuteChangeSet",
                            ])
                            .resource(service_stack_arn),
                    )
                    .statement(
                        Statement::allow()
                            .sid("PassDeployRole")
                            .actions(["iam:PassRole"])
                            .resource(props.deploy_role.arn())
                            .condition(
                                "StringEquals",
                                "iam:PassedToService",
                                "cloudformation.amazonaws.com",
                            ),
                    ),
                "pipeline",
            )
            .roles(vec![props.role.to_ref()]),
        );

        let source = |name: &str, git: GitSource| -> Val<codepipeline::pipeline::ActionDeclaration> {
            if_(
                src.use_connection,
                CodeStarSource::new(src.connection, git.repository, git.branch).action(name, name),
                GitHubOAuthSource {
                    owner: fns::select(0, fns::split("/", git.repository)),
                    repo: fns::select(1, fns::split("/", git.repository)),
                    branch: git.branch.into(),
                    // A dynamic reference: CloudFormation reads the token from Secrets Manager at deploy
                    // time; it is never a parameter value and never in the template.
                    oauth_token: dynamic::secrets_manager(src.legacy_token_secret, Some("token"), None),
                }
                .action(name, name),
            )
        };
        let service_template = infra_layout::template_path(Stack::Service, props.template_extension);
        let service_parameters = infra_layout::parameters_path("${StageName}", Stack::Service);
        let create_change_set = CloudFormation::change_set_replace(
            n.sub(names.stack(Stack::Service)),
            n.sub(names.change_set()),
            ArtifactPath::new(artifacts::INFRA_SOURCE, service_template.as_str()),
        )
        .template_configuration(ArtifactPath::new(
            artifacts::INFRA_SOURCE,
            Sub::new(service_parameters).var("StageName", n.stage),
        ))
        .parameter_overrides(ParameterOverrides::new().get_param(
            pipeline_model::service_params::IMAGE_TAG,
            GetParam::new(artifacts::BUILD, build_output::FILE_NAME, build_output::TAG_KEY),
        ))
        .capability(Capability::NamedIam)
        .role_arn(props.deploy_role.arn())
        .action("CreateChangeSet", &[artifacts::INFRA_SOURCE, artifacts::BUILD])
        .run_order(2);
        let execute_change_set =
            CloudFormation::change_set_execute(n.sub(names.stack(Stack::Service)), n.sub(names.change_set()))
                .action("ExecuteChangeSet", &[])
                .run_order(3);
        let approve = ManualApproval {
            custom_data: Some(
                "Review the service stack's change set, then approve to execute it.".to_owned(),
            ),
            notification_arn: None,
        }
        .action("Approve")
        .run_order(1);
        let trigger = |source: &str, git: GitSource| {
            codepipeline::pipeline::PipelineTriggerDeclaration::new(
                codepipeline::pipeline::ProviderType::CodeStarSourceConnection,
            )
            .git_configuration(codepipeline::pipeline::GitConfiguration::new(source).push(vec![
                codepipeline::pipeline::GitPushFilter::new()
                    .branches(
                        codepipeline::pipeline::GitBranchFilterCriteria::new()
                            .includes(vec![git.branch.to_ref()]),
                    )
                    .file_paths(codepipeline::pipeline::GitFilePathFilterCriteria::new().includes(git.paths)),
            ]))
        };
        let pipeline = t.add_with(
            "Pipeline",
            codepipeline::Pipeline::new(
                props.role.arn(),
                vec![
                    codepipeline::pipeline::StageDeclaration::new(
                        vec![
                            source(artifacts::APP_SOURCE, src.app),
                            source(artifacts::INFRA_SOURCE, src.infra),
                        ],
                        "Source",
                    ),
                    codepipeline::pipeline::StageDeclaration::new(
                        vec![CodeBuild::new(props.build.to_ref()).action(
                            "Build",
                            &[artifacts::APP_SOURCE],
                            &[artifacts::BUILD],
                        )],
                        "Build",
                    ),
                    codepipeline::pipeline::StageDeclaration::new(
                        vec![
                            if_(props.require_approval, approve, pseudo::no_value()),
                            create_change_set.into(),
                            execute_change_set.into(),
                        ],
                        "Deploy",
                    ),
                ],
            )
            .name(n.sub(names.pipeline()))
            .pipeline_type(codepipeline::pipeline::PipelineType::V2)
            .execution_mode(codepipeline::pipeline::ExecutionMode::Queued)
            .restart_execution_on_update(false)
            .artifact_store(
                codepipeline::pipeline::ArtifactStore::new(
                    props.artifacts.bucket.to_ref(),
                    codepipeline::pipeline::ArtifactStoreType::S3,
                )
                .encryption_key(codepipeline::pipeline::EncryptionKey::new(props.key.arn(), "KMS")),
            )
            .triggers(vec![
                if_(
                    src.app.filtered,
                    trigger(artifacts::APP_SOURCE, src.app),
                    pseudo::no_value(),
                ),
                if_(
                    src.infra.filtered,
                    trigger(artifacts::INFRA_SOURCE, src.infra),
                    pseudo::no_value(),
                ),
            ]),
            Attributes::new().depends_on(policy),
        );
        DeliveryPipeline { policy, pipeline }
    }
}
