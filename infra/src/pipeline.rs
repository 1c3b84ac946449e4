//! The pipeline stack: deployed once per stage by Ops.
//!
//! The stage's KMS key, the artifact bucket, the image repository, the CodeBuild project and the
//! CodePipeline (type V2): two sources (`AppSource`, `InfraSource`) → a build that pushes the image and
//! writes `build.json` → a CloudFormation change set on the service stack with the image tag read from
//! `build.json` → an optional manual approval → execute. Every role is separate and least-privilege.

use cfn::actions::{
    ArtifactPath, Capability, CloudFormation, CodeBuild, CodeStarSource, GetParam, GitHubOAuthSource,
    ManualApproval, ParameterOverrides,
};
use cfn::fns::{Sub, and, equals, if_, not};
use cfn::params::{CommaDelimitedList, Str};
use cfn::policy::{PolicyDocument, Principal, Statement};
use cfn::resources::{codebuild, codepipeline, ecr, iam, kms, logs, s3};
use cfn::{Attributes, Output, Parameter, Template, Val, dynamic, fns, pseudo};
use pipeline_model::{
    Names, Stack, artifacts, build_env, build_output, infra_layout, pipeline_outputs, pipeline_params as pp,
};

/// The CodeBuild image: the current standard Amazon Linux image (docker, aws cli, git).
pub const BUILD_IMAGE: &str = "aws/codebuild/amazonlinux-x86_64-standard:5.0";

/// Days the build's logs are kept.
pub const BUILD_LOG_RETENTION_DAYS: i64 = 30;

/// Images kept in the repository; older ones expire (immutable tags: every build adds one).
pub const IMAGES_KEPT: u32 = 100;

/// Days access logs are kept in the log bucket.
pub const ACCESS_LOG_RETENTION_DAYS: i64 = 365;

/// The account Elastic Load Balancing writes access logs from, in the regions opened before August
/// 2022; later regions use the `logdelivery.elasticloadbalancing.amazonaws.com` service principal.
pub const ELB_LOG_ACCOUNTS: &[(&str, &str)] = &[
    ("af-south-1", "098369216593"),
    ("ap-east-1", "754344448648"),
    ("ap-northeast-1", "582318560864"),
    ("ap-northeast-2", "600734575887"),
    ("ap-northeast-3", "383597477331"),
    ("ap-south-1", "718504428378"),
    ("ap-southeast-1", "114774131450"),
    ("ap-southeast-2", "783225319266"),
    ("ap-southeast-3", "589379963580"),
    ("ca-central-1", "985666609251"),
    ("eu-central-1", "054676820928"),
    ("eu-north-1", "897822967062"),
    ("eu-south-1", "635631232127"),
    ("eu-west-1", "156460612806"),
    ("eu-west-2", "652711504416"),
    ("eu-west-3", "009996457667"),
    ("me-south-1", "076674570225"),
    ("sa-east-1", "507241528517"),
    ("us-east-1", "127311923021"),
    ("us-east-2", "033677994240"),
    ("us-west-1", "027434742980"),
    ("us-west-2", "797873946194"),
];

/// A bucket nobody outside the account reaches: versioned, public access blocked, ACLs off (the
/// bucket owner owns every object).
fn private_bucket() -> s3::Bucket {
    s3::Bucket::new()
        .versioning_configuration(s3::bucket::VersioningConfiguration::new(
            s3::bucket::VersioningConfigurationStatus::Enabled,
        ))
        .public_access_block_configuration(
            s3::bucket::PublicAccessBlockConfiguration::new()
                .block_public_acls(true)
                .block_public_policy(true)
                .ignore_public_acls(true)
                .restrict_public_buckets(true),
        )
        .ownership_controls(s3::bucket::OwnershipControls::new(vec![
            s3::bucket::OwnershipControlsRule::new()
                .object_ownership(s3::bucket::ObjectOwnership::BucketOwnerEnforced),
        ]))
}

/// A checkov check a resource does not pass, and why that is right for it (its `Metadata`).
pub fn checkov_skips(skips: &[(&str, &str)]) -> serde_json::Value {
    let skip: Vec<serde_json::Value> = skips
        .iter()
        .map(|(id, comment)| serde_json::json!({"id": id, "comment": comment}))
        .collect();
    serde_json::json!({ "skip": skip })
}

/// The pipeline stack's template, the same for every stage. `template_extension` is the format the
/// service stack's template is committed in (`yaml` or `json`), which the deploy action reads.
pub fn template(template_extension: &str) -> Template {
    let names = Names::template();
    let mut t = Template::new();
    t.set_description(
        "berth pipeline stack: KMS key, artifact bucket, ECR repository, CodeBuild, CodePipeline (V2) deploying the service stack through change sets",
    );

    // ---- parameters ------------------------------------------------------------------------------------
    let app = t.add_parameter(pp::APP_NAME, crate::app_name_parameter());
    let stage = t.add_parameter(pp::STAGE_NAME, crate::stage_name_parameter());
    let connection = t.add_parameter(
        pp::CONNECTION_ARN,
        Parameter::<Str>::new()
            .description("The CodeConnections connection of both sources (empty with the legacy GitHub source)")
            .allowed_pattern("^$|^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:connection/[0-9a-f-]+$")
            .default_value(""),
    );
    let repo = |t: &mut Template, id: &str, what: &str| {
        t.add_parameter(
            id,
            Parameter::<Str>::new()
                .description(&format!("The {what} repository, owner/name"))
                .allowed_pattern("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"),
        )
    };
    let app_repo = repo(&mut t, pp::APP_REPOSITORY, "application");
    let infra_repo = repo(&mut t, pp::INFRA_REPOSITORY, "infrastructure");
    let branch = |t: &mut Template, id: &str, what: &str| {
        t.add_parameter(
            id,
            Parameter::<Str>::new()
                .description(&format!("The {what} branch"))
                .min_length(1),
        )
    };
    let app_branch = branch(&mut t, pp::APP_BRANCH, "application source's");
    let infra_branch = branch(&mut t, pp::INFRA_BRANCH, "infrastructure source's");
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
    let app_paths = paths(&mut t, pp::APP_PATHS, "application");
    let infra_paths = paths(&mut t, pp::INFRA_PATHS, "infrastructure");
    let approval = t.add_parameter(
        pp::REQUIRE_APPROVAL,
        Parameter::<Str>::new()
            .description("Wait for a manual approval before executing the service stack's change set")
            .allowed_values(["true", "false"])
            .default_value("false"),
    );
    let legacy_secret = t.add_parameter(
        pp::LEGACY_GITHUB_TOKEN_SECRET,
        Parameter::<Str>::new()
            .description(
                "Legacy only: the Secrets Manager secret whose `token` key holds a GitHub OAuth token. Empty: use the connection",
            )
            .default_value(""),
    );

    let use_connection = t.add_condition("UseConnection", not(equals(connection, "")));
    let require_approval = t.add_condition("RequireApproval", equals(approval, "true"));
    let app_filtered = t.add_condition(
        "FilterAppPaths",
        and([use_connection.into(), not(equals(fns::join("", app_paths), ""))]),
    );
    let infra_filtered = t.add_condition(
        "FilterInfraPaths",
        and([use_connection.into(), not(equals(fns::join("", infra_paths), ""))]),
    );
    let sub = |text: String| crate::stage_sub(text, app, stage);
    let arn = |service: &str, resource: String| {
        sub(format!(
            "arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"
        ))
    };

    // ---- roles (trust only; their permissions come after the key and bucket they name) -------------
    let trust = |service: &str| {
        PolicyDocument::new().statement(Statement::allow().service(service).actions(["sts:AssumeRole"]))
    };
    let pipeline_role = t.add(
        "PipelineRole",
        iam::Role::new(trust("codepipeline.amazonaws.com"))
            .description("CodePipeline: run the stage's pipeline"),
    );
    let build_role = t.add(
        "BuildRole",
        iam::Role::new(trust("codebuild.amazonaws.com"))
            .description("CodeBuild: build and push the app image"),
    );
    let deploy_role = t.add(
        "DeployRole",
        iam::Role::new(trust("cloudformation.amazonaws.com"))
            .description("CloudFormation: create and update the service stack"),
    );

    // ---- the stage's key ----------------------------------------------------------------------------------
    let account_root = || {
        Principal::Aws(vec![
            Sub::new("arn:${AWS::Partition}:iam::${AWS::AccountId}:root").into(),
        ])
    };
    let key = t.add_with(
        "Key",
        kms::Key::new()
            .description(sub(
                "berth ${AppName}/${StageName}: secrets, artifacts, images".to_owned()
            ))
            .enable_key_rotation(true)
            .key_policy(
                PolicyDocument::new()
                    // The account administers the key and its IAM policies decide who else may use it:
                    // KMS refuses a policy that would lock the account out, and berth never bypasses that.
                    // In a key policy `Resource: "*"` means this key.
                    .statement(
                        Statement::allow()
                            .sid("AccountAdministersKey")
                            .principal(account_root())
                            .actions(["kms:*"])
                            .resource("*"),
                    )
                    .statement(
                        Statement::allow()
                            .sid("BuildDecryptsSecrets")
                            .principal(Principal::Aws(vec![build_role.arn()]))
                            .actions(["kms:Decrypt", "kms:DescribeKey"])
                            .resource("*"),
                    )
                    // The task execution role is created later, by the service stack, and KMS refuses a
                    // policy naming a role that does not exist yet: name it by condition instead.
                    .statement(
                        Statement::allow()
                            .sid("TasksDecryptSecrets")
                            .principal(account_root())
                            .actions(["kms:Decrypt", "kms:DescribeKey"])
                            .resource("*")
                            .condition(
                                "ArnEquals",
                                "aws:PrincipalArn",
                                sub(format!(
                                    "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{}",
                                    names.task_execution_role()
                                )),
                            ),
                    )
                    // CloudWatch Logs encrypts the build's log group with the key, for that group only.
                    .statement(
                        Statement::allow()
                            .sid("LogsEncryptBuildLogs")
                            .principal(Principal::Service(vec![
                                Sub::new("logs.${AWS::Region}.amazonaws.com").into(),
                            ]))
                            .actions([
                                "kms:Decrypt*",
                                "kms:Describe*",
                                "kms:Encrypt*",
                                "kms:GenerateDataKey*",
                                "kms:ReEncrypt*",
                            ])
                            .resource("*")
                            .condition(
                                "ArnEquals",
                                "kms:EncryptionContext:aws:logs:arn",
                                arn("logs", format!("log-group:{}", names.build_log_group())),
                            ),
                    ),
            ),
        Attributes::new().retain(),
    );
    let alias = t.add("KeyAlias", kms::Alias::new(sub(names.kms_alias()), key.to_ref()));

    // ---- log bucket: the artifact bucket's access logs and the load balancer's ------------------------
    // S3 server access logs and load balancer access logs are delivered to SSE-S3 buckets only.
    let elb_accounts = t.add_mapping(
        "ElbLogDeliveryAccounts",
        ELB_LOG_ACCOUNTS
            .iter()
            .map(|(region, account)| {
                (
                    (*region).to_owned(),
                    std::collections::BTreeMap::from([("AccountId".to_owned(), (*account).to_owned())]),
                )
            })
            .collect(),
    );
    let by_account = t.add_condition(
        "ElbLogsByAccount",
        fns::or(ELB_LOG_ACCOUNTS.chunks(10).map(|chunk| {
            fns::or(
                chunk
                    .iter()
                    .map(|(region, _)| equals::<String>(pseudo::region(), Val::from(*region))),
            )
        })),
    );
    let by_service = t.add_condition("ElbLogsByService", not(by_account));
    let log_bucket = t.add_with(
        "LogBucket",
        private_bucket()
            .bucket_name(sub(names.log_bucket("${AWS::AccountId}", "${AWS::Region}")))
            .bucket_encryption(s3::bucket::BucketEncryption::new(vec![
                s3::bucket::ServerSideEncryptionRule::new().server_side_encryption_by_default(
                    s3::bucket::ServerSideEncryptionByDefault::new(s3::bucket::SSEAlgorithm::Aes256),
                ),
            ]))
            .lifecycle_configuration(s3::bucket::LifecycleConfiguration::new(vec![
                s3::bucket::Rule::new(s3::bucket::RuleStatus::Enabled)
                    .id("ExpireLogs")
                    .expiration_in_days(ACCESS_LOG_RETENTION_DAYS)
                    .noncurrent_version_expiration(s3::bucket::NoncurrentVersionExpiration::new(30))
                    .abort_incomplete_multipart_upload(s3::bucket::AbortIncompleteMultipartUpload::new(7)),
            ])),
        Attributes::new().retain().metadata(
            "checkov",
            checkov_skips(&[(
                "CKV_AWS_18",
                "this is the access-log bucket: logging its own accesses into itself would loop",
            )]),
        ),
    );

    // ---- artifact bucket ------------------------------------------------------------------------------------
    let bucket = t.add_with(
        "ArtifactBucket",
        private_bucket()
            .bucket_encryption(s3::bucket::BucketEncryption::new(vec![
                s3::bucket::ServerSideEncryptionRule::new()
                    .bucket_key_enabled(true)
                    .server_side_encryption_by_default(
                        s3::bucket::ServerSideEncryptionByDefault::new(s3::bucket::SSEAlgorithm::AwsKms)
                            .kms_master_key_id(key.arn()),
                    ),
            ]))
            .logging_configuration(
                s3::bucket::LoggingConfiguration::new()
                    .destination_bucket_name(log_bucket.to_ref())
                    .log_file_prefix(format!("{}/", pipeline_model::log_prefixes::ARTIFACT_BUCKET)),
            )
            .lifecycle_configuration(s3::bucket::LifecycleConfiguration::new(vec![
                s3::bucket::Rule::new(s3::bucket::RuleStatus::Enabled)
                    .id("ExpireOldArtifacts")
                    .noncurrent_version_expiration(s3::bucket::NoncurrentVersionExpiration::new(30))
                    .abort_incomplete_multipart_upload(s3::bucket::AbortIncompleteMultipartUpload::new(7)),
            ])),
        Attributes::new().retain(),
    );
    t.add(
        "ArtifactBucketPolicy",
        s3::BucketPolicy::new(
            bucket.to_ref(),
            PolicyDocument::new().statement(
                Statement::deny()
                    .sid("TlsOnly")
                    .principal(Principal::Anyone)
                    .actions(["s3:*"])
                    .resources([
                        bucket.arn(),
                        Sub::new("${BucketArn}/*").var("BucketArn", bucket.arn()).into(),
                    ])
                    .condition("Bool", "aws:SecureTransport", "false"),
            ),
        ),
    );

    let log_objects = |prefix: String| -> Val<String> {
        Sub::new(format!("${{BucketArn}}/{prefix}"))
            .var("BucketArn", log_bucket.arn())
            .into()
    };
    let load_balancer_logs = log_objects(format!(
        "{}/AWSLogs/${{AWS::AccountId}}/*",
        pipeline_model::log_prefixes::LOAD_BALANCER
    ));
    t.add(
        "LogBucketPolicy",
        s3::BucketPolicy::new(
            log_bucket.to_ref(),
            PolicyDocument::new()
                .statement(
                    Statement::deny()
                        .sid("TlsOnly")
                        .principal(Principal::Anyone)
                        .actions(["s3:*"])
                        .resources([log_bucket.arn(), log_objects("*".to_owned())])
                        .condition("Bool", "aws:SecureTransport", "false"),
                )
                .statement(
                    Statement::allow()
                        .sid("ArtifactBucketAccessLogs")
                        .service("logging.s3.amazonaws.com")
                        .actions(["s3:PutObject"])
                        .resource(log_objects(format!(
                            "{}/*",
                            pipeline_model::log_prefixes::ARTIFACT_BUCKET
                        )))
                        .condition("StringEquals", "aws:SourceAccount", pseudo::account_id())
                        .condition("ArnLike", "aws:SourceArn", bucket.arn()),
                )
                .statement_if(
                    by_account,
                    Statement::allow()
                        .sid("LoadBalancerAccessLogs")
                        .principal(Principal::Aws(vec![fns::find_in_map(
                            elb_accounts,
                            pseudo::region(),
                            "AccountId",
                        )]))
                        .actions(["s3:PutObject"])
                        .resource(load_balancer_logs.clone()),
                )
                .statement_if(
                    by_service,
                    Statement::allow()
                        .sid("LoadBalancerLogDelivery")
                        .service("logdelivery.elasticloadbalancing.amazonaws.com")
                        .actions(["s3:PutObject"])
                        .resource(load_balancer_logs),
                ),
        ),
    );

    // ---- image repository -------------------------------------------------------------------------------------
    let repository = t.add_with(
        "Repository",
        ecr::Repository::new()
            .repository_name(sub(names.repository()))
            .image_tag_mutability(ecr::repository::ImageTagMutability::Immutable)
            .image_scanning_configuration(ecr::repository::ImageScanningConfiguration::new().scan_on_push(true))
            .encryption_configuration(
                ecr::repository::EncryptionConfiguration::new(ecr::repository::EncryptionTypeValue::Kms).kms_key(key.arn()),
            )
            .lifecycle_policy(ecr::repository::LifecyclePolicy::new().lifecycle_policy_text(cfn::json_text(
                &serde_json::json!({
                    "rules": [{
                        "rulePriority": 1,
                        "description": format!("keep the last {IMAGES_KEPT} images"),
                        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": IMAGES_KEPT},
                        "action": {"type": "expire"},
                    }]
                }),
            ))),
        Attributes::new().retain(),
    );

    // ---- the task execution role's permissions (the role itself is in the service stack) ------------
    // The runtime secrets: exactly their parameters, and decryption with exactly the stage key.
    let runtime_secret_arns: Vec<Val<String>> = pipeline_model::secrets::runtime()
        .map(|s| crate::secret_parameter_arn(s.name, app, stage).into())
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
    let task_execution_policy = t.add(
        "TaskExecutionPolicy",
        iam::ManagedPolicy::new(
            PolicyDocument::new()
                // ECR's token is account-wide: AWS accepts no resource but "*" for it.
                .statement(
                    Statement::allow()
                        .sid("EcrToken")
                        .actions(["ecr:GetAuthorizationToken"])
                        .resource("*"),
                )
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
                        .resource(arn("logs", format!("log-group:{}:*", names.log_group()))),
                )
                .extend_statements(secret_statements),
        )
        .managed_policy_name(sub(names.task_execution_policy()))
        .description(sub(
            "berth ${AppName}/${StageName}: the service's task execution role".to_owned(),
        )),
    );

    // ---- build ---------------------------------------------------------------------------------------------------
    let build_logs = t.add_with(
        "BuildLogGroup",
        logs::LogGroup::new()
            .log_group_name(sub(names.build_log_group()))
            .retention_in_days(BUILD_LOG_RETENTION_DAYS)
            .kms_key_id(key.arn()),
        Attributes::new().retain(),
    );
    let artifact_objects: Val<String> = Sub::new("${BucketArn}/*").var("BucketArn", bucket.arn()).into();
    let artifact_key_use = || {
        Statement::allow()
            .sid("ArtifactEncryption")
            .actions([
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GenerateDataKey*",
                "kms:ReEncrypt*",
            ])
            .resource(key.arn())
    };
    let mut build_document = PolicyDocument::new()
        .statement(
            Statement::allow()
                .sid("BuildLogs")
                .actions(["logs:CreateLogStream", "logs:PutLogEvents"])
                .resource(build_logs.arn()),
        )
        .statement(
            Statement::allow()
                .sid("Artifacts")
                .actions(["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"])
                .resource(artifact_objects.clone()),
        )
        .statement(artifact_key_use())
        // ECR's token is account-wide: AWS accepts no resource but "*" for it.
        .statement(
            Statement::allow()
                .sid("EcrToken")
                .actions(["ecr:GetAuthorizationToken"])
                .resource("*"),
        )
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
                .resource(repository.arn()),
        );
    // Build-time secrets, when the app declares any: read from Parameter Store by the buildspec.
    let build_secret_arns: Vec<Val<String>> = pipeline_model::secrets::build()
        .map(|s| {
            arn(
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
        build_document = build_document.statement(
            Statement::allow()
                .sid("BuildSecrets")
                .actions(["ssm:GetParameters"])
                .resources(build_secret_arns),
        );
    }
    let build_policy = t.add(
        "BuildPolicy",
        iam::Policy::new(build_document, "build").roles(vec![build_role.to_ref()]),
    );
    let project = t.add_with(
        "BuildProject",
        codebuild::Project::new(
            codebuild::project::Artifacts::new("CODEPIPELINE"),
            codebuild::project::Environment::new("BUILD_GENERAL1_SMALL", BUILD_IMAGE, "LINUX_CONTAINER")
                // docker builds need the docker daemon
                .privileged_mode(true)
                .environment_variables(vec![
                    codebuild::project::EnvironmentVariable::new(
                        build_env::AWS_DEFAULT_REGION,
                        pseudo::region(),
                    ),
                    codebuild::project::EnvironmentVariable::new(
                        build_env::REPOSITORY_URI,
                        repository.repository_uri(),
                    ),
                ]),
            build_role.arn(),
            codebuild::project::Source::new("CODEPIPELINE").build_spec(pipeline_model::BUILDSPEC_PATH),
        )
        .name(sub(names.pipeline()))
        .description(sub(
            "berth ${AppName}/${StageName}: build and push the app image".to_owned()
        ))
        .encryption_key(key.arn())
        .timeout_in_minutes(30)
        .logs_config(codebuild::project::LogsConfig::new().cloud_watch_logs(
            codebuild::project::CloudWatchLogsConfig::new("ENABLED").group_name(build_logs.to_ref()),
        )),
        Attributes::new().depends_on(build_policy),
    );

    // ---- deploy role: what CloudFormation may do to the service stack -----------------------------------
    let service_stack_arn = arn(
        "cloudformation",
        format!("stack/{}/*", names.stack(Stack::Service)),
    );
    let role_prefix = sub(format!(
        "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{}*",
        names.service_role_prefix()
    ));
    let profile_prefix = sub(format!(
        "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:instance-profile/{}*",
        names.service_role_prefix()
    ));
    let scoped = |service: &str| arn(service, "*".to_owned());
    t.add(
        "DeployPolicy",
        iam::Policy::new(
            PolicyDocument::new()
                // Describe and List calls take no resource: AWS accepts only "*" for them.
                .statement(
                    Statement::allow()
                        .sid("Read")
                        .actions([
                            "autoscaling:Describe*",
                            "ec2:Describe*",
                            "ecs:DescribeTaskDefinition",
                            "elasticloadbalancing:Describe*",
                            "logs:DescribeLogGroups",
                        ])
                        .resource("*"),
                )
                // Task definitions are registered and deregistered by family, which IAM cannot scope:
                // AWS accepts only "*" for these two actions.
                .statement(
                    Statement::allow()
                        .sid("TaskDefinitions")
                        .actions(["ecs:DeregisterTaskDefinition", "ecs:RegisterTaskDefinition"])
                        .resource("*"),
                )
                .statement(
                    Statement::allow()
                        .sid("Network")
                        .actions([
                            "ec2:AuthorizeSecurityGroupEgress",
                            "ec2:AuthorizeSecurityGroupIngress",
                            "ec2:CreateLaunchTemplate",
                            "ec2:CreateLaunchTemplateVersion",
                            "ec2:CreateSecurityGroup",
                            "ec2:CreateTags",
                            "ec2:DeleteLaunchTemplate",
                            "ec2:DeleteLaunchTemplateVersions",
                            "ec2:DeleteSecurityGroup",
                            "ec2:ModifyLaunchTemplate",
                            "ec2:RevokeSecurityGroupEgress",
                            "ec2:RevokeSecurityGroupIngress",
                            "ec2:RunInstances",
                        ])
                        .resources([
                            scoped("ec2"),
                            // Public AMIs carry no account in their ARN.
                            Sub::new("arn:${AWS::Partition}:ec2:${AWS::Region}::image/*"),
                        ]),
                )
                .statement(
                    Statement::allow()
                        .sid("LoadBalancing")
                        .actions([
                            "elasticloadbalancing:AddTags",
                            "elasticloadbalancing:CreateListener",
                            "elasticloadbalancing:CreateLoadBalancer",
                            "elasticloadbalancing:CreateTargetGroup",
                            "elasticloadbalancing:DeleteListener",
                            "elasticloadbalancing:DeleteLoadBalancer",
                            "elasticloadbalancing:DeleteTargetGroup",
                            "elasticloadbalancing:ModifyListener",
                            "elasticloadbalancing:ModifyLoadBalancerAttributes",
                            "elasticloadbalancing:ModifyTargetGroup",
                            "elasticloadbalancing:ModifyTargetGroupAttributes",
                            "elasticloadbalancing:RemoveTags",
                            "elasticloadbalancing:SetSecurityGroups",
                            "elasticloadbalancing:SetSubnets",
                        ])
                        .resource(scoped("elasticloadbalancing")),
                )
                .statement(
                    Statement::allow()
                        .sid("Containers")
                        .actions([
                            "ecs:CreateCluster",
                            "ecs:CreateService",
                            "ecs:DeleteCluster",
                            "ecs:DeleteService",
                            "ecs:DescribeClusters",
                            "ecs:DescribeServices",
                            "ecs:PutClusterCapacityProviders",
                            "ecs:TagResource",
                            "ecs:UntagResource",
                            "ecs:UpdateCluster",
                            "ecs:UpdateClusterSettings",
                            "ecs:UpdateService",
                        ])
                        .resource(scoped("ecs")),
                )
                .statement(
                    Statement::allow()
                        .sid("Instances")
                        .actions([
                            "autoscaling:CreateAutoScalingGroup",
                            "autoscaling:CreateOrUpdateTags",
                            "autoscaling:DeleteAutoScalingGroup",
                            "autoscaling:DeleteTags",
                            "autoscaling:ResumeProcesses",
                            "autoscaling:SetDesiredCapacity",
                            "autoscaling:SuspendProcesses",
                            "autoscaling:TerminateInstanceInAutoScalingGroup",
                            "autoscaling:UpdateAutoScalingGroup",
                        ])
                        .resource(scoped("autoscaling")),
                )
                .statement(
                    Statement::allow()
                        .sid("Logs")
                        .actions([
                            "logs:CreateLogGroup",
                            "logs:DeleteLogGroup",
                            "logs:DeleteRetentionPolicy",
                            "logs:ListTagsForResource",
                            "logs:PutRetentionPolicy",
                            "logs:TagResource",
                            "logs:UntagResource",
                        ])
                        .resource(arn("logs", format!("log-group:{}*", names.log_group()))),
                )
                .statement(
                    Statement::allow()
                        .sid("AmiParameter")
                        .actions(["ssm:GetParameters"])
                        .resource(Sub::new("arn:${AWS::Partition}:ssm:${AWS::Region}::parameter/aws/service/ecs/*")),
                )
                // The service's roles: only names with the stage's service prefix, only the allow-listed
                // policies, no inline policies, passed only to EC2 and ECS tasks.
                .statement(
                    Statement::allow()
                        .sid("ServiceRoles")
                        .actions([
                            "iam:CreateRole",
                            "iam:DeleteRole",
                            "iam:GetRole",
                            "iam:ListAttachedRolePolicies",
                            "iam:ListRolePolicies",
                            "iam:TagRole",
                            "iam:UntagRole",
                            "iam:UpdateAssumeRolePolicy",
                            "iam:UpdateRole",
                            "iam:UpdateRoleDescription",
                        ])
                        .resource(role_prefix.clone()),
                )
                .statement(
                    Statement::allow()
                        .sid("ServiceRolePolicies")
                        .actions(["iam:AttachRolePolicy", "iam:DetachRolePolicy"])
                        .resource(role_prefix.clone())
                        .condition_any(
                            "ArnEquals",
                            "iam:PolicyARN",
                            [
                                Val::from(Sub::new(
                                    "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
                                )),
                                Sub::new("arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore").into(),
                                task_execution_policy.to_ref(),
                            ],
                        ),
                )
                .statement(
                    Statement::allow()
                        .sid("InstanceProfiles")
                        .actions([
                            "iam:AddRoleToInstanceProfile",
                            "iam:CreateInstanceProfile",
                            "iam:DeleteInstanceProfile",
                            "iam:GetInstanceProfile",
                            "iam:RemoveRoleFromInstanceProfile",
                            "iam:TagInstanceProfile",
                            "iam:UntagInstanceProfile",
                        ])
                        .resource(profile_prefix),
                )
                .statement(
                    Statement::allow()
                        .sid("PassServiceRoles")
                        .actions(["iam:PassRole"])
                        .resource(role_prefix)
                        .condition_any("StringEquals", "iam:PassedToService", ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"]),
                )
                .statement(
                    Statement::allow()
                        .sid("ServiceLinkedRoles")
                        .actions(["iam:CreateServiceLinkedRole"])
                        .resource(Sub::new("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/*"))
                        .condition_any(
                            "StringEquals",
                            "iam:AWSServiceName",
                            ["autoscaling.amazonaws.com", "ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com"],
                        ),
                ),
            "deploy-service-stack",
        )
        .roles(vec![deploy_role.to_ref()]),
    );

    // ---- pipeline -------------------------------------------------------------------------------------------------
    let pipeline_policy = t.add(
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
                        .resource(artifact_objects),
                )
                .statement(
                    Statement::allow()
                        .sid("ArtifactBucket")
                        .actions(["s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:ListBucket"])
                        .resource(bucket.arn()),
                )
                .statement(artifact_key_use())
                .statement_if(
                    use_connection,
                    Statement::allow()
                        .sid("Sources")
                        .actions([
                            "codeconnections:UseConnection",
                            "codestar-connections:UseConnection",
                        ])
                        .resource(connection),
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
                        .resource(arn("codebuild", format!("project/{}", names.pipeline()))),
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
                        .resource(deploy_role.arn())
                        .condition(
                            "StringEquals",
                            "iam:PassedToService",
                            "cloudformation.amazonaws.com",
                        ),
                ),
            "pipeline",
        )
        .roles(vec![pipeline_role.to_ref()]),
    );

    let source = |name: &str,
                  repository: cfn::Param<Str>,
                  branch: cfn::Param<Str>|
     -> Val<codepipeline::pipeline::ActionDeclaration> {
        if_(
            use_connection,
            CodeStarSource::new(connection, repository, branch).action(name, name),
            GitHubOAuthSource {
                owner: fns::select(0, fns::split("/", repository)),
                repo: fns::select(1, fns::split("/", repository)),
                branch: branch.into(),
                // A dynamic reference: CloudFormation reads the token from Secrets Manager at deploy
                // time; it is never a parameter value and never in the template.
                oauth_token: dynamic::secrets_manager(legacy_secret, Some("token"), None),
            }
            .action(name, name),
        )
    };
    let service_template = infra_layout::template_path(Stack::Service, template_extension);
    let service_parameters = infra_layout::parameters_path("${StageName}", Stack::Service);
    let create_change_set = CloudFormation::change_set_replace(
        sub(names.stack(Stack::Service)),
        sub(names.change_set()),
        ArtifactPath::new(artifacts::INFRA_SOURCE, service_template.as_str()),
    )
    .template_configuration(ArtifactPath::new(
        artifacts::INFRA_SOURCE,
        Sub::new(service_parameters).var("StageName", stage),
    ))
    .parameter_overrides(ParameterOverrides::new().get_param(
        pipeline_model::service_params::IMAGE_TAG,
        GetParam::new(artifacts::BUILD, build_output::FILE_NAME, build_output::TAG_KEY),
    ))
    .capability(Capability::NamedIam)
    .role_arn(deploy_role.arn())
    .action("CreateChangeSet", &[artifacts::INFRA_SOURCE, artifacts::BUILD])
    .run_order(2);
    let execute_change_set =
        CloudFormation::change_set_execute(sub(names.stack(Stack::Service)), sub(names.change_set()))
            .action("ExecuteChangeSet", &[])
            .run_order(3);
    let approve = ManualApproval {
        custom_data: Some("Review the service stack's change set, then approve to execute it.".to_owned()),
        notification_arn: None,
    }
    .action("Approve")
    .run_order(1);
    let trigger = |source: &str, branch: cfn::Param<Str>, paths: cfn::Param<CommaDelimitedList>| {
        codepipeline::pipeline::PipelineTriggerDeclaration::new(
            codepipeline::pipeline::ProviderType::CodeStarSourceConnection,
        )
        .git_configuration(codepipeline::pipeline::GitConfiguration::new(source).push(vec![
                codepipeline::pipeline::GitPushFilter::new()
                    .branches(
                        codepipeline::pipeline::GitBranchFilterCriteria::new()
                            .includes(vec![branch.to_ref()]),
                    )
                    .file_paths(codepipeline::pipeline::GitFilePathFilterCriteria::new().includes(paths)),
            ]))
    };
    t.add_with(
        "Pipeline",
        codepipeline::Pipeline::new(
            pipeline_role.arn(),
            vec![
                codepipeline::pipeline::StageDeclaration::new(
                    vec![
                        source(artifacts::APP_SOURCE, app_repo, app_branch),
                        source(artifacts::INFRA_SOURCE, infra_repo, infra_branch),
                    ],
                    "Source",
                ),
                codepipeline::pipeline::StageDeclaration::new(
                    vec![CodeBuild::new(project.to_ref()).action(
                        "Build",
                        &[artifacts::APP_SOURCE],
                        &[artifacts::BUILD],
                    )],
                    "Build",
                ),
                codepipeline::pipeline::StageDeclaration::new(
                    vec![
                        if_(require_approval, approve, pseudo::no_value()),
                        create_change_set.into(),
                        execute_change_set.into(),
                    ],
                    "Deploy",
                ),
            ],
        )
        .name(sub(names.pipeline()))
        .pipeline_type(codepipeline::pipeline::PipelineType::V2)
        .execution_mode(codepipeline::pipeline::ExecutionMode::Queued)
        .restart_execution_on_update(false)
        .artifact_store(
            codepipeline::pipeline::ArtifactStore::new(
                bucket.to_ref(),
                codepipeline::pipeline::ArtifactStoreType::S3,
            )
            .encryption_key(codepipeline::pipeline::EncryptionKey::new(key.arn(), "KMS")),
        )
        .triggers(vec![
            if_(
                app_filtered,
                trigger(artifacts::APP_SOURCE, app_branch, app_paths),
                pseudo::no_value(),
            ),
            if_(
                infra_filtered,
                trigger(artifacts::INFRA_SOURCE, infra_branch, infra_paths),
                pseudo::no_value(),
            ),
        ]),
        Attributes::new().depends_on(pipeline_policy),
    );

    let export = |t: &mut Template, id: &str, value: Val<String>, description: &str| {
        t.add_output(
            id,
            Output::new(value)
                .description(description)
                .export(sub(names.export(id))),
        );
    };
    export(
        &mut t,
        pipeline_outputs::PIPELINE_NAME,
        // The contract's name (`Ref` yields the same); it does not need the pipeline resource resolved.
        sub(names.pipeline()).into(),
        "The stage's pipeline",
    );
    export(
        &mut t,
        pipeline_outputs::ARTIFACT_BUCKET,
        bucket.to_ref(),
        "The pipeline's artifact bucket",
    );
    export(
        &mut t,
        pipeline_outputs::REPOSITORY_URI,
        repository.repository_uri(),
        "Where the build pushes the app image",
    );
    export(
        &mut t,
        pipeline_outputs::KEY_ARN,
        key.arn(),
        "The stage's KMS key (secrets, artifacts, images)",
    );
    export(
        &mut t,
        pipeline_outputs::KEY_ALIAS,
        alias.to_ref(),
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
        task_execution_policy.to_ref(),
        "The managed policy of the service's task execution role",
    );
    t
}
