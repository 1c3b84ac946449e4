//! `cargo xtask secrets put|list|rm|check`: the app's secrets in SSM Parameter Store, each a
//! `SecureString` encrypted with the stage's own KMS key (the pipeline stack's, found by its alias).
//!
//! CloudFormation cannot create a `SecureString`, so berth writes them through the SSM API. A value
//! comes from stdin or a no-echo prompt, never from an argument (argv is visible to every user of
//! the machine and lands in shell history), and is never printed: [`SecretValue`] has no way to be
//! displayed. Which secrets exist is declared once, in the contract (`pipeline_model::secrets`).

use std::fmt;
use std::io::{IsTerminal, Read};

use aws_sdk_ssm::types::{
    ParameterMetadata, ParameterStringFilter, ParameterType, ResourceTypeForTagging, Tag,
};
use pipeline_model::Names;
use pipeline_model::secrets::{Secret, UsedAt};
use serde_json::json;

use crate::exit::{Code, Failure, Result};
use crate::fail;
use crate::output::{Printer, table};

/// The longest value Parameter Store's standard tier takes.
pub const MAX_VALUE_CHARS: usize = 4096;
/// SSM's limit on a parameter's full name (path included).
pub const MAX_PARAMETER_NAME: usize = 1011;

/// A secret's value. It cannot be printed or formatted (its `Debug` is redacted); [`SecretValue::expose`]
/// hands it to the one call that stores it.
pub struct SecretValue(String);

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

impl SecretValue {
    /// Checks a value as read: one trailing line break (from `echo` or a file) is dropped; empty
    /// values and values over [`MAX_VALUE_CHARS`] are refused. The error never contains the value.
    pub fn new(mut text: String) -> std::result::Result<SecretValue, String> {
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        if text.is_empty() {
            return Err("the value is empty: nothing written".to_owned());
        }
        if text.contains('\0') {
            return Err(
                "the value holds a NUL byte, which an environment variable (how the container receives it) cannot: nothing written"
                    .to_owned(),
            );
        }
        let chars = text.chars().count();
        if chars > MAX_VALUE_CHARS {
            return Err(format!(
                "the value is {chars} characters; Parameter Store takes at most {MAX_VALUE_CHARS}: nothing written"
            ));
        }
        Ok(SecretValue(text))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// `text` with every occurrence of the value replaced, in every encoding a message may quote it in:
/// as is, escaped for JSON, for XML, and percent-encoded.
fn scrub(text: &str, value: &SecretValue) -> String {
    let v = value.expose();
    let json = serde_json::to_string(v).unwrap_or_default();
    let json = json.trim_matches('"').to_owned();
    let xml = v
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;");
    let percent: String = v
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let mut out = text.to_owned();
    // Longest first, so that no encoding leaves a piece of another behind.
    let mut forms = [v.to_owned(), json, xml, percent];
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    for f in forms.iter().filter(|f| !f.is_empty()) {
        out = out.replace(f.as_str(), "<the value>");
    }
    out
}

/// What an AWS call's failure says, in a line: AWS's error code and message for an answer AWS gave,
/// the kind of failure otherwise, never the raw response.
pub fn aws_error_text<E, R>(e: &aws_sdk_ssm::error::SdkError<E, R>) -> String
where
    E: aws_sdk_ssm::error::ProvideErrorMetadata + std::error::Error,
    R: fmt::Debug,
{
    use aws_sdk_ssm::error::SdkError;
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            match (err.code(), err.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                _ => format!("an error AWS did not name (HTTP {})", status_of(s.raw())),
            }
        }
        SdkError::TimeoutError(_) => "no answer in time".to_owned(),
        SdkError::DispatchFailure(d) => match d.as_connector_error() {
            Some(c) if crate::aws::unreachable(c) => {
                "the endpoint refused the connection or did not answer".to_owned()
            }
            _ => "the request could not be sent (the connection failed)".to_owned(),
        },
        SdkError::ResponseError(r) => {
            format!("an answer that could not be read (HTTP {})", status_of(r.raw()))
        }
        SdkError::ConstructionFailure(_) => "the request could not be built".to_owned(),
        _ => "the call failed".to_owned(),
    }
}

fn status_of<R: fmt::Debug>(raw: &R) -> String {
    // The raw response's status, without printing the response.
    let text = format!("{raw:?}");
    text.split("status: StatusCode(")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap_or("?")
        .to_owned()
}

/// Reads a value: from a no-echo prompt (asked twice) when stdin is a terminal, otherwise all of stdin.
pub fn read_value(
    name: &str,
    interrupt: &crate::follow::Interrupt,
) -> std::result::Result<SecretValue, String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let ask = |question: String| match crate::prompt::hidden(&question, interrupt) {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(format!("reading the value from the terminal: {e}")),
            None => Err("interrupted: nothing written".to_owned()),
        };
        let first = ask(format!("value of {name} (not shown): "))?;
        let again = ask(format!("{name} again: "))?;
        if first != again {
            return Err("the two values differ: nothing written".to_owned());
        }
        return SecretValue::new(first);
    }
    // A UTF-8 character is at most 4 bytes: anything longer is over the limit, whatever it holds.
    let limit = (MAX_VALUE_CHARS * 4 + 2) as u64;
    let mut bytes = Vec::new();
    stdin
        .lock()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("reading the value from stdin: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "the value on stdin is over {MAX_VALUE_CHARS} characters: nothing written"
        ));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| "the value on stdin is not UTF-8 text: nothing written".to_owned())?;
    SecretValue::new(text)
}

/// A secret name as messages show it: in full when it is shaped like one (an environment variable in
/// capitals, as secrets::DECLARED spells them); otherwise not at all, since what someone typed where a
/// name belongs may be the value.
fn shown(name: &str) -> String {
    let name_shaped = name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if name_shaped {
        format!("`{name}`")
    } else {
        format!(
            "the name given ({} characters; not shown: it is not in capitals like a secret's name and may be a value)",
            name.chars().count()
        )
    }
}

/// Checks a secret's name: one segment of SSM's name rules that is also an environment variable name
/// (the container reads the secret under it), without SSM's reserved prefixes.
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err("the secret name is empty".to_owned());
    }
    if name.contains('/') {
        return Err(format!(
            "{} is not a secret name: expected one segment; berth puts it under /berth/<app>/<stage>/",
            shown(name)
        ));
    }
    let first = name.chars().next().unwrap_or('0');
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || first.is_ascii_digit() {
        return Err(format!(
            "{} is not a secret name: expected ASCII letters, digits and `_`, not starting with a digit \
             (it is the environment variable the container reads)",
            shown(name)
        ));
    }
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("aws") || lower.starts_with("ssm") {
        return Err(format!(
            "{} starts with `{}`: SSM reserves names starting with `aws` or `ssm` (in any case)",
            shown(name),
            &name[..3]
        ));
    }
    Ok(())
}

/// The declared secret called `name`, or an error listing the declared ones.
pub fn declared<'a>(name: &str, declared: &'a [Secret]) -> std::result::Result<&'a Secret, String> {
    check_name(name)?;
    declared.iter().find(|s| s.name == name).ok_or_else(|| {
        let known: Vec<&str> = declared.iter().map(|s| s.name).collect();
        format!(
            "{} is not a secret the app declares: expected one of: {}\nhint: declare it in crates/pipeline-model \
             (secrets::DECLARED), so that the service receives it",
            shown(name),
            if known.is_empty() { "(none)".to_owned() } else { known.join(", ") }
        )
    })
}

/// Where a declared secret lives: the stage's path for runtime secrets, the app's build path for
/// build-time ones.
pub fn parameter_name(names: &Names<'_>, secret: &Secret) -> String {
    match secret.used_at {
        UsedAt::Runtime => names.secret_parameter(secret.name),
        UsedAt::Build => pipeline_model::build_secret_parameter(names.app(), secret.name),
    }
}

/// The clients and names the secrets commands work with.
pub struct Store<'a> {
    pub ssm: &'a aws_sdk_ssm::Client,
    pub kms: &'a aws_sdk_kms::Client,
    pub names: Names<'a>,
    pub region: &'a str,
    /// Ctrl-C: a write is not sent once it fired, and the reads before it are cancelled.
    pub interrupt: crate::follow::Interrupt,
}

/// What `put` did.
#[derive(Debug, PartialEq, Eq)]
pub struct Put {
    pub parameter: String,
    pub version: i64,
    pub key_arn: String,
    /// The parameter already held the value (stored by an attempt whose answer was lost, or earlier):
    /// nothing new was written by this call, and nothing needs to be.
    pub already_held: Option<String>,
}

/// One stored secret, without its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    pub parameter: String,
    pub version: i64,
    pub last_modified: String,
    pub kind: String,
    pub key: String,
}

fn sdk_error<E>(context: String) -> impl FnOnce(E) -> Failure
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |e| Failure::from(anyhow::Error::new(e).context(context))
}

impl<'a> Store<'a> {
    /// The store of a stage, with a session's clients.
    pub fn of(session: &'a crate::aws::Aws, names: Names<'a>) -> Self {
        Store {
            ssm: &session.ssm,
            kms: &session.kms,
            names,
            region: &session.region,
            interrupt: crate::follow::Interrupt::default(),
        }
    }

    /// The store, stopped by `interrupt` (Ctrl-C) before its writes.
    pub fn interrupted_by(self, interrupt: &crate::follow::Interrupt) -> Self {
        Store {
            interrupt: interrupt.clone(),
            ..self
        }
    }

    /// The ARN of the stage's key, found by its alias; a clear error when there is none. (Through
    /// ListAliases: it needs no permission on the key itself, and moto answers it for keys that
    /// CloudFormation created. A disabled key is reported by SSM when it is used.)
    pub async fn stage_key(&self) -> Result<String> {
        let alias = self.names.kms_alias();
        let mut marker = None;
        loop {
            let page = self
                .kms
                .list_aliases()
                .set_marker(marker)
                .send()
                .await
                .map_err(sdk_error(format!("looking up the stage's key {alias}")))?;
            for a in page.aliases.unwrap_or_default() {
                if a.alias_name.as_deref() != Some(alias.as_str()) {
                    continue;
                }
                let (Some(alias_arn), Some(key_id)) = (a.alias_arn, a.target_key_id) else {
                    fail!(Code::Error, "the alias {alias} points at no key: nothing written");
                };
                // arn:aws:kms:REGION:ACCOUNT:alias/NAME -> arn:aws:kms:REGION:ACCOUNT:key/ID
                let prefix = alias_arn.split(":alias/").next().unwrap_or_default();
                return Ok(format!("{prefix}:key/{key_id}"));
            }
            marker = page.next_marker.filter(|_| page.truncated);
            if marker.is_none() {
                fail!(
                    Code::Error,
                    "the stage's key {alias} does not exist in {}: nothing written\nhint: deploy the pipeline stack \
                     first (cargo xtask deploy pipeline --stage {}), it creates the key",
                    self.region,
                    self.names.stage()
                );
            }
        }
    }

    /// Writes a secret as a `SecureString` under the stage's key. Without `overwrite`, an existing
    /// parameter is left alone and the command refuses; with it, a new version is written and the tags
    /// are set in a second call (SSM rejects `Overwrite` together with `Tags`).
    /// When `parameter` holds `value` already: its version and when it was written. The comparison is
    /// made here, in memory; the value is never printed.
    async fn stored_version(
        &self,
        parameter: &str,
        value: &SecretValue,
        key_arn: &str,
    ) -> Result<Option<Put>> {
        let got = self
            .ssm
            .get_parameter()
            .name(parameter)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| {
                Failure::new(
                    Code::Error,
                    format!("reading {parameter} back: {}", scrub(&aws_error_text(&e), value)),
                )
            })?;
        let Some(p) = got.parameter else {
            return Ok(None);
        };
        if p.value.as_deref() != Some(value.expose()) {
            return Ok(None);
        }
        let when = p
            .last_modified_date
            .and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
            .unwrap_or_else(|| "an unknown time".to_owned());
        Ok(Some(Put {
            parameter: parameter.to_owned(),
            version: p.version,
            key_arn: key_arn.to_owned(),
            already_held: Some(when),
        }))
    }

    pub async fn put(&self, secret: &Secret, value: &SecretValue, overwrite: bool) -> Result<Put> {
        let parameter = parameter_name(&self.names, secret);
        if parameter.len() > MAX_PARAMETER_NAME {
            fail!(
                Code::Error,
                "{parameter} is over SSM's {MAX_PARAMETER_NAME} characters: nothing written"
            );
        }
        let key_arn = self
            .interrupt
            .before_write("nothing written", self.stage_key())
            .await?;
        self.interrupt.check("nothing written")?;
        let tags = [
            ("app", self.names.app()),
            ("stage", self.names.stage()),
            ("managed-by", "berth"),
        ]
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<std::result::Result<Vec<Tag>, _>>()
        .map_err(|e| Failure::from(anyhow::Error::new(e)))?;
        let description = format!(
            "berth {}/{}: {}",
            self.names.app(),
            self.names.stage(),
            secret.description
        );
        let request = self
            .ssm
            .put_parameter()
            .name(&parameter)
            .value(value.expose())
            .r#type(ParameterType::SecureString)
            .key_id(&key_arn)
            .description(description);
        let sent = if overwrite {
            request.overwrite(true).send().await
        } else {
            request.set_tags(Some(tags.clone())).send().await
        };
        let out = match sent {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_already_exists()) =>
            {
                // An earlier attempt of this very call may have been stored with its answer lost
                // (the SDK retried): find out what the parameter holds before saying anything.
                if let Some(stored) = self.stored_version(&parameter, value, &key_arn).await? {
                    return Ok(stored);
                }
                fail!(
                    Code::Refused,
                    "{parameter} already exists with another value: nothing written. Pass --overwrite to store a new \
                 version (the old ones stay in its history)"
                )
            }
            // AWS's code and message only, with the value scrubbed should a message quote it.
            Err(e) => fail!(
                Code::Error,
                "writing {parameter}: {}",
                scrub(&aws_error_text(&e), value)
            ),
        };
        if overwrite {
            self.ssm
                .add_tags_to_resource()
                .resource_type(ResourceTypeForTagging::Parameter)
                .resource_id(&parameter)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(sdk_error(format!("tagging {parameter}")))?;
        }
        Ok(Put {
            already_held: None,
            parameter,
            version: out.version,
            key_arn,
        })
    }

    /// The parameters matching `filter`, metadata only (values are never read).
    async fn describe(&self, filter: ParameterStringFilter) -> Result<Vec<ParameterMetadata>> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .ssm
                .describe_parameters()
                .parameter_filters(filter.clone())
                .set_next_token(token)
                .send()
                .await
                .map_err(sdk_error(format!(
                    "listing the secrets of {}/{}",
                    self.names.app(),
                    self.names.stage()
                )))?;
            out.extend(page.parameters.unwrap_or_default());
            token = page.next_token;
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Every secret of the stage (its path) and the declared build-time ones, sorted by name.
    pub async fn list(&self, declared: &[Secret]) -> Result<Vec<Listed>> {
        let path = self.names.secrets_path();
        let stage_path = ParameterStringFilter::builder()
            .key("Path")
            .option("OneLevel")
            .values(path.trim_end_matches('/'))
            .build()
            .map_err(|e| Failure::from(anyhow::Error::new(e)))?;
        let mut found = self.describe(stage_path).await?;
        let build: Vec<String> = declared
            .iter()
            .filter(|s| s.used_at == UsedAt::Build)
            .map(|s| parameter_name(&self.names, s))
            .collect();
        if !build.is_empty() {
            let by_name = ParameterStringFilter::builder()
                .key("Name")
                .option("Equals")
                .set_values(Some(build))
                .build()
                .map_err(|e| Failure::from(anyhow::Error::new(e)))?;
            found.extend(self.describe(by_name).await?);
        }
        let mut listed: Vec<Listed> = found
            .into_iter()
            .map(|m| {
                let parameter = m.name.unwrap_or_default();
                Listed {
                    name: parameter.rsplit('/').next().unwrap_or_default().to_owned(),
                    version: m.version,
                    last_modified: m
                        .last_modified_date
                        .and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                        .unwrap_or_default(),
                    kind: m.r#type.map(|t| t.as_str().to_owned()).unwrap_or_default(),
                    key: m.key_id.unwrap_or_default(),
                    parameter,
                }
            })
            .collect();
        listed.sort_by(|a, b| a.parameter.cmp(&b.parameter));
        Ok(listed)
    }

    /// Deletes a declared secret's parameter (every version).
    pub async fn rm(&self, secret: &Secret) -> Result<String> {
        let parameter = parameter_name(&self.names, secret);
        self.interrupt.check("nothing deleted")?;
        match self.ssm.delete_parameter().name(&parameter).send().await {
            Ok(_) => Ok(parameter),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_parameter_not_found()) => {
                fail!(Code::Error, "{parameter} does not exist: nothing deleted")
            }
            Err(e) => Err(sdk_error(format!("deleting {parameter}"))(e)),
        }
    }

    /// The problems with the declared secrets: each one missing, stored as something other than a
    /// `SecureString`, or encrypted with another key than the stage's (the task execution role may
    /// decrypt with the stage's key only). Empty: all there.
    pub async fn check(&self, declared: &[Secret]) -> Result<Vec<String>> {
        // Both at once: this runs before every service deploy.
        let (listed, stage_key) = tokio::join!(self.list(declared), self.stage_key());
        let listed = listed?;
        // Without any secret stored, a missing key is not the news: the missing secrets are.
        let stage_key = if listed.is_empty() { None } else { Some(stage_key?) };
        let mut problems = Vec::new();
        for s in declared {
            let parameter = parameter_name(&self.names, s);
            match listed.iter().find(|l| l.parameter == parameter) {
                None => problems.push(format!("{} is missing ({parameter})", s.name)),
                Some(l) if l.kind != ParameterType::SecureString.as_str() => problems.push(format!(
                    "{} is a {} ({parameter}): expected a SecureString (put it again with --overwrite)",
                    s.name, l.kind
                )),
                Some(l)
                    if !stage_key
                        .as_deref()
                        .is_some_and(|k| is_key(&l.key, k, &self.names.kms_alias())) =>
                {
                    problems.push(format!(
                        "{} is encrypted with {} ({parameter}): expected the stage's key {} (put it again with --overwrite)",
                        s.name,
                        l.key,
                        self.names.kms_alias()
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(problems)
    }
}

/// True when `found` (a parameter's KeyId: an ARN, a key ID or an alias) names the key `arn`, whose
/// alias is `alias`.
pub fn is_key(found: &str, arn: &str, alias: &str) -> bool {
    found == arn
        || found == alias
        || arn.ends_with(&format!("/{found}"))
        || found.ends_with(&format!(":{alias}"))
}

/// Prints `list`'s result: a table (declared secrets that are missing included), or JSON.
pub fn print_list(
    p: &Printer,
    listed: &[Listed],
    declared: &[Secret],
    names: &Names<'_>,
    stage_key: Option<&str>,
    json_out: bool,
) {
    let alias = names.kms_alias();
    let key_shown = |key: &str| match stage_key {
        Some(k) if is_key(key, k, &alias) => alias.clone(),
        Some(_) => format!("{key} (not the stage's key)"),
        None => key.to_owned(),
    };
    let missing: Vec<&Secret> = declared
        .iter()
        .filter(|s| !listed.iter().any(|l| l.parameter == parameter_name(names, s)))
        .collect();
    if json_out {
        let secrets: Vec<serde_json::Value> = listed
            .iter()
            .map(|l| {
                json!({
                    "name": l.name, "parameter": l.parameter, "version": l.version,
                    "last_modified": l.last_modified, "type": l.kind, "key": key_shown(&l.key),
                    "declared": declared.iter().any(|s| parameter_name(names, s) == l.parameter),
                })
            })
            .collect();
        let missing: Vec<&str> = missing.iter().map(|s| s.name).collect();
        p.data(&json!({"secrets": secrets, "missing": missing}).to_string());
        return;
    }
    let mut rows: Vec<Vec<String>> = listed
        .iter()
        .map(|l| {
            let declared = declared.iter().any(|s| parameter_name(names, s) == l.parameter);
            vec![
                l.name.clone(),
                l.version.to_string(),
                l.last_modified.clone(),
                l.kind.clone(),
                key_shown(&l.key),
                if declared {
                    "yes".to_owned()
                } else {
                    "no: the app does not read it".to_owned()
                },
            ]
        })
        .collect();
    rows.extend(missing.iter().map(|s| {
        vec![
            s.name.to_owned(),
            "-".to_owned(),
            "-".to_owned(),
            "MISSING".to_owned(),
            "-".to_owned(),
            "yes".to_owned(),
        ]
    }));
    if rows.is_empty() {
        p.data(&format!(
            "no secrets under {} and none declared",
            names.secrets_path()
        ));
        return;
    }
    for line in table(
        &["Name", "Version", "Last modified", "Type", "Key", "Declared"],
        &rows,
    ) {
        p.data(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_ssm_and_environment_variable_rules() {
        for ok in ["DB_PASSWORD", "_X", "a1", "Api_Key_2", "AW", "SS"] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        for (bad, says) in [
            ("", "empty"),
            ("DB-PASSWORD", "expected ASCII letters, digits and `_`"),
            ("db.password", "expected ASCII letters"),
            ("1PASSWORD", "not starting with a digit"),
            ("PASS WORD", "expected ASCII letters"),
            ("PÄSS", "expected ASCII letters"),
            ("prod/DB_PASSWORD", "expected one segment"),
            ("aws_key", "SSM reserves"),
            ("AWSKEY", "starts with `AWS`"),
            ("SsmThing", "starts with `Ssm`"),
        ] {
            let e = check_name(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn only_declared_secrets_are_written() {
        let declared = pipeline_model::secrets::DECLARED;
        assert_eq!(
            super::declared("DB_PASSWORD", declared).unwrap().name,
            "DB_PASSWORD"
        );
        let e = super::declared("DB_PASS", declared).unwrap_err();
        assert!(
            e.contains("`DB_PASS` is not a secret the app declares: expected one of: DB_PASSWORD"),
            "{e}"
        );
        assert!(
            super::declared("aws_x", declared)
                .unwrap_err()
                .contains("SSM reserves")
        );
    }

    #[test]
    fn values_are_checked_and_never_shown() {
        let canary = "c4n4ry-value";
        let v = SecretValue::new(format!("{canary}\n")).unwrap();
        assert_eq!(v.expose(), canary, "one trailing newline is dropped");
        assert_eq!(SecretValue::new("a\r\n".to_owned()).unwrap().expose(), "a");
        assert_eq!(
            SecretValue::new("a\n\n".to_owned()).unwrap().expose(),
            "a\n",
            "only one"
        );
        assert!(!format!("{v:?}").contains(canary));
        assert!(SecretValue::new(String::new()).unwrap_err().contains("empty"));
        assert!(SecretValue::new("\n".to_owned()).unwrap_err().contains("empty"));
        let max = "é".repeat(MAX_VALUE_CHARS);
        assert!(
            SecretValue::new(max.clone()).is_ok(),
            "the limit counts characters"
        );
        let e = SecretValue::new(format!("{max}x")).unwrap_err();
        assert!(e.contains("4097 characters") && e.contains("at most 4096"), "{e}");
        assert!(!e.contains('é'));
    }

    #[test]
    fn a_key_is_recognised_by_its_arn_id_or_alias() {
        let arn = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab";
        let alias = "alias/berth/sample/dev";
        for same in [
            arn,
            "1234abcd-12ab",
            alias,
            "arn:aws:kms:ap-northeast-1:123456789012:alias/berth/sample/dev",
        ] {
            assert!(is_key(same, arn, alias), "{same}");
        }
        for other in [
            "alias/aws/ssm",
            "arn:aws:kms:ap-northeast-1:123456789012:key/ffff",
            "ffff",
            "",
        ] {
            assert!(!is_key(other, arn, alias), "{other}");
        }
    }

    #[test]
    fn an_error_message_never_carries_the_value() {
        let v = SecretValue::new("hunter2".to_owned()).unwrap();
        assert_eq!(
            scrub("Value 'hunter2' at 'value' failed to satisfy constraint", &v),
            "Value '<the value>' at 'value' failed to satisfy constraint"
        );
    }

    #[test]
    fn runtime_secrets_live_under_the_stage_and_build_secrets_under_the_app() {
        let names = Names::new("sample", "dev");
        let runtime = Secret {
            name: "DB_PASSWORD",
            used_at: UsedAt::Runtime,
            description: "",
        };
        let build = Secret {
            name: "NPM_TOKEN",
            used_at: UsedAt::Build,
            description: "",
        };
        assert_eq!(parameter_name(&names, &runtime), "/berth/sample/dev/DB_PASSWORD");
        assert_eq!(parameter_name(&names, &build), "/berth/sample/build/NPM_TOKEN");
    }
}
