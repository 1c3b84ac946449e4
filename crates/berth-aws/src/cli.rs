//! The command line of the commands that talk to AWS.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use cfn::Format;
use clap::{Parser, Subcommand, ValueEnum};
use pipeline_model::{Names, Stack, pipeline_outputs, service_params};

use crate::changeset::ParamValue;
use crate::deploy::{self, Env, Options, Request};
use crate::exit::{Code, Failure, Result};
use crate::fail;
use crate::follow::{Interrupt, Pacing, Progress};
use crate::output::Printer;
use crate::prompt::{Confirm, Terminal};
use crate::{aws, commands, secrets};
use pipeline_model::secrets as secrets_model;

#[derive(Parser, Debug)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "berth: deploy and inspect the stacks of a stage"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// AWS profile (default: the SDK's credential chain)
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region (default: the stage's)
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// A custom AWS endpoint, e.g. an emulator (default: AWS_ENDPOINT_URL)
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Where the stage files are (default: infra/stages)
    #[arg(long, global = true, value_name = "DIR")]
    pub stages: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StackArg {
    Pipeline,
    Service,
}

impl From<StackArg> for Stack {
    fn from(s: StackArg) -> Stack {
        match s {
            StackArg::Pipeline => Stack::Pipeline,
            StackArg::Service => Stack::Service,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Target {
    /// Which stack of the stage
    #[arg(value_enum)]
    pub stack: StackArg,
    /// The stage (a file infra/stages/<STAGE>.yaml)
    #[arg(long)]
    pub stage: String,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Deploy a stack of a stage through a change set
    Deploy {
        #[command(flatten)]
        target: Target,
        /// Execute without asking
        #[arg(long, short = 'y')]
        yes: bool,
        /// Prepare the change set and stop; print how to execute it
        #[arg(long, conflicts_with = "execute")]
        no_execute: bool,
        /// Execute a change set prepared with --no-execute
        #[arg(long, value_name = "CHANGE_SET")]
        execute: Option<String>,
        /// Delete and recreate a stack whose creation failed (ROLLBACK_COMPLETE, ...) without asking
        #[arg(long)]
        recreate_failed: bool,
        /// Wait for an operation already running on the stack instead of stopping
        #[arg(long)]
        wait: bool,
        /// How to show progress (default: bar on a terminal, events otherwise)
        #[arg(long, value_enum, default_value = "bar")]
        progress: Progress,
        #[arg(long, value_enum, default_value = "text")]
        output: OutputFormat,
        /// Bucket for templates over the 51,200-byte inline limit (default: the stage's artifact bucket)
        #[arg(long, value_name = "BUCKET")]
        template_bucket: Option<String>,
        /// Service stack: the image tag to run (default: keep the deployed one)
        #[arg(long, value_name = "TAG")]
        image_tag: Option<String>,
        /// The role CloudFormation uses (default: the stack's, or your credentials)
        #[arg(long, value_name = "ARN")]
        role_arn: Option<String>,
    },
    /// Show the change set a deploy would execute, then delete it
    Diff {
        #[command(flatten)]
        target: Target,
        /// Exit with 2 when there are changes
        #[arg(long)]
        exit_code: bool,
        #[arg(long, value_name = "TAG")]
        image_tag: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Delete a stack of a stage (retained resources stay)
    Destroy {
        #[command(flatten)]
        target: Target,
        /// Delete without asking
        #[arg(long, short = 'y')]
        yes: bool,
        #[arg(long, value_enum, default_value = "bar")]
        progress: Progress,
    },
    /// A stack's status, recent events and outputs
    Status {
        #[command(flatten)]
        target: Target,
        /// Follow a running operation to its end
        #[arg(long)]
        watch: bool,
        #[arg(long, value_enum, default_value = "text")]
        output: OutputFormat,
        #[arg(long, value_enum, default_value = "events")]
        progress: Progress,
    },
    /// Continue the rollback of a stack in UPDATE_ROLLBACK_FAILED
    Rollback {
        #[command(flatten)]
        target: Target,
        /// A resource to skip (it stays as it is); repeatable
        #[arg(long, value_name = "LOGICAL_ID")]
        skip: Vec<String>,
        #[arg(long, value_enum, default_value = "bar")]
        progress: Progress,
    },
    /// The app's secrets in SSM Parameter Store, under the stage's KMS key
    #[command(subcommand)]
    Secrets(SecretsCommand),
}

#[derive(Subcommand, Debug)]
pub enum SecretsCommand {
    /// Store a secret: the value comes from stdin, or from a prompt that does not echo on a terminal
    #[command(after_help = "The value is never an argument. Examples:\n  \
        cargo xtask secrets put DB_PASSWORD --stage dev            (asks, twice, without echo)\n  \
        pass show db/dev | cargo xtask secrets put DB_PASSWORD --stage dev\n\
        One trailing line break of the input is dropped.")]
    Put {
        /// The secret, as the app declares it (crates/pipeline-model, secrets::DECLARED)
        name: String,
        /// The stage (a file infra/stages/<STAGE>.yaml)
        #[arg(long)]
        stage: String,
        /// Replace an existing value (a new version; the old ones stay in its history)
        #[arg(long)]
        overwrite: bool,
    },
    /// The stage's secrets: names, versions, last change, key; never values
    List {
        #[arg(long)]
        stage: String,
        #[arg(long, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Delete a secret (every version)
    Rm {
        name: String,
        #[arg(long)]
        stage: String,
        /// Delete without asking
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Exit 6, listing them, when a secret the app declares is missing
    Check {
        #[arg(long)]
        stage: String,
        #[arg(long, value_enum, default_value = "text")]
        output: OutputFormat,
    },
}

impl SecretsCommand {
    fn stage(&self) -> &str {
        match self {
            SecretsCommand::Put { stage, .. }
            | SecretsCommand::List { stage, .. }
            | SecretsCommand::Rm { stage, .. }
            | SecretsCommand::Check { stage, .. } => stage,
        }
    }
}

/// `text` as one shell word.
fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=,@+".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r#"'\''"#))
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/berth-aws is two levels down")
        .to_path_buf()
}

/// Runs the command line; returns the exit code.
pub async fn main(args: Vec<OsString>) -> i32 {
    let printer = Printer::stdio();
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { Code::Usage as i32 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let interrupt = Interrupt::default();
    interrupt.on_ctrl_c();
    match run(cli, &printer, &Terminal, Pacing::INTERACTIVE, &interrupt).await {
        Ok(code) => code as i32,
        Err(f) => {
            printer.line(&format!("error: {:#}", f.error));
            f.code as i32
        }
    }
}

/// Runs a parsed command with the given printer, prompt and pacing (tests pass their own).
pub async fn run(
    cli: Cli,
    p: &Printer,
    confirm: &dyn Confirm,
    pacing: Pacing,
    interrupt: &Interrupt,
) -> Result<Code> {
    let stages_dir = cli
        .stages
        .clone()
        .unwrap_or_else(|| root().join(infra::STAGES_DIR));
    let command = match cli.command {
        Command::Secrets(command) => {
            let stage = load_stage(&stages_dir, command.stage())?;
            // A value is read before any AWS call: a bad one writes nothing and costs no round trip.
            let value = match &command {
                SecretsCommand::Put { name, .. } => {
                    secrets::declared(name, secrets_model::DECLARED)
                        .map_err(|e| Failure::new(Code::Error, e))?;
                    Some(secrets::read_value(name).map_err(|e| Failure::new(Code::Error, e))?)
                }
                _ => None,
            };
            let region = cli.region.clone().unwrap_or_else(|| stage.region.clone());
            let session = aws::connect(cli.profile.as_deref(), &region, cli.endpoint_url.as_deref()).await;
            return run_secrets(command, &stage, &session, value, p, confirm).await;
        }
        other => other,
    };
    let target = match &command {
        Command::Deploy { target, .. }
        | Command::Diff { target, .. }
        | Command::Destroy { target, .. }
        | Command::Status { target, .. }
        | Command::Rollback { target, .. } => target,
        Command::Secrets(_) => unreachable!("handled above"),
    };
    let stage = load_stage(&stages_dir, &target.stage)?;
    let region = cli.region.clone().unwrap_or_else(|| stage.region.clone());
    let session = aws::connect(cli.profile.as_deref(), &region, cli.endpoint_url.as_deref()).await;
    let env = Env {
        cfn: &session.cfn,
        s3: &session.s3,
        printer: p,
        confirm,
        pacing,
        interrupt,
        endpoint: session.endpoint.clone(),
        region: region.clone(),
    };
    let stack: Stack = target.stack.into();
    let names = stage.names();
    let stack_name = names.stack(stack);
    // The commands a message suggests carry the global flags this one was given.
    let mut globals = String::new();
    for (flag, value) in [
        ("--profile", cli.profile.clone()),
        ("--region", cli.region.clone()),
        ("--endpoint-url", cli.endpoint_url.clone()),
        ("--stages", cli.stages.as_ref().map(|d| d.display().to_string())),
    ] {
        if let Some(v) = value {
            globals.push_str(&format!(" {flag} {}", shell_quote(&v)));
        }
    }
    let hint = |cmd: &str| {
        format!(
            "cargo xtask {cmd} {} --stage {}{globals}",
            stack.suffix(),
            stage.name
        )
    };
    match command {
        Command::Deploy {
            yes,
            no_execute,
            execute,
            recreate_failed,
            wait,
            progress,
            output,
            template_bucket,
            image_tag,
            role_arn,
            ..
        } => {
            let req = request(&stage, stack, image_tag, role_arn)?;
            if stack == Stack::Service {
                // A service without its secrets starts no task: refuse before any change set.
                let problems = secrets::Store::of(&session, names)
                    .check(secrets_model::DECLARED)
                    .await?;
                if !problems.is_empty() {
                    fail!(
                        Code::SecretsMissing,
                        "the service's secrets are not all there: no change set created\n  {}\nhint: {}",
                        problems.join("\n  "),
                        put_hint(&problems, &stage.name.to_string())
                    );
                }
            }
            let template_bucket = match template_bucket {
                Some(b) => Some(b),
                None if req.template_body.len() > deploy::INLINE_LIMIT => {
                    artifact_bucket(&env, &names).await?
                }
                None => None,
            };
            let opts = Options {
                yes,
                no_execute,
                execute,
                recreate_failed,
                wait,
                progress,
                json: output == OutputFormat::Json,
                template_bucket,
                execute_hint: format!("{} --execute {{change_set}}", hint("deploy")),
                watch_hint: format!("{} --watch", hint("status")),
            };
            deploy::deploy(&env, &req, &opts).await?;
            Ok(Code::Ok)
        }
        Command::Diff {
            exit_code,
            image_tag,
            output,
            ..
        } => {
            let req = request(&stage, stack, image_tag, None)?;
            let changes = commands::diff(&env, &req, output == OutputFormat::Json).await?;
            Ok(if changes && exit_code {
                Code::Changes
            } else {
                Code::Ok
            })
        }
        Command::Destroy { yes, progress, .. } => {
            // The service stack imports the pipeline stack's exports: it has to go first.
            let mut blockers = Vec::new();
            if stack == Stack::Pipeline {
                let service = names.stack(Stack::Service);
                if crate::stack::describe(env.cfn, &service).await?.is_some_and(|s| {
                    crate::stack::classify(&crate::stack::status(&s)) != crate::stack::Class::Missing
                }) {
                    blockers.push(service);
                }
            }
            commands::destroy(&env, &stack_name, yes, progress, &blockers).await?;
            Ok(Code::Ok)
        }
        Command::Status {
            watch,
            output,
            progress,
            ..
        } => {
            commands::status(&env, &stack_name, watch, output == OutputFormat::Json, progress).await?;
            Ok(Code::Ok)
        }
        Command::Rollback { skip, progress, .. } => {
            commands::rollback(&env, &stack_name, &skip, progress).await?;
            Ok(Code::Ok)
        }
        Command::Secrets(_) => unreachable!("secrets commands returned above"),
    }
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

async fn run_secrets(
    command: SecretsCommand,
    stage: &infra::Stage,
    session: &aws::Aws,
    value: Option<secrets::SecretValue>,
    p: &Printer,
    confirm: &dyn Confirm,
) -> Result<Code> {
    let names = stage.names();
    let store = secrets::Store::of(session, names);
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

fn load_stage(dir: &Path, name: &str) -> Result<infra::Stage> {
    let stages = infra::load_stages(dir, Some(name)).map_err(|errors| {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        Failure::new(
            Code::Error,
            format!("the stage file has problems:\n  {}", list.join("\n  ")),
        )
    })?;
    stages
        .into_iter()
        .next()
        .ok_or_else(|| Failure::new(Code::Error, format!("no stage `{name}`")))
}

/// The stack's template, synthesized and validated in memory, with the stage's values.
pub fn request(
    stage: &infra::Stage,
    stack: Stack,
    image_tag: Option<String>,
    role_arn: Option<String>,
) -> Result<Request> {
    let template = infra::template(stack, Format::Yaml);
    let synthesized = template
        .synth(Format::Yaml)
        .map_err(|e| Failure::new(Code::Error, format!("the {stack} template: {e}")))?;
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
    // berth's own rules, as synth runs them: nothing that fails them reaches AWS.
    let value = synthesized.to_json_value();
    let report = lint::lint_template(&value, Some(&synthesized.body));
    if report.errors() > 0 {
        let list: Vec<String> = report
            .findings
            .iter()
            .filter(|f| f.severity() == lint::Severity::Error)
            .map(ToString::to_string)
            .collect();
        fail!(
            Code::Error,
            "the {stack} template fails berth's rules; nothing sent:\n{}",
            list.join("\n")
        );
    }
    Ok(Request {
        stack_name: stage.names().stack(stack),
        template: value,
        template_body: synthesized.body,
        parameters,
        tags: stage.tags().into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        role_arn,
        description: format!("berth {}/{} {stack} stack", stage.app, stage.name),
    })
}

/// The stage's artifact bucket, from the pipeline stack's outputs.
async fn artifact_bucket(env: &Env<'_>, names: &Names<'_>) -> Result<Option<String>> {
    let pipeline = names.stack(Stack::Pipeline);
    let outputs = deploy::outputs(env.cfn, &pipeline).await?;
    Ok(outputs.get(pipeline_outputs::ARTIFACT_BUCKET).cloned())
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn suggested_commands_quote_what_the_shell_would_split() {
        assert_eq!(shell_quote("/tmp/stages"), "/tmp/stages");
        assert_eq!(shell_quote("http://127.0.0.1:4566"), "http://127.0.0.1:4566");
        assert_eq!(shell_quote("/tmp/my stages"), "'/tmp/my stages'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
