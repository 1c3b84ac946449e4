//! EC2 instance types: vCPUs, memory and architecture of the current general-purpose, compute and
//! memory families (x86 and Graviton), from `infra/data/instance-types.csv` (its header names the
//! source: EC2's DescribeInstanceTypes, as Karpenter's published table has it, Apache-2.0).

use std::fmt;

/// A processor architecture, as EC2, the ECS-optimized AMIs and CodeBuild name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Architecture {
    X86_64,
    Arm64,
}

impl Architecture {
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }

    pub fn parse(s: &str) -> Option<Architecture> {
        match s {
            "x86_64" => Some(Architecture::X86_64),
            "arm64" => Some(Architecture::Arm64),
            _ => None,
        }
    }

    /// The public SSM parameter holding the current recommended ECS-optimized Amazon Linux 2023 AMI for
    /// this architecture (a JSON document with `image_id`, `image_name`, ...).
    pub fn recommended_ami_parameter(self) -> &'static str {
        match self {
            Architecture::X86_64 => "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended",
            Architecture::Arm64 => "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended",
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One instance type of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstanceType {
    pub name: &'static str,
    pub vcpus: u32,
    pub memory_mib: u32,
    pub architecture: Architecture,
}

const TABLE: &str = include_str!("../data/instance-types.csv");

/// Every instance type of the table, in its order.
pub fn all() -> impl Iterator<Item = InstanceType> {
    TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty() && !l.starts_with("type,"))
        .map(|l| {
            let mut f = l.split(',');
            let mut next = || f.next().expect("infra/data/instance-types.csv: four columns");
            let name = next();
            let vcpus = next().parse().expect("vcpus is a number");
            let memory_mib = next().parse().expect("memory_mib is a number");
            let architecture = Architecture::parse(next()).expect("arch is x86_64 or arm64");
            InstanceType {
                name,
                vcpus,
                memory_mib,
                architecture,
            }
        })
}

/// The instance type named, when the table has it.
pub fn lookup(name: &str) -> Option<InstanceType> {
    all().find(|t| t.name == name)
}

/// The table's type closest to `name` in spelling, when one is close (for "did you mean").
pub fn closest(name: &str) -> Option<&'static str> {
    all()
        .map(|t| (edit_distance(name, t.name), t.name))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, n)| n)
}

/// Levenshtein distance, by characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_and_knows_both_architectures() {
        let all: Vec<InstanceType> = all().collect();
        assert_eq!(all.len(), 270);
        assert_eq!(
            lookup("m5.large"),
            Some(InstanceType {
                name: "m5.large",
                vcpus: 2,
                memory_mib: 8192,
                architecture: Architecture::X86_64
            })
        );
        assert_eq!(
            lookup("t4g.small").map(|t| t.architecture),
            Some(Architecture::Arm64)
        );
        assert_eq!(lookup("t3.meduim"), None);
        assert_eq!(closest("t3.meduim"), Some("t3.medium"));
        assert_eq!(closest("q9.enormous"), None);
    }
}
