//! ARCHITECTURE.md's invariants about dependencies.
//!
//! Read from `cargo tree -p <package>`, which resolves features for that package alone, as building it
//! does (`cargo metadata` unifies features across the workspace and would show the app's server
//! dependencies under xtask, which `cargo xtask synth` never compiles).

use std::collections::BTreeSet;
use std::process::Command;

/// The names of the packages `package` depends on through `edges` (`normal`, `normal,build`), down to
/// `depth` levels (all when None); the package itself excluded.
fn cargo_tree(package: &str, edges: &str, depth: Option<u32>) -> BTreeSet<String> {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.arg("tree");
    if package == "berth-aws" {
        // The AWS half is a workspace of its own.
        cmd.args(["--manifest-path", "../crates/berth-aws/Cargo.toml"]);
    }
    cmd.args([
        "--offline",
        "-p",
        package,
        "-e",
        edges,
        "--prefix",
        "none",
        "--format",
        "{p}",
    ])
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(d) = depth {
        cmd.args(["--depth", &d.to_string()]);
    }
    let out = cmd.output().expect("cargo tree runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != package)
        .map(str::to_owned)
        .collect()
}

/// Every package `package` depends on (normal and build dependencies, transitively).
fn tree(package: &str) -> BTreeSet<String> {
    cargo_tree(package, "normal,build", None)
}

/// The direct dependencies of `package`.
fn direct(package: &str) -> BTreeSet<String> {
    cargo_tree(package, "normal", Some(1))
}

#[test]
fn app_and_infra_meet_only_in_pipeline_model() {
    assert!(!tree("app").contains("infra"), "app depends on infra");
    assert!(!tree("infra").contains("app"), "infra depends on app");
    assert!(
        direct("app").contains("pipeline-model"),
        "app must depend on pipeline-model"
    );
    assert!(
        direct("infra").contains("pipeline-model"),
        "infra must depend on pipeline-model"
    );
}

#[test]
fn the_contract_needs_nothing_but_serde() {
    let deps = tree("pipeline-model");
    let allowed = [
        "serde",
        "serde_core",
        "serde_derive",
        "proc-macro2",
        "quote",
        "syn",
        "unicode-ident",
    ];
    let extra: Vec<&String> = deps.iter().filter(|d| !allowed.contains(&d.as_str())).collect();
    assert!(
        extra.is_empty(),
        "pipeline-model does no I/O and needs only serde; it depends on {extra:?}"
    );
}

#[test]
fn the_template_language_knows_cloudformation_not_berth() {
    let deps = tree("cfn");
    for ours in ["pipeline-model", "infra", "app", "xtask"] {
        assert!(!deps.contains(ours), "cfn depends on {ours}");
    }
}

#[test]
fn nothing_on_the_synth_path_compiles_the_aws_sdk_or_the_app_server() {
    let deps = tree("xtask");
    let heavy: Vec<&String> = deps
        .iter()
        .filter(|d| d.starts_with("aws-") || d.starts_with("hyper") || *d == "tokio" || *d == "axum")
        .collect();
    assert!(heavy.is_empty(), "`cargo xtask synth` would compile {heavy:?}");
    assert!(
        deps.contains("app") && deps.contains("infra"),
        "xtask renders the buildspec and the templates"
    );
}

#[test]
fn only_berth_aws_talks_to_aws() {
    for package in [
        "app",
        "infra",
        "cfn",
        "cli",
        "environment",
        "pipeline-model",
        "test-support",
        "xtask",
    ] {
        let sdk: Vec<String> = tree(package)
            .into_iter()
            .filter(|d| d.starts_with("aws-"))
            .collect();
        assert!(
            sdk.is_empty(),
            "{package} depends on {sdk:?}: only berth-aws talks to AWS"
        );
    }
    let deps = direct("berth-aws");
    for sdk in ["aws-sdk-cloudformation", "aws-sdk-ssm"] {
        assert!(deps.contains(sdk), "berth-aws uses {sdk}");
    }
}

#[test]
fn the_rules_know_cloudformation_and_the_contract_never_a_stage() {
    let deps = tree("lint");
    for ours in ["infra", "app", "xtask", "berth-aws", "test-support"] {
        assert!(!deps.contains(ours), "lint depends on {ours}");
    }
    let direct = direct("lint");
    assert!(
        direct.contains("cfn") && direct.contains("pipeline-model"),
        "{direct:?}"
    );
}

#[test]
fn the_flag_grammar_needs_nothing_but_clap() {
    let direct = direct("cli");
    assert_eq!(
        direct.into_iter().collect::<Vec<_>>(),
        ["clap"],
        "crates/cli: no I/O, no SDK"
    );
}

/// The sections of a TOML file by header (`[workspace.dependencies]`), each as its lines of
/// `key = value` (comments and blank lines dropped).
fn toml_sections(text: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out = std::collections::BTreeMap::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            current = line.to_owned();
        } else if !line.is_empty() && !line.starts_with('#') {
            out.entry(current.clone())
                .or_insert_with(Vec::new)
                .push(line.to_owned());
        }
    }
    out
}

/// `name version` of every package in a Cargo.lock.
fn locked(text: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            out.insert((n, v.trim_matches('"').to_owned()));
        }
    }
    out
}

#[test]
fn the_two_workspaces_agree_on_everything_they_share() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    let (main, aws) = (
        toml_sections(&read("Cargo.toml")),
        toml_sections(&read("crates/berth-aws/Cargo.toml")),
    );
    // The SDK is declared in the AWS workspace only; what both declare, they declare alike.
    let deps =
        |m: &std::collections::BTreeMap<String, Vec<String>>| -> std::collections::BTreeMap<String, String> {
            m["[workspace.dependencies]"]
                .iter()
                .filter_map(|l| l.split_once(" = ").map(|(k, v)| (k.to_owned(), v.to_owned())))
                .collect()
        };
    let (main_deps, aws_deps) = (deps(&main), deps(&aws));
    assert!(
        !main_deps.keys().any(|k| k.starts_with("aws-")),
        "the AWS SDK in the main workspace"
    );
    let mut shared = 0;
    for (name, req) in &aws_deps {
        if let Some(main_req) = main_deps.get(name) {
            shared += 1;
            if !req.contains("path = ") {
                assert_eq!(
                    req, main_req,
                    "{name}: crates/berth-aws/Cargo.toml and Cargo.toml differ"
                );
            }
        }
    }
    assert!(
        shared >= 10,
        "the AWS workspace names the main one's crates and shared dependencies"
    );
    for section in [
        "[workspace.lints.rust]",
        "[workspace.lints.clippy]",
        "[profile.dev]",
        "[profile.dev.package.\"*\"]",
    ] {
        assert_eq!(
            main.get(section),
            aws.get(section),
            "{section} differs between the workspaces"
        );
    }
    for field in ["version", "edition", "rust-version", "license"] {
        let in_main = main["[workspace.package]"]
            .iter()
            .find(|l| l.starts_with(&format!("{field} =")));
        let in_aws = aws["[package]"]
            .iter()
            .find(|l| l.starts_with(&format!("{field} =")));
        assert_eq!(in_main, in_aws, "package field {field}");
    }
    // The same versions of each package both lock files hold (one may need more of them than the
    // other: the SDK also pulls in an older `getrandom`).
    let (main_lock, aws_lock) = (
        locked(&read("Cargo.lock")),
        locked(&read("crates/berth-aws/Cargo.lock")),
    );
    let versions = |lock: &BTreeSet<(String, String)>, name: &str| -> Vec<String> {
        lock.iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let names: BTreeSet<&String> = main_lock.iter().map(|(n, _)| n).collect();
    let mut common = 0;
    for name in names {
        let (m, a) = (versions(&main_lock, name), versions(&aws_lock, name));
        if !a.is_empty() {
            common += 1;
            let (ms, as_): (BTreeSet<&String>, BTreeSet<&String>) = (m.iter().collect(), a.iter().collect());
            assert!(
                ms.is_subset(&as_) || as_.is_subset(&ms),
                "{name}: {m:?} in Cargo.lock, {a:?} in crates/berth-aws/Cargo.lock: different versions\nhint: `cargo update -p {name} --precise VERSION` in the one behind (add `--manifest-path crates/berth-aws/Cargo.toml` for the AWS workspace)"
            );
        }
    }
    assert!(
        common > 50,
        "the lock files share the common dependencies ({common})"
    );
    assert!(
        !main_lock.iter().any(|(n, _)| n.starts_with("aws-sdk")),
        "the SDK in the main lock file"
    );
}
