//! Reading other people's templates (`cfn::raw`): every function CloudFormation's YAML knows, the
//! corners of YAML that cfn-lint reads, and an error with its line and column for everything else.

use std::time::{Duration, Instant};

use cfn::raw::{ParseError, parse_template};
use serde_json::json;

/// Where an error is: (line, column).
fn pos(e: &ParseError) -> Option<(usize, usize)> {
    Some((e.line, e.column))
}

/// `text` does not parse; the error is at (`line`, `column`) and its message says each of `says`.
#[track_caller]
fn fails_at(text: &str, line: usize, column: usize, says: &[&str]) -> ParseError {
    let e = parse_template(text).expect_err(text);
    assert_eq!(pos(&e), Some((line, column)), "{text:?}: {e}");
    for s in says {
        assert!(
            e.message.contains(s),
            "{text:?}: `{}` does not say `{s}`",
            e.message
        );
    }
    no_debug_text(&e);
    e
}

/// A message for people: no Rust debug text, no position repeated inside it.
#[track_caller]
fn no_debug_text(e: &ParseError) {
    for debug in [
        "TaggedValue",
        "Tagged(",
        "String(",
        "Number(",
        "Sequence [",
        "Mapping {",
        "Object {",
        " at line ",
        " at position ",
    ] {
        assert!(!e.message.contains(debug), "`{}` shows `{debug}`", e.message);
    }
}

#[test]
fn every_rule_function_is_read_in_its_short_form() {
    let v = parse_template(
        "Parameters:
  Env: {Type: String}
  Subnets: {Type: 'List<AWS::EC2::Subnet::Id>'}
Rules:
  SubnetsInVpc:
    RuleCondition: !Contains [[prod, test], !Ref Env]
    Assertions:
      - Assert: !EachMemberEquals [!ValueOfAll ['AWS::EC2::Subnet::Id', VpcId], !ValueOf [Subnets, VpcId]]
      - Assert: !EachMemberIn [!ValueOfAll ['AWS::EC2::Subnet::Id', VpcId], !RefAll 'AWS::EC2::VPC::Id']
      - Assert: !And [!Not [!Equals [!Ref Env, '']], !Or [!Equals [!Ref Env, prod], !Equals [!Ref Env, test]]]
Resources:
  Topic: {Type: AWS::SNS::Topic}
",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rule = &v["Rules"]["SubnetsInVpc"];
    assert_eq!(
        rule["RuleCondition"],
        json!({"Fn::Contains": [["prod", "test"], {"Ref": "Env"}]})
    );
    assert_eq!(
        rule["Assertions"][0]["Assert"],
        json!({"Fn::EachMemberEquals": [
            {"Fn::ValueOfAll": ["AWS::EC2::Subnet::Id", "VpcId"]},
            {"Fn::ValueOf": ["Subnets", "VpcId"]},
        ]})
    );
    assert_eq!(
        rule["Assertions"][1]["Assert"],
        json!({"Fn::EachMemberIn": [
            {"Fn::ValueOfAll": ["AWS::EC2::Subnet::Id", "VpcId"]},
            {"Fn::RefAll": "AWS::EC2::VPC::Id"},
        ]})
    );
    assert_eq!(
        rule["Assertions"][2]["Assert"]["Fn::And"][1]["Fn::Or"][0],
        json!({"Fn::Equals": [{"Ref": "Env"}, "prod"]})
    );
}

#[test]
fn a_non_specific_tag_on_a_quoted_scalar_is_that_string() {
    // `!` alone is YAML's non-specific tag: the node is a plain string (sequence, mapping).
    let v =
        parse_template("A:\n  ! \"Ref\": X\nB: ! 'Fn::Sub'\nC: ! [a, b]\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v, json!({"A": {"Ref": "X"}, "B": "Fn::Sub", "C": ["a", "b"]}));
    let v = parse_template(
        "Resources:\n  T:\n    Type: AWS::SNS::Topic\nOutputs:\n  O:\n    Value: {! \"Ref\": T}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["Outputs"]["O"]["Value"], json!({"Ref": "T"}));
}

#[test]
fn a_tool_s_namespaced_tag_is_kept_under_its_own_name() {
    // Rain's directives (`rain pkg` replaces them before CloudFormation sees the template), under
    // the key Rain writes in JSON.
    let v = parse_template("Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code:\n        ZipFile: !Rain::Embed handler.py\n")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        v["Resources"]["F"]["Properties"]["Code"]["ZipFile"],
        json!({"Rain::Embed": "handler.py"})
    );
}

#[test]
fn every_tag_error_says_where_and_what_was_expected() {
    // An unknown function, deep in the template: at the tag.
    fails_at(
        "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Reff Name\n",
        5,
        18,
        &["`!Reff`", "!Ref", "!ValueOf", "expected"],
    );
    // In a flow sequence.
    fails_at("A: [1, !Nope x]\n", 1, 8, &["`!Nope`"]);
    // On a mapping or a sequence.
    fails_at("A:\n  - !Bad {x: 1}\n", 2, 5, &["`!Bad`"]);
    // A function as a mapping key.
    fails_at(
        "A:\n  !Ref X: 1\n",
        2,
        3,
        &["`!Ref X`", "a mapping key", "expected a string"],
    );
    // A sequence or a mapping as a key.
    fails_at("A:\n  [1, 2]: 2\n", 2, 3, &["a sequence", "a mapping key"]);
    fails_at("A:\n  ? {a: 1}\n  : 2\n", 2, 5, &["a mapping", "a mapping key"]);
    // Two tags on one node.
    let e = parse_template("A: !Ref !Sub x\n").unwrap_err();
    assert!(pos(&e).is_some(), "{e}");
    no_debug_text(&e);
}

#[test]
fn every_parse_error_has_a_line_and_a_column() {
    // Duplicated keys: at the duplicate, in block and flow mappings and in JSON.
    fails_at(
        "Resources:\n  A: 1\n  A: 2\n",
        3,
        3,
        &["duplicate entry with key \"A\""],
    );
    fails_at(
        "A: {x: 1, y: 2, x: 3}\n",
        1,
        17,
        &["duplicate entry with key \"x\""],
    );
    fails_at(
        "{\n  \"A\": 1,\n  \"A\": 2\n}",
        3,
        3,
        &["duplicate entry with key \"A\""],
    );
    // A second document: at its start.
    fails_at(
        "Resources: {}\n---\nResources: {}\n",
        2,
        1,
        &["more than one document", "one template per file"],
    );
    // Broken YAML and JSON.
    fails_at("A: [1\n", 2, 1, &["did not find expected ',' or ']'"]);
    fails_at("A: *nothing\n", 1, 4, &["unknown anchor"]);
    fails_at("{\"A\": 1} x", 1, 10, &["trailing characters"]);
    // Not a template: a scalar, a sequence, nothing.
    fails_at("just text\n", 1, 1, &["found a string", "expected a mapping"]);
    fails_at(
        "# a comment\n- a\n",
        2,
        1,
        &["found a sequence", "expected a mapping"],
    );
    fails_at("", 1, 1, &["empty", "expected a mapping"]);
    // A self-referencing alias.
    fails_at("A: &a [*a]\n", 1, 4, &["recursion limit"]);
}

/// "Billion laughs": nine levels of ten aliases (10^9 strings once expanded), and its wide variant
/// (one anchor of 20,000 values, aliased 20,000 times): refused at once, with a line.
#[test]
fn aliases_cannot_expand_a_template_without_bound() {
    let mut laughs = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        laughs.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let wide = format!(
        "a: &a [{}]\nb: [{}]\n",
        vec!["x"; 20_000].join(", "),
        vec!["*a"; 20_000].join(", ")
    );
    for bomb in [laughs, wide] {
        let start = Instant::now();
        let e = parse_template(&bomb).expect_err("refused");
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "took {:?}",
            start.elapsed()
        );
        assert!(pos(&e).is_some(), "{e}");
        assert!(e.message.contains("alias"), "{e}");
        no_debug_text(&e);
    }
    // A few aliases are fine (cfn-lint resolves them too).
    let v = parse_template("A: &x [1, 2]\nB: *x\n").unwrap();
    assert_eq!(v, json!({"A": [1, 2], "B": [1, 2]}));
}

#[test]
fn merge_keys_merge_as_cfn_lint_merges_them() {
    let v =
        parse_template("Base: &base {Type: String, Default: a}\nP:\n  <<: *base\n  Default: b\n").unwrap();
    assert_eq!(v["P"], json!({"Type": "String", "Default": "b"}));
    fails_at(
        "A:\n  <<: 1\n",
        2,
        3,
        &["`<<`", "a mapping or a list of mappings"],
    );
}

#[test]
fn a_template_larger_than_the_bound_is_refused_before_it_is_read() {
    let big = format!("A: '{}'\n", "x".repeat(cfn::raw::MAX_BYTES));
    fails_at(&big, 1, 1, &["bytes", "at most"]);
}

#[test]
fn bytes_that_are_not_utf8_say_where() {
    let e = cfn::raw::parse_template_bytes(b"A: 1\nB: caf\xe9\n").unwrap_err();
    assert_eq!(pos(&e), Some((2, 7)), "{e}");
    assert!(e.message.contains("UTF-8"), "{e}");
    // A byte-order mark is not content.
    let v = cfn::raw::parse_template_bytes(b"\xef\xbb\xbf{\"A\": 1}").unwrap();
    assert_eq!(v, json!({"A": 1}));
}
