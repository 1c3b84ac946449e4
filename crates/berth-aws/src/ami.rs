//! `cargo xtask ami`: the stage's pinned AMI against AWS's current recommended ECS-optimized one (a
//! public SSM parameter per architecture), and `--write`, which pins the current one in the stage
//! file: an AMI bump is a commit someone reviews, never a side effect of an unrelated deploy.

use std::path::Path;

use anyhow::Context;

use crate::fail;
use infra::Stage;
use infra::stage::{AmiId, AmiName};

use crate::exit::{Code, Failure, Result};
use crate::output::Printer;

/// What the recommended parameter holds (the fields berth uses; the document has more).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Recommended {
    pub image_id: String,
    pub image_name: String,
    #[serde(default)]
    pub ecs_agent_version: Option<String>,
}

/// The current recommended ECS-optimized Amazon Linux 2023 AMI for the stage's architecture: the
/// `image_id`, `image_name` and `ecs_agent_version` parameters below the recommended one (AWS also
/// publishes them together as one JSON document, which emulators render differently).
pub async fn recommended(ssm: &aws_sdk_ssm::Client, stage: &Stage) -> Result<(String, Recommended)> {
    let base = stage.architecture().recommended_ami_parameter();
    let name = |field: &str| format!("{base}/{field}");
    let out = ssm
        .get_parameters()
        .names(name("image_id"))
        .names(name("image_name"))
        .names(name("ecs_agent_version"))
        .send()
        .await
        .map_err(|e| {
            anyhow::Error::new(e).context(format!("reading the public SSM parameters under {base}"))
        })?;
    let value = |field: &str| {
        out.parameters()
            .iter()
            .find(|p| p.name() == Some(name(field).as_str()))
            .and_then(|p| p.value())
            .map(str::to_owned)
    };
    let (Some(image_id), Some(image_name)) = (value("image_id"), value("image_name")) else {
        fail!(
            Code::Error,
            "{base}/image_id and /image_name: not found in {} (invalid: {:?})\nhint: the ECS-optimized Amazon Linux 2023 AMI is published in every region ECS runs in; check the stage's region",
            stage.region,
            out.invalid_parameters()
        );
    };
    Ok((
        base.to_owned(),
        Recommended {
            image_id,
            image_name,
            ecs_agent_version: value("ecs_agent_version"),
        },
    ))
}

/// Compares (and with `write`, pins) the stage's AMI. `file` is the stage file as the user named it.
pub async fn run(
    ssm: &aws_sdk_ssm::Client,
    stage: &Stage,
    shown_file: &str,
    write: bool,
    json: bool,
    p: &Printer,
) -> Result<Code> {
    let (parameter, current) = recommended(ssm, stage).await?;
    let pinned = stage.instances.ami.as_ref().map(|a| a.as_str().to_owned());
    let up_to_date = pinned.as_deref() == Some(current.image_id.as_str());
    let arch = stage.architecture();
    let instance_type = stage.instances.instance_type.as_str();
    if json {
        p.data(
            &serde_json::json!({
                "stage": stage.name.to_string(),
                "architecture": arch.as_str(),
                "pinned": pinned,
                "pinned_name": stage.instances.ami_name.as_ref().map(|n| n.0.clone()),
                "follows_parameter": stage.instances.ami_parameter.as_ref().map(|n| n.0.clone()),
                "current": current,
                "parameter": parameter,
                "up_to_date": up_to_date,
                "written": write && !up_to_date,
            })
            .to_string(),
        );
    } else {
        let now = match (&pinned, &stage.instances.ami_parameter) {
            (Some(id), _) => format!(
                "pinned {id}{}",
                stage
                    .instances
                    .ami_name
                    .as_ref()
                    .map(|n| format!(" ({})", n.0))
                    .unwrap_or_default()
            ),
            (None, Some(param)) => format!("follows {} (resolved again on every deploy)", param.0),
            (None, None) => "no AMI".to_owned(),
        };
        p.data(&format!("{} ({instance_type}, {arch}): {now}", stage.name));
        p.data(&format!(
            "  current ECS-optimized AMI: {} ({}{}) from {parameter}",
            current.image_id,
            current.image_name,
            current
                .ecs_agent_version
                .as_deref()
                .map(|v| format!(", ECS agent {v}"))
                .unwrap_or_default()
        ));
    }
    if up_to_date {
        if !json {
            p.data("  up to date");
        }
        return Ok(Code::Ok);
    }
    if !write {
        if !json {
            p.line(&format!(
                "  `cargo xtask ami --stage {} --write` pins the current one; review the change, then deploy: every instance is replaced, one at a time",
                stage.name
            ));
        }
        return Ok(Code::Ok);
    }
    let id = AmiId::try_from(current.image_id.clone())
        .map_err(|e| Failure::new(Code::Error, format!("{parameter}: {e}")))?;
    let name = AmiName::try_from(current.image_name.clone())
        .map_err(|e| Failure::new(Code::Error, format!("{parameter}: {e}")))?;
    write_pinned(&stage.file, shown_file, &id, &name)?;
    if !json {
        p.line(&format!(
            "{shown_file}: ami {} -> {} ({})\nnext: cargo xtask synth; cargo xtask diff service --stage {} (the instances are replaced); commit; deploy",
            pinned.as_deref().unwrap_or("-"),
            id.as_str(),
            name.0,
            stage.name
        ));
    }
    Ok(Code::Ok)
}

/// Rewrites the stage file with the AMI pinned, after checking the result is still a valid stage:
/// through a temporary file and a rename, never half-written. The file is read as every stage file is
/// (a regular file, a symlink followed, at most 1 MiB); a symlink's target is what is rewritten, and
/// the file keeps its permissions.
fn write_pinned(file: &Path, shown: &str, id: &AmiId, name: &AmiName) -> Result<()> {
    let bytes = infra::stage::read_stage_file(file)
        .map_err(|e| Failure::new(Code::Error, format!("{shown}: {}", e.message)))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Failure::new(
            Code::Error,
            format!("{shown}: not UTF-8: expected the file saved as UTF-8 text"),
        )
    })?;
    let updated = infra::stage::with_ami(&text, id, name)
        .map_err(|e| Failure::new(Code::Error, format!("{shown}: {e}")))?;
    Stage::parse(file, &updated).map_err(|errors| {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        Failure::new(
            Code::Error,
            format!(
                "{shown} would not be a valid stage with the new AMI; nothing written:\n  {}",
                list.join("\n  ")
            ),
        )
    })?;
    // The file itself, not a symlink to it: the rename replaces what it lands on.
    let target = std::fs::canonicalize(file).with_context(|| format!("writing {shown}"))?;
    let dir = target.parent().unwrap_or(Path::new("."));
    let permissions = std::fs::metadata(&target)
        .with_context(|| format!("writing {shown}"))?
        .permissions();
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("writing {shown}"))?;
    tmp.as_file()
        .set_permissions(permissions)
        .with_context(|| format!("writing {shown}"))?;
    std::io::Write::write_all(&mut tmp, updated.as_bytes()).with_context(|| format!("writing {shown}"))?;
    tmp.persist(&target).with_context(|| format!("writing {shown}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV: &str = include_str!("../../../infra/stages/dev.yaml");

    fn pin(file: &Path) -> Result<()> {
        let id = AmiId::try_from("ami-0fedcba9876543210".to_owned()).unwrap();
        let name =
            AmiName::try_from("al2023-ami-ecs-hvm-2023.0.20260101-kernel-6.1-x86_64".to_owned()).unwrap();
        write_pinned(file, "stages/dev.yaml", &id, &name)
    }

    #[cfg(unix)]
    #[test]
    fn pinning_keeps_the_files_mode_and_its_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.yaml");
        std::fs::write(&real, DEV).unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let stages = dir.path().join("stages");
        std::fs::create_dir(&stages).unwrap();
        let link = stages.join("dev.yaml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        pin(&link).unwrap_or_else(|e| panic!("{}", e.error));
        assert!(
            link.symlink_metadata().unwrap().file_type().is_symlink(),
            "the symlink stays"
        );
        let text = std::fs::read_to_string(&real).unwrap();
        assert!(text.contains("  ami: ami-0fedcba9876543210\n"), "{text}");
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_a_device_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("dev.yaml");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let (tx, rx) = std::sync::mpsc::channel();
        let f = fifo.clone();
        std::thread::spawn(move || {
            let _ = tx.send(pin(&f).map_err(|e| e.error.to_string()));
        });
        let e = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("write_pinned did not return within 5 s")
            .unwrap_err();
        assert!(
            e.starts_with("stages/dev.yaml: is a FIFO (named pipe), not a regular file"),
            "{e}"
        );
        let zero = dir.path().join("zero.yaml");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let e = pin(&zero).map_err(|e| e.error.to_string()).unwrap_err();
        assert!(e.contains("is a character device, not a regular file"), "{e}");
    }
}
