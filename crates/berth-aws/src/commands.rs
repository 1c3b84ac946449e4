//! `diff`, `destroy`, `status`, `rollback`.

use std::collections::BTreeSet;

use aws_sdk_cloudformation::types::{ChangeSetType, StackStatus};
use serde_json::{Value, json};

use crate::changeset::{self, Spec, TemplateSource, Waited};
use crate::deploy::{self, Env, Request};
use crate::exit::{Code, Failure, Result};
use crate::fail;
use crate::follow::{self, Progress};
use crate::stack::{self, Class};

/// `diff`: the change set deploy would create, shown and deleted (drift-aware with `revert_drift`).
/// Returns whether there are changes.
pub async fn diff(env: &Env<'_>, req: &Request, json_out: bool, revert_drift: bool) -> Result<bool> {
    let p = env.printer;
    let name = &req.stack_name;
    let existing = stack::describe(env.cfn, name).await?;
    let Some(existing) = existing.filter(|s| stack::classify(&stack::status(s)) != Class::Missing) else {
        // No change set for a stack that does not exist: it would leave an empty stack behind.
        let rows: Vec<changeset::Row> = req.template["Resources"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(id, r)| changeset::Row {
                action: "Add".to_owned(),
                logical_id: id.clone(),
                resource_type: r["Type"].as_str().unwrap_or_default().to_owned(),
                replacement: String::new(),
                scope: String::new(),
                ..changeset::Row::default()
            })
            .collect();
        p.line(&format!("{name} does not exist: deploy would create it"));
        changeset::print(p, name, &rows, None);
        if json_out {
            p.data(&json!({"stack": name, "exists": false, "changes": rows}).to_string());
        }
        return Ok(!rows.is_empty());
    };
    let status = stack::status(&existing);
    if stack::classify(&status) != Class::Updatable {
        fail!(
            Code::Blocked,
            "{name} is {}: no diff until it is in a stable, updatable state",
            status.as_str()
        );
    }
    let spec = Spec {
        template: TemplateSource::Body(req.template_body.clone()),
        parameters: req.parameters.clone(),
        capabilities: changeset::capabilities(&req.template),
        tags: req.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        role_arn: req.role_arn.clone(),
        description: format!("berth diff: {}", req.description),
        revert_drift,
    };
    if req.template_body.len() > deploy::INLINE_LIMIT {
        fail!(
            Code::Error,
            "the template of {name} is over the inline limit: diff it with `deploy --no-execute` (which uploads it)"
        );
    }
    let cs = changeset::unique_name();
    changeset::create(env.cfn, name, &cs, ChangeSetType::Update, &spec).await?;
    let waited = changeset::wait(env.cfn, name, &cs, env.pacing, env.interrupt).await;
    // Whatever happened, leave no change set behind.
    let deleted = changeset::delete(env.cfn, name, &cs).await;
    let (rows, params) = match waited? {
        Waited::NoChanges => (Vec::new(), Vec::new()),
        Waited::Ready(r) => (
            changeset::rows(&r.changes),
            deploy::parameter_changes(&existing, &req.parameters),
        ),
    };
    let changed: Vec<&str> = params.iter().map(|(k, _, _)| k.as_str()).collect();
    let rollout = changeset::instance_rollout(&rows, &changed, &req.template);
    if rows.is_empty() && params.is_empty() {
        p.line(&format!("{name}: no changes"));
    } else {
        deploy::print_parameter_changes(p, &params);
        changeset::print(p, name, &rows, rollout.as_deref());
    }
    if json_out {
        let params: Vec<Value> = params
            .iter()
            .map(|(k, old, new)| json!({"parameter": k, "from": old, "to": new}))
            .collect();
        p.data(
            &json!({
                "stack": name,
                "exists": true,
                "changes": rows,
                "replaces_instances": rollout.is_some(),
                "parameters": params,
            })
            .to_string(),
        );
    }
    if let Err(f) = deleted {
        fail!(
            Code::Error,
            "the diff above is complete, but change set {cs} could not be deleted and is left on {name}: {:#}\n\
             hint: delete it with `aws cloudformation delete-change-set --stack-name {name} --change-set-name {cs}` \
             (it changes nothing while it waits)",
            f.error
        );
    }
    Ok(!rows.is_empty() || !params.is_empty())
}

/// The resources a deletion keeps (`DeletionPolicy: Retain`/`RetainExceptOnCreate`/`Snapshot`),
/// from the deployed template.
pub async fn retained(env: &Env<'_>, name: &str) -> Result<Vec<(String, String, String)>> {
    let tpl = env
        .cfn
        .get_template()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("reading the template of {name}")))?;
    let body = tpl.template_body.unwrap_or_default();
    let value = cfn::raw::parse_template(&body)
        .map_err(|e| anyhow::anyhow!("the deployed template of {name}: {e}"))?;
    let kept: BTreeSet<String> = value["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, r)| {
            matches!(
                r["DeletionPolicy"].as_str(),
                Some("Retain" | "RetainExceptOnCreate" | "Snapshot")
            )
        })
        .map(|(id, _)| id.clone())
        .collect();
    if kept.is_empty() {
        return Ok(Vec::new());
    }
    let resources = env
        .cfn
        .describe_stack_resources()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("listing the resources of {name}")))?;
    Ok(resources
        .stack_resources
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.logical_resource_id.as_ref().is_some_and(|id| kept.contains(id)))
        .map(|r| {
            (
                r.logical_resource_id.unwrap_or_default(),
                r.resource_type.unwrap_or_default(),
                r.physical_resource_id.unwrap_or_else(|| "-".to_owned()),
            )
        })
        .collect())
}

/// `destroy`: confirm, list what is kept, let go of the instances' protection (with `release`'s
/// clients: [`crate::protection`]), delete, follow to `DELETE_COMPLETE`.
pub async fn destroy(
    env: &Env<'_>,
    name: &str,
    yes: bool,
    progress: Progress,
    blockers: &[String],
    release: Option<&crate::protection::Clients>,
) -> Result<()> {
    let p = env.printer;
    // Ctrl-C while reading cancels the call in flight; nothing has been deleted yet.
    let kept = env
        .interrupt
        .before_write("nothing deleted", async {
            let Some(existing) = stack::describe(env.cfn, name).await? else {
                return Ok(None);
            };
            if !blockers.is_empty() {
                fail!(
                    Code::Blocked,
                    "{name} exports values that {} import: destroy {} first",
                    blockers.join(", "),
                    if blockers.len() == 1 { "it" } else { "them" }
                );
            }
            let status = stack::status(&existing);
            if stack::classify(&status) == Class::InProgress {
                fail!(
                    Code::Blocked,
                    "{name} is {}: wait for the running operation to end",
                    status.as_str()
                );
            }
            retained(env, name).await.map(Some)
        })
        .await?;
    let Some(kept) = kept else {
        p.line(&format!("{name} does not exist: nothing to destroy"));
        return Ok(());
    };
    if kept.is_empty() {
        p.line(&format!("{name}: every resource will be deleted"));
    } else {
        p.line(&format!(
            "{name}: these resources are retained (they stay, with their data, after the stack is gone):"
        ));
        for (id, ty, physical) in &kept {
            p.line(&format!("  {id} ({ty}): {physical}"));
        }
    }
    if !yes {
        match env.confirm.confirm(&format!("delete stack {name}?")) {
            Some(true) => {}
            Some(false) => return Err(Failure::new(Code::Refused, format!("{name} not deleted"))),
            None => {
                return Err(Failure::new(
                    Code::Refused,
                    format!(
                        "refusing to delete {name} without confirmation: stdin is not a terminal; pass --yes"
                    ),
                ));
            }
        }
    }
    env.interrupt.check("nothing deleted")?;
    if let Some(clients) = release {
        for line in crate::protection::release(env.cfn, clients, name, env.interrupt)
            .await?
            .lines()
        {
            p.line(&line);
        }
    }
    deploy::delete_and_wait(env, name, progress).await
}

/// `status`: the stack's status, its recent events and its outputs; `--watch` follows a running operation.
pub async fn status(
    env: &Env<'_>,
    name: &str,
    watch: bool,
    json_out: bool,
    progress: Progress,
) -> Result<()> {
    let p = env.printer;
    let Some(s) = stack::describe(env.cfn, name).await? else {
        if json_out {
            p.data(&json!({"stack": name, "exists": false}).to_string());
        } else {
            p.data(&format!("{name}: does not exist"));
        }
        return Ok(());
    };
    let id = s.stack_id.clone().unwrap_or_else(|| name.to_owned());
    let mut status = stack::status(&s);
    if watch && stack::classify(&status) == Class::InProgress {
        p.line(&format!(
            "{name} is {}: following it (Ctrl-C stops following, not the operation)",
            status.as_str()
        ));
        let mark = follow::mark(env.cfn, &id).await?;
        let ended = follow::follow(env.cfn, p, &id, mark, 0, progress, env.pacing, env.interrupt).await?;
        if ended.failed() {
            follow::print_failure(p, name, &ended);
        }
        status = ended.status;
    }
    let events = env
        .cfn
        .describe_stack_events()
        .stack_name(&id)
        .send()
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("reading the events of {name}")))?
        .stack_events
        .unwrap_or_default();
    let recent: Vec<_> = events.into_iter().take(10).collect();
    let outputs = deploy::outputs(env.cfn, &id).await?;
    let fresh = stack::describe(env.cfn, &id).await?;
    let reason = fresh
        .as_ref()
        .and_then(|s| s.stack_status_reason.clone())
        .unwrap_or_default();
    if json_out {
        let ev: Vec<Value> = recent
            .iter()
            .map(|e| {
                json!({
                    "time": e.timestamp.map(|t| t.to_string()),
                    "logical_id": e.logical_resource_id,
                    "type": e.resource_type,
                    "status": e.resource_status.as_ref().map(|s| s.as_str()),
                    "reason": e.resource_status_reason,
                })
            })
            .collect();
        p.data(&json!({"stack": name, "exists": true, "status": status.as_str(), "reason": reason, "events": ev, "outputs": outputs}).to_string());
        return Ok(());
    }
    p.data(&format!(
        "{name}: {}{}",
        status.as_str(),
        if reason.is_empty() {
            String::new()
        } else {
            format!(" ({reason})")
        }
    ));
    if !recent.is_empty() {
        p.data("recent events (newest last):");
        for e in recent.iter().rev() {
            p.data(&format!("  {}", follow::event_line(p, e)));
        }
    }
    if !outputs.is_empty() {
        p.data("outputs:");
        for (k, v) in &outputs {
            p.data(&format!("  {k} = {v}"));
        }
    }
    Ok(())
}

/// `rollback`: `ContinueUpdateRollback` for a stack in `UPDATE_ROLLBACK_FAILED`, skipping the resources
/// named, then follow it.
pub async fn rollback(env: &Env<'_>, name: &str, skip: &[String], progress: Progress) -> Result<()> {
    let p = env.printer;
    // Ctrl-C while reading cancels the call in flight; nothing has been continued yet.
    let (id, since) = env
        .interrupt
        .before_write("the rollback was not continued", async {
            let Some(s) = stack::describe(env.cfn, name).await? else {
                fail!(Code::Error, "{name} does not exist")
            };
            let status = stack::status(&s);
            if status != StackStatus::UpdateRollbackFailed {
                fail!(
                    Code::Blocked,
                    "{name} is {}: continuing a rollback is only for UPDATE_ROLLBACK_FAILED",
                    status.as_str()
                );
            }
            let id = s.stack_id.clone().unwrap_or_else(|| name.to_owned());
            let since = follow::mark(env.cfn, &id).await?;
            Ok((id, since))
        })
        .await?;
    env.interrupt.check("the rollback was not continued")?;
    p.line(&format!(
        "{name}: continuing the rollback{}",
        if skip.is_empty() {
            String::new()
        } else {
            format!(", skipping {}", skip.join(", "))
        }
    ));
    env.cfn
        .continue_update_rollback()
        .stack_name(&id)
        .set_resources_to_skip((!skip.is_empty()).then(|| skip.to_vec()))
        .send()
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("continuing the rollback of {name}")))?;
    let ended = follow::follow(env.cfn, p, &id, since, 0, progress, env.pacing, env.interrupt).await?;
    if ended.status != StackStatus::UpdateRollbackComplete {
        follow::print_failure(p, name, &ended);
        fail!(Code::StackFailed, "{name} ended in {}", ended.status.as_str());
    }
    p.line(&format!(
        "{name}: UPDATE_ROLLBACK_COMPLETE; it can be deployed again"
    ));
    Ok(())
}
