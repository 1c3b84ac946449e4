//! The deploy state machine against scripted CloudFormation responses (aws-smithy-mocks): what AWS
//! does that the emulators do not (in-progress polls, per-resource events, rollbacks, throttling).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::continue_update_rollback::ContinueUpdateRollbackOutput;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::list_change_sets::ListChangeSetsOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ChangeSetSummary, ChangeSetType, Output, Replacement,
    ResourceChange, ResourceStatus, Stack, StackEvent, StackStatus,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use berth_aws::changeset::ParamValue;
use berth_aws::deploy::{Env, Options, Outcome, Request, deploy};
use berth_aws::exit::Code;
use berth_aws::follow::{Interrupt, Pacing, Progress};
use berth_aws::output::{Captured, Printer};
use berth_aws::prompt::Answer;

const STACK: &str = "sample-dev-service";
const STACK_ID: &str = "arn:aws:cloudformation:ap-northeast-1:123456789012:stack/sample-dev-service/1";

fn stack(status: StackStatus) -> Stack {
    Stack::builder()
        .stack_name(STACK)
        .stack_id(STACK_ID)
        .stack_status(status)
        .creation_time(DateTime::from_secs(0))
        .build()
}

fn stacks(status: StackStatus) -> DescribeStacksOutput {
    DescribeStacksOutput::builder().stacks(stack(status)).build()
}

fn with_outputs(status: StackStatus) -> DescribeStacksOutput {
    let s = Stack::builder()
        .stack_name(STACK)
        .stack_id(STACK_ID)
        .stack_status(status)
        .creation_time(DateTime::from_secs(0))
        .outputs(
            Output::builder()
                .output_key("ServiceUrl")
                .output_value("https://alb.example")
                .build(),
        )
        .build();
    DescribeStacksOutput::builder().stacks(s).build()
}

/// CloudFormation's query-protocol error body.
fn error_xml(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
    )
}

fn missing() -> String {
    error_xml(
        "ValidationError",
        &format!("Stack with id {STACK} does not exist"),
    )
}

fn change(action: ChangeAction, id: &str, ty: &str, replacement: Option<Replacement>) -> Change {
    let mut rc = ResourceChange::builder()
        .action(action)
        .logical_resource_id(id)
        .resource_type(ty);
    if let Some(r) = replacement {
        rc = rc.replacement(r);
    }
    Change::builder().resource_change(rc.build()).build()
}

fn change_set(
    status: ChangeSetStatus,
    changes: Vec<Change>,
    reason: Option<&str>,
) -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .status(status)
        .stack_id(STACK_ID)
        .change_set_name("cs")
        .set_changes(Some(changes))
        .set_status_reason(reason.map(str::to_owned))
        .build()
}

/// An event happening now (events are filtered by the operation's start time).
fn event(id: usize, logical: &str, ty: &str, status: ResourceStatus, reason: Option<&str>) -> StackEvent {
    StackEvent::builder()
        .event_id(format!("e{id}"))
        .stack_id(STACK_ID)
        .stack_name(STACK)
        .logical_resource_id(logical)
        .physical_resource_id(if ty == "AWS::CloudFormation::Stack" {
            STACK_ID.to_owned()
        } else {
            format!("{logical}-phys")
        })
        .resource_type(ty)
        .resource_status(status)
        .set_resource_status_reason(reason.map(str::to_owned))
        .timestamp(DateTime::from(SystemTime::now()))
        .build()
}

/// Pages of events, newest first, each page holding everything so far (as CloudFormation returns them).
fn events_pages(all: Vec<StackEvent>, cut: &[usize]) -> Vec<DescribeStackEventsOutput> {
    cut.iter()
        .map(|&n| {
            let mut page: Vec<StackEvent> = all[..n].to_vec();
            page.reverse();
            DescribeStackEventsOutput::builder()
                .set_stack_events(Some(page))
                .build()
        })
        .collect()
}

fn request(body_len: usize) -> Request {
    let mut body = String::from("AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n");
    while body.len() < body_len {
        body.push_str("# padding\n");
    }
    Request {
        stack_name: STACK.to_owned(),
        template_body: body,
        template: serde_json::json!({"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "x"}}}}),
        parameters: vec![("ImageTag".to_owned(), ParamValue::Value("abc".to_owned()))],
        tags: BTreeMap::from([("app".to_owned(), "sample".to_owned())]),
        role_arn: None,
        description: "test".to_owned(),
    }
}

fn options() -> Options {
    Options {
        yes: true,
        no_execute: false,
        execute: None,
        recreate_failed: false,
        wait: false,
        progress: Progress::Events,
        json: false,
        template_bucket: None,
        execute_hint: "cargo xtask deploy service --stage dev --execute {change_set}".to_owned(),
        watch_hint: "cargo xtask status service --stage dev --watch".to_owned(),
        revert_drift: false,
    }
}

struct Run {
    result: berth_aws::exit::Result<Outcome>,
    out: Captured,
    err: Captured,
}

async fn run_with(
    cfn: &Client,
    s3: &aws_sdk_s3::Client,
    answer: Option<bool>,
    req: &Request,
    opts: &Options,
    interrupt: &Interrupt,
) -> Run {
    let (printer, out, err) = Printer::capture();
    let confirm = Answer(answer);
    let env = Env {
        cfn,
        s3,
        printer: &printer,
        confirm: &confirm,
        pacing: Pacing::NONE,
        interrupt,
        endpoint: None,
        region: "ap-northeast-1".to_owned(),
    };
    let result = deploy(&env, req, opts).await;
    Run { result, out, err }
}

fn no_s3() -> aws_sdk_s3::Client {
    let rule = mock!(aws_sdk_s3::Client::put_object)
        .then_output(|| aws_sdk_s3::operation::put_object::PutObjectOutput::builder().build());
    mock_client!(aws_sdk_s3, [&rule])
}

#[tokio::test]
async fn creates_a_stack_through_in_progress_polls_and_events() {
    let events = vec![
        event(
            1,
            STACK,
            "AWS::CloudFormation::Stack",
            ResourceStatus::CreateInProgress,
            Some("User Initiated"),
        ),
        event(
            2,
            "Bucket",
            "AWS::S3::Bucket",
            ResourceStatus::CreateInProgress,
            None,
        ),
        event(
            3,
            "Role",
            "AWS::IAM::Role",
            ResourceStatus::CreateInProgress,
            None,
        ),
        event(
            4,
            "Bucket",
            "AWS::S3::Bucket",
            ResourceStatus::CreateComplete,
            None,
        ),
        event(5, "Role", "AWS::IAM::Role", ResourceStatus::CreateComplete, None),
        event(
            6,
            STACK,
            "AWS::CloudFormation::Stack",
            ResourceStatus::CreateComplete,
            None,
        ),
    ];
    let pages = events_pages(events, &[2, 4, 6, 6]);
    let describe_stacks = mock!(Client::describe_stacks)
        .sequence()
        .http_status(400, Some(missing()))
        .output(|| stacks(StackStatus::CreateInProgress))
        .output(|| stacks(StackStatus::CreateInProgress))
        .output(|| stacks(StackStatus::CreateComplete))
        .output(|| with_outputs(StackStatus::CreateComplete))
        .repeatedly()
        .build();
    let create = mock!(Client::create_change_set)
        .match_requests(|r| {
            r.change_set_type() == Some(&ChangeSetType::Create)
                && r.capabilities() == [aws_sdk_cloudformation::types::Capability::CapabilityNamedIam]
                && r.tags()
                    .iter()
                    .any(|t| t.key() == Some("app") && t.value() == Some("sample"))
                && r.template_body().is_some()
        })
        .then_output(|| {
            CreateChangeSetOutput::builder()
                .id("cs-id")
                .stack_id(STACK_ID)
                .build()
        });
    let describe_cs = mock!(Client::describe_change_set)
        .sequence()
        .output(|| change_set(ChangeSetStatus::CreatePending, vec![], None))
        .output(|| change_set(ChangeSetStatus::CreateInProgress, vec![], None))
        .output(|| {
            change_set(
                ChangeSetStatus::CreateComplete,
                vec![
                    change(ChangeAction::Add, "Bucket", "AWS::S3::Bucket", None),
                    change(ChangeAction::Add, "Role", "AWS::IAM::Role", None),
                ],
                None,
            )
        })
        .build();
    let execute = mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    // The first read marks the history before the operation: nothing yet.
    let mut seq = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| DescribeStackEventsOutput::builder().build());
    for page in pages {
        seq = seq.output(move || page.clone());
    }
    let events_rule = seq.repeatedly().build();
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe_stacks, &create, &describe_cs, &execute, &events_rule]
    );
    let run = run_with(
        &cfn,
        &no_s3(),
        Some(true),
        &request(100),
        &options(),
        &Interrupt::default(),
    )
    .await;
    assert_eq!(
        run.result.unwrap(),
        Outcome::Deployed {
            status: "CREATE_COMPLETE".to_owned()
        }
    );
    assert_eq!(create.num_calls(), 1);
    assert_eq!(
        describe_cs.num_calls(),
        3,
        "polled through CREATE_PENDING and CREATE_IN_PROGRESS"
    );
    assert_eq!(execute.num_calls(), 1);
    let err = run.err.text();
    // Every event once, in order: (status, logical ID) of each event line.
    let seen: Vec<(String, String)> = err
        .lines()
        .filter(|l| l.as_bytes().get(2) == Some(&b':') && l.as_bytes().get(5) == Some(&b':'))
        .map(|l| {
            let mut f = l.split_whitespace().skip(1);
            (f.next().unwrap().to_owned(), f.next().unwrap().to_owned())
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("CREATE_IN_PROGRESS", STACK),
        ("CREATE_IN_PROGRESS", "Bucket"),
        ("CREATE_IN_PROGRESS", "Role"),
        ("CREATE_COMPLETE", "Bucket"),
        ("CREATE_COMPLETE", "Role"),
        ("CREATE_COMPLETE", STACK),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(seen, expected, "{err}");
    assert!(err.contains("Add     Bucket"), "{err}");
    assert_eq!(run.out.text(), "ServiceUrl = https://alb.example\n");
}

#[tokio::test]
async fn updates_an_existing_stack() {
    let describe_stacks = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks(StackStatus::UpdateComplete))
        .output(|| stacks(StackStatus::UpdateInProgress))
        .output(|| stacks(StackStatus::UpdateComplete))
        .repeatedly()
        .build();
    let create = mock!(Client::create_change_set)
        .match_requests(|r| r.change_set_type() == Some(&ChangeSetType::Update))
        .then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let describe_cs = mock!(Client::describe_change_set).then_output(|| {
        change_set(
            ChangeSetStatus::CreateComplete,
            vec![change(
                ChangeAction::Modify,
                "TaskDefinition",
                "AWS::ECS::TaskDefinition",
                Some(Replacement::True),
            )],
            None,
        )
    });
    let execute = mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let events = mock!(Client::describe_stack_events).then_output(|| {
        events_pages(
            vec![event(
                1,
                "TaskDefinition",
                "AWS::ECS::TaskDefinition",
                ResourceStatus::UpdateComplete,
                None,
            )],
            &[1],
        )
        .remove(0)
    });
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe_stacks, &create, &describe_cs, &execute, &events]
    );
    let run = run_with(
        &cfn,
        &no_s3(),
        None,
        &request(100),
        &options(),
        &Interrupt::default(),
    )
    .await;
    assert_eq!(
        run.result.unwrap(),
        Outcome::Deployed {
            status: "UPDATE_COMPLETE".to_owned()
        }
    );
    assert_eq!(create.num_calls(), 1);
    let err = run.err.text();
    assert!(
        err.contains("True  <- REPLACED"),
        "a replacement stands out without colour:\n{err}"
    );
    assert!(err.contains("1 resource(s) will be replaced"), "{err}");
}

#[tokio::test]
async fn no_changes_is_success_and_leaves_no_change_set() {
    let describe_stacks = mock!(Client::describe_stacks).then_output(|| stacks(StackStatus::UpdateComplete));
    let create =
        mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let describe_cs = mock!(Client::describe_change_set).then_output(|| {
        change_set(
            ChangeSetStatus::Failed,
            vec![],
            Some("The submitted information didn't contain changes. Submit different information to create a change set."),
        )
    });
    let delete_cs = mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let execute = mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe_stacks, &create, &describe_cs, &delete_cs, &execute]
    );
    let run = run_with(
        &cfn,
        &no_s3(),
        Some(true),
        &request(100),
        &options(),
        &Interrupt::default(),
    )
    .await;
    assert_eq!(run.result.unwrap(), Outcome::NoChanges);
    assert_eq!(delete_cs.num_calls(), 1);
    assert_eq!(execute.num_calls(), 0);
    assert!(run.err.text().contains("no changes"));
}

#[tokio::test]
async fn a_failed_create_reports_the_first_failure_not_the_cancellations() {
    let events = vec![
        event(
            1,
            STACK,
            "AWS::CloudFormation::Stack",
            ResourceStatus::CreateInProgress,
            None,
        ),
        event(
            2,
            "Cluster",
            "AWS::ECS::Cluster",
            ResourceStatus::CreateInProgress,
            None,
        ),
        event(
            3,
            "Listener",
            "AWS::ElasticLoadBalancingV2::Listener",
            ResourceStatus::CreateFailed,
            Some("Certificate 'arn:aws:acm:...' not found"),
        ),
        event(
            4,
            "Cluster",
            "AWS::ECS::Cluster",
            ResourceStatus::CreateFailed,
            Some("Resource creation cancelled"),
        ),
        event(
            5,
            STACK,
            "AWS::CloudFormation::Stack",
            ResourceStatus::RollbackInProgress,
            Some("The following resource(s) failed to create: [Listener, Cluster]"),
        ),
        event(
            6,
            "Cluster",
            "AWS::ECS::Cluster",
            ResourceStatus::DeleteComplete,
            None,
        ),
        event(
            7,
            STACK,
            "AWS::CloudFormation::Stack",
            ResourceStatus::RollbackComplete,
            None,
        ),
    ];
    let pages = events_pages(events, &[3, 7, 7]);
    let describe_stacks = mock!(Client::describe_stacks)
        .sequence()
        .http_status(400, Some(missing()))
        .output(|| stacks(StackStatus::RollbackInProgress))
        .output(|| stacks(StackStatus::RollbackComplete))
        .repeatedly()
        .build();
    let create =
        mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let describe_cs = mock!(Client::describe_change_set).then_output(|| {
        change_set(
            ChangeSetStatus::CreateComplete,
            vec![change(
                ChangeAction::Add,
                "Listener",
                "AWS::ElasticLoadBalancingV2::Listener",
                None,
            )],
            None,
        )
    });
    let execute = mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    // The first read marks the history before the operation: nothing yet.
    let mut seq = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| DescribeStackEventsOutput::builder().build());
    for page in pages {
        seq = seq.output(move || page.clone());
    }
    let events_rule = seq.repeatedly().build();
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe_stacks, &create, &describe_cs, &execute, &events_rule]
    );
    let run = run_with(
        &cfn,
        &no_s3(),
        Some(true),
        &request(100),
        &options(),
        &Interrupt::default(),
    )
    .await;
    let failure = run.result.unwrap_err();
    assert_eq!(failure.code, Code::StackFailed);
    assert!(failure.error.to_string().contains("ROLLBACK_COMPLETE"));
    let err = run.err.text();
    let summary = err
        .split("root cause")
        .nth(1)
        .unwrap_or_else(|| panic!("no root cause:\n{err}"));
    assert!(
        summary.contains(
            "Listener (AWS::ElasticLoadBalancingV2::Listener): Certificate 'arn:aws:acm:...' not found"
        ),
        "{summary}"
    );
    assert!(
        !summary.contains("cancelled"),
        "cancellations are not causes:\n{summary}"
    );
}

/// A client for a stack that may be deleted and created again: `describing` (the stack's states as
/// they follow each other, and anything else the case needs), then delete, a CREATE change set, its
/// description, execute, no events. Returns the client and the delete and create rules, to count calls.
fn recreation(
    describing: &[&aws_smithy_mocks::Rule],
) -> (Client, aws_smithy_mocks::Rule, aws_smithy_mocks::Rule) {
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let create = mock!(Client::create_change_set)
        .match_requests(|r| r.change_set_type() == Some(&ChangeSetType::Create))
        .then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let describe_cs = mock!(Client::describe_change_set)
        .then_output(|| change_set(ChangeSetStatus::CreateComplete, vec![], None));
    let execute = mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let events =
        mock!(Client::describe_stack_events).then_output(|| DescribeStackEventsOutput::builder().build());
    let rules: Vec<&aws_smithy_mocks::Rule> = describing
        .iter()
        .copied()
        .chain([&delete, &create, &describe_cs, &execute, &events])
        .collect();
    let cfn = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, rules);
    (cfn, delete, create)
}

#[tokio::test]
async fn rollback_complete_is_recreated_only_when_allowed() {
    let build = || {
        let describe_stacks = mock!(Client::describe_stacks)
            .sequence()
            .output(|| {
                let mut s = stacks(StackStatus::RollbackComplete);
                s.stacks.as_mut().unwrap()[0].stack_status_reason =
                    Some("The following resource(s) failed to create: [Listener]".into());
                s
            })
            .output(|| stacks(StackStatus::RollbackComplete)) // read again for its ID before deleting
            .output(|| stacks(StackStatus::DeleteInProgress))
            .output(|| stacks(StackStatus::DeleteComplete))
            .http_status(400, Some(missing()))
            .output(|| stacks(StackStatus::CreateComplete))
            .repeatedly()
            .build();
        recreation(&[&describe_stacks])
    };
    // No terminal and no flag: refuse, touch nothing.
    let (cfn, delete, create) = build();
    let run = run_with(
        &cfn,
        &no_s3(),
        None,
        &request(100),
        &options(),
        &Interrupt::default(),
    )
    .await;
    let f = run.result.unwrap_err();
    assert_eq!(f.code, Code::Refused);
    assert!(f.error.to_string().contains("--recreate-failed"), "{}", f.error);
    assert!(run.err.text().contains("is ROLLBACK_COMPLETE (The following resource(s) failed to create: [Listener]): its first creation failed"));
    assert_eq!((delete.num_calls(), create.num_calls()), (0, 0));
    // With the flag: delete, then create.
    let (cfn, delete, create) = build();
    let opts = Options {
        recreate_failed: true,
        ..options()
    };
    let run = run_with(&cfn, &no_s3(), None, &request(100), &opts, &Interrupt::default()).await;
    assert_eq!(
        run.result.unwrap(),
        Outcome::Deployed {
            status: "CREATE_COMPLETE".to_owned()
        }
    );
    assert_eq!((delete.num_calls(), create.num_calls()), (1, 1));
}

#[tokio::test]
async fn review_in_progress_with_a_prepared_change_set_is_created_through_another_and_an_empty_one_is_recreated()
 {
    let build = |waiting: Vec<&'static str>| {
        let describe_stacks = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stacks(StackStatus::ReviewInProgress))
            .output(|| stacks(StackStatus::ReviewInProgress)) // read again for its ID before deleting
            .output(|| stacks(StackStatus::DeleteComplete))
            .http_status(400, Some(missing()))
            .output(|| stacks(StackStatus::CreateComplete))
            .repeatedly()
            .build();
        let list = mock!(Client::list_change_sets).then_output(move || {
            ListChangeSetsOutput::builder()
                .set_summaries(Some(
                    waiting
                        .iter()
                        .map(|n| ChangeSetSummary::builder().change_set_name(*n).build())
                        .collect(),
                ))
                .build()
        });
        recreation(&[&describe_stacks, &list])
    };
    // A change set someone prepared and did not execute: the stack is not empty, nothing is deleted.
    let (cfn, delete, create) = build(vec!["berth-20261126T180208Z-92a7"]);
    let run = run_with(
        &cfn,
        &no_s3(),
        None,
        &request(100),
        &options(),
        &Interrupt::default(),
    )
    .await;
    assert!(
        run.result.is_ok(),
        "{:?}",
        run.result.err().map(|f| f.error.to_string())
    );
    assert!(
        run.err
            .text()
            .contains("waiting to be created by berth-20261126T180208Z-92a7 (not executed)"),
        "{}",
        run.err.text()
    );
    assert_eq!((delete.num_calls(), create.num_calls()), (0, 1));
    // No change set left: an empty stack, recreated only when allowed.
    let (cfn, delete, create) = build(vec![]);
    let run = run_with(
        &cfn,
        &no_s3(),
        None,
        &request(100),
        &options(),
        &Interrupt::default(),
    )
    .await;
    assert_eq!(run.result.unwrap_err().code, Code::Refused);
    assert_eq!((delete.num_calls(), create.num_calls()), (0, 0));
    let (cfn, delete, create) = build(vec![]);
    let opts = Options {
        recreate_failed: true,
        ..options()
    };
    let run = run_with(&cfn, &no_s3(), None, &request(100), &opts, &Interrupt::default()).await;
    assert!(
        run.result.is_ok(),
        "{:?}",
        run.result.err().map(|f| f.error.to_string())
    );
    assert!(
        run.err
            .text()
            .contains("is REVIEW_IN_PROGRESS: it was created by a change set that is gone"),
        "{}",
        run.err.text()
    );
    assert_eq!((delete.num_calls(), create.num_calls()), (1, 1));
}

#[tokio::test]
async fn update_rollback_failed_points_to_the_rollback_command() {
    let describe_stacks =
        mock!(Client::describe_stacks).then_output(|| stacks(StackStatus::UpdateRollbackFailed));
    let create =
        mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe_stacks, &create]
    );
    let run = run_with(
        &cfn,
        &no_s3(),
        Some(true),
        &request(100),
        &options(),
        &Interrupt::default(),
    )
    .await;
    let f = run.result.unwrap_err();
    assert_eq!(f.code, Code::Blocked);
    assert!(
        f.error.to_string().contains("cargo xtask rollback"),
        "{}",
        f.error
    );
    assert_eq!(create.num_calls(), 0);
}

#[tokio::test]
async fn rollback_continues_and_skips_the_resources_named() {
    let describe_stacks = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks(StackStatus::UpdateRollbackFailed))
        .output(|| stacks(StackStatus::UpdateRollbackInProgress))
        .output(|| stacks(StackStatus::UpdateRollbackComplete))
        .repeatedly()
        .build();
    let cont = mock!(Client::continue_update_rollback)
        .match_requests(|r| r.resources_to_skip() == ["Service".to_owned()])
        .then_output(|| ContinueUpdateRollbackOutput::builder().build());
    let events =
        mock!(Client::describe_stack_events).then_output(|| DescribeStackEventsOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe_stacks, &cont, &events]
    );
    let (printer, _out, err) = Printer::capture();
    let env = Env {
        cfn: &cfn,
        s3: &no_s3(),
        printer: &printer,
        confirm: &Answer(None),
        pacing: Pacing::NONE,
        interrupt: &Interrupt::default(),
        endpoint: None,
        region: "ap-northeast-1".to_owned(),
    };
    berth_aws::commands::rollback(&env, STACK, &["Service".to_owned()], Progress::Events)
        .await
        .unwrap();
    assert_eq!(cont.num_calls(), 1);
    assert!(err.text().contains("UPDATE_ROLLBACK_COMPLETE"));
}

#[tokio::test]
async fn throttling_is_retried() {
    let describe_stacks = mock!(Client::describe_stacks)
        .sequence()
        .http_status(400, Some(error_xml("Throttling", "Rate exceeded")))
        .times(2)
        .output(|| stacks(StackStatus::UpdateComplete))
        .repeatedly()
        .build();
    let create =
        mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let describe_cs = mock!(Client::describe_change_set)
        .sequence()
        .http_status(400, Some(error_xml("Throttling", "Rate exceeded")))
        .output(|| {
            change_set(
                ChangeSetStatus::Failed,
                vec![],
                Some("No updates are to be performed."),
            )
        })
        .build();
    let delete_cs = mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe_stacks, &create, &describe_cs, &delete_cs],
        |c| c.retry_config(aws_smithy_types::retry::RetryConfig::standard().with_max_attempts(4))
    );
    let run = run_with(
        &cfn,
        &no_s3(),
        Some(true),
        &request(100),
        &options(),
        &Interrupt::default(),
    )
    .await;
    assert_eq!(run.result.unwrap(), Outcome::NoChanges);
    assert_eq!(
        describe_stacks.num_calls(),
        3,
        "two throttled calls, then the answer"
    );
    assert_eq!(describe_cs.num_calls(), 2);
}

#[tokio::test]
async fn a_large_template_goes_through_s3() {
    let describe_stacks = mock!(Client::describe_stacks).then_output(|| stacks(StackStatus::UpdateComplete));
    let create = mock!(Client::create_change_set)
        .match_requests(|r| {
            r.template_body().is_none()
                && r.template_url().is_some_and(|u| {
                    u.starts_with(
                    "https://artifacts.s3.ap-northeast-1.amazonaws.com/berth/templates/sample-dev-service/",
                )
                })
        })
        .then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let describe_cs = mock!(Client::describe_change_set).then_output(|| {
        change_set(
            ChangeSetStatus::Failed,
            vec![],
            Some("No updates are to be performed."),
        )
    });
    let delete_cs = mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe_stacks, &create, &describe_cs, &delete_cs]
    );
    let put = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(|r| r.bucket() == Some("artifacts") && r.key().is_some_and(|k| k.ends_with(".yaml")))
        .then_output(|| aws_sdk_s3::operation::put_object::PutObjectOutput::builder().build());
    let s3 = mock_client!(aws_sdk_s3, [&put]);
    let opts = Options {
        template_bucket: Some("artifacts".to_owned()),
        ..options()
    };
    let run = run_with(
        &cfn,
        &s3,
        Some(true),
        &request(60_000),
        &opts,
        &Interrupt::default(),
    )
    .await;
    assert_eq!(run.result.unwrap(), Outcome::NoChanges);
    assert_eq!((put.num_calls(), create.num_calls()), (1, 1));
    // Without a bucket it says what to do, before any call.
    let create2 = mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().build());
    let describe2 = mock!(Client::describe_stacks).then_output(|| stacks(StackStatus::UpdateComplete));
    let cfn2 = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&describe2, &create2]);
    let run = run_with(
        &cfn2,
        &no_s3(),
        Some(true),
        &request(60_000),
        &options(),
        &Interrupt::default(),
    )
    .await;
    assert!(
        run.result
            .unwrap_err()
            .error
            .to_string()
            .contains("--template-bucket")
    );
    assert_eq!(create2.num_calls(), 0);
    // Over 1,000,000 bytes: refused before any call.
    let describe3 = mock!(Client::describe_stacks).then_output(|| stacks(StackStatus::UpdateComplete));
    let cfn3 = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&describe3]);
    let run = run_with(
        &cfn3,
        &no_s3(),
        Some(true),
        &request(1_000_001),
        &opts,
        &Interrupt::default(),
    )
    .await;
    assert!(
        run.result
            .unwrap_err()
            .error
            .to_string()
            .contains("at most 1000000")
    );
    assert_eq!(describe3.num_calls(), 0);
}

#[tokio::test]
async fn ctrl_c_stops_following_and_says_how_to_resume() {
    let interrupt = Interrupt::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let describe_stacks = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks(StackStatus::UpdateComplete))
        .output(|| stacks(StackStatus::UpdateInProgress))
        .repeatedly()
        .build();
    let create =
        mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let describe_cs = mock!(Client::describe_change_set).then_output(|| {
        change_set(
            ChangeSetStatus::CreateComplete,
            vec![change(ChangeAction::Modify, "Service", "AWS::ECS::Service", None)],
            None,
        )
    });
    let execute = mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let (i2, c2) = (interrupt.clone(), calls.clone());
    let events = mock!(Client::describe_stack_events).then_compute_output(move |_| {
        // The user presses Ctrl-C while the third batch of events is read.
        if c2.fetch_add(1, Ordering::SeqCst) == 2 {
            i2.fire();
        }
        DescribeStackEventsOutput::builder().build()
    });
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &describe_stacks,
            &create,
            &describe_cs,
            &execute,
            &events,
            &delete
        ]
    );
    let run = run_with(&cfn, &no_s3(), Some(true), &request(100), &options(), &interrupt).await;
    let f = run.result.unwrap_err();
    assert_eq!(f.code, Code::Interrupted);
    assert!(
        run.err
            .text()
            .contains("Watch it again with:\n  cargo xtask status service --stage dev --watch"),
        "{}",
        run.err.text()
    );
    assert_eq!(delete.num_calls(), 0, "the stack is left alone");
}

#[tokio::test]
async fn without_a_terminal_and_without_yes_it_refuses_and_keeps_the_change_set() {
    let describe_stacks = mock!(Client::describe_stacks).then_output(|| stacks(StackStatus::UpdateComplete));
    let create =
        mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let describe_cs = mock!(Client::describe_change_set).then_output(|| {
        change_set(
            ChangeSetStatus::CreateComplete,
            vec![change(ChangeAction::Add, "Bucket", "AWS::S3::Bucket", None)],
            None,
        )
    });
    let execute = mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let delete_cs = mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe_stacks, &create, &describe_cs, &execute, &delete_cs]
    );
    let opts = Options {
        yes: false,
        ..options()
    };
    let run = run_with(&cfn, &no_s3(), None, &request(100), &opts, &Interrupt::default()).await;
    let f = run.result.unwrap_err();
    assert_eq!(f.code, Code::Refused);
    let msg = f.error.to_string();
    assert!(
        msg.contains("stdin is not a terminal") && msg.contains("--yes") && msg.contains("--execute berth-"),
        "{msg}"
    );
    assert_eq!((execute.num_calls(), delete_cs.num_calls()), (0, 0));
    // --no-execute prepares and says how to execute.
    let opts = Options {
        yes: false,
        no_execute: true,
        ..options()
    };
    let run = run_with(&cfn, &no_s3(), None, &request(100), &opts, &Interrupt::default()).await;
    match run.result.unwrap() {
        Outcome::Prepared { change_set } => {
            assert!(run.err.text().contains(&format!("--execute {change_set}")))
        }
        other => panic!("{other:?}"),
    }
    // A declined prompt keeps it too.
    let run = run_with(
        &cfn,
        &no_s3(),
        Some(false),
        &request(100),
        &options_no_yes(),
        &Interrupt::default(),
    )
    .await;
    assert_eq!(run.result.unwrap_err().code, Code::Refused);
    assert_eq!(execute.num_calls(), 0);
}

fn options_no_yes() -> Options {
    Options {
        yes: false,
        ..options()
    }
}

#[tokio::test]
async fn an_operation_in_progress_blocks_unless_waited_for() {
    let build = || {
        let describe_stacks = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stacks(StackStatus::UpdateInProgress))
            .output(|| stacks(StackStatus::UpdateInProgress))
            .output(|| stacks(StackStatus::UpdateComplete))
            .repeatedly()
            .build();
        let create = mock!(Client::create_change_set)
            .then_output(|| CreateChangeSetOutput::builder().id("cs").build());
        let describe_cs = mock!(Client::describe_change_set).then_output(|| {
            change_set(
                ChangeSetStatus::Failed,
                vec![],
                Some("No updates are to be performed."),
            )
        });
        let delete_cs =
            mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
        let events =
            mock!(Client::describe_stack_events).then_output(|| DescribeStackEventsOutput::builder().build());
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&describe_stacks, &create, &describe_cs, &delete_cs, &events]
        );
        (cfn, create)
    };
    let (cfn, create) = build();
    let run = run_with(
        &cfn,
        &no_s3(),
        Some(true),
        &request(100),
        &options(),
        &Interrupt::default(),
    )
    .await;
    let f = run.result.unwrap_err();
    assert_eq!(f.code, Code::Blocked);
    assert!(f.error.to_string().contains("UPDATE_IN_PROGRESS") && f.error.to_string().contains("--wait"));
    assert_eq!(create.num_calls(), 0);
    let (cfn, create) = build();
    let opts = Options {
        wait: true,
        ..options()
    };
    let run = run_with(
        &cfn,
        &no_s3(),
        Some(true),
        &request(100),
        &opts,
        &Interrupt::default(),
    )
    .await;
    assert_eq!(run.result.unwrap(), Outcome::NoChanges);
    assert_eq!(create.num_calls(), 1);
}

#[tokio::test]
async fn a_change_set_that_replaces_the_instances_says_so_before_anyone_answers() {
    let describe_stacks = mock!(Client::describe_stacks).then_output(|| stacks(StackStatus::UpdateComplete));
    let create =
        mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    // An AMI bump: the launch template gets a new version, so the group rolls its instances.
    let describe_cs = mock!(Client::describe_change_set).then_output(|| {
        change_set(
            ChangeSetStatus::CreateComplete,
            vec![
                change(
                    ChangeAction::Modify,
                    "LaunchTemplate",
                    "AWS::EC2::LaunchTemplate",
                    Some(Replacement::False),
                ),
                change(
                    ChangeAction::Modify,
                    "AutoScalingGroup",
                    "AWS::AutoScaling::AutoScalingGroup",
                    Some(Replacement::False),
                ),
            ],
            None,
        )
    });
    let execute = mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe_stacks, &create, &describe_cs, &execute]
    );
    let opts = Options {
        yes: false,
        no_execute: true,
        ..options()
    };
    let run = run_with(&cfn, &no_s3(), None, &request(100), &opts, &Interrupt::default()).await;
    assert!(matches!(run.result, Ok(Outcome::Prepared { .. })));
    let shown = run.err.text();
    let table = shown.find("LaunchTemplate").expect("the table");
    let warning = shown
        .find("INSTANCES ARE REPLACED: LaunchTemplate changes")
        .unwrap_or_else(|| panic!("no warning:\n{shown}"));
    assert!(table < warning, "the warning follows the table:\n{shown}");
    assert!(
        shown.contains("so AutoScalingGroup replaces every container instance, one at a time"),
        "{shown}"
    );
    assert_eq!(execute.num_calls(), 0);
}

/// The calls of an update whose change set is ready: describe (updatable), create, describe the
/// change set, and the given rules after.
fn ready_update() -> (
    aws_smithy_mocks::Rule,
    aws_smithy_mocks::Rule,
    aws_smithy_mocks::Rule,
) {
    let describe_stacks = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks(StackStatus::UpdateComplete))
        .output(|| stacks(StackStatus::UpdateInProgress))
        .output(|| stacks(StackStatus::UpdateComplete))
        .repeatedly()
        .build();
    let create =
        mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let describe_cs = mock!(Client::describe_change_set).then_output(|| {
        change_set(
            ChangeSetStatus::CreateComplete,
            vec![change(ChangeAction::Modify, "Service", "AWS::ECS::Service", None)],
            None,
        )
    });
    (describe_stacks, create, describe_cs)
}

#[tokio::test]
async fn ctrl_c_while_preparing_executes_nothing_and_deletes_the_change_set() {
    let interrupt = Interrupt::default();
    let describe_stacks = mock!(Client::describe_stacks).then_output(|| stacks(StackStatus::UpdateComplete));
    let create =
        mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let i2 = interrupt.clone();
    // The user presses Ctrl-C while CloudFormation is still computing the change set.
    let describe_cs = mock!(Client::describe_change_set).then_compute_output(move |_| {
        i2.fire();
        change_set(ChangeSetStatus::CreateInProgress, vec![], None)
    });
    let execute = mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let delete_cs = mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe_stacks, &create, &describe_cs, &execute, &delete_cs]
    );
    let run = run_with(&cfn, &no_s3(), Some(true), &request(100), &options(), &interrupt).await;
    let f = run.result.unwrap_err();
    assert_eq!(f.code, Code::Interrupted);
    assert!(
        f.error
            .to_string()
            .contains("interrupted before execution: nothing was executed on")
            && f.error.to_string().contains("deleted"),
        "{:#}",
        f.error
    );
    assert_eq!(execute.num_calls(), 0, "nothing executed");
    assert_eq!(delete_cs.num_calls(), 1, "the change set is not left behind");
}

#[tokio::test]
async fn ctrl_c_at_the_prompt_or_before_execution_executes_nothing() {
    // Fired while the question was asked (the prompt answers "no" then, and nothing runs).
    let interrupt = Interrupt::default();
    interrupt.fire();
    let (describe_stacks, create, describe_cs) = ready_update();
    let execute = mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let delete_cs = mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe_stacks, &create, &describe_cs, &execute, &delete_cs]
    );
    let run = run_with(&cfn, &no_s3(), Some(true), &request(100), &options(), &interrupt).await;
    assert_eq!(run.result.unwrap_err().code, Code::Interrupted);
    assert_eq!(execute.num_calls(), 0);
}

#[tokio::test]
async fn losing_contact_after_execution_says_the_operation_goes_on() {
    let (describe_stacks, create, describe_cs) = ready_update();
    let execute = mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let events = mock!(Client::describe_stack_events)
        .sequence()
        // The mark before execution, then access lost (an expired session).
        .output(|| DescribeStackEventsOutput::builder().build())
        .http_status(
            400,
            Some(error_xml(
                "ExpiredToken",
                "The security token included in the request is expired",
            )),
        )
        .repeatedly()
        .build();
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe_stacks, &create, &describe_cs, &execute, &events]
    );
    let run = run_with(
        &cfn,
        &no_s3(),
        Some(true),
        &request(100),
        &options(),
        &Interrupt::default(),
    )
    .await;
    let f = run.result.unwrap_err();
    assert_eq!(f.code, Code::LostContact);
    let text = format!("{:#}", f.error);
    assert!(
        text.contains("lost contact with CloudFormation while following"),
        "{text}"
    );
    assert!(
        text.contains("the stack operation goes on without berth"),
        "{text}"
    );
    assert!(
        text.contains("cargo xtask status service --stage dev --watch"),
        "{text}"
    );
    assert!(text.contains("last seen: UPDATE_"), "{text}");
}

#[tokio::test]
async fn another_operation_that_ended_the_stack_is_reported() {
    let (describe_stacks, create, describe_cs) = ready_update();
    let execute = mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let events = mock!(Client::describe_stack_events)
        .sequence()
        // The mark before execution: no history yet.
        .output(|| DescribeStackEventsOutput::builder().build())
        .output(|| {
            let mut done = event(
                1,
                STACK,
                "AWS::CloudFormation::Stack",
                ResourceStatus::UpdateComplete,
                None,
            );
            done.client_request_token = Some("another-deploy-1".to_owned());
            events_pages(vec![done], &[1]).remove(0)
        })
        .repeatedly()
        .build();
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe_stacks, &create, &describe_cs, &execute, &events]
    );
    let run = run_with(
        &cfn,
        &no_s3(),
        Some(true),
        &request(100),
        &options(),
        &Interrupt::default(),
    )
    .await;
    let f = run.result.unwrap_err();
    let text = format!("{:#}", f.error);
    assert!(
        text.contains("through another operation (request token another-deploy-1), not this deploy's"),
        "{text}"
    );
}

#[tokio::test]
async fn ctrl_c_while_executing_lets_the_execution_stand_and_stops_following() {
    let interrupt = Interrupt::default();
    let (describe_stacks, create, describe_cs) = ready_update();
    let i2 = interrupt.clone();
    // Pressed while ExecuteChangeSet is in flight: that call is not cancelled (it may already have
    // started the update), following is.
    let execute = mock!(Client::execute_change_set).then_compute_output(move |_| {
        i2.fire();
        ExecuteChangeSetOutput::builder().build()
    });
    let events =
        mock!(Client::describe_stack_events).then_output(|| DescribeStackEventsOutput::builder().build());
    let delete_cs = mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &describe_stacks,
            &create,
            &describe_cs,
            &execute,
            &events,
            &delete_cs
        ]
    );
    let run = run_with(&cfn, &no_s3(), Some(true), &request(100), &options(), &interrupt).await;
    assert_eq!(run.result.unwrap_err().code, Code::Interrupted);
    assert_eq!(execute.num_calls(), 1);
    assert_eq!(delete_cs.num_calls(), 0, "an executed change set is not deleted");
    assert!(
        run.err.text().contains("stopped following") && run.err.text().contains("goes on with it"),
        "{}",
        run.err.text()
    );
}

/// Before `DeleteStack`: the capacity provider's managed termination protection is turned off first
/// (else ECS marks busy instances again), then the group starts no new instance protected, then every
/// protected instance of the stack's group is released, 50 per call (SetInstanceProtection's limit);
/// unprotected ones are left alone. Resources already deleted are skipped, and after Ctrl-C nothing is
/// sent.
#[tokio::test]
async fn destroy_lets_go_of_the_instances_ecs_protected() {
    use aws_sdk_autoscaling::operation::describe_auto_scaling_groups::DescribeAutoScalingGroupsOutput;
    use aws_sdk_autoscaling::operation::set_instance_protection::SetInstanceProtectionOutput;
    use aws_sdk_autoscaling::operation::update_auto_scaling_group::UpdateAutoScalingGroupOutput;
    use aws_sdk_autoscaling::types::{AutoScalingGroup, Instance};
    use aws_sdk_cloudformation::operation::describe_stack_resources::DescribeStackResourcesOutput;
    use aws_sdk_cloudformation::types::StackResource;
    use aws_sdk_ecs::operation::update_capacity_provider::UpdateCapacityProviderOutput;
    use aws_sdk_ecs::types::ManagedTerminationProtection;

    let order = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let resource = |id: &str, ty: &str, physical: &str, status: ResourceStatus| {
        StackResource::builder()
            .logical_resource_id(id)
            .resource_type(ty)
            .physical_resource_id(physical)
            .resource_status(status)
            .timestamp(DateTime::from_secs(0))
            .build()
    };
    let resources = mock!(Client::describe_stack_resources).then_output(move || {
        DescribeStackResourcesOutput::builder()
            .stack_resources(resource(
                "CapacityProvider",
                "AWS::ECS::CapacityProvider",
                "sample-dev-cp",
                ResourceStatus::CreateComplete,
            ))
            // Deleted by an earlier attempt: ECS no longer has it.
            .stack_resources(resource(
                "OldCapacityProvider",
                "AWS::ECS::CapacityProvider",
                "sample-dev-old-cp",
                ResourceStatus::DeleteComplete,
            ))
            .stack_resources(resource(
                "AutoScalingGroup",
                "AWS::AutoScaling::AutoScalingGroup",
                "sample-dev-asg",
                ResourceStatus::CreateComplete,
            ))
            .stack_resources(resource(
                "Cluster",
                "AWS::ECS::Cluster",
                "sample-dev",
                ResourceStatus::CreateComplete,
            ))
            .build()
    });
    let cfn = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&resources]);
    let seen = order.clone();
    let cp = mock!(aws_sdk_ecs::Client::update_capacity_provider)
        .match_requests(move |r| {
            seen.lock()
                .unwrap()
                .push(format!("UpdateCapacityProvider {}", r.name().unwrap_or_default()));
            r.auto_scaling_group_provider()
                .and_then(|p| p.managed_termination_protection())
                == Some(&ManagedTerminationProtection::Disabled)
        })
        .then_output(|| UpdateCapacityProviderOutput::builder().build());
    let ecs = || mock_client!(aws_sdk_ecs, [&cp]);
    let describe = mock!(aws_sdk_autoscaling::Client::describe_auto_scaling_groups)
        .match_requests(|r| r.auto_scaling_group_names() == ["sample-dev-asg"])
        .then_output(|| {
            let mut g = AutoScalingGroup::builder()
                .auto_scaling_group_name("sample-dev-asg")
                .new_instances_protected_from_scale_in(true);
            for n in 0..61 {
                g = g.instances(
                    Instance::builder()
                        .instance_id(format!("i-{n:017x}"))
                        // The last one is not protected: it is left as it is.
                        .protected_from_scale_in(n < 60)
                        .build(),
                );
            }
            DescribeAutoScalingGroupsOutput::builder()
                .auto_scaling_groups(g.build())
                .build()
        });
    let seen = order.clone();
    let update = mock!(aws_sdk_autoscaling::Client::update_auto_scaling_group)
        .match_requests(move |r| {
            seen.lock().unwrap().push(format!(
                "UpdateAutoScalingGroup {} {:?}",
                r.auto_scaling_group_name().unwrap_or_default(),
                r.new_instances_protected_from_scale_in()
            ));
            true
        })
        .then_output(|| UpdateAutoScalingGroupOutput::builder().build());
    let seen = order.clone();
    let protect = mock!(aws_sdk_autoscaling::Client::set_instance_protection)
        .match_requests(move |r| {
            seen.lock().unwrap().push(format!(
                "SetInstanceProtection {} {} {:?}",
                r.auto_scaling_group_name().unwrap_or_default(),
                r.instance_ids().len(),
                r.protected_from_scale_in()
            ));
            true
        })
        .then_output(|| SetInstanceProtectionOutput::builder().build());
    let autoscaling = || {
        mock_client!(
            aws_sdk_autoscaling,
            RuleMode::MatchAny,
            [&describe, &update, &protect]
        )
    };
    let clients = berth_aws::protection::Clients {
        ecs: ecs(),
        autoscaling: autoscaling(),
    };

    let released = berth_aws::protection::release(&cfn, &clients, STACK, &Interrupt::default())
        .await
        .unwrap();
    assert_eq!(released.capacity_providers, ["sample-dev-cp"]);
    assert_eq!(released.instances.len(), 1);
    assert_eq!(released.instances[0].1.len(), 60);
    assert_eq!(
        *order.lock().unwrap(),
        [
            "UpdateCapacityProvider sample-dev-cp",
            "UpdateAutoScalingGroup sample-dev-asg Some(false)",
            "SetInstanceProtection sample-dev-asg 50 Some(false)",
            "SetInstanceProtection sample-dev-asg 10 Some(false)",
        ]
    );
    assert_eq!(
        released.lines(),
        [
            "turned off managed termination protection of capacity provider sample-dev-cp",
            "cleared scale-in protection of 60 instances in sample-dev-asg (or deleting the group would wait for ever)",
        ]
    );

    // After Ctrl-C: no write at all.
    order.lock().unwrap().clear();
    let interrupt = Interrupt::default();
    interrupt.fire();
    let f = berth_aws::protection::release(&cfn, &clients, STACK, &interrupt)
        .await
        .unwrap_err();
    assert_eq!(f.code, Code::Interrupted);
    assert_eq!(f.error.to_string(), "interrupted: nothing deleted");
    assert!(order.lock().unwrap().is_empty(), "{:?}", order.lock().unwrap());
}
