//! The commands that talk to AWS (deploy, diff, destroy, status, rollback, secrets, ami, pipeline,
//! service, logs, drift) live in `crates/berth-aws`, which compiles the AWS SDK and is a workspace of
//! its own (its lock file holds the SDK; the main one does not). xtask has parsed their flags already
//! (`crates/cli`); it hands them over by building that crate with cargo and running its binary, so
//! that `cargo xtask synth` and the other light commands never compile the SDK.
//!
//! Asking cargo whether the binary is fresh costs about 0.14 s here (it fingerprints the whole SDK),
//! a third of a no-change deploy against an emulator. So a successful build leaves a stamp dated when
//! the build started, and while no file the binary was built from is newer than the stamp, xtask runs
//! the binary without asking cargo again.
//!
//! `BERTH_AWS_BINARY` names a berth-aws binary to run instead of building one: `cargo xtask ci` points
//! it at the binary berth-aws's own `cargo test` just built, so the SDK is compiled once per run, not
//! twice (the test build turns on the SDK's `test-util` features, and cargo would rebuild without them).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use crate::util;

/// Names the berth-aws binary to run instead of building one.
pub const BINARY_VAR: &str = "BERTH_AWS_BINARY";

/// Runs `berth-aws <args>` in place of this process (its exit code is the command's). `args` have
/// been parsed with the same grammar already: berth-aws parses them again, never differently.
pub fn run(args: Vec<OsString>) -> Result<()> {
    let root = util::project_root();
    let binary = match std::env::var_os(BINARY_VAR).filter(|v| !v.is_empty()) {
        Some(given) => given_binary(PathBuf::from(given))?,
        None => built_binary(&root)?,
    };
    let mut cmd = Command::new(&binary);
    cmd.current_dir(&root).args(args);
    exec(cmd)
}

/// The binary `BERTH_AWS_BINARY` names, which must exist.
fn given_binary(binary: PathBuf) -> Result<PathBuf> {
    if !binary.is_file() {
        bail!(
            "{BINARY_VAR}={}: no such file\nhint: point it at a built berth-aws binary, or unset it to have xtask build one",
            binary.display()
        );
    }
    Ok(binary)
}

/// `target/debug/berth-aws`, built first unless the stamp shows it is fresh.
#[allow(clippy::print_stderr, reason = "progress of an xtask command")]
fn built_binary(root: &Path) -> Result<PathBuf> {
    let binary = util::target_dir().join("debug/berth-aws");
    let stamp = binary.with_file_name("berth-aws.built-from");
    if !is_fresh(&binary, &stamp, root) {
        let started = SystemTime::now();
        let mut build = util::cargo();
        build.args([
            "build",
            "--manifest-path",
            util::AWS_MANIFEST,
            "--bin",
            "berth-aws",
        ]);
        if binary.exists() {
            // Usually nothing to do: keep cargo's "Finished" line out of the command's output.
            build.arg("--quiet");
        } else {
            eprintln!("building berth-aws (the AWS SDK: a couple of minutes, the first time only)");
        }
        let status = build
            .status()
            .with_context(|| format!("running `{}`", util::show(&build)))?;
        if !status.success() {
            bail!("`{}` failed ({status})", util::show(&build));
        }
        write_stamp(&stamp, started)?;
    }
    Ok(binary)
}

/// Records that cargo found the binary fresh as of `when` (the stamp's mtime).
fn write_stamp(stamp: &Path, when: SystemTime) -> Result<()> {
    util::write_atomic(
        stamp,
        b"berth: cargo built target/debug/berth-aws from the sources as of this file's mtime\n",
    )?;
    std::fs::File::options()
        .write(true)
        .open(stamp)
        .and_then(|f| f.set_modified(when))
        .with_context(|| format!("dating {}", stamp.display()))
}

#[cfg(unix)]
fn exec(mut cmd: Command) -> Result<()> {
    use std::os::unix::process::CommandExt;
    // Replace this process: Ctrl-C reaches berth-aws alone, and its exit code is ours.
    let err = cmd.exec();
    Err(err).with_context(|| format!("running `{}`", util::show(&cmd)))
}

#[cfg(not(unix))]
fn exec(mut cmd: Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("running `{}`", util::show(&cmd)))?;
    std::process::exit(status.code().unwrap_or(1));
}

/// True when cargo built `binary` (the stamp says when the build started) after the last change to
/// every file it is built from: the sources and included files its dep-info (`<binary>.d`, written by
/// cargo) lists, the workspace's manifests, its lock file and cargo configuration. Cargo decides the
/// freshness of path dependencies by the same mtimes; anything unreadable or missing means "ask cargo".
fn is_fresh(binary: &Path, stamp: &Path, root: &Path) -> bool {
    let Some(built) = mtime(stamp) else { return false };
    if !binary.exists() {
        return false;
    }
    let Ok(dep_info) = std::fs::read_to_string(binary.with_extension("d")) else {
        return false;
    };
    let Some(mut files) = dep_info_inputs(&dep_info) else {
        return false;
    };
    files.extend(
        [
            "Cargo.toml",
            "Cargo.lock",
            ".cargo/config.toml",
            util::AWS_MANIFEST,
            util::AWS_LOCK_FILE,
        ]
        .map(|f| root.join(f)),
    );
    for dir in [root.to_path_buf(), root.join("crates")] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return false;
        };
        files.extend(
            entries
                .flatten()
                .map(|e| e.path().join("Cargo.toml"))
                .filter(|p| p.exists()),
        );
    }
    files.iter().all(|f| mtime(f).is_some_and(|m| m < built))
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The inputs of a Makefile-style dep-info file `target: input input ...` (spaces in paths escaped
/// as `\ `). None when it is not one.
fn dep_info_inputs(text: &str) -> Option<Vec<PathBuf>> {
    let line = text.lines().next()?;
    let (_, rest) = line.split_once(": ")?;
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' => {
                if !current.is_empty() {
                    out.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(PathBuf::from(current));
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_inputs_split_on_unescaped_spaces() {
        let text = "/r/target/debug/berth-aws: /r/a.rs /r/my\\ dir/b.rs\n\n/r/a.rs:\n";
        assert_eq!(
            dep_info_inputs(text),
            Some(vec![PathBuf::from("/r/a.rs"), PathBuf::from("/r/my dir/b.rs")])
        );
        assert_eq!(dep_info_inputs("no colon here"), None);
    }

    #[test]
    fn the_binary_runs_directly_only_while_nothing_it_is_built_from_changed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("crates/berth-aws/src")).unwrap();
        std::fs::create_dir_all(root.join(".cargo")).unwrap();
        let source = root.join("crates/berth-aws/src/main.rs");
        for f in [
            "Cargo.toml",
            "Cargo.lock",
            ".cargo/config.toml",
            util::AWS_MANIFEST,
            util::AWS_LOCK_FILE,
        ] {
            std::fs::write(root.join(f), "").unwrap();
        }
        std::fs::write(&source, "fn main() {}").unwrap();
        let (binary, stamp) = (root.join("berth-aws"), root.join("berth-aws.built-from"));
        let tick = || std::thread::sleep(std::time::Duration::from_millis(20));
        let build = || {
            tick();
            let started = SystemTime::now();
            std::fs::write(&binary, "").unwrap();
            std::fs::write(
                binary.with_extension("d"),
                format!("{}: {}\n", binary.display(), source.display()),
            )
            .unwrap();
            write_stamp(&stamp, started).unwrap();
        };
        assert!(!is_fresh(&binary, &stamp, root), "never built");
        build();
        assert!(is_fresh(&binary, &stamp, root));
        for touched in [
            source.clone(),
            root.join("Cargo.lock"),
            root.join(util::AWS_MANIFEST),
            root.join(util::AWS_LOCK_FILE),
        ] {
            tick();
            std::fs::write(&touched, "// edited").unwrap();
            assert!(
                !is_fresh(&binary, &stamp, root),
                "{} edited after the build",
                touched.display()
            );
            build();
            assert!(is_fresh(&binary, &stamp, root));
        }
        // An edit while cargo builds is newer than the build's start: the next run asks cargo again.
        tick();
        let started = SystemTime::now();
        tick();
        std::fs::write(&source, "// edited during the build").unwrap();
        write_stamp(&stamp, started).unwrap();
        assert!(!is_fresh(&binary, &stamp, root));
        build();
        std::fs::remove_file(binary.with_extension("d")).unwrap();
        assert!(!is_fresh(&binary, &stamp, root), "no dep-info");
        build();
        std::fs::remove_file(&source).unwrap();
        assert!(!is_fresh(&binary, &stamp, root), "a listed input is gone");
    }
}
