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
fn help_lists_the_commands_and_their_flags() {
    let o = berth(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    for c in ["deploy", "diff", "destroy", "status", "rollback"] {
        assert!(all(&o).contains(&format!("  {c}")), "{c}:\n{}", all(&o));
    }
    let o = berth(&["deploy", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    let text = all(&o);
    assert!(text.contains("Usage: cargo xtask deploy"), "{text}");
    for flag in [
        "--yes",
        "--no-execute",
        "--execute <CHANGE_SET>",
        "--recreate-failed",
        "--wait",
        "--progress",
        "--output",
        "--template-bucket",
        "--image-tag",
        "--profile",
        "--region",
    ] {
        assert!(text.contains(flag), "{flag} missing:\n{text}");
    }
}

#[test]
fn usage_errors_exit_64() {
    for args in [
        &["deploy"][..],
        &["deploy", "everything", "--stage", "dev"][..],
        &["deploy", "service"][..],
        &["status", "service", "--stage", "dev", "--colour"][..],
    ] {
        let o = berth(args);
        assert_eq!(o.status.code(), Some(64), "{args:?}: {}", all(&o));
    }
    let o = berth(&[
        "deploy",
        "service",
        "--stage",
        "dev",
        "--no-execute",
        "--execute",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(64));
    assert!(all(&o).contains("cannot be used with"), "{}", all(&o));
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
