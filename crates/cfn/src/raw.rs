//! Reading CloudFormation templates as data: YAML (short-form tags included) or JSON, into the
//! long-form JSON value (`{"Ref": ...}`, `{"Fn::GetAtt": [...]}`) that rules and tools work on.
//!
//! Any input is answered, never with a panic: a mapping, or a [`ParseError`] with the line and
//! column of its cause (a duplicated key at the duplicate, an unknown tag at the tag) and a message
//! that names the bad value and what was expected. What one input may cost is bounded: at most
//! [`MAX_BYTES`] bytes, at most [`MAX_VALUES`] values once YAML aliases are expanded (so "billion
//! laughs" is refused), and the nesting depth of serde_norway and serde_json (128).

use std::cell::Cell;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use serde_json::{Map, Value};

/// The largest file read, in bytes: twice CloudFormation's own limit (1 MB, for a template in S3),
/// so that a hostile file cannot make the reader hold much more than it.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;

/// The most values (scalars, sequences, mappings, keys) a template may hold once YAML aliases are
/// expanded: cfn-lint's bound. A 1 MB template holds fewer; "billion laughs" (aliases of aliases)
/// would hold 10^9.
pub const MAX_VALUES: usize = 250_000;

/// Why a template could not be read; `line` and `column` are 1-based and always given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ParseError {
    fn at(line: usize, column: usize, message: impl Into<String>) -> Self {
        ParseError {
            line,
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} column {}: {}", self.line, self.column, self.message)
    }
}

/// The short-form tags CloudFormation's YAML understands: `!Ref`, `!Condition` and `!X` for every
/// `Fn::X` (intrinsic, condition and rule functions).
const TAGS: &[&str] = &[
    "And",
    "Base64",
    "Cidr",
    "Condition",
    "Contains",
    "EachMemberEquals",
    "EachMemberIn",
    "Equals",
    "FindInMap",
    "ForEach",
    "GetAZs",
    "GetAtt",
    "GetStackOutput",
    "If",
    "ImportValue",
    "Join",
    "Length",
    "Not",
    "Or",
    "Ref",
    "RefAll",
    "Select",
    "Split",
    "Sub",
    "ToJsonString",
    "Transform",
    "ValueOf",
    "ValueOfAll",
];

/// Parses a template from a file's bytes: UTF-8 (a byte-order mark is skipped), then as
/// [`parse_template`].
pub fn parse_template_bytes(bytes: &[u8]) -> Result<Value, ParseError> {
    too_large(bytes.len())?;
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let valid = std::str::from_utf8(valid).unwrap_or_default();
        let (line, column) = line_column(valid, valid.len());
        ParseError::at(
            line,
            column,
            format!(
                "byte 0x{:02x} is not UTF-8: expected a text file (a template in YAML or JSON)",
                bytes[e.valid_up_to()]
            ),
        )
    })?;
    parse_template(text)
}

/// Parses a template: JSON when it starts with `{` (YAML when it is not JSON), YAML otherwise.
/// Duplicate keys are errors; YAML aliases and merge keys (`<<`) are expanded, within
/// [`MAX_VALUES`]. The result is a mapping.
pub fn parse_template(text: &str) -> Result<Value, ParseError> {
    too_large(text.len())?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value = if text.trim_start().starts_with('{') {
        match parse_json(text) {
            Ok(v) => v,
            // YAML's flow mappings are a superset of JSON's objects (`{a: 1}`); cfn-lint reads them.
            Err(json_error) => parse_yaml(text).map_err(|_| json_error)?,
        }
    } else {
        parse_yaml(text)?
    };
    if value.is_object() {
        return Ok(value);
    }
    let (line, column) = first_content(text);
    let found = match &value {
        Value::Null => "an empty document",
        other => kind(other),
    };
    Err(ParseError::at(
        line,
        column,
        format!("found {found}: expected a mapping of template sections (Resources, Parameters, ...)"),
    ))
}

fn too_large(len: usize) -> Result<(), ParseError> {
    if len > MAX_BYTES {
        return Err(ParseError::at(
            1,
            1,
            format!(
                "the file has {len} bytes: expected at most {MAX_BYTES} (CloudFormation takes templates up to 1 MB)"
            ),
        ));
    }
    Ok(())
}

fn parse_json(text: &str) -> Result<Value, ParseError> {
    let budget = Cell::new(MAX_VALUES);
    let mut de = serde_json::Deserializer::from_str(text);
    let at = |e: serde_json::Error| {
        let message = strip_position(&e.to_string());
        let (line, mut column) = (e.line().max(1), e.column().max(1));
        // serde_json is past a duplicated key when it reports it: point at the key's opening quote.
        if let Some(key) = message.strip_prefix("duplicate entry with key ")
            && let Some(l) = text.lines().nth(line - 1)
        {
            let end = l.char_indices().nth(column).map_or(l.len(), |(i, _)| i);
            if let Some(i) = l[..end].rfind(key) {
                column = l[..i].chars().count() + 1;
            }
        }
        ParseError::at(line, column, message)
    };
    let value = Node::new(&budget, false).deserialize(&mut de).map_err(at)?;
    de.end().map_err(at)?;
    Ok(value)
}

fn parse_yaml(text: &str) -> Result<Value, ParseError> {
    let budget = Cell::new(MAX_VALUES);
    let de = serde_norway::Deserializer::from_str(text);
    Node::new(&budget, true).deserialize(de).map_err(|e| {
        let message = strip_position(&e.to_string());
        match e.location() {
            Some(l) => {
                let (line, column) = inside(text, l.line(), l.column());
                ParseError::at(line, column, message)
            }
            None => unplaced(text, &message),
        }
    })
}

/// libyaml's position, kept inside the text: the end of a file without a final line break is
/// reported on the line after the last one; there, the end of the last line.
fn inside(text: &str, line: usize, column: usize) -> (usize, usize) {
    // YAML's line breaks: LF, CRLF, CR, NEL, LS, PS.
    let unified = text.replace("\r\n", "\n");
    let lines: Vec<&str> = unified
        .split(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
        .collect();
    match lines.get(line.wrapping_sub(1)) {
        Some(_) => (line, column),
        None => {
            let last = lines.last().map_or(0, |l| l.chars().count());
            (lines.len().max(1), last + 1)
        }
    }
}

/// An error serde_norway gives without a position: placed where its cause is.
fn unplaced(text: &str, message: &str) -> ParseError {
    if message.contains("more than one document") {
        let (line, column) = second_document(text).unwrap_or((1, 1));
        return ParseError::at(
            line,
            column,
            "a second YAML document starts here: expected one template per file (more than one document is not supported)",
        );
    }
    if message.contains("repetition limit") {
        let (line, column) = first_alias(text).unwrap_or((1, 1));
        return ParseError::at(
            line,
            column,
            format!(
                "aliases expand the template without bound (more than 100 alias expansions per YAML event): \
                 expected at most {MAX_VALUES} values; CloudFormation itself takes no aliases"
            ),
        );
    }
    let (line, column) = first_content(text);
    ParseError::at(line, column, message)
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// Where the first line that is neither blank nor a comment starts (1:1 when there is none).
fn first_content(text: &str) -> (usize, usize) {
    text.lines()
        .enumerate()
        .find_map(|(i, l)| {
            let t = l.trim_start();
            (!t.is_empty() && !t.starts_with('#')).then(|| (i + 1, l.len() - t.len() + 1))
        })
        .unwrap_or((1, 1))
}

/// The line of the marker that starts a second document: a `---` after content, or content after
/// a `...`.
fn second_document(text: &str) -> Option<(usize, usize)> {
    let mut content = false;
    let mut ended = false;
    for (i, l) in text.lines().enumerate() {
        let t = l.trim_end();
        let marker = |m: &str| t == m || t.starts_with(&format!("{m} ")) || t.starts_with(&format!("{m}\t"));
        if marker("---") {
            if content || ended {
                return Some((i + 1, 1));
            }
            content = true;
            continue;
        }
        if marker("...") {
            ended = true;
            continue;
        }
        let trimmed = t.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || (!content && trimmed.starts_with('%')) {
            continue;
        }
        if ended {
            return Some((i + 1, 1));
        }
        content = true;
    }
    None
}

/// The first alias (`*name` after a space, `[`, `{`, `,` or at the start of a line), outside comments.
fn first_alias(text: &str) -> Option<(usize, usize)> {
    for (i, l) in text.lines().enumerate() {
        let code = l.split(" #").next().unwrap_or_default();
        let mut prev = ' ';
        for (col, c) in code.chars().enumerate() {
            if c == '#' && prev == ' ' {
                break;
            }
            if c == '*' && matches!(prev, ' ' | '\t' | '[' | '{' | ',') {
                return Some((i + 1, col + 1));
            }
            prev = c;
        }
    }
    None
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

/// serde's and libyaml's messages carry the position ("at line X column Y", "at position N"): it is
/// reported separately.
fn strip_position(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    loop {
        let cut = [" at line ", " at position "]
            .iter()
            .filter_map(|p| rest.find(p).map(|i| (i, *p)))
            .min();
        let Some((i, p)) = cut else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..i]);
        let after = &rest[i + p.len()..];
        let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let mut n = digits(after);
        if n > 0 && p == " at line " {
            match after[n..].strip_prefix(" column ") {
                Some(col) if digits(col) > 0 => n += " column ".len() + digits(col),
                _ => n = 0,
            }
        }
        if n == 0 {
            // Not a position after all: keep the text.
            out.push_str(p);
        }
        rest = &after[n..];
    }
}

/// One value of the template, read from YAML events or JSON tokens: short-form tags become their
/// long form, keys are checked for duplicates where they are read (so that serde_norway and
/// serde_json give the error the key's position), and every value is counted against the budget.
#[derive(Clone, Copy)]
struct Node<'b> {
    budget: &'b Cell<usize>,
    yaml: bool,
    /// Under YAML's non-specific tag (`! x`): a scalar is a string, whatever it looks like.
    non_specific: bool,
}

impl<'b> Node<'b> {
    fn new(budget: &'b Cell<usize>, yaml: bool) -> Self {
        Node {
            budget,
            yaml,
            non_specific: false,
        }
    }

    fn child(self) -> Self {
        Node {
            non_specific: false,
            ..self
        }
    }

    fn count<E: de::Error>(&self) -> Result<(), E> {
        match self.budget.get().checked_sub(1) {
            Some(left) => {
                self.budget.set(left);
                Ok(())
            }
            None => Err(E::custom(format!(
                "the template holds more than {MAX_VALUES} values{}: expected fewer (CloudFormation takes templates up to 1 MB)",
                if self.yaml {
                    " once its aliases are expanded (an alias bomb?)"
                } else {
                    ""
                }
            ))),
        }
    }

    fn scalar<E: de::Error>(&self, v: Value) -> Result<Value, E> {
        self.count()?;
        Ok(match v {
            Value::String(_) => v,
            Value::Null if self.non_specific => Value::String(String::new()),
            Value::Bool(_) | Value::Number(_) if self.non_specific => Value::String(v.to_string()),
            other => other,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a template value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.scalar(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.scalar(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.scalar(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // JSON has no infinity or NaN (YAML's `.inf`, `.nan`): kept as their text.
        self.scalar(
            serde_json::Number::from_f64(v).map_or_else(|| Value::String(v.to_string()), Value::Number),
        )
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.scalar(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.scalar(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.scalar(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.scalar(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.count()?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self.child())? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.count()?;
        let mut out = Map::new();
        let mut merges = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed {
            node: self.child(),
            seen: &out,
        })? {
            let value = map.next_value_seed(self.child())?;
            match key {
                Key::Merge => merges.push(value),
                Key::Plain(k) => {
                    out.insert(k, value);
                }
            }
        }
        // YAML's merge keys, as cfn-lint reads them: the mapping's own keys win, then the merged
        // mappings in their order.
        for merged in merges {
            let sources = match merged {
                Value::Object(m) => vec![m],
                Value::Array(items) if items.iter().all(Value::is_object) => items
                    .into_iter()
                    .filter_map(|v| match v {
                        Value::Object(m) => Some(m),
                        _ => None,
                    })
                    .collect(),
                other => {
                    return Err(de::Error::custom(format!(
                        "the merge key `<<` has {}: expected a mapping or a list of mappings (an alias such as `<<: *defaults`)",
                        kind(&other)
                    )));
                }
            };
            for source in sources {
                for (k, v) in source {
                    out.entry(k).or_insert(v);
                }
            }
        }
        Ok(Value::Object(out))
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (tag, content): (String, _) = data.variant()?;
        if tag == "!" {
            return content.newtype_variant_seed(Node {
                non_specific: true,
                ..self
            });
        }
        let Some(key) = function_key(&tag) else {
            return Err(de::Error::custom(unknown_tag(&tag)));
        };
        self.count()?;
        let arg = content.newtype_variant_seed(self.child())?;
        let arg = match (key.as_str(), arg) {
            ("Fn::GetAtt", Value::String(s)) => match s.split_once('.') {
                Some((a, b)) => Value::Array(vec![Value::String(a.to_owned()), Value::String(b.to_owned())]),
                None => Value::String(s),
            },
            (_, arg) => arg,
        };
        let mut m = Map::new();
        m.insert(key, arg);
        Ok(Value::Object(m))
    }
}

/// The long-form key of a short-form tag (`Ref` → `Ref`, `Sub` → `Fn::Sub`), when CloudFormation
/// knows it, or when it is another tool's namespaced tag: `!Rain::Embed` is `Rain::Embed`, the key
/// that tool writes in JSON (cfn-lint reads any tag, as `Fn::Rain::Embed`).
fn function_key(tag: &str) -> Option<String> {
    let tag = tag.strip_prefix('!').unwrap_or(tag);
    match tag {
        "Ref" | "Condition" => Some(tag.to_owned()),
        _ if TAGS.contains(&tag) => Some(format!("Fn::{tag}")),
        _ if is_namespaced(tag) => Some(tag.to_owned()),
        _ => None,
    }
}

/// `Tool::Name`: identifiers joined by `::`.
fn is_namespaced(tag: &str) -> bool {
    let parts: Vec<&str> = tag.split("::").collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            p.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

fn unknown_tag(tag: &str) -> String {
    format!(
        "unknown tag `!{}`: expected a CloudFormation function (!{}) or a tool's namespaced tag (!Rain::Embed)",
        tag.strip_prefix('!').unwrap_or(tag),
        TAGS.join(", !")
    )
}

/// What a value is, in words.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

/// A mapping key, as read.
enum Key {
    Plain(String),
    /// YAML's `<<`.
    Merge,
}

/// Reads a mapping key: a string (a number or boolean is taken as its text), never seen before in
/// its mapping.
struct KeySeed<'a, 'b> {
    node: Node<'b>,
    seen: &'a Map<String, Value>,
}

impl KeySeed<'_, '_> {
    fn key<E: de::Error>(self, k: String) -> Result<Key, E> {
        self.node.count()?;
        if self.node.yaml && k == "<<" {
            return Ok(Key::Merge);
        }
        if self.seen.contains_key(&k) {
            return Err(E::custom(format!(
                "duplicate entry with key {}",
                Value::String(k)
            )));
        }
        Ok(Key::Plain(k))
    }

    fn not_a_string<E: de::Error>(what: &str) -> E {
        E::custom(format!("{what} as a mapping key: expected a string"))
    }
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_> {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, '_> {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string (a mapping key)")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
        self.key(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
        self.key(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
        self.key(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
        self.key(v.to_string())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        self.key(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Key, E> {
        self.key(v)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
        Err(Self::not_a_string("an empty (null) value"))
    }
    fn visit_none<E: de::Error>(self) -> Result<Key, E> {
        Err(Self::not_a_string("an empty (null) value"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Key, A::Error> {
        Err(Self::not_a_string("a sequence"))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Key, A::Error> {
        Err(Self::not_a_string("a mapping"))
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Key, A::Error> {
        let (tag, content): (String, _) = data.variant()?;
        if tag == "!" {
            // `! "Ref": X`: the non-specific tag leaves the key a string.
            return content.newtype_variant_seed(self);
        }
        let arg = content.newtype_variant_seed(self.node)?;
        let shown = match &arg {
            Value::String(s) => format!("!{tag} {s}"),
            other => format!("!{tag} {other}"),
        };
        Err(Self::not_a_string(&format!("a function (`{shown}`)")))
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
        assert_eq!((e.line, e.column), (3, 3), "{e}");
        assert!(e.message.contains("duplicate"), "{e}");
        let e = parse_template("{\n  \"A\": 1,\n  \"A\": 2\n}").unwrap_err();
        assert_eq!((e.line, e.column), (3, 3), "{e}");
        assert!(e.message.contains("duplicate entry with key \"A\""), "{e}");
    }

    #[test]
    fn unknown_tags_are_named() {
        let e = parse_template("A: !Reff X\n").unwrap_err();
        assert!(e.message.contains("!Reff"), "{e}");
    }
}
