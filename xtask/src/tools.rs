//! Provisioning of the pinned Python tools (cfn-lint, ...) into a virtual environment under
//! `target/tools/`, so that `cargo xtask ci` works on a machine that has only Rust and Python.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util;

/// A provisioned virtual environment.
pub struct PythonTools {
    pub python: PathBuf,
    pub bin: PathBuf,
}

/// One provisioned environment: its directory under `target/tools/`, the Python it needs, its pins.
struct Venv {
    dir: &'static str,
    python: (u32, u32),
    requirements: &'static str,
    constraints: Option<&'static str>,
    /// Why this Python version, said when none is found.
    python_why: &'static str,
}

impl Venv {
    fn provision(&self) -> Result<PythonTools> {
        let root = util::project_root();
        let python = find_python(&[self.python]).context(self.python_why)?;
        let constraints: Vec<PathBuf> = self.constraints.iter().map(|c| root.join(c)).collect();
        ensure_venv(
            &util::target_dir().join("tools").join(self.dir),
            &python,
            &[root.join(self.requirements)],
            &constraints,
        )
    }
}

/// The main tools (cfn-lint, moto, the AWS CLI), provisioned on first use and whenever the pins change.
pub fn python_tools() -> Result<PythonTools> {
    Venv {
        dir: "py",
        python: (3, 10),
        requirements: "xtask/tools/requirements.txt",
        constraints: Some("xtask/tools/constraints.txt"),
        python_why: "cfn-lint, moto and the AWS CLI need Python 3.10 or newer",
    }
    .provision()
}

/// checkov, in its own venv: its pins clash with cfn-lint's and moto's.
pub fn checkov_tools() -> Result<PythonTools> {
    Venv {
        dir: "checkov",
        python: (3, 10),
        requirements: "xtask/tools/checkov-requirements.txt",
        constraints: Some("xtask/tools/checkov-constraints.txt"),
        python_why: "checkov needs Python 3.10 or newer",
    }
    .provision()
}

/// LocalStack, in its own venv: it needs Python 3.13 (it imports `warnings.deprecated`).
pub fn localstack_tools() -> Result<PythonTools> {
    Venv {
        dir: "localstack",
        python: (3, 13),
        requirements: "xtask/tools/localstack-requirements.txt",
        constraints: None,
        python_why: "LocalStack 2026.3.0 needs Python 3.13 or newer (it imports `warnings.deprecated`): \
                     pyenv install 3.13, or point BERTH_PYTHON at one",
    }
    .provision()
}

/// A python interpreter of at least one of the given versions, from PATH or pyenv.
pub fn find_python(min: &[(u32, u32)]) -> Result<PathBuf> {
    let (major, minor) = min[0];
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("BERTH_PYTHON") {
        candidates.push(PathBuf::from(p));
    }
    for m in (minor..=14).rev() {
        candidates.push(PathBuf::from(format!("python{major}.{m}")));
    }
    candidates.push(PathBuf::from("python3"));
    // pyenv keeps interpreters that are not on PATH.
    let pyenv_root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")));
    if let Some(root) = pyenv_root
        && let Ok(entries) = std::fs::read_dir(root.join("versions"))
    {
        let mut versions: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path().join("bin/python3")))
            .collect();
        versions.sort();
        versions.reverse();
        candidates.extend(versions);
    }
    for c in &candidates {
        if let Some((ma, mi)) = python_version(c)
            && ma == major
            && mi >= minor
        {
            return Ok(c.clone());
        }
    }
    bail!(
        "no Python {major}.{minor} or newer found (looked for python{major}.x and python3 on PATH, and in pyenv)\n\
         hint: install Python {major}.{minor}+ with its venv module, or point BERTH_PYTHON at one"
    )
}

fn python_version(python: &Path) -> Option<(u32, u32)> {
    let out = Command::new(python)
        .args([
            "-c",
            "import sys, venv; print(sys.version_info[0], sys.version_info[1])",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let mut parts = text.split_whitespace().map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??))
}

/// Creates or refreshes `venv` so that it holds exactly the pinned requirements.
#[allow(clippy::print_stderr, reason = "progress of an xtask command")]
pub fn ensure_venv(
    venv: &Path,
    python: &Path,
    requirements: &[PathBuf],
    constraints: &[PathBuf],
) -> Result<PythonTools> {
    let mut stamp = String::new();
    for f in requirements.iter().chain(constraints) {
        let text = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        stamp.push_str(&format!("# {}\n{text}", f.display()));
    }
    let stamp_path = venv.join("berth-stamp.txt");
    let tools = PythonTools {
        python: venv.join("bin/python"),
        bin: venv.join("bin"),
    };
    if std::fs::read_to_string(&stamp_path).ok().as_deref() == Some(stamp.as_str()) && tools.python.exists() {
        return Ok(tools);
    }
    eprintln!("provisioning Python tools into {} ...", venv.display());
    let started = std::time::Instant::now();
    util::run(Command::new(python).args(["-m", "venv", "--clear"]).arg(venv)).with_context(|| {
        format!("creating a virtual environment with {}\nhint: install the Python venv module (Debian: apt install python3-venv)", python.display())
    })?;
    let mut pip = Command::new(&tools.python);
    pip.args(["-m", "pip", "install", "--disable-pip-version-check", "--quiet"]);
    for r in requirements {
        pip.arg("-r").arg(r);
    }
    for c in constraints {
        pip.arg("-c").arg(c);
    }
    util::run(&mut pip).context(
        "installing the pinned Python tools\nhint: PyPI must be reachable; the pins are in xtask/tools/",
    )?;
    util::write_atomic(&stamp_path, stamp.as_bytes())?;
    eprintln!(
        "provisioned {} in {:.1}s",
        venv.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(tools)
}

/// `cargo xtask tools`: provisions everything and prints where it is.
pub fn run() -> Result<()> {
    let py = python_tools()?;
    let ls = localstack_tools()?;
    let ck = checkov_tools()?;
    util::stdout(&format!(
        "{}\n{}\n{}\n",
        py.bin.display(),
        ls.bin.display(),
        ck.bin.display()
    ))
}
