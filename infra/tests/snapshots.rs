//! Every synthesized output under review: both templates and each shipped stage's parameter files.
//! A change to any of them shows up as a snapshot diff (and `cargo xtask synth --check` keeps the
//! committed copies in infra/cfn/ equal to them).

use cfn::Format;
use pipeline_model::Stack;

fn stages() -> Vec<infra::Stage> {
    infra::load_stages(&test_support::project_root().join(infra::STAGES_DIR), None)
        .unwrap_or_else(|e| panic!("{e:#?}"))
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

#[test]
fn synth_is_deterministic() {
    let a = infra::synth(&stages(), Format::Yaml).unwrap();
    let b = infra::synth(&stages(), Format::Yaml).unwrap();
    assert_eq!(a.files, b.files);
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
}
