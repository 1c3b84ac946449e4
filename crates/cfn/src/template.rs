//! The template and the handles it hands out.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::node::{CondKey, MapKey, Node, ParamKey, ResKey, Target, TemplateId, ToNode};
use crate::params::{ParamType, Parameter, ParameterDef};
use crate::policies::{CreationPolicy, DeletionPolicy, UpdatePolicy, UpdateReplacePolicy};
use crate::val::{Json, Val};

static NEXT_TEMPLATE: AtomicU64 = AtomicU64::new(1);

/// A resource type that can be added to a [`Template`]. Implemented by the generated types in
/// [`resources`](crate::resources); sealed.
pub trait Resource: ToNode {
    /// The CloudFormation type name, e.g. `AWS::EC2::SecurityGroup`.
    const TYPE_NAME: &'static str;
    /// The attributes `Fn::GetAtt` accepts for this type.
    const ATTRIBUTES: &'static [&'static str];
}

/// A resource in a template, obtained only by [`Template::add`]. `R` is the resource type, so the
/// attributes on offer are the ones that type has: `alb.dns_name()` compiles, `bucket.dns_name()`
/// does not.
pub struct Res<R> {
    pub(crate) key: ResKey,
    _type: PhantomData<fn() -> R>,
}

impl<R> Clone for Res<R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R> Copy for Res<R> {}
impl<R> PartialEq for Res<R> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<R> Eq for Res<R> {}
impl<R> fmt::Debug for Res<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Res(template {}, resource #{})",
            self.key.template.0, self.key.index
        )
    }
}

impl<R: Resource> Res<R> {
    /// `Ref` to the resource (what it returns depends on the type: an ID, a name or an ARN).
    pub fn to_ref(self) -> Val<String> {
        Val::new(Node::Ref(Target::Resource(self.key)))
    }

    /// The resource's logical ID as a plain string, without a reference: for the places CloudFormation
    /// wants the name itself, such as `cfn-signal --resource` in an instance's UserData. Unlike a `Ref`
    /// it adds no dependency, so a resource may name one that depends on it.
    pub fn logical_name(self) -> Val<String> {
        Val::new(Node::LogicalId(self.key))
    }

    /// `Fn::GetAtt` by attribute name: crate-internal, used by the generated typed accessors.
    pub(crate) fn get_att<T>(self, attribute: &'static str) -> Val<T> {
        Val::new(Node::GetAtt(self.key, attribute.into()))
    }
}

/// A resource of any type: what `DependsOn` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnyRes(pub(crate) ResKey);

impl<R> From<Res<R>> for AnyRes {
    fn from(r: Res<R>) -> Self {
        AnyRes(r.key)
    }
}

/// A template parameter of type `T`, obtained only by [`Template::add_parameter`].
pub struct Param<T> {
    pub(crate) key: ParamKey,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for Param<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Param<T> {}
impl<T> fmt::Debug for Param<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Param(template {}, parameter #{})",
            self.key.template.0, self.key.index
        )
    }
}

impl<T: ParamType> Param<T> {
    /// `Ref` to the parameter: its value, typed by the parameter type.
    pub fn to_ref(self) -> Val<T::Value> {
        Val::new(Node::Ref(Target::Parameter(self.key)))
    }
}

/// A named condition, obtained only by [`Template::add_condition`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cond(pub(crate) CondKey);

/// A mapping, obtained only by [`Template::add_mapping`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping(pub(crate) MapKey);

/// A condition expression: `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or` or a named condition.
#[derive(Clone, Debug, PartialEq)]
pub struct CondExpr(pub(crate) Node);

impl From<Cond> for CondExpr {
    fn from(c: Cond) -> Self {
        CondExpr(Node::Condition(c.0))
    }
}

/// `DependsOn`, `Condition`, the policies and `Metadata` of one resource.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct Attributes {
    pub(crate) depends_on: Vec<AnyRes>,
    pub(crate) condition: Option<Cond>,
    pub(crate) creation_policy: Option<CreationPolicy>,
    pub(crate) update_policy: Option<UpdatePolicy>,
    pub(crate) deletion_policy: Option<DeletionPolicy>,
    pub(crate) update_replace_policy: Option<UpdateReplacePolicy>,
    pub(crate) metadata: Vec<(String, Node)>,
}

impl Attributes {
    pub fn new() -> Self {
        Self::default()
    }

    /// `DependsOn`: create this resource only after `other`.
    pub fn depends_on(mut self, other: impl Into<AnyRes>) -> Self {
        self.depends_on.push(other.into());
        self
    }

    /// `Condition`: create the resource only when `cond` holds.
    pub fn condition(mut self, cond: Cond) -> Self {
        self.condition = Some(cond);
        self
    }

    pub fn creation_policy(mut self, policy: CreationPolicy) -> Self {
        self.creation_policy = Some(policy);
        self
    }

    pub fn update_policy(mut self, policy: UpdatePolicy) -> Self {
        self.update_policy = Some(policy);
        self
    }

    pub fn deletion_policy(mut self, policy: DeletionPolicy) -> Self {
        self.deletion_policy = Some(policy);
        self
    }

    pub fn update_replace_policy(mut self, policy: UpdateReplacePolicy) -> Self {
        self.update_replace_policy = Some(policy);
        self
    }

    /// Keeps the resource (and its data) when the stack is deleted or the resource replaced:
    /// `DeletionPolicy: Retain` and `UpdateReplacePolicy: Retain`.
    pub fn retain(self) -> Self {
        self.deletion_policy(DeletionPolicy::Retain)
            .update_replace_policy(UpdateReplacePolicy::Retain)
    }

    /// One entry of the resource's `Metadata`.
    pub fn metadata(mut self, key: &str, value: impl Into<Val<Json>>) -> Self {
        self.metadata.push((key.to_owned(), value.into().node));
        self
    }
}

/// One output of the template.
#[derive(Clone, Debug)]
#[must_use]
pub struct Output {
    pub(crate) value: Node,
    pub(crate) description: Option<String>,
    pub(crate) export: Option<Node>,
    pub(crate) condition: Option<Cond>,
}

impl Output {
    pub fn new(value: impl Into<Val<String>>) -> Self {
        Output {
            value: value.into().node,
            description: None,
            export: None,
            condition: None,
        }
    }

    pub fn description(mut self, text: &str) -> Self {
        self.description = Some(text.to_owned());
        self
    }

    /// `Export: Name:` so that other stacks can `Fn::ImportValue` it.
    pub fn export(mut self, name: impl Into<Val<String>>) -> Self {
        self.export = Some(name.into().node);
        self
    }

    pub fn condition(mut self, cond: Cond) -> Self {
        self.condition = Some(cond);
        self
    }
}

/// A mapping's entries: top-level key -> second-level key -> value.
pub(crate) type MappingEntries = BTreeMap<String, BTreeMap<String, Node>>;

pub(crate) struct ResourceEntry {
    pub(crate) logical_id: String,
    pub(crate) type_name: &'static str,
    pub(crate) attributes: &'static [&'static str],
    pub(crate) properties: Node,
    pub(crate) attrs: Attributes,
    /// False for a resource declared with [`Template::declare`] and not defined yet.
    pub(crate) defined: bool,
}

pub(crate) struct ParameterEntry {
    pub(crate) logical_id: String,
    pub(crate) def: ParameterDef,
}

/// A CloudFormation template under construction.
///
/// Everything added returns a handle; references are made from handles and resolved to logical IDs
/// when the template is synthesized ([`Template::synth`]), which also validates the whole template
/// and reports every problem at once.
pub struct Template {
    pub(crate) id: TemplateId,
    pub(crate) description: Option<String>,
    pub(crate) metadata: Vec<(String, Node)>,
    pub(crate) parameters: Vec<ParameterEntry>,
    pub(crate) conditions: Vec<(String, Node)>,
    pub(crate) mappings: Vec<(String, MappingEntries)>,
    pub(crate) resources: Vec<ResourceEntry>,
    pub(crate) outputs: Vec<(String, Output)>,
    /// API misuse found while building (reported at synth with everything else).
    pub(crate) misuse: Vec<String>,
}

impl Default for Template {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Template")
            .field("id", &self.id.0)
            .field("parameters", &self.parameters.len())
            .field("resources", &self.resources.len())
            .field("outputs", &self.outputs.len())
            .finish()
    }
}

impl Template {
    pub fn new() -> Self {
        Template {
            id: TemplateId(NEXT_TEMPLATE.fetch_add(1, Ordering::Relaxed)),
            description: None,
            metadata: Vec::new(),
            parameters: Vec::new(),
            conditions: Vec::new(),
            mappings: Vec::new(),
            resources: Vec::new(),
            outputs: Vec::new(),
            misuse: Vec::new(),
        }
    }

    pub fn set_description(&mut self, text: &str) {
        self.description = Some(text.to_owned());
    }

    /// One entry of the template's top-level `Metadata`.
    pub fn add_metadata(&mut self, key: &str, value: impl Into<Val<Json>>) {
        self.metadata.push((key.to_owned(), value.into().node));
    }

    /// Adds a resource and returns its handle.
    pub fn add<R: Resource>(&mut self, logical_id: &str, resource: R) -> Res<R> {
        self.add_with(logical_id, resource, Attributes::new())
    }

    /// Adds a resource with `DependsOn`, `Condition`, policies or `Metadata`.
    pub fn add_with<R: Resource>(&mut self, logical_id: &str, resource: R, attrs: Attributes) -> Res<R> {
        let key = ResKey {
            template: self.id,
            index: self.resources.len(),
        };
        self.resources.push(ResourceEntry {
            logical_id: logical_id.to_owned(),
            type_name: R::TYPE_NAME,
            attributes: R::ATTRIBUTES,
            properties: resource.to_node(),
            attrs,
            defined: true,
        });
        Res {
            key,
            _type: PhantomData,
        }
    }

    /// Declares a resource to define later with [`Template::define`]: its handle exists before its
    /// properties do, for a resource that something added earlier must name (an instance's
    /// `cfn-signal` names its Auto Scaling group, which is added after the launch template). Synth
    /// fails if it is never defined.
    pub fn declare<R: Resource>(&mut self, logical_id: &str) -> Res<R> {
        let key = ResKey {
            template: self.id,
            index: self.resources.len(),
        };
        self.resources.push(ResourceEntry {
            logical_id: logical_id.to_owned(),
            type_name: R::TYPE_NAME,
            attributes: R::ATTRIBUTES,
            properties: Node::Map(Vec::new()),
            attrs: Attributes::new(),
            defined: false,
        });
        Res {
            key,
            _type: PhantomData,
        }
    }

    /// Defines a resource declared with [`Template::declare`]. Defining one twice, or one of another
    /// template, is reported at synth.
    pub fn define<R: Resource>(&mut self, res: Res<R>, resource: R, attrs: Attributes) {
        if res.key.template != self.id {
            self.misuse.push(format!(
                "define: the handle belongs to another template (resource #{})",
                res.key.index
            ));
            return;
        }
        let entry = &mut self.resources[res.key.index];
        if entry.defined {
            self.misuse
                .push(format!("`{}` is defined twice", entry.logical_id));
            return;
        }
        entry.properties = resource.to_node();
        entry.attrs = attrs;
        entry.defined = true;
    }

    /// Adds a parameter and returns its handle.
    pub fn add_parameter<T: ParamType>(&mut self, logical_id: &str, parameter: Parameter<T>) -> Param<T> {
        let key = ParamKey {
            template: self.id,
            index: self.parameters.len(),
        };
        self.parameters.push(ParameterEntry {
            logical_id: logical_id.to_owned(),
            def: parameter.def,
        });
        Param {
            key,
            _type: PhantomData,
        }
    }

    /// Adds a named condition and returns its handle.
    pub fn add_condition(&mut self, logical_id: &str, expr: impl Into<CondExpr>) -> Cond {
        let key = CondKey {
            template: self.id,
            index: self.conditions.len(),
        };
        self.conditions.push((logical_id.to_owned(), expr.into().0));
        Cond(key)
    }

    /// Adds a mapping (`top-level key -> second-level key -> value`) and returns its handle.
    pub fn add_mapping<V: Into<Val<String>>>(
        &mut self,
        logical_id: &str,
        entries: BTreeMap<String, BTreeMap<String, V>>,
    ) -> Mapping {
        let key = MapKey {
            template: self.id,
            index: self.mappings.len(),
        };
        let entries = entries
            .into_iter()
            .map(|(k, inner)| (k, inner.into_iter().map(|(k2, v)| (k2, v.into().node)).collect()))
            .collect();
        self.mappings.push((logical_id.to_owned(), entries));
        Mapping(key)
    }

    pub fn add_output(&mut self, logical_id: &str, output: Output) {
        self.outputs.push((logical_id.to_owned(), output));
    }

    /// The logical ID given to a resource of this template.
    pub fn logical_id<R>(&self, res: Res<R>) -> Option<&str> {
        (res.key.template == self.id).then(|| self.resources[res.key.index].logical_id.as_str())
    }

    /// The logical ID given to a parameter of this template.
    pub fn parameter_id<T>(&self, param: Param<T>) -> Option<&str> {
        (param.key.template == self.id).then(|| self.parameters[param.key.index].logical_id.as_str())
    }

    /// Number of resources added so far.
    pub fn resource_count(&self) -> usize {
        self.resources.len()
    }
}
