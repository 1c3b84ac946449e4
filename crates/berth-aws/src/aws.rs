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

/// Connects with `profile` (or the default chain) in `region`, through `endpoint` when given.
pub async fn connect(profile: Option<&str>, region: &str, endpoint: Option<&str>) -> Aws {
    let endpoint = endpoint
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .filter(|e| !e.is_empty());
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).build());
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &endpoint {
        loader = loader.endpoint_url(e);
    }
    let conf = loader.load().await;
    clients(&conf, region, endpoint)
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
        .timeout_config(TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).build())
        .build();
    clients(&conf, region, Some(endpoint.to_owned()))
}

/// A connection that was refused or did not open in [`CONNECT_TIMEOUT`] is not retried: nothing is
/// listening there (a wrong endpoint, region or network), and eight attempts with backoff would only
/// make the person wait most of a minute for the same answer. Runs after the SDK's own classifiers, so
/// that it overrides their "transient error, retry".
#[derive(Debug)]
struct UnreachableIsFinal;

impl ClassifyRetry for UnreachableIsFinal {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
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

#[cfg(test)]
mod tests {
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
}
