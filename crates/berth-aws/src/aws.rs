//! SDK clients from the SDK's own machinery: the credential chain, profiles (SSO included), the
//! region, `AWS_ENDPOINT_URL`.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};

/// The clients of one session.
pub struct Aws {
    pub cfn: aws_sdk_cloudformation::Client,
    pub s3: aws_sdk_s3::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub kms: aws_sdk_kms::Client,
    pub region: String,
    /// A custom endpoint (`--endpoint-url` or `AWS_ENDPOINT_URL`), e.g. an emulator.
    pub endpoint: Option<String>,
}

/// Connects with `profile` (or the default chain) in `region`, through `endpoint` when given.
pub async fn connect(profile: Option<&str>, region: &str, endpoint: Option<&str>) -> Aws {
    let endpoint = endpoint
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .filter(|e| !e.is_empty());
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        // CloudFormation throttles describe calls: retry them with backoff rather than fail a deploy.
        .retry_config(RetryConfig::standard().with_max_attempts(8));
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
    let s3_conf = aws_sdk_s3::config::Builder::from(conf)
        .force_path_style(endpoint.is_some())
        .build();
    Aws {
        cfn: aws_sdk_cloudformation::Client::new(conf),
        s3: aws_sdk_s3::Client::from_conf(s3_conf),
        ssm: aws_sdk_ssm::Client::new(conf),
        kms: aws_sdk_kms::Client::new(conf),
        region: region.to_owned(),
        endpoint,
    }
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
        .retry_config(RetryConfig::standard().with_max_attempts(8))
        .build();
    clients(&conf, region, Some(endpoint.to_owned()))
}
