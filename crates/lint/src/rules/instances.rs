//! Instances: UserData, signals and the policies that wait for them, EBS, launch configurations,
//! IMDSv2.

use serde_json::Value;

use super::{
    EBS_WITHOUT_VOLUME_TYPE, IMDSV2_NOT_REQUIRED, LAUNCH_CONFIGURATION, SIGNAL_COUNT_ABOVE_CAPACITY,
    SIGNALS_MISMATCH, TIMEOUT_NOT_ISO8601, USER_DATA_NOT_BASE64,
};
use crate::template::{Template, int, items, ref_id, string, strings};
use crate::{Finding, finding};

/// True for `PT15M`, `PT1H30M`, `PT30S`: what CloudFormation accepts for timeouts and pause times.
pub fn is_iso8601_duration(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("PT") else {
        return false;
    };
    if rest.is_empty() {
        return false;
    }
    let mut digits = false;
    let mut last_unit = 0;
    for c in rest.chars() {
        if c.is_ascii_digit() {
            digits = true;
            continue;
        }
        let order = match c {
            'H' => 1,
            'M' => 2,
            'S' => 3,
            _ => return false,
        };
        if !digits || order <= last_unit {
            return false;
        }
        digits = false;
        last_unit = order;
    }
    !digits
}

/// The instance launch settings a resource carries: (path prefix, data).
fn launch_data<'a>(ty: &str, r: &'a Value) -> Option<(&'static str, &'a Value)> {
    match ty {
        "AWS::EC2::LaunchTemplate" => Some((
            "Properties.LaunchTemplateData",
            &r["Properties"]["LaunchTemplateData"],
        )),
        "AWS::AutoScaling::LaunchConfiguration" | "AWS::EC2::Instance" => {
            Some(("Properties", &r["Properties"]))
        }
        _ => None,
    }
}

/// The launch template or configuration an Auto Scaling group starts instances from.
fn launch_source<'a>(t: &Template<'a>, group: &Value) -> Option<&'a str> {
    let p = &group["Properties"];
    t.referenced(&p["LaunchTemplate"]["LaunchTemplateId"])
        .or_else(|| t.referenced(&p["LaunchTemplate"]["LaunchTemplateName"]))
        .or_else(|| t.referenced(&p["LaunchConfigurationName"]))
        .or_else(|| t.referenced(&p["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]["LaunchTemplateId"]))
}

fn runs_cfn_signal(user_data: &Value) -> bool {
    strings(user_data).iter().any(|s| s.contains("cfn-signal"))
}

/// True when a resource waits for signals: a CreationPolicy with ResourceSignal, or a rolling update
/// that waits on them.
fn waits_for_signals(r: &Value) -> bool {
    !r["CreationPolicy"]["ResourceSignal"].is_null()
        || r["UpdatePolicy"]["AutoScalingRollingUpdate"]["WaitOnResourceSignals"] == Value::Bool(true)
        || string(&r["UpdatePolicy"]["AutoScalingRollingUpdate"]["WaitOnResourceSignals"]) == Some("true")
}

pub fn check(t: &Template<'_>, out: &mut Vec<Finding>) {
    for (id, r) in t.resources() {
        let ty = r["Type"].as_str().unwrap_or_default();
        if ty == "AWS::AutoScaling::LaunchConfiguration" {
            out.push(finding(
                &LAUNCH_CONFIGURATION,
                Some(id),
                "Type",
                "launch configurations are retired: new accounts get \"Launch Configuration creation operation is not available\"".to_owned(),
            ));
        }
        if let Some((prefix, data)) = launch_data(ty, r) {
            let ud = &data["UserData"];
            let encoded = match ud {
                Value::Null => true,
                Value::Object(m) => m.contains_key("Fn::Base64"),
                // A literal: fine only if it already is Base64.
                Value::String(s) => {
                    !s.is_empty()
                        && s.len() % 4 == 0
                        && s.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=')
                }
                _ => false,
            };
            if !encoded {
                out.push(finding(
                    &USER_DATA_NOT_BASE64,
                    Some(id),
                    format!("{prefix}.UserData"),
                    "UserData is not wrapped in Fn::Base64: EC2 rejects it or runs garbage".to_owned(),
                ));
            }
            for (i, bdm) in items(&data["BlockDeviceMappings"]).into_iter().enumerate() {
                if bdm["Ebs"].is_object() && bdm["Ebs"]["VolumeType"].is_null() {
                    out.push(finding(
                        &EBS_WITHOUT_VOLUME_TYPE,
                        Some(id),
                        format!("{prefix}.BlockDeviceMappings[{i}].Ebs"),
                        format!(
                            "volume {} has no VolumeType",
                            bdm["DeviceName"].as_str().unwrap_or("?")
                        ),
                    ));
                }
            }
            if ty != "AWS::EC2::Instance"
                && string(&data["MetadataOptions"]["HttpTokens"]) != Some("required")
            {
                out.push(finding(
                    &IMDSV2_NOT_REQUIRED,
                    Some(id),
                    format!("{prefix}.MetadataOptions.HttpTokens"),
                    "instances answer IMDSv1: any SSRF in a container can read the instance role's credentials".to_owned(),
                ));
            }
        }

        // Durations.
        for (path, v) in [
            (
                "CreationPolicy.ResourceSignal.Timeout",
                &r["CreationPolicy"]["ResourceSignal"]["Timeout"],
            ),
            (
                "UpdatePolicy.AutoScalingRollingUpdate.PauseTime",
                &r["UpdatePolicy"]["AutoScalingRollingUpdate"]["PauseTime"],
            ),
        ] {
            if let Some(s) = string(v)
                && !is_iso8601_duration(s)
            {
                out.push(finding(
                    &TIMEOUT_NOT_ISO8601,
                    Some(id),
                    path,
                    format!("`{s}` is not an ISO-8601 duration"),
                ));
            }
        }
    }

    // Signals: who waits, who sends.
    for (id, group) in t.of_type("AWS::AutoScaling::AutoScalingGroup") {
        let source = launch_source(t, group);
        let user_data = source
            .and_then(|s| Some((t.type_of(s)?, t.resource(s)?)))
            .and_then(|(ty, r)| launch_data(ty, r))
            .map(|(_, d)| &d["UserData"]);
        let sends = user_data.is_some_and(runs_cfn_signal);
        let waits = waits_for_signals(group);
        // A launch template or configuration from outside the template: its UserData is unknown.
        if waits && !sends && source.is_some() {
            out.push(finding(
                &SIGNALS_MISMATCH,
                Some(id),
                "CreationPolicy.ResourceSignal",
                format!(
                    "waits for signals, but the UserData of {} never runs cfn-signal: the creation times out",
                    source.unwrap_or("its launch template")
                ),
            ));
        }
        if sends && !waits {
            out.push(finding(
                &SIGNALS_MISMATCH,
                Some(id),
                "CreationPolicy",
                format!(
                    "the UserData of {} runs cfn-signal, but this group has no CreationPolicy waiting for it",
                    source.unwrap_or_default()
                ),
            ));
        }
        if let Some(count) = int(&group["CreationPolicy"]["ResourceSignal"]["Count"]) {
            let p = &group["Properties"];
            let capacity = int(&p["DesiredCapacity"])
                .or_else(|| {
                    p["DesiredCapacity"]
                        .is_null()
                        .then(|| int(&p["MinSize"]))
                        .flatten()
                })
                .or_else(|| {
                    ref_id(&p["DesiredCapacity"])
                        .and_then(|n| t.parameter(n))
                        .and_then(|param| int(&param["MaxValue"]))
                });
            if let Some(capacity) = capacity
                && count > capacity
            {
                out.push(finding(
                    &SIGNAL_COUNT_ABOVE_CAPACITY,
                    Some(id),
                    "CreationPolicy.ResourceSignal.Count",
                    format!("waits for {count} signals; at most {capacity} instances start"),
                ));
            }
        }
    }
    for (id, inst) in t.of_type("AWS::EC2::Instance") {
        let sends = runs_cfn_signal(&inst["Properties"]["UserData"]);
        if waits_for_signals(inst) != sends {
            out.push(finding(
                &SIGNALS_MISMATCH,
                Some(id),
                if sends {
                    "CreationPolicy"
                } else {
                    "CreationPolicy.ResourceSignal"
                },
                if sends {
                    "UserData runs cfn-signal, but the instance has no CreationPolicy waiting for it"
                        .to_owned()
                } else {
                    "waits for a signal, but UserData never runs cfn-signal".to_owned()
                },
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_iso8601_duration;

    #[test]
    fn iso8601_durations() {
        for ok in ["PT15M", "PT1H", "PT1H30M", "PT30S", "PT1H2M3S"] {
            assert!(is_iso8601_duration(ok), "{ok}");
        }
        for bad in [
            "15M", "PT", "PT15", "PTM", "PT15m", "900", "PT30S15M", "P1D", "PT1.5H",
        ] {
            assert!(!is_iso8601_duration(bad), "{bad}");
        }
    }
}
