//! A random canary goes in as a secret through `cargo xtask secrets put` (stdin) and must come out
//! nowhere: not in the stdout or stderr of synth, deploy (against moto), `secrets list`,
//! `secrets check`, `status`, nor of the app running with the secret in its environment; not in any
//! file those commands write; not in the argv of any process this test spawns, nor of the cargo
//! processes xtask spawns in turn (recorded through a `CARGO` shim).
//!
//! The failure messages name where the canary showed up, never the canary itself.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TAG: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

fn random_canary() -> String {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("random bytes");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("canary-{hex}")
}

/// Everything the test saw: (where, what).
#[derive(Default)]
struct Seen(Vec<(String, Vec<u8>)>);

impl Seen {
    fn add(&mut self, place: impl Into<String>, bytes: &[u8]) {
        self.0.push((place.into(), bytes.to_vec()));
    }

    /// Runs `cmd` (stdin piped from `input`), recording its argv, stdout and stderr.
    fn run(&mut self, what: &str, cmd: &mut Command, input: Option<&str>) -> Output {
        let argv: Vec<String> = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        self.add(format!("argv of `{what}`"), argv.join(" ").as_bytes());
        cmd.stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{what}: {e}"));
        if let Some(text) = input {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())
                .expect("writing stdin");
        }
        let out = child.wait_with_output().expect("the process ends");
        self.add(format!("stdout of `{what}`"), &out.stdout);
        self.add(format!("stderr of `{what}`"), &out.stderr);
        assert!(
            out.status.success(),
            "`{what}` failed ({:?}):\n{}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Every file under `dir`.
    fn files_under(&mut self, dir: &Path) {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let bytes = std::fs::read(&path).unwrap();
                    self.add(format!("file {}", path.display()), &bytes);
                }
            }
        }
    }

    /// Where the canary appears.
    fn places_of(&self, canary: &str) -> Vec<&str> {
        let needle = canary.as_bytes();
        self.0
            .iter()
            .filter(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle))
            .map(|(place, _)| place.as_str())
            .collect()
    }
}

fn root() -> PathBuf {
    test_support::project_root()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(port: u16, path: &str) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = Vec::new();
    s.read_to_end(&mut response).ok()?;
    Some(response)
}

#[test]
fn a_canary_secret_appears_in_no_output_file_or_argv() {
    let canary = random_canary();
    let server = test_support::moto();
    let mut seen = Seen::default();

    let work = tempfile::tempdir().unwrap();
    let stages = work.path().join("stages");
    let out_dir = work.path().join("synth");
    std::fs::create_dir_all(&stages).unwrap();
    std::fs::write(stages.join("dev.yaml"), test_support::example_stage_in(&server)).unwrap();
    let stages_arg = stages.display().to_string();

    // A cargo that records how xtask calls it.
    let shim_dir = work.path().join("shim");
    std::fs::create_dir_all(&shim_dir).unwrap();
    let cargo_log = shim_dir.join("cargo-argv.log");
    let shim = shim_dir.join("cargo");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\necho \"cargo $*\" >> '{}'\nexec '{}' \"$@\"\n",
            cargo_log.display(),
            env!("CARGO")
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let xtask = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
        server
            .apply(&mut cmd)
            .env("CARGO", &shim)
            .env("NO_COLOR", "1")
            .args(args);
        cmd
    };
    let with_stage = |args: &[&str]| -> Vec<String> {
        args.iter()
            .map(|s| (*s).to_owned())
            .chain(["--stage", "dev", "--stages", &stages_arg].map(str::to_owned))
            .collect()
    };
    let run = |seen: &mut Seen, what: &str, args: Vec<String>, input: Option<&str>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        seen.run(what, &mut xtask(&args), input)
    };

    run(
        &mut seen,
        "deploy pipeline",
        with_stage(&["deploy", "pipeline", "--yes", "--progress", "events"]),
        None,
    );
    run(
        &mut seen,
        "secrets put",
        with_stage(&["secrets", "put", "DB_PASSWORD"]),
        Some(&format!("{canary}\n")),
    );
    // The control: the canary did go in, decrypted as ECS will read it.
    let stored = test_support::aws_cli(
        &server,
        "ap-northeast-1",
        &[
            "ssm",
            "get-parameter",
            "--name",
            "/berth/sample/dev/DB_PASSWORD",
            "--with-decryption",
        ],
    )
    .expect("the parameter exists");
    assert!(stored.contains(&canary), "the secret was not stored as given");

    run(
        &mut seen,
        "synth",
        vec![
            "synth".into(),
            "--stages".into(),
            stages_arg.clone(),
            "--out".into(),
            out_dir.display().to_string(),
        ],
        None,
    );
    run(&mut seen, "secrets list", with_stage(&["secrets", "list"]), None);
    run(
        &mut seen,
        "secrets list --output json",
        with_stage(&["secrets", "list", "--output", "json"]),
        None,
    );
    run(
        &mut seen,
        "secrets check",
        with_stage(&["secrets", "check"]),
        None,
    );
    run(
        &mut seen,
        "deploy service",
        with_stage(&[
            "deploy",
            "service",
            "--yes",
            "--image-tag",
            TAG,
            "--progress",
            "events",
        ]),
        None,
    );
    run(
        &mut seen,
        "deploy service --output json",
        with_stage(&[
            "deploy",
            "service",
            "--yes",
            "--output",
            "json",
            "--progress",
            "events",
        ]),
        None,
    );
    run(
        &mut seen,
        "status service",
        with_stage(&["status", "service", "--output", "json"]),
        None,
    );
    run(&mut seen, "diff service", with_stage(&["diff", "service"]), None);

    // The app, with the secret in its environment as ECS hands it over.
    let mut build = Command::new(&shim);
    build
        .args(["build", "--quiet", "--package", "app", "--bin", "app"])
        .current_dir(root());
    seen.run("cargo build app", &mut build, None);
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    let port = free_port();
    let mut app = Command::new(target.join("debug/app"));
    app.env_clear()
        .env("PORT", port.to_string())
        .env("LISTEN_ADDRESS", "127.0.0.1")
        .env("APP_NAME", "sample")
        .env("STAGE", "dev")
        .env("IMAGE_TAG", TAG)
        .env("DB_PASSWORD", &canary)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    seen.add(
        "argv of the app",
        format!("{:?} {:?}", app.get_program(), app.get_args().collect::<Vec<_>>()).as_bytes(),
    );
    let child = app.spawn().expect("the app starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut healthy = false;
    while Instant::now() < deadline && !healthy {
        healthy = get(port, "/health").is_some_and(|r| r.starts_with(b"HTTP/1.1 200"));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(healthy, "the app did not become healthy");
    for path in ["/", "/health", "/nope", "/slow?ms=1"] {
        let response = get(port, path).expect("an answer");
        seen.add(format!("the app's answer to GET {path}"), &response);
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the app drains and exits 0 on SIGTERM");
    seen.add("stdout of the app", &out.stdout);
    seen.add("stderr of the app", &out.stderr);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("DB_PASSWORD"),
        "the app logs which secrets are present (by name)"
    );

    // Files: what synth wrote, the stage files, the shim's record of cargo's argv, and the committed
    // outputs in the repository.
    seen.files_under(work.path());
    for f in ["infra/cfn", "app/buildspec.yml"] {
        let p = root().join(f);
        if p.is_dir() {
            seen.files_under(&p);
        } else {
            seen.add(format!("file {f}"), &std::fs::read(&p).unwrap());
        }
    }
    let cargo_calls = std::fs::read_to_string(&cargo_log).unwrap_or_default();
    assert!(
        cargo_calls.contains("build --quiet --package app"),
        "the shim recorded cargo's calls"
    );

    let places = seen.places_of(&canary);
    assert!(places.is_empty(), "the canary secret leaked into: {places:#?}");
    assert!(seen.0.len() > 30, "the test looked at {} places", seen.0.len());
}
