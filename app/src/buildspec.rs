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

use std::collections::BTreeMap;
use std::fmt::Write as _;

use pipeline_model::{build_env, build_output, secrets};
use serde::Serialize;

/// The Dockerfile, relative to the application source's root (the build context).
pub const DOCKERFILE: &str = "app/Dockerfile";

/// The shell variable holding the image tag inside the build.
pub const IMAGE_TAG_VAR: &str = "IMAGE_TAG";

/// The shell variable that says whether the image is already in the repository (`1`) or not (`0`).
pub const IMAGE_EXISTS_VAR: &str = "IMAGE_EXISTS";

/// CodeBuild's variable with the commit the build runs on.
pub const RESOLVED_SOURCE_VERSION: &str = "CODEBUILD_RESOLVED_SOURCE_VERSION";

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

/// The buildspec for a given set of declared secrets (the build-time ones matter).
pub fn buildspec_with(app: &str, declared: &[secrets::Secret]) -> Buildspec {
    let repo = build_env::REPOSITORY_URI;
    let region = build_env::AWS_DEFAULT_REGION;
    let build_secrets: Vec<&secrets::Secret> = declared
        .iter()
        .filter(|s| s.used_at == secrets::UsedAt::Build)
        .collect();
    let mut docker_build = format!("docker build --file {DOCKERFILE} --tag \"${repo}:${IMAGE_TAG_VAR}\"");
    for s in &build_secrets {
        // The value reaches the Dockerfile's `RUN --mount=type=secret,id=...` only, never a layer.
        let _ = write!(
            docker_build,
            " --secret id={},env={}",
            s.name.to_ascii_lowercase(),
            s.name
        );
    }
    docker_build.push_str(" .");
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
        },
        phases: Phases {
            pre_build: phase(vec![
                // The tag is the commit: immutable tags, and every image traces back to its source.
                format!("{IMAGE_TAG_VAR}=\"${RESOLVED_SOURCE_VERSION}\""),
                format!(
                    "test -n \"${IMAGE_TAG_VAR}\" || {{ echo \"no {RESOLVED_SOURCE_VERSION}: cannot tag the image\" >&2; exit 1; }}"
                ),
                // The registry is the repository URI up to its first `/`.
                format!(
                    "aws ecr get-login-password --region \"${region}\" | docker login --username AWS --password-stdin \"${{{repo}%%/*}}\""
                ),
                // A run started by the infra source alone builds the same app commit again: its tag
                // is already pushed, and tags are immutable. Deploy that image instead of failing.
                format!(
                    "if aws ecr describe-images --region \"${region}\" --repository-name \"${{{repo}#*/}}\" --image-ids \
                     imageTag=\"${IMAGE_TAG_VAR}\" > /dev/null 2>&1; then {IMAGE_EXISTS_VAR}=1; echo \"${repo}:${IMAGE_TAG_VAR} \
                     is already pushed: deploying it without building it again\"; else {IMAGE_EXISTS_VAR}=0; fi"
                ),
            ]),
            build: phase(vec![format!("[ \"${IMAGE_EXISTS_VAR}\" = 1 ] || {docker_build}")]),
            post_build: phase(vec![
                format!("[ \"${IMAGE_EXISTS_VAR}\" = 1 ] || docker push \"${repo}:${IMAGE_TAG_VAR}\""),
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
                v != IMAGE_TAG_VAR
                    && v != IMAGE_EXISTS_VAR
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
