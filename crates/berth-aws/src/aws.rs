//! SDK clients from the SDK's own machinery: the credential chain, profiles (SSO included), the
//! region, `AWS_ENDPOINT_URL`.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority, SharedRetryClassifier,
};

/// How long a connection may take to open. An endpoint that does not answer in this time is not
/// there (a wrong endpoint or region, no network): the command says so rather than wait.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long one attempt of a call may take (a server that accepts the connection and never answers).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a call may take with all its retries: then the command says what it was doing.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Attempts of a call that fails in a way worth retrying (throttling, a 5xx, a dropped connection):
/// CloudFormation throttles describe calls during a deploy.
pub const MAX_ATTEMPTS: u32 = 8;

/// The clients of one session.
pub struct Aws {
    pub cfn: aws_sdk_cloudformation::Client,
    pub s3: aws_sdk_s3::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub kms: aws_sdk_kms::Client,
    pub region: String,
    /// A custom endpoint (`--endpoint-url` or `AWS_ENDPOINT_URL`), e.g. an emulator.
    pub endpoint: Option<String>,
    /// The configuration the clients were made from: the operating commands' clients
    /// (`crate::ops::Clients::of`) are made from it too.
    pub config: aws_config::SdkConfig,
}

/// The profiles defined in the AWS config and credentials files (`AWS_CONFIG_FILE`,
/// `AWS_SHARED_CREDENTIALS_FILE`, or `~/.aws/config` and `~/.aws/credentials`), sorted.
pub fn known_profiles() -> Vec<String> {
    let home = std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_default();
    let file = |var: &str, default: &str| {
        std::env::var_os(var).map_or_else(|| home.join(".aws").join(default), std::path::PathBuf::from)
    };
    let mut names = Vec::new();
    for (path, in_config) in [
        (file("AWS_CONFIG_FILE", "config"), true),
        (file("AWS_SHARED_CREDENTIALS_FILE", "credentials"), false),
    ] {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        for line in text.lines() {
            let Some(section) = line.trim().strip_prefix('[').and_then(|l| l.strip_suffix(']')) else {
                continue;
            };
            let section = section.trim();
            // The config file names profiles `[profile NAME]` (and `[default]`); the credentials file
            // `[NAME]`. Other sections (`[sso-session x]`, `[services x]`) are no profiles.
            let name = if in_config {
                match section.strip_prefix("profile ") {
                    Some(n) => n.trim(),
                    None if section == "default" => section,
                    None => continue,
                }
            } else {
                section
            };
            names.push(name.to_owned());
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The profile the command runs as: `--profile`, else `AWS_PROFILE` (which the SDK's default chain
/// reads), with where it came from as a message names it (`--profile NAME`, `AWS_PROFILE=NAME`).
pub fn chosen_profile(flag: Option<&str>) -> Option<(String, String)> {
    match flag {
        Some(p) => Some((p.to_owned(), format!("--profile {p}"))),
        None => std::env::var("AWS_PROFILE")
            .ok()
            .filter(|p| !p.is_empty())
            .map(|p| (p.clone(), format!("AWS_PROFILE={p}"))),
    }
}

/// Refuses a profile (`--profile` or `AWS_PROFILE`, named by `given`) that no config or credentials
/// file defines (as the AWS CLI does): a typo must not fall back to other credentials.
pub fn check_profile(profile: &str, given: &str) -> Result<(), String> {
    // `AWS_PROFILE=default` with no files is what many CI images set beside their keys: the SDK's
    // chain (environment keys first) and the AWS CLI accept it.
    if profile == "default" && given.starts_with("AWS_PROFILE=") {
        return Ok(());
    }
    let known = known_profiles();
    if known.iter().any(|k| k == profile) {
        return Ok(());
    }
    Err(format!(
        "{given}: no such profile in the AWS config or credentials files: expected one of: {}\n\
         hint: `aws configure --profile {profile}` (or `aws configure sso`) creates it; AWS_CONFIG_FILE and \
         AWS_SHARED_CREDENTIALS_FILE say where the files are",
        if known.is_empty() {
            "(none defined)".to_owned()
        } else {
            known.join(", ")
        }
    ))
}

/// Connects with `profile` (or the default chain) in `region`, through `endpoint` when given. An
/// explicit profile's credentials are the only ones used: environment keys do not win over it (they
/// come first in the default chain).
pub async fn connect(profile: Option<&str>, region: &str, endpoint: Option<&str>) -> Aws {
    let endpoint = endpoint
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .filter(|e| !e.is_empty());
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(timeouts());
    if let Some(p) = profile {
        loader = loader.profile_name(p).credentials_provider(
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                .profile_name(p)
                .build(),
        );
    }
    if let Some(e) = &endpoint {
        loader = loader.endpoint_url(e);
    }
    let conf = loader.load().await;
    clients(&conf, region, endpoint)
}

/// The largest `BERTH_CALL_TIMEOUT`: a day.
const MAX_CALL_TIMEOUT_SECS: u64 = 86_400;

/// The call timeout `BERTH_CALL_TIMEOUT` asks for (`value`, when set): [`CALL_TIMEOUT`] when unset or
/// empty; an
/// error naming the variable, the value and what was expected otherwise.
pub fn parse_call_timeout(value: Option<&str>) -> Result<Duration, String> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(CALL_TIMEOUT);
    };
    match v.trim().parse::<u64>() {
        Ok(s) if (1..=MAX_CALL_TIMEOUT_SECS).contains(&s) => Ok(Duration::from_secs(s)),
        _ => Err(format!(
            "BERTH_CALL_TIMEOUT={v}: expected a whole number of seconds from 1 to {MAX_CALL_TIMEOUT_SECS} \
             (unset: {} s)",
            CALL_TIMEOUT.as_secs()
        )),
    }
}

/// `BERTH_CALL_TIMEOUT` as the process has it (None when unset; a value that is no text is refused).
fn call_timeout_var() -> Result<Option<String>, String> {
    match std::env::var("BERTH_CALL_TIMEOUT") {
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err("BERTH_CALL_TIMEOUT is not text: expected a whole number of seconds".to_owned())
        }
    }
}

/// Checks `BERTH_CALL_TIMEOUT` before any call (the command line refuses a bad value up front).
pub fn check_call_timeout() -> Result<Duration, String> {
    parse_call_timeout(call_timeout_var()?.as_deref())
}

/// The call timeout: [`CALL_TIMEOUT`], or `BERTH_CALL_TIMEOUT` seconds (a slow network, or a test);
/// checked by [`check_call_timeout`] before any call.
pub fn call_timeout() -> Duration {
    check_call_timeout().unwrap_or(CALL_TIMEOUT)
}

/// Refuses a `--region` that is no AWS region where ECS runs (as a stage file's `region` is refused,
/// with a "did you mean"), before any call: a typo would otherwise wait for a connection that never
/// opens.
pub fn check_region(region: &str) -> Result<(), String> {
    infra::regions::check(region)
        .map(|_| ())
        .map_err(|e| format!("--region {region}: {e}"))
}

/// The connect, attempt and call timeouts of every call.
fn timeouts() -> TimeoutConfig {
    let call = call_timeout();
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT.min(call))
        .operation_timeout(call)
        .build()
}

/// The clients of one configuration. S3 uses path-style addressing with a custom endpoint (an
/// emulator has no per-bucket host names).
fn clients(conf: &aws_config::SdkConfig, region: &str, endpoint: Option<String>) -> Aws {
    let unreachable = || SharedRetryClassifier::new(UnreachableIsFinal);
    let s3_conf = aws_sdk_s3::config::Builder::from(conf)
        .force_path_style(endpoint.is_some())
        .retry_classifier(unreachable())
        .build();
    Aws {
        cfn: aws_sdk_cloudformation::Client::from_conf(
            aws_sdk_cloudformation::config::Builder::from(conf)
                .retry_classifier(unreachable())
                .build(),
        ),
        s3: aws_sdk_s3::Client::from_conf(s3_conf),
        ssm: aws_sdk_ssm::Client::from_conf(
            aws_sdk_ssm::config::Builder::from(conf)
                .retry_classifier(unreachable())
                .build(),
        ),
        kms: aws_sdk_kms::Client::from_conf(
            aws_sdk_kms::config::Builder::from(conf)
                .retry_classifier(unreachable())
                .build(),
        ),
        region: region.to_owned(),
        endpoint,
        config: conf.clone(),
    }
}

/// The retry classifier every client of a session gets ([`UnreachableIsFinal`]).
pub fn unreachable_is_final() -> SharedRetryClassifier {
    SharedRetryClassifier::new(UnreachableIsFinal)
}

/// Clients for an emulator at `endpoint` with fixed credentials (tests; the CLI uses [`connect`]).
pub fn for_emulator(endpoint: &str, region: &str) -> Aws {
    let credentials =
        aws_sdk_cloudformation::config::Credentials::new("test", "test", None, None, "emulator");
    let conf = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_cloudformation::config::SharedCredentialsProvider::new(
            credentials,
        ))
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(timeouts())
        .build();
    clients(&conf, region, Some(endpoint.to_owned()))
}

/// A connection that was refused or did not open in [`CONNECT_TIMEOUT`] is not retried: nothing is
/// listening there (a wrong endpoint, region or network), and eight attempts with backoff would only
/// make the person wait most of a minute for the same answer. Runs after the SDK's own classifiers, so
/// that it overrides their "transient error, retry".
#[derive(Debug)]
struct UnreachableIsFinal;

/// The HTTP status of the latest attempt's answer when it was a failure an AWS error does not explain:
/// a server error or throttling (retried), or an error answer whose body is no AWS error (a proxy's
/// page). 0 after any other attempt: a success, an AWS error the command may handle ("does not
/// exist"), no answer at all. Recorded by [`UnreachableIsFinal`], which sees every attempt of every
/// client: what a failure that carries no AWS error (a timeout spent on 5xx answers, an answer that is
/// no AWS error) can still say.
static LAST_STATUS: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);

/// The status [`LAST_STATUS`] keeps for an answer: its own for a server error, throttling, or an
/// error whose body is no AWS error; 0 otherwise.
fn unexplained_status(status: u16, body: Option<&[u8]>) -> u16 {
    let aws_error = body.is_some_and(|b| {
        let text = String::from_utf8_lossy(&b[..b.len().min(4096)]);
        // The query protocols' XML error, the JSON protocols' `__type`/`code`.
        text.contains("<Code>") || text.contains("\"__type\"") || text.contains("\"code\"")
    });
    if status >= 500 || status == 429 || (status >= 400 && !aws_error) {
        status
    } else {
        0
    }
}

/// The status of the latest answer, when it was an error (HTTP 400 and up).
pub fn last_error_status() -> Option<u16> {
    let s = LAST_STATUS.load(std::sync::atomic::Ordering::Relaxed);
    (s >= 400).then_some(s)
}

impl ClassifyRetry for UnreachableIsFinal {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let status = ctx
            .response()
            .map_or(0, |r| unexplained_status(r.status().as_u16(), r.body().bytes()));
        LAST_STATUS.store(status, std::sync::atomic::Ordering::Relaxed);
        match ctx.output_or_error() {
            Some(Err(e)) if e.as_connector_error().is_some_and(unreachable) => RetryAction::RetryForbidden,
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "berth: an unreachable endpoint is final"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// True for a connection that was refused, or that did not open in time.
pub fn unreachable(e: &ConnectorError) -> bool {
    if e.is_timeout() {
        return true;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::TimedOut
            )
        {
            return true;
        }
        if s.to_string().contains("Connection refused") {
            return true;
        }
        source = s.source();
    }
    false
}

/// What to say when a call could not reach AWS at all: where it tried and what to check. None when
/// `e` is no such failure.
pub fn unreachable_hint(e: &anyhow::Error, region: &str, endpoint: Option<&str>) -> Option<String> {
    // The SDK's timeout error is no `std::error::Error` of its own: known by what it says.
    let timed_out = e.chain().any(|s| {
        let t = s.to_string();
        t.contains("request has timed out") || t.contains("timeout occurred")
    });
    if timed_out {
        let target = endpoint.map_or_else(
            || format!("AWS in region {region}"),
            |u| format!("the endpoint {u}"),
        );
        if let Some(status) = last_error_status() {
            return Some(format!(
                "{target} answered only with errors for {} s (the last: HTTP {status}; the call's timeout, \
                 retries included; BERTH_CALL_TIMEOUT sets it)\n\
                 hint: {}",
                call_timeout().as_secs(),
                status_hint(status)
            ));
        }
        return Some(format!(
            "{target} did not answer within {} s (the call's timeout, retries included; BERTH_CALL_TIMEOUT sets it)\n\
             hint: check the endpoint (--endpoint-url, AWS_ENDPOINT_URL), the network or proxy, and AWS's health in the region",
            call_timeout().as_secs()
        ));
    }
    let reached_nothing = e.chain().any(|s| {
        s.downcast_ref::<ConnectorError>()
            .is_some_and(|c| unreachable(c) || c.is_io())
    });
    reached_nothing.then(|| {
        let target = match endpoint {
            Some(url) => format!("the endpoint {url} (--endpoint-url or AWS_ENDPOINT_URL)"),
            None => format!("AWS in region {region}"),
        };
        format!(
            "could not reach {target}: the connection was refused or did not open within {} s\n\
             hint: check the region (--region, or the stage's), the endpoint (--endpoint-url, AWS_ENDPOINT_URL), \
             the network or proxy, and that your credentials are for this account",
            CONNECT_TIMEOUT.as_secs()
        )
    })
}

/// What to check after error answers with this HTTP status.
fn status_hint(status: u16) -> &'static str {
    match status {
        429 => "AWS is throttling the account's calls: wait, and look for other tools calling the same API",
        500..=599 => {
            "an outage of the service in the region (AWS's health dashboard), or a proxy or load \
                      balancer in front of the endpoint (--endpoint-url, AWS_ENDPOINT_URL) failing"
        }
        _ => "the endpoint (--endpoint-url, AWS_ENDPOINT_URL): it may not be the AWS API",
    }
}

/// What to say when an answer was no AWS error the SDK could read ("unhandled error"): its status
/// and what to check. None for any other failure.
pub fn unreadable_answer_hint(e: &anyhow::Error) -> Option<String> {
    let status = last_error_status()?;
    format!("{e:#}").contains("unhandled error").then(|| {
        format!(
            "the answer was HTTP {status} with a body that is no AWS error\nhint: {}",
            status_hint(status)
        )
    })
}

/// What to say when AWS refused the credentials or none were found. None for any other failure.
pub fn credentials_hint(e: &anyhow::Error) -> Option<String> {
    let text = format!("{e:#}");
    let refused = [
        "ExpiredToken",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "no providers in chain provided credentials",
        "failed to load credentials",
        // Every failure of the credential chain (IMDS forbidden or unreachable, a bad profile
        // process, SSO): "an error occurred while loading credentials".
        "loading credentials",
        "the credential provider was not enabled",
        "Error loading SSO Token",
    ];
    refused.iter().any(|r| text.contains(r)).then(|| {
        "hint: AWS refused the credentials or found none: check --profile (or AWS_PROFILE), `aws sso login --profile P` \
         for an SSO profile, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys); \
         `aws sts get-caller-identity` shows who you are"
            .to_owned()
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn only_failures_no_aws_error_explains_are_kept_for_the_message() {
        let xml = b"<ErrorResponse><Error><Code>ValidationError</Code><Message>Stack does not exist</Message></Error></ErrorResponse>";
        let json = br#"{"__type":"ParameterNotFound","message":"no"}"#;
        let page = b"<html>upstream exploded</html>";
        // An AWS error the command may handle, a success, no body: nothing to say later.
        assert_eq!(unexplained_status(400, Some(xml)), 0);
        assert_eq!(unexplained_status(400, Some(json)), 0);
        assert_eq!(unexplained_status(200, Some(page)), 0);
        // A proxy's page, a server error, throttling: kept.
        assert_eq!(unexplained_status(403, Some(page)), 403);
        assert_eq!(unexplained_status(403, None), 403);
        assert_eq!(unexplained_status(502, Some(xml)), 502);
        assert_eq!(unexplained_status(429, Some(json)), 429);
    }
    use super::*;

    #[test]
    fn refused_and_timed_out_connections_are_final_and_explained() {
        let refused = ConnectorError::io(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        let timed_out = ConnectorError::timeout(Box::new(std::io::Error::from(std::io::ErrorKind::TimedOut)));
        let reset = ConnectorError::io(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        )));
        assert!(unreachable(&refused));
        assert!(unreachable(&timed_out));
        // A connection that opened and then broke is worth another attempt.
        assert!(!unreachable(&reset));
        let e = anyhow::Error::new(refused).context("describing stack s");
        let hint = unreachable_hint(&e, "eu-west-1", None).unwrap();
        assert!(hint.contains("could not reach AWS in region eu-west-1"), "{hint}");
        assert!(hint.contains("hint: check the region"), "{hint}");
        let hint = unreachable_hint(&e, "eu-west-1", Some("http://127.0.0.1:9")).unwrap();
        assert!(hint.contains("the endpoint http://127.0.0.1:9"), "{hint}");
        assert!(unreachable_hint(&anyhow::anyhow!("AccessDenied"), "eu-west-1", None).is_none());
    }

    #[test]
    fn every_credential_loading_failure_gets_the_hint() {
        for text in [
            "dispatch failure: other: an error occurred while loading credentials: failed to load IMDS session \
             token: request forbidden",
            "dispatch failure: an error occurred while loading credentials: the credential provider was not enabled",
            "ExpiredToken: the security token included in the request is expired",
        ] {
            let hint = credentials_hint(&anyhow::anyhow!("{text}").context("describing stack s"));
            assert!(
                hint.is_some_and(|h| h.starts_with("hint: AWS refused the credentials")),
                "{text}"
            );
        }
        assert!(credentials_hint(&anyhow::anyhow!("AccessDenied: not authorized")).is_none());
    }

    #[test]
    fn a_bad_call_timeout_is_named_with_what_was_expected() {
        assert_eq!(parse_call_timeout(None), Ok(CALL_TIMEOUT));
        assert_eq!(parse_call_timeout(Some("5")), Ok(Duration::from_secs(5)));
        assert_eq!(parse_call_timeout(Some("")), Ok(CALL_TIMEOUT));
        for bad in ["abc", "0", "-1", "1.5", "100000"] {
            let e = parse_call_timeout(Some(bad)).unwrap_err();
            assert!(
                e.starts_with(&format!(
                    "BERTH_CALL_TIMEOUT={bad}: expected a whole number of seconds"
                )),
                "{e}"
            );
        }
    }

    #[test]
    fn a_region_flag_is_checked_like_a_stage_files_region() {
        assert!(check_region("eu-west-1").is_ok());
        let e = check_region("us-esat-1").unwrap_err();
        assert!(
            e.starts_with("--region us-esat-1: `us-esat-1` is not an AWS region"),
            "{e}"
        );
        assert!(
            e.contains("did you mean one of `us-east-1` (US East (N. Virginia))"),
            "{e}"
        );
    }
}
