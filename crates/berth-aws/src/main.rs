//! `berth-aws`: run through `cargo xtask`.

use std::process::ExitCode;

fn main() -> ExitCode {
    // One worker besides the main thread: the Ctrl-C listener runs there, so that an interrupt is seen
    // even while the main thread waits on a prompt.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            #[allow(clippy::print_stderr, reason = "the CLI's error output")]
            {
                eprintln!("error: cannot start the async runtime: {e}");
            }
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(berth_aws::cli::main(std::env::args_os().collect()));
    ExitCode::from(code as u8)
}
