//! The YAML writer.
//!
//! `serde_norway` (used to *read* YAML everywhere in berth) writes YAML 1.2 scalars: `2010-09-09`,
//! `yes` and `on` come out bare, and CloudFormation and cfn-lint read YAML 1.1, where those are a date
//! and booleans. It also cannot write a tag on a tag. This writer quotes every scalar that either
//! version could read as something other than a string, uses short-form tags (`!Ref`, `!GetAtt A.B`,
//! `!Sub`) and falls back to the long form (`Fn::Base64: !Sub ...`) where a tag would sit on a tag.
//! Its output is read back with `serde_norway` and PyYAML in the tests.

use std::fmt::Write as _;

use crate::doc::Doc;

const INDENT: usize = 2;

pub fn to_yaml(doc: &Doc) -> String {
    let mut out = String::new();
    match doc {
        Doc::Map(entries) if !entries.is_empty() => write_entries(&mut out, entries, 0),
        other => {
            write_value(&mut out, other, 0);
        }
    }
    out
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Writes `key: value` lines at `indent`.
fn write_entries(out: &mut String, entries: &[(String, Doc)], indent: usize) {
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push_str(&scalar_key(k));
        out.push(':');
        write_after_indicator(out, v, indent);
    }
}

/// Writes a value that follows `key:` or `- ` (the cursor is right after the indicator); `indent`
/// is the indentation of the key or dash.
fn write_after_indicator(out: &mut String, v: &Doc, indent: usize) {
    match v {
        Doc::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            pad(out, indent + INDENT);
            write_entries(out, entries, indent + INDENT);
        }
        Doc::List(items) if !items.is_empty() => {
            out.push('\n');
            write_items(out, items, indent + INDENT);
        }
        Doc::Fn(name, arg) => write_function(out, name, arg, indent),
        other => {
            out.push(' ');
            write_value(out, other, indent);
        }
    }
}

/// Writes `- item` lines, each dash at `indent`.
fn write_items(out: &mut String, items: &[Doc], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push('-');
        match item {
            Doc::Map(entries) if !entries.is_empty() => {
                out.push(' ');
                write_entries(out, entries, indent + INDENT);
            }
            Doc::List(inner) if !inner.is_empty() => {
                out.push(' ');
                // A nested sequence starts on the dash's line: `- - a`.
                let mut first = true;
                for x in inner {
                    if !first {
                        pad(out, indent + INDENT);
                    }
                    first = false;
                    out.push('-');
                    write_after_indicator(out, x, indent + INDENT);
                }
            }
            // A tag on a tag: the long form, as a one-entry mapping on the dash's line.
            Doc::Fn(name, arg) if matches!(**arg, Doc::Fn(..)) => {
                out.push(' ');
                out.push_str(&scalar_key(name));
                out.push(':');
                write_after_indicator(out, arg, indent + INDENT);
            }
            other => write_after_indicator(out, other, indent),
        }
    }
}

fn short_tag(name: &str) -> &str {
    name.strip_prefix("Fn::").unwrap_or(name)
}

/// Writes an intrinsic after an indicator: short form (`!Tag arg`) unless the argument is itself an
/// intrinsic, which YAML cannot tag twice: then the long form (`\n Fn::X: !Inner ...`).
fn write_function(out: &mut String, name: &str, arg: &Doc, indent: usize) {
    if name == "Fn::GetAtt"
        && let Doc::List(parts) = arg
        && let [Doc::Str(res), Doc::Str(attr)] = parts.as_slice()
    {
        let dotted = format!("{res}.{attr}");
        out.push_str(" !GetAtt ");
        out.push_str(&scalar(&dotted, indent));
        out.push('\n');
        return;
    }
    if matches!(arg, Doc::Fn(..)) {
        out.push('\n');
        pad(out, indent + INDENT);
        out.push_str(&scalar_key(name));
        out.push(':');
        write_after_indicator(out, arg, indent + INDENT);
        return;
    }
    out.push_str(" !");
    out.push_str(short_tag(name));
    match arg {
        Doc::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            pad(out, indent + INDENT);
            write_entries(out, entries, indent + INDENT);
        }
        Doc::List(items) if !items.is_empty() => {
            out.push('\n');
            write_items(out, items, indent + INDENT);
        }
        other => {
            out.push(' ');
            write_value(out, other, indent);
        }
    }
}

/// Writes a scalar or empty collection and the line end.
fn write_value(out: &mut String, v: &Doc, indent: usize) {
    match v {
        Doc::Null => out.push_str("null\n"),
        Doc::Bool(b) => {
            let _ = writeln!(out, "{b}");
        }
        Doc::Int(i) => {
            let _ = writeln!(out, "{i}");
        }
        Doc::Float(f) => {
            out.push_str(&float(*f));
            out.push('\n');
        }
        Doc::Str(s) => {
            if let Some(block) = literal_block(s, indent + INDENT) {
                out.push_str(&block);
            } else {
                out.push_str(&scalar(s, indent));
                out.push('\n');
            }
        }
        Doc::List(_) => out.push_str("[]\n"),
        Doc::Map(_) => out.push_str("{}\n"),
        Doc::Fn(name, arg) => {
            // Only reached for a document whose root is a function.
            out.push_str(&scalar_key(name));
            out.push(':');
            write_after_indicator(out, arg, indent);
        }
    }
}

fn float(f: f64) -> String {
    let s = format!("{f}");
    if s.contains(['.', 'e', 'E']) || !f.is_finite() {
        s
    } else {
        format!("{s}.0")
    }
}

/// A multi-line string as a literal block (`|`, `|-` or `|+`), when it can be one.
fn literal_block(s: &str, content_indent: usize) -> Option<String> {
    if !s.contains('\n') {
        return None;
    }
    let blockable = s.chars().all(|c| c == '\n' || c == '\t' || !c.is_control())
        && !s.starts_with([' ', '\n'])
        && !s.contains(['\u{feff}', '\u{85}', '\u{2028}', '\u{2029}']);
    if !blockable {
        return None;
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let mut out = format!("|{chomp}\n");
    for line in body.split('\n') {
        if !line.is_empty() {
            pad(&mut out, content_indent);
            out.push_str(line);
        }
        out.push('\n');
    }
    for _ in 1..trailing {
        out.push('\n');
    }
    Some(out)
}

fn scalar_key(s: &str) -> String {
    if plain_safe(s) { s.to_owned() } else { quoted(s) }
}

/// A single-line scalar: plain when no YAML 1.1 or 1.2 reader could take it for anything but this
/// string, quoted otherwise.
fn scalar(s: &str, _indent: usize) -> String {
    if plain_safe(s) { s.to_owned() } else { quoted(s) }
}

fn quoted(s: &str) -> String {
    let needs_double = s
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{feff}' | '\u{85}' | '\u{2028}' | '\u{2029}'));
    if !needs_double {
        return format!("'{}'", s.replace('\'', "''"));
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{feff}' | '\u{85}' | '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Words that YAML 1.1 reads as booleans or null (any case).
const RESERVED: &[&str] = &["y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"];

pub(crate) fn plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.trim() != s {
        return false;
    }
    // Indicators, and anything that may start a number, date or time in YAML 1.1 or 1.2.
    if "-?:,[]{}#&*!|>'\"%@`+.=<~".contains(first) || first.is_ascii_digit() {
        return false;
    }
    if RESERVED.iter().any(|w| w.eq_ignore_ascii_case(s)) {
        return false;
    }
    if s.ends_with(':') || s.contains(": ") || s.contains(" #") || s.contains(":\t") {
        return false;
    }
    s.chars()
        .all(|c| !c.is_control() && !matches!(c, '\u{feff}' | '\u{85}' | '\u{2028}' | '\u{2029}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(doc: Doc, expected: &str) {
        assert_eq!(to_yaml(&doc), expected);
    }

    fn map(entries: Vec<(&str, Doc)>) -> Doc {
        Doc::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    #[test]
    fn scalars_that_yaml_11_would_misread_are_quoted() {
        for s in [
            "2010-09-09",
            "yes",
            "No",
            "ON",
            "off",
            "y",
            "~",
            "null",
            "0123",
            "1e5",
            "1_000",
            ".inf",
            "-1",
            "+1",
        ] {
            assert!(!plain_safe(s), "{s} must be quoted");
        }
        for s in [
            "ap-northeast-1",
            "arn:aws:iam::aws:policy/X",
            "${AWS::Region}",
            "t3.micro",
            "/aws/service/x",
        ] {
            assert!(plain_safe(s), "{s} can stay plain");
        }
        check(map(vec![("V", Doc::str("2010-09-09"))]), "V: '2010-09-09'\n");
        check(map(vec![("V", Doc::str("it's"))]), "V: it's\n");
        check(map(vec![("V", Doc::str("'quoted'"))]), "V: '''quoted'''\n");
        check(map(vec![("V", Doc::str("a\rb"))]), "V: \"a\\rb\"\n");
    }

    #[test]
    fn short_tags_and_long_form_for_a_tag_on_a_tag() {
        let sub = Doc::func("Fn::Sub", Doc::str("echo ${X}\n"));
        check(
            map(vec![
                ("A", Doc::func("Ref", Doc::str("Vpc"))),
                (
                    "B",
                    Doc::func(
                        "Fn::GetAtt",
                        Doc::List(vec![Doc::str("Alb"), Doc::str("DNSName")]),
                    ),
                ),
                ("C", Doc::func("Fn::Base64", sub)),
                (
                    "D",
                    Doc::func(
                        "Fn::Select",
                        Doc::List(vec![Doc::Int(0), Doc::func("Fn::GetAZs", Doc::str(""))]),
                    ),
                ),
            ]),
            "A: !Ref Vpc\nB: !GetAtt Alb.DNSName\nC:\n  Fn::Base64: !Sub |\n    echo ${X}\nD: !Select\n  - 0\n  - !GetAZs ''\n",
        );
    }

    #[test]
    fn block_scalars_keep_trailing_newlines() {
        check(map(vec![("V", Doc::str("a\nb"))]), "V: |-\n  a\n  b\n");
        check(map(vec![("V", Doc::str("a\n\nb\n"))]), "V: |\n  a\n\n  b\n");
        check(map(vec![("V", Doc::str("a\n\n"))]), "V: |+\n  a\n\n");
        check(map(vec![("V", Doc::str(" a\nb"))]), "V: \" a\\nb\"\n");
    }

    #[test]
    fn collections_nest() {
        check(
            map(vec![
                (
                    "L",
                    Doc::List(vec![
                        map(vec![("K", Doc::Int(1)), ("J", Doc::Bool(true))]),
                        Doc::List(vec![Doc::str("a"), Doc::str("b")]),
                    ]),
                ),
                ("E", Doc::List(vec![])),
                ("M", Doc::Map(vec![])),
                ("F", Doc::Float(2.0)),
            ]),
            "L:\n  - K: 1\n    J: true\n  - - a\n    - b\nE: []\nM: {}\nF: 2.0\n",
        );
    }
}
