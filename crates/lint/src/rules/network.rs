//! Security groups: inverted ranges, ports open to the world, the instances' group wider than the
//! load balancer needs.

use serde_json::Value;

use super::{INSTANCES_WIDER_THAN_ALB, OPEN_TO_THE_WORLD, PORT_RANGE_INVERTED};
use crate::template::{Template, int, items, ref_id, string, strings};
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

/// The protocol of a rule, as AWS reads `IpProtocol` (a name or a number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    Tcp,
    Udp,
    /// ICMP and ICMPv6: `FromPort` and `ToPort` are a type and a code, not ports.
    Icmp,
    /// `-1`: every protocol, every port.
    All,
    /// Another protocol number (ESP, GRE, ...): every port of it.
    Other,
}

fn protocol(rule: &Value) -> Option<Protocol> {
    let p = match &rule["IpProtocol"] {
        Value::String(s) => s.trim().to_ascii_lowercase(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some(match p.as_str() {
        "-1" => Protocol::All,
        "tcp" | "6" => Protocol::Tcp,
        "udp" | "17" => Protocol::Udp,
        "icmp" | "1" | "icmpv6" | "58" => Protocol::Icmp,
        _ => Protocol::Other,
    })
}

/// (from, to) of a rule's ports: every port for all protocols and for the ones without ports, none
/// for ICMP (types and codes).
fn ports(rule: &Value, protocol: Protocol) -> Option<(i64, i64)> {
    match protocol {
        Protocol::Icmp => None,
        Protocol::All | Protocol::Other => Some((0, 65535)),
        Protocol::Tcp | Protocol::Udp => Some((int(&rule["FromPort"])?, int(&rule["ToPort"])?)),
    }
}

/// What a rule admits, in words: "port 22", "udp ports 1-9", "every port of every protocol".
fn admitted(rule: &Value, protocol: Protocol, from: i64, to: i64) -> String {
    let range = if from == to {
        format!("port {from}")
    } else {
        format!("ports {from}-{to}")
    };
    match protocol {
        Protocol::All => "every port of every protocol".to_owned(),
        Protocol::Tcp => range,
        Protocol::Udp => format!("udp {range}"),
        Protocol::Other | Protocol::Icmp => {
            format!(
                "every port of protocol {}",
                rule["IpProtocol"].to_string().trim_matches('"')
            )
        }
    }
}

fn open_to_world(rule: &Value) -> bool {
    string(&rule["CidrIp"]) == Some("0.0.0.0/0") || string(&rule["CidrIpv6"]) == Some("::/0")
}

/// The security groups of the load balancers (ELBv2), and among them those of a load balancer with
/// a port-80 listener that redirects (the one reason to open 80). A listener naming its load
/// balancer by a literal ARN counts for every load balancer of the template.
fn load_balancer_groups<'a>(t: &Template<'a>) -> (Vec<&'a str>, Vec<&'a str>) {
    let groups_of = |lb: &'a Value| {
        items(&lb["Properties"]["SecurityGroups"])
            .into_iter()
            .filter_map(|g| t.referenced(g))
            .collect::<Vec<&'a str>>()
    };
    let all: Vec<&'a str> = t
        .of_type("AWS::ElasticLoadBalancingV2::LoadBalancer")
        .into_iter()
        .flat_map(|(_, lb)| groups_of(lb))
        .collect();
    let mut redirecting = Vec::new();
    for (_, l) in t.of_type("AWS::ElasticLoadBalancingV2::Listener") {
        let p = &l["Properties"];
        let redirects = int(&p["Port"]) == Some(80)
            && items(&p["DefaultActions"])
                .iter()
                .any(|a| a["Type"].as_str() == Some("redirect"));
        if !redirects {
            continue;
        }
        match t.referenced(&p["LoadBalancerArn"]).and_then(|lb| t.resource(lb)) {
            Some(lb) => redirecting.extend(groups_of(lb)),
            None => redirecting.extend(all.iter().copied()),
        }
    }
    (all, redirecting)
}

/// The security groups of instances: launch templates and configurations, and instances.
fn instance_groups<'a>(t: &Template<'a>) -> Vec<&'a str> {
    let mut instances = Vec::new();
    let mut add = |v: &Value| instances.extend(t.referenced(v));
    for (_, lt) in t.of_type("AWS::EC2::LaunchTemplate") {
        let data = &lt["Properties"]["LaunchTemplateData"];
        for g in items(&data["SecurityGroupIds"])
            .into_iter()
            .chain(items(&data["SecurityGroups"]))
        {
            add(g);
        }
        for ni in items(&data["NetworkInterfaces"]) {
            items(&ni["Groups"]).into_iter().for_each(&mut add);
        }
    }
    for (_, lc) in t.of_type("AWS::AutoScaling::LaunchConfiguration") {
        items(&lc["Properties"]["SecurityGroups"])
            .into_iter()
            .for_each(&mut add);
    }
    for (_, i) in t.of_type("AWS::EC2::Instance") {
        let p = &i["Properties"];
        for g in items(&p["SecurityGroupIds"])
            .into_iter()
            .chain(items(&p["SecurityGroups"]))
        {
            add(g);
        }
        for ni in items(&p["NetworkInterfaces"]) {
            items(&ni["GroupSet"]).into_iter().for_each(&mut add);
        }
    }
    instances
}

/// True when the template runs ECS on EC2 instances: an ECS resource, or UserData that joins a
/// cluster. Only then do bridge-mode tasks listen on the dynamic host ports.
fn runs_ecs(t: &Template<'_>) -> bool {
    t.resources().iter().any(|(_, r)| {
        r["Type"].as_str().is_some_and(|ty| ty.starts_with("AWS::ECS::"))
            || strings(&r["Properties"])
                .iter()
                .any(|s| s.contains("ECS_CLUSTER"))
    })
}

/// The group an ingress rule admits traffic from, in words, when it names one: the logical ID of
/// this template's group, the parameter, or the literal ID or name.
fn source_group<'a>(t: &Template<'a>, rule: &'a Value) -> Option<&'a str> {
    ["SourceSecurityGroupId", "SourceSecurityGroupName"]
        .iter()
        .find_map(|k| {
            let v = &rule[*k];
            t.referenced(v).or_else(|| ref_id(v)).or_else(|| string(v))
        })
}

pub fn check(t: &Template<'_>, out: &mut Vec<Finding>) {
    let (alb_groups, redirecting) = load_balancer_groups(t);
    let instance_groups = instance_groups(t);
    let ecs = runs_ecs(t);
    for ing in ingresses(t) {
        let Some(protocol) = protocol(ing.rule) else {
            continue;
        };
        let Some((from, to)) = ports(ing.rule, protocol) else {
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
        let tcp = protocol == Protocol::Tcp;
        let of_alb = ing.group.is_some_and(|g| alb_groups.contains(&g));
        if open_to_world(ing.rule) {
            let redirects = ing.group.is_some_and(|g| redirecting.contains(&g));
            let allowed = tcp && from == to && (from == 443 || (from == 80 && redirects));
            if !allowed {
                let why = if from == 80 && to == 80 && tcp && of_alb {
                    " without a listener that redirects port 80 to HTTPS"
                } else {
                    ""
                };
                out.push(finding(
                    &OPEN_TO_THE_WORLD,
                    Some(ing.resource),
                    ing.path.clone(),
                    format!(
                        "opens {} to the whole internet{why}",
                        admitted(ing.rule, protocol, from, to)
                    ),
                ));
            }
        }
        let Some(group) = ing.group.filter(|g| instance_groups.contains(g)) else {
            continue;
        };
        let source = source_group(t, ing.rule);
        // The load balancer's group may be the instances' own (one group for both).
        let from_alb = source.is_some_and(|s| alb_groups.contains(&s));
        let every_port = from <= 0 && to >= 65535;
        if ecs && from_alb && (from < DYNAMIC_HOST_PORTS.0 || to > DYNAMIC_HOST_PORTS.1 || !tcp) {
            let what = match protocol {
                Protocol::All => "every port of every protocol".to_owned(),
                Protocol::Tcp => format!("tcp ports {from}-{to}"),
                _ => admitted(ing.rule, protocol, from, to),
            };
            out.push(finding(
                &INSTANCES_WIDER_THAN_ALB,
                Some(ing.resource),
                ing.path.clone(),
                format!(
                    "admits {what} from the load balancer's group {}; the tasks listen on tcp {}-{}",
                    source.unwrap_or_default(),
                    DYNAMIC_HOST_PORTS.0,
                    DYNAMIC_HOST_PORTS.1
                ),
            ));
        } else if let Some(source) = source.filter(|s| *s != group)
            && every_port
        {
            let what = match protocol {
                Protocol::All => "every port of every protocol".to_owned(),
                Protocol::Tcp => "every tcp port (0-65535)".to_owned(),
                Protocol::Udp => "every udp port (0-65535)".to_owned(),
                _ => admitted(ing.rule, protocol, from, to),
            };
            out.push(finding(
                &INSTANCES_WIDER_THAN_ALB,
                Some(ing.resource),
                ing.path.clone(),
                format!(
                    "admits {what} from the security group {source} into instances ({group}): expected only the ports they serve on"
                ),
            ));
        }
    }
}
