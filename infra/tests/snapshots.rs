//! Every synthesized output under review: both templates and each shipped stage's parameter files.
//! A change to any of them shows up as a snapshot diff (and `cargo xtask synth --check` keeps the
//! committed copies in infra/cfn/ equal to them).

use cfn::Format;
use pipeline_model::Stack;

/// The shipped stages, each read on its own (loading the directory is `environment`'s).
fn stages() -> Vec<infra::Stage> {
    let dir = test_support::project_root().join(infra::STAGES_DIR);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| infra::Stage::load(p).unwrap_or_else(|e| panic!("{e:#?}")))
        .collect()
}

#[test]
fn templates() {
    for stack in Stack::ALL {
        let body = infra::template(stack, Format::Yaml)
            .synth(Format::Yaml)
            .unwrap()
            .body;
        insta::assert_snapshot!(format!("{stack}.yaml"), body);
    }
}

#[test]
fn parameter_files_of_every_shipped_stage() {
    let stages = stages();
    assert!(stages.len() >= 2, "ship dev and a second stage");
    for stage in &stages {
        for stack in Stack::ALL {
            insta::assert_snapshot!(
                format!("{}-{stack}.json", stage.name),
                stage.template_configuration(stack)
            );
        }
    }
}
