//! What ECS Exec needs of the tasks' role, kept in the pipeline stack and attached by the service
//! stack's task role, by its contract name, only when the stage opts in (`service.exec`): the Session
//! Manager channel the ECS agent opens into the container.

use cfn::policy::{PolicyDocument, Statement};
use cfn::resources::iam;
use cfn::{Res, Template};

use crate::naming::StageNames;

#[derive(Clone, Copy)]
pub struct ExecPolicy {
    pub policy: Res<iam::ManagedPolicy>,
}

impl ExecPolicy {
    pub fn add(t: &mut Template, n: StageNames) -> ExecPolicy {
        let names = n.names();
        let policy = t.add(
            "ExecPolicy",
            iam::ManagedPolicy::new(
                PolicyDocument::new().statement(
                    Statement::allow()
                        .sid("ExecChannel")
                        // Session Manager's channel actions take no resource: AWS accepts only "*".
                        .actions([
                            "ssmmessages:CreateControlChannel",
                            "ssmmessages:CreateDataChannel",
                            "ssmmessages:OpenControlChannel",
                            "ssmmessages:OpenDataChannel",
                        ])
                        .resource("*"),
                ),
            )
            .managed_policy_name(n.sub(names.exec_policy()))
            .description(n.sub("berth ${AppName}/${StageName}: ECS Exec into the service's tasks (opt-in)")),
        );
        ExecPolicy { policy }
    }
}
