//! CloudFormation's early validation of a change set (since 2025): a change set that fails it says
//! only "FAILED" and a generic reason in `DescribeChangeSet`; the errors themselves (a name already
//! taken, a property the resource type does not accept, ...) come from `DescribeEvents` filtered by
//! the change set.

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{EventFilter, EventType, OperationEvent};

use crate::exit::Result;
use crate::ops::Call;

/// One validation error, as a line: `Bucket (AWS::S3::Bucket) at /Resources/Bucket/Properties:
/// NAME_CONFLICT: ...`.
pub fn describe(e: &OperationEvent) -> String {
    let mut line = String::new();
    if let Some(id) = e.logical_resource_id.as_deref().filter(|i| !i.is_empty()) {
        line.push_str(id);
        if let Some(ty) = e.resource_type.as_deref().filter(|t| !t.is_empty()) {
            line.push_str(&format!(" ({ty})"));
        }
    } else {
        line.push_str("the template");
    }
    if let Some(path) = e.validation_path.as_deref().filter(|p| !p.is_empty()) {
        line.push_str(&format!(" at {path}"));
    }
    line.push_str(": ");
    if let Some(name) = e.validation_name.as_deref().filter(|n| !n.is_empty()) {
        line.push_str(&format!("{name}: "));
    }
    let reason = e
        .validation_status_reason
        .as_deref()
        .or(e.resource_status_reason.as_deref())
        .filter(|r| !r.is_empty())
        .unwrap_or("no reason given");
    line.push_str(reason);
    line
}

/// The validation errors of a change set, oldest first (empty when there are none).
pub async fn errors(cfn: &Client, stack: &str, change_set: &str) -> Result<Vec<String>> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = cfn
            .describe_events()
            .stack_name(stack)
            .change_set_name(change_set)
            .filters(EventFilter::builder().failed_events(true).build())
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                Call::new(
                    "cloudformation:DescribeEvents",
                    format!("reading the validation errors of change set {change_set}"),
                )
                .fail(e)
            })?;
        events.extend(out.operation_events.unwrap_or_default());
        match out.next_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => break,
        }
    }
    events.retain(|e| {
        e.event_type == Some(EventType::ValidationError)
            || e.validation_status
                .as_ref()
                .is_some_and(|s| s.as_str() == "FAILED")
    });
    events.sort_by_key(|e| e.timestamp.map(|t| (t.secs(), t.subsec_nanos())));
    Ok(events.iter().map(describe).collect())
}
