//! `service status [--watch]`: the running service of a stage, from ECS, the load balancer and
//! CloudWatch: its deployments and their rollout, its tasks (instance, image tag, health, why one
//! stopped), each target's health with the load balancer's reason, the container instances and the
//! capacity provider, recent service events, and the deployment alarms. The resources are found
//! through the service stack (by type: there is one of each), so nothing is named by hand.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{DeploymentRolloutState, DesiredStatus, Service, Task};
use pipeline_model::{Stack, container};
use serde::Serialize;
use serde_json::json;

use crate::exit::{Code, Failure, Result};
use crate::fail;
use crate::ops::{self, Call, Ctx};
use crate::output::table;

/// Stopped tasks shown (the newest): enough to see why a rollout keeps failing.
const STOPPED_SHOWN: usize = 5;

/// The service stack's resources the command reads, by physical ID.
#[derive(Clone, Debug, Default)]
pub struct Resources {
    pub cluster: String,
    pub service: String,
    pub target_group: Option<String>,
    pub capacity_provider: Option<String>,
    pub group: Option<String>,
    pub alarms: Vec<String>,
}

/// The service stack's resources, found by type.
pub async fn resources(ctx: &Ctx<'_>) -> Result<Resources> {
    let stack = ctx.stack(Stack::Service);
    let out = ctx
        .aws
        .cfn
        .describe_stack_resources()
        .stack_name(&stack)
        .send()
        .await;
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            use aws_smithy_types::error::metadata::ProvideErrorMetadata;
            if e.message().is_some_and(|m| m.contains("does not exist")) {
                return Err(no_service(ctx));
            }
            return Err(Call::new(
                "cloudformation:DescribeStackResources",
                format!("listing the resources of {stack}"),
            )
            .fail(e));
        }
    };
    let mut r = Resources::default();
    for res in out.stack_resources.unwrap_or_default() {
        let Some(id) = res.physical_resource_id.filter(|i| !i.is_empty()) else {
            continue;
        };
        match res.resource_type.as_deref().unwrap_or_default() {
            "AWS::ECS::Cluster" => r.cluster = id,
            "AWS::ECS::Service" => r.service = id,
            "AWS::ElasticLoadBalancingV2::TargetGroup" => r.target_group = Some(id),
            "AWS::ECS::CapacityProvider" => r.capacity_provider = Some(id),
            "AWS::AutoScaling::AutoScalingGroup" => r.group = Some(id),
            "AWS::CloudWatch::Alarm" => r.alarms.push(id),
            _ => {}
        }
    }
    if r.cluster.is_empty() || r.service.is_empty() {
        return Err(no_service(ctx));
    }
    Ok(r)
}

fn no_service(ctx: &Ctx<'_>) -> Failure {
    Failure::new(
        Code::Error,
        format!(
            "stage {} has no service yet (no stack {} with a cluster and a service): `{} --image-tag TAG` creates it, or the pipeline's first run",
            ctx.names.stage(),
            ctx.stack(Stack::Service),
            ctx.hint("deploy service")
        ),
    )
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DeploymentView {
    pub id: String,
    pub status: String,
    pub rollout_state: Option<String>,
    pub rollout_reason: Option<String>,
    pub task_definition: String,
    pub image_tag: Option<String>,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub failed: i32,
    pub updated: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TaskView {
    pub id: String,
    pub status: String,
    pub desired_status: String,
    pub health: Option<String>,
    pub instance: Option<String>,
    pub host_port: Option<i32>,
    pub image_tag: Option<String>,
    pub task_definition: String,
    pub started: Option<String>,
    pub stopped_reason: Option<String>,
    pub exit: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TargetView {
    pub target: String,
    pub port: Option<i32>,
    pub state: String,
    pub reason: Option<String>,
    pub description: Option<String>,
    pub task: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct InstanceView {
    pub instance: String,
    pub status: String,
    pub agent_connected: bool,
    pub running_tasks: i32,
    pub pending_tasks: i32,
    pub instance_type: Option<String>,
    pub zone: Option<String>,
    pub status_reason: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CapacityView {
    pub name: String,
    pub status: Option<String>,
    pub group: Option<String>,
    pub managed_scaling: Option<String>,
    pub target_capacity: Option<i32>,
    pub managed_draining: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AlarmView {
    pub name: String,
    pub state: String,
    pub reason: Option<String>,
    pub since: Option<String>,
}

/// Everything `service status` shows, at one moment.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Snapshot {
    pub stage: String,
    pub cluster: String,
    pub service: String,
    pub status: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub deployments: Vec<DeploymentView>,
    pub tasks: Vec<TaskView>,
    pub target_group: Option<String>,
    pub targets: Vec<TargetView>,
    pub capacity_provider: Option<CapacityView>,
    pub instances: Vec<InstanceView>,
    /// Whether the alarms roll a deployment back (`deploymentConfiguration.alarms`).
    pub alarms_roll_back: Option<bool>,
    pub alarms: Vec<AlarmView>,
    pub events: Vec<(String, String)>,
}

impl Snapshot {
    /// The primary deployment's rollout, once it ended: `Some(true)` completed, `Some(false)` failed.
    pub fn rollout_ended(&self) -> Option<bool> {
        let primary = self.deployments.iter().find(|d| d.status == "PRIMARY")?;
        match primary.rollout_state.as_deref() {
            Some("COMPLETED") if self.deployments.len() == 1 => Some(true),
            Some("FAILED") => Some(false),
            // No rollout state (an emulator, an old deployment controller): steady when it runs what
            // it should and is alone.
            None if self.deployments.len() == 1
                && primary.running == primary.desired
                && primary.pending == 0 =>
            {
                Some(true)
            }
            _ => None,
        }
    }
}

fn ecs_call(what: String, permission: &str) -> Call<'_> {
    Call::new(permission, what)
}

/// The image tag of the app's container in a task definition.
async fn task_definition_tag(ctx: &Ctx<'_>, arn: &str) -> Option<String> {
    let out = ctx
        .aws
        .ecs
        .describe_task_definition()
        .task_definition(arn)
        .send()
        .await
        .ok()?;
    let td = out.task_definition?;
    td.container_definitions()
        .iter()
        .find(|c| c.name.as_deref() == Some(container::NAME))
        .or_else(|| td.container_definitions().first())
        .and_then(|c| c.image.as_deref())
        .map(ops::image_tag)
}

/// The service's tasks: running ones, then the newest stopped ones.
async fn tasks(ctx: &Ctx<'_>, r: &Resources, service_name: &str) -> Result<Vec<Task>> {
    let mut all = Vec::new();
    for desired in [DesiredStatus::Running, DesiredStatus::Stopped] {
        let mut arns = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = ctx
                .aws
                .ecs
                .list_tasks()
                .cluster(&r.cluster)
                .service_name(service_name)
                .desired_status(desired.clone())
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| {
                    ecs_call(
                        format!("listing the tasks of service {service_name}"),
                        "ecs:ListTasks",
                    )
                    .fail(e)
                })?;
            arns.extend(out.task_arns.unwrap_or_default());
            match out.next_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        for chunk in arns.chunks(100) {
            let out = ctx
                .aws
                .ecs
                .describe_tasks()
                .cluster(&r.cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| {
                    ecs_call(
                        format!("describing the tasks of service {service_name}"),
                        "ecs:DescribeTasks",
                    )
                    .fail(e)
                })?;
            let mut got = out.tasks.unwrap_or_default();
            if desired == DesiredStatus::Stopped {
                got.sort_by_key(|t| std::cmp::Reverse(t.stopped_at.map(|s| s.secs())));
                got.truncate(STOPPED_SHOWN);
            }
            all.extend(got);
        }
    }
    Ok(all)
}

/// One look at the service.
pub async fn snapshot(ctx: &Ctx<'_>, r: &Resources, events_shown: usize) -> Result<Snapshot> {
    let described = ctx
        .aws
        .ecs
        .describe_services()
        .cluster(&r.cluster)
        .services(&r.service)
        .send()
        .await
        .map_err(|e| {
            ecs_call(
                format!("describing service {} in cluster {}", r.service, r.cluster),
                "ecs:DescribeServices",
            )
            .missing(
                &["ClusterNotFoundException", "ServiceNotFoundException"],
                no_service(ctx).error.to_string(),
            )
            .fail(e)
        })?;
    let Some(svc): Option<Service> = described.services.unwrap_or_default().into_iter().next() else {
        return Err(no_service(ctx));
    };
    let service_name = svc
        .service_name
        .clone()
        .unwrap_or_else(|| ops::short(&r.service).to_owned());
    let mut deployments = Vec::new();
    for d in svc.deployments() {
        let td = d.task_definition.clone().unwrap_or_default();
        deployments.push(DeploymentView {
            id: d.id.clone().unwrap_or_default(),
            status: d.status.clone().unwrap_or_default(),
            rollout_state: d.rollout_state.as_ref().map(|s| s.as_str().to_owned()),
            rollout_reason: d.rollout_state_reason.clone().filter(|s| !s.is_empty()),
            image_tag: task_definition_tag(ctx, &td).await,
            task_definition: ops::short(&td).to_owned(),
            desired: d.desired_count,
            running: d.running_count,
            pending: d.pending_count,
            failed: d.failed_tasks,
            updated: d.updated_at.as_ref().map(ops::clock),
        });
    }
    let tasks = tasks(ctx, r, &service_name).await?;
    // Container instances: every one of the cluster (the capacity provider's group's instances).
    let mut instance_arns = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = ctx
            .aws
            .ecs
            .list_container_instances()
            .cluster(&r.cluster)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                ecs_call(
                    format!("listing the container instances of cluster {}", r.cluster),
                    "ecs:ListContainerInstances",
                )
                .fail(e)
            })?;
        instance_arns.extend(out.container_instance_arns.unwrap_or_default());
        match out.next_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => break,
        }
    }
    let mut instances = Vec::new();
    let mut ec2_of: BTreeMap<String, String> = BTreeMap::new();
    for chunk in instance_arns.chunks(100) {
        let out = ctx
            .aws
            .ecs
            .describe_container_instances()
            .cluster(&r.cluster)
            .set_container_instances(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| {
                ecs_call(
                    format!("describing the container instances of cluster {}", r.cluster),
                    "ecs:DescribeContainerInstances",
                )
                .fail(e)
            })?;
        for ci in out.container_instances.unwrap_or_default() {
            let ec2 = ci.ec2_instance_id.clone().unwrap_or_default();
            if let Some(arn) = &ci.container_instance_arn {
                ec2_of.insert(arn.clone(), ec2.clone());
            }
            let attr = |name: &str| {
                ci.attributes()
                    .iter()
                    .find(|a| a.name == name)
                    .and_then(|a| a.value.clone())
            };
            instances.push(InstanceView {
                instance: ec2,
                status: ci.status.clone().unwrap_or_default(),
                agent_connected: ci.agent_connected,
                running_tasks: ci.running_tasks_count,
                pending_tasks: ci.pending_tasks_count,
                instance_type: attr("ecs.instance-type"),
                zone: attr("ecs.availability-zone"),
                status_reason: ci.status_reason.clone().filter(|s| !s.is_empty()),
            });
        }
    }
    let task_views: Vec<TaskView> = tasks
        .iter()
        .map(|t| {
            let app = t
                .containers()
                .iter()
                .find(|c| c.name.as_deref() == Some(container::NAME))
                .or_else(|| t.containers().first());
            let exit = app.and_then(|c| {
                let code = c.exit_code.map(|x| format!("exit {x}"));
                let reason = c.reason.clone().filter(|r| !r.is_empty());
                match (code, reason) {
                    (Some(c), Some(r)) => Some(format!("{c}: {r}")),
                    (c, r) => c.or(r),
                }
            });
            TaskView {
                id: ops::short(t.task_arn.as_deref().unwrap_or_default()).to_owned(),
                status: t.last_status.clone().unwrap_or_default(),
                desired_status: t.desired_status.clone().unwrap_or_default(),
                health: t
                    .health_status
                    .as_ref()
                    .map(|h| h.as_str().to_owned())
                    .or_else(|| app.and_then(|c| c.health_status.as_ref().map(|h| h.as_str().to_owned()))),
                instance: t
                    .container_instance_arn
                    .as_ref()
                    .and_then(|a| ec2_of.get(a).cloned().or_else(|| Some(ops::short(a).to_owned()))),
                host_port: app.and_then(|c| c.network_bindings().iter().find_map(|b| b.host_port)),
                image_tag: app.and_then(|c| c.image.as_deref()).map(ops::image_tag),
                task_definition: ops::short(t.task_definition_arn.as_deref().unwrap_or_default()).to_owned(),
                started: t.started_at.as_ref().map(ops::clock),
                stopped_reason: t.stopped_reason.clone().filter(|s| !s.is_empty()),
                exit,
            }
        })
        .collect();
    let targets = match &r.target_group {
        Some(tg) => {
            let out = ctx
                .aws
                .elb
                .describe_target_health()
                .target_group_arn(tg)
                .send()
                .await
                .map_err(|e| {
                    Call::new(
                        "elasticloadbalancing:DescribeTargetHealth",
                        format!("reading the health of target group {}", target_group_name(tg)),
                    )
                    .fail(e)
                })?;
            out.target_health_descriptions
                .unwrap_or_default()
                .into_iter()
                .map(|d| {
                    let id = d.target.as_ref().and_then(|t| t.id.clone()).unwrap_or_default();
                    let port = d.target.as_ref().and_then(|t| t.port);
                    let health = d.target_health.as_ref();
                    let task = task_views
                        .iter()
                        .find(|t| {
                            t.status == "RUNNING"
                                && t.instance.as_deref() == Some(id.as_str())
                                && t.host_port == port
                        })
                        .map(|t| t.id.clone());
                    TargetView {
                        target: id,
                        port,
                        state: health
                            .and_then(|h| h.state.as_ref())
                            .map_or("unknown", |s| s.as_str())
                            .to_owned(),
                        reason: health
                            .and_then(|h| h.reason.as_ref())
                            .map(|s| s.as_str().to_owned()),
                        description: health
                            .and_then(|h| h.description.clone())
                            .filter(|s| !s.is_empty()),
                        task,
                    }
                })
                .collect()
        }
        None => Vec::new(),
    };
    let capacity_provider = match &r.capacity_provider {
        Some(name) => {
            let out = ctx
                .aws
                .ecs
                .describe_capacity_providers()
                .capacity_providers(name)
                .send()
                .await
                .map_err(|e| {
                    ecs_call(
                        format!("describing capacity provider {name}"),
                        "ecs:DescribeCapacityProviders",
                    )
                    .fail(e)
                })?;
            out.capacity_providers
                .unwrap_or_default()
                .into_iter()
                .next()
                .map(|cp| {
                    let asg = cp.auto_scaling_group_provider.as_ref();
                    CapacityView {
                        name: cp.name.clone().unwrap_or_else(|| name.clone()),
                        status: cp.status.as_ref().map(|s| s.as_str().to_owned()),
                        group: asg
                            .map(|a| ops::short(&a.auto_scaling_group_arn).to_owned())
                            .or_else(|| r.group.clone()),
                        managed_scaling: asg
                            .and_then(|a| a.managed_scaling.as_ref())
                            .and_then(|m| m.status.as_ref())
                            .map(|s| s.as_str().to_owned()),
                        target_capacity: asg
                            .and_then(|a| a.managed_scaling.as_ref())
                            .and_then(|m| m.target_capacity),
                        managed_draining: asg
                            .and_then(|a| a.managed_draining.as_ref())
                            .map(|s| s.as_str().to_owned()),
                    }
                })
        }
        None => None,
    };
    let deployment_alarms = svc
        .deployment_configuration
        .as_ref()
        .and_then(|c| c.alarms.as_ref());
    let alarm_names: Vec<String> = match deployment_alarms {
        Some(a) if !a.alarm_names.is_empty() => a.alarm_names.clone(),
        _ => r.alarms.clone(),
    };
    let alarms = if alarm_names.is_empty() {
        Vec::new()
    } else {
        let out = ctx
            .aws
            .cloudwatch
            .describe_alarms()
            .set_alarm_names(Some(alarm_names.clone()))
            .send()
            .await
            .map_err(|e| {
                Call::new(
                    "cloudwatch:DescribeAlarms",
                    "reading the deployment alarms".to_owned(),
                )
                .fail(e)
            })?;
        out.metric_alarms
            .unwrap_or_default()
            .into_iter()
            .map(|a| AlarmView {
                name: a.alarm_name.unwrap_or_default(),
                state: a
                    .state_value
                    .as_ref()
                    .map_or("UNKNOWN", |s| s.as_str())
                    .to_owned(),
                reason: a.state_reason.filter(|s| !s.is_empty()),
                since: a.state_updated_timestamp.as_ref().map(ops::clock),
            })
            .collect()
    };
    let events = svc
        .events()
        .iter()
        .take(events_shown)
        .map(|e| {
            (
                e.created_at.as_ref().map(ops::clock).unwrap_or_default(),
                e.message.clone().unwrap_or_default(),
            )
        })
        .collect();
    Ok(Snapshot {
        stage: ctx.names.stage().to_owned(),
        cluster: ops::short(&r.cluster).to_owned(),
        service: service_name,
        status: svc.status.clone().unwrap_or_default(),
        desired: svc.desired_count,
        running: svc.running_count,
        pending: svc.pending_count,
        deployments,
        tasks: task_views,
        target_group: r.target_group.as_deref().map(|t| target_group_name(t).to_owned()),
        targets,
        capacity_provider,
        instances,
        alarms_roll_back: deployment_alarms.map(|a| a.enable && a.rollback),
        alarms,
        events,
    })
}

/// `arn:...:targetgroup/NAME/hash` → `NAME`.
fn target_group_name(arn: &str) -> &str {
    arn.split('/').nth(1).unwrap_or(arn)
}

fn or_dash(v: Option<&str>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or("-").to_owned()
}

/// The snapshot as text.
pub fn render(p: &crate::output::Printer, s: &Snapshot) -> Vec<String> {
    let mut out = vec![format!(
        "service {} (cluster {}, stage {}): {}, {} desired, {} running, {} pending",
        s.service, s.cluster, s.stage, s.status, s.desired, s.running, s.pending
    )];
    out.push("deployments:".to_owned());
    let rows: Vec<Vec<String>> = s
        .deployments
        .iter()
        .map(|d| {
            let rollout = match d.rollout_state.as_deref() {
                Some("FAILED") => p.alarm("FAILED"),
                Some(r) => r.to_owned(),
                None => "-".to_owned(),
            };
            vec![
                d.id.clone(),
                d.status.clone(),
                rollout,
                d.task_definition.clone(),
                d.image_tag.as_deref().map_or("-".to_owned(), ops::short_tag),
                d.desired.to_string(),
                d.running.to_string(),
                d.pending.to_string(),
                d.failed.to_string(),
                or_dash(d.updated.as_deref()),
            ]
        })
        .collect();
    for line in table(
        &[
            "Deployment",
            "Status",
            "Rollout",
            "Task definition",
            "Image",
            "Desired",
            "Running",
            "Pending",
            "Failed",
            "Updated",
        ],
        &rows,
    ) {
        out.push(format!("  {line}"));
    }
    for d in &s.deployments {
        if let Some(reason) = &d.rollout_reason {
            out.push(format!("  {}: {reason}", d.id));
        }
    }
    out.push(format!("tasks ({}):", s.tasks.len()));
    if s.tasks.is_empty() {
        out.push("  none".to_owned());
    } else {
        let rows: Vec<Vec<String>> = s
            .tasks
            .iter()
            .map(|t| {
                let health = match t.health.as_deref() {
                    Some("UNHEALTHY") => p.alarm("UNHEALTHY"),
                    other => or_dash(other),
                };
                let detail = match (&t.stopped_reason, &t.exit) {
                    (Some(r), Some(e)) => format!("stopped: {r} ({e})"),
                    (Some(r), None) => format!("stopped: {r}"),
                    (None, Some(e)) if t.status == "STOPPED" => e.clone(),
                    _ => String::new(),
                };
                vec![
                    t.id.chars().take(12).collect(),
                    if t.status == t.desired_status || t.desired_status.is_empty() {
                        t.status.clone()
                    } else {
                        format!("{} -> {}", t.status, t.desired_status)
                    },
                    health,
                    match (&t.instance, t.host_port) {
                        (Some(i), Some(port)) => format!("{i}:{port}"),
                        (Some(i), None) => i.clone(),
                        _ => "-".to_owned(),
                    },
                    t.image_tag.as_deref().map_or("-".to_owned(), ops::short_tag),
                    t.task_definition.clone(),
                    or_dash(t.started.as_deref()),
                    detail,
                ]
            })
            .collect();
        for line in table(
            &[
                "Task",
                "Status",
                "Health",
                "Instance",
                "Image",
                "Task definition",
                "Started",
                "Detail",
            ],
            &rows,
        ) {
            out.push(format!("  {line}"));
        }
    }
    match &s.target_group {
        Some(tg) => {
            out.push(format!("targets (target group {tg}):"));
            if s.targets.is_empty() {
                out.push("  none registered".to_owned());
            } else {
                let rows: Vec<Vec<String>> = s
                    .targets
                    .iter()
                    .map(|t| {
                        let state = match t.state.as_str() {
                            "healthy" => t.state.clone(),
                            "unhealthy" => p.alarm("unhealthy"),
                            other => p.caution(other),
                        };
                        let why = match (&t.reason, &t.description) {
                            (Some(r), Some(d)) => format!("{r}: {d}"),
                            (r, d) => r.clone().or(d.clone()).unwrap_or_default(),
                        };
                        vec![
                            match t.port {
                                Some(port) => format!("{}:{port}", t.target),
                                None => t.target.clone(),
                            },
                            state,
                            t.task
                                .as_deref()
                                .map_or("-".to_owned(), |id| id.chars().take(12).collect()),
                            why,
                        ]
                    })
                    .collect();
                for line in table(&["Target", "State", "Task", "Reason"], &rows) {
                    out.push(format!("  {line}"));
                }
            }
        }
        None => out.push("targets: the service stack has no target group".to_owned()),
    }
    match &s.capacity_provider {
        Some(cp) => out.push(format!(
            "instances (capacity provider {}: {}, group {}, managed scaling {}{}, managed draining {}):",
            cp.name,
            or_dash(cp.status.as_deref()),
            or_dash(cp.group.as_deref()),
            or_dash(cp.managed_scaling.as_deref()),
            cp.target_capacity
                .map(|t| format!(" at {t}%"))
                .unwrap_or_default(),
            or_dash(cp.managed_draining.as_deref()),
        )),
        None => out.push("instances (the cluster's container instances):".to_owned()),
    }
    if s.instances.is_empty() {
        out.push("  none registered".to_owned());
    } else {
        let rows: Vec<Vec<String>> = s
            .instances
            .iter()
            .map(|i| {
                vec![
                    i.instance.clone(),
                    match &i.status_reason {
                        Some(r) => format!("{} ({r})", i.status),
                        None => i.status.clone(),
                    },
                    if i.agent_connected {
                        "connected".to_owned()
                    } else {
                        p.alarm("disconnected")
                    },
                    format!("{} running, {} pending", i.running_tasks, i.pending_tasks),
                    or_dash(i.instance_type.as_deref()),
                    or_dash(i.zone.as_deref()),
                ]
            })
            .collect();
        for line in table(&["Instance", "Status", "Agent", "Tasks", "Type", "Zone"], &rows) {
            out.push(format!("  {line}"));
        }
    }
    if !s.alarms.is_empty() {
        out.push(format!(
            "deployment alarms{}:",
            match s.alarms_roll_back {
                Some(true) => " (an alarm rolls the deployment back)",
                Some(false) => " (not rolling deployments back)",
                None => "",
            }
        ));
        let rows: Vec<Vec<String>> = s
            .alarms
            .iter()
            .map(|a| {
                vec![
                    a.name.clone(),
                    if a.state == "ALARM" {
                        p.alarm("ALARM")
                    } else {
                        a.state.clone()
                    },
                    or_dash(a.since.as_deref()),
                    a.reason.clone().unwrap_or_default(),
                ]
            })
            .collect();
        for line in table(&["Alarm", "State", "Since", "Reason"], &rows) {
            out.push(format!("  {line}"));
        }
    }
    out.push("events (newest first):".to_owned());
    if s.events.is_empty() {
        out.push("  none".to_owned());
    }
    for (time, message) in &s.events {
        out.push(format!("  {time}  {message}"));
    }
    out
}

/// `service status [--watch]`.
pub async fn status(ctx: &Ctx<'_>, watch: bool, events: usize, json_out: bool) -> Result<Code> {
    let p = ctx.printer;
    let r = resources(ctx).await?;
    let mut last: Option<Snapshot> = None;
    loop {
        let s = snapshot(ctx, &r, events).await?;
        if last.as_ref() != Some(&s) {
            if json_out {
                p.data(&json!(s).to_string());
            } else {
                if watch && p.tty {
                    // Redraw in place: the terminal's screen, cleared.
                    p.data("\x1b[H\x1b[2J");
                } else if last.is_some() {
                    p.data("");
                }
                for line in render(p, &s) {
                    p.data(&line);
                }
            }
        }
        if !watch {
            return Ok(Code::Ok);
        }
        match s.rollout_ended() {
            Some(true) => {
                p.line("the rollout is complete: every task runs the primary deployment");
                return Ok(Code::Ok);
            }
            Some(false) => {
                let primary = s.deployments.iter().find(|d| d.status == "PRIMARY");
                let reason = primary
                    .and_then(|d| d.rollout_reason.clone())
                    .unwrap_or_else(|| "ECS gave no reason".to_owned());
                let stopped: Vec<String> = s
                    .tasks
                    .iter()
                    .filter_map(|t| t.stopped_reason.as_ref().map(|r| format!("task {}: {r}", t.id)))
                    .take(3)
                    .collect();
                let unhealthy: Vec<String> = s
                    .targets
                    .iter()
                    .filter(|t| t.state == "unhealthy")
                    .map(|t| {
                        format!(
                            "target {}: {}",
                            t.target,
                            t.description.clone().or(t.reason.clone()).unwrap_or_default()
                        )
                    })
                    .collect();
                p.line(&p.alarm(&format!("the rollout failed: {reason}")));
                for line in stopped.iter().chain(&unhealthy) {
                    p.line(&format!("  {line}"));
                }
                fail!(Code::StackFailed, "the rollout of service {} failed", s.service);
            }
            None => {}
        }
        if s.deployments
            .iter()
            .any(|d| d.rollout_state.as_deref() == Some(DeploymentRolloutState::InProgress.as_str()))
            && last.is_none()
        {
            p.line(
                "a rollout is in progress: refreshing until it ends (Ctrl-C stops watching, not the rollout)",
            );
        }
        last = Some(s);
        if ctx.interrupt.sleep(ctx.pacing.max).await {
            p.line(&format!(
                "stopped watching; ECS goes on with the rollout. Watch it again with:\n  {} --watch",
                ctx.hint("service status")
            ));
            return Err(Failure::new(Code::Interrupted, "interrupted"));
        }
    }
}
