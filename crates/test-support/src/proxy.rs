//! A loopback HTTP proxy that injects faults between a client and an AWS stand-in: statuses such as
//! 500 or a throttling answer, a connection reset before or after the server acted, delays, and a
//! server that never answers. It serves one request per connection (`Connection: close`), records
//! every request it saw (method, target, the `X-Amz-Target` operation, the access key that signed it),
//! and stops after a bounded number of requests.
//!
//! Started like the emulators: on 127.0.0.1 and a free port, in a thread of the test process, stopped
//! when dropped.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does with one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward it and relay the answer.
    Pass,
    /// Answer this status with this body instead (the server never sees the request).
    Answer { status: u16, body: String },
    /// Close the connection without forwarding: the server did nothing.
    ResetBefore,
    /// Forward it, let the server act, then close without relaying the answer.
    ResetAfter,
    /// Wait, then forward.
    Delay(Duration),
    /// Never answer (hold the connection open until the proxy stops).
    Hang,
}

/// A request the proxy saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub target: String,
    /// The operation, from `X-Amz-Target` (JSON protocols) or the `Action=` form field (query
    /// protocols such as CloudFormation's).
    pub operation: String,
    /// The access key ID in the `Authorization` header's `Credential=`.
    pub access_key: String,
    /// What the proxy did.
    pub fault: Fault,
}

/// Decides the fault for the n-th request (from 0) and the request itself.
pub type Plan = Box<dyn Fn(usize, &Seen) -> Fault + Send + Sync>;

pub struct FaultProxy {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (`host:port`) that handles at most `max_requests`.
    pub fn start(upstream: &str, max_requests: usize, plan: Plan) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("its address").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2, upstream) = (seen.clone(), stop.clone(), upstream.to_owned());
        let plan = Arc::new(plan);
        std::thread::spawn(move || {
            for (n, conn) in listener.incoming().enumerate() {
                if stop2.load(Ordering::SeqCst) || n >= max_requests {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (seen, stop, upstream, plan) =
                    (seen2.clone(), stop2.clone(), upstream.clone(), plan.clone());
                std::thread::spawn(move || serve(conn, n, &upstream, &*plan, &seen, &stop));
            }
        });
        FaultProxy { port, seen, stop }
    }

    /// The proxy's URL, for `--endpoint-url`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("not poisoned").clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Reads one HTTP/1.1 request (head and a `Content-Length` body).
fn read_request(conn: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf)
}

fn describe(raw: &[u8]) -> Seen {
    let text = String::from_utf8_lossy(raw);
    let mut lines = text.lines();
    let mut first = lines.next().unwrap_or_default().split_whitespace();
    let (method, target) = (
        first.next().unwrap_or_default().to_owned(),
        first.next().unwrap_or_default().to_owned(),
    );
    let header = |name: &str| {
        text.lines()
            .take_while(|l| !l.is_empty())
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let operation = match header("x-amz-target") {
        t if !t.is_empty() => t.rsplit('.').next().unwrap_or_default().to_owned(),
        _ => body
            .split('&')
            .find_map(|kv| kv.strip_prefix("Action="))
            .unwrap_or_default()
            .to_owned(),
    };
    let access_key = header("authorization")
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').next())
        .unwrap_or_default()
        .to_owned();
    Seen {
        method,
        target,
        operation,
        access_key,
        fault: Fault::Pass,
    }
}

/// The request with `Connection: close`, so that the upstream ends its answer by closing.
fn closing(raw: &[u8]) -> Vec<u8> {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return raw.to_vec();
    };
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut out: Vec<String> = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(str::to_owned)
        .collect();
    out.push("Connection: close".to_owned());
    let mut bytes = out.join("\r\n").into_bytes();
    bytes.extend_from_slice(&raw[end..]);
    bytes
}

fn forward(upstream: &str, raw: &[u8]) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect(upstream).ok()?;
    up.write_all(&closing(raw)).ok()?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).ok()?;
    Some(answer)
}

fn serve(
    mut conn: TcpStream,
    n: usize,
    upstream: &str,
    plan: &(dyn Fn(usize, &Seen) -> Fault + Send + Sync),
    seen: &Mutex<Vec<Seen>>,
    stop: &AtomicBool,
) {
    let Some(raw) = read_request(&mut conn) else {
        return;
    };
    let mut request = describe(&raw);
    let fault = plan(n, &request);
    request.fault = fault.clone();
    seen.lock().expect("not poisoned").push(request);
    match fault {
        Fault::Pass => {
            if let Some(answer) = forward(upstream, &raw) {
                let _ = conn.write_all(&answer);
            }
        }
        Fault::Delay(d) => {
            std::thread::sleep(d);
            if let Some(answer) = forward(upstream, &raw) {
                let _ = conn.write_all(&answer);
            }
        }
        Fault::Answer { status, body } => {
            let _ = conn.write_all(
                format!(
                    "HTTP/1.1 {status} Fault\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
        Fault::ResetBefore => {}
        Fault::ResetAfter => {
            let _ = forward(upstream, &raw);
        }
        Fault::Hang => {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    let _ = conn.shutdown(Shutdown::Both);
}
