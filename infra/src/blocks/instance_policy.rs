//! The container instances' own permissions beyond AWS's managed ECS and SSM policies, kept in the
//! pipeline stack (the instance role is the service stack's and attaches this policy by its contract
//! name, as the task execution role does): signal the service stack's Auto Scaling group, for the
//! instances' UserData when `cfn-signal` could not be installed.

use cfn::Res;
use cfn::Template;
use cfn::policy::{PolicyDocument, Statement};
use cfn::resources::iam;
use pipeline_model::Stack;

use crate::naming::StageNames;

#[derive(Clone, Copy)]
pub struct InstancePolicy {
    pub policy: Res<iam::ManagedPolicy>,
}

impl InstancePolicy {
    pub fn add(t: &mut Template, n: StageNames) -> InstancePolicy {
        let names = n.names();
        let policy = t.add(
            "InstancePolicy",
            iam::ManagedPolicy::new(
                PolicyDocument::new().statement(
                    Statement::allow()
                        .sid("SignalTheServiceStack")
                        .actions(["cloudformation:SignalResource"])
                        .resource(n.arn(
                            "cloudformation",
                            format!("stack/{}/*", names.stack(Stack::Service)),
                        )),
                ),
            )
            .managed_policy_name(n.sub(names.instance_policy()))
            .description(n.sub("berth ${AppName}/${StageName}: the service's container instances")),
        );
        InstancePolicy { policy }
    }
}
