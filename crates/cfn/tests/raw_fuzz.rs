//! The template reader (`cfn::raw`) on inputs nobody wrote by hand: arbitrary bytes, bytes drawn
//! from YAML's punctuation, generated YAML and JSON (tags, anchors, aliases, duplicate keys), the
//! seed's template mutated, and alias bombs. For every input: no panic, an answer within a time
//! bound, and either a mapping or an error with a line and a column inside the input and a message
//! for people. Generated data also reads back as it was written. A small deterministic generator
//! (splitmix64) keeps every run the same; a failure prints the input that caused it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cfn::raw::{MAX_VALUES, ParseError, parse_template, parse_template_bytes};
use serde_json::{Map, Value, json};

/// How long one input may take (a debug build; the slowest are alias bombs cut off at
/// `MAX_VALUES`).
const BOUND: Duration = Duration::from_secs(2);

const SEED: &str = include_str!("../../lint/tests/fixtures/seed-mistakes.yaml");

/// splitmix64: small, fast, and the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A further check of what an input read to.
type Also = fn(&Result<Value, ParseError>) -> Result<(), String>;

/// What checking one input found wrong, if anything.
fn judge(input: &[u8], also: Also) -> Result<(), String> {
    let start = Instant::now();
    let result =
        catch_unwind(AssertUnwindSafe(|| parse_template_bytes(input))).map_err(|_| "panicked".to_owned())?;
    let took = start.elapsed();
    if took > BOUND {
        return Err(format!("took {took:?}"));
    }
    match &result {
        Ok(v) if !v.is_object() => return Err(format!("read as a non-mapping: {v}")),
        Ok(_) => {}
        Err(e) => placed(e, input)?,
    }
    also(&result)
}

/// The lines of a text as YAML counts them (a line break is LF, CRLF, CR, NEL, LS or PS), or as
/// JSON does (LF only).
fn lines(text: &str, yaml: bool) -> Vec<String> {
    if !yaml {
        return text.split('\n').map(str::to_owned).collect();
    }
    let text = text.replace("\r\n", "\n");
    text.split(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
        .map(str::to_owned)
        .collect()
}

/// The error's line and column are inside the input (as YAML or JSON counts lines), and its
/// message is for people.
fn placed(e: &ParseError, input: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(input);
    let inside = |yaml: bool| {
        let lines = lines(&text, yaml);
        // libyaml points one column past the end of a line.
        e.line >= 1
            && e.column >= 1
            && lines
                .get(e.line - 1)
                .is_some_and(|l| e.column <= l.chars().count() + 2)
    };
    if !inside(true) && !inside(false) {
        return Err(format!("outside the input: {e}"));
    }
    if e.message.trim().is_empty() {
        return Err("an empty message".to_owned());
    }
    for debug in [
        "TaggedValue",
        "Tagged(",
        "String(\"",
        "Number(",
        "Sequence [",
        "Mapping {",
        " at line ",
    ] {
        if e.message.contains(debug) {
            return Err(format!("debug text `{debug}` in `{}`", e.message));
        }
    }
    Ok(())
}

/// Runs every input on a worker thread: a hang fails the test with the input instead of stalling.
fn run(inputs: Vec<Vec<u8>>) {
    run_also(inputs, |_| Ok(()));
}

fn run_also(inputs: Vec<Vec<u8>>, also: Also) {
    let n = inputs.len();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for input in inputs {
            let verdict = judge(&input, also);
            if tx.send((input, verdict)).is_err() {
                return;
            }
        }
    });
    let mut failures = Vec::new();
    for i in 0..n {
        let (input, verdict) = rx
            .recv_timeout(BOUND * 3)
            .unwrap_or_else(|_| panic!("input {i} of {n}: no answer within {:?} (a hang)", BOUND * 3));
        if let Err(why) = verdict {
            failures.push(format!("{why}\n  input: {:?}", String::from_utf8_lossy(&input)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} inputs:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

const PUNCTUATION: &[u8] = b"{}[]:,-!&*|>'\"#%@`? \n\n\n\t\\~.<=0123456789aAzZ\r";

#[test]
fn arbitrary_bytes_never_panic_and_errors_say_where() {
    let mut rng = Rng(0x5eed_0001);
    let mut inputs = Vec::new();
    for _ in 0..1500 {
        let len = rng.below(200);
        let from_punctuation = rng.chance(70);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if from_punctuation {
                    *rng.pick(PUNCTUATION)
                } else {
                    rng.next() as u8
                }
            })
            .collect();
        inputs.push(bytes);
    }
    run(inputs);
}

#[test]
fn the_seed_template_mutated_never_panics() {
    let mut rng = Rng(0x5eed_0002);
    let seed = SEED.as_bytes();
    let mut inputs = Vec::new();
    for _ in 0..150 {
        let mut bytes = seed.to_vec();
        for _ in 0..1 + rng.below(6) {
            let at = rng.below(bytes.len());
            match rng.below(5) {
                0 => {
                    bytes.remove(at);
                }
                1 => bytes.insert(at, *rng.pick(PUNCTUATION)),
                2 => bytes[at] = rng.next() as u8,
                3 => bytes.truncate(at),
                _ => {
                    // A tag, an anchor or an alias where there was none.
                    let extra = rng.pick(&[
                        "!Ref ",
                        "!ValueOf ",
                        "!Nope ",
                        "! ",
                        "&a ",
                        "*a ",
                        "!!str ",
                        "<<: ",
                    ]);
                    let tail = bytes.split_off(at);
                    bytes.extend_from_slice(extra.as_bytes());
                    bytes.extend(tail);
                }
            }
            if bytes.is_empty() {
                break;
            }
        }
        inputs.push(bytes);
    }
    run(inputs);
}

/// A random value: scalars of every kind YAML and JSON write, lists and mappings, `depth` deep.
fn value(rng: &mut Rng, depth: usize) -> Value {
    let leaf = depth == 0 || rng.chance(40);
    if leaf {
        return match rng.below(7) {
            0 => Value::Null,
            1 => Value::Bool(rng.chance(50)),
            2 => json!(rng.next() as i64 % 100_000),
            3 => json!(rng.below(10_000) as f64 + 0.25),
            4 => Value::String(String::new()),
            5 => Value::String(
                rng.pick(&[
                    "yes",
                    "No",
                    "on",
                    "~",
                    "null",
                    "1e3",
                    "0x1F",
                    "2010-09-09",
                    "- a",
                    "a: b",
                    "#c",
                    "!Ref",
                    "&x",
                    "*y",
                    "'",
                    "\"",
                    "é ü",
                    "tab\there",
                    "line\nbreak",
                ])
                .to_string(),
            ),
            _ => Value::String(format!("Word{}", rng.below(50))),
        };
    }
    if rng.chance(50) {
        Value::Array((0..rng.below(4)).map(|_| value(rng, depth - 1)).collect())
    } else {
        let mut m = Map::new();
        for _ in 0..rng.below(4) {
            m.insert(format!("K{}", rng.below(20)), value(rng, depth - 1));
        }
        Value::Object(m)
    }
}

/// `v` as YAML: block style, every string double-quoted (JSON's escapes are YAML's).
fn yaml(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                out.push_str(&format!("\n{pad}{}:", Value::String(k.clone())));
                yaml_child(x, indent, out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for x in a {
                out.push_str(&format!("\n{pad}-"));
                yaml_child(x, indent, out);
            }
        }
        Value::Number(n) if n.is_f64() => out.push_str(&format!(" {:?}", n.as_f64().unwrap_or_default())),
        other => out.push_str(&format!(" {other}")),
    }
}

fn yaml_child(x: &Value, indent: usize, out: &mut String) {
    match x {
        Value::Object(m) if !m.is_empty() => yaml(x, indent + 2, out),
        Value::Array(a) if !a.is_empty() => yaml(x, indent + 2, out),
        _ => yaml(x, indent, out),
    }
}

#[test]
fn generated_yaml_and_json_read_back_as_they_were_written() {
    let mut rng = Rng(0x5eed_0003);
    for i in 0..300 {
        let mut top = Map::new();
        for s in ["Parameters", "Resources", "Outputs"] {
            if rng.chance(70) {
                top.insert(s.to_owned(), value(&mut rng, 4));
            }
        }
        top.insert("AWSTemplateFormatVersion".to_owned(), json!("2010-09-09"));
        let v = Value::Object(top);
        let as_json = serde_json::to_string_pretty(&v).unwrap();
        let back = parse_template(&as_json).unwrap_or_else(|e| panic!("case {i}: {e}\n{as_json}"));
        assert_eq!(back, v, "case {i} (JSON):\n{as_json}");
        let mut as_yaml = String::new();
        yaml(&v, 0, &mut as_yaml);
        let back = parse_template(&as_yaml).unwrap_or_else(|e| panic!("case {i}: {e}\n{as_yaml}"));
        assert_eq!(back, v, "case {i} (YAML):\n{as_yaml}");
    }
}

/// YAML with what makes a reader work: tags (known, unknown, another tool's, non-specific),
/// anchors and aliases, merge keys, duplicate keys, flow and block styles mixed.
fn tricky_yaml(rng: &mut Rng) -> String {
    const TAGS: &[&str] = &[
        "!Ref ",
        "!Sub ",
        "!GetAtt ",
        "!ValueOf ",
        "!EachMemberIn ",
        "!Rain::Embed ",
        "!Nope ",
        "! ",
        "!!str ",
        "!!int ",
        "!!map ",
        "!!seq ",
        "",
    ];
    let mut out = String::from("Resources:\n");
    let mut anchors = Vec::new();
    for i in 0..1 + rng.below(8) {
        let key = if rng.chance(15) {
            "R0".to_owned()
        } else {
            format!("R{i}")
        };
        let key = if rng.chance(10) {
            format!("{}\"{key}\"", rng.pick(&["! ", "!Ref ", ""]))
        } else {
            key
        };
        let tag = rng.pick(TAGS);
        let anchor = if rng.chance(25) {
            anchors.push(format!("a{i}"));
            format!("&a{i} ")
        } else {
            String::new()
        };
        let body = match rng.below(6) {
            0 => format!("{tag}{anchor}x{i}"),
            1 => format!(
                "{anchor}{tag}[1, {}, \"s\"]",
                rng.pick(&["!Ref y", "*a0", "{k: v}", "~"])
            ),
            2 => format!(
                "{tag}{anchor}{{A: 1, B: {}}}",
                rng.pick(&["!GetAtt a.b", "*a1", "[x]", "''"])
            ),
            3 if !anchors.is_empty() => format!("*{}", rng.pick(&anchors)),
            4 => format!(
                "\n    <<: {}\n    Z: 1",
                rng.pick(&["{M: 1}", "*a0", "[{M: 1}, {N: 2}]", "1"])
            ),
            _ => format!("{anchor}\n    Type: AWS::SNS::Topic\n    Properties: {tag}{{TopicName: t}}"),
        };
        out.push_str(&format!("  {key}: {body}\n"));
    }
    out
}

#[test]
fn generated_tags_anchors_and_duplicates_never_panic_and_say_where() {
    let mut rng = Rng(0x5eed_0004);
    run((0..400).map(|_| tricky_yaml(&mut rng).into_bytes()).collect());
}

#[test]
fn alias_bombs_of_every_shape_are_refused_in_bounded_time() {
    // Deep and narrow, middling, shallow and wide (each costs up to a second in a debug build:
    // refusing means building up to MAX_VALUES values first), and a small one that is fine.
    let mut inputs = Vec::new();
    for (width, levels) in [(2, 40), (12, 7), (600, 3), (3, 4)] {
        let mut text = format!("l0: &l0 [{}]\n", vec!["x"; width].join(", "));
        for l in 1..levels {
            let alias = format!("*l{}", l - 1);
            text.push_str(&format!(
                "l{l}: &l{l} [{}]\n",
                vec![alias.as_str(); width].join(", ")
            ));
        }
        inputs.push(text.into_bytes());
    }
    // The ones that would expand past the bound are refused, saying why; the others read whole.
    run_also(inputs, |result| match result {
        Ok(v) if count(v) > MAX_VALUES => Err(format!("{} values accepted", count(v))),
        Err(e) if !e.message.contains("alias") => Err(format!("refused for another reason: {e}")),
        _ => Ok(()),
    });
}

fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(m) => m.values().map(|x| 1 + count(x)).sum(),
        _ => 0,
    }
}
