//! `cargo xtask graph`: the environment as a picture (Mermaid or DOT), and the README's copy of it,
//! which `cargo xtask synth` keeps fresh.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use cfn::Format;
use pipeline_model::{Names, Stack};

use crate::util::{self, Mode};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Name things after this stage (a file infra/stages/<STAGE>.yaml); default: the templates'
    /// own `${AppName}-${StageName}` scheme
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    #[arg(long, value_enum, default_value = "mermaid")]
    pub format: GraphFormat,
    /// Read the stage files from here instead of infra/stages/
    #[arg(long, value_name = "DIR")]
    pub stages: Option<PathBuf>,
}

/// The stage whose graph the README shows.
pub const README_STAGE: &str = "dev";
const BEGIN: &str =
    "<!-- graph: written by `cargo xtask synth` (cargo xtask graph --stage dev); do not edit -->";
const END: &str = "<!-- /graph -->";

/// The graph of both stacks, named after `stage` when given: reads the stage file and synthesizes
/// the templates (the `graph` command).
pub fn graph(stages_dir: &Path, stage: Option<&str>, format: lint::graph::Format) -> Result<String> {
    let stage = match stage {
        Some(name) => {
            let stages = infra::load_stages(stages_dir, Some(name)).map_err(|errors| {
                let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
                anyhow::anyhow!("{}", list.join("\n  "))
            })?;
            stages.into_iter().next()
        }
        None => None,
    };
    let templates: Vec<(Stack, serde_json::Value)> = Stack::ALL
        .iter()
        .map(|s| {
            let synthesized = infra::template(*s, Format::Yaml)
                .synth(Format::Yaml)
                .map_err(|e| anyhow::anyhow!("the {s} template: {e}"))?;
            Ok((*s, synthesized.to_json_value()))
        })
        .collect::<Result<_>>()?;
    Ok(render(&templates, stage.as_ref(), format))
}

/// The graph of synthesized templates, named after `stage` when given.
pub fn render(
    templates: &[(Stack, serde_json::Value)],
    stage: Option<&infra::Stage>,
    format: lint::graph::Format,
) -> String {
    let mut vars = BTreeMap::new();
    let names = match stage {
        Some(st) => {
            for s in Stack::ALL {
                for (k, v) in st.parameters(s) {
                    vars.insert(k.to_owned(), v);
                }
            }
            st.names()
        }
        None => Names::template(),
    };
    let stacks: Vec<lint::graph::Stack<'_>> = templates
        .iter()
        .map(|(s, v)| lint::graph::Stack {
            key: s.suffix(),
            name: names.stack(*s),
            template: v,
        })
        .collect();
    lint::graph::render(&stacks, &vars, format)
}

/// The README with its graph block replaced; an error when the markers are missing.
pub fn readme_with_graph(readme: &str, mermaid: &str) -> Result<String> {
    let (Some(start), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
        bail!("README.md has no graph block: add a line `{BEGIN}` and, below it, a line `{END}`");
    };
    if end < start {
        bail!("README.md: the graph block's end marker comes before its start");
    }
    Ok(format!(
        "{}{BEGIN}\n```mermaid\n{mermaid}```\n{}",
        &readme[..start],
        &readme[end..]
    ))
}

/// Brings the README's graph up to date (or checks it). Returns the README's path when it changed.
pub fn sync_readme(
    root: &Path,
    templates: &[(Stack, serde_json::Value)],
    stage: &infra::Stage,
    mode: Mode,
) -> Result<Option<PathBuf>> {
    let mermaid = render(templates, Some(stage), lint::graph::Format::Mermaid);
    let path = root.join("README.md");
    let current = std::fs::read_to_string(&path)?;
    let updated = readme_with_graph(&current, &mermaid)?;
    Ok(util::sync_file(&path, &updated, mode)?.then_some(path))
}

#[allow(clippy::print_stdout, reason = "the command's output")]
pub fn run(args: &Args) -> Result<()> {
    let root = util::project_root();
    let stages_dir = args
        .stages
        .clone()
        .unwrap_or_else(|| root.join(infra::STAGES_DIR));
    let format = match args.format {
        GraphFormat::Mermaid => lint::graph::Format::Mermaid,
        GraphFormat::Dot => lint::graph::Format::Dot,
    };
    print!("{}", graph(&stages_dir, args.stage.as_deref(), format)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_stage_as_a_graph() {
        let root = util::project_root();
        let stages = root.join(infra::STAGES_DIR);
        let mermaid = graph(&stages, Some(README_STAGE), lint::graph::Format::Mermaid).unwrap();
        // Both stacks, the pipeline's flow, and the edges between the stacks.
        for needle in [
            "subgraph stack_pipeline[\"sample-dev-pipeline\"]",
            "subgraph stack_service[\"sample-dev-service\"]",
            "pipeline_Pipeline_2_CreateChangeSet ==>|deploys| stack_service",
            "pipeline_Pipeline_art_Build --> pipeline_Pipeline_2_CreateChangeSet",
            "service_TaskExecutionRole -.->|by name| pipeline_TaskExecutionPolicy",
            "service_TaskDefinition -.->|by name| pipeline_Repository",
        ] {
            assert!(mermaid.contains(needle), "{needle} missing from:\n{mermaid}");
        }
        insta::assert_snapshot!("example_stage.mmd", mermaid);
        let dot = graph(&stages, Some(README_STAGE), lint::graph::Format::Dot).unwrap();
        insta::assert_snapshot!("example_stage.dot", dot);
        // Without a stage, the templates' own scheme still connects the stacks.
        let scheme = graph(&stages, None, lint::graph::Format::Mermaid).unwrap();
        assert!(
            scheme.contains("stack_pipeline[\"${AppName}-${StageName}-pipeline\"]"),
            "{scheme}"
        );
        assert!(scheme.contains("==>|deploys| stack_service"));
        assert!(scheme.contains("service_TaskExecutionRole -.->|by name| pipeline_TaskExecutionPolicy"));
    }

    #[test]
    fn the_readme_block_is_replaced_between_its_markers_only() {
        let readme = format!("# x\n\nbefore\n{BEGIN}\nold\n{END}\nafter\n");
        let updated = readme_with_graph(&readme, "flowchart LR\n  a --> b\n").unwrap();
        assert_eq!(
            updated,
            format!("# x\n\nbefore\n{BEGIN}\n```mermaid\nflowchart LR\n  a --> b\n```\n{END}\nafter\n")
        );
        assert_eq!(
            readme_with_graph(&updated, "flowchart LR\n  a --> b\n").unwrap(),
            updated,
            "idempotent"
        );
        assert!(
            readme_with_graph("# no block\n", "x")
                .unwrap_err()
                .to_string()
                .contains("no graph block")
        );
    }
}
