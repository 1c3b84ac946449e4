//! `cargo xtask plan`: a stage's rollouts as the model sees them (crates/rollout), from the stage and
//! the synthesized service template, through the same gate as synth.

use anyhow::{Context, Result};
use cli::{OutputFormat, PlanArgs, ScenarioArg};
use environment::Environment;
use rollout::Scenario;

use crate::util;

#[allow(clippy::print_stdout, reason = "the command's output")]
pub fn run(args: &PlanArgs) -> Result<()> {
    let root = util::project_root();
    let inputs = crate::synth::inputs(
        &root,
        args.stages.as_deref(),
        Some(&args.stage),
        cli::TemplateFormat::Yaml,
    );
    let env = Environment::load(&inputs)?;
    let stage = env
        .stage(&args.stage)
        .context("the gate read the stage it was asked for")?;
    let setup = env.rollout_setup(stage);
    let scenarios: Vec<Scenario> = match args.scenario {
        Some(ScenarioArg::Image) => vec![Scenario::Image],
        Some(ScenarioArg::Instances) => vec![Scenario::Instances],
        Some(ScenarioArg::ScaleOut) => vec![Scenario::ScaleOut],
        None => Scenario::ALL.to_vec(),
    };
    let mut plans = Vec::new();
    for scenario in scenarios {
        let timeline = rollout::simulate(&setup, scenario);
        let push = (scenario == Scenario::Image).then(|| rollout::push_to_serving(&setup, &timeline));
        plans.push((timeline, push));
    }
    match args.output {
        OutputFormat::Json => {
            let list: Vec<serde_json::Value> = plans
                .iter()
                .map(|(t, p)| serde_json::json!({"timeline": t, "push_to_serving": p}))
                .collect();
            util::stdout(&format!(
                "{}\n",
                serde_json::json!({"stage": stage.name.to_string(), "model": true, "inputs": setup, "plans": list})
            ))?;
        }
        OutputFormat::Text => {
            let title = format!("plan for stage {}", stage.name);
            let texts: Vec<String> = plans
                .iter()
                .map(|(t, p)| rollout::render(&title, &setup, t, p.as_ref()))
                .collect();
            util::stdout(&texts.join("\n"))?;
        }
    }
    Ok(())
}
