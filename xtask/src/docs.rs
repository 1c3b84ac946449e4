//! The blocks of README.md and DEVELOPERS.md that are synth output: the example stage's graph and
//! the exit-code table (from `cli::exit`, where the codes are defined). `cargo xtask synth` rewrites
//! them; `synth --check` fails when one is stale.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use environment::{Environment, GraphFormat};

use crate::util::Plan;

/// The stage whose graph the README shows.
pub const README_STAGE: &str = "dev";

/// A generated block: its marker lines and what goes between them.
struct Block {
    begin: &'static str,
    end: &'static str,
}

const GRAPH: Block = Block {
    begin: "<!-- graph: written by `cargo xtask synth` (cargo xtask graph --stage dev); do not edit -->",
    end: "<!-- /graph -->",
};

const ROLLOUTS: Block = Block {
    begin: "<!-- rollouts: written by `cargo xtask synth` (cargo xtask plan, every shipped stage); do not edit -->",
    end: "<!-- /rollouts -->",
};

const EXIT_CODES: Block = Block {
    begin: "<!-- exit-codes: written by `cargo xtask synth` from crates/cli/src/exit.rs; do not edit -->",
    end: "<!-- /exit-codes -->",
};

/// `text` with the block's contents replaced by `body`; an error when the markers are missing.
fn with_block(text: &str, block: &Block, body: &str, file: &str) -> Result<String> {
    let (Some(start), Some(end)) = (text.find(block.begin), text.find(block.end)) else {
        bail!(
            "{file} has no block for it: add a line `{}` and, below it, a line `{}`",
            block.begin,
            block.end
        );
    };
    if end < start {
        bail!(
            "{file}: the block's end marker `{}` comes before its start",
            block.end
        );
    }
    Ok(format!(
        "{}{}\n{body}{}",
        &text[..start],
        block.begin,
        &text[end..]
    ))
}

/// The rollout model's outcome for every stage and scenario, and one whole plan (the example stage's
/// instance replacement).
fn rollouts(env: &Environment) -> String {
    let mut out = String::from(
        "| stage | scenario | done in | fewest tasks serving (allowed) | push to serving (from nothing / cached build) |\n|---|---|---|---|---|\n",
    );
    let mut example = String::new();
    for stage in env.stages() {
        let setup = env.rollout_setup(stage);
        for scenario in rollout::Scenario::ALL {
            let t = rollout::simulate(&setup, scenario);
            let push = (scenario == rollout::Scenario::Image).then(|| rollout::push_to_serving(&setup, &t));
            out.push_str(&format!(
                "| {} | {} | {} | {} ({}) | {} |\n",
                stage.name,
                scenario.describe(),
                t.done_at_s.map_or("not within 4 h".to_owned(), rollout::clock),
                t.min_serving,
                t.required_serving,
                push.as_ref()
                    .map(|p| format!(
                        "{} / {}",
                        rollout::clock(p.total_cold_s),
                        rollout::clock(p.total_cached_s)
                    ))
                    .unwrap_or_else(|| "-".to_owned())
            ));
            if stage.name.as_str() == README_STAGE && scenario == rollout::Scenario::Instances {
                example = rollout::render(&format!("plan for stage {}", stage.name), &setup, &t, None);
            }
        }
    }
    if !example.is_empty() {
        out.push_str(&format!(
            "\n`cargo xtask plan --stage {README_STAGE} --scenario instances`:\n\n```console\n{example}```\n"
        ));
    }
    out
}

/// Plans the generated blocks' files where they are stale; returns the files that changed. The graph
/// is drawn when the example stage was read (synth of every stage, or of that one); the rollouts table
/// when every stage was (`all_stages`).
pub fn sync(root: &Path, env: &Environment, plan: &mut Plan, all_stages: bool) -> Result<Vec<PathBuf>> {
    let exit_codes = cli::exit::markdown_table();
    let mut readme_blocks = vec![(&EXIT_CODES, exit_codes.clone())];
    if let Some(stage) = env.stage(README_STAGE) {
        let mermaid = env.graph(Some(stage), GraphFormat::Mermaid);
        readme_blocks.push((&GRAPH, format!("```mermaid\n{mermaid}```\n")));
    }
    if all_stages {
        readme_blocks.push((&ROLLOUTS, rollouts(env)));
    }
    let mut changed = Vec::new();
    for (file, blocks) in [
        ("README.md", readme_blocks),
        ("DEVELOPERS.md", vec![(&EXIT_CODES, exit_codes)]),
    ] {
        let path = root.join(file);
        let mut text =
            std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        for (block, body) in blocks {
            text = with_block(&text, block, &body, file)?;
        }
        if plan.sync(&path, &text) {
            changed.push(path);
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_replaced_between_its_markers_only() {
        let text = format!("# x\n\nbefore\n{}\nold\n{}\nafter\n", GRAPH.begin, GRAPH.end);
        let updated = with_block(&text, &GRAPH, "new\n", "README.md").unwrap();
        assert_eq!(
            updated,
            format!("# x\n\nbefore\n{}\nnew\n{}\nafter\n", GRAPH.begin, GRAPH.end)
        );
        assert_eq!(
            with_block(&updated, &GRAPH, "new\n", "README.md").unwrap(),
            updated,
            "idempotent"
        );
        let e = with_block("# no block\n", &EXIT_CODES, "x", "DEVELOPERS.md")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("DEVELOPERS.md has no block for it: add a line `<!-- exit-codes:"),
            "{e}"
        );
    }

    #[test]
    fn the_documented_exit_codes_are_the_defined_ones() {
        let root = crate::util::project_root();
        for file in ["README.md", "DEVELOPERS.md"] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            let start = text
                .find(EXIT_CODES.begin)
                .unwrap_or_else(|| panic!("{file} has no exit-code block"));
            let block = &text[start + EXIT_CODES.begin.len() + 1..text.find(EXIT_CODES.end).unwrap()];
            assert_eq!(
                block,
                cli::exit::markdown_table(),
                "{file}: run `cargo xtask synth`"
            );
        }
    }
}
