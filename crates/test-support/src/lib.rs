//! Test-only helpers shared by the workspace's tests.
//!
//! External tools are provisioned by `cargo xtask tools` (and `cargo xtask ci`) into
//! `target/tools/py`; `cargo xtask ci` also passes the location in `BERTH_TOOLS_BIN`. A test that
//! needs a tool that is not there fails and says how to provision it: it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/test-support is two levels down")
        .to_path_buf()
}

/// The `bin` directory of the provisioned Python tools.
pub fn tools_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("BERTH_TOOLS_BIN") {
        return PathBuf::from(dir);
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| project_root().join("target"), PathBuf::from);
    target.join("tools/py/bin")
}

/// The path of a provisioned tool; panics with the fix when it is missing.
pub fn tool(name: &str) -> PathBuf {
    let path = tools_bin().join(name);
    assert!(
        path.exists(),
        "{name} is not provisioned (looked for {}).\nhint: run `cargo xtask tools` once, or run the tests through `cargo xtask ci`, which provisions it",
        path.display()
    );
    path
}

/// Runs cfn-lint on template files. Returns its report when it finds anything (errors, warnings or
/// informational findings): berth's templates must come out clean.
pub fn cfn_lint(files: &[&Path]) -> Result<(), String> {
    let out = Command::new(tool("cfn-lint"))
        .args(["--format", "parseable", "--"])
        .args(files)
        .output()
        .expect("cfn-lint runs");
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "cfn-lint exited with {} on {files:?}:\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Writes `text` into a fresh temporary directory as `name` and returns both (keep the dir alive).
pub fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write temp file");
    (dir, path)
}
