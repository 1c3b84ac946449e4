//! Before a stack with container instances is deleted: what ECS's managed termination protection
//! holds is let go, or CloudFormation's delete of the Auto Scaling group waits for ever.
//!
//! With managed termination protection, ECS marks each instance that runs tasks "protected from
//! scale-in", and the group starts every instance protected (`NewInstancesProtectedFromScaleIn`).
//! Deleting the capacity provider leaves those marks in place (aws/containers-roadmap#2862), so the
//! group, deleted after it, cannot scale to zero and the stack hangs in `DELETE_IN_PROGRESS`
//! (aws/aws-cdk#18179). So, before `DeleteStack`, berth turns the protection off on the stack's
//! capacity providers (ECS stops marking instances) and then clears the marks on the stack's groups.
//! Neither emulator models this (moto keeps the marks but deletes the group anyway; LocalStack does
//! not create the group): the calls are tested against moto and scripted answers, the hang is AWS's.

use anyhow::Context as _;
use aws_sdk_autoscaling::Client as AutoScaling;
use aws_sdk_cloudformation::Client as CloudFormation;
use aws_sdk_ecs::Client as Ecs;
use aws_sdk_ecs::types::{AutoScalingGroupProviderUpdate, ManagedTerminationProtection};

use crate::exit::Result;

/// The clients the release needs besides CloudFormation's.
pub struct Clients {
    pub ecs: Ecs,
    pub autoscaling: AutoScaling,
}

impl Clients {
    /// The clients of a session.
    pub fn of(session: &crate::aws::Aws) -> Clients {
        let conf = &session.config;
        Clients {
            ecs: Ecs::from_conf(
                aws_sdk_ecs::config::Builder::from(conf)
                    .retry_classifier(crate::aws::unreachable_is_final())
                    .build(),
            ),
            autoscaling: AutoScaling::from_conf(
                aws_sdk_autoscaling::config::Builder::from(conf)
                    .retry_classifier(crate::aws::unreachable_is_final())
                    .build(),
            ),
        }
    }
}

/// What [`release`] let go.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Released {
    /// Capacity providers whose managed termination protection was turned off.
    pub capacity_providers: Vec<String>,
    /// Per Auto Scaling group, the instances whose scale-in protection was cleared.
    pub instances: Vec<(String, Vec<String>)>,
}

impl Released {
    /// One line per thing let go, for the person who asked for the delete.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .capacity_providers
            .iter()
            .map(|cp| format!("turned off managed termination protection of capacity provider {cp}"))
            .collect();
        for (group, ids) in &self.instances {
            out.push(format!(
                "cleared scale-in protection of {} instance{} in {group} (or deleting the group would wait for ever)",
                ids.len(),
                if ids.len() == 1 { "" } else { "s" }
            ));
        }
        out
    }
}

/// SetInstanceProtection takes at most this many instances per call.
const MAX_INSTANCES_PER_CALL: usize = 50;

/// Lets go of what would hold the deletion of `stack`: see the module's documentation.
pub async fn release(cfn: &CloudFormation, clients: &Clients, stack: &str) -> Result<Released> {
    let resources = cfn
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .with_context(|| format!("listing the resources of {stack}"))?
        .stack_resources
        .unwrap_or_default();
    let physical = |ty: &str| -> Vec<String> {
        resources
            .iter()
            .filter(|r| r.resource_type.as_deref() == Some(ty))
            .filter_map(|r| r.physical_resource_id.clone())
            .filter(|id| !id.is_empty())
            .collect()
    };
    let mut released = Released::default();
    // First the providers: ECS would otherwise mark again the instances that still run tasks.
    for name in physical("AWS::ECS::CapacityProvider") {
        clients
            .ecs
            .update_capacity_provider()
            .name(&name)
            .auto_scaling_group_provider(
                AutoScalingGroupProviderUpdate::builder()
                    .managed_termination_protection(ManagedTerminationProtection::Disabled)
                    .build(),
            )
            .send()
            .await
            .with_context(|| {
                format!("turning off managed termination protection of capacity provider {name}")
            })?;
        released.capacity_providers.push(name);
    }
    for group in physical("AWS::AutoScaling::AutoScalingGroup") {
        let described = clients
            .autoscaling
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(&group)
            .send()
            .await
            .with_context(|| format!("reading the instances of {group}"))?;
        let protected: Vec<String> = described
            .auto_scaling_groups()
            .iter()
            .flat_map(|g| g.instances())
            .filter(|i| i.protected_from_scale_in() == Some(true))
            .filter_map(|i| i.instance_id().map(str::to_owned))
            .collect();
        for ids in protected.chunks(MAX_INSTANCES_PER_CALL) {
            clients
                .autoscaling
                .set_instance_protection()
                .auto_scaling_group_name(&group)
                .set_instance_ids(Some(ids.to_vec()))
                .protected_from_scale_in(false)
                .send()
                .await
                .with_context(|| {
                    format!(
                        "clearing the scale-in protection of {} in {group}",
                        ids.join(", ")
                    )
                })?;
        }
        if !protected.is_empty() {
            released.instances.push((group, protected));
        }
    }
    Ok(released)
}
