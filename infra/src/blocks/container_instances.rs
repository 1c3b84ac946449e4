//! The ECS cluster and its container instances: an Auto Scaling group from a launch template (the
//! ECS-optimized AMI, a gp3 encrypted root volume, IMDSv2, Session Manager instead of SSH) whose
//! instances join the cluster and tell CloudFormation, with `cfn-signal`, once the ECS agent has
//! registered them.

use cfn::fns::{self, Sub};
use cfn::params::{Integer, SsmValue, Str, aws};
use cfn::resources::{autoscaling, ec2, ecs, iam};
use cfn::{Attributes, CreationPolicy, IsoDuration, Param, Res, Template, UpdatePolicy};

use crate::naming::{StageNames, trusting};

/// How long CloudFormation waits for the instances' signals.
pub const SIGNAL_TIMEOUT: IsoDuration = IsoDuration::minutes(15);

/// What the container instances need.
pub struct ContainerInstancesProps {
    pub names: StageNames,
    pub subnets: Param<aws::SubnetIds>,
    /// The group the instances wear (the load balancer's targets' group).
    pub security_group: Res<ec2::SecurityGroup>,
    pub ami: Param<SsmValue<aws::ImageId>>,
    pub instance_type: Param<Str>,
    pub root_volume_gib: Param<Integer>,
    pub min_size: Param<Integer>,
    pub desired_capacity: Param<Integer>,
    pub max_size: Param<Integer>,
}

/// The cluster and the instances that serve it.
#[derive(Clone, Copy)]
pub struct ContainerInstances {
    pub cluster: Res<ecs::Cluster>,
    pub role: Res<iam::Role>,
    pub launch_template: Res<ec2::LaunchTemplate>,
    pub group: Res<autoscaling::AutoScalingGroup>,
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
            .description(
                "ECS container instances: join the cluster, run tasks; Session Manager instead of SSH",
            )
            .managed_policy_arns(vec![
                Sub::new(
                    "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
                ),
                Sub::new("arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"),
            ]),
        );
        let profile = t.add(
            "InstanceProfile",
            iam::InstanceProfile::new(vec![role.to_ref()])
                .instance_profile_name(props.names.sub(names.instance_role())),
        );
        // Declared now, defined below: the instances' UserData names the group in `cfn-signal`.
        let group = t.declare::<autoscaling::AutoScalingGroup>("AutoScalingGroup");
        let launch_template = t.add(
            "LaunchTemplate",
            ec2::LaunchTemplate::new(
                ec2::launch_template::LaunchTemplateData::new()
                    .image_id(props.ami)
                    .instance_type(props.instance_type)
                    .iam_instance_profile(ec2::launch_template::IamInstanceProfile::new().arn(profile.arn()))
                    .security_group_ids(vec![props.security_group.group_id()])
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
        t.define(
            group,
            autoscaling::AutoScalingGroup::new(
                props.max_size.to_ref().into_string(),
                props.min_size.to_ref().into_string(),
            )
            .desired_capacity(props.desired_capacity.to_ref().into_string())
            .vpc_zone_identifier(props.subnets)
            .launch_template(
                autoscaling::auto_scaling_group::LaunchTemplateSpecification::new(
                    launch_template.latest_version_number(),
                )
                .launch_template_id(launch_template.to_ref()),
            )
            .health_check_type("EC2")
            .tags(vec![autoscaling::auto_scaling_group::TagProperty::new(
                "Name",
                true,
                props.names.sub("${AppName}-${StageName}-ecs"),
            )]),
            Attributes::new()
                // Wait for every instance of the group to report ready...
                .creation_policy(CreationPolicy::signals(props.desired_capacity, SIGNAL_TIMEOUT))
                // ...and on a change that replaces instances, build a whole new group first and keep the
                // old one until the new one has signalled.
                .update_policy(UpdatePolicy::replacing_update(true)),
        );
        ContainerInstances {
            cluster,
            role,
            launch_template,
            group,
        }
    }
}

/// The container instances' UserData: join the cluster, then tell CloudFormation the instance is ready.
///
/// The ECS agent starts only after cloud-init has finished (its unit runs after `cloud-final`), so
/// waiting for it inside UserData would deadlock. The wait-then-signal runs as its own systemd unit;
/// it signals failure if the agent has not registered within ten minutes, which fails the stack
/// instead of letting it time out.
fn user_data(cluster: cfn::Val<String>, group: cfn::Val<String>) -> Sub {
    Sub::new(
        r#"#!/bin/bash
set -euo pipefail
cat >> /etc/ecs/ecs.config <<'CONFIG'
ECS_CLUSTER=${Cluster}
ECS_ENABLE_CONTAINER_METADATA=true
CONFIG
dnf install -y aws-cfn-bootstrap
cat > /usr/local/bin/berth-ready <<'READY'
#!/bin/bash
# Ready = the ECS agent has registered this instance with the cluster.
for attempt in $(seq 120); do
  if curl -sf http://localhost:51678/v1/metadata | grep -q ContainerInstanceArn; then
    exec /opt/aws/bin/cfn-signal --exit-code 0 --stack ${AWS::StackName} --resource ${Group} --region ${AWS::Region}
  fi
  sleep 5
done
exec /opt/aws/bin/cfn-signal --exit-code 1 --reason "ECS agent did not register" --stack ${AWS::StackName} --resource ${Group} --region ${AWS::Region}
READY
chmod 755 /usr/local/bin/berth-ready
systemd-run --unit berth-ready --no-block /usr/local/bin/berth-ready
"#,
    )
    .var("Cluster", cluster)
    .var("Group", group)
}
