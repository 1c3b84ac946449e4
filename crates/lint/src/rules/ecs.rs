//! ECS on EC2: dynamic host ports and what they need, spreading, container memory.

use serde_json::Value;

use super::{
    CONTAINER_WITHOUT_MEMORY, HEALTH_CHECK_NOT_TRAFFIC_PORT, HOST_PORT_ZERO_WITHOUT_BRIDGE,
    IP_TARGETS_WITH_BRIDGE, SERVICE_NOT_SPREAD,
};
use crate::template::{Template, int, items, ref_id, string};
use crate::{Finding, finding};

/// A task definition's network mode: a literal, `bridge` when unset (the EC2 default), None when
/// it is computed.
fn network_mode(td: &Value) -> Option<&str> {
    match &td["Properties"]["NetworkMode"] {
        Value::Null => Some("bridge"),
        v => string(v),
    }
}

/// True when the task definition can run on EC2 (RequiresCompatibilities unset or naming EC2).
fn on_ec2(td: &Value) -> bool {
    let compat = items(&td["Properties"]["RequiresCompatibilities"]);
    compat.is_empty() || compat.iter().any(|c| c.as_str() == Some("EC2"))
}

/// True when some container maps a port to a dynamic host port (HostPort 0, or none in bridge mode).
fn uses_dynamic_ports(td: &Value) -> bool {
    let bridge = network_mode(td) == Some("bridge");
    items(&td["Properties"]["ContainerDefinitions"]).iter().any(|c| {
        items(&c["PortMappings"]).iter().any(|m| match &m["HostPort"] {
            Value::Null => bridge,
            v => int(v) == Some(0),
        })
    })
}

pub fn check(t: &Template<'_>, out: &mut Vec<Finding>) {
    for (id, td) in t.of_type("AWS::ECS::TaskDefinition") {
        let mode = network_mode(td);
        for (i, c) in items(&td["Properties"]["ContainerDefinitions"])
            .into_iter()
            .enumerate()
        {
            for (j, m) in items(&c["PortMappings"]).into_iter().enumerate() {
                if int(&m["HostPort"]) == Some(0) && mode.is_some_and(|m| m != "bridge") {
                    out.push(finding(
                        &HOST_PORT_ZERO_WITHOUT_BRIDGE,
                        Some(id),
                        format!("Properties.ContainerDefinitions[{i}].PortMappings[{j}].HostPort"),
                        format!("HostPort 0 in {} network mode", mode.unwrap_or_default()),
                    ));
                }
            }
            if on_ec2(td) && c.get("Memory").is_none() && c.get("MemoryReservation").is_none() {
                out.push(finding(
                    &CONTAINER_WITHOUT_MEMORY,
                    Some(id),
                    format!("Properties.ContainerDefinitions[{i}]"),
                    format!(
                        "container `{}` has neither Memory nor MemoryReservation",
                        c["Name"].as_str().unwrap_or("?")
                    ),
                ));
            }
        }
    }

    for (id, svc) in t.of_type("AWS::ECS::Service") {
        let p = &svc["Properties"];
        let td = t.referenced(&p["TaskDefinition"]).and_then(|td| t.resource(td));
        for (i, lb) in items(&p["LoadBalancers"]).into_iter().enumerate() {
            let Some((tg_id, tg)) = t
                .referenced(&lb["TargetGroupArn"])
                .and_then(|g| Some((g, t.resource(g)?)))
            else {
                continue;
            };
            let Some(td) = td else { continue };
            let hc_port = &tg["Properties"]["HealthCheckPort"];
            if uses_dynamic_ports(td) && !hc_port.is_null() && string(hc_port) != Some("traffic-port") {
                out.push(finding(
                    &HEALTH_CHECK_NOT_TRAFFIC_PORT,
                    Some(tg_id),
                    "Properties.HealthCheckPort",
                    format!(
                        "checks port {} while service {id}'s tasks listen on dynamic host ports: every target fails",
                        hc_port.as_str().map_or_else(|| hc_port.to_string(), str::to_owned)
                    ),
                ));
            }
            if string(&tg["Properties"]["TargetType"]) == Some("ip") && network_mode(td) == Some("bridge") {
                out.push(finding(
                    &IP_TARGETS_WITH_BRIDGE,
                    Some(tg_id),
                    "Properties.TargetType",
                    format!("TargetType ip, but service {id} (LoadBalancers[{i}]) runs bridge-mode tasks"),
                ));
            }
        }

        let fargate = string(&p["LaunchType"]) == Some("FARGATE")
            || items(&p["CapacityProviderStrategy"])
                .iter()
                .any(|s| string(&s["CapacityProvider"]).is_some_and(|c| c.starts_with("FARGATE")));
        let can_run_several = match &p["DesiredCount"] {
            Value::Null => false, // ECS's default is 1
            v => match int(v) {
                Some(n) => n > 1,
                // A parameter: several unless it is capped at 1.
                None => ref_id(v)
                    .and_then(|name| t.parameter(name))
                    .is_none_or(|param| int(&param["MaxValue"]).is_none_or(|max| max > 1)),
            },
        };
        let spread = items(&p["PlacementStrategies"])
            .iter()
            .any(|s| string(&s["Type"]).is_some_and(|ty| ty.eq_ignore_ascii_case("spread")));
        if !fargate && can_run_several && !spread && string(&p["SchedulingStrategy"]) != Some("DAEMON") {
            out.push(finding(
                &SERVICE_NOT_SPREAD,
                Some(id),
                "Properties.PlacementStrategies",
                "can run several tasks on EC2 but has no spread placement strategy".to_owned(),
            ));
        }
    }
}
