//! Small helpers shared by the commands: the repository root, atomic writes, write/check modes,
//! running child processes.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Whether a generating command writes its files or only checks that the committed ones are fresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Write,
    Check,
}

impl Mode {
    pub fn from_check(check: bool) -> Self {
        if check { Mode::Check } else { Mode::Write }
    }
}

/// The manifest of the AWS half, a workspace of its own (relative to the repository root).
pub const AWS_MANIFEST: &str = "crates/berth-aws/Cargo.toml";
/// Its lock file.
pub const AWS_LOCK_FILE: &str = "crates/berth-aws/Cargo.lock";

/// The repository root, wherever cargo was called from.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the root")
        .to_path_buf()
}

/// cargo's target directory (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                project_root().join(dir)
            }
        }
        None => project_root().join("target"),
    }
}

/// Writes `contents` to `path` through a temporary file in the same directory and a rename, so that a
/// reader never sees a half-written file.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path.parent().context("a file path has a parent directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, contents).with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Brings one generated file up to date (`Write`) or reports whether it is stale (`Check`).
/// Returns true when the file differed.
pub fn sync_file(path: &Path, contents: &str, mode: Mode) -> Result<bool> {
    let current = std::fs::read(path).ok();
    if current.as_deref() == Some(contents.as_bytes()) {
        return Ok(false);
    }
    if mode == Mode::Write {
        write_atomic(path, contents.as_bytes())?;
    }
    Ok(true)
}

/// Prints what a generating command changed, or fails in check mode with the command that fixes it.
#[allow(clippy::print_stderr, reason = "progress of an xtask command")]
pub fn report_sync(mode: Mode, changed: &[PathBuf], fix: &str) -> Result<()> {
    let root = project_root();
    let shown: Vec<String> = changed
        .iter()
        .map(|p| p.strip_prefix(&root).unwrap_or(p).display().to_string())
        .collect();
    match mode {
        Mode::Write => {
            for p in &shown {
                eprintln!("updated {p}");
            }
            Ok(())
        }
        Mode::Check if shown.is_empty() => Ok(()),
        Mode::Check => bail!(
            "{} file(s) are stale:\n  {}\nhint: run `{fix}` and commit the result",
            shown.len(),
            shown.join("\n  ")
        ),
    }
}

/// Runs a command to completion, inheriting stdout and stderr; fails with the command line if it fails.
#[allow(clippy::print_stderr, reason = "progress of an xtask command")]
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = show(cmd);
    eprintln!("$ {shown}");
    let status = cmd.status().with_context(|| format!("starting `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

pub fn show(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(project_root());
    c
}
