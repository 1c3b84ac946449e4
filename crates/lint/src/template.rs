//! Reading a long-form template: resources by type, references between them, literal values.

use serde_json::Value;

/// A template as the rules see it.
pub struct Template<'a> {
    root: &'a Value,
}

impl<'a> Template<'a> {
    pub fn new(root: &'a Value) -> Self {
        Template { root }
    }

    /// Every resource: (logical ID, definition), in the template's order.
    pub fn resources(&self) -> Vec<(&'a str, &'a Value)> {
        self.root["Resources"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default()
    }

    /// The resources of one type.
    pub fn of_type(&self, ty: &str) -> Vec<(&'a str, &'a Value)> {
        self.resources()
            .into_iter()
            .filter(|(_, r)| r["Type"] == ty)
            .collect()
    }

    pub fn resource(&self, id: &str) -> Option<&'a Value> {
        self.root["Resources"].get(id)
    }

    pub fn type_of(&self, id: &str) -> Option<&'a str> {
        self.resource(id)?["Type"].as_str()
    }

    pub fn parameter(&self, id: &str) -> Option<&'a Value> {
        self.root["Parameters"].get(id)
    }

    /// The entries of a resource's `Metadata.berth-lint`.
    pub fn suppressions(&self, id: &str) -> Vec<&'a Value> {
        self.resource(id)
            .and_then(|r| r["Metadata"][crate::SUPPRESS_KEY].as_array())
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    }

    /// The resource a value refers to (`Ref` or `Fn::GetAtt`), when it is one of this template's.
    pub fn referenced(&self, v: &Value) -> Option<&'a str> {
        let id = ref_id(v).or_else(|| getatt(v).map(|(id, _)| id))?;
        self.root["Resources"]
            .as_object()?
            .get_key_value(id)
            .map(|(k, _)| k.as_str())
    }

    /// Every resource a value refers to anywhere inside it (`Ref`, `Fn::GetAtt`, `Fn::Sub` variables,
    /// through `Fn::If` branches and the like).
    pub fn references_in(&self, v: &Value) -> Vec<&'a str> {
        let mut out = Vec::new();
        references(v, &mut |name| {
            if let Some((k, _)) = self.root["Resources"]
                .as_object()
                .and_then(|r| r.get_key_value(name))
                && !out.contains(&k.as_str())
            {
                out.push(k.as_str());
            }
        });
        out
    }
}

/// `{"Ref": X}`: X.
pub fn ref_id(v: &Value) -> Option<&str> {
    let m = v.as_object()?;
    if m.len() != 1 {
        return None;
    }
    m.get("Ref")?.as_str()
}

/// `{"Fn::GetAtt": [X, Attr]}` or `{"Fn::GetAtt": "X.Attr"}`: (X, Attr).
pub fn getatt(v: &Value) -> Option<(&str, &str)> {
    match v.as_object()?.get("Fn::GetAtt")? {
        Value::Array(a) => Some((a.first()?.as_str()?, a.get(1)?.as_str()?)),
        Value::String(s) => s.split_once('.'),
        _ => None,
    }
}

/// A literal integer (a number, or a string of digits, as CloudFormation accepts both).
pub fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A literal string.
pub fn string(v: &Value) -> Option<&str> {
    v.as_str()
}

/// Calls `found` with every name a value refers to: `Ref`, `Fn::GetAtt`, `${Name}` and `${Name.Attr}`
/// in `Fn::Sub` text (not `${!Literal}`), and `DependsOn`-style plain names are not included.
pub fn references(v: &Value, found: &mut impl FnMut(&str)) {
    match v {
        Value::Object(m) => {
            if let Some(id) = ref_id(v) {
                found(id);
                return;
            }
            if let Some((id, _)) = getatt(v) {
                found(id);
                return;
            }
            if let Some(sub) = m.get("Fn::Sub") {
                let (text, vars) = match sub {
                    Value::String(s) => (s.as_str(), None),
                    Value::Array(a) => (a.first().and_then(Value::as_str).unwrap_or_default(), a.get(1)),
                    _ => ("", None),
                };
                let local: Vec<&str> = vars
                    .and_then(Value::as_object)
                    .map(|o| o.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                for name in sub_variables(text) {
                    let base = name.split('.').next().unwrap_or_default();
                    if !local.contains(&base) {
                        found(base);
                    }
                }
                if let Some(vars) = vars {
                    references(vars, found);
                }
                return;
            }
            for x in m.values() {
                references(x, found);
            }
        }
        Value::Array(a) => {
            for x in a {
                references(x, found);
            }
        }
        _ => {}
    }
}

/// The `${...}` variables of `Fn::Sub` text (without `${!...}` literals and pseudo parameters).
pub fn sub_variables(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.starts_with('!') && !name.starts_with("AWS::") {
            out.push(name);
        }
        rest = &after[end + 1..];
    }
    out
}

/// Every string inside a value (keys excluded), e.g. to search UserData for a command.
pub fn strings(v: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(v, &mut out);
    out
}

/// A value as a list: an array's items, or the value itself.
pub fn items(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// The statements of a policy document.
pub fn statements(doc: &Value) -> Vec<&Value> {
    items(&doc["Statement"])
}

/// A statement's actions (or `NotAction`'s), as literal strings where they are literal.
pub fn actions(statement: &Value) -> Vec<&str> {
    items(&statement["Action"])
        .into_iter()
        .filter_map(Value::as_str)
        .collect()
}
