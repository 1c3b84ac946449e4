//! Reading CloudFormation templates as data: YAML (short-form tags included) or JSON, into the
//! long-form JSON value (`{"Ref": ...}`, `{"Fn::GetAtt": [...]}`) that rules and tools work on.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Why a template could not be read; `line` and `column` are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l} column {c}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// The short-form tags CloudFormation's YAML understands.
const TAGS: &[&str] = &[
    "And",
    "Base64",
    "Cidr",
    "Condition",
    "Equals",
    "FindInMap",
    "ForEach",
    "GetAZs",
    "GetAtt",
    "If",
    "ImportValue",
    "Join",
    "Length",
    "Not",
    "Or",
    "Ref",
    "Select",
    "Split",
    "Sub",
    "ToJsonString",
    "Transform",
];

/// Parses a template: JSON when it starts with `{`, YAML otherwise. Duplicate keys are errors.
pub fn parse_template(text: &str) -> Result<serde_json::Value, ParseError> {
    if text.trim_start().starts_with('{') {
        let mut de = serde_json::Deserializer::from_str(text);
        let value = Strict::deserialize(&mut de).map_err(|e| ParseError {
            line: Some(e.line()),
            column: Some(e.column()),
            message: strip_position(&e.to_string()),
        })?;
        de.end().map_err(|e| ParseError {
            line: Some(e.line()),
            column: Some(e.column()),
            message: strip_position(&e.to_string()),
        })?;
        return Ok(value.0);
    }
    let value: serde_norway::Value = serde_norway::from_str(text).map_err(|e| {
        let loc = e.location();
        let mut err = ParseError {
            line: loc.as_ref().map(|l| l.line()),
            column: loc.as_ref().map(|l| l.column()),
            message: strip_position(&e.to_string()),
        };
        if let (Some(line), Some(column)) = (err.line, err.column)
            && let Some(found) = duplicate_line(text, &err.message, line, column)
        {
            err.line = Some(found);
        }
        err
    })?;
    yaml_to_json(value)
}

/// serde_norway reports a duplicated key at the start of its mapping (`line`, `column`). When
/// `message` is such an error ("duplicate entry with key \"X\"" from a map, "duplicate field `X`" from
/// a struct), the line of the duplicate itself, in a block mapping.
pub fn duplicate_line(text: &str, message: &str, line: usize, column: usize) -> Option<usize> {
    let key = if let Some(rest) = message.split("duplicate entry with key ").nth(1) {
        serde_json::from_str::<String>(rest.trim()).ok()?
    } else {
        let rest = message.split("duplicate field `").nth(1)?;
        rest.split('`').next()?.to_owned()
    };
    find_duplicate(text, line, column, &key)
}

/// In a block mapping whose first key is at (`line`, `column`), the line of the second `key:`.
fn find_duplicate(text: &str, line: usize, column: usize, key: &str) -> Option<usize> {
    let indent = column.checked_sub(1)?;
    let mut seen = false;
    for (i, l) in text.lines().enumerate().skip(line - 1) {
        let trimmed = l.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let this_indent = l.len() - trimmed.len();
        if this_indent < indent {
            break;
        }
        if this_indent > indent {
            continue;
        }
        let k = trimmed
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches(|c| c == '"' || c == '\'');
        if k == key {
            if seen {
                return Some(i + 1);
            }
            seen = true;
        }
    }
    None
}

/// serde's messages end with "at line X column Y"; the position is reported separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn yaml_to_json(v: serde_norway::Value) -> Result<serde_json::Value, ParseError> {
    use serde_json::Value as J;
    use serde_norway::Value as Y;
    Ok(match v {
        Y::Null => J::Null,
        Y::Bool(b) => J::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                J::from(i)
            } else if let Some(u) = n.as_u64() {
                J::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(J::Null, J::Number)
            }
        }
        Y::String(s) => J::String(s),
        Y::Sequence(items) => J::Array(items.into_iter().map(yaml_to_json).collect::<Result<_, _>>()?),
        Y::Mapping(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    Y::Null => "null".to_owned(),
                    other => {
                        return Err(ParseError {
                            line: None,
                            column: None,
                            message: format!("unsupported mapping key {other:?}: keys must be strings"),
                        });
                    }
                };
                out.insert(key, yaml_to_json(v)?);
            }
            J::Object(out)
        }
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            if !TAGS.contains(&name) {
                return Err(ParseError {
                    line: None,
                    column: None,
                    message: format!(
                        "unknown tag `!{name}`; CloudFormation knows !{}",
                        TAGS.join(", !")
                    ),
                });
            }
            let arg = yaml_to_json(t.value)?;
            let (key, arg) = match name {
                "Ref" => ("Ref".to_owned(), arg),
                "Condition" => ("Condition".to_owned(), arg),
                "GetAtt" => {
                    let arg = match arg {
                        J::String(s) => match s.split_once('.') {
                            Some((a, b)) => J::Array(vec![J::String(a.to_owned()), J::String(b.to_owned())]),
                            None => J::String(s),
                        },
                        other => other,
                    };
                    ("Fn::GetAtt".to_owned(), arg)
                }
                other => (format!("Fn::{other}"), arg),
            };
            let mut m = serde_json::Map::new();
            m.insert(key, arg);
            J::Object(m)
        }
    })
}

/// A JSON value that refuses duplicate keys (serde_json keeps the last one silently).
struct Strict(serde_json::Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(serde_json::Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(serde_json::Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_template;
    use serde_json::json;

    #[test]
    fn short_form_tags_become_long_form() {
        let v = parse_template(
            "A: !Ref X\nB: !GetAtt Alb.DNSName\nC: !Sub 'x${Y}'\nD:\n  Fn::Base64: !Sub z\nE: !If [C, !Ref AWS::NoValue, 1]\n",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({
                "A": {"Ref": "X"},
                "B": {"Fn::GetAtt": ["Alb", "DNSName"]},
                "C": {"Fn::Sub": "x${Y}"},
                "D": {"Fn::Base64": {"Fn::Sub": "z"}},
                "E": {"Fn::If": ["C", {"Ref": "AWS::NoValue"}, 1]},
            })
        );
    }

    #[test]
    fn duplicate_keys_are_errors_with_their_position() {
        let e = parse_template("Resources:\n  A: 1\n  A: 2\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(3), Some(3)), "{e}");
        assert!(e.message.contains("duplicate"), "{e}");
        let e = parse_template("{\n  \"A\": 1,\n  \"A\": 2\n}").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("duplicate key `A`"), "{e}");
    }

    #[test]
    fn unknown_tags_are_named() {
        let e = parse_template("A: !Reff X\n").unwrap_err();
        assert!(e.message.contains("!Reff"), "{e}");
    }
}
