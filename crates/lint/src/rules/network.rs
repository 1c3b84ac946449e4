//! Security groups: inverted ranges, ports open to the world, the instances' group wider than the
//! load balancer needs.

use serde_json::Value;

use super::{INSTANCES_WIDER_THAN_ALB, OPEN_TO_THE_WORLD, PORT_RANGE_INVERTED};
use crate::template::{Template, int, items, string};
use crate::{Finding, finding};

/// The host ports ECS gives bridge-mode tasks with HostPort 0 (the Linux ephemeral range).
pub const DYNAMIC_HOST_PORTS: (i64, i64) = (32768, 65535);

/// One ingress rule, wherever it is written.
struct Ingress<'a> {
    /// The resource that holds the rule, and the path to it.
    resource: &'a str,
    path: String,
    /// The security group it opens (logical ID), when known.
    group: Option<&'a str>,
    rule: &'a Value,
}

fn ingresses<'a>(t: &Template<'a>) -> Vec<Ingress<'a>> {
    let mut out = Vec::new();
    for (id, r) in t.of_type("AWS::EC2::SecurityGroup") {
        for (i, rule) in items(&r["Properties"]["SecurityGroupIngress"])
            .into_iter()
            .enumerate()
        {
            out.push(Ingress {
                resource: id,
                path: format!("Properties.SecurityGroupIngress[{i}]"),
                group: Some(id),
                rule,
            });
        }
    }
    for (id, r) in t.of_type("AWS::EC2::SecurityGroupIngress") {
        out.push(Ingress {
            resource: id,
            path: "Properties".to_owned(),
            group: t.referenced(&r["Properties"]["GroupId"]),
            rule: &r["Properties"],
        });
    }
    out
}

/// (from, to) of a rule; protocol -1 (all) is every port.
fn ports(rule: &Value) -> Option<(i64, i64)> {
    let protocol = rule["IpProtocol"].as_str().map(str::to_ascii_lowercase);
    if protocol.as_deref() == Some("-1") || int(&rule["IpProtocol"]) == Some(-1) {
        return Some((0, 65535));
    }
    Some((int(&rule["FromPort"])?, int(&rule["ToPort"])?))
}

fn open_to_world(rule: &Value) -> bool {
    string(&rule["CidrIp"]) == Some("0.0.0.0/0") || string(&rule["CidrIpv6"]) == Some("::/0")
}

/// True when the template has a port-80 listener that redirects (the one reason to open 80).
fn has_redirect_listener(t: &Template<'_>) -> bool {
    t.of_type("AWS::ElasticLoadBalancingV2::Listener")
        .iter()
        .any(|(_, l)| {
            int(&l["Properties"]["Port"]) == Some(80)
                && items(&l["Properties"]["DefaultActions"])
                    .iter()
                    .any(|a| a["Type"].as_str() == Some("redirect"))
        })
}

/// The security groups of the load balancers, and of the instances (launch templates and
/// configurations).
fn groups_of<'a>(t: &Template<'a>) -> (Vec<&'a str>, Vec<&'a str>) {
    let mut alb = Vec::new();
    for (_, lb) in t.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer") {
        for g in items(&lb["Properties"]["SecurityGroups"]) {
            alb.extend(t.referenced(g));
        }
    }
    let mut instances = Vec::new();
    for (_, lt) in t.of_type("AWS::EC2::LaunchTemplate") {
        let data = &lt["Properties"]["LaunchTemplateData"];
        for g in items(&data["SecurityGroupIds"])
            .into_iter()
            .chain(items(&data["SecurityGroups"]))
        {
            instances.extend(t.referenced(g));
        }
        for ni in items(&data["NetworkInterfaces"]) {
            for g in items(&ni["Groups"]) {
                instances.extend(t.referenced(g));
            }
        }
    }
    for (_, lc) in t.of_type("AWS::AutoScaling::LaunchConfiguration") {
        for g in items(&lc["Properties"]["SecurityGroups"]) {
            instances.extend(t.referenced(g));
        }
    }
    (alb, instances)
}

pub fn check(t: &Template<'_>, out: &mut Vec<Finding>) {
    let redirect = has_redirect_listener(t);
    let (alb_groups, instance_groups) = groups_of(t);
    for ing in ingresses(t) {
        let Some((from, to)) = ports(ing.rule) else {
            continue;
        };
        if from > to {
            out.push(finding(
                &PORT_RANGE_INVERTED,
                Some(ing.resource),
                ing.path.clone(),
                format!("FromPort {from} is above ToPort {to}"),
            ));
            continue;
        }
        let tcp = ing.rule["IpProtocol"]
            .as_str()
            .is_some_and(|p| p.eq_ignore_ascii_case("tcp") || p == "6");
        if open_to_world(ing.rule) {
            let allowed = tcp && from == to && (from == 443 || (from == 80 && redirect));
            if !allowed {
                let what = if from == to {
                    format!("port {from}")
                } else {
                    format!("ports {from}-{to}")
                };
                let why = if from == 80 && to == 80 && tcp {
                    " without a listener that redirects port 80 to HTTPS".to_owned()
                } else {
                    String::new()
                };
                out.push(finding(
                    &OPEN_TO_THE_WORLD,
                    Some(ing.resource),
                    ing.path.clone(),
                    format!("opens {what} to the whole internet{why}"),
                ));
            }
        }
        let into_instances = ing.group.is_some_and(|g| instance_groups.contains(&g));
        let source = t.referenced(&ing.rule["SourceSecurityGroupId"]);
        let from_alb = source.is_some_and(|s| alb_groups.contains(&s));
        if into_instances && from_alb && (from < DYNAMIC_HOST_PORTS.0 || to > DYNAMIC_HOST_PORTS.1 || !tcp) {
            out.push(finding(
                &INSTANCES_WIDER_THAN_ALB,
                Some(ing.resource),
                ing.path.clone(),
                format!(
                    "admits {} ports {from}-{to} from the load balancer's group {}; the tasks listen on {}-{}",
                    ing.rule["IpProtocol"].as_str().unwrap_or("?"),
                    source.unwrap_or_default(),
                    DYNAMIC_HOST_PORTS.0,
                    DYNAMIC_HOST_PORTS.1
                ),
            ));
        }
    }
}
