//! The buildspec's commands run as CodeBuild runs them (one bash, phase after phase, a failing command
//! aborts), in a source tree holding the real build inputs and some files that are not, with `aws` and
//! `docker` replaced by stubs that record what they were asked to do and an image repository that is a
//! file of tags.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use app::buildspec::{BUILD_INPUTS, Buildspec, DOCKERFILE};
use pipeline_model::build_output::BuildOutput;
use pipeline_model::image::DEPENDENCY_TAG_PREFIX;
use pipeline_model::secrets::{Secret, UsedAt};

const REPOSITORY_URI: &str = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/sample-dev";
const REGISTRY_HOST: &str = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com";
const COMMIT: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
/// What the `aws ecr get-login-password` stub prints: it must reach docker on stdin only.
const ECR_PASSWORD: &str = "not-a-real-password";

/// Files of the source tree that are not build inputs: changing them must not change a tag.
const NOT_INPUTS: &[(&str, &str)] = &[
    ("README.md", "# berth\n"),
    ("infra/src/x.rs", "pub fn x() {}\n"),
    ("infra/cfn/service.yaml", "Resources: {}\n"),
    // Excluded from the workspace: its manifest is no input.
    ("crates/berth-aws/Cargo.toml", "[package]\nname = \"berth-aws\"\n"),
    ("app/buildspec.yml", "version: 0.2\n"),
    ("app/tests/x.rs", "#[test]\nfn x() {}\n"),
];

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn copy_recursively(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            copy_recursively(&e.path(), &to.join(e.file_name()));
        }
    } else {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
}

/// A source tree as CodeBuild checks it out: the repository's real build inputs, and files that are not.
fn source_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for input in BUILD_INPUTS {
        copy_recursively(&repo_root().join(input), &dir.path().join(input));
    }
    for (path, text) in NOT_INPUTS {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

fn append(tree: &Path, file: &str, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(tree.join(file))
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Every file of the tree, as `./relative/path`, in bytewise order (what `LC_ALL=C sort` gives).
fn files(tree: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(format!("./{}", p.strip_prefix(root).unwrap().to_string_lossy()));
            }
        }
    }
    let mut out = Vec::new();
    walk(tree, tree, &mut out);
    out.sort();
    out
}

/// The files of the tree that are build inputs: all but [`NOT_INPUTS`], found without the list.
fn input_files(tree: &Path) -> Vec<String> {
    files(tree)
        .into_iter()
        .filter(|f| !NOT_INPUTS.iter().any(|(p, _)| f == &format!("./{p}")))
        .collect()
}

/// The files the dependency image's tag covers: the manifests, the lock and the Dockerfile.
fn dependency_files(tree: &Path) -> Vec<String> {
    input_files(tree)
        .into_iter()
        .filter(|f| {
            f.ends_with("/Cargo.toml") || f.ends_with("/Cargo.lock") || f == &format!("./{DOCKERFILE}")
        })
        .collect()
}

fn sha256sum(stdin: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

/// The hash of some files of the tree, computed here: `sha256sum` of each, in the given order, then of
/// that listing.
fn hash_of(tree: &Path, files: &[String]) -> String {
    let out = Command::new("sha256sum")
        .args(files)
        .current_dir(tree)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout.iter().filter(|b| **b == b'\n').count(), files.len());
    // Then the build host's architecture, as `uname -m` prints it.
    let machine = Command::new("uname").arg("-m").output().unwrap().stdout;
    sha256sum(&[out.stdout, machine].concat())
}

/// How the stubs behave.
#[derive(Clone, Default)]
struct World {
    /// Tags already in the repository.
    pushed: Vec<String>,
    /// `deps` or `app`: that docker build fails.
    failing_build: Option<&'static str>,
    /// Every push fails; with `race`, because another build pushed the same tag meanwhile.
    failing_push: bool,
    race: bool,
    /// Environment variables of the build (a build-time secret's value, as `parameter-store` sets it).
    env: Vec<(&'static str, String)>,
    /// What `uname -m` says on the build host (None: this machine's).
    machine: Option<&'static str>,
}

struct Ran {
    ok: bool,
    /// One line per stub call: `aws ...` or `docker ...`.
    calls: Vec<String>,
    output: String,
    build_json: Option<String>,
    /// The files of the last docker build's context, as `./path`, sorted.
    context: Vec<String>,
    /// The tags in the repository afterwards.
    repository: Vec<String>,
}

impl Ran {
    fn calls_of(&self, prefix: &str) -> Vec<&str> {
        self.calls
            .iter()
            .map(String::as_str)
            .filter(|c| c.starts_with(prefix))
            .collect()
    }

    fn tag(&self) -> String {
        let json = self.build_json.as_deref().expect("build.json");
        let build: BuildOutput = serde_json::from_str(json).unwrap();
        build.tag
    }

    /// The build context's directory: the last argument of the docker builds.
    fn context_dir(&self) -> String {
        let builds = self.calls_of("docker build");
        let dir = builds[0].rsplit(' ').next().unwrap().to_owned();
        assert!(
            builds.iter().all(|b| b.ends_with(&format!(" {dir}"))),
            "{builds:?}"
        );
        dir
    }

    /// The calls with the build context's directory written `$CTX`.
    fn docker_calls(&self) -> Vec<String> {
        let dir = self.context_dir();
        self.calls_of("docker")
            .iter()
            .map(|c| c.replace(&dir, "$CTX"))
            .collect()
    }
}

fn run(tree: &Path, spec: &Buildspec, world: &World) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let log = dir.path().join("calls.log");
    let registry = dir.path().join("registry");
    let context = dir.path().join("context.txt");
    std::fs::write(
        &registry,
        world.pushed.iter().map(|t| format!("{t}\n")).collect::<String>(),
    )
    .unwrap();
    let stub = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/bash\necho \"{name} $*\" >> \"{}\"\n{body}\n",
                log.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    // `aws ecr describe-images` answers like the CLI: 0 with the image, 254 without.
    stub(
        "aws",
        &format!(
            "case \"$1 $2\" in\n\
             \x20 'ecr get-login-password') echo {ECR_PASSWORD} ;;\n\
             \x20 'ecr describe-images') tag=\"${{@: -1}}\"; grep -qxF \"${{tag#imageTag=}}\" '{}' || exit 254 ;;\n\
             \x20 *) exit 1 ;;\n\
             esac",
            registry.display()
        ),
    );
    if let Some(machine) = world.machine {
        stub("uname", &format!("echo {machine}"));
    }
    let failing_build = match world.failing_build {
        Some("deps") => "[[ \" $* \" == *' --target deps '* ]] && exit 1",
        Some("app") => "[[ \" $* \" == *' --target '* ]] || exit 1",
        Some(other) => panic!("{other}"),
        None => ":",
    };
    let push = match (world.failing_push, world.race) {
        (false, _) => "echo \"${2##*:}\" >> \"$REGISTRY\"",
        (true, false) => "echo 'push refused' >&2; exit 1",
        (true, true) => {
            "echo \"${2##*:}\" >> \"$REGISTRY\"; echo 'tag invalid: the image tag already exists' >&2; exit 1"
        }
    };
    stub(
        "docker",
        &format!(
            "REGISTRY='{}'\n\
             case \"$1\" in\n\
             \x20 login) read -r password; [ -n \"$password\" ] || exit 1 ;;\n\
             \x20 build) ctx=\"${{@: -1}}\"; (cd \"$ctx\" && find . -type f | LC_ALL=C sort) > '{}'; {failing_build} ;;\n\
             \x20 push) {push} ;;\n\
             \x20 *) exit 1 ;;\n\
             esac",
            registry.display(),
            context.display()
        ),
    );
    let mut script = String::from("cd \"$SRC\"\n");
    for (name, value) in &spec.env.variables {
        script.push_str(&format!("export {name}='{value}'\n"));
    }
    for command in spec.commands() {
        // CodeBuild's `on-failure: ABORT`: a failing command ends the build.
        script.push_str(&format!(
            "{command} || {{ echo \"failed: {}\" >&2; exit 1; }}\n",
            command.replace('"', "'")
        ));
    }
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(&script)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", dir.path())
        .env("TMPDIR", &tmp)
        .env("SRC", tree)
        .env("REPOSITORY_URI", REPOSITORY_URI)
        .env("AWS_DEFAULT_REGION", "ap-northeast-1")
        .env("CODEBUILD_RESOLVED_SOURCE_VERSION", COMMIT);
    for (k, v) in &world.env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    let build_json_path = tree.join(pipeline_model::build_output::FILE_NAME);
    let build_json = std::fs::read_to_string(&build_json_path).ok();
    // The next run in the same tree starts without it, as a fresh checkout does.
    let _ = std::fs::remove_file(&build_json_path);
    Ran {
        ok: out.status.success(),
        calls: calls.lines().map(str::to_owned).collect(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        build_json,
        context: std::fs::read_to_string(&context)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect(),
        repository: std::fs::read_to_string(&registry)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect(),
    }
}

fn spec() -> Buildspec {
    app::buildspec::buildspec("sample")
}

/// The tag of the image and of the dependency image a tree gets, from a run against an empty repository.
fn tags_of(tree: &Path) -> (String, String) {
    let ran = run(tree, &spec(), &World::default());
    assert!(ran.ok, "{}", ran.output);
    let deps = ran
        .repository
        .iter()
        .find(|t| t.starts_with(DEPENDENCY_TAG_PREFIX))
        .expect("a dependency image")
        .clone();
    (ran.tag(), deps)
}

#[test]
fn new_inputs_without_a_dependency_image_build_and_push_both_then_hand_the_tag_over() {
    let tree = source_tree();
    let tag = hash_of(tree.path(), &input_files(tree.path()));
    let deps = format!(
        "{DEPENDENCY_TAG_PREFIX}{}",
        hash_of(tree.path(), &dependency_files(tree.path()))
    );
    let ran = run(tree.path(), &spec(), &World::default());
    assert!(ran.ok, "{}", ran.output);
    // The tag is the hash of the inputs, computed here independently; 64 hex digits.
    assert_eq!(ran.tag(), tag);
    assert!(
        tag.len() == 64 && tag.bytes().all(|b| b.is_ascii_hexdigit()),
        "{tag}"
    );
    assert_eq!(
        ran.calls_of("aws ecr describe-images"),
        [
            format!(
                "aws ecr describe-images --region ap-northeast-1 --repository-name sample-dev --image-ids imageTag={tag}"
            ),
            format!(
                "aws ecr describe-images --region ap-northeast-1 --repository-name sample-dev --image-ids imageTag={deps}"
            ),
        ]
    );
    // The dependency image first, pushed before the app is built; then the app, on its layers.
    assert_eq!(
        ran.docker_calls(),
        [
            format!("docker login --username AWS --password-stdin {REGISTRY_HOST}"),
            format!(
                "docker build --file $CTX/app/Dockerfile --target deps --cache-to type=inline --tag {REPOSITORY_URI}:{deps} $CTX"
            ),
            format!("docker push {REPOSITORY_URI}:{deps}"),
            format!(
                "docker build --file $CTX/app/Dockerfile --cache-from type=registry,ref={REPOSITORY_URI}:{deps} \
                 --label org.opencontainers.image.revision={COMMIT} --tag {REPOSITORY_URI}:{tag} $CTX"
            ),
            format!("docker push {REPOSITORY_URI}:{tag}"),
        ]
    );
    assert_eq!(ran.repository, [deps, tag]);
    // Docker reads the inputs and nothing else, from a fresh directory (not the source tree).
    assert_eq!(ran.context, input_files(tree.path()));
    assert!(!ran.context_dir().starts_with(&tree.path().display().to_string()));
    // The password goes to docker on stdin only.
    assert!(
        !ran.calls.iter().any(|c| c.contains(ECR_PASSWORD)),
        "{:?}",
        ran.calls
    );
}

#[test]
fn with_the_dependency_image_in_the_repository_only_the_app_is_built_on_its_layers() {
    let tree = source_tree();
    let (tag, deps) = tags_of(tree.path());
    let ran = run(
        tree.path(),
        &spec(),
        &World {
            pushed: vec![deps.clone()],
            ..World::default()
        },
    );
    assert!(ran.ok, "{}", ran.output);
    assert_eq!(
        ran.docker_calls(),
        [
            format!("docker login --username AWS --password-stdin {REGISTRY_HOST}"),
            format!(
                "docker build --file $CTX/app/Dockerfile --cache-from type=registry,ref={REPOSITORY_URI}:{deps} \
                 --label org.opencontainers.image.revision={COMMIT} --tag {REPOSITORY_URI}:{tag} $CTX"
            ),
            format!("docker push {REPOSITORY_URI}:{tag}"),
        ]
    );
    assert!(ran.output.contains("building only the app"), "{}", ran.output);
    assert_eq!(ran.tag(), tag);
}

#[test]
fn inputs_already_pushed_build_nothing_and_still_hand_the_tag_over() {
    // An infra-only run: the app's inputs are those of an image in the (immutable) repository.
    let tree = source_tree();
    let (tag, deps) = tags_of(tree.path());
    let ran = run(
        tree.path(),
        &spec(),
        &World {
            pushed: vec![deps, tag.clone()],
            ..World::default()
        },
    );
    assert!(ran.ok, "{}", ran.output);
    assert!(ran.calls_of("docker build").is_empty(), "{:?}", ran.calls);
    assert!(ran.calls_of("docker push").is_empty(), "{:?}", ran.calls);
    // Not even the dependency image is looked for.
    assert_eq!(
        ran.calls_of("aws ecr describe-images"),
        [format!(
            "aws ecr describe-images --region ap-northeast-1 --repository-name sample-dev --image-ids imageTag={tag}"
        )]
    );
    assert!(
        ran.output
            .contains("is already pushed: deploying it without building it again"),
        "{}",
        ran.output
    );
    assert_eq!(ran.tag(), tag);
}

#[test]
fn another_architecture_builds_its_own_image_and_dependency_image() {
    let tree = source_tree();
    let here = tags_of(tree.path());
    let ran = run(
        tree.path(),
        &spec(),
        &World {
            machine: Some("aarch64"),
            ..World::default()
        },
    );
    assert!(ran.ok, "{}", ran.output);
    let deps = ran
        .repository
        .iter()
        .find(|t| t.starts_with(DEPENDENCY_TAG_PREFIX))
        .unwrap();
    assert_ne!(ran.tag(), here.0);
    assert_ne!(deps, &here.1);
}

#[test]
fn a_change_outside_the_inputs_keeps_both_tags() {
    let tree = source_tree();
    let before = tags_of(tree.path());
    for (path, _) in NOT_INPUTS {
        append(tree.path(), path, "\n// changed\n");
    }
    assert_eq!(tags_of(tree.path()), before);
}

#[test]
fn a_change_to_the_app_sources_changes_the_tag_but_not_the_dependency_image() {
    let tree = source_tree();
    let (tag, deps) = tags_of(tree.path());
    append(tree.path(), "app/src/server.rs", "\n// changed\n");
    let (new_tag, new_deps) = tags_of(tree.path());
    assert_ne!(new_tag, tag);
    assert_eq!(new_deps, deps);
    // A path dependency's source is an app input too.
    append(tree.path(), "crates/pipeline-model/src/lib.rs", "\n// changed\n");
    let (third_tag, third_deps) = tags_of(tree.path());
    assert_ne!(third_tag, new_tag);
    assert_eq!(third_deps, deps);
}

#[test]
fn a_change_to_the_lock_a_manifest_or_the_dockerfile_changes_both_tags() {
    let tree = source_tree();
    let (tag, deps) = tags_of(tree.path());
    append(tree.path(), "Cargo.lock", "\n# changed\n");
    let (lock_tag, lock_deps) = tags_of(tree.path());
    assert_ne!(lock_tag, tag);
    assert_ne!(lock_deps, deps);
    // Any member's manifest: cargo reads them all to resolve.
    append(tree.path(), "infra/Cargo.toml", "\n# changed\n");
    let (manifest_tag, manifest_deps) = tags_of(tree.path());
    assert_ne!(manifest_tag, lock_tag);
    assert_ne!(manifest_deps, lock_deps);
    // And the Dockerfile, which says how the dependencies are built.
    append(tree.path(), DOCKERFILE, "\n# changed\n");
    let (dockerfile_tag, dockerfile_deps) = tags_of(tree.path());
    assert_ne!(dockerfile_tag, manifest_tag);
    assert_ne!(dockerfile_deps, manifest_deps);
}

#[test]
fn a_failed_app_build_keeps_the_dependency_image_and_writes_no_build_json() {
    let tree = source_tree();
    let ran = run(
        tree.path(),
        &spec(),
        &World {
            failing_build: Some("app"),
            ..World::default()
        },
    );
    assert!(!ran.ok);
    assert!(ran.build_json.is_none());
    // The dependency image was pushed before: the next build starts from it.
    assert_eq!(ran.calls_of("docker push").len(), 1, "{:?}", ran.calls);
    assert_eq!(ran.repository.len(), 1);
    assert!(ran.repository[0].starts_with(DEPENDENCY_TAG_PREFIX));
}

#[test]
fn a_failed_dependency_build_stops_everything() {
    let tree = source_tree();
    let ran = run(
        tree.path(),
        &spec(),
        &World {
            failing_build: Some("deps"),
            ..World::default()
        },
    );
    assert!(!ran.ok);
    assert!(ran.build_json.is_none());
    assert_eq!(ran.calls_of("docker build").len(), 1, "{:?}", ran.calls);
    assert!(ran.calls_of("docker push").is_empty(), "{:?}", ran.calls);
}

#[test]
fn a_push_another_build_won_is_no_failure() {
    // Tags are immutable: two builds of the same inputs race to push the same tag, one loses.
    let tree = source_tree();
    let ran = run(
        tree.path(),
        &spec(),
        &World {
            failing_push: true,
            race: true,
            ..World::default()
        },
    );
    assert!(ran.ok, "{}", ran.output);
    assert!(
        ran.output
            .contains("was pushed by another build meanwhile: using it"),
        "{}",
        ran.output
    );
    assert!(
        ran.output
            .contains("was pushed by another build meanwhile: deploying it"),
        "{}",
        ran.output
    );
    assert_eq!(ran.calls_of("docker build").len(), 2);
    assert_eq!(ran.tag(), hash_of(tree.path(), &input_files(tree.path())));
}

#[test]
fn a_failed_push_fails_the_build_without_build_json() {
    let tree = source_tree();
    let ran = run(
        tree.path(),
        &spec(),
        &World {
            failing_push: true,
            ..World::default()
        },
    );
    assert!(!ran.ok);
    assert!(ran.build_json.is_none());
    // The dependency image's push failed: the app was not built.
    assert_eq!(ran.calls_of("docker build").len(), 1, "{:?}", ran.calls);
    // And when only the app's push fails.
    let (_, deps) = tags_of(tree.path());
    let ran = run(
        tree.path(),
        &spec(),
        &World {
            pushed: vec![deps],
            failing_push: true,
            ..World::default()
        },
    );
    assert!(!ran.ok);
    assert_eq!(ran.calls_of("docker push").len(), 1, "{:?}", ran.calls);
    assert!(ran.build_json.is_none());
}

#[test]
fn a_missing_input_fails_before_docker_and_writes_no_build_json() {
    let tree = source_tree();
    std::fs::remove_file(tree.path().join("Cargo.lock")).unwrap();
    let ran = run(tree.path(), &spec(), &World::default());
    assert!(!ran.ok);
    assert!(ran.calls_of("docker").is_empty(), "{:?}", ran.calls);
    assert!(ran.calls_of("aws").is_empty(), "{:?}", ran.calls);
    assert!(ran.build_json.is_none());
}

#[test]
fn build_time_secrets_reach_both_builds_through_buildkit_secrets_only() {
    let declared = [Secret {
        name: "NPM_TOKEN",
        used_at: UsedAt::Build,
        description: "a registry token",
    }];
    let spec = app::buildspec::buildspec_with("sample", &declared);
    // A value made up for this run (parameter-store would set it): it must reach no argv.
    let canary = format!(
        "canary-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let tree = source_tree();
    let ran = run(
        tree.path(),
        &spec,
        &World {
            env: vec![("NPM_TOKEN", canary.clone())],
            ..World::default()
        },
    );
    assert!(ran.ok, "{}", ran.output);
    let builds = ran.calls_of("docker build");
    assert_eq!(builds.len(), 2);
    for b in &builds {
        assert!(b.contains(" --secret id=npm_token,env=NPM_TOKEN "), "{b}");
    }
    assert!(!ran.calls.iter().any(|c| c.contains(&canary)), "{:?}", ran.calls);
    assert!(!ran.output.contains(&canary));
}

#[test]
fn the_project_provides_only_the_contract_variables() {
    assert_eq!(
        spec().variables_from_the_project(),
        pipeline_model::build_env::ALL
    );
}
