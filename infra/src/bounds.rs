//! The bounds of the stage values that are numbers, each written once: the stage file is checked
//! against it (with the file, line and column) and the template parameter that receives the value
//! declares it (`MinValue`/`MaxValue`), so CloudFormation refuses what the stage file would.

use cfn::Parameter;
use cfn::params::Integer;

/// An inclusive range a stage value must lie in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    pub min: u32,
    pub max: u32,
    /// What the number counts, as written after it (` GiB`), or empty.
    pub unit: &'static str,
    /// Why the range is what it is, when that is not obvious (` (the ... is 30 GiB)`), or empty.
    pub why: &'static str,
}

impl Bound {
    const fn new(min: u32, max: u32, unit: &'static str) -> Bound {
        Bound {
            min,
            max,
            unit,
            why: "",
        }
    }

    const fn because(self, why: &'static str) -> Bound {
        Bound { why, ..self }
    }

    pub fn contains(&self, value: u32) -> bool {
        (self.min..=self.max).contains(&value)
    }

    /// `Ok` when `value` lies in the bound, else what was wrong and what was expected.
    pub fn check(&self, value: u32) -> Result<(), String> {
        if self.contains(value) {
            Ok(())
        } else {
            Err(format!(
                "{value}{}: expected {} to {}{}",
                self.unit, self.min, self.max, self.why
            ))
        }
    }

    /// The template parameter that receives the value, holding it to the same bound.
    pub fn parameter(&self, description: &str) -> Parameter<Integer> {
        Parameter::<Integer>::new()
            .description(description)
            .min_value(f64::from(self.min))
            .max_value(f64::from(self.max))
    }
}

/// The container instances' root volume (gp3).
pub const ROOT_VOLUME_GIB: Bound =
    Bound::new(30, 16_384, " GiB").because(" (the ECS-optimized AMI's root snapshot is 30 GiB)");
/// The fewest container instances: the group starts with these, and CloudFormation waits for the
/// signal of each.
pub const INSTANCES_MIN: Bound = Bound::new(1, 99, " instances")
    .because(" (CloudFormation waits for the signal of each one the group starts with)");
/// The most container instances (above the fewest: a replacement starts a new one first).
pub const INSTANCES_MAX: Bound = Bound::new(2, 100, " instances");
/// The fewest and the most tasks of the service (service auto scaling keeps the count between them).
pub const MIN_COUNT: Bound = Bound::new(1, 100, " tasks");
pub const MAX_COUNT: Bound = Bound::new(1, 100, " tasks");
/// CPU units of a task (1024 = one vCPU): what ECS accepts for the EC2 launch type (its API reference,
/// RegisterTaskDefinition `cpu`: 128 to 196608 units, 0.125 to 192 vCPUs). Whether it fits an instance
/// is the capacity check's.
pub const TASK_CPU: Bound = Bound::new(128, 196_608, " CPU units");
/// Memory of a task, in MiB: at least 128; the most is what an instance registers (the capacity check).
pub const TASK_MEMORY: Bound = Bound::new(128, 1_572_864, " MiB");
/// The average CPU utilization service auto scaling aims at, in percent.
pub const TARGET_CPU_PERCENT: Bound = Bound::new(10, 90, " percent");
/// The requests per task and minute service auto scaling aims at.
pub const TARGET_REQUESTS_PER_TARGET: Bound = Bound::new(1, 100_000, " requests per task and minute");
/// Target 5xx responses per minute, in 2 of 3 minutes, that roll a deployment back.
pub const ROLLBACK_5XX_PER_MINUTE: Bound = Bound::new(1, 100_000, " responses per minute");
/// Seconds a new task may fail health checks while it starts.
pub const HEALTH_CHECK_GRACE_SECONDS: Bound = Bound::new(0, 3600, " seconds");

/// Days a pipeline run's artifacts stay in the artifact bucket (a run older than this cannot be
/// retried).
pub const ARTIFACT_RETENTION_DAYS: Bound = Bound::new(1, 3650, " days");

/// Each bounded stage value's key path and its bound: the stage check and the messages about a value
/// that is not a number at all both read it here.
pub const BY_KEY: [(&[&str], Bound); 12] = [
    (&["instances", "min"], INSTANCES_MIN),
    (&["instances", "max"], INSTANCES_MAX),
    (&["instances", "root_volume_gib"], ROOT_VOLUME_GIB),
    (&["deploy", "artifact_retention_days"], ARTIFACT_RETENTION_DAYS),
    (&["service", "min_count"], MIN_COUNT),
    (&["service", "max_count"], MAX_COUNT),
    (&["service", "scaling", "cpu_percent"], TARGET_CPU_PERCENT),
    (
        &["service", "scaling", "requests_per_target"],
        TARGET_REQUESTS_PER_TARGET,
    ),
    (&["service", "rollback_5xx_per_minute"], ROLLBACK_5XX_PER_MINUTE),
    (&["service", "cpu"], TASK_CPU),
    (&["service", "memory"], TASK_MEMORY),
    (
        &["service", "health_check_grace_seconds"],
        HEALTH_CHECK_GRACE_SECONDS,
    ),
];

/// The bound of the stage value at `path`, if it has one.
pub fn at(path: &[&str]) -> Option<Bound> {
    BY_KEY.iter().find(|(p, _)| *p == path).map(|(_, b)| *b)
}

/// The key path of the retention of the service's logs, whose values are [`LOG_RETENTION_DAYS`].
pub const LOG_RETENTION_KEY: [&str; 2] = ["service", "log_retention_days"];

/// CloudWatch Logs' allowed retention periods, in days.
pub const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_says_the_value_and_the_range() {
        assert_eq!(TASK_CPU.check(128), Ok(()));
        assert_eq!(TASK_CPU.check(196_608), Ok(()));
        assert_eq!(
            TASK_CPU.check(64),
            Err("64 CPU units: expected 128 to 196608".to_owned())
        );
        assert_eq!(
            ROOT_VOLUME_GIB.check(8),
            Err("8 GiB: expected 30 to 16384 (the ECS-optimized AMI's root snapshot is 30 GiB)".to_owned())
        );
    }
}
