//! Typed values: a literal or an intrinsic function, with the CloudFormation type it stands for.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use crate::node::{Node, ToNode};

/// A value of CloudFormation type `T`: a literal, or an intrinsic function that yields a `T`.
///
/// `T` is a marker: `String`, `i64`, `f64`, `bool`, [`List<T>`], [`Map<T>`], [`Json`], a generated
/// property type or a generated enum. There is no way to build a `Val` that refers to a resource or
/// parameter other than through a handle ([`Res`](crate::Res), [`Param`](crate::Param)), a pseudo
/// parameter ([`pseudo`](crate::pseudo)) or an intrinsic function ([`fns`](crate::fns)).
pub struct Val<T: ?Sized> {
    pub(crate) node: Node,
    _type: PhantomData<fn() -> T>,
}

impl<T: ?Sized> Val<T> {
    pub(crate) fn new(node: Node) -> Self {
        Val {
            node,
            _type: PhantomData,
        }
    }

    /// Forgets the CloudFormation type, for a place that takes any JSON (an escape hatch, metadata).
    pub fn into_json(self) -> Val<Json> {
        Val::new(self.node)
    }

    /// The literal string, when this value is one (no intrinsic inside).
    pub fn as_literal_str(&self) -> Option<&str> {
        match &self.node {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    /// True when the value holds no intrinsic function.
    pub fn is_literal(&self) -> bool {
        self.node.is_literal()
    }
}

impl<T: ?Sized> Clone for Val<T> {
    fn clone(&self) -> Self {
        Val::new(self.node.clone())
    }
}

impl<T: ?Sized> PartialEq for Val<T> {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl<T: ?Sized> fmt::Debug for Val<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.node.fmt(f)
    }
}

/// Marker: a CloudFormation list whose items are `T`.
pub struct List<T: ?Sized>(PhantomData<fn() -> T>);

/// Marker: a JSON object with string keys and values of type `T` (`patternProperties` in a schema).
pub struct Map<T: ?Sized>(PhantomData<fn() -> T>);

/// Marker: any JSON value (a policy document, a free-form `Configuration`, metadata).
pub struct Json;

// ---- literals -------------------------------------------------------------------------------

impl From<&str> for Val<String> {
    fn from(s: &str) -> Self {
        Val::new(Node::Str(s.to_owned()))
    }
}

impl From<String> for Val<String> {
    fn from(s: String) -> Self {
        Val::new(Node::Str(s))
    }
}

impl From<&String> for Val<String> {
    fn from(s: &String) -> Self {
        Val::new(Node::Str(s.clone()))
    }
}

macro_rules! int_literal {
    ($($t:ty),*) => {$(
        impl From<$t> for Val<i64> {
            fn from(v: $t) -> Self {
                Val::new(Node::Int(i64::from(v)))
            }
        }
        impl From<$t> for Val<f64> {
            fn from(v: $t) -> Self {
                Val::new(Node::Int(i64::from(v)))
            }
        }
    )*};
}
int_literal!(i64, i32, u32, u16, u8);

impl From<f64> for Val<f64> {
    fn from(v: f64) -> Self {
        Val::new(Node::Float(v))
    }
}

impl From<bool> for Val<bool> {
    fn from(v: bool) -> Self {
        Val::new(Node::Bool(v))
    }
}

impl From<serde_json::Value> for Val<Json> {
    fn from(v: serde_json::Value) -> Self {
        Val::new(Node::Json(v))
    }
}

impl<T: ?Sized, U: Into<Val<T>>> From<Vec<U>> for Val<List<T>> {
    fn from(items: Vec<U>) -> Self {
        Val::new(Node::List(items.into_iter().map(|i| i.into().node).collect()))
    }
}

impl<T: ?Sized, U: Into<Val<T>>, const N: usize> From<[U; N]> for Val<List<T>> {
    fn from(items: [U; N]) -> Self {
        Val::new(Node::List(items.into_iter().map(|i| i.into().node).collect()))
    }
}

impl<T: ?Sized, K: Into<String>, U: Into<Val<T>>> From<BTreeMap<K, U>> for Val<Map<T>> {
    fn from(entries: BTreeMap<K, U>) -> Self {
        Val::new(Node::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.into(), v.into().node))
                .collect(),
        ))
    }
}

impl<T: ?Sized, K: Into<String>, U: Into<Val<T>>, const N: usize> From<[(K, U); N]> for Val<Map<T>> {
    fn from(entries: [(K, U); N]) -> Self {
        let map: BTreeMap<String, Node> = entries
            .into_iter()
            .map(|(k, v)| (k.into(), v.into().node))
            .collect();
        Val::new(Node::Map(map.into_iter().collect()))
    }
}

/// A whole number stands wherever a number is expected.
impl From<Val<i64>> for Val<f64> {
    fn from(v: Val<i64>) -> Self {
        Val::new(v.node)
    }
}

impl Val<i64> {
    /// The number as a string value: CloudFormation passes numbers as strings, and some properties
    /// (the Auto Scaling group's sizes) are strings in the schema. Explicit, so that `Fn::If` and
    /// friends infer their type from the property.
    pub fn into_string(self) -> Val<String> {
        Val::new(self.node)
    }
}

impl Val<f64> {
    /// The number as a string value (see [`Val::<i64>::into_string`]).
    pub fn into_string(self) -> Val<String> {
        Val::new(self.node)
    }
}

impl<T: ?Sized> ToNode for Val<T> {
    fn to_node(self) -> Node {
        self.node
    }
}

/// Typed values carried by property types that are objects: implemented by generated structs.
pub trait PropertyType: ToNode {}

/// Extra properties set through a resource's or property type's escape hatch,
/// `unmodelled_property`: names that the pinned schema does not know yet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Unmodelled(pub(crate) Vec<(String, Node)>);

impl Unmodelled {
    pub(crate) fn push(&mut self, name: &str, value: Val<Json>) {
        self.0.push((name.to_owned(), value.node));
    }
}
