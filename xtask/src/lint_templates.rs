//! cfn-lint on the committed templates: each alone, and each with every shipped stage's values.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use pipeline_model::{Stack, infra_layout, service_params};
use serde_json::{Value, json};

use crate::{tools::PythonTools, util};

/// A stage's parameter file in the format cfn-lint reads (`[{ParameterKey, ParameterValue}]`), from the
/// CodePipeline template-configuration file synth writes. List parameters become arrays; parameters of
/// an `AWS::SSM::Parameter::Value<...>` type are left to their defaults, because cfn-lint checks their
/// value (an SSM name) as if it were the resolved one; the service's image tag gets a sample value.
pub fn lint_parameters(template: &Value, configuration: &Value, stack: Stack) -> Value {
    let declared = template["Parameters"].as_object().cloned().unwrap_or_default();
    let mut out = Vec::new();
    // A BTreeMap: sorted whatever order serde_json's map keeps (it depends on its features).
    let mut values: std::collections::BTreeMap<String, Value> = configuration["Parameters"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if stack == Stack::Service {
        values.insert(service_params::IMAGE_TAG.to_owned(), json!("0123456789abcdef"));
    }
    for (key, value) in values {
        let ty = declared
            .get(&key)
            .and_then(|d| d["Type"].as_str())
            .unwrap_or("String");
        if ty.starts_with("AWS::SSM::Parameter::Value<") {
            continue;
        }
        let text = value.as_str().unwrap_or_default();
        let v = if ty.starts_with("List<") || ty == "CommaDelimitedList" {
            json!(text.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>())
        } else {
            json!(text)
        };
        out.push(json!({"ParameterKey": key, "ParameterValue": v}));
    }
    Value::Array(out)
}

#[allow(clippy::print_stderr, reason = "progress of an xtask command")]
pub fn run(py: &PythonTools, extension: &str) -> Result<()> {
    let root = util::project_root();
    let cfn_lint = py.bin.join("cfn-lint");
    let templates: Vec<(Stack, PathBuf)> = Stack::ALL
        .iter()
        .map(|s| (*s, root.join(infra_layout::template_path(*s, extension))))
        .collect();
    let files: Vec<&Path> = templates.iter().map(|(_, p)| p.as_path()).collect();
    lint(&cfn_lint, &files, None)?;
    let env = environment::Environment::load(&environment::Inputs::new(&root))?;
    let tmp = tempfile::tempdir()?;
    for stage in env.stages() {
        for (stack, path) in &templates {
            let template = cfn::raw::parse_template(&std::fs::read_to_string(path)?)
                .with_context(|| format!("reading {}", path.display()))?;
            let conf_path = root.join(infra_layout::parameters_path(stage.name.as_str(), *stack));
            let conf: Value = serde_json::from_str(&std::fs::read_to_string(&conf_path)?)
                .with_context(|| format!("reading {}", conf_path.display()))?;
            let params = tmp.path().join(format!("{}-{stack}.json", stage.name));
            std::fs::write(&params, lint_parameters(&template, &conf, *stack).to_string())?;
            lint(&cfn_lint, &[path], Some(&params))?;
        }
        eprintln!(
            "cfn-lint: {} and {} clean with stage {}",
            files[0].display(),
            files[1].display(),
            stage.name
        );
    }
    Ok(())
}

fn lint(cfn_lint: &Path, templates: &[&Path], parameters: Option<&Path>) -> Result<()> {
    let mut cmd = Command::new(cfn_lint);
    cmd.args(["--format", "parseable"]);
    if let Some(p) = parameters {
        cmd.arg("--parameter-files").arg(p);
    }
    cmd.arg("--").args(templates);
    let out = cmd
        .output()
        .with_context(|| format!("running {}", cfn_lint.display()))?;
    if !out.status.success() {
        bail!(
            "cfn-lint found problems ({}){}:\n{}{}",
            out.status,
            parameters
                .map(|p| format!(" with {}", p.display()))
                .unwrap_or_default(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_become_arrays_ssm_types_stay_default_and_the_tag_is_filled_in() {
        let template = json!({"Parameters": {
            "SubnetIds": {"Type": "List<AWS::EC2::Subnet::Id>"},
            "Paths": {"Type": "CommaDelimitedList"},
            "ImageId": {"Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"},
            "Size": {"Type": "Number"},
        }});
        let conf = json!({"Parameters": {"SubnetIds": "subnet-1,subnet-2", "Paths": "", "ImageId": "/x", "Size": "3"}});
        let p = lint_parameters(&template, &conf, Stack::Service);
        assert_eq!(
            p,
            json!([
                {"ParameterKey": "ImageTag", "ParameterValue": "0123456789abcdef"},
                {"ParameterKey": "Paths", "ParameterValue": []},
                {"ParameterKey": "Size", "ParameterValue": "3"},
                {"ParameterKey": "SubnetIds", "ParameterValue": ["subnet-1", "subnet-2"]},
            ])
        );
    }
}
