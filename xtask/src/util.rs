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
/// reader never sees a half-written file. The file keeps the permissions of the one it replaces; a new
/// file gets 0644 less the umask, as any file a program creates (not the temporary file's 0600).
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path.parent().context("a file path has a parent directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = staged(path, contents)?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// `contents` in a temporary file beside `path`, with the permissions `path` will have.
fn staged(path: &Path, contents: &[u8]) -> Result<tempfile::NamedTempFile> {
    let dir = path.parent().context("a file path has a parent directory")?;
    let replaced = std::fs::metadata(path).ok().filter(std::fs::Metadata::is_file);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".berth-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Passed to open(2), so the umask applies, as it does to any file a program creates.
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    if let Some(meta) = replaced {
        tmp.as_file()
            .set_permissions(meta.permissions())
            .with_context(|| format!("keeping the permissions of {}", path.display()))?;
    }
    std::io::Write::write_all(&mut tmp, contents).with_context(|| format!("writing {}", path.display()))?;
    Ok(tmp)
}

/// The files a command writes, planned before any is written. [`Plan::apply`] checks every target
/// first (no file where a directory must be, no directory where a file goes), then writes each file
/// to a temporary file beside its target, and only when all are written renames them into place: a
/// problem found before the renames leaves nothing behind, not even a directory.
#[derive(Debug, Default)]
pub struct Plan {
    writes: Vec<(PathBuf, Vec<u8>)>,
    removals: Vec<PathBuf>,
}

impl Plan {
    /// Plans `contents` for `path` when it differs from the file there; returns whether it does.
    pub fn sync(&mut self, path: &Path, contents: &str) -> bool {
        if std::fs::read(path).ok().as_deref() == Some(contents.as_bytes()) {
            return false;
        }
        self.writes.push((path.to_owned(), contents.as_bytes().to_vec()));
        true
    }

    /// Plans the removal of `path` (and of its directory, when that is left empty).
    pub fn remove(&mut self, path: &Path) {
        self.removals.push(path.to_owned());
    }

    /// What stands in the way of the writes, each `path: what is there: expected ...`.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (path, _) in &self.writes {
            if path.symlink_metadata().is_ok_and(|m| m.is_dir()) {
                out.push(format!(
                    "{}: is a directory: expected a file (or nothing) there",
                    path.display()
                ));
            }
            for dir in path.ancestors().skip(1).filter(|d| !d.as_os_str().is_empty()) {
                match std::fs::metadata(dir) {
                    Ok(m) if m.is_dir() => break,
                    Ok(_) => {
                        out.push(format!(
                            "{}: is a file, but {} goes inside it: expected a directory (or nothing) there",
                            dir.display(),
                            path.display()
                        ));
                        break;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        // Created along the way; a dangling symlink there cannot be.
                        if dir.symlink_metadata().is_ok() {
                            out.push(format!(
                                "{}: is a symlink to nothing: expected a directory (or nothing) there",
                                dir.display()
                            ));
                            break;
                        }
                    }
                    Err(e) => {
                        out.push(format!(
                            "{}: {e}: expected a directory {} can be written in",
                            dir.display(),
                            path.display()
                        ));
                        break;
                    }
                }
            }
            for (other, _) in &self.writes {
                if other != path && other.starts_with(path) {
                    out.push(format!(
                        "{}: planned as a file and as the directory of {}: expected one",
                        path.display(),
                        other.display()
                    ));
                }
            }
        }
        out.dedup();
        out
    }

    /// Checks, writes every file, and removes what was planned for removal; the paths written.
    pub fn apply(self) -> Result<Vec<PathBuf>> {
        let problems = self.problems();
        if !problems.is_empty() {
            bail!(
                "{} problem{} with where the files go:\n  {}\nnothing written",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" },
                problems.join("\n  ")
            );
        }
        // Directories to create, parents first; removed again if anything fails before the renames.
        let mut created: Vec<PathBuf> = Vec::new();
        let undo = |created: &[PathBuf]| {
            for d in created.iter().rev() {
                let _ = std::fs::remove_dir(d);
            }
        };
        for (path, _) in &self.writes {
            let mut missing: Vec<&Path> = path
                .ancestors()
                .skip(1)
                .filter(|d| !d.as_os_str().is_empty())
                .take_while(|d| !d.exists())
                .collect();
            missing.reverse();
            for d in missing {
                if let Err(e) = std::fs::create_dir(d) {
                    undo(&created);
                    bail!(
                        "{}: {e}: expected a directory that can be created\nnothing written",
                        d.display()
                    );
                }
                created.push(d.to_owned());
            }
        }
        let mut staged = Vec::new();
        for (path, contents) in &self.writes {
            match self::staged(path, contents) {
                Ok(tmp) => staged.push((tmp, path)),
                Err(e) => {
                    drop(staged);
                    undo(&created);
                    return Err(e.context("nothing written"));
                }
            }
        }
        let mut written = Vec::new();
        for (tmp, path) in staged {
            if let Err(e) = tmp.persist(path) {
                bail!(
                    "writing {}: {}; written before it: {}",
                    path.display(),
                    e.error,
                    if written.is_empty() {
                        "nothing".to_owned()
                    } else {
                        written
                            .iter()
                            .map(|p: &PathBuf| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                );
            }
            written.push(path.clone());
        }
        for path in &self.removals {
            std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
            if let Some(dir) = path.parent() {
                let _ = std::fs::remove_dir(dir); // only when empty
            }
        }
        Ok(written)
    }
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

/// Prints what a generating command changed and removed, or fails in check mode with the command
/// that fixes it.
#[allow(clippy::print_stderr, reason = "progress of an xtask command")]
pub fn report_sync(mode: Mode, changed: &[PathBuf], removed: &[PathBuf], fix: &str) -> Result<()> {
    let root = project_root();
    let show = |p: &PathBuf| p.strip_prefix(&root).unwrap_or(p).display().to_string();
    match mode {
        Mode::Write => {
            for p in changed {
                eprintln!("updated {}", show(p));
            }
            for p in removed {
                eprintln!("removed {}", show(p));
            }
            Ok(())
        }
        Mode::Check if changed.is_empty() && removed.is_empty() => Ok(()),
        Mode::Check => {
            let lines: Vec<String> = changed
                .iter()
                .map(show)
                .chain(
                    removed
                        .iter()
                        .map(|p| format!("{} (no longer made: the fix removes it)", show(p))),
                )
                .collect();
            bail!(
                "{} file(s) are stale:\n  {}\nhint: run `{fix}` and commit the result",
                lines.len(),
                lines.join("\n  ")
            )
        }
    }
}

/// Writes a command's output to stdout: a closed pipe (`| head`) or a full disk is an error that says
/// so (exit 1), not a panic.
pub fn stdout(text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| anyhow::anyhow!("could not write the output to stdout: {e}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The mode a new file gets from this process's umask: 0644 less the umask.
    #[cfg(unix)]
    fn expected_new_mode(dir: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        // std creates files with 0666 less the umask: what the umask takes away shows there.
        let probe = dir.join("probe");
        std::fs::write(&probe, "").unwrap();
        let with_umask = std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
        std::fs::remove_file(&probe).unwrap();
        0o644 & with_umask
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_is_0644_less_the_umask_and_a_replaced_one_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.yaml");
        write_atomic(&new, b"a").unwrap();
        assert_eq!(mode(&new), expected_new_mode(dir.path()));
        assert_eq!(std::fs::read(&new).unwrap(), b"a");

        for kept in [0o640, 0o755, 0o600] {
            let old = dir.path().join(format!("old-{kept:o}"));
            std::fs::write(&old, "before").unwrap();
            std::fs::set_permissions(&old, std::fs::Permissions::from_mode(kept)).unwrap();
            write_atomic(&old, b"after").unwrap();
            assert_eq!(mode(&old), kept, "{}", old.display());
            assert_eq!(std::fs::read(&old).unwrap(), b"after");
        }

        let mut plan = Plan::default();
        let planned = dir.path().join("sub/planned.json");
        assert!(plan.sync(&planned, "{}"));
        plan.apply().unwrap();
        assert_eq!(mode(&planned), expected_new_mode(dir.path()));
    }

    #[test]
    fn a_plan_that_cannot_be_written_whole_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // `dev` is a file where a directory must be; `pipeline.yaml` and `a/b/c.json` could be written.
        std::fs::write(d.join("dev"), "in the way").unwrap();
        std::fs::create_dir(d.join("service.yaml")).unwrap();
        let mut plan = Plan::default();
        for p in ["pipeline.yaml", "a/b/c.json", "dev/service.json", "service.yaml"] {
            assert!(plan.sync(&d.join(p), "x"));
        }
        let e = plan.apply().unwrap_err().to_string();
        assert!(
            e.contains(&format!(
                "{}: is a file, but {} goes inside it: expected a directory (or nothing) there",
                d.join("dev").display(),
                d.join("dev/service.json").display()
            )) && e.contains(&format!(
                "{}: is a directory: expected a file",
                d.join("service.yaml").display()
            )) && e.ends_with("nothing written"),
            "{e}"
        );
        let mut left: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            ["dev", "service.yaml"],
            "nothing written, not even a directory"
        );

        // Unchanged files are not planned; a plan that can be written is, whole.
        std::fs::remove_file(d.join("dev")).unwrap();
        std::fs::remove_dir(d.join("service.yaml")).unwrap();
        let mut plan = Plan::default();
        for p in ["pipeline.yaml", "a/b/c.json", "dev/service.json"] {
            plan.sync(&d.join(p), "x");
        }
        assert_eq!(plan.apply().unwrap().len(), 3);
        let mut again = Plan::default();
        assert!(!again.sync(&d.join("a/b/c.json"), "x"));
    }
}
