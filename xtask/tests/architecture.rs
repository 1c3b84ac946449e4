//! ARCHITECTURE.md's invariants about dependencies.
//!
//! Read from `cargo tree -p <package>`, which resolves features for that package alone, as building it
//! does (`cargo metadata` unifies features across the workspace and would show the app's server
//! dependencies under xtask, which `cargo xtask synth` never compiles).

use std::collections::BTreeSet;
use std::process::Command;

/// The names of the packages `package` depends on through `edges` (`normal`, `normal,build`), down to
/// `depth` levels (all when None); the package itself excluded.
fn cargo_tree(package: &str, edges: &str, depth: Option<u32>) -> BTreeSet<String> {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.arg("tree");
    if package == "berth-aws" {
        // The AWS half is a workspace of its own.
        cmd.args(["--manifest-path", "../crates/berth-aws/Cargo.toml"]);
    }
    cmd.args([
        "--offline",
        "-p",
        package,
        "-e",
        edges,
        "--prefix",
        "none",
        "--format",
        "{p}",
    ])
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(d) = depth {
        cmd.args(["--depth", &d.to_string()]);
    }
    let out = cmd.output().expect("cargo tree runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != package)
        .map(str::to_owned)
        .collect()
}

/// Every package `package` depends on (normal and build dependencies, transitively).
fn tree(package: &str) -> BTreeSet<String> {
    cargo_tree(package, "normal,build", None)
}

/// The direct dependencies of `package`.
fn direct(package: &str) -> BTreeSet<String> {
    cargo_tree(package, "normal", Some(1))
}

#[test]
fn app_and_infra_meet_only_in_pipeline_model() {
    assert!(!tree("app").contains("infra"), "app depends on infra");
    assert!(!tree("infra").contains("app"), "infra depends on app");
    assert!(
        direct("app").contains("pipeline-model"),
        "app must depend on pipeline-model"
    );
    assert!(
        direct("infra").contains("pipeline-model"),
        "infra must depend on pipeline-model"
    );
}

#[test]
fn the_contract_needs_nothing_but_serde() {
    let deps = tree("pipeline-model");
    let allowed = [
        "serde",
        "serde_core",
        "serde_derive",
        "proc-macro2",
        "quote",
        "syn",
        "unicode-ident",
    ];
    let extra: Vec<&String> = deps.iter().filter(|d| !allowed.contains(&d.as_str())).collect();
    assert!(
        extra.is_empty(),
        "pipeline-model does no I/O and needs only serde; it depends on {extra:?}"
    );
}

#[test]
fn the_template_language_knows_cloudformation_not_berth() {
    let deps = tree("cfn");
    for ours in ["pipeline-model", "infra", "app", "xtask"] {
        assert!(!deps.contains(ours), "cfn depends on {ours}");
    }
}

#[test]
fn nothing_on_the_synth_path_compiles_the_aws_sdk_or_the_app_server() {
    let deps = tree("xtask");
    let heavy: Vec<&String> = deps
        .iter()
        .filter(|d| d.starts_with("aws-") || d.starts_with("hyper") || *d == "tokio" || *d == "axum")
        .collect();
    assert!(heavy.is_empty(), "`cargo xtask synth` would compile {heavy:?}");
    assert!(
        deps.contains("app") && deps.contains("infra"),
        "xtask renders the buildspec and the templates"
    );
}

#[test]
fn only_berth_aws_talks_to_aws() {
    for package in [
        "app",
        "infra",
        "cfn",
        "cli",
        "environment",
        "pipeline-model",
        "test-support",
        "xtask",
    ] {
        let sdk: Vec<String> = tree(package)
            .into_iter()
            .filter(|d| d.starts_with("aws-"))
            .collect();
        assert!(
            sdk.is_empty(),
            "{package} depends on {sdk:?}: only berth-aws talks to AWS"
        );
    }
    let deps = direct("berth-aws");
    for sdk in ["aws-sdk-cloudformation", "aws-sdk-ssm"] {
        assert!(deps.contains(sdk), "berth-aws uses {sdk}");
    }
}

#[test]
fn the_rules_know_cloudformation_and_the_contract_never_a_stage() {
    let deps = tree("lint");
    for ours in ["infra", "app", "xtask", "berth-aws", "test-support"] {
        assert!(!deps.contains(ours), "lint depends on {ours}");
    }
    let direct = direct("lint");
    assert!(
        direct.contains("cfn") && direct.contains("pipeline-model"),
        "{direct:?}"
    );
}

#[test]
fn the_flag_grammar_needs_nothing_but_clap() {
    let direct = direct("cli");
    assert_eq!(
        direct.into_iter().collect::<Vec<_>>(),
        ["clap"],
        "crates/cli: no I/O, no SDK"
    );
}

/// The sections of a TOML file by header (`[workspace.dependencies]`), each as its lines of
/// `key = value` (comments and blank lines dropped).
fn toml_sections(text: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out = std::collections::BTreeMap::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            current = line.to_owned();
        } else if !line.is_empty() && !line.starts_with('#') {
            out.entry(current.clone())
                .or_insert_with(Vec::new)
                .push(line.to_owned());
        }
    }
    out
}

/// `name version` of every package in a Cargo.lock.
fn locked(text: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            out.insert((n, v.trim_matches('"').to_owned()));
        }
    }
    out
}

#[test]
fn the_two_workspaces_agree_on_everything_they_share() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    let (main, aws) = (
        toml_sections(&read("Cargo.toml")),
        toml_sections(&read("crates/berth-aws/Cargo.toml")),
    );
    // The SDK is declared in the AWS workspace only; what both declare, they declare alike.
    let deps =
        |m: &std::collections::BTreeMap<String, Vec<String>>| -> std::collections::BTreeMap<String, String> {
            m["[workspace.dependencies]"]
                .iter()
                .filter_map(|l| l.split_once(" = ").map(|(k, v)| (k.to_owned(), v.to_owned())))
                .collect()
        };
    let (main_deps, aws_deps) = (deps(&main), deps(&aws));
    assert!(
        !main_deps.keys().any(|k| k.starts_with("aws-")),
        "the AWS SDK in the main workspace"
    );
    let mut shared = 0;
    for (name, req) in &aws_deps {
        if let Some(main_req) = main_deps.get(name) {
            shared += 1;
            if !req.contains("path = ") {
                assert_eq!(
                    req, main_req,
                    "{name}: crates/berth-aws/Cargo.toml and Cargo.toml differ"
                );
            }
        }
    }
    assert!(
        shared >= 10,
        "the AWS workspace names the main one's crates and shared dependencies"
    );
    for section in [
        "[workspace.lints.rust]",
        "[workspace.lints.clippy]",
        "[profile.dev]",
        "[profile.dev.package.\"*\"]",
    ] {
        assert_eq!(
            main.get(section),
            aws.get(section),
            "{section} differs between the workspaces"
        );
    }
    for field in ["version", "edition", "rust-version", "license"] {
        let in_main = main["[workspace.package]"]
            .iter()
            .find(|l| l.starts_with(&format!("{field} =")));
        let in_aws = aws["[package]"]
            .iter()
            .find(|l| l.starts_with(&format!("{field} =")));
        assert_eq!(in_main, in_aws, "package field {field}");
    }
    // The same versions of each package both lock files hold (one may need more of them than the
    // other: the SDK also pulls in an older `getrandom`).
    let (main_lock, aws_lock) = (
        locked(&read("Cargo.lock")),
        locked(&read("crates/berth-aws/Cargo.lock")),
    );
    let versions = |lock: &BTreeSet<(String, String)>, name: &str| -> Vec<String> {
        lock.iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let names: BTreeSet<&String> = main_lock.iter().map(|(n, _)| n).collect();
    let mut common = 0;
    for name in names {
        let (m, a) = (versions(&main_lock, name), versions(&aws_lock, name));
        if !a.is_empty() {
            common += 1;
            let (ms, as_): (BTreeSet<&String>, BTreeSet<&String>) = (m.iter().collect(), a.iter().collect());
            assert!(
                ms.is_subset(&as_) || as_.is_subset(&ms),
                "{name}: {m:?} in Cargo.lock, {a:?} in crates/berth-aws/Cargo.lock: different versions\nhint: `cargo update -p {name} --precise VERSION` in the one behind (add `--manifest-path crates/berth-aws/Cargo.toml` for the AWS workspace)"
            );
        }
    }
    assert!(
        common > 50,
        "the lock files share the common dependencies ({common})"
    );
    assert!(
        !main_lock.iter().any(|(n, _)| n.starts_with("aws-sdk")),
        "the SDK in the main lock file"
    );
}

/// `text` with its comments and its string and character literals blanked (lengths kept), so that
/// `crate::` in a doc comment or in generated code held in a string is not a reference.
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |out: &mut String, s: &[char]| {
        out.extend(s.iter().map(|&ch| if ch == '\n' { '\n' } else { ' ' }));
    };
    while i < c.len() {
        let rest = &c[i..];
        let starts = |p: &str| rest.iter().take(p.len()).copied().eq(p.chars());
        let ident_before = i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_');
        let end = if starts("//") {
            Some(rest.iter().position(|&ch| ch == '\n').unwrap_or(rest.len()))
        } else if starts("/*") {
            let (mut depth, mut j) = (0usize, 0);
            while j < rest.len() {
                if rest[j..].starts_with(&['/', '*']) {
                    depth += 1;
                    j += 2;
                } else if rest[j..].starts_with(&['*', '/']) {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            Some(j)
        } else if !ident_before && (starts("r\"") || starts("r#") || starts("br\"") || starts("br#")) {
            let from = if rest[0] == 'b' { 2 } else { 1 };
            let hashes = rest[from..].iter().take_while(|&&ch| ch == '#').count();
            if rest.get(from + hashes) == Some(&'"') {
                let close: Vec<char> = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let body = from + hashes + 1;
                let at = (body..rest.len()).find(|&j| rest[j..].starts_with(&close));
                Some(at.map_or(rest.len(), |j| j + close.len()))
            } else {
                None
            }
        } else if rest[0] == '"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != '"' {
                j += if rest[j] == '\\' { 2 } else { 1 };
            }
            Some((j + 1).min(rest.len()))
        } else if rest[0] == '\'' {
            // A character literal ('x', '\n', '\u{1F600}'), not a lifetime ('a).
            if rest.get(1) == Some(&'\\') {
                (2..rest.len()).find(|&j| rest[j] == '\'').map(|j| j + 1)
            } else if rest.get(2) == Some(&'\'') {
                Some(3)
            } else {
                None
            }
        } else {
            None
        };
        match end {
            Some(n) => {
                blank(&mut out, &rest[..n]);
                i += n;
            }
            None => {
                out.push(rest[0]);
                i += 1;
            }
        }
    }
    out
}

/// The module paths `code` names after `crate::` (each a list of segments), groups
/// (`crate::{a, b::c}`) spread out; `$crate::` (a macro's) excluded.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    fn segments(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        for seg in s.split("::") {
            let ident: String = seg
                .trim()
                .chars()
                .take_while(|ch| ch.is_alphanumeric() || *ch == '_')
                .collect();
            if ident.is_empty() || ident.len() != seg.trim().len() && !seg.trim().starts_with(&ident) {
                break;
            }
            let whole = ident.len() == seg.trim().len();
            out.push(ident);
            if !whole {
                break;
            }
        }
        out
    }
    let mut out = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|ch| ch.is_alphanumeric() || ch == '_' || ch == '$') {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The group's top-level items.
            let (mut depth, mut item, mut items) = (0, String::new(), Vec::new());
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(std::mem::take(&mut item));
                        continue;
                    }
                    _ => {}
                }
                item.push(ch);
            }
            items.push(item);
            out.extend(items.iter().map(|i| segments(i)).filter(|s| !s.is_empty()));
        } else {
            let path: String = rest
                .chars()
                .take_while(|ch| ch.is_alphanumeric() || *ch == '_' || *ch == ':')
                .collect();
            let s = segments(&path);
            if !s.is_empty() {
                out.push(s);
            }
        }
    }
    out
}

/// The crate's module file for a module path: `src/a/b.rs` or `src/a/b/mod.rs`, else its parent's.
fn module_file(src: &std::path::Path, path: &[String]) -> Option<std::path::PathBuf> {
    (1..=path.len()).rev().find_map(|n| {
        let rel: std::path::PathBuf = path[..n].iter().collect();
        let file = src.join(&rel).with_extension("rs");
        let dir = src.join(&rel).join("mod.rs");
        [file, dir].into_iter().find(|f| f.is_file())
    })
}

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The module of a file: `src/a.rs` and `src/a/mod.rs` are `a`; the crate root is none.
fn module_of(src: &std::path::Path, file: &std::path::Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut segs: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    if segs.last().is_some_and(|l| l == "mod") || (segs.len() == 1 && (segs[0] == "lib" || segs[0] == "main"))
    {
        segs.pop();
    }
    segs
}

/// The cycles among `src`'s files through `crate::` references: each as `a.rs -> b.rs -> a.rs`. A
/// file naming its own module or an enclosing one (what `super::` also reaches) is no edge, nor is the
/// crate root (which declares every module).
fn module_cycles(src: &std::path::Path) -> Vec<String> {
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.retain(|f| !f.starts_with(src.join("bin")));
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for file in &files {
        let me = module_of(src, file);
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        let targets = edges.entry(file.clone()).or_default();
        for path in crate_paths(&code) {
            let Some(target) = module_file(src, &path) else {
                continue; // an item of the crate root
            };
            let them = module_of(src, &target);
            if them.is_empty() || me.starts_with(&them) {
                continue;
            }
            targets.insert(target);
        }
    }
    // Depth-first, each back edge a cycle.
    fn visit(
        node: &PathBuf,
        edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        stack: &mut Vec<PathBuf>,
        done: &mut BTreeSet<PathBuf>,
        found: &mut BTreeSet<Vec<PathBuf>>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            // The same cycle from whichever file it was entered.
            let min = cycle
                .iter()
                .enumerate()
                .min_by_key(|(_, p)| (*p).clone())
                .map(|(i, _)| i)
                .unwrap();
            cycle.rotate_left(min);
            found.insert(cycle);
            return;
        }
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, stack, done, found);
        }
        stack.pop();
        done.insert(node.clone());
    }
    let (mut stack, mut done, mut found) = (Vec::new(), BTreeSet::new(), BTreeSet::new());
    for node in edges.keys() {
        visit(node, &edges, &mut stack, &mut done, &mut found);
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    found
        .into_iter()
        .map(|cycle| {
            let name = |p: &PathBuf| p.strip_prefix(root).unwrap_or(p).display().to_string();
            let mut names: Vec<String> = cycle.iter().map(name).collect();
            names.push(name(&cycle[0]));
            names.join(" -> ")
        })
        .collect()
}

/// Every crate of both workspaces: the directories with a `Cargo.toml` and a `src/`.
fn crate_dirs() -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut dirs: Vec<std::path::PathBuf> = ["app", "infra", "xtask"].iter().map(|d| root.join(d)).collect();
    let mut crates: Vec<_> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    crates.sort();
    dirs.extend(crates);
    dirs
}

#[test]
fn no_module_of_any_crate_reaches_itself_through_others() {
    let dirs = crate_dirs();
    for must in ["crates/berth-aws", "crates/cfn", "xtask", "infra", "app"] {
        assert!(dirs.iter().any(|d| d.ends_with(must)), "{must} is not checked");
    }
    let mut cycles = Vec::new();
    for dir in &dirs {
        let src = dir.join("src");
        assert!(src.is_dir(), "{} has no src/", dir.display());
        cycles.extend(module_cycles(&src));
    }
    assert!(
        cycles.is_empty(),
        "modules that reference each other through `crate::` (issue 10 forbids file cycles): move what \
         both use to the module it belongs to, or a small module of its own:\n  {}",
        cycles.join("\n  ")
    );
}

/// The cycle finder on a crate made for it: it finds the cycle, names its files, and reads past
/// comments, strings and groups.
#[test]
fn the_cycle_check_finds_a_cycle_and_only_code_makes_one() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("k").join("src");
    std::fs::create_dir_all(src.join("c")).unwrap();
    let write = |p: &str, t: &str| std::fs::write(src.join(p), t).unwrap();
    write("lib.rs", "mod a; mod b; mod c; pub struct Root;\n");
    write("a.rs", "use crate::{Root, b::{self, B}};\npub struct A;\n");
    write("b.rs", "pub struct B;\nfn f() -> crate::a::A { todo!() }\n");
    // Comments, strings and a macro's `$crate` name no module; a child naming its parent is no edge.
    write(
        "c/mod.rs",
        "// crate::a::A\nconst S: &str = \"crate::a\";\nconst R: &str = r#\"crate::b\"#;\nmacro_rules! m { () => { $crate::a::A } }\nmod d;\npub struct C<'x>(&'x u8, char);\nconst Q: char = '\\'';\n",
    );
    write("c/d.rs", "use crate::c::C;\n");
    let cycles = module_cycles(&src);
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    let files: Vec<&str> = cycles[0]
        .split(" -> ")
        .map(|f| f.rsplit("/k/").next().unwrap())
        .collect();
    assert_eq!(files, ["src/a.rs", "src/b.rs", "src/a.rs"], "{cycles:?}");
    // Break it: no cycle.
    write("b.rs", "pub struct B;\n");
    assert_eq!(module_cycles(&src), Vec::<String>::new());
    // A reference from inside a string does not make one.
    write("b.rs", "pub struct B;\nconst G: &str = \"use crate::a::A;\";\n");
    assert_eq!(module_cycles(&src), Vec::<String>::new());
}
