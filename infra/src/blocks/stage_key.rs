//! The stage's KMS key: it encrypts the stage's secrets, the pipeline's artifacts, its images and its
//! build logs. The account administers it (KMS refuses a policy that would lock the account out, and
//! berth never bypasses that check); the build and the service's tasks may decrypt with it.

use cfn::fns::Sub;
use cfn::policy::{PolicyDocument, Principal, Statement};
use cfn::resources::{iam, kms};
use cfn::{Attributes, Res, Template};

use crate::naming::StageNames;

/// What the key needs.
pub struct StageKeyProps {
    pub names: StageNames,
    /// The build's role: it decrypts the build-time secrets.
    pub build_role: Res<iam::Role>,
}

/// The key and its alias (the contract's name, by which `secrets` finds it).
#[derive(Clone, Copy)]
pub struct StageKey {
    pub key: Res<kms::Key>,
    pub alias: Res<kms::Alias>,
}

impl StageKey {
    pub fn add(t: &mut Template, props: StageKeyProps) -> StageKey {
        let n = props.names;
        let names = n.names();
        let account_root = || {
            Principal::Aws(vec![
                Sub::new("arn:${AWS::Partition}:iam::${AWS::AccountId}:root").into(),
            ])
        };
        let key = t.add_with(
            "Key",
            kms::Key::new()
                .description(n.sub("berth ${AppName}/${StageName}: secrets, artifacts, images"))
                .enable_key_rotation(true)
                .key_policy(
                    PolicyDocument::new()
                        // The account administers the key and its IAM policies decide who else may use it:
                        // KMS refuses a policy that would lock the account out, and berth never bypasses that.
                        // In a key policy `Resource: "*"` means this key.
                        .statement(
                            Statement::allow()
                                .sid("AccountAdministersKey")
                                .principal(account_root())
                                .actions(["kms:*"])
                                .resource("*"),
                        )
                        .statement(
                            Statement::allow()
                                .sid("BuildDecryptsSecrets")
                                .principal(Principal::Aws(vec![props.build_role.arn()]))
                                .actions(["kms:Decrypt", "kms:DescribeKey"])
                                .resource("*"),
                        )
                        // The task execution role is created later, by the service stack, and KMS refuses a
                        // policy naming a role that does not exist yet: name it by condition instead.
                        .statement(
                            Statement::allow()
                                .sid("TasksDecryptSecrets")
                                .principal(account_root())
                                .actions(["kms:Decrypt", "kms:DescribeKey"])
                                .resource("*")
                                .condition(
                                    "ArnEquals",
                                    "aws:PrincipalArn",
                                    n.iam_arn(format!("role/{}", names.task_execution_role())),
                                ),
                        )
                        // CloudWatch Logs encrypts the build's log group with the key, for that group only.
                        .statement(
                            Statement::allow()
                                .sid("LogsEncryptBuildLogs")
                                .principal(Principal::Service(vec![
                                    Sub::new("logs.${AWS::Region}.amazonaws.com").into(),
                                ]))
                                .actions([
                                    "kms:Decrypt*",
                                    "kms:Describe*",
                                    "kms:Encrypt*",
                                    "kms:GenerateDataKey*",
                                    "kms:ReEncrypt*",
                                ])
                                .resource("*")
                                .condition(
                                    "ArnEquals",
                                    "kms:EncryptionContext:aws:logs:arn",
                                    n.arn("logs", format!("log-group:{}", names.build_log_group())),
                                ),
                        ),
                ),
            Attributes::new().retain(),
        );
        let alias = t.add(
            "KeyAlias",
            kms::Alias::new(n.sub(names.kms_alias()), key.to_ref()),
        );
        StageKey { key, alias }
    }
}
