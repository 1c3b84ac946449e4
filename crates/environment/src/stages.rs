//! Reading the stage files: every `*.yaml` of the directory, or the one named.

use std::path::Path;

use infra::{Stage, StageError};

/// Loads the stage files of `dir`: all of them (sorted by name), or only the one named.
pub fn load(dir: &Path, only: Option<&str>) -> Result<Vec<Stage>, Vec<StageError>> {
    match only {
        Some(name) => {
            let path = dir.join(format!("{name}.yaml"));
            if !path.exists() {
                let known = load_all(dir)
                    .map(|s| {
                        s.iter()
                            .map(|s| s.name.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                return Err(vec![StageError {
                    file: path,
                    line: None,
                    column: None,
                    message: format!("no stage `{name}`: expected one of: {known}"),
                }]);
            }
            Stage::load(&path).map(|s| vec![s])
        }
        None => load_all(dir),
    }
}

/// Every `*.yaml` in `dir`, sorted by stage name; all errors of all files together.
fn load_all(dir: &Path) -> Result<Vec<Stage>, Vec<StageError>> {
    let whole = |message: String| {
        vec![StageError {
            file: dir.to_owned(),
            line: None,
            column: None,
            message,
        }]
    };
    let entries =
        std::fs::read_dir(dir).map_err(|e| whole(format!("cannot read the stage directory: {e}")))?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(whole("no stage files (*.yaml): expected at least one".to_owned()));
    }
    let mut stages = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match Stage::load(&p) {
            Ok(s) => stages.push(s),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(stages)
    } else {
        Err(errors)
    }
}
