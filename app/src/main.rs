//! The container's entry point.

use std::process::ExitCode;

use app::server::{self, Config, Exit};

fn main() -> ExitCode {
    let config = match Config::from_env(|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            server::log("error", "bad configuration", serde_json::json!({"error": e}));
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            server::log(
                "error",
                "cannot start the runtime",
                serde_json::json!({"error": e.to_string()}),
            );
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(server::run(config)) {
        Ok(Exit::Drained) => ExitCode::SUCCESS,
        Ok(Exit::DrainTimeout) => ExitCode::FAILURE,
        Err(e) => {
            server::log(
                "error",
                "cannot serve",
                serde_json::json!({"error": e.to_string()}),
            );
            ExitCode::FAILURE
        }
    }
}
