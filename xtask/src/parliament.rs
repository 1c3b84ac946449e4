//! parliament on every policy document berth synthesizes (a `cargo xtask ci` step): identity
//! policies, inline role policies, the stage key's policy, bucket and topic policies (not the roles'
//! trust policies, which grant no permission and which parliament does not judge). parliament reads plain JSON, so each document is resolved first as CloudFormation would
//! resolve it for the example stage `dev` (its parameter values, pseudo parameters, realistic ARNs
//! for the resources it names). Zero findings, or each one suppressed below with its reason.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use pipeline_model::Stack;
use serde_json::{Value, json};

use crate::tools::PythonTools;
use crate::util;

const PARTITION: &str = "aws";
const ACCOUNT: &str = "123456789012";

/// A finding parliament reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub issue: String,
    /// The action or value the finding is about, when parliament names one.
    pub subject: String,
    pub severity: String,
    pub detail: String,
    /// `<stack>-<logical ID>[-<document>].json`
    pub file: String,
}

/// The documents of `template` (with parameter values `params`) as resolved JSON, keyed by file name.
pub fn documents(
    stack: Stack,
    template: &Value,
    params: &BTreeMap<String, Value>,
) -> BTreeMap<String, Value> {
    let r = Resolver::new(template, params);
    let mut out = BTreeMap::new();
    let empty = serde_json::Map::new();
    for (id, res) in template["Resources"].as_object().unwrap_or(&empty) {
        if let Some(cond) = res["Condition"].as_str()
            && !r.condition(cond)
        {
            continue;
        }
        let p = &res["Properties"];
        let mut docs: Vec<(String, &Value)> = Vec::new();
        match res["Type"].as_str().unwrap_or_default() {
            "AWS::IAM::Policy"
            | "AWS::IAM::ManagedPolicy"
            | "AWS::S3::BucketPolicy"
            | "AWS::SNS::TopicPolicy" => {
                docs.push((String::new(), &p["PolicyDocument"]));
            }
            "AWS::KMS::Key" => docs.push((String::new(), &p["KeyPolicy"])),
            // A role's trust policy is no permissions policy (it has no Resource): parliament does not
            // judge those.
            "AWS::IAM::Role" => {
                for (i, pol) in p["Policies"].as_array().into_iter().flatten().enumerate() {
                    docs.push((format!("-inline{i}"), &pol["PolicyDocument"]));
                }
            }
            _ => {}
        }
        for (suffix, doc) in docs {
            if doc.is_object() {
                out.insert(format!("{stack}-{id}{suffix}.json"), r.resolve(doc));
            }
        }
    }
    out
}

/// Evaluates a template's intrinsic functions for one stage, with realistic ARNs for its resources.
struct Resolver<'a> {
    template: &'a Value,
    params: &'a BTreeMap<String, Value>,
    region: String,
}

impl<'a> Resolver<'a> {
    fn new(template: &'a Value, params: &'a BTreeMap<String, Value>) -> Self {
        Resolver {
            template,
            params,
            region: "ap-northeast-1".to_owned(),
        }
    }

    fn text(&self, v: &Value) -> String {
        match self.resolve(v) {
            Value::String(s) => s,
            other => other.to_string(),
        }
    }

    fn condition(&self, name: &str) -> bool {
        self.truth(&self.template["Conditions"][name])
    }

    fn truth(&self, v: &Value) -> bool {
        let Some((f, arg)) = v.as_object().and_then(|m| m.iter().next()) else {
            return false;
        };
        match f.as_str() {
            "Fn::Equals" => self.resolve(&arg[0]) == self.resolve(&arg[1]),
            "Fn::Not" => !self.truth(&arg[0]),
            "Fn::And" => arg.as_array().into_iter().flatten().all(|c| self.truth(c)),
            "Fn::Or" => arg.as_array().into_iter().flatten().any(|c| self.truth(c)),
            "Condition" => self.condition(arg.as_str().unwrap_or_default()),
            _ => false,
        }
    }

    /// What `Ref` to `name` yields.
    fn reference(&self, name: &str) -> Value {
        match name {
            "AWS::Partition" => return json!(PARTITION),
            "AWS::Region" => return json!(self.region),
            "AWS::AccountId" => return json!(ACCOUNT),
            "AWS::URLSuffix" => return json!("amazonaws.com"),
            "AWS::StackName" => return json!("sample-dev-stack"),
            "AWS::NoValue" => return Value::Null,
            _ => {}
        }
        if let Some(v) = self.params.get(name) {
            return v.clone();
        }
        if !self.template["Parameters"][name].is_null() {
            return self.template["Parameters"][name]["Default"].clone();
        }
        self.attribute(name, "Ref")
    }

    /// A resource's `Ref` or attribute, as AWS would form it for the resource's own name.
    fn attribute(&self, id: &str, attr: &str) -> Value {
        let res = &self.template["Resources"][id];
        let p = &res["Properties"];
        let named = |key: &str| {
            if p[key].is_null() {
                let param = |name: &str| {
                    self.params
                        .get(name)
                        .and_then(Value::as_str)
                        .unwrap_or("x")
                        .to_owned()
                };
                format!(
                    "{}-{}-{}",
                    param("AppName"),
                    param("StageName"),
                    id.to_ascii_lowercase()
                )
            } else {
                self.text(&p[key])
            }
        };
        let (r, a) = (&self.region, ACCOUNT);
        let arn = match (res["Type"].as_str().unwrap_or_default(), attr) {
            ("AWS::IAM::Role", "Arn") => format!("arn:aws:iam::{a}:role/{}", named("RoleName")),
            ("AWS::IAM::Role", _) => named("RoleName"),
            ("AWS::IAM::ManagedPolicy", _) => {
                format!("arn:aws:iam::{a}:policy/{}", named("ManagedPolicyName"))
            }
            ("AWS::KMS::Key", "Arn") => {
                format!("arn:aws:kms:{r}:{a}:key/1234abcd-12ab-34cd-56ef-1234567890ab")
            }
            ("AWS::KMS::Key", _) => "1234abcd-12ab-34cd-56ef-1234567890ab".to_owned(),
            ("AWS::KMS::Alias", _) => named("AliasName"),
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{}", named("BucketName")),
            ("AWS::S3::Bucket", _) => named("BucketName"),
            ("AWS::Logs::LogGroup", "Arn") => {
                format!("arn:aws:logs:{r}:{a}:log-group:{}:*", named("LogGroupName"))
            }
            ("AWS::Logs::LogGroup", _) => named("LogGroupName"),
            ("AWS::ECR::Repository", "Arn") => {
                format!("arn:aws:ecr:{r}:{a}:repository/{}", named("RepositoryName"))
            }
            ("AWS::ECR::Repository", "RepositoryUri") => {
                format!("{a}.dkr.ecr.{r}.amazonaws.com/{}", named("RepositoryName"))
            }
            ("AWS::ECR::Repository", _) => named("RepositoryName"),
            ("AWS::SNS::Topic", _) => format!("arn:aws:sns:{r}:{a}:{}", named("TopicName")),
            ("AWS::CodeBuild::Project", "Arn") => {
                format!("arn:aws:codebuild:{r}:{a}:project/{}", named("Name"))
            }
            ("AWS::CodeBuild::Project", _) => named("Name"),
            ("AWS::CodePipeline::Pipeline", _) => named("Name"),
            (ty, _) => {
                let service = ty.split("::").nth(1).unwrap_or("unknown").to_ascii_lowercase();
                format!("arn:aws:{service}:{r}:{a}:{}", id.to_ascii_lowercase())
            }
        };
        json!(arn)
    }

    fn sub(&self, text: &str, vars: &serde_json::Map<String, Value>) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let Some(len) = rest[start..].find('}') else {
                break;
            };
            let name = &rest[start + 2..start + len];
            let value = if let Some(v) = vars.get(name) {
                self.text(v)
            } else if let Some((id, attr)) = name.split_once('.') {
                self.text(&self.attribute(id, attr))
            } else {
                self.text(&self.reference(name))
            };
            out.push_str(&value);
            rest = &rest[start + len + 1..];
        }
        out.push_str(rest);
        out
    }

    fn resolve(&self, v: &Value) -> Value {
        match v {
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|x| self.resolve(x))
                    .filter(|x| !x.is_null())
                    .collect(),
            ),
            Value::Object(m) if m.len() == 1 => {
                let (f, arg) = m.iter().next().expect("one entry");
                match f.as_str() {
                    "Ref" => self.reference(arg.as_str().unwrap_or_default()),
                    "Fn::GetAtt" => self.attribute(
                        arg[0].as_str().unwrap_or_default(),
                        arg[1].as_str().unwrap_or_default(),
                    ),
                    "Fn::Sub" => match arg {
                        Value::String(s) => json!(self.sub(s, &serde_json::Map::new())),
                        _ => json!(self.sub(
                            arg[0].as_str().unwrap_or_default(),
                            arg[1].as_object().unwrap_or(&serde_json::Map::new())
                        )),
                    },
                    "Fn::Join" => {
                        let parts = self.resolve(&arg[1]);
                        let texts: Vec<String> = parts
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                            .collect();
                        json!(texts.join(arg[0].as_str().unwrap_or_default()))
                    }
                    "Fn::If" => {
                        let branch = if self.condition(arg[0].as_str().unwrap_or_default()) {
                            &arg[1]
                        } else {
                            &arg[2]
                        };
                        self.resolve(branch)
                    }
                    "Fn::FindInMap" => {
                        let key = |i: usize| self.text(&arg[i]);
                        self.resolve(&self.template["Mappings"][key(0)][key(1)][key(2)])
                    }
                    "Fn::Select" => {
                        let i = self.text(&arg[0]).parse::<usize>().unwrap_or(0);
                        self.resolve(&arg[1]).get(i).cloned().unwrap_or(Value::Null)
                    }
                    "Fn::Split" => json!(
                        self.text(&arg[1])
                            .split(arg[0].as_str().unwrap_or(","))
                            .collect::<Vec<_>>()
                    ),
                    "Fn::ImportValue" => json!(format!("arn:aws:imported:{}:{ACCOUNT}:value", self.region)),
                    _ => Value::Object(m.iter().map(|(k, v)| (k.clone(), self.resolve(v))).collect()),
                }
            }
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), self.resolve(v)))
                    .filter(|(_, v)| !v.is_null())
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// Runs parliament on `docs` (written into `dir`) and returns its findings.
pub fn findings(py: &PythonTools, dir: &Path, docs: &BTreeMap<String, Value>) -> Result<Vec<Finding>> {
    let mut files = Vec::new();
    for (name, doc) in docs {
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_string_pretty(doc)?)
            .with_context(|| format!("writing {}", path.display()))?;
        files.push(path);
    }
    let output = Command::new(py.bin.join("parliament"))
        .arg("--json")
        .arg("--files")
        // One argument, comma-separated.
        .arg(
            files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(","),
        )
        .current_dir(dir)
        .output()
        .context("starting parliament (cargo xtask tools provisions it)")?;
    // 0: nothing found; 1: findings. Anything else is parliament failing.
    if !matches!(output.status.code(), Some(0 | 1)) {
        bail!(
            "parliament failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("Traceback") || (output.status.code() == Some(1) && output.stdout.is_empty()) {
        bail!("parliament failed on one of {}:\n{stderr}", files.len());
    }
    let mut found = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let v: Value =
            serde_json::from_str(line).with_context(|| format!("reading parliament's output: {line}"))?;
        let file = v["location"]["filepath"].as_str().unwrap_or_default();
        found.push(Finding {
            subject: v["location"]["string"].as_str().unwrap_or_default().to_owned(),
            issue: v["issue"].as_str().unwrap_or_default().to_owned(),
            severity: v["severity"].as_str().unwrap_or_default().to_owned(),
            detail: v["detail"].to_string(),
            file: Path::new(file)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
        });
    }
    Ok(found)
}

/// The `cargo xtask ci` step: both stacks' documents for the example stage, every finding explained.
#[allow(clippy::print_stderr, reason = "progress of an xtask command")]
pub fn run(py: &PythonTools) -> Result<()> {
    let root = util::project_root();
    let stage = infra::Stage::load(&root.join("infra/stages/dev.yaml")).map_err(|e| {
        anyhow::anyhow!(
            "{}",
            e.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
        )
    })?;
    let dir = tempfile::tempdir()?;
    let mut docs = BTreeMap::new();
    for stack in [Stack::Pipeline, Stack::Service] {
        let template = infra::template(stack, cfn::Format::Json)
            .synth(cfn::Format::Json)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .to_json_value();
        let params: BTreeMap<String, Value> = stage
            .parameters(stack)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), json!(v)))
            .collect();
        docs.extend(documents(stack, &template, &params));
    }
    let found = findings(py, dir.path(), &docs)?;
    let (accepted, open): (Vec<&Finding>, Vec<&Finding>) =
        found.iter().partition(|f| suppression(f).is_some());
    for f in &accepted {
        eprintln!(
            "parliament: {} in {} accepted: {}",
            f.issue,
            f.file,
            suppression(f).unwrap_or_default()
        );
    }
    eprintln!(
        "parliament: {} documents, {} findings, {} accepted with a reason",
        docs.len(),
        found.len(),
        accepted.len()
    );
    if !open.is_empty() {
        bail!(
            "parliament found:\n  {}",
            open.iter()
                .map(|f| format!("{} {} in {}: {}", f.severity, f.issue, f.file, f.detail))
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }
    Ok(())
}

/// Why a finding is accepted, if it is: each kind berth accepts, with its reason.
fn suppression(f: &Finding) -> Option<&'static str> {
    let is = |issue: &str, file: &str| f.issue == issue && f.file.starts_with(file);
    if (is("UNKNOWN_ACTION", "") || is("UNKNOWN_PREFIX", "")) && newer_reference_knows(&f.subject) {
        return Some(
            "parliament's bundled reference predates the action; the vendored handlers or Service Authorization Reference (infra/data/permissions) list it",
        );
    }
    let starred: Vec<String> = serde_json::from_str::<Vec<String>>(&f.detail).unwrap_or_default();
    if is("RESOURCE_STAR", "pipeline-DeployPolicy")
        && !starred.is_empty()
        && starred
            .iter()
            .all(|a| a.starts_with("ec2:Describe") || a.starts_with("ec2:Get"))
    {
        return Some(
            "the Auto Scaling group handler's own patterns, ec2:Describe* and ec2:Get* on \"*\" (its schema lists them so); those that read secrets (passwords, console output, instance user data) are denied by NoSecretsFromInstances",
        );
    }
    if is("RESOURCE_STAR", "pipeline-Key") {
        return Some("a key policy's Resource is the key itself, which a key policy writes as \"*\"");
    }
    if (is("UNKNOWN_CONDITION_FOR_ACTION", "pipeline-Key")
        && f.detail.contains("kms:EncryptionContext:aws:logs:arn"))
        || (is("MISMATCHED_TYPE", "pipeline-Key") && f.detail.contains("ArnEquals requires"))
    {
        return Some(
            "AWS's documented key policy for encrypting CloudWatch Logs: kms:Describe* and the rest under ArnEquals on kms:EncryptionContext:aws:logs:arn",
        );
    }
    let mismatched: Vec<(String, String)> = serde_json::from_str::<Value>(&f.detail)
        .ok()
        .and_then(|d| d.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|m| {
            let text = |k: &str| m[k].as_str().unwrap_or_default().to_owned();
            (text("action"), text("required_format"))
        })
        .collect();
    if is("RESOURCE_MISMATCH", "pipeline-PipelinePolicy")
        && !mismatched.is_empty()
        && mismatched
            .iter()
            .all(|(_, format)| format == "arn:*:ssm:*:*:parameter/*")
    {
        return Some(
            "AWS's public parameters (/aws/service/ecs/...) have no account in their ARN (arn:aws:ssm:REGION::parameter/...), which parliament's pattern does not allow for",
        );
    }
    if is("RESOURCE_MISMATCH", "pipeline-DeployPolicy")
        && !mismatched.is_empty()
        && mismatched.iter().all(|(action, _)| action.starts_with("ssm:Get"))
    {
        return Some(
            "the Auto Scaling group handler's own pattern ssm:Get*, granted on AWS's public ECS parameters only: of what the pattern covers, only the parameter reads apply there, which is what the handler reads",
        );
    }
    None
}

/// True when the vendored handlers or reference name `action` (or its service, for a prefix finding).
fn newer_reference_knows(action: &str) -> bool {
    let root = util::project_root().join("infra/data/permissions");
    let read = |name: &str| {
        std::fs::read_to_string(root.join(name))
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let action = action.to_ascii_lowercase();
    if action.is_empty() {
        return false;
    }
    let quoted = format!("\"{action}\"");
    if read("handlers.json").contains(&quoted) {
        return true;
    }
    action.split_once(':').is_some_and(|(prefix, name)| {
        let sar: Value = serde_json::from_str(&read("service-authorization.json")).unwrap_or_default();
        sar["services"][prefix]["actions"]
            .as_object()
            .is_some_and(|a| a.contains_key(name))
    })
}
#[cfg(test)]
mod tests {
    use super::*;

    fn example_documents() -> BTreeMap<String, Value> {
        let stage = infra::Stage::load(&util::project_root().join("infra/stages/prod.yaml")).unwrap();
        let mut docs = BTreeMap::new();
        for stack in [Stack::Pipeline, Stack::Service] {
            let template = infra::template(stack, cfn::Format::Json)
                .synth(cfn::Format::Json)
                .unwrap()
                .to_json_value();
            let params = stage
                .parameters(stack)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), json!(v)))
                .collect();
            docs.extend(documents(stack, &template, &params));
        }
        docs
    }

    #[test]
    fn documents_are_resolved_as_cloudformation_would_for_the_stage() {
        let docs = example_documents();
        for (name, doc) in &docs {
            let text = doc.to_string();
            assert!(
                !text.contains("Fn::") && !text.contains("\"Ref\"") && !text.contains("${"),
                "{name}: {text}"
            );
        }
        let deploy = docs["pipeline-DeployPolicy.json"].to_string();
        assert!(
            deploy.contains("arn:aws:ecs:ap-northeast-1:123456789012:task-definition/sample-prod:*"),
            "{deploy}"
        );
        // The approvals topic exists in prod (approval: true), by its contract name.
        assert!(
            docs["pipeline-PipelinePolicy.json"]
                .to_string()
                .contains("arn:aws:sns:ap-northeast-1:123456789012:sample-prod-approvals")
        );
        // The ELB log delivery principal comes from the template's mapping for the region.
        let logs = docs["pipeline-LogBucketPolicy.json"].to_string();
        assert!(logs.contains(r#""AWS":"582318560864""#), "{logs}");
        assert!(logs.contains("arn:aws:s3:::sample-prod-artifactbucket"), "{logs}");
        assert!(!docs.keys().any(|k| k.contains("trust")));
    }

    fn finding(issue: &str, subject: &str, detail: &str, file: &str) -> Finding {
        Finding {
            issue: issue.to_owned(),
            subject: subject.to_owned(),
            severity: "LOW".to_owned(),
            detail: detail.to_owned(),
            file: file.to_owned(),
        }
    }

    #[test]
    fn only_the_findings_explained_here_are_accepted() {
        // An action the newer reference knows: accepted; a typo: not.
        assert!(
            suppression(&finding(
                "UNKNOWN_ACTION",
                "ecs:StopServiceDeployment",
                "",
                "pipeline-DeployPolicy.json"
            ))
            .is_some()
        );
        assert!(
            suppression(&finding(
                "UNKNOWN_ACTION",
                "ecs:StopServiceDeploymnet",
                "",
                "pipeline-DeployPolicy.json"
            ))
            .is_none()
        );
        assert!(
            suppression(&finding(
                "UNKNOWN_PREFIX",
                "managed-fleets:Get*",
                "",
                "pipeline-DeployPolicy.json"
            ))
            .is_some()
        );
        // Resource * is a key policy's way, nobody else's.
        assert!(suppression(&finding("RESOURCE_STAR", "", "[]", "pipeline-Key.json")).is_some());
        assert!(suppression(&finding("RESOURCE_STAR", "", "[]", "pipeline-BuildPolicy.json")).is_none());
        // ec2 reads on "*" in the deploy policy are the handler's patterns; anything else is not accepted.
        let ec2 = r#"["ec2:DescribeInstanceAttribute","ec2:GetPasswordData"]"#;
        let ecs = r#"["ecs:DescribeServices"]"#;
        assert!(suppression(&finding("RESOURCE_STAR", "", ec2, "pipeline-DeployPolicy.json")).is_some());
        assert!(suppression(&finding("RESOURCE_STAR", "", ecs, "pipeline-DeployPolicy.json")).is_none());
        // A mismatch beyond the public parameters is not accepted.
        let ssm = r#"[{"action": "ssm:GetParameters", "required_format": "arn:*:ssm:*:*:parameter/*"}]"#;
        let other = r#"[{"action": "ecs:CreateService", "required_format": "arn:*:ecs:*:*:service/*"}]"#;
        assert!(
            suppression(&finding(
                "RESOURCE_MISMATCH",
                "",
                ssm,
                "pipeline-PipelinePolicy.json"
            ))
            .is_some()
        );
        assert!(
            suppression(&finding(
                "RESOURCE_MISMATCH",
                "",
                other,
                "pipeline-PipelinePolicy.json"
            ))
            .is_none()
        );
        assert!(
            suppression(&finding(
                "RESOURCE_MISMATCH",
                "",
                other,
                "pipeline-DeployPolicy.json"
            ))
            .is_none()
        );
    }
}
