//! Stage files: `infra/stages/<stage>.yaml` (or `.yml`), one per stage, parsed into typed configuration.
//!
//! Only a regular file of at most 1 MiB is read ([`read_stage_file`]). Unknown keys are rejected.
//! Every error names the file, the line and column, the key path, the bad value and what was expected,
//! in the words of the person who writes the file (never a Rust type). The place comes from the key
//! path (a small positional reader of the YAML, `stage/yaml.rs`), never from searching the text for the
//! value: a bad value is reported where it starts, a bad or repeated key at that key, a missing key at
//! the first key of its mapping, a check across settings at the key it names, a syntax error where the
//! parser stopped (an unclosed quote or bracket where it opens). A credential-shaped value anywhere in
//! the file (a comment too) is refused by its kind, and no message shows such a value. A file with
//! several problems reports all of the ones found.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use pipeline_model::{AppName, Names, Stack, StageName, service_params as sp};

use crate::bounds::{self, LOG_RETENTION_DAYS};
use crate::instance_types::{Architecture, InstanceType};
use serde::Deserialize;

mod messages;
mod read;
mod yaml;

pub use read::{MAX_STAGE_FILE_BYTES, read_stage_file};
use yaml::{Doc, Pos, Seg};

/// The default ECS-optimized AMI: the SSM public parameter AWS keeps current.
pub const DEFAULT_AMI_PARAMETER: &str =
    "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id";

/// One problem in a stage file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct StageError {
    pub file: PathBuf,
    /// 1-based; `None` when the problem is with the file as a whole.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, ":{l}:{c}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A validated stage.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    pub name: StageName,
    pub file: PathBuf,
    pub app: AppName,
    pub region: String,
    pub network: Network,
    pub load_balancer: LoadBalancer,
    pub source: Source,
    pub deploy: Deploy,
    pub instances: Instances,
    pub service: Service,
    /// Where `app`'s value is in the file.
    app_at: Option<(usize, usize)>,
    /// Where the key `source.app.paths` is in the file, when it is there.
    app_paths_at: Option<(usize, usize)>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub vpc_id: VpcId,
    /// Public subnets (routed to an internet gateway), at least two in different zones: the
    /// internet-facing load balancer's.
    #[serde(default)]
    pub load_balancer_subnet_ids: Vec<SubnetId>,
    /// The container instances' subnets, at least two in different zones: private (a NAT gateway or
    /// the VPC endpoints the README lists), unless [`Network::instance_public_ip`].
    #[serde(default)]
    pub instance_subnet_ids: Vec<SubnetId>,
    /// Opt-in for accounts without NAT: the instances get public IPs (and so belong in public subnets).
    /// They stay unreachable from outside (their group admits only the load balancer), but each has an
    /// address on the internet.
    #[serde(default)]
    pub instance_public_ip: bool,
    /// The one list of the 2017 design: refused, with what replaced it.
    #[serde(default)]
    subnet_ids: Option<Vec<SubnetId>>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancer {
    pub certificate_arn: CertificateArn,
    /// Also listen on port 80 and redirect to HTTPS.
    #[serde(default)]
    pub http_redirect: bool,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The CodeConnections connection both sources use (authorised once in the console).
    #[serde(default)]
    pub connection_arn: Option<ConnectionArn>,
    pub app: Repo,
    pub infra: Repo,
    /// The 2017 GitHub (version 1) source with an OAuth token: retired, refused with what replaced it.
    #[serde(default)]
    legacy_github_oauth: Option<serde_norway::Value>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repo {
    /// `owner/name`.
    pub repository: RepositoryId,
    pub branch: Branch,
    /// Only changes under these paths start the pipeline (a V2 trigger); empty: every push does.
    #[serde(default)]
    pub paths: Vec<PathGlob>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deploy {
    /// Wait for a manual approval before the change set is executed (after it is created and
    /// summarized, so that the approver sees what will change).
    #[serde(default)]
    pub approval: bool,
    /// Who is told, by email, that an approval waits (an SNS topic encrypted with the stage key).
    #[serde(default)]
    pub notify: Vec<Email>,
    /// Days a pipeline run's artifacts are kept in the artifact bucket.
    #[serde(default = "default_artifact_days")]
    pub artifact_retention_days: u32,
}

fn default_artifact_days() -> u32 {
    30
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instances {
    pub instance_type: InstanceTypeName,
    /// The numbers of `instance_type` when berth's table does not know it.
    #[serde(default)]
    pub custom_instance_type: Option<CustomInstanceType>,
    /// The AMI, pinned: an AMI bump is a reviewed change of this line (`cargo xtask ami --write`).
    #[serde(default)]
    pub ami: Option<AmiId>,
    /// The pinned AMI's name (`cargo xtask ami --write` records it): its architecture is checked against
    /// the instance type's.
    #[serde(default)]
    pub ami_name: Option<AmiName>,
    /// Opt-in instead of `ami`: an SSM parameter CloudFormation resolves on every stack update, so any
    /// deploy after AWS publishes a new AMI also replaces every instance.
    #[serde(default)]
    pub ami_parameter: Option<SsmParameterName>,
    pub root_volume_gib: u32,
    /// Fewest instances; the group starts with these, and ECS's capacity provider adds what the tasks
    /// need, up to `max`.
    pub min: u32,
    pub max: u32,
    /// The 2017 design's fixed size: refused, with what replaced it.
    #[serde(default)]
    desired: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The fewest tasks: service auto scaling never goes below (and the service starts with these).
    pub min_count: u32,
    /// The most tasks: service auto scaling never goes above; the capacity check sizes for these.
    pub max_count: u32,
    /// What service auto scaling aims at.
    #[serde(default)]
    pub scaling: Scaling,
    /// Target 5xx responses per minute (in 2 of 3 minutes) at which a deployment rolls back.
    #[serde(default = "default_rollback_5xx")]
    pub rollback_5xx_per_minute: u32,
    /// ECS Exec into the tasks (`aws ecs execute-command`): an opt-in.
    #[serde(default)]
    pub exec: bool,
    /// The 2017 design's fixed count: refused, with what replaced it.
    #[serde(default)]
    desired_count: Option<u32>,
    /// CPU units for the task (1024 = one vCPU).
    pub cpu: u32,
    /// MiB for the task (the container's hard limit).
    pub memory: u32,
    /// The container's `TZ`.
    pub time_zone: TimeZone,
    pub log_retention_days: u32,
    pub health_check_grace_seconds: u32,
}

/// What service auto scaling aims at: both targets at once (the one that wants more tasks wins).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scaling {
    /// Average CPU utilization of the service's tasks, in percent.
    #[serde(default = "default_cpu_percent")]
    pub cpu_percent: u32,
    /// Load balancer requests per task and minute.
    #[serde(default = "default_requests_per_target")]
    pub requests_per_target: u32,
}

impl Default for Scaling {
    fn default() -> Self {
        Scaling {
            cpu_percent: default_cpu_percent(),
            requests_per_target: default_requests_per_target(),
        }
    }
}

fn default_cpu_percent() -> u32 {
    60
}

fn default_requests_per_target() -> u32 {
    1000
}

fn default_rollback_5xx() -> u32 {
    10
}

/// The numbers of an instance type the table does not have (a new family, say): what the capacity
/// check and the architecture checks need.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomInstanceType {
    pub vcpus: u32,
    pub memory_mib: u32,
    pub architecture: ArchitectureName,
}

/// The file as written: validated field by field while it is read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StageFile {
    app: AppName,
    region: Region,
    network: Network,
    load_balancer: LoadBalancer,
    source: Source,
    #[serde(default = "default_deploy")]
    deploy: Deploy,
    instances: Instances,
    service: Service,
}

fn default_deploy() -> Deploy {
    Deploy {
        approval: false,
        notify: Vec::new(),
        artifact_retention_days: default_artifact_days(),
    }
}

impl Stage {
    /// Reads and validates `path`; the stage's name is the file's stem. Only a regular file (a symlink
    /// is followed) of at most [`MAX_STAGE_FILE_BYTES`] is read.
    pub fn load(path: &Path) -> Result<Stage, Vec<StageError>> {
        let bytes = read_stage_file(path).map_err(|e| vec![e])?;
        Stage::parse_bytes(path, &bytes)
    }

    /// Validates a stage file's bytes, which must be UTF-8; `path` names it in errors and gives the
    /// stage's name.
    pub fn parse_bytes(path: &Path, bytes: &[u8]) -> Result<Stage, Vec<StageError>> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Stage::parse(path, text),
            Err(e) => {
                let good = &bytes[..e.valid_up_to()];
                let good = std::str::from_utf8(good).unwrap_or_default();
                let line = good.matches('\n').count() + 1;
                let column = good.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
                Err(vec![StageError {
                    file: path.to_owned(),
                    line: Some(line),
                    column: Some(column),
                    message: format!(
                        "byte 0x{:02x} is not UTF-8: expected the file saved as UTF-8 text",
                        bytes[e.valid_up_to()]
                    ),
                }])
            }
        }
    }

    /// Validates a stage file's text; `path` names it in errors and gives the stage's name.
    pub fn parse(path: &Path, text: &str) -> Result<Stage, Vec<StageError>> {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let name = StageName::parse(stem).map_err(|e| {
            vec![StageError {
                file: path.to_owned(),
                line: None,
                column: None,
                message: format!("the file's name is not a stage name: {e}"),
            }]
        })?;
        let doc = Doc::parse(text);
        // The YAML as data (once): for the credentials spelled with escapes, and to tell a syntax error.
        let value = if doc.too_deep.is_none() {
            Some(serde_norway::from_str::<serde_norway::Value>(text))
        } else {
            None
        };
        let mut found: Vec<(Option<Pos>, String)> =
            credentials_in(&doc, text, value.as_ref().and_then(|v| v.as_ref().ok()));
        // Text that is not YAML (an unclosed bracket, say) confuses the positional reader: its
        // repeated keys would bury the one real mistake, so only the syntax error is said then.
        let not_yaml = matches!(&value, Some(Err(e)) if {
            let bare = messages::bare_message(&e.to_string()).to_owned();
            !bare.starts_with("invalid ") && !bare.starts_with("duplicate entry")
        });
        let repeated = if not_yaml { Vec::new() } else { doc.repeated_keys() };
        for (path, at) in &repeated {
            let key = match path.last() {
                Some(Seg::Key(k)) => k.as_str(),
                _ => "",
            };
            found.push((
                Some(*at),
                messages::with_path(
                    path,
                    &format!("the key `{key}` is repeated: expected each key once"),
                ),
            ));
        }
        // The YAML first: a syntax error is reported as one, where the parser stopped.
        let file = if let Some(at) = doc.too_deep {
            // Deeper than the YAML parser goes (which it takes quadratic time to find out): refused here.
            found.push((
                Some(at),
                messages::with_path(
                    &doc.path_at(at.offset),
                    &format!(
                        "nested more than {} levels deep: expected a stage file's few levels",
                        yaml::MAX_DEPTH
                    ),
                ),
            ));
            None
        } else {
            match value.unwrap_or(Ok(serde_norway::Value::Null)) {
                // A number no YAML value holds (past u64) is the stage file's type error, not a syntax error.
                Err(e) if !messages::bare_message(&e.to_string()).starts_with("invalid ") => {
                    let raw = e.to_string();
                    let repeated_already =
                        !repeated.is_empty() && messages::bare_message(&raw).starts_with("duplicate entry");
                    if !repeated_already {
                        found.push(syntax_error(
                            &doc,
                            text,
                            &raw,
                            e.location().map(|l| (l.line(), l.column())),
                        ));
                    }
                    None
                }
                value => {
                    let (file, errors) = deserialize_all(text, value.ok());
                    for (path, raw) in errors {
                        let bare = messages::bare_message(&raw);
                        let repeated_already = !repeated.is_empty() && bare.starts_with("duplicate field");
                        if !repeated_already {
                            found.push(data_error(&doc, &path, &raw));
                        }
                    }
                    file
                }
            }
        };
        let mut stage_out = None;
        if let Some(file) = file {
            let app_at = doc
                .value_at(&[Seg::Key("app".to_owned())])
                .map(|p| (p.line, p.column));
            let app_paths_at = doc
                .key_at(&["source", "app", "paths"].map(|k| Seg::Key(k.to_owned())))
                .map(|p| (p.line, p.column));
            let stage = Stage {
                name,
                file: path.to_owned(),
                app: file.app,
                region: file.region.0,
                network: file.network,
                load_balancer: file.load_balancer,
                source: file.source,
                deploy: file.deploy,
                instances: file.instances,
                service: file.service,
                app_at,
                app_paths_at,
            };
            for (key_path, message, at_value) in stage.cross_checks() {
                let segs: Vec<Seg> = key_path.iter().map(|k| Seg::Key((*k).to_owned())).collect();
                let at = if at_value {
                    doc.value_at(&segs).or_else(|| doc.key_at(&segs))
                } else {
                    doc.key_at(&segs)
                };
                found.push((at, format!("{}: {message}", key_path.join("."))));
            }
            stage_out = Some(stage);
        }
        match stage_out {
            Some(stage) if found.is_empty() => Ok(stage),
            _ => {
                // A file that has lines gets a line for every problem: its first content at worst.
                let fallback = (!text.is_empty()).then(|| doc.first_content.unwrap_or(doc.pos(0)));
                Err(found
                    .into_iter()
                    .map(|(at, message)| {
                        let at = at.or(fallback);
                        StageError {
                            file: path.to_owned(),
                            line: at.map(|p| p.line),
                            column: at.map(|p| p.column),
                            // No message may show a credential, whichever check wrote it.
                            message: messages::escape_control(&messages::shorten_quoted(
                                &crate::credentials::redact(&message),
                            )),
                        }
                    })
                    .collect())
            }
        }
    }

    /// Where the stage's `app` value is in its file (line, column), for problems across stage files.
    pub fn app_location(&self) -> Option<(usize, usize)> {
        self.app_at
    }

    /// Where the key `source.app.paths` is in the stage's file (line, column), when it is there: for
    /// checks of the app's trigger paths against what the app is built from.
    pub fn app_paths_location(&self) -> Option<(usize, usize)> {
        self.app_paths_at
    }

    /// The checks that involve more than one field, each with the path of the field to point at.
    /// Every problem across settings and every number out of its range: the key path, the message,
    /// and whether it is said where the value starts (a number out of range) or at the key.
    fn cross_checks(&self) -> Vec<(Vec<&'static str>, String, bool)> {
        use pipeline_model::pipeline_params as pp;
        let out = std::cell::RefCell::new(Vec::new());
        // Said at the key (a check across settings), or where the value starts (the value itself).
        let p = |path: &[&'static str], m: String| out.borrow_mut().push((path.to_vec(), m, false));
        let at_value = |path: &[&'static str], m: String| out.borrow_mut().push((path.to_vec(), m, true));
        let net = &self.network;
        if net.subnet_ids.is_some() {
            p(
                &["network", "subnet_ids"],
                "one list for the load balancer and the instances is gone: the internet-facing load balancer \
                 needs public subnets and the instances private ones; expected `load_balancer_subnet_ids` and \
                 `instance_subnet_ids`"
                    .to_owned(),
            );
        } else {
            for (key, list, what) in [
                (
                    "load_balancer_subnet_ids",
                    &net.load_balancer_subnet_ids,
                    "public ",
                ),
                ("instance_subnet_ids", &net.instance_subnet_ids, ""),
            ] {
                let path: &[&'static str] = if key == "instance_subnet_ids" {
                    &["network", "instance_subnet_ids"]
                } else {
                    &["network", "load_balancer_subnet_ids"]
                };
                if list.len() < 2 {
                    p(
                        path,
                        format!(
                            "{} subnet(s); expected at least 2 {what}subnets, in different availability zones",
                            list.len()
                        ),
                    );
                }
                let mut seen = std::collections::BTreeSet::new();
                for s in list {
                    if !seen.insert(&s.0) {
                        p(path, format!("subnet `{}` is listed twice", s.0));
                    }
                }
            }
            let shared: Vec<&str> = net
                .instance_subnet_ids
                .iter()
                .filter(|s| net.load_balancer_subnet_ids.contains(s))
                .map(|s| s.0.as_str())
                .collect();
            if !shared.is_empty() && !net.instance_public_ip {
                p(
                    &["network", "instance_subnet_ids"],
                    format!(
                        "`{}` is also a load balancer subnet (public): instances there without a public IP reach \
                         neither ECS, ECR nor SSM, and never signal; expected private subnets (NAT or VPC endpoints), \
                         or `instance_public_ip: true` for an account without NAT",
                        shared.join("`, `")
                    ),
                );
            }
        }
        let cert = &self.load_balancer.certificate_arn;
        if cert.region() != self.region {
            p(
                &["load_balancer", "certificate_arn"],
                format!(
                    "the certificate is in `{}`, but the stage is in `{}`: the ALB needs a certificate of its own region",
                    cert.region(),
                    self.region
                ),
            );
        }
        if self.source.legacy_github_oauth.is_some() {
            p(
                &["source", "legacy_github_oauth"],
                "the GitHub (OAuth, version 1) source is retired: it detects pushes only through a webhook or \
                 polling, and keeps a token; expected `source.connection_arn`, a CodeConnections connection \
                 (authorised once in the console), in its place"
                    .to_owned(),
            );
        }
        let notify = &self.deploy.notify;
        if notify.len() > pp::APPROVAL_EMAILS.len() {
            p(
                &["deploy", "notify"],
                format!(
                    "{} addresses: expected at most {} (subscribe a mailing list for more)",
                    notify.len(),
                    pp::APPROVAL_EMAILS.len()
                ),
            );
        }
        if !notify.is_empty() && !self.deploy.approval {
            p(
                &["deploy", "notify"],
                "addresses to notify of approvals, but `deploy.approval` is false: expected `approval: true`, or no `notify`"
                    .to_owned(),
            );
        }
        if let Some(dup) = notify
            .iter()
            .enumerate()
            .find_map(|(i, e)| notify[..i].contains(e).then_some(e))
        {
            p(
                &["deploy", "notify"],
                format!("`{}` is listed twice: expected each address once", dup.0),
            );
        }
        match &self.source.connection_arn {
            None if self.source.legacy_github_oauth.is_none() => p(
                &["source"],
                "no source: expected `connection_arn` (a CodeConnections connection)".to_owned(),
            ),
            None => {}
            Some(conn) => {
                if conn.region() != self.region {
                    p(
                        &["source", "connection_arn"],
                        format!(
                            "the connection is in `{}`, but the stage is in `{}`",
                            conn.region(),
                            self.region
                        ),
                    );
                }
                if conn.account() != cert.account() {
                    p(
                        &["source", "connection_arn"],
                        format!(
                            "the connection is in account {} but the certificate in {}: a stage lives in one account",
                            conn.account(),
                            cert.account()
                        ),
                    );
                }
            }
        }
        for (which, repo) in [("app", &self.source.app), ("infra", &self.source.infra)] {
            let path: &'static str = if which == "app" { "app" } else { "infra" };
            if repo.paths.len() > 8 {
                p(
                    &["source", path, "paths"],
                    format!("{} paths; a trigger filter takes at most 8", repo.paths.len()),
                );
            }
        }
        let i = &self.instances;
        if i.desired.is_some() {
            p(
                &["instances", "desired"],
                "no longer set: ECS's capacity provider sizes the group between `min` and `max` to fit the \
                 tasks (a fixed desired capacity would be reset by every deploy); expected this line removed"
                    .to_owned(),
            );
        }
        if i.max <= i.min {
            p(
                &["instances", "max"],
                format!(
                    "{} is not above min {}: expected max > min, since replacing instances starts a new one \
                     before an old one stops",
                    i.max, i.min
                ),
            );
        }
        let known = crate::instance_types::lookup(i.instance_type.as_str());
        if known.is_some() && i.custom_instance_type.is_some() {
            p(
                &["instances", "custom_instance_type"],
                format!(
                    "berth's table knows `{}`: expected no custom_instance_type (it is for types the table lacks)",
                    i.instance_type.as_str()
                ),
            );
        }
        let name = i.instance_type.as_str();
        let family = name.split_once('.').map_or(name, |(f, _)| f);
        let sizes: Vec<&str> = crate::instance_types::all()
            .filter_map(|t| t.name.strip_prefix(family).and_then(|r| r.strip_prefix('.')))
            .collect();
        if known.is_none() && !sizes.is_empty() {
            // The family is in the table, so the whole family is: an unknown size is a typo, with or
            // without custom_instance_type (which is for families the table lacks).
            at_value(
                &["instances", "instance_type"],
                format!(
                    "`{name}` is not an instance type berth knows: {family} comes in {}{}",
                    sizes.join(", "),
                    crate::instance_types::closest(name)
                        .map(|c| format!("; did you mean `{c}`?"))
                        .unwrap_or_default()
                ),
            );
            return out.into_inner();
        }
        match self.instance_type() {
            None => at_value(
                &["instances", "instance_type"],
                format!(
                    "`{}` is not an instance type berth knows: expected one of the current general-purpose, \
                     compute or memory types (infra/data/instance-types.csv), or its numbers in \
                     `custom_instance_type: {{vcpus, memory_mib, architecture}}`{}",
                    i.instance_type.as_str(),
                    crate::instance_types::closest(i.instance_type.as_str())
                        .map(|c| format!("; did you mean `{c}`?"))
                        .unwrap_or_default()
                ),
            ),
            Some(ty) => {
                let arch = ty.architecture;
                if let Some(name) = &i.ami_name
                    && let Some(ami_arch) = name.architecture()
                    && ami_arch != arch
                {
                    p(
                        &["instances", "ami_name"],
                        format!(
                            "the AMI `{}` is for {ami_arch}, but {} is {arch}: expected an {arch} AMI \
                             (`cargo xtask ami --stage {} --write` picks it)",
                            name.0, ty.name, self.name
                        ),
                    );
                }
                if let Some(param) = &i.ami_parameter
                    && param.architecture() != arch
                {
                    p(
                        &["instances", "ami_parameter"],
                        format!(
                            "`{}` holds {} AMIs, but {} is {arch}: expected {}",
                            param.0,
                            param.architecture(),
                            ty.name,
                            arch.recommended_ami_parameter()
                        ),
                    );
                }
                for (path, m) in self.capacity_problems(&ty) {
                    p(path, m);
                }
            }
        }
        match (&i.ami, &i.ami_parameter) {
            (None, None) => p(
                &["instances"],
                format!(
                    "no AMI: expected `ami: ami-...` (`cargo xtask ami --stage {} --write` writes the current \
                     ECS-optimized one), or `ami_parameter` to follow AWS's newest on every deploy",
                    self.name
                ),
            ),
            (Some(_), Some(_)) => p(
                &["instances", "ami_parameter"],
                "both `ami` and `ami_parameter` are set: expected one (a pinned AMI, or the parameter to follow)"
                    .to_owned(),
            ),
            _ => {}
        }
        let s = &self.service;
        if s.desired_count.is_some() {
            p(
                &["service", "desired_count"],
                "no longer set: service auto scaling keeps the count between `min_count` and `max_count` \
                 (a fixed count would be put back by every deploy); expected those two instead"
                    .to_owned(),
            );
        }
        if s.min_count > s.max_count {
            p(
                &["service", "max_count"],
                format!(
                    "{} is below min_count {}: expected max_count ≥ min_count",
                    s.max_count, s.min_count
                ),
            );
        }
        let bounded = bounds::BY_KEY.iter().map(|(path, bound)| {
            let value = self
                .bounded_value(path)
                .unwrap_or_else(|| panic!("bounds::BY_KEY names {path:?}, which Stage::bounded_value lacks"));
            (*path, value, *bound)
        });
        for (path, value, bound) in bounded {
            if let Err(e) = bound.check(value) {
                at_value(path, e);
            }
        }
        if !LOG_RETENTION_DAYS.contains(&s.log_retention_days) {
            at_value(
                &bounds::LOG_RETENTION_KEY,
                format!("{}: expected one of {LOG_RETENTION_DAYS:?}", s.log_retention_days),
            );
        }
        out.into_inner()
    }

    /// The value of the bounded setting at `path` (a key path of [`bounds::BY_KEY`]).
    fn bounded_value(&self, path: &[&str]) -> Option<u32> {
        let (i, s) = (&self.instances, &self.service);
        Some(match path {
            ["instances", "min"] => i.min,
            ["instances", "max"] => i.max,
            ["instances", "root_volume_gib"] => i.root_volume_gib,
            ["deploy", "artifact_retention_days"] => self.deploy.artifact_retention_days,
            ["service", "min_count"] => s.min_count,
            ["service", "max_count"] => s.max_count,
            ["service", "scaling", "cpu_percent"] => s.scaling.cpu_percent,
            ["service", "scaling", "requests_per_target"] => s.scaling.requests_per_target,
            ["service", "rollback_5xx_per_minute"] => s.rollback_5xx_per_minute,
            ["service", "cpu"] => s.cpu,
            ["service", "memory"] => s.memory,
            ["service", "health_check_grace_seconds"] => s.health_check_grace_seconds,
            _ => return None,
        })
    }

    /// The container instances' architecture (the instance type's), which the AMI and the image
    /// build must share. x86_64 for a type berth does not know (the stage does not load then).
    pub fn architecture(&self) -> Architecture {
        self.instance_type()
            .map_or(Architecture::X86_64, |t| t.architecture)
    }

    /// The container instances' type: from berth's table, or the stage's own numbers for a type the
    /// table lacks.
    pub fn instance_type(&self) -> Option<InstanceType> {
        let i = &self.instances;
        crate::instance_types::lookup(i.instance_type.as_str()).or_else(|| {
            i.custom_instance_type.as_ref().map(|c| InstanceType {
                name: "the custom instance type",
                vcpus: c.vcpus,
                memory_mib: c.memory_mib,
                architecture: c.architecture.architecture(),
            })
        })
    }

    /// Whether the tasks fit the instances, with room for a rollout of the most tasks at the service's
    /// maximum percent and for losing one instance: each problem with the key to point at.
    fn capacity_problems(&self, ty: &InstanceType) -> Vec<(&'static [&'static str], String)> {
        let (i, s) = (&self.instances, &self.service);
        let type_name = i.instance_type.as_str();
        let plan = crate::capacity::plan(ty, s.cpu, s.memory, s.max_count, i.max);
        let r = plan.registered;
        let task = format!("a task of {} CPU units and {} MiB", s.cpu, s.memory);
        let offers = format!(
            "a {type_name} registers {} CPU units and about {} MiB with ECS",
            r.cpu_units, r.memory_mib
        );
        if plan.fit.per_instance == 0 {
            let path: &'static [&'static str] = if s.cpu > r.cpu_units {
                &["service", "cpu"]
            } else {
                &["service", "memory"]
            };
            return vec![(
                path,
                format!(
                    "{task} does not fit an instance: {offers}; expected a larger instance type, or smaller tasks"
                ),
            )];
        }
        let each = format!(
            "{} each: {offers}, {task}, {} runs out first",
            plan.fit.per_instance, plan.fit.limited_by
        );
        let need = |tasks: u32, extra: u32| tasks.div_ceil(plan.fit.per_instance) + extra;
        let mut out = Vec::new();
        if plan.peak_tasks > plan.slots_at_max {
            out.push((
                &["instances", "max"][..],
                format!(
                    "stage {}: a rollout of max_count {} tasks runs {} at once (maximum percent {}), but {} {type_name} \
                     hold {} ({each}); expected instances.max ≥ {}, a larger instance type, or fewer or smaller tasks",
                    self.name,
                    s.max_count,
                    plan.peak_tasks,
                    crate::blocks::MAXIMUM_PERCENT,
                    i.max,
                    plan.slots_at_max,
                    need(plan.peak_tasks, 0)
                ),
            ));
        }
        if s.max_count > plan.slots_one_lost {
            out.push((
                &["instances", "max"][..],
                format!(
                    "stage {}: with one of {} {type_name} lost, the rest hold {} tasks ({each}), fewer than max_count {}; \
                     expected instances.max ≥ {}, a larger instance type, or fewer or smaller tasks",
                    self.name,
                    i.max,
                    plan.slots_one_lost,
                    s.max_count,
                    need(s.max_count, 1)
                ),
            ));
        }
        out
    }

    pub fn names(&self) -> Names<'_> {
        Names::new(self.app.as_str(), self.name.as_str())
    }

    /// The parameter values of one of the stage's stacks, by parameter name.
    pub fn parameters(&self, stack: Stack) -> BTreeMap<&'static str, String> {
        use pipeline_model::pipeline_params as pp;
        let mut m = BTreeMap::new();
        let bool_text = |b: bool| if b { "true" } else { "false" }.to_owned();
        match stack {
            Stack::Service => {
                m.insert(sp::APP_NAME, self.app.to_string());
                m.insert(sp::STAGE_NAME, self.name.to_string());
                m.insert(sp::VPC_ID, self.network.vpc_id.0.clone());
                let ids = |list: &[SubnetId]| list.iter().map(|s| s.0.as_str()).collect::<Vec<_>>().join(",");
                m.insert(
                    sp::LOAD_BALANCER_SUBNET_IDS,
                    ids(&self.network.load_balancer_subnet_ids),
                );
                m.insert(sp::INSTANCE_SUBNET_IDS, ids(&self.network.instance_subnet_ids));
                m.insert(sp::INSTANCE_PUBLIC_IP, bool_text(self.network.instance_public_ip));
                m.insert(sp::CERTIFICATE_ARN, self.load_balancer.certificate_arn.0.clone());
                m.insert(sp::HTTP_REDIRECT, bool_text(self.load_balancer.http_redirect));
                // A pinned AMI, or (opt-in) the parameter to follow; the other one stays at its default.
                match (&self.instances.ami, &self.instances.ami_parameter) {
                    (Some(ami), _) => {
                        m.insert(sp::IMAGE_ID, ami.0.clone());
                    }
                    (None, Some(param)) => {
                        m.insert(sp::IMAGE_ID, String::new());
                        m.insert(sp::AMI_PARAMETER, param.0.clone());
                    }
                    (None, None) => {}
                }
                m.insert(sp::INSTANCE_TYPE, self.instances.instance_type.0.clone());
                m.insert(sp::ROOT_VOLUME_SIZE, self.instances.root_volume_gib.to_string());
                m.insert(sp::MIN_SIZE, self.instances.min.to_string());
                m.insert(sp::MAX_SIZE, self.instances.max.to_string());
                m.insert(sp::MIN_COUNT, self.service.min_count.to_string());
                m.insert(sp::MAX_COUNT, self.service.max_count.to_string());
                m.insert(
                    sp::TARGET_CPU_PERCENT,
                    self.service.scaling.cpu_percent.to_string(),
                );
                m.insert(
                    sp::TARGET_REQUESTS_PER_TARGET,
                    self.service.scaling.requests_per_target.to_string(),
                );
                m.insert(
                    sp::ROLLBACK_5XX_PER_MINUTE,
                    self.service.rollback_5xx_per_minute.to_string(),
                );
                m.insert(sp::ENABLE_EXEC, bool_text(self.service.exec));
                m.insert(sp::TASK_CPU, self.service.cpu.to_string());
                m.insert(sp::TASK_MEMORY, self.service.memory.to_string());
                m.insert(sp::TIME_ZONE, self.service.time_zone.0.clone());
                m.insert(
                    sp::LOG_RETENTION_DAYS,
                    self.service.log_retention_days.to_string(),
                );
                m.insert(
                    sp::HEALTH_CHECK_GRACE_SECONDS,
                    self.service.health_check_grace_seconds.to_string(),
                );
            }
            Stack::Pipeline => {
                let src = &self.source;
                m.insert(pp::APP_NAME, self.app.to_string());
                m.insert(pp::STAGE_NAME, self.name.to_string());
                m.insert(
                    pp::CONNECTION_ARN,
                    src.connection_arn
                        .as_ref()
                        .map(|c| c.0.clone())
                        .unwrap_or_default(),
                );
                m.insert(pp::APP_REPOSITORY, src.app.repository.0.clone());
                m.insert(pp::APP_BRANCH, src.app.branch.0.clone());
                m.insert(pp::APP_PATHS, join_paths(&src.app.paths));
                m.insert(pp::INFRA_REPOSITORY, src.infra.repository.0.clone());
                m.insert(pp::INFRA_BRANCH, src.infra.branch.0.clone());
                m.insert(pp::INFRA_PATHS, join_paths(&src.infra.paths));
                m.insert(pp::REQUIRE_APPROVAL, bool_text(self.deploy.approval));
                m.insert(pp::BUILD_ARCHITECTURE, self.architecture().to_string());
                for (i, param) in pp::APPROVAL_EMAILS.into_iter().enumerate() {
                    m.insert(
                        param,
                        self.deploy.notify.get(i).map(|e| e.0.clone()).unwrap_or_default(),
                    );
                }
                m.insert(
                    pp::ARTIFACT_RETENTION_DAYS,
                    self.deploy.artifact_retention_days.to_string(),
                );
            }
        }
        m
    }

    /// The tags every stack of the stage carries.
    pub fn tags(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("app", self.app.to_string()),
            ("managed-by", "berth".to_owned()),
            ("stage", self.name.to_string()),
        ])
    }

    /// The stage's parameter file for one stack, in CodePipeline's template-configuration format:
    /// `{"Parameters": {...}, "Tags": {...}}`. The service stack's image tag is left out: the pipeline
    /// sets it from the build.
    pub fn template_configuration(&self, stack: Stack) -> String {
        let mut params = self.parameters(stack);
        if stack == Stack::Service {
            params.remove(sp::IMAGE_TAG);
        }
        let doc = serde_json::json!({ "Parameters": params, "Tags": self.tags() });
        let mut text = serde_json::to_string_pretty(&doc).expect("a map of strings serializes");
        text.push('\n');
        text
    }
}

fn join_paths(paths: &[PathGlob]) -> String {
    paths.iter().map(|p| p.0.as_str()).collect::<Vec<_>>().join(",")
}

/// serde_path_to_error's path as key path segments.
fn serde_path(path: &serde_path_to_error::Path) -> Vec<Seg> {
    use serde_path_to_error::Segment;
    let mut out = Vec::new();
    for seg in path.iter() {
        match seg {
            Segment::Map { key } => out.push(Seg::Key(key.clone())),
            Segment::Seq { index } => out.push(Seg::Index(*index)),
            Segment::Enum { .. } | Segment::Unknown => break,
        }
    }
    out
}

/// The stage file as typed data, or every value serde refuses in it (key path, serde's message).
///
/// serde stops at the first refusal. So after one, each top-level section (`network`, `service`, ...)
/// is read on its own, and in each a refused value is taken out and the rest read again, until it
/// reads or a refusal cannot be taken out (a missing key, one that taking out caused, a repeated key):
/// a file with a bad VPC ID, an unknown instance type and a misspelt key gets all three.
fn deserialize_all(
    text: &str,
    value: Option<serde_norway::Value>,
) -> (Option<StageFile>, Vec<(Vec<Seg>, String)>) {
    let first =
        match serde_path_to_error::deserialize::<_, StageFile>(serde_norway::Deserializer::from_str(text)) {
            Ok(file) => return (Some(file), Vec::new()),
            Err(e) => (serde_path(e.path()), e.into_inner().to_string()),
        };
    let Some(serde_norway::Value::Mapping(root)) = value else {
        return (None, vec![first]);
    };
    let known = messages::mapping_keys(&[]);
    let mut errors = Vec::new();
    for (key, section) in root.iter() {
        let key = key.as_str().map_or_else(
            || serde_norway::to_string(key).unwrap_or_default().trim().to_owned(),
            str::to_owned,
        );
        let found = section_refusals(&key, section.clone()).unwrap_or_else(|| {
            vec![(
                Vec::new(),
                format!("unknown field `{key}`, expected one of {known:?}"),
            )]
        });
        for (path, message) in found {
            let mut full = vec![Seg::Key(key.clone())];
            full.extend(path);
            errors.push((full, message));
        }
    }
    for key in known {
        if key != "deploy" && !root.contains_key(key) {
            errors.push((Vec::new(), format!("missing field `{key}`")));
        }
    }
    // serde's own words for the first refusal, read from the text, where the sections say the same.
    if let Some(same) = errors.iter().position(|(path, _)| *path == first.0) {
        errors[same] = first;
    } else if errors.is_empty() {
        errors.push(first);
    }
    (None, errors)
}

/// Every value serde refuses in the top-level section `key` of a stage file (as [`StageFile`] types it),
/// or None for a key that is no section.
fn section_refusals(key: &str, section: serde_norway::Value) -> Option<Vec<(Vec<Seg>, String)>> {
    Some(match key {
        "app" => every_refusal::<AppName>(section),
        "region" => every_refusal::<Region>(section),
        "network" => every_refusal::<Network>(section),
        "load_balancer" => every_refusal::<LoadBalancer>(section),
        "source" => every_refusal::<Source>(section),
        "deploy" => every_refusal::<Deploy>(section),
        "instances" => every_refusal::<Instances>(section),
        "service" => every_refusal::<Service>(section),
        _ => return None,
    })
}

/// Every value serde refuses in `value` read as a `T`, each taken out in turn (see [`deserialize_all`]).
/// The value is read as text, as the file is (a plain `1.0` is text where text is expected). A key
/// found missing is reported unless this loop took it out; either way the mapping that lacks it is
/// taken out next, so that the rest is still read.
fn every_refusal<T: serde::de::DeserializeOwned>(mut value: serde_norway::Value) -> Vec<(Vec<Seg>, String)> {
    /// Enough for any section a person writes; a bound on the re-reads of a pathological one.
    const MAX_ERRORS: usize = 50;
    let mut errors: Vec<(Vec<Seg>, String)> = Vec::new();
    let mut taken: Vec<Vec<Seg>> = Vec::new();
    for _ in 0..2 * MAX_ERRORS {
        if errors.len() >= MAX_ERRORS {
            break;
        }
        let Ok(text) = serde_norway::to_string(&value) else {
            break;
        };
        let Err(e) = serde_path_to_error::deserialize::<_, T>(serde_norway::Deserializer::from_str(&text))
        else {
            break;
        };
        let path = serde_path(e.path());
        let raw = e.into_inner().to_string();
        let bare = messages::bare_message(&raw).to_owned();
        if let Some(rest) = bare.strip_prefix("missing field `") {
            let mut missing = path.clone();
            missing.push(Seg::Key(rest.split('`').next().unwrap_or_default().to_owned()));
            if !taken.contains(&missing) {
                errors.push((path.clone(), raw));
            }
            match take_out(&mut value, &path) {
                Some(gone) if !path.is_empty() => taken.push(gone),
                _ => break,
            }
            continue;
        }
        // The same refusal again: taking it out changed nothing.
        if errors.iter().any(|(p, m)| *p == path && *m == raw) {
            break;
        }
        errors.push((path.clone(), raw));
        if bare.starts_with("duplicate field") {
            break;
        }
        match take_out(&mut value, &path) {
            Some(gone) => taken.push(gone),
            None => break,
        }
    }
    errors
}

/// Takes the value at `path` out of `value`: the key of a mapping, or, for an item of a list, the
/// whole list (taking out one item would renumber the others). The path taken out, or None when there
/// is nothing to take.
fn take_out(value: &mut serde_norway::Value, path: &[Seg]) -> Option<Vec<Seg>> {
    let end = path
        .iter()
        .rposition(|s| matches!(s, Seg::Key(_)))
        .map_or(0, |i| i + 1);
    let Some((Seg::Key(key), parent)) = path[..end].split_last() else {
        return None;
    };
    let mut node = value;
    for seg in parent {
        node = match seg {
            Seg::Key(k) => node.get_mut(k.as_str())?,
            Seg::Index(i) => node.get_mut(*i)?,
        };
    }
    node.as_mapping_mut()?.remove(key.as_str())?;
    Some(path[..end].to_vec())
}

/// A value serde refused (a wrong type, an unknown or missing key, a validator's message), placed by
/// its key path and reworded.
fn data_error(doc: &Doc, path: &[Seg], raw: &str) -> (Option<Pos>, String) {
    let bare = messages::bare_message(raw);
    if path.is_empty() && doc.root.is_none() {
        return (
            doc.first_content,
            format!(
                "the file has no settings: expected {}",
                messages::expected_at(&[])
            ),
        );
    }
    let message = messages::with_path(path, &messages::data_error(path, raw));
    let at = if bare.starts_with("missing field") || bare.starts_with("EOF while parsing") {
        doc.mapping_at(path)
    } else if bare.starts_with("unknown field") || bare.starts_with("duplicate field") {
        doc.key_at(path)
    } else {
        doc.value_at(path)
    };
    (at, message)
}

/// Text that is not one YAML document: libyaml's place (where what was never closed opened), the key
/// path at that place, and what to write.
fn syntax_error(doc: &Doc, text: &str, raw: &str, location: Option<(usize, usize)>) -> (Option<Pos>, String) {
    if raw.starts_with("deserializing from YAML containing more than one document") {
        return (
            doc.second_document.or(doc.first_content),
            "a second YAML document starts here: expected one document (one stage) per stage file".to_owned(),
        );
    }
    if messages::bare_message(raw).starts_with("duplicate entry") {
        return (
            location
                .and_then(|lc| offset_of(text, lc))
                .map(|o| doc.pos_in(text, o)),
            format!("{}: expected each key once", messages::bare_message(raw)),
        );
    }
    let syntax = messages::syntax(raw, location);
    let char_at = |lc: (usize, usize)| {
        offset_of(text, lc)
            .and_then(|o| text.get(o..))
            .and_then(|r| r.chars().next())
    };
    let (at, message) = messages::syntax_message(&syntax, char_at);
    match at.and_then(|lc| offset_of(text, lc).map(|o| (o, lc))) {
        Some((offset, (line, column))) => (
            Some(Pos { line, column, offset }),
            messages::with_path(&doc.path_at(offset), &message),
        ),
        None => (doc.first_content, message),
    }
}

/// The byte offset of a 1-based line and column (in characters) as libyaml counts them: `\r\n`,
/// `\r`, `\n`, NEL, LS and PS each break a line.
fn offset_of(text: &str, (line, column): (usize, usize)) -> Option<usize> {
    let (mut l, mut c) = (1, 1);
    let mut chars = text.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        if (l, c) == (line, column) {
            return Some(i);
        }
        match ch {
            '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                if ch == '\r' && chars.peek().is_some_and(|(_, n)| *n == '\n') {
                    chars.next();
                }
                l += 1;
                c = 1;
            }
            _ => c += 1,
        }
    }
    ((l, c) == (line, column)).then_some(text.len())
}

/// Every credential-shaped value or comment of the file: its key path and kind, never the value.
fn credentials_in(doc: &Doc, text: &str, value: Option<&serde_norway::Value>) -> Vec<(Option<Pos>, String)> {
    let mut out: Vec<(Option<Pos>, String)> = Vec::new();
    let mut reported: Vec<Vec<Seg>> = Vec::new();
    let advice = "expected no credential in a stage file (it is committed): remove it, revoke it (it may already \
                  be in the Git history), and keep secrets in SSM (`cargo xtask secrets put NAME --stage STAGE`)";
    for f in crate::credentials::find(text) {
        let at = doc.pos_in(text, f.start);
        let line_start = text[..f.start].rfind('\n').map_or(0, |i| i + 1);
        let before = &text[line_start..f.start];
        let in_comment = before.trim_start().starts_with('#') || before.contains(" #");
        let path = doc.path_at(f.start);
        let (at, what) = if in_comment {
            (at, "a comment here ")
        } else {
            (doc.value_at(&path).filter(|_| !path.is_empty()).unwrap_or(at), "")
        };
        out.push((
            Some(at),
            messages::with_path(
                &path,
                &format!("{what}looks like {} ({}): {advice}", f.kind, f.id),
            ),
        ));
        if !in_comment {
            reported.push(path);
        }
    }
    // Values the text spells with escapes, and AWS secret keys (no prefix: known by their key's name).
    if let Some(value) = value {
        let mut scalars = Vec::new();
        collect_scalars(value, &mut Vec::new(), &mut scalars);
        for (path, key, s) in scalars {
            if reported.contains(&path) {
                continue;
            }
            let kind = crate::credentials::find(&s)
                .first()
                .map(|f| (f.kind, f.id))
                .or_else(|| {
                    crate::credentials::aws_secret_key_by_name(&key, &s).map(|k| (k, "a key named secret"))
                });
            if let Some((kind, id)) = kind {
                out.push((
                    doc.value_at(&path),
                    messages::with_path(&path, &format!("looks like {kind} ({id}): {advice}")),
                ));
                reported.push(path);
            }
        }
    }
    out
}

/// Every string (and key) of a YAML value, with its key path and the key it is under.
fn collect_scalars(
    value: &serde_norway::Value,
    path: &mut Vec<Seg>,
    out: &mut Vec<(Vec<Seg>, String, String)>,
) {
    use serde_norway::Value;
    if path.len() > 64 || out.len() > 10_000 {
        return;
    }
    let key = match path.last() {
        Some(Seg::Key(k)) => k.clone(),
        _ => String::new(),
    };
    match value {
        Value::String(s) => out.push((path.clone(), key, s.clone())),
        Value::Sequence(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                collect_scalars(v, path, out);
                path.pop();
            }
        }
        Value::Mapping(m) => {
            for (k, v) in m {
                let k = match k {
                    Value::String(s) => s.clone(),
                    other => serde_norway::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                };
                path.push(Seg::Key(k.clone()));
                out.push((path.clone(), String::new(), k));
                collect_scalars(v, path, out);
                path.pop();
            }
        }
        Value::Tagged(t) => collect_scalars(&t.value, path, out),
        _ => {}
    }
}

// ---- field types: each validates its own value ------------------------------------------------

macro_rules! validated {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(pub String);

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                let check: fn(&str) -> Result<(), String> = $check;
                check(&s)?;
                Ok($name(s))
            }
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

fn hex_id(s: &str, prefix: &str, what: &str) -> Result<(), String> {
    let ok = s.strip_prefix(prefix).is_some_and(|h| {
        (h.len() == 8 || h.len() == 17)
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not {what}: expected `{prefix}` followed by 8 or 17 lowercase hex digits"
        ))
    }
}

fn region_ok(r: &str) -> bool {
    // ap-northeast-1, us-gov-west-1, eu-central-2, ...
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].len() == 1
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

fn uuid_ok(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` split into its parts, when it has that shape.
fn arn_parts(s: &str) -> Option<(&str, &str, &str, &str, &str)> {
    let mut it = s.splitn(6, ':');
    let (arn, partition, service, region, account, resource) = (
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    );
    (arn == "arn" && partition.starts_with("aws")).then_some((service, region, account, resource, partition))
}

fn resource_arn(s: &str, services: &[&str], resource_kind: &str, what: &str) -> Result<(), String> {
    let expected = format!(
        "expected arn:aws:{}:REGION:ACCOUNT:{resource_kind}/ID with a 12-digit account and a UUID",
        services.join("|")
    );
    let Some((service, region, account, resource, _)) = arn_parts(s) else {
        return Err(format!("`{s}` is not a {what}: {expected}"));
    };
    let id = resource.strip_prefix(&format!("{resource_kind}/"));
    let ok = services.contains(&service)
        && region_ok(region)
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && id.is_some_and(uuid_ok);
    if ok {
        Ok(())
    } else {
        Err(format!("`{s}` is not a {what}: {expected}"))
    }
}

validated!(
    /// `vpc-` and 8 or 17 hex digits.
    VpcId, |s| hex_id(s, "vpc-", "a VPC ID")
);
validated!(
    /// `subnet-` and 8 or 17 hex digits.
    SubnetId, |s| hex_id(s, "subnet-", "a subnet ID")
);
validated!(
    /// An AWS region botocore knows, with ECS (`infra/data/regions.csv`), e.g. `ap-northeast-1`.
    Region, |s| crate::regions::check(s).map(|_| ())
);
validated!(
    /// An ACM certificate ARN.
    CertificateArn, |s| resource_arn(s, &["acm"], "certificate", "certificate ARN")
);
validated!(
    /// A CodeConnections (or older CodeStar Connections) connection ARN.
    ConnectionArn, |s| resource_arn(s, &["codeconnections", "codestar-connections"], "connection", "connection ARN")
);
validated!(
    /// `owner/name` of a Git repository.
    RepositoryId, |s| {
        let ok_part = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        match s.split_once('/') {
            Some((o, n)) if ok_part(o) && ok_part(n) => Ok(()),
            _ => Err(format!("`{s}` is not a repository: expected owner/name (letters, digits, `-`, `_`, `.`)")),
        }
    }
);
validated!(
    /// A Git branch name.
    Branch, |s| {
        let bad = s.is_empty()
            || s.starts_with(['-', '/'])
            || s.ends_with(['/', '.'])
            || s.contains("..")
            || s.contains("//")
            || s.chars().any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c));
        if let Some(bare) = s.strip_prefix("refs/heads/") {
            return Err(format!("`{s}` is a ref, not a branch name: expected the bare branch name `{bare}` (CodePipeline adds refs/heads/ itself)"));
        }
        if s.starts_with("refs/") {
            return Err(format!("`{s}` is a ref, not a branch name: expected a branch such as main (the pipeline starts on pushes to a branch)"));
        }
        if bad { Err(format!("`{s}` is not a branch name: expected a Git branch such as main or release/1.2")) } else { Ok(()) }
    }
);
validated!(
    /// A file-path glob for a trigger filter, relative to the repository root (`app/**`).
    PathGlob, |s| {
        if s.is_empty() || s.starts_with('/') || s.len() > 255 || s.chars().any(|c| c.is_whitespace() && c != ' ' || c.is_control()) {
            Err(format!("`{s}` is not a path filter: expected a glob relative to the repository root, such as app/**"))
        } else {
            Ok(())
        }
    }
);
validated!(
    /// A Secrets Manager secret name.
    SecretName, |s| {
        if !s.is_empty() && s.len() <= 512 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b)) {
            Ok(())
        } else {
            Err(format!("`{s}` is not a secret name: expected 1 to 512 letters, digits and /_+=.@-"))
        }
    }
);
validated!(
    /// An EC2 instance type's name, e.g. `t3.small`.
    InstanceTypeName, |s| {
        let ok = s.split_once('.').is_some_and(|(family, size)| {
            !family.is_empty()
                && family.starts_with(|c: char| c.is_ascii_lowercase())
                && family.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !size.is_empty()
                && size.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        if ok { Ok(()) } else { Err(format!("`{s}` is not an instance type: expected family.size such as t3.small")) }
    }
);
validated!(
    /// An email address (an approval notification's subscriber).
    Email, |s| {
        let ok = s.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        }) && !s.chars().any(|c| c.is_whitespace() || c == ',') && s.len() <= 254;
        if ok { Ok(()) } else { Err(format!("`{s}` is not an email address: expected name@example.com")) }
    }
);
validated!(
    /// A processor architecture: `x86_64` or `arm64`.
    ArchitectureName, |s| if Architecture::parse(s).is_some() { Ok(()) } else { Err(format!("`{s}` is not an architecture: expected x86_64 or arm64")) }
);
validated!(
    /// An AMI ID: `ami-` and 8 or 17 hex digits.
    AmiId, |s| hex_id(s, "ami-", "an AMI ID")
);
validated!(
    /// An AMI's name, e.g. `al2023-ami-ecs-hvm-2023.0.20251110-kernel-6.1-x86_64`.
    AmiName, |s| {
        if !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"()[]./-'@_ ".contains(&b)) {
            Ok(())
        } else {
            Err(format!("`{s}` is not an AMI name: expected 1 to 128 letters, digits and ()[]./-'@_ such as al2023-ami-ecs-hvm-2023.0.20251110-kernel-6.1-x86_64"))
        }
    }
);
validated!(
    /// An SSM parameter name (the AMI to use).
    SsmParameterName, |s| {
        if s.starts_with('/') && s.len() <= 1011 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_.-".contains(&b)) {
            Ok(())
        } else {
            Err(format!("`{s}` is not an SSM parameter name: expected a path such as {DEFAULT_AMI_PARAMETER}"))
        }
    }
);
validated!(
    /// An IANA time zone (`Asia/Tokyo`, `UTC`) of `infra/data/timezones.txt`.
    TimeZone, |s| crate::time_zones::check(s)
);

impl ArchitectureName {
    pub fn architecture(&self) -> Architecture {
        Architecture::parse(&self.0).unwrap_or(Architecture::X86_64)
    }
}

impl AmiName {
    /// The architecture the name says (`...-x86_64`, `...-arm64`), when it says one.
    pub fn architecture(&self) -> Option<Architecture> {
        if self.0.contains("arm64") || self.0.contains("aarch64") {
            Some(Architecture::Arm64)
        } else if self.0.contains("x86_64") || self.0.contains("amd64") {
            Some(Architecture::X86_64)
        } else {
            None
        }
    }
}

impl SsmParameterName {
    /// The architecture of the AMIs an ECS-optimized AMI parameter holds (`.../arm64/...` or not).
    pub fn architecture(&self) -> Architecture {
        if self.0.split('/').any(|p| p == "arm64") {
            Architecture::Arm64
        } else {
            Architecture::X86_64
        }
    }
}

impl CertificateArn {
    pub fn region(&self) -> &str {
        arn_parts(&self.0).map_or("", |p| p.1)
    }
    pub fn account(&self) -> &str {
        arn_parts(&self.0).map_or("", |p| p.2)
    }
}

impl ConnectionArn {
    pub fn region(&self) -> &str {
        arn_parts(&self.0).map_or("", |p| p.1)
    }
    pub fn account(&self) -> &str {
        arn_parts(&self.0).map_or("", |p| p.2)
    }
}

/// A stage file's text with the instances' AMI pinned to `id`, its name recorded as `name`: the
/// `ami` and `ami_name` lines of the `instances` mapping are rewritten in place (comments and everything
/// else kept); an `ami_parameter` line gives way to them; without either, they follow `instance_type`.
/// What `cargo xtask ami --write` writes.
pub fn with_ami(text: &str, id: &AmiId, name: &AmiName) -> Result<String, String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_end() == "instances:" || l.starts_with("instances:"))
        .ok_or("no `instances:` mapping: expected one at the top level")?;
    let end = lines[start + 1..]
        .iter()
        .position(|l| !l.trim().is_empty() && !l.starts_with([' ', '#']))
        .map_or(lines.len(), |i| start + 1 + i);
    let key_line = |key: &str| {
        (start + 1..end).find(|&i| {
            let t = lines[i].trim_start();
            t.strip_prefix(key).is_some_and(|r| r.starts_with(':'))
        })
    };
    let indent = |i: usize| &lines[i][..lines[i].len() - lines[i].trim_start().len()];
    // `key: value  # comment` with the value replaced, the comment kept.
    let set = |i: usize, key: &str, value: &str| {
        let rest = lines[i].trim_start()[key.len() + 1..].trim_start();
        let comment = rest.find(" #").map_or("", |c| &rest[c..]);
        format!("{}{key}: {value}{comment}", indent(i))
    };
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    match (key_line("ami"), key_line("ami_name"), key_line("ami_parameter")) {
        (Some(a), Some(n), _) => {
            out[a] = set(a, "ami", &id.0);
            out[n] = set(n, "ami_name", &name.0);
        }
        (Some(a), None, _) => {
            out[a] = set(a, "ami", &id.0);
            out.insert(a + 1, format!("{}ami_name: {}", indent(a), name.0));
        }
        (None, _, Some(p)) => {
            out[p] = format!("{}ami: {}", indent(p), id.0);
            out.insert(p + 1, format!("{}ami_name: {}", indent(p), name.0));
        }
        (None, _, None) => {
            let after =
                key_line("instance_type").ok_or("no `instances.instance_type` line to put the AMI after")?;
            out.insert(after + 1, format!("{}ami: {}", indent(after), id.0));
            out.insert(after + 2, format!("{}ami_name: {}", indent(after), name.0));
        }
    }
    let mut text_out = out.join("\n");
    if text.ends_with('\n') {
        text_out.push('\n');
    }
    Ok(text_out)
}

#[cfg(test)]
mod tests {

    /// Each key a stage file may hold at the top is a section read on its own after a first problem
    /// (else a later problem there would be called an unknown key), and nothing else is.
    #[test]
    fn every_top_level_key_has_its_section_reader() {
        for key in messages::mapping_keys(&[]) {
            assert!(
                section_refusals(key, serde_norway::Value::Null).is_some(),
                "{key} has no section reader"
            );
        }
        assert!(section_refusals("networks", serde_norway::Value::Null).is_none());
    }
    use super::*;

    fn id(s: &str) -> AmiId {
        AmiId::try_from(s.to_owned()).unwrap()
    }
    fn name(s: &str) -> AmiName {
        AmiName::try_from(s.to_owned()).unwrap()
    }

    #[test]
    fn pinning_an_ami_rewrites_its_lines_and_keeps_the_rest() {
        let text = "app: x\ninstances:\n  instance_type: t3.small\n  ami: ami-11111111 # pinned\n  ami_name: old\n  min: 2\nservice:\n  cpu: 256\n";
        let new = with_ami(text, &id("ami-22222222"), &name("al2023-new-x86_64")).unwrap();
        assert_eq!(
            new,
            "app: x\ninstances:\n  instance_type: t3.small\n  ami: ami-22222222 # pinned\n  ami_name: al2023-new-x86_64\n  min: 2\nservice:\n  cpu: 256\n"
        );
        let followed = "instances:\n  instance_type: t3.small\n  ami_parameter: /aws/x\n  min: 2\n";
        assert_eq!(
            with_ami(followed, &id("ami-22222222"), &name("n")).unwrap(),
            "instances:\n  instance_type: t3.small\n  ami: ami-22222222\n  ami_name: n\n  min: 2\n"
        );
        let neither = "instances:\n  instance_type: t3.small\n  min: 2\nservice: {}\n";
        assert_eq!(
            with_ami(neither, &id("ami-22222222"), &name("n")).unwrap(),
            "instances:\n  instance_type: t3.small\n  ami: ami-22222222\n  ami_name: n\n  min: 2\nservice: {}\n"
        );
        // An `ami` key of another mapping is left alone.
        let other = "service:\n  ami: not-this\ninstances:\n  instance_type: t3.small\n  ami: ami-11111111\n";
        assert_eq!(
            with_ami(other, &id("ami-22222222"), &name("n")).unwrap(),
            "service:\n  ami: not-this\ninstances:\n  instance_type: t3.small\n  ami: ami-22222222\n  ami_name: n\n"
        );
        assert!(with_ami("app: x\n", &id("ami-22222222"), &name("n")).is_err());
    }
}
