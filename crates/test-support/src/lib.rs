//! Test-only helpers shared by the workspace's tests.
//!
//! External tools are provisioned by `cargo xtask tools` (and `cargo xtask ci`) into
//! `target/tools/py`; `cargo xtask ci` also passes the location in `BERTH_TOOLS_BIN`. A test that
//! needs a tool that is not there fails and says how to provision it: it never skips.

pub mod proxy;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/test-support is two levels down")
        .to_path_buf()
}

/// The `bin` directory of the provisioned Python tools.
pub fn tools_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("BERTH_TOOLS_BIN") {
        return PathBuf::from(dir);
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| project_root().join("target"), PathBuf::from);
    target.join("tools/py/bin")
}

/// The path of a provisioned tool; panics with the fix when it is missing.
pub fn tool(name: &str) -> PathBuf {
    let path = tools_bin().join(name);
    assert!(
        path.exists(),
        "{name} is not provisioned (looked for {}).\nhint: run `cargo xtask tools` once, or run the tests through `cargo xtask ci`, which provisions it",
        path.display()
    );
    path
}

/// Runs cfn-lint on template files. Returns its report when it finds anything (errors, warnings or
/// informational findings): berth's templates must come out clean.
pub fn cfn_lint(files: &[&Path]) -> Result<(), String> {
    let out = Command::new(tool("cfn-lint"))
        .args(["--format", "parseable", "--"])
        .args(files)
        .output()
        .expect("cfn-lint runs");
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "cfn-lint exited with {} on {files:?}:\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Writes `text` into a fresh temporary directory as `name` and returns both (keep the dir alive).
/// A copy of the shipped stage files (`infra/stages/*.yaml`) in a temporary directory, to break.
pub fn stages_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let shipped = project_root().join("infra/stages");
    for entry in std::fs::read_dir(&shipped).expect("infra/stages") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|x| x == "yaml") {
            std::fs::copy(&path, dir.path().join(path.file_name().expect("a file name")))
                .expect("a stage file copied");
        }
    }
    dir
}

pub fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write temp file");
    (dir, path)
}

/// The `bin` directory of the provisioned LocalStack venv.
pub fn localstack_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("BERTH_LOCALSTACK_BIN") {
        return PathBuf::from(dir);
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| project_root().join("target"), PathBuf::from);
    target.join("tools/localstack/bin")
}

/// An AWS stand-in running on loopback, stopped (by PID) when dropped.
pub struct Server {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`: what `AWS_ENDPOINT_URL` takes.
    pub endpoint: String,
    name: &'static str,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Points a client process at this server: the endpoint and dummy credentials, and none of the
    /// caller's own AWS settings.
    pub fn apply<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        for var in [
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_DEFAULT_PROFILE",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
    }

    /// The server's own log (for a failing test's message).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Server {
    #[allow(clippy::print_stderr, reason = "a test's diagnostic output")]
    fn drop(&mut self) {
        // SIGTERM to the watchdog, which stops the server (SIGKILL after its own 10 s: LocalStack
        // sometimes hangs on shutdown); the watchdog itself is killed only after longer than that, so
        // that it never leaves the server behind.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("{}: had to be killed after SIGTERM", self.name);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("an address")
        .port()
}

/// True when `GET path` answers 200.
fn answers(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
    if write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

/// Runs a server's command under a watchdog that stops it (SIGTERM, SIGKILL after 10 s) when this
/// process ends or sends the watchdog SIGTERM: a server kept in a `static` for a whole test binary is
/// never dropped, and would otherwise outlive it.
const WATCHDOG: &str = r#"
import os, signal, subprocess, sys, time
parent = os.getppid()
child = subprocess.Popen(sys.argv[1:])
def stop(*_):
    child.terminate()
    try:
        child.wait(10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while child.poll() is None:
    if os.getppid() != parent:
        stop()
    time.sleep(0.5)
sys.exit(child.returncode)
"#;

fn watched(python: &Path, cmd: &Command) -> Command {
    let mut w = Command::new(python);
    w.arg("-c")
        .arg(WATCHDOG)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => w.env(key, v),
            None => w.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        w.current_dir(dir);
    }
    w
}

/// Starts `cmd` under a watchdog run by `python` (the server's own interpreter: the one Python that
/// is sure to be there).
fn start(
    name: &'static str,
    python: &Path,
    cmd: Command,
    port: u16,
    health: &str,
    dir: tempfile::TempDir,
) -> Server {
    let log = dir.path().join("server.log");
    let file = std::fs::File::create(&log).expect("a log file");
    let child = watched(python, &cmd)
        .stdout(file.try_clone().expect("log handle"))
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let server = Server {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
        name,
        log,
        _dir: dir,
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if answers(port, health) {
            return server;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!(
        "{name} did not become ready on port {port}:\n{}",
        server.log_tail()
    );
}

/// moto's server: the environment's resources (synchronous CloudFormation, no rollback).
pub fn moto() -> Server {
    let port = free_port();
    let mut cmd = Command::new(tool("moto_server"));
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    start(
        "moto",
        &tool("python"),
        cmd,
        port,
        "/moto-api/",
        tempfile::tempdir().expect("a temp dir"),
    )
}

/// LocalStack on the host: the CloudFormation lifecycle (asynchronous, events, rollback states).
pub fn localstack() -> Server {
    let python = localstack_bin().join("python");
    assert!(
        python.exists(),
        "LocalStack is not provisioned (looked for {}).\nhint: run `cargo xtask tools` once, or run the tests through `cargo xtask ci`",
        python.display()
    );
    let port = free_port();
    let dir = tempfile::tempdir().expect("a temp dir");
    for sub in ["tmp", "volume", "config"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("LocalStack dirs");
    }
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(&python);
    cmd.args(["-m", "localstack.runtime.main"])
        .current_dir(dir.path())
        .env("GATEWAY_SERVER", "hypercorn")
        .env("GATEWAY_LISTEN", &listen)
        .env("LOCALSTACK_HOST", &listen)
        .env("OVERRIDE_IN_DOCKER", "0")
        .env("DNS_ADDRESS", "0")
        .env("PERSISTENCE", "0")
        .env("DISABLE_EVENTS", "1")
        .env("SKIP_SSL_CERT_DOWNLOAD", "1")
        .env("TMPDIR", dir.path().join("tmp"))
        .env("LOCALSTACK_VOLUME_DIR", dir.path().join("volume"))
        .env("CONFIG_DIR", dir.path().join("config"));
    start("localstack", &python, cmd, port, "/_localstack/health", dir)
}

/// Runs the provisioned AWS CLI against `server` in `region`; its JSON answer (Null when it printed none).
pub fn aws_cli(server: &Server, region: &str, args: &[&str]) -> Result<String, String> {
    let out = server
        .apply(&mut Command::new(tool("aws")))
        .args(args)
        .args([
            "--region",
            region,
            "--output",
            "json",
            "--endpoint-url",
            &server.endpoint,
        ])
        .output()
        .map_err(|e| format!("running the AWS CLI: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("aws {args:?}: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// What the README asks a new user to have before the first deploy, created in an emulator: a VPC with
/// two public subnets (the load balancer's) and two private ones (the instances'), each pair in two
/// zones of the example stage's region, and a certificate. Returns the example stage file
/// (`infra/stages/dev.yaml`) rewritten to use them.
pub fn example_stage_in(server: &Server) -> String {
    let region = "ap-northeast-1";
    let field = |json: &str, path: &[&str]| -> String {
        let mut rest = json;
        for key in path {
            let at = rest
                .find(&format!("\"{key}\""))
                .unwrap_or_else(|| panic!("no {key} in {json}"));
            rest = &rest[at + key.len() + 2..];
        }
        let start = rest.find('"').expect("a string value") + 1;
        rest[start..start + rest[start..].find('"').expect("a closing quote")].to_owned()
    };
    let cli = |args: &[&str]| aws_cli(server, region, args).unwrap_or_else(|e| panic!("{e}"));
    let vpc = field(
        &cli(&["ec2", "create-vpc", "--cidr-block", "10.0.0.0/16"]),
        &["Vpc", "VpcId"],
    );
    let subnet = |cidr: &str, zone: &str| {
        field(
            &cli(&[
                "ec2",
                "create-subnet",
                "--vpc-id",
                &vpc,
                "--cidr-block",
                cidr,
                "--availability-zone",
                zone,
            ]),
            &["Subnet", "SubnetId"],
        )
    };
    let (a, c) = (
        subnet("10.0.0.0/24", "ap-northeast-1a"),
        subnet("10.0.1.0/24", "ap-northeast-1c"),
    );
    let (private_a, private_c) = (
        subnet("10.0.10.0/24", "ap-northeast-1a"),
        subnet("10.0.11.0/24", "ap-northeast-1c"),
    );
    let cert = field(
        &cli(&["acm", "request-certificate", "--domain-name", "app.example.com"]),
        &["CertificateArn"],
    );
    // The connection must be in the emulator's account (moto's is AWS's documentation account,
    // LocalStack's 000000000000).
    let account = cert
        .split(':')
        .nth(4)
        .expect("an ARN has an account field")
        .to_owned();
    std::fs::read_to_string(project_root().join("infra/stages/dev.yaml"))
        .expect("the example stage")
        .replace("vpc-0123456789abcdef0", &vpc)
        .replace("subnet-0123456789abcdef0", &a)
        .replace("subnet-0fedcba9876543210", &c)
        .replace("subnet-0aaaaaaaaaaaaaaa1", &private_a)
        .replace("subnet-0aaaaaaaaaaaaaaa2", &private_c)
        .replace(
            "arn:aws:acm:ap-northeast-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
            &cert,
        )
        .replace(
            "arn:aws:codeconnections:ap-northeast-1:123456789012:",
            &format!("arn:aws:codeconnections:ap-northeast-1:{account}:"),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server whose owner ends without dropping it (as a `static` one does) is stopped by its
    /// watchdog: here the owner is a shell that starts the watched command and exits at once.
    #[test]
    fn a_watched_server_stops_when_its_owner_ends() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let mut server = Command::new("sh");
        server.args(["-c", &format!("echo $$ > {}; exec sleep 600", pid_file.display())]);
        let w = watched(Path::new("python3"), &server);
        // The owner: a shell that runs the watchdog in the background and exits once the server runs.
        let line: Vec<String> = std::iter::once(w.get_program())
            .chain(w.get_args())
            .map(|a| format!("'{}'", a.to_string_lossy().replace('\'', r"'\''")))
            .collect();
        let owner = Command::new("sh")
            .args([
                "-c",
                &format!(
                    "{} >/dev/null 2>&1 & while [ ! -s {} ]; do sleep 0.05; done",
                    line.join(" "),
                    pid_file.display()
                ),
            ])
            .status()
            .unwrap();
        assert!(owner.success());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let pid = loop {
            if let Ok(p) = std::fs::read_to_string(&pid_file)
                && !p.trim().is_empty()
            {
                break p.trim().to_owned();
            }
            assert!(std::time::Instant::now() < deadline, "the server never started");
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let alive = || {
            Command::new("kill")
                .args(["-0", &pid])
                .status()
                .unwrap()
                .success()
        };
        while alive() {
            assert!(
                std::time::Instant::now() < deadline,
                "the server {pid} outlived its owner"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}
