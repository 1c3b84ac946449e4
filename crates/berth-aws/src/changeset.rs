//! Change sets: create one, wait for it, read it, show it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::collections::BTreeSet;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    Capability, Change, ChangeSetStatus, ChangeSetType, DeploymentMode, Parameter, Replacement, Tag,
};
use serde_json::Value;

use crate::exit::{Code, Failure, Result};
use crate::fail;
use crate::follow::{Interrupt, Pacing};
use crate::output::{Printer, table};

/// A parameter's value in a change set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamValue {
    Value(String),
    /// Keep the value the stack has (only for an update).
    UsePrevious,
}

/// Where the template comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateSource {
    Body(String),
    Url(String),
}

/// Everything a change set needs besides the stack name.
#[derive(Clone, Debug)]
pub struct Spec {
    pub template: TemplateSource,
    pub parameters: Vec<(String, ParamValue)>,
    pub capabilities: Vec<Capability>,
    pub tags: Vec<(String, String)>,
    pub role_arn: Option<String>,
    pub description: String,
    /// A drift-aware change set (`DeploymentMode: REVERT_DRIFT`): resources changed outside
    /// CloudFormation are brought back to the template too. Updates only.
    pub revert_drift: bool,
}

/// A unique change set name: `berth-20261126T170455Z-1a2b`.
pub fn unique_name() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil(days);
    format!(
        "berth-{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z-{:04x}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        (now.subsec_nanos() ^ std::process::id()) & 0xffff
    )
}

/// Civil date of a day count since 1970-01-01.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The capabilities a template needs: `CAPABILITY_NAMED_IAM` when it names IAM resources,
/// `CAPABILITY_IAM` when it has unnamed ones, none otherwise.
pub fn capabilities(template: &Value) -> Vec<Capability> {
    let mut iam = false;
    let mut named = false;
    for r in template["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, r)| r)
    {
        let ty = r["Type"].as_str().unwrap_or_default();
        if ty.starts_with("AWS::IAM::") {
            iam = true;
            let props = &r["Properties"];
            if [
                "RoleName",
                "InstanceProfileName",
                "ManagedPolicyName",
                "GroupName",
                "UserName",
            ]
            .iter()
            .any(|k| props.get(k).is_some())
            {
                named = true;
            }
        }
    }
    if named {
        vec![Capability::CapabilityNamedIam]
    } else if iam {
        vec![Capability::CapabilityIam]
    } else {
        Vec::new()
    }
}

/// Creates a change set and returns its ID.
pub async fn create(
    cfn: &Client,
    stack: &str,
    name: &str,
    kind: ChangeSetType,
    spec: &Spec,
) -> Result<String> {
    let params: Vec<Parameter> = spec
        .parameters
        .iter()
        .map(|(k, v)| match v {
            ParamValue::Value(v) => Parameter::builder().parameter_key(k).parameter_value(v).build(),
            ParamValue::UsePrevious => Parameter::builder()
                .parameter_key(k)
                .use_previous_value(true)
                .build(),
        })
        .collect();
    let tags: Vec<Tag> = spec
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    // Drift-aware change sets are for updates: a new stack has no drift.
    let revert_drift = spec.revert_drift && kind == ChangeSetType::Update;
    let mut req = cfn
        .create_change_set()
        .stack_name(stack)
        .change_set_name(name)
        .change_set_type(kind)
        .set_parameters(Some(params))
        .set_capabilities(Some(spec.capabilities.clone()))
        .set_tags(Some(tags))
        .description(&spec.description)
        .set_role_arn(spec.role_arn.clone());
    if revert_drift {
        req = req.deployment_mode(DeploymentMode::RevertDrift);
    }
    req = match &spec.template {
        TemplateSource::Body(b) => req.template_body(b),
        TemplateSource::Url(u) => req.template_url(u),
    };
    let out = req
        .send()
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("creating change set {name} on {stack}")))?;
    Ok(out.id.unwrap_or_else(|| name.to_owned()))
}

/// A ready change set.
#[derive(Debug, Clone)]
pub struct Ready {
    pub name: String,
    pub stack_id: String,
    pub changes: Vec<Change>,
}

/// What waiting for a change set gave.
#[derive(Debug)]
pub enum Waited {
    Ready(Ready),
    /// CloudFormation found nothing to change.
    NoChanges,
}

/// The texts CloudFormation uses for an empty change set (the current one and the older one).
pub fn means_no_changes(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

/// Waits until the change set is ready (or failed), then reads all its changes.
pub async fn wait(
    cfn: &Client,
    stack: &str,
    name: &str,
    pacing: Pacing,
    interrupt: &Interrupt,
) -> Result<Waited> {
    let mut delay = pacing.first;
    loop {
        let Some(out) = interrupt
            .race(
                cfn.describe_change_set()
                    .stack_name(stack)
                    .change_set_name(name)
                    .send(),
            )
            .await
        else {
            return Err(Failure::new(
                Code::Interrupted,
                "interrupted while the change set was being created",
            ));
        };
        let out = out.map_err(|e| anyhow::Error::new(e).context(format!("reading change set {name}")))?;
        match out.status {
            Some(ChangeSetStatus::CreateComplete) => {
                let mut changes = out.changes.unwrap_or_default();
                let mut token = out.next_token;
                while let Some(t) = token.filter(|t| !t.is_empty()) {
                    let page = cfn
                        .describe_change_set()
                        .stack_name(stack)
                        .change_set_name(name)
                        .next_token(t)
                        .send()
                        .await
                        .map_err(|e| anyhow::Error::new(e).context(format!("reading change set {name}")))?;
                    changes.extend(page.changes.unwrap_or_default());
                    token = page.next_token;
                }
                return Ok(Waited::Ready(Ready {
                    name: name.to_owned(),
                    stack_id: out.stack_id.unwrap_or_else(|| stack.to_owned()),
                    changes,
                }));
            }
            Some(ChangeSetStatus::Failed) => {
                let reason = out.status_reason.unwrap_or_default();
                if means_no_changes(&reason) {
                    return Ok(Waited::NoChanges);
                }
                // Early validation's errors are not in the status reason: DescribeEvents has them
                // (an emulator without that call leaves the reason alone).
                let errors = crate::validation::errors(cfn, stack, name)
                    .await
                    .unwrap_or_default();
                let found = if errors.is_empty() {
                    String::new()
                } else {
                    format!(
                        "\n  CloudFormation's validation found {} error{}:\n    {}",
                        errors.len(),
                        if errors.len() == 1 { "" } else { "s" },
                        errors.join("\n    ")
                    )
                };
                fail!(
                    Code::Error,
                    "change set {name} failed: {}{found}",
                    if reason.is_empty() {
                        "no reason given"
                    } else {
                        &reason
                    }
                );
            }
            _ => {}
        }
        if interrupt.sleep(delay).await {
            return Err(Failure::new(
                Code::Interrupted,
                "interrupted while the change set was being created",
            ));
        }
        delay = (delay.mul_f64(1.5)).clamp(pacing.first, pacing.max.min(Duration::from_secs(3)));
    }
}

/// Deletes a change set (quietly ignores one that is already gone).
pub async fn delete(cfn: &Client, stack: &str, name: &str) -> Result<()> {
    cfn.delete_change_set()
        .stack_name(stack)
        .change_set_name(name)
        .send()
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("deleting change set {name}")))?;
    Ok(())
}

/// One row of the change table.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Row {
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    pub replacement: String,
    pub scope: String,
    /// In a drift-aware change set: the resource's drift (`MODIFIED`, `DELETED`, `IN_SYNC`, ...).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub drift: String,
    /// In a drift-aware change set: each drifted property brought back, `path: live X -> Y`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reverts: Vec<String>,
}

pub fn rows(changes: &[Change]) -> Vec<Row> {
    changes
        .iter()
        .filter_map(|c| c.resource_change.as_ref())
        .map(|rc| Row {
            action: rc.action.as_ref().map_or("", |a| a.as_str()).to_owned(),
            logical_id: rc.logical_resource_id.clone().unwrap_or_default(),
            resource_type: rc.resource_type.clone().unwrap_or_default(),
            replacement: rc.replacement.as_ref().map_or("", |r| r.as_str()).to_owned(),
            scope: rc
                .scope
                .as_ref()
                .map(|s| s.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(","))
                .unwrap_or_default(),
            drift: rc
                .resource_drift_status
                .as_ref()
                .map_or("", |d| d.as_str())
                .to_owned(),
            reverts: rc
                .details()
                .iter()
                .filter_map(|d| d.target.as_ref())
                .filter_map(|t| {
                    let drift = t.drift.as_ref()?;
                    let path = t
                        .path
                        .clone()
                        .or_else(|| t.name.clone())
                        .unwrap_or_else(|| "(a property)".to_owned());
                    Some(format!(
                        "{path}: live {} -> {}",
                        drift.actual_value.as_deref().unwrap_or("(not set)"),
                        t.after_value.as_deref().unwrap_or("(removed)")
                    ))
                })
                .collect(),
        })
        .collect()
}

/// What the change set does to the container instances, when it replaces them: a launch template
/// changes (its AMI, instance type, volume or UserData), because the change set modifies it or
/// because a parameter it reads changes (an emulator may list only the latter). `template` is the one
/// being deployed; `changed_parameters` the parameters whose values change.
pub fn instance_rollout(rows: &[Row], changed_parameters: &[&str], template: &Value) -> Option<String> {
    let resources = template["Resources"].as_object();
    let mut touched: BTreeSet<&str> = rows
        .iter()
        .filter(|r| {
            r.action == "Modify"
                && (r.resource_type == "AWS::EC2::LaunchTemplate"
                    || r.resource_type == "AWS::AutoScaling::LaunchConfiguration")
        })
        .map(|r| r.logical_id.as_str())
        .collect();
    let mut reasons: BTreeSet<String> = BTreeSet::new();
    for (id, r) in resources.into_iter().flatten() {
        if r["Type"] == "AWS::EC2::LaunchTemplate" {
            let mut refs = BTreeSet::new();
            refs_in(&r["Properties"]["LaunchTemplateData"], &mut refs);
            for p in changed_parameters.iter().filter(|p| refs.contains(**p)) {
                touched.insert(id);
                reasons.insert(format!("parameter {p}"));
            }
        }
    }
    if touched.is_empty() {
        return None;
    }
    let groups: BTreeSet<&str> = resources
        .into_iter()
        .flatten()
        .filter(|(_, r)| r["Type"] == "AWS::AutoScaling::AutoScalingGroup")
        .filter(|(_, r)| {
            let mut refs = BTreeSet::new();
            refs_in(&r["Properties"]["LaunchTemplate"], &mut refs);
            refs_in(&r["Properties"]["LaunchConfigurationName"], &mut refs);
            touched.iter().any(|t| refs.contains(*t))
        })
        .map(|(id, _)| id.as_str())
        .chain(
            rows.iter()
                .filter(|r| r.resource_type == "AWS::AutoScaling::AutoScalingGroup" && r.action == "Modify")
                .map(|r| r.logical_id.as_str()),
        )
        .collect();
    let groups = if groups.is_empty() {
        "its group".to_owned()
    } else {
        groups.into_iter().collect::<Vec<_>>().join(", ")
    };
    let why = if reasons.is_empty() {
        String::new()
    } else {
        format!(" ({})", reasons.into_iter().collect::<Vec<_>>().join(", "))
    };
    Some(format!(
        "INSTANCES ARE REPLACED: {}{why} changes (AMI, instance type, volume or UserData), so {groups} replaces \
         every container instance, one at a time: each new instance must signal ready, and ECS drains each old \
         one before it terminates",
        touched.into_iter().collect::<Vec<_>>().join(", ")
    ))
}

/// The names `Ref` refers to anywhere inside `v` (resources and parameters alike).
fn refs_in<'a>(v: &'a Value, out: &mut BTreeSet<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(name)) = m.get("Ref") {
                out.insert(name.as_str());
            }
            m.values().for_each(|x| refs_in(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs_in(x, out)),
        _ => {}
    }
}

/// Prints the change table; replacements stand out even without colour.
pub fn print(p: &Printer, stack: &str, rows: &[Row], instance_rollout: Option<&str>) {
    if rows.is_empty() {
        p.line(&format!("change set for {stack}: no resource changes"));
        if let Some(rollout) = instance_rollout {
            p.line(&p.alarm(&format!("  {rollout}")));
        }
        return;
    }
    p.line(&format!(
        "change set for {stack}: {} change{}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    ));
    // A drift-aware change set says, per resource, whether it drifted: a column of its own.
    let drift_aware = rows.iter().any(|r| !r.drift.is_empty());
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let replacement = match r.replacement.as_str() {
                "True" => p.alarm("True  <- REPLACED"),
                "Conditional" => p.caution("Conditional  <- may be replaced"),
                "" => "-".to_owned(),
                other => other.to_owned(),
            };
            let mut row = vec![
                r.action.clone(),
                r.logical_id.clone(),
                r.resource_type.clone(),
                replacement,
            ];
            if drift_aware {
                row.push(match r.drift.as_str() {
                    "" => "-".to_owned(),
                    "MODIFIED" | "DELETED" => p.caution(&format!("{}  <- reverted", r.drift)),
                    other => other.to_owned(),
                });
            }
            row.push(r.scope.clone());
            row
        })
        .collect();
    let header: &[&str] = if drift_aware {
        &["Action", "Logical ID", "Type", "Replacement", "Drift", "Scope"]
    } else {
        &["Action", "Logical ID", "Type", "Replacement", "Scope"]
    };
    for line in table(header, &cells) {
        p.line(&format!("  {line}"));
    }
    for r in rows.iter().filter(|r| !r.reverts.is_empty()) {
        p.line(&format!(
            "  {} drifted; the change set brings back:",
            r.logical_id
        ));
        for revert in &r.reverts {
            p.line(&format!("    {revert}"));
        }
    }
    let replaced = rows
        .iter()
        .filter(|r| r.replacement == Replacement::True.as_str())
        .count();
    let maybe = rows
        .iter()
        .filter(|r| r.replacement == Replacement::Conditional.as_str())
        .count();
    if replaced + maybe > 0 {
        p.line(&p.alarm(&format!(
            "  {replaced} resource(s) will be replaced and {maybe} may be: a replaced resource is deleted after its replacement is created"
        )));
    }
    if let Some(rollout) = instance_rollout {
        p.line(&p.alarm(&format!("  {rollout}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_set_names_are_valid_and_distinct() {
        let a = unique_name();
        assert!(a.starts_with("berth-2"), "{a}");
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'), "{a}");
        assert!(a.len() <= 128);
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(20_819), (2027, 1, 1));
    }

    #[test]
    fn capabilities_follow_the_iam_resources() {
        let none = serde_json::json!({"Resources": {"B": {"Type": "AWS::S3::Bucket"}}});
        assert!(capabilities(&none).is_empty());
        let unnamed = serde_json::json!({"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {}}}});
        assert_eq!(capabilities(&unnamed), [Capability::CapabilityIam]);
        let named = serde_json::json!({"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "x"}}}});
        assert_eq!(capabilities(&named), [Capability::CapabilityNamedIam]);
    }

    fn row(action: &str, id: &str, ty: &str) -> Row {
        Row {
            action: action.to_owned(),
            logical_id: id.to_owned(),
            resource_type: ty.to_owned(),
            replacement: String::new(),
            scope: "Properties".to_owned(),
            ..Row::default()
        }
    }

    #[test]
    fn a_new_launch_template_version_is_an_instance_rollout() {
        let template = serde_json::json!({"Resources": {
            "LaunchTemplate": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {"LaunchTemplateData": {
                "ImageId": {"Fn::If": ["AmiFromParameter", {"Ref": "AmiParameter"}, {"Ref": "ImageId"}]},
                "InstanceType": {"Ref": "InstanceType"}}}},
            "AutoScalingGroup": {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {
                "LaunchTemplate": {"LaunchTemplateId": {"Ref": "LaunchTemplate"}}}},
            "TaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"Cpu": {"Ref": "TaskCpu"}}}}});
        let lt = row("Modify", "LaunchTemplate", "AWS::EC2::LaunchTemplate");
        let service = row("Modify", "TaskDefinition", "AWS::ECS::TaskDefinition");
        let said = instance_rollout(&[lt.clone(), service.clone()], &[], &template).expect("a rollout");
        assert!(
            said.starts_with("INSTANCES ARE REPLACED: LaunchTemplate changes")
                && said.contains("so AutoScalingGroup replaces"),
            "{said}"
        );
        // The parameter alone says it too (an emulator lists no resource changes).
        let said = instance_rollout(&[], &["ImageId"], &template).expect("a rollout");
        assert!(
            said.starts_with("INSTANCES ARE REPLACED: LaunchTemplate (parameter ImageId) changes"),
            "{said}"
        );
        assert_eq!(
            instance_rollout(
                std::slice::from_ref(&service),
                &["TaskCpu", "ImageTag"],
                &template
            ),
            None,
            "an image or task deploy leaves the instances be"
        );
        assert_eq!(
            instance_rollout(
                &[row("Add", "LaunchTemplate", "AWS::EC2::LaunchTemplate"), service],
                &[],
                &template
            ),
            None,
            "a new stack starts its instances, it replaces none"
        );
    }

    #[test]
    fn both_no_change_texts_are_recognised() {
        assert!(means_no_changes(
            "The submitted information didn't contain changes. Submit different information to create a change set."
        ));
        assert!(means_no_changes("No updates are to be performed."));
        assert!(!means_no_changes("Template format error"));
    }
}
