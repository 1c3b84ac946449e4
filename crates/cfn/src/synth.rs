//! Synth: resolve handles to logical IDs, validate the whole template, render it.
//!
//! Every problem is collected, each with the path of the thing that caused it
//! (`Resources/Alb/Properties/Subnets`), and reported together.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::doc::{self, Doc};
use crate::node::{CondKey, MapKey, Node, ParamKey, Pseudo, ResKey, SubNode, Target};
use crate::params::Literal;
use crate::template::Template;
use crate::yaml;

/// Above this size a template cannot be passed inline (`TemplateBody`): it must go through S3.
pub const INLINE_BODY_LIMIT: usize = 51_200;
/// Above this size CloudFormation refuses a template even from S3 (cfn-lint's limit; S3 allows 1 MiB).
pub const MAX_BODY_SIZE: usize = 1_000_000;
pub const MAX_RESOURCES: usize = 500;
pub const MAX_PARAMETERS: usize = 200;
pub const MAX_OUTPUTS: usize = 200;
pub const MAX_MAPPINGS: usize = 200;
pub const MAX_DYNAMIC_REFERENCES: usize = 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found at synth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Where: `Resources/<LogicalId>/Properties/...`, `Parameters/<LogicalId>`, or `template`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}: {}", self.path, self.message)
    }
}

/// Output format of [`Template::synth`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// YAML with short-form tags (`!Ref`, `!GetAtt`, `!Sub`).
    Yaml,
    /// JSON with long-form intrinsics (`{"Ref": ...}`).
    Json,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
        }
    }
}

/// A rendered template and the warnings synth found.
#[derive(Debug)]
pub struct Synthesized {
    pub body: String,
    pub warnings: Vec<Diagnostic>,
    doc: Doc,
}

impl Synthesized {
    /// The template as long-form JSON data, for rules and tools that read templates as data.
    pub fn to_json_value(&self) -> serde_json::Value {
        self.doc.to_json()
    }
}

/// The template has errors; `diagnostics` holds all of them (and the warnings).
#[derive(Debug, thiserror::Error)]
pub struct SynthError {
    pub diagnostics: Vec<Diagnostic>,
}

impl SynthError {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Error)
    }
}

impl fmt::Display for SynthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors().count();
        write!(f, "the template has {n} error{}", if n == 1 { "" } else { "s" })?;
        for d in &self.diagnostics {
            write!(f, "\n  {d}")?;
        }
        Ok(())
    }
}

impl Template {
    /// Validates and renders the template. Errors stop it; warnings come back with the body.
    pub fn synth(&self, format: Format) -> Result<Synthesized, SynthError> {
        let (doc, mut diags) = self.resolve();
        if diags.iter().any(|d| d.severity == Severity::Error) {
            return Err(SynthError { diagnostics: diags });
        }
        let body = match format {
            Format::Yaml => yaml::to_yaml(&doc),
            Format::Json => doc::to_json_text(&doc),
        };
        let size = body.len();
        if size > MAX_BODY_SIZE {
            diags.push(template_diag(
                Severity::Error,
                format!(
                    "the rendered template is {size} bytes; CloudFormation accepts at most {MAX_BODY_SIZE}"
                ),
            ));
            return Err(SynthError { diagnostics: diags });
        }
        if size > INLINE_BODY_LIMIT {
            diags.push(template_diag(
                Severity::Warning,
                format!(
                    "the rendered template is {size} bytes, over the {INLINE_BODY_LIMIT}-byte inline limit: \
                     deploy it through S3 (TemplateURL)"
                ),
            ));
        }
        Ok(Synthesized {
            body,
            warnings: diags,
            doc,
        })
    }

    /// Every problem synth would report, without rendering.
    pub fn validate(&self) -> Vec<Diagnostic> {
        self.resolve().1
    }

    fn resolve(&self) -> (Doc, Vec<Diagnostic>) {
        let mut r = Resolver::new(self);
        let doc = r.template();
        (doc, r.diags)
    }
}

fn template_diag(severity: Severity, message: String) -> Diagnostic {
    Diagnostic {
        severity,
        path: "template".to_owned(),
        message,
    }
}

pub(crate) fn valid_logical_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

struct Resolver<'t> {
    t: &'t Template,
    diags: Vec<Diagnostic>,
    path: Vec<String>,
    /// Resources referenced (Ref, GetAtt, Sub) by the resource being resolved.
    refs: BTreeSet<usize>,
    used_params: BTreeSet<usize>,
    used_conds: BTreeSet<usize>,
    used_maps: BTreeSet<usize>,
    dynamic_refs: usize,
    current_type: Option<&'static str>,
    params_by_name: BTreeMap<&'t str, usize>,
    resources_by_name: BTreeMap<&'t str, usize>,
}

impl<'t> Resolver<'t> {
    fn new(t: &'t Template) -> Self {
        Resolver {
            t,
            diags: Vec::new(),
            path: Vec::new(),
            refs: BTreeSet::new(),
            used_params: BTreeSet::new(),
            used_conds: BTreeSet::new(),
            used_maps: BTreeSet::new(),
            dynamic_refs: 0,
            current_type: None,
            params_by_name: t
                .parameters
                .iter()
                .enumerate()
                .map(|(i, p)| (p.logical_id.as_str(), i))
                .collect(),
            resources_by_name: t
                .resources
                .iter()
                .enumerate()
                .map(|(i, r)| (r.logical_id.as_str(), i))
                .collect(),
        }
    }

    fn at(&self) -> String {
        if self.path.is_empty() {
            "template".to_owned()
        } else {
            self.path.join("/")
        }
    }

    fn error(&mut self, message: impl Into<String>) {
        let path = self.at();
        self.diags.push(Diagnostic {
            severity: Severity::Error,
            path,
            message: message.into(),
        });
    }

    fn warning(&mut self, message: impl Into<String>) {
        let path = self.at();
        self.diags.push(Diagnostic {
            severity: Severity::Warning,
            path,
            message: message.into(),
        });
    }

    fn scoped<T>(&mut self, seg: impl Into<String>, f: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(seg.into());
        let out = f(self);
        self.path.pop();
        out
    }

    // ---- names -------------------------------------------------------------------------

    fn resource_name(&mut self, key: ResKey) -> String {
        if key.template != self.t.id {
            self.error(
                "refers to a resource of another template: export it (Output with Export) and use \
                 Fn::ImportValue, or pass it in as a parameter",
            );
            return "ForeignResource".to_owned();
        }
        self.refs.insert(key.index);
        self.t.resources[key.index].logical_id.clone()
    }

    fn param_name(&mut self, key: ParamKey) -> String {
        if key.template != self.t.id {
            self.error("refers to a parameter of another template: add the parameter to this template");
            return "ForeignParameter".to_owned();
        }
        self.used_params.insert(key.index);
        self.t.parameters[key.index].logical_id.clone()
    }

    fn cond_name(&mut self, key: CondKey) -> String {
        if key.template != self.t.id {
            self.error("refers to a condition of another template");
            return "ForeignCondition".to_owned();
        }
        self.used_conds.insert(key.index);
        self.t.conditions[key.index].0.clone()
    }

    fn map_name(&mut self, key: MapKey) -> String {
        if key.template != self.t.id {
            self.error("refers to a mapping of another template");
            return "ForeignMapping".to_owned();
        }
        self.used_maps.insert(key.index);
        self.t.mappings[key.index].0.clone()
    }

    // ---- the template --------------------------------------------------------------------

    fn template(&mut self) -> Doc {
        self.check_ids();
        let t = self.t;
        let mut top = vec![("AWSTemplateFormatVersion".to_owned(), Doc::str("2010-09-09"))];
        if let Some(d) = &t.description {
            if d.len() > 1024 {
                self.error(format!(
                    "the description is {} characters; CloudFormation allows 1024",
                    d.len()
                ));
            }
            top.push(("Description".to_owned(), Doc::str(d.clone())));
        }
        if !t.metadata.is_empty() {
            let m = self.scoped("Metadata", |r| r.map_entries(&t.metadata));
            top.push(("Metadata".to_owned(), m));
        }
        if !t.parameters.is_empty() {
            let params = self.scoped("Parameters", |r| {
                t.parameters
                    .iter()
                    .map(|p| {
                        (
                            p.logical_id.clone(),
                            r.scoped(p.logical_id.clone(), |r| r.parameter(&p.def)),
                        )
                    })
                    .collect()
            });
            top.push(("Parameters".to_owned(), Doc::Map(params)));
        }
        if !t.mappings.is_empty() {
            let maps = self.scoped("Mappings", |r| {
                t.mappings
                    .iter()
                    .map(|(name, entries)| (name.clone(), r.scoped(name.clone(), |r| r.mapping(entries))))
                    .collect()
            });
            top.push(("Mappings".to_owned(), Doc::Map(maps)));
        }
        if !t.conditions.is_empty() {
            let conds = self.scoped("Conditions", |r| {
                t.conditions
                    .iter()
                    .map(|(name, expr)| (name.clone(), r.scoped(name.clone(), |r| r.node(expr))))
                    .collect()
            });
            top.push(("Conditions".to_owned(), Doc::Map(conds)));
        }
        let mut graph: Vec<(BTreeSet<usize>, BTreeSet<usize>)> = Vec::new();
        let resources = self.scoped("Resources", |r| {
            t.resources
                .iter()
                .map(|res| {
                    r.refs.clear();
                    r.current_type = Some(res.type_name);
                    let doc = r.scoped(res.logical_id.clone(), |r| r.resource(res));
                    let depends: BTreeSet<usize> = res
                        .attrs
                        .depends_on
                        .iter()
                        .filter(|d| d.0.template == t.id)
                        .map(|d| d.0.index)
                        .collect();
                    graph.push((std::mem::take(&mut r.refs), depends));
                    (res.logical_id.clone(), doc)
                })
                .collect()
        });
        self.current_type = None;
        if t.resources.is_empty() {
            self.error("a template needs at least one resource");
        }
        top.push(("Resources".to_owned(), Doc::Map(resources)));
        if !t.outputs.is_empty() {
            let outputs = self.scoped("Outputs", |r| {
                t.outputs
                    .iter()
                    .map(|(name, o)| (name.clone(), r.scoped(name.clone(), |r| r.output(o))))
                    .collect()
            });
            top.push(("Outputs".to_owned(), Doc::Map(outputs)));
        }
        self.check_graph(&graph);
        self.check_unused();
        if self.dynamic_refs > MAX_DYNAMIC_REFERENCES {
            let n = self.dynamic_refs;
            self.diags.push(template_diag(
                Severity::Error,
                format!(
                    "{n} dynamic references; CloudFormation allows {MAX_DYNAMIC_REFERENCES} per template"
                ),
            ));
        }
        Doc::Map(top)
    }

    fn check_ids(&mut self) {
        let t = self.t;
        for m in &t.misuse {
            self.diags.push(template_diag(Severity::Error, m.clone()));
        }
        for r in t.resources.iter().filter(|r| !r.defined) {
            self.diags.push(Diagnostic {
                severity: Severity::Error,
                path: format!("Resources/{}", r.logical_id),
                message: format!(
                    "`{}` is declared but never defined (Template::define)",
                    r.logical_id
                ),
            });
        }
        let limits = [
            ("resources", t.resources.len(), MAX_RESOURCES),
            ("parameters", t.parameters.len(), MAX_PARAMETERS),
            ("outputs", t.outputs.len(), MAX_OUTPUTS),
            ("mappings", t.mappings.len(), MAX_MAPPINGS),
        ];
        for (what, n, max) in limits {
            if n > max {
                self.diags.push(template_diag(
                    Severity::Error,
                    format!("{n} {what}; CloudFormation allows at most {max}"),
                ));
            }
        }
        let sections: [(&str, Vec<&str>); 5] = [
            (
                "Parameters",
                t.parameters.iter().map(|p| p.logical_id.as_str()).collect(),
            ),
            (
                "Resources",
                t.resources.iter().map(|r| r.logical_id.as_str()).collect(),
            ),
            ("Outputs", t.outputs.iter().map(|o| o.0.as_str()).collect()),
            ("Conditions", t.conditions.iter().map(|c| c.0.as_str()).collect()),
            ("Mappings", t.mappings.iter().map(|m| m.0.as_str()).collect()),
        ];
        for (section, ids) in &sections {
            let mut seen = BTreeSet::new();
            for id in ids {
                let path = format!("{section}/{id}");
                if !valid_logical_id(id) {
                    self.diags.push(Diagnostic {
                        severity: Severity::Error,
                        path: path.clone(),
                        message: format!(
                            "logical ID `{id}` is invalid: expected 1 to 255 ASCII letters and digits (^[A-Za-z0-9]+$)"
                        ),
                    });
                }
                if !seen.insert(*id) {
                    self.diags.push(Diagnostic {
                        severity: Severity::Error,
                        path,
                        message: format!("logical ID `{id}` is used twice in {section}"),
                    });
                }
            }
        }
        for p in &t.parameters {
            if self.resources_by_name.contains_key(p.logical_id.as_str()) {
                self.diags.push(Diagnostic {
                    severity: Severity::Error,
                    path: format!("Resources/{}", p.logical_id),
                    message: format!(
                        "logical ID `{}` names both a parameter and a resource",
                        p.logical_id
                    ),
                });
            }
        }
    }

    fn check_graph(&mut self, graph: &[(BTreeSet<usize>, BTreeSet<usize>)]) {
        let names: Vec<&str> = self.t.resources.iter().map(|r| r.logical_id.as_str()).collect();
        for (i, (refs, depends)) in graph.iter().enumerate() {
            for d in depends.intersection(refs) {
                if *d != i {
                    self.diags.push(Diagnostic {
                        severity: Severity::Warning,
                        path: format!("Resources/{}/DependsOn", names[i]),
                        message: format!(
                            "DependsOn `{}` is redundant: the resource already references it",
                            names[*d]
                        ),
                    });
                }
            }
        }
        // Depth-first search for cycles through references and DependsOn.
        let edges: Vec<BTreeSet<usize>> = graph.iter().map(|(r, d)| r.union(d).copied().collect()).collect();
        let mut state = vec![0u8; edges.len()]; // 0 new, 1 on stack, 2 done
        let mut stack = Vec::new();
        let mut cycles: BTreeSet<Vec<usize>> = BTreeSet::new();
        fn visit(
            n: usize,
            edges: &[BTreeSet<usize>],
            state: &mut [u8],
            stack: &mut Vec<usize>,
            cycles: &mut BTreeSet<Vec<usize>>,
        ) {
            state[n] = 1;
            stack.push(n);
            for &m in &edges[n] {
                match state[m] {
                    0 => visit(m, edges, state, stack, cycles),
                    1 => {
                        let start = stack.iter().position(|&x| x == m).unwrap_or(0);
                        let mut cycle = stack[start..].to_vec();
                        // Canonical rotation, so one cycle is reported once.
                        let min = cycle
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, v)| **v)
                            .map_or(0, |(i, _)| i);
                        cycle.rotate_left(min);
                        cycles.insert(cycle);
                    }
                    _ => {}
                }
            }
            stack.pop();
            state[n] = 2;
        }
        for n in 0..edges.len() {
            if state[n] == 0 {
                visit(n, &edges, &mut state, &mut stack, &mut cycles);
            }
        }
        for cycle in cycles {
            let mut chain: Vec<&str> = cycle.iter().map(|&i| names[i]).collect();
            chain.push(names[cycle[0]]);
            self.diags.push(Diagnostic {
                severity: Severity::Error,
                path: format!("Resources/{}", names[cycle[0]]),
                message: format!("dependency cycle: {}", chain.join(" -> ")),
            });
        }
    }

    fn check_unused(&mut self) {
        let t = self.t;
        for (i, p) in t.parameters.iter().enumerate() {
            if !self.used_params.contains(&i) {
                self.diags.push(Diagnostic {
                    severity: Severity::Warning,
                    path: format!("Parameters/{}", p.logical_id),
                    message: format!("parameter `{}` is never used", p.logical_id),
                });
            }
        }
        for (i, (name, _)) in t.conditions.iter().enumerate() {
            if !self.used_conds.contains(&i) {
                self.diags.push(Diagnostic {
                    severity: Severity::Warning,
                    path: format!("Conditions/{name}"),
                    message: format!("condition `{name}` is never used"),
                });
            }
        }
        for (i, (name, _)) in t.mappings.iter().enumerate() {
            if !self.used_maps.contains(&i) {
                self.diags.push(Diagnostic {
                    severity: Severity::Warning,
                    path: format!("Mappings/{name}"),
                    message: format!("mapping `{name}` is never used"),
                });
            }
        }
    }

    // ---- sections -------------------------------------------------------------------------

    fn parameter(&mut self, p: &crate::params::ParameterDef) -> Doc {
        let mut m = vec![("Type".to_owned(), Doc::str(p.cfn_type.clone()))];
        if let Some(d) = &p.description {
            m.push(("Description".to_owned(), Doc::str(d.clone())));
        }
        if let Some(d) = &p.default {
            if !p.allowed_values.is_empty() && !p.allowed_values.contains(d) {
                let shown = literal_text(d);
                self.error(format!("the default `{shown}` is not one of the allowed values"));
            }
            if let (Some(min), Some(max)) = (p.min_length, p.max_length)
                && min > max
            {
                self.error(format!("MinLength {min} is greater than MaxLength {max}"));
            }
            if let Literal::String(s) = d {
                let n = s.chars().count();
                if p.min_length.is_some_and(|min| (n as u64) < u64::from(min))
                    || p.max_length.is_some_and(|max| (n as u64) > u64::from(max))
                {
                    self.error(format!(
                        "the default `{s}` ({n} characters) is outside MinLength/MaxLength"
                    ));
                }
            }
            let number = match d {
                Literal::Int(i) => Some(*i as f64),
                Literal::Float(f) => Some(*f),
                _ => None,
            };
            if let Some(v) = number
                && (p.min_value.is_some_and(|min| v < min) || p.max_value.is_some_and(|max| v > max))
            {
                self.error(format!("the default {v} is outside MinValue/MaxValue"));
            }
            if p.no_echo {
                self.warning(
                    "a NoEcho parameter has a Default: the value is readable in the template; use a dynamic reference",
                );
            }
            m.push(("Default".to_owned(), self.literal(d)));
        }
        if !p.allowed_values.is_empty() {
            let values = p.allowed_values.iter().map(|v| self.literal(v)).collect();
            m.push(("AllowedValues".to_owned(), Doc::List(values)));
        }
        if let Some(pat) = &p.allowed_pattern {
            m.push(("AllowedPattern".to_owned(), Doc::str(pat.clone())));
        }
        if let Some(n) = p.min_length {
            m.push(("MinLength".to_owned(), Doc::Int(i64::from(n))));
        }
        if let Some(n) = p.max_length {
            m.push(("MaxLength".to_owned(), Doc::Int(i64::from(n))));
        }
        if let (Some(min), Some(max)) = (p.min_value, p.max_value)
            && min > max
        {
            self.error(format!("MinValue {min} is greater than MaxValue {max}"));
        }
        if let Some(n) = p.min_value {
            m.push(("MinValue".to_owned(), number_doc(n)));
        }
        if let Some(n) = p.max_value {
            m.push(("MaxValue".to_owned(), number_doc(n)));
        }
        if let Some(c) = &p.constraint_description {
            m.push(("ConstraintDescription".to_owned(), Doc::str(c.clone())));
        }
        if p.no_echo {
            m.push(("NoEcho".to_owned(), Doc::Bool(true)));
        }
        Doc::Map(m)
    }

    fn literal(&mut self, l: &Literal) -> Doc {
        match l {
            Literal::String(s) => Doc::str(s.clone()),
            Literal::Int(i) => Doc::Int(*i),
            Literal::Float(f) => {
                if !f.is_finite() {
                    self.error(format!("{f} is not a finite number"));
                }
                Doc::Float(*f)
            }
            Literal::List(items) => Doc::str(items.join(",")),
        }
    }

    fn mapping(&mut self, entries: &BTreeMap<String, BTreeMap<String, Node>>) -> Doc {
        let valid_key = |k: &str| {
            !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        };
        let mut out = Vec::new();
        for (k, inner) in entries {
            if !valid_key(k) {
                self.error(format!(
                    "mapping key `{k}` is invalid: expected letters, digits, `-` and `.`"
                ));
            }
            let inner_doc = self.scoped(k.clone(), |r| {
                let mut m = Vec::new();
                for (k2, v) in inner {
                    if !valid_key(k2) {
                        r.error(format!(
                            "mapping key `{k2}` is invalid: expected letters, digits, `-` and `.`"
                        ));
                    }
                    if !v.is_literal() {
                        r.scoped(k2.clone(), |r| {
                            r.error("mapping values must be literals, not intrinsic functions")
                        });
                    }
                    let d = r.scoped(k2.clone(), |r| r.node(v));
                    m.push((k2.clone(), d));
                }
                Doc::Map(m)
            });
            out.push((k.clone(), inner_doc));
        }
        Doc::Map(out)
    }

    fn resource(&mut self, res: &crate::template::ResourceEntry) -> Doc {
        let mut m = vec![("Type".to_owned(), Doc::str(res.type_name))];
        let a = &res.attrs;
        if let Some(c) = a.condition {
            let name = self.scoped("Condition", |r| r.cond_name(c.0));
            m.push(("Condition".to_owned(), Doc::Str(name)));
        }
        if !a.depends_on.is_empty() {
            let mut names: Vec<String> = Vec::new();
            self.scoped("DependsOn", |r| {
                let saved = std::mem::take(&mut r.refs);
                for d in &a.depends_on {
                    let name = r.resource_name(d.0);
                    if name == res.logical_id {
                        r.error(format!("`{name}` depends on itself"));
                    }
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
                r.refs = saved;
            });
            let doc = if names.len() == 1 {
                Doc::Str(names.remove(0))
            } else {
                Doc::List(names.into_iter().map(Doc::Str).collect())
            };
            m.push(("DependsOn".to_owned(), doc));
        }
        let props = self.scoped("Properties", |r| r.node(&res.properties));
        if !matches!(&props, Doc::Map(e) if e.is_empty()) {
            m.push(("Properties".to_owned(), props));
        }
        if !a.metadata.is_empty() {
            let md = self.scoped("Metadata", |r| r.map_entries(&a.metadata));
            m.push(("Metadata".to_owned(), md));
        }
        if let Some(p) = &a.creation_policy {
            let node = p.to_node();
            let d = self.scoped("CreationPolicy", |r| r.node(&node));
            m.push(("CreationPolicy".to_owned(), d));
            if let Some((_, timeout)) = p.resource_signal
                && timeout.as_seconds() > 12 * 3600
            {
                self.scoped("CreationPolicy", |r| {
                    r.error(format!(
                        "ResourceSignal Timeout {timeout} is over the 12-hour maximum (PT12H)"
                    ));
                });
            }
        }
        if let Some(p) = &a.update_policy {
            let node = p.to_node();
            let d = self.scoped("UpdatePolicy", |r| r.node(&node));
            m.push(("UpdatePolicy".to_owned(), d));
        }
        if let Some(p) = a.deletion_policy {
            m.push(("DeletionPolicy".to_owned(), Doc::str(p.as_str())));
        }
        if let Some(p) = a.update_replace_policy {
            m.push(("UpdateReplacePolicy".to_owned(), Doc::str(p.as_str())));
        }
        if a.deletion_policy.is_some() != a.update_replace_policy.is_some() {
            self.warning(
                "set DeletionPolicy and UpdateReplacePolicy together: one alone still loses the resource \
                 on replacement or deletion",
            );
        }
        Doc::Map(m)
    }

    fn output(&mut self, o: &crate::template::Output) -> Doc {
        let mut m = Vec::new();
        if let Some(d) = &o.description {
            m.push(("Description".to_owned(), Doc::str(d.clone())));
        }
        let v = self.scoped("Value", |r| r.node(&o.value));
        m.push(("Value".to_owned(), v));
        if let Some(e) = &o.export {
            let d = self.scoped("Export", |r| r.scoped("Name", |r| r.node(e)));
            m.push(("Export".to_owned(), Doc::Map(vec![("Name".to_owned(), d)])));
        }
        if let Some(c) = o.condition {
            let name = self.cond_name(c.0);
            m.push(("Condition".to_owned(), Doc::Str(name)));
        }
        Doc::Map(m)
    }

    fn map_entries(&mut self, entries: &[(String, Node)]) -> Doc {
        let node = Node::Map(entries.to_vec());
        self.node(&node)
    }

    // ---- values -----------------------------------------------------------------------------

    fn node(&mut self, n: &Node) -> Doc {
        match n {
            Node::Null => Doc::Null,
            Node::Bool(b) => Doc::Bool(*b),
            Node::Int(i) => Doc::Int(*i),
            Node::Float(f) => {
                if !f.is_finite() {
                    self.error(format!("{f} is not a finite number"));
                }
                Doc::Float(*f)
            }
            Node::Str(s) => {
                self.scan_dynamic_refs(s);
                Doc::Str(s.clone())
            }
            Node::List(items) => Doc::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.scoped(i.to_string(), |r| r.node(item)))
                    .collect(),
            ),
            Node::Map(entries) => {
                let mut seen = BTreeSet::new();
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    if !seen.insert(k.as_str()) {
                        self.error(format!(
                            "property `{k}` is set twice (a typed field and `unmodelled_property` with the same name?)"
                        ));
                    }
                    let d = self.scoped(k.clone(), |r| r.node(v));
                    out.push((k.clone(), d));
                }
                Doc::Map(out)
            }
            Node::Json(v) => self.json(v),
            Node::Ref(target) => {
                let name = match *target {
                    Target::Resource(k) => self.resource_name(k),
                    Target::Parameter(k) => self.param_name(k),
                    Target::Pseudo(p) => p.name().to_owned(),
                };
                Doc::func("Ref", Doc::Str(name))
            }
            Node::GetAtt(k, attr) => {
                let name = self.resource_name(*k);
                if k.template == self.t.id {
                    let known = self.t.resources[k.index].attributes;
                    if !known.contains(&attr.as_ref()) {
                        let ty = self.t.resources[k.index].type_name;
                        self.error(format!(
                            "{ty} has no attribute `{attr}` (it has: {})",
                            known.join(", ")
                        ));
                    }
                }
                Doc::func(
                    "Fn::GetAtt",
                    Doc::List(vec![Doc::Str(name), Doc::str(attr.to_string())]),
                )
            }
            Node::Sub(sub) => self.sub(sub),
            Node::Join(delim, items) => {
                let items = self.node(items);
                Doc::func("Fn::Join", Doc::List(vec![Doc::str(delim.clone()), items]))
            }
            Node::Select(i, list) => {
                let i = self.node(i);
                let list = self.node(list);
                Doc::func("Fn::Select", Doc::List(vec![i, list]))
            }
            Node::Split(delim, text) => {
                let text = self.node(text);
                Doc::func("Fn::Split", Doc::List(vec![Doc::str(delim.clone()), text]))
            }
            Node::GetAzs(region) => {
                let region = self.node(region);
                Doc::func("Fn::GetAZs", region)
            }
            Node::Base64(v) => {
                let v = self.node(v);
                Doc::func("Fn::Base64", v)
            }
            Node::ImportValue(v) => {
                // Resolve with a fresh reference set: any resource it names (Ref, GetAtt, a Sub name)
                // makes the export name depend on this stack, which CloudFormation refuses.
                let outer = std::mem::take(&mut self.refs);
                let v = self.node(v);
                let inner = std::mem::replace(&mut self.refs, outer);
                if let Some(&i) = inner.iter().next() {
                    let name = self.t.resources[i].logical_id.clone();
                    self.error(format!(
                        "Fn::ImportValue cannot depend on a resource of the same stack (it refers to `{name}`)"
                    ));
                }
                self.refs.extend(inner);
                Doc::func("Fn::ImportValue", v)
            }
            Node::FindInMap(m, a, b) => {
                let name = self.map_name(*m);
                let a = self.node(a);
                let b = self.node(b);
                Doc::func("Fn::FindInMap", Doc::List(vec![Doc::Str(name), a, b]))
            }
            Node::Cidr(a, b, c) => {
                let args = vec![self.node(a), self.node(b), self.node(c)];
                Doc::func("Fn::Cidr", Doc::List(args))
            }
            Node::If(c, a, b) => {
                let name = self.cond_name(*c);
                let a = self.node(a);
                let b = self.node(b);
                Doc::func("Fn::If", Doc::List(vec![Doc::Str(name), a, b]))
            }
            Node::Equals(a, b) => {
                let args = vec![self.node(a), self.node(b)];
                Doc::func("Fn::Equals", Doc::List(args))
            }
            Node::Not(c) => {
                let c = self.node(c);
                Doc::func("Fn::Not", Doc::List(vec![c]))
            }
            Node::And(items) | Node::Or(items) => {
                let name = if matches!(n, Node::And(_)) {
                    "Fn::And"
                } else {
                    "Fn::Or"
                };
                if !(2..=10).contains(&items.len()) {
                    self.error(format!("{name} takes 2 to 10 conditions, not {}", items.len()));
                }
                let items = items.iter().map(|i| self.node(i)).collect();
                Doc::func(name, Doc::List(items))
            }
            Node::Condition(c) => {
                let name = self.cond_name(*c);
                Doc::func("Condition", Doc::Str(name))
            }
            Node::GetParam(a, f, k) => {
                self.error(
                    "Fn::GetParam is accepted only inside a CloudFormation action's ParameterOverrides \
                     (CodePipeline evaluates it, CloudFormation does not)",
                );
                get_param_doc(a, f, k)
            }
            Node::JsonString(inner) => self.json_string(inner),
            Node::LogicalId(k) => {
                if k.template != self.t.id {
                    self.error("names a resource of another template");
                    return Doc::str("ForeignResource");
                }
                Doc::str(self.t.resources[k.index].logical_id.clone())
            }
        }
    }

    /// Counts dynamic references in a string and checks their shape.
    fn scan_dynamic_refs(&mut self, s: &str) {
        let mut rest = s;
        while let Some(start) = rest.find("{{resolve:") {
            self.dynamic_refs += 1;
            let tail = &rest[start + "{{resolve:".len()..];
            let Some(end) = tail.find("}}") else {
                self.error(format!("dynamic reference in `{s}` is not closed with `}}}}`"));
                return;
            };
            let body = &tail[..end];
            let (service, reference) = body.split_once(':').unwrap_or((body, ""));
            if !matches!(service, "ssm" | "ssm-secure" | "secretsmanager") {
                self.error(format!(
                    "dynamic reference `{{{{resolve:{body}}}}}` names service `{service}`; expected ssm, ssm-secure or secretsmanager"
                ));
            } else if reference.is_empty() {
                self.error(format!(
                    "dynamic reference `{{{{resolve:{body}}}}}` names no parameter or secret"
                ));
            }
            rest = &tail[end + 2..];
        }
    }

    fn json(&mut self, v: &serde_json::Value) -> Doc {
        use serde_json::Value;
        match v {
            Value::Null => Doc::Null,
            Value::Bool(b) => Doc::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Doc::Int(i),
                None => Doc::Float(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => {
                self.scan_dynamic_refs(s);
                Doc::Str(s.clone())
            }
            Value::Array(items) => Doc::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| self.scoped(i.to_string(), |r| r.json(x)))
                    .collect(),
            ),
            Value::Object(map) => {
                if map.len() == 1 {
                    let key = map.keys().next().map(String::as_str).unwrap_or_default();
                    if key == "Fn::GetParam" {
                        self.error(
                            "Fn::GetParam is accepted only inside a CloudFormation action's ParameterOverrides",
                        );
                    } else if key == "Ref" || key.starts_with("Fn::") {
                        self.error(format!(
                            "a JSON literal holds `{key}`: build intrinsic functions with the typed API, so that \
                             what they refer to is checked"
                        ));
                    }
                }
                // Sorted: serde_json's map order depends on its features (see `crate::json_text`).
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Doc::Map(
                    entries
                        .into_iter()
                        .map(|(k, x)| (k.clone(), self.scoped(k.clone(), |r| r.json(x))))
                        .collect(),
                )
            }
        }
    }

    fn sub(&mut self, sub: &SubNode) -> Doc {
        let segments = match parse_sub(&sub.text) {
            Ok(s) => s,
            Err(e) => {
                self.error(format!("Fn::Sub `{}`: {e}", sub.text));
                return Doc::func("Fn::Sub", Doc::str(sub.text.clone()));
            }
        };
        self.scan_dynamic_refs(&sub.text);
        let bound: BTreeSet<&str> = sub.vars.iter().map(|(n, _)| n.as_str()).collect();
        if let [SubSeg::Var(name)] = segments.as_slice()
            && sub.vars.is_empty()
        {
            // `!Sub ${X}` is `!Ref X`; `!Sub ${X.Y}` is `!GetAtt X.Y`.
            self.check_sub_name(name);
            return match name.split_once('.') {
                Some((res, att)) if Pseudo::from_name(name).is_none() => {
                    Doc::func("Fn::GetAtt", Doc::List(vec![Doc::str(res), Doc::str(att)]))
                }
                _ => Doc::func("Ref", Doc::str(name.clone())),
            };
        }
        let mut used: BTreeSet<&str> = BTreeSet::new();
        for seg in &segments {
            if let SubSeg::Var(name) = seg {
                if bound.contains(name.as_str()) {
                    used.insert(name.as_str());
                    continue;
                }
                if let Some((root, attr)) = name.split_once('.')
                    && let Some(var) = bound.get(root)
                {
                    used.insert(var);
                    self.error(format!(
                        "Fn::Sub `${{{name}}}`: `{root}` is a variable bound with .var(), and variables have no \
                         attributes: bind the attribute's value itself (`.var(\"{root}{attr}\", ...)`)"
                    ));
                    continue;
                }
                self.check_sub_name(name);
            }
        }
        let mut seen = BTreeSet::new();
        for (name, _) in &sub.vars {
            if !seen.insert(name.as_str()) {
                self.error(format!("Fn::Sub variable `{name}` is bound twice"));
            }
            if !used.contains(name.as_str()) {
                self.error(format!(
                    "Fn::Sub variable `{name}` is bound but `${{{name}}}` is not in the text"
                ));
            }
        }
        // Resolve the bound values; inline the ones that are a plain Ref, GetAtt, literal or nested
        // Sub without variables of its own, so the output reads like a hand-written template.
        let mut resolved: Vec<(String, Doc, Option<Inline>)> = Vec::new();
        for (name, value) in &sub.vars {
            let d = self.scoped(format!("Fn::Sub/{name}"), |r| r.node(value));
            let inline = inline_text(&d);
            resolved.push((name.clone(), d, inline));
        }
        // A variable that stays bound shadows a logical ID of the same name: never inline onto it.
        loop {
            let kept: BTreeSet<String> = resolved
                .iter()
                .filter(|x| x.2.is_none())
                .map(|x| x.0.clone())
                .collect();
            let mut changed = false;
            for x in &mut resolved {
                if x.2
                    .as_ref()
                    .is_some_and(|i| i.roots.iter().any(|r| kept.contains(r)))
                {
                    x.2 = None;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let inlined: BTreeMap<&str, &Inline> = resolved
            .iter()
            .filter_map(|(n, _, i)| i.as_ref().map(|i| (n.as_str(), i)))
            .collect();
        let mut text = String::new();
        let mut has_var = false;
        for seg in &segments {
            match seg {
                SubSeg::Lit(raw) => text.push_str(raw),
                SubSeg::Var(name) => match inlined.get(name.as_str()) {
                    Some(i) => {
                        text.push_str(&i.text);
                        has_var |= !i.roots.is_empty();
                    }
                    None => {
                        text.push_str(&format!("${{{name}}}"));
                        has_var = true;
                    }
                },
            }
        }
        let kept: Vec<(String, Doc)> = resolved
            .into_iter()
            .filter(|x| x.2.is_none())
            .map(|(n, d, _)| (n, d))
            .collect();
        if !has_var {
            // No variables: a plain string (cfn-lint warns about a Sub without variables).
            return Doc::Str(text.replace("${!", "${"));
        }
        if kept.is_empty() {
            Doc::func("Fn::Sub", Doc::Str(text))
        } else {
            Doc::func("Fn::Sub", Doc::List(vec![Doc::Str(text), Doc::Map(kept)]))
        }
    }

    /// An unbound `${name}` in `Fn::Sub`: a pseudo parameter, a parameter, a resource, or
    /// `Resource.Attribute`.
    fn check_sub_name(&mut self, name: &str) {
        if Pseudo::from_name(name).is_some() {
            if name == Pseudo::NoValue.name() {
                self.error("Fn::Sub cannot use ${AWS::NoValue}");
            }
            return;
        }
        if let Some(&i) = self.params_by_name.get(name) {
            self.used_params.insert(i);
            return;
        }
        if let Some(&i) = self.resources_by_name.get(name) {
            self.refs.insert(i);
            return;
        }
        if let Some((res, attr)) = name.split_once('.') {
            if let Some(&i) = self.resources_by_name.get(res) {
                self.refs.insert(i);
                let entry = &self.t.resources[i];
                if !entry.attributes.contains(&attr) {
                    let (ty, known) = (entry.type_name, entry.attributes.join(", "));
                    self.error(format!(
                        "Fn::Sub `${{{name}}}`: {ty} has no attribute `{attr}` (it has: {known})"
                    ));
                }
                return;
            }
            if self.params_by_name.contains_key(res) {
                self.error(format!("Fn::Sub `${{{name}}}`: parameters have no attributes"));
                return;
            }
        }
        self.error(format!(
            "Fn::Sub `${{{name}}}` is unknown: bind it with .var(), or name a parameter, a resource or a pseudo \
             parameter of this template"
        ));
    }

    /// `ParameterOverrides`: the subtree as JSON text. `Fn::GetParam` stays literal JSON for CodePipeline
    /// to evaluate; other intrinsics become `Fn::Sub` variables.
    fn json_string(&mut self, inner: &Node) -> Doc {
        let allowed = self.current_type == Some("AWS::CodePipeline::Pipeline") && {
            let p: Vec<&str> = self.path.iter().map(String::as_str).collect();
            matches!(
                p.as_slice(),
                [
                    "Resources",
                    _,
                    "Properties",
                    "Stages",
                    _,
                    "Actions",
                    _,
                    "Configuration",
                    "ParameterOverrides"
                ]
            )
        };
        let mut vars: Vec<(String, Doc)> = Vec::new();
        let mut text = String::new();
        self.json_text(inner, allowed, &mut text, &mut vars);
        let has_var = parse_sub(&text).is_ok_and(|segs| segs.iter().any(|s| matches!(s, SubSeg::Var(_))));
        if !has_var {
            Doc::Str(text.replace("${!", "${"))
        } else if vars.is_empty() {
            Doc::func("Fn::Sub", Doc::Str(text))
        } else {
            Doc::func("Fn::Sub", Doc::List(vec![Doc::Str(text), Doc::Map(vars)]))
        }
    }

    fn json_text(
        &mut self,
        n: &Node,
        allow_get_param: bool,
        out: &mut String,
        vars: &mut Vec<(String, Doc)>,
    ) {
        let esc = |s: &str| serde_json::to_string(s).unwrap_or_default().replace("${", "${!");
        match n {
            Node::Map(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&esc(k));
                    out.push_str(": ");
                    self.scoped(k.clone(), |r| r.json_text(v, allow_get_param, out, vars));
                }
                out.push('}');
            }
            Node::List(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.json_text(v, allow_get_param, out, vars);
                }
                out.push(']');
            }
            Node::Str(s) => {
                self.scan_dynamic_refs(s);
                out.push_str(&esc(s));
            }
            Node::Int(i) => out.push_str(&i.to_string()),
            Node::Bool(b) => out.push_str(&b.to_string()),
            Node::Null => out.push_str("null"),
            Node::GetParam(a, f, k) => {
                if !allow_get_param {
                    self.error(
                        "Fn::GetParam is accepted only inside a CloudFormation action's ParameterOverrides \
                         (CodePipeline evaluates it, CloudFormation does not)",
                    );
                }
                let args: Vec<String> = [a, f, k].iter().map(|s| esc(s)).collect();
                out.push_str(&format!("{{\"Fn::GetParam\": [{}]}}", args.join(", ")));
            }
            other => {
                // Any other intrinsic: a string value filled in by Fn::Sub, inlined when it can be.
                let d = self.node(other);
                match inline_text(&d) {
                    Some(i) if !i.roots.is_empty() => {
                        let quoted = serde_json::to_string(&i.text).unwrap_or_default();
                        out.push_str(&quoted);
                    }
                    _ => {
                        let name = format!("Value{}", vars.len() + 1);
                        out.push_str(&format!("\"${{{name}}}\""));
                        vars.push((name, d));
                    }
                }
            }
        }
    }
}

/// Text that can replace a `${Var}` in `Fn::Sub`, and the names it refers to.
struct Inline {
    text: String,
    roots: BTreeSet<String>,
}

/// `${LogicalId}`, `${LogicalId.Attribute}`, `${AWS::Region}`, a literal, or the text of a nested
/// `Fn::Sub` that binds no variables of its own.
fn inline_text(d: &Doc) -> Option<Inline> {
    let one = |text: String, root: &str| {
        Some(Inline {
            text,
            roots: BTreeSet::from([root.to_owned()]),
        })
    };
    match d {
        Doc::Str(s) => Some(Inline {
            text: s.replace("${", "${!"),
            roots: BTreeSet::new(),
        }),
        Doc::Fn("Ref", arg) => match &**arg {
            Doc::Str(target) if target != Pseudo::NoValue.name() => one(format!("${{{target}}}"), target),
            _ => None,
        },
        Doc::Fn("Fn::GetAtt", arg) => match &**arg {
            Doc::List(parts) => match parts.as_slice() {
                [Doc::Str(a), Doc::Str(b)] => one(format!("${{{a}.{b}}}"), a),
                _ => None,
            },
            _ => None,
        },
        Doc::Fn("Fn::Sub", arg) => match &**arg {
            Doc::Str(text) => {
                let roots = parse_sub(text)
                    .ok()?
                    .into_iter()
                    .filter_map(|s| match s {
                        SubSeg::Var(v) => Some(v.split('.').next().unwrap_or_default().to_owned()),
                        SubSeg::Lit(_) => None,
                    })
                    .collect();
                Some(Inline {
                    text: text.clone(),
                    roots,
                })
            }
            _ => None,
        },
        _ => None,
    }
}

fn get_param_doc(a: &str, f: &str, k: &str) -> Doc {
    Doc::func(
        "Fn::GetParam",
        Doc::List(vec![Doc::str(a), Doc::str(f), Doc::str(k)]),
    )
}

fn number_doc(n: f64) -> Doc {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        Doc::Int(n as i64)
    } else {
        Doc::Float(n)
    }
}

fn literal_text(l: &Literal) -> String {
    match l {
        Literal::String(s) => s.clone(),
        Literal::Int(i) => i.to_string(),
        Literal::Float(f) => f.to_string(),
        Literal::List(items) => items.join(","),
    }
}

#[derive(Debug, PartialEq)]
enum SubSeg {
    /// Literal text, as written (a `${!` escape kept).
    Lit(String),
    Var(String),
}

fn parse_sub(text: &str) -> Result<Vec<SubSeg>, String> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        lit.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        if let Some(escaped) = after.strip_prefix('!') {
            lit.push_str("${!");
            rest = escaped;
            continue;
        }
        let Some(end) = after.find('}') else {
            return Err("`${` is not closed with `}`".to_owned());
        };
        let name = after[..end].trim();
        if name.is_empty() {
            return Err("`${}` names no variable".to_owned());
        }
        if !lit.is_empty() {
            out.push(SubSeg::Lit(std::mem::take(&mut lit)));
        }
        out.push(SubSeg::Var(name.to_owned()));
        rest = &after[end + 1..];
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        out.push(SubSeg::Lit(lit));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{SubSeg, parse_sub};

    #[test]
    fn sub_text_is_split_into_literals_and_variables() {
        assert_eq!(
            parse_sub("a${X}b${!Lit}c${Y.Arn}").unwrap(),
            vec![
                SubSeg::Lit("a".into()),
                SubSeg::Var("X".into()),
                SubSeg::Lit("b${!Lit}c".into()),
                SubSeg::Var("Y.Arn".into())
            ]
        );
        assert!(parse_sub("a${X").unwrap_err().contains("not closed"));
        assert!(parse_sub("a${}").unwrap_err().contains("no variable"));
    }
}
