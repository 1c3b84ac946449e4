//! The untyped value tree behind every [`Val`](crate::Val).
//!
//! Nothing here is public: a `Node` holding a reference can only be built by the typed API
//! (handles, intrinsic functions), never from a string. Logical IDs are resolved at synth.

use std::borrow::Cow;

/// Identity of one [`Template`](crate::Template) value, so that a handle used in another
/// template is caught at synth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TemplateId(pub(crate) u64);

/// Index of a resource inside its template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResKey {
    pub(crate) template: TemplateId,
    pub(crate) index: usize,
}

/// Index of a parameter inside its template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParamKey {
    pub(crate) template: TemplateId,
    pub(crate) index: usize,
}

/// Index of a condition inside its template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CondKey {
    pub(crate) template: TemplateId,
    pub(crate) index: usize,
}

/// Index of a mapping inside its template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MapKey {
    pub(crate) template: TemplateId,
    pub(crate) index: usize,
}

/// The pseudo parameters CloudFormation defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pseudo {
    AccountId,
    NotificationArns,
    NoValue,
    Partition,
    Region,
    StackId,
    StackName,
    UrlSuffix,
}

impl Pseudo {
    pub(crate) const ALL: [Pseudo; 8] = [
        Pseudo::AccountId,
        Pseudo::NotificationArns,
        Pseudo::NoValue,
        Pseudo::Partition,
        Pseudo::Region,
        Pseudo::StackId,
        Pseudo::StackName,
        Pseudo::UrlSuffix,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Pseudo::AccountId => "AWS::AccountId",
            Pseudo::NotificationArns => "AWS::NotificationARNs",
            Pseudo::NoValue => "AWS::NoValue",
            Pseudo::Partition => "AWS::Partition",
            Pseudo::Region => "AWS::Region",
            Pseudo::StackId => "AWS::StackId",
            Pseudo::StackName => "AWS::StackName",
            Pseudo::UrlSuffix => "AWS::URLSuffix",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Pseudo> {
        Pseudo::ALL.into_iter().find(|p| p.name() == name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    Resource(ResKey),
    Parameter(ParamKey),
    Pseudo(Pseudo),
}

/// `Fn::Sub`: the text and the variables bound to it.
#[derive(Clone, Debug, PartialEq)]
pub struct SubNode {
    pub(crate) text: String,
    pub(crate) vars: Vec<(String, Node)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Node>),
    /// Keys in the order they are rendered.
    Map(Vec<(String, Node)>),
    /// A JSON literal given through an escape hatch; checked at synth for intrinsic-looking keys.
    Json(serde_json::Value),
    Ref(Target),
    GetAtt(ResKey, Cow<'static, str>),
    Sub(Box<SubNode>),
    Join(String, Box<Node>),
    Select(Box<Node>, Box<Node>),
    Split(String, Box<Node>),
    GetAzs(Box<Node>),
    Base64(Box<Node>),
    ImportValue(Box<Node>),
    FindInMap(MapKey, Box<Node>, Box<Node>),
    Cidr(Box<Node>, Box<Node>, Box<Node>),
    If(CondKey, Box<Node>, Box<Node>),
    Equals(Box<Node>, Box<Node>),
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
    Condition(CondKey),
    /// CodePipeline's `Fn::GetParam` (artifact, file, key); valid only inside [`Node::JsonString`]
    /// under a CloudFormation action's `ParameterOverrides`.
    GetParam(String, String, String),
    /// A resource's logical ID as a plain string (no reference, no dependency): what `cfn-signal
    /// --resource` needs.
    LogicalId(ResKey),
    /// A subtree rendered as a JSON text in a string (`ParameterOverrides`), through `Fn::Sub` when it
    /// holds intrinsics.
    JsonString(Box<Node>),
}

impl Node {
    /// Calls `f` on this node and every node below it, depth first.
    pub(crate) fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Node)) {
        f(self);
        match self {
            Node::Null
            | Node::Bool(_)
            | Node::Int(_)
            | Node::Float(_)
            | Node::Str(_)
            | Node::Json(_)
            | Node::Ref(_)
            | Node::GetAtt(..)
            | Node::Condition(_)
            | Node::GetParam(..)
            | Node::LogicalId(_) => {}
            Node::List(items) | Node::And(items) | Node::Or(items) => {
                items.iter().for_each(|n| n.walk(f));
            }
            Node::Map(entries) => entries.iter().for_each(|(_, n)| n.walk(f)),
            Node::Sub(sub) => sub.vars.iter().for_each(|(_, n)| n.walk(f)),
            Node::Join(_, n)
            | Node::Split(_, n)
            | Node::GetAzs(n)
            | Node::Base64(n)
            | Node::ImportValue(n)
            | Node::Not(n)
            | Node::JsonString(n) => n.walk(f),
            Node::Select(a, b) | Node::Equals(a, b) | Node::If(_, a, b) | Node::FindInMap(_, a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Node::Cidr(a, b, c) => {
                a.walk(f);
                b.walk(f);
                c.walk(f);
            }
        }
    }

    /// True when the node holds no intrinsic function anywhere.
    pub(crate) fn is_literal(&self) -> bool {
        let mut literal = true;
        self.walk(&mut |n| {
            if !matches!(
                n,
                Node::Null
                    | Node::Bool(_)
                    | Node::Int(_)
                    | Node::Float(_)
                    | Node::Str(_)
                    | Node::List(_)
                    | Node::Map(_)
                    | Node::Json(_)
            ) {
                literal = false;
            }
        });
        literal
    }
}

/// Turns a typed value into its node. Sealed: only this crate implements it.
pub trait ToNode {
    fn to_node(self) -> Node;
}

/// Builds the property map of a generated struct, skipping unset optional properties.
#[derive(Default)]
pub struct MapBuilder(Vec<(String, Node)>);

impl MapBuilder {
    pub fn req<T>(&mut self, name: &str, value: crate::Val<T>) {
        self.0.push((name.to_owned(), value.node));
    }

    pub fn opt<T>(&mut self, name: &str, value: Option<crate::Val<T>>) {
        if let Some(v) = value {
            self.0.push((name.to_owned(), v.node));
        }
    }

    pub fn extend(&mut self, extra: crate::Unmodelled) {
        self.0.extend(extra.0);
    }

    pub fn finish(mut self) -> Node {
        // Rendered order is the CloudFormation property name order, whatever order the fields were set in.
        self.0.sort_by(|a, b| a.0.cmp(&b.0));
        Node::Map(self.0)
    }
}
