//! The AWS commands under faults, signals and the wrong credentials: through test-support's
//! fault-injecting loopback proxy (one moto server for the whole file), and with scripted answers.

use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use test_support::proxy::{Fault, FaultProxy, Plan};

/// One moto server for every test in this file.
fn moto() -> &'static test_support::Server {
    static SERVER: OnceLock<test_support::Server> = OnceLock::new();
    SERVER.get_or_init(test_support::moto)
}

fn upstream() -> String {
    moto().endpoint.trim_start_matches("http://").to_owned()
}

fn all(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// berth-aws against `endpoint`, with the environment's own AWS settings removed.
fn berth(endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth-aws"));
    for var in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        cmd.env_remove(var);
    }
    cmd.args(args)
        .args(["--endpoint-url", endpoint])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn pass() -> Plan {
    Box::new(|_, _| Fault::Pass)
}

#[test]
fn an_explicit_profile_signs_the_requests_even_with_environment_keys() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials");
    std::fs::write(
        &credentials,
        "[other]\naws_access_key_id = AKIAPROFILEOTHER0001\naws_secret_access_key = profile-secret\n",
    )
    .unwrap();
    let config = dir.path().join("config");
    std::fs::write(&config, "[profile other]\nregion = ap-northeast-1\n").unwrap();
    let files = [
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
        ("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00001"),
        ("AWS_SECRET_ACCESS_KEY", "environment-secret"),
    ];
    let proxy = FaultProxy::start(&upstream(), 20, pass());
    let o = berth(
        &proxy.url(),
        &["status", "service", "--stage", "dev", "--profile", "other"],
        &files,
    );
    let keys: Vec<String> = proxy.seen().into_iter().map(|s| s.access_key).collect();
    assert!(!keys.is_empty(), "no request reached the proxy: {}", all(&o));
    assert!(
        keys.iter().all(|k| k == "AKIAPROFILEOTHER0001"),
        "the profile's key signs every request: {keys:?}"
    );
    // Without --profile, the environment's keys sign.
    let proxy = FaultProxy::start(&upstream(), 20, pass());
    let _ = berth(&proxy.url(), &["status", "service", "--stage", "dev"], &files);
    assert!(
        proxy
            .seen()
            .iter()
            .all(|s| s.access_key == "AKIAENVIRONMENT00001")
    );
    // A profile nobody defined is refused before any request.
    let proxy = FaultProxy::start(&upstream(), 20, pass());
    let o = berth(
        &proxy.url(),
        &["status", "service", "--stage", "dev", "--profile", "othre"],
        &files,
    );
    assert_eq!(o.status.code(), Some(64), "{}", all(&o));
    assert!(
        all(&o).contains(
            "--profile othre: no such profile in the AWS config or credentials files: expected one of: other"
        ),
        "{}",
        all(&o)
    );
    assert!(proxy.seen().is_empty());
}

/// A stage of its own (a copy of the example stage named `name`) with its key and alias in moto, so
/// that secrets can be stored under it; returns the stages directory.
fn secret_stage(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let example =
        std::fs::read_to_string(test_support::project_root().join("infra/stages/dev.yaml")).unwrap();
    std::fs::write(dir.path().join(format!("{name}.yaml")), example).unwrap();
    let cli = |args: &[&str]| test_support::aws_cli(moto(), "ap-northeast-1", args).unwrap();
    let key = cli(&["kms", "create-key"]);
    let id = key
        .split("\"KeyId\": \"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    cli(&[
        "kms",
        "create-alias",
        "--alias-name",
        &format!("alias/berth/sample/{name}"),
        "--target-key-id",
        &id,
    ]);
    dir
}

/// `secrets put` with `value` on stdin, through `endpoint`.
fn put(endpoint: &str, stages: &std::path::Path, stage: &str, value: &[u8], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth-aws"))
        .args(["secrets", "put", "DB_PASSWORD", "--stage", stage, "--stages"])
        .arg(stages)
        .args(["--endpoint-url", endpoint])
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), value).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_put_whose_answer_was_lost_is_reported_as_stored_not_as_nothing_written() {
    let stages = secret_stage("lostanswer");
    // The first PutParameter reaches SSM, which stores it; its answer never comes back. The SDK
    // retries, and SSM answers ParameterAlreadyExists.
    let first_put = std::sync::atomic::AtomicBool::new(true);
    let proxy = FaultProxy::start(
        &upstream(),
        50,
        Box::new(move |_, seen| {
            if seen.operation == "PutParameter" && first_put.swap(false, std::sync::atomic::Ordering::SeqCst)
            {
                Fault::ResetAfter
            } else {
                Fault::Pass
            }
        }),
    );
    let o = put(
        &proxy.url(),
        stages.path(),
        "lostanswer",
        b"lost-answer-value-1",
        &[],
    );
    let text = all(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(
        text.contains("/berth/sample/lostanswer/DB_PASSWORD: version 1"),
        "{text}"
    );
    assert!(
        text.contains("stored by an earlier attempt whose answer was lost"),
        "{text}"
    );
    assert!(!text.contains("nothing written"), "{text}");
    assert!(!text.contains("lost-answer-value-1"));
    let puts = proxy
        .seen()
        .iter()
        .filter(|s| s.operation == "PutParameter")
        .count();
    assert_eq!(puts, 2, "the lost answer was retried once");
    // Another value is still refused without --overwrite.
    let o = put(
        &moto().endpoint,
        stages.path(),
        "lostanswer",
        b"another-value",
        &[],
    );
    assert_eq!(o.status.code(), Some(3), "{}", all(&o));
    assert!(
        all(&o).contains("already exists with another value: nothing written"),
        "{}",
        all(&o)
    );
}

#[test]
fn an_aws_error_is_printed_as_its_code_and_message_with_the_value_in_no_encoding() {
    let stages = secret_stage("rawanswer");
    let value = "p\"w\\d<&>'x y";
    // SSM answers a validation error quoting the value, JSON-escaped, and a 500 after.
    let quoted = serde_json::to_string(&format!("Parameter value {value} is invalid")).unwrap();
    let body = format!("{{\"__type\":\"ValidationException\",\"message\":{quoted}}}");
    let proxy = FaultProxy::start(
        &upstream(),
        50,
        Box::new(move |_, seen| {
            if seen.operation == "PutParameter" {
                Fault::Answer {
                    status: 400,
                    body: body.clone(),
                }
            } else {
                Fault::Pass
            }
        }),
    );
    let o = put(&proxy.url(), stages.path(), "rawanswer", value.as_bytes(), &[]);
    let text = all(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("ValidationException: Parameter value <the value> is invalid"),
        "{text}"
    );
    for form in [
        value.to_owned(),
        serde_json::to_string(value).unwrap().trim_matches('"').to_owned(),
        "p\\\"w".to_owned(),
    ] {
        assert!(!text.contains(&form), "{form} in {text}");
    }
    assert!(text.len() < 400, "one line, not a raw response: {text}");
    // A 500 with a body that is no AWS error: its status, not the response.
    let proxy = FaultProxy::start(
        &upstream(),
        50,
        Box::new(|_, seen| {
            if seen.operation == "PutParameter" {
                Fault::Answer {
                    status: 500,
                    body: "<html>upstream exploded</html>".to_owned(),
                }
            } else {
                Fault::Pass
            }
        }),
    );
    let o = put(
        &proxy.url(),
        stages.path(),
        "rawanswer",
        b"v",
        &[("BERTH_CALL_TIMEOUT", "5")],
    );
    let text = all(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        !text.contains("Response {") && !text.contains("upstream exploded"),
        "{text}"
    );
}

#[test]
fn a_nul_byte_in_a_value_is_refused_before_anything_is_sent() {
    let proxy = FaultProxy::start(&upstream(), 10, pass());
    let stages = test_support::stages_copy();
    let o = put(&proxy.url(), stages.path(), "dev", b"a\0b", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    assert!(all(&o).contains("holds a NUL byte"), "{}", all(&o));
    assert!(proxy.seen().is_empty());
}

#[test]
fn a_server_that_never_answers_times_out_and_ctrl_c_cancels_the_call() {
    let proxy = FaultProxy::start(&upstream(), 50, Box::new(|_, _| Fault::Hang));
    let o = berth(
        &proxy.url(),
        &["status", "service", "--stage", "dev"],
        &[
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("BERTH_CALL_TIMEOUT", "2"),
        ],
    );
    let text = all(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("did not answer within 2 s"), "{text}");
    // Ctrl-C while the call hangs (with the default timeout): it is cancelled, and the command ends.
    let proxy = FaultProxy::start(&upstream(), 50, Box::new(|_, _| Fault::Hang));
    let child = Command::new(env!("CARGO_BIN_EXE_berth-aws"))
        .args([
            "status",
            "service",
            "--stage",
            "dev",
            "--endpoint-url",
            &proxy.url(),
        ])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the call is in flight (the proxy has seen it), as a terminal sends it.
    while proxy.seen().is_empty() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", all(&o));
    assert!(
        all(&o).contains("interrupted: nothing was changed"),
        "{}",
        all(&o)
    );
}

#[test]
fn output_that_cannot_be_written_is_a_failure() {
    let stages = secret_stage("devfull");
    let _ = put(
        &moto().endpoint,
        stages.path(),
        "devfull",
        b"full-disk-value",
        &[],
    );
    let out = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_berth-aws"))
        .args(["secrets", "list", "--stage", "devfull", "--stages"])
        .arg(stages.path())
        .args(["--endpoint-url", &moto().endpoint])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .stdout(out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("could not write the output to stdout"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Runs `body` (a shell script; `$BERTH` is berth-aws) in a pseudo-terminal, as someone at a terminal
/// would, and returns everything the terminal showed.
fn at_a_terminal(body: &str, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let typescript = dir.path().join("typescript");
    let out = Command::new("script")
        .args(["-qefc", body])
        .arg(&typescript)
        .env("BERTH", env!("CARGO_BIN_EXE_berth-aws"))
        .env("TYPESCRIPT", &typescript)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("`script` from util-linux runs these tests in a pseudo-terminal: install util-linux");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Shell: wait until the terminal shows what the basic regular expression `text` matches (written so
/// that it does not match itself: the typescript starts with the command), then send SIGINT to the background job, as a
/// terminal's Ctrl-C would, and print its exit status and whether the terminal echoes.
fn interrupt_when_shown(text: &str) -> String {
    format!(
        "pid=$!; n=0; until grep -q '{text}' \"$TYPESCRIPT\" || [ $n -gt 600 ]; do sleep 0.1; n=$((n+1)); done; \
         kill -INT $pid; wait $pid; echo \"exit=$?\"; stty -a | tr ' ' '\\n' | grep -x -- '-\\?echo'"
    )
}

#[test]
fn ctrl_c_at_the_secret_prompt_writes_nothing_and_restores_the_terminal() {
    let proxy = FaultProxy::start(&upstream(), 10, pass());
    let shown = at_a_terminal(
        &format!(
            "$BERTH secrets put DB_PASSWORD --stage dev --endpoint-url {} </dev/tty & {}",
            proxy.url(),
            interrupt_when_shown("(not[ ]shown)")
        ),
        &[("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")],
    );
    assert!(shown.contains("interrupted: nothing written"), "{shown}");
    assert!(shown.contains("exit=130"), "{shown}");
    assert_eq!(
        shown.lines().last().map(str::trim),
        Some("echo"),
        "the terminal echoes again: {shown}"
    );
    assert!(proxy.seen().is_empty(), "nothing was sent");
}

#[test]
fn ctrl_c_at_the_confirmation_prompt_means_no() {
    let stages = tempfile::tempdir().unwrap();
    let example =
        std::fs::read_to_string(test_support::project_root().join("infra/stages/dev.yaml")).unwrap();
    std::fs::write(stages.path().join("askme.yaml"), example).unwrap();
    let proxy = FaultProxy::start(&upstream(), 200, pass());
    let shown = at_a_terminal(
        &format!(
            "$BERTH deploy pipeline --stage askme --stages {} --endpoint-url {} --progress quiet </dev/tty & {}",
            stages.path().display(),
            proxy.url(),
            interrupt_when_shown("[[]y/N")
        ),
        &[("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")],
    );
    assert!(shown.contains("(interrupted: no)"), "{shown}");
    assert!(shown.contains("not executed; the change set is kept"), "{shown}");
    assert!(shown.contains("exit=3"), "{shown}");
    assert!(
        !proxy.seen().iter().any(|s| s.operation == "ExecuteChangeSet"),
        "nothing executed"
    );
}

/// Runs berth-aws against `proxy` (value on stdin, if any), sends it SIGINT once the proxy has seen
/// `op` (any call, when empty; the call then hangs), and returns what it did.
fn interrupted_at(proxy: &FaultProxy, op: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth-aws"))
        .args(args)
        .args(["--endpoint-url", &proxy.url()])
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(bytes) = stdin {
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), bytes).unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !proxy.seen().iter().any(|s| op.is_empty() || s.operation == op) {
        assert!(
            std::time::Instant::now() < deadline,
            "{op} never sent: {:?}",
            proxy.seen()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn ctrl_c_during_the_reads_of_a_command_that_only_reads_cancels_the_call() {
    let stages = secret_stage("readonly");
    let dir = stages.path().to_str().unwrap();
    for (args, op) in [
        (
            &["pipeline", "status", "--stage", "readonly", "--stages", dir][..],
            "",
        ),
        (
            &["logs", "service", "--stage", "readonly", "--stages", dir][..],
            "",
        ),
        (&["ami", "--stage", "readonly", "--stages", dir][..], ""),
    ] {
        let proxy = FaultProxy::start(&upstream(), 50, Box::new(|_, _| Fault::Hang));
        let o = interrupted_at(&proxy, op, args, None);
        assert_eq!(o.status.code(), Some(130), "{args:?}: {}", all(&o));
        assert!(
            all(&o).contains("interrupted: nothing was changed"),
            "{args:?}: {}",
            all(&o)
        );
    }
}

/// The stack exists (a scripted DescribeStacks); what it retains is being read when Ctrl-C comes.
#[test]
fn ctrl_c_before_destroy_deletes_nothing() {
    let body = "<DescribeStacksResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
        <DescribeStacksResult><Stacks><member><StackName>sample-dev-service</StackName>\
        <StackId>arn:aws:cloudformation:ap-northeast-1:123456789012:stack/sample-dev-service/1</StackId>\
        <StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime>\
        </member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>1</RequestId>\
        </ResponseMetadata></DescribeStacksResponse>"
        .to_owned();
    let proxy = FaultProxy::start(
        &upstream(),
        50,
        Box::new(move |_, seen| {
            if seen.operation == "DescribeStacks" {
                Fault::Answer {
                    status: 200,
                    body: body.clone(),
                }
            } else {
                Fault::Hang
            }
        }),
    );
    let o = interrupted_at(
        &proxy,
        "GetTemplate",
        &["destroy", "service", "--stage", "dev", "--yes"],
        None,
    );
    assert_eq!(o.status.code(), Some(130), "{}", all(&o));
    assert!(all(&o).contains("interrupted: nothing deleted"), "{}", all(&o));
    let sent: Vec<String> = proxy.seen().into_iter().map(|s| s.operation).collect();
    for write in ["DeleteStack", "UpdateCapacityProvider", "SetInstanceProtection"] {
        assert!(!sent.iter().any(|o| o == write), "{write} was sent: {sent:?}");
    }
}

/// Ctrl-C while the stage's key is looked up: the value is never sent.
#[test]
fn ctrl_c_before_secrets_put_writes_nothing() {
    let stages = secret_stage("ctrlcput");
    let proxy = FaultProxy::start(
        &upstream(),
        50,
        Box::new(|_, seen| {
            if seen.operation == "ListAliases" {
                Fault::Hang
            } else {
                Fault::Pass
            }
        }),
    );
    let dir = stages.path().to_str().unwrap();
    let o = interrupted_at(
        &proxy,
        "ListAliases",
        &[
            "secrets",
            "put",
            "DB_PASSWORD",
            "--stage",
            "ctrlcput",
            "--stages",
            dir,
        ],
        Some(b"interrupted-value"),
    );
    assert_eq!(o.status.code(), Some(130), "{}", all(&o));
    assert!(all(&o).contains("interrupted: nothing written"), "{}", all(&o));
    assert!(!all(&o).contains("interrupted-value"));
    let sent: Vec<String> = proxy.seen().into_iter().map(|s| s.operation).collect();
    assert!(!sent.iter().any(|o| o == "PutParameter"), "{sent:?}");
}

/// Answers that are no AWS error (a proxy's page, a load balancer's 502) are named by their status
/// with what to check, not as "unhandled error" or as no answer at all.
#[test]
fn error_answers_that_are_no_aws_error_are_named_by_their_status() {
    let page = |status: u16| -> Plan {
        Box::new(move |_, _| Fault::Answer {
            status,
            body: "<html>upstream exploded</html>".to_owned(),
        })
    };
    // Not retried: said at once, by its status.
    let proxy = FaultProxy::start(&upstream(), 50, page(403));
    let o = berth(
        &proxy.url(),
        &["status", "service", "--stage", "dev"],
        &[("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")],
    );
    let text = all(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("error: the answer was HTTP 403 with a body that is no AWS error")
            && text.contains("it may not be the AWS API"),
        "{text}"
    );
    assert!(!text.contains("upstream exploded"), "{text}");
    // Retried until the call's time is up: not "did not answer".
    let proxy = FaultProxy::start(&upstream(), 50, page(502));
    let o = berth(
        &proxy.url(),
        &["status", "service", "--stage", "dev"],
        &[
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("BERTH_CALL_TIMEOUT", "3"),
        ],
    );
    let text = all(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("answered only with errors for 3 s (the last: HTTP 502")
            && text.contains("a proxy or load balancer in front of the endpoint"),
        "{text}"
    );
    assert!(!text.contains("did not answer"), "{text}");
}
