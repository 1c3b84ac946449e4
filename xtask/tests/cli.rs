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

use test_support::stages_copy;

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
fn bad_values_of_the_light_commands_are_usage_errors_not_panics() {
    for (args, needle) in [
        (
            &["bench", "--runs", "0"][..],
            "invalid value '0' for '--runs <N>'",
        ),
        (
            &["bench", "--deploy", "--deploy-runs", "0"][..],
            "invalid value '0' for '--deploy-runs <N>'",
        ),
        (
            &["lint", "--rules", "--format", "json"][..],
            "cannot be used with",
        ),
        (
            &["lint", "infra/cfn/service.yaml", "--rules"][..],
            "cannot be used with",
        ),
    ] {
        let o = xtask(args);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(64), "{args:?}: {out}{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // An extra argument: plain words (no talk of secrets outside `secrets`).
    let o = xtask(&["synth", "extra"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(64), "{err}");
    assert!(err.contains("unexpected argument 'extra'"), "{err}");
    assert!(!err.contains("secret"), "{err}");
}

/// xtask with a `cargo` that fails the test if it is ever run, and an empty target directory: what
/// answers here answers on a fresh clone without building berth-aws (and so the AWS SDK).
fn xtask_without_cargo(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    without_cargo(dir.path(), args).output().expect("xtask runs")
}

/// The command behind [`xtask_without_cargo`], its fake cargo and target directory in `dir`.
fn without_cargo(dir: &Path, args: &[&str]) -> Command {
    let fake = dir.join("cargo");
    write_script(&fake, "#!/bin/sh\necho \"cargo was run: $*\" >&2\nexit 99\n");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(args)
        .env("CARGO", &fake)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env_remove("BERTH_AWS_BINARY");
    cmd
}

fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn a_given_berth_aws_binary_is_run_instead_of_built() {
    let dir = tempfile::tempdir().unwrap();
    let given = dir.path().join("berth-aws-given");
    write_script(&given, "#!/bin/sh\necho \"given binary ran: $*\" >&2\nexit 3\n");
    let o = without_cargo(dir.path(), &["status", "service", "--stage", "dev"])
        .env("BERTH_AWS_BINARY", &given)
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "its exit code is the command's: {err}");
    assert!(
        err.contains("given binary ran: status service --stage dev"),
        "{err}"
    );
    assert!(!err.contains("cargo was run"), "{err}");

    let missing = dir.path().join("nowhere/berth-aws");
    let o = without_cargo(dir.path(), &["status", "service", "--stage", "dev"])
        .env("BERTH_AWS_BINARY", &missing)
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("BERTH_AWS_BINARY={}: no such file", missing.display())),
        "{err}"
    );
    assert!(!err.contains("cargo was run"), "{err}");
}

#[test]
fn help_and_usage_errors_of_the_aws_commands_need_no_build() {
    for (args, code, needle) in [
        (
            &["deploy", "--help"][..],
            0,
            "Usage: cargo xtask deploy [OPTIONS] --stage <STAGE> <STACK>",
        ),
        (
            &["secrets", "put", "--help"][..],
            0,
            "Usage: cargo xtask secrets put",
        ),
        (&["status", "--help"][..], 0, "--endpoint-url <URL>"),
        (
            &["deploy", "service", "--stage", "dev", "--colour"][..],
            64,
            "unexpected argument '--colour'",
        ),
        (
            &["deploy", "everything", "--stage", "dev"][..],
            64,
            "invalid value 'everything'",
        ),
        (&["diff", "service"][..], 64, "--stage <STAGE>"),
        (&["secrets", "rm", "--stage", "dev"][..], 64, "<NAME>"),
        (&["pipeline", "--help"][..], 0, "Usage: cargo xtask pipeline"),
        (&["pipeline", "approve", "--help"][..], 0, "--comment <TEXT>"),
        (&["service", "status", "--help"][..], 0, "--watch"),
        (&["logs", "build", "--help"][..], 0, "--build <ID>"),
        (&["drift", "--help"][..], 0, "--revert-drift"),
        (
            &["pipeline", "status", "--stage", "dev", "--runs", "0"][..],
            64,
            "0 is not in 1..=20",
        ),
        (
            &["status", "service", "--stage", "dev", "--endpoint-url", "notaurl"][..],
            64,
            "invalid value 'notaurl' for '--endpoint-url <URL>': expected http(s)://host[:port]",
        ),
        (
            &["deploy", "service", "--stage", "dev", "--role-arn", "notanarn"][..],
            64,
            "invalid value 'notanarn' for '--role-arn <ARN>': expected an IAM role ARN",
        ),
        (
            &[
                "deploy",
                "service",
                "--stage",
                "dev",
                "--template-bucket",
                "Bad_Bucket",
            ][..],
            64,
            "invalid value 'Bad_Bucket' for '--template-bucket <BUCKET>': expected an S3 bucket name",
        ),
        (
            &["rollback", "service", "--stage", "dev", "--skip", ""][..],
            64,
            "invalid value '' for '--skip <LOGICAL_ID>'",
        ),
        (
            &["logs", "everything", "--stage", "dev"][..],
            64,
            "unrecognized subcommand",
        ),
        (
            &[
                "deploy",
                "service",
                "--stage",
                "dev",
                "--revert-drift",
                "--execute",
                "x",
            ][..],
            64,
            "cannot be used with",
        ),
    ] {
        let o = xtask_without_cargo(args);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {out}{err}");
        assert!(!err.contains("cargo was run"), "{args:?} ran cargo: {err}");
        assert!(
            out.contains(needle) || err.contains(needle),
            "{args:?}: `{needle}` missing:\n{out}{err}"
        );
    }
    // A command that must talk to AWS is the one that builds berth-aws.
    let o = xtask_without_cargo(&["status", "service", "--stage", "dev"]);
    assert!(
        text(&o)
            .1
            .contains("cargo was run: build --manifest-path crates/berth-aws/Cargo.toml --bin berth-aws"),
        "{:?}",
        text(&o)
    );
}

#[test]
fn the_aws_commands_are_handed_to_berth_aws_with_their_exit_codes() {
    let o = xtask(&["status", "service", "--stage", "qa"]);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    assert!(
        text(&o).1.contains("no stage `qa`: expected one of: dev, prod"),
        "{:?}",
        text(&o)
    );
}

/// The `error:` block of a command's stderr, up to its last problem line.
fn error_block(err: &str) -> Vec<&str> {
    err.lines()
        .skip_while(|l| !l.starts_with("error: "))
        .take_while(|l| *l != "nothing written" && *l != "nothing sent to AWS")
        .collect()
}

#[test]
fn deploy_and_diff_refuse_what_synth_refuses_in_the_same_words() {
    let stages = stages_copy();
    let dev = stages.path().join("dev.yaml");
    let broken = std::fs::read_to_string(&dev)
        .unwrap()
        .replace("  min: 2 #", "  min: 5 #")
        .replace("  min_count: 2\n", "  min_count: 0\n");
    std::fs::write(&dev, broken).unwrap();
    let dir = stages.path().to_str().unwrap();
    let synth = xtask(&["synth", "--stage", "dev", "--stages", dir, "--check"]);
    assert_eq!(synth.status.code(), Some(1));
    let (_, synth_err) = text(&synth);
    let expected = error_block(&synth_err);
    assert!(expected.len() >= 3, "{synth_err}");
    assert!(
        expected[0].starts_with("error: 2 problems in the stage files:"),
        "{synth_err}"
    );
    assert!(synth_err.contains("\nnothing written"), "{synth_err}");
    for args in [
        &["deploy", "service", "--stage", "dev", "--yes"][..],
        &["deploy", "pipeline", "--stage", "dev", "--yes"][..],
        &["diff", "service", "--stage", "dev"][..],
    ] {
        let mut all = args.to_vec();
        // An endpoint nobody listens on: the refusal comes before any AWS call.
        all.extend(["--stages", dir, "--endpoint-url", "http://127.0.0.1:9"]);
        let o = xtask(&all);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(error_block(&err), expected, "{args:?}");
        assert!(err.contains("\nnothing sent to AWS"), "{err}");
    }
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
        .replace("  min: 2 #", "  min: 5 #")
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
fn synth_writes_nothing_when_a_file_stands_where_a_folder_goes() {
    let out = tempfile::tempdir().unwrap();
    // `dev` must be the folder of the dev stage's parameter files.
    std::fs::write(out.path().join("dev"), "in the way").unwrap();
    let o = xtask(&["synth", "--out", out.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    let (_, err) = text(&o);
    assert!(
        err.contains(&format!(
            "{}: is a file, but {} goes inside it: expected a directory (or nothing) there",
            out.path().join("dev").display(),
            out.path().join("dev/pipeline.json").display()
        )) && err.contains("\nnothing written"),
        "{err}"
    );
    let mut left: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["dev"], "nothing may be written unless everything can be");
}

#[cfg(unix)]
#[test]
fn synth_writes_files_0644_less_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let out = tempfile::tempdir().unwrap();
    let o = xtask(&["synth", "--out", out.path().to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let probe = out.path().join("probe");
    std::fs::write(&probe, "").unwrap();
    let umask_applied = std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
    for f in ["pipeline.yaml", "dev/service.json"] {
        let mode = std::fs::metadata(out.path().join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o644 & umask_applied, "{f}: {mode:o}");
    }
}

#[test]
fn check_names_stale_files_and_the_fix() {
    let stages = stages_copy();
    let dev = stages.path().join("dev.yaml");
    let changed = std::fs::read_to_string(&dev)
        .unwrap()
        .replace("  min_count: 2\n", "  min_count: 3\n");
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
    // The fix is the same command without --check: the same stage, the same stage files.
    assert!(
        err.contains(&format!(
            "hint: run `cargo xtask synth --stage dev --stages {}`",
            stages.path().display()
        )),
        "{err}"
    );
    // The committed file is untouched.
    assert!(
        std::fs::read_to_string(root().join("infra/cfn/dev/service.json"))
            .unwrap()
            .contains("\"MinCount\": \"2\"")
    );
}

#[test]
fn json_templates_go_to_out_not_over_the_committed_yaml() {
    for args in [
        &["synth", "--format", "json"][..],
        &["synth", "--check", "--format", "json"][..],
    ] {
        let o = xtask(args);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("--format json: infra/cfn holds the committed YAML templates")
                && err.contains("expected --out DIR with --format json"),
            "{args:?}: {err}"
        );
    }
    assert!(!root().join("infra/cfn/pipeline.json").exists());
    let out = tempfile::tempdir().unwrap();
    let o = xtask(&["synth", "--format", "json", "--out", out.path().to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    // The JSON pipeline template is over the inline limit: said once, as one warning.
    let (_, err) = text(&o);
    assert!(
        err.contains("warning: pipeline template: the rendered template is ")
            && !err.contains("template: warning"),
        "{err}"
    );
    let json = std::fs::read_to_string(out.path().join("pipeline.json")).unwrap();
    assert!(json.trim_start().starts_with('{'), "{json:.80}");
}

#[test]
fn check_says_when_everything_is_up_to_date() {
    let o = xtask(&["synth", "--check", "--stage", "dev"]);
    let (_, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("synth --check: ") && err.contains(" files up to date"),
        "{err}"
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
fn lint_refuses_a_file_it_has_nothing_to_judge_in() {
    let stage = root().join("infra/stages/dev.yaml");
    let params = root().join("infra/cfn/dev/service.json");
    let template = root().join("infra/cfn/service.yaml");
    let o = xtask(&[
        "lint",
        template.to_str().unwrap(),
        stage.to_str().unwrap(),
        params.to_str().unwrap(),
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        err.contains(
            "not a template nor a buildspec, so nothing to lint: infra/stages/dev.yaml, infra/cfn/dev/service.json"
        ) && err.contains("stage files are checked by `cargo xtask synth`"),
        "{err}"
    );
    assert!(
        !err.contains("0 error(s)"),
        "no verdict on what was not judged: {err}"
    );
}

#[test]
fn output_that_cannot_be_written_is_an_error_not_a_panic() {
    for args in [
        &["plan", "--stage", "dev", "--output", "json"][..],
        &["graph", "--stage", "dev"][..],
        &["lint", "--rules"][..],
        &["lint", "--format", "json"][..],
    ] {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .stdout(full)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("could not write the output to stdout"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
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

#[test]
fn plan_models_the_rollouts_of_a_stage() {
    let o = xtask(&["plan", "--stage", "dev", "--scenario", "instances"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let (out, _) = text(&o);
    assert!(
        out.starts_with("plan for stage dev: every container instance replaced (a model, not a measurement)"),
        "{out}"
    );
    assert!(out.contains("deregistration delay: 30 s  [TargetGroup."), "{out}");
    assert!(
        out.contains("fewest tasks serving: 2 (the service allows no fewer than 1)"),
        "{out}"
    );
    let o = xtask(&["plan", "--stage", "prod", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(v["model"], true);
    assert_eq!(v["plans"].as_array().unwrap().len(), 3);
    assert!(v["plans"][0]["push_to_serving"]["total_cold_s"].as_u64().unwrap() > 0);
    let o = xtask(&["plan", "--stage", "qa"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("no stage `qa`"), "{:?}", text(&o));
}
