//! The ECS service: the app's task definition (bridge mode, dynamic host ports, secrets by name from
//! Parameter Store, logs to CloudWatch, a task role of its own) and the service that keeps it running
//! behind the load balancer, spread over availability zones and instances, placed through the container
//! instances' capacity provider; scaled between its min and max tasks on CPU and on requests per task
//! (the capacity provider then adds or removes instances); deployed with a circuit breaker and rolled
//! back when what users see goes wrong (target 5xx, unhealthy targets).

use cfn::fns::{Sub, if_};
use cfn::params::{Integer, Str};
use cfn::resources::{applicationautoscaling as aas, cloudwatch, ecs, elbv2, iam, logs};
use cfn::{Attributes, Cond, Param, Res, Template, Val, pseudo};
use pipeline_model::container;

use crate::naming::{StageNames, checkov_skips, trusting};

/// Seconds ECS waits after SIGTERM before SIGKILL; the app drains within it.
pub const STOP_TIMEOUT_SECONDS: u32 = 30;
/// A rolling deployment starts new tasks up to this percent of the desired count...
pub const MAXIMUM_PERCENT: u32 = 200;
/// ...and never lets the healthy tasks drop below this percent.
pub const MINIMUM_HEALTHY_PERCENT: u32 = 50;

/// Seconds service auto scaling waits after a scale-out before another, and after a scale-in.
pub const SCALE_OUT_COOLDOWN_SECONDS: u32 = 60;
pub const SCALE_IN_COOLDOWN_SECONDS: u32 = 300;

/// The rollback alarms look at one-minute periods, and alarm on 2 of the last 3 (5xx) or all 3
/// (unhealthy targets).
pub const ALARM_PERIOD_SECONDS: u32 = 60;
pub const ALARM_EVALUATION_PERIODS: u32 = 3;

/// What the service needs.
pub struct EcsServiceProps {
    pub names: StageNames,
    pub cluster: Res<ecs::Cluster>,
    /// Where the tasks run: the container instances' capacity provider...
    pub capacity_provider: Res<ecs::CapacityProvider>,
    /// ...once the cluster has it (the service depends on the association, so it is deleted first).
    pub capacity_provider_association: Res<ecs::ClusterCapacityProviderAssociations>,
    /// The load balancer and its target group: the requests-per-target metric and the alarms name them.
    pub load_balancer: Res<elbv2::LoadBalancer>,
    pub target_group: Res<elbv2::TargetGroup>,
    /// The listener that attaches the target group to the load balancer (the service waits for it).
    pub listener: Res<elbv2::Listener>,
    pub image_tag: Param<Str>,
    pub min_count: Param<Integer>,
    pub max_count: Param<Integer>,
    pub target_cpu_percent: Param<Integer>,
    pub target_requests_per_target: Param<Integer>,
    pub rollback_5xx_per_minute: Param<Integer>,
    /// ECS Exec into the tasks.
    pub exec: Cond,
    pub cpu: Param<Integer>,
    pub memory: Param<Integer>,
    pub time_zone: Param<Str>,
    pub log_retention_days: Param<Integer>,
    pub health_check_grace_seconds: Param<Integer>,
}

/// The service and its task definition.
#[derive(Clone, Copy)]
pub struct EcsService {
    pub log_group: Res<logs::LogGroup>,
    pub execution_role: Res<iam::Role>,
    pub task_role: Res<iam::Role>,
    pub task_definition: Res<ecs::TaskDefinition>,
    pub service: Res<ecs::Service>,
    /// The alarms that roll a deployment back.
    pub target_errors_alarm: Res<cloudwatch::Alarm>,
    pub unhealthy_targets_alarm: Res<cloudwatch::Alarm>,
    pub scalable_target: Res<aas::ScalableTarget>,
}

impl EcsService {
    pub fn add(t: &mut Template, props: EcsServiceProps) -> EcsService {
        let n = props.names;
        let names = n.names();
        let log_group = t.add_with(
            "LogGroup",
            logs::LogGroup::new()
                .log_group_name(n.sub(names.log_group()))
                .retention_in_days(props.log_retention_days),
            Attributes::new().retain().metadata(
                "checkov",
                checkov_skips(&[(
                    "CKV_AWS_158",
                    "encrypted at rest by CloudWatch Logs with an AWS-owned key; the app logs no secret (the leak test \
                     checks), and the stage key lives in the pipeline stack, which this stack names only by contract \
                     names: a key ARN cannot be derived from a name",
                )]),
            ),
        );
        let execution_role = t.add(
            "TaskExecutionRole",
            iam::Role::new(trusting("ecs-tasks.amazonaws.com"))
                .role_name(n.sub(names.task_execution_role()))
                .description("ECS task execution: pull the image, write logs, read the stage's secrets")
                // The pipeline stack's policy, by its contract name: no export to import, so either stack can
                // change without the other.
                .managed_policy_arns(vec![
                    n.iam_arn(format!("policy/{}", names.task_execution_policy())),
                ]),
        );
        // What the app itself may call: nothing by default; ECS Exec's channel when the stage opts in
        // (the pipeline stack's policy, by its contract name).
        let task_role = t.add(
            "TaskRole",
            iam::Role::new(trusting("ecs-tasks.amazonaws.com"))
                .role_name(n.sub(names.task_role()))
                .description("The app's tasks: what the app may call (ECS Exec when the stage opts in)")
                .managed_policy_arns(if_(
                    props.exec,
                    vec![n.iam_arn(format!("policy/{}", names.exec_policy()))],
                    pseudo::no_value(),
                )),
        );
        let image =
            Sub::new("${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/${Repository}:${Tag}")
                .var("Repository", n.sub(names.repository()))
                .var("Tag", props.image_tag);
        let env = |name: &str, value: Val<String>| {
            ecs::task_definition::KeyValuePair::new().name(name).value(value)
        };
        let task_definition = t.add(
            "TaskDefinition",
            ecs::TaskDefinition::new()
                .family(n.sub(names.repository()))
                .network_mode(ecs::task_definition::NetworkMode::Bridge)
                .requires_compatibilities(vec![ecs::task_definition::RequiresCompatibilities::Ec2])
                .cpu(props.cpu.to_ref().into_string())
                .memory(props.memory.to_ref().into_string())
                .execution_role_arn(execution_role.arn())
                .task_role_arn(task_role.arn())
                .container_definitions(vec![
                    ecs::task_definition::ContainerDefinition::new(image, container::NAME)
                        .essential(true)
                        .memory(props.memory)
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
                            env(container::env::APP_NAME, n.app.into()),
                            env(container::env::IMAGE_TAG, props.image_tag.into()),
                            env(container::env::PORT, container::PORT.to_string().into()),
                            env(container::env::STAGE, n.stage.into()),
                            env(container::env::TZ, props.time_zone.into()),
                        ])
                        // The app's runtime secrets, by name: ECS reads them from Parameter Store (as the
                        // task execution role) when the task starts. Never a value in the template.
                        .secrets(
                            pipeline_model::secrets::runtime()
                                .map(|s| {
                                    ecs::task_definition::Secret::new(s.name, n.secret_parameter_arn(s.name))
                                })
                                .collect::<Vec<_>>(),
                        )
                        .readonly_root_filesystem(true)
                        // ECS sends SIGTERM, waits this long, then SIGKILL; the app drains within it.
                        .stop_timeout(STOP_TIMEOUT_SECONDS)
                        .log_configuration(ecs::task_definition::LogConfiguration::new("awslogs").options([
                            ("awslogs-group", log_group.to_ref()),
                            ("awslogs-region", pseudo::region()),
                            ("awslogs-stream-prefix", Val::from(container::NAME)),
                        ])),
                ]),
        );
        // What users see, watched during a deployment: a deployment that makes it worse rolls back.
        let dimensions = || {
            vec![
                cloudwatch::alarm::Dimension::new(
                    "LoadBalancer",
                    props.load_balancer.load_balancer_full_name(),
                ),
                cloudwatch::alarm::Dimension::new("TargetGroup", props.target_group.target_group_full_name()),
            ]
        };
        let target_errors_alarm =
            t.add(
                "TargetErrorsAlarm",
                cloudwatch::Alarm::new()
                    .alarm_description(n.sub(
                        "berth ${AppName}/${StageName}: the app answers 5xx; a deployment rolls back on it",
                    ))
                    .namespace("AWS/ApplicationELB")
                    .metric_name("HTTPCode_Target_5XX_Count")
                    .dimensions(dimensions())
                    .statistic(cloudwatch::alarm::Statistic::Sum)
                    .period(ALARM_PERIOD_SECONDS)
                    .evaluation_periods(ALARM_EVALUATION_PERIODS)
                    .datapoints_to_alarm(2)
                    .threshold(props.rollback_5xx_per_minute.to_ref())
                    .comparison_operator(cloudwatch::alarm::ComparisonOperator::GreaterThanOrEqualToThreshold)
                    .treat_missing_data(cloudwatch::alarm::TreatMissingData::NotBreaching),
            );
        let unhealthy_targets_alarm = t.add(
            "UnhealthyTargetsAlarm",
            cloudwatch::Alarm::new()
                .alarm_description(n.sub(
                    "berth ${AppName}/${StageName}: targets fail their health checks; a deployment rolls back on it",
                ))
                .namespace("AWS/ApplicationELB")
                .metric_name("UnHealthyHostCount")
                .dimensions(dimensions())
                .statistic(cloudwatch::alarm::Statistic::Maximum)
                .period(ALARM_PERIOD_SECONDS)
                .evaluation_periods(ALARM_EVALUATION_PERIODS)
                .datapoints_to_alarm(ALARM_EVALUATION_PERIODS)
                .threshold(1.0)
                .comparison_operator(cloudwatch::alarm::ComparisonOperator::GreaterThanOrEqualToThreshold)
                .treat_missing_data(cloudwatch::alarm::TreatMissingData::NotBreaching),
        );
        let service = t.add_with(
            "Service",
            ecs::Service::new()
                .cluster(props.cluster.to_ref())
                .task_definition(task_definition.to_ref())
                // No DesiredCount: service auto scaling sets it (from min_count up), and a template value
                // would be put back by every stack update.
                // Through the capacity provider, not a launch type: ECS scales the instances to fit the
                // tasks and drains an instance before it goes.
                .capacity_provider_strategy(vec![
                    ecs::service::CapacityProviderStrategyItem::new()
                        .capacity_provider(props.capacity_provider.to_ref())
                        .weight(1),
                ])
                .health_check_grace_period_seconds(props.health_check_grace_seconds)
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
                        .target_group_arn(props.target_group.to_ref()),
                ])
                .deployment_configuration(
                    ecs::service::DeploymentConfiguration::new()
                        .deployment_circuit_breaker(ecs::service::DeploymentCircuitBreaker::new(true, true))
                        .alarms(ecs::service::DeploymentAlarms::new(
                            vec![target_errors_alarm.to_ref(), unhealthy_targets_alarm.to_ref()],
                            true,
                            true,
                        ))
                        .maximum_percent(MAXIMUM_PERCENT)
                        .minimum_healthy_percent(MINIMUM_HEALTHY_PERCENT),
                )
                .enable_execute_command(if_(props.exec, true, false))
                .enable_ecs_managed_tags(true)
                .propagate_tags(ecs::service::PropagateTags::Service),
            // The target group is attached to the load balancer through the listener: wait for it; and
            // for the cluster's capacity providers.
            Attributes::new()
                .depends_on(props.listener)
                .depends_on(props.capacity_provider_association),
        );
        // Service auto scaling: the count follows CPU and requests per task, between min and max; the
        // capacity provider's managed scaling then adds or removes instances to fit the tasks.
        let scalable_target = t.add(
            "ScalableTarget",
            aas::ScalableTarget::new(
                props.max_count,
                props.min_count,
                Sub::new("service/${Cluster}/${Service}")
                    .var("Cluster", props.cluster.to_ref())
                    .var("Service", service.name()),
                aas::scalable_target::ScalableDimension::EcsServiceDesiredCount,
                aas::scalable_target::ServiceNamespace::Ecs,
            ),
        );
        use aas::scaling_policy::PredefinedMetricSpecificationPredefinedMetricType as Metric;
        let tracking = |metric: Metric, target: Param<Integer>, label: Option<Val<String>>| {
            let mut spec = aas::scaling_policy::PredefinedMetricSpecification::new(metric);
            if let Some(l) = label {
                spec = spec.resource_label(l);
            }
            aas::scaling_policy::TargetTrackingScalingPolicyConfiguration::new(target.to_ref())
                .predefined_metric_specification(spec)
                .scale_out_cooldown(SCALE_OUT_COOLDOWN_SECONDS)
                .scale_in_cooldown(SCALE_IN_COOLDOWN_SECONDS)
        };
        t.add(
            "CpuScalingPolicy",
            aas::ScalingPolicy::new(
                n.sub("${AppName}-${StageName}-cpu"),
                aas::scaling_policy::PolicyType::TargetTrackingScaling,
            )
            .scaling_target_id(scalable_target.to_ref())
            .target_tracking_scaling_policy_configuration(tracking(
                Metric::ECSServiceAverageCPUUtilization,
                props.target_cpu_percent,
                None,
            )),
        );
        t.add(
            "RequestsScalingPolicy",
            aas::ScalingPolicy::new(
                n.sub("${AppName}-${StageName}-requests"),
                aas::scaling_policy::PolicyType::TargetTrackingScaling,
            )
            .scaling_target_id(scalable_target.to_ref())
            .target_tracking_scaling_policy_configuration(tracking(
                Metric::ALBRequestCountPerTarget,
                props.target_requests_per_target,
                Some(
                    Sub::new("${LoadBalancer}/${TargetGroup}")
                        .var("LoadBalancer", props.load_balancer.load_balancer_full_name())
                        .var("TargetGroup", props.target_group.target_group_full_name())
                        .into(),
                ),
            )),
        );
        EcsService {
            log_group,
            execution_role,
            task_role,
            task_definition,
            service,
            target_errors_alarm,
            unhealthy_targets_alarm,
            scalable_target,
        }
    }
}
