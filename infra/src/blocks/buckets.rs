//! The stage's two buckets: the pipeline's artifact store (encrypted with the stage key) and the log
//! bucket that receives the artifact bucket's access logs and the load balancer's.

use std::collections::BTreeMap;

use cfn::fns::{Sub, equals, not};
use cfn::policy::{PolicyDocument, Principal, Statement};
use cfn::resources::{kms, s3};
use cfn::{Attributes, Cond, Mapping, Res, Template, Val, fns, pseudo};

use crate::naming::{StageNames, checkov_skips};

/// Days access logs are kept in the log bucket.
pub const ACCESS_LOG_RETENTION_DAYS: i64 = 365;

/// Days an artifact version that is no longer current is kept.
pub const NONCURRENT_ARTIFACT_DAYS: i64 = 30;

/// The account Elastic Load Balancing writes access logs from, in the regions opened before August
/// 2022; later regions use the `logdelivery.elasticloadbalancing.amazonaws.com` service principal.
pub const ELB_LOG_ACCOUNTS: &[(&str, &str)] = &[
    ("af-south-1", "098369216593"),
    ("ap-east-1", "754344448648"),
    ("ap-northeast-1", "582318560864"),
    ("ap-northeast-2", "600734575887"),
    ("ap-northeast-3", "383597477331"),
    ("ap-south-1", "718504428378"),
    ("ap-southeast-1", "114774131450"),
    ("ap-southeast-2", "783225319266"),
    ("ap-southeast-3", "589379963580"),
    ("ca-central-1", "985666609251"),
    ("eu-central-1", "054676820928"),
    ("eu-north-1", "897822967062"),
    ("eu-south-1", "635631232127"),
    ("eu-west-1", "156460612806"),
    ("eu-west-2", "652711504416"),
    ("eu-west-3", "009996457667"),
    ("me-south-1", "076674570225"),
    ("sa-east-1", "507241528517"),
    ("us-east-1", "127311923021"),
    ("us-east-2", "033677994240"),
    ("us-west-1", "027434742980"),
    ("us-west-2", "797873946194"),
];

/// A bucket nobody outside the account reaches: versioned, public access blocked, ACLs off (the
/// bucket owner owns every object).
fn private_bucket() -> s3::Bucket {
    s3::Bucket::new()
        .versioning_configuration(s3::bucket::VersioningConfiguration::new(
            s3::bucket::VersioningConfigurationStatus::Enabled,
        ))
        .public_access_block_configuration(
            s3::bucket::PublicAccessBlockConfiguration::new()
                .block_public_acls(true)
                .block_public_policy(true)
                .ignore_public_acls(true)
                .restrict_public_buckets(true),
        )
        .ownership_controls(s3::bucket::OwnershipControls::new(vec![
            s3::bucket::OwnershipControlsRule::new()
                .object_ownership(s3::bucket::ObjectOwnership::BucketOwnerEnforced),
        ]))
}

/// Refuses every request to the bucket that does not come over TLS.
fn tls_only(bucket: Res<s3::Bucket>, objects: Val<String>) -> Statement {
    Statement::deny()
        .sid("TlsOnly")
        .principal(Principal::Anyone)
        .actions(["s3:*"])
        .resources([bucket.arn(), objects])
        .condition("Bool", "aws:SecureTransport", "false")
}

/// The log bucket (SSE-S3: S3 and load balancer access logs are delivered to such buckets only), kept
/// when the stack goes. Its policy comes with [`LogBucket::allow_deliveries`], once the buckets that log
/// into it exist.
#[derive(Clone, Copy)]
pub struct LogBucket {
    pub bucket: Res<s3::Bucket>,
    elb_accounts: Mapping,
    by_account: Cond,
    by_service: Cond,
}

impl LogBucket {
    pub fn add(t: &mut Template, names: StageNames) -> LogBucket {
        let elb_accounts = t.add_mapping(
            "ElbLogDeliveryAccounts",
            ELB_LOG_ACCOUNTS
                .iter()
                .map(|(region, account)| {
                    (
                        (*region).to_owned(),
                        BTreeMap::from([("AccountId".to_owned(), (*account).to_owned())]),
                    )
                })
                .collect(),
        );
        let by_account = t.add_condition(
            "ElbLogsByAccount",
            fns::or(ELB_LOG_ACCOUNTS.chunks(10).map(|chunk| {
                fns::or(
                    chunk
                        .iter()
                        .map(|(region, _)| equals::<String>(pseudo::region(), Val::from(*region))),
                )
            })),
        );
        let by_service = t.add_condition("ElbLogsByService", not(by_account));
        let bucket = t.add_with(
            "LogBucket",
            private_bucket()
                .bucket_name(names.sub(names.names().log_bucket("${AWS::AccountId}", "${AWS::Region}")))
                .bucket_encryption(s3::bucket::BucketEncryption::new(vec![
                    s3::bucket::ServerSideEncryptionRule::new().server_side_encryption_by_default(
                        s3::bucket::ServerSideEncryptionByDefault::new(s3::bucket::SSEAlgorithm::Aes256),
                    ),
                ]))
                .lifecycle_configuration(s3::bucket::LifecycleConfiguration::new(vec![
                    s3::bucket::Rule::new(s3::bucket::RuleStatus::Enabled)
                        .id("ExpireLogs")
                        .expiration_in_days(ACCESS_LOG_RETENTION_DAYS)
                        .noncurrent_version_expiration(s3::bucket::NoncurrentVersionExpiration::new(30))
                        .abort_incomplete_multipart_upload(s3::bucket::AbortIncompleteMultipartUpload::new(
                            7,
                        )),
                ])),
            Attributes::new().retain().metadata(
                "checkov",
                checkov_skips(&[(
                    "CKV_AWS_18",
                    "this is the access-log bucket: logging its own accesses into itself would loop",
                )]),
            ),
        );
        LogBucket {
            bucket,
            elb_accounts,
            by_account,
            by_service,
        }
    }

    fn objects(&self, prefix: &str) -> Val<String> {
        Sub::new(format!("${{BucketArn}}/{prefix}"))
            .var("BucketArn", self.bucket.arn())
            .into()
    }

    /// The bucket's policy: TLS only; the artifact bucket's access logs from S3; the load balancer's
    /// from Elastic Load Balancing (by account in older regions, by service principal in newer ones).
    pub fn allow_deliveries(&self, t: &mut Template, artifacts: &ArtifactStore) {
        let load_balancer_logs = self.objects(&format!(
            "{}/AWSLogs/${{AWS::AccountId}}/*",
            pipeline_model::log_prefixes::LOAD_BALANCER
        ));
        t.add(
            "LogBucketPolicy",
            s3::BucketPolicy::new(
                self.bucket.to_ref(),
                PolicyDocument::new()
                    .statement(tls_only(self.bucket, self.objects("*")))
                    .statement(
                        Statement::allow()
                            .sid("ArtifactBucketAccessLogs")
                            .service("logging.s3.amazonaws.com")
                            .actions(["s3:PutObject"])
                            .resource(
                                self.objects(&format!("{}/*", pipeline_model::log_prefixes::ARTIFACT_BUCKET)),
                            )
                            .condition("StringEquals", "aws:SourceAccount", pseudo::account_id())
                            .condition("ArnLike", "aws:SourceArn", artifacts.bucket.arn()),
                    )
                    .statement_if(
                        self.by_account,
                        Statement::allow()
                            .sid("LoadBalancerAccessLogs")
                            .principal(Principal::Aws(vec![fns::find_in_map(
                                self.elb_accounts,
                                pseudo::region(),
                                "AccountId",
                            )]))
                            .actions(["s3:PutObject"])
                            .resource(load_balancer_logs.clone()),
                    )
                    .statement_if(
                        self.by_service,
                        Statement::allow()
                            .sid("LoadBalancerLogDelivery")
                            .service("logdelivery.elasticloadbalancing.amazonaws.com")
                            .actions(["s3:PutObject"])
                            .resource(load_balancer_logs),
                    ),
            ),
        );
    }
}

/// The pipeline's artifact store: encrypted with the stage key, its accesses logged to the log
/// bucket, reached over TLS only, kept when the stack goes.
#[derive(Clone, Copy)]
pub struct ArtifactStore {
    pub bucket: Res<s3::Bucket>,
    key: Res<kms::Key>,
}

impl ArtifactStore {
    /// `expire_after_days`: how long a run's artifacts are kept (older runs cannot be retried).
    pub fn add(
        t: &mut Template,
        key: Res<kms::Key>,
        logs: &LogBucket,
        expire_after_days: cfn::Param<cfn::params::Integer>,
    ) -> ArtifactStore {
        let bucket = t.add_with(
            "ArtifactBucket",
            private_bucket()
                .bucket_encryption(s3::bucket::BucketEncryption::new(vec![
                    s3::bucket::ServerSideEncryptionRule::new()
                        .bucket_key_enabled(true)
                        .server_side_encryption_by_default(
                            s3::bucket::ServerSideEncryptionByDefault::new(s3::bucket::SSEAlgorithm::AwsKms)
                                .kms_master_key_id(key.arn()),
                        ),
                ]))
                .logging_configuration(
                    s3::bucket::LoggingConfiguration::new()
                        .destination_bucket_name(logs.bucket.to_ref())
                        .log_file_prefix(format!("{}/", pipeline_model::log_prefixes::ARTIFACT_BUCKET)),
                )
                .lifecycle_configuration(s3::bucket::LifecycleConfiguration::new(vec![
                    s3::bucket::Rule::new(s3::bucket::RuleStatus::Enabled)
                        .id("ExpireOldArtifacts")
                        .expiration_in_days(expire_after_days)
                        .noncurrent_version_expiration(s3::bucket::NoncurrentVersionExpiration::new(
                            NONCURRENT_ARTIFACT_DAYS,
                        ))
                        .abort_incomplete_multipart_upload(s3::bucket::AbortIncompleteMultipartUpload::new(
                            7,
                        )),
                ])),
            Attributes::new().retain(),
        );
        let store = ArtifactStore { bucket, key };
        t.add(
            "ArtifactBucketPolicy",
            s3::BucketPolicy::new(
                bucket.to_ref(),
                PolicyDocument::new().statement(tls_only(bucket, store.objects())),
            ),
        );
        store
    }

    /// Every object of the store (`<bucket ARN>/*`).
    pub fn objects(&self) -> Val<String> {
        Sub::new("${BucketArn}/*")
            .var("BucketArn", self.bucket.arn())
            .into()
    }

    /// The ARN of the key the store's objects are encrypted with.
    pub fn key_arn(&self) -> Val<String> {
        self.key.arn()
    }

    /// What reading and writing the store's objects needs of the stage key.
    pub fn key_use(&self) -> Statement {
        Statement::allow()
            .sid("ArtifactEncryption")
            .actions([
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GenerateDataKey*",
                "kms:ReEncrypt*",
            ])
            .resource(self.key.arn())
    }
}
