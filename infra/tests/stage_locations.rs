//! Where an error in a stage file is reported: a table of broken stage files, each with the line and
//! column a person should be sent to (and a few words of the message found there).
//!
//! Positions follow one rule: a bad value is reported where the value starts (its opening quote or
//! bracket, or its first character), a bad or repeated key where that key starts, a missing key at
//! the first key of its mapping, a check across settings at the key it names, a syntax error where
//! the YAML parser stopped, except an unclosed quote or bracket, reported where it opens.

use std::path::Path;

use infra::Stage;

/// A small valid stage; the cases below edit it by line number, so its lines must not move.
const BASE: &str = "\
app: sample
region: ap-northeast-1
network:
  vpc_id: vpc-0123456789abcdef0
  load_balancer_subnet_ids:
    - subnet-0123456789abcdef0
    - subnet-0fedcba9876543210
  instance_subnet_ids:
    - subnet-0aaaaaaaaaaaaaaa1
    - subnet-0aaaaaaaaaaaaaaa2
load_balancer:
  certificate_arn: arn:aws:acm:ap-northeast-1:123456789012:certificate/00000000-0000-0000-0000-000000000000
  http_redirect: false
source:
  connection_arn: arn:aws:codeconnections:ap-northeast-1:123456789012:connection/00000000-0000-0000-0000-000000000000
  app:
    repository: example-org/berth
    branch: main
    paths:
      - app/**
  infra:
    repository: example-org/berth
    branch: main
deploy:
  approval: false
instances:
  instance_type: t3.small
  ami: ami-0123456789abcdef0
  ami_name: al2023-ami-ecs-hvm-2023.0.20251110-kernel-6.1-x86_64
  root_volume_gib: 30
  min: 2
  max: 4
service:
  min_count: 2
  max_count: 4
  cpu: 256
  memory: 512
  time_zone: Asia/Tokyo
  log_retention_days: 30
  health_check_grace_seconds: 60
";

fn lines() -> Vec<String> {
    BASE.lines().map(str::to_owned).collect()
}

fn join(lines: &[String]) -> Vec<u8> {
    let mut s = lines.join("\n");
    s.push('\n');
    s.into_bytes()
}

/// BASE with line `n` (1-based) replaced by `with` (which may hold several lines, or none).
fn replace(n: usize, with: &str) -> Vec<u8> {
    replace_range(n, n, with)
}

/// BASE with lines `from..=to` replaced by `with`.
fn replace_range(from: usize, to: usize, with: &str) -> Vec<u8> {
    let mut l = lines();
    let new: Vec<String> = with.lines().map(str::to_owned).collect();
    l.splice(from - 1..to, new);
    join(&l)
}

/// BASE with `text` inserted after line `n`.
fn insert_after(n: usize, text: &str) -> Vec<u8> {
    let mut l = lines();
    let new: Vec<String> = text.lines().map(str::to_owned).collect();
    l.splice(n..n, new);
    join(&l)
}

/// A credential-shaped sample, put together at run time (so that no scanner flags this file).
fn token(prefix: &[&str], body: &str) -> String {
    let mut t: String = prefix.concat();
    t.push_str(body);
    t
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// 1-based line and column.
    at: (usize, usize),
    /// Words of the message reported there.
    says: &'static str,
}

fn cases() -> Vec<Case> {
    let gh = token(&["gh", "p_"], "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8");
    let akia = token(&["AK", "IA"], "Q3EGX5NRWZ4K7LBD");
    let mut two_docs = BASE.to_owned();
    two_docs.push_str("---\napp: other\n");
    let mut aws_comment = BASE.to_owned();
    aws_comment.push_str(&format!("# old key: {akia}\n"));
    let mut bad_byte = BASE.replace("Asia/Tokyo", "Asia/T_kyo").into_bytes();
    let i = bad_byte.windows(5).position(|w| w == b"T_kyo").unwrap();
    bad_byte[i + 1] = 0xff;
    let c = |name, bytes: Vec<u8>, at, says| Case {
        name,
        bytes,
        at,
        says,
    };
    vec![
        // The cases.
        c(
            "a bad subnet ID after a valid one starting with the same characters",
            replace(10, "    - subnet-0aaaaaaaaaaaaaaa"),
            (10, 7),
            "network.instance_subnet_ids[1]: `subnet-0aaaaaaaaaaaaaaa` is not a subnet ID",
        ),
        c(
            "a value with an escape",
            replace(18, "    branch: \"ma\\0in\""),
            (18, 13),
            "source.app.branch: `ma\\u{0}in` is not a branch name",
        ),
        c(
            "an unclosed quote",
            replace(4, "  vpc_id: \"vpc-0123456789abcdef0"),
            (4, 11),
            "never closed",
        ),
        c(
            "two YAML documents",
            two_docs.into_bytes(),
            (41, 1),
            "a second YAML document",
        ),
        c("a byte that is not UTF-8", bad_byte, (38, 20), "not UTF-8"),
        // Wrong types and numbers.
        c(
            "a word for a number",
            replace(34, "  min_count: two"),
            (34, 14),
            "service.min_count: `two` is not a whole number",
        ),
        c(
            "a negative number",
            replace(35, "  max_count: -1"),
            (35, 14),
            "service.max_count: -1 is negative",
        ),
        c(
            "a number too large",
            replace(36, "  cpu: 99999999999999999999999"),
            (36, 8),
            "expected a whole number from 128 to 196608 CPU units",
        ),
        c(
            "a decimal number",
            replace(37, "  memory: 512.5"),
            (37, 11),
            "service.memory: 512.5 is not a whole number",
        ),
        c(
            "a word for true or false",
            replace(13, "  http_redirect: yes"),
            (13, 18),
            "expected true or false",
        ),
        c(
            "a mapping for a text value",
            replace(4, "  vpc_id: {a: 1}"),
            (4, 11),
            "network.vpc_id: a mapping: expected",
        ),
        c(
            "a list for a text value",
            replace(2, "region: [a, b]"),
            (2, 9),
            "region: a list: expected",
        ),
        c(
            "a text value for a mapping",
            replace_range(3, 10, "network: none"),
            (3, 10),
            "network: `none` is text: expected a mapping of network settings",
        ),
        c(
            "a whole file that is a list",
            b"- app\n- region\n".to_vec(),
            (1, 1),
            "expected a mapping of stage settings",
        ),
        c(
            "an empty value",
            replace(4, "  vpc_id:"),
            (4, 3),
            "network.vpc_id: `` is not a VPC ID",
        ),
        // Keys.
        c(
            "an unknown key",
            insert_after(13, "  colour: blue"),
            (14, 3),
            "load_balancer.colour: unknown key",
        ),
        c(
            "a key in the wrong case",
            replace(4, "  Vpc_id: vpc-0123456789abcdef0"),
            (4, 3),
            "did you mean `vpc_id`",
        ),
        c(
            "a repeated key",
            insert_after(36, "  cpu: 512"),
            (37, 3),
            "service.cpu: the key `cpu` is repeated",
        ),
        c(
            "a repeated top-level key",
            insert_after(40, "service:\n  cpu: 1"),
            (41, 1),
            "service: the key `service` is repeated",
        ),
        c(
            "a missing key",
            replace(27, ""),
            (27, 3),
            "instances: missing key `instance_type`",
        ),
        c(
            "a retired key",
            insert_after(31, "  desired: 2"),
            (32, 3),
            "instances.desired: no longer set",
        ),
        // Values of the right type but wrong.
        c(
            "a bad VPC ID",
            replace(4, "  vpc_id: vpc-nothex"),
            (4, 11),
            "network.vpc_id: `vpc-nothex` is not a VPC ID",
        ),
        c(
            "a bad repository in the second of two sources",
            replace(22, "    repository: berth"),
            (22, 17),
            "source.infra.repository: `berth` is not a repository",
        ),
        c(
            "a bad subnet in a flow list",
            replace_range(
                8,
                10,
                "  instance_subnet_ids: [subnet-0aaaaaaaaaaaaaaa1, subnet-0aaaaaaaaaaaaaaa]",
            ),
            (8, 51),
            "network.instance_subnet_ids[1]",
        ),
        c(
            "a bad address in a flow list",
            replace(25, "  approval: true\n  notify: [ops.example.com]"),
            (26, 12),
            "deploy.notify[0]: `ops.example.com` is not an email address",
        ),
        c(
            "a region that does not exist",
            replace(2, "region: tokyo"),
            (2, 9),
            "region: `tokyo` is not an AWS region",
        ),
        c(
            "a region that looks real",
            replace(2, "region: eu-west-9"),
            (2, 9),
            "did you mean",
        ),
        c(
            "a misspelt instance size",
            replace(27, "  instance_type: t3.meduim"),
            (27, 18),
            "did you mean `t3.medium`",
        ),
        c(
            "a misspelt time zone",
            replace(38, "  time_zone: Europe/Dubiln"),
            (38, 14),
            "did you mean `Europe/Dublin`",
        ),
        c(
            "an offset for a time zone",
            replace(38, "  time_zone: UTC+1"),
            (38, 14),
            "Etc/GMT-1",
        ),
        c(
            "a branch written as a ref",
            replace(23, "    branch: refs/heads/main"),
            (23, 13),
            "expected the bare branch name `main`",
        ),
        c(
            "a certificate of another region",
            replace(
                12,
                "  certificate_arn: arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
            ),
            (12, 3),
            "load_balancer.certificate_arn: the certificate is in `us-east-1`",
        ),
        // Credentials.
        c(
            "a token pasted as a path",
            replace(20, &format!("      - {gh}")),
            (20, 9),
            "source.app.paths[0]: looks like a GitHub personal access token",
        ),
        c(
            "an access key in a comment",
            aws_comment.into_bytes(),
            (41, 12),
            "looks like an AWS access key ID",
        ),
        // Syntax.
        c(
            "a tab for indentation",
            replace(25, "\tapproval: false"),
            (25, 1),
            "tab",
        ),
        c(
            "an unclosed list",
            replace_range(
                5,
                7,
                "  load_balancer_subnet_ids: [subnet-0123456789abcdef0, subnet-0fedcba9876543210",
            ),
            (5, 29),
            "never closed",
        ),
        c(
            "a value with `: ` in it",
            replace(38, "  time_zone: Asia: Tokyo"),
            (38, 18),
            "expected the value quoted",
        ),
        c(
            "a list item indented less than the one before",
            replace(10, "   - subnet-0aaaaaaaaaaaaaaa2"),
            (10, 4),
            "indent",
        ),
    ]
}

/// The errors of `bytes` loaded from a file named `dev.yaml`.
fn load(dir: &Path, bytes: &[u8]) -> Result<Stage, Vec<infra::StageError>> {
    let path = dir.join("dev.yaml");
    std::fs::write(&path, bytes).unwrap();
    Stage::load(&path)
}

#[test]
fn every_broken_stage_file_is_reported_where_the_mistake_is() {
    let dir = tempfile::tempdir().unwrap();
    Stage::load(&{
        let p = dir.path().join("dev.yaml");
        std::fs::write(&p, BASE).unwrap();
        p
    })
    .expect("BASE is a valid stage");
    let cases = cases();
    let mut located = 0;
    let mut said = 0;
    let mut wrong = Vec::new();
    for case in &cases {
        let result = load(dir.path(), &case.bytes);
        let errs = match result {
            Ok(_) => {
                wrong.push(format!("{}: accepted", case.name));
                continue;
            }
            Err(e) => e,
        };
        let here: Vec<_> = errs
            .iter()
            .filter(|e| (e.line, e.column) == (Some(case.at.0), Some(case.at.1)))
            .collect();
        if here.is_empty() {
            let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
            wrong.push(format!(
                "{}: expected {}:{}, got {shown:?}",
                case.name, case.at.0, case.at.1
            ));
            continue;
        }
        located += 1;
        if here.iter().any(|e| e.message.contains(case.says)) {
            said += 1;
        } else {
            let shown: Vec<String> = here.iter().map(ToString::to_string).collect();
            wrong.push(format!(
                "{}: at the right place, but no message says `{}`: {shown:?}",
                case.name, case.says
            ));
        }
        for e in &errs {
            assert!(e.line.is_some() && e.column.is_some(), "{}: {e}", case.name);
        }
    }
    eprintln!(
        "located correctly: {located} of {}; with the expected words there: {said}",
        cases.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
