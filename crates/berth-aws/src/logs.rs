//! `logs service|build`: the app's log (its JSON lines as level, time, message and fields) and the
//! build's log, from CloudWatch Logs; `--follow` keeps reading until Ctrl-C (a build's log: until
//! the build ends).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_codebuild::types::{Build, SortOrderType, StatusType};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use cli::LogFlags;
use serde_json::Value;

use crate::exit::{Code, Failure, Result};
use crate::fail;
use crate::ops::{self, Call, Ctx};
use crate::output::Printer;

/// What `logs service` shows without `--since`.
pub const DEFAULT_SINCE: &str = "10m";

/// How often `--follow` looks for new lines, at most.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// The start of `--since WHEN`, in milliseconds since the epoch: a duration back from `now_ms`
/// (`30s`, `10m`, `2h`, `1d`, `1h30m`) or an RFC 3339 time.
pub fn since_ms(text: &str, now_ms: i64) -> std::result::Result<i64, String> {
    let bad = || {
        format!(
            "--since {text}: expected a duration (30s, 10m, 2h, 1d, 1h30m) or an RFC 3339 time (2026-11-28T05:24:01Z)"
        )
    };
    if text.contains('T') || text.contains('-') {
        return DateTime::from_str(text, Format::DateTime)
            .map(|t| t.to_millis().unwrap_or(0))
            .map_err(|_| bad());
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
    }
    if !digits.is_empty() || text.is_empty() {
        return Err(bad());
    }
    Ok(now_ms - total * 1000)
}

fn now_ms() -> i64 {
    deploy_now().to_millis().unwrap_or(0)
}

fn deploy_now() -> DateTime {
    crate::deploy::now()
}

/// `2026-11-28 05:24:01.123`: a log line's time, to the millisecond.
fn ms_clock(ms: i64) -> String {
    let t = DateTime::from_millis(ms);
    let base = ops::clock(&t);
    format!("{}.{:03}", base.trim_end_matches('Z'), ms.rem_euclid(1000))
}

/// A field value as `k=v` shows it: text as is when it has no spaces, anything else as JSON.
fn field_value(v: &Value) -> String {
    match v {
        Value::String(s) if !s.is_empty() && !s.contains(char::is_whitespace) && !s.contains('"') => {
            s.clone()
        }
        other => other.to_string(),
    }
}

/// One line of the app's log for people: `time  LEVEL  task  message  k=v ...`; a line that is not
/// the app's JSON is shown as it is, after its time and task.
pub fn pretty(p: &Printer, timestamp_ms: i64, stream: &str, message: &str) -> String {
    let task: String = ops::short(stream).chars().take(8).collect();
    let message = message.trim_end_matches(['\n', '\r']);
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(message) else {
        return format!("{}  {:<5}  {task}  {message}", ms_clock(timestamp_ms), "-");
    };
    let time = match fields.get("ts") {
        Some(Value::String(ts)) => DateTime::from_str(ts, Format::DateTime)
            .ok()
            .and_then(|t| t.to_millis().ok())
            .map_or(ts.clone(), ms_clock),
        _ => ms_clock(timestamp_ms),
    };
    let level = match fields.get("level") {
        Some(Value::String(l)) => l.to_uppercase(),
        _ => "-".to_owned(),
    };
    let msg = match fields.get("msg").or_else(|| fields.get("message")) {
        Some(Value::String(m)) => m.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let padded = format!("{level:<5}");
    let level = match level.as_str() {
        "ERROR" | "FATAL" => p.alarm(&padded),
        "WARN" | "WARNING" => p.caution(&padded),
        _ => padded,
    };
    // The other fields, by name (the same order however serde_json keeps maps).
    let mut rest: Vec<(&String, &Value)> = fields
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "ts" | "level" | "msg" | "message"))
        .collect();
    rest.sort_by(|a, b| a.0.cmp(b.0));
    let rest: Vec<String> = rest
        .into_iter()
        .map(|(k, v)| format!("{k}={}", field_value(v)))
        .collect();
    let mut line = format!("{time}  {level}  {task}  {msg}");
    if !rest.is_empty() {
        line.push_str("  ");
        line.push_str(&rest.join(" "));
    }
    line
}

/// `logs service`: the app's log lines since `--since` (10 minutes), pretty-printed or raw;
/// `--follow` until Ctrl-C.
pub async fn service(ctx: &Ctx<'_>, flags: &LogFlags) -> Result<Code> {
    let p = ctx.printer;
    let group = ctx.names.log_group();
    let start = since_ms(flags.since.as_deref().unwrap_or(DEFAULT_SINCE), now_ms())
        .map_err(|e| Failure::new(Code::Usage, e))?;
    let mut from = start;
    // The events already printed at the newest timestamp seen (the next query starts there again).
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut printed = 0usize;
    let mut delay = ctx.pacing.first;
    loop {
        let mut token: Option<String> = None;
        let mut newest = from;
        let mut at_newest: BTreeSet<String> = BTreeSet::new();
        let mut fresh = 0usize;
        loop {
            if ctx.interrupt.fired() {
                return Err(stopped(p, &group));
            }
            let out = ctx
                .aws
                .logs
                .filter_log_events()
                .log_group_name(&group)
                .start_time(from)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| {
                    Call::new("logs:FilterLogEvents", format!("reading the log group {group}"))
                        .missing(
                            &["ResourceNotFoundException"],
                            format!(
                                "no log group {group} yet: the service stack creates it (`{}`, or the pipeline's first run)",
                                ctx.hint("deploy service")
                            ),
                        )
                        .fail(e)
                })?;
            for e in out.events.unwrap_or_default() {
                let id = e.event_id.clone().unwrap_or_default();
                let ts = e.timestamp.unwrap_or(0);
                if seen.contains(&id) {
                    continue;
                }
                if ts > newest {
                    newest = ts;
                    at_newest.clear();
                }
                if ts == newest {
                    at_newest.insert(id.clone());
                }
                let message = e.message.unwrap_or_default();
                if flags.filter.as_deref().is_some_and(|f| !message.contains(f)) {
                    continue;
                }
                fresh += 1;
                if flags.raw {
                    p.data(message.trim_end_matches(['\n', '\r']));
                } else {
                    p.data(&pretty(
                        p,
                        ts,
                        e.log_stream_name.as_deref().unwrap_or_default(),
                        &message,
                    ));
                }
            }
            match out.next_token {
                Some(t) if !t.is_empty() && Some(&t) != token.as_ref() => token = Some(t),
                _ => break,
            }
        }
        printed += fresh;
        if newest > from {
            from = newest;
            seen = at_newest;
        } else {
            seen.extend(at_newest);
        }
        if !flags.follow {
            if printed == 0 {
                p.line(&format!(
                    "no log lines in {group} since {}{}",
                    ms_clock(start),
                    flags
                        .filter
                        .as_deref()
                        .map(|f| format!(" containing `{f}`"))
                        .unwrap_or_default()
                ));
            }
            return Ok(Code::Ok);
        }
        delay = if fresh > 0 {
            ctx.pacing.first
        } else {
            delay
                .mul_f64(1.6)
                .clamp(ctx.pacing.first, ctx.pacing.max.min(FOLLOW_EVERY))
        };
        if ctx.interrupt.sleep(delay).await {
            return Err(stopped(p, &group));
        }
    }
}

fn stopped(p: &Printer, what: &str) -> Failure {
    p.line(&format!("stopped following {what}"));
    Failure::new(Code::Interrupted, "interrupted")
}

/// The ID of the latest build of the stage's build project.
async fn latest_build(ctx: &Ctx<'_>) -> Result<String> {
    let project = ctx.pipeline_name();
    let out = ctx
        .aws
        .build
        .list_builds_for_project()
        .project_name(&project)
        .sort_order(SortOrderType::Descending)
        .send()
        .await
        .map_err(|e| {
            Call::new(
                "codebuild:ListBuildsForProject",
                format!("listing the builds of project {project}"),
            )
            .missing(
                &["ResourceNotFoundException"],
                format!(
                    "stage {} has no build project yet (no {project}): `{}` creates it",
                    ctx.names.stage(),
                    ctx.hint("deploy pipeline")
                ),
            )
            .fail(e)
        })?;
    out.ids
        .unwrap_or_default()
        .into_iter()
        .next()
        .ok_or_else(|| {
            Failure::new(
                Code::Error,
                format!(
                    "project {project} has no builds yet: the pipeline's build stage runs them\nhint: `{}` starts a run",
                    ctx.hint("pipeline release")
                ),
            )
        })
}

/// The builds of these IDs, by ID (unknown IDs are left out): for `logs build` and for a pipeline
/// run's build actions.
pub async fn builds(ctx: &Ctx<'_>, ids: Vec<String>) -> Result<BTreeMap<String, Build>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let out = ctx
        .aws
        .build
        .batch_get_builds()
        .set_ids(Some(ids))
        .send()
        .await
        .map_err(|e| {
            Call::new(
                "codebuild:BatchGetBuilds",
                format!("reading the builds of pipeline {}", ctx.pipeline_name()),
            )
            .fail(e)
        })?;
    Ok(out
        .builds
        .unwrap_or_default()
        .into_iter()
        .filter_map(|b| Some((b.id.clone()?, b)))
        .collect())
}

/// One build, by ID.
async fn one_build(ctx: &Ctx<'_>, id: &str) -> Result<Build> {
    let mut builds = builds(ctx, vec![id.to_owned()]).await?;
    builds.remove(id).ok_or_else(|| {
        Failure::new(
            Code::Error,
            format!(
                "no build {id}\nhint: `{}` names the builds of the latest runs",
                ctx.hint("pipeline status")
            ),
        )
    })
}

/// The failed phase of a build and why: `("BUILD", "COMMAND_EXECUTION_ERROR: ...")`.
pub fn failed_phase(build: &Build) -> Option<(String, String)> {
    let phase = build.phases().iter().find(|ph| {
        matches!(
            ph.phase_status,
            Some(StatusType::Failed | StatusType::Fault | StatusType::TimedOut | StatusType::Stopped)
        )
    })?;
    let why: Vec<String> = phase
        .contexts()
        .iter()
        .map(|c| {
            let code = c.status_code.as_deref().unwrap_or_default();
            let message = c.message.as_deref().unwrap_or_default();
            match (code.is_empty(), message.is_empty()) {
                (false, false) => format!("{code}: {message}"),
                (false, true) => code.to_owned(),
                _ => message.to_owned(),
            }
        })
        .filter(|s| !s.is_empty())
        .collect();
    Some((
        phase.phase_type.as_ref().map_or("?", |t| t.as_str()).to_owned(),
        if why.is_empty() {
            phase
                .phase_status
                .as_ref()
                .map_or("failed", |s| s.as_str())
                .to_owned()
        } else {
            why.join("; ")
        },
    ))
}

/// The log group and stream of a build, once it has them.
fn log_location(build: &Build) -> Option<(String, String)> {
    let logs = build.logs.as_ref()?;
    Some((logs.group_name.clone()?, logs.stream_name.clone()?))
}

/// The last `n` lines of a build's log.
pub async fn build_tail(ctx: &Ctx<'_>, build: &Build, n: i32) -> Result<Vec<String>> {
    let Some((group, stream)) = log_location(build) else {
        return Ok(Vec::new());
    };
    let out = ctx
        .aws
        .logs
        .get_log_events()
        .log_group_name(&group)
        .log_stream_name(&stream)
        .start_from_head(false)
        .limit(n)
        .send()
        .await
        .map_err(|e| {
            Call::new(
                "logs:GetLogEvents",
                format!("reading the build's log {group} {stream}"),
            )
            .missing(
                &["ResourceNotFoundException"],
                format!("the build's log {group} {stream} is gone"),
            )
            .fail(e)
        })?;
    let events = out.events.unwrap_or_default();
    let skip = events.len().saturating_sub(usize::try_from(n).unwrap_or(0));
    Ok(events
        .into_iter()
        .skip(skip)
        .filter_map(|e| e.message)
        .map(|m| m.trim_end_matches(['\n', '\r']).to_owned())
        .collect())
}

/// `logs build`: the log of the latest build (or `--build ID`), from its start (or `--since`);
/// `--follow` until the build ends.
pub async fn build(ctx: &Ctx<'_>, flags: &LogFlags, id: Option<String>) -> Result<Code> {
    let p = ctx.printer;
    let project = ctx.pipeline_name();
    let start = match flags.since.as_deref() {
        Some(s) => Some(since_ms(s, now_ms()).map_err(|e| Failure::new(Code::Usage, e))?),
        None => None,
    };
    let id = match id {
        Some(id) if id.contains(':') => id,
        Some(uuid) => format!("{project}:{uuid}"),
        None => latest_build(ctx).await?,
    };
    let mut build = one_build(ctx, &id).await?;
    p.line(&format!(
        "build {id}{}: {}{}",
        build.build_number.map(|n| format!(" (#{n})")).unwrap_or_default(),
        build.build_status.as_ref().map_or("?", |s| s.as_str()),
        build
            .start_time
            .as_ref()
            .map(|t| format!(", started {}", ops::clock(t)))
            .unwrap_or_default()
    ));
    let mut token: Option<String> = None;
    let mut delay = ctx.pacing.first;
    loop {
        let location = log_location(&build);
        let mut fresh = 0usize;
        if let Some((group, stream)) = &location {
            loop {
                if ctx.interrupt.fired() {
                    return Err(stopped(p, &format!("build {id}")));
                }
                let out = ctx
                    .aws
                    .logs
                    .get_log_events()
                    .log_group_name(group)
                    .log_stream_name(stream)
                    .start_from_head(true)
                    .set_start_time(if token.is_none() { start } else { None })
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        Call::new(
                            "logs:GetLogEvents",
                            format!("reading the build's log {group} {stream}"),
                        )
                        .missing(
                            &["ResourceNotFoundException"],
                            format!("build {id} has no log (yet) in {group}"),
                        )
                        .fail(e)
                    });
                let out = match out {
                    Ok(o) => o,
                    // A build that just started may not have its stream yet.
                    Err(_) if flags.follow && !build.build_complete => break,
                    Err(f) => return Err(f),
                };
                let events = out.events.unwrap_or_default();
                for e in &events {
                    let message = e.message.as_deref().unwrap_or_default();
                    if flags.filter.as_deref().is_some_and(|f| !message.contains(f)) {
                        continue;
                    }
                    fresh += 1;
                    p.data(message.trim_end_matches(['\n', '\r']));
                }
                let next = out.next_forward_token;
                let same = next.is_none() || next == token;
                token = next.or(token);
                if same || events.is_empty() {
                    break;
                }
            }
        }
        if !flags.follow || (build.build_complete && location.is_some() && fresh == 0) {
            break;
        }
        if build.build_complete && location.is_none() {
            p.line(&format!("build {id} ended without a log"));
            break;
        }
        delay = if fresh > 0 {
            ctx.pacing.first
        } else {
            delay
                .mul_f64(1.6)
                .clamp(ctx.pacing.first, ctx.pacing.max.min(FOLLOW_EVERY))
        };
        if ctx.interrupt.sleep(delay).await {
            return Err(stopped(p, &format!("build {id}")));
        }
        build = one_build(ctx, &id).await?;
    }
    if build.build_complete {
        let status = build.build_status.as_ref().map_or("?", |s| s.as_str()).to_owned();
        match failed_phase(&build) {
            Some((phase, why)) => {
                p.line(&p.alarm(&format!("build {id}: {status}: phase {phase} failed: {why}")))
            }
            None => p.line(&format!("build {id}: {status}")),
        }
    } else if flags.follow {
        fail!(Code::Error, "build {id} did not end");
    }
    Ok(Code::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_and_times() {
        let now = 1_795_843_441_000;
        assert_eq!(since_ms("10m", now), Ok(now - 600_000));
        assert_eq!(since_ms("1h30m", now), Ok(now - 5_400_000));
        assert_eq!(since_ms("2d", now), Ok(now - 172_800_000));
        assert_eq!(since_ms("2026-11-28T05:24:01Z", now), Ok(1_795_843_441_000));
        for bad in ["", "10", "10x", "yesterday", "2026-13-45"] {
            assert!(since_ms(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_apps_json_lines_read_as_level_time_message_fields() {
        let (p, _, _) = Printer::capture();
        let line = pretty(
            &p,
            0,
            "app/app/0123456789abcdef",
            r#"{"ts":"2026-11-28T05:24:01.123Z","level":"info","msg":"listening","address":"0.0.0.0:8080","app":"sample","note":"two words"}"#,
        );
        assert_eq!(
            line,
            "2026-11-28 05:24:01.123  INFO   01234567  listening  address=0.0.0.0:8080 app=sample note=\"two words\""
        );
        assert_eq!(
            pretty(&p, 1_795_843_441_500, "app/app/abc", "plain text\n"),
            "2026-11-28 05:24:01.500  -      abc  plain text"
        );
    }
}
