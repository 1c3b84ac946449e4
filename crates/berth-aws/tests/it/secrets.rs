//! `secrets put|list|rm|check` against moto: SecureStrings under the stage's key, written only from
//! stdin, never echoed; bad input writes nothing.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use berth_aws::secrets::{SecretValue, Store};
use pipeline_model::Names;
use pipeline_model::secrets::{Secret, UsedAt};
use serde_json::Value;
use test_support::Server;

const PARAMETER: &str = "/berth/sample/dev/DB_PASSWORD";

/// Runs the berth-aws binary with `stdin` piped in (None: no stdin at all).
fn berth(server: &Server, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth-aws"));
    server
        .apply(&mut cmd)
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().expect("berth-aws runs");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("a stdin pipe");
        // A command refused before it reads its value (a bad name) closes stdin: that is fine here.
        match pipe.write_all(text.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.expect("writing stdin"),
        }
    }
    child.wait_with_output().expect("berth-aws ends")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn aws(server: &Server, args: &[&str]) -> Value {
    let out = test_support::aws_cli(server, "ap-northeast-1", args).unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_str(&out).unwrap_or(Value::Null)
}

/// The stored value, decrypted (what ECS would hand the container). Never printed by the tests.
fn stored(server: &Server) -> Option<String> {
    let out = test_support::aws_cli(
        server,
        "ap-northeast-1",
        &["ssm", "get-parameter", "--name", PARAMETER, "--with-decryption"],
    )
    .ok()?;
    let v: Value = serde_json::from_str(&out).ok()?;
    v["Parameter"]["Value"].as_str().map(str::to_owned)
}

fn parameter_count(server: &Server) -> usize {
    aws(server, &["ssm", "describe-parameters"])["Parameters"]
        .as_array()
        .map_or(0, Vec::len)
}

#[track_caller]
fn exits(o: &Output, code: i32, says: &str) {
    assert_eq!(o.status.code(), Some(code), "{}", text(o));
    assert!(text(o).contains(says), "expected `{says}` in:\n{}", text(o));
}

#[test]
fn put_list_check_rm_against_moto() {
    let server = test_support::moto();
    let put = |args: &[&str], value: &str| {
        let mut all = vec!["secrets", "put"];
        all.extend(args);
        berth(&server, &all, Some(value))
    };

    // No pipeline stack yet: no key, nothing written.
    exits(
        &put(&["DB_PASSWORD", "--stage", "dev"], "first-value"),
        1,
        "alias/berth/sample/dev does not exist",
    );
    assert_eq!(parameter_count(&server), 0);

    let deployed = berth(
        &server,
        &[
            "deploy",
            "pipeline",
            "--stage",
            "dev",
            "--yes",
            "--progress",
            "quiet",
        ],
        None,
    );
    assert!(deployed.status.success(), "{}", text(&deployed));

    // Bad input: clear errors, nothing written.
    for (args, value, says) in [
        (
            &["DB-PASSWORD", "--stage", "dev"][..],
            "v",
            "`DB-PASSWORD` is not a secret name",
        ),
        (
            &["awsToken", "--stage", "dev"][..],
            "v",
            "SSM reserves names starting with `aws` or `ssm`",
        ),
        (
            &["DB_PASS", "--stage", "dev"][..],
            "v",
            "`DB_PASS` is not a secret the app declares: expected one of: DB_PASSWORD",
        ),
        (&["DB_PASSWORD", "--stage", "dev"][..], "", "the value is empty"),
        (&["DB_PASSWORD", "--stage", "dev"][..], "\n", "the value is empty"),
        (
            &["DB_PASSWORD", "--stage", "qa"][..],
            "v",
            "no stage `qa`: expected one of: dev, prod",
        ),
    ] {
        exits(&put(args, value), 1, says);
    }
    let long = "x".repeat(4097);
    exits(
        &put(&["DB_PASSWORD", "--stage", "dev"], &long),
        1,
        "4097 characters",
    );
    assert_eq!(parameter_count(&server), 0, "bad input wrote something");

    // Check before anything is stored: exit 6, naming what is missing and how to put it.
    let check = berth(&server, &["secrets", "check", "--stage", "dev"], None);
    exits(
        &check,
        6,
        "DB_PASSWORD is missing (/berth/sample/dev/DB_PASSWORD)",
    );
    assert!(
        text(&check).contains("cargo xtask secrets put DB_PASSWORD --stage dev"),
        "{}",
        text(&check)
    );

    // Put: a SecureString under the stage's key, tagged; the value is not echoed.
    let out = put(&["DB_PASSWORD", "--stage", "dev"], "first-value\n");
    exits(
        &out,
        0,
        "/berth/sample/dev/DB_PASSWORD: version 1 (SecureString, key alias/berth/sample/dev)",
    );
    assert!(!text(&out).contains("first-value"));
    assert_eq!(
        stored(&server).as_deref(),
        Some("first-value"),
        "stored without the trailing newline"
    );
    let meta = aws(&server, &["ssm", "describe-parameters"]);
    let meta = &meta["Parameters"][0];
    assert_eq!(meta["Type"], "SecureString");
    let key_arn = meta["KeyId"].as_str().unwrap().to_owned();
    let aliases = aws(&server, &["kms", "list-aliases"]);
    let target = aliases["Aliases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["AliasName"] == "alias/berth/sample/dev")
        .and_then(|a| a["TargetKeyId"].as_str())
        .expect("the stage's alias")
        .to_owned();
    assert!(
        key_arn.ends_with(&format!(":key/{target}")),
        "{key_arn} is not the stage's key {target}"
    );
    let tags = aws(
        &server,
        &[
            "ssm",
            "list-tags-for-resource",
            "--resource-type",
            "Parameter",
            "--resource-id",
            PARAMETER,
        ],
    );
    let tags: Vec<(String, String)> = tags["TagList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["Key"].as_str().unwrap().to_owned(),
                t["Value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for want in [("app", "sample"), ("stage", "dev"), ("managed-by", "berth")] {
        assert!(
            tags.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} not in {tags:?}"
        );
    }

    // Put again: refused, the value stays.
    exits(
        &put(&["DB_PASSWORD", "--stage", "dev"], "second-value"),
        3,
        "already exists with another value: nothing written. Pass --overwrite",
    );
    assert_eq!(stored(&server).as_deref(), Some("first-value"));

    // Overwrite: a new version, still tagged (tags go in their own call).
    let out = put(&["DB_PASSWORD", "--stage", "dev", "--overwrite"], "second-value");
    exits(&out, 0, "version 2");
    assert_eq!(stored(&server).as_deref(), Some("second-value"));
    let tags = aws(
        &server,
        &[
            "ssm",
            "list-tags-for-resource",
            "--resource-type",
            "Parameter",
            "--resource-id",
            PARAMETER,
        ],
    );
    assert_eq!(tags["TagList"].as_array().map(Vec::len), Some(3), "{tags}");

    // List: names, versions, key; no values.
    let list = berth(&server, &["secrets", "list", "--stage", "dev"], None);
    exits(&list, 0, "DB_PASSWORD");
    let t = text(&list);
    let row = t.lines().find(|l| l.starts_with("DB_PASSWORD")).expect("a row");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        (cells[1], cells[3], cells[4], cells[5]),
        ("2", "SecureString", "alias/berth/sample/dev", "yes"),
        "{t}"
    );
    assert!(!t.contains("first-value") && !t.contains("second-value"), "{t}");
    let json = berth(
        &server,
        &["secrets", "list", "--stage", "dev", "--output", "json"],
        None,
    );
    let v: Value = serde_json::from_slice(&json.stdout).expect("JSON on stdout");
    assert_eq!(v["secrets"][0]["name"], "DB_PASSWORD");
    assert_eq!(v["secrets"][0]["version"], 2);
    assert_eq!(v["missing"], serde_json::json!([]));
    assert!(!String::from_utf8_lossy(&json.stdout).contains("second-value"));

    exits(
        &berth(&server, &["secrets", "check", "--stage", "dev"], None),
        0,
        "all 1 declared secret(s) stored",
    );

    // Rm: only with confirmation.
    exits(
        &berth(&server, &["secrets", "rm", "DB_PASSWORD", "--stage", "dev"], None),
        3,
        "pass --yes",
    );
    assert!(stored(&server).is_some());
    exits(
        &berth(
            &server,
            &["secrets", "rm", "DB_PASSWORD", "--stage", "dev", "--yes"],
            None,
        ),
        0,
        "deleted",
    );
    assert_eq!(stored(&server), None);
    exits(
        &berth(
            &server,
            &["secrets", "rm", "DB_PASSWORD", "--stage", "dev", "--yes"],
            None,
        ),
        1,
        "does not exist",
    );
    exits(
        &berth(&server, &["secrets", "check", "--stage", "dev"], None),
        6,
        "DB_PASSWORD is missing",
    );
}

#[tokio::test(flavor = "current_thread")]
async fn check_names_exactly_the_missing_ones_and_the_misplaced_ones() {
    let server = test_support::moto();
    let session = berth_aws::aws::for_emulator(&server.endpoint, "ap-northeast-1");
    // Two declared secrets, as an app with more than one would have.
    let declared = [
        Secret {
            name: "DB_PASSWORD",
            used_at: UsedAt::Runtime,
            description: "the database password",
        },
        Secret {
            name: "API_KEY",
            used_at: UsedAt::Runtime,
            description: "a partner's API key",
        },
    ];
    let names = Names::new("sample", "dev");
    let store = Store {
        ssm: &session.ssm,
        kms: &session.kms,
        names,
        region: "ap-northeast-1",
        interrupt: berth_aws::follow::Interrupt::default(),
    };
    let key = session
        .kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    session
        .kms
        .create_alias()
        .alias_name(names.kms_alias())
        .target_key_id(&key)
        .send()
        .await
        .unwrap();

    let value = SecretValue::new("v".to_owned()).unwrap();
    let put = store.put(&declared[0], &value, false).await.unwrap();
    assert_eq!(
        (put.parameter.as_str(), put.version),
        ("/berth/sample/dev/DB_PASSWORD", 1)
    );
    assert!(put.key_arn.ends_with(&format!(":key/{key}")), "{}", put.key_arn);
    assert_eq!(
        store.check(&declared).await.unwrap(),
        ["API_KEY is missing (/berth/sample/dev/API_KEY)"]
    );

    // Stored by hand as a plain String, or under another key: both reported.
    session
        .ssm
        .put_parameter()
        .name("/berth/sample/dev/API_KEY")
        .value("v")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let problems = store.check(&declared).await.unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("API_KEY is a String"), "{problems:?}");
    let other = session
        .kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    session
        .ssm
        .put_parameter()
        .name("/berth/sample/dev/API_KEY")
        .value("v")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .key_id(&other)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let problems = store.check(&declared).await.unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains(&format!("API_KEY is encrypted with {other}")),
        "{problems:?}"
    );
    assert!(
        problems[0].contains("expected the stage's key alias/berth/sample/dev"),
        "{problems:?}"
    );

    // A secret the app does not declare is listed, and says so; it is not a problem for check.
    let undeclared = Secret {
        name: "OLD_TOKEN",
        used_at: UsedAt::Runtime,
        description: "",
    };
    store.put(&undeclared, &value, false).await.unwrap();
    let listed = store.list(&declared).await.unwrap();
    let names_listed: Vec<&str> = listed.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names_listed, ["API_KEY", "DB_PASSWORD", "OLD_TOKEN"]);
}
