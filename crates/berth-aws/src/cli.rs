//! The command line of the commands that talk to AWS.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use cli::{
    AwsArgs, Cli, Command, LogsCommand, OutputFormat, PipelineCommand, SecretsCommand, ServiceCommand,
    StackArg,
};
use environment::{Environment, Inputs};
use pipeline_model::{Names, Stack, pipeline_outputs, service_params};

use crate::changeset::ParamValue;
use crate::deploy::{self, Env, Options, Request};
use crate::exit::{Code, Failure, Result};
use crate::fail;
use crate::follow::{Interrupt, Pacing};
use crate::output::Printer;
use crate::prompt::{Confirm, Terminal};
use crate::{aws, commands, drift, logs, ops, pipeline, secrets, service};
use pipeline_model::secrets as secrets_model;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/berth-aws is two levels down")
        .to_path_buf()
}

/// Runs the command line (parsed with the grammar xtask parsed it with); returns the exit code.
pub async fn main(args: Vec<OsString>) -> i32 {
    let printer = Printer::stdio();
    let cli = match Cli::parse_args(args) {
        Ok(c) => c,
        Err(e) => {
            cli::print_error(&e);
            return i32::from(cli::clap_exit_code(&e).number());
        }
    };
    let Some(command) = cli.command else {
        printer.data(cli::help().trim_end());
        return 0;
    };
    let interrupt = Interrupt::default();
    interrupt.on_ctrl_c();
    if let Some(args) = aws_args_of(&command)
        && let Err(e) = check_aws_args(args)
    {
        printer.line(&format!("error: {e}"));
        return i32::from(Code::Usage.number());
    }
    let target = aws_args_of(&command).map(|a| {
        let endpoint = a
            .endpoint_url
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .filter(|e| !e.is_empty());
        (a.region.clone(), endpoint)
    });
    let terminal = Terminal {
        interrupt: interrupt.clone(),
    };
    // Commands that only read may stop anywhere: Ctrl-C cancels the call in flight. The others
    // stop at their own safe points (deploy before execution, or while following).
    // (`logs --follow`, `pipeline watch` and `drift`, whose detection goes on, stop on Ctrl-C by
    // themselves.)
    let reads_only = matches!(
        &command,
        Command::Status(_)
            | Command::Service(_)
            | Command::Ami(_)
            | Command::Pipeline(cli::PipelineArgs {
                command: PipelineCommand::Status { .. },
                ..
            })
            | Command::Secrets(cli::SecretsArgs {
                command: SecretsCommand::List { .. } | SecretsCommand::Check { .. },
                ..
            })
    ) || matches!(&command, Command::Logs(l) if !l.command.flags().follow);
    let ran = if reads_only {
        interrupt
            .before_write(
                "nothing was changed",
                run(command, &printer, &terminal, Pacing::INTERACTIVE, &interrupt),
            )
            .await
    } else {
        run(command, &printer, &terminal, Pacing::INTERACTIVE, &interrupt).await
    };
    let ran = match (ran, printer.lost_output()) {
        (Ok(_), Some(why)) => Err(Failure::new(
            Code::Error,
            format!("could not write the output to stdout: {why}"),
        )),
        (ran, _) => ran,
    };
    match ran {
        Ok(code) => i32::from(code.number()),
        Err(f) => {
            let hint = target.as_ref().and_then(|(region, endpoint)| {
                let region = region.as_deref().unwrap_or("(the stage's)");
                aws::unreachable_hint(&f.error, region, endpoint.as_deref())
                    .or_else(|| aws::unreadable_answer_hint(&f.error))
            });
            // Credentials first: a credential provider that could not be reached (IMDS) is no
            // unreachable AWS endpoint.
            match (aws::credentials_hint(&f.error), hint) {
                (Some(hint), _) => printer.line(&format!("error: {:#}\n{hint}", f.error)),
                (None, Some(hint)) => printer.line(&format!("error: {hint}\ncause: {:#}", f.error)),
                (None, None) => printer.line(&format!("error: {:#}", f.error)),
            }
            i32::from(f.code.number())
        }
    }
}

/// What the AWS commands take from the command line and the environment, checked before the stage is
/// read or any call is made: the profile (`--profile` or `AWS_PROFILE`) is defined, `--region` is a
/// region, `AWS_ENDPOINT_URL` (without `--endpoint-url`) is a URL, `BERTH_CALL_TIMEOUT` is a number
/// of seconds. A usage error otherwise.
fn check_aws_args(a: &AwsArgs) -> std::result::Result<(), String> {
    if let Some((profile, given)) = aws::chosen_profile(a.profile.as_deref()) {
        aws::check_profile(&profile, &given)?;
    }
    if let Some(region) = &a.region {
        aws::check_region(region)?;
    }
    // The flag was checked when it was parsed; the variable the SDK would read instead, here.
    if a.endpoint_url.is_none()
        && let Some(v) = std::env::var_os("AWS_ENDPOINT_URL").filter(|v| !v.is_empty())
    {
        let v = v.to_string_lossy();
        cli::values::endpoint_url(&v).map_err(|e| format!("AWS_ENDPOINT_URL={v}: {e}"))?;
    }
    aws::check_call_timeout()?;
    Ok(())
}

/// The AWS flags of a command that talks to AWS.
fn aws_args_of(c: &Command) -> Option<&AwsArgs> {
    match c {
        Command::Deploy(d) => Some(&d.aws),
        Command::Diff(d) => Some(&d.aws),
        Command::Destroy(d) => Some(&d.aws),
        Command::Status(s) => Some(&s.aws),
        Command::Rollback(r) => Some(&r.aws),
        Command::Secrets(s) => Some(&s.aws),
        Command::Ami(a) => Some(&a.aws),
        Command::Pipeline(a) => Some(&a.aws),
        Command::Service(a) => Some(&a.aws),
        Command::Logs(a) => Some(&a.aws),
        Command::Drift(a) => Some(&a.aws),
        _ => None,
    }
}

/// The stack a command is about, as the contract names it.
fn stack_of(s: StackArg) -> Stack {
    match s {
        StackArg::Pipeline => Stack::Pipeline,
        StackArg::Service => Stack::Service,
    }
}

/// Runs a parsed command with the given printer, prompt and pacing (tests pass their own).
pub async fn run(
    command: Command,
    p: &Printer,
    confirm: &dyn Confirm,
    pacing: Pacing,
    interrupt: &Interrupt,
) -> Result<Code> {
    let ui = Ui {
        p,
        confirm,
        pacing,
        interrupt,
    };
    match command {
        Command::Secrets(s) => secrets_command(s, p, confirm, interrupt).await,
        Command::Ami(a) => {
            let stage = load_stage(a.aws.stages.as_deref(), &a.stage)?;
            let region = a.aws.region.clone().unwrap_or_else(|| stage.region.clone());
            let session =
                aws::connect(a.aws.profile.as_deref(), &region, a.aws.endpoint_url.as_deref()).await;
            let shown = stage
                .file
                .strip_prefix(root())
                .unwrap_or(&stage.file)
                .display()
                .to_string();
            crate::ami::run(
                &session.ssm,
                &stage,
                &shown,
                a.write,
                a.output == OutputFormat::Json,
                p,
            )
            .await
        }
        Command::Deploy(d) => {
            let t = Opened::open(&d.aws, &d.target, Gate::Checked).await?;
            let env = t.env(&ui);
            let mut req = t.request(d.image_tag, d.role_arn)?;
            if t.stack == Stack::Pipeline {
                t.gate_deploy_stage(&mut req, p).await?;
            }
            if t.stack == Stack::Service {
                // A service without its secrets starts no task: refuse before any change set.
                let problems = secrets::Store::of(&t.session, t.stage.names())
                    .check(secrets_model::DECLARED)
                    .await?;
                if !problems.is_empty() {
                    fail!(
                        Code::SecretsMissing,
                        "the service's secrets are not all there: no change set created\n  {}\nhint: {}",
                        problems.join("\n  "),
                        put_hint(&problems, &t.stage.name.to_string())
                    );
                }
            }
            let template_bucket = match d.template_bucket {
                Some(b) => Some(b),
                None if req.template_body.len() > deploy::INLINE_LIMIT => {
                    artifact_bucket(&env, &t.stage.names()).await?
                }
                None => None,
            };
            let opts = Options {
                yes: d.yes,
                no_execute: d.no_execute,
                execute: d.execute,
                recreate_failed: d.recreate_failed,
                wait: d.wait,
                progress: d.progress,
                json: d.output == OutputFormat::Json,
                template_bucket,
                execute_hint: format!("{} --execute {{change_set}}", t.hint("deploy")),
                watch_hint: format!("{} --watch", t.hint("status")),
                revert_drift: d.revert_drift,
            };
            deploy::deploy(&env, &req, &opts).await?;
            Ok(Code::Ok)
        }
        Command::Diff(d) => {
            let t = Opened::open(&d.aws, &d.target, Gate::Checked).await?;
            let mut req = t.request(d.image_tag, None)?;
            if t.stack == Stack::Pipeline {
                t.gate_deploy_stage(&mut req, p).await?;
            }
            let changes =
                commands::diff(&t.env(&ui), &req, d.output == OutputFormat::Json, d.revert_drift).await?;
            Ok(if changes && d.exit_code {
                Code::Changes
            } else {
                Code::Ok
            })
        }
        Command::Destroy(d) => {
            let t = Opened::open(&d.aws, &d.target, Gate::StageOnly).await?;
            let env = t.env(&ui);
            // The service stack imports the pipeline stack's exports: it has to go first.
            let mut blockers = Vec::new();
            if t.stack == Stack::Pipeline {
                let service = t.stage.names().stack(Stack::Service);
                if crate::stack::describe(env.cfn, &service).await?.is_some_and(|s| {
                    crate::stack::classify(&crate::stack::status(&s)) != crate::stack::Class::Missing
                }) {
                    blockers.push(service);
                }
            }
            let release = crate::protection::Clients::of(&t.session);
            commands::destroy(
                &env,
                &t.stack_name(),
                d.yes,
                d.progress,
                &blockers,
                Some(&release),
            )
            .await?;
            Ok(Code::Ok)
        }
        Command::Status(s) => {
            let t = Opened::open(&s.aws, &s.target, Gate::StageOnly).await?;
            let json = s.output == OutputFormat::Json;
            commands::status(&t.env(&ui), &t.stack_name(), s.watch, json, s.progress).await?;
            Ok(Code::Ok)
        }
        Command::Rollback(r) => {
            let t = Opened::open(&r.aws, &r.target, Gate::StageOnly).await?;
            commands::rollback(&t.env(&ui), &t.stack_name(), &r.skip, r.progress).await?;
            Ok(Code::Ok)
        }
        Command::Pipeline(a) => {
            let o = Operating::open(&a.aws, a.command.stage()).await?;
            let ctx = o.ctx(&ui);
            match a.command {
                PipelineCommand::Status { runs, output, .. } => {
                    pipeline::status(&ctx, runs, output == OutputFormat::Json).await
                }
                PipelineCommand::Watch {
                    execution, progress, ..
                } => pipeline::watch(&ctx, execution, progress).await,
                PipelineCommand::Release { watch, progress, .. } => {
                    pipeline::release(&ctx, watch, progress).await
                }
                PipelineCommand::Approve { comment, yes, .. } => {
                    pipeline::answer(&ctx, true, comment, yes).await
                }
                PipelineCommand::Reject { comment, yes, .. } => {
                    pipeline::answer(&ctx, false, comment, yes).await
                }
                PipelineCommand::Retry {
                    execution,
                    all_actions,
                    watch,
                    progress,
                    ..
                } => pipeline::retry(&ctx, execution, all_actions, watch, progress).await,
            }
        }
        Command::Service(a) => {
            let ServiceCommand::Status {
                stage,
                watch,
                events,
                output,
            } = a.command;
            let o = Operating::open(&a.aws, &stage).await?;
            service::status(&o.ctx(&ui), watch, events, output == OutputFormat::Json).await
        }
        Command::Logs(a) => {
            let o = Operating::open(&a.aws, &a.command.flags().stage).await?;
            let ctx = o.ctx(&ui);
            match a.command {
                LogsCommand::Service { flags } => logs::service(&ctx, &flags).await,
                LogsCommand::Build { flags, build } => logs::build(&ctx, &flags, build).await,
            }
        }
        Command::Drift(a) => {
            let o = Operating::open(&a.aws, &a.target.stage).await?;
            let drifted = drift::run(
                &o.ctx(&ui),
                stack_of(a.target.stack),
                a.output == OutputFormat::Json,
            )
            .await?;
            Ok(if drifted && a.exit_code {
                Code::Changes
            } else {
                Code::Ok
            })
        }
        Command::Bench(_)
        | Command::Ci
        | Command::Codegen(_)
        | Command::Synth(_)
        | Command::Lint(_)
        | Command::Graph(_)
        | Command::Plan(_)
        | Command::Tools => fail!(
            Code::Usage,
            "berth-aws runs the commands that talk to AWS; run the others as `cargo xtask <command>`"
        ),
    }
}

/// How a command talks to the person running it.
struct Ui<'a> {
    p: &'a Printer,
    confirm: &'a dyn Confirm,
    pacing: Pacing,
    interrupt: &'a Interrupt,
}

/// How much of the environment a stack command needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// The whole gate (`deploy`, `diff`): what they send is what synth would write.
    Checked,
    /// The stage's names and region only (`status`, `destroy`, `rollback`).
    StageOnly,
}

/// A stack command's stage, stack and AWS session.
struct Opened {
    aws_args: AwsArgs,
    stage: infra::Stage,
    stack: Stack,
    /// The environment through the gate (for [`Gate::Checked`]).
    checked: Option<Environment>,
    session: aws::Aws,
}

impl Opened {
    async fn open(aws_args: &AwsArgs, target: &cli::Target, gate: Gate) -> Result<Opened> {
        let (checked, stage) = match gate {
            Gate::Checked => {
                let env = checked_environment(aws_args.stages.as_deref(), &target.stage)?;
                let stage = env
                    .stage(&target.stage)
                    .cloned()
                    .ok_or_else(|| Failure::new(Code::Error, format!("no stage `{}`", target.stage)))?;
                (Some(env), stage)
            }
            Gate::StageOnly => (None, load_stage(aws_args.stages.as_deref(), &target.stage)?),
        };
        let region = aws_args.region.clone().unwrap_or_else(|| stage.region.clone());
        let session = aws::connect(
            aws_args.profile.as_deref(),
            &region,
            aws_args.endpoint_url.as_deref(),
        )
        .await;
        Ok(Opened {
            aws_args: aws_args.clone(),
            stage,
            stack: stack_of(target.stack),
            checked,
            session,
        })
    }

    fn env<'a>(&'a self, ui: &Ui<'a>) -> Env<'a> {
        Env {
            cfn: &self.session.cfn,
            s3: &self.session.s3,
            printer: ui.p,
            confirm: ui.confirm,
            pacing: ui.pacing,
            interrupt: ui.interrupt,
            endpoint: self.session.endpoint.clone(),
            region: self.session.region.clone(),
        }
    }

    fn stack_name(&self) -> String {
        self.stage.names().stack(self.stack)
    }

    /// A command a message suggests, with the global flags this one was given.
    fn hint(&self, cmd: &str) -> String {
        format!(
            "cargo xtask {cmd} {} --stage {}{}",
            self.stack.suffix(),
            self.stage.name,
            global_flags(&self.aws_args)
        )
    }

    /// Opens the pipeline's transition into its deploy stage when the stage's secrets are all
    /// stored, and keeps it closed otherwise: a run that reached the deploy stage without them would
    /// fail to create the service stack and leave it in ROLLBACK_COMPLETE, which no change set can
    /// update. Says which, and how to open it.
    async fn gate_deploy_stage(&self, req: &mut Request, p: &Printer) -> Result<()> {
        let problems = secrets::Store::of(&self.session, self.stage.names())
            .check(secrets_model::DECLARED)
            .await?;
        let open = problems.is_empty();
        if !open {
            p.line(&format!(
                "the pipeline's {} stage stays closed until the stage's secrets are stored:\n  {}\nthen run `{}` again to open it \
                 (runs wait at the closed transition; the newest goes on when it opens)",
                infra::blocks::DEPLOY_STAGE,
                problems.join("\n  "),
                self.hint("deploy"),
            ));
            p.line(&format!(
                "hint: {}",
                put_hint(&problems, &self.stage.name.to_string())
            ));
        }
        set_deploy_stage_open(req, open);
        Ok(())
    }

    fn request(&self, image_tag: Option<String>, role_arn: Option<String>) -> Result<Request> {
        let env = self
            .checked
            .as_ref()
            .ok_or_else(|| Failure::new(Code::Error, "a request needs the checked environment"))?;
        request(env, &self.stage, self.stack, image_tag, role_arn)
    }
}

/// An operating command's stage and clients (`pipeline`, `service`, `logs`, `drift`): the stage's
/// names and region only, like `status`.
struct Operating {
    stage: infra::Stage,
    region: String,
    clients: ops::Clients,
    flags: String,
}

impl Operating {
    async fn open(aws_args: &AwsArgs, stage: &str) -> Result<Operating> {
        let stage = load_stage(aws_args.stages.as_deref(), stage)?;
        let region = aws_args.region.clone().unwrap_or_else(|| stage.region.clone());
        let session = aws::connect(
            aws_args.profile.as_deref(),
            &region,
            aws_args.endpoint_url.as_deref(),
        )
        .await;
        Ok(Operating {
            stage,
            region,
            clients: ops::Clients::of(&session),
            flags: global_flags(aws_args),
        })
    }

    fn ctx<'a>(&'a self, ui: &Ui<'a>) -> ops::Ctx<'a> {
        ops::Ctx {
            aws: &self.clients,
            names: self.stage.names(),
            region: &self.region,
            printer: ui.p,
            confirm: ui.confirm,
            pacing: ui.pacing,
            interrupt: ui.interrupt,
            flags: self.flags.clone(),
        }
    }
}

/// The global flags a command was given, as they are written again in the commands a message
/// suggests.
fn global_flags(a: &AwsArgs) -> String {
    let mut globals = String::new();
    for (flag, value) in [
        ("--profile", a.profile.clone()),
        ("--region", a.region.clone()),
        ("--endpoint-url", a.endpoint_url.clone()),
        ("--stages", a.stages.as_ref().map(|d| d.display().to_string())),
    ] {
        if let Some(v) = value {
            globals.push_str(&format!(" {flag} {}", cli::shell_quote(&v)));
        }
    }
    globals
}

/// The commands that store what `check` found missing.
fn put_hint(problems: &[String], stage: &str) -> String {
    let names: Vec<&str> = problems
        .iter()
        .filter_map(|p| p.split_whitespace().next())
        .collect();
    names
        .iter()
        .map(|n| format!("cargo xtask secrets put {n} --stage {stage}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `secrets put|list|rm|check`: the stage is read, and a value to put is read and checked, before any
/// AWS call (a bad one writes nothing and costs no round trip).
async fn secrets_command(
    s: cli::SecretsArgs,
    p: &Printer,
    confirm: &dyn Confirm,
    interrupt: &Interrupt,
) -> Result<Code> {
    let stage = load_stage(s.aws.stages.as_deref(), s.command.stage())?;
    let value = match &s.command {
        SecretsCommand::Put { name, .. } => {
            secrets::declared(name, secrets_model::DECLARED).map_err(|e| Failure::new(Code::Error, e))?;
            Some(secrets::read_value(name, interrupt).map_err(|e| {
                let code = if interrupt.fired() {
                    Code::Interrupted
                } else {
                    Code::Error
                };
                Failure::new(code, e)
            })?)
        }
        _ => None,
    };
    let region = s.aws.region.clone().unwrap_or_else(|| stage.region.clone());
    let session = aws::connect(s.aws.profile.as_deref(), &region, s.aws.endpoint_url.as_deref()).await;
    run_secrets(s.command, &stage, &session, value, p, confirm, interrupt).await
}

async fn run_secrets(
    command: SecretsCommand,
    stage: &infra::Stage,
    session: &aws::Aws,
    value: Option<secrets::SecretValue>,
    p: &Printer,
    confirm: &dyn Confirm,
    interrupt: &Interrupt,
) -> Result<Code> {
    let names = stage.names();
    let store = secrets::Store::of(session, names).interrupted_by(interrupt);
    let declared = secrets_model::DECLARED;
    let stage_name = stage.name.to_string();
    match command {
        SecretsCommand::Put { name, overwrite, .. } => {
            let secret = secrets::declared(&name, declared).map_err(|e| Failure::new(Code::Error, e))?;
            let value = value.ok_or_else(|| Failure::new(Code::Error, "no value read"))?;
            let put = store.put(secret, &value, overwrite).await?;
            p.data(&format!(
                "{}: version {} (SecureString, key {})",
                put.parameter,
                put.version,
                names.kms_alias()
            ));
            if let Some(when) = &put.already_held {
                p.line(&format!(
                    "it holds this value since {when}: stored by an earlier attempt whose answer was lost, or before; nothing else written"
                ));
            }
            Ok(Code::Ok)
        }
        SecretsCommand::List { output, .. } => {
            let listed = store.list(declared).await?;
            let stage_key = if listed.is_empty() {
                None
            } else {
                store.stage_key().await.ok()
            };
            secrets::print_list(
                p,
                &listed,
                declared,
                &names,
                stage_key.as_deref(),
                output == OutputFormat::Json,
            );
            Ok(Code::Ok)
        }
        SecretsCommand::Rm { name, yes, .. } => {
            let secret = secrets::declared(&name, declared).map_err(|e| Failure::new(Code::Error, e))?;
            let parameter = secrets::parameter_name(&names, secret);
            if !yes {
                match confirm.confirm(&format!(
                    "delete {parameter} (every version)? The service cannot start new tasks without it"
                )) {
                    Some(true) => {}
                    Some(false) => fail!(Code::Refused, "not deleting {parameter}"),
                    None => fail!(
                        Code::Refused,
                        "refusing to delete {parameter} without confirmation: stdin is not a terminal; pass --yes"
                    ),
                }
            }
            let deleted = store.rm(secret).await?;
            p.data(&format!("{deleted}: deleted"));
            Ok(Code::Ok)
        }
        SecretsCommand::Check { output, .. } => {
            let problems = store.check(declared).await?;
            if output == OutputFormat::Json {
                p.data(&serde_json::json!({"stage": stage_name, "problems": problems}).to_string());
            } else if problems.is_empty() {
                p.data(&format!(
                    "{}/{}: all {} declared secret(s) stored",
                    names.app(),
                    stage_name,
                    declared.len()
                ));
            } else {
                p.line(&format!(
                    "{}/{}: secrets missing:\n  {}\nhint: {}",
                    names.app(),
                    stage_name,
                    problems.join("\n  "),
                    put_hint(&problems, &stage_name)
                ));
            }
            Ok(if problems.is_empty() {
                Code::Ok
            } else {
                Code::SecretsMissing
            })
        }
    }
}

/// The inputs of one stage, as `cargo xtask synth --stage NAME [--stages DIR]` reads them.
fn inputs(stages: Option<&Path>, name: &str) -> Inputs {
    Inputs::new(&root()).stages_dir(stages).only(Some(name))
}

/// The stage named, read and validated (the commands that need only its names and region).
fn load_stage(stages: Option<&Path>, name: &str) -> Result<infra::Stage> {
    environment::load_stage(&inputs(stages, name)).map_err(|e| Failure::new(Code::Error, e))
}

/// The stage and both templates, through the same gate as `cargo xtask synth --stage NAME`: what
/// synth refuses is refused here, in the same words, and nothing reaches AWS.
fn checked_environment(stages: Option<&Path>, name: &str) -> Result<Environment> {
    Environment::load(&inputs(stages, name))
        .map_err(|e| Failure::new(Code::Error, format!("{e}\nnothing sent to AWS")))
}

/// What a deploy of `stack` sends: the template that passed the gate, with the stage's values.
pub fn request(
    env: &Environment,
    stage: &infra::Stage,
    stack: Stack,
    image_tag: Option<String>,
    role_arn: Option<String>,
) -> Result<Request> {
    let template = env.template(stack);
    let mut parameters: Vec<(String, ParamValue)> = stage
        .parameters(stack)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), ParamValue::Value(v)))
        .collect();
    if stack == Stack::Service {
        let tag = match image_tag {
            Some(t) => ParamValue::Value(t),
            None => ParamValue::UsePrevious,
        };
        parameters.push((service_params::IMAGE_TAG.to_owned(), tag));
        parameters.sort_by(|a, b| a.0.cmp(&b.0));
    } else if image_tag.is_some() {
        fail!(
            Code::Usage,
            "--image-tag is for the service stack; the pipeline stack has no image"
        );
    }
    Ok(Request {
        stack_name: stage.names().stack(stack),
        template: template.value.clone(),
        template_body: template.body.clone(),
        parameters,
        tags: stage.tags().into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        role_arn,
        description: format!("berth {}/{} {stack} stack", stage.app, stage.name),
    })
}

/// Sets the pipeline stack's parameter that opens (or keeps closed) the transition into the deploy
/// stage.
pub fn set_deploy_stage_open(req: &mut Request, open: bool) {
    let name = pipeline_model::pipeline_params::DEPLOY_STAGE_OPEN;
    req.parameters.retain(|(k, _)| k != name);
    req.parameters.push((
        name.to_owned(),
        ParamValue::Value(if open { "true" } else { "false" }.to_owned()),
    ));
    req.parameters.sort_by(|a, b| a.0.cmp(&b.0));
}

/// The stage's artifact bucket, from the pipeline stack's outputs.
async fn artifact_bucket(env: &Env<'_>, names: &Names<'_>) -> Result<Option<String>> {
    let pipeline = names.stack(Stack::Pipeline);
    let outputs = deploy::outputs(env.cfn, &pipeline).await?;
    Ok(outputs.get(pipeline_outputs::ARTIFACT_BUCKET).cloned())
}
