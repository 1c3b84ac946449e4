//! berth's CloudFormation template language.
//!
//! A [`Template`] hands out typed handles for everything added to it: [`Res<R>`] for a resource of type
//! `R`, [`Param<T>`] for a parameter of type `T`, [`Cond`] for a condition. `Ref` and `Fn::GetAtt` are
//! made from handles only, and the attributes on offer are the ones the resource type has, so a broken
//! reference does not compile. There is no public way to make a handle from a string.
//!
//! Resource and property types are generated from the CloudFormation resource schemas (the ones
//! cfn-lint ships) into [`resources`]; intrinsic functions live in [`fns`]. [`Template::synth`] checks
//! the whole template, reports every problem with its path, and renders deterministic YAML (short-form
//! tags) or JSON.
//!
//! ```
//! use cfn::{Template, Format, Parameter, params::aws, resources::ec2};
//!
//! let mut t = Template::new();
//! let vpc = t.add_parameter("VpcId", Parameter::<aws::VpcId>::new());
//! let alb_sg = t.add(
//!     "AlbSecurityGroup",
//!     ec2::SecurityGroup::new("HTTPS from anywhere").vpc_id(vpc).security_group_ingress(vec![
//!         ec2::security_group::Ingress::new("tcp").cidr_ip("0.0.0.0/0").from_port(443).to_port(443),
//!     ]),
//! );
//! let _id = alb_sg.group_id(); // a `Val<String>`: `!GetAtt AlbSecurityGroup.GroupId`
//! let yaml = t.synth(Format::Yaml).unwrap().body;
//! assert!(yaml.starts_with("AWSTemplateFormatVersion: '2010-09-09'\n"));
//! ```

mod doc;
mod node;
mod policies;
mod synth;
mod template;
mod val;
mod yaml;

pub mod actions;
pub mod fns;
pub mod params;
pub mod policy;
pub mod raw;
pub mod resources;

pub use fns::{dynamic, pseudo};
pub use params::{ParamType, Parameter};
pub use policies::{
    CreationPolicy, DeletionPolicy, IsoDuration, RollingUpdate, UpdatePolicy, UpdateReplacePolicy,
};
pub use synth::{
    Diagnostic, Format, INLINE_BODY_LIMIT, MAX_BODY_SIZE, MAX_DYNAMIC_REFERENCES, MAX_MAPPINGS, MAX_OUTPUTS,
    MAX_PARAMETERS, MAX_RESOURCES, Severity, SynthError, Synthesized,
};
pub use template::{AnyRes, Attributes, Cond, CondExpr, Mapping, Output, Param, Res, Resource, Template};
pub use val::{Json, List, Map, PropertyType, Unmodelled, Val};

/// `value` as compact JSON text with the keys of every object sorted: the same bytes whatever order
/// the map kept them in. (serde_json's map keeps insertion order when any crate in the build turns on
/// its `preserve_order` feature, as the AWS SDK's HTTP client does; a template must not depend on
/// what else is compiled with it.) For JSON a property takes as a string, e.g. a lifecycle policy.
pub fn json_text(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_json(&mut out, value);
    out
}

fn write_json(out: &mut String, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_json(out, v);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, v);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// True when `id` is a valid logical ID: 1 to 255 ASCII letters and digits.
pub fn is_valid_logical_id(id: &str) -> bool {
    synth::valid_logical_id(id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_text_sorts_keys_at_every_level_and_escapes() {
        let mut inner = serde_json::Map::new();
        inner.insert("z".to_owned(), serde_json::json!(1));
        inner.insert("a\"b".to_owned(), serde_json::json!([true, null, "x\n"]));
        let mut outer = serde_json::Map::new();
        outer.insert("rules".to_owned(), serde_json::Value::Object(inner));
        outer.insert("action".to_owned(), serde_json::json!(2.5));
        assert_eq!(
            super::json_text(&serde_json::Value::Object(outer)),
            r#"{"action":2.5,"rules":{"a\"b":[true,null,"x\n"],"z":1}}"#
        );
    }
}
