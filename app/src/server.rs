//! The sample HTTP service.
//!
//! - `GET /` answers with the app's name, stage and image tag (JSON).
//! - `GET /health` answers 200 once the service is ready, 503 while it starts or drains.
//! - `GET /slow?ms=N` answers after N milliseconds (at most 30 s): for trying draining and deploys.
//!
//! It logs JSON lines to stdout (awslogs ships them), reads its secrets from the environment at start
//! and logs only which are present, and on SIGTERM (what ECS sends before SIGKILL) stops accepting,
//! finishes the requests in flight within a bound, and exits.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use pipeline_model::{container, secrets};
use serde::Deserialize;
use serde_json::{Value, json};

/// The longest `/slow` waits.
pub const MAX_SLOW: Duration = Duration::from_secs(30);

/// How the service runs, from its environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub listen: SocketAddr,
    pub app_name: String,
    pub stage: String,
    pub image_tag: String,
    /// How long in-flight requests may take to finish after SIGTERM (below ECS's stop timeout).
    pub drain_timeout: Duration,
}

/// Environment variables the service reads besides the contract's.
pub const LISTEN_ADDRESS: &str = "LISTEN_ADDRESS";
pub const DRAIN_TIMEOUT_SECS: &str = "DRAIN_TIMEOUT_SECS";

impl Config {
    /// Reads the configuration; `get` looks up an environment variable.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let port = match get(container::env::PORT) {
            None => container::PORT,
            Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                format!(
                    "{}=`{p}` is not a port: expected a number from 1 to 65535",
                    container::env::PORT
                )
            })?,
        };
        let address: IpAddr = match get(LISTEN_ADDRESS) {
            None => IpAddr::from([0, 0, 0, 0]),
            Some(a) => a
                .parse()
                .map_err(|_| format!("{LISTEN_ADDRESS}=`{a}` is not an IP address"))?,
        };
        let drain = match get(DRAIN_TIMEOUT_SECS) {
            None => Duration::from_secs(25),
            Some(s) => Duration::from_secs(
                s.parse::<u64>()
                    .map_err(|_| format!("{DRAIN_TIMEOUT_SECS}=`{s}` is not a number of seconds"))?,
            ),
        };
        let or_unknown = |name: &str| {
            get(name)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "unknown".to_owned())
        };
        Ok(Config {
            listen: SocketAddr::new(address, port),
            app_name: or_unknown(container::env::APP_NAME),
            stage: or_unknown(container::env::STAGE),
            image_tag: or_unknown(container::env::IMAGE_TAG),
            drain_timeout: drain,
        })
    }
}

/// One JSON log line on stdout.
pub fn log(level: &str, msg: &str, fields: Value) {
    let mut line = json!({"ts": timestamp(SystemTime::now()), "level": level, "msg": msg});
    if let (Some(obj), Value::Object(extra)) = (line.as_object_mut(), fields) {
        obj.extend(extra);
    }
    #[allow(
        clippy::print_stdout,
        reason = "the service's log goes to stdout, where awslogs reads it"
    )]
    {
        println!("{line}");
    }
}

/// RFC 3339 UTC with milliseconds.
fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Which declared runtime secrets the environment holds. Names only: a value is never read into a log.
pub fn secrets_present(get: impl Fn(&str) -> Option<String>) -> (Vec<&'static str>, Vec<&'static str>) {
    secrets::runtime()
        .map(|s| s.name)
        .partition(|name| get(name).is_some_and(|v| !v.is_empty()))
}

struct AppState {
    config: Config,
    ready: AtomicBool,
    in_flight: AtomicUsize,
}

#[derive(Deserialize)]
struct SlowQuery {
    ms: Option<u64>,
}

async fn index(State(s): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({"app": s.config.app_name, "stage": s.config.stage, "image_tag": s.config.image_tag}))
}

async fn health(State(s): State<Arc<AppState>>) -> Response {
    if s.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn slow(Query(q): Query<SlowQuery>) -> Response {
    let wait = Duration::from_millis(q.ms.unwrap_or(1000));
    if wait > MAX_SLOW {
        return (
            StatusCode::BAD_REQUEST,
            format!(
                "ms={}: expected at most {}\n",
                wait.as_millis(),
                MAX_SLOW.as_millis()
            ),
        )
            .into_response();
    }
    tokio::time::sleep(wait).await;
    Json(json!({"slept_ms": wait.as_millis() as u64})).into_response()
}

/// Logs each request, and counts the ones in flight.
async fn access_log(
    State(s): State<Arc<AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = Instant::now();
    let (method, path) = (req.method().to_string(), req.uri().path().to_owned());
    s.in_flight.fetch_add(1, Ordering::SeqCst);
    let response = next.run(req).await;
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    log(
        "info",
        "request",
        json!({
            "method": method,
            "path": path,
            "status": response.status().as_u16(),
            "duration_ms": started.elapsed().as_secs_f64() * 1e3,
        }),
    );
    response
}

/// Resolves when the process receives SIGTERM or SIGINT.
async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

/// How the service ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    /// Drained: every request in flight finished.
    Drained,
    /// The drain bound passed with requests still running.
    DrainTimeout,
}

/// Serves until SIGTERM/SIGINT, then drains.
pub async fn run(config: Config) -> std::io::Result<Exit> {
    let (present, missing) = secrets_present(|k| std::env::var(k).ok());
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(AppState {
        config: config.clone(),
        ready: AtomicBool::new(false),
        in_flight: AtomicUsize::new(0),
    });
    let router = axum::Router::new()
        .route("/", get(index))
        .route(container::HEALTH_CHECK_PATH, get(health))
        .route("/slow", get(slow))
        .layer(axum::middleware::from_fn_with_state(state.clone(), access_log))
        .with_state(state.clone());
    log("info", "secrets", json!({"present": present, "missing": missing}));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, router).with_graceful_shutdown(async {
        let _ = stop_rx.await;
    });
    let server = tokio::spawn(async move { server.await });
    state.ready.store(true, Ordering::SeqCst);
    log(
        "info",
        "listening",
        json!({"address": addr.to_string(), "app": config.app_name, "stage": config.stage, "image_tag": config.image_tag}),
    );
    let signal = shutdown_signal().await;
    // Fail health checks at once so the load balancer stops routing here, stop accepting, and let the
    // requests in flight finish.
    state.ready.store(false, Ordering::SeqCst);
    let in_flight = state.in_flight.load(Ordering::SeqCst);
    log(
        "info",
        "draining",
        json!({"signal": signal, "in_flight": in_flight, "bound_s": config.drain_timeout.as_secs()}),
    );
    let _ = stop_tx.send(());
    match tokio::time::timeout(config.drain_timeout, server).await {
        Ok(_) => {
            log("info", "stopped", json!({}));
            Ok(Exit::Drained)
        }
        Err(_) => {
            let left = state.in_flight.load(Ordering::SeqCst);
            log("warn", "drain timeout", json!({"abandoned": left}));
            Ok(Exit::DrainTimeout)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn configuration_defaults_to_the_contract() {
        let c = Config::from_env(env(&[])).unwrap();
        assert_eq!(c.listen.port(), container::PORT);
        assert_eq!(c.app_name, "unknown");
        let c = Config::from_env(env(&[
            ("PORT", "9000"),
            ("LISTEN_ADDRESS", "127.0.0.1"),
            ("STAGE", "dev"),
        ]))
        .unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(c.stage, "dev");
    }

    #[test]
    fn bad_configuration_names_the_variable_and_the_value() {
        for (k, v, needle) in [
            ("PORT", "http", "PORT=`http`"),
            ("PORT", "0", "PORT=`0`"),
            ("LISTEN_ADDRESS", "localhost", "LISTEN_ADDRESS=`localhost`"),
            ("DRAIN_TIMEOUT_SECS", "soon", "DRAIN_TIMEOUT_SECS=`soon`"),
        ] {
            let e = Config::from_env(env(&[(k, v)])).unwrap_err();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn secrets_are_reported_by_name_only() {
        let (present, missing) = secrets_present(env(&[("DB_PASSWORD", "s3cret")]));
        assert_eq!((present, missing), (vec!["DB_PASSWORD"], vec![]));
        let (present, missing) = secrets_present(env(&[("DB_PASSWORD", "")]));
        assert_eq!((present, missing), (vec![], vec!["DB_PASSWORD"]));
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_millis(1_709_251_199_123)),
            "2024-02-29T23:59:59.123Z"
        );
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_secs(1_798_761_600)),
            "2027-01-01T00:00:00.000Z"
        );
    }
}
