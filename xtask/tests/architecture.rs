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
    cmd.args([
        "tree",
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
    for package in ["app", "infra", "cfn", "pipeline-model", "test-support", "xtask"] {
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
