//! The delivery pipeline (CodePipeline V2): two sources (`AppSource`, `InfraSource`) → a build that
//! pushes the image and writes `build.json` → the service stack's change set (image tag read from
//! `build.json`) → its summary and a manual approval (when the stage asks for one) → execute; the
//! transition into the deploy stage closed until the stage's secrets are stored; who is told that an
//! approval waits; and what the pipeline's role may do.

use cfn::actions::{
    ArtifactPath, Capability, CloudFormation, CodeBuild, CodeStarSource, GetParam, ManualApproval,
    ParameterOverrides,
};
use cfn::fns::{self, Sub, if_};
use cfn::params::{CommaDelimitedList, Str};
use cfn::policy::{PolicyDocument, Statement};
use cfn::resources::{codebuild, codepipeline, iam, kms, sns};
use cfn::{Attributes, Cond, Param, Res, Template, Val, pseudo};
use pipeline_model::{Stack, artifacts, build_output, infra_layout};

use crate::blocks::change_set_summary::{CHANGE_SET_VAR, NAMESPACE, STACK_VAR};
use crate::blocks::{ArtifactStore, ChangeSetSummary};
use crate::naming::StageNames;

/// The stage of the pipeline that changes the service.
pub const DEPLOY_STAGE: &str = "Deploy";
/// The first stage: the two sources (its actions are named after their artifacts).
pub const SOURCE_STAGE: &str = "Source";
/// The stage that builds the image, and its one action.
pub const BUILD_STAGE: &str = "Build";
pub const BUILD_ACTION: &str = "Build";
/// The deploy stage's actions, in their order: the change set, its summary, the approval, the
/// execution.
pub const CREATE_ACTION: &str = "CreateChangeSet";
pub const SUMMARY_ACTION: &str = "SummarizeChangeSet";
pub const APPROVE_ACTION: &str = "Approve";
pub const EXECUTE_ACTION: &str = "ExecuteChangeSet";

/// Its actions' order: the change set, its summary, the approval, the execution.
pub const CREATE_ORDER: u32 = 1;
pub const SUMMARY_ORDER: u32 = 2;
pub const APPROVE_ORDER: u32 = 3;
pub const EXECUTE_ORDER: u32 = 4;

/// One Git source of the pipeline.
#[derive(Clone, Copy)]
pub struct GitSource {
    /// `owner/name`.
    pub repository: Param<Str>,
    pub branch: Param<Str>,
    /// Only pushes that change these paths start the pipeline...
    pub paths: Param<CommaDelimitedList>,
    /// ...when this holds (paths given).
    pub filtered: Cond,
}

/// Both sources, on one CodeConnections connection.
#[derive(Clone, Copy)]
pub struct Sources {
    pub app: GitSource,
    pub infra: GitSource,
    pub connection: Param<Str>,
}

/// Who approves: whether the stage asks for an approval, and who is told that one waits.
pub struct Approval {
    pub required: Cond,
    /// Email subscribers: each with the condition that it is set.
    pub emails: Vec<(Param<Str>, Cond)>,
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
    pub summary: ChangeSetSummary,
    pub sources: Sources,
    pub approval: Approval,
    /// The transition into the deploy stage is closed (the stage's secrets are not all stored yet: a
    /// first run would fail to create the service stack and strand it in ROLLBACK_COMPLETE).
    pub deploy_closed: Cond,
    /// The format the service stack's template is committed in (`yaml` or `json`).
    pub template_extension: &'a str,
}

#[derive(Clone, Copy)]
pub struct DeliveryPipeline {
    pub policy: Res<iam::Policy>,
    pub pipeline: Res<codepipeline::Pipeline>,
    pub approvals_topic: Res<sns::Topic>,
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
        // Who is told that an approval waits: encrypted with the stage key.
        let approvals_topic = t.add_with(
            "ApprovalsTopic",
            sns::Topic::new()
                .topic_name(n.sub(names.approvals_topic()))
                .display_name(n.sub("berth ${AppName}/${StageName}: approvals"))
                .kms_master_key_id(props.key.arn()),
            Attributes::new().condition(props.approval.required),
        );
        for (i, (email, set)) in props.approval.emails.iter().enumerate() {
            t.add_with(
                &format!("ApprovalSubscription{}", i + 1),
                sns::Subscription::new("email", approvals_topic.to_ref()).endpoint(*email),
                Attributes::new().condition(*set),
            );
        }
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
                    .statement(
                        Statement::allow()
                            .sid("Sources")
                            .actions([
                                "codeconnections:UseConnection",
                                "codestar-connections:UseConnection",
                            ])
                            // The connection under both of its service names: AWS renamed CodeStar
                            // Connections to CodeConnections, and a connection's ARN may carry either.
                            .resources(["codeconnections", "codestar-connections"].map(|service| {
                                Val::from(
                                    Sub::new(format!(
                                        "arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:connection/${{ConnectionId}}"
                                    ))
                                    .var("ConnectionId", fns::select(1, fns::split("connection/", src.connection))),
                                )
                            })),
                    )
                    .statement(
                        Statement::allow()
                            .sid("Builds")
                            .actions([
                                "codebuild:BatchGetBuilds",
                                "codebuild:StartBuild",
                                "codebuild:StopBuild",
                            ])
                            // By name, not GetAtt: the names are the contract's, and the policy need not
                            // wait for the projects (emulators that skip CodeBuild cannot resolve them).
                            .resources([
                                Val::from(n.arn("codebuild", format!("project/{}", names.pipeline()))),
                                n.arn("codebuild", format!("project/{}", names.change_set_summary()))
                                    .into(),
                            ]),
                    )
                    .statement(
                        Statement::allow()
                            .sid("ServiceStack")
                            .actions([
                                "cloudformation:CreateChangeSet",
                                "cloudformation:DeleteChangeSet",
                                "cloudformation:DescribeChangeSet",
                                "cloudformation:DescribeStackEvents",
                                "cloudformation:DescribeStacks",
                                "cloudformation:ExecuteChangeSet",
                            ])
                            .resource(service_stack_arn),
                    )
                    // Creating the change set resolves the service stack's SSM-typed parameters (the
                    // opt-in AMI parameter) with the pipeline's credentials.
                    .statement(
                        Statement::allow()
                            .sid("AmiParameters")
                            .actions(["ssm:GetParameters"])
                            .resource(Sub::new(
                                "arn:${AWS::Partition}:ssm:${AWS::Region}::parameter/aws/service/ecs/*",
                            )),
                    )
                    // By name: the topic exists only where the stage asks for approvals.
                    .statement(
                        Statement::allow()
                            .sid("ApprovalNotifications")
                            .actions(["sns:Publish"])
                            .resource(n.arn("sns", names.approvals_topic())),
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

        let source = |name: &str, git: GitSource| {
            CodeStarSource::new(src.connection, git.repository, git.branch).action(name, name)
        };
        let service_template = infra_layout::template_path(Stack::Service, props.template_extension);
        let service_parameters = infra_layout::parameters_path("${StageName}", Stack::Service);
        let stack = || n.sub(names.stack(Stack::Service));
        let change_set = || n.sub(names.change_set());
        let create_change_set = CloudFormation::change_set_replace(
            stack(),
            change_set(),
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
        .action(CREATE_ACTION, &[artifacts::INFRA_SOURCE, artifacts::BUILD])
        .run_order(CREATE_ORDER);
        // After the change set exists: what it changes, for the approver to read...
        let summarize = CodeBuild::new(props.summary.project.to_ref())
            .env(STACK_VAR, stack())
            .env(CHANGE_SET_VAR, change_set())
            .namespace(NAMESPACE)
            .action(SUMMARY_ACTION, &[artifacts::INFRA_SOURCE], &[])
            .run_order(SUMMARY_ORDER);
        // ...then the approval, which shows it and links to the change set...
        let approve = ManualApproval {
            custom_data: Some(
                format!("Service stack change set: #{{{NAMESPACE}.SUMMARY}} Review it at the link, then approve to execute it.")
                    .into(),
            ),
            notification_arn: Some(approvals_topic.to_ref()),
            external_entity_link: Some(format!("#{{{NAMESPACE}.LINK}}").into()),
        }
        .action(APPROVE_ACTION)
        .run_order(APPROVE_ORDER);
        // ...then the execution.
        let execute_change_set = CloudFormation::change_set_execute(stack(), change_set())
            .action(EXECUTE_ACTION, &[])
            .run_order(EXECUTE_ORDER);
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
        let required = props.approval.required;
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
                        SOURCE_STAGE,
                    ),
                    codepipeline::pipeline::StageDeclaration::new(
                        vec![CodeBuild::new(props.build.to_ref()).action(
                            BUILD_ACTION,
                            &[artifacts::APP_SOURCE],
                            &[artifacts::BUILD],
                        )],
                        BUILD_STAGE,
                    ),
                    codepipeline::pipeline::StageDeclaration::new(
                        vec![
                            create_change_set.into(),
                            if_(required, summarize, pseudo::no_value()),
                            if_(required, approve, pseudo::no_value()),
                            execute_change_set.into(),
                        ],
                        DEPLOY_STAGE,
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
            .disable_inbound_stage_transitions(if_(
                props.deploy_closed,
                vec![codepipeline::pipeline::StageTransition::new(
                    "berth: closed until the stage's secrets are stored; cargo xtask deploy pipeline opens it",
                    DEPLOY_STAGE,
                )],
                pseudo::no_value(),
            ))
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
        DeliveryPipeline {
            policy,
            pipeline,
            approvals_topic,
        }
    }
}
