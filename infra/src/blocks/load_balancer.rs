//! The load balancer: an internet-facing ALB taking HTTPS (and, by a condition, HTTP to redirect),
//! forwarding to a target group of ECS tasks on dynamic host ports; and the security group its targets
//! wear, which admits the dynamic port range from the load balancer only (the seed's pair of groups).

use cfn::fns::Sub;
use cfn::params::{Str, aws};
use cfn::resources::{ec2, elbv2};
use cfn::{Attributes, Cond, Param, Res, Template};
use pipeline_model::container;

/// The port range ECS uses for dynamic host ports (`HostPort: 0` in bridge mode).
pub const DYNAMIC_PORTS: (u16, u16) = (32768, 65535);

/// A TLS policy that allows TLS 1.3 and 1.2 only.
pub const TLS_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/// Seconds between the target group's health checks (AWS's default is 30).
pub const HEALTH_CHECK_INTERVAL_SECONDS: u32 = 15;
/// Passing checks before a new target receives traffic.
pub const HEALTHY_THRESHOLD: u32 = 2;
/// Failing checks before a target is taken out.
pub const UNHEALTHY_THRESHOLD: u32 = 3;
/// Seconds a deregistering target keeps its connections (AWS's default, 300, made every deploy wait
/// five minutes per task in the seed's setup).
pub const DEREGISTRATION_DELAY_SECONDS: u32 = 30;

/// What the load balancer needs.
pub struct LoadBalancerProps {
    pub vpc: Param<aws::VpcId>,
    pub subnets: Param<aws::SubnetIds>,
    pub certificate: Param<Str>,
    /// Also listen on port 80 and redirect to HTTPS.
    pub redirect_http: Cond,
    /// The bucket its access logs go to, by name.
    pub access_log_bucket: Sub,
}

/// The load balancer and what others attach to.
#[derive(Clone, Copy)]
pub struct LoadBalancer {
    pub alb: Res<elbv2::LoadBalancer>,
    pub security_group: Res<ec2::SecurityGroup>,
    /// For the targets (the container instances): the dynamic host ports, from the load balancer only.
    pub targets_security_group: Res<ec2::SecurityGroup>,
    pub target_group: Res<elbv2::TargetGroup>,
    pub https_listener: Res<elbv2::Listener>,
}

impl LoadBalancer {
    pub fn add(t: &mut Template, props: LoadBalancerProps) -> LoadBalancer {
        let security_group = t.add(
            "LoadBalancerSecurityGroup",
            ec2::SecurityGroup::new("The load balancer: HTTPS from anywhere")
                .vpc_id(props.vpc)
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
                .group_id(security_group.group_id())
                .cidr_ip("0.0.0.0/0")
                .from_port(80)
                .to_port(80)
                .description("HTTP, redirected to HTTPS"),
            Attributes::new().condition(props.redirect_http),
        );
        let targets_security_group = t.add(
            "InstanceSecurityGroup",
            ec2::SecurityGroup::new(
                "Container instances: the dynamic host ports, from the load balancer only",
            )
            .vpc_id(props.vpc)
            .security_group_ingress(vec![
                ec2::security_group::Ingress::new("tcp")
                    .source_security_group_id(security_group.group_id())
                    .from_port(DYNAMIC_PORTS.0)
                    .to_port(DYNAMIC_PORTS.1)
                    .description("ECS dynamic host ports, from the load balancer"),
            ]),
        );
        let attribute = |key: &str, value: cfn::Val<String>| {
            elbv2::load_balancer::LoadBalancerAttribute::new()
                .key(key)
                .value(value)
        };
        let alb = t.add(
            "LoadBalancer",
            elbv2::LoadBalancer::new()
                .type_(elbv2::load_balancer::Type::Application)
                .scheme(elbv2::load_balancer::Scheme::InternetFacing)
                .subnets(props.subnets)
                .security_groups(vec![security_group.group_id()])
                .load_balancer_attributes(vec![
                    attribute("routing.http.drop_invalid_header_fields.enabled", "true".into()),
                    // Access logs, into the stage's log bucket (the pipeline stack's, by its contract name).
                    attribute("access_logs.s3.enabled", "true".into()),
                    attribute("access_logs.s3.bucket", props.access_log_bucket.into()),
                    attribute(
                        "access_logs.s3.prefix",
                        pipeline_model::log_prefixes::LOAD_BALANCER.into(),
                    ),
                ]),
        );
        let target_group = t.add(
            "TargetGroup",
            elbv2::TargetGroup::new()
                .target_type(elbv2::target_group::TargetType::Instance)
                .protocol(elbv2::target_group::Protocol::Http)
                .port(container::PORT)
                .vpc_id(props.vpc)
                .health_check_protocol(elbv2::target_group::HealthCheckProtocol::Http)
                .health_check_path(container::HEALTH_CHECK_PATH)
                // With HostPort 0 each task listens on its own host port: check that port.
                .health_check_port("traffic-port")
                .health_check_interval_seconds(HEALTH_CHECK_INTERVAL_SECONDS)
                .healthy_threshold_count(HEALTHY_THRESHOLD)
                .unhealthy_threshold_count(UNHEALTHY_THRESHOLD)
                .matcher(elbv2::target_group::Matcher::new().http_code("200"))
                .target_group_attributes(vec![
                    elbv2::target_group::TargetGroupAttribute::new()
                        .key("deregistration_delay.timeout_seconds")
                        .value(DEREGISTRATION_DELAY_SECONDS.to_string()),
                ]),
        );
        let https_listener = t.add(
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
                elbv2::listener::Certificate::new().certificate_arn(props.certificate),
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
            Attributes::new().condition(props.redirect_http),
        );
        LoadBalancer {
            alb,
            security_group,
            targets_security_group,
            target_group,
            https_listener,
        }
    }
}
