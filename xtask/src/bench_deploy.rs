//! `cargo xtask bench --deploy`: the service stack deployed from nothing and redeployed unchanged, with
//! `cargo xtask deploy` and with `aws cloudformation deploy` (the AWS CLI), each against its own moto
//! server started here with the same account set up (`--localstack`: also against LocalStack, whose
//! CloudFormation engine is asynchronous like AWS's).
//!
//! The servers run on loopback and are stopped by PID when the benchmark ends. Figures, not
//! assertions: the numbers go in notes and reviews.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use pipeline_model::{Stack, service_params};
use test_support::Server;

use crate::{tools, util};

/// The image tag both tools deploy.
const TAG: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
const REGION: &str = "ap-northeast-1";

/// One account in an emulator, set up as the README's prerequisites say, with the pipeline stack
/// deployed (the service stack refers to its key, repository and policy).
struct Account {
    server: Server,
    stages: tempfile::TempDir,
    stage: infra::stage::Stage,
    template: PathBuf,
}

impl Account {
    fn new(server: Server, berth: &Path) -> Result<Account> {
        let example = test_support::example_stage_in(&server);
        let stages = tempfile::tempdir()?;
        let file = stages.path().join("dev.yaml");
        std::fs::write(&file, &example)?;
        // Through the gate, as `deploy` does: the template the AWS CLI gets is the one berth sends.
        let env = environment::Environment::load(
            &environment::Inputs::new(&util::project_root()).stages_dir(Some(stages.path())),
        )
        .map_err(|e| anyhow::anyhow!("the example stage rewritten for the emulator: {e}"))?;
        let stage = env.stage("dev").context("the example stage")?.clone();
        let template = stages.path().join("service.yaml");
        std::fs::write(&template, &env.template(Stack::Service).body)?;
        let account = Account {
            server,
            stages,
            stage,
            template,
        };
        account.berth(berth, &["deploy", "pipeline", "--yes", "--progress", "quiet"])?;
        // The service's secret (deploy refuses without it), from stdin as always.
        let mut put = Command::new(berth);
        account
            .env(&mut put)
            .args(["secrets", "put", "DB_PASSWORD"])
            .args(account.stages_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = put.spawn().context("running berth-aws secrets put")?;
        std::io::Write::write_all(
            &mut child.stdin.take().context("a stdin pipe")?,
            b"bench-only-value",
        )?;
        let out = child.wait_with_output()?;
        ensure_ok(&put, &out)?;
        Ok(account)
    }

    fn env<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        self.server
            .apply(cmd)
            .env("AWS_REGION", REGION)
            .env("NO_COLOR", "1")
    }

    fn stages_args(&self) -> Vec<String> {
        vec![
            "--stage".into(),
            "dev".into(),
            "--stages".into(),
            self.stages.path().display().to_string(),
        ]
    }

    /// `berth-aws <args> --stage dev`, untimed (setup and teardown).
    fn berth(&self, berth: &Path, args: &[&str]) -> Result<()> {
        let mut cmd = Command::new(berth);
        self.env(&mut cmd)
            .args(args)
            .args(self.stages_args())
            .stdin(Stdio::null());
        checked(&mut cmd)
    }

    /// Removes the service stack and what it retains, so that the next create starts from nothing.
    fn reset_service(&self, berth: &Path, with_cli: bool) -> Result<()> {
        if with_cli {
            let name = self.stage.names().stack(Stack::Service);
            self.aws(&["cloudformation", "delete-stack", "--stack-name", &name])?;
            self.aws(&[
                "cloudformation",
                "wait",
                "stack-delete-complete",
                "--stack-name",
                &name,
            ])?;
        } else {
            self.berth(berth, &["destroy", "service", "--yes", "--progress", "quiet"])?;
        }
        let group = self.stage.names().log_group();
        self.aws(&["logs", "delete-log-group", "--log-group-name", &group])
    }

    fn aws(&self, args: &[&str]) -> Result<()> {
        let mut cmd = Command::new(test_support::tool("aws"));
        self.env(&mut cmd)
            .args(args)
            .args(["--region", REGION, "--endpoint-url", &self.server.endpoint]);
        checked(&mut cmd)
    }

    /// `aws cloudformation deploy` of the service stack, as its documentation shows it.
    fn cli_deploy(&self) -> Command {
        let mut cmd = Command::new(test_support::tool("aws"));
        self.env(&mut cmd)
            .args(["cloudformation", "deploy", "--template-file"]);
        cmd.arg(&self.template)
            .args(["--stack-name", &self.stage.names().stack(Stack::Service)])
            .args([
                "--capabilities",
                "CAPABILITY_NAMED_IAM",
                "--no-fail-on-empty-changeset",
            ])
            .args(["--region", REGION, "--endpoint-url", &self.server.endpoint])
            .arg("--parameter-overrides");
        for (k, v) in self.stage.parameters(Stack::Service) {
            cmd.arg(format!("{k}={v}"));
        }
        cmd.arg(format!("{}={TAG}", service_params::IMAGE_TAG));
        cmd.arg("--tags");
        for (k, v) in self.stage.tags() {
            cmd.arg(format!("{k}={v}"));
        }
        cmd
    }

    /// `cargo xtask deploy service` (through cargo, as people run it) or the berth-aws binary alone.
    fn berth_deploy(&self, program: &Path, through_cargo: bool) -> Command {
        let mut cmd = Command::new(program);
        if through_cargo {
            cmd.args(["xtask"]).current_dir(util::project_root());
        }
        self.env(&mut cmd)
            .args([
                "deploy",
                "service",
                "--yes",
                "--progress",
                "quiet",
                "--image-tag",
                TAG,
            ])
            .args(self.stages_args());
        cmd
    }
}

fn checked(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("running `{}`", util::show(cmd)))?;
    ensure_ok(cmd, &out)
}

fn ensure_ok(cmd: &Command, out: &Output) -> Result<()> {
    if !out.status.success() {
        bail!(
            "`{}` failed ({}):\n{}{}",
            util::show(cmd),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// What a timed run must have printed, so that a figure is never the time of doing nothing.
#[derive(Clone, Copy)]
enum Expect {
    Created,
    NoChange,
}

impl Expect {
    /// The words berth and the AWS CLI print for it.
    fn words(self) -> [&'static str; 2] {
        match self {
            Expect::Created => ["CREATE_COMPLETE", "Successfully created/updated stack"],
            Expect::NoChange => ["no changes", "No changes to deploy"],
        }
    }
}

fn timed(mut cmd: Command, expect: Expect) -> Result<Duration> {
    let t = Instant::now();
    let out = cmd
        .output()
        .with_context(|| format!("running `{}`", util::show(&cmd)))?;
    let d = t.elapsed();
    ensure_ok(&cmd, &out)?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !expect.words().iter().any(|w| text.contains(w)) {
        bail!("`{}` did not say {:?}:\n{text}", util::show(&cmd), expect.words());
    }
    Ok(d)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

#[derive(Default)]
struct Samples {
    create: Vec<Duration>,
    no_change: Vec<Duration>,
}

impl Samples {
    fn line(&self, label: &str) -> String {
        format!(
            "  {label:<34} create {:>8}   no-change {:>8}   ({} runs; medians)",
            secs(median(self.create.clone())),
            secs(median(self.no_change.clone())),
            self.create.len()
        )
    }
}

/// Times `runs` creates and no-change redeploys of the service stack with berth (through cargo and
/// as the binary alone) in `berth_account` and with the AWS CLI in `cli_account`.
fn measure(
    berth_account: &Account,
    cli_account: &Account,
    berth: &Path,
    runs: usize,
) -> Result<(Samples, Samples, Samples)> {
    let cargo = PathBuf::from(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    let (mut via_cargo, mut alone, mut cli) = (Samples::default(), Samples::default(), Samples::default());
    // Warm-up, untimed: the emulator's first create of each kind of resource is slower than the rest.
    timed(berth_account.berth_deploy(berth, false), Expect::Created)?;
    berth_account.reset_service(berth, false)?;
    timed(cli_account.cli_deploy(), Expect::Created)?;
    cli_account.reset_service(berth, true)?;
    for _ in 0..runs {
        let berth_deploy = |through_cargo, expect| {
            let program = if through_cargo { &cargo } else { berth };
            timed(berth_account.berth_deploy(program, through_cargo), expect)
        };
        via_cargo.create.push(berth_deploy(true, Expect::Created)?);
        via_cargo.no_change.push(berth_deploy(true, Expect::NoChange)?);
        alone.no_change.push(berth_deploy(false, Expect::NoChange)?);
        berth_account.reset_service(berth, false)?;
        alone.create.push(berth_deploy(false, Expect::Created)?);
        berth_account.reset_service(berth, false)?;

        cli.create.push(timed(cli_account.cli_deploy(), Expect::Created)?);
        cli.no_change
            .push(timed(cli_account.cli_deploy(), Expect::NoChange)?);
        cli_account.reset_service(berth, true)?;
    }
    Ok((via_cargo, alone, cli))
}

fn ratio(cli: Duration, berth: Duration) -> String {
    format!("{:.1}x", cli.as_secs_f64() / berth.as_secs_f64())
}

#[allow(clippy::print_stdout, reason = "the command's output")]
fn report(label: &str, via_cargo: &Samples, alone: &Samples, cli: &Samples) {
    println!("\n{label}:");
    println!("{}", via_cargo.line("cargo xtask deploy service"));
    println!("{}", alone.line("berth-aws binary alone"));
    println!("{}", cli.line("aws cloudformation deploy"));
    let (bc, bn) = (
        median(via_cargo.create.clone()),
        median(via_cargo.no_change.clone()),
    );
    let (cc, cn) = (median(cli.create.clone()), median(cli.no_change.clone()));
    println!(
        "  AWS CLI / cargo xtask deploy:      create {}   no-change {}",
        ratio(cc, bc),
        ratio(cn, bn)
    );
    let (ac, an) = (median(alone.create.clone()), median(alone.no_change.clone()));
    println!(
        "  AWS CLI / berth-aws binary:        create {}   no-change {}",
        ratio(cc, ac),
        ratio(cn, an)
    );
}

#[allow(clippy::print_stdout, reason = "the command's output")]
pub fn run(runs: usize, localstack: bool) -> Result<()> {
    let runs = runs.max(1);
    tools::python_tools()?;
    if localstack {
        tools::localstack_tools()?;
    }
    util::run(util::cargo().args(["build", "--quiet", "--package", "xtask"]))?;
    util::run(util::cargo().args([
        "build",
        "--quiet",
        "--manifest-path",
        util::AWS_MANIFEST,
        "--bin",
        "berth-aws",
    ]))?;
    let berth = util::target_dir().join("debug/berth-aws");
    println!("berth deploy benchmark: the example stage's service stack, image tag {TAG}");

    let (a, b) = (test_support::moto(), test_support::moto());
    let (a, b) = (Account::new(a, &berth)?, Account::new(b, &berth)?);
    let (via_cargo, alone, cli) = measure(&a, &b, &berth, runs)?;
    report(
        "moto server (synchronous: a waiter never has to sleep)",
        &via_cargo,
        &alone,
        &cli,
    );
    drop((a, b));

    if localstack {
        // One LocalStack (it takes seconds to start); berth and the AWS CLI take turns in it.
        let ls = Account::new(test_support::localstack(), &berth)?;
        let (via_cargo, alone, cli) = measure(&ls, &ls, &berth, 1)?;
        report("LocalStack (asynchronous, like AWS)", &via_cargo, &alone, &cli);
    }
    Ok(())
}
