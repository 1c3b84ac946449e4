//! berth's own environment passes its own rules: the committed templates and buildspec, as files.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn the_committed_templates_and_buildspec_are_clean() {
    for (file, kind) in [
        ("infra/cfn/pipeline.yaml", lint::FileKind::Template),
        ("infra/cfn/service.yaml", lint::FileKind::Template),
        ("app/buildspec.yml", lint::FileKind::Buildspec),
    ] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let (found_kind, report) = lint::lint_text(&text);
        assert_eq!(found_kind, kind, "{file}");
        let shown: Vec<String> = report.findings.iter().map(|f| format!("{file}: {f}")).collect();
        assert!(shown.is_empty(), "{}", shown.join("\n"));
    }
}
