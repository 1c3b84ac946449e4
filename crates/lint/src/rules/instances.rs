//! Instances: UserData, signals and the policies that wait for them, EBS, launch configurations,
//! IMDSv2.

use serde_json::Value;

use super::{
    EBS_WITHOUT_VOLUME_TYPE, ECS_INSTANCES_NOT_DRAINED, IMDSV2_NOT_REQUIRED,
    INSTANCES_IN_LOAD_BALANCER_SUBNETS, LAUNCH_CONFIGURATION, SIGNAL_COUNT_ABOVE_CAPACITY, SIGNALS_MISMATCH,
    SSM_AMI_ON_REPLACED_GROUP, TIMEOUT_NOT_ISO8601, USER_DATA_EXITS_WITHOUT_SIGNAL, USER_DATA_NOT_BASE64,
};
use crate::template::{Template, getatt, int, items, ref_id, string, strings, sub_variables};
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

/// The CloudFormation functions a script may be built with; any other key with `::` (another
/// tool's directive, `Rain::Embed`) or a macro (`Fn::Transform`) makes the script unknown.
const SCRIPT_FUNCTIONS: &[&str] = &[
    "Fn::Base64",
    "Fn::Sub",
    "Fn::Join",
    "Fn::If",
    "Fn::Select",
    "Fn::FindInMap",
    "Fn::ImportValue",
    "Fn::GetAZs",
    "Fn::Split",
    "Fn::Cidr",
    "Fn::GetAtt",
    "Fn::ToJsonString",
    "Fn::Length",
    "Ref",
];

/// UserData as the script it is: its literal text, with `${Name}` where a reference puts a value.
/// None when the script comes from elsewhere (a parameter, a file another tool embeds, a macro):
/// what it runs cannot be known.
fn script(user_data: &Value) -> Option<String> {
    fn render(v: &Value, out: &mut String) -> bool {
        match v {
            Value::String(s) => out.push_str(s),
            Value::Number(n) => out.push_str(&n.to_string()),
            Value::Bool(b) => out.push_str(&b.to_string()),
            Value::Null | Value::Array(_) => {}
            Value::Object(m) => {
                if let Some(id) = ref_id(v) {
                    out.push_str(&format!("${{{id}}}"));
                    return true;
                }
                if let Some((id, attr)) = getatt(v) {
                    out.push_str(&format!("${{{id}.{attr}}}"));
                    return true;
                }
                let Some((key, arg)) = m.iter().next().filter(|_| m.len() == 1) else {
                    return false;
                };
                if !SCRIPT_FUNCTIONS.contains(&key.as_str()) {
                    return false;
                }
                match key.as_str() {
                    "Fn::Base64" => return render(arg, out),
                    "Fn::Sub" => match arg {
                        Value::Array(a) => return a.first().is_some_and(|s| render(s, out)),
                        other => return render(other, out),
                    },
                    "Fn::Join" => {
                        let sep = arg[0].as_str().unwrap_or_default();
                        let Value::Array(parts) = &arg[1] else {
                            return false;
                        };
                        for (i, p) in parts.iter().enumerate() {
                            if i > 0 {
                                out.push_str(sep);
                            }
                            if !render(p, out) {
                                return false;
                            }
                        }
                    }
                    // Both branches: either may run.
                    "Fn::If" => {
                        for branch in items(arg).into_iter().skip(1) {
                            if !render(branch, out) {
                                return false;
                            }
                            out.push('\n');
                        }
                    }
                    // A value, not script text.
                    _ => out.push_str("${?}"),
                }
            }
        }
        true
    }
    let mut out = String::new();
    if !render(user_data, &mut out) {
        return None;
    }
    // Nothing of its own: a parameter or another value holds the whole script.
    let own = out.replace("${?}", "");
    let own: String = sub_variables(&own).iter().fold(own.clone(), |text, name| {
        text.replace(&format!("${{{name}}}"), "")
    });
    (!own.trim().is_empty()).then_some(out)
}

/// The signals a script sends.
#[derive(Default)]
struct Signals {
    /// To a resource that waits (`cfn-signal --resource`, `aws cloudformation signal-resource`).
    resource: bool,
    /// To a wait condition handle's URL (`cfn-signal ... URL`): the handles of this template named.
    handles: Vec<String>,
    /// Any cfn-signal to a URL, named or not.
    url: bool,
    /// cfn-signal written only on comment lines: on the `#!` line itself when the script has no
    /// line breaks (Fn::Join parts without `\n`).
    commented: Option<Comment>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Comment {
    Shebang,
    Line,
}

/// The cfn-signal commands of a script (comments skipped, continued lines joined): a signal to a
/// resource needs `--resource`; without it, cfn-signal signals the URL of a wait condition handle.
fn signals(t: &Template<'_>, script: &str) -> Signals {
    let joined = script.replace("\\\n", " ");
    let mut out = Signals::default();
    for line in joined.lines().map(str::trim) {
        if line.starts_with('#') {
            if line.contains("cfn-signal") && out.commented.is_none() {
                out.commented = Some(if line.starts_with("#!") {
                    Comment::Shebang
                } else {
                    Comment::Line
                });
            }
            continue;
        }
        if line.contains("signal-resource") {
            out.resource = true;
        }
        if !line.contains("cfn-signal") {
            continue;
        }
        if line.contains("--resource") {
            out.resource = true;
            continue;
        }
        out.url = true;
        for name in sub_variables(line) {
            if t.type_of(name) == Some("AWS::CloudFormation::WaitConditionHandle")
                && !out.handles.iter().any(|h| h == name)
            {
                out.handles.push(name.to_owned());
            }
        }
    }
    out
}

/// What a resource's UserData does about signals: None when the script cannot be read.
fn user_data_signals(t: &Template<'_>, user_data: &Value) -> Option<Signals> {
    script(user_data).map(|s| signals(t, &s))
}

/// Why a script that waits is never signalled, in words: `whose` is "the UserData of X".
fn never_signalled(s: &Signals, whose: &str, id: &str) -> String {
    if s.url {
        return format!(
            "the cfn-signal in {whose} goes to {}, not to {id} (that takes --stack and --resource {id}): \
             the creation times out",
            elsewhere(s)
        );
    }
    match s.commented {
        Some(Comment::Shebang) => format!(
            "{whose} has cfn-signal only on its `#!` line (the script has no line break before it): it never \
             runs, and the creation times out"
        ),
        Some(Comment::Line) => {
            format!("{whose} has cfn-signal only in a comment: it never runs, and the creation times out")
        }
        None => format!("{whose} never runs cfn-signal: the creation times out"),
    }
}

/// Where a script's cfn-signal goes instead of the resource, in words.
fn elsewhere(s: &Signals) -> String {
    match s.handles.as_slice() {
        [] => "a wait condition handle's URL".to_owned(),
        [one] => format!("the wait condition handle {one}"),
        many => format!("the wait condition handles {}", many.join(", ")),
    }
}

/// True when a script stops at the first failing command: `set -e` (in any flag combination),
/// `set -o errexit`, or a `bash -e` shebang.
fn exits_on_error(script: &str) -> bool {
    script.lines().map(str::trim).any(|l| {
        let flags = |rest: &str| {
            rest.split_whitespace()
                .any(|w| w.starts_with('-') && !w.starts_with("--") && w.contains('e'))
        };
        l.strip_prefix("set ")
            .is_some_and(|r| flags(r) || r.contains("errexit"))
            || (l.starts_with("#!") && l.contains("bash") && flags(l.split_once(' ').map_or("", |x| x.1)))
    })
}

/// True when a script traps errors (or its exit) with a handler: the one place a failure can be
/// signalled from.
fn traps_failure(script: &str) -> bool {
    script.lines().map(str::trim).any(|l| {
        l.starts_with("trap ")
            && l.split_whitespace()
                .rev()
                .take(2)
                .any(|w| matches!(w, "ERR" | "EXIT" | "0"))
    })
}

/// The first step of `script` that can fail before its first failure trap (`trap ... ERR|EXIT|0`),
/// with its 1-based line: what `set -e` would stop at without a signal. Not steps: the shebang,
/// comments, blank lines, `set` and a function's definition (its body runs only when called; it ends
/// at a `}` line of its own).
fn step_before_trap(script: &str) -> Option<(usize, String)> {
    let mut in_function = false;
    for (i, raw) in script.lines().enumerate() {
        let l = raw.trim();
        if in_function {
            in_function = raw.trim_end() != "}";
            continue;
        }
        if l.is_empty() || l.starts_with('#') || l == "set" || l.starts_with("set ") {
            continue;
        }
        if l.starts_with("trap ") {
            if traps_failure(l) {
                return None;
            }
            continue;
        }
        let head = l.split(['(', ' ']).next().unwrap_or_default();
        if !head.is_empty()
            && head.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            && (l[head.len()..].trim_start().starts_with("()") || l.starts_with("function "))
        {
            in_function = l.ends_with('{');
            continue;
        }
        return Some((i + 1, l.to_owned()));
    }
    None
}

/// The launch template (or configuration) data of the group's instances, from this template: the one
/// the group refers to, or, when it names one by a literal name, the template's only one.
fn group_launch_data<'a>(t: &Template<'a>, group: &Value) -> Option<&'a Value> {
    let source = launch_source(t, group).or_else(|| {
        let sources: Vec<&str> = t
            .resources()
            .into_iter()
            .filter(|(_, r)| {
                matches!(
                    r["Type"].as_str(),
                    Some("AWS::EC2::LaunchTemplate" | "AWS::AutoScaling::LaunchConfiguration")
                )
            })
            .map(|(id, _)| id)
            .collect();
        (sources.len() == 1).then(|| sources[0])
    })?;
    let (ty, r) = (t.type_of(source)?, t.resource(source)?);
    launch_data(ty, r).map(|(_, d)| d)
}

/// The capacity providers of this template that manage `group_id`, with whether they drain.
fn capacity_providers<'a>(t: &Template<'a>, group_id: &str) -> Vec<(&'a str, bool)> {
    t.of_type("AWS::ECS::CapacityProvider")
        .into_iter()
        .filter_map(|(id, cp)| {
            let p = &cp["Properties"]["AutoScalingGroupProvider"];
            let manages = t.referenced(&p["AutoScalingGroupArn"]) == Some(group_id);
            manages.then(|| (id, string(&p["ManagedDraining"]) == Some("ENABLED")))
        })
        .collect()
}

/// True when the group's instances are ECS container instances: they join a cluster, or a capacity
/// provider manages the group.
fn runs_ecs(t: &Template<'_>, group_id: &str, group: &Value) -> bool {
    group_launch_data(t, group)
        .is_some_and(|d| strings(&d["UserData"]).iter().any(|s| s.contains("ECS_CLUSTER")))
        || !capacity_providers(t, group_id).is_empty()
}

/// The SSM-typed parameter an AMI value names: a `Ref`, or one in either branch of an `Fn::If` (an
/// opt-in is still the AMI when its condition holds).
fn ssm_ami_parameter<'a>(t: &Template<'a>, image_id: &'a Value) -> Option<&'a str> {
    if let Some([_, then, otherwise]) = image_id["Fn::If"].as_array().map(Vec::as_slice) {
        return ssm_ami_parameter(t, then).or_else(|| ssm_ami_parameter(t, otherwise));
    }
    let name = ref_id(image_id)?;
    let ty = string(&t.parameter(name)?["Type"])?;
    ty.starts_with("AWS::SSM::Parameter::Value<").then_some(name)
}

/// The rules about replacing and placing ECS container instances: draining, AMIs, failure signals,
/// subnets.
fn replacement_and_placement(t: &Template<'_>, out: &mut Vec<Finding>) {
    for (id, group) in t.of_type("AWS::AutoScaling::AutoScalingGroup") {
        let update = &group["UpdatePolicy"];
        let replaces_all = update["AutoScalingReplacingUpdate"]["WillReplace"] == Value::Bool(true)
            || string(&update["AutoScalingReplacingUpdate"]["WillReplace"]) == Some("true");
        let rolls = update["AutoScalingRollingUpdate"].is_object();
        if runs_ecs(t, id, group) {
            let providers = capacity_providers(t, id);
            if replaces_all {
                out.push(finding(
                    &ECS_INSTANCES_NOT_DRAINED,
                    Some(id),
                    "UpdatePolicy.AutoScalingReplacingUpdate.WillReplace",
                    "a change to the instances creates a new group and deletes this one without draining ECS: \
                     every task on it stops at once, and the load balancer answers 5xx until replacements are healthy"
                        .to_owned(),
                ));
            } else if !providers.iter().any(|(_, drains)| *drains) {
                out.push(finding(
                    &ECS_INSTANCES_NOT_DRAINED,
                    Some(id),
                    "Type",
                    match providers.first() {
                        Some((cp, _)) => format!(
                            "its capacity provider {cp} does not set ManagedDraining: ENABLED: scale-in, \
                             rebalancing, health replacements and updates stop instances with their tasks running"
                        ),
                        None => "no capacity provider manages this group of ECS instances: scale-in, rebalancing, \
                                 health replacements and updates stop instances with their tasks running"
                            .to_owned(),
                    },
                ));
            }
        }
        if let Some(data) = group_launch_data(t, group) {
            if (replaces_all || rolls)
                && let Some(param) = ssm_ami_parameter(t, &data["ImageId"])
            {
                out.push(finding(
                    &SSM_AMI_ON_REPLACED_GROUP,
                    Some(id),
                    "UpdatePolicy",
                    format!(
                        "the instances' AMI is the SSM parameter {param}, resolved again on every stack update: the \
                         first deploy after AWS publishes a new AMI replaces every instance, whatever it was for"
                    ),
                ));
            }
            // The whole script (Fn::Join parts too), as the instance runs it.
            if let Some(script) = script(&data["UserData"])
                && exits_on_error(&script)
                && (script.contains("cfn-signal") || script.contains("signal-resource"))
                && !traps_failure(&script)
            {
                out.push(finding(
                    &USER_DATA_EXITS_WITHOUT_SIGNAL,
                    Some(id),
                    "UserData",
                    format!(
                        "the UserData of {} stops at the first failing step under `set -e` and signals only \
                         success: a failure sends nothing, and the stack waits out the whole signal timeout",
                        launch_source(t, group).unwrap_or("its launch template")
                    ),
                ));
            } else if let Some(script) = script(&data["UserData"])
                && exits_on_error(&script)
                && (script.contains("cfn-signal") || script.contains("signal-resource"))
                && let Some((line, command)) = step_before_trap(&script)
            {
                out.push(finding(
                    &USER_DATA_EXITS_WITHOUT_SIGNAL,
                    Some(id),
                    "UserData",
                    format!(
                        "the UserData of {} runs `{command}` (script line {line}) before it sets its failure trap: \
                         if that step fails under `set -e` nothing is signalled, and the stack waits out the whole \
                         signal timeout",
                        launch_source(t, group).unwrap_or("its launch template")
                    ),
                ));
            }
        }
        let subnets = &group["Properties"]["VPCZoneIdentifier"];
        if !subnets.is_null() {
            for (lb, alb) in t.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer") {
                let p = &alb["Properties"];
                let public = string(&p["Scheme"]).is_none_or(|s| s == "internet-facing");
                if public && &p["Subnets"] == subnets {
                    out.push(finding(
                        &INSTANCES_IN_LOAD_BALANCER_SUBNETS,
                        Some(id),
                        "Properties.VPCZoneIdentifier",
                        format!(
                            "the instances use the subnets of the internet-facing load balancer {lb} (public): \
                             without a public IP they reach neither ECS, ECR nor SSM, and never signal"
                        ),
                    ));
                }
            }
        }
    }
}

/// True when a resource waits for signals: a CreationPolicy with ResourceSignal, or a rolling update
/// that waits on them.
fn waits_for_signals(r: &Value) -> bool {
    !r["CreationPolicy"]["ResourceSignal"].is_null()
        || r["UpdatePolicy"]["AutoScalingRollingUpdate"]["WaitOnResourceSignals"] == Value::Bool(true)
        || string(&r["UpdatePolicy"]["AutoScalingRollingUpdate"]["WaitOnResourceSignals"]) == Some("true")
}

pub fn check(t: &Template<'_>, out: &mut Vec<Finding>) {
    replacement_and_placement(t, out);
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

    // Signals: who waits, who sends. A wait condition's handle is signalled through its URL, not
    // through the instance or the group.
    for (id, group) in t.of_type("AWS::AutoScaling::AutoScalingGroup") {
        let source = launch_source(t, group);
        let user_data = source
            .and_then(|s| Some((t.type_of(s)?, t.resource(s)?)))
            .and_then(|(ty, r)| launch_data(ty, r))
            .map(|(_, d)| &d["UserData"]);
        // A launch template or configuration from outside the template, or a script from
        // elsewhere: what it sends is unknown.
        let Some(sent) = user_data.and_then(|ud| user_data_signals(t, ud)) else {
            continue;
        };
        let sends = sent.resource;
        let waits = waits_for_signals(group);
        if waits && !sends {
            let source = source.unwrap_or("its launch template");
            out.push(finding(
                &SIGNALS_MISMATCH,
                Some(id),
                "CreationPolicy.ResourceSignal",
                format!(
                    "waits for signals, but {}",
                    never_signalled(&sent, &format!("the UserData of {source}"), id)
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
        let Some(sent) = user_data_signals(t, &inst["Properties"]["UserData"]) else {
            continue;
        };
        let waits = waits_for_signals(inst);
        if sent.resource && !waits {
            out.push(finding(
                &SIGNALS_MISMATCH,
                Some(id),
                "CreationPolicy",
                "UserData runs cfn-signal, but the instance has no CreationPolicy waiting for it".to_owned(),
            ));
        }
        if waits && !sent.resource {
            out.push(finding(
                &SIGNALS_MISMATCH,
                Some(id),
                "CreationPolicy.ResourceSignal",
                format!(
                    "waits for a signal, but {}",
                    never_signalled(&sent, "UserData", id)
                ),
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
