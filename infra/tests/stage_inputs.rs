//! Every input a person can give as a stage file: what is not a regular file, what is too large, what
//! is wrong but looks plausible (a region, an instance size, a time zone, a branch written as a ref),
//! a credential pasted anywhere, and a wrong type at every key.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use infra::{Stage, StageError};

const GOOD: &str = include_str!("../stages/dev.yaml");

/// `Stage::load(path)`, failing the test instead of hanging when it does not return within 5 s.
fn load_within(path: PathBuf) -> Result<Stage, Vec<StageError>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(Stage::load(&path));
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("Stage::load did not return within 5 s")
}

fn only_error(r: Result<Stage, Vec<StageError>>) -> StageError {
    let errs = r.expect_err("expected an error");
    assert_eq!(errs.len(), 1, "{errs:#?}");
    errs.into_iter().next().unwrap()
}

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("dev.yaml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let e = only_error(load_within(fifo.clone()));
    assert_eq!(e.file, fifo);
    assert!(
        e.message.contains("is a FIFO (named pipe), not a regular file")
            && e.message.contains("expected a stage file"),
        "{e}"
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_to_a_device_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("dev.yaml");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let e = only_error(load_within(link.clone()));
    assert_eq!(e.file, link);
    assert!(
        e.message.contains("is a character device, not a regular file"),
        "{e}"
    );
    // A symlink to a regular stage file is read as that file.
    let real = dir.path().join("real.yaml");
    std::fs::write(&real, GOOD).unwrap();
    let dev = dir.path().join("linked");
    std::fs::create_dir(&dev).unwrap();
    std::os::unix::fs::symlink(&real, dev.join("dev.yaml")).unwrap();
    let stage = load_within(dev.join("dev.yaml")).expect("a symlink to a stage file");
    assert_eq!(stage.name.as_str(), "dev");
}

#[test]
fn a_directory_and_a_file_over_the_bound_are_refused_with_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("dev.yaml");
    std::fs::create_dir(&d).unwrap();
    let e = only_error(load_within(d));
    assert!(e.message.contains("is a directory, not a regular file"), "{e}");

    let big = dir.path().join("qa.yaml");
    let mut text = GOOD.to_owned();
    while text.len() <= infra::stage::MAX_STAGE_FILE_BYTES as usize {
        text.push_str("# padding padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(&big, &text).unwrap();
    let e = only_error(load_within(big.clone()));
    assert_eq!(e.file, big);
    assert_eq!(
        e.message,
        format!(
            "{} bytes: expected at most 1 MiB (1048576 bytes); a stage file is a few KiB",
            text.len()
        )
    );
    assert_eq!(e.line, None);
}

/// `GOOD` with `from` replaced by `to` (exactly once).
fn edit(from: &str, to: &str) -> String {
    assert_eq!(
        GOOD.matches(from).count(),
        1,
        "`{from}` must occur once in dev.yaml"
    );
    GOOD.replacen(from, to, 1)
}

fn messages(text: &str) -> Vec<String> {
    match Stage::parse(Path::new("stages/dev.yaml"), text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

#[track_caller]
fn refused(text: &str, needles: &[&str]) {
    let m = messages(text);
    for n in needles {
        assert!(m.iter().any(|e| e.contains(n)), "no error mentions `{n}`: {m:#?}");
    }
}

#[test]
fn a_region_must_be_one_aws_has_with_ecs() {
    refused(
        &edit("region: ap-northeast-1", "region: eu-west-9"),
        &[
            "region: `eu-west-9` is not an AWS region (the list in infra/data/regions.csv, from botocore 1.44.8): expected",
            "did you mean one of `eu-west-1` (Europe (Ireland)), `eu-west-2` (Europe (London)), `eu-west-3` (Europe (Paris))?",
            "python3 infra/data/make_regions.py",
        ],
    );
    refused(
        &edit("region: ap-northeast-1", "region: me-west-1"),
        &["`me-west-1` (Middle East (Saudi Arabia)) has no ECS endpoint"],
    );
}

#[test]
fn an_instance_size_the_family_lacks_is_a_typo_even_with_custom_numbers() {
    let typo = edit("instance_type: t3.small", "instance_type: t3.meduim");
    refused(
        &typo,
        &[
            "instances.instance_type: `t3.meduim` is not an instance type berth knows: t3 comes in nano, micro, small, medium, large, xlarge, 2xlarge; did you mean `t3.medium`?",
        ],
    );
    let with_numbers = typo.replace(
        "  instance_type: t3.meduim\n",
        "  instance_type: t3.meduim\n  custom_instance_type: {vcpus: 2, memory_mib: 4096, architecture: x86_64}\n",
    );
    refused(&with_numbers, &["did you mean `t3.medium`?"]);
}

#[test]
fn a_time_zone_must_be_an_iana_name() {
    refused(
        &edit("time_zone: Asia/Tokyo", "time_zone: Europe/Dubiln"),
        &[
            "service.time_zone: `Europe/Dubiln` is not a time zone",
            "did you mean `Europe/Dublin`?",
        ],
    );
    refused(
        &edit("time_zone: Asia/Tokyo", "time_zone: UTC+1"),
        &[
            "`UTC+1` is not a time zone but an offset",
            "`Etc/GMT-1` for a fixed offset",
        ],
    );
    for ok in [
        "UTC",
        "Etc/GMT-1",
        "America/Argentina/Buenos_Aires",
        "Europe/Kiev",
    ] {
        Stage::parse(
            Path::new("stages/dev.yaml"),
            &edit("time_zone: Asia/Tokyo", &format!("time_zone: {ok}")),
        )
        .unwrap_or_else(|e| panic!("{ok}: {e:?}"));
    }
}

#[test]
fn a_branch_is_the_bare_name() {
    let text = GOOD.replacen("branch: main", "branch: refs/heads/main", 1);
    refused(
        &text,
        &[
            "source.app.branch: `refs/heads/main` is a ref, not a branch name: expected the bare branch name `main`",
        ],
    );
    refused(
        &GOOD.replacen("branch: main", "branch: refs/tags/v1", 1),
        &["`refs/tags/v1` is a ref, not a branch name"],
    );
}

/// Token-shaped samples, put together at run time so that no scanner flags this file.
fn sample(parts: &[&str]) -> String {
    parts.concat()
}

#[test]
fn a_credential_anywhere_is_refused_by_its_kind_and_never_shown() {
    let gh = sample(&["gh", "p_", "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe9Dc8Ba"]);
    let akia = sample(&["AK", "IA", "Z7QH4X2MNPLKR5TB"]);
    let slack = sample(&[
        "xo",
        "xb-",
        "2345678901-2345678901234-",
        "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2",
    ]);
    let secret = sample(&["Ab3dEf6hIj9lMn2pQr5t", "Uv8xYz1bCd4fGh7jKl0n"]);
    let cases: Vec<(String, &str, &str)> = vec![
        // a value where a value belongs
        (
            GOOD.replacen("branch: main", &format!("branch: {gh}"), 1),
            "source.app.branch: looks like a GitHub personal access token",
            &gh,
        ),
        // under the retired source, whose mapping is otherwise accepted as it is
        (
            edit(
                "  app:\n    repository",
                &format!("  legacy_github_oauth:\n    token: {gh}\n  app:\n    repository"),
            ),
            "source.legacy_github_oauth.token: looks like a GitHub personal access token",
            &gh,
        ),
        // in a comment
        (
            format!("# deploy key {akia}\n{GOOD}"),
            "a comment here looks like an AWS access key ID",
            &akia,
        ),
        // spelled with an escape, which the text search alone would miss
        (
            GOOD.replacen(
                "branch: main",
                &format!("branch: \"{}\\x70{}\"", &gh[..2], &gh[3..]),
                1,
            ),
            "source.app.branch: looks like a GitHub personal access token",
            &gh,
        ),
        // as an unknown key's name
        (
            edit(
                "  http_redirect: false\n",
                &format!("  http_redirect: false\n  {slack}: x\n"),
            ),
            "looks like a Slack bot token",
            &slack,
        ),
        // an AWS secret key has no prefix: its key's name gives it away
        (
            edit(
                "  app:\n    repository",
                &format!(
                    "  legacy_github_oauth:\n    aws_secret_access_key: {secret}\n  app:\n    repository"
                ),
            ),
            "source.legacy_github_oauth.aws_secret_access_key: looks like an AWS secret access key",
            &secret,
        ),
    ];
    for (text, says, value) in cases {
        let m = messages(&text);
        assert!(
            m.iter().any(|e| e.contains(says)),
            "no error says `{says}`: {m:#?}"
        );
        for e in &m {
            assert!(!e.contains(value), "an error shows the credential: {e}");
        }
    }
    // A value that a check quotes (a bad branch name) is not shown when it holds a credential either.
    let m = messages(&GOOD.replacen("branch: main", &format!("branch: \"x y {gh}\""), 1));
    assert!(m.iter().all(|e| !e.contains(&gh)), "{m:#?}");
}

#[test]
fn a_wrong_type_at_any_key_is_said_in_the_writers_words() {
    // Every key of dev.yaml, and the optional ones, given a mapping, a list, a word, a number and nothing.
    let keys: Vec<(usize, String)> = GOOD
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with(['#', '-']) && l.contains(':'))
        .map(|(i, l)| (i, l.split(':').next().unwrap().to_owned()))
        .collect();
    assert!(keys.len() > 30, "{keys:?}");
    let rust = [
        "struct",
        "u32",
        "u64",
        "u128",
        "i128",
        "invalid type",
        "invalid value",
        "field",
        "sequence",
        "map,",
        "unit value",
        "floating point",
        "a boolean",
        "a string",
        "newtype",
        "Value",
    ];
    let mut checked = 0;
    for (i, key) in &keys {
        for value in [
            "{a: 1}",
            "[1, 2]",
            "word",
            "-3",
            "1.5",
            "99999999999999999999999",
            "",
            "true",
        ] {
            let mut lines: Vec<String> = GOOD.lines().map(str::to_owned).collect();
            lines[*i] = format!("{key}: {value}");
            let text = lines.join("\n") + "\n";
            let Err(errs) = Stage::parse(Path::new("stages/dev.yaml"), &text) else {
                continue;
            };
            for e in errs {
                checked += 1;
                assert!(e.line.is_some() && e.column.is_some(), "no place: {e}");
                let m = &e.message;
                for r in rust {
                    assert!(!m.contains(r), "`{key}: {value}` gave a message with `{r}`: {e}");
                }
                assert!(m.contains("expected"), "`{key}: {value}`: no `expected`: {e}");
            }
        }
    }
    assert!(checked > 200, "{checked}");
}
