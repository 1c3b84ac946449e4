//! Typed template parameters.
//!
//! The parameter type is part of the handle: a `Param<aws::VpcId>` is not a `Param<aws::SubnetIds>`,
//! and `Ref` to it yields the value type CloudFormation gives it (`String`, a list, a number).

use std::marker::PhantomData;

use crate::val::{List, Val};

/// A CloudFormation parameter type.
pub trait ParamType {
    /// What `Ref` to a parameter of this type yields.
    type Value: ?Sized;
    /// The literal type of `Default` and `AllowedValues`.
    type Literal: Clone + Into<Literal>;
    /// The name in the template's `Type:` field.
    fn cfn_type() -> String;
}

/// A literal parameter value, as written in `Default` and `AllowedValues`.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    String(String),
    Int(i64),
    Float(f64),
    /// A list parameter's default: written comma-separated.
    List(Vec<String>),
}

impl From<String> for Literal {
    fn from(v: String) -> Self {
        Literal::String(v)
    }
}
impl From<i64> for Literal {
    fn from(v: i64) -> Self {
        Literal::Int(v)
    }
}
impl From<f64> for Literal {
    fn from(v: f64) -> Self {
        Literal::Float(v)
    }
}
impl From<Vec<String>> for Literal {
    fn from(v: Vec<String>) -> Self {
        Literal::List(v)
    }
}

/// `String`.
#[derive(Debug)]
pub enum Str {}
impl ParamType for Str {
    type Value = String;
    type Literal = String;
    fn cfn_type() -> String {
        "String".into()
    }
}

/// `Number`, used for whole numbers (ports, sizes, counts): `Ref` yields a `Val<i64>`.
#[derive(Debug)]
pub enum Integer {}
impl ParamType for Integer {
    type Value = i64;
    type Literal = i64;
    fn cfn_type() -> String {
        "Number".into()
    }
}

/// `Number`, for values that may have a fraction.
#[derive(Debug)]
pub enum Number {}
impl ParamType for Number {
    type Value = f64;
    type Literal = f64;
    fn cfn_type() -> String {
        "Number".into()
    }
}

/// `CommaDelimitedList`.
#[derive(Debug)]
pub enum CommaDelimitedList {}
impl ParamType for CommaDelimitedList {
    type Value = List<String>;
    type Literal = Vec<String>;
    fn cfn_type() -> String {
        "CommaDelimitedList".into()
    }
}

/// `List<Number>` of whole numbers (ports, sizes): items are `Val<i64>`.
#[derive(Debug)]
pub enum IntegerList {}
impl ParamType for IntegerList {
    type Value = List<i64>;
    type Literal = Vec<String>;
    fn cfn_type() -> String {
        "List<Number>".into()
    }
}

/// `List<Number>` of numbers that may have a fraction.
#[derive(Debug)]
pub enum NumberList {}
impl ParamType for NumberList {
    type Value = List<f64>;
    type Literal = Vec<String>;
    fn cfn_type() -> String {
        "List<Number>".into()
    }
}

/// A parameter of type `AWS::SSM::Parameter::Value<T>`: CloudFormation reads the named SSM
/// parameter at deploy time (e.g. the current ECS-optimized AMI).
#[derive(Debug)]
pub struct SsmValue<T>(PhantomData<fn() -> T>);

/// Parameter types that may be read from SSM.
pub trait SsmReadable: ParamType {}
impl SsmReadable for Str {}
impl SsmReadable for CommaDelimitedList {}

impl<T: SsmReadable> ParamType for SsmValue<T> {
    type Value = T::Value;
    // The default of an SSM parameter is the name of the SSM parameter to read.
    type Literal = String;
    fn cfn_type() -> String {
        let inner = T::cfn_type();
        let inner = if inner == "CommaDelimitedList" {
            "List<String>".to_owned()
        } else {
            inner
        };
        format!("AWS::SSM::Parameter::Value<{inner}>")
    }
}

/// The AWS-specific parameter types: CloudFormation checks the value against the account.
pub mod aws {
    use super::{ParamType, SsmReadable};
    use crate::val::List;

    macro_rules! aws_type {
        ($(#[$doc:meta] $name:ident, $list:ident => $cfn:literal;)*) => {$(
            #[$doc]
            #[derive(Debug)]
            pub enum $name {}
            impl ParamType for $name {
                type Value = String;
                type Literal = String;
                fn cfn_type() -> String {
                    $cfn.into()
                }
            }
            impl SsmReadable for $name {}

            #[doc = concat!("`List<", $cfn, ">`.")]
            #[derive(Debug)]
            pub enum $list {}
            impl ParamType for $list {
                type Value = List<String>;
                type Literal = Vec<String>;
                fn cfn_type() -> String {
                    concat!("List<", $cfn, ">").into()
                }
            }
            impl SsmReadable for $list {}
        )*};
    }

    aws_type! {
        /// `AWS::EC2::AvailabilityZone::Name`.
        AvailabilityZoneName, AvailabilityZoneNames => "AWS::EC2::AvailabilityZone::Name";
        /// `AWS::EC2::Image::Id`.
        ImageId, ImageIds => "AWS::EC2::Image::Id";
        /// `AWS::EC2::Instance::Id`.
        InstanceId, InstanceIds => "AWS::EC2::Instance::Id";
        /// `AWS::EC2::KeyPair::KeyName`.
        KeyPairName, KeyPairNames => "AWS::EC2::KeyPair::KeyName";
        /// `AWS::EC2::SecurityGroup::GroupName`.
        SecurityGroupName, SecurityGroupNames => "AWS::EC2::SecurityGroup::GroupName";
        /// `AWS::EC2::SecurityGroup::Id`.
        SecurityGroupId, SecurityGroupIds => "AWS::EC2::SecurityGroup::Id";
        /// `AWS::EC2::Subnet::Id`.
        SubnetId, SubnetIds => "AWS::EC2::Subnet::Id";
        /// `AWS::EC2::Volume::Id`.
        VolumeId, VolumeIds => "AWS::EC2::Volume::Id";
        /// `AWS::EC2::VPC::Id`.
        VpcId, VpcIds => "AWS::EC2::VPC::Id";
        /// `AWS::Route53::HostedZone::Id`.
        HostedZoneId, HostedZoneIds => "AWS::Route53::HostedZone::Id";
    }
}

/// The definition of a parameter: what [`Template::add_parameter`](crate::Template::add_parameter) takes.
#[derive(Clone, Debug)]
#[must_use]
pub struct Parameter<T: ParamType> {
    pub(crate) def: ParameterDef,
    _type: PhantomData<fn() -> T>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct ParameterDef {
    pub(crate) cfn_type: String,
    pub(crate) description: Option<String>,
    pub(crate) default: Option<Literal>,
    pub(crate) allowed_values: Vec<Literal>,
    pub(crate) allowed_pattern: Option<String>,
    pub(crate) constraint_description: Option<String>,
    pub(crate) min_length: Option<u32>,
    pub(crate) max_length: Option<u32>,
    pub(crate) min_value: Option<f64>,
    pub(crate) max_value: Option<f64>,
    pub(crate) no_echo: bool,
}

impl<T: ParamType> Default for Parameter<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: ParamType> Parameter<T> {
    pub fn new() -> Self {
        Parameter {
            def: ParameterDef {
                cfn_type: T::cfn_type(),
                ..ParameterDef::default()
            },
            _type: PhantomData,
        }
    }

    pub fn description(mut self, text: &str) -> Self {
        self.def.description = Some(text.to_owned());
        self
    }

    pub fn default_value(mut self, value: impl Into<T::Literal>) -> Self {
        self.def.default = Some(value.into().into());
        self
    }

    pub fn allowed_values<I: IntoIterator<Item = V>, V: Into<T::Literal>>(mut self, values: I) -> Self {
        self.def.allowed_values = values.into_iter().map(|v| v.into().into()).collect();
        self
    }

    /// Shown by CloudFormation when a value breaks a constraint.
    pub fn constraint_description(mut self, text: &str) -> Self {
        self.def.constraint_description = Some(text.to_owned());
        self
    }

    /// `NoEcho: true`: CloudFormation masks the value in the console and API. Not a secret store:
    /// prefer a dynamic reference to SSM or Secrets Manager.
    pub fn no_echo(mut self) -> Self {
        self.def.no_echo = true;
        self
    }
}

/// Parameter types whose value is a string: they take a pattern and length bounds.
pub trait Textual: ParamType {}
impl Textual for Str {}
impl Textual for CommaDelimitedList {}

impl<T: Textual> Parameter<T> {
    pub fn allowed_pattern(mut self, pattern: &str) -> Self {
        self.def.allowed_pattern = Some(pattern.to_owned());
        self
    }

    pub fn min_length(mut self, n: u32) -> Self {
        self.def.min_length = Some(n);
        self
    }

    pub fn max_length(mut self, n: u32) -> Self {
        self.def.max_length = Some(n);
        self
    }
}

/// Parameter types whose value is a number: they take value bounds.
pub trait Numeric: ParamType {}
impl Numeric for Integer {}
impl Numeric for Number {}

impl<T: Numeric> Parameter<T> {
    pub fn min_value(mut self, n: f64) -> Self {
        self.def.min_value = Some(n);
        self
    }

    pub fn max_value(mut self, n: f64) -> Self {
        self.def.max_value = Some(n);
        self
    }
}

impl From<&str> for Literal {
    fn from(v: &str) -> Self {
        Literal::String(v.to_owned())
    }
}

// A parameter stands for its value wherever a value of its type is expected.
impl<T: ParamType> From<crate::Param<T>> for Val<T::Value> {
    fn from(p: crate::Param<T>) -> Self {
        p.to_ref()
    }
}
