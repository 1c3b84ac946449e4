//! The command line: help, usage errors and their exit codes (no AWS needed for these).

use std::process::{Command, Output, Stdio};

fn berth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth-aws"))
        .args(args)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn all(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_binary_answers_help_and_usage_errors_with_their_codes() {
    // The grammar is crates/cli's (tested there); this is the binary's handling of it.
    let o = berth(&["deploy", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(all(&o).contains("Usage: cargo xtask deploy"), "{}", all(&o));
    let o = berth(&["status", "service", "--stage", "dev", "--colour"]);
    assert_eq!(o.status.code(), Some(64), "{}", all(&o));
    let o = berth(&["synth"]);
    assert_eq!(o.status.code(), Some(64), "{}", all(&o));
    assert!(
        all(&o).contains("run the others as `cargo xtask <command>`"),
        "{}",
        all(&o)
    );
}

#[test]
fn an_image_tag_for_the_pipeline_stack_is_a_usage_error() {
    let o = berth(&[
        "deploy",
        "pipeline",
        "--stage",
        "dev",
        "--image-tag",
        "x",
        "--endpoint-url",
        "http://127.0.0.1:9",
    ]);
    assert_eq!(o.status.code(), Some(64), "{}", all(&o));
    assert!(all(&o).contains("--image-tag is for the service stack"));
}

#[test]
fn an_unknown_stage_names_the_known_ones() {
    let o = berth(&["status", "service", "--stage", "qa"]);
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    assert!(
        all(&o).contains("no stage `qa`: expected one of: dev, prod"),
        "{}",
        all(&o)
    );
}

#[test]
fn a_secret_value_is_never_an_argument() {
    let o = berth(&["secrets", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    for c in ["put", "list", "rm", "check"] {
        assert!(all(&o).contains(&format!("  {c}")), "{c}:\n{}", all(&o));
    }
    // A value given as an argument is a usage error, before anything is read or sent.
    for args in [
        &["secrets", "put", "DB_PASSWORD", "hunter2", "--stage", "dev"][..],
        &[
            "secrets",
            "put",
            "DB_PASSWORD",
            "--stage",
            "dev",
            "--value",
            "hunter2",
        ][..],
    ] {
        let o = berth(args);
        assert_eq!(o.status.code(), Some(64), "{args:?}: {}", all(&o));
        assert!(
            all(&o).contains("one argument more than the command takes")
                || all(&o).contains("unexpected argument"),
            "{}",
            all(&o)
        );
        // Never echoed: it may be the secret.
        assert!(!all(&o).contains("hunter2"), "{}", all(&o));
    }
    // Typed where the name belongs, a value is not echoed either.
    let o = berth(&["secrets", "put", "hunter2", "--stage", "dev"]);
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    assert!(
        all(&o).contains("the name given (7 characters; not shown"),
        "{}",
        all(&o)
    );
    assert!(!all(&o).contains("hunter2"), "{}", all(&o));
    let o = berth(&["secrets", "put", "--help"]);
    assert!(all(&o).contains("The value is never an argument"), "{}", all(&o));
}

#[test]
fn bad_secret_names_are_refused_before_anything_is_read_or_sent() {
    // No endpoint answers on port 9: reaching AWS would fail differently.
    for (name, says) in [
        ("DB-PASSWORD", "`DB-PASSWORD` is not a secret name"),
        ("ssm_thing", "SSM reserves names starting with `aws` or `ssm`"),
        ("NOT_DECLARED", "`NOT_DECLARED` is not a secret the app declares"),
    ] {
        let o = berth(&[
            "secrets",
            "put",
            name,
            "--stage",
            "dev",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", all(&o));
        assert!(all(&o).contains(says), "{name}: {}", all(&o));
    }
    let o = berth(&["secrets", "check", "--stage", "qa"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(all(&o).contains("no stage `qa`"), "{}", all(&o));
}

#[test]
fn an_endpoint_that_refuses_is_named_with_what_to_check() {
    // Nothing listens on port 9: the first refused connection ends the command (no retries).
    let o = Command::new(env!("CARGO_BIN_EXE_berth-aws"))
        .args([
            "destroy",
            "service",
            "--stage",
            "dev",
            "--yes",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    let text = all(&o);
    assert!(
        text.contains("could not reach the endpoint http://127.0.0.1:9 (--endpoint-url or AWS_ENDPOINT_URL)"),
        "{text}"
    );
    assert!(text.contains("hint: check the region"), "{text}");
    assert!(text.contains("cause: "), "{text}");
}

#[test]
fn the_operating_commands_answer_help_usage_errors_and_unknown_stages() {
    let o = berth(&["pipeline", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    for c in ["status", "watch", "release", "approve", "reject", "retry"] {
        assert!(all(&o).contains(&format!("  {c}")), "{c}:\n{}", all(&o));
    }
    let o = berth(&["pipeline", "approve", "--help"]);
    assert!(
        all(&o).contains("--yes") && all(&o).contains("--comment <TEXT>"),
        "{}",
        all(&o)
    );
    let o = berth(&["logs", "--help"]);
    assert!(
        all(&o).contains("  service") && all(&o).contains("  build"),
        "{}",
        all(&o)
    );
    for args in [
        &["pipeline", "status", "--stage", "dev", "--runs", "0"][..],
        &["service", "status"][..],
        &["logs", "build", "--stage", "dev", "--colour"][..],
        &["drift", "--stage", "dev"][..],
    ] {
        let o = berth(args);
        assert_eq!(o.status.code(), Some(64), "{args:?}: {}", all(&o));
    }
    for args in [
        &["pipeline", "status", "--stage", "qa"][..],
        &["service", "status", "--stage", "qa"][..],
        &["logs", "service", "--stage", "qa"][..],
        &["drift", "service", "--stage", "qa"][..],
    ] {
        let o = berth(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", all(&o));
        assert!(
            all(&o).contains("no stage `qa`: expected one of: dev, prod"),
            "{args:?}: {}",
            all(&o)
        );
    }
    // A bad --since is a usage error, before any call (nothing listens on port 9).
    let o = berth(&[
        "logs",
        "service",
        "--stage",
        "dev",
        "--since",
        "yesterday",
        "--endpoint-url",
        "http://127.0.0.1:9",
    ]);
    assert_eq!(o.status.code(), Some(64), "{}", all(&o));
    assert!(
        all(&o)
            .contains("--since yesterday: expected a duration (30s, 10m, 2h, 1d, 1h30m) or an RFC 3339 time"),
        "{}",
        all(&o)
    );
}

#[test]
fn an_unreachable_endpoint_is_named_by_the_operating_commands_too() {
    for args in [
        &["pipeline", "status", "--stage", "dev"][..],
        &["service", "status", "--stage", "dev"][..],
        &["logs", "build", "--stage", "dev"][..],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_berth-aws"))
            .args(args)
            .args(["--endpoint-url", "http://127.0.0.1:9"])
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", all(&o));
        assert!(
            all(&o).contains("could not reach the endpoint http://127.0.0.1:9"),
            "{args:?}: {}",
            all(&o)
        );
    }
}
