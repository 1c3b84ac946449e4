//! Buildspecs: no secret through `--build-arg`, and `build.json` in the contract's shape.

use serde_json::Value;

use crate::rules::{BUILD_JSON_SHAPE, PARSE_ERROR, SECRET_AS_BUILD_ARG};
use crate::{Finding, Location, finding};

/// Words that make a build argument's name look like a secret.
const SECRET_WORDS: &[&str] = &["PASS", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PRIVATE"];

/// Lints a buildspec's text.
pub fn lint_buildspec(text: &str) -> Vec<Finding> {
    let value = match cfn::raw::parse_template(text) {
        Ok(v) => v,
        Err(e) => {
            let mut f = finding(&PARSE_ERROR, None, "", e.message.clone());
            f.location = Some(Location {
                line: e.line,
                column: e.column,
            });
            return vec![f];
        }
    };
    let mut out = Vec::new();
    // Variables whose values are secrets: the buildspec's own parameter-store and secrets-manager
    // entries, and the secrets the app declares.
    let mut secret_vars: Vec<String> = ["parameter-store", "secrets-manager"]
        .iter()
        .flat_map(|k| {
            value["env"][k]
                .as_object()
                .map(|m| m.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .collect();
    secret_vars.extend(
        pipeline_model::secrets::DECLARED
            .iter()
            .map(|s| s.name.to_owned()),
    );

    let mut writes_build_json = false;
    for phase in ["install", "pre_build", "build", "post_build"] {
        let commands = value["phases"][phase]["commands"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (i, c) in commands.iter().enumerate() {
            let Some(cmd) = c.as_str() else { continue };
            let path = format!("phases.{phase}.commands[{i}]");
            for arg in build_args(cmd) {
                let (name, value) = arg
                    .split_once('=')
                    .map_or((arg.as_str(), None), |(n, v)| (n, Some(v)));
                let from_secret = secret_vars.iter().any(|s| {
                    s == name
                        || value
                            .is_some_and(|v| v.contains(&format!("${s}")) || v.contains(&format!("${{{s}}}")))
                });
                let looks_secret = SECRET_WORDS.iter().any(|w| name.to_ascii_uppercase().contains(w));
                if from_secret || looks_secret {
                    out.push(finding(
                        &SECRET_AS_BUILD_ARG,
                        Some(phase),
                        path.clone(),
                        format!("docker build --build-arg {name}: the value stays in the image's history (docker history shows it)"),
                    ));
                }
            }
            if let Some(json) = build_json_written(cmd) {
                writes_build_json = true;
                let keys = json_keys(&json);
                if keys != [pipeline_model::build_output::TAG_KEY] {
                    out.push(finding(
                        &BUILD_JSON_SHAPE,
                        Some(phase),
                        path.clone(),
                        format!(
                            "writes {} with keys [{}]; the deploy stage reads {{\"{}\": ...}}",
                            pipeline_model::build_output::FILE_NAME,
                            keys.join(", "),
                            pipeline_model::build_output::TAG_KEY
                        ),
                    ));
                }
            }
        }
    }
    // Each finding at its command's line (the first line holding its first 40 characters).
    for f in &mut out {
        let (phase, rest) = (f.resource.clone().unwrap_or_default(), f.path.clone());
        let index = rest
            .rsplit_once('[')
            .and_then(|(_, i)| i.trim_end_matches(']').parse::<usize>().ok());
        let cmd = index.and_then(|i| {
            value["phases"][phase.as_str()]["commands"][i]
                .as_str()
                .map(str::to_owned)
        });
        if let Some(cmd) = cmd {
            let head: String = cmd.chars().take(40).collect();
            f.location = text.lines().enumerate().find_map(|(i, l)| {
                l.find(&head).map(|c| Location {
                    line: i + 1,
                    column: c + 1,
                })
            });
        }
    }
    if writes_build_json {
        let files: Vec<&str> = match &value["artifacts"]["files"] {
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            Value::String(s) => vec![s.as_str()],
            _ => Vec::new(),
        };
        if !files
            .iter()
            .any(|f| *f == pipeline_model::build_output::FILE_NAME || *f == "**/*")
        {
            out.push(finding(
                &BUILD_JSON_SHAPE,
                Some("artifacts"),
                "artifacts.files",
                format!(
                    "{} is written but not among the artifacts: the deploy stage never sees it",
                    pipeline_model::build_output::FILE_NAME
                ),
            ));
        }
    }
    out
}

/// The `--build-arg` values of a `docker build` (or `docker buildx build`) command.
fn build_args(cmd: &str) -> Vec<String> {
    if !(cmd.contains("docker build")
        || cmd.contains("docker buildx build")
        || cmd.contains("docker image build"))
    {
        return Vec::new();
    }
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let value = if let Some(v) = w.strip_prefix("--build-arg=") {
            Some(v)
        } else if *w == "--build-arg" {
            words.get(i + 1).copied()
        } else {
            None
        };
        if let Some(v) = value {
            out.push(v.trim_matches(|c| c == '"' || c == '\'').to_owned());
        }
    }
    out
}

/// The JSON text a command writes into build.json (`... > build.json`, `| tee build.json`).
fn build_json_written(cmd: &str) -> Option<String> {
    let file = pipeline_model::build_output::FILE_NAME;
    let redirected = cmd.contains(&format!("> {file}"))
        || cmd.contains(&format!(">{file}"))
        || cmd.contains(&format!("tee {file}"));
    if !redirected {
        return None;
    }
    let start = cmd.find('{')?;
    let end = cmd.rfind('}')?;
    (end > start).then(|| cmd[start..=end].to_owned())
}

/// The top-level keys of a JSON-like text as a shell command writes it (`{"tag":"%s"}`,
/// `{\"tag\":\"$T\"}`).
fn json_keys(text: &str) -> Vec<String> {
    let unescaped = text.replace("\\\"", "\"");
    let mut keys = Vec::new();
    let mut depth = 0;
    let mut chars = unescaped.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            '"' => {
                let rest = &unescaped[i + 1..];
                let Some(end) = rest.find('"') else { break };
                let word = &rest[..end];
                let after = rest[end + 1..].trim_start();
                if depth == 1 && after.starts_with(':') {
                    keys.push(word.to_owned());
                }
                for _ in 0..=end {
                    chars.next();
                }
            }
            _ => {}
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_args_are_read_in_both_spellings() {
        assert_eq!(
            build_args("docker build --build-arg A=1 --build-arg=B -t x ."),
            ["A=1", "B"]
        );
        assert!(build_args("echo --build-arg X").is_empty());
    }

    #[test]
    fn keys_of_the_json_a_shell_writes() {
        assert_eq!(json_keys(r#"{"tag":"%s"}"#), ["tag"]);
        assert_eq!(json_keys(r#"{\"tag\":\"$IMAGE_TAG\"}"#), ["tag"]);
        assert_eq!(
            json_keys(r#"{"image_tag": "x", "other": {"tag": 1}}"#),
            ["image_tag", "other"]
        );
    }
}
