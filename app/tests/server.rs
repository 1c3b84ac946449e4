//! The built service, started on a free loopback port.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CANARY: &str = "canary-4f1d2a9e-not-for-logs";

struct Service {
    child: Child,
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(extra: &[(&str, &str)]) -> Service {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_app"));
    cmd.env_clear()
        .env("PORT", port.to_string())
        .env("LISTEN_ADDRESS", "127.0.0.1")
        .env("APP_NAME", "sample")
        .env("STAGE", "dev")
        .env("IMAGE_TAG", "0123abcd")
        .env("DB_PASSWORD", CANARY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the app starts");
    let log = Arc::new(Mutex::new(Vec::new()));
    for stream in [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
    ] {
        let log = log.clone();
        let stream = stream.unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                log.lock().unwrap().push(line);
            }
        });
    }
    let s = Service { child, port, log };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if get(s.port, "/health").is_some_and(|(status, _)| status == 200) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the app did not become healthy; log: {:?}", s.log.lock().unwrap());
}

/// A GET over plain HTTP/1.1: the status and the body, or None when nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(40))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

fn terminate(s: &Service) {
    let status = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait(s: &mut Service, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the app did not exit within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn log_lines(s: &Service) -> Vec<serde_json::Value> {
    // The log is read on other threads: give them a moment after the process ended.
    std::thread::sleep(Duration::from_millis(100));
    s.log
        .lock()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}")))
        .collect()
}

#[test]
fn answers_with_its_name_stage_and_tag_and_reports_health() {
    let mut s = start(&[]);
    let (status, body) = get(s.port, "/").unwrap();
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"app": "sample", "stage": "dev", "image_tag": "0123abcd"})
    );
    assert_eq!(get(s.port, "/health").unwrap(), (200, "ok\n".to_owned()));
    assert_eq!(get(s.port, "/nope").unwrap().0, 404);
    terminate(&s);
    assert!(wait(&mut s, Duration::from_secs(5)).success());
    let lines = log_lines(&s);
    let secrets = lines
        .iter()
        .find(|l| l["msg"] == "secrets")
        .expect("a secrets line");
    assert_eq!(secrets["present"], serde_json::json!(["DB_PASSWORD"]));
    let requests: Vec<_> = lines
        .iter()
        .filter(|l| l["msg"] == "request" && l["path"] == "/")
        .collect();
    assert_eq!(requests[0]["status"], 200);
    assert!(
        lines
            .iter()
            .all(|l| l["ts"].as_str().is_some_and(|t| t.ends_with('Z')))
    );
    let all = s.log.lock().unwrap().join("\n");
    assert!(!all.contains(CANARY), "a secret value reached the log");
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_then_exits_zero() {
    let mut s = start(&[]);
    let port = s.port;
    let slow = std::thread::spawn(move || get(port, "/slow?ms=1500"));
    std::thread::sleep(Duration::from_millis(400)); // the request is now being served
    let signalled = Instant::now();
    terminate(&s);
    let (status, body) = slow.join().unwrap().expect("the slow request got an answer");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["slept_ms"],
        1500
    );
    let exit = wait(&mut s, Duration::from_secs(10));
    assert!(exit.success(), "{exit:?}");
    assert!(signalled.elapsed() < Duration::from_secs(5));
    let lines = log_lines(&s);
    let draining = lines
        .iter()
        .find(|l| l["msg"] == "draining")
        .expect("a draining line");
    assert_eq!(draining["signal"], "SIGTERM");
    assert_eq!(draining["in_flight"], 1);
    assert!(lines.iter().any(|l| l["msg"] == "stopped"));
    // No new connection is served once it drained.
    assert!(get(port, "/health").is_none());
}

#[test]
fn a_request_longer_than_the_drain_bound_is_abandoned_and_the_exit_says_so() {
    let mut s = start(&[("DRAIN_TIMEOUT_SECS", "1")]);
    let port = s.port;
    std::thread::spawn(move || get(port, "/slow?ms=20000"));
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    terminate(&s);
    let exit = wait(&mut s, Duration::from_secs(10));
    assert_eq!(exit.code(), Some(1));
    assert!(signalled.elapsed() < Duration::from_secs(4), "the bound is 1 s");
    let lines = log_lines(&s);
    let timeout = lines
        .iter()
        .find(|l| l["msg"] == "drain timeout")
        .expect("a drain timeout line");
    assert_eq!(timeout["abandoned"], 1);
}

#[test]
fn bad_configuration_fails_fast_and_says_what() {
    let out = Command::new(env!("CARGO_BIN_EXE_app"))
        .env_clear()
        .env("PORT", "http")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["level"], "error");
    assert!(
        line["error"]
            .as_str()
            .unwrap()
            .contains("PORT=`http` is not a port"),
        "{line}"
    );
}
