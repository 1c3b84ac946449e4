//! The deploy state machine: look at the stack, recover what can be recovered, prepare a change set,
//! show it, confirm, execute, follow, report.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{ChangeSetType, StackStatus};
use aws_smithy_types::DateTime;
use serde_json::{Value, json};

use crate::changeset::{self, ParamValue, Spec, TemplateSource, Waited};
use crate::exit::{Code, Failure, Result};
use crate::fail;
use crate::follow::{self, Interrupt, Pacing, Progress};
use crate::output::Printer;
use crate::prompt::Confirm;
use crate::stack::{self, Class};

/// Above this size a template goes through S3 (`TemplateURL`).
pub const INLINE_LIMIT: usize = cfn::INLINE_BODY_LIMIT;
/// Above this size CloudFormation refuses a template altogether.
pub const MAX_SIZE: usize = cfn::MAX_BODY_SIZE;

/// What the engine works with: the clients, where output goes, who answers prompts, how it waits.
pub struct Env<'a> {
    pub cfn: &'a Client,
    pub s3: &'a aws_sdk_s3::Client,
    pub printer: &'a Printer,
    pub confirm: &'a dyn Confirm,
    pub pacing: Pacing,
    pub interrupt: &'a Interrupt,
    /// `AWS_ENDPOINT_URL`/`--endpoint-url`, when set: uploaded templates are addressed through it.
    pub endpoint: Option<String>,
    pub region: String,
}

/// A stack to deploy.
#[derive(Clone, Debug)]
pub struct Request {
    pub stack_name: String,
    pub template_body: String,
    /// The template as data (capabilities, retained resources).
    pub template: Value,
    pub parameters: Vec<(String, ParamValue)>,
    pub tags: BTreeMap<String, String>,
    pub role_arn: Option<String>,
    pub description: String,
}

/// How to deploy.
#[derive(Clone, Debug)]
pub struct Options {
    pub yes: bool,
    pub no_execute: bool,
    /// Execute this prepared change set instead of preparing one.
    pub execute: Option<String>,
    pub recreate_failed: bool,
    pub wait: bool,
    pub progress: Progress,
    pub json: bool,
    /// Where templates over the inline limit are uploaded.
    pub template_bucket: Option<String>,
    /// The command that executes a prepared change set: `{change_set}` is replaced.
    pub execute_hint: String,
    /// The command that resumes watching the stack.
    pub watch_hint: String,
    /// A drift-aware change set (`DeploymentMode: REVERT_DRIFT`).
    pub revert_drift: bool,
}

/// How a deploy ended well.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    NoChanges,
    Prepared { change_set: String },
    Deployed { status: String },
}

pub fn now() -> DateTime {
    DateTime::from(SystemTime::now())
}

/// Deploys `req`.
pub async fn deploy(env: &Env<'_>, req: &Request, opts: &Options) -> Result<Outcome> {
    let p = env.printer;
    let name = &req.stack_name;
    let size = req.template_body.len();
    if size > MAX_SIZE {
        fail!(
            Code::Error,
            "the template of {name} is {size} bytes; CloudFormation accepts at most {MAX_SIZE}: split the stack"
        );
    }
    if let Some(cs) = &opts.execute {
        return execute_prepared(env, req, opts, cs).await;
    }
    let (kind, existing) = ready_for_change_set(env, name, opts).await?;
    let param_changes = existing
        .as_ref()
        .map(|s| parameter_changes(s, &req.parameters))
        .unwrap_or_default();
    let template = template_source(env, req, opts).await?;
    if kind == ChangeSetType::Create && req.parameters.iter().any(|(_, v)| *v == ParamValue::UsePrevious) {
        let missing: Vec<&str> = req
            .parameters
            .iter()
            .filter(|(_, v)| *v == ParamValue::UsePrevious)
            .map(|(k, _)| k.as_str())
            .collect();
        fail!(
            Code::Error,
            "{name} does not exist yet, so these parameters have no previous value to keep: {}\n\
             hint: the service stack's first deploy needs --image-tag TAG (an image in the stage's repository), \
             or let the pipeline's first run create it",
            missing.join(", ")
        );
    }
    let spec = Spec {
        template,
        parameters: req.parameters.clone(),
        capabilities: changeset::capabilities(&req.template),
        tags: req.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        role_arn: req.role_arn.clone(),
        description: req.description.clone(),
        revert_drift: opts.revert_drift,
    };
    let cs_name = changeset::unique_name();
    p.line(&format!(
        "{name}: preparing change set {cs_name} ({})",
        if kind == ChangeSetType::Create {
            "create"
        } else {
            "update"
        }
    ));
    let created = match env
        .interrupt
        .race(changeset::create(env.cfn, name, &cs_name, kind.clone(), &spec))
        .await
    {
        Some(created) => created,
        // Cancelled in flight: the change set may or may not exist.
        None => return Err(interrupted_before_execution(env, name, &cs_name, opts).await),
    };
    created?;
    let waited = match changeset::wait(env.cfn, name, &cs_name, env.pacing, env.interrupt).await {
        Err(f) if f.code == Code::Interrupted => {
            return Err(interrupted_before_execution(env, name, &cs_name, opts).await);
        }
        other => other?,
    };
    let ready = match waited {
        Waited::NoChanges => {
            changeset::delete(env.cfn, name, &cs_name).await?;
            // CloudFormation found nothing to change, so no parameter change matters to it either.
            p.line(&format!("{name}: no changes (the change set is deleted)"));
            if opts.json {
                p.data(&json!({"stack": name, "result": "no-changes"}).to_string());
            }
            return Ok(Outcome::NoChanges);
        }
        Waited::Ready(r) => r,
    };
    let rows = changeset::rows(&ready.changes);
    print_parameter_changes(p, &param_changes);
    let changed: Vec<&str> = param_changes.iter().map(|(k, _, _)| k.as_str()).collect();
    let rollout = changeset::instance_rollout(&rows, &changed, &req.template);
    changeset::print(p, name, &rows, rollout.as_deref());
    if opts.no_execute {
        p.line(&format!(
            "prepared; execute it with:\n  {}",
            opts.execute_hint.replace("{change_set}", &cs_name)
        ));
        if opts.json {
            p.data(
                &json!({"stack": name, "result": "prepared", "change_set": cs_name, "changes": rows, "replaces_instances": rollout.is_some()})
                    .to_string(),
            );
        }
        return Ok(Outcome::Prepared { change_set: cs_name });
    }
    confirm_or_refuse(
        env,
        opts,
        &format!("execute change set {cs_name} on {name}?"),
        &cs_name,
    )?;
    if env.interrupt.fired() {
        return Err(interrupted_before_execution(env, name, &cs_name, opts).await);
    }
    execute_and_follow(env, req, opts, &ready, rows.len()).await
}

/// Ctrl-C before the change set was executed: nothing is executed. The change set is deleted (with
/// the interrupt no longer racing the call); if that fails, it is named with how to execute or delete
/// it.
async fn interrupted_before_execution(env: &Env<'_>, name: &str, cs_name: &str, opts: &Options) -> Failure {
    let deleted = changeset::delete(env.cfn, name, cs_name).await;
    let what = match deleted {
        Ok(()) => format!("change set {cs_name} deleted"),
        // Cancelled before CloudFormation made it.
        Err(f)
            if ["ChangeSetNotFound", "does not exist"]
                .iter()
                .any(|m| format!("{:#}", f.error).contains(m)) =>
        {
            format!("change set {cs_name} was never made")
        }
        Err(_) => format!(
            "change set {cs_name} may be left on {name}: execute it with `{}`, or delete it with \
             `aws cloudformation delete-change-set --stack-name {name} --change-set-name {cs_name}`",
            opts.execute_hint.replace("{change_set}", cs_name)
        ),
    };
    Failure::new(
        Code::Interrupted,
        format!("interrupted before execution: nothing was executed on {name}; {what}"),
    )
}

/// The names of the change sets waiting on a stack.
async fn prepared_change_sets(env: &Env<'_>, name: &str) -> Result<Vec<String>> {
    let listed = env
        .cfn
        .list_change_sets()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("listing the change sets of {name}")))?;
    Ok(listed
        .summaries
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| s.change_set_name)
        .collect())
}

/// Explains why a stack can only be deleted and created again, and does that once allowed.
async fn recreate(
    env: &Env<'_>,
    name: &str,
    opts: &Options,
    status: &StackStatus,
    reason: &str,
    why: &str,
) -> Result<()> {
    env.printer.line(&format!(
        "{name} is {}{reason}: {why}. A stack in this state can only be deleted and created again.",
        status.as_str()
    ));
    let go = opts.recreate_failed
        || match env
            .confirm
            .confirm(&format!("delete {name} and create it again?"))
        {
            Some(answer) => answer,
            None => fail!(
                Code::Refused,
                "{name} needs to be deleted and created again: pass --recreate-failed to do that"
            ),
        };
    if !go {
        fail!(Code::Refused, "not recreating {name}");
    }
    delete_and_wait(env, name, opts.progress).await
}

/// Gets the stack into a state where a change set can be created; says which kind.
async fn ready_for_change_set(
    env: &Env<'_>,
    name: &str,
    opts: &Options,
) -> Result<(ChangeSetType, Option<aws_sdk_cloudformation::types::Stack>)> {
    let p = env.printer;
    loop {
        let existing = stack::describe(env.cfn, name).await?;
        let Some(s) = existing else {
            return Ok((ChangeSetType::Create, None));
        };
        let status = stack::status(&s);
        let reason = s
            .stack_status_reason
            .clone()
            .filter(|r| !r.is_empty())
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        match stack::classify(&status) {
            Class::Missing => return Ok((ChangeSetType::Create, None)),
            Class::Updatable => return Ok((ChangeSetType::Update, Some(s))),
            Class::InProgress => {
                if !opts.wait {
                    fail!(
                        Code::Blocked,
                        "{name} is {}: another operation is running. Wait for it ({}) or pass --wait",
                        status.as_str(),
                        opts.watch_hint
                    );
                }
                p.line(&format!("{name} is {}: waiting for it to end", status.as_str()));
                let id = s.stack_id.clone().unwrap_or_else(|| name.to_owned());
                let mark = follow::mark(env.cfn, &id).await?;
                follow::follow(env.cfn, p, &id, mark, 0, opts.progress, env.pacing, env.interrupt).await?;
            }
            Class::NeedsRecreate if status == StackStatus::ReviewInProgress => {
                // A stack made by a CREATE change set that nobody executed yet. With change sets
                // waiting it is not empty: another CREATE change set is allowed, and any of them can
                // still be executed.
                let waiting = prepared_change_sets(env, name).await?;
                if !waiting.is_empty() {
                    p.line(&format!(
                        "{name} is REVIEW_IN_PROGRESS: waiting to be created by {} (not executed); preparing a new one \
                         (--execute CHANGE_SET runs a prepared one instead)",
                        waiting.join(", ")
                    ));
                    return Ok((ChangeSetType::Create, None));
                }
                recreate(
                    env,
                    name,
                    opts,
                    &status,
                    &reason,
                    "it was created by a change set that is gone",
                )
                .await?;
            }
            Class::NeedsRecreate => {
                let why = match status {
                    StackStatus::CreateFailed => "its creation failed",
                    _ => "its first creation failed and was rolled back",
                };
                recreate(env, name, opts, &status, &reason, why).await?;
            }
            Class::RollbackFailed => fail!(
                Code::Blocked,
                "{name} is UPDATE_ROLLBACK_FAILED{reason}: continue the rollback first with `cargo xtask rollback` \
                 (add --skip LOGICAL_ID for a resource that cannot roll back)"
            ),
            Class::DeleteFailed => {
                fail!(
                    Code::Blocked,
                    "{name} is DELETE_FAILED{reason}: finish deleting it with `cargo xtask destroy`"
                )
            }
        }
    }
}

/// Deletes a stack and waits for it to be gone.
pub async fn delete_and_wait(env: &Env<'_>, name: &str, progress: Progress) -> Result<()> {
    let p = env.printer;
    let id = stack::describe(env.cfn, name)
        .await?
        .and_then(|s| s.stack_id)
        .unwrap_or_else(|| name.to_owned());
    let since = follow::mark(env.cfn, &id).await?;
    env.interrupt.check("nothing deleted")?;
    p.line(&format!("{name}: deleting"));
    env.cfn
        .delete_stack()
        .stack_name(&id)
        .send()
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("deleting {name}")))?;
    let ended = follow::follow(env.cfn, p, &id, since, 0, progress, env.pacing, env.interrupt).await?;
    let status = settle_delete(env, &id, ended.status.clone()).await?;
    if status != StackStatus::DeleteComplete {
        follow::print_failure(p, name, &ended);
        fail!(
            Code::StackFailed,
            "{name} could not be deleted ({})",
            status.as_str()
        );
    }
    p.line(&format!("{name}: deleted"));
    Ok(())
}

/// A `DELETE_FAILED` that turns into `DELETE_COMPLETE` moments later (seen with LocalStack) is a
/// success: look again before calling it a failure.
pub async fn settle_delete(env: &Env<'_>, id: &str, status: StackStatus) -> Result<StackStatus> {
    if status != StackStatus::DeleteFailed {
        return Ok(status);
    }
    for _ in 0..4 {
        env.interrupt
            .sleep(env.pacing.first.max(std::time::Duration::from_millis(250)))
            .await;
        match stack::describe(env.cfn, id).await? {
            None => return Ok(StackStatus::DeleteComplete),
            Some(s) if s.stack_status == Some(StackStatus::DeleteComplete) => {
                return Ok(StackStatus::DeleteComplete);
            }
            _ => {}
        }
    }
    Ok(status)
}

/// The template inline, or through S3 when it is over the inline limit.
async fn template_source(env: &Env<'_>, req: &Request, opts: &Options) -> Result<TemplateSource> {
    let size = req.template_body.len();
    if size <= INLINE_LIMIT {
        return Ok(TemplateSource::Body(req.template_body.clone()));
    }
    let Some(bucket) = opts.template_bucket.clone() else {
        fail!(
            Code::Error,
            "the template of {} is {size} bytes, over the {INLINE_LIMIT}-byte inline limit, and there is no bucket \
             to upload it to: pass --template-bucket BUCKET (or deploy the pipeline stack first: its artifact bucket is used)",
            req.stack_name
        );
    };
    let key = format!(
        "berth/templates/{}/{}.yaml",
        req.stack_name,
        changeset::unique_name()
    );
    env.printer.line(&format!(
        "{}: the template is {size} bytes: uploading it to s3://{bucket}/{key}",
        req.stack_name
    ));
    env.s3
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .body(aws_sdk_s3::primitives::ByteStream::from(
            req.template_body.clone().into_bytes(),
        ))
        .content_type("application/x-yaml")
        .send()
        .await
        .map_err(|e| {
            anyhow::Error::new(e).context(format!("uploading the template to s3://{bucket}/{key}"))
        })?;
    let url = match &env.endpoint {
        Some(endpoint) => format!("{}/{bucket}/{key}", endpoint.trim_end_matches('/')),
        None => format!("https://{bucket}.s3.{}.amazonaws.com/{key}", env.region),
    };
    Ok(TemplateSource::Url(url))
}

fn confirm_or_refuse(env: &Env<'_>, opts: &Options, question: &str, cs_name: &str) -> Result<()> {
    if opts.yes {
        return Ok(());
    }
    match env.confirm.confirm(question) {
        Some(true) => Ok(()),
        Some(false) => Err(Failure::new(
            Code::Refused,
            format!(
                "not executed; the change set is kept: {}",
                opts.execute_hint.replace("{change_set}", cs_name)
            ),
        )),
        None => Err(Failure::new(
            Code::Refused,
            format!(
                "refusing to execute without confirmation: stdin is not a terminal. Pass --yes to execute, or run \
                 later: {}",
                opts.execute_hint.replace("{change_set}", cs_name)
            ),
        )),
    }
}

/// `--execute`: run a change set prepared earlier.
async fn execute_prepared(env: &Env<'_>, req: &Request, opts: &Options, cs: &str) -> Result<Outcome> {
    let name = &req.stack_name;
    let ready = match changeset::wait(env.cfn, name, cs, env.pacing, env.interrupt).await? {
        Waited::Ready(r) => r,
        Waited::NoChanges => fail!(Code::Error, "change set {cs} has no changes to execute"),
    };
    let rows = changeset::rows(&ready.changes);
    let rollout = changeset::instance_rollout(&rows, &[], &req.template);
    changeset::print(env.printer, name, &rows, rollout.as_deref());
    confirm_or_refuse(env, opts, &format!("execute change set {cs} on {name}?"), cs)?;
    if env.interrupt.fired() {
        fail!(
            Code::Interrupted,
            "interrupted before execution: nothing was executed; change set {cs} is kept: {}",
            opts.execute_hint.replace("{change_set}", cs)
        );
    }
    execute_and_follow(env, req, opts, &ready, rows.len()).await
}

async fn execute_and_follow(
    env: &Env<'_>,
    req: &Request,
    opts: &Options,
    ready: &changeset::Ready,
    total: usize,
) -> Result<Outcome> {
    let p = env.printer;
    let name = &req.stack_name;
    let since = follow::mark(env.cfn, &ready.stack_id).await?;
    let token = format!(
        "berth-exec-{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
    );
    env.cfn
        .execute_change_set()
        .stack_name(name)
        .change_set_name(&ready.name)
        .client_request_token(&token)
        .send()
        .await
        .map_err(|e| {
            anyhow::Error::new(e).context(format!("executing change set {} on {name}", ready.name))
        })?;
    p.line(&format!("{name}: executing {}", ready.name));
    let ended = match follow::follow(
        env.cfn,
        p,
        &ready.stack_id,
        since,
        total,
        opts.progress,
        env.pacing,
        env.interrupt,
    )
    .await
    {
        Ok(e) => e,
        Err(f) if f.code == Code::Interrupted => {
            p.line(&format!(
                "stopped following {name}; CloudFormation goes on with it. Watch it again with:\n  {}",
                opts.watch_hint
            ));
            return Err(f);
        }
        // The operation started: an error now is contact lost, not a failed deploy.
        Err(f) => {
            let last = match stack::describe(env.cfn, &ready.stack_id).await {
                Ok(Some(s)) => format!("last seen: {}", stack::status(&s).as_str()),
                _ => "its state could not be read".to_owned(),
            };
            return Err(Failure::new(
                Code::LostContact,
                format!(
                    "lost contact with CloudFormation while following {name} ({last}): {:#}\n\
                     change set {} was executed and the stack operation goes on without berth. Watch it again with:\n  {}",
                    f.error, ready.name, opts.watch_hint
                ),
            ));
        }
    };
    // Another operation that ran on the stack meanwhile (a second deploy) ends with its own request
    // token: this deploy did not end the way it would say.
    let stack_event = |e: &&aws_sdk_cloudformation::types::StackEvent| {
        e.physical_resource_id.as_deref() == Some(ready.stack_id.as_str())
            && e.resource_status
                .as_ref()
                .is_some_and(|s| s.as_str() == ended.status.as_str())
    };
    if let Some(other) = ended
        .events
        .iter()
        .rev()
        .find(stack_event)
        .and_then(|e| e.client_request_token.clone())
        .filter(|t| !t.is_empty() && *t != token)
    {
        fail!(
            Code::Error,
            "{name} ended in {} through another operation (request token {other}), not this deploy's ({token}): \
             another deploy ran on the stack at the same time, and the changes of change set {} may have been \
             overwritten. Look at the stack before deploying again: {}",
            ended.status.as_str(),
            ready.name,
            opts.watch_hint
        );
    }
    if ended.failed() {
        follow::print_failure(p, name, &ended);
        if opts.json {
            let causes: Vec<Value> = ended
                .root_causes()
                .into_iter()
                .map(|(id, ty, reason)| json!({"logical_id": id, "type": ty, "reason": reason}))
                .collect();
            p.data(&json!({"stack": name, "result": "failed", "status": ended.status.as_str(), "root_cause": causes}).to_string());
        }
        fail!(Code::StackFailed, "{name} ended in {}", ended.status.as_str());
    }
    p.line(&format!("{name}: {}", ended.status.as_str()));
    let outputs = outputs(env.cfn, &ready.stack_id).await?;
    if opts.json {
        p.data(
            &json!({
                "stack": name,
                "result": "deployed",
                "status": ended.status.as_str(),
                "change_set": ready.name,
                "changes": changeset::rows(&ready.changes),
                "outputs": outputs,
            })
            .to_string(),
        );
    } else {
        for (k, v) in &outputs {
            p.data(&format!("{k} = {v}"));
        }
    }
    Ok(Outcome::Deployed {
        status: ended.status.as_str().to_owned(),
    })
}

/// A parameter whose value changes: (name, deployed value, new value).
pub type ParamChange = (String, String, String);

/// The parameters whose values differ from the deployed stack's (values of `NoEcho` parameters, which
/// CloudFormation masks as `****`, are shown masked).
pub fn parameter_changes(
    stack: &aws_sdk_cloudformation::types::Stack,
    wanted: &[(String, ParamValue)],
) -> Vec<ParamChange> {
    let deployed: BTreeMap<&str, &str> = stack
        .parameters()
        .iter()
        .filter_map(|p| Some((p.parameter_key()?, p.parameter_value().unwrap_or(""))))
        .collect();
    wanted
        .iter()
        .filter_map(|(k, v)| match v {
            ParamValue::UsePrevious => None,
            ParamValue::Value(new) => {
                let old = deployed.get(k.as_str()).copied();
                match old {
                    Some("****") => None,
                    Some(old) if same_value(old, new) => None,
                    _ => Some((k.clone(), old.unwrap_or("(not set)").to_owned(), new.clone())),
                }
            }
        })
        .collect()
}

/// Whether a deployed parameter value is the one wanted: the same text, or the same list (a
/// `CommaDelimitedList` or `List<...>` value comes back as `a,b` from AWS and as `['a', 'b']` from
/// moto).
fn same_value(deployed: &str, wanted: &str) -> bool {
    let items = |v: &str| -> Vec<String> {
        let inner = v.strip_prefix('[').and_then(|r| r.strip_suffix(']')).unwrap_or(v);
        inner
            .split(',')
            .map(|i| i.trim().trim_matches('\'').to_owned())
            .filter(|i| !i.is_empty())
            .collect()
    };
    deployed == wanted || (wanted.contains(',') && items(deployed) == items(wanted))
}

pub fn print_parameter_changes(p: &Printer, changes: &[ParamChange]) {
    if changes.is_empty() {
        return;
    }
    p.line("parameter changes:");
    for (k, old, new) in changes {
        p.line(&format!("  {k}: {old} -> {new}"));
    }
}

/// The stack's outputs, by key.
pub async fn outputs(cfn: &Client, stack: &str) -> Result<BTreeMap<String, String>> {
    Ok(stack::describe(cfn, stack)
        .await?
        .and_then(|s| s.outputs)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|o| Some((o.output_key?, o.output_value.unwrap_or_default())))
        .collect())
}

#[cfg(test)]
mod same_value_tests {
    use super::same_value;

    #[test]
    fn lists_compare_by_their_items() {
        assert!(same_value("a,b", "a,b"));
        assert!(same_value("['subnet-1', 'subnet-2']", "subnet-1,subnet-2"));
        assert!(!same_value("['subnet-1', 'subnet-3']", "subnet-1,subnet-2"));
        assert!(!same_value("2", "3"));
        assert!(!same_value("[x]", "x"), "a single value is compared as text");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::types::{Parameter, Stack};

    #[test]
    fn parameter_changes_compare_with_the_deployed_values() {
        let stack = Stack::builder()
            .parameters(
                Parameter::builder()
                    .parameter_key("DesiredCount")
                    .parameter_value("2")
                    .build(),
            )
            .parameters(
                Parameter::builder()
                    .parameter_key("TimeZone")
                    .parameter_value("UTC")
                    .build(),
            )
            .parameters(
                Parameter::builder()
                    .parameter_key("Token")
                    .parameter_value("****")
                    .build(),
            )
            .build();
        let wanted = vec![
            ("DesiredCount".to_owned(), ParamValue::Value("3".to_owned())),
            ("TimeZone".to_owned(), ParamValue::Value("UTC".to_owned())),
            ("Token".to_owned(), ParamValue::Value("secret".to_owned())),
            ("ImageTag".to_owned(), ParamValue::UsePrevious),
            ("New".to_owned(), ParamValue::Value("x".to_owned())),
        ];
        assert_eq!(
            parameter_changes(&stack, &wanted),
            vec![
                ("DesiredCount".to_owned(), "2".to_owned(), "3".to_owned()),
                ("New".to_owned(), "(not set)".to_owned(), "x".to_owned()),
            ]
        );
    }
}
