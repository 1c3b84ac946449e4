//! berth writes YAML that every reader sees the same way: serde_norway (YAML 1.2) and PyYAML
//! (YAML 1.1, what cfn-lint and CloudFormation-style loaders use) read back exactly the strings that
//! went in, including the ones YAML 1.1 would take for booleans, numbers or dates.

use std::process::Command;

use cfn::resources::logs;
use cfn::{Format, Template};

const TRICKY: &[&str] = &[
    "yes",
    "no",
    "Yes",
    "NO",
    "on",
    "Off",
    "y",
    "N",
    "true",
    "False",
    "null",
    "Null",
    "~",
    "",
    "2010-09-09",
    "2001-12-14t21:59:43.10-05:00",
    "1:20",
    "190:20:30",
    "0x1F",
    "0o17",
    "017",
    "1_000",
    "1e3",
    ".5",
    "-.inf",
    ".NaN",
    "+1",
    "-1",
    "=",
    "<<",
    "- item",
    "? q",
    "key: value",
    "a #b",
    "#c",
    "!tag",
    "&anchor",
    "*alias",
    "|",
    "> x",
    "'",
    "\"",
    "%x",
    "@x",
    "`x",
    "[a]",
    "{a}",
    "a, b",
    "trailing ",
    "  leading",
    "tab\there",
    "multi\nline",
    "multi\nline\n",
    "multi\n\nline\n\n",
    "\ttab-first",
    "line\r\nwindows",
    "unicode é ✓",
    "nel\u{85}here",
    "arn:aws:s3:::b/*",
    "${AWS::Region}",
    "Yes please",
    "ON",
    "0",
    "0.0",
    "10.0.0.0/16",
    "ap-northeast-1",
    "back\\slash",
    "{{resolve:ssm:/x}}",
    "a: ",
    "end:",
    "-",
    "--",
    "---",
    "...",
    ":",
    "::x",
    "x::y",
];

fn rendered() -> String {
    let mut t = Template::new();
    t.add_metadata("Strings", serde_json::json!(TRICKY));
    t.add("Logs", logs::LogGroup::new());
    t.synth(Format::Yaml).unwrap().body
}

#[test]
fn serde_norway_reads_back_every_string() {
    let value = cfn::raw::parse_template(&rendered()).unwrap();
    assert_eq!(value["Metadata"]["Strings"], serde_json::json!(TRICKY));
}

#[test]
fn pyyaml_reads_back_every_string() {
    let (_dir, path) = test_support::temp_file("tricky.yaml", &rendered());
    let python = test_support::tool("python");
    let out = Command::new(python)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))['Metadata']['Strings']))",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let read: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    for (went_in, came_out) in TRICKY.iter().zip(&read) {
        assert_eq!(
            &serde_json::json!(went_in),
            came_out,
            "PyYAML reads {went_in:?} back as {came_out}"
        );
    }
    assert_eq!(read.len(), TRICKY.len());
}
