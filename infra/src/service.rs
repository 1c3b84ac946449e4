//! The service stack: what the pipeline deploys (or Ops, by hand).
//!
//! ```text
//!   internet ──HTTPS 443──▶ LoadBalancer ──dynamic host ports──▶ ContainerInstances (ECS cluster)
//!                                   │                                      │
//!                                   └──────────── target group ◀── EcsService (tasks, HostPort 0)
//! ```
//!
//! An internet-facing ALB (HTTPS 443, in public subnets) in front of ECS tasks on dynamic host ports
//! (bridge mode, `HostPort: 0`); the instances' security group admits only the ALB's, only on the
//! dynamic port range; an Auto Scaling group of ECS container instances (in their own subnets) from a
//! launch template with a pinned AMI, created under a `CreationPolicy` and replaced one instance at a
//! time under an `AutoScalingRollingUpdate`, both gated by each instance's signal; an ECS capacity
//! provider that scales, protects and drains the instances; the service placed through it and spread
//! over availability zones and instances. Everything that differs per stage is a parameter.

use cfn::fns::{Sub, equals, if_};
use cfn::params::{Integer, SsmValue, Str, aws};
use cfn::{Output, Param, Parameter, Template};
use pipeline_model::service_params as sp;

use crate::blocks::{
    ContainerInstances, ContainerInstancesProps, EcsService, EcsServiceProps, LoadBalancer, LoadBalancerProps,
};
use crate::bounds;
use crate::naming::StageNames;
use crate::stage::DEFAULT_AMI_PARAMETER;

/// The service stack's parameters: everything that differs per stage.
struct Parameters {
    names: StageNames,
    image_tag: Param<Str>,
    vpc: Param<aws::VpcId>,
    load_balancer_subnets: Param<aws::SubnetIds>,
    instance_subnets: Param<aws::SubnetIds>,
    instance_public_ip: Param<Str>,
    certificate: Param<Str>,
    redirect: Param<Str>,
    image_id: Param<Str>,
    ami_parameter: Param<SsmValue<aws::ImageId>>,
    instance_type: Param<Str>,
    root_volume_gib: Param<Integer>,
    min_size: Param<Integer>,
    max_size: Param<Integer>,
    min_count: Param<Integer>,
    max_count: Param<Integer>,
    target_cpu_percent: Param<Integer>,
    target_requests_per_target: Param<Integer>,
    rollback_5xx_per_minute: Param<Integer>,
    enable_exec: Param<Str>,
    cpu: Param<Integer>,
    memory: Param<Integer>,
    time_zone: Param<Str>,
    log_retention_days: Param<Integer>,
    health_check_grace_seconds: Param<Integer>,
}

fn parameters(t: &mut Template) -> Parameters {
    let names = StageNames::add(t, sp::APP_NAME, sp::STAGE_NAME);
    Parameters {
        names,
        image_tag: t.add_parameter(
            sp::IMAGE_TAG,
            Parameter::<Str>::new()
                .description(
                    "The image to run: a tag of the stage's repository (the pipeline sets it from build.json)",
                )
                .allowed_pattern("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
                .constraint_description("a Docker image tag"),
        ),
        vpc: t.add_parameter(
            sp::VPC_ID,
            Parameter::<aws::VpcId>::new().description("The stage's VPC"),
        ),
        load_balancer_subnets: t.add_parameter(
            sp::LOAD_BALANCER_SUBNET_IDS,
            Parameter::<aws::SubnetIds>::new()
                .description("Public subnets for the internet-facing load balancer, in at least two zones"),
        ),
        instance_subnets: t.add_parameter(
            sp::INSTANCE_SUBNET_IDS,
            Parameter::<aws::SubnetIds>::new().description(
                "Subnets for the container instances, in at least two zones: private (NAT or VPC endpoints) unless InstancePublicIp",
            ),
        ),
        instance_public_ip: t.add_parameter(
            sp::INSTANCE_PUBLIC_IP,
            Parameter::<Str>::new()
                .description("true: the container instances get public IPs (an account without NAT)")
                .allowed_values(["true", "false"])
                .default_value("false"),
        ),
        certificate: t.add_parameter(
            sp::CERTIFICATE_ARN,
            Parameter::<Str>::new()
                .description("The ACM certificate of the HTTPS listener")
                .allowed_pattern("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+$"),
        ),
        redirect: t.add_parameter(
            sp::HTTP_REDIRECT,
            Parameter::<Str>::new()
                .description("Also listen on port 80 and redirect to HTTPS")
                .allowed_values(["true", "false"])
                .default_value("false"),
        ),
        image_id: t.add_parameter(
            sp::IMAGE_ID,
            Parameter::<Str>::new()
                .description(
                    "The AMI of the container instances, pinned (cargo xtask ami --write). Empty: follow AmiParameter",
                )
                .allowed_pattern("^$|^ami-([0-9a-f]{8}|[0-9a-f]{17})$")
                .constraint_description("an AMI ID, or empty"),
        ),
        ami_parameter: t.add_parameter(
            sp::AMI_PARAMETER,
            Parameter::<SsmValue<aws::ImageId>>::new()
                .description(
                    "Opt-in, used only when ImageId is empty: an SSM parameter holding the AMI, resolved again on every stack update",
                )
                .default_value(DEFAULT_AMI_PARAMETER),
        ),
        instance_type: t.add_parameter(
            sp::INSTANCE_TYPE,
            Parameter::<Str>::new()
                .description("Instance type of the container instances")
                .default_value("t3.small"),
        ),
        root_volume_gib: t.add_parameter(
            sp::ROOT_VOLUME_SIZE,
            bounds::ROOT_VOLUME_GIB
                .parameter("Root volume (gp3) in GiB")
                .default_value(30),
        ),
        min_size: t.add_parameter(
            sp::MIN_SIZE,
            bounds::INSTANCES_MIN.parameter(
                "Fewest container instances: the group starts with these (CloudFormation waits for each one's signal)",
            ),
        ),
        max_size: t.add_parameter(
            sp::MAX_SIZE,
            bounds::INSTANCES_MAX
                .parameter("Most container instances: ECS's capacity provider adds instances up to these"),
        ),
        min_count: t.add_parameter(
            sp::MIN_COUNT,
            bounds::MIN_COUNT.parameter("Fewest tasks: service auto scaling never goes below, and the service starts with these"),
        ),
        max_count: t.add_parameter(
            sp::MAX_COUNT,
            bounds::MAX_COUNT.parameter("Most tasks: service auto scaling never goes above"),
        ),
        target_cpu_percent: t.add_parameter(
            sp::TARGET_CPU_PERCENT,
            bounds::TARGET_CPU_PERCENT
                .parameter("Service auto scaling: the average CPU utilization of the tasks to aim at, in percent"),
        ),
        target_requests_per_target: t.add_parameter(
            sp::TARGET_REQUESTS_PER_TARGET,
            bounds::TARGET_REQUESTS_PER_TARGET
                .parameter("Service auto scaling: the load balancer requests per task and minute to aim at"),
        ),
        rollback_5xx_per_minute: t.add_parameter(
            sp::ROLLBACK_5XX_PER_MINUTE,
            bounds::ROLLBACK_5XX_PER_MINUTE
                .parameter("Target 5xx responses per minute (in 2 of 3 minutes) that roll a deployment back"),
        ),
        enable_exec: t.add_parameter(
            sp::ENABLE_EXEC,
            Parameter::<Str>::new()
                .description("true: ECS Exec into the tasks (aws ecs execute-command)")
                .allowed_values(["true", "false"])
                .default_value("false"),
        ),
        cpu: t.add_parameter(
            sp::TASK_CPU,
            bounds::TASK_CPU.parameter("CPU units of a task (1024 = 1 vCPU)"),
        ),
        memory: t.add_parameter(
            sp::TASK_MEMORY,
            bounds::TASK_MEMORY.parameter("Memory of a task in MiB"),
        ),
        time_zone: t.add_parameter(
            sp::TIME_ZONE,
            Parameter::<Str>::new()
                .description("The container's TZ")
                .default_value("UTC"),
        ),
        log_retention_days: t.add_parameter(
            sp::LOG_RETENTION_DAYS,
            Parameter::<Integer>::new()
                .description("Days the service's logs are kept")
                .allowed_values(bounds::LOG_RETENTION_DAYS.iter().map(|d| i64::from(*d)))
                .default_value(30),
        ),
        health_check_grace_seconds: t.add_parameter(
            sp::HEALTH_CHECK_GRACE_SECONDS,
            bounds::HEALTH_CHECK_GRACE_SECONDS
                .parameter("Seconds a new task may fail health checks while it starts")
                .default_value(60),
        ),
    }
}

/// The service stack's template. It is the same for every stage.
pub fn template() -> Template {
    let mut t = Template::new();
    t.set_description(
        "berth service stack: ALB (HTTPS) -> ECS service on EC2 container instances (dynamic host ports)",
    );
    let p = parameters(&mut t);
    let names = p.names.names();
    let redirect_http = t.add_condition("RedirectHttp", equals(p.redirect, "true"));
    let ami_from_parameter = t.add_condition("AmiFromParameter", equals(p.image_id, ""));
    let public_instances = t.add_condition("PublicInstances", equals(p.instance_public_ip, "true"));
    let exec = t.add_condition("ExecEnabled", equals(p.enable_exec, "true"));

    let load_balancer = LoadBalancer::add(
        &mut t,
        LoadBalancerProps {
            vpc: p.vpc,
            subnets: p.load_balancer_subnets,
            certificate: p.certificate,
            redirect_http,
            access_log_bucket: p
                .names
                .sub(names.log_bucket("${AWS::AccountId}", "${AWS::Region}")),
        },
    );
    let instances = ContainerInstances::add(
        &mut t,
        ContainerInstancesProps {
            names: p.names,
            subnets: p.instance_subnets,
            public_ip: public_instances,
            security_group: load_balancer.targets_security_group,
            image_id: if_(ami_from_parameter, p.ami_parameter.to_ref(), p.image_id.to_ref()),
            instance_type: p.instance_type,
            root_volume_gib: p.root_volume_gib,
            min_size: p.min_size,
            max_size: p.max_size,
        },
    );
    let service = EcsService::add(
        &mut t,
        EcsServiceProps {
            names: p.names,
            cluster: instances.cluster,
            capacity_provider: instances.capacity_provider,
            capacity_provider_association: instances.association,
            load_balancer: load_balancer.alb,
            target_group: load_balancer.target_group,
            listener: load_balancer.https_listener,
            image_tag: p.image_tag,
            min_count: p.min_count,
            max_count: p.max_count,
            target_cpu_percent: p.target_cpu_percent,
            target_requests_per_target: p.target_requests_per_target,
            rollback_5xx_per_minute: p.rollback_5xx_per_minute,
            exec,
            cpu: p.cpu,
            memory: p.memory,
            time_zone: p.time_zone,
            log_retention_days: p.log_retention_days,
            health_check_grace_seconds: p.health_check_grace_seconds,
        },
    );

    let alb = load_balancer.alb;
    t.add_output(
        "ServiceUrl",
        Output::new(Sub::new("https://${Dns}").var("Dns", alb.dns_name())).description("The service's URL"),
    );
    t.add_output(
        "LoadBalancerDnsName",
        Output::new(alb.dns_name()).description("Point your DNS name here"),
    );
    t.add_output("ClusterName", Output::new(instances.cluster.to_ref()));
    t.add_output("ServiceName", Output::new(service.service.name()));
    t.add_output("LogGroupName", Output::new(service.log_group.to_ref()));
    t
}
