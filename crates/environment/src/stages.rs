//! Reading the stage files: every `NAME.yaml` or `NAME.yml` of the directory, or the one named.
//!
//! Both extensions are stage files; two files for one stage name (`dev.yaml` and `dev.yml`) are an
//! error naming both. Hidden files (`.gitkeep`, an editor's `.dev.yaml.swp`) are passed over; any other
//! entry is not read and gets a warning, so that a stage written as `qa.YAML` or `qa.yaml.bak` does not
//! vanish without a word. Each file is read only if it is a regular file of at most 1 MiB
//! ([`infra::stage::read_stage_file`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use infra::{Stage, StageError};

/// The extensions of a stage file.
pub const EXTENSIONS: [&str; 2] = ["yaml", "yml"];

/// The stages read, and what the directory holds besides them.
#[derive(Debug)]
pub struct Loaded {
    pub stages: Vec<Stage>,
    /// Entries of the stage directory that are not stage files (each `path: ...: ignored`).
    pub warnings: Vec<String>,
}

/// Loads the stage files of `dir`: all of them (sorted by name), or only the one named.
pub fn load(dir: &Path, only: Option<&str>) -> Result<Loaded, Vec<StageError>> {
    match only {
        Some(name) => {
            let candidates: Vec<PathBuf> = EXTENSIONS
                .iter()
                .map(|x| dir.join(format!("{name}.{x}")))
                .filter(|p| p.symlink_metadata().is_ok())
                .collect();
            let valid = pipeline_model::StageName::parse(name).is_ok();
            match candidates.as_slice() {
                [one] if valid => Stage::load(one).map(|s| Loaded {
                    stages: vec![s],
                    warnings: Vec::new(),
                }),
                [a, b] if valid => Err(vec![two_files(name, a, b)]),
                _ => {
                    let listed = listing(dir).ok();
                    let known = listed
                        .as_ref()
                        .map(|l| l.stages.keys().cloned().collect::<Vec<_>>().join(", "))
                        .unwrap_or_default();
                    // `qa.YAML`, `qa.yaml.bak`: the stage is there, under a name that is no stage file's.
                    let near: Vec<String> = listed
                        .iter()
                        .flat_map(|l| &l.others)
                        .filter(|p| {
                            p.file_name()
                                .and_then(|n| n.to_str())
                                .and_then(|n| n.split('.').next())
                                .is_some_and(|stem| stem.eq_ignore_ascii_case(name))
                        })
                        .map(|p| p.display().to_string())
                        .collect();
                    let hint = if near.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " ({} is there, but a stage file is NAME.yaml or NAME.yml, lowercase: rename it)",
                            near.join(", ")
                        )
                    };
                    Err(vec![StageError {
                        file: dir.join(format!("{name}.yaml")),
                        line: None,
                        column: None,
                        message: format!("no stage `{name}`: expected one of: {known}{hint}"),
                    }])
                }
            }
        }
        None => load_all(dir),
    }
}

/// The stage directory sorted: the files of each stage name, and the entries that are not stage files.
struct Listing {
    stages: BTreeMap<String, Vec<PathBuf>>,
    others: Vec<PathBuf>,
}

fn listing(dir: &Path) -> Result<Listing, StageError> {
    let entries = std::fs::read_dir(dir).map_err(|e| StageError {
        file: dir.to_owned(),
        line: None,
        column: None,
        message: format!(
            "cannot read the stage directory: {e}: expected a directory of stage files (NAME.yaml)"
        ),
    })?;
    let mut stages: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    let mut others = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let file_name = entry.file_name();
        if file_name.to_string_lossy().starts_with('.') {
            continue;
        }
        let ext = path.extension().and_then(|x| x.to_str()).unwrap_or_default();
        match path.file_stem().and_then(|s| s.to_str()) {
            Some(stem) if EXTENSIONS.contains(&ext) => stages.entry(stem.to_owned()).or_default().push(path),
            _ => others.push(path),
        }
    }
    for files in stages.values_mut() {
        files.sort();
    }
    others.sort();
    Ok(Listing { stages, others })
}

fn two_files(name: &str, a: &Path, b: &Path) -> StageError {
    StageError {
        file: b.to_owned(),
        line: None,
        column: None,
        message: format!(
            "stage `{name}` has two files, {} and {}: expected one file per stage (remove or rename one)",
            a.display(),
            b.display()
        ),
    }
}

/// Every stage file of `dir`, sorted by stage name; all errors of all files together.
fn load_all(dir: &Path) -> Result<Loaded, Vec<StageError>> {
    let listing = listing(dir).map_err(|e| vec![e])?;
    if listing.stages.is_empty() {
        return Err(vec![StageError {
            file: dir.to_owned(),
            line: None,
            column: None,
            message: "no stage files (NAME.yaml or NAME.yml): expected at least one".to_owned(),
        }]);
    }
    let warnings = listing
        .others
        .iter()
        .map(|p| {
            let ext = p.extension().and_then(|x| x.to_str()).unwrap_or_default();
            let hint = if EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(ext)) {
                " (the extension must be lowercase .yaml or .yml)"
            } else {
                ""
            };
            format!(
                "{}: not a stage file, ignored: a stage file is NAME.yaml or NAME.yml{hint}",
                p.display()
            )
        })
        .collect();
    let mut stages = Vec::new();
    let mut errors = Vec::new();
    for (name, files) in &listing.stages {
        match files.as_slice() {
            [one] => match Stage::load(one) {
                Ok(s) => stages.push(s),
                Err(e) => errors.extend(e),
            },
            [a, b, ..] => errors.push(two_files(name, a, b)),
            [] => {}
        }
    }
    if errors.is_empty() {
        Ok(Loaded { stages, warnings })
    } else {
        Err(errors)
    }
}
