//! The environment as a graph: each stack's resources and their references (`Ref`, `Fn::GetAtt`,
//! `Fn::Sub` variables, `DependsOn`), the pipeline's stages, actions and artifacts, and the edges
//! between the stacks: the deploy actions to the stack they deploy, and the references by name (one
//! stack naming a resource of the other by the contract's scheme, with no export in between).
//!
//! Rendered as Mermaid (for the README; GitHub draws it) or Graphviz DOT. Deterministic: everything is
//! sorted.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::template::{self, items, string, sub_variables};

/// One stack to draw.
pub struct Stack<'a> {
    /// A short key (`pipeline`, `service`), used in node IDs.
    pub key: &'a str,
    /// The stack's name as shown and as deploy actions name it (`sample-dev-service`).
    pub name: String,
    pub template: &'a Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Mermaid,
    Dot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum EdgeKind {
    /// Ref, GetAtt, Sub.
    Uses,
    DependsOn,
    /// One stack names a resource of the other.
    ByName,
    /// An action reads or writes an artifact.
    Artifact,
    /// A deploy action deploys a stack.
    Deploys,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Edge {
    from: String,
    to: String,
    kind: EdgeKind,
}

struct Node {
    id: String,
    label: String,
    shape: Shape,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Resource,
    Action,
    Artifact,
}

struct Group {
    id: String,
    label: String,
    nodes: Vec<Node>,
    groups: Vec<Group>,
}

fn node_id(stack: &str, logical: &str) -> String {
    format!("{stack}_{logical}")
}

fn short_type(ty: &str) -> &str {
    ty.strip_prefix("AWS::").unwrap_or(ty)
}

/// `text` with `${Name}` replaced from `vars`, and from `local` (a `Fn::Sub`'s own variables, when
/// they are literal strings or `Fn::Sub` text).
fn resolve(text: &str, vars: &BTreeMap<String, String>, local: Option<&Value>) -> String {
    let mut out = text.to_owned();
    for name in sub_variables(text) {
        // The Sub's own variable shadows a template-wide one of the same name.
        let value = match local.and_then(|l| l.get(name)) {
            Some(v) => v
                .as_str()
                .map(str::to_owned)
                .or_else(|| sub_text(v).map(|(t, l)| resolve(t, vars, l)))
                .or_else(|| template::ref_id(v).and_then(|r| vars.get(r).cloned())),
            None => vars.get(name).cloned(),
        };
        if let Some(v) = value {
            out = out.replace(&format!("${{{name}}}"), &v);
        }
    }
    out
}

/// A `Fn::Sub`'s text and variables.
fn sub_text(v: &Value) -> Option<(&str, Option<&Value>)> {
    match v.get("Fn::Sub")? {
        Value::String(s) => Some((s, None)),
        Value::Array(a) => Some((a.first()?.as_str()?, a.get(1))),
        _ => None,
    }
}

/// Every string a value holds, `Fn::Sub` text resolved with `vars`.
fn texts(v: &Value, vars: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, vars: &BTreeMap<String, String>, out: &mut Vec<String>) {
        if let Some((text, local)) = sub_text(v) {
            out.push(resolve(text, vars, local));
            if let Some(l) = local {
                walk(l, vars, out);
            }
            return;
        }
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| walk(x, vars, out)),
            Value::Object(m) => m.values().for_each(|x| walk(x, vars, out)),
            _ => {}
        }
    }
    walk(v, vars, &mut out);
    out
}

/// The names a resource is known by outside its stack: its `*Name` properties, resolved.
fn physical_names(r: &Value, vars: &BTreeMap<String, String>) -> Vec<String> {
    let p = &r["Properties"];
    let keys = [
        "RepositoryName",
        "ManagedPolicyName",
        "RoleName",
        "LogGroupName",
        "AliasName",
        "BucketName",
        "InstanceProfileName",
    ];
    keys.iter()
        .filter_map(|k| {
            let v = &p[*k];
            v.as_str()
                .map(str::to_owned)
                .or_else(|| sub_text(v).map(|(t, l)| resolve(t, vars, l)))
        })
        // Short names (`app`) would match everywhere. Unresolved names (`${AppName}-...`) still match:
        // both stacks spell them from the same scheme.
        .filter(|n| n.len() >= 6)
        .collect()
}

/// True when `name` occurs in `text` as a whole name (not followed by a letter, digit or `-`).
fn names(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(i, _)| {
        let after = text[i + name.len()..].chars().next();
        let before = text[..i].chars().next_back();
        after.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            && before.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    })
}

/// Builds and renders the graph of `stacks`, with `vars` (e.g. `AppName`, `StageName`) substituted in
/// names.
pub fn render(stacks: &[Stack<'_>], vars: &BTreeMap<String, String>, format: Format) -> String {
    let mut groups = Vec::new();
    let mut edges: BTreeSet<Edge> = BTreeSet::new();
    let mut named: Vec<(String, String)> = Vec::new(); // (physical name, node)

    for s in stacks {
        let t = template::Template::new(s.template);
        let mut resources = t.resources();
        resources.sort_by(|a, b| a.0.cmp(b.0));
        let mut nodes = Vec::new();
        for (id, r) in &resources {
            let cond = r["Condition"]
                .as_str()
                .map(|c| format!(" (if {c})"))
                .unwrap_or_default();
            nodes.push(Node {
                id: node_id(s.key, id),
                label: format!("{id}{cond}\n{}", short_type(r["Type"].as_str().unwrap_or("?"))),
                shape: Shape::Resource,
            });
            for target in t.references_in(&r["Properties"]) {
                if target != *id {
                    edges.insert(Edge {
                        from: node_id(s.key, id),
                        to: node_id(s.key, target),
                        kind: EdgeKind::Uses,
                    });
                }
            }
            for dep in items(&r["DependsOn"]).into_iter().filter_map(Value::as_str) {
                edges.insert(Edge {
                    from: node_id(s.key, id),
                    to: node_id(s.key, dep),
                    kind: EdgeKind::DependsOn,
                });
            }
            for n in physical_names(r, vars) {
                named.push((n, node_id(s.key, id)));
            }
        }
        let mut sub = Vec::new();
        for (pid, p) in t.of_type("AWS::CodePipeline::Pipeline") {
            sub.push(pipeline_group(s, stacks, pid, p, vars, &mut edges));
        }
        groups.push(Group {
            id: format!("stack_{}", s.key),
            label: s.name.clone(),
            nodes,
            groups: sub,
        });
    }

    // References by name across stacks.
    for s in stacks {
        let t = template::Template::new(s.template);
        for (id, r) in t.resources() {
            let from = node_id(s.key, id);
            let all = texts(&r["Properties"], vars);
            for (name, to) in &named {
                if !to.starts_with(&format!("{}_", s.key)) && all.iter().any(|x| names(x, name)) {
                    edges.insert(Edge {
                        from: from.clone(),
                        to: to.clone(),
                        kind: EdgeKind::ByName,
                    });
                }
            }
        }
    }

    match format {
        Format::Mermaid => mermaid(&groups, &edges),
        Format::Dot => dot(&groups, &edges),
    }
}

fn pipeline_group(
    s: &Stack<'_>,
    stacks: &[Stack<'_>],
    pid: &str,
    p: &Value,
    vars: &BTreeMap<String, String>,
    edges: &mut BTreeSet<Edge>,
) -> Group {
    let t = template::Template::new(s.template);
    let prefix = format!("{}_{pid}", s.key);
    let mut stage_groups = Vec::new();
    let mut artifacts: BTreeSet<String> = BTreeSet::new();
    for (si, stage) in items(&p["Properties"]["Stages"]).into_iter().enumerate() {
        let stage_name = string(&stage["Name"]).unwrap_or("?");
        let mut nodes = Vec::new();
        for action in items(&stage["Actions"]) {
            // Both branches of a Fn::If are drawn: they are the same slot, one of them deployed.
            let alternatives: Vec<&Value> = match action.get("Fn::If").and_then(Value::as_array) {
                Some(args) => args
                    .iter()
                    .skip(1)
                    .filter(|b| template::ref_id(b) != Some("AWS::NoValue"))
                    .collect(),
                None => vec![action],
            };
            for (k, a) in alternatives.iter().enumerate() {
                let name = string(&a["Name"]).unwrap_or("?");
                let provider = string(&a["ActionTypeId"]["Provider"]).unwrap_or("?");
                let id = format!(
                    "{prefix}_{si}_{name}{}",
                    if k > 0 { format!("_{k}") } else { String::new() }
                );
                let cond = action.get("Fn::If").and_then(|f| f[0].as_str()).map(|c| {
                    if alternatives.len() > 1 && k > 0 {
                        format!(" (unless {c})")
                    } else {
                        format!(" (if {c})")
                    }
                });
                nodes.push(Node {
                    id: id.clone(),
                    label: format!("{name}{}\n{provider}", cond.unwrap_or_default()),
                    shape: Shape::Action,
                });
                for input in items(&a["InputArtifacts"])
                    .into_iter()
                    .filter_map(|x| string(&x["Name"]))
                {
                    artifacts.insert(input.to_owned());
                    edges.insert(Edge {
                        from: format!("{prefix}_art_{input}"),
                        to: id.clone(),
                        kind: EdgeKind::Artifact,
                    });
                }
                for output in items(&a["OutputArtifacts"])
                    .into_iter()
                    .filter_map(|x| string(&x["Name"]))
                {
                    artifacts.insert(output.to_owned());
                    edges.insert(Edge {
                        from: id.clone(),
                        to: format!("{prefix}_art_{output}"),
                        kind: EdgeKind::Artifact,
                    });
                }
                // A deploy action: to the stack it deploys.
                if let Some(target) = texts(&a["Configuration"]["StackName"], vars).first() {
                    for other in stacks {
                        if &other.name == target {
                            edges.insert(Edge {
                                from: id.clone(),
                                to: format!("stack_{}", other.key),
                                kind: EdgeKind::Deploys,
                            });
                        }
                    }
                }
                // A build action: to its project.
                if let Some(project) = t.referenced(&a["Configuration"]["ProjectName"]) {
                    edges.insert(Edge {
                        from: id.clone(),
                        to: node_id(s.key, project),
                        kind: EdgeKind::Uses,
                    });
                }
            }
        }
        stage_groups.push(Group {
            id: format!("{prefix}_stage{si}"),
            label: stage_name.to_owned(),
            nodes,
            groups: Vec::new(),
        });
    }
    let artifact_nodes = artifacts
        .iter()
        .map(|a| Node {
            id: format!("{prefix}_art_{a}"),
            label: a.clone(),
            shape: Shape::Artifact,
        })
        .collect();
    edges.insert(Edge {
        from: node_id(s.key, pid),
        to: format!("{prefix}_flow"),
        kind: EdgeKind::Uses,
    });
    Group {
        id: format!("{prefix}_flow"),
        label: format!("{pid}: stages, actions, artifacts"),
        nodes: artifact_nodes,
        groups: stage_groups,
    }
}

fn escape_mermaid(label: &str) -> String {
    label.replace('"', "#quot;").replace('\n', "<br/>")
}

fn mermaid(groups: &[Group], edges: &BTreeSet<Edge>) -> String {
    fn group(out: &mut String, g: &Group, depth: usize) {
        let pad = "  ".repeat(depth);
        out.push_str(&format!(
            "{pad}subgraph {}[\"{}\"]\n",
            g.id,
            escape_mermaid(&g.label)
        ));
        for n in &g.nodes {
            let l = escape_mermaid(&n.label);
            let shaped = match n.shape {
                Shape::Resource => format!("[\"{l}\"]"),
                Shape::Action => format!("([\"{l}\"])"),
                Shape::Artifact => format!("[/\"{l}\"/]"),
            };
            out.push_str(&format!("{pad}  {}{shaped}\n", n.id));
        }
        for sub in &g.groups {
            group(out, sub, depth + 1);
        }
        out.push_str(&format!("{pad}end\n"));
    }
    let mut out = String::from("flowchart LR\n");
    for g in groups {
        group(&mut out, g, 1);
    }
    for e in edges {
        let arrow = match e.kind {
            EdgeKind::Uses | EdgeKind::Artifact => "-->",
            EdgeKind::DependsOn => "-.->|DependsOn|",
            EdgeKind::ByName => "-.->|by name|",
            EdgeKind::Deploys => "==>|deploys|",
        };
        out.push_str(&format!("  {} {arrow} {}\n", e.from, e.to));
    }
    out
}

fn escape_dot(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn dot(groups: &[Group], edges: &BTreeSet<Edge>) -> String {
    fn group(out: &mut String, g: &Group, depth: usize) {
        let pad = "  ".repeat(depth);
        out.push_str(&format!(
            "{pad}subgraph cluster_{} {{\n{pad}  label=\"{}\";\n",
            g.id,
            escape_dot(&g.label)
        ));
        // An invisible point stands for the cluster, so that edges can end at it.
        out.push_str(&format!("{pad}  {} [shape=point, style=invis];\n", g.id));
        for n in &g.nodes {
            let shape = match n.shape {
                Shape::Resource => "box",
                Shape::Action => "box, style=rounded",
                Shape::Artifact => "parallelogram",
            };
            out.push_str(&format!(
                "{pad}  {} [label=\"{}\", shape={shape}];\n",
                n.id,
                escape_dot(&n.label)
            ));
        }
        for sub in &g.groups {
            group(out, sub, depth + 1);
        }
        out.push_str(&format!("{pad}}}\n"));
    }
    let mut out = String::from("digraph berth {\n  rankdir=LR;\n  compound=true;\n  node [fontsize=10];\n");
    for g in groups {
        group(&mut out, g, 1);
    }
    for e in edges {
        let style = match e.kind {
            EdgeKind::Uses | EdgeKind::Artifact => String::new(),
            EdgeKind::DependsOn => " [style=dashed, label=\"DependsOn\"]".to_owned(),
            EdgeKind::ByName => " [style=dashed, label=\"by name\"]".to_owned(),
            EdgeKind::Deploys => " [style=bold, label=\"deploys\"]".to_owned(),
        };
        out.push_str(&format!("  {} -> {}{style};\n", e.from, e.to));
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_matches_whole_names_only() {
        assert!(names(
            "arn:aws:iam::1:policy/sample-dev-task-execution",
            "sample-dev-task-execution"
        ));
        assert!(names("1.dkr.ecr.r.amazonaws.com/sample-dev:abc", "sample-dev"));
        assert!(!names("sample-dev-service", "sample-dev"));
        assert!(!names("xsample-dev", "sample-dev"));
    }

    #[test]
    fn sub_text_is_resolved_with_the_stage_and_its_own_variables() {
        let vars = BTreeMap::from([
            ("AppName".to_owned(), "sample".to_owned()),
            ("StageName".to_owned(), "dev".to_owned()),
        ]);
        let local = serde_json::json!({"Repository": {"Fn::Sub": "${AppName}-${StageName}"}, "Tag": {"Ref": "ImageTag"}});
        assert_eq!(
            resolve("x/${Repository}:${Tag}/${AppName}", &vars, Some(&local)),
            "x/sample-dev:${Tag}/sample"
        );
    }
}
