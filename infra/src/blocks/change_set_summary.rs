//! The approver's view of the service stack's change set: a small CodeBuild project that reads the
//! change set the pipeline has just created and exports a summary (counts by action, every
//! replacement, whether instances are replaced, the resources) and a link to it, as pipeline variables
//! the approval shows.

use cfn::policy::{PolicyDocument, Statement};
use cfn::resources::{codebuild, iam, logs};
use cfn::{Attributes, Res, Template};
use pipeline_model::Stack;

use crate::blocks::ArtifactStore;
use crate::naming::{StageNames, trusting};

/// The pipeline variables' namespace (`#{ChangeSet.SUMMARY}`, `#{ChangeSet.LINK}`).
pub const NAMESPACE: &str = "ChangeSet";

/// The build's environment variables: the stack and the change set to summarize.
pub const STACK_VAR: &str = "STACK";
pub const CHANGE_SET_VAR: &str = "CHANGE_SET";

/// The most characters of the summary: CodePipeline shows at most 500 in an approval's custom data,
/// which also holds a sentence around it.
pub const SUMMARY_MAX_CHARS: usize = 400;

/// What the summary build runs, in bash (CodeBuild's standard images have the AWS CLI and jq). It
/// reads the change set, sets `SUMMARY` (counts by action, every replacement, whether instances are
/// replaced, the resources) and `LINK` (the change set in the console), and prints both.
pub fn script() -> String {
    format!(
        r#"aws cloudformation describe-change-set --stack-name "${STACK_VAR}" --change-set-name "${CHANGE_SET_VAR}" --output json > change-set.json || exit 1
count() {{ jq --arg action "$1" '[.Changes[].ResourceChange | select(.Action == $action)] | length' change-set.json; }}
REPLACED=$(jq -r '[.Changes[].ResourceChange | select(.Replacement == "True" or .Replacement == "Conditional") | .LogicalResourceId + (if .Replacement == "Conditional" then " (conditional)" else "" end)] | join(", ")' change-set.json)
INSTANCES=$(jq -r 'if any(.Changes[].ResourceChange; .ResourceType == "AWS::EC2::LaunchTemplate" and .Action == "Modify") then " Container instances are replaced, one at a time." else "" end' change-set.json)
CHANGES=$(jq -r '[.Changes[].ResourceChange | "\(.Action) \(.LogicalResourceId)"] | join(", ")' change-set.json)
if [ "$(jq -r .Status change-set.json)" = FAILED ]; then SUMMARY="No change set to execute: $(jq -r .StatusReason change-set.json)"; else SUMMARY="$(count Add) to add, $(count Modify) to modify, $(count Remove) to remove; replaced: ${{REPLACED:-none}}.${{INSTANCES}} Changes: ${{CHANGES:-none}}"; fi
SUMMARY=$(printf '%s' "$SUMMARY" | cut -c1-{SUMMARY_MAX_CHARS})
LINK="https://console.aws.amazon.com/cloudformation/home?region=$AWS_REGION#/stacks/changesets/changes?stackId=$(jq -rj '.StackId | @uri' change-set.json)&changeSetId=$(jq -rj '.ChangeSetId | @uri' change-set.json)"
printf '%s\n%s\n' "$SUMMARY" "$LINK"
"#
    )
}

/// The variables the summary build exports, which later actions read as `#{ChangeSet.NAME}`.
pub const EXPORTS: [&str; 2] = ["SUMMARY", "LINK"];

#[derive(serde::Serialize)]
struct Spec {
    version: f32,
    env: Env,
    phases: Phases,
}

#[derive(serde::Serialize)]
struct Env {
    shell: &'static str,
    #[serde(rename = "exported-variables")]
    exported_variables: [&'static str; 2],
}

#[derive(serde::Serialize)]
struct Phases {
    build: Phase,
}

#[derive(serde::Serialize)]
struct Phase {
    #[serde(rename = "on-failure")]
    on_failure: &'static str,
    commands: Vec<String>,
}

/// The summary project's buildspec (YAML, as CodeBuild reads it).
pub fn buildspec() -> String {
    serde_norway::to_string(&Spec {
        version: 0.2,
        env: Env {
            shell: "bash",
            exported_variables: EXPORTS,
        },
        phases: Phases {
            build: Phase {
                on_failure: "ABORT",
                commands: vec![script()],
            },
        },
    })
    .expect("the summary's buildspec serializes")
}

/// What the summary needs.
pub struct ChangeSetSummaryProps<'a> {
    pub names: StageNames,
    pub artifacts: &'a ArtifactStore,
    /// Where its logs go (the build's log group).
    pub log_group: Res<logs::LogGroup>,
}

#[derive(Clone, Copy)]
pub struct ChangeSetSummary {
    pub role: Res<iam::Role>,
    pub project: Res<codebuild::Project>,
}

impl ChangeSetSummary {
    pub fn add(t: &mut Template, props: ChangeSetSummaryProps<'_>) -> ChangeSetSummary {
        let n = props.names;
        let names = n.names();
        let role = t.add(
            "ChangeSetSummaryRole",
            iam::Role::new(trusting("codebuild.amazonaws.com"))
                .description("CodeBuild: summarize the service stack's change set for the approver"),
        );
        let policy = t.add(
            "ChangeSetSummaryPolicy",
            iam::Policy::new(
                PolicyDocument::new()
                    .statement(
                        Statement::allow()
                            .sid("Logs")
                            .actions(["logs:CreateLogStream", "logs:PutLogEvents"])
                            .resource(props.log_group.arn()),
                    )
                    // The action's input artifact (CodeBuild downloads it before the build).
                    .statement(
                        Statement::allow()
                            .sid("Artifacts")
                            .actions(["s3:GetObject", "s3:GetObjectVersion"])
                            .resource(props.artifacts.objects()),
                    )
                    .statement(props.artifacts.key_use())
                    .statement(
                        Statement::allow()
                            .sid("ChangeSet")
                            .actions(["cloudformation:DescribeChangeSet"])
                            .resource(n.arn(
                                "cloudformation",
                                format!("stack/{}/*", names.stack(Stack::Service)),
                            )),
                    ),
                "change-set-summary",
            )
            .roles(vec![role.to_ref()]),
        );
        let project = t.add_with(
            "ChangeSetSummaryProject",
            codebuild::Project::new(
                codebuild::project::Artifacts::new("CODEPIPELINE"),
                codebuild::project::Environment::new(
                    "BUILD_GENERAL1_SMALL",
                    crate::blocks::BUILD_IMAGE,
                    "LINUX_CONTAINER",
                ),
                role.arn(),
                codebuild::project::Source::new("CODEPIPELINE").build_spec(buildspec()),
            )
            .name(n.sub(names.change_set_summary()))
            .description(
                n.sub("berth ${AppName}/${StageName}: the service stack's change set, for the approver"),
            )
            .encryption_key(props.artifacts.key_arn())
            .timeout_in_minutes(5)
            .logs_config(
                codebuild::project::LogsConfig::new().cloud_watch_logs(
                    codebuild::project::CloudWatchLogsConfig::new("ENABLED")
                        .group_name(props.log_group.to_ref())
                        .stream_name("change-set-summary"),
                ),
            ),
            Attributes::new().depends_on(policy),
        );
        ChangeSetSummary { role, project }
    }
}
