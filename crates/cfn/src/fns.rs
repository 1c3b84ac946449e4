//! Intrinsic functions. Each takes and returns typed values, so `Fn::Select` on a list of strings
//! gives a string and `Fn::GetAZs` gives a list.

use crate::node::{Node, SubNode};
use crate::template::{Cond, CondExpr, Mapping};
use crate::val::{List, Val};

/// `Fn::Sub`. Variables are written `${Name}`; a literal `${` is written `${!`.
///
/// Bind every variable the text uses with [`Sub::var`] to a typed value:
///
/// ```
/// # use cfn::{Template, fns::Sub, resources::ecs};
/// # let mut t = Template::new();
/// let cluster = t.add("Cluster", ecs::Cluster::new());
/// let user_data = Sub::new("echo ECS_CLUSTER=${Cluster} >> /etc/ecs/ecs.config").var("Cluster", cluster.to_ref());
/// ```
///
/// A variable bound to a plain `Ref` or `Fn::GetAtt` is written back as `${LogicalId}` /
/// `${LogicalId.Attribute}` when the template is rendered, so the output reads like a hand-written
/// template. A variable left unbound must name a parameter, a resource (with an attribute it has)
/// or a pseudo parameter of the template: synth checks it.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct Sub {
    text: String,
    vars: Vec<(String, Node)>,
}

impl Sub {
    pub fn new(text: impl Into<String>) -> Self {
        Sub {
            text: text.into(),
            vars: Vec::new(),
        }
    }

    /// Binds `${name}` in the text to `value`.
    pub fn var(mut self, name: &str, value: impl Into<Val<String>>) -> Self {
        self.vars.push((name.to_owned(), value.into().node));
        self
    }
}

impl From<Sub> for Val<String> {
    fn from(s: Sub) -> Self {
        Val::new(Node::Sub(Box::new(SubNode {
            text: s.text,
            vars: s.vars,
        })))
    }
}

/// `Fn::Join`: the items joined by `delimiter`.
pub fn join(delimiter: &str, items: impl Into<Val<List<String>>>) -> Val<String> {
    Val::new(Node::Join(delimiter.to_owned(), Box::new(items.into().node)))
}

/// `Fn::Select`: the item at `index`.
pub fn select<T: ?Sized>(index: impl Into<Val<i64>>, list: impl Into<Val<List<T>>>) -> Val<T> {
    Val::new(Node::Select(
        Box::new(index.into().node),
        Box::new(list.into().node),
    ))
}

/// `Fn::Split`.
pub fn split(delimiter: &str, text: impl Into<Val<String>>) -> Val<List<String>> {
    Val::new(Node::Split(delimiter.to_owned(), Box::new(text.into().node)))
}

/// `Fn::GetAZs` for the stack's own region.
pub fn get_azs() -> Val<List<String>> {
    Val::new(Node::GetAzs(Box::new(Node::Str(String::new()))))
}

/// `Fn::GetAZs` for a given region.
pub fn get_azs_in(region: impl Into<Val<String>>) -> Val<List<String>> {
    Val::new(Node::GetAzs(Box::new(region.into().node)))
}

/// `Fn::Base64`.
pub fn base64(text: impl Into<Val<String>>) -> Val<String> {
    Val::new(Node::Base64(Box::new(text.into().node)))
}

/// `Fn::ImportValue`: a value another stack exported.
pub fn import_value(export_name: impl Into<Val<String>>) -> Val<String> {
    Val::new(Node::ImportValue(Box::new(export_name.into().node)))
}

/// `Fn::FindInMap`.
pub fn find_in_map(
    mapping: Mapping,
    top_level_key: impl Into<Val<String>>,
    second_level_key: impl Into<Val<String>>,
) -> Val<String> {
    Val::new(Node::FindInMap(
        mapping.0,
        Box::new(top_level_key.into().node),
        Box::new(second_level_key.into().node),
    ))
}

/// `Fn::Cidr`: `count` CIDR blocks of `cidr_bits` host bits carved from `ip_block`.
pub fn cidr(
    ip_block: impl Into<Val<String>>,
    count: impl Into<Val<i64>>,
    cidr_bits: impl Into<Val<i64>>,
) -> Val<List<String>> {
    Val::new(Node::Cidr(
        Box::new(ip_block.into().node),
        Box::new(count.into().node),
        Box::new(cidr_bits.into().node),
    ))
}

/// `Fn::If`: `then` when `cond` holds, otherwise `otherwise` (often [`pseudo::no_value`]).
pub fn if_<T: ?Sized>(cond: Cond, then: impl Into<Val<T>>, otherwise: impl Into<Val<T>>) -> Val<T> {
    Val::new(Node::If(
        cond.0,
        Box::new(then.into().node),
        Box::new(otherwise.into().node),
    ))
}

/// `Fn::Equals`.
pub fn equals<T: ?Sized>(a: impl Into<Val<T>>, b: impl Into<Val<T>>) -> CondExpr {
    CondExpr(Node::Equals(Box::new(a.into().node), Box::new(b.into().node)))
}

/// `Fn::Not`.
pub fn not(c: impl Into<CondExpr>) -> CondExpr {
    CondExpr(Node::Not(Box::new(c.into().0)))
}

/// `Fn::And` (2 to 10 conditions; synth checks the count).
pub fn and<I: IntoIterator<Item = C>, C: Into<CondExpr>>(conds: I) -> CondExpr {
    CondExpr(Node::And(conds.into_iter().map(|c| c.into().0).collect()))
}

/// `Fn::Or` (2 to 10 conditions; synth checks the count).
pub fn or<I: IntoIterator<Item = C>, C: Into<CondExpr>>(conds: I) -> CondExpr {
    CondExpr(Node::Or(conds.into_iter().map(|c| c.into().0).collect()))
}

/// The pseudo parameters.
pub mod pseudo {
    use crate::node::{Node, Pseudo, Target};
    use crate::val::{List, Val};

    fn pseudo<T: ?Sized>(p: Pseudo) -> Val<T> {
        Val::new(Node::Ref(Target::Pseudo(p)))
    }

    /// `AWS::AccountId`.
    pub fn account_id() -> Val<String> {
        pseudo(Pseudo::AccountId)
    }
    /// `AWS::NotificationARNs`.
    pub fn notification_arns() -> Val<List<String>> {
        pseudo(Pseudo::NotificationArns)
    }
    /// `AWS::NoValue`: removes the property (usually one branch of `Fn::If`). It fits any type.
    pub fn no_value() -> NoValue {
        NoValue
    }

    /// The value of [`no_value`]: converts into a `Val` of any type.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct NoValue;

    impl<T: ?Sized> From<NoValue> for Val<T> {
        fn from(_: NoValue) -> Self {
            pseudo(Pseudo::NoValue)
        }
    }
    /// `AWS::Partition`.
    pub fn partition() -> Val<String> {
        pseudo(Pseudo::Partition)
    }
    /// `AWS::Region`.
    pub fn region() -> Val<String> {
        pseudo(Pseudo::Region)
    }
    /// `AWS::StackId`.
    pub fn stack_id() -> Val<String> {
        pseudo(Pseudo::StackId)
    }
    /// `AWS::StackName`.
    pub fn stack_name() -> Val<String> {
        pseudo(Pseudo::StackName)
    }
    /// `AWS::URLSuffix`.
    pub fn url_suffix() -> Val<String> {
        pseudo(Pseudo::UrlSuffix)
    }
}

/// Dynamic references: values CloudFormation resolves at deploy time, never stored in the template.
pub mod dynamic {
    use super::Sub;
    use crate::val::Val;

    fn reference(service: &str, body: Val<String>) -> Val<String> {
        match body.as_literal_str() {
            Some(text) => Val::from(format!("{{{{resolve:{service}:{text}}}}}")),
            None => Sub::new(format!("{{{{resolve:{service}:${{Body}}}}}}"))
                .var("Body", body)
                .into(),
        }
    }

    fn with_version(name: Val<String>, version: Option<u32>) -> Val<String> {
        match version {
            None => name,
            Some(v) => match name.as_literal_str() {
                Some(text) => Val::from(format!("{text}:{v}")),
                None => Sub::new(format!("${{Name}}:{v}")).var("Name", name).into(),
            },
        }
    }

    /// `{{resolve:ssm:NAME[:VERSION]}}`: a `String` or `StringList` SSM parameter.
    pub fn ssm(name: impl Into<Val<String>>, version: Option<u32>) -> Val<String> {
        reference("ssm", with_version(name.into(), version))
    }

    /// `{{resolve:ssm-secure:NAME[:VERSION]}}`: a `SecureString`; only some properties accept it.
    pub fn ssm_secure(name: impl Into<Val<String>>, version: Option<u32>) -> Val<String> {
        reference("ssm-secure", with_version(name.into(), version))
    }

    /// `{{resolve:secretsmanager:SECRET[:SecretString:JSON_KEY[:VERSION_STAGE]]}}`.
    pub fn secrets_manager(
        secret_id: impl Into<Val<String>>,
        json_key: Option<&str>,
        version_stage: Option<&str>,
    ) -> Val<String> {
        let id = secret_id.into();
        let mut suffix = String::new();
        if json_key.is_some() || version_stage.is_some() {
            suffix.push_str(":SecretString:");
            suffix.push_str(json_key.unwrap_or(""));
            if let Some(stage) = version_stage {
                suffix.push(':');
                suffix.push_str(stage);
            }
        }
        let body = match id.as_literal_str() {
            Some(text) => Val::from(format!("{text}{suffix}")),
            None => Sub::new(format!("${{Secret}}{suffix}")).var("Secret", id).into(),
        };
        reference("secretsmanager", body)
    }
}
