//! What `deploy` sends is byte for byte what `cargo xtask synth` commits (and the pipeline deploys),
//! although this crate's build links serde_json with `preserve_order` (the SDK's HTTP client turns it
//! on) and xtask's does not.

use std::path::Path;

use pipeline_model::{Stack, infra_layout};

#[test]
fn the_template_deploy_sends_is_the_committed_one() {
    let root = test_support::project_root();
    let env = environment::Environment::load(&environment::Inputs::new(&root).only(Some("dev")))
        .expect("the example stage passes the gate");
    let stage = env.stage("dev").expect("the example stage");
    for stack in Stack::ALL {
        let req = berth_aws::cli::request(
            &env,
            stage,
            stack,
            (stack == Stack::Service).then(|| "abc".to_owned()),
            None,
        )
        .expect("a request");
        let committed_path = root.join(infra_layout::template_path(stack, "yaml"));
        let committed = std::fs::read_to_string(&committed_path).expect("the committed template");
        assert!(
            req.template_body == committed,
            "the {stack} template berth-aws deploys differs from {}; first difference at line {}",
            Path::new(&committed_path).display(),
            req.template_body
                .lines()
                .zip(committed.lines())
                .position(|(a, b)| a != b)
                .map_or(0, |i| i + 1)
        );
    }
}
