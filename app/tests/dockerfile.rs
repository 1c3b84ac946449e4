//! The Dockerfile, read as text (no Docker engine is needed to check what matters here).

use std::collections::BTreeMap;

const DOCKERFILE: &str = include_str!("../Dockerfile");

fn instructions() -> Vec<(String, String)> {
    // Join continuation lines, drop comments, split instruction and arguments.
    DOCKERFILE
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (i, rest) = l.split_once(' ').unwrap_or((l, ""));
            (i.to_ascii_uppercase(), rest.trim().to_owned())
        })
        .collect()
}

/// One build stage: its name, its base (a previous stage's name or an image, `ARG`s resolved), and
/// its instructions after `FROM`.
struct Stage {
    name: String,
    base: String,
    body: Vec<(String, String)>,
}

impl Stage {
    fn args_of(&self, instruction: &str) -> Vec<&str> {
        self.body
            .iter()
            .filter(|(i, _)| i == instruction)
            .map(|(_, a)| a.as_str())
            .collect()
    }
}

/// The `ARG`s declared before the first `FROM`, with their defaults.
fn global_args() -> BTreeMap<String, String> {
    instructions()
        .into_iter()
        .take_while(|(i, _)| i != "FROM")
        .filter(|(i, _)| i == "ARG")
        .map(|(_, a)| {
            let (name, value) = a.split_once('=').expect("every global ARG has a default");
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

fn stages() -> Vec<Stage> {
    let args = global_args();
    let mut stages: Vec<Stage> = Vec::new();
    for (i, a) in instructions() {
        if i == "FROM" {
            let (base, name) = a.split_once(" AS ").expect("every stage is named");
            let base = match base.strip_prefix("${").and_then(|b| b.strip_suffix('}')) {
                Some(arg) => args
                    .get(arg)
                    .unwrap_or_else(|| panic!("FROM {base}: no global ARG {arg}"))
                    .clone(),
                None => base.to_owned(),
            };
            stages.push(Stage {
                name: name.trim().to_owned(),
                base,
                body: Vec::new(),
            });
        } else if let Some(s) = stages.last_mut() {
            s.body.push((i, a));
        }
    }
    stages
}

fn stage(name: &str) -> Stage {
    stages()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no stage {name}"))
}

#[test]
fn the_dependencies_build_in_a_stage_of_their_own_beneath_the_app() {
    let names: Vec<String> = stages().into_iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        ["manifests", app::buildspec::DEPS_STAGE, "build", "runtime"]
    );
    let args = global_args();
    assert_eq!(stage("manifests").base, args["RUNTIME_IMAGE"]);
    assert_eq!(stage("deps").base, args["RUST_IMAGE"]);
    // The app builds on the compiled dependencies, and the runtime image is the small one.
    assert_eq!(stage("build").base, "deps");
    assert_eq!(stage("runtime").base, args["RUNTIME_IMAGE"]);
}

#[test]
fn the_dependency_stage_sees_no_source() {
    // The manifests stage keeps the manifests and the lock only, and gives every member empty sources.
    let manifests = stage("manifests");
    let run = manifests.args_of("RUN").join(" && ");
    assert!(
        run.contains("find . -type f ! -name Cargo.toml ! -name Cargo.lock -delete"),
        "{run}"
    );
    for dummy in ["lib.rs", "main.rs"] {
        assert!(run.contains(&format!("\"$src/{dummy}\"")), "{run}");
    }
    assert!(
        DOCKERFILE.contains("printf 'fn main() {}\\n' > /tmp/main.rs"),
        "the members' main.rs is an empty main"
    );
    // The deps stage copies from the manifests stage only: a code change leaves it cached.
    let deps = stage("deps");
    assert!(deps.args_of("ADD").is_empty());
    assert_eq!(deps.args_of("COPY"), ["--from=manifests /src ."]);
    let build = deps.args_of("RUN");
    assert_eq!(build.len(), 1, "{build:?}");
    assert!(build[0].contains("cargo build"), "{build:?}");
}

#[test]
fn the_app_build_touches_the_real_sources_before_building() {
    // COPY keeps the files' old times: without the touch, cargo keeps the empty sources' build.
    let build = stage("build");
    assert_eq!(build.args_of("COPY"), [". ."]);
    let run = build.args_of("RUN").join(" && ");
    let touch = run.find("-name '*.rs' -exec touch {} +").expect(&run);
    let cargo = run.find("cargo build").expect(&run);
    assert!(touch < cargo, "{run}");
    assert!(
        run.contains("install -D -m 0755 target/release/app /out/app"),
        "{run}"
    );
}

#[test]
fn the_runtime_stage_holds_only_the_binary_and_runs_as_a_non_root_user() {
    let runtime = stage("runtime");
    assert_eq!(runtime.args_of("COPY"), ["--from=build /out/app /app"]);
    assert!(runtime.args_of("ADD").is_empty());
    assert!(runtime.args_of("RUN").is_empty());
    let user = runtime.args_of("USER");
    assert_eq!(user.len(), 1, "{user:?}");
    // Numeric, so that no account is needed and ECS sees a non-root user; neither part is 0.
    let ids: Vec<u32> = user[0]
        .split(':')
        .map(|id| {
            id.parse()
                .unwrap_or_else(|_| panic!("USER {}: not numeric", user[0]))
        })
        .collect();
    assert_eq!(ids.len(), 2, "USER uid:gid, {user:?}");
    assert!(ids.iter().all(|id| *id != 0), "{user:?}");
    assert_eq!(runtime.args_of("ENTRYPOINT"), ["[\"/app\"]"]);
}

#[test]
fn exposes_the_contract_port() {
    let runtime = stage("runtime");
    assert_eq!(
        runtime.args_of("EXPOSE"),
        [pipeline_model::container::PORT.to_string()]
    );
    assert_eq!(
        runtime.args_of("ENV"),
        [format!(
            "{}={}",
            pipeline_model::container::env::PORT,
            pipeline_model::container::PORT
        )]
    );
}

#[test]
fn nothing_is_cached_outside_the_layers() {
    // CodeBuild's hosts are ephemeral: a cache mount is empty on the next build.
    assert!(!DOCKERFILE.contains("type=cache"), "a cache mount");
    for (i, a) in instructions() {
        if i == "RUN" {
            assert!(
                !a.contains("--mount") || a.contains("--mount=type=secret"),
                "RUN {a}: only secret mounts"
            );
        }
    }
}

#[test]
fn every_base_image_is_pinned_by_digest_on_ecr_public() {
    let stage_names: Vec<String> = stages().into_iter().map(|s| s.name).collect();
    for s in stages() {
        if stage_names.contains(&s.base) {
            continue;
        }
        // `public.ecr.aws/docker/library/<name>:<tag>@sha256:<64 hex>`
        let (image, digest) = s
            .base
            .split_once("@sha256:")
            .unwrap_or_else(|| panic!("stage {}: {} is not pinned by digest", s.name, s.base));
        assert!(
            image.starts_with("public.ecr.aws/docker/library/"),
            "stage {}: {image} is not from ECR Public's docker/library",
            s.name
        );
        assert!(
            digest.len() == 64
                && digest
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "stage {}: bad digest {digest}",
            s.name
        );
    }
}

#[test]
fn nothing_comes_from_docker_hub_or_gcr() {
    // A `# syntax=` directive pulls the frontend from Docker Hub: the engine's built-in one is used.
    for line in DOCKERFILE.lines() {
        let directive = line.trim_start_matches('#').trim().to_ascii_lowercase();
        assert!(
            !(line.starts_with('#') && directive.replace(' ', "").starts_with("syntax=")),
            "{line}"
        );
    }
    for registry in ["docker.io", "gcr.io", "index.docker.io", "registry-1.docker.io"] {
        assert!(!DOCKERFILE.contains(registry), "{registry} named");
    }
}

#[test]
fn no_secret_goes_into_a_layer() {
    for (i, args) in instructions() {
        if i == "ARG" || i == "ENV" {
            for s in pipeline_model::secrets::DECLARED {
                assert!(
                    !args.contains(s.name),
                    "{i} {args}: a secret would be readable in the image history"
                );
            }
        }
    }
    assert!(!DOCKERFILE.contains("--build-arg"));
}

#[test]
fn builds_the_locked_app_binary_in_release() {
    let runs: Vec<String> = instructions()
        .into_iter()
        .filter(|(i, a)| i == "RUN" && a.contains("cargo build"))
        .map(|(_, a)| a)
        .collect();
    // The dependencies, then the app: the same command, so that the second reuses the first's build.
    assert_eq!(runs.len(), 2, "{runs:?}");
    for run in &runs {
        assert!(
            run.contains("cargo build --release --locked --package app --bin app"),
            "{run}"
        );
    }
}
