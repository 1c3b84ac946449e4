//! Resource attributes that are policies: `CreationPolicy`, `UpdatePolicy`, `DeletionPolicy`,
//! `UpdateReplacePolicy`, and the ISO-8601 durations they take.

use std::fmt;

use crate::node::Node;
use crate::val::Val;

/// An ISO-8601 duration as CloudFormation takes it (`PT15M`, `PT1H30M`). Built from numbers, so it
/// cannot be malformed; [`IsoDuration::parse`] reads one from text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct IsoDuration {
    seconds: u32,
}

impl IsoDuration {
    pub const fn seconds(s: u32) -> Self {
        IsoDuration { seconds: s }
    }

    pub const fn minutes(m: u32) -> Self {
        IsoDuration { seconds: m * 60 }
    }

    pub const fn hours(h: u32) -> Self {
        IsoDuration { seconds: h * 3600 }
    }

    pub const fn as_seconds(self) -> u32 {
        self.seconds
    }

    /// Reads `PT#H#M#S` (each part optional, at least one present, in that order).
    pub fn parse(text: &str) -> Result<Self, String> {
        let expected = "an ISO-8601 duration such as PT15M or PT1H30M";
        let rest = text
            .strip_prefix("PT")
            .ok_or_else(|| format!("`{text}` is not {expected}"))?;
        if rest.is_empty() {
            return Err(format!("`{text}` is not {expected}"));
        }
        let mut seconds: u64 = 0;
        let mut number = String::new();
        let mut last_unit = 0;
        for c in rest.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let (rank, factor) = match c {
                'H' => (1, 3600),
                'M' => (2, 60),
                'S' => (3, 1),
                _ => return Err(format!("`{text}` is not {expected}")),
            };
            if number.is_empty() || rank <= last_unit {
                return Err(format!("`{text}` is not {expected}"));
            }
            let n: u64 = number
                .parse()
                .map_err(|_| format!("`{text}` is not {expected}"))?;
            seconds = seconds.saturating_add(n.saturating_mul(factor));
            number.clear();
            last_unit = rank;
        }
        if !number.is_empty() {
            return Err(format!("`{text}` is not {expected}"));
        }
        let seconds = u32::try_from(seconds).map_err(|_| format!("`{text}` is too long"))?;
        Ok(IsoDuration { seconds })
    }
}

impl fmt::Display for IsoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, m, s) = (self.seconds / 3600, self.seconds % 3600 / 60, self.seconds % 60);
        f.write_str("PT")?;
        if h > 0 {
            write!(f, "{h}H")?;
        }
        if m > 0 {
            write!(f, "{m}M")?;
        }
        if s > 0 || self.seconds == 0 {
            write!(f, "{s}S")?;
        }
        Ok(())
    }
}

/// `CreationPolicy`: what CloudFormation waits for before it calls the resource created.
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use]
pub struct CreationPolicy {
    pub(crate) resource_signal: Option<(Node, IsoDuration)>,
    pub(crate) min_successful_instances_percent: Option<Node>,
}

impl CreationPolicy {
    /// `ResourceSignal`: wait for `count` success signals (`cfn-signal`) within `timeout`.
    pub fn signals(count: impl Into<Val<i64>>, timeout: IsoDuration) -> Self {
        CreationPolicy {
            resource_signal: Some((count.into().node, timeout)),
            ..Self::default()
        }
    }

    /// `AutoScalingCreationPolicy.MinSuccessfulInstancesPercent`.
    pub fn min_successful_instances_percent(mut self, percent: impl Into<Val<i64>>) -> Self {
        self.min_successful_instances_percent = Some(percent.into().node);
        self
    }

    /// The number of signals waited for, when it is a literal.
    pub fn signal_count(&self) -> Option<i64> {
        match self.resource_signal {
            Some((Node::Int(n), _)) => Some(n),
            _ => None,
        }
    }

    pub(crate) fn to_node(&self) -> Node {
        let mut entries = Vec::new();
        if let Some(p) = &self.min_successful_instances_percent {
            entries.push((
                "AutoScalingCreationPolicy".to_owned(),
                Node::Map(vec![("MinSuccessfulInstancesPercent".to_owned(), p.clone())]),
            ));
        }
        if let Some((count, timeout)) = &self.resource_signal {
            entries.push((
                "ResourceSignal".to_owned(),
                Node::Map(vec![
                    ("Count".to_owned(), count.clone()),
                    ("Timeout".to_owned(), Node::Str(timeout.to_string())),
                ]),
            ));
        }
        Node::Map(entries)
    }
}

/// `AutoScalingRollingUpdate` settings.
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use]
pub struct RollingUpdate {
    pub(crate) max_batch_size: Option<Node>,
    pub(crate) min_instances_in_service: Option<Node>,
    pub(crate) min_successful_instances_percent: Option<Node>,
    pub(crate) pause_time: Option<IsoDuration>,
    pub(crate) suspend_processes: Vec<String>,
    pub(crate) wait_on_resource_signals: Option<bool>,
}

impl RollingUpdate {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn max_batch_size(mut self, n: impl Into<Val<i64>>) -> Self {
        self.max_batch_size = Some(n.into().node);
        self
    }
    pub fn min_instances_in_service(mut self, n: impl Into<Val<i64>>) -> Self {
        self.min_instances_in_service = Some(n.into().node);
        self
    }
    pub fn min_successful_instances_percent(mut self, n: impl Into<Val<i64>>) -> Self {
        self.min_successful_instances_percent = Some(n.into().node);
        self
    }
    pub fn pause_time(mut self, d: IsoDuration) -> Self {
        self.pause_time = Some(d);
        self
    }
    pub fn suspend_process(mut self, name: &str) -> Self {
        self.suspend_processes.push(name.to_owned());
        self
    }
    pub fn wait_on_resource_signals(mut self, wait: bool) -> Self {
        self.wait_on_resource_signals = Some(wait);
        self
    }
}

/// `UpdatePolicy`: how CloudFormation updates an Auto Scaling group.
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use]
pub struct UpdatePolicy {
    pub(crate) replacing_update: Option<bool>,
    pub(crate) rolling_update: Option<RollingUpdate>,
    pub(crate) ignore_unmodified_group_size_properties: Option<bool>,
}

impl UpdatePolicy {
    /// `AutoScalingReplacingUpdate: WillReplace: will_replace`: a new group replaces the old one,
    /// which is kept until the new one has signalled (the `CreationPolicy`).
    pub fn replacing_update(will_replace: bool) -> Self {
        UpdatePolicy {
            replacing_update: Some(will_replace),
            ..Self::default()
        }
    }

    /// `AutoScalingRollingUpdate`.
    pub fn rolling_update(update: RollingUpdate) -> Self {
        UpdatePolicy {
            rolling_update: Some(update),
            ..Self::default()
        }
    }

    /// `AutoScalingScheduledAction.IgnoreUnmodifiedGroupSizeProperties`.
    pub fn ignore_unmodified_group_size_properties(mut self, ignore: bool) -> Self {
        self.ignore_unmodified_group_size_properties = Some(ignore);
        self
    }

    /// True when `AutoScalingReplacingUpdate.WillReplace` is set to true.
    pub fn will_replace(&self) -> bool {
        self.replacing_update == Some(true)
    }

    pub(crate) fn to_node(&self) -> Node {
        let mut entries = Vec::new();
        if let Some(w) = self.replacing_update {
            entries.push((
                "AutoScalingReplacingUpdate".to_owned(),
                Node::Map(vec![("WillReplace".to_owned(), Node::Bool(w))]),
            ));
        }
        if let Some(r) = &self.rolling_update {
            let mut m = Vec::new();
            let mut opt = |k: &str, v: &Option<Node>| {
                if let Some(v) = v {
                    m.push((k.to_owned(), v.clone()));
                }
            };
            opt("MaxBatchSize", &r.max_batch_size);
            opt("MinInstancesInService", &r.min_instances_in_service);
            opt(
                "MinSuccessfulInstancesPercent",
                &r.min_successful_instances_percent,
            );
            if let Some(p) = r.pause_time {
                m.push(("PauseTime".to_owned(), Node::Str(p.to_string())));
            }
            if !r.suspend_processes.is_empty() {
                m.push((
                    "SuspendProcesses".to_owned(),
                    Node::List(r.suspend_processes.iter().cloned().map(Node::Str).collect()),
                ));
            }
            if let Some(w) = r.wait_on_resource_signals {
                m.push(("WaitOnResourceSignals".to_owned(), Node::Bool(w)));
            }
            entries.push(("AutoScalingRollingUpdate".to_owned(), Node::Map(m)));
        }
        if let Some(i) = self.ignore_unmodified_group_size_properties {
            entries.push((
                "AutoScalingScheduledAction".to_owned(),
                Node::Map(vec![(
                    "IgnoreUnmodifiedGroupSizeProperties".to_owned(),
                    Node::Bool(i),
                )]),
            ));
        }
        Node::Map(entries)
    }
}

/// `DeletionPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeletionPolicy {
    Delete,
    Retain,
    RetainExceptOnCreate,
    Snapshot,
}

impl DeletionPolicy {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DeletionPolicy::Delete => "Delete",
            DeletionPolicy::Retain => "Retain",
            DeletionPolicy::RetainExceptOnCreate => "RetainExceptOnCreate",
            DeletionPolicy::Snapshot => "Snapshot",
        }
    }
}

/// `UpdateReplacePolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateReplacePolicy {
    Delete,
    Retain,
    Snapshot,
}

impl UpdateReplacePolicy {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            UpdateReplacePolicy::Delete => "Delete",
            UpdateReplacePolicy::Retain => "Retain",
            UpdateReplacePolicy::Snapshot => "Snapshot",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::IsoDuration;

    #[test]
    fn durations_print_and_parse() {
        for (d, text) in [
            (IsoDuration::minutes(15), "PT15M"),
            (IsoDuration::seconds(5400), "PT1H30M"),
            (IsoDuration::hours(12), "PT12H"),
            (IsoDuration::seconds(61), "PT1M1S"),
            (IsoDuration::seconds(0), "PT0S"),
        ] {
            assert_eq!(d.to_string(), text);
            assert_eq!(IsoDuration::parse(text), Ok(d));
        }
    }

    #[test]
    fn malformed_durations_are_rejected_with_the_value() {
        for bad in [
            "15M",
            "PT",
            "PT5",
            "PTM",
            "PT5M1H",
            "PT1.5M",
            "P1D",
            "5 minutes",
            "PT5M5M",
        ] {
            let err = IsoDuration::parse(bad).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }
}
