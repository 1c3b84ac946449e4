//! The buildspec's commands run as CodeBuild runs them (one bash, phase after phase, a failing command
//! aborts), with `aws` and `docker` replaced by stubs that record what they were asked to do.

use std::process::Command;

use pipeline_model::build_output::BuildOutput;

const REPOSITORY_URI: &str = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/sample-dev";
const COMMIT: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

struct Ran {
    ok: bool,
    /// One line per stub call: `aws ...` or `docker ...`.
    calls: Vec<String>,
    output: String,
    build_json: Option<String>,
}

/// Runs every command of the buildspec; `pushed` says whether the registry already has the tag.
fn run_buildspec(pushed: bool, commit: &str) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = dir.path().join("calls.log");
    // `aws ecr describe-images` answers like the CLI: 0 with the image, 254 without.
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
    stub(
        "aws",
        &format!(
            "case \"$1 $2\" in\n  'ecr get-login-password') echo not-a-real-password ;;\n  'ecr describe-images') exit {} ;;\nesac",
            if pushed { 0 } else { 254 }
        ),
    );
    stub("docker", "cat > /dev/null");
    let spec = app::buildspec::buildspec("sample");
    let mut script = String::from("cd \"$WORK\"\n");
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
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("WORK", dir.path())
        .env("REPOSITORY_URI", REPOSITORY_URI)
        .env("AWS_DEFAULT_REGION", "ap-northeast-1")
        .env("CODEBUILD_RESOLVED_SOURCE_VERSION", commit)
        .output()
        .unwrap();
    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    Ran {
        ok: out.status.success(),
        calls: calls.lines().map(str::to_owned).collect(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        build_json: std::fs::read_to_string(dir.path().join(pipeline_model::build_output::FILE_NAME)).ok(),
    }
}

fn calls_of<'a>(ran: &'a Ran, prefix: &str) -> Vec<&'a str> {
    ran.calls
        .iter()
        .map(String::as_str)
        .filter(|c| c.starts_with(prefix))
        .collect()
}

#[test]
fn a_new_commit_is_built_pushed_and_handed_to_the_deploy_stage() {
    let ran = run_buildspec(false, COMMIT);
    assert!(ran.ok, "{}", ran.output);
    assert_eq!(
        calls_of(&ran, "docker build"),
        [format!(
            "docker build --file app/Dockerfile --tag {REPOSITORY_URI}:{COMMIT} ."
        )]
    );
    assert_eq!(
        calls_of(&ran, "docker push"),
        [format!("docker push {REPOSITORY_URI}:{COMMIT}")]
    );
    // Logged in to the registry (the host part of the URI), the password on stdin only.
    assert_eq!(
        calls_of(&ran, "docker login"),
        ["docker login --username AWS --password-stdin 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"]
    );
    assert!(
        !ran.calls.iter().any(|c| c.contains("not-a-real-password")),
        "{:?}",
        ran.calls
    );
    let build: BuildOutput = serde_json::from_str(ran.build_json.as_deref().expect("build.json")).unwrap();
    assert_eq!(build.tag, COMMIT);
}

#[test]
fn a_commit_already_pushed_is_not_built_again_but_still_deployed() {
    // An infra-only run: the app source is at a commit whose image is in the (immutable) repository.
    let ran = run_buildspec(true, COMMIT);
    assert!(ran.ok, "{}", ran.output);
    assert_eq!(
        calls_of(&ran, "aws ecr describe-images"),
        [format!(
            "aws ecr describe-images --region ap-northeast-1 --repository-name sample-dev --image-ids imageTag={COMMIT}"
        )]
    );
    assert!(calls_of(&ran, "docker build").is_empty(), "{:?}", ran.calls);
    assert!(calls_of(&ran, "docker push").is_empty(), "{:?}", ran.calls);
    assert!(ran.output.contains("is already pushed"), "{}", ran.output);
    let build: BuildOutput = serde_json::from_str(ran.build_json.as_deref().expect("build.json")).unwrap();
    assert_eq!(build.tag, COMMIT);
}

#[test]
fn no_commit_no_image_and_no_build_json() {
    let ran = run_buildspec(false, "");
    assert!(!ran.ok);
    assert!(ran.output.contains("cannot tag the image"), "{}", ran.output);
    assert!(calls_of(&ran, "docker").is_empty(), "{:?}", ran.calls);
    assert!(ran.build_json.is_none());
}
