//! The model on the seed's 2017 setup: it must see what went wrong there, or it would see nothing for
//! berth either. The replacing update stops every task at once (an outage); AWS's default
//! deregistration delay (300 s) adds minutes to every image rollout; without headroom and with ECS's
//! default minimum healthy percent (100), an image rollout cannot progress at all.

use std::collections::BTreeMap;

use rollout::{Counts, Replacement, Scenario, Setup, simulate};

fn seed(counts: Counts) -> Setup {
    let text = include_str!("fixtures/seed-service.yaml");
    let template = cfn::raw::parse_template(text).expect("the seed's service parts parse");
    Setup::from_template(&template, &BTreeMap::new(), counts)
}

/// The seed's own sizes: one task (DesiredCount 1) on two t2.micro (a 128 MiB task: room for several).
const SEED: Counts = Counts {
    tasks: 1,
    max_tasks: 1,
    slots_per_instance: 7,
    min_instances: 2,
    max_instances: 3,
};

#[test]
fn the_seed_reads_as_aws_defaults_and_a_replacing_update() {
    let s = seed(SEED);
    assert_eq!(s.replacement, Replacement::Replacing);
    assert!(!s.draining && !s.managed_scaling);
    assert_eq!(s.deregistration_delay_s.value, 300);
    assert!(
        s.deregistration_delay_s.from.starts_with("AWS default"),
        "{}",
        s.deregistration_delay_s.from
    );
    assert_eq!(
        (s.maximum_percent.value, s.minimum_healthy_percent.value),
        (200, 100)
    );
    assert_eq!(s.health_check_interval_s.value, 30);
    assert_eq!(s.signal_timeout_s.value, 300, "CreationPolicy PT5M");
}

#[test]
fn replacing_the_seeds_instances_is_an_outage() {
    let t = simulate(&seed(SEED), Scenario::Instances);
    assert_eq!(t.min_serving, 0, "{:#?}", t.events);
    assert!(
        t.outage_s >= 30,
        "the outage lasts until a replacement task serves: {} s",
        t.outage_s
    );
    assert!(t.min_serving < t.required_serving);
    assert!(
        t.events
            .iter()
            .any(|e| e.what.contains("stop with their instance, undrained")),
        "{:#?}",
        t.events
    );
}

#[test]
fn the_default_deregistration_delay_adds_minutes_to_every_image_rollout() {
    let seed_image = simulate(&seed(SEED), Scenario::Image);
    let done = seed_image.done_at_s.expect("the seed's image rollout finishes");
    assert!(done >= 300, "the old task drains for 300 s: done in {done} s");
    assert_eq!(
        seed_image.min_serving, 1,
        "one task, replaced before it is stopped"
    );
    // The same rollout with berth's target group (30 s): the difference is the delay.
    let mut berth_timings = seed(SEED);
    berth_timings.deregistration_delay_s.value = 30;
    let fast = simulate(&berth_timings, Scenario::Image).done_at_s.unwrap();
    assert_eq!(done - fast, 270, "the 270 s are the deregistration delay's");
}

#[test]
fn without_headroom_an_image_rollout_cannot_progress() {
    // The 2017-sized prod: 6 tasks exactly filling 3 instances of 2 slots, at ECS's defaults.
    let full = Counts {
        tasks: 6,
        max_tasks: 6,
        slots_per_instance: 2,
        min_instances: 3,
        max_instances: 3,
    };
    let t = simulate(&seed(full), Scenario::Image);
    assert_eq!(
        t.done_at_s, None,
        "no room to start a new task, and none may stop: {:#?}",
        t.events
    );
    assert_eq!(t.min_serving, 6, "it does not drop tasks either: it stays stuck");
}
