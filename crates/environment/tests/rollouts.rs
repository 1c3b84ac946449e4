//! The rollout model on every shipped stage: in every scenario, the tasks serving never drop below
//! what the service's minimum healthy percent allows, nothing is ever left without a task, and the
//! rollout ends.

use environment::{Environment, Inputs};
use rollout::{Scenario, simulate};

#[test]
fn every_shipped_stage_rolls_out_without_dropping_below_its_minimum() {
    let env = Environment::load(&Inputs::new(&test_support::project_root())).unwrap();
    assert!(env.stages().len() >= 2);
    for stage in env.stages() {
        let setup = env.rollout_setup(stage);
        assert!(
            setup.draining && setup.managed_scaling,
            "{}: read from the template",
            stage.name
        );
        assert_eq!(
            setup.deregistration_delay_s.value,
            infra::blocks::DEREGISTRATION_DELAY_SECONDS
        );
        assert_eq!(setup.counts.tasks, stage.service.min_count);
        for scenario in Scenario::ALL {
            let t = simulate(&setup, scenario);
            let at = format!("stage {} {scenario:?}: {:#?}", stage.name, t.events);
            assert!(t.done_at_s.is_some(), "does not finish: {at}");
            assert_eq!(t.outage_s, 0, "{at}");
            assert!(
                t.min_serving >= t.required_serving,
                "{} < {}: {at}",
                t.min_serving,
                t.required_serving
            );
            assert!(t.min_serving >= stage.service.min_count.min(1), "{at}");
        }
        // An instance replacement keeps every task serving (a new instance first, then a drain).
        let instances = simulate(&setup, Scenario::Instances);
        assert_eq!(
            instances.min_serving, stage.service.min_count,
            "stage {}: {:#?}",
            stage.name, instances.events
        );
    }
}

#[test]
fn plan_reads_its_timings_from_the_template_not_from_constants() {
    // Change the template's deregistration delay in the synthesized value: the model follows it.
    let env = Environment::load(&Inputs::new(&test_support::project_root()).only(Some("dev"))).unwrap();
    let stage = env.stage("dev").unwrap();
    let mut setup = env.rollout_setup(stage);
    let base = simulate(&setup, Scenario::Image).done_at_s.unwrap();
    setup.deregistration_delay_s.value += 100;
    let slower = simulate(&setup, Scenario::Image).done_at_s.unwrap();
    assert_eq!(slower - base, 100);
    assert!(
        setup.deregistration_delay_s.from.starts_with("TargetGroup."),
        "{}",
        setup.deregistration_delay_s.from
    );
}
