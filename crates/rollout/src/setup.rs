//! What a rollout depends on, read from a service template (long-form JSON) and the parameter values
//! of a stage: each value with where it came from, so that the model shows its inputs.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// How the group replaces its instances when the launch template changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Replacement {
    /// `AutoScalingRollingUpdate`: `batch` at a time, keeping `min_in_service` in service, waiting for
    /// each new instance's signal when `wait_for_signals`.
    Rolling {
        batch: u32,
        min_in_service: u32,
        wait_for_signals: bool,
    },
    /// `AutoScalingReplacingUpdate`: a whole new group, then the old one deleted.
    Replacing,
    /// No update policy: instances are not replaced on update.
    None,
}

/// A number the model uses, with where it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Input {
    pub value: u32,
    /// `"TargetGroup.HealthCheckIntervalSeconds"`, `"AWS default"`, `"stage"`, `"estimate"`, ...
    pub from: String,
}

impl Input {
    fn new(value: u32, from: impl Into<String>) -> Input {
        Input {
            value,
            from: from.into(),
        }
    }
}

/// How many tasks and instances, from the stage and the capacity check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// The service's tasks before the rollout (its desired count).
    pub tasks: u32,
    /// The most tasks (the scale-out scenario's target).
    pub max_tasks: u32,
    /// Tasks one instance holds.
    pub slots_per_instance: u32,
    pub min_instances: u32,
    pub max_instances: u32,
}

/// Model estimates for what no template says: how long AWS takes to do things. Stated in every plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Estimates {
    /// From launch to the ECS agent registered (and the signal sent): EC2 boot, UserData, agent start.
    pub instance_ready_s: u32,
    /// From a task placed to its container listening: image pull from ECR (cached layers after the
    /// first task on an instance), container start, app start.
    pub task_start_s: u32,
    /// From an instance's termination to ECS scheduling the tasks it lost (no draining).
    pub lost_task_detection_s: u32,
    /// Target tracking scale-out: the alarm needs 3 datapoints of one minute.
    pub scale_out_alarm_s: u32,
    /// ECS managed scaling: CapacityProviderReservation alarms after 1 datapoint of one minute.
    pub capacity_alarm_s: u32,
    /// Pipeline: from a push to the source actions done (CodeConnections webhook, artifact upload).
    pub source_s: u32,
    /// Pipeline: a release build from nothing (no cache) and with the dependency layer cached.
    pub build_cold_s: u32,
    pub build_cached_s: u32,
    /// Pipeline: what a build costs besides compiling: CodeBuild's provisioning, the source download,
    /// pulling the base images, downloading the crates, exporting and pushing the images.
    pub build_overhead_s: u32,
    /// Pipeline: creating the change set and starting its execution.
    pub change_set_s: u32,
}

impl Default for Estimates {
    fn default() -> Self {
        Estimates {
            instance_ready_s: 150,
            task_start_s: 20,
            lost_task_detection_s: 15,
            scale_out_alarm_s: 180,
            capacity_alarm_s: 60,
            source_s: 20,
            // Measured (2026-11): `cargo build --release --locked --package app --bin app` as the stages of
            // app/Dockerfile run it, in a copy of the buildspec's build context. From nothing (the
            // manifests with empty sources, a fresh target directory: the deps stage) 26.5 s; with the
            // dependency layer cached (the real sources over it, touched: the build stage) 6.2 s.
            // Medians of 3 runs on a 2-vCPU machine, as CodeBuild's BUILD_GENERAL1_SMALL has, the crates
            // already downloaded and extracted. Not in them: CodeBuild's provisioning, pulling the base
            // images, downloading the crates, exporting and pushing the images.
            build_cold_s: 27,
            build_cached_s: 6,
            // Not measurable here (no CodeBuild, no Docker): the field notes' "about 3 minutes" for a
            // build from nothing on BUILD_GENERAL1_SMALL, less the 27 s of compiling measured above.
            build_overhead_s: 150,
            change_set_s: 40,
        }
    }
}

/// Everything a rollout depends on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Setup {
    pub counts: Counts,
    pub health_check_interval_s: Input,
    pub healthy_threshold: Input,
    pub unhealthy_threshold: Input,
    pub deregistration_delay_s: Input,
    pub stop_timeout_s: Input,
    pub health_check_grace_s: Input,
    pub maximum_percent: Input,
    pub minimum_healthy_percent: Input,
    pub replacement: Replacement,
    pub replacement_from: String,
    /// The pause CloudFormation allows each signal.
    pub signal_timeout_s: Input,
    /// An ECS capacity provider with managed draining manages the group.
    pub draining: bool,
    /// An ECS capacity provider with managed scaling adds instances for tasks that wait for room.
    pub managed_scaling: bool,
    pub estimates: Estimates,
}

/// A property's value as a number: a literal, or a `Ref` to a parameter the stage sets.
fn number(v: &Value, params: &BTreeMap<String, String>) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        Value::Object(m) => match m.get("Ref") {
            Some(Value::String(p)) => params.get(p).and_then(|v| v.parse().ok()),
            _ => None,
        },
        _ => None,
    }
}

/// The first resource of `ty` in the template, with its logical ID.
fn first<'a>(template: &'a Value, ty: &str) -> Option<(&'a str, &'a Value)> {
    template["Resources"]
        .as_object()?
        .iter()
        .find(|(_, r)| r["Type"] == ty)
        .map(|(id, r)| (id.as_str(), r))
}

/// `Input` from a property of a resource, or AWS's default when the template does not set it.
fn read(
    resource: Option<(&str, &Value)>,
    pick: impl Fn(&Value) -> &Value,
    name: &str,
    default: u32,
    params: &BTreeMap<String, String>,
) -> Input {
    resource
        .and_then(|(id, r)| {
            number(pick(&r["Properties"]), params).map(|v| Input::new(v, format!("{id}.{name}")))
        })
        .unwrap_or_else(|| Input::new(default, format!("AWS default ({name} not set)")))
}

impl Setup {
    /// Reads a service template: the target group's health check and deregistration delay, the
    /// service's deployment configuration and grace period, the container's stop timeout, the group's
    /// update policy and signal timeout, the capacity provider's draining and scaling. `params` are the
    /// stage's parameter values (for `Ref`s); `counts` come from the stage and the capacity check.
    pub fn from_template(template: &Value, params: &BTreeMap<String, String>, counts: Counts) -> Setup {
        let tg = first(template, "AWS::ElasticLoadBalancingV2::TargetGroup");
        let service = first(template, "AWS::ECS::Service");
        let task = first(template, "AWS::ECS::TaskDefinition");
        let group = first(template, "AWS::AutoScaling::AutoScalingGroup");
        let provider = first(template, "AWS::ECS::CapacityProvider");
        let deregistration = tg
            .and_then(|(id, r)| {
                r["Properties"]["TargetGroupAttributes"]
                    .as_array()?
                    .iter()
                    .find(|a| a["Key"] == "deregistration_delay.timeout_seconds")
                    .and_then(|a| number(&a["Value"], params))
                    .map(|v| {
                        Input::new(
                            v,
                            format!("{id}.TargetGroupAttributes.deregistration_delay.timeout_seconds"),
                        )
                    })
            })
            .unwrap_or_else(|| Input::new(300, "AWS default (deregistration delay not set)"));
        let update = group.map(|(_, g)| &g["UpdatePolicy"]);
        let (replacement, replacement_from) = match update {
            Some(u) if u["AutoScalingRollingUpdate"].is_object() => {
                let r = &u["AutoScalingRollingUpdate"];
                (
                    Replacement::Rolling {
                        batch: number(&r["MaxBatchSize"], params).unwrap_or(1),
                        min_in_service: number(&r["MinInstancesInService"], params).unwrap_or(0),
                        wait_for_signals: r["WaitOnResourceSignals"] == Value::Bool(true)
                            || r["WaitOnResourceSignals"] == "true",
                    },
                    "AutoScalingGroup.UpdatePolicy.AutoScalingRollingUpdate".to_owned(),
                )
            }
            Some(u)
                if u["AutoScalingReplacingUpdate"]["WillReplace"] == Value::Bool(true)
                    || u["AutoScalingReplacingUpdate"]["WillReplace"] == "true" =>
            {
                (
                    Replacement::Replacing,
                    "AutoScalingGroup.UpdatePolicy.AutoScalingReplacingUpdate".to_owned(),
                )
            }
            _ => (Replacement::None, "no update policy".to_owned()),
        };
        let signal_timeout_s = group
            .and_then(|(id, g)| {
                let t = g["UpdatePolicy"]["AutoScalingRollingUpdate"]["PauseTime"]
                    .as_str()
                    .or_else(|| g["CreationPolicy"]["ResourceSignal"]["Timeout"].as_str())?;
                iso8601_seconds(t)
                    .map(|s| Input::new(s, format!("{id}.UpdatePolicy or CreationPolicy timeout")))
            })
            .unwrap_or_else(|| Input::new(300, "AWS default (PT5M)"));
        let asg_provider = provider.map(|(_, p)| &p["Properties"]["AutoScalingGroupProvider"]);
        Setup {
            counts,
            health_check_interval_s: read(
                tg,
                |p| &p["HealthCheckIntervalSeconds"],
                "HealthCheckIntervalSeconds",
                30,
                params,
            ),
            healthy_threshold: read(
                tg,
                |p| &p["HealthyThresholdCount"],
                "HealthyThresholdCount",
                5,
                params,
            ),
            unhealthy_threshold: read(
                tg,
                |p| &p["UnhealthyThresholdCount"],
                "UnhealthyThresholdCount",
                2,
                params,
            ),
            deregistration_delay_s: deregistration,
            stop_timeout_s: read(
                task,
                |p| &p["ContainerDefinitions"][0]["StopTimeout"],
                "ContainerDefinitions[0].StopTimeout",
                30,
                params,
            ),
            health_check_grace_s: read(
                service,
                |p| &p["HealthCheckGracePeriodSeconds"],
                "HealthCheckGracePeriodSeconds",
                0,
                params,
            ),
            maximum_percent: read(
                service,
                |p| &p["DeploymentConfiguration"]["MaximumPercent"],
                "DeploymentConfiguration.MaximumPercent",
                200,
                params,
            ),
            minimum_healthy_percent: read(
                service,
                |p| &p["DeploymentConfiguration"]["MinimumHealthyPercent"],
                "DeploymentConfiguration.MinimumHealthyPercent",
                100,
                params,
            ),
            replacement,
            replacement_from,
            signal_timeout_s,
            draining: asg_provider.is_some_and(|p| p["ManagedDraining"] == "ENABLED"),
            managed_scaling: asg_provider.is_some_and(|p| p["ManagedScaling"]["Status"] == "ENABLED"),
            estimates: Estimates::default(),
        }
    }
}

/// Seconds of `PT15M`, `PT1H30M`, `PT30S`.
fn iso8601_seconds(s: &str) -> Option<u32> {
    let mut rest = s.strip_prefix("PT")?;
    let mut total = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        let n: u32 = rest[..digits].parse().ok()?;
        let unit = rest[digits..].chars().next()?;
        total += n * match unit {
            'H' => 3600,
            'M' => 60,
            'S' => 1,
            _ => return None,
        };
        rest = &rest[digits + 1..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_numbers_are_read() {
        assert_eq!(iso8601_seconds("PT15M"), Some(900));
        assert_eq!(iso8601_seconds("PT1H30S"), Some(3630));
        assert_eq!(iso8601_seconds("15m"), None);
        let params = BTreeMap::from([("Grace".to_owned(), "90".to_owned())]);
        assert_eq!(number(&serde_json::json!({"Ref": "Grace"}), &params), Some(90));
        assert_eq!(number(&serde_json::json!("30"), &params), Some(30));
        assert_eq!(number(&serde_json::json!({"Ref": "Unknown"}), &params), None);
    }
}
