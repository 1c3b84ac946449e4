//! The gate on the shipped environment and on broken ones: what passes, what is refused and how.

use environment::{Environment, Error, Inputs};
use pipeline_model::Stack;

fn root() -> std::path::PathBuf {
    test_support::project_root()
}

use test_support::stages_copy;

#[test]
fn the_shipped_environment_passes_and_is_what_is_committed() {
    let env = Environment::load(&Inputs::new(&root())).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = env.stages().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["dev", "prod"]);
    let prod = env.stage("prod").unwrap();
    assert!(
        prod.deploy.approval && prod.load_balancer.http_redirect,
        "prod turns the options on"
    );
    // Everything synth writes: 2 templates, 2 parameter files per stage, the buildspec.
    assert_eq!(env.files().len(), 2 + 2 * 2 + 1);
    for f in env.files() {
        let committed = std::fs::read_to_string(root().join(&f.path)).unwrap();
        assert!(
            committed == f.contents,
            "{} differs from the committed file",
            f.path.display()
        );
    }
    assert_eq!(
        env.template(Stack::Service).path,
        std::path::Path::new("infra/cfn/service.yaml")
    );
    assert!(env.warnings().is_empty(), "{:?}", env.warnings());
}

#[test]
fn the_same_inputs_give_the_same_bytes() {
    let a = Environment::load(&Inputs::new(&root())).unwrap();
    let b = Environment::load(&Inputs::new(&root())).unwrap();
    assert_eq!(a.files(), b.files());
    let json = |e: &Environment| e.files().to_vec();
    let j1 = Environment::load(&Inputs::new(&root()).format(cfn::Format::Json)).unwrap();
    let j2 = Environment::load(&Inputs::new(&root()).format(cfn::Format::Json)).unwrap();
    assert_eq!(json(&j1), json(&j2));
    assert_eq!(
        j1.template(Stack::Pipeline).path,
        std::path::Path::new("infra/cfn/pipeline.json")
    );
}

#[test]
fn one_stage_reads_only_its_file() {
    let dir = stages_copy();
    std::fs::write(dir.path().join("broken.yaml"), "app: [").unwrap();
    let env = Environment::load(
        &Inputs::new(&root())
            .stages_dir(Some(dir.path()))
            .only(Some("dev")),
    )
    .unwrap();
    assert_eq!(env.stages().len(), 1);
    // Two templates, dev's two parameter files, the buildspec.
    assert_eq!(env.files().len(), 5);
    let e = Environment::load(&Inputs::new(&root()).stages_dir(Some(dir.path()))).unwrap_err();
    assert!(matches!(e, Error::StageFiles(_)), "{e}");
    assert!(
        e.to_string().starts_with("1 problem in the stage files:\n  "),
        "{e}"
    );
    assert!(e.to_string().contains("broken.yaml:1:"), "{e}");
}

#[test]
fn an_unknown_stage_names_the_known_ones() {
    let e = Environment::load(&Inputs::new(&root()).only(Some("qa")))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "1 problem in the stage files:\n  infra/stages/qa.yaml: no stage `qa`: expected one of: dev, prod"
    );
}

#[test]
fn two_apps_in_one_repository_are_refused() {
    let dir = stages_copy();
    let prod = std::fs::read_to_string(dir.path().join("prod.yaml")).unwrap();
    std::fs::write(
        dir.path().join("prod.yaml"),
        prod.replace("app: sample", "app: other"),
    )
    .unwrap();
    let e = Environment::load(&Inputs::new(&root()).stages_dir(Some(dir.path()))).unwrap_err();
    assert!(matches!(e, Error::Apps(_)), "{e}");
    assert!(e.to_string().contains("app `other`"), "{e}");
}

#[test]
fn the_graph_names_the_stage_or_the_scheme() {
    let env = Environment::load(&Inputs::new(&root())).unwrap();
    let dev = env.graph(env.stage("dev"), environment::GraphFormat::Mermaid);
    assert!(
        dev.contains("subgraph stack_pipeline[\"sample-dev-pipeline\"]"),
        "{dev}"
    );
    let scheme = env.graph(None, environment::GraphFormat::Mermaid);
    assert!(
        scheme.contains("stack_pipeline[\"${AppName}-${StageName}-pipeline\"]"),
        "{scheme}"
    );
}

#[test]
fn app_trigger_paths_that_miss_a_build_input_are_refused_naming_it() {
    let dir = stages_copy();
    let dev = std::fs::read_to_string(dir.path().join("dev.yaml")).unwrap();
    assert!(dev.contains("      - Cargo.lock\n"), "{dev}");
    let without_lock = dev.replace("      - Cargo.lock\n", "");
    std::fs::write(dir.path().join("dev.yaml"), &without_lock).unwrap();
    let e = Environment::load(&Inputs::new(&root()).stages_dir(Some(dir.path()))).unwrap_err();
    assert!(matches!(e, Error::Triggers(_)), "{e}");
    let Error::Triggers(lines) = &e else {
        unreachable!()
    };
    assert_eq!(lines.len(), 1, "{e}");
    // At the `paths` key of the app's source, by line and column.
    let (line, text) = without_lock
        .lines()
        .enumerate()
        .skip_while(|(_, l)| !l.starts_with("  app:"))
        .find(|(_, l)| l.trim_start().starts_with("paths:"))
        .unwrap();
    let column = text.find("paths").unwrap() + 1;
    let at = format!("dev.yaml:{}:{column}: source.app.paths: ", line + 1);
    assert!(lines[0].contains(&at), "{e}\nexpected {at}");
    assert!(lines[0].contains("none of `Cargo.lock`:"), "{e}");
    assert!(lines[0].contains("(add `Cargo.lock`)"), "{e}");
    // The stage with no paths (every push starts its pipeline) is not named.
    assert!(!e.to_string().contains("prod.yaml"), "{e}");
}

#[test]
fn app_trigger_paths_missing_a_source_directory_name_its_glob() {
    let dir = stages_copy();
    let dev = std::fs::read_to_string(dir.path().join("dev.yaml")).unwrap();
    std::fs::write(
        dir.path().join("dev.yaml"),
        dev.replace("      - app/**\n", "      - app/*\n      - app/Dockerfile\n"),
    )
    .unwrap();
    let e = Environment::load(&Inputs::new(&root()).stages_dir(Some(dir.path()))).unwrap_err();
    assert!(matches!(e, Error::Triggers(_)), "{e}");
    // `app/*` matches app/Cargo.toml but not the files under app/src.
    assert!(e.to_string().contains("none of `app/src`:"), "{e}");
    assert!(e.to_string().contains("(add `app/src/**`)"), "{e}");
}

#[test]
fn the_shipped_app_trigger_paths_cover_every_build_input() {
    let env = Environment::load(&Inputs::new(&root())).unwrap_or_else(|e| panic!("{e}"));
    let dev = env.stage("dev").unwrap();
    let globs: Vec<&str> = dev.source.app.paths.iter().map(|p| p.as_str()).collect();
    assert!(
        !globs.is_empty(),
        "dev filters its triggers: the check has something to check"
    );
    let missed =
        environment::triggers::uncovered(&globs, app::buildspec::BUILD_INPUTS, |p| root().join(p).is_dir());
    assert!(missed.is_empty(), "{missed:?}");
}
