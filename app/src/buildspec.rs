//! The buildspec as a typed model: what CodeBuild runs to build and push the image and to write
//! `build.json` for the deploy stage. `cargo xtask synth` renders it to
//! [`pipeline_model::BUILDSPEC_PATH`]; it is committed and `synth --check` keeps it fresh.
//!
//! What the 2017 buildspec did and this one does instead:
//! - `$(aws ecr get-login)` (removed from the AWS CLI) → `aws ecr get-login-password | docker login
//!   --password-stdin`: the password never appears in argv;
//! - a secret passed with `docker build --build-arg` (readable in the image history) → BuildKit
//!   `--secret`, fed from the buildspec's `env: parameter-store:`;
//! - later phases ran even after a failed build (pushing nothing and writing `build.json` anyway) →
//!   every phase aborts the build on failure.
//!
//! Builds that reuse work:
//! - the image tag is the hash of the app's build inputs ([`BUILD_INPUTS`]), copied into a context of
//!   their own from which docker builds (so it reads nothing that is not hashed). A run whose inputs
//!   did not change (an infra-only push in this monorepo) finds its tag in the repository and builds
//!   nothing;
//! - the compiled dependencies are an image of their own in the stage's repository, tagged
//!   [`DEPENDENCY_TAG_PREFIX`] and the hash of the manifests, the lock and the Dockerfile, pushed as
//!   soon as it is built. CodeBuild's hosts are ephemeral, so no local cache survives; the app build
//!   reads that image's layers through BuildKit's inline cache (`--cache-from type=registry`). The
//!   standard image's `docker` buildx driver exports no other cache, and a `docker-container` builder
//!   would pull BuildKit from Docker Hub.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use pipeline_model::image::DEPENDENCY_TAG_PREFIX;
use pipeline_model::{build_env, build_output, secrets};
use serde::Serialize;

/// The Dockerfile, relative to the application source's root (and to the build context).
pub const DOCKERFILE: &str = "app/Dockerfile";

/// Everything the app's image is built from, relative to the repository root: files and directories.
/// The build copies exactly these into its context and tags the image with their hash.
///
/// - the workspace's manifest and lock, and every member's manifest: cargo loads every member to
///   resolve, even for `--package app` (`crates/berth-aws` is excluded from the workspace: not one);
/// - the Dockerfile;
/// - the sources of `app` and of its path dependencies.
///
/// `app/tests/build_inputs.rs` derives the list from `cargo metadata` and fails, printing the list to
/// paste here, when a member or a path dependency comes or goes. `.dockerignore` admits the same paths,
/// so a local `docker build` from the repository root sees what CodeBuild's sees.
pub const BUILD_INPUTS: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "app/Cargo.toml",
    "crates/cfn/Cargo.toml",
    "crates/cli/Cargo.toml",
    "crates/environment/Cargo.toml",
    "crates/lint/Cargo.toml",
    "crates/pipeline-model/Cargo.toml",
    "crates/rollout/Cargo.toml",
    "crates/test-support/Cargo.toml",
    "infra/Cargo.toml",
    "xtask/Cargo.toml",
    DOCKERFILE,
    "app/src",
    "crates/pipeline-model/src",
];

/// The shell variable holding the build context: a fresh directory with [`BUILD_INPUTS`] only.
pub const BUILD_CONTEXT_VAR: &str = "BUILD_CONTEXT";

/// The shell variable holding the image tag inside the build: the hash of the build context. The
/// build exports it (`exported-variables`) under the contract's name.
pub const IMAGE_TAG_VAR: &str = build_output::IMAGE_TAG_VARIABLE;

/// The shell variable that says whether the image is already in the repository (`1`) or not (`0`).
pub const IMAGE_EXISTS_VAR: &str = "IMAGE_EXISTS";

/// The shell variable holding the dependency image's tag: [`DEPENDENCY_TAG_PREFIX`] and the hash of
/// the context's manifests, lock and Dockerfile.
pub const DEPS_TAG_VAR: &str = "DEPS_TAG";

/// The shell variable that says whether the dependency image is already in the repository (`1`) or
/// not (`0`); unset when the app's image is.
pub const DEPS_EXISTS_VAR: &str = "DEPS_EXISTS";

/// Every variable the buildspec's commands set themselves.
pub const SHELL_VARIABLES: [&str; 5] = [
    BUILD_CONTEXT_VAR,
    IMAGE_TAG_VAR,
    IMAGE_EXISTS_VAR,
    DEPS_TAG_VAR,
    DEPS_EXISTS_VAR,
];

/// CodeBuild's variable with the commit the build runs on: the image's revision label (the tag is
/// the inputs' hash, so an image built once serves every later commit with the same inputs).
pub const RESOLVED_SOURCE_VERSION: &str = "CODEBUILD_RESOLVED_SOURCE_VERSION";

/// The Dockerfile's stage holding the compiled dependencies (what the dependency image is).
pub const DEPS_STAGE: &str = "deps";

/// A buildspec, version 0.2.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Buildspec {
    pub version: f32,
    pub env: Env,
    pub phases: Phases,
    pub artifacts: Artifacts,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Env {
    pub shell: String,
    /// Plain variables the buildspec sets itself.
    pub variables: BTreeMap<String, String>,
    /// Variables read from SSM Parameter Store (decrypted), by variable name.
    #[serde(rename = "parameter-store", skip_serializing_if = "BTreeMap::is_empty")]
    pub parameter_store: BTreeMap<String, String>,
    /// Variables whose values at the end of the build CodeBuild records with it (and CodePipeline
    /// with the action): the image tag.
    #[serde(rename = "exported-variables", skip_serializing_if = "Vec::is_empty")]
    pub exported_variables: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Phases {
    pub pre_build: Phase,
    pub build: Phase,
    pub post_build: Phase,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Phase {
    #[serde(rename = "on-failure")]
    pub on_failure: String,
    pub commands: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Artifacts {
    pub files: Vec<String>,
    #[serde(rename = "discard-paths")]
    pub discard_paths: String,
}

fn phase(commands: Vec<String>) -> Phase {
    Phase {
        on_failure: "ABORT".to_owned(),
        commands,
    }
}

/// The command that writes `build.json` in the contract's format, from `$IMAGE_TAG`.
pub fn write_build_json_command() -> String {
    format!(
        "printf '{{\"{}\":\"%s\"}}\\n' \"${IMAGE_TAG_VAR}\" > {}",
        build_output::TAG_KEY,
        build_output::FILE_NAME
    )
}

/// The buildspec of `app`'s pipelines, for the secrets the app declares.
pub fn buildspec(app: &str) -> Buildspec {
    buildspec_with(app, secrets::DECLARED)
}

/// `$(...)`: the hash of the build context's files that `find_filter` selects (empty: every file) and
/// of the build host's architecture (the image is built natively for it: a stage that moves from x86_64
/// to arm64 builds anew), as 64 hex digits. The listing of `sha256sum` lines, in bytewise order of the
/// paths, then `uname -m`, hashed again; the assignment that uses it fails when any step does.
fn context_hash(find_filter: &str) -> String {
    format!(
        "$(set -o pipefail; {{ cd \"${BUILD_CONTEXT_VAR}\" && find . -type f{find_filter} -print0 | LC_ALL=C sort -z \
         | xargs -0 sha256sum && uname -m; }} | sha256sum | cut -c1-64)"
    )
}

/// `aws ecr describe-images` of one tag of the stage's repository: succeeds when it is there.
fn image_in_repository(tag_var: &str) -> String {
    let repo = build_env::REPOSITORY_URI;
    let region = build_env::AWS_DEFAULT_REGION;
    format!(
        "aws ecr describe-images --region \"${region}\" --repository-name \"${{{repo}#*/}}\" --image-ids \
         imageTag=\"${tag_var}\" > /dev/null 2>&1"
    )
}

/// `docker push` of one tag; tags are immutable, so a push that fails because another build pushed
/// the same tag meanwhile (the same inputs) is no failure: the image is there.
fn push(tag_var: &str, then: &str) -> String {
    let repo = build_env::REPOSITORY_URI;
    format!(
        "docker push \"${repo}:${tag_var}\" || {{ {} && echo \"${repo}:${tag_var} was pushed by another build \
         meanwhile: {then}\"; }}",
        image_in_repository(tag_var)
    )
}

/// The buildspec for a given set of declared secrets (the build-time ones matter).
pub fn buildspec_with(app: &str, declared: &[secrets::Secret]) -> Buildspec {
    let repo = build_env::REPOSITORY_URI;
    let region = build_env::AWS_DEFAULT_REGION;
    let ctx = BUILD_CONTEXT_VAR;
    let build_secrets: Vec<&secrets::Secret> = declared
        .iter()
        .filter(|s| s.used_at == secrets::UsedAt::Build)
        .collect();
    // The value reaches the Dockerfile's `RUN --mount=type=secret,id=...` only, never a layer.
    let mut secret_flags = String::new();
    for s in &build_secrets {
        let _ = write!(
            secret_flags,
            " --secret id={},env={}",
            s.name.to_ascii_lowercase(),
            s.name
        );
    }
    let dockerfile = format!("--file \"${ctx}/{DOCKERFILE}\"");
    // The dependency image: the Dockerfile's deps stage, with its cache metadata inline so that the
    // app build can read its layers from the repository.
    let deps_build = format!(
        "docker build {dockerfile} --target {DEPS_STAGE} --cache-to type=inline --tag \"${repo}:${DEPS_TAG_VAR}\"\
         {secret_flags} \"${ctx}\""
    );
    let app_build = format!(
        "docker build {dockerfile} --cache-from type=registry,ref=\"${repo}:${DEPS_TAG_VAR}\" --label \
         org.opencontainers.image.revision=\"${RESOLVED_SOURCE_VERSION}\" --tag \"${repo}:${IMAGE_TAG_VAR}\"\
         {secret_flags} \"${ctx}\""
    );
    let skip_app = format!("[ \"${IMAGE_EXISTS_VAR}\" = 1 ]");
    let skip_deps = format!("{skip_app} || [ \"${DEPS_EXISTS_VAR}\" = 1 ]");
    Buildspec {
        version: 0.2,
        env: Env {
            shell: "bash".to_owned(),
            variables: BTreeMap::from([("DOCKER_BUILDKIT".to_owned(), "1".to_owned())]),
            parameter_store: build_secrets
                .iter()
                .map(|s| {
                    (
                        s.name.to_owned(),
                        pipeline_model::build_secret_parameter(app, s.name),
                    )
                })
                .collect(),
            exported_variables: vec![IMAGE_TAG_VAR.to_owned()],
        },
        phases: Phases {
            pre_build: phase(vec![
                // The build inputs alone, in a context of their own (symbolic links followed: what
                // docker reads is what is hashed).
                format!("{ctx}=$(mktemp -d)"),
                format!("cp -RL --parents {} \"${ctx}\"", BUILD_INPUTS.join(" ")),
                // The tag is the inputs' hash: a run whose inputs did not change (an infra-only push)
                // finds its image in the repository.
                format!("{IMAGE_TAG_VAR}={}", context_hash("")),
                format!(
                    "{DEPS_TAG_VAR}={DEPENDENCY_TAG_PREFIX}{}",
                    context_hash(&format!(
                        " \\( -name Cargo.toml -o -name Cargo.lock -o -path ./{DOCKERFILE} \\)"
                    ))
                ),
                format!(
                    "echo \"image ${repo}:${IMAGE_TAG_VAR} (the hash of the build inputs), dependencies \
                     ${repo}:${DEPS_TAG_VAR}\""
                ),
                // The registry is the repository URI up to its first `/`.
                format!(
                    "aws ecr get-login-password --region \"${region}\" | docker login --username AWS --password-stdin \"${{{repo}%%/*}}\""
                ),
                // Tags are immutable: an image with this tag was built from these very inputs.
                format!(
                    "if {}; then {IMAGE_EXISTS_VAR}=1; echo \"${repo}:${IMAGE_TAG_VAR} is already pushed: deploying it \
                     without building it again\"; else {IMAGE_EXISTS_VAR}=0; fi",
                    image_in_repository(IMAGE_TAG_VAR)
                ),
                format!(
                    "{skip_app} || if {}; then {DEPS_EXISTS_VAR}=1; echo \"${repo}:${DEPS_TAG_VAR} is already pushed: \
                     building only the app, on its layers\"; else {DEPS_EXISTS_VAR}=0; fi",
                    image_in_repository(DEPS_TAG_VAR)
                ),
            ]),
            build: phase(vec![
                format!("{skip_deps} || {deps_build}"),
                // Pushed at once: a failed app build still leaves it for the next build.
                format!("{skip_deps} || {}", push(DEPS_TAG_VAR, "using it")),
                format!("{skip_app} || {app_build}"),
            ]),
            post_build: phase(vec![
                format!("{skip_app} || {}", push(IMAGE_TAG_VAR, "deploying it")),
                write_build_json_command(),
            ]),
        },
        artifacts: Artifacts {
            files: vec![build_output::FILE_NAME.to_owned()],
            discard_paths: "yes".to_owned(),
        },
    }
}

impl Buildspec {
    /// The YAML CodeBuild reads.
    pub fn to_yaml(&self) -> String {
        let body = serde_norway::to_string(self).expect("a buildspec serializes");
        format!(
            "# Generated by `cargo xtask synth` from app/src/buildspec.rs: edit that, not this file.\n{body}"
        )
    }

    /// Every command, in order.
    pub fn commands(&self) -> impl Iterator<Item = &str> {
        [
            &self.phases.pre_build,
            &self.phases.build,
            &self.phases.post_build,
        ]
        .into_iter()
        .flat_map(|p| p.commands.iter().map(String::as_str))
    }

    /// The environment variables the commands read that the buildspec does not set itself and
    /// CodeBuild does not provide: what the CodeBuild project must define.
    pub fn variables_from_the_project(&self) -> Vec<String> {
        let mut read = std::collections::BTreeSet::new();
        for c in self.commands() {
            let bytes = c.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'$' {
                    let start = if bytes.get(i + 1) == Some(&b'{') {
                        i + 2
                    } else {
                        i + 1
                    };
                    let end = bytes[start..]
                        .iter()
                        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                        .map_or(bytes.len(), |p| start + p);
                    if end > start {
                        read.insert(c[start..end].to_owned());
                    }
                    i = end;
                } else {
                    i += 1;
                }
            }
        }
        read.into_iter()
            .filter(|v| {
                !SHELL_VARIABLES.contains(&v.as_str())
                    && !v.starts_with("CODEBUILD_")
                    && !self.env.variables.contains_key(v)
                    && !self.env.parameter_store.contains_key(v)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_the_project_variables_it_declares() {
        assert_eq!(
            buildspec("sample").variables_from_the_project(),
            ["AWS_DEFAULT_REGION", "REPOSITORY_URI"]
        );
    }
}
