//! `app::buildspec::BUILD_INPUTS`, the files the image is built from and tagged by, against what cargo
//! says the build reads: every workspace member's manifest (cargo loads them all to resolve), the
//! lock, the Dockerfile and the sources of `app` and of its path dependencies. A member or a path
//! dependency that comes or goes fails here, with the list to paste.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use app::buildspec::{BUILD_INPUTS, DOCKERFILE};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

fn metadata() -> Value {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A path under the workspace root, relative to it, with `/`.
fn relative(path: &Path) -> String {
    let root = root().canonicalize().unwrap();
    let path = path
        .canonicalize()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path.strip_prefix(&root)
        .unwrap_or_else(|_| panic!("{} is outside the workspace", path.display()))
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn package_dir(package: &Value) -> PathBuf {
    Path::new(package["manifest_path"].as_str().unwrap())
        .parent()
        .unwrap()
        .to_owned()
}

/// The workspace members' packages.
fn members(metadata: &Value) -> Vec<&Value> {
    let ids: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| ids.contains(p["id"].as_str().unwrap()))
        .collect()
}

/// `app` and every package it reaches through path dependencies (normal and build, optional or not:
/// what `cargo build --package app` may compile), `app` first.
fn path_closure(metadata: &Value) -> Vec<&Value> {
    let packages = metadata["packages"].as_array().unwrap();
    let by_dir = |dir: &Path| {
        packages
            .iter()
            .find(|p| package_dir(p) == dir)
            .unwrap_or_else(|| panic!("no package at {}", dir.display()))
    };
    let app = packages.iter().find(|p| p["name"] == "app").expect("app");
    let mut closure = vec![app];
    let mut i = 0;
    while i < closure.len() {
        for d in closure[i]["dependencies"].as_array().unwrap() {
            let compiled = d["kind"].is_null() || d["kind"] == "build";
            if let (true, Some(path)) = (compiled, d["path"].as_str()) {
                let p = by_dir(Path::new(path));
                if !closure.iter().any(|c| c["id"] == p["id"]) {
                    closure.push(p);
                }
            }
        }
        i += 1;
    }
    closure
}

/// What `BUILD_INPUTS` should be, in its order.
fn expected() -> Vec<String> {
    let metadata = metadata();
    let mut manifests: Vec<String> = members(&metadata)
        .iter()
        .map(|p| relative(Path::new(p["manifest_path"].as_str().unwrap())))
        .collect();
    manifests.sort();
    let mut sources: Vec<String> = path_closure(&metadata)
        .iter()
        .map(|p| relative(&package_dir(p).join("src")))
        .collect();
    sources[1..].sort();
    let mut all = vec!["Cargo.toml".to_owned(), "Cargo.lock".to_owned()];
    all.extend(manifests);
    all.push(DOCKERFILE.to_owned());
    all.extend(sources);
    all
}

fn paste(list: &[String]) -> String {
    let mut s = String::from("pub const BUILD_INPUTS: &[&str] = &[\n");
    for p in list {
        if p == DOCKERFILE {
            s.push_str("    DOCKERFILE,\n");
        } else {
            s.push_str(&format!("    \"{p}\",\n"));
        }
    }
    s.push_str("];");
    s
}

#[test]
fn the_build_inputs_are_every_manifest_the_lock_and_the_sources_app_compiles() {
    let expected = expected();
    let listed: Vec<String> = BUILD_INPUTS.iter().map(|s| (*s).to_owned()).collect();
    let (want, have): (BTreeSet<&String>, BTreeSet<&String>) =
        (expected.iter().collect(), listed.iter().collect());
    let missing: Vec<&&String> = want.difference(&have).collect();
    let extra: Vec<&&String> = have.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && have.len() == listed.len(),
        "app::buildspec::BUILD_INPUTS is stale: missing {missing:?}, not a build input {extra:?}. Paste this \
         into app/src/buildspec.rs:\n{}",
        paste(&expected)
    );
    // The excluded AWS workspace is not a member, so not an input.
    assert!(!BUILD_INPUTS.iter().any(|p| p.starts_with("crates/berth-aws")));
}

#[test]
fn every_build_input_exists() {
    for p in BUILD_INPUTS {
        assert!(root().join(p).exists(), "{p} does not exist");
    }
}

#[test]
fn what_app_compiles_reads_nothing_outside_the_inputs() {
    let metadata = metadata();
    let closure = path_closure(&metadata);
    let source_dirs: Vec<PathBuf> = closure.iter().map(|p| package_dir(p).join("src")).collect();
    let inside = |path: &Path| source_dirs.iter().any(|d| path.starts_with(d));
    for p in &closure {
        let name = p["name"].as_str().unwrap();
        for t in p["targets"].as_array().unwrap() {
            let kinds: Vec<&str> = t["kind"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap())
                .collect();
            let src = Path::new(t["src_path"].as_str().unwrap());
            // A build script would run in the dependency stage against empty sources, and read
            // what the list does not know: none is supported.
            assert!(
                !kinds.contains(&"custom-build"),
                "{name} has a build script ({}): the Dockerfile's dependency stage and BUILD_INPUTS do \
                 not handle one",
                src.display()
            );
            if kinds
                .iter()
                .any(|k| ["lib", "rlib", "bin", "proc-macro"].contains(k))
            {
                assert!(
                    inside(src),
                    "{name}'s target {} is outside its src/",
                    src.display()
                );
            }
        }
    }
    // No include_str!/include_bytes!/include!/#[path] reaching outside the source directories.
    let mut files = Vec::new();
    for d in &source_dirs {
        rs_files(d, &mut files);
    }
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for needle in ["include_str!(", "include_bytes!(", "include!(", "#[path"] {
            for (at, _) in text.match_indices(needle) {
                let rest = &text[at + needle.len()..];
                let rest = rest.trim_start_matches([' ', '=']);
                let literal = rest
                    .strip_prefix('"')
                    .and_then(|r| r.split_once('"'))
                    .map(|(l, _)| l)
                    .unwrap_or_else(|| {
                        panic!(
                            "{}: {needle}...) with no plain string literal: cannot tell what it reads",
                            file.display()
                        )
                    });
                let target = normalize(&file.parent().unwrap().join(literal));
                assert!(
                    inside(&target),
                    "{}: {needle}\"{literal}\" reads {}, outside the build inputs",
                    file.display(),
                    target.display()
                );
            }
        }
    }
}

#[test]
fn dockerignore_admits_the_build_inputs() {
    // A local `docker build` from the repository root sees what CodeBuild's context holds.
    let text = std::fs::read_to_string(root().join(".dockerignore")).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut want = vec!["*".to_owned()];
    want.extend(BUILD_INPUTS.iter().map(|p| format!("!{p}")));
    assert_eq!(lines, want, ".dockerignore: `*`, then `!` each of BUILD_INPUTS");
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
