//! IAM policy documents as types (`AssumeRolePolicyDocument`, `PolicyDocument`, `KeyPolicy`, bucket
//! policies), so that an ARN in a statement is a typed value and the JSON shape cannot be wrong.

use crate::node::Node;
use crate::val::{Json, Val};

/// `Effect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// Who a resource policy (key policy, bucket policy, trust policy) applies to.
#[derive(Clone, Debug, PartialEq)]
pub enum Principal {
    /// `{"AWS": [...]}`: account roots, roles, users.
    Aws(Vec<Val<String>>),
    /// `{"Service": [...]}`: e.g. `ecs-tasks.amazonaws.com`, or `!Sub logs.${AWS::Region}.amazonaws.com`.
    Service(Vec<Val<String>>),
    /// `"*"`: anyone (combine with a condition).
    Anyone,
}

/// One statement.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct Statement {
    sid: Option<String>,
    effect: Effect,
    principal: Option<Principal>,
    actions: Vec<String>,
    resources: Vec<Val<String>>,
    /// operator -> key -> values
    conditions: Vec<(String, String, Vec<Val<String>>)>,
}

impl Statement {
    pub fn allow() -> Self {
        Self::new(Effect::Allow)
    }

    pub fn deny() -> Self {
        Self::new(Effect::Deny)
    }

    fn new(effect: Effect) -> Self {
        Statement {
            sid: None,
            effect,
            principal: None,
            actions: Vec::new(),
            resources: Vec::new(),
            conditions: Vec::new(),
        }
    }

    /// `Sid`: letters and digits only.
    pub fn sid(mut self, sid: &str) -> Self {
        self.sid = Some(sid.to_owned());
        self
    }

    pub fn principal(mut self, p: Principal) -> Self {
        self.principal = Some(p);
        self
    }

    /// A service principal, e.g. `ec2.amazonaws.com`.
    pub fn service(self, service: &str) -> Self {
        self.principal(Principal::Service(vec![Val::from(service)]))
    }

    pub fn actions<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, actions: I) -> Self {
        self.actions
            .extend(actions.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn resource(mut self, arn: impl Into<Val<String>>) -> Self {
        self.resources.push(arn.into());
        self
    }

    pub fn resources<I: IntoIterator<Item = V>, V: Into<Val<String>>>(mut self, arns: I) -> Self {
        self.resources.extend(arns.into_iter().map(Into::into));
        self
    }

    /// `Condition: {operator: {key: value}}`.
    pub fn condition(mut self, operator: &str, key: &str, value: impl Into<Val<String>>) -> Self {
        self.conditions
            .push((operator.to_owned(), key.to_owned(), vec![value.into()]));
        self
    }

    /// `Condition: {operator: {key: [values]}}`: any of the values.
    pub fn condition_any<I: IntoIterator<Item = V>, V: Into<Val<String>>>(
        mut self,
        operator: &str,
        key: &str,
        values: I,
    ) -> Self {
        self.conditions.push((
            operator.to_owned(),
            key.to_owned(),
            values.into_iter().map(Into::into).collect(),
        ));
        self
    }

    pub fn actions_list(&self) -> &[String] {
        &self.actions
    }

    fn to_node(&self) -> Node {
        let mut m = Vec::new();
        if let Some(sid) = &self.sid {
            m.push(("Sid".to_owned(), Node::Str(sid.clone())));
        }
        let effect = match self.effect {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        };
        m.push(("Effect".to_owned(), Node::Str(effect.to_owned())));
        if let Some(p) = &self.principal {
            let node = match p {
                Principal::Aws(arns) => Node::Map(vec![(
                    "AWS".to_owned(),
                    list(arns.iter().map(|a| a.node.clone()).collect()),
                )]),
                Principal::Service(s) => Node::Map(vec![(
                    "Service".to_owned(),
                    list(s.iter().map(|a| a.node.clone()).collect()),
                )]),
                Principal::Anyone => Node::Str("*".to_owned()),
            };
            m.push(("Principal".to_owned(), node));
        }
        m.push((
            "Action".to_owned(),
            list(self.actions.iter().cloned().map(Node::Str).collect()),
        ));
        if !self.resources.is_empty() {
            m.push((
                "Resource".to_owned(),
                list(self.resources.iter().map(|r| r.node.clone()).collect()),
            ));
        }
        if !self.conditions.is_empty() {
            let mut ops: Vec<(String, Node)> = Vec::new();
            for (op, key, values) in &self.conditions {
                let value = list(values.iter().map(|v| v.node.clone()).collect());
                match ops.iter_mut().find(|(o, _)| o == op) {
                    Some((_, Node::Map(keys))) => keys.push((key.clone(), value)),
                    _ => ops.push((op.clone(), Node::Map(vec![(key.clone(), value)]))),
                }
            }
            m.push(("Condition".to_owned(), Node::Map(ops)));
        }
        Node::Map(m)
    }
}

/// One value alone, several as a list.
fn list(mut items: Vec<Node>) -> Node {
    if items.len() == 1 {
        items.remove(0)
    } else {
        Node::List(items)
    }
}

/// A policy document (`Version: 2012-10-17`).
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use]
pub struct PolicyDocument {
    statements: Vec<Statement>,
    /// Statements present only when a condition holds (`Fn::If` with `AWS::NoValue`).
    conditional: Vec<(usize, crate::Cond)>,
}

impl PolicyDocument {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn statement(mut self, s: Statement) -> Self {
        self.statements.push(s);
        self
    }

    /// Several statements, in order (none: the document is unchanged).
    pub fn extend_statements(mut self, statements: impl IntoIterator<Item = Statement>) -> Self {
        self.statements.extend(statements);
        self
    }

    /// A statement that is present only when `cond` holds.
    pub fn statement_if(mut self, cond: crate::Cond, s: Statement) -> Self {
        self.conditional.push((self.statements.len(), cond));
        self.statements.push(s);
        self
    }

    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }
}

impl From<PolicyDocument> for Val<Json> {
    fn from(doc: PolicyDocument) -> Self {
        Val::new(Node::Map(vec![
            ("Version".to_owned(), Node::Str("2012-10-17".to_owned())),
            (
                "Statement".to_owned(),
                Node::List(
                    doc.statements
                        .iter()
                        .enumerate()
                        .map(|(i, s)| match doc.conditional.iter().find(|(j, _)| *j == i) {
                            Some((_, cond)) => Node::If(
                                cond.0,
                                Box::new(s.to_node()),
                                Box::new(Node::Ref(crate::node::Target::Pseudo(
                                    crate::node::Pseudo::NoValue,
                                ))),
                            ),
                            None => s.to_node(),
                        })
                        .collect(),
                ),
            ),
        ]))
    }
}
