//! What the operating commands (`pipeline`, `service`, `logs`, `drift`) share: their clients, the
//! stage they are about, and the house style of their errors (what is missing and which command
//! creates it, which permission was denied) and of times and durations.

use std::fmt;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use pipeline_model::{Names, Stack};

use crate::exit::{Code, Failure};
use crate::follow::{Interrupt, Pacing};
use crate::output::Printer;
use crate::prompt::Confirm;

/// The clients of the operating commands, made from the session's configuration (its credentials,
/// region, endpoint and retries: throttled calls are retried with backoff).
#[derive(Clone, Debug)]
pub struct Clients {
    pub cfn: aws_sdk_cloudformation::Client,
    pub pipeline: aws_sdk_codepipeline::Client,
    pub build: aws_sdk_codebuild::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
}

impl Clients {
    /// The clients of a session.
    pub fn of(session: &crate::aws::Aws) -> Clients {
        let conf = &session.config;
        let unreachable = crate::aws::unreachable_is_final;
        Clients {
            cfn: session.cfn.clone(),
            pipeline: aws_sdk_codepipeline::Client::from_conf(
                aws_sdk_codepipeline::config::Builder::from(conf)
                    .retry_classifier(unreachable())
                    .build(),
            ),
            build: aws_sdk_codebuild::Client::from_conf(
                aws_sdk_codebuild::config::Builder::from(conf)
                    .retry_classifier(unreachable())
                    .build(),
            ),
            ecs: aws_sdk_ecs::Client::from_conf(
                aws_sdk_ecs::config::Builder::from(conf)
                    .retry_classifier(unreachable())
                    .build(),
            ),
            elb: aws_sdk_elasticloadbalancingv2::Client::from_conf(
                aws_sdk_elasticloadbalancingv2::config::Builder::from(conf)
                    .retry_classifier(unreachable())
                    .build(),
            ),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(
                aws_sdk_cloudwatchlogs::config::Builder::from(conf)
                    .retry_classifier(unreachable())
                    .build(),
            ),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(
                aws_sdk_cloudwatch::config::Builder::from(conf)
                    .retry_classifier(unreachable())
                    .build(),
            ),
        }
    }
}

/// One stage, as the operating commands see it: its names, where output goes, who answers.
pub struct Ctx<'a> {
    pub aws: &'a Clients,
    pub names: Names<'a>,
    pub region: &'a str,
    pub printer: &'a Printer,
    pub confirm: &'a dyn Confirm,
    pub pacing: Pacing,
    pub interrupt: &'a Interrupt,
    /// The global flags given (`--profile`, `--region`, ...), repeated in the commands a message
    /// suggests.
    pub flags: String,
}

impl Ctx<'_> {
    /// `cargo xtask <cmd> --stage S [flags]`: a command a message suggests.
    pub fn hint(&self, cmd: &str) -> String {
        format!("cargo xtask {cmd} --stage {}{}", self.names.stage(), self.flags)
    }

    /// The stage's pipeline (and build project): `sample-dev`.
    pub fn pipeline_name(&self) -> String {
        self.names.pipeline()
    }

    /// A stack of the stage: `sample-dev-service`.
    pub fn stack(&self, stack: Stack) -> String {
        self.names.stack(stack)
    }
}

/// What went wrong with a call, in the house style: access denied names the permission, a missing
/// resource says which command creates it; anything else keeps the SDK's error as its cause.
pub struct Call<'a> {
    /// The IAM action the call needs: `codepipeline:GetPipelineState`.
    pub permission: &'a str,
    /// What the call was for, as the message says it: `reading the state of pipeline sample-dev`.
    pub what: String,
    /// When the resource the call is about does not exist: the error codes that say so, and what to
    /// tell the person instead (which command creates it).
    pub missing: Option<(&'a [&'a str], String)>,
}

impl<'a> Call<'a> {
    pub fn new(permission: &'a str, what: impl Into<String>) -> Self {
        Call {
            permission,
            what: what.into(),
            missing: None,
        }
    }

    /// `codes` mean the resource is not there; `say` is the message then.
    pub fn missing(mut self, codes: &'a [&'a str], say: impl Into<String>) -> Self {
        self.missing = Some((codes, say.into()));
        self
    }

    /// The failure for `e`.
    pub fn fail<E, R>(&self, e: SdkError<E, R>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: fmt::Debug + Send + Sync + 'static,
    {
        let code = e.code().unwrap_or_default().to_owned();
        let message = e.message().unwrap_or_default().to_owned();
        if let Some((codes, say)) = &self.missing
            && codes.contains(&code.as_str())
        {
            return Failure::new(Code::Error, say);
        }
        if is_access_denied(&code, &message) {
            return Failure::new(
                Code::Error,
                format!(
                    "access denied: {} needs `{}`{}\nhint: ask for `{}` on the stage's resources, or run with \
                     --profile NAME of a role that has it",
                    self.what,
                    self.permission,
                    if message.is_empty() {
                        String::new()
                    } else {
                        format!(" (AWS said: {message})")
                    },
                    self.permission
                ),
            );
        }
        Failure::from(anyhow::Error::new(e).context(self.what.clone()))
    }
}

/// True for the error codes and messages AWS answers a missing permission with.
pub fn is_access_denied(code: &str, message: &str) -> bool {
    matches!(
        code,
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "AuthorizationError"
    ) || message.contains("not authorized to perform")
}

/// `2026-11-29 05:24:01Z`.
pub fn clock(t: &DateTime) -> String {
    t.fmt(Format::DateTime)
        .map(|s| {
            // Whole seconds are enough for people.
            let s = s.replace('T', " ");
            match s.find('.') {
                Some(dot) => format!("{}Z", &s[..dot]),
                None => s,
            }
        })
        .unwrap_or_else(|_| t.secs().to_string())
}

/// `05:24:01`: the time of day (UTC), for lines that follow something.
pub fn time_of_day(t: &DateTime) -> String {
    let s = t.secs().rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

/// Seconds between two times (0 when `to` is before `from`).
pub fn seconds_between(from: &DateTime, to: &DateTime) -> i64 {
    (to.secs() - from.secs()).max(0)
}

/// `45s`, `3m01s`, `1h02m`.
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{}h{:02}m", secs / 3600, secs % 3600 / 60)
    }
}

/// The last part of an ARN or path: a task's ID, a service's name.
pub fn short(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The tag of an image reference (`repo:tag`, `repo@sha256:...` gives the digest's first 12).
pub fn image_tag(image: &str) -> String {
    if let Some((_, digest)) = image.split_once('@') {
        return digest.chars().take(19).collect();
    }
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') && !repo.is_empty() => tag.to_owned(),
        _ => "latest".to_owned(),
    }
}

/// An image tag as a person reads it: a 40- or 64-character hash is cut to 12.
pub fn short_tag(tag: &str) -> String {
    if tag.len() >= 32 && tag.chars().all(|c| c.is_ascii_hexdigit()) {
        tag[..12].to_owned()
    } else {
        tag.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations_read_well() {
        assert_eq!(clock(&DateTime::from_secs(1_795_843_441)), "2026-11-28 05:24:01Z");
        assert_eq!(
            clock(&DateTime::from_millis(1_795_843_441_500)),
            "2026-11-28 05:24:01Z"
        );
        assert_eq!(time_of_day(&DateTime::from_secs(1_795_843_441)), "05:24:01");
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(181), "3m01s");
        assert_eq!(duration(3720), "1h02m");
        assert_eq!(duration(-3), "0s");
    }

    #[test]
    fn image_tags_and_ids_are_cut_to_what_people_read() {
        assert_eq!(
            image_tag("123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/sample-dev:4b825dc642cb"),
            "4b825dc642cb"
        );
        assert_eq!(image_tag("localhost:5000/app"), "latest");
        assert_eq!(short_tag(&"a".repeat(64)), "aaaaaaaaaaaa");
        assert_eq!(short_tag("v1.2"), "v1.2");
        assert_eq!(short("arn:aws:ecs:r:1:task/cluster/abc123"), "abc123");
    }

    #[test]
    fn access_denied_is_recognised_by_code_or_message() {
        assert!(is_access_denied("AccessDeniedException", ""));
        assert!(is_access_denied(
            "Other",
            "User: arn:aws:iam::1:user/x is not authorized to perform: ecs:DescribeServices"
        ));
        assert!(!is_access_denied("ThrottlingException", "Rate exceeded"));
    }
}
