//! CodePipeline: what cfn-lint cannot see inside action configurations (it is "any JSON" to the
//! schema): action modes, providers, connections, and the artifacts that flow between actions.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{
    APPROVAL_BEFORE_CHANGE_SET, ARTIFACT_NOT_AN_INPUT, ARTIFACT_NOT_PRODUCED, DUPLICATE_ARTIFACT,
    SOURCE_WITHOUT_CONNECTION, SOURCES_NOT_BOTH, UNKNOWN_ACTION_MODE, UNKNOWN_PROVIDER,
};
use crate::template::{Template, int, items, string, strings};
use crate::{Finding, finding};

pub const ACTION_MODES: &[&str] = &[
    "CHANGE_SET_REPLACE",
    "CHANGE_SET_EXECUTE",
    "CREATE_UPDATE",
    "DELETE_ONLY",
    "REPLACE_ON_FAILURE",
];

/// The providers of AWS-owned actions, by category.
pub const PROVIDERS: &[(&str, &[&str])] = &[
    ("Source", &["CodeStarSourceConnection", "CodeCommit", "S3", "ECR"]),
    ("Build", &["CodeBuild", "ECRBuildAndPublish"]),
    ("Test", &["CodeBuild", "DeviceFarm", "InspectorScan"]),
    (
        "Deploy",
        &[
            "CloudFormation",
            "CloudFormationStackSet",
            "CloudFormationStackInstances",
            "CodeDeploy",
            "CodeDeployToECS",
            "EC2",
            "ECS",
            "EKS",
            "ElasticBeanstalk",
            "S3",
            "AppConfig",
            "ServiceCatalog",
            "OpsWorks",
            "AlexaSkillsKit",
        ],
    ),
    ("Approval", &["Manual"]),
    ("Invoke", &["Lambda", "StepFunctions", "InspectorScan"]),
    ("Compute", &["Commands"]),
];

/// One action as written, wherever a `Fn::If` put it. Actions in the two branches of one `Fn::If`
/// are alternatives: they share a `slot`.
struct Action<'a> {
    stage: usize,
    slot: usize,
    path: String,
    v: &'a Value,
}

/// The items of a list, with each `Fn::If` replaced by its branches (no `AWS::NoValue`), each tagged
/// with the index of the item it came from.
fn branches(list: &Value) -> Vec<(usize, &Value)> {
    fn expand<'a>(slot: usize, v: &'a Value, out: &mut Vec<(usize, &'a Value)>) {
        if let Some(args) = v.get("Fn::If").and_then(Value::as_array) {
            for b in args.iter().skip(1) {
                expand(slot, b, out);
            }
        } else if crate::template::ref_id(v) != Some("AWS::NoValue") && !v.is_null() {
            out.push((slot, v));
        }
    }
    let mut out = Vec::new();
    for (i, v) in items(list).into_iter().enumerate() {
        expand(i, v, &mut out);
    }
    out
}

fn artifact_names(v: &Value) -> Vec<&str> {
    items(v).into_iter().filter_map(|a| string(&a["Name"])).collect()
}

/// The artifact an `Artifact::path` value names (in a literal or in `Fn::Sub` text).
fn artifact_of(v: &Value) -> Option<&str> {
    let text = v.as_str().or_else(|| strings(&v["Fn::Sub"]).first().copied())?;
    text.split_once("::").map(|(a, _)| a)
}

/// The artifacts `Fn::GetParam` reads in a ParameterOverrides value (JSON text, or any strings in it).
pub fn getparam_artifacts(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for s in strings(v) {
        let mut rest = s;
        while let Some(at) = rest.find("Fn::GetParam") {
            rest = &rest[at + "Fn::GetParam".len()..];
            let Some(open) = rest.find('[') else { break };
            let after = &rest[open + 1..];
            let name = after.trim_start().trim_start_matches('"');
            if let Some(end) = name.find('"') {
                out.push(name[..end].to_owned());
            }
        }
    }
    out
}

pub fn check(t: &Template<'_>, out: &mut Vec<Finding>) {
    for (id, pipeline) in t.of_type("AWS::CodePipeline::Pipeline") {
        let mut actions = Vec::new();
        let mut slot = 0;
        for (si, stage) in branches(&pipeline["Properties"]["Stages"]) {
            for (ai, a) in branches(&stage["Actions"]) {
                actions.push(Action {
                    stage: si,
                    slot: slot + ai,
                    path: format!("Properties.Stages[{si}].Actions[{ai}]"),
                    v: a,
                });
            }
            slot += items(&stage["Actions"]).len();
        }

        // What each action outputs, by slot (the branches of one Fn::If share one).
        let mut outputs: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for a in &actions {
            for name in artifact_names(&a.v["OutputArtifacts"]) {
                let slots = outputs.entry(name).or_default();
                if !slots.contains(&a.slot) {
                    slots.push(a.slot);
                }
            }
        }
        for (name, slots) in &outputs {
            if slots.len() > 1 {
                out.push(finding(
                    &DUPLICATE_ARTIFACT,
                    Some(id),
                    "Properties.Stages",
                    format!("{} actions output an artifact named `{name}`", slots.len()),
                ));
            }
        }

        for a in &actions {
            let ty = &a.v["ActionTypeId"];
            let (category, owner, provider) = (
                string(&ty["Category"]).unwrap_or(""),
                string(&ty["Owner"]).unwrap_or(""),
                string(&ty["Provider"]).unwrap_or(""),
            );
            let conf = &a.v["Configuration"];
            let name = string(&a.v["Name"]).unwrap_or("?");
            if owner == "AWS"
                && let Some((_, known)) = PROVIDERS.iter().find(|(c, _)| *c == category)
                && !known.contains(&provider)
            {
                out.push(finding(
                    &UNKNOWN_PROVIDER,
                    Some(id),
                    format!("{}.ActionTypeId.Provider", a.path),
                    format!(
                        "action {name}: {category} has no AWS provider `{provider}` (it has {})",
                        known.join(", ")
                    ),
                ));
            }
            if provider == "CloudFormation"
                && let Some(mode) = string(&conf["ActionMode"])
                && !ACTION_MODES.contains(&mode)
            {
                out.push(finding(
                    &UNKNOWN_ACTION_MODE,
                    Some(id),
                    format!("{}.Configuration.ActionMode", a.path),
                    format!("action {name}: `{mode}` is no ActionMode"),
                ));
            }
            let missing = match (category, provider) {
                ("Source", "CodeStarSourceConnection") => {
                    conf["ConnectionArn"].is_null().then_some("ConnectionArn")
                }
                ("Source", "GitHub") => conf["OAuthToken"].is_null().then_some("OAuthToken"),
                _ => None,
            };
            if let Some(what) = missing {
                out.push(finding(
                    &SOURCE_WITHOUT_CONNECTION,
                    Some(id),
                    format!("{}.Configuration", a.path),
                    format!("source action {name} has no {what}"),
                ));
            }

            // Inputs: produced earlier, and what the configuration reads is among them.
            let inputs = artifact_names(&a.v["InputArtifacts"]);
            let run_order = int(&a.v["RunOrder"]).unwrap_or(1);
            for input in &inputs {
                let produced_earlier = actions.iter().any(|b| {
                    (b.stage < a.stage
                        || (b.stage == a.stage && int(&b.v["RunOrder"]).unwrap_or(1) < run_order))
                        && artifact_names(&b.v["OutputArtifacts"]).contains(input)
                });
                if !produced_earlier {
                    out.push(finding(
                        &ARTIFACT_NOT_PRODUCED,
                        Some(id),
                        format!("{}.InputArtifacts", a.path),
                        format!("action {name} reads `{input}`, which no earlier action outputs"),
                    ));
                }
            }
            let mut read: Vec<(String, String)> = Vec::new();
            for key in ["TemplatePath", "TemplateConfiguration"] {
                if let Some(art) = artifact_of(&conf[key]) {
                    read.push((key.to_owned(), art.to_owned()));
                }
            }
            for art in getparam_artifacts(&conf["ParameterOverrides"]) {
                read.push(("ParameterOverrides (Fn::GetParam)".to_owned(), art));
            }
            for (key, art) in read {
                if !inputs.contains(&art.as_str()) {
                    let nowhere = if outputs.contains_key(art.as_str()) {
                        String::new()
                    } else {
                        format!("; no action outputs `{art}` at all")
                    };
                    out.push(finding(
                        &ARTIFACT_NOT_AN_INPUT,
                        Some(id),
                        format!("{}.Configuration", a.path),
                        format!(
                            "action {name}: {key} reads artifact `{art}`, which is not among its InputArtifacts [{}]{nowhere}",
                            inputs.join(", ")
                        ),
                    ));
                }
            }
        }

        // An approval guards the executions after it; the change sets they execute must exist before
        // it, or the approver approves nothing they can see.
        let position = |a: &Action<'_>| (a.stage, int(&a.v["RunOrder"]).unwrap_or(1));
        fn mode<'v>(a: &Action<'v>) -> Option<&'v str> {
            string(&a.v["Configuration"]["ActionMode"])
        }
        let change_set = |a: &Action<'_>| {
            let c = &a.v["Configuration"];
            (c["StackName"].to_string(), c["ChangeSetName"].to_string())
        };
        for approval in actions
            .iter()
            .filter(|a| string(&a.v["ActionTypeId"]["Category"]) == Some("Approval"))
        {
            for execute in actions
                .iter()
                .filter(|e| mode(e) == Some("CHANGE_SET_EXECUTE") && position(approval) < position(e))
            {
                let Some(create) = actions
                    .iter()
                    .filter(|c| mode(c) == Some("CHANGE_SET_REPLACE") && change_set(c) == change_set(execute))
                    .filter(|c| position(c) < position(execute))
                    .max_by_key(|c| position(c))
                else {
                    continue;
                };
                if position(approval) <= position(create) {
                    let name = |a: &Action<'_>| string(&a.v["Name"]).unwrap_or("?").to_owned();
                    let at = |a: &Action<'_>| format!("stage {}, RunOrder {}", a.stage + 1, position(a).1);
                    out.push(finding(
                        &APPROVAL_BEFORE_CHANGE_SET,
                        Some(id),
                        format!("{}.RunOrder", approval.path),
                        format!(
                            "approval {} ({}) runs before {} ({}) creates the change set that {} ({}) executes",
                            name(approval),
                            at(approval),
                            name(create),
                            at(create),
                            name(execute),
                            at(execute)
                        ),
                    ));
                }
            }
        }

        // berth's pipeline reads two sources.
        let sources: Vec<&str> = actions
            .iter()
            .filter(|a| string(&a.v["ActionTypeId"]["Category"]) == Some("Source"))
            .flat_map(|a| artifact_names(&a.v["OutputArtifacts"]))
            .collect();
        let wanted = [
            pipeline_model::artifacts::APP_SOURCE,
            pipeline_model::artifacts::INFRA_SOURCE,
        ];
        let missing: Vec<&str> = wanted.iter().copied().filter(|w| !sources.contains(w)).collect();
        // Neither: not a pipeline of berth's contract (someone else's template), nothing to say.
        if !missing.is_empty() && missing.len() < wanted.len() {
            out.push(finding(
                &SOURCES_NOT_BOTH,
                Some(id),
                "Properties.Stages[0]",
                format!(
                    "no source action outputs {}; its sources output [{}]",
                    missing.join(" or "),
                    sources.join(", ")
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::getparam_artifacts;

    #[test]
    fn getparam_artifacts_are_read_from_json_text() {
        let v = serde_json::json!(
            r#"{"ImageTag": {"Fn::GetParam": ["Build", "build.json", "tag"]}, "X": {"Fn::GetParam" : [ "Other","a.json","k"]}}"#
        );
        assert_eq!(getparam_artifacts(&v), ["Build", "Other"]);
        assert!(getparam_artifacts(&serde_json::json!("{}")).is_empty());
    }
}
