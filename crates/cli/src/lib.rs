//! berth's command-line grammar: every command, its flags and its help, defined once.
//!
//! `xtask` parses the whole command line with [`Cli`] before it does anything, so `--help` and usage
//! errors of every command answer at once, without building the AWS half. The commands that talk to
//! AWS run in `crates/berth-aws`'s binary, which parses the same argv with the same [`Cli`]. This
//! crate does no I/O and depends on clap only.

pub mod exit;
pub mod values;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

pub use exit::Code;

/// The name the commands are run as, in usage lines and suggested commands.
pub const BIN_NAME: &str = "cargo xtask";

#[derive(Parser, Debug)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "berth: the ECS-on-EC2 CI/CD environment as typed code",
    version
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Parses `args` (the program name first), as [`clap::Parser::try_parse_from`] does.
    pub fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Cli::try_parse_from(args)
    }
}

/// What to print for a clap error: clap's own text, except that an unexpected positional argument of
/// a `secrets` command is never shown (someone who typed a secret's value as an argument,
/// `secrets put NAME VALUE`, must not find it echoed to the terminal and the CI log).
pub fn error_text(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let positional = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => !arg.starts_with('-'),
        _ => false,
    };
    let usage = match e.get(ContextKind::Usage) {
        Some(ContextValue::StyledStr(u)) => u.to_string(),
        _ => String::new(),
    };
    let under = |command: &str| usage.contains(&format!("{BIN_NAME} {command}"));
    if !under("secrets ") {
        return e.render().to_string();
    }
    // A value given to a flag of a secrets command (`--overwrite=VALUE`, a bad value of a flag that
    // takes one): it may be the secret, typed in the wrong place. Said without it.
    let flag = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) if arg.starts_with('-') => {
            Some(arg.split('=').next().unwrap_or(arg).to_owned())
        }
        _ => None,
    };
    let value_of_flag = matches!(
        e.kind(),
        ErrorKind::TooManyValues
            | ErrorKind::InvalidValue
            | ErrorKind::ValueValidation
            | ErrorKind::UnknownArgument
    ) && flag.is_some()
        && (e.kind() != ErrorKind::UnknownArgument
            || matches!(e.get(ContextKind::InvalidArg), Some(ContextValue::String(a)) if a.contains('=')));
    if value_of_flag {
        return format!(
            "error: a value {} does not take (not shown: it may be a secret value)\n\n{usage}\n\nFor more information, try '--help'.\n",
            flag.unwrap_or_default()
        );
    }
    if e.kind() != ErrorKind::UnknownArgument || !positional {
        return e.render().to_string();
    }
    let why = if under("secrets put ") {
        "not shown: it may be a secret value; `secrets put` reads the value from a prompt or stdin, never \
         from an argument"
    } else {
        "not shown: it may be a secret value"
    };
    format!(
        "error: one argument more than the command takes ({why})\n\n{usage}\n\nFor more information, try '--help'.\n"
    )
}

/// `text` as one shell word, for the commands berth suggests (`hint: run ...`): as is when it is
/// plain, else in single quotes.
pub fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=,@+".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Prints a clap error as [`error_text`] renders it, to stderr (or stdout for `--help`).
#[allow(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "the command line's own error output"
)]
pub fn print_error(e: &clap::Error) {
    if e.use_stderr() {
        eprint!("{}", error_text(e));
    } else {
        let _ = e.print();
    }
}

/// The exit code of a clap error: 0 for `--help` and `--version`, [`Code::Usage`] otherwise.
pub fn clap_exit_code(e: &clap::Error) -> Code {
    if e.use_stderr() { Code::Usage } else { Code::Ok }
}

/// The help text of the whole command line (no command given).
pub fn help() -> String {
    <Cli as clap::CommandFactory>::command().render_help().to_string()
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Measure synth (in process, warm, --cold from a fresh clone) or --deploy against the AWS CLI
    Bench(BenchArgs),
    /// Run every check CI runs: fmt, clippy, tests, generated-file freshness, template checks
    Ci,
    /// Regenerate the CloudFormation resource types from the pinned cfn-lint's schemas
    Codegen(CodegenArgs),
    /// Synthesize the templates and every stage's parameter files into infra/cfn/
    Synth(SynthArgs),
    /// Run berth's own rules on the environment, or on template and buildspec files
    Lint(LintArgs),
    /// Draw the environment: both stacks, their references, the pipeline (Mermaid or DOT)
    Graph(GraphArgs),
    /// Model a stage's rollouts: a new image, every instance replaced, a scale-out (a model, from the
    /// stage and the synthesized templates)
    Plan(PlanArgs),
    /// Deploy a stack of a stage through a change set
    Deploy(DeployArgs),
    /// Show the change set a deploy would execute, then delete it
    Diff(DiffArgs),
    /// Delete a stack of a stage (retained resources stay)
    Destroy(DestroyArgs),
    /// A stack's status, recent events and outputs
    Status(StatusArgs),
    /// Continue the rollback of a stack in UPDATE_ROLLBACK_FAILED
    Rollback(RollbackArgs),
    /// The app's secrets in SSM Parameter Store, under the stage's KMS key: put (value from stdin or a
    /// prompt), list, rm, check
    Secrets(SecretsArgs),
    /// The stage's pinned AMI against AWS's current ECS-optimized one; --write pins the current one
    Ami(AmiArgs),
    /// The stage's pipeline: its latest runs, following one, starting one, answering its approval,
    /// retrying a failed stage
    Pipeline(PipelineArgs),
    /// The stage's running service: deployments, tasks, targets, instances, events, alarms
    Service(ServiceArgs),
    /// The app's log (JSON lines, pretty-printed) or the build's log
    Logs(LogsArgs),
    /// What changed outside CloudFormation: each drifted resource, property by property
    Drift(DriftArgs),
    /// Provision the pinned Python tools (cfn-lint, ...) under target/tools and print their location
    Tools,
}

// ---- the light commands -------------------------------------------------------------------------

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Also time the first `cargo xtask synth` of a fresh clone with an empty target directory (slow)
    #[arg(long)]
    pub cold: bool,
    /// Iterations of the in-process measurement
    #[arg(long, default_value_t = 200, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub runs: usize,
    /// Instead of synth: time `cargo xtask deploy service` against `aws cloudformation deploy`, each
    /// in its own moto server started for the purpose
    #[arg(long)]
    pub deploy: bool,
    /// With --deploy: creates and no-change redeploys per tool
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100))]
    pub deploy_runs: usize,
    /// With --deploy: also once against LocalStack (asynchronous, like AWS)
    #[arg(long, requires = "deploy")]
    pub localstack: bool,
}

#[derive(Debug, clap::Args)]
pub struct CodegenArgs {
    /// Fail if the committed files are stale instead of writing them
    #[arg(long)]
    pub check: bool,
    /// Also refresh infra/data/permissions/ (the CloudFormation handlers' permissions and the Service
    /// Authorization Reference) from this clone (a git directory) of pulumi/pulumi-aws-native
    #[arg(long, value_name = "GIT_DIR")]
    pub permissions_from: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TemplateFormat {
    Yaml,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Only this stage (a file infra/stages/<STAGE>.yaml); default: every stage
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    /// Template format
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: TemplateFormat,
    /// Write here instead of infra/cfn/ (same layout)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Read the stage files from here instead of infra/stages/
    #[arg(long, value_name = "DIR")]
    pub stages: Option<PathBuf>,
    /// Write nothing; fail if a committed file is stale
    #[arg(long)]
    pub check: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Template (YAML or JSON) or buildspec files; none: the environment, synthesized in memory
    pub files: Vec<PathBuf>,
    /// List the rules and exit (as text; not with files or --format)
    #[arg(long, conflicts_with_all = ["files", "format"])]
    pub rules: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// Name things after this stage (a file infra/stages/<STAGE>.yaml); default: the templates'
    /// own `${AppName}-${StageName}` scheme
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    #[arg(long, value_enum, default_value = "mermaid")]
    pub format: GraphFormat,
    /// Read the stage files from here instead of infra/stages/
    #[arg(long, value_name = "DIR")]
    pub stages: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScenarioArg {
    /// A new image rolled out (and the push-to-serving estimate)
    Image,
    /// Every container instance replaced (an AMI bump)
    Instances,
    /// A scale-out from the fewest tasks to the most
    ScaleOut,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The stage (a file infra/stages/<STAGE>.yaml)
    #[arg(long)]
    pub stage: String,
    /// Only this scenario; default: all three
    #[arg(long, value_enum)]
    pub scenario: Option<ScenarioArg>,
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputFormat,
    /// Read the stage files from here instead of infra/stages/
    #[arg(long, value_name = "DIR")]
    pub stages: Option<PathBuf>,
}

// ---- the commands that talk to AWS -----------------------------------------------------------------

/// Where and as whom the AWS commands run. Accepted after the command (and, for `secrets`, after its
/// subcommand).
#[derive(Debug, Default, Clone, clap::Args)]
pub struct AwsArgs {
    /// AWS profile (default: the SDK's credential chain)
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region (default: the stage's); checked against the regions berth knows before any call
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// A custom AWS endpoint, e.g. an emulator (default: AWS_ENDPOINT_URL)
    #[arg(long, global = true, value_name = "URL", value_parser = values::endpoint_url)]
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

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    /// A count of what is done of the total (a stack's resources; a pipeline run's actions) and the
    /// latest event, redrawn in place (needs stderr to be a terminal; falls back to `events` otherwise).
    Bar,
    /// One line per event.
    Events,
    /// Only the outcome and the errors.
    Quiet,
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

#[derive(clap::Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    pub target: Target,
    /// Execute without asking
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Prepare the change set and stop; print how to execute it
    #[arg(long, conflicts_with = "execute")]
    pub no_execute: bool,
    /// Execute a change set prepared with --no-execute
    #[arg(long, value_name = "CHANGE_SET", value_parser = values::change_set)]
    pub execute: Option<String>,
    /// Delete and recreate a stack whose creation failed (ROLLBACK_COMPLETE, ...) without asking
    #[arg(long)]
    pub recreate_failed: bool,
    /// Wait for an operation already running on the stack instead of stopping
    #[arg(long)]
    pub wait: bool,
    /// How to show the stack operation's progress (default: bar when stderr is a terminal, events otherwise)
    #[arg(long, value_enum, default_value = "bar", hide_default_value = true)]
    pub progress: Progress,
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputFormat,
    /// Bucket for templates over the 51,200-byte inline limit (default: the stage's artifact bucket)
    #[arg(long, value_name = "BUCKET", value_parser = values::bucket)]
    pub template_bucket: Option<String>,
    /// Service stack: the image tag to run (default: keep the deployed one)
    #[arg(long, value_name = "TAG", value_parser = values::image_tag)]
    pub image_tag: Option<String>,
    /// The role CloudFormation uses (default: the stack's, or your credentials)
    #[arg(long, value_name = "ARN", value_parser = values::role_arn)]
    pub role_arn: Option<String>,
    /// A drift-aware change set: also bring back what changed outside CloudFormation to what the
    /// template says (DeploymentMode REVERT_DRIFT; see `drift`)
    #[arg(long, conflicts_with = "execute")]
    pub revert_drift: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    #[command(flatten)]
    pub target: Target,
    /// Exit with 2 when there are changes
    #[arg(long)]
    pub exit_code: bool,
    /// Service stack: the image tag to compare with (default: keep the deployed one)
    #[arg(long, value_name = "TAG", value_parser = values::image_tag)]
    pub image_tag: Option<String>,
    /// The drift-aware change set: what a deploy with --revert-drift would change, drift included
    #[arg(long)]
    pub revert_drift: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputFormat,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub target: Target,
    /// Delete without asking
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How to show the deletion's progress (default: bar when stderr is a terminal, events otherwise)
    #[arg(long, value_enum, default_value = "bar", hide_default_value = true)]
    pub progress: Progress,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: Target,
    /// Follow a running operation to its end
    #[arg(long)]
    pub watch: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputFormat,
    /// With --watch: how to show the operation's progress
    #[arg(long, value_enum, default_value = "events")]
    pub progress: Progress,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: Target,
    /// A resource to skip (it stays as it is); repeatable
    #[arg(long, value_name = "LOGICAL_ID", value_parser = values::logical_id)]
    pub skip: Vec<String>,
    /// How to show the rollback's progress (default: bar when stderr is a terminal, events otherwise)
    #[arg(long, value_enum, default_value = "bar", hide_default_value = true)]
    pub progress: Progress,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "An AMI bump is a change of the stage file, reviewed like any other:\n  \
    cargo xtask ami --stage dev --write     (pins AWS's current ECS-optimized AMI in infra/stages/dev.yaml)\n  \
    cargo xtask synth && cargo xtask diff service --stage dev   (shows the instances being replaced)\n\
    then commit, and deploy."
)]
pub struct AmiArgs {
    /// The stage (a file infra/stages/<STAGE>.yaml)
    #[arg(long)]
    pub stage: String,
    /// Pin the current AMI in the stage file (its `ami` and `ami_name`)
    #[arg(long)]
    pub write: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputFormat,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug)]
pub struct SecretsArgs {
    #[command(subcommand)]
    pub command: SecretsCommand,
    #[command(flatten)]
    pub aws: AwsArgs,
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
        /// The stage (a file infra/stages/<STAGE>.yaml)
        #[arg(long)]
        stage: String,
        #[arg(long, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Delete a secret (every version)
    Rm {
        /// The secret, as the app declares it
        name: String,
        /// The stage (a file infra/stages/<STAGE>.yaml)
        #[arg(long)]
        stage: String,
        /// Delete without asking
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Exit 6, listing them, when a secret the app declares is missing
    Check {
        /// The stage (a file infra/stages/<STAGE>.yaml)
        #[arg(long)]
        stage: String,
        #[arg(long, value_enum, default_value = "text")]
        output: OutputFormat,
    },
}

impl SecretsCommand {
    /// The stage the command is about.
    pub fn stage(&self) -> &str {
        match self {
            SecretsCommand::Put { stage, .. }
            | SecretsCommand::List { stage, .. }
            | SecretsCommand::Rm { stage, .. }
            | SecretsCommand::Check { stage, .. } => stage,
        }
    }
}

// ---- operating a stage: the pipeline, the running service, the logs, drift -------------------------

#[derive(clap::Args, Debug)]
pub struct PipelineArgs {
    #[command(subcommand)]
    pub command: PipelineCommand,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Subcommand, Debug)]
pub enum PipelineCommand {
    /// The latest runs: trigger, source revisions (commit and message), the image built, every stage
    /// and action with its status and duration
    Status {
        /// The stage (a file infra/stages/<STAGE>.yaml)
        #[arg(long)]
        stage: String,
        /// How many runs, newest first
        #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(i32).range(1..=20))]
        runs: i32,
        #[arg(long, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Follow the running run (or --execution ID) to its end; on failure, the root cause
    #[command(
        after_help = "Exit 0 when the run succeeds, 4 when it fails or is stopped (the root cause is printed), \
        130 on Ctrl-C (the run goes on)."
    )]
    Watch {
        /// The stage (a file infra/stages/<STAGE>.yaml)
        #[arg(long)]
        stage: String,
        /// A run's execution ID (default: the one in progress, else the latest)
        #[arg(long, value_name = "ID", value_parser = values::execution_id)]
        execution: Option<String>,
        /// How to show the run's progress (default: bar when stderr is a terminal, events otherwise)
        #[arg(long, value_enum, default_value = "bar", hide_default_value = true)]
        progress: Progress,
    },
    /// Start a run now (from the sources' latest commits)
    Release {
        /// The stage (a file infra/stages/<STAGE>.yaml)
        #[arg(long)]
        stage: String,
        /// Follow the run to its end
        #[arg(long)]
        watch: bool,
        /// With --watch: how to show the run's progress (default: bar when stderr is a terminal, events otherwise)
        #[arg(long, value_enum, default_value = "bar", hide_default_value = true)]
        progress: Progress,
    },
    /// Approve the change set waiting in the deploy stage: shows it first, then asks
    Approve {
        /// The stage (a file infra/stages/<STAGE>.yaml)
        #[arg(long)]
        stage: String,
        /// What the approval records (default: who approved, from berth)
        #[arg(long, value_name = "TEXT")]
        comment: Option<String>,
        /// Answer without asking
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Reject the change set waiting in the deploy stage (it is not executed): shows it first, then asks
    Reject {
        /// The stage (a file infra/stages/<STAGE>.yaml)
        #[arg(long)]
        stage: String,
        /// Why (recorded with the rejection)
        #[arg(long, value_name = "TEXT")]
        comment: Option<String>,
        /// Answer without asking
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Retry the failed stage of the latest run (or of --execution ID)
    Retry {
        /// The stage (a file infra/stages/<STAGE>.yaml)
        #[arg(long)]
        stage: String,
        /// The run whose failed stage to retry (default: the failed stage's latest run)
        #[arg(long, value_name = "ID", value_parser = values::execution_id)]
        execution: Option<String>,
        /// Run every action of the stage again, not only the failed ones
        #[arg(long)]
        all_actions: bool,
        /// Follow the run to its end
        #[arg(long)]
        watch: bool,
        /// With --watch: how to show the run's progress (default: bar when stderr is a terminal, events otherwise)
        #[arg(long, value_enum, default_value = "bar", hide_default_value = true)]
        progress: Progress,
    },
}

impl PipelineCommand {
    /// The stage the command is about.
    pub fn stage(&self) -> &str {
        match self {
            PipelineCommand::Status { stage, .. }
            | PipelineCommand::Watch { stage, .. }
            | PipelineCommand::Release { stage, .. }
            | PipelineCommand::Approve { stage, .. }
            | PipelineCommand::Reject { stage, .. }
            | PipelineCommand::Retry { stage, .. } => stage,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct ServiceArgs {
    #[command(subcommand)]
    pub command: ServiceCommand,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Subcommand, Debug)]
pub enum ServiceCommand {
    /// Deployments (rollout state; desired, running, pending, failed tasks), tasks (instance, image
    /// tag, health, stop reason), target health, the instances, recent events, the deployment alarms
    #[command(
        after_help = "With --watch: refreshed until the rollout ends (exit 0; 4 when it failed), or Ctrl-C (130)."
    )]
    Status {
        /// The stage (a file infra/stages/<STAGE>.yaml)
        #[arg(long)]
        stage: String,
        /// Refresh until the rollout ends
        #[arg(long)]
        watch: bool,
        /// Service events to show, newest first
        #[arg(long, default_value_t = 8, value_name = "N")]
        events: usize,
        #[arg(long, value_enum, default_value = "text")]
        output: OutputFormat,
    },
}

#[derive(clap::Args, Debug)]
pub struct LogsArgs {
    #[command(subcommand)]
    pub command: LogsCommand,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// What every `logs` command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct LogFlags {
    /// The stage (a file infra/stages/<STAGE>.yaml)
    #[arg(long)]
    pub stage: String,
    /// Keep printing new lines until Ctrl-C (a build's log: until the build ends)
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only lines newer than this: a duration (30s, 10m, 2h, 1d) or an RFC 3339 time
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only lines containing this text
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Print the lines as logged, without pretty-printing
    #[arg(long)]
    pub raw: bool,
}

#[derive(Subcommand, Debug)]
pub enum LogsCommand {
    /// The app's log: its JSON lines as level, time, message and fields (default: the last 10 minutes)
    Service {
        #[command(flatten)]
        flags: LogFlags,
    },
    /// The build's log: the latest build of the stage's pipeline, or --build ID
    Build {
        #[command(flatten)]
        flags: LogFlags,
        /// A build ID (`<project>:<uuid>`, or the uuid alone)
        #[arg(long, value_name = "ID")]
        build: Option<String>,
    },
}

impl LogsCommand {
    pub fn flags(&self) -> &LogFlags {
        match self {
            LogsCommand::Service { flags } | LogsCommand::Build { flags, .. } => flags,
        }
    }
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Then `cargo xtask diff <stack> --stage S --revert-drift` shows the change set that brings \
    the drifted resources back to the template, and `deploy ... --revert-drift` executes it."
)]
pub struct DriftArgs {
    #[command(flatten)]
    pub target: Target,
    /// Exit with 2 when a resource drifted
    #[arg(long)]
    pub exit_code: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputFormat,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[cfg(test)]
mod tests {

    #[test]
    fn suggested_commands_quote_what_the_shell_would_split() {
        assert_eq!(shell_quote("/tmp/stages"), "/tmp/stages");
        assert_eq!(shell_quote("http://127.0.0.1:4566"), "http://127.0.0.1:4566");
        assert_eq!(shell_quote("/tmp/my stages"), "'/tmp/my stages'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
    use super::*;
    use clap::ValueEnum;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::parse_args(std::iter::once("cargo xtask").chain(args.iter().copied()))
    }

    #[test]
    fn the_grammar_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn aws_flags_go_after_the_command_and_after_a_secrets_subcommand() {
        let cli = parse(&["deploy", "service", "--stage", "dev", "--profile", "p", "--yes"]).unwrap();
        let Some(Command::Deploy(d)) = cli.command else {
            panic!("deploy")
        };
        assert_eq!(d.aws.profile.as_deref(), Some("p"));
        assert!(d.yes);
        let cli = parse(&["secrets", "list", "--stage", "dev", "--region", "eu-west-1"]).unwrap();
        let Some(Command::Secrets(s)) = cli.command else {
            panic!("secrets")
        };
        assert_eq!(s.aws.region.as_deref(), Some("eu-west-1"));
        assert_eq!(s.command.stage(), "dev");
    }

    #[test]
    fn the_operating_commands_parse_with_their_flags() {
        let cli = parse(&[
            "pipeline",
            "watch",
            "--stage",
            "dev",
            "--execution",
            "e-1",
            "--progress",
            "quiet",
            "--region",
            "eu-west-1",
        ])
        .unwrap();
        let Some(Command::Pipeline(p)) = cli.command else {
            panic!("pipeline")
        };
        assert_eq!(p.command.stage(), "dev");
        assert_eq!(p.aws.region.as_deref(), Some("eu-west-1"));
        assert!(matches!(
            p.command,
            PipelineCommand::Watch { execution: Some(ref e), progress: Progress::Quiet, .. } if e == "e-1"
        ));
        let cli = parse(&[
            "pipeline",
            "approve",
            "--stage",
            "prod",
            "--comment",
            "ship it",
            "-y",
        ])
        .unwrap();
        let Some(Command::Pipeline(p)) = cli.command else {
            panic!("pipeline")
        };
        assert!(matches!(
            p.command,
            PipelineCommand::Approve { yes: true, comment: Some(ref c), .. } if c == "ship it"
        ));
        let cli = parse(&[
            "logs", "service", "--stage", "dev", "-f", "--since", "1h", "--filter", "error", "--raw",
        ])
        .unwrap();
        let Some(Command::Logs(l)) = cli.command else {
            panic!("logs")
        };
        let f = l.command.flags();
        assert!(f.follow && f.raw);
        assert_eq!(
            (f.since.as_deref(), f.filter.as_deref()),
            (Some("1h"), Some("error"))
        );
        let cli = parse(&[
            "service", "status", "--stage", "dev", "--watch", "--output", "json",
        ])
        .unwrap();
        let Some(Command::Service(s)) = cli.command else {
            panic!("service")
        };
        assert!(matches!(
            s.command,
            ServiceCommand::Status {
                watch: true,
                output: OutputFormat::Json,
                events: 8,
                ..
            }
        ));
        let cli = parse(&["drift", "pipeline", "--stage", "dev", "--exit-code"]).unwrap();
        let Some(Command::Drift(d)) = cli.command else {
            panic!("drift")
        };
        assert!(d.exit_code && d.target.stack == StackArg::Pipeline);
        let cli = parse(&["diff", "service", "--stage", "dev", "--revert-drift"]).unwrap();
        let Some(Command::Diff(d)) = cli.command else {
            panic!("diff")
        };
        assert!(d.revert_drift);
    }

    /// The rendered error of a command line that must not parse.
    fn refused(args: &[&str]) -> String {
        let e = parse(args).unwrap_err();
        assert_eq!(clap_exit_code(&e), Code::Usage, "{args:?}");
        error_text(&e)
    }

    #[test]
    fn flag_values_that_go_to_aws_are_checked_when_parsed() {
        let deploy = ["deploy", "service", "--stage", "dev"];
        for (flag, value, expected) in [
            ("--endpoint-url", "notaurl", "expected http(s)://host[:port]"),
            (
                "--endpoint-url",
                "localhost:4566",
                "expected http(s)://host[:port]",
            ),
            ("--image-tag", "v1:latest", "expected an image tag"),
            ("--image-tag", ".hidden", "expected an image tag"),
            ("--execute", "", "expected the name or ARN of a change set"),
            ("--role-arn", "notanarn", "expected an IAM role ARN"),
            ("--template-bucket", "Bad_Bucket", "expected an S3 bucket name"),
        ] {
            let mut args = deploy.to_vec();
            args.extend([flag, value]);
            let text = refused(&args);
            assert!(
                text.contains(&format!("invalid value '{value}' for '{flag} <")),
                "{flag} {value}: {text}"
            );
            assert!(text.contains(expected), "{flag} {value}: {text}");
        }
        for args in [
            &["diff", "service", "--stage", "dev", "--image-tag", "a b"][..],
            &["rollback", "service", "--stage", "dev", "--skip", ""][..],
            &["pipeline", "watch", "--stage", "dev", "--execution", ""][..],
            &["pipeline", "retry", "--stage", "dev", "--execution", ""][..],
            &["status", "service", "--stage", "dev", "--endpoint-url", "ftp://x"][..],
            &["secrets", "list", "--stage", "dev", "--endpoint-url", "http://"][..],
        ] {
            let text = refused(args);
            assert!(text.contains("invalid value"), "{args:?}: {text}");
        }
        // Good values pass as given.
        let cli = parse(&[
            "deploy",
            "service",
            "--stage",
            "dev",
            "--image-tag",
            "1.4.2_rc-1",
            "--role-arn",
            "arn:aws:iam::123456789012:role/cfn/deployer",
            "--template-bucket",
            "my-templates.eu",
            "--endpoint-url",
            "http://127.0.0.1:4566",
        ])
        .unwrap();
        let Some(Command::Deploy(d)) = cli.command else {
            panic!("deploy")
        };
        assert_eq!(d.image_tag.as_deref(), Some("1.4.2_rc-1"));
        assert_eq!(d.aws.endpoint_url.as_deref(), Some("http://127.0.0.1:4566"));
    }

    #[test]
    fn bench_counts_start_at_one() {
        for args in [
            &["bench", "--runs", "0"][..],
            &["bench", "--deploy", "--deploy-runs", "0"][..],
        ] {
            let text = refused(args);
            assert!(text.contains("invalid value '0'"), "{args:?}: {text}");
        }
        let Some(Command::Bench(b)) = parse(&["bench", "--runs", "1"]).unwrap().command else {
            panic!("bench")
        };
        assert_eq!((b.runs, b.deploy_runs), (1, 3));
    }

    #[test]
    fn lint_rules_takes_no_files_and_no_format() {
        for args in [
            &["lint", "--rules", "--format", "json"][..],
            &["lint", "template.yaml", "--rules"][..],
        ] {
            let text = refused(args);
            assert!(text.contains("cannot be used with"), "{args:?}: {text}");
        }
        assert!(parse(&["lint", "--rules"]).is_ok());
        assert!(parse(&["lint", "a.yaml", "--format", "json"]).is_ok());
    }

    #[test]
    fn an_extra_argument_is_hidden_as_a_secret_only_where_one_could_be_typed() {
        let text = refused(&["synth", "extra"]);
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("unexpected argument 'extra'"), "{text}");
        let text = refused(&["secrets", "put", "DB_PASSWORD", "hunter2", "--stage", "dev"]);
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.contains("one argument more than the command takes (not shown: it may be a secret value; `secrets put` reads"),
            "{text}"
        );
        assert!(text.contains("Usage: cargo xtask secrets put"), "{text}");
        let text = refused(&["secrets", "rm", "DB_PASSWORD", "hunter2", "--stage", "dev"]);
        assert!(
            !text.contains("hunter2") && !text.contains("secrets put` reads"),
            "{text}"
        );
        // A value given to a flag that takes none, or glued to one.
        let text = refused(&[
            "secrets",
            "put",
            "DB_PASSWORD",
            "--stage",
            "dev",
            "--overwrite=hunter2",
        ]);
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.contains("a value --overwrite does not take (not shown: it may be a secret value)"),
            "{text}"
        );
        let text = refused(&["secrets", "put", "DB_PASSWORD", "--stge=hunter2"]);
        assert!(!text.contains("hunter2"), "{text}");
    }

    /// Every command's `--help`, by its path of subcommand names.
    fn every_help() -> Vec<(String, String)> {
        fn walk(cmd: &mut clap::Command, path: String, out: &mut Vec<(String, String)>) {
            out.push((path.clone(), cmd.render_long_help().to_string()));
            for sub in cmd.get_subcommands_mut() {
                let p = format!("{path} {}", sub.get_name());
                walk(sub, p, out);
            }
        }
        let mut root = <Cli as clap::CommandFactory>::command();
        root.build();
        let mut out = Vec::new();
        walk(&mut root, "cargo xtask".to_owned(), &mut out);
        out
    }

    #[test]
    fn help_texts_read_as_written() {
        for (path, help) in every_help() {
            for line in help.lines() {
                // Alignment at the start of a line and between columns is clap's (or an example's);
                // a run of spaces after a comma or inside a sentence is a broken string continuation.
                let text = line.trim_start();
                assert!(
                    !text.contains(",  ") && !text.contains(")  ") || text.starts_with("cargo xtask"),
                    "{path}: a run of spaces in {line:?}"
                );
            }
            if help.contains("--progress") {
                assert!(!help.contains("[default: bar]"), "{path}: {help}");
                let described = help
                    .lines()
                    .skip_while(|l| !l.trim_start().starts_with("--progress"))
                    .nth(1)
                    .is_some_and(|l| l.contains("progress"));
                assert!(described, "{path}: --progress has no description:\n{help}");
            }
        }
        let bar = Progress::Bar.to_possible_value().unwrap();
        let bar = bar.get_help().unwrap().to_string();
        assert!(bar.contains("a pipeline run's actions"), "{bar}");
    }

    #[test]
    fn usage_errors_and_help_have_their_exit_codes() {
        for args in [
            &["synth", "--colour"][..],
            &["deploy"][..],
            &["deploy", "everything", "--stage", "dev"][..],
            &["deploy", "service"][..],
            &["status", "service", "--stage", "dev", "--colour"][..],
            &[
                "deploy",
                "service",
                "--stage",
                "dev",
                "--no-execute",
                "--execute",
                "x",
            ][..],
        ] {
            let e = parse(args).unwrap_err();
            assert_eq!(clap_exit_code(&e), Code::Usage, "{args:?}");
        }
        for args in [
            &["pipeline", "status"][..],
            &["pipeline", "watch", "--stage", "dev", "--progress", "spinner"][..],
            &["pipeline", "status", "--stage", "dev", "--runs", "21"][..],
            &["service", "status", "--stage", "dev", "--watch", "yes"][..],
            &["logs", "service"][..],
            &["logs", "build", "--stage", "dev", "--build"][..],
            &["drift", "everything", "--stage", "dev"][..],
            &["diff", "service", "--stage", "dev", "--revert-drift", "yes"][..],
        ] {
            let e = parse(args).unwrap_err();
            assert_eq!(clap_exit_code(&e), Code::Usage, "{args:?}");
        }
        let e = parse(&["deploy", "--help"]).unwrap_err();
        assert_eq!(clap_exit_code(&e), Code::Ok);
        let help = e.to_string();
        assert!(help.contains("Usage: cargo xtask deploy"), "{help}");
        for flag in [
            "--yes",
            "--revert-drift",
            "--no-execute",
            "--execute <CHANGE_SET>",
            "--recreate-failed",
            "--wait",
            "--progress",
            "--output",
            "--template-bucket",
            "--image-tag",
            "--profile",
            "--region",
            "--endpoint-url",
        ] {
            assert!(help.contains(flag), "{flag} missing:\n{help}");
        }
    }
}
