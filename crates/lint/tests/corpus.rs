//! Other people's templates: aws-cloudformation/aws-cloudformation-templates, vendored under
//! `tests/corpus/aws-cloudformation-templates/` with its licence files (the commit is in its
//! `SOURCE`). Every template the pinned cfn-lint reads without a parse error (`tests/corpus/accepted.txt`,
//! written by `tests/corpus/refresh.py`) is read by `cfn::raw` within a time bound and linted without
//! a panic; what berth's rules find in them is a snapshot (`snapshots/corpus__findings.snap`), each
//! finding reviewed (see the rule tests for the false positives fixed).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long reading one template may take (the largest is 59 kB; a debug build reads it in
/// milliseconds).
const PARSE_BOUND: Duration = Duration::from_secs(2);

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// The vendored templates cfn-lint accepts, as paths relative to the vendored directory.
fn accepted() -> Vec<String> {
    std::fs::read_to_string(corpus().join("accepted.txt"))
        .expect("tests/corpus/accepted.txt: run tests/corpus/refresh.py")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

struct Outcome {
    file: String,
    parsed: Result<(), String>,
    parse_time: Duration,
    report: Result<lint::Report, String>,
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}

/// Reads and lints every accepted template on a worker thread; a template that takes longer than
/// the bound (a hang) fails the test instead of stalling it.
fn run() -> Vec<Outcome> {
    let files = accepted();
    let dir = corpus().join("aws-cloudformation-templates");
    let (tx, rx) = mpsc::channel();
    let work = files.clone();
    std::thread::spawn(move || {
        for file in work {
            let text = std::fs::read(dir.join(&file)).unwrap_or_default();
            let start = Instant::now();
            let parsed = catch_unwind(AssertUnwindSafe(|| cfn::raw::parse_template_bytes(&text)))
                .map_err(|p| format!("panicked: {}", panic_text(&*p)))
                .and_then(|r| r.map(drop).map_err(|e| e.to_string()));
            let parse_time = start.elapsed();
            let report = catch_unwind(AssertUnwindSafe(|| lint::lint_bytes(&text).1))
                .map_err(|p| format!("panicked: {}", panic_text(&*p)));
            let outcome = Outcome {
                file,
                parsed,
                parse_time,
                report,
            };
            if tx.send(outcome).is_err() {
                return;
            }
        }
    });
    files
        .iter()
        .map(|f| {
            rx.recv_timeout(PARSE_BOUND * 5)
                .unwrap_or_else(|_| panic!("{f}: not read and linted within {:?}", PARSE_BOUND * 5))
        })
        .collect()
}

#[test]
fn every_template_cfn_lint_reads_is_read_and_linted() {
    let outcomes = run();
    let source = std::fs::read_to_string(corpus().join("aws-cloudformation-templates/SOURCE")).unwrap();
    let vendored: usize = source
        .lines()
        .find_map(|l| l.strip_prefix("templates "))
        .and_then(|n| n.parse().ok())
        .expect("SOURCE names the number of templates");
    assert!(
        outcomes.len() >= 250,
        "only {} accepted templates",
        outcomes.len()
    );

    let mut failures = Vec::new();
    for o in &outcomes {
        if let Err(e) = &o.parsed {
            failures.push(format!("{}: does not parse: {e}", o.file));
        }
        if o.parse_time > PARSE_BOUND {
            failures.push(format!(
                "{}: read in {:?} (bound {PARSE_BOUND:?})",
                o.file, o.parse_time
            ));
        }
        if let Err(e) = &o.report {
            failures.push(format!("{}: lint {e}", o.file));
        }
    }
    let parsed = outcomes.iter().filter(|o| o.parsed.is_ok()).count();
    assert!(
        failures.is_empty(),
        "{parsed} of {} accepted templates ({vendored} vendored) read:\n{}",
        outcomes.len(),
        failures.join("\n")
    );

    // What the rules find, per rule and per finding: the snapshot is the review list.
    let mut per_rule: Vec<(&str, usize)> = lint::rules().iter().map(|r| (r.code, 0)).collect();
    let mut lines = Vec::new();
    for o in &outcomes {
        let Ok(report) = &o.report else { continue };
        for f in &report.findings {
            if let Some(n) = per_rule.iter_mut().find(|(c, _)| *c == f.code()) {
                n.1 += 1;
            }
            let at = f
                .location
                .as_ref()
                .map(|l| format!(":{}:{}", l.line, l.column))
                .unwrap_or_default();
            lines.push(
                format!("{}{at}: {f}", o.file)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
    }
    let mut summary = vec![
        format!(
            "{vendored} templates vendored, {} accepted by cfn-lint, {parsed} read by cfn::raw",
            outcomes.len()
        ),
        String::new(),
        "| rule | findings |".to_owned(),
        "|---|---|".to_owned(),
    ];
    summary.extend(
        per_rule
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| format!("| {c} | {n} |")),
    );
    summary.push(String::new());
    summary.extend(lines);
    insta::assert_snapshot!("findings", summary.join("\n"));
}

/// splitmix64, for the mutations below: the same every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n.max(1) as u64) as usize
    }
}

/// Replaces the `n`th value of `v` (in document order) with `with`; returns how many it saw.
fn replace_nth(v: &mut serde_json::Value, n: &mut usize, with: &serde_json::Value) -> bool {
    if *n == 0 {
        *v = with.clone();
        return true;
    }
    *n -= 1;
    match v {
        serde_json::Value::Array(a) => a.iter_mut().any(|x| replace_nth(x, n, with)),
        serde_json::Value::Object(m) => m.values_mut().any(|x| replace_nth(x, n, with)),
        _ => false,
    }
}

fn size(v: &serde_json::Value) -> usize {
    1 + match v {
        serde_json::Value::Array(a) => a.iter().map(size).sum(),
        serde_json::Value::Object(m) => m.values().map(size).sum(),
        _ => 0,
    }
}

#[test]
fn the_rules_survive_values_of_unexpected_shapes() {
    // Every rule reads properties of the shapes the schemas give; in other people's templates
    // (and in parameters, conditions and functions) any value can be anything.
    let shapes = [
        serde_json::json!(null),
        serde_json::json!(-1),
        serde_json::json!("*"),
        serde_json::json!(["0.0.0.0/0", {"Ref": "AWS::NoValue"}]),
        serde_json::json!({"Ref": "Missing"}),
        serde_json::json!({"Fn::If": ["C", {"Fn::GetAtt": ["X", "Arn"]}, {"Ref": "AWS::NoValue"}]}),
        serde_json::json!({"Fn::Join": ["", [1, {"Ref": "X"}, [2]]]}),
        serde_json::json!({"Fn::Sub": [["not text"], {"A": 1}]}),
        serde_json::json!({}),
    ];
    let dir = corpus().join("aws-cloudformation-templates");
    let mut rng = Rng(0x5eed_00c0);
    let files = accepted();
    let mut panics = Vec::new();
    let start = Instant::now();
    for file in files.iter().step_by(3) {
        let text = std::fs::read(dir.join(file)).unwrap();
        let Ok(template) = cfn::raw::parse_template_bytes(&text) else {
            continue;
        };
        for _ in 0..6 {
            let mut mutated = template.clone();
            let at = rng.below(size(&mutated));
            let with = &shapes[rng.below(shapes.len())];
            replace_nth(&mut mutated, &mut at.clone(), with);
            if catch_unwind(AssertUnwindSafe(|| lint::lint_template(&mutated, None))).is_err() {
                panics.push(format!("{file}: {with} as its value number {at}"));
            }
        }
    }
    assert!(panics.is_empty(), "{}", panics.join("\n"));
    assert!(start.elapsed() < PARSE_BOUND * 5, "took {:?}", start.elapsed());
}
