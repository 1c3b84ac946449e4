//! The ECS cluster and its container instances: an Auto Scaling group from a launch template (a
//! pinned ECS-optimized AMI, a gp3 encrypted root volume, IMDSv2, Session Manager instead of SSH) whose
//! instances join the cluster and tell CloudFormation, with `cfn-signal`, once the ECS agent has
//! registered them, or at once why not; and the ECS capacity provider that manages the group.
//!
//! The capacity provider is what keeps tasks alive when instances go. ECS scales the group between
//! its min and max to fit the tasks (managed scaling), protects instances that run tasks from scale-in
//! (managed termination protection), and before any instance terminates, for whatever reason (a
//! scale-in, a health replacement, a rebalance, a rolling update), moves its tasks off through the
//! group's termination lifecycle hook (managed draining). A change to the launch template (AMI,
//! instance type, volume) replaces instances one at a time: a new instance first, gated by its
//! signal, then an old one drained and terminated (`AutoScalingRollingUpdate`; ARCHITECTURE.md says
//! why this mechanism).

use cfn::fns::{self, Sub, if_};
use cfn::params::{Integer, Str, aws};
use cfn::resources::{autoscaling, ec2, ecs, iam};
use cfn::{
    Attributes, Cond, CreationPolicy, IsoDuration, Param, Res, RollingUpdate, Template, UpdatePolicy, Val,
    pseudo,
};

use crate::naming::{StageNames, trusting};

/// How long CloudFormation waits for an instance's signal (creation, and each step of a replacement).
pub const SIGNAL_TIMEOUT: IsoDuration = IsoDuration::minutes(15);

/// Instances a rolling replacement starts at a time.
pub const REPLACEMENT_BATCH: u32 = 1;

/// The Auto Scaling processes a rolling replacement suspends: none that would replace or move
/// instances behind its back. `AlarmNotification` stays on: ECS's managed scaling acts through it, and
/// tasks moved off a draining instance may need the capacity it adds.
pub const SUSPENDED_DURING_REPLACEMENT: &[&str] = &[
    "AZRebalance",
    "HealthCheck",
    "ReplaceUnhealthy",
    "ScheduledActions",
];

/// The utilization ECS's managed scaling keeps the group at, in percent of the tasks' reservations.
pub const TARGET_CAPACITY_PERCENT: u32 = 100;

/// Seconds a new instance is given before its metrics count for managed scaling.
pub const INSTANCE_WARMUP_SECONDS: u32 = 300;

/// What the container instances need.
pub struct ContainerInstancesProps {
    pub names: StageNames,
    pub subnets: Param<aws::SubnetIds>,
    /// Give the instances public IPs (an account without NAT).
    pub public_ip: Cond,
    /// The group the instances wear (the load balancer's targets' group).
    pub security_group: Res<ec2::SecurityGroup>,
    /// The AMI to start instances from.
    pub image_id: Val<String>,
    pub instance_type: Param<Str>,
    pub root_volume_gib: Param<Integer>,
    pub min_size: Param<Integer>,
    pub max_size: Param<Integer>,
}

/// The cluster, the instances that serve it, and the capacity provider through which tasks reach them.
#[derive(Clone, Copy)]
pub struct ContainerInstances {
    pub cluster: Res<ecs::Cluster>,
    pub role: Res<iam::Role>,
    pub launch_template: Res<ec2::LaunchTemplate>,
    pub group: Res<autoscaling::AutoScalingGroup>,
    pub capacity_provider: Res<ecs::CapacityProvider>,
    /// The cluster's capacity providers and default strategy: a service placed through the capacity
    /// provider depends on it (created after it, deleted before it).
    pub association: Res<ecs::ClusterCapacityProviderAssociations>,
}

impl ContainerInstances {
    pub fn add(t: &mut Template, props: ContainerInstancesProps) -> ContainerInstances {
        let names = props.names.names();
        let cluster = t.add(
            "Cluster",
            ecs::Cluster::new().cluster_settings(vec![
                ecs::cluster::ClusterSettings::new()
                    .name("containerInsights")
                    .value("enabled"),
            ]),
        );
        let role = t.add(
            "InstanceRole",
            iam::Role::new(trusting("ec2.amazonaws.com"))
                .role_name(props.names.sub(names.instance_role()))
                .description("ECS container instances: join the cluster, run tasks; Session Manager instead of SSH")
                .managed_policy_arns(vec![
                    Val::<String>::from(Sub::new(
                        "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
                    )),
                    Sub::new("arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore").into(),
                    // The pipeline stack's policy, by its contract name: cfn-signal needs no credentials,
                    // the fallback when it could not be installed (the AWS CLI) does.
                    props.names.iam_arn(format!("policy/{}", names.instance_policy())).into(),
                ]),
        );
        let profile = t.add(
            "InstanceProfile",
            iam::InstanceProfile::new(vec![role.to_ref()])
                .instance_profile_name(props.names.sub(names.instance_role())),
        );
        // Declared now, defined below: the instances' UserData names the group in its signals.
        let group = t.declare::<autoscaling::AutoScalingGroup>("AutoScalingGroup");
        let groups = vec![props.security_group.group_id()];
        let launch_template = t.add(
            "LaunchTemplate",
            ec2::LaunchTemplate::new(
                ec2::launch_template::LaunchTemplateData::new()
                    .image_id(props.image_id)
                    .instance_type(props.instance_type)
                    .iam_instance_profile(ec2::launch_template::IamInstanceProfile::new().arn(profile.arn()))
                    // With a public IP the groups go on the network interface that asks for it.
                    .security_group_ids(if_(props.public_ip, pseudo::no_value(), groups.clone()))
                    .network_interfaces(if_(
                        props.public_ip,
                        vec![
                            ec2::launch_template::NetworkInterface::new()
                                .device_index(0)
                                .associate_public_ip_address(true)
                                .groups(groups),
                        ],
                        pseudo::no_value(),
                    ))
                    .metadata_options(
                        ec2::launch_template::MetadataOptions::new()
                            .http_tokens(ec2::launch_template::HttpTokens::Required)
                            .http_endpoint(ec2::launch_template::HttpEndpoint::Enabled)
                            .http_put_response_hop_limit(1),
                    )
                    .block_device_mappings(vec![
                        ec2::launch_template::BlockDeviceMapping::new()
                            .device_name("/dev/xvda")
                            .ebs(
                                // The seed's trap: the AMI's default volume type was magnetic. Always say it.
                                ec2::launch_template::Ebs::new()
                                    .volume_type(ec2::launch_template::VolumeType::Gp3)
                                    .volume_size(props.root_volume_gib)
                                    .encrypted(true)
                                    .delete_on_termination(true),
                            ),
                    ])
                    .monitoring(ec2::launch_template::Monitoring::new().enabled(true))
                    .user_data(fns::base64(user_data(cluster.to_ref(), group.logical_name()))),
            ),
        );
        let mut rolling = RollingUpdate::new()
            .max_batch_size(REPLACEMENT_BATCH)
            // As many in service as the group's minimum: the replacement adds each new instance
            // before an old one goes.
            .min_instances_in_service(props.min_size)
            .pause_time(SIGNAL_TIMEOUT)
            .wait_on_resource_signals(true);
        for process in SUSPENDED_DURING_REPLACEMENT {
            rolling = rolling.suspend_process(process);
        }
        t.define(
            group,
            autoscaling::AutoScalingGroup::new(
                props.max_size.to_ref().into_string(),
                props.min_size.to_ref().into_string(),
            )
            // No DesiredCapacity: ECS's managed scaling sets it, and a template value would be put back
            // by every stack update.
            .vpc_zone_identifier(props.subnets)
            .launch_template(
                autoscaling::auto_scaling_group::LaunchTemplateSpecification::new(
                    launch_template.latest_version_number(),
                )
                .launch_template_id(launch_template.to_ref()),
            )
            .health_check_type("EC2")
            // Managed termination protection: ECS lifts the protection of instances it empties.
            .new_instances_protected_from_scale_in(true)
            .tags(vec![autoscaling::auto_scaling_group::TagProperty::new(
                "Name",
                true,
                props.names.sub("${AppName}-${StageName}-ecs"),
            )]),
            Attributes::new()
                // Wait for the signal of every instance the group starts with...
                .creation_policy(CreationPolicy::signals(props.min_size, SIGNAL_TIMEOUT))
                // ...and replace instances one at a time, each new one gated by its signal.
                .update_policy(UpdatePolicy::rolling_update(rolling))
                .metadata(
                    "berth-lint",
                    crate::naming::lint_suppressions(&[(
                        "BL309",
                        "the SSM parameter is the AMI only when a stage opts in (instances.ami_parameter, off by \
                         default: the AMI is pinned); then diff and deploy say INSTANCES ARE REPLACED, and the \
                         rolling update drains one instance at a time",
                    )]),
                ),
        );
        let capacity_provider = t.add(
            "CapacityProvider",
            ecs::CapacityProvider::new().auto_scaling_group_provider(
                ecs::capacity_provider::AutoScalingGroupProvider::new(group.to_ref())
                    .managed_scaling(
                        ecs::capacity_provider::ManagedScaling::new()
                            .status(ecs::capacity_provider::Status::Enabled)
                            .target_capacity(TARGET_CAPACITY_PERCENT)
                            .minimum_scaling_step_size(1)
                            .maximum_scaling_step_size(10)
                            .instance_warmup_period(INSTANCE_WARMUP_SECONDS),
                    )
                    .managed_termination_protection(
                        ecs::capacity_provider::ManagedTerminationProtection::Enabled,
                    )
                    .managed_draining(ecs::capacity_provider::ManagedDraining::Enabled),
            ),
        );
        let association = t.add(
            "CapacityProviderAssociation",
            ecs::ClusterCapacityProviderAssociations::new(
                cluster.to_ref(),
                vec![
                    ecs::cluster_capacity_provider_associations::CapacityProviderStrategy::new(
                        capacity_provider.to_ref(),
                    )
                    .weight(1),
                ],
            )
            .capacity_providers(vec![capacity_provider.to_ref()]),
        );
        ContainerInstances {
            cluster,
            role,
            launch_template,
            group,
            capacity_provider,
            association,
        }
    }
}

/// The container instances' UserData: join the cluster, then tell CloudFormation the instance is
/// ready, or at once why it is not.
///
/// Every step runs under `set -Eeuo pipefail` with an `ERR` trap that sends a failure signal naming
/// the step, so a failure fails the stack in minutes with its cause in the stack's events (the reason
/// rides in the signal's unique ID, which CloudFormation shows), never after the whole timeout.
/// The trap is set before any step that can fail (the signal is a shell function until it is also
/// written as a command for the unit below). `cfn-signal` is installed first; if that install fails,
/// the signal goes through the AWS CLI. The ECS agent starts only after cloud-init has finished (its
/// unit runs after `cloud-final`), so waiting for it inside UserData would deadlock: the
/// wait-then-signal runs as its own systemd unit, and signals failure if the agent has not registered
/// within ten minutes. `infra/tests/user_data.rs` runs the script with stubs.
fn user_data(cluster: Val<String>, group: Val<String>) -> Sub {
    Sub::new(
        r#"#!/bin/bash
set -Eeuo pipefail
# berth_signal SUCCESS|FAILURE [REASON]: answer the group's creation or update policy for this instance.
# A failure's reason rides in the signal's unique ID, which CloudFormation shows in the stack's events.
berth_signal() {
  local token id success=false
  token=$(curl -sf -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token)
  id=$(curl -sf -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id)
  if [ $# -gt 1 ]; then
    id=$(printf '%s %s' "$id" "$2" | tr -c 'A-Za-z0-9_.:=+@-' '-' | cut -c1-64)
  fi
  if [ -x /opt/aws/bin/cfn-signal ]; then
    if [ "$1" = SUCCESS ]; then success=true; fi
    /opt/aws/bin/cfn-signal --success "$success" --id "$id" --stack ${AWS::StackName} --resource ${Group} --region ${AWS::Region}
  else
    aws cloudformation signal-resource --stack-name ${AWS::StackName} --logical-resource-id ${Group} --unique-id "$id" --status "$1" --region ${AWS::Region}
  fi
}
# Before the first step that can fail: from here on every failure is signalled, naming its line.
trap 'berth_signal FAILURE "UserData line $LINENO: $BASH_COMMAND" || true' ERR
# The same function as a command, for the readiness unit below.
{ echo '#!/bin/bash'; declare -f berth_signal; echo 'berth_signal "$@"'; } > /usr/local/bin/berth-signal
chmod 755 /usr/local/bin/berth-signal
dnf install -y aws-cfn-bootstrap
cat >> /etc/ecs/ecs.config <<'CONFIG'
ECS_CLUSTER=${Cluster}
ECS_ENABLE_CONTAINER_METADATA=true
CONFIG
cat > /usr/local/bin/berth-ready <<'READY'
#!/bin/bash
# Ready = the ECS agent has registered this instance with the cluster.
for attempt in $(seq 120); do
  if curl -sf http://localhost:51678/v1/metadata | grep -q ContainerInstanceArn; then
    exec /usr/local/bin/berth-signal SUCCESS
  fi
  sleep 5
done
exec /usr/local/bin/berth-signal FAILURE "ECS agent not registered after 10 minutes"
READY
chmod 755 /usr/local/bin/berth-ready
systemd-run --unit berth-ready --no-block /usr/local/bin/berth-ready
"#,
    )
    .var("Cluster", cluster)
    .var("Group", group)
}
