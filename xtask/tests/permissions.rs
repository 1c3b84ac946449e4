//! Permissions complete by construction: the typed policies, as synthesized, evaluated against what
//! AWS says the work needs (no emulator checks IAM the way an account does).
//!
//! - The deploy role (CloudFormation, service stack): every permission that the registry handlers
//!   (create, update, delete) of every resource type in the service stack list
//!   (`infra/data/permissions/handlers.json`), on a resource the action accepts
//!   (`infra/data/permissions/service-authorization.json`, the Service Authorization Reference), narrowed
//!   below `*` wherever the action takes a resource.
//! - The pipeline role: what each of the pipeline's actions does, from CodePipeline's documented
//!   service-role permissions per action provider ([`pipeline_action_needs`]).
//!
//! Each missing permission fails with the resource type, the handler (or the pipeline action) that
//! needs it and what the policy grants instead.

use pipeline_model::Stack;
use serde_json::Value;

/// What the tests substitute for the template's pseudo parameters; every other `${...}` (the stage's
/// names) stands for any value.
const PARTITION: &str = "aws";
const REGION: &str = "ap-northeast-1";
const ACCOUNT: &str = "123456789012";

fn data(name: &str) -> Value {
    let path = format!("{}/../infra/data/permissions/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn template(stack: Stack) -> Value {
    infra::template(stack, cfn::Format::Json)
        .synth(cfn::Format::Json)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_json_value()
}

/// Whether glob `pattern` (`*` any run, `?` one character) matches `text`, case-insensitively (IAM
/// compares action names so).
fn glob_matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (
        pattern.to_ascii_lowercase().chars().collect(),
        text.to_ascii_lowercase().chars().collect(),
    );
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether two globs (`*` only) can match one same string: a policy's resource and an ARN format.
fn globs_intersect(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut memo = vec![vec![None; b.len() + 1]; a.len() + 1];
    fn go(a: &[char], b: &[char], i: usize, j: usize, memo: &mut Vec<Vec<Option<bool>>>) -> bool {
        if let Some(r) = memo[i][j] {
            return r;
        }
        let r = if i == a.len() && j == b.len() {
            true
        } else if i < a.len() && a[i] == '*' {
            go(a, b, i + 1, j, memo) || (j < b.len() && go(a, b, i, j + 1, memo))
        } else if j < b.len() && b[j] == '*' {
            go(a, b, i, j + 1, memo) || (i < a.len() && go(a, b, i + 1, j, memo))
        } else {
            i < a.len() && j < b.len() && a[i] == b[j] && go(a, b, i + 1, j + 1, memo)
        };
        memo[i][j] = Some(r);
        r
    }
    go(&a, &b, 0, 0, &mut memo)
}

/// A `${Name}` template with the pseudo parameters filled in and every other name a wildcard.
fn fill(template: &str, partition: &str, region: &str, account: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        out.push_str(match &rest[start + 2..start + len] {
            "AWS::Partition" | "Partition" => partition,
            "AWS::Region" | "Region" => region,
            "AWS::AccountId" | "Account" => account,
            "AWS::URLSuffix" => "amazonaws.com",
            _ => "*",
        });
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// A policy's `Resource` entry as a glob over ARNs.
fn resource_glob(v: &Value, template: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) => match m.iter().next() {
            Some((f, arg)) if f == "Fn::Sub" => {
                let text = arg.as_str().or_else(|| arg[0].as_str()).unwrap_or("*");
                fill(text, PARTITION, REGION, ACCOUNT)
            }
            Some((f, arg)) if f == "Ref" || f == "Fn::GetAtt" => {
                // A resource's ARN: of its service, in this account, whatever its name.
                let id = arg.as_str().or_else(|| arg[0].as_str()).unwrap_or_default();
                let ty = template["Resources"][id]["Type"].as_str().unwrap_or_default();
                match ty.split("::").nth(1).map(str::to_ascii_lowercase) {
                    Some(service) if service == "iam" => format!("arn:{PARTITION}:iam::{ACCOUNT}:*"),
                    Some(service) => format!("arn:{PARTITION}:{service}:{REGION}:{ACCOUNT}:*"),
                    None => "arn:*".to_owned(), // a parameter: the ARN it is given
                }
            }
            _ => "*".to_owned(),
        },
        _ => "*".to_owned(),
    }
}

/// One `Allow` statement of a synthesized policy: its actions and resources, as globs.
#[derive(Debug)]
struct Grant {
    sid: String,
    actions: Vec<String>,
    resources: Vec<String>,
}

fn list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// The `Allow` statements of policy resource `id` in `template` (statements under a condition
/// count: the tests read the stage that has them).
fn grants(template: &Value, id: &str) -> Vec<Grant> {
    statements(template, id, "Allow")
}

/// Its `Deny` statements.
fn denials(template: &Value, id: &str) -> Vec<Grant> {
    statements(template, id, "Deny")
}

fn statements(template: &Value, id: &str, effect: &str) -> Vec<Grant> {
    let props = &template["Resources"][id]["Properties"];
    assert!(!props.is_null(), "no {id} in the template");
    list(&props["PolicyDocument"]["Statement"])
        .into_iter()
        .map(|s| match s.get("Fn::If") {
            Some(branches) => branches[1].clone(),
            None => s,
        })
        .filter(|s| s["Effect"] == effect)
        .map(|s| Grant {
            sid: s["Sid"].as_str().unwrap_or("(no Sid)").to_owned(),
            actions: list(&s["Action"])
                .iter()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect(),
            resources: list(&s["Resource"])
                .iter()
                .map(|r| resource_glob(r, template))
                .collect(),
        })
        .collect()
}

/// The Service Authorization Reference, as vendored.
struct Reference {
    services: Value,
}

/// What the reference says about one action.
enum Known {
    /// Not in the reference (a service it does not list, or a name that is no IAM action).
    Unknown,
    /// It takes no resource: only `"Resource": "*"` grants it.
    StarOnly,
    /// The ARN formats (as globs) of the resource types it requires (`required`) or may name.
    Resources {
        required: Vec<(String, String)>,
        any: Vec<(String, String)>,
    },
}

impl Reference {
    fn load() -> Reference {
        Reference {
            services: data("service-authorization.json")["services"].clone(),
        }
    }

    fn action(&self, action: &str) -> Known {
        let Some((prefix, name)) = action.split_once(':') else {
            return Known::Unknown;
        };
        let service = &self.services[prefix.to_ascii_lowercase()];
        let Some(actions) = service["actions"].as_object() else {
            return Known::Unknown;
        };
        let Some((_, a)) = actions.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) else {
            return Known::Unknown;
        };
        let types: Vec<(String, String, bool)> = a["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let ty = r[0].as_str().unwrap_or_default().to_owned();
                let arn = service["resources"][&ty].as_str().unwrap_or("*");
                (
                    ty,
                    fill(arn, PARTITION, REGION, ACCOUNT),
                    r[1].as_bool().unwrap_or(false),
                )
            })
            .collect();
        if types.is_empty() {
            Known::StarOnly
        } else {
            Known::Resources {
                required: types
                    .iter()
                    .filter(|t| t.2)
                    .map(|t| (t.0.clone(), t.1.clone()))
                    .collect(),
                any: types.into_iter().map(|t| (t.0, t.1)).collect(),
            }
        }
    }
}

/// Why `grants` does not let `action` through, or None when they do: some statement names the
/// action (or a pattern covering it) on a resource the action accepts — `*` for an action that takes
/// none, and a resource of every type the action requires (`ec2:RunInstances` requires several).
fn denied(grants: &[Grant], reference: &Reference, action: &str) -> Option<String> {
    let granting: Vec<&Grant> = grants
        .iter()
        .filter(|g| g.actions.iter().any(|a| glob_matches(a, action)))
        .collect();
    if granting.is_empty() {
        return Some("not allowed by any statement".to_owned());
    }
    let resources: Vec<&str> = granting
        .iter()
        .flat_map(|g| g.resources.iter().map(String::as_str))
        .collect();
    let shown = || {
        granting
            .iter()
            .map(|g| format!("{} on {}", g.sid, g.resources.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    };
    match reference.action(action) {
        _ if action.contains('*') => None, // a handler's own pattern (`ec2:Describe*`): named is enough
        Known::Unknown | Known::StarOnly => (!resources.contains(&"*")).then(|| {
            format!(
                "takes no resource (only \"Resource\": \"*\" grants it), granted only by {}",
                shown()
            )
        }),
        Known::Resources { required, any } => {
            let fits = |arn: &str| resources.iter().any(|r| globs_intersect(r, arn));
            let missing: Vec<String> = if required.is_empty() {
                // Only optional types: one of them, or `*`.
                (!any.iter().any(|(_, arn)| fits(arn)))
                    .then(|| {
                        any.iter()
                            .map(|(t, arn)| format!("{t} ({arn})"))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    })
                    .into_iter()
                    .collect()
            } else {
                required
                    .iter()
                    .filter(|(_, arn)| !fits(arn))
                    .map(|(t, arn)| format!("{t} ({arn})"))
                    .collect()
            };
            (!missing.is_empty()).then(|| {
                format!(
                    "needs a resource of type {}, granted only by {}",
                    missing.join(", "),
                    shown()
                )
            })
        }
    }
}

/// Handler permissions the deploy role does not get on purpose, each with why; `property` is the
/// property of the type that makes the handler call the action, which no resource of that type in
/// the service stack may set (checked), so that the handler never calls it.
struct NotGranted {
    resource_type: &'static str,
    action: &'static str,
    /// None: the entry is no IAM action at all (checked: the reference does not know it).
    property: Option<&'static str>,
    why: &'static str,
}

/// Why the Auto Scaling group handler's `managed-fleets:` entries are not granted.
const MANAGED_FLEETS: &str = "no IAM service: neither the Service Authorization Reference nor cfn-lint's IAM data (1.58) knows the prefix, and cfn-lint refuses it in a policy";

const NOT_GRANTED: &[NotGranted] = &[
    NotGranted {
        resource_type: "AWS::IAM::Role",
        action: "iam:PutRolePolicy",
        property: Some("Policies"),
        why: "inline policies would bypass the allow-list of managed policies the service's roles may attach",
    },
    NotGranted {
        resource_type: "AWS::IAM::Role",
        action: "iam:PutRolePermissionsBoundary",
        property: Some("PermissionsBoundary"),
        why: "berth sets no permissions boundary",
    },
    NotGranted {
        resource_type: "AWS::IAM::Role",
        action: "iam:DeleteRolePermissionsBoundary",
        property: Some("PermissionsBoundary"),
        why: "berth sets no permissions boundary",
    },
    NotGranted {
        resource_type: "AWS::Logs::LogGroup",
        action: "logs:PutResourcePolicy",
        property: Some("ResourcePolicyDocument"),
        why: "a log resource policy is account-wide and lets services write to the account's log groups",
    },
    NotGranted {
        resource_type: "AWS::Logs::LogGroup",
        action: "logs:DeleteResourcePolicy",
        property: Some("ResourcePolicyDocument"),
        why: "a log resource policy is account-wide and lets services write to the account's log groups",
    },
    NotGranted {
        resource_type: "AWS::AutoScaling::AutoScalingGroup",
        action: "managed-fleets:CreateAutoScalingGroup",
        property: None,
        why: MANAGED_FLEETS,
    },
    NotGranted {
        resource_type: "AWS::AutoScaling::AutoScalingGroup",
        action: "managed-fleets:DeleteAutoScalingGroup",
        property: None,
        why: MANAGED_FLEETS,
    },
    NotGranted {
        resource_type: "AWS::AutoScaling::AutoScalingGroup",
        action: "managed-fleets:DeregisterAutoScalingGroup",
        property: None,
        why: MANAGED_FLEETS,
    },
    NotGranted {
        resource_type: "AWS::AutoScaling::AutoScalingGroup",
        action: "managed-fleets:RegisterAutoScalingGroup",
        property: None,
        why: MANAGED_FLEETS,
    },
    NotGranted {
        resource_type: "AWS::AutoScaling::AutoScalingGroup",
        action: "managed-fleets:UpdateAutoScalingGroup",
        property: None,
        why: MANAGED_FLEETS,
    },
    NotGranted {
        resource_type: "AWS::AutoScaling::AutoScalingGroup",
        action: "managed-fleets:Get*",
        property: None,
        why: MANAGED_FLEETS,
    },
    NotGranted {
        resource_type: "AWS::Logs::LogGroup",
        action: "s3:REST.PUT.OBJECT",
        property: None,
        why: "an S3 access-log operation name in the schema, not an IAM action",
    },
];

/// The handler operations a deploy runs: create, update and delete (each calls read where it needs).
const OPERATIONS: [&str; 3] = ["create", "update", "delete"];

#[test]
fn the_deploy_role_allows_what_every_service_stack_handler_needs() {
    let handlers = data("handlers.json")["handlers"].clone();
    let reference = Reference::load();
    let service = template(Stack::Service);
    let deploy = grants(&template(Stack::Pipeline), "DeployPolicy");
    let deny = denials(&template(Stack::Pipeline), "DeployPolicy");
    let mut types: Vec<&str> = service["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|r| r["Type"].as_str())
        .collect();
    types.sort_unstable();
    types.dedup();
    let mut problems = Vec::new();
    for ty in &types {
        let Some(ops) = handlers[ty].as_object() else {
            problems.push(format!(
                "{ty}: no handler permissions vendored (cargo xtask codegen --permissions-from)"
            ));
            continue;
        };
        assert!(
            OPERATIONS.iter().any(|op| ops.contains_key(*op)),
            "{ty}: its schema lists no create/update/delete handler"
        );
        for op in OPERATIONS {
            for action in ops.get(op).and_then(Value::as_array).into_iter().flatten() {
                let action = action.as_str().unwrap();
                if let Some(skip) = NOT_GRANTED
                    .iter()
                    .find(|n| n.resource_type == *ty && n.action.eq_ignore_ascii_case(action))
                {
                    match skip.property {
                        Some(property) => {
                            for (id, r) in service["Resources"].as_object().unwrap() {
                                if r["Type"] == *ty && !r["Properties"][property].is_null() {
                                    problems.push(format!(
                                        "{ty} {id} sets {property}: its {op} handler then needs {action}, which the deploy role does not get ({})",
                                        skip.why
                                    ));
                                }
                            }
                        }
                        None => assert!(
                            matches!(reference.action(action), Known::Unknown),
                            "{action} is listed as no IAM action, but the reference knows it"
                        ),
                    }
                    continue;
                }
                if let Some(why) = denied(&deploy, &reference, action) {
                    problems.push(format!("{ty} {op} handler needs {action}: {why}"));
                }
                if let Some(d) = deny
                    .iter()
                    .find(|d| d.actions.iter().any(|a| glob_matches(a, action)))
                {
                    problems.push(format!("{ty} {op} handler needs {action}: denied by {}", d.sid));
                }
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(
        problems.is_empty(),
        "the deploy role (DeployPolicy) would fail mid-stack with AccessDenied:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn every_action_that_takes_a_resource_is_granted_below_star() {
    let reference = Reference::load();
    let handlers = data("handlers.json")["handlers"].clone();
    let handler_patterns: Vec<String> = handlers
        .as_object()
        .unwrap()
        .values()
        .flat_map(|ops| ops.as_object().unwrap().values())
        .flat_map(|list| list.as_array().unwrap().iter())
        .filter_map(|a| {
            a.as_str()
                .filter(|a| a.contains('*'))
                .map(str::to_ascii_lowercase)
        })
        .collect();
    let pipeline = template(Stack::Pipeline);
    let service = template(Stack::Service);
    let mut problems = Vec::new();
    for (t, stack) in [(&pipeline, "pipeline"), (&service, "service")] {
        for (id, r) in t["Resources"].as_object().unwrap() {
            if !r["Properties"]["PolicyDocument"].is_object() {
                continue;
            }
            for g in grants(t, id) {
                if !g.resources.iter().any(|r| r == "*") {
                    continue;
                }
                for a in &g.actions {
                    let broad = if a.contains('*') {
                        // A pattern on `*` only where a handler asks for exactly that pattern.
                        !handler_patterns.contains(&a.to_ascii_lowercase())
                    } else {
                        matches!(reference.action(a), Known::Resources { .. })
                    };
                    if broad {
                        problems.push(format!(
                            "{stack} stack, {id} {}: {a} is granted on \"*\", but IAM scopes it to resources",
                            g.sid
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_action_berth_grants_is_one_iam_knows() {
    let reference = Reference::load();
    let handlers = data("handlers.json")["handlers"].to_string().to_ascii_lowercase();
    let mut problems = Vec::new();
    for stack in [Stack::Pipeline, Stack::Service] {
        let t = template(stack);
        for (id, r) in t["Resources"].as_object().unwrap() {
            if !r["Properties"]["PolicyDocument"].is_object() {
                continue;
            }
            for g in grants(&t, id) {
                for a in &g.actions {
                    // A pattern or an action the reference does not know yet: only as a handler lists it.
                    let known = a.contains('*') || !matches!(reference.action(a), Known::Unknown);
                    if !known && !handlers.contains(&format!("\"{}\"", a.to_ascii_lowercase())) {
                        problems.push(format!("{stack} stack, {id} {}: {a} is no IAM action", g.sid));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What CodePipeline's service role needs for each action provider the pipeline uses (the CodePipeline
/// User Guide, "CodePipeline service role policy" and each action's reference page), as
/// (action, what it acts on).
fn pipeline_action_needs(provider: &str) -> &'static [(&'static str, On)] {
    match provider {
        "CodeStarSourceConnection" => &[
            ("codestar-connections:UseConnection", On::Connection),
            ("s3:PutObject", On::Artifacts),
            ("s3:PutObjectAcl", On::Artifacts),
            ("kms:GenerateDataKey", On::Key),
        ],
        "CodeBuild" => &[
            ("codebuild:StartBuild", On::Project),
            ("codebuild:BatchGetBuilds", On::Project),
            ("codebuild:StopBuild", On::Project),
        ],
        "CloudFormation" => &[
            ("cloudformation:CreateChangeSet", On::Stack),
            ("cloudformation:DescribeChangeSet", On::Stack),
            ("cloudformation:DeleteChangeSet", On::Stack),
            ("cloudformation:ExecuteChangeSet", On::Stack),
            ("cloudformation:DescribeStacks", On::Stack),
            ("cloudformation:DescribeStackEvents", On::Stack),
            ("iam:PassRole", On::DeployRole),
            // The service stack's SSM-typed parameters are resolved with the pipeline's credentials.
            ("ssm:GetParameters", On::PublicParameter),
            ("s3:GetObject", On::Artifacts),
            ("s3:GetObjectVersion", On::Artifacts),
            ("kms:Decrypt", On::Key),
        ],
        "Manual" => &[("sns:Publish", On::ApprovalsTopic)],
        other => panic!("the pipeline uses action provider {other}: add what it needs here"),
    }
}

/// What a pipeline action acts on, as an ARN glob of the dev stage.
#[derive(Clone, Copy, Debug)]
enum On {
    Connection,
    Artifacts,
    Key,
    Project,
    Stack,
    DeployRole,
    PublicParameter,
    ApprovalsTopic,
}

impl On {
    fn arn(self) -> String {
        let n = pipeline_model::Names::new("sample", "dev");
        match self {
            On::Connection => format!("arn:{PARTITION}:codeconnections:{REGION}:{ACCOUNT}:connection/0000"),
            On::Artifacts => format!("arn:{PARTITION}:s3:::sample-dev-artifacts-bucket/object"),
            On::Key => format!("arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/0000"),
            On::Project => format!(
                "arn:{PARTITION}:codebuild:{REGION}:{ACCOUNT}:project/{}",
                n.pipeline()
            ),
            On::Stack => format!(
                "arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/{}/0000",
                n.stack(Stack::Service)
            ),
            On::DeployRole => {
                format!("arn:{PARTITION}:iam::{ACCOUNT}:role/sample-dev-pipeline-DeployRole-0000")
            }
            On::PublicParameter => {
                format!("arn:{PARTITION}:ssm:{REGION}::parameter/aws/service/ecs/optimized-ami/x")
            }
            On::ApprovalsTopic => format!("arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{}", n.approvals_topic()),
        }
    }
}

#[test]
fn the_pipeline_role_allows_what_each_of_its_actions_does() {
    let pipeline = template(Stack::Pipeline);
    let policy = grants(&pipeline, "PipelinePolicy");
    let mut providers: Vec<String> = Vec::new();
    for stage in pipeline["Resources"]["Pipeline"]["Properties"]["Stages"]
        .as_array()
        .unwrap()
    {
        for a in stage["Actions"].as_array().unwrap() {
            let a = a.get("Fn::If").map_or(a, |b| &b[1]);
            providers.push(a["ActionTypeId"]["Provider"].as_str().unwrap().to_owned());
        }
    }
    providers.sort();
    providers.dedup();
    assert_eq!(
        providers,
        [
            "CloudFormation",
            "CodeBuild",
            "CodeStarSourceConnection",
            "Manual"
        ]
    );
    let mut problems = Vec::new();
    for provider in &providers {
        for (action, on) in pipeline_action_needs(provider) {
            let arn = on.arn();
            let ok = policy.iter().any(|g| {
                g.actions.iter().any(|a| glob_matches(a, action))
                    && g.resources.iter().any(|r| globs_intersect(r, &arn))
            });
            if !ok {
                problems.push(format!("{provider} action needs {action} on {on:?} ({arn})"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the pipeline role (PipelinePolicy) lacks:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_judges_agree_with_themselves() {
    assert!(glob_matches("ec2:Describe*", "ec2:DescribeInstances"));
    assert!(glob_matches("EC2:describe*", "ec2:Describe*"));
    assert!(!glob_matches("ec2:Describe*", "ec2:RunInstances"));
    assert!(globs_intersect(
        "arn:aws:ecs:ap-northeast-1:123456789012:*",
        "arn:aws:ecs:ap-northeast-1:123456789012:service/*/*"
    ));
    assert!(!globs_intersect(
        "arn:aws:ecs:ap-northeast-1:123456789012:cluster/*",
        "arn:aws:ecs:ap-northeast-1:123456789012:service/*/*"
    ));
    assert!(!globs_intersect(
        "arn:aws:logs:ap-northeast-1:123456789012:log-group:/ecs/*",
        "arn:aws:ecs:*"
    ));
    assert_eq!(
        fill(
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AppName}-*",
            "aws",
            "r",
            "1"
        ),
        "arn:aws:iam::1:role/*-*"
    );
    let reference = Reference::load();
    assert!(matches!(
        reference.action("ec2:DescribeInstances"),
        Known::StarOnly
    ));
    assert!(matches!(
        reference.action("ecs:CreateService"),
        Known::Resources { .. }
    ));
    assert!(matches!(reference.action("s3:REST.PUT.OBJECT"), Known::Unknown));
    let grants = [Grant {
        sid: "X".to_owned(),
        actions: vec!["ecs:*".to_owned()],
        resources: vec![format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/*")],
    }];
    assert!(denied(&grants, &reference, "ecs:CreateService").is_some_and(|w| w.contains("service")));
    assert!(denied(&grants, &reference, "ecs:CreateCluster").is_none());
    assert!(denied(&grants, &reference, "ecs:ListClusters").is_some_and(|w| w.contains("takes no resource")));
}

/// The IAM actions of the AWS CLI calls in `commands` (`aws <service> <operation>`), and of the
/// registry calls docker makes to the stage's repository.
fn called_actions(commands: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for c in commands {
        let words: Vec<&str> = c
            .split(|ch: char| ch.is_whitespace() || ch == '(' || ch == '|' || ch == ';')
            .filter(|w| !w.is_empty())
            .collect();
        for (i, w) in words.iter().enumerate() {
            match *w {
                "aws" => {
                    let (Some(service), Some(op)) = (words.get(i + 1), words.get(i + 2)) else {
                        continue;
                    };
                    let action = match (*service, *op) {
                        // The CLI's own names for two API operations.
                        ("ecr", "get-login-password") => "GetAuthorizationToken".to_owned(),
                        (_, op) => op
                            .split('-')
                            .map(|p| {
                                let mut cs = p.chars();
                                cs.next().map_or_else(String::new, |f| {
                                    f.to_ascii_uppercase().to_string() + cs.as_str()
                                })
                            })
                            .collect(),
                    };
                    out.push(format!("{service}:{action}"));
                }
                "docker" => match words.get(i + 1).copied() {
                    Some("push") => out.extend(
                        [
                            "ecr:BatchCheckLayerAvailability",
                            "ecr:InitiateLayerUpload",
                            "ecr:UploadLayerPart",
                            "ecr:CompleteLayerUpload",
                            "ecr:PutImage",
                        ]
                        .map(str::to_owned),
                    ),
                    // A build that reads a cache or a base image from the stage's repository pulls.
                    Some("build" | "buildx" | "pull")
                        if c.contains("--cache-from") || c.contains("docker pull") =>
                    {
                        out.extend(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"].map(str::to_owned));
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The ARN each action of a build acts on (the dev stage's names).
fn build_target(action: &str) -> String {
    let n = pipeline_model::Names::new("sample", "dev");
    match action.split_once(':').map(|(s, _)| s) {
        Some("ecr") => format!(
            "arn:{PARTITION}:ecr:{REGION}:{ACCOUNT}:repository/{}",
            n.repository()
        ),
        Some("cloudformation") => format!(
            "arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/{}/0000",
            n.stack(Stack::Service)
        ),
        Some("ssm") => format!("arn:{PARTITION}:ssm:{REGION}:{ACCOUNT}:parameter/x"),
        _ => "*".to_owned(),
    }
}

/// What every CodeBuild build does besides its commands: its logs, the pipeline's artifacts (read, and
/// written for a build with output artifacts) under the stage key.
fn codebuild_needs(writes_artifacts: bool) -> Vec<(&'static str, String)> {
    let logs =
        format!("arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:/aws/codebuild/sample-dev:log-stream:x");
    let objects = format!("arn:{PARTITION}:s3:::sample-dev-artifactbucket/object");
    let key = format!("arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/0000");
    let mut needs = vec![
        ("logs:CreateLogStream", logs.clone()),
        ("logs:PutLogEvents", logs),
        ("s3:GetObject", objects.clone()),
        ("kms:Decrypt", key.clone()),
    ];
    if writes_artifacts {
        needs.push(("s3:PutObject", objects));
        needs.push(("kms:GenerateDataKey", key));
    }
    needs
}

fn check_build_role(policy: &str, commands: &[String], writes_artifacts: bool) -> Vec<String> {
    let grants = grants(&template(Stack::Pipeline), policy);
    let mut needs: Vec<(String, String)> = called_actions(commands)
        .into_iter()
        .map(|a| {
            let target = build_target(&a);
            (a, target)
        })
        .collect();
    needs.extend(
        codebuild_needs(writes_artifacts)
            .into_iter()
            .map(|(a, t)| (a.to_owned(), t)),
    );
    assert!(!needs.is_empty());
    needs
        .iter()
        .filter(|(action, target)| {
            !grants.iter().any(|g| {
                g.actions.iter().any(|a| glob_matches(a, action))
                    && g.resources.iter().any(|r| globs_intersect(r, target))
            })
        })
        .map(|(action, target)| format!("{policy}: {action} on {target}"))
        .collect()
}

#[test]
fn each_build_role_allows_what_its_buildspec_calls() {
    let app: Vec<String> = app::buildspec::buildspec("sample")
        .commands()
        .map(str::to_owned)
        .collect();
    let calls = called_actions(&app);
    assert!(
        calls.contains(&"ecr:GetAuthorizationToken".to_owned()) && calls.contains(&"ecr:PutImage".to_owned()),
        "{calls:?}"
    );
    let summary = vec![infra::blocks::change_set_summary::script()];
    assert_eq!(called_actions(&summary), ["cloudformation:DescribeChangeSet"]);
    let mut problems = check_build_role("BuildPolicy", &app, true);
    problems.extend(check_build_role("ChangeSetSummaryPolicy", &summary, false));
    assert!(
        problems.is_empty(),
        "a build would fail with AccessDenied:\n  {}",
        problems.join("\n  ")
    );
}
