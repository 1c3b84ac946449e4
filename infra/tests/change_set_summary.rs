//! The approver's summary: the summary build's script (`infra::blocks::change_set_summary::script`) run
//! in bash as CodeBuild runs it, with real jq (CodeBuild's standard image has it) and a stubbed `aws`
//! that answers `describe-change-set` with a change set of the service stack.

use std::process::Command;

use serde_json::json;

/// Runs the script against `change_set` (the CLI's JSON); returns (SUMMARY, LINK).
fn summarize(change_set: &serde_json::Value) -> (String, String) {
    assert!(
        Command::new("jq")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "jq is not installed here: the summary runs on CodeBuild's image, which has it; install jq (e.g. apt-get install jq) to run this test"
    );
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let fixture = dir.path().join("change-set-fixture.json");
    std::fs::write(&fixture, change_set.to_string()).unwrap();
    let aws = bin.join("aws");
    std::fs::write(
        &aws,
        format!(
            "#!/bin/bash\n[ \"$1 $2\" = 'cloudformation describe-change-set' ] || exit 2\n\
             [ \"$4\" = \"$STACK\" ] && [ \"$6\" = \"$CHANGE_SET\" ] || exit 3\ncat '{}'\n",
            fixture.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = format!(
        "{}\nprintf 'SUMMARY=%s\\nLINK=%s\\n' \"$SUMMARY\" \"$LINK\" > exported.txt\n",
        infra::blocks::change_set_summary::script()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("STACK", "sample-prod-service")
        .env("CHANGE_SET", "sample-prod-deploy")
        .env("AWS_REGION", "ap-northeast-1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let exported = std::fs::read_to_string(dir.path().join("exported.txt")).unwrap();
    let value = |name: &str| {
        exported
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    (value("SUMMARY"), value("LINK"))
}

fn change(action: &str, id: &str, ty: &str, replacement: Option<&str>) -> serde_json::Value {
    let mut rc = json!({"Action": action, "LogicalResourceId": id, "ResourceType": ty});
    if let Some(r) = replacement {
        rc["Replacement"] = json!(r);
    }
    json!({"Type": "Resource", "ResourceChange": rc})
}

const STACK_ID: &str = "arn:aws:cloudformation:ap-northeast-1:123456789012:stack/sample-prod-service/1a2b";
const CHANGE_SET_ID: &str =
    "arn:aws:cloudformation:ap-northeast-1:123456789012:changeSet/sample-prod-deploy/3c4d";

#[test]
fn the_summary_counts_names_replacements_and_warns_of_instance_replacement() {
    let (summary, link) = summarize(&json!({
        "Status": "CREATE_COMPLETE",
        "StackId": STACK_ID,
        "ChangeSetId": CHANGE_SET_ID,
        "Changes": [
            change("Modify", "TaskDefinition", "AWS::ECS::TaskDefinition", Some("True")),
            change("Modify", "Service", "AWS::ECS::Service", Some("False")),
            change("Modify", "LaunchTemplate", "AWS::EC2::LaunchTemplate", Some("Conditional")),
            change("Add", "TargetErrorsAlarm", "AWS::CloudWatch::Alarm", None),
        ],
    }));
    assert!(
        summary.starts_with("1 to add, 3 to modify, 0 to remove;"),
        "{summary}"
    );
    assert!(
        summary.contains("replaced: TaskDefinition, LaunchTemplate (conditional)."),
        "{summary}"
    );
    assert!(
        summary.contains("Container instances are replaced, one at a time."),
        "{summary}"
    );
    assert!(
        summary.contains(
            "Changes: Modify TaskDefinition, Modify Service, Modify LaunchTemplate, Add TargetErrorsAlarm"
        ),
        "{summary}"
    );
    assert!(summary.chars().count() <= infra::blocks::change_set_summary::SUMMARY_MAX_CHARS);
    assert!(
        link.starts_with("https://console.aws.amazon.com/cloudformation/home?region=ap-northeast-1#/stacks/changesets/changes?stackId=arn%3Aaws%3Acloudformation%3Aap-northeast-1%3A123456789012%3Astack%2Fsample-prod-service%2F1a2b&changeSetId=arn%3Aaws%3Acloudformation"),
        "{link}"
    );
}

#[test]
fn an_image_only_change_replaces_no_instance_and_a_long_change_set_stays_under_the_limit() {
    let (summary, _) = summarize(&json!({
        "Status": "CREATE_COMPLETE",
        "StackId": STACK_ID,
        "ChangeSetId": CHANGE_SET_ID,
        "Changes": [change("Modify", "TaskDefinition", "AWS::ECS::TaskDefinition", Some("True"))],
    }));
    assert!(!summary.contains("instances"), "{summary}");
    let many: Vec<serde_json::Value> = (0..200)
        .map(|i| change("Add", &format!("Resource{i:03}"), "AWS::SNS::Topic", None))
        .collect();
    let (summary, _) = summarize(&json!({
        "Status": "CREATE_COMPLETE",
        "StackId": STACK_ID,
        "ChangeSetId": CHANGE_SET_ID,
        "Changes": many,
    }));
    assert!(
        summary.starts_with("200 to add, 0 to modify, 0 to remove; replaced: none."),
        "{summary}"
    );
    assert_eq!(
        summary.chars().count(),
        infra::blocks::change_set_summary::SUMMARY_MAX_CHARS,
        "cut to what an approval can show"
    );
}

#[test]
fn a_change_set_with_nothing_to_execute_says_why() {
    let (summary, _) = summarize(&json!({
        "Status": "FAILED",
        "StatusReason": "The submitted information didn't contain changes. Submit different information to create a change set.",
        "StackId": STACK_ID,
        "ChangeSetId": CHANGE_SET_ID,
        "Changes": [],
    }));
    assert!(
        summary.starts_with("No change set to execute: The submitted information didn't contain changes."),
        "{summary}"
    );
}
