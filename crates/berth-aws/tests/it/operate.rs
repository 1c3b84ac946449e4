//! Operating a stage against scripted SDK responses (aws-smithy-mocks): the pipeline (runs in
//! progress, succeeded, failed in the build and in the deploy stage, an approval waiting), the
//! service during a rollout with unhealthy targets, the logs paged and followed until Ctrl-C, drift
//! and CloudFormation's early validation. No emulator models CodePipeline, CodeBuild, drift or
//! `DescribeEvents`; these are the AWS responses the commands are written against.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_events::DescribeEventsOutput;
use aws_sdk_cloudformation::operation::describe_stack_drift_detection_status::DescribeStackDriftDetectionStatusOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stack_resource_drifts::DescribeStackResourceDriftsOutput;
use aws_sdk_cloudformation::operation::describe_stack_resources::DescribeStackResourcesOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::detect_stack_drift::DetectStackDriftOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::types::{MetricAlarm, StateValue};
use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsOutput;
use aws_sdk_cloudwatchlogs::operation::get_log_events::GetLogEventsOutput;
use aws_sdk_cloudwatchlogs::types::{FilteredLogEvent, OutputLogEvent};
use aws_sdk_codebuild::operation::batch_get_builds::BatchGetBuildsOutput;
use aws_sdk_codebuild::operation::list_builds_for_project::ListBuildsForProjectOutput;
use aws_sdk_codebuild::types::{
    Build, BuildPhase, BuildPhaseType, ExportedEnvironmentVariable, LogsLocation, PhaseContext, StatusType,
};
use aws_sdk_codepipeline::operation::get_pipeline_execution::GetPipelineExecutionOutput;
use aws_sdk_codepipeline::operation::get_pipeline_state::GetPipelineStateOutput;
use aws_sdk_codepipeline::operation::list_action_executions::ListActionExecutionsOutput;
use aws_sdk_codepipeline::operation::list_pipeline_executions::ListPipelineExecutionsOutput;
use aws_sdk_codepipeline::operation::put_approval_result::PutApprovalResultOutput;
use aws_sdk_codepipeline::operation::retry_stage_execution::RetryStageExecutionOutput;
use aws_sdk_codepipeline::operation::start_pipeline_execution::StartPipelineExecutionOutput;
use aws_sdk_codepipeline::types::{
    ActionCategory, ActionExecution, ActionExecutionDetail, ActionExecutionInput, ActionExecutionOutput,
    ActionExecutionResult, ActionExecutionStatus, ActionOwner, ActionState, ActionTypeId, ApprovalStatus,
    ErrorDetails, ExecutionTrigger, PipelineExecution, PipelineExecutionStatus, PipelineExecutionSummary,
    SourceRevision, StageExecution, StageExecutionStatus, StageRetryMode, StageState, TransitionState,
    TriggerType,
};
use aws_sdk_ecs::operation::describe_capacity_providers::DescribeCapacityProvidersOutput;
use aws_sdk_ecs::operation::describe_container_instances::DescribeContainerInstancesOutput;
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::list_container_instances::ListContainerInstancesOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::types::{
    Attribute, AutoScalingGroupProvider, CapacityProvider, Container, ContainerDefinition, ContainerInstance,
    Deployment, DeploymentAlarms, DeploymentConfiguration, DeploymentRolloutState, DesiredStatus,
    HealthStatus, ManagedDraining, ManagedScaling, ManagedScalingStatus, NetworkBinding, Service,
    ServiceEvent, Task, TaskDefinition,
};
use aws_sdk_elasticloadbalancingv2::operation::describe_target_health::DescribeTargetHealthOutput;
use aws_sdk_elasticloadbalancingv2::types::{
    TargetDescription, TargetHealth, TargetHealthDescription, TargetHealthReasonEnum, TargetHealthStateEnum,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use berth_aws::exit::{Code, Result};
use berth_aws::follow::{Interrupt, Pacing};
use berth_aws::ops::{Clients, Ctx};
use berth_aws::output::{Captured, Printer};
use berth_aws::prompt::Answer;
use cli::LogFlags;
use pipeline_model::Names;

/// 2026-11-28 05:24:01Z.
const T0: i64 = 1_795_843_441;
const PIPELINE: &str = "sample-dev";
const SERVICE_STACK: &str = "sample-dev-service";
const STACK_ID: &str = "arn:aws:cloudformation:ap-northeast-1:123456789012:stack/sample-dev-service/1";
const TAG: &str = "5e1f0c2d9a4b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d";
const OLD_TAG: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

fn at(offset: i64) -> DateTime {
    DateTime::from_secs(T0 + offset)
}

// ---- the clients and a stage to run against ------------------------------------------------------

fn no_rules() -> Vec<&'static Rule> {
    Vec::new()
}

/// Every client with no rule: a call nobody scripted fails the test.
struct Mocks {
    cfn: aws_sdk_cloudformation::Client,
    pipeline: aws_sdk_codepipeline::Client,
    build: aws_sdk_codebuild::Client,
    ecs: aws_sdk_ecs::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

impl Mocks {
    fn none() -> Self {
        Mocks {
            cfn: mock_client!(aws_sdk_cloudformation, no_rules()),
            pipeline: mock_client!(aws_sdk_codepipeline, no_rules()),
            build: mock_client!(aws_sdk_codebuild, no_rules()),
            ecs: mock_client!(aws_sdk_ecs, no_rules()),
            elb: mock_client!(aws_sdk_elasticloadbalancingv2, no_rules()),
            logs: mock_client!(aws_sdk_cloudwatchlogs, no_rules()),
            cloudwatch: mock_client!(aws_sdk_cloudwatch, no_rules()),
        }
    }

    fn clients(self) -> Clients {
        Clients {
            cfn: self.cfn,
            pipeline: self.pipeline,
            build: self.build,
            ecs: self.ecs,
            elb: self.elb,
            logs: self.logs,
            cloudwatch: self.cloudwatch,
        }
    }
}

struct Ran {
    result: Result<Code>,
    out: String,
    err: String,
}

impl Ran {
    fn code(&self) -> Code {
        match &self.result {
            Ok(c) => *c,
            Err(f) => f.code,
        }
    }

    fn all(&self) -> String {
        format!("{}{}", self.out, self.err)
    }
}

/// Runs `f` with a context for stage `dev` of app `sample`.
async fn run<F>(clients: Clients, answer: Option<bool>, interrupt: Interrupt, f: F) -> Ran
where
    F: for<'a> FnOnce(&'a Ctx<'a>) -> std::pin::Pin<Box<dyn Future<Output = Result<Code>> + 'a>>,
{
    let (printer, out, err): (Printer, Captured, Captured) = Printer::capture();
    let confirm = Answer(answer);
    let ctx = Ctx {
        aws: &clients,
        names: Names::new("sample", "dev"),
        region: "ap-northeast-1",
        printer: &printer,
        confirm: &confirm,
        pacing: Pacing::NONE,
        interrupt: &interrupt,
        flags: String::new(),
    };
    let result = f(&ctx).await;
    Ran {
        result,
        out: out.text(),
        err: err.text(),
    }
}

fn json_error(code: &str, message: &str) -> String {
    format!(r#"{{"__type":"{code}","message":"{message}"}}"#)
}

// ---- the pipeline --------------------------------------------------------------------------------

fn action_state(name: &str, status: Option<ActionExecutionStatus>, token: Option<&str>) -> ActionState {
    let mut a = ActionState::builder().action_name(name);
    if let Some(s) = status {
        a = a.latest_execution(
            ActionExecution::builder()
                .status(s)
                .set_token(token.map(str::to_owned))
                .build(),
        );
    }
    a.build()
}

fn stage_state(
    name: &str,
    actions: Vec<ActionState>,
    latest: Option<(&str, StageExecutionStatus)>,
    closed: Option<&str>,
) -> StageState {
    let mut s = StageState::builder()
        .stage_name(name)
        .set_action_states(Some(actions));
    if let Some((run, status)) = latest {
        s = s.latest_execution(
            StageExecution::builder()
                .pipeline_execution_id(run)
                .status(status)
                .build()
                .unwrap(),
        );
    }
    if let Some(reason) = closed {
        s = s.inbound_transition_state(
            TransitionState::builder()
                .enabled(false)
                .disabled_reason(reason)
                .build(),
        );
    }
    s.build()
}

/// The stage's pipeline as berth declares it, every stage idle unless said otherwise.
fn pipeline_state(
    deploy_actions: Vec<ActionState>,
    build_latest: Option<(&str, StageExecutionStatus)>,
    deploy_latest: Option<(&str, StageExecutionStatus)>,
) -> GetPipelineStateOutput {
    GetPipelineStateOutput::builder()
        .pipeline_name(PIPELINE)
        .stage_states(stage_state(
            "Source",
            vec![
                action_state("AppSource", None, None),
                action_state("InfraSource", None, None),
            ],
            None,
            None,
        ))
        .stage_states(stage_state(
            "Build",
            vec![action_state("Build", None, None)],
            build_latest,
            None,
        ))
        .stage_states(stage_state("Deploy", deploy_actions, deploy_latest, None))
        .build()
}

fn deploy_actions(approve: Option<ActionExecutionStatus>, token: Option<&str>) -> Vec<ActionState> {
    vec![
        action_state("CreateChangeSet", None, None),
        action_state("SummarizeChangeSet", None, None),
        action_state("Approve", approve, token),
        action_state("ExecuteChangeSet", None, None),
    ]
}

fn summary(
    run: &str,
    status: PipelineExecutionStatus,
    started: i64,
    updated: i64,
) -> PipelineExecutionSummary {
    PipelineExecutionSummary::builder()
        .pipeline_execution_id(run)
        .status(status)
        .start_time(at(started))
        .last_update_time(at(updated))
        .trigger(
            ExecutionTrigger::builder()
                .trigger_type(TriggerType::from("WebhookV2"))
                .trigger_detail("arn:aws:codeconnections:ap-northeast-1:123456789012:connection/abc")
                .build(),
        )
        .source_revisions(
            SourceRevision::builder()
                .action_name("AppSource")
                .revision_id("4b825dc642cb6eb9a060e54bf8d69288fbee4904")
                .revision_summary(r#"{"ProviderType":"GitHub","CommitMessage":"Answer /health with 503 while draining\n\nand say why"}"#)
                .build()
                .unwrap(),
        )
        .source_revisions(
            SourceRevision::builder()
                .action_name("InfraSource")
                .revision_id("9fceb02d0ae598e95dc970b74767f19372d61af8")
                .revision_summary(r#"{"ProviderType":"GitHub","CommitMessage":"Raise min_count to 3"}"#)
                .build()
                .unwrap(),
        )
        .build()
}

fn type_id(category: ActionCategory, owner: ActionOwner, provider: &str) -> ActionTypeId {
    ActionTypeId::builder()
        .category(category)
        .owner(owner)
        .provider(provider)
        .version("1")
        .build()
        .unwrap()
}

/// One action execution of a run.
#[allow(clippy::too_many_arguments)]
fn action(
    run: &str,
    stage: &str,
    name: &str,
    status: ActionExecutionStatus,
    started: i64,
    updated: i64,
    provider: &str,
    result: Option<ActionExecutionResult>,
) -> ActionExecutionDetail {
    let (category, owner) = match provider {
        "CodeStarSourceConnection" => (ActionCategory::Source, ActionOwner::Aws),
        "CodeBuild" => (ActionCategory::Build, ActionOwner::Aws),
        "CloudFormation" => (ActionCategory::Deploy, ActionOwner::Aws),
        _ => (ActionCategory::Approval, ActionOwner::Aws),
    };
    let mut input = ActionExecutionInput::builder().action_type_id(type_id(category, owner, provider));
    if provider == "CloudFormation" {
        input = input
            .configuration("StackName", SERVICE_STACK)
            .configuration("ChangeSetName", "sample-dev-pipeline-deploy")
            .configuration(
                "ActionMode",
                if name == "CreateChangeSet" {
                    "CHANGE_SET_REPLACE"
                } else {
                    "CHANGE_SET_EXECUTE"
                },
            );
    }
    let mut output = ActionExecutionOutput::builder();
    if let Some(r) = result {
        output = output.execution_result(r);
    }
    ActionExecutionDetail::builder()
        .pipeline_execution_id(run)
        .action_execution_id(format!("{run}-{stage}-{name}"))
        .stage_name(stage)
        .action_name(name)
        .status(status)
        .start_time(at(started))
        .last_update_time(at(updated))
        .input(input.build())
        .output(output.build())
        .build()
}

fn build_result(id: &str, error: Option<&str>) -> ActionExecutionResult {
    ActionExecutionResult::builder()
        .external_execution_id(id)
        .set_error_details(error.map(|m| ErrorDetails::builder().code("JobFailed").message(m).build()))
        .build()
}

fn sources_done(run: &str) -> Vec<ActionExecutionDetail> {
    use ActionExecutionStatus::Succeeded;
    vec![
        action(
            run,
            "Source",
            "AppSource",
            Succeeded,
            0,
            12,
            "CodeStarSourceConnection",
            None,
        ),
        action(
            run,
            "Source",
            "InfraSource",
            Succeeded,
            0,
            11,
            "CodeStarSourceConnection",
            None,
        ),
    ]
}

/// A run that built its image and waits for approval.
fn waiting_run(run: &str) -> Vec<ActionExecutionDetail> {
    use ActionExecutionStatus::{InProgress, Succeeded};
    let mut a = sources_done(run);
    a.push(action(
        run,
        "Build",
        "Build",
        Succeeded,
        12,
        193,
        "CodeBuild",
        Some(build_result("sample-dev:b1", None)),
    ));
    a.push(action(
        run,
        "Deploy",
        "CreateChangeSet",
        Succeeded,
        193,
        213,
        "CloudFormation",
        None,
    ));
    a.push(action(
        run,
        "Deploy",
        "SummarizeChangeSet",
        Succeeded,
        213,
        253,
        "CodeBuild",
        Some(build_result("sample-dev-change-set-summary:s1", None)),
    ));
    a.push(action(
        run, "Deploy", "Approve", InProgress, 253, 253, "Manual", None,
    ));
    a
}

/// A run that went all the way.
fn succeeded_run(run: &str) -> Vec<ActionExecutionDetail> {
    use ActionExecutionStatus::Succeeded;
    let mut a = sources_done(run);
    a.push(action(
        run,
        "Build",
        "Build",
        Succeeded,
        12,
        40,
        "CodeBuild",
        Some(build_result("sample-dev:b0", None)),
    ));
    a.push(action(
        run,
        "Deploy",
        "CreateChangeSet",
        Succeeded,
        40,
        60,
        "CloudFormation",
        None,
    ));
    a.push(action(
        run,
        "Deploy",
        "SummarizeChangeSet",
        Succeeded,
        60,
        100,
        "CodeBuild",
        Some(build_result("sample-dev-change-set-summary:s0", None)),
    ));
    a.push(action(
        run,
        "Deploy",
        "Approve",
        Succeeded,
        100,
        400,
        "Manual",
        Some(
            ActionExecutionResult::builder()
                .external_execution_summary("Approved by arn:aws:iam::123456789012:user/ops: looks right")
                .build(),
        ),
    ));
    a.push(action(
        run,
        "Deploy",
        "ExecuteChangeSet",
        Succeeded,
        400,
        700,
        "CloudFormation",
        None,
    ));
    a
}

fn actions_of(all: Vec<ActionExecutionDetail>) -> ListActionExecutionsOutput {
    ListActionExecutionsOutput::builder()
        .set_action_execution_details(Some(all))
        .build()
}

fn built(id: &str, tag: &str) -> Build {
    Build::builder()
        .id(id)
        .build_status(StatusType::Succeeded)
        .build_complete(true)
        .exported_environment_variables(
            ExportedEnvironmentVariable::builder()
                .name("IMAGE_TAG")
                .value(tag)
                .build(),
        )
        .build()
}

#[tokio::test]
async fn pipeline_status_shows_each_run_with_trigger_commits_image_and_every_action() {
    let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state).then_output(|| {
        pipeline_state(
            deploy_actions(Some(ActionExecutionStatus::InProgress), Some("token-1")),
            Some(("run-2", StageExecutionStatus::Succeeded)),
            Some(("run-2", StageExecutionStatus::InProgress)),
        )
    });
    let list = mock!(aws_sdk_codepipeline::Client::list_pipeline_executions)
        .match_requests(|r| r.pipeline_name() == Some(PIPELINE) && r.max_results() == Some(2))
        .then_output(|| {
            ListPipelineExecutionsOutput::builder()
                .pipeline_execution_summaries(summary("run-2", PipelineExecutionStatus::InProgress, 0, 253))
                .pipeline_execution_summaries(summary(
                    "run-1",
                    PipelineExecutionStatus::Succeeded,
                    -3600,
                    -2900,
                ))
                .build()
        });
    let actions_2 = mock!(aws_sdk_codepipeline::Client::list_action_executions)
        .match_requests(|r| r.filter().and_then(|f| f.pipeline_execution_id()) == Some("run-2"))
        .then_output(|| actions_of(waiting_run("run-2")));
    let actions_1 = mock!(aws_sdk_codepipeline::Client::list_action_executions)
        .match_requests(|r| r.filter().and_then(|f| f.pipeline_execution_id()) == Some("run-1"))
        .then_output(|| actions_of(succeeded_run("run-1")));
    let builds = mock!(aws_sdk_codebuild::Client::batch_get_builds).then_output(|| {
        BatchGetBuildsOutput::builder()
            .builds(built("sample-dev:b1", TAG))
            .builds(built("sample-dev:b0", OLD_TAG))
            .build()
    });
    let mut m = Mocks::none();
    m.pipeline = mock_client!(
        aws_sdk_codepipeline,
        RuleMode::MatchAny,
        [&state, &list, &actions_2, &actions_1]
    );
    m.build = mock_client!(aws_sdk_codebuild, [&builds]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::status(ctx, 2, false))
    })
    .await;
    assert_eq!(ran.code(), Code::Ok, "{}", ran.all());
    let out = &ran.out;
    for needle in [
        "pipeline sample-dev (stage dev): the latest 2 runs, newest first",
        "run run-2: InProgress, started 2026-11-28 05:24:01Z",
        "trigger: WebhookV2 (arn:aws:codeconnections:ap-northeast-1:123456789012:connection/abc)",
        "AppSource    4b825dc6  Answer /health with 503 while draining",
        "InfraSource  9fceb02d  Raise min_count to 3",
        "image: 5e1f0c2d9a4b",
        "image: 4b825dc642cb",
        "run run-1: Succeeded, started 2026-11-28 04:24:01Z, 11m40s",
    ] {
        assert!(out.contains(needle), "{needle:?} missing:\n{out}");
    }
    // Every stage and action, with status and duration, in the pipeline's order.
    let lines: Vec<&str> = out.lines().collect();
    let row = |prefix: &str| {
        lines
            .iter()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap_or_else(|| panic!("no row {prefix}:\n{out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row("Build  "), "Build Succeeded 3m01s");
    assert_eq!(row("CreateChangeSet"), "CreateChangeSet Succeeded 20s");
    assert!(
        row("Approve").starts_with("Approve InProgress")
            && row("Approve")
                .ends_with("waiting for approval: cargo xtask pipeline approve --stage dev (or reject)"),
        "{}",
        row("Approve")
    );
    assert!(row("ExecuteChangeSet").starts_with("ExecuteChangeSet -"), "{out}");
    assert!(
        out.contains("Approved by arn:aws:iam::123456789012:user/ops: looks right"),
        "the approval's answer shows: {out}"
    );
    let order: Vec<usize> = [
        "Source",
        "  AppSource",
        "  InfraSource",
        "Build",
        "Deploy",
        "  CreateChangeSet",
        "  SummarizeChangeSet",
        "  Approve",
        "  ExecuteChangeSet",
    ]
    .iter()
    .map(|n| {
        out.find(&format!("  {n} "))
            .unwrap_or_else(|| panic!("{n}:\n{out}"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}\n{out}");
}

#[tokio::test]
async fn pipeline_status_as_json_for_machines() {
    let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state)
        .then_output(|| pipeline_state(deploy_actions(None, None), None, None));
    let list = mock!(aws_sdk_codepipeline::Client::list_pipeline_executions).then_output(|| {
        ListPipelineExecutionsOutput::builder()
            .pipeline_execution_summaries(summary("run-1", PipelineExecutionStatus::Succeeded, 0, 700))
            .build()
    });
    let actions = mock!(aws_sdk_codepipeline::Client::list_action_executions)
        .then_output(|| actions_of(succeeded_run("run-1")));
    let builds = mock!(aws_sdk_codebuild::Client::batch_get_builds).then_output(|| {
        BatchGetBuildsOutput::builder()
            .builds(built("sample-dev:b0", OLD_TAG))
            .build()
    });
    let mut m = Mocks::none();
    m.pipeline = mock_client!(
        aws_sdk_codepipeline,
        RuleMode::MatchAny,
        [&state, &list, &actions]
    );
    m.build = mock_client!(aws_sdk_codebuild, [&builds]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::status(ctx, 1, true))
    })
    .await;
    assert_eq!(ran.result.unwrap(), Code::Ok);
    let v: serde_json::Value = serde_json::from_str(ran.out.trim()).unwrap();
    assert_eq!(v["runs"][0]["image_tag"], OLD_TAG);
    assert_eq!(v["runs"][0]["stages"][2]["name"], "Deploy");
    assert_eq!(v["runs"][0]["stages"][2]["actions"][3]["duration_s"], 300);
    assert_eq!(v["runs"][0]["sources"][1]["message"], "Raise min_count to 3");
}

#[tokio::test]
async fn no_pipeline_no_runs_access_denied_and_throttling_in_the_house_style() {
    // No pipeline yet: which command creates it.
    let missing = mock!(aws_sdk_codepipeline::Client::get_pipeline_state)
        .sequence()
        .http_status(
            400,
            Some(json_error(
                "PipelineNotFoundException",
                "Account '123456789012' does not have a pipeline with name 'sample-dev'",
            )),
        )
        .build();
    let mut m = Mocks::none();
    m.pipeline = mock_client!(aws_sdk_codepipeline, [&missing]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::status(ctx, 3, false))
    })
    .await;
    let f = ran.result.unwrap_err();
    assert_eq!(f.code, Code::Error);
    assert_eq!(
        f.error.to_string(),
        "stage dev has no pipeline yet (no sample-dev in ap-northeast-1): `cargo xtask deploy pipeline --stage dev` creates it"
    );

    // No runs: how to start one.
    let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state)
        .then_output(|| pipeline_state(deploy_actions(None, None), None, None));
    let none = mock!(aws_sdk_codepipeline::Client::list_pipeline_executions)
        .then_output(|| ListPipelineExecutionsOutput::builder().build());
    let mut m = Mocks::none();
    m.pipeline = mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, [&state, &none]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::watch(ctx, None, cli::Progress::Events))
    })
    .await;
    let e = ran.result.unwrap_err().error.to_string();
    assert!(
        e.starts_with("pipeline sample-dev has no runs yet")
            && e.contains("hint: `cargo xtask pipeline release --stage dev` starts one now"),
        "{e}"
    );

    // Access denied: the permission, by name.
    let denied = mock!(aws_sdk_codepipeline::Client::get_pipeline_state)
        .sequence()
        .http_status(
            400,
            Some(json_error(
                "AccessDeniedException",
                "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: codepipeline:GetPipelineState",
            )),
        )
        .build();
    let mut m = Mocks::none();
    m.pipeline = mock_client!(aws_sdk_codepipeline, [&denied]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::status(ctx, 3, false))
    })
    .await;
    let e = ran.result.unwrap_err().error.to_string();
    assert!(
        e.starts_with(
            "access denied: reading the state of pipeline sample-dev needs `codepipeline:GetPipelineState`"
        ) && e.contains("hint: ask for `codepipeline:GetPipelineState`"),
        "{e}"
    );

    // Throttling: retried, then answered.
    let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state)
        .sequence()
        .http_status(400, Some(json_error("ThrottlingException", "Rate exceeded")))
        .times(2)
        .output(|| pipeline_state(deploy_actions(None, None), None, None))
        .build();
    let list = mock!(aws_sdk_codepipeline::Client::list_pipeline_executions).then_output(|| {
        ListPipelineExecutionsOutput::builder()
            .pipeline_execution_summaries(summary("run-1", PipelineExecutionStatus::Succeeded, 0, 700))
            .build()
    });
    let actions = mock!(aws_sdk_codepipeline::Client::list_action_executions)
        .then_output(|| actions_of(succeeded_run("run-1")));
    let builds = mock!(aws_sdk_codebuild::Client::batch_get_builds).then_output(|| {
        BatchGetBuildsOutput::builder()
            .builds(built("sample-dev:b0", OLD_TAG))
            .build()
    });
    let mut m = Mocks::none();
    m.pipeline = mock_client!(
        aws_sdk_codepipeline,
        RuleMode::MatchAny,
        [&state, &list, &actions],
        |c| c.retry_config(aws_smithy_types::retry::RetryConfig::standard().with_max_attempts(4))
    );
    m.build = mock_client!(aws_sdk_codebuild, [&builds]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::status(ctx, 1, false))
    })
    .await;
    assert_eq!(ran.code(), Code::Ok, "{}", ran.all());
    assert_eq!(state.num_calls(), 3, "two throttled calls, then the answer");
}

/// `GetPipelineExecution` answering these statuses in turn, then the last one again.
fn execution_statuses(statuses: Vec<PipelineExecutionStatus>) -> Rule {
    let calls = Arc::new(AtomicUsize::new(0));
    mock!(aws_sdk_codepipeline::Client::get_pipeline_execution).then_compute_output(move |_| {
        let n = calls.fetch_add(1, Ordering::SeqCst).min(statuses.len() - 1);
        GetPipelineExecutionOutput::builder()
            .pipeline_execution(
                PipelineExecution::builder()
                    .pipeline_execution_id("run-3")
                    .status(statuses[n].clone())
                    .build(),
            )
            .build()
    })
}

/// `ListActionExecutions` answering these snapshots in turn, then the last one again.
fn action_snapshots(snapshots: Vec<Vec<ActionExecutionDetail>>) -> Rule {
    let calls = Arc::new(AtomicUsize::new(0));
    mock!(aws_sdk_codepipeline::Client::list_action_executions).then_compute_output(move |_| {
        let n = calls.fetch_add(1, Ordering::SeqCst).min(snapshots.len() - 1);
        actions_of(snapshots[n].clone())
    })
}

#[tokio::test]
async fn pipeline_watch_follows_a_run_in_progress_to_its_success() {
    use ActionExecutionStatus::{InProgress, Succeeded};
    let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state).then_output(|| {
        pipeline_state(
            vec![
                action_state("CreateChangeSet", None, None),
                action_state("ExecuteChangeSet", None, None),
            ],
            None,
            None,
        )
    });
    let mut building = sources_done("run-3");
    building.push(action(
        "run-3",
        "Build",
        "Build",
        InProgress,
        12,
        12,
        "CodeBuild",
        None,
    ));
    let mut deploying = sources_done("run-3");
    deploying.push(action(
        "run-3",
        "Build",
        "Build",
        Succeeded,
        12,
        193,
        "CodeBuild",
        Some(build_result("sample-dev:b3", None)),
    ));
    deploying.push(action(
        "run-3",
        "Deploy",
        "CreateChangeSet",
        Succeeded,
        193,
        213,
        "CloudFormation",
        None,
    ));
    deploying.push(action(
        "run-3",
        "Deploy",
        "ExecuteChangeSet",
        InProgress,
        213,
        213,
        "CloudFormation",
        None,
    ));
    let mut done = deploying.clone();
    done.pop();
    done.push(action(
        "run-3",
        "Deploy",
        "ExecuteChangeSet",
        Succeeded,
        213,
        400,
        "CloudFormation",
        None,
    ));
    let statuses = execution_statuses(vec![
        PipelineExecutionStatus::InProgress,
        PipelineExecutionStatus::InProgress,
        PipelineExecutionStatus::Succeeded,
    ]);
    let snapshots = action_snapshots(vec![building, deploying, done]);
    let mut m = Mocks::none();
    m.pipeline = mock_client!(
        aws_sdk_codepipeline,
        RuleMode::MatchAny,
        [&state, &statuses, &snapshots]
    );
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::watch(
            ctx,
            Some("run-3".to_owned()),
            cli::Progress::Events,
        ))
    })
    .await;
    assert_eq!(ran.code(), Code::Ok, "{}", ran.all());
    let err = &ran.err;
    let order: Vec<usize> = [
        "sample-dev: following run run-3 (Ctrl-C stops following, not the run)",
        "Build/Build                         InProgress",
        "Build/Build                         Succeeded   3m01s",
        "Deploy/ExecuteChangeSet             InProgress",
        "Deploy/ExecuteChangeSet             Succeeded   3m07s",
        "run run-3: Succeeded in 6m40s",
    ]
    .iter()
    .map(|n| err.find(n).unwrap_or_else(|| panic!("{n:?} missing:\n{err}")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{err}");
    assert_eq!(
        err.matches("Source/AppSource").count(),
        1,
        "each change once: {err}"
    );

    // Quiet: only the outcome.
    let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state)
        .then_output(|| pipeline_state(deploy_actions(None, None), None, None));
    let statuses = execution_statuses(vec![PipelineExecutionStatus::Succeeded]);
    let snapshots = action_snapshots(vec![succeeded_run("run-3")]);
    let mut m = Mocks::none();
    m.pipeline = mock_client!(
        aws_sdk_codepipeline,
        RuleMode::MatchAny,
        [&state, &statuses, &snapshots]
    );
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::watch(
            ctx,
            Some("run-3".to_owned()),
            cli::Progress::Quiet,
        ))
    })
    .await;
    assert_eq!(ran.result.unwrap(), Code::Ok);
    assert!(!ran.err.contains("Build/Build"), "{}", ran.err);
    assert!(ran.err.contains("run run-3: Succeeded"), "{}", ran.err);
}

#[tokio::test]
async fn a_run_waiting_for_approval_says_how_to_answer_and_ctrl_c_leaves_it_running() {
    let interrupt = Interrupt::default();
    let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state)
        .then_output(|| pipeline_state(deploy_actions(None, None), None, None));
    let list = mock!(aws_sdk_codepipeline::Client::list_pipeline_executions).then_output(|| {
        ListPipelineExecutionsOutput::builder()
            .pipeline_execution_summaries(summary("run-3", PipelineExecutionStatus::InProgress, 0, 253))
            .pipeline_execution_summaries(summary("run-2", PipelineExecutionStatus::Succeeded, -900, -200))
            .build()
    });
    let statuses = execution_statuses(vec![PipelineExecutionStatus::InProgress]);
    let calls = Arc::new(AtomicUsize::new(0));
    let i2 = interrupt.clone();
    let snapshots =
        mock!(aws_sdk_codepipeline::Client::list_action_executions).then_compute_output(move |_| {
            // The person presses Ctrl-C while the third look is read.
            if calls.fetch_add(1, Ordering::SeqCst) == 2 {
                i2.fire();
            }
            actions_of(waiting_run("run-3"))
        });
    let put = mock!(aws_sdk_codepipeline::Client::put_approval_result)
        .then_output(|| PutApprovalResultOutput::builder().build());
    let mut m = Mocks::none();
    m.pipeline = mock_client!(
        aws_sdk_codepipeline,
        RuleMode::MatchAny,
        [&state, &list, &statuses, &snapshots, &put]
    );
    let ran = run(m.clients(), None, interrupt, |ctx| {
        Box::pin(berth_aws::pipeline::watch(ctx, None, cli::Progress::Events))
    })
    .await;
    let f = ran.result.unwrap_err();
    assert_eq!(f.code, Code::Interrupted);
    let err = &ran.err;
    assert!(err.contains("following run run-3"), "the run in progress: {err}");
    assert!(
        err.contains(
            "Deploy/Approve waits for an approval: `cargo xtask pipeline approve --stage dev` shows the change set and answers it"
        ),
        "{err}"
    );
    assert_eq!(err.matches("waits for an approval").count(), 1, "{err}");
    assert!(
        err.contains("stopped following; the run goes on. Follow it again with:\n  cargo xtask pipeline watch --stage dev --execution run-3"),
        "{err}"
    );
    assert_eq!(put.num_calls(), 0, "watching answers nothing");
}

fn failed_build(id: &str) -> Build {
    Build::builder()
        .id(id)
        .build_number(42)
        .build_status(StatusType::Failed)
        .build_complete(true)
        .start_time(at(12))
        .phases(
            BuildPhase::builder()
                .phase_type(BuildPhaseType::PreBuild)
                .phase_status(StatusType::Succeeded)
                .build(),
        )
        .phases(
            BuildPhase::builder()
                .phase_type(BuildPhaseType::Build)
                .phase_status(StatusType::Failed)
                .contexts(
                    PhaseContext::builder()
                        .status_code("COMMAND_EXECUTION_ERROR")
                        .message("Error while executing command: docker build --file \"$BUILD_CONTEXT/app/Dockerfile\" .... Reason: exit status 1")
                        .build(),
                )
                .build(),
        )
        .logs(
            LogsLocation::builder()
                .group_name("/aws/codebuild/sample-dev")
                .stream_name("b4")
                .build(),
        )
        .build()
}

#[tokio::test]
async fn a_failed_build_shows_its_failed_phase_and_the_end_of_its_log() {
    use ActionExecutionStatus::Failed;
    let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state).then_output(|| {
        pipeline_state(
            deploy_actions(None, None),
            Some(("run-4", StageExecutionStatus::Failed)),
            None,
        )
    });
    let statuses = execution_statuses(vec![PipelineExecutionStatus::Failed]);
    let mut failed = sources_done("run-4");
    failed.push(action(
        "run-4",
        "Build",
        "Build",
        Failed,
        12,
        95,
        "CodeBuild",
        Some(build_result(
            "sample-dev:b4",
            Some("Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR"),
        )),
    ));
    let snapshots = action_snapshots(vec![failed]);
    let builds = mock!(aws_sdk_codebuild::Client::batch_get_builds)
        .match_requests(|r| r.ids() == ["sample-dev:b4"])
        .then_output(|| {
            BatchGetBuildsOutput::builder()
                .builds(failed_build("sample-dev:b4"))
                .build()
        });
    let tail = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events)
        .match_requests(|r| {
            r.log_group_name() == Some("/aws/codebuild/sample-dev")
                && r.log_stream_name() == Some("b4")
                && r.start_from_head() == Some(false)
                && r.limit() == Some(20)
        })
        .then_output(|| {
            let mut out = GetLogEventsOutput::builder();
            for (i, line) in [
                "#12 [builder 4/6] RUN cargo build --release -p app\n",
                "#12 41.02 error[E0425]: cannot find value `drain_timeout` in this scope\n",
                "#12 ERROR: process \"/bin/sh -c cargo build --release -p app\" did not complete successfully: exit code: 101\n",
                "[Container] 2026/11/28 05:25:36.012 Command did not exit successfully docker build ... exit status 1\n",
            ]
            .iter()
            .enumerate()
            {
                out = out.events(
                    OutputLogEvent::builder()
                        .timestamp((T0 + 90) * 1000 + i as i64)
                        .message(*line)
                        .build(),
                );
            }
            out.build()
        });
    let mut m = Mocks::none();
    m.pipeline = mock_client!(
        aws_sdk_codepipeline,
        RuleMode::MatchAny,
        [&state, &statuses, &snapshots]
    );
    m.build = mock_client!(aws_sdk_codebuild, [&builds]);
    m.logs = mock_client!(aws_sdk_cloudwatchlogs, [&tail]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::watch(
            ctx,
            Some("run-4".to_owned()),
            cli::Progress::Quiet,
        ))
    })
    .await;
    let all = ran.all();
    let f = ran.result.unwrap_err();
    assert_eq!(f.code, Code::StackFailed, "{all}");
    assert!(
        f.error
            .to_string()
            .contains("run run-4 of pipeline sample-dev ended Failed")
            && f.error
                .to_string()
                .contains("`cargo xtask pipeline retry --stage dev` retries the failed stage"),
        "{:#}",
        f.error
    );
    let err = &ran.err;
    for needle in [
        "run run-4: Failed",
        "root cause:",
        "Build/Build failed: Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR",
        "build sample-dev:b4: phase BUILD failed: COMMAND_EXECUTION_ERROR: Error while executing command: docker build",
        "the last 4 lines of its log (all of it: `cargo xtask logs build --stage dev --build sample-dev:b4`):",
        "| #12 41.02 error[E0425]: cannot find value `drain_timeout` in this scope",
        "| [Container] 2026/11/28 05:25:36.012 Command did not exit successfully",
    ] {
        assert!(err.contains(needle), "{needle:?} missing:\n{err}");
    }
    // Quiet shows the failed action's line, not the others.
    assert!(
        err.contains("Build/Build") && !err.contains("Source/AppSource"),
        "{err}"
    );
}

fn stack_event(
    id: usize,
    logical: &str,
    ty: &str,
    status: &str,
    reason: Option<&str>,
    offset: i64,
) -> aws_sdk_cloudformation::types::StackEvent {
    aws_sdk_cloudformation::types::StackEvent::builder()
        .event_id(format!("e{id}"))
        .stack_id(STACK_ID)
        .stack_name(SERVICE_STACK)
        .logical_resource_id(logical)
        .physical_resource_id(if ty == "AWS::CloudFormation::Stack" {
            STACK_ID.to_owned()
        } else {
            format!("{logical}-phys")
        })
        .resource_type(ty)
        .resource_status(aws_sdk_cloudformation::types::ResourceStatus::from(status))
        .set_resource_status_reason(reason.map(str::to_owned))
        .timestamp(at(offset))
        .build()
}

#[tokio::test]
async fn a_failed_deploy_action_shows_the_stacks_first_failed_resource() {
    use ActionExecutionStatus::{Failed, Succeeded};
    let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state).then_output(|| {
        pipeline_state(
            deploy_actions(None, None),
            None,
            Some(("run-5", StageExecutionStatus::Failed)),
        )
    });
    let statuses = execution_statuses(vec![PipelineExecutionStatus::Failed]);
    let mut failed = sources_done("run-5");
    failed.push(action(
        "run-5",
        "Build",
        "Build",
        Succeeded,
        12,
        40,
        "CodeBuild",
        Some(build_result("sample-dev:b5", None)),
    ));
    failed.push(action(
        "run-5",
        "Deploy",
        "CreateChangeSet",
        Succeeded,
        40,
        60,
        "CloudFormation",
        None,
    ));
    failed.push(action(
        "run-5",
        "Deploy",
        "ExecuteChangeSet",
        Failed,
        60,
        900,
        "CloudFormation",
        Some(build_result(
            "arn:aws:cloudformation:...:stack/sample-dev-service/1",
            Some("Stack sample-dev-service is in UPDATE_ROLLBACK_COMPLETE state and can not be updated."),
        )),
    ));
    let snapshots = action_snapshots(vec![failed]);
    let stacks = mock!(aws_sdk_cloudformation::Client::describe_stacks).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(
                aws_sdk_cloudformation::types::Stack::builder()
                    .stack_name(SERVICE_STACK)
                    .stack_id(STACK_ID)
                    .stack_status(aws_sdk_cloudformation::types::StackStatus::UpdateRollbackComplete)
                    .creation_time(at(-86_400))
                    .build(),
            )
            .build()
    });
    let events = mock!(aws_sdk_cloudformation::Client::describe_stack_events).then_output(|| {
        let mut all = vec![
            stack_event(1, "Old", "AWS::S3::Bucket", "UPDATE_COMPLETE", None, -600),
            stack_event(2, SERVICE_STACK, "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", Some("User Initiated"), 61),
            stack_event(3, "TaskDefinition", "AWS::ECS::TaskDefinition", "UPDATE_COMPLETE", None, 70),
            stack_event(
                4,
                "Service",
                "AWS::ECS::Service",
                "UPDATE_FAILED",
                Some("Resource handler returned message: \"Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'.\""),
                600,
            ),
            stack_event(5, "Alarm", "AWS::CloudWatch::Alarm", "UPDATE_FAILED", Some("Resource update cancelled"), 601),
            stack_event(6, SERVICE_STACK, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_COMPLETE", None, 890),
        ];
        all.reverse();
        DescribeStackEventsOutput::builder().set_stack_events(Some(all)).build()
    });
    let mut m = Mocks::none();
    m.pipeline = mock_client!(
        aws_sdk_codepipeline,
        RuleMode::MatchAny,
        [&state, &statuses, &snapshots]
    );
    m.cfn = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&stacks, &events]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::watch(
            ctx,
            Some("run-5".to_owned()),
            cli::Progress::Events,
        ))
    })
    .await;
    assert_eq!(ran.result.unwrap_err().code, Code::StackFailed);
    let err = &ran.err;
    assert!(
        err.contains(
            "Deploy/ExecuteChangeSet failed: Stack sample-dev-service is in UPDATE_ROLLBACK_COMPLETE state"
        ),
        "{err}"
    );
    assert!(
        err.contains("sample-dev-service: UPDATE_ROLLBACK_COMPLETE"),
        "{err}"
    );
    assert!(
        err.contains("    Service (AWS::ECS::Service): Resource handler returned message: \"Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'.\""),
        "deploy's root cause: {err}"
    );
    assert!(
        !err.contains("Alarm (AWS::CloudWatch::Alarm)"),
        "cancellations are not causes: {err}"
    );
    assert!(
        !err.contains("Old (AWS::S3::Bucket)"),
        "only the action's events: {err}"
    );
}

#[tokio::test]
async fn a_change_set_the_pipeline_could_not_create_shows_its_validation_errors() {
    use ActionExecutionStatus::{Failed, Succeeded};
    let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state).then_output(|| {
        pipeline_state(
            deploy_actions(None, None),
            None,
            Some(("run-6", StageExecutionStatus::Failed)),
        )
    });
    let statuses = execution_statuses(vec![PipelineExecutionStatus::Failed]);
    let mut failed = sources_done("run-6");
    failed.push(action(
        "run-6",
        "Build",
        "Build",
        Succeeded,
        12,
        40,
        "CodeBuild",
        Some(build_result("sample-dev:b6", None)),
    ));
    failed.push(action(
        "run-6",
        "Deploy",
        "CreateChangeSet",
        Failed,
        40,
        60,
        "CloudFormation",
        Some(build_result(
            "cs",
            Some("Failed to create change set: the change set failed validation"),
        )),
    ));
    let snapshots = action_snapshots(vec![failed]);
    let events = mock!(aws_sdk_cloudformation::Client::describe_events)
        .match_requests(|r| {
            r.change_set_name() == Some("sample-dev-pipeline-deploy") && r.stack_name() == Some(SERVICE_STACK)
        })
        .then_output(two_validation_errors);
    let mut m = Mocks::none();
    m.pipeline = mock_client!(
        aws_sdk_codepipeline,
        RuleMode::MatchAny,
        [&state, &statuses, &snapshots]
    );
    m.cfn = mock_client!(aws_sdk_cloudformation, [&events]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::watch(
            ctx,
            Some("run-6".to_owned()),
            cli::Progress::Quiet,
        ))
    })
    .await;
    assert_eq!(ran.result.unwrap_err().code, Code::StackFailed);
    let err = &ran.err;
    assert!(
        err.contains(
            "change set sample-dev-pipeline-deploy on sample-dev-service failed CloudFormation's validation:"
        ),
        "{err}"
    );
    assert!(err.contains("LogGroup (AWS::Logs::LogGroup) at /Resources/LogGroup/Properties/LogGroupName: NAME_CONFLICT_VALIDATION: Resource of type 'AWS::Logs::LogGroup' with identifier '/berth/sample/dev/service' already exists."), "{err}");
    assert!(err.contains("TaskDefinition (AWS::ECS::TaskDefinition) at /Resources/TaskDefinition/Properties/Cpu: PROPERTY_VALIDATION"), "{err}");
}

fn two_validation_errors() -> DescribeEventsOutput {
    use aws_sdk_cloudformation::types::{EventType, OperationEvent, ValidationStatus};
    DescribeEventsOutput::builder()
        .operation_events(
            OperationEvent::builder()
                .event_id("v1")
                .event_type(EventType::ValidationError)
                .logical_resource_id("LogGroup")
                .resource_type("AWS::Logs::LogGroup")
                .validation_name("NAME_CONFLICT_VALIDATION")
                .validation_status(ValidationStatus::Failed)
                .validation_path("/Resources/LogGroup/Properties/LogGroupName")
                .validation_status_reason(
                    "Resource of type 'AWS::Logs::LogGroup' with identifier '/berth/sample/dev/service' already exists.",
                )
                .timestamp(at(41))
                .build(),
        )
        .operation_events(
            OperationEvent::builder()
                .event_id("v2")
                .event_type(EventType::ValidationError)
                .logical_resource_id("TaskDefinition")
                .resource_type("AWS::ECS::TaskDefinition")
                .validation_name("PROPERTY_VALIDATION")
                .validation_status(ValidationStatus::Failed)
                .validation_path("/Resources/TaskDefinition/Properties/Cpu")
                .validation_status_reason("#/Cpu: expected type: String, found: Integer")
                .timestamp(at(42))
                .build(),
        )
        .build()
}

/// What `pipeline approve|reject` reads: the approval waiting, the change set, the stack, the
/// template being deployed.
fn approval_rules() -> (Rule, Rule, Rule, Rule) {
    use aws_sdk_cloudformation::types::{Change, ChangeAction, Parameter, Replacement, ResourceChange};
    let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state).then_output(|| {
        pipeline_state(
            deploy_actions(Some(ActionExecutionStatus::InProgress), Some("approval-token-7")),
            Some(("run-7", StageExecutionStatus::Succeeded)),
            Some(("run-7", StageExecutionStatus::InProgress)),
        )
    });
    let cs = mock!(aws_sdk_cloudformation::Client::describe_change_set)
        .match_requests(|r| {
            r.change_set_name() == Some("sample-dev-pipeline-deploy") && r.stack_name() == Some(SERVICE_STACK)
        })
        .then_output(|| {
            let change = |action: ChangeAction, id: &str, ty: &str, replacement: Option<Replacement>| {
                Change::builder()
                    .resource_change(
                        ResourceChange::builder()
                            .action(action)
                            .logical_resource_id(id)
                            .resource_type(ty)
                            .set_replacement(replacement)
                            .build(),
                    )
                    .build()
            };
            DescribeChangeSetOutput::builder()
                .status(aws_sdk_cloudformation::types::ChangeSetStatus::CreateComplete)
                .stack_id(STACK_ID)
                .change_set_name("sample-dev-pipeline-deploy")
                .parameters(
                    Parameter::builder()
                        .parameter_key("ImageTag")
                        .parameter_value(TAG)
                        .build(),
                )
                .parameters(
                    Parameter::builder()
                        .parameter_key("MinCount")
                        .parameter_value("2")
                        .build(),
                )
                .changes(change(
                    ChangeAction::Modify,
                    "TaskDefinition",
                    "AWS::ECS::TaskDefinition",
                    Some(Replacement::True),
                ))
                .changes(change(
                    ChangeAction::Modify,
                    "Service",
                    "AWS::ECS::Service",
                    Some(Replacement::False),
                ))
                .build()
        });
    let stacks = mock!(aws_sdk_cloudformation::Client::describe_stacks).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(
                aws_sdk_cloudformation::types::Stack::builder()
                    .stack_name(SERVICE_STACK)
                    .stack_id(STACK_ID)
                    .stack_status(aws_sdk_cloudformation::types::StackStatus::UpdateComplete)
                    .creation_time(at(-86_400))
                    .parameters(
                        Parameter::builder()
                            .parameter_key("ImageTag")
                            .parameter_value(OLD_TAG)
                            .build(),
                    )
                    .parameters(
                        Parameter::builder()
                            .parameter_key("MinCount")
                            .parameter_value("2")
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let template = mock!(aws_sdk_cloudformation::Client::get_template)
        .match_requests(|r| r.change_set_name() == Some("sample-dev-pipeline-deploy"))
        .then_output(|| {
            GetTemplateOutput::builder()
                .template_body(r#"{"Resources": {"TaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {}}}}"#)
                .build()
        });
    (state, cs, stacks, template)
}

#[tokio::test]
async fn an_approval_shows_the_change_set_as_deploy_does_then_asks_and_answers() {
    let (state, cs, stacks, template) = approval_rules();
    let put = mock!(aws_sdk_codepipeline::Client::put_approval_result)
        .match_requests(|r| {
            r.pipeline_name() == Some(PIPELINE)
                && r.stage_name() == Some("Deploy")
                && r.action_name() == Some("Approve")
                && r.token() == Some("approval-token-7")
                && r.result()
                    .is_some_and(|a| a.status == ApprovalStatus::Approved && a.summary == "ship it")
        })
        .then_output(|| PutApprovalResultOutput::builder().build());
    let mut m = Mocks::none();
    m.pipeline = mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, [&state, &put]);
    m.cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&cs, &stacks, &template]
    );
    let ran = run(m.clients(), Some(true), Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::answer(
            ctx,
            true,
            Some("ship it".to_owned()),
            false,
        ))
    })
    .await;
    assert_eq!(ran.code(), Code::Ok, "{}", ran.all());
    assert_eq!(put.num_calls(), 1);
    let err = &ran.err;
    for needle in [
        "run run-7 waits in Deploy/Approve: change set sample-dev-pipeline-deploy on sample-dev-service",
        &format!("parameter changes:\n  ImageTag: {OLD_TAG} -> {TAG}"),
        "change set for sample-dev-service: 2 changes",
        "  Modify  TaskDefinition  AWS::ECS::TaskDefinition  True  <- REPLACED",
        "1 resource(s) will be replaced and 0 may be",
        "approved: run run-7 goes on to execute sample-dev-pipeline-deploy. Follow it with:\n  cargo xtask pipeline watch --stage dev --execution run-7",
    ] {
        assert!(err.contains(needle), "{needle:?} missing:\n{err}");
    }
    assert!(
        !err.contains("MinCount"),
        "unchanged parameters are not listed: {err}"
    );
    let v: serde_json::Value = serde_json::from_str(ran.out.trim()).unwrap();
    assert_eq!(v["answer"], "Approved");
}

#[tokio::test]
async fn without_a_terminal_an_approval_is_refused_unless_yes_and_reject_says_so() {
    // No terminal, no --yes: the table is shown, nothing is answered, exit 3.
    let (state, cs, stacks, template) = approval_rules();
    let put = mock!(aws_sdk_codepipeline::Client::put_approval_result)
        .then_output(|| PutApprovalResultOutput::builder().build());
    let mut m = Mocks::none();
    m.pipeline = mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, [&state, &put]);
    m.cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&cs, &stacks, &template]
    );
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::answer(ctx, true, None, false))
    })
    .await;
    let f = ran.result.unwrap_err();
    assert_eq!(f.code, Code::Refused);
    assert_eq!(
        f.error.to_string(),
        "refusing to approve without confirmation: stdin is not a terminal. Pass --yes to approve the change set shown"
    );
    assert!(
        ran.err.contains("change set for sample-dev-service: 2 changes"),
        "{}",
        ran.err
    );
    assert_eq!(put.num_calls(), 0);

    // --yes rejects without asking.
    let (state, cs, stacks, template) = approval_rules();
    let put = mock!(aws_sdk_codepipeline::Client::put_approval_result)
        .match_requests(|r| {
            r.result().is_some_and(|a| {
                a.status == ApprovalStatus::Rejected
                    && a.summary == "rejected with cargo xtask pipeline reject"
            })
        })
        .then_output(|| PutApprovalResultOutput::builder().build());
    let mut m = Mocks::none();
    m.pipeline = mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, [&state, &put]);
    m.cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&cs, &stacks, &template]
    );
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::answer(ctx, false, None, true))
    })
    .await;
    assert_eq!(ran.code(), Code::Ok, "{}", ran.all());
    assert_eq!(put.num_calls(), 1);
    assert!(
        ran.err
            .contains("rejected: run run-7 stops; sample-dev-pipeline-deploy is not executed"),
        "{}",
        ran.err
    );

    // Nothing waiting: the state blocks it (exit 5).
    let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state).then_output(|| {
        pipeline_state(
            deploy_actions(Some(ActionExecutionStatus::Succeeded), None),
            None,
            None,
        )
    });
    let mut m = Mocks::none();
    m.pipeline = mock_client!(aws_sdk_codepipeline, [&state]);
    let ran = run(m.clients(), Some(true), Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::answer(ctx, true, None, true))
    })
    .await;
    let f = ran.result.unwrap_err();
    assert_eq!(f.code, Code::Blocked);
    assert!(
        f.error
            .to_string()
            .starts_with("no approval waits in pipeline sample-dev's Deploy stage"),
        "{:#}",
        f.error
    );

    // A stage without approvals says so.
    let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state).then_output(|| {
        pipeline_state(
            vec![
                action_state("CreateChangeSet", None, None),
                action_state("ExecuteChangeSet", None, None),
            ],
            None,
            None,
        )
    });
    let mut m = Mocks::none();
    m.pipeline = mock_client!(aws_sdk_codepipeline, [&state]);
    let ran = run(m.clients(), Some(true), Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::answer(ctx, false, None, true))
    })
    .await;
    let f = ran.result.unwrap_err();
    assert_eq!(f.code, Code::Blocked);
    assert!(
        f.error
            .to_string()
            .contains("asks for no approval: stage dev has deploy.approval off"),
        "{:#}",
        f.error
    );
}

#[tokio::test]
async fn release_starts_a_run_and_retry_retries_the_failed_stage() {
    let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state).then_output(|| {
        let mut s = pipeline_state(deploy_actions(None, None), None, None);
        // The deploy stage is closed until the stage's secrets are stored.
        let states = s.stage_states.as_mut().unwrap();
        states[2] = stage_state(
            "Deploy",
            deploy_actions(None, None),
            None,
            Some("berth: closed until the stage's secrets are stored; cargo xtask deploy pipeline opens it"),
        );
        s
    });
    let start = mock!(aws_sdk_codepipeline::Client::start_pipeline_execution)
        .match_requests(|r| r.name() == Some(PIPELINE) && r.client_request_token().is_some())
        .then_output(|| {
            StartPipelineExecutionOutput::builder()
                .pipeline_execution_id("run-8")
                .build()
        });
    let mut m = Mocks::none();
    m.pipeline = mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, [&state, &start]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::release(ctx, false, cli::Progress::Events))
    })
    .await;
    assert_eq!(ran.result.unwrap(), Code::Ok);
    assert_eq!(ran.out, "run-8\n", "the run's ID on stdout");
    assert!(
        ran.err
            .contains("sample-dev: started run run-8 from the sources' latest commits"),
        "{}",
        ran.err
    );
    assert!(
        ran.err.contains("it will wait before Deploy: the transition into it is closed (berth: closed until the stage's secrets are stored"),
        "{}",
        ran.err
    );
    assert!(
        ran.err
            .contains("cargo xtask pipeline watch --stage dev --execution run-8"),
        "{}",
        ran.err
    );

    let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state).then_output(|| {
        pipeline_state(
            deploy_actions(None, None),
            Some(("run-4", StageExecutionStatus::Failed)),
            None,
        )
    });
    let retry = mock!(aws_sdk_codepipeline::Client::retry_stage_execution)
        .match_requests(|r| {
            r.stage_name() == Some("Build")
                && r.pipeline_execution_id() == Some("run-4")
                && r.retry_mode() == Some(&StageRetryMode::FailedActions)
        })
        .then_output(|| {
            RetryStageExecutionOutput::builder()
                .pipeline_execution_id("run-4")
                .build()
        });
    let mut m = Mocks::none();
    m.pipeline = mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, [&state, &retry]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::retry(
            ctx,
            None,
            false,
            false,
            cli::Progress::Events,
        ))
    })
    .await;
    assert_eq!(ran.code(), Code::Ok, "{}", ran.all());
    assert_eq!(retry.num_calls(), 1);
    assert!(
        ran.err
            .contains("sample-dev: retrying stage Build of run run-4 (the failed actions)"),
        "{}",
        ran.err
    );

    // Nothing failed: nothing to retry (exit 5).
    let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state).then_output(|| {
        pipeline_state(
            deploy_actions(None, None),
            Some(("run-4", StageExecutionStatus::Succeeded)),
            None,
        )
    });
    let mut m = Mocks::none();
    m.pipeline = mock_client!(aws_sdk_codepipeline, [&state]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::pipeline::retry(
            ctx,
            None,
            false,
            false,
            cli::Progress::Events,
        ))
    })
    .await;
    let f = ran.result.unwrap_err();
    assert_eq!(f.code, Code::Blocked);
    assert!(
        f.error
            .to_string()
            .starts_with("nothing to retry: no stage of pipeline sample-dev ended failed"),
        "{:#}",
        f.error
    );
}

// ---- the service ---------------------------------------------------------------------------------

const CLUSTER: &str = "sample-dev-Cluster-AbC";
const SERVICE_ARN: &str =
    "arn:aws:ecs:ap-northeast-1:123456789012:service/sample-dev-Cluster-AbC/sample-dev-service-Service-XyZ";
const TG_ARN: &str =
    "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/sample-dev-tg/0123456789abcdef";
const TD_NEW: &str = "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/sample-dev:13";
const TD_OLD: &str = "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/sample-dev:12";
const REPO: &str = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/sample-dev";

fn stack_resources() -> Rule {
    use aws_sdk_cloudformation::types::StackResource;
    mock!(aws_sdk_cloudformation::Client::describe_stack_resources)
        .match_requests(|r| r.stack_name() == Some(SERVICE_STACK))
        .then_output(|| {
            let res = |id: &str, ty: &str, physical: &str| {
                StackResource::builder()
                    .logical_resource_id(id)
                    .resource_type(ty)
                    .physical_resource_id(physical)
                    .timestamp(at(0))
                    .resource_status(aws_sdk_cloudformation::types::ResourceStatus::UpdateComplete)
                    .build()
            };
            DescribeStackResourcesOutput::builder()
                .stack_resources(res("Cluster", "AWS::ECS::Cluster", CLUSTER))
                .stack_resources(res("Service", "AWS::ECS::Service", SERVICE_ARN))
                .stack_resources(res(
                    "TargetGroup",
                    "AWS::ElasticLoadBalancingV2::TargetGroup",
                    TG_ARN,
                ))
                .stack_resources(res(
                    "CapacityProvider",
                    "AWS::ECS::CapacityProvider",
                    "sample-dev-cp",
                ))
                .stack_resources(res(
                    "AutoScalingGroup",
                    "AWS::AutoScaling::AutoScalingGroup",
                    "sample-dev-asg",
                ))
                .stack_resources(res(
                    "TargetErrorsAlarm",
                    "AWS::CloudWatch::Alarm",
                    "sample-dev-target-5xx",
                ))
                .stack_resources(res(
                    "UnhealthyTargetsAlarm",
                    "AWS::CloudWatch::Alarm",
                    "sample-dev-unhealthy-targets",
                ))
                .build()
        })
}

fn deployment(
    id: &str,
    status: &str,
    rollout: DeploymentRolloutState,
    td: &str,
    counts: (i32, i32, i32, i32),
    reason: &str,
) -> Deployment {
    Deployment::builder()
        .id(id)
        .status(status)
        .rollout_state(rollout)
        .rollout_state_reason(reason)
        .task_definition(td)
        .desired_count(counts.0)
        .running_count(counts.1)
        .pending_count(counts.2)
        .failed_tasks(counts.3)
        .updated_at(at(300))
        .build()
}

/// A rollout of :13 over :12, one new task unhealthy, one stopped by the load balancer.
fn services(rollout: DeploymentRolloutState) -> DescribeServicesOutput {
    let mut svc = Service::builder()
        .service_name("sample-dev-service-Service-XyZ")
        .service_arn(SERVICE_ARN)
        .status("ACTIVE")
        .desired_count(2)
        .running_count(3)
        .pending_count(0)
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .alarms(
                    DeploymentAlarms::builder()
                        .alarm_names("sample-dev-target-5xx")
                        .alarm_names("sample-dev-unhealthy-targets")
                        .enable(true)
                        .rollback(true)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .events(
            ServiceEvent::builder()
                .created_at(at(290))
                .message("(service sample-dev-service-Service-XyZ) has started 1 tasks: (task 9f8e7d6c5b4a).")
                .build(),
        )
        .events(
            ServiceEvent::builder()
                .created_at(at(280))
                .message("(service sample-dev-service-Service-XyZ, taskSet ecs-svc/2) deregistered 1 targets in (target-group sample-dev-tg)")
                .build(),
        );
    match rollout {
        DeploymentRolloutState::Completed => {
            svc = svc.deployments(deployment(
                "ecs-svc/2",
                "PRIMARY",
                DeploymentRolloutState::Completed,
                TD_NEW,
                (2, 2, 0, 1),
                "ECS deployment ecs-svc/2 completed.",
            ));
        }
        other => {
            svc = svc
                .deployments(deployment(
                    "ecs-svc/2",
                    "PRIMARY",
                    other.clone(),
                    TD_NEW,
                    (2, 1, 0, 1),
                    if other == DeploymentRolloutState::Failed {
                        "ECS deployment circuit breaker: tasks failed to start."
                    } else {
                        "ECS deployment ecs-svc/2 in progress."
                    },
                ))
                .deployments(deployment(
                    "ecs-svc/1",
                    "ACTIVE",
                    DeploymentRolloutState::Completed,
                    TD_OLD,
                    (2, 2, 0, 0),
                    "ECS deployment ecs-svc/1 completed.",
                ));
        }
    }
    DescribeServicesOutput::builder().services(svc.build()).build()
}

fn task(
    id: &str,
    td: &str,
    tag: &str,
    instance: &str,
    port: i32,
    health: HealthStatus,
    stopped: Option<&str>,
) -> Task {
    Task::builder()
        .task_arn(format!(
            "arn:aws:ecs:ap-northeast-1:123456789012:task/{CLUSTER}/{id}"
        ))
        .task_definition_arn(td)
        .container_instance_arn(format!(
            "arn:aws:ecs:ap-northeast-1:123456789012:container-instance/{CLUSTER}/{instance}"
        ))
        .last_status(if stopped.is_some() { "STOPPED" } else { "RUNNING" })
        .desired_status(if stopped.is_some() { "STOPPED" } else { "RUNNING" })
        .health_status(health)
        .started_at(at(100))
        .set_stopped_reason(stopped.map(str::to_owned))
        .set_stopped_at(stopped.map(|_| at(200)))
        .containers(
            Container::builder()
                .name("app")
                .image(format!("{REPO}:{tag}"))
                .network_bindings(
                    NetworkBinding::builder()
                        .host_port(port)
                        .container_port(8080)
                        .build(),
                )
                .set_exit_code(stopped.map(|_| 1))
                .build(),
        )
        .build()
}

fn service_rules(rollouts: Vec<DeploymentRolloutState>) -> Vec<Rule> {
    let calls = Arc::new(AtomicUsize::new(0));
    let describe = mock!(aws_sdk_ecs::Client::describe_services)
        .match_requests(|r| r.cluster() == Some(CLUSTER) && r.services() == [SERVICE_ARN])
        .then_compute_output(move |_| {
            let n = calls.fetch_add(1, Ordering::SeqCst).min(rollouts.len() - 1);
            services(rollouts[n].clone())
        });
    let td = mock!(aws_sdk_ecs::Client::describe_task_definition).then_compute_output(|r| {
        let (arn, tag) = if r.task_definition() == Some(TD_NEW) {
            (TD_NEW, TAG)
        } else {
            (TD_OLD, OLD_TAG)
        };
        DescribeTaskDefinitionOutput::builder()
            .task_definition(
                TaskDefinition::builder()
                    .task_definition_arn(arn)
                    .container_definitions(
                        ContainerDefinition::builder()
                            .name("app")
                            .image(format!("{REPO}:{tag}"))
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let list_running = mock!(aws_sdk_ecs::Client::list_tasks)
        .match_requests(|r| r.desired_status() == Some(&DesiredStatus::Running))
        .then_output(|| {
            ListTasksOutput::builder()
                .task_arns("arn:aws:ecs:ap-northeast-1:123456789012:task/c/1a2b3c4d5e6f")
                .task_arns("arn:aws:ecs:ap-northeast-1:123456789012:task/c/2b3c4d5e6f7a")
                .task_arns("arn:aws:ecs:ap-northeast-1:123456789012:task/c/9f8e7d6c5b4a")
                .build()
        });
    let list_stopped = mock!(aws_sdk_ecs::Client::list_tasks)
        .match_requests(|r| r.desired_status() == Some(&DesiredStatus::Stopped))
        .then_output(|| {
            ListTasksOutput::builder()
                .task_arns("arn:aws:ecs:ap-northeast-1:123456789012:task/c/0badc0ffee00")
                .build()
        });
    let describe_tasks = mock!(aws_sdk_ecs::Client::describe_tasks).then_compute_output(|r| {
        let stopped = r.tasks().iter().any(|t| t.ends_with("0badc0ffee00"));
        let mut out = DescribeTasksOutput::builder();
        if stopped {
            out = out.tasks(task(
                "0badc0ffee00",
                TD_NEW,
                TAG,
                "ci-2",
                32771,
                HealthStatus::from("UNKNOWN"),
                Some("Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/sample-dev-tg/0123456789abcdef)"),
            ));
        } else {
            out = out
                .tasks(task("1a2b3c4d5e6f", TD_OLD, OLD_TAG, "ci-1", 32768, HealthStatus::Healthy, None))
                .tasks(task("2b3c4d5e6f7a", TD_OLD, OLD_TAG, "ci-2", 32769, HealthStatus::Healthy, None))
                .tasks(task("9f8e7d6c5b4a", TD_NEW, TAG, "ci-1", 32770, HealthStatus::Unhealthy, None));
        }
        out.build()
    });
    let list_instances = mock!(aws_sdk_ecs::Client::list_container_instances).then_output(|| {
        ListContainerInstancesOutput::builder()
            .container_instance_arns(format!(
                "arn:aws:ecs:ap-northeast-1:123456789012:container-instance/{CLUSTER}/ci-1"
            ))
            .container_instance_arns(format!(
                "arn:aws:ecs:ap-northeast-1:123456789012:container-instance/{CLUSTER}/ci-2"
            ))
            .build()
    });
    let describe_instances = mock!(aws_sdk_ecs::Client::describe_container_instances).then_output(|| {
        let ci = |id: &str, ec2: &str, zone: &str, running: i32| {
            ContainerInstance::builder()
                .container_instance_arn(format!(
                    "arn:aws:ecs:ap-northeast-1:123456789012:container-instance/{CLUSTER}/{id}"
                ))
                .ec2_instance_id(ec2)
                .status("ACTIVE")
                .agent_connected(true)
                .running_tasks_count(running)
                .pending_tasks_count(0)
                .capacity_provider_name("sample-dev-cp")
                .attributes(
                    Attribute::builder()
                        .name("ecs.instance-type")
                        .value("t3.small")
                        .build()
                        .unwrap(),
                )
                .attributes(
                    Attribute::builder()
                        .name("ecs.availability-zone")
                        .value(zone)
                        .build()
                        .unwrap(),
                )
                .build()
        };
        DescribeContainerInstancesOutput::builder()
            .container_instances(ci("ci-1", "i-0aaaaaaaaaaaaaaa1", "ap-northeast-1a", 2))
            .container_instances(ci("ci-2", "i-0bbbbbbbbbbbbbbb2", "ap-northeast-1c", 1))
            .build()
    });
    let providers = mock!(aws_sdk_ecs::Client::describe_capacity_providers).then_output(|| {
        DescribeCapacityProvidersOutput::builder()
            .capacity_providers(
                CapacityProvider::builder()
                    .name("sample-dev-cp")
                    .status(aws_sdk_ecs::types::CapacityProviderStatus::Active)
                    .auto_scaling_group_provider(
                        AutoScalingGroupProvider::builder()
                            .auto_scaling_group_arn("arn:aws:autoscaling:ap-northeast-1:123456789012:autoScalingGroup:1:autoScalingGroupName/sample-dev-asg")
                            .managed_scaling(
                                ManagedScaling::builder()
                                    .status(ManagedScalingStatus::Enabled)
                                    .target_capacity(100)
                                    .build(),
                            )
                            .managed_draining(ManagedDraining::Enabled)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .build()
    });
    vec![
        describe,
        td,
        list_running,
        list_stopped,
        describe_tasks,
        list_instances,
        describe_instances,
        providers,
    ]
}

fn target_health() -> Rule {
    mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_health)
        .match_requests(|r| r.target_group_arn() == Some(TG_ARN))
        .then_output(|| {
            let t = |id: &str,
                     port: i32,
                     state: TargetHealthStateEnum,
                     reason: Option<TargetHealthReasonEnum>,
                     description: Option<&str>| {
                TargetHealthDescription::builder()
                    .target(TargetDescription::builder().id(id).port(port).build())
                    .target_health(
                        TargetHealth::builder()
                            .state(state)
                            .set_reason(reason)
                            .set_description(description.map(str::to_owned))
                            .build(),
                    )
                    .build()
            };
            DescribeTargetHealthOutput::builder()
                .target_health_descriptions(t(
                    "i-0aaaaaaaaaaaaaaa1",
                    32768,
                    TargetHealthStateEnum::Healthy,
                    None,
                    None,
                ))
                .target_health_descriptions(t(
                    "i-0bbbbbbbbbbbbbbb2",
                    32769,
                    TargetHealthStateEnum::Draining,
                    Some(TargetHealthReasonEnum::DeregistrationInProgress),
                    Some("Target deregistration is in progress"),
                ))
                .target_health_descriptions(t(
                    "i-0aaaaaaaaaaaaaaa1",
                    32770,
                    TargetHealthStateEnum::Unhealthy,
                    Some(TargetHealthReasonEnum::ResponseCodeMismatch),
                    Some("Health checks failed with these codes: [503]"),
                ))
                .build()
        })
}

fn alarms() -> Rule {
    mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .match_requests(|r| r.alarm_names() == ["sample-dev-target-5xx", "sample-dev-unhealthy-targets"])
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(
                    MetricAlarm::builder()
                        .alarm_name("sample-dev-target-5xx")
                        .state_value(StateValue::Ok)
                        .state_reason("Threshold Crossed: no datapoints were received for 3 periods")
                        .state_updated_timestamp(at(-3600))
                        .build(),
                )
                .metric_alarms(
                    MetricAlarm::builder()
                        .alarm_name("sample-dev-unhealthy-targets")
                        .state_value(StateValue::Alarm)
                        .state_reason("Threshold Crossed: 1 datapoint [1.0 (28/11/26 05:28:00)] was greater than the threshold (0.0).")
                        .state_updated_timestamp(at(250))
                        .build(),
                )
                .build()
        })
}

fn service_mocks(rollouts: Vec<DeploymentRolloutState>) -> (Mocks, Vec<Rule>) {
    let ecs_rules = service_rules(rollouts);
    let cfn_rule = stack_resources();
    let tg = target_health();
    let cw = alarms();
    let mut m = Mocks::none();
    m.ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &ecs_rules);
    m.cfn = mock_client!(aws_sdk_cloudformation, [&cfn_rule]);
    m.elb = mock_client!(aws_sdk_elasticloadbalancingv2, RuleMode::MatchAny, [&tg]);
    m.cloudwatch = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&cw]);
    let mut rules = ecs_rules;
    rules.extend([cfn_rule, tg, cw]);
    (m, rules)
}

#[tokio::test]
async fn service_status_during_a_rollout_with_an_unhealthy_target() {
    let (m, _rules) = service_mocks(vec![DeploymentRolloutState::InProgress]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::service::status(ctx, false, 8, false))
    })
    .await;
    assert_eq!(ran.code(), Code::Ok, "{}", ran.all());
    let out = &ran.out;
    let flat = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    let lines: Vec<String> = out.lines().map(flat).collect();
    let has = |needle: &str| {
        assert!(
            lines.iter().any(|l| l.contains(needle)),
            "{needle:?} missing:\n{out}"
        );
    };
    has(
        "service sample-dev-service-Service-XyZ (cluster sample-dev-Cluster-AbC, stage dev): ACTIVE, 2 desired, 3 running, 0 pending",
    );
    has("ecs-svc/2 PRIMARY IN_PROGRESS sample-dev:13 5e1f0c2d9a4b 2 1 0 1 2026-11-28 05:29:01Z");
    has("ecs-svc/1 ACTIVE COMPLETED sample-dev:12 4b825dc642cb 2 2 0 0");
    has("ecs-svc/2: ECS deployment ecs-svc/2 in progress.");
    // Tasks: instance and host port, image tag, health; the stopped one and why.
    has("9f8e7d6c5b4a RUNNING UNHEALTHY i-0aaaaaaaaaaaaaaa1:32770 5e1f0c2d9a4b sample-dev:13");
    has("1a2b3c4d5e6f RUNNING HEALTHY i-0aaaaaaaaaaaaaaa1:32768 4b825dc642cb sample-dev:12");
    has(
        "0badc0ffee00 STOPPED UNKNOWN i-0bbbbbbbbbbbbbbb2:32771 5e1f0c2d9a4b sample-dev:13 2026-11-28 05:25:41Z stopped: Task failed ELB health checks in (target-group",
    );
    // Targets: each with its task and the load balancer's reason.
    has("targets (target group sample-dev-tg):");
    has(
        "i-0aaaaaaaaaaaaaaa1:32770 unhealthy 9f8e7d6c5b4a Target.ResponseCodeMismatch: Health checks failed with these codes: [503]",
    );
    has(
        "i-0bbbbbbbbbbbbbbb2:32769 draining 2b3c4d5e6f7a Target.DeregistrationInProgress: Target deregistration is in progress",
    );
    has("i-0aaaaaaaaaaaaaaa1:32768 healthy 1a2b3c4d5e6f");
    // Instances through the capacity provider.
    has(
        "instances (capacity provider sample-dev-cp: ACTIVE, group sample-dev-asg, managed scaling ENABLED at 100%, managed draining ENABLED):",
    );
    has("i-0aaaaaaaaaaaaaaa1 ACTIVE connected 2 running, 0 pending t3.small ap-northeast-1a");
    // The deployment alarms.
    has("deployment alarms (an alarm rolls the deployment back):");
    has("sample-dev-unhealthy-targets ALARM 2026-11-28 05:28:11Z Threshold Crossed: 1 datapoint");
    has("sample-dev-target-5xx OK");
    has(
        "2026-11-28 05:28:51Z (service sample-dev-service-Service-XyZ) has started 1 tasks: (task 9f8e7d6c5b4a).",
    );
}

#[tokio::test]
async fn service_status_watch_refreshes_until_the_rollout_ends() {
    // In progress, then complete: exit 0, two snapshots.
    let (m, _rules) = service_mocks(vec![
        DeploymentRolloutState::InProgress,
        DeploymentRolloutState::Completed,
    ]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::service::status(ctx, true, 8, false))
    })
    .await;
    assert_eq!(ran.code(), Code::Ok, "{}", ran.all());
    assert_eq!(ran.out.matches("deployments:").count(), 2, "{}", ran.out);
    assert!(
        ran.err
            .contains("a rollout is in progress: refreshing until it ends"),
        "{}",
        ran.err
    );
    assert!(ran.err.contains("the rollout is complete"), "{}", ran.err);

    // Failed: exit 4 with the reason, the stopped tasks and the unhealthy targets.
    let (m, _rules) = service_mocks(vec![
        DeploymentRolloutState::InProgress,
        DeploymentRolloutState::Failed,
    ]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::service::status(ctx, true, 8, false))
    })
    .await;
    assert_eq!(ran.result.unwrap_err().code, Code::StackFailed);
    let err = &ran.err;
    assert!(
        err.contains("the rollout failed: ECS deployment circuit breaker: tasks failed to start."),
        "{err}"
    );
    assert!(
        err.contains("task 0badc0ffee00: Task failed ELB health checks"),
        "{err}"
    );
    assert!(
        err.contains("target i-0aaaaaaaaaaaaaaa1: Health checks failed with these codes: [503]"),
        "{err}"
    );

    // JSON for machines: one document per refresh.
    let (m, _rules) = service_mocks(vec![DeploymentRolloutState::Completed]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::service::status(ctx, false, 8, true))
    })
    .await;
    assert_eq!(ran.result.unwrap(), Code::Ok);
    let v: serde_json::Value = serde_json::from_str(ran.out.trim()).unwrap();
    assert_eq!(v["deployments"][0]["rollout_state"], "COMPLETED");
    assert_eq!(v["targets"][2]["state"], "unhealthy");
    assert_eq!(v["alarms"][1]["state"], "ALARM");
}

#[tokio::test]
async fn service_status_without_a_service_says_which_command_creates_it() {
    let missing = mock!(aws_sdk_cloudformation::Client::describe_stack_resources)
        .sequence()
        .http_status(
            400,
            Some(
                "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id sample-dev-service does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>"
                    .to_owned(),
            ),
        )
        .build();
    let mut m = Mocks::none();
    m.cfn = mock_client!(aws_sdk_cloudformation, [&missing]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(berth_aws::service::status(ctx, false, 8, false))
    })
    .await;
    let f = ran.result.unwrap_err();
    assert_eq!(f.code, Code::Error);
    assert_eq!(
        f.error.to_string(),
        "stage dev has no service yet (no stack sample-dev-service with a cluster and a service): `cargo xtask deploy service --stage dev --image-tag TAG` creates it, or the pipeline's first run"
    );
}

// ---- logs ----------------------------------------------------------------------------------------

fn log_event(id: &str, offset_ms: i64, message: &str) -> FilteredLogEvent {
    FilteredLogEvent::builder()
        .event_id(id)
        .log_stream_name("app/app/0123456789abcdef0123456789abcdef")
        .timestamp(T0 * 1000 + offset_ms)
        .message(message)
        .build()
}

fn flags(follow: bool) -> LogFlags {
    LogFlags {
        stage: "dev".to_owned(),
        follow,
        // Four minutes before the scripted lines.
        since: Some("2026-11-28T05:20:00Z".to_owned()),
        filter: None,
        raw: false,
    }
}

#[tokio::test]
async fn logs_service_pages_follows_and_stops_on_ctrl_c() {
    let interrupt = Interrupt::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let (i2, c2) = (interrupt.clone(), calls.clone());
    let filter = mock!(aws_sdk_cloudwatchlogs::Client::filter_log_events).then_compute_output(move |r| {
        assert_eq!(r.log_group_name(), Some("/berth/sample/dev/service"));
        let n = c2.fetch_add(1, Ordering::SeqCst);
        let out = FilterLogEventsOutput::builder();
        match n {
            // The first look: two pages.
            0 => {
                assert!(r.next_token().is_none());
                out.events(log_event("1", 0, r#"{"ts":"2026-11-28T05:24:01.000Z","level":"info","msg":"listening","address":"0.0.0.0:8080","image_tag":"5e1f0c2d9a4b"}"#))
                    .events(log_event("2", 5, r#"{"ts":"2026-11-28T05:24:01.005Z","level":"info","msg":"secrets","present":["DB_PASSWORD"],"missing":[]}"#))
                    .next_token("page-2")
                    .build()
            }
            1 => {
                assert_eq!(r.next_token(), Some("page-2"));
                out.events(log_event("3", 900, r#"{"ts":"2026-11-28T05:24:01.900Z","level":"warn","msg":"slow request","path":"/slow","ms":1500}"#))
                    .build()
            }
            // Following: from the newest line's time, which comes again and is not printed twice.
            2 => {
                assert_eq!(r.start_time(), Some(T0 * 1000 + 900));
                out.events(log_event("3", 900, r#"{"ts":"2026-11-28T05:24:01.900Z","level":"warn","msg":"slow request","path":"/slow","ms":1500}"#))
                    .events(log_event("4", 2000, "panicked at src/server.rs:120: not JSON\n"))
                    .build()
            }
            // Nothing new; then Ctrl-C.
            _ => {
                if n == 4 {
                    i2.fire();
                }
                out.build()
            }
        }
    });
    let mut m = Mocks::none();
    m.logs = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&filter]);
    let ran = run(m.clients(), None, interrupt, |ctx| {
        Box::pin(async move { berth_aws::logs::service(ctx, &flags(true)).await })
    })
    .await;
    assert_eq!(ran.result.unwrap_err().code, Code::Interrupted);
    assert_eq!(
        ran.out,
        "2026-11-28 05:24:01.000  INFO   01234567  listening  address=0.0.0.0:8080 image_tag=5e1f0c2d9a4b\n\
         2026-11-28 05:24:01.005  INFO   01234567  secrets  missing=[] present=[\"DB_PASSWORD\"]\n\
         2026-11-28 05:24:01.900  WARN   01234567  slow request  ms=1500 path=/slow\n\
         2026-11-28 05:24:03.000  -      01234567  panicked at src/server.rs:120: not JSON\n"
    );
    assert!(
        ran.err.contains("stopped following /berth/sample/dev/service"),
        "{}",
        ran.err
    );
    assert!(calls.load(Ordering::SeqCst) >= 5);

    // Raw, filtered, without --follow: the lines as logged that contain the text.
    let filter = mock!(aws_sdk_cloudwatchlogs::Client::filter_log_events).then_output(|| {
        FilterLogEventsOutput::builder()
            .events(log_event("1", 0, "{\"level\":\"info\",\"msg\":\"listening\"}\n"))
            .events(log_event(
                "2",
                1,
                "{\"level\":\"warn\",\"msg\":\"slow request\"}\n",
            ))
            .build()
    });
    let mut m = Mocks::none();
    m.logs = mock_client!(aws_sdk_cloudwatchlogs, [&filter]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(async move {
            let f = LogFlags {
                raw: true,
                filter: Some("slow".to_owned()),
                ..flags(false)
            };
            berth_aws::logs::service(ctx, &f).await
        })
    })
    .await;
    assert_eq!(ran.result.unwrap(), Code::Ok);
    assert_eq!(ran.out, "{\"level\":\"warn\",\"msg\":\"slow request\"}\n");
}

#[tokio::test]
async fn logs_build_prints_the_latest_builds_log_page_by_page() {
    let list = mock!(aws_sdk_codebuild::Client::list_builds_for_project)
        .match_requests(|r| r.project_name() == Some("sample-dev"))
        .then_output(|| {
            ListBuildsForProjectOutput::builder()
                .ids("sample-dev:b9")
                .ids("sample-dev:b8")
                .build()
        });
    let builds = mock!(aws_sdk_codebuild::Client::batch_get_builds)
        .match_requests(|r| r.ids() == ["sample-dev:b9"])
        .then_output(|| {
            let mut b = failed_build("sample-dev:b9");
            b.logs = Some(
                LogsLocation::builder()
                    .group_name("/aws/codebuild/sample-dev")
                    .stream_name("b9")
                    .build(),
            );
            BatchGetBuildsOutput::builder().builds(b).build()
        });
    let pages = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events)
        .sequence()
        .output(|| {
            GetLogEventsOutput::builder()
                .events(
                    OutputLogEvent::builder()
                        .timestamp(T0 * 1000)
                        .message("[Container] Entering phase PRE_BUILD\n")
                        .build(),
                )
                .next_forward_token("f/1")
                .build()
        })
        .output(|| {
            GetLogEventsOutput::builder()
                .events(
                    OutputLogEvent::builder()
                        .timestamp(T0 * 1000 + 1)
                        .message("[Container] Phase complete: BUILD State: FAILED\n")
                        .build(),
                )
                .next_forward_token("f/2")
                .build()
        })
        .output(|| GetLogEventsOutput::builder().next_forward_token("f/2").build())
        .build();
    let mut m = Mocks::none();
    m.build = mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, [&list, &builds]);
    m.logs = mock_client!(aws_sdk_cloudwatchlogs, [&pages]);
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(async move {
            let f = LogFlags {
                since: None,
                ..flags(false)
            };
            berth_aws::logs::build(ctx, &f, None).await
        })
    })
    .await;
    assert_eq!(ran.code(), Code::Ok, "{}", ran.all());
    assert_eq!(
        ran.out,
        "[Container] Entering phase PRE_BUILD\n[Container] Phase complete: BUILD State: FAILED\n"
    );
    assert!(
        ran.err
            .contains("build sample-dev:b9 (#42): FAILED, started 2026-11-28 05:24:13Z"),
        "{}",
        ran.err
    );
    assert!(
        ran.err
            .contains("build sample-dev:b9: FAILED: phase BUILD failed: COMMAND_EXECUTION_ERROR"),
        "{}",
        ran.err
    );
    assert_eq!(pages.num_calls(), 3);
}

// ---- drift, drift-aware change sets, early validation ---------------------------------------------

fn stable_stack() -> Rule {
    mock!(aws_sdk_cloudformation::Client::describe_stacks).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(
                aws_sdk_cloudformation::types::Stack::builder()
                    .stack_name(SERVICE_STACK)
                    .stack_id(STACK_ID)
                    .stack_status(aws_sdk_cloudformation::types::StackStatus::UpdateComplete)
                    .creation_time(at(-86_400))
                    .build(),
            )
            .build()
    })
}

#[tokio::test]
async fn drift_shows_each_drifted_resource_property_by_property() {
    use aws_sdk_cloudformation::types::{
        DifferenceType, PropertyDifference, StackDriftDetectionStatus, StackDriftStatus, StackResourceDrift,
        StackResourceDriftStatus,
    };
    let detect = mock!(aws_sdk_cloudformation::Client::detect_stack_drift)
        .match_requests(|r| r.stack_name() == Some(SERVICE_STACK))
        .then_output(|| {
            DetectStackDriftOutput::builder()
                .stack_drift_detection_id("d-1")
                .build()
        });
    let status = mock!(aws_sdk_cloudformation::Client::describe_stack_drift_detection_status)
        .sequence()
        .output(|| {
            DescribeStackDriftDetectionStatusOutput::builder()
                .stack_id(STACK_ID)
                .stack_drift_detection_id("d-1")
                .detection_status(StackDriftDetectionStatus::DetectionInProgress)
                .timestamp(at(0))
                .build()
        })
        .output(|| {
            DescribeStackDriftDetectionStatusOutput::builder()
                .stack_id(STACK_ID)
                .stack_drift_detection_id("d-1")
                .detection_status(StackDriftDetectionStatus::DetectionComplete)
                .stack_drift_status(StackDriftStatus::Drifted)
                .drifted_stack_resource_count(2)
                .timestamp(at(5))
                .build()
        })
        .build();
    let drifts = mock!(aws_sdk_cloudformation::Client::describe_stack_resource_drifts)
        .match_requests(|r| {
            r.stack_resource_drift_status_filters()
                == [
                    StackResourceDriftStatus::Modified,
                    StackResourceDriftStatus::Deleted,
                ]
        })
        .then_output(|| {
            let diff = |path: &str, kind: DifferenceType, expected: &str, actual: &str| {
                PropertyDifference::builder()
                    .property_path(path)
                    .difference_type(kind)
                    .expected_value(expected)
                    .actual_value(actual)
                    .build()
            };
            DescribeStackResourceDriftsOutput::builder()
                .stack_resource_drifts(
                    StackResourceDrift::builder()
                        .stack_id(STACK_ID)
                        .logical_resource_id("TaskDefinition")
                        .physical_resource_id(
                            "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/sample-dev:13",
                        )
                        .resource_type("AWS::ECS::TaskDefinition")
                        .stack_resource_drift_status(StackResourceDriftStatus::Modified)
                        .property_differences(diff(
                            "/ContainerDefinitions/0/Memory",
                            DifferenceType::NotEqual,
                            "2048",
                            "4096",
                        ))
                        .timestamp(at(5))
                        .build(),
                )
                .stack_resource_drifts(
                    StackResourceDrift::builder()
                        .stack_id(STACK_ID)
                        .logical_resource_id("InstanceSecurityGroup")
                        .physical_resource_id("sg-0123456789abcdef0")
                        .resource_type("AWS::EC2::SecurityGroup")
                        .stack_resource_drift_status(StackResourceDriftStatus::Modified)
                        .property_differences(diff(
                            "/SecurityGroupIngress/1",
                            DifferenceType::Add,
                            "",
                            r#"{"CidrIp":"0.0.0.0/0","FromPort":22,"IpProtocol":"tcp","ToPort":22}"#,
                        ))
                        .timestamp(at(5))
                        .build(),
                )
                .build()
        });
    let mut m = Mocks::none();
    m.cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&stable_stack(), &detect, &status, &drifts]
    );
    let ran = run(m.clients(), None, Interrupt::default(), |ctx| {
        Box::pin(async move {
            let drifted = berth_aws::drift::run(ctx, pipeline_model::Stack::Service, false).await?;
            Ok(if drifted { Code::Changes } else { Code::Ok })
        })
    })
    .await;
    assert_eq!(ran.code(), Code::Changes, "{}", ran.all());
    assert_eq!(
        ran.out,
        "sample-dev-service: DRIFTED: 2 resources drifted\n\
         \x20 InstanceSecurityGroup (AWS::EC2::SecurityGroup) sg-0123456789abcdef0: MODIFIED\n\
         \x20   /SecurityGroupIngress/1 (ADD)\n\
         \x20     expected: (not set)\n\
         \x20     actual:   {\"CidrIp\":\"0.0.0.0/0\",\"FromPort\":22,\"IpProtocol\":\"tcp\",\"ToPort\":22}\n\
         \x20 TaskDefinition (AWS::ECS::TaskDefinition) arn:aws:ecs:ap-northeast-1:123456789012:task-definition/sample-dev:13: MODIFIED\n\
         \x20   /ContainerDefinitions/0/Memory (NOT_EQUAL)\n\
         \x20     expected: 2048\n\
         \x20     actual:   4096\n"
    );
    assert!(
        ran.err.contains("hint: `cargo xtask diff service --stage dev --revert-drift` shows the change set that brings them back"),
        "{}",
        ran.err
    );
}

fn env<'a>(
    cfn: &'a aws_sdk_cloudformation::Client,
    s3: &'a aws_sdk_s3::Client,
    printer: &'a Printer,
    confirm: &'a Answer,
    interrupt: &'a Interrupt,
) -> berth_aws::deploy::Env<'a> {
    berth_aws::deploy::Env {
        cfn,
        s3,
        printer,
        confirm,
        pacing: Pacing::NONE,
        interrupt,
        endpoint: None,
        region: "ap-northeast-1".to_owned(),
    }
}

fn request() -> berth_aws::deploy::Request {
    berth_aws::deploy::Request {
        stack_name: SERVICE_STACK.to_owned(),
        template_body: "AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n".to_owned(),
        template: serde_json::json!({"Resources": {}}),
        parameters: vec![(
            "ImageTag".to_owned(),
            berth_aws::changeset::ParamValue::UsePrevious,
        )],
        tags: Default::default(),
        role_arn: None,
        description: "test".to_owned(),
    }
}

#[tokio::test]
async fn diff_revert_drift_shows_the_drift_aware_change_set() {
    use aws_sdk_cloudformation::types::{
        Change, ChangeAction, ChangeSetStatus, DeploymentMode, LiveResourceDrift, ResourceAttribute,
        ResourceChange, ResourceChangeDetail, ResourceTargetDefinition, StackResourceDriftStatus,
    };
    let create = mock!(aws_sdk_cloudformation::Client::create_change_set)
        .match_requests(|r| r.deployment_mode() == Some(&DeploymentMode::RevertDrift))
        .then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let describe = mock!(aws_sdk_cloudformation::Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::CreateComplete)
            .stack_id(STACK_ID)
            .changes(
                Change::builder()
                    .resource_change(
                        ResourceChange::builder()
                            .action(ChangeAction::Modify)
                            .logical_resource_id("InstanceSecurityGroup")
                            .resource_type("AWS::EC2::SecurityGroup")
                            .replacement(aws_sdk_cloudformation::types::Replacement::False)
                            .scope(ResourceAttribute::Properties)
                            .resource_drift_status(StackResourceDriftStatus::Modified)
                            .details(
                                ResourceChangeDetail::builder()
                                    .target(
                                        ResourceTargetDefinition::builder()
                                            .attribute(ResourceAttribute::Properties)
                                            .name("SecurityGroupIngress")
                                            .path("/Properties/SecurityGroupIngress")
                                            .before_value(r#"[{"FromPort":32768,"ToPort":65535}]"#)
                                            .after_value(r#"[{"FromPort":32768,"ToPort":65535}]"#)
                                            .drift(
                                                LiveResourceDrift::builder()
                                                    .previous_value(r#"[{"FromPort":32768,"ToPort":65535}]"#)
                                                    .actual_value(r#"[{"FromPort":22,"ToPort":22},{"FromPort":32768,"ToPort":65535}]"#)
                                                    .build(),
                                            )
                                            .build(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .changes(
                Change::builder()
                    .resource_change(
                        ResourceChange::builder()
                            .action(ChangeAction::Modify)
                            .logical_resource_id("Service")
                            .resource_type("AWS::ECS::Service")
                            .replacement(aws_sdk_cloudformation::types::Replacement::False)
                            .scope(ResourceAttribute::Properties)
                            .resource_drift_status(StackResourceDriftStatus::InSync)
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let delete = mock!(aws_sdk_cloudformation::Client::delete_change_set)
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&stable_stack(), &create, &describe, &delete]
    );
    let s3 = mock_client!(aws_sdk_s3, no_rules());
    let (printer, out, err) = Printer::capture();
    let (confirm, interrupt) = (Answer(None), Interrupt::default());
    let changes = berth_aws::commands::diff(
        &env(&cfn, &s3, &printer, &confirm, &interrupt),
        &request(),
        true,
        true,
    )
    .await
    .unwrap();
    assert!(changes);
    assert_eq!((create.num_calls(), delete.num_calls()), (1, 1));
    let err = err.text();
    let flat: Vec<String> = err
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(
        flat.contains(&"Action Logical ID Type Replacement Drift Scope".to_owned()),
        "{err}"
    );
    assert!(
        flat.contains(
            &"Modify InstanceSecurityGroup AWS::EC2::SecurityGroup False MODIFIED <- reverted Properties"
                .to_owned()
        ),
        "{err}"
    );
    assert!(
        flat.contains(&"Modify Service AWS::ECS::Service False IN_SYNC Properties".to_owned()),
        "{err}"
    );
    assert!(
        err.contains("  InstanceSecurityGroup drifted; the change set brings back:\n    /Properties/SecurityGroupIngress: live [{\"FromPort\":22,\"ToPort\":22},{\"FromPort\":32768,\"ToPort\":65535}] -> [{\"FromPort\":32768,\"ToPort\":65535}]"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_str(out.text().trim()).unwrap();
    assert_eq!(v["changes"][0]["drift"], "MODIFIED");
}

#[tokio::test]
async fn a_change_set_refused_by_early_validation_prints_its_errors() {
    use aws_sdk_cloudformation::types::ChangeSetStatus;
    let create = mock!(aws_sdk_cloudformation::Client::create_change_set)
        .match_requests(|r| r.deployment_mode().is_none())
        .then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let describe = mock!(aws_sdk_cloudformation::Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::Failed)
            .stack_id(STACK_ID)
            .status_reason("The following hook(s)/validation failed: [AWS::EarlyValidation::ResourceExistenceCheck, AWS::EarlyValidation::PropertyValidation]. To troubleshoot Early Validation errors, use the DescribeEvents API for detailed failure information.")
            .build()
    });
    let events = mock!(aws_sdk_cloudformation::Client::describe_events)
        .match_requests(|r| {
            r.stack_name() == Some(SERVICE_STACK) && r.filters().and_then(|f| f.failed_events) == Some(true)
        })
        .then_output(two_validation_errors);
    let delete = mock!(aws_sdk_cloudformation::Client::delete_change_set)
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&stable_stack(), &create, &describe, &events, &delete]
    );
    let s3 = mock_client!(aws_sdk_s3, no_rules());
    let (printer, _out, _err) = Printer::capture();
    let (confirm, interrupt) = (Answer(None), Interrupt::default());
    let f = berth_aws::commands::diff(
        &env(&cfn, &s3, &printer, &confirm, &interrupt),
        &request(),
        false,
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(f.code, Code::Error);
    let e = f.error.to_string();
    assert!(e.starts_with("change set berth-"), "{e}");
    assert!(
        e.contains("failed: The following hook(s)/validation failed"),
        "the status reason stays: {e}"
    );
    assert!(
        e.contains(
            "\n  CloudFormation's validation found 2 errors:\n    LogGroup (AWS::Logs::LogGroup) at /Resources/LogGroup/Properties/LogGroupName: NAME_CONFLICT_VALIDATION: Resource of type 'AWS::Logs::LogGroup' with identifier '/berth/sample/dev/service' already exists.\n    TaskDefinition (AWS::ECS::TaskDefinition) at /Resources/TaskDefinition/Properties/Cpu: PROPERTY_VALIDATION: #/Cpu: expected type: String, found: Integer"
        ),
        "{e}"
    );
    assert_eq!(delete.num_calls(), 1, "diff leaves no change set behind");
}

/// The diff is printed whole even when its change set cannot be deleted afterwards; the command then
/// fails naming the change set left behind and how to delete it.
#[tokio::test]
async fn a_diff_whose_change_set_cannot_be_deleted_says_so_after_the_diff() {
    use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetError;
    use aws_sdk_cloudformation::types::error::InvalidChangeSetStatusException;
    use aws_sdk_cloudformation::types::{
        Change, ChangeAction, ChangeSetStatus, ResourceAttribute, ResourceChange,
    };
    let create = mock!(aws_sdk_cloudformation::Client::create_change_set)
        .then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let describe = mock!(aws_sdk_cloudformation::Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::CreateComplete)
            .stack_id(STACK_ID)
            .changes(
                Change::builder()
                    .resource_change(
                        ResourceChange::builder()
                            .action(ChangeAction::Modify)
                            .logical_resource_id("Service")
                            .resource_type("AWS::ECS::Service")
                            .replacement(aws_sdk_cloudformation::types::Replacement::False)
                            .scope(ResourceAttribute::Properties)
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let delete = mock!(aws_sdk_cloudformation::Client::delete_change_set).then_error(|| {
        DeleteChangeSetError::InvalidChangeSetStatusException(
            InvalidChangeSetStatusException::builder()
                .message("Cannot delete ChangeSet in status EXECUTE_IN_PROGRESS")
                .build(),
        )
    });
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&stable_stack(), &create, &describe, &delete]
    );
    let s3 = mock_client!(aws_sdk_s3, no_rules());
    let (printer, _out, err) = Printer::capture();
    let (confirm, interrupt) = (Answer(None), Interrupt::default());
    let f = berth_aws::commands::diff(
        &env(&cfn, &s3, &printer, &confirm, &interrupt),
        &request(),
        false,
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(f.code, Code::Error);
    let shown = err.text();
    assert!(
        shown.contains("Modify") && shown.contains("Service"),
        "the diff is printed first: {shown}"
    );
    let e = format!("{:#}", f.error);
    assert!(
        e.starts_with("the diff above is complete, but change set berth-")
            && e.contains("could not be deleted and is left on sample-dev-service")
            && e.contains("hint: delete it with `aws cloudformation delete-change-set --stack-name sample-dev-service --change-set-name berth-"),
        "{e}"
    );
    assert_eq!(delete.num_calls(), 1);
}
