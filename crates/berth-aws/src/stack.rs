//! A stack's state, and what it allows.

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{Stack, StackStatus};

use crate::exit::Result;

/// What a stack's status means for a deploy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Class {
    /// No such stack: create it.
    Missing,
    /// A stable state from which a change set can update it.
    Updatable,
    /// `ROLLBACK_COMPLETE`, `ROLLBACK_FAILED`, `CREATE_FAILED`, `REVIEW_IN_PROGRESS`: it can only be
    /// deleted and created again.
    NeedsRecreate,
    /// `UPDATE_ROLLBACK_FAILED`: needs `ContinueUpdateRollback`.
    RollbackFailed,
    /// `DELETE_FAILED`: destroy it again.
    DeleteFailed,
    /// An operation is running.
    InProgress,
}

pub fn classify(status: &StackStatus) -> Class {
    match status {
        StackStatus::CreateComplete
        | StackStatus::UpdateComplete
        | StackStatus::UpdateRollbackComplete
        | StackStatus::ImportComplete
        | StackStatus::ImportRollbackComplete => Class::Updatable,
        StackStatus::RollbackComplete
        | StackStatus::RollbackFailed
        | StackStatus::CreateFailed
        | StackStatus::ReviewInProgress => Class::NeedsRecreate,
        StackStatus::UpdateRollbackFailed => Class::RollbackFailed,
        StackStatus::DeleteFailed => Class::DeleteFailed,
        StackStatus::DeleteComplete => Class::Missing,
        _ => Class::InProgress,
    }
}

/// True for a status no operation will move on from by itself.
pub fn is_terminal(status: &StackStatus) -> bool {
    !matches!(classify(status), Class::InProgress) || *status == StackStatus::ReviewInProgress
}

/// True for the terminal statuses that mean the last operation failed.
pub fn is_failure(status: &StackStatus) -> bool {
    matches!(
        status,
        StackStatus::CreateFailed
            | StackStatus::DeleteFailed
            | StackStatus::RollbackComplete
            | StackStatus::RollbackFailed
            | StackStatus::UpdateFailed
            | StackStatus::UpdateRollbackComplete
            | StackStatus::UpdateRollbackFailed
            | StackStatus::ImportRollbackComplete
            | StackStatus::ImportRollbackFailed
    )
}

/// The stack by name or ID, or `None` when it does not exist.
pub async fn describe(cfn: &Client, name: &str) -> Result<Option<Stack>> {
    match cfn.describe_stacks().stack_name(name).send().await {
        Ok(out) => Ok(out.stacks.unwrap_or_default().into_iter().next()),
        Err(e) => {
            let missing = e.code() == Some("ValidationError")
                && e.message().is_some_and(|m| m.contains("does not exist"));
            if missing {
                Ok(None)
            } else {
                Err(anyhow::Error::new(e)
                    .context(format!("describing stack {name}"))
                    .into())
            }
        }
    }
}

/// A stack's status (`UNKNOWN` when CloudFormation gave none).
pub fn status(stack: &Stack) -> StackStatus {
    stack
        .stack_status
        .clone()
        .unwrap_or_else(|| StackStatus::from("UNKNOWN"))
}

/// A stack's status, as text.
pub fn status_of(stack: &Stack) -> &str {
    stack.stack_status.as_ref().map_or("UNKNOWN", |s| s.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        for (s, c) in [
            (StackStatus::CreateComplete, Class::Updatable),
            (StackStatus::UpdateRollbackComplete, Class::Updatable),
            (StackStatus::RollbackComplete, Class::NeedsRecreate),
            (StackStatus::ReviewInProgress, Class::NeedsRecreate),
            (StackStatus::UpdateRollbackFailed, Class::RollbackFailed),
            (StackStatus::UpdateInProgress, Class::InProgress),
            (StackStatus::UpdateCompleteCleanupInProgress, Class::InProgress),
            (StackStatus::DeleteFailed, Class::DeleteFailed),
        ] {
            assert_eq!(classify(&s), c, "{s:?}");
        }
        assert!(is_terminal(&StackStatus::RollbackComplete));
        assert!(!is_terminal(&StackStatus::UpdateRollbackInProgress));
        assert!(is_failure(&StackStatus::UpdateRollbackComplete));
        assert!(!is_failure(&StackStatus::UpdateComplete));
    }
}
