//! The stage parser against arbitrary input: random bytes, random YAML, the example stage mutated at
//! random, and pathological texts. For each: no panic, an answer within a time bound, and every error
//! names the file and, when the input has lines, a line and column within it. A small deterministic
//! PRNG drives it (no dependency), so a failure names a case that can be replayed.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{Duration, Instant};

use infra::Stage;

const GOOD: &str = include_str!("../stages/dev.yaml");

/// xorshift64*: small, fast and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn word(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len())]
    }
}

/// Bytes YAML gives meaning to, and some that are not UTF-8 on their own.
const SIGNIFICANT: &[u8] = b":-? \n\t\"'[]{},#&*!|>%@`\\\r0aZ.~\xff\xc3\xa9\x00";

const KEYS: &[&str] = &[
    "app",
    "region",
    "network",
    "vpc_id",
    "load_balancer_subnet_ids",
    "instance_subnet_ids",
    "load_balancer",
    "certificate_arn",
    "source",
    "connection_arn",
    "repository",
    "branch",
    "paths",
    "deploy",
    "approval",
    "notify",
    "instances",
    "instance_type",
    "ami",
    "min",
    "max",
    "service",
    "cpu",
    "memory",
    "time_zone",
    "scaling",
    "cpu_percent",
    "legacy_github_oauth",
    "x",
    "\"q: uoted\"",
];

const SCALARS: &[&str] = &[
    "sample",
    "ap-northeast-1",
    "vpc-0123456789abcdef0",
    "subnet-0123456789abcdef0",
    "t3.small",
    "2",
    "-1",
    "1.5",
    "true",
    "~",
    "\"ma\\0in\"",
    "'it''s'",
    "Asia/Tokyo",
    "99999999999999999999999",
    "&a x",
    "*a",
    "!tag v",
    "|\n  block\n",
    "\"unclosed",
    "[a, b]",
    "{k: v}",
    "ghp_",
    "",
];

fn random_yaml(rng: &mut Rng, depth: usize, indent: usize, out: &mut String) {
    let n = 1 + rng.below(5);
    for _ in 0..n {
        out.push_str(&" ".repeat(indent));
        if rng.below(4) == 0 {
            out.push_str("- ");
        }
        out.push_str(rng.word(KEYS));
        out.push(':');
        if depth < 4 && rng.below(3) == 0 {
            out.push('\n');
            let deeper = indent + 1 + rng.below(3);
            random_yaml(rng, depth + 1, deeper, out);
        } else if rng.below(5) == 0 {
            let (a, b) = (rng.word(SCALARS), rng.word(SCALARS));
            out.push_str(&format!(" [{a}, {b}]\n"));
        } else {
            out.push(' ');
            out.push_str(rng.word(SCALARS));
            if rng.below(6) == 0 {
                out.push_str(" # comment");
            }
            out.push('\n');
        }
    }
}

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut b = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        if b.is_empty() {
            b.push(*rng.pick(SIGNIFICANT));
            continue;
        }
        let i = rng.below(b.len());
        match rng.below(6) {
            0 => b[i] = *rng.pick(SIGNIFICANT),
            1 => {
                b.insert(i, *rng.pick(SIGNIFICANT));
            }
            2 => {
                let end = (i + rng.below(40)).min(b.len());
                b.drain(i..end);
            }
            3 => {
                // Duplicate a line.
                let start = b[..i].iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1);
                let end = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |p| i + p + 1);
                let line = b[start..end].to_vec();
                b.splice(end..end, line);
            }
            4 => {
                // Indent or dedent a line.
                let start = b[..i].iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1);
                if rng.below(2) == 0 {
                    b.insert(start, b' ');
                } else if b.get(start) == Some(&b' ') {
                    b.remove(start);
                }
            }
            _ => b.truncate(i),
        }
    }
    b
}

/// Parses one input and checks the answer; returns how long it took.
fn check(case: &str, bytes: &[u8]) -> Duration {
    let path = Path::new("stages/dev.yaml");
    let started = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| Stage::parse_bytes(path, bytes)));
    let took = started.elapsed();
    let result = result.unwrap_or_else(|_| {
        panic!(
            "{case}: the parser panicked on {:?}",
            String::from_utf8_lossy(bytes)
        )
    });
    let lines = bytes.split(|&b| b == b'\n').count() - usize::from(bytes.ends_with(b"\n"));
    if let Err(errors) = result {
        assert!(!errors.is_empty(), "{case}: an Err without errors");
        for e in errors {
            assert_eq!(e.file, path, "{case}: {e}");
            if !bytes.is_empty() {
                let (Some(line), Some(column)) = (e.line, e.column) else {
                    panic!("{case}: no line for {e} in {:?}", String::from_utf8_lossy(bytes));
                };
                assert!(
                    (1..=lines.max(1) + 1).contains(&line) && column >= 1,
                    "{case}: {line}:{column} is outside the input's {lines} lines: {e}"
                );
            }
            assert!(
                e.message.len() < 4096,
                "{case}: a message of {} bytes",
                e.message.len()
            );
        }
    }
    took
}

/// Peak resident memory of this process in KiB (Linux), to show it stays bounded.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[test]
fn the_stage_parser_answers_every_input_in_bounded_time_and_says_where() {
    let started = Instant::now();
    let mut rng = Rng(0x5eed_ba5e_0fbe_2701);
    let mut slowest = Duration::ZERO;
    let mut cases = 0;
    let mut run = |case: String, bytes: Vec<u8>, slowest: &mut Duration| {
        let took = check(&case, &bytes);
        assert!(took < Duration::from_millis(500), "{case}: took {took:?}");
        *slowest = (*slowest).max(took);
        cases += 1;
    };
    for i in 0..1000 {
        let len = rng.below(300);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if rng.below(3) == 0 {
                    rng.next() as u8
                } else {
                    *rng.pick(SIGNIFICANT)
                }
            })
            .collect();
        run(format!("random bytes #{i}"), bytes, &mut slowest);
    }
    for i in 0..1000 {
        let bytes = mutate(&mut rng, GOOD.as_bytes());
        run(format!("mutated dev.yaml #{i}"), bytes, &mut slowest);
    }
    for i in 0..600 {
        let mut text = String::new();
        random_yaml(&mut rng, 0, 0, &mut text);
        run(format!("random YAML #{i}"), text.into_bytes(), &mut slowest);
    }
    let pathological: Vec<(&str, Vec<u8>)> = vec![
        ("deep flow nesting", "a: ".bytes().chain(std::iter::repeat_n(b'[', 50_000)).collect()),
        ("deep block nesting", (0..300).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect::<String>().into_bytes()),
        (
            "an alias bomb",
            b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n".to_vec(),
        ),
        // Inputs at the size bound take a few seconds in a debug build (the YAML parser is unoptimized
        // there); an eighth of it keeps this test quick.
        ("a 128 KiB line", vec![b'a'; 1 << 17]),
        ("a 96 KiB flow list", format!("a: [{}]", "x, ".repeat(1 << 15)).into_bytes()),
        ("many keys", (0..5_000).map(|i| format!("k{i}: v\n")).collect::<String>().into_bytes()),
        ("an unclosed quote and 128 KiB", [b"app: \"".as_slice(), &vec![b'x'; 1 << 17]].concat()),
        ("only a BOM", b"\xef\xbb\xbf".to_vec()),
        ("NUL bytes", vec![0; 100]),
        ("CRLF lines", GOOD.replace('\n', "\r\n").into_bytes()),
        ("many token prefixes", "ghp_".repeat(1 << 14).into_bytes()),
    ];
    for (name, bytes) in pathological {
        let took = check(name, &bytes);
        eprintln!("{name}: {took:?}");
        assert!(took < Duration::from_secs(2), "{name}: took {took:?}");
        cases += 1;
    }
    if let Some(kib) = peak_rss_kib() {
        assert!(kib < 1024 * 1024, "peak memory {kib} KiB");
    }
    eprintln!(
        "{cases} inputs in {:?}, the slowest generated one {slowest:?}, peak memory {:?} KiB",
        started.elapsed(),
        peak_rss_kib()
    );
}
