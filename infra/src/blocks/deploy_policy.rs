//! What CloudFormation may do when it creates, updates and deletes the service stack (the deploy
//! role's policy): each action on the resources of the stage where IAM lets it be scoped, roles only
//! under the stage's service prefix, passed only to EC2 and ECS tasks.

use cfn::fns::Sub;
use cfn::policy::{PolicyDocument, Statement};
use cfn::resources::iam;
use cfn::{Res, Template, Val};

use crate::naming::StageNames;

/// What the deploy policy names.
pub struct ServiceDeployPolicyProps {
    pub names: StageNames,
    pub role: Res<iam::Role>,
    /// The managed policies the service's roles may attach: the task execution role's...
    pub task_execution_policy: Res<iam::ManagedPolicy>,
    /// ...the container instances'...
    pub instance_policy: Res<iam::ManagedPolicy>,
    /// ...and ECS Exec's, for the task role.
    pub exec_policy: Res<iam::ManagedPolicy>,
}

#[derive(Clone, Copy)]
pub struct ServiceDeployPolicy {
    pub policy: Res<iam::Policy>,
}

impl ServiceDeployPolicy {
    pub fn add(t: &mut Template, props: ServiceDeployPolicyProps) -> ServiceDeployPolicy {
        let n = props.names;
        let names = n.names();
        let task_execution_policy = props.task_execution_policy;
        let instance_policy = props.instance_policy;
        let exec_policy = props.exec_policy;
        let role_prefix = n.iam_arn(format!("role/{}*", names.service_role_prefix()));
        let profile_prefix = n.iam_arn(format!("instance-profile/{}*", names.service_role_prefix()));
        let scoped = |service: &str| n.arn(service, "*");
        let policy = t.add(
            "DeployPolicy",
            iam::Policy::new(
                PolicyDocument::new()
                    // What the handlers read, and the calls IAM cannot scope: AWS accepts only "*" for
                    // these (the patterns are the handlers' own, as their schemas list them).
                    .statement(
                        Statement::allow()
                            .sid("Read")
                            .actions([
                                "application-autoscaling:DescribeScalableTargets",
                                "application-autoscaling:DescribeScalingActivities",
                                "application-autoscaling:DescribeScalingPolicies",
                                "application-autoscaling:DescribeScheduledActions",
                                "autoscaling:Describe*",
                                "cloudwatch:GetMetricData",
                                "ec2:Describe*",
                                "ec2:Get*",
                                "ecs:DescribeTaskDefinition",
                                "elasticloadbalancing:Describe*",
                                "logs:DescribeIndexPolicies",
                                "logs:DescribeLogGroups",
                                "logs:DescribeResourcePolicies",
                            ])
                            .resource("*"),
                    )
                    // Of what the handlers' `ec2:Describe*` and `ec2:Get*` grant account-wide, what
                    // reads secrets: Windows passwords, console output and screenshots, instances' user
                    // data. No handler of the service stack calls these.
                    .statement(
                        Statement::deny()
                            .sid("NoSecretsFromInstances")
                            .actions([
                                "ec2:DescribeInstanceAttribute",
                                "ec2:GetConsoleOutput",
                                "ec2:GetConsoleScreenshot",
                                "ec2:GetPasswordData",
                            ])
                            .resource("*"),
                    )
                    // Writes IAM cannot scope. The ECS account settings are the Cluster handler's.
                    .statement(
                        Statement::allow()
                            .sid("Unscoped")
                            .actions([
                                "ecs:DeregisterTaskDefinition",
                                "ecs:PutAccountSetting",
                                "ecs:PutAccountSettingDefault",
                                "logs:CreateLogDelivery",
                                "logs:DeleteIndexPolicy",
                                "logs:PutIndexPolicy",
                            ])
                            .resource("*"),
                    )
                    // The service's task definitions: its family only.
                    .statement(
                        Statement::allow()
                            .sid("TaskDefinitions")
                            .actions(["ecs:RegisterTaskDefinition"])
                            .resource(n.arn("ecs", format!("task-definition/{}:*", names.repository()))),
                    )
                    .statement(
                        Statement::allow()
                            .sid("Network")
                            .actions([
                                "ec2:AuthorizeSecurityGroupEgress",
                                "ec2:AuthorizeSecurityGroupIngress",
                                "ec2:CreateLaunchTemplate",
                                "ec2:CreateLaunchTemplateVersion",
                                "ec2:CreateSecurityGroup",
                                "ec2:CreateTags",
                                "ec2:DeleteTags",
                                "ec2:DeleteLaunchTemplate",
                                "ec2:DeleteLaunchTemplateVersions",
                                "ec2:DeleteSecurityGroup",
                                "ec2:ModifyLaunchTemplate",
                                "ec2:RevokeSecurityGroupEgress",
                                "ec2:RevokeSecurityGroupIngress",
                                "ec2:RunInstances",
                                "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
                                "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
                            ])
                            .resources([
                                scoped("ec2"),
                                // Public AMIs carry no account in their ARN.
                                Sub::new("arn:${AWS::Partition}:ec2:${AWS::Region}::image/*"),
                            ]),
                    )
                    .statement(
                        Statement::allow()
                            .sid("LoadBalancing")
                            .actions([
                                "elasticloadbalancing:AddTags",
                                "elasticloadbalancing:CreateListener",
                                "elasticloadbalancing:CreateLoadBalancer",
                                "elasticloadbalancing:CreateTargetGroup",
                                "elasticloadbalancing:DeleteListener",
                                "elasticloadbalancing:DeleteLoadBalancer",
                                "elasticloadbalancing:DeleteTargetGroup",
                                "elasticloadbalancing:DeregisterTargets",
                                "elasticloadbalancing:ModifyCapacityReservation",
                                "elasticloadbalancing:ModifyIpPools",
                                "elasticloadbalancing:ModifyListener",
                                "elasticloadbalancing:ModifyListenerAttributes",
                                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                                "elasticloadbalancing:ModifyTargetGroup",
                                "elasticloadbalancing:ModifyTargetGroupAttributes",
                                "elasticloadbalancing:RegisterTargets",
                                "elasticloadbalancing:RemoveTags",
                                "elasticloadbalancing:SetIpAddressType",
                                "elasticloadbalancing:SetSecurityGroups",
                                "elasticloadbalancing:SetSubnets",
                            ])
                            .resource(scoped("elasticloadbalancing")),
                    )
                    .statement(
                        Statement::allow()
                            .sid("Containers")
                            .actions([
                                "ecs:CreateCapacityProvider",
                                "ecs:CreateCluster",
                                "ecs:CreateService",
                                "ecs:DeleteCapacityProvider",
                                "ecs:DeleteCluster",
                                "ecs:DeleteService",
                                "ecs:DescribeCapacityProviders",
                                "ecs:DescribeClusters",
                                "ecs:DescribeServiceDeployments",
                                "ecs:DescribeServices",
                                "ecs:ListServiceDeployments",
                                "ecs:ListTagsForResource",
                                "ecs:PutClusterCapacityProviders",
                                "ecs:StopServiceDeployment",
                                "ecs:TagResource",
                                "ecs:UntagResource",
                                "ecs:UpdateCapacityProvider",
                                "ecs:UpdateCluster",
                                "ecs:UpdateClusterSettings",
                                "ecs:UpdateService",
                            ])
                            .resource(scoped("ecs")),
                    )
                    .statement(
                        Statement::allow()
                            .sid("Instances")
                            .actions([
                                "autoscaling:AttachLoadBalancerTargetGroups",
                                "autoscaling:AttachLoadBalancers",
                                "autoscaling:AttachTrafficSources",
                                "autoscaling:CancelInstanceRefresh",
                                "autoscaling:CreateAutoScalingGroup",
                                "autoscaling:CreateOrUpdateTags",
                                "autoscaling:DeleteAutoScalingGroup",
                                "autoscaling:DeleteLifecycleHook",
                                "autoscaling:DeleteNotificationConfiguration",
                                "autoscaling:DeleteTags",
                                "autoscaling:DetachLoadBalancerTargetGroups",
                                "autoscaling:DetachLoadBalancers",
                                "autoscaling:DetachTrafficSources",
                                "autoscaling:DisableMetricsCollection",
                                "autoscaling:EnableMetricsCollection",
                                "autoscaling:PutLifecycleHook",
                                "autoscaling:PutNotificationConfiguration",
                                "autoscaling:ResumeProcesses",
                                "autoscaling:SetDesiredCapacity",
                                "autoscaling:StartInstanceRefresh",
                                "autoscaling:SuspendProcesses",
                                "autoscaling:TerminateInstanceInAutoScalingGroup",
                                "autoscaling:UpdateAutoScalingGroup",
                            ])
                            .resource(scoped("autoscaling")),
                    )
                    // Service auto scaling and the rollback alarms, on the stage's own.
                    .statement(
                        Statement::allow()
                            .sid("ServiceScaling")
                            .actions([
                                "application-autoscaling:DeleteScalingPolicy",
                                "application-autoscaling:DeleteScheduledAction",
                                "application-autoscaling:DeregisterScalableTarget",
                                "application-autoscaling:PutScalingPolicy",
                                "application-autoscaling:PutScheduledAction",
                                "application-autoscaling:RegisterScalableTarget",
                                "application-autoscaling:TagResource",
                            ])
                            .resource(scoped("application-autoscaling")),
                    )
                    .statement(
                        Statement::allow()
                            .sid("Alarms")
                            .actions([
                                "cloudwatch:DeleteAlarms",
                                "cloudwatch:DescribeAlarms",
                                "cloudwatch:PutMetricAlarm",
                                "cloudwatch:TagResource",
                                "cloudwatch:UntagResource",
                            ])
                            .resource(scoped("cloudwatch")),
                    )
                    .statement(
                        Statement::allow()
                            .sid("Logs")
                            .actions([
                                "logs:AssociateKmsKey",
                                "logs:CreateLogGroup",
                                "logs:DeleteDataProtectionPolicy",
                                "logs:DeleteLogGroup",
                                "logs:DeleteRetentionPolicy",
                                "logs:DisassociateKmsKey",
                                "logs:GetDataProtectionPolicy",
                                "logs:ListTagsForResource",
                                "logs:PutBearerTokenAuthentication",
                                "logs:PutDataProtectionPolicy",
                                "logs:PutLogGroupDeletionProtection",
                                "logs:PutRetentionPolicy",
                                "logs:TagResource",
                                "logs:UntagResource",
                            ])
                            .resource(n.arn("logs", format!("log-group:{}*", names.log_group()))),
                    )
                    .statement(
                        Statement::allow()
                            .sid("AmiParameter")
                            .actions(["ssm:Get*"])
                            .resource(Sub::new("arn:${AWS::Partition}:ssm:${AWS::Region}::parameter/aws/service/ecs/*")),
                    )
                    // The service's roles: only names with the stage's service prefix, only the allow-listed
                    // policies, no inline policies, passed only to EC2 and ECS tasks.
                    .statement(
                        Statement::allow()
                            .sid("ServiceRoles")
                            .actions([
                                "iam:CreateRole",
                                "iam:DeleteRole",
                                "iam:DeleteRolePolicy",
                                "iam:GetRole",
                                "iam:GetRolePolicy",
                                "iam:ListAttachedRolePolicies",
                                "iam:ListRolePolicies",
                                "iam:TagRole",
                                "iam:UntagRole",
                                "iam:UpdateAssumeRolePolicy",
                                "iam:UpdateRole",
                                "iam:UpdateRoleDescription",
                            ])
                            .resource(role_prefix.clone()),
                    )
                    .statement(
                        Statement::allow()
                            .sid("ServiceRolePolicies")
                            .actions(["iam:AttachRolePolicy", "iam:DetachRolePolicy"])
                            .resource(role_prefix.clone())
                            .condition_any(
                                "ArnEquals",
                                "iam:PolicyARN",
                                [
                                    Val::from(Sub::new(
                                        "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
                                    )),
                                    Sub::new("arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore").into(),
                                    task_execution_policy.to_ref(),
                                instance_policy.to_ref(),
                                exec_policy.to_ref(),
                                ],
                            ),
                    )
                    .statement(
                        Statement::allow()
                            .sid("InstanceProfiles")
                            .actions([
                                "iam:AddRoleToInstanceProfile",
                                "iam:CreateInstanceProfile",
                                "iam:DeleteInstanceProfile",
                                "iam:GetInstanceProfile",
                                "iam:RemoveRoleFromInstanceProfile",
                                "iam:TagInstanceProfile",
                                "iam:UntagInstanceProfile",
                            ])
                            .resource(profile_prefix),
                    )
                    .statement(
                        Statement::allow()
                            .sid("PassServiceRoles")
                            .actions(["iam:PassRole"])
                            .resource(role_prefix)
                            .condition_any("StringEquals", "iam:PassedToService", ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"]),
                    )
                    // Reads and writes the handlers list for features berth does not use (a cluster's
                    // managed-storage key, Cognito listener actions, Lambda and VPC Lattice scaling
                    // targets, Firehose log deliveries): granted on the stage's names or read-only, so
                    // that a handler that looks never fails, and nothing else is reachable.
                    .statement(
                        Statement::allow()
                            .sid("UnusedFeatures")
                            .actions([
                                "cognito-idp:DescribeUserPoolClient",
                                "kms:DescribeKey",
                                "vpc-lattice:GetTargetGroup",
                                "vpc-lattice:ListTargets",
                            ])
                            .resources([
                                Val::from(n.arn("cognito-idp", "userpool/*")),
                                n.arn("kms", "key/*").into(),
                                n.arn("vpc-lattice", "targetgroup/*").into(),
                            ]),
                    )
                    .statement(
                        Statement::allow()
                            .sid("UnusedFeatureWrites")
                            .actions([
                                "firehose:TagDeliveryStream",
                                "lambda:DeleteProvisionedConcurrencyConfig",
                                "lambda:GetProvisionedConcurrencyConfig",
                                "lambda:PutProvisionedConcurrencyConfig",
                                "vpc-lattice:DeregisterTargets",
                                "vpc-lattice:RegisterTargets",
                            ])
                            .resources([
                                Val::from(n.arn("firehose", format!("deliverystream/{}-*", names.repository()))),
                                n.arn("lambda", format!("function:{}-*", names.repository())).into(),
                                n.arn("vpc-lattice", format!("targetgroup/{}-*", names.repository())).into(),
                            ]),
                    )
                    .statement(
                        Statement::allow()
                            .sid("ServiceLinkedRoles")
                            .actions(["iam:CreateServiceLinkedRole"])
                            .resource(Sub::new("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/*"))
                            .condition_any(
                                "StringEquals",
                                "iam:AWSServiceName",
                                [
                                    "autoscaling.amazonaws.com",
                                    "ecs.amazonaws.com",
                                    "ecs.application-autoscaling.amazonaws.com",
                                    "elasticloadbalancing.amazonaws.com",
                                ],
                            ),
                    ),
                "deploy-service-stack",
            )
            .roles(vec![props.role.to_ref()]),
        );
        ServiceDeployPolicy { policy }
    }
}
