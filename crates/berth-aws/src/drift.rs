//! `drift <pipeline|service>`: CloudFormation's drift detection on a stack of the stage, and each
//! drifted resource with its property differences (what the template says against what is there).
//! `deploy`/`diff --revert-drift` then make a drift-aware change set that brings them back.

use aws_sdk_cloudformation::types::{
    StackDriftDetectionStatus, StackResourceDrift, StackResourceDriftStatus,
};
use pipeline_model::Stack;
use serde::Serialize;
use serde_json::json;

use crate::exit::{Code, Failure, Result};
use crate::fail;
use crate::ops::{Call, Ctx};
use crate::stack;

/// One property that differs.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Difference {
    pub path: String,
    /// `ADD`, `REMOVE` or `NOT_EQUAL`.
    pub kind: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
}

/// One drifted resource.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Drifted {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    /// `MODIFIED` or `DELETED`.
    pub status: String,
    pub differences: Vec<Difference>,
}

fn drifted(d: &StackResourceDrift) -> Drifted {
    Drifted {
        logical_id: d.logical_resource_id.clone().unwrap_or_default(),
        resource_type: d.resource_type.clone().unwrap_or_default(),
        physical_id: d.physical_resource_id.clone().unwrap_or_default(),
        status: d
            .stack_resource_drift_status
            .as_ref()
            .map_or("", |s| s.as_str())
            .to_owned(),
        differences: d
            .property_differences()
            .iter()
            .map(|p| Difference {
                path: p.property_path.clone().unwrap_or_default(),
                kind: p.difference_type.as_ref().map_or("", |k| k.as_str()).to_owned(),
                expected: p.expected_value.clone().filter(|v| !v.is_empty()),
                actual: p.actual_value.clone().filter(|v| !v.is_empty()),
            })
            .collect(),
    }
}

/// `drift`: detects, waits, lists. Returns whether anything drifted.
pub async fn run(ctx: &Ctx<'_>, which: Stack, json_out: bool) -> Result<bool> {
    let p = ctx.printer;
    let cfn = &ctx.aws.cfn;
    let name = ctx.stack(which);
    let Some(s) = stack::describe(cfn, &name).await? else {
        fail!(
            Code::Error,
            "{name} does not exist: nothing to check for drift (`{}` creates it)",
            ctx.hint(&format!("deploy {}", which.suffix()))
        );
    };
    let status = stack::status(&s);
    if stack::classify(&status) == stack::Class::InProgress {
        fail!(
            Code::Blocked,
            "{name} is {}: drift detection waits for the running operation to end",
            status.as_str()
        );
    }
    let id = cfn
        .detect_stack_drift()
        .stack_name(&name)
        .send()
        .await
        .map_err(|e| {
            Call::new(
                "cloudformation:DetectStackDrift",
                format!("starting drift detection on {name}"),
            )
            .fail(e)
        })?
        .stack_drift_detection_id
        .unwrap_or_default();
    p.line(&format!(
        "{name}: detecting drift (CloudFormation compares every resource with the template)"
    ));
    let mut delay = ctx.pacing.first;
    let (stack_status, count) = loop {
        let out = cfn
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(&id)
            .send()
            .await
            .map_err(|e| {
                Call::new(
                    "cloudformation:DescribeStackDriftDetectionStatus",
                    format!("reading drift detection {id} of {name}"),
                )
                .fail(e)
            })?;
        match out.detection_status {
            Some(StackDriftDetectionStatus::DetectionInProgress) | None => {}
            Some(detection) => {
                let reason = out.detection_status_reason.filter(|r| !r.is_empty());
                if detection == StackDriftDetectionStatus::DetectionFailed {
                    // Some resource types cannot be checked: the others' results still count.
                    p.line(&format!(
                        "note: drift detection did not check everything: {}",
                        reason.as_deref().unwrap_or("no reason given")
                    ));
                }
                break (
                    out.stack_drift_status
                        .as_ref()
                        .map_or("UNKNOWN", |s| s.as_str())
                        .to_owned(),
                    out.drifted_stack_resource_count.unwrap_or(0),
                );
            }
        }
        if ctx.interrupt.sleep(delay).await {
            p.line("stopped waiting; the detection goes on in CloudFormation");
            return Err(Failure::new(Code::Interrupted, "interrupted"));
        }
        delay = delay.mul_f64(1.5).clamp(ctx.pacing.first, ctx.pacing.max);
    };
    let mut resources = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = cfn
            .describe_stack_resource_drifts()
            .stack_name(&name)
            .stack_resource_drift_status_filters(StackResourceDriftStatus::Modified)
            .stack_resource_drift_status_filters(StackResourceDriftStatus::Deleted)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                Call::new(
                    "cloudformation:DescribeStackResourceDrifts",
                    format!("reading the drifted resources of {name}"),
                )
                .fail(e)
            })?;
        resources.extend(out.stack_resource_drifts.unwrap_or_default().iter().map(drifted));
        match out.next_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => break,
        }
    }
    resources.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    if json_out {
        p.data(&json!({"stack": name, "status": stack_status, "drifted": resources}).to_string());
        return Ok(!resources.is_empty());
    }
    if resources.is_empty() {
        p.data(&format!(
            "{name}: {stack_status}: no resource drifted{}",
            if stack_status == "IN_SYNC" {
                ""
            } else {
                " (of those CloudFormation can check)"
            }
        ));
        return Ok(false);
    }
    p.data(&format!(
        "{name}: {stack_status}: {} resource{} drifted",
        count.max(resources.len() as i32),
        if resources.len() == 1 { "" } else { "s" }
    ));
    for r in &resources {
        p.data(&format!(
            "  {} ({}) {}: {}",
            r.logical_id,
            r.resource_type,
            r.physical_id,
            p.caution(&r.status)
        ));
        for d in &r.differences {
            p.data(&format!("    {} ({})", d.path, d.kind));
            p.data(&format!(
                "      expected: {}",
                d.expected.as_deref().unwrap_or("(not set)")
            ));
            p.data(&format!(
                "      actual:   {}",
                d.actual.as_deref().unwrap_or("(not set)")
            ));
        }
    }
    p.line(&format!(
        "hint: `{} --revert-drift` shows the change set that brings them back to the template; `deploy ... --revert-drift` executes it",
        ctx.hint(&format!("diff {}", which.suffix()))
    ));
    Ok(true)
}
