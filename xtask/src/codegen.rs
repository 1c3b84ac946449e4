//! `cargo xtask codegen`: generates `crates/cfn/src/resources/` from the CloudFormation resource
//! schemas that the pinned cfn-lint ships (read through `xtask/codegen/dump_schemas.py`).
//!
//! One struct per resource type and per property type, fields named in snake_case and rendered under
//! the exact CloudFormation name, required properties in `new()`, a setter per optional property,
//! string enums as Rust enums, and `Fn::GetAtt` attributes as methods on `Res<Type>`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::util::{self, Mode};

/// The resource types berth models. Add a type here and run `cargo xtask codegen`.
pub const TYPES: &[&str] = &[
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::AutoScaling::AutoScalingGroup",
    "AWS::CloudWatch::Alarm",
    "AWS::CodeBuild::Project",
    "AWS::CodePipeline::Pipeline",
    "AWS::EC2::LaunchTemplate",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::ECR::Repository",
    "AWS::ECS::CapacityProvider",
    "AWS::ECS::Cluster",
    "AWS::ECS::ClusterCapacityProviderAssociations",
    "AWS::ECS::Service",
    "AWS::ECS::TaskDefinition",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::IAM::InstanceProfile",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Policy",
    "AWS::IAM::Role",
    "AWS::KMS::Alias",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Subscription",
    "AWS::SNS::Topic",
    "AWS::SSM::Parameter",
];

const OUT_DIR: &str = "crates/cfn/src/resources";

pub fn run(mode: Mode) -> Result<()> {
    let root = util::project_root();
    let python = crate::tools::python_tools()?.python;
    let script = root.join("xtask/codegen/dump_schemas.py");
    let output = std::process::Command::new(&python)
        .arg(&script)
        .args(TYPES)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !output.status.success() {
        bail!(
            "{} failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let dump: Value = serde_json::from_slice(&output.stdout).context("reading the schema dump")?;
    let files = generate(&dump)?
        .into_iter()
        .map(|(name, text)| Ok((name, rustfmt(&text)?)))
        .collect::<Result<BTreeMap<_, _>>>()?;
    let out_dir = root.join(OUT_DIR);
    let mut stale = Vec::new();
    for (name, text) in &files {
        let path = out_dir.join(name);
        if util::sync_file(&path, text, mode)? {
            stale.push(path);
        }
    }
    // Files of services no longer generated.
    let wanted: BTreeSet<&str> = files.keys().map(String::as_str).collect();
    for entry in std::fs::read_dir(&out_dir).with_context(|| format!("reading {}", out_dir.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if name.ends_with(".rs") && !wanted.contains(name.as_str()) {
            stale.push(path.clone());
            if mode == Mode::Write {
                std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            }
        }
    }
    util::report_sync(mode, &stale, &[], "cargo xtask codegen")?;
    crate::permissions_data::generate_star_only(mode)
}

/// Formats generated code with the repository's rustfmt settings, so `cargo fmt --check` holds.
pub fn rustfmt(text: &str) -> Result<String> {
    use std::io::Write as _;
    let root = util::project_root();
    let mut child = std::process::Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--config-path"])
        .arg(root.join("rustfmt.toml"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("starting rustfmt (rustup component add rustfmt)")?;
    child
        .stdin
        .take()
        .context("rustfmt stdin")?
        .write_all(text.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "rustfmt rejected generated code:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout).context("rustfmt output is not UTF-8")
}

/// Generates every file of `resources/`, keyed by file name.
pub fn generate(dump: &Value) -> Result<BTreeMap<String, String>> {
    let version = dump["cfn_lint_version"].as_str().unwrap_or("unknown");
    let types = dump["types"]
        .as_object()
        .context("the schema dump has no `types`")?;
    let mut by_service: BTreeMap<String, Vec<(&str, &Value)>> = BTreeMap::new();
    for (name, entry) in types {
        by_service
            .entry(service_module(name)?)
            .or_default()
            .push((name, entry));
    }
    let header = format!(
        "// @generated by `cargo xtask codegen` from the resource schemas of cfn-lint {version}.\n\
         // Do not edit: change xtask/src/codegen.rs or the type list, and run `cargo xtask codegen`.\n"
    );
    let mut files = BTreeMap::new();
    let mut module_list = String::new();
    for (service, entries) in &by_service {
        let mut out = header.clone();
        let names: Vec<&str> = entries.iter().map(|(n, _)| *n).collect();
        writeln!(
            out,
            "//! {}.",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        out.push('\n');
        out.push_str(
            "#![allow(clippy::doc_markdown, reason = \"descriptions are copied from the schemas\")]\n\
             #![allow(clippy::should_implement_trait, reason = \"setters are named after CloudFormation properties, `Add` among them\")]\n\n",
        );
        let any_getatt = entries
            .iter()
            .any(|(_, e)| e["getatts"].as_object().is_some_and(|g| !g.is_empty()));
        out.push_str("use crate::node::{MapBuilder, Node, ToNode};\n");
        out.push_str(if any_getatt {
            "use crate::template::{Res, Resource};\n"
        } else {
            "use crate::template::Resource;\n"
        });
        out.push_str("use crate::val::{Unmodelled, Val};\n");
        for (name, entry) in entries {
            let r = ResourceGen::new(name, entry)?;
            out.push('\n');
            out.push_str(&r.render()?);
        }
        files.insert(format!("{service}.rs"), out);
        writeln!(module_list, "pub mod {service};")?;
    }
    let mut m = header;
    m.push_str("//! CloudFormation resource and property types, generated from the resource schemas.\n//!\n");
    m.push_str(
        "//! Each resource type is a struct whose `new()` takes the required properties and whose setters\n",
    );
    m.push_str(
        "//! take the optional ones; `unmodelled_property` is the escape hatch for a property the pinned\n",
    );
    m.push_str("//! schema does not know yet. `Fn::GetAtt` attributes are methods on `Res<Type>`.\n\n");
    m.push_str(&module_list);
    files.insert("mod.rs".to_owned(), m);
    Ok(files)
}

fn service_module(type_name: &str) -> Result<String> {
    let parts: Vec<&str> = type_name.split("::").collect();
    let [_, service, _] = parts.as_slice() else {
        bail!("unexpected type name `{type_name}`")
    };
    Ok(match *service {
        "ElasticLoadBalancingV2" => "elbv2".to_owned(),
        other => other.to_ascii_lowercase(),
    })
}

/// The Rust shape of a schema fragment.
#[derive(Clone, Debug, PartialEq)]
enum Ty {
    Str,
    Int,
    Num,
    Bool,
    Json,
    List(Box<Ty>),
    Map(Box<Ty>),
    Struct(String),
    Enum(String),
}

impl Ty {
    /// The type as seen from the resource's property-type module.
    fn rust(&self) -> String {
        match self {
            Ty::Str => "::std::string::String".into(),
            Ty::Int => "i64".into(),
            Ty::Num => "f64".into(),
            Ty::Bool => "bool".into(),
            Ty::Json => "crate::val::Json".into(),
            Ty::List(t) => format!("crate::val::List<{}>", t.rust()),
            Ty::Map(t) => format!("crate::val::Map<{}>", t.rust()),
            Ty::Struct(n) | Ty::Enum(n) => n.clone(),
        }
    }

    /// The type as seen from the service module (property types qualified by their module).
    fn rust_from_service(&self, module: &str) -> String {
        match self {
            Ty::List(t) => format!("crate::val::List<{}>", t.rust_from_service(module)),
            Ty::Map(t) => format!("crate::val::Map<{}>", t.rust_from_service(module)),
            Ty::Struct(n) | Ty::Enum(n) => format!("{module}::{n}"),
            other => other.rust(),
        }
    }
}

struct Field {
    cfn_name: String,
    ident: String,
    ty: Ty,
    required: bool,
    doc: String,
    deprecated: bool,
}

struct StructDef {
    name: String,
    doc: String,
    fields: Vec<Field>,
}

struct EnumDef {
    name: String,
    values: Vec<String>,
}

struct ResourceGen<'a> {
    type_name: &'a str,
    /// Struct name of the resource, e.g. `SecurityGroup`.
    name: String,
    /// Module holding its property types, e.g. `security_group`.
    module: String,
    schema: &'a Value,
    getatts: Vec<(String, String)>,
    /// Enum name for each enum site (`Owner.Property`).
    enum_names: BTreeMap<String, String>,
    enums: BTreeMap<String, EnumDef>,
    structs: BTreeMap<String, StructDef>,
    /// Names of inline object properties (`Owner.Property` -> struct name).
    inline_names: BTreeMap<String, String>,
}

impl<'a> ResourceGen<'a> {
    fn new(type_name: &'a str, entry: &'a Value) -> Result<Self> {
        let name = type_name.rsplit("::").next().unwrap_or_default().to_owned();
        let getatts = entry["getatts"]
            .as_object()
            .context("getatts")?
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect();
        let mut g = ResourceGen {
            type_name,
            module: snake(&name),
            name,
            schema: &entry["schema"],
            getatts,
            enum_names: BTreeMap::new(),
            enums: BTreeMap::new(),
            structs: BTreeMap::new(),
            inline_names: BTreeMap::new(),
        };
        g.name_enums_and_inlines();
        let top = g.top_level_object();
        let fields = g.fields(&top, &g.name.clone())?;
        let doc = first_sentence(g.schema["description"].as_str().unwrap_or_default());
        g.structs.insert(
            g.name.clone(),
            StructDef {
                name: g.name.clone(),
                doc,
                fields,
            },
        );
        Ok(g)
    }

    /// The resource's properties as an object schema, without the read-only ones.
    fn top_level_object(&self) -> Value {
        let read_only: BTreeSet<String> = self.schema["readOnlyProperties"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str()?.strip_prefix("/properties/").map(str::to_owned))
            .filter(|p| !p.contains('/'))
            .collect();
        let mut props = serde_json::Map::new();
        for (k, v) in self.schema["properties"].as_object().into_iter().flatten() {
            if !read_only.contains(k) {
                props.insert(k.clone(), v.clone());
            }
        }
        serde_json::json!({
            "type": "object",
            "properties": props,
            "required": self.schema["required"].clone(),
        })
    }

    fn definition(&self, reference: &str) -> Result<(&'a str, &'a Value)> {
        let name = reference
            .strip_prefix("#/definitions/")
            .with_context(|| format!("{}: unsupported $ref `{reference}`", self.type_name))?;
        let schema: &'a Value = self.schema;
        let (key, def) = schema["definitions"]
            .as_object()
            .and_then(|d| d.get_key_value(name))
            .with_context(|| format!("{}: $ref to missing definition `{name}`", self.type_name))?;
        Ok((key.as_str(), def))
    }

    /// The properties of an object-like schema (its own, or the union of its `oneOf`/`anyOf` branches).
    fn object_properties(s: &Value) -> Option<Vec<(String, Value)>> {
        if let Some(p) = s["properties"].as_object() {
            return Some(p.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
        }
        let branches = s["oneOf"].as_array().or_else(|| s["anyOf"].as_array())?;
        let mut merged: BTreeMap<String, Value> = BTreeMap::new();
        for b in branches {
            for (k, v) in b["properties"].as_object()? {
                merged.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        (!merged.is_empty()).then(|| merged.into_iter().collect())
    }

    /// Pre-pass: name every inline object (recursively), then every enum, unique in the module.
    fn name_enums_and_inlines(&mut self) {
        let top = self.top_level_object();
        let defs: Vec<(String, Value)> = self.schema["definitions"]
            .as_object()
            .map(|d| d.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let mut taken: BTreeSet<String> = defs.iter().map(|(n, _)| n.clone()).collect();
        taken.insert(self.name.clone());
        // Every object schema with its owner name: the resource, the definitions, the inline objects.
        let mut objects: Vec<(String, Value)> = vec![(self.name.clone(), top)];
        objects.extend(defs.iter().cloned());
        let mut i = 0;
        while i < objects.len() {
            let (owner, s) = objects[i].clone();
            for (prop, ps) in Self::object_properties(&s).unwrap_or_default() {
                let target = if ps["type"] == "array" {
                    ps["items"].clone()
                } else {
                    ps
                };
                if target.get("$ref").is_none()
                    && (target["type"] == "object" || target["type"].is_null())
                    && Self::object_properties(&target).is_some()
                {
                    let mut n = prop.clone();
                    if taken.contains(&n) {
                        n = format!("{owner}{prop}");
                    }
                    taken.insert(n.clone());
                    self.inline_names.insert(format!("{owner}.{prop}"), n.clone());
                    objects.push((n, target));
                }
            }
            i += 1;
        }
        let mut enum_sites: Vec<(String, String, Vec<String>)> = Vec::new(); // owner, prop, values
        for (owner, s) in &objects {
            for (prop, ps) in Self::object_properties(s).unwrap_or_default() {
                let target = if ps["type"] == "array" { &ps["items"] } else { &ps };
                if let Some(values) = string_enum(target) {
                    enum_sites.push((owner.clone(), prop.clone(), values));
                }
            }
        }
        // A definition that is itself a string enum, or a list of one.
        for (name, def) in &defs {
            let target = if def["type"] == "array" {
                &def["items"]
            } else {
                def
            };
            if let Some(values) = string_enum(target) {
                enum_sites.push((name.clone(), String::new(), values));
            }
        }
        // Enums: one shared name per property when every site agrees on the values.
        let mut by_prop: BTreeMap<&str, BTreeSet<&Vec<String>>> = BTreeMap::new();
        for (_, prop, values) in &enum_sites {
            by_prop.entry(prop.as_str()).or_default().insert(values);
        }
        for (owner, prop, values) in &enum_sites {
            let base = if prop.is_empty() {
                owner.clone()
            } else if by_prop[prop.as_str()].len() == 1 {
                prop.clone()
            } else {
                format!("{owner}{prop}")
            };
            let site = format!("{owner}.{prop}");
            if let Some(existing) = self.enums.get(&base)
                && &existing.values == values
            {
                self.enum_names.insert(site, base);
                continue;
            }
            let mut n = base.clone();
            while taken.contains(&n) {
                n.push_str("Value");
            }
            taken.insert(n.clone());
            self.enums.insert(
                n.clone(),
                EnumDef {
                    name: n.clone(),
                    values: values.clone(),
                },
            );
            self.enum_names.insert(site, n);
        }
    }

    /// The fields of an object schema owned by `owner` (a definition or the resource).
    fn fields(&mut self, s: &Value, owner: &str) -> Result<Vec<Field>> {
        let required: BTreeSet<&str> = s["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let deprecated: BTreeSet<String> = self.schema["deprecatedProperties"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str()?.strip_prefix("/properties/").map(str::to_owned))
            .collect();
        let mut fields = Vec::new();
        let mut idents = BTreeSet::new();
        for (prop, ps) in Self::object_properties(s).unwrap_or_default() {
            let ty = self.resolve(&ps, owner, &prop)?;
            let ident = field_ident(&prop);
            if !idents.insert(ident.clone()) {
                bail!(
                    "{}: two properties of {owner} map to the field name `{ident}`",
                    self.type_name
                );
            }
            let doc = first_sentence(ps["description"].as_str().unwrap_or_default());
            fields.push(Field {
                ident,
                ty,
                required: required.contains(prop.as_str()),
                doc,
                deprecated: owner == self.name && deprecated.contains(&prop),
                cfn_name: prop,
            });
        }
        fields.sort_by(|a, b| a.cfn_name.cmp(&b.cfn_name));
        Ok(fields)
    }

    fn resolve(&mut self, s: &Value, owner: &str, prop: &str) -> Result<Ty> {
        if let Some(r) = s["$ref"].as_str() {
            let (def_name, def) = self.definition(r)?;
            if string_enum(def).is_some() {
                return Ok(Ty::Enum(self.enum_names[&format!("{def_name}.")].clone()));
            }
            if Self::object_properties(def).is_some() {
                self.ensure_struct(def_name, def)?;
                return Ok(Ty::Struct(def_name.to_owned()));
            }
            return self.resolve(def, def_name, "");
        }
        if s["type"].is_array() {
            return Ok(Ty::Json);
        }
        if string_enum(s).is_some() {
            let site = format!("{owner}.{prop}");
            let name = self
                .enum_names
                .get(&site)
                .with_context(|| format!("no enum name for {site}"))?;
            return Ok(Ty::Enum(name.clone()));
        }
        match s["type"].as_str() {
            Some("string") => Ok(Ty::Str),
            Some("integer") => Ok(Ty::Int),
            Some("number") => Ok(Ty::Num),
            Some("boolean") => Ok(Ty::Bool),
            Some("array") => {
                if s["items"].is_object() {
                    Ok(Ty::List(Box::new(self.resolve(&s["items"], owner, prop)?)))
                } else {
                    Ok(Ty::List(Box::new(Ty::Json)))
                }
            }
            Some("object") | None => {
                if Self::object_properties(s).is_some() {
                    let site = format!("{owner}.{prop}");
                    let name = self
                        .inline_names
                        .get(&site)
                        .with_context(|| format!("no struct name for {site}"))?
                        .clone();
                    self.ensure_struct(&name, s)?;
                    return Ok(Ty::Struct(name));
                }
                if let Some(pp) = s["patternProperties"].as_object()
                    && let Some((_, v)) = pp.iter().next()
                {
                    return Ok(Ty::Map(Box::new(self.resolve(v, owner, prop)?)));
                }
                Ok(Ty::Json)
            }
            Some(other) => bail!(
                "{}: {owner}.{prop} has unsupported type `{other}`",
                self.type_name
            ),
        }
    }

    fn ensure_struct(&mut self, name: &str, def: &Value) -> Result<()> {
        if self.structs.contains_key(name) {
            return Ok(());
        }
        // Insert first: a definition may refer to itself.
        self.structs.insert(
            name.to_owned(),
            StructDef {
                name: name.to_owned(),
                doc: String::new(),
                fields: Vec::new(),
            },
        );
        let fields = self.fields(def, name)?;
        let doc = first_sentence(def["description"].as_str().unwrap_or_default());
        self.structs.insert(
            name.to_owned(),
            StructDef {
                name: name.to_owned(),
                doc,
                fields,
            },
        );
        Ok(())
    }

    fn render(&self) -> Result<String> {
        let mut out = String::new();
        let main = &self.structs[&self.name];
        let docs = if main.doc.is_empty() {
            String::new()
        } else {
            format!("\n///\n/// {}", main.doc)
        };
        writeln!(out, "/// `{}`.{docs}", self.type_name)?;
        render_struct(&mut out, main, |t| t.rust_from_service(&self.module), true)?;
        writeln!(
            out,
            "impl Resource for {name} {{\n    const TYPE_NAME: &'static str = \"{ty}\";\n    const ATTRIBUTES: &'static [&'static str] = &[{atts}];\n}}\n",
            name = self.name,
            ty = self.type_name,
            atts = self
                .getatts
                .iter()
                .map(|(a, _)| format!("\"{a}\""))
                .collect::<Vec<_>>()
                .join(", "),
        )?;
        if !self.getatts.is_empty() {
            writeln!(out, "/// `Fn::GetAtt` attributes of `{}`.", self.type_name)?;
            writeln!(out, "impl Res<{}> {{", self.name)?;
            for (att, pointer) in &self.getatts {
                let list = self.pointer_is_array(pointer);
                let ty = if list {
                    "crate::val::List<::std::string::String>"
                } else {
                    "::std::string::String"
                };
                writeln!(out, "    /// `!GetAtt {}.{att}`", self.name)?;
                writeln!(
                    out,
                    "    pub fn {}(self) -> Val<{ty}> {{\n        self.get_att(\"{att}\")\n    }}",
                    method_ident(&att.replace('.', ""))
                )?;
            }
            writeln!(out, "}}\n")?;
        }
        let others: Vec<&StructDef> = self.structs.values().filter(|s| s.name != self.name).collect();
        let used_enums: BTreeSet<&str> = self
            .structs
            .values()
            .flat_map(|s| s.fields.iter())
            .filter_map(|f| enum_in(&f.ty))
            .collect();
        let enums: Vec<&EnumDef> = self
            .enums
            .values()
            .filter(|e| used_enums.contains(e.name.as_str()))
            .collect();
        if others.is_empty() && enums.is_empty() {
            return Ok(out);
        }
        writeln!(out, "/// Property types of `{}`.", self.type_name)?;
        writeln!(out, "pub mod {} {{", self.module)?;
        if others.is_empty() {
            writeln!(out, "    use crate::node::{{Node, ToNode}};")?;
            writeln!(out, "    use crate::val::Val;")?;
        } else {
            writeln!(out, "    use crate::node::{{MapBuilder, Node, ToNode}};")?;
            writeln!(out, "    use crate::val::{{PropertyType, Unmodelled, Val}};")?;
        }
        let mut body = String::new();
        for s in others {
            let ty = format!("`{}.{}`", self.type_name, s.name);
            let docs = if s.doc.is_empty() {
                String::new()
            } else {
                format!("\n///\n/// {}", s.doc)
            };
            writeln!(body, "\n/// {ty}.{docs}")?;
            render_struct(&mut body, s, Ty::rust, false)?;
        }
        for e in enums {
            render_enum(&mut body, e)?;
        }
        for line in body.lines() {
            if line.is_empty() {
                out.push('\n');
            } else {
                writeln!(out, "    {line}")?;
            }
        }
        writeln!(out, "}}")?;
        Ok(out)
    }

    fn pointer_is_array(&self, pointer: &str) -> bool {
        let mut s = &self.schema["properties"];
        let mut parts = pointer.trim_start_matches("/properties/").split('/').peekable();
        while let Some(p) = parts.next() {
            let mut next = &s[p];
            if let Some(r) = next["$ref"].as_str()
                && let Ok((_, def)) = self.definition(r)
            {
                next = def;
            }
            if parts.peek().is_none() {
                return next["type"] == "array";
            }
            s = &next["properties"];
        }
        false
    }
}

fn enum_in(t: &Ty) -> Option<&str> {
    match t {
        Ty::Enum(n) => Some(n),
        Ty::List(t) | Ty::Map(t) => enum_in(t),
        _ => None,
    }
}

fn render_struct(
    out: &mut String,
    s: &StructDef,
    ty: impl Fn(&Ty) -> String,
    is_resource: bool,
) -> Result<()> {
    writeln!(
        out,
        "#[derive(Clone, Debug, PartialEq)]\n#[must_use]\npub struct {} {{",
        s.name
    )?;
    for f in &s.fields {
        if !f.doc.is_empty() {
            writeln!(out, "    /// {}", f.doc)?;
        }
        let t = format!("Val<{}>", ty(&f.ty));
        if f.required {
            writeln!(out, "    pub {}: {t},", f.ident)?;
        } else {
            writeln!(out, "    pub {}: Option<{t}>,", f.ident)?;
        }
    }
    writeln!(out, "    unmodelled: Unmodelled,\n}}\n")?;
    let required: Vec<&Field> = s.fields.iter().filter(|f| f.required).collect();
    writeln!(out, "impl {} {{", s.name)?;
    let args = required
        .iter()
        .map(|f| format!("{}: impl Into<Val<{}>>", f.ident, ty(&f.ty)))
        .collect::<Vec<_>>()
        .join(", ");
    let names = required
        .iter()
        .map(|f| format!("`{}`", f.cfn_name))
        .collect::<Vec<_>>()
        .join(", ");
    if required.is_empty() {
        writeln!(out, "    /// No property is required.")?;
    } else {
        writeln!(out, "    /// Takes the required properties: {names}.")?;
    }
    writeln!(out, "    pub fn new({args}) -> Self {{\n        {} {{", s.name)?;
    for f in &s.fields {
        if f.required {
            writeln!(out, "            {0}: {0}.into(),", f.ident)?;
        } else {
            writeln!(out, "            {}: None,", f.ident)?;
        }
    }
    writeln!(
        out,
        "            unmodelled: Unmodelled::default(),\n        }}\n    }}"
    )?;
    for f in s.fields.iter().filter(|f| !f.required) {
        writeln!(out, "\n    /// Sets `{}`.", f.cfn_name)?;
        if f.deprecated {
            writeln!(
                out,
                "    #[deprecated(note = \"deprecated in the CloudFormation resource schema\")]"
            )?;
        }
        writeln!(
            out,
            "    pub fn {0}(mut self, value: impl Into<Val<{1}>>) -> Self {{\n        self.{0} = Some(value.into());\n        self\n    }}",
            f.ident,
            ty(&f.ty)
        )?;
    }
    writeln!(
        out,
        "\n    /// Escape hatch: sets a property that the pinned schema does not model yet. Synth rejects a\n    /// name that is also a typed field.\n    pub fn unmodelled_property(mut self, name: &str, value: impl Into<Val<crate::val::Json>>) -> Self {{\n        self.unmodelled.push(name, value.into());\n        self\n    }}\n}}\n"
    )?;
    if required.is_empty() {
        writeln!(
            out,
            "impl Default for {} {{\n    fn default() -> Self {{\n        Self::new()\n    }}\n}}\n",
            s.name
        )?;
    }
    writeln!(
        out,
        "impl ToNode for {} {{\n    fn to_node(self) -> Node {{\n        let mut m = MapBuilder::default();",
        s.name
    )?;
    for f in &s.fields {
        let method = if f.required { "req" } else { "opt" };
        writeln!(out, "        m.{method}(\"{}\", self.{});", f.cfn_name, f.ident)?;
    }
    writeln!(
        out,
        "        m.extend(self.unmodelled);\n        m.finish()\n    }}\n}}\n"
    )?;
    if !is_resource {
        writeln!(out, "impl PropertyType for {} {{}}\n", s.name)?;
        writeln!(
            out,
            "impl From<{0}> for Val<{0}> {{\n    fn from(v: {0}) -> Self {{\n        Val::new(v.to_node())\n    }}\n}}\n",
            s.name
        )?;
    }
    Ok(())
}

fn render_enum(out: &mut String, e: &EnumDef) -> Result<()> {
    let mut variants: Vec<(String, &str)> = Vec::new();
    let mut seen = BTreeSet::new();
    for v in &e.values {
        let mut n = variant_ident(v);
        while !seen.insert(n.clone()) {
            n.push_str("Alt");
        }
        variants.push((n, v));
    }
    writeln!(
        out,
        "\n/// The values the schema allows. Any `Val<String>` converts too (an intrinsic, or a value"
    )?;
    writeln!(out, "/// newer than the schema).")?;
    writeln!(
        out,
        "#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]\npub enum {} {{",
        e.name
    )?;
    for (n, v) in &variants {
        writeln!(out, "    /// `{v}`\n    {n},")?;
    }
    writeln!(
        out,
        "}}\n\nimpl {} {{\n    /// The value as CloudFormation spells it.\n    pub fn as_str(self) -> &'static str {{\n        match self {{",
        e.name
    )?;
    for (n, v) in &variants {
        writeln!(out, "            Self::{n} => {v:?},")?;
    }
    writeln!(out, "        }}\n    }}\n}}\n")?;
    writeln!(
        out,
        "impl From<{0}> for Val<{0}> {{\n    fn from(v: {0}) -> Self {{\n        Val::new(Node::Str(v.as_str().to_owned()))\n    }}\n}}\n",
        e.name
    )?;
    writeln!(
        out,
        "impl From<Val<::std::string::String>> for Val<{0}> {{\n    fn from(v: Val<::std::string::String>) -> Self {{\n        Val::new(v.to_node())\n    }}\n}}",
        e.name
    )?;
    Ok(())
}

fn string_enum(s: &Value) -> Option<Vec<String>> {
    if s["type"] != "string" {
        return None;
    }
    let values: Vec<String> = s["enum"]
        .as_array()?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    (!values.is_empty()).then_some(values)
}

/// The first sentence of a schema description, on one line (no Markdown block can start).
fn first_sentence(text: &str) -> String {
    let para = text.split("\n\n").next().unwrap_or_default();
    let flat: String = para.split_whitespace().collect::<Vec<_>>().join(" ");
    let end = flat.find(". ").map_or(flat.len(), |i| i + 1);
    let mut s = flat[..end].to_owned();
    if s.len() > 300 {
        let cut = s
            .char_indices()
            .take_while(|(i, _)| *i < 297)
            .last()
            .map_or(0, |(i, c)| i + c.len_utf8());
        s.truncate(cut);
        s.push_str("...");
    }
    // Keep rustdoc from reading `[x]` as a link or `<x>` as HTML.
    s.replace('[', "\\[")
        .replace(']', "\\]")
        .replace('<', "\\<")
        .replace('>', "\\>")
}

/// `VPCZoneIdentifier` -> `vpc_zone_identifier`, `TargetGroupARNs` -> `target_group_arns`.
pub fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1).copied();
            let plural_s = next == Some('s')
                && chars
                    .get(i + 2)
                    .is_none_or(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            let boundary = match prev {
                None => false,
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => {
                    next.is_some_and(|n| n.is_ascii_lowercase()) && !plural_s
                }
                Some(_) => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_owned()
}

const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop",
    "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return", "self", "static",
    "struct", "super", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use", "virtual",
    "where", "while", "yield",
];

fn field_ident(prop: &str) -> String {
    let s = snake(prop);
    if KEYWORDS.contains(&s.as_str()) {
        format!("{s}_")
    } else {
        s
    }
}

fn method_ident(att: &str) -> String {
    let s = field_ident(att);
    if s == "to_ref" || s == "get_att" {
        format!("{s}_attribute")
    } else {
        s
    }
}

/// `LINUX_CONTAINER` -> `LinuxContainer`, `gp3` -> `Gp3`, `aws:kms` -> `AwsKms`.
fn variant_ident(value: &str) -> String {
    let mut out = String::new();
    for word in value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let mixed =
            word.chars().any(|c| c.is_ascii_lowercase()) && word.chars().any(|c| c.is_ascii_uppercase());
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            if mixed {
                out.extend(chars);
            } else {
                out.extend(chars.map(|c| c.to_ascii_lowercase()));
            }
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_rust_conventions() {
        for (cfn, rust) in [
            ("GroupDescription", "group_description"),
            ("VPCZoneIdentifier", "vpc_zone_identifier"),
            ("TargetGroupARNs", "target_group_arns"),
            ("DNSName", "dns_name"),
            ("CidrIpv6", "cidr_ipv6"),
            ("SSESpecification", "sse_specification"),
            ("EC2InboundPermissions", "ec2_inbound_permissions"),
            ("S3Key", "s3_key"),
            ("LoadBalancerArns", "load_balancer_arns"),
            ("IAM", "iam"),
        ] {
            assert_eq!(snake(cfn), rust, "{cfn}");
        }
        assert_eq!(field_ident("Type"), "type_");
        for (value, variant) in [
            ("LINUX_CONTAINER", "LinuxContainer"),
            ("gp3", "Gp3"),
            ("aws:kms", "AwsKms"),
            ("internet-facing", "InternetFacing"),
            ("IsMultipartUploaded", "IsMultipartUploaded"),
            ("1", "V1"),
        ] {
            assert_eq!(variant_ident(value), variant, "{value}");
        }
    }

    #[test]
    fn descriptions_become_one_safe_line() {
        assert_eq!(first_sentence("The name. More text.\n\n    code"), "The name.");
        assert_eq!(
            first_sentence("See [docs](x) for <b>."),
            "See \\[docs\\](x) for \\<b\\>."
        );
    }
}
