//! The service stack: what the pipeline deploys (or Ops, by hand).
//!
//! An internet-facing ALB (HTTPS 443) in front of ECS tasks on dynamic host ports (bridge mode,
//! `HostPort: 0`); the instances' security group admits only the ALB's, only on the dynamic port range;
//! an Auto Scaling group of ECS container instances from a launch template (gp3 encrypted root volume,
//! IMDSv2, `cfn-signal` once the ECS agent has registered), created and replaced under a
//! `CreationPolicy` and `AutoScalingReplacingUpdate`; the service spread over availability zones and
//! instances. Everything that differs per stage is a parameter.

use cfn::fns::{Sub, equals};
use cfn::params::{Integer, SsmValue, Str, aws};
use cfn::policy::{PolicyDocument, Statement};
use cfn::resources::{autoscaling, ec2, ecs, elbv2, iam, logs};
use cfn::{Attributes, CreationPolicy, IsoDuration, Output, Parameter, Template, UpdatePolicy, fns, pseudo};
use pipeline_model::{Names, container, service_params as sp};

use crate::stage::{DEFAULT_AMI_PARAMETER, LOG_RETENTION_DAYS};

/// The port range ECS uses for dynamic host ports (`HostPort: 0` in bridge mode).
pub const DYNAMIC_PORTS: (u16, u16) = (32768, 65535);

/// A TLS policy that allows TLS 1.3 and 1.2 only.
pub const TLS_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/// How long CloudFormation waits for the instances' signals.
pub const SIGNAL_TIMEOUT: IsoDuration = IsoDuration::minutes(15);

/// The service stack's template. It is the same for every stage.
pub fn template() -> Template {
    let names = Names::template();
    let mut t = Template::new();
    t.set_description(
        "berth service stack: ALB (HTTPS) -> ECS service on EC2 container instances (dynamic host ports)",
    );

    // ---- parameters: everything that differs per stage --------------------------------------------
    let app = t.add_parameter(sp::APP_NAME, crate::app_name_parameter());
    let stage = t.add_parameter(sp::STAGE_NAME, crate::stage_name_parameter());
    let image_tag = t.add_parameter(
        sp::IMAGE_TAG,
        Parameter::<Str>::new()
            .description(
                "The image to run: a tag of the stage's repository (the pipeline sets it from build.json)",
            )
            .allowed_pattern("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
            .constraint_description("a Docker image tag"),
    );
    let vpc = t.add_parameter(
        sp::VPC_ID,
        Parameter::<aws::VpcId>::new().description("The stage's VPC"),
    );
    let subnets = t.add_parameter(
        sp::SUBNET_IDS,
        Parameter::<aws::SubnetIds>::new().description("Subnets in at least two availability zones"),
    );
    let certificate = t.add_parameter(
        sp::CERTIFICATE_ARN,
        Parameter::<Str>::new()
            .description("The ACM certificate of the HTTPS listener")
            .allowed_pattern("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+$"),
    );
    let redirect = t.add_parameter(
        sp::HTTP_REDIRECT,
        Parameter::<Str>::new()
            .description("Also listen on port 80 and redirect to HTTPS")
            .allowed_values(["true", "false"])
            .default_value("false"),
    );
    let ami = t.add_parameter(
        sp::IMAGE_ID,
        Parameter::<SsmValue<aws::ImageId>>::new()
            .description(
                "SSM parameter holding the AMI (default: the current ECS-optimized Amazon Linux 2023)",
            )
            .default_value(DEFAULT_AMI_PARAMETER),
    );
    let instance_type = t.add_parameter(
        sp::INSTANCE_TYPE,
        Parameter::<Str>::new()
            .description("Instance type of the container instances")
            .default_value("t3.small"),
    );
    let volume = t.add_parameter(
        sp::ROOT_VOLUME_SIZE,
        Parameter::<Integer>::new()
            .description("Root volume (gp3) in GiB")
            .default_value(30)
            .min_value(30.0)
            .max_value(16384.0),
    );
    let min_size = t.add_parameter(
        sp::MIN_SIZE,
        count_parameter("Fewest container instances", 0, 100),
    );
    let desired = t.add_parameter(
        sp::DESIRED_CAPACITY,
        count_parameter(
            "Container instances to start with (CloudFormation waits for each one's signal)",
            1,
            100,
        ),
    );
    let max_size = t.add_parameter(sp::MAX_SIZE, count_parameter("Most container instances", 1, 100));
    let desired_count = t.add_parameter(sp::DESIRED_COUNT, count_parameter("Tasks of the service", 1, 100));
    let cpu = t.add_parameter(
        sp::TASK_CPU,
        Parameter::<Integer>::new()
            .description("CPU units of a task (1024 = 1 vCPU)")
            .min_value(128.0)
            .max_value(10240.0),
    );
    let memory = t.add_parameter(
        sp::TASK_MEMORY,
        Parameter::<Integer>::new()
            .description("Memory of a task in MiB")
            .min_value(128.0)
            .max_value(30720.0),
    );
    let tz = t.add_parameter(
        sp::TIME_ZONE,
        Parameter::<Str>::new()
            .description("The container's TZ")
            .default_value("UTC"),
    );
    let retention = t.add_parameter(
        sp::LOG_RETENTION_DAYS,
        Parameter::<Integer>::new()
            .description("Days the service's logs are kept")
            .allowed_values(LOG_RETENTION_DAYS.iter().map(|d| i64::from(*d)))
            .default_value(30),
    );
    let grace = t.add_parameter(
        sp::HEALTH_CHECK_GRACE_SECONDS,
        Parameter::<Integer>::new()
            .description("Seconds a new task may fail health checks while it starts")
            .default_value(60)
            .min_value(0.0)
            .max_value(3600.0),
    );
    let with_redirect = t.add_condition("RedirectHttp", equals(redirect, "true"));
    let stage_sub = |text: &str| crate::stage_sub(text.to_owned(), app, stage);

    // ---- network: the ALB takes HTTPS from anywhere; the instances take only the ALB -----------------
    let alb_sg = t.add(
        "LoadBalancerSecurityGroup",
        ec2::SecurityGroup::new("The load balancer: HTTPS from anywhere")
            .vpc_id(vpc)
            .security_group_ingress(vec![
                ec2::security_group::Ingress::new("tcp")
                    .cidr_ip("0.0.0.0/0")
                    .from_port(443)
                    .to_port(443)
                    .description("HTTPS"),
            ]),
    );
    // Port 80 only with the redirect: a rule of its own under the stage's condition.
    t.add_with(
        "LoadBalancerHttpIngress",
        ec2::SecurityGroupIngress::new("tcp")
            .group_id(alb_sg.group_id())
            .cidr_ip("0.0.0.0/0")
            .from_port(80)
            .to_port(80)
            .description("HTTP, redirected to HTTPS"),
        Attributes::new().condition(with_redirect),
    );
    let instance_sg = t.add(
        "InstanceSecurityGroup",
        ec2::SecurityGroup::new("Container instances: the dynamic host ports, from the load balancer only")
            .vpc_id(vpc)
            .security_group_ingress(vec![
                ec2::security_group::Ingress::new("tcp")
                    .source_security_group_id(alb_sg.group_id())
                    .from_port(DYNAMIC_PORTS.0)
                    .to_port(DYNAMIC_PORTS.1)
                    .description("ECS dynamic host ports, from the load balancer"),
            ]),
    );

    // ---- load balancer ----------------------------------------------------------------------------------
    let alb = t.add(
        "LoadBalancer",
        elbv2::LoadBalancer::new()
            .type_(elbv2::load_balancer::Type::Application)
            .scheme(elbv2::load_balancer::Scheme::InternetFacing)
            .subnets(subnets)
            .security_groups(vec![alb_sg.group_id()])
            .load_balancer_attributes(vec![
                elbv2::load_balancer::LoadBalancerAttribute::new()
                    .key("routing.http.drop_invalid_header_fields.enabled")
                    .value("true"),
                // Access logs, into the stage's log bucket (the pipeline stack's, by its contract name).
                elbv2::load_balancer::LoadBalancerAttribute::new()
                    .key("access_logs.s3.enabled")
                    .value("true"),
                elbv2::load_balancer::LoadBalancerAttribute::new()
                    .key("access_logs.s3.bucket")
                    .value(stage_sub(
                        &names.log_bucket("${AWS::AccountId}", "${AWS::Region}"),
                    )),
                elbv2::load_balancer::LoadBalancerAttribute::new()
                    .key("access_logs.s3.prefix")
                    .value(pipeline_model::log_prefixes::LOAD_BALANCER),
            ]),
    );
    let target_group = t.add(
        "TargetGroup",
        elbv2::TargetGroup::new()
            .target_type(elbv2::target_group::TargetType::Instance)
            .protocol(elbv2::target_group::Protocol::Http)
            .port(container::PORT)
            .vpc_id(vpc)
            .health_check_protocol(elbv2::target_group::HealthCheckProtocol::Http)
            .health_check_path(container::HEALTH_CHECK_PATH)
            // With HostPort 0 each task listens on its own host port: check that port.
            .health_check_port("traffic-port")
            .health_check_interval_seconds(15)
            .healthy_threshold_count(2)
            .unhealthy_threshold_count(3)
            .matcher(elbv2::target_group::Matcher::new().http_code("200"))
            .target_group_attributes(vec![
                elbv2::target_group::TargetGroupAttribute::new()
                    .key("deregistration_delay.timeout_seconds")
                    .value("30"),
            ]),
    );
    let https = t.add(
        "HttpsListener",
        elbv2::Listener::new(
            vec![
                elbv2::listener::Action::new(elbv2::listener::Type::Forward)
                    .target_group_arn(target_group.to_ref()),
            ],
            alb.to_ref(),
        )
        .port(443)
        .protocol(elbv2::listener::Protocol::Https)
        .ssl_policy(TLS_POLICY)
        .certificates(vec![
            elbv2::listener::Certificate::new().certificate_arn(certificate),
        ]),
    );
    t.add_with(
        "HttpRedirectListener",
        elbv2::Listener::new(
            vec![
                elbv2::listener::Action::new(elbv2::listener::Type::Redirect).redirect_config(
                    elbv2::listener::RedirectConfig::new(elbv2::listener::StatusCode::Http301)
                        .protocol("HTTPS")
                        .port("443"),
                ),
            ],
            alb.to_ref(),
        )
        .port(80)
        .protocol(elbv2::listener::Protocol::Http),
        Attributes::new().condition(with_redirect),
    );

    // ---- cluster and container instances --------------------------------------------------------------
    let cluster = t.add(
        "Cluster",
        ecs::Cluster::new().cluster_settings(vec![
            ecs::cluster::ClusterSettings::new()
                .name("containerInsights")
                .value("enabled"),
        ]),
    );
    let instance_role = t.add(
        "InstanceRole",
        iam::Role::new(
            PolicyDocument::new().statement(
                Statement::allow()
                    .service("ec2.amazonaws.com")
                    .actions(["sts:AssumeRole"]),
            ),
        )
        .role_name(stage_sub(&names.instance_role()))
        .description("ECS container instances: join the cluster, run tasks; Session Manager instead of SSH")
        .managed_policy_arns(vec![
            Sub::new(
                "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
            ),
            Sub::new("arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"),
        ]),
    );
    let instance_profile = t.add(
        "InstanceProfile",
        iam::InstanceProfile::new(vec![instance_role.to_ref()])
            .instance_profile_name(stage_sub(&names.instance_role())),
    );
    // Declared now, defined below: the instances' UserData names the group in `cfn-signal`.
    let group = t.declare::<autoscaling::AutoScalingGroup>("AutoScalingGroup");
    let launch_template = t.add(
        "LaunchTemplate",
        ec2::LaunchTemplate::new(
            ec2::launch_template::LaunchTemplateData::new()
                .image_id(ami)
                .instance_type(instance_type)
                .iam_instance_profile(
                    ec2::launch_template::IamInstanceProfile::new().arn(instance_profile.arn()),
                )
                .security_group_ids(vec![instance_sg.group_id()])
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
                                .volume_size(volume)
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
        autoscaling::AutoScalingGroup::new(max_size.to_ref().into_string(), min_size.to_ref().into_string())
            .desired_capacity(desired.to_ref().into_string())
            .vpc_zone_identifier(subnets)
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
                stage_sub("${AppName}-${StageName}-ecs"),
            )]),
        Attributes::new()
            // Wait for every instance of the group to report ready...
            .creation_policy(CreationPolicy::signals(desired, SIGNAL_TIMEOUT))
            // ...and on a change that replaces instances, build a whole new group first and keep the old
            // one until the new one has signalled.
            .update_policy(UpdatePolicy::replacing_update(true)),
    );

    // ---- the task and the service -----------------------------------------------------------------------
    let log_group = t.add_with(
        "LogGroup",
        logs::LogGroup::new()
            .log_group_name(stage_sub(&names.log_group()))
            .retention_in_days(retention),
        Attributes::new().retain().metadata(
            "checkov",
            crate::pipeline::checkov_skips(&[(
                "CKV_AWS_158",
                "encrypted at rest by CloudWatch Logs with an AWS-owned key; the app logs no secret (the leak test \
                 checks), and the stage key lives in the pipeline stack, which this stack names only by contract \
                 names: a key ARN cannot be derived from a name",
            )]),
        ),
    );
    let execution_role = t.add(
        "TaskExecutionRole",
        iam::Role::new(
            PolicyDocument::new().statement(
                Statement::allow()
                    .service("ecs-tasks.amazonaws.com")
                    .actions(["sts:AssumeRole"]),
            ),
        )
        .role_name(stage_sub(&names.task_execution_role()))
        .description("ECS task execution: pull the image, write logs, read the stage's secrets")
        // The pipeline stack's policy, by its contract name: no export to import, so either stack can
        // change without the other.
        .managed_policy_arns(vec![stage_sub(&format!(
            "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy/{}",
            names.task_execution_policy()
        ))]),
    );
    let image = Sub::new("${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/${Repository}:${Tag}")
        .var("Repository", stage_sub(&names.repository()))
        .var("Tag", image_tag);
    let env = |name: &str, value: cfn::Val<String>| {
        ecs::task_definition::KeyValuePair::new().name(name).value(value)
    };
    let task = t.add(
        "TaskDefinition",
        ecs::TaskDefinition::new()
            .family(stage_sub(&names.repository()))
            .network_mode(ecs::task_definition::NetworkMode::Bridge)
            .requires_compatibilities(vec![ecs::task_definition::RequiresCompatibilities::Ec2])
            .cpu(cpu.to_ref().into_string())
            .memory(memory.to_ref().into_string())
            .execution_role_arn(execution_role.arn())
            .container_definitions(vec![
                ecs::task_definition::ContainerDefinition::new(image, container::NAME)
                    .essential(true)
                    .memory(memory)
                    .port_mappings(vec![
                        ecs::task_definition::PortMapping::new()
                            .container_port(container::PORT)
                            // 0: a free host port per task, so several tasks share an instance.
                            .host_port(0)
                            .protocol(ecs::task_definition::Protocol::Tcp),
                    ])
                    .ulimits(vec![ecs::task_definition::Ulimit::new(
                        65535,
                        ecs::task_definition::Name::Nofile,
                        65535,
                    )])
                    .environment(vec![
                        env(container::env::APP_NAME, app.into()),
                        env(container::env::IMAGE_TAG, image_tag.into()),
                        env(container::env::PORT, container::PORT.to_string().into()),
                        env(container::env::STAGE, stage.into()),
                        env(container::env::TZ, tz.into()),
                    ])
                    // The app's runtime secrets, by name: ECS reads them from Parameter Store (as the
                    // task execution role) when the task starts. Never a value in the template.
                    .secrets(
                        pipeline_model::secrets::runtime()
                            .map(|s| {
                                ecs::task_definition::Secret::new(
                                    s.name,
                                    crate::secret_parameter_arn(s.name, app, stage),
                                )
                            })
                            .collect::<Vec<_>>(),
                    )
                    .readonly_root_filesystem(true)
                    // ECS sends SIGTERM, waits this long, then SIGKILL; the app drains within it.
                    .stop_timeout(30)
                    .log_configuration(ecs::task_definition::LogConfiguration::new("awslogs").options([
                        ("awslogs-group", log_group.to_ref()),
                        ("awslogs-region", pseudo::region()),
                        ("awslogs-stream-prefix", cfn::Val::from(container::NAME)),
                    ])),
            ]),
    );
    let service = t.add_with(
        "Service",
        ecs::Service::new()
            .cluster(cluster.to_ref())
            .task_definition(task.to_ref())
            .desired_count(desired_count)
            .launch_type(ecs::service::LaunchType::Ec2)
            .health_check_grace_period_seconds(grace)
            // The seed's trap: without a strategy ECS may pack every task onto one instance.
            .placement_strategies(vec![
                ecs::service::PlacementStrategy::new(ecs::service::PlacementStrategyType::Spread)
                    .field("attribute:ecs.availability-zone"),
                ecs::service::PlacementStrategy::new(ecs::service::PlacementStrategyType::Spread)
                    .field("instanceId"),
            ])
            .load_balancers(vec![
                ecs::service::LoadBalancer::new()
                    .container_name(container::NAME)
                    .container_port(container::PORT)
                    .target_group_arn(target_group.to_ref()),
            ])
            .deployment_configuration(
                ecs::service::DeploymentConfiguration::new()
                    .deployment_circuit_breaker(ecs::service::DeploymentCircuitBreaker::new(true, true))
                    .maximum_percent(200)
                    .minimum_healthy_percent(50),
            )
            .enable_ecs_managed_tags(true)
            .propagate_tags(ecs::service::PropagateTags::Service),
        // The target group is attached to the load balancer through the listener: wait for it.
        Attributes::new().depends_on(https),
    );

    t.add_output(
        "ServiceUrl",
        Output::new(Sub::new("https://${Dns}").var("Dns", alb.dns_name())).description("The service's URL"),
    );
    t.add_output(
        "LoadBalancerDnsName",
        Output::new(alb.dns_name()).description("Point your DNS name here"),
    );
    t.add_output("ClusterName", Output::new(cluster.to_ref()));
    t.add_output("ServiceName", Output::new(service.name()));
    t.add_output("LogGroupName", Output::new(log_group.to_ref()));
    t
}

fn count_parameter(description: &str, min: u32, max: u32) -> Parameter<Integer> {
    Parameter::<Integer>::new()
        .description(description)
        .min_value(f64::from(min))
        .max_value(f64::from(max))
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
