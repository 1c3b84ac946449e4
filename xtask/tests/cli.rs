//! The command line: help, errors, exit codes, and that a failing synth writes nothing.

use std::path::Path;
use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("xtask runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// A copy of the shipped stage files in a temporary directory.
fn stages_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["dev.yaml", "prod.yaml"] {
        std::fs::copy(root().join("infra/stages").join(name), dir.path().join(name)).unwrap();
    }
    dir
}

#[test]
fn no_command_and_help_list_the_commands() {
    for args in [&[][..], &["--help"][..]] {
        let o = xtask(args);
        assert!(o.status.success());
        let (out, _) = text(&o);
        for cmd in ["ci", "codegen", "synth", "tools"] {
            assert!(out.contains(&format!("  {cmd}")), "`{cmd}` missing from:\n{out}");
        }
    }
}

#[test]
fn unknown_flags_are_usage_errors() {
    let o = xtask(&["synth", "--colour"]);
    assert_eq!(o.status.code(), Some(64));
    assert!(text(&o).1.contains("unexpected argument '--colour'"));
}

#[test]
fn the_aws_commands_are_handed_to_berth_aws_with_their_exit_codes() {
    // Forwarded as they are: berth-aws parses them, and its exit code is xtask's.
    let o = xtask(&["diff", "service", "--stage", "dev", "--colour"]);
    assert_eq!(o.status.code(), Some(64), "{:?}", text(&o));
    assert!(
        text(&o).1.contains("unexpected argument '--colour'"),
        "{:?}",
        text(&o)
    );
    let o = xtask(&["status", "service", "--stage", "qa"]);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    assert!(
        text(&o).1.contains("no stage `qa`: expected one of: dev, prod"),
        "{:?}",
        text(&o)
    );
    let o = xtask(&["deploy", "--help"]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert!(text(&o).0.contains("Usage: cargo xtask deploy"), "{:?}", text(&o));
}

#[test]
fn synth_writes_the_committed_files() {
    let out = tempfile::tempdir().unwrap();
    let o = xtask(&["synth", "--out", out.path().to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    for f in [
        "pipeline.yaml",
        "service.yaml",
        "dev/service.json",
        "dev/pipeline.json",
        "prod/service.json",
    ] {
        let written = std::fs::read(out.path().join(f)).unwrap();
        let committed = std::fs::read(root().join("infra/cfn").join(f)).unwrap();
        assert!(written == committed, "{f} differs from the committed copy");
    }
}

#[test]
fn a_failing_synth_writes_nothing_and_says_where() {
    let stages = stages_copy();
    let dev = stages.path().join("dev.yaml");
    let text_in = std::fs::read_to_string(&dev)
        .unwrap()
        .replace("  min: 2\n", "  min: 5\n")
        .replace("vpc-0123456789abcdef0", "vpc-42");
    std::fs::write(&dev, &text_in).unwrap();
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("cfn");
    let o = xtask(&[
        "synth",
        "--stages",
        stages.path().to_str().unwrap(),
        "--out",
        target.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let (_, err) = text(&o);
    let vpc_line = text_in.lines().position(|l| l.contains("vpc-42")).unwrap() + 1;
    assert!(err.contains(&format!("dev.yaml:{vpc_line}:")), "{err}");
    assert!(err.contains("`vpc-42` is not a VPC ID"), "{err}");
    assert!(!target.exists(), "nothing may be written when synth fails");
}

#[test]
fn check_names_stale_files_and_the_fix() {
    let stages = stages_copy();
    let dev = stages.path().join("dev.yaml");
    let changed = std::fs::read_to_string(&dev)
        .unwrap()
        .replace("desired_count: 2", "desired_count: 3");
    std::fs::write(&dev, changed).unwrap();
    let o = xtask(&[
        "synth",
        "--check",
        "--stage",
        "dev",
        "--stages",
        stages.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let (_, err) = text(&o);
    assert!(err.contains("infra/cfn/dev/service.json"), "{err}");
    assert!(err.contains("hint: run `cargo xtask synth --stage dev`"), "{err}");
    // The committed file is untouched.
    assert!(
        std::fs::read_to_string(root().join("infra/cfn/dev/service.json"))
            .unwrap()
            .contains("\"DesiredCount\": \"2\"")
    );
}

#[test]
fn an_unknown_stage_lists_the_known_ones() {
    let o = xtask(&["synth", "--stage", "qa", "--out", "/nonexistent"]);
    assert_eq!(o.status.code(), Some(1));
    let (_, err) = text(&o);
    assert!(err.contains("no stage `qa`: expected one of: dev, prod"), "{err}");
}

#[test]
fn lint_passes_the_environment_and_catches_the_seeds_mistakes() {
    let o = xtask(&["lint"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(
        text(&o).1.contains("lint: 3 file(s), 0 error(s)"),
        "{:?}",
        text(&o)
    );

    let fixtures = root().join("crates/lint/tests/fixtures");
    let template = fixtures.join("seed-mistakes.yaml");
    let buildspec = fixtures.join("seed-buildspec.yml");
    let o = xtask(&["lint", template.to_str().unwrap(), buildspec.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    let (out, err) = text(&o);
    // The duplicated key: a parse error with line and column; the buildspec's --build-arg.
    assert!(
        out.contains("crates/lint/tests/fixtures/seed-mistakes.yaml:150:17: error[BL001]"),
        "{out}"
    );
    assert!(out.contains("crates/lint/tests/fixtures/seed-buildspec.yml:13:9: error[BL601] build (phases.build.commands[0])"), "{out}");
    assert!(
        out.contains("hint: a build argument is kept in the image's history"),
        "{out}"
    );
    assert!(err.contains("2 error(s)"), "{err}");

    let o = xtask(&["lint", "--format", "json", buildspec.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(v["findings"][0]["code"], "BL601");

    let o = xtask(&["lint", "no/such/template.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o)
            .1
            .contains("reading no/such/template.yaml: expected a template"),
        "{:?}",
        text(&o)
    );

    let o = xtask(&["lint", "--rules"]);
    assert!(o.status.success());
    assert!(
        text(&o)
            .0
            .contains("BL103  error    the instances' group admits more"),
        "{}",
        text(&o).0
    );
}

#[test]
fn graph_draws_the_environment() {
    let o = xtask(&["graph", "--stage", "dev"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let (out, _) = text(&o);
    assert!(out.starts_with("flowchart LR\n"), "{out}");
    // The README holds exactly this picture.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("```mermaid\n{out}```")),
        "the README's graph is not the example stage's"
    );
    let o = xtask(&["graph", "--format", "dot"]);
    assert!(text(&o).0.starts_with("digraph berth {"), "{:?}", text(&o));
    let o = xtask(&["graph", "--stage", "qa"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("no stage `qa`"), "{:?}", text(&o));
}
