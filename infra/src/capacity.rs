//! Capacity: whether a stage's tasks fit its instances, with room to roll out and to lose one.
//!
//! What an instance offers ECS is what the ECS agent registers: CPU = vCPUs × 1024 units, exactly;
//! memory = the kernel's total memory less `ECS_RESERVED_MEMORY` (berth sets none), which is below the
//! instance's nominal memory by what the kernel and platform keep (AWS's example: an m4.large with 8 GiB
//! registers 7985 MiB). berth estimates it as Karpenter does for the same purpose: 64 MiB less on arm64,
//! then 7.5 % less (rounded up); conservative against AWS's example and reported instances. Each task
//! also takes one dynamic host port (32768-65535).

use crate::blocks::{DYNAMIC_PORTS, MAXIMUM_PERCENT};
use crate::instance_types::{Architecture, InstanceType};

/// What one container instance offers the tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registered {
    pub cpu_units: u32,
    pub memory_mib: u32,
    pub host_ports: u32,
}

/// What an instance of `t` registers with ECS (an estimate for memory; see the module's docs).
pub fn registered(t: &InstanceType) -> Registered {
    let mut m = u64::from(t.memory_mib);
    if t.architecture == Architecture::Arm64 {
        m = m.saturating_sub(64);
    }
    m -= (m * 75).div_ceil(1000);
    Registered {
        cpu_units: t.vcpus * 1024,
        memory_mib: u32::try_from(m).unwrap_or(u32::MAX),
        host_ports: u32::from(DYNAMIC_PORTS.1 - DYNAMIC_PORTS.0) + 1,
    }
}

/// How many tasks one instance holds, and what runs out first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fit {
    pub per_instance: u32,
    pub limited_by: &'static str,
}

/// Tasks of `cpu` units and `memory_mib` per instance of `r`.
pub fn fit(cpu: u32, memory_mib: u32, r: Registered) -> Fit {
    let by_cpu = r.cpu_units / cpu.max(1);
    let by_memory = r.memory_mib / memory_mib.max(1);
    let by_ports = r.host_ports;
    let per_instance = by_cpu.min(by_memory).min(by_ports);
    let limited_by = if per_instance == by_cpu {
        "CPU"
    } else if per_instance == by_memory {
        "memory"
    } else {
        "host ports"
    };
    Fit {
        per_instance,
        limited_by,
    }
}

/// The numbers of a capacity check, for messages and for `plan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub registered: Registered,
    pub fit: Fit,
    /// Tasks during a rollout of the most tasks: max × maximum percent.
    pub peak_tasks: u32,
    /// Task slots at the most instances.
    pub slots_at_max: u32,
    /// Task slots with one instance lost, at the most instances.
    pub slots_one_lost: u32,
}

/// The capacity plan of tasks (`cpu`, `memory_mib`, up to `max_tasks`) on up to `max_instances` of `t`.
pub fn plan(t: &InstanceType, cpu: u32, memory_mib: u32, max_tasks: u32, max_instances: u32) -> Plan {
    let registered = registered(t);
    let fit = fit(cpu, memory_mib, registered);
    Plan {
        registered,
        fit,
        peak_tasks: (max_tasks * MAXIMUM_PERCENT).div_ceil(100),
        slots_at_max: fit.per_instance * max_instances,
        slots_one_lost: fit.per_instance * max_instances.saturating_sub(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance_types::lookup;

    #[test]
    fn registered_memory_is_below_nominal_as_aws_says() {
        // AWS's example: an m4.large (8 GiB) registers 7985 MiB; the estimate must not be above it.
        let m5 = registered(&lookup("m5.large").unwrap());
        assert_eq!(m5.cpu_units, 2048);
        assert_eq!(m5.memory_mib, 7577);
        assert!(m5.memory_mib <= 7985);
        let t4g = registered(&lookup("t4g.micro").unwrap());
        assert_eq!(t4g.memory_mib, 888, "64 MiB less on arm64, then 7.5 %");
    }

    #[test]
    fn the_scarcest_resource_decides() {
        let r = registered(&lookup("m6i.large").unwrap());
        assert_eq!(
            fit(1024, 2048, r),
            Fit {
                per_instance: 2,
                limited_by: "CPU"
            }
        );
        assert_eq!(
            fit(256, 4096, r),
            Fit {
                per_instance: 1,
                limited_by: "memory"
            }
        );
        assert_eq!(fit(4096, 512, r).per_instance, 0);
    }
}
