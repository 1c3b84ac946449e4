//! A model of the environment's rollouts: what users see while a new image is rolled out, while every
//! container instance is replaced, and while the service scales out; and how long a push takes to serve.
//!
//! It is a model, not a measurement: one-second steps of ECS's service scheduler (maximum and minimum
//! healthy percent, placement on instances with room), the load balancer (a new target serves after
//! one passing health check; a deregistered one drains for the deregistration delay), CloudFormation's
//! instance replacement (rolling or replacing, gated by signals), ECS's managed draining and scaling.
//! Every AWS timing comes from the synthesized service template ([`Setup::from_template`]), or AWS's
//! default where the template sets none; what no template says (how long an instance boots, a task
//! starts, a build runs) is an [`Estimates`] value, shown with every plan.

mod setup;
mod sim;

pub use setup::{Counts, Estimates, Input, Replacement, Setup};
pub use sim::{Event, Scenario, Timeline, simulate};

/// `m:ss`.
pub fn clock(seconds: u32) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// From a push to the new image serving: the pipeline's steps and the image rollout.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PushToServing {
    pub source_s: u32,
    pub build_cold_s: u32,
    pub build_cached_s: u32,
    pub build_overhead_s: u32,
    pub change_set_s: u32,
    pub rollout_s: u32,
    pub total_cold_s: u32,
    pub total_cached_s: u32,
}

/// The push-to-serving estimate, with `rollout` the image scenario's timeline.
pub fn push_to_serving(s: &Setup, rollout: &Timeline) -> PushToServing {
    let e = &s.estimates;
    let rollout_s = rollout.done_at_s.unwrap_or(4 * 3600);
    let rest = e.source_s + e.build_overhead_s + e.change_set_s + rollout_s;
    PushToServing {
        source_s: e.source_s,
        build_cold_s: e.build_cold_s,
        build_cached_s: e.build_cached_s,
        build_overhead_s: e.build_overhead_s,
        change_set_s: e.change_set_s,
        rollout_s,
        total_cold_s: rest + e.build_cold_s,
        total_cached_s: rest + e.build_cached_s,
    }
}

/// The plan as text: what it used, the timeline, the outcome.
pub fn render(title: &str, s: &Setup, t: &Timeline, push: Option<&PushToServing>) -> String {
    let c = s.counts;
    let mut out = format!(
        "{title}: {} (a model, not a measurement)\n\ninputs:\n",
        t.scenario.describe()
    );
    let line = |out: &mut String, text: String| {
        out.push_str("  ");
        out.push_str(&text);
        out.push('\n');
    };
    line(
        &mut out,
        format!(
            "tasks {} (up to {}), {} per instance; instances {} to {}",
            c.tasks, c.max_tasks, c.slots_per_instance, c.min_instances, c.max_instances
        ),
    );
    for (what, input, unit) in [
        ("maximum percent", &s.maximum_percent, "%"),
        ("minimum healthy percent", &s.minimum_healthy_percent, "%"),
        (
            "health check interval",
            &s.health_check_interval_s,
            " s (a new target serves after one passing check)",
        ),
        ("healthy threshold", &s.healthy_threshold, " checks"),
        ("unhealthy threshold", &s.unhealthy_threshold, " checks"),
        ("deregistration delay", &s.deregistration_delay_s, " s"),
        (
            "stop timeout",
            &s.stop_timeout_s,
            " s (the app exits once drained)",
        ),
        ("health check grace", &s.health_check_grace_s, " s"),
        ("signal timeout", &s.signal_timeout_s, " s"),
    ] {
        line(
            &mut out,
            format!("{what}: {}{unit}  [{}]", input.value, input.from),
        );
    }
    let replacement = match s.replacement {
        Replacement::Rolling {
            batch,
            min_in_service,
            wait_for_signals,
        } => format!(
            "rolling, {batch} at a time, {min_in_service} in service, {} signals",
            if wait_for_signals {
                "waiting for"
            } else {
                "not waiting for"
            }
        ),
        Replacement::Replacing => "a whole new group, then the old one deleted".to_owned(),
        Replacement::None => "none".to_owned(),
    };
    line(
        &mut out,
        format!("instance replacement: {replacement}  [{}]", s.replacement_from),
    );
    line(
        &mut out,
        format!(
            "ECS managed draining: {}; managed scaling: {}",
            if s.draining { "yes" } else { "no" },
            if s.managed_scaling { "yes" } else { "no" }
        ),
    );
    let e = &s.estimates;
    line(
        &mut out,
        format!(
            "estimates: an instance ready in {} s, a task started in {} s, lost tasks noticed in {} s, scale-out alarm {} s, capacity alarm {} s",
            e.instance_ready_s,
            e.task_start_s,
            e.lost_task_detection_s,
            e.scale_out_alarm_s,
            e.capacity_alarm_s
        ),
    );
    out.push_str("\ntimeline (time, tasks serving, instances up):\n");
    for ev in &t.events {
        out.push_str(&format!(
            "  {:>6}  {:>3} serving  {:>3} instances  {}\n",
            clock(ev.at_s),
            ev.serving,
            ev.instances,
            ev.what
        ));
    }
    out.push('\n');
    match t.done_at_s {
        Some(d) => out.push_str(&format!("done in {}", clock(d))),
        None => out.push_str("not done within 4 hours"),
    }
    out.push_str(&format!(
        "; fewest tasks serving: {} (the service allows no fewer than {}){}\n",
        t.min_serving,
        t.required_serving,
        if t.outage_s > 0 {
            format!(
                "; NO TASK SERVED for {} s: the load balancer answered 5xx",
                t.outage_s
            )
        } else {
            String::new()
        }
    ));
    if let Some(p) = push {
        out.push_str(&format!(
            "push to serving: source {} + build {} (compiling from nothing) or {} (dependencies cached) + {} (CodeBuild and the registry) + change set {} + rollout {} = {} or {}\n",
            clock(p.source_s),
            clock(p.build_cold_s),
            clock(p.build_cached_s),
            clock(p.build_overhead_s),
            clock(p.change_set_s),
            clock(p.rollout_s),
            clock(p.total_cold_s),
            clock(p.total_cached_s)
        ));
    }
    out
}
