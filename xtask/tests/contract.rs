//! The contract between Dev (`app`) and Ops (`infra`), checked from both sides at once: every name one
//! side writes is the name the other side reads. Renaming a contract name on one side only fails here.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use cfn::Format;
use pipeline_model::build_output::BuildOutput;
use pipeline_model::secrets::{Secret, UsedAt};
use pipeline_model::{BUILDSPEC_PATH, Stack, artifacts, build_output, container, service_params};
use serde_json::Value;

fn template(stack: Stack) -> Value {
    infra::template(stack, Format::Yaml)
        .synth(Format::Json)
        .unwrap()
        .to_json_value()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// The pipeline's actions, looking through the `Fn::If`s that choose or drop them.
fn actions(pipeline: &Value) -> Vec<&Value> {
    pipeline["Resources"]["Pipeline"]["Properties"]["Stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Actions"].as_array().unwrap())
        .map(|a| {
            if a.get("Fn::If").is_some() {
                &a["Fn::If"][1]
            } else {
                a
            }
        })
        .collect()
}

fn action<'a>(pipeline: &'a Value, name: &str) -> &'a Value {
    actions(pipeline)
        .into_iter()
        .find(|a| a["Name"] == name)
        .unwrap_or_else(|| panic!("no action {name}"))
}

#[test]
fn the_build_json_the_buildspec_writes_is_the_one_the_deploy_stage_reads() {
    let spec = app::buildspec::buildspec("sample");
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("bash")
        .args([
            "-euo",
            "pipefail",
            "-c",
            &app::buildspec::write_build_json_command(),
        ])
        .env(
            app::buildspec::IMAGE_TAG_VAR,
            "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
        )
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    // The buildspec really runs that command.
    assert!(
        spec.commands()
            .any(|c| c == app::buildspec::write_build_json_command())
    );
    let written = std::fs::read_to_string(dir.path().join(build_output::FILE_NAME))
        .expect("the command writes build.json");
    let parsed: BuildOutput = serde_json::from_str(&written).unwrap_or_else(|e| panic!("{written}: {e}"));
    assert_eq!(parsed.tag, "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
    // It is the build's only artifact.
    assert_eq!(spec.artifacts.files, [build_output::FILE_NAME]);
}

#[test]
fn get_param_reads_the_build_artifact_file_and_key_into_the_image_tag() {
    let pipeline = template(Stack::Pipeline);
    let build = action(&pipeline, "Build");
    assert_eq!(
        build["OutputArtifacts"],
        serde_json::json!([{"Name": artifacts::BUILD}])
    );
    assert_eq!(
        build["InputArtifacts"],
        serde_json::json!([{"Name": artifacts::APP_SOURCE}])
    );
    let deploy = action(&pipeline, "CreateChangeSet");
    let overrides: Value =
        serde_json::from_str(deploy["Configuration"]["ParameterOverrides"].as_str().unwrap()).unwrap();
    let (param, get) = overrides.as_object().unwrap().iter().next().unwrap();
    assert_eq!(param, service_params::IMAGE_TAG);
    assert_eq!(
        get["Fn::GetParam"],
        serde_json::json!([artifacts::BUILD, build_output::FILE_NAME, build_output::TAG_KEY])
    );
    // The service stack takes that parameter, and runs the image it names.
    let service = template(Stack::Service);
    assert!(service["Parameters"][service_params::IMAGE_TAG].is_object());
    let image =
        service["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Image"]["Fn::Sub"]
            .as_str()
            .unwrap()
            .to_owned();
    assert!(
        image.ends_with(&format!(":${{{}}}", service_params::IMAGE_TAG)),
        "{image}"
    );
}

#[test]
fn the_build_project_sets_exactly_the_variables_the_buildspec_reads() {
    let pipeline = template(Stack::Pipeline);
    let env = &pipeline["Resources"]["BuildProject"]["Properties"]["Environment"]["EnvironmentVariables"];
    let set: Vec<&str> = env
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["Name"].as_str().unwrap())
        .collect();
    let read = app::buildspec::buildspec("sample").variables_from_the_project();
    assert_eq!(
        set, read,
        "the CodeBuild project sets {set:?}, the buildspec reads {read:?}"
    );
    assert_eq!(set, pipeline_model::build_env::ALL);
}

#[test]
fn the_build_project_runs_the_buildspec_synth_commits() {
    let pipeline = template(Stack::Pipeline);
    assert_eq!(
        pipeline["Resources"]["BuildProject"]["Properties"]["Source"]["BuildSpec"],
        BUILDSPEC_PATH
    );
    let committed = std::fs::read_to_string(root().join(BUILDSPEC_PATH)).unwrap();
    assert_eq!(committed, app::buildspec::buildspec("sample").to_yaml());
}

#[test]
fn the_service_runs_the_container_the_app_builds() {
    let service = template(Stack::Service);
    let c = &service["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0];
    assert_eq!(c["Name"], container::NAME);
    assert_eq!(c["PortMappings"][0]["ContainerPort"], container::PORT);
    assert_eq!(
        service["Resources"]["TargetGroup"]["Properties"]["HealthCheckPath"],
        container::HEALTH_CHECK_PATH
    );
    // The variables the task sets are the ones the app reads.
    let set: BTreeSet<&str> = c["Environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Name"].as_str().unwrap())
        .collect();
    let read = BTreeSet::from([
        container::env::APP_NAME,
        container::env::IMAGE_TAG,
        container::env::PORT,
        container::env::STAGE,
        container::env::TZ,
    ]);
    assert_eq!(set, read);
    let dockerfile = std::fs::read_to_string(root().join(app::buildspec::DOCKERFILE)).unwrap();
    assert!(
        dockerfile
            .lines()
            .any(|l| l == format!("EXPOSE {}", container::PORT)),
        "the Dockerfile exposes another port"
    );
}

#[test]
fn a_build_time_secret_goes_through_parameter_store_and_buildkit_secrets_never_build_args() {
    let declared = [Secret {
        name: "NPM_TOKEN",
        used_at: UsedAt::Build,
        description: "registry token",
    }];
    let spec = app::buildspec::buildspec_with("sample", &declared);
    assert_eq!(
        spec.env.parameter_store.get("NPM_TOKEN").map(String::as_str),
        Some("/berth/sample/build/NPM_TOKEN")
    );
    let build = spec.phases.build.commands.join("\n");
    assert!(build.contains("--secret id=npm_token,env=NPM_TOKEN"), "{build}");
    assert!(
        !spec.commands().any(|c| c.contains("--build-arg")),
        "no secret may go through --build-arg"
    );
    // The project need not set what parameter-store provides.
    assert!(
        !spec
            .variables_from_the_project()
            .contains(&"NPM_TOKEN".to_owned())
    );
    // And the shipped buildspec, with no build-time secret declared, reads none.
    assert!(app::buildspec::buildspec("sample").env.parameter_store.is_empty());
}

#[test]
fn the_buildspec_logs_in_without_argv_passwords_and_tags_with_the_inputs_hash() {
    let spec = app::buildspec::buildspec("sample");
    let all: Vec<&str> = spec.commands().collect();
    assert!(all.iter().any(|c| c.contains("aws ecr get-login-password")
        && c.contains("docker login --username AWS --password-stdin")));
    assert!(
        !all.iter()
            .any(|c| c.contains("get-login ") || c.contains("--password "))
    );
    assert!(
        all.iter()
            .any(|c| c.starts_with("IMAGE_TAG=$(") && c.contains("sha256sum")),
        "{all:?}"
    );
    assert!(
        !all.iter()
            .any(|c| c.contains("IMAGE_TAG=\"$CODEBUILD_RESOLVED_SOURCE_VERSION"))
    );
    assert_eq!(
        spec.env.variables.get("DOCKER_BUILDKIT").map(String::as_str),
        Some("1")
    );
    for p in [
        &spec.phases.pre_build,
        &spec.phases.build,
        &spec.phases.post_build,
    ] {
        assert_eq!(
            p.on_failure, "ABORT",
            "a failed phase must stop the build before push and build.json"
        );
    }
}

#[test]
fn the_build_exports_the_image_tag_that_pipeline_status_reads_and_the_deploy_stage_names_are_ops_own() {
    // Dev's side: the buildspec sets the tag and exports it under the contract's name (CodeBuild
    // records it with the build, where `cargo xtask pipeline status` reads it).
    let spec = app::buildspec::buildspec("sample");
    assert_eq!(spec.env.exported_variables, [build_output::IMAGE_TAG_VARIABLE]);
    assert!(
        spec.commands()
            .any(|c| c.starts_with(&format!("{}=$(", build_output::IMAGE_TAG_VARIABLE))),
        "the buildspec sets the variable it exports"
    );
    let committed = std::fs::read_to_string(root().join(BUILDSPEC_PATH)).unwrap();
    assert!(
        committed.contains(&format!(
            "  exported-variables:\n  - {}\n",
            build_output::IMAGE_TAG_VARIABLE
        )),
        "{committed}"
    );
    // Ops's side: the stage and action names the operating commands look for are the template's.
    let pipeline = template(Stack::Pipeline);
    let stages: Vec<&str> = pipeline["Resources"]["Pipeline"]["Properties"]["Stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        [
            infra::blocks::SOURCE_STAGE,
            infra::blocks::BUILD_STAGE,
            infra::blocks::DEPLOY_STAGE
        ]
    );
    for name in [
        infra::blocks::BUILD_ACTION,
        infra::blocks::CREATE_ACTION,
        infra::blocks::SUMMARY_ACTION,
        infra::blocks::APPROVE_ACTION,
        infra::blocks::EXECUTE_ACTION,
    ] {
        action(&pipeline, name);
    }
}
