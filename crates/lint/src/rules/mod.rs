//! The rules, by area. Codes are stable: a code is never reused for another check.

mod ecs;
mod iam;
mod instances;
mod network;
mod pipeline;
mod star_only;

use crate::template::Template;
use crate::{Finding, Rule, Severity};

macro_rules! rule {
    ($name:ident, $code:literal, $sev:ident, $summary:literal, $hint:literal) => {
        pub const $name: Rule = Rule {
            code: $code,
            severity: Severity::$sev,
            summary: $summary,
            hint: $hint,
        };
    };
}

// The files themselves.
rule!(
    PARSE_ERROR,
    "BL001",
    Error,
    "the file does not parse (a duplicated key, a broken tag, bad indentation)",
    "fix the file at the line and column given; a key may appear once per mapping"
);
rule!(
    SUPPRESSION_WITHOUT_REASON,
    "BL002",
    Error,
    "a suppression without a written reason",
    "give every `berth-lint` entry in Metadata a `reason:` that says why the rule does not apply here"
);
rule!(
    UNKNOWN_SUPPRESSION,
    "BL003",
    Warning,
    "a suppression of a rule that does not exist",
    "check the code against `cargo xtask lint --rules`"
);

// Security groups.
rule!(
    PORT_RANGE_INVERTED,
    "BL101",
    Error,
    "a security group rule whose FromPort is above its ToPort",
    "swap FromPort and ToPort (a single port has FromPort = ToPort)"
);
rule!(
    OPEN_TO_THE_WORLD,
    "BL102",
    Error,
    "a port other than 443 (or 80 for a redirect) open to 0.0.0.0/0 or ::/0",
    "open only 443 to the world, and 80 only with a listener that redirects to HTTPS; reach anything else through the load balancer or SSM"
);
rule!(
    INSTANCES_WIDER_THAN_ALB,
    "BL103",
    Error,
    "the instances' group admits more than the dynamic host ports from the load balancer's group (ECS), or every port from any other group",
    "admit tcp 32768-65535 (the ECS dynamic host ports) from the load balancer's group, nothing else; from any other group, only the ports the instances serve on"
);

// ECS.
rule!(
    HOST_PORT_ZERO_WITHOUT_BRIDGE,
    "BL201",
    Error,
    "HostPort 0 (a dynamic host port) outside bridge network mode",
    "dynamic host ports exist in bridge mode only: set NetworkMode: bridge, or in awsvpc/host mode give HostPort = ContainerPort"
);
rule!(
    HEALTH_CHECK_NOT_TRAFFIC_PORT,
    "BL202",
    Error,
    "tasks on dynamic host ports behind a target group whose health check has a fixed port",
    "set HealthCheckPort: traffic-port (the default), so that each target is checked on its own port"
);
rule!(
    IP_TARGETS_WITH_BRIDGE,
    "BL203",
    Error,
    "a target group of TargetType ip in front of bridge-mode tasks",
    "bridge-mode tasks register as instances: use TargetType: instance (or awsvpc mode with ip targets)"
);
rule!(
    SERVICE_NOT_SPREAD,
    "BL204",
    Warning,
    "an EC2 service that can run several tasks without a spread placement strategy",
    "add PlacementStrategies spread over attribute:ecs.availability-zone, then instanceId, or ECS may pack every task onto one instance"
);
rule!(
    CONTAINER_WITHOUT_MEMORY,
    "BL205",
    Error,
    "a container on EC2 without Memory or MemoryReservation",
    "give the container Memory (a hard limit) or MemoryReservation (a soft one): ECS places tasks on EC2 by it"
);

// Instances.
rule!(
    USER_DATA_NOT_BASE64,
    "BL301",
    Error,
    "UserData that is not Base64-encoded",
    "wrap it: UserData: !Base64 (or Fn::Base64 with Fn::Sub inside)"
);
rule!(
    SIGNALS_MISMATCH,
    "BL302",
    Error,
    "a CreationPolicy waiting for signals that UserData never sends, or UserData signalling a resource that does not wait",
    "run /opt/aws/bin/cfn-signal --resource <the group> at the end of UserData, and give that group a CreationPolicy with ResourceSignal"
);
rule!(
    TIMEOUT_NOT_ISO8601,
    "BL303",
    Error,
    "a signal timeout or pause time that is not an ISO-8601 duration",
    "write durations as PT#H#M#S, e.g. PT15M"
);
rule!(
    SIGNAL_COUNT_ABOVE_CAPACITY,
    "BL304",
    Error,
    "a ResourceSignal Count above the group's desired capacity",
    "wait for at most as many signals as instances start (Count <= DesiredCapacity), or the creation times out"
);
rule!(
    EBS_WITHOUT_VOLUME_TYPE,
    "BL305",
    Warning,
    "an EBS volume without an explicit VolumeType",
    "set VolumeType (gp3): the default depends on the AMI and has been gp2"
);
rule!(
    LAUNCH_CONFIGURATION,
    "BL306",
    Error,
    "an AWS::AutoScaling::LaunchConfiguration",
    "use an AWS::EC2::LaunchTemplate: new accounts cannot create launch configurations"
);
rule!(
    IMDSV2_NOT_REQUIRED,
    "BL307",
    Error,
    "instances that do not require IMDSv2",
    "set MetadataOptions: {HttpTokens: required} in the launch template"
);
rule!(
    ECS_INSTANCES_NOT_DRAINED,
    "BL308",
    Error,
    "an Auto Scaling group of ECS container instances replaced or scaled without draining its tasks",
    "manage the group with an AWS::ECS::CapacityProvider (ManagedDraining: ENABLED, managed scaling and termination protection) and replace instances with AutoScalingRollingUpdate (WaitOnResourceSignals) or an instance refresh, never AutoScalingReplacingUpdate"
);
rule!(
    SSM_AMI_ON_REPLACED_GROUP,
    "BL309",
    Error,
    "an AMI from an SSM-typed parameter on a group that replaces its instances on update",
    "pin the AMI ID in the template's parameter values and change it as a reviewed commit (cargo xtask ami --write); CloudFormation resolves an SSM parameter again on every update"
);
rule!(
    USER_DATA_EXITS_WITHOUT_SIGNAL,
    "BL310",
    Error,
    "UserData under `set -e` that signals success but can exit without signalling failure",
    "add `trap '<signal failure with a reason>' ERR` before the first step that can fail, so the stack fails at once with the cause instead of after the whole signal timeout"
);
rule!(
    INSTANCES_IN_LOAD_BALANCER_SUBNETS,
    "BL311",
    Warning,
    "instances in the subnets of an internet-facing load balancer (public subnets) without a stated reason",
    "give the instances private subnets (a NAT gateway or VPC endpoints); for an account without NAT, give them public IPs and suppress this with the reason"
);

// KMS and IAM.
rule!(
    KEY_WITHOUT_ADMINISTRATOR,
    "BL401",
    Error,
    "a KMS key policy that lets nobody administer the key (neither the account nor an administrator principal)",
    "allow kms:* to the account root (arn:${AWS::Partition}:iam::${AWS::AccountId}:root), or the key-administration actions (kms:Create*, Describe*, Enable*, List*, Put*, Update*, Revoke*, Disable*, Get*, Delete*, ScheduleKeyDeletion, CancelKeyDeletion) to an administrator role: KMS refuses a policy that locks its caller out"
);
rule!(
    KEY_WILDCARD_PRINCIPAL,
    "BL402",
    Error,
    "a KMS key policy allowing a wildcard principal without a condition",
    "name the principals (roles, the account) instead of \"*\", or restrict \"*\" with a Condition"
);
rule!(
    ACTION_WILDCARD,
    "BL403",
    Error,
    "a policy statement allowing Action \"*\"",
    "list the actions the principal needs"
);
rule!(
    RESOURCE_WILDCARD,
    "BL404",
    Error,
    "a policy statement allowing Resource \"*\" for actions that support resource-level permissions",
    "name the resources (ARNs); \"*\" is accepted only for actions AWS does not scope (ecr:GetAuthorizationToken, Describe*, ...)"
);
rule!(
    NAME_WHERE_ARN_REQUIRED,
    "BL405",
    Error,
    "a name (or a Ref that returns one) where the property takes an ARN",
    "use !GetAtt <Resource>.Arn: Ref of a role, instance profile, log group or bucket returns its name"
);

// CodePipeline.
rule!(
    UNKNOWN_ACTION_MODE,
    "BL501",
    Error,
    "a CloudFormation deploy action with an unknown ActionMode",
    "use one of CHANGE_SET_REPLACE, CHANGE_SET_EXECUTE, CREATE_UPDATE, DELETE_ONLY, REPLACE_ON_FAILURE"
);
rule!(
    UNKNOWN_PROVIDER,
    "BL502",
    Error,
    "an AWS-owned action with a Provider its category does not have",
    "check the Category/Provider pair (e.g. Source/CodeStarSourceConnection, Build/CodeBuild, Deploy/CloudFormation)"
);
rule!(
    SOURCE_WITHOUT_CONNECTION,
    "BL503",
    Error,
    "a source action without its connection (or token)",
    "give a CodeStarSourceConnection action its ConnectionArn (a CodeConnections connection authorised in the console)"
);
rule!(
    ARTIFACT_NOT_AN_INPUT,
    "BL504",
    Error,
    "TemplatePath, TemplateConfiguration or Fn::GetParam naming an artifact that is not an input of the action",
    "add the artifact to the action's InputArtifacts, or name one that is there"
);
rule!(
    ARTIFACT_NOT_PRODUCED,
    "BL505",
    Error,
    "an input artifact that no earlier action outputs",
    "name an OutputArtifacts of an action in an earlier stage (or earlier RunOrder)"
);
rule!(
    DUPLICATE_ARTIFACT,
    "BL506",
    Error,
    "two actions output artifacts of the same name",
    "give every output artifact of the pipeline its own name"
);
rule!(
    SOURCES_NOT_BOTH,
    "BL507",
    Warning,
    "a pipeline with one of berth's two sources (the app's and the infra's) but not the other",
    "add source actions whose outputs are the contract's artifacts (pipeline_model::artifacts: AppSource, InfraSource)"
);
rule!(
    APPROVAL_BEFORE_CHANGE_SET,
    "BL508",
    Error,
    "a manual approval that runs before the change set it guards exists",
    "create the change set first (CHANGE_SET_REPLACE), then approve, then execute (CHANGE_SET_EXECUTE): give the approval a RunOrder between the two, so the approver sees what will change"
);

// Buildspecs.
rule!(
    SECRET_AS_BUILD_ARG,
    "BL601",
    Error,
    "a secret passed to docker build with --build-arg",
    "a build argument is kept in the image's history: pass secrets with docker build --secret id=...,env=NAME and RUN --mount=type=secret"
);
rule!(
    BUILD_JSON_SHAPE,
    "BL602",
    Error,
    "build.json written in a shape other than the contract's",
    "write exactly {\"tag\": \"<image tag>\"} (pipeline_model::build_output) and list build.json in artifacts.files"
);

pub const ALL: &[Rule] = &[
    PARSE_ERROR,
    SUPPRESSION_WITHOUT_REASON,
    UNKNOWN_SUPPRESSION,
    PORT_RANGE_INVERTED,
    OPEN_TO_THE_WORLD,
    INSTANCES_WIDER_THAN_ALB,
    HOST_PORT_ZERO_WITHOUT_BRIDGE,
    HEALTH_CHECK_NOT_TRAFFIC_PORT,
    IP_TARGETS_WITH_BRIDGE,
    SERVICE_NOT_SPREAD,
    CONTAINER_WITHOUT_MEMORY,
    USER_DATA_NOT_BASE64,
    SIGNALS_MISMATCH,
    TIMEOUT_NOT_ISO8601,
    SIGNAL_COUNT_ABOVE_CAPACITY,
    EBS_WITHOUT_VOLUME_TYPE,
    LAUNCH_CONFIGURATION,
    IMDSV2_NOT_REQUIRED,
    ECS_INSTANCES_NOT_DRAINED,
    SSM_AMI_ON_REPLACED_GROUP,
    USER_DATA_EXITS_WITHOUT_SIGNAL,
    INSTANCES_IN_LOAD_BALANCER_SUBNETS,
    KEY_WITHOUT_ADMINISTRATOR,
    KEY_WILDCARD_PRINCIPAL,
    ACTION_WILDCARD,
    RESOURCE_WILDCARD,
    NAME_WHERE_ARN_REQUIRED,
    UNKNOWN_ACTION_MODE,
    UNKNOWN_PROVIDER,
    SOURCE_WITHOUT_CONNECTION,
    ARTIFACT_NOT_AN_INPUT,
    ARTIFACT_NOT_PRODUCED,
    DUPLICATE_ARTIFACT,
    SOURCES_NOT_BOTH,
    APPROVAL_BEFORE_CHANGE_SET,
    SECRET_AS_BUILD_ARG,
    BUILD_JSON_SHAPE,
];

/// Runs every template rule.
pub fn run(t: &Template<'_>, out: &mut Vec<Finding>) {
    network::check(t, out);
    ecs::check(t, out);
    instances::check(t, out);
    iam::check(t, out);
    pipeline::check(t, out);
}

#[cfg(test)]
mod tests {
    use super::ALL;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut codes: Vec<&str> = ALL.iter().map(|r| r.code).collect();
        codes.sort_unstable();
        let n = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), n, "a code is used twice");
        for r in ALL {
            assert!(r.code.len() == 5 && r.code.starts_with("BL"), "{}", r.code);
            assert!(!r.summary.is_empty() && !r.hint.is_empty(), "{}", r.code);
        }
    }
}
