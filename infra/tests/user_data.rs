//! The container instances' UserData, run: the script taken from the synthesized service template
//! (its `Fn::Sub` resolved with a stage's values), run in bash with `dnf`, `curl`, `systemd-run` and
//! `aws` replaced by stubs that record their argv, and `cfn-signal` installed by the `dnf` stub as
//! `aws-cfn-bootstrap` installs it. It succeeds with one success signal after every step, and a step
//! that fails sends a failure signal at once, naming its line and command, and runs nothing after it.
//!
//! Nothing touches the system: the script writes absolute paths (`/usr/local/bin/berth-signal`,
//! `/etc/ecs/ecs.config`, `/usr/local/bin/berth-ready`) and runs `/opt/aws/bin/cfn-signal`, so the test
//! rewrites those prefixes to the same paths under a temporary directory before running it, and checks
//! that no other absolute path is left.

use std::path::Path;
use std::process::Command;

use cfn::Format;
use pipeline_model::Stack;

const STACK: &str = "sample-dev-service";
const REGION: &str = "ap-northeast-1";
const CLUSTER: &str = "sample-dev-cluster";
const INSTANCE: &str = "i-0123456789abcdef0";
/// The absolute paths the script writes or runs, each rewritten to the same path under the test's
/// directory.
const REDIRECTED: &[&str] = &["/usr/local/bin/", "/etc/ecs/", "/opt/aws/bin/"];

/// The UserData as the instance runs it: `Fn::Base64` of `Fn::Sub`, its variables replaced.
fn user_data() -> String {
    let t = infra::template(Stack::Service, Format::Yaml)
        .synth(Format::Yaml)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_json_value();
    let sub = &t["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]
        ["Fn::Sub"];
    let text = sub.as_str().expect("UserData is Base64 of a Sub of one string");
    // Every `${Name}`, by the values CloudFormation gives it for the dev stage.
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find('}').expect("a closed ${...}") + at;
        let name = &rest[at + 2..end];
        out.push_str(match name {
            "AWS::StackName" => STACK,
            "AWS::Region" => REGION,
            "Cluster" => CLUSTER,
            other => panic!("UserData uses ${{{other}}}: give it a test value here"),
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// One run's world: the directory standing for `/`, the stubs, the log of their calls.
struct Run {
    dir: tempfile::TempDir,
    status: std::process::ExitStatus,
    stderr: String,
    script: String,
}

impl Run {
    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The stubs' calls, one line each (`name argv...`), the root's path shown as `<root>`.
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.root().join("calls.log"))
            .unwrap_or_default()
            .replace(&self.root().display().to_string(), "<root>")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The calls but `curl`'s (the metadata service, asked by every signal).
    fn steps(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| !c.starts_with("curl "))
            .collect()
    }

    /// The 1-based line of the script's first line starting with `start`.
    fn line_of(&self, start: &str) -> usize {
        self.script
            .lines()
            .position(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line starting `{start}` in:\n{}", self.script))
            + 1
    }
}

fn stub(bin: &Path, name: &str, body: &str) {
    let path = bin.join(name);
    std::fs::write(
        &path,
        format!("#!/bin/bash\necho \"{name} $*\" >> \"$CALLS\"\n{body}\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs the UserData with stubs; `fail` names the stub that fails (`dnf`, `systemd-run`), and
/// `etc_ecs` whether `/etc/ecs` exists (the ECS-optimized AMI has it; without it writing
/// `ecs.config` fails).
fn run(fail: Option<&str>, etc_ecs: bool) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let r = root.display().to_string();
    let mut script = user_data();
    for prefix in REDIRECTED {
        script = script.replace(prefix, &format!("{r}{prefix}"));
    }
    // No absolute path outside the test's directory is left, but the shebangs' bash and the URLs.
    for word in script.split(|c: char| c.is_whitespace() || "'\"<>;(){}".contains(c)) {
        assert!(
            !word.starts_with('/') || word.starts_with(&r) || word == "/bin/bash",
            "the UserData names `{word}`: redirect it under the test's directory"
        );
    }
    for d in ["bin", "usr/local/bin", "opt/aws"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    if etc_ecs {
        std::fs::create_dir_all(root.join("etc/ecs")).unwrap();
    }
    let bin = root.join("bin");
    let fails = |name: &str| if fail == Some(name) { "exit 1" } else { "" };
    // `aws-cfn-bootstrap` installs /opt/aws/bin/cfn-signal.
    stub(
        &bin,
        "dnf",
        &format!(
            "{}\nmkdir -p \"$ROOT/opt/aws/bin\"\nprintf '#!/bin/bash\\necho \"cfn-signal $*\" >> \"$CALLS\"\\n' > \"$ROOT/opt/aws/bin/cfn-signal\"\nchmod 755 \"$ROOT/opt/aws/bin/cfn-signal\"",
            fails("dnf")
        ),
    );
    // IMDSv2: a token, then the instance's ID; the ECS agent's introspection API: registered.
    stub(
        &bin,
        "curl",
        &format!(
            "case \"$*\" in\n  *api/token*) echo TOKEN ;;\n  *instance-id*) echo {INSTANCE} ;;\n  *51678/v1/metadata*) echo '{{\"Cluster\":\"{CLUSTER}\",\"ContainerInstanceArn\":\"arn:aws:ecs:{REGION}:123456789012:container-instance/x\"}}' ;;\n  *) exit 22 ;;\nesac"
        ),
    );
    stub(&bin, "aws", "");
    // The unit runs its command; here at once, so that its signal is seen.
    stub(
        &bin,
        "systemd-run",
        &format!("{}\n\"${{@: -1}}\"", fails("systemd-run")),
    );
    std::fs::write(root.join("user-data.sh"), &script).unwrap();
    let out = Command::new("bash")
        .arg(root.join("user-data.sh"))
        .current_dir(&root)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("CALLS", root.join("calls.log"))
        .env("ROOT", &root)
        .output()
        .expect("bash runs");
    Run {
        dir,
        status: out.status,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        script,
    }
}

/// A signal's unique ID: the reason is cut to the 64 characters it holds.
fn id(full: &str) -> String {
    full.chars().take(64).collect()
}

fn signal(success: bool, id: &str) -> String {
    format!(
        "cfn-signal --success {success} --id {id} --stack {STACK} --resource AutoScalingGroup --region {REGION}"
    )
}

#[test]
fn every_step_runs_and_then_one_success_signal_is_sent() {
    let run = run(None, true);
    assert!(run.status.success(), "{}\n{:?}", run.stderr, run.calls());
    assert_eq!(
        run.steps(),
        [
            "dnf install -y aws-cfn-bootstrap".to_owned(),
            "systemd-run --unit berth-ready --no-block <root>/usr/local/bin/berth-ready".to_owned(),
            signal(true, INSTANCE),
        ],
        "{}",
        run.stderr
    );
    let config = std::fs::read_to_string(run.root().join("etc/ecs/ecs.config")).unwrap();
    assert_eq!(
        config,
        format!("ECS_CLUSTER={CLUSTER}\nECS_ENABLE_CONTAINER_METADATA=true\n")
    );
}

#[test]
fn a_failed_install_signals_failure_at_once_naming_its_line_and_nothing_runs_after_it() {
    let run = run(Some("dnf"), true);
    assert!(!run.status.success(), "{:?}", run.calls());
    let line = run.line_of("dnf install");
    let id = id(&format!(
        "{INSTANCE}-UserData-line-{line}:-dnf-install--y-aws-cfn-bootstrap"
    ));
    // cfn-signal is what failed to install: the signal goes through the AWS CLI, as the script says.
    assert_eq!(
        run.steps(),
        [
            "dnf install -y aws-cfn-bootstrap".to_owned(),
            format!(
                "aws cloudformation signal-resource --stack-name {STACK} --logical-resource-id AutoScalingGroup \
                 --unique-id {id} --status FAILURE --region {REGION}"
            ),
        ],
        "{}",
        run.stderr
    );
    assert!(!run.root().join("etc/ecs/ecs.config").exists());
    assert!(!run.root().join("usr/local/bin/berth-ready").exists());
}

#[test]
fn failing_to_write_the_agents_config_signals_failure_at_once_and_starts_nothing() {
    let run = run(None, false);
    assert!(!run.status.success(), "{:?}", run.calls());
    let line = run.line_of("cat >> ");
    let steps = run.steps();
    assert_eq!(steps.len(), 2, "{steps:#?}\n{}", run.stderr);
    assert_eq!(steps[0], "dnf install -y aws-cfn-bootstrap");
    let prefix = format!("cfn-signal --success false --id {INSTANCE}-UserData-line-{line}:-cat-");
    assert!(steps[1].starts_with(&prefix), "{steps:#?}\nexpected {prefix}");
    assert!(
        steps[1].ends_with(&format!(
            " --stack {STACK} --resource AutoScalingGroup --region {REGION}"
        )),
        "{steps:#?}"
    );
    assert!(!run.root().join("usr/local/bin/berth-ready").exists());
}

#[test]
fn failing_to_start_the_readiness_unit_signals_failure_at_once() {
    let run = run(Some("systemd-run"), true);
    assert!(!run.status.success(), "{:?}", run.calls());
    let line = run.line_of("systemd-run ");
    let id = format!("{INSTANCE}-UserData-line-{line}:-systemd-run---unit-berth-ready---no-block");
    let steps = run.steps();
    assert_eq!(steps.len(), 3, "{steps:#?}\n{}", run.stderr);
    assert!(
        steps[1].starts_with("systemd-run --unit berth-ready"),
        "{steps:#?}"
    );
    assert_eq!(steps[2], signal(false, &self::id(&id)), "{steps:#?}");
}
