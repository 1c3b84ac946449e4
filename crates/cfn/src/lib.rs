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

/// True when `id` is a valid logical ID: 1 to 255 ASCII letters and digits.
pub fn is_valid_logical_id(id: &str) -> bool {
    synth::valid_logical_id(id)
}
