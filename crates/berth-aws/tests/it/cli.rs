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

/// berth-aws with no AWS settings of the environment's own but `env`: no keys, no profile, config and
/// credentials files that do not exist, the instance metadata service off unless `env` turns it on.
fn berth_bare(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth-aws"));
    for var in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "BERTH_CALL_TIMEOUT",
    ] {
        cmd.env_remove(var);
    }
    cmd.args(args)
        .env("HOME", dir.path())
        .env("AWS_CONFIG_FILE", dir.path().join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_bad_endpoint_url_is_a_usage_error_naming_the_flag() {
    let o = berth_bare(
        &["status", "service", "--stage", "dev", "--endpoint-url", "notaurl"],
        &[],
    );
    assert_eq!(o.status.code(), Some(64), "{}", all(&o));
    let text = all(&o);
    assert!(
        text.contains("invalid value 'notaurl' for '--endpoint-url <URL>'")
            && text.contains("expected http(s)://host[:port]"),
        "{text}"
    );
}

#[test]
fn a_bad_aws_endpoint_url_variable_is_a_usage_error_naming_it() {
    let o = berth_bare(
        &["status", "service", "--stage", "dev"],
        &[("AWS_ENDPOINT_URL", "localhost:4566")],
    );
    let text = all(&o);
    assert_eq!(o.status.code(), Some(64), "{text}");
    assert!(
        text.contains("AWS_ENDPOINT_URL=localhost:4566: expected http(s)://host[:port]"),
        "{text}"
    );
    // The flag wins: the variable is not read then.
    let o = berth_bare(
        &[
            "status",
            "service",
            "--stage",
            "dev",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
        &[
            ("AWS_ENDPOINT_URL", "localhost:4566"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ],
    );
    assert_ne!(o.status.code(), Some(64), "{}", all(&o));
}

#[test]
fn a_region_flag_that_is_no_region_is_refused_before_any_call() {
    // Nothing listens on port 9: a call would fail differently (and after the connect timeout).
    let o = berth_bare(
        &[
            "status",
            "service",
            "--stage",
            "dev",
            "--region",
            "us-esat-1",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
        &[("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")],
    );
    assert_eq!(o.status.code(), Some(64), "{}", all(&o));
    let text = all(&o);
    assert!(
        text.contains(
            "--region us-esat-1: `us-esat-1` is not an AWS region (the list in infra/data/regions.csv"
        ),
        "{text}"
    );
    assert!(
        text.contains("did you mean one of `us-east-1` (US East (N. Virginia))"),
        "{text}"
    );
    assert!(!text.contains("could not reach"), "{text}");
}

#[test]
fn a_bad_call_timeout_is_refused_before_any_call() {
    for value in ["abc", "0"] {
        let o = berth_bare(
            &[
                "status",
                "service",
                "--stage",
                "dev",
                "--endpoint-url",
                "http://127.0.0.1:9",
            ],
            &[
                ("AWS_ACCESS_KEY_ID", "test"),
                ("AWS_SECRET_ACCESS_KEY", "test"),
                ("BERTH_CALL_TIMEOUT", value),
            ],
        );
        assert_eq!(o.status.code(), Some(64), "{value}: {}", all(&o));
        assert!(
            all(&o).contains(&format!(
                "BERTH_CALL_TIMEOUT={value}: expected a whole number of seconds"
            )),
            "{value}: {}",
            all(&o)
        );
    }
}

#[test]
fn an_undefined_aws_profile_variable_is_refused_like_the_flag() {
    let o = berth_bare(
        &[
            "status",
            "service",
            "--stage",
            "dev",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
        &[("AWS_PROFILE", "nosuch")],
    );
    assert_eq!(o.status.code(), Some(64), "{}", all(&o));
    assert!(
        all(&o).contains("AWS_PROFILE=nosuch: no such profile in the AWS config or credentials files"),
        "{}",
        all(&o)
    );
    // The flag wins over the variable, and is named itself.
    let o = berth_bare(
        &["status", "service", "--stage", "dev", "--profile", "other"],
        &[("AWS_PROFILE", "nosuch")],
    );
    assert_eq!(o.status.code(), Some(64), "{}", all(&o));
    assert!(
        all(&o).contains("--profile other: no such profile"),
        "{}",
        all(&o)
    );
    // `AWS_PROFILE=default` without files (a CI image with environment keys) is no usage error.
    let o = berth_bare(
        &[
            "status",
            "service",
            "--stage",
            "dev",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
        &[
            ("AWS_PROFILE", "default"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ],
    );
    assert_ne!(o.status.code(), Some(64), "{}", all(&o));
    assert!(!all(&o).contains("no such profile"), "{}", all(&o));
}

/// An instance metadata service that answers every request 403 (reachable, but forbidden), on
/// 127.0.0.1; its address.
fn forbidding_metadata_service() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 4096];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let _ =
                conn.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    format!("http://{addr}")
}

#[test]
fn credentials_that_fail_to_load_get_the_hint_whatever_the_provider() {
    let imds = forbidding_metadata_service();
    for metadata in [
        &[
            ("AWS_EC2_METADATA_DISABLED", "false"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.as_str()),
        ][..],
        &[("AWS_EC2_METADATA_DISABLED", "true")][..],
    ] {
        let o = berth_bare(
            &[
                "status",
                "service",
                "--stage",
                "dev",
                "--endpoint-url",
                "http://127.0.0.1:9",
            ],
            metadata,
        );
        assert_eq!(o.status.code(), Some(1), "{metadata:?}: {}", all(&o));
        let text = all(&o);
        assert!(
            text.contains("hint: AWS refused the credentials or found none"),
            "{metadata:?}: {text}"
        );
    }
}
