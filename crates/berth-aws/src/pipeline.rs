//! `pipeline status|watch|release|approve|reject|retry`: the stage's CodePipeline from the terminal.
//! Which change is where (each run's trigger, source commits and the image it built), following a
//! run with `deploy`'s progress conventions and, when it fails, its root cause (the failed action's
//! error; for a build, the failed phase and the end of its log; for the service stack, the first
//! failed resources); the deploy stage's approval answered after seeing the change set `deploy`
//! would show; a failed stage retried.

use std::collections::BTreeMap;

use aws_sdk_codepipeline::types::{
    ActionExecutionDetail, ActionExecutionFilter, ActionExecutionStatus, ApprovalResult, ApprovalStatus,
    PipelineExecutionStatus, PipelineExecutionSummary, StageExecutionStatus, StageRetryMode, StageState,
};
use aws_smithy_types::DateTime;
use infra::blocks::{APPROVE_ACTION, BUILD_ACTION, BUILD_STAGE, DEPLOY_STAGE};
use pipeline_model::{Stack, build_output};
use serde::Serialize;
use serde_json::json;

use crate::exit::{Code, Failure, Result};
use crate::fail;
use crate::follow::Progress;
use crate::ops::{self, Call, Ctx};
use crate::output::table;
use crate::{changeset, deploy, logs, stack, validation};

/// The error codes of a pipeline that does not exist.
const NO_PIPELINE: &[&str] = &["PipelineNotFoundException"];

/// Lines of a failed build's log shown with its root cause.
pub const LOG_TAIL_LINES: i32 = 20;

/// One stage of the pipeline as declared, in order, with what it is doing now.
#[derive(Clone, Debug)]
pub struct StageLayout {
    pub name: String,
    pub actions: Vec<String>,
    /// The transition into it is closed: why.
    pub closed: Option<String>,
    pub state: StageState,
}

/// An action of a run.
#[derive(Clone, Debug, Serialize)]
pub struct ActionRun {
    pub name: String,
    pub status: Option<String>,
    pub started: Option<String>,
    pub duration_s: Option<i64>,
    /// The error, the approval's answer, or what it waits for.
    pub detail: Option<String>,
}

/// A stage of a run.
#[derive(Clone, Debug, Serialize)]
pub struct StageRun {
    pub name: String,
    pub status: Option<String>,
    pub duration_s: Option<i64>,
    pub actions: Vec<ActionRun>,
}

/// A source revision of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Revision {
    pub source: String,
    pub commit: Option<String>,
    pub message: Option<String>,
    pub url: Option<String>,
}

/// One run of the pipeline.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    pub execution_id: String,
    pub status: String,
    pub status_summary: Option<String>,
    pub started: Option<String>,
    pub duration_s: Option<i64>,
    pub trigger: Option<String>,
    pub sources: Vec<Revision>,
    pub image_tag: Option<String>,
    pub stages: Vec<StageRun>,
}

/// The pipeline's stages and actions, in order, with their current state.
pub async fn layout(ctx: &Ctx<'_>) -> Result<Vec<StageLayout>> {
    let name = ctx.pipeline_name();
    let state = ctx
        .aws
        .pipeline
        .get_pipeline_state()
        .name(&name)
        .send()
        .await
        .map_err(|e| {
            Call::new(
                "codepipeline:GetPipelineState",
                format!("reading the state of pipeline {name}"),
            )
            .missing(NO_PIPELINE, no_pipeline(ctx))
            .fail(e)
        })?;
    Ok(state
        .stage_states
        .unwrap_or_default()
        .into_iter()
        .map(|s| StageLayout {
            name: s.stage_name.clone().unwrap_or_default(),
            actions: s
                .action_states()
                .iter()
                .filter_map(|a| a.action_name.clone())
                .collect(),
            closed: s
                .inbound_transition_state
                .as_ref()
                .filter(|t| !t.enabled)
                .map(|t| {
                    t.disabled_reason
                        .clone()
                        .unwrap_or_else(|| "no reason given".to_owned())
                }),
            state: s,
        })
        .collect())
}

fn no_pipeline(ctx: &Ctx<'_>) -> String {
    format!(
        "stage {} has no pipeline yet (no {} in {}): `{}` creates it",
        ctx.names.stage(),
        ctx.pipeline_name(),
        ctx.region,
        ctx.hint("deploy pipeline")
    )
}

/// The latest `n` runs, newest first.
pub async fn executions(ctx: &Ctx<'_>, n: i32) -> Result<Vec<PipelineExecutionSummary>> {
    let name = ctx.pipeline_name();
    let out = ctx
        .aws
        .pipeline
        .list_pipeline_executions()
        .pipeline_name(&name)
        .max_results(n)
        .send()
        .await
        .map_err(|e| {
            Call::new(
                "codepipeline:ListPipelineExecutions",
                format!("listing the runs of pipeline {name}"),
            )
            .missing(NO_PIPELINE, no_pipeline(ctx))
            .fail(e)
        })?;
    Ok(out.pipeline_execution_summaries.unwrap_or_default())
}

fn no_runs(ctx: &Ctx<'_>) -> Failure {
    Failure::new(
        Code::Error,
        format!(
            "pipeline {} has no runs yet: it starts one when it is created and on each push to its sources\nhint: `{}` starts one now",
            ctx.pipeline_name(),
            ctx.hint("pipeline release")
        ),
    )
}

/// Every action execution of one run (retried actions appear more than once), oldest first.
pub async fn action_executions(ctx: &Ctx<'_>, execution_id: &str) -> Result<Vec<ActionExecutionDetail>> {
    let name = ctx.pipeline_name();
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = ctx
            .aws
            .pipeline
            .list_action_executions()
            .pipeline_name(&name)
            .filter(
                ActionExecutionFilter::builder()
                    .pipeline_execution_id(execution_id)
                    .build(),
            )
            .max_results(100)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                Call::new(
                    "codepipeline:ListActionExecutions",
                    format!("reading the actions of run {execution_id} of pipeline {name}"),
                )
                .missing(NO_PIPELINE, no_pipeline(ctx))
                .fail(e)
            })?;
        all.extend(out.action_execution_details.unwrap_or_default());
        match out.next_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => break,
        }
    }
    all.sort_by_key(|a| a.start_time.map(|t| (t.secs(), t.subsec_nanos())));
    Ok(all)
}

/// The latest execution of each action of a run: `(stage, action)` → detail.
fn latest_by_action(actions: &[ActionExecutionDetail]) -> BTreeMap<(String, String), &ActionExecutionDetail> {
    let mut out = BTreeMap::new();
    for a in actions {
        let key = (
            a.stage_name.clone().unwrap_or_default(),
            a.action_name.clone().unwrap_or_default(),
        );
        out.insert(key, a);
    }
    out
}

fn status_of(a: &ActionExecutionDetail) -> &str {
    a.status.as_ref().map_or("", |s| s.as_str())
}

/// The error of a failed action, or what a finished one said (an approval's answer).
fn action_detail(a: &ActionExecutionDetail) -> Option<String> {
    let result = a.output.as_ref()?.execution_result.as_ref()?;
    let error = result
        .error_details
        .as_ref()
        .and_then(|e| e.message.clone())
        .filter(|m| !m.is_empty());
    error
        .or_else(|| result.external_execution_summary.clone())
        .filter(|m| !m.is_empty())
        .map(|m| first_line(&m, 160))
}

/// The first line of `text`, at most `max` characters.
pub fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    if line.chars().count() > max {
        format!("{}...", line.chars().take(max).collect::<String>())
    } else {
        line.to_owned()
    }
}

/// A source revision's commit message: CodeConnections sources give `{"ProviderType": ...,
/// "CommitMessage": ...}`, others the message itself.
fn commit_message(summary: &str) -> String {
    let message = serde_json::from_str::<serde_json::Value>(summary)
        .ok()
        .and_then(|v| v["CommitMessage"].as_str().map(str::to_owned))
        .unwrap_or_else(|| summary.to_owned());
    first_line(&message, 72)
}

/// What started a run: `Webhook (arn:...)`, `StartPipelineExecution (arn:aws:iam::...:user/alice)`.
fn trigger(s: &PipelineExecutionSummary) -> Option<String> {
    let t = s.trigger.as_ref()?;
    let kind = t.trigger_type.as_ref().map_or("unknown", |k| k.as_str());
    Some(match t.trigger_detail.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => format!("{kind} ({d})"),
        None => kind.to_owned(),
    })
}

/// The image tag a run's build exported (`IMAGE_TAG`, from the action's output variables or the
/// build itself).
fn image_tag(
    actions: &BTreeMap<(String, String), &ActionExecutionDetail>,
    builds: &BTreeMap<String, aws_sdk_codebuild::types::Build>,
) -> Option<String> {
    let build = actions.get(&(BUILD_STAGE.to_owned(), BUILD_ACTION.to_owned()))?;
    let output = build.output.as_ref()?;
    if let Some(tag) = output
        .output_variables
        .as_ref()
        .and_then(|v| v.get(build_output::IMAGE_TAG_VARIABLE))
        .filter(|t| !t.is_empty())
    {
        return Some(tag.clone());
    }
    let id = output.execution_result.as_ref()?.external_execution_id.as_ref()?;
    builds
        .get(id)?
        .exported_environment_variables()
        .iter()
        .find(|v| v.name.as_deref() == Some(build_output::IMAGE_TAG_VARIABLE))
        .and_then(|v| v.value.clone())
        .filter(|t| !t.is_empty())
}

/// The build ID of a run's build action, if it ran.
fn build_id(actions: &[ActionExecutionDetail]) -> Option<String> {
    actions
        .iter()
        .rev()
        .find(|a| {
            a.stage_name.as_deref() == Some(BUILD_STAGE) && a.action_name.as_deref() == Some(BUILD_ACTION)
        })
        .and_then(|a| a.output.as_ref())
        .and_then(|o| o.execution_result.as_ref())
        .and_then(|r| r.external_execution_id.clone())
}

/// A run, put together: its summary, its actions in the pipeline's order, its build.
fn run_of(
    ctx: &Ctx<'_>,
    layout: &[StageLayout],
    summary: &PipelineExecutionSummary,
    actions: &[ActionExecutionDetail],
    builds: &BTreeMap<String, aws_sdk_codebuild::types::Build>,
    now: &DateTime,
) -> Run {
    let latest = latest_by_action(actions);
    let id = summary.pipeline_execution_id.clone().unwrap_or_default();
    let stages = layout
        .iter()
        .map(|stage| {
            let runs: Vec<ActionRun> = stage
                .actions
                .iter()
                .map(|action| {
                    let a = latest.get(&(stage.name.clone(), action.clone()));
                    let status = a.map(|a| status_of(a).to_owned());
                    let in_progress = a.is_some_and(|a| a.status == Some(ActionExecutionStatus::InProgress));
                    let duration_s = a.and_then(|a| {
                        let start = a.start_time?;
                        let end = if in_progress { *now } else { a.last_update_time? };
                        Some(ops::seconds_between(&start, &end))
                    });
                    let waiting_approval =
                        in_progress && stage.name == DEPLOY_STAGE && action == APPROVE_ACTION;
                    let detail = if waiting_approval {
                        Some(format!(
                            "waiting for approval: {} (or reject)",
                            ctx.hint("pipeline approve")
                        ))
                    } else {
                        a.and_then(|a| action_detail(a))
                    };
                    ActionRun {
                        name: action.clone(),
                        status,
                        started: a.and_then(|a| a.start_time.as_ref().map(ops::clock)),
                        duration_s,
                        detail,
                    }
                })
                .collect();
            let ran: Vec<&&ActionExecutionDetail> = stage
                .actions
                .iter()
                .filter_map(|a| latest.get(&(stage.name.clone(), a.clone())))
                .collect();
            let status = stage_status(&ran, stage, &id);
            let duration_s = {
                let start = ran.iter().filter_map(|a| a.start_time).map(|t| t.secs()).min();
                let any_running = ran
                    .iter()
                    .any(|a| a.status == Some(ActionExecutionStatus::InProgress));
                let end = if any_running {
                    Some(now.secs())
                } else {
                    ran.iter()
                        .filter_map(|a| a.last_update_time)
                        .map(|t| t.secs())
                        .max()
                };
                start.zip(end).map(|(s, e)| (e - s).max(0))
            };
            StageRun {
                name: stage.name.clone(),
                status,
                duration_s,
                actions: runs,
            }
        })
        .collect();
    let in_progress = summary.status == Some(PipelineExecutionStatus::InProgress);
    Run {
        execution_id: id,
        status: summary
            .status
            .as_ref()
            .map_or("Unknown", |s| s.as_str())
            .to_owned(),
        status_summary: summary.status_summary.clone().filter(|s| !s.is_empty()),
        started: summary.start_time.as_ref().map(ops::clock),
        duration_s: summary.start_time.and_then(|start| {
            let end = if in_progress {
                Some(*now)
            } else {
                summary.last_update_time
            };
            end.map(|e| ops::seconds_between(&start, &e))
        }),
        trigger: trigger(summary),
        sources: summary
            .source_revisions()
            .iter()
            .map(|r| Revision {
                source: r.action_name.clone(),
                commit: r.revision_id.clone(),
                message: r.revision_summary.as_deref().map(commit_message),
                url: r.revision_url.clone(),
            })
            .collect(),
        image_tag: image_tag(&latest, builds),
        stages,
    }
}

/// A stage's status in one run: from its actions; a stage the run has not reached, waiting at a
/// closed transition, says so.
fn stage_status(ran: &[&&ActionExecutionDetail], stage: &StageLayout, execution: &str) -> Option<String> {
    let inbound = stage
        .state
        .inbound_execution
        .as_ref()
        .filter(|e| e.pipeline_execution_id == execution);
    if ran.is_empty() {
        return inbound.map(|_| "Waiting (transition closed)".to_owned());
    }
    let has = |s: ActionExecutionStatus| ran.iter().any(|a| a.status.as_ref() == Some(&s));
    Some(
        if has(ActionExecutionStatus::Failed) {
            "Failed"
        } else if has(ActionExecutionStatus::InProgress) {
            "InProgress"
        } else if has(ActionExecutionStatus::Abandoned) {
            "Abandoned"
        } else if ran.len() < stage.actions.len() {
            "InProgress"
        } else {
            "Succeeded"
        }
        .to_owned(),
    )
}

/// `pipeline status`: the latest runs.
pub async fn status(ctx: &Ctx<'_>, n: i32, json_out: bool) -> Result<Code> {
    let p = ctx.printer;
    let layout = layout(ctx).await?;
    let summaries = executions(ctx, n).await?;
    if summaries.is_empty() {
        return Err(no_runs(ctx));
    }
    let mut per_run = Vec::new();
    for s in &summaries {
        let id = s.pipeline_execution_id.clone().unwrap_or_default();
        per_run.push(action_executions(ctx, &id).await?);
    }
    let ids: Vec<String> = per_run.iter().filter_map(|a| build_id(a)).collect();
    // The image tag is worth a call, not a failed command: without codebuild:BatchGetBuilds the runs
    // are still shown.
    let builds = match logs::builds(ctx, ids).await {
        Ok(b) => b,
        Err(f) => {
            p.line(&format!("note: no image tags: {:#}", f.error));
            BTreeMap::new()
        }
    };
    let now = deploy::now();
    let runs: Vec<Run> = summaries
        .iter()
        .zip(&per_run)
        .map(|(s, a)| run_of(ctx, &layout, s, a, &builds, &now))
        .collect();
    let closed: Vec<(&str, &str)> = layout
        .iter()
        .filter_map(|s| s.closed.as_deref().map(|r| (s.name.as_str(), r)))
        .collect();
    if json_out {
        let closed: Vec<_> = closed
            .iter()
            .map(|(stage, reason)| json!({"stage": stage, "reason": reason}))
            .collect();
        p.data(
            &json!({"pipeline": ctx.pipeline_name(), "stage": ctx.names.stage(), "closed_transitions": closed, "runs": runs})
                .to_string(),
        );
        return Ok(Code::Ok);
    }
    p.data(&format!(
        "pipeline {} (stage {}): the latest {} run{}, newest first",
        ctx.pipeline_name(),
        ctx.names.stage(),
        runs.len(),
        if runs.len() == 1 { "" } else { "s" }
    ));
    for (stage, reason) in closed {
        p.data(&format!("  the transition into {stage} is closed: {reason}"));
    }
    for run in &runs {
        p.data("");
        for line in render_run(run) {
            p.data(&line);
        }
    }
    Ok(Code::Ok)
}

/// A run as text.
pub fn render_run(run: &Run) -> Vec<String> {
    let mut out = vec![format!(
        "run {}: {}{}{}",
        run.execution_id,
        run.status,
        run.started
            .as_ref()
            .map(|s| format!(", started {s}"))
            .unwrap_or_default(),
        run.duration_s
            .map(|d| format!(
                ", {}{}",
                ops::duration(d),
                if run.status == "InProgress" { " so far" } else { "" }
            ))
            .unwrap_or_default()
    )];
    if let Some(t) = &run.trigger {
        out.push(format!("  trigger: {t}"));
    }
    if let Some(s) = &run.status_summary {
        out.push(format!("  summary: {}", first_line(s, 160)));
    }
    let sources: Vec<Vec<String>> = run
        .sources
        .iter()
        .map(|r| {
            vec![
                r.source.clone(),
                r.commit
                    .as_deref()
                    .map_or("-".to_owned(), |c| c.chars().take(8).collect()),
                r.message.clone().unwrap_or_default(),
            ]
        })
        .collect();
    if !sources.is_empty() {
        for line in table(&["Source", "Commit", "Message"], &sources) {
            out.push(format!("  {line}"));
        }
    }
    out.push(format!(
        "  image: {}",
        run.image_tag
            .as_deref()
            .map_or("- (not built)".to_owned(), ops::short_tag)
    ));
    let mut rows = Vec::new();
    for stage in &run.stages {
        rows.push(vec![
            stage.name.clone(),
            stage.status.clone().unwrap_or_else(|| "-".to_owned()),
            stage.duration_s.map(ops::duration).unwrap_or_default(),
            String::new(),
        ]);
        for a in &stage.actions {
            rows.push(vec![
                format!("  {}", a.name),
                a.status.clone().unwrap_or_else(|| "-".to_owned()),
                a.duration_s.map(ops::duration).unwrap_or_default(),
                a.detail.clone().unwrap_or_default(),
            ]);
        }
    }
    for line in table(&["Stage / action", "Status", "Took", "Detail"], &rows) {
        out.push(format!("  {line}"));
    }
    out
}

/// The run to follow: the one given, else the one in progress, else the latest.
async fn pick_run(ctx: &Ctx<'_>, execution: Option<String>) -> Result<String> {
    if let Some(id) = execution {
        return Ok(id);
    }
    let runs = executions(ctx, 10).await?;
    // The oldest run still going (runs are newest first; queued runs wait behind it).
    let running = runs
        .iter()
        .rfind(|r| {
            matches!(
                r.status,
                Some(PipelineExecutionStatus::InProgress | PipelineExecutionStatus::Stopping)
            )
        })
        .or_else(|| runs.first());
    running
        .and_then(|r| r.pipeline_execution_id.clone())
        .ok_or_else(|| no_runs(ctx))
}

/// A run's status (`GetPipelineExecution`).
async fn execution_status(ctx: &Ctx<'_>, id: &str) -> Result<(PipelineExecutionStatus, Option<String>)> {
    let name = ctx.pipeline_name();
    let out = ctx
        .aws
        .pipeline
        .get_pipeline_execution()
        .pipeline_name(&name)
        .pipeline_execution_id(id)
        .send()
        .await
        .map_err(|e| {
            Call::new(
                "codepipeline:GetPipelineExecution",
                format!("reading run {id} of pipeline {name}"),
            )
            .missing(NO_PIPELINE, no_pipeline(ctx))
            .missing(
                &["PipelineExecutionNotFoundException"],
                format!(
                    "pipeline {name} has no run {id}\nhint: `{}` lists the latest",
                    ctx.hint("pipeline status")
                ),
            )
            .fail(e)
        })?;
    let e = out.pipeline_execution;
    Ok((
        e.as_ref()
            .and_then(|e| e.status.clone())
            .unwrap_or_else(|| PipelineExecutionStatus::from("Unknown")),
        e.and_then(|e| e.status_summary),
    ))
}

fn is_over(s: &PipelineExecutionStatus) -> bool {
    matches!(
        s,
        PipelineExecutionStatus::Succeeded
            | PipelineExecutionStatus::Failed
            | PipelineExecutionStatus::Stopped
            | PipelineExecutionStatus::Superseded
            | PipelineExecutionStatus::Cancelled
    )
}

/// `pipeline watch`: follows a run to its end; on failure prints the root cause and ends with
/// [`Code::StackFailed`].
pub async fn watch(ctx: &Ctx<'_>, execution: Option<String>, progress: Progress) -> Result<Code> {
    let p = ctx.printer;
    let mode = if progress == Progress::Bar && !p.tty {
        Progress::Events
    } else {
        progress
    };
    let layout = layout(ctx).await?;
    let total: usize = layout.iter().map(|s| s.actions.len()).sum();
    let id = pick_run(ctx, execution).await?;
    let resume = format!("{} --execution {id}", ctx.hint("pipeline watch"));
    p.line(&format!(
        "{}: following run {id} (Ctrl-C stops following, not the run)",
        ctx.pipeline_name()
    ));
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut told_approval = false;
    let mut delay = ctx.pacing.first;
    let (status, summary, actions) = loop {
        if ctx.interrupt.fired() {
            return Err(interrupted(ctx, &resume));
        }
        let (status, summary) = execution_status(ctx, &id).await?;
        let actions = action_executions(ctx, &id).await?;
        let mut activity = false;
        // What changed since the last look, in the order it happened (then the pipeline's order).
        let order = |stage: &str, action: &str| {
            layout
                .iter()
                .flat_map(|s| s.actions.iter().map(move |a| (s.name.as_str(), a.as_str())))
                .position(|k| k == (stage, action))
                .unwrap_or(usize::MAX)
        };
        let mut latest: Vec<((String, String), ActionExecutionDetail)> = latest_by_action(&actions)
            .into_iter()
            .map(|(k, a)| (k, a.clone()))
            .collect();
        latest.sort_by_key(|((stage, action), a)| {
            let at = a.last_update_time.or(a.start_time).map(|t| t.secs());
            (at, order(stage, action))
        });
        for ((stage, action), a) in latest {
            let now_status = status_of(&a).to_owned();
            let key = (stage.clone(), action.clone());
            if seen.get(&key) == Some(&now_status) {
                continue;
            }
            seen.insert(key, now_status.clone());
            activity = true;
            let line = action_line(&stage, &action, &a);
            let failed = a.status == Some(ActionExecutionStatus::Failed);
            match mode {
                Progress::Events => p.line(&line),
                Progress::Quiet if failed => p.line(&line),
                _ => {}
            }
            if stage == DEPLOY_STAGE
                && action == APPROVE_ACTION
                && a.status == Some(ActionExecutionStatus::InProgress)
                && !told_approval
            {
                told_approval = true;
                p.line(&format!(
                    "{DEPLOY_STAGE}/{APPROVE_ACTION} waits for an approval: `{}` shows the change set and answers it (or `pipeline reject`)",
                    ctx.hint("pipeline approve")
                ));
            }
        }
        if mode == Progress::Bar {
            let done = seen
                .values()
                .filter(|s| *s != ActionExecutionStatus::InProgress.as_str())
                .count();
            let running: Vec<String> = seen
                .iter()
                .filter(|(_, s)| *s == ActionExecutionStatus::InProgress.as_str())
                .map(|((stage, action), _)| format!("{stage}/{action}"))
                .collect();
            p.progress(&bar(done, total.max(seen.len()), &running.join(", ")));
        }
        if is_over(&status) {
            p.end_progress();
            break (status, summary, actions);
        }
        delay = if activity {
            ctx.pacing.first
        } else {
            delay.mul_f64(1.6).clamp(ctx.pacing.first, ctx.pacing.max)
        };
        if ctx.interrupt.sleep(delay).await {
            p.end_progress();
            return Err(interrupted(ctx, &resume));
        }
    };
    let took = {
        let start = actions
            .iter()
            .filter_map(|a| a.start_time)
            .map(|t| t.secs())
            .min();
        let end = actions
            .iter()
            .filter_map(|a| a.last_update_time)
            .map(|t| t.secs())
            .max();
        start.zip(end).map(|(s, e)| ops::duration(e - s))
    };
    if status == PipelineExecutionStatus::Succeeded {
        p.line(&format!(
            "run {id}: Succeeded{}",
            took.map(|t| format!(" in {t}")).unwrap_or_default()
        ));
        return Ok(Code::Ok);
    }
    p.line(&p.alarm(&format!("run {id}: {}", status.as_str())));
    if let Some(s) = summary.filter(|s| !s.is_empty()) {
        p.line(&format!("  summary: {}", first_line(&s, 200)));
    }
    explain_failure(ctx, &actions).await;
    let retry = if status == PipelineExecutionStatus::Failed {
        format!(
            "\nhint: after fixing the cause, `{}` retries the failed stage",
            ctx.hint("pipeline retry")
        )
    } else {
        String::new()
    };
    fail!(
        Code::StackFailed,
        "run {id} of pipeline {} ended {}{retry}",
        ctx.pipeline_name(),
        status.as_str()
    )
}

fn interrupted(ctx: &Ctx<'_>, resume: &str) -> Failure {
    ctx.printer.line(&format!(
        "stopped following; the run goes on. Follow it again with:\n  {resume}"
    ));
    Failure::new(Code::Interrupted, "interrupted")
}

/// `05:24:13  Build/Build  Succeeded  3m01s  detail`.
fn action_line(stage: &str, action: &str, a: &ActionExecutionDetail) -> String {
    let at = a
        .last_update_time
        .or(a.start_time)
        .map(|t| ops::time_of_day(&t))
        .unwrap_or_default();
    let status = status_of(a);
    let took = match (&a.status, a.start_time, a.last_update_time) {
        (Some(s), Some(start), Some(end)) if *s != ActionExecutionStatus::InProgress => {
            format!("  {}", ops::duration(ops::seconds_between(&start, &end)))
        }
        _ => String::new(),
    };
    let detail = action_detail(a).map(|d| format!("  {d}")).unwrap_or_default();
    format!(
        "{at}  {:<34}  {status:<10}{took}{detail}",
        format!("{stage}/{action}")
    )
}

fn bar(done: usize, total: usize, latest: &str) -> String {
    let width = 20;
    let filled = (done * width).checked_div(total).unwrap_or(0).min(width);
    format!(
        "[{}{}] {done}/{total} actions  {latest}",
        "#".repeat(filled),
        "-".repeat(width - filled)
    )
}

/// Prints why a run failed: each failed action's error and, by provider, what lies behind it.
pub async fn explain_failure(ctx: &Ctx<'_>, actions: &[ActionExecutionDetail]) {
    let p = ctx.printer;
    let latest = latest_by_action(actions);
    let failed: Vec<&ActionExecutionDetail> = actions
        .iter()
        .filter(|a| a.status == Some(ActionExecutionStatus::Failed))
        .filter(|a| {
            // Only the latest execution of an action counts (a retried one may have succeeded).
            latest
                .get(&(
                    a.stage_name.clone().unwrap_or_default(),
                    a.action_name.clone().unwrap_or_default(),
                ))
                .is_some_and(|l| l.action_execution_id == a.action_execution_id)
        })
        .collect();
    if failed.is_empty() {
        p.line("  no action failed (the run was stopped or superseded)");
        return;
    }
    p.line("  root cause:");
    for a in failed {
        let stage = a.stage_name.as_deref().unwrap_or_default();
        let action = a.action_name.as_deref().unwrap_or_default();
        let error = action_detail(a).unwrap_or_else(|| "no error given".to_owned());
        p.line(&format!("    {stage}/{action} failed: {error}"));
        let provider = a
            .input
            .as_ref()
            .and_then(|i| i.action_type_id.as_ref())
            .map(|t| t.provider.as_str())
            .unwrap_or_default();
        let external = a
            .output
            .as_ref()
            .and_then(|o| o.execution_result.as_ref())
            .and_then(|r| r.external_execution_id.clone());
        match provider {
            "CodeBuild" => {
                if let Some(id) = external {
                    build_cause(ctx, &id).await;
                }
            }
            "CloudFormation" => stack_cause(ctx, a).await,
            _ => {}
        }
    }
}

/// A failed build: its failed phase and the last lines of its log.
async fn build_cause(ctx: &Ctx<'_>, id: &str) {
    let p = ctx.printer;
    let build = match logs::builds(ctx, vec![id.to_owned()]).await {
        Ok(mut b) => b.remove(id),
        Err(f) => {
            p.line(&format!("      (the build {id}: {:#})", f.error));
            return;
        }
    };
    let Some(build) = build else {
        p.line(&format!("      (the build {id} is gone)"));
        return;
    };
    if let Some((phase, why)) = logs::failed_phase(&build) {
        p.line(&format!("      build {id}: phase {phase} failed: {why}"));
    }
    match logs::build_tail(ctx, &build, LOG_TAIL_LINES).await {
        Ok(lines) if !lines.is_empty() => {
            p.line(&format!(
                "      the last {} lines of its log (all of it: `{} --build {id}`):",
                lines.len(),
                ctx.hint("logs build")
            ));
            for l in lines {
                p.line(&format!("      | {l}"));
            }
        }
        Ok(_) => p.line("      (its log is empty)"),
        Err(f) => p.line(&format!("      (its log: {:#})", f.error)),
    }
}

/// A failed CloudFormation action: the change set's validation errors, or the stack's first failed
/// resources and their reasons (deploy's root cause).
async fn stack_cause(ctx: &Ctx<'_>, a: &ActionExecutionDetail) {
    let p = ctx.printer;
    let config = a.input.as_ref().and_then(|i| i.configuration.as_ref());
    let stack = config
        .and_then(|c| c.get("StackName"))
        .cloned()
        .unwrap_or_else(|| ctx.stack(Stack::Service));
    let change_set = config
        .and_then(|c| c.get("ChangeSetName"))
        .cloned()
        .unwrap_or_else(|| ctx.names.change_set());
    let mode = config.and_then(|c| c.get("ActionMode")).map(String::as_str);
    if mode == Some("CHANGE_SET_REPLACE") {
        match validation::errors(&ctx.aws.cfn, &stack, &change_set).await {
            Ok(errors) if !errors.is_empty() => {
                p.line(&format!(
                    "      change set {change_set} on {stack} failed CloudFormation's validation:"
                ));
                for e in errors {
                    p.line(&format!("        {e}"));
                }
                return;
            }
            _ => {}
        }
    }
    // The stack's events since the action started: deploy's root cause.
    let since = a.start_time.unwrap_or_else(|| DateTime::from_secs(0));
    let described = match stack::describe(&ctx.aws.cfn, &stack).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            p.line(&format!("      {stack} does not exist"));
            return;
        }
        Err(f) => {
            p.line(&format!("      (reading {stack}: {:#})", f.error));
            return;
        }
    };
    let events = match stack_events_since(ctx, &stack, &since).await {
        Ok(e) => e,
        Err(f) => {
            p.line(&format!("      (reading the events of {stack}: {:#})", f.error));
            return;
        }
    };
    let ended = crate::follow::Ended {
        status: stack::status(&described),
        status_reason: described.stack_status_reason.clone(),
        events,
    };
    if ended.root_causes().is_empty() && !ended.failed() {
        return;
    }
    // Deploy's root-cause summary, indented under the action it explains.
    let (summary, _, said) = crate::output::Printer::capture();
    crate::follow::print_failure(&summary, &stack, &ended);
    for line in said.text().lines() {
        p.line(&format!("      {line}"));
    }
}

/// A stack's events since `since`, oldest first.
async fn stack_events_since(
    ctx: &Ctx<'_>,
    stack: &str,
    since: &DateTime,
) -> Result<Vec<aws_sdk_cloudformation::types::StackEvent>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    'pages: loop {
        let page = ctx
            .aws
            .cfn
            .describe_stack_events()
            .stack_name(stack)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                Call::new(
                    "cloudformation:DescribeStackEvents",
                    format!("reading the events of {stack}"),
                )
                .fail(e)
            })?;
        for e in page.stack_events.unwrap_or_default() {
            if e.timestamp.is_some_and(|t| t.secs() < since.secs() - 5) {
                break 'pages;
            }
            out.push(e);
        }
        match page.next_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => break,
        }
    }
    out.reverse();
    Ok(out)
}

/// `pipeline release`: starts a run.
pub async fn release(ctx: &Ctx<'_>, watch_it: bool, progress: Progress) -> Result<Code> {
    let p = ctx.printer;
    let name = ctx.pipeline_name();
    let layout = ctx.interrupt.before_write("no run started", layout(ctx)).await?;
    ctx.interrupt.check("no run started")?;
    let out = ctx
        .aws
        .pipeline
        .start_pipeline_execution()
        .name(&name)
        .client_request_token(format!("berth-{}", changeset::unique_name()))
        .send()
        .await
        .map_err(|e| {
            Call::new(
                "codepipeline:StartPipelineExecution",
                format!("starting a run of pipeline {name}"),
            )
            .missing(NO_PIPELINE, no_pipeline(ctx))
            .fail(e)
        })?;
    let id = out.pipeline_execution_id.unwrap_or_default();
    p.line(&format!(
        "{name}: started run {id} from the sources' latest commits"
    ));
    for stage in layout.iter().filter(|s| s.closed.is_some()) {
        p.line(&p.caution(&format!(
            "  it will wait before {}: the transition into it is closed ({})",
            stage.name,
            stage.closed.as_deref().unwrap_or_default()
        )));
    }
    p.data(&id);
    if watch_it {
        return watch(ctx, Some(id), progress).await;
    }
    p.line(&format!(
        "follow it with:\n  {} --execution {id}",
        ctx.hint("pipeline watch")
    ));
    Ok(Code::Ok)
}

/// The approval waiting in the deploy stage: `(run, token)`.
fn waiting_approval(layout: &[StageLayout]) -> Option<(String, String)> {
    let deploy = layout.iter().find(|s| s.name == DEPLOY_STAGE)?;
    let approve = deploy
        .state
        .action_states()
        .iter()
        .find(|a| a.action_name.as_deref() == Some(APPROVE_ACTION))?;
    let latest = approve.latest_execution.as_ref()?;
    if latest.status != Some(ActionExecutionStatus::InProgress) {
        return None;
    }
    let token = latest.token.clone()?;
    let run = deploy
        .state
        .latest_execution
        .as_ref()
        .map(|e| e.pipeline_execution_id.clone())
        .unwrap_or_default();
    Some((run, token))
}

/// `pipeline approve|reject`: shows the change set waiting for approval as `deploy` shows one, asks
/// (or `--yes`), answers.
pub async fn answer(ctx: &Ctx<'_>, approve: bool, comment: Option<String>, yes: bool) -> Result<Code> {
    let p = ctx.printer;
    let name = ctx.pipeline_name();
    let verb = if approve { "approve" } else { "reject" };
    let layout = layout(ctx).await?;
    let has_approval = layout
        .iter()
        .any(|s| s.name == DEPLOY_STAGE && s.actions.iter().any(|a| a == APPROVE_ACTION));
    if !has_approval {
        fail!(
            Code::Blocked,
            "pipeline {name} asks for no approval: stage {} has deploy.approval off (its {DEPLOY_STAGE} stage executes each change set it creates)",
            ctx.names.stage()
        );
    }
    let Some((run, token)) = waiting_approval(&layout) else {
        fail!(
            Code::Blocked,
            "no approval waits in pipeline {name}'s {DEPLOY_STAGE} stage\nhint: `{}` shows where each run is",
            ctx.hint("pipeline status")
        );
    };
    let stack = ctx.stack(Stack::Service);
    let change_set = ctx.names.change_set();
    p.line(&format!(
        "run {run} waits in {DEPLOY_STAGE}/{APPROVE_ACTION}: change set {change_set} on {stack}"
    ));
    match show_change_set(ctx, &stack, &change_set).await {
        Ok(()) => {}
        Err(f) if approve => return Err(f),
        Err(f) => p.line(&format!("note: {:#}", f.error)),
    }
    if !yes {
        let question = format!("{verb} change set {change_set} on {stack} (run {run})?");
        match ctx.confirm.confirm(&question) {
            Some(true) => {}
            Some(false) => fail!(Code::Refused, "not answered; the approval still waits"),
            None => fail!(
                Code::Refused,
                "refusing to {verb} without confirmation: stdin is not a terminal. Pass --yes to {verb} the change set shown"
            ),
        }
    }
    let done = if approve { "approved" } else { "rejected" };
    let summary = comment.unwrap_or_else(|| format!("{done} with cargo xtask pipeline {verb}"));
    let status = if approve {
        ApprovalStatus::Approved
    } else {
        ApprovalStatus::Rejected
    };
    let result = ApprovalResult::builder()
        .summary(&summary)
        .status(status)
        .build()
        .map_err(anyhow::Error::new)?;
    ctx.interrupt.check("nothing answered")?;
    ctx.aws
        .pipeline
        .put_approval_result()
        .pipeline_name(&name)
        .stage_name(DEPLOY_STAGE)
        .action_name(APPROVE_ACTION)
        .result(result)
        .token(&token)
        .send()
        .await
        .map_err(|e| {
            Call::new(
                "codepipeline:PutApprovalResult",
                format!("answering the approval of run {run} of pipeline {name}"),
            )
            .missing(
                &[
                    "ApprovalAlreadyCompletedException",
                    "InvalidApprovalTokenException",
                ],
                format!("the approval of run {run} was answered meanwhile (or timed out): nothing sent"),
            )
            .fail(e)
        })?;
    if approve {
        p.line(&format!(
            "approved: run {run} goes on to execute {change_set}. Follow it with:\n  {} --execution {run}",
            ctx.hint("pipeline watch")
        ));
    } else {
        p.line(&format!(
            "rejected: run {run} stops; {change_set} is not executed"
        ));
    }
    p.data(
        &json!({"run": run, "change_set": change_set, "answer": status_text(approve), "comment": summary})
            .to_string(),
    );
    Ok(Code::Ok)
}

fn status_text(approve: bool) -> &'static str {
    if approve { "Approved" } else { "Rejected" }
}

/// The change set as `deploy` shows it: the parameters it changes, its table, and a loud line when
/// it replaces the container instances.
async fn show_change_set(ctx: &Ctx<'_>, stack: &str, change_set: &str) -> Result<()> {
    let cfn = &ctx.aws.cfn;
    let mut changes = Vec::new();
    let mut params = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = cfn
            .describe_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                Call::new(
                    "cloudformation:DescribeChangeSet",
                    format!("reading change set {change_set} on {stack}"),
                )
                .missing(
                    &["ChangeSetNotFound", "ChangeSetNotFoundException"],
                    format!(
                        "change set {change_set} on {stack} is gone: nothing to approve\nhint: reject the approval, then `{}` creates it again",
                        ctx.hint("pipeline retry")
                    ),
                )
                .fail(e)
            })?;
        if params.is_empty() {
            params = out.parameters.clone().unwrap_or_default();
        }
        changes.extend(out.changes.unwrap_or_default());
        match out.next_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => break,
        }
    }
    let rows = changeset::rows(&changes);
    let wanted: Vec<(String, changeset::ParamValue)> = params
        .iter()
        .filter_map(|p| {
            Some((
                p.parameter_key.clone()?,
                changeset::ParamValue::Value(p.parameter_value.clone().unwrap_or_default()),
            ))
        })
        .collect();
    let param_changes = match stack::describe(cfn, stack).await? {
        Some(s) => deploy::parameter_changes(&s, &wanted),
        None => Vec::new(),
    };
    let template = cfn
        .get_template()
        .stack_name(stack)
        .change_set_name(change_set)
        .send()
        .await
        .ok()
        .and_then(|t| t.template_body)
        .and_then(|b| cfn::raw::parse_template(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    let changed: Vec<&str> = param_changes.iter().map(|(k, _, _)| k.as_str()).collect();
    let rollout = changeset::instance_rollout(&rows, &changed, &template);
    deploy::print_parameter_changes(ctx.printer, &param_changes);
    changeset::print(ctx.printer, stack, &rows, rollout.as_deref());
    Ok(())
}

/// `pipeline retry`: retries the failed stage of the latest run that has one (or of the run given).
pub async fn retry(
    ctx: &Ctx<'_>,
    execution: Option<String>,
    all_actions: bool,
    watch_it: bool,
    progress: Progress,
) -> Result<Code> {
    let p = ctx.printer;
    let name = ctx.pipeline_name();
    let layout = layout(ctx).await?;
    let failed = layout.iter().find(|s| {
        s.state.latest_execution.as_ref().is_some_and(|e| {
            matches!(
                e.status,
                StageExecutionStatus::Failed
                    | StageExecutionStatus::Stopped
                    | StageExecutionStatus::Cancelled
            ) && execution.as_ref().is_none_or(|id| *id == e.pipeline_execution_id)
        })
    });
    let Some(stage) = failed else {
        fail!(
            Code::Blocked,
            "nothing to retry: no stage of pipeline {name} ended failed{}\nhint: `{}` shows the latest runs",
            execution
                .as_ref()
                .map(|id| format!(" in run {id} (or a later run went through it)"))
                .unwrap_or_default(),
            ctx.hint("pipeline status")
        );
    };
    let run = stage
        .state
        .latest_execution
        .as_ref()
        .map(|e| e.pipeline_execution_id.clone())
        .unwrap_or_default();
    let mode = if all_actions {
        StageRetryMode::AllActions
    } else {
        StageRetryMode::FailedActions
    };
    ctx.interrupt.check("nothing retried")?;
    ctx.aws
        .pipeline
        .retry_stage_execution()
        .pipeline_name(&name)
        .stage_name(&stage.name)
        .pipeline_execution_id(&run)
        .retry_mode(mode)
        .send()
        .await
        .map_err(|e| {
            Call::new(
                "codepipeline:RetryStageExecution",
                format!("retrying stage {} of run {run} of pipeline {name}", stage.name),
            )
            .missing(
                &["StageNotRetryableException"],
                format!(
                    "stage {} of run {run} cannot be retried: a later run went through it, it is still running, or the run's \
                     artifacts have expired (deploy.artifact_retention_days)\nhint: `{}` starts a new run",
                    stage.name,
                    ctx.hint("pipeline release")
                ),
            )
            .fail(e)
        })?;
    p.line(&format!(
        "{name}: retrying stage {} of run {run} ({})",
        stage.name,
        if all_actions {
            "every action"
        } else {
            "the failed actions"
        }
    ));
    if watch_it {
        return watch(ctx, Some(run), progress).await;
    }
    p.line(&format!(
        "follow it with:\n  {} --execution {run}",
        ctx.hint("pipeline watch")
    ));
    Ok(Code::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_messages_come_out_of_codeconnections_summaries() {
        assert_eq!(
            commit_message(
                r#"{"ProviderType":"GitHub","CommitMessage":"Fix the health check\n\nlonger text"}"#
            ),
            "Fix the health check"
        );
        assert_eq!(commit_message("Plain message"), "Plain message");
        assert_eq!(first_line(&"x".repeat(10), 4), "xxxx...");
    }
}
