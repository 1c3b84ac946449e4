//! The resolved document: logical IDs in place of handles, keys in render order. Both writers
//! (YAML with short-form tags, JSON in long form) start from it.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

#[derive(Clone, Debug, PartialEq)]
pub enum Doc {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Doc>),
    Map(Vec<(String, Doc)>),
    /// An intrinsic function by its long-form key (`Ref`, `Fn::GetAtt`, `Condition`, ...).
    Fn(&'static str, Box<Doc>),
}

impl Doc {
    pub fn func(name: &'static str, arg: Doc) -> Doc {
        Doc::Fn(name, Box::new(arg))
    }

    pub fn str(s: impl Into<String>) -> Doc {
        Doc::Str(s.into())
    }

    /// The long-form JSON value (`{"Ref": ...}`), for rules that read a template as data.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Doc::Null => Value::Null,
            Doc::Bool(b) => Value::Bool(*b),
            Doc::Int(i) => Value::from(*i),
            Doc::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Doc::Str(s) => Value::String(s.clone()),
            Doc::List(items) => Value::Array(items.iter().map(Doc::to_json).collect()),
            Doc::Map(entries) => {
                Value::Object(entries.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Doc::Fn(name, arg) => {
                let mut m = serde_json::Map::new();
                m.insert((*name).to_owned(), arg.to_json());
                Value::Object(m)
            }
        }
    }
}

impl Serialize for Doc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Doc::Null => s.serialize_unit(),
            Doc::Bool(b) => s.serialize_bool(*b),
            Doc::Int(i) => s.serialize_i64(*i),
            Doc::Float(f) => s.serialize_f64(*f),
            Doc::Str(v) => s.serialize_str(v),
            Doc::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            Doc::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Doc::Fn(name, arg) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry(name, arg)?;
                map.end()
            }
        }
    }
}

/// Pretty JSON, two-space indent, trailing newline.
pub fn to_json_text(doc: &Doc) -> String {
    let mut text =
        serde_json::to_string_pretty(doc).unwrap_or_else(|e| unreachable!("a Doc always serializes: {e}"));
    text.push('\n');
    text
}
