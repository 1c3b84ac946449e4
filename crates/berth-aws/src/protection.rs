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
use crate::follow::Interrupt;

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
    /// After Ctrl-C: the error that ends the command before its next write, saying what was let go.
    fn stop_if(&self, interrupt: &Interrupt) -> Result<()> {
        if !interrupt.fired() {
            return Ok(());
        }
        // Said with what was let go before Ctrl-C.
        let done = self.lines();
        interrupt.check(&if done.is_empty() {
            "nothing deleted".to_owned()
        } else {
            format!("nothing deleted; already done:\n  {}", done.join("\n  "))
        })
    }

    /// One line per thing let go, for the person who asked for the delete.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .capacity_providers
            .iter()
            .map(|cp| format!("turned off managed termination protection of capacity provider {cp}"))
            .collect();
        for (group, ids) in self.instances.iter().filter(|(_, ids)| !ids.is_empty()) {
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

/// Lets go of what would hold the deletion of `stack`: see the module's documentation. Resources
/// already deleted (a stack whose delete failed, or that rolled back) are skipped, and so is a provider
/// ECS no longer has. After Ctrl-C no further write is sent, and the error says what was let go.
pub async fn release(
    cfn: &CloudFormation,
    clients: &Clients,
    stack: &str,
    interrupt: &Interrupt,
) -> Result<Released> {
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
            .filter(|r| {
                !r.resource_status
                    .as_ref()
                    .is_some_and(|s| s.as_str().starts_with("DELETE_"))
            })
            .filter_map(|r| r.physical_resource_id.clone())
            .filter(|id| !id.is_empty())
            .collect()
    };
    let mut released = Released::default();
    // First the providers: ECS would otherwise mark again the instances that still run tasks.
    for name in physical("AWS::ECS::CapacityProvider") {
        released.stop_if(interrupt)?;
        let sent = clients
            .ecs
            .update_capacity_provider()
            .name(&name)
            .auto_scaling_group_provider(
                AutoScalingGroupProviderUpdate::builder()
                    .managed_termination_protection(ManagedTerminationProtection::Disabled)
                    .build(),
            )
            .send()
            .await;
        match sent {
            Ok(_) => released.capacity_providers.push(name),
            // Deleted already, or being deleted: it marks nothing any more.
            Err(e) if provider_gone(&e) => {}
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!(
                        "turning off managed termination protection of capacity provider {name}"
                    ))
                    .into());
            }
        }
    }
    for group in physical("AWS::AutoScaling::AutoScalingGroup") {
        let described = clients
            .autoscaling
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(&group)
            .send()
            .await
            .with_context(|| format!("reading the instances of {group}"))?;
        let Some(g) = described.auto_scaling_groups().first() else {
            continue;
        };
        // No instance the group still starts (before it is deleted) starts protected...
        if g.new_instances_protected_from_scale_in() == Some(true) {
            released.stop_if(interrupt)?;
            clients
                .autoscaling
                .update_auto_scaling_group()
                .auto_scaling_group_name(&group)
                .new_instances_protected_from_scale_in(false)
                .send()
                .await
                .with_context(|| format!("starting the new instances of {group} unprotected"))?;
        }
        // ...and none of those it has stays protected.
        let protected: Vec<String> = g
            .instances()
            .iter()
            .filter(|i| i.protected_from_scale_in() == Some(true))
            .filter_map(|i| i.instance_id().map(str::to_owned))
            .collect();
        released.instances.push((group, Vec::new()));
        for ids in protected.chunks(MAX_INSTANCES_PER_CALL) {
            released.stop_if(interrupt)?;
            let (group, cleared) = released.instances.last_mut().expect("pushed above");
            clients
                .autoscaling
                .set_instance_protection()
                .auto_scaling_group_name(group.as_str())
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
            cleared.extend_from_slice(ids);
        }
    }
    released.instances.retain(|(_, ids)| !ids.is_empty());
    Ok(released)
}

/// True when ECS says the capacity provider is gone (deleted, or being deleted).
fn provider_gone<R>(
    e: &aws_sdk_ecs::error::SdkError<
        aws_sdk_ecs::operation::update_capacity_provider::UpdateCapacityProviderError,
        R,
    >,
) -> bool {
    use aws_sdk_ecs::error::ProvideErrorMetadata as _;
    e.as_service_error().is_some_and(|s| {
        let m = s.message().unwrap_or_default().to_ascii_lowercase();
        m.contains("does not exist")
            || m.contains("not found")
            || m.contains("inactive")
            || m.contains("deleting")
    })
}
