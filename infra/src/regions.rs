//! AWS regions: the ones botocore knows, from `infra/data/regions.csv` (its header names the source,
//! botocore's `partitions.json` and `endpoints.json`, Apache-2.0; `infra/data/make_regions.py`
//! regenerates it). A stage's region must be one of them and have ECS; a region AWS opened after the
//! list was made is refused until the list is refreshed, with what to run.

use std::sync::LazyLock;

use regex_lite::Regex;

use crate::instance_types::edit_distance;

const TABLE: &str = include_str!("../data/regions.csv");

/// One region of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub name: &'static str,
    pub partition: &'static str,
    pub description: &'static str,
    /// ECS has an endpoint there.
    pub ecs: bool,
}

/// The botocore version the table comes from.
pub fn source_version() -> &'static str {
    TABLE
        .lines()
        .find_map(|l| l.strip_prefix("# Source: PyPI botocore "))
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or("?")
}

/// Every region of the table, in its order.
pub fn all() -> impl Iterator<Item = Region> {
    TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty() && !l.starts_with("region,"))
        .map(|l| {
            let f: Vec<&'static str> = l.split(',').collect();
            assert_eq!(f.len(), 5, "infra/data/regions.csv: five columns in {l}");
            Region {
                name: f[0],
                partition: f[1],
                description: f[2],
                ecs: f[4] == "yes",
            }
        })
}

/// Each partition's id and the regex its regions' names match.
static PARTITIONS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    TABLE
        .lines()
        .filter_map(|l| l.strip_prefix("# partition "))
        .map(|l| {
            let (id, rx) = l.split_once(' ').expect("`# partition ID REGEX`");
            (id, Regex::new(rx).expect("a partition's regionRegex"))
        })
        .collect()
});

pub fn lookup(name: &str) -> Option<Region> {
    all().find(|r| r.name == name)
}

/// Whether `name` is a region a stage can live in; the error names the bad value and what to write.
pub fn check(name: &str) -> Result<Region, String> {
    let list = format!(
        "the list in infra/data/regions.csv, from botocore {}",
        source_version()
    );
    if let Some(r) = lookup(name) {
        if r.ecs {
            return Ok(r);
        }
        return Err(format!(
            "`{name}` ({}) has no ECS endpoint ({list}): expected a region where ECS runs; if it has one now, \
             refresh the list (python3 infra/data/make_regions.py)",
            r.description
        ));
    }
    let lower = name.to_ascii_lowercase();
    let mut near: Vec<(usize, Region)> = all()
        .filter(|r| r.ecs)
        .map(|r| (edit_distance(&lower, r.name), r))
        .filter(|(d, _)| *d <= 2)
        .collect();
    near.sort_by_key(|(d, r)| (*d, r.name));
    let best = near.first().map(|(d, _)| *d);
    let mut suggestions: Vec<String> = near
        .iter()
        .filter(|(d, _)| Some(*d) == best)
        .take(3)
        .map(|(_, r)| format!("`{}` ({})", r.name, r.description))
        .collect();
    if suggestions.is_empty() && lower.len() >= 3 {
        // A city or country for a region: `tokyo`, `Ireland`.
        suggestions = all()
            .filter(|r| r.ecs && r.description.to_ascii_lowercase().contains(&lower))
            .take(3)
            .map(|r| format!("`{}` ({})", r.name, r.description))
            .collect();
    }
    let did_you_mean = match suggestions.len() {
        0 => String::new(),
        1 => format!("; did you mean {}?", suggestions[0]),
        _ => format!("; did you mean one of {}?", suggestions.join(", ")),
    };
    match PARTITIONS.iter().find(|(_, rx)| rx.is_match(name)) {
        Some((partition, _)) => Err(format!(
            "`{name}` is not an AWS region ({list}): expected a region of partition {partition} such as \
             ap-northeast-1{did_you_mean} (a region opened since then: refresh the list, python3 \
             infra/data/make_regions.py)"
        )),
        None => Err(format!(
            "`{name}` is not an AWS region ({list}): expected a name such as ap-northeast-1{did_you_mean}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_and_refuses_what_it_lacks() {
        assert_eq!(all().count(), 48);
        assert_eq!(source_version(), "1.44.8");
        assert_eq!(PARTITIONS.len(), 8);
        assert_eq!(check("ap-northeast-1").map(|r| r.partition), Ok("aws"));
        assert_eq!(check("cn-north-1").map(|r| r.partition), Ok("aws-cn"));
        let e = check("eu-west-9").unwrap_err();
        assert!(
            e.starts_with(
                "`eu-west-9` is not an AWS region (the list in infra/data/regions.csv, from botocore 1.44.8): \
                 expected a region of partition aws"
            ),
            "{e}"
        );
        assert!(
            e.contains("partition aws") && e.contains("did you mean one of `eu-west-1`"),
            "{e}"
        );
        let e = check("tokyo").unwrap_err();
        assert!(
            e.contains("did you mean `ap-northeast-1` (Asia Pacific (Tokyo))"),
            "{e}"
        );
        let e = check("me-west-1").unwrap_err();
        assert!(e.contains("no ECS endpoint"), "{e}");
    }
}
