//! Following a stack operation until it ends: new events only, an adaptive poll interval, a progress
//! bar on a terminal or plain event lines elsewhere, and the root cause when it fails.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{ResourceStatus, StackEvent, StackStatus};
use aws_smithy_types::DateTime;

use crate::exit::{Code, Failure, Result};
use crate::output::Printer;
use crate::stack;

/// How often to poll: soon at first and after activity, less often while nothing happens.
#[derive(Clone, Copy, Debug)]
pub struct Pacing {
    pub first: Duration,
    pub max: Duration,
}

impl Pacing {
    pub const INTERACTIVE: Pacing = Pacing {
        first: Duration::from_millis(250),
        max: Duration::from_secs(5),
    };
    /// No waiting at all: for tests against scripted responses.
    pub const NONE: Pacing = Pacing {
        first: Duration::ZERO,
        max: Duration::ZERO,
    };

    fn next(&self, current: Duration, activity: bool) -> Duration {
        if activity {
            self.first
        } else {
            (current.mul_f64(1.6)).clamp(self.first, self.max)
        }
    }
}

/// The failure of a command Ctrl-C stopped before it changed anything: `interrupted: {what}`, exit 130.
fn nothing_done(what: &str) -> Failure {
    Failure::new(Code::Interrupted, format!("interrupted: {what}"))
}

/// Ctrl-C: set once, seen by every wait.
#[derive(Clone, Default)]
pub struct Interrupt {
    flag: Arc<AtomicBool>,
    notify: Arc<tokio::sync::Notify>,
}

impl Interrupt {
    pub fn fire(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn fired(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// The safe point before a write: after Ctrl-C, the command ends here (exit 130) saying that
    /// nothing was done (`what`, e.g. "nothing deleted"), and the write is never sent.
    pub fn check(&self, what: &str) -> Result<()> {
        if self.fired() {
            return Err(nothing_done(what));
        }
        Ok(())
    }

    /// [`Interrupt::race`] for the reads before a write: Ctrl-C cancels the call in flight and
    /// ends the command saying that nothing was done (`what`).
    pub async fn before_write<T>(&self, what: &str, reads: impl Future<Output = Result<T>>) -> Result<T> {
        match self.race(reads).await {
            Some(r) => r,
            None => Err(nothing_done(what)),
        }
    }

    /// Sleeps for `d`, or less when interrupted. Returns true when interrupted.
    pub async fn sleep(&self, d: Duration) -> bool {
        if self.fired() {
            return true;
        }
        if d.is_zero() {
            tokio::task::yield_now().await;
            return self.fired();
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => self.fired(),
            _ = self.notify.notified() => true,
        }
    }

    /// Fires on the process's first Ctrl-C; a second one ends the process at once (exit 130), with
    /// the terminal's settings restored if a no-echo prompt was running.
    pub fn on_ctrl_c(&self) {
        let me = self.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                me.fire();
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                crate::terminal::restore();
                std::process::exit(i32::from(Code::Interrupted.number()));
            }
        });
    }

    /// Runs `f` to its end, or until Ctrl-C (None): dropping the future cancels the call in flight,
    /// retries included.
    pub async fn race<T>(&self, f: impl Future<Output = T>) -> Option<T> {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.fired() {
            return None;
        }
        tokio::select! {
            v = f => Some(v),
            () = notified => None,
        }
    }
}

/// How progress is shown (defined with the flags, in `crates/cli`).
pub use cli::Progress;

/// What a followed operation ended in.
#[derive(Debug)]
pub struct Ended {
    pub status: StackStatus,
    pub status_reason: Option<String>,
    /// The operation's events, oldest first.
    pub events: Vec<StackEvent>,
}

impl Ended {
    pub fn failed(&self) -> bool {
        stack::is_failure(&self.status)
    }

    /// The first failed resources and why, skipping the "cancelled" events that follow the real cause.
    pub fn root_causes(&self) -> Vec<(String, String, String)> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for e in &self.events {
            let failed = e
                .resource_status
                .as_ref()
                .is_some_and(|s| s.as_str().ends_with("_FAILED"));
            let reason = e.resource_status_reason.clone().unwrap_or_default();
            let cancelled = reason.contains("cancelled") || reason.contains("canceled");
            let stack_itself = e.physical_resource_id.is_some() && e.physical_resource_id == e.stack_id;
            if failed && !cancelled && !stack_itself {
                let id = e.logical_resource_id.clone().unwrap_or_default();
                if seen.insert(id.clone()) {
                    let ty = e.resource_type.clone().unwrap_or_default();
                    out.push((
                        id,
                        ty,
                        if reason.is_empty() {
                            "(no reason given)".to_owned()
                        } else {
                            reason
                        },
                    ));
                }
            }
        }
        out
    }
}

/// Prints the root-cause summary of a failed operation.
pub fn print_failure(p: &Printer, stack_name: &str, ended: &Ended) {
    p.line(&p.alarm(&format!("{stack_name}: {}", ended.status.as_str())));
    let causes = ended.root_causes();
    if causes.is_empty() {
        let reason = ended
            .status_reason
            .as_deref()
            .filter(|r| !r.is_empty())
            .unwrap_or("CloudFormation gave no reason");
        p.line(&format!("  cause: {reason}"));
    } else {
        p.line("  root cause (first failures, in order):");
        for (id, ty, reason) in causes.iter().take(5) {
            p.line(&format!("    {id} ({ty}): {reason}"));
        }
    }
}

fn secs(t: &DateTime) -> f64 {
    t.secs() as f64 + f64::from(t.subsec_nanos()) / 1e9
}

/// Where an operation's events start: the newest event before it began, and its start time.
#[derive(Clone, Debug)]
pub struct Mark {
    pub after_event: Option<String>,
    pub since: DateTime,
}

/// Marks the current end of `stack`'s event history (call it just before starting an operation).
pub async fn mark(cfn: &Client, stack: &str) -> Result<Mark> {
    let since = DateTime::from(std::time::SystemTime::now());
    let after_event = match cfn.describe_stack_events().stack_name(stack).send().await {
        Ok(out) => out
            .stack_events
            .unwrap_or_default()
            .into_iter()
            .next()
            .and_then(|e| e.event_id),
        // A stack that does not exist yet has no history.
        Err(_) => None,
    };
    Ok(Mark { after_event, since })
}

/// Follows `stack_id` until its status is terminal, showing the events after `mark`; `total` is the
/// number of resources the operation touches (for the bar; 0 if unknown).
pub async fn follow(
    cfn: &Client,
    p: &Printer,
    stack_id: &str,
    mark: Mark,
    total: usize,
    mode: Progress,
    pacing: Pacing,
    interrupt: &Interrupt,
) -> Result<Ended> {
    let mode = if mode == Progress::Bar && !p.tty {
        Progress::Events
    } else {
        mode
    };
    let since = mark.since;
    let mut seen_latest: Option<String> = mark.after_event;
    let mut events: Vec<StackEvent> = Vec::new();
    let mut last_status: BTreeMap<String, String> = BTreeMap::new();
    let mut delay = pacing.first;
    loop {
        if interrupt.fired() {
            p.end_progress();
            return Err(Failure::new(Code::Interrupted, "interrupted"));
        }
        let Some(fresh) = interrupt
            .race(new_events(cfn, stack_id, since, seen_latest.as_deref()))
            .await
        else {
            p.end_progress();
            return Err(Failure::new(Code::Interrupted, "interrupted"));
        };
        let fresh = fresh?;
        let activity = !fresh.is_empty();
        if let Some(newest) = fresh.last() {
            seen_latest = newest.event_id.clone();
        }
        for e in &fresh {
            let id = e.logical_resource_id.clone().unwrap_or_default();
            let status = e.resource_status.as_ref().map_or("", |s| s.as_str()).to_owned();
            let is_stack =
                e.physical_resource_id.is_some() && e.physical_resource_id.as_deref() == Some(stack_id);
            if !is_stack {
                last_status.insert(id.clone(), status.clone());
            }
            match mode {
                Progress::Events => p.line(&event_line(p, e)),
                Progress::Quiet if status.ends_with("_FAILED") => p.line(&event_line(p, e)),
                _ => {}
            }
        }
        events.extend(fresh);
        if mode == Progress::Bar {
            let done = last_status.values().filter(|s| is_settled(s)).count();
            let latest = events.last().map(|e| event_line(p, e)).unwrap_or_default();
            p.progress(&bar(done, total.max(last_status.len()), &latest));
        }
        let Some(current) = interrupt.race(stack::describe(cfn, stack_id)).await else {
            p.end_progress();
            return Err(Failure::new(Code::Interrupted, "interrupted"));
        };
        let Some(current) = current? else {
            p.end_progress();
            return Ok(Ended {
                status: StackStatus::DeleteComplete,
                status_reason: None,
                events,
            });
        };
        let status = stack::status(&current);
        if stack::is_terminal(&status) {
            // One last look for events that landed with the final status.
            let tail = new_events(cfn, stack_id, since, seen_latest.as_deref()).await?;
            for e in &tail {
                if mode == Progress::Events
                    || (mode == Progress::Quiet
                        && e.resource_status
                            .as_ref()
                            .is_some_and(|s| s.as_str().ends_with("_FAILED")))
                {
                    p.line(&event_line(p, e));
                }
            }
            events.extend(tail);
            p.end_progress();
            return Ok(Ended {
                status,
                status_reason: current.stack_status_reason,
                events,
            });
        }
        delay = pacing.next(delay, activity);
        if interrupt.sleep(delay).await {
            p.end_progress();
            return Err(Failure::new(Code::Interrupted, "interrupted"));
        }
    }
}

/// Events newer than `last_seen` (and not older than `since`), oldest first. Pages back only as far
/// as needed.
async fn new_events(
    cfn: &Client,
    stack_id: &str,
    since: DateTime,
    last_seen: Option<&str>,
) -> Result<Vec<StackEvent>> {
    let mut collected = Vec::new();
    let mut token: Option<String> = None;
    // Allow for clock skew between this machine and CloudFormation.
    let floor = secs(&since) - 5.0;
    'pages: loop {
        let out = cfn
            .describe_stack_events()
            .stack_name(stack_id)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| anyhow::Error::new(e).context(format!("reading the events of {stack_id}")))?;
        for e in out.stack_events.unwrap_or_default() {
            if last_seen.is_some() && e.event_id.as_deref() == last_seen {
                break 'pages;
            }
            if e.timestamp.as_ref().is_some_and(|t| secs(t) < floor) {
                break 'pages;
            }
            collected.push(e);
        }
        match out.next_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => break,
        }
    }
    collected.reverse();
    Ok(collected)
}

fn is_settled(status: &str) -> bool {
    status.ends_with("_COMPLETE")
        || status.ends_with("_FAILED")
        || status == ResourceStatus::DeleteSkipped.as_str()
}

fn bar(done: usize, total: usize, latest: &str) -> String {
    let width = 20;
    let filled = (done * width).checked_div(total).unwrap_or(0).min(width);
    format!(
        "[{}{}] {done}/{total}  {latest}",
        "#".repeat(filled),
        "-".repeat(width - filled)
    )
}

/// `12:00:01  CREATE_COMPLETE  AWS::S3::Bucket  ArtifactBucket  reason`.
pub fn event_line(p: &Printer, e: &StackEvent) -> String {
    let time = e
        .timestamp
        .as_ref()
        .map(|t| {
            let s = t.secs().rem_euclid(86_400);
            format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
        })
        .unwrap_or_default();
    let status = e.resource_status.as_ref().map_or("", |s| s.as_str());
    // Pad before colouring, so colour codes do not count as width.
    let padded = format!("{status:<24}");
    let shown = if status.ends_with("_FAILED") {
        p.alarm(&padded)
    } else {
        padded
    };
    let mut line = format!(
        "{time}  {shown}  {:<26}  {}",
        e.logical_resource_id.as_deref().unwrap_or(""),
        e.resource_type.as_deref().unwrap_or(""),
    );
    if let Some(r) = e.resource_status_reason.as_deref().filter(|r| !r.is_empty()) {
        line.push_str("  ");
        line.push_str(r);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_backs_off_while_idle_and_resets_on_activity() {
        let p = Pacing::INTERACTIVE;
        let mut d = p.first;
        for _ in 0..20 {
            d = p.next(d, false);
        }
        assert_eq!(d, p.max);
        assert_eq!(p.next(d, true), p.first);
        assert!(p.next(p.first, false) > p.first);
    }

    #[test]
    fn the_bar_shows_done_of_total() {
        assert_eq!(bar(5, 10, "x"), "[##########----------] 5/10  x");
        assert_eq!(bar(0, 0, ""), "[--------------------] 0/0  ");
    }
}
