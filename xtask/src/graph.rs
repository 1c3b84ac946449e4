//! `cargo xtask graph`: the environment as a picture (Mermaid or DOT), through the same gate as synth.

use anyhow::Result;
use cli::GraphArgs;
use environment::{Environment, GraphFormat};

use crate::util;

#[allow(clippy::print_stdout, reason = "the command's output")]
pub fn run(args: &GraphArgs) -> Result<()> {
    let root = util::project_root();
    let inputs = crate::synth::inputs(
        &root,
        args.stages.as_deref(),
        args.stage.as_deref(),
        cli::TemplateFormat::Yaml,
    );
    let env = Environment::load(&inputs)?;
    let stage = args.stage.as_deref().and_then(|s| env.stage(s));
    let format = match args.format {
        cli::GraphFormat::Mermaid => GraphFormat::Mermaid,
        cli::GraphFormat::Dot => GraphFormat::Dot,
    };
    util::stdout(&env.graph(stage, format))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use environment::{Environment, GraphFormat, Inputs};

    #[test]
    fn the_example_stage_as_a_graph() {
        let root = crate::util::project_root();
        let env = Environment::load(&Inputs::new(&root)).unwrap();
        let stage = env.stage(crate::docs::README_STAGE);
        let mermaid = env.graph(stage, GraphFormat::Mermaid);
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
        let dot = env.graph(stage, GraphFormat::Dot);
        insta::assert_snapshot!("example_stage.dot", dot);
        // Without a stage, the templates' own scheme still connects the stacks.
        let scheme = env.graph(None, GraphFormat::Mermaid);
        assert!(
            scheme.contains("stack_pipeline[\"${AppName}-${StageName}-pipeline\"]"),
            "{scheme}"
        );
        assert!(scheme.contains("==>|deploys| stack_service"));
        assert!(scheme.contains("service_TaskExecutionRole -.->|by name| pipeline_TaskExecutionPolicy"));
    }
}
