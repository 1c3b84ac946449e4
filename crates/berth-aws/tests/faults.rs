//! The AWS commands under faults, signals and the wrong credentials: through test-support's
//! fault-injecting loopback proxy (one moto server for the whole file), and with scripted answers.

use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use test_support::proxy::{Fault, FaultProxy, Plan};

/// One moto server for every test in this file.
fn moto() -> &'static test_support::Server {
    static SERVER: OnceLock<test_support::Server> = OnceLock::new();
    SERVER.get_or_init(test_support::moto)
}

fn upstream() -> String {
    moto().endpoint.trim_start_matches("http://").to_owned()
}

fn all(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// berth-aws against `endpoint`, with the environment's own AWS settings removed.
fn berth(endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth-aws"));
    for var in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        cmd.env_remove(var);
    }
    cmd.args(args)
        .args(["--endpoint-url", endpoint])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn pass() -> Plan {
    Box::new(|_, _| Fault::Pass)
}

#[test]
fn an_explicit_profile_signs_the_requests_even_with_environment_keys() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials");
    std::fs::write(
        &credentials,
        "[other]\naws_access_key_id = AKIAPROFILEOTHER0001\naws_secret_access_key = profile-secret\n",
    )
    .unwrap();
    let config = dir.path().join("config");
    std::fs::write(&config, "[profile other]\nregion = ap-northeast-1\n").unwrap();
    let files = [
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
        ("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00001"),
        ("AWS_SECRET_ACCESS_KEY", "environment-secret"),
    ];
    let proxy = FaultProxy::start(&upstream(), 20, pass());
    let o = berth(
        &proxy.url(),
        &["status", "service", "--stage", "dev", "--profile", "other"],
        &files,
    );
    let keys: Vec<String> = proxy.seen().into_iter().map(|s| s.access_key).collect();
    assert!(!keys.is_empty(), "no request reached the proxy: {}", all(&o));
    assert!(
        keys.iter().all(|k| k == "AKIAPROFILEOTHER0001"),
        "the profile's key signs every request: {keys:?}"
    );
    // Without --profile, the environment's keys sign.
    let proxy = FaultProxy::start(&upstream(), 20, pass());
    let _ = berth(&proxy.url(), &["status", "service", "--stage", "dev"], &files);
    assert!(
        proxy
            .seen()
            .iter()
            .all(|s| s.access_key == "AKIAENVIRONMENT00001")
    );
    // A profile nobody defined is refused before any request.
    let proxy = FaultProxy::start(&upstream(), 20, pass());
    let o = berth(
        &proxy.url(),
        &["status", "service", "--stage", "dev", "--profile", "othre"],
        &files,
    );
    assert_eq!(o.status.code(), Some(64), "{}", all(&o));
    assert!(
        all(&o).contains(
            "--profile othre: no such profile in the AWS config or credentials files: expected one of: other"
        ),
        "{}",
        all(&o)
    );
    assert!(proxy.seen().is_empty());
}
