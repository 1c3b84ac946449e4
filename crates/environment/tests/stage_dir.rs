//! What a stage directory may hold: `.yaml` and `.yml` stage files (one per stage), files that are not
//! stage files (warned of), and entries that are not regular files (refused without waiting).

use std::sync::mpsc;
use std::time::Duration;

use environment::{Environment, Error, Inputs};
use test_support::stages_copy;

fn root() -> std::path::PathBuf {
    test_support::project_root()
}

/// `Environment::load` on `dir`, failing the test instead of hanging past 10 s.
fn load(dir: &std::path::Path, only: Option<&str>) -> Result<Environment, Error> {
    let inputs = Inputs::new(&root()).stages_dir(Some(dir)).only(only);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(Environment::load(&inputs));
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("Environment::load did not return within 10 s")
}

#[test]
fn a_yml_file_is_a_stage_file() {
    let dir = stages_copy();
    std::fs::rename(dir.path().join("prod.yaml"), dir.path().join("prod.yml")).unwrap();
    let env = load(dir.path(), None).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = env.stages().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["dev", "prod"]);
    assert!(env.warnings().is_empty(), "{:?}", env.warnings());
    let one = load(dir.path(), Some("prod")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(one.stages().len(), 1);
}

#[test]
fn two_files_for_one_stage_are_an_error_naming_both() {
    let dir = stages_copy();
    std::fs::copy(dir.path().join("dev.yaml"), dir.path().join("dev.yml")).unwrap();
    for only in [None, Some("dev")] {
        let e = load(dir.path(), only).unwrap_err().to_string();
        assert!(
            e.contains("stage `dev` has two files, ")
                && e.contains("dev.yaml and ")
                && e.contains("dev.yml: expected one file per stage"),
            "{e}"
        );
    }
}

#[test]
fn other_files_are_not_read_and_are_named_in_a_warning() {
    let dir = stages_copy();
    std::fs::write(dir.path().join("notes.txt"), "not a stage").unwrap();
    std::fs::write(dir.path().join("qa.YAML"), "app: [").unwrap();
    std::fs::write(dir.path().join(".gitkeep"), "").unwrap();
    std::fs::write(dir.path().join(".dev.yaml.swp"), "\0\0").unwrap();
    let env = load(dir.path(), None).unwrap_or_else(|e| panic!("{e}"));
    let w = env.warnings();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].ends_with("notes.txt: not a stage file, ignored: a stage file is NAME.yaml or NAME.yml"),
        "{w:?}"
    );
    assert!(
        w[1].ends_with("qa.YAML: not a stage file, ignored: a stage file is NAME.yaml or NAME.yml (the extension must be lowercase .yaml or .yml)"),
        "{w:?}"
    ); // Asked for by name, the stage that is there under another name is pointed at.
    let e = load(dir.path(), Some("qa")).unwrap_err().to_string();
    assert!(
        e.contains("no stage `qa`: expected one of: dev, prod (")
            && e.contains(
                "qa.YAML is there, but a stage file is NAME.yaml or NAME.yml, lowercase: rename it)"
            ),
        "{e}"
    );
}

#[test]
fn a_fifo_among_the_stage_files_is_refused_at_once() {
    let dir = stages_copy();
    let fifo = dir.path().join("qa.yaml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let e = load(dir.path(), None).unwrap_err().to_string();
    assert!(
        e.contains("qa.yaml: is a FIFO (named pipe), not a regular file: expected a stage file"),
        "{e}"
    );
    let e = load(dir.path(), Some("qa")).unwrap_err().to_string();
    assert!(e.contains("qa.yaml: is a FIFO (named pipe)"), "{e}");
}

#[test]
fn stages_of_different_apps_are_reported_at_the_odd_ones_app_line() {
    let dir = stages_copy();
    let prod = std::fs::read_to_string(dir.path().join("prod.yaml")).unwrap();
    std::fs::write(
        dir.path().join("prod.yaml"),
        prod.replace("app: sample", "app: other"),
    )
    .unwrap();
    let e = load(dir.path(), None).unwrap_err();
    assert!(matches!(e, Error::Apps(_)), "{e}");
    let line = prod.lines().position(|l| l == "app: sample").unwrap() + 1;
    let dev_line = std::fs::read_to_string(dir.path().join("dev.yaml"))
        .unwrap()
        .lines()
        .position(|l| l == "app: sample")
        .unwrap()
        + 1;
    let shown = e.to_string();
    assert!(
        shown.starts_with("1 problem in the stage files:\n  ")
            && shown.contains(&format!(
                "prod.yaml:{line}:6: app: app `other` is not the app of the other stages (`sample`, as in "
            ))
            && shown.contains(&format!(
                "dev.yaml:{dev_line}:6): expected the same app in every stage file"
            )),
        "{shown}"
    );
}
