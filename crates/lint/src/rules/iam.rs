//! KMS key policies and IAM policies: the account keeps the key, no wildcards where AWS allows
//! names, ARNs where ARNs are required.

use serde_json::Value;

use super::{
    ACTION_WILDCARD, KEY_WILDCARD_PRINCIPAL, KEY_WITHOUT_ADMINISTRATOR, NAME_WHERE_ARN_REQUIRED,
    RESOURCE_WILDCARD,
};
use crate::template::{Template, actions, getatt, items, ref_id, statements, strings};
use crate::{Finding, finding};

/// Patterns accepted on `Resource: "*"` although some actions they cover take a resource: the read
/// patterns CloudFormation's handlers list for themselves (the Auto Scaling group's, the load
/// balancer's).
pub const STAR_PATTERNS: &[&str] = &[
    "autoscaling:Describe*",
    "ec2:Describe*",
    "ec2:Get*",
    "elasticloadbalancing:Describe*",
];

/// True when the vendored Service Authorization Reference covers `action`'s service (it lists a
/// star-only action of it, as it does for every service it holds): only then can berth tell
/// whether AWS scopes the action.
fn service_known(action: &str) -> bool {
    let Some((service, _)) = action.split_once(':') else {
        return false;
    };
    let prefix = format!("{}:", service.to_ascii_lowercase());
    let i = super::star_only::ACTIONS.partition_point(|a| *a < prefix.as_str());
    super::star_only::ACTIONS
        .get(i)
        .is_some_and(|a| a.starts_with(&prefix))
}

/// True when AWS accepts only `Resource: "*"` for `action` (the reference lists no resource type for
/// it), or when it falls under one of [`STAR_PATTERNS`].
fn star_only(action: &str) -> bool {
    let lower = action.to_ascii_lowercase();
    STAR_PATTERNS.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => lower.starts_with(&prefix.to_ascii_lowercase()),
        None => lower == p.to_ascii_lowercase(),
    }) || super::star_only::ACTIONS.binary_search(&lower.as_str()).is_ok()
}

/// The identity policies of a resource: (path, document).
fn identity_policies<'a>(ty: &str, r: &'a Value) -> Vec<(String, &'a Value)> {
    let p = &r["Properties"];
    match ty {
        "AWS::IAM::Role" | "AWS::IAM::User" | "AWS::IAM::Group" => items(&p["Policies"])
            .into_iter()
            .enumerate()
            .map(|(i, pol)| {
                (
                    format!("Properties.Policies[{i}].PolicyDocument"),
                    &pol["PolicyDocument"],
                )
            })
            .collect(),
        "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
            vec![("Properties.PolicyDocument".to_owned(), &p["PolicyDocument"])]
        }
        _ => Vec::new(),
    }
}

/// The resource policies whose `Resource` must name resources too: bucket policies. (In a topic or
/// queue policy, `"*"` is the topics or queues it is attached to, not every resource.)
fn resource_policies<'a>(ty: &str, r: &'a Value) -> Vec<(String, &'a Value)> {
    match ty {
        "AWS::S3::BucketPolicy" => {
            vec![(
                "Properties.PolicyDocument".to_owned(),
                &r["Properties"]["PolicyDocument"],
            )]
        }
        _ => Vec::new(),
    }
}

fn allows(statement: &Value) -> bool {
    statement["Effect"].as_str() == Some("Allow")
}

/// True when a principal value names the account itself: `arn:...:iam::ACCOUNT:root` (literal,
/// `Fn::Sub` or `Fn::Join`), `{"Ref": "AWS::AccountId"}`, or a 12-digit account ID.
fn is_account_root(v: &Value) -> bool {
    if ref_id(v) == Some("AWS::AccountId") {
        return true;
    }
    if let Some(s) = v.as_str() {
        return (s.starts_with("arn:") && s.ends_with(":root"))
            || (s.len() == 12 && s.chars().all(|c| c.is_ascii_digit()));
    }
    // Fn::Sub or Fn::Join: names the account and ends with `:root`.
    v.to_string().contains("AWS::AccountId") && strings(v).concat().ends_with(":root")
}

fn aws_principals(statement: &Value) -> Vec<&Value> {
    match &statement["Principal"] {
        Value::String(_) => vec![&statement["Principal"]],
        Value::Object(m) => m.get("AWS").map(items).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// What administering a key takes: changing its policy (and with it everything else) and deleting
/// it. AWS's "Allow access for Key Administrators" statement (kms:Create*, Describe*, Enable*,
/// List*, Put*, Update*, Revoke*, Disable*, Get*, Delete*, ScheduleKeyDeletion, CancelKeyDeletion)
/// and kms:* both cover them.
const KEY_ADMINISTRATION: &[&str] = &["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"];

/// True when an action pattern (`kms:*`, `kms:Put*`, `kms:PutKeyPolicy`; case-insensitive) covers
/// `action`.
fn covers(pattern: &str, action: &str) -> bool {
    let (p, a) = (pattern.to_ascii_lowercase(), action.to_ascii_lowercase());
    match p.strip_suffix('*') {
        Some(prefix) => a.starts_with(prefix),
        None => p == a,
    }
}

/// True when a statement lets an AWS principal (the account, a role, a user) administer the key.
fn administers(statement: &Value) -> bool {
    let acts = actions(statement);
    !aws_principals(statement).is_empty()
        && KEY_ADMINISTRATION
            .iter()
            .all(|needed| acts.iter().any(|a| covers(a, needed)))
}

fn is_wildcard_principal(statement: &Value) -> bool {
    statement["Principal"].as_str() == Some("*")
        || aws_principals(statement).iter().any(|p| p.as_str() == Some("*"))
}

/// Where a property takes an ARN: (resource type, path from Properties, description).
const ARN_PROPERTIES: &[(&str, &[&str])] = &[
    ("AWS::ECS::TaskDefinition", &["ExecutionRoleArn"]),
    ("AWS::ECS::TaskDefinition", &["TaskRoleArn"]),
    ("AWS::CodePipeline::Pipeline", &["RoleArn"]),
    // Not AWS::CodeBuild::Project's ServiceRole: CodeBuild takes the role's name or its ARN.
    ("AWS::Lambda::Function", &["Role"]),
    (
        "AWS::EC2::LaunchTemplate",
        &["LaunchTemplateData", "IamInstanceProfile", "Arn"],
    ),
    (
        "AWS::ElasticLoadBalancingV2::Listener",
        &["Certificates", "*", "CertificateArn"],
    ),
    ("AWS::IAM::Role", &["ManagedPolicyArns", "*"]),
];

/// Resource types whose `Ref` returns a name or an ID, not an ARN.
const REF_IS_NOT_AN_ARN: &[&str] = &[
    "AWS::IAM::Role",
    "AWS::IAM::InstanceProfile",
    "AWS::IAM::User",
    "AWS::IAM::Group",
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::ECR::Repository",
    "AWS::CodeBuild::Project",
    "AWS::ECS::Cluster",
    "AWS::Lambda::Function",
];

/// The values at `path` under `v` (`*` walks every item of a list), with their paths.
fn at_path<'a>(v: &'a Value, path: &[&str], prefix: String, out: &mut Vec<(String, &'a Value)>) {
    let Some((first, rest)) = path.split_first() else {
        if !v.is_null() {
            out.push((prefix, v));
        }
        return;
    };
    if *first == "*" {
        for (i, x) in items(v).into_iter().enumerate() {
            at_path(x, rest, format!("{prefix}[{i}]"), out);
        }
    } else {
        at_path(&v[*first], rest, format!("{prefix}.{first}"), out);
    }
}

/// The values of the keys called one of `names` anywhere under `v`, with their paths.
fn keys_named<'a>(v: &'a Value, names: &[&str], prefix: String, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let path = format!("{prefix}.{k}");
                if names.contains(&k.as_str()) {
                    out.push((path, x));
                } else {
                    keys_named(x, names, path, out);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                keys_named(x, names, format!("{prefix}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Why `v` is not an ARN, when it clearly is not.
fn not_an_arn(t: &Template<'_>, v: &Value) -> Option<String> {
    if let Some(s) = v.as_str() {
        return (!s.starts_with("arn:")).then(|| format!("`{s}` is not an ARN"));
    }
    if let Some(id) = ref_id(v)
        && let Some(ty) = t.type_of(id)
        && REF_IS_NOT_AN_ARN.contains(&ty)
    {
        return Some(format!("Ref {id} gives the {ty}'s name, not its ARN"));
    }
    if let Some((id, attr)) = getatt(v)
        && t.resource(id).is_some()
        && !attr.ends_with("Arn")
    {
        return Some(format!("!GetAtt {id}.{attr} is not an ARN"));
    }
    if let Some(text) = v
        .get("Fn::Sub")
        .and_then(|s| s.as_str().or_else(|| s.get(0).and_then(Value::as_str)))
        && !text.starts_with("arn:")
        && !text.starts_with("${")
    {
        return Some(format!("`{text}` is not an ARN"));
    }
    None
}

pub fn check(t: &Template<'_>, out: &mut Vec<Finding>) {
    for (id, key) in t.of_type("AWS::KMS::Key") {
        let doc = &key["Properties"]["KeyPolicy"];
        if doc.is_null() {
            continue; // the default key policy gives the account full access
        }
        let admin = statements(doc).iter().any(|s| {
            allows(s)
                && ((actions(s).iter().any(|a| *a == "kms:*" || *a == "*")
                    && aws_principals(s).into_iter().any(is_account_root))
                    || administers(s))
        });
        if !admin {
            out.push(finding(
                &KEY_WITHOUT_ADMINISTRATOR,
                Some(id),
                "Properties.KeyPolicy",
                format!(
                    "no statement allows kms:* to the account or to an administrator ({} to an AWS principal): \
                     nobody could manage or delete the key",
                    KEY_ADMINISTRATION.join(" and ")
                ),
            ));
        }
        for (i, s) in statements(doc).into_iter().enumerate() {
            if allows(s) && is_wildcard_principal(s) && s.get("Condition").is_none() {
                out.push(finding(
                    &KEY_WILDCARD_PRINCIPAL,
                    Some(id),
                    format!("Properties.KeyPolicy.Statement[{i}].Principal"),
                    "lets any AWS principal use the key".to_owned(),
                ));
            }
            if allows(s) && actions(s).contains(&"*") {
                out.push(finding(
                    &ACTION_WILDCARD,
                    Some(id),
                    format!("Properties.KeyPolicy.Statement[{i}].Action"),
                    "allows every action".to_owned(),
                ));
            }
        }
    }

    for (id, r) in t.resources() {
        let ty = r["Type"].as_str().unwrap_or_default();
        let identity = identity_policies(ty, r);
        let resource = resource_policies(ty, r);
        for (path, doc) in identity.iter().chain(resource.iter()) {
            for (i, s) in statements(doc).into_iter().enumerate() {
                if !allows(s) {
                    continue;
                }
                let acts = actions(s);
                if acts.iter().any(|a| *a == "*" || *a == "*:*") {
                    out.push(finding(
                        &ACTION_WILDCARD,
                        Some(id),
                        format!("{path}.Statement[{i}].Action"),
                        "allows every action".to_owned(),
                    ));
                    continue;
                }
                let star = items(&s["Resource"]).iter().any(|r| r.as_str() == Some("*"));
                let scoped: Vec<&str> = acts
                    .iter()
                    .copied()
                    .filter(|a| !star_only(a) && service_known(a))
                    .collect();
                if star && !scoped.is_empty() {
                    out.push(finding(
                        &RESOURCE_WILDCARD,
                        Some(id),
                        format!("{path}.Statement[{i}].Resource"),
                        format!("allows {} on every resource", scoped.join(", ")),
                    ));
                }
            }
        }
        if ty == "AWS::CodePipeline::Pipeline" {
            // Inside action configurations (any JSON to the schema): the roles and connections.
            let mut found = Vec::new();
            keys_named(
                &r["Properties"]["Stages"],
                &["RoleArn", "ConnectionArn"],
                "Properties.Stages".to_owned(),
                &mut found,
            );
            for (p, v) in found {
                if let Some(why) = not_an_arn(t, v) {
                    out.push(finding(
                        &NAME_WHERE_ARN_REQUIRED,
                        Some(id),
                        p,
                        format!("{why}; the action takes an ARN"),
                    ));
                }
            }
        }
        for (rty, path) in ARN_PROPERTIES {
            if ty != *rty {
                continue;
            }
            let mut found = Vec::new();
            at_path(&r["Properties"], path, "Properties".to_owned(), &mut found);
            for (p, v) in found {
                if let Some(why) = not_an_arn(t, v) {
                    out.push(finding(
                        &NAME_WHERE_ARN_REQUIRED,
                        Some(id),
                        p,
                        format!("{why}; the property takes an ARN"),
                    ));
                }
            }
        }
    }
}
